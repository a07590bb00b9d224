//! Loading a project's files in Compose's order: each file is parsed,
//! interpolated, its relative paths fixed against its base directory, its
//! `extends` and `include` resolved, and then merged over the files before
//! it (compose-go `loader/loader.go`).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::env::{read_env_file, Fault};
use super::merge::{merge_root, merge_service, normalise_service};
use super::{host_path, located, whole, InputError};
use crate::sources::syntax::{compose_bool, compose_is_path, split_compose_volume};
use crate::yaml::{self, Node, Pos, Value};

/// The top-level sections an included project brings in.
const IMPORTED: &[&str] = &["services", "volumes", "networks", "secrets", "configs"];

/// Loads the files of a project and those they pull in, numbering each
/// file for positions.
pub(super) struct Loader {
    files: Vec<String>,
    home: String,
    /// The files being included, outermost first, to find cycles.
    including: Vec<PathBuf>,
    /// Files `extends` reads, by path, once each.
    extended: HashMap<PathBuf, Node>,
}

impl Loader {
    pub(super) fn new(home: String) -> Loader {
        Loader {
            files: Vec::new(),
            home,
            including: Vec::new(),
            extended: HashMap::new(),
        }
    }

    /// The names of the files read, indexed by `Pos::file`.
    pub(super) fn into_files(self) -> Vec<String> {
        self.files
    }

    fn at(&self, pos: Pos, message: impl Into<String>) -> InputError {
        InputError::at(located(&self.files, pos), message)
    }

    /// The files of one project, merged in order, with `env_file` and bare
    /// `environment` entries resolved against `vars`.
    pub(super) fn project(
        &mut self,
        sources: &[(String, String)],
        base: &Path,
        vars: &HashMap<String, String>,
    ) -> Result<Node, InputError> {
        let mut root = empty();
        for (name, text) in sources {
            let outermost = self.including.is_empty();
            if outermost {
                self.including
                    .push(std::fs::canonicalize(name).unwrap_or_else(|_| base.join(name)));
            }
            let layer = self.layer(name, text, base, vars);
            if outermost {
                self.including.clear();
            }
            merge_root(&mut root, layer?);
        }
        self.environment(&mut root, vars)?;
        Ok(root)
    }

    /// One file: parsed, interpolated, paths fixed, `extends` and
    /// `include` resolved.
    fn layer(
        &mut self,
        name: &str,
        text: &str,
        base: &Path,
        vars: &HashMap<String, String>,
    ) -> Result<Node, InputError> {
        let mut root = self.document(name, text, base, vars)?;
        self.resolve_extends(&mut root, name, vars)?;
        self.include(&mut root, base, vars)?;
        Ok(root)
    }

    /// A file parsed, interpolated, and with relative paths made absolute
    /// against `base`.
    fn document(
        &mut self,
        name: &str,
        text: &str,
        base: &Path,
        vars: &HashMap<String, String>,
    ) -> Result<Node, InputError> {
        let index = self.files.len();
        self.files.push(name.to_string());
        let in_file = |line, col| Pos {
            line,
            col,
            file: index,
        };
        let documents = yaml::parse_all(text)
            .map_err(|e| self.at(in_file(e.line, e.col), e.message.clone()))?;
        // The documents of one file merge in order, like override files;
        // the first keeps its `!reset` tags for the files before it.
        let mut root: Option<Node> = None;
        for mut document in documents {
            document.set_file(index);
            if !matches!(document.value, Value::Map(_)) {
                return Err(self.at(document.pos, "Top-level object must be a mapping"));
            }
            let lookup = |name: &str| vars.get(name).cloned();
            interpolate_tree(&mut document, &lookup, "").map_err(|(pos, m)| self.at(pos, m))?;
            absolutize(&mut document, base, &self.home);
            match &mut root {
                None => root = Some(document),
                Some(root) => merge_root(root, document),
            }
        }
        Ok(root.unwrap_or_else(empty))
    }

