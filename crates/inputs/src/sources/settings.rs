//! The one table from what a user writes to the container-create request
//! the docker CLI or Compose sends for it.
//!
//! Each row is a setting: the API field it lands in, the `docker run` flags
//! and the compose keys that write it, and the shape of the value. Both
//! front ends read this table, so a new setting is one new row. A flag or
//! key that is not here does not reach anything the rules judge; the
//! docker CLI flags of that kind are listed, for parsing alone, in
//! [`super::run_line`].

use serde_json::{json, Map, Value as Json};

use super::syntax::{
    compose_bool, compose_is_path, parse_bool, parse_bytes, parse_port, split_compose_volume,
    Reader,
};
use super::{Draft, Location};
use crate::yaml::Node;

/// Where a setting lands in the create request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Field {
    /// A top-level field (`User`, `Env`).
    Config(&'static str),
    /// A `HostConfig` field.
    Host(&'static str),
}

impl Field {
    /// The field as the create request spells it.
    pub(crate) fn api_name(self) -> String {
        match self {
            Field::Config(key) => key.to_string(),
            Field::Host(key) => format!("HostConfig.{key}"),
        }
    }
}

/// How a written value becomes the field's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shape {
    /// A string; the last one written wins.
    Text,
    /// A network from a list flag (`--network`), whose first value is the
    /// mode; on a run line it may be the CLI's long form
    /// (`name=host,alias=web`, read as CSV).
    Network,
    /// A boolean: Go's `strconv.ParseBool` on run lines, a YAML boolean in
    /// compose files.
    Bool,
    /// A byte size (`512m`).
    Bytes,
    /// An integer.
    Count,
    /// A list of strings, one per item.
    List,
    /// `KEY=VALUE` items, or a mapping, into a map field.
    Pairs,
    /// `KEY=VALUE` items, or a mapping, into the environment list.
    Env,
    /// A `-v` bind or volume spec, sent as `Binds`.
    Bind,
    /// A compose volume, short or long syntax, sent as a mount.
    ComposeVolume,
    /// A `--mount` CSV spec.
    MountCsv,
    /// A published port, `[[IP:]HOST:]CONTAINER[/PROTO]` or compose's long
    /// syntax.
    Port,
    /// A device, `HOST[:CONTAINER[:PERMS]]` or compose's long syntax.
    Device,
    /// A tmpfs, `PATH[:OPTIONS]`.
    Tmpfs,
    /// `--gpus` / `gpus:`: a request for GPU devices.
    Gpus,
    /// `deploy.resources.reservations.devices`: device requests.
    DeviceReservation,
    /// `--use-api-socket`: the daemon's socket bound into the container.
    ApiSocket,
    /// A `--security-opt`: a seccomp profile named by its file is sent as
    /// the file's content, as the CLI and Compose send it.
    SecurityOpt,
    /// A compose secret: a file-backed one is the host file bound
    /// read-only at `/run/secrets/<target or name>`.
    Secret,
    /// A compose config: a file-backed one is the host file bound
    /// read-only at `/<name>` or its target.
    ComposeConfig,
}

/// One setting.
#[derive(Debug)]
pub(crate) struct Setting {
    /// Where it lands.
    pub field: Field,
    /// How its value is read.
    pub shape: Shape,
    /// The long `docker run` flags that write it, canonical first.
    pub flags: &'static [&'static str],
    /// Its one-letter flag.
    pub short: Option<char>,
    /// The compose keys that write it, dotted when nested, in the order
    /// Compose applies them (a later one overrides).
    pub compose: &'static [&'static str],
}

const fn row(
    field: Field,
    shape: Shape,
    flags: &'static [&'static str],
    short: Option<char>,
    compose: &'static [&'static str],
) -> Setting {
    Setting {
        field,
        shape,
        flags,
        short,
        compose,
    }
}

use Field::{Config, Host};
use Shape::*;

