//! Merging compose definitions, as `-f a.yml -f b.yml`, override files and
//! `extends` do: compose-go `override/merge.go` (v2.4.8). A mapping merges
//! key by key; a scalar is replaced; a sequence is appended, and for some
//! keys de-duplicated by what identifies an item, the later item taking
//! the earlier one's place. `!reset` drops what was there, `!override`
//! replaces it whole.

use crate::sources::syntax::split_compose_volume;
use crate::yaml::{Node, Value};

/// Service keys whose value is replaced whole.
const REPLACED: &[&str] = &["command", "entrypoint"];

/// Service keys written as `KEY=VALUE` lists or mappings, merged by key.
const KEYED_PAIRS: &[&str] = &["environment", "labels", "annotations", "sysctls"];

/// Service keys whose items are de-duplicated by the text before `=`.
const DEDUPLICATED: &[&str] = &[
    "expose",
    "cap_add",
    "cap_drop",
    "dns",
    "dns_opt",
    "dns_search",
    "tmpfs",
    "profiles",
    "links",
    "extra_hosts",
    "env_file",
];

/// Service keys written as a list of names or a mapping, merged by name.
const NAMED: &[&str] = &["depends_on", "networks"];

/// Merges `over` into the accumulated top level `base`.
pub(super) fn merge_root(base: &mut Node, over: Node) {
    for (key, value) in into_entries(over) {
        let name = key.as_str().unwrap_or_default().to_string();
        if tagged(base, &key, &value) {
            continue;
        }
        match (name.as_str(), base.get_mut(&name)) {
            (_, None) => push(base, key, untagged(value)),
            (_, Some(_)) if is_plain_null(&value) => {}
            ("services", Some(existing)) => {
                for (service_key, service) in into_entries(value) {
                    let service_name = service_key.as_str().unwrap_or_default().to_string();
                    if tagged(existing, &service_key, &service) {
                        continue;
                    }
                    match existing.get_mut(&service_name) {
                        Some(_) if is_plain_null(&service) => {}
                        Some(base_service) => merge_service(base_service, service),
                        None => push(existing, service_key, untagged(service)),
                    }
                }
            }
            (name, Some(existing)) if name.starts_with("x-") => *existing = untagged(value),
            (_, Some(existing)) => merge_generic(existing, value),
        }
    }
}

/// Merges a service definition over another (an override file, or an
/// `extends` child over its base).
pub(super) fn merge_service(base: &mut Node, over: Node) {
    normalise_service(base);
    let mut over = over;
    normalise_service(&mut over);
    for (key, value) in into_entries(over) {
        let name = key.as_str().unwrap_or_default().to_string();
        if tagged(base, &key, &value) {
            continue;
        }
        let Some(existing) = base.get_mut(&name) else {
            push(base, key, untagged(value));
            continue;
        };
        if is_plain_null(&value) {
            continue;
        }
        let value = untagged(value);
        match name.as_str() {
            _ if REPLACED.contains(&name.as_str()) || name.starts_with("x-") => *existing = value,
            // `KEY=VALUE` entries replace by key; a bare `KEY` (null here)
            // replaces too, leaving the variable without a value.
            _ if KEYED_PAIRS.contains(&name.as_str()) => replace_by_key(existing, value),
            "volumes" | "devices" | "secrets" | "configs" => {
                append_by(existing, value, |item| target_of(&name, item))
            }
            "ports" => append_by(existing, value, |item| Some(canonical(item))),
            _ if DEDUPLICATED.contains(&name.as_str()) => append_by(existing, value, |item| {
                item.as_str()
                    .map(|s| s.split('=').next().unwrap_or(s).to_string())
            }),
            "healthcheck" => merge_healthcheck(existing, value),
            "logging" => merge_logging(existing, value),
            // A limit is replaced whole, never merged field by field.
            "ulimits" => replace_by_key(existing, value),
            _ => merge_generic(existing, value),
        }
    }
}

/// Each entry of `over` replaces the entry of `base` with its key.
fn replace_by_key(base: &mut Node, over: Node) {
    for (key, value) in into_entries(over) {
        let name = key.as_str().unwrap_or_default().to_string();
        match base.get_mut(&name) {
            Some(slot) => *slot = value,
            None => push(base, key, value),
        }
    }
}

