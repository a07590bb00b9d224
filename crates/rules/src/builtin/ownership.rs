//! `ownership`: A caller with a role acts only on its own containers, and labels what it creates as its own.

use dockgate_model::{Operation, Resolution, Target, Workload};

use super::Builtin;
use crate::catalog::RuleDoc;
use crate::checks::{hit, unjudged, Hit};
use crate::policy::Action;

/// The rule.
pub struct Rule;

/// The owner label, what a role may do to other owners' containers, and
/// (set from the policy's identities, never from the file) who the caller
/// may act as.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Owners {
    /// The label that names a container's owner.
    pub label: String,
    /// What a role may do to containers of other owners (`inspect`,
    /// `logs`, ...; `*` for everything); set per role with
    /// `others = [...]`.
    pub others: Vec<String>,
    /// The identities whose containers the caller owns; `None` when
    /// ownership does not apply (no identities, or a caller without a
    /// role).
    #[serde(skip)]
    pub owners: Option<Vec<String>>,
    /// Whether containers described without an API call (scan, check)
    /// must name one of `owners`.
    #[serde(skip)]
    pub stored: bool,
    /// Every identity of the policy: a role that acts on every owner's
    /// containers (`others = ["*"]`) may create them for any of these.
    #[serde(skip)]
    pub known: Vec<String>,
}

/// The label that names a container's owner, unless the policy says
/// another.
pub const OWNER_LABEL: &str = "dockgate.owner";

impl Default for Owners {
    fn default() -> Self {
        Owners {
            label: OWNER_LABEL.to_string(),
            others: Vec::new(),
            owners: None,
            stored: false,
            known: Vec::new(),
        }
    }
}

impl Builtin for Rule {
    type Params = Owners;
    const ID: &'static str = "ownership";
    const BASELINE: Action = Action::Deny;
    const RESTRICTED: Action = Action::Deny;
    const DOC: RuleDoc = RuleDoc {
        summary: "With identities in the policy, a container names its owner in a label, and a caller acts only on containers its identity owns.",
        why: "Teams and tools that share a daemon can otherwise exec into, stop or inspect each other's containers, and an inspect shows a container's environment, passwords included.",
        fix: "create the container with the owner label naming your identity (--label dockgate.owner=NAME), act only on your own containers, or have the role granted others = [...]",
        parameters: "label (default dockgate.owner); others (what a role may do to other owners' containers: inspect, logs, stats, top, changes, export, cp, attach, exec, start, restart, stop, kill, pause, wait, resize, rename, update, rm, commit, checkpoint, volumes-from, link, join, network, or *; set per role)",
    };

    fn validate(params: Owners) -> Result<Owners, String> {
        if params.label.is_empty() {
            return Err("rules.ownership.label: name the owner label".to_string());
        }
        for action in &params.others {
            if action != "*" && !Target::ACTIONS.contains(&action.as_str()) {
                return Err(format!(
                    "rules.ownership.others: {action:?} is not one of *, {}",
                    Target::ACTIONS.join(", ")
                ));
            }
        }
        Ok(params)
    }

    fn check(w: &Workload, p: &Owners) -> Vec<Hit> {
        let Some(owners) = &p.owners else {
            return Vec::new();
        };
        let mut hits = Vec::new();
        if creates(w, p) {
            // Acting on every owner's containers, it may make them for
            // any owner.
            let anyone = p.others.iter().any(|a| a == "*");
            let allowed = if anyone { &p.known } else { owners };
            hits.extend(created(w, p, allowed));
        }
        let granted = |action: &str| p.others.iter().any(|a| a == "*" || a == action);
        for target in &w.targets {
            if granted(target.value.action) {
                continue;
            }
            let reference = &target.value.reference;
            let action = target.value.action;
            if target.value.ambiguous {
                hits.push(hit(
                    &target.field,
                    format!(
                        "{action} of container {reference:?} by a name that is also an ID prefix: renaming that container would make the same name reach another; use its full ID"
                    ),
                ));
                continue;
            }
            match &target.value.labels {
                // A network join the daemon stores as written and looks up
                // at every start: whoever later holds that name or ID
                // prefix would be joined.
                Resolution::Known(None) if action == "join" => hits.push(hit(
                    &target.field,
                    format!(
                        "joins the namespaces of container {reference:?}, which does not exist: the daemon looks it up again at every start, and would join whichever container has it then"
                    ),
                )),
                // No such container: the daemon refuses the request.
                Resolution::Known(None) => {}
                Resolution::Known(Some(_)) => {
                    let owner = target.value.label(&p.label);
                    if owner.is_some_and(|o| owners.iter().any(|mine| mine == o)) {
                        continue;
                    }
                    let whose = match owner {
                        Some(owner) => format!("belongs to {owner:?}"),
                        None => format!("has no {} label", p.label),
                    };
                    hits.push(hit(
                        &target.field,
                        format!(
                            "{action} of container {reference:?}, which {whose}: the caller ({}) may act only on its own containers",
                            owners.join(", ")
                        ),
                    ));
                }
                Resolution::Failed(why) => hits.push(unjudged(
                    &target.field,
                    format!("the owner of container {reference:?} could not be looked up: {why}"),
                )),
                Resolution::Pending => hits.push(unjudged(
                    &target.field,
                    format!("the owner of container {reference:?} was not looked up"),
                )),
            }
        }
        let prunes = w
            .call
            .as_ref()
            .is_some_and(|c| c.endpoint == "container.prune");
        if prunes && !granted("rm") {
            hits.push(hit(
                "path",
                "container prune removes the stopped containers of every owner: remove your own by name",
            ));
        }
        let changes_service = w.call.as_ref().is_some_and(|c| {
            matches!(c.endpoint.as_str(), "service.update" | "service.delete")
        });
        if changes_service && !granted("update") {
            hits.push(hit(
                "path",
                "services are not owned yet: a caller whose role acts only on its own containers cannot change or remove a service",
            ));
        }
        hits
    }
}

/// Whether the workload is a container being made: a create or a service
/// spec, or (where the policy asks) a container described without a call.
fn creates(w: &Workload, p: &Owners) -> bool {
    if !matches!(w.operation, Operation::Container | Operation::Service) {
        return false;
    }
    match &w.call {
        None => p.stored,
        Some(call) => matches!(
            call.endpoint.as_str(),
            "container.create" | "service.create" | "service.update"
        ),
    }
}

/// What is wrong with the owner label of a container being made.
fn created(w: &Workload, p: &Owners, owners: &[String]) -> Option<Hit> {
    let label = w.labels.iter().rev().find(|l| l.value.0 == p.label);
    let example = owners.first().map(String::as_str).unwrap_or("NAME");
    match label {
        None => Some(hit(
            "Labels",
            format!(
                "no {} label: the container must name its owner, one of {} (--label {}={example})",
                p.label,
                list(owners),
                p.label
            ),
        )),
        Some(l) if !owners.contains(&l.value.1) => Some(hit(
            &l.field,
            format!(
                "owner label {}={:?} names another owner than {} (--label {}={example})",
                p.label,
                l.value.1,
                list(owners),
                p.label
            ),
        )),
        Some(_) => None,
    }
}

fn list(owners: &[String]) -> String {
    if owners.is_empty() {
        "the identities in the policy (none has this role)".to_string()
    } else {
        owners.join(", ")
    }
}