/// Every setting that reaches the model. Sources: docker/cli
/// `cli/command/container/opts.go` (flags) and compose
/// `pkg/compose/create.go` (keys).
pub(crate) const SETTINGS: &[Setting] = &[
    row(Config("Image"), Text, &[], None, &["image"]),
    row(Config("User"), Text, &["user"], Some('u'), &["user"]),
    row(Config("Env"), Env, &["env"], Some('e'), &["environment"]),
    row(Config("Labels"), Pairs, &["label"], Some('l'), &["labels"]),
    row(
        Host("Privileged"),
        Bool,
        &["privileged"],
        None,
        &["privileged"],
    ),
    row(
        Host("ReadonlyRootfs"),
        Bool,
        &["read-only"],
        None,
        &["read_only"],
    ),
    row(
        Host("PublishAllPorts"),
        Bool,
        &["publish-all"],
        Some('P'),
        &[],
    ),
    row(Host("Runtime"), Text, &["runtime"], None, &["runtime"]),
    row(
        Host("CgroupParent"),
        Text,
        &["cgroup-parent"],
        None,
        &["cgroup_parent"],
    ),
    row(
        Host("NetworkMode"),
        Network,
        &["network", "net"],
        None,
        &["network_mode"],
    ),
    row(Host("PidMode"), Text, &["pid"], None, &["pid"]),
    row(Host("IpcMode"), Text, &["ipc"], None, &["ipc"]),
    row(Host("UTSMode"), Text, &["uts"], None, &["uts"]),
    row(
        Host("UsernsMode"),
        Text,
        &["userns"],
        None,
        &["userns_mode"],
    ),
    row(Host("CgroupnsMode"), Text, &["cgroupns"], None, &["cgroup"]),
    row(
        Host("Memory"),
        Bytes,
        &["memory"],
        Some('m'),
        &["mem_limit", "deploy.resources.limits.memory"],
    ),
    row(
        Host("PidsLimit"),
        Count,
        &["pids-limit"],
        None,
        &["pids_limit", "deploy.resources.limits.pids"],
    ),
    row(Host("CapAdd"), List, &["cap-add"], None, &["cap_add"]),
    row(Host("CapDrop"), List, &["cap-drop"], None, &["cap_drop"]),
    row(
        Host("SecurityOpt"),
        SecurityOpt,
        &["security-opt"],
        None,
        &["security_opt"],
    ),
    row(
        Host("LogConfig.Type"),
        Text,
        &["log-driver"],
        None,
        &["logging.driver"],
    ),
    row(
        Host("LogConfig.Config"),
        Pairs,
        &["log-opt"],
        None,
        &["logging.options"],
    ),
    row(
        Host("DeviceCgroupRules"),
        List,
        &["device-cgroup-rule"],
        None,
        &["device_cgroup_rules"],
    ),
    row(
        Host("VolumesFrom"),
        List,
        &["volumes-from"],
        None,
        &["volumes_from"],
    ),
    row(
        Host("VolumeDriver"),
        Text,
        &["volume-driver"],
        None,
        &["volume_driver"],
    ),
    row(Host("Sysctls"), Pairs, &["sysctl"], None, &["sysctls"]),
    row(
        Host("Annotations"),
        Pairs,
        &["annotation"],
        None,
        &["annotations"],
    ),
    row(Host("Devices"), Device, &["device"], None, &["devices"]),
    row(
        Host("PortBindings"),
        Port,
        &["publish"],
        Some('p'),
        &["ports"],
    ),
    row(Host("Tmpfs"), Tmpfs, &["tmpfs"], None, &["tmpfs"]),
    row(Host("Binds"), Bind, &["volume"], Some('v'), &[]),
    row(Host("Binds"), ApiSocket, &["use-api-socket"], None, &[]),
    row(Host("Mounts"), ComposeVolume, &[], None, &["volumes"]),
    row(Host("Mounts"), MountCsv, &["mount"], None, &[]),
    row(Host("DeviceRequests"), Gpus, &["gpus"], None, &["gpus"]),
    row(
        Host("DeviceRequests"),
        DeviceReservation,
        &[],
        None,
        &["deploy.resources.reservations.devices"],
    ),
    row(Host("Mounts"), Secret, &[], None, &["secrets"]),
    row(Host("Mounts"), ComposeConfig, &[], None, &["configs"]),
];

