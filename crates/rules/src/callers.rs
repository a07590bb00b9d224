//! Who is calling, and what they may do: identities (a TLS client
//! certificate's name, a `dockgate proxy` socket, the daemon's plain Unix
//! socket) and the roles they hold. A role is a policy of its own: the
//! file's, with the role's profile, rule tables and grants over it.
//!
//! ```toml
//! [[identities]]
//! name = "team-a"
//! tls = "team-a-*"            # the client certificate's common name
//! role = "developer"
//!
//! [roles.developer]
//! endpoints = ["read-only", "operate"]
//! images = ["registry.example.com/team-a/*"]
//! others = ["logs"]           # what it may do to other owners' containers
//! ```

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::builtin::docker_socket::ProxySocket;
use crate::policy::{Policy, PolicyError, PolicyFile, Profile, Rules, Shared};
use crate::verdict::Requester;

/// One `[[identities]]` entry: a name, how a caller is known as it, and
/// its role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdentityEntry {
    /// The identity's name: the owner its containers carry.
    pub name: String,
    /// The role it holds.
    pub role: String,
    /// The common name of its TLS client certificates, as the daemon
    /// passes it on; `*` at the end matches any suffix.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<String>,
    /// The `dockgate proxy` socket it is served on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub socket: Option<String>,
    /// Callers on the daemon's own Unix socket (no TLS).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub unix: bool,
}

/// A `[roles.NAME]` table as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleTable {
    profile: Option<Profile>,
    /// Sugar for `rules.endpoint-families.allow`.
    endpoints: Option<toml::Spanned<toml::Value>>,
    /// Sugar for `rules.allowed-images.images`.
    images: Option<toml::Spanned<toml::Value>>,
    /// Sugar for `rules.ownership.others`.
    others: Option<toml::Spanned<toml::Value>>,
    #[serde(default)]
    rules: Rules,
}

impl RoleTable {
    /// The file's rule tables with the role's over them, key by key.
    fn rules(&self, file: &Rules) -> Rules {
        let mut rules = file.clone();
        for (rule, table) in &self.rules {
            let merged = rules.entry(rule.clone()).or_default();
            for (key, value) in table {
                merged.insert(key.clone(), value.clone());
            }
        }
        for (rule, key, value) in [
            ("endpoint-families", "allow", &self.endpoints),
            ("allowed-images", "images", &self.images),
            ("ownership", "others", &self.others),
        ] {
            if let Some(value) = value {
                let span = value.span();
                rules
                    .entry(toml::Spanned::new(span.clone(), rule.to_string()))
                    .or_default()
                    .insert(toml::Spanned::new(span, key.to_string()), value.clone());
            }
        }
        rules
    }

    /// The table as the policy file writes it back.
    fn to_toml(&self, name: &str, out: &mut String) {
        use std::fmt::Write as _;
        let _ = writeln!(out, "\n[roles.{}]", crate::policy::toml_string(name));
        if let Some(profile) = &self.profile {
            let profile = match profile {
                Profile::Baseline => "baseline",
                Profile::Restricted => "restricted",
            };
            let _ = writeln!(out, "profile = {profile:?}");
        }
        for (key, value) in [
            ("endpoints", &self.endpoints),
            ("images", &self.images),
            ("others", &self.others),
        ] {
            if let Some(value) = value {
                let _ = writeln!(
                    out,
                    "{key} = {}",
                    crate::policy::toml_value(value.get_ref())
                );
            }
        }
        for (rule, table) in &self.rules {
            let _ = writeln!(
                out,
                "\n[roles.{}.rules.{}]",
                crate::policy::toml_string(name),
                crate::policy::toml_string(rule.get_ref())
            );
            for (key, value) in table {
                let _ = writeln!(
                    out,
                    "{} = {}",
                    crate::policy::toml_string(key.get_ref()),
                    crate::policy::toml_value(value.get_ref())
                );
            }
        }
    }
}

/// The identities and roles of a policy file, each identity with the
/// policy it is judged by.
#[derive(Debug, Clone)]
pub(crate) struct Callers {
    identities: Vec<IdentityEntry>,
    roles: BTreeMap<String, RoleTable>,
    /// Each identity's policy: its role's, acting as that identity.
    by_identity: BTreeMap<String, Arc<Policy>>,
    /// Each role's policy acting as any identity that holds it
    /// (`check --as ROLE`).
    by_role: BTreeMap<String, Arc<Policy>>,
    /// Callers on the daemon's Unix socket when no identity claims it:
    /// the file's policy, without ownership.
    unix: Arc<Policy>,
    /// The proxy sockets, each with its role's families.
    proxies: Vec<ProxySocket>,
}

