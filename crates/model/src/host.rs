//! What a Docker host is, as the host audit reads it: the daemon that
//! answers on the socket, its command line and configuration file, and
//! the files that guard it. The audit's checks see only this.

use serde::Serialize;

use crate::Resolution;

/// The daemon and its host.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct DaemonHost {
    /// The daemon's address, as dockgate reached it.
    pub address: String,
    /// Why the daemon did not answer its API (`GET /info`), if it did
    /// not; the facts that come from the API are then empty.
    pub api_error: Option<String>,
    /// The host's name (`docker info`'s Name).
    pub name: String,
    /// The daemon's version.
    pub version: String,
    /// The authorization plugins in force, in the order the daemon asks
    /// them (`docker info`: Plugins.Authorization).
    pub authorization_plugins: Vec<String>,
    /// Whether user namespaces are remapped (a `name=userns` security
    /// option).
    pub userns_remap: bool,
    /// The node's part in a swarm; none outside one.
    pub swarm: Option<SwarmNode>,
    /// The overlay networks without encryption (`--opt encrypted`), by
    /// name and scope.
    pub unencrypted_overlays: Vec<String>,
    /// The running daemon's settings the API shows, each under its
    /// daemon.json key (`debug`, `log-driver`, `registry-mirrors`...), as
    /// the daemon reports them: what the configuration file is compared
    /// with, and what the checks of those settings read.
    pub running: std::collections::BTreeMap<String, serde_json::Value>,
    /// The daemon's security options (`name=seccomp,profile=default`...).
    pub security_options: Vec<String>,
    /// The data root (`DockerRootDir`; its parent under userns-remap, as
    /// the benchmark reads it), and whether it is a mount point of its
    /// own; none when it cannot be told.
    pub data_root: Option<(String, bool)>,
    /// The members of the `docker` group, who control the daemon; none
    /// without such a group.
    pub docker_group: Option<Vec<String>>,
    /// Whether the default bridge lets containers talk to each other;
    /// none without a default bridge.
    pub bridge_icc: Option<bool>,
    /// The process that answers on the socket: found by the socket's peer
    /// credentials, never by name.
    pub process: Resolution<DaemonProcess>,
    /// The configuration file the daemon reads (its `--config-file`, or
    /// /etc/docker/daemon.json), and what it holds.
    pub config_file: String,
    /// The file's settings; `Known(None)` when there is no file.
    pub config: Resolution<Option<serde_json::Map<String, serde_json::Value>>>,
    /// The files that guard the daemon, and their owners and modes.
    pub files: Vec<HostFile>,
    /// The gate: the authorization plugin dockgate is known as, and
    /// whether its socket answers.
    pub gate: GateFacts,
    /// What the gate's policy expects of the daemon.
    pub expected: Expected,
}

/// A swarm node, as its daemon and its swarm state file tell.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SwarmNode {
    /// The node's state: `active`, `pending`, `locked`, `error`.
    pub state: String,
    /// Whether it is a manager; the facts below marked "managers" are
    /// known only on one.
    pub manager: bool,
    /// How many managers the swarm has (managers).
    pub managers: u64,
    /// Whether managers lock their keys at rest (auto-lock; managers).
    pub autolock: bool,
    /// How long node certificates last, in seconds (managers).
    pub node_cert_expiry: Option<u64>,
    /// How many swarm secrets exist (managers).
    pub secrets: Option<usize>,
    /// The address the swarm's control plane listens on, from the swarm
    /// state file (`docker swarm init --listen-addr`).
    pub listen_addr: Option<String>,
    /// The address for data (overlay) traffic, when it is not the
    /// control plane's (`--data-path-addr`).
    pub data_path_addr: Option<String>,
}

/// What the gate's policy expects of the daemon's own settings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Expected {
    /// Whether the policy lets BuildKit builds through (its `buildkit`
    /// rule does not deny): their steps then run with whatever the
    /// daemon's builder entitlements allow.
    pub buildkit_allowed: bool,
    /// The registries the policy allows images from, when its
    /// `image-registry` rule is on.
    pub registries: Option<Vec<String>>,
}

