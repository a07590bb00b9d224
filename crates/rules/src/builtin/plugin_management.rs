//! `plugin-management`: Plugins may not be installed, enabled, disabled, upgraded, configured, pushed or removed through the API.


use dockgate_model::{CallKind, Workload};

use super::{Builtin, NoParams};
use crate::catalog::RuleDoc;
use crate::checks::{call_of_kind, Hit};
use crate::policy::Action;

/// The rule.
pub struct Rule;

impl Builtin for Rule {
    type Params = NoParams;
    const ID: &'static str = "plugin-management";
    const BASELINE: Action = Action::Deny;
    const RESTRICTED: Action = Action::Deny;
    const JUDGES_CONTAINERS: bool = false;
    const DOC: RuleDoc = RuleDoc {
        summary: "Plugins may not be installed, enabled, disabled, upgraded, configured, pushed or removed through the API.",
        why: "A plugin runs as root on the host, and disabling or removing the authorization plugin turns this gate off.",
        fix: "manage plugins from the host as an administrator (see README, Recovery)",
        parameters: "none",
    };

    fn check(w: &Workload, _: &NoParams) -> Vec<Hit> {
        plugin_management(w)
    }
}

fn plugin_management(w: &Workload) -> Vec<Hit> {
    call_of_kind(w, CallKind::PluginManagement, |call, name| {
        let target = name.map(|n| format!(" of {n:?}")).unwrap_or_default();
        format!("{} {}{target} manages plugins", call.method, call.endpoint)
    })
}
