//! `host-namespace`: No host namespace: network, pid, ipc, uts, userns or cgroupns set to host, or joined from a container that has it.

use dockgate_model::{NamespaceMode, Resolution, Workload};

use super::{AllowList, Builtin};
use crate::catalog::RuleDoc;
use crate::checks::{hit, unjudged, Hit};
use crate::policy::Action;

/// The rule.
pub struct Rule;

impl Builtin for Rule {
    type Params = AllowList;
    const ID: &'static str = "host-namespace";
    const BASELINE: Action = Action::Deny;
    const RESTRICTED: Action = Action::Deny;
    const DOC: RuleDoc = RuleDoc {
        summary: "No host namespace: network, pid, ipc, uts, userns or cgroupns set to host, or joined from a container that has it.",
        why: "The host PID namespace lets a container see and signal host processes (and ptrace them with the right capability); the host network namespace exposes host-only services and interfaces; --userns host escapes user-namespace remapping.",
        fix: "use the default private namespace; for the network, publish ports (-p) instead of --network host",
        parameters: "allow (namespace kinds allowed: network, pid, ipc, uts, userns, cgroupns)",
    };
    fn validate(params: AllowList) -> Result<AllowList, String> {
        for kind in &params.allow {
            if !["network", "pid", "ipc", "uts", "userns", "cgroupns"].contains(&kind.as_str()) {
                return Err(format!(
                    "rules.host-namespace.allow: unknown namespace {kind:?} (expected network, pid, ipc, uts, userns or cgroupns)"
                ));
            }
        }
        Ok(params)
    }

    fn check(w: &Workload, p: &AllowList) -> Vec<Hit> {
        host_namespace(w, p)
    }
}

fn host_namespace(w: &Workload, p: &AllowList) -> Vec<Hit> {
    let mut hits = Vec::new();
    for (kind, mode) in &w.namespaces {
        if p.allow.iter().any(|a| a == kind.name()) {
            continue;
        }
        match &mode.value {
            NamespaceMode::Host => hits.push(hit(
                &mode.field,
                format!("host {} namespace ({}=host)", kind.name(), mode.field),
            )),
            NamespaceMode::Container {
                target,
                target_uses_host,
            } => match target_uses_host {
                Resolution::Known(true) => hits.push(hit(
                    &mode.field,
                    format!(
                        "joins the {} namespace of container {target:?}, which shares the host's ({}=container:{target})",
                        kind.name(),
                        mode.field
                    ),
                )),
                Resolution::Failed(why) => hits.push(unjudged(
                    &mode.field,
                    format!(
                        "cannot tell whether container {target:?} shares the host {} namespace: {why}",
                        kind.name()
                    ),
                )),
                Resolution::Known(false) | Resolution::Pending => {}
            },
            NamespaceMode::ServiceNetwork { target, is_host } => match is_host {
                Resolution::Known(true) => hits.push(hit(
                    &mode.field,
                    format!(
                        "service network {target:?} is the host's network ({}={target})",
                        mode.field
                    ),
                )),
                Resolution::Failed(why) => hits.push(unjudged(
                    &mode.field,
                    format!("cannot tell whether service network {target:?} is the host's: {why}"),
                )),
                // Not looked up (lint, patrol): only the name can tell.
                Resolution::Pending if target.eq_ignore_ascii_case("host") => hits.push(hit(
                    &mode.field,
                    format!("host network namespace ({}={target})", mode.field),
                )),
                Resolution::Known(false) | Resolution::Pending => {}
            },
            NamespaceMode::Default | NamespaceMode::Other { .. } => {}
        }
    }
    hits
}
