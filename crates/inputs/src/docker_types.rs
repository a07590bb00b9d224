//! The Go types of the Docker API request bodies that dockgate reads, as
//! [`Shape`]s for the Go-compatible decoder.
//!
//! Field lists follow `api/types` in moby from 20.10 (API 1.41) to the newest
//! API. The container create's types come in two parts: the fields the model
//! reads, which the gate decodes for every request (keys of other fields are
//! skipped unbuilt, as Go skips unknown keys), and the rest, which only a
//! policy in opa-docker-authz's form reads (`*_ALL`: the whole type, under
//! the daemon's names). Each field is listed once.

use crate::gojson::{Field, Shape};

const STR_LIST: Shape = Shape::Slice(&Shape::Str);
const STR_MAP: Shape = Shape::Map(&Shape::Str);

/// `container.Config`: the fields that change what the workload gets (the
/// image, its user, environment and anonymous volumes) and its labels.
pub const CONFIG: &[Field] = &[
    Field::new("User", Shape::Str),
    Field::new("Env", STR_LIST),
    Field::new("Image", Shape::Str),
    Field::new("Volumes", Shape::Map(&Shape::Any)),
    Field::new("Labels", STR_MAP),
];

/// The rest of `container.Config`.
const CONFIG_REST: &[Field] = &[
    Field::new("Hostname", Shape::Str),
    Field::new("Domainname", Shape::Str),
    Field::new("AttachStdin", Shape::Bool),
    Field::new("AttachStdout", Shape::Bool),
    Field::new("AttachStderr", Shape::Bool),
    Field::new("ExposedPorts", Shape::Map(&Shape::Any)),
    Field::new("Tty", Shape::Bool),
    Field::new("OpenStdin", Shape::Bool),
    Field::new("StdinOnce", Shape::Bool),
    Field::new("Cmd", Shape::StrSlice),
    Field::new("Healthcheck", Shape::PtrStruct(HEALTH_CONFIG)),
    Field::new("ArgsEscaped", Shape::Bool),
    Field::new("WorkingDir", Shape::Str),
    Field::new("Entrypoint", Shape::StrSlice),
    Field::new("NetworkDisabled", Shape::Bool),
    Field::new("MacAddress", Shape::Str),
    Field::new("OnBuild", STR_LIST),
    Field::new("StopSignal", Shape::Str),
    Field::new("StopTimeout", Shape::Opt(&Shape::Int)),
    Field::new("Shell", Shape::StrSlice),
];

/// `container.Config`, whole: the body of `POST /commit`.
pub const CONFIG_ALL: &[Field] = &concat_fields::<25>(CONFIG, CONFIG_REST);

/// `container.HealthConfig`.
const HEALTH_CONFIG: &[Field] = &[
    Field::new("Test", STR_LIST),
    Field::new("Interval", Shape::Int),
    Field::new("Timeout", Shape::Int),
    Field::new("StartPeriod", Shape::Int),
    Field::new("StartInterval", Shape::Int),
    Field::new("Retries", Shape::Int),
];

/// `mount.TmpfsOptions`.
const TMPFS_OPTIONS: &[Field] = &[
    Field::new("SizeBytes", Shape::Int),
    Field::new("Mode", Shape::Uint),
    Field::new("Options", Shape::Slice(&STR_LIST)),
];

/// `mount.ImageOptions`.
const IMAGE_OPTIONS: &[Field] = &[Field::new("Subpath", Shape::Str)];

/// `blkiodev.WeightDevice`.
const WEIGHT_DEVICE: &[Field] = &[
    Field::new("Path", Shape::Str),
    Field::new("Weight", Shape::Uint),
];

/// `blkiodev.ThrottleDevice`.
const THROTTLE_DEVICE: &[Field] = &[
    Field::new("Path", Shape::Str),
    Field::new("Rate", Shape::Uint),
];

/// `container.Ulimit` (`units.Ulimit`).
const ULIMIT: &[Field] = &[
    Field::new("Name", Shape::Str),
    Field::new("Hard", Shape::Int),
    Field::new("Soft", Shape::Int),
];

/// `network.EndpointIPAMConfig`.
const ENDPOINT_IPAM: &[Field] = &[
    Field::new("IPv4Address", Shape::Str),
    Field::new("IPv6Address", Shape::Str),
    Field::new("LinkLocalIPs", STR_LIST),
];

const BIND_OPTIONS: &[Field] = &[
    Field::new("Propagation", Shape::Str),
    Field::new("NonRecursive", Shape::Bool),
    Field::new("CreateMountpoint", Shape::Bool),
    Field::new("ReadOnlyNonRecursive", Shape::Bool),
    Field::new("ReadOnlyForceRecursive", Shape::Bool),
];

