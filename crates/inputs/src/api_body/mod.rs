//! Docker API request bodies turned into the model.
//!
//! Each function takes the raw body bytes, decodes them with Go's rules
//! ([`crate::gojson`]) against the daemon's own type and describes the
//! result as a [`Workload`].

pub mod host_config;
mod seccomp;

use dockgate_model::{
    normalize_capability, At, AttachedNetwork, Mount, MountKind, NetworkRequest, Operation,
    PublishedPort, Resolution, VolumeBacking, Workload,
};
use serde_json::Value;

use crate::docker_types::{
    CREATE_REQUEST, CREATE_REQUEST_ALL, EXEC_CONFIG, HOST_CONFIG, NETWORK_CONNECT, NETWORK_CREATE,
    NETWORK_DISCONNECT, SERVICE_SPEC, TOP_LEVEL_HOST_CONFIG, UPDATE_CONFIG, VOLUME_CREATE,
};
use crate::gojson::{decode_bytes, GoJsonError, Shape};
use host_config::{read_config, read_env, read_host_config, read_labels, read_mount, Fields};

/// `POST /containers/create`.
///
/// Follows `runconfig.ContainerConfigWrapper.getHostConfig` of daemons up to
/// 24.0: without a `HostConfig` object, the host settings written at the top
/// level of the body apply; with one, a few top-level resource settings
/// still fill its zero values.
pub fn container_create(body: &[u8]) -> Result<Workload, GoJsonError> {
    let mut v = decode_bytes(body, Shape::Struct(CREATE_REQUEST))?;
    let (host_config, in_object) = host_config_applied(&mut v);
    let mut workload = Workload::new(Operation::Container);
    read_config(Fields::new(&v, ""), &mut workload);
    let endpoints = Fields::new(&v, "").child("NetworkingConfig", "NetworkingConfig");
    let attached: Vec<(String, String)> = endpoints
        .get("EndpointsConfig")
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(name, _)| !AttachedNetwork::is_predefined(name))
        .flat_map(|(name, settings)| {
            let field = format!("NetworkingConfig.EndpointsConfig[{name:?}]");
            // NetworkID wins over the key for a user-defined network.
            let id = Fields::new(settings, "").str("NetworkID").to_string();
            let by_id = (!id.is_empty() && id != *name).then(|| (id, format!("{field}.NetworkID")));
            std::iter::once((name.clone(), field)).chain(by_id)
        })
        .collect();
    let prefix = if in_object { "HostConfig" } else { "" };
    read_host_config(Fields::new(&host_config, prefix), &mut workload);
    for (name, field) in attached {
        if !workload.networks.iter().any(|n| n.value.network == name) {
            workload
                .networks
                .push(At::new(AttachedNetwork::named(&name), field));
        }
    }
    Ok(workload)
}

/// A create request's body as the daemon reads it: Go's field names,
/// whatever spelling or repetition the body used, and `HostConfig` the
/// one the daemon applies, with the top-level host settings folded in.
pub fn container_create_canonical(body: &[u8]) -> Result<Value, GoJsonError> {
    let mut v = decode_bytes(body, Shape::Struct(CREATE_REQUEST_ALL))?;
    let (host_config, _) = host_config_applied(&mut v);
    if let Some(object) = v.as_object_mut() {
        object.insert("HostConfig".to_string(), host_config);
    }
    Ok(v)
}

/// Takes the host config the daemon applies out of a decoded create
/// request, and whether it came from the `HostConfig` object (rather than
/// the top level of the body).
fn host_config_applied(v: &mut Value) -> (Value, bool) {
    let top = v
        .as_object_mut()
        .and_then(|o| o.remove(TOP_LEVEL_HOST_CONFIG))
        .unwrap_or(Value::Null);
    let inner = v
        .as_object_mut()
        .and_then(|o| o.remove("HostConfig"))
        .filter(Value::is_object);
    let cpuset = v
        .get("Cpuset")
        .and_then(Value::as_str)
        .filter(|c| !c.is_empty())
        .map(str::to_string);
    let (mut applied, in_object) = match inner {
        Some(mut inner) => {
            for field in [
                "Memory",
                "MemorySwap",
                "CpuShares",
                "CpusetCpus",
                "VolumeDriver",
            ] {
                let top_value = top.get(field);
                let unset = |x: Option<&Value>| {
                    x.is_none_or(|x| x.is_null() || x == &Value::from(0) || x == "")
                };
                if !unset(top_value) && unset(inner.get(field)) {
                    inner[field] = top_value.cloned().unwrap_or_default();
                }
            }
            (inner, true)
        }
        None => (top, false),
    };
    // The wrapper's own `Cpuset` fills `CpusetCpus` when that is empty.
    if let (Some(cpuset), Some(object)) = (cpuset, applied.as_object_mut()) {
        let unset = object
            .get("CpusetCpus")
            .and_then(Value::as_str)
            .is_none_or(str::is_empty);
        if unset {
            object.insert("CpusetCpus".to_string(), Value::String(cpuset));
        }
    }
    (applied, in_object)
}

