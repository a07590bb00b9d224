//! The gate in front of a real, private dockerd, driven by the real docker
//! CLI and by raw API requests with odd but valid encodings.

use std::process::Output;
use std::time::{Duration, Instant};

use crate::harness::*;

fn cases(plugin: &str) -> Vec<Case> {
    use After::*;
    use Expect::*;
    let plugin = leak(plugin.to_string());
    let mut cases = vec![
        // Benign work goes through and works.
        cli(
            "plain run",
            &["run", "--rm", "testimg", "true"],
            Allow,
            Nothing,
        ),
        cli(
            "named volume",
            &["run", "--rm", "-v", "e2e-data:/data", "testimg", "true"],
            Allow,
            Nothing,
        ),
        cli(
            "tmpfs",
            &["run", "--rm", "--tmpfs", "/tmp", "testimg", "true"],
            Allow,
            Nothing,
        ),
        cli(
            "cap-drop ALL",
            &["run", "--rm", "--cap-drop", "ALL", "testimg", "true"],
            Allow,
            Nothing,
        ),
        cli(
            "default capabilities",
            &[
                "run",
                "--rm",
                "--cap-add",
                "CHOWN",
                "--cap-add",
                "NET_BIND_SERVICE",
                "testimg",
                "true",
            ],
            Allow,
            Nothing,
        ),
        cli(
            "user, read-only, limits",
            &[
                "run",
                "--rm",
                "-u",
                "1000:1000",
                "--read-only",
                "--memory",
                "64m",
                "--pids-limit",
                "100",
                "testimg",
                "id",
            ],
            Allow,
            Nothing,
        ),
        cli(
            "network none",
            &["run", "--rm", "--network", "none", "testimg", "true"],
            Allow,
            Nothing,
        ),
        cli(
            "env with a secret warns only",
            &[
                "run",
                "--rm",
                "-e",
                "DB_PASSWORD=hunter2",
                "testimg",
                "true",
            ],
            Allow,
            Nothing,
        ),
        cli(
            "volume create",
            &["volume", "create", "e2e-plainvol"],
            Allow,
            Nothing,
        ),
        cli(
            "volumes-from a benign container",
            &["run", "--rm", "--volumes-from", "benign", "testimg", "true"],
            Allow,
            Nothing,
        ),
        cli("ps", &["ps", "-a"], Allow, Nothing),
        cli("logs", &["logs", "benign"], Allow, Nothing),
        cli("inspect", &["inspect", "benign"], Allow, Nothing),
        cli("exec", &["exec", "benign", "true"], Allow, Nothing),
        cli(
            "exec as a user",
            &["exec", "-u", "1000", "benign", "id"],
            Allow,
            Nothing,
        ),
        cli(
            "update limits",
            &[
                "update",
                "--memory",
                "128m",
                "--memory-swap",
                "256m",
                "benign",
            ],
            Allow,
            Nothing,
        ),
        cli(
            "port on loopback",
            &[
                "create",
                "--name",
                "e2e-port",
                "-p",
                "127.0.0.1:18080:80",
                "testimg",
                "true",
            ],
            Allow,
            Container("e2e-port"),
        ),
        cli(
            "rm",
            &["rm", "-f", "e2e-port"],
            Allow,
            NoContainer("e2e-port"),
        ),
        cli("plugin ls", &["plugin", "ls"], Allow, Nothing),
        cli(
            "plugin disable",
            &["plugin", "disable", plugin],
            Deny(&["plugin-management"]),
            Nothing,
        ),
        cli("images", &["images"], Allow, Nothing),
        // Host takeovers are refused, and nothing is created.
        cli(
            "bind /",
            &[
                "run", "--name", "e2e-d1", "-v", "/:/host", "testimg", "true",
            ],
            Deny(&["host-mount", "docker-socket"]),
            NoContainer("e2e-d1"),
        ),
        cli(
            "docker.sock",
            &[
                "run",
                "--name",
                "e2e-d2",
                "-v",
                "/var/run/docker.sock:/var/run/docker.sock",
                "testimg",
                "true",
            ],
            Deny(&["docker-socket"]),
            NoContainer("e2e-d2"),
        ),
        cli(
            "/run read-only",
            &[
                "run",
                "--name",
                "e2e-d3",
                "-v",
                "/run:/r:ro",
                "testimg",
                "true",
            ],
            Deny(&["docker-socket"]),
            NoContainer("e2e-d3"),
        ),
        cli(
            "bind /etc read-only",
            &[
                "create",
                "--name",
                "e2e-d4",
                "-v",
                "/etc:/etc2:ro",
                "testimg",
                "true",
            ],
            Deny(&["host-mount"]),
            NoContainer("e2e-d4"),
        ),
        cli(
            "--mount type=bind",
            &[
                "run",
                "--name",
                "e2e-d5",
                "--mount",
                "type=bind,source=/tmp,target=/t,readonly",
                "testimg",
                "true",
            ],
            Deny(&["host-mount"]),
            NoContainer("e2e-d5"),
        ),
        cli(
            "rshared propagation",
            &[
                "run",
                "--name",
                "e2e-d6",
                "--mount",
                "type=bind,source=/tmp,target=/t,bind-propagation=rshared",
                "testimg",
                "true",
            ],
            Deny(&["mount-propagation"]),
            NoContainer("e2e-d6"),
        ),
        cli(
            "privileged",
            &[
                "run",
                "--name",
                "e2e-d10",
                "--privileged",
                "testimg",
                "true",
            ],
            Deny(&["privileged"]),
            NoContainer("e2e-d10"),
        ),
        cli(
            "cap-add SYS_ADMIN",
            &[
                "run",
                "--name",
                "e2e-d18",
                "--cap-add",
                "SYS_ADMIN",
                "testimg",
                "true",
            ],
            Deny(&["capabilities"]),
            NoContainer("e2e-d18"),
        ),
        cli(
            "cap-add ALL",
            &[
                "run",
                "--name",
                "e2e-d19",
                "--cap-add",
                "ALL",
                "testimg",
                "true",
            ],
            Deny(&["capabilities"]),
            NoContainer("e2e-d19"),
        ),
        cli(
            "device",
            &[
                "run",
                "--name",
                "e2e-d20",
                "--device",
                "/dev/null:/dev/xnull",
                "testimg",
                "true",
            ],
            Deny(&["devices"]),
            NoContainer("e2e-d20"),
        ),
        cli(
            "device cgroup rule",
            &[
                "run",
                "--name",
                "e2e-d21",
                "--device-cgroup-rule",
                "c 1:3 rwm",
                "testimg",
                "true",
            ],
            Deny(&["devices"]),
            NoContainer("e2e-d21"),
        ),
        cli(
            "gpus",
            &[
                "run", "--name", "e2e-d22", "--gpus", "all", "testimg", "true",
            ],
            Deny(&["devices"]),
            NoContainer("e2e-d22"),
        ),
        cli(
            "seccomp unconfined",
            &[
                "run",
                "--name",
                "e2e-d23",
                "--security-opt",
                "seccomp=unconfined",
                "testimg",
                "true",
            ],
            Deny(&["security-profile"]),
            NoContainer("e2e-d23"),
        ),
        cli(
            "apparmor unconfined",
            &[
                "run",
                "--name",
                "e2e-d24",
                "--security-opt",
                "apparmor=unconfined",
                "testimg",
                "true",
            ],
            Deny(&["security-profile"]),
            NoContainer("e2e-d24"),
        ),
        cli(
            "label disable",
            &[
                "run",
                "--name",
                "e2e-d25",
                "--security-opt",
                "label=disable",
                "testimg",
                "true",
            ],
            Deny(&["security-profile"]),
            NoContainer("e2e-d25"),
        ),
        cli(
            "systempaths unconfined",
            &[
                "run",
                "--name",
                "e2e-d26",
                "--security-opt",
                "systempaths=unconfined",
                "testimg",
                "true",
            ],
            Deny(&["security-profile"]),
            NoContainer("e2e-d26"),
        ),
        cli(
            "unsafe sysctl",
            &[
                "run",
                "--name",
                "e2e-d27",
                "--sysctl",
                "kernel.msgmax=65536",
                "testimg",
                "true",
            ],
            Deny(&["sysctls"]),
            NoContainer("e2e-d27"),
        ),
        // The 20.10 CLI has no --annotation (API 1.43); newer daemons pass
        // annotations to runc, which makes systemd properties of these.
        api(
            "annotation the runtime acts on",
            json_post(
                "/v1.41/containers/create?name=e2e-d27a",
                r#"{"Image":"testimg","HostConfig":{"Annotations":{"org.systemd.property.DeviceAllow":"/dev/sda rwm"}}}"#,
            ),
            Deny(&["runtime-annotations"]),
            NoContainer("e2e-d27a"),
        ),
        cli(
            "cgroup parent",
            &[
                "run",
                "--name",
                "e2e-d28",
                "--cgroup-parent",
                "/custom",
                "testimg",
                "true",
            ],
            Deny(&["cgroup-parent"]),
            NoContainer("e2e-d28"),
        ),
        cli(
            "runtime",
            &[
                "run",
                "--name",
                "e2e-d29",
                "--runtime",
                "runsc",
                "testimg",
                "true",
            ],
            Deny(&["runtime"]),
            NoContainer("e2e-d29"),
        ),
        cli(
            "start a benign container",
            &["start", "stopped"],
            Allow,
            Nothing,
        ),
        cli(
            "stop it again",
            &["stop", "-t", "0", "stopped"],
            Allow,
            NotRunning("stopped"),
        ),
    ];
    // Each host namespace, by its flag.
    for (flag, name) in [
        ("--pid", "e2e-d11"),
        ("--network", "e2e-d12"),
        ("--ipc", "e2e-d13"),
        ("--uts", "e2e-d14"),
        ("--userns", "e2e-d15"),
        ("--cgroupns", "e2e-d16"),
    ] {
        let what = leak(format!("{flag} host"));
        cases.push(cli(
            what,
            &["run", "--name", name, flag, "host", "testimg", "true"],
            Deny(&["host-namespace"]),
            NoContainer(name),
        ));
    }
    cases
}

