//! Reads a canonical `HostConfig` (and the container `Config`) into the model.
//!
//! Shared by container create, the pre-1.24 start body and, through the same
//! field names, `docker inspect` documents.

use dockgate_model::{
    clean_path, normalize_capability, At, AttachedNetwork, Device, EnvVar, Mount, MountKind,
    NamespaceKind, NamespaceMode, PublishedPort, Resolution, VolumeBacking, Workload,
};
use serde_json::Value;

use super::seccomp::{self, Bounding};

/// Paths the daemon masks by default (`oci.DefaultSpec` plus
/// `daemon/oci_linux.go`). A `MaskedPaths` list that lacks one unmasks it.
pub const DEFAULT_MASKED_PATHS: &[&str] = &[
    "/proc/asound",
    "/proc/acpi",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/sys/firmware",
];

/// Paths the daemon mounts read-only by default.
pub const DEFAULT_READONLY_PATHS: &[&str] = &[
    "/proc/bus",
    "/proc/fs",
    "/proc/irq",
    "/proc/sys",
    "/proc/sysrq-trigger",
];

/// A small reader over a canonical value with a field-name prefix for
/// messages.
#[derive(Clone, Copy)]
pub struct Fields<'a> {
    value: &'a Value,
    prefix: &'a str,
}

impl<'a> Fields<'a> {
    /// Reads `value`, naming its fields `prefix.Field`.
    pub fn new(value: &'a Value, prefix: &'a str) -> Self {
        Fields { value, prefix }
    }

    /// The message name of a field.
    pub fn name(&self, field: &str) -> String {
        if self.prefix.is_empty() {
            field.to_string()
        } else {
            format!("{}.{field}", self.prefix)
        }
    }

    /// A field's raw value.
    pub fn get(&self, field: &str) -> &'a Value {
        self.value.get(field).unwrap_or(&Value::Null)
    }

    /// A string field; `""` when unset.
    pub fn str(&self, field: &str) -> &'a str {
        self.get(field).as_str().unwrap_or_default()
    }

    /// A boolean field; `false` when unset.
    pub fn bool(&self, field: &str) -> bool {
        self.get(field).as_bool().unwrap_or_default()
    }

    /// An integer field; `None` when unset or null.
    pub fn int(&self, field: &str) -> Option<i64> {
        self.get(field).as_i64()
    }

    /// A list of strings with their message names (`Field[i]`).
    pub fn strings(&self, field: &str) -> Vec<(String, &'a str)> {
        match self.get(field) {
            Value::Array(items) => items
                .iter()
                .enumerate()
                .map(|(i, v)| {
                    (
                        format!("{}[{i}]", self.name(field)),
                        v.as_str().unwrap_or_default(),
                    )
                })
                .collect(),
            _ => Vec::new(),
        }
    }

    /// A map of strings with their message names (`Field[key]`).
    pub fn string_map(&self, field: &str) -> Vec<(String, &'a str, &'a str)> {
        match self.get(field) {
            Value::Object(map) => map
                .iter()
                .map(|(k, v)| {
                    (
                        format!("{}[{k:?}]", self.name(field)),
                        k.as_str(),
                        v.as_str().unwrap_or_default(),
                    )
                })
                .collect(),
            _ => Vec::new(),
        }
    }

    /// A nested object.
    pub fn child(&self, field: &str, prefix: &'a str) -> Fields<'a> {
        Fields::new(self.get(field), prefix)
    }

    /// The objects of a list with their message names.
    pub fn objects(&self, field: &str) -> Vec<(String, &'a Value)> {
        match self.get(field) {
            Value::Array(items) => items
                .iter()
                .enumerate()
                .map(|(i, v)| (format!("{}[{i}]", self.name(field)), v))
                .collect(),
            _ => Vec::new(),
        }
    }
}

/// Reads the container `Config` part: image, user and environment.
pub fn read_config(config: Fields, workload: &mut Workload) {
    let image = config.str("Image");
    if !image.is_empty() {
        workload.image = Some(At::new(image.to_string(), config.name("Image")));
    }
    workload.user.requested = At::new(config.str("User").to_string(), config.name("User"));
    workload.env = read_env(config, "Env");
    workload.labels = read_labels(config, "Labels");
    for (key, _) in config.get("Volumes").as_object().into_iter().flatten() {
        workload.mounts.push(Mount {
            kind: MountKind::Volume {
                name: String::new(),
                driver: None,
                backing: Resolution::Known(VolumeBacking::Managed),
            },
            target: key.clone(),
            read_only: false,
            propagation: None,
            via: None,
            field: format!("{}[{key:?}]", config.name("Volumes")),
        });
    }
}

