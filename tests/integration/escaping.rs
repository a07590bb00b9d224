//! Whoever creates a container writes much of what dockgate prints about
//! it. Generated hostile strings go into every field an attacker sets
//! (mount targets, variable names, label and sysctl keys, devices,
//! capabilities, security options, the runtime, the image, the container's
//! name, the request's path and TLS user, a compose file's name), through
//! the gate's own reading of a create request, and out through every
//! format. Each format's own parser must read back exactly the structure
//! dockgate meant to write: a Monitoring Plugins output parser, serde_json,
//! a SARIF 2.1.0 structure check, an RFC 5424 parser, and the text
//! report's lines.

use dockgate_gate::Gate;
use dockgate_inputs::authz::AuthzRequest;
use dockgate_inputs::Location;
use dockgate_outputs::{json, nagios, sarif, syslog, text, AuditLog, AuditRecord, Denial};
use dockgate_outputs::{ContainerResult, ScanReport};
use dockgate_rules::{Action, Policy, Verdict};
use proptest::prelude::*;
use serde_json::{json, Value};

use crate::util::{captured_daemon, Dir};

/// Pieces that end lines, fields and sections in one format or another.
const PIECES: &[&str] = &[
    "|",
    "\n",
    "\r",
    "\r\n",
    "\u{1b}[31m",
    "\u{1b}]0;title\u{7}",
    "\0",
    "\"",
    "'",
    "]",
    "[",
    "](1)",
    "\\",
    "\u{202e}",
    "\u{2066}",
    "\u{200b}",
    "\u{2028}",
    "\u{9b}",
    "\u{85}",
    "\u{7f}",
    "\u{fffd}",
    "=",
    ";",
    " ",
    "x",
    "é",
    "-",
    "{",
    "}",
    "%",
    "#",
    "<14>1 ",
    "\\n",
    "\\t",
    "<a href=x>",
    "(OK)",
    "[CRITICAL]",
    "@@@@@@",
    "\u{61c}",
    "\u{e0041}",
    "\u{206f}",
    "\u{ad}",
    "\u{fe0f}",
];

fn hostile() -> impl Strategy<Value = String> {
    (
        prop::collection::vec(prop::sample::select(PIECES), 1..10),
        prop::option::weighted(0.2, 1500usize..3000),
    )
        .prop_map(|(pieces, long)| {
            let mut text = pieces.concat();
            if let Some(n) = long {
                text.push_str(&"L".repeat(n));
                text.push_str("END");
            }
            text
        })
}

/// Whether a character would end a line, drive a terminal, or reorder or
/// hide text: none may reach a line for people as itself.
fn hidden(c: char) -> bool {
    c.is_control()
        || ('\u{200b}'..='\u{200f}').contains(&c)
        || ('\u{2028}'..='\u{202e}').contains(&c)
        || ('\u{2060}'..='\u{206f}').contains(&c)
        || ('\u{e0000}'..='\u{e007f}').contains(&c)
        || ['\u{feff}', '\u{61c}', '\u{ad}', '\u{fe0f}'].contains(&c)
}

fn assert_plain(what: &str, text: &str) {
    assert!(
        !text.chars().any(hidden),
        "{what} holds a hidden character: {text:?}"
    );
}

/// Create requests, each with the hostile text in other fields.
fn requests(h: &str) -> Vec<AuthzRequest> {
    // The daemon splits a bind on ':' and reads ',' in --mount.
    let target = format!("/e{}", h.replace([':', ','], ""));
    let bodies = [
        json!({"Image": "testimg", "HostConfig": {"Binds": [format!("/etc:{target}")]}}),
        json!({"Image": "testimg", "User": "1000", "Env": [format!("{h}_PASSWORD=x")],
               "Labels": {h: "v"}, "HostConfig": {"Sysctls": {h: "1"}, "Annotations": {h: "x"}}}),
        json!({"Image": "testimg", "User": "1000", "HostConfig": {"CapAdd": [h], "SecurityOpt": [h],
               "Devices": [{"PathOnHost": format!("/dev/{h}"), "PathInContainer": "/dev/x", "CgroupPermissions": "rwm"}]}}),
        json!({"Image": "testimg", "User": "1000", "HostConfig": {"Runtime": h, "CgroupParent": h}}),
        json!({"Image": format!("img{h}"), "HostConfig": {"Privileged": true}}),
    ];
    bodies
        .iter()
        .map(|body| {
            let body = body.to_string();
            let mut request = AuthzRequest::new(
                "POST",
                "/v1.41/containers/create?name=web",
                Some(body.as_bytes()),
            );
            request.user = h.to_string();
            request.user_authn_method = "TLS".into();
            request
        })
        .chain(std::iter::once(AuthzRequest::new(
            "POST",
            &format!("/v1.41/{}/start", h.replace('?', "")),
            None,
        )))
        .collect()
}

