//! The normalized description of what a workload gets on a Docker host.
//!
//! Every front end (an AuthZ request, a `docker inspect` document, a
//! `docker run` line, a compose service) is turned into a [`Workload`], and
//! rules only ever look at this type. A setting carries the name of the field
//! it came from in the input's own syntax, so a finding can point at it
//! without the rule knowing which input it came from.

use serde::Serialize;

pub mod host;
mod mount;
mod names;

pub use mount::{HostPathEffect, Mount, MountKind, RemoteFs, VolumeBacking};
pub use names::{clean_path, normalize_capability, ImageRef};

/// A value together with the input field it was read from, e.g.
/// `HostConfig.Privileged` or `services.web.privileged`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct At<T> {
    /// The value as the daemon would apply it.
    pub value: T,
    /// Where the value was found, in the input's own syntax.
    pub field: String,
}

impl<T> At<T> {
    /// Pairs a value with the field it came from.
    pub fn new(value: T, field: impl Into<String>) -> Self {
        At {
            value,
            field: field.into(),
        }
    }
}

/// What kind of operation the workload description stands for. Rules use it
/// to phrase findings and to skip checks that do not apply (an exec has no
/// mounts of its own).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Operation {
    /// A new container (create, or a compose service, run line or inspect).
    #[default]
    Container,
    /// A process started in an existing container.
    Exec,
    /// A change to an existing container's resources.
    Update,
    /// A volume being created.
    Volume,
    /// A Swarm service being created or updated.
    Service,
    /// A network being created.
    Network,
    /// An image build.
    Build,
    /// An image pull, import or tag.
    Image,
    /// Any other API call, described only by its endpoint.
    Other,
}

/// A reference that must be looked up on the daemon before rules can judge it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
#[serde(tag = "state", content = "detail", rename_all = "kebab-case")]
pub enum Resolution<T> {
    /// Not looked up (yet). Rules treat it as unknown.
    #[default]
    Pending,
    /// Looked up successfully.
    Known(T),
    /// The look-up failed; rules fail closed on it.
    Failed(String),
}

/// A local image as the daemon knows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct LocalImage {
    /// Its ID (`sha256:` and 64 hex digits), which names its exact content;
    /// `None` for an image the input itself builds (a compose service's
    /// `build:`), which exists nowhere yet.
    pub id: Option<String>,
    /// Its registry digests (`repo@sha256:...`): the repositories its
    /// content was pulled from or pushed to. An image built or tagged on
    /// the host has none from the repository its name claims.
    pub repo_digests: Vec<String>,
}

/// How a namespace of the workload is set up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
#[serde(tag = "mode", rename_all = "kebab-case")]
pub enum NamespaceMode {
    /// Docker's default for this namespace (private, or the daemon default).
    #[default]
    Default,
    /// Shared with the host.
    Host,
    /// Joined with another container's namespace.
    Container {
        /// The container named in `container:<name>`.
        target: String,
        /// Whether that container itself shares this namespace with the host.
        target_uses_host: Resolution<bool>,
    },
    /// A swarm service attached to a network it names by name, ID or ID
    /// prefix: the daemon resolves the reference, and a predefined
    /// network's local ID or name maps to the swarm's own `host` network.
    ServiceNetwork {
        /// The reference as given in `Networks[].Target`.
        target: String,
        /// Whether the daemon resolves it to a host network.
        is_host: Resolution<bool>,
    },
    /// Any other mode (`private`, `shareable`, `none`, a network name...).
    Other {
        /// The mode as given.
        value: String,
    },
}

/// The kinds of Linux namespaces Docker lets a request choose.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum NamespaceKind {
    /// `--network`.
    Network,
    /// `--pid`.
    Pid,
    /// `--ipc`.
    Ipc,
    /// `--uts`.
    Uts,
    /// `--userns`.
    User,
    /// `--cgroupns`.
    Cgroup,
}

impl NamespaceKind {
    /// Every kind, in a stable order.
    pub const ALL: [NamespaceKind; 6] = [
        NamespaceKind::Network,
        NamespaceKind::Pid,
        NamespaceKind::Ipc,
        NamespaceKind::Uts,
        NamespaceKind::User,
        NamespaceKind::Cgroup,
    ];

