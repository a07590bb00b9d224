//! `docker inspect` documents of containers, turned into the model.
//!
//! Used by the gate to resolve `--volumes-from` sources and `container:`
//! namespace targets, and by anything that judges running containers.

use dockgate_model::{
    Mount, MountKind, NamespaceKind, NamespaceMode, Operation, Resolution, VolumeBacking, Workload,
};
use serde_json::Value;

use crate::api_body::host_config::{read_config, read_host_config, Fields};

/// Why an inspect document could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InspectError {
    /// Not JSON.
    #[error("inspect document is not valid JSON: {0}")]
    Syntax(String),
    /// JSON, but not a container inspect document.
    #[error("inspect document has no {0} object; is it the output of `docker container inspect`?")]
    Missing(&'static str),
}

/// What the daemon that wrote an inspect document does by default, where
/// the document cannot tell a default from a request.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DaemonDefaults {
    /// On cgroup v1 hosts every container shares the host's cgroup
    /// namespace unless it asks otherwise, and inspect says `host`.
    pub cgroupns_host: bool,
}

/// Reads one container inspect document (an object, or the one-element
/// array `docker inspect` prints).
pub fn container_from_inspect(bytes: &[u8]) -> Result<Workload, InspectError> {
    let value: Value =
        serde_json::from_slice(bytes).map_err(|e| InspectError::Syntax(e.to_string()))?;
    container_from_value(&value)
}

/// Reads an already parsed inspect document, as written by a cgroup v2
/// daemon.
pub fn container_from_value(value: &Value) -> Result<Workload, InspectError> {
    container_from_value_with(value, DaemonDefaults::default())
}

/// Reads an inspect document, knowing the daemon's defaults.
pub fn container_from_value_with(
    value: &Value,
    defaults: DaemonDefaults,
) -> Result<Workload, InspectError> {
    let doc = match value {
        Value::Array(items) => items.first().unwrap_or(&Value::Null),
        other => other,
    };
    let config = doc.get("Config").filter(|c| c.is_object());
    let host = doc.get("HostConfig").filter(|c| c.is_object());
    let (Some(config), Some(host)) = (config, host) else {
        return Err(InspectError::Missing(if doc.get("Config").is_none() {
            "Config"
        } else {
            "HostConfig"
        }));
    };
    let mut workload = Workload::new(Operation::Container);
    read_config(Fields::new(config, "Config"), &mut workload);
    read_host_config(Fields::new(host, "HostConfig"), &mut workload);
    let mut request = config.clone();
    if let Some(object) = request.as_object_mut() {
        object.insert("HostConfig".to_string(), host.clone());
    }
    workload.create_request = Some(std::sync::Arc::new(request));
    workload.image_id = doc
        .get("Image")
        .and_then(Value::as_str)
        .filter(|id| id.starts_with("sha256:"))
        .map(str::to_string);
    workload.name = doc
        .get("Name")
        .and_then(Value::as_str)
        .map(|n| n.trim_start_matches('/').to_string());
    // The top-level Mounts list is what the container really got, including
    // what it inherited through --volumes-from, so it replaces the requested
    // Binds and Mounts.
    if let Some(mounts) = doc.get("Mounts").and_then(Value::as_array) {
        workload.mounts = mounts
            .iter()
            .enumerate()
            .map(|(i, m)| inspect_mount(Fields::new(m, ""), format!("Mounts[{i}]")))
            .collect();
        workload.volumes_from.clear();
    }
    if defaults.cgroupns_host {
        workload.namespaces.retain(|(kind, mode)| {
            !(*kind == NamespaceKind::Cgroup && mode.value == NamespaceMode::Host)
        });
    }
    // The daemon adds label=disable itself to privileged containers and to
    // those sharing the host's PID or IPC namespace; those are judged by
    // their own rules.
    let shares_host = [NamespaceKind::Pid, NamespaceKind::Ipc].iter().any(|k| {
        workload
            .namespace(*k)
            .is_some_and(|m| m.value == NamespaceMode::Host)
    });
    if workload.is_privileged() || shares_host {
        if let Some(label) = &workload.security.selinux_disabled {
            if label.value == "label=disable" {
                workload.security.selinux_disabled = None;
            }
        }
    }
    if workload.user.requested.value.is_empty() {
        // The daemon copies the image's USER into Config.User at create.
        workload.user.image_default = Resolution::Known(String::new());
    }
    Ok(workload)
}