    /// Replaces each service that `extends` another with the merge of the
    /// two.
    fn resolve_extends(
        &mut self,
        root: &mut Node,
        file: &str,
        vars: &HashMap<String, String>,
    ) -> Result<(), InputError> {
        let snapshot = root.clone();
        let names: Vec<String> = snapshot
            .get("services")
            .map(|s| {
                s.entries()
                    .iter()
                    .filter(|(_, v)| v.get("extends").is_some())
                    .filter_map(|(k, _)| k.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        for name in names {
            let resolved = self.extended(&snapshot, file, &name, vars, &mut Vec::new())?;
            if let Some(slot) = root.get_mut("services").and_then(|s| s.get_mut(&name)) {
                *slot = resolved;
            }
        }
        Ok(())
    }

    /// Service `name` of `root` (read from `file`), with what it extends
    /// merged under it. `chain` is the services being resolved, to report
    /// a cycle as Compose does.
    fn extended(
        &mut self,
        root: &Node,
        file: &str,
        name: &str,
        vars: &HashMap<String, String>,
        chain: &mut Vec<(String, String)>,
    ) -> Result<Node, InputError> {
        let Some(service) = root.get("services").and_then(|s| s.get(name)) else {
            return Err(self.at(root.pos, format!("service {name:?} not found")));
        };
        let Some(extends) = service.get("extends") else {
            return Ok(service.clone());
        };
        let (base_name, other) = match extends.as_str() {
            Some(base) => (base.to_string(), None),
            None => (
                extends.text("service"),
                extends
                    .get("file")
                    .and_then(Node::as_str)
                    .map(str::to_string),
            ),
        };
        let base_file = other.clone().unwrap_or_else(|| file.to_string());
        chain.push((name.to_string(), file.to_string()));
        if chain
            .iter()
            .any(|(n, f)| *n == base_name && *f == base_file)
        {
            let mut message = String::from("Circular reference:");
            for (i, (n, f)) in chain.iter().enumerate() {
                let verb = if i == 0 { "" } else { "extends " };
                message.push_str(&format!("\n  {verb}{n} in {f}"));
            }
            message.push_str(&format!("\n  extends {base_name} in {base_file}"));
            return Err(self.at(extends.pos, message));
        }
        let other_root = match &other {
            None => None,
            Some(path) => Some(self.extended_file(Path::new(path), vars, extends.pos)?),
        };
        let (base_root, base_file, where_) = match (&other_root, &other) {
            (Some(r), Some(path)) => (r, path.as_str(), format!(" in {path}")),
            _ => (root, file, String::new()),
        };
        if base_root
            .get("services")
            .and_then(|s| s.get(&base_name))
            .is_none()
        {
            return Err(self.at(
                extends.pos,
                format!("cannot extend service {name:?} in {file}: service {base_name:?} not found{where_}"),
            ));
        }
        let base = self.extended(base_root, base_file, &base_name, vars, chain)?;
        chain.pop();
        let mut child = service.clone();
        if let Value::Map(entries) = &mut child.value {
            entries.retain(|(k, _)| k.as_str() != Some("extends"));
        }
        let mut merged = base;
        merge_service(&mut merged, child);
        Ok(merged)
    }

    /// Another file an `extends` names: its relative paths are its own
    /// directory's.
    fn extended_file(
        &mut self,
        path: &Path,
        vars: &HashMap<String, String>,
        from: Pos,
    ) -> Result<Node, InputError> {
        if let Some(root) = self.extended.get(path) {
            return Ok(root.clone());
        }
        let text = std::fs::read_to_string(path)
            .map_err(|e| self.at(from, format!("cannot read {}: {e}", path.display())))?;
        let dir = path.parent().unwrap_or(Path::new("/")).to_path_buf();
        let root = self.document(&path.display().to_string(), &text, &dir, vars)?;
        self.extended.insert(path.to_path_buf(), root.clone());
        Ok(root)
    }

    /// Loads each project an `include` names and copies in what it
    /// defines; a name defined differently on both sides is an error.
    fn include(
        &mut self,
        root: &mut Node,
        base: &Path,
        vars: &HashMap<String, String>,
    ) -> Result<(), InputError> {
        let Some(list) = root.get("include").cloned() else {
            return Ok(());
        };
        if let Value::Map(entries) = &mut root.value {
            entries.retain(|(k, _)| k.as_str() != Some("include"));
        }
        for entry in list.items() {
            let strings = |node: Option<&Node>| -> Vec<String> {
                match node {
                    None => Vec::new(),
                    Some(n) => match n.as_str() {
                        Some(s) => vec![s.to_string()],
                        None => n
                            .items()
                            .iter()
                            .filter_map(Node::as_str)
                            .map(str::to_string)
                            .collect(),
                    },
                }
            };
            let (paths, project_dir, env_files) = match entry.as_str() {
                Some(path) => (vec![path.to_string()], None, Vec::new()),
                None => (
                    strings(entry.get("path")),
                    entry.get("project_directory").and_then(Node::as_str),
                    strings(entry.get("env_file")),
                ),
            };
            let paths: Vec<PathBuf> = paths
                .iter()
                .map(|p| PathBuf::from(host_path(p, base, &self.home)))
                .collect();
            let Some(first) = paths.first() else {
                return Err(self.at(entry.pos, "include: path is required"));
            };
            if self.including.contains(first) {
                let mut message = String::from("include cycle detected:");
                for (i, p) in self.including.iter().chain([first]).enumerate() {
                    let verb = if i == 0 { "" } else { " include " };
                    message.push_str(&format!("\n{verb}{}", p.display()));
                }
                return Err(self.at(entry.pos, message));
            }
            let project_dir = match project_dir {
                Some(d) => PathBuf::from(host_path(d, base, &self.home)),
                None => first.parent().unwrap_or(Path::new("/")).to_path_buf(),
            };
            // compose-go's `localResourceLoader.Dir`: relative paths start
            // from the project directory if it is one, else from the
            // directory it would be in.
            let dir = if project_dir.is_dir() {
                project_dir.clone()
            } else {
                project_dir.parent().unwrap_or(Path::new("/")).to_path_buf()
            };
            let env_paths: Vec<PathBuf> = if env_files.is_empty() {
                vec![project_dir.join(".env")]
            } else {
                env_files
                    .iter()
                    .map(|p| PathBuf::from(host_path(p, base, &self.home)))
                    .collect()
            };
            // The including project's variables win; the included
            // project's `.env` only adds what is missing.
            let mut own = vars.clone();
            for path in env_paths {
                let Ok(text) = std::fs::read_to_string(&path) else {
                    continue;
                };
                let outside = |name: &str| vars.get(name).cloned();
                let entries = read_env_file(&text, &outside).map_err(|e| whole(&path, e))?;
                for (k, v) in entries {
                    own.entry(k).or_insert(v);
                }
            }
            let mut sources = Vec::new();
            for path in &paths {
                let text = std::fs::read_to_string(path).map_err(|e| {
                    self.at(entry.pos, format!("cannot read {}: {e}", path.display()))
                })?;
                sources.push((path.display().to_string(), text));
            }
            self.including.push(first.clone());
            let included = self.project(&sources, &dir, &own);
            self.including.pop();
            self.import(root, included?, entry.pos)?;
        }
        Ok(())
    }

    fn import(&self, root: &mut Node, included: Node, at: Pos) -> Result<(), InputError> {
        for section in IMPORTED {
            let Some(defined) = included.get(section) else {
                continue;
            };
            if root.get(section).is_none() {
                if let Value::Map(entries) = &mut root.value {
                    entries.push((
                        Node::scalar(*section, at),
                        Node {
                            value: Value::Map(Vec::new()),
                            pos: at,
                            tag: None,
                        },
                    ));
                }
            }
            let Some(target) = root.get_mut(section) else {
                continue;
            };
            for (key, value) in defined.entries() {
                let name = key.as_str().unwrap_or_default();
                match target.get(name) {
                    Some(existing) if same(existing, value) => {}
                    Some(existing) => {
                        return Err(self.at(
                            existing.pos,
                            format!("{section}.{name} conflicts with imported resource"),
                        ))
                    }
                    None => {
                        if let Value::Map(entries) = &mut target.value {
                            entries.push((key.clone(), value.clone()));
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// Each service's `env_file` entries become `environment` entries
    /// under what `environment` sets itself, and bare entries (`- FOO`)
    /// take their value from the project environment. Its `label_file`
    /// entries (read as env files) become `labels` under what `labels`
    /// sets itself.
    fn environment(
        &mut self,
        root: &mut Node,
        vars: &HashMap<String, String>,
    ) -> Result<(), InputError> {
        let Some(services) = root.get_mut("services") else {
            return Ok(());
        };
        let Value::Map(services) = &mut services.value else {
            return Ok(());
        };
        for (_, service) in services.iter_mut() {
            normalise_service(service);
            self.labels_from_files(service, vars)?;
            let from_files = match service.get("env_file") {
                Some(list) => self.env_files(list, vars)?,
                None => Vec::new(),
            };
            let Value::Map(entries) = &mut service.value else {
                continue;
            };
            entries.retain(|(k, _)| k.as_str() != Some("env_file"));
            let at = service.pos;
            if service.get("environment").is_none() && from_files.is_empty() {
                continue;
            }
            let mut environment = under_own(service, "environment", from_files);
            for (key, value) in environment.iter_mut() {
                if value.is_null() {
                    if let Some(found) = key.as_str().and_then(|k| vars.get(k)) {
                        *value = quoted(found.clone(), value.pos);
                    }
                }
            }
            replace_map(service, "environment", environment, at);
        }
        Ok(())
    }

    /// Moves what a service's label files set under its `labels`.
    fn labels_from_files(
        &self,
        service: &mut Node,
        vars: &HashMap<String, String>,
    ) -> Result<(), InputError> {
        let from_files = match service.get("label_file") {
            Some(list) => self.env_files(list, vars)?,
            None => return Ok(()),
        };
        let at = service.pos;
        let Value::Map(entries) = &mut service.value else {
            return Ok(());
        };
        entries.retain(|(k, _)| k.as_str() != Some("label_file"));
        let labels = under_own(service, "labels", from_files);
        replace_map(service, "labels", labels, at);
        Ok(())
    }

    /// The variables a service's env files set, in order.
    fn env_files(
        &self,
        list: &Node,
        vars: &HashMap<String, String>,
    ) -> Result<Vec<(String, String)>, InputError> {
        let mut found: Vec<(String, String)> = Vec::new();
        let items: Vec<&Node> = match list.as_str() {
            Some(_) => vec![list],
            None => list.items().iter().collect(),
        };
        for item in items {
            let (path, required) = match item.as_str() {
                Some(path) => (path.to_string(), true),
                None => {
                    if let Some(format) = item.get("format").and_then(Node::as_str) {
                        return Err(
                            self.at(item.pos, format!("unsupported env_file format {format:?}"))
                        );
                    }
                    let required = match item.get("required") {
                        Some(r) => compose_bool(r).map_err(|e| self.at(r.pos, e))?,
                        None => true,
                    };
                    (item.text("path"), required)
                }
            };
            let text = match std::fs::read_to_string(&path) {
                Ok(text) => text,
                Err(_) if !required => continue,
                Err(_) => {
                    return Err(self.at(
                        item.pos,
                        format!(
                            "env file {path} not found: stat {path}: no such file or directory"
                        ),
                    ))
                }
            };
            let outside = |name: &str| {
                found
                    .iter()
                    .rev()
                    .find(|(k, _)| k == name)
                    .map(|(_, v)| v.clone())
                    .or_else(|| vars.get(name).cloned())
            };
            let entries = read_env_file(&text, &outside)
                .map_err(|e| self.at(item.pos, format!("failed to read {path}: {e}")))?;
            found.extend(entries);
        }
        Ok(found)
    }
}

/// A service's own map under `key`, with what files set placed before it
/// where the map does not set the same key itself (the map wins).
fn under_own(service: &Node, key: &str, from_files: Vec<(String, String)>) -> Vec<(Node, Node)> {
    let at = service.pos;
    let mut own = match service.get(key) {
        Some(Node {
            value: Value::Map(own),
            ..
        }) => own.clone(),
        _ => Vec::new(),
    };
    for (name, value) in from_files.into_iter().rev() {
        if !own.iter().any(|(k, _)| k.as_str() == Some(&name)) {
            own.insert(0, (Node::scalar(name, at), quoted(value, at)));
        }
    }
    own
}

/// Sets a service's `key` to `map`.
fn replace_map(service: &mut Node, key: &str, map: Vec<(Node, Node)>, at: Pos) {
    if let Value::Map(entries) = &mut service.value {
        entries.retain(|(k, _)| k.as_str() != Some(key));
        entries.push((
            Node::scalar(key, at),
            Node {
                value: Value::Map(map),
                pos: at,
                tag: None,
            },
        ));
    }
}

fn empty() -> Node {
    Node {
        value: Value::Map(Vec::new()),
        pos: Pos::default(),
        tag: None,
    }
}

fn quoted(text: String, pos: Pos) -> Node {
    Node {
        value: Value::Scalar(text, true),
        pos,
        tag: None,
    }
}

/// Structural equality, ignoring where things were written.
fn same(a: &Node, b: &Node) -> bool {
    match (&a.value, &b.value) {
        (Value::Scalar(x, _), Value::Scalar(y, _)) => x == y,
        (Value::Seq(x), Value::Seq(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b))
        }
        (Value::Map(x), Value::Map(y)) => {
            x.len() == y.len()
                && x.iter()
                    .zip(y)
                    .all(|((ka, va), (kb, vb))| same(ka, kb) && same(va, vb))
        }
        _ => false,
    }
}

/// Interpolates every scalar value (never a mapping key); the error
/// carries the value's position and Compose's message, which names the
/// value's path with sequence items as `[]`.
fn interpolate_tree(
    node: &mut Node,
    lookup: &dyn Fn(&str) -> Option<String>,
    path: &str,
) -> Result<(), (Pos, String)> {
    match &mut node.value {
        Value::Scalar(text, quoted) => {
            if text.contains('$') {
                *text = super::interpolate(text, lookup)
                    .map_err(|f: Fault| (node.pos, f.message(path)))?;
                // What a variable gives is a string, never YAML's null.
                *quoted = true;
            }
        }
        Value::Seq(items) => {
            let inner = format!("{path}.[]");
            for item in items {
                interpolate_tree(item, lookup, &inner)?;
            }
        }
        Value::Map(entries) => {
            for (k, v) in entries {
                let key = k.as_str().unwrap_or_default();
                let inner = if path.is_empty() {
                    key.to_string()
                } else {
                    format!("{path}.{key}")
                };
                interpolate_tree(v, lookup, &inner)?;
            }
        }
    }
    Ok(())
}

/// Makes the relative host paths of a file absolute against `base`, as
/// compose-go's `paths.ResolveRelativePaths` does before files merge, so
/// that a path keeps the meaning of the file it was written in.
fn absolutize(root: &mut Node, base: &Path, home: &str) {
    let fix = |node: &mut Node| {
        if let Value::Scalar(text, _) = &mut node.value {
            if !text.is_empty() && !node_is_absolute(text) {
                *text = host_path(text, base, home);
            }
        }
    };
    if let Some(Node {
        value: Value::Map(services),
        ..
    }) = root.get_mut("services")
    {
        for (_, service) in services.iter_mut() {
            if let Some(volumes) = service.get_mut("volumes") {
                if let Value::Seq(items) = &mut volumes.value {
                    for item in items {
                        fix_volume(item, base, home);
                    }
                }
            }
            if let Some(label_file) = service.get_mut("label_file") {
                match &mut label_file.value {
                    Value::Scalar(..) => fix(label_file),
                    Value::Seq(items) => items.iter_mut().for_each(fix),
                    Value::Map(_) => {}
                }
            }
            if let Some(env_file) = service.get_mut("env_file") {
                match &mut env_file.value {
                    Value::Scalar(..) => fix(env_file),
                    Value::Seq(items) => {
                        for item in items {
                            match item.get_mut("path") {
                                Some(path) => fix(path),
                                None => fix(item),
                            }
                        }
                    }
                    Value::Map(_) => {}
                }
            }
            if let Some(file) = service.get_mut("extends").and_then(|e| e.get_mut("file")) {
                fix(file);
            }
        }
    }
    for section in ["secrets", "configs"] {
        if let Some(Node {
            value: Value::Map(defined),
            ..
        }) = root.get_mut(section)
        {
            for (_, def) in defined.iter_mut() {
                if let Some(file) = def.get_mut("file") {
                    fix(file);
                }
            }
        }
    }
}

fn node_is_absolute(text: &str) -> bool {
    text.starts_with('/')
}

/// A volume's host path: short syntax when its source is a path
/// (`.`, `~`), long syntax when its type is `bind`.
fn fix_volume(item: &mut Node, base: &Path, home: &str) {
    match &mut item.value {
        Value::Scalar(spec, _) => {
            let parts = split_compose_volume(spec);
            // A source with a colon (a Windows drive) is left to the
            // project directory: joined, it would split differently.
            if parts.len() < 2
                || !compose_is_path(&parts[0])
                || parts[0].starts_with('/')
                || parts[0].contains(':')
            {
                return;
            }
            let source = host_path(&parts[0], base, home);
            let rest = parts[1..].join(":");
            *spec = format!("{source}:{rest}");
        }
        Value::Map(_) => {
            if item.get("type").and_then(Node::as_str) != Some("bind") {
                return;
            }
            if let Some(source) = item.get_mut("source") {
                if let Value::Scalar(text, _) = &mut source.value {
                    if !text.is_empty() && !text.starts_with('/') {
                        *text = host_path(text, base, home);
                    }
                }
            }
        }
        Value::Seq(_) => {}
    }
}
