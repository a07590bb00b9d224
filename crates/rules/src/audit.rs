//! The host audit: is the Docker host itself safe, and is the gate really
//! in front of it? Each check has a stable id (`audit/<id>`), the CIS
//! Docker Benchmark number it answers where there is one, a severity and
//! a fix, and judges only [`DaemonHost`].

use dockgate_model::host::{DaemonHost, DaemonProcess, HostFile, SwarmNode};
use dockgate_model::Resolution;

use crate::catalog::RuleRef;
use crate::policy::Action;
use crate::verdict::{Finding, Verdict};

/// One check of the host audit.
pub struct AuditCheck {
    /// The stable id, `audit/<name>`, as findings and reports name it.
    pub id: &'static str,
    /// The CIS Docker Benchmark recommendation it answers, if one.
    pub cis: Option<&'static str>,
    /// `Deny` (critical), `Warn`, or `Audit` (information).
    pub severity: Action,
    /// What it checks.
    pub summary: &'static str,
    /// How to fix what it finds.
    pub fix: &'static str,
    /// Whether it judges what the daemon's API says: skipped when the
    /// daemon does not answer (daemon-answers says why), rather than
    /// judging empty facts.
    from_api: bool,
    /// What it finds: each message is one finding.
    check: fn(&DaemonHost) -> Vec<String>,
}

impl AuditCheck {
    /// The rule findings and reports name.
    pub fn rule(&self) -> RuleRef {
        RuleRef::Audit(self.id)
    }
}

/// One finding when `found`, none otherwise.
fn finding_if(found: bool, message: &str) -> Vec<String> {
    if found {
        vec![message.to_string()]
    } else {
        Vec::new()
    }
}

fn daemon_answers(host: &DaemonHost) -> Vec<String> {
    let instead = match host.process {
        Resolution::Known(_) => "what it was started with was audited instead",
        _ => "nor could its process be read: the daemon itself was not audited",
    };
    match &host.api_error {
        Some(why) => vec![format!(
            "the daemon does not answer its API ({why}); {instead}"
        )],
        None => Vec::new(),
    }
}

/// Whether two plugin names name the same plugin: a managed plugin's
/// name without a tag is its `latest` (the daemon resolves it so).
fn same_plugin(a: &str, b: &str) -> bool {
    a.trim_end_matches(":latest") == b.trim_end_matches(":latest")
}

/// Whether the daemon asks the gate.
fn asks_gate(host: &DaemonHost) -> bool {
    host.authorization_plugins
        .iter()
        .any(|p| same_plugin(p, &host.gate.plugin))
}

/// Whether the plugins the daemon asks are known: from its API, or else
/// from its command line and configuration file.
fn plugins_known(host: &DaemonHost) -> bool {
    host.api_error.is_none() || matches!(host.process, Resolution::Known(_))
}

fn gate_installed(host: &DaemonHost) -> Vec<String> {
    let plugin = &host.gate.plugin;
    if !plugins_known(host) || asks_gate(host) {
        return Vec::new();
    }
    vec![if host.authorization_plugins.is_empty() {
        format!("the daemon asks no authorization plugin: no rule of the policy is enforced (dockgate is expected as {plugin:?})")
    } else {
        format!(
            "the daemon asks {} but not {plugin:?}: no rule of the policy is enforced",
            host.authorization_plugins.join(", ")
        )
    }]
}

fn gate_address_changed(host: &DaemonHost) -> Vec<String> {
    match &host.gate.changed_after_start {
        Some(file) if asks_gate(host) => vec![format!(
            "{file} was written after the daemon started: the daemon asks the address it found first until it restarts, which may not be the gate's"
        )],
        _ => Vec::new(),
    }
}

fn gate_first(host: &DaemonHost) -> Vec<String> {
    let plugin = &host.gate.plugin;
    if !plugins_known(host) {
        return Vec::new();
    }
    match host
        .authorization_plugins
        .iter()
        .position(|p| same_plugin(p, plugin))
    {
        Some(at) if at > 0 => vec![format!(
            "authorization plugins before {plugin:?}: {} (each may refuse, and sees every request first)",
            host.authorization_plugins[..at].join(", ")
        )],
        _ => Vec::new(),
    }
}

fn gate_answers(host: &DaemonHost) -> Vec<String> {
    if !asks_gate(host) {
        return Vec::new();
    }
    let plugin = &host.gate.plugin;
    match (&host.gate.socket, &host.gate.answers) {
        // A daemon reached over TCP: its plugins are on its own host.
        (_, Resolution::Pending) => Vec::new(),
        (Some(socket), Resolution::Known(true)) if host.gate.foreign => vec![format!(
            "another plugin answers on {socket}, where the daemon finds {plugin:?} first: the daemon asks it, not dockgate, and no rule of the policy is enforced"
        )],
        (_, Resolution::Known(true)) => Vec::new(),
        (None, _) => vec![format!(
            "no socket for plugin {plugin:?}: none of /run/docker/plugins/{plugin}.sock, {plugin}/{plugin}.sock or a {plugin}.spec or {plugin}.json under /etc/docker/plugins or /usr/lib/docker/plugins; the daemon refuses every request"
        )],
        (Some(socket), Resolution::Failed(why)) if host.api_error.is_none() => vec![format!(
            "the gate's socket {socket} could not be asked ({why}), yet the daemon answers its API: whatever answers for {plugin:?} is not known to be dockgate (run the audit as root)"
        )],
        (Some(socket), Resolution::Failed(why)) => vec![format!(
            "the gate's socket {socket} does not answer ({why}): the daemon refuses every request"
        )],
        (Some(socket), _) => vec![format!(
            "the gate's socket {socket} does not answer: the daemon refuses every request"
        )],
    }
}

/// The TCP addresses the daemon serves its API on: its hosts (an address
/// without a scheme is TCP, as dockerd reads it), and the TCP sockets it
/// listens on (systemd may hand it one, `-H fd://`), less the swarm's
/// own ports (mutual TLS of its own) and the metrics address.
fn api_tcp(host: &DaemonHost) -> Vec<String> {
    let mut addresses: Vec<String> = host
        .setting("hosts", &["--host"])
        .into_iter()
        .filter_map(|h| match h.split_once("://") {
            Some(("tcp", address)) => Some(address.to_string()),
            Some(_) => None,
            None if !h.is_empty() => Some(h),
            None => None,
        })
        .collect();
    if let Resolution::Known(process) = &host.process {
        let swarm_port = host
            .swarm
            .as_ref()
            .and_then(|s| s.listen_addr.as_deref())
            .and_then(|a| a.rsplit_once(':'))
            .map(|(_, port)| port.to_string());
        let metrics = host.effective("metrics-addr", &["--metrics-addr"]);
        for listener in process.tcp_listeners.iter().flatten() {
            let port = listener.rsplit_once(':').map(|(_, p)| p);
            let swarm =
                host.swarm.is_some() && (port == swarm_port.as_deref() || port == Some("7946"));
            if !swarm && metrics.as_deref() != Some(listener) && !addresses.contains(listener) {
                addresses.push(listener.clone());
            }
        }
    }
    addresses
}

fn tcp_tls(host: &DaemonHost) -> Vec<String> {
    let mut found = Vec::new();
    let plain = ["tcp://", "http://"];
    if plain.iter().any(|p| host.address.starts_with(p)) && host.api_error.is_none() {
        found.push(format!(
            "the audit itself reached the daemon's API at {} without TLS: anyone who reaches that address is root on the daemon's host",
            host.address
        ));
    }
    if let Resolution::Known(DaemonProcess {
        tcp_listeners: None,
        ..
    }) = &host.process
    {
        found.push("cannot read which TCP sockets the daemon listens on (its descriptors are another user's): one systemd handed it (-H fd://) would go unseen; run the audit as root".to_string());
    }
    let tcp = api_tcp(host);
    if tcp.is_empty() {
        return found;
    }
    // As dockerd decides (cmd/dockerd/daemon.go loadDaemonCliConfig and
    // newAPIServerConfig): TLS is on with --tls or with --tlsverify given
    // at all, and then verifies client certificates unless --tlsverify is
    // explicitly false. DOCKER_TLS_VERIFY in its environment changes only
    // the flag's default, which the server does not read.
    let verify_given = host.is_set("tlsverify", &["--tlsverify"]);
    let tls = host.setting_is("tls", &["--tls"], "true") || verify_given;
    let verifies = tls && !host.setting_is("tlsverify", &["--tlsverify"], "false");
    let listed = tcp
        .iter()
        .map(|a| format!("tcp://{a}"))
        .collect::<Vec<_>>()
        .join(", ");
    if !verifies {
        let how = if tls {
            "with TLS but without client certificate verification (tlsverify is false)"
        } else {
            "without TLS"
        };
        found.push(format!(
            "the daemon listens on {listed} {how}: anyone who reaches it is root on the host, and to the gate looks like a caller on the Unix socket"
        ));
    } else if host
        .files
        .iter()
        .any(|f| f.role == "TLS CA certificate" && f.stat.is_none())
    {
        found.push(format!(
            "the daemon listens on {listed} and checks client certificates against the system's CA pool (no tlscacert, and no ca.pem where it looks): a client certificate any public CA issued is let in"
        ));
    }
    found
}

