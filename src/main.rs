//! `dockgate`: one policy for Docker, enforced at the daemon.

mod audit_command;
mod check;
mod lookup_secret;
mod man_pages;
mod patrol;
mod policy_test;
mod proxy_command;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use dockgate_engine::DockerLookup;
use dockgate_gate::policy_file::{self, PolicyFile};
use dockgate_gate::{AuditFailure, AuditTrail, Connections, Gate, Limits};
use dockgate_outputs::AuditLog;
use dockgate_rules::{Policy, RuleId};

/// Where the gate looks for a policy when none is named.
const DEFAULT_POLICY: &str = "/etc/dockgate/policy.toml";
/// The daemon asked when neither `--docker-host` nor `DOCKER_HOST` says.
pub(crate) const DEFAULT_DOCKER_HOST: &str = "unix:///var/run/docker.sock";
/// Where Docker looks for plugin sockets.
const DEFAULT_SOCKET: &str = "/run/docker/plugins/dockgate.sock";

#[derive(Parser)]
#[command(
    name = "dockgate",
    version,
    propagate_version = true,
    about = "One policy for Docker, enforced at every point"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the Docker authorization plugin.
    Serve(ServeArgs),
    /// Check existing containers against the policy; report, stop or remove.
    Scan(patrol::ScanArgs),
    /// Follow the daemon's events and check each container as it starts.
    Watch(patrol::WatchArgs),
    /// Check compose files, docker run lines, inspect documents or create bodies.
    Check(check::CheckArgs),
    /// Serve a filtering Docker API socket for each identity that has one.
    Proxy(proxy_command::ProxyArgs),
    /// Audit the host and the daemon: is the gate really in front of it?
    Audit(audit_command::AuditArgs),
    /// Show or validate a policy.
    #[command(subcommand)]
    Policy(PolicyCommand),
    /// Explain a rule: what it checks, why, how to fix and exempt.
    Explain {
        /// A rule id; without one, every rule is listed.
        #[arg(value_parser = RuleName, hide_possible_values = true)]
        rule: Option<String>,
        /// The policy whose custom rules to explain [default: /etc/dockgate/policy.toml if it exists].
        #[arg(long, value_name = "FILE")]
        policy: Option<PathBuf>,
    },
    /// Print the man page or shell completions, or write every man page
    /// to a directory (for packagers).
    #[command(hide = true)]
    Generate {
        /// `man`, or a shell: bash, zsh, fish.
        what: String,
        /// With `man`: write dockgate.1, a page per subcommand and
        /// dockgate-policy.toml.5 here instead of printing dockgate.1.
        dir: Option<PathBuf>,
    },
}

#[derive(clap::Args)]
struct ServeArgs {
    /// Policy file [default: /etc/dockgate/policy.toml if it exists, else the baseline profile].
    #[arg(long, value_name = "FILE")]
    policy: Option<PathBuf>,
    /// Where to write the secret that marks dockgate's own reads of the
    /// daemon (this gate's look-ups, scan, watch), which a policy in
    /// opa-docker-authz's form does not judge; written 0600 at each start.
    #[arg(long, value_name = "FILE", default_value = lookup_secret::DEFAULT_PATH)]
    lookup_secret: PathBuf,
    /// Unix socket to listen on.
    #[arg(long, value_name = "PATH", default_value = DEFAULT_SOCKET)]
    socket: PathBuf,
    /// The Docker daemon to ask about volumes, containers and images.
    #[arg(
        long,
        value_name = "URL",
        env = "DOCKER_HOST",
        default_value = DEFAULT_DOCKER_HOST
    )]
    docker_host: String,
    /// Also append audit records to this file. It is reopened on SIGHUP and
    /// when it is renamed or removed (log rotation).
    #[arg(long, value_name = "PATH")]
    audit_log: Option<PathBuf>,
    /// When a record cannot be written to the audit log file (a full disk):
    /// `continue` decides as if it had been, counts the loss and logs it;
    /// `deny` refuses the request, so that nothing happens unrecorded.
    #[arg(long, value_name = "ACTION", default_value = "continue")]
    audit_failure: AuditFailure,
    /// Requests that may wait on daemon look-ups at once.
    #[arg(long, value_name = "N", default_value_t = 64)]
    max_lookups: usize,
    /// Also send every audit record to syslog: unix:///dev/log, udp://host:514 or tcp://host:601.
    #[arg(long, value_name = "URL")]
    syslog: Option<String>,
    /// Serve Prometheus metrics on this TCP address (off by default);
    /// `:PORT` listens on every interface.
    #[arg(long, value_name = "[HOST]:PORT", value_parser = parse_listen_addr)]
    metrics_addr: Option<std::net::SocketAddr>,
    /// Which decisions go to the audit log: `all`, or `changes` to leave
    /// out allowed reads that found nothing (GET and HEAD: pings, lists,
    /// logs), most of the traffic. Denials, findings and inspects (which
    /// show a container's environment) are always recorded.
    #[arg(long, value_name = "LEVEL", default_value = "all")]
    audit_level: dockgate_gate::AuditLevel,
    /// Where the host's file system is mounted, when dockgate does not run
    /// in the host's root (the managed plugin sees it at /host): symbolic
    /// links in bind sources are resolved there.
    #[arg(long, value_name = "DIR")]
    host_root: Option<PathBuf>,
}

