//! Evaluating a policy over a workload, and the verdict it gives.

use dockgate_model::{ImageRef, LocalImage, Resolution, Workload};
use serde::Serialize;

use crate::catalog::{RuleId, RuleRef};
use crate::policy::{Action, Exemption, Policy};

/// Who is asking, as far as the daemon authenticated them, and the
/// request they sent, for a policy in opa-docker-authz's form.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Requester {
    /// The common name of the client's TLS certificate; empty without TLS
    /// (or for a certificate without one).
    pub tls_user: String,
    /// Whether the daemon authenticated the caller by a TLS client
    /// certificate.
    pub via_tls: bool,
    /// The identity a `dockgate proxy` socket serves, for calls through
    /// one.
    pub proxy: Option<String>,
    /// The request, at the gate. Without one, such a policy judges a
    /// container as the create request that makes it.
    pub request: Option<std::sync::Arc<crate::custom::SentRequest>>,
    /// What is judged is a container the request reaches (one it execs
    /// into, attaches to, starts), not the request: such a policy judges
    /// it as the create request that made it, sent with the request's
    /// headers and by its user. Reaching a container takes what creating
    /// it would.
    pub reaching: bool,
}

/// One finding of one rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// The rule.
    pub rule: RuleRef,
    /// What the policy does about it (after mode and exemptions).
    pub action: Action,
    /// The offending field.
    pub field: String,
    /// What was found.
    pub message: String,
    /// The reason of the exemption that lifted it, if one did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exempted: Option<String>,
    /// What an exemption naming this image did not prove: why it was not
    /// applied (and how to pin the image so that it is), or on what
    /// condition the gate will apply it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// The policy denies this, but its mode (warn, audit) lowered the
    /// action: what would be refused once the policy enforces.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub would_deny: bool,
    /// A look-up on the daemon failed, so the setting could not be judged:
    /// the fix is the look-up, not the setting.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub lookup_failed: bool,
    /// The fix a custom rule gave with its message.
    #[serde(rename = "fix", skip_serializing_if = "Option::is_none")]
    pub rule_fix: Option<String>,
}

/// The fix of a custom rule's finding that came without one.
const CUSTOM_FIX: &str =
    "change what the custom rule names, or ask an administrator (the policy's Rego files)";

/// The fix of a finding that a failed look-up left unjudged: the rule's
/// own fix ("use a named volume") would be wrong when a named volume is
/// what could not be looked up.
const LOOKUP_FIX: &str = "the daemon did not answer a look-up, so this setting could not be judged: \
                          retry once the daemon answers (docker info); if it keeps failing, check that \
                          dockgate reaches the daemon (--docker-host) and read dockgate's log";

impl Finding {
    /// How to fix it: the rule's fix, or the look-up's when a failed
    /// look-up is why it was found.
    pub fn fix(&self) -> &str {
        match (&self.rule, &self.rule_fix) {
            _ if self.lookup_failed => LOOKUP_FIX,
            (_, Some(fix)) => fix,
            (RuleRef::Builtin(rule), None) => rule.doc().fix,
            (RuleRef::Custom(_) | RuleRef::Audit(_), None) => CUSTOM_FIX,
        }
    }

    /// The action as reports show it: `exempt` when an exemption lifted
    /// it, the action otherwise, marked `(would deny)` when only the
    /// policy's rollout mode kept it from denying.
    pub fn shown_action(&self) -> String {
        match (&self.exempted, self.would_deny) {
            (Some(_), _) => "exempt".to_string(),
            (None, true) => format!("{} (would deny)", self.action.name()),
            (None, false) => self.action.name().to_string(),
        }
    }

    /// The message with the offending field, unless the message already
    /// names it (or there is no field to name).
    pub fn located(&self) -> String {
        if self.message.contains(&format!("({}", self.field))
            || self.field == "request"
            || self.field == "path"
            || self.field == "rego"
        {
            self.message.clone()
        } else {
            format!("{} ({})", self.message, self.field)
        }
    }
}

/// Allow or deny.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Decision {
    /// The request may go ahead.
    Allow,
    /// The request is refused.
    Deny,
}

/// The outcome of evaluating a policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verdict {
    /// Allow or deny.
    pub decision: Decision,
    /// Everything found, in rule order; exempted findings included.
    pub findings: Vec<Finding>,
}