fn by_api_name(api: &str) -> Option<&'static Setting> {
    SETTINGS.iter().find(|s| s.field.api_name() == api)
}

/// The run flag (without dashes) of a setting a line can leave out, by its
/// API name (`HostConfig.Privileged`), for findings about what is missing.
pub fn unset_flag(api: &str) -> Option<&'static str> {
    by_api_name(api)?.flags.first().copied()
}

/// The compose key of a setting a service can leave out, by its API name.
pub fn unset_key(api: &str) -> Option<&'static str> {
    by_api_name(api)?.compose.first().copied()
}

/// A value as written: a word of a command line (or a `KEY=VALUE` entry),
/// or a YAML node.
#[derive(Debug)]
pub(crate) enum Written<'a> {
    /// Text.
    Word(String),
    /// A YAML value (a long-syntax mapping, a typed scalar).
    Yaml(&'a Node),
}

impl Written<'_> {
    fn text(&self) -> Result<String, String> {
        match self {
            Written::Word(text) => Ok(text.clone()),
            Written::Yaml(node) => node
                .as_str()
                .map(str::to_string)
                .ok_or_else(|| "expected a string".to_string()),
        }
    }

    fn node(&self) -> Option<&Node> {
        match self {
            Written::Yaml(node) if node.as_str().is_none() => Some(node),
            _ => None,
        }
    }
}

/// One written value of a setting: the value, what the user calls it
/// (`--volume /:/host`, `services.web.volumes[0]`) and where it is.
#[derive(Debug)]
pub(crate) struct Item<'a> {
    /// The value.
    pub written: Written<'a>,
    /// What the user calls it.
    pub label: String,
    /// Where.
    pub at: Location,
}

/// What a front end knows of the host paths and volumes a value names.
pub(crate) trait Surroundings {
    /// The absolute host path of a bind source, or what keeps it from being
    /// known (a shell expansion): `Err` names it.
    fn bind_source(&self, written: &str) -> Result<String, String>;

    /// A value as the user wrote it, where the front end stood something
    /// in for part of it.
    fn as_written(&self, value: &str) -> String {
        value.to_string()
    }

    /// The driver and options of a named volume the input defines.
    fn named_volume(&self, _name: &str) -> Option<(String, Map<String, Json>)> {
        None
    }

    /// The text of a seccomp profile file, as the CLI or Compose would
    /// read it; `Err` says why it cannot be read.
    fn read_profile(&self, path: &str) -> Result<String, String> {
        std::fs::read_to_string(path).map_err(|e| e.to_string())
    }

    /// The host file behind a top-level secret or config (`section` is
    /// `secrets` or `configs`); `None` when it has none (its content is
    /// copied in, or it is external).
    fn file_of(&self, _section: &str, _name: &str) -> Option<String> {
        None
    }
}

