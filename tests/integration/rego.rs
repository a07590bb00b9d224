//! Custom rules in Rego (native mode): read with the policy file, judged
//! over the same model at the gate and in check, with ids, actions,
//! modes, exemptions and failures like any rule.

use dockgate_gate::Gate;
use dockgate_inputs::authz::AuthzRequest;
use dockgate_outputs::Denial;
use dockgate_rules::{Action, Policy, Verdict};

use crate::util::{captured_daemon, Dir, TestCommand};

/// Only ports 80 and 443 are published; memory limits stay at or below
/// 4 GiB (the examples operators give).
const PORTS_AND_MEMORY: &str = r#"package company.containers

deny contains {"msg": sprintf("publishes port %s; only 80 and 443 are allowed", [port]), "fix": "publish 80 or 443, behind the proxy"} if {
	some p in input.workload.ports
	port := p.host_port
	not port in {"80", "443"}
}

deny contains "memory limit above 4 GiB" if {
	input.workload.limits.memory.value > 4 * 1024 * 1024 * 1024
}

warn contains "no memory limit" if {
	input.workload.operation == "container"
	input.workload.limits.memory == null
}
"#;

fn policy_with(dir: &Dir, extra: &str, rego: &str) -> Policy {
    dir.create("rules/ports.rego", rego);
    let file = dir.create(
        "policy.toml",
        &format!("rego = [\"rules/*.rego\"]\n{extra}"),
    );
    Policy::from_file(&file).expect("valid policy")
}

fn decide(policy: Policy, body: &str) -> Verdict {
    let gate = Gate::new(policy, captured_daemon());
    let request = AuthzRequest::new("POST", "/v1.41/containers/create", Some(body.as_bytes()));
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(gate.decide(&request))
        .0
}

const PUBLISHES_8080: &str = r#"{"Image":"testimg","User":"1000","HostConfig":{"Memory":1073741824,"PortBindings":{"80/tcp":[{"HostIp":"127.0.0.1","HostPort":"8080"}]}}}"#;

#[test]
fn native_rules_deny_warn_and_name_themselves() {
    let dir = Dir::new("rego-native");
    let verdict = decide(policy_with(&dir, "", PORTS_AND_MEMORY), PUBLISHES_8080);
    assert!(!verdict.allowed());
    assert_eq!(
        verdict.denial_message(),
        "dockgate: denied by rule custom/company/containers/deny: publishes port 8080; only 80 and 443 \
         are allowed; publish 80 or 443, behind the proxy (dockgate explain custom/company/containers/deny)"
    );
    let ok = r#"{"Image":"testimg","User":"1000","HostConfig":{"PortBindings":{"80/tcp":[{"HostIp":"127.0.0.1","HostPort":"443"}]}}}"#;
    let verdict = decide(policy_with(&dir, "", PORTS_AND_MEMORY), ok);
    assert!(verdict.allowed(), "{:?}", verdict.findings);
    let warned: Vec<(String, Action, &str)> = verdict
        .findings
        .iter()
        .map(|f| (f.rule.to_string(), f.action, f.message.as_str()))
        .collect();
    assert_eq!(
        warned,
        [(
            "custom/company/containers/warn".to_string(),
            Action::Warn,
            "no memory limit"
        )]
    );
}

