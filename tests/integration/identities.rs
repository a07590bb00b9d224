//! Who is calling: identities (TLS certificate names, proxy sockets, the
//! Unix socket) and their roles, decided in-process over a daemon
//! stand-in. The same on real daemons: tests/daemon/identities.rs.

use dockgate_gate::Gate;
use dockgate_inputs::authz::AuthzRequest;
use dockgate_inputs::resolve::FakeDaemon;
use dockgate_model::{At, Operation, Workload};
use dockgate_outputs::AuditRecord;
use dockgate_rules::{Policy, Verdict};

fn policy_text() -> String {
    crate::util::TEAMS_POLICY.replace("SOCKETS", "/run/dockgate")
}

fn container(owner: Option<&str>) -> Workload {
    let mut w = Workload::new(Operation::Container);
    w.image = Some(At::new("testimg".to_string(), "Config.Image"));
    if let Some(owner) = owner {
        w.labels.push(At::new(
            ("dockgate.owner".to_string(), owner.to_string()),
            "Config.Labels",
        ));
    }
    w
}

fn daemon() -> FakeDaemon {
    let mut exec = Workload::new(Operation::Exec);
    exec.name = Some("b".repeat(64));
    let named = |name: &str, owner: &str| {
        let mut w = container(Some(owner));
        w.name = Some(name.to_string());
        w
    };
    let mut joiner = container(Some("team-a"));
    joiner.namespaces.push((
        dockgate_model::NamespaceKind::Network,
        At::new(
            dockgate_model::NamespaceMode::Container {
                target: "web-b".to_string(),
                target_uses_host: dockgate_model::Resolution::Pending,
            },
            "HostConfig.NetworkMode",
        ),
    ));
    FakeDaemon::new()
        .container("joiner", joiner)
        .container("beef", named("beef", "team-a"))
        .container("cafe", named("cafe", "team-a"))
        .container(&format!("beef{}", "0".repeat(60)), named("other", "team-b"))
        .any_image("1000")
        .container("web-a", container(Some("team-a")))
        .container("web-b", container(Some("team-b")))
        .alias(&"b".repeat(64), "web-b")
        .container("orphan", container(None))
        .exec("e1", exec)
}

fn as_user(user: &str, method: &str, uri: &str, body: Option<&str>) -> AuthzRequest {
    let mut request = AuthzRequest::new(method, uri, body.map(str::as_bytes));
    request.user = user.to_string();
    request.user_authn_method = "TLS".to_string();
    request
}

fn decide(request: &AuthzRequest, proxy: Option<&str>) -> (Verdict, AuditRecord) {
    let gate = Gate::new(Policy::from_toml(&policy_text()).unwrap(), daemon());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        match proxy {
            Some(name) => gate.decide_proxied(request, name).await,
            None => gate.decide(request).await,
        }
    })
}

fn denials(verdict: &Verdict) -> Vec<String> {
    verdict
        .denials()
        .map(|f| format!("{}: {}", f.rule, f.message))
        .collect()
}

#[test]
fn a_create_names_its_owner() {
    let bare = r#"{"Image":"testimg"}"#;
    let (verdict, record) = decide(
        &as_user(
            "team-a-alice",
            "POST",
            "/v1.41/containers/create",
            Some(bare),
        ),
        None,
    );
    assert_eq!(
        denials(&verdict),
        ["ownership: no dockgate.owner label: the container must name its owner, one of team-a (--label dockgate.owner=team-a)"]
    );
    assert_eq!(record.identity.as_deref(), Some("team-a"));
    assert_eq!(record.user, "team-a-alice");

    let theirs = r#"{"Image":"testimg","Labels":{"dockgate.owner":"team-b"}}"#;
    let (verdict, _) = decide(
        &as_user(
            "team-a-alice",
            "POST",
            "/v1.41/containers/create",
            Some(theirs),
        ),
        None,
    );
    assert_eq!(
        denials(&verdict),
        ["ownership: owner label dockgate.owner=\"team-b\" names another owner than team-a (--label dockgate.owner=team-a)"]
    );
    let own = r#"{"Image":"testimg","Labels":{"dockgate.owner":"team-a"}}"#;
    let (verdict, _) = decide(
        &as_user(
            "team-a-alice",
            "POST",
            "/v1.41/containers/create",
            Some(own),
        ),
        None,
    );
    assert!(verdict.allowed(), "{verdict:?}");
}

