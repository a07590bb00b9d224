//! Evaluating a policy over a workload, and the verdict it gives.

use dockgate_model::{ImageRef, Resolution, Workload};
use serde::Serialize;

use crate::catalog::RuleId;
use crate::checks;
use crate::policy::{Action, Exemption, Policy};

/// Who is asking, as far as the daemon authenticated them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Requester {
    /// The common name of the client's TLS certificate; empty without TLS.
    pub tls_user: String,
}

/// One finding of one rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// The rule.
    pub rule: RuleId,
    /// What the policy does about it (after mode and exemptions).
    pub action: Action,
    /// The offending field.
    pub field: String,
    /// What was found.
    pub message: String,
    /// The reason of the exemption that lifted it, if one did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exempted: Option<String>,
}

impl Finding {
    /// The message with the offending field, unless the message already
    /// names it (or there is no field to name).
    pub fn located(&self) -> String {
        if self.message.contains(&format!("({}", self.field))
            || self.field == "request"
            || self.field == "path"
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

    fn refused(rule: RuleId, message: String) -> Verdict {
        Verdict {
            decision: Decision::Deny,
            findings: vec![Finding {
                rule,
                action: Action::Deny,
                field: "request".to_string(),
                message,
                exempted: None,
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
    pub fn rule_ids(&self) -> Vec<&'static str> {
        // Each once, in the order found: a container reached through
        // another can repeat a rule the request itself broke.
        let mut ids: Vec<&'static str> = Vec::new();
        for finding in self.findings.iter().filter(|f| f.exempted.is_none()) {
            if !ids.contains(&finding.rule.id()) {
                ids.push(finding.rule.id());
            }
        }
        ids
    }

    /// The message the daemon shows the client on a denial, e.g.
    /// `dockgate: denied by rule host-mount: bind mount of host path "/" at
    /// "/host" (HostConfig.Binds[0]); use a named volume, or ask an
    /// administrator to allow this path`.
    pub fn denial_message(&self) -> String {
        let parts: Vec<String> = self
            .denials()
            .map(|f| {
                format!(
                    "denied by rule {}: {}; {} (dockgate explain {})",
                    f.rule,
                    f.located(),
                    f.rule.doc().fix,
                    f.rule
                )
            })
            .collect();
        format!("dockgate: {}", parts.join(" | "))
    }
}

/// Evaluates every rule of the policy over a workload.
pub fn evaluate(policy: &Policy, workload: &Workload, requester: &Requester) -> Verdict {
    let mut findings = Vec::new();
    for rule in RuleId::ALL {
        let action = policy.effective_action(*rule);
        if action == Action::Off {
            continue;
        }
        let hits = checks::run(*rule, workload, &policy.params);
        if hits.is_empty() {
            continue;
        }
        let exemption = policy
            .exemptions
            .iter()
            .find(|e| e.rules.contains(rule) && exemption_matches(e, workload, requester));
        for hit in hits {
            findings.push(Finding {
                rule: *rule,
                action,
                field: hit.field,
                message: hit.message,
                exempted: exemption.map(|e| {
                    if e.reason.is_empty() {
                        "exempted".to_string()
                    } else {
                        e.reason.clone()
                    }
                }),
            });
        }
    }
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

/// An exemption matches when every condition it names holds. Image
/// conditions never trust a name alone: anyone can `docker tag` a local
/// image with a trusted name, so a tag only matches when the local image
/// carries a registry digest from that same repository.
fn exemption_matches(exemption: &Exemption, workload: &Workload, requester: &Requester) -> bool {
    if !exemption.users.is_empty()
        && (requester.tls_user.is_empty() || !exemption.users.contains(&requester.tls_user))
    {
        return false;
    }
    if exemption.images.is_empty() {
        return true;
    }
    let Some(image) = &workload.image else {
        return false;
    };
    let reference = ImageRef::parse(&image.value);
    let full = canonical(&reference);
    if !exemption
        .images
        .iter()
        .any(|p| glob(p, &image.value) || glob(p, &full))
    {
        return false;
    }
    if reference.digest.is_some() {
        return true;
    }
    match &workload.image_repo_digests {
        // Nothing to check against (lint of a file): the name is all there is.
        Resolution::Pending => true,
        Resolution::Failed(_) => false,
        Resolution::Known(digests) => digests.iter().any(|d| {
            let pulled = ImageRef::parse(d);
            pulled.registry == reference.registry && pulled.repository == reference.repository
        }),
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
