//! Compose files (the Compose Specification), turned into the requests
//! `docker compose up` would send, one target per service.
//!
//! Variables are interpolated from the environment and a `.env` file
//! beside the first file; several files merge like `-f a.yml -f b.yml`;
//! the output of `docker compose config` reads the same way.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use dockgate_model::{clean_path, At, NamespaceMode, Resolution};
use serde_json::{json, Map, Value as Json};

use super::{parse_bytes, parse_port, Draft, InputError, Location, Target};
use crate::yaml::{self, Node, Pos, Value};

/// The files of one compose project.
pub struct Project {
    files: Vec<String>,
    dir: PathBuf,
    root: Node,
}

/// Reads `.env` lines: `KEY=VALUE`, comments, optional quotes.
pub fn read_dotenv(text: &str) -> HashMap<String, String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.strip_prefix("export ").unwrap_or(l).split_once('='))
        .map(|(k, v)| {
            let v = v.trim();
            let v = v
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .or_else(|| v.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')))
                .unwrap_or(v);
            (k.trim().to_string(), v.to_string())
        })
        .collect()
}

/// Interpolates `${VAR}`, `${VAR:-default}`, `${VAR-default}`,
/// `${VAR:?error}`, `${VAR?error}`, `$VAR` and `$$`.
pub fn interpolate(text: &str, env: &HashMap<String, String>) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        rest = &rest[i + 1..];
        if let Some(after) = rest.strip_prefix('$') {
            out.push('$');
            rest = after;
        } else if let Some(after) = rest.strip_prefix('{') {
            let end =
                closing_brace(after).ok_or_else(|| format!("unterminated variable in {text:?}"))?;
            let expr = &after[..end];
            rest = &after[end + 1..];
            out.push_str(&expand(expr, env)?);
        } else {
            let end = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(rest.len());
            if end == 0 {
                out.push('$');
            } else {
                out.push_str(env.get(&rest[..end]).map(String::as_str).unwrap_or(""));
                rest = &rest[end..];
            }
        }
    }
    out.push_str(rest);
    Ok(out)
}

/// The index of the `}` closing a `${`, allowing nested `${...}` defaults.
fn closing_brace(text: &str) -> Option<usize> {
    let mut depth = 0usize;
    let bytes = text.as_bytes();
    for (i, b) in bytes.iter().enumerate() {
        match b {
            b'{' if i > 0 && bytes[i - 1] == b'$' => depth += 1,
            b'}' if depth == 0 => return Some(i),
            b'}' => depth -= 1,
            _ => {}
        }
    }
    None
}

fn expand(expr: &str, env: &HashMap<String, String>) -> Result<String, String> {
    let name_end = expr
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(expr.len());
    let (name, op) = expr.split_at(name_end);
    let value = env.get(name);
    let set_nonempty = value.is_some_and(|v| !v.is_empty());
    Ok(match op {
        "" => value.cloned().unwrap_or_default(),
        _ if op.starts_with(":-") => {
            if set_nonempty {
                value.cloned().unwrap_or_default()
            } else {
                interpolate(&op[2..], env)?
            }
        }
        _ if op.starts_with('-') => match value {
            Some(v) => v.clone(),
            None => interpolate(&op[1..], env)?,
        },
        _ if op.starts_with(":?") => {
            if set_nonempty {
                value.cloned().unwrap_or_default()
            } else {
                return Err(format!(
                    "required variable {name} is missing a value: {}",
                    &op[2..]
                ));
            }
        }
        _ if op.starts_with('?') => match value {
            Some(v) => v.clone(),
            None => {
                return Err(format!(
                    "required variable {name} is missing a value: {}",
                    &op[1..]
                ))
            }
        },
        _ => return Err(format!("invalid interpolation format for {expr:?}")),
    })
}

