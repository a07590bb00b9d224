//! Whether a custom seccomp profile opens what Docker's default profile
//! keeps shut, read the way the daemon and runc apply it.
//!
//! The daemon (moby `profiles/seccomp`, `setupSeccomp`, 20.10 and 26.1)
//! decodes the profile with Go's JSON decoder, drops the rules whose
//! `includes`/`excludes` do not apply to the container (its architecture,
//! its capability bounding set, the host's kernel), and hands the rest to
//! runc, which builds the filter with libseccomp. A rule's conditions only
//! restrict when they can be shown to exclude the dangerous uses of a call:
//! a capability every container holds, the host's own architecture or an
//! argument comparison that admits the dangerous values restrict nothing,
//! and such a rule counts as allowing the call.

use dockgate_model::{At, DEFAULT_CAPABILITIES};
use serde_json::Value;

use crate::gojson::{self, Field, Shape};

/// System calls Docker's default profile refuses (or allows only with a
/// capability or particular arguments) because they reach past the
/// container: kernel modules, keyrings, mounts and namespaces, handles
/// into the host's file systems, the clock, reboot, io_uring (blocked
/// since Engine 25 for its record of kernel exploits).
const BLOCKED_BY_DEFAULT: &[&str] = &[
    "acct",
    "add_key",
    "bpf",
    "clock_adjtime",
    "clock_settime",
    "clone",
    "clone3",
    "create_module",
    "delete_module",
    "fanotify_init",
    "finit_module",
    "fsconfig",
    "fsmount",
    "fsopen",
    "get_kernel_syms",
    "init_module",
    "io_uring_enter",
    "io_uring_register",
    "io_uring_setup",
    "ioperm",
    "iopl",
    "kexec_file_load",
    "kexec_load",
    "keyctl",
    "lookup_dcookie",
    "mount",
    "mount_setattr",
    "move_mount",
    "name_to_handle_at",
    "nfsservctl",
    "open_by_handle_at",
    "open_tree",
    "perf_event_open",
    "pivot_root",
    "query_module",
    "quotactl",
    "reboot",
    "request_key",
    "setdomainname",
    "sethostname",
    "setns",
    "settimeofday",
    "stime",
    "swapoff",
    "swapon",
    "syslog",
    "umount",
    "umount2",
    "unshare",
    "uselib",
    "userfaultfd",
    "vhangup",
    "vm86",
    "vm86old",
];

/// The namespace flags of `clone` and `unshare`: the mask Docker's default
/// profile requires to be clear.
const NAMESPACE_FLAGS: u64 = 0x7E02_0000;

/// The lowest namespace flag (`CLONE_NEWNS`): a bound below it excludes
/// every namespace.
const LOWEST_NAMESPACE_FLAG: u64 = 0x2_0000;

const FILTER: &[Field] = &[
    Field::new("caps", Shape::Slice(&Shape::Str)),
    Field::new("arches", Shape::Slice(&Shape::Str)),
    Field::new("minKernel", Shape::Any),
];
const ARG: &[Field] = &[
    Field::new("index", Shape::Uint),
    Field::new("value", Shape::Uint),
    Field::new("valueTwo", Shape::Uint),
    Field::new("op", Shape::Str),
];
const RULE: &[Field] = &[
    Field::new("names", Shape::Slice(&Shape::Str)),
    Field::new("name", Shape::Str),
    Field::new("action", Shape::Str),
    Field::new("args", Shape::Slice(&Shape::PtrStruct(ARG))),
    Field::new("includes", Shape::PtrStruct(FILTER)),
    Field::new("excludes", Shape::PtrStruct(FILTER)),
];
const PROFILE: &[Field] = &[
    Field::new("defaultAction", Shape::Str),
    Field::new("syscalls", Shape::Slice(&Shape::PtrStruct(RULE))),
];

/// The container's capability bounding set, as the daemon computes it
/// from `Privileged`, `CapAdd` and `CapDrop` (moby `caps.TweakCapabilities`).
#[derive(Debug, Clone, Copy)]
pub struct Bounding<'a> {
    /// `--privileged`: every capability.
    pub privileged: bool,
    /// `CapAdd`, normalized (`SYS_ADMIN`, `ALL`).
    pub add: &'a [At<String>],
    /// `CapDrop`, normalized.
    pub drop: &'a [At<String>],
}

