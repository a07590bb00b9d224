//! The one harness for every test against a real daemon: a private
//! dockerd of either generation (Debian 12's 20.10, Debian 13's 26.1),
//! with the gate as its authorization plugin or without, the test image,
//! and case tables of requests with what must come of them.
//!
//! Needs root, `dockerd`, `docker` and a static busybox (`scripts/test`
//! installs them, and fetches Debian 13's dockerd, buildx and compose).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::util::{dockgate_bin, Dir};

/// Private daemons share host-wide state (network namespaces under
/// /var/run/docker, containerd shims) and two cores; tests that start one
/// take turns.
pub fn one_daemon_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// Which dockerd a test runs against: the gate must read requests as each
/// supported generation does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Generation {
    /// Debian 12's docker.io: dockerd 20.10, API 1.41, oldest API 1.12.
    Dockerd20,
    /// Debian 13's docker.io: dockerd 26.1, API 1.45, oldest API 1.24.
    Dockerd26,
}

impl Generation {
    /// The dockerd binary, and a directory its helpers (docker-init,
    /// docker-proxy) are found in.
    fn dockerd(self) -> (PathBuf, Option<PathBuf>) {
        match self {
            Generation::Dockerd20 => (PathBuf::from("dockerd"), None),
            Generation::Dockerd26 => {
                let root = debian13_root();
                (root.join("usr/sbin/dockerd"), Some(root.join("usr/bin")))
            }
        }
    }

    /// The daemon's version string starts with this.
    pub fn version_prefix(self) -> &'static str {
        match self {
            Generation::Dockerd20 => "20.10.",
            Generation::Dockerd26 => "26.1.",
        }
    }
}

/// Where `scripts/debian13-tools` put Debian 13's dockerd, buildx and
/// compose (`DOCKGATE_DEBIAN13` overrides).
pub fn debian13_root() -> PathBuf {
    let root = std::env::var_os("DOCKGATE_DEBIAN13")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/target/debian13/root"))
        });
    assert!(
        root.join("usr/sbin/dockerd").exists(),
        "Debian 13's dockerd is not at {}: run scripts/debian13-tools (scripts/test does)",
        root.display()
    );
    root
}

/// A private dockerd, with dockgate as its authorization plugin or without.
pub struct Daemon {
    dir: Dir,
    /// Which dockerd this is.
    pub generation: Generation,
    /// The plugin name the daemon knows the gate by.
    pub plugin: String,
    spec: PathBuf,
    /// The gate, while it runs.
    pub gate: Option<Child>,
    dockerd: Option<Child>,
    /// More dockerd arguments (a TLS socket, say).
    extra: Vec<String>,
}

fn short_dir() -> Dir {
    // Unix socket paths must stay under 108 bytes.
    Dir::new("e2e")
}