    /// The `HostConfig` field of the create request that sets it.
    pub fn api_field(self) -> &'static str {
        match self {
            NamespaceKind::Network => "NetworkMode",
            NamespaceKind::Pid => "PidMode",
            NamespaceKind::Ipc => "IpcMode",
            NamespaceKind::Uts => "UTSMode",
            NamespaceKind::User => "UsernsMode",
            NamespaceKind::Cgroup => "CgroupnsMode",
        }
    }

    /// The name operators know from the `docker run` flag.
    pub fn name(self) -> &'static str {
        match self {
            NamespaceKind::Network => "network",
            NamespaceKind::Pid => "pid",
            NamespaceKind::Ipc => "ipc",
            NamespaceKind::Uts => "uts",
            NamespaceKind::User => "userns",
            NamespaceKind::Cgroup => "cgroupns",
        }
    }
}

/// A device node passed into the container.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Device {
    /// The device path on the host, or the driver and capabilities of a
    /// device request (`--gpus`).
    pub host: String,
    /// The path inside the container, where there is one.
    pub container: String,
    /// Where it was found.
    pub field: String,
}

/// A network a request creates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NetworkRequest {
    /// The driver (`bridge`, `overlay`, `macvlan`, `ipvlan`, a plugin).
    pub driver: String,
    /// The host interface a `macvlan` or `ipvlan` network sits on
    /// (`parent`).
    pub parent: Option<String>,
    /// The Linux bridge a `bridge` network uses
    /// (`com.docker.network.bridge.name`): the daemon creates it, or takes
    /// an interface of that name the host already has.
    pub bridge: Option<String>,
    /// Whether that bridge is already one of the host's interfaces, with
    /// whatever else it connects.
    pub bridge_exists: Resolution<bool>,
    /// The config-only network whose options this one takes
    /// (`--config-from`): its `parent` and bridge name count as this one's.
    pub config_from: Option<String>,
}

/// A network a workload is attached to by name, ID or ID prefix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AttachedNetwork {
    /// The reference as given.
    pub network: String,
    /// The driver of the network the daemon resolves it to (empty when
    /// there is no such network: the daemon refuses the request).
    pub driver: Resolution<String>,
}

impl AttachedNetwork {
    /// A reference to be looked up.
    pub fn named(network: &str) -> AttachedNetwork {
        AttachedNetwork {
            network: network.to_string(),
            driver: Resolution::Pending,
        }
    }

    /// Whether the daemon predefines a network of this name, which cannot
    /// be created and is judged by the namespace rules where it matters.
    pub fn is_predefined(network: &str) -> bool {
        matches!(network, "" | "default" | "bridge" | "host" | "none")
    }
}

/// A port published on the host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PublishedPort {
    /// The host address; empty means every interface.
    pub host_ip: String,
    /// The host port; empty means one picked by the daemon.
    pub host_port: String,
    /// The container port and protocol, e.g. `80/tcp`.
    pub container_port: String,
    /// Where it was found.
    pub field: String,
}

impl PublishedPort {
    /// Whether the port listens on every interface of the host.
    pub fn on_all_interfaces(&self) -> bool {
        matches!(self.host_ip.as_str(), "" | "0.0.0.0" | "::" | "[::]")
    }
}

/// An environment variable given to the workload. Values are kept only for
/// the secret check and are never written to logs or reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EnvVar {
    /// The variable name.
    pub name: String,
    /// The value; `None` when only the name was given.
    #[serde(skip)]
    pub value: Option<String>,
    /// Where it was found.
    pub field: String,
}

/// The confinement settings of the workload's processes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct Security {
    /// `seccomp=unconfined`, or a profile that allows every syscall.
    pub seccomp_unconfined: Option<At<String>>,
    /// `apparmor=unconfined`.
    pub apparmor_unconfined: Option<At<String>>,
    /// Any other `apparmor=` profile: only the host knows what it confines.
    pub apparmor_profile: Option<At<String>>,
    /// SELinux labelling turned off (`label=disable`) or an unconfined type.
    pub selinux_disabled: Option<At<String>>,
    /// `/proc` and `/sys` paths that Docker masks by default but this
    /// workload gets unmasked or writable.
    pub unmasked_paths: Option<At<Vec<String>>>,
    /// Whether `no-new-privileges` is set.
    pub no_new_privileges: bool,
    /// Security options the daemon would reject; kept so the verdict can
    /// name them.
    pub invalid: Vec<At<String>>,
}

/// Resource limits, where the input sets them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct Limits {
    /// Memory limit in bytes; `None` or `<= 0` means unlimited.
    pub memory: Option<At<i64>>,
    /// PID limit; `None` or `<= 0` means unlimited.
    pub pids: Option<At<i64>>,
}

/// The user a workload's processes run as.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct User {
    /// The user given by the input (`--user`, `User`), empty when none.
    pub requested: At<String>,
    /// The image's default `USER`, looked up when nothing was requested.
    pub image_default: Resolution<String>,
}

