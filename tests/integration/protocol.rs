//! The plugin protocol, spoken to the real binary over its socket.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use dockgate_inputs::authz::AuthzRequest;

use crate::util::{authz, dockgate_bin, free_local_address, http_get, http_unix, Dir, Served};

#[test]
fn plugin_protocol_on_the_socket() {
    let dir = Dir::new("protocol");
    let socket = dir.path().join("p.sock");
    let audit = dir.path().join("audit.log");
    let served = Served::with_audit_log(&socket, &audit, Stdio::null());

    let (status, body) = http_unix(&socket, "POST", "/Plugin.Activate", b"");
    assert_eq!(
        (status, body.as_str()),
        (200, r#"{"Implements":["authz"]}"#)
    );

    let privileged = br#"{"Image":"testimg","User":"1000","HostConfig":{"Privileged":true}}"#;
    let (status, reply) = authz(
        &socket,
        &AuthzRequest::new("POST", "/v1.41/containers/create", Some(privileged)),
    );
    assert_eq!(status, 200);
    assert_eq!(reply["Allow"], false);
    assert_eq!(
        reply["Msg"],
        "dockgate: denied by rule privileged: privileged container (HostConfig.Privileged=true); \
         remove --privileged and add only the capability or device the workload needs (dockgate explain privileged)"
    );
    assert!(reply.get("Err").is_none());

    let (_, reply) = authz(
        &socket,
        &AuthzRequest::new("GET", "/v1.41/containers/json", None),
    );
    assert_eq!(reply, serde_json::json!({"Allow": true}));

    let (status, body) = http_unix(&socket, "POST", "/AuthZPlugin.AuthZReq", b"{not json");
    assert_eq!(status, 200);
    let reply: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(reply["Allow"], false);
    assert_eq!(
        reply["Err"],
        "dockgate: denied: cannot read the daemon's AuthZ request: key must be a string at line 1 column 2"
    );

    let (status, body) = http_unix(&socket, "POST", "/AuthZPlugin.AuthZRes", b"{}");
    assert_eq!((status, body.as_str()), (200, r#"{"Allow":true}"#));
    let (status, _) = http_unix(&socket, "POST", "/VolumeDriver.Mount", b"{}");
    assert_eq!(status, 404);

    let status = served.stop().status;
    assert!(status.success(), "{status:?}");
    assert!(!socket.exists(), "the socket is removed on SIGTERM");
    let records: Vec<serde_json::Value> = std::fs::read_to_string(&audit)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let decisions: Vec<_> = records
        .iter()
        .map(|r| {
            (
                r["endpoint"].as_str().unwrap(),
                r["decision"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        decisions,
        [
            ("container.create", "deny"),
            ("container.list", "allow"),
            ("unreadable", "deny")
        ],
        "one audit record per decision"
    );
}

#[test]
fn serve_without_arguments_enforces_the_baseline() {
    let _turn = crate::util::etc_dockgate_lock();
    let socket = Path::new("/run/docker/plugins/dockgate.sock");
    if socket.exists() || Path::new("/etc/dockgate/policy.toml").exists() {
        eprintln!("a dockgate is installed on this machine; not touching its socket");
        return;
    }
    if std::fs::create_dir_all("/run/docker/plugins").is_err() {
        eprintln!("cannot create /run/docker/plugins (not root); skipping");
        return;
    }
    let served = Served::start(&[], socket, Stdio::piped());
    let (_, reply) = authz(
        socket,
        &AuthzRequest::new(
            "POST",
            "/containers/create",
            Some(br#"{"Image":"x","HostConfig":{"Binds":["/:/host"]}}"#),
        ),
    );
    assert_eq!(reply["Allow"], false);
    assert!(reply["Msg"]
        .as_str()
        .unwrap()
        .starts_with("dockgate: denied by rule host-mount: "));
    let output = served.stop();
    assert!(output.status.success());
    let audit = String::from_utf8(output.stdout).unwrap();
    assert!(
        audit.contains(r#""decision":"deny","rules":["host-mount","docker-socket""#),
        "{audit}"
    );
    assert!(!socket.exists());
}

#[test]
fn reload_on_change_and_metrics() {
    let dir = Dir::new("reload");
    let socket = dir.path().join("r.sock");
    let policy = dir.path().join("policy.toml");
    std::fs::write(&policy, "").unwrap();
    let metrics_addr = free_local_address();
    let served = Served::start(
        &[
            "--socket",
            socket.to_str().unwrap(),
            "--policy",
            policy.to_str().unwrap(),
            "--metrics-addr",
            &metrics_addr,
        ],
        &socket,
        Stdio::null(),
    );
    let privileged = AuthzRequest::new(
        "POST",
        "/containers/create",
        Some(br#"{"Image":"x","User":"1000","HostConfig":{"Privileged":true}}"#),
    );
    assert_eq!(authz(&socket, &privileged).1["Allow"], false);
    let unknown = AuthzRequest::new("POST", "/v1.41/made-up/path-7f3a", None);
    assert_eq!(authz(&socket, &unknown).1["Allow"], false);

    // An editor replaces the file by renaming a new one over it.
    let staged = dir.path().join("policy.toml.new");
    std::fs::write(&staged, "mode = \"warn\"\n").unwrap();
    std::fs::rename(&staged, &policy).unwrap();
    let start = Instant::now();
    while authz(&socket, &privileged).1["Allow"] != true {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "the changed policy was not loaded"
        );
        std::thread::sleep(Duration::from_millis(100));
    }

    // An invalid file never replaces the working policy.
    std::fs::write(&policy, "mode = \"loud\"\n").unwrap();
    let start = Instant::now();
    loop {
        let text = http_get(&metrics_addr, "/metrics");
        if text.contains("dockgate_policy_reloads_total{result=\"error\"} 1") {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "no failed reload counted:\n{text}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(
        authz(&socket, &privileged).1["Allow"],
        true,
        "still the warn-mode policy"
    );

    let text = http_get(&metrics_addr, "/metrics");
    assert!(text.starts_with("HTTP/1.1 200 OK"));
    let warn_hash = dockgate_rules::Policy::from_toml("mode = \"warn\"\n")
        .unwrap()
        .hash()
        .to_string();
    for line in [
        "dockgate_policy_reloads_total{result=\"ok\"} 1".to_string(),
        format!("dockgate_policy_info{{hash=\"{warn_hash}\"}} 1"),
        "dockgate_decisions_total{endpoint=\"container.create\",decision=\"deny\"} 1".to_string(),
        "dockgate_rule_findings_total{endpoint=\"container.create\",rule=\"privileged\",action=\"deny\"} 1".to_string(),
        "dockgate_decision_seconds_bucket{le=\"5.0\"}".to_string(),
        "dockgate_decisions_total{endpoint=\"unknown\",decision=\"deny\"} 1".to_string(),
        "dockgate_rule_findings_total{endpoint=\"unknown\",rule=\"unknown-endpoint\",action=\"deny\"} 1".to_string(),
    ] {
        assert!(text.contains(&line), "{line} missing:\n{text}");
    }
    // A client's paths never become label values.
    assert!(!text.contains("path-7f3a"), "{text}");
    let status = served.stop().status;
    assert!(status.success());
}

/// A service manager's socket at `socket`, which runs the shell command
/// `script` on the first connection with the socket as file descriptor 3,
/// as a systemd socket unit does; returns once the socket exists.
fn socket_activated(socket: &Path, script: &str) -> std::process::Child {
    let activate = Path::new("/usr/bin/systemd-socket-activate");
    assert!(
        activate.exists(),
        "systemd-socket-activate is missing: scripts/test installs the systemd package"
    );
    let manager = Command::new(activate)
        .arg("-l")
        .arg(socket)
        .args(["sh", "-c", script])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while !socket.exists() {
        assert!(start.elapsed() < Duration::from_secs(10));
        std::thread::sleep(Duration::from_millis(20));
    }
    manager
}

#[test]
fn restarts_under_socket_activation_lose_no_request() {
    let dir = Dir::new("activation");
    let socket = dir.path().join("a.sock");
    let audit = dir.path().join("audit.log");
    // Like a systemd socket unit: the socket outlives each dockgate process,
    // and the loop starts the next one with LISTEN_PID set to its own pid.
    let inner = format!(
        "export LISTEN_PID=$$; exec {} serve --socket {} --docker-host unix:///nonexistent/docker.sock --audit-log {}",
        dockgate_bin().display(),
        socket.display(),
        audit.display()
    );
    let mut manager = socket_activated(&socket, &format!("while :; do sh -c '{inner}'; done"));
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let client = {
        let (stop, socket) = (stop.clone(), socket.clone());
        std::thread::spawn(move || {
            let request = AuthzRequest::new("GET", "/v1.41/containers/json", None);
            let (mut ok, mut failed) = (0u32, Vec::new());
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                let (status, reply) = authz(&socket, &request);
                if status == 200 && reply["Allow"] == true {
                    ok += 1;
                } else {
                    failed.push(format!("status {status}: {reply}"));
                }
            }
            (ok, failed)
        })
    };
    let mut restarts = 0;
    for _ in 0..3 {
        std::thread::sleep(Duration::from_millis(300));
        // Only dockgate itself, not the shells whose command lines name it.
        let pattern = format!(
            "^{} serve --socket {}",
            dockgate_bin().display(),
            socket.display()
        );
        let out = Command::new("pgrep")
            .args(["-f", &pattern])
            .output()
            .unwrap();
        for pid in String::from_utf8_lossy(&out.stdout).split_whitespace() {
            if Command::new("kill")
                .args(["-TERM", pid])
                .status()
                .unwrap()
                .success()
            {
                restarts += 1;
            }
        }
    }
    std::thread::sleep(Duration::from_millis(300));
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let (ok, failed) = client.join().unwrap();
    let _ = manager.kill();
    let _ = manager.wait();
    let pattern = format!(
        "^{} serve --socket {}",
        dockgate_bin().display(),
        socket.display()
    );
    let _ = Command::new("pkill").args(["-f", &pattern]).status();
    assert!(restarts >= 3, "{restarts} restarts");
    assert!(ok > 100, "only {ok} requests went through");
    assert!(
        failed.is_empty(),
        "{} of {} requests failed: {:?}",
        failed.len(),
        ok as usize + failed.len(),
        &failed[..failed.len().min(5)]
    );
}

#[test]
fn audit_records_reach_syslog_and_a_dead_server_blocks_nothing() {
    let dir = Dir::new("syslog");
    let receiver = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    receiver
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let url = format!("udp://{}", receiver.local_addr().unwrap());
    let socket = dir.path().join("s.sock");
    let served = Served::start(
        &["--socket", socket.to_str().unwrap(), "--syslog", &url],
        &socket,
        Stdio::null(),
    );
    let privileged = AuthzRequest::new(
        "POST",
        "/containers/create",
        Some(br#"{"Image":"x","User":"1000","HostConfig":{"Privileged":true}}"#),
    );
    assert_eq!(authz(&socket, &privileged).1["Allow"], false);
    let mut buf = [0u8; 65536];
    let n = receiver.recv(&mut buf).expect("a syslog datagram");
    let message = String::from_utf8_lossy(&buf[..n]).into_owned();
    // <authpriv.warning>1 TIMESTAMP HOST dockgate PID gate [SD] JSON
    assert!(message.starts_with("<84>1 20"), "{message}");
    assert!(message.contains(" dockgate "), "{message}");
    assert!(
        message.contains(r#"[dockgate@32473 source="gate" decision="deny" endpoint="container.create" method="POST" rules="privileged" policy="sha256:"#),
        "{message}"
    );
    assert!(
        message.ends_with("}"),
        "the audit JSON is the message: {message}"
    );
    assert!(served.stop().status.success());

    // Nothing listens on this TCP port: decisions still come at once.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let socket = dir.path().join("t.sock");
    let served = Served::start(
        &[
            "--socket",
            socket.to_str().unwrap(),
            "--syslog",
            &format!("tcp://{closed}"),
        ],
        &socket,
        Stdio::null(),
    );
    // Each answer arrives (the client would time out otherwise).
    for _ in 0..200 {
        assert_eq!(authz(&socket, &privileged).1["Allow"], false);
    }
    assert!(served.stop().status.success());
}

#[test]
fn large_responses_keep_the_connection_usable() {
    use std::io::{Read, Write};
    let dir = Dir::new("keepalive");
    let socket = dir.path().join("k.sock");
    let served = Served::start(
        &["--socket", socket.to_str().unwrap()],
        &socket,
        Stdio::null(),
    );
    let mut stream = std::os::unix::net::UnixStream::connect(&socket).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    // The daemon sends the whole response it is about to return, here 20 MiB
    // (over the 16 MiB a request may have): it must be accepted, and the
    // same connection must serve the next request.
    let big = vec![b' '; 20 << 20];
    write!(
        stream,
        "POST /AuthZPlugin.AuthZRes HTTP/1.1\r\nHost: p\r\nContent-Length: {}\r\n\r\n",
        big.len()
    )
    .unwrap();
    stream.write_all(&big).unwrap();
    let next = serde_json::to_vec(&AuthzRequest::new("GET", "/v1.41/info", None)).unwrap();
    write!(
        stream,
        "POST /AuthZPlugin.AuthZReq HTTP/1.1\r\nHost: p\r\nConnection: close\r\nContent-Length: {}\r\n\r\n",
        next.len()
    )
    .unwrap();
    stream.write_all(&next).unwrap();
    let mut replies = String::new();
    stream.read_to_string(&mut replies).unwrap();
    assert_eq!(replies.matches("HTTP/1.1 200 OK").count(), 2, "{replies}");
    assert_eq!(replies.matches(r#"{"Allow":true}"#).count(), 2, "{replies}");
    assert!(served.stop().status.success());
}

fn resident_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// 100,000 decisions over 64 keep-alive connections: no transport error,
/// exactly one audit record per decision, and memory that stays flat
/// between the first and the last tenth of the run.
#[test]
fn soak() {
    use std::io::{BufRead, BufReader, Read, Write};
    use std::sync::atomic::{AtomicUsize, Ordering};
    const TOTAL: usize = 100_000;
    const CONNECTIONS: usize = 64;
    let dir = Dir::new("soak");
    let socket = dir.path().join("soak.sock");
    let audit = dir.path().join("audit.log");
    let served = Served::start(
        &[
            "--socket",
            socket.to_str().unwrap(),
            "--audit-log",
            audit.to_str().unwrap(),
        ],
        &socket,
        Stdio::null(),
    );
    let pid = served.pid();
    let mix: Vec<Vec<u8>> = [
        AuthzRequest::new("GET", "/v1.41/containers/json", None),
        AuthzRequest::new(
            "POST",
            "/v1.41/containers/create",
            Some(br#"{"Image":"x","User":"1000","HostConfig":{"Privileged":true}}"#),
        ),
        AuthzRequest::new(
            "POST",
            "/v1.41/containers/create",
            Some(br#"{"Image":"x","User":"1000","HostConfig":{"Binds":["data:/d"]}}"#),
        ),
        AuthzRequest::new("DELETE", "/v1.41/containers/x?force=1", None),
    ]
    .iter()
    .map(|r| serde_json::to_vec(r).unwrap())
    .collect();
    let next = std::sync::Arc::new(AtomicUsize::new(0));
    let samples = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let workers: Vec<_> = (0..CONNECTIONS)
        .map(|_| {
            let (next, samples, mix, socket) = (next.clone(), samples.clone(), mix.clone(), socket.clone());
            std::thread::spawn(move || {
                let stream = std::os::unix::net::UnixStream::connect(&socket).unwrap();
                stream.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
                let mut writer = stream.try_clone().unwrap();
                let mut reader = BufReader::new(stream);
                let mut errors = 0usize;
                loop {
                    let n = next.fetch_add(1, Ordering::SeqCst);
                    if n >= TOTAL {
                        return errors;
                    }
                    if n == TOTAL / 10 || n == TOTAL * 9 / 10 {
                        samples.lock().unwrap().push((n, resident_kib(pid)));
                    }
                    let body = &mix[n % mix.len()];
                    let head = format!(
                        "POST /AuthZPlugin.AuthZReq HTTP/1.1\r\nHost: p\r\nContent-Length: {}\r\n\r\n",
                        body.len()
                    );
                    if writer.write_all(head.as_bytes()).and_then(|_| writer.write_all(body)).is_err() {
                        errors += 1;
                        continue;
                    }
                    let mut length = 0;
                    let mut line = String::new();
                    loop {
                        line.clear();
                        if reader.read_line(&mut line).unwrap_or(0) == 0 {
                            return errors + 1;
                        }
                        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                            length = v.trim().parse().unwrap_or(0);
                        }
                        if line == "\r\n" {
                            break;
                        }
                    }
                    let mut reply = vec![0; length];
                    if reader.read_exact(&mut reply).is_err() || !reply.starts_with(b"{\"Allow\":") {
                        errors += 1;
                    }
                }
            })
        })
        .collect();
    let errors: usize = workers.into_iter().map(|w| w.join().unwrap()).sum();
    assert_eq!(errors, 0, "transport errors");
    let samples = samples.lock().unwrap().clone();
    assert!(served.stop().status.success());
    let records = std::fs::read_to_string(&audit).unwrap().lines().count();
    assert_eq!(records, TOTAL, "one audit record per decision");
    let first = samples.iter().find(|(n, _)| *n == TOTAL / 10).unwrap().1;
    let last = samples
        .iter()
        .find(|(n, _)| *n == TOTAL * 9 / 10)
        .unwrap()
        .1;
    // Flat: allocator noise only, not growth with the number of decisions.
    assert!(
        last <= first + first / 4 + 2048,
        "memory grew from {first} KiB to {last} KiB"
    );
}

/// The daemon's answer to a create it forwarded: what `/AuthZPlugin.AuthZRes`
/// receives.
fn create_answered(body: &[u8], status: u16, id: &str) -> Vec<u8> {
    use base64::Engine;
    let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
    serde_json::to_vec(&serde_json::json!({
        "User": "",
        "UserAuthNMethod": "",
        "RequestMethod": "POST",
        "RequestURI": "/v1.41/containers/create?name=web",
        "RequestBody": b64(body),
        "RequestHeaders": {"Content-Type": "application/json"},
        "ResponseStatusCode": status,
        "ResponseBody": b64(format!(r#"{{"Id":"{id}","Warnings":[]}}"#).as_bytes()),
        "ResponseHeaders": {"Content-Type": "application/json"},
    }))
    .unwrap()
}

/// A container created through the gate is judged at its start by the
/// create the gate saw, without asking the daemon (here unreachable); a
/// create the daemon refused teaches nothing.
#[test]
fn created_containers_are_remembered() {
    let dir = Dir::new("learn");
    let socket = dir.path().join("l.sock");
    let served = Served::start(
        &["--socket", socket.to_str().unwrap()],
        &socket,
        Stdio::null(),
    );
    let plain = br#"{"Image":"testimg","User":"1000","Cmd":["true"]}"#;
    let id = "4f2c".repeat(16);
    let start = |name: &str| {
        authz(
            &socket,
            &AuthzRequest::new("POST", &format!("/v1.41/containers/{name}/start"), None),
        )
        .1
    };
    // Before: the start needs a look-up, and the daemon cannot be reached.
    let reply = start(&id);
    assert_eq!(reply["Allow"], false);
    assert!(
        reply["Msg"]
            .as_str()
            .unwrap()
            .contains("denied by rule gate-failure: cannot look up container"),
        "{reply}"
    );

    // A refused create teaches nothing.
    let (status, _) = http_unix(
        &socket,
        "POST",
        "/AuthZPlugin.AuthZRes",
        &create_answered(plain, 500, &id),
    );
    assert_eq!(status, 200);
    assert_eq!(start(&id)["Allow"], false);

    let (status, body) = http_unix(
        &socket,
        "POST",
        "/AuthZPlugin.AuthZRes",
        &create_answered(plain, 201, &id),
    );
    assert_eq!((status, body.as_str()), (200, r#"{"Allow":true}"#));
    assert_eq!(start(&id), serde_json::json!({"Allow": true}));
    // Never under its name: a name can be another container's full ID,
    // which the daemon resolves first (so the name is looked up).
    assert_eq!(start("web")["Allow"], false);
    // What is remembered is judged like the daemon's own description.
    let privileged = br#"{"Image":"testimg","User":"1000","HostConfig":{"Privileged":true}}"#;
    let other = "a1b2".repeat(16);
    http_unix(
        &socket,
        "POST",
        "/AuthZPlugin.AuthZRes",
        &create_answered(privileged, 201, &other),
    );
    let reply = start(&other);
    assert_eq!(reply["Allow"], false);
    assert!(
        reply["Msg"]
            .as_str()
            .unwrap()
            .contains("denied by rule privileged"),
        "{reply}"
    );
    assert!(served.stop().status.success());
}

#[test]
fn the_listening_line_names_the_socket_really_inherited() {
    let dir = Dir::new("activation-log");
    let socket = dir.path().join("real.sock");
    let log = dir.path().join("stderr.log");
    let inner = format!(
        "export LISTEN_PID=$$; exec {} serve --socket /nonexistent/named.sock --docker-host unix:///nonexistent/docker.sock 2>{}",
        dockgate_bin().display(),
        log.display()
    );
    let mut manager = socket_activated(&socket, &inner);
    // The first connection starts dockgate on the inherited socket.
    let request = AuthzRequest::new("GET", "/v1.41/_ping", None);
    assert_eq!(authz(&socket, &request).1["Allow"], true);
    let text = std::fs::read_to_string(&log).unwrap();
    let _ = manager.kill();
    let _ = manager.wait();
    let _ = Command::new("pkill")
        .args(["-f", "serve --socket /nonexistent/named.sock"])
        .status();
    assert!(
        text.contains(&format!(
            "dockgate gate listening socket={} activated=true",
            socket.display()
        )),
        "{text}"
    );
}
