//! `gate-failure`: A request dockgate could not finish judging is refused: the daemon did not answer a look-up within the decision's 5 seconds, too many requests were already waiting, the gate failed inside, or (with --audit-failure deny) its record could not be written; and every request but ping and version while no valid policy could be read at start.


use dockgate_model::Workload;

use super::{Builtin, NoParams};
use crate::catalog::RuleDoc;
use crate::checks::Hit;
use crate::policy::Action;

/// The rule.
pub struct Rule;

impl Builtin for Rule {
    type Params = NoParams;
    const ID: &'static str = "gate-failure";
    const BASELINE: Action = Action::Deny;
    const RESTRICTED: Action = Action::Deny;
    const FIXED: bool = true;
    const DOC: RuleDoc = RuleDoc {
        summary: "A request dockgate could not finish judging is refused: the daemon did not answer a look-up within the decision's 5 seconds, too many requests were already waiting, the gate failed inside, or (with --audit-failure deny) its record could not be written; and every request but ping and version while no valid policy could be read at start.",
        why: "A request the gate has not judged to the end may be the one that owns the host; the client can retry, an attacker who slows the daemon down must not get through.",
        fix: "fix what the message names (an invalid policy file: dockgate policy validate); otherwise retry, and if it keeps happening, check that the daemon answers (docker info) and read dockgate's log and its metrics",
        parameters: "none; this rule always denies",
    };

    /// Raised by the reader and the gate, never by looking at a model.
    fn check(_w: &Workload, _: &NoParams) -> Vec<Hit> {
        Vec::new()
    }
}