impl Default for At<String> {
    fn default() -> Self {
        At::new(String::new(), "")
    }
}

impl User {
    /// The user the process will really run as: the requested one, else the
    /// image default. `None` while that is unknown.
    pub fn effective(&self) -> Option<&str> {
        if !self.requested.value.is_empty() {
            return Some(&self.requested.value);
        }
        match &self.image_default {
            Resolution::Known(user) => Some(user),
            _ => None,
        }
    }
}

/// Docker's default capability set (`oci/caps/defaults.go`): what every
/// container holds unless it drops some.
pub const DEFAULT_CAPABILITIES: &[&str] = &[
    "CHOWN",
    "DAC_OVERRIDE",
    "FSETID",
    "FOWNER",
    "MKNOD",
    "NET_RAW",
    "SETGID",
    "SETUID",
    "SETFCAP",
    "SETPCAP",
    "NET_BIND_SERVICE",
    "SYS_CHROOT",
    "KILL",
    "AUDIT_WRITE",
];

/// Whether a user spec (`name`, `uid`, `uid:gid`) means root.
pub fn is_root_user(spec: &str) -> bool {
    let user = spec.split(':').next().unwrap_or_default().trim();
    user.is_empty() || user == "root" || user.trim_start_matches('0').is_empty()
}

/// How dockgate knows the API endpoint a request goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CallKind {
    /// A route of the daemon's table.
    Known,
    /// A route of the daemon's table that installs, changes or removes a
    /// plugin (the gate itself is one).
    PluginManagement,
    /// A route that makes this node a member of a Swarm, or hands out what
    /// lets other machines join (tokens, unlock key, a node's role): the
    /// swarm's managers start containers here without this daemon's API.
    SwarmMembership,
    /// BuildKit's `/grpc` and `/session`: the build's steps, and what they
    /// ask of the host, travel where no authorization plugin sees them.
    BuildKit,
    /// A route that unpacks an archive into a container (`docker cp`): the
    /// daemon does the unpacking, as root.
    CopyIn,
    /// No route dockgate knows.
    Unknown,
}

/// The Docker API call a description came from, when it came from one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApiCall {
    /// The HTTP method.
    pub method: String,
    /// The endpoint name (`container.create`), or the path when unknown.
    pub endpoint: String,
    /// How dockgate knows the endpoint.
    pub kind: CallKind,
    /// The family of endpoints it belongs to, which a role may be granted.
    pub family: EndpointFamily,
}

/// The families of API endpoints a role is granted (`endpoints = [...]`):
/// every route of the daemon belongs to one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum EndpointFamily {
    /// What every client needs to talk to the daemon at all: ping,
    /// version, CORS pre-flight. Never refused by family.
    Handshake,
    /// Lists, inspects, logs, stats, events: reading state.
    ReadOnly,
    /// Running containers: create, start, stop, exec, attach, copy, and
    /// the volumes, networks, pulls and swarm services they need.
    Operate,
    /// Making and moving images: build, BuildKit, load, save, tag, push,
    /// commit, removal.
    Build,
    /// The daemon itself: plugins, swarm membership, nodes, debugging
    /// endpoints, and routes dockgate does not know.
    Admin,
}

impl EndpointFamily {
    /// The families a role can be granted, as the policy file names them.
    pub const GRANTABLE: [EndpointFamily; 4] = [
        EndpointFamily::ReadOnly,
        EndpointFamily::Operate,
        EndpointFamily::Build,
        EndpointFamily::Admin,
    ];

    /// The name the policy file uses.
    pub fn name(self) -> &'static str {
        match self {
            EndpointFamily::Handshake => "handshake",
            EndpointFamily::ReadOnly => "read-only",
            EndpointFamily::Operate => "operate",
            EndpointFamily::Build => "build",
            EndpointFamily::Admin => "admin",
        }
    }
}

/// A container a request acts on by reference (the one in the path, an
/// exec's container, `--volumes-from`, a `container:` namespace join): what
/// the daemon says its labels are, which name its owner.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Target {
    /// The reference as the request gives it (name, ID or ID prefix),
    /// which the daemon resolves.
    pub reference: String,
    /// What the request does to it, one of [`Target::ACTIONS`].
    pub action: &'static str,
    /// Its labels, once looked up; `Known(None)` when no such container
    /// exists (the daemon then refuses the request itself).
    pub labels: Resolution<Option<Vec<(String, String)>>>,
    /// The reference is the container's name and could also be read as an
    /// ID prefix (hex digits only): renaming that container makes the same
    /// reference name another's, between judging and acting.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub ambiguous: bool,
}