/// Two sets of callers are the same when the file says the same of them.
impl PartialEq for Callers {
    fn eq(&self, other: &Self) -> bool {
        let text = |c: &Callers| {
            let mut out = String::new();
            c.to_toml(&mut out);
            out
        };
        text(self) == text(other)
    }
}

impl Eq for Callers {}

/// Whether a certificate name matches an identity's pattern.
fn tls_matches(pattern: &str, user: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => user.starts_with(prefix),
        None => pattern == user,
    }
}

impl Callers {
    /// Reads the identities and roles of a file whose own policy is
    /// `base`; none when the file defines neither.
    pub(crate) fn read(
        file: &PolicyFile,
        shared: &Shared<'_>,
        base: &Policy,
    ) -> Result<Option<Callers>, PolicyError> {
        if file.identities.is_empty() && file.roles.is_empty() {
            return Ok(None);
        }
        let invalid = |m: String| Err(PolicyError::Invalid(m));
        let mut by_role = BTreeMap::new();
        for (name, role) in &file.roles {
            let profile = role.profile.or(file.profile).unwrap_or_default();
            let policy =
                shared
                    .assemble(profile, role.rules(&file.rules))
                    .map_err(|e| match e {
                        PolicyError::Invalid(m) => {
                            PolicyError::Invalid(format!("roles.{name}: {m}"))
                        }
                        other => other,
                    })?;
            by_role.insert(name.clone(), policy);
        }
        let mut by_identity = BTreeMap::new();
        let mut unix_seen = false;
        let mut sockets: Vec<&str> = Vec::new();
        for (i, identity) in file.identities.iter().enumerate() {
            let at = format!("identities[{i}]");
            if identity.name.is_empty() {
                return invalid(format!(
                    "{at}: give it a name (the owner its containers carry)"
                ));
            }
            if by_identity.contains_key(&identity.name) {
                return invalid(format!(
                    "{at}: the name {:?} is taken by an earlier identity",
                    identity.name
                ));
            }
            let Some(role) = by_role.get(&identity.role) else {
                let known: Vec<&str> = file.roles.keys().map(String::as_str).collect();
                return invalid(format!(
                    "{at}: no role {:?}; the file defines: {}",
                    identity.role,
                    if known.is_empty() {
                        "none".to_string()
                    } else {
                        known.join(", ")
                    }
                ));
            };
            let ways = [
                identity.tls.is_some(),
                identity.socket.is_some(),
                identity.unix,
            ];
            if ways.iter().filter(|w| **w).count() != 1 {
                return invalid(format!(
                    "{at}: say how {:?} calls with exactly one of tls = \"COMMON NAME\", socket = \"/run/dockgate/NAME.sock\" or unix = true",
                    identity.name
                ));
            }
            if identity.tls.as_deref() == Some("") {
                return invalid(format!("{at}: tls: give the certificate's common name"));
            }
            if let Some(socket) = &identity.socket {
                if !socket.starts_with('/') {
                    return invalid(format!("{at}: socket {socket:?} is not an absolute path"));
                }
                if sockets.contains(&socket.as_str()) {
                    return invalid(format!(
                        "{at}: socket {socket:?} is served for an earlier identity"
                    ));
                }
                sockets.push(socket);
            }
            if identity.unix {
                if unix_seen {
                    return invalid(format!("{at}: an earlier identity already has unix = true"));
                }
                unix_seen = true;
            }
            let mut policy = role.clone();
            policy.set_owners(Some(vec![identity.name.clone()]), false);
            by_identity.insert(identity.name.clone(), Arc::new(policy));
        }
        // Each proxy socket with its role's families; then every policy
        // knows them all.
        let proxies: Vec<ProxySocket> = file
            .identities
            .iter()
            .filter_map(|i| {
                Some(ProxySocket {
                    path: dockgate_model::clean_path(i.socket.as_deref()?),
                    identity: i.name.clone(),
                    families: by_role[&i.role].params.endpoint_families.allow.clone(),
                })
            })
            .collect();
        for policy in by_identity.values_mut() {
            Arc::make_mut(policy).set_proxies(proxies.clone());
        }
        let mut unix = base.clone();
        unix.set_proxies(proxies.clone());
        let by_role = by_role
            .into_iter()
            .map(|(name, mut policy)| {
                let holders = file
                    .identities
                    .iter()
                    .filter(|i| i.role == name)
                    .map(|i| i.name.clone())
                    .collect();
                policy.set_owners(Some(holders), true);
                policy.params.endpoint_families.stored = true;
                policy.set_proxies(proxies.clone());
                (name, Arc::new(policy))
            })
            .collect();
        Ok(Some(Callers {
            identities: file.identities.clone(),
            roles: file.roles.clone(),
            by_identity,
            by_role,
            unix: Arc::new(unix),
            proxies,
        }))
    }

