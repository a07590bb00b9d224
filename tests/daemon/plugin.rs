//! dockgate as a managed Docker plugin: built with `packaging/plugin/build`,
//! created and enabled on a private dockerd, enforcing the policy mounted
//! from the host, refusing to be disabled or removed through the API, and
//! the administrator's way back.

use std::process::Command;
use std::time::Duration;

use crate::harness::{
    assert_cases, cli, e2e_enabled, host_audit, import_test_image, leak, one_daemon_at_a_time,
    wait_for, After, Daemon, Expect,
};
use crate::util::dockgate_bin;

#[test]
fn managed_plugin_enforces_and_guards_itself() {
    if !e2e_enabled() {
        return;
    }
    let _turn = one_daemon_at_a_time();
    let mut daemon = Daemon::start_with(None);
    import_test_image(&daemon);
    daemon.docker_ok(&[
        "run", "-d", "--name", "benign", "-u", "1000", "testimg", "sleep", "600",
    ]);

    // A host directory the policy allows, holding a link out of it.
    let allowed = daemon.path("allowed");
    std::fs::create_dir_all(allowed.join("plain")).unwrap();
    std::os::unix::fs::symlink("/etc", allowed.join("escape")).unwrap();
    // The policy directory the plugin mounts: it tightens the baseline, so
    // a denial by run-as-root proves this file is the one in force.
    let etc = daemon.path("etc-dockgate");
    std::fs::create_dir_all(&etc).unwrap();
    std::fs::write(
        etc.join("policy.toml"),
        format!(
            "[rules.run-as-root]\naction = \"deny\"\n\n[rules.host-mount]\nallow = [{:?}]\n",
            allowed.display().to_string()
        ),
    )
    .unwrap();

    let bundle = daemon.path("plugin");
    let built = Command::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/packaging/plugin/build"
    ))
    .arg("--binary")
    .arg(dockgate_bin())
    .arg("--out")
    .arg(&bundle)
    .output()
    .unwrap();
    assert!(
        built.status.success(),
        "{}",
        String::from_utf8_lossy(&built.stderr)
    );
    let config: serde_json::Value =
        serde_json::from_slice(&std::fs::read(bundle.join("config.json")).unwrap()).unwrap();
    assert_eq!(
        config["interface"]["types"],
        serde_json::json!(["docker.authz/1.0"])
    );

    let name = format!("dgm{}", std::process::id());
    let bundle = bundle.display().to_string();
    daemon.docker_ok(&["plugin", "create", &name, &bundle]);
    daemon.docker_ok(&[
        "plugin",
        "set",
        &name,
        &format!("policy.source={}", etc.display()),
        &format!(
            "docker-socket.source={}",
            daemon.path("docker.sock").display()
        ),
    ]);
    daemon.docker_ok(&["plugin", "enable", &name]);
    // The plugin is the daemon's authorization plugin from now on.
    let tagged = format!("{name}:latest");
    daemon.restart_dockerd_with(Some(&tagged));

    // The host audit finds the gate as the daemon does: a managed plugin
    // (its socket under /run/docker/plugins/ID/), by its name with or
    // without the tag.
    for plugin in [tagged.as_str(), name.as_str()] {
        let (_, report) = host_audit(&daemon, plugin);
        let results: Vec<(&str, &str)> = report["results"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| {
                [
                    "audit/gate-installed",
                    "audit/gate-answers",
                    "audit/gate-first",
                ]
                .contains(&r["rule"].as_str().unwrap())
            })
            .map(|r| (r["rule"].as_str().unwrap(), r["result"].as_str().unwrap()))
            .collect();
        assert_eq!(
            results,
            [
                ("audit/gate-installed", "pass"),
                ("audit/gate-answers", "pass"),
                ("audit/gate-first", "pass")
            ],
            "{plugin}: {report}"
        );
    }

    use After::*;
    use Expect::*;
    let plain = leak(format!("{}:/d", allowed.join("plain").display()));
    let escape = leak(format!("{}:/d", allowed.join("escape").display()));
    let name_s = leak(name.clone());
    let cases = vec![
        cli(
            "root is refused by the mounted policy",
            &["run", "--rm", "testimg", "true"],
            Deny(&["run-as-root"]),
            Nothing,
        ),
        cli(
            "a non-root run works",
            &["run", "--rm", "-u", "1000", "testimg", "true"],
            Allow,
            Nothing,
        ),
        cli(
            "a bind the policy allows",
            &["run", "--rm", "-u", "1000", "-v", plain, "testimg", "true"],
            Allow,
            Nothing,
        ),
        cli(
            "a link out of an allowed directory, resolved in the host's root",
            &[
                "run", "--name", "pm-link", "-u", "1000", "-v", escape, "testimg", "true",
            ],
            Deny(&["host-mount"]),
            NoContainer("pm-link"),
        ),
        cli(
            "privileged",
            &[
                "run",
                "--name",
                "pm-priv",
                "-u",
                "1000",
                "--privileged",
                "testimg",
                "true",
            ],
            Deny(&["privileged"]),
            NoContainer("pm-priv"),
        ),
        cli(
            "docker socket",
            &[
                "run",
                "--name",
                "pm-sock",
                "-u",
                "1000",
                "-v",
                "/var/run/docker.sock:/s",
                "testimg",
                "true",
            ],
            Deny(&["docker-socket"]),
            NoContainer("pm-sock"),
        ),
        cli(
            "pid host",
            &[
                "run", "--name", "pm-pid", "-u", "1000", "--pid", "host", "testimg", "true",
            ],
            Deny(&["host-namespace"]),
            NoContainer("pm-pid"),
        ),
        // Needs a look-up through the mounted daemon socket.
        cli(
            "volumes-from a benign container",
            &[
                "run",
                "--rm",
                "-u",
                "1000",
                "--volumes-from",
                "benign",
                "testimg",
                "true",
            ],
            Allow,
            Nothing,
        ),
        cli(
            "the plugin cannot be disabled",
            &["plugin", "disable", name_s],
            Deny(&["plugin-management"]),
            Nothing,
        ),
        cli(
            "nor removed by force",
            &["plugin", "rm", "-f", name_s],
            Deny(&["plugin-management"]),
            Nothing,
        ),
        cli(
            "nor reconfigured",
            &["plugin", "set", name_s, "DOCKGATE_LOG=debug"],
            Deny(&["plugin-management"]),
            Nothing,
        ),
    ];
    assert_cases(&daemon, &cases, &["dockerd.log"]);
    assert_eq!(
        daemon.docker_ok(&["plugin", "inspect", "--format", "{{.Enabled}}", &name]),
        "true"
    );
    // The plugin's audit records reach the daemon's log.
    let log = std::fs::read_to_string(daemon.path("dockerd.log")).unwrap();
    assert!(
        log.contains(r#"\"decision\":\"deny\""#) && log.contains(r#"\"rules\":[\"privileged\""#),
        "no audit record of the privileged run in the daemon's log"
    );

    // The way back: an administrator on the host turns the rule off in
    // the mounted file; the plugin reloads it by itself.
    std::fs::write(
        etc.join("policy.toml"),
        "[rules.plugin-management]\naction = \"off\"\n",
    )
    .unwrap();
    let dockerd_log = daemon.path("dockerd.log");
    wait_for("the plugin's reload", Duration::from_secs(15), || {
        std::fs::read_to_string(&dockerd_log)
            .unwrap_or_default()
            .contains("policy reloaded")
    });
    daemon.docker_ok(&["plugin", "disable", &name]);
    // Disabling it also took it out of the daemon's authorization chain.
    daemon.docker_ok(&[
        "create",
        "--privileged",
        "--name",
        "pm-after",
        "testimg",
        "true",
    ]);
    daemon.restart_dockerd_with(None);
    daemon.docker_ok(&["plugin", "rm", &name]);
}
