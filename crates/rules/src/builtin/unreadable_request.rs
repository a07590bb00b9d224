//! `unreadable-request`: A request or file dockgate cannot read the way its consumer does is refused: malformed JSON, a body the daemon did not forward, an unparseable URI, a compose file or run line that Compose or the docker CLI would reject.


use dockgate_model::Workload;

use super::{Builtin, NoParams};
use crate::catalog::RuleDoc;
use crate::checks::Hit;
use crate::policy::Action;

/// The rule.
pub struct Rule;

impl Builtin for Rule {
    type Params = NoParams;
    const ID: &'static str = "unreadable-request";
    const BASELINE: Action = Action::Deny;
    const RESTRICTED: Action = Action::Deny;
    const FIXED: bool = true;
    const DOC: RuleDoc = RuleDoc {
        summary: "A request or file dockgate cannot read the way its consumer does is refused: malformed JSON, a body the daemon did not forward, an unparseable URI, a compose file or run line that Compose or the docker CLI would reject.",
        why: "Whatever dockgate cannot read, it cannot judge; allowing it would be a bypass (CVE-2024-41110 was exactly that).",
        fix: "send the request with a JSON body and a Content-Length, as the docker CLI does; for a file, fix it where the error points, so that Compose or the docker CLI accepts it",
        parameters: "none; this rule always denies",
    };

    /// Raised by the reader and the gate, never by looking at a model.
    fn check(_w: &Workload, _: &NoParams) -> Vec<Hit> {
        Vec::new()
    }
}
