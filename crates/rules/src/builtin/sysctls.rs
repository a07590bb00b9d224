//! `sysctls`: Only namespaced sysctls on the Kubernetes safe list may be set.

use dockgate_model::Workload;

use super::{AllowList, Builtin};
use crate::catalog::RuleDoc;
use crate::checks::{hit, Hit};
use crate::policy::Action;

/// The rule.
pub struct Rule;

impl Builtin for Rule {
    type Params = AllowList;
    const ID: &'static str = "sysctls";
    const BASELINE: Action = Action::Deny;
    const RESTRICTED: Action = Action::Deny;
    const DOC: RuleDoc = RuleDoc {
        summary: "Only namespaced sysctls on the Kubernetes safe list may be set.",
        why: "Sysctls outside the safe list either affect the whole host or can exhaust its resources.",
        fix: "remove the --sysctl, or ask an administrator to allow it",
        parameters: "allow (sysctls allowed beyond the safe list)",
    };

    fn check(w: &Workload, p: &AllowList) -> Vec<Hit> {
        sysctls(w, p)
    }
}

fn sysctls(w: &Workload, p: &AllowList) -> Vec<Hit> {
    w.sysctls
        .iter()
        .filter(|s| {
            // The kernel accepts '/' as a separator too.
            let name = s.value.0.replace('/', ".");
            !SAFE_SYSCTLS.contains(&name.as_str()) && !p.allow.contains(&name)
        })
        .map(|s| {
            hit(
                &s.field,
                format!("sets sysctl {}={:?} ({})", s.value.0, s.value.1, s.field),
            )
        })
        .collect()
}

/// Sysctls Kubernetes considers safe (namespaced and isolated).
pub const SAFE_SYSCTLS: &[&str] = &[
    "kernel.shm_rmid_forced",
    "net.ipv4.ip_local_port_range",
    "net.ipv4.ip_unprivileged_port_start",
    "net.ipv4.tcp_syncookies",
    "net.ipv4.ping_group_range",
    "net.ipv4.ip_local_reserved_ports",
    "net.ipv4.tcp_keepalive_time",
    "net.ipv4.tcp_fin_timeout",
    "net.ipv4.tcp_keepalive_intvl",
    "net.ipv4.tcp_keepalive_probes",
];