impl Verdict {
    /// A denial of a request that could not be read.
    pub fn unreadable(message: impl Into<String>) -> Verdict {
        Verdict::refused(RuleId::UnreadableRequest, message.into())
    }

    /// A denial of a request dockgate could not finish judging: a look-up
    /// the daemon did not answer in time, too many requests waiting, a
    /// failure inside the gate.
    pub fn unjudged(message: impl Into<String>) -> Verdict {
        Verdict::refused(RuleId::GateFailure, message.into())
    }

    /// A denial of a caller the policy's identities do not know: no
    /// family of endpoints is granted to no one, whatever the rule's
    /// action.
    pub fn unknown_caller(message: impl Into<String>) -> Verdict {
        Verdict::refused(RuleId::EndpointFamilies, message.into())
    }

    fn refused(rule: RuleId, message: String) -> Verdict {
        Verdict {
            decision: Decision::Deny,
            findings: vec![Finding {
                rule: rule.into(),
                action: Action::Deny,
                field: "request".to_string(),
                message,
                exempted: None,
                note: None,
                would_deny: false,
                lookup_failed: false,
                rule_fix: None,
            }],
        }
    }

    /// Whether the request is allowed.
    pub fn allowed(&self) -> bool {
        self.decision == Decision::Allow
    }

    /// The findings that deny.
    pub fn denials(&self) -> impl Iterator<Item = &Finding> {
        self.findings
            .iter()
            .filter(|f| f.action == Action::Deny && f.exempted.is_none())
    }

    /// The ids of the rules with findings that were not exempted, for logs.
    pub fn rule_ids(&self) -> Vec<String> {
        // Each once, in the order found: a container reached through
        // another can repeat a rule the request itself broke.
        let mut ids: Vec<String> = Vec::new();
        for finding in self.findings.iter().filter(|f| f.exempted.is_none()) {
            if !ids.iter().any(|id| id == finding.rule.id()) {
                ids.push(finding.rule.id().to_string());
            }
        }
        ids
    }
}

/// The document custom rules read for a workload, with the built-in
/// rules' findings of `policy`: what `dockgate policy test` gives tests
/// as `data.inputs.NAME`.
pub fn rego_input(policy: &Policy, workload: &Workload) -> serde_json::Value {
    let requester = Requester::default();
    let findings = builtin_findings(policy, workload, &requester);
    crate::custom::input(workload, &findings, &requester)
}

/// Evaluates every rule of the policy over a workload.
pub fn evaluate(policy: &Policy, workload: &Workload, requester: &Requester) -> Verdict {
    let mut findings = builtin_findings(policy, workload, requester);
    if let Some(custom) = &policy.custom {
        let input = || crate::custom::input(workload, &findings, requester);
        let hits = custom.evaluate(input, workload, requester);
        custom_findings(policy, hits, workload, requester, &mut findings);
    }
    verdict_of(findings)
}

/// Evaluates the policy in opa-docker-authz's form alone, if the policy
/// has one: for a container a request reaches whose other findings are
/// judged already.
pub fn evaluate_request_rule(
    policy: &Policy,
    workload: &Workload,
    requester: &Requester,
) -> Verdict {
    let mut findings = Vec::new();
    if let Some(custom) = &policy.custom {
        let hits = custom
            .evaluate_request_rule(workload, requester)
            .into_iter()
            .collect();
        custom_findings(policy, hits, workload, requester, &mut findings);
    }
    verdict_of(findings)
}

/// The verdict of a set of findings: denied if one denies unexempted.
pub(crate) fn verdict_of(findings: Vec<Finding>) -> Verdict {
    let denied = findings
        .iter()
        .any(|f| f.action == Action::Deny && f.exempted.is_none());
    Verdict {
        decision: if denied {
            Decision::Deny
        } else {
            Decision::Allow
        },
        findings,
    }
}

