//! Compose files (the Compose Specification), turned into the requests
//! `docker compose up` would send, one target per service.
//!
//! The project is loaded the way Docker Compose v2 loads it (compose-go
//! v2.4.8, which docker-compose 2.26 links): the files Compose would find,
//! the project `.env`, interpolation, `extends`, `include`, merging with
//! `!reset`/`!override`, profiles, `env_file`, and file-backed secrets and
//! configs. The output of `docker compose config` reads the same way.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use dockgate_model::{clean_path, At, NamespaceMode, Resolution};

use super::{InputError, Location, Target};
use crate::yaml::{Node, Pos, Value};

mod env;
mod load;
mod merge;
mod service;

pub use env::{interpolate, read_env_file, Fault};

/// The names `docker compose` looks for, in its order, when no file is
/// named (compose-go `cli/options.go` `DefaultFileNames`).
const DEFAULT_FILES: &[&str] = &[
    "compose.yaml",
    "compose.yml",
    "docker-compose.yml",
    "docker-compose.yaml",
];

/// The override files it adds beside a found file; the first that exists.
const OVERRIDE_FILES: &[&str] = &[
    "compose.override.yml",
    "compose.override.yaml",
    "docker-compose.override.yml",
    "docker-compose.override.yaml",
];

/// What `docker compose` flags change about loading a project.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// `--env-file`: read instead of `<project dir>/.env`, in order.
    pub env_files: Vec<PathBuf>,
    /// `--profile`: the active profiles, replacing `COMPOSE_PROFILES`.
    pub profiles: Vec<String>,
}

/// The top-level keys of the Compose Specification (compose-go v2.4.8
/// `schema/compose-spec.json`), besides `x-` extensions.
const TOP_LEVEL_KEYS: &[&str] = &[
    "configs", "include", "name", "networks", "secrets", "services", "version", "volumes",
];

/// The keys a service may have (the same schema). Compose refuses any
/// other, so a misspelt or unknown key never reaches a container; dockgate
/// refuses it too rather than guess what it meant.
const SERVICE_KEYS: &[&str] = &[
    "annotations",
    "attach",
    "blkio_config",
    "build",
    "cap_add",
    "cap_drop",
    "cgroup",
    "cgroup_parent",
    "command",
    "configs",
    "container_name",
    "cpu_count",
    "cpu_percent",
    "cpu_period",
    "cpu_quota",
    "cpu_rt_period",
    "cpu_rt_runtime",
    "cpu_shares",
    "cpus",
    "cpuset",
    "credential_spec",
    "depends_on",
    "deploy",
    "develop",
    "device_cgroup_rules",
    "devices",
    "dns",
    "dns_opt",
    "dns_search",
    "domainname",
    "entrypoint",
    "env_file",
    "environment",
    "expose",
    "extends",
    "external_links",
    "extra_hosts",
    "gpus",
    "group_add",
    "healthcheck",
    "hostname",
    "image",
    "init",
    "ipc",
    "isolation",
    "label_file",
    "labels",
    "links",
    "logging",
    "mac_address",
    "mem_limit",
    "mem_reservation",
    "mem_swappiness",
    "memswap_limit",
    "network_mode",
    "networks",
    "oom_kill_disable",
    "oom_score_adj",
    "pid",
    "pids_limit",
    "platform",
    "ports",
    "post_start",
    "pre_stop",
    "privileged",
    "profiles",
    "pull_policy",
    "read_only",
    "restart",
    "runtime",
    "scale",
    "secrets",
    "security_opt",
    "shm_size",
    "stdin_open",
    "stop_grace_period",
    "stop_signal",
    "storage_opt",
    "sysctls",
    "tmpfs",
    "tty",
    "ulimits",
    "user",
    "userns_mode",
    "uts",
    "volumes",
    "volumes_from",
    "working_dir",
];