#[test]
fn custom_rules_take_actions_modes_and_exemptions() {
    let dir = Dir::new("rego-actions");
    let lowered = "[rules.\"custom/company/containers/deny\"]\naction = \"warn\"\n";
    let verdict = decide(policy_with(&dir, lowered, PORTS_AND_MEMORY), PUBLISHES_8080);
    assert!(verdict.allowed());
    let verdict = decide(
        policy_with(&dir, "mode = \"warn\"\n", PORTS_AND_MEMORY),
        PUBLISHES_8080,
    );
    assert!(verdict.allowed());
    assert!(verdict
        .findings
        .iter()
        .any(|f| f.would_deny && f.rule.to_string() == "custom/company/containers/deny"));
    let exempt = "[[exemptions]]\nrules = [\"custom/company/containers/deny\"]\nimages = [\"sha256:0000000000000000000000000000000000000000000000000000000000000000\"]\nreason = \"x\"\n";
    let policy = policy_with(&dir, exempt, PORTS_AND_MEMORY);
    assert!(policy
        .to_toml()
        .contains("rules = [\"custom/company/containers/deny\"]"));
    // An action for a rule the files do not define is refused.
    dir.create("rules/ports.rego", PORTS_AND_MEMORY);
    let file = dir.create(
        "policy.toml",
        "rego = [\"rules/*.rego\"]\n[rules.\"custom/company/containers/nope\"]\naction = \"off\"\n",
    );
    assert_eq!(
        Policy::from_file(&file).unwrap_err().to_string(),
        format!(
            "invalid policy file {}: rules.custom/company/containers/nope: no such custom rule; the Rego files define: \
             custom/company/containers/deny, custom/company/containers/warn",
            file.display()
        )
    );
}

#[test]
fn a_policy_that_does_not_compile_is_refused_with_its_line() {
    let dir = Dir::new("rego-compile");
    dir.create(
        "rules/bad.rego",
        "package bad\n\ndeny contains msg if {\n\tmsg :=\n}\n",
    );
    let file = dir.create("policy.toml", "rego = [\"rules/*.rego\"]\n");
    let err = Policy::from_file(&file).unwrap_err().to_string();
    let rego = dir.path().join("rules/bad.rego");
    assert!(
        err == format!(
            "invalid policy file {}: rego: {}:4:9: expecting `}}` while parsing set",
            file.display(),
            rego.display()
        ),
        "{err}"
    );
    let file = dir.create("policy.toml", "rego = [\"rules/missing.rego\"]\n");
    assert_eq!(
        Policy::from_file(&file).unwrap_err().to_string(),
        format!(
            "invalid policy file {}: rego: \"rules/missing.rego\": no such file",
            file.display()
        )
    );
}

#[test]
fn a_rule_that_fails_or_runs_too_long_denies_whatever_the_mode() {
    let dir = Dir::new("rego-fail");
    // Two values for one key of an object: an error in OPA too (a builtin
    // that fails, such as to_number("x"), leaves its body undefined, as
    // OPA does, rather than failing the rule).
    let failing = "package broken\n\nports[\"web\"] := 80\n\nports[\"web\"] := 443\n\ndeny contains \"never\" if {\n\tports.web < 0\n}\n";
    let verdict = decide(
        policy_with(&dir, "mode = \"audit\"\n", failing),
        PUBLISHES_8080,
    );
    assert!(!verdict.allowed());
    let denial = verdict.denial_message();
    assert!(
        denial.starts_with("dockgate: denied by rule custom/broken/deny: custom rule custom/broken/deny could not be evaluated: "),
        "{denial}"
    );
    let slow = "package slow\n\ndeny contains \"never\" if {\n\tsome i in numbers.range(1, 4000)\n\tsome j in numbers.range(1, 4000)\n\ti * j < 0\n}\n";
    let started = std::time::Instant::now();
    let verdict = decide(policy_with(&dir, "", slow), PUBLISHES_8080);
    assert!(!verdict.allowed());
    assert!(
        verdict.denial_message().contains("time limit"),
        "{}",
        verdict.denial_message()
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    // A billion numbers would take gigabytes: stopped at the memory bound.
    let greedy = "package greedy\n\ndeny contains \"never\" if {\n\tcount(numbers.range(1, 1000000000)) < 0\n}\n";
    let verdict = decide(policy_with(&dir, "", greedy), PUBLISHES_8080);
    assert!(!verdict.allowed());
    let denial = verdict.denial_message();
    assert!(
        denial.starts_with("dockgate: denied by rule custom/greedy/deny: custom rule custom/greedy/deny could not be evaluated: Execution exceeded memory limit (usage="),
        "{denial}"
    );
    assert!(denial.contains("limit=268435456 bytes, pc="), "{denial}");
}

#[test]
fn check_judges_compose_files_with_the_same_rules() {
    let dir = Dir::new("rego-check");
    dir.create("rules/ports.rego", PORTS_AND_MEMORY);
    let policy = dir.create("policy.toml", "rego = [\"rules/*.rego\"]\n");
    let compose = dir.create(
        "compose.yaml",
        "services:\n  web:\n    image: nginx\n    user: \"101\"\n    mem_limit: 1g\n    ports:\n      - \"127.0.0.1:8080:80\"\n",
    );
    let (code, out, _) = TestCommand::new(&[
        "check",
        "--policy",
        policy.to_str().unwrap(),
        compose.to_str().unwrap(),
    ])
    .run();
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains(":2:3: deny custom/company/containers/deny: publishes port 8080; only 80 and 443 are allowed\n    fix: publish 80 or 443, behind the proxy\n"),
        "{out}"
    );
    let (_, sarif, _) = TestCommand::new(&[
        "check",
        "--policy",
        policy.to_str().unwrap(),
        "--format",
        "sarif",
        compose.to_str().unwrap(),
    ])
    .run();
    let sarif: serde_json::Value = serde_json::from_str(&sarif).unwrap();
    let rules = sarif["runs"][0]["tool"]["driver"]["rules"]
        .as_array()
        .unwrap();
    let index = rules
        .iter()
        .position(|r| r["id"] == "custom/company/containers/deny")
        .expect("the custom rule is described");
    assert_eq!(sarif["runs"][0]["results"][0]["ruleIndex"], index);
    // The policy's hash covers the Rego text.
    let (_, before, _) =
        TestCommand::new(&["policy", "show", "--policy", policy.to_str().unwrap()]).run();
    dir.create("rules/ports.rego", &PORTS_AND_MEMORY.replace("443", "8443"));
    let (_, after, _) =
        TestCommand::new(&["policy", "show", "--policy", policy.to_str().unwrap()]).run();
    assert!(before.contains("rego = [\"rules/*.rego\"]"), "{before}");
    assert_ne!(before.lines().nth(1), after.lines().nth(1));
}

