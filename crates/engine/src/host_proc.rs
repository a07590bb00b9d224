//! Which containers share a PID namespace, read from the host's `/proc`:
//! the daemon's API says which container a new one joins, never which
//! containers joined it.

use std::collections::BTreeSet;
use std::path::Path;

/// The IDs of containers other than `own_id` that have a process in the
/// PID namespace of host process `pid`. A process's container is the
/// 64-hex-digit ID in its cgroup path (`/docker/<id>`,
/// `docker-<id>.scope`, or under a custom parent).
pub fn pid_namespace_peers(pid: i64, own_id: &str) -> std::io::Result<Vec<String>> {
    let proc = Path::new("/proc");
    let namespace = std::fs::read_link(proc.join(pid.to_string()).join("ns/pid"))?;
    let mut peers = BTreeSet::new();
    for entry in std::fs::read_dir(proc)? {
        let Ok(entry) = entry else { continue };
        let name = entry.file_name();
        let Some(process) = name
            .to_str()
            .filter(|n| n.bytes().all(|b| b.is_ascii_digit()))
        else {
            continue;
        };
        // Processes come and go while the scan runs.
        let Ok(ns) = std::fs::read_link(proc.join(process).join("ns/pid")) else {
            continue;
        };
        if ns != namespace {
            continue;
        }
        let Ok(cgroup) = std::fs::read_to_string(proc.join(process).join("cgroup")) else {
            continue;
        };
        peers.extend(container_ids(&cgroup).filter(|id| id != own_id));
    }
    Ok(peers.into_iter().collect())
}

/// The container IDs a `/proc/<pid>/cgroup` file names.
fn container_ids(cgroup: &str) -> impl Iterator<Item = String> + '_ {
    cgroup
        .split(|c: char| !c.is_ascii_hexdigit())
        .filter(|part| part.len() == 64)
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_in_cgroup_paths() {
        let id = "4f2c".repeat(16);
        let v1 = format!("12:pids:/docker/{id}\n11:memory:/docker/{id}\n0::/\n");
        assert_eq!(
            container_ids(&v1).collect::<Vec<_>>(),
            vec![id.clone(), id.clone()]
        );
        let systemd = format!("0::/system.slice/docker-{id}.scope\n");
        assert_eq!(
            container_ids(&systemd).collect::<Vec<_>>(),
            vec![id.clone()]
        );
        assert_eq!(container_ids("0::/user.slice/session-2.scope\n").count(), 0);
    }

    #[test]
    fn this_process_shares_its_namespace_with_no_container() {
        let peers = pid_namespace_peers(i64::from(std::process::id()), "").unwrap();
        // A test runner on a host may itself run in a container; then it is
        // its own only peer.
        assert!(peers.len() <= 1, "{peers:?}");
    }
}
