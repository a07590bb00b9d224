//! Who is calling, on real dockerds 20.10 and 26.1: a TLS socket with
//! `--tlsverify` on 127.0.0.1 and client certificates made here with
//! openssl, the docker CLI as each user; and `dockgate proxy` serving a
//! read-only socket to a container and an operate socket to the CLI.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::harness::*;
use crate::util::{dockgate_bin, exchange, free_local_address};

/// The teams' policy, with an operator's proxy socket, and the docker
/// CLI's binary readable in containers.
fn policy_text(sockets: &Path) -> String {
    let teams = crate::util::TEAMS_POLICY.replace("SOCKETS", &sockets.display().to_string());
    format!(
        "[rules.host-mount]\nallow_read_only = [\"/usr/local/bin/docker\"]\n{teams}\n\
         [[identities]]\nname = \"ops\"\nsocket = \"{}/ops.sock\"\nrole = \"developer\"\n",
        sockets.display()
    )
}

/// Starts a container of `owner` as a TLS user; returns its ID.
fn start_owned(address: &str, certs: &Path, name: &str, owner: &str) -> String {
    let label = format!("dockgate.owner={owner}");
    let (ok, out) = as_user(
        address,
        certs,
        &[
            "run",
            "-d",
            "--name",
            name,
            "--label",
            &label,
            "--network",
            "none",
            "testimg",
            "sleep",
            "300",
        ],
    );
    assert!(ok, "{out}");
    out.lines().last().unwrap().to_string()
}

/// `openssl req` with a new P-256 key (quick to make) and no passphrase.
fn openssl_req(dir: &Path, args: &[&str]) {
    let mut all = vec![
        "req",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    all.extend_from_slice(args);
    openssl(dir, &all);
}

/// Runs openssl, which must succeed.
fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run openssl");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A key and a certificate signed by the test CA, in `dir/NAME/` as the
/// docker CLI reads them (`ca.pem`, `cert.pem`, `key.pem`).
fn certificate(dir: &Path, name: &str, subject: &str, usage: &str) -> PathBuf {
    let out = dir.join(name);
    std::fs::create_dir_all(&out).unwrap();
    let ext = out.join("ext.cnf");
    std::fs::write(
        &ext,
        format!("subjectAltName=IP:127.0.0.1\nextendedKeyUsage={usage}\n"),
    )
    .unwrap();
    let key = format!("{name}/key.pem");
    let csr = format!("{name}/req.csr");
    let cert = format!("{name}/cert.pem");
    openssl_req(dir, &["-keyout", &key, "-out", &csr, "-subj", subject]);
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            &csr,
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-out",
            &cert,
            "-extfile",
            &format!("{name}/ext.cnf"),
        ],
    );
    std::fs::copy(dir.join("ca.pem"), out.join("ca.pem")).unwrap();
    out
}

/// The docker CLI as a TLS user, whose certificates are in `certs`.
fn as_user(address: &str, certs: &Path, args: &[&str]) -> (bool, String) {
    let out = Command::new("docker")
        .args(args)
        .env("DOCKER_HOST", format!("tcp://{address}"))
        .env("DOCKER_TLS_VERIFY", "1")
        .env("DOCKER_CERT_PATH", certs)
        .env("DOCKER_CONFIG", certs)
        .output()
        .expect("run docker");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text.trim().to_string())
}

/// The docker CLI on a proxy socket.
fn proxied(socket: &Path, args: &[&str]) -> Command {
    let mut command = Command::new("docker");
    command
        .args(args)
        .env("DOCKER_HOST", format!("unix://{}", socket.display()))
        .env("DOCKER_CONFIG", socket.parent().unwrap());
    command
}

fn proxied_output(socket: &Path, args: &[&str]) -> (bool, String) {
    let out = proxied(socket, args).output().expect("run docker");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text.trim().to_string())
}

