//! The audit log: one JSON line per decision.
//!
//! Records never hold environment values, request bodies, query strings
//! (build arguments can carry secrets) or registry credentials: only what
//! the decision was about and why.

use std::fs::{File, OpenOptions};
use std::io::{self, Seek, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use dockgate_inputs::AuthzRequest;
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
    /// The identity the policy knows the caller as (a TLS identity, a
    /// proxy socket's, the Unix socket's), where it defines identities.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identity: Option<String>,
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
    pub rules: Vec<String>,
    /// Every finding.
    pub findings: Vec<Finding>,
    /// The policy in force.
    pub policy_hash: String,
    /// Only in syslog: the record did not fit in a syslog message, so its
    /// values and findings were cut; this is its length in bytes in the
    /// audit log, where it is whole.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shortened_from: Option<usize>,
}

impl AuditRecord {
    /// A record for a request, before anything is known about it.
    pub fn begin(request: &AuthzRequest, policy_hash: &str) -> AuditRecord {
        AuditRecord {
            time: now_rfc3339(),
            source: "gate",
            user: request.user.clone(),
            identity: None,
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
            shortened_from: None,
        }
    }

    /// A record of what the host audit found on `host` (the daemon's
    /// address), written when it changed since the last audit.
    pub fn host_audit(host: &str, verdict: &Verdict) -> AuditRecord {
        AuditRecord {
            time: now_rfc3339(),
            source: "audit",
            user: String::new(),
            identity: None,
            method: "audit".to_string(),
            path: String::new(),
            endpoint: "audit.host".to_string(),
            container: Some(host.to_string()),
            image: None,
            decision: verdict.decision,
            rules: verdict.rule_ids(),
            findings: verdict.findings.clone(),
            policy_hash: String::new(),
            shortened_from: None,
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
            identity: None,
            method: action.to_string(),
            path: String::new(),
            endpoint: format!("patrol.{}", action.trim_start_matches("dry-run ")),
            container: Some(container.to_string()),
            image: Some(image.to_string()).filter(|i| !i.is_empty()),
            decision: verdict.decision,
            rules: verdict.rule_ids(),
            findings: verdict.findings.clone(),
            policy_hash: policy_hash.to_string(),
            shortened_from: None,
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

/// Where records go: stdout, a file when one is configured, and syslog.
pub struct AuditLog {
    file: Option<AuditFile>,
    stdout: bool,
    syslog: Option<crate::syslog::Syslog>,
}

/// A record that did not reach the audit file.
#[derive(Debug, thiserror::Error)]
#[error("cannot write the audit record to {path}: {source}")]
pub struct AuditError {
    /// The audit file.
    pub path: String,
    /// Why.
    pub source: io::Error,
}

impl AuditLog {
    /// Writes to stdout and, if given, appends to `path`; fails if the file
    /// cannot be opened.
    pub fn open(path: Option<&Path>, stdout: bool) -> io::Result<AuditLog> {
        let (log, opened) = AuditLog::open_or_retry(path, stdout);
        opened.map_err(|err| err.source)?;
        Ok(log)
    }

    /// Like [`AuditLog::open`], but a file that cannot be opened now is
    /// tried again on each write (at most once a second): a gate must not
    /// refuse to start, and lock every user out, over its audit file. The
    /// error says why it could not be opened.
    pub fn open_or_retry(path: Option<&Path>, stdout: bool) -> (AuditLog, Result<(), AuditError>) {
        let (file, opened) = match path {
            Some(path) => {
                let (file, opened) = AuditFile::open(path);
                (Some(file), opened)
            }
            None => (None, Ok(())),
        };
        let log = AuditLog {
            file,
            stdout,
            syslog: None,
        };
        (log, opened)
    }

    /// Waits, up to two seconds, for records queued for syslog to be sent.
    pub fn finish(self) {
        if let Some(syslog) = self.syslog {
            syslog.finish(std::time::Duration::from_secs(2));
        }
    }

    /// Also sends every record to syslog.
    pub fn with_syslog(mut self, syslog: crate::syslog::Syslog) -> AuditLog {
        self.syslog = Some(syslog);
        self
    }

    /// Closes and opens the audit file again, as after rotation (SIGHUP).
    pub fn reopen(&self) -> Result<(), AuditError> {
        match &self.file {
            Some(file) => file.reopen(),
            None => Ok(()),
        }
    }

    /// Writes one record as one line. The error says the record did not
    /// reach the audit file; the file holds no part of it then. Stdout and
    /// syslog failures are reported on stderr.
    pub fn write(&self, record: &AuditRecord) -> Result<(), AuditError> {
        self.write_or_replace(record, |_| None)
    }

    /// Writes one record: to the file first, then to stdout and syslog. If
    /// the file refuses it, `instead` may give the record that stdout and
    /// syslog get in its place (the denial that the lost record became),
    /// so that no copy of the trail tells another story than the daemon
    /// heard.
    pub fn write_or_replace(
        &self,
        record: &AuditRecord,
        instead: impl FnOnce(&AuditError) -> Option<AuditRecord>,
    ) -> Result<(), AuditError> {
        let line = match encode(record) {
            Ok(line) => line,
            Err(err) => {
                return Err(AuditError {
                    path: self.file_path(),
                    source: io::Error::other(format!("cannot encode the record: {err}")),
                })
            }
        };
        let filed = match &self.file {
            Some(file) => file.append(&line),
            None => Ok(()),
        };
        let replaced = filed.as_ref().err().and_then(instead);
        match replaced.as_ref().map(|r| (r, encode(r))) {
            Some((replacement, Ok(other))) => self.publish(replacement, &other),
            _ => self.publish(record, &line),
        }
        filed
    }

    fn file_path(&self) -> String {
        self.file
            .as_ref()
            .map(|f| f.path.display().to_string())
            .unwrap_or_default()
    }

    /// Sends an encoded record to stdout and syslog.
    fn publish(&self, record: &AuditRecord, line: &[u8]) {
        if let Some(syslog) = &self.syslog {
            let message = line.strip_suffix(b"\n").unwrap_or(line);
            syslog.send(record, &String::from_utf8_lossy(message));
        }
        if self.stdout {
            let mut out = io::stdout().lock();
            if let Err(err) = out.write_all(line).and_then(|_| out.flush()) {
                tracing::error!(%err, "cannot write audit record to stdout: {err}");
            }
        }
    }
}

/// A record as one JSON line, newline included.
fn encode(record: &AuditRecord) -> serde_json::Result<Vec<u8>> {
    let mut line = crate::escape::harden_json(serde_json::to_string(record)?).into_bytes();
    line.push(b'\n');
    Ok(line)
}

/// How often a write checks whether the file was rotated away (renamed or
/// removed), or retries opening one that could not be opened.
const CHECK_EVERY: Duration = Duration::from_secs(1);

/// A write that has not returned after this long (a hung network file
/// system) makes the writes behind it fail at once instead of queueing
/// every decision behind it.
const STUCK_AFTER: Duration = Duration::from_secs(1);

/// The audit file. One writer per file: a record that fails half-written
/// is cut back off the end, which is only safe while nobody else appends.
struct AuditFile {
    path: PathBuf,
    state: Mutex<FileState>,
    /// When the write in progress began (milliseconds since `epoch`), or 0.
    writing_since: std::sync::atomic::AtomicU64,
    epoch: Instant,
}

struct FileState {
    /// The open file, or why it is not open (or why the path no longer
    /// names it).
    file: Result<File, Closed>,
    checked: Instant,
}

/// Why the audit file is not open: the last attempt's error.
#[derive(Clone)]
struct Closed(io::ErrorKind, String);

impl Closed {
    fn error(&self, context: &str) -> io::Error {
        io::Error::new(self.0, format!("{context}{}", self.1))
    }
}

/// Opens the file, keeping why it could not be.
fn open_kept(path: &Path) -> Result<File, Closed> {
    open_repaired(path).map_err(|err| Closed(err.kind(), err.to_string()))
}

impl AuditFile {
    fn open(path: &Path) -> (AuditFile, Result<(), AuditError>) {
        let file = open_kept(path);
        let opened = file.as_ref().map(|_| ()).map_err(|closed| AuditError {
            path: path.display().to_string(),
            source: closed.error(""),
        });
        let file = AuditFile {
            path: path.to_path_buf(),
            state: Mutex::new(FileState {
                file,
                checked: Instant::now(),
            }),
            writing_since: std::sync::atomic::AtomicU64::new(0),
            epoch: Instant::now(),
        };
        (file, opened)
    }

    fn lock_state(&self) -> std::sync::MutexGuard<'_, FileState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn error(&self, source: io::Error) -> AuditError {
        AuditError {
            path: self.path.display().to_string(),
            source,
        }
    }

    fn reopen(&self) -> Result<(), AuditError> {
        let mut state = self.state_unless_stuck()?;
        state.checked = Instant::now();
        state.file = open_kept(&self.path);
        match &state.file {
            Ok(_) => Ok(()),
            Err(closed) => Err(self.error(closed.error(""))),
        }
    }

    /// The state, unless a write has been stuck for [`STUCK_AFTER`]: then
    /// waiting for the lock could take forever.
    fn state_unless_stuck(&self) -> Result<std::sync::MutexGuard<'_, FileState>, AuditError> {
        use std::sync::atomic::Ordering;
        match self.state.try_lock() {
            Ok(state) => return Ok(state),
            Err(std::sync::TryLockError::Poisoned(p)) => return Ok(p.into_inner()),
            Err(std::sync::TryLockError::WouldBlock) => {}
        }
        let since = self.writing_since.load(Ordering::Acquire);
        let now = self.epoch.elapsed().as_millis() as u64;
        if since != 0 && now.saturating_sub(since) >= STUCK_AFTER.as_millis() as u64 {
            let stuck = Duration::from_millis(now - since).as_secs_f64();
            return Err(self.error(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("a write has not returned for {stuck:.1}s"),
            )));
        }
        Ok(self.lock_state())
    }

