//! The policy: a built-in profile, tightened or relaxed by a TOML file.
//!
//! ```toml
//! profile = "baseline"        # or "restricted"
//! mode = "enforce"            # "warn" or "audit" while rolling out
//!
//! [rules.host-mount]
//! action = "deny"
//! allow_read_only = ["/etc/ssl/certs"]
//!
//! [[exemptions]]
//! rules = ["docker-socket"]
//! images = ["docker.io/portainer/agent@sha256:..."]
//! reason = "Portainer's agent manages this host"
//! ```
//!
//! A parameter given in the file replaces the profile's value; it is not
//! merged with it. `dockgate policy show` prints the result.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub use crate::catalog::Params;
use crate::catalog::{RuleId, RuleRef};
use crate::custom::CustomRules;

/// What happens when a rule finds something.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// The rule is not evaluated.
    Off,
    /// The finding is recorded in the audit log only.
    Audit,
    /// The request is allowed and the finding logged as a warning.
    Warn,
    /// The request is denied.
    Deny,
}

impl Action {
    /// The lowercase name used in files and logs.
    pub fn name(self) -> &'static str {
        match self {
            Action::Off => "off",
            Action::Audit => "audit",
            Action::Warn => "warn",
            Action::Deny => "deny",
        }
    }
}

/// A built-in starting point.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Profile {
    /// Denies what takes over the host; warns about hygiene.
    #[default]
    Baseline,
    /// Baseline plus hardening: non-root, read-only, limits, pinned images.
    Restricted,
}

/// How the whole policy acts, for rolling it out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Actions apply as configured.
    #[default]
    Enforce,
    /// Every deny becomes a warning (requests dockgate could not judge are still denied).
    Warn,
    /// Every deny and warning is only recorded.
    Audit,
}

/// A set of rules lifted for matching requests.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Exemption {
    /// The rules it lifts, built-in or custom.
    pub rules: Vec<RuleRef>,
    /// Image references it applies to (`*` at the end matches any suffix).
    /// A tag only matches an image whose content came from that repository
    /// (it has a matching registry digest); a digest always matches exactly.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub images: Vec<String>,
    /// Users authenticated by the daemon's TLS client certificates.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub users: Vec<String>,
    /// Why the exemption exists; recorded with every use.
    #[serde(default)]
    pub reason: String,
}

/// The policy in force: a profile with the file's changes applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// The profile it starts from.
    pub profile: Profile,
    /// The rollout mode.
    pub mode: Mode,
    /// Every rule's action.
    pub actions: BTreeMap<RuleId, Action>,
    /// Rule parameters.
    pub params: Params,
    /// Exemptions, in file order.
    pub exemptions: Vec<Exemption>,
    /// The Rego files of custom rules, as the file names them.
    pub rego: Vec<String>,
    /// Custom rules' actions, where the file sets them.
    pub custom_actions: BTreeMap<String, Action>,
    /// A policy written for opa-docker-authz, where the file names one.
    pub(crate) compat: Option<crate::custom::CompatConfig>,
    /// The compiled custom rules.
    pub(crate) custom: Option<Arc<CustomRules>>,
    /// The identities and roles the file defines, each with its policy.
    pub(crate) callers: Option<Arc<crate::callers::Callers>>,
    hash: String,
}

impl Default for Policy {
    fn default() -> Self {
        Policy::from_profile(Profile::Baseline)
    }
}

/// Why a policy file was refused. The old policy stays in force.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    /// Syntax or schema problem; the message names the line.
    #[error("{0}")]
    Parse(String),
    /// A value that parses but makes no sense.
    #[error("{0}")]
    Invalid(String),
    /// The file could not be read.
    #[error("cannot read policy file {path}: {reason}")]
    Read {
        /// The path.
        path: String,
        /// The I/O error.
        reason: String,
    },
}

impl Policy {
    /// A built-in profile as is.
    pub fn from_profile(profile: Profile) -> Policy {
        let actions = RuleId::ALL
            .iter()
            .map(|r| (*r, r.default_action(profile)))
            .collect();
        let mut policy = Policy {
            profile,
            mode: Mode::Enforce,
            actions,
            params: Params::for_profile(profile),
            exemptions: Vec::new(),
            rego: Vec::new(),
            custom_actions: BTreeMap::new(),
            compat: None,
            custom: None,
            callers: None,
            hash: String::new(),
        };
        policy.hash = policy.compute_hash();
        policy
    }