/// A null that is not `!reset`: compose-go's `mergeYaml` keeps what was
/// there (`privileged:` in an override does not turn it off).
fn is_plain_null(node: &Node) -> bool {
    node.is_null() && node.tag.is_none()
}

/// Applies a `!reset` or `!override` tag on `value` to `base`; true when
/// that handled the entry.
fn tagged(base: &mut Node, key: &Node, value: &Node) -> bool {
    let Some(name) = key.as_str() else {
        return false;
    };
    match value.tag.as_deref() {
        Some("!reset") => {
            remove(base, name);
            true
        }
        Some("!override") => {
            remove(base, name);
            push(base, key.clone(), without_tags(value.clone()));
            true
        }
        _ => false,
    }
}

/// A node as Compose keeps what `!override` covers: compose-go does not
/// walk below it, so tags there are plain decode hints and nothing is
/// reset.
fn without_tags(node: Node) -> Node {
    cleared(node, false)
}

/// A node with `!reset` items dropped and tags cleared, for a value with
/// nothing under it to merge into.
fn untagged(node: Node) -> Node {
    cleared(node, true)
}

/// Clears every tag below `node`, dropping `!reset` entries when
/// `drop_resets`, and never below an `!override`.
fn cleared(mut node: Node, drop_resets: bool) -> Node {
    let drop_resets = drop_resets && node.tag.as_deref() != Some("!override");
    node.tag = None;
    let is_reset = |n: &Node| drop_resets && n.tag.as_deref() == Some("!reset");
    let clear =
        |n: &mut Node| *n = cleared(std::mem::replace(n, Node::scalar("", n.pos)), drop_resets);
    match &mut node.value {
        Value::Scalar(..) => {}
        Value::Seq(items) => {
            items.retain(|i| !is_reset(i));
            items.iter_mut().for_each(clear);
        }
        Value::Map(entries) => {
            entries.retain(|(_, v)| !is_reset(v));
            entries.iter_mut().for_each(|(_, v)| clear(v));
        }
    }
    node
}

/// Deep merge: mappings by key, sequences appended, anything else replaced.
fn merge_generic(base: &mut Node, over: Node) {
    match (&mut base.value, over.value) {
        (Value::Map(_), Value::Map(more)) => {
            for (key, value) in more {
                let name = key.as_str().unwrap_or_default().to_string();
                if tagged(base, &key, &value) {
                    continue;
                }
                match base.get_mut(&name) {
                    Some(_) if is_plain_null(&value) => {}
                    Some(existing) => merge_generic(existing, untagged(value)),
                    None => push(base, key, untagged(value)),
                }
            }
        }
        (Value::Seq(items), Value::Seq(more)) => {
            items.extend(more.into_iter().map(untagged));
        }
        (_, value) => {
            base.value = value;
            base.pos = over.pos;
        }
    }
}

/// Appends `over`'s items; an item whose identity matches one already
/// there takes its place.
fn append_by(base: &mut Node, over: Node, identity: impl Fn(&Node) -> Option<String>) {
    let Value::Seq(items) = &mut base.value else {
        *base = untagged(over);
        return;
    };
    for item in into_items(over) {
        let id = identity(&item);
        match items
            .iter_mut()
            .find(|existing| id.is_some() && identity(existing) == id)
        {
            Some(existing) => *existing = item,
            None => items.push(item),
        }
    }
}

fn merge_healthcheck(base: &mut Node, over: Node) {
    for (key, value) in into_entries(over) {
        let name = key.as_str().unwrap_or_default().to_string();
        match base.get_mut(&name) {
            Some(existing) if name == "test" => *existing = value,
            Some(existing) => merge_generic(existing, value),
            None => push(base, key, value),
        }
    }
}

/// Logging options merge when the driver is the same or one side names
/// none; otherwise the later block replaces the earlier.
fn merge_logging(base: &mut Node, over: Node) {
    let driver = |n: &Node| n.get("driver").and_then(Node::as_str).map(str::to_string);
    match (driver(base), driver(&over)) {
        (Some(a), Some(b)) if a != b => *base = over,
        _ => merge_generic(base, over),
    }
}