/// Refuses what Compose's schema refuses about keys: unknown top-level
/// and service keys, and service names outside `[a-zA-Z0-9._-]`.
fn validate_keys(root: &Node, location: impl Fn(Pos) -> Location) -> Result<(), InputError> {
    let refuse = |at: &Node, message: String| Err(InputError::at(location(at.pos), message));
    for (key, value) in root.entries() {
        let name = key.as_str().unwrap_or_default();
        if !name.starts_with("x-") && !TOP_LEVEL_KEYS.contains(&name) {
            // A Compose v1 file puts services at the top level; v2
            // refuses it, and so does dockgate.
            let hint = if value.get("image").is_some() || value.get("build").is_some() {
                " (services go under `services:`; Compose v2 does not read v1 files)"
            } else {
                ""
            };
            return refuse(
                key,
                format!("(root) Additional property {name} is not allowed{hint}"),
            );
        }
    }
    let Some(services) = root.get("services") else {
        return Ok(());
    };
    if !matches!(services.value, Value::Map(_)) {
        return refuse(services, "services must be a mapping".into());
    }
    for (key, service) in services.entries() {
        let name = key.as_str().unwrap_or_default();
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        {
            return refuse(
                key,
                format!("services Additional property {name} is not allowed"),
            );
        }
        if !matches!(service.value, Value::Map(_)) {
            return refuse(service, format!("services.{name} must be a mapping"));
        }
        for (k, _) in service.entries() {
            let field = k.as_str().unwrap_or_default();
            if !field.starts_with("x-") && !SERVICE_KEYS.contains(&field) {
                return refuse(
                    k,
                    format!("services.{name} Additional property {field} is not allowed"),
                );
            }
        }
    }
    Ok(())
}

/// A loaded compose project.
pub struct Project {
    files: Vec<String>,
    dir: PathBuf,
    home: String,
    root: Node,
    profiles: Vec<String>,
}

impl Project {
    /// Finds the project `docker compose` would use with no `-f` in `cwd`:
    /// the files `COMPOSE_FILE` names (from the environment or `./.env`),
    /// else the first default name in `cwd` or the nearest directory above,
    /// with its override file. `None` when there is none.
    pub fn discover(
        cwd: &Path,
        env: &HashMap<String, String>,
        options: &Options,
    ) -> Option<Result<Project, InputError>> {
        let local = match std::fs::read_to_string(cwd.join(".env")) {
            Ok(text) => match env::project_env(env, &[text]) {
                Ok(vars) => vars,
                Err(e) => return Some(Err(whole(&cwd.join(".env"), e))),
            },
            Err(_) => env.clone(),
        };
        if let Some(list) = local.get("COMPOSE_FILE") {
            let separator = local
                .get("COMPOSE_PATH_SEPARATOR")
                .map_or(":", String::as_str);
            let mut paths = Vec::new();
            for entry in list.split(separator) {
                let path = cwd.join(entry);
                if !path.exists() {
                    let message = format!("stat {}: no such file or directory", path.display());
                    return Some(Err(whole(&path, message)));
                }
                paths.push(path);
            }
            return Some(Project::load(&paths, env, options));
        }
        for dir in cwd.ancestors() {
            let Some(main) = DEFAULT_FILES
                .iter()
                .map(|name| dir.join(name))
                .find(|p| p.is_file())
            else {
                continue;
            };
            let mut paths = vec![main];
            paths.extend(
                OVERRIDE_FILES
                    .iter()
                    .map(|name| dir.join(name))
                    .find(|p| p.is_file()),
            );
            return Some(Project::load(&paths, env, options));
        }
        None
    }