/// Writes one item of a setting into the draft; the error is the message.
pub(crate) fn apply(
    setting: &Setting,
    item: Item<'_>,
    around: &dyn Surroundings,
    draft: &mut Draft,
) -> Result<(), String> {
    let Item { written, label, at } = item;
    let (host, key) = match setting.field {
        Config(key) => (false, key),
        Host(key) => (true, key),
    };
    match setting.shape {
        Text => draft.set(host, key, json!(written.text()?), label, at),
        Network => {
            let text = written.text()?;
            let name = match &written {
                Written::Word(_) if text.contains('=') => csv_fields(&text)?
                    .iter()
                    .find_map(|f| f.strip_prefix("name=").map(str::to_string))
                    .ok_or_else(|| format!("invalid network {text:?}: no name"))?,
                _ => text,
            };
            if !draft.has(host, key) {
                draft.set(host, key, json!(name), label, at)
            }
        }
        Bool => {
            let value = match &written {
                Written::Word(text) => parse_bool(text).ok_or_else(|| {
                    format!("strconv.ParseBool: parsing {text:?}: invalid syntax")
                })?,
                Written::Yaml(node) => compose_bool(node)?,
            };
            draft.set(host, key, json!(value), label, at)
        }
        Bytes => {
            let text = written.text()?;
            let bytes = parse_bytes(&text).ok_or_else(|| format!("invalid size {text:?}"))?;
            draft.set(host, key, json!(bytes), label, at)
        }
        Count => {
            let text = written.text()?;
            let n: i64 = text
                .parse()
                .map_err(|_| format!("invalid number {text:?}"))?;
            draft.set(host, key, json!(n), label, at)
        }
        List => draft.push(host, key, json!(written.text()?), label, at),
        SecurityOpt => {
            let option = written.text()?;
            let reader = match written {
                Written::Word(_) => Reader::Cli,
                Written::Yaml(_) => Reader::Compose,
            };
            let value = match seccomp_profile_file(&option, reader) {
                Some(path) => {
                    let text = around
                        .read_profile(path)
                        .map_err(|e| format!("opening seccomp profile ({path}) failed: {e}"))?;
                    format!("seccomp={text}")
                }
                None => option,
            };
            draft.push(host, key, json!(value), label, at)
        }
        Pairs => {
            let text = written.text()?;
            let (k, v) = text.split_once('=').unwrap_or((&text, ""));
            draft.insert(host, key, k, json!(v), label, at)
        }
        Env => draft.push(host, key, json!(written.text()?), label, at),
        Bind => {
            let spec = written.text()?;
            let value = bind_spec(&spec, around, draft, &label)?;
            draft.push(host, key, json!(value), label, at)
        }
        ComposeVolume => {
            let mount = compose_volume(&written, around, draft, &label)?;
            draft.push(host, key, mount, label, at)
        }
        MountCsv => {
            let mount = mount_csv(&written.text()?, around, draft, &label)?;
            draft.push(host, key, mount, label, at)
        }
        Port => {
            let bindings = match (&written, written.node()) {
                (_, Some(node)) => {
                    let proto = match node.text("protocol").to_ascii_lowercase().as_str() {
                        "" => "tcp".to_string(),
                        p => p.to_string(),
                    };
                    vec![(
                        node.text("host_ip"),
                        node.text("published"),
                        format!("{}/{proto}", node.text("target")),
                    )]
                }
                (Written::Word(spec), None) => parse_port(spec, Reader::Cli)?,
                (Written::Yaml(_), None) => parse_port(&written.text()?, Reader::Compose)?,
            };
            for (ip, published, container) in bindings {
                draft.push_in_map(
                    key,
                    &container,
                    json!({"HostIp": ip, "HostPort": published}),
                    label.clone(),
                    at.clone(),
                )
            }
        }
        Device => {
            let (path_on_host, container, perms) = match written.node() {
                Some(node) => (
                    node.text("source"),
                    node.text("target"),
                    node.get("permissions")
                        .and_then(Node::as_str)
                        .unwrap_or("rwm")
                        .to_string(),
                ),
                None => {
                    let spec = written.text()?;
                    let mut parts = spec.splitn(3, ':');
                    let h = parts.next().unwrap_or_default().to_string();
                    let c = parts
                        .next()
                        .map(str::to_string)
                        .unwrap_or_else(|| h.clone());
                    (h, c, parts.next().unwrap_or("rwm").to_string())
                }
            };
            draft.push(
                host,
                key,
                json!({"PathOnHost": path_on_host, "PathInContainer": container, "CgroupPermissions": perms}),
                label,
                at,
            )
        }
        Tmpfs => {
            let spec = written.text()?;
            let (path, options) = spec.split_once(':').unwrap_or((&spec, ""));
            draft.insert(host, key, path, json!(options), label, at)
        }
        Gpus => draft.push(
            host,
            key,
            json!({"Count": -1, "Capabilities": [["gpu"]]}),
            label,
            at,
        ),
        DeviceReservation => {
            let node = written
                .node()
                .ok_or_else(|| "expected a mapping".to_string())?;
            let strings = |key: &str| -> Vec<String> {
                node.get(key)
                    .map(|c| {
                        c.items()
                            .iter()
                            .filter_map(Node::as_str)
                            .map(str::to_string)
                            .collect()
                    })
                    .unwrap_or_default()
            };
            let (capabilities, ids) = (strings("capabilities"), strings("device_ids"));
            let count = match node.get("count").and_then(Node::as_str) {
                None | Some("all") => -1,
                Some(n) => n.parse().map_err(|_| format!("invalid count {n:?}"))?,
            };
            draft.push(
                host,
                key,
                json!({"Driver": node.text("driver"), "Count": count, "DeviceIDs": ids, "Capabilities": [capabilities]}),
                label,
                at,
            )
        }
        ApiSocket => {
            if parse_bool(&written.text()?) == Some(true) {
                draft.push(
                    host,
                    key,
                    json!("/var/run/docker.sock:/var/run/docker.sock"),
                    label,
                    at,
                )
            }
        }
        Secret | ComposeConfig => {
            let (source, target) = match written.node() {
                Some(node) => (node.text("source"), node.text("target")),
                None => (written.text()?, String::new()),
            };
            let (section, directory) = match setting.shape {
                Secret => ("secrets", "/run/secrets/"),
                _ => ("configs", "/"),
            };
            // compose `pkg/compose/secrets.go`: a relative target is
            // under the section's directory.
            let target = match target.as_str() {
                "" => format!("{directory}{source}"),
                t if t.starts_with('/') => t.to_string(),
                t => format!("{directory}{t}"),
            };
            if let Some(file) = around.file_of(section, &source) {
                let mount = mount_object("bind", &file, &target, true, None, around, draft, &label);
                draft.push(host, key, mount, label, at)
            }
        }
    }
    Ok(())
}

