//! `dockgate audit` on private dockerds (20.10 and 26.1) in several
//! configurations:
//! without the gate, with it (answering, then stopped), with an
//! unprotected TCP socket on 127.0.0.1, and with a daemon.json that no
//! longer says what the running daemon has. Two daemons run side by side:
//! each audit judges the one answering on its socket.

use std::process::Command;

use crate::harness::*;
use crate::util::{dockgate_bin, free_local_address};

/// The audit of a daemon: exit code and `(check, action, message)` of
/// each finding.
fn audit(daemon: &Daemon, plugin: &str) -> (i32, Vec<(String, String, String)>) {
    let (code, report) = host_audit(daemon, plugin);
    let findings = report["results"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| {
            let rule = r["rule"].as_str().unwrap().to_string();
            r["findings"]
                .as_array()
                .unwrap()
                .iter()
                .map(move |f| {
                    (
                        rule.clone(),
                        f["action"].as_str().unwrap().to_string(),
                        f["message"].as_str().unwrap().to_string(),
                    )
                })
                .collect::<Vec<_>>()
        })
        .collect();
    (code, findings)
}

/// `dockgate audit` as its timer runs it: records to a log and syslog
/// when the findings change. Returns the records in the log so far.
fn audit_on_timer(
    daemon: &Daemon,
    plugin: &str,
    syslog: &std::path::Path,
) -> Vec<serde_json::Value> {
    let log = daemon.path("host-audit.log");
    let status = Command::new(dockgate_bin())
        .args(["audit", "--plugin", plugin, "--docker-host"])
        .arg(daemon.host())
        .arg("--audit-log")
        .arg(&log)
        .arg("--state")
        .arg(daemon.path("audit-state"))
        .arg("--syslog")
        .arg(format!("unix://{}", syslog.display()))
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(status.code().is_some_and(|c| c <= 1), "{status:?}");
    std::fs::read_to_string(&log)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Asserts that none of `checks` found anything.
fn passes(findings: &[(String, String, String)], checks: &[&str]) {
    for check in checks {
        assert!(found(findings, check).is_empty(), "{check}: {findings:?}");
    }
}

fn found<'a>(findings: &'a [(String, String, String)], check: &str) -> Vec<&'a str> {
    findings
        .iter()
        .filter(|(rule, _, _)| rule == check)
        .map(|(_, _, message)| message.as_str())
        .collect()
}

#[test]
fn the_audit_judges_the_daemon_that_answers() {
    if !e2e_enabled() {
        return;
    }
    let _turn = one_daemon_at_a_time();
    for generation in [Generation::Dockerd20, Generation::Dockerd26] {
        audit_on(generation);
    }
}

/// The exposed daemon's configuration file at its start.
const STARTED_WITH: &str = r#"{"live-restore": true, "labels": ["team=a"],
    "registry-mirrors": ["https://mirror.example", "https://mirror2.example/"],
    "insecure-registries": ["http://registry.example:5000", "10.9.0.0/16"]}
"#;

