//! `buildkit`: BuildKit's channels (/grpc, /session) are refused: what a BuildKit build asks of the host cannot be read by an authorization plugin.


use dockgate_model::{CallKind, Workload};

use super::{Builtin, NoParams};
use crate::catalog::RuleDoc;
use crate::checks::{call_of_kind, Hit};
use crate::policy::Action;

/// The rule.
pub struct Rule;

impl Builtin for Rule {
    type Params = NoParams;
    const ID: &'static str = "buildkit";
    const BASELINE: Action = Action::Deny;
    const RESTRICTED: Action = Action::Deny;
    const JUDGES_CONTAINERS: bool = false;
    const DOC: RuleDoc = RuleDoc {
        summary: "BuildKit's channels (/grpc, /session) are refused: what a BuildKit build asks of the host cannot be read by an authorization plugin.",
        why: "docker buildx build sends its solve requests inside a hijacked HTTP/2 stream: RUN --network=host, --security=insecure and --mount reach the daemon's builder without the plugin seeing them (docker buildx build --network host runs its steps in the host's network namespace). The classic builder's /build parameters stay judged.",
        fix: "build with the classic builder (DOCKER_BUILDKIT=0), or set this rule to off after setting the daemon's builder entitlements to false (\"builder\": {\"Entitlements\": {\"network-host\": false, \"security-insecure\": false}} in daemon.json)",
        parameters: "none",
    };

    fn check(w: &Workload, _: &NoParams) -> Vec<Hit> {
        buildkit(w)
    }
}

fn buildkit(w: &Workload) -> Vec<Hit> {
    call_of_kind(w, CallKind::BuildKit, |call, _| {
        format!(
            "{} {} opens a BuildKit channel whose build steps the gate cannot read",
            call.method, call.endpoint
        )
    })
}