fn inspect_mount(m: Fields, field: String) -> Mount {
    let kind = match m.str("Type") {
        "bind" => MountKind::Bind {
            host_path: dockgate_model::clean_path(m.str("Source")),
            real_path: None,
        },
        "volume" => MountKind::Volume {
            name: m.str("Name").to_string(),
            driver: Some(m.str("Driver").to_string()).filter(|d| !d.is_empty()),
            backing: match m.str("Driver") {
                "" | "local" => Resolution::Pending,
                plugin => Resolution::Known(VolumeBacking::Plugin(plugin.to_string())),
            },
        },
        "tmpfs" => MountKind::Tmpfs,
        other => MountKind::Other {
            kind: other.to_string(),
        },
    };
    let propagation = m.str("Propagation");
    Mount {
        kind,
        target: m.str("Destination").to_string(),
        read_only: !m.get("RW").as_bool().unwrap_or(true),
        propagation: (!propagation.is_empty()).then(|| propagation.to_string()),
        via: None,
        field,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testdata;

    fn captured(name: &str, cgroupns_host: bool) -> Workload {
        let value: Value =
            serde_json::from_slice(&testdata::read(&format!("inspect/{name}.json"))).unwrap();
        container_from_value_with(&value, DaemonDefaults { cgroupns_host }).unwrap()
    }

    fn bind(path: &str) -> MountKind {
        MountKind::Bind {
            host_path: path.into(),
            real_path: None,
        }
    }

    #[test]
    fn mounts_come_from_what_the_container_really_got() {
        let w = captured("i-bind", true);
        assert_eq!(w.name.as_deref(), Some("i-bind"));
        assert_eq!(w.mounts.len(), 2);
        assert_eq!(w.mounts[0].kind, bind("/etc"));
        assert!(w.mounts[0].read_only);
        assert_eq!(w.mounts[0].target, "/etc2");
        assert_eq!(w.mounts[0].field, "Mounts[0]");
        assert!(
            matches!(&w.mounts[1].kind, MountKind::Volume { name, backing: Resolution::Pending, .. } if name == "data2")
        );
        // --volumes-from shows up as the inherited mounts themselves.
        let w = captured("i-volfrom", true);
        assert_eq!(w.mounts[0].kind, bind("/etc"));
        assert!(w.volumes_from.is_empty());
        let w = captured("i-sock", true);
        assert_eq!(w.mounts[0].kind, bind("/var/run/docker.sock"));
    }

    #[test]
    fn daemon_defaults_are_not_requests() {
        let plain = captured("i-plain", true);
        assert!(plain.namespaces.is_empty(), "{:?}", plain.namespaces);
        // On cgroup v2 the same document means an explicit --cgroupns host.
        let v2 = captured("i-plain", false);
        assert_eq!(v2.namespaces.len(), 1);
        assert_eq!(v2.namespaces[0].0, NamespaceKind::Cgroup);
        let hostns = captured("i-hostns", true);
        let kinds: Vec<_> = hostns.namespaces.iter().map(|(k, _)| k.name()).collect();
        assert_eq!(kinds, ["network", "pid", "ipc", "uts"]);
        // The daemon's own label=disable for host-pid and privileged containers.
        assert_eq!(hostns.security.selinux_disabled, None);
        let privileged = captured("i-priv", true);
        assert!(privileged.is_privileged());
        assert_eq!(privileged.security.selinux_disabled, None);
        assert_eq!(privileged.cap_add[0].value, "SYS_ADMIN");
    }

    #[test]
    fn users_and_security_options() {
        let w = captured("i-secopts", true);
        assert_eq!(w.user.effective(), Some("1000"));
        assert!(w.security.seccomp_unconfined.is_some());
        assert!(w.security.no_new_privileges);
        assert_eq!(w.security.unmasked_paths, None);
        let w = captured("i-plain", true);
        assert_eq!(w.user.effective(), Some(""));
        assert_eq!(w.image.unwrap().value, "testimg");
    }

    #[test]
    fn missing_parts_are_reported() {
        assert_eq!(
            container_from_inspect(b"[{}]").unwrap_err().to_string(),
            "inspect document has no Config object; is it the output of `docker container inspect`?"
        );
        assert_eq!(
            container_from_inspect(b"nope").unwrap_err().to_string(),
            "inspect document is not valid JSON: expected ident at line 1 column 2"
        );
    }
}
