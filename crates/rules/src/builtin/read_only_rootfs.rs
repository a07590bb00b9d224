//! `read-only-rootfs`: Containers must use a read-only root file system.


use dockgate_model::Workload;

use super::{Builtin, NoParams};
use crate::catalog::RuleDoc;
use crate::checks::{hit, is_container, Hit};
use crate::policy::Action;

/// The rule.
pub struct Rule;

impl Builtin for Rule {
    type Params = NoParams;
    const ID: &'static str = "read-only-rootfs";
    const BASELINE: Action = Action::Off;
    const RESTRICTED: Action = Action::Deny;
    const DOC: RuleDoc = RuleDoc {
        summary: "Containers must use a read-only root file system.",
        why: "A writable root lets an intruder persist tools and alter binaries until the container is recreated.",
        fix: "add --read-only, with a tmpfs or volume for the paths that must be writable",
        parameters: "none",
    };

    fn check(w: &Workload, _: &NoParams) -> Vec<Hit> {
        read_only_rootfs(w)
    }
}

fn read_only_rootfs(w: &Workload) -> Vec<Hit> {
    match &w.read_only_rootfs {
        Some(r) if r.value => Vec::new(),
        _ if !is_container(w) => Vec::new(),
        Some(r) => vec![hit(
            &r.field,
            format!("root file system is writable ({}=false)", r.field),
        )],
        None => vec![hit(
            "ReadonlyRootfs",
            "root file system is writable".to_string(),
        )],
    }
}