/// `POST /containers/{id}/start` with a body, honoured before API 1.24: the
/// body is a whole `HostConfig` that replaces the one given at create.
pub fn container_start(body: &[u8]) -> Result<Workload, GoJsonError> {
    let v = decode_bytes(body, Shape::Struct(HOST_CONFIG))?;
    let mut workload = Workload::new(Operation::Container);
    read_host_config(Fields::new(&v, ""), &mut workload);
    Ok(workload)
}

/// `POST /containers/{id}/exec`.
pub fn exec_create(body: &[u8]) -> Result<Workload, GoJsonError> {
    let v = decode_bytes(body, Shape::Struct(EXEC_CONFIG))?;
    let f = Fields::new(&v, "");
    let mut workload = Workload::new(Operation::Exec);
    workload.privileged = Some(At::new(f.bool("Privileged"), "Privileged"));
    workload.user.requested = At::new(f.str("User").to_string(), "User");
    workload.env = read_env(f, "Env");
    Ok(workload)
}

/// `POST /containers/{id}/update`. Only what the daemon applies on update is
/// described: resource limits (zero means unchanged).
pub fn container_update(body: &[u8]) -> Result<Workload, GoJsonError> {
    let v = decode_bytes(body, Shape::Struct(UPDATE_CONFIG))?;
    let f = Fields::new(&v, "");
    let mut workload = Workload::new(Operation::Update);
    workload.limits.memory = f
        .int("Memory")
        .filter(|m| *m != 0)
        .map(|m| At::new(m, "Memory"));
    workload.limits.pids = f.int("PidsLimit").map(|p| At::new(p, "PidsLimit"));
    let policy = f.child("RestartPolicy", "RestartPolicy");
    workload.restart_policy = Some(policy.str("Name"))
        .filter(|name| !matches!(*name, "" | "no"))
        .map(|name| At::new(name.to_string(), policy.name("Name")));
    Ok(workload)
}

/// `POST /networks/create`: the driver decides whether containers on the
/// network reach the host's own layer 2 (`macvlan`, `ipvlan` with a host
/// interface as `parent`, a bridge the host already has). A config-only
/// network is judged like any: libnetwork copies its options into every
/// network created `--config-from` it, which the daemon looks up.
pub fn network_create(body: &[u8]) -> Result<Workload, GoJsonError> {
    let v = decode_bytes(body, Shape::Struct(NETWORK_CREATE))?;
    let f = Fields::new(&v, "");
    let mut workload = Workload::new(Operation::Network);
    workload.name = Some(f.str("Name").to_string()).filter(|n| !n.is_empty());
    // The daemon's default driver is bridge (overlay for swarm scope).
    let driver = match f.str("Driver") {
        "" => "bridge",
        d => d,
    };
    let options = f.string_map("Options");
    let option = |key: &str| {
        options
            .iter()
            .find(|(_, k, _)| *k == key)
            .map(|(_, _, v)| v.to_string())
    };
    let config_from = f
        .child("ConfigFrom", "ConfigFrom")
        .str("Network")
        .to_string();
    workload.network = Some(At::new(
        NetworkRequest {
            driver: driver.to_string(),
            parent: option("parent"),
            bridge: option("com.docker.network.bridge.name").filter(|b| !b.is_empty()),
            bridge_exists: Resolution::Pending,
            config_from: (!config_from.is_empty()).then_some(config_from),
        },
        f.name("Driver"),
    ));
    Ok(workload)
}

