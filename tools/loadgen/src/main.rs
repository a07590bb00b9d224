//! `dockgate-loadgen`: load for AuthZ plugins over their Unix socket.
//!
//! ```text
//! dockgate-loadgen serve-allow-all [--work-us N] PATH   # the floor: same server stack, always allows
//! dockgate-loadgen run --socket A [--socket B] [--connections 64] [--requests 100000] [--rate R] [--pid PID]...
//! ```
//!
//! `run` replays the requests captured from a real daemon
//! (`fixtures/captured/authz`), round robin, over keep-alive connections,
//! one socket after the other in the same run, and prints throughput,
//! latency percentiles, errors and, given the server's pid, its memory.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use axum::routing::post;
use axum::Router;
use clap::{Parser, Subcommand};
use dockgate_inputs::authz::AuthzRequest;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::UnixStream;

#[derive(Parser)]
#[command(name = "dockgate-loadgen", about = "Load for AuthZ plugin sockets")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve an AuthZ plugin that allows everything, on the gate's server stack.
    ServeAllowAll {
        /// Socket path.
        socket: PathBuf,
        /// Busy CPU time spent on each request before allowing it, in
        /// microseconds: a floor that does this much work calibrates what
        /// any server doing it on the same stack can reach.
        #[arg(long, default_value_t = 0)]
        work_us: u64,
    },
    /// Serve a stand-in Docker daemon for the gate's look-ups: every
    /// container it is asked about is the one in `--inspect` (as created,
    /// not yet started: what an attach or start of `docker run` finds), it
    /// knows no volume or exec instance, and every image runs as root. It
    /// answers at once, so a run measures the gate rather than a daemon.
    ServeFakeDaemon {
        /// Socket path.
        socket: PathBuf,
        /// A container's inspect document, as `docker inspect` prints it.
        #[arg(long, default_value = "fixtures/captured/inspect/i-plain.json")]
        inspect: PathBuf,
    },
    /// Drive one or more plugin sockets, one after the other.
    Run {
        /// Plugin sockets to drive, in order.
        #[arg(long = "socket", required = true)]
        sockets: Vec<PathBuf>,
        /// The server process of each socket, for its memory (same order).
        #[arg(long = "pid")]
        pids: Vec<u32>,
        /// Concurrent keep-alive connections.
        #[arg(long, default_value_t = 64)]
        connections: usize,
        /// Requests per socket.
        #[arg(long, default_value_t = 100_000)]
        requests: usize,
        /// Directory of captured AuthZ exchanges.
        #[arg(long, default_value = "fixtures/captured/authz")]
        fixtures: PathBuf,
        /// Follow each request with the response call the daemon makes
        /// after it (`/AuthZPlugin.AuthZRes`), as a daemon does.
        #[arg(long)]
        with_responses: bool,
        /// Offer this many requests a second in all (open loop) instead of
        /// sending each connection's next request as soon as its answer
        /// arrives; latency is then measured at a load the server can
        /// carry, not at saturation, where it is queueing.
        #[arg(long)]
        rate: Option<f64>,
    },
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        match cli.command {
            Command::ServeAllowAll { socket, work_us } => {
                serve_allow_all(&socket, Duration::from_micros(work_us)).await
            }
            Command::ServeFakeDaemon { socket, inspect } => {
                serve_fake_daemon(&socket, &inspect).await
            }
            Command::Run {
                sockets,
                pids,
                connections,
                requests,
                fixtures,
                with_responses,
                rate,
            } => {
                let mix = load_mix(&fixtures, with_responses)?;
                let mut results = Vec::new();
                for (i, socket) in sockets.iter().enumerate() {
                    let result = drive(socket, &mix, connections, requests, rate).await?;
                    let memory = pids.get(i).map(|pid| memory_kib(*pid)).transpose()?;
                    print_result(socket, &result, memory);
                    results.push(result);
                }
                if results.len() == 2 {
                    println!(
                        "throughput of {} relative to {}: {:.3}",
                        sockets[0].display(),
                        sockets[1].display(),
                        results[0].throughput() / results[1].throughput()
                    );
                }
                Ok(())
            }
        }
    })
}

