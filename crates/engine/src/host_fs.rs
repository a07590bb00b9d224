//! Where a host path really leads: symbolic links resolved the way the
//! kernel will when the daemon mounts it.
//!
//! The host's file system may be seen at `/` (dockgate on the host) or at a
//! mount point such as `/host` (dockgate as a managed Docker plugin, which
//! runs in its own root). Resolution then happens *inside* that root: an
//! absolute link target such as `/etc` means the host's `/etc`, never the
//! plugin's, and `..` never climbs out of the root. `std::fs::canonicalize`
//! cannot do that, and it fails outright on a path whose tail does not exist
//! yet, although the daemon creates missing bind sources (`-v`) below
//! whatever the existing part resolves to.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};

/// Linux gives up after 40 links in one lookup (ELOOP); so does dockgate.
const MAX_LINKS: usize = 40;

/// The host's file system, seen at `root`.
#[derive(Debug, Clone)]
pub struct HostFs {
    root: PathBuf,
}

impl HostFs {
    /// The host's file system as seen at `root` (`/` on the host itself).
    pub fn at(root: impl Into<PathBuf>) -> HostFs {
        HostFs { root: root.into() }
    }

    /// The host path that `path` (absolute, on the host) leads to once
    /// every symbolic link in it is followed. Components that do not exist
    /// are kept as written. `None` when the path is not absolute or valid
    /// UTF-8, or when links loop.
    pub fn resolve(&self, path: &str) -> Option<String> {
        if !path.starts_with('/') {
            return None;
        }
        let mut pending: VecDeque<String> = components(path).collect();
        let mut resolved: Vec<String> = Vec::new();
        let mut links = 0;
        // Below a missing component nothing can be a link; `..` may climb
        // back out of the missing part (the daemon creates it first).
        let mut missing_from: Option<usize> = None;
        while let Some(part) = pending.pop_front() {
            if part == ".." {
                resolved.pop();
                if missing_from.is_some_and(|depth| resolved.len() < depth) {
                    missing_from = None;
                }
                continue;
            }
            if missing_from.is_some() {
                resolved.push(part);
                continue;
            }
            let on_host = self.locate(&resolved, &part);
            match std::fs::symlink_metadata(&on_host) {
                Ok(meta) if meta.file_type().is_symlink() => {
                    links += 1;
                    if links > MAX_LINKS {
                        return None;
                    }
                    let target = std::fs::read_link(&on_host).ok()?;
                    let target = target.to_str()?;
                    if target.starts_with('/') {
                        resolved.clear();
                    }
                    for part in components(target).collect::<Vec<_>>().into_iter().rev() {
                        pending.push_front(part);
                    }
                }
                Ok(_) => resolved.push(part),
                Err(_) => {
                    missing_from = Some(resolved.len() + 1);
                    resolved.push(part);
                }
            }
        }
        Some(format!("/{}", resolved.join("/")))
    }

    fn locate(&self, resolved: &[String], part: &str) -> PathBuf {
        let mut path = self.root.clone();
        path.extend(resolved);
        path.push(part);
        path
    }
}

impl Default for HostFs {
    fn default() -> Self {
        HostFs::at("/")
    }
}

fn components(path: &str) -> impl Iterator<Item = String> + '_ {
    path.split('/')
        .filter(|c| !c.is_empty() && *c != ".")
        .map(str::to_string)
}

/// Whether `root` looks like a host root at all (it has an `/etc`), so a
/// missing mount is reported instead of silently resolving nothing.
pub fn looks_like_root(root: &Path) -> bool {
    root.join("etc").is_dir()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn tree() -> (PathBuf, HostFs) {
        let root = std::env::temp_dir().join(format!(
            "dockgate-hostfs-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(root.join("etc/ssl")).unwrap();
        std::fs::create_dir_all(root.join("srv/data/sub")).unwrap();
        symlink("/etc", root.join("srv/data/abs")).unwrap();
        symlink("../../etc/ssl", root.join("srv/data/rel")).unwrap();
        symlink("../../../../../../..", root.join("srv/data/up")).unwrap();
        symlink("loop2", root.join("srv/data/loop1")).unwrap();
        symlink("loop1", root.join("srv/data/loop2")).unwrap();
        symlink("abs", root.join("srv/data/chain")).unwrap();
        let fs = HostFs::at(&root);
        (root, fs)
    }

    #[test]
    fn links_resolve_inside_the_root() {
        let (root, fs) = tree();
        assert_eq!(
            fs.resolve("/srv/data/sub").as_deref(),
            Some("/srv/data/sub")
        );
        assert_eq!(fs.resolve("/srv/data/abs").as_deref(), Some("/etc"));
        assert_eq!(fs.resolve("/srv/data/abs/ssl").as_deref(), Some("/etc/ssl"));
        assert_eq!(fs.resolve("/srv/data/rel").as_deref(), Some("/etc/ssl"));
        assert_eq!(fs.resolve("/srv/data/chain/x").as_deref(), Some("/etc/x"));
        // `..` stops at the root, as it does for a process chrooted there.
        assert_eq!(fs.resolve("/srv/data/up").as_deref(), Some("/"));
        assert_eq!(fs.resolve("/srv/data/up/etc").as_deref(), Some("/etc"));
        let _ = std::fs::remove_dir_all(root);
    }

    #[test]
    fn missing_tails_keep_the_resolved_head() {
        let (root, fs) = tree();
        // `-v /srv/data/abs/new:/x` makes the daemon create /etc/new.
        assert_eq!(
            fs.resolve("/srv/data/abs/new/dir").as_deref(),
            Some("/etc/new/dir")
        );
        assert_eq!(
            fs.resolve("/nowhere/../srv/data/abs").as_deref(),
            Some("/etc")
        );
        assert_eq!(
            fs.resolve("/a/b/../../srv/data/abs").as_deref(),
            Some("/etc")
        );
        let _ = std::fs::remove_dir_all(root);
    }

    #[test]
    fn loops_and_relative_paths_resolve_to_nothing() {
        let (root, fs) = tree();
        assert_eq!(fs.resolve("/srv/data/loop1"), None);
        assert_eq!(fs.resolve("srv/data"), None);
        assert!(looks_like_root(&root));
        assert!(!looks_like_root(&root.join("srv")));
        let _ = std::fs::remove_dir_all(root);
    }
}
