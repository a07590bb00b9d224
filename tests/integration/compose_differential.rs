//! dockgate's reading of compose projects against Docker Compose's own.
//!
//! Each case of `fixtures/compose-differential` is a project directory
//! with the output `docker compose config --format json` (2.26, the
//! Debian 13 package, compose-go 2.4.8) printed for it, or its error.
//! dockgate loads the raw files and, separately, Compose's normalised
//! output; the two must describe the same containers, and a project
//! Compose refuses must be refused. When the Compose binary is present
//! (`scripts/test` installs it; `DOCKGATE_REQUIRE_DAEMON=1` makes it
//! required), it is run again on every case, so that a recording cannot
//! go stale, and on generated projects that no one wrote by hand.
//!
//! A case directory may hold `args` (`-f FILE`, `--env-file FILE` and
//! `--profile NAME`, one word per line), `cwd` (the directory below it to
//! run from) and `env` (`KEY=VALUE` lines: the process environment).
//! `DOCKGATE_RECORD_COMPOSE=1` rewrites the recordings; the case directory
//! is written `@DIR@` in them, the corpus directory `@CORPUS@`.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::process::Command;

use dockgate_inputs::sources::compose::{Options, Project};
use dockgate_inputs::sources::InputError;
use serde_json::Value;

/// The home directory both sides see.
const HOME: &str = "/home/dockgate-test";

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/compose-differential")
}

fn compose_binary() -> Option<PathBuf> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("target/debian13/root/usr/libexec/docker/cli-plugins/docker-compose");
    if path.is_file() {
        return Some(path);
    }
    assert!(
        std::env::var("DOCKGATE_REQUIRE_DAEMON").as_deref() != Ok("1"),
        "docker-compose 2.26 is required (scripts/debian13-tools installs it)"
    );
    None
}

/// One project: its directory, Compose's arguments, its environment.
struct Case {
    dir: PathBuf,
    /// Where both run: the case directory, or the one `cwd` names.
    cwd: PathBuf,
    args: Vec<String>,
    env: Vec<(String, String)>,
}

