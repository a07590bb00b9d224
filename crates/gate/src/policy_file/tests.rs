use std::collections::BTreeSet;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};

use dockgate_inputs::resolve::FakeDaemon;

use super::*;

/// The template's opening comment: on its own, a valid policy that means
/// the baseline, which is what a file truncated mid-write holds.
const HEADER: &str = "# dockgate policy. Every setting below is commented out and shows the\n\
# built-in baseline; uncomment and change what you need.\n\n";

fn restricted(variant: usize) -> String {
    format!(
        "{HEADER}profile = \"restricted\"\n[rules.host-mount]\nallow = [\"/srv/data{variant}\"]\n"
    )
}

struct Dir(PathBuf);

impl Dir {
    fn new(name: &str) -> Dir {
        let dir = std::env::temp_dir().join(format!("dockgate-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Dir(dir)
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Waits up to five seconds for the policy of this hash to be in force.
fn in_force_soon(gate: &Gate<FakeDaemon>, hash: &str, otherwise: &str) {
    let waited = std::time::Instant::now();
    while gate.policy().hash() != hash {
        assert!(waited.elapsed() < Duration::from_secs(5), "{otherwise}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// A gate following `path`, which starts as `restricted(0)`, checked every
/// 5 ms and loaded after `settle_ms` without change.
fn followed(path: &Path, settle_ms: u64) -> (Arc<Gate<FakeDaemon>>, Follower) {
    std::fs::write(path, restricted(0)).unwrap();
    let (policy, file) = PolicyFile::load(path).unwrap();
    let gate = Arc::new(Gate::new(policy, FakeDaemon::new()));
    let timing = Timing {
        poll: Duration::from_millis(5),
        settle: Duration::from_millis(settle_ms),
    };
    let follower = follow(gate.clone(), file, timing);
    (gate, follower)
}

/// A writer that alternates renames with in-place rewrites that pause
/// between the header and the rest, against a follower checking every few
/// milliseconds: the truncated file must never be put in force, and every
/// finished version must be.
#[test]
fn a_half_written_policy_is_never_loaded() {
    let dir = Dir::new("policy-race");
    let path = dir.0.join("policy.toml");
    let (gate, follower) = followed(&path, 60);
    let baseline = Policy::from_toml(HEADER).unwrap().hash().to_string();
    let hash_of = |variant| {
        Policy::from_toml(&restricted(variant))
            .unwrap()
            .hash()
            .to_string()
    };
    let writes = 60;
    let seen = hashes_while(&gate, || {
        for i in 1..=writes {
            if i % 2 == 0 {
                let staged = path.with_extension("new");
                std::fs::write(&staged, restricted(i)).unwrap();
                std::fs::rename(&staged, &path).unwrap();
            } else {
                let mut file = std::fs::File::create(&path).unwrap();
                file.write_all(HEADER.as_bytes()).unwrap();
                std::thread::sleep(Duration::from_millis(25));
                file.write_all(&restricted(i).as_bytes()[HEADER.len()..])
                    .unwrap();
            }
            // Some versions hold still long enough to be loaded.
            let pause = if i % 5 == 0 { 150 } else { 10 };
            std::thread::sleep(Duration::from_millis(pause));
        }
        // The last version, finished, is put in force.
        let last = hash_of(writes);
        in_force_soon(&gate, &last, "the last version was not loaded");
    });
    drop(follower);

    assert!(
        !seen.contains(&baseline),
        "a truncated file was put in force"
    );
    // Versions that held still were loaded, written in place or renamed.
    for variant in [5, 10, 15, 20] {
        assert!(
            seen.contains(&hash_of(variant)),
            "version {variant} was never in force"
        );
    }
    let unknown: Vec<_> = seen
        .iter()
        .filter(|h| !(0..=writes).any(|v| hash_of(v) == **h))
        .collect();
    assert!(
        unknown.is_empty(),
        "hashes of no written version: {unknown:?}"
    );
}

#[tokio::test]
async fn sighup_loads_at_once_and_an_invalid_file_changes_nothing() {
    let dir = Dir::new("policy-hup");
    let path = dir.0.join("policy.toml");
    let gate = Arc::new(Gate::new(Policy::default(), FakeDaemon::new()));
    let mut file = PolicyFile::absent(&path);
    let before = gate.policy().hash().to_string();

    file.reload(&gate, "SIGHUP");
    assert_eq!(gate.policy().hash(), before, "no file, no change");

    std::fs::write(&path, "mode = \"loud\"\n").unwrap();
    file.reload(&gate, "SIGHUP");
    assert_eq!(
        gate.policy().hash(),
        before,
        "an invalid file changes nothing"
    );
    let text = gate
        .metrics()
        .render(crate::metrics::Exposition::OpenMetrics);
    assert!(
        text.contains("dockgate_policy_reloads_total{result=\"error\"} 1"),
        "{text}"
    );

    std::fs::write(&path, restricted(1)).unwrap();
    file.reload(&gate, "SIGHUP");
    assert_eq!(
        gate.policy().hash(),
        Policy::from_toml(&restricted(1)).unwrap().hash()
    );
}

#[test]
fn a_policy_that_is_not_utf8_names_the_file() {
    let dir = Dir::new("policy-utf8");
    let path = dir.0.join("policy.toml");
    std::fs::write(&path, b"mode = \"\xff\"\n").unwrap();
    let err = PolicyFile::load(&path).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "cannot read policy file {}: not UTF-8: invalid utf-8 sequence of 1 bytes from index 8",
            path.display()
        )
    );
}

/// Samples the policy in force every millisecond while `work` runs; the
/// hashes seen.
fn hashes_while(gate: &Arc<Gate<FakeDaemon>>, work: impl FnOnce()) -> BTreeSet<String> {
    let done = Arc::new(AtomicBool::new(false));
    let sampler = {
        let (gate, done) = (gate.clone(), done.clone());
        std::thread::spawn(move || {
            let mut seen = BTreeSet::new();
            while !done.load(Ordering::Relaxed) {
                seen.insert(gate.policy().hash().to_string());
                std::thread::sleep(Duration::from_millis(1));
            }
            seen
        })
    };
    work();
    done.store(true, Ordering::Relaxed);
    sampler.join().unwrap()
}

/// A writer that keeps the file open and pauses far longer than the settle
/// period between the header and the rest (a slow download, a rendering
/// step, `cat >` typed by hand), with SIGHUP sent in the middle (log
/// rotation's): the header alone is never put in force.
#[test]
fn a_writer_that_pauses_or_a_sighup_mid_write_loads_nothing_partial() {
    let dir = Dir::new("policy-pause");
    let path = dir.0.join("policy.toml");
    let (gate, follower) = followed(&path, 60);
    let baseline = Policy::from_toml(HEADER).unwrap().hash().to_string();
    let seen = hashes_while(&gate, || {
        let mut file = std::fs::File::create(&path).unwrap();
        file.write_all(HEADER.as_bytes()).unwrap();
        std::thread::sleep(Duration::from_millis(600));
        follower.reload_now();
        std::thread::sleep(Duration::from_millis(600));
        file.write_all(&restricted(1).as_bytes()[HEADER.len()..])
            .unwrap();
        drop(file);
        let last = Policy::from_toml(&restricted(1))
            .unwrap()
            .hash()
            .to_string();
        in_force_soon(&gate, &last, "the finished file was not loaded");
    });
    assert!(
        !seen.contains(&baseline),
        "the header alone was put in force"
    );
}

/// A FIFO (or anything but a regular file) where the policy was: nothing
/// blocks, nothing changes, and a regular file put back is loaded.
#[test]
fn a_fifo_in_place_of_the_policy_blocks_nothing() {
    let dir = Dir::new("policy-fifo");
    let path = dir.0.join("policy.toml");
    let (gate, follower) = followed(&path, 20);
    let before = gate.policy().hash().to_string();
    std::fs::remove_file(&path).unwrap();
    let made = std::process::Command::new("mkfifo")
        .arg(&path)
        .status()
        .unwrap();
    assert!(made.success());
    follower.reload_now();
    let waited = std::time::Instant::now();
    while !gate
        .metrics()
        .render(crate::metrics::Exposition::OpenMetrics)
        .contains("dockgate_policy_reloads_total{result=\"error\"}")
    {
        assert!(
            waited.elapsed() < Duration::from_secs(5),
            "the FIFO was never refused"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(gate.policy().hash(), before);
    std::fs::remove_file(&path).unwrap();
    std::fs::write(&path, restricted(2)).unwrap();
    let loaded = Policy::from_toml(&restricted(2))
        .unwrap()
        .hash()
        .to_string();
    while gate.policy().hash() != loaded {
        assert!(
            waited.elapsed() < Duration::from_secs(5),
            "the regular file was not loaded"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn a_changed_rego_file_reloads_the_policy_and_a_broken_one_does_not() {
    let dir = Dir::new("rego-follow");
    let rego = dir.0.join("rules.rego");
    let rule = |port: &str| {
        format!("package company\n\ndeny contains \"port\" if {{\n\tsome p in input.workload.ports\n\tp.host_port == \"{port}\"\n}}\n")
    };
    std::fs::write(&rego, rule("8080")).unwrap();
    let path = dir.0.join("policy.toml");
    std::fs::write(&path, "rego = [\"rules.rego\"]\n").unwrap();
    let (policy, file) = PolicyFile::load(&path).unwrap();
    let first = policy.hash().to_string();
    let gate = Arc::new(Gate::new(policy, FakeDaemon::new()));
    let timing = Timing {
        poll: Duration::from_millis(5),
        settle: Duration::from_millis(20),
    };
    let _follower = follow(gate.clone(), file, timing);
    // Only the Rego file changes: the policy file is the same.
    std::fs::write(&rego, rule("9090")).unwrap();
    let expected = Policy::from_file(&path).unwrap().hash().to_string();
    assert_ne!(expected, first);
    in_force_soon(&gate, &expected, "the changed Rego file was not loaded");
    // A Rego file that does not compile leaves the policy in force.
    std::fs::write(&rego, "package company\n\ndeny contains msg if {\n").unwrap();
    let reloads = || {
        gate.metrics()
            .render(crate::metrics::Exposition::OpenMetrics)
            .contains("dockgate_policy_reloads_total{result=\"error\"} 1")
    };
    let waited = std::time::Instant::now();
    while !reloads() {
        assert!(
            waited.elapsed() < Duration::from_secs(5),
            "no failed reload counted"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(gate.policy().hash(), expected);
}