#[test]
fn explain_tells_where_a_custom_rule_comes_from() {
    let dir = Dir::new("rego-explain");
    let rego = dir.create("rules/ports.rego", PORTS_AND_MEMORY);
    let policy = dir.create("policy.toml", "rego = [\"rules/*.rego\"]\n");
    let policy = policy.to_str().unwrap();
    let (code, out, _) = TestCommand::new(&[
        "explain",
        "custom/company/containers/deny",
        "--policy",
        policy,
    ])
    .run();
    assert_eq!(code, 0);
    assert!(out.starts_with(&format!(
        "custom/company/containers/deny\n\nA custom rule: the set \"deny\" of package \"company.containers\" in the policy's Rego files.\n\nFiles: {}.\nAction: deny (before the mode).\n",
        rego.display()
    )), "{out}");
    let (code, _, err) =
        TestCommand::new(&["explain", "custom/company/nope/deny", "--policy", policy]).run();
    assert_eq!(code, 2);
    assert_eq!(
        err,
        format!("dockgate: unknown custom rule \"custom/company/nope/deny\" in {policy}; its Rego files define: custom/company/containers/deny, custom/company/containers/warn\n")
    );
}

#[test]
fn policy_test_runs_test_rules_over_inputs_read_like_the_gate() {
    let dir = Dir::new("rego-test");
    dir.create("rules/ports.rego", PORTS_AND_MEMORY);
    dir.create(
        "rules/ports_test.rego",
        r#"package company.containers_test

import data.company.containers

test_8080_is_denied if {
	"publishes port 8080; only 80 and 443 are allowed" in {m.msg | some m in containers.deny with input as data.inputs.stack.web}
}

test_the_database_passes if {
	count(containers.deny) == 0 with input as data.inputs.stack.db
}

test_builtin_findings_are_there if {
	some f in data.inputs.stack.web.findings
	f.rule == "run-as-root"
}

test_this_one_fails if {
	count(containers.deny) == 0 with input as data.inputs.stack.web
}
"#,
    );
    let compose = dir.create(
        "compose.yaml",
        "services:\n  web:\n    image: nginx\n    mem_limit: 1g\n    ports:\n      - \"127.0.0.1:8080:80\"\n  db:\n    image: postgres\n    user: \"999\"\n    mem_limit: 1g\n",
    );
    let rules = dir.path().join("rules");
    let input = format!("stack=compose:{}", compose.display());
    let policy = dir.create("policy.toml", "");
    let (code, out, err) = TestCommand::new(&[
        "policy",
        "test",
        rules.to_str().unwrap(),
        "--input",
        &input,
        "--policy",
        policy.to_str().unwrap(),
    ])
    .run();
    assert_eq!(code, 1, "{out}{err}");
    assert_eq!(
        out,
        "PASS: data.company.containers_test.test_8080_is_denied\n\
         PASS: data.company.containers_test.test_the_database_passes\n\
         PASS: data.company.containers_test.test_builtin_findings_are_there\n\
         FAIL: data.company.containers_test.test_this_one_fails\n\
         ----------------------------------------\n\
         PASS: 3/4\n\
         FAIL: 1/4\n"
    );
    let (code, _, err) = TestCommand::new(&[
        "policy",
        "test",
        rules.to_str().unwrap(),
        "--input",
        "stack=yaml:x",
    ])
    .run();
    assert_eq!(code, 2);
    assert!(err.contains("invalid --input \"stack=yaml:x\": expected NAME=compose:FILE, NAME=inspect:FILE, NAME=create:FILE or NAME=authz:FILE"), "{err}");
}

