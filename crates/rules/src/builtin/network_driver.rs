//! `network-driver`: Networks may be created, and containers attached to them, only with drivers on an allow-list; a bridge network may not take over an interface the host already has.

use dockgate_model::{At, NetworkRequest, Resolution, Workload};

use super::{AllowList, Builtin, strings};
use crate::catalog::RuleDoc;
use crate::checks::{hit, unjudged, Hit};
use crate::policy::{Action, Profile};

/// The rule.
pub struct Rule;

impl Builtin for Rule {
    type Params = AllowList;
    const ID: &'static str = "network-driver";
    const BASELINE: Action = Action::Deny;
    const RESTRICTED: Action = Action::Deny;
    const DOC: RuleDoc = RuleDoc {
        summary: "Networks may be created, and containers attached to them, only with drivers on an allow-list; a bridge network may not take over an interface the host already has.",
        why: "A macvlan or ipvlan network with a host interface as its parent puts containers on the host's own layer 2 segment, past the host's firewall and Docker's NAT, where they can reach and impersonate other machines; a network plugin does whatever it likes.",
        fix: "use a bridge or overlay network, or ask an administrator to allow this driver",
        parameters: "allow (driver names; bridge and overlay by default)",
    };
    fn params(_profile: Profile) -> AllowList {
        AllowList {
            allow: strings(&["bridge", "overlay"]),
        }
    }

    fn check(w: &Workload, p: &AllowList) -> Vec<Hit> {
        network_driver(w, p)
    }
}

fn network_driver(w: &Workload, p: &AllowList) -> Vec<Hit> {
    let mut hits: Vec<Hit> = w
        .network
        .iter()
        .filter_map(|n| created_network(n, p))
        .collect();
    for attached in &w.networks {
        let name = &attached.value.network;
        match &attached.value.driver {
            Resolution::Known(driver)
                if !driver.is_empty()
                    && !matches!(driver.as_str(), "host" | "null")
                    && !p.allow.contains(driver) =>
            {
                hits.push(hit(
                    &attached.field,
                    format!(
                        "attached to network {name:?}, whose driver {driver:?} is not on the allow-list ({})",
                        attached.field
                    ),
                ))
            }
            Resolution::Failed(why) => hits.push(unjudged(
                &attached.field,
                format!("cannot tell which driver network {name:?} has: {why}"),
            )),
            _ => {}
        }
    }
    hits
}

/// What a network being created would join.
fn created_network(network: &At<NetworkRequest>, p: &AllowList) -> Option<Hit> {
    let driver = &network.value.driver;
    if p.allow.contains(driver) {
        // A bridge the host already has joins the network to whatever it
        // connects (the host's LAN), and the daemon reconfigures it.
        let why = match (&network.value.bridge_exists, &network.value.bridge) {
            (Resolution::Failed(why), _) => {
                return Some(unjudged(
                    &network.field,
                    format!("cannot tell which bridge the network would join: {why}"),
                ))
            }
            (_, None) | (Resolution::Known(false), _) => return None,
            (Resolution::Known(true), Some(bridge)) => {
                format!("bridge {bridge:?} (com.docker.network.bridge.name) is an interface the host already has")
            }
            (Resolution::Pending, Some(bridge)) => {
                format!("bridge {bridge:?} (com.docker.network.bridge.name) may be an interface the host already has")
            }
        };
        return Some(hit(
            &network.field,
            format!("{why}: the network would join the host's own layer 2"),
        ));
    }
    let on = match &network.value.parent {
        Some(parent) => format!(" on host interface {parent:?}"),
        None => String::new(),
    };
    let why = match driver.as_str() {
        "macvlan" | "ipvlan" => "puts containers on the host's own layer 2 network",
        "host" | "null" => "is one the daemon predefines",
        _ => "is not on the allow-list",
    };
    Some(hit(
        &network.field,
        format!(
            "network driver {driver:?}{on} {why} ({}={driver})",
            network.field
        ),
    ))
}
