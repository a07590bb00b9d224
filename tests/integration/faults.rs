//! The gate under faults: each test brings one about for real (a daemon
//! that never answers, a flood of waiting requests, exhausted file
//! descriptors, clients that send a byte a second, a full file system, a
//! rotated or torn audit log) and shows what the gate does then.

use dockgate_outputs::Denial;
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use dockgate_gate::{AuditFailure, AuditTrail, Connections, Gate, Limits};
use dockgate_inputs::authz::AuthzRequest;
use dockgate_inputs::resolve::FakeDaemon;
use dockgate_model::{At, Operation, Workload};
use dockgate_outputs::AuditLog;
use dockgate_rules::Policy;

use crate::util::{authz, free_local_address, http_get, Dir, Served};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// A container with ten named volumes, and an exec instance in it.
fn daemon_with_ten_volumes() -> FakeDaemon {
    let binds: Vec<String> = (0..10).map(|i| format!("v{i}:/d{i}")).collect();
    let body =
        serde_json::json!({"Image": "testimg", "User": "1000", "HostConfig": {"Binds": binds}});
    let container =
        dockgate_inputs::api_body::container_create(body.to_string().as_bytes()).unwrap();
    let mut exec = Workload::new(Operation::Exec);
    exec.user.requested = At::new("1000".to_string(), "ProcessConfig.user");
    exec.name = Some("web".to_string());
    FakeDaemon::new()
        .any_image("1000")
        .container("web", container)
        .exec("e1", exec)
}

const GATE_FAILURE_FIX: &str = "fix what the message names (an invalid policy file: dockgate policy validate); otherwise retry, and if it keeps happening, check that the daemon answers \
     (docker info) and read dockgate's log and its metrics (dockgate explain gate-failure)";

