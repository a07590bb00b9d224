//! `published-ports`: Ports should not be published on every interface.


use dockgate_model::Workload;

use super::{Builtin, NoParams};
use crate::catalog::RuleDoc;
use crate::checks::{hit, Hit};
use crate::policy::Action;

/// The rule.
pub struct Rule;

impl Builtin for Rule {
    type Params = NoParams;
    const ID: &'static str = "published-ports";
    const BASELINE: Action = Action::Warn;
    const RESTRICTED: Action = Action::Deny;
    const DOC: RuleDoc = RuleDoc {
        summary: "Ports should not be published on every interface.",
        why: "-p 8080:80 listens on 0.0.0.0 and Docker's iptables rules bypass the host firewall, so a development port ends up on the internet.",
        fix: "publish on a specific address, e.g. -p 127.0.0.1:8080:80",
        parameters: "none",
    };

    fn check(w: &Workload, _: &NoParams) -> Vec<Hit> {
        published_ports(w)
    }
}

fn published_ports(w: &Workload) -> Vec<Hit> {
    let mut hits: Vec<Hit> = w
        .ports
        .iter()
        .filter(|p| p.on_all_interfaces())
        .map(|p| {
            let host_port = if p.host_port.is_empty() {
                "a random port".to_string()
            } else {
                format!("port {}", p.host_port)
            };
            hit(
                &p.field,
                format!(
                    "publishes {} on all interfaces for {} ({})",
                    host_port, p.container_port, p.field
                ),
            )
        })
        .collect();
    if let Some(all) = w.publish_all.as_ref().filter(|a| a.value) {
        hits.push(hit(
            &all.field,
            format!(
                "publishes every exposed port on all interfaces ({}=true)",
                all.field
            ),
        ));
    }
    hits
}
