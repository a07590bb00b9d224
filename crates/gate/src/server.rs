//! The plugin's HTTP server on a Unix socket.
//!
//! Docker speaks the plugin protocol as JSON POSTs: `/Plugin.Activate`,
//! `/AuthZPlugin.AuthZReq` and `/AuthZPlugin.AuthZRes`. Concurrency is
//! bounded with two budgets: requests that need daemon look-ups, and the
//! rest. The look-ups themselves come back to the gate as GET requests,
//! which draw from the second budget, so the first can never deadlock
//! waiting on its own look-ups.
//!
//! Nothing waits without bound: a request waits for a slot only within its
//! decision's time and only behind a bounded queue, connections are capped
//! and must send their request promptly, and a failing accept backs off.

use std::future::Future;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use dockgate_inputs::authz::{AuthzRequest, AuthzResponse, AuthzResponseCall, PLUGIN_JSON};
use dockgate_inputs::resolve::DaemonLookup;
use dockgate_rules::Verdict;
use futures_util::FutureExt;
use serde::Serialize;
use tokio::net::UnixListener;
use tokio::sync::{Semaphore, SemaphorePermit};
use tokio::time::Instant;

use crate::decide::{Gate, Need, DECISION_TIME};
use crate::throttle::Throttled;
use dockgate_outputs::{escape, AuditError, AuditLog, AuditRecord, Denial};

/// Limits of the server.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Requests deciding at once that may need daemon look-ups.
    pub lookups: usize,
    /// Requests deciding at once that need none.
    pub plain: usize,
    /// Requests that may wait for a slot, in each budget; more are refused
    /// at once rather than queued behind a slow daemon.
    pub waiting: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            lookups: 64,
            plain: 256,
            waiting: 256,
        }
    }
}

/// What the gate does when a record cannot be written to the audit file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AuditFailure {
    /// Decide as if it had been written; count and log the failure. The
    /// record still reaches stdout (journald) and syslog.
    #[default]
    Continue,
    /// Deny the request whose record was lost: nothing happens unrecorded.
    Deny,
}

impl std::str::FromStr for AuditFailure {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "continue" => Ok(AuditFailure::Continue),
            "deny" => Ok(AuditFailure::Deny),
            other => Err(format!("{other:?}: expected deny or continue")),
        }
    }
}

/// The audit log, and what a failure to write it does.
pub struct AuditTrail {
    /// Where records go.
    pub log: Arc<AuditLog>,
    /// What a record that does not reach the file does.
    pub on_failure: AuditFailure,
    /// Which decisions are recorded.
    pub level: AuditLevel,
}

/// Which decisions the gate records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AuditLevel {
    /// Every decision.
    #[default]
    All,
    /// Every decision but allowed reads without findings (GET and HEAD:
    /// pings, lists, logs), which are most of the traffic. Inspects are
    /// kept: they show a container's environment.
    Changes,
}

impl std::str::FromStr for AuditLevel {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "all" => Ok(AuditLevel::All),
            "changes" => Ok(AuditLevel::Changes),
            other => Err(format!("{other:?}: expected all or changes")),
        }
    }
}

impl AuditLevel {
    /// Whether a decision is recorded at this level.
    fn records(self, record: &AuditRecord, verdict: &Verdict) -> bool {
        self == AuditLevel::All
            || !verdict.allowed()
            || !verdict.findings.is_empty()
            || !matches!(record.method.to_ascii_uppercase().as_str(), "GET" | "HEAD")
            // What shows a container's environment and command lines.
            || matches!(record.endpoint.as_str(), "container.inspect" | "exec.inspect")
    }
}

/// A concurrency budget: so many deciding at once, so many waiting.
struct Budget {
    slots: Semaphore,
    waiting: AtomicUsize,
    max_waiting: usize,
}

/// Why a request got no slot.
#[derive(Debug, thiserror::Error)]
enum Busy {
    #[error("dockgate is overloaded: {0} requests already wait for a slot; retry shortly")]
    Queue(usize),
    #[error("dockgate is overloaded: no slot came free within {}s", DECISION_TIME.as_secs())]
    Waited,
    #[error("the gate is shutting down")]
    Closing,
}

impl Budget {
    fn new(slots: usize, max_waiting: usize) -> Budget {
        Budget {
            slots: Semaphore::new(slots.max(1)),
            waiting: AtomicUsize::new(0),
            max_waiting,
        }
    }