impl Bounding<'_> {
    /// Whether the container holds a capability named as the bounding set
    /// names it (`CAP_SYS_ADMIN`: the daemon compares the strings).
    fn holds(&self, cap: &str) -> bool {
        let Some(bare) = cap.strip_prefix("CAP_") else {
            return false;
        };
        if bare.is_empty() || bare != bare.to_ascii_uppercase() {
            return false;
        }
        let listed = |list: &[At<String>], name: &str| list.iter().any(|c| c.value == name);
        if self.privileged || listed(self.add, "ALL") || listed(self.add, bare) {
            return true;
        }
        DEFAULT_CAPABILITIES.contains(&bare)
            && !listed(self.drop, "ALL")
            && !listed(self.drop, bare)
    }

    /// Whether a rule that `includes` this capability is kept from the
    /// container: it lacks the capability, or the capability is one beyond
    /// Docker's default set, whose grant the capabilities rule judges (and
    /// to whose holders Docker's own default profile opens the same calls).
    fn keeps_out(&self, cap: &str) -> bool {
        !self.holds(cap)
            || !cap
                .strip_prefix("CAP_")
                .is_some_and(|bare| DEFAULT_CAPABILITIES.contains(&bare))
    }
}

/// The daemon's name for this machine's architecture (moby `goToNative`
/// of `runtime.GOARCH`), which `arches` lists are compared with.
fn host_arch() -> Option<&'static str> {
    Some(match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "x86" => "x86",
        "aarch64" => "arm64",
        "arm" => "arm",
        "s390x" => "s390x",
        "powerpc64" if cfg!(target_endian = "little") => "ppc64le",
        "powerpc64" => "ppc64",
        _ => return None,
    })
}

/// Whether an action lets the call through: `SCMP_ACT_LOG` allows and
/// logs; under `SCMP_ACT_TRACE` a tracer in the container lets it proceed;
/// under `SCMP_ACT_NOTIFY` an agent outside the container decides.
fn allows(action: &str) -> bool {
    matches!(
        action,
        "SCMP_ACT_ALLOW" | "SCMP_ACT_LOG" | "SCMP_ACT_TRACE" | "SCMP_ACT_NOTIFY"
    )
}

/// Whether an inline profile (the value of `seccomp=`) confines less than
/// Docker's default: filtering off (`unconfined`, or a profile with no
/// default action and no rules, which the daemon treats as no profile), a
/// default action that lets calls through, or a rule that lets through a
/// call the default blocks under conditions that do not restrict it. A
/// profile the daemon cannot read keeps the container from starting.
pub fn opens_the_default(value: &str, bounding: Bounding) -> bool {
    if value == "unconfined" {
        return true;
    }
    let Ok(profile) = gojson::decode_bytes(value.as_bytes(), Shape::Struct(PROFILE)) else {
        return false;
    };
    let default_action = profile["defaultAction"].as_str().unwrap_or_default();
    let rules: Vec<&Value> = profile["syscalls"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| r.is_object())
        .collect();
    if default_action.is_empty() && rules.is_empty() {
        return true;
    }
    if allows(default_action) {
        return true;
    }
    rules.into_iter().any(|rule| {
        let names: Vec<&str> = rule["names"]
            .as_array()
            .into_iter()
            .flatten()
            .chain(std::iter::once(&rule["name"]))
            .filter_map(Value::as_str)
            .filter(|n| BLOCKED_BY_DEFAULT.contains(n))
            .collect();
        allows(rule["action"].as_str().unwrap_or_default())
            && !names.is_empty()
            && !filtered_out(&rule["includes"], &rule["excludes"], bounding)
            && names
                .iter()
                .any(|name| !arguments_restrict(name, &rule["args"]))
    })
}

/// Whether `includes`/`excludes` surely drop the rule for this container.
/// Kernel versions are not compared: the host may be newer or older.
fn filtered_out(includes: &Value, excludes: &Value, bounding: Bounding) -> bool {
    let list = |filter: &Value, key: &str| -> Vec<String> {
        filter[key]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect()
    };
    let arch = host_arch();
    let in_arches = |arches: &[String]| arch.is_some_and(|a| arches.iter().any(|x| x == a));
    let (inc_arches, exc_arches) = (list(includes, "arches"), list(excludes, "arches"));
    if !inc_arches.is_empty() && arch.is_some() && !in_arches(&inc_arches) {
        return true;
    }
    if in_arches(&exc_arches) {
        return true;
    }
    // The rule applies only when the container holds every capability
    // listed in includes, and none listed in excludes.
    if list(includes, "caps").iter().any(|c| bounding.keeps_out(c)) {
        return true;
    }
    list(excludes, "caps").iter().any(|c| bounding.holds(c))
}