    fn append(&self, line: &[u8]) -> Result<(), AuditError> {
        use std::sync::atomic::Ordering;
        let mut state = self.state_unless_stuck()?;
        if state.checked.elapsed() >= CHECK_EVERY {
            state.checked = Instant::now();
            let stale = match &state.file {
                Ok(file) => rotated(file, &self.path),
                Err(_) => true,
            };
            // Writing on into a file the path no longer names (removed, a
            // directory in its place) would lose the records unseen: they
            // fail until it can be reopened.
            if stale {
                state.file = open_kept(&self.path);
            }
        }
        let file = match state.file.as_mut() {
            Ok(file) => file,
            Err(closed) => return Err(self.error(closed.error("cannot open it: "))),
        };
        let began = (self.epoch.elapsed().as_millis() as u64).max(1);
        self.writing_since.store(began, Ordering::Release);
        let written = write_whole(file, line);
        self.writing_since.store(0, Ordering::Release);
        written.map_err(|err| self.error(err))
    }
}

/// Whether `path` no longer names the open file: logrotate renamed it away,
/// or someone removed it.
fn rotated(file: &File, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (file.metadata(), std::fs::symlink_metadata(path)) {
        (Ok(open), Ok(named)) => (open.dev(), open.ino()) != (named.dev(), named.ino()),
        (_, Err(_)) => true,
        (Err(_), Ok(_)) => false,
    }
}