fn decide_all(requests: &[AuthzRequest]) -> Vec<(Verdict, AuditRecord)> {
    let gate = Gate::new(Policy::default(), captured_daemon());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    requests
        .iter()
        .map(|r| runtime.block_on(gate.decide(r)))
        .collect()
}

/// One report holding each verdict as a container named and imaged by the
/// attacker, and found in a file of the attacker's name.
fn report(h: &str, verdicts: &[(Verdict, AuditRecord)]) -> ScanReport {
    let containers = verdicts
        .iter()
        .enumerate()
        .map(|(i, (verdict, _))| {
            let mut result =
                ContainerResult::running(format!("id{i}"), h.into(), h.into(), verdict.clone());
            result.origin = Some(Location {
                file: format!("{h}/compose.yaml"),
                line: 3,
                col: 5,
            });
            result
        })
        .collect();
    ScanReport {
        time: "2026-12-04T00:00:00Z".into(),
        policy_hash: "p".into(),
        rules: dockgate_patrol::evaluated_rules(&Policy::default()),
        checks: Vec::new(),
        containers,
    }
}

fn live(report: &ScanReport) -> usize {
    report
        .containers
        .iter()
        .map(|c| c.live_findings().count())
        .sum()
}

// -- The Monitoring Plugins output format --------------------------------

/// Plugin output as Icinga and Nagios read it (Nagios plugin API, "Plugin
/// Output Spec"): the first line's text up to `|`, then long text lines up
/// to the first line with a `|`, after which everything is performance
/// data.
struct PluginOutput {
    status: String,
    long: Vec<String>,
    perfdata: Vec<(String, String)>,
}

fn parse_plugin_output(out: &str) -> Result<PluginOutput, String> {
    let mut lines = out.lines();
    let first = lines.next().unwrap_or_default();
    let (status, mut perf) = match first.split_once('|') {
        Some((status, perf)) => (status.trim().to_string(), perf.to_string()),
        None => (first.to_string(), String::new()),
    };
    let mut long = Vec::new();
    let mut in_perf = false;
    for line in lines {
        if in_perf {
            perf.push(' ');
            perf.push_str(line);
        } else if let Some((text, rest)) = line.split_once('|') {
            long.push(text.to_string());
            perf.push(' ');
            perf.push_str(rest);
            in_perf = true;
        } else {
            long.push(line.to_string());
        }
    }
    Ok(PluginOutput {
        status,
        long,
        perfdata: parse_perfdata(&perf)?,
    })
}

/// `'label'=value;warn;crit;min;max` items, whitespace-separated; a label
/// with spaces is quoted.
fn parse_perfdata(text: &str) -> Result<Vec<(String, String)>, String> {
    let mut items = Vec::new();
    let mut rest = text.trim_start();
    while !rest.is_empty() {
        let (label, after) = if let Some(quoted) = rest.strip_prefix('\'') {
            let end = quoted
                .find("'=")
                .ok_or(format!("an unclosed label in {rest:?}"))?;
            (quoted[..end].to_string(), &quoted[end + 1..])
        } else {
            let end = rest.find('=').ok_or(format!("no = in {rest:?}"))?;
            (rest[..end].to_string(), &rest[end..])
        };
        let after = &after[1..];
        let end = after.find(char::is_whitespace).unwrap_or(after.len());
        let value = &after[..end];
        let number = value.split(';').next().unwrap_or_default();
        if number.parse::<f64>().is_err() {
            return Err(format!("perfdata value {value:?} of {label:?}"));
        }
        if label.contains(['=', '\''])
            || label.contains(char::is_whitespace) && !rest.starts_with('\'')
        {
            return Err(format!("label {label:?}"));
        }
        items.push((label, value.to_string()));
        rest = after[end..].trim_start();
    }
    Ok(items)
}

