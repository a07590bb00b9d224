//! `run-as-root`: Workloads should not run as root: no user, user 0 or root, an image whose USER is root, or an exec as root.


use dockgate_model::{is_root_user, Operation, Resolution, Workload};

use super::{Builtin, NoParams};
use crate::catalog::RuleDoc;
use crate::checks::{hit, unjudged, Hit};
use crate::policy::Action;

/// The rule.
pub struct Rule;

impl Builtin for Rule {
    type Params = NoParams;
    const ID: &'static str = "run-as-root";
    const BASELINE: Action = Action::Warn;
    const RESTRICTED: Action = Action::Deny;
    const DOC: RuleDoc = RuleDoc {
        summary: "Workloads should not run as root: no user, user 0 or root, an image whose USER is root, or an exec as root.",
        why: "Root in a container is root on the host once any other boundary fails (a mount, a capability, a kernel bug); user namespaces are rarely enabled.",
        fix: "set --user to a non-root UID, or a USER in the image",
        parameters: "none",
    };

    fn check(w: &Workload, _: &NoParams) -> Vec<Hit> {
        run_as_root(w)
    }
}

fn run_as_root(w: &Workload) -> Vec<Hit> {
    if !matches!(
        w.operation,
        Operation::Container | Operation::Service | Operation::Exec
    ) {
        return Vec::new();
    }
    let user = &w.user;
    let field = if user.requested.field.is_empty() {
        "User".to_string()
    } else {
        user.requested.field.clone()
    };
    let who = if w.operation == Operation::Exec {
        "exec runs"
    } else {
        "runs"
    };
    if !user.requested.value.is_empty() {
        if is_root_user(&user.requested.value) {
            return vec![hit(
                &field,
                format!("{who} as root ({field}={:?})", user.requested.value),
            )];
        }
        return Vec::new();
    }
    let source = if w.operation == Operation::Exec {
        "the container's user"
    } else {
        "the image's USER"
    };
    match &user.image_default {
        Resolution::Known(u) if is_root_user(u) => {
            let shown = if u.is_empty() {
                "unset".to_string()
            } else {
                format!("{u:?}")
            };
            vec![hit(
                &field,
                format!("{who} as root: no user given and {source} is {shown}"),
            )]
        }
        Resolution::Known(_) => Vec::new(),
        Resolution::Failed(why) => vec![unjudged(
            &field,
            format!("{who} as root, as far as dockgate can tell: no user given and {source} is unknown ({why})"),
        )],
        Resolution::Pending => vec![hit(
            &field,
            format!("{who} as {source}, which was not checked and may be root"),
        )],
    }
}
