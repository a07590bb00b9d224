//! The facts of the host audit: what the daemon that answers says of
//! itself, which process it is (by the socket's peer credentials, so the
//! daemon audited is the one answering, not the first `dockerd` found),
//! its command line, configuration file, and the files that guard it.

use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use dockgate_model::host::{DaemonHost, DaemonProcess, FileStat, GateFacts, HostFile, SwarmNode};
use dockgate_model::Resolution;
use serde_json::Value;

use crate::engine::EngineError;
use crate::lookup::DockerLookup;

/// Where systemd keeps Docker's units, most specific first.
const UNIT_DIRS: &[&str] = &[
    "/etc/systemd/system",
    "/lib/systemd/system",
    "/usr/lib/systemd/system",
];

/// Everything the host audit judges of the daemon at `url` (asked with
/// `marker`, the gate's secret for dockgate's own reads), for a gate
/// known to the daemon as `plugin`. A daemon that does not answer its
/// API (its authorization plugin gone, say) is still audited from its
/// process, files and the gate's socket.
pub async fn daemon_host(
    url: &str,
    marker: Option<&str>,
    plugin: &str,
) -> Result<DaemonHost, EngineError> {
    let mut lookup = DockerLookup::connect(url).map_err(|_| EngineError::Url(url.to_string()))?;
    if let Some(marker) = marker {
        lookup = lookup.with_marker(marker);
    }
    let mut host = DaemonHost {
        address: url.to_string(),
        ..DaemonHost::default()
    };
    let socket = url.strip_prefix("unix://").map(str::to_string);
    host.process = match &socket {
        Some(socket) => match daemon_process(socket) {
            Ok(process) => Resolution::Known(process),
            Err(why) => Resolution::Failed(why),
        },
        None => Resolution::Pending,
    };
    let config_file = host
        .effective("", &["--config-file"])
        .unwrap_or_else(|| "/etc/docker/daemon.json".to_string());
    // A daemon reached over TCP may be another host's: none of this
    // host's files are its own.
    host.config = match &socket {
        Some(_) => read_config(&daemon_path(&host, &config_file)),
        None => Resolution::Pending,
    };
    host.config_file = config_file.clone();
    let info = raw_json(&lookup, "/info").await;
    match &info {
        Ok(info) => read_info(&mut host, info),
        Err(why) => {
            host.api_error = Some(why.clone());
            // What the daemon was started with, at least.
            host.authorization_plugins =
                host.setting("authorization-plugins", &["--authorization-plugin"]);
        }
    }
    let Some(socket) = socket else {
        // Reached over TCP: its files and plugins are on its own host.
        host.gate = GateFacts {
            plugin: plugin.to_string(),
            answers: Resolution::Pending,
            ..GateFacts::default()
        };
        return Ok(host);
    };
    let root = info
        .as_ref()
        .ok()
        .and_then(|i| i.get("DockerRootDir"))
        .and_then(Value::as_str);
    let mut data_root = None;
    if let Some(root) = root {
        if let Some(swarm) = &mut host.swarm {
            read_swarm_state(swarm, Path::new(root));
        }
        let root = if host.userns_remap {
            Path::new(root)
                .parent()
                .map_or(root.to_string(), |p| p.display().to_string())
        } else {
            root.to_string()
        };
        host.running
            .insert("data-root".into(), Value::String(root.clone()));
        host.data_root = is_mount_point(Path::new(&root)).map(|own| (root.clone(), own));
        data_root = Some(root);
    }
    host.docker_group = docker_group();
    if host.api_error.is_none() {
        if let Ok(Value::Array(networks)) = raw_json(&lookup, "/networks").await {
            host.unencrypted_overlays = networks
                .iter()
                .filter(|n| n.get("Driver").and_then(Value::as_str) == Some("overlay"))
                .filter(|n| n.pointer("/Options/encrypted").is_none())
                .map(|n| {
                    let text = |key| n.get(key).and_then(Value::as_str).unwrap_or_default();
                    format!("{} ({})", text("Name"), text("Scope"))
                })
                .collect();
        }
        if let Some(swarm) = host.swarm.as_mut().filter(|s| s.manager) {
            swarm.secrets = match raw_json(&lookup, "/secrets").await {
                Ok(Value::Array(secrets)) => Some(secrets.len()),
                _ => None,
            };
        }
        host.bridge_icc = raw_json(&lookup, "/networks/bridge")
            .await
            .ok()
            .map(|bridge| {
                bridge
                    .pointer("/Options/com.docker.network.bridge.enable_icc")
                    .and_then(Value::as_str)
                    != Some("false")
            });
    }
    let mut files: Vec<(String, String)> = vec![("docker.sock".into(), socket)];
    files.push(("/etc/docker".into(), "/etc/docker".into()));
    if let Some(root) = data_root {
        files.push(("data root".into(), root));
    }
    files.push(("daemon.json".into(), config_file));
    for unit in ["docker.service", "docker.socket"] {
        if let Some(path) = UNIT_DIRS
            .iter()
            .map(|dir| format!("{dir}/{unit}"))
            .find(|path| Path::new(path).exists())
        {
            files.push((unit.into(), path));
        }
    }
    files.push(("/etc/default/docker".into(), "/etc/default/docker".into()));
    files.push((
        "/etc/sysconfig/docker".into(),
        "/etc/sysconfig/docker".into(),
    ));
    files.push((
        "containerd.sock".into(),
        "/run/containerd/containerd.sock".into(),
    ));
    // Registry certificates: /etc/docker/certs.d/<registry>/*.crt.
    if let Ok(registries) = std::fs::read_dir("/etc/docker/certs.d") {
        for registry in registries.flatten() {
            for cert in std::fs::read_dir(registry.path())
                .into_iter()
                .flatten()
                .flatten()
            {
                let path = cert.path();
                if path.extension().is_some_and(|e| e == "crt") {
                    files.push(("registry certificate".into(), path.display().to_string()));
                }
            }
        }
    }
    for (role, key) in [
        ("TLS CA certificate", "tlscacert"),
        ("TLS server certificate", "tlscert"),
        ("TLS server key", "tlskey"),
    ] {
        // Without a tlscacert, dockerd looks for ca.pem in its certificate
        // directory, and verifies against the system's pool when there
        // is none there.
        let path = host
            .effective(key, &[&format!("--{key}")])
            .or_else(|| (key == "tlscacert").then(|| default_ca(&host)).flatten());
        if let Some(path) = path {
            let path = daemon_path(&host, &path).display().to_string();
            files.push((role.into(), path));
        }
    }
    host.files = files
        .into_iter()
        .map(|(role, path)| {
            let stat = std::fs::metadata(&path).ok().map(|m| FileStat {
                uid: m.uid(),
                gid: m.gid(),
                mode: m.mode() & 0o7777,
            });
            HostFile { role, path, stat }
        })
        .collect();
    host.gate = match managed_plugin(&lookup, plugin).await {
        // A managed plugin comes first: the daemon's plugin store finds it
        // before looking for sockets and spec files.
        Some(socket) => GateFacts {
            plugin: plugin.to_string(),
            ..gate_at(Some(format!("unix://{socket}"))).await
        },
        None => gate_facts(plugin, &host.process).await,
    };
    Ok(host)
}