/// `input` of native rules validates against the published schema
/// (`docs/schema/rego-input-v1.json`) for every captured request, read and
/// resolved as the gate does, and every captured inspect document: a model
/// field the schema does not describe fails here.
#[test]
fn the_input_document_validates_against_the_published_schema() {
    let schema: serde_json::Value =
        serde_json::from_str(include_str!("../../docs/schema/rego-input-v1.json")).unwrap();
    let validator = jsonschema::validator_for(&schema).expect("the schema compiles");
    let policy = Policy::from_toml("profile = \"restricted\"\n").unwrap();
    let daemon = captured_daemon().link("/srv", "/data/srv");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut documents = Vec::new();
    for entry in std::fs::read_dir(crate::util::fixture_path("authz")).unwrap() {
        let name = entry.unwrap().path();
        let name = name.file_stem().unwrap().to_str().unwrap().to_string();
        for request in crate::util::captured(&name).1 {
            let Ok(mut read) = dockgate_inputs::authz::read_request(&request) else {
                continue;
            };
            runtime.block_on(dockgate_inputs::resolve::resolve(
                &mut read.workload,
                &daemon,
            ));
            documents.push((
                name.clone(),
                dockgate_rules::rego_input(&policy, &read.workload),
            ));
        }
    }
    for entry in std::fs::read_dir(crate::util::fixture_path("inspect")).unwrap() {
        let path = entry.unwrap().path();
        let bytes = std::fs::read(&path).unwrap();
        if let Ok(workload) = dockgate_inputs::inspect::container_from_inspect(&bytes) {
            documents.push((
                path.display().to_string(),
                dockgate_rules::rego_input(&policy, &workload),
            ));
        }
    }
    assert!(documents.len() > 40, "{}", documents.len());
    let kinds: std::collections::BTreeSet<String> = documents
        .iter()
        .map(|(_, d)| d["workload"]["operation"].to_string())
        .collect();
    assert!(kinds.len() >= 4, "{kinds:?}");
    for (from, document) in &documents {
        let errors: Vec<String> = validator
            .iter_errors(document)
            .map(|e| format!("{e} at {}", e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{from}:\n{}", errors.join("\n"));
    }
    // A document with a field the schema does not know is caught.
    let mut extra = documents[0].1.clone();
    extra["workload"]["new_field"] = serde_json::json!(1);
    assert!(!validator.is_valid(&extra));
}
