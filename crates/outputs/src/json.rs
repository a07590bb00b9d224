//! The JSON report: a stable, documented schema (`docs/scan-json.md`).
//!
//! One result per container per evaluated rule, `pass`, `warn` or `fail`,
//! with the policy hash and a timestamp, so that it can feed a policy
//! report without knowing dockgate.

use dockgate_rules::{Action, RuleRef};
use serde::Serialize;

use crate::report::{ContainerResult, Remediation, ScanReport};

/// The schema id written in every document.
pub const SCHEMA: &str = "dockgate.scan/v1";

#[derive(Serialize)]
struct Document<'a> {
    schema: &'static str,
    time: &'a str,
    policy_hash: &'a str,
    summary: Summary,
    results: Vec<RuleResult<'a>>,
    remediations: Vec<RemediationEntry<'a>>,
    /// Inputs that could not be read (`check`), each with where and why.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    errors: Vec<ErrorEntry<'a>>,
}

#[derive(Serialize)]
struct ErrorEntry<'a> {
    file: &'a str,
    line: usize,
    column: usize,
    message: &'a str,
}

#[derive(Serialize)]
struct Summary {
    containers: usize,
    violating: usize,
    warnings: usize,
}

#[derive(Serialize)]
struct Container<'a> {
    id: &'a str,
    name: &'a str,
    image: &'a str,
}

#[derive(Serialize)]
struct RuleResult<'a> {
    container: Container<'a>,
    rule: String,
    result: &'static str,
    findings: Vec<FindingEntry<'a>>,
}

#[derive(Serialize)]
struct FindingEntry<'a> {
    action: &'static str,
    field: &'a str,
    message: &'a str,
    fix: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    exempted: Option<&'a str>,
    /// Why an exemption naming the image was not applied, or on what
    /// condition the gate applies it.
    #[serde(skip_serializing_if = "Option::is_none")]
    note: Option<&'a str>,
    /// Lowered from deny by the policy's rollout mode.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    would_deny: bool,
    /// `file:line:col`, for findings in files.
    #[serde(skip_serializing_if = "Option::is_none")]
    location: Option<String>,
}

#[derive(Serialize)]
struct RemediationEntry<'a> {
    container: Container<'a>,
    #[serde(flatten)]
    remediation: &'a Remediation,
}

fn container(c: &ContainerResult) -> Container<'_> {
    Container {
        id: &c.id,
        name: &c.name,
        image: &c.image,
    }
}

fn result_for<'a>(c: &'a ContainerResult, rule: &RuleRef) -> RuleResult<'a> {
    let findings: Vec<_> = c
        .verdict
        .findings
        .iter()
        .filter(|f| f.rule == *rule)
        .collect();
    let live = findings.iter().filter(|f| f.exempted.is_none());
    let result = if live.clone().any(|f| f.action == Action::Deny) {
        "fail"
    } else if live.clone().any(|f| f.action == Action::Warn) {
        "warn"
    } else {
        "pass"
    };
    RuleResult {
        container: container(c),
        rule: rule.id().to_string(),
        result,
        findings: findings
            .into_iter()
            .map(|f| FindingEntry {
                action: f.action.name(),
                field: &f.field,
                message: &f.message,
                fix: f.fix(),
                exempted: f.exempted.as_deref(),
                note: f.note.as_deref(),
                would_deny: f.would_deny,
                location: c.location_of(f).map(ToString::to_string),
            })
            .collect(),
    }
}

/// Renders a scan report as one JSON document.
pub fn render(report: &ScanReport) -> String {
    let all = report.all_rules();
    let document = Document {
        schema: SCHEMA,
        time: &report.time,
        policy_hash: &report.policy_hash,
        summary: Summary {
            containers: report.containers.len(),
            violating: report.violating(),
            warnings: report.warning(),
        },
        results: report
            .containers
            .iter()
            .flat_map(|c| all.iter().map(move |r| result_for(c, r)))
            .collect(),
        remediations: report
            .containers
            .iter()
            .filter_map(|c| {
                c.remediation.as_ref().map(|r| RemediationEntry {
                    container: container(c),
                    remediation: r,
                })
            })
            .collect(),
        errors: report
            .unreadable()
            .map(|(location, message)| ErrorEntry {
                file: &location.file,
                line: location.line,
                column: location.col,
                message,
            })
            .collect(),
    };
    let mut text =
        crate::escape::harden_json(serde_json::to_string_pretty(&document).unwrap_or_else(|e| {
            format!("{{\"schema\":\"{SCHEMA}\",\"error\":\"cannot encode report: {e}\"}}")
        }));
    text.push('\n');
    text
}
