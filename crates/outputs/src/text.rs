//! A table for people: one row per finding, then a summary line.

use std::fmt::Write as _;

use crate::report::{RemediationOutcome, ScanReport};

/// Renders a scan report as an aligned table.
pub fn render(report: &ScanReport) -> String {
    let mut rows: Vec<[String; 5]> = vec![[
        "CONTAINER".into(),
        "IMAGE".into(),
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
                c.name.clone(),
                c.image.clone(),
                f.rule.id().into(),
                action,
                message,
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
            let _ = match &r.outcome {
                RemediationOutcome::Done => {
                    writeln!(out, "{}d {} ({})", r.action, c.name, short(&c.id))
                }
                RemediationOutcome::DryRun => {
                    writeln!(out, "would {} {} ({})", r.action, c.name, short(&c.id))
                }
                RemediationOutcome::Failed(e) => {
                    writeln!(
                        out,
                        "failed to {} {} ({}): {e}",
                        r.action,
                        c.name,
                        short(&c.id)
                    )
                }
            };
        }
    }
    let _ = writeln!(out, "{}", summary(report));
    out
}

fn short(id: &str) -> &str {
    &id[..id.len().min(12)]
}

/// `2 of 14 containers violate the policy (host-mount, privileged)`.
pub fn summary(report: &ScanReport) -> String {
    let total = report.containers.len();
    let violating = report.violating();
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
            report.violated_rules().join(", ")
        )
    }
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
            let _ = writeln!(out, "{location}: {action} {}: {}", f.rule, f.located());
            let _ = writeln!(out, "    fix: {}", f.fix());
            if let Some(note) = &f.note {
                let _ = writeln!(out, "    note: {note}");
            }
        }
    }
    let _ = writeln!(out, "{}", summary(report));
    out
}