/// The swarm's own state file (`<data root>/swarm/docker-state.json`,
/// written by `docker swarm init` and `join`): the only place the
/// control plane's listen address and the data path address are kept.
fn read_swarm_state(swarm: &mut SwarmNode, root: &Path) {
    let candidates = [Some(root), root.parent()];
    let Some(state) = candidates
        .into_iter()
        .flatten()
        .find_map(|dir| std::fs::read(dir.join("swarm/docker-state.json")).ok())
        .and_then(|bytes| serde_json::from_slice::<Value>(&bytes).ok())
    else {
        return;
    };
    let text = |key: &str| {
        state
            .get(key)
            .and_then(Value::as_str)
            .filter(|v| !v.is_empty())
            .map(str::to_string)
    };
    swarm.listen_addr = text("ListenAddr");
    swarm.data_path_addr = text("DataPathAddr");
}

/// Whether a directory is a file system of its own: on another device
/// than its parent. (Not whether it is a mount point: dockerd bind-mounts
/// its data root onto itself where `/` is not a shared mount.)
fn is_mount_point(path: &Path) -> Option<bool> {
    let own = std::fs::metadata(path).ok()?;
    let parent = std::fs::metadata(path.parent()?).ok()?;
    Some(own.dev() != parent.dev())
}

/// The CA file dockerd uses when no tlscacert is given: `ca.pem` in
/// `$DOCKER_CERT_PATH`, else the client configuration directory
/// (`$DOCKER_CONFIG`, else `~/.docker`), as cmd/dockerd/options.go builds it.
fn default_ca(host: &DaemonHost) -> Option<String> {
    let Resolution::Known(process) = &host.process else {
        return None;
    };
    let non_empty = |name| process.env(name).filter(|v| !v.is_empty());
    let dir = non_empty("DOCKER_CERT_PATH")
        .map(str::to_string)
        .or_else(|| non_empty("DOCKER_CONFIG").map(str::to_string))
        .unwrap_or_else(|| format!("{}/.docker", non_empty("HOME").unwrap_or("/root")));
    Some(format!("{dir}/ca.pem"))
}

