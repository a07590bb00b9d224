//! Every AuthZ request captured from a real daemon, through the whole
//! decision: reading, resolving against captured inspect documents, rules.

use dockgate_gate::Gate;
use dockgate_outputs::Denial;
use dockgate_rules::{Decision, Policy, Profile};

use crate::util::{captured, captured_daemon};
use dockgate_inputs::resolve::FakeDaemon;

/// (decision, rule ids) for each request of a capture.
type Expected<'a> = &'a [(Decision, &'static [&'static str])];

use Decision::{Allow, Deny};

const STARTED: [(Decision, &[&str]); 3] = [(Allow, &[]), (Allow, &[]), (Allow, &[])];

fn check(gate: &Gate<FakeDaemon>, name: &str, expected: Expected<'_>) {
    let (command, requests) = captured(name);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    assert!(
        expected.len() <= requests.len(),
        "{name}: {} expectations for {} requests",
        expected.len(),
        requests.len()
    );
    for (i, (request, (decision, rules))) in requests.iter().zip(expected).enumerate() {
        let (verdict, record) = rt.block_on(gate.decide(request));
        assert_eq!(
            (verdict.decision, verdict.rule_ids()),
            (
                *decision,
                rules.iter().map(|r| r.to_string()).collect::<Vec<_>>()
            ),
            "{name} request {i} ({} {}) for `{command}`: {:#?}",
            request.method,
            request.uri,
            verdict.findings
        );
        assert_eq!(record.decision, verdict.decision);
        assert_eq!(record.policy_hash, gate.policy().hash());
    }
}

fn with_started(
    first: (Decision, &'static [&'static str]),
) -> Vec<(Decision, &'static [&'static str])> {
    let mut all = vec![first];
    all.extend_from_slice(&STARTED);
    all
}

#[test]
fn baseline_over_every_capture() {
    let gate = Gate::new(Policy::default(), captured_daemon());
    let creates: &[(&str, Decision, &[&str])] = &[
        ("run-plain", Allow, &["run-as-root"]),
        ("run-bind-ro", Deny, &["host-mount", "run-as-root"]),
        (
            "run-bind-root",
            Deny,
            &["host-mount", "docker-socket", "run-as-root"],
        ),
        ("run-cap-add", Deny, &["capabilities", "run-as-root"]),
        ("run-cap-drop-all", Allow, &["run-as-root"]),
        ("run-device", Deny, &["devices", "run-as-root"]),
        (
            "run-docker-sock",
            Deny,
            &["host-mount", "docker-socket", "run-as-root"],
        ),
        ("run-env", Allow, &["run-as-root", "env-secrets"]),
        (
            "run-host-namespaces",
            Deny,
            &["host-namespace", "run-as-root"],
        ),
        ("run-inline-volume", Deny, &["host-mount", "run-as-root"]),
        ("run-join-namespaces", Allow, &["run-as-root"]),
        ("run-mount-bind", Deny, &["host-mount", "run-as-root"]),
        ("run-named-volume", Allow, &["run-as-root"]),
        ("run-ports", Allow, &["run-as-root", "published-ports"]),
        ("run-privileged", Deny, &["privileged", "run-as-root"]),
        (
            "run-propagation",
            Deny,
            &["host-mount", "mount-propagation", "run-as-root"],
        ),
        (
            "run-runtime-cgroup",
            Deny,
            &["cgroup-parent", "run-as-root"],
        ),
        (
            "run-security-opts",
            Deny,
            &["security-profile", "run-as-root"],
        ),
        ("run-sysctl", Deny, &["sysctls", "run-as-root"]),
        (
            "run-systempaths",
            Deny,
            &["security-profile", "run-as-root"],
        ),
        ("run-tmpfs", Allow, &["run-as-root"]),
        ("run-user-limits", Allow, &[]),
        ("run-volumes-from", Allow, &["run-as-root"]),
    ];
    for (name, decision, rules) in creates {
        check(&gate, name, &with_started((*decision, rules)));
    }
    check(
        &gate,
        "exec-plain",
        &[(Allow, &["run-as-root"]), (Allow, &[])],
    );
    check(
        &gate,
        "exec-privileged",
        &[(Deny, &["privileged", "run-as-root"]), (Allow, &[])],
    );
    check(&gate, "rm-container", &[(Allow, &[])]);
    check(&gate, "update-resources", &[(Allow, &[])]);
    check(&gate, "volume-create", &[(Allow, &[])]);
    check(
        &gate,
        "volume-create-bind",
        &[(Deny, &["host-mount", "docker-socket"])],
    );
}

