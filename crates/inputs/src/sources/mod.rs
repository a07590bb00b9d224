//! Front ends for files that describe containers before they exist: compose
//! files and `docker run` lines.
//!
//! Each is translated into the container-create request the docker CLI or
//! compose would send, read by the same code as the gate's requests, and
//! its field names are then renamed to what the user wrote
//! (`services.web.volumes[0]`, `--volume`), each with a file position.

pub mod compose;
pub mod run_line;
mod settings;
mod syntax;

pub use settings::{unset_flag, unset_key};
pub use syntax::{parse_bool, parse_bytes, parse_port, PortBinding, Reader};

use std::collections::BTreeMap;
use std::fmt;

use dockgate_model::{MountKind, NamespaceMode, Resolution, Workload};
use serde_json::{Map, Value};

use crate::api_body::{container_create, exec_create};
use crate::gojson::GoJsonError;

/// Where something was written.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Location {
    /// The file (or `-` for standard input, `command line`).
    pub file: String,
    /// Line, 1-based (0 when unknown).
    pub line: usize,
    /// Column, 1-based (0 when unknown).
    pub col: usize,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.line, self.col) {
            (0, _) => write!(f, "{}", self.file),
            (line, 0) => write!(f, "{}:{line}", self.file),
            (line, col) => write!(f, "{}:{line}:{col}", self.file),
        }
    }
}

/// One container described by a file: a compose service, a run line, an
/// inspect document or a create body.
#[derive(Debug, Clone)]
pub struct Target {
    /// The service or container name, or a description of the line.
    pub name: String,
    /// The description.
    pub workload: Workload,
    /// Where each field of the description was written.
    pub locations: BTreeMap<String, Location>,
    /// Where the whole target was written, for findings about something
    /// that is missing.
    pub origin: Location,
}

impl Target {
    /// Where a field was written, or where the target starts.
    pub fn location(&self, field: &str) -> &Location {
        self.locations.get(field).unwrap_or(&self.origin)
    }
}

/// An error in an input file, with its location.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{location}: {message}")]
pub struct InputError {
    /// Where.
    pub location: Location,
    /// What.
    pub message: String,
}

impl InputError {
    /// An error at a location.
    pub fn at(location: Location, message: impl Into<String>) -> InputError {
        InputError {
            location,
            message: message.into(),
        }
    }
}

/// The request a line or file turns into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Request {
    /// `POST /containers/create`.
    Create,
    /// `POST /containers/{id}/exec`.
    Exec,
}

/// A container-create request under construction, remembering for each
/// API field what the user wrote and where.
#[derive(Debug, Default)]
pub struct Draft {
    config: Map<String, Value>,
    host: Map<String, Value>,
    names: Vec<(String, String, Location)>,
    unresolved: Vec<(String, String, String)>,
}

