//! The command line: outputs and the exact errors a user sees.

use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::util::{authz, free_local_address, http_get, Dir, Served, TestCommand};

#[test]
fn policy_show_prints_the_baseline() {
    let (code, stdout, stderr) = TestCommand::new(&["policy", "show"]).run();
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.starts_with("# effective policy: built-in baseline profile\n# hash sha256:"));
    assert!(stdout.contains("profile = \"baseline\"\nmode = \"enforce\"\n"));
    assert!(stdout.contains("[rules.run-as-root]\naction = \"warn\"\n"));
    assert!(stdout.contains("[rules.unreadable-request]\naction = \"deny\"\n"));
}

#[test]
fn policy_show_merges_the_file() {
    let dir = Dir::new("show");
    let file = dir.create(
        "p.toml",
        "profile = \"restricted\"\n[rules.host-mount]\nallow_read_only = [\"/etc/ssl/certs/\"]\n[rules.env-secrets]\naction = \"off\"\n",
    );
    let (code, stdout, _) =
        TestCommand::new(&["policy", "show", "--policy", file.to_str().unwrap()]).run();
    assert_eq!(code, 0);
    assert!(stdout.contains("profile = \"restricted\""));
    assert!(stdout.contains("allow_read_only = [\"/etc/ssl/certs\"]"));
    assert!(stdout.contains("[rules.env-secrets]\naction = \"off\""));
    assert!(stdout.contains("[rules.run-as-root]\naction = \"deny\""));
    // What show prints validates and reads back to the same policy.
    let again = dir.create("again.toml", &stdout);
    let (code, out, _) = TestCommand::new(&["policy", "validate", again.to_str().unwrap()]).run();
    assert_eq!(code, 0);
    let hash = stdout.lines().nth(1).unwrap().trim_start_matches("# hash ");
    assert!(out.ends_with(&format!("valid (hash {hash})\n")), "{out}");
}

#[test]
fn policy_validate_names_the_line_and_problem() {
    let dir = Dir::new("validate");
    let cases = [
        (
            "profile = \"strict\"\n",
            "TOML parse error at line 1, column 11: unknown variant `strict`, expected `baseline` or `restricted`",
        ),
        (
            "profile = \"baseline\"\n\n[rules.host-mounts]\naction = \"deny\"\n",
            "TOML parse error at line 3, column 8: unknown field `host-mounts`, expected one of `privileged`, \
             `host-mount`, `docker-socket`, `host-namespace`, `capabilities`, `devices`, `security-profile`, \
             `sysctls`, `mount-propagation`, `runtime`, `runtime-annotations`, `cgroup-parent`, `network-driver`, \
             `run-as-root`, `published-ports`, `image-registry`, `image-latest`, `image-digest`, \
             `no-new-privileges`, `read-only-rootfs`, `memory-limit`, `pids-limit`, `env-secrets`, \
             `endpoint-families`, `ownership`, `owner-label`, `allowed-images`, `plugin-management`, `swarm-join`, `buildkit`, `copy-into-container`, `unknown-endpoint`, \
             `unreadable-request`, `gate-failure`",

        ),
        (
            "[rules.privileged]\naction = \"allow\"\n",
            "TOML parse error at line 2, column 10: unknown variant `allow`, expected one of `off`, `audit`, `warn`, `deny`",
        ),
        (
            "[rules.host-mount]\nallow = [\"srv\"]\n",
            "rules.host-mount.allow: \"srv\" is not an absolute path",
        ),
        (
            "[rules.unreadable-request]\naction = \"off\"\n",
            "rules.unreadable-request: this rule always denies; dockgate never allows a request it could not judge",
        ),
        (
            "[[exemptions]]\nrules = [\"privileged\"]\n",
            "exemptions[0]: name at least one image or user; an exemption for everyone is a rule set to off",
        ),
        ("mode = \n", "TOML parse error at line 1, column 8: invalid string: expected `\"`, `'`"),
        ("mode = ", "TOML parse error at line 1, column 8: unexpected end of file"),
    ];
    for (text, message) in cases {
        let file = dir.create("bad.toml", text);
        let path = file.to_str().unwrap();
        let (code, stdout, stderr) = TestCommand::new(&["policy", "validate", path]).run();
        assert_eq!(code, 2, "{text}");
        assert_eq!(stdout, "");
        assert_eq!(
            stderr,
            format!("dockgate: invalid policy file {path}: {message}\n"),
            "{text}"
        );
    }
    let (code, _, stderr) = TestCommand::new(&["policy", "validate", "/nonexistent/p.toml"]).run();
    assert_eq!(code, 2);
    assert_eq!(
        stderr,
        "dockgate: cannot read policy file /nonexistent/p.toml: No such file or directory (os error 2)\n"
    );
}