const DRIVER: &[Field] = &[
    Field::new("Name", Shape::Str),
    Field::new("Options", STR_MAP),
];

const VOLUME_OPTIONS: &[Field] = &[
    Field::new("NoCopy", Shape::Bool),
    Field::new("Labels", STR_MAP),
    Field::new("Subpath", Shape::Str),
    Field::new("DriverConfig", Shape::PtrStruct(DRIVER)),
];

/// `mount.Mount`, used by containers and services alike.
pub const MOUNT: &[Field] = &[
    Field::new("Type", Shape::Str),
    Field::new("Source", Shape::Str),
    Field::new("Target", Shape::Str),
    Field::new("ReadOnly", Shape::Bool),
    Field::new("Consistency", Shape::Str),
    Field::new("BindOptions", Shape::PtrStruct(BIND_OPTIONS)),
    Field::new("VolumeOptions", Shape::PtrStruct(VOLUME_OPTIONS)),
    Field::new("TmpfsOptions", Shape::PtrStruct(TMPFS_OPTIONS)),
    Field::new("ImageOptions", Shape::PtrStruct(IMAGE_OPTIONS)),
    Field::new("ClusterOptions", Shape::Any),
];

const DEVICE_MAPPING: &[Field] = &[
    Field::new("PathOnHost", Shape::Str),
    Field::new("PathInContainer", Shape::Str),
    Field::new("CgroupPermissions", Shape::Str),
];

const DEVICE_REQUEST: &[Field] = &[
    Field::new("Driver", Shape::Str),
    Field::new("Count", Shape::Int),
    Field::new("DeviceIDs", STR_LIST),
    Field::new("Capabilities", Shape::Slice(&STR_LIST)),
    Field::new("Options", STR_MAP),
];

const PORT_BINDING: &[Field] = &[
    Field::new("HostIp", Shape::Str),
    Field::new("HostPort", Shape::Str),
];

/// The fields of `container.Resources` (embedded in `HostConfig` and in
/// `UpdateConfig`) that the model reads.
macro_rules! resources_fields {
    ($field:ident $(, $nest:literal)?) => {
        [
            Field::$field("CpuShares", Shape::Int $(, $nest)?),
            Field::$field("Memory", Shape::Int $(, $nest)?),
            Field::$field("CgroupParent", Shape::Str $(, $nest)?),
            Field::$field("CpusetCpus", Shape::Str $(, $nest)?),
            Field::$field("Devices", Shape::Slice(&Shape::Struct(DEVICE_MAPPING)) $(, $nest)?),
            Field::$field("DeviceCgroupRules", STR_LIST $(, $nest)?),
            Field::$field("DeviceRequests", Shape::Slice(&Shape::Struct(DEVICE_REQUEST)) $(, $nest)?),
            Field::$field("MemorySwap", Shape::Int $(, $nest)?),
            Field::$field("PidsLimit", Shape::Opt(&Shape::Int) $(, $nest)?),
        ]
    };
}

/// The rest of `container.Resources`.
macro_rules! resources_rest_fields {
    ($field:ident $(, $nest:literal)?) => {
        [
            Field::$field("NanoCpus", Shape::Int $(, $nest)?),
            Field::$field("BlkioWeight", Shape::Uint $(, $nest)?),
            Field::$field("BlkioWeightDevice", Shape::Slice(&Shape::PtrStruct(WEIGHT_DEVICE)) $(, $nest)?),
            Field::$field("BlkioDeviceReadBps", Shape::Slice(&Shape::PtrStruct(THROTTLE_DEVICE)) $(, $nest)?),
            Field::$field("BlkioDeviceWriteBps", Shape::Slice(&Shape::PtrStruct(THROTTLE_DEVICE)) $(, $nest)?),
            Field::$field("BlkioDeviceReadIOps", Shape::Slice(&Shape::PtrStruct(THROTTLE_DEVICE)) $(, $nest)?),
            Field::$field("BlkioDeviceWriteIOps", Shape::Slice(&Shape::PtrStruct(THROTTLE_DEVICE)) $(, $nest)?),
            Field::$field("CpuPeriod", Shape::Int $(, $nest)?),
            Field::$field("CpuQuota", Shape::Int $(, $nest)?),
            Field::$field("CpuRealtimePeriod", Shape::Int $(, $nest)?),
            Field::$field("CpuRealtimeRuntime", Shape::Int $(, $nest)?),
            Field::$field("CpusetMems", Shape::Str $(, $nest)?),
            Field::$field("KernelMemory", Shape::Int $(, $nest)?),
            Field::$field("KernelMemoryTCP", Shape::Int $(, $nest)?),
            Field::$field("MemoryReservation", Shape::Int $(, $nest)?),
            Field::$field("MemorySwappiness", Shape::Opt(&Shape::Int) $(, $nest)?),
            Field::$field("OomKillDisable", Shape::Opt(&Shape::Bool) $(, $nest)?),
            Field::$field("Ulimits", Shape::Slice(&Shape::PtrStruct(ULIMIT)) $(, $nest)?),
            Field::$field("CpuCount", Shape::Int $(, $nest)?),
            Field::$field("CpuPercent", Shape::Int $(, $nest)?),
            Field::$field("IOMaximumIOps", Shape::Uint $(, $nest)?),
            Field::$field("IOMaximumBandwidth", Shape::Uint $(, $nest)?),
        ]
    };
}