fn check_nagios(report: &ScanReport) {
    let (out, _) = nagios::render(report, &nagios::Thresholds::default());
    let parsed = parse_plugin_output(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    assert!(parsed.status.starts_with("DOCKGATE "), "{}", parsed.status);
    assert_plain("the status line", &parsed.status);
    // Every finding is a long text line of its own; none became
    // performance data, and no line is left over.
    assert_eq!(parsed.long.len(), live(report), "{out}");
    let mut expected = Vec::new();
    for c in &report.containers {
        for f in c.live_findings() {
            expected.push(format!("{} {}: ", f.shown_action(), f.rule));
        }
    }
    for (line, prefix) in parsed.long.iter().zip(&expected) {
        assert_plain("a long text line", line);
        // Icinga Web shows `\n` and `\t` as line breaks and tabs, and
        // renders what looks like HTML.
        assert!(
            !line.contains("\\n") && !line.contains("\\t") && !line.contains(['<', '>']),
            "{line:?}"
        );
        // ... and draws state marks and rules in place of these.
        for mark in ["(OK)", "[OK]", "(CRITICAL)", "[CRITICAL]", "@@"] {
            assert!(!line.contains(mark), "{line:?}");
        }
        assert!(
            line.contains(prefix.as_str()),
            "{:?}… lacks {prefix:?}",
            &line.chars().take(300).collect::<String>()
        );
    }
    let mut labels: Vec<&str> = parsed.perfdata.iter().map(|(l, _)| l.as_str()).collect();
    let mut meant: Vec<String> = ["containers", "violating", "warnings", "would_deny"]
        .iter()
        .map(|s| s.to_string())
        .chain(
            report
                .containers_by_rule()
                .keys()
                .map(|r| r.id().to_string()),
        )
        .collect();
    labels.sort_unstable();
    meant.sort_unstable();
    assert_eq!(labels, meant);
}

// -- The text report and check's output ----------------------------------

fn check_text(report: &ScanReport) {
    let out = text::render(report);
    let lines: Vec<&str> = out.lines().collect();
    // The header, a row per finding, a blank line, the summary.
    let findings: usize = report
        .containers
        .iter()
        .map(|c| c.verdict.findings.len())
        .sum();
    assert_eq!(lines.len(), findings + 3, "{out}");
    assert!(lines[0].starts_with("CONTAINER"));
    assert_eq!(lines[findings + 1], "");
    for line in &lines {
        assert_plain("a text line", line);
        assert!(
            line.chars().count() < 4 * 1024,
            "a line of {} characters",
            line.len()
        );
    }

    let out = text::render_check(report);
    let lines: Vec<&str> = out.lines().collect();
    let notes = report.findings().filter(|(_, f)| f.note.is_some()).count();
    assert_eq!(lines.len(), 2 * findings + notes + 1, "{out}");
    for line in &lines {
        assert_plain("a line of check's output", line);
    }
}

// -- JSON and SARIF --------------------------------------------------------

/// JSON keeps every value whole.
fn check_json(report: &ScanReport) {
    let out = json::render(report);
    assert_plain("the JSON report", &out.replace('\n', ""));
    let document: Value = serde_json::from_str(&out).unwrap();
    let mut messages: Vec<&str> = document["results"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| r["findings"].as_array().unwrap())
        .map(|f| f["message"].as_str().unwrap())
        .collect();
    let mut meant: Vec<&str> = report.findings().map(|(_, f)| f.message.as_str()).collect();
    messages.sort_unstable();
    meant.sort_unstable();
    assert_eq!(messages, meant);
    for result in document["results"].as_array().unwrap() {
        assert_eq!(
            result["container"]["name"],
            report.containers[0].name.as_str()
        );
    }
}

/// The parts of SARIF 2.1.0 dockgate writes, as its schema requires them.
fn sarif_structure(log: &Value) -> Result<(), String> {
    let text = |v: &Value, what: &str| {
        v.as_str()
            .map(|_| ())
            .ok_or(format!("{what} is not a string"))
    };
    if log["version"] != "2.1.0" {
        return Err("version".into());
    }
    let runs = log["runs"].as_array().ok_or("runs")?;
    for run in runs {
        text(&run["tool"]["driver"]["name"], "tool.driver.name")?;
        let rules = run["tool"]["driver"]["rules"].as_array().ok_or("rules")?;
        for rule in rules {
            text(&rule["id"], "rule id")?;
        }
        for result in run["results"].as_array().ok_or("results")? {
            text(&result["message"]["text"], "result message")?;
            text(&result["ruleId"], "ruleId")?;
            let index = result["ruleIndex"].as_u64().ok_or("ruleIndex")? as usize;
            if rules.get(index).map(|r| &r["id"]) != Some(&result["ruleId"]) {
                return Err(format!("ruleIndex {index} names another rule"));
            }
            if !matches!(
                result["level"].as_str(),
                Some("none" | "note" | "warning" | "error")
            ) {
                return Err("level".into());
            }
            for location in result["locations"].as_array().into_iter().flatten() {
                let artifact = &location["physicalLocation"]["artifactLocation"];
                let uri = artifact["uri"].as_str().ok_or("uri")?;
                // A URI reference: nothing a URI reserves is left bare.
                if !uri
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-._~/%".contains(&b))
                {
                    return Err(format!("uri {uri:?} is not percent-encoded"));
                }
                if location["physicalLocation"]["region"]["startLine"].as_u64() == Some(0) {
                    return Err("startLine 0".into());
                }
            }
        }
    }
    Ok(())
}

/// A SARIF message's text as a viewer shows it (section 3.11.6), or why
/// it holds an embedded link.
fn sarif_unescape(text: &str) -> Result<String, String> {
    let mut out = String::new();
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push(chars.next().ok_or("a trailing backslash")?),
            '[' | ']' => return Err(format!("an unescaped {c:?} in {text:?}")),
            c => out.push(c),
        }
    }
    Ok(out)
}

