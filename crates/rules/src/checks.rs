//! The checks behind each rule. They read only the model and the rule
//! parameters, and say what they found in words an operator knows.

use dockgate_model::{
    is_root_user, ApiCall, At, CallKind, HostPathEffect, ImageRef, Mount, MountKind, NamespaceMode,
    NetworkRequest, Operation, Resolution, Workload, DEFAULT_CAPABILITIES,
};

use crate::catalog::RuleId;
use crate::policy::Params;

/// One thing a rule found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    /// The offending field, in the input's syntax.
    pub field: String,
    /// What is wrong, naming the value.
    pub message: String,
    /// The setting could not be judged because a look-up on the daemon
    /// failed: the fix is the look-up, not the setting.
    pub lookup_failed: bool,
}

fn hit(field: impl Into<String>, message: impl Into<String>) -> Hit {
    Hit {
        field: field.into(),
        message: message.into(),
        lookup_failed: false,
    }
}

/// A hit on a setting that a failed look-up left unjudged.
fn unjudged(field: impl Into<String>, message: impl Into<String>) -> Hit {
    Hit {
        lookup_failed: true,
        ..hit(field, message)
    }
}

/// Runs one rule over a workload.
pub fn run(rule: RuleId, w: &Workload, p: &Params) -> Vec<Hit> {
    match rule {
        RuleId::Privileged => privileged(w),
        RuleId::HostMount => host_mount(w, p),
        RuleId::DockerSocket => docker_socket(w, p),
        RuleId::HostNamespace => host_namespace(w, p),
        RuleId::Capabilities => capabilities(w, p),
        RuleId::Devices => devices(w, p),
        RuleId::SecurityProfile => security_profile(w, p),
        RuleId::Sysctls => sysctls(w, p),
        RuleId::MountPropagation => mount_propagation(w),
        RuleId::Runtime => runtime(w, p),
        RuleId::RuntimeAnnotations => runtime_annotations(w, p),
        RuleId::CgroupParent => cgroup_parent(w, p),
        RuleId::NetworkDriver => network_driver(w, p),
        RuleId::RunAsRoot => run_as_root(w),
        RuleId::PublishedPorts => published_ports(w),
        RuleId::ImageRegistry => image_registry(w, p),
        RuleId::ImageLatest => image_latest(w),
        RuleId::ImageDigest => image_digest(w),
        RuleId::NoNewPrivileges => no_new_privileges(w),
        RuleId::ReadOnlyRootfs => read_only_rootfs(w),
        RuleId::MemoryLimit => memory_limit(w),
        RuleId::PidsLimit => pids_limit(w),
        RuleId::EnvSecrets => env_secrets(w, p),
        RuleId::PluginManagement => plugin_management(w),
        RuleId::CopyIntoContainer => copy_into_container(w),
        RuleId::SwarmJoin => swarm_membership(w),
        RuleId::BuildKit => buildkit(w),
        RuleId::UnknownEndpoint => unknown_endpoint(w),
        // Raised by the reader and the gate, never by looking at a model.
        RuleId::UnreadableRequest | RuleId::GateFailure => Vec::new(),
    }
}

/// Whether the workload is a whole container (or service task), for rules
/// that require a setting to be present.
fn is_container(w: &Workload) -> bool {
    matches!(w.operation, Operation::Container | Operation::Service)
}

fn privileged(w: &Workload) -> Vec<Hit> {
    match &w.privileged {
        Some(p) if p.value => {
            let what = match w.operation {
                Operation::Exec => "exec with --privileged",
                Operation::Build => "privileged build",
                _ => "privileged container",
            };
            vec![hit(&p.field, format!("{what} ({}=true)", p.field))]
        }
        _ => Vec::new(),
    }
}

/// Whether `path` is `prefix` or below it.
fn under(path: &str, prefix: &str) -> bool {
    prefix == "/"
        || path == prefix
        || path
            .strip_prefix(prefix)
            .is_some_and(|rest| rest.starts_with('/'))
}

/// The host paths a bind exposes: as written and as resolved on the host.
fn bind_paths(mount: &Mount) -> Vec<&str> {
    match &mount.kind {
        MountKind::Bind {
            host_path,
            real_path,
        } => std::iter::once(host_path.as_str())
            .chain(real_path.as_deref())
            .collect(),
        _ => Vec::new(),
    }
}

