//! The Go types of the Docker API request bodies that dockgate reads, as
//! [`Shape`]s for the Go-compatible decoder.
//!
//! Field lists follow `api/types` in moby from 20.10 (API 1.41) to the newest
//! API. Fields that cannot change what a workload gets on the host are left
//! out: Go ignores unknown keys, and so does the decoder.

use crate::gojson::{Field, Shape};

const STR_LIST: Shape = Shape::Slice(&Shape::Str);
const STR_MAP: Shape = Shape::Map(&Shape::Str);

/// `container.Config`: of its fields only these change what the workload
/// gets (the image, its user, environment and anonymous volumes).
pub const CONFIG: &[Field] = &[
    Field::new("User", Shape::Str),
    Field::new("Env", STR_LIST),
    Field::new("Image", Shape::Str),
    Field::new("Volumes", Shape::Map(&Shape::Any)),
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
    Field::new("TmpfsOptions", Shape::Any),
    Field::new("ImageOptions", Shape::Any),
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

/// The fields of `container.Resources`, embedded in `HostConfig` and in
/// `UpdateConfig`.
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

/// The fields of `container.HostConfig` (with its embedded `Resources`).
macro_rules! host_config_fields {
    ($field:ident $(, $nest:literal)?) => {
        [
            Field::$field("Binds", STR_LIST $(, $nest)?),
            Field::$field("NetworkMode", Shape::Str $(, $nest)?),
            Field::$field("PortBindings", Shape::Map(&Shape::Slice(&Shape::Struct(PORT_BINDING))) $(, $nest)?),
            Field::$field("VolumeDriver", Shape::Str $(, $nest)?),
            Field::$field("VolumesFrom", STR_LIST $(, $nest)?),
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

const HOST_CONFIG_OWN: [Field; 28] = host_config_fields!(new);
const RESOURCES_OWN: [Field; 9] = resources_fields!(new);

/// `container.HostConfig`.
pub const HOST_CONFIG: &[Field] = &concat_fields::<37>(&HOST_CONFIG_OWN, &RESOURCES_OWN);

/// The key under which the create request's deprecated top-level host
/// config fields are kept in the canonical output.
pub const TOP_LEVEL_HOST_CONFIG: &str = "~TopLevelHostConfig";

const HOST_CONFIG_PROMOTED: [Field; 28] = host_config_fields!(nested, "~TopLevelHostConfig");
const RESOURCES_PROMOTED: [Field; 9] = resources_fields!(nested, "~TopLevelHostConfig");

// Of `NetworkingConfig` only the names of the networks are read (API 1.44
// attaches a new container to every one): the endpoint settings are
// skipped unbuilt, as they cost a sixth of a create's decoding.
const NETWORKING_CONFIG: &[Field] = &[Field::new(
    "EndpointsConfig",
    Shape::Map(&Shape::Struct(ENDPOINT_SETTINGS)),
)];

/// Of `network.EndpointSettings`, the network the daemon connects to:
/// `NetworkID`, when set, wins over the name the settings are keyed by
/// (moby `getNetworkID`, for user-defined networks).
const ENDPOINT_SETTINGS: &[Field] = &[Field::new("NetworkID", Shape::Str)];

/// The body of `POST /networks/{id}/connect` (`types.NetworkConnect`).
pub const NETWORK_CONNECT: &[Field] = &[
    Field::new("Container", Shape::Str),
    Field::new("EndpointConfig", Shape::PtrStruct(ENDPOINT_SETTINGS)),
];

/// `container.LogConfig`: the log driver and its options, some of which
/// name a socket on the host that the daemon connects to.
const LOG_CONFIG: &[Field] = &[
    Field::new("Type", Shape::Str),
    Field::new("Config", STR_MAP),
];

const WRAPPER_OWN: [Field; 3] = [
    Field::new("HostConfig", Shape::PtrStruct(HOST_CONFIG)),
    Field::new("Cpuset", Shape::Str),
    Field::new("NetworkingConfig", Shape::PtrStruct(NETWORKING_CONFIG)),
];

const WRAPPER_CONFIG: [Field; 7] = concat_fields::<7>(&WRAPPER_OWN, CONFIG);
const WRAPPER_HOST: [Field; 37] = concat_fields::<37>(&HOST_CONFIG_PROMOTED, &RESOURCES_PROMOTED);

/// The body of `POST /containers/create`.
///
/// Daemons up to 24.0 decode it into `runconfig.ContainerConfigWrapper`,
/// which embeds `*container.HostConfig` next to the `HostConfig` field: host
/// settings written at the top level of the body are applied when the body
/// has no `HostConfig` object. `{"Image":"x","Binds":["/:/host"]}` mounts
/// the host's root on those daemons, so both places are read.
pub const CREATE_REQUEST: &[Field] = &concat_fields::<44>(&WRAPPER_CONFIG, &WRAPPER_HOST);

/// The body of `POST /containers/{id}/exec` (`container.ExecOptions`).
pub const EXEC_CONFIG: &[Field] = &[
    Field::new("User", Shape::Str),
    Field::new("Privileged", Shape::Bool),
    Field::new("Tty", Shape::Bool),
    Field::new("AttachStdin", Shape::Bool),
    Field::new("AttachStderr", Shape::Bool),
    Field::new("AttachStdout", Shape::Bool),
    Field::new("Detach", Shape::Bool),
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

/// The body of `POST /containers/{id}/update` (`container.UpdateConfig`).
pub const UPDATE_CONFIG: &[Field] = &concat_fields::<10>(&UPDATE_OWN, &RESOURCES_OWN);

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
    Field::new("Ulimits", Shape::Any),
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