/// The daemon's process.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DaemonProcess {
    /// Its PID.
    pub pid: u32,
    /// The user it runs as (0 unless rootless).
    pub uid: u32,
    /// Its command line, arguments after the program.
    pub args: Vec<String>,
    /// The TCP addresses it listens on (`127.0.0.1:2375`, `[::]:2376`),
    /// from its own sockets: whatever its flags say, and sockets systemd
    /// handed it (`-H fd://`) too. None when its sockets cannot be read
    /// (the audit is not root).
    pub tcp_listeners: Option<Vec<String>>,
    /// What of its environment changes how it serves TLS:
    /// `DOCKER_TLS_VERIFY`, `DOCKER_CERT_PATH`, `DOCKER_CONFIG`, `HOME`.
    pub environment: Vec<(String, String)>,
}

/// One file that guards the daemon.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct HostFile {
    /// What it is: `docker.sock`, `daemon.json`, `/etc/docker`...
    pub role: String,
    /// Its path.
    pub path: String,
    /// Its owner, group and permission bits; none when it does not exist.
    pub stat: Option<FileStat>,
}

/// A file's owner and mode.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct FileStat {
    /// Owner's user ID.
    pub uid: u32,
    /// Group ID.
    pub gid: u32,
    /// Permission bits (`0o660`).
    pub mode: u32,
}

/// The gate as the daemon knows it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct GateFacts {
    /// The plugin name dockgate is configured as.
    pub plugin: String,
    /// Its socket, from the plugin's spec file or its socket under
    /// /run/docker/plugins; none when neither exists.
    pub socket: Option<String>,
    /// Whether the socket answers an authorization request.
    pub answers: Resolution<bool>,
    /// Whether what answers is another plugin than dockgate (its answers
    /// lack dockgate's `Server` header): the daemon asks it instead.
    pub foreign: bool,
    /// The spec file that names the gate's address, when it was written
    /// after the daemon started: the daemon keeps asking the address it
    /// found first until it restarts.
    pub changed_after_start: Option<String>,
}

/// dockerd's one-letter flags: the long flag each stands for, and whether
/// it takes a value. pflag reads them alone (`-H x`, `-Hx`, `-H=x`) and
/// letters of flags without a value run together, the last one taking the
/// rest or the next argument (`-DH tcp://...` is `--debug --host tcp://...`).
const SHORTHANDS: &[(char, &str, bool)] = &[
    ('H', "--host", true),
    ('l', "--log-level", true),
    ('p', "--pidfile", true),
    ('g', "--graph", true),
    ('s', "--storage-driver", true),
    ('G', "--group", true),
    ('b', "--bridge", true),
    ('D', "--debug", false),
    ('r', "--restart", false),
    ('v', "--version", false),
    ('h', "--help", false),
];

/// dockerd's flags that take no value (20.10 to 26.1, cmd/dockerd and
/// daemon/config): `--name` alone is true, a value only follows `=`. Every
/// other flag takes the next word as its value, whatever it starts with.
const BOOL_FLAGS: &[&str] = &[
    "cri-containerd",
    "debug",
    "experimental",
    "help",
    "icc",
    "init",
    "ip-forward",
    "ip-masq",
    "ip6tables",
    "iptables",
    "ipv6",
    "live-restore",
    "no-new-privileges",
    "raw-logs",
    "restart",
    "rootless",
    "selinux-enabled",
    "tls",
    "tlsverify",
    "userland-proxy",
    "validate",
    "version",
];

