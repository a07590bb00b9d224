//! `dockgate scan` and `dockgate watch`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use dockgate_engine::Engine;
use dockgate_outputs::nagios::{self, Range, Thresholds};
use dockgate_outputs::{json, text, AuditLog};
use dockgate_patrol::{Remediate, ScanOptions, WatchOptions};

use crate::load_policy;

/// Report formats of `scan`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// An aligned table.
    Text,
    /// The `dockgate.scan/v1` JSON document.
    Json,
    /// Monitoring Plugins output for Icinga and Nagios.
    Nagios,
}

/// What to do about violating containers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum RemediateArg {
    /// Report only.
    None,
    /// Stop them.
    Stop,
    /// Stop and remove them; volumes stay.
    Remove,
}

impl From<RemediateArg> for Remediate {
    fn from(arg: RemediateArg) -> Self {
        match arg {
            RemediateArg::None => Remediate::None,
            RemediateArg::Stop => Remediate::Stop,
            RemediateArg::Remove => Remediate::Remove,
        }
    }
}

/// Options shared by `scan` and `watch`.
#[derive(clap::Args, Debug)]
pub struct PatrolArgs {
    /// Policy file [default: /etc/dockgate/policy.toml if it exists, else the baseline profile].
    #[arg(long, value_name = "FILE")]
    policy: Option<PathBuf>,
    #[command(flatten)]
    daemon: crate::DaemonClient,
    /// Only containers matching, as `docker ps --filter` (label=..., name=..., id=...).
    #[arg(long = "filter", value_name = "KEY=VALUE")]
    filters: Vec<String>,
    /// What to do about containers with deny-level findings.
    #[arg(long, value_enum, default_value = "none")]
    remediate: RemediateArg,
    /// Print what would be done, and do nothing.
    #[arg(long)]
    dry_run: bool,
    /// How long a container gets to stop before it is killed.
    #[arg(long, value_name = "DUR", default_value = "0s", value_parser = parse_duration)]
    grace: Duration,
    /// Append audit records of remediations to this file.
    #[arg(long, value_name = "PATH")]
    audit_log: Option<PathBuf>,
}

/// `dockgate scan`.
#[derive(clap::Args, Debug)]
pub struct ScanArgs {
    #[command(flatten)]
    patrol: PatrolArgs,
    /// Every container, not only running ones.
    #[arg(long)]
    all: bool,
    /// Audit the host and the daemon too (`dockgate audit`), as one more
    /// subject of the report, for a gate known to the daemon by this name.
    #[arg(long, value_name = "PLUGIN", num_args = 0..=1, default_missing_value = "dockgate")]
    host: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
    /// Give up after this long (UNKNOWN in nagios format); a bare number
    /// is seconds, as monitoring plugins take it.
    #[arg(short = 't', long, value_name = "DUR", default_value = "30s", value_parser = parse_duration)]
    timeout: Duration,
    /// Nagios warning range for the number of violating containers; empty
    /// means unset, so that `check_dockgate!!0` works.
    #[arg(short = 'w', long = "warning", value_name = "RANGE")]
    warning: Option<String>,
    /// Nagios critical range for the number of violating containers
    /// [default: 0, also when empty].
    #[arg(short = 'c', long = "critical", value_name = "RANGE")]
    critical: Option<String>,
}

/// `dockgate watch`.
#[derive(clap::Args, Debug)]
pub struct WatchArgs {
    #[command(flatten)]
    patrol: PatrolArgs,
    /// Scan every container again this often.
    #[arg(long, value_name = "DUR", default_value = "5m", value_parser = parse_duration)]
    rescan: Duration,
}

/// Parses `500ms`, `30s`, `5m`, `1h` or a number of seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (number, unit) = match text.find(|c: char| !(c.is_ascii_digit() || c == '.')) {
        Some(i) => text.split_at(i),
        None => (text, "s"),
    };
    let value: f64 = number
        .parse()
        .map_err(|_| format!("invalid duration {text:?}: expected e.g. 500ms, 30s, 5m, 1h"))?;
    let seconds = match unit {
        "ms" => value / 1000.0,
        "s" => value,
        "m" => value * 60.0,
        "h" => value * 3600.0,
        _ => return Err(format!("invalid duration {text:?}: unknown unit {unit:?}")),
    };
    Ok(Duration::from_secs_f64(seconds))
}

fn parse_filters(filters: &[String]) -> Result<Vec<(String, String)>> {
    filters
        .iter()
        .map(|f| match f.split_once('=') {
            Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
            _ => Err(anyhow!("invalid --filter {f:?}: expected KEY=VALUE")),
        })
        .collect()
}

impl PatrolArgs {
    fn options(&self, all: bool) -> Result<ScanOptions> {
        Ok(ScanOptions {
            all,
            filters: parse_filters(&self.filters)?,
            remediate: self.remediate.into(),
            dry_run: self.dry_run,
            grace: self.grace,
        })
    }
}

