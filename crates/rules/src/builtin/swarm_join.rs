//! `swarm-join`: Swarm membership is an administrator's decision: no swarm init or join, no reading or rotating of join tokens or the unlock key, no change of a node's role through the API.


use dockgate_model::{CallKind, Workload};

use super::{Builtin, NoParams};
use crate::catalog::RuleDoc;
use crate::checks::{call_of_kind, Hit};
use crate::policy::Action;

/// The rule.
pub struct Rule;

impl Builtin for Rule {
    type Params = NoParams;
    const ID: &'static str = "swarm-join";
    const BASELINE: Action = Action::Deny;
    const RESTRICTED: Action = Action::Deny;
    const JUDGES_CONTAINERS: bool = false;
    const DOC: RuleDoc = RuleDoc {
        summary: "Swarm membership is an administrator's decision: no swarm init or join, no reading or rotating of join tokens or the unlock key, no change of a node's role through the API.",
        why: "A swarm's managers start task containers on every node directly, without a call to that node's API, so no authorization plugin sees them: a manager joined later from a machine without the gate can bind-mount / on this host. Join tokens let any machine join as a manager. Run swarms only where every manager runs the gate with the same policy (the patrol still judges task containers).",
        fix: "manage swarm membership from the host as an administrator, or set this rule to off on swarm nodes whose managers all run the gate",
        parameters: "none",
    };

    fn check(w: &Workload, _: &NoParams) -> Vec<Hit> {
        swarm_membership(w)
    }
}

fn swarm_membership(w: &Workload) -> Vec<Hit> {
    call_of_kind(w, CallKind::SwarmMembership, |call, _| {
        let what = match call.endpoint.as_str() {
            "swarm.init" => {
                "makes this node a swarm manager, which managers joined later can give tasks"
            }
            "swarm.join" => "makes this node run containers for another swarm's managers",
            "swarm.inspect" => {
                "reads the swarm's join tokens, with which any machine joins as a manager or worker"
            }
            "swarm.update" => "changes the swarm's settings or rotates its join tokens",
            "swarm.unlockkey" => "reads the key that unlocks the swarm's managers",
            "swarm.unlock" => "unlocks a swarm manager",
            "node.update" => {
                "changes a node's role or availability (a manager schedules tasks on every node)"
            }
            _ => "changes this node's swarm membership",
        };
        format!("{} {} {what}", call.method, call.endpoint)
    })
}