/// Everything above on one daemon generation.
fn audit_on(generation: Generation) {
    let address = free_local_address();
    // Without the gate, with an unprotected TCP socket, and live restore
    // in its configuration file.
    let tcp = format!("tcp://{address}");
    let exposed = Daemon::start_with_args(generation, None, |dir| {
        std::fs::write(dir.join("daemon.json"), STARTED_WITH).unwrap();
        vec![format!("--host={tcp}")]
    });
    // With the gate, beside it.
    let mut gated = Daemon::start_on(generation, Some("profile = \"baseline\"\n"));
    let plugin = gated.plugin.clone();

    let (code, findings) = audit(&exposed, &plugin);
    assert_eq!(code, 1, "{findings:?}");
    assert_eq!(
        found(&findings, "audit/gate-installed"),
        [format!("the daemon asks no authorization plugin: no rule of the policy is enforced (dockgate is expected as {plugin:?})")]
    );
    assert_eq!(
        found(&findings, "audit/tcp-tls-verify"),
        [format!("the daemon listens on {tcp} without TLS: anyone who reaches it is root on the host, and to the gate looks like a caller on the Unix socket")]
    );
    passes(&findings, &["audit/live-restore", "audit/daemon-process"]);
    // The data root as the daemon made it (CVE-2021-41091: 0710 since
    // 20.10.9), then opened to every user.
    passes(&findings, &["audit/data-root"]);
    let data = exposed.path("data");
    let mode = |m| {
        std::fs::set_permissions(&data, std::os::unix::fs::PermissionsExt::from_mode(m)).unwrap()
    };
    mode(0o755);
    let (_, opened) = audit(&exposed, &plugin);
    mode(0o710);
    assert_eq!(
        found(&opened, "audit/data-root"),
        [format!(
            "{} (data root): mode 755 (at most 711)",
            data.display()
        )]
    );
    // The file as the daemon read it: its lists as the daemon normalises
    // them (a mirror gains a slash, a registry loses its scheme).
    passes(&findings, &["audit/config-drift"]);

    // What the policy expects: with BuildKit let through, the daemon's
    // default network.host entitlement is a finding.
    let policy = exposed.path("buildkit-allowed.toml");
    std::fs::write(&policy, "[rules.buildkit]\naction = \"off\"\n").unwrap();
    let out = Command::new(dockgate_bin())
        .args(["audit", "--format", "json", "--policy"])
        .arg(&policy)
        .arg("--docker-host")
        .arg(exposed.host())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("the daemon grants them network.host (its default)"),
        "{text}"
    );
    // (The baseline's buildkit rule denies: nothing to find.)
    passes(&findings, &["audit/builder-entitlements"]);

    // The other daemon, found by its own socket: the gate is installed and
    // answers, and its command line has no TCP socket.
    let (code, findings) = audit(&gated, &plugin);
    passes(
        &findings,
        &[
            "audit/gate-installed",
            "audit/gate-answers",
            "audit/tcp-tls-verify",
        ],
    );
    assert_eq!(
        found(&findings, "audit/live-restore"),
        ["live restore is off: containers stop whenever the daemon does (and the gate with it)"]
    );
    assert_eq!(code, 0, "{findings:?}");

    // The gate stops answering.
    if let Some(mut gate) = gated.gate.take() {
        let _ = gate.kill();
        let _ = gate.wait();
    }
    let (code, findings) = audit(&gated, &plugin);
    assert_eq!(code, 1);
    let answers = found(&findings, "audit/gate-answers");
    assert!(
        answers.len() == 1
            && answers[0].contains("does not answer")
            && answers[0].contains("the daemon refuses every request"),
        "{findings:?}"
    );
    // The daemon itself refuses every request while its plugin is gone:
    // the rest is audited from its process and files.
    let api = found(&findings, "audit/daemon-answers");
    assert!(
        api.len() == 1 && api[0].starts_with("the daemon does not answer its API ("),
        "{findings:?}"
    );
    passes(&findings, &["audit/gate-installed"]);
    gated.start_gate();

    // Another plugin where the daemon looks first for the gate's name
    // (/run/docker/plugins/NAME.sock comes before the spec file): it
    // answers, but not as dockgate.
    let impostor = std::path::PathBuf::from(format!("/run/docker/plugins/{plugin}.sock"));
    std::fs::create_dir_all("/run/docker/plugins").unwrap();
    let listener = std::os::unix::net::UnixListener::bind(&impostor).unwrap();
    let answering = std::thread::spawn(move || {
        use std::io::{Read, Write};
        if let Ok((mut stream, _)) = listener.accept() {
            let mut request = [0u8; 4096];
            let _ = stream.read(&mut request);
            let body = r#"{"Allow":true}"#;
            let _ = write!(
                stream,
                "HTTP/1.0 200 OK\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            );
        }
    });
    let (_, findings) = audit(&gated, &plugin);
    let _ = answering.join();
    let _ = std::fs::remove_file(&impostor);
    assert_eq!(
        found(&findings, "audit/gate-answers"),
        [format!("another plugin answers on {}, where the daemon finds {plugin:?} first: the daemon asks it, not dockgate, and no rule of the policy is enforced", impostor.display())]
    );
    passes(&findings, &["audit/gate-address-changed"]);
    // The spec file written again after the daemon started: the daemon
    // asks what it found first.
    let spec = format!("/etc/docker/plugins/{plugin}.spec");
    let written = std::fs::read(&spec).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(20));
    std::fs::write(&spec, written).unwrap();
    let (_, findings) = audit(&gated, &plugin);
    assert_eq!(
        found(&findings, "audit/gate-address-changed"),
        [format!("{spec} was written after the daemon started: the daemon asks the address it found first until it restarts, which may not be the gate's")]
    );

    // The same checks as a section of the scan: the host is one more
    // subject of its report.
    let out = Command::new(dockgate_bin())
        .args([
            "scan",
            "--format",
            "json",
            "--host",
            &plugin,
            "--docker-host",
        ])
        .arg(gated.host())
        .arg("--lookup-secret")
        .arg(gated.path("lookup-secret"))
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let host_results: Vec<(&str, &str)> = report["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["rule"] == "audit/gate-installed" || r["rule"] == "audit/live-restore")
        .map(|r| (r["rule"].as_str().unwrap(), r["result"].as_str().unwrap()))
        .collect();
    assert_eq!(
        host_results,
        [
            ("audit/gate-installed", "pass"),
            ("audit/live-restore", "warn")
        ]
    );

    // On a timer: one record when the findings change, and only then.
    let syslog_path = exposed.path("syslog.sock");
    let syslog = std::os::unix::net::UnixDatagram::bind(&syslog_path).unwrap();
    syslog
        .set_read_timeout(Some(std::time::Duration::from_secs(5)))
        .unwrap();
    let records = audit_on_timer(&exposed, &plugin, &syslog_path);
    assert_eq!(records.len(), 1);
    assert_eq!(records[0]["endpoint"], "audit.host");
    assert_eq!(records[0]["decision"], "deny");
    let mut datagram = [0u8; 65536];
    let n = syslog.recv(&mut datagram).expect("a syslog message");
    let message = String::from_utf8_lossy(&datagram[..n]);
    assert!(
        message.contains("audit.host") && message.contains("audit/tcp-tls-verify"),
        "{message}"
    );
    assert_eq!(audit_on_timer(&exposed, &plugin, &syslog_path).len(), 1);

    // daemon.json edited after the start: the running daemon still has
    // what it was started with.
    std::fs::write(
        exposed.path("daemon.json"),
        r#"{"live-restore": false, "debug": true, "labels": ["team=b"], "authorization-plugins": ["dockgate"],
            "registry-mirrors": ["https://mirror.example"], "insecure-registries": ["10.9.0.0/16"]}"#,
    )
    .unwrap();
    let (_, findings) = audit(&exposed, &plugin);
    let file = exposed.path("daemon.json").display().to_string();
    assert_eq!(
        found(&findings, "audit/config-drift"),
        [
            format!("authorization-plugins: {file} says [\"dockgate\"], the running daemon has []"),
            format!("debug: {file} says true, the running daemon has false"),
            format!("insecure-registries: {file} says [\"10.9.0.0/16\"], the running daemon has [\"10.9.0.0/16\",\"registry.example:5000\"]"),
            format!("labels: {file} says [\"team=b\"], the running daemon has [\"team=a\"]"),
            format!("live-restore: {file} says false, the running daemon has true"),
            format!("registry-mirrors: {file} says [\"https://mirror.example/\"], the running daemon has [\"https://mirror.example/\",\"https://mirror2.example/\"]"),
        ]
    );
    // ... which the timer records.
    let records = audit_on_timer(&exposed, &plugin, &syslog_path);
    assert_eq!(records.len(), 2);
    assert!(records[1]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r == "audit/config-drift"));
    // A key taken out: the next start takes the default.
    std::fs::write(exposed.path("daemon.json"), "{}\n").unwrap();
    let (_, findings) = audit(&exposed, &plugin);
    assert!(
        found(&findings, "audit/config-drift").contains(&format!("live-restore: {file} does not set it, nor does a flag, so the next start takes false; the running daemon has true").as_str()),
        "{findings:?}"
    );

    drop(exposed);
    drop(gated);
    swarm_checks(generation);
}

