//! `security-profile`: seccomp, AppArmor and SELinux confinement stay on, AppArmor profiles come from an allow-list, and /proc and /sys stay masked.

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
    /// AppArmor profiles allowed.
    pub apparmor_profiles: Vec<String>,
}

/// The rule.
pub struct Rule;

impl Builtin for Rule {
    type Params = Params;
    const ID: &'static str = "security-profile";
    const BASELINE: Action = Action::Deny;
    const RESTRICTED: Action = Action::Deny;
    const DOC: RuleDoc = RuleDoc {
        summary: "seccomp, AppArmor and SELinux confinement stay on, AppArmor profiles come from an allow-list, and /proc and /sys stay masked.",
        why: "seccomp=unconfined, or a custom profile that allows by default or allows unshare, mount, keyctl, bpf and the other system calls Docker's default profile blocks under conditions that hold for every container (a capability it holds, the host's architecture, an argument comparison that admits the dangerous flags), re-opens syscalls used by kernel exploits; apparmor=unconfined and label=disable drop the LSM layer, and apparmor=<any loaded profile> may name one that confines nothing; systempaths=unconfined exposes /proc/kcore, /proc/sysrq-trigger and friends.",
        fix: "remove the --security-opt, or write a custom profile that allows only what the workload needs",
        parameters: "apparmor_profiles (AppArmor profile names allowed in apparmor=; docker-default by default)",
    };
    fn params(_profile: Profile) -> Params {
        Params {
            apparmor_profiles: strings(&["docker-default"]),
        }
    }

    fn check(w: &Workload, p: &Params) -> Vec<Hit> {
        security_profile(w, p)
    }
}

fn security_profile(w: &Workload, p: &Params) -> Vec<Hit> {
    let s = &w.security;
    let mut hits = Vec::new();
    if let Some(profile) = &s.apparmor_profile {
        if !p.apparmor_profiles.contains(&profile.value) {
            hits.push(hit(
                &profile.field,
                format!(
                    "AppArmor profile {:?} is not on the allow-list ({}=apparmor={})",
                    profile.value, profile.field, profile.value
                ),
            ));
        }
    }
    for (setting, what) in [
        (&s.seccomp_unconfined, "seccomp filtering disabled"),
        (&s.apparmor_unconfined, "AppArmor confinement disabled"),
        (&s.selinux_disabled, "SELinux confinement disabled"),
    ] {
        if let Some(opt) = setting {
            let value = if opt.value.len() > 60 {
                format!("{}...", opt.value.chars().take(57).collect::<String>())
            } else {
                opt.value.clone()
            };
            hits.push(hit(&opt.field, format!("{what} ({}={value:?})", opt.field)));
        }
    }
    if let Some(paths) = &s.unmasked_paths {
        hits.push(hit(
            &paths.field,
            format!(
                "unmasks or makes writable {} ({})",
                paths.value.join(", "),
                paths.field
            ),
        ));
    }
    hits
}
