//! The patrol against a private dockerd started without the gate: scan,
//! Nagios output, remediation and watch.

use std::collections::{BTreeMap, BTreeSet};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::harness::{
    bind_volume, e2e_enabled, import_test_image, one_daemon_at_a_time, signal, wait_exit, wait_for,
    Daemon,
};
use crate::util::{dockgate_bin, TestCommand};

/// Containers and the deny-level rules each must get under the baseline.
const EXPECTED: &[(&str, &[&str])] = &[
    ("ok-plain", &[]),
    ("ok-vol", &[]),
    ("ok-created", &[]),
    ("bad-bind", &["host-mount"]),
    ("bad-sock", &["host-mount", "docker-socket"]),
    ("bad-priv", &["privileged"]),
    ("bad-net", &["host-namespace"]),
    ("bad-pid", &["host-namespace"]),
    ("bad-cap", &["capabilities"]),
    ("bad-dev", &["devices"]),
    ("bad-vol", &["host-mount"]),
    ("bad-from", &["host-mount"]),
];

fn setup(daemon: &Daemon) {
    let socket = daemon.path("docker.sock");
    let sock_bind = format!("{}:/var/run/docker.sock", socket.display());
    let commands: Vec<Vec<&str>> = vec![
        vec!["run", "-d", "--name", "ok-plain", "testimg", "sleep", "600"],
        vec![
            "run",
            "-d",
            "--name",
            "ok-vol",
            "-v",
            "okdata:/d",
            "testimg",
            "sleep",
            "600",
        ],
        vec!["create", "--name", "ok-created", "testimg", "true"],
        vec![
            "run",
            "-d",
            "--name",
            "bad-bind",
            "-v",
            "/etc:/etc2:ro",
            "testimg",
            "sleep",
            "600",
        ],
        vec![
            "run", "-d", "--name", "bad-sock", "-v", &sock_bind, "testimg", "sleep", "600",
        ],
        // Privileged containers cannot start on this VM; created is enough.
        vec![
            "create",
            "--name",
            "bad-priv",
            "--privileged",
            "testimg",
            "sleep",
            "600",
        ],
        vec![
            "run",
            "-d",
            "--name",
            "bad-net",
            "--network",
            "host",
            "testimg",
            "sleep",
            "600",
        ],
        vec![
            "run", "-d", "--name", "bad-pid", "--pid", "host", "testimg", "sleep", "600",
        ],
        vec![
            "run",
            "-d",
            "--name",
            "bad-cap",
            "--cap-add",
            "SYS_ADMIN",
            "testimg",
            "sleep",
            "600",
        ],
        vec![
            "run",
            "-d",
            "--name",
            "bad-dev",
            "--device",
            "/dev/null:/dev/xnull",
            "testimg",
            "sleep",
            "600",
        ],
        bind_volume("hostvol", "/etc"),
        vec![
            "run",
            "-d",
            "--name",
            "bad-vol",
            "-v",
            "hostvol:/x",
            "testimg",
            "sleep",
            "600",
        ],
        vec![
            "run",
            "-d",
            "--name",
            "bad-from",
            "--volumes-from",
            "bad-bind",
            "testimg",
            "sleep",
            "600",
        ],
    ];
    daemon.setup(&commands);
}

fn scan(daemon: &Daemon, extra: &[&str]) -> (i32, String, String) {
    let host = daemon.host();
    let mut args = vec!["scan", "--docker-host", host.as_str(), "--all"];
    args.extend_from_slice(extra);
    TestCommand::new(&args).run()
}

