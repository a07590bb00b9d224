//! Swarm: membership is refused at the gate, and task containers, which a
//! manager starts on this node without a call to its API, are judged by
//! the patrol like any container.
//!
//! Trust model (README, "Swarm"): a swarm is only as safe as its least
//! guarded manager. Every manager must run the gate with the same policy;
//! the patrol catches what a manager without it scheduled here.

use std::time::Duration;

use crate::harness::{
    assert_cases, cli, e2e_enabled, import_test_image, one_daemon_at_a_time, swarm_init, wait_for,
    After, Daemon, Expect, Generation,
};
use crate::util::TestCommand;

/// The running task containers of a service.
fn tasks(daemon: &Daemon, service: &str) -> Vec<String> {
    let filter = format!("label=com.docker.swarm.service.name={service}");
    daemon
        .docker_ok(&["ps", "-q", "--filter", &filter])
        .split_whitespace()
        .map(str::to_string)
        .collect()
}

#[test]
fn swarm_membership_is_refused_and_tasks_are_judged() {
    if !e2e_enabled() {
        return;
    }
    let _turn = one_daemon_at_a_time();
    let mut daemon = Daemon::start_on(Generation::Dockerd26, Some(""));
    import_test_image(&daemon);
    let listen = format!("127.0.0.1:{}", 20000 + std::process::id() % 20000);
    let init = swarm_init(&listen);
    assert_cases(
        &daemon,
        &[cli(
            "swarm init",
            &init,
            Expect::Deny(&["swarm-join"]),
            After::NotInSwarm,
        )],
        &["gate.log"],
    );

    // A manager without the gate schedules a task here: the same daemon,
    // restarted without its authorization plugin, stands in for it.
    let plugin = daemon.plugin.clone();
    daemon.restart_dockerd_with(None);
    daemon.setup(&[
        init.clone(),
        vec![
            "service",
            "create",
            "--detach",
            "--name",
            "sw-task",
            "--mount",
            "type=bind,source=/etc,target=/host-etc,readonly",
            "testimg",
            "sleep",
            "600",
        ],
    ]);
    daemon.restart_dockerd_with(Some(&plugin));
    // The swarm starts the task again after the restart, with no API call
    // the gate could judge.
    wait_for("the task container", Duration::from_secs(60), || {
        !tasks(&daemon, "sw-task").is_empty()
    });
    let task = tasks(&daemon, "sw-task").remove(0);

    let host = daemon.host();
    let (code, stdout, stderr) =
        TestCommand::new(&["scan", "--docker-host", &host, "--format", "json"]).run();
    assert_eq!(code, 1, "{stdout}{stderr}");
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let failed: Vec<(&str, &str)> = report["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["result"] == "fail")
        .map(|r| {
            (
                r["container"]["name"].as_str().unwrap(),
                r["rule"].as_str().unwrap(),
            )
        })
        .collect();
    assert!(
        failed
            .iter()
            .any(|(name, rule)| name.starts_with("sw-task.1.") && *rule == "host-mount"),
        "{stdout}"
    );

    // Reaching into the task through the gate is judged by what it has.
    let out = daemon.docker(&["exec", &task, "true"]);
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && text.contains("denied by rule host-mount"),
        "{text}"
    );
    // Leaving the swarm is no membership decision: allowed.
    daemon.docker_ok(&["service", "rm", "sw-task"]);
    daemon.docker_ok(&["swarm", "leave", "--force"]);
}
