//! The built-in rules, one module each: its id, its actions in the two
//! profiles, its documentation, its typed parameters and its check over
//! the model. The registry (`crate::catalog`) lists them; adding a rule is
//! a module here and a line there.

use std::collections::BTreeMap;
use std::ops::Range;

use dockgate_model::Workload;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use toml::Spanned;

use crate::catalog::RuleDoc;
use crate::checks::Hit;
use crate::policy::{Action, Profile};

macro_rules! modules {
    ($($module:ident,)*) => { $(pub(crate) mod $module;)* };
}

modules! {
    privileged,
    host_mount,
    docker_socket,
    host_namespace,
    capabilities,
    devices,
    security_profile,
    sysctls,
    mount_propagation,
    runtime,
    runtime_annotations,
    cgroup_parent,
    network_driver,
    run_as_root,
    published_ports,
    image_registry,
    image_latest,
    image_digest,
    no_new_privileges,
    read_only_rootfs,
    memory_limit,
    pids_limit,
    env_secrets,
    endpoint_families,
    ownership,
    owner_label,
    allowed_images,
    plugin_management,
    swarm_join,
    buildkit,
    copy_into_container,
    unknown_endpoint,
    unreadable_request,
    gate_failure,
}

/// One built-in rule.
pub(crate) trait Builtin {
    /// Its parameters: the keys of its `[rules.ID]` table beside `action`.
    type Params: Serialize + DeserializeOwned + Clone + PartialEq + Eq + std::fmt::Debug + Default;
    /// The stable id. Never rename one: policy files, exemptions, audit
    /// records and monitoring name it.
    const ID: &'static str;
    /// Its action in the baseline profile.
    const BASELINE: Action;
    /// Its action in the restricted profile.
    const RESTRICTED: Action;
    /// What `dockgate explain` and docs/rules.md say.
    const DOC: RuleDoc;
    /// A rule no policy may change or exempt: dockgate never allows a
    /// request it could not read or could not finish judging.
    const FIXED: bool = false;
    /// Whether it can find something in a container's own settings, as a
    /// scan sees them (the others judge API calls).
    const JUDGES_CONTAINERS: bool = true;

    /// Its parameters in a profile.
    fn params(_profile: Profile) -> Self::Params {
        Self::Params::default()
    }

    /// Checks and normalizes parameters read from a policy file; the error
    /// names the key (`rules.host-mount.allow: ...`).
    fn validate(params: Self::Params) -> Result<Self::Params, String> {
        Ok(params)
    }

    /// What it finds in a workload.
    fn check(w: &Workload, params: &Self::Params) -> Vec<Hit>;
}

/// The parameters of a rule that takes none.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoParams {}

/// The parameters of a rule that takes an allow-list (its documentation
/// says of what).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AllowList {
    /// What is allowed.
    pub allow: Vec<String>,
}

/// The action a profile gives a rule.
pub(crate) fn default_action<R: Builtin>(profile: Profile) -> Action {
    match profile {
        Profile::Baseline => R::BASELINE,
        Profile::Restricted => R::RESTRICTED,
    }
}

pub(crate) fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

/// Absolute, cleaned paths; the error names the key.
pub(crate) fn absolute(field: &str, paths: Vec<String>) -> Result<Vec<String>, String> {
    paths
        .into_iter()
        .map(|p| {
            if p.starts_with('/') {
                Ok(dockgate_model::clean_path(&p))
            } else {
                Err(format!("{field}: {p:?} is not an absolute path"))
            }
        })
        .collect()
}

/// A rule's table as the policy file wrote it, with where each key and
/// value is.
pub(crate) type Table = BTreeMap<Spanned<String>, Spanned<toml::Value>>;

/// Why a rule's table was refused: where in the file (for syntax and type
/// problems), and what.
pub(crate) struct TableError {
    /// The byte range of the offending key or value, if one is to blame.
    pub span: Option<Range<usize>>,
    /// What is wrong.
    pub message: String,
}

/// Reads a rule's table over the parameters in force (the profile's):
/// keys it sets replace theirs, keys it leaves keep them. Returns the
/// action it sets, if any.
pub(crate) fn read_table<R: Builtin>(
    params: &mut R::Params,
    table: Table,
) -> Result<Option<Action>, TableError> {
    let unplaced = |message: String| TableError {
        span: None,
        message,
    };
    let defaults = toml::Table::try_from(&*params).map_err(|e| unplaced(e.to_string()))?;
    let mut merged = defaults.clone();
    let mut action = None;
    let mut written = Vec::new();
    for (key, value) in table {
        let key_span = key.span();
        let key = key.into_inner();
        let value_span = value.span();
        let value = value.into_inner();
        if key == "action" {
            let read: Action = value.try_into().map_err(|e: toml::de::Error| TableError {
                span: Some(value_span),
                message: e.message().trim().to_string(),
            })?;
            action = Some(read);
            continue;
        }
        if !defaults.contains_key(&key) {
            let mut expected = vec!["action"];
            expected.extend(defaults.keys().map(String::as_str));
            return Err(TableError {
                span: Some(key_span),
                message: format!("unknown field `{key}`, {}", expected_list(&expected)),
            });
        }
        merged.insert(key.clone(), value);
        written.push((key, value_span));
    }
    let typed = match toml::Value::Table(merged.clone()).try_into::<R::Params>() {
        Ok(typed) => typed,
        Err(err) => {
            // Blame the first key that fails on its own.
            for (key, span) in &written {
                let mut one = defaults.clone();
                one.insert(key.clone(), merged[key].clone());
                if let Err(own) = toml::Value::Table(one).try_into::<R::Params>() {
                    return Err(TableError {
                        span: Some(span.clone()),
                        message: format!("{key}: {}", own.message().trim()),
                    });
                }
            }
            return Err(unplaced(err.message().trim().to_string()));
        }
    };
    *params = R::validate(typed).map_err(unplaced)?;
    Ok(action)
}

/// serde's wording for the keys a table takes.
fn expected_list(keys: &[&str]) -> String {
    let quoted: Vec<String> = keys.iter().map(|k| format!("`{k}`")).collect();
    match quoted.as_slice() {
        [one] => format!("expected {one}"),
        [a, b] => format!("expected {a} or {b}"),
        many => format!("expected one of {}", many.join(", ")),
    }
}

/// A rule's parameters as the keys and values of its table.
pub(crate) fn to_table<P: Serialize>(params: &P) -> toml::Table {
    toml::Table::try_from(params).unwrap_or_default()
}
