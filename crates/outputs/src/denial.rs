//! The message the daemon shows the client on a denial.

use dockgate_rules::Verdict;

use crate::escape;

/// The denial message of a verdict.
pub trait Denial {
    /// The message the daemon shows the client on a denial, e.g.
    /// `dockgate: denied by rule host-mount: bind mount of host path "/" at
    /// "/host" (HostConfig.Binds[0]); use a named volume, or ask an
    /// administrator to allow this path (dockgate explain host-mount)`.
    /// One part per denying finding, joined by ` | `; each part escaped so
    /// that it is one line and holds no `|` of its own.
    fn denial_message(&self) -> String;
}

impl Denial for Verdict {
    fn denial_message(&self) -> String {
        let parts: Vec<String> = self
            .denials()
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
        format!("dockgate: {}", parts.join(" | "))
    }
}
