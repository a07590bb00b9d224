//! `docker-socket`: No mount may expose a container runtime's API socket (Docker, containerd, CRI-O, Podman), or a directory above one, even where host-mount would allow the path.

use serde::{Deserialize, Serialize};

use dockgate_model::{HostPathEffect, Workload};

use super::{Builtin, strings, absolute};
use crate::catalog::RuleDoc;
use crate::checks::{at_target, bind_paths, describe_source, hit, run_aliases, under, Hit};
use crate::policy::{Action, Profile};

/// The rule's parameters.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// Socket paths that must never be mounted.
    pub sockets: Vec<String>,
    /// The `dockgate proxy` sockets of the policy's identities: each
    /// serves only what that identity's role may do.
    #[serde(skip)]
    pub proxies: Vec<ProxySocket>,
    /// The identities whose proxy sockets the caller may mount (its own);
    /// `None` for a caller without a role, who may mount any.
    #[serde(skip)]
    pub mountable: Option<Vec<String>>,
    /// For a role that acts on every owner's containers: its endpoint
    /// families. It may also hand on a socket whose role has no other.
    #[serde(skip)]
    pub lends: Option<Vec<String>>,
}

/// A `dockgate proxy` socket, as the policy's identities define it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ProxySocket {
    /// Its path, cleaned.
    pub path: String,
    /// The identity it serves.
    pub identity: String,
    /// The endpoint families of that identity's role.
    pub families: Vec<String>,
}

/// Runtime API sockets that must never be mounted.
pub const DEFAULT_SOCKETS: &[&str] = &[
    "/var/run/docker.sock",
    "/run/docker.sock",
    "/run/docker/containerd/containerd.sock",
    "/run/containerd/containerd.sock",
    "/var/run/containerd/containerd.sock",
    "/run/crio/crio.sock",
    "/var/run/crio/crio.sock",
    "/run/podman/podman.sock",
    "/var/run/podman/podman.sock",
    "/run/buildkit/buildkitd.sock",
];

/// The rule.
pub struct Rule;

impl Builtin for Rule {
    type Params = Params;
    const ID: &'static str = "docker-socket";
    const BASELINE: Action = Action::Deny;
    const RESTRICTED: Action = Action::Deny;
    const DOC: RuleDoc = RuleDoc {
        summary: "No mount may expose a container runtime's API socket (Docker, containerd, CRI-O, Podman), or a directory above one, even where host-mount would allow the path.",
        why: "Whoever reaches the Docker socket can start a privileged container: the socket is root on the host, and it also bypasses this gate's own socket checks.",
        fix: "do not mount the runtime socket; use a socket proxy that exposes only the read-only endpoints the tool needs",
        parameters: "sockets (the socket paths to protect)",
    };
    fn params(_profile: Profile) -> Params {
        Params {
            sockets: strings(DEFAULT_SOCKETS),
            ..Params::default()
        }
    }
    fn validate(params: Params) -> Result<Params, String> {
        Ok(Params {
            sockets: absolute("rules.docker-socket.sockets", params.sockets)?,
            ..params
        })
    }

    fn check(w: &Workload, p: &Params) -> Vec<Hit> {
        docker_socket(w, p)
    }
}

const SOCKET_NAMES: &[&str] = &[
    "docker.sock",
    "containerd.sock",
    "crio.sock",
    "podman.sock",
    "buildkitd.sock",
];

fn docker_socket(w: &Workload, p: &Params) -> Vec<Hit> {
    let mut hits = Vec::new();
    for mount in &w.mounts {
        let HostPathEffect::Path(path) = mount.host_effect() else {
            continue;
        };
        let mut candidates = bind_paths(mount)
            .into_iter()
            .map(str::to_string)
            .collect::<Vec<_>>();
        if candidates.is_empty() {
            candidates.push(path.clone());
        }
        // A proxy socket itself serves its identity's role, no more: a
        // caller may hand its own on. A directory above one exposes them
        // all, like any runtime socket.
        let proxy = candidates
            .iter()
            .flat_map(|c| run_aliases(c))
            .find_map(|c| p.proxies.iter().find(|socket| socket.path == c));
        if let Some(ProxySocket {
            path: socket,
            identity,
            families,
        }) = proxy
        {
            let lent = p
                .lends
                .as_ref()
                .is_some_and(|mine| families.iter().all(|f| mine.contains(f)));
            let allowed = lent
                || p.mountable
                    .as_ref()
                    .is_none_or(|own| own.contains(identity));
            if !allowed {
                hits.push(hit(
                    &mount.field,
                    format!(
                        "{} of host path {path:?}{}, the dockgate proxy socket {socket} of identity {identity:?}, whose role is not the caller's",
                        describe_source(mount),
                        at_target(mount)
                    ),
                ));
            }
            continue;
        }
        let exposed = candidates
            .iter()
            .flat_map(|c| run_aliases(c))
            .find_map(|c| {
                let by_name = SOCKET_NAMES
                    .iter()
                    .any(|n| c.rsplit('/').next() == Some(*n));
                if by_name {
                    return Some(c.clone());
                }
                p.sockets
                    .iter()
                    .chain(p.proxies.iter().map(|socket| &socket.path))
                    .find(|s| under(s, &c))
                    .cloned()
            });
        if let Some(socket) = exposed {
            let detail = if socket == path {
                String::new()
            } else {
                format!(", which exposes {socket}")
            };
            hits.push(hit(
                &mount.field,
                format!(
                    "{} of host path {path:?}{}{detail}",
                    describe_source(mount),
                    at_target(mount)
                ),
            ));
        }
    }
    hits
}