/// Opens the file for appending, first cutting off a torn record at its
/// end (a crash or a full disk in the middle of a write), so that the next
/// record starts a line of its own. What was cut off goes to stderr.
///
/// Only a regular file is taken, and never through a symbolic link: the
/// gate runs as root, and whoever can write to the log's directory could
/// otherwise point it at any file (and have its torn tail cut), or at a
/// FIFO whose first full write would block every decision.
fn open_repaired(path: &Path) -> io::Result<File> {
    use std::os::unix::fs::{FileExt, OpenOptionsExt};
    let file = OpenOptions::new()
        .create(true)
        .append(true)
        .read(true)
        // Records name users, images and containers: not for everyone.
        .mode(0o640)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
        .map_err(|err| match err.raw_os_error() {
            Some(libc::ELOOP) => io::Error::other("it is a symbolic link"),
            _ => err,
        })?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(io::Error::other("not a regular file"));
    }
    let len = meta.len();
    if len == 0 {
        return Ok(file);
    }
    let mut last = [0u8; 1];
    file.read_exact_at(&mut last, len - 1)?;
    if last[0] == b'\n' {
        return Ok(file);
    }
    // A record is a few KiB; look back far enough for the longest.
    let window = len.min(TORN_LIMIT);
    let mut tail = vec![0u8; window as usize];
    file.read_exact_at(&mut tail, len - window)?;
    let keep = match tail.iter().rposition(|&b| b == b'\n') {
        Some(at) => len - window + at as u64 + 1,
        None if window == len => 0,
        // No line end in the window: more than one torn record's worth.
        // End the line rather than cut what may be more than one record.
        None => {
            (&file).write_all(b"\n")?;
            tracing::warn!(
                "audit log {}: its last {} bytes hold no line end; ended the line",
                path.display(),
                window
            );
            return Ok(file);
        }
    };
    let torn = String::from_utf8_lossy(&tail[(keep - (len - window)) as usize..]).into_owned();
    file.set_len(keep)?;
    tracing::warn!(
        "audit log {}: cut off a torn record at its end ({} bytes): {torn}",
        path.display(),
        len - keep
    );
    Ok(file)
}

/// The most a torn record is looked back for.
const TORN_LIMIT: u64 = 1 << 20;

/// Writes the line whole or not at all: a write cut short (a full disk)
/// is cut back off the end, so no torn record stays in the file.
fn write_whole(file: &mut File, line: &[u8]) -> io::Result<()> {
    let mut written = 0;
    let failure = loop {
        if written == line.len() {
            return Ok(());
        }
        match file.write(&line[written..]) {
            Ok(0) => break io::Error::from(io::ErrorKind::WriteZero),
            Ok(n) => written += n,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(err) => break err,
        }
    };
    if written > 0 {
        if let Err(err) = cut_back(file, written as u64) {
            tracing::error!(%err, "cannot cut a torn audit record off the end of the file: {err}");
        }
    }
    Err(failure)
}

/// Removes the last `written` bytes, if nobody appended after them.
fn cut_back(file: &mut File, written: u64) -> io::Result<()> {
    // Appending leaves the offset at the end of what was written.
    let end = file.stream_position()?;
    if file.metadata()?.len() == end {
        file.set_len(end - written)?;
    }
    Ok(())
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