/// Reads a label map, in key order (the order Go's encoder writes a map).
pub fn read_labels(fields: Fields, field: &str) -> Vec<At<(String, String)>> {
    fields
        .string_map(field)
        .into_iter()
        .map(|(name, key, value)| At::new((key.to_string(), value.to_string()), name))
        .collect()
}

/// Reads `KEY=value` environment entries.
pub fn read_env(fields: Fields, field: &str) -> Vec<EnvVar> {
    fields
        .strings(field)
        .into_iter()
        .map(|(name, entry)| {
            let (key, value) = match entry.split_once('=') {
                Some((k, v)) => (k, Some(v.to_string())),
                None => (entry, None),
            };
            EnvVar {
                name: key.to_string(),
                value,
                field: name,
            }
        })
        .collect()
}

/// Reads everything a `HostConfig` grants.
pub fn read_host_config(hc: Fields, workload: &mut Workload) {
    if hc.get("Privileged").is_boolean() {
        workload.privileged = Some(At::new(hc.bool("Privileged"), hc.name("Privileged")));
    }
    let volume_driver = hc.str("VolumeDriver");
    for (name, spec) in hc.strings("Binds") {
        if let Some(mount) = parse_bind(spec, volume_driver, name) {
            workload.mounts.push(mount);
        }
    }
    for (name, mount) in hc.objects("Mounts") {
        workload.mounts.push(read_mount(Fields::new(mount, &name)));
    }
    for (name, target, _) in hc.string_map("Tmpfs") {
        workload.mounts.push(Mount {
            kind: MountKind::Tmpfs,
            target: target.to_string(),
            read_only: false,
            propagation: None,
            via: None,
            field: name,
        });
    }
    for (name, source) in hc.strings("VolumesFrom") {
        workload
            .volumes_from
            .push(At::new(source.to_string(), name));
    }
    for (name, link) in hc.strings("Links") {
        workload.links.push(At::new(link.to_string(), name));
    }
    read_namespaces(hc, workload);
    read_log_sockets(hc, workload);
    workload.cap_add = read_caps(hc, "CapAdd");
    workload.cap_drop = read_caps(hc, "CapDrop");
    for (name, device) in hc.objects("Devices") {
        let device = Fields::new(device, "");
        workload.devices.push(Device {
            host: device.str("PathOnHost").to_string(),
            container: device.str("PathInContainer").to_string(),
            field: name,
        });
    }
    for (name, request) in hc.objects("DeviceRequests") {
        let request = Fields::new(request, "");
        let caps: Vec<String> = request
            .get("Capabilities")
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|set| set.as_array())
            .map(|set| {
                set.iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join(",")
            })
            .collect();
        let driver = match request.str("Driver") {
            "" => "default driver",
            d => d,
        };
        workload.devices.push(Device {
            host: format!("{driver} [{}]", caps.join(" | ")),
            container: String::new(),
            field: name,
        });
    }
    for (name, rule) in hc.strings("DeviceCgroupRules") {
        workload
            .device_cgroup_rules
            .push(At::new(rule.to_string(), name));
    }
    read_security_options(hc, workload);
    for (name, key, value) in hc.string_map("Sysctls") {
        workload
            .sysctls
            .push(At::new((key.to_string(), value.to_string()), name));
    }
    for (name, key, value) in hc.string_map("Annotations") {
        workload
            .annotations
            .push(At::new((key.to_string(), value.to_string()), name));
    }
    for (port, bindings) in hc.get("PortBindings").as_object().into_iter().flatten() {
        let field = format!("{}[{port:?}]", hc.name("PortBindings"));
        for binding in bindings.as_array().into_iter().flatten() {
            let binding = Fields::new(binding, "");
            workload.ports.push(PublishedPort {
                host_ip: binding.str("HostIp").to_string(),
                host_port: binding.str("HostPort").to_string(),
                container_port: port.clone(),
                field: field.clone(),
            });
        }
    }
    if hc.bool("PublishAllPorts") {
        workload.publish_all = Some(At::new(true, hc.name("PublishAllPorts")));
    }
    let runtime = hc.str("Runtime");
    if !runtime.is_empty() {
        workload.runtime = Some(At::new(runtime.to_string(), hc.name("Runtime")));
    }
    let parent = hc.str("CgroupParent");
    if !parent.is_empty() {
        workload.cgroup_parent = Some(At::new(parent.to_string(), hc.name("CgroupParent")));
    }
    workload.read_only_rootfs = Some(At::new(
        hc.bool("ReadonlyRootfs"),
        hc.name("ReadonlyRootfs"),
    ));
    workload.limits.memory = hc.int("Memory").map(|m| At::new(m, hc.name("Memory")));
    workload.limits.pids = hc
        .int("PidsLimit")
        .map(|p| At::new(p, hc.name("PidsLimit")));
}