    /// A slot, at once or by the deadline, unless too many already wait.
    async fn enter(&self, deadline: Instant) -> Result<SemaphorePermit<'_>, Busy> {
        match self.slots.try_acquire() {
            Ok(permit) => return Ok(permit),
            Err(tokio::sync::TryAcquireError::Closed) => return Err(Busy::Closing),
            Err(tokio::sync::TryAcquireError::NoPermits) => {}
        }
        let ahead = self.waiting.fetch_add(1, Ordering::AcqRel);
        // Counted out however the wait ends, the future dropped included.
        let _queued = Queued(&self.waiting);
        if ahead >= self.max_waiting {
            return Err(Busy::Queue(self.max_waiting));
        }
        match tokio::time::timeout_at(deadline, self.slots.acquire()).await {
            // A slot with no time left to decide in is no slot.
            Ok(Ok(_)) if Instant::now() + TIME_TO_DECIDE >= deadline => Err(Busy::Waited),
            Ok(Ok(permit)) => Ok(permit),
            Ok(Err(_)) => Err(Busy::Closing),
            Err(_) => Err(Busy::Waited),
        }
    }
}

/// The least time worth starting a decision with after waiting for a slot.
const TIME_TO_DECIDE: Duration = Duration::from_millis(100);

struct Queued<'a>(&'a AtomicUsize);

impl Drop for Queued<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

struct Shared<L> {
    gate: Arc<Gate<L>>,
    audit: AuditTrail,
    lookups: Budget,
    plain: Budget,
}

fn reply<T: Serialize>(body: &T) -> Response {
    match serde_json::to_vec(body) {
        // `Server` tells the host audit that the socket the daemon asks is
        // dockgate's, not another plugin put in its place.
        Ok(bytes) => (
            [
                (header::CONTENT_TYPE, PLUGIN_JSON),
                (header::SERVER, SERVER),
            ],
            bytes,
        )
            .into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

/// The `Server` header of every answer.
const SERVER: &str = concat!("dockgate/", env!("CARGO_PKG_VERSION"));

/// The plugin's routes, for serving or for tests.
pub fn router<L: DaemonLookup + 'static>(
    gate: Arc<Gate<L>>,
    audit: AuditTrail,
    limits: Limits,
) -> Router {
    let shared = Arc::new(Shared {
        gate,
        audit,
        lookups: Budget::new(limits.lookups, limits.waiting),
        plain: Budget::new(limits.plain, limits.waiting),
    });
    Router::new()
        .route("/Plugin.Activate", post(activate))
        .route("/AuthZPlugin.AuthZReq", post(authz_request::<L>))
        .route("/AuthZPlugin.AuthZRes", post(authz_response::<L>))
        // New daemons forward bodies up to 4 MiB, base64-encoded in the
        // request; leave room for that.
        .layer(DefaultBodyLimit::max(16 << 20))
        .with_state(shared)
}

async fn activate() -> Response {
    reply(&serde_json::json!({ "Implements": ["authz"] }))
}

/// Answers allow. The daemon sends the whole response it is about to
/// return, which can be large: it is read and dropped frame by frame (never
/// buffered, never refused for its size), so that the connection stays
/// usable for the daemon's next request. A small one that reports a
/// container created is kept long enough for the gate to learn from it.
async fn authz_response<L: DaemonLookup + 'static>(
    State(shared): State<Arc<Shared<L>>>,
    body: axum::body::Body,
) -> Response {
    use futures_util::StreamExt;
    let mut frames = body.into_data_stream();
    let mut kept = Vec::new();
    let mut keep = true;
    let deadline = Instant::now() + BODY_TIME;
    while let Ok(Some(frame)) = tokio::time::timeout_at(deadline, frames.next()).await {
        let Ok(frame) = frame else {
            keep = false;
            break;
        };
        if keep && kept.len() + frame.len() <= LEARN_LIMIT {
            kept.extend_from_slice(&frame);
        } else {
            keep = false;
            kept = Vec::new();
        }
    }
    if keep && reports_a_create(&kept) {
        if let Ok(call) = serde_json::from_slice::<AuthzResponseCall>(&kept) {
            // Learning is an optimisation: a bug in it must not cost the
            // daemon its answer.
            let learned =
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| shared.gate.learn(&call)));
            if learned.is_err() {
                tracing::error!("learning from a create's response failed");
            }
        }
    }
    reply(&AuthzResponse {
        allow: true,
        msg: String::new(),
        err: String::new(),
    })
}

/// Create calls carry a body of a few KiB; larger answers are never kept.
const LEARN_LIMIT: usize = 256 << 10;

