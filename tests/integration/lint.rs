//! `dockgate check` over realistic compose files, run lines and documents:
//! exact findings and locations.

use crate::util::{Dir, TestCommand};

/// Runs `dockgate check ARGS` from the repository root; the repository's
/// absolute path is shown as `<repo>`. Each text finding must be followed
/// by the fix it names; those lines are checked here and left out.
fn check(args: &[&str]) -> (i32, String, String) {
    let (code, stdout, stderr) = TestCommand::new(&[&["check"], args].concat()).run();
    let root = env!("CARGO_MANIFEST_DIR");
    let stdout = if args.contains(&"--format") {
        stdout
    } else {
        without_fixes(&stdout)
    };
    (
        code,
        stdout.replace(root, "<repo>"),
        stderr.replace(root, "<repo>"),
    )
}

/// The text report without its `fix:` lines, after checking that every
/// finding has one.
fn without_fixes(stdout: &str) -> String {
    let lines: Vec<&str> = stdout.lines().collect();
    let mut kept = String::new();
    for (i, line) in lines.iter().enumerate() {
        if line.starts_with("    fix: ") {
            assert!(
                line.len() > "    fix: ".len() + 10,
                "an empty fix: {stdout}"
            );
            continue;
        }
        if line.contains(": deny ") || line.contains(": warn ") {
            assert!(
                lines.get(i + 1).is_some_and(|l| l.starts_with("    fix: ")),
                "no fix after {line:?}:\n{stdout}"
            );
        }
        kept.push_str(line);
        kept.push('\n');
    }
    kept
}

#[test]
fn web_app_with_a_database() {
    let (code, stdout, _) = check(&["fixtures/compose/webapp/compose.yaml"]);
    assert_eq!(code, 0);
    assert_eq!(
        stdout,
        "fixtures/compose/webapp/compose.yaml:7:9: warn published-ports: publishes port 8080 on all interfaces for 80/tcp (services.web.ports[0])\n\
         fixtures/compose/webapp/compose.yaml:16:3: warn run-as-root: runs as the image's USER, which was not checked and may be root (services.db.user)\n\
         fixtures/compose/webapp/compose.yaml:19:7: warn env-secrets: environment variable POSTGRES_PASSWORD looks like it holds a secret (services.db.environment.POSTGRES_PASSWORD)\n\
         2 containers comply with the policy\n"
    );
}

#[test]
fn ci_runner_with_the_docker_socket() {
    let (code, stdout, _) = check(&["fixtures/compose/ci-runner/compose.yaml"]);
    assert_eq!(code, 1);
    assert_eq!(
        stdout,
        "fixtures/compose/ci-runner/compose.yaml:7:9: deny host-mount: bind mount of host path \"/var/run/docker.sock\" at \"/var/run/docker.sock\" (services.runner.volumes[0])\n\
         fixtures/compose/ci-runner/compose.yaml:7:9: deny docker-socket: bind mount of host path \"/var/run/docker.sock\" at \"/var/run/docker.sock\" (services.runner.volumes[0])\n\
         fixtures/compose/ci-runner/compose.yaml:3:3: warn run-as-root: runs as the image's USER, which was not checked and may be root (services.runner.user)\n\
         fixtures/compose/ci-runner/compose.yaml:14:9: warn env-secrets: environment variable RUNNER_TOKEN looks like it holds a secret (services.runner.environment.RUNNER_TOKEN)\n\
         1 of 1 container violates the policy (docker-socket, host-mount)\n"
    );
}