#[test]
fn references_resolve_to_what_the_daemon_holds() {
    // The same captured requests, with `runner` now a container that has a
    // host bind mount and host namespaces.
    let gate = Gate::new(
        Policy::default(),
        captured_daemon().alias("runner", "i-bind"),
    );
    check(
        &gate,
        "run-volumes-from",
        &with_started((Deny, &["host-mount", "run-as-root"])),
    );
    let gate = Gate::new(
        Policy::default(),
        captured_daemon().alias("runner", "i-hostns"),
    );
    check(
        &gate,
        "run-join-namespaces",
        &with_started((Deny, &["host-namespace", "run-as-root"])),
    );
}

#[test]
fn failed_lookups_fail_closed() {
    let lookup = captured_daemon().broken("runner");
    let gate = Gate::new(Policy::default(), lookup);
    check(
        &gate,
        "run-volumes-from",
        &with_started((Deny, &["host-mount", "run-as-root"])),
    );
    // The PID namespace's container cannot be judged either.
    check(
        &gate,
        "run-join-namespaces",
        &with_started((Deny, &["gate-failure"])),
    );
}

#[test]
fn restricted_over_captures() {
    let gate = Gate::new(Policy::from_profile(Profile::Restricted), captured_daemon());
    check(
        &gate,
        "run-user-limits",
        &with_started((
            Deny,
            &[
                "capabilities",
                "image-latest",
                "image-digest",
                "no-new-privileges",
            ],
        )),
    );
    check(
        &gate,
        "run-plain",
        &with_started((
            Deny,
            &[
                "capabilities",
                "run-as-root",
                "image-latest",
                "image-digest",
                "no-new-privileges",
                "read-only-rootfs",
                "memory-limit",
                "pids-limit",
            ],
        )),
    );
    check(
        &gate,
        "run-ports",
        &with_started((
            Deny,
            &[
                "capabilities",
                "run-as-root",
                "published-ports",
                "image-latest",
                "image-digest",
                "no-new-privileges",
                "read-only-rootfs",
                "memory-limit",
                "pids-limit",
            ],
        )),
    );
}

#[test]
fn denial_messages_name_rule_field_and_fix() {
    let gate = Gate::new(Policy::default(), captured_daemon());
    let (_, requests) = captured("run-bind-root");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (verdict, _) = rt.block_on(gate.decide(&requests[0]));
    assert_eq!(
        verdict.denial_message(),
        "dockgate: denied by rule host-mount: bind mount of host path \"/\" at \"/host\" (HostConfig.Binds[0]); \
         use a named volume, or ask an administrator to allow this path (dockgate explain host-mount) \
         | denied by rule docker-socket: bind mount of host path \"/\" at \"/host\", which exposes /var/run/docker.sock \
         (HostConfig.Binds[0]); do not mount the runtime socket; use a socket proxy that exposes only the read-only \
         endpoints the tool needs (dockgate explain docker-socket)"
    );
    let (_, requests) = captured("run-env");
    let (_, record) = rt.block_on(gate.decide(&requests[0]));
    let line = serde_json::to_string(&record).unwrap();
    assert!(line.contains("DB_PASSWORD"), "{line}");
    assert!(
        !line.contains("hunter2"),
        "audit records never hold env values: {line}"
    );
}
