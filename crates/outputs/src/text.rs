//! A table for people: one row per finding, then a summary line.

use std::fmt::Write as _;

use crate::escape;
use crate::report::{ContainerResult, RemediationOutcome, ScanReport};

/// Renders a scan report as an aligned table.
pub fn render(report: &ScanReport) -> String {
    let hosts = report.containers.iter().filter(|c| c.is_host).count();
    let (subject, image) = match (hosts, report.containers.len() - hosts) {
        (0, _) => ("CONTAINER", "IMAGE"),
        (_, 0) => ("HOST", "DAEMON"),
        _ => ("SUBJECT", "IMAGE"),
    };
    let mut rows: Vec<[String; 5]> = vec![[
        subject.into(),
        image.into(),
        "RULE".into(),
        "ACTION".into(),
        "MESSAGE".into(),
    ]];
    for c in &report.containers {
        for f in &c.verdict.findings {
            let action = f.shown_action();
            let mut message = f.located();
            if let Some(reason) = &f.exempted {
                message.push_str(&format!(" [exempted: {reason}]"));
            }
            if let Some(note) = &f.note {
                message.push_str(&format!(" [{note}]"));
            }
            rows.push([
                escape::line(&c.name),
                escape::line(&c.image),
                escape::line(f.rule.id()),
                action,
                escape::line(&message),
            ]);
        }
    }
    let mut widths = [0usize; 4];
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row.iter()) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    if rows.len() > 1 {
        for row in &rows {
            for (i, cell) in row.iter().take(4).enumerate() {
                let _ = write!(out, "{cell:<width$}  ", width = widths[i]);
            }
            let _ = writeln!(out, "{}", row[4]);
        }
        out.push('\n');
    }
    for c in &report.containers {
        if let Some(r) = &c.remediation {
            let name = escape::line(&c.name);
            let _ = match &r.outcome {
                RemediationOutcome::Done => {
                    writeln!(out, "{}d {name} ({})", r.action, short(&c.id))
                }
                RemediationOutcome::DryRun => {
                    writeln!(out, "would {} {name} ({})", r.action, short(&c.id))
                }
                RemediationOutcome::Failed(e) => {
                    writeln!(
                        out,
                        "failed to {} {name} ({}): {}",
                        r.action,
                        short(&c.id),
                        escape::line(e)
                    )
                }
            };
        }
    }
    let _ = writeln!(out, "{}", escape::line(&summary(report)));
    out
}

fn short(id: &str) -> &str {
    &id[..id.len().min(12)]
}

/// `2 of 14 containers violate the policy (host-mount, privileged)`, and
/// for a host audit `the host fails its audit (audit/gate-installed)`.
pub fn summary(report: &ScanReport) -> String {
    let containers: Vec<&ContainerResult> =
        report.containers.iter().filter(|c| !c.is_host).collect();
    let hosts: Vec<&ContainerResult> = report.containers.iter().filter(|c| c.is_host).collect();
    let mut parts = Vec::new();
    if !containers.is_empty() || hosts.is_empty() {
        parts.push(containers_summary(&containers));
    }
    for host in hosts {
        parts.push(if host.violates() {
            format!(
                "the host fails its audit ({})",
                violated_rules(std::slice::from_ref(&host)).join(", ")
            )
        } else if host.warns() {
            "the host passes its audit's critical checks, with warnings".to_string()
        } else {
            "the host passes its audit".to_string()
        });
    }
    parts.join("; ")
}

fn containers_summary(containers: &[&ContainerResult]) -> String {
    let total = containers.len();
    let violating = containers.iter().filter(|c| c.violates()).count();
    let noun = if total == 1 {
        "container"
    } else {
        "containers"
    };
    if violating == 0 {
        let verb = if total == 1 { "complies" } else { "comply" };
        format!("{total} {noun} {verb} with the policy")
    } else {
        let verb = if violating == 1 {
            "violates"
        } else {
            "violate"
        };
        format!(
            "{violating} of {total} {noun} {verb} the policy ({})",
            violated_rules(containers).join(", ")
        )
    }
}

/// The ids of the rules that deny at least one of `subjects`, sorted.
fn violated_rules<'a>(subjects: &[&'a ContainerResult]) -> Vec<&'a str> {
    let mut ids: Vec<&str> = subjects
        .iter()
        .flat_map(|c| c.verdict.denials().map(|f| f.rule.id()))
        .collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}

/// Renders findings in files as `file:line:col: action rule: message`,
/// each followed by its fix, then the summary.
pub fn render_check(report: &ScanReport) -> String {
    let mut out = String::new();
    for c in &report.containers {
        for f in &c.verdict.findings {
            let location = c
                .location_of(f)
                .map(ToString::to_string)
                .unwrap_or_else(|| c.name.clone());
            let action = f.shown_action();
            let _ = writeln!(
                out,
                "{}: {action} {}: {}",
                escape::line(&location),
                escape::line(f.rule.id()),
                escape::line(&f.located())
            );
            let _ = writeln!(out, "    fix: {}", escape::line(f.fix()));
            if let Some(note) = &f.note {
                let _ = writeln!(out, "    note: {}", escape::line(note));
            }
        }
    }
    let _ = writeln!(out, "{}", escape::line(&summary(report)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use dockgate_model::host::DaemonHost;
    use dockgate_rules::Verdict;

    fn report(subjects: Vec<ContainerResult>) -> ScanReport {
        ScanReport {
            time: String::new(),
            policy_hash: String::new(),
            rules: Vec::new(),
            checks: Vec::new(),
            containers: subjects,
        }
    }

    /// A host with no authorization plugin: the audit fails it.
    fn unguarded_host() -> ContainerResult {
        let host = DaemonHost {
            gate: dockgate_model::host::GateFacts {
                plugin: "dockgate".into(),
                ..Default::default()
            },
            ..DaemonHost::default()
        };
        ContainerResult::host(
            "unix:///run/docker.sock".into(),
            "node1".into(),
            "dockerd 26.1.5".into(),
            dockgate_rules::audit::audit(&host),
        )
    }

    #[test]
    fn the_host_is_named_a_host() {
        let audit = render(&report(vec![unguarded_host()]));
        assert!(audit.starts_with("HOST   DAEMON          RULE"), "{audit}");
        assert!(
            audit.ends_with("\nthe host fails its audit (audit/gate-installed)\n"),
            "{audit}"
        );

        let container = ContainerResult::running(
            "c1".into(),
            "web".into(),
            "nginx".into(),
            Verdict::unreadable("bad"),
        );
        let scan = render(&report(vec![unguarded_host(), container.clone()]));
        assert!(scan.starts_with("SUBJECT  IMAGE"), "{scan}");
        assert!(
            scan.ends_with("\n1 of 1 container violates the policy (unreadable-request); the host fails its audit (audit/gate-installed)\n"),
            "{scan}"
        );
        assert!(render(&report(vec![container])).starts_with("CONTAINER  IMAGE"));
    }
}