/// Runs a scan; returns the exit code. Errors are reported in the
/// requested format: UNKNOWN (3) for nagios, exit 2 otherwise.
pub fn scan(args: ScanArgs) -> Result<ExitCode> {
    let format = args.format;
    match run_scan(args) {
        Ok(code) => Ok(code),
        Err(err) if format == Format::Nagios => {
            let (out, state) = nagios::unknown(&format!("{err:#}"));
            print!("{out}");
            Ok(ExitCode::from(state.code()))
        }
        Err(err) => Err(err),
    }
}

fn run_scan(args: ScanArgs) -> Result<ExitCode> {
    fn set(range: &Option<String>) -> Option<&str> {
        range.as_deref().filter(|r| !r.trim().is_empty())
    }
    let thresholds = Thresholds {
        warning: set(&args.warning).map(Range::parse).transpose()?,
        critical: match set(&args.critical) {
            Some(c) => Range::parse(c)?,
            None => Thresholds::default().critical,
        },
    };
    let (policy, _) = load_policy(args.patrol.policy.as_deref())?;
    let options = args.patrol.options(args.all)?;
    let audit = AuditLog::open(args.patrol.audit_log.as_deref(), false)
        .with_context(|| format!("cannot open audit log {:?}", args.patrol.audit_log))?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let docker_host = args.patrol.daemon.docker_host.clone();
    let marker = args.patrol.daemon.marker();
    let timeout = args.timeout;
    let host = args.host.clone();
    let expected = policy.expected_of_daemon();
    let report = runtime.block_on(async move {
        let work = async {
            let engine = Arc::new(Engine::connect(&docker_host, marker.as_deref()).await?);
            let mut report =
                dockgate_patrol::scan(engine, Arc::new(policy), &options, &audit).await?;
            if let Some(plugin) = &host {
                let mut facts =
                    dockgate_engine::daemon_host(&docker_host, marker.as_deref(), plugin).await?;
                facts.expected = expected;
                crate::audit_command::add_host(&mut report, &facts);
            }
            Ok::<_, dockgate_engine::EngineError>(report)
        };
        match tokio::time::timeout(timeout, work).await {
            Ok(result) => result.map_err(anyhow::Error::from),
            Err(_) => bail!("timed out after {}s", timeout.as_secs_f64()),
        }
    })?;
    let failed = report.violating() > 0;
    match args.format {
        Format::Text => print!("{}", text::render(&report)),
        Format::Json => print!("{}", json::render(&report)),
        Format::Nagios => {
            let (out, state) = nagios::render(&report, &thresholds);
            print!("{out}");
            return Ok(ExitCode::from(state.code()));
        }
    }
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// Runs the watcher until SIGTERM or SIGINT.
pub fn watch(args: WatchArgs) -> Result<ExitCode> {
    tracing_subscriber::fmt()
        .json()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("DOCKGATE_LOG")
                .unwrap_or_else(|_| "info".into()),
        )
        .init();
    let (policy, policy_file) = load_policy(args.patrol.policy.as_deref())?;
    let options = WatchOptions {
        docker_host: args.patrol.daemon.docker_host.clone(),
        marker: args.patrol.daemon.marker(),
        scan: args.patrol.options(true)?,
        rescan: args.rescan,
    };
    let audit = AuditLog::open(args.patrol.audit_log.as_deref(), true)
        .with_context(|| format!("cannot open audit log {:?}", args.patrol.audit_log))?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async move {
        tracing::info!(
            policy = policy_file
                .source()
                .map(|p| p.display().to_string())
                .unwrap_or_else(|| "built-in baseline".into()),
            hash = policy.hash(),
            "dockgate watch starting"
        );
        dockgate_patrol::watch(
            options,
            Arc::new(policy),
            Arc::new(audit),
            crate::shutdown_signal(),
        )
        .await;
        tracing::info!("dockgate watch stopped");
    });
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("30s").unwrap(), Duration::from_secs(30));
        assert_eq!(parse_duration("5m").unwrap(), Duration::from_secs(300));
        assert_eq!(parse_duration("10").unwrap(), Duration::from_secs(10));
        assert_eq!(
            parse_duration("5 days").unwrap_err(),
            "invalid duration \"5 days\": unknown unit \" days\""
        );
        assert_eq!(
            parse_duration("x").unwrap_err(),
            "invalid duration \"x\": expected e.g. 500ms, 30s, 5m, 1h"
        );
    }

    #[test]
    fn filters() {
        assert_eq!(
            parse_filters(&["label=a=b".into(), "name=web".into()]).unwrap(),
            [
                ("label".to_string(), "a=b".to_string()),
                ("name".into(), "web".into())
            ]
        );
        assert_eq!(
            parse_filters(&["web".into()]).unwrap_err().to_string(),
            "invalid --filter \"web\": expected KEY=VALUE"
        );
    }
}
