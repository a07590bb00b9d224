//! Small helpers shared by the integration tests: temporary directories,
//! running the dockgate binary, captured fixtures and a daemon stand-in.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use dockgate_inputs::authz::AuthzRequest;
use dockgate_inputs::inspect::{container_from_value_with, DaemonDefaults};
use dockgate_inputs::resolve::FakeDaemon;

/// A fresh directory under the system temp dir, removed on drop.
pub struct Dir {
    path: PathBuf,
}

impl Dir {
    /// Creates `dockgate-test-<name>-<pid>-<n>`.
    pub fn new(name: &str) -> Dir {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let path =
            std::env::temp_dir().join(format!("dockgate-test-{name}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("create test dir");
        Dir { path }
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes a file and returns its path.
    pub fn create(&self, name: &str, contents: &str) -> PathBuf {
        let path = self.path.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("create test directory");
        }
        std::fs::write(&path, contents).expect("write test file");
        path
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// The dockgate binary under test.
pub fn dockgate_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_dockgate"))
}

/// Runs dockgate with arguments and captures everything.
pub struct TestCommand {
    cmd: Command,
}

impl TestCommand {
    /// `dockgate ARGS...`.
    pub fn new(args: &[&str]) -> TestCommand {
        let mut cmd = Command::new(dockgate_bin());
        cmd.args(args);
        cmd.env_remove("DOCKER_HOST");
        TestCommand { cmd }
    }

    /// Sets an environment variable.
    pub fn env(&mut self, key: &str, value: &str) -> &mut TestCommand {
        self.cmd.env(key, value);
        self
    }

    /// Runs it in `dir`.
    pub fn current_dir(&mut self, dir: &Path) -> &mut TestCommand {
        self.cmd.current_dir(dir);
        self
    }

    /// Runs it.
    pub fn output(mut self) -> Output {
        self.cmd.output().expect("run dockgate")
    }

    /// Runs it and returns (exit code, stdout, stderr).
    pub fn run(self) -> (i32, String, String) {
        let out = self.output();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }
}

/// The repository's captured fixtures.
pub fn fixture_path(relative: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/captured")
        .join(relative)
}

/// Reads a fixture.
pub fn fixture(relative: &str) -> Vec<u8> {
    std::fs::read(fixture_path(relative)).unwrap_or_else(|e| panic!("fixture {relative}: {e}"))
}

/// A captured AuthZ exchange: the command and its requests.
pub fn captured(name: &str) -> (String, Vec<AuthzRequest>) {
    let doc: serde_json::Value =
        serde_json::from_slice(&fixture(&format!("authz/{name}.json"))).unwrap();
    let requests = serde_json::from_value(doc["requests"].clone()).unwrap();
    (doc["command"].as_str().unwrap().to_string(), requests)
}

/// A daemon that answers look-ups from captured `docker inspect` documents,
/// the way the daemon that produced them would: the captured containers
/// under their names, `runner` as a plain container, the `etcvol` volume
/// and the `testimg` image.
pub fn captured_daemon() -> FakeDaemon {
    let mut daemon = FakeDaemon::new();
    for name in [
        "i-bind",
        "i-bindvol",
        "i-hostns",
        "i-plain",
        "i-priv",
        "i-secopts",
        "i-sock",
        "i-volfrom",
    ] {
        // The captures come from a cgroup v1 host, where sharing the
        // host's cgroup namespace is the default.
        let doc: serde_json::Value =
            serde_json::from_slice(&fixture(&format!("inspect/{name}.json"))).unwrap();
        let workload = container_from_value_with(
            &doc,
            DaemonDefaults {
                cgroupns_host: true,
            },
        )
        .unwrap();
        daemon = daemon.container(name, workload);
    }
    let volume: serde_json::Value =
        serde_json::from_slice(&fixture("inspect/volume-etcvol.json")).unwrap();
    let options: Vec<(String, String)> = volume[0]["Options"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
        .collect();
    let options: Vec<(&str, &str)> = options
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let image: serde_json::Value =
        serde_json::from_slice(&fixture("inspect/image-testimg.json")).unwrap();
    daemon
        .alias("runner", "i-plain")
        .volume("etcvol", "local", &options)
        .image("testimg", image[0]["Config"]["User"].as_str().unwrap(), &[])
}

/// Sends raw bytes over a Unix socket and reads until the peer closes;
/// returns the status code (0 when there is none) and the whole response.
pub fn exchange(socket: &Path, request: &[u8]) -> (u16, String) {
    use std::io::{Read, Write};
    let mut stream = std::os::unix::net::UnixStream::connect(socket).expect("connect");
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .unwrap();
    // The server may answer (and close) before reading a large body.
    let _ = stream.write_all(request);
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response);
    let text = String::from_utf8_lossy(&response).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, text)
}

/// Sends one HTTP/1.1 request over a Unix socket; returns status and body.
pub fn http_unix(socket: &Path, method: &str, target: &str, body: &[u8]) -> (u16, String) {
    let mut request = format!(
        "{method} {target} HTTP/1.1\r\nHost: plugin\r\nConnection: close\r\n\
         Content-Type: application/vnd.docker.plugins.v1.2+json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    request.extend_from_slice(body);
    let (status, text) = exchange(socket, &request);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

/// Tests that write `/etc/dockgate` (the default policy file, the Debian
/// package's conffile) take turns.
pub fn etc_dockgate_lock() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// `dockgate serve` running until dropped (killed) or stopped (SIGTERM).
pub struct Served {
    child: Option<Child>,
}

impl Served {
    /// Starts it and waits for its socket; its stderr is dropped.
    pub fn start(args: &[&str], socket: &Path, stdout: Stdio) -> Served {
        Served::start_with(args, socket, stdout, Stdio::null())
    }

    /// Starts it with the built-in policy and an audit log file.
    pub fn with_audit_log(socket: &Path, audit: &Path, stderr: Stdio) -> Served {
        let (socket_arg, audit_arg) = (socket.to_str().unwrap(), audit.to_str().unwrap());
        let args = ["--socket", socket_arg, "--audit-log", audit_arg];
        Served::start_with(&args, socket, Stdio::null(), stderr)
    }

    /// Starts it with its stderr where the test wants it.
    pub fn start_with(args: &[&str], socket: &Path, stdout: Stdio, stderr: Stdio) -> Served {
        let child = Command::new(dockgate_bin())
            .arg("serve")
            .args(args)
            .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
            .stdout(stdout)
            .stderr(stderr)
            .spawn()
            .expect("start dockgate");
        let start = Instant::now();
        while !socket.exists() {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "no socket at {}",
                socket.display()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Served { child: Some(child) }
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, |c| c.id())
    }

    /// SIGTERM, then everything it printed on stdout.
    pub fn stop(mut self) -> std::process::Output {
        let child = self.child.take().unwrap();
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        child.wait_with_output().unwrap()
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Asks the plugin at `socket` about one request; the status and the reply.
pub fn authz(socket: &Path, request: &AuthzRequest) -> (u16, serde_json::Value) {
    let body = serde_json::to_vec(request).unwrap();
    let (status, text) = http_unix(socket, "POST", "/AuthZPlugin.AuthZReq", &body);
    (
        status,
        serde_json::from_str(&text).unwrap_or(serde_json::Value::Null),
    )
}

/// A plain HTTP GET over TCP (the metrics endpoint); the whole response.
pub fn http_get(addr: &str, path: &str) -> String {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).expect("connect metrics");
    let _ = write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    );
    let mut text = String::new();
    let _ = stream.read_to_string(&mut text);
    text
}

/// A loopback address with a port nothing listens on now (for
/// `--metrics-addr`).
pub fn free_local_address() -> String {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    format!("127.0.0.1:{port}")
}

/// A policy of two teams on TLS certificates and a Traefik proxy socket
/// under `SOCKETS` (replaced by the test), for the identity tests.
pub const TEAMS_POLICY: &str = r#"
[[identities]]
name = "team-a"
tls = "team-a-*"
role = "developer"

[[identities]]
name = "team-b"
tls = "team-b"
role = "developer"

[[identities]]
name = "traefik"
socket = "SOCKETS/traefik.sock"
role = "reader"

[roles.developer]
endpoints = ["read-only", "operate"]

[roles.reader]
endpoints = ["read-only"]
others = ["inspect"]
"#;