impl Case {
    fn read(dir: &Path) -> Case {
        let lines = |name: &str| -> Vec<String> {
            std::fs::read_to_string(dir.join(name))
                .map(|t| {
                    t.lines()
                        .filter(|l| !l.is_empty())
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default()
        };
        let dir = dir.canonicalize().unwrap();
        Case {
            cwd: lines("cwd")
                .first()
                .map_or(dir.clone(), |sub| dir.join(sub)),
            dir,
            args: lines("args"),
            env: lines("env")
                .iter()
                .filter_map(|l| l.split_once('='))
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    fn name(&self) -> String {
        self.dir.file_name().unwrap().to_string_lossy().into_owned()
    }

    fn files(&self) -> Vec<PathBuf> {
        self.flag("-f").map(|f| self.dir.join(f)).collect()
    }

    fn flag<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.args
            .windows(2)
            .filter(move |w| w[0] == name)
            .map(|w| w[1].as_str())
    }

    fn environment(&self) -> HashMap<String, String> {
        let mut env: HashMap<String, String> = self.env.iter().cloned().collect();
        env.insert("HOME".into(), HOME.into());
        env
    }

    /// dockgate's reading of the raw files.
    fn dockgate(&self) -> Result<BTreeMap<String, Value>, InputError> {
        let env = self.environment();
        let options = Options {
            env_files: self.flag("--env-file").map(PathBuf::from).collect(),
            profiles: self.flag("--profile").map(str::to_string).collect(),
            working_dir: Some(self.cwd.clone()),
        };
        let project = match self.files().as_slice() {
            [] => Project::discover(&self.cwd, &env, &options).expect("a compose file")?,
            files => Project::load(files, &env, &options)?,
        };
        described(&project)
    }

    /// Compose's output, as Compose printed it.
    fn compose(&self, binary: &Path) -> Recorded {
        let output = Command::new(binary)
            .args(&self.args)
            .args(["config", "--format", "json"])
            .current_dir(&self.cwd)
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .envs(self.environment())
            .output()
            .expect("run docker-compose");
        let portable = |text: &[u8]| {
            String::from_utf8_lossy(text)
                .replace(&self.dir.display().to_string(), "@DIR@")
                .replace(
                    &corpus().canonicalize().unwrap().display().to_string(),
                    "@CORPUS@",
                )
        };
        if output.status.success() {
            Recorded::Config(portable(&output.stdout))
        } else {
            let stderr = portable(&output.stderr);
            Recorded::Refused(stderr.lines().last().unwrap_or_default().to_string())
        }
    }

    fn recorded(&self) -> Recorded {
        match std::fs::read_to_string(self.dir.join("compose.json")) {
            Ok(json) => Recorded::Config(json),
            Err(_) => Recorded::Refused(
                std::fs::read_to_string(self.dir.join("compose.err"))
                    .unwrap_or_else(|_| panic!("{}: nothing recorded", self.name()))
                    .trim_end()
                    .to_string(),
            ),
        }
    }

    fn record(&self, recorded: &Recorded) {
        let _ = std::fs::remove_file(self.dir.join("compose.json"));
        let _ = std::fs::remove_file(self.dir.join("compose.err"));
        match recorded {
            Recorded::Config(json) => std::fs::write(self.dir.join("compose.json"), json),
            Recorded::Refused(error) => {
                std::fs::write(self.dir.join("compose.err"), format!("{error}\n"))
            }
        }
        .unwrap();
    }

    /// Compares dockgate with a Compose result; `Err` describes the
    /// difference.
    fn compare(&self, recorded: &Recorded) -> Result<(), String> {
        let ours = self.dockgate();
        match (recorded, ours) {
            (Recorded::Refused(_), Err(_)) => Ok(()),
            (Recorded::Refused(theirs), Ok(_)) => {
                Err(format!("Compose refuses it ({theirs}), dockgate reads it"))
            }
            (Recorded::Config(_), Err(e)) => {
                Err(format!("Compose reads it, dockgate refuses it: {e}"))
            }
            (Recorded::Config(json), Ok(ours)) => {
                let json = json
                    .replace("@DIR@", &self.dir.display().to_string())
                    .replace(
                        "@CORPUS@",
                        &corpus().canonicalize().unwrap().display().to_string(),
                    );
                let normalised = Project::parse(
                    self.dir.clone(),
                    &[("compose config".to_string(), json)],
                    &HashMap::from([("HOME".to_string(), HOME.to_string())]),
                )
                .and_then(|mut p| {
                    // Compose prints the services its profiles enable.
                    p.activate(vec!["*".to_string()]);
                    described(&p)
                })
                .map_err(|e| format!("Compose's output does not load: {e}"))?;
                if normalised == ours {
                    return Ok(());
                }
                let mut differences = Vec::new();
                for name in ours.keys().chain(normalised.keys()) {
                    let (a, b) = (ours.get(name), normalised.get(name));
                    if a.is_none() || b.is_none() {
                        differences.push(format!("{name}: only one side has it"));
                        continue;
                    }
                    let keys = a
                        .and_then(Value::as_object)
                        .into_iter()
                        .flat_map(|o| o.keys());
                    for key in keys {
                        let (x, y) = (&a.unwrap()[key], b.map(|b| &b[key]));
                        if Some(x) != y {
                            differences.push(format!(
                                "{name}.{key}:\n  dockgate: {x}\n  compose:  {}",
                                y.map(Value::to_string).unwrap_or_default()
                            ));
                        }
                    }
                }
                differences.dedup();
                Err(format!("different containers:\n{}", differences.join("\n")))
            }
        }
    }
}

/// What Compose printed.
#[derive(Debug, PartialEq)]
enum Recorded {
    /// The normalised project, with the case directory as `@DIR@`.
    Config(String),
    /// Its last line of error output.
    Refused(String),
}

/// Each service's description, without where things were written (the
/// two sides write them in different places), lists sorted, and with
/// environment values.
fn described(project: &Project) -> Result<BTreeMap<String, Value>, InputError> {
    Ok(project
        .targets()?
        .into_iter()
        .map(|target| {
            let mut value = serde_json::to_value(&target.workload).unwrap();
            let env: Vec<String> = target
                .workload
                .env
                .iter()
                .map(|e| format!("{}={:?}", e.name, e.value))
                .collect();
            value["env"] = serde_json::json!(env);
            (target.name, canonical(value))
        })
        .collect())
}

fn canonical(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let map: serde_json::Map<String, Value> = map
                .into_iter()
                .filter(|(k, _)| !matches!(k.as_str(), "field" | "via"))
                .map(|(k, v)| (k, canonical(v)))
                .collect();
            // `privileged: false` and no `privileged` are the same
            // request; Compose prints neither.
            if map.len() == 1 && map.get("value") == Some(&Value::Bool(false)) {
                Value::Null
            } else {
                Value::Object(map)
            }
        }
        Value::Array(items) => {
            let mut items: Vec<Value> = items.into_iter().map(canonical).collect();
            items.sort_by_key(|v| v.to_string());
            Value::Array(items)
        }
        other => other,
    }
}

fn cases() -> Vec<Case> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(corpus())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    dirs.iter().map(|d| Case::read(d)).collect()
}