/// A cheap look at the head of the JSON (Go writes `RequestMethod` and
/// `RequestURI` first) before parsing anything.
fn reports_a_create(body: &[u8]) -> bool {
    let head = &body[..body.len().min(2048)];
    let has = |needle: &[u8]| head.windows(needle.len()).any(|w| w == needle);
    has(b"\"RequestMethod\":\"POST\"") && has(b"/containers/create")
}

/// How long the daemon may take to send a request's body: it sends it
/// whole at once, so only a stuck or hostile client is slower.
const BODY_TIME: Duration = Duration::from_secs(10);

/// The largest AuthZ request read: new daemons forward bodies up to 4 MiB,
/// base64-encoded in the request.
const REQUEST_LIMIT: usize = 16 << 20;

async fn authz_request<L: DaemonLookup + 'static>(
    State(shared): State<Arc<Shared<L>>>,
    body: axum::body::Body,
) -> Response {
    let read = tokio::time::timeout(BODY_TIME, axum::body::to_bytes(body, REQUEST_LIMIT)).await;
    let body = match read {
        Ok(Ok(body)) => body,
        Ok(Err(err)) => return unreadable_call(&shared, &err),
        Err(_) => {
            let detail = format!(
                "the daemon's AuthZ request did not arrive whole within {}s",
                BODY_TIME.as_secs()
            );
            return failure(&shared, AuthzRequest::default(), Verdict::unjudged(detail));
        }
    };
    // The decision's time starts once the request is read: waiting for a
    // slot counts against it.
    let deadline = Instant::now() + DECISION_TIME;
    let request: AuthzRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(err) => return unreadable_call(&shared, &err),
    };
    let budget = match Gate::<L>::need(&request) {
        Need::Lookups => &shared.lookups,
        Need::Nothing => &shared.plain,
    };
    let _permit = match budget.enter(deadline).await {
        Ok(permit) => permit,
        Err(busy) => {
            shared.gate.metrics().shed();
            SHED.occurred(|unlogged| {
                tracing::warn!(reason = %busy, unlogged, "requests refused at once");
            });
            let summary = request.summary();
            return failure(&shared, summary, Verdict::unjudged(busy.to_string()));
        }
    };
    // A bug that panics while deciding still ends in a denial and an audit
    // record, never in an allow. Caught in place rather than in a task of
    // its own: a spawn per decision woke a parked worker thread for each
    // request, which cost more CPU than deciding a GET.
    let decided = std::panic::AssertUnwindSafe(shared.gate.decide_by(&request, None, deadline))
        .catch_unwind()
        .await;
    let (verdict, record) = match decided {
        Ok(decided) => decided,
        Err(panic) => {
            let why = panic_message(panic.as_ref());
            tracing::error!(error = %why, "deciding a request failed");
            let why = format!("internal error while deciding: {why}");
            return failure(&shared, request.summary(), Verdict::unjudged(why));
        }
    };
    let verdict = shared.keep(&record, verdict);
    if verdict.allowed() {
        // Bounded: one request can carry thousands of findings; the audit
        // record has them all.
        let live: Vec<_> = verdict
            .findings
            .iter()
            .filter(|f| f.exempted.is_none())
            .collect();
        for finding in live.iter().take(escape::LOGGED_FINDINGS) {
            tracing::warn!(rule = %escape::line(finding.rule.id()), action = finding.action.name(), endpoint = %escape::line(&record.endpoint), "{}", escape::line(&finding.message));
        }
        if let Some(more) = live
            .len()
            .checked_sub(escape::LOGGED_FINDINGS)
            .filter(|n| *n > 0)
        {
            tracing::warn!(endpoint = %escape::line(&record.endpoint), "{more} more findings (the audit record has them all)");
        }
        reply(&AuthzResponse {
            allow: true,
            msg: String::new(),
            err: String::new(),
        })
    } else {
        reply(&AuthzResponse {
            allow: false,
            msg: verdict.denial_message(),
            err: String::new(),
        })
    }
}

/// Denies a call whose AuthZ request could not be read at all.
fn unreadable_call<L: DaemonLookup>(shared: &Shared<L>, err: &dyn std::fmt::Display) -> Response {
    tracing::error!(error = %err, "unreadable AuthZ request from the daemon");
    let detail = format!("cannot read the daemon's AuthZ request: {err}");
    failure(shared, AuthzRequest::default(), Verdict::unreadable(detail))
}

