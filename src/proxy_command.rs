//! `dockgate proxy`: a filtering Docker API socket per identity.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use dockgate_engine::DockerLookup;
use dockgate_gate::policy_file;
use dockgate_gate::proxy::{Proxy, ProxySocket};
use dockgate_gate::Gate;
use dockgate_outputs::AuditLog;

/// `dockgate proxy`'s arguments.
#[derive(clap::Args)]
pub struct ProxyArgs {
    /// Policy file whose identities with `socket = "..."` are served
    /// [default: /etc/dockgate/policy.toml].
    #[arg(long, value_name = "FILE")]
    policy: Option<PathBuf>,
    /// The daemon (its Unix socket: allowed requests go there).
    #[command(flatten)]
    daemon: crate::DaemonClient,
    /// Also append audit records to this file.
    #[arg(long, value_name = "PATH")]
    audit_log: Option<PathBuf>,
}

/// Serves every identity's proxy socket until SIGTERM or SIGINT.
pub fn proxy(args: ProxyArgs) -> Result<ExitCode> {
    crate::log_to_stderr();
    let docker_host = &args.daemon.docker_host;
    let Some(daemon) = docker_host.strip_prefix("unix://").map(PathBuf::from) else {
        bail!(
            "--docker-host {docker_host}: the proxy forwards to the daemon's Unix socket (unix:///var/run/docker.sock)"
        );
    };
    let (policy, file) = crate::load_policy(args.policy.as_deref())?;
    let sockets: Vec<ProxySocket> = policy
        .proxy_sockets()
        .into_iter()
        .map(|(path, identity)| ProxySocket {
            path: path.into(),
            identity,
        })
        .collect();
    if sockets.is_empty() {
        bail!(
            "the policy names no proxy socket: add an identity with socket = \"/run/dockgate/NAME.sock\" (see docs/identities.md)"
        );
    }
    let marker = args.daemon.marker();
    let mut lookup = DockerLookup::connect(docker_host)?;
    if let Some(marker) = &marker {
        lookup = lookup.with_marker(marker);
    }
    let mut gate = Gate::new(policy, lookup);
    if let Some(marker) = &marker {
        gate = gate.with_marker(marker);
    }
    let (audit, opened) = AuditLog::open_or_retry(args.audit_log.as_deref(), true);
    if let Err(err) = opened {
        tracing::error!(error = %err, "audit log not open; retrying on each record");
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let served = runtime.block_on(async move {
        let gate = Arc::new(gate);
        for socket in &sockets {
            tracing::info!(socket = %socket.path.display(), identity = socket.identity, hash = gate.policy().hash(), "dockgate proxy listening");
        }
        // The sockets are fixed at start; the rest of the policy follows
        // the file.
        let _follower = policy_file::follow(gate.clone(), file, policy_file::Timing::default());
        let proxy = Arc::new(Proxy::new(gate, Arc::new(audit), daemon));
        proxy.serve(sockets, crate::shutdown_signal()).await?;
        tracing::info!("dockgate proxy stopped");
        anyhow::Ok(ExitCode::SUCCESS)
    });
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    served
}
