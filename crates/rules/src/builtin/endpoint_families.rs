//! `endpoint-families`: The caller's role may call only the endpoint families it is granted.

use dockgate_model::{EndpointFamily, Operation, Workload};

use super::Builtin;
use crate::catalog::RuleDoc;
use crate::checks::{hit, Hit};
use crate::policy::Action;

/// The rule.
pub struct Rule;

/// The families granted (`endpoints = [...]` in a role).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Families {
    /// Family names: `read-only`, `operate`, `build`, `admin`.
    pub allow: Vec<String>,
    /// Whether a container described without a call (a compose service
    /// judged with `check --as ROLE`) is judged as the create that would
    /// make it.
    #[serde(skip)]
    pub stored: bool,
}

impl Default for Families {
    fn default() -> Self {
        Families {
            allow: EndpointFamily::GRANTABLE
                .iter()
                .map(|f| f.name().to_string())
                .collect(),
            stored: false,
        }
    }
}

impl Builtin for Rule {
    type Params = Families;
    const ID: &'static str = "endpoint-families";
    const BASELINE: Action = Action::Deny;
    const RESTRICTED: Action = Action::Deny;
    const JUDGES_CONTAINERS: bool = false;
    const DOC: RuleDoc = RuleDoc {
        summary: "A caller may call only the endpoint families its role is granted.",
        why: "Whoever reaches the Docker API controls the host: a tool that only reads container labels (Traefik, a metrics agent) must not be able to start containers.",
        fix: "call it as an identity whose role is granted that family, or grant it in the role's endpoints = [...]",
        parameters: "allow (families: read-only, operate, build, admin; every route belongs to one, see docs/identities.md; set per role with endpoints = [...])",
    };

    fn validate(params: Families) -> Result<Families, String> {
        for name in &params.allow {
            if !EndpointFamily::GRANTABLE.iter().any(|f| f.name() == name) {
                let known: Vec<&str> = EndpointFamily::GRANTABLE.iter().map(|f| f.name()).collect();
                return Err(format!(
                    "rules.endpoint-families.allow: endpoint family {name:?} is not one of {}",
                    known.join(", ")
                ));
            }
        }
        Ok(params)
    }

    fn check(w: &Workload, p: &Families) -> Vec<Hit> {
        let granted = |family: EndpointFamily| {
            family == EndpointFamily::Handshake || p.allow.iter().any(|f| f == family.name())
        };
        match &w.call {
            Some(call) if !granted(call.family) => vec![hit(
                "path",
                format!(
                    "{} {} is an endpoint of the {} family, which the caller's role is not granted",
                    call.method,
                    call.endpoint,
                    call.family.name()
                ),
            )],
            None if p.stored
                && matches!(w.operation, Operation::Container | Operation::Service)
                && !granted(EndpointFamily::Operate) =>
            {
                vec![hit(
                    "Image",
                    "creating a container is an endpoint of the operate family, which the role is not granted",
                )]
            }
            _ => Vec::new(),
        }
    }
}
