//! A typical stack (fixtures/stacks/typical) through `check` and the gate
//! on a real dockerd with real Compose: the recipes of docs/recipes.md,
//! local images that an exemption by name must not trust, and the image
//! IDs that do exempt them. Check (asking the daemon) and the gate give the
//! same verdicts in the same words, and the audit record says why an
//! exemption was not applied.

use std::path::Path;

use crate::harness::*;
use crate::util::{Dir, TestCommand};

const IMAGES: &[&str] = &[
    "nginx:1.27",
    "traefik:v3.0",
    "portainer/portainer-ce:2.21.0",
    "gcr.io/cadvisor/cadvisor:v0.49.1",
    "quay.io/prometheus/node-exporter:v1.8.1",
    "postgres:16",
];

fn repository_file(relative: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The three recipes, the project prefix set to `stacks`, and every image
/// condition replaced by `images` when given.
fn policy(stacks: &Path, images: Option<&str>) -> String {
    let mut text = String::new();
    for recipe in [
        "config-files-read-only",
        "docker-api-readers",
        "monitoring-agents",
    ] {
        let recipe = repository_file(&format!("contrib/recipes/{recipe}.toml"))
            .replace("/srv/stacks/", &format!("{}/", stacks.display()));
        for line in recipe.lines() {
            match images {
                Some(images) if line.starts_with("images = ") => {
                    text.push_str(&format!("images = {images}\n"))
                }
                _ => text.push_str(&format!("{line}\n")),
            }
        }
    }
    text
}

fn check(daemon: &Daemon, compose: &Path) -> (i32, String) {
    let (code, out, err) = TestCommand::new(&[
        "check",
        "--policy",
        &daemon.path("policy.toml").display().to_string(),
        "--docker-host",
        &daemon.host(),
        &compose.display().to_string(),
    ])
    .run();
    (code, format!("{out}{err}"))
}

#[test]
fn a_typical_stack_with_local_images_through_check_and_the_gate() {
    if !e2e_enabled() {
        return;
    }
    let _turn = one_daemon_at_a_time();
    let dir = Dir::new("stack");
    let stacks = dir.path().join("stacks");
    let project = stacks.join("typical");
    std::fs::create_dir_all(project.join("html")).unwrap();
    for file in ["compose.yaml", "nginx.conf", "html/index.html"] {
        std::fs::write(
            project.join(file),
            repository_file(&format!("fixtures/stacks/typical/{file}")),
        )
        .unwrap();
    }
    let compose = project.join("compose.yaml");
    let daemon = Daemon::start_on(Generation::Dockerd26, Some(&policy(&stacks, None)));
    import_test_image(&daemon);
    // Images run their own command, as the real ones do.
    daemon.docker_ok(&["create", "--name", "base", "testimg", "true"]);
    daemon.docker_ok(&[
        "commit",
        "--change",
        "CMD [\"sleep\", \"600\"]",
        "base",
        "local:base",
    ]);
    daemon.docker_ok(&["rm", "base"]);
    for image in IMAGES {
        daemon.docker_ok(&["tag", "local:base", image]);
    }
    let id = daemon.docker_ok(&["image", "inspect", "--format", "{{.Id}}", "local:base"]);
    let note = format!(
        "exemption \"reverse proxy and dashboard read the Docker API\" matches \"traefik:v3.0\" by name but \
         was not applied: the local image {id} was not pulled from docker.io/library/traefik (it was built \
         or tagged on this host); to exempt it, pin it by ID: images = [\"{id}\"]"
    );

    // Exemptions by name: check, asking the daemon, and the gate refuse
    // the re-tagged images alike, and say how to pin them.
    let (code, out) = check(&daemon, &compose);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains(&format!("    note: {note}\n")), "{out}");
    assert!(
        out.contains("4 of 6 containers violate the policy"),
        "{out}"
    );
    let created = daemon
        .docker_command(&["compose", "-f", &compose.display().to_string(), "create"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&created.stderr);
    assert!(!created.status.success(), "{stderr}");
    assert!(
        stderr.contains(&format!("pin it by ID: images = [\\\"{id}\\\"]"))
            || stderr.contains(&format!("pin it by ID: images = [\"{id}\"]")),
        "{stderr}"
    );
    // Compose creates the services side by side and stops at the first
    // refusal: whichever came first has its record, with the same note.
    let audit = std::fs::read_to_string(daemon.path("audit.log")).unwrap();
    let refused = audit
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|r| r["endpoint"] == "container.create" && r["decision"] == "deny")
        .expect("an audit record of a refused create");
    let image = refused["image"].as_str().unwrap().to_string();
    let (reason, repository) = match image.as_str() {
        "traefik:v3.0" => (
            "reverse proxy and dashboard read the Docker API",
            "docker.io/library/traefik",
        ),
        "portainer/portainer-ce:2.21.0" => (
            "reverse proxy and dashboard read the Docker API",
            "docker.io/portainer/portainer-ce",
        ),
        "gcr.io/cadvisor/cadvisor:v0.49.1" => (
            "cAdvisor reads container and host metrics",
            "gcr.io/cadvisor/cadvisor",
        ),
        "quay.io/prometheus/node-exporter:v1.8.1" => (
            "node-exporter reads host metrics",
            "quay.io/prometheus/node-exporter",
        ),
        other => panic!("{other} was refused: {refused}"),
    };
    assert_eq!(
        refused["findings"][0]["note"],
        format!(
            "exemption {reason:?} matches {image:?} by name but was not applied: the local image {id} was not \
             pulled from {repository} (it was built or tagged on this host); to exempt it, pin it by ID: \
             images = [\"{id}\"]"
        )
        .as_str()
    );
    daemon.clean();

    // Pinned by image ID: the whole stack passes check and the gate.
    daemon.reload(&policy(&stacks, Some(&format!("[\"{id}\"]"))));
    let (code, out) = check(&daemon, &compose);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("6 containers comply with the policy"), "{out}");
    let created = daemon
        .docker_command(&["compose", "-f", &compose.display().to_string(), "create"])
        .output()
        .unwrap();
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );
    for service in [
        "web",
        "proxy",
        "portainer",
        "cadvisor",
        "node-exporter",
        "db",
    ] {
        assert!(
            daemon.container_exists(&format!("typical-{service}-1")),
            "{service}"
        );
    }
}