#[test]
fn patrol_on_a_real_daemon() {
    if !e2e_enabled() {
        return;
    }
    let _turn = one_daemon_at_a_time();
    let mut daemon = Daemon::start_with(None);
    import_test_image(&daemon);
    setup(&daemon);

    // JSON: exactly the violating containers, with the right rules.
    let (code, stdout, stderr) = scan(&daemon, &["--format", "json"]);
    assert_eq!(code, 1, "{stderr}");
    let doc: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(doc["schema"], "dockgate.scan/v1");
    assert!(doc["policy_hash"].as_str().unwrap().starts_with("sha256:"));
    let mut failing: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for result in doc["results"].as_array().unwrap() {
        let name = result["container"]["name"].as_str().unwrap().to_string();
        let entry = failing.entry(name).or_default();
        if result["result"] == "fail" {
            entry.insert(result["rule"].as_str().unwrap().to_string());
        }
    }
    let expected: BTreeMap<String, BTreeSet<String>> = EXPECTED
        .iter()
        .map(|(n, rules)| (n.to_string(), rules.iter().map(|r| r.to_string()).collect()))
        .collect();
    assert_eq!(failing, expected);
    assert_eq!(doc["summary"]["containers"], 12);
    assert_eq!(doc["summary"]["violating"], 9);

    // Text: a table and the summary.
    let (code, stdout, _) = scan(&daemon, &[]);
    assert_eq!(code, 1);
    assert!(stdout.starts_with("CONTAINER"), "{stdout}");
    assert!(stdout.ends_with(
        "9 of 12 containers violate the policy (capabilities, devices, docker-socket, host-mount, host-namespace, privileged)\n"
    ));

    // Nagios: CRITICAL, the documented line, perfdata.
    let (code, stdout, _) = scan(&daemon, &["--format", "nagios"]);
    assert_eq!(code, 2, "{stdout}");
    let first = stdout.lines().next().unwrap();
    let (status, perf) = first.split_once(" | ").unwrap();
    assert_eq!(
        status,
        "DOCKGATE CRITICAL: 9 of 12 containers violate the policy (capabilities, devices, docker-socket, host-mount, host-namespace, privileged)"
    );
    for item in [
        "containers=12;;;0;",
        "violating=9;;0;0;12",
        "host-mount=4;;;0;12",
        "host-namespace=2;;;0;12",
        "privileged=1;;;0;12",
    ] {
        assert!(
            perf.split(' ').any(|p| p == item),
            "{item} missing in {perf}"
        );
    }
    assert!(stdout.contains(
        "\nbad-priv: deny privileged: privileged container (HostConfig.Privileged=true)\n"
    ));
    let (code, stdout, _) = scan(&daemon, &["--format", "nagios", "-w", "0", "-c", "20"]);
    assert_eq!(code, 1);
    assert!(stdout.starts_with("DOCKGATE WARNING: 9 of 12"));
    let (code, stdout, _) = scan(&daemon, &["--format", "nagios", "--filter", "name=ok-"]);
    assert_eq!(code, 0);
    assert!(
        stdout.starts_with("DOCKGATE OK: 3 containers comply with the policy | "),
        "{stdout}"
    );

    // Dry run: says what it would do, does nothing.
    let (code, stdout, _) = scan(&daemon, &["--remediate", "remove", "--dry-run"]);
    assert_eq!(code, 1);
    assert!(stdout.contains("would remove bad-priv ("), "{stdout}");
    assert!(daemon.container_exists("bad-priv"));

    // Remove exactly the violating ones; keep the rest and every volume.
    let audit = daemon.path("patrol-audit.log");
    let (code, _, stderr) = scan(
        &daemon,
        &[
            "--remediate",
            "remove",
            "--audit-log",
            audit.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 1, "{stderr}");
    for (name, rules) in EXPECTED {
        assert_eq!(daemon.container_exists(name), rules.is_empty(), "{name}");
    }
    assert!(daemon.volume_exists("okdata") && daemon.volume_exists("hostvol"));
    let records = std::fs::read_to_string(&audit).unwrap();
    assert_eq!(records.lines().count(), 9, "{records}");
    assert!(records
        .lines()
        .all(|l| l.contains(r#""source":"patrol","user":"","method":"remove""#)));

    // Watch: a violating container started after it began is removed.
    let log = daemon.path("watch.log");
    let watch_audit = daemon.path("watch-audit.log");
    let mut watch = Command::new(dockgate_bin())
        .args([
            "watch",
            "--docker-host",
            &daemon.host(),
            "--remediate",
            "remove",
            "--audit-log",
            watch_audit.to_str().unwrap(),
        ])
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    wait_for("watch to connect", Duration::from_secs(20), || {
        std::fs::read_to_string(&log)
            .unwrap_or_default()
            .contains("comply with the policy")
    });
    let out = daemon.docker(&[
        "run",
        "-d",
        "--name",
        "late-cap",
        "--cap-add",
        "SYS_ADMIN",
        "testimg",
        "sleep",
        "600",
    ]);
    let _ = out; // the create may already lose the race with the watcher
    let out = daemon.docker(&["run", "-d", "--name", "late-ok", "testimg", "sleep", "600"]);
    assert!(out.status.success());
    wait_for("watch to remove late-cap", Duration::from_secs(20), || {
        !daemon.container_exists("late-cap")
    });
    assert!(daemon.container_exists("late-ok"));
    let logged = std::fs::read_to_string(&log).unwrap();
    for line in logged.lines() {
        serde_json::from_str::<serde_json::Value>(line).expect("watch logs JSON");
    }
    assert!(logged.contains(r#""rule":"capabilities""#), "{logged}");
    assert!(logged.contains(r#""latency_ms":"#), "{logged}");

    // A privileged exec session counts too.
    let _ = daemon.docker(&["exec", "--privileged", "late-ok", "true"]);
    wait_for(
        "watch to act on the privileged exec",
        Duration::from_secs(20),
        || !daemon.container_exists("late-ok"),
    );

    // The daemon restarts; watch reconnects and keeps working.
    daemon.restart_dockerd();
    let out = daemon.docker(&[
        "run",
        "-d",
        "--name",
        "after-restart",
        "--pid",
        "host",
        "testimg",
        "sleep",
        "600",
    ]);
    // Created, or its absence proves nothing: the run succeeds, or the
    // watch has already removed what the daemon created (it acts on the
    // create event, and can win the race with the start).
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success()
            || stderr.contains("is marked for removal")
            || stderr.contains("No such container"),
        "the container must be created: {stderr}"
    );
    wait_for(
        "watch to reconnect and remove after-restart",
        Duration::from_secs(60),
        || !daemon.container_exists("after-restart"),
    );
    // Removed by the watch, not by anything else.
    let removed = std::fs::read_to_string(&watch_audit)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|r| r["container"] == "after-restart")
        .expect("the watch's record of removing after-restart");
    assert_eq!(removed["method"], "remove");
    assert_eq!(removed["source"], "patrol");
    assert_eq!(removed["rules"][0], "host-namespace", "{removed}");
    assert!(std::fs::read_to_string(&log)
        .unwrap()
        .contains("reconnecting"));
    signal(&watch, "-TERM");
    let status = wait_exit(&mut watch, Duration::from_secs(10)).expect("watch exits on SIGTERM");
    assert!(status.success());

    same_findings_three_ways(&daemon);
}

/// The same container as a run line, as a compose service, and as the
/// inspect document of what a real daemon created from that line: `check`
/// finds the same things in all three.
fn same_findings_three_ways(daemon: &Daemon) {
    let line =
        "docker create --name three --cap-add SYS_ADMIN -v /etc:/etc2:ro -p 8080:80 --pid host \
                --sysctl kernel.msgmax=65536 -e API_TOKEN=x testimg sleep 600";
    let dir = crate::util::Dir::new("three-ways");
    let script = dir.create("create.sh", &format!("{line}\n"));
    let compose = dir.create(
        "compose.yaml",
        "services:\n  three:\n    image: testimg\n    command: [sleep, \"600\"]\n    cap_add: [SYS_ADMIN]\n    volumes: [\"/etc:/etc2:ro\"]\n    ports: [\"8080:80\"]\n    pid: host\n    sysctls:\n      kernel.msgmax: 65536\n    environment:\n      API_TOKEN: x\n",
    );
    let args: Vec<&str> = line
        .split_whitespace()
        .filter(|w| *w != "\\")
        .skip(1)
        .collect();
    let out = daemon.docker(&args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let inspect = daemon.docker(&["inspect", "three"]);
    let doc = dir.create("inspect.json", &String::from_utf8_lossy(&inspect.stdout));
    let findings = |extra: &[&str]| -> BTreeSet<(String, String)> {
        let mut args = vec!["check", "--format", "json"];
        args.extend_from_slice(extra);
        let (code, stdout, stderr) = TestCommand::new(&args).run();
        assert_eq!(code, 1, "{extra:?}: {stderr}");
        let doc: serde_json::Value = serde_json::from_str(&stdout).unwrap();
        doc["results"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["result"] != "pass")
            .map(|r| {
                (
                    r["rule"].as_str().unwrap().to_string(),
                    r["result"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    };
    let from_line = findings(&["--run-lines", script.to_str().unwrap()]);
    let from_compose = findings(&[compose.to_str().unwrap()]);
    let from_inspect = findings(&["--inspect", doc.to_str().unwrap()]);
    let expected: BTreeSet<(String, String)> = [
        ("capabilities", "fail"),
        ("host-mount", "fail"),
        ("host-namespace", "fail"),
        ("sysctls", "fail"),
        ("run-as-root", "warn"),
        ("published-ports", "warn"),
        ("env-secrets", "warn"),
    ]
    .iter()
    .map(|(r, a)| (r.to_string(), a.to_string()))
    .collect();
    assert_eq!(from_line, expected);
    assert_eq!(from_compose, expected);
    assert_eq!(from_inspect, expected);
}

/// A socket that refuses the user running the check: UNKNOWN, with the
/// reason an operator can act on.
#[test]
fn scan_without_permission_on_the_socket_is_unknown() {
    use std::os::unix::fs::PermissionsExt;
    if !e2e_enabled() {
        return;
    }
    let dir = crate::util::Dir::new("denied");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let socket = dir.path().join("docker.sock");
    let _listener = std::os::unix::net::UnixListener::bind(&socket).unwrap();
    std::fs::set_permissions(&socket, std::fs::Permissions::from_mode(0o600)).unwrap();
    let out = std::process::Command::new("runuser")
        .args(["-u", "nobody", "--"])
        .arg(dockgate_bin())
        .args(["scan", "--format", "nagios", "--docker-host"])
        .arg(format!("unix://{}", socket.display()))
        .output()
        .expect("runuser");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(3), "{stdout}");
    assert!(
        stdout.starts_with(&format!(
            "DOCKGATE UNKNOWN: permission denied on the Docker daemon at unix://{}: ",
            socket.display()
        )) && stdout
            .trim_end()
            .ends_with("Permission denied (os error 13)"),
        "{stdout}"
    );
}

/// A bind target with a `|` (and a newline and an ANSI escape) on a real
/// daemon: Icinga and Nagios read everything after the first `|` of the
/// long output as performance data, so unescaped it would cut that
/// finding and hide every finding listed after it.
#[test]
fn a_bar_in_a_bind_target_hides_no_finding_from_monitoring() {
    if !e2e_enabled() {
        return;
    }
    let _turn = one_daemon_at_a_time();
    let daemon = Daemon::start_with(None);
    import_test_image(&daemon);
    daemon.setup(&[
        vec![
            "create",
            "--name",
            "b-priv",
            "--privileged",
            "testimg",
            "true",
        ],
        // Listed first: the daemon lists the newest container first.
        vec![
            "create",
            "--name",
            "a-bar",
            "-v",
            "/etc:/e|x\n\u{1b}[2J",
            "testimg",
            "true",
        ],
    ]);
    let (code, stdout, stderr) = scan(&daemon, &["--format", "nagios"]);
    assert_eq!(code, 2, "{stderr}");
    // The plugin API: the first line's text and performance data, then
    // long text up to the first line with a `|`.
    let mut lines = stdout.lines();
    let (status, perf) = lines.next().unwrap().split_once(" | ").unwrap();
    assert_eq!(
        status,
        "DOCKGATE CRITICAL: 2 of 2 containers violate the policy (host-mount, privileged)"
    );
    assert!(perf.split(' ').any(|p| p == "host-mount=1;;;0;2"), "{perf}");
    let long: Vec<&str> = lines.take_while(|l| !l.contains('|')).collect();
    assert_eq!(
        long,
        [
            r#"a-bar: deny host-mount: bind mount of host path "/etc" at "/e\u{7c}x\u{a}\u{1b}[2J" (Mounts[0])"#,
            "a-bar: warn run-as-root: runs as root: no user given and the image's USER is unset (Config.User)",
            "b-priv: deny privileged: privileged container (HostConfig.Privileged=true)",
            "b-priv: warn run-as-root: runs as root: no user given and the image's USER is unset (Config.User)",
        ],
        "{stdout}"
    );
    assert_eq!(stdout.lines().count(), 1 + long.len());
    // JSON keeps the target whole.
    let (_, json, _) = scan(&daemon, &["--format", "json"]);
    assert!(json.contains(r#"at \"/e|x\\n\\u{1b}[2J\""#), "{json}");
}
