//! Following the policy file, so that an edit takes effect without a
//! restart, and a file caught half-written never does.
//!
//! A file written in place (`cp`, `>`, an editor that rewrites) passes
//! through truncated states, and a truncated policy is often a valid one:
//! the template's comment header alone means "the baseline". So a change
//! is put in force only once:
//!
//! - no process holds the file open for writing (read from `/proc`; a
//!   writer that pauses mid-write keeps it open), and
//! - the file has stayed the same for a settle period, and
//! - what was read is what the file held before and after the read.
//!
//! SIGHUP goes through the same checks: it also comes from log rotation,
//! which knows nothing of a policy being written. An editor that renames a
//! finished file over the old one is loaded one settle period after the
//! check that sees it. Only regular files are read, opened so that a FIFO
//! cannot block, and all of it runs on a thread of its own, so that a file
//! system that hangs stalls the reload and never a decision.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::Duration;

use dockgate_inputs::resolve::DaemonLookup;
use dockgate_rules::{Policy, PolicyError};

use crate::Gate;

/// How often the file is checked, and how long a change must hold still.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    /// Between checks for a change.
    pub poll: Duration,
    /// How long a changed file must stay the same before it is loaded.
    pub settle: Duration,
}

impl Default for Timing {
    fn default() -> Self {
        Timing {
            poll: Duration::from_secs(1),
            settle: Duration::from_millis(300),
        }
    }
}

/// A change that never holds still for this many settle periods is left
/// for the next check; SIGHUP is heard between rounds.
const SETTLE_ROUNDS: usize = 20;

/// What tells one content of the file from another without reading it:
/// renames change the inode, writes the size or the times (nanoseconds,
/// and the change time moves even when a write restores the old mtime).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Version {
    dev: u64,
    ino: u64,
    len: u64,
    mtime: (i64, i64),
    ctime: (i64, i64),
}

fn version(path: &Path) -> std::io::Result<Version> {
    let meta = std::fs::metadata(path)?;
    Ok(Version {
        dev: meta.dev(),
        ino: meta.ino(),
        len: meta.len(),
        mtime: (meta.mtime(), meta.mtime_nsec()),
        ctime: (meta.ctime(), meta.ctime_nsec()),
    })
}

/// Why a read did not give a whole file.
#[derive(Debug)]
enum ReadError {
    Changing,
    Io(std::io::Error),
}

impl ReadError {
    fn missing(&self) -> bool {
        matches!(self, ReadError::Io(err) if err.kind() == std::io::ErrorKind::NotFound)
    }

    /// The error as a reload or a start reports it.
    fn into_policy_error(self, path: &Path) -> PolicyError {
        let reason = match self {
            ReadError::Changing => "it kept changing while being read".to_string(),
            ReadError::Io(err) => err.to_string(),
        };
        PolicyError::Read {
            path: path.display().to_string(),
            reason,
        }
    }
}

/// Reads the file whole: the same version before and after the read, and
/// as many bytes as that version holds.
fn read_whole(path: &Path) -> Result<(Version, Vec<u8>), ReadError> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let io = ReadError::Io;
    let before = version(path).map_err(io)?;
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(io)?;
    if !file.metadata().map_err(io)?.is_file() {
        return Err(ReadError::Io(std::io::Error::other("not a regular file")));
    }
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes).map_err(io)?;
    let after = version(path).map_err(io)?;
    if before != after || bytes.len() as u64 != before.len {
        return Err(ReadError::Changing);
    }
    Ok((before, bytes))
}

fn parse(path: &Path, bytes: &[u8]) -> Result<Policy, PolicyError> {
    let text = std::str::from_utf8(bytes).map_err(|e| PolicyError::Read {
        path: path.display().to_string(),
        reason: format!("not UTF-8: {e}"),
    })?;
    Policy::from_file_text(path, text)
}