/// Polls until `ready`, failing the test after `timeout`.
pub fn wait_for(what: &str, timeout: Duration, mut ready: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ready() {
        assert!(start.elapsed() < timeout, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Sends a signal (`-TERM`, `-HUP`) to a child.
pub fn signal(child: &Child, sig: &str) {
    let _ = Command::new("kill")
        .args([sig, &child.id().to_string()])
        .status();
}

/// Waits for a child to exit, up to `timeout`.
pub fn wait_exit(child: &mut Child, timeout: Duration) -> Option<std::process::ExitStatus> {
    let start = Instant::now();
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        if start.elapsed() > timeout {
            return None;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

impl Daemon {
    /// Starts a private dockerd 20.10, behind a gate when a policy is given.
    pub fn start_with(policy: Option<&str>) -> Daemon {
        Daemon::start_on(Generation::Dockerd20, policy)
    }

    /// Starts a private dockerd of a generation, behind a gate when a
    /// policy is given.
    pub fn start_on(generation: Generation, policy: Option<&str>) -> Daemon {
        Daemon::start_with_args(generation, policy, |_| Vec::new())
    }

    /// Starts a private dockerd with more arguments, which may name files
    /// in its directory (given).
    pub fn start_with_args(
        generation: Generation,
        policy: Option<&str>,
        extra: impl FnOnce(&Path) -> Vec<String>,
    ) -> Daemon {
        let dir = short_dir();
        let extra = extra(dir.path());
        // One name per daemon: tests run side by side, and a name shared
        // by the process would let one daemon read another's spec file and
        // ask another test's gate.
        static DAEMONS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = DAEMONS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let plugin = format!("dge2e{}x{n}", std::process::id());
        let spec = PathBuf::from(format!("/etc/docker/plugins/{plugin}.spec"));
        std::fs::create_dir_all("/etc/docker/plugins").expect("create /etc/docker/plugins");
        let mut daemon = Daemon {
            generation,
            plugin,
            spec,
            gate: None,
            dockerd: None,
            dir,
            extra,
        };
        if let Some(policy) = policy {
            std::fs::write(daemon.path("policy.toml"), policy).unwrap();
            std::fs::write(
                &daemon.spec,
                format!("unix://{}\n", daemon.path("gate.sock").display()),
            )
            .unwrap();
            daemon.start_gate();
        }
        daemon.spawn_dockerd(policy.is_none());
        daemon
    }

    /// A path in the daemon's directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Writes the daemon's configuration file (`daemon.json`); it applies
    /// from the next start. Private daemons never read the host's own.
    pub fn configure(&self, daemon_json: &str) {
        std::fs::write(self.path("daemon.json"), daemon_json).unwrap();
    }

    /// Stops dockerd and starts it again on the same data.
    pub fn restart_dockerd(&mut self) {
        let authz = self.spec.exists().then(|| self.plugin.clone());
        self.restart_dockerd_with(authz.as_deref());
    }

    /// Restarts dockerd with this authorization plugin (a managed plugin's
    /// name, say) or with none. Denials then name that plugin.
    pub fn restart_dockerd_with(&mut self, authz: Option<&str>) {
        if let Some(mut dockerd) = self.dockerd.take() {
            signal(&dockerd, "-TERM");
            wait_exit(&mut dockerd, Duration::from_secs(30)).expect("dockerd stops");
        }
        if let Some(name) = authz {
            self.plugin = name.to_string();
        }
        self.spawn_dockerd(authz.is_none());
    }

    fn spawn_dockerd(&mut self, without_gate: bool) {
        let d = self.dir.path().to_path_buf();
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(d.join("dockerd.log"))
            .unwrap();
        let (binary, helpers) = self.generation.dockerd();
        let mut path = std::env::var("PATH").unwrap_or_default();
        if let Some(dir) = helpers {
            path = format!("{}:{path}", dir.display());
        }
        // The CLI finds buildx and compose (Debian 13's) through its config.
        let config = self.path("cli-config");
        std::fs::create_dir_all(&config).unwrap();
        let plugins = debian13_root().join("usr/libexec/docker/cli-plugins");
        std::fs::write(
            config.join("config.json"),
            serde_json::json!({ "cliPluginsExtraDirs": [plugins] }).to_string(),
        )
        .unwrap();
        let config_file = d.join("daemon.json");
        if !config_file.exists() {
            std::fs::write(&config_file, "{}\n").unwrap();
        }
        let dockerd = Command::new(binary)
            .env("PATH", path)
            .arg("--config-file")
            .arg(&config_file)
            .arg("--host")
            .arg(format!("unix://{}", d.join("docker.sock").display()))
            .arg("--data-root")
            .arg(d.join("data"))
            .arg("--exec-root")
            .arg(d.join("exec"))
            .arg("--pidfile")
            .arg(d.join("docker.pid"))
            .args(["--bridge", "none", "--iptables=false"])
            .args((!without_gate).then(|| format!("--authorization-plugin={}", self.plugin)))
            .args(&self.extra)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start dockerd");
        self.dockerd = Some(dockerd);
        wait_for("dockerd", Duration::from_secs(60), || {
            self.docker(&["version"]).status.success()
        });
    }

    /// Starts the gate on the policy file.
    pub fn start_gate(&mut self) {
        let socket = self.path("gate.sock");
        let gate = Command::new(dockgate_bin())
            .arg("serve")
            .arg("--policy")
            .arg(self.path("policy.toml"))
            .arg("--socket")
            .arg(&socket)
            .arg("--docker-host")
            .arg(format!("unix://{}", self.path("docker.sock").display()))
            .arg("--audit-log")
            .arg(self.path("audit.log"))
            .arg("--lookup-secret")
            .arg(self.path("lookup-secret"))
            // A tiny look-up budget: concurrent requests whose look-ups come
            // back to the gate as GETs must still never deadlock.
            .args(["--max-lookups", "2"])
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(self.path("gate.log")).unwrap())
            .spawn()
            .expect("start dockgate");
        self.gate = Some(gate);
        wait_for("the gate socket", Duration::from_secs(10), || {
            socket.exists()
        });
    }

    /// Runs setup commands, each of which must succeed.
    pub fn setup(&self, commands: &[Vec<&str>]) {
        for args in commands {
            self.docker_ok(args);
        }
    }

    /// Runs the docker CLI, insists on success, and returns its output.
    pub fn docker_ok(&self, args: &[&str]) -> String {
        let out = self.docker(args);
        assert!(
            out.status.success(),
            "docker {args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// Runs the docker CLI against this daemon.
    pub fn docker(&self, args: &[&str]) -> Output {
        self.docker_command(args).output().expect("run docker")
    }

    /// The docker CLI set up for this daemon, with Debian 13's buildx and
    /// compose as its plugins.
    pub fn docker_command(&self, args: &[&str]) -> Command {
        let mut command = Command::new("docker");
        command
            .args(args)
            .env(
                "DOCKER_HOST",
                format!("unix://{}", self.path("docker.sock").display()),
            )
            .env("DOCKER_CONFIG", self.path("cli-config"));
        command
    }

    /// Replaces the policy and reloads it with SIGHUP.
    pub fn reload(&self, policy: &str) {
        std::fs::write(self.path("policy.toml"), policy).unwrap();
        let log = self.path("gate.log");
        let count = || {
            std::fs::read_to_string(&log)
                .unwrap_or_default()
                .matches("policy reloaded")
                .count()
        };
        let before = count();
        signal(self.gate.as_ref().unwrap(), "-HUP");
        wait_for("the policy reload", Duration::from_secs(10), || {
            count() > before
        });
    }

    /// Sends raw bytes to the daemon's socket; returns status and response.
    pub fn api(&self, request: &[u8]) -> (u16, String) {
        crate::util::exchange(&self.path("docker.sock"), request)
    }

    /// A GET on the daemon's API, its JSON answer parsed.
    pub fn get_json(&self, target: &str) -> serde_json::Value {
        let (status, text) = self.api(&http("GET", target, &[], b""));
        assert_eq!(status, 200, "GET {target}: {text}");
        let body = text
            .split_once("\r\n\r\n")
            .map(|(_, b)| b)
            .unwrap_or_default();
        serde_json::from_str(body).unwrap_or_else(|e| panic!("GET {target}: {e}: {body}"))
    }

    /// Whether a container of that name exists.
    pub fn container_exists(&self, name: &str) -> bool {
        let out = self.docker(&["ps", "-aq", "--filter", &format!("name=^/{name}$")]);
        !String::from_utf8_lossy(&out.stdout).trim().is_empty()
    }

    /// Whether a volume of that name exists.
    pub fn volume_exists(&self, name: &str) -> bool {
        self.docker(&["volume", "inspect", name]).status.success()
    }

    fn inspect(&self, name: &str, format: &str) -> String {
        let out = self.docker(&["inspect", "--format", format, name]);
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// The daemon's address for `--docker-host`.
    pub fn host(&self) -> String {
        format!("unix://{}", self.path("docker.sock").display())
    }

    /// Removes what the tests made while the gate still answers.
    pub fn clean(&self) {
        let out = self.docker(&["ps", "-aq"]);
        let ids: Vec<String> = String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .map(str::to_string)
            .collect();
        if !ids.is_empty() {
            let mut args = vec!["rm", "-f", "-v"];
            args.extend(ids.iter().map(String::as_str));
            self.docker(&args);
        }
        self.docker(&["volume", "prune", "-f", "--all"]);
        self.docker(&["volume", "prune", "-f"]);
        // A user-defined network's bridge outlives the daemon, and each
        // takes one of the host's few default address pools.
        self.docker(&["network", "prune", "-f"]);
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if self.dockerd.is_some() && (self.gate.is_some() || !self.spec.exists()) {
            self.clean();
        }
        if let Some(mut dockerd) = self.dockerd.take() {
            signal(&dockerd, "-TERM");
            if wait_exit(&mut dockerd, Duration::from_secs(30)).is_none() {
                let _ = dockerd.kill();
                let _ = dockerd.wait();
            }
        }
        if let Some(mut gate) = self.gate.take() {
            let _ = gate.kill();
            let _ = gate.wait();
        }
        let _ = std::fs::remove_file(&self.spec);
        // A stopped daemon leaves mounts behind (its netns, shim rootfs):
        // unmount everything below the directory, deepest first.
        let root = self.dir.path().to_string_lossy().into_owned();
        let mounts = std::fs::read_to_string("/proc/self/mounts").unwrap_or_default();
        let mut points: Vec<&str> = mounts
            .lines()
            .filter_map(|l| l.split_whitespace().nth(1))
            .filter(|p| p.starts_with(&root))
            .collect();
        points.sort_by_key(|p| std::cmp::Reverse(p.len()));
        for point in points {
            let _ = Command::new("umount")
                .args(["-l", point])
                .stderr(Stdio::null())
                .status();
        }
    }
}

/// A string that lives as long as the test process: case tables hold
/// `&'static str` arguments, some of them built at run time.
pub fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

/// `dockgate audit --format json` of a daemon, for a gate known to it as
/// `plugin`: the exit code and the report.
pub fn host_audit(daemon: &Daemon, plugin: &str) -> (i32, serde_json::Value) {
    let out = Command::new(dockgate_bin())
        .args([
            "audit",
            "--format",
            "json",
            "--plugin",
            plugin,
            "--docker-host",
        ])
        .arg(daemon.host())
        .arg("--lookup-secret")
        .arg(daemon.path("lookup-secret"))
        .output()
        .expect("run dockgate audit");
    let report = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().unwrap_or(-1), report)
}

/// `docker swarm init` for a swarm of one on loopback, its control plane
/// listening on `listen` (a port of its own per run).
pub fn swarm_init(listen: &str) -> Vec<&'static str> {
    [
        "swarm",
        "init",
        "--advertise-addr",
        "127.0.0.1",
        "--listen-addr",
        listen,
    ]
    .iter()
    .map(|a| leak(a.to_string()))
    .collect()
}

/// `docker volume create` arguments for a local volume that bind-mounts
/// the host path `device`.
pub fn bind_volume(name: &'static str, device: &'static str) -> Vec<&'static str> {
    let device = leak(format!("device={device}"));
    vec![
        "volume",
        "create",
        "--driver",
        "local",
        "--opt",
        "type=none",
        "--opt",
        "o=bind",
        "--opt",
        device,
        name,
    ]
}

/// Imports a busybox root file system as `testimg:latest`.
pub fn import_test_image(daemon: &Daemon) {
    let rootfs = daemon.path("rootfs");
    std::fs::create_dir_all(rootfs.join("bin")).unwrap();
    let busybox = ["/bin/busybox", "/usr/bin/busybox"]
        .iter()
        .map(Path::new)
        .find(|p| p.exists())
        .expect("busybox-static is installed");
    std::fs::copy(busybox, rootfs.join("bin/busybox")).unwrap();
    for tool in ["sh", "id", "true", "sleep", "cat"] {
        std::os::unix::fs::symlink("busybox", rootfs.join("bin").join(tool)).unwrap();
    }
    let status = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "tar -C {} -c . | docker import - testimg:latest",
            rootfs.display()
        ))
        .env(
            "DOCKER_HOST",
            format!("unix://{}", daemon.path("docker.sock").display()),
        )
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "docker import of the test image");
}

/// What a case expects.
pub enum Expect {
    Allow,
    /// Denied, naming at least these rules.
    Deny(&'static [&'static str]),
    /// Denied by one of these rules: which one depends on whether this
    /// daemon build forwards the body (patched for CVE-2024-41110) or not.
    DenyByOneOf(&'static [&'static str]),
    /// Refused, by the gate or by the daemon itself (a route the daemon
    /// does not serve): what matters is what holds afterwards.
    Refused,
}

