//! `dockgate policy test`: a Rego policy's `test_` rules, run as `opa test`
//! runs them, with input documents read from compose files, `docker
//! inspect` output and create bodies exactly as the gate, scan and check
//! read them: `data.inputs.NAME` for native rules, `data.requests.NAME`
//! (the create request) for a policy in opa-docker-authz's form.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{anyhow, bail, Context, Result};
use dockgate_gate::sent_request;
use dockgate_inputs::authz::{read_request, AuthzRequest};
use dockgate_inputs::inspect::container_from_value;
use dockgate_inputs::sources::compose::{Options, Project};
use dockgate_rules::{rego_input, request_input, run_tests, Policy};
use serde_json::{Map, Value};

/// Where an input document comes from: `NAME=compose:FILE` (one document
/// per service, `data.inputs.NAME.SERVICE`), `NAME=inspect:FILE`,
/// `NAME=create:FILE` (a create body) or `NAME=authz:FILE` (an AuthZ
/// request as the daemon sends it to plugins, or a capture of
/// `fixtures/captured/authz`, whose first request is taken):
/// `data.inputs.NAME`.
#[derive(Clone, Debug)]
pub struct InputSpec {
    name: String,
    kind: String,
    file: PathBuf,
}

/// Parses `NAME=KIND:FILE`.
pub fn parse_input(text: &str) -> Result<InputSpec, String> {
    let usage = || {
        format!("invalid --input {text:?}: expected NAME=compose:FILE, NAME=inspect:FILE, NAME=create:FILE or NAME=authz:FILE")
    };
    let (name, rest) = text.split_once('=').ok_or_else(usage)?;
    let (kind, file) = rest.split_once(':').ok_or_else(usage)?;
    if name.is_empty()
        || file.is_empty()
        || !["compose", "inspect", "create", "authz"].contains(&kind)
    {
        return Err(usage());
    }
    Ok(InputSpec {
        name: name.to_string(),
        kind: kind.to_string(),
        file: PathBuf::from(file),
    })
}

/// The input documents of one `--input`: for native rules (`data.inputs`)
/// and for a policy in opa-docker-authz's form (`data.requests`, the create
/// request that makes each container).
fn documents_of(policy: &Policy, spec: &InputSpec) -> Result<(Value, Value)> {
    let file = &spec.file;
    let context = || format!("--input {}: {}", spec.name, file.display());
    Ok(match spec.kind.as_str() {
        "compose" => {
            let env: HashMap<String, String> = std::env::vars().collect();
            let targets = Project::load(std::slice::from_ref(file), &env, &Options::default())
                .and_then(|p| p.targets())
                .map_err(|e| anyhow!("{}: {}", e.location, e.message))
                .with_context(context)?;
            let mut services = Map::new();
            let mut requests = Map::new();
            for target in targets {
                services.insert(target.name.clone(), rego_input(policy, &target.workload));
                requests.insert(target.name.clone(), request_input(&target.workload, None));
            }
            (Value::Object(services), Value::Object(requests))
        }
        "inspect" => {
            let bytes = std::fs::read(file).with_context(context)?;
            let mut doc: Value = serde_json::from_slice(&bytes).with_context(context)?;
            // `docker inspect` prints an array.
            if let Some(first) = doc.as_array().and_then(|a| a.first()) {
                doc = first.clone();
            }
            let workload = container_from_value(&doc).with_context(context)?;
            (
                rego_input(policy, &workload),
                request_input(&workload, None),
            )
        }
        kind => {
            let bytes = std::fs::read(file).with_context(context)?;
            let request = if kind == "authz" {
                let doc: Value = serde_json::from_slice(&bytes).with_context(context)?;
                let doc = match doc.get("requests").and_then(|r| r.get(0)) {
                    Some(first) => first.clone(),
                    None => doc,
                };
                serde_json::from_value::<AuthzRequest>(doc).with_context(context)?
            } else {
                AuthzRequest::new("POST", "/containers/create", Some(&bytes))
            };
            let read = read_request(&request).with_context(context)?;
            let sent = sent_request(&request, &read)
                .map_err(|e| anyhow!(e))
                .with_context(context)?;
            (
                rego_input(policy, &read.workload),
                request_input(&read.workload, Some(&sent)),
            )
        }
    })
}

/// Runs the tests; exit 0 when every test passes, 1 when one fails, 2 when
/// the policy or an input cannot be read.
pub fn run(dir: &Path, inputs: &[InputSpec], policy: &Policy) -> Result<ExitCode> {
    let mut documents = Map::new();
    let mut requests = Map::new();
    for spec in inputs {
        let (document, request) = documents_of(policy, spec)?;
        documents.insert(spec.name.clone(), document);
        requests.insert(spec.name.clone(), request);
    }
    let data = serde_json::json!({ "inputs": documents, "requests": requests });
    let outcomes = run_tests(dir, data).map_err(|e| anyhow!("{}: {e}", dir.display()))?;
    if outcomes.is_empty() {
        bail!("{}: no test_ rules", dir.display());
    }
    let mut passed = 0;
    for outcome in &outcomes {
        match &outcome.result {
            Ok(true) => {
                passed += 1;
                println!("PASS: {}", outcome.name);
            }
            Ok(false) => println!("FAIL: {}", outcome.name),
            Err(err) => println!("ERROR: {}: {err}", outcome.name),
        }
    }
    println!("{}", "-".repeat(40));
    if passed == outcomes.len() {
        println!("PASS: {passed}/{}", outcomes.len());
        Ok(ExitCode::SUCCESS)
    } else {
        println!("PASS: {passed}/{}", outcomes.len());
        println!("FAIL: {}/{}", outcomes.len() - passed, outcomes.len());
        Ok(ExitCode::from(1))
    }
}