#[test]
fn serve_without_a_valid_policy_refuses_all_but_ping_and_version_until_fixed() {
    use dockgate_inputs::authz::AuthzRequest;
    let dir = Dir::new("serve-bad");
    let file = dir.create("bad.toml", "mode = \"loud\"\n");
    let socket = dir.path().join("g.sock");
    let metrics = free_local_address();
    let log = dir.path().join("stderr.log");
    let served = Served::start_with(
        &[
            "--policy",
            file.to_str().unwrap(),
            "--socket",
            socket.to_str().unwrap(),
            "--metrics-addr",
            &metrics,
        ],
        &socket,
        Stdio::null(),
        Stdio::from(std::fs::File::create(&log).unwrap()),
    );
    let error = format!(
        "invalid policy file {}: TOML parse error at line 1, column 8: unknown variant `loud`, expected one of `enforce`, `warn`, `audit`",
        file.display()
    );
    for (method, path) in [
        ("GET", "/_ping"),
        ("HEAD", "/v1.41/_ping"),
        ("GET", "/v1.41/version"),
    ] {
        let (status, reply) = authz(&socket, &AuthzRequest::new(method, path, None));
        assert_eq!(
            (status, &reply["Allow"]),
            (200, &serde_json::json!(true)),
            "{method} {path}"
        );
    }
    let list = AuthzRequest::new("GET", "/v1.41/containers/json", None);
    let (_, reply) = authz(&socket, &list);
    assert_eq!(reply["Allow"], false);
    assert_eq!(
        reply["Msg"],
        format!(
            "dockgate: denied by rule gate-failure: no valid policy is in force, so every request but ping and \
             version is refused: {error}; fix the policy file (dockgate policy validate), and it is loaded at once; \
             fix what the message names (an invalid policy file: dockgate policy validate); otherwise retry, and if \
             it keeps happening, check that the daemon answers (docker info) and read dockgate's log and its metrics \
             (dockgate explain gate-failure)"
        )
    );
    assert!(http_get(&metrics, "/metrics").contains("\ndockgate_policy_valid 0\n"));
    let stderr = std::fs::read_to_string(&log).unwrap();
    assert!(stderr.contains(&format!("ERROR dockgate: no valid policy: every request but ping and version is refused until the policy file is fixed error={error}")), "{stderr}");
    // Fixed: loaded at once, and the gate judges again.
    std::fs::write(&file, "mode = \"warn\"\n").unwrap();
    let start = Instant::now();
    while authz(&socket, &list).1["Allow"] != true {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "the fixed policy was not loaded"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(http_get(&metrics, "/metrics").contains("\ndockgate_policy_valid 1\n"));
    drop(served);
}

#[test]
fn serve_refuses_a_host_root_without_a_host() {
    // Resolving links in an empty directory would find none: refuse.
    let dir = Dir::new("serve-root");
    let socket = dir.path().join("g.sock");
    let (code, _, stderr) = TestCommand::new(&[
        "serve",
        "--host-root",
        dir.path().to_str().unwrap(),
        "--socket",
        socket.to_str().unwrap(),
    ])
    .run();
    assert_eq!(code, 2);
    assert_eq!(
        stderr,
        format!(
            "dockgate: --host-root {}: no host file system there (no etc directory); mount the host's / there\n",
            dir.path().display()
        )
    );
    assert!(!socket.exists());
}

#[test]
fn serve_refuses_an_unknown_audit_failure_action() {
    let (code, _, stderr) = TestCommand::new(&["serve", "--audit-failure", "loud"]).run();
    assert_eq!(code, 2);
    assert_eq!(
        stderr,
        "error: invalid value 'loud' for '--audit-failure <ACTION>': \"loud\": expected deny or \
         continue\n\nFor more information, try '--help'.\n"
    );
    let (code, _, stderr) = TestCommand::new(&["serve", "--audit-level", "loud"]).run();
    assert_eq!(code, 2);
    assert_eq!(
        stderr,
        "error: invalid value 'loud' for '--audit-level <LEVEL>': \"loud\": expected all or \
         changes\n\nFor more information, try '--help'.\n"
    );
    let (code, _, stderr) = TestCommand::new(&["serve", "--metrics-addr", "9100"]).run();
    assert_eq!(code, 2);
    assert_eq!(
        stderr,
        "error: invalid value '9100' for '--metrics-addr <[HOST]:PORT>': invalid address \"9100\": \
         expected HOST:PORT or :PORT\n\nFor more information, try '--help'.\n"
    );
}

#[test]
fn explain_prints_rule_docs() {
    let (code, stdout, _) = TestCommand::new(&["explain", "docker-socket"]).run();
    assert_eq!(code, 0);
    assert!(
        stdout.starts_with("docker-socket\n\nNo mount may expose a container runtime's API socket")
    );
    assert!(stdout.contains("Defaults: baseline deny, restricted deny."));
    let (code, stdout, _) = TestCommand::new(&["explain"]).run();
    assert_eq!(code, 0);
    assert_eq!(stdout.lines().count(), dockgate_rules::RuleId::ALL.len());
    let (code, _, stderr) = TestCommand::new(&["explain", "nope"]).run();
    assert_eq!(code, 2);
    assert!(
        stderr.starts_with("dockgate: unknown rule \"nope\"; rules are: privileged, host-mount,")
    );
}

#[test]
fn the_rule_reference_documents_every_rule() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/rules.md");
    // Written from the registry (`DOCKGATE_BLESS=1 cargo test
    // the_rule_reference` rewrites it), never kept by hand beside it.
    let expected = dockgate_rules::reference_markdown();
    if std::env::var_os("DOCKGATE_BLESS").is_some() {
        std::fs::write(path, &expected).unwrap();
    }
    let reference = std::fs::read_to_string(path).unwrap();
    assert!(
        reference == expected,
        "docs/rules.md is not what the catalogue says; rewrite it with DOCKGATE_BLESS=1 cargo test the_rule_reference"
    );
}

