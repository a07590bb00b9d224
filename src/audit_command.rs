//! `dockgate audit`: the host and the daemon, and whether the gate is
//! really in front of it.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use dockgate_engine::daemon_host;
use dockgate_outputs::nagios::{self, Thresholds};
use dockgate_outputs::{json, text, ContainerResult, ScanReport};
use dockgate_rules::audit::{audit, CHECKS};

use crate::patrol::Format;

/// `dockgate audit`'s arguments.
#[derive(clap::Args)]
pub struct AuditArgs {
    #[command(flatten)]
    daemon: crate::DaemonClient,
    /// The name the daemon knows the gate by (its authorization plugin).
    #[arg(long, value_name = "NAME", default_value = "dockgate")]
    plugin: String,
    /// The gate's policy, whose expectations of the daemon are checked
    /// (BuildKit's entitlements, the registries it allows) [default:
    /// /etc/dockgate/policy.toml if it exists, else the baseline profile].
    #[arg(long, value_name = "FILE")]
    policy: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
    /// Give up after this many seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 30)]
    timeout: u64,
    /// Append a record to this audit log when the findings differ from
    /// the last audit's (kept in --state): for a timer that runs the audit.
    #[arg(long, value_name = "PATH")]
    audit_log: Option<PathBuf>,
    /// Also send that record to syslog: unix:///dev/log, udp://host:514 or tcp://host:601.
    #[arg(long, value_name = "URL")]
    syslog: Option<String>,
    /// Where the last audit's findings are kept, to tell a change.
    #[arg(
        long,
        value_name = "PATH",
        default_value = "/var/lib/dockgate/audit-state"
    )]
    state: PathBuf,
}

/// Audits the host; exits as scan does: 1 (or CRITICAL) when a critical
/// check fails, UNKNOWN (3) for nagios when the audit cannot run.
pub fn run(args: AuditArgs) -> Result<ExitCode> {
    let format = args.format;
    match report(&args) {
        Ok(report) => {
            if args.audit_log.is_some() || args.syslog.is_some() {
                record_change(&args, &report)?;
            }
            Ok(show(&report, format))
        }
        Err(err) if format == Format::Nagios => {
            let (out, state) = nagios::unknown(&format!("{err:#}"));
            print!("{out}");
            Ok(ExitCode::from(state.code()))
        }
        Err(err) => Err(err),
    }
}

fn report(args: &AuditArgs) -> Result<ScanReport> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let (policy, _) = crate::load_policy(args.policy.as_deref())?;
    let mut host = runtime.block_on(async {
        let marker = args.daemon.marker();
        let work = daemon_host(&args.daemon.docker_host, marker.as_deref(), &args.plugin);
        match tokio::time::timeout(std::time::Duration::from_secs(args.timeout), work).await {
            Ok(found) => found.map_err(anyhow::Error::from),
            Err(_) => bail!("timed out after {}s", args.timeout),
        }
    })?;
    host.expected = policy.expected_of_daemon();
    let mut report = ScanReport {
        checks: Vec::new(),
        time: dockgate_outputs::audit::now_rfc3339(),
        policy_hash: "host-audit".to_string(),
        rules: Vec::new(),
        containers: Vec::new(),
    };
    add_host(&mut report, &host);
    Ok(report)
}

/// Adds the host, as the audit judges it, to a report: one more subject,
/// first, and every check.
pub(crate) fn add_host(report: &mut ScanReport, host: &dockgate_model::host::DaemonHost) {
    let subject = ContainerResult::host(
        host.address.clone(),
        if host.name.is_empty() {
            "host".to_string()
        } else {
            host.name.clone()
        },
        format!("dockerd {}", host.version),
        audit(host),
    );
    report.containers.insert(0, subject);
    report.checks = CHECKS.iter().map(|c| c.rule()).collect();
}

/// What the audit found, one line per finding, in a stable order: the
/// state compared from one audit to the next.
fn fingerprint(report: &ScanReport) -> String {
    let mut lines: Vec<String> = report
        .findings()
        .map(|(c, f)| format!("{}\t{}\t{}\t{}\n", c.id, f.rule, f.action.name(), f.message))
        .collect();
    lines.sort();
    lines.concat()
}

/// Writes a record to the audit log (and syslog) when the findings
/// changed since the last audit, and keeps them for the next.
fn record_change(args: &AuditArgs, report: &ScanReport) -> Result<()> {
    let now = fingerprint(report);
    let before = std::fs::read_to_string(&args.state).ok();
    if before.as_deref() == Some(now.as_str()) {
        return Ok(());
    }
    let mut log = dockgate_outputs::AuditLog::open(args.audit_log.as_deref(), false)
        .with_context(|| format!("cannot open audit log {:?}", args.audit_log))?;
    if let Some(url) = &args.syslog {
        let target = dockgate_outputs::syslog::Target::parse(url)?;
        log = log.with_syslog(dockgate_outputs::syslog::Syslog::start(target));
    }
    for host in &report.containers {
        let record = dockgate_outputs::AuditRecord::host_audit(&host.id, &host.verdict);
        log.write(&record)?;
    }
    log.finish();
    if let Some(dir) = args.state.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    std::fs::write(&args.state, now)
        .with_context(|| format!("cannot keep the audit's state in {}", args.state.display()))?;
    Ok(())
}

fn show(report: &ScanReport, format: Format) -> ExitCode {
    match format {
        Format::Text => print!("{}", text::render(report)),
        Format::Json => print!("{}", json::render(report)),
        Format::Nagios => {
            let thresholds = Thresholds::default();
            let (out, state) = nagios::render(report, &thresholds);
            print!("{out}");
            return ExitCode::from(state.code());
        }
    }
    if report.violating() > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