/// What a caught panic says, as `std` prints it.
fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic without a message".to_string()
    }
}

/// Shed requests, logged at most once every ten seconds.
static SHED: Throttled = Throttled::new(Duration::from_secs(10));
/// Lost audit records, logged at most once every ten seconds.
static AUDIT_LOST: Throttled = Throttled::new(Duration::from_secs(10));

impl<L: DaemonLookup> Shared<L> {
    /// Writes the record of a decision; returns the verdict that stands.
    /// A record that does not reach the audit file is counted, and with
    /// [`AuditFailure::Deny`] turns an allow into a denial.
    fn keep(&self, record: &AuditRecord, verdict: Verdict) -> Verdict {
        if !self.audit.level.records(record, &verdict) {
            return verdict;
        }
        let deny = self.audit.on_failure == AuditFailure::Deny && verdict.allowed();
        // Stdout and syslog get the denial the daemon hears.
        let written = self.audit.log.write_or_replace(record, |err| {
            deny.then(|| record.clone().finish(&unrecorded(err)))
        });
        let Err(err) = written else {
            return verdict;
        };
        self.gate.metrics().audit_failure();
        AUDIT_LOST.occurred(|unlogged| {
            tracing::error!(error = %err, unlogged, on_failure = ?self.audit.on_failure, "audit record lost");
        });
        if deny {
            unrecorded(&err)
        } else {
            verdict
        }
    }
}

/// The denial of a request that was not recorded.
fn unrecorded(err: &AuditError) -> Verdict {
    Verdict::unjudged(format!(
        "{err}; nothing is allowed unrecorded (--audit-failure deny)"
    ))
}

/// Denies with dockgate's own failure, and records it.
fn failure<L: DaemonLookup>(
    shared: &Shared<L>,
    request: AuthzRequest,
    verdict: Verdict,
) -> Response {
    let record = AuditRecord::begin(&request, shared.gate.policy().hash()).finish(&verdict);
    let verdict = shared.keep(&record, verdict);
    let detail = verdict
        .denials()
        .map(|f| f.message.as_str())
        .collect::<Vec<_>>()
        .join("; ");
    let msg = format!("dockgate: denied: {}", escape::line(&detail));
    reply(&AuthzResponse {
        allow: false,
        msg: msg.clone(),
        err: msg,
    })
}

/// The metrics endpoint: `GET /metrics`.
pub fn metrics_router(metrics: Arc<crate::Metrics>) -> Router {
    Router::new().route(
        "/metrics",
        axum::routing::get(move |headers: axum::http::HeaderMap| {
            let metrics = metrics.clone();
            async move {
                let accept = headers.get(header::ACCEPT).and_then(|a| a.to_str().ok());
                let format = crate::metrics::Exposition::for_accept(accept);
                (
                    [(header::CONTENT_TYPE, format.content_type())],
                    metrics.render(format),
                )
            }
        }),
    )
}

/// Errors starting the server.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The socket could not be created.
    #[error("cannot listen on {path}: {source}")]
    Listen {
        /// The socket path.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The server stopped with an error.
    #[error("serving failed: {0}")]
    Serve(std::io::Error),
}

/// Binds the plugin socket, replacing a stale one, with owner-only access:
/// the daemon runs as root, and nobody else should speak for it.
pub fn bind(path: &Path) -> Result<UnixListener, ServeError> {
    bind_socket(path, 0o600).map_err(|source| ServeError::Listen {
        path: path.display().to_string(),
        source,
    })
}

/// Binds a Unix socket afresh (its directory made, a stale socket
/// replaced) with the permission bits `mode`.
pub(crate) fn bind_socket(path: &Path, mode: u32) -> std::io::Result<UnixListener> {
    use std::os::unix::fs::PermissionsExt;
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    match std::fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    let listener = UnixListener::bind(path)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))?;
    Ok(listener)
}

