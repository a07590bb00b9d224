//! `copy-into-container`: Files may not be copied into containers through the API (docker cp).


use dockgate_model::{CallKind, Workload};

use super::{Builtin, NoParams};
use crate::catalog::RuleDoc;
use crate::checks::{call_of_kind, Hit};
use crate::policy::Action;

/// The rule.
pub struct Rule;

impl Builtin for Rule {
    type Params = NoParams;
    const ID: &'static str = "copy-into-container";
    const BASELINE: Action = Action::Off;
    const RESTRICTED: Action = Action::Deny;
    const JUDGES_CONTAINERS: bool = false;
    const DOC: RuleDoc = RuleDoc {
        summary: "Files may not be copied into containers through the API (docker cp).",
        why: "The daemon unpacks the archive as root, and an authorization plugin never sees it: on Docker Engine before 29.5.1 a compressed archive made the daemon run a decompressor from the container's own file system on the host (CVE-2026-41567). Copies into a container that breaks the policy are refused whatever this rule says.",
        fix: "build the files into the image or mount a volume; on patched engines this rule can stay off",
        parameters: "none",
    };

    fn check(w: &Workload, _: &NoParams) -> Vec<Hit> {
        copy_into_container(w)
    }
}

fn copy_into_container(w: &Workload) -> Vec<Hit> {
    call_of_kind(w, CallKind::CopyIn, |call, name| {
        let target = name.map(|n| format!(" {n:?}")).unwrap_or_default();
        format!(
            "{} {} copies an archive into container{target}",
            call.method, call.endpoint
        )
    })
}