fn describe_source(mount: &Mount) -> String {
    let mut text = match &mount.kind {
        MountKind::Bind { .. } | MountKind::UnresolvedBind { .. } => "bind mount".to_string(),
        MountKind::Volume { name, .. } if name.is_empty() => "volume".to_string(),
        MountKind::Volume { name, .. } => format!("volume {name:?}"),
        MountKind::Tmpfs => "tmpfs".to_string(),
        MountKind::Other { kind } => format!("{kind} mount"),
    };
    if let Some(via) = &mount.via {
        text = format!("{text} (through {via})");
    }
    text
}

fn at_target(mount: &Mount) -> String {
    if mount.target.is_empty() {
        String::new()
    } else {
        format!(" at {:?}", mount.target)
    }
}

fn host_mount(w: &Workload, p: &Params) -> Vec<Hit> {
    let allowed = |path: &str, read_only: bool| {
        p.mount_allow.iter().any(|a| under(path, a))
            || (read_only && p.mount_allow_read_only.iter().any(|a| under(path, a)))
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
                        && p.mount_allow_read_only.iter().any(|a| under(bad, a))
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

fn host_namespace(w: &Workload, p: &Params) -> Vec<Hit> {
    let mut hits = Vec::new();
    for (kind, mode) in &w.namespaces {
        if p.namespace_allow.iter().any(|a| a == kind.name()) {
            continue;
        }
        match &mode.value {
            NamespaceMode::Host => hits.push(hit(
                &mode.field,
                format!("host {} namespace ({}=host)", kind.name(), mode.field),
            )),
            NamespaceMode::Container {
                target,
                target_uses_host,
            } => match target_uses_host {
                Resolution::Known(true) => hits.push(hit(
                    &mode.field,
                    format!(
                        "joins the {} namespace of container {target:?}, which shares the host's ({}=container:{target})",
                        kind.name(),
                        mode.field
                    ),
                )),
                Resolution::Failed(why) => hits.push(unjudged(
                    &mode.field,
                    format!(
                        "cannot tell whether container {target:?} shares the host {} namespace: {why}",
                        kind.name()
                    ),
                )),
                Resolution::Known(false) | Resolution::Pending => {}
            },
            NamespaceMode::ServiceNetwork { target, is_host } => match is_host {
                Resolution::Known(true) => hits.push(hit(
                    &mode.field,
                    format!(
                        "service network {target:?} is the host's network ({}={target})",
                        mode.field
                    ),
                )),
                Resolution::Failed(why) => hits.push(unjudged(
                    &mode.field,
                    format!("cannot tell whether service network {target:?} is the host's: {why}"),
                )),
                // Not looked up (lint, patrol): only the name can tell.
                Resolution::Pending if target.eq_ignore_ascii_case("host") => hits.push(hit(
                    &mode.field,
                    format!("host network namespace ({}={target})", mode.field),
                )),
                Resolution::Known(false) | Resolution::Pending => {}
            },
            NamespaceMode::Default | NamespaceMode::Other { .. } => {}
        }
    }
    hits
}

fn capabilities(w: &Workload, p: &Params) -> Vec<Hit> {
    let mut hits = Vec::new();
    for cap in &w.cap_add {
        if cap.value == "ALL" {
            hits.push(hit(
                &cap.field,
                format!("adds ALL capabilities ({}=ALL)", cap.field),
            ));
        } else if !DEFAULT_CAPABILITIES.contains(&cap.value.as_str())
            && !p.capability_allow.contains(&cap.value)
        {
            hits.push(hit(
                &cap.field,
                format!("adds capability CAP_{} ({})", cap.value, cap.field),
            ));
        }
    }
    if p.require_drop_all && is_container(w) && !w.cap_drop.iter().any(|c| c.value == "ALL") {
        let field = w
            .cap_drop
            .first()
            .map(|c| {
                c.field
                    .rsplit_once('[')
                    .map(|(f, _)| f)
                    .unwrap_or(&c.field)
                    .to_string()
            })
            .unwrap_or_else(|| "CapDrop".to_string());
        hits.push(hit(
            &field,
            "does not drop ALL capabilities (--cap-drop ALL)".to_string(),
        ));
    }
    hits
}

fn devices(w: &Workload, p: &Params) -> Vec<Hit> {
    let mut hits = Vec::new();
    for device in &w.devices {
        if p.device_allow.contains(&device.host) {
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

fn network_driver(w: &Workload, p: &Params) -> Vec<Hit> {
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
                    && !p.network_driver_allow.contains(driver) =>
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
fn created_network(network: &At<NetworkRequest>, p: &Params) -> Option<Hit> {
    let driver = &network.value.driver;
    if p.network_driver_allow.contains(driver) {
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

fn security_profile(w: &Workload, p: &Params) -> Vec<Hit> {
    let s = &w.security;
    let mut hits = Vec::new();
    if let Some(profile) = &s.apparmor_profile {
        if !p.apparmor_profiles.contains(&profile.value) {
            hits.push(hit(
                &profile.field,
                format!(
                    "AppArmor profile {:?} is not on the allow-list ({}=apparmor={})",
                    profile.value, profile.field, profile.value
                ),
            ));
        }
    }
    for (setting, what) in [
        (&s.seccomp_unconfined, "seccomp filtering disabled"),
        (&s.apparmor_unconfined, "AppArmor confinement disabled"),
        (&s.selinux_disabled, "SELinux confinement disabled"),
    ] {
        if let Some(opt) = setting {
            let value = if opt.value.len() > 60 {
                format!("{}...", opt.value.chars().take(57).collect::<String>())
            } else {
                opt.value.clone()
            };
            hits.push(hit(&opt.field, format!("{what} ({}={value:?})", opt.field)));
        }
    }
    if let Some(paths) = &s.unmasked_paths {
        hits.push(hit(
            &paths.field,
            format!(
                "unmasks or makes writable {} ({})",
                paths.value.join(", "),
                paths.field
            ),
        ));
    }
    hits
}

/// Sysctls Kubernetes considers safe (namespaced and isolated).
pub const SAFE_SYSCTLS: &[&str] = &[
    "kernel.shm_rmid_forced",
    "net.ipv4.ip_local_port_range",
    "net.ipv4.ip_unprivileged_port_start",
    "net.ipv4.tcp_syncookies",
    "net.ipv4.ping_group_range",
    "net.ipv4.ip_local_reserved_ports",
    "net.ipv4.tcp_keepalive_time",
    "net.ipv4.tcp_fin_timeout",
    "net.ipv4.tcp_keepalive_intvl",
    "net.ipv4.tcp_keepalive_probes",
];

fn sysctls(w: &Workload, p: &Params) -> Vec<Hit> {
    w.sysctls
        .iter()
        .filter(|s| {
            // The kernel accepts '/' as a separator too.
            let name = s.value.0.replace('/', ".");
            !SAFE_SYSCTLS.contains(&name.as_str()) && !p.sysctl_allow.contains(&name)
        })
        .map(|s| {
            hit(
                &s.field,
                format!("sets sysctl {}={:?} ({})", s.value.0, s.value.1, s.field),
            )
        })
        .collect()
}

fn mount_propagation(w: &Workload) -> Vec<Hit> {
    w.mounts
        .iter()
        .filter(|m| matches!(m.propagation.as_deref(), Some("shared" | "rshared")))
        .map(|m| {
            hit(
                &m.field,
                format!(
                    "{}{} uses {} propagation",
                    describe_source(m),
                    at_target(m),
                    m.propagation.as_deref().unwrap_or_default()
                ),
            )
        })
        .collect()
}

fn runtime(w: &Workload, p: &Params) -> Vec<Hit> {
    match &w.runtime {
        Some(r) if !p.runtime_allow.contains(&r.value) => vec![hit(
            &r.field,
            format!("runtime {:?} is not allowed ({})", r.value, r.field),
        )],
        _ => Vec::new(),
    }
}

/// Annotation key prefixes that a container runtime reads as settings:
/// runc and crun (`org.systemd.property.`, systemd cgroup driver), crun
/// (`run.oci.`), Kata Containers (`io.katacontainers.`), gVisor
/// (`dev.gvisor.`).
pub const RUNTIME_ANNOTATION_PREFIXES: &[&str] = &[
    "org.systemd.property.",
    "run.oci.",
    "io.katacontainers.",
    "dev.gvisor.",
];

fn runtime_annotations(w: &Workload, p: &Params) -> Vec<Hit> {
    let allowed = |key: &str| {
        p.annotation_allow
            .iter()
            .any(|a| key == a || (a.ends_with('.') && key.starts_with(a.as_str())))
    };
    w.annotations
        .iter()
        .filter(|a| {
            // Runtimes compare keys exactly; a key in another case is not
            // theirs, but it costs nothing to refuse it too.
            let key = a.value.0.to_ascii_lowercase();
            RUNTIME_ANNOTATION_PREFIXES
                .iter()
                .any(|prefix| key.starts_with(prefix))
                && !allowed(&a.value.0)
        })
        .map(|a| {
            hit(
                &a.field,
                format!(
                    "sets annotation {}={:?}, which the container runtime acts on ({})",
                    a.value.0, a.value.1, a.field
                ),
            )
        })
        .collect()
}

fn cgroup_parent(w: &Workload, p: &Params) -> Vec<Hit> {
    match &w.cgroup_parent {
        Some(c)
            if !p
                .cgroup_parent_allow
                .iter()
                .any(|a| under(&c.value, a) || c.value == *a) =>
        {
            vec![hit(
                &c.field,
                format!("cgroup parent {:?} is not allowed ({})", c.value, c.field),
            )]
        }
        _ => Vec::new(),
    }
}

fn run_as_root(w: &Workload) -> Vec<Hit> {
    if !matches!(
        w.operation,
        Operation::Container | Operation::Service | Operation::Exec
    ) {
        return Vec::new();
    }
    let user = &w.user;
    let field = if user.requested.field.is_empty() {
        "User".to_string()
    } else {
        user.requested.field.clone()
    };
    let who = if w.operation == Operation::Exec {
        "exec runs"
    } else {
        "runs"
    };
    if !user.requested.value.is_empty() {
        if is_root_user(&user.requested.value) {
            return vec![hit(
                &field,
                format!("{who} as root ({field}={:?})", user.requested.value),
            )];
        }
        return Vec::new();
    }
    let source = if w.operation == Operation::Exec {
        "the container's user"
    } else {
        "the image's USER"
    };
    match &user.image_default {
        Resolution::Known(u) if is_root_user(u) => {
            let shown = if u.is_empty() {
                "unset".to_string()
            } else {
                format!("{u:?}")
            };
            vec![hit(
                &field,
                format!("{who} as root: no user given and {source} is {shown}"),
            )]
        }
        Resolution::Known(_) => Vec::new(),
        Resolution::Failed(why) => vec![unjudged(
            &field,
            format!("{who} as root, as far as dockgate can tell: no user given and {source} is unknown ({why})"),
        )],
        Resolution::Pending => vec![hit(
            &field,
            format!("{who} as {source}, which was not checked and may be root"),
        )],
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

fn image_applies(w: &Workload) -> bool {
    matches!(
        w.operation,
        Operation::Container | Operation::Service | Operation::Image
    )
}

fn image_registry(w: &Workload, p: &Params) -> Vec<Hit> {
    let Some(image) = w.image.as_ref().filter(|_| image_applies(w)) else {
        return Vec::new();
    };
    let reference = ImageRef::parse(&image.value);
    if p.registry_allow.contains(&reference.registry) {
        return Vec::new();
    }
    vec![hit(
        &image.field,
        format!(
            "image {:?} comes from registry {:?}, which is not allowed",
            image.value, reference.registry
        ),
    )]
}

fn image_latest(w: &Workload) -> Vec<Hit> {
    let Some(image) = w.image.as_ref().filter(|_| image_applies(w)) else {
        return Vec::new();
    };
    let reference = ImageRef::parse(&image.value);
    if reference.digest.is_some() {
        return Vec::new();
    }
    match reference.tag.as_deref() {
        None => vec![hit(
            &image.field,
            format!("image {:?} has no tag, so it means latest", image.value),
        )],
        Some("latest") => vec![hit(
            &image.field,
            format!("image {:?} uses the latest tag", image.value),
        )],
        Some(_) => Vec::new(),
    }
}

fn image_digest(w: &Workload) -> Vec<Hit> {
    match w.image.as_ref() {
        Some(image) if is_container(w) && ImageRef::parse(&image.value).digest.is_none() => {
            vec![hit(
                &image.field,
                format!("image {:?} is not pinned by digest", image.value),
            )]
        }
        _ => Vec::new(),
    }
}

fn no_new_privileges(w: &Workload) -> Vec<Hit> {
    if is_container(w) && !w.security.no_new_privileges {
        vec![hit(
            "SecurityOpt",
            "no-new-privileges is not set".to_string(),
        )]
    } else {
        Vec::new()
    }
}

fn read_only_rootfs(w: &Workload) -> Vec<Hit> {
    match &w.read_only_rootfs {
        Some(r) if r.value => Vec::new(),
        _ if !is_container(w) => Vec::new(),
        Some(r) => vec![hit(
            &r.field,
            format!("root file system is writable ({}=false)", r.field),
        )],
        None => vec![hit(
            "ReadonlyRootfs",
            "root file system is writable".to_string(),
        )],
    }
}

fn limit(
    w: &Workload,
    setting: Option<&dockgate_model::At<i64>>,
    name: &str,
    field: &str,
) -> Vec<Hit> {
    match (w.operation, setting) {
        (Operation::Update, Some(v)) if v.value < 0 => vec![hit(
            &v.field,
            format!("removes the {name} limit ({}={})", v.field, v.value),
        )],
        (Operation::Container | Operation::Service, Some(v)) if v.value <= 0 => vec![hit(
            &v.field,
            format!("no {name} limit ({}={})", v.field, v.value),
        )],
        (Operation::Container | Operation::Service, None) => {
            vec![hit(field, format!("no {name} limit"))]
        }
        _ => Vec::new(),
    }
}

fn memory_limit(w: &Workload) -> Vec<Hit> {
    limit(w, w.limits.memory.as_ref(), "memory", "Memory")
}

fn pids_limit(w: &Workload) -> Vec<Hit> {
    limit(w, w.limits.pids.as_ref(), "PID", "PidsLimit")
}

fn env_secrets(w: &Workload, p: &Params) -> Vec<Hit> {
    w.env
        .iter()
        .filter_map(|e| {
            let value = e.value.as_deref().filter(|v| !v.is_empty())?;
            let name = e.name.to_ascii_uppercase();
            // Docker-secret conventions point at a file, not a value.
            let named = !name.ends_with("_FILE")
                && p.secret_names.iter().any(|n| name.contains(n.as_str()));
            let why = if named {
                "looks like it holds a secret"
            } else if url_with_password(value) {
                "holds a URL with a password in it"
            } else {
                return None;
            };
            Some(hit(
                &e.field,
                format!("environment variable {} {why} ({})", e.name, e.field),
            ))
        })
        .collect()
}

/// `scheme://user:password@host...`: a connection string that carries
/// its password, whatever the variable is called.
fn url_with_password(value: &str) -> bool {
    let Some((scheme, rest)) = value.split_once("://") else {
        return false;
    };
    let scheme_ok = scheme
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '.' | '-'));
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let Some((userinfo, _host)) = authority.rsplit_once('@') else {
        return false;
    };
    scheme_ok
        && userinfo
            .split_once(':')
            .is_some_and(|(_, password)| !password.is_empty())
}

/// One hit when the request goes to an endpoint of `kind`, worded by `what`
/// from the call and the name the request targets.
fn call_of_kind(
    w: &Workload,
    kind: CallKind,
    what: impl Fn(&ApiCall, Option<&str>) -> String,
) -> Vec<Hit> {
    match &w.call {
        Some(call) if call.kind == kind => vec![hit("path", what(call, w.name.as_deref()))],
        _ => Vec::new(),
    }
}

fn plugin_management(w: &Workload) -> Vec<Hit> {
    call_of_kind(w, CallKind::PluginManagement, |call, name| {
        let target = name.map(|n| format!(" of {n:?}")).unwrap_or_default();
        format!("{} {}{target} manages plugins", call.method, call.endpoint)
    })
}

fn copy_into_container(w: &Workload) -> Vec<Hit> {
    call_of_kind(w, CallKind::CopyIn, |call, name| {
        let target = name.map(|n| format!(" {n:?}")).unwrap_or_default();
        format!(
            "{} {} copies an archive into container{target}",
            call.method, call.endpoint
        )
    })
}

fn swarm_membership(w: &Workload) -> Vec<Hit> {
    call_of_kind(w, CallKind::SwarmMembership, |call, _| {
        let what = match call.endpoint.as_str() {
            "swarm.init" => {
                "makes this node a swarm manager, which managers joined later can give tasks"
            }
            "swarm.join" => "makes this node run containers for another swarm's managers",
            "swarm.inspect" => {
                "reads the swarm's join tokens, with which any machine joins as a manager or worker"
            }
            "swarm.update" => "changes the swarm's settings or rotates its join tokens",
            "swarm.unlockkey" => "reads the key that unlocks the swarm's managers",
            "swarm.unlock" => "unlocks a swarm manager",
            "node.update" => {
                "changes a node's role or availability (a manager schedules tasks on every node)"
            }
            _ => "changes this node's swarm membership",
        };
        format!("{} {} {what}", call.method, call.endpoint)
    })
}

fn buildkit(w: &Workload) -> Vec<Hit> {
    call_of_kind(w, CallKind::BuildKit, |call, _| {
        format!(
            "{} {} opens a BuildKit channel whose build steps the gate cannot read",
            call.method, call.endpoint
        )
    })
}

fn unknown_endpoint(w: &Workload) -> Vec<Hit> {
    match &w.call {
        Some(call)
            if call.kind == CallKind::Unknown
                && !matches!(call.method.as_str(), "GET" | "HEAD" | "OPTIONS") =>
        {
            vec![hit(
                "path",
                format!(
                    "{} {} is not an endpoint dockgate knows",
                    call.method, call.endpoint
                ),
            )]
        }
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests;