/// The file a `seccomp=PATH` option names. The docker CLI
/// (`parseSecurityOpts`) reads any value but `unconfined` and `builtin` as
/// a file name, Compose (`create.go`) any value but `unconfined`; a value
/// that looks like JSON is a file name to both.
fn seccomp_profile_file(option: &str, reader: Reader) -> Option<&str> {
    let (key, value) = option.split_once('=').or_else(|| option.split_once(':'))?;
    let builtin = value == "builtin" && reader == Reader::Cli;
    (key == "seccomp" && value != "unconfined" && !builtin).then_some(value)
}

/// A `-v` spec, with a relative or expanded source resolved.
fn bind_spec(
    spec: &str,
    around: &dyn Surroundings,
    draft: &mut Draft,
    label: &str,
) -> Result<String, String> {
    let Some((source, rest)) = spec.split_once(':') else {
        return Ok(spec.to_string());
    };
    if !looks_like_path(source) {
        return Ok(spec.to_string());
    }
    Ok(match around.bind_source(source) {
        Ok(path) => format!("{path}:{rest}"),
        Err(why) => {
            draft.unresolved(label, &around.as_written(source), why);
            spec.to_string()
        }
    })
}

/// Whether a volume source is a host path rather than a volume name, as
/// the CLI and Compose tell them apart; a source with a shell expansion
/// counts as a path, since that is what it becomes.
fn looks_like_path(source: &str) -> bool {
    source.starts_with(['.', '/', '~', '$', '`'])
}

