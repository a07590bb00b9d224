//! `owner-label`: With identities in the policy, every container names an owner the policy knows.

use serde::{Deserialize, Serialize};

use dockgate_model::{Operation, Workload};

use super::Builtin;
use crate::catalog::RuleDoc;
use crate::checks::{hit, Hit};
use crate::policy::Action;

/// The rule.
pub struct Rule;

/// Set from the policy's identities and the `ownership` rule's label,
/// never from the file.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Owners {
    /// The label that names a container's owner.
    #[serde(skip)]
    pub label: String,
    /// Every identity of the policy; `None` without identities, and for
    /// callers at the gate, where `ownership` judges.
    #[serde(skip)]
    pub owners: Option<Vec<String>>,
}

impl Builtin for Rule {
    type Params = Owners;
    const ID: &'static str = "owner-label";
    // A warning: the daemon's Unix socket (no role) may create containers
    // without an owner, and the patrol must not stop what the gate let in.
    const BASELINE: Action = Action::Warn;
    const RESTRICTED: Action = Action::Warn;
    const DOC: RuleDoc = RuleDoc {
        summary: "With identities in the policy, every container (as scan and check see it) names an owner the policy knows.",
        why: "A container without a known owner is out of every role's reach but the operator's, and nobody answers for it.",
        fix: "label the container with its owner (--label dockgate.owner=NAME, an identity of the policy), or remove it",
        parameters: "none (the label is the ownership rule's)",
    };

    fn check(w: &Workload, p: &Owners) -> Vec<Hit> {
        let Some(owners) = &p.owners else {
            return Vec::new();
        };
        let stored = w.call.is_none()
            && matches!(w.operation, Operation::Container | Operation::Service);
        if !stored {
            return Vec::new();
        }
        match w.labels.iter().rev().find(|l| l.value.0 == p.label) {
            None => vec![hit(
                "Labels",
                format!(
                    "no {} label: no identity of the policy owns it ({})",
                    p.label,
                    owners.join(", ")
                ),
            )],
            Some(l) if !owners.contains(&l.value.1) => vec![hit(
                &l.field,
                format!(
                    "owner label {}={:?} names no identity of the policy ({})",
                    p.label,
                    l.value.1,
                    owners.join(", ")
                ),
            )],
            Some(_) => Vec::new(),
        }
    }
}