/// A path as the daemon opens it: relative to its working directory, in
/// its mount namespace (through /proc/PID/root, when this process may look
/// there; a daemon in a container sees its own files).
fn daemon_path(host: &DaemonHost, path: &str) -> std::path::PathBuf {
    let Resolution::Known(process) = &host.process else {
        return path.into();
    };
    let absolute = if path.starts_with('/') {
        path.to_string()
    } else {
        match std::fs::read_link(format!("/proc/{}/cwd", process.pid)) {
            Ok(cwd) => format!("{}/{path}", cwd.display()),
            Err(_) => return path.into(),
        }
    };
    let root = format!("/proc/{}/root", process.pid);
    match std::fs::read_link(&root) {
        Ok(target) if target != Path::new("/") => format!("{root}{absolute}").into(),
        _ => absolute.into(),
    }
}

/// The members of the `docker` group in /etc/group.
fn docker_group() -> Option<Vec<String>> {
    let groups = std::fs::read_to_string("/etc/group").ok()?;
    groups.lines().find_map(|line| {
        let mut fields = line.split(':');
        (fields.next() == Some("docker")).then(|| {
            fields
                .nth(2)
                .unwrap_or_default()
                .split(',')
                .filter(|m| !m.is_empty())
                .map(str::to_string)
                .collect()
        })
    })
}