/// A compose volume, short (`./data:/data:ro`) or long syntax.
fn compose_volume(
    written: &Written<'_>,
    around: &dyn Surroundings,
    draft: &mut Draft,
    label: &str,
) -> Result<Json, String> {
    let (kind, source, target, read_only, propagation) = match written.node() {
        Some(node) => (
            node.text("type"),
            node.text("source"),
            dockgate_model::clean_path(&node.text("target")),
            match node.get("read_only") {
                Some(value) => compose_bool(value)?,
                None => false,
            },
            node.get("bind")
                .and_then(|b| b.get("propagation"))
                .and_then(Node::as_str)
                .map(str::to_string),
        ),
        None => {
            let spec = written.text()?;
            let parts = split_compose_volume(&spec);
            if parts.iter().any(String::is_empty) {
                return Err("empty section between colons".to_string());
            }
            let (source, target, mode) = match parts.as_slice() {
                [t] => ("", t.as_str(), ""),
                [s, t] => (s.as_str(), t.as_str(), ""),
                [s, t, m] => (s.as_str(), t.as_str(), m.as_str()),
                _ => return Err("too many colons".to_string()),
            };
            let kind = if compose_is_path(source) {
                "bind"
            } else {
                "volume"
            };
            // compose-go `populateFieldFromBuffer`: options apply in
            // order, so the last of `ro`/`rw` and of the propagations wins.
            let mut read_only = false;
            let mut propagation = None;
            for option in mode.split(',') {
                match option {
                    "ro" => read_only = true,
                    "rw" => read_only = false,
                    "shared" | "rshared" | "slave" | "rslave" | "private" | "rprivate" => {
                        propagation = Some(option.to_string())
                    }
                    _ => {}
                }
            }
            (
                kind.to_string(),
                source.to_string(),
                dockgate_model::clean_path(target),
                read_only,
                propagation,
            )
        }
    };
    Ok(mount_object(
        &kind,
        &source,
        &target,
        read_only,
        propagation,
        around,
        draft,
        label,
    ))
}

/// A mount as the API spells it, with the host side resolved.
#[allow(clippy::too_many_arguments)]
fn mount_object(
    kind: &str,
    source: &str,
    target: &str,
    read_only: bool,
    propagation: Option<String>,
    around: &dyn Surroundings,
    draft: &mut Draft,
    label: &str,
) -> Json {
    let mut mount = Map::new();
    mount.insert("Type".into(), json!(kind));
    mount.insert("Target".into(), json!(target));
    mount.insert("ReadOnly".into(), json!(read_only));
    match kind {
        "bind" => {
            let source = match around.bind_source(source) {
                Ok(path) => path,
                Err(why) => {
                    draft.unresolved(label, &around.as_written(source), why);
                    source.to_string()
                }
            };
            mount.insert("Source".into(), json!(source));
            if let Some(p) = propagation {
                mount.insert("BindOptions".into(), json!({ "Propagation": p }));
            }
        }
        "volume" => {
            mount.insert("Source".into(), json!(source));
            if let Some((driver, options)) = around.named_volume(source) {
                mount.insert(
                    "VolumeOptions".into(),
                    json!({"DriverConfig": {"Name": driver, "Options": options}}),
                );
            }
        }
        _ => {
            mount.insert("Source".into(), json!(source));
        }
    }
    Json::Object(mount)
}

/// `--mount type=bind,source=/x,target=/y,readonly,bind-propagation=rshared`.
fn mount_csv(
    spec: &str,
    around: &dyn Surroundings,
    draft: &mut Draft,
    label: &str,
) -> Result<Json, String> {
    let mut kind = "volume".to_string();
    let (mut source, mut target) = (String::new(), String::new());
    let mut read_only = false;
    let mut propagation = None;
    let mut driver = Map::new();
    let mut options = Map::new();
    let mut writable_below = false;
    for field in csv_fields(spec)? {
        let field = field.as_str();
        let (key, value) = field.split_once('=').unwrap_or((field, ""));
        match key.to_ascii_lowercase().as_str() {
            "type" => kind = value.to_string(),
            "source" | "src" => source = value.to_string(),
            "target" | "destination" | "dst" => target = value.to_string(),
            "readonly" | "ro" => {
                read_only = value.is_empty()
                    || parse_bool(value)
                        .ok_or_else(|| format!("invalid value for {key}: {value}"))?
            }
            "bind-propagation" => propagation = Some(value.to_string()),
            // `readonly,bind-recursive=writable` sends ReadOnlyNonRecursive:
            // what is mounted below the source stays writable.
            "bind-recursive" => writable_below = value == "writable",
            "volume-driver" => {
                driver.insert("Name".into(), json!(value));
            }
            "volume-opt" => {
                let (k, v) = value.split_once('=').unwrap_or((value, ""));
                options.insert(k.into(), json!(v));
            }
            _ => {}
        }
    }
    let mut mount = mount_object(
        &kind,
        &source,
        &target,
        read_only && !writable_below,
        propagation,
        around,
        draft,
        label,
    );
    if kind == "volume" && (!driver.is_empty() || !options.is_empty()) {
        driver.insert("Options".into(), Json::Object(options));
        mount["VolumeOptions"] = json!({ "DriverConfig": driver });
    }
    Ok(mount)
}

