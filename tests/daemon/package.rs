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
    // lintian: no error and no warning (scripts/test installs it).
    let (_, out) = run(Command::new("lintian").args(["--tag-display-limit", "0", &deb]));
    let tags: Vec<&str> = out
        .lines()
        .filter(|l| l.starts_with("E: ") || l.starts_with("W: "))
        .collect();
    assert!(tags.is_empty(), "lintian: {out}");
    // The units' sandboxing, as systemd scores it (9.6 UNSAFE without).
    for unit in [
        "dockgate.service",
        "dockgate-watch.service",
        "dockgate-proxy.service",
        "dockgate-audit.service",
    ] {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/contrib/systemd/").to_string() + unit;
        let (_, out) =
            run(Command::new("systemd-analyze").args(["security", "--offline=true", &path]));
        let score: f64 = out
            .lines()
            .find_map(|l| l.split("exposure level for ").nth(1))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("no score in {out}"));
        assert!(score <= 3.0, "{unit}: exposure {score}: {out}");
    }
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
        "/usr/share/man/man1/dockgate-serve.1.gz",
        "/usr/share/man/man1/dockgate-scan.1.gz",
        "/usr/share/man/man1/dockgate-watch.1.gz",
        "/usr/share/man/man1/dockgate-proxy.1.gz",
        "/usr/share/man/man1/dockgate-audit.1.gz",
        "/usr/share/man/man1/dockgate-check.1.gz",
        "/usr/share/man/man1/dockgate-policy.1.gz",
        "/usr/share/man/man1/dockgate-explain.1.gz",
        "/usr/share/man/man5/dockgate-policy.toml.5.gz",
        "/usr/share/doc/dockgate/copyright",
        "/usr/share/doc/dockgate/changelog.gz",
        "/usr/share/dockgate/recipes/docker-api-readers.toml",
        "/etc/logrotate.d/dockgate",
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

    // The bash completion offers the rules to explain.
    let completion =
        std::fs::read_to_string("/usr/share/bash-completion/completions/dockgate").unwrap();
    assert!(completion.contains("host-mount"), "{completion}");
    // The shipped recipes are valid policies.
    for recipe in [
        "config-files-read-only",
        "docker-api-readers",
        "monitoring-agents",
    ] {
        let path = format!("/usr/share/dockgate/recipes/{recipe}.toml");
        let (ok, out) = run(Command::new("/usr/bin/dockgate").args(["policy", "validate", &path]));
        assert!(ok, "{out}");
    }
    // Removal disables the units (stops them where systemd runs).
    let wants = "/etc/systemd/system/multi-user.target.wants/dockgate.service";
    let (ok, out) = run(Command::new("systemctl").args(["enable", "dockgate.service"]));
    assert!(ok && std::path::Path::new(wants).exists(), "{out}");
    let (ok, out) = run(Command::new("dpkg").args(["--remove", "dockgate"]));
    assert!(ok, "{out}");
    assert!(
        !std::path::Path::new(wants).exists(),
        "still enabled after removal"
    );
    let (ok, out) = run(Command::new("dpkg").args(["--purge", "dockgate"]));
    assert!(ok, "{out}");
    assert!(!std::path::Path::new("/usr/bin/dockgate").exists());
    assert!(!std::path::Path::new("/etc/dockgate/policy.toml").exists());
}

#[test]
fn metrics_pass_promtool() {
    if !crate::harness::e2e_enabled() {
        return;
    }
    let promtool = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/target/prometheus/root/usr/bin/promtool"
    );
    assert!(
        std::path::Path::new(promtool).exists(),
        "no promtool at {promtool}: run scripts/test"
    );
    let dir = Dir::new("promtool");
    let socket = dir.path().join("g.sock");
    let metrics = crate::util::free_local_address();
    let port = metrics.rsplit(':').next().unwrap().to_string();
    // `:PORT` listens on every interface.
    let _served = crate::util::Served::start(
        &[
            "--socket",
            socket.to_str().unwrap(),
            "--metrics-addr",
            &format!(":{port}"),
        ],
        &socket,
        std::process::Stdio::null(),
    );
    for (method, path) in [
        ("GET", "/_ping"),
        ("POST", "/v1.41/containers/create"),
        ("GET", "/nope"),
    ] {
        let body =
            (method == "POST").then_some(&br#"{"Image":"x","HostConfig":{"Privileged":true}}"#[..]);
        crate::util::authz(
            &socket,
            &dockgate_inputs::authz::AuthzRequest::new(method, path, body),
        );
    }
    let scrape = |accept: &str| {
        let out = Command::new("curl")
            .args([
                "-sf",
                "-H",
                &format!("Accept: {accept}"),
                &format!("http://127.0.0.1:{port}/metrics"),
            ])
            .output()
            .expect("curl");
        assert!(out.status.success());
        out.stdout
    };
    let classic = scrape("text/plain;version=0.0.4");
    let text = String::from_utf8_lossy(&classic).into_owned();
    assert!(
        text.contains(
            "dockgate_decisions_total{endpoint=\"container.create\",decision=\"deny\"} 1"
        ),
        "{text}"
    );
    assert!(text.contains("\nprocess_resident_memory_bytes "), "{text}");
    let mut check = Command::new(promtool)
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    check.stdin.take().unwrap().write_all(&classic).unwrap();
    let out = check.wait_with_output().unwrap();
    assert!(
        out.status.success() && out.stdout.is_empty() && out.stderr.is_empty(),
        "promtool: {}{}\n{text}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let open = String::from_utf8(scrape("application/openmetrics-text;version=1.0.0")).unwrap();
    assert!(open.ends_with("# EOF\n"), "{open}");
}
