//! `docker-socket`: No mount may expose a container runtime's API socket (Docker, containerd, CRI-O, Podman), or a directory above one, even where host-mount would allow the path.

use serde::{Deserialize, Serialize};

use dockgate_model::{HostPathEffect, Workload};

use super::{Builtin, strings, absolute};
use crate::catalog::RuleDoc;
use crate::checks::{at_target, bind_paths, describe_source, hit, under, Hit};
use crate::policy::{Action, Profile};

/// The rule's parameters.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// Socket paths that must never be mounted.
    pub sockets: Vec<String>,
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
        }
    }
    fn validate(params: Params) -> Result<Params, String> {
        Ok(Params {
            sockets: absolute("rules.docker-socket.sockets", params.sockets)?,
        })
    }

    fn check(w: &Workload, p: &Params) -> Vec<Hit> {
        docker_socket(w, p)
    }
}

/// The same path under `/run` and `/var/run`, which are one directory on
/// every current distribution.
fn run_aliases(path: &str) -> Vec<String> {
    let mut out = vec![path.to_string()];
    if let Some(rest) = path.strip_prefix("/var/run") {
        if rest.is_empty() || rest.starts_with('/') {
            out.push(format!("/run{rest}"));
        }
    } else if let Some(rest) = path.strip_prefix("/run") {
        if rest.is_empty() || rest.starts_with('/') {
            out.push(format!("/var/run{rest}"));
        }
    }
    out
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
                p.sockets.iter().find(|s| under(s, &c)).cloned()
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