/// dockerd 20.10 behind a gate whose policy is `enforce` in audit mode,
/// with the test image.
fn auditing_daemon(enforce: &str) -> Daemon {
    let daemon = Daemon::start_on(
        Generation::Dockerd20,
        Some(&format!("mode = \"audit\"\n{enforce}")),
    );
    import_test_image(&daemon);
    daemon
}

/// A custom Rego rule (only ports 80 and 443 published) enforced by the
/// gate on a real daemon, and found by a scan in a container created
/// while the policy only audited.
#[test]
fn custom_rego_rules_at_the_gate_and_in_scan() {
    if !e2e_enabled() {
        return;
    }
    let _turn = one_daemon_at_a_time();
    let rules = Dir::new("rego-daemon");
    let rego = rules.create(
        "ports.rego",
        "package company.ports\n\ndeny contains sprintf(\"publishes port %s; only 80 and 443\", [p.host_port]) if {\n\tsome p in input.workload.ports\n\tnot p.host_port in {\"80\", \"443\"}\n}\n",
    );
    let enforce = format!("rego = [{:?}]\n", rego.display().to_string());
    let daemon = auditing_daemon(&enforce);
    daemon.docker_ok(&[
        "create",
        "--name",
        "audited",
        "-p",
        "127.0.0.1:8080:80",
        "testimg",
        "true",
    ]);
    daemon.reload(&enforce);
    let out = daemon.docker(&[
        "create",
        "--name",
        "refused",
        "-p",
        "127.0.0.1:8081:80",
        "testimg",
        "true",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("dockgate: denied by rule custom/company/ports/deny: publishes port 8081; only 80 and 443;"),
        "{stderr}"
    );
    daemon.docker_ok(&[
        "create",
        "--name",
        "allowed",
        "-p",
        "127.0.0.1:443:80",
        "testimg",
        "true",
    ]);
    let policy = daemon.path("policy.toml").display().to_string();
    let (code, out, err) = TestCommand::new(&[
        "scan",
        "--all",
        "--policy",
        &policy,
        "--docker-host",
        &daemon.host(),
        "--format",
        "nagios",
    ])
    .run();
    assert_eq!(code, 2, "{out}{err}");
    assert!(
        out.contains(
            "audited: deny custom/company/ports/deny: publishes port 8080; only 80 and 443\n"
        ),
        "{out}"
    );
    assert!(
        out.contains(" 'custom/company/ports/deny'=1;;;0;")
            || out.contains(" custom/company/ports/deny=1;;;0;"),
        "{out}"
    );
}

/// Sets the `Authz-User` header the docker CLI sends (its config's
/// `HttpHeaders`, as opa-docker-authz's README has users do); `None`
/// sends none.
fn authz_user(daemon: &Daemon, user: Option<&str>) {
    let file = daemon.path("cli-config").join("config.json");
    let mut config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    match user {
        Some(user) => config["HttpHeaders"] = serde_json::json!({ "Authz-User": user }),
        None => {
            config.as_object_mut().unwrap().remove("HttpHeaders");
        }
    }
    std::fs::write(&file, config.to_string()).unwrap();
}

/// opa-docker-authz's README example, run unchanged by the gate on a real
/// daemon: alice writes, bob reads, nobody else gets in, and the gate's
/// own look-ups still pass (the daemon sends them back to the gate, with
/// no user). A body that opa-docker-authz reads as harmless (lower-case
/// keys) is read as the daemon reads it.
#[test]
fn an_opa_docker_authz_policy_at_the_gate() {
    if !e2e_enabled() {
        return;
    }
    let _turn = one_daemon_at_a_time();
    let rego = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/rego/opa-docker-authz/example_v1.rego");
    let enforce = format!(
        "[opa-docker-authz]\nrego = [{:?}]\n",
        rego.display().to_string()
    );
    let daemon = auditing_daemon(&enforce);
    // Made while the policy only audited.
    daemon.docker_ok(&[
        "create",
        "--name",
        "privileged-before",
        "--privileged",
        "testimg",
        "true",
    ]);
    daemon.reload(&enforce);
    let denied = |out: &std::process::Output| {
        let stderr = String::from_utf8_lossy(&out.stderr).to_string();
        assert!(!out.status.success(), "{stderr}");
        assert!(
            stderr.contains("dockgate: denied by rule custom/docker/authz/allow: "),
            "{stderr}"
        );
    };
    authz_user(&daemon, Some("alice"));
    // A create and a start need the gate's look-ups (the image's user,
    // the container to start), which carry no user.
    daemon.docker_ok(&[
        "create", "--name", "by-alice", "--user", "1000", "testimg", "true",
    ]);
    daemon.docker_ok(&["start", "by-alice"]);
    // A run attaches to and starts what it created: the container is
    // judged as alice's create of it.
    daemon.docker_ok(&["run", "--rm", "--user", "1000", "testimg", "true"]);
    authz_user(&daemon, Some("bob"));
    daemon.docker_ok(&["ps", "-a"]);
    denied(&daemon.docker(&["create", "--user", "1000", "testimg", "true"]));
    authz_user(&daemon, None);
    denied(&daemon.docker(&["ps"]));
    // Lower-case keys: a map-reading plugin sees no labels; the daemon
    // applies them. Only the policy forbids this one.
    let body = r#"{"Image":"testimg","User":"1000","labels":{"com.example/deployment":"prod"},"hostconfig":{"networkmode":"none"}}"#;
    let (status, text) = daemon.api(&http(
        "POST",
        "/v1.41/containers/create?name=prod-off-network",
        &[
            ("Content-Type", "application/json"),
            ("Authz-User", "alice"),
        ],
        body.as_bytes(),
    ));
    assert_eq!(status, 403, "{text}");
    assert!(
        text.contains("dockgate: denied by rule custom/docker/authz/allow: POST /v1.41/containers/create rejected by administrative policy (data.docker.authz.allow is not true)"),
        "{text}"
    );
    // The same on the prod network is allowed (the network does not
    // exist: the daemon refuses it, after the gate).
    let body = body.replace("\"none\"", "\"prod-network\"");
    let (status, text) = daemon.api(&http(
        "POST",
        "/v1.41/containers/create",
        &[
            ("Content-Type", "application/json"),
            ("Authz-User", "alice"),
        ],
        body.as_bytes(),
    ));
    assert!(!text.contains("dockgate: denied"), "{status} {text}");
    // A scan judges each container as the create request that made it. Its
    // reads carry the secret the gate wrote, so the policy (which lets
    // only named users read) does not refuse them; without it, it does.
    let no_privileged = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/rego/opa-docker-authz/no_privileged.rego");
    let scan_policy = daemon.path("scan.toml");
    std::fs::write(
        &scan_policy,
        format!(
            "[opa-docker-authz]\nrego = [{:?}]\n",
            no_privileged.display().to_string()
        ),
    )
    .unwrap();
    let (code, out, err) = TestCommand::new(&[
        "scan",
        "--all",
        "--policy",
        &scan_policy.display().to_string(),
        "--docker-host",
        &daemon.host(),
        "--format",
        "nagios",
        "--lookup-secret",
        &daemon.path("lookup-secret").display().to_string(),
    ])
    .run();
    assert_eq!(code, 2, "{out}{err}");
    assert!(
        out.contains("privileged-before: deny custom/docker/authz/allow: POST /v1.45/containers/create rejected by administrative policy (data.docker.authz.allow is not true)\n"),
        "{out}"
    );
    assert!(
        !out.contains("by-alice: deny custom/docker/authz/allow"),
        "{out}"
    );
    authz_user(&daemon, Some("alice"));
    daemon.clean();
}