impl Draft {
    /// The object holding `key`, which may be dotted for a nested field
    /// (`LogConfig.Type`), and the key's last part.
    fn target<'k>(&mut self, host: bool, key: &'k str) -> (&mut Map<String, Value>, &'k str) {
        let mut map = if host {
            &mut self.host
        } else {
            &mut self.config
        };
        let (parents, last) = key.rsplit_once('.').unwrap_or(("", key));
        for part in parents.split('.').filter(|p| !p.is_empty()) {
            let next = map
                .entry(part.to_string())
                .or_insert_with(|| Value::Object(Map::new()));
            if !next.is_object() {
                *next = Value::Object(Map::new());
            }
            map = next.as_object_mut().expect("made an object above");
        }
        (map, last)
    }

    fn api_name(host: bool, key: &str) -> String {
        if host {
            format!("HostConfig.{key}")
        } else {
            key.to_string()
        }
    }

    /// Whether a field is set.
    pub fn has(&self, host: bool, key: &str) -> bool {
        if host {
            self.host.contains_key(key)
        } else {
            self.config.contains_key(key)
        }
    }

    /// How many binds are marked unresolved.
    pub(crate) fn unresolved_count(&self) -> usize {
        self.unresolved.len()
    }

    /// Marks the bind the user calls `label` as one whose host path,
    /// written `source`, cannot be known because of `why`.
    pub fn unresolved(&mut self, label: &str, source: &str, why: String) {
        self.unresolved
            .push((label.to_string(), source.to_string(), why));
    }

    /// Sets a field (`host` selects HostConfig).
    pub fn set(&mut self, host: bool, key: &str, value: Value, user: String, at: Location) {
        let (map, last) = self.target(host, key);
        map.insert(last.to_string(), value);
        self.names.push((Self::api_name(host, key), user, at));
    }

    /// Appends to a list field.
    pub fn push(&mut self, host: bool, key: &str, value: Value, user: String, at: Location) {
        let (map, last) = self.target(host, key);
        let list = map
            .entry(last.to_string())
            .or_insert_with(|| Value::Array(Vec::new()));
        if let Value::Array(items) = list {
            items.push(value);
            let index = items.len() - 1;
            self.names
                .push((format!("{}[{index}]", Self::api_name(host, key)), user, at));
        }
    }

    /// Sets a key of a map field.
    pub fn insert(
        &mut self,
        host: bool,
        key: &str,
        entry: &str,
        value: Value,
        user: String,
        at: Location,
    ) {
        let (parent, last) = self.target(host, key);
        let map = parent
            .entry(last.to_string())
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(map) = map {
            map.insert(entry.to_string(), value);
            self.names.push((
                format!("{}[{entry:?}]", Self::api_name(host, key)),
                user,
                at,
            ));
        }
    }

    /// Appends to a list inside a map field (port bindings).
    pub fn push_in_map(
        &mut self,
        key: &str,
        entry: &str,
        value: Value,
        user: String,
        at: Location,
    ) {
        let map = self
            .host
            .entry(key.to_string())
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(map) = map {
            let list = map
                .entry(entry.to_string())
                .or_insert_with(|| Value::Array(Vec::new()));
            if let Value::Array(items) = list {
                items.push(value);
            }
            self.names
                .push((format!("HostConfig.{key}[{entry:?}]"), user, at));
        }
    }

    /// Reads the request like the gate would and renames its fields;
    /// `request` says which request it is;
    /// `unset` names the settings the input left out (`--user`,
    /// `services.web.user`).
    pub fn finish(
        self,
        request: Request,
        name: String,
        origin: Location,
        unset: impl Fn(&str) -> String,
    ) -> Result<Target, GoJsonError> {
        let mut body = self.config;
        let mut workload = match request {
            Request::Create => {
                body.insert("HostConfig".into(), Value::Object(self.host));
                container_create(&serde_json::to_vec(&Value::Object(body)).unwrap_or_default())?
            }
            Request::Exec => {
                // An exec request is flat: `Privileged` sits beside `User`.
                body.extend(self.host);
                exec_create(&serde_json::to_vec(&Value::Object(body)).unwrap_or_default())?
            }
        };
        let names: BTreeMap<String, (String, Location)> = self
            .names
            .into_iter()
            .map(|(api, user, at)| (api, (user, at)))
            .collect();
        let mut locations = BTreeMap::new();
        let rename = |api: &str| -> String {
            match names.get(api) {
                Some((user, _)) => user.clone(),
                // Settings the input does not have (no user, no limits) are
                // reported against the service or line.
                None => unset(api),
            }
        };
        workload.rename_fields(rename);
        for (label, written, unresolved) in self.unresolved {
            for mount in workload.mounts.iter_mut().filter(|m| m.field == label) {
                mount.kind = MountKind::UnresolvedBind {
                    written: written.clone(),
                    unresolved: unresolved.clone(),
                };
            }
        }
        // A container the file does not describe exists only on the daemon
        // it will run on; what it shares cannot be known here, and what
        // cannot be known is not passed.
        for (_, mode) in workload.namespaces.iter_mut() {
            if let NamespaceMode::Container {
                target,
                target_uses_host: target_uses_host @ Resolution::Pending,
            } = &mut mode.value
            {
                *target_uses_host = Resolution::Failed(format!(
                    "{target} is a container outside what is checked; the gate judges it when the container is created"
                ));
            }
        }
        for (user, at) in names.into_values() {
            locations.insert(user, at);
        }
        Ok(Target {
            name,
            workload,
            locations,
            origin,
        })
    }
}
