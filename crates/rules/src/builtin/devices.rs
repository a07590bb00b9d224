//! `devices`: No host devices (--device, --gpus) and no device cgroup rules.

use dockgate_model::Workload;

use super::{AllowList, Builtin};
use crate::catalog::RuleDoc;
use crate::checks::{hit, Hit};
use crate::policy::Action;

/// The rule.
pub struct Rule;

impl Builtin for Rule {
    type Params = AllowList;
    const ID: &'static str = "devices";
    const BASELINE: Action = Action::Deny;
    const RESTRICTED: Action = Action::Deny;
    const DOC: RuleDoc = RuleDoc {
        summary: "No host devices (--device, --gpus) and no device cgroup rules.",
        why: "A block device such as /dev/sda gives raw access to the host's disks; device cgroup rules open access to device nodes created later.",
        fix: "remove the --device or --device-cgroup-rule, or ask an administrator to allow that device",
        parameters: "allow (host device paths allowed, e.g. /dev/fuse)",
    };

    fn check(w: &Workload, p: &AllowList) -> Vec<Hit> {
        devices(w, p)
    }
}

fn devices(w: &Workload, p: &AllowList) -> Vec<Hit> {
    let mut hits = Vec::new();
    for device in &w.devices {
        if p.allow.contains(&device.host) {
            continue;
        }
        let into = if device.container.is_empty() {
            String::new()
        } else {
            format!(" at {:?}", device.container)
        };
        let what = if device.host.starts_with('/') {
            format!("host device {:?}{into}", device.host)
        } else {
            format!("device request for {}", device.host)
        };
        hits.push(hit(&device.field, format!("{what} ({})", device.field)));
    }
    for rule in &w.device_cgroup_rules {
        hits.push(hit(
            &rule.field,
            format!("device cgroup rule {:?} ({})", rule.value, rule.field),
        ));
    }
    hits
}
