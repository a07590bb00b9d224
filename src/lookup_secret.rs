//! The secret that marks dockgate's own reads of the daemon. The daemon
//! passes every request back to the gate, the reads of its own look-ups
//! and of `scan`, `watch` and `check --docker-host` included; a policy in
//! opa-docker-authz's form that lets only named users read would refuse
//! them. Reads that carry the header `X-Dockgate-Lookup` with this secret
//! are not put to that policy (the built-in rules still judge them). The
//! gate draws it at each start and writes it, readable by root alone, for
//! the patrol and the linter on the same host.

use std::io::{Read, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::Path;

/// Where the gate writes the secret, and the others read it.
pub const DEFAULT_PATH: &str = "/run/dockgate/lookup-secret";

/// 128 random bits, in hex.
pub fn draw() -> std::io::Result<String> {
    let mut bytes = [0u8; 16];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut bytes)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// Writes the secret to `path` (mode 0600, its directory 0700 if made),
/// replacing the last one whole.
pub fn publish(path: &Path, secret: &str) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)?;
    }
    let staged = path.with_extension(format!("{}.tmp", std::process::id()));
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&staged)?;
    file.write_all(secret.as_bytes())?;
    std::fs::rename(&staged, path)
}

/// The secret a gate on this host published, if it can be read.
pub fn read(path: &Path) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    let secret = text.trim();
    (secret.len() == 32 && secret.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| secret.to_string())
}