/// A configuration value as the daemon holds it, for comparison: lists
/// the daemon keeps as sets sorted, registry addresses as the daemon
/// normalises them (no scheme, no trailing slash for insecure registries;
/// a trailing slash for mirrors), paths without a trailing slash.
fn comparable(key: &str, value: &serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    let text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    match (key, value) {
        ("insecure-registries" | "registry-mirrors" | "labels", Value::Array(items)) => {
            let mut items: Vec<String> = items
                .iter()
                .map(|item| {
                    let item = text(item);
                    match key {
                        "insecure-registries" => item
                            .trim_start_matches("http://")
                            .trim_start_matches("https://")
                            .trim_end_matches('/')
                            .to_string(),
                        "registry-mirrors" => format!("{}/", item.trim_end_matches('/')),
                        _ => item,
                    }
                })
                .collect();
            items.sort();
            items.dedup();
            Value::Array(items.into_iter().map(Value::String).collect())
        }
        // The API shows an empty list as null.
        ("authorization-plugins", Value::Null) => Value::Array(Vec::new()),
        ("insecure-registries" | "registry-mirrors" | "labels", Value::Null) => {
            Value::Array(Vec::new())
        }
        ("data-root", Value::String(path)) if path.len() > 1 => {
            Value::String(path.trim_end_matches('/').to_string())
        }
        _ => value.clone(),
    }
}

/// A value as a message shows it.
fn shown(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(s) => format!("{s:?}"),
        other => other.to_string(),
    }
}

/// The settings the configuration file is compared on: each key, the
/// flags that set it instead, and what the daemon takes when neither does
/// (none where that depends on the host).
const COMPARED: &[(&str, &[&str], Option<&str>)] = &[
    (
        "authorization-plugins",
        &["--authorization-plugin"],
        Some("[]"),
    ),
    ("data-root", &["--data-root", "--graph"], None),
    ("debug", &["--debug"], Some("false")),
    ("default-runtime", &["--default-runtime"], Some("\"runc\"")),
    ("experimental", &["--experimental"], Some("false")),
    ("insecure-registries", &["--insecure-registry"], Some("[]")),
    ("labels", &["--label"], Some("[]")),
    ("live-restore", &["--live-restore"], Some("false")),
    ("log-driver", &["--log-driver"], Some("\"json-file\"")),
    ("registry-mirrors", &["--registry-mirror"], Some("[]")),
    ("storage-driver", &["--storage-driver"], None),
];

fn config_drift(host: &DaemonHost) -> Vec<String> {
    // The file as the next start reads it; unread, there is nothing to
    // compare (config-file-read says why).
    let Resolution::Known(_) = &host.config else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for (key, flags, default) in COMPARED {
        let Some(running) = host.running.get(*key) else {
            continue;
        };
        let running = comparable(key, running);
        match host.config_value(key) {
            Some(written) => {
                let written = comparable(key, written);
                if written != running {
                    found.push(format!(
                        "{key}: {} says {}, the running daemon has {}",
                        host.config_file,
                        shown(&written),
                        shown(&running)
                    ));
                }
            }
            // Set by neither the file nor a flag: the next start takes
            // the default.
            None if !host.is_set(key, flags) => {
                let Some(default) = default.and_then(|d| serde_json::from_str(d).ok()) else {
                    continue;
                };
                let default = comparable(key, &default);
                if default != running {
                    found.push(format!(
                        "{key}: {} does not set it, nor does a flag, so the next start takes {}; the running daemon has {}",
                        host.config_file,
                        shown(&default),
                        shown(&running)
                    ));
                }
            }
            None => {}
        }
    }
    let userns = host.config_value("userns-remap").and_then(|v| v.as_str());
    if userns.is_none() && host.userns_remap && !host.is_set("userns-remap", &["--userns-remap"]) {
        found.push(format!(
            "userns-remap: {} does not set it, nor does a flag, so the next start does not remap user namespaces; the running daemon remaps them",
            host.config_file
        ));
    }
    if let Some(written) = userns {
        let remapped = !written.is_empty();
        if remapped != host.userns_remap {
            found.push(format!(
                "userns-remap: {} says {written:?}, the running daemon {} user namespaces",
                host.config_file,
                if host.userns_remap {
                    "remaps"
                } else {
                    "does not remap"
                }
            ));
        }
    }
    found
}

fn config_read(host: &DaemonHost) -> Vec<String> {
    match &host.config {
        Resolution::Failed(why) => vec![format!(
            "cannot read the daemon's configuration file ({why}): what it sets (TCP hosts, plugins, TLS) was judged from the command line and the API only"
        )],
        _ => Vec::new(),
    }
}

fn process_known(host: &DaemonHost) -> Vec<String> {
    match &host.process {
        Resolution::Known(_) => Vec::new(),
        Resolution::Failed(why) => vec![format!(
            "cannot tell which process answers on {}: {why}; its command line was not audited",
            host.address
        )],
        Resolution::Pending => vec![format!(
            "{} is not a local Unix socket: the daemon's command line and files were not audited",
            host.address
        )],
    }
}

fn live_restore(host: &DaemonHost) -> Vec<String> {
    if host.runs_with("live-restore", true) || host.swarm.is_some() {
        return Vec::new();
    }
    vec![
        "live restore is off: containers stop whenever the daemon does (and the gate with it)"
            .into(),
    ]
}

fn userns(host: &DaemonHost) -> Vec<String> {
    if host.userns_remap {
        return Vec::new();
    }
    vec!["user namespaces are not remapped: root in a container is root on the host".into()]
}

fn insecure_registries(host: &DaemonHost) -> Vec<String> {
    let insecure = host.setting("insecure-registries", &["--insecure-registry"]);
    if insecure.is_empty() {
        return Vec::new();
    }
    vec![format!("insecure registries: {}", insecure.join(", "))]
}

fn swarm(host: &DaemonHost) -> Vec<String> {
    let Some(node) = &host.swarm else {
        return Vec::new();
    };
    let role = if node.manager {
        "a manager"
    } else {
        "a worker"
    };
    vec![format!(
        "the node is in a swarm ({role}, {}): its managers start containers here without this daemon's API; every manager must run the gate with the same policy",
        node.state
    )]
}

/// The swarm node, when it is a manager: what only managers know.
fn manager(host: &DaemonHost) -> Option<&SwarmNode> {
    host.swarm.as_ref().filter(|node| node.manager)
}

fn swarm_managers(host: &DaemonHost) -> Vec<String> {
    let Some(node) = manager(host) else {
        return Vec::new();
    };
    let problem = match node.managers {
        n if n > 7 => "more than seven slow every decision of the raft log",
        n if n % 2 == 0 => "an even number tolerates no more failures than one fewer",
        _ => return Vec::new(),
    };
    vec![format!("{} managers: {problem}", node.managers)]
}

fn swarm_listen(host: &DaemonHost) -> Vec<String> {
    let Some(address) = host.swarm.as_ref().and_then(|n| n.listen_addr.as_deref()) else {
        return Vec::new();
    };
    let ip = address.rsplit_once(':').map_or(address, |(ip, _)| ip);
    finding_if(
        matches!(ip, "" | "0.0.0.0" | "[::]" | "::"),
        &format!("the swarm's control plane listens on {address}, every interface of the host"),
    )
}