fn interpolate_tree(node: &mut Node, env: &HashMap<String, String>) -> Result<(), (Pos, String)> {
    match &mut node.value {
        Value::Scalar(text, _) => {
            if text.contains('$') {
                *text = interpolate(text, env).map_err(|e| (node.pos, e))?;
            }
        }
        Value::Seq(items) => {
            for item in items {
                interpolate_tree(item, env)?;
            }
        }
        Value::Map(entries) => {
            for (_, v) in entries {
                interpolate_tree(v, env)?;
            }
        }
    }
    Ok(())
}

/// Merges an override file into the base, as `-f base -f override` does:
/// mappings merge, most lists append, `volumes` merge by target, scalars
/// and `command`/`entrypoint` are replaced.
fn merge(base: &mut Node, over: Node, key: &str) {
    match (&mut base.value, over.value) {
        (Value::Map(entries), Value::Map(more)) => {
            for (k, v) in more {
                let name = k.as_str().unwrap_or_default().to_string();
                match entries.iter_mut().find(|(ek, _)| ek.as_str() == k.as_str()) {
                    Some((_, existing)) => merge(existing, v, &name),
                    None => entries.push((k, v)),
                }
            }
        }
        (Value::Seq(items), Value::Seq(more)) if !matches!(key, "command" | "entrypoint") => {
            for item in more {
                let target = volume_target(&item);
                let replaced = (key == "volumes" || key == "devices")
                    && target.is_some()
                    && match items.iter_mut().find(|i| volume_target(i) == target) {
                        Some(existing) => {
                            *existing = item.clone();
                            true
                        }
                        None => false,
                    };
                if !replaced {
                    items.push(item);
                }
            }
        }
        (_, value) => {
            base.value = value;
            base.pos = over.pos;
        }
    }
}

fn volume_target(node: &Node) -> Option<String> {
    match &node.value {
        Value::Scalar(s, _) => {
            let parts: Vec<&str> = s.split(':').collect();
            Some(match parts.as_slice() {
                [t] => t.to_string(),
                [_, t] | [_, t, _] => t.to_string(),
                _ => return None,
            })
        }
        Value::Map(_) => node
            .get("target")
            .and_then(Node::as_str)
            .map(str::to_string),
        Value::Seq(_) => None,
    }
}

impl Project {
    /// Loads and merges compose files; `env` is the process environment.
    pub fn load(paths: &[PathBuf], env: &HashMap<String, String>) -> Result<Project, InputError> {
        let first = paths
            .first()
            .ok_or_else(|| InputError::at(Location::default(), "no compose file given"))?;
        let dir = first
            .parent()
            .map(Path::to_path_buf)
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or_else(|| PathBuf::from("."));
        let dir = std::fs::canonicalize(&dir).unwrap_or(dir);
        let mut vars = std::fs::read_to_string(dir.join(".env"))
            .map(|t| read_dotenv(&t))
            .unwrap_or_default();
        vars.extend(env.iter().map(|(k, v)| (k.clone(), v.clone())));
        let mut sources = Vec::new();
        for path in paths {
            let file = path.display().to_string();
            let text = std::fs::read_to_string(path).map_err(|e| {
                InputError::at(
                    Location {
                        file: file.clone(),
                        ..Location::default()
                    },
                    format!("cannot read: {e}"),
                )
            })?;
            sources.push((file, text));
        }
        Project::parse(dir, &sources, &vars)
    }

    /// Parses and merges compose documents already read, as (file name,
    /// text), in order; `dir` is the project directory that relative paths
    /// start from, `vars` what `${VAR}` expands to.
    pub fn parse(
        dir: PathBuf,
        sources: &[(String, String)],
        vars: &HashMap<String, String>,
    ) -> Result<Project, InputError> {
        let mut root: Option<Node> = None;
        let mut files = Vec::new();
        for (index, (file, text)) in sources.iter().enumerate() {
            let at = |line, col| Location {
                file: file.clone(),
                line,
                col,
            };
            let mut node =
                yaml::parse(text).map_err(|e| InputError::at(at(e.line, e.col), e.message))?;
            node.set_file(index);
            interpolate_tree(&mut node, vars)
                .map_err(|(p, e)| InputError::at(at(p.line, p.col), e))?;
            if !matches!(node.value, Value::Map(_)) {
                return Err(InputError::at(
                    at(node.pos.line, node.pos.col),
                    "a compose file must be a mapping",
                ));
            }
            files.push(file.clone());
            match &mut root {
                None => root = Some(node),
                Some(base) => merge(base, node, ""),
            }
        }
        let root =
            root.ok_or_else(|| InputError::at(Location::default(), "no compose file given"))?;
        Ok(Project { files, dir, root })
    }