impl Target {
    /// What a request can do to a container it names, as a role grants
    /// them on other owners' containers (`others = [...]`).
    pub const ACTIONS: &'static [&'static str] = &[
        "inspect",
        "logs",
        "stats",
        "top",
        "changes",
        "export",
        "cp",
        "attach",
        "exec",
        "start",
        "restart",
        "stop",
        "kill",
        "pause",
        "wait",
        "resize",
        "rename",
        "update",
        "rm",
        "commit",
        "checkpoint",
        "volumes-from",
        "link",
        "join",
        "network",
    ];

    /// A container the request names, not looked up yet.
    pub fn named(reference: impl Into<String>, action: &'static str) -> Target {
        Target {
            reference: reference.into(),
            action,
            labels: Resolution::Pending,
            ambiguous: false,
        }
    }

    /// The value of one label, once looked up.
    pub fn label(&self, key: &str) -> Option<&str> {
        match &self.labels {
            Resolution::Known(Some(labels)) => labels
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.as_str()),
            _ => None,
        }
    }
}

/// Everything a workload gets on the host, normalized from any input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct Workload {
    /// What the description stands for.
    pub operation: Operation,
    /// The API call, for descriptions read from an AuthZ request.
    pub call: Option<ApiCall>,
    /// The container name, where known (for reports, never for exemptions).
    pub name: Option<String>,
    /// The image reference as requested.
    pub image: Option<At<String>>,
    /// The image ID the input itself names as the content that runs (a
    /// container's inspect document): looked up instead of the reference,
    /// whose tag may have moved since.
    pub image_id: Option<String>,
    /// The local image the reference resolves to on the daemon: its ID and
    /// the proof of where its content came from.
    pub image_local: Resolution<LocalImage>,
    /// `--privileged`.
    pub privileged: Option<At<bool>>,
    /// Every mount, with what it exposes of the host.
    pub mounts: Vec<Mount>,
    /// Containers whose mounts this one takes (`--volumes-from`).
    pub volumes_from: Vec<At<String>>,
    /// Containers linked to this one (`--link NAME:ALIAS`): the daemon
    /// copies their environment into this one's.
    pub links: Vec<At<String>>,
    /// Namespace settings, one per kind that the input sets.
    pub namespaces: Vec<(NamespaceKind, At<NamespaceMode>)>,
    /// The user.
    pub user: User,
    /// Capabilities added, normalized (`SYS_ADMIN`, `ALL`).
    pub cap_add: Vec<At<String>>,
    /// Capabilities dropped, normalized.
    pub cap_drop: Vec<At<String>>,
    /// Devices passed in.
    pub devices: Vec<Device>,
    /// Device cgroup rules (`--device-cgroup-rule`).
    pub device_cgroup_rules: Vec<At<String>>,
    /// Confinement settings.
    pub security: Security,
    /// Sysctls set, name and value.
    pub sysctls: Vec<At<(String, String)>>,
    /// OCI annotations (`--annotation`, API 1.43), key and value: passed
    /// to the runtime, some of which acts on them.
    pub annotations: Vec<At<(String, String)>>,
    /// Labels, key and value: the daemon only stores them, but custom
    /// rules judge by them (an `owner` on every container).
    pub labels: Vec<At<(String, String)>>,
    /// Ports published on the host.
    pub ports: Vec<PublishedPort>,
    /// `--publish-all`: every exposed port on every interface.
    pub publish_all: Option<At<bool>>,
    /// The OCI runtime.
    pub runtime: Option<At<String>>,
    /// The parent cgroup.
    pub cgroup_parent: Option<At<String>>,
    /// `--read-only`.
    pub read_only_rootfs: Option<At<bool>>,
    /// Resource limits.
    pub limits: Limits,
    /// Environment variables.
    pub env: Vec<EnvVar>,
    /// The network a request creates.
    pub network: Option<At<NetworkRequest>>,
    /// User-defined networks the workload is attached to: one made before
    /// the gate (a macvlan, say) still puts containers where it leads.
    pub networks: Vec<At<AttachedNetwork>>,
    /// A restart policy an update sets (`always`, `unless-stopped`,
    /// `on-failure`): the daemon starts the container again on its own,
    /// at the latest when it restarts, with no call a plugin sees.
    pub restart_policy: Option<At<String>>,
    /// For a container that exists, the create request the daemon holds
    /// for it (its inspect document's `Config` with its `HostConfig`): what
    /// a rule that judges requests (a policy in opa-docker-authz's form)
    /// judges it by, settings the model leaves out included. Never read by
    /// the built-in rules, never serialized.
    #[serde(skip)]
    pub create_request: Option<std::sync::Arc<serde_json::Value>>,
    /// Existing containers the request acts on, for ownership: filled by
    /// the AuthZ reader, looked up only when a role needs their owners.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub targets: Vec<At<Target>>,
}