/// Allows, after reading the request body as the gate does, so that
/// keep-alive connections stay usable.
async fn allow(_body: axum::body::Bytes) -> impl axum::response::IntoResponse {
    (
        [("content-type", "application/vnd.docker.plugins.v1+json")],
        r#"{"Allow":true}"#,
    )
}

/// Spends about `work` of CPU time in user code: a fixed number of rounds
/// of arithmetic, calibrated once, so that preemption on a shared machine
/// neither stretches nor shortens the work (a clock read per round would
/// itself be a system call).
fn busy(work: Duration) {
    static ROUNDS_PER_US: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    if work.is_zero() {
        return;
    }
    let per_us = *ROUNDS_PER_US.get_or_init(|| {
        let rounds = 10_000_000;
        let started = Instant::now();
        std::hint::black_box(spin(rounds));
        let us = started.elapsed().as_micros().max(1) as u64;
        (rounds / us).max(1)
    });
    std::hint::black_box(spin(per_us * work.as_micros() as u64));
}

fn spin(rounds: u64) -> u64 {
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    for i in 0..rounds {
        x = (x ^ i).wrapping_mul(0x0100_0000_01b3).rotate_left(7);
    }
    x
}

async fn activate() -> &'static str {
    r#"{"Implements":["authz"]}"#
}

async fn serve_allow_all(socket: &Path, work: Duration) -> Result<()> {
    let allow_after_work = move |body: axum::body::Bytes| async move {
        busy(work);
        allow(body).await
    };
    let app = Router::new()
        .route("/Plugin.Activate", post(activate))
        .route("/AuthZPlugin.AuthZReq", post(allow_after_work))
        .route("/AuthZPlugin.AuthZRes", post(allow_after_work))
        .layer(axum::extract::DefaultBodyLimit::max(16 << 20));
    serve_on(socket, app).await
}

/// Serves `app` on a Unix socket, on the gate's server stack, forever.
async fn serve_on(socket: &Path, app: Router) -> Result<()> {
    let listener = dockgate_gate::bind(socket)?;
    let connections = dockgate_gate::Connections::default();
    dockgate_gate::serve(listener, app, connections, std::future::pending()).await?;
    Ok(())
}

