//! `cgroup-parent`: A custom cgroup parent must be on an allow-list.

use dockgate_model::Workload;

use super::{AllowList, Builtin};
use crate::catalog::RuleDoc;
use crate::checks::{hit, under, Hit};
use crate::policy::Action;

/// The rule.
pub struct Rule;

impl Builtin for Rule {
    type Params = AllowList;
    const ID: &'static str = "cgroup-parent";
    const BASELINE: Action = Action::Deny;
    const RESTRICTED: Action = Action::Deny;
    const DOC: RuleDoc = RuleDoc {
        summary: "A custom cgroup parent must be on an allow-list.",
        why: "Placing a container under another cgroup escapes the resource limits and accounting set for containers.",
        fix: "drop --cgroup-parent, or ask an administrator to allow this parent",
        parameters: "allow (cgroup parent prefixes)",
    };

    fn check(w: &Workload, p: &AllowList) -> Vec<Hit> {
        cgroup_parent(w, p)
    }
}

fn cgroup_parent(w: &Workload, p: &AllowList) -> Vec<Hit> {
    match &w.cgroup_parent {
        Some(c)
            if !p
                .allow
                .iter()
                .any(|a| under(&c.value, a) || c.value == *a) =>
        {
            vec![hit(
                &c.field,
                format!("cgroup parent {:?} is not allowed ({})", c.value, c.field),
            )]
        }
        _ => Vec::new(),
    }
}