fn read_caps(hc: Fields, field: &str) -> Vec<At<String>> {
    hc.strings(field)
        .into_iter()
        .map(|(name, cap)| At::new(normalize_capability(cap), name))
        .collect()
}

/// Parses a namespace mode string (`host`, `container:<id>`, ...).
pub fn namespace_mode(value: &str) -> NamespaceMode {
    match value {
        "" | "default" | "private" => NamespaceMode::Default,
        "host" => NamespaceMode::Host,
        other => match other.strip_prefix("container:") {
            Some(target) => NamespaceMode::Container {
                target: target.to_string(),
                target_uses_host: Resolution::Pending,
            },
            None => NamespaceMode::Other {
                value: other.to_string(),
            },
        },
    }
}

fn read_namespaces(hc: Fields, workload: &mut Workload) {
    for kind in NamespaceKind::ALL {
        let field = kind.api_field();
        let mode = namespace_mode(hc.str(field));
        if let (NamespaceKind::Network, NamespaceMode::Other { value }) = (kind, &mode) {
            if !AttachedNetwork::is_predefined(value) {
                workload
                    .networks
                    .push(At::new(AttachedNetwork::named(value), hc.name(field)));
            }
        }
        if mode != NamespaceMode::Default {
            workload
                .namespaces
                .push((kind, At::new(mode, hc.name(field))));
        }
    }
}

/// Log options that name a socket on the host, which the daemon connects
/// to as root from the host's namespaces and writes the container's output
/// into (syslog's `syslog-address`, fluentd's `fluentd-address`).
const LOG_SOCKET_OPTIONS: &[&str] = &["syslog-address", "fluentd-address"];

/// A log driver's host socket is described as a writable bind of that
/// path: the mount rules, allow-lists and socket checks then apply as to
/// any bind.
fn read_log_sockets(hc: Fields, workload: &mut Workload) {
    let log = hc.child("LogConfig", "HostConfig.LogConfig");
    let driver = log.str("Type");
    for (field, key, value) in log.string_map("Config") {
        if !LOG_SOCKET_OPTIONS.contains(&key) {
            continue;
        }
        for path in unix_socket_paths(value) {
            workload.mounts.push(Mount {
                kind: MountKind::Bind {
                    host_path: path,
                    real_path: None,
                },
                target: String::new(),
                read_only: false,
                propagation: None,
                via: Some(format!("log driver {driver:?}, {key}")),
                field: field.clone(),
            });
        }
    }
}

/// The host paths a `unix://` or `unixgram://` address may name: syslog
/// dials the URL's path (`unix://x/y` is `/y`), fluentd the rest of the
/// string (`x/y`, from the daemon's working directory, `/`).
fn unix_socket_paths(address: &str) -> Vec<String> {
    // Go's url.Parse: the scheme is case-insensitive, `//` is optional
    // (`unix:/var/run/x`), and the path is percent-decoded.
    let lower = address.to_ascii_lowercase();
    let Some(rest) = ["unixgram:", "unix:"]
        .iter()
        .find(|scheme| lower.starts_with(*scheme))
        .map(|scheme| &address[scheme.len()..])
    else {
        return Vec::new();
    };
    let rest = rest.strip_prefix("//").unwrap_or(rest);
    let rest = rest.split(['?', '#']).next().unwrap_or(rest);
    let mut paths = vec![clean_path(&format!("/{}", percent_decoded(rest)))];
    if let Some(slash) = rest.find('/') {
        paths.push(clean_path(&percent_decoded(&rest[slash..])));
    }
    paths.sort();
    paths.dedup();
    paths
}

