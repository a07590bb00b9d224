//! Policies written for opa-docker-authz, run unchanged (`[opa-docker-authz]`
//! in the policy file): the same answers as opa-docker-authz on ordinary
//! requests, and the requests that get past opa-docker-authz with them
//! refused, because the body and path are read as the daemon reads them.

use dockgate_outputs::Denial;
use std::collections::BTreeMap;

use dockgate_gate::Gate;
use dockgate_inputs::authz::AuthzRequest;
use dockgate_rules::{Action, Policy, Verdict};

use crate::util::{captured_daemon, fixture_path, Dir, TestCommand};

const RULE: &str = "custom/docker/authz/allow";

/// A policy of `fixtures/rego/opa-docker-authz`.
fn example(file: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/rego/opa-docker-authz")
        .join(file)
}

/// A policy of the baseline plus one of `fixtures/rego/opa-docker-authz`.
fn policy(file: &str) -> Policy {
    let rego = example(file);
    Policy::from_toml(&format!(
        "[opa-docker-authz]\nrego = [{:?}]\n",
        rego.display().to_string()
    ))
    .expect("valid policy")
}

fn request(method: &str, uri: &str, body: Option<&str>, user: Option<&str>) -> AuthzRequest {
    let mut request = AuthzRequest::new(method, uri, body.map(str::as_bytes));
    if let Some(user) = user {
        request
            .headers
            .get_or_insert_with(BTreeMap::new)
            .insert("Authz-User".into(), user.into());
    }
    request
}

fn decide_with(
    gate: &Gate<dockgate_inputs::resolve::FakeDaemon>,
    request: &AuthzRequest,
) -> Verdict {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(gate.decide(request))
        .0
}

/// Whether the opa-docker-authz policy refused the request (the built-in
/// rules may refuse it too: these tests are about the policy alone).
fn refused_by_policy(policy: Policy, request: &AuthzRequest) -> bool {
    let verdict = decide_with(&Gate::new(policy, captured_daemon()), request);
    verdict
        .findings
        .iter()
        .any(|f| f.rule.id() == RULE && f.action == Action::Deny)
}

const PLAIN: &str = r#"{"Image":"testimg","User":"1000"}"#;

#[test]
fn the_readme_example_answers_as_opa_docker_authz_does() {
    let v0 = || policy("example_v0.rego");
    // Reads: any known user; nobody else.
    let list = |user| request("GET", "/v1.23/containers/json", None, user);
    assert!(!refused_by_policy(v0(), &list(Some("bob"))));
    assert!(!refused_by_policy(v0(), &list(Some("alice"))));
    assert!(refused_by_policy(v0(), &list(Some("mallory"))));
    assert!(refused_by_policy(v0(), &list(None)));
    // Writes: alice only.
    let create = |user, body| request("POST", "/v1.23/containers/create", Some(body), user);
    assert!(!refused_by_policy(v0(), &create(Some("alice"), PLAIN)));
    assert!(refused_by_policy(v0(), &create(Some("bob"), PLAIN)));
    // No seccomp=unconfined; the prod label needs the prod network.
    let unconfined = r#"{"Image":"testimg","HostConfig":{"SecurityOpt":["seccomp=unconfined"]}}"#;
    assert!(refused_by_policy(v0(), &create(Some("alice"), unconfined)));
    let prod = r#"{"Image":"testimg","Labels":{"com.example/deployment":"prod"},"HostConfig":{"NetworkMode":"bridge"}}"#;
    assert!(refused_by_policy(v0(), &create(Some("alice"), prod)));
    let prod_network = prod.replace("bridge", "prod-network");
    assert!(!refused_by_policy(
        v0(),
        &create(Some("alice"), &prod_network)
    ));

    // The v1 example, and any API version.
    let v1 = || policy("example_v1.rego");
    let create = |uri, body| request("POST", uri, Some(body), Some("alice"));
    assert!(!refused_by_policy(
        v1(),
        &create("/v1.41/containers/create", PLAIN)
    ));
    assert!(refused_by_policy(
        v1(),
        &create("/v1.41/containers/create", unconfined)
    ));
    assert!(refused_by_policy(
        v1(),
        &create("/v1.47/containers/create", prod)
    ));
    assert!(!refused_by_policy(v1(), &list(Some("bob"))));
}