fn overlay_encryption(host: &DaemonHost) -> Vec<String> {
    host.unencrypted_overlays
        .iter()
        .map(|network| format!("overlay network {network} is not encrypted"))
        .collect()
}

fn swarm_secrets(host: &DaemonHost) -> Vec<String> {
    finding_if(
        manager(host).is_some_and(|node| node.secrets == Some(0)),
        "no swarm secrets: confirm services take none in their environment or image",
    )
}

fn swarm_autolock(host: &DaemonHost) -> Vec<String> {
    finding_if(
        manager(host).is_some_and(|node| !node.autolock),
        "managers do not lock their keys (auto-lock off): whoever copies a manager's disk holds the swarm's keys and its secrets",
    )
}

fn swarm_unlock_key(host: &DaemonHost) -> Vec<String> {
    finding_if(
        manager(host).is_some_and(|node| node.autolock),
        "the unlock key is rotated only by hand: confirm it is rotated on a schedule",
    )
}

/// The node certificates' lifetime the benchmark asks for: two days.
const NODE_CERT_EXPIRY: u64 = 2 * 24 * 3600;

fn swarm_node_certs(host: &DaemonHost) -> Vec<String> {
    match manager(host).and_then(|node| node.node_cert_expiry) {
        Some(seconds) if seconds > NODE_CERT_EXPIRY => vec![format!(
            "node certificates last {} hours: a stolen one works that long",
            seconds / 3600
        )],
        _ => Vec::new(),
    }
}

fn swarm_ca(host: &DaemonHost) -> Vec<String> {
    finding_if(
        manager(host).is_some(),
        "the swarm's root CA is rotated only by hand: confirm it is rotated on a schedule",
    )
}

fn swarm_data_path(host: &DaemonHost) -> Vec<String> {
    finding_if(
        host.swarm
            .as_ref()
            .is_some_and(|node| node.data_path_addr.is_none()),
        "overlay traffic shares the control plane's interface (no --data-path-addr)",
    )
}

fn rootless(host: &DaemonHost) -> Vec<String> {
    match &host.process {
        Resolution::Known(process) if process.uid == 0 => vec![
            "the daemon runs as root: a container that breaks out is root on the host (rootless mode confines it to one user)".into(),
        ],
        _ => Vec::new(),
    }
}

/// The first releases of each line with the fix for CVE-2024-41110 (an
/// authorization plugin is asked without the body of a request sent with
/// Content-Length 0): 23.0.15, 25.0.6, 26.1.5, 27.1.1; 24.0 and earlier
/// lines have no upstream fix.
fn lacks_authz_body_fix(version: &str) -> bool {
    let numbers: Vec<u64> = version
        .split(|c: char| !c.is_ascii_digit())
        .take(3)
        .map(|n| n.parse().unwrap_or(0))
        .collect();
    let [major, minor, patch] = numbers[..] else {
        return false;
    };
    match (major, minor) {
        (23, 0) => patch < 15,
        (25, 0) => patch < 6,
        (26, 0) => true,
        (26, 1) => patch < 5,
        (27, 0) => true,
        (27, 1) => patch < 1,
        (m, _) => m < 23 || m == 24,
    }
}

fn daemon_version(host: &DaemonHost) -> Vec<String> {
    let version = &host.version;
    finding_if(
        lacks_authz_body_fix(version),
        &format!("dockerd {version} predates the upstream fix for CVE-2024-41110 (authorization plugins asked without a request's body); the gate refuses such requests, but confirm your vendor's build carries the fix"),
    )
}

fn bridge_icc(host: &DaemonHost) -> Vec<String> {
    // The setting, as the benchmark asks: it applies to the default
    // bridge whenever there is one.
    if host.setting_is("icc", &["--icc"], "false") {
        return Vec::new();
    }
    let now = match host.bridge_icc {
        Some(true) => "containers on the default bridge talk to each other freely",
        Some(false) => {
            "the default bridge restricts its containers, but the daemon's icc is not false"
        }
        None => "no default bridge now, and the daemon's icc is not false for one",
    };
    vec![format!("{now} (icc)")]
}

fn log_level(host: &DaemonHost) -> Vec<String> {
    let mut found: Vec<String> = host
        .effective("log-level", &["--log-level"])
        .filter(|level| !level.is_empty() && level != "info")
        .map(|level| format!("log level {level:?}"))
        .into_iter()
        .collect();
    if host.setting_is("debug", &["--debug"], "true") {
        found.push("debug mode (--debug, or \"debug\": true) logs at level debug".into());
    }
    found
}

fn iptables(host: &DaemonHost) -> Vec<String> {
    finding_if(
        host.setting_is("iptables", &["--iptables"], "false"),
        "the daemon may not change iptables (--iptables=false)",
    )
}

fn aufs(host: &DaemonHost) -> Vec<String> {
    finding_if(
        host.runs_with("storage-driver", "aufs"),
        "the aufs storage driver",
    )
}

fn no_new_privileges(host: &DaemonHost) -> Vec<String> {
    finding_if(
        !host.setting_is("no-new-privileges", &["--no-new-privileges"], "true"),
        "containers may gain new privileges by default (no --no-new-privileges)",
    )
}

fn userland_proxy(host: &DaemonHost) -> Vec<String> {
    finding_if(
        !host.setting_is("userland-proxy", &["--userland-proxy"], "false"),
        "the userland proxy is on",
    )
}

fn experimental(host: &DaemonHost) -> Vec<String> {
    finding_if(
        host.runs_with("experimental", true),
        "experimental features are on",
    )
}

fn remote_logging(host: &DaemonHost) -> Vec<String> {
    finding_if(
        host.runs_with("log-driver", "json-file"),
        "containers log to local json-file only",
    )
}

fn cgroup_parent(host: &DaemonHost) -> Vec<String> {
    host.setting("cgroup-parent", &["--cgroup-parent"])
        .into_iter()
        .filter(|p| !p.is_empty())
        .map(|p| format!("a default cgroup parent {p:?}: confirm it"))
        .collect()
}

/// The files of one role, against what the CIS benchmark asks: the
/// owner root, the group (by ID; any for the socket's), and the most
/// permissive mode.
fn files_of(host: &DaemonHost, role: &str, group: Option<u32>, mode: u32) -> Vec<String> {
    host.files
        .iter()
        .filter(|f| f.role == role)
        .filter_map(|f| file_problem(f, group, mode))
        .collect()
}

fn file_problem(file: &HostFile, group: Option<u32>, mode: u32) -> Option<String> {
    let stat = file.stat?;
    let mut wrong = Vec::new();
    if stat.uid != 0 {
        wrong.push(format!("owned by uid {}", stat.uid));
    }
    if group.is_some_and(|g| g != stat.gid) {
        wrong.push(format!("group {}", stat.gid));
    }
    if stat.mode & !mode != 0 {
        wrong.push(format!("mode {:o} (at most {mode:o})", stat.mode));
    }
    (!wrong.is_empty()).then(|| format!("{} ({}): {}", file.path, file.role, wrong.join(", ")))
}

macro_rules! file_check {
    ($name:ident, $role:literal, $group:expr, $mode:literal) => {
        fn $name(host: &DaemonHost) -> Vec<String> {
            files_of(host, $role, $group, $mode)
        }
    };
}

file_check!(socket_file, "docker.sock", None, 0o660);
file_check!(etc_docker, "/etc/docker", Some(0), 0o755);
file_check!(data_root_mode, "data root", None, 0o711);
file_check!(config_file, "daemon.json", Some(0), 0o644);
file_check!(service_unit, "docker.service", Some(0), 0o644);
file_check!(socket_unit, "docker.socket", Some(0), 0o644);
file_check!(tls_ca, "TLS CA certificate", Some(0), 0o444);
file_check!(tls_cert, "TLS server certificate", Some(0), 0o444);
file_check!(tls_key, "TLS server key", Some(0), 0o400);
file_check!(registry_certs, "registry certificate", Some(0), 0o444);
file_check!(etc_default, "/etc/default/docker", Some(0), 0o644);
file_check!(etc_sysconfig, "/etc/sysconfig/docker", Some(0), 0o644);
file_check!(containerd_socket, "containerd.sock", Some(0), 0o660);