#[derive(Subcommand)]
enum PolicyCommand {
    /// Print the effective policy: the profile merged with the file.
    Show {
        /// Policy file [default: /etc/dockgate/policy.toml if it exists].
        #[arg(long, value_name = "FILE")]
        policy: Option<PathBuf>,
    },
    /// Check a policy file; exits non-zero and names the line if it is invalid.
    Validate {
        /// The policy file [default: /etc/dockgate/policy.toml].
        file: Option<PathBuf>,
    },
    /// Print a policy file that states the baseline, every line commented.
    Template,
    /// Run the `test_` rules of the Rego files in a directory, as `opa test`
    /// does; inputs read from files are `data.inputs.NAME`, and as the
    /// create request a policy in opa-docker-authz's form reads,
    /// `data.requests.NAME`.
    Test {
        /// The directory of Rego files (policies and their tests).
        dir: PathBuf,
        /// An input document: NAME=compose:FILE (one per service,
        /// data.inputs.NAME.SERVICE), NAME=inspect:FILE, NAME=create:FILE
        /// (a create body) or NAME=authz:FILE (an AuthZ request).
        #[arg(long = "input", value_name = "NAME=KIND:FILE", value_parser = policy_test::parse_input)]
        inputs: Vec<policy_test::InputSpec>,
        /// The policy whose built-in findings the inputs carry [default: /etc/dockgate/policy.toml if it exists].
        #[arg(long, value_name = "FILE")]
        policy: Option<PathBuf>,
    },
}

/// A rule id as `explain` takes it: any text (an unknown one gets the list
/// of rules), with the rule ids offered to shell completion.
#[derive(Clone)]
struct RuleName;

impl clap::builder::TypedValueParser for RuleName {
    type Value = String;

    fn parse_ref(
        &self,
        _cmd: &clap::Command,
        _arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<String, clap::Error> {
        Ok(value.to_string_lossy().into_owned())
    }

    fn possible_values(
        &self,
    ) -> Option<Box<dyn Iterator<Item = clap::builder::PossibleValue> + '_>> {
        Some(Box::new(
            RuleId::ALL
                .iter()
                .map(|r| clap::builder::PossibleValue::new(r.id())),
        ))
    }
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => return usage_error(err),
    };
    let result = match cli.command {
        Command::Serve(args) => serve(args),
        Command::Scan(args) => patrol::scan(args),
        Command::Watch(args) => patrol::watch(args),
        Command::Check(args) => check::check(args),
        Command::Proxy(args) => proxy_command::proxy(args),
        Command::Audit(args) => audit_command::run(args),
        Command::Policy(PolicyCommand::Show { policy }) => policy_show(policy.as_deref()),
        Command::Policy(PolicyCommand::Validate { file }) => {
            policy_validate(file.as_deref().unwrap_or(Path::new(DEFAULT_POLICY)))
        }
        Command::Policy(PolicyCommand::Test {
            dir,
            inputs,
            policy,
        }) => load_policy(policy.as_deref())
            .and_then(|(policy, _)| policy_test::run(&dir, &inputs, &policy)),
        Command::Policy(PolicyCommand::Template) => {
            print!("{}", Policy::commented_template());
            Ok(ExitCode::SUCCESS)
        }
        Command::Generate { what, dir } => generate(&what, dir.as_deref()),
        Command::Explain { rule, policy } => explain(rule.as_deref(), policy.as_deref()),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("dockgate: {err:#}");
            ExitCode::from(2)
        }
    }
}