/// The listening socket passed by a service manager (systemd socket
/// activation: `LISTEN_PID` is this process and `LISTEN_FDS` is at least 1,
/// the socket being file descriptor 3), if there is one.
///
/// Call it before starting threads: it clears the `LISTEN_*` variables.
pub fn inherited_listener() -> Result<Option<std::os::unix::net::UnixListener>, ServeError> {
    let ours = std::env::var("LISTEN_PID")
        .ok()
        .and_then(|p| p.trim().parse::<u32>().ok())
        == Some(std::process::id());
    let count = std::env::var("LISTEN_FDS")
        .ok()
        .and_then(|n| n.trim().parse::<u32>().ok())
        .unwrap_or(0);
    if !ours || count == 0 {
        return Ok(None);
    }
    const SD_LISTEN_FDS_START: i32 = 3;
    let err = |source| ServeError::Listen {
        path: format!("inherited file descriptor {SD_LISTEN_FDS_START}"),
        source,
    };
    use std::os::fd::FromRawFd;
    // SAFETY: the service manager passed fd 3 to this process as a listening
    // socket (LISTEN_PID is ours); nothing else in the process owns it, and
    // it is taken exactly once, here.
    let std_listener =
        unsafe { std::os::unix::net::UnixListener::from_raw_fd(SD_LISTEN_FDS_START) };
    std_listener.set_nonblocking(true).map_err(err)?;
    // Children must not think the socket is theirs.
    std::env::remove_var("LISTEN_PID");
    std::env::remove_var("LISTEN_FDS");
    std::env::remove_var("LISTEN_FDNAMES");
    Ok(Some(std_listener))
}

/// Raises the soft limit on open files to the hard limit, as Go programs
/// (dockerd among them) do at start: the default soft limit of 1,024 is
/// for programs that use `select(2)`. Returns the limit now in force.
pub fn raise_open_file_limit() -> std::io::Result<u64> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit and setrlimit only read and write the struct given.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return Err(std::io::Error::last_os_error());
        }
        if limit.rlim_cur < limit.rlim_max {
            let raised = libc::rlimit {
                rlim_cur: limit.rlim_max,
                rlim_max: limit.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                limit = raised;
            }
        }
    }
    Ok(limit.rlim_cur)
}

/// How many plugin connections to hold open under a limit of `open_files`
/// descriptors: what is left after the look-ups' connections to the daemon
/// and a margin for the rest (audit file, syslog, metrics, policy reads),
/// and never more than [`Connections::default`]'s.
pub fn connection_cap(open_files: u64, lookups: usize) -> usize {
    const MARGIN: u64 = 64;
    const FLOOR: usize = 16;
    let spare = open_files.saturating_sub(lookups as u64 + MARGIN);
    let cap = usize::try_from(spare).unwrap_or(usize::MAX);
    cap.clamp(FLOOR, Connections::default().max)
}

/// How long connections accepted just before shutdown get to send their
/// request before they are told to finish.
const DRAIN_GRACE: std::time::Duration = std::time::Duration::from_millis(250);
/// The longest a shutdown waits for requests in flight.
const DRAIN_LIMIT: std::time::Duration = std::time::Duration::from_secs(10);

/// How the socket's connections are held.
#[derive(Clone)]
pub struct Connections {
    /// Connections open at once, at most; more wait in the socket's
    /// backlog. Keep it below the file descriptor limit.
    pub max: usize,
    /// How long a connection may take to send a request's head, and how
    /// long an idle one is kept: the daemon opens a new one when it needs
    /// it, and a client that sends a byte a second holds nothing for long.
    pub header_timeout: Duration,
    /// Where failed accepts are counted.
    pub metrics: Option<Arc<crate::Metrics>>,
}

impl Default for Connections {
    fn default() -> Self {
        Connections {
            max: 1024,
            header_timeout: Duration::from_secs(10),
            metrics: None,
        }
    }
}

/// The first pause after a failed accept, and the longest: a failure such
/// as exhausted file descriptors repeats at once if retried at once.
const ACCEPT_BACKOFF: (Duration, Duration) = (Duration::from_millis(10), Duration::from_secs(1));
/// Failed accepts, logged at most once every ten seconds.
static ACCEPT_FAILED: Throttled = Throttled::new(Duration::from_secs(10));