#[test]
fn monitoring_stack_with_host_mounts() {
    let (code, stdout, _) = check(&["fixtures/compose/monitoring/compose.yaml"]);
    assert_eq!(code, 1);
    let denials: Vec<&str> = stdout.lines().filter(|l| l.contains(": deny ")).collect();
    assert_eq!(
        denials,
        [
            "fixtures/compose/monitoring/compose.yaml:6:9: deny host-mount: bind mount of host path \"<repo>/fixtures/compose/monitoring/prometheus.yml\" at \"/etc/prometheus/prometheus.yml\" read-only (services.prometheus.volumes[0])",
            "fixtures/compose/monitoring/compose.yaml:18:9: deny host-mount: bind mount of host path \"/\" at \"/host\" read-only (services.node-exporter.volumes[0])",
            "fixtures/compose/monitoring/compose.yaml:18:9: deny docker-socket: bind mount of host path \"/\" at \"/host\", which exposes /var/run/docker.sock (services.node-exporter.volumes[0])",
            "fixtures/compose/monitoring/compose.yaml:15:19: deny host-namespace: host network namespace (services.node-exporter.network_mode=host)",
            "fixtures/compose/monitoring/compose.yaml:16:10: deny host-namespace: host pid namespace (services.node-exporter.pid=host)",
            "fixtures/compose/monitoring/compose.yaml:22:17: deny privileged: privileged container (services.cadvisor.privileged=true)",
            "fixtures/compose/monitoring/compose.yaml:26:9: deny host-mount: bind mount of host path \"/\" at \"/rootfs\" read-only (services.cadvisor.volumes[0])",
            "fixtures/compose/monitoring/compose.yaml:27:9: deny host-mount: bind mount of host path \"/var/run\" at \"/var/run\" read-only (services.cadvisor.volumes[1])",
            "fixtures/compose/monitoring/compose.yaml:28:9: deny host-mount: bind mount of host path \"/sys\" at \"/sys\" read-only (services.cadvisor.volumes[2])",
            "fixtures/compose/monitoring/compose.yaml:29:9: deny host-mount: bind mount of host path \"/var/lib/docker\" at \"/var/lib/docker\" read-only (services.cadvisor.volumes[3])",
            "fixtures/compose/monitoring/compose.yaml:26:9: deny docker-socket: bind mount of host path \"/\" at \"/rootfs\", which exposes /var/run/docker.sock (services.cadvisor.volumes[0])",
            "fixtures/compose/monitoring/compose.yaml:27:9: deny docker-socket: bind mount of host path \"/var/run\" at \"/var/run\", which exposes /var/run/docker.sock (services.cadvisor.volumes[1])",
            "fixtures/compose/monitoring/compose.yaml:24:9: deny devices: host device \"/dev/kmsg\" at \"/dev/kmsg\" (services.cadvisor.devices[0])",
        ]
    );
}

#[test]
fn every_field_with_an_override_file() {
    let (code, stdout, _) = check(&[
        "fixtures/compose/everything/compose.yaml",
        "fixtures/compose/everything/compose.override.yaml",
    ]);
    assert_eq!(code, 1);
    let file = "fixtures/compose/everything/compose.yaml";
    let expected = [
        "12:17: deny privileged: privileged container (services.app.privileged=true)",
        "35:9: deny host-mount: bind mount of host path \"<repo>/fixtures/compose/everything/data\" at \"/data\" (services.app.volumes[0])",
        "36:9: deny host-mount: bind mount of host path \"/srv\" at \"/srv\" (services.app.volumes[1])",
        "41:9: deny host-mount: volume \"hostetc\" binds host path \"/etc\" at \"/etc/host\" (services.app.volumes[2])",
        "19:19: deny host-namespace: host network namespace (services.app.network_mode=host)",
        "20:10: deny host-namespace: host pid namespace (services.app.pid=host)",
        "21:10: deny host-namespace: host ipc namespace (services.app.ipc=host)",
        "22:10: deny host-namespace: host uts namespace (services.app.uts=host)",
        "23:18: deny host-namespace: host userns namespace (services.app.userns_mode=host)",
        "24:13: deny host-namespace: host cgroupns namespace (services.app.cgroup=host)",
        "14:9: deny capabilities: adds capability CAP_SYS_ADMIN (services.app.cap_add[0])",
        "16:9: deny devices: host device \"/dev/fuse\" at \"/dev/fuse\" (services.app.devices[0])",
        "18:9: deny devices: device cgroup rule \"c 10:229 rwm\" (services.app.device_cgroup_rules[0])",
        "27:7: deny sysctls: sets sysctl kernel.msgmax=\"65536\" (services.app.sysctls.kernel.msgmax)",
        "36:9: deny mount-propagation: bind mount at \"/srv\" uses rshared propagation (services.app.volumes[1])",
        "45:14: deny runtime: runtime \"runsc\" is not allowed (services.app.runtime)",
        "46:20: deny cgroup-parent: cgroup parent \"/custom\" is not allowed (services.app.cgroup_parent)",
        "11:11: warn run-as-root: runs as root (services.app.user=\"0\")",
        "29:9: warn published-ports: publishes port 8080 on all interfaces for 80/tcp (services.app.ports[0])",
        "48:9: warn env-secrets: environment variable API_TOKEN looks like it holds a secret (services.app.environment.API_TOKEN)",
        "55:9: deny host-mount: bind mount (through volumes_from app) of host path \"<repo>/fixtures/compose/everything/data\" at \"/data\" read-only (services.sidecar.volumes_from[0])",
        "55:9: deny host-mount: bind mount (through volumes_from app) of host path \"/srv\" at \"/srv\" read-only (services.sidecar.volumes_from[0])",
        "55:9: deny host-mount: volume \"hostetc\" (through volumes_from app) binds host path \"/etc\" at \"/etc/host\" read-only (services.sidecar.volumes_from[0])",
        "56:19: deny host-namespace: joins the network namespace of container \"app\", which shares the host's (services.sidecar.network_mode=container:app)",
    ];
    let mut want: Vec<String> = expected.iter().map(|l| format!("{file}:{l}")).collect();
    want.push("fixtures/compose/everything/compose.override.yaml:5:9: deny security-profile: seccomp filtering disabled (services.sidecar.security_opt[0]=\"seccomp:unconfined\")".into());
    want.push(format!("{file}:55:9: deny mount-propagation: bind mount (through volumes_from app) at \"/srv\" uses rshared propagation (services.sidecar.volumes_from[0])"));
    want.push("fixtures/compose/everything/compose.override.yaml:8:7: deny runtime-annotations: sets annotation run.oci.keep_original_groups=\"1\", which the container runtime acts on (services.sidecar.annotations.run.oci.keep_original_groups)".into());
    want.push("2 of 2 containers violate the policy (capabilities, cgroup-parent, devices, host-mount, host-namespace, mount-propagation, privileged, runtime, runtime-annotations, security-profile, sysctls)".into());
    let got: Vec<&str> = stdout.lines().collect();
    assert_eq!(got, want);
}