    /// Loads compose files, merged in order like `-f a -f b`; `env` is the
    /// process environment. The project directory is the first file's, and
    /// its `.env` is read.
    pub fn load(
        paths: &[PathBuf],
        env: &HashMap<String, String>,
        options: &Options,
    ) -> Result<Project, InputError> {
        let first = paths
            .first()
            .ok_or_else(|| InputError::at(Location::default(), "no compose file given"))?;
        let dir = first
            .parent()
            .map(Path::to_path_buf)
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or_else(|| PathBuf::from("."));
        let dir = std::fs::canonicalize(&dir).unwrap_or(dir);
        let mut texts = Vec::new();
        let env_files = if options.env_files.is_empty() {
            let dotenv = dir.join(".env");
            texts.extend(std::fs::read_to_string(&dotenv).ok());
            vec![dotenv]
        } else {
            for file in &options.env_files {
                let text = std::fs::read_to_string(file).map_err(|_| {
                    let absolute = std::path::absolute(file).unwrap_or_else(|_| file.clone());
                    whole(
                        file,
                        format!("Couldn't find env file: {}", absolute.display()),
                    )
                })?;
                texts.push(text);
            }
            options.env_files.clone()
        };
        let vars = env::project_env(env, &texts)
            .map_err(|e| whole(env_files.first().map_or(dir.as_path(), PathBuf::as_path), e))?;
        let mut sources = Vec::new();
        for path in paths {
            let text = std::fs::read_to_string(path)
                .map_err(|e| whole(path, format!("cannot read: {e}")))?;
            sources.push((path.display().to_string(), text));
        }
        let mut project = Project::parse(dir, &sources, &vars)?;
        if !options.profiles.is_empty() {
            project.activate(options.profiles.clone());
        }
        Ok(project)
    }