/// What the built-in rules of the policy find in a workload.
fn builtin_findings(policy: &Policy, workload: &Workload, requester: &Requester) -> Vec<Finding> {
    let mut findings = Vec::new();
    for rule in RuleId::ALL {
        let action = policy.effective_action(*rule);
        if action == Action::Off {
            continue;
        }
        let hits = crate::catalog::run(*rule, workload, &policy.params);
        if hits.is_empty() {
            continue;
        }
        let (exempted, note) = exemption_for(policy, &(*rule).into(), workload, requester);
        let would_deny = action != Action::Deny && policy.configured_action(*rule) == Action::Deny;
        for hit in hits {
            findings.push(Finding {
                rule: (*rule).into(),
                action,
                field: hit.field,
                message: hit.message,
                exempted: exempted.clone(),
                note: note.clone(),
                would_deny,
                lookup_failed: hit.lookup_failed,
                rule_fix: None,
            });
        }
    }
    findings
}

/// Adds what custom rules found in a workload as findings, with their
/// actions, the mode and exemptions applied.
fn custom_findings(
    policy: &Policy,
    hits: Vec<crate::custom::CustomHit>,
    workload: &Workload,
    requester: &Requester,
    findings: &mut Vec<Finding>,
) {
    for hit in hits {
        let rule = RuleRef::Custom(hit.rule.clone());
        let configured = policy
            .custom_actions
            .get(&*hit.rule)
            .copied()
            .unwrap_or(hit.action);
        // A rule that could not be evaluated judged nothing: refused,
        // whatever the mode.
        let action = if hit.failed {
            Action::Deny
        } else {
            policy.apply_mode(configured)
        };
        if action == Action::Off {
            continue;
        }
        let (exempted, note) = if hit.failed {
            (None, None)
        } else {
            exemption_for(policy, &rule, workload, requester)
        };
        findings.push(Finding {
            rule,
            action,
            field: "rego".to_string(),
            message: hit.message,
            exempted,
            note,
            would_deny: action != Action::Deny && configured == Action::Deny,
            lookup_failed: false,
            rule_fix: hit.fix,
        });
    }
}

/// The first exemption that lifts `rule` for this workload, as the reason
/// recorded with its use, and a note on an exemption that names the image
/// but could not be trusted (or applies only on a condition).
fn exemption_for(
    policy: &Policy,
    rule: &RuleRef,
    workload: &Workload,
    requester: &Requester,
) -> (Option<String>, Option<String>) {
    let mut refused = None;
    for (i, exemption) in policy.exemptions.iter().enumerate() {
        if !exemption.rules.contains(rule) || !user_matches(exemption, requester) {
            continue;
        }
        let name = if exemption.reason.is_empty() {
            format!("exemptions[{i}]")
        } else {
            format!("exemption {:?}", exemption.reason)
        };
        let reason = || {
            Some(if exemption.reason.is_empty() {
                "exempted".to_string()
            } else {
                exemption.reason.clone()
            })
        };
        match image_match(exemption, workload, &name) {
            ImageMatch::No => {}
            ImageMatch::Trusted => return (reason(), None),
            ImageMatch::Provisional(note) => return (reason(), Some(note)),
            ImageMatch::Refused(note) => {
                refused.get_or_insert(note);
            }
        }
    }
    (None, refused)
}

/// How a list of images (an exemption's, a role's) meets a workload's
/// image.
pub(crate) enum ImageMatch {
    /// It does not name this image.
    No,
    /// It names this image, and the image's content is what it names.
    Trusted,
    /// It names the image by name, and nothing here can tell what content
    /// the name stands for (a file judged without a daemon): it applies,
    /// with the condition the gate will check.
    Provisional(String),
    /// It names the image, but the content is not proven to be what it
    /// names: not applied, with why and how to pin the image.
    Refused(String),
}

impl ImageMatch {
    /// Which of two entries of one exemption wins: proof, then a
    /// condition, then a refusal (whose note explains itself).
    fn rank(&self) -> u8 {
        match self {
            ImageMatch::No => 0,
            ImageMatch::Refused(_) => 1,
            ImageMatch::Provisional(_) => 2,
            ImageMatch::Trusted => 3,
        }
    }
}

fn user_matches(exemption: &Exemption, requester: &Requester) -> bool {
    exemption.users.is_empty()
        || (!requester.tls_user.is_empty() && exemption.users.contains(&requester.tls_user))
}

/// Matches `pattern` (a trailing `*` matches any suffix) against `value`.
fn glob(pattern: &str, value: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => value.starts_with(prefix),
        None => pattern == value,
    }
}