/// A swarm manager initialised as `docker swarm init` leaves it, then set
/// as the benchmark asks (on a daemon of its own: swarm mode refuses live
/// restore).
fn swarm_checks(generation: Generation) {
    // Debug mode and a TCP host run together, the host without a scheme.
    let tcp = format!("127.0.0.1:{}", free_port());
    let daemon = &Daemon::start_with_args(generation, None, |_| vec!["-DH".into(), tcp.clone()]);
    let (_, findings) = audit(daemon, "dockgate");
    assert_eq!(
        found(&findings, "audit/tcp-tls-verify"),
        [format!("the daemon listens on tcp://{tcp} without TLS: anyone who reaches it is root on the host, and to the gate looks like a caller on the Unix socket")]
    );
    assert_eq!(
        found(&findings, "audit/log-level"),
        ["debug mode (--debug, or \"debug\": true) logs at level debug"]
    );
    let listen = format!("0.0.0.0:{}", free_port());
    daemon.docker_ok(&swarm_init(&listen));
    let (_, findings) = audit(daemon, "dockgate");
    let swarm: Vec<(&str, &str)> = findings
        .iter()
        .filter(|(rule, _, _)| {
            rule.starts_with("audit/swarm") || rule == "audit/overlay-encryption"
        })
        .map(|(rule, _, message)| (rule.as_str(), message.as_str()))
        .collect();
    let listening =
        format!("the swarm's control plane listens on {listen}, every interface of the host");
    assert_eq!(
        swarm,
        [
            ("audit/swarm", "the node is in a swarm (a manager, active): its managers start containers here without this daemon's API; every manager must run the gate with the same policy"),
            ("audit/swarm-listen", listening.as_str()),
            ("audit/overlay-encryption", "overlay network ingress (swarm) is not encrypted"),
            ("audit/swarm-secrets", "no swarm secrets: confirm services take none in their environment or image"),
            ("audit/swarm-autolock", "managers do not lock their keys (auto-lock off): whoever copies a manager's disk holds the swarm's keys and its secrets"),
            ("audit/swarm-node-certs", "node certificates last 2160 hours: a stolen one works that long"),
            ("audit/swarm-ca", "the swarm's root CA is rotated only by hand: confirm it is rotated on a schedule"),
            ("audit/swarm-data-path", "overlay traffic shares the control plane's interface (no --data-path-addr)"),
        ]
    );
    daemon.docker_ok(&["swarm", "update", "--autolock=true", "--cert-expiry", "48h"]);
    let secret = daemon.path("secret");
    std::fs::write(&secret, "s3cret").unwrap();
    daemon.docker_ok(&["secret", "create", "db-password", secret.to_str().unwrap()]);
    let (_, findings) = audit(daemon, "dockgate");
    for (gone, check) in [
        (true, "audit/swarm-autolock"),
        (true, "audit/swarm-node-certs"),
        (true, "audit/swarm-secrets"),
        (false, "audit/swarm-unlock-key"),
    ] {
        assert_eq!(
            found(&findings, check).is_empty(),
            gone,
            "{check}: {findings:?}"
        );
    }
    daemon.docker_ok(&["swarm", "leave", "--force"]);
    let (_, findings) = audit(daemon, "dockgate");
    assert!(
        !findings
            .iter()
            .any(|(rule, _, _)| rule.starts_with("audit/swarm")),
        "{findings:?}"
    );
}

/// A TCP port nobody listens on now.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
