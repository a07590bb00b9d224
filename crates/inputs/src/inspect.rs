//! `docker inspect` documents of containers, turned into the model.
//!
//! Used by the gate to resolve `--volumes-from` sources and `container:`
//! namespace targets, and by anything that judges running containers.

use dockgate_model::{Mount, MountKind, Operation, Resolution, VolumeBacking, Workload};
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

/// Reads one container inspect document (an object, or the one-element
/// array `docker inspect` prints).
pub fn container_from_inspect(bytes: &[u8]) -> Result<Workload, InspectError> {
    let value: Value =
        serde_json::from_slice(bytes).map_err(|e| InspectError::Syntax(e.to_string()))?;
    container_from_value(&value)
}

/// Reads an already parsed inspect document.
pub fn container_from_value(value: &Value) -> Result<Workload, InspectError> {
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