fn canonical(reference: &ImageRef) -> String {
    let mut out = format!("{}/{}", reference.registry, reference.repository);
    if let Some(tag) = &reference.tag {
        out = format!("{out}:{tag}");
    }
    if let Some(digest) = &reference.digest {
        out = format!("{out}@{digest}");
    }
    out
}

/// Whether an exemption's image entry is an image ID (`sha256:` and 64 hex
/// digits), which names exact content as surely as a registry digest.
pub(crate) fn is_image_id(entry: &str) -> bool {
    entry
        .strip_prefix("sha256:")
        .is_some_and(|hex| hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// An exemption's image condition. Names are never trusted alone: anyone
/// can `docker tag` a local image with a trusted name, so a name matches
/// only an image pulled from that same repository (it carries a registry
/// digest from there). A digest in the reference, or an image ID in the
/// exemption, names the content itself.
fn image_match(exemption: &Exemption, workload: &Workload, name: &str) -> ImageMatch {
    if exemption.images.is_empty() {
        return ImageMatch::Trusted;
    }
    images_match(&exemption.images, workload, name)
}

/// Whether `entries` (`name` in messages) name the workload's image, by
/// the same proof an exemption needs.
pub(crate) fn images_match(entries: &[String], workload: &Workload, name: &str) -> ImageMatch {
    let Some(image) = &workload.image else {
        return ImageMatch::No;
    };
    let reference = ImageRef::parse(&image.value);
    let full = canonical(&reference);
    let local = &workload.image_local;
    let mut best = ImageMatch::No;
    for entry in entries {
        let found = if is_image_id(entry) {
            id_match(entry, &image.value, local, name)
        } else if glob(entry, &image.value) || glob(entry, &full) {
            name_match(&reference, &image.value, local, name)
        } else {
            ImageMatch::No
        };
        if found.rank() > best.rank() {
            best = found;
        }
        if matches!(best, ImageMatch::Trusted) {
            break;
        }
    }
    best
}

fn id_match(id: &str, image: &str, local: &Resolution<LocalImage>, name: &str) -> ImageMatch {
    let bare = |s: &str| s.trim_start_matches("sha256:").to_ascii_lowercase();
    if bare(image) == bare(id) {
        return ImageMatch::Trusted;
    }
    match local {
        Resolution::Known(LocalImage { id: Some(got), .. }) if bare(got) == bare(id) => {
            ImageMatch::Trusted
        }
        Resolution::Pending => ImageMatch::Refused(format!(
            "{name} pins image ID {id}, and only the daemon knows which image {image:?} is: \
             `dockgate check --docker-host URL` asks it"
        )),
        _ => ImageMatch::No,
    }
}

fn name_match(
    reference: &ImageRef,
    image: &str,
    local: &Resolution<LocalImage>,
    name: &str,
) -> ImageMatch {
    if reference.digest.is_some() {
        return ImageMatch::Trusted;
    }
    let repository = format!("{}/{}", reference.registry, reference.repository);
    match local {
        Resolution::Pending => ImageMatch::Provisional(format!(
            "{name} matches {image:?} by name: the gate applies it only to an image pulled \
             from {repository}; for an image built or tagged on the host, pin it by ID"
        )),
        Resolution::Failed(err) => ImageMatch::Refused(format!(
            "{name} matches {image:?} by name but was not applied: the image could not be \
             looked up ({err}); pin it by registry digest or image ID"
        )),
        Resolution::Known(found) => {
            if found.repo_digests.iter().any(|d| {
                let pulled = ImageRef::parse(d);
                pulled.registry == reference.registry && pulled.repository == reference.repository
            }) {
                return ImageMatch::Trusted;
            }
            ImageMatch::Refused(match &found.id {
                Some(id) => format!(
                    "{name} matches {image:?} by name but was not applied: the local image {id} \
                     was not pulled from {repository} (it was built or tagged on this host); \
                     to exempt it, pin it by ID: images = [\"{id}\"]"
                ),
                None => format!(
                    "{name} matches {image:?} by name but was not applied: the image is built \
                     here, so its name proves nothing; to exempt it, pin it by ID once built: \
                     docker image inspect --format '{{{{.Id}}}}' {image}"
                ),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob("docker.io/library/*", "docker.io/library/alpine:3"));
        assert!(glob("alpine:3", "alpine:3"));
        assert!(!glob("alpine:3", "alpine:3.1"));
    }
}