/// `POST /networks/{id}/connect`: the container joins the network the
/// path names, or, for a user-defined one, `EndpointConfig.NetworkID`
/// (moby `findAndAttachNetwork`, `getNetworkID`).
pub fn network_connect(network: &str, body: &[u8]) -> Result<Workload, GoJsonError> {
    let v = decode_bytes(body, Shape::Struct(NETWORK_CONNECT))?;
    let f = Fields::new(&v, "");
    let mut workload = Workload::new(Operation::Network);
    workload.name = Some(network.to_string());
    workload.targets.extend(network_target(&f));
    if !AttachedNetwork::is_predefined(network) {
        workload
            .networks
            .push(At::new(AttachedNetwork::named(network), "path"));
        let settings = f.child("EndpointConfig", "EndpointConfig");
        let id = settings.str("NetworkID");
        if !id.is_empty() && id != network {
            workload.networks.push(At::new(
                AttachedNetwork::named(id),
                settings.name("NetworkID"),
            ));
        }
    }
    Ok(workload)
}

/// `POST /networks/{id}/disconnect`: the container it takes off the
/// network.
pub fn network_disconnect(network: &str, body: &[u8]) -> Result<Workload, GoJsonError> {
    let v = decode_bytes(body, Shape::Struct(NETWORK_DISCONNECT))?;
    let f = Fields::new(&v, "");
    let mut workload = Workload::new(Operation::Other);
    workload.name = Some(network.to_string());
    workload.targets.extend(network_target(&f));
    Ok(workload)
}

/// The container a network connect or disconnect acts on.
fn network_target(f: &Fields) -> Option<At<dockgate_model::Target>> {
    let container = f.str("Container");
    (!container.is_empty()).then(|| {
        At::new(
            dockgate_model::Target::named(container, "network"),
            f.name("Container"),
        )
    })
}

/// `POST /volumes/create`: the volume is described as a mount without a
/// target, so the mount rules judge what its driver options expose.
pub fn volume_create(body: &[u8]) -> Result<Workload, GoJsonError> {
    let v = decode_bytes(body, Shape::Struct(VOLUME_CREATE))?;
    let f = Fields::new(&v, "");
    let options = f.string_map("DriverOpts");
    let driver = f.str("Driver");
    let mut workload = Workload::new(Operation::Volume);
    workload.name = Some(f.str("Name").to_string()).filter(|n| !n.is_empty());
    let device_field = options
        .iter()
        .find(|(_, k, _)| *k == "device")
        .map(|(name, _, _)| name.clone())
        .unwrap_or_else(|| "DriverOpts".to_string());
    workload.mounts.push(Mount {
        kind: MountKind::Volume {
            name: f.str("Name").to_string(),
            driver: (!driver.is_empty()).then(|| driver.to_string()),
            backing: Resolution::Known(VolumeBacking::from_driver_options(
                driver,
                options.iter().map(|(_, k, v)| (*k, *v)),
            )),
        },
        target: String::new(),
        read_only: false,
        propagation: None,
        via: None,
        field: device_field,
    });
    Ok(workload)
}

