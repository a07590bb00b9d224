//! The rule registry: every rule by its stable id, with what the gate,
//! `dockgate explain`, `policy show` and docs/rules.md need to know of it,
//! all taken from the rule's own module (`crate::builtin`).
//!
//! Rule ids are part of dockgate's interface: policy files, exemptions,
//! audit records and monitoring all name them. Never rename one.

use std::sync::Arc;

use dockgate_model::Workload;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::builtin::{self, Builtin, Table, TableError};
use crate::checks::Hit;
use crate::policy::{Action, Profile};

macro_rules! registry {
    ($($variant:ident => $module:ident,)*) => {
        /// A rule, by its stable id.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum RuleId {
            $(
                #[doc = concat!("The rule of `builtin::", stringify!($module), "`.")]
                $variant,
            )*
        }

        impl RuleId {
            /// Every rule, in catalogue order.
            pub const ALL: &'static [RuleId] = &[$(RuleId::$variant),*];

            /// Every id, in catalogue order.
            const IDS: &'static [&'static str] = &[$(<builtin::$module::Rule as Builtin>::ID),*];

            /// The stable id.
            pub fn id(self) -> &'static str {
                match self { $(RuleId::$variant => <builtin::$module::Rule as Builtin>::ID,)* }
            }

            /// The action a built-in profile gives the rule.
            pub fn default_action(self, profile: Profile) -> Action {
                match self { $(RuleId::$variant => builtin::default_action::<builtin::$module::Rule>(profile),)* }
            }

            /// Whether a policy may change the rule's action. dockgate never
            /// allows a request it could not read or could not finish
            /// judging, whatever the policy says.
            pub fn is_fixed(self) -> bool {
                match self { $(RuleId::$variant => <builtin::$module::Rule as Builtin>::FIXED,)* }
            }

            /// Whether the rule can find something in a container's own
            /// settings, as a scan sees them. The others judge API calls:
            /// plugin and swarm management, builds, copies into
            /// containers, endpoints.
            pub fn judges_containers(self) -> bool {
                match self { $(RuleId::$variant => <builtin::$module::Rule as Builtin>::JUDGES_CONTAINERS,)* }
            }

            /// The rule's documentation.
            pub fn doc(self) -> &'static RuleDoc {
                match self { $(RuleId::$variant => &<builtin::$module::Rule as Builtin>::DOC,)* }
            }
        }

        /// Every rule's parameters, typed, one field per rule.
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct Params {
            $(
                #[doc = concat!("`", stringify!($module), "`'s parameters.")]
                pub(crate) $module: <builtin::$module::Rule as Builtin>::Params,
            )*
        }

        impl Params {
            /// The parameters of a profile.
            pub(crate) fn for_profile(profile: Profile) -> Params {
                Params { $($module: <builtin::$module::Rule as Builtin>::params(profile),)* }
            }

            /// Reads a rule's `[rules.ID]` table over its parameters;
            /// returns the action it sets.
            pub(crate) fn read(&mut self, rule: RuleId, table: Table) -> Result<Option<Action>, TableError> {
                match rule { $(RuleId::$variant => builtin::read_table::<builtin::$module::Rule>(&mut self.$module, table),)* }
            }

            /// A rule's parameters as the keys and values of its table.
            pub(crate) fn table(&self, rule: RuleId) -> toml::Table {
                match rule { $(RuleId::$variant => builtin::to_table(&self.$module),)* }
            }
        }

        /// Runs one rule over a workload.
        pub fn run(rule: RuleId, w: &Workload, p: &Params) -> Vec<Hit> {
            match rule { $(RuleId::$variant => <builtin::$module::Rule as Builtin>::check(w, &p.$module),)* }
        }
    };
}

registry! {
    Privileged => privileged,
    HostMount => host_mount,
    DockerSocket => docker_socket,
    HostNamespace => host_namespace,
    Capabilities => capabilities,
    Devices => devices,
    SecurityProfile => security_profile,
    Sysctls => sysctls,
    MountPropagation => mount_propagation,
    Runtime => runtime,
    RuntimeAnnotations => runtime_annotations,
    CgroupParent => cgroup_parent,
    NetworkDriver => network_driver,
    RunAsRoot => run_as_root,
    PublishedPorts => published_ports,
    ImageRegistry => image_registry,
    ImageLatest => image_latest,
    ImageDigest => image_digest,
    NoNewPrivileges => no_new_privileges,
    ReadOnlyRootfs => read_only_rootfs,
    MemoryLimit => memory_limit,
    PidsLimit => pids_limit,
    EnvSecrets => env_secrets,
    EndpointFamilies => endpoint_families,
    Ownership => ownership,
    OwnerLabel => owner_label,
    AllowedImages => allowed_images,
    PluginManagement => plugin_management,
    SwarmJoin => swarm_join,
    BuildKit => buildkit,
    CopyIntoContainer => copy_into_container,
    UnknownEndpoint => unknown_endpoint,
    UnreadableRequest => unreadable_request,
    GateFailure => gate_failure,
}

impl RuleId {
    /// Looks a rule up by id.
    pub fn from_id(id: &str) -> Option<RuleId> {
        RuleId::ALL.iter().copied().find(|r| r.id() == id)
    }

