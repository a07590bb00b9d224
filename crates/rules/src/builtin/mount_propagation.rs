//! `mount-propagation`: Mounts must not use shared or rshared propagation.


use dockgate_model::Workload;

use super::{Builtin, NoParams};
use crate::catalog::RuleDoc;
use crate::checks::{at_target, describe_source, hit, Hit};
use crate::policy::Action;

/// The rule.
pub struct Rule;

impl Builtin for Rule {
    type Params = NoParams;
    const ID: &'static str = "mount-propagation";
    const BASELINE: Action = Action::Deny;
    const RESTRICTED: Action = Action::Deny;
    const DOC: RuleDoc = RuleDoc {
        summary: "Mounts must not use shared or rshared propagation.",
        why: "With shared propagation, mounts made inside the container appear on the host, which lets a container with mount rights plant mounts in host paths.",
        fix: "drop the propagation option (the default, rprivate, is safe)",
        parameters: "none",
    };

    fn check(w: &Workload, _: &NoParams) -> Vec<Hit> {
        mount_propagation(w)
    }
}

fn mount_propagation(w: &Workload) -> Vec<Hit> {
    w.mounts
        .iter()
        .filter(|m| matches!(m.propagation.as_deref(), Some("shared" | "rshared")))
        .map(|m| {
            hit(
                &m.field,
                format!(
                    "{}{} uses {} propagation",
                    describe_source(m),
                    at_target(m),
                    m.propagation.as_deref().unwrap_or_default()
                ),
            )
        })
        .collect()
}