/// The fields of `container.HostConfig` (besides its embedded `Resources`)
/// that the model reads.
macro_rules! host_config_fields {
    ($field:ident $(, $nest:literal)?) => {
        [
            Field::$field("Binds", STR_LIST $(, $nest)?),
            Field::$field("NetworkMode", Shape::Str $(, $nest)?),
            Field::$field("PortBindings", Shape::Map(&Shape::Slice(&Shape::Struct(PORT_BINDING))) $(, $nest)?),
            Field::$field("VolumeDriver", Shape::Str $(, $nest)?),
            Field::$field("VolumesFrom", STR_LIST $(, $nest)?),
            Field::$field("Links", STR_LIST $(, $nest)?),
            Field::$field("Annotations", STR_MAP $(, $nest)?),
            Field::$field("CapAdd", Shape::StrSlice $(, $nest)?),
            Field::$field("CapDrop", Shape::StrSlice $(, $nest)?),
            Field::$field("CgroupnsMode", Shape::Str $(, $nest)?),
            Field::$field("IpcMode", Shape::Str $(, $nest)?),
            Field::$field("Cgroup", Shape::Str $(, $nest)?),
            Field::$field("PidMode", Shape::Str $(, $nest)?),
            Field::$field("Privileged", Shape::Bool $(, $nest)?),
            Field::$field("PublishAllPorts", Shape::Bool $(, $nest)?),
            Field::$field("ReadonlyRootfs", Shape::Bool $(, $nest)?),
            Field::$field("SecurityOpt", STR_LIST $(, $nest)?),
            Field::$field("StorageOpt", STR_MAP $(, $nest)?),
            Field::$field("Tmpfs", STR_MAP $(, $nest)?),
            Field::$field("UTSMode", Shape::Str $(, $nest)?),
            Field::$field("UsernsMode", Shape::Str $(, $nest)?),
            Field::$field("Sysctls", STR_MAP $(, $nest)?),
            Field::$field("Runtime", Shape::Str $(, $nest)?),
            Field::$field("Isolation", Shape::Str $(, $nest)?),
            Field::$field("Mounts", Shape::Slice(&Shape::Struct(MOUNT)) $(, $nest)?),
            Field::$field("MaskedPaths", STR_LIST $(, $nest)?),
            Field::$field("ReadonlyPaths", STR_LIST $(, $nest)?),
            Field::$field("Init", Shape::Opt(&Shape::Bool) $(, $nest)?),
            Field::$field("LogConfig", Shape::Struct(LOG_CONFIG) $(, $nest)?),
        ]
    };
}

/// The rest of `container.HostConfig`.
macro_rules! host_config_rest_fields {
    ($field:ident $(, $nest:literal)?) => {
        [
            Field::$field("ContainerIDFile", Shape::Str $(, $nest)?),
            Field::$field("RestartPolicy", Shape::Struct(RESTART_POLICY) $(, $nest)?),
            Field::$field("AutoRemove", Shape::Bool $(, $nest)?),
            Field::$field("ConsoleSize", Shape::Slice(&Shape::Uint) $(, $nest)?),
            Field::$field("Dns", STR_LIST $(, $nest)?),
            Field::$field("DnsOptions", STR_LIST $(, $nest)?),
            Field::$field("DnsSearch", STR_LIST $(, $nest)?),
            Field::$field("ExtraHosts", STR_LIST $(, $nest)?),
            Field::$field("GroupAdd", STR_LIST $(, $nest)?),
            Field::$field("OomScoreAdj", Shape::Int $(, $nest)?),
            Field::$field("ShmSize", Shape::Int $(, $nest)?),
        ]
    };
}