/// The recorded corpus: every case agrees with what Compose printed.
#[test]
fn recorded_projects_read_as_compose_reads_them() {
    let cases = cases();
    assert!(cases.len() >= 30, "the corpus has {} cases", cases.len());
    let differences: Vec<String> = cases
        .iter()
        .filter_map(|case| {
            case.compare(&case.recorded())
                .err()
                .map(|e| format!("{}: {e}", case.name()))
        })
        .collect();
    assert!(differences.is_empty(), "{}", differences.join("\n\n"));
}

/// The recordings are what Compose prints today.
#[test]
fn recordings_match_compose() {
    let Some(binary) = compose_binary() else {
        return;
    };
    let record = std::env::var("DOCKGATE_RECORD_COMPOSE").as_deref() == Ok("1");
    let mut stale = Vec::new();
    for case in cases() {
        let now = case.compose(&binary);
        if record {
            case.record(&now);
        } else {
            // Which of several errors Compose reports can vary from run to
            // run; that it refuses cannot.
            let same = match (&now, case.recorded()) {
                (Recorded::Config(a), Recorded::Config(b)) => *a == b,
                (Recorded::Refused(_), Recorded::Refused(_)) => true,
                _ => false,
            };
            if !same {
                stale.push(format!("{}: Compose now prints {now:?}", case.name()));
            }
        }
    }
    assert!(stale.is_empty(), "{}", stale.join("\n"));
}

/// Settings that decide what a container gets on the host, each written
/// in several of the forms Compose accepts.
const SETTINGS: &[&str] = &[
    "privileged: true",
    "privileged: \"yes\"",
    "privileged: \"off\"",
    "privileged: ${PRIV:-on}",
    "volumes: [\"/:/host\"]",
    "volumes: [\"./data:/data:ro\"]",
    "volumes: [\"~/cfg:/cfg\"]",
    "volumes: [{type: bind, source: ../up, target: /up, read_only: \"true\"}]",
    "volumes: [\"/var/run/docker.sock:/var/run/docker.sock\"]",
    "volumes: [\"named:/n\"]",
    "cap_add: [SYS_ADMIN]",
    "cap_add: [NET_ADMIN, SYS_PTRACE]",
    "pid: host",
    "network_mode: host",
    "ipc: host",
    "userns_mode: host",
    "devices: [\"/dev/fuse:/dev/fuse:rwm\"]",
    "security_opt: [\"seccomp:unconfined\"]",
    "ports: [\"8080:80\", \"127.0.0.1:9000:9000/udp\"]",
    "ports: [{target: 81, published: \"8081\", host_ip: 0.0.0.0}]",
    "environment: [A=1, B]",
    "environment: {C: \"3\", D: null}",
    "sysctls: {net.core.somaxconn: \"1024\"}",
    "user: \"0\"",
    "read_only: \"TRUE\"",
    "secrets: [key]",
];

/// How a setting reaches the service.
const FORMS: &[&str] = &["base", "override", "extends", "reset", "override-tag"];

