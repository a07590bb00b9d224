//! The policy: a built-in profile, tightened or relaxed by a TOML file.
//!
//! ```toml
//! profile = "baseline"        # or "restricted"
//! mode = "enforce"            # "warn" or "audit" while rolling out
//!
//! [rules.host-mount]
//! action = "deny"
//! allow_read_only = ["/etc/ssl/certs"]
//!
//! [[exemptions]]
//! rules = ["docker-socket"]
//! images = ["docker.io/portainer/agent@sha256:..."]
//! reason = "Portainer's agent manages this host"
//! ```
//!
//! A parameter given in the file replaces the profile's value; it is not
//! merged with it. `dockgate policy show` prints the result.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::catalog::RuleId;

/// What happens when a rule finds something.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// The rule is not evaluated.
    Off,
    /// The finding is recorded in the audit log only.
    Audit,
    /// The request is allowed and the finding logged as a warning.
    Warn,
    /// The request is denied.
    Deny,
}

impl Action {
    /// The lowercase name used in files and logs.
    pub fn name(self) -> &'static str {
        match self {
            Action::Off => "off",
            Action::Audit => "audit",
            Action::Warn => "warn",
            Action::Deny => "deny",
        }
    }
}

/// A built-in starting point.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Profile {
    /// Denies what takes over the host; warns about hygiene.
    #[default]
    Baseline,
    /// Baseline plus hardening: non-root, read-only, limits, pinned images.
    Restricted,
}

/// How the whole policy acts, for rolling it out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Actions apply as configured.
    #[default]
    Enforce,
    /// Every deny becomes a warning (requests dockgate could not judge are still denied).
    Warn,
    /// Every deny and warning is only recorded.
    Audit,
}

/// A set of rules lifted for matching requests.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Exemption {
    /// The rules it lifts.
    pub rules: Vec<RuleId>,
    /// Image references it applies to (`*` at the end matches any suffix).
    /// A tag only matches an image whose content came from that repository
    /// (it has a matching registry digest); a digest always matches exactly.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub images: Vec<String>,
    /// Users authenticated by the daemon's TLS client certificates.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub users: Vec<String>,
    /// Why the exemption exists; recorded with every use.
    #[serde(default)]
    pub reason: String,
}

/// Rule parameters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct Params {
    /// host-mount: prefixes allowed read-write.
    pub mount_allow: Vec<String>,
    /// host-mount: prefixes allowed read-only.
    pub mount_allow_read_only: Vec<String>,
    /// host-mount: trusted volume plugins.
    pub allowed_volume_drivers: Vec<String>,
    /// docker-socket: protected socket paths.
    pub sockets: Vec<String>,
    /// host-namespace: allowed kinds.
    pub namespace_allow: Vec<String>,
    /// capabilities: allowed beyond the default set.
    pub capability_allow: Vec<String>,
    /// capabilities: must drop ALL.
    pub require_drop_all: bool,
    /// devices: allowed host devices.
    pub device_allow: Vec<String>,
    /// sysctls: allowed beyond the safe list.
    pub sysctl_allow: Vec<String>,
    /// runtime: allowed runtimes.
    pub runtime_allow: Vec<String>,
    /// runtime-annotations: allowed keys, or prefixes ending in '.'.
    pub annotation_allow: Vec<String>,
    /// cgroup-parent: allowed prefixes.
    pub cgroup_parent_allow: Vec<String>,
    /// network-driver: allowed drivers.
    pub network_driver_allow: Vec<String>,
    /// security-profile: allowed AppArmor profiles.
    pub apparmor_profiles: Vec<String>,
    /// image-registry: allowed registries.
    pub registry_allow: Vec<String>,
    /// env-secrets: name fragments.
    pub secret_names: Vec<String>,
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

/// Variable-name fragments that mark a secret.
pub const DEFAULT_SECRET_NAMES: &[&str] = &[
    "PASSWORD",
    "PASSWD",
    "_PASS",
    "_PWD",
    "SECRET",
    "TOKEN",
    "API_KEY",
    "APIKEY",
    "PRIVATE_KEY",
    "ACCESS_KEY",
    "CREDENTIAL",
];

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

impl Params {
    fn for_profile(profile: Profile) -> Params {
        Params {
            sockets: strings(DEFAULT_SOCKETS),
            runtime_allow: strings(&["runc", "io.containerd.runc.v2"]),
            registry_allow: strings(&["docker.io"]),
            network_driver_allow: strings(&["bridge", "overlay"]),
            apparmor_profiles: strings(&["docker-default"]),
            secret_names: strings(DEFAULT_SECRET_NAMES),
            require_drop_all: profile == Profile::Restricted,
            ..Params::default()
        }
    }
}