const HOST_CONFIG_OWN: [Field; 29] = host_config_fields!(new);
const RESOURCES_OWN: [Field; 9] = resources_fields!(new);
const HOST_CONFIG_REST: [Field; 11] = host_config_rest_fields!(new);
const RESOURCES_REST: [Field; 22] = resources_rest_fields!(new);
const HOST_CONFIG_LEAN: [Field; 38] = concat_fields::<38>(&HOST_CONFIG_OWN, &RESOURCES_OWN);
const HOST_CONFIG_OTHER: [Field; 33] = concat_fields::<33>(&HOST_CONFIG_REST, &RESOURCES_REST);

/// `container.HostConfig`: the fields the model reads.
pub const HOST_CONFIG: &[Field] = &HOST_CONFIG_LEAN;

/// `container.HostConfig`, whole.
pub const HOST_CONFIG_ALL: &[Field] = &concat_fields::<71>(&HOST_CONFIG_LEAN, &HOST_CONFIG_OTHER);

/// The key under which the create request's deprecated top-level host
/// config fields are kept in the canonical output.
pub const TOP_LEVEL_HOST_CONFIG: &str = "~TopLevelHostConfig";

const HOST_CONFIG_PROMOTED: [Field; 29] = host_config_fields!(nested, "~TopLevelHostConfig");
const RESOURCES_PROMOTED: [Field; 9] = resources_fields!(nested, "~TopLevelHostConfig");
const HOST_CONFIG_REST_PROMOTED: [Field; 11] =
    host_config_rest_fields!(nested, "~TopLevelHostConfig");
const RESOURCES_REST_PROMOTED: [Field; 22] = resources_rest_fields!(nested, "~TopLevelHostConfig");

/// `network.NetworkingConfig`: the model reads the networks a new
/// container is attached to (API 1.44 attaches it to every one), and of
/// their endpoint settings only the network.
const NETWORKING_CONFIG: &[Field] = &[Field::new(
    "EndpointsConfig",
    Shape::Map(&Shape::PtrStruct(ENDPOINT_SETTINGS)),
)];

/// `network.NetworkingConfig`, whole.
const NETWORKING_CONFIG_ALL: &[Field] = &[Field::new(
    "EndpointsConfig",
    Shape::Map(&Shape::PtrStruct(ENDPOINT_SETTINGS_ALL)),
)];

/// Of `network.EndpointSettings`, the network the daemon connects to:
/// `NetworkID`, when set, wins over the name the settings are keyed by
/// (moby `getNetworkID`, for user-defined networks).
const ENDPOINT_SETTINGS: &[Field] = &[Field::new("NetworkID", Shape::Str)];

/// The rest of `network.EndpointSettings`.
const ENDPOINT_SETTINGS_REST: &[Field] = &[
    Field::new("IPAMConfig", Shape::PtrStruct(ENDPOINT_IPAM)),
    Field::new("Links", STR_LIST),
    Field::new("Aliases", STR_LIST),
    Field::new("MacAddress", Shape::Str),
    Field::new("DriverOpts", STR_MAP),
    Field::new("GwPriority", Shape::Int),
    Field::new("EndpointID", Shape::Str),
    Field::new("Gateway", Shape::Str),
    Field::new("IPAddress", Shape::Str),
    Field::new("IPPrefixLen", Shape::Int),
    Field::new("IPv6Gateway", Shape::Str),
    Field::new("GlobalIPv6Address", Shape::Str),
    Field::new("GlobalIPv6PrefixLen", Shape::Int),
    Field::new("DNSNames", STR_LIST),
];

const ENDPOINT_SETTINGS_ALL: &[Field] =
    &concat_fields::<15>(ENDPOINT_SETTINGS, ENDPOINT_SETTINGS_REST);

/// The body of `POST /networks/{id}/disconnect` (`types.NetworkDisconnect`).
pub const NETWORK_DISCONNECT: &[Field] = &[
    Field::new("Container", Shape::Str),
    Field::new("Force", Shape::Bool),
];

/// The body of `POST /networks/{id}/connect` (`types.NetworkConnect`).
pub const NETWORK_CONNECT: &[Field] = &[
    Field::new("Container", Shape::Str),
    Field::new("EndpointConfig", Shape::PtrStruct(ENDPOINT_SETTINGS)),
];

/// The body of `POST /networks/{id}/connect`, whole.
pub const NETWORK_CONNECT_ALL: &[Field] = &[
    Field::new("Container", Shape::Str),
    Field::new("EndpointConfig", Shape::PtrStruct(ENDPOINT_SETTINGS_ALL)),
];

