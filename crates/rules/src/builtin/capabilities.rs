//! `capabilities`: No capability beyond Docker's default set may be added, and never ALL. The restricted profile also requires --cap-drop ALL.

use serde::{Deserialize, Serialize};

use dockgate_model::{DEFAULT_CAPABILITIES, Workload};

use super::Builtin;
use crate::catalog::RuleDoc;
use crate::checks::{hit, is_container, Hit};
use crate::policy::{Action, Profile};

/// The rule's parameters.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// Capabilities allowed beyond Docker's default set.
    pub allow: Vec<String>,
    /// Whether --cap-drop ALL is required.
    pub require_drop_all: bool,
}

/// The rule.
pub struct Rule;

impl Builtin for Rule {
    type Params = Params;
    const ID: &'static str = "capabilities";
    const BASELINE: Action = Action::Deny;
    const RESTRICTED: Action = Action::Deny;
    const DOC: RuleDoc = RuleDoc {
        summary: "No capability beyond Docker's default set may be added, and never ALL. The restricted profile also requires --cap-drop ALL.",
        why: "CAP_SYS_ADMIN alone allows mounting file systems and many known escapes; CAP_SYS_PTRACE, CAP_SYS_MODULE, CAP_NET_ADMIN and others each weaken the host boundary.",
        fix: "remove the --cap-add, or ask an administrator to allow that capability",
        parameters: "allow (capabilities allowed beyond the default set), require_drop_all (true: the workload must drop ALL and add back only what it needs)",
    };
    fn params(profile: Profile) -> Params {
        Params {
            allow: Vec::new(),
            require_drop_all: profile == Profile::Restricted,
        }
    }
    fn validate(params: Params) -> Result<Params, String> {
        Ok(Params {
            allow: params
                .allow
                .iter()
                .map(|c| dockgate_model::normalize_capability(c))
                .collect(),
            require_drop_all: params.require_drop_all,
        })
    }

    fn check(w: &Workload, p: &Params) -> Vec<Hit> {
        capabilities(w, p)
    }
}

fn capabilities(w: &Workload, p: &Params) -> Vec<Hit> {
    let mut hits = Vec::new();
    for cap in &w.cap_add {
        if cap.value == "ALL" {
            hits.push(hit(
                &cap.field,
                format!("adds ALL capabilities ({}=ALL)", cap.field),
            ));
        } else if !DEFAULT_CAPABILITIES.contains(&cap.value.as_str())
            && !p.allow.contains(&cap.value)
        {
            hits.push(hit(
                &cap.field,
                format!("adds capability CAP_{} ({})", cap.value, cap.field),
            ));
        }
    }
    if p.require_drop_all && is_container(w) && !w.cap_drop.iter().any(|c| c.value == "ALL") {
        let field = w
            .cap_drop
            .first()
            .map(|c| {
                c.field
                    .rsplit_once('[')
                    .map(|(f, _)| f)
                    .unwrap_or(&c.field)
                    .to_string()
            })
            .unwrap_or_else(|| "CapDrop".to_string());
        hits.push(hit(
            &field,
            "does not drop ALL capabilities (--cap-drop ALL)".to_string(),
        ));
    }
    hits
}