/// Every look-up a decision makes, however many, ends by one deadline: an
/// exec into a container whose ten volumes the daemon never describes is
/// denied after 5 seconds, not after ten look-ups' worth of waiting.
#[test]
fn one_deadline_bounds_a_whole_decision() {
    let mut daemon = daemon_with_ten_volumes();
    for i in 0..10 {
        daemon = daemon.hung(&format!("v{i}"));
    }
    let gate = Gate::new(Policy::default(), daemon);
    let runtime = runtime();
    let create = {
        let binds: Vec<String> = (0..10).map(|i| format!("v{i}:/d{i}")).collect();
        let body =
            serde_json::json!({"Image": "testimg", "User": "1000", "HostConfig": {"Binds": binds}});
        AuthzRequest::new(
            "POST",
            "/v1.41/containers/create",
            Some(body.to_string().as_bytes()),
        )
    };
    let exec_start = AuthzRequest::new(
        "POST",
        "/v1.41/exec/e1/start",
        Some(br#"{"Detach":false,"Tty":false}"#),
    );
    for (request, late) in [
        (&exec_start, "what container \"web\" has"),
        (&create, "what the request names"),
    ] {
        let started = Instant::now();
        let (verdict, record) = runtime.block_on(gate.decide(request));
        let took = started.elapsed();
        assert!(
            (Duration::from_secs(5)..Duration::from_secs(6)).contains(&took),
            "{} took {took:?}",
            request.uri
        );
        assert_eq!(
            verdict.denial_message(),
            format!(
                "dockgate: denied by rule gate-failure: the daemon did not answer the look-up of \
                 {late} in time (5s for the whole decision); {GATE_FAILURE_FIX}"
            )
        );
        assert_eq!(record.rules, ["gate-failure"]);
    }
}

/// Sends one AuthZ request over a fresh connection; the reply and how long
/// it took.
async fn ask(socket: &Path, request: &AuthzRequest) -> (serde_json::Value, Duration) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let started = Instant::now();
    let body = serde_json::to_vec(request).unwrap();
    let mut stream = tokio::net::UnixStream::connect(socket).await.unwrap();
    let head = format!(
        "POST /AuthZPlugin.AuthZReq HTTP/1.1\r\nHost: plugin\r\nConnection: close\r\n\
         Content-Length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(&body).await.unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    let text = String::from_utf8_lossy(&response);
    let (_, json) = text.split_once("\r\n\r\n").expect("an HTTP response");
    (serde_json::from_str(json).unwrap(), started.elapsed())
}

/// Serves a gate in this process on a socket in `dir`.
fn serve_in_process(
    runtime: &tokio::runtime::Runtime,
    dir: &Dir,
    gate: Arc<Gate<FakeDaemon>>,
    audit: AuditTrail,
    limits: Limits,
) -> PathBuf {
    let socket = dir.path().join("gate.sock");
    let app = dockgate_gate::router(gate, audit, limits);
    let listener = runtime.block_on(async { dockgate_gate::bind(&socket).unwrap() });
    runtime.spawn(dockgate_gate::serve(
        listener,
        app,
        Connections::default(),
        std::future::pending(),
    ));
    socket
}

fn quiet_audit() -> AuditTrail {
    AuditTrail {
        log: Arc::new(AuditLog::open(None, false).unwrap()),
        on_failure: AuditFailure::Continue,
        level: dockgate_gate::AuditLevel::All,
    }
}

/// A thousand requests at once against a daemon that never answers: the
/// slots fill, a bounded number wait, and the rest are denied at once with
/// the reason; the waiting ones end at their deadline.
#[test]
fn a_flood_of_waiting_requests_is_shed_at_once() {
    // The test holds both ends of every connection.
    let open_files = dockgate_gate::server::raise_open_file_limit().unwrap();
    assert!(open_files >= 2100, "open file limit {open_files}");
    let dir = Dir::new("flood");
    let runtime = runtime();
    let gate = Arc::new(Gate::new(Policy::default(), FakeDaemon::new().hung("*")));
    let limits = Limits {
        lookups: 4,
        plain: 64,
        waiting: 16,
    };
    let socket = serve_in_process(&runtime, &dir, gate.clone(), quiet_audit(), limits);
    let start = AuthzRequest::new("POST", "/v1.41/containers/web/start", None);
    let replies = runtime.block_on(async {
        let asks: Vec<_> = (0..1000)
            .map(|_| {
                let (socket, start) = (socket.clone(), start.clone());
                tokio::spawn(async move { ask(&socket, &start).await })
            })
            .collect();
        let mut replies = Vec::new();
        for asked in asks {
            replies.push(asked.await.unwrap());
        }
        replies
    });
    let queue_full = "dockgate: denied: dockgate is overloaded: 16 requests already wait for a \
                      slot; retry shortly";
    let (shed, decided): (Vec<_>, Vec<_>) = replies
        .iter()
        .partition(|(reply, _)| reply["Msg"] == queue_full);
    assert_eq!(shed.len(), 980, "shed at once");
    for (reply, took) in &shed {
        assert_eq!(reply["Allow"], false);
        assert!(*took < Duration::from_secs(3), "shed after {took:?}");
    }
    for (reply, took) in &decided {
        assert_eq!(reply["Allow"], false, "{reply}");
        let msg = reply["Msg"].as_str().unwrap();
        assert!(
            msg == "dockgate: denied: dockgate is overloaded: no slot came free within 5s"
                || msg.starts_with("dockgate: denied by rule gate-failure: the daemon did not answer the look-up of container \"web\" in time"),
            "{msg}"
        );
        assert!(
            (Duration::from_secs(3)..Duration::from_millis(6500)).contains(took),
            "answered after {took:?}"
        );
    }
    let metrics = gate
        .metrics()
        .render(dockgate_gate::metrics::Exposition::OpenMetrics);
    let shed_total: u64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("dockgate_requests_shed_total "))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no shed count:\n{metrics}"));
    assert!((980..=996).contains(&shed_total), "{shed_total}");
}