/// A Go boolean as `strconv.ParseBool` reads it (pflag's bool flags and
/// the JSON file's `true`).
pub fn go_bool(value: &str) -> Option<bool> {
    match value {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

impl DaemonProcess {
    /// A variable of its environment (of those kept).
    pub fn env(&self, name: &str) -> Option<&str> {
        self.environment
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The command line as pflag reads it: each flag by its long name
    /// (`--host`), with its value; a flag without a value given alone is
    /// `true`, and a flag with one takes the next word, even one that
    /// starts with `-` (`--label --tlsverify` is a label).
    pub fn flags(&self) -> Vec<(String, String)> {
        let mut flags = Vec::new();
        let mut args = self.args.iter();
        let next_value =
            |args: &mut std::slice::Iter<'_, String>| args.next().cloned().unwrap_or_default();
        while let Some(arg) = args.next() {
            if let Some(long) = arg.strip_prefix("--") {
                match long.split_once('=') {
                    Some((name, value)) => flags.push((format!("--{name}"), value.to_string())),
                    None if BOOL_FLAGS.contains(&long) => flags.push((arg.clone(), "true".into())),
                    None => {
                        let value = next_value(&mut args);
                        flags.push((arg.clone(), value));
                    }
                }
                continue;
            }
            let Some(letters) = arg.strip_prefix('-') else {
                continue;
            };
            let mut rest = letters;
            while let Some(letter) = rest.chars().next() {
                rest = &rest[letter.len_utf8()..];
                let Some((_, long, takes_value)) =
                    SHORTHANDS.iter().find(|(short, _, _)| *short == letter)
                else {
                    break;
                };
                if !takes_value {
                    // `-D=false` ends the letters; `-Dl debug` goes on.
                    if let Some(value) = rest.strip_prefix('=') {
                        flags.push((long.to_string(), value.to_string()));
                        break;
                    }
                    flags.push((long.to_string(), "true".to_string()));
                    continue;
                }
                let value = match rest {
                    "" => next_value(&mut args),
                    inline => inline.strip_prefix('=').unwrap_or(inline).to_string(),
                };
                flags.push((long.to_string(), value));
                break;
            }
        }
        flags
    }
}

impl DaemonHost {
    /// Whether the running daemon reports `value` for a setting (by its
    /// daemon.json key, [`DaemonHost::running`]).
    pub fn runs_with(&self, key: &str, value: impl Into<serde_json::Value>) -> bool {
        self.running.get(key) == Some(&value.into())
    }

    /// Whether the daemon takes `value` for a setting: its effective value
    /// ([`DaemonHost::effective`]), booleans read as Go reads them.
    pub fn setting_is(&self, key: &str, flags: &[&str], value: &str) -> bool {
        let Some(effective) = self.effective(key, flags) else {
            return false;
        };
        match (go_bool(value), go_bool(&effective)) {
            (Some(wanted), Some(set)) => wanted == set,
            _ => effective == value,
        }
    }

    /// The value a setting takes: the last one given on the command line
    /// (pflag keeps the last), else the configuration file's.
    pub fn effective(&self, key: &str, flags: &[&str]) -> Option<String> {
        self.command_line(flags)
            .pop()
            .or_else(|| self.config_value(key).map(plain))
    }

    /// Whether a setting is given at all, on the command line or in the
    /// configuration file.
    pub fn is_set(&self, key: &str, flags: &[&str]) -> bool {
        !self.command_line(flags).is_empty() || self.config_value(key).is_some()
    }

    /// A key of the configuration file. Matched exactly: the daemon
    /// refuses to start with a top-level key that is not one of its flags'
    /// names ("the following directives don't match any configuration
    /// option", moby daemon/config findConfigurationConflicts).
    pub fn config_value(&self, key: &str) -> Option<&serde_json::Value> {
        match &self.config {
            Resolution::Known(Some(config)) => config.get(key),
            _ => None,
        }
    }

    /// The command line's values of the flags named (long names; a
    /// one-letter flag is read as its long name), in order.
    fn command_line(&self, flags: &[&str]) -> Vec<String> {
        match &self.process {
            Resolution::Known(process) => process
                .flags()
                .into_iter()
                .filter(|(name, _)| flags.contains(&name.as_str()))
                .map(|(_, value)| value)
                .collect(),
            _ => Vec::new(),
        }
    }

    /// Every value the daemon takes for a list setting: its command-line
    /// flags' and its configuration file's key, flags first.
    pub fn setting(&self, key: &str, flags: &[&str]) -> Vec<String> {
        let mut values = self.command_line(flags);
        match self.config_value(key) {
            Some(serde_json::Value::Array(items)) => values.extend(items.iter().map(plain)),
            Some(serde_json::Value::Null) | None => {}
            Some(value) => values.push(plain(value)),
        }
        values
    }
}

/// A configuration value as text: strings bare, the rest as JSON.
fn plain(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}