/// `container.LogConfig`: the log driver and its options, some of which
/// name a socket on the host that the daemon connects to.
const LOG_CONFIG: &[Field] = &[
    Field::new("Type", Shape::Str),
    Field::new("Config", STR_MAP),
];

// `ContainerConfigWrapper`'s own fields, once over the fields the model
// reads and once over the whole types.
const WRAPPER_OWN: [Field; 3] = [
    Field::new("HostConfig", Shape::PtrStruct(HOST_CONFIG)),
    Field::new("Cpuset", Shape::Str),
    Field::new("NetworkingConfig", Shape::PtrStruct(NETWORKING_CONFIG)),
];
const WRAPPER_OWN_ALL: [Field; 3] = [
    Field::new("HostConfig", Shape::PtrStruct(HOST_CONFIG_ALL)),
    Field::new("Cpuset", Shape::Str),
    Field::new("NetworkingConfig", Shape::PtrStruct(NETWORKING_CONFIG_ALL)),
];

const WRAPPER_CONFIG: [Field; 8] = concat_fields::<8>(&WRAPPER_OWN, CONFIG);
const WRAPPER_HOST: [Field; 38] = concat_fields::<38>(&HOST_CONFIG_PROMOTED, &RESOURCES_PROMOTED);
const WRAPPER_LEAN: [Field; 46] = concat_fields::<46>(&WRAPPER_CONFIG, &WRAPPER_HOST);

/// The body of `POST /containers/create`: the fields the model reads.
///
/// Daemons up to 24.0 decode it into `runconfig.ContainerConfigWrapper`,
/// which embeds `*container.HostConfig` next to the `HostConfig` field: host
/// settings written at the top level of the body are applied when the body
/// has no `HostConfig` object. `{"Image":"x","Binds":["/:/host"]}` mounts
/// the host's root on those daemons, so both places are read.
pub const CREATE_REQUEST: &[Field] = &WRAPPER_LEAN;

const WRAPPER_CONFIG_ALL: [Field; 28] =
    concat_fields::<28>(&WRAPPER_OWN_ALL, &concat_fields::<25>(CONFIG, CONFIG_REST));
const WRAPPER_HOST_REST: [Field; 33] =
    concat_fields::<33>(&HOST_CONFIG_REST_PROMOTED, &RESOURCES_REST_PROMOTED);

/// The body of `POST /containers/create`, whole.
pub const CREATE_REQUEST_ALL: &[Field] = &concat_fields::<99>(
    &WRAPPER_CONFIG_ALL,
    &concat_fields::<71>(&WRAPPER_HOST, &WRAPPER_HOST_REST),
);

/// The body of `POST /containers/{id}/exec` (`container.ExecOptions`).
pub const EXEC_CONFIG: &[Field] = &[
    Field::new("User", Shape::Str),
    Field::new("Privileged", Shape::Bool),
    Field::new("Tty", Shape::Bool),
    Field::new("AttachStdin", Shape::Bool),
    Field::new("AttachStderr", Shape::Bool),
    Field::new("AttachStdout", Shape::Bool),
    Field::new("Detach", Shape::Bool),
    Field::new("ConsoleSize", Shape::Opt(&Shape::Slice(&Shape::Uint))),
    Field::new("DetachKeys", Shape::Str),
    Field::new("Env", STR_LIST),
    Field::new("WorkingDir", Shape::Str),
    Field::new("Cmd", Shape::StrSlice),
];

const RESTART_POLICY: &[Field] = &[
    Field::new("Name", Shape::Str),
    Field::new("MaximumRetryCount", Shape::Int),
];

const UPDATE_OWN: [Field; 1] = [Field::new("RestartPolicy", Shape::Struct(RESTART_POLICY))];

/// The body of `POST /containers/{id}/update` (`container.UpdateConfig`):
/// the fields the model reads.
pub const UPDATE_CONFIG: &[Field] = &concat_fields::<10>(&UPDATE_OWN, &RESOURCES_OWN);

/// The body of `POST /containers/{id}/update`, whole.
pub const UPDATE_CONFIG_ALL: &[Field] = &concat_fields::<32>(
    &concat_fields::<10>(&UPDATE_OWN, &RESOURCES_OWN),
    &RESOURCES_REST,
);

/// The body of `POST /volumes/create` (`volume.CreateOptions`).
pub const VOLUME_CREATE: &[Field] = &[
    Field::new("Name", Shape::Str),
    Field::new("Driver", Shape::Str),
    Field::new("DriverOpts", STR_MAP),
    Field::new("Labels", STR_MAP),
    Field::new("ClusterVolumeSpec", Shape::Any),
];