    /// The proxy sockets to serve: path and identity.
    pub(crate) fn sockets(&self) -> Vec<(String, String)> {
        self.identities
            .iter()
            .filter_map(|i| Some((i.socket.clone()?, i.name.clone())))
            .collect()
    }

    /// The proxy sockets, each with its role's families.
    pub(crate) fn proxies(&self) -> &[ProxySocket] {
        &self.proxies
    }

    /// The identity a caller is, and its policy; an error says why the
    /// caller is no one the policy knows.
    pub(crate) fn identify(&self, requester: &Requester) -> Result<Caller, String> {
        let found = |identity: &IdentityEntry| Caller {
            policy: self.by_identity[&identity.name].clone(),
            identity: Some(identity.name.clone()),
        };
        if let Some(name) = &requester.proxy {
            return self
                .identities
                .iter()
                .find(|i| i.socket.is_some() && i.name == *name)
                .map(found)
                .ok_or_else(|| {
                    format!("the proxy socket's identity {name:?} is not in the policy")
                });
        }
        if requester.via_tls {
            let user = &requester.tls_user;
            return self
                .identities
                .iter()
                .find(|i| i.tls.as_deref().is_some_and(|p| tls_matches(p, user)))
                .map(found)
                .ok_or_else(|| {
                    format!(
                        "TLS user {user:?} (the client certificate's common name) matches no identity in the policy; add one: [[identities]] name = ..., tls = {user:?}, role = ..."
                    )
                });
        }
        Ok(match self.identities.iter().find(|i| i.unix) {
            Some(identity) => found(identity),
            None => Caller {
                policy: self.unix.clone(),
                identity: None,
            },
        })
    }

    /// A role's policy, acting as any identity that holds it.
    pub(crate) fn role(&self, name: &str) -> Option<Arc<Policy>> {
        self.by_role.get(name).cloned()
    }

    /// The role names.
    pub(crate) fn role_names(&self) -> Vec<&str> {
        self.roles.keys().map(String::as_str).collect()
    }

    /// The identities and roles as the policy file writes them.
    pub(crate) fn to_toml(&self, out: &mut String) {
        for identity in &self.identities {
            out.push_str("\n[[identities]]\n");
            if let Ok(text) = toml::to_string(identity) {
                out.push_str(&text);
            }
        }
        for (name, role) in &self.roles {
            role.to_toml(name, out);
        }
    }
}

/// Who a caller is to the policy.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The policy the caller is judged by: its role's, or the file's.
    pub policy: Arc<Policy>,
    /// The identity's name; none for a caller on the daemon's Unix socket
    /// that no identity claims.
    pub identity: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{evaluate, Action, RuleId};
    use dockgate_model::{ApiCall, At, CallKind, EndpointFamily, Operation, Target, Workload};

    const FILE: &str = r#"
profile = "baseline"

[[identities]]
name = "team-a"
tls = "team-a-*"
role = "developer"

[[identities]]
name = "traefik"
socket = "/run/dockgate/traefik.sock"
role = "reader"

[[identities]]
name = "ops"
unix = true
role = "admin"

[roles.developer]
endpoints = ["read-only", "operate"]
images = ["registry.example.com/team-a/*"]
others = ["logs"]
profile = "restricted"

[roles.developer.rules.memory-limit]
action = "warn"

[roles.reader]
endpoints = ["read-only"]