/// What `GET /info` says.
fn read_info(host: &mut DaemonHost, info: &Value) {
    let text = |key: &str| {
        info.get(key)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    host.name = text("Name");
    host.version = text("ServerVersion");
    host.authorization_plugins = strings(info.pointer("/Plugins/Authorization"));
    host.security_options = strings(info.get("SecurityOptions"));
    host.userns_remap = host
        .security_options
        .iter()
        .any(|o| o.split(',').any(|part| part == "name=userns"));
    let state = info
        .pointer("/Swarm/LocalNodeState")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if !matches!(state, "" | "inactive") {
        let spec = info.pointer("/Swarm/Cluster/Spec");
        host.swarm = Some(SwarmNode {
            state: state.to_string(),
            manager: info
                .pointer("/Swarm/ControlAvailable")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            managers: info
                .pointer("/Swarm/Managers")
                .and_then(Value::as_u64)
                .unwrap_or(0),
            autolock: spec
                .and_then(|s| s.pointer("/EncryptionConfig/AutoLockManagers"))
                .and_then(Value::as_bool)
                .unwrap_or(false),
            // Nanoseconds in the API.
            node_cert_expiry: spec
                .and_then(|s| s.pointer("/CAConfig/NodeCertExpiry"))
                .and_then(Value::as_u64)
                .map(|ns| ns / 1_000_000_000),
            ..SwarmNode::default()
        });
    }
    host.running = running_settings(info);
}

/// The settings `GET /info` shows, under their daemon.json keys, so that
/// the configuration file can be compared with the running daemon.
fn running_settings(info: &Value) -> BTreeMap<String, Value> {
    let mut running = BTreeMap::new();
    for (key, pointer) in [
        ("authorization-plugins", "/Plugins/Authorization"),
        ("live-restore", "/LiveRestoreEnabled"),
        ("debug", "/Debug"),
        ("log-driver", "/LoggingDriver"),
        ("storage-driver", "/Driver"),
        ("experimental", "/ExperimentalBuild"),
        ("default-runtime", "/DefaultRuntime"),
        ("labels", "/Labels"),
        ("registry-mirrors", "/RegistryConfig/Mirrors"),
    ] {
        if let Some(value) = info.pointer(pointer) {
            running.insert(key.to_string(), value.clone());
        }
    }
    // Insecure registries: the CIDRs and the registries the daemon
    // reaches without TLS, less the loopback range it always adds.
    if let Some(registry) = info.get("RegistryConfig") {
        let mut insecure: Vec<Value> = strings(registry.get("InsecureRegistryCIDRs"))
            .into_iter()
            .filter(|cidr| cidr != "127.0.0.0/8" && cidr != "::1/128")
            .map(Value::String)
            .collect();
        if let Some(Value::Object(indexes)) = registry.get("IndexConfigs") {
            insecure.extend(
                indexes
                    .iter()
                    .filter(|(_, index)| index.get("Secure") == Some(&Value::Bool(false)))
                    .map(|(name, _)| Value::String(name.clone())),
            );
        }
        running.insert("insecure-registries".to_string(), Value::Array(insecure));
    }
    running
}

/// A document of the daemon's API, as JSON, within 5 s: a daemon whose
/// authorization plugin is gone makes every request wait on it.
async fn raw_json(lookup: &DockerLookup, path: &str) -> Result<Value, String> {
    let asked = tokio::time::timeout(std::time::Duration::from_secs(5), lookup.raw_get(path));
    let (status, body) = match asked.await {
        Ok(Ok(answer)) => answer,
        Ok(Err(err)) => return Err(err.0),
        Err(_) => return Err(format!("GET {path}: no answer within 5 s")),
    };
    if status != 200 {
        let message = serde_json::from_slice::<Value>(&body)
            .ok()
            .and_then(|v| v.get("message").and_then(Value::as_str).map(str::to_string))
            .unwrap_or_default();
        return Err(format!("GET {path}: status {status} {message}")
            .trim()
            .to_string());
    }
    serde_json::from_slice(&body).map_err(|e| format!("GET {path}: {e}"))
}

fn strings(value: Option<&Value>) -> Vec<String> {
    value
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(|i| i.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// The process at the other end of the daemon's socket, and its command
/// line.
fn daemon_process(socket: &str) -> Result<DaemonProcess, String> {
    use std::os::unix::io::AsRawFd;
    let stream = std::os::unix::net::UnixStream::connect(socket)
        .map_err(|e| format!("cannot connect to {socket}: {e}"))?;
    let mut credentials = libc::ucred {
        pid: 0,
        uid: 0,
        gid: 0,
    };
    let mut length = std::mem::size_of::<libc::ucred>() as libc::socklen_t;
    // SAFETY: the buffer is a ucred of the length given, for the socket
    // this function owns.
    let read = unsafe {
        libc::getsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_PEERCRED,
            (&mut credentials as *mut libc::ucred).cast(),
            &mut length,
        )
    };
    if read != 0 || credentials.pid <= 0 {
        return Err(format!(
            "no peer credentials on {socket}: {}",
            std::io::Error::last_os_error()
        ));
    }
    let pid = credentials.pid as u32;
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline"))
        .map_err(|e| format!("cannot read the command line of process {pid}: {e}"))?;
    let args = cmdline
        .split(|b| *b == 0)
        .filter(|a| !a.is_empty())
        .skip(1)
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect();
    let environment = std::fs::read(format!("/proc/{pid}/environ"))
        .unwrap_or_default()
        .split(|b| *b == 0)
        .filter_map(|entry| {
            let entry = String::from_utf8_lossy(entry);
            let (name, value) = entry.split_once('=')?;
            [
                "DOCKER_TLS_VERIFY",
                "DOCKER_CERT_PATH",
                "DOCKER_CONFIG",
                "HOME",
            ]
            .contains(&name)
            .then(|| (name.to_string(), value.to_string()))
        })
        .collect();
    Ok(DaemonProcess {
        pid,
        uid: credentials.uid,
        args,
        tcp_listeners: crate::host_net::tcp_listeners(pid).ok(),
        environment,
    })
}

/// The daemon's configuration file: its settings, none when it does not
/// exist.
fn read_config(path: &Path) -> Resolution<Option<serde_json::Map<String, Value>>> {
    match std::fs::read(path) {
        // A byte order mark is read past, as dockerd 23 and later read it.
        Ok(bytes) => match serde_json::from_slice::<Value>(
            bytes.strip_prefix("\u{feff}".as_bytes()).unwrap_or(&bytes),
        ) {
            Ok(Value::Object(map)) => Resolution::Known(Some(map)),
            Ok(_) => Resolution::Failed(format!("{} is not a JSON object", path.display())),
            Err(e) => Resolution::Failed(format!("{}: {e}", path.display())),
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Resolution::Known(None),
        Err(e) => Resolution::Failed(format!("{}: {e}", path.display())),
    }
}

/// Where the gate listens, by the daemon's own plugin discovery (a spec
/// file under /etc/docker/plugins, or a socket under /run/docker/plugins),
/// and whether it answers an authorization request.
async fn gate_facts(plugin: &str, process: &Resolution<DaemonProcess>) -> GateFacts {
    let mut file = None;
    let address = plugin_address(plugin, &mut file);
    // The daemon keeps the address it found first until it restarts: a
    // spec file written since it started may not be what it asks.
    let changed_after_start = match (file, process) {
        (Some(file), Resolution::Known(process)) => {
            let written = std::fs::metadata(&file).and_then(|m| m.modified()).ok();
            match (written, started_at(process.pid)) {
                (Some(written), Some(started)) if written > started => Some(file),
                _ => None,
            }
        }
        _ => None,
    };
    GateFacts {
        plugin: plugin.to_string(),
        changed_after_start,
        ..gate_at(address).await
    }
}

/// When process `pid` started: its start (in clock ticks after boot,
/// /proc/PID/stat) after the boot time (/proc/stat btime).
fn started_at(pid: u32) -> Option<std::time::SystemTime> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces: fields count from its closing ')'.
    let ticks: u64 = stat
        .rsplit_once(')')?
        .1
        .split_whitespace()
        .nth(19)?
        .parse()
        .ok()?;
    let boot: u64 = std::fs::read_to_string("/proc/stat")
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix("btime "))?
        .trim()
        .parse()
        .ok()?;
    // SAFETY: sysconf reads a constant of the system.
    let per_second = u64::try_from(unsafe { libc::sysconf(libc::_SC_CLK_TCK) })
        .ok()?
        .max(1);
    let millis = boot * 1000 + ticks * 1000 / per_second;
    Some(std::time::UNIX_EPOCH + std::time::Duration::from_millis(millis))
}

/// The socket of the enabled managed plugin (`docker plugin`) called
/// `name` (or `name:latest`) that implements authorization, as the daemon
/// lays it out: /run/docker/plugins/ID/SOCKET.
async fn managed_plugin(lookup: &DockerLookup, name: &str) -> Option<String> {
    let Ok(Value::Array(plugins)) = raw_json(lookup, "/plugins").await else {
        return None;
    };
    let base = name.trim_end_matches(":latest");
    plugins.iter().find_map(|p| {
        let named = p.get("Name")?.as_str()?.trim_end_matches(":latest") == base;
        let enabled = p.get("Enabled")?.as_bool()?;
        let authz = p
            .pointer("/Config/Interface/Types")?
            .as_array()?
            .iter()
            .any(|t| t.as_str() == Some("docker.authz/1.0"));
        let socket = p.pointer("/Config/Interface/Socket")?.as_str()?;
        let id = p.get("Id")?.as_str()?;
        (named && enabled && authz).then(|| format!("/run/docker/plugins/{id}/{socket}"))
    })
}

/// Where the daemon finds plugin `name`, in the order it looks (moby
/// pkg/plugins/discovery.go): a socket `/run/docker/plugins/NAME.sock` or
/// `NAME/NAME.sock`, then in /etc/docker/plugins and /usr/lib/docker/plugins
/// a `.spec` file (an address) or a `.json` file (`{"Addr": ...}`), each
/// as `NAME.ext` or `NAME/NAME.ext`. None when nothing is found; the
/// address as written otherwise (`unix:///...`, `tcp://...`).
fn plugin_address(name: &str, file: &mut Option<String>) -> Option<String> {
    let forms = |dir: &str, ext: &str| {
        [
            format!("{dir}/{name}{ext}"),
            format!("{dir}/{name}/{name}{ext}"),
        ]
    };
    for path in forms("/run/docker/plugins", ".sock") {
        if std::fs::metadata(&path)
            .is_ok_and(|m| std::os::unix::fs::FileTypeExt::is_socket(&m.file_type()))
        {
            return Some(format!("unix://{path}"));
        }
    }
    for dir in ["/etc/docker/plugins", "/usr/lib/docker/plugins"] {
        for ext in [".spec", ".json"] {
            for path in forms(dir, ext) {
                let Ok(text) = std::fs::read_to_string(&path) else {
                    continue;
                };
                *file = Some(path);
                return Some(if ext == ".json" {
                    serde_json::from_str::<Value>(&text)
                        .ok()
                        .and_then(|v| v.get("Addr").and_then(Value::as_str).map(str::to_string))
                        .unwrap_or_default()
                } else {
                    text.trim().to_string()
                });
            }
        }
    }
    None
}

/// The gate's facts at a plugin address.
async fn gate_at(address: Option<String>) -> GateFacts {
    let socket = match address {
        Some(address) => match address.strip_prefix("unix://") {
            Some(path) => Some(path.to_string()),
            None => {
                return GateFacts {
                    socket: Some(address.clone()),
                    answers: Resolution::Failed(format!(
                        "{address:?} is not a Unix socket: the audit asks only those"
                    )),
                    ..GateFacts::default()
                }
            }
        },
        None => None,
    };
    let (answers, foreign) = match &socket {
        Some(socket) => match ask_gate(socket).await {
            Ok(dockgate) => (Resolution::Known(true), !dockgate),
            Err(why) => (Resolution::Failed(why), false),
        },
        None => (Resolution::Known(false), false),
    };
    GateFacts {
        socket,
        answers,
        foreign,
        ..GateFacts::default()
    }
}

/// Asks the gate about a ping, as the daemon would: whether the answer is
/// dockgate's (its `Server` header), or why there is none.
async fn ask_gate(socket: &str) -> Result<bool, String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let body = r#"{"RequestMethod":"GET","RequestUri":"/_ping"}"#;
    let request = format!(
        "POST /AuthZPlugin.AuthZReq HTTP/1.0\r\nHost: plugin\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let exchange = async {
        let mut stream = tokio::net::UnixStream::connect(socket).await?;
        stream.write_all(request.as_bytes()).await?;
        let mut response = Vec::new();
        stream.read_to_end(&mut response).await?;
        std::io::Result::Ok(response)
    };
    let response = tokio::time::timeout(std::time::Duration::from_secs(5), exchange)
        .await
        .map_err(|_| "no answer within 5 s".to_string())?
        .map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&response);
    let head = text.split("\r\n\r\n").next().unwrap_or_default();
    let dockgate = head
        .lines()
        .any(|l| l.to_ascii_lowercase().starts_with("server: dockgate/"));
    if !(text.starts_with("HTTP/1.1 200") || text.starts_with("HTTP/1.0 200")) {
        Err(format!(
            "answered {:?}",
            text.lines().next().unwrap_or_default()
        ))
    } else {
        Ok(dockgate)
    }
}
