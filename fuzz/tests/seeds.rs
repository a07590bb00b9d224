//! Every fuzz target over its seed corpus (and any crash once found, kept
//! in `fuzz/regressions/`), so that `cargo test` keeps the properties true
//! between fuzzing runs.

use std::path::Path;

fn each_input(target: &str, check: fn(&[u8])) -> usize {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut count = 0;
    for dir in ["seeds", "regressions"] {
        let Ok(entries) = std::fs::read_dir(root.join(dir).join(target)) else {
            continue;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            let data = std::fs::read(&path).unwrap();
            let result = std::panic::catch_unwind(|| check(&data));
            assert!(result.is_ok(), "{target} fails on {}", path.display());
            count += 1;
        }
    }
    count
}

#[test]
fn authz_wire_seeds() {
    assert!(each_input("authz_wire", dockgate_fuzz::authz_wire) >= 50);
}

#[test]
fn authz_request_seeds() {
    assert!(each_input("authz_request", dockgate_fuzz::authz_request) >= 50);
}

#[test]
fn run_lines_seeds() {
    assert!(each_input("run_lines", dockgate_fuzz::run_lines) >= 20);
}

#[test]
fn compose_seeds() {
    assert!(each_input("compose", dockgate_fuzz::compose) >= 5);
}

#[test]
fn policy_file_seeds() {
    assert!(each_input("policy_file", dockgate_fuzz::policy_file) >= 3);
}

/// The checks themselves can fail: an allow for an unreadable request is
/// caught.
#[test]
#[should_panic(expected = "allowed a change through an unknown endpoint")]
fn the_gate_check_can_fail() {
    use dockgate_inputs::authz::AuthzRequest;
    use dockgate_rules::Policy;
    // A policy that lets unknown endpoints through makes the check fire.
    let gate = dockgate_gate::Gate::new(
        Policy::from_toml("[rules.unknown-endpoint]\naction = \"off\"\n").unwrap(),
        dockgate_inputs::resolve::FakeDaemon::new(),
    );
    let request = AuthzRequest::new("POST", "/v1.41/no/such/endpoint", None);
    dockgate_fuzz::check_with(&gate, &request);
}