/// One line of CSV as Go's `encoding/csv` reads it, which is how the
/// docker CLI splits a `--mount` value: `"..."` quotes a field (commas and
/// all), `""` inside it is a quote, and a quote anywhere else is an error.
fn csv_fields(line: &str) -> Result<Vec<String>, String> {
    let mut fields = Vec::new();
    let mut chars = line.chars().peekable();
    loop {
        let mut field = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            loop {
                match chars.next() {
                    Some('"') if chars.peek() == Some(&'"') => {
                        chars.next();
                        field.push('"');
                    }
                    Some('"') => break,
                    Some(c) => field.push(c),
                    None => return Err("extraneous or missing \" in quoted-field".into()),
                }
            }
            match chars.next() {
                None => {
                    fields.push(field);
                    return Ok(fields);
                }
                Some(',') => {}
                Some(_) => return Err("extraneous or missing \" in quoted-field".into()),
            }
        } else {
            loop {
                match chars.next() {
                    None => {
                        fields.push(field);
                        return Ok(fields);
                    }
                    Some(',') => break,
                    Some('"') => return Err("bare \" in non-quoted-field".into()),
                    Some(c) => field.push(c),
                }
            }
        }
        fields.push(field);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mount_values_split_as_go_csv_does() {
        assert_eq!(
            csv_fields(r#"type=bind,"target=/h,type=volume",source=/"#).unwrap(),
            ["type=bind", "target=/h,type=volume", "source=/"]
        );
        assert_eq!(csv_fields(r#""a""b",c"#).unwrap(), [r#"a"b"#, "c"]);
        assert_eq!(
            csv_fields(r#"a"b"#).unwrap_err(),
            "bare \" in non-quoted-field"
        );
        assert_eq!(
            csv_fields(r#""a"b"#).unwrap_err(),
            "extraneous or missing \" in quoted-field"
        );
    }

    #[test]
    fn flags_and_keys_are_each_in_one_row() {
        let mut flags: Vec<&str> = SETTINGS
            .iter()
            .flat_map(|s| s.flags.iter().copied())
            .collect();
        let mut keys: Vec<&str> = SETTINGS
            .iter()
            .flat_map(|s| s.compose.iter().copied())
            .collect();
        let (n_flags, n_keys) = (flags.len(), keys.len());
        flags.sort_unstable();
        flags.dedup();
        keys.sort_unstable();
        keys.dedup();
        assert_eq!((flags.len(), keys.len()), (n_flags, n_keys));
    }

    #[test]
    fn unset_settings_are_named_for_both_front_ends() {
        assert_eq!(unset_flag("HostConfig.Privileged"), Some("privileged"));
        assert_eq!(unset_key("HostConfig.Privileged"), Some("privileged"));
        assert_eq!(unset_key("HostConfig.Memory"), Some("mem_limit"));
        assert_eq!(
            (unset_flag("Image"), unset_key("Image")),
            (None, Some("image"))
        );
        assert_eq!(unset_key("HostConfig.Binds"), None);
    }
}