fn data_partition(host: &DaemonHost) -> Vec<String> {
    match &host.data_root {
        Some((root, false)) => vec![format!(
            "the data root {root} is not a partition of its own: containers can fill the host's file system"
        )],
        _ => Vec::new(),
    }
}

fn docker_group(host: &DaemonHost) -> Vec<String> {
    match &host.docker_group {
        Some(members) if !members.is_empty() => vec![format!(
            "members of the docker group control the daemon, and so the host: {}",
            members.join(", ")
        )],
        _ => Vec::new(),
    }
}

/// The builder's entitlements the daemon's configuration file sets
/// (`"builder": {"Entitlements": {"network-host": true, ...}}`; keys
/// matched without regard to case, as Go's JSON decoder matches them).
fn entitlement(host: &DaemonHost, name: &str) -> Option<bool> {
    let Resolution::Known(Some(config)) = &host.config else {
        return None;
    };
    let field = |object: &serde_json::Map<String, serde_json::Value>, key: &str| {
        object
            .iter()
            .rev()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.clone())
    };
    let builder = field(config, "builder")?;
    let entitlements = field(builder.as_object()?, "entitlements")?;
    field(entitlements.as_object()?, name)?.as_bool()
}

fn builder_entitlements(host: &DaemonHost) -> Vec<String> {
    if !host.expected.buildkit_allowed {
        return Vec::new();
    }
    let mut found = Vec::new();
    if entitlement(host, "security-insecure") == Some(true) {
        found.push("the policy lets BuildKit builds through, and the daemon grants them security.insecure: a build step (RUN --security=insecure) runs privileged, where no plugin sees it".to_string());
    }
    if entitlement(host, "network-host") != Some(false) {
        found.push("the policy lets BuildKit builds through, and the daemon grants them network.host (its default): a build step (RUN --network=host) uses the host's network".to_string());
    }
    found
}

fn insecure_allowed_registries(host: &DaemonHost) -> Vec<String> {
    let Some(allowed) = &host.expected.registries else {
        return Vec::new();
    };
    host.setting("insecure-registries", &["--insecure-registry"])
        .into_iter()
        .filter(|r| allowed.iter().any(|a| a == r))
        .map(|r| format!("the policy allows images from {r:?}, which the daemon reaches as an insecure registry: whoever is on the path can swap its images"))
        .collect()
}

fn default_ulimits(host: &DaemonHost) -> Vec<String> {
    let set = host
        .setting("default-ulimits", &["--default-ulimit"])
        .iter()
        .any(|v| !v.is_empty() && v != "{}");
    match set {
        true => Vec::new(),
        false => vec!["no default ulimits: confirm each container sets its own".into()],
    }
}

fn base_size(host: &DaemonHost) -> Vec<String> {
    host.setting("storage-opts", &["--storage-opt"])
        .into_iter()
        .filter(|o| o.contains("dm.basesize"))
        .map(|o| format!("the base device size is changed ({o})"))
        .collect()
}

fn seccomp_default(host: &DaemonHost) -> Vec<String> {
    let default = host
        .security_options
        .iter()
        // dockerd 25 and later call its default profile `builtin`.
        .any(|o| {
            o.split(',')
                .any(|p| p == "profile=default" || p == "profile=builtin")
                && o.contains("name=seccomp")
        });
    match default {
        true => Vec::new(),
        false => vec!["the daemon-wide seccomp profile is not Docker's default: confirm it".into()],
    }
}