/// The policy file, and which of its versions is in force.
#[derive(Debug)]
pub struct PolicyFile {
    path: PathBuf,
    loaded: Option<Version>,
    /// The Rego files of the policy in force, and the versions read: a
    /// change of one reloads the policy as a change of the file does.
    rego: Vec<(PathBuf, Option<Version>)>,
}

/// The Rego files a policy read, each with its version now.
fn rego_versions(files: Vec<PathBuf>) -> Vec<(PathBuf, Option<Version>)> {
    files
        .into_iter()
        .map(|file| {
            let now = version(&file).ok();
            (file, now)
        })
        .collect()
}

impl PolicyFile {
    /// Reads the policy at start, waiting briefly for a file that is being
    /// written to hold still.
    pub fn load(path: &Path) -> Result<(Policy, PolicyFile), PolicyError> {
        let mut tries = 0;
        loop {
            match read_whole(path) {
                Ok((version, bytes)) => {
                    let policy = parse(path, &bytes)?;
                    let file = PolicyFile {
                        path: path.to_path_buf(),
                        loaded: Some(version),
                        rego: rego_versions(policy.custom_rules().1),
                    };
                    return Ok((policy, file));
                }
                Err(ReadError::Changing) if tries < 50 => {
                    tries += 1;
                    std::thread::sleep(Duration::from_millis(20));
                }
                Err(err) => return Err(err.into_policy_error(path)),
            }
        }
    }

    /// A file that does not exist yet: the policy in force came from
    /// elsewhere, and the file is loaded once it appears.
    pub fn absent(path: &Path) -> PolicyFile {
        PolicyFile {
            path: path.to_path_buf(),
            loaded: None,
            rego: Vec::new(),
        }
    }

    /// A file that was read and found invalid: it is followed, and loaded
    /// once it changes.
    pub fn rejected(path: &Path) -> PolicyFile {
        PolicyFile {
            path: path.to_path_buf(),
            loaded: version(path).ok(),
            rego: Vec::new(),
        }
    }

    /// The file the policy in force was read from; `None` while the file
    /// has never been read (it did not exist).
    pub fn source(&self) -> Option<&Path> {
        self.loaded.map(|_| self.path.as_path())
    }

    /// Whether the file, or one of the Rego files it names, now differs
    /// from the version in force.
    fn changed(&self) -> Option<Version> {
        let now = version(&self.path).ok()?;
        let rego_changed = self
            .rego
            .iter()
            .any(|(file, seen)| version(file).ok() != *seen);
        (Some(now) != self.loaded || rego_changed).then_some(now)
    }

    /// Reads the file and, if it is valid, puts it in force.
    fn reload<L: DaemonLookup>(&mut self, gate: &Gate<L>, trigger: &str) {
        let path = self.path.display().to_string();
        let read = match read_whole(&self.path) {
            Ok((version, bytes)) => {
                // This version has been judged, valid or not: it is not
                // read again until it changes.
                self.loaded = Some(version);
                parse(&self.path, &bytes)
            }
            Err(err) if err.missing() => {
                // No file is no policy: what is in force stays.
                tracing::info!(%path, hash = gate.policy().hash(), trigger, "no policy file; the policy in force stays");
                return;
            }
            Err(ReadError::Changing) => {
                // Left unloaded: the next check sees the change again.
                tracing::info!(%path, trigger, "the policy file changed while being read; it is loaded once it holds still");
                return;
            }
            Err(err) => Err(err.into_policy_error(&self.path)),
        };
        // The Rego files of the new policy, or, when it is refused, the
        // same files at their current versions: judged, not read again
        // until they change.
        self.rego = match &read {
            Ok(policy) => rego_versions(policy.custom_rules().1),
            Err(_) => rego_versions(self.rego.drain(..).map(|(f, _)| f).collect()),
        };
        match gate.install(read) {
            Ok(hash) => tracing::info!(%hash, trigger, "policy reloaded"),
            Err(err) => tracing::error!(
                error = %err,
                hash = gate.policy().hash(),
                trigger,
                "policy not reloaded; the previous policy stays in force"
            ),
        }
    }
}

