//! The message the daemon shows the client on a denial.

use dockgate_rules::Verdict;

use crate::escape;

/// The denial message of a verdict.
pub trait Denial {
    /// The message the daemon shows the client on a denial, e.g.
    /// `dockgate: denied by rule host-mount: bind mount of host path "/" at
    /// "/host" (HostConfig.Binds[0]); use a named volume, or ask an
    /// administrator to allow this path (dockgate explain host-mount)`.
    /// One part per denying finding, joined by ` | `, the first ten; each
    /// part escaped so that it is one line and holds no `|` of its own.
    fn denial_message(&self) -> String;
}

impl Denial for Verdict {
    fn denial_message(&self) -> String {
        let denials = self.denials().count();
        let mut parts: Vec<String> = self
            .denials()
            .take(escape::DENIAL_PARTS)
            .map(|f| {
                // Each value escaped and shortened on its own, so that a
                // long message cannot cut the rule or the fix out.
                let rule = escape::denial_part(f.rule.id());
                let mut part = format!(
                    "denied by rule {rule}: {}; {} (dockgate explain {rule})",
                    escape::denial_part(&f.located()),
                    escape::denial_part(f.fix()),
                );
                if let Some(note) = &f.note {
                    part.push_str("; ");
                    part.push_str(&escape::denial_part(note));
                }
                part
            })
            .collect();
        // Bounded: one request can carry thousands of findings.
        if denials > escape::DENIAL_PARTS {
            parts.push(format!(
                "{} more denials (the audit log has them all)",
                denials - escape::DENIAL_PARTS
            ));
        }
        format!("dockgate: {}", parts.join(" | "))
    }
}
