//! SARIF 2.1.0, for code scanning (GitHub and others): one rule descriptor
//! per dockgate rule, one result per finding, with file, line and column.

use dockgate_rules::{Action, Profile, RuleId};
use serde_json::{json, Value};

use dockgate_inputs::Location;

use crate::escape;
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
    let mut rules: Vec<Value> = RuleId::ALL.iter().map(|r| descriptor(*r)).collect();
    let mut ids: Vec<String> = RuleId::ALL.iter().map(|r| r.id().to_string()).collect();
    for rule in report
        .all_rules()
        .into_iter()
        .filter(|r| r.builtin().is_none())
    {
        rules.push(json!({
            "id": rule.id(),
            "name": pascal(&rule.id().replace('/', "-")),
            "shortDescription": { "text": format!("Custom rule {} (the policy's Rego files)", rule.id()) },
            "properties": { "tags": ["security", "docker", "custom"] }
        }));
        ids.push(rule.id().to_string());
    }
    let mut results = Vec::new();
    for c in &report.containers {
        for f in &c.verdict.findings {
            if f.action == Action::Off {
                continue;
            }
            let mut result = json!({
                "ruleId": f.rule.id(),
                "ruleIndex": ids.iter().position(|id| id == f.rule.id()).unwrap_or(0),
                "level": level(f.action),
                "message": { "text": escape::sarif_text(&format!("{}: {}", c.name, f.located())) },
            });
            if let Some(location) = c.location_of(f) {
                result["locations"] = json!([physical_location(location)]);
            }
            if let Some(reason) = &f.exempted {
                result["suppressions"] = json!([{ "kind": "external", "justification": reason }]);
            }
            results.push(result);
        }
    }
    // An input that cannot be read is also a notification of the run, so
    // that code scanning shows the run as incomplete.
    let notifications: Vec<Value> = report
        .unreadable()
        .map(|(location, message)| {
            json!({
                "level": "error",
                "message": { "text": escape::sarif_text(message) },
                "locations": [physical_location(location)],
            })
        })
        .collect();
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
            "invocations": [{
                "executionSuccessful": notifications.is_empty(),
                "toolExecutionNotifications": notifications,
            }],
            "originalUriBaseIds": { SOURCE_ROOT: { "uri": source_root() } },
            "properties": { "policyHash": report.policy_hash },
        }]
    });
    let mut text = escape::harden_json(serde_json::to_string_pretty(&log).unwrap_or_default());
    text.push('\n');
    text
}

/// The base that result URIs are relative to: the working directory,
/// which in CI is the checkout.
const SOURCE_ROOT: &str = "%SRCROOT%";

fn source_root() -> String {
    let cwd = std::env::current_dir().unwrap_or_default();
    let mut root = format!("file://{}", uri(&cwd.display().to_string()));
    if !root.ends_with('/') {
        root.push('/');
    }
    root
}

/// A SARIF location: the file relative to the working directory, line and
/// column when known.
fn physical_location(location: &Location) -> Value {
    let mut physical = json!({
        "artifactLocation": { "uri": uri(&relative_to_cwd(&location.file)), "uriBaseId": SOURCE_ROOT }
    });
    if location.line > 0 {
        let mut region = json!({ "startLine": location.line });
        if location.col > 0 {
            region["startColumn"] = json!(location.col);
        }
        physical["region"] = region;
    }
    json!({ "physicalLocation": physical })
}

/// A path as seen from the working directory: `./a` is `a`, an absolute
/// path inside it loses the prefix, one outside it climbs with `..`.
fn relative_to_cwd(path: &str) -> String {
    let cwd = std::env::current_dir().unwrap_or_default();
    relative_to(path, &cwd.display().to_string())
}

fn relative_to(path: &str, base: &str) -> String {
    let absolute = if path.starts_with('/') {
        dockgate_model::clean_path(path)
    } else {
        dockgate_model::clean_path(&format!("{base}/{path}"))
    };
    let from: Vec<&str> = base.split('/').filter(|p| !p.is_empty()).collect();
    let to: Vec<&str> = absolute.split('/').filter(|p| !p.is_empty()).collect();
    let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
    let mut parts: Vec<&str> = vec![".."; from.len() - common];
    parts.extend(&to[common..]);
    parts.join("/")
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
        assert_eq!(relative_to("./a/compose.yaml", "/src"), "a/compose.yaml");
        assert_eq!(relative_to("/src/a/b.yml", "/src"), "a/b.yml");
        assert_eq!(relative_to("/etc/x.yml", "/src/repo"), "../../etc/x.yml");
        assert_eq!(relative_to("../other/c.yml", "/src/repo"), "../other/c.yml");
    }
}
