//! `no-new-privileges`: Containers must set no-new-privileges.


use dockgate_model::Workload;

use super::{Builtin, NoParams};
use crate::catalog::RuleDoc;
use crate::checks::{hit, is_container, Hit};
use crate::policy::Action;

/// The rule.
pub struct Rule;

impl Builtin for Rule {
    type Params = NoParams;
    const ID: &'static str = "no-new-privileges";
    const BASELINE: Action = Action::Off;
    const RESTRICTED: Action = Action::Deny;
    const DOC: RuleDoc = RuleDoc {
        summary: "Containers must set no-new-privileges.",
        why: "Without it, setuid binaries in the image can raise privileges inside the container.",
        fix: "add --security-opt no-new-privileges",
        parameters: "none",
    };

    fn check(w: &Workload, _: &NoParams) -> Vec<Hit> {
        no_new_privileges(w)
    }
}

fn no_new_privileges(w: &Workload) -> Vec<Hit> {
    if is_container(w) && !w.security.no_new_privileges {
        vec![hit(
            "SecurityOpt",
            "no-new-privileges is not set".to_string(),
        )]
    } else {
        Vec::new()
    }
}