/// Serves until `shutdown` completes, then stops accepting and finishes
/// the requests in flight.
///
/// Connections that reach the socket after that wait in its backlog: with
/// socket activation the service manager keeps the socket, and the next
/// dockgate answers them, so a restart refuses no request. A connection
/// accepted an instant before shutdown gets a short grace (250 ms) to deliver its
/// request, which is then answered, before idle connections are closed.
pub async fn serve(
    listener: UnixListener,
    app: Router,
    limits: Connections,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    use hyper_util::rt::{TokioIo, TokioTimer};
    use hyper_util::service::TowerToHyperService;

    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut connections = tokio::task::JoinSet::new();
    let open = Arc::new(Semaphore::new(limits.max.max(1)));
    let mut backoff = ACCEPT_BACKOFF.0;
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout);
    tokio::pin!(shutdown);
    loop {
        // At the cap, stop accepting: new connections wait in the backlog
        // instead of taking descriptors the look-ups need.
        let slot = tokio::select! {
            _ = &mut shutdown => break,
            slot = open.clone().acquire_owned() => slot,
            Some(_) = connections.join_next(), if !connections.is_empty() => continue,
        };
        let Ok(slot) = slot else { break };
        tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => {
                let (stream, _) = match accepted {
                    Ok(pair) => pair,
                    Err(err) => {
                        if let Some(metrics) = &limits.metrics {
                            metrics.accept_error();
                        }
                        ACCEPT_FAILED.occurred(|unlogged| {
                            tracing::warn!(%err, unlogged, open = limits.max - open.available_permits(), "accept failed; backing off");
                        });
                        drop(slot);
                        tokio::select! {
                            _ = &mut shutdown => break,
                            _ = tokio::time::sleep(backoff) => {}
                        }
                        backoff = (backoff * 2).min(ACCEPT_BACKOFF.1);
                        continue;
                    }
                };
                backoff = ACCEPT_BACKOFF.0;
                let service = TowerToHyperService::new(app.clone());
                let mut stop = stop_rx.clone();
                let http = http.clone();
                connections.spawn(async move {
                    let _slot = slot;
                    let conn = http.serve_connection(TokioIo::new(stream), service);
                    tokio::pin!(conn);
                    let stopping = async move {
                        // The guard wait_for returns is not Send; drop it at once.
                        let _ = stop.wait_for(|s| *s).await.map(|_| ());
                    };
                    tokio::select! {
                        _ = conn.as_mut() => {}
                        _ = stopping => {
                            conn.as_mut().graceful_shutdown();
                            let _ = conn.await;
                        }
                    }
                });
            }
            // Reap finished connection tasks as we go.
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    drop(listener);
    tokio::time::sleep(DRAIN_GRACE).await;
    let _ = stop_tx.send(true);
    let drained = tokio::time::timeout(DRAIN_LIMIT, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            "requests still in flight after {}s; exiting",
            DRAIN_LIMIT.as_secs()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use dockgate_inputs::resolve::FakeDaemon;
    use dockgate_rules::Policy;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_panic_while_deciding_denies_and_is_audited() {
        let dir = std::env::temp_dir().join(format!("dockgate-panic-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let audit_path = dir.join("audit.log");
        let audit = AuditTrail {
            log: Arc::new(AuditLog::open(Some(&audit_path), false).unwrap()),
            on_failure: AuditFailure::Deny,
            level: AuditLevel::All,
        };
        let gate = Arc::new(Gate::new(Policy::default(), FakeDaemon::new().panicking()));
        let app = router(gate, audit, Limits::default());
        let socket = dir.join("gate.sock");
        let listener = bind(&socket).unwrap();
        let connections = Connections::default();
        tokio::spawn(serve(listener, app, connections, std::future::pending()));

        // A start is judged by what the container has: a look-up.
        let request = AuthzRequest::new("POST", "/v1.41/containers/web/start", None);
        let body = serde_json::to_vec(&request).unwrap();
        let reply = tokio::task::spawn_blocking(move || {
            use std::io::{Read, Write};
            let mut stream = std::os::unix::net::UnixStream::connect(&socket).unwrap();
            let head = format!(
                "POST /AuthZPlugin.AuthZReq HTTP/1.1\r\nHost: plugin\r\nConnection: close\r\n\
                 Content-Length: {}\r\n\r\n",
                body.len()
            );
            stream.write_all(head.as_bytes()).unwrap();
            stream.write_all(&body).unwrap();
            let mut response = String::new();
            stream.read_to_string(&mut response).unwrap();
            response
        })
        .await
        .unwrap();
        let (head, json) = reply.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
        let reply: serde_json::Value = serde_json::from_str(json).unwrap();
        let expected = "dockgate: denied: internal error while deciding: container look-up bug";
        assert_eq!(reply["Allow"], false);
        assert_eq!(reply["Msg"], expected);
        assert_eq!(reply["Err"], expected);

        let audit = std::fs::read_to_string(&audit_path).unwrap();
        let records: Vec<serde_json::Value> = audit
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(records.len(), 1, "{audit}");
        assert_eq!(records[0]["decision"], "deny");
        assert_eq!(records[0]["path"], "/v1.41/containers/web/start");
        assert_eq!(records[0]["rules"], serde_json::json!(["gate-failure"]));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