/// A command line clap could not read, or `--help`/`--version`. Run as a
/// monitoring plugin (`scan --format nagios`), a usage error is UNKNOWN
/// (3) with a one-line reason on stdout, as the Monitoring Plugins
/// guidelines ask; elsewhere clap reports it (exit 2).
fn usage_error(err: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    let args: Vec<String> = std::env::args().skip(1).collect();
    let plugin = args.first().is_some_and(|a| a == "scan")
        && args
            .windows(2)
            .any(|w| w[0] == "--format" && w[1] == "nagios")
            | args.iter().any(|a| a == "--format=nagios");
    let informational = matches!(
        err.kind(),
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion
    );
    if !plugin || informational {
        err.exit();
    }
    let rendered = err.render().to_string();
    let reason = rendered
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("invalid command line")
        .trim_start_matches("error: ");
    let (out, state) = dockgate_outputs::nagios::unknown(&format!("usage: {reason}"));
    print!("{out}");
    ExitCode::from(state.code())
}

/// Reads a policy file.
fn read_policy(path: &Path) -> Result<Policy> {
    Ok(Policy::from_file(path)?)
}

/// The policy in force: the named file, else the default file if present,
/// else the baseline profile. Also returns the file to follow, which says
/// where the policy came from ([`PolicyFile::source`]): without a file the
/// default path is still followed, so that an operator can create one
/// later (a plugin's mounted /etc/dockgate).
pub(crate) fn load_policy(explicit: Option<&Path>) -> Result<(Policy, PolicyFile)> {
    let path = explicit.unwrap_or(Path::new(DEFAULT_POLICY));
    if explicit.is_none() && !path.exists() {
        return Ok((Policy::default(), PolicyFile::absent(path)));
    }
    Ok(PolicyFile::load(path)?)
}

fn policy_show(file: Option<&Path>) -> Result<ExitCode> {
    let (policy, file) = load_policy(file)?;
    match file.source() {
        Some(path) => println!("# effective policy from {}", path.display()),
        None => println!("# effective policy: built-in baseline profile"),
    }
    println!("# hash {}", policy.hash());
    print!("{}", policy.to_toml());
    Ok(ExitCode::SUCCESS)
}

fn policy_validate(file: &Path) -> Result<ExitCode> {
    let policy = read_policy(file)?;
    println!("{}: valid (hash {})", file.display(), policy.hash());
    Ok(ExitCode::SUCCESS)
}

