//! SARIF 2.1.0, for code scanning (GitHub and others): one rule descriptor
//! per dockgate rule, one result per finding, with file, line and column.

use dockgate_rules::{Action, Profile, RuleId};
use serde_json::{json, Value};

use crate::report::ScanReport;

fn level(action: Action) -> &'static str {
    match action {
        Action::Deny => "error",
        Action::Warn => "warning",
        Action::Audit | Action::Off => "note",
    }
}

/// `host-mount` → `HostMount`.
fn pascal(id: &str) -> String {
    id.split('-')
        .map(|part| {
            let mut chars = part.chars();
            match chars.next() {
                Some(first) => first.to_ascii_uppercase().to_string() + chars.as_str(),
                None => String::new(),
            }
        })
        .collect()
}

fn descriptor(rule: RuleId) -> Value {
    let doc = rule.doc();
    let help = format!(
        "{}\n\nWhy: {}\n\nFix: {}.\n\nParameters: {}.",
        doc.summary, doc.why, doc.fix, doc.parameters
    );
    json!({
        "id": rule.id(),
        "name": pascal(rule.id()),
        "shortDescription": { "text": doc.summary },
        "fullDescription": { "text": doc.why },
        "help": { "text": help, "markdown": format!("**{}**\n\n{}\n\n*Why:* {}\n\n*Fix:* {}.", rule.id(), doc.summary, doc.why, doc.fix) },
        "defaultConfiguration": { "level": level(rule.default_action(Profile::Baseline).max(Action::Audit)) },
        "properties": { "tags": ["security", "docker"] }
    })
}

/// Renders a check report as a SARIF log.
pub fn render(report: &ScanReport) -> String {
    let rules: Vec<Value> = RuleId::ALL.iter().map(|r| descriptor(*r)).collect();
    let mut results = Vec::new();
    for c in &report.containers {
        for f in &c.verdict.findings {
            if f.action == Action::Off {
                continue;
            }
            let mut result = json!({
                "ruleId": f.rule.id(),
                "ruleIndex": RuleId::ALL.iter().position(|r| *r == f.rule).unwrap_or(0),
                "level": level(f.action),
                "message": { "text": format!("{}: {}", c.name, f.located()) },
            });
            if let Some(location) = c.location_of(f) {
                let mut physical = json!({ "artifactLocation": { "uri": uri(&location.file) } });
                if location.line > 0 {
                    let mut region = json!({ "startLine": location.line });
                    if location.col > 0 {
                        region["startColumn"] = json!(location.col);
                    }
                    physical["region"] = region;
                }
                result["locations"] = json!([{ "physicalLocation": physical }]);
            }
            if let Some(reason) = &f.exempted {
                result["suppressions"] = json!([{ "kind": "external", "justification": reason }]);
            }
            results.push(result);
        }
    }
    let log = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "dockgate",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": rules,
            }},
            "results": results,
            "properties": { "policyHash": report.policy_hash },
        }]
    });
    let mut text = serde_json::to_string_pretty(&log).unwrap_or_default();
    text.push('\n');
    text
}

/// A relative path as a URI reference: percent-encode what URIs reserve.
fn uri(path: &str) -> String {
    let mut out = String::new();
    for byte in path.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => {
                out.push(byte as char)
            }
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_uris() {
        assert_eq!(pascal("host-mount"), "HostMount");
        assert_eq!(
            uri("dir with space/compose.yaml"),
            "dir%20with%20space/compose.yaml"
        );
    }
}