    fn location(&self, pos: Pos) -> Location {
        Location {
            file: self.files.get(pos.file).cloned().unwrap_or_default(),
            line: pos.line,
            col: pos.col,
        }
    }

    /// One target per service.
    pub fn targets(&self) -> Result<Vec<Target>, InputError> {
        let Some(services) = self.root.get("services") else {
            return Err(InputError::at(
                self.location(self.root.pos),
                "no services in the compose file",
            ));
        };
        let mut targets = Vec::new();
        for (key, service) in services.entries() {
            let name = key.as_str().unwrap_or_default().to_string();
            targets.push(self.service(&name, key.pos, service)?);
        }
        resolve_between_services(&mut targets);
        Ok(targets)
    }

    fn bad(&self, node: &Node, message: impl Into<String>) -> InputError {
        InputError::at(self.location(node.pos), message)
    }

    fn service(&self, name: &str, key_pos: Pos, svc: &Node) -> Result<Target, InputError> {
        let mut d = Draft::default();
        let path = |field: &str| format!("services.{name}.{field}");
        let at = |node: &Node| self.location(node.pos);
        let str_of = |node: &Node| {
            node.as_str()
                .map(str::to_string)
                .ok_or_else(|| self.bad(node, "expected a string"))
        };
        for (k, v) in svc.entries() {
            let field = k.as_str().unwrap_or_default();
            if v.is_null() {
                continue;
            }
            match field {
                "image" => d.set(false, "Image", json!(str_of(v)?), path(field), at(v)),
                "user" => d.set(false, "User", json!(str_of(v)?), path(field), at(v)),
                "privileged" => d.set(
                    true,
                    "Privileged",
                    json!(v.as_bool().unwrap_or(false)),
                    path(field),
                    at(v),
                ),
                "read_only" => d.set(
                    true,
                    "ReadonlyRootfs",
                    json!(v.as_bool().unwrap_or(false)),
                    path(field),
                    at(v),
                ),
                "runtime" => d.set(true, "Runtime", json!(str_of(v)?), path(field), at(v)),
                "cgroup_parent" => {
                    d.set(true, "CgroupParent", json!(str_of(v)?), path(field), at(v))
                }
                "network_mode" => d.set(true, "NetworkMode", json!(str_of(v)?), path(field), at(v)),
                "pid" => d.set(true, "PidMode", json!(str_of(v)?), path(field), at(v)),
                "ipc" => d.set(true, "IpcMode", json!(str_of(v)?), path(field), at(v)),
                "uts" => d.set(true, "UTSMode", json!(str_of(v)?), path(field), at(v)),
                "userns_mode" => d.set(true, "UsernsMode", json!(str_of(v)?), path(field), at(v)),
                "cgroup" => d.set(true, "CgroupnsMode", json!(str_of(v)?), path(field), at(v)),
                "mem_limit" => {
                    let bytes =
                        parse_bytes(&str_of(v)?).ok_or_else(|| self.bad(v, "invalid size"))?;
                    d.set(true, "Memory", json!(bytes), path(field), at(v))
                }
                "pids_limit" => {
                    let n: i64 = str_of(v)?
                        .parse()
                        .map_err(|_| self.bad(v, "expected a number"))?;
                    d.set(true, "PidsLimit", json!(n), path(field), at(v))
                }
                "cap_add"
                | "cap_drop"
                | "security_opt"
                | "device_cgroup_rules"
                | "volumes_from" => {
                    let api = match field {
                        "cap_add" => "CapAdd",
                        "cap_drop" => "CapDrop",
                        "security_opt" => "SecurityOpt",
                        "device_cgroup_rules" => "DeviceCgroupRules",
                        _ => "VolumesFrom",
                    };
                    for (i, item) in v.items().iter().enumerate() {
                        d.push(
                            true,
                            api,
                            json!(str_of(item)?),
                            format!("{}[{i}]", path(field)),
                            at(item),
                        );
                    }
                }
                "environment" => {
                    for (i, (key, value)) in pairs(v).into_iter().enumerate() {
                        let entry = match &value {
                            Some(val) => format!(
                                "{}={}",
                                key.as_str().unwrap_or_default(),
                                val.as_str().unwrap_or_default()
                            ),
                            None => key.as_str().unwrap_or_default().to_string(),
                        };
                        let user = match &v.value {
                            Value::Map(_) => {
                                format!("{}.{}", path(field), key.as_str().unwrap_or_default())
                            }
                            _ => format!("{}[{i}]", path(field)),
                        };
                        d.push(false, "Env", json!(entry), user, at(&key));
                    }
                }
                "sysctls" | "annotations" => {
                    let target = if field == "sysctls" {
                        "Sysctls"
                    } else {
                        "Annotations"
                    };
                    for (i, (key, value)) in pairs(v).into_iter().enumerate() {
                        let k = key.as_str().unwrap_or_default();
                        let val = value.as_ref().and_then(Node::as_str).unwrap_or_default();
                        let user = match &v.value {
                            Value::Map(_) => format!("{}.{k}", path(field)),
                            _ => format!("{}[{i}]", path(field)),
                        };
                        d.insert(true, target, k, json!(val), user, at(&key));
                    }
                }
                "devices" => {
                    for (i, item) in v.items().iter().enumerate() {
                        let (host, container, perms) = match item.as_str() {
                            Some(s) => {
                                let mut p = s.splitn(3, ':');
                                let h = p.next().unwrap_or_default().to_string();
                                let c = p.next().map(str::to_string).unwrap_or_else(|| h.clone());
                                (h, c, p.next().unwrap_or("rwm").to_string())
                            }
                            None => (
                                item.text("source"),
                                item.text("target"),
                                item.get("permissions")
                                    .and_then(Node::as_str)
                                    .unwrap_or("rwm")
                                    .to_string(),
                            ),
                        };
                        d.push(
                            true,
                            "Devices",
                            json!({"PathOnHost": host, "PathInContainer": container, "CgroupPermissions": perms}),
                            format!("{}[{i}]", path(field)),
                            at(item),
                        );
                    }
                }
                "ports" => {
                    for (i, item) in v.items().iter().enumerate() {
                        let user = format!("{}[{i}]", path(field));
                        let (ip, host, container) = match item.as_str() {
                            Some(s) => parse_port(s)
                                .ok_or_else(|| self.bad(item, format!("invalid port {s:?}")))?,
                            None => {
                                let get = |k: &str| item.text(k);
                                let proto = match get("protocol").as_str() {
                                    "" => "tcp".to_string(),
                                    p => p.to_string(),
                                };
                                (
                                    get("host_ip"),
                                    get("published"),
                                    format!("{}/{proto}", get("target")),
                                )
                            }
                        };
                        d.push_in_map(
                            "PortBindings",
                            &container,
                            json!({"HostIp": ip, "HostPort": host}),
                            user,
                            at(item),
                        );
                    }
                }
                "tmpfs" => {
                    let items: Vec<&Node> = match &v.value {
                        Value::Seq(items) => items.iter().collect(),
                        _ => vec![v],
                    };
                    for (i, item) in items.into_iter().enumerate() {
                        let spec = str_of(item)?;
                        let (p, opts) = spec.split_once(':').unwrap_or((&spec, ""));
                        d.insert(
                            true,
                            "Tmpfs",
                            p,
                            json!(opts),
                            format!("{}[{i}]", path(field)),
                            at(item),
                        );
                    }
                }
                "volumes" => {
                    for (i, item) in v.items().iter().enumerate() {
                        self.volume(&mut d, format!("{}[{i}]", path(field)), item)?;
                    }
                }
                "deploy" => {
                    let limits = v.get("resources").and_then(|r| r.get("limits"));
                    if let Some(memory) = limits.and_then(|l| l.get("memory")) {
                        let bytes = parse_bytes(&str_of(memory)?)
                            .ok_or_else(|| self.bad(memory, "invalid size"))?;
                        d.set(
                            true,
                            "Memory",
                            json!(bytes),
                            path("deploy.resources.limits.memory"),
                            at(memory),
                        );
                    }
                    if let Some(pids) = limits.and_then(|l| l.get("pids")) {
                        let n: i64 = str_of(pids)?
                            .parse()
                            .map_err(|_| self.bad(pids, "expected a number"))?;
                        d.set(
                            true,
                            "PidsLimit",
                            json!(n),
                            path("deploy.resources.limits.pids"),
                            at(pids),
                        );
                    }
                }
                _ => {}
            }
        }
        let origin = self.location(key_pos);
        d.finish(
            name.to_string(),
            origin.clone(),
            |api| match super::unset_name(api) {
                Some((_, key)) => format!("services.{name}.{key}"),
                None => format!("services.{name}"),
            },
        )
        .map_err(|e| InputError::at(origin, e.to_string()))
    }