impl Workload {
    /// An empty description of the given operation.
    pub fn new(operation: Operation) -> Self {
        Workload {
            operation,
            ..Workload::default()
        }
    }

    /// The namespace setting of one kind, if the input sets it.
    pub fn namespace(&self, kind: NamespaceKind) -> Option<&At<NamespaceMode>> {
        self.namespaces
            .iter()
            .find(|(k, _)| *k == kind)
            .map(|(_, mode)| mode)
    }

    /// Whether the workload runs privileged.
    pub fn is_privileged(&self) -> bool {
        self.privileged.as_ref().is_some_and(|p| p.value)
    }

    /// Renames every field reference, e.g. from the Docker API names an
    /// adapter read with to the names of the input the user wrote
    /// (`services.web.volumes[0]`, `--volume`).
    pub fn rename_fields(&mut self, rename: impl Fn(&str) -> String) {
        fn at<T>(setting: &mut Option<At<T>>, rename: &impl Fn(&str) -> String) {
            if let Some(s) = setting {
                s.field = rename(&s.field);
            }
        }
        fn all<T>(settings: &mut [At<T>], rename: &impl Fn(&str) -> String) {
            for s in settings {
                s.field = rename(&s.field);
            }
        }
        at(&mut self.image, &rename);
        at(&mut self.privileged, &rename);
        for m in &mut self.mounts {
            m.field = rename(&m.field);
        }
        all(&mut self.volumes_from, &rename);
        all(&mut self.links, &rename);
        for (_, mode) in &mut self.namespaces {
            mode.field = rename(&mode.field);
        }
        self.user.requested.field = rename(&self.user.requested.field);
        all(&mut self.cap_add, &rename);
        all(&mut self.cap_drop, &rename);
        for d in &mut self.devices {
            d.field = rename(&d.field);
        }
        all(&mut self.device_cgroup_rules, &rename);
        let s = &mut self.security;
        at(&mut s.seccomp_unconfined, &rename);
        at(&mut s.apparmor_unconfined, &rename);
        at(&mut s.apparmor_profile, &rename);
        at(&mut s.selinux_disabled, &rename);
        at(&mut s.unmasked_paths, &rename);
        all(&mut s.invalid, &rename);
        all(&mut self.sysctls, &rename);
        all(&mut self.annotations, &rename);
        all(&mut self.labels, &rename);
        for p in &mut self.ports {
            p.field = rename(&p.field);
        }
        at(&mut self.publish_all, &rename);
        at(&mut self.runtime, &rename);
        at(&mut self.cgroup_parent, &rename);
        at(&mut self.read_only_rootfs, &rename);
        at(&mut self.limits.memory, &rename);
        at(&mut self.limits.pids, &rename);
        for e in &mut self.env {
            e.field = rename(&e.field);
        }
        at(&mut self.network, &rename);
        all(&mut self.networks, &rename);
        at(&mut self.restart_policy, &rename);
        all(&mut self.targets, &rename);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_user_specs() {
        for spec in ["", "root", "0", "00", "0:0", "root:wheel", " 0 "] {
            assert!(is_root_user(spec), "{spec:?} is root");
        }
        for spec in ["1000", "1000:0", "nobody", "10", "app:root"] {
            assert!(!is_root_user(spec), "{spec:?} is not root");
        }
    }

    #[test]
    fn effective_user_prefers_the_request() {
        let mut user = User {
            requested: At::new("1000".to_string(), "User"),
            image_default: Resolution::Known("root".into()),
        };
        assert_eq!(user.effective(), Some("1000"));
        user.requested.value.clear();
        assert_eq!(user.effective(), Some("root"));
        user.image_default = Resolution::Failed("no such image".into());
        assert_eq!(user.effective(), None);
    }

    #[test]
    fn all_interfaces() {
        let port = |ip: &str| PublishedPort {
            host_ip: ip.into(),
            host_port: "80".into(),
            container_port: "80/tcp".into(),
            field: String::new(),
        };
        assert!(port("").on_all_interfaces());
        assert!(port("0.0.0.0").on_all_interfaces());
        assert!(port("::").on_all_interfaces());
        assert!(!port("127.0.0.1").on_all_interfaces());
    }
}