/// Removes a file (and the directory it created) when dropped.
struct Installed(&'static str, bool);

impl Drop for Installed {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(self.0);
        if self.1 {
            let _ = std::fs::remove_dir("/etc/dockgate");
        }
    }
}

#[test]
fn the_default_policy_file_is_used_when_present() {
    let _turn = crate::util::etc_dockgate_lock();
    const FILE: &str = "/etc/dockgate/policy.toml";
    if std::path::Path::new(FILE).exists() {
        eprintln!("{FILE} exists on this machine; leaving it alone");
        return;
    }
    let created_dir = !std::path::Path::new("/etc/dockgate").exists();
    if std::fs::create_dir_all("/etc/dockgate").is_err() {
        eprintln!("cannot write /etc/dockgate (not root); skipping");
        return;
    }
    let _guard = Installed(FILE, created_dir);
    std::fs::write(FILE, "profile = \"restricted\"\n").unwrap();
    let (code, stdout, _) = TestCommand::new(&["policy", "show"]).run();
    assert_eq!(code, 0);
    assert!(stdout.starts_with("# effective policy from /etc/dockgate/policy.toml\n"));
    assert!(stdout.contains("profile = \"restricted\""));
}

#[test]
fn scan_reports_what_it_cannot_do() {
    let dir = Dir::new("scan-bad");
    let bad_policy = dir.create("p.toml", "mode = 1\n");
    let bad_policy = bad_policy.to_str().unwrap();
    let cases: [(&[&str], &str); 4] = [
        (
            &["--docker-host", "unix:///nonexistent/docker.sock"],
            "cannot reach the Docker daemon at unix:///nonexistent/docker.sock: Socket not found: /nonexistent/docker.sock",
        ),
        (
            &["--docker-host", "ssh://host"],
            "unsupported Docker host \"ssh://host\": use unix:///path/to/docker.sock or tcp://host:port",
        ),
        (
            &["--policy", "/nonexistent/p.toml"],
            "cannot read policy file /nonexistent/p.toml: No such file or directory (os error 2)",
        ),
        (
            &["--policy", bad_policy, "--docker-host", "unix:///nonexistent/docker.sock"],
            "invalid policy file",
        ),
    ];
    for (args, message) in cases {
        let mut nagios = vec!["scan", "--format", "nagios"];
        nagios.extend_from_slice(args);
        let (code, stdout, _) = TestCommand::new(&nagios).run();
        assert_eq!(code, 3, "{args:?}");
        assert!(
            stdout.starts_with(&format!("DOCKGATE UNKNOWN: {message}")),
            "{stdout}"
        );
        let mut text = vec!["scan"];
        text.extend_from_slice(args);
        let (code, stdout, stderr) = TestCommand::new(&text).run();
        assert_eq!(code, 2, "{args:?}");
        assert_eq!(stdout, "");
        assert!(
            stderr.starts_with(&format!("dockgate: {message}")),
            "{stderr}"
        );
    }
    let (code, stdout, _) = TestCommand::new(&["scan", "--format", "nagios", "-w", "5:1"]).run();
    assert_eq!(code, 3);
    assert_eq!(
        stdout,
        "DOCKGATE UNKNOWN: invalid threshold range \"5:1\": the start is greater than the end\n"
    );
}