/// Every check, the gate's own first.
pub const CHECKS: &[AuditCheck] = &[
    AuditCheck {
        id: "audit/daemon-answers",
        cis: None,
        severity: Action::Deny,
        summary: "the daemon answers its API",
        fix: "start the daemon, or the gate it waits on (an authorization plugin that does not answer stops every request)",
        from_api: false,
        check: daemon_answers,
    },
    AuditCheck {
        id: "audit/gate-installed",
        cis: Some("2.12"),
        severity: Action::Deny,
        summary: "dockgate is one of the daemon's authorization plugins",
        fix: "add \"authorization-plugins\": [\"dockgate\"] to daemon.json (or --authorization-plugin=dockgate) and restart dockerd",
        from_api: false,
        check: gate_installed,
    },
    AuditCheck {
        id: "audit/gate-answers",
        cis: None,
        severity: Action::Deny,
        summary: "the gate's socket answers",
        fix: "start the gate (systemctl start dockgate.socket dockgate.service); its spec file or socket must name where it listens",
        from_api: false,
        check: gate_answers,
    },
    AuditCheck {
        id: "audit/gate-address-changed",
        cis: None,
        severity: Action::Warn,
        summary: "the gate's spec file is older than the running daemon",
        fix: "restart dockerd, so that it asks the address the spec file names now",
        from_api: false,
        check: gate_address_changed,
    },
    AuditCheck {
        id: "audit/gate-first",
        cis: None,
        severity: Action::Warn,
        summary: "no other authorization plugin comes before the gate",
        fix: "put dockgate first in authorization-plugins, or remove plugins it supersedes",
        from_api: false,
        check: gate_first,
    },
    AuditCheck {
        id: "audit/daemon-process",
        cis: None,
        severity: Action::Warn,
        summary: "the process answering on the socket is found by its peer credentials",
        fix: "run the audit on the daemon's host, as root, against its Unix socket",
        from_api: false,
        check: process_known,
    },
    AuditCheck {
        id: "audit/data-partition",
        cis: Some("1.1.1"),
        severity: Action::Warn,
        summary: "the data root is a partition of its own",
        fix: "mount a file system of its own at the daemon's data root (docker info: Docker Root Dir)",
        from_api: false,
        check: data_partition,
    },
    AuditCheck {
        id: "audit/docker-group",
        cis: Some("1.1.2"),
        severity: Action::Audit,
        summary: "who is in the docker group (root-equivalent) is known",
        fix: "keep the docker group to administrators; give others TLS identities or proxy sockets (docs/identities.md)",
        from_api: false,
        check: docker_group,
    },
    AuditCheck {
        id: "audit/daemon-version",
        cis: Some("1.2.2"),
        severity: Action::Audit,
        summary: "the daemon's version has the fixes that concern authorization plugins",
        fix: "update dockerd to 23.0.15, 25.0.6, 26.1.5, 27.1.1 or later, or confirm your vendor's build",
        from_api: true,
        check: daemon_version,
    },
    AuditCheck {
        id: "audit/rootless",
        cis: Some("2.1"),
        severity: Action::Audit,
        summary: "the daemon runs as a user other than root (rootless mode)",
        fix: "run dockerd rootless (dockerd-rootless-setuptool.sh) where its limits allow",
        from_api: false,
        check: rootless,
    },
    AuditCheck {
        id: "audit/tcp-tls-verify",
        cis: Some("2.7"),
        severity: Action::Deny,
        summary: "every TCP socket requires TLS client certificates",
        fix: "set \"tlsverify\": true with tlscacert, tlscert and tlskey, or remove the tcp:// host",
        from_api: false,
        check: tcp_tls,
    },
    AuditCheck {
        id: "audit/config-file-read",
        cis: None,
        severity: Action::Warn,
        summary: "the daemon's configuration file can be read",
        fix: "run the audit as root; make the file valid JSON (dockerd will not start with it otherwise)",
        from_api: false,
        check: config_read,
    },
    AuditCheck {
        id: "audit/config-drift",
        cis: None,
        severity: Action::Warn,
        summary: "the running daemon has what its configuration file says",
        fix: "restart dockerd to apply the file, or change the file back: the next restart applies it",
        from_api: true,
        check: config_drift,
    },
    AuditCheck {
        id: "audit/builder-entitlements",
        cis: None,
        severity: Action::Warn,
        summary: "BuildKit's entitlements are off where the policy lets builds through",
        fix: "set \"builder\": {\"entitlements\": {\"network-host\": false, \"security-insecure\": false}} in daemon.json, or keep the buildkit rule at deny",
        from_api: false,
        check: builder_entitlements,
    },
    AuditCheck {
        id: "audit/insecure-allowed-registry",
        cis: None,
        severity: Action::Deny,
        summary: "no registry the policy allows is an insecure registry",
        fix: "give the registry a TLS certificate and remove it from insecure-registries",
        from_api: false,
        check: insecure_allowed_registries,
    },
    AuditCheck {
        id: "audit/swarm",
        cis: None,
        severity: Action::Warn,
        summary: "the node is not in a swarm, where managers start containers without this daemon's API",
        fix: "docker swarm leave, or run the gate with the same policy on every manager (README, Swarm and BuildKit)",
        from_api: true,
        check: swarm,
    },
    AuditCheck {
        id: "audit/swarm-managers",
        cis: Some("7.1"),
        severity: Action::Warn,
        summary: "a swarm has an odd number of managers, seven at most",
        fix: "docker node promote or demote managers to 1, 3, 5 or 7",
        from_api: true,
        check: swarm_managers,
    },
    AuditCheck {
        id: "audit/swarm-listen",
        cis: Some("7.2"),
        severity: Action::Warn,
        summary: "the swarm's control plane listens on one interface",
        fix: "leave and init (or join) the swarm again with --listen-addr ADDRESS:2377",
        from_api: true,
        check: swarm_listen,
    },
    AuditCheck {
        id: "audit/overlay-encryption",
        cis: Some("7.3"),
        severity: Action::Warn,
        summary: "every overlay network is encrypted",
        fix: "create overlay networks with --opt encrypted (the ingress network too: remove and create it again)",
        from_api: true,
        check: overlay_encryption,
    },
    AuditCheck {
        id: "audit/swarm-secrets",
        cis: Some("7.4"),
        severity: Action::Audit,
        summary: "a swarm keeps its services' secrets as swarm secrets",
        fix: "docker secret create, and give services --secret instead of environment values",
        from_api: true,
        check: swarm_secrets,
    },
    AuditCheck {
        id: "audit/swarm-autolock",
        cis: Some("7.5"),
        severity: Action::Warn,
        summary: "swarm managers run in auto-lock mode",
        fix: "docker swarm update --autolock=true, and keep the unlock key off the host",
        from_api: true,
        check: swarm_autolock,
    },
    AuditCheck {
        id: "audit/swarm-unlock-key",
        cis: Some("7.6"),
        severity: Action::Audit,
        summary: "the swarm's unlock key is rotated",
        fix: "docker swarm unlock-key --rotate, on a schedule",
        from_api: true,
        check: swarm_unlock_key,
    },
    AuditCheck {
        id: "audit/swarm-node-certs",
        cis: Some("7.7"),
        severity: Action::Audit,
        summary: "swarm node certificates last two days at most",
        fix: "docker swarm update --cert-expiry 48h",
        from_api: true,
        check: swarm_node_certs,
    },
    AuditCheck {
        id: "audit/swarm-ca",
        cis: Some("7.8"),
        severity: Action::Audit,
        summary: "the swarm's root CA is rotated",
        fix: "docker swarm ca --rotate, on a schedule",
        from_api: true,
        check: swarm_ca,
    },
    AuditCheck {
        id: "audit/swarm-data-path",
        cis: Some("7.9"),
        severity: Action::Audit,
        summary: "overlay traffic has an interface of its own",
        fix: "init (or join) the swarm with --data-path-addr on a second interface",
        from_api: true,
        check: swarm_data_path,
    },
    AuditCheck {
        id: "audit/live-restore",
        cis: Some("2.15"),
        severity: Action::Warn,
        summary: "live restore is enabled",
        fix: "set \"live-restore\": true in daemon.json",
        from_api: true,
        check: live_restore,
    },
    AuditCheck {
        id: "audit/userns-remap",
        cis: Some("2.9"),
        severity: Action::Warn,
        summary: "user namespace remapping is enabled",
        fix: "set \"userns-remap\": \"default\" in daemon.json (check what it breaks first)",
        from_api: true,
        check: userns,
    },
    AuditCheck {
        id: "audit/insecure-registries",
        cis: Some("2.5"),
        severity: Action::Warn,
        summary: "no insecure registries",
        fix: "remove insecure-registries; give registries TLS certificates",
        from_api: false,
        check: insecure_registries,
    },
    AuditCheck {
        id: "audit/bridge-icc",
        cis: Some("2.2"),
        severity: Action::Warn,
        summary: "containers on the default bridge cannot talk to each other",
        fix: "set \"icc\": false in daemon.json, and link or network what must talk",
        from_api: false,
        check: bridge_icc,
    },
    AuditCheck {
        id: "audit/log-level",
        cis: Some("2.3"),
        severity: Action::Warn,
        summary: "the daemon logs at level info",
        fix: "set \"log-level\": \"info\"",
        from_api: false,
        check: log_level,
    },
    AuditCheck {
        id: "audit/iptables",
        cis: Some("2.4"),
        severity: Action::Warn,
        summary: "Docker may change iptables",
        fix: "remove --iptables=false",
        from_api: false,
        check: iptables,
    },
    AuditCheck {
        id: "audit/aufs",
        cis: Some("2.6"),
        severity: Action::Warn,
        summary: "the aufs storage driver is not used",
        fix: "use overlay2",
        from_api: true,
        check: aufs,
    },
    AuditCheck {
        id: "audit/cgroup-parent",
        cis: Some("2.10"),
        severity: Action::Warn,
        summary: "the default cgroup parent is Docker's",
        fix: "remove --cgroup-parent unless it is confirmed",
        from_api: false,
        check: cgroup_parent,
    },
    AuditCheck {
        id: "audit/default-ulimits",
        cis: Some("2.8"),
        severity: Action::Audit,
        summary: "default ulimits are set",
        fix: "set \"default-ulimits\" in daemon.json, in line with the host's limits",
        from_api: false,
        check: default_ulimits,
    },
    AuditCheck {
        id: "audit/base-device-size",
        cis: Some("2.11"),
        severity: Action::Warn,
        summary: "the base device size is not changed",
        fix: "remove dm.basesize from storage-opts until it is needed",
        from_api: false,
        check: base_size,
    },
    AuditCheck {
        id: "audit/seccomp-default",
        cis: Some("2.17"),
        severity: Action::Audit,
        summary: "the daemon-wide seccomp profile is Docker's default",
        fix: "confirm the profile set with --seccomp-profile, or remove it",
        from_api: true,
        check: seccomp_default,
    },
    AuditCheck {
        id: "audit/remote-logging",
        cis: Some("2.13"),
        severity: Action::Warn,
        summary: "container logs go to a central log",
        fix: "set a log driver that ships logs (syslog, journald, fluentd...)",
        from_api: true,
        check: remote_logging,
    },
    AuditCheck {
        id: "audit/no-new-privileges",
        cis: Some("2.14"),
        severity: Action::Warn,
        summary: "containers cannot gain new privileges by default",
        fix: "set \"no-new-privileges\": true",
        from_api: false,
        check: no_new_privileges,
    },
    AuditCheck {
        id: "audit/userland-proxy",
        cis: Some("2.16"),
        severity: Action::Warn,
        summary: "the userland proxy is off",
        fix: "set \"userland-proxy\": false",
        from_api: false,
        check: userland_proxy,
    },
    AuditCheck {
        id: "audit/experimental",
        cis: Some("2.18"),
        severity: Action::Warn,
        summary: "experimental features are off",
        fix: "remove \"experimental\": true",
        from_api: true,
        check: experimental,
    },
    AuditCheck {
        id: "audit/service-unit",
        cis: Some("3.1-3.2"),
        severity: Action::Warn,
        summary: "docker.service is owned by root:root, mode 644 or stricter",
        fix: "chown root:root and chmod 644 the unit file",
        from_api: false,
        check: service_unit,
    },
    AuditCheck {
        id: "audit/socket-unit",
        cis: Some("3.3-3.4"),
        severity: Action::Warn,
        summary: "docker.socket is owned by root:root, mode 644 or stricter",
        fix: "chown root:root and chmod 644 the unit file",
        from_api: false,
        check: socket_unit,
    },
    AuditCheck {
        id: "audit/etc-docker",
        cis: Some("3.5-3.6"),
        severity: Action::Warn,
        summary: "/etc/docker is owned by root:root, mode 755 or stricter",
        fix: "chown root:root /etc/docker && chmod 755 /etc/docker",
        from_api: false,
        check: etc_docker,
    },
    AuditCheck {
        id: "audit/data-root",
        cis: None,
        severity: Action::Warn,
        summary: "the data root is owned by root, mode 711 or stricter (CVE-2021-41091)",
        fix: "chown root and chmod 710 the data root (docker info: Docker Root Dir); dockerd 20.10.9 and later create it so",
        from_api: false,
        check: data_root_mode,
    },
    AuditCheck {
        id: "audit/registry-certificates",
        cis: Some("3.7-3.8"),
        severity: Action::Warn,
        summary: "registry certificates under /etc/docker/certs.d are owned by root:root, mode 444 or stricter",
        fix: "chown root:root and chmod 444 /etc/docker/certs.d/*/*.crt",
        from_api: false,
        check: registry_certs,
    },
    AuditCheck {
        id: "audit/tls-ca-file",
        cis: Some("3.9-3.10"),
        severity: Action::Warn,
        summary: "the TLS CA certificate is owned by root:root, mode 444 or stricter",
        fix: "chown root:root and chmod 444 the file",
        from_api: false,
        check: tls_ca,
    },
    AuditCheck {
        id: "audit/tls-cert-file",
        cis: Some("3.11-3.12"),
        severity: Action::Warn,
        summary: "the TLS server certificate is owned by root:root, mode 444 or stricter",
        fix: "chown root:root and chmod 444 the file",
        from_api: false,
        check: tls_cert,
    },
    AuditCheck {
        id: "audit/tls-key-file",
        cis: Some("3.13-3.14"),
        severity: Action::Deny,
        summary: "the TLS server key is owned by root:root, mode 400",
        fix: "chown root:root and chmod 400 the file",
        from_api: false,
        check: tls_key,
    },
    AuditCheck {
        id: "audit/socket-file",
        cis: Some("3.15-3.16"),
        severity: Action::Deny,
        summary: "the daemon's socket is owned by root, mode 660 or stricter",
        fix: "chown root:docker and chmod 660 the socket (its systemd socket unit sets both)",
        from_api: false,
        check: socket_file,
    },
    AuditCheck {
        id: "audit/etc-default-docker",
        cis: Some("3.19-3.20"),
        severity: Action::Warn,
        summary: "/etc/default/docker is owned by root:root, mode 644 or stricter",
        fix: "chown root:root and chmod 644 the file",
        from_api: false,
        check: etc_default,
    },
    AuditCheck {
        id: "audit/etc-sysconfig-docker",
        cis: Some("3.21-3.22"),
        severity: Action::Warn,
        summary: "/etc/sysconfig/docker is owned by root:root, mode 644 or stricter",
        fix: "chown root:root and chmod 644 the file",
        from_api: false,
        check: etc_sysconfig,
    },
    AuditCheck {
        id: "audit/containerd-socket",
        cis: Some("3.23-3.24"),
        severity: Action::Deny,
        summary: "containerd's socket is owned by root:root, mode 660 or stricter",
        fix: "chown root:root and chmod 660 /run/containerd/containerd.sock",
        from_api: false,
        check: containerd_socket,
    },
    AuditCheck {
        id: "audit/config-file",
        cis: Some("3.17-3.18"),
        severity: Action::Warn,
        summary: "daemon.json is owned by root:root, mode 644 or stricter",
        fix: "chown root:root and chmod 644 the file",
        from_api: false,
        check: config_file,
    },
];