const CONFIG_REFERENCE: &[Field] = &[Field::new("Network", Shape::Str)];

/// `types.NetworkCreateRequest`: what decides where the network's
/// containers end up.
pub const NETWORK_CREATE: &[Field] = &[
    Field::new("Name", Shape::Str),
    Field::new("Driver", Shape::Str),
    Field::new("ConfigOnly", Shape::Bool),
    Field::new("ConfigFrom", Shape::PtrStruct(CONFIG_REFERENCE)),
    Field::new("Options", Shape::Map(&Shape::Str)),
];

const SELINUX_CONTEXT: &[Field] = &[
    Field::new("Disable", Shape::Bool),
    Field::new("User", Shape::Str),
    Field::new("Role", Shape::Str),
    Field::new("Type", Shape::Str),
    Field::new("Level", Shape::Str),
];

const MODE_ONLY: &[Field] = &[Field::new("Mode", Shape::Str)];

/// `swarm.SeccompOpts`: `Profile` is a `[]byte`, base64 in JSON.
const SECCOMP_OPTS: &[Field] = &[
    Field::new("Mode", Shape::Str),
    Field::new("Profile", Shape::Str),
];

const PRIVILEGES: &[Field] = &[
    Field::new("CredentialSpec", Shape::Any),
    Field::new("SELinuxContext", Shape::PtrStruct(SELINUX_CONTEXT)),
    Field::new("Seccomp", Shape::PtrStruct(SECCOMP_OPTS)),
    Field::new("AppArmor", Shape::PtrStruct(MODE_ONLY)),
    Field::new("NoNewPrivileges", Shape::Bool),
];

const CONTAINER_SPEC: &[Field] = &[
    Field::new("Image", Shape::Str),
    Field::new("Labels", STR_MAP),
    Field::new("Command", STR_LIST),
    Field::new("Args", STR_LIST),
    Field::new("Hostname", Shape::Str),
    Field::new("Env", STR_LIST),
    Field::new("Dir", Shape::Str),
    Field::new("User", Shape::Str),
    Field::new("Groups", STR_LIST),
    Field::new("Privileges", Shape::PtrStruct(PRIVILEGES)),
    Field::new("Init", Shape::Opt(&Shape::Bool)),
    Field::new("ReadOnly", Shape::Bool),
    Field::new("Mounts", Shape::Slice(&Shape::Struct(MOUNT))),
    Field::new("Isolation", Shape::Str),
    Field::new("Sysctls", STR_MAP),
    Field::new("CapabilityAdd", STR_LIST),
    Field::new("CapabilityDrop", STR_LIST),
    Field::new("Ulimits", Shape::Slice(&Shape::PtrStruct(ULIMIT))),
];

const LIMIT: &[Field] = &[
    Field::new("NanoCPUs", Shape::Int),
    Field::new("MemoryBytes", Shape::Int),
    Field::new("Pids", Shape::Int),
];

const TASK_RESOURCES: &[Field] = &[
    Field::new("Limits", Shape::PtrStruct(LIMIT)),
    Field::new("Reservations", Shape::Any),
];

const NETWORK_ATTACHMENT: &[Field] = &[Field::new("Target", Shape::Str)];

const TASK_SPEC: &[Field] = &[
    Field::new("ContainerSpec", Shape::PtrStruct(CONTAINER_SPEC)),
    Field::new("PluginSpec", Shape::Any),
    Field::new("NetworkAttachmentSpec", Shape::Any),
    Field::new("Resources", Shape::PtrStruct(TASK_RESOURCES)),
    Field::new("Runtime", Shape::Str),
    Field::new("Networks", Shape::Slice(&Shape::Struct(NETWORK_ATTACHMENT))),
];

const PORT_CONFIG: &[Field] = &[
    Field::new("Name", Shape::Str),
    Field::new("Protocol", Shape::Str),
    Field::new("TargetPort", Shape::Uint),
    Field::new("PublishedPort", Shape::Uint),
    Field::new("PublishMode", Shape::Str),
];

const ENDPOINT_SPEC: &[Field] = &[
    Field::new("Mode", Shape::Str),
    Field::new("Ports", Shape::Slice(&Shape::Struct(PORT_CONFIG))),
];

/// The body of `POST /services/create` and `/services/{id}/update`
/// (`swarm.ServiceSpec`, with its embedded `Annotations`).
pub const SERVICE_SPEC: &[Field] = &[
    Field::new("Name", Shape::Str),
    Field::new("Labels", STR_MAP),
    Field::new("TaskTemplate", Shape::Struct(TASK_SPEC)),
    Field::new("EndpointSpec", Shape::PtrStruct(ENDPOINT_SPEC)),
    Field::new("Networks", Shape::Slice(&Shape::Struct(NETWORK_ATTACHMENT))),
];

