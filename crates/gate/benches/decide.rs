//! How long a decision takes in-process, from the AuthZ request as the
//! daemon sends it (base64 body, Go-compatible JSON, routing, rules) to the
//! verdict. Look-ups are answered from memory so that only dockgate's own
//! work is measured; `BENCHMARKS.md` has the figures and the command.

use std::path::PathBuf;

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use dockgate_gate::Gate;
use dockgate_inputs::inspect::container_from_value;
use dockgate_inputs::resolve::FakeDaemon;
use dockgate_inputs::AuthzRequest;
use dockgate_rules::{evaluate, Policy, Requester};

fn fixture(path: &str) -> Vec<u8> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/captured");
    std::fs::read(root.join(path)).expect("fixture")
}

fn captured(name: &str) -> AuthzRequest {
    let doc: serde_json::Value =
        serde_json::from_slice(&fixture(&format!("authz/{name}.json"))).unwrap();
    serde_json::from_value(doc["requests"][0].clone()).unwrap()
}

fn decide(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let gate = Gate::new(Policy::default(), FakeDaemon::new().any_image(""));
    // The wire form: the daemon's JSON with its base64 body.
    let wire = |name: &str| serde_json::to_vec(&captured(name)).unwrap();
    for (label, name) in [
        ("container create, plain", "run-plain"),
        ("container create, bind /", "run-bind-root"),
        ("exec create", "exec-plain"),
        ("DELETE container", "rm-container"),
    ] {
        let bytes = wire(name);
        c.bench_function(label, |b| {
            b.iter(|| {
                let request: AuthzRequest = serde_json::from_slice(black_box(&bytes)).unwrap();
                runtime.block_on(gate.decide(&request))
            })
        });
    }
    let list = serde_json::to_vec(&AuthzRequest::new(
        "GET",
        "/v1.41/containers/json?all=1",
        None,
    ))
    .unwrap();
    c.bench_function("GET containers/json", |b| {
        b.iter(|| {
            let request: AuthzRequest = serde_json::from_slice(black_box(&list)).unwrap();
            runtime.block_on(gate.decide(&request))
        })
    });
}

/// A container create judged by the built-in rules alone, and with 30
/// custom Rego rules beside them (fixtures/rego/thirty-rules.rego).
fn rego(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let rules = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/rego");
    let with_rego =
        Policy::from_toml_in("rego = [\"thirty-rules.rego\"]\n", Some(&rules)).expect("policy");
    let compat = Policy::from_toml_in(
        "[opa-docker-authz]\nrego = [\"opa-docker-authz/baseline.rego\"]\n",
        Some(&rules),
    )
    .expect("policy");
    let bytes = serde_json::to_vec(&captured("run-bind-root")).unwrap();
    for (label, policy) in [
        ("create, bind /: built-in rules", Policy::default()),
        ("create, bind /: built-in and 30 Rego rules", with_rego),
        (
            "create, bind /: built-in rules and opa-docker-authz's form",
            compat,
        ),
    ] {
        let gate = Gate::new(policy, FakeDaemon::new().any_image(""));
        c.bench_function(label, |b| {
            b.iter(|| {
                let request: AuthzRequest = serde_json::from_slice(black_box(&bytes)).unwrap();
                runtime.block_on(gate.decide(&request))
            })
        });
    }
}

/// The stages of a container create, to see where the time goes.
fn stages(c: &mut Criterion) {
    let policy = Policy::default();
    let request = captured("run-bind-root");
    let wire = serde_json::to_vec(&request).unwrap();
    c.bench_function("stage: wire JSON and base64", |b| {
        b.iter(|| serde_json::from_slice::<AuthzRequest>(black_box(&wire)).unwrap())
    });
    c.bench_function("stage: read request (Go JSON, routes, model)", |b| {
        b.iter(|| dockgate_inputs::authz::read_request(black_box(&request)).unwrap())
    });
    let read = dockgate_inputs::authz::read_request(&request).unwrap();
    c.bench_function("stage: rules", |b| {
        b.iter(|| evaluate(&policy, black_box(&read.workload), &Requester::default()))
    });
}

fn inspect(c: &mut Criterion) {
    let policy = Policy::default();
    let doc: serde_json::Value = serde_json::from_slice(&fixture("inspect/i-bind.json")).unwrap();
    c.bench_function("inspect to model to verdict", |b| {
        b.iter(|| {
            let workload = container_from_value(black_box(&doc)).unwrap();
            evaluate(&policy, &workload, &Requester::default())
        })
    });
}

criterion_group!(benches, decide, stages, inspect, rego);
criterion_main!(benches);
