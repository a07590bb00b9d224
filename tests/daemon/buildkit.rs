//! Builds through the gate: the classic builder's parameters are judged;
//! BuildKit's channels are refused unless the operator turns the
//! `buildkit` rule off, and then the daemon's builder entitlements are what
//! keeps `--network host` and `--security=insecure` out.

use crate::harness::{
    assert_cases, cli, e2e_enabled, import_test_image, leak, one_daemon_at_a_time, After, Daemon,
    Expect, Generation,
};

/// A build context whose Dockerfile is `dockerfile`.
fn context(daemon: &Daemon, name: &str, dockerfile: &str) -> &'static str {
    let dir = daemon.path(name);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("Dockerfile"), dockerfile).unwrap();
    leak(dir.display().to_string())
}

#[test]
fn builds_through_the_gate() {
    if !e2e_enabled() {
        return;
    }
    let _turn = one_daemon_at_a_time();
    let mut daemon = Daemon::start_on(Generation::Dockerd26, Some(""));
    import_test_image(&daemon);
    // A step that reads the network interfaces it was given.
    let ctx = context(
        &daemon,
        "context",
        "FROM testimg\nRUN busybox cat /proc/net/dev\n",
    );
    // The test daemons have no bridge: BuildKit's steps run without a network.
    let offline = context(
        &daemon,
        "offline",
        "FROM testimg\nRUN --network=none busybox true\n",
    );

    // The classic builder: parameters in the query, judged.
    let classic = |args: &[&'static str]| {
        let mut command = daemon.docker_command(args);
        command.env("DOCKER_BUILDKIT", "0");
        command.output().expect("run docker build")
    };
    let out = classic(&["build", "-q", "-t", "bk-classic", ctx]);
    assert!(
        out.status.success(),
        "a plain classic build goes through: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = classic(&["build", "-q", "--network", "host", ctx]);
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && text.contains("denied by rule host-namespace"),
        "{text}"
    );

    // BuildKit is refused by default: buildx falls back to a builder
    // container, which must run privileged.
    daemon.docker_ok(&["tag", "testimg", "moby/buildkit:buildx-stable-1"]);
    assert_cases(
        &daemon,
        &[cli(
            "buildx build",
            &["buildx", "build", ctx],
            Expect::Deny(&["privileged"]),
            After::AuditDenial("build.grpc", "buildkit"),
        )],
        &["gate.log"],
    );

    // The operator's choice: the rule off, the entitlements off in
    // daemon.json. Builds work; host networking in a step does not.
    daemon.reload("[rules.buildkit]\naction = \"off\"\n");
    daemon.configure(
        r#"{"builder": {"Entitlements": {"network-host": false, "security-insecure": false}}}"#,
    );
    daemon.restart_dockerd();
    daemon.docker_ok(&["buildx", "use", "default"]);
    let out = daemon.docker(&["buildx", "build", "-t", "bk-buildx", offline]);
    assert!(
        out.status.success(),
        "a BuildKit build with the rule off: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = daemon.docker(&["buildx", "build", "--network", "host", ctx]);
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && text.contains("network.host"),
        "the daemon's entitlements refuse host networking: {text}"
    );
}