#[test]
fn the_test_data_policies_answer_as_opa_docker_authz_does() {
    let allow_get = || policy("default_allow.rego");
    assert!(!refused_by_policy(
        allow_get(),
        &request("GET", "/v1.23/containers/json", None, Some("alice"))
    ));
    assert!(refused_by_policy(
        allow_get(),
        &request("POST", "/v1.47/containers/create", Some(PLAIN), None)
    ));
    // opa-docker-authz lets `HEAD /_ping` through unjudged by default.
    assert!(!refused_by_policy(
        allow_get(),
        &request("HEAD", "/_ping", None, None)
    ));
    let no_privileged = || policy("no_privileged.rego");
    let create = |body| request("POST", "/v1.41/containers/create", Some(body), None);
    assert!(!refused_by_policy(no_privileged(), &create(PLAIN)));
    assert!(refused_by_policy(
        no_privileged(),
        &create(r#"{"Image":"testimg","HostConfig":{"Privileged":true}}"#)
    ));
}

/// Each request gets past opa-docker-authz running the policy: its body
/// or path reads differently to a map-decoding plugin than to the daemon,
/// which creates the container as asked all the same.
#[test]
fn the_known_bypasses_of_those_policies_are_closed() {
    let unconfined_as = |uri: &str, body: &str| request("POST", uri, Some(body), Some("alice"));
    let bypasses = [
        // Go matches keys case-insensitively; a map keeps them as sent.
        (
            "/v1.23/containers/create",
            r#"{"Image":"testimg","hostconfig":{"securityopt":["seccomp=unconfined"]}}"#,
        ),
        // The daemon merges a repeated object; a map keeps the last.
        (
            "/v1.23/containers/create",
            r#"{"Image":"testimg","HostConfig":{"SecurityOpt":["seccomp=unconfined"]},"HostConfig":{"Memory":0}}"#,
        ),
        // Go's U+017F folds to s.
        (
            "/v1.23/containers/create",
            "{\"Image\":\"testimg\",\"HostConfig\":{\"\u{17f}ecurityOpt\":[\"seccomp=unconfined\"]}}",
        ),
        // The daemon takes ':' as the separator too.
        (
            "/v1.23/containers/create",
            r#"{"Image":"testimg","HostConfig":{"SecurityOpt":["seccomp:unconfined"]}}"#,
        ),
        // Host settings at the top level of the body apply without a
        // HostConfig object.
        (
            "/v1.23/containers/create",
            r#"{"Image":"testimg","SecurityOpt":["seccomp=unconfined"]}"#,
        ),
        // The query is not part of the path the daemon routes.
        (
            "/v1.23/containers/create?name=web",
            r#"{"Image":"testimg","HostConfig":{"SecurityOpt":["seccomp=unconfined"]}}"#,
        ),
        // Nor are escapes.
        (
            "/v1.23/containers/%63reate",
            r#"{"Image":"testimg","HostConfig":{"SecurityOpt":["seccomp=unconfined"]}}"#,
        ),
    ];
    for (uri, body) in bypasses {
        assert!(
            refused_by_policy(policy("example_v0.rego"), &unconfined_as(uri, body)),
            "{uri} {body}"
        );
    }
    // opa-docker-authz reads a body only under exactly
    // `application/json`; the daemon takes parameters too.
    let mut charset = unconfined_as(
        "/v1.23/containers/create",
        r#"{"Image":"testimg","HostConfig":{"SecurityOpt":["seccomp=unconfined"]}}"#,
    );
    charset.headers.as_mut().unwrap().insert(
        "Content-Type".into(),
        "application/json; charset=utf-8".into(),
    );
    assert!(refused_by_policy(policy("example_v0.rego"), &charset));
    // A path without a version is routed all the same, and
    // `/**/containers/create` matches it (as in OPA).
    assert!(refused_by_policy(
        policy("example_v1.rego"),
        &unconfined_as(
            "/containers/create",
            r#"{"Image":"testimg","HostConfig":{"SecurityOpt":["seccomp=unconfined"]}}"#
        )
    ));
    // A profile that allows every system call is unconfined by any name.
    let permissive = serde_json::json!({
        "Image": "testimg",
        "HostConfig": {"SecurityOpt": [format!(
            "seccomp={}",
            serde_json::json!({"defaultAction": "SCMP_ACT_ALLOW"})
        )]}
    })
    .to_string();
    assert!(refused_by_policy(
        policy("example_v1.rego"),
        &unconfined_as("/v1.41/containers/create", &permissive)
    ));
    // A body the daemon did not forward is refused before any policy runs
    // (opa-docker-authz sees no body and allows).
    let mut chunked = unconfined_as("/v1.41/containers/create", PLAIN);
    chunked.body = None;
    chunked.headers.as_mut().unwrap().remove("Content-Length");
    let verdict = decide_with(
        &Gate::new(policy("no_privileged.rego"), captured_daemon()),
        &chunked,
    );
    assert!(!verdict.allowed());
    assert_eq!(
        verdict.denial_message(),
        "dockgate: denied by rule unreadable-request: the daemon did not forward the body of container.create to the plugin (the body was sent without a Content-Length, e.g. chunked (CVE-2024-41110)), so dockgate cannot see what it asks for; send the request with a JSON body and a Content-Length, as the docker CLI does; for a file, fix it where the error points, so that Compose or the docker CLI accepts it (dockgate explain unreadable-request)"
    );
}

/// `BindMounts` comes from the model: a symbolic link's target, and a
/// volume the `local` driver binds from a host path, both count (neither
/// reaches opa-docker-authz's list as what it is).
#[test]
fn bind_mounts_are_listed_from_the_model_with_their_resolved_paths() {
    let daemon = || {
        captured_daemon().link("/home/user/root", "/").volume(
            "hostetc",
            "local",
            &[("type", "none"), ("o", "bind"), ("device", "/etc")],
        )
    };
    let refused = |body: serde_json::Value| {
        let gate = Gate::new(policy("bind_mounts.rego"), daemon());
        let create = request(
            "POST",
            "/v1.41/containers/create",
            Some(&body.to_string()),
            None,
        );
        decide_with(&gate, &create)
            .findings
            .iter()
            .any(|f| f.rule.id() == RULE)
    };
    let binds =
        |bind: &str| serde_json::json!({"Image": "testimg", "HostConfig": {"Binds": [bind]}});
    assert!(!refused(binds("/srv/data:/data:ro")));
    assert!(refused(binds("/srv/data:/data")));
    assert!(refused(binds("/home/user/root:/host:ro")));
    assert!(refused(binds("/home/user/../../etc:/host:ro")));
    assert!(refused(binds("hostetc:/host:ro")));
    let mount = serde_json::json!({"Image": "testimg", "HostConfig": {"Mounts": [
        {"Type": "bind", "Source": "/", "Target": "/host", "ReadOnly": true}
    ]}});
    assert!(refused(mount));
}

/// The same policy judges compose services and containers' inspect
/// documents (what scan and watch read), as the create request that makes
/// them.
#[test]
fn scan_and_check_judge_the_create_request_that_makes_the_workload() {
    let dir = Dir::new("opa-check");
    let rego = example("example_v1.rego");
    let policy = dir.create(
        "policy.toml",
        &format!(
            "[opa-docker-authz]\nrego = [{:?}]\n\n[rules.\"{RULE}\"]\naction = \"warn\"\n",
            rego.display().to_string()
        ),
    );
    let compose = dir.create(
        "compose.yaml",
        "services:\n  web:\n    image: nginx\n    user: \"101\"\n    labels:\n      com.example/deployment: prod\n  db:\n    image: postgres\n    user: \"999\"\n    labels:\n      com.example/deployment: prod\n    network_mode: prod-network\n",
    );
    let (code, out, err) = TestCommand::new(&[
        "check",
        "--policy",
        policy.to_str().unwrap(),
        compose.to_str().unwrap(),
    ])
    .run();
    assert_eq!(code, 0, "{out}{err}");
    // Both: no Authz-User header reaches a compose file, so no user role.
    // web, besides, is a prod container off the prod network.
    assert_eq!(
        out.matches(&format!("warn {RULE}: POST /v1.45/containers/create rejected by administrative policy (data.docker.authz.allow is not true)")).count(),
        2,
        "{out}"
    );
    let no_privileged = example("no_privileged.rego");
    let policy = dir.create(
        "privileged.toml",
        &format!(
            "[opa-docker-authz]\nrego = [{:?}]\n",
            no_privileged.display().to_string()
        ),
    );
    assert!(check_inspect_refuses(
        &policy,
        &fixture_path("inspect/i-priv.json")
    ));
}

/// Whether `check --inspect` finds the policy refusing the container, and
/// exits 1 then.
fn check_inspect_refuses(policy: &std::path::Path, inspect: &std::path::Path) -> bool {
    let (code, out, err) = TestCommand::new(&[
        "check",
        "--policy",
        policy.to_str().unwrap(),
        "--inspect",
        inspect.to_str().unwrap(),
    ])
    .run();
    let refused = out.contains(&format!(
        "deny {RULE}: POST /v1.45/containers/create rejected by administrative policy"
    ));
    assert_eq!(code == 1, refused, "{out}{err}");
    refused
}

#[test]
fn a_policy_that_cannot_run_is_refused_with_the_reason() {
    let dir = Dir::new("opa-invalid");
    let read = |text: &str| {
        Policy::from_toml_in(text, Some(dir.path()))
            .unwrap_err()
            .to_string()
    };
    dir.create(
        "broken.rego",
        "package docker.authz\n\nallow if {\n\tinput.Method ==\n}\n",
    );
    dir.create("other.rego", "package other\n\nallow := true\n");
    assert_eq!(
        read("[opa-docker-authz]\n"),
        "opa-docker-authz: name the policy's Rego files with rego = [...]"
    );
    assert_eq!(
        read("[opa-docker-authz]\nrego = [\"missing.rego\"]\n"),
        "opa-docker-authz.rego: \"missing.rego\": no such file"
    );
    assert_eq!(
        read("[opa-docker-authz]\nrego = [\"other.rego\"]\n"),
        "opa-docker-authz: query \"data.docker.authz.allow\": not a valid rule path"
    );
    assert_eq!(
        read("[opa-docker-authz]\nrego = [\"other.rego\"]\nquery = \"allow\"\n"),
        "opa-docker-authz: query \"allow\": give a rule's path, data.PACKAGE.RULE (data.docker.authz.allow)"
    );
    let broken = read("[opa-docker-authz]\nrego = [\"broken.rego\"]\n");
    assert!(
        broken.starts_with(&format!(
            "opa-docker-authz: {}:5:1: ",
            dir.path().join("broken.rego").display()
        )),
        "{broken}"
    );
    // Another query than opa-docker-authz's default.
    let policy = Policy::from_toml_in(
        "[opa-docker-authz]\nrego = [\"other.rego\"]\nquery = \"data.other.allow\"\n",
        Some(dir.path()),
    )
    .unwrap();
    assert!(policy.judges_requests());
    assert!(policy
        .to_toml()
        .contains("[opa-docker-authz]\nrego = [\"other.rego\"]\nquery = \"data.other.allow\"\n"));
}

/// The gate's own look-ups carry a secret header, and only they pass a
/// policy that lets only named users read.
#[test]
fn the_gates_own_look_ups_are_not_judged_by_the_policy() {
    let gate = Gate::new(policy("example_v1.rego"), captured_daemon()).with_marker("s3cret");
    let inspect = |marker: Option<&str>, method: &str| {
        let mut request = request(method, "/v1.41/containers/web/json", None, None);
        if let Some(marker) = marker {
            request
                .headers
                .as_mut()
                .unwrap()
                .insert("X-Dockgate-Lookup".into(), marker.into());
        }
        decide_with(&gate, &request)
    };
    assert!(inspect(Some("s3cret"), "GET").allowed());
    assert!(!inspect(Some("guess"), "GET").allowed());
    assert!(!inspect(None, "GET").allowed());
    // Only reads: a write that carries it is judged all the same.
    assert!(!inspect(Some("s3cret"), "POST").allowed());
}

#[test]
fn explain_prints_the_rules_metadata() {
    let dir = Dir::new("opa-explain");
    let rego = example("example_v1.rego");
    let policy = dir.create(
        "policy.toml",
        &format!(
            "[opa-docker-authz]\nrego = [{:?}]\n",
            rego.display().to_string()
        ),
    );
    let (code, out, err) =
        TestCommand::new(&["explain", RULE, "--policy", policy.to_str().unwrap()]).run();
    assert_eq!(code, 0, "{err}");
    assert!(
        out.starts_with(&format!(
            "{RULE}\n\nA custom rule: a policy in opa-docker-authz's form: it denies what data.docker.authz.allow does not allow.\n\n\
             Docker authorization\nKnown users read; alice writes.\n\n\
             Allowed requests\nProd containers stay on the prod network,\nand no container runs without seccomp.\ncustom.owner: platform-team\n\n\
             Files: {}.\nAction: deny (before the mode).\n",
            rego.display()
        )),
        "{out}"
    );
}

/// `policy test` gives such a policy's tests each input as the request
/// (`data.requests.NAME`): a captured AuthZ request as the gate reads it,
/// or the create request that makes a container; v0 files are read too.
#[test]
fn policy_test_gives_the_create_requests_of_its_inputs() {
    let dir = Dir::new("opa-policy-test");
    std::fs::create_dir_all(dir.path().join("policy")).unwrap();
    std::fs::copy(
        example("example_v0.rego"),
        dir.path().join("policy/example_v0.rego"),
    )
    .unwrap();
    dir.create(
        "policy/example_test.rego",
        "package docker.authz\n\n\
         sent_by(user, request) := object.union(request, {\"Headers\": {\"Authz-User\": user}, \"Path\": \"/v1.23/containers/create\"})\n\n\
         test_alice_creates if allow with input as sent_by(\"alice\", data.requests.plain)\n\n\
         test_lower_case_network_is_read if not allow with input as sent_by(\"alice\", data.requests.prod)\n\n\
         test_prod_service_off_network if not allow with input as sent_by(\"alice\", data.requests.stack.web)\n\n\
         test_bob_creates if allow with input as sent_by(\"bob\", data.requests.plain)\n\n\
         test_captured_bind if {\n\tdata.requests.captured.Path == \"/v1.41/containers/create\"\n\t\
         data.requests.captured.BindMounts == [{\"Source\": \"/\", \"ReadOnly\": false, \"Resolved\": \"/\"}]\n\t\
         data.inputs.captured.workload.mounts[0].kind.host_path == \"/\"\n}\n",
    );
    let plain = dir.create("plain.json", r#"{"Image":"testimg"}"#);
    let prod = dir.create(
        "prod.json",
        r#"{"Image":"testimg","labels":{"com.example/deployment":"prod"},"hostconfig":{"networkmode":"none"}}"#,
    );
    let stack = dir.create(
        "compose.yaml",
        "services:\n  web:\n    image: nginx\n    labels:\n      com.example/deployment: prod\n",
    );
    let (code, out, err) = TestCommand::new(&[
        "policy",
        "test",
        dir.path().join("policy").to_str().unwrap(),
        "--input",
        &format!("plain=create:{}", plain.display()),
        "--input",
        &format!("prod=create:{}", prod.display()),
        "--input",
        &format!("stack=compose:{}", stack.display()),
        "--input",
        &format!(
            "captured={}",
            [
                "authz:",
                crate::util::fixture_path("authz/run-bind-root.json")
                    .to_str()
                    .unwrap()
            ]
            .concat()
        ),
    ])
    .run();
    assert_eq!(code, 1, "{out}{err}");
    assert_eq!(
        out,
        "PASS: data.docker.authz.test_alice_creates\n\
         PASS: data.docker.authz.test_lower_case_network_is_read\n\
         PASS: data.docker.authz.test_prod_service_off_network\n\
         FAIL: data.docker.authz.test_bob_creates\n\
         PASS: data.docker.authz.test_captured_bind\n\
         ----------------------------------------\n\
         PASS: 4/5\nFAIL: 1/5\n"
    );
}

/// A container a request reaches (a start of a stored container, an
/// attach, an exec) is judged as the create request that made it, sent
/// with the request's headers: reaching a container takes what creating
/// it would.
#[test]
fn a_container_a_request_reaches_is_judged_as_its_create() {
    let reaches = |policy_file: &str, method: &str, uri: &str, user: Option<&str>| {
        let gate = Gate::new(policy(policy_file), captured_daemon());
        decide_with(&gate, &request(method, uri, None, user))
    };
    // i-priv was created privileged, before the policy.
    let started = reaches(
        "no_privileged.rego",
        "POST",
        "/v1.41/containers/i-priv/start",
        None,
    );
    let ours: Vec<&str> = started
        .findings
        .iter()
        .filter(|f| f.rule.id() == RULE)
        .map(|f| f.message.as_str())
        .collect();
    assert_eq!(
        ours,
        ["start container \"i-priv\", which breaks the policy: POST /v1.45/containers/create rejected by administrative policy (data.docker.authz.allow is not true)"]
    );
    let attached = reaches(
        "no_privileged.rego",
        "POST",
        "/v1.41/containers/i-priv/attach?stream=1&stdout=1",
        None,
    );
    assert!(attached.findings.iter().any(|f| f.rule.id() == RULE
        && f.message
            .starts_with("attach to container \"i-priv\", which breaks the policy: ")));
    // A plain container: nothing to refuse.
    let plain = reaches(
        "no_privileged.rego",
        "POST",
        "/v1.41/containers/i-plain/start",
        None,
    );
    assert!(
        !plain.findings.iter().any(|f| f.rule.id() == RULE),
        "{plain:?}"
    );
    // The request's headers go with the synthesized create: alice may
    // reach what she may create, bob (who reads only) may not.
    let as_alice = reaches(
        "example_v1.rego",
        "POST",
        "/v1.41/containers/i-plain/start",
        Some("alice"),
    );
    assert!(
        !as_alice.findings.iter().any(|f| f.rule.id() == RULE),
        "{as_alice:?}"
    );
    let as_bob = reaches(
        "example_v1.rego",
        "POST",
        "/v1.41/containers/i-plain/start",
        Some("bob"),
    );
    assert!(as_bob.findings.iter().any(|f| f.rule.id() == RULE));
}

/// Ways past such a policy found by attacking it on dockerd 20.10: each
/// request below was carried out by the daemon as the policy meant to
/// forbid, and is refused now.
#[test]
fn what_an_attack_on_the_policy_found_is_refused() {
    let dir = Dir::new("opa-attack");
    let rego = dir.create(
        "policy.rego",
        "package docker.authz\n\ndefault allow := false\n\nallow if not deny\n\n\
         deny if input.Body.HostConfig.CpusetCpus != \"\"\n\n\
         deny if {\n\tsome u in input.Body.HostConfig.Ulimits\n\tu.Name == \"core\"\n}\n\n\
         deny if \"EVIL=1\" in input.Body.Env\n\n\
         deny if \"db\" in input.Body.EndpointConfig.Aliases\n\n\
         deny if {\n\tsome m in input.Body.HostConfig.Mounts\n\tm.TmpfsOptions.Mode == 511\n}\n\n\
         deny if \"9.9.9.9\" in input.Body.TaskTemplate.ContainerSpec.DNSConfig.Nameservers\n",
    );
    let policy = || {
        Policy::from_toml(&format!(
            "[opa-docker-authz]\nrego = [{:?}]\n",
            rego.display().to_string()
        ))
        .unwrap()
    };
    let verdict = |method: &str, uri: &str, body: &str| {
        let gate = Gate::new(policy(), captured_daemon());
        decide_with(&gate, &request(method, uri, Some(body), None))
    };
    let refused_by_policy = |method: &str, uri: &str, body: &str| {
        verdict(method, uri, body)
            .findings
            .iter()
            .any(|f| f.rule.id() == RULE && f.action == Action::Deny)
    };
    // The plain forms are refused, as written.
    assert!(refused_by_policy(
        "POST",
        "/v1.41/containers/create",
        r#"{"Image":"testimg","User":"1000","HostConfig":{"CpusetCpus":"0"}}"#
    ));
    // The wrapper's own Cpuset fills CpusetCpus (moby getHostConfig).
    assert!(refused_by_policy(
        "POST",
        "/v1.41/containers/create",
        r#"{"Image":"testimg","User":"1000","Cpuset":"0","HostConfig":{}}"#
    ));
    // Keys inside Ulimits, TmpfsOptions, IPAMConfig are matched as Go
    // matches them.
    assert!(refused_by_policy(
        "POST",
        "/v1.41/containers/create",
        r#"{"Image":"testimg","User":"1000","HostConfig":{"Ulimits":[{"name":"core","soft":0,"hard":0}]}}"#
    ));
    assert!(refused_by_policy(
        "POST",
        "/v1.41/containers/create",
        r#"{"Image":"testimg","User":"1000","HostConfig":{"Mounts":[{"Type":"tmpfs","Target":"/t","TmpfsOptions":{"mode":511}}]}}"#
    ));
    // Network connect and commit bodies are read as the daemon's types.
    assert!(refused_by_policy(
        "POST",
        "/v1.41/networks/n1/connect",
        r#"{"Container":"i-plain","endpointconfig":{"aliases":["db"]}}"#
    ));
    assert!(refused_by_policy(
        "POST",
        "/v1.41/commit?container=i-plain&repo=cimg",
        r#"{"env":["EVIL=1"]}"#
    ));
    // So are service specs.
    assert!(refused_by_policy(
        "POST",
        "/v1.41/services/create",
        r#"{"Name":"s","taskTemplate":{"containerspec":{"Image":"testimg","User":"1000","dnsconfig":{"nameservers":["9.9.9.9"]}}}}"#
    ));
    // A body that cannot be given to the policy as sent is refused.
    let unreadable = verdict(
        "POST",
        "/v1.41/secrets/create",
        "{\"Name\":\"x\",\"Data\":\"\\ud800\"}",
    );
    assert!(!unreadable.allowed());
    assert!(
        unreadable.denial_message().starts_with(
            "dockgate: denied by rule unreadable-request: secret.create: its body cannot be given to the policy in opa-docker-authz's form: the body cannot be read as JSON: "
        ),
        "{}",
        unreadable.denial_message()
    );
    // A start that applies a HostConfig (API below 1.24) is refused: the
    // policy judges creates, and the stored container plus the body is
    // neither.
    let start = verdict(
        "POST",
        "/v1.23/containers/i-plain/start",
        r#"{"CpusetCpus":"0","Dns":["9.9.9.9"]}"#,
    );
    assert!(!start.allowed());
    assert_eq!(
        start.denial_message().split(" (dockgate explain").next().unwrap(),
        "dockgate: denied by rule unreadable-request: container.start: a start that applies a HostConfig (API below 1.24) cannot be judged by the policy in opa-docker-authz's form, which judges the create request; send the request with a JSON body and a Content-Length, as the docker CLI does; for a file, fix it where the error points, so that Compose or the docker CLI accepts it"
    );
}

/// A form-encoded body sets what `r.Form` reads, over the query, and the
/// daemon does not forward it: refused for every endpoint, with any policy.
#[test]
fn a_form_encoded_body_is_refused_on_every_endpoint() {
    let gate = Gate::new(Policy::default(), captured_daemon());
    for uri in [
        "/v1.41/containers/i-plain/rename?name=app-ok",
        "/v1.41/containers/i-plain/kill?signal=TERM",
        "/v1.41/containers/prune",
    ] {
        let mut form = AuthzRequest::new("POST", uri, None);
        let headers = form.headers.get_or_insert_with(BTreeMap::new);
        headers.insert(
            "Content-Type".into(),
            "application/x-www-form-urlencoded".into(),
        );
        headers.insert("Content-Length".into(), "8".into());
        let verdict = decide_with(&gate, &form);
        assert!(!verdict.allowed(), "{uri}");
        assert!(
            verdict.denial_message().contains("sent as a form (Content-Type \"application/x-www-form-urlencoded\"): the daemon reads its parameters from the body, which it does not forward to plugins"),
            "{uri}: {}",
            verdict.denial_message()
        );
        // An empty one carries nothing.
        form.headers
            .as_mut()
            .unwrap()
            .insert("Content-Length".into(), "0".into());
        assert!(!decide_with(&gate, &form)
            .denial_message()
            .contains("sent as a form"));
    }
}

/// A container that exists is judged by the create request the daemon
/// holds for it (its inspect document), settings the model leaves out
/// included, at the gate (a start) and in check and scan alike.
#[test]
fn an_existing_container_is_judged_by_the_request_the_daemon_holds() {
    let dir = Dir::new("opa-existing");
    let rego = dir.create(
        "policy.rego",
        "package docker.authz\n\ndefault allow := false\n\nallow if not deny\n\n\
         deny if \"9.9.9.9\" in input.Body.HostConfig.Dns\n\n\
         deny if input.Body.HostConfig.LogConfig.Type == \"json-file\"\n",
    );
    let toml = format!(
        "[opa-docker-authz]\nrego = [{:?}]\n",
        rego.display().to_string()
    );
    // i-plain logs to json-file, which the model does not describe.
    let gate = Gate::new(Policy::from_toml(&toml).unwrap(), captured_daemon());
    let started = decide_with(
        &gate,
        &request("POST", "/v1.41/containers/i-plain/start", None, None),
    );
    assert!(
        started.findings.iter().any(|f| f.rule.id() == RULE
            && f.message
                .starts_with("start container \"i-plain\", which breaks the policy: ")),
        "{started:?}"
    );
    // A create that says nothing of its log driver is not refused.
    let create = decide_with(
        &gate,
        &request("POST", "/v1.41/containers/create", Some(PLAIN), None),
    );
    assert!(
        !create.findings.iter().any(|f| f.rule.id() == RULE),
        "{create:?}"
    );
    // check --inspect: Dns, which the model does not describe either.
    let captured: serde_json::Value =
        serde_json::from_slice(&crate::util::fixture("inspect/i-plain.json")).unwrap();
    let mut doc = match captured {
        serde_json::Value::Array(mut items) => items.remove(0),
        other => other,
    };
    doc["HostConfig"]["Dns"] = serde_json::json!(["9.9.9.9"]);
    doc["HostConfig"]["LogConfig"] = serde_json::json!({"Type": "journald", "Config": {}});
    let inspect = dir.create("inspect.json", &doc.to_string());
    let policy = dir.create("policy.toml", &toml);
    assert!(check_inspect_refuses(&policy, &inspect));
    doc["HostConfig"]["Dns"] = serde_json::json!([]);
    let inspect = dir.create("inspect.json", &doc.to_string());
    assert!(!check_inspect_refuses(&policy, &inspect));
}
