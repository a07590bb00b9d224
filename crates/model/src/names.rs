//! Names that several inputs spell in several ways: paths, capabilities and
//! image references.

use serde::Serialize;

/// Cleans a slash-separated path lexically, as Go's `filepath.Clean` does:
/// the daemon cleans bind sources the same way before mounting them.
pub fn clean_path(path: &str) -> String {
    // Most paths are clean already; cleaning runs for every request path.
    if is_clean(path) {
        return path.to_string();
    }
    let rooted = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|p| *p != "..") {
                    parts.pop();
                } else if !rooted {
                    parts.push("..");
                }
            }
            other => parts.push(other),
        }
    }
    let joined = parts.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".to_string(),
        (false, false) => joined,
    }
}

/// Whether `path` is absolute and already what [`clean_path`] makes of it.
fn is_clean(path: &str) -> bool {
    if path == "/" {
        return true;
    }
    path.strip_prefix('/').is_some_and(|rest| {
        rest.split('/')
            .all(|segment| !segment.is_empty() && segment != "." && segment != "..")
    })
}

/// Normalizes a capability name the way the daemon does: case-insensitive,
/// with or without the `CAP_` prefix. `ALL` stays `ALL`.
pub fn normalize_capability(name: &str) -> String {
    let upper = name.trim().to_ascii_uppercase();
    match upper.strip_prefix("CAP_") {
        Some(rest) => rest.to_string(),
        None => upper,
    }
}

/// An image reference split the way the Docker reference grammar splits it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImageRef {
    /// The registry host, `docker.io` when none is named.
    pub registry: String,
    /// The repository path, with `library/` for official images.
    pub repository: String,
    /// The tag, if one was given.
    pub tag: Option<String>,
    /// The digest, if one was given.
    pub digest: Option<String>,
}

impl ImageRef {
    /// Parses a reference such as `alpine`, `ghcr.io/a/b:1` or
    /// `host:5000/x@sha256:...`.
    pub fn parse(reference: &str) -> ImageRef {
        let reference = reference.trim();
        let (name_tag, digest) = match reference.split_once('@') {
            Some((n, d)) => (n, Some(d.to_string())),
            None => (reference, None),
        };
        // A tag follows the last ':' only if no '/' comes after it; a ':'
        // before a '/' belongs to a registry port.
        let (name, tag) = match name_tag.rfind(':') {
            Some(i) if !name_tag[i..].contains('/') => {
                (&name_tag[..i], Some(name_tag[i + 1..].to_string()))
            }
            _ => (name_tag, None),
        };
        let (registry, path) = match name.split_once('/') {
            Some((first, rest))
                if first.contains('.') || first.contains(':') || first == "localhost" =>
            {
                (first.to_string(), rest.to_string())
            }
            _ => ("docker.io".to_string(), name.to_string()),
        };
        let registry = match registry.as_str() {
            "index.docker.io" | "registry-1.docker.io" => "docker.io".to_string(),
            _ => registry,
        };
        let repository = if registry == "docker.io" && !path.contains('/') {
            format!("library/{path}")
        } else {
            path
        };
        ImageRef {
            registry,
            repository,
            tag,
            digest,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_like_go() {
        for (input, want) in [
            ("/", "/"),
            ("/etc/../", "/"),
            ("//var//run/./docker.sock", "/var/run/docker.sock"),
            ("/../../etc", "/etc"),
            ("/a/b/..", "/a"),
            ("a/../..", ".."),
            ("", "."),
            ("/etc/", "/etc"),
            ("/etc/.", "/etc"),
            ("/a/.b/..c", "/a/.b/..c"),
        ] {
            assert_eq!(clean_path(input), want, "clean({input:?})");
        }
    }

    #[test]
    fn clean_paths_are_left_alone() {
        // Every path the fast path accepts is one the full cleaning keeps.
        let segments = ["", ".", "..", "a", ".a", "a.", "..a", "etc"];
        for a in segments {
            for b in segments {
                for c in segments {
                    let path = format!("/{a}/{b}/{c}");
                    if is_clean(&path) {
                        let mut reclean = path.clone();
                        reclean.push_str("/x/..");
                        assert_eq!(clean_path(&reclean), path, "{path}");
                    }
                }
            }
        }
    }

    #[test]
    fn capabilities() {
        assert_eq!(normalize_capability("cap_sys_admin"), "SYS_ADMIN");
        assert_eq!(normalize_capability("SYS_ADMIN"), "SYS_ADMIN");
        assert_eq!(normalize_capability("all"), "ALL");
    }

    #[test]
    fn image_references() {
        let r = ImageRef::parse("alpine");
        assert_eq!(
            (r.registry.as_str(), r.repository.as_str(), r.tag, r.digest),
            ("docker.io", "library/alpine", None, None)
        );
        let r = ImageRef::parse("localhost:5000/team/app:1.2@sha256:abc");
        assert_eq!(r.registry, "localhost:5000");
        assert_eq!(r.repository, "team/app");
        assert_eq!(r.tag.as_deref(), Some("1.2"));
        assert_eq!(r.digest.as_deref(), Some("sha256:abc"));
        let r = ImageRef::parse("ghcr.io/owner/img");
        assert_eq!((r.registry.as_str(), r.tag), ("ghcr.io", None));
        let r = ImageRef::parse("index.docker.io/user/img:latest");
        assert_eq!(r.registry, "docker.io");
        assert_eq!(r.repository, "user/img");
    }
}