/// The audit path stops naming a regular file the gate can append to: a
/// directory, a FIFO (whose first full write would block every decision),
/// a symbolic link to a device or to a file (the gate is root: it would
/// write wherever the link points). Each is refused; `deny` refuses the
/// request and says why, `continue` lets it through; both count the loss,
/// and nothing blocks.
#[test]
fn audit_failure_is_the_operators_choice() {
    let runtime = runtime();
    let list = AuthzRequest::new("GET", "/v1.41/containers/json", None);
    let mkfifo = |path: &Path, _: &Path| {
        let made = std::process::Command::new("mkfifo")
            .arg(path)
            .status()
            .unwrap();
        assert!(made.success());
    };
    type PutInPlace<'a> = &'a dyn Fn(&Path, &Path);
    let replace: [(&str, PutInPlace, &str); 4] = [
        (
            "directory",
            &|path, _| std::fs::create_dir(path).unwrap(),
            "Is a directory (os error 21)",
        ),
        ("fifo", &mkfifo, "not a regular file"),
        (
            "device",
            &|path, _| std::os::unix::fs::symlink("/dev/full", path).unwrap(),
            "it is a symbolic link",
        ),
        (
            "symlink to a file",
            &|path, victim| std::os::unix::fs::symlink(victim, path).unwrap(),
            "it is a symbolic link",
        ),
    ];
    for (what, put, why) in replace {
        for (on_failure, allowed) in [(AuditFailure::Deny, false), (AuditFailure::Continue, true)] {
            let dir = Dir::new("audit-fail");
            let path = dir.path().join("audit.log");
            let victim = dir.create("victim.conf", "keep me\nno line end");
            let (log, opened) = AuditLog::open_or_retry(Some(&path), false);
            opened.unwrap();
            // Rotated away, and something else put in its place.
            std::fs::rename(&path, dir.path().join("audit.log.1")).unwrap();
            put(&path, &victim);
            std::thread::sleep(Duration::from_millis(1100));
            let trail = AuditTrail {
                log: Arc::new(log),
                on_failure,
                level: dockgate_gate::AuditLevel::All,
            };
            let gate = Arc::new(Gate::new(Policy::default(), FakeDaemon::new()));
            let socket = serve_in_process(&runtime, &dir, gate.clone(), trail, Limits::default());
            let (reply, took) = runtime.block_on(ask(&socket, &list));
            assert!(took < Duration::from_secs(1), "{what}: {took:?}");
            assert_eq!(reply["Allow"], allowed, "{what}, {on_failure:?}: {reply}");
            if !allowed {
                assert_eq!(
                    reply["Msg"],
                    format!(
                        "dockgate: denied by rule gate-failure: cannot write the audit record to \
                         {}: cannot open it: {why}; nothing is allowed unrecorded \
                         (--audit-failure deny); {GATE_FAILURE_FIX}",
                        path.display()
                    ),
                    "{what}"
                );
            }
            let metrics = gate
                .metrics()
                .render(dockgate_gate::metrics::Exposition::OpenMetrics);
            assert!(
                metrics.contains("dockgate_audit_write_failures_total 1\n"),
                "{what}: {metrics}"
            );
            let victim_now = std::fs::read_to_string(&victim).unwrap();
            assert_eq!(victim_now, "keep me\nno line end", "{what}");
        }
    }
}

/// CPU time (user and system) a process has used.
fn cpu_time(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .unwrap()
        .1
        .split_whitespace()
        .collect();
    // utime and stime are fields 14 and 15; fields[0] is field 3.
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    Duration::from_millis(ticks * 1000 / clock_ticks())
}

/// Clock ticks a second, the unit of `/proc/PID/stat`'s times.
fn clock_ticks() -> u64 {
    let out = std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
}

fn prlimit_nofile(pid: u32, limit: u32) {
    let status = std::process::Command::new("prlimit")
        .args(["--pid", &pid.to_string(), &format!("--nofile={limit}:")])
        .status()
        .expect("prlimit (util-linux)");
    assert!(status.success());
}

/// Connections that send a byte a second and never finish their request.
struct SlowClients {
    streams: Vec<UnixStream>,
}

impl SlowClients {
    fn connect(socket: &Path, count: usize) -> SlowClients {
        let streams = (0..count)
            .map(|_| {
                let stream = UnixStream::connect(socket).unwrap();
                stream.set_nonblocking(true).unwrap();
                stream
            })
            .collect();
        SlowClients { streams }
    }

    /// Sends each open connection its next byte; returns how many are
    /// still open (the server has not closed them).
    fn trickle(&mut self) -> usize {
        let mut open = 0;
        for stream in &mut self.streams {
            let mut buf = [0u8; 512];
            let closed = match stream.read(&mut buf) {
                Ok(0) => true,
                Ok(_) => false,
                Err(e) => e.kind() != std::io::ErrorKind::WouldBlock,
            };
            if !closed && stream.write(b"P").is_ok() {
                open += 1;
            }
        }
        open
    }
}