/// Puts the forms Compose unifies before merging into one: `KEY=VALUE`
/// lists into mappings, name lists into mappings, single strings into
/// lists, `build: ctx` into `build: {context: ctx}`.
pub(super) fn normalise_service(service: &mut Node) {
    let Value::Map(entries) = &mut service.value else {
        return;
    };
    for (key, value) in entries.iter_mut() {
        let name = key.as_str().unwrap_or_default();
        if KEYED_PAIRS.contains(&name) {
            pairs_to_map(value);
        } else if NAMED.contains(&name) {
            names_to_map(value);
        } else if name == "build" {
            if let Some(context) = value.as_str().filter(|_| !value.is_null()) {
                let pos = value.pos;
                value.value = Value::Map(vec![(
                    Node::scalar("context", pos),
                    Node::scalar(context, pos),
                )]);
            }
            if let Some(args) = value.get_mut("args") {
                pairs_to_map(args);
            }
        } else if DEDUPLICATED.contains(&name) && value.as_str().is_some() && !value.is_null() {
            let item = value.clone();
            value.value = Value::Seq(vec![item]);
        }
    }
}

/// `[K=V, K2]` → `{K: V, K2: null}`; a written value is a string, however
/// it looks.
fn pairs_to_map(node: &mut Node) {
    let Value::Seq(items) = &node.value else {
        return;
    };
    let entries = items
        .iter()
        .map(|item| {
            let text = item.as_str().unwrap_or_default();
            let (key, value) = match text.split_once('=') {
                Some((k, v)) => (
                    k,
                    Node {
                        value: Value::Scalar(v.to_string(), true),
                        pos: item.pos,
                        tag: None,
                    },
                ),
                None => (text, Node::scalar("null", item.pos)),
            };
            (Node::scalar(key, item.pos), value)
        })
        .collect();
    node.value = Value::Map(entries);
}

/// `[a, b]` → `{a: null, b: null}`.
fn names_to_map(node: &mut Node) {
    let Value::Seq(items) = &node.value else {
        return;
    };
    let entries = items
        .iter()
        .map(|item| {
            (
                Node::scalar(item.as_str().unwrap_or_default(), item.pos),
                Node {
                    value: Value::Map(Vec::new()),
                    pos: item.pos,
                    tag: None,
                },
            )
        })
        .collect();
    node.value = Value::Map(entries);
}

/// The container path a volume, device, secret or config lands at.
fn target_of(key: &str, item: &Node) -> Option<String> {
    // The target as written: Compose de-duplicates on the text, so
    // `/data/` and `/data` are two mounts (and the daemon gets both).
    if let Some(target) = item.get("target").and_then(Node::as_str) {
        return Some(target.to_string());
    }
    match (key, item.as_str()) {
        ("secrets", _) => Some(format!("/run/secrets/{}", source_name(item))),
        ("configs", _) => Some(format!("/{}", source_name(item))),
        ("volumes", Some(spec)) => {
            let parts = split_compose_volume(spec);
            Some(parts.get(1).unwrap_or(&parts[0]).clone())
        }
        ("devices", Some(spec)) => {
            let mut parts = spec.split(':');
            let host = parts.next().unwrap_or_default();
            Some(parts.next().unwrap_or(host).to_string())
        }
        _ => None,
    }
}

fn source_name(item: &Node) -> String {
    item.as_str()
        .map(str::to_string)
        .unwrap_or_else(|| item.text("source"))
}

/// A port's identity: its text, or its long-syntax fields.
fn canonical(item: &Node) -> String {
    match item.as_str() {
        Some(text) => text.to_string(),
        None => format!(
            "{}:{}:{}/{}",
            item.text("host_ip"),
            item.text("published"),
            item.text("target"),
            item.text("protocol")
        ),
    }
}

fn into_entries(node: Node) -> Vec<(Node, Node)> {
    match node.value {
        Value::Map(entries) => entries,
        _ => Vec::new(),
    }
}

fn into_items(node: Node) -> Vec<Node> {
    match node.value {
        Value::Seq(items) => items
            .into_iter()
            .filter(|i| i.tag.as_deref() != Some("!reset"))
            .map(untagged)
            .collect(),
        _ => Vec::new(),
    }
}

fn push(node: &mut Node, key: Node, value: Node) {
    if let Value::Map(entries) = &mut node.value {
        entries.push((key, value));
    } else {
        node.value = Value::Map(vec![(key, value)]);
    }
}

fn remove(node: &mut Node, key: &str) {
    if let Value::Map(entries) = &mut node.value {
        entries.retain(|(k, _)| k.as_str() != Some(key));
    }
}
