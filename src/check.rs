//! `dockgate check`: the policy over compose files, run lines, inspect
//! documents and create bodies, before anything reaches a daemon.

use std::collections::HashMap;
use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use dockgate_engine::DockerLookup;
use dockgate_inputs::api_body::container_create;
use dockgate_inputs::inspect::{container_from_value_with, DaemonDefaults, InspectError};
use dockgate_inputs::resolve::resolve_image;
use dockgate_inputs::sources::compose::{Options, Project};
use dockgate_inputs::sources::{run_line, InputError, Location, Target};
use dockgate_model::Resolution;
use dockgate_outputs::audit::now_rfc3339;
use dockgate_outputs::{json, sarif, text, ContainerResult, ScanReport};
use dockgate_rules::{evaluate, Policy, Requester, Verdict};

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
    /// An env file for compose files, read instead of the project's `.env`, as `docker compose --env-file`.
    #[arg(long, value_name = "FILE")]
    env_file: Vec<PathBuf>,
    /// A compose profile to enable, as `docker compose --profile`; replaces COMPOSE_PROFILES.
    #[arg(long, value_name = "NAME")]
    profile: Vec<String>,
    /// Ask this Docker daemon which local image each image reference is,
    /// as the gate does, so that image exemptions are judged as the gate
    /// will judge them (by image ID, and by where a tagged image was
    /// pulled from). Without it, a name matches on the condition that the
    /// gate will check, and the output says so.
    #[arg(long, value_name = "URL")]
    docker_host: Option<String>,
    /// With --docker-host: the secret a gate on that host writes for
    /// dockgate's own reads (`dockgate serve --lookup-secret`).
    #[arg(long, value_name = "FILE", default_value = crate::lookup_secret::DEFAULT_PATH)]
    lookup_secret: PathBuf,
    /// Judge as a role of the policy's identities would be judged at the
    /// gate: its profile and rules, its images, and containers labelled
    /// as owned by an identity that holds it.
    #[arg(long = "as", value_name = "ROLE")]
    role: Option<String>,
    /// Compose files, merged in order like `docker compose -f a -f b`; `-` reads run lines from stdin.
    paths: Vec<PathBuf>,
    /// A command line to check: `dockgate check -- docker run -v /:/host alpine`.
    #[arg(last = true, value_name = "COMMAND")]
    command: Vec<String>,
}

/// One input, judged or not.
enum Input {
    /// A container the input describes.
    Read(Box<Target>),
    /// An input that could not be read: where, and why. It is reported in
    /// every format, as a denial, so that CI never takes silence for a pass.
    Unreadable(Location, String),
}

impl Input {
    fn whole_file(file: &std::path::Path, message: String) -> Input {
        Input::Unreadable(at_file(file), message)
    }
}

impl From<InputError> for Input {
    fn from(e: InputError) -> Input {
        Input::Unreadable(e.location, e.message)
    }
}

fn at_file(file: &std::path::Path) -> Location {
    Location {
        file: file.display().to_string(),
        line: 0,
        col: 0,
    }
}

fn collect(inputs: &mut Vec<Input>, read: Result<Vec<Target>, InputError>) {
    match read {
        Ok(targets) => inputs.extend(targets.into_iter().map(|t| Input::Read(Box::new(t)))),
        Err(e) => inputs.push(e.into()),
    }
}

fn inputs(args: &CheckArgs) -> Result<Vec<Input>> {
    let mut inputs = Vec::new();
    let compose = Options {
        env_files: args.env_file.clone(),
        profiles: args.profile.clone(),
        working_dir: None,
    };
    let env: HashMap<String, String> = std::env::vars().collect();
    let (stdin, files): (Vec<&PathBuf>, Vec<&PathBuf>) =
        args.paths.iter().partition(|p| p.as_os_str() == "-");
    if !stdin.is_empty() {
        let mut text = String::new();
        match std::io::stdin().read_to_string(&mut text) {
            Ok(_) => collect(&mut inputs, run_line::parse_lines("-", &text)),
            Err(e) => inputs.push(Input::whole_file("-".as_ref(), format!("cannot read: {e}"))),
        }
    }
    if args.run_lines {
        for file in &files {
            match std::fs::read_to_string(file) {
                Ok(text) => collect(
                    &mut inputs,
                    run_line::parse_lines(&file.display().to_string(), &text),
                ),
                Err(e) => inputs.push(Input::whole_file(file, format!("cannot read: {e}"))),
            }
        }
    } else if !files.is_empty() {
        let paths: Vec<PathBuf> = files.into_iter().cloned().collect();
        collect(
            &mut inputs,
            Project::load(&paths, &env, &compose).and_then(|p| p.targets()),
        );
    }
    if !args.command.is_empty() {
        collect(
            &mut inputs,
            run_line::parse_argv(&args.command).map(|t| vec![t]),
        );
    }
    for file in &args.inspect {
        inputs.push(match read_inspect(file) {
            Ok(workload) => {
                Input::Read(Box::new(whole_file(file, workload.name.clone(), workload)))
            }
            Err(e) => Input::whole_file(file, format!("{e:#}")),
        });
    }
    for file in &args.create_body {
        let read = std::fs::read(file)
            .context("cannot read")
            .and_then(|bytes| Ok(container_create(&bytes)?));
        inputs.push(match read {
            Ok(workload) => Input::Read(Box::new(whole_file(file, None, workload))),
            Err(e) => Input::whole_file(file, format!("{e:#}")),
        });
    }
    if args.paths.is_empty()
        && args.command.is_empty()
        && args.inspect.is_empty()
        && args.create_body.is_empty()
    {
        // As `docker compose` with no -f: COMPOSE_FILE, else the default
        // names in this directory or the nearest one above.
        match Project::discover(&std::env::current_dir()?, &env, &compose) {
            Some(found) => collect(&mut inputs, found.and_then(|p| p.targets())),
            None => bail!("nothing to check: name compose files, --run-lines files, --inspect, --create-body, or a command after --; no compose.yaml, compose.yml, docker-compose.yaml or docker-compose.yml here or above"),
        }
    }
    Ok(inputs)
}