/// `POST /services/create` and `/services/{id}/update`: the task's container
/// spec, published ports and limits.
pub fn service_spec(body: &[u8]) -> Result<Workload, GoJsonError> {
    let v = decode_bytes(body, Shape::Struct(SERVICE_SPEC))?;
    let mut workload = Workload::new(Operation::Service);
    let spec = Fields::new(&v, "");
    workload.name = Some(spec.str("Name").to_string()).filter(|n| !n.is_empty());
    let task = spec.child("TaskTemplate", "TaskTemplate");
    let c = task.child("ContainerSpec", "TaskTemplate.ContainerSpec");
    let image = c.str("Image");
    if !image.is_empty() {
        workload.image = Some(At::new(image.to_string(), c.name("Image")));
    }
    workload.user.requested = At::new(c.str("User").to_string(), c.name("User"));
    workload.env = read_env(c, "Env");
    workload.labels = read_labels(c, "Labels");
    for (name, mount) in c.objects("Mounts") {
        workload.mounts.push(read_mount(Fields::new(mount, &name)));
    }
    for (name, key, value) in c.string_map("Sysctls") {
        workload
            .sysctls
            .push(At::new((key.to_string(), value.to_string()), name));
    }
    for (field, list) in [
        ("CapabilityAdd", &mut workload.cap_add),
        ("CapabilityDrop", &mut workload.cap_drop),
    ] {
        for (name, cap) in c.strings(field) {
            list.push(At::new(normalize_capability(cap), name));
        }
    }
    let privileges = c.child("Privileges", "TaskTemplate.ContainerSpec.Privileges");
    let seccomp = privileges.child("Seccomp", "TaskTemplate.ContainerSpec.Privileges.Seccomp");
    // The swarm executor passes a custom profile on as `seccomp=<profile>`.
    let opened = match seccomp.str("Mode") {
        "unconfined" => Some("unconfined".to_string()),
        "custom" => {
            let bounding = seccomp::Bounding {
                privileged: false,
                add: &workload.cap_add,
                drop: &workload.cap_drop,
            };
            use base64::Engine;
            match base64::engine::general_purpose::STANDARD.decode(seccomp.str("Profile")) {
                Ok(profile) => {
                    seccomp::opens_the_default(&String::from_utf8_lossy(&profile), bounding)
                        .then(|| "custom profile".to_string())
                }
                Err(_) => Some("custom profile that cannot be read".to_string()),
            }
        }
        _ => None,
    };
    if let Some(what) = opened {
        workload.security.seccomp_unconfined = Some(At::new(what, seccomp.name("Mode")));
    }
    let apparmor = privileges.child("AppArmor", "TaskTemplate.ContainerSpec.Privileges.AppArmor");
    if apparmor.str("Mode") == "disabled" {
        workload.security.apparmor_unconfined =
            Some(At::new("disabled".to_string(), apparmor.name("Mode")));
    }
    let selinux = privileges.child(
        "SELinuxContext",
        "TaskTemplate.ContainerSpec.Privileges.SELinuxContext",
    );
    if selinux.bool("Disable") {
        workload.security.selinux_disabled =
            Some(At::new("disable".to_string(), selinux.name("Disable")));
    } else if host_config::selinux_unconfined(&format!("type:{}", selinux.str("Type"))) {
        workload.security.selinux_disabled = Some(At::new(
            format!("type:{}", selinux.str("Type")),
            selinux.name("Type"),
        ));
    }
    workload.security.no_new_privileges = privileges.bool("NoNewPrivileges");
    workload.read_only_rootfs = Some(At::new(c.bool("ReadOnly"), c.name("ReadOnly")));
    let limits = task
        .child("Resources", "TaskTemplate.Resources")
        .child("Limits", "TaskTemplate.Resources.Limits");
    workload.limits.memory = limits
        .int("MemoryBytes")
        .map(|m| At::new(m, limits.name("MemoryBytes")));
    workload.limits.pids = limits.int("Pids").map(|p| At::new(p, limits.name("Pids")));
    // A swarm task runtime, not an OCI runtime: "container" (the default)
    // runs containers; "plugin" installs a plugin; the daemon refuses the
    // rest.
    let runtime = task.str("Runtime");
    if !matches!(runtime, "" | "container") {
        workload.runtime = Some(At::new(runtime.to_string(), task.name("Runtime")));
    }
    if !task.get("PluginSpec").is_null() {
        workload.runtime = Some(At::new("plugin".to_string(), task.name("PluginSpec")));
    }
    // `--network host` attaches the tasks to the host's network namespace;
    // the CLI sends the network's ID, and the daemon takes any name, ID or
    // ID prefix of it (look-ups decide). The daemon reads TaskTemplate's
    // list, or the deprecated top-level one when that is empty: both are
    // judged.
    for (name, network) in task
        .objects("Networks")
        .into_iter()
        .chain(spec.objects("Networks"))
    {
        let target = Fields::new(network, "").str("Target");
        workload.namespaces.push((
            dockgate_model::NamespaceKind::Network,
            At::new(
                dockgate_model::NamespaceMode::ServiceNetwork {
                    target: target.to_string(),
                    is_host: dockgate_model::Resolution::Pending,
                },
                format!("{name}.Target"),
            ),
        ));
    }
    let endpoint = spec.child("EndpointSpec", "EndpointSpec");
    for (name, port) in endpoint.objects("Ports") {
        let port = Fields::new(port, "");
        let published = port.get("PublishedPort").as_u64().unwrap_or(0);
        if published == 0 {
            continue;
        }
        let protocol = match port.str("Protocol") {
            "" => "tcp",
            p => p,
        };
        workload.ports.push(PublishedPort {
            host_ip: String::new(),
            host_port: published.to_string(),
            container_port: format!(
                "{}/{protocol}",
                port.get("TargetPort").as_u64().unwrap_or(0)
            ),
            field: name,
        });
    }
    Ok(workload)
}

#[cfg(test)]
mod tests;