fn check_sarif(report: &ScanReport) {
    let out = sarif::render(report);
    let log: Value = serde_json::from_str(&out).unwrap();
    sarif_structure(&log).unwrap();
    let results = log["runs"][0]["results"].as_array().unwrap();
    let meant: Vec<String> = report
        .findings()
        .filter(|(_, f)| f.action != Action::Off)
        .map(|(c, f)| format!("{}: {}", c.name, f.located()))
        .collect();
    let shown: Vec<String> = results
        .iter()
        .map(|r| sarif_unescape(r["message"]["text"].as_str().unwrap()).unwrap())
        .collect();
    assert_eq!(shown, meant);
}

// -- The audit log and syslog ---------------------------------------------

/// An RFC 5424 message: its header fields, structured data and message.
struct Syslog5424 {
    header: Vec<String>,
    sd: Vec<(String, Vec<(String, String)>)>,
    msg: String,
}

fn parse_5424(message: &str) -> Result<Syslog5424, String> {
    let rest = message.strip_prefix('<').ok_or("PRI")?;
    let (pri, rest) = rest.split_once('>').ok_or("PRI")?;
    if pri.is_empty() || pri.len() > 3 || !pri.bytes().all(|b| b.is_ascii_digit()) {
        return Err("PRI".into());
    }
    let rest = rest.strip_prefix("1 ").ok_or("VERSION")?;
    let mut header = Vec::new();
    let mut rest = rest;
    // TIMESTAMP HOSTNAME APP-NAME PROCID MSGID: PRINTUSASCII, no spaces.
    for (name, max) in [
        ("TIMESTAMP", 64),
        ("HOSTNAME", 255),
        ("APP-NAME", 48),
        ("PROCID", 128),
        ("MSGID", 32),
    ] {
        let (field, after) = rest.split_once(' ').ok_or(name)?;
        if field.is_empty() || field.len() > max || !field.bytes().all(|b| (33..=126).contains(&b))
        {
            return Err(format!("{name} {field:?}"));
        }
        header.push(field.to_string());
        rest = after;
    }
    let mut sd = Vec::new();
    let mut chars = rest.chars().peekable();
    if chars.peek() == Some(&'-') {
        chars.next();
    } else {
        while chars.peek() == Some(&'[') {
            chars.next();
            let mut id = String::new();
            while let Some(&c) = chars.peek() {
                if c == ' ' || c == ']' {
                    break;
                }
                id.push(c);
                chars.next();
            }
            let mut params = Vec::new();
            while chars.peek() == Some(&' ') {
                chars.next();
                let mut name = String::new();
                for c in chars.by_ref() {
                    if c == '=' {
                        break;
                    }
                    if c == ' ' || c == ']' || c == '"' || !c.is_ascii_graphic() {
                        return Err(format!("PARAM-NAME {name:?}"));
                    }
                    name.push(c);
                }
                if chars.next() != Some('"') {
                    return Err("PARAM-VALUE opens with a quote".into());
                }
                let mut value = String::new();
                loop {
                    match chars.next().ok_or("an unterminated PARAM-VALUE")? {
                        '\\' => match chars.next().ok_or("a trailing backslash")? {
                            c @ ('"' | '\\' | ']') => value.push(c),
                            c => {
                                value.push('\\');
                                value.push(c);
                            }
                        },
                        '"' => break,
                        ']' => return Err("an unescaped ] in a PARAM-VALUE".into()),
                        c => value.push(c),
                    }
                }
                params.push((name, value));
            }
            if chars.next() != Some(']') {
                return Err("SD-ELEMENT closes with ]".into());
            }
            sd.push((id, params));
        }
    }
    let msg: String = chars.collect();
    let msg = msg.strip_prefix(' ').unwrap_or(&msg).to_string();
    Ok(Syslog5424 { header, sd, msg })
}