/// Whether a rule's argument conditions keep `name`'s dangerous uses out.
/// runc adds the conditions as one rule (all must hold) unless two name the
/// same argument; then each becomes a rule of its own (any may hold).
fn arguments_restrict(name: &str, args: &Value) -> bool {
    let conditions: Vec<&Value> = args
        .as_array()
        .into_iter()
        .flatten()
        .filter(|a| a.is_object())
        .collect();
    if conditions.is_empty() {
        return false;
    }
    let mut indexes: Vec<u64> = conditions
        .iter()
        .map(|c| c["index"].as_u64().unwrap_or(0))
        .collect();
    indexes.sort_unstable();
    let repeated = indexes.windows(2).any(|w| w[0] == w[1]);
    let restricts = |c: &&Value| condition_restricts(name, c);
    if repeated {
        conditions.iter().all(restricts)
    } else {
        conditions.iter().any(restricts)
    }
}

/// One libseccomp comparison, on 64-bit argument values. Only the flags of
/// `clone` and `unshare` can be judged: every other call the default
/// blocks is dangerous through pointers and handles, whose values the
/// container chooses (it can map memory at any address a rule names).
fn condition_restricts(name: &str, condition: &Value) -> bool {
    let flags_argument = matches!(name, "clone" | "unshare");
    if !flags_argument || condition["index"].as_u64().unwrap_or(0) != 0 {
        return false;
    }
    let value = condition["value"].as_u64().unwrap_or(0);
    let value_two = condition["valueTwo"].as_u64().unwrap_or(0);
    match condition["op"].as_str().unwrap_or_default() {
        "SCMP_CMP_EQ" => value & NAMESPACE_FLAGS == 0,
        "SCMP_CMP_MASKED_EQ" => {
            let (mask, wanted) = (value, value_two);
            wanted & !mask != 0
                || (mask & NAMESPACE_FLAGS == NAMESPACE_FLAGS && wanted & NAMESPACE_FLAGS == 0)
        }
        "SCMP_CMP_LT" => value <= LOWEST_NAMESPACE_FLAG,
        "SCMP_CMP_LE" => value < LOWEST_NAMESPACE_FLAG,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn default_container() -> Bounding<'static> {
        Bounding {
            privileged: false,
            add: &[],
            drop: &[],
        }
    }

    fn opens(profile: &str) -> bool {
        opens_the_default(profile, default_container())
    }

    fn unshare_rule(extra: &str) -> String {
        format!(
            r#"{{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{{"names":["unshare"],"action":"SCMP_ACT_ALLOW"{extra}}}]}}"#
        )
    }

    #[test]
    fn filtering_off() {
        assert!(opens("unconfined"));
        // setupSeccomp: no default action and no rules means no filter.
        assert!(opens("{}"));
        assert!(opens("null"));
        assert!(opens(r#"{"defaultAction":"","syscalls":[]}"#));
        assert!(opens(r#"{"DefaultAction":"SCMP_ACT_LOG"}"#));
        assert!(opens(r#"{"defaultAction":"SCMP_ACT_TRACE"}"#));
        assert!(!opens(r#"{"defaultAction":"SCMP_ACT_ERRNO"}"#));
        assert!(!opens("not json"));
    }

    #[test]
    fn conditions_that_always_hold_restrict_nothing() {
        // A capability every container holds.
        assert!(opens(&unshare_rule(
            r#","includes":{"caps":["CAP_CHOWN"]}"#
        )));
        // This machine's architecture.
        if let Some(arch) = host_arch() {
            assert!(opens(&unshare_rule(&format!(
                r#","includes":{{"arches":["{arch}"]}}"#
            ))));
            assert!(!opens(&unshare_rule(&format!(
                r#","excludes":{{"arches":["{arch}"]}}"#
            ))));
        }
        // Excluding a capability the container does not hold.
        assert!(opens(&unshare_rule(
            r#","excludes":{"caps":["CAP_SYS_ADMIN"]}"#
        )));
        // A kernel version: the host's is unknown.
        assert!(opens(&unshare_rule(r#","includes":{"minKernel":"2.6"}"#)));
        // Comparisons that admit the namespace flags.
        for args in [
            r#"[{"index":0,"value":0,"op":"SCMP_CMP_GE"}]"#,
            r#"[{"index":0,"value":1,"op":"SCMP_CMP_NE"}]"#,
            r#"[{"index":0,"value":0,"valueTwo":0,"op":"SCMP_CMP_MASKED_EQ"}]"#,
            r#"[{"index":0,"value":1,"valueTwo":0,"op":"SCMP_CMP_MASKED_EQ"}]"#,
            r#"[{"index":0,"value":268435456,"op":"SCMP_CMP_EQ"}]"#,
            r#"[{"index":0,"value":18446744073709551615,"op":"SCMP_CMP_LE"}]"#,
            r#"[{"index":1,"value":0,"op":"SCMP_CMP_EQ"}]"#,
            // Two conditions on one argument are OR-ed by runc.
            r#"[{"index":0,"value":0,"op":"SCMP_CMP_EQ"},{"index":0,"value":0,"op":"SCMP_CMP_GE"}]"#,
        ] {
            assert!(
                opens(&unshare_rule(&format!(r#","args":{args}"#))),
                "{args}"
            );
        }
        // Any condition on a call dangerous through its pointers.
        assert!(opens(
            r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["mount"],"action":"SCMP_ACT_ALLOW","args":[{"index":0,"value":4096,"op":"SCMP_CMP_EQ"}]}]}"#
        ));
    }

    #[test]
    fn conditions_that_restrict() {
        // As Docker's default profile does: only with CAP_SYS_ADMIN.
        assert!(!opens(&unshare_rule(
            r#","includes":{"caps":["CAP_SYS_ADMIN"]}"#
        )));
        // The daemon compares names as the bounding set spells them.
        assert!(!opens(&unshare_rule(r#","includes":{"caps":["chown"]}"#)));
        assert!(!opens(&unshare_rule(
            r#","excludes":{"caps":["CAP_CHOWN"]}"#
        )));
        assert!(!opens(&unshare_rule(
            r#","includes":{"arches":["nonesuch"]}"#
        )));
        // Docker's own clone rule: no namespace flag may be set.
        assert!(!opens(
            r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["clone"],"action":"SCMP_ACT_ALLOW","args":[{"index":0,"value":2114060288,"valueTwo":0,"op":"SCMP_CMP_MASKED_EQ"}]}]}"#
        ));
        for args in [
            r#"[{"index":0,"value":0,"op":"SCMP_CMP_EQ"}]"#,
            r#"[{"index":0,"value":131072,"op":"SCMP_CMP_LT"}]"#,
            // AND: one restricting condition is enough.
            r#"[{"index":0,"value":0,"op":"SCMP_CMP_EQ"},{"index":1,"value":0,"op":"SCMP_CMP_GE"}]"#,
        ] {
            assert!(
                !opens(&unshare_rule(&format!(r#","args":{args}"#))),
                "{args}"
            );
        }
        // Refusing actions open nothing.
        assert!(!opens(
            r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["mount"],"action":"SCMP_ACT_KILL"}]}"#
        ));
    }

    #[test]
    fn the_containers_own_capabilities_count() {
        let dropped = [At::new("CHOWN".to_string(), "CapDrop")];
        let bounding = Bounding {
            privileged: false,
            add: &[],
            drop: &dropped,
        };
        // Excluded for holders of CHOWN, which this container dropped.
        assert!(opens_the_default(
            &unshare_rule(r#","excludes":{"caps":["CAP_CHOWN"]}"#),
            bounding
        ));
        // Granted CAP_SYS_ADMIN (judged by the capabilities rule), the
        // rule opens no more than Docker's default profile would.
        let added = [At::new("SYS_ADMIN".to_string(), "CapAdd")];
        let bounding = Bounding {
            privileged: false,
            add: &added,
            drop: &[],
        };
        assert!(!opens_the_default(
            &unshare_rule(r#","includes":{"caps":["CAP_SYS_ADMIN"]}"#),
            bounding
        ));
        // Dropping every capability keeps CHOWN's holders' rules out.
        let all = [At::new("ALL".to_string(), "CapDrop")];
        let bounding = Bounding {
            privileged: false,
            add: &[],
            drop: &all,
        };
        assert!(!opens_the_default(
            &unshare_rule(r#","includes":{"caps":["CAP_CHOWN"]}"#),
            bounding
        ));
    }
}