    /// Reads, parses and validates a policy file. The error says which
    /// file, and for a bad file, `invalid policy file PATH: LINE...`.
    pub fn from_file(path: &std::path::Path) -> Result<Policy, PolicyError> {
        let text = std::fs::read_to_string(path).map_err(|e| PolicyError::Read {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        Policy::from_file_text(path, &text)
    }

    /// Parses and validates what was read from a policy file; errors name
    /// the file as [`Policy::from_file`]'s do.
    pub fn from_file_text(path: &std::path::Path, text: &str) -> Result<Policy, PolicyError> {
        Policy::from_toml_in(text, path.parent()).map_err(|e| {
            PolicyError::Invalid(format!("invalid policy file {}: {e}", path.display()))
        })
    }

    /// Parses and validates a policy file; relative Rego paths are read
    /// from the working directory.
    pub fn from_toml(text: &str) -> Result<Policy, PolicyError> {
        Policy::from_toml_in(text, None)
    }

    /// Parses and validates a policy file whose relative Rego paths are
    /// read from `base` (the policy file's directory).
    pub fn from_toml_in(text: &str, base: Option<&std::path::Path>) -> Result<Policy, PolicyError> {
        let mut file: PolicyFile =
            toml::from_str(text).map_err(|e| PolicyError::Parse(toml_error(text, &e)))?;
        let compat = match file.opa_docker_authz.take() {
            Some(table) if table.rego.is_empty() => {
                return Err(PolicyError::Invalid(
                    "opa-docker-authz: name the policy's Rego files with rego = [...]".into(),
                ))
            }
            Some(table) => Some(crate::custom::CompatConfig {
                rego: table.rego,
                query: table
                    .query
                    .unwrap_or_else(|| crate::custom::DEFAULT_QUERY.to_string()),
            }),
            None => None,
        };
        let custom = if !file.rego.is_empty() || compat.is_some() {
            let custom = CustomRules::load(&file.rego, compat.as_ref(), base)
                .map_err(PolicyError::Invalid)?;
            Some(Arc::new(custom))
        } else {
            None
        };
        let shared = Shared {
            text,
            mode: file.mode.unwrap_or_default(),
            exemptions: &file.exemptions,
            rego: &file.rego,
            compat: &compat,
            custom: &custom,
            identities: file.identities.iter().map(|i| i.name.clone()).collect(),
        };
        let mut policy = shared.assemble(file.profile.unwrap_or_default(), file.rules.clone())?;
        if let Some(callers) = crate::callers::Callers::read(&file, &shared, &policy)? {
            policy.set_proxies(callers.proxies().to_vec());
            let names = shared.identities.clone();
            if !names.is_empty() {
                // Scan and check judge every container's owner label.
                policy.params.owner_label.label = policy.params.ownership.label.clone();
                policy.params.owner_label.owners = Some(names);
            }
            policy.callers = Some(Arc::new(callers));
        }
        policy.hash = policy.compute_hash();
        Ok(policy)
    }

    /// Whether judging needs the owners of the containers a request acts
    /// on: the caller has a role that acts only on its own.
    pub fn judges_owners(&self) -> bool {
        self.params.ownership.owners.is_some()
            && self.effective_action(RuleId::Ownership) != Action::Off
    }

    /// What the policy expects of the daemon's own settings, for the
    /// host audit.
    pub fn expected_of_daemon(&self) -> dockgate_model::host::Expected {
        dockgate_model::host::Expected {
            buildkit_allowed: self.effective_action(RuleId::BuildKit) != Action::Deny,
            registries: (self.effective_action(RuleId::ImageRegistry) != Action::Off)
                .then(|| self.params.image_registry.allow.clone()),
        }
    }

    /// Whether a container with these labels is the caller's own (or
    /// ownership does not apply to the caller).
    pub fn owns(&self, labels: &[(String, String)]) -> bool {
        let ownership = &self.params.ownership;
        let Some(owners) = &ownership.owners else {
            return true;
        };
        labels
            .iter()
            .rev()
            .find(|(key, _)| *key == ownership.label)
            .is_some_and(|(_, owner)| owners.contains(owner))
    }

    /// What a caller may see of other owners' containers in lists and
    /// events: `None` when all of them (no ownership, or the role may
    /// inspect others), else the owner label and the owners whose
    /// containers it sees.
    pub fn visible_owners(&self) -> Option<(&str, &[String])> {
        let ownership = &self.params.ownership;
        let owners = ownership.owners.as_deref()?;
        let all = ownership.others.iter().any(|a| a == "*" || a == "inspect");
        (self.judges_owners() && !all).then_some((ownership.label.as_str(), owners))
    }

    /// Sets who the caller acts as, for the `ownership` rule, and whether
    /// containers described without a call (scan, check) are judged.
    pub(crate) fn set_owners(&mut self, owners: Option<Vec<String>>, stored: bool) {
        self.params.docker_socket.mountable = owners.clone();
        self.params.ownership.owners = owners;
        self.params.ownership.stored = stored;
    }

    /// Makes the `docker-socket` rule know the proxy sockets (path,
    /// identity).
    pub(crate) fn set_proxies(&mut self, proxies: Vec<crate::builtin::docker_socket::ProxySocket>) {
        self.params.host_mount.proxies = proxies.iter().map(|p| p.path.clone()).collect();
        self.params.docker_socket.proxies = proxies;
        let ownership = &self.params.ownership;
        self.params.docker_socket.lends = ownership
            .others
            .iter()
            .any(|a| a == "*")
            .then(|| self.params.endpoint_families.allow.clone());
    }

    /// The custom rules the Rego files define, each with its action before
    /// the mode, and the files.
    pub fn custom_rules(&self) -> (Vec<(String, Action)>, Vec<std::path::PathBuf>) {
        let Some(custom) = &self.custom else {
            return (Vec::new(), Vec::new());
        };
        let rules = custom
            .rules()
            .map(|(id, action)| {
                let action = self.custom_actions.get(id).copied().unwrap_or(action);
                (id.to_string(), action)
            })
            .collect();
        let files = custom.sources().iter().map(|(f, _)| f.clone()).collect();
        (rules, files)
    }

    /// What `dockgate explain` tells of custom rule `id`, if the policy's
    /// Rego files define it.
    pub fn custom_rule(&self, id: &str) -> Option<crate::custom::CustomRuleInfo> {
        self.custom
            .as_ref()?
            .info(id, self.custom_actions.get(id).copied())
    }

    /// Whether a rule reads the request as sent (a policy in
    /// opa-docker-authz's form), which the gate then passes on in
    /// [`crate::Requester::request`].
    pub fn judges_requests(&self) -> bool {
        self.custom.as_ref().is_some_and(|c| c.judges_requests())
    }

    /// An action after the rollout mode.
    pub(crate) fn apply_mode(&self, action: Action) -> Action {
        match (self.mode, action) {
            (_, Action::Off) => Action::Off,
            (Mode::Enforce, a) => a,
            (Mode::Warn, Action::Deny) => Action::Warn,
            (Mode::Warn, a) => a,
            (Mode::Audit, _) => Action::Audit,
        }
    }

    /// The action of a rule after the rollout mode.
    pub fn effective_action(&self, rule: RuleId) -> Action {
        let action = self.configured_action(rule);
        if rule.is_fixed() {
            return Action::Deny;
        }
        self.apply_mode(action)
    }

    /// A rule's action as the profile and file set it, before the mode.
    pub fn configured_action(&self, rule: RuleId) -> Action {
        if rule.is_fixed() {
            return Action::Deny;
        }
        self.actions.get(&rule).copied().unwrap_or(Action::Deny)
    }

    /// A short, stable fingerprint of the policy (sha256 of its TOML form).
    pub fn hash(&self) -> &str {
        &self.hash
    }

    fn compute_hash(&self) -> String {
        let mut hasher = Sha256::new();
        hasher.update(self.to_toml().as_bytes());
        // The Rego files' text: a changed rule is another policy.
        for (file, text) in self.custom.iter().flat_map(|c| c.sources()) {
            hasher.update(file.display().to_string().as_bytes());
            hasher.update([0]);
            hasher.update(text.as_bytes());
            hasher.update([0]);
        }
        let digest = hasher.finalize();
        let mut hex = String::with_capacity(16);
        for byte in &digest[..8] {
            let _ = write!(hex, "{byte:02x}");
        }
        format!("sha256:{hex}")
    }

    /// A policy file for `/etc/dockgate/policy.toml` that states the
    /// baseline with every line commented out: each rule, what it checks,
    /// its default action, its parameters. As shipped it changes nothing.
    pub fn commented_template() -> String {
        let baseline = Policy::from_profile(Profile::Baseline).to_toml();
        let mut out = [
            "# dockgate policy. Every setting below is commented out and shows the",
            "# built-in baseline; uncomment and change what you need, then run",
            "# `dockgate policy validate` on this file. The gate reloads it when it",
            "# changes. Reference: `dockgate explain RULE`.",
            "",
            "",
        ]
        .join("\n");
        for line in baseline.lines() {
            if let Some(rule) = line
                .strip_prefix("[rules.")
                .and_then(|r| r.strip_suffix(']'))
                .and_then(RuleId::from_id)
            {
                let doc = rule.doc();
                let _ = writeln!(out, "# {}", doc.summary);
                let _ = writeln!(
                    out,
                    "# Restricted profile: {}.",
                    rule.default_action(Profile::Restricted).name()
                );
            }
            if line.is_empty() {
                out.push('\n');
            } else {
                let _ = writeln!(out, "# {line}");
            }
        }
        out.push_str(
            &[
                "",
                "# Exemptions lift rules for images (pin them by digest) or TLS users:",
                "# [[exemptions]]",
                "# rules = [\"docker-socket\"]",
                "# images = [\"registry.example.com/ops/agent@sha256:...\"]",
                "# reason = \"why\"",
                "",
            ]
            .join("\n"),
        );
        out
    }

    /// The effective policy as a TOML document that `from_toml` reads back.
    pub fn to_toml(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "profile = {:?}", name_of(&self.profile));
        let _ = writeln!(out, "mode = {:?}", name_of(&self.mode));
        if !self.rego.is_empty() {
            let files: Vec<String> = self.rego.iter().map(|f| toml_string(f)).collect();
            let _ = writeln!(out, "rego = [{}]", files.join(", "));
        }
        for rule in RuleId::ALL {
            let _ = writeln!(out, "\n[rules.{}]", rule.id());
            let _ = writeln!(out, "action = {:?}", self.actions[rule].name());
            for (key, value) in self.params.table(*rule) {
                let _ = writeln!(out, "{key} = {}", toml_value(&value));
            }
        }
        if let Some(compat) = &self.compat {
            let files: Vec<String> = compat.rego.iter().map(|f| toml_string(f)).collect();
            let _ = writeln!(out, "\n[opa-docker-authz]");
            let _ = writeln!(out, "rego = [{}]", files.join(", "));
            let _ = writeln!(out, "query = {}", toml_string(&compat.query));
        }
        for (id, action) in &self.custom_actions {
            let _ = writeln!(out, "\n[rules.{}]", toml_string(id));
            let _ = writeln!(out, "action = {:?}", action.name());
        }
        for exemption in &self.exemptions {
            out.push_str("\n[[exemptions]]\n");
            let rules: Vec<String> = exemption
                .rules
                .iter()
                .map(|r| format!("{:?}", r.id()))
                .collect();
            let _ = writeln!(out, "rules = [{}]", rules.join(", "));
            for (key, items) in [("images", &exemption.images), ("users", &exemption.users)] {
                if !items.is_empty() {
                    let quoted: Vec<String> = items.iter().map(|i| toml_string(i)).collect();
                    let _ = writeln!(out, "{key} = [{}]", quoted.join(", "));
                }
            }
            let _ = writeln!(out, "reason = {}", toml_string(&exemption.reason));
        }
        if let Some(callers) = &self.callers {
            callers.to_toml(&mut out);
        }
        out
    }

    /// The policy a caller is judged by, and the identity it is; an
    /// error says why the policy knows no such caller.
    pub fn for_caller(
        self: &Arc<Self>,
        requester: &crate::Requester,
    ) -> Result<crate::Caller, String> {
        match &self.callers {
            Some(callers) => callers.identify(requester),
            None if requester.proxy.is_some() => {
                Err("the policy defines no identities, so no proxy socket is served".to_string())
            }
            None => Ok(crate::Caller {
                policy: self.clone(),
                identity: None,
            }),
        }
    }

    /// The `dockgate proxy` sockets the identities are served on: path
    /// and identity.
    pub fn proxy_sockets(&self) -> Vec<(String, String)> {
        self.callers
            .as_ref()
            .map(|c| c.sockets())
            .unwrap_or_default()
    }

    /// A role's policy, acting as any identity that holds it (`check
    /// --as ROLE`); the error lists the roles.
    pub fn for_role(&self, role: &str) -> Result<Arc<Policy>, String> {
        let callers = self.callers.as_ref();
        callers.and_then(|c| c.role(role)).ok_or_else(|| {
            let known = callers
                .map(|c| c.role_names().join(", "))
                .unwrap_or_default();
            if known.is_empty() {
                format!("no role {role:?}: the policy defines no roles")
            } else {
                format!("no role {role:?}; the policy defines: {known}")
            }
        })
    }
}

/// What every policy a file describes shares: the top-level one and each
/// role's.
pub(crate) struct Shared<'a> {
    pub(crate) text: &'a str,
    mode: Mode,
    exemptions: &'a [Exemption],
    rego: &'a [String],
    compat: &'a Option<crate::custom::CompatConfig>,
    custom: &'a Option<Arc<CustomRules>>,
    /// Every identity's name: the owners a role over every owner's
    /// containers may create for.
    identities: Vec<String>,
}