#[test]
fn nagios_usage_errors_are_unknown_with_one_line_and_conventions_hold() {
    let unknown = |args: &[&str]| {
        let mut nagios = vec!["scan", "--format", "nagios"];
        nagios.extend_from_slice(args);
        let (code, stdout, stderr) = TestCommand::new(&nagios).run();
        (code, stdout, stderr)
    };
    let (code, stdout, stderr) = unknown(&["--bogus"]);
    assert_eq!((code, stderr.as_str()), (3, ""));
    assert_eq!(
        stdout,
        "DOCKGATE UNKNOWN: usage: unexpected argument '--bogus' found\n"
    );
    let (code, stdout, _) = unknown(&["-t"]);
    assert_eq!(code, 3);
    assert_eq!(
        stdout,
        // `<` and `>` escaped: Icinga Web would render `<DUR>` as a tag.
        "DOCKGATE UNKNOWN: usage: a value is required for '--timeout \\u{3c}DUR\\u{3e}' but none was supplied\n"
    );
    // -t takes seconds, and empty thresholds are unset (`check_dockgate!!0`):
    // the run gets as far as the daemon.
    let (code, stdout, _) = unknown(&[
        "-t",
        "3",
        "-w",
        "",
        "-c",
        "",
        "--docker-host",
        "unix:///nonexistent/docker.sock",
    ]);
    assert_eq!(code, 3);
    assert!(
        stdout.starts_with(
            "DOCKGATE UNKNOWN: cannot reach the Docker daemon at unix:///nonexistent/docker.sock"
        ),
        "{stdout}"
    );
    let (code, stdout, _) = TestCommand::new(&["scan", "-V"]).run();
    assert_eq!(code, 0);
    assert_eq!(
        stdout,
        format!("dockgate-scan {}\n", env!("CARGO_PKG_VERSION"))
    );
    // Outside the plugin format, clap reports usage errors as usual.
    let (code, stdout, stderr) = TestCommand::new(&["scan", "--bogus"]).run();
    assert_eq!((code, stdout.as_str()), (2, ""));
    assert!(
        stderr.starts_with("error: unexpected argument '--bogus' found"),
        "{stderr}"
    );
}

#[test]
fn contrib_command_lines_parse() {
    let root = env!("CARGO_MANIFEST_DIR");
    let mut lines = Vec::new();
    for file in [
        "contrib/nagios/dockgate.cfg",
        "contrib/systemd/dockgate.service",
        "contrib/systemd/dockgate-watch.service",
        "contrib/systemd/dockgate-proxy.service",
        "contrib/systemd/dockgate-audit.service",
    ] {
        let text = std::fs::read_to_string(format!("{root}/{file}")).unwrap();
        for line in text.lines() {
            if let Some(i) = line.find("/usr/local/bin/dockgate ") {
                lines.push(
                    line[i + "/usr/local/bin/dockgate ".len()..]
                        .replace("'$ARG1$'", "0")
                        .replace("'$ARG2$'", "0"),
                );
            }
        }
    }
    assert_eq!(lines.len(), 7);
    for line in lines {
        let mut args: Vec<&str> = line.split_whitespace().collect();
        args.push("--help");
        let (code, _, stderr) = TestCommand::new(&args).run();
        assert_eq!(code, 0, "{line}: {stderr}");
    }
}

