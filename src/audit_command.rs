//! `dockgate audit`: the host and the daemon, and whether the gate is
//! really in front of it.

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
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
    /// Give up after this many seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 30)]
    timeout: u64,
}

/// Audits the host; exits as scan does: 1 (or CRITICAL) when a critical
/// check fails, UNKNOWN (3) for nagios when the audit cannot run.
pub fn run(args: AuditArgs) -> Result<ExitCode> {
    let format = args.format;
    match report(&args) {
        Ok(report) => Ok(show(&report, format)),
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
    let host = runtime.block_on(async {
        let marker = args.daemon.marker();
        let work = daemon_host(&args.daemon.docker_host, marker.as_deref(), &args.plugin);
        match tokio::time::timeout(std::time::Duration::from_secs(args.timeout), work).await {
            Ok(found) => found.map_err(anyhow::Error::from),
            Err(_) => bail!("timed out after {}s", args.timeout),
        }
    })?;
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
    let subject = ContainerResult::running(
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
