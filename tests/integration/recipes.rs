//! The recipes of docs/recipes.md over the typical stack of
//! fixtures/stacks/typical: what the baseline denies, what each recipe
//! lets through, and the words an exemption by name prints.

use std::collections::BTreeMap;

use crate::util::{Dir, TestCommand};

/// The recipes, as shipped.
fn recipe(name: &str) -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/contrib/recipes/");
    std::fs::read_to_string(format!("{path}{name}.toml")).expect("recipe")
}

/// The stack's directory and compose file.
fn stack() -> (String, String) {
    let file = std::path::Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/stacks/typical/compose.yaml"
    ));
    let dir = file.parent().unwrap().display().to_string();
    (dir, file.display().to_string())
}

/// A policy of recipes, the project prefix pointed at the fixtures.
fn policy(dir: &Dir, recipes: &[&str]) -> String {
    let (stack_dir, _) = stack();
    let stacks = std::path::Path::new(&stack_dir).parent().unwrap();
    let text: String = recipes
        .iter()
        .map(|r| recipe(r).replace("/srv/stacks/", &format!("{}/", stacks.display())))
        .collect::<Vec<_>>()
        .join("\n");
    dir.create("policy.toml", &text).display().to_string()
}

/// A service's deny-level rules, and the rules exemptions lifted.
type Judged = (Vec<String>, Vec<String>);

/// Each service's deny-level rules and exempt rules, from check's JSON.
fn judged(policy: &str) -> (i32, BTreeMap<String, Judged>) {
    let (_, file) = stack();
    let (code, out, err) =
        TestCommand::new(&["check", "--policy", policy, "--format", "json", &file]).run();
    let doc: serde_json::Value =
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}{err}"));
    let mut services: BTreeMap<String, Judged> = BTreeMap::new();
    for result in doc["results"].as_array().unwrap() {
        let name = result["container"]["name"].as_str().unwrap().to_string();
        let entry = services.entry(name).or_default();
        let rule = result["rule"].as_str().unwrap().to_string();
        for finding in result["findings"].as_array().unwrap() {
            let list = if finding["exempted"].is_string() {
                &mut entry.1
            } else if finding["action"] == "deny" {
                &mut entry.0
            } else {
                continue;
            };
            if !list.contains(&rule) {
                list.push(rule.clone());
            }
        }
    }
    (code, services)
}

