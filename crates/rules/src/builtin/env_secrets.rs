//! `env-secrets`: Environment values should not look like secrets: a variable named like one, or a URL with a password in it.

use serde::{Deserialize, Serialize};

use dockgate_model::Workload;

use super::{Builtin, strings};
use crate::catalog::RuleDoc;
use crate::checks::{hit, Hit};
use crate::policy::{Action, Profile};

/// The rule's parameters.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// Variable-name fragments that mark a secret.
    pub names: Vec<String>,
}

/// Variable-name fragments that mark a secret.
pub const DEFAULT_SECRET_NAMES: &[&str] = &[
    "PASSWORD",
    "PASSWD",
    "_PASS",
    "_PWD",
    "SECRET",
    "TOKEN",
    "API_KEY",
    "APIKEY",
    "PRIVATE_KEY",
    "ACCESS_KEY",
    "CREDENTIAL",
];

/// The rule.
pub struct Rule;

impl Builtin for Rule {
    type Params = Params;
    const ID: &'static str = "env-secrets";
    const BASELINE: Action = Action::Warn;
    const RESTRICTED: Action = Action::Warn;
    const DOC: RuleDoc = RuleDoc {
        summary: "Environment values should not look like secrets: a variable named like one, or a URL with a password in it.",
        why: "Environment variables are readable by anyone who can inspect the container, and end up in logs and crash reports.",
        fix: "pass the secret as a file (a Docker secret or a read-only mount) instead",
        parameters: "names (substrings of variable names that mark a secret)",
    };
    fn params(_profile: Profile) -> Params {
        Params {
            names: strings(DEFAULT_SECRET_NAMES),
        }
    }
    fn validate(params: Params) -> Result<Params, String> {
        Ok(Params {
            names: params.names.iter().map(|n| n.to_ascii_uppercase()).collect(),
        })
    }

    fn check(w: &Workload, p: &Params) -> Vec<Hit> {
        env_secrets(w, p)
    }
}

fn env_secrets(w: &Workload, p: &Params) -> Vec<Hit> {
    w.env
        .iter()
        .filter_map(|e| {
            let value = e.value.as_deref().filter(|v| !v.is_empty())?;
            let name = e.name.to_ascii_uppercase();
            // Docker-secret conventions point at a file, not a value.
            let named = !name.ends_with("_FILE")
                && p.names.iter().any(|n| name.contains(n.as_str()));
            let why = if named {
                "looks like it holds a secret"
            } else if url_with_password(value) {
                "holds a URL with a password in it"
            } else {
                return None;
            };
            Some(hit(
                &e.field,
                format!("environment variable {} {why} ({})", e.name, e.field),
            ))
        })
        .collect()
}

/// `scheme://user:password@host...`: a connection string that carries
/// its password, whatever the variable is called.
fn url_with_password(value: &str) -> bool {
    let Some((scheme, rest)) = value.split_once("://") else {
        return false;
    };
    let scheme_ok = scheme
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '.' | '-'));
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let Some((userinfo, _host)) = authority.rsplit_once('@') else {
        return false;
    };
    scheme_ok
        && userinfo
            .split_once(':')
            .is_some_and(|(_, password)| !password.is_empty())
}