/// With file descriptors exhausted, the accept loop backs off instead of
/// spinning: little CPU, a few log lines. Once descriptors are free again a
/// request is answered, and connections that dribble a byte a second are
/// closed when their head is not in after the header time-out.
#[test]
fn exhausted_descriptors_and_slow_clients() {
    let dir = Dir::new("nofile");
    let socket = dir.path().join("g.sock");
    let log = dir.path().join("stderr.log");
    let served = Served::start_with(
        &["--socket", socket.to_str().unwrap()],
        &socket,
        Stdio::null(),
        Stdio::from(std::fs::File::create(&log).unwrap()),
    );
    let pid = served.pid();
    prlimit_nofile(pid, 48);
    let mut slow = SlowClients::connect(&socket, 150);
    std::thread::sleep(Duration::from_millis(500));
    let cpu_before = cpu_time(pid);
    let measured = Instant::now();
    for _ in 0..3 {
        slow.trickle();
        std::thread::sleep(Duration::from_secs(1));
    }
    let cpu = cpu_time(pid) - cpu_before;
    let wall = measured.elapsed();
    let stderr = std::fs::read_to_string(&log).unwrap();
    let accept_lines = stderr.matches("accept failed").count();
    assert!(accept_lines >= 1, "no accept failure logged:\n{stderr}");
    assert!(accept_lines <= 3, "{accept_lines} accept lines:\n{stderr}");
    assert!(
        cpu < wall / 10,
        "{cpu:?} of CPU in {wall:?} with descriptors exhausted"
    );

    // Descriptors back: the connections waiting in the backlog are taken,
    // and a request is answered.
    prlimit_nofile(pid, 4096);
    let restored = Instant::now();
    let (status, reply) = authz(
        &socket,
        &AuthzRequest::new("GET", "/v1.41/containers/json", None),
    );
    assert_eq!((status, reply["Allow"].clone()), (200, true.into()));
    assert!(
        restored.elapsed() < Duration::from_secs(3),
        "answered after {:?}",
        restored.elapsed()
    );

    // The slow ones are closed once the header time-out (10 s) passes.
    loop {
        let open = slow.trickle();
        if open == 0 {
            break;
        }
        assert!(
            restored.elapsed() < Duration::from_secs(14),
            "{open} slow connections still open after {:?}",
            restored.elapsed()
        );
        std::thread::sleep(Duration::from_secs(1));
    }
    assert!(
        restored.elapsed() > Duration::from_secs(8),
        "slow connections closed before the header time-out"
    );
    drop(served);
}

/// Whether this test may mount file systems; in CI (where
/// `DOCKGATE_REQUIRE_DAEMON` is set, as root) it must.
fn can_mount() -> bool {
    let root = std::process::Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout == b"0\n");
    if !root && std::env::var_os("DOCKGATE_REQUIRE_DAEMON").is_some() {
        panic!("DOCKGATE_REQUIRE_DAEMON is set, but this test cannot mount a tmpfs (not root)");
    }
    root
}

struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(at: &Path, size: &str) -> Tmpfs {
        std::fs::create_dir_all(at).unwrap();
        let status = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(at)
            .status()
            .unwrap();
        assert!(status.success(), "mount tmpfs at {}", at.display());
        Tmpfs(at.to_path_buf())
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.0).status();
    }
}

/// Every line of an audit file is a whole record.
fn whole_records(path: &Path) -> usize {
    let text = std::fs::read_to_string(path).unwrap();
    assert!(text.is_empty() || text.ends_with('\n'), "a torn last line");
    for (i, line) in text.lines().enumerate() {
        let record: Result<serde_json::Value, _> = serde_json::from_str(line);
        assert!(record.is_ok(), "line {} is torn: {line}", i + 1);
    }
    text.lines().count()
}

