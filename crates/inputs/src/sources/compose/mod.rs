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
    /// Where relative env files are found: the working directory
    /// `docker compose` runs in (the process's when `None`).
    pub working_dir: Option<PathBuf>,
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
        for (k, value) in service.entries() {
            let field = k.as_str().unwrap_or_default();
            // An empty `profiles:` would read as none, which enables the
            // service; Compose refuses it instead.
            if matches!(field, "profiles" | "networks") && value.is_null() {
                return refuse(value, format!("services.{name}.{field} must be a list"));
            }
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
    /// The project name: `COMPOSE_PROJECT_NAME`, else `name:`, else the
    /// directory's, normalised as Compose does.
    name: String,
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
        let options = &Options {
            working_dir: Some(cwd.to_path_buf()),
            ..options.clone()
        };
        // COMPOSE_FILE from the environment or the `.env` here.
        if let Some(found) = compose_file_from(cwd, env, cwd, options) {
            return Some(found);
        }
        for dir in cwd.ancestors() {
            let Some(main) = DEFAULT_FILES
                .iter()
                .map(|name| dir.join(name))
                .find(|p| p.is_file())
            else {
                continue;
            };
            // Compose then reads the found project's `.env`, which may
            // name other files (relative to the working directory).
            if dir != cwd {
                if let Some(found) = compose_file_from(dir, env, cwd, options) {
                    return Some(found);
                }
            }
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
        let vars = project_vars(&dir, env, options)?;
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
        let name = vars
            .get("COMPOSE_PROJECT_NAME")
            .cloned()
            .or_else(|| root.get("name").and_then(Node::as_str).map(str::to_string))
            .unwrap_or_else(|| {
                dir.file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default()
            });
        validate_keys(&root, |pos| located(&files, pos))?;
        Ok(Project {
            name: project_name(&name),
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
        located(&self.files, pos)
    }

    /// Whether a service runs with the active profiles: one with none
    /// always does.
    fn enabled(&self, service: &Node) -> bool {
        match service.get("profiles").filter(|p| !p.items().is_empty()) {
            // No profiles, or an empty list: always enabled.
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
        for (key, service) in &enabled {
            // validate_keys has refused a service that is not a mapping.
            let name = key.as_str().unwrap_or_default().to_string();
            targets.push(self.service(&name, key.pos, service)?);
            targets.extend(self.build(&name, service)?);
        }
        // `container:NAME` may name a service's container: its
        // `container_name`, or the name Compose gives it.
        let containers: BTreeMap<String, String> = enabled
            .iter()
            .flat_map(|(key, service)| {
                let name = key.as_str().unwrap_or_default().to_string();
                let given = service
                    .get("container_name")
                    .and_then(Node::as_str)
                    .map(str::to_string);
                let generated = format!("{}-{name}-1", self.name);
                given
                    .into_iter()
                    .chain([generated])
                    .map(move |c| (c, name.clone()))
            })
            .collect();
        resolve_between_services(&mut targets, &containers);
        let running: Vec<&Node> = enabled.iter().map(|(_, s)| s).collect();
        targets.extend(self.networks(&running)?);
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

/// The project `COMPOSE_FILE` names, from the process environment or the
/// `.env` in `dir`: entries split on `COMPOSE_PATH_SEPARATOR` and taken
/// from `cwd`, each of which must exist. `None` when it is not set.
fn compose_file_from(
    dir: &Path,
    env: &HashMap<String, String>,
    cwd: &Path,
    options: &Options,
) -> Option<Result<Project, InputError>> {
    let local = match project_vars(dir, env, options) {
        Ok(vars) => vars,
        Err(e) => return Some(Err(e)),
    };
    let list = local.get("COMPOSE_FILE")?;
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
    Some(Project::load(&paths, env, options))
}

/// A project name as compose-go's `NormalizeProjectName` makes it:
/// lower case, only `[a-z0-9_-]`, no leading `_` or `-`.
fn project_name(name: &str) -> String {
    let kept: String = name
        .to_lowercase()
        .chars()
        .filter(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '_' | '-'))
        .collect();
    kept.trim_start_matches(['_', '-']).to_string()
}

/// The project environment for a project in `dir`: the process
/// environment over `--env-file` files, else those `COMPOSE_ENV_FILES`
/// names, else `dir/.env` unless `COMPOSE_DISABLE_ENV_FILE` (compose-go
/// `WithEnvFiles`); named files are found from the working directory and
/// must exist. `COMPOSE_FILE` is read from it too.
fn project_vars(
    dir: &Path,
    env: &HashMap<String, String>,
    options: &Options,
) -> Result<HashMap<String, String>, InputError> {
    let named: Vec<PathBuf> = if !options.env_files.is_empty() {
        options.env_files.clone()
    } else if let Some(list) = env.get("COMPOSE_ENV_FILES") {
        list.split(',').map(PathBuf::from).collect()
    } else {
        Vec::new()
    };
    let disabled = env
        .get("COMPOSE_DISABLE_ENV_FILE")
        .and_then(|v| super::syntax::parse_bool(v))
        .unwrap_or(false);
    let mut files = Vec::new();
    if named.is_empty() {
        let dotenv = dir.join(".env");
        if !disabled && dotenv.is_file() {
            let text = std::fs::read_to_string(&dotenv)
                .map_err(|e| whole(&dotenv, format!("cannot read: {e}")))?;
            files.push((dotenv, text));
        }
    } else {
        let working_dir = match &options.working_dir {
            Some(dir) => dir.clone(),
            None => std::env::current_dir().unwrap_or_default(),
        };
        for file in named {
            let file = working_dir.join(file);
            let text = std::fs::read_to_string(&file).map_err(|_| {
                let message = format!("Couldn't find env file: {}", file.display());
                whole(&file, message)
            })?;
            files.push((file, text));
        }
    }
    let texts: Vec<String> = files.iter().map(|(_, t)| t.clone()).collect();
    env::project_env(env, &texts).map_err(|e| {
        let file = files.first().map_or(dir, |(f, _)| f.as_path());
        whole(file, e)
    })
}

/// Where `pos` is, in the file of `files` it names.
fn located(files: &[String], pos: Pos) -> Location {
    Location {
        file: files.get(pos.file).cloned().unwrap_or_default(),
        line: pos.line,
        col: pos.col,
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
/// services of the same file: judge them by what those services get,
/// through any chain of such references (a joins b, which joins c, which
/// uses the host's network).
fn resolve_between_services(targets: &mut [Target], containers: &BTreeMap<String, String>) {
    let by_name: BTreeMap<String, usize> = targets
        .iter()
        .enumerate()
        .map(|(i, t)| (t.name.clone(), i))
        .collect();
    let own: Vec<Vec<dockgate_model::Mount>> =
        targets.iter().map(|t| t.workload.mounts.clone()).collect();
    let joins: Vec<Vec<(usize, String)>> = targets
        .iter()
        .map(|t| {
            t.workload
                .namespaces
                .iter()
                .enumerate()
                .filter_map(|(n, (_, mode))| match &mode.value {
                    NamespaceMode::Other { value } => value
                        .strip_prefix("service:")
                        .filter(|s| by_name.contains_key(*s))
                        .map(|s| (n, s.to_string())),
                    NamespaceMode::Container { target, .. } => {
                        containers.get(target).map(|s| (n, s.clone()))
                    }
                    _ => None,
                })
                .collect()
        })
        .collect();
    // Each pass carries what a service gets one step further along the
    // references; as many passes as services reach the end of any chain.
    for _ in 0..targets.len() {
        let mut changed = false;
        for i in 0..targets.len() {
            let mut mounts = own[i].clone();
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
                        mounts.push(mount);
                    }
                }
            }
            if mounts != targets[i].workload.mounts {
                targets[i].workload.mounts = mounts;
                changed = true;
            }
            for (n, other) in &joins[i] {
                let kind = targets[i].workload.namespaces[*n].0;
                let uses_host = by_name
                    .get(other)
                    .and_then(|&j| targets[j].workload.namespace(kind))
                    .is_some_and(|m| match &m.value {
                        NamespaceMode::Host => true,
                        NamespaceMode::Container {
                            target_uses_host, ..
                        } => *target_uses_host == Resolution::Known(true),
                        _ => false,
                    });
                let field = targets[i].workload.namespaces[*n].1.field.clone();
                let joined = At::new(
                    NamespaceMode::Container {
                        target: other.clone(),
                        target_uses_host: Resolution::Known(uses_host),
                    },
                    field,
                );
                if targets[i].workload.namespaces[*n].1 != joined {
                    targets[i].workload.namespaces[*n].1 = joined;
                    changed = true;
                }
            }
        }
        if !changed {
            break;
        }
    }
}

#[cfg(test)]
mod tests;