impl Shared<'_> {
    /// A policy from a profile and `[rules.ID]` tables, with what all
    /// share.
    pub(crate) fn assemble(&self, profile: Profile, rules: Rules) -> Result<Policy, PolicyError> {
        let text = self.text;
        let mut policy = Policy::from_profile(profile);
        policy.mode = self.mode;
        for (key, table) in rules {
            let span = key.span();
            let id = key.into_inner();
            if id.starts_with(crate::catalog::CUSTOM_PREFIX) {
                let action = custom_table(text, &id, table)?;
                policy.custom_actions.insert(id, action);
                continue;
            }
            let rule = RuleId::from_id(&id).ok_or_else(|| {
                PolicyError::Parse(located(text, span, &RuleId::unknown(&id, "field")))
            })?;
            let action = policy.params.read(rule, table).map_err(|e| match e.span {
                Some(span) => PolicyError::Parse(located(text, span, &e.message)),
                None => PolicyError::Invalid(e.message),
            })?;
            if let Some(action) = action {
                if rule.is_fixed() && action != Action::Deny {
                    return Err(PolicyError::Invalid(format!(
                        "rules.{}: this rule always denies; dockgate never allows a request it could not judge",
                        rule.id()
                    )));
                }
                policy.actions.insert(rule, action);
            }
        }
        for (i, exemption) in self.exemptions.iter().enumerate() {
            if exemption.images.is_empty() && exemption.users.is_empty() {
                return Err(PolicyError::Invalid(format!(
                    "exemptions[{i}]: name at least one image or user; an exemption for everyone is a rule set to off"
                )));
            }
            if exemption.rules.is_empty() {
                return Err(PolicyError::Invalid(format!(
                    "exemptions[{i}]: list the rules it lifts"
                )));
            }
            if let Some(entry) = exemption
                .images
                .iter()
                .find(|e| e.starts_with("sha256:") && !crate::verdict::is_image_id(e))
            {
                return Err(PolicyError::Invalid(format!(
                    "exemptions[{i}]: image ID {entry:?}: give the whole ID, sha256: and 64 hex digits (docker image inspect --format '{{{{.Id}}}}' IMAGE)"
                )));
            }
            if let Some(rule) = exemption
                .rules
                .iter()
                .find(|r| r.builtin().is_some_and(RuleId::is_fixed))
            {
                return Err(PolicyError::Invalid(format!(
                    "exemptions[{i}]: rule {rule} cannot be exempted: dockgate never allows a request it could not judge"
                )));
            }
        }
        // After the tables: reading a rule's table resets what no file
        // sets.
        policy.params.ownership.known = self.identities.clone();
        policy.exemptions = self.exemptions.to_vec();
        if let Some(custom) = self.custom {
            let known: Vec<&str> = custom.ids().collect();
            for id in policy.custom_actions.keys() {
                if !known.contains(&id.as_str()) {
                    return Err(PolicyError::Invalid(format!(
                        "rules.{id}: no such custom rule; the Rego files define: {}",
                        known.join(", ")
                    )));
                }
            }
            policy.rego = self.rego.to_vec();
            policy.compat = self.compat.clone();
            policy.custom = Some(custom.clone());
        } else if let Some(id) = policy.custom_actions.keys().next() {
            return Err(PolicyError::Invalid(format!(
                "rules.{id}: no such custom rule; name Rego files with rego = [...] or [opa-docker-authz]"
            )));
        }
        policy.hash = policy.compute_hash();
        Ok(policy)
    }
}