fn read_inspect(file: &std::path::Path) -> Result<dockgate_model::Workload> {
    let bytes = std::fs::read(file).context("cannot read")?;
    let value: serde_json::Value =
        serde_json::from_slice(&bytes).map_err(|e| InspectError::Syntax(e.to_string()))?;
    // A document alone cannot tell whether `CgroupnsMode: host` was asked
    // for or is the default of a cgroup v1 host; read it as the default.
    let defaults = DaemonDefaults {
        cgroupns_host: true,
    };
    Ok(container_from_value_with(&value, defaults)?)
}

fn whole_file(
    file: &std::path::Path,
    name: Option<String>,
    workload: dockgate_model::Workload,
) -> Target {
    let location = at_file(file);
    Target {
        name: name.unwrap_or_else(|| location.file.clone()),
        workload,
        locations: Default::default(),
        origin: location,
    }
}

fn judge(policy: &Policy, input: Input) -> ContainerResult {
    let (target, verdict) = match input {
        Input::Read(target) => {
            let verdict = evaluate(policy, &target.workload, &Requester::default());
            (*target, verdict)
        }
        Input::Unreadable(location, message) => {
            let target = Target {
                name: location.file.clone(),
                workload: Default::default(),
                locations: [("request".to_string(), location.clone())].into(),
                origin: location,
            };
            (target, Verdict::unreadable(message))
        }
    };
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

/// Looks up the local image of every input, as the gate would. An image
/// the daemon does not have yet is left unknown: the CLI and Compose pull
/// it before they ask to create the container, so the gate sees it then.
fn resolve_images(url: &str, marker: Option<&str>, inputs: &mut [Input]) -> Result<()> {
    let mut lookup = DockerLookup::connect(url)?;
    if let Some(marker) = marker {
        lookup = lookup.with_marker(marker);
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async {
        for input in inputs.iter_mut() {
            let Input::Read(target) = input else {
                continue;
            };
            let workload = &mut target.workload;
            if let Some((_, Ok(None))) = resolve_image(workload, &lookup).await {
                workload.image_local = Resolution::Pending;
            }
            if let Resolution::Failed(err) = &workload.image_local {
                bail!("--docker-host {url}: {err}");
            }
        }
        Ok(())
    })
}

/// The stack the check runs on. go-yaml, and so Compose, reads documents
/// nested 10,000 deep; reading and judging such a tree recurses as deep.
/// Only what is used is committed.
const CHECK_STACK: usize = 512 << 20;

/// Runs the check; exit 0 when nothing is deny-level, 1 when something is,
/// 2 when an input could not be read (reported in the output too).
pub fn check(args: CheckArgs) -> Result<ExitCode> {
    std::thread::Builder::new()
        .name("check".into())
        .stack_size(CHECK_STACK)
        .spawn(move || run(args))
        .context("cannot start the check")?
        .join()
        .map_err(|_| anyhow::anyhow!("the check stopped unexpectedly"))?
}

fn run(args: CheckArgs) -> Result<ExitCode> {
    let (policy, _) = load_policy(args.policy.as_deref())?;
    let policy = match &args.role {
        Some(role) => Policy::clone(&*policy.for_role(role).map_err(anyhow::Error::msg)?),
        None => policy,
    };
    let mut inputs = inputs(&args)?;
    if let Some(url) = &args.docker_host {
        let marker = crate::lookup_secret::read(&args.lookup_secret);
        resolve_images(url, marker.as_deref(), &mut inputs)?;
    }
    let report = ScanReport {
        checks: Vec::new(),
        time: now_rfc3339(),
        policy_hash: policy.hash().to_string(),
        rules: dockgate_patrol::evaluated_rules(&policy),
        containers: inputs.into_iter().map(|i| judge(&policy, i)).collect(),
    };
    match args.format {
        CheckFormat::Text => print!("{}", text::render_check(&report)),
        CheckFormat::Json => print!("{}", json::render(&report)),
        CheckFormat::Sarif => print!("{}", sarif::render(&report)),
    }
    Ok(if report.unreadable().next().is_some() {
        ExitCode::from(2)
    } else if report.violating() > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