fn generate(what: &str, dir: Option<&Path>) -> Result<ExitCode> {
    use clap::CommandFactory;
    let mut command = Cli::command();
    let mut out = std::io::stdout();
    match (what, dir) {
        ("man", Some(dir)) => man_pages::write_all(command, dir)?,
        ("man", None) => clap_mangen::Man::new(command).render(&mut out)?,
        (shell, _) => {
            let shell: clap_complete::Shell = shell.parse().map_err(|_| {
                anyhow::anyhow!("generate what? `man`, or a shell: bash, zsh, fish")
            })?;
            clap_complete::generate(shell, &mut command, "dockgate", &mut out);
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn explain(rule: Option<&str>, policy: Option<&Path>) -> Result<ExitCode> {
    let Some(id) = rule else {
        for rule in RuleId::ALL {
            println!("{:<20} {}", rule.id(), rule.doc().summary);
        }
        return Ok(ExitCode::SUCCESS);
    };
    if id.starts_with("custom/") {
        return explain_custom(id, policy);
    }
    let Some(rule) = RuleId::from_id(id) else {
        let known: Vec<&str> = RuleId::ALL.iter().map(|r| r.id()).collect();
        bail!("unknown rule {id:?}; rules are: {}", known.join(", "));
    };
    let doc = rule.doc();
    let baseline = rule
        .default_action(dockgate_rules::Profile::Baseline)
        .name();
    let restricted = rule
        .default_action(dockgate_rules::Profile::Restricted)
        .name();
    println!("{}\n\n{}\n", rule.id(), doc.summary);
    println!("Why: {}\n", doc.why);
    println!("Fix: {}.\n", doc.fix);
    println!("Defaults: baseline {baseline}, restricted {restricted}.");
    println!("Parameters: {}.\n", doc.parameters);
    if rule.is_fixed() {
        println!("This rule cannot be changed or exempted.");
    } else {
        println!(
            "Exempt: in the policy file, add\n  [[exemptions]]\n  rules = [\"{}\"]\n  images = [\"registry.example.com/team/app@sha256:...\"]\n  reason = \"why\"\nor change its action under [rules.{}].",
            rule.id(),
            rule.id()
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// A custom rule: where it comes from, what its METADATA says, and how
/// to lift it.
fn explain_custom(id: &str, policy: Option<&Path>) -> Result<ExitCode> {
    let (policy, file) = load_policy(policy)?;
    let Some(info) = policy.custom_rule(id) else {
        let (rules, _) = policy.custom_rules();
        let known: Vec<&str> = rules.iter().map(|(rule, _)| rule.as_str()).collect();
        let from = file.source().map_or_else(
            || "the built-in baseline".to_string(),
            |p| p.display().to_string(),
        );
        bail!(
            "unknown custom rule {id:?} in {from}; its Rego files define: {}",
            if known.is_empty() {
                "none".to_string()
            } else {
                known.join(", ")
            }
        );
    };
    let files: Vec<String> = info.files.iter().map(|f| f.display().to_string()).collect();
    println!("{id}\n\nA custom rule: {}.\n", info.origin);
    for block in &info.metadata {
        print_metadata(block);
    }
    println!("Files: {}.", files.join(", "));
    println!("Action: {} (before the mode).\n", info.action.name());
    println!("Its messages say what it found; the fix is the one each message gives, or the policy's author's.");
    println!(
        "Exempt: in the policy file, add\n  [[exemptions]]\n  rules = [\"{id}\"]\n  images = [\"sha256:...\"]\n  reason = \"why\"\nor change its action under [rules.\"{id}\"]."
    );
    Ok(ExitCode::SUCCESS)
}

/// One METADATA annotation, as OPA's schema names its fields: the title
/// and description first, then the rest (`custom` keys one per line).
fn print_metadata(yaml: &str) {
    let Ok(node) = dockgate_inputs::yaml::parse(yaml) else {
        // Shown as written: the author's words matter more than the form.
        println!("{}", yaml.trim_end());
        println!();
        return;
    };
    let text = |key: &str| node.get(key).and_then(|v| v.go_text());
    if let Some(title) = text("title") {
        println!("{title}");
    }
    if let Some(description) = text("description") {
        println!("{}", description.trim_end());
    }
    for (key, value) in node.entries() {
        let key = key.as_str().unwrap_or_default();
        if matches!(key, "title" | "description" | "scope" | "schemas") {
            continue;
        }
        match value.go_text() {
            Some(value) => println!("{key}: {value}"),
            None => {
                for (inner, value) in value.entries() {
                    let inner = inner.as_str().unwrap_or_default();
                    let value = value.go_text().unwrap_or_default();
                    println!("{key}.{inner}: {value}");
                }
                for item in value.items() {
                    println!("{key}: {}", item.go_text().unwrap_or_default());
                }
            }
        }
    }
    println!();
}

/// How dockgate's clients of the daemon (scan, watch, proxy) reach it.
#[derive(clap::Args, Debug)]
pub(crate) struct DaemonClient {
    /// The Docker daemon.
    #[arg(
        long,
        value_name = "URL",
        env = "DOCKER_HOST",
        default_value = DEFAULT_DOCKER_HOST
    )]
    pub(crate) docker_host: String,
    /// The secret a gate on this host writes for dockgate's own reads
    /// (`dockgate serve --lookup-secret`); sent when it can be read.
    #[arg(long, value_name = "FILE", default_value = lookup_secret::DEFAULT_PATH)]
    lookup_secret: PathBuf,
}

impl DaemonClient {
    /// The secret, when it can be read.
    pub(crate) fn marker(&self) -> Option<String> {
        lookup_secret::read(&self.lookup_secret)
    }
}

/// Logs to stderr, filtered by DOCKGATE_LOG (default info).
pub(crate) fn log_to_stderr() {
    use std::io::IsTerminal;
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        // Colour codes only for a person at a terminal, not in journald or
        // the daemon's log (where a managed plugin's output goes).
        .with_ansi(std::io::stderr().is_terminal())
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("DOCKGATE_LOG")
                .unwrap_or_else(|_| "info".into()),
        )
        .init();
}

fn serve(args: ServeArgs) -> Result<ExitCode> {
    log_to_stderr();
    // First, before any thread starts: taking the inherited socket clears
    // the LISTEN_* variables, which is not safe with other threads.
    let inherited = dockgate_gate::inherited_listener()?;
    let activated = inherited.is_some();
    let loaded = load_policy(args.policy.as_deref());
    let metrics = dockgate_gate::Metrics::new(match &loaded {
        Ok((policy, _)) => policy.hash(),
        Err(_) => "none",
    });
    let observed = metrics.clone();
    let marker =
        lookup_secret::draw().context("cannot draw the secret that marks the gate's look-ups")?;
    if let Err(err) = lookup_secret::publish(&args.lookup_secret, &marker) {
        tracing::warn!(path = %args.lookup_secret.display(), error = %err, "cannot write the look-up secret: scan and watch on this host cannot mark their reads, and a policy in opa-docker-authz's form that restricts reads judges them");
    }
    let mut lookup = DockerLookup::connect(&args.docker_host)?
        .with_observer(Arc::new(move |kind, cached| observed.lookup(kind, cached)))
        .with_marker(&marker);
    if let Some(root) = &args.host_root {
        // Resolving links in an empty directory would find none and judge
        // every bind by its written path only: refuse to start instead.
        if !dockgate_engine::host_fs::looks_like_root(root) {
            bail!(
                "--host-root {}: no host file system there (no etc directory); mount the host's / there",
                root.display()
            );
        }
        lookup = lookup.with_host_root(root);
    }
    let policy_path = args.policy.clone().unwrap_or_else(|| DEFAULT_POLICY.into());
    let (gate, policy_file, policy_source) = match loaded {
        Ok((policy, file)) => {
            let source = file.source().map_or_else(
                || "built-in baseline".to_string(),
                |path| path.display().to_string(),
            );
            let gate = Gate::with_metrics(policy, lookup, metrics.clone()).with_marker(&marker);
            (gate, file, source)
        }
        Err(err) => {
            // Exiting would leave the daemon refusing everything with no
            // reason given, while the service manager restarts the gate in
            // a loop. Serve, refuse with the reason, and load the file as
            // soon as it is fixed.
            let reason = format!("{err:#}");
            tracing::error!(error = %reason, "no valid policy: every request but ping and version is refused until the policy file is fixed");
            let gate = Gate::without_policy(reason, lookup, metrics.clone()).with_marker(&marker);
            let source = format!("{} (invalid)", policy_path.display());
            (gate, PolicyFile::rejected(&policy_path), source)
        }
    };
    let audit_failure = args.audit_failure;
    let (mut audit, opened) = AuditLog::open_or_retry(args.audit_log.as_deref(), true);
    if let Err(err) = opened {
        // Refusing to start would refuse every Docker request: the file is
        // tried again each second, and each lost record counts meanwhile.
        tracing::error!(error = %err, ?audit_failure, "audit log not open; retrying on each record");
    }
    if let Some(url) = &args.syslog {
        let target = dockgate_outputs::syslog::Target::parse(url)?;
        let syslog = dockgate_outputs::syslog::Syslog::start(target);
        metrics.follow_syslog_drops(syslog.drop_counter());
        audit = audit.with_syslog(syslog);
    }
    let open_files = match dockgate_gate::server::raise_open_file_limit() {
        Ok(limit) => limit,
        Err(err) => {
            tracing::warn!(%err, "cannot read the open file limit");
            1024
        }
    };
    let connections = Connections {
        max: dockgate_gate::server::connection_cap(open_files, args.max_lookups),
        metrics: Some(metrics.clone()),
        ..Connections::default()
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let served = runtime.block_on(async move {
        let listener = match inherited {
            Some(listener) => tokio::net::UnixListener::from_std(listener)
                .context("cannot use the inherited socket")?,
            None => dockgate_gate::bind(&args.socket)?,
        };
        // The socket really listened on: a service manager's may differ
        // from --socket.
        let socket = listener
            .local_addr()
            .ok()
            .and_then(|a| a.as_pathname().map(|p| p.display().to_string()))
            .unwrap_or_else(|| args.socket.display().to_string());
        let gate = Arc::new(gate);
        tracing::info!(
            %socket,
            activated,
            policy = policy_source,
            hash = gate.policy().hash(),
            open_files,
            max_connections = connections.max,
            "dockgate gate listening"
        );
        // Spawned: the daemon asks this gate about the ping itself, so it
        // is answered only once the gate serves.
        tokio::spawn(warn_if_daemon_unreachable(
            args.docker_host.clone(),
            marker.clone(),
        ));
        if let Some(addr) = args.metrics_addr {
            let listener = tokio::net::TcpListener::bind(addr)
                .await
                .with_context(|| format!("cannot serve metrics on {addr}"))?;
            tracing::info!(%addr, "metrics on /metrics");
            let app = dockgate_gate::metrics_router(metrics.clone());
            tokio::spawn(async move {
                if let Err(err) = axum::serve(listener, app).await {
                    tracing::error!(%err, "metrics server stopped");
                }
            });
        }
        let audit = Arc::new(audit);
        let app = dockgate_gate::router(
            gate.clone(),
            AuditTrail {
                log: audit.clone(),
                on_failure: audit_failure,
                level: args.audit_level,
            },
            Limits {
                lookups: args.max_lookups,
                ..Limits::default()
            },
        );
        let follower = policy_file::follow(gate, policy_file, policy_file::Timing::default());
        let audit_file = args.audit_log.is_some().then_some(audit);
        tokio::spawn(on_reopen_signals(follower, audit_file));
        dockgate_gate::serve(listener, app, connections, shutdown_signal()).await?;
        // An inherited socket belongs to the service manager, which keeps
        // it open so that requests wait while dockgate restarts.
        if !activated {
            let _ = std::fs::remove_file(&args.socket);
        }
        tracing::info!("dockgate gate stopped");
        Ok(ExitCode::SUCCESS)
    });
    // A thread stuck in a file system that hangs (an audit write) must not
    // keep the process from exiting.
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    served
}

/// `HOST:PORT`, or `:PORT` for every interface (IPv6 and IPv4).
fn parse_listen_addr(text: &str) -> Result<std::net::SocketAddr, String> {
    let text = text.trim();
    let full = match text.strip_prefix(':') {
        Some(port) => format!("[::]:{port}"),
        None => text.to_string(),
    };
    full.parse()
        .map_err(|_| format!("invalid address {text:?}: expected HOST:PORT or :PORT"))
}

/// Look-ups go to the daemon while it waits on the gate: a gate that cannot
/// reach it refuses every request that needs one. Said at start, with the
/// way out, rather than first in a denial.
async fn warn_if_daemon_unreachable(docker_host: String, marker: String) {
    let docker_host = docker_host.as_str();
    let reached = match dockgate_engine::Engine::connect(docker_host, Some(&marker)).await {
        Ok(_) => Ok(()),
        Err(err) => Err(err.to_string()),
    };
    if let Err(err) = reached {
        tracing::warn!(
            docker_host,
            error = %err,
            "cannot reach the Docker daemon for look-ups; requests that need one (volumes, images, existing containers) are refused until it answers: check --docker-host"
        );
    }
}

/// Completes on SIGTERM or SIGINT.
pub(crate) async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = match signal(SignalKind::terminate()) {
        Ok(s) => s,
        Err(err) => {
            tracing::error!(%err, "cannot watch SIGTERM");
            return std::future::pending().await;
        }
    };
    tokio::select! {
        _ = term.recv() => tracing::info!("SIGTERM: finishing requests in flight"),
        _ = tokio::signal::ctrl_c() => tracing::info!("SIGINT: finishing requests in flight"),
    }
}

/// On SIGHUP: the policy file is read again at once, and the audit log
/// file reopened (after logrotate). On SIGUSR1: only the audit log is
/// reopened, as logrotate's usual postrotate signal asks.
async fn on_reopen_signals(policy: policy_file::Follower, audit: Option<Arc<AuditLog>>) {
    use tokio::signal::unix::{signal, SignalKind};
    let (mut hup, mut usr1) = match (
        signal(SignalKind::hangup()),
        signal(SignalKind::user_defined1()),
    ) {
        (Ok(hup), Ok(usr1)) => (hup, usr1),
        (Err(err), _) | (_, Err(err)) => {
            tracing::error!(%err, "cannot watch SIGHUP and SIGUSR1");
            return;
        }
    };
    loop {
        let name = tokio::select! {
            got = hup.recv() => {
                if got.is_none() {
                    return;
                }
                policy.reload_now();
                "SIGHUP"
            }
            got = usr1.recv() => {
                if got.is_none() {
                    return;
                }
                "SIGUSR1"
            }
        };
        match audit.as_ref().map(|audit| audit.reopen()) {
            None => {}
            Some(Ok(())) => tracing::info!("{name}: audit log reopened"),
            Some(Err(err)) => tracing::error!(error = %err, "{name}: audit log not reopened"),
        }
    }
}