#[test]
fn scan_gives_up_after_its_timeout() {
    // A "daemon" that accepts connections and never answers.
    let dir = Dir::new("scan-timeout");
    let socket = dir.path().join("silent.sock");
    let listener = std::os::unix::net::UnixListener::bind(&socket).unwrap();
    let silent = std::thread::spawn(move || {
        let held: Vec<_> = listener.incoming().take(1).collect();
        std::thread::sleep(std::time::Duration::from_secs(3));
        drop(held);
    });
    let host = format!("unix://{}", socket.display());
    let (code, stdout, _) = TestCommand::new(&[
        "scan",
        "--format",
        "nagios",
        "--timeout",
        "1s",
        "--docker-host",
        &host,
    ])
    .run();
    assert_eq!(code, 3);
    assert_eq!(stdout, "DOCKGATE UNKNOWN: timed out after 1s\n");
    silent.join().unwrap();
}

#[test]
fn policy_validate_without_a_file_validates_the_default_path() {
    let _turn = crate::util::etc_dockgate_lock();
    let (code, stdout, stderr) = TestCommand::new(&["policy", "validate"]).run();
    if std::path::Path::new("/etc/dockgate/policy.toml").exists() {
        assert!(
            stdout.starts_with("/etc/dockgate/policy.toml: valid") || code == 2,
            "{stdout}{stderr}"
        );
    } else {
        assert_eq!(code, 2);
        assert_eq!(
            stderr,
            "dockgate: cannot read policy file /etc/dockgate/policy.toml: No such file or directory (os error 2)\n"
        );
    }
}

#[test]
fn audit_level_changes_leaves_out_allowed_reads_only() {
    use dockgate_inputs::authz::AuthzRequest;
    let dir = Dir::new("audit-level");
    let socket = dir.path().join("g.sock");
    let audit = dir.path().join("audit.log");
    let served = Served::start(
        &[
            "--socket",
            socket.to_str().unwrap(),
            "--audit-log",
            audit.to_str().unwrap(),
            "--audit-level",
            "changes",
        ],
        &socket,
        Stdio::null(),
    );
    let privileged = br#"{"Image":"x","User":"1000","HostConfig":{"Privileged":true}}"#;
    for (method, path, body) in [
        ("GET", "/_ping", None),
        ("GET", "/v1.41/containers/json", None),
        // An inspect shows the environment: always recorded.
        ("GET", "/v1.41/containers/abc/json", None),
        ("POST", "/v1.41/containers/create", Some(&privileged[..])),
        ("POST", "/v1.41/containers/abc/stop", None),
    ] {
        authz(&socket, &AuthzRequest::new(method, path, body));
    }
    drop(served);
    let endpoints: Vec<String> = std::fs::read_to_string(&audit)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["endpoint"].to_string())
        .collect();
    assert_eq!(
        endpoints,
        [
            "\"container.inspect\"",
            "\"container.create\"",
            "\"container.stop\""
        ]
    );
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&audit).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o640);
}

#[test]
fn the_audit_reference_documents_every_check() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/audit.md");
    let written = std::fs::read_to_string(path).unwrap_or_default();
    let head = written
        .split_once("`DOCKGATE_BLESS=1 cargo test the_audit_reference`.\n\n")
        .map(|(head, _)| format!("{head}`DOCKGATE_BLESS=1 cargo test the_audit_reference`.\n\n"))
        .unwrap_or_default();
    let expected = format!("{head}{}", dockgate_rules::audit::reference_markdown());
    if std::env::var_os("DOCKGATE_BLESS").is_some() {
        std::fs::write(path, &expected).unwrap();
    }
    assert!(
        !head.is_empty() && std::fs::read_to_string(path).unwrap() == expected,
        "docs/audit.md is not what the checks say; rewrite it with DOCKGATE_BLESS=1 cargo test the_audit_reference"
    );
}
