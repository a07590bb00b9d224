//! Properties over generated requests.
//!
//! A create body re-written the ways Go's `encoding/json` still reads as the
//! same request (keys re-spelled in any case or with the two non-ASCII
//! letters that fold to ASCII, `ſ` and `K`; neutral duplicates before a key;
//! `null` after a scalar) must get the same verdict as the plain body. A
//! plugin that reads JSON differently from the daemon fails this.

use dockgate_gate::Gate;
use dockgate_inputs::authz::AuthzRequest;
use dockgate_rules::{Policy, Verdict};
use proptest::prelude::*;
use serde_json::{json, Map, Value};

use crate::util::captured_daemon;

/// The choices that drive one re-writing.
struct Choices {
    bytes: Vec<u8>,
    at: usize,
}

impl Choices {
    fn next(&mut self) -> u8 {
        let byte = self.bytes[self.at % self.bytes.len()];
        self.at += 1;
        byte
    }

    /// A spelling of `key` that Go matches to the same field.
    fn respell(&mut self, key: &str) -> String {
        key.chars()
            .map(|c| match (c, self.next() % 5) {
                ('s' | 'S', 4) => '\u{017F}',
                ('k' | 'K', 4) => '\u{212A}',
                (c, 1) => c.to_ascii_lowercase(),
                (c, 2) => c.to_ascii_uppercase(),
                (c, _) => c,
            })
            .collect()
    }
}

/// A value of the same shape that a later copy of the key fully replaces
/// under Go's rules: scalars are replaced, string slices are overwritten and
/// cut to the new length, other slices (of objects, or empty ones whose
/// element type the JSON does not show) start empty, objects name the same
/// keys (they merge key by key).
fn decoy(value: &Value) -> Value {
    match value {
        Value::Bool(b) => Value::Bool(!b),
        Value::Number(n) => json!(n.as_i64().unwrap_or(0) + 1),
        Value::String(_) => json!("/decoy:/decoy"),
        Value::Array(items) if !items.is_empty() && items.iter().all(Value::is_string) => {
            json!([
                "/:/decoy",
                "/etc:/decoy",
                "/var/run/docker.sock:/decoy",
                "decoy"
            ])
        }
        Value::Array(_) => json!([]),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), decoy(v)))
                .collect::<Map<_, _>>(),
        ),
        Value::Null => Value::Null,
    }
}

/// Writes `value` as JSON text, re-written as the choices say.
fn rewrite(value: &Value, choices: &mut Choices, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut members = Vec::new();
            for (key, value) in map {
                let roll = choices.next();
                if roll % 3 == 0 {
                    members.push((choices.respell(key), decoy(value)));
                }
                members.push((choices.respell(key), value.clone()));
                let scalar = matches!(value, Value::Bool(_) | Value::Number(_) | Value::String(_));
                if scalar && roll % 4 == 1 {
                    members.push((choices.respell(key), Value::Null));
                }
            }
            out.push('{');
            for (i, (key, value)) in members.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&serde_json::to_string(key).unwrap());
                out.push(':');
                rewrite(value, choices, out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                rewrite(item, choices, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

fn decide(body: &[u8]) -> Verdict {
    let gate = Gate::new(Policy::default(), captured_daemon());
    let request = AuthzRequest::new("POST", "/v1.41/containers/create", Some(body));
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(gate.decide(&request))
        .0
}

/// What a verdict decides, and by which rules.
fn outcome(verdict: &Verdict) -> (bool, Vec<String>) {
    let mut rules: Vec<String> = verdict
        .findings
        .iter()
        .map(|f| format!("{}:{}", f.rule.id(), f.action.name()))
        .collect();
    rules.sort();
    rules.dedup();
    (verdict.allowed(), rules)
}

fn create_body() -> impl Strategy<Value = Value> {
    let binds = prop::collection::vec(
        prop::sample::select(vec![
            "/:/host",
            "/etc:/e:ro",
            "etcvol:/v",
            "data:/d",
            "/var/run:/r",
        ]),
        0..3,
    );
    let caps = prop::collection::vec(
        prop::sample::select(vec![
            "SYS_ADMIN",
            "CHOWN",
            "NET_ADMIN",
            "ALL",
            "cap_sys_module",
        ]),
        0..3,
    );
    let security = prop::collection::vec(
        prop::sample::select(vec![
            "seccomp=unconfined",
            "no-new-privileges",
            "apparmor=unconfined",
        ]),
        0..2,
    );
    let devices = prop::collection::vec(
        prop::sample::select(vec!["/dev/sda", "/dev/null", "/dev/fuse"]),
        0..2,
    );
    (
        (any::<bool>(), binds, caps, security, devices),
        (
            prop::sample::select(vec!["", "host", "container:i-hostns", "container:i-plain"]),
            prop::sample::select(vec!["", "host", "none", "bridge"]),
            prop::sample::select(vec!["", "1000", "root", "0:0", "1000:1000"]),
            any::<bool>(),
            prop::sample::select(vec![0i64, 67_108_864]),
        ),
    )
        .prop_map(
            |((privileged, binds, caps, security, devices), (pid, net, user, read_only, memory))| {
                let devices: Vec<Value> = devices
                    .iter()
                    .map(|d| json!({"PathOnHost": d, "PathInContainer": d, "CgroupPermissions": "rwm"}))
                    .collect();
                json!({
                    "Image": "testimg",
                    "User": user,
                    "Cmd": ["true"],
                    "HostConfig": {
                        "Privileged": privileged,
                        "Binds": binds,
                        "CapAdd": caps,
                        "SecurityOpt": security,
                        "Devices": devices,
                        "PidMode": pid,
                        "NetworkMode": net,
                        "ReadonlyRootfs": read_only,
                        "Memory": memory,
                    }
                })
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn rewritten_keys_get_the_verdict_of_the_plain_body(
        body in create_body(),
        bytes in prop::collection::vec(any::<u8>(), 16..128),
    ) {
        let plain = serde_json::to_vec(&body).unwrap();
        let mut rewritten = String::new();
        rewrite(&body, &mut Choices { bytes, at: 0 }, &mut rewritten);
        prop_assert_eq!(
            outcome(&decide(&plain)),
            outcome(&decide(rewritten.as_bytes())),
            "rewritten body: {}", rewritten
        );
    }
}

/// The property can fail: a decoy that Go would merge (an object key the
/// later copy does not repeat) changes the verdict.
#[test]
fn a_merging_duplicate_changes_the_verdict() {
    let plain = br#"{"Image":"testimg","User":"1000","HostConfig":{"Memory":1}}"#;
    let merged =
        br#"{"Image":"testimg","User":"1000","hostconfig":{"Privileged":true},"HostConfig":{"Memory":1}}"#;
    assert_ne!(outcome(&decide(plain)), outcome(&decide(merged)));
    assert!(!decide(merged).allowed());
}