fn generated(index: usize) -> (String, String, Vec<(&'static str, String)>) {
    let setting = SETTINGS[index % SETTINGS.len()];
    let other = SETTINGS[(index * 7 + 3) % SETTINGS.len()];
    let form = FORMS[(index / SETTINGS.len()) % FORMS.len()];
    let key = setting.split(':').next().unwrap();
    let top = "secrets:\n  key:\n    file: ./key.pem\nvolumes:\n  named: {}\n";
    let base = format!("services:\n  web:\n    image: alpine\n    {other}\n");
    let (main, over) = match form {
        "base" => (format!("services:\n  web:\n    image: alpine\n    {setting}\n"), format!("services:\n  web:\n    {other}\n")),
        "override" => (base.clone(), format!("services:\n  web:\n    {setting}\n")),
        "extends" => (
            format!("services:\n  base:\n    image: alpine\n    {setting}\n  web:\n    extends: base\n    {other}\n"),
            "services: {}\n".to_string(),
        ),
        "reset" => (
            format!("services:\n  web:\n    image: alpine\n    {setting}\n"),
            format!("services:\n  web:\n    {key}: !reset null\n"),
        ),
        _ => (
            format!("services:\n  web:\n    image: alpine\n    {other}\n    {setting}\n"),
            format!("services:\n  web:\n    {}\n", setting.replacen(": ", ": !override ", 1)),
        ),
    };
    let env = if index % 2 == 0 {
        vec![("PRIV", "no".to_string())]
    } else {
        Vec::new()
    };
    (format!("{main}{top}"), over, env)
}

/// Projects no one wrote by hand: each setting in each way of reaching a
/// service, merged with another, read by both.
#[test]
fn generated_projects_read_as_compose_reads_them() {
    let Some(binary) = compose_binary() else {
        return;
    };
    let root = std::env::temp_dir().join(format!("dockgate-differential-{}", std::process::id()));
    let mut differences = Vec::new();
    let count = SETTINGS.len() * FORMS.len();
    for index in 0..count {
        let (main, over, env) = generated(index);
        let dir = root.join(format!("g{index:03}"));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("compose.yaml"), &main).unwrap();
        std::fs::write(dir.join("compose.override.yaml"), &over).unwrap();
        std::fs::write(dir.join("key.pem"), "k").unwrap();
        let env_text: String = env.iter().map(|(k, v)| format!("{k}={v}\n")).collect();
        std::fs::write(dir.join("env"), env_text).unwrap();
        let case = Case::read(&dir);
        if let Err(e) = case.compare(&case.compose(&binary)) {
            differences.push(format!(
                "--- compose.yaml\n{main}--- compose.override.yaml\n{over}{e}"
            ));
        }
    }
    let _ = std::fs::remove_dir_all(&root);
    assert!(
        differences.is_empty(),
        "{} of {count} generated projects differ:\n{}",
        differences.len(),
        differences.join("\n\n")
    );
}

/// Projects that reach the host in ways a reader could miss (each found by
/// attacking an earlier version): reading them as Compose does is only
/// worth something if the policy then denies them.
#[test]
fn dangerous_projects_are_denied() {
    let cases = [
        ("yaml-second-document", "privileged"),
        (
            "yaml-binary-tag",
            "docker-socket, host-mount, host-namespace, security-profile",
        ),
        ("yaml-merge-tag-quoted", "privileged"),
        ("yaml-merge-with-reset", "privileged"),
        ("profiles-empty-list", "privileged"),
        ("dotenv-unicode-space", "host-namespace"),
        (
            "dotenv-octal-escapes",
            "docker-socket, host-mount, host-namespace",
        ),
        ("seccomp-profile-file", "security-profile"),
        ("override-raw-target-volumes", "docker-socket, host-mount"),
        ("override-null-keeps-base", "host-namespace, privileged"),
        ("override-null-volume", "docker-socket, host-mount"),
        ("extends-null-keeps-base", "privileged"),
        ("interpolation-braces", "host-namespace, security-profile"),
        ("network-named-host", "host-namespace"),
        ("network-driver-macvlan", "network-driver"),
        ("logging-socket", "docker-socket, host-mount"),
        (
            "service-join-chain",
            "docker-socket, host-mount, host-namespace",
        ),
        ("compose-file-from-project-dotenv", "privileged"),
    ];
    for (name, rules) in cases {
        let case = Case::read(&corpus().join(name));
        // Compose's flags as `check` spells them: `-f FILE` is a path.
        let mut args = vec!["check".to_string()];
        for pair in case.args.chunks(2) {
            match pair {
                [flag, file] if flag == "-f" => args.push(file.clone()),
                pair => args.extend(pair.iter().cloned()),
            }
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let mut command = crate::util::TestCommand::new(&args);
        command.current_dir(&case.cwd);
        for (k, v) in &case.env {
            command.env(k, v);
        }
        let (code, stdout, _) = command.run();
        let summary = stdout.lines().last().unwrap_or_default();
        assert_eq!(code, 1, "{name}: {stdout}");
        assert!(
            summary.ends_with(&format!("the policy ({rules})")),
            "{name}: {summary}"
        );
    }
}