fn metric(text: &str, name: &str) -> u64 {
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{name} ")))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// The audit file on a file system that fills up: no record is torn, and
/// every record is either in the file or counted as lost. With
/// `--audit-failure deny` the gate refuses what it cannot record; once
/// space is freed, records are whole again.
#[test]
fn a_full_file_system_tears_no_record() {
    if !can_mount() {
        eprintln!("not root: cannot mount a tmpfs; skipping");
        return;
    }
    let dir = Dir::new("fullfs");
    let fs = Tmpfs::mount(&dir.path().join("fs"), "128k");
    // Something to free later.
    std::fs::write(fs.0.join("filler"), vec![b'x'; 48 << 10]).unwrap();
    let audit = fs.0.join("audit.log");
    let socket = dir.path().join("g.sock");
    let metrics_addr = free_local_address();
    let args = |failure: &'static str| {
        vec![
            "--socket".to_string(),
            socket.display().to_string(),
            "--audit-log".to_string(),
            audit.display().to_string(),
            "--metrics-addr".to_string(),
            metrics_addr.clone(),
            "--audit-failure".to_string(),
            failure.to_string(),
        ]
    };
    let list = AuthzRequest::new("GET", "/v1.41/containers/json", None);

    let continuing = args("continue");
    let continuing: Vec<&str> = continuing.iter().map(String::as_str).collect();
    let served = Served::start(&continuing, &socket, Stdio::null());
    let sent = 600;
    for _ in 0..sent {
        assert_eq!(authz(&socket, &list).1["Allow"], true);
    }
    let lost = metric(
        &http_get(&metrics_addr, "/metrics"),
        "dockgate_audit_write_failures_total",
    );
    drop(served);
    let kept = whole_records(&audit);
    assert!(lost > 0, "the file system never filled ({kept} records)");
    assert_eq!(kept as u64 + lost, sent, "every record kept or counted");

    // Killed: its socket stays behind.
    std::fs::remove_file(&socket).unwrap();
    let denying = args("deny");
    let denying: Vec<&str> = denying.iter().map(String::as_str).collect();
    let served = Served::start(&denying, &socket, Stdio::piped());
    let (_, reply) = authz(&socket, &list);
    assert_eq!(reply["Allow"], false);
    assert_eq!(
        reply["Msg"],
        format!(
            "dockgate: denied by rule gate-failure: cannot write the audit record to {}: No space \
             left on device (os error 28); nothing is allowed unrecorded (--audit-failure deny); \
             {GATE_FAILURE_FIX}",
            audit.display()
        )
    );
    std::fs::remove_file(fs.0.join("filler")).unwrap();
    for _ in 0..20 {
        assert_eq!(
            authz(&socket, &list).1["Allow"],
            true,
            "space is free again"
        );
    }
    let stdout = String::from_utf8(served.stop().stdout).unwrap();
    assert_eq!(whole_records(&audit), kept + 20);
    // The journal's copy says what the daemon heard: denied, then allowed.
    let journal: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(journal.len(), 21, "{stdout}");
    assert_eq!(journal[0]["decision"], "deny");
    assert_eq!(journal[0]["rules"], serde_json::json!(["gate-failure"]));
    assert!(journal[1..].iter().all(|r| r["decision"] == "allow"));
}

/// logrotate renames the file away: the gate notices within a second (or
/// at once on SIGHUP) and writes a new one. A file that ends in a torn
/// record is cut back to its last whole line before the gate appends.
#[test]
fn the_audit_log_survives_rotation_and_a_torn_tail() {
    let dir = Dir::new("rotate");
    let audit = dir.path().join("audit.log");
    let whole = r#"{"time":"2026-12-01T00:00:00.000Z","decision":"allow"}"#;
    std::fs::write(&audit, format!("{whole}\n{{\"time\":\"2026-12-01T00:00:01")).unwrap();
    let socket = dir.path().join("g.sock");
    let log = dir.path().join("stderr.log");
    let stderr = Stdio::from(std::fs::File::create(&log).unwrap());
    let served = Served::with_audit_log(&socket, &audit, stderr);
    let list = AuthzRequest::new("GET", "/v1.41/containers/json", None);
    assert_eq!(authz(&socket, &list).1["Allow"], true);
    assert_eq!(whole_records(&audit), 2);
    let text = std::fs::read_to_string(&audit).unwrap();
    assert!(text.starts_with(&format!("{whole}\n{{\"time\":\"20")));
    let stderr = std::fs::read_to_string(&log).unwrap();
    assert!(
        stderr.contains(&format!(
            "audit log {}: cut off a torn record at its end (28 bytes): {{\"time\":\"2026-12-01T00:00:01",
            audit.display()
        )),
        "{stderr}"
    );

    // Rotated by renaming: the next writes after a second go to a new file.
    let rotated = dir.path().join("audit.log.1");
    std::fs::rename(&audit, &rotated).unwrap();
    std::thread::sleep(Duration::from_millis(1100));
    assert_eq!(authz(&socket, &list).1["Allow"], true);
    assert_eq!(whole_records(&audit), 1, "a new file after rotation");
    assert_eq!(whole_records(&rotated), 2);

    // Rotated, then SIGHUP: reopened at once.
    std::fs::rename(&audit, dir.path().join("audit.log.2")).unwrap();
    let hup = std::process::Command::new("kill")
        .args(["-HUP", &served.pid().to_string()])
        .status()
        .unwrap();
    assert!(hup.success());
    let waited = Instant::now();
    while !audit.exists() {
        assert!(
            waited.elapsed() < Duration::from_secs(5),
            "not reopened on SIGHUP"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(authz(&socket, &list).1["Allow"], true);
    assert_eq!(whole_records(&audit), 1);
}