/// What must hold on the daemon afterwards.
pub enum After {
    Nothing,
    NoContainer(&'static str),
    Container(&'static str),
    NoVolume(&'static str),
    /// No swarm service of that name.
    NoService(&'static str),
    /// No network of that name.
    NoNetwork(&'static str),
    /// The swarm service's spec mounts nothing.
    NoServiceMounts(&'static str),
    /// This node is in no swarm.
    NotInSwarm,
    /// The exec instance of this ID never ran.
    ExecNotStarted(&'static str),
    /// The gate's audit log holds a denial of this endpoint by this rule.
    AuditDenial(&'static str, &'static str),
    NotRunning(&'static str),
    NotPrivileged(&'static str),
    /// No file at this host path.
    NoHostFile(&'static str),
    /// The container exists and was given no capability beyond the default.
    NoAddedCapabilities(&'static str),
}

/// What a case does.
pub enum Action {
    Cli(Vec<&'static str>),
    Api(Vec<u8>),
}

/// One request to the daemon and what must come of it.
pub struct Case {
    name: &'static str,
    action: Action,
    expect: Expect,
    after: After,
}

/// A case run with the docker CLI.
pub fn cli(name: &'static str, args: &[&'static str], expect: Expect, after: After) -> Case {
    Case {
        name,
        action: Action::Cli(args.to_vec()),
        expect,
        after,
    }
}

/// A raw HTTP/1.1 request.
pub fn http(method: &str, target: &str, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let mut out = format!("{method} {target} HTTP/1.1\r\nHost: docker\r\nConnection: close\r\n");
    for (k, v) in headers {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    let chunked = headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("Transfer-Encoding") && *v == "chunked");
    let mut bytes;
    if chunked {
        out.push_str("\r\n");
        bytes = out.into_bytes();
        bytes.extend_from_slice(format!("{:x}\r\n", body.len()).as_bytes());
        bytes.extend_from_slice(body);
        bytes.extend_from_slice(b"\r\n0\r\n\r\n");
    } else {
        out.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
        bytes = out.into_bytes();
        bytes.extend_from_slice(body);
    }
    bytes
}

/// A raw JSON POST.
pub fn json_post(target: &str, body: &str) -> Vec<u8> {
    http(
        "POST",
        target,
        &[("Content-Type", "application/json")],
        body.as_bytes(),
    )
}

/// A case sent as raw bytes to the daemon's socket.
pub fn api(name: &'static str, request: Vec<u8>, expect: Expect, after: After) -> Case {
    Case {
        name,
        action: Action::Api(request),
        expect,
        after,
    }
}

/// A create body asking for a privileged container.
pub const PRIV: &str = r#"{"Image":"testimg","Cmd":["true"],"HostConfig":{"Privileged":true}}"#;

/// Runs a case; says what went wrong.
pub fn check_case(daemon: &Daemon, case: &Case) -> Result<(), String> {
    let (ok, text) = match &case.action {
        Action::Cli(args) => {
            let out = daemon.docker(args);
            (
                out.status.success(),
                format!(
                    "{}{}",
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&out.stderr)
                ),
            )
        }
        Action::Api(bytes) => {
            let (status, text) = daemon.api(bytes);
            ((200..300).contains(&status), text)
        }
    };
    match case.expect {
        Expect::Allow if !ok => return Err(format!("expected allow, got: {text}")),
        Expect::Allow => {}
        Expect::Refused if ok => return Err(format!("expected a refusal, got: {text}")),
        Expect::Refused => {}
        Expect::Deny(rules) | Expect::DenyByOneOf(rules) => {
            if ok {
                return Err(format!(
                    "expected a denial by {rules:?}, but it went through: {text}"
                ));
            }
            let prefix = format!(
                "authorization denied by plugin {}: dockgate: denied by rule",
                daemon.plugin
            );
            if !text.contains(&prefix) {
                return Err(format!("expected a dockgate denial, got: {text}"));
            }
            let named = |rule: &&str| text.contains(&format!("denied by rule {rule}:"));
            let all = matches!(case.expect, Expect::Deny(_));
            if all && !rules.iter().all(named) || !all && !rules.iter().any(named) {
                return Err(format!("denial does not name rules {rules:?}: {text}"));
            }
        }
    }
    match case.after {
        After::Nothing => {}
        After::NoContainer(name) if daemon.container_exists(name) => {
            return Err(format!("container {name} was created"))
        }
        After::Container(name) if !daemon.container_exists(name) => {
            return Err(format!("container {name} was not created"))
        }
        After::NoVolume(name) if daemon.volume_exists(name) => {
            return Err(format!("volume {name} was created"))
        }
        After::NoService(name)
            if daemon
                .docker(&["service", "inspect", name])
                .status
                .success() =>
        {
            return Err(format!("service {name} was created"))
        }
        After::NoNetwork(name)
            if daemon
                .docker(&["network", "inspect", name])
                .status
                .success() =>
        {
            return Err(format!("network {name} was created"))
        }
        After::ExecNotStarted(id)
            if !daemon.get_json(&format!("/v1.41/exec/{id}/json"))["ExitCode"].is_null() =>
        {
            return Err(format!("exec instance {id} ran"))
        }
        After::AuditDenial(endpoint, rule)
            if !std::fs::read_to_string(daemon.path("audit.log"))
                .unwrap_or_default()
                .lines()
                .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
                .any(|r| {
                    r["endpoint"] == endpoint
                        && r["decision"] == "deny"
                        && r["rules"]
                            .as_array()
                            .is_some_and(|rs| rs.iter().any(|x| x == rule))
                }) =>
        {
            return Err(format!(
                "no denial of {endpoint} by {rule} in the audit log"
            ))
        }
        After::NoServiceMounts(name)
            if daemon.docker_ok(&[
                "service",
                "inspect",
                "--format",
                "{{json .Spec.TaskTemplate.ContainerSpec.Mounts}}",
                name,
            ]) != "null" =>
        {
            return Err(format!("service {name} mounts something"))
        }
        After::NotInSwarm
            if daemon.docker_ok(&["info", "--format", "{{.Swarm.LocalNodeState}}"])
                != "inactive" =>
        {
            return Err("the node is in a swarm".to_string())
        }
        After::NotRunning(name) if daemon.inspect(name, "{{.State.Running}}") != "false" => {
            return Err(format!("container {name} is running"))
        }
        After::NotPrivileged(name)
            if daemon.inspect(name, "{{.HostConfig.Privileged}}") != "false" =>
        {
            return Err(format!("container {name} is privileged or missing"))
        }
        After::NoAddedCapabilities(name)
            if !matches!(
                daemon.inspect(name, "{{.HostConfig.CapAdd}}").as_str(),
                "[]" | "<no value>"
            ) || daemon
                .inspect(name, "{{json .HostConfig}}")
                .contains("SYS_ADMIN") =>
        {
            return Err(format!(
                "container {name} has added capabilities or is missing"
            ))
        }
        After::NoHostFile(path) if Path::new(path).exists() => {
            return Err(format!("{path} was written on the host"))
        }
        _ => {}
    }
    Ok(())
}

/// Runs every case and fails with each failure and the tail of these logs
/// (files in the daemon's directory).
pub fn assert_cases(daemon: &Daemon, cases: &[Case], logs: &[&str]) {
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|case| {
            check_case(daemon, case)
                .err()
                .map(|e| format!("{}: {e}", case.name))
        })
        .collect();
    if failures.is_empty() {
        return;
    }
    let tail = |name: &str| {
        let text = std::fs::read_to_string(daemon.path(name)).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        format!(
            "--- {name} ---\n{}",
            lines[lines.len().saturating_sub(40)..].join("\n")
        )
    };
    let logs: Vec<String> = logs.iter().map(|name| tail(name)).collect();
    panic!(
        "{} of {} cases failed:\n{}\n\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n\n"),
        logs.join("\n\n")
    );
}

/// Whether the real-daemon tests run here. `scripts/test` (and so CI) sets
/// `DOCKGATE_REQUIRE_DAEMON=1`: then a missing daemon or root fails the
/// test, and nothing can skip it. Elsewhere, `cargo test` as a user
/// without root or dockerd skips these tests and says why.
pub fn e2e_enabled() -> bool {
    let required = std::env::var_os("DOCKGATE_REQUIRE_DAEMON").is_some();
    let root = Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false);
    let dockerd = Command::new("dockerd").arg("--version").output().is_ok();
    let why_not = if !required && std::env::var_os("DOCKGATE_SKIP_E2E").is_some() {
        Some("DOCKGATE_SKIP_E2E is set")
    } else if !root {
        Some("they start dockerd and need root")
    } else if !dockerd {
        Some("dockerd is not installed (scripts/test installs it)")
    } else {
        None
    };
    match why_not {
        None => true,
        Some(why) if required => panic!("DOCKGATE_REQUIRE_DAEMON is set, but {why}"),
        Some(why) => {
            eprintln!("skipping the real-daemon tests: {why}");
            false
        }
    }
}