fn rules(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

#[test]
fn the_baseline_denies_five_of_six_services() {
    let dir = Dir::new("recipes-baseline");
    let (code, services) = judged(&policy(&dir, &[]));
    assert_eq!(code, 1);
    let denied: BTreeMap<&str, Vec<String>> = services
        .iter()
        .map(|(name, (deny, _))| (name.as_str(), deny.clone()))
        .collect();
    assert_eq!(
        denied,
        BTreeMap::from([
            (
                "cadvisor",
                rules(&["privileged", "host-mount", "docker-socket", "devices"])
            ),
            ("db", rules(&[])),
            (
                "node-exporter",
                rules(&["host-mount", "docker-socket", "host-namespace"])
            ),
            ("portainer", rules(&["host-mount", "docker-socket"])),
            ("proxy", rules(&["host-mount", "docker-socket"])),
            ("web", rules(&["host-mount"])),
        ])
    );
}

#[test]
fn each_recipe_lets_through_what_it_says_and_nothing_else() {
    let dir = Dir::new("recipes-each");
    // Project files read-only: only the web server changes.
    let (_, services) = judged(&policy(&dir, &["config-files-read-only"]));
    assert_eq!(services["web"], (rules(&[]), rules(&[])));
    assert_eq!(services["proxy"].0, rules(&["host-mount", "docker-socket"]));
    // Docker API readers: the proxy and the dashboard, exempt by name.
    let (_, services) = judged(&policy(&dir, &["docker-api-readers"]));
    for name in ["proxy", "portainer"] {
        assert_eq!(
            services[name],
            (rules(&[]), rules(&["host-mount", "docker-socket"])),
            "{name}"
        );
    }
    assert_eq!(services["cadvisor"].1, rules(&[]));
    // Monitoring agents.
    let (_, services) = judged(&policy(&dir, &["monitoring-agents"]));
    assert_eq!(
        services["cadvisor"],
        (
            rules(&[]),
            rules(&["privileged", "host-mount", "docker-socket", "devices"])
        )
    );
    assert_eq!(
        services["node-exporter"],
        (
            rules(&[]),
            rules(&["host-mount", "docker-socket", "host-namespace"])
        )
    );
    assert_eq!(services["web"].0, rules(&["host-mount"]));
    // All three: the whole stack passes.
    let all = policy(
        &dir,
        &[
            "config-files-read-only",
            "docker-api-readers",
            "monitoring-agents",
        ],
    );
    let (code, services) = judged(&all);
    assert_eq!(code, 0, "{services:?}");
    assert!(services.values().all(|(deny, _)| deny.is_empty()));
    let (code, out, err) = TestCommand::new(&["policy", "validate", &all]).run();
    assert_eq!(code, 0, "{out}{err}");
}

#[test]
fn a_name_exemption_in_a_file_says_what_the_gate_will_check() {
    let dir = Dir::new("recipes-note");
    let all = policy(
        &dir,
        &[
            "config-files-read-only",
            "docker-api-readers",
            "monitoring-agents",
        ],
    );
    let (_, file) = stack();
    let (code, out, _) = TestCommand::new(&["check", "--policy", &all, &file]).run();
    assert_eq!(code, 0);
    assert!(out.contains(
        "    note: exemption \"reverse proxy and dashboard read the Docker API\" matches \"traefik:v3.0\" by name: \
         the gate applies it only to an image pulled from docker.io/library/traefik; \
         for an image built or tagged on the host, pin it by ID\n"
    ), "{out}");
    // A service that compose builds here: its name proves nothing, in the
    // file as at the gate.
    let built = dir.create(
        "compose.yaml",
        "services:\n  proxy:\n    image: traefik:v3.0\n    build: .\n    volumes:\n      - /var/run/docker.sock:/var/run/docker.sock:ro\n",
    );
    let (code, out, _) =
        TestCommand::new(&["check", "--policy", &all, &built.display().to_string()]).run();
    assert_eq!(code, 1, "{out}");
    assert!(out.contains(
        "    note: exemption \"reverse proxy and dashboard read the Docker API\" matches \"traefik:v3.0\" by name \
         but was not applied: the image is built here, so its name proves nothing; to exempt it, pin it by ID \
         once built: docker image inspect --format '{{.Id}}' traefik:v3.0\n"
    ), "{out}");
}

#[test]
fn tools_on_proxy_sockets_need_no_exemption() {
    let dir = Dir::new("recipes-proxy");
    let policy = dir.create("policy.toml", &recipe("proxy-sockets"));
    let file = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/stacks/proxied/compose.yaml"
    );
    let judged_as = |role: Option<&str>| {
        let mut args = vec![
            "check",
            "--policy",
            policy.to_str().unwrap(),
            "--format",
            "json",
        ];
        if let Some(role) = role {
            args.extend(["--as", role]);
        }
        args.push(file);
        let (_, out, err) = TestCommand::new(&args).run();
        let doc: serde_json::Value =
            serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}{err}"));
        let mut denied: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for result in doc["results"].as_array().unwrap() {
            let name = result["container"]["name"].as_str().unwrap().to_string();
            let entry = denied.entry(name).or_default();
            if result["findings"]
                .as_array()
                .unwrap()
                .iter()
                .any(|f| f["action"] == "deny")
            {
                entry.push(result["rule"].as_str().unwrap().to_string());
            }
        }
        denied
    };
    // The operator's own view (no role): each tool's socket is allowed;
    // the directory holding them all is not.
    assert_eq!(
        judged_as(None),
        BTreeMap::from([
            (
                "everything".to_string(),
                rules(&["host-mount", "docker-socket"])
            ),
            ("portainer".to_string(), rules(&[])),
            ("proxy".to_string(), rules(&[])),
        ])
    );
    // Portainer's role may deploy the stack (for any owner).
    let as_operator = judged_as(Some("api-operator"));
    assert_eq!(as_operator["proxy"], rules(&[]));
    assert_eq!(as_operator["portainer"], rules(&[]));
    // The readers' role creates nothing, and only its own identities'
    // sockets and containers would be its to hand on.
    let as_reader = judged_as(Some("api-reader"));
    assert_eq!(as_reader["proxy"], rules(&["endpoint-families"]));
    assert_eq!(
        as_reader["portainer"],
        rules(&["docker-socket", "endpoint-families", "ownership"])
    );
}