    /// serde's wording for an id that names no rule.
    pub(crate) fn unknown(id: &str, what: &str) -> String {
        let quoted: Vec<String> = RuleId::IDS.iter().map(|i| format!("`{i}`")).collect();
        format!(
            "unknown {what} `{id}`, expected one of {}",
            quoted.join(", ")
        )
    }
}

impl Serialize for RuleId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.id())
    }
}

impl<'de> Deserialize<'de> for RuleId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // Refused while the string is read, so that the error points at it.
        struct Id;
        impl serde::de::Visitor<'_> for Id {
            type Value = RuleId;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a rule id")
            }
            fn visit_str<E: serde::de::Error>(self, id: &str) -> Result<RuleId, E> {
                RuleId::from_id(id).ok_or_else(|| E::unknown_variant(id, RuleId::IDS))
            }
        }
        deserializer.deserialize_str(Id)
    }
}

impl std::fmt::Display for RuleId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.id())
    }
}

/// A rule a finding names: built in, or custom (a Rego policy's `deny`,
/// `warn` or `audit` set), by its stable id.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RuleRef {
    /// A built-in rule.
    Builtin(RuleId),
    /// A custom rule: `custom/<package path>/<deny|warn|audit>`.
    Custom(Arc<str>),
    /// A check of the host audit: `audit/<name>`.
    Audit(&'static str),
}

/// Where custom rule ids start.
pub(crate) const CUSTOM_PREFIX: &str = "custom/";

impl RuleRef {
    /// The stable id.
    pub fn id(&self) -> &str {
        match self {
            RuleRef::Builtin(rule) => rule.id(),
            RuleRef::Custom(id) => id,
            RuleRef::Audit(id) => id,
        }
    }

    /// The built-in rule, if it is one.
    pub fn builtin(&self) -> Option<RuleId> {
        match self {
            RuleRef::Builtin(rule) => Some(*rule),
            RuleRef::Custom(_) | RuleRef::Audit(_) => None,
        }
    }

    /// A built-in rule's id, or a custom one (`custom/...`).
    pub fn from_id(id: &str) -> Option<RuleRef> {
        match RuleId::from_id(id) {
            Some(rule) => Some(RuleRef::Builtin(rule)),
            None if id.len() > CUSTOM_PREFIX.len() && id.starts_with(CUSTOM_PREFIX) => {
                Some(RuleRef::Custom(id.into()))
            }
            None => None,
        }
    }
}

impl From<RuleId> for RuleRef {
    fn from(rule: RuleId) -> Self {
        RuleRef::Builtin(rule)
    }
}

impl PartialEq<RuleId> for RuleRef {
    fn eq(&self, other: &RuleId) -> bool {
        self.builtin() == Some(*other)
    }
}

impl std::fmt::Display for RuleRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.id())
    }
}

impl Serialize for RuleRef {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.id())
    }
}

impl<'de> Deserialize<'de> for RuleRef {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Id;
        impl serde::de::Visitor<'_> for Id {
            type Value = RuleRef;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a rule id")
            }
            fn visit_str<E: serde::de::Error>(self, id: &str) -> Result<RuleRef, E> {
                RuleRef::from_id(id).ok_or_else(|| E::unknown_variant(id, RuleId::IDS))
            }
        }
        deserializer.deserialize_str(Id)
    }
}

/// What `dockgate explain RULE` prints.
#[derive(Debug)]
pub struct RuleDoc {
    /// One line: what the rule checks.
    pub summary: &'static str,
    /// Why the setting is dangerous.
    pub why: &'static str,
    /// How to fix a finding; the short form ends every denial.
    pub fix: &'static str,
    /// The policy parameters the rule takes.
    pub parameters: &'static str,
}

/// docs/rules.md: the reference written from the registry.
pub fn reference_markdown() -> String {
    use std::fmt::Write as _;
    let mut out = String::from(
        "# Rule reference\n\n\
         Every rule has a stable id. Policy files, exemptions, audit records and\n\
         denial messages name rules by these ids, and they never change.\n\n\
         Actions: `deny` refuses the request, `warn` allows it and logs a warning,\n\
         `audit` only records the finding in the audit log, `off` skips the rule.\n\
         `dockgate explain RULE` prints the same text on the command line.\n\n\
         | rule | baseline | restricted |\n\
         |---|---|---|\n",
    );
    let action = |rule: RuleId, profile| rule.default_action(profile).name();
    for rule in RuleId::ALL {
        let _ = writeln!(
            out,
            "| [`{id}`](#{id}) | {} | {} |",
            action(*rule, Profile::Baseline),
            action(*rule, Profile::Restricted),
            id = rule.id()
        );
    }
    for rule in RuleId::ALL {
        let doc = rule.doc();
        let parameters = doc.parameters.trim_end_matches('.');
        let _ = write!(
            out,
            "\n## {}\n\n{}\n\n- **Why:** {}\n- **Fix:** {}.\n- **Defaults:** baseline {}, restricted {}.\n- **Parameters:** {parameters}.\n",
            rule.id(),
            doc.summary,
            doc.why,
            doc.fix,
            action(*rule, Profile::Baseline),
            action(*rule, Profile::Restricted),
        );
    }
    out
}