    /// A host path as compose resolves it: relative to the project
    /// directory, `~` to the home directory.
    fn host_path(&self, source: &str) -> String {
        if let Some(rest) = source.strip_prefix('~') {
            let home = std::env::var("HOME").unwrap_or_else(|_| "/root".into());
            clean_path(&format!("{home}/{rest}"))
        } else if source.starts_with('/') {
            clean_path(source)
        } else {
            clean_path(&format!("{}/{source}", self.dir.display()))
        }
    }

    /// The driver and options of a top-level named volume.
    fn named_volume(&self, name: &str) -> Option<(String, Map<String, Json>)> {
        let def = self.root.get("volumes")?.get(name)?;
        let driver = def
            .get("driver")
            .and_then(Node::as_str)
            .unwrap_or("local")
            .to_string();
        let opts = def.get("driver_opts")?;
        let options = opts
            .entries()
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().unwrap_or_default().to_string(),
                    json!(v.as_str().unwrap_or_default()),
                )
            })
            .collect();
        Some((driver, options))
    }

    fn volume(&self, d: &mut Draft, user: String, item: &Node) -> Result<(), InputError> {
        let at = self.location(item.pos);
        let (kind, source, target, read_only, propagation) = match item.as_str() {
            Some(spec) => {
                let parts: Vec<&str> = spec.split(':').collect();
                let (source, target, mode) = match parts.as_slice() {
                    [t] => ("", *t, ""),
                    [s, t] => (*s, *t, ""),
                    [s, t, m] => (*s, *t, *m),
                    _ => return Err(self.bad(item, format!("invalid volume {spec:?}"))),
                };
                let is_path = source.starts_with(['.', '/', '~']);
                let kind = if source.is_empty() || !is_path {
                    "volume"
                } else {
                    "bind"
                };
                let modes: Vec<&str> = mode.split(',').collect();
                let propagation = modes
                    .iter()
                    .find(|m| {
                        [
                            "shared", "rshared", "slave", "rslave", "private", "rprivate",
                        ]
                        .contains(m)
                    })
                    .map(|m| m.to_string());
                (
                    kind.to_string(),
                    source.to_string(),
                    target.to_string(),
                    modes.contains(&"ro"),
                    propagation,
                )
            }
            None => {
                let get = |k: &str| item.text(k);
                let propagation = item
                    .get("bind")
                    .and_then(|b| b.get("propagation"))
                    .and_then(Node::as_str)
                    .map(str::to_string);
                let read_only = item
                    .get("read_only")
                    .and_then(Node::as_bool)
                    .unwrap_or(false);
                (
                    get("type"),
                    get("source"),
                    get("target"),
                    read_only,
                    propagation,
                )
            }
        };
        let mut mount = Map::new();
        mount.insert("Type".into(), json!(kind));
        mount.insert("Target".into(), json!(target));
        mount.insert("ReadOnly".into(), json!(read_only));
        match kind.as_str() {
            "bind" => {
                mount.insert("Source".into(), json!(self.host_path(&source)));
                if let Some(p) = propagation {
                    mount.insert("BindOptions".into(), json!({ "Propagation": p }));
                }
            }
            "volume" => {
                mount.insert("Source".into(), json!(source));
                if let Some((driver, options)) = self.named_volume(&source) {
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
        d.push(true, "Mounts", Json::Object(mount), user, at);
        Ok(())
    }
}

/// A list (`- KEY=VALUE`) or map (`KEY: VALUE`) as key/value nodes.
fn pairs(node: &Node) -> Vec<(Node, Option<Node>)> {
    match &node.value {
        Value::Map(entries) => entries
            .iter()
            .map(|(k, v)| (k.clone(), (!v.is_null()).then(|| v.clone())))
            .collect(),
        Value::Seq(items) => items
            .iter()
            .map(|item| {
                let text = item.as_str().unwrap_or_default();
                match text.split_once('=') {
                    Some((k, v)) => (
                        Node {
                            value: Value::Scalar(k.to_string(), false),
                            pos: item.pos,
                        },
                        Some(Node {
                            value: Value::Scalar(v.to_string(), false),
                            pos: item.pos,
                        }),
                    ),
                    None => (item.clone(), None),
                }
            })
            .collect(),
        Value::Scalar(..) => Vec::new(),
    }
}

/// `volumes_from: [other]` and `network_mode: service:other` name other
/// services of the same file: judge them by what those services get.
fn resolve_between_services(targets: &mut [Target]) {
    let by_name: BTreeMap<String, usize> = targets
        .iter()
        .enumerate()
        .map(|(i, t)| (t.name.clone(), i))
        .collect();
    for i in 0..targets.len() {
        let mut inherited = Vec::new();
        for source in targets[i].workload.volumes_from.clone() {
            let spec = source
                .value
                .strip_prefix("service:")
                .unwrap_or(&source.value);
            if spec.starts_with("container:") {
                continue;
            }
            let (name, read_only) = crate::resolve::volumes_from_spec(spec);
            if let Some(&j) = by_name.get(name) {
                for mut mount in targets[j].workload.mounts.clone() {
                    mount.read_only |= read_only;
                    mount.via = Some(format!("volumes_from {name}"));
                    mount.field = source.field.clone();
                    inherited.push(mount);
                }
            }
        }
        targets[i].workload.mounts.extend(inherited);
        let joins: Vec<(usize, String)> = targets[i]
            .workload
            .namespaces
            .iter()
            .enumerate()
            .filter_map(|(n, (_, mode))| match &mode.value {
                NamespaceMode::Other { value } => {
                    value.strip_prefix("service:").map(|s| (n, s.to_string()))
                }
                _ => None,
            })
            .collect();
        for (n, other) in joins {
            let kind = targets[i].workload.namespaces[n].0;
            let uses_host = by_name
                .get(&other)
                .and_then(|&j| targets[j].workload.namespace(kind))
                .is_some_and(|m| m.value == NamespaceMode::Host);
            let field = targets[i].workload.namespaces[n].1.field.clone();
            targets[i].workload.namespaces[n].1 = At::new(
                NamespaceMode::Container {
                    target: other,
                    target_uses_host: Resolution::Known(uses_host),
                },
                field,
            );
        }
    }
}

#[cfg(test)]
mod tests;