    /// Loads compose documents already read, as (file name, text), in
    /// order; `dir` is the project directory relative paths start from,
    /// `vars` the project environment (`${VAR}`, `COMPOSE_PROFILES`).
    pub fn parse(
        dir: PathBuf,
        sources: &[(String, String)],
        vars: &HashMap<String, String>,
    ) -> Result<Project, InputError> {
        let home = vars.get("HOME").cloned().unwrap_or_else(|| "/root".into());
        let mut loader = load::Loader::new(home.clone());
        let root = loader.project(sources, &dir, vars)?;
        let profiles = vars
            .get("COMPOSE_PROFILES")
            .map(|p| {
                p.split(',')
                    .map(str::trim)
                    .filter(|p| !p.is_empty())
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default();
        let files = loader.into_files();
        validate_keys(&root, |pos| Location {
            file: files.get(pos.file).cloned().unwrap_or_default(),
            line: pos.line,
            col: pos.col,
        })?;
        Ok(Project {
            files,
            dir,
            home,
            root,
            profiles,
        })
    }

    /// Makes `profiles` the active ones, as `--profile` does: they replace
    /// `COMPOSE_PROFILES`.
    pub fn activate(&mut self, profiles: Vec<String>) {
        self.profiles = profiles;
    }

    fn location(&self, pos: Pos) -> Location {
        Location {
            file: self.files.get(pos.file).cloned().unwrap_or_default(),
            line: pos.line,
            col: pos.col,
        }
    }

    /// Whether a service runs with the active profiles: one with none
    /// always does.
    fn enabled(&self, service: &Node) -> bool {
        match service.get("profiles") {
            None => true,
            Some(listed) => listed.items().iter().filter_map(Node::as_str).any(|p| {
                self.profiles
                    .iter()
                    .any(|active| active == p || active == "*")
            }),
        }
    }

    /// One target per service the active profiles enable.
    pub fn targets(&self) -> Result<Vec<Target>, InputError> {
        let Some(services) = self.root.get("services") else {
            return Ok(Vec::new());
        };
        let enabled: Vec<&(Node, Node)> = services
            .entries()
            .iter()
            .filter(|(_, s)| self.enabled(s))
            .collect();
        for (key, service) in &enabled {
            self.check_dependencies(key, service, services)?;
            self.check_references(key, service)?;
        }
        let mut targets = Vec::new();
        for (key, service) in enabled {
            let name = key.as_str().unwrap_or_default().to_string();
            if !matches!(service.value, Value::Map(_)) {
                return Err(InputError::at(
                    self.location(service.pos),
                    format!("services.{name} must be a mapping"),
                ));
            }
            targets.push(self.service(&name, key.pos, service)?);
            targets.extend(self.build(&name, service)?);
        }
        resolve_between_services(&mut targets);
        Ok(targets)
    }

    /// A profile does not follow `depends_on`: a service needing a disabled
    /// one is an error, unless the dependency is `required: false`.
    fn check_dependencies(&self, key: &Node, service: &Node, all: &Node) -> Result<(), InputError> {
        let name = key.as_str().unwrap_or_default();
        let Some(depends) = service.get("depends_on") else {
            return Ok(());
        };
        let names: Vec<(&str, Option<&Node>)> = match &depends.value {
            Value::Map(entries) => entries
                .iter()
                .filter_map(|(k, v)| Some((k.as_str()?, Some(v))))
                .collect(),
            _ => depends
                .items()
                .iter()
                .filter_map(|i| Some((i.as_str()?, None)))
                .collect(),
        };
        for (other, how) in names {
            let optional = how
                .and_then(|h| h.get("required"))
                .and_then(|r| super::syntax::compose_bool(r).ok())
                == Some(false);
            let runs = all.get(other).is_some_and(|s| self.enabled(s));
            if !runs && !optional {
                return Err(InputError::at(
                    self.location(depends.pos),
                    format!(
                        "service {name:?} depends on undefined service {other:?}: invalid compose project"
                    ),
                ));
            }
        }
        Ok(())
    }
}

impl Project {
    /// A service may only name volumes, secrets and configs the project
    /// defines (compose-go `checkConsistency`): Compose refuses the rest.
    fn check_references(&self, key: &Node, service: &Node) -> Result<(), InputError> {
        let name = key.as_str().unwrap_or_default();
        for volume in service.get("volumes").map(Node::items).unwrap_or_default() {
            let source = match volume.as_str() {
                Some(spec) => {
                    let parts = super::syntax::split_compose_volume(spec);
                    match parts.as_slice() {
                        [source, _, ..] if !super::syntax::compose_is_path(source) => {
                            Some(source.clone())
                        }
                        _ => None,
                    }
                }
                None if volume.text("type") == "volume" => {
                    Some(volume.text("source")).filter(|s| !s.is_empty())
                }
                None => None,
            };
            if let Some(source) = source {
                if self
                    .root
                    .get("volumes")
                    .and_then(|v| v.get(&source))
                    .is_none()
                {
                    return Err(InputError::at(
                        self.location(volume.pos),
                        format!("service {name:?} refers to undefined volume {source}: invalid compose project"),
                    ));
                }
            }
        }
        for (section, kind) in [("secrets", "secret"), ("configs", "config")] {
            for item in service.get(section).map(Node::items).unwrap_or_default() {
                let source = item
                    .as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| item.text("source"));
                if self
                    .root
                    .get(section)
                    .and_then(|v| v.get(&source))
                    .is_none()
                {
                    return Err(InputError::at(
                        self.location(item.pos),
                        format!("service {name:?} refers to undefined {kind} {source}: invalid compose project"),
                    ));
                }
            }
        }
        Ok(())
    }
}

/// An error about a whole file.
fn whole(path: &Path, message: impl Into<String>) -> InputError {
    InputError::at(
        Location {
            file: path.display().to_string(),
            ..Location::default()
        },
        message,
    )
}

/// A host path as Compose resolves it: `~` and `~anything` under the home
/// directory, relative paths under `base`.
fn host_path(source: &str, base: &Path, home: &str) -> String {
    if let Some(rest) = source.strip_prefix('~') {
        clean_path(&format!("{home}/{}", rest.trim_start_matches('/')))
    } else if source.starts_with('/') {
        clean_path(source)
    } else {
        clean_path(&format!("{}/{source}", base.display()))
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
