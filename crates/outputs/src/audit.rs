//! The audit log: one JSON line per decision.
//!
//! Records never hold environment values, request bodies, query strings
//! (build arguments can carry secrets) or registry credentials: only what
//! the decision was about and why.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::Path;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use dockgate_inputs::authz::AuthzRequest;
use dockgate_rules::{Decision, Finding, Verdict};
use serde::Serialize;

/// One decision, as written to the log.
#[derive(Debug, Clone, Serialize)]
pub struct AuditRecord {
    /// RFC 3339 UTC time.
    pub time: String,
    /// What wrote the record: `gate` or `patrol`.
    pub source: &'static str,
    /// The TLS user, empty without TLS.
    pub user: String,
    /// The HTTP method.
    pub method: String,
    /// The decoded path without version or query.
    pub path: String,
    /// The endpoint name (`container.create`).
    pub endpoint: String,
    /// The container (or volume, plugin...) the request is about.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container: Option<String>,
    /// The image, where the request names one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// Allow or deny.
    pub decision: Decision,
    /// Ids of the rules with findings.
    pub rules: Vec<&'static str>,
    /// Every finding.
    pub findings: Vec<Finding>,
    /// The policy in force.
    pub policy_hash: String,
}

impl AuditRecord {
    /// A record for a request, before anything is known about it.
    pub fn begin(request: &AuthzRequest, policy_hash: &str) -> AuditRecord {
        AuditRecord {
            time: now_rfc3339(),
            source: "gate",
            user: request.user.clone(),
            method: request.method.clone(),
            // Never the query: build arguments can carry secrets.
            path: request
                .uri
                .split('?')
                .next()
                .unwrap_or_default()
                .to_string(),
            endpoint: "unreadable".to_string(),
            container: None,
            image: None,
            decision: Decision::Deny,
            rules: Vec::new(),
            findings: Vec::new(),
            policy_hash: policy_hash.to_string(),
        }
    }

    /// A record of something the patrol did (or would do) to a container:
    /// `action` is `stop` or `remove`, prefixed `dry-run ` when nothing was
    /// done.
    pub fn patrol(
        action: &str,
        container: &str,
        image: &str,
        verdict: &Verdict,
        policy_hash: &str,
    ) -> AuditRecord {
        AuditRecord {
            time: now_rfc3339(),
            source: "patrol",
            user: String::new(),
            method: action.to_string(),
            path: String::new(),
            endpoint: format!("patrol.{}", action.trim_start_matches("dry-run ")),
            container: Some(container.to_string()),
            image: Some(image.to_string()).filter(|i| !i.is_empty()),
            decision: verdict.decision,
            rules: verdict.rule_ids(),
            findings: verdict.findings.clone(),
            policy_hash: policy_hash.to_string(),
        }
    }

    /// Fills in the verdict.
    pub fn finish(mut self, verdict: &Verdict) -> AuditRecord {
        self.decision = verdict.decision;
        self.rules = verdict.rule_ids();
        self.findings = verdict.findings.clone();
        self
    }
}

/// Where records go: stdout, and a file when one is configured.
pub struct AuditLog {
    file: Option<Mutex<File>>,
    stdout: bool,
    syslog: Option<crate::syslog::Syslog>,
}

impl AuditLog {
    /// Writes to stdout and, if given, appends to `path`.
    pub fn open(path: Option<&Path>, stdout: bool) -> io::Result<AuditLog> {
        let file = match path {
            Some(p) => Some(Mutex::new(
                OpenOptions::new().create(true).append(true).open(p)?,
            )),
            None => None,
        };
        Ok(AuditLog {
            file,
            stdout,
            syslog: None,
        })
    }

    /// Also sends every record to syslog.
    pub fn with_syslog(mut self, syslog: crate::syslog::Syslog) -> AuditLog {
        self.syslog = Some(syslog);
        self
    }

    /// Writes one record as one line. A write error is reported on stderr
    /// and never changes the decision, which was made before.
    pub fn write(&self, record: &AuditRecord) {
        let mut line = match serde_json::to_vec(record) {
            Ok(line) => line,
            Err(err) => {
                eprintln!("dockgate: cannot encode audit record: {err}");
                return;
            }
        };
        if let Some(syslog) = &self.syslog {
            syslog.send(record, &String::from_utf8_lossy(&line));
        }
        line.push(b'\n');
        if self.stdout {
            let mut out = io::stdout().lock();
            if let Err(err) = out.write_all(&line).and_then(|_| out.flush()) {
                eprintln!("dockgate: cannot write audit record to stdout: {err}");
            }
        }
        if let Some(file) = &self.file {
            let mut file = file.lock().unwrap_or_else(|e| e.into_inner());
            if let Err(err) = file.write_all(&line) {
                eprintln!("dockgate: cannot write audit record: {err}");
            }
        }
    }
}

/// The current time as RFC 3339 UTC with milliseconds.
pub fn now_rfc3339() -> String {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    format_rfc3339(since.as_secs() as i64, since.subsec_millis())
}

/// Formats seconds since the epoch (civil-from-days, proleptic Gregorian).
pub fn format_rfc3339(secs: i64, millis: u32) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (h, m, s) = (rem / 3600, (rem % 3600) / 60, rem % 60);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    if !(0..=9999).contains(&year) {
        return format!("{year:04}-{month:02}-{day:02}T{h:02}:{m:02}:{s:02}.{millis:03}Z");
    }
    // Every audit record carries one: digits by hand cost a tenth of
    // `format!`'s machinery.
    let mut out = [0u8; 24];
    let mut put = |at: usize, value: i64, width: usize| {
        let mut v = value;
        for i in (0..width).rev() {
            out[at + i] = b'0' + (v % 10) as u8;
            v /= 10;
        }
    };
    put(0, year, 4);
    put(5, month, 2);
    put(8, day, 2);
    put(11, h, 2);
    put(14, m, 2);
    put(17, s, 2);
    put(20, i64::from(millis.min(999)), 3);
    for (at, sep) in [
        (4, b'-'),
        (7, b'-'),
        (10, b'T'),
        (13, b':'),
        (16, b':'),
        (19, b'.'),
        (23, b'Z'),
    ] {
        out[at] = sep;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_dates() {
        assert_eq!(format_rfc3339(0, 0), "1970-01-01T00:00:00.000Z");
        assert_eq!(format_rfc3339(951_782_400, 5), "2000-02-29T00:00:00.005Z");
        assert_eq!(format_rfc3339(1_795_910_400, 0), "2026-11-29T00:00:00.000Z");
        assert_eq!(
            format_rfc3339(1_795_958_297, 999),
            "2026-11-29T13:18:17.999Z"
        );
        assert_eq!(format_rfc3339(-1, 0), "1969-12-31T23:59:59.000Z");
    }
}