/// The stand-in daemon's answer to one look-up.
fn fake_daemon(uri: &axum::http::Uri, container: &axum::body::Bytes) -> axum::response::Response {
    use axum::http::StatusCode;
    use axum::response::IntoResponse;
    let path = uri.path();
    let json = |status: StatusCode, body: axum::body::Bytes| {
        (status, [("content-type", "application/json")], body).into_response()
    };
    let fixed = |body: &'static str| axum::body::Bytes::from_static(body.as_bytes());
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match segments.as_slice() {
        [_, "version"] | ["version"] => json(
            StatusCode::OK,
            fixed(r#"{"ApiVersion":"1.41","MinAPIVersion":"1.12","Version":"20.10.24"}"#),
        ),
        [_, "info"] | ["info"] => json(StatusCode::OK, fixed(r#"{"CgroupVersion":"2"}"#)),
        // The list a PID namespace look-up makes (restarting containers).
        [_, "containers", "json"] => json(StatusCode::OK, fixed("[]")),
        [_, "containers", _, "json"] => json(StatusCode::OK, container.clone()),
        [_, "images", ..] => json(
            StatusCode::OK,
            fixed(
                r#"{"Id":"sha256:c81b120e6db62a6a3b6f36d8b7a904a09f39b10619e3f712fde05442281f3280","Config":{"User":""},"RepoDigests":[]}"#,
            ),
        ),
        _ => json(
            StatusCode::NOT_FOUND,
            fixed(r#"{"message":"No such object"}"#),
        ),
    }
}

/// The container every container look-up finds: the inspect document's
/// first entry, as created and not yet started (no process, no PID).
fn created_container(inspect: &Path) -> Result<axum::body::Bytes> {
    let doc: serde_json::Value = serde_json::from_slice(
        &std::fs::read(inspect).with_context(|| format!("cannot read {}", inspect.display()))?,
    )?;
    let mut container = match doc {
        serde_json::Value::Array(mut all) if !all.is_empty() => all.swap_remove(0),
        object @ serde_json::Value::Object(_) => object,
        _ => bail!("{}: not an inspect document", inspect.display()),
    };
    container["State"] = serde_json::json!({
        "Status": "created", "Running": false, "Paused": false, "Restarting": false,
        "OOMKilled": false, "Dead": false, "Pid": 0, "ExitCode": 0, "Error": "",
        "StartedAt": "0001-01-01T00:00:00Z", "FinishedAt": "0001-01-01T00:00:00Z"
    });
    Ok(serde_json::to_vec(&container)?.into())
}

async fn serve_fake_daemon(socket: &Path, inspect: &Path) -> Result<()> {
    let container = created_container(inspect)?;
    let app = Router::new().fallback(move |uri: axum::http::Uri| {
        let container = container.clone();
        async move { fake_daemon(&uri, &container) }
    });
    serve_on(socket, app).await
}

/// One call to a plugin: the endpoint and the wire JSON body.
type Call = (&'static str, Vec<u8>);

/// Every request of every capture, as wire JSON bodies; with
/// `with_responses`, each followed by the response call the daemon makes:
/// the request again with its status and body (a create answers with the
/// new container's ID).
fn load_mix(dir: &Path, with_responses: bool) -> Result<Vec<Call>> {
    let mut mix = Vec::new();
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for path in entries {
        let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(&path)?)?;
        let requests: Vec<AuthzRequest> = doc["requests"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|r| serde_json::from_value(r.clone()))
            .collect::<Result<_, _>>()?;
        for (i, parsed) in requests.iter().enumerate() {
            mix.push(("/AuthZPlugin.AuthZReq", serde_json::to_vec(&parsed)?));
            if with_responses {
                let create = parsed.uri.contains("/containers/create");
                // In Go's field order, as the daemon writes it: the request's
                // fields first, then the response's.
                let mut response = serde_json::to_vec(&parsed)?;
                response
                    .pop()
                    .filter(|b| *b == b'}')
                    .context("a request is an object")?;
                let body = if create {
                    // The ID the capture's attach and start name next, so
                    // that the gate learns the container they reach.
                    let id = requests[i + 1..]
                        .iter()
                        .find_map(|r| container_id(&r.uri))
                        .unwrap_or(
                            "4f2c4f2c4f2c4f2c4f2c4f2c4f2c4f2c4f2c4f2c4f2c4f2c4f2c4f2c4f2c4f2c",
                        );
                    let created = format!(r#"{{"Id":"{id}","Warnings":[]}}"#);
                    {
                        use base64::Engine;
                        let encoded = base64::engine::general_purpose::STANDARD.encode(created);
                        format!("\"{encoded}\"")
                    }
                } else {
                    "null".to_string()
                };
                response.extend_from_slice(
                    format!(
                        r#","ResponseStatusCode":{},"ResponseBody":{body},"ResponseHeaders":{{"Content-Type":"application/json"}}}}"#,
                        if create { 201 } else { 204 }
                    )
                    .as_bytes(),
                );
                mix.push(("/AuthZPlugin.AuthZRes", response));
            }
        }
    }
    if mix.is_empty() {
        bail!("no captured requests in {}", dir.display());
    }
    Ok(mix)
}

/// The full container ID a request's path names, if it names one.
fn container_id(uri: &str) -> Option<&str> {
    let rest = uri.split("/containers/").nth(1)?;
    let id = rest.split(['/', '?']).next()?;
    (id.len() == 64 && id.bytes().all(|b| b.is_ascii_hexdigit())).then_some(id)
}

struct RunResult {
    elapsed: Duration,
    latencies_us: Vec<u32>,
    errors: usize,
}

impl RunResult {
    fn throughput(&self) -> f64 {
        self.latencies_us.len() as f64 / self.elapsed.as_secs_f64()
    }

    fn percentile(&self, p: f64) -> u32 {
        let i = ((self.latencies_us.len() as f64 - 1.0) * p).round() as usize;
        self.latencies_us.get(i).copied().unwrap_or(0)
    }
}

async fn drive(
    socket: &Path,
    mix: &[Call],
    connections: usize,
    requests: usize,
    rate: Option<f64>,
) -> Result<RunResult> {
    let next = Arc::new(AtomicUsize::new(0));
    let mix = Arc::new(mix.to_vec());
    let started = Instant::now();
    let schedule = rate.filter(|r| *r > 0.0).map(|r| (started, r));
    let mut tasks = Vec::new();
    for _ in 0..connections {
        let (next, mix, socket) = (next.clone(), mix.clone(), socket.to_path_buf());
        tasks.push(tokio::spawn(async move {
            connection(&socket, &mix, &next, requests, schedule).await
        }));
    }
    let mut latencies_us = Vec::with_capacity(requests);
    let mut errors = 0;
    for task in tasks {
        let (lat, err) = task.await??;
        latencies_us.extend(lat);
        errors += err;
    }
    let elapsed = started.elapsed();
    latencies_us.sort_unstable();
    Ok(RunResult {
        elapsed,
        latencies_us,
        errors,
    })
}

async fn connection(
    socket: &Path,
    mix: &[Call],
    next: &AtomicUsize,
    total: usize,
    schedule: Option<(Instant, f64)>,
) -> Result<(Vec<u32>, usize)> {
    let mut stream = BufReader::new(
        UnixStream::connect(socket)
            .await
            .with_context(|| format!("connect {}", socket.display()))?,
    );
    let (mut latencies, mut errors) = (Vec::new(), 0);
    loop {
        let n = next.fetch_add(1, Ordering::Relaxed);
        if n >= total {
            return Ok((latencies, errors));
        }
        if let Some((started, rate)) = schedule {
            // Tokio's timer has a resolution of a millisecond: requests
            // leave in bursts of rate/1000. Latency counts from the send.
            let due = started + Duration::from_secs_f64(n as f64 / rate);
            tokio::time::sleep_until(due.into()).await;
        }
        let (endpoint, body) = &mix[n % mix.len()];
        let head = format!(
            "POST {endpoint} HTTP/1.1\r\nHost: plugin\r\nContent-Type: application/vnd.docker.plugins.v1.2+json\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        let sent = Instant::now();
        let inner = stream.get_mut();
        inner.write_all(head.as_bytes()).await?;
        inner.write_all(body).await?;
        let mut length = 0usize;
        let mut status_ok = false;
        let mut line = String::new();
        loop {
            line.clear();
            if stream.read_line(&mut line).await? == 0 {
                bail!("the server closed the connection");
            }
            if line.starts_with("HTTP/1.1 ") {
                status_ok = line.starts_with("HTTP/1.1 200");
            }
            if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                length = v.trim().parse().unwrap_or(0);
            }
            if line == "\r\n" {
                break;
            }
        }
        let mut reply = vec![0u8; length];
        stream.read_exact(&mut reply).await?;
        latencies.push(sent.elapsed().as_micros().min(u32::MAX as u128) as u32);
        if !status_ok || !reply.starts_with(b"{\"Allow\":") {
            errors += 1;
        }
    }
}

fn memory_kib(pid: u32) -> Result<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    Ok((field("VmRSS:"), field("VmHWM:")))
}

fn print_result(socket: &Path, r: &RunResult, memory: Option<(u64, u64)>) {
    println!(
        "{}: {} requests in {:.2}s = {:.0} req/s; latency p50 {} us, p99 {} us, p99.9 {} us; {} errors",
        socket.display(),
        r.latencies_us.len(),
        r.elapsed.as_secs_f64(),
        r.throughput(),
        r.percentile(0.50),
        r.percentile(0.99),
        r.percentile(0.999),
        r.errors
    );
    if let Some((rss, hwm)) = memory {
        println!("  server memory: {} KiB resident, {} KiB peak", rss, hwm);
    }
}