/// The rest of `swarm.ContainerSpec`.
const CONTAINER_SPEC_REST: &[Field] = &[
    Field::new("StopSignal", Shape::Str),
    Field::new("TTY", Shape::Bool),
    Field::new("OpenStdin", Shape::Bool),
    Field::new("StopGracePeriod", Shape::Opt(&Shape::Int)),
    Field::new("Healthcheck", Shape::PtrStruct(HEALTH_CONFIG)),
    Field::new("Hosts", STR_LIST),
    Field::new("DNSConfig", Shape::PtrStruct(DNS_CONFIG)),
    Field::new("Secrets", Shape::Slice(&Shape::PtrStruct(SECRET_REFERENCE))),
    Field::new(
        "Configs",
        Shape::Slice(&Shape::PtrStruct(SWARM_CONFIG_REFERENCE)),
    ),
    Field::new("OomScoreAdj", Shape::Int),
];

const CONTAINER_SPEC_ALL: &[Field] = &concat_fields::<28>(CONTAINER_SPEC, CONTAINER_SPEC_REST);

/// `swarm.DNSConfig`.
const DNS_CONFIG: &[Field] = &[
    Field::new("Nameservers", STR_LIST),
    Field::new("Search", STR_LIST),
    Field::new("Options", STR_LIST),
];

/// `swarm.SecretReferenceFileTarget` and its config twin.
const FILE_TARGET: &[Field] = &[
    Field::new("Name", Shape::Str),
    Field::new("UID", Shape::Str),
    Field::new("GID", Shape::Str),
    Field::new("Mode", Shape::Uint),
];

/// `swarm.SecretReference`.
const SECRET_REFERENCE: &[Field] = &[
    Field::new("File", Shape::PtrStruct(FILE_TARGET)),
    Field::new("SecretID", Shape::Str),
    Field::new("SecretName", Shape::Str),
];

/// `swarm.ConfigReference`.
const SWARM_CONFIG_REFERENCE: &[Field] = &[
    Field::new("File", Shape::PtrStruct(FILE_TARGET)),
    Field::new("Runtime", Shape::Any),
    Field::new("ConfigID", Shape::Str),
    Field::new("ConfigName", Shape::Str),
];

/// `swarm.NetworkAttachmentConfig`, whole.
const NETWORK_ATTACHMENT_ALL: &[Field] = &[
    Field::new("Target", Shape::Str),
    Field::new("Aliases", STR_LIST),
    Field::new("DriverOpts", STR_MAP),
];

/// `swarm.Resources` (a task's reservations).
const RESERVATIONS: &[Field] = &[
    Field::new("NanoCPUs", Shape::Int),
    Field::new("MemoryBytes", Shape::Int),
    Field::new("GenericResources", Shape::Any),
];

/// `swarm.ResourceRequirements`, whole.
const TASK_RESOURCES_ALL: &[Field] = &[
    Field::new("Limits", Shape::PtrStruct(LIMIT)),
    Field::new("Reservations", Shape::PtrStruct(RESERVATIONS)),
];

/// `swarm.RestartPolicy`.
const SWARM_RESTART_POLICY: &[Field] = &[
    Field::new("Condition", Shape::Str),
    Field::new("Delay", Shape::Opt(&Shape::Int)),
    Field::new("MaxAttempts", Shape::Opt(&Shape::Uint)),
    Field::new("Window", Shape::Opt(&Shape::Int)),
];

/// `swarm.Placement`.
const PLACEMENT: &[Field] = &[
    Field::new("Constraints", STR_LIST),
    Field::new("Preferences", Shape::Any),
    Field::new("MaxReplicas", Shape::Uint),
    Field::new("Platforms", Shape::Any),
];

/// `swarm.TaskSpec`, whole.
const TASK_SPEC_ALL: &[Field] = &[
    Field::new("ContainerSpec", Shape::PtrStruct(CONTAINER_SPEC_ALL)),
    Field::new("PluginSpec", Shape::Any),
    Field::new("NetworkAttachmentSpec", Shape::Any),
    Field::new("Resources", Shape::PtrStruct(TASK_RESOURCES_ALL)),
    Field::new("RestartPolicy", Shape::PtrStruct(SWARM_RESTART_POLICY)),
    Field::new("Placement", Shape::PtrStruct(PLACEMENT)),
    Field::new(
        "Networks",
        Shape::Slice(&Shape::Struct(NETWORK_ATTACHMENT_ALL)),
    ),
    Field::new("LogDriver", Shape::PtrStruct(DRIVER)),
    Field::new("ForceUpdate", Shape::Uint),
    Field::new("Runtime", Shape::Str),
];