/// The `[rules.ID]` tables of a file or a role.
pub(crate) type Rules = BTreeMap<toml::Spanned<String>, crate::builtin::Table>;

fn name_of<T: Serialize>(value: &T) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// `TOML parse error at line L, column C: MESSAGE`, for a byte range of
/// the file.
pub(crate) fn located(text: &str, span: std::ops::Range<usize>, message: &str) -> String {
    let before = &text[..span.start.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before
        .rsplit('\n')
        .next()
        .unwrap_or_default()
        .chars()
        .count()
        + 1;
    format!("TOML parse error at line {line}, column {column}: {message}")
}

/// A parameter's value as the policy file writes it.
pub(crate) fn toml_value(value: &toml::Value) -> String {
    match value {
        toml::Value::String(s) => toml_string(s),
        toml::Value::Array(items) => {
            let items: Vec<String> = items.iter().map(toml_value).collect();
            format!("[{}]", items.join(", "))
        }
        other => other.to_string(),
    }
}

/// Formats a TOML error on one line: where, then what.
fn toml_error(text: &str, err: &toml::de::Error) -> String {
    let message = err
        .message()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(": ");
    let message = if message.is_empty() {
        "unexpected end of file".to_string()
    } else {
        message
    };
    match err.span() {
        Some(span) => located(text, span, &message),
        None => format!("TOML parse error: {message}"),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PolicyFile {
    pub(crate) profile: Option<Profile>,
    mode: Option<Mode>,
    #[serde(default)]
    pub(crate) rules: Rules,
    #[serde(default)]
    exemptions: Vec<Exemption>,
    #[serde(default)]
    rego: Vec<String>,
    #[serde(rename = "opa-docker-authz")]
    opa_docker_authz: Option<CompatTable>,
    #[serde(default)]
    pub(crate) identities: Vec<crate::callers::IdentityEntry>,
    #[serde(default)]
    pub(crate) roles: BTreeMap<String, crate::callers::RoleTable>,
}

/// `[opa-docker-authz]`: a policy written for opa-docker-authz.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CompatTable {
    #[serde(default)]
    rego: Vec<String>,
    query: Option<String>,
}

/// A custom rule's table: only its action.
fn custom_table(text: &str, id: &str, table: crate::builtin::Table) -> Result<Action, PolicyError> {
    let mut action = None;
    for (key, value) in table {
        if key.get_ref() != "action" {
            return Err(PolicyError::Parse(located(
                text,
                key.span(),
                &format!("unknown field `{}`, expected `action`", key.get_ref()),
            )));
        }
        let span = value.span();
        let read: Action = value
            .into_inner()
            .try_into()
            .map_err(|e: toml::de::Error| {
                PolicyError::Parse(located(text, span, e.message().trim()))
            })?;
        action = Some(read);
    }
    action.ok_or_else(|| PolicyError::Invalid(format!("rules.{id}: set its action")))
}

/// A TOML basic string. Rust's `{:?}` escapes differently (`\u{483}`),
/// which TOML rejects: a printed policy must read back as the same policy.
pub(crate) fn toml_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests;
