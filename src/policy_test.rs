//! `dockgate policy test`: a Rego policy's `test_` rules, run as `opa test`
//! runs them, with input documents read from compose files, `docker
//! inspect` output and create bodies exactly as the gate, scan and check
//! read them.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{anyhow, bail, Context, Result};
use dockgate_inputs::api_body::container_create;
use dockgate_inputs::inspect::container_from_value;
use dockgate_inputs::sources::compose::{Options, Project};
use dockgate_rules::{rego_input, run_tests, Policy};
use serde_json::{Map, Value};

/// Where an input document comes from: `NAME=compose:FILE` (one document
/// per service, `data.inputs.NAME.SERVICE`), `NAME=inspect:FILE` or
/// `NAME=create:FILE` (`data.inputs.NAME`).
#[derive(Clone, Debug)]
pub struct InputSpec {
    name: String,
    kind: String,
    file: PathBuf,
}

/// Parses `NAME=KIND:FILE`.
pub fn parse_input(text: &str) -> Result<InputSpec, String> {
    let usage = || {
        format!("invalid --input {text:?}: expected NAME=compose:FILE, NAME=inspect:FILE or NAME=create:FILE")
    };
    let (name, rest) = text.split_once('=').ok_or_else(usage)?;
    let (kind, file) = rest.split_once(':').ok_or_else(usage)?;
    if name.is_empty() || file.is_empty() || !["compose", "inspect", "create"].contains(&kind) {
        return Err(usage());
    }
    Ok(InputSpec {
        name: name.to_string(),
        kind: kind.to_string(),
        file: PathBuf::from(file),
    })
}

fn document(policy: &Policy, spec: &InputSpec) -> Result<Value> {
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
            for target in targets {
                services.insert(target.name.clone(), rego_input(policy, &target.workload));
            }
            Value::Object(services)
        }
        "inspect" => {
            let bytes = std::fs::read(file).with_context(context)?;
            let mut doc: Value = serde_json::from_slice(&bytes).with_context(context)?;
            // `docker inspect` prints an array.
            if let Some(first) = doc.as_array().and_then(|a| a.first()) {
                doc = first.clone();
            }
            let workload = container_from_value(&doc).with_context(context)?;
            rego_input(policy, &workload)
        }
        _ => {
            let bytes = std::fs::read(file).with_context(context)?;
            let workload = container_create(&bytes).with_context(context)?;
            rego_input(policy, &workload)
        }
    })
}

/// Runs the tests; exit 0 when every test passes, 1 when one fails, 2 when
/// the policy or an input cannot be read.
pub fn run(dir: &Path, inputs: &[InputSpec], policy: &Policy) -> Result<ExitCode> {
    let mut documents = Map::new();
    for spec in inputs {
        documents.insert(spec.name.clone(), document(policy, spec)?);
    }
    let outcomes = run_tests(dir, serde_json::json!({ "inputs": documents }))
        .map_err(|e| anyhow!("{}: {e}", dir.display()))?;
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
