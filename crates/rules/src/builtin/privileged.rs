//! `privileged`: Containers and exec sessions must not run privileged.


use dockgate_model::{Operation, Workload};

use super::{Builtin, NoParams};
use crate::catalog::RuleDoc;
use crate::checks::{hit, Hit};
use crate::policy::Action;

/// The rule.
pub struct Rule;

impl Builtin for Rule {
    type Params = NoParams;
    const ID: &'static str = "privileged";
    const BASELINE: Action = Action::Deny;
    const RESTRICTED: Action = Action::Deny;
    const DOC: RuleDoc = RuleDoc {
        summary: "Containers and exec sessions must not run privileged.",
        why: "--privileged gives every capability, every host device, no seccomp or AppArmor confinement and writable /sys: a root process in the container owns the host.",
        fix: "remove --privileged and add only the capability or device the workload needs",
        parameters: "none",
    };

    fn check(w: &Workload, _: &NoParams) -> Vec<Hit> {
        privileged(w)
    }
}

fn privileged(w: &Workload) -> Vec<Hit> {
    match &w.privileged {
        Some(p) if p.value => {
            let what = match w.operation {
                Operation::Exec => "exec with --privileged",
                Operation::Build => "privileged build",
                _ => "privileged container",
            };
            vec![hit(&p.field, format!("{what} ({}=true)", p.field))]
        }
        _ => Vec::new(),
    }
}
