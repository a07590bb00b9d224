//! `dockgate check`: the policy over compose files, run lines, inspect
//! documents and create bodies, before anything reaches a daemon.

use std::collections::HashMap;
use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use dockgate_inputs::api_body::container_create;
use dockgate_inputs::inspect::{container_from_value_with, DaemonDefaults, InspectError};
use dockgate_inputs::lint::compose::Project;
use dockgate_inputs::lint::{run_line, Location, Target};
use dockgate_outputs::audit::now_rfc3339;
use dockgate_outputs::{json, sarif, text, ContainerResult, ScanReport};
use dockgate_rules::{evaluate, Policy, Requester};

use crate::load_policy;

/// Output formats of `check`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum CheckFormat {
    /// `file:line:col: action rule: message`.
    Text,
    /// The `dockgate.scan/v1` JSON document, with locations.
    Json,
    /// SARIF 2.1.0 for code scanning.
    Sarif,
}

/// `dockgate check`.
#[derive(clap::Args, Debug)]
pub struct CheckArgs {
    /// Policy file [default: /etc/dockgate/policy.toml if it exists, else the baseline profile].
    #[arg(long, value_name = "FILE")]
    policy: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    format: CheckFormat,
    /// The PATHs are shell scripts or text with `docker run`/`create` lines, not compose files.
    #[arg(long)]
    run_lines: bool,
    /// A `docker inspect` document to check.
    #[arg(long, value_name = "FILE")]
    inspect: Vec<PathBuf>,
    /// A raw container-create request body to check.
    #[arg(long, value_name = "FILE")]
    create_body: Vec<PathBuf>,
    /// Compose files, merged in order like `docker compose -f a -f b`; `-` reads run lines from stdin.
    paths: Vec<PathBuf>,
    /// A command line to check: `dockgate check -- docker run -v /:/host alpine`.
    #[arg(last = true, value_name = "COMMAND")]
    command: Vec<String>,
}

const COMPOSE_NAMES: &[&str] = &[
    "compose.yaml",
    "compose.yml",
    "docker-compose.yaml",
    "docker-compose.yml",
];

fn targets(args: &CheckArgs) -> Result<Vec<Target>> {
    let mut targets = Vec::new();
    let env: HashMap<String, String> = std::env::vars().collect();
    let (stdin, files): (Vec<&PathBuf>, Vec<&PathBuf>) =
        args.paths.iter().partition(|p| p.as_os_str() == "-");
    if !stdin.is_empty() {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .context("cannot read standard input")?;
        targets.extend(run_line::parse_lines("-", &text)?);
    }
    if args.run_lines {
        for file in &files {
            let text = std::fs::read_to_string(file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            targets.extend(run_line::parse_lines(&file.display().to_string(), &text)?);
        }
    } else if !files.is_empty() {
        let paths: Vec<PathBuf> = files.into_iter().cloned().collect();
        targets.extend(Project::load(&paths, &env)?.targets()?);
    }
    if !args.command.is_empty() {
        targets.push(run_line::parse_argv(&args.command)?);
    }
    for file in &args.inspect {
        let bytes =
            std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
        let value: serde_json::Value = serde_json::from_slice(&bytes)
            .map_err(|e| InspectError::Syntax(e.to_string()))
            .with_context(|| file.display().to_string())?;
        // A document alone cannot tell whether `CgroupnsMode: host` was asked
        // for or is the default of a cgroup v1 host; read it as the default.
        let defaults = DaemonDefaults {
            cgroupns_host: true,
        };
        let workload = container_from_value_with(&value, defaults)
            .with_context(|| file.display().to_string())?;
        targets.push(whole_file(file, workload.name.clone(), workload));
    }
    for file in &args.create_body {
        let bytes =
            std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
        let workload = container_create(&bytes).with_context(|| file.display().to_string())?;
        targets.push(whole_file(file, None, workload));
    }
    if targets.is_empty()
        && args.paths.is_empty()
        && args.command.is_empty()
        && args.inspect.is_empty()
        && args.create_body.is_empty()
    {
        match COMPOSE_NAMES.iter().map(PathBuf::from).find(|p| p.exists()) {
            Some(found) => targets.extend(Project::load(&[found], &env)?.targets()?),
            None => bail!("nothing to check: name compose files, --run-lines files, --inspect, --create-body, or a command after --"),
        }
    }
    Ok(targets)
}

fn whole_file(
    file: &std::path::Path,
    name: Option<String>,
    workload: dockgate_model::Workload,
) -> Target {
    let location = Location {
        file: file.display().to_string(),
        line: 0,
        col: 0,
    };
    Target {
        name: name.unwrap_or_else(|| location.file.clone()),
        workload,
        locations: Default::default(),
        origin: location,
    }
}

fn judge(policy: &Policy, target: Target) -> ContainerResult {
    let verdict = evaluate(policy, &target.workload, &Requester::default());
    let image = target
        .workload
        .image
        .as_ref()
        .map(|i| i.value.clone())
        .unwrap_or_default();
    let mut result =
        ContainerResult::running(target.origin.to_string(), target.name, image, verdict);
    result.locations = target.locations;
    result.origin = Some(target.origin);
    result
}

/// Runs the check; exit 0 when nothing is deny-level, 1 when something is.
pub fn check(args: CheckArgs) -> Result<ExitCode> {
    let (policy, _) = load_policy(args.policy.as_deref())?;
    let targets = targets(&args)?;
    let report = ScanReport {
        time: now_rfc3339(),
        policy_hash: policy.hash().to_string(),
        rules: dockgate_patrol::evaluated_rules(&policy),
        containers: targets.into_iter().map(|t| judge(&policy, t)).collect(),
    };
    match args.format {
        CheckFormat::Text => print!("{}", text::render_check(&report)),
        CheckFormat::Json => print!("{}", json::render(&report)),
        CheckFormat::Sarif => print!("{}", sarif::render(&report)),
    }
    Ok(if report.violating() > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