fn audit_records(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn tls_users_and_proxy_sockets_act_in_their_roles() {
    if !e2e_enabled() {
        return;
    }
    let _turn = one_daemon_at_a_time();
    for generation in [Generation::Dockerd20, Generation::Dockerd26] {
        roles_on(generation);
    }
}

/// Everything above on one daemon generation.
fn roles_on(generation: Generation) {
    let address = free_local_address();
    let mut sockets_dir = PathBuf::new();
    let written = std::cell::RefCell::new(String::new());
    let daemon = Daemon::start_with_args(generation, None, |dir| {
        let certs = dir.join("certs");
        std::fs::create_dir_all(&certs).unwrap();
        openssl_req(
            &certs,
            &[
                "-x509",
                "-keyout",
                "ca.key",
                "-out",
                "ca.pem",
                "-days",
                "2",
                "-subj",
                "/CN=dockgate test CA",
            ],
        );
        let server = certificate(&certs, "server", "/CN=localhost", "serverAuth");
        sockets_dir = dir.join("proxy");
        *written.borrow_mut() = policy_text(&sockets_dir);
        vec![
            format!("--host=tcp://{address}"),
            "--tlsverify".to_string(),
            format!("--tlscacert={}", server.join("ca.pem").display()),
            format!("--tlscert={}", server.join("cert.pem").display()),
            format!("--tlskey={}", server.join("key.pem").display()),
        ]
    });
    // The gate comes in front once the daemon runs: the daemon was
    // started without it, so it is restarted with it.
    let mut daemon = daemon;
    std::fs::write(daemon.path("policy.toml"), written.borrow().as_str()).unwrap();
    import_test_image(&daemon);
    std::fs::write(
        format!("/etc/docker/plugins/{}.spec", daemon.plugin),
        format!("unix://{}\n", daemon.path("gate.sock").display()),
    )
    .unwrap();
    daemon.start_gate();
    let plugin = daemon.plugin.clone();
    daemon.restart_dockerd_with(Some(&plugin));

    let certs = daemon.path("certs");
    let alice = certificate(&certs, "alice", "/CN=team-a-alice", "clientAuth");
    let bob = certificate(&certs, "bob", "/CN=team-b", "clientAuth");
    let mallory = certificate(&certs, "mallory", "/CN=mallory", "clientAuth");
    let nameless = certificate(&certs, "nameless", "/O=no common name", "clientAuth");

    // A create names its owner.
    let (ok, out) = as_user(&address, &alice, &["create", "--name", "bare", "testimg"]);
    assert!(!ok && out.contains("denied by rule ownership: no dockgate.owner label: the container must name its owner, one of team-a (--label dockgate.owner=team-a)"), "{out}");
    let id = start_owned(&address, &alice, "alice1", "team-a");
    let (ok, out) = as_user(
        &address,
        &alice,
        &["exec", "alice1", "sh", "-c", "echo mine"],
    );
    assert!(ok && out == "mine", "{out}");

    // Another owner's container is out of reach, by name and by ID prefix.
    let prefix = &id[..12];
    for args in [
        vec!["inspect", "alice1"],
        vec!["inspect", prefix],
        vec!["logs", "alice1"],
        vec!["exec", "alice1", "true"],
        vec!["stop", "alice1"],
        vec!["rm", "-f", "alice1"],
        vec!["cp", "alice1:/etc/passwd", "-"],
        vec![
            "run",
            "--rm",
            "--volumes-from",
            "alice1",
            "--label",
            "dockgate.owner=team-b",
            "testimg",
            "true",
        ],
    ] {
        let (ok, out) = as_user(&address, &bob, &args);
        assert!(
            !ok && out.contains("denied by rule ownership:")
                && out.contains("the caller (team-b) may act only on its own containers"),
            "team-b {args:?}: {out}"
        );
    }
    // Found by the red team: a name that is also a prefix of the
    // victim's ID, judged, then renamed away before the same reference
    // is used again, reached the victim through the gate's look-up cache.
    let bob1 = start_owned(&address, &bob, "bob1", "team-b");
    let short = &id[..4];
    let (ok, out) = as_user(&address, &bob, &["rename", "bob1", short]);
    assert!(ok, "{out}");
    let (ok, out) = as_user(&address, &bob, &["inspect", "--format", "{{.Name}}", short]);
    assert!(
        !ok && out.contains("by a name that is also an ID prefix"),
        "{out}"
    );
    // By that name it is refused whatever the action; by its full ID not.
    let (ok, out) = as_user(&address, &bob, &["rename", short, "bob1"]);
    assert!(
        !ok && out.contains("by a name that is also an ID prefix"),
        "{out}"
    );
    let (ok, out) = as_user(&address, &bob, &["rename", &bob1, "bob1"]);
    assert!(ok, "{out}");
    let (ok, out) = as_user(
        &address,
        &bob,
        &["inspect", "--format", "{{.Config.Env}}", short],
    );
    assert!(!ok && out.contains("which belongs to \"team-a\""), "{out}");
    // A link copies the linked container's environment.
    let (ok, out) = as_user(
        &address,
        &bob,
        &[
            "run",
            "--rm",
            "--link",
            "alice1:x",
            "--label",
            "dockgate.owner=team-b",
            "testimg",
            "true",
        ],
    );
    assert!(
        !ok && out.contains("link of container \"alice1\", which belongs to \"team-a\""),
        "{out}"
    );
    // Found by the second attack: a network join of a container that does
    // not exist is stored as written and looked up at every start, so it
    // reaches whoever holds that name later. Refused at create; and a join
    // made before (here by the Unix socket, which has no role) is judged
    // at start.
    let (ok, out) = as_user(
        &address,
        &bob,
        &[
            "create",
            "--label",
            "dockgate.owner=team-b",
            "--network",
            "container:alice-later",
            "testimg",
            "true",
        ],
    );
    assert!(
        !ok && out
            .contains("joins the namespaces of container \"alice-later\", which does not exist"),
        "{out}"
    );
    daemon.docker_ok(&[
        "create",
        "--name",
        "bob-joins",
        "--label",
        "dockgate.owner=team-b",
        "--network",
        "container:alice-later",
        "testimg",
        "sleep",
        "300",
    ]);
    start_owned(&address, &alice, "alice-later", "team-a");
    let (ok, out) = as_user(&address, &bob, &["start", "bob-joins"]);
    assert!(
        !ok && out.contains("join of container \"alice-later\", which belongs to \"team-a\""),
        "{out}"
    );
    // The environment leak closed, in the words the CLI shows.
    let (_, out) = as_user(&address, &bob, &["inspect", "alice1"]);
    assert!(
        out.contains("inspect of container \"alice1\", which belongs to \"team-a\""),
        "{out}"
    );
    // Lists go through (a plugin cannot filter them): names and labels,
    // never the environment.
    let (ok, out) = as_user(&address, &bob, &["ps", "--format", "{{.Names}}"]);
    assert!(ok && out.contains("alice1"), "{out}");
    // A family the role lacks.
    let (ok, out) = as_user(&address, &bob, &["tag", "testimg", "mine:1"]);
    assert!(
        !ok && out.contains(
            "denied by rule endpoint-families: POST image.tag is an endpoint of the build family"
        ),
        "{out}"
    );
    // Certificates the policy does not know.
    for certs in [&mallory, &nameless] {
        let (ok, out) = as_user(&address, certs, &["ps"]);
        assert!(
            !ok && out.contains("matches no identity in the policy"),
            "{out}"
        );
    }
    // The daemon's Unix socket keeps the file's policy.
    daemon.docker_ok(&["inspect", "alice1"]);

    let audit = audit_records(&daemon.path("audit.log"));
    let inspected: Vec<(String, String, String)> = audit
        .iter()
        .filter(|r| r["endpoint"] == "container.inspect" && r["user"] != "")
        .map(|r| {
            (
                r["user"].as_str().unwrap_or_default().to_string(),
                r["identity"].as_str().unwrap_or_default().to_string(),
                r["decision"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    assert!(
        inspected.contains(&("team-b".into(), "team-b".into(), "deny".into())),
        "{inspected:?}"
    );
    assert!(
        inspected.contains(&("team-a-alice".into(), "team-a".into(), "allow".into())),
        "{inspected:?}"
    );

    // The proxy: an operate socket for the CLI, a read-only one for a
    // container.
    let proxy_audit = daemon.path("proxy-audit.log");
    let proxy = Killed(
        Command::new(dockgate_bin())
            .arg("proxy")
            .arg("--policy")
            .arg(daemon.path("policy.toml"))
            .arg("--docker-host")
            .arg(daemon.host())
            .arg("--audit-log")
            .arg(&proxy_audit)
            .arg("--lookup-secret")
            .arg(daemon.path("lookup-secret"))
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(daemon.path("proxy.log")).unwrap())
            .spawn()
            .expect("start dockgate proxy"),
    );
    let ops = sockets_dir.join("ops.sock");
    let traefik = sockets_dir.join("traefik.sock");
    wait_for("the proxy sockets", Duration::from_secs(10), || {
        ops.exists() && traefik.exists()
    });

    let mut events = proxied(
        &ops,
        &[
            "events",
            "--format",
            "{{.Actor.Attributes.name}} {{.Action}}",
        ],
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::null())
    .spawn()
    .expect("docker events");
    let (ok, out) = proxied_output(
        &ops,
        &[
            "run",
            "-d",
            "--name",
            "ops1",
            "--label",
            "dockgate.owner=ops",
            "testimg",
            "sh",
            "-c",
            "echo started; while true; do echo tick; sleep 1; done",
        ],
    );
    assert!(ok, "{out}");
    // Another owner's container starts meanwhile; its events stay hidden.
    let (ok, out) = as_user(
        &address,
        &alice,
        &[
            "run",
            "-d",
            "--name",
            "alice2",
            "--label",
            "dockgate.owner=team-a",
            "testimg",
            "true",
        ],
    );
    assert!(ok, "{out}");
    let (ok, out) = proxied_output(&ops, &["ps", "-a", "--format", "{{.Names}}"]);
    assert!(
        ok && out == "ops1",
        "the list is cut to the caller's own: {out}"
    );
    let (ok, out) = proxied_output(&ops, &["inspect", "alice1"]);
    assert!(
        !ok && out.contains("authorization denied by dockgate proxy (identity ops)")
            && out.contains("inspect of container \"alice1\", which belongs to \"team-a\""),
        "{out}"
    );
    let (ok, out) = proxied_output(&ops, &["tag", "testimg", "x:1"]);
    assert!(!ok && out.contains("endpoint-families"), "{out}");

    // `system df` lists containers too: cut the same way.
    let (ok, out) = proxied_output(
        &ops,
        &[
            "system",
            "df",
            "-v",
            "--format",
            "{{range .Containers}}{{.Names}} {{end}}",
        ],
    );
    assert!(ok && out.trim() == "ops1", "{out}");
    // logs -f streams.
    let mut logs = proxied(&ops, &["logs", "-f", "ops1"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("docker logs -f");
    let mut lines = BufReader::new(logs.stdout.take().unwrap()).lines();
    let first: Vec<String> = (0..3).map_while(|_| lines.next()?.ok()).collect();
    assert_eq!(first, ["started", "tick", "tick"]);
    let _ = logs.kill();
    let _ = logs.wait();

    // exec -i: a hijacked connection, both ways.
    let mut exec = proxied(&ops, &["exec", "-i", "ops1", "sh"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("docker exec -i");
    exec.stdin
        .take()
        .unwrap()
        .write_all(b"echo through the proxy\nexit\n")
        .unwrap();
    let out = exec.wait_with_output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "through the proxy"
    );
    // exec -it, on a terminal.
    let line = format!(
        "DOCKER_HOST=unix://{} DOCKER_CONFIG={} docker exec -it ops1 sh -c 'echo tty; busybox tty'",
        ops.display(),
        sockets_dir.display()
    );
    let out = Command::new("script")
        .args(["-qec", &line, "/dev/null"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("tty") && text.contains("/dev/pts/"), "{text}");

    // Events: the caller's own containers only.
    std::thread::sleep(Duration::from_millis(500));
    let _ = events.kill();
    let out = events.wait_with_output().unwrap();
    let seen = String::from_utf8_lossy(&out.stdout);
    assert!(seen.contains("ops1 start"), "{seen}");
    assert!(!seen.contains("alice2"), "another owner's events: {seen}");

    // Raw requests: a chunked create hides its body from the reader, and
    // is refused.
    let chunked = b"POST /v1.41/containers/create HTTP/1.1\r\nHost: docker\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n14\r\n{\"Image\":\"testimg\"}\n\r\n0\r\n\r\n";
    let (status, text) = exchange(&ops, chunked);
    assert_eq!(status, 403, "{text}");
    assert!(text.contains("did not forward the body"), "{text}");

    // A container given the read-only socket as its Docker socket: it
    // reads, and cannot start anything.
    let socket_bind = format!("{}:/var/run/docker.sock", traefik.display());
    let out = daemon.docker_ok(&[
        "run", "--rm", "-v", &socket_bind, "-v", "/usr/local/bin/docker:/docker:ro",
        "testimg", "sh", "-c",
        "/docker ps --format '{{.Names}}'; /docker inspect --format '{{.Name}}' alice1; /docker run testimg true 2>&1 || echo refused",
    ]);
    assert!(out.contains("alice1") && out.contains("ops1"), "{out}");
    assert!(out.contains("/alice1"), "{out}");
    assert!(
        out.contains("endpoint-families") && out.contains("refused"),
        "{out}"
    );
    // Only an unrestricted caller hands out another identity's socket.
    let (ok, out) = as_user(
        &address,
        &alice,
        &[
            "run",
            "--rm",
            "-v",
            &socket_bind,
            "--label",
            "dockgate.owner=team-a",
            "testimg",
            "true",
        ],
    );
    assert!(!ok && out.contains("the dockgate proxy socket"), "{out}");

    // The patrol: every container names an owner the policy knows.
    daemon.docker_ok(&["create", "--name", "orphan", "testimg", "true"]);
    let out = Command::new(dockgate_bin())
        .args(["scan", "--all", "--format", "json", "--policy"])
        .arg(daemon.path("policy.toml"))
        .arg("--docker-host")
        .arg(daemon.host())
        .arg("--lookup-secret")
        .arg(daemon.path("lookup-secret"))
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let unowned: Vec<&str> = report["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["rule"] == "owner-label" && r["result"] == "warn")
        .filter_map(|r| r["container"]["name"].as_str())
        .collect();
    assert_eq!(unowned, ["orphan"], "{report}");

    let records = audit_records(&proxy_audit);
    assert!(records.iter().any(|r| r["identity"] == "ops"
        && r["endpoint"] == "container.inspect"
        && r["decision"] == "deny"));
    assert!(records.iter().any(|r| r["identity"] == "traefik"
        && r["endpoint"] == "container.create"
        && r["decision"] == "deny"));
    drop(proxy);
}