/// Runs every check over the host: one finding per problem, at the
/// check's severity, its field the CIS number (or the check's id).
pub fn audit(host: &DaemonHost) -> Verdict {
    let mut findings = Vec::new();
    for check in CHECKS {
        if check.from_api && host.api_error.is_some() {
            continue;
        }
        for message in (check.check)(host) {
            findings.push(Finding {
                rule: check.rule(),
                action: check.severity,
                field: check
                    .cis
                    .map_or_else(|| check.id.to_string(), |cis| format!("CIS {cis}")),
                message,
                exempted: None,
                note: None,
                would_deny: false,
                lookup_failed: false,
                rule_fix: Some(check.fix.to_string()),
            });
        }
    }
    crate::verdict::verdict_of(findings)
}

/// The reference of every check, as docs/audit.md holds it.
pub fn reference_markdown() -> String {
    let mut out =
        String::from("| check | CIS | severity | what it checks | fix |\n|---|---|---|---|---|\n");
    for check in CHECKS {
        let severity = match check.severity {
            Action::Deny => "critical",
            Action::Warn => "warning",
            _ => "info",
        };
        out.push_str(&format!(
            "| `{}` | {} | {severity} | {} | {} |\n",
            check.id,
            check.cis.unwrap_or("-"),
            check.summary,
            check.fix
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use dockgate_model::host::{DaemonProcess, FileStat, HostFile, SwarmNode};

    fn host(args: &[&str], config: Option<&str>) -> DaemonHost {
        DaemonHost {
            address: "unix:///run/docker.sock".into(),
            authorization_plugins: vec!["dockgate".into()],
            running: [("live-restore".to_string(), serde_json::json!(true))].into(),
            userns_remap: true,
            process: Resolution::Known(DaemonProcess {
                pid: 1,
                uid: 0,
                args: args.iter().map(|a| a.to_string()).collect(),
                tcp_listeners: Some(Vec::new()),
                ..DaemonProcess::default()
            }),
            config_file: "/etc/docker/daemon.json".into(),
            config: Resolution::Known(config.map(|c| serde_json::from_str(c).unwrap())),
            gate: dockgate_model::host::GateFacts {
                plugin: "dockgate".into(),
                socket: Some("/run/docker/plugins/dockgate.sock".into()),
                answers: Resolution::Known(true),
                ..Default::default()
            },
            ..DaemonHost::default()
        }
    }

    fn messages(host: &DaemonHost, id: &str) -> Vec<String> {
        audit(host)
            .findings
            .into_iter()
            .filter(|f| f.rule.id() == format!("audit/{id}"))
            .map(|f| f.message)
            .collect()
    }

    #[test]
    fn tcp_sockets_are_read_from_flags_in_every_form_and_the_file() {
        for args in [
            &["-H", "tcp://0.0.0.0:2375"][..],
            &["-Htcp://0.0.0.0:2375"],
            &["--host=tcp://0.0.0.0:2375"],
            // An address without a scheme is TCP; letters run together.
            &["-H", "0.0.0.0:2375"],
            &["-DH", "tcp://0.0.0.0:2375"],
            &["-DHtcp://0.0.0.0:2375"],
            // pflag keeps the last value.
            &[
                "--tlsverify",
                "-H",
                "tcp://0.0.0.0:2375",
                "--tlsverify=false",
            ],
        ] {
            let found = messages(&host(args, None), "tcp-tls-verify");
            assert_eq!(found.len(), 1, "{args:?}");
            assert!(
                found[0].starts_with("the daemon listens on tcp://0.0.0.0:2375 with"),
                "{found:?}"
            );
        }
        assert_eq!(
            messages(&host(&["-H", "tcp://0.0.0.0:2375", "--tlsverify=false"], None), "tcp-tls-verify"),
            ["the daemon listens on tcp://0.0.0.0:2375 with TLS but without client certificate verification (tlsverify is false): anyone who reaches it is root on the host, and to the gate looks like a caller on the Unix socket"]
        );
        // TLS alone verifies client certificates, as --tlsverify=1 does;
        // so does DOCKER_TLS_VERIFY in the daemon's environment.
        for args in [
            &["--host", "tcp://0.0.0.0:2375", "--tls"][..],
            &["-H", "tcp://0.0.0.0:2375", "--tlsverify=1"],
        ] {
            assert!(
                messages(&host(args, None), "tcp-tls-verify").is_empty(),
                "{args:?}"
            );
        }
        // DOCKER_TLS_VERIFY in its environment does not turn TLS on.
        let mut environment = host(&["-H", "tcp://0.0.0.0:2375"], None);
        if let Resolution::Known(process) = &mut environment.process {
            process.environment = vec![("DOCKER_TLS_VERIFY".into(), "1".into())];
        }
        assert_eq!(messages(&environment, "tcp-tls-verify").len(), 1);
        // A flag with a value takes the next word, whatever it is.
        let labelled = host(
            &["-H", "tcp://127.0.0.1:2375", "--label", "--tlsverify=true"],
            None,
        );
        assert_eq!(messages(&labelled, "tcp-tls-verify").len(), 1);
        // Sockets that cannot be read are not taken for none.
        let mut unread = host(&[], None);
        if let Resolution::Known(process) = &mut unread.process {
            process.tcp_listeners = None;
        }
        assert_eq!(
            messages(&unread, "tcp-tls-verify"),
            ["cannot read which TCP sockets the daemon listens on (its descriptors are another user's): one systemd handed it (-H fd://) would go unseen; run the audit as root"]
        );
        // Sockets systemd handed over (-H fd://) are found by listening;
        // the swarm's ports are the swarm's.
        let mut activated = host(&["-H", "fd://"], None);
        if let Resolution::Known(process) = &mut activated.process {
            process.tcp_listeners = Some(vec!["127.0.0.1:2375".into(), "10.0.0.5:7946".into()]);
        }
        activated.swarm = Some(SwarmNode::default());
        assert_eq!(
            messages(&activated, "tcp-tls-verify"),
            ["the daemon listens on tcp://127.0.0.1:2375 without TLS: anyone who reaches it is root on the host, and to the gate looks like a caller on the Unix socket"]
        );
        // Verifying against no CA file of its own: the system's pool.
        let mut system_pool = host(&["-H", "tcp://0.0.0.0:2376", "--tlsverify"], None);
        system_pool.files = vec![HostFile {
            role: "TLS CA certificate".into(),
            path: "/root/.docker/ca.pem".into(),
            stat: None,
        }];
        assert_eq!(
            messages(&system_pool, "tcp-tls-verify"),
            ["the daemon listens on tcp://0.0.0.0:2376 and checks client certificates against the system's CA pool (no tlscacert, and no ca.pem where it looks): a client certificate any public CA issued is let in"]
        );
        // Reached over plain TCP by the audit itself.
        let mut remote = host(&[], None);
        remote.address = "tcp://10.0.0.5:2375".into();
        remote.process = Resolution::Pending;
        assert_eq!(
            messages(&remote, "tcp-tls-verify"),
            ["the audit itself reached the daemon's API at tcp://10.0.0.5:2375 without TLS: anyone who reaches that address is root on the daemon's host"]
        );
        let file = host(
            &[],
            Some(r#"{"hosts": ["unix:///x.sock", "tcp://10.0.0.5:2376"]}"#),
        );
        assert_eq!(messages(&file, "tcp-tls-verify").len(), 1);
        let verified = host(&["--tlsverify", "-H", "tcp://0.0.0.0:2376"], None);
        assert!(messages(&verified, "tcp-tls-verify").is_empty());
        let verified = host(
            &[],
            Some(r#"{"hosts": ["tcp://10.0.0.5:2376"], "tlsverify": true}"#),
        );
        assert!(messages(&verified, "tcp-tls-verify").is_empty());
    }

    #[test]
    fn files_are_judged_by_owner_group_and_mode() {
        let mut h = host(&[], None);
        h.files = vec![
            HostFile {
                role: "docker.sock".into(),
                path: "/run/docker.sock".into(),
                stat: Some(FileStat {
                    uid: 0,
                    gid: 999,
                    mode: 0o666,
                }),
            },
            HostFile {
                role: "daemon.json".into(),
                path: "/etc/docker/daemon.json".into(),
                stat: Some(FileStat {
                    uid: 1000,
                    gid: 0,
                    mode: 0o644,
                }),
            },
        ];
        assert_eq!(
            messages(&h, "socket-file"),
            ["/run/docker.sock (docker.sock): mode 666 (at most 660)"]
        );
        assert_eq!(
            messages(&h, "config-file"),
            ["/etc/docker/daemon.json (daemon.json): owned by uid 1000"]
        );
    }

    #[test]
    fn the_data_root_and_the_docker_group() {
        let mut h = host(&[], None);
        h.data_root = Some(("/var/lib/docker".into(), false));
        h.docker_group = Some(vec!["alice".into()]);
        assert_eq!(
            messages(&h, "data-partition"),
            ["the data root /var/lib/docker is not a partition of its own: containers can fill the host's file system"]
        );
        // Information only, as the benchmark lists them.
        let verdict = audit(&h);
        let group: Vec<_> = verdict
            .findings
            .iter()
            .filter(|f| f.rule.id() == "audit/docker-group")
            .map(|f| (f.action, f.message.as_str()))
            .collect();
        assert_eq!(
            group,
            [(
                Action::Audit,
                "members of the docker group control the daemon, and so the host: alice"
            )]
        );
        h.data_root = Some(("/var/lib/docker".into(), true));
        assert!(messages(&h, "data-partition").is_empty());
    }

    #[test]
    fn what_the_policy_expects_of_builds_and_registries() {
        let config = r#"{"builder": {"Entitlements": {"security-insecure": true}},
                         "insecure-registries": ["registry.local:5000"]}"#;
        let mut h = host(&[], Some(config));
        // The baseline denies BuildKit and does not limit registries.
        h.expected = crate::Policy::default().expected_of_daemon();
        assert!(messages(&h, "builder-entitlements").is_empty());
        assert!(messages(&h, "insecure-allowed-registry").is_empty());
        let policy = crate::Policy::from_toml(
            "[rules.buildkit]\naction = \"off\"\n[rules.image-registry]\naction = \"deny\"\nallow = [\"registry.local:5000\"]\n",
        )
        .unwrap();
        h.expected = policy.expected_of_daemon();
        assert_eq!(messages(&h, "builder-entitlements").len(), 2);
        assert_eq!(
            messages(&h, "insecure-allowed-registry"),
            ["the policy allows images from \"registry.local:5000\", which the daemon reaches as an insecure registry: whoever is on the path can swap its images"]
        );
        let config = r#"{"builder": {"entitlements": {"network-host": false}}}"#;
        let mut h = host(&[], Some(config));
        h.expected = policy.expected_of_daemon();
        assert!(messages(&h, "builder-entitlements").is_empty());
    }

    #[test]
    fn the_gate_and_its_place_in_the_chain() {
        let mut h = host(&[], None);
        h.authorization_plugins = vec!["opa".into(), "dockgate".into()];
        assert_eq!(
            messages(&h, "gate-first"),
            ["authorization plugins before \"dockgate\": opa (each may refuse, and sees every request first)"]
        );
        h.authorization_plugins.clear();
        assert_eq!(
            messages(&h, "gate-installed"),
            ["the daemon asks no authorization plugin: no rule of the policy is enforced (dockgate is expected as \"dockgate\")"]
        );
        // Another plugin where the daemon looks first.
        h.authorization_plugins = vec!["dockgate".into()];
        h.gate.foreign = true;
        assert_eq!(
            messages(&h, "gate-answers"),
            ["another plugin answers on /run/docker/plugins/dockgate.sock, where the daemon finds \"dockgate\" first: the daemon asks it, not dockgate, and no rule of the policy is enforced"]
        );
        // Neither the API nor the process: nothing to say of the plugins.
        let mut unknown = host(&[], None);
        unknown.authorization_plugins.clear();
        unknown.api_error = Some("cannot reach the Docker daemon".into());
        unknown.process = Resolution::Failed("no such socket".into());
        assert!(messages(&unknown, "gate-installed").is_empty());
        assert_eq!(
            messages(&unknown, "daemon-answers"),
            ["the daemon does not answer its API (cannot reach the Docker daemon); nor could its process be read: the daemon itself was not audited"]
        );
        let reference = reference_markdown();
        assert!(reference.contains("| `audit/gate-installed` | 2.12 | critical |"));
    }

    #[test]
    fn debug_mode_is_a_log_level() {
        for args in [&["-D"][..], &["--debug"], &["-Dl", "info"]] {
            assert_eq!(
                messages(&host(args, None), "log-level"),
                ["debug mode (--debug, or \"debug\": true) logs at level debug"],
                "{args:?}"
            );
        }
        assert_eq!(
            messages(
                &host(&["-l", "warn", "--log-level=debug"], None),
                "log-level"
            ),
            ["log level \"debug\""]
        );
        assert_eq!(
            messages(&host(&[], Some(r#"{"debug": true}"#)), "log-level").len(),
            1
        );
    }

    #[test]
    fn a_swarm_manager_is_judged_by_what_only_managers_know() {
        let mut manager = host(&[], None);
        manager.swarm = Some(SwarmNode {
            state: "active".into(),
            manager: true,
            managers: 2,
            autolock: false,
            node_cert_expiry: Some(90 * 24 * 3600),
            secrets: Some(0),
            listen_addr: Some("0.0.0.0:2377".into()),
            data_path_addr: None,
        });
        manager.unencrypted_overlays = vec!["ingress (swarm)".into()];
        let expect = [
            ("swarm-managers", "2 managers: an even number tolerates no more failures than one fewer"),
            ("swarm-listen", "the swarm's control plane listens on 0.0.0.0:2377, every interface of the host"),
            ("overlay-encryption", "overlay network ingress (swarm) is not encrypted"),
            ("swarm-secrets", "no swarm secrets: confirm services take none in their environment or image"),
            ("swarm-autolock", "managers do not lock their keys (auto-lock off): whoever copies a manager's disk holds the swarm's keys and its secrets"),
            ("swarm-node-certs", "node certificates last 2160 hours: a stolen one works that long"),
            ("swarm-ca", "the swarm's root CA is rotated only by hand: confirm it is rotated on a schedule"),
            ("swarm-data-path", "overlay traffic shares the control plane's interface (no --data-path-addr)"),
        ];
        for (id, message) in expect {
            assert_eq!(messages(&manager, id), [message], "{id}");
        }
        assert!(messages(&manager, "swarm-unlock-key").is_empty());

        // Set as the benchmark asks.
        manager.swarm = Some(SwarmNode {
            state: "active".into(),
            manager: true,
            managers: 3,
            autolock: true,
            node_cert_expiry: Some(48 * 3600),
            secrets: Some(2),
            listen_addr: Some("10.0.0.5:2377".into()),
            data_path_addr: Some("10.1.0.5".into()),
        });
        manager.unencrypted_overlays.clear();
        for (id, _) in expect {
            if id != "swarm-ca" {
                assert!(messages(&manager, id).is_empty(), "{id}");
            }
        }
        assert_eq!(
            messages(&manager, "swarm-unlock-key"),
            ["the unlock key is rotated only by hand: confirm it is rotated on a schedule"]
        );

        // A worker knows only its own addresses; a node outside a swarm,
        // nothing to judge.
        let mut worker = host(&[], None);
        worker.swarm = Some(SwarmNode {
            state: "active".into(),
            listen_addr: Some("[::]:2377".into()),
            data_path_addr: Some("10.1.0.6".into()),
            ..SwarmNode::default()
        });
        let found: Vec<String> = audit(&worker)
            .findings
            .into_iter()
            .filter(|f| f.rule.id().starts_with("audit/swarm"))
            .map(|f| format!("{}: {}", f.rule.id(), f.message))
            .collect();
        assert_eq!(found, [
            "audit/swarm: the node is in a swarm (a worker, active): its managers start containers here without this daemon's API; every manager must run the gate with the same policy",
            "audit/swarm-listen: the swarm's control plane listens on [::]:2377, every interface of the host",
        ]);
        let outside = host(&[], None);
        assert!(audit(&outside)
            .findings
            .iter()
            .all(|f| !f.rule.id().starts_with("audit/swarm")));
    }

    #[test]
    fn the_configuration_file_is_compared_as_the_daemon_normalises_it() {
        let mut h = host(
            &[],
            Some(
                r#"{"userns-remap": "default", "registry-mirrors": ["https://mirror.local"], "insecure-registries": ["http://reg.local:5000/", "10.1.0.0/16"],
                    "labels": ["b=2", "a=1"], "debug": true, "data-root": "/srv/docker/", "authorization-plugins": ["dockgate", "other"]}"#,
            ),
        );
        let running = serde_json::json!({
            "registry-mirrors": ["https://mirror.local/"],
            "insecure-registries": ["10.1.0.0/16", "reg.local:5000"],
            "labels": ["a=1", "b=2"],
            "debug": true,
            "data-root": "/srv/docker",
            "authorization-plugins": ["dockgate", "other"],
        });
        h.running = serde_json::from_value(running).unwrap();
        assert!(messages(&h, "config-drift").is_empty());
        // The chain's order counts; a changed flag; a registry the daemon
        // does not treat as insecure.
        h.running.insert(
            "authorization-plugins".into(),
            serde_json::json!(["other", "dockgate"]),
        );
        h.running.insert("debug".into(), serde_json::json!(false));
        h.running.insert(
            "insecure-registries".into(),
            serde_json::json!(["10.1.0.0/16"]),
        );
        assert_eq!(
            messages(&h, "config-drift"),
            [
                r#"authorization-plugins: /etc/docker/daemon.json says ["dockgate","other"], the running daemon has ["other","dockgate"]"#,
                "debug: /etc/docker/daemon.json says true, the running daemon has false",
                r#"insecure-registries: /etc/docker/daemon.json says ["10.1.0.0/16","reg.local:5000"], the running daemon has ["10.1.0.0/16"]"#,
            ]
        );

        // A key taken out of the file (or the file removed): the next
        // start takes the default, unless a flag sets it.
        let mut removed = host(&[], Some(r#"{"debug": false}"#));
        removed.running = serde_json::from_value(serde_json::json!({
            "authorization-plugins": ["dockgate"], "live-restore": true, "debug": false,
        }))
        .unwrap();
        assert_eq!(
            messages(&removed, "config-drift"),
            [
                r#"authorization-plugins: /etc/docker/daemon.json does not set it, nor does a flag, so the next start takes []; the running daemon has ["dockgate"]"#,
                "live-restore: /etc/docker/daemon.json does not set it, nor does a flag, so the next start takes false; the running daemon has true",
                "userns-remap: /etc/docker/daemon.json does not set it, nor does a flag, so the next start does not remap user namespaces; the running daemon remaps them",
            ]
        );
        let mut flagged = removed.clone();
        flagged.process = Resolution::Known(DaemonProcess {
            args: [
                "--authorization-plugin=dockgate",
                "--live-restore",
                "--userns-remap=default",
            ]
            .map(String::from)
            .to_vec(),
            ..DaemonProcess::default()
        });
        assert!(messages(&flagged, "config-drift").is_empty());
        let mut unread = removed;
        unread.config = Resolution::Failed("/etc/docker/daemon.json: Permission denied".into());
        assert!(messages(&unread, "config-drift").is_empty());
        assert_eq!(
            messages(&unread, "config-file-read"),
            ["cannot read the daemon's configuration file (/etc/docker/daemon.json: Permission denied): what it sets (TCP hosts, plugins, TLS) was judged from the command line and the API only"]
        );
    }

    #[test]
    fn the_version_root_and_data_root() {
        let mut h = host(&[], None);
        for (version, lacks) in [
            ("20.10.24+dfsg1", true),
            ("23.0.14", true),
            ("23.0.15", false),
            ("24.0.9", true),
            ("26.1.4", true),
            ("26.1.5+dfsg1", false),
            ("27.1.1", false),
            ("28.0.0", false),
        ] {
            h.version = version.into();
            assert_eq!(
                !messages(&h, "daemon-version").is_empty(),
                lacks,
                "{version}"
            );
        }
        assert_eq!(
            messages(&h, "rootless"),
            ["the daemon runs as root: a container that breaks out is root on the host (rootless mode confines it to one user)"]
        );
        h.files = vec![HostFile {
            role: "data root".into(),
            path: "/var/lib/docker".into(),
            stat: Some(FileStat {
                uid: 0,
                gid: 0,
                mode: 0o755,
            }),
        }];
        assert_eq!(
            messages(&h, "data-root"),
            ["/var/lib/docker (data root): mode 755 (at most 711)"]
        );
        // API facts are not judged while the daemon does not answer.
        h.version = "20.10.24".into();
        h.api_error = Some("GET /info: no answer within 5 s".into());
        assert!(messages(&h, "daemon-version").is_empty());
        assert!(!messages(&h, "rootless").is_empty());
    }
}
