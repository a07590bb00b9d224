//! `memory-limit`: Containers must set a memory limit.


use dockgate_model::Workload;

use super::{Builtin, NoParams};
use crate::catalog::RuleDoc;
use crate::checks::{limit, Hit};
use crate::policy::Action;

/// The rule.
pub struct Rule;

impl Builtin for Rule {
    type Params = NoParams;
    const ID: &'static str = "memory-limit";
    const BASELINE: Action = Action::Off;
    const RESTRICTED: Action = Action::Deny;
    const DOC: RuleDoc = RuleDoc {
        summary: "Containers must set a memory limit.",
        why: "An unlimited container can exhaust the host's memory and get other workloads OOM-killed.",
        fix: "add --memory",
        parameters: "none",
    };

    fn check(w: &Workload, _: &NoParams) -> Vec<Hit> {
        memory_limit(w)
    }
}

fn memory_limit(w: &Workload) -> Vec<Hit> {
    limit(w, w.limits.memory.as_ref(), "memory", "Memory")
}
