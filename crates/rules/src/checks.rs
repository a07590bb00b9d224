//! What the built-in rules' checks share: the finding they return and
//! helpers that read the model. Each rule's own check is in its module
//! under `builtin`.

use dockgate_model::{ApiCall, CallKind, Mount, MountKind, Operation, Workload};

/// One thing a rule found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    /// The offending field, in the input's syntax.
    pub field: String,
    /// What is wrong, naming the value.
    pub message: String,
    /// The setting could not be judged because a look-up on the daemon
    /// failed: the fix is the look-up, not the setting.
    pub lookup_failed: bool,
}

pub(crate) fn hit(field: impl Into<String>, message: impl Into<String>) -> Hit {
    Hit {
        field: field.into(),
        message: message.into(),
        lookup_failed: false,
    }
}

/// A hit on a setting that a failed look-up left unjudged.
pub(crate) fn unjudged(field: impl Into<String>, message: impl Into<String>) -> Hit {
    Hit {
        lookup_failed: true,
        ..hit(field, message)
    }
}

/// Whether the workload is a whole container (or service task), for rules
/// that require a setting to be present.
pub(crate) fn is_container(w: &Workload) -> bool {
    matches!(w.operation, Operation::Container | Operation::Service)
}

/// The same path under `/run` and `/var/run`, which are one directory on
/// every current distribution.
pub(crate) fn run_aliases(path: &str) -> Vec<String> {
    let mut out = vec![path.to_string()];
    if let Some(rest) = path.strip_prefix("/var/run") {
        if rest.is_empty() || rest.starts_with('/') {
            out.push(format!("/run{rest}"));
        }
    } else if let Some(rest) = path.strip_prefix("/run") {
        if rest.is_empty() || rest.starts_with('/') {
            out.push(format!("/var/run{rest}"));
        }
    }
    out
}

/// Whether `path` is `prefix` or below it.
pub(crate) fn under(path: &str, prefix: &str) -> bool {
    prefix == "/"
        || path == prefix
        || path
            .strip_prefix(prefix)
            .is_some_and(|rest| rest.starts_with('/'))
}

/// The host paths a bind exposes: as written and as resolved on the host.
pub(crate) fn bind_paths(mount: &Mount) -> Vec<&str> {
    match &mount.kind {
        MountKind::Bind {
            host_path,
            real_path,
        } => std::iter::once(host_path.as_str())
            .chain(real_path.as_deref())
            .collect(),
        _ => Vec::new(),
    }
}

pub(crate) fn describe_source(mount: &Mount) -> String {
    let mut text = match &mount.kind {
        MountKind::Bind { .. } | MountKind::UnresolvedBind { .. } => "bind mount".to_string(),
        MountKind::Volume { name, .. } if name.is_empty() => "volume".to_string(),
        MountKind::Volume { name, .. } => format!("volume {name:?}"),
        MountKind::Tmpfs => "tmpfs".to_string(),
        MountKind::Other { kind } => format!("{kind} mount"),
    };
    if let Some(via) = &mount.via {
        text = format!("{text} (through {via})");
    }
    text
}

pub(crate) fn at_target(mount: &Mount) -> String {
    if mount.target.is_empty() {
        String::new()
    } else {
        format!(" at {:?}", mount.target)
    }
}

pub(crate) fn image_applies(w: &Workload) -> bool {
    matches!(
        w.operation,
        Operation::Container | Operation::Service | Operation::Image
    )
}

pub(crate) fn limit(
    w: &Workload,
    setting: Option<&dockgate_model::At<i64>>,
    name: &str,
    field: &str,
) -> Vec<Hit> {
    match (w.operation, setting) {
        (Operation::Update, Some(v)) if v.value < 0 => vec![hit(
            &v.field,
            format!("removes the {name} limit ({}={})", v.field, v.value),
        )],
        (Operation::Container | Operation::Service, Some(v)) if v.value <= 0 => vec![hit(
            &v.field,
            format!("no {name} limit ({}={})", v.field, v.value),
        )],
        (Operation::Container | Operation::Service, None) => {
            vec![hit(field, format!("no {name} limit"))]
        }
        _ => Vec::new(),
    }
}

/// One hit when the request goes to an endpoint of `kind`, worded by `what`
/// from the call and the name the request targets.
pub(crate) fn call_of_kind(
    w: &Workload,
    kind: CallKind,
    what: impl Fn(&ApiCall, Option<&str>) -> String,
) -> Vec<Hit> {
    match &w.call {
        Some(call) if call.kind == kind => vec![hit("path", what(call, w.name.as_deref()))],
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests;