/// The policy in force: a profile with the file's changes applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// The profile it starts from.
    pub profile: Profile,
    /// The rollout mode.
    pub mode: Mode,
    /// Every rule's action.
    pub actions: BTreeMap<RuleId, Action>,
    /// Rule parameters.
    pub params: Params,
    /// Exemptions, in file order.
    pub exemptions: Vec<Exemption>,
    hash: String,
}

impl Default for Policy {
    fn default() -> Self {
        Policy::from_profile(Profile::Baseline)
    }
}

/// Why a policy file was refused. The old policy stays in force.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    /// Syntax or schema problem; the message names the line.
    #[error("{0}")]
    Parse(String),
    /// A value that parses but makes no sense.
    #[error("{0}")]
    Invalid(String),
    /// The file could not be read.
    #[error("cannot read policy file {path}: {reason}")]
    Read {
        /// The path.
        path: String,
        /// The I/O error.
        reason: String,
    },
}

impl Policy {
    /// A built-in profile as is.
    pub fn from_profile(profile: Profile) -> Policy {
        let actions = RuleId::ALL
            .iter()
            .map(|r| (*r, r.default_action(profile)))
            .collect();
        let mut policy = Policy {
            profile,
            mode: Mode::Enforce,
            actions,
            params: Params::for_profile(profile),
            exemptions: Vec::new(),
            hash: String::new(),
        };
        policy.hash = policy.compute_hash();
        policy
    }