#[test]
fn gate_on_dockerd_20() {
    gate_on_a_real_daemon(Generation::Dockerd20);
}

#[test]
fn gate_on_dockerd_26() {
    gate_on_a_real_daemon(Generation::Dockerd26);
}

fn gate_on_a_real_daemon(generation: Generation) {
    if !e2e_enabled() {
        return;
    }
    let _turn = one_daemon_at_a_time();
    // Set up with the policy in audit mode.
    let mut daemon = Daemon::start_on(generation, Some("mode = \"audit\"\n"));
    let version = daemon.docker_ok(&["version", "--format", "{{.Server.Version}}"]);
    assert!(
        version.starts_with(generation.version_prefix()),
        "{generation:?} runs dockerd {version}"
    );
    import_test_image(&daemon);
    daemon.setup(&[
        vec!["run", "-d", "--name", "benign", "testimg", "sleep", "600"],
        vec!["create", "--name", "stopped", "testimg", "sleep", "600"],
    ]);
    // The baseline, by hot reload.
    daemon.reload("");

    let cases = cases(&daemon.plugin);
    assert!(cases.len() >= 40);
    assert_cases(&daemon, &cases, &["gate.log", "dockerd.log"]);

    // Many requests at once, each needing look-ups, with a budget of two.
    let started = Instant::now();
    let outputs: Vec<Output> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..12)
            .map(|i| {
                let daemon = &daemon;
                scope.spawn(move || {
                    let volume = format!("e2e-cc{i}:/d");
                    daemon.docker(&[
                        "create",
                        "--volumes-from",
                        "benign",
                        "-v",
                        &volume,
                        "testimg",
                        "true",
                    ])
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for out in &outputs {
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert!(started.elapsed() < Duration::from_secs(60));

    // One audit line per decision, no secret values.
    let audit = std::fs::read_to_string(daemon.path("audit.log")).unwrap();
    assert!(
        !audit.contains("hunter2"),
        "an env value reached the audit log"
    );
    for line in audit.lines() {
        let record: serde_json::Value = serde_json::from_str(line).expect("audit lines are JSON");
        assert!(record["decision"] == "allow" || record["decision"] == "deny");
        assert!(record["policy_hash"]
            .as_str()
            .unwrap()
            .starts_with("sha256:"));
    }
    let privileged = audit
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|r| r["container"] == "e2e-d10")
        .expect("an audit record for the privileged run");
    assert_eq!(privileged["endpoint"], "container.create");
    assert_eq!(privileged["method"], "POST");
    assert_eq!(privileged["path"], "/containers/create");
    assert_eq!(privileged["image"], "testimg");
    assert_eq!(privileged["decision"], "deny");
    assert_eq!(
        privileged["rules"],
        serde_json::json!(["privileged", "run-as-root"])
    );

    // An invalid policy never replaces a working one.
    std::fs::write(daemon.path("policy.toml"), "mode = \"loud\"\n").unwrap();
    signal(daemon.gate.as_ref().unwrap(), "-HUP");
    let log = daemon.path("gate.log");
    wait_for("the refused reload", Duration::from_secs(10), || {
        std::fs::read_to_string(&log)
            .unwrap_or_default()
            .contains("policy not reloaded")
    });
    let out = daemon.docker(&["run", "--rm", "--privileged", "testimg", "true"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success()
            && stderr.contains("authorization denied by plugin")
            && stderr.contains("dockgate: denied by rule privileged: "),
        "the baseline must still deny after a bad reload, by its own rule: {stderr}"
    );

    // SIGTERM: the gate stops cleanly, and the daemon then refuses
    // everything (the lockout the README warns about).
    daemon.clean();
    let mut gate = daemon.gate.take().unwrap();
    signal(&gate, "-TERM");
    let status = wait_exit(&mut gate, Duration::from_secs(10)).expect("gate exits on SIGTERM");
    assert!(status.success(), "gate exit status {status:?}");
    assert!(
        !daemon.path("gate.sock").exists(),
        "the socket is removed on exit"
    );
    let out = daemon.docker(&["ps"]);
    assert!(
        !out.status.success(),
        "with the plugin down the daemon refuses requests"
    );
    // Bring it back so the daemon can be cleaned up and stopped.
    std::fs::write(daemon.path("policy.toml"), "").unwrap();
    daemon.start_gate();
    let out = daemon.docker(&["ps"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