/// Whether a process holds this version of the file open for writing:
/// a writer that pauses between the header and the rest keeps it open.
/// Other PID namespaces (a managed plugin's view of the host) are not
/// seen.
fn held_open_for_writing(path: &Path, version: &Version) -> bool {
    let Ok(real) = std::fs::canonicalize(path) else {
        return false;
    };
    let Ok(processes) = std::fs::read_dir("/proc") else {
        return false;
    };
    for process in processes.flatten() {
        let pid = process.file_name();
        if !pid.to_string_lossy().bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        let Ok(fds) = std::fs::read_dir(process.path().join("fd")) else {
            continue;
        };
        for fd in fds.flatten() {
            if std::fs::read_link(fd.path()).ok().as_deref() != Some(real.as_path()) {
                continue;
            }
            let same = std::fs::metadata(fd.path())
                .is_ok_and(|m| (m.dev(), m.ino()) == (version.dev, version.ino));
            let info = process.path().join("fdinfo").join(fd.file_name());
            let writable = std::fs::read_to_string(info)
                .ok()
                .and_then(|info| {
                    let flags = info.lines().find_map(|l| l.strip_prefix("flags:"))?;
                    u32::from_str_radix(flags.trim(), 8).ok()
                })
                .is_some_and(|flags| flags & libc::O_ACCMODE as u32 != libc::O_RDONLY as u32);
            if same && writable {
                return true;
            }
        }
    }
    false
}

/// The thread that follows the policy file; dropping it stops the thread
/// at its next check.
pub struct Follower {
    reload_now: mpsc::Sender<()>,
}

impl Follower {
    /// Asks for a reload now (SIGHUP); it still waits for the file to be
    /// whole.
    pub fn reload_now(&self) {
        let _ = self.reload_now.send(());
    }
}

/// Follows the policy file on a thread of its own: reloads it when asked
/// ([`Follower::reload_now`]) and when it changes, each time once it is
/// whole (see the module's documentation). An invalid file is logged and
/// counted, and the policy in force stays.
pub fn follow<L: DaemonLookup + Send + Sync + 'static>(
    gate: Arc<Gate<L>>,
    mut file: PolicyFile,
    timing: Timing,
) -> Follower {
    let (reload_now, asked) = mpsc::channel();
    let spawned = std::thread::Builder::new()
        .name("policy-file".into())
        .spawn(move || loop {
            let trigger = match asked.recv_timeout(timing.poll) {
                Ok(()) => "SIGHUP",
                Err(mpsc::RecvTimeoutError::Timeout) => "file change",
                Err(mpsc::RecvTimeoutError::Disconnected) => return,
            };
            let forced = trigger == "SIGHUP";
            let seen = if forced {
                version(&file.path).ok()
            } else {
                file.changed()
            };
            let Some(mut seen) = seen else {
                if forced {
                    tracing::info!(path = %file.path.display(), hash = gate.policy().hash(), "SIGHUP: no policy file; the policy in force stays");
                }
                continue;
            };
            for round in 0..SETTLE_ROUNDS {
                std::thread::sleep(timing.settle);
                let Ok(now) = version(&file.path) else { break };
                if now != seen {
                    seen = now;
                    continue;
                }
                if held_open_for_writing(&file.path, &now) {
                    if round + 1 == SETTLE_ROUNDS {
                        tracing::warn!(path = %file.path.display(), trigger, "the policy file is held open for writing; it is loaded once it is closed");
                    }
                    continue;
                }
                file.reload(&gate, trigger);
                break;
            }
        });
    if let Err(err) = spawned {
        tracing::error!(%err, "cannot start following the policy file; it is read only at start");
    }
    Follower { reload_now }
}

#[cfg(test)]
mod tests;
