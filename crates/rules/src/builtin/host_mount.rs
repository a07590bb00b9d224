//! `host-mount`: Mounts must not expose host paths outside an allow-list: bind mounts, binds in Mounts, volumes whose driver options bind a host path or a device, and mounts taken over with --volumes-from.

use serde::{Deserialize, Serialize};

use dockgate_model::{HostPathEffect, MountKind, Workload};

use super::{Builtin, absolute};
use crate::catalog::RuleDoc;
use crate::checks::{
    at_target, bind_paths, describe_source, hit, run_aliases, under, unjudged, Hit,
};
use crate::policy::Action;

/// The rule's parameters.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// Host path prefixes allowed read-write.
    pub allow: Vec<String>,
    /// Prefixes allowed when mounted read-only.
    pub allow_read_only: Vec<String>,
    /// Volume plugins trusted to mount what they like.
    pub allowed_volume_drivers: Vec<String>,
    /// The `dockgate proxy` sockets of the policy's identities: the
    /// `docker-socket` rule judges who may mount each.
    #[serde(skip)]
    pub proxies: Vec<String>,
}

/// The rule.
pub struct Rule;

impl Builtin for Rule {
    type Params = Params;
    const ID: &'static str = "host-mount";
    const BASELINE: Action = Action::Deny;
    const RESTRICTED: Action = Action::Deny;
    const DOC: RuleDoc = RuleDoc {
        summary: "Mounts must not expose host paths outside an allow-list: bind mounts, binds in Mounts, volumes whose driver options bind a host path or a device, and mounts taken over with --volumes-from.",
        why: "A writable bind of / or /etc lets the container rewrite /etc/shadow, cron jobs or systemd units and take over the host; even a read-only one leaks secrets.",
        fix: "use a named volume, or ask an administrator to allow this path",
        parameters: "allow (host path prefixes allowed read-write), allow_read_only (prefixes allowed when mounted read-only), allowed_volume_drivers (volume plugins trusted to mount what they like). Paths are compared after resolving '..' and, where the gate can see the host, symbolic links",
    };
    fn validate(params: Params) -> Result<Params, String> {
        Ok(Params {
            allow: absolute("rules.host-mount.allow", params.allow.clone())?,
            allow_read_only: absolute(
                "rules.host-mount.allow_read_only",
                params.allow_read_only.clone(),
            )?,
            ..params
        })
    }

    fn check(w: &Workload, p: &Params) -> Vec<Hit> {
        host_mount(w, p)
    }
}

fn host_mount(w: &Workload, p: &Params) -> Vec<Hit> {
    let allowed = |path: &str, read_only: bool| {
        run_aliases(path).iter().any(|alias| p.proxies.contains(alias))
            || p.allow.iter().any(|a| under(path, a))
            || (read_only && p.allow_read_only.iter().any(|a| under(path, a)))
    };
    let mut hits = Vec::new();
    for mount in &w.mounts {
        let source = describe_source(mount);
        let target = at_target(mount);
        match mount.host_effect() {
            HostPathEffect::None => {}
            HostPathEffect::Path(path) => {
                let mut paths = bind_paths(mount);
                if paths.is_empty() {
                    paths.push(&path);
                }
                if let Some(bad) = paths.iter().find(|p| !allowed(p, mount.read_only)) {
                    let resolved = if *bad != path {
                        format!(" (resolves to {bad:?})")
                    } else {
                        String::new()
                    };
                    let ro = if mount.read_only
                        && p.allow_read_only.iter().any(|a| under(bad, a))
                    {
                        ""
                    } else if mount.read_only {
                        " read-only"
                    } else {
                        ""
                    };
                    let verb = if matches!(mount.kind, MountKind::Bind { .. }) {
                        format!("{source} of host path {path:?}{resolved}{target}{ro}")
                    } else {
                        format!("{source} binds host path {path:?}{resolved}{target}{ro}")
                    };
                    hits.push(hit(&mount.field, verb));
                }
            }
            HostPathEffect::Device(device) => hits.push(hit(
                &mount.field,
                format!("{source} mounts host device {device:?}{target}"),
            )),
            HostPathEffect::Plugin(driver) => {
                if !p.allowed_volume_drivers.contains(&driver) {
                    hits.push(hit(
                        &mount.field,
                        format!("{source} uses volume plugin {driver:?}, which may mount any host path{target}"),
                    ));
                }
            }
            HostPathEffect::Unknown(why) => {
                let message = format!("cannot tell what {source} mounts: {why}");
                // A bind whose path a shell variable holds is the setting's
                // own fault; anything else is a look-up that failed.
                hits.push(match mount.kind {
                    MountKind::UnresolvedBind { .. } => hit(&mount.field, message),
                    _ => unjudged(&mount.field, message),
                })
            }
        }
    }
    hits
}
