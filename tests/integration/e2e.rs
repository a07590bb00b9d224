//! The gate in front of a real, private dockerd, driven by the real docker
//! CLI and by raw API requests with odd but valid encodings.
//!
//! Needs root, `dockerd`, `docker` and a static busybox (`scripts/test`
//! installs them). Set `DOCKGATE_SKIP_E2E=1` to skip on a machine without
//! them; CI never sets it.

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

/// A private dockerd, with dockgate as its authorization plugin or without.
pub struct Daemon {
    dir: Dir,
    /// The plugin name the daemon knows the gate by.
    pub plugin: String,
    spec: PathBuf,
    gate: Option<Child>,
    dockerd: Option<Child>,
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
    /// Starts a private dockerd behind a gate with this policy.
    fn start(policy: &str) -> Daemon {
        Daemon::start_with(Some(policy))
    }

    /// Starts a private dockerd, behind a gate when a policy is given.
    pub fn start_with(policy: Option<&str>) -> Daemon {
        let dir = short_dir();
        let plugin = format!("dge2e{}", std::process::id());
        let spec = PathBuf::from(format!("/etc/docker/plugins/{plugin}.spec"));
        std::fs::create_dir_all("/etc/docker/plugins").expect("create /etc/docker/plugins");
        let mut daemon = Daemon {
            plugin,
            spec,
            gate: None,
            dockerd: None,
            dir,
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
        let dockerd = Command::new("dockerd")
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
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start dockerd");
        self.dockerd = Some(dockerd);
        wait_for("dockerd", Duration::from_secs(60), || {
            self.docker(&["version"]).status.success()
        });
    }

    fn start_gate(&mut self) {
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
        Command::new("docker")
            .args(args)
            .env(
                "DOCKER_HOST",
                format!("unix://{}", self.path("docker.sock").display()),
            )
            .output()
            .expect("run docker")
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
    fn api(&self, request: &[u8]) -> (u16, String) {
        crate::util::exchange(&self.path("docker.sock"), request)
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
    fn clean(&self) {
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

fn cases(plugin: &str) -> Vec<Case> {
    use After::*;
    use Expect::*;
    let plugin = leak(plugin.to_string());
    let mut cases = vec![
        // Benign work goes through and works.
        cli(
            "plain run",
            &["run", "--rm", "testimg", "true"],
            Allow,
            Nothing,
        ),
        cli(
            "named volume",
            &["run", "--rm", "-v", "e2e-data:/data", "testimg", "true"],
            Allow,
            Nothing,
        ),
        cli(
            "tmpfs",
            &["run", "--rm", "--tmpfs", "/tmp", "testimg", "true"],
            Allow,
            Nothing,
        ),
        cli(
            "cap-drop ALL",
            &["run", "--rm", "--cap-drop", "ALL", "testimg", "true"],
            Allow,
            Nothing,
        ),
        cli(
            "default capabilities",
            &[
                "run",
                "--rm",
                "--cap-add",
                "CHOWN",
                "--cap-add",
                "NET_BIND_SERVICE",
                "testimg",
                "true",
            ],
            Allow,
            Nothing,
        ),
        cli(
            "user, read-only, limits",
            &[
                "run",
                "--rm",
                "-u",
                "1000:1000",
                "--read-only",
                "--memory",
                "64m",
                "--pids-limit",
                "100",
                "testimg",
                "id",
            ],
            Allow,
            Nothing,
        ),
        cli(
            "network none",
            &["run", "--rm", "--network", "none", "testimg", "true"],
            Allow,
            Nothing,
        ),
        cli(
            "env with a secret warns only",
            &[
                "run",
                "--rm",
                "-e",
                "DB_PASSWORD=hunter2",
                "testimg",
                "true",
            ],
            Allow,
            Nothing,
        ),
        cli(
            "volume create",
            &["volume", "create", "e2e-plainvol"],
            Allow,
            Nothing,
        ),
        cli(
            "volumes-from a benign container",
            &["run", "--rm", "--volumes-from", "benign", "testimg", "true"],
            Allow,
            Nothing,
        ),
        cli("ps", &["ps", "-a"], Allow, Nothing),
        cli("logs", &["logs", "benign"], Allow, Nothing),
        cli("inspect", &["inspect", "benign"], Allow, Nothing),
        cli("exec", &["exec", "benign", "true"], Allow, Nothing),
        cli(
            "exec as a user",
            &["exec", "-u", "1000", "benign", "id"],
            Allow,
            Nothing,
        ),
        cli(
            "update limits",
            &[
                "update",
                "--memory",
                "128m",
                "--memory-swap",
                "256m",
                "benign",
            ],
            Allow,
            Nothing,
        ),
        cli(
            "port on loopback",
            &[
                "create",
                "--name",
                "e2e-port",
                "-p",
                "127.0.0.1:18080:80",
                "testimg",
                "true",
            ],
            Allow,
            Container("e2e-port"),
        ),
        cli(
            "rm",
            &["rm", "-f", "e2e-port"],
            Allow,
            NoContainer("e2e-port"),
        ),
        cli("plugin ls", &["plugin", "ls"], Allow, Nothing),
        cli(
            "plugin disable",
            &["plugin", "disable", plugin],
            Deny(&["plugin-management"]),
            Nothing,
        ),
        cli("images", &["images"], Allow, Nothing),
        // Host takeovers are refused, and nothing is created.
        cli(
            "bind /",
            &[
                "run", "--name", "e2e-d1", "-v", "/:/host", "testimg", "true",
            ],
            Deny(&["host-mount", "docker-socket"]),
            NoContainer("e2e-d1"),
        ),
        cli(
            "docker.sock",
            &[
                "run",
                "--name",
                "e2e-d2",
                "-v",
                "/var/run/docker.sock:/var/run/docker.sock",
                "testimg",
                "true",
            ],
            Deny(&["docker-socket"]),
            NoContainer("e2e-d2"),
        ),
        cli(
            "/run read-only",
            &[
                "run",
                "--name",
                "e2e-d3",
                "-v",
                "/run:/r:ro",
                "testimg",
                "true",
            ],
            Deny(&["docker-socket"]),
            NoContainer("e2e-d3"),
        ),
        cli(
            "bind /etc read-only",
            &[
                "create",
                "--name",
                "e2e-d4",
                "-v",
                "/etc:/etc2:ro",
                "testimg",
                "true",
            ],
            Deny(&["host-mount"]),
            NoContainer("e2e-d4"),
        ),
        cli(
            "--mount type=bind",
            &[
                "run",
                "--name",
                "e2e-d5",
                "--mount",
                "type=bind,source=/tmp,target=/t,readonly",
                "testimg",
                "true",
            ],
            Deny(&["host-mount"]),
            NoContainer("e2e-d5"),
        ),
        cli(
            "rshared propagation",
            &[
                "run",
                "--name",
                "e2e-d6",
                "--mount",
                "type=bind,source=/tmp,target=/t,bind-propagation=rshared",
                "testimg",
                "true",
            ],
            Deny(&["mount-propagation"]),
            NoContainer("e2e-d6"),
        ),
        cli(
            "privileged",
            &[
                "run",
                "--name",
                "e2e-d10",
                "--privileged",
                "testimg",
                "true",
            ],
            Deny(&["privileged"]),
            NoContainer("e2e-d10"),
        ),
        cli(
            "cap-add SYS_ADMIN",
            &[
                "run",
                "--name",
                "e2e-d18",
                "--cap-add",
                "SYS_ADMIN",
                "testimg",
                "true",
            ],
            Deny(&["capabilities"]),
            NoContainer("e2e-d18"),
        ),
        cli(
            "cap-add ALL",
            &[
                "run",
                "--name",
                "e2e-d19",
                "--cap-add",
                "ALL",
                "testimg",
                "true",
            ],
            Deny(&["capabilities"]),
            NoContainer("e2e-d19"),
        ),
        cli(
            "device",
            &[
                "run",
                "--name",
                "e2e-d20",
                "--device",
                "/dev/null:/dev/xnull",
                "testimg",
                "true",
            ],
            Deny(&["devices"]),
            NoContainer("e2e-d20"),
        ),
        cli(
            "device cgroup rule",
            &[
                "run",
                "--name",
                "e2e-d21",
                "--device-cgroup-rule",
                "c 1:3 rwm",
                "testimg",
                "true",
            ],
            Deny(&["devices"]),
            NoContainer("e2e-d21"),
        ),
        cli(
            "gpus",
            &[
                "run", "--name", "e2e-d22", "--gpus", "all", "testimg", "true",
            ],
            Deny(&["devices"]),
            NoContainer("e2e-d22"),
        ),
        cli(
            "seccomp unconfined",
            &[
                "run",
                "--name",
                "e2e-d23",
                "--security-opt",
                "seccomp=unconfined",
                "testimg",
                "true",
            ],
            Deny(&["security-profile"]),
            NoContainer("e2e-d23"),
        ),
        cli(
            "apparmor unconfined",
            &[
                "run",
                "--name",
                "e2e-d24",
                "--security-opt",
                "apparmor=unconfined",
                "testimg",
                "true",
            ],
            Deny(&["security-profile"]),
            NoContainer("e2e-d24"),
        ),
        cli(
            "label disable",
            &[
                "run",
                "--name",
                "e2e-d25",
                "--security-opt",
                "label=disable",
                "testimg",
                "true",
            ],
            Deny(&["security-profile"]),
            NoContainer("e2e-d25"),
        ),
        cli(
            "systempaths unconfined",
            &[
                "run",
                "--name",
                "e2e-d26",
                "--security-opt",
                "systempaths=unconfined",
                "testimg",
                "true",
            ],
            Deny(&["security-profile"]),
            NoContainer("e2e-d26"),
        ),
        cli(
            "unsafe sysctl",
            &[
                "run",
                "--name",
                "e2e-d27",
                "--sysctl",
                "kernel.msgmax=65536",
                "testimg",
                "true",
            ],
            Deny(&["sysctls"]),
            NoContainer("e2e-d27"),
        ),
        // The 20.10 CLI has no --annotation (API 1.43); newer daemons pass
        // annotations to runc, which makes systemd properties of these.
        api(
            "annotation the runtime acts on",
            json_post(
                "/v1.41/containers/create?name=e2e-d27a",
                r#"{"Image":"testimg","HostConfig":{"Annotations":{"org.systemd.property.DeviceAllow":"/dev/sda rwm"}}}"#,
            ),
            Deny(&["runtime-annotations"]),
            NoContainer("e2e-d27a"),
        ),
        cli(
            "cgroup parent",
            &[
                "run",
                "--name",
                "e2e-d28",
                "--cgroup-parent",
                "/custom",
                "testimg",
                "true",
            ],
            Deny(&["cgroup-parent"]),
            NoContainer("e2e-d28"),
        ),
        cli(
            "runtime",
            &[
                "run",
                "--name",
                "e2e-d29",
                "--runtime",
                "runsc",
                "testimg",
                "true",
            ],
            Deny(&["runtime"]),
            NoContainer("e2e-d29"),
        ),
        cli(
            "start a benign container",
            &["start", "stopped"],
            Allow,
            Nothing,
        ),
        cli(
            "stop it again",
            &["stop", "-t", "0", "stopped"],
            Allow,
            NotRunning("stopped"),
        ),
    ];
    // Each host namespace, by its flag.
    for (flag, name) in [
        ("--pid", "e2e-d11"),
        ("--network", "e2e-d12"),
        ("--ipc", "e2e-d13"),
        ("--uts", "e2e-d14"),
        ("--userns", "e2e-d15"),
        ("--cgroupns", "e2e-d16"),
    ] {
        let what = leak(format!("{flag} host"));
        cases.push(cli(
            what,
            &["run", "--name", name, flag, "host", "testimg", "true"],
            Deny(&["host-namespace"]),
            NoContainer(name),
        ));
    }
    cases
}

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
            lines[lines.len().saturating_sub(30)..].join("\n")
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

/// Whether the real-daemon tests run here (root, dockerd present).
pub fn e2e_enabled() -> bool {
    if std::env::var_os("DOCKGATE_SKIP_E2E").is_some() {
        eprintln!("DOCKGATE_SKIP_E2E is set: skipping the real-daemon tests");
        return false;
    }
    let root = Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false);
    assert!(
        root,
        "the e2e tests start dockerd and need root (set DOCKGATE_SKIP_E2E=1 to skip)"
    );
    assert!(
        Command::new("dockerd").arg("--version").output().is_ok(),
        "dockerd is not installed: run scripts/test, which installs it (or set DOCKGATE_SKIP_E2E=1)"
    );
    true
}

#[test]
fn gate_on_a_real_daemon() {
    if !e2e_enabled() {
        return;
    }
    let _turn = one_daemon_at_a_time();
    // Set up with the policy in audit mode.
    let mut daemon = Daemon::start("mode = \"audit\"\n");
    import_test_image(&daemon);
    daemon.setup(&[
        vec!["run", "-d", "--name", "benign", "testimg", "sleep", "600"],
        vec!["create", "--name", "stopped", "testimg", "sleep", "600"],
    ]);
    // The baseline, by hot reload.
    daemon.reload("");

    let cases = cases(&daemon.plugin);
    assert!(cases.len() >= 40);
    assert_cases(&daemon, &cases, &["gate.log", "dockerd.log"]);

    // Many requests at once, each needing look-ups, with a budget of two.
    let started = Instant::now();
    let outputs: Vec<Output> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..12)
            .map(|i| {
                let daemon = &daemon;
                scope.spawn(move || {
                    let volume = format!("e2e-cc{i}:/d");
                    daemon.docker(&[
                        "create",
                        "--volumes-from",
                        "benign",
                        "-v",
                        &volume,
                        "testimg",
                        "true",
                    ])
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for out in &outputs {
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert!(started.elapsed() < Duration::from_secs(60));

    // One audit line per decision, no secret values.
    let audit = std::fs::read_to_string(daemon.path("audit.log")).unwrap();
    assert!(
        !audit.contains("hunter2"),
        "an env value reached the audit log"
    );
    for line in audit.lines() {
        let record: serde_json::Value = serde_json::from_str(line).expect("audit lines are JSON");
        assert!(record["decision"] == "allow" || record["decision"] == "deny");
        assert!(record["policy_hash"]
            .as_str()
            .unwrap()
            .starts_with("sha256:"));
    }
    let privileged = audit
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|r| r["container"] == "e2e-d10")
        .expect("an audit record for the privileged run");
    assert_eq!(privileged["endpoint"], "container.create");
    assert_eq!(privileged["method"], "POST");
    assert_eq!(privileged["path"], "/containers/create");
    assert_eq!(privileged["image"], "testimg");
    assert_eq!(privileged["decision"], "deny");
    assert_eq!(
        privileged["rules"],
        serde_json::json!(["privileged", "run-as-root"])
    );

    // An invalid policy never replaces a working one.
    std::fs::write(daemon.path("policy.toml"), "mode = \"loud\"\n").unwrap();
    signal(daemon.gate.as_ref().unwrap(), "-HUP");
    let log = daemon.path("gate.log");
    wait_for("the refused reload", Duration::from_secs(10), || {
        std::fs::read_to_string(&log)
            .unwrap_or_default()
            .contains("policy not reloaded")
    });
    let out = daemon.docker(&["run", "--rm", "--privileged", "testimg", "true"]);
    assert!(
        !out.status.success(),
        "the baseline must still deny after a bad reload"
    );

    // SIGTERM: the gate stops cleanly, and the daemon then refuses
    // everything (the lockout the README warns about).
    daemon.clean();
    let mut gate = daemon.gate.take().unwrap();
    signal(&gate, "-TERM");
    let status = wait_exit(&mut gate, Duration::from_secs(10)).expect("gate exits on SIGTERM");
    assert!(status.success(), "gate exit status {status:?}");
    assert!(
        !daemon.path("gate.sock").exists(),
        "the socket is removed on exit"
    );
    let out = daemon.docker(&["ps"]);
    assert!(
        !out.status.success(),
        "with the plugin down the daemon refuses requests"
    );
    // Bring it back so the daemon can be cleaned up and stopped.
    std::fs::write(daemon.path("policy.toml"), "").unwrap();
    daemon.start_gate();
    let out = daemon.docker(&["ps"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
