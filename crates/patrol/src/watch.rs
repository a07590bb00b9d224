//! `dockgate watch`: judge containers as the daemon creates and starts
//! them, and exec sessions as they open; rescan everything periodically;
//! reconnect when the daemon restarts.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use dockgate_engine::{Engine, EngineError};
use dockgate_outputs::escape::{self, line};
use dockgate_outputs::{AuditLog, ContainerResult};
use dockgate_rules::Policy;
use futures_util::StreamExt;

use crate::{judge_container, judge_exec, remediate, scan, ScanOptions};

/// How to watch.
#[derive(Debug, Clone)]
pub struct WatchOptions {
    /// The daemon.
    pub docker_host: String,
    /// The gate's secret for dockgate's own reads, sent with every request.
    pub marker: Option<String>,
    /// Filters, remediation and grace, as for a scan. `all` applies to the
    /// periodic scans.
    pub scan: ScanOptions,
    /// How often to scan everything again.
    pub rescan: Duration,
}

const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// Watches until `shutdown` completes.
pub async fn watch(
    options: WatchOptions,
    policy: Arc<Policy>,
    audit: Arc<AuditLog>,
    shutdown: impl Future<Output = ()>,
) {
    tokio::pin!(shutdown);
    let mut backoff = Duration::from_secs(1);
    loop {
        let session = session(&options, &policy, &audit, &mut backoff);
        tokio::select! {
            _ = &mut shutdown => return,
            result = session => {
                let err = match result {
                    Ok(()) => "the daemon closed the event stream".to_string(),
                    Err(e) => e.to_string(),
                };
                tracing::warn!(error = %err, retry_in_ms = backoff.as_millis() as u64, "lost the Docker daemon; reconnecting");
            }
        }
        tokio::select! {
            _ = &mut shutdown => return,
            _ = tokio::time::sleep(backoff) => {}
        }
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

async fn session(
    options: &WatchOptions,
    policy: &Arc<Policy>,
    audit: &AuditLog,
    backoff: &mut Duration,
) -> Result<(), EngineError> {
    let engine = Arc::new(Engine::connect(&options.docker_host, options.marker.as_deref()).await?);
    let cgroup_v1 = engine.cgroup_v1().await?;
    // Subscribe before the first scan, so nothing falls between them.
    let mut events = Box::pin(engine.events().await?);
    *backoff = Duration::from_secs(1);
    tracing::info!(docker_host = %options.docker_host, "connected; scanning");
    full_scan(&engine, policy, &options.scan, audit).await?;
    let mut rescan = tokio::time::interval(options.rescan);
    rescan.tick().await;
    loop {
        tokio::select! {
            event = events.next() => {
                let event = match event {
                    None => return Ok(()),
                    Some(event) => event?,
                };
                let judged = match event.action.as_str() {
                    "create" | "start" | "restart" | "unpause" => {
                        judge_container(&engine, policy, &event.container, cgroup_v1).await?
                    }
                    "exec_create" | "exec_start" => match &event.exec_id {
                        Some(exec) => judge_exec(&engine, policy, exec).await?,
                        None => None,
                    },
                    _ => None,
                };
                if let Some(result) = judged {
                    act(&engine, policy, result, &options.scan, audit, &event).await;
                }
            }
            _ = rescan.tick() => full_scan(&engine, policy, &options.scan, audit).await?,
        }
    }
}

async fn full_scan(
    engine: &Arc<Engine>,
    policy: &Arc<Policy>,
    options: &ScanOptions,
    audit: &AuditLog,
) -> Result<(), EngineError> {
    let report = scan(engine.clone(), policy.clone(), options, audit).await?;
    for container in &report.containers {
        log_findings(container, "scan");
    }
    tracing::info!(
        containers = report.containers.len(),
        violating = report.violating(),
        "{}",
        dockgate_outputs::text::summary(&report)
    );
    Ok(())
}

async fn act(
    engine: &Engine,
    policy: &Policy,
    mut result: ContainerResult,
    options: &ScanOptions,
    audit: &AuditLog,
    event: &dockgate_engine::Event,
) {
    log_findings(&result, &event.action);
    result.remediation = remediate(engine, policy, &result, options, audit).await;
    if let Some(r) = &result.remediation {
        // From the daemon's event to the end of the remediation: the figure
        // operators watch for "stopped within a second".
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as i64)
            .unwrap_or_default();
        let latency_ms = (now - event.time_nano).max(0) as f64 / 1e6;
        tracing::warn!(
            container = %result.name,
            id = %result.id,
            action = r.action,
            outcome = ?r.outcome,
            trigger = %event.action,
            latency_ms,
            "remediated"
        );
    }
}

fn log_findings(result: &ContainerResult, trigger: &str) {
    let findings: Vec<_> = result.live_findings().collect();
    for f in findings.iter().take(escape::LOGGED_FINDINGS) {
        // What the container's creator wrote, escaped: the log may be
        // read in a terminal.
        tracing::warn!(
            container = %line(&result.name),
            id = %result.id,
            image = %line(&result.image),
            rule = %line(f.rule.id()),
            action = f.action.name(),
            field = %line(&f.field),
            trigger,
            "{}",
            line(&f.message)
        );
    }
    if let Some(more) = findings
        .len()
        .checked_sub(escape::LOGGED_FINDINGS)
        .filter(|n| *n > 0)
    {
        tracing::warn!(container = %line(&result.name), id = %result.id, "{more} more findings (scan --filter id={} lists them all)", result.id);
    }
}
