//! `unknown-endpoint`: A POST, PUT or DELETE to an endpoint dockgate does not know is refused.


use dockgate_model::{CallKind, Workload};

use super::{Builtin, NoParams};
use crate::catalog::RuleDoc;
use crate::checks::{hit, Hit};
use crate::policy::Action;

/// The rule.
pub struct Rule;

impl Builtin for Rule {
    type Params = NoParams;
    const ID: &'static str = "unknown-endpoint";
    const BASELINE: Action = Action::Deny;
    const RESTRICTED: Action = Action::Deny;
    const JUDGES_CONTAINERS: bool = false;
    const DOC: RuleDoc = RuleDoc {
        summary: "A POST, PUT or DELETE to an endpoint dockgate does not know is refused.",
        why: "A newer daemon may add endpoints that change containers in ways dockgate cannot judge.",
        fix: "upgrade dockgate, or set this rule to warn to let unknown endpoints through",
        parameters: "none",
    };

    fn check(w: &Workload, _: &NoParams) -> Vec<Hit> {
        unknown_endpoint(w)
    }
}

fn unknown_endpoint(w: &Workload) -> Vec<Hit> {
    match &w.call {
        Some(call)
            if call.kind == CallKind::Unknown
                && !matches!(call.method.as_str(), "GET" | "HEAD" | "OPTIONS") =>
        {
            vec![hit(
                "path",
                format!(
                    "{} {} is not an endpoint dockgate knows",
                    call.method, call.endpoint
                ),
            )]
        }
        _ => Vec::new(),
    }
}
