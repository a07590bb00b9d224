//! `pids-limit`: Containers must set a PID limit.


use dockgate_model::Workload;

use super::{Builtin, NoParams};
use crate::catalog::RuleDoc;
use crate::checks::{limit, Hit};
use crate::policy::Action;

/// The rule.
pub struct Rule;

impl Builtin for Rule {
    type Params = NoParams;
    const ID: &'static str = "pids-limit";
    const BASELINE: Action = Action::Off;
    const RESTRICTED: Action = Action::Deny;
    const DOC: RuleDoc = RuleDoc {
        summary: "Containers must set a PID limit.",
        why: "A fork bomb in an unlimited container exhausts the host's PIDs.",
        fix: "add --pids-limit",
        parameters: "none",
    };

    fn check(w: &Workload, _: &NoParams) -> Vec<Hit> {
        pids_limit(w)
    }
}

fn pids_limit(w: &Workload) -> Vec<Hit> {
    limit(w, w.limits.pids.as_ref(), "PID", "PidsLimit")
}
