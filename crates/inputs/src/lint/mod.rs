//! Front ends for files that describe containers before they exist: compose
//! files and `docker run` lines.
//!
//! Each is translated into the container-create request the docker CLI or
//! compose would send, read by the same code as the gate's requests, and
//! its field names are then renamed to what the user wrote
//! (`services.web.volumes[0]`, `--volume`), each with a file position.

pub mod compose;
pub mod run_line;

use std::collections::BTreeMap;
use std::fmt;

use dockgate_model::Workload;
use serde_json::{Map, Value};

use crate::api_body::container_create;
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

/// A container-create request under construction, remembering for each
/// API field what the user wrote and where.
#[derive(Debug, Default)]
pub struct Draft {
    config: Map<String, Value>,
    host: Map<String, Value>,
    names: Vec<(String, String, Location)>,
}

impl Draft {
    fn target(&mut self, host: bool) -> &mut Map<String, Value> {
        if host {
            &mut self.host
        } else {
            &mut self.config
        }
    }

    fn api_name(host: bool, key: &str) -> String {
        if host {
            format!("HostConfig.{key}")
        } else {
            key.to_string()
        }
    }

    /// Sets a field (`host` selects HostConfig).
    pub fn set(&mut self, host: bool, key: &str, value: Value, user: String, at: Location) {
        self.target(host).insert(key.to_string(), value);
        self.names.push((Self::api_name(host, key), user, at));
    }

    /// Appends to a list field.
    pub fn push(&mut self, host: bool, key: &str, value: Value, user: String, at: Location) {
        let list = self
            .target(host)
            .entry(key.to_string())
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
        let map = self
            .target(host)
            .entry(key.to_string())
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
    /// `unset` names the settings the input left out (`--user`,
    /// `services.web.user`).
    pub fn finish(
        self,
        name: String,
        origin: Location,
        unset: impl Fn(&str) -> String,
    ) -> Result<Target, GoJsonError> {
        let mut body = self.config;
        body.insert("HostConfig".into(), Value::Object(self.host));
        let bytes = serde_json::to_vec(&Value::Object(body)).unwrap_or_default();
        let mut workload = container_create(&bytes)?;
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

/// The run flag and compose key of a setting an input can leave out.
pub fn unset_name(api: &str) -> Option<(&'static str, &'static str)> {
    Some(match api {
        "User" => ("--user", "user"),
        "Image" => ("image", "image"),
        "HostConfig.Privileged" => ("--privileged", "privileged"),
        "HostConfig.ReadonlyRootfs" => ("--read-only", "read_only"),
        "HostConfig.Memory" => ("--memory", "mem_limit"),
        "HostConfig.PidsLimit" => ("--pids-limit", "pids_limit"),
        "HostConfig.CapDrop" => ("--cap-drop", "cap_drop"),
        _ => return None,
    })
}

/// Parses a byte size as docker and compose write it: `512m`, `1g`,
/// `1.5GB`, `1024`.
pub fn parse_bytes(text: &str) -> Option<i64> {
    let t = text.trim().to_ascii_lowercase();
    let t = t.strip_suffix('b').unwrap_or(&t);
    let (number, unit) = match t.find(|c: char| !(c.is_ascii_digit() || c == '.')) {
        Some(i) => t.split_at(i),
        None => (t, ""),
    };
    let factor: f64 = match unit {
        "" => 1.0,
        "k" => 1024.0,
        "m" => 1024.0 * 1024.0,
        "g" => 1024.0 * 1024.0 * 1024.0,
        "t" => 1024f64.powi(4),
        _ => return None,
    };
    number.parse::<f64>().ok().map(|n| (n * factor) as i64)
}

/// Parses a published port, `[[IP:]HOST:]CONTAINER[/PROTO]`, into
/// (host IP, host port, `CONTAINER/PROTO`).
pub fn parse_port(spec: &str) -> Option<(String, String, String)> {
    let (spec, proto) = match spec.rsplit_once('/') {
        Some((s, p)) => (s, p),
        None => (spec, "tcp"),
    };
    // An IPv6 host address is bracketed: [::1]:8080:80.
    let (ip, rest) = match spec.strip_prefix('[') {
        Some(after) => {
            let (ip, rest) = after.split_once(']')?;
            (ip.to_string(), rest.strip_prefix(':')?)
        }
        None => (String::new(), spec),
    };
    let parts: Vec<&str> = rest.split(':').collect();
    let (ip, host, container) = match parts.as_slice() {
        [c] if ip.is_empty() => (String::new(), "", *c),
        [h, c] if ip.is_empty() => (String::new(), *h, *c),
        [i, h, c] if ip.is_empty() => (i.to_string(), *h, *c),
        [h, c] => (ip, *h, *c),
        _ => return None,
    };
    if container.is_empty() {
        return None;
    }
    Some((ip, host.to_string(), format!("{container}/{proto}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_sizes() {
        assert_eq!(parse_bytes("512m"), Some(512 << 20));
        assert_eq!(parse_bytes("1G"), Some(1 << 30));
        assert_eq!(parse_bytes("1.5gb"), Some(3 << 29));
        assert_eq!(parse_bytes("1024"), Some(1024));
        assert_eq!(parse_bytes("lots"), None);
    }

    #[test]
    fn port_specs() {
        let p = |s| parse_port(s).unwrap();
        assert_eq!(p("80"), ("".into(), "".into(), "80/tcp".into()));
        assert_eq!(p("8080:80"), ("".into(), "8080".into(), "80/tcp".into()));
        assert_eq!(
            p("127.0.0.1:8080:80/udp"),
            ("127.0.0.1".into(), "8080".into(), "80/udp".into())
        );
        assert_eq!(
            p("127.0.0.1::80"),
            ("127.0.0.1".into(), "".into(), "80/tcp".into())
        );
        assert_eq!(
            p("[::1]:8080:80"),
            ("::1".into(), "8080".into(), "80/tcp".into())
        );
        assert_eq!(parse_port("a:b:c:d"), None);
    }
}