#[test]
fn another_owners_container_is_out_of_reach() {
    for (method, uri, body) in [
        ("GET", "/v1.41/containers/web-b/json", None),
        ("GET", "/v1.41/containers/web-b/logs?stdout=1", None),
        ("POST", "/v1.41/containers/web-b/stop", None),
        ("DELETE", "/v1.41/containers/web-b?force=1", None),
        (
            "POST",
            "/v1.41/containers/web-b/exec",
            Some(r#"{"Cmd":["sh"]}"#),
        ),
        ("POST", "/v1.41/exec/e1/start", Some(r#"{"Detach":false}"#)),
        ("GET", "/v1.41/exec/e1/json", None),
        ("POST", "/v1.41/commit?container=web-b", None),
        ("GET", "/v1.41/containers/web-b/archive?path=/etc", None),
        (
            "POST",
            "/v1.41/containers/create",
            Some(
                r#"{"Image":"testimg","Labels":{"dockgate.owner":"team-a"},"HostConfig":{"VolumesFrom":["web-b:ro"]}}"#,
            ),
        ),
        (
            "POST",
            "/v1.41/containers/create",
            Some(
                r#"{"Image":"testimg","Labels":{"dockgate.owner":"team-a"},"HostConfig":{"NetworkMode":"container:web-b"}}"#,
            ),
        ),
        ("POST", "/v1.41/containers/orphan/start", None),
        // Found by the red team on a real daemon: a link copies the
        // linked container's environment; disconnect acts on it.
        (
            "POST",
            "/v1.41/containers/create",
            Some(
                r#"{"Image":"testimg","Labels":{"dockgate.owner":"team-a"},"HostConfig":{"Links":["/web-b:x"]}}"#,
            ),
        ),
        (
            "POST",
            "/v1.41/networks/n1/disconnect",
            Some(r#"{"Container":"web-b","Force":true}"#),
        ),
    ] {
        let request = as_user("team-a-alice", method, uri, body);
        let (verdict, record) = decide(&request, None);
        let denied = denials(&verdict);
        // (A commit is of the build family, which the role lacks too.)
        assert!(
            denied.iter().any(|d| d.starts_with("ownership: ")
                && d.contains("the caller (team-a) may act only on its own containers")),
            "{method} {uri}: {denied:?}"
        );
        assert_eq!(record.identity.as_deref(), Some("team-a"), "{uri}");
    }
    // The environment leak, word for word.
    let (verdict, _) = decide(
        &as_user("team-a-alice", "GET", "/v1.41/containers/web-b/json", None),
        None,
    );
    assert_eq!(
        denials(&verdict),
        ["ownership: inspect of container \"web-b\", which belongs to \"team-b\": the caller (team-a) may act only on its own containers"]
    );
    // By the full ID, as the daemon resolves it.
    let by_id = format!("/v1.41/containers/{}/json", "b".repeat(64));
    assert!(!decide(&as_user("team-a-alice", "GET", &by_id, None), None)
        .0
        .allowed());
    // Its own, and the lists (which no plugin can filter).
    for uri in ["/v1.41/containers/web-a/json", "/v1.41/containers/json"] {
        let (verdict, _) = decide(&as_user("team-a-alice", "GET", uri, None), None);
        assert!(verdict.allowed(), "{uri}: {verdict:?}");
    }
    // A container that does not exist: the daemon answers 404 itself.
    let (verdict, _) = decide(
        &as_user("team-a-alice", "GET", "/v1.41/containers/ghost/json", None),
        None,
    );
    assert!(verdict.allowed(), "{verdict:?}");
}

#[test]
fn a_network_join_is_judged_when_made_and_at_every_start() {
    // Found by the second attack: the daemon keeps `container:NAME` as
    // written and looks it up at every start, so a join of a name nobody
    // holds yet reaches whoever holds it later.
    let body = r#"{"Image":"testimg","Labels":{"dockgate.owner":"team-a"},"HostConfig":{"NetworkMode":"container:ghost"}}"#;
    let (verdict, _) = decide(
        &as_user(
            "team-a-alice",
            "POST",
            "/v1.41/containers/create",
            Some(body),
        ),
        None,
    );
    assert_eq!(
        denials(&verdict),
        ["ownership: joins the namespaces of container \"ghost\", which does not exist: the daemon looks it up again at every start, and would join whichever container has it then"]
    );
    // A stored join, now of another owner's container.
    for uri in [
        "/v1.41/containers/joiner/start",
        "/v1.41/containers/joiner/restart",
    ] {
        let (verdict, _) = decide(&as_user("team-a-alice", "POST", uri, None), None);
        assert_eq!(
            denials(&verdict),
            ["ownership: join of container \"web-b\", which belongs to \"team-b\": the caller (team-a) may act only on its own containers"],
            "{uri}"
        );
    }
}

#[test]
fn an_import_is_a_build() {
    // Without fromImage the daemon imports a tarball under any tag.
    let (verdict, _) = decide(
        &as_user(
            "team-b",
            "POST",
            "/v1.41/images/create?fromSrc=-&repo=testimg&tag=latest",
            None,
        ),
        None,
    );
    assert_eq!(
        denials(&verdict),
        ["endpoint-families: POST image.create is an endpoint of the build family, which the caller's role is not granted"]
    );
    let (verdict, _) = decide(
        &as_user(
            "team-b",
            "POST",
            "/v1.41/images/create?fromImage=testimg&tag=latest",
            None,
        ),
        None,
    );
    assert!(verdict.allowed(), "{verdict:?}");
}

#[test]
fn a_name_that_could_be_an_id_prefix_is_refused() {
    // Renamed between judging and acting, the same reference would name
    // whichever container's ID starts with it.
    let (verdict, _) = decide(
        &as_user("team-a-alice", "GET", "/v1.41/containers/beef/json", None),
        None,
    );
    assert_eq!(
        denials(&verdict),
        ["ownership: inspect of container \"beef\" by a name that is also an ID prefix: renaming that container would make the same name reach another; use its full ID"]
    );
    // No other container's ID starts with it: nothing to confuse.
    let (verdict, _) = decide(
        &as_user("team-a-alice", "GET", "/v1.41/containers/cafe/json", None),
        None,
    );
    assert!(verdict.allowed(), "{verdict:?}");
    // The unix socket's callers have no role: as before.
    let (verdict, _) = decide(
        &AuthzRequest::new("GET", "/v1.41/containers/beef/json", None),
        None,
    );
    assert!(verdict.allowed(), "{verdict:?}");
}

#[test]
fn roles_call_only_their_endpoint_families() {
    let (verdict, record) = decide(
        &AuthzRequest::new("POST", "/v1.41/containers/web-a/stop", None),
        Some("traefik"),
    );
    assert_eq!(
        denials(&verdict)[0],
        "endpoint-families: POST container.stop is an endpoint of the operate family, which the caller's role is not granted"
    );
    assert_eq!(record.identity.as_deref(), Some("traefik"));
    for uri in [
        "/v1.41/events",
        "/v1.41/containers/json",
        "/_ping",
        "/v1.41/version",
    ] {
        let (verdict, _) = decide(&AuthzRequest::new("GET", uri, None), Some("traefik"));
        assert!(verdict.allowed(), "{uri}: {verdict:?}");
    }
    let (verdict, _) = decide(&as_user("team-b", "POST", "/v1.41/build?t=x", None), None);
    assert_eq!(
        denials(&verdict),
        ["endpoint-families: POST image.build is an endpoint of the build family, which the caller's role is not granted"]
    );
    // A route dockgate does not know is an administrator's.
    let (verdict, _) = decide(&as_user("team-b", "GET", "/v1.41/nothing", None), None);
    assert!(denials(&verdict).iter().any(
        |d| d.starts_with("endpoint-families: GET /nothing is an endpoint of the admin family")
    ));
}

#[test]
fn callers_the_policy_does_not_know_are_refused() {
    let (verdict, record) = decide(
        &as_user("mallory", "GET", "/v1.41/containers/json", None),
        None,
    );
    assert_eq!(
        denials(&verdict),
        ["endpoint-families: TLS user \"mallory\" (the client certificate's common name) matches no identity in the policy; add one: [[identities]] name = ..., tls = \"mallory\", role = ..."]
    );
    assert_eq!(record.endpoint, "container.list");
    // A certificate without a common name: the daemon says TLS, user "".
    let (verdict, _) = decide(&as_user("", "GET", "/v1.41/containers/json", None), None);
    assert!(!verdict.allowed());
    let (verdict, _) = decide(&AuthzRequest::new("GET", "/_ping", None), Some("nobody"));
    assert_eq!(
        denials(&verdict),
        ["endpoint-families: the proxy socket's identity \"nobody\" is not in the policy"]
    );
}

#[test]
fn the_unix_socket_keeps_the_file_policy() {
    let (verdict, record) = decide(
        &AuthzRequest::new("GET", "/v1.41/containers/web-b/json", None),
        None,
    );
    assert!(verdict.allowed(), "{verdict:?}");
    assert_eq!(record.identity, None);
    let (verdict, _) = decide(
        &AuthzRequest::new(
            "POST",
            "/v1.41/containers/create",
            Some(br#"{"Image":"testimg"}"#),
        ),
        None,
    );
    assert!(verdict.allowed(), "{verdict:?}");
}

#[test]
fn a_proxy_socket_is_mounted_only_for_the_role_it_carries() {
    let mounting = |socket: &str| {
        format!(
            r#"{{"Image":"testimg","Labels":{{"dockgate.owner":"team-a"}},"HostConfig":{{"Binds":["{socket}:/var/run/docker.sock"]}}}}"#
        )
    };
    // Its own identity's socket (none here) or, without a role, any.
    let body = mounting("/run/dockgate/traefik.sock");
    let create = AuthzRequest::new("POST", "/v1.41/containers/create", Some(body.as_bytes()));
    let (verdict, _) = decide(&create, None);
    assert!(verdict.allowed(), "{verdict:?}");
    let body = mounting("/var/run/dockgate/traefik.sock");
    let create = as_user(
        "team-a-alice",
        "POST",
        "/v1.41/containers/create",
        Some(&body),
    );
    let (verdict, _) = decide(&create, None);
    assert_eq!(
        denials(&verdict),
        ["docker-socket: bind mount of host path \"/var/run/dockgate/traefik.sock\" at \"/var/run/docker.sock\", the dockgate proxy socket /run/dockgate/traefik.sock of identity \"traefik\", whose role is not the caller's"]
    );
    // The directory holds every identity's socket.
    let body = mounting("/run/dockgate");
    let create = AuthzRequest::new("POST", "/v1.41/containers/create", Some(body.as_bytes()));
    let (verdict, _) = decide(&create, None);
    let denied = denials(&verdict);
    assert!(
        denied.iter().any(|d| d.starts_with("docker-socket: ")
            && d.contains("which exposes /run/dockgate/traefik.sock")),
        "{denied:?}"
    );
}

#[test]
fn check_judges_a_compose_file_as_a_role() {
    let dir = crate::util::Dir::new("check-as");
    let policy = dir.create("policy.toml", &policy_text());
    let compose = dir.create(
        "compose.yaml",
        "services:\n  web:\n    image: testimg\n    labels:\n      dockgate.owner: team-b\n  job:\n    image: testimg\n",
    );
    let run = |role: &str| {
        crate::util::TestCommand::new(&[
            "check",
            "--policy",
            policy.to_str().unwrap(),
            "--as",
            role,
            "--format",
            "json",
            compose.to_str().unwrap(),
        ])
        .run()
    };
    let (code, out, err) = run("developer");
    assert_eq!(code, 1, "{out}{err}");
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    let messages: Vec<String> = report["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["rule"] == "ownership")
        .flat_map(|r| {
            let name = r["container"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            r["findings"]
                .as_array()
                .unwrap()
                .iter()
                .map(move |f| format!("{name}: {}", f["message"].as_str().unwrap()))
                .collect::<Vec<_>>()
        })
        .collect();
    // web names an identity of the role; job names none.
    assert_eq!(
        messages,
        ["job: no dockgate.owner label: the container must name its owner, one of team-a, team-b (--label dockgate.owner=team-a)"]
    );
    // The reader role has no identity with a TLS name here, only traefik.
    let (code, out, _) = run("reader");
    assert_eq!(code, 1);
    assert!(out.contains("names another owner than traefik"), "{out}");
    let (code, _, err) = run("nobody");
    assert_eq!(code, 2);
    assert_eq!(
        err.trim(),
        "dockgate: no role \"nobody\"; the policy defines: developer, reader"
    );
}

#[test]
fn the_endpoint_family_reference_lists_every_route() {
    use dockgate_inputs::authz::routes::ROUTES;
    use dockgate_model::EndpointFamily;
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/endpoint-families.md");
    let mut expected = String::from(
        "# Endpoint families\n\n\
         Every route of the daemon belongs to one family, which a role is granted\n\
         with `endpoints = [...]` (docs/identities.md). Written from the route table\n\
         (`crates/inputs/src/authz/routes.rs`) by `DOCKGATE_BLESS=1 cargo test\n\
         the_endpoint_family_reference`; routes dockgate does not know are `admin`,\n\
         and `POST /images/create` without `fromImage` (an import: an image from\n\
         any tarball, under any tag) is `build`.\n",
    );
    let families = [
        EndpointFamily::Handshake,
        EndpointFamily::ReadOnly,
        EndpointFamily::Operate,
        EndpointFamily::Build,
        EndpointFamily::Admin,
    ];
    for family in families {
        expected.push_str(&format!("\n## {}\n\n", family.name()));
        if family == EndpointFamily::Handshake {
            expected.push_str("Never refused by family: every client needs them to talk.\n\n");
        }
        for route in ROUTES.iter().filter(|r| r.family == family) {
            expected.push_str(&format!(
                "- `{} {}` ({})\n",
                route.method, route.pattern, route.name
            ));
        }
    }
    expected.push_str("- `* /debug/...` (system.debug)\n");
    if std::env::var_os("DOCKGATE_BLESS").is_some() {
        std::fs::write(path, &expected).unwrap();
    }
    let written = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        written == expected,
        "docs/endpoint-families.md is not what the route table says; rewrite it with DOCKGATE_BLESS=1 cargo test the_endpoint_family_reference"
    );
}

#[test]
fn the_proxy_refuses_to_start_without_what_it_needs() {
    let dir = crate::util::Dir::new("proxy-start");
    let policy = dir.create("policy.toml", &policy_text());
    let (code, _, err) = crate::util::TestCommand::new(&[
        "proxy",
        "--policy",
        policy.to_str().unwrap(),
        "--docker-host",
        "tcp://127.0.0.1:2375",
    ])
    .run();
    assert_eq!(code, 2);
    assert_eq!(
        err.trim(),
        "dockgate: --docker-host tcp://127.0.0.1:2375: the proxy forwards to the daemon's Unix socket (unix:///var/run/docker.sock)"
    );
    let plain = dir.create("plain.toml", "profile = \"baseline\"\n");
    let (code, _, err) = crate::util::TestCommand::new(&[
        "proxy",
        "--policy",
        plain.to_str().unwrap(),
        "--docker-host",
        "unix:///run/nothing.sock",
    ])
    .run();
    assert_eq!(code, 2);
    assert_eq!(
        err.trim(),
        "dockgate: the policy names no proxy socket: add an identity with socket = \"/run/dockgate/NAME.sock\" (see docs/identities.md)"
    );
}