#[test]
fn interpolation_uses_the_environment_over_dot_env() {
    let dir = Dir::new("interpolate");
    dir.create(".env", "IMAGE=alpine:3.20\nPORTS=8080:80\n");
    let file = dir.create("compose.yaml", "services:\n  a:\n    image: ${IMAGE}\n    user: \"1000\"\n    ports: [\"${PORTS}\"]\n    privileged: ${PRIV:-false}\n");
    let path = file.to_str().unwrap();
    let (code, stdout, _) = check(&["--format", "json", path]);
    assert_eq!(code, 0);
    let doc: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(doc["results"][0]["container"]["image"], "alpine:3.20");
    let mut cmd = TestCommand::new(&["check", path]);
    cmd.env("PRIV", "true");
    let out = cmd.run();
    assert_eq!(out.0, 1);
    assert!(
        out.1.contains(
            "compose.yaml:6:17: deny privileged: privileged container (services.a.privileged=true)"
        ),
        "{}",
        out.1
    );
}

#[test]
fn run_lines_in_a_script_and_on_the_command_line() {
    let (code, stdout, _) = check(&["--run-lines", "fixtures/compose/deploy.sh"]);
    assert_eq!(code, 1);
    assert_eq!(
        stdout,
        "fixtures/compose/deploy.sh:8:30: deny host-mount: bind mount of host path \"/\" at \"/host\" (-v /:/host)\n\
         fixtures/compose/deploy.sh:8:30: deny docker-socket: bind mount of host path \"/\" at \"/host\", which exposes /var/run/docker.sock (-v /:/host)\n\
         fixtures/compose/deploy.sh:8:41: deny host-namespace: host pid namespace (--pid=host)\n\
         fixtures/compose/deploy.sh:8:1: warn run-as-root: runs as the image's USER, which was not checked and may be root (--user)\n\
         1 of 2 containers violates the policy (docker-socket, host-mount, host-namespace)\n"
    );
    let (code, stdout, _) = check(&[
        "--",
        "docker",
        "run",
        "--rm",
        "-itv",
        "/var/run/docker.sock:/s",
        "alpine",
    ]);
    assert_eq!(code, 1);
    assert!(stdout.starts_with("command line:1:17: deny host-mount: bind mount of host path \"/var/run/docker.sock\" at \"/s\" (-v /var/run/docker.sock:/s)\n"), "{stdout}");
}