/// `swarm.ReplicatedService`.
const REPLICATED: &[Field] = &[Field::new("Replicas", Shape::Opt(&Shape::Uint))];

/// `swarm.ServiceMode`.
const SERVICE_MODE: &[Field] = &[
    Field::new("Replicated", Shape::PtrStruct(REPLICATED)),
    Field::new("Global", Shape::Any),
    Field::new("ReplicatedJob", Shape::Any),
    Field::new("GlobalJob", Shape::Any),
];

/// `swarm.UpdateConfig` (updates and rollbacks).
const SWARM_UPDATE_CONFIG: &[Field] = &[
    Field::new("Parallelism", Shape::Uint),
    Field::new("Delay", Shape::Int),
    Field::new("FailureAction", Shape::Str),
    Field::new("Monitor", Shape::Int),
    Field::new("MaxFailureRatio", Shape::Float),
    Field::new("Order", Shape::Str),
];

/// The body of `POST /services/create` and `/services/{id}/update`, whole.
pub const SERVICE_SPEC_ALL: &[Field] = &[
    Field::new("Name", Shape::Str),
    Field::new("Labels", STR_MAP),
    Field::new("TaskTemplate", Shape::Struct(TASK_SPEC_ALL)),
    Field::new("Mode", Shape::Struct(SERVICE_MODE)),
    Field::new("UpdateConfig", Shape::PtrStruct(SWARM_UPDATE_CONFIG)),
    Field::new("RollbackConfig", Shape::PtrStruct(SWARM_UPDATE_CONFIG)),
    Field::new("EndpointSpec", Shape::PtrStruct(ENDPOINT_SPEC)),
    Field::new(
        "Networks",
        Shape::Slice(&Shape::Struct(NETWORK_ATTACHMENT_ALL)),
    ),
];

/// The body of `POST /containers/{id}/start` on API versions before 1.24,
/// which the daemon still honours: a whole `HostConfig`.
pub const START_HOST_CONFIG: &[Field] = HOST_CONFIG;

/// Concatenates two field lists at compile time.
const fn concat_fields<const N: usize>(a: &[Field], b: &[Field]) -> [Field; N] {
    assert!(a.len() + b.len() == N, "field list length mismatch");
    let mut out = [Field::new("", Shape::Any); N];
    let mut i = 0;
    while i < a.len() {
        out[i] = a[i];
        i += 1;
    }
    let mut j = 0;
    while j < b.len() {
        out[i + j] = b[j];
        j += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gojson::fold_key;

    #[test]
    fn no_two_fields_of_a_struct_fold_alike() {
        for fields in [
            CREATE_REQUEST,
            HOST_CONFIG,
            EXEC_CONFIG,
            UPDATE_CONFIG,
            SERVICE_SPEC,
        ] {
            let mut seen = std::collections::HashSet::new();
            for f in fields {
                assert!(seen.insert(fold_key(f.name)), "duplicate field {}", f.name);
            }
        }
    }
}

#[cfg(test)]
mod whole_types {
    use super::*;

    fn names(fields: &[Field]) -> Vec<&'static str> {
        fields.iter().map(|f| f.name).collect()
    }

    /// The whole types hold every field the model reads, once: the gate's
    /// reading and a Rego policy's agree.
    #[test]
    fn whole_types_extend_the_read_ones() {
        for (lean, all, size) in [
            (CREATE_REQUEST, CREATE_REQUEST_ALL, 99),
            (HOST_CONFIG, HOST_CONFIG_ALL, 71),
            (UPDATE_CONFIG, UPDATE_CONFIG_ALL, 32),
            (SERVICE_SPEC, SERVICE_SPEC_ALL, 8),
            (CONTAINER_SPEC, CONTAINER_SPEC_ALL, 28),
            (NETWORK_CONNECT, NETWORK_CONNECT_ALL, 2),
        ] {
            assert_eq!(all.len(), size);
            let whole = names(all);
            for name in names(lean) {
                assert!(whole.contains(&name), "{name} missing from the whole type");
            }
            let mut unique = names(all);
            unique.sort_unstable();
            unique.dedup();
            assert_eq!(unique.len(), all.len(), "a field listed twice");
        }
        assert_eq!(CONFIG.len() + CONFIG_REST.len(), 25);
    }
}
