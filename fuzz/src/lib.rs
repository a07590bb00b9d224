//! The properties dockgate's readers must keep for any input, one function
//! per fuzz target (`fuzz_targets/`). The same functions run over the seed
//! corpus in `tests/seeds.rs`, so a crash once found stays fixed.
//!
//! For every reader: no panic. For the gate: whatever it cannot read is
//! denied, and so is a request that changes something through an endpoint
//! it does not know. For the policy reader: what it accepts prints back to
//! a file that reads as the same policy.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::OnceLock;

use dockgate_gate::Gate;
use dockgate_inputs::authz::{read_request, AuthzRequest};
use dockgate_inputs::resolve::{DaemonLookup, FakeDaemon};
use dockgate_inputs::sources::compose::Project;
use dockgate_inputs::sources::run_line::parse_lines;
use dockgate_inputs::sources::Target;
use dockgate_model::CallKind;
use dockgate_rules::{evaluate, Policy, Requester};

/// The gate in front of a daemon that has nothing: every look-up finds no
/// such object.
fn gate() -> &'static Gate<FakeDaemon> {
    static GATE: OnceLock<Gate<FakeDaemon>> = OnceLock::new();
    GATE.get_or_init(|| Gate::new(Policy::default(), FakeDaemon::new()))
}

thread_local! {
    static RUNTIME: tokio::runtime::Runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("a runtime");
}

/// Decides a request with the baseline policy and checks the gate's
/// promises about it.
pub fn decide_and_check(request: &AuthzRequest) {
    check_with(gate(), request);
}

/// Decides a request with this gate and checks its promises about it.
pub fn check_with<L: DaemonLookup>(gate: &Gate<L>, request: &AuthzRequest) {
    let read = read_request(request);
    let (verdict, record) = RUNTIME.with(|rt| rt.block_on(gate.decide(request)));
    assert_eq!(
        record.decision, verdict.decision,
        "the audit record must say what was decided"
    );
    match read {
        Err(err) => assert!(
            !verdict.allowed(),
            "allowed a request it could not read ({err}): {request:?}"
        ),
        Ok(read) => {
            let unknown = read
                .workload
                .call
                .as_ref()
                .is_some_and(|c| c.kind == CallKind::Unknown);
            if unknown && read.mutating {
                assert!(
                    !verdict.allowed(),
                    "allowed a change through an unknown endpoint: {request:?}"
                );
            }
        }
    }
}

/// The request as the daemon sends it to the plugin: JSON with a base64
/// body.
pub fn authz_wire(data: &[u8]) {
    // What does not parse is denied by the server before any decision
    // (tested in the protocol tests); the rest must decide safely.
    if let Ok(request) = serde_json::from_slice::<AuthzRequest>(data) {
        decide_and_check(&request);
    }
}

/// A request built from `METHOD URI\n` and a raw body, which reaches the
/// routes and the JSON decoder faster than the wire format.
pub fn authz_request(data: &[u8]) {
    let (head, body) = match data.iter().position(|&b| b == b'\n') {
        Some(at) => (&data[..at], Some(&data[at + 1..])),
        None => (data, None),
    };
    let head = String::from_utf8_lossy(head);
    let (method, uri) = head.split_once(' ').unwrap_or(("POST", &head));
    decide_and_check(&AuthzRequest::new(method, uri, body));
}

/// Runs every rule of the baseline over what a file describes.
fn judge_all(targets: &[Target]) {
    static BASELINE: OnceLock<Policy> = OnceLock::new();
    let policy = BASELINE.get_or_init(Policy::default);
    for target in targets {
        let _ = evaluate(policy, &target.workload, &Requester::default());
    }
}

/// Lines of a shell script with `docker run` commands.
pub fn run_lines(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    if let Ok(targets) = parse_lines("fuzz.sh", &text) {
        judge_all(&targets);
    }
}

/// A compose file, with no variables set.
pub fn compose(data: &[u8]) {
    let text = String::from_utf8_lossy(data).into_owned();
    let sources = [("compose.yaml".to_string(), text)];
    let Ok(project) = Project::parse(PathBuf::from("/srv/app"), &sources, &HashMap::new()) else {
        return;
    };
    if let Ok(targets) = project.targets() {
        judge_all(&targets);
    }
}

/// A policy file.
pub fn policy_file(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match Policy::from_toml(text) {
        Ok(policy) => {
            let printed = policy.to_toml();
            let again = Policy::from_toml(&printed)
                .unwrap_or_else(|e| panic!("printed policy does not read back ({e}):\n{printed}"));
            assert_eq!(again.hash(), policy.hash(), "printed:\n{printed}");
        }
        Err(err) => assert!(!err.to_string().is_empty()),
    }
}