#[test]
fn parse_errors_carry_file_line_and_message() {
    let dir = Dir::new("lint-errors");
    let broken = dir.create("compose.yaml", "services:\n  web:\n    image: [alpine\n");
    // An input that cannot be read is a result, never silence: a denial
    // at the place of the error, and exit status 2.
    let unreadable = |at: String, message: &str, what: &str| {
        format!("{at}: deny unreadable-request: {message}\n1 of 1 container violates the policy (unreadable-request)\n")
            .replace("1 of 1 container", what)
    };
    let (code, stdout, stderr) = check(&[broken.to_str().unwrap()]);
    assert_eq!(
        (code, stdout, stderr),
        (
            2,
            unreadable(
                format!("{}:4:1", broken.display()),
                "did not find expected ',' or ']' while parsing a flow sequence",
                "1 of 1 container"
            ),
            String::new()
        )
    );
    let script = dir.create("run.sh", "docker run --frobnicate alpine\n");
    let (code, stdout, _) = check(&["--run-lines", script.to_str().unwrap()]);
    assert_eq!(
        (code, stdout),
        (
            2,
            unreadable(
                format!("{}:1:12", script.display()),
                "unknown flag: --frobnicate",
                "1 of 1 container"
            )
        )
    );
    let (code, stdout, _) = check(&["--", "docker", "run", "-v"]);
    assert_eq!(
        (code, stdout),
        (
            2,
            unreadable(
                "command line:1:12".into(),
                "flag needs an argument: 'v' in -v",
                "1 of 1 container"
            )
        )
    );
    let missing = dir.create("vars.yaml", "services:\n  a:\n    image: ${TAG:?set TAG}\n");
    let (code, stdout, _) = check(&[missing.to_str().unwrap()]);
    assert_eq!(
        (code, stdout),
        (
            2,
            unreadable(
                format!("{}:3:12", missing.display()),
                "error while interpolating services.a.image: required variable TAG is missing a value: set TAG",
                "1 of 1 container"
            )
        )
    );
}

