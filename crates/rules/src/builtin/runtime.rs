//! `runtime`: The OCI runtime must be on an allow-list.

use dockgate_model::Workload;

use super::{AllowList, Builtin, strings};
use crate::catalog::RuleDoc;
use crate::checks::{hit, Hit};
use crate::policy::{Action, Profile};

/// The rule.
pub struct Rule;

impl Builtin for Rule {
    type Params = AllowList;
    const ID: &'static str = "runtime";
    const BASELINE: Action = Action::Deny;
    const RESTRICTED: Action = Action::Deny;
    const DOC: RuleDoc = RuleDoc {
        summary: "The OCI runtime must be on an allow-list.",
        why: "A runtime registered on the daemon may not isolate at all, or may be a plugin runtime that installs code on the host.",
        fix: "use the default runtime, or ask an administrator to allow this one",
        parameters: "allow (runtime names)",
    };
    fn params(_profile: Profile) -> AllowList {
        AllowList {
            allow: strings(&["runc", "io.containerd.runc.v2"]),
        }
    }

    fn check(w: &Workload, p: &AllowList) -> Vec<Hit> {
        runtime(w, p)
    }
}

fn runtime(w: &Workload, p: &AllowList) -> Vec<Hit> {
    match &w.runtime {
        Some(r) if !p.allow.contains(&r.value) => vec![hit(
            &r.field,
            format!("runtime {:?} is not allowed ({})", r.value, r.field),
        )],
        _ => Vec::new(),
    }
}
