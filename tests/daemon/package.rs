//! The Debian package: built, installed with dpkg, used, removed.

use std::process::Command;

use crate::util::{dockgate_bin, etc_dockgate_lock, Dir};

fn run(cmd: &mut Command) -> (bool, String) {
    let out = cmd.output().expect("run");
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// Purges the package when the test ends, however it ends.
struct Installed;

impl Drop for Installed {
    fn drop(&mut self) {
        let _ = Command::new("dpkg").args(["--purge", "dockgate"]).output();
    }
}

#[test]
fn debian_package_installs_and_works() {
    // dpkg needs root, like the daemons.
    if !crate::harness::e2e_enabled() {
        return;
    }
    let _turn = etc_dockgate_lock();
    // Packaging is CPU-heavy; do not starve a private daemon's tests.
    let _daemon_turn = crate::harness::one_daemon_at_a_time();
    let (installed, _) = run(Command::new("dpkg").args(["-s", "dockgate"]));
    if installed || std::path::Path::new("/etc/dockgate").exists() {
        eprintln!("dockgate is installed on this machine; not replacing it");
        return;
    }
    let dir = Dir::new("deb");
    let (ok, out) = run(
        Command::new(concat!(env!("CARGO_MANIFEST_DIR"), "/packaging/deb/build"))
            .arg("--binary")
            .arg(dockgate_bin())
            .arg("--out")
            .arg(dir.path()),
    );
    assert!(ok, "{out}");
    let deb = out.lines().last().unwrap().trim().to_string();
    let _cleanup = Installed;
    let (ok, out) = run(Command::new("dpkg").args(["-i", &deb]));
    assert!(ok, "{out}");
    assert!(
        out.contains("systemctl enable --now dockgate.socket dockgate.service"),
        "{out}"
    );

    let (ok, out) = run(Command::new("/usr/bin/dockgate").arg("--version"));
    assert!(ok);
    assert_eq!(out, format!("dockgate {}\n", env!("CARGO_PKG_VERSION")));
    // The shipped policy comments every rule and states the baseline.
    let (ok, out) = run(Command::new("/usr/bin/dockgate").args([
        "policy",
        "validate",
        "/etc/dockgate/policy.toml",
    ]));
    assert!(ok, "{out}");
    assert!(
        out.ends_with(&format!(
            "valid (hash {})\n",
            dockgate_rules::Policy::default().hash()
        )),
        "{out}"
    );
    let (ok, out) = run(Command::new("/usr/bin/dockgate").args(["policy", "show"]));
    assert!(
        ok && out.starts_with("# effective policy from /etc/dockgate/policy.toml"),
        "{out}"
    );
    for file in [
        "/usr/share/man/man1/dockgate.1.gz",
        "/usr/share/bash-completion/completions/dockgate",
        "/usr/share/dockgate/icinga2/dockgate.conf",
        "/usr/share/dockgate/nagios/dockgate.cfg",
        "/lib/systemd/system/dockgate.socket",
    ] {
        assert!(std::path::Path::new(file).exists(), "{file}");
    }
    let unit = std::fs::read_to_string("/lib/systemd/system/dockgate.service").unwrap();
    assert!(unit.contains("ExecStart=/usr/bin/dockgate serve"), "{unit}");
    // Descriptors for every connection and look-up (issue: an exhausted
    // limit of 1,024 stalled the daemon's requests).
    assert!(unit.contains("\nLimitNOFILE=65536\n"), "{unit}");
    let (ok, conffiles) =
        run(Command::new("dpkg-query").args(["-W", "-f=${Conffiles}", "dockgate"]));
    assert!(
        ok && conffiles.contains("/etc/dockgate/policy.toml"),
        "{conffiles}"
    );

    let (ok, out) = run(Command::new("dpkg").args(["--purge", "dockgate"]));
    assert!(ok, "{out}");
    assert!(!std::path::Path::new("/usr/bin/dockgate").exists());
    assert!(!std::path::Path::new("/etc/dockgate/policy.toml").exists());
}