[roles.admin]
endpoints = ["read-only", "operate", "build", "admin"]
others = ["*"]
"#;

    fn tls(user: &str) -> Requester {
        Requester {
            tls_user: user.to_string(),
            via_tls: true,
            ..Requester::default()
        }
    }

    fn policy() -> Arc<Policy> {
        Arc::new(Policy::from_toml(FILE).unwrap())
    }

    fn call(endpoint: &str, family: EndpointFamily) -> Option<ApiCall> {
        Some(ApiCall {
            method: "POST".into(),
            endpoint: endpoint.into(),
            kind: CallKind::Known,
            family,
        })
    }

    #[test]
    fn callers_are_known_by_certificate_socket_and_unix_socket() {
        let policy = policy();
        let caller = policy.for_caller(&tls("team-a-alice")).unwrap();
        assert_eq!(caller.identity.as_deref(), Some("team-a"));
        assert_eq!(
            caller.policy.configured_action(RuleId::MemoryLimit),
            Action::Warn
        );
        // The role's profile: restricted.
        assert_eq!(
            caller.policy.configured_action(RuleId::ReadOnlyRootfs),
            Action::Deny
        );
        let proxied = Requester {
            proxy: Some("traefik".into()),
            ..Requester::default()
        };
        assert_eq!(
            policy.for_caller(&proxied).unwrap().identity.as_deref(),
            Some("traefik")
        );
        let unix = policy.for_caller(&Requester::default()).unwrap();
        assert_eq!(unix.identity.as_deref(), Some("ops"));
        assert_eq!(
            policy.for_caller(&tls("mallory")).unwrap_err(),
            "TLS user \"mallory\" (the client certificate's common name) matches no identity in the policy; add one: [[identities]] name = ..., tls = \"mallory\", role = ..."
        );
        // A certificate without a common name is a TLS caller all the
        // same, never the Unix socket's.
        assert!(policy.for_caller(&tls("")).is_err());
    }

    #[test]
    fn without_a_unix_identity_the_unix_socket_keeps_the_file_policy() {
        let file = FILE.replace("unix = true", "tls = \"ops\"");
        let policy = Arc::new(Policy::from_toml(&file).unwrap());
        let unix = policy.for_caller(&Requester::default()).unwrap();
        assert_eq!(unix.identity, None);
        let mut create = Workload::new(Operation::Container);
        create.image = Some(At::new("testimg".to_string(), "Image"));
        create.call = call("container.create", EndpointFamily::Operate);
        let verdict = evaluate(&unix.policy, &create, &Requester::default());
        assert!(verdict.allowed(), "{verdict:?}");
        // Scan warns of every container without a known owner (the gate
        // let this one in: the patrol must not stop it).
        create.call = None;
        let verdict = evaluate(&policy, &create, &Requester::default());
        assert!(verdict.allowed());
        let found: Vec<String> = verdict
            .findings
            .iter()
            .filter(|f| f.rule.id() == "owner-label")
            .map(|f| format!("{} {}: {}", f.rule, f.action.name(), f.message))
            .collect();
        assert_eq!(
            found,
            ["owner-label warn: no dockgate.owner label: no identity of the policy owns it (team-a, traefik, ops)"]
        );
    }

    #[test]
    fn a_role_acts_on_its_own_containers_and_runs_its_images() {
        let policy = policy();
        let team = policy.for_caller(&tls("team-a-bob")).unwrap().policy;
        let mut create = Workload::new(Operation::Container);
        create.image = Some(At::new("busybox".to_string(), "Image"));
        create.call = call("container.create", EndpointFamily::Operate);
        let verdict = evaluate(&team, &create, &Requester::default());
        let denied: Vec<String> = verdict
            .denials()
            .map(|f| format!("{}: {}", f.rule, f.message))
            .collect();
        assert!(denied.contains(&"ownership: no dockgate.owner label: the container must name its owner, one of team-a (--label dockgate.owner=team-a)".to_string()), "{denied:?}");
        assert!(denied.contains(&"allowed-images: image \"busybox\" is not among the role's images (registry.example.com/team-a/*)".to_string()), "{denied:?}");

        let owned = |owner: &str, action: &'static str| {
            let mut target = Target::named("web", action);
            target.labels = dockgate_model::Resolution::Known(Some(vec![(
                "dockgate.owner".to_string(),
                owner.to_string(),
            )]));
            let mut w = Workload::new(Operation::Other);
            w.call = call("container.inspect", EndpointFamily::ReadOnly);
            w.targets.push(At::new(target, "path"));
            evaluate(&team, &w, &Requester::default())
        };
        assert!(owned("team-a", "inspect").allowed());
        let theirs = owned("team-b", "inspect");
        assert_eq!(
            theirs.denials().map(|f| f.message.as_str()).collect::<Vec<_>>(),
            ["inspect of container \"web\", which belongs to \"team-b\": the caller (team-a) may act only on its own containers"]
        );
        // Granted on others: logs.
        assert!(owned("team-b", "logs").allowed());

        let mut build = Workload::new(Operation::Build);
        build.call = call("image.build", EndpointFamily::Build);
        let verdict = evaluate(&team, &build, &Requester::default());
        assert_eq!(
            verdict.denials().map(|f| f.message.as_str()).collect::<Vec<_>>(),
            [
                "POST image.build is an endpoint of the build family, which the caller's role is not granted",
                "a build runs its Dockerfile's base images, which dockgate cannot see: a role limited to images = [...] cannot build"
            ]
        );
    }

    #[test]
    fn a_role_over_every_owner_creates_for_any_identity() {
        let policy = policy();
        let ops = policy.for_caller(&Requester::default()).unwrap().policy;
        let create = |owner: &str| {
            let mut w = Workload::new(Operation::Container);
            w.image = Some(At::new("testimg".to_string(), "Image"));
            w.call = call("container.create", EndpointFamily::Operate);
            w.labels.push(At::new(
                ("dockgate.owner".to_string(), owner.to_string()),
                "Labels",
            ));
            evaluate(&ops, &w, &Requester::default())
        };
        assert!(create("team-a").allowed());
        assert_eq!(
            create("nobody").denials().map(|f| f.message.as_str()).collect::<Vec<_>>(),
            ["owner label dockgate.owner=\"nobody\" names another owner than team-a, traefik, ops (--label dockgate.owner=team-a)"]
        );
    }

    #[test]
    fn the_policy_prints_back_as_itself() {
        let policy = policy();
        let again = Policy::from_toml(&policy.to_toml()).unwrap();
        assert_eq!(*policy, again);
        assert_eq!(policy.hash(), again.hash());
        assert_eq!(
            policy.for_role("reader").unwrap().params.ownership.owners,
            Some(vec!["traefik".to_string()])
        );
        assert_eq!(
            policy.for_role("nobody").unwrap_err(),
            "no role \"nobody\"; the policy defines: admin, developer, reader"
        );
    }

    #[test]
    fn bad_identities_and_roles_are_explained() {
        let role = "[roles.r]\nendpoints = [\"read-only\"]\n";
        let cases = [
            ("[[identities]]\nname = \"a\"\nrole = \"r\"\n", "identities[0]: say how \"a\" calls with exactly one of tls = \"COMMON NAME\", socket = \"/run/dockgate/NAME.sock\" or unix = true"),
            ("[[identities]]\nname = \"a\"\nrole = \"r\"\ntls = \"a\"\nunix = true\n", "identities[0]: say how \"a\" calls with exactly one of tls = \"COMMON NAME\", socket = \"/run/dockgate/NAME.sock\" or unix = true"),
            ("[[identities]]\nname = \"a\"\nrole = \"x\"\ntls = \"a\"\n", "identities[0]: no role \"x\"; the file defines: r"),
            ("[[identities]]\nname = \"a\"\nrole = \"r\"\ntls = \"a\"\n[[identities]]\nname = \"a\"\nrole = \"r\"\ntls = \"b\"\n", "identities[1]: the name \"a\" is taken by an earlier identity"),
            ("[[identities]]\nname = \"a\"\nrole = \"r\"\nsocket = \"a.sock\"\n", "identities[0]: socket \"a.sock\" is not an absolute path"),
        ];
        for (text, message) in cases {
            let text = format!("{text}{role}");
            assert_eq!(
                Policy::from_toml(&text).unwrap_err().to_string(),
                message,
                "{text}"
            );
        }
        assert_eq!(
            Policy::from_toml("[roles.r]\nendpoints = [\"everything\"]\n")
                .unwrap_err()
                .to_string(),
            "roles.r: rules.endpoint-families.allow: endpoint family \"everything\" is not one of read-only, operate, build, admin"
        );
        assert_eq!(
            Policy::from_toml("[roles.r]\nothers = [\"peek\"]\n").unwrap_err().to_string(),
            "roles.r: rules.ownership.others: \"peek\" is not one of *, inspect, logs, stats, top, changes, export, cp, attach, exec, start, restart, stop, kill, pause, wait, resize, rename, update, rm, commit, checkpoint, volumes-from, link, join, network"
        );
    }
}