    /// Reads, parses and validates a policy file. The error says which
    /// file, and for a bad file, `invalid policy file PATH: LINE...`.
    pub fn from_file(path: &std::path::Path) -> Result<Policy, PolicyError> {
        let text = std::fs::read_to_string(path).map_err(|e| PolicyError::Read {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        Policy::from_file_text(path, &text)
    }

    /// Parses and validates what was read from a policy file; errors name
    /// the file as [`Policy::from_file`]'s do.
    pub fn from_file_text(path: &std::path::Path, text: &str) -> Result<Policy, PolicyError> {
        Policy::from_toml(text).map_err(|e| {
            PolicyError::Invalid(format!("invalid policy file {}: {e}", path.display()))
        })
    }

    /// Parses and validates a policy file.
    pub fn from_toml(text: &str) -> Result<Policy, PolicyError> {
        let file: PolicyFile =
            toml::from_str(text).map_err(|e| PolicyError::Parse(toml_error(text, &e)))?;
        let mut policy = Policy::from_profile(file.profile.unwrap_or_default());
        policy.mode = file.mode.unwrap_or_default();
        file.rules.apply(&mut policy)?;
        for (i, exemption) in file.exemptions.iter().enumerate() {
            if exemption.images.is_empty() && exemption.users.is_empty() {
                return Err(PolicyError::Invalid(format!(
                    "exemptions[{i}]: name at least one image or user; an exemption for everyone is a rule set to off"
                )));
            }
            if exemption.rules.is_empty() {
                return Err(PolicyError::Invalid(format!(
                    "exemptions[{i}]: list the rules it lifts"
                )));
            }
            if let Some(entry) = exemption
                .images
                .iter()
                .find(|e| e.starts_with("sha256:") && !crate::verdict::is_image_id(e))
            {
                return Err(PolicyError::Invalid(format!(
                    "exemptions[{i}]: image ID {entry:?}: give the whole ID, sha256: and 64 hex digits (docker image inspect --format '{{{{.Id}}}}' IMAGE)"
                )));
            }
            if let Some(rule) = exemption.rules.iter().find(|r| r.is_fixed()) {
                return Err(PolicyError::Invalid(format!(
                    "exemptions[{i}]: rule {rule} cannot be exempted: dockgate never allows a request it could not judge"
                )));
            }
        }
        policy.exemptions = file.exemptions;
        policy.hash = policy.compute_hash();
        Ok(policy)
    }

    /// The action of a rule after the rollout mode.
    pub fn effective_action(&self, rule: RuleId) -> Action {
        let action = self.configured_action(rule);
        if rule.is_fixed() {
            return Action::Deny;
        }
        match (self.mode, action) {
            (_, Action::Off) => Action::Off,
            (Mode::Enforce, a) => a,
            (Mode::Warn, Action::Deny) => Action::Warn,
            (Mode::Warn, a) => a,
            (Mode::Audit, _) => Action::Audit,
        }
    }

    /// A rule's action as the profile and file set it, before the mode.
    pub fn configured_action(&self, rule: RuleId) -> Action {
        if rule.is_fixed() {
            return Action::Deny;
        }
        self.actions.get(&rule).copied().unwrap_or(Action::Deny)
    }

    /// A short, stable fingerprint of the policy (sha256 of its TOML form).
    pub fn hash(&self) -> &str {
        &self.hash
    }

    fn compute_hash(&self) -> String {
        let digest = Sha256::digest(self.to_toml().as_bytes());
        let mut hex = String::with_capacity(16);
        for byte in &digest[..8] {
            let _ = write!(hex, "{byte:02x}");
        }
        format!("sha256:{hex}")
    }

    /// A policy file for `/etc/dockgate/policy.toml` that states the
    /// baseline with every line commented out: each rule, what it checks,
    /// its default action, its parameters. As shipped it changes nothing.
    pub fn commented_template() -> String {
        let baseline = Policy::from_profile(Profile::Baseline).to_toml();
        let mut out = [
            "# dockgate policy. Every setting below is commented out and shows the",
            "# built-in baseline; uncomment and change what you need, then run",
            "# `dockgate policy validate` on this file. The gate reloads it when it",
            "# changes. Reference: `dockgate explain RULE`.",
            "",
            "",
        ]
        .join("\n");
        for line in baseline.lines() {
            if let Some(rule) = line
                .strip_prefix("[rules.")
                .and_then(|r| r.strip_suffix(']'))
                .and_then(RuleId::from_id)
            {
                let doc = rule.doc();
                let _ = writeln!(out, "# {}", doc.summary);
                let _ = writeln!(
                    out,
                    "# Restricted profile: {}.",
                    rule.default_action(Profile::Restricted).name()
                );
            }
            if line.is_empty() {
                out.push('\n');
            } else {
                let _ = writeln!(out, "# {line}");
            }
        }
        out.push_str(
            &[
                "",
                "# Exemptions lift rules for images (pin them by digest) or TLS users:",
                "# [[exemptions]]",
                "# rules = [\"docker-socket\"]",
                "# images = [\"registry.example.com/ops/agent@sha256:...\"]",
                "# reason = \"why\"",
                "",
            ]
            .join("\n"),
        );
        out
    }

    /// The effective policy as a TOML document that `from_toml` reads back.
    pub fn to_toml(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "profile = {:?}", name_of(&self.profile));
        let _ = writeln!(out, "mode = {:?}", name_of(&self.mode));
        let p = &self.params;
        for rule in RuleId::ALL {
            let _ = writeln!(out, "\n[rules.{}]", rule.id());
            let _ = writeln!(out, "action = {:?}", self.actions[rule].name());
            let list = |out: &mut String, key: &str, items: &[String]| {
                let quoted: Vec<String> = items.iter().map(|i| toml_string(i)).collect();
                let _ = writeln!(out, "{key} = [{}]", quoted.join(", "));
            };
            match rule {
                RuleId::HostMount => {
                    list(&mut out, "allow", &p.mount_allow);
                    list(&mut out, "allow_read_only", &p.mount_allow_read_only);
                    list(
                        &mut out,
                        "allowed_volume_drivers",
                        &p.allowed_volume_drivers,
                    );
                }
                RuleId::DockerSocket => list(&mut out, "sockets", &p.sockets),
                RuleId::HostNamespace => list(&mut out, "allow", &p.namespace_allow),
                RuleId::Capabilities => {
                    list(&mut out, "allow", &p.capability_allow);
                    let _ = writeln!(out, "require_drop_all = {}", p.require_drop_all);
                }
                RuleId::Devices => list(&mut out, "allow", &p.device_allow),
                RuleId::Sysctls => list(&mut out, "allow", &p.sysctl_allow),
                RuleId::Runtime => list(&mut out, "allow", &p.runtime_allow),
                RuleId::RuntimeAnnotations => list(&mut out, "allow", &p.annotation_allow),
                RuleId::CgroupParent => list(&mut out, "allow", &p.cgroup_parent_allow),
                RuleId::NetworkDriver => list(&mut out, "allow", &p.network_driver_allow),
                RuleId::SecurityProfile => {
                    list(&mut out, "apparmor_profiles", &p.apparmor_profiles)
                }
                RuleId::ImageRegistry => list(&mut out, "allow", &p.registry_allow),
                RuleId::EnvSecrets => list(&mut out, "names", &p.secret_names),
                _ => {}
            }
        }
        for exemption in &self.exemptions {
            out.push_str("\n[[exemptions]]\n");
            let rules: Vec<String> = exemption
                .rules
                .iter()
                .map(|r| format!("{:?}", r.id()))
                .collect();
            let _ = writeln!(out, "rules = [{}]", rules.join(", "));
            for (key, items) in [("images", &exemption.images), ("users", &exemption.users)] {
                if !items.is_empty() {
                    let quoted: Vec<String> = items.iter().map(|i| toml_string(i)).collect();
                    let _ = writeln!(out, "{key} = [{}]", quoted.join(", "));
                }
            }
            let _ = writeln!(out, "reason = {}", toml_string(&exemption.reason));
        }
        out
    }
}

fn name_of<T: Serialize>(value: &T) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// Formats a TOML error on one line: where, then what.
fn toml_error(text: &str, err: &toml::de::Error) -> String {
    let message = err
        .message()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(": ");
    let message = if message.is_empty() {
        "unexpected end of file".to_string()
    } else {
        message
    };
    match err.span() {
        Some(span) => {
            let before = &text[..span.start.min(text.len())];
            let line = before.matches('\n').count() + 1;
            let column = before
                .rsplit('\n')
                .next()
                .unwrap_or_default()
                .chars()
                .count()
                + 1;
            format!("TOML parse error at line {line}, column {column}: {message}")
        }
        None => format!("TOML parse error: {message}"),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyFile {
    profile: Option<Profile>,
    mode: Option<Mode>,
    #[serde(default)]
    rules: FileRules,
    #[serde(default)]
    exemptions: Vec<Exemption>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Plain {
    action: Option<Action>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Allow {
    action: Option<Action>,
    allow: Option<Vec<String>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct HostMountFile {
    action: Option<Action>,
    allow: Option<Vec<String>>,
    allow_read_only: Option<Vec<String>>,
    allowed_volume_drivers: Option<Vec<String>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct SocketFile {
    action: Option<Action>,
    sockets: Option<Vec<String>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct CapabilitiesFile {
    action: Option<Action>,
    allow: Option<Vec<String>>,
    require_drop_all: Option<bool>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct SecurityProfileFile {
    action: Option<Action>,
    apparmor_profiles: Option<Vec<String>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct SecretsFile {
    action: Option<Action>,
    names: Option<Vec<String>>,
}

macro_rules! file_rules {
    (
        plain { $($p_field:ident = $p_id:literal => $p_rule:ident,)* }
        allow { $($a_field:ident = $a_id:literal => $a_rule:ident => $a_param:ident,)* }
    ) => {
        #[derive(Deserialize, Default)]
        #[serde(deny_unknown_fields)]
        struct FileRules {
            $(#[serde(rename = $p_id, default)] $p_field: Option<Plain>,)*
            $(#[serde(rename = $a_id, default)] $a_field: Option<Allow>,)*
            #[serde(rename = "host-mount", default)]
            host_mount: Option<HostMountFile>,
            #[serde(rename = "docker-socket", default)]
            docker_socket: Option<SocketFile>,
            #[serde(rename = "capabilities", default)]
            capabilities: Option<CapabilitiesFile>,
            #[serde(rename = "env-secrets", default)]
            env_secrets: Option<SecretsFile>,
            #[serde(rename = "security-profile", default)]
            security_profile: Option<SecurityProfileFile>,
        }

        impl FileRules {
            fn apply(self, policy: &mut Policy) -> Result<(), PolicyError> {
                let mut set = |rule: RuleId, action: Option<Action>| -> Result<(), PolicyError> {
                    if let Some(action) = action {
                        if rule.is_fixed() && action != Action::Deny {
                            return Err(PolicyError::Invalid(format!(
                                "rules.{}: this rule always denies; dockgate never allows a request it could not judge",
                                rule.id()
                            )));
                        }
                        policy.actions.insert(rule, action);
                    }
                    Ok(())
                };
                $(if let Some(r) = self.$p_field { set(RuleId::$p_rule, r.action)?; })*
                $(if let Some(r) = &self.$a_field { set(RuleId::$a_rule, r.action)?; })*
                if let Some(r) = &self.host_mount { set(RuleId::HostMount, r.action)?; }
                if let Some(r) = &self.docker_socket { set(RuleId::DockerSocket, r.action)?; }
                if let Some(r) = &self.capabilities { set(RuleId::Capabilities, r.action)?; }
                if let Some(r) = &self.env_secrets { set(RuleId::EnvSecrets, r.action)?; }
                if let Some(r) = &self.security_profile { set(RuleId::SecurityProfile, r.action)?; }
                let params = &mut policy.params;
                $(if let Some(allow) = self.$a_field.and_then(|r| r.allow) { params.$a_param = allow; })*
                if let Some(r) = self.host_mount {
                    if let Some(v) = r.allow { params.mount_allow = absolute("rules.host-mount.allow", v)?; }
                    if let Some(v) = r.allow_read_only { params.mount_allow_read_only = absolute("rules.host-mount.allow_read_only", v)?; }
                    if let Some(v) = r.allowed_volume_drivers { params.allowed_volume_drivers = v; }
                }
                if let Some(v) = self.docker_socket.and_then(|r| r.sockets) {
                    params.sockets = absolute("rules.docker-socket.sockets", v)?;
                }
                if let Some(r) = self.capabilities {
                    if let Some(v) = r.allow {
                        params.capability_allow = v.iter().map(|c| dockgate_model::normalize_capability(c)).collect();
                    }
                    if let Some(v) = r.require_drop_all { params.require_drop_all = v; }
                }
                if let Some(v) = self.security_profile.and_then(|r| r.apparmor_profiles) {
                    params.apparmor_profiles = v;
                }
                if let Some(v) = self.env_secrets.and_then(|r| r.names) {
                    params.secret_names = v.iter().map(|n| n.to_ascii_uppercase()).collect();
                }
                for kind in &params.namespace_allow {
                    if !["network", "pid", "ipc", "uts", "userns", "cgroupns"].contains(&kind.as_str()) {
                        return Err(PolicyError::Invalid(format!(
                            "rules.host-namespace.allow: unknown namespace {kind:?} (expected network, pid, ipc, uts, userns or cgroupns)"
                        )));
                    }
                }
                Ok(())
            }
        }
    };
}

file_rules! {
    plain {
        privileged = "privileged" => Privileged,
        mount_propagation = "mount-propagation" => MountPropagation,
        run_as_root = "run-as-root" => RunAsRoot,
        published_ports = "published-ports" => PublishedPorts,
        image_latest = "image-latest" => ImageLatest,
        image_digest = "image-digest" => ImageDigest,
        no_new_privileges = "no-new-privileges" => NoNewPrivileges,
        read_only_rootfs = "read-only-rootfs" => ReadOnlyRootfs,
        memory_limit = "memory-limit" => MemoryLimit,
        pids_limit = "pids-limit" => PidsLimit,
        plugin_management = "plugin-management" => PluginManagement,
        swarm_join = "swarm-join" => SwarmJoin,
        buildkit = "buildkit" => BuildKit,
        copy_into_container = "copy-into-container" => CopyIntoContainer,
        unknown_endpoint = "unknown-endpoint" => UnknownEndpoint,
        unreadable_request = "unreadable-request" => UnreadableRequest,
        gate_failure = "gate-failure" => GateFailure,
    }
    allow {
        host_namespace = "host-namespace" => HostNamespace => namespace_allow,
        devices = "devices" => Devices => device_allow,
        sysctls = "sysctls" => Sysctls => sysctl_allow,
        runtime = "runtime" => Runtime => runtime_allow,
        runtime_annotations = "runtime-annotations" => RuntimeAnnotations => annotation_allow,
        cgroup_parent = "cgroup-parent" => CgroupParent => cgroup_parent_allow,
        network_driver = "network-driver" => NetworkDriver => network_driver_allow,
        image_registry = "image-registry" => ImageRegistry => registry_allow,
    }
}

fn absolute(field: &str, paths: Vec<String>) -> Result<Vec<String>, PolicyError> {
    paths
        .into_iter()
        .map(|p| {
            if p.starts_with('/') {
                Ok(dockgate_model::clean_path(&p))
            } else {
                Err(PolicyError::Invalid(format!(
                    "{field}: {p:?} is not an absolute path"
                )))
            }
        })
        .collect()
}

/// A TOML basic string. Rust's `{:?}` escapes differently (`\u{483}`),
/// which TOML rejects: a printed policy must read back as the same policy.
fn toml_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests;