/// `%2e` and the like decoded, as Go's URL parser decodes a path; an
/// invalid escape is kept as written.
fn percent_decoded(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Reads `SecurityOpt`, `MaskedPaths` and `ReadonlyPaths` the way
/// `daemon/create.go` `parseSecurityOpt` does: `=` or the deprecated `:`
/// separates key and value, and a bare `disable` disables labelling.
fn read_security_options(hc: Fields, workload: &mut Workload) {
    let bounding = Bounding {
        privileged: workload.privileged.as_ref().is_some_and(|p| p.value),
        add: &workload.cap_add,
        drop: &workload.cap_drop,
    };
    let security = &mut workload.security;
    for (name, opt) in hc.strings("SecurityOpt") {
        if opt == "no-new-privileges" {
            security.no_new_privileges = true;
            continue;
        }
        if opt == "disable" {
            security.selinux_disabled = Some(At::new(opt.to_string(), name));
            continue;
        }
        let split = if opt.contains('=') {
            opt.split_once('=')
        } else {
            opt.split_once(':')
        };
        let Some((key, value)) = split else {
            security.invalid.push(At::new(opt.to_string(), name));
            continue;
        };
        match key {
            "seccomp" if seccomp::opens_the_default(value, bounding) => {
                security.seccomp_unconfined = Some(At::new(opt.to_string(), name));
            }
            "apparmor" if value == "unconfined" => {
                security.apparmor_unconfined = Some(At::new(opt.to_string(), name));
            }
            "apparmor" if !value.is_empty() => {
                security.apparmor_profile = Some(At::new(value.to_string(), name))
            }
            "label" if selinux_unconfined(value) => {
                security.selinux_disabled = Some(At::new(opt.to_string(), name));
            }
            "no-new-privileges" => security.no_new_privileges = value == "true" || value == "1",
            "systempaths" if value == "unconfined" => {
                let all = DEFAULT_MASKED_PATHS
                    .iter()
                    .chain(DEFAULT_READONLY_PATHS)
                    .map(|p| p.to_string())
                    .collect();
                security.unmasked_paths = Some(At::new(all, name));
            }
            "seccomp" | "apparmor" | "label" => {}
            _ => security.invalid.push(At::new(opt.to_string(), name)),
        }
    }
    let mut unmasked = Vec::new();
    for (field, defaults) in [
        ("MaskedPaths", DEFAULT_MASKED_PATHS),
        ("ReadonlyPaths", DEFAULT_READONLY_PATHS),
    ] {
        // null keeps the defaults; a list replaces them.
        if let Value::Array(items) = hc.get(field) {
            let given: Vec<&str> = items.iter().filter_map(Value::as_str).collect();
            for default in defaults {
                if !given.contains(default) {
                    unmasked.push(default.to_string());
                }
            }
        }
    }
    if !unmasked.is_empty() && security.unmasked_paths.is_none() {
        let field = if hc.get("MaskedPaths").is_array() {
            hc.name("MaskedPaths")
        } else {
            hc.name("ReadonlyPaths")
        };
        security.unmasked_paths = Some(At::new(unmasked, field));
    }
}

/// Whether an SELinux label option disables confinement.
pub fn selinux_unconfined(value: &str) -> bool {
    value == "disable" || value == "type:spc_t" || value == "type:unconfined_t"
}

/// Parses one `Binds` entry like moby's Linux mount parser:
/// `[source:]destination[:mode]`, where an absolute source is a host path and
/// any other source names a volume.
pub fn parse_bind(spec: &str, volume_driver: &str, field: String) -> Option<Mount> {
    let parts: Vec<&str> = spec.split(':').collect();
    let (source, target, mode) = match parts.as_slice() {
        [target] => ("", *target, ""),
        [a, b] if valid_mode(b) => ("", *a, *b),
        [source, target] => (*source, *target, ""),
        [source, target, mode] => (*source, *target, *mode),
        // The daemon rejects the spec; there is nothing to mount.
        _ => return None,
    };
    let modes: Vec<&str> = mode.split(',').filter(|m| !m.is_empty()).collect();
    let read_only = modes.contains(&"ro");
    let propagation = modes
        .iter()
        .find(|m| PROPAGATIONS.contains(m))
        .map(|m| m.to_string());
    let kind = if source.starts_with('/') {
        MountKind::Bind {
            host_path: clean_path(source),
            real_path: None,
        }
    } else {
        let driver = (!volume_driver.is_empty()).then(|| volume_driver.to_string());
        MountKind::Volume {
            name: source.to_string(),
            backing: Resolution::Known(VolumeBacking::from_driver_options(
                volume_driver,
                std::iter::empty(),
            )),
            driver,
        }
    };
    Some(Mount {
        kind,
        target: target.to_string(),
        read_only,
        propagation,
        via: None,
        field,
    })
}

const PROPAGATIONS: &[&str] = &[
    "shared", "rshared", "slave", "rslave", "private", "rprivate",
];

fn valid_mode(mode: &str) -> bool {
    mode.split(',').all(|m| {
        matches!(
            m,
            "ro" | "rw" | "z" | "Z" | "nocopy" | "consistent" | "cached" | "delegated"
        ) || PROPAGATIONS.contains(&m)
    })
}

/// Reads one `mount.Mount` object.
pub fn read_mount(mount: Fields) -> Mount {
    let source = mount.str("Source");
    let field = mount.prefix.to_string();
    let bind_options = mount.child("BindOptions", "");
    // The swarm converts Type and Propagation with strings.ToUpper into its
    // enums, whose zero value is BIND (moby daemon/cluster/convert,
    // containerToGRPC): a service mount of type "BIND", "bInD" or none at
    // all is a bind. A container create refuses those, so reading them as
    // binds everywhere only errs towards denying.
    let propagation = bind_options.str("Propagation").to_ascii_lowercase();
    // `ReadOnlyNonRecursive` (API 1.44) leaves every mount below the source
    // writable: not read-only where it matters for `allow_read_only`.
    let read_only = mount.bool("ReadOnly") && !bind_options.bool("ReadOnlyNonRecursive");
    let kind = match mount.str("Type").to_ascii_lowercase().as_str() {
        "bind" | "" => MountKind::Bind {
            host_path: clean_path(source),
            real_path: None,
        },
        "volume" => {
            let driver = mount.child("VolumeOptions", "").child("DriverConfig", "");
            let name = driver.str("Name");
            let options = driver.string_map("Options");
            MountKind::Volume {
                name: source.to_string(),
                driver: (!name.is_empty()).then(|| name.to_string()),
                backing: Resolution::Known(VolumeBacking::from_driver_options(
                    name,
                    options.iter().map(|(_, k, v)| (*k, *v)),
                )),
            }
        }
        "tmpfs" => MountKind::Tmpfs,
        other => MountKind::Other {
            kind: other.to_string(),
        },
    };
    Mount {
        kind,
        target: mount.str("Target").to_string(),
        read_only,
        propagation: (!propagation.is_empty()).then_some(propagation),
        via: None,
        field,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bind(spec: &str) -> Option<Mount> {
        parse_bind(spec, "", "Binds[0]".into())
    }

    #[test]
    fn non_recursive_read_only_binds_are_writable_below() {
        let doc = serde_json::json!({
            "Type": "bind", "Source": "/srv", "Target": "/s", "ReadOnly": true,
            "BindOptions": {"ReadOnlyNonRecursive": true}
        });
        assert!(!read_mount(Fields::new(&doc, "HostConfig.Mounts[0]")).read_only);
        let doc =
            serde_json::json!({"Type": "bind", "Source": "/srv", "Target": "/s", "ReadOnly": true});
        assert!(read_mount(Fields::new(&doc, "HostConfig.Mounts[0]")).read_only);
    }

    #[test]
    fn bind_specs() {
        let m = bind("/:/host").unwrap();
        assert_eq!(
            m.kind,
            MountKind::Bind {
                host_path: "/".into(),
                real_path: None
            }
        );
        assert_eq!(m.target, "/host");
        let m = bind("/etc/../var/run/docker.sock:/s:ro,rshared").unwrap();
        assert_eq!(
            m.kind,
            MountKind::Bind {
                host_path: "/var/run/docker.sock".into(),
                real_path: None
            }
        );
        assert!(m.read_only);
        assert_eq!(m.propagation.as_deref(), Some("rshared"));
        let m = bind("data:/data").unwrap();
        assert!(matches!(m.kind, MountKind::Volume { ref name, .. } if name == "data"));
        let m = bind("/data:ro").unwrap();
        assert!(matches!(m.kind, MountKind::Volume { ref name, .. } if name.is_empty()));
        assert!(m.read_only);
        assert_eq!(bind("a:b:c:d"), None);
    }

    #[test]
    fn log_driver_sockets() {
        assert_eq!(unix_socket_paths("unixgram:///dev/log"), vec!["/dev/log"]);
        assert_eq!(
            unix_socket_paths("UNIX://run/../var/run/docker.sock"),
            vec!["/var/run/docker.sock"]
        );
        // syslog dials the URL's path, fluentd the rest of the string.
        assert_eq!(
            unix_socket_paths("unix://tmp/x.sock"),
            vec!["/tmp/x.sock", "/x.sock"]
        );
        assert!(unix_socket_paths("udp://127.0.0.1:514").is_empty());
        assert!(unix_socket_paths("tcp://logs:24224").is_empty());
    }
}