fn check_audit_and_syslog(h: &str, decided: &[(Verdict, AuditRecord)]) {
    let dir = Dir::new("escaping");
    let path = dir.path().join("audit.log");
    let log = AuditLog::open(Some(&path), false).unwrap();
    for (_, record) in decided {
        log.write(record).unwrap();
    }
    log.finish();
    let written = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<&str> = written.lines().collect();
    // One line a record, every value whole.
    assert_eq!(lines.len(), decided.len());
    for (line, (verdict, record)) in lines.iter().zip(decided) {
        assert_plain("an audit record", line);
        let read: Value = serde_json::from_str(line).unwrap();
        assert_eq!(read, serde_json::to_value(record).unwrap());
        assert_eq!(
            read["findings"].as_array().unwrap().len(),
            verdict.findings.len()
        );

        let message = String::from_utf8(syslog::format_5424(record, line)).unwrap();
        let parsed = parse_5424(&message).unwrap_or_else(|e| panic!("{e}: {message:?}"));
        assert_eq!(parsed.header[2], "dockgate");
        assert_eq!(parsed.sd.len(), 1, "{message:?}");
        let (id, params) = &parsed.sd[0];
        assert_eq!(id, "dockgate@32473");
        let names: Vec<&str> = params.iter().map(|(n, _)| n.as_str()).collect();
        let mut meant = vec![
            "source", "decision", "endpoint", "method", "rules", "policy",
        ];
        if !record.user.is_empty() {
            meant.push("user");
        }
        if record.container.is_some() {
            meant.push("container");
        }
        if record.image.is_some() {
            meant.push("image");
        }
        assert_eq!(names, meant, "{message:?}");
        for (name, value) in params {
            assert_plain(name, value);
        }
        let user = params.iter().find(|(n, _)| n == "user").map(|(_, v)| v);
        if !h.chars().any(hidden) && h.chars().count() <= 128 && !record.user.is_empty() {
            assert_eq!(user, Some(&h.to_string()));
        }
        // The message is the record's line, whole, or when that would not
        // fit a receiver's 8 KiB, a shorter record that says so.
        assert!(message.len() <= 8 * 1024, "{} bytes", message.len());
        let msg: Value = serde_json::from_str(&parsed.msg).unwrap();
        if line.len() <= 4 * 1024 {
            assert_eq!(msg, read);
        } else {
            assert_eq!(msg["shortened_from"], line.len());
            assert_eq!(msg["rules"], read["rules"]);
            let kept = msg["findings"].as_array().unwrap();
            for (short, whole) in kept.iter().zip(read["findings"].as_array().unwrap()) {
                assert_eq!(short["rule"], whole["rule"]);
            }
        }
    }
}