#[test]
fn json_and_sarif_reports() {
    let (code, stdout, _) = check(&[
        "--format",
        "json",
        "fixtures/compose/ci-runner/compose.yaml",
    ]);
    assert_eq!(code, 1);
    let doc: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(doc["schema"], "dockgate.scan/v1");
    let socket = doc["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["rule"] == "docker-socket")
        .unwrap();
    assert_eq!(socket["result"], "fail");
    assert_eq!(
        socket["findings"][0]["location"],
        "fixtures/compose/ci-runner/compose.yaml:7:9"
    );

    let (code, stdout, _) = check(&[
        "--format",
        "sarif",
        "fixtures/compose/ci-runner/compose.yaml",
    ]);
    assert_eq!(code, 1);
    let log: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(log["version"], "2.1.0");
    let run = &log["runs"][0];
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    assert_eq!(rules.len(), dockgate_rules::RuleId::ALL.len());
    for rule in rules {
        assert!(rule["id"].is_string() && rule["shortDescription"]["text"].is_string());
        assert!(rule["help"]["text"].as_str().unwrap().contains("Fix: "));
    }
    let result = &run["results"][0];
    assert_eq!(result["ruleId"], "host-mount");
    assert_eq!(result["level"], "error");
    assert_eq!(
        rules[result["ruleIndex"].as_u64().unwrap() as usize]["id"],
        "host-mount"
    );
    let region = &result["locations"][0]["physicalLocation"];
    assert_eq!(
        region["artifactLocation"]["uri"],
        "fixtures/compose/ci-runner/compose.yaml"
    );
    assert_eq!(region["region"]["startLine"], 7);
    assert_eq!(region["region"]["startColumn"], 9);
}

#[test]
fn output_of_docker_compose_config() {
    let (code, stdout, _) = check(&["fixtures/compose/config-output/compose.yaml"]);
    assert_eq!(code, 1);
    let file = "fixtures/compose/config-output/compose.yaml";
    assert_eq!(
        stdout,
        format!(
            "{file}:23:9: deny host-mount: bind mount of host path \"/srv/shop/html\" at \"/usr/share/nginx/html\" read-only (services.web.volumes[0])\n\
             {file}:5:9: deny capabilities: adds capability CAP_NET_ADMIN (services.web.cap_add[0])\n\
             {file}:7:9: deny devices: host device \"/dev/net/tun\" at \"/dev/net/tun\" (services.web.devices[0])\n\
             {file}:16:9: warn published-ports: publishes port 8080 on all interfaces for 80/tcp (services.web.ports[0])\n\
             1 of 1 container violates the policy (capabilities, devices, host-mount)\n"
        )
    );
}

/// The SARIF output validates against the OASIS SARIF 2.1.0 schema
/// (`tests/schemas/sarif-schema-2.1.0.json`, as shipped in the serde-sarif
/// crate).
#[test]
fn sarif_validates_against_the_schema() {
    let mut schema: serde_json::Value =
        serde_json::from_str(include_str!("../schemas/sarif-schema-2.1.0.json")).unwrap();
    // The published 2.1.0 schema's `language` patterns have a stray `]`
    // that no regex engine accepts; use the pattern they mean. Nothing else
    // in the schema is touched.
    for definition in ["run", "toolComponent"] {
        let language = &mut schema["definitions"][definition]["properties"]["language"]["pattern"];
        assert_eq!(language, "^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}]?$");
        *language = serde_json::json!("^[a-zA-Z]{2}(-[a-zA-Z]{2})?$");
    }
    let validator = jsonschema::validator_for(&schema).expect("the schema compiles");
    for args in [
        vec![
            "--format",
            "sarif",
            "fixtures/compose/everything/compose.yaml",
            "fixtures/compose/everything/compose.override.yaml",
        ],
        vec![
            "--format",
            "sarif",
            "--run-lines",
            "fixtures/compose/deploy.sh",
        ],
        vec![
            "--format",
            "sarif",
            "--inspect",
            "fixtures/captured/inspect/i-priv.json",
        ],
        vec!["--format", "sarif", "fixtures/compose/webapp/compose.yaml"],
    ] {
        let (_, stdout, stderr) = TestCommand::new(&[&["check"], &args[..]].concat()).run();
        let log: serde_json::Value =
            serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{args:?}: {e}: {stderr}"));
        let errors: Vec<String> = validator
            .iter_errors(&log)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{args:?}:\n{}", errors.join("\n"));
    }
    // A log that breaks the schema is caught, so the check can fail.
    let broken = serde_json::json!({"version": "2.1.0", "runs": [{"tool": {}}]});
    assert!(!validator.is_valid(&broken));
}

/// An unreadable file is a result in every format, at the place of the
/// error, with paths relative to the working directory: CI must never
/// take a file it could not read for a pass.
#[test]
fn unreadable_files_are_results_in_every_format() {
    let dir = Dir::new("lint-unreadable");
    dir.create(
        "sub/compose.yaml",
        "services:\n  web:\n    image: [alpine\n",
    );
    dir.create(
        "sub/ok.yaml",
        "services:\n  web:\n    image: alpine\n    user: \"1000\"\n",
    );
    let run = |format: &str| {
        let mut command =
            TestCommand::new(&["check", "--format", format, "--run-lines", "sub/missing.sh"]);
        command.current_dir(dir.path());
        let (code, stdout, _) = command.run();
        assert_eq!(code, 2, "{format}: {stdout}");
        let mut command = TestCommand::new(&["check", "--format", format, "sub/compose.yaml"]);
        command.current_dir(dir.path());
        let (code, broken, _) = command.run();
        assert_eq!(code, 2, "{format}: {broken}");
        (stdout, broken)
    };
    let message = "did not find expected ',' or ']' while parsing a flow sequence";
    let (missing, broken) = run("json");
    let errors =
        |text: &str| serde_json::from_str::<serde_json::Value>(text).unwrap()["errors"].clone();
    assert_eq!(
        errors(&broken),
        serde_json::json!([{"file": "sub/compose.yaml", "line": 4, "column": 1, "message": message}])
    );
    assert_eq!(
        errors(&missing),
        serde_json::json!([{"file": "sub/missing.sh", "line": 0, "column": 0,
            "message": "cannot read: No such file or directory (os error 2)"}])
    );
    let (_, broken) = run("sarif");
    let log: serde_json::Value = serde_json::from_str(&broken).unwrap();
    let run = &log["runs"][0];
    let location = serde_json::json!([{"physicalLocation": {
        "artifactLocation": {"uri": "sub/compose.yaml", "uriBaseId": "%SRCROOT%"},
        "region": {"startLine": 4, "startColumn": 1}}}]);
    assert_eq!(run["invocations"][0]["executionSuccessful"], false);
    let notification = &run["invocations"][0]["toolExecutionNotifications"][0];
    // SARIF 2.1.0 section 3.11.6: brackets that open no embedded link are
    // escaped.
    assert_eq!(notification["message"]["text"], message.replace(']', "\\]"));
    assert_eq!(notification["locations"], location);
    assert_eq!(run["results"][0]["ruleId"], "unreadable-request");
    assert_eq!(run["results"][0]["level"], "error");
    assert_eq!(run["results"][0]["locations"], location);
    let root = format!("file://{}/", dir.path().canonicalize().unwrap().display());
    assert_eq!(run["originalUriBaseIds"]["%SRCROOT%"]["uri"], root.as_str());
    let (code, text, _) = check(&[
        "--run-lines",
        &dir.path().join("sub/missing.sh").display().to_string(),
    ]);
    assert_eq!(code, 2);
    assert!(text.contains("sub/missing.sh: deny unreadable-request: cannot read: No such file or directory (os error 2)\n"), "{text}");
}

/// go-yaml's alias budget: a billion-laughs document is refused with
/// go-yaml's own error, fast and in bounded memory. (Compose 2.26 itself
/// expands such a document before its decoder counts aliases, and runs out
/// of memory; refusing is the safe reading.)
#[test]
fn alias_bombs_fail_fast() {
    let dir = Dir::new("lint-bomb");
    let mut text = String::from(
        "x-a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n",
    );
    for level in b'b'..=b'i' {
        let previous = (level - 1) as char;
        let level = level as char;
        let aliases = vec![format!("*{previous}"); 9].join(",");
        text.push_str(&format!("x-{level}: &{level} [{aliases}]\n"));
    }
    text.push_str("services:\n  web:\n    image: alpine\n    labels: *i\n");
    let bomb = dir.create("compose.yaml", &text);
    let started = std::time::Instant::now();
    let (code, stdout, _) = check(&[bomb.to_str().unwrap()]);
    let took = started.elapsed();
    assert_eq!(code, 2);
    assert!(
        stdout.contains("deny unreadable-request: document contains excessive aliasing"),
        "{stdout}"
    );
    assert!(took < std::time::Duration::from_secs(1), "took {took:?}");
}

/// `--env-file` and `--profile` as `docker compose` takes them: a missing
/// env file is an unreadable input with Compose's message, a profile
/// enables its services.
#[test]
fn env_file_and_profile_flags() {
    let dir = Dir::new("lint-env-file");
    let compose = dir.create(
        "compose.yaml",
        "services:\n  web:\n    image: alpine\n    user: \"1000\"\n    network_mode: ${NM:-bridge}\n  debug:\n    image: alpine\n    user: \"1000\"\n    privileged: true\n    profiles: [debug]\n",
    );
    let compose = compose.to_str().unwrap();
    let missing = dir.path().join("missing.env");
    let mut command =
        TestCommand::new(&["check", "--env-file", missing.to_str().unwrap(), compose]);
    command.current_dir(dir.path());
    let (code, stdout, _) = command.run();
    assert_eq!(code, 2, "{stdout}");
    assert!(
        stdout.starts_with(&format!(
            "{}: deny unreadable-request: Couldn't find env file: {}\n",
            missing.display(),
            missing.display()
        )),
        "{stdout}"
    );
    let env = dir.create("host.env", "NM=host\n");
    let (code, stdout, _) = check(&["--env-file", env.to_str().unwrap(), compose]);
    assert_eq!(code, 1, "{stdout}");
    assert!(
        stdout.ends_with("1 of 1 container violates the policy (host-namespace)\n"),
        "{stdout}"
    );
    let (code, stdout, _) = check(&["--profile", "debug", compose]);
    assert_eq!(code, 1, "{stdout}");
    assert!(
        stdout.ends_with("1 of 2 containers violates the policy (privileged)\n"),
        "{stdout}"
    );
}
