//! The patrol: judges containers that already exist with the gate's policy
//! and rules, reports them, and can stop or remove the violating ones.
//!
//! [`scan`] looks at every container once; [`watch`] follows the daemon's
//! events and judges each container as it is created or started.

mod judge;
mod watch;

use std::sync::Arc;
use std::time::Duration;

use dockgate_engine::{Engine, EngineError};
use dockgate_outputs::audit::now_rfc3339;
use dockgate_outputs::{
    AuditLog, AuditRecord, ContainerResult, Remediation, RemediationOutcome, ScanReport,
};
use dockgate_rules::{Action, Policy, RuleId};
use tokio::task::JoinSet;

pub use judge::{judge_container, judge_exec};
pub use watch::{watch, WatchOptions};

/// What to do about violating containers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Remediate {
    /// Report only.
    #[default]
    None,
    /// Stop them.
    Stop,
    /// Stop and remove them (their volumes stay).
    Remove,
}

/// How to scan.
#[derive(Debug, Clone, Default)]
pub struct ScanOptions {
    /// Every container, not only running ones.
    pub all: bool,
    /// `docker ps --filter` pairs.
    pub filters: Vec<(String, String)>,
    /// What to do about violations.
    pub remediate: Remediate,
    /// Only say what would be done.
    pub dry_run: bool,
    /// How long a stopped container gets before it is killed.
    pub grace: Duration,
}

/// How many containers are inspected at once.
const CONCURRENCY: usize = 16;

/// The rules a policy evaluates.
pub fn evaluated_rules(policy: &Policy) -> Vec<RuleId> {
    RuleId::ALL
        .iter()
        .copied()
        .filter(|r| policy.effective_action(*r) != Action::Off)
        .collect()
}

/// Judges every listed container, then remediates.
pub async fn scan(
    engine: Arc<Engine>,
    policy: Arc<Policy>,
    options: &ScanOptions,
    audit: &AuditLog,
) -> Result<ScanReport, EngineError> {
    let cgroup_v1 = engine.cgroup_v1().await?;
    let listed = engine.list(options.all, &options.filters).await?;
    let mut tasks = JoinSet::new();
    let mut results: Vec<Option<ContainerResult>> = vec![None; listed.len()];
    let mut next = 0;
    while next < listed.len() || !tasks.is_empty() {
        while next < listed.len() && tasks.len() < CONCURRENCY {
            let (engine, policy, id) = (engine.clone(), policy.clone(), listed[next].id.clone());
            let index = next;
            tasks.spawn(async move {
                (
                    index,
                    judge_container(&engine, &policy, &id, cgroup_v1).await,
                )
            });
            next += 1;
        }
        if let Some(joined) = tasks.join_next().await {
            let (index, result) = joined.map_err(|e| EngineError::Api {
                what: "a container check".into(),
                detail: e.to_string(),
            })?;
            // A container removed while being scanned is simply gone.
            results[index] = result?;
        }
    }
    let mut containers: Vec<ContainerResult> = results.into_iter().flatten().collect();
    for container in containers.iter_mut() {
        container.remediation = remediate(&engine, &policy, container, options, audit).await;
    }
    Ok(ScanReport {
        checks: Vec::new(),
        time: now_rfc3339(),
        policy_hash: policy.hash().to_string(),
        rules: evaluated_rules(&policy),
        containers,
    })
}

/// Stops or removes a container with deny-level findings, as configured.
/// Exempted and warn-level findings never lead here.
pub async fn remediate(
    engine: &Engine,
    policy: &Policy,
    container: &ContainerResult,
    options: &ScanOptions,
    audit: &AuditLog,
) -> Option<Remediation> {
    if !container.violates() {
        return None;
    }
    let action = match options.remediate {
        Remediate::None => return None,
        Remediate::Stop => "stop",
        Remediate::Remove => "remove",
    };
    let outcome = if options.dry_run {
        RemediationOutcome::DryRun
    } else {
        let done = match options.remediate {
            Remediate::Stop => engine.stop(&container.id, options.grace).await,
            _ => engine.remove(&container.id).await,
        };
        match done {
            Ok(()) => RemediationOutcome::Done,
            Err(e) => RemediationOutcome::Failed(e.to_string()),
        }
    };
    let logged = match &outcome {
        RemediationOutcome::DryRun => format!("dry-run {action}"),
        RemediationOutcome::Failed(_) => format!("failed {action}"),
        RemediationOutcome::Done => action.to_string(),
    };
    let record = AuditRecord::patrol(
        &logged,
        &container.name,
        &container.image,
        &container.verdict,
        policy.hash(),
    );
    // The remediation is done either way; the failure is the operator's
    // to see.
    if let Err(err) = audit.write(&record) {
        tracing::error!(error = %err, container = %container.name, "audit record lost");
    }
    Some(Remediation { action, outcome })
}