// -- Denial messages -------------------------------------------------------

fn check_denials(decided: &[(Verdict, AuditRecord)]) {
    for (verdict, _) in decided {
        let message = verdict.denial_message();
        assert_plain("a denial message", &message);
        let body = message.strip_prefix("dockgate: ").unwrap();
        let parts: Vec<&str> = body.split(" | ").collect();
        let denials: Vec<_> = verdict.denials().collect();
        assert_eq!(parts.len(), denials.len().min(10), "{message}");
        for (part, finding) in parts.iter().zip(denials) {
            let prefix = format!("denied by rule {}: ", finding.rule);
            assert!(part.starts_with(&prefix), "{part:?}");
            assert!(!part.contains('|'), "{part:?}");
        }
    }
}

fn check_everything(h: &str) {
    let decided = decide_all(&requests(h));
    let report = report(h, &decided);
    check_denials(&decided);
    check_audit_and_syslog(h, &decided);
    check_text(&report);
    check_nagios(&report);
    check_json(&report);
    check_sarif(&report);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn no_attacker_text_changes_what_a_format_reads(h in hostile()) {
        check_everything(&h);
    }
}

/// The string of the issue, and the findings it carries into the outputs:
/// without escaping it cuts the Nagios long output at the `|`.
#[test]
fn a_bind_target_with_a_bar_keeps_every_finding_in_the_monitoring_output() {
    let decided = decide_all(&requests("|x\n\u{1b}[2J"));
    let bind = &decided[0].0;
    let message = &bind
        .findings
        .iter()
        .find(|f| f.rule.id() == "host-mount")
        .expect("a host-mount finding")
        .message;
    assert!(message.contains(r#""/e|x\n\u{1b}[2J""#), "{message}");
    let report = report("web", &decided);
    let (out, _) = nagios::render(&report, &nagios::Thresholds::default());
    let parsed = parse_plugin_output(&out).unwrap();
    assert_eq!(parsed.long.len(), live(&report), "{out}");
    assert!(
        parsed.long[0].contains(r#"of host path "/etc" at "/e\u{7c}x\u{a}\u{1b}[2J""#),
        "{}",
        parsed.long[0]
    );
    check_everything("|x\n\u{1b}[2J");
}

/// A request with thousands of findings: the denial names ten, the
/// syslog message holds what fits, the audit log has them all.
#[test]
fn many_findings_stay_bounded_where_people_read_them() {
    let caps: Vec<String> = (0..3000).map(|i| format!("CAP_X{i}")).collect();
    let body =
        json!({"Image": "testimg", "User": "1000", "HostConfig": {"CapAdd": caps}}).to_string();
    let request = AuthzRequest::new("POST", "/v1.41/containers/create", Some(body.as_bytes()));
    let decided = decide_all(&[request]);
    let (verdict, record) = &decided[0];
    let denials = verdict.denials().count();
    assert!(denials >= 3000, "{denials}");
    let message = verdict.denial_message();
    let parts: Vec<&str> = message.split(" | ").collect();
    assert_eq!(parts.len(), 11);
    assert_eq!(
        parts[10],
        format!("{} more denials (the audit log has them all)", denials - 10)
    );
    check_audit_and_syslog("", &decided);
    assert!(serde_json::to_string(record).unwrap().len() > 100 * 1024);
}

/// The checks can fail: unescaped, a `|` in a long text line turns the
/// rest into performance data, and a quote ends an RFC 5424 value.
#[test]
fn the_parsers_see_what_escaping_prevents() {
    let raw = "DOCKGATE CRITICAL: 2 bad | containers=2;;;0;\nweb: deny host-mount: at \"/e|x\"\nweb: deny privileged: privileged\n";
    assert_eq!(
        parse_plugin_output(raw).err().as_deref(),
        Some(r#"no = in "x\" web: deny privileged: privileged""#)
    );
    assert!(parse_5424("<84>1 t h dockgate 1 gate [x@1 user=\"a\"b\"] {}").is_err());
    assert!(sarif_unescape("web: see [this](1)").is_err());
}
