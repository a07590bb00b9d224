//! `docker run` and `docker create` command lines, parsed the way the docker
//! CLI (pflag) parses them: `--flag value`, `--flag=value`, combined short
//! flags (`-itv /:/x`), repeated flags, `--` before the image. The image and
//! command are the first words that are not flags. An unknown flag is an
//! error, as it is for the CLI.

use serde_json::{json, Value};

use super::{parse_bytes, parse_port, Draft, InputError, Location, Target};

/// How a flag takes its argument.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Bool,
    Value,
}

/// Every flag of `docker run` / `docker create` (docker CLI 28), long name,
/// short name, kind. Hidden aliases are included.
const FLAGS: &[(&str, Option<char>, Kind)] = &[
    ("add-host", None, Kind::Value),
    ("annotation", None, Kind::Value),
    ("attach", Some('a'), Kind::Value),
    ("blkio-weight", None, Kind::Value),
    ("blkio-weight-device", None, Kind::Value),
    ("cap-add", None, Kind::Value),
    ("cap-drop", None, Kind::Value),
    ("cgroup-parent", None, Kind::Value),
    ("cgroupns", None, Kind::Value),
    ("cidfile", None, Kind::Value),
    ("cpu-count", None, Kind::Value),
    ("cpu-percent", None, Kind::Value),
    ("cpu-period", None, Kind::Value),
    ("cpu-quota", None, Kind::Value),
    ("cpu-rt-period", None, Kind::Value),
    ("cpu-rt-runtime", None, Kind::Value),
    ("cpu-shares", Some('c'), Kind::Value),
    ("cpus", None, Kind::Value),
    ("cpuset-cpus", None, Kind::Value),
    ("cpuset-mems", None, Kind::Value),
    ("detach", Some('d'), Kind::Bool),
    ("detach-keys", None, Kind::Value),
    ("device", None, Kind::Value),
    ("device-cgroup-rule", None, Kind::Value),
    ("device-read-bps", None, Kind::Value),
    ("device-read-iops", None, Kind::Value),
    ("device-write-bps", None, Kind::Value),
    ("device-write-iops", None, Kind::Value),
    ("disable-content-trust", None, Kind::Bool),
    ("dns", None, Kind::Value),
    ("dns-opt", None, Kind::Value),
    ("dns-option", None, Kind::Value),
    ("dns-search", None, Kind::Value),
    ("domainname", None, Kind::Value),
    ("entrypoint", None, Kind::Value),
    ("env", Some('e'), Kind::Value),
    ("env-file", None, Kind::Value),
    ("expose", None, Kind::Value),
    ("gpus", None, Kind::Value),
    ("group-add", None, Kind::Value),
    ("health-cmd", None, Kind::Value),
    ("health-interval", None, Kind::Value),
    ("health-retries", None, Kind::Value),
    ("health-start-interval", None, Kind::Value),
    ("health-start-period", None, Kind::Value),
    ("health-timeout", None, Kind::Value),
    ("help", None, Kind::Bool),
    ("hostname", Some('h'), Kind::Value),
    ("init", None, Kind::Bool),
    ("interactive", Some('i'), Kind::Bool),
    ("io-maxbandwidth", None, Kind::Value),
    ("io-maxiops", None, Kind::Value),
    ("ip", None, Kind::Value),
    ("ip6", None, Kind::Value),
    ("ipc", None, Kind::Value),
    ("isolation", None, Kind::Value),
    ("kernel-memory", None, Kind::Value),
    ("label", Some('l'), Kind::Value),
    ("label-file", None, Kind::Value),
    ("link", None, Kind::Value),
    ("link-local-ip", None, Kind::Value),
    ("log-driver", None, Kind::Value),
    ("log-opt", None, Kind::Value),
    ("mac-address", None, Kind::Value),
    ("memory", Some('m'), Kind::Value),
    ("memory-reservation", None, Kind::Value),
    ("memory-swap", None, Kind::Value),
    ("memory-swappiness", None, Kind::Value),
    ("mount", None, Kind::Value),
    ("name", None, Kind::Value),
    ("net", None, Kind::Value),
    ("net-alias", None, Kind::Value),
    ("network", None, Kind::Value),
    ("network-alias", None, Kind::Value),
    ("no-healthcheck", None, Kind::Bool),
    ("oom-kill-disable", None, Kind::Bool),
    ("oom-score-adj", None, Kind::Value),
    ("pid", None, Kind::Value),
    ("pids-limit", None, Kind::Value),
    ("platform", None, Kind::Value),
    ("privileged", None, Kind::Bool),
    ("publish", Some('p'), Kind::Value),
    ("publish-all", Some('P'), Kind::Bool),
    ("pull", None, Kind::Value),
    ("quiet", Some('q'), Kind::Bool),
    ("read-only", None, Kind::Bool),
    ("restart", None, Kind::Value),
    ("rm", None, Kind::Bool),
    ("runtime", None, Kind::Value),
    ("security-opt", None, Kind::Value),
    ("shm-size", None, Kind::Value),
    ("sig-proxy", None, Kind::Bool),
    ("stop-signal", None, Kind::Value),
    ("stop-timeout", None, Kind::Value),
    ("storage-opt", None, Kind::Value),
    ("sysctl", None, Kind::Value),
    ("tmpfs", None, Kind::Value),
    ("tty", Some('t'), Kind::Bool),
    ("ulimit", None, Kind::Value),
    ("use-api-socket", None, Kind::Bool),
    ("user", Some('u'), Kind::Value),
    ("userns", None, Kind::Value),
    ("uts", None, Kind::Value),
    ("volume", Some('v'), Kind::Value),
    ("volume-driver", None, Kind::Value),
    ("volumes-from", None, Kind::Value),
    ("workdir", Some('w'), Kind::Value),
];

/// Global `docker` options that take a value, before the subcommand.
const GLOBAL_VALUE: &[&str] = &[
    "-H",
    "--host",
    "-c",
    "--context",
    "--config",
    "-l",
    "--log-level",
    "--tlscacert",
    "--tlscert",
    "--tlskey",
];

/// A word of a command line and where it was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Word {
    /// The word after quote removal.
    pub text: String,
    /// Line, 1-based.
    pub line: usize,
    /// Column, 1-based.
    pub col: usize,
}

/// Splits shell text into commands of words, as sh would: quotes, escapes,
/// backslash-newline continuations, comments; `;`, `&`, `|` end a command.
pub fn split_commands(text: &str, first_line: usize) -> Result<Vec<Vec<Word>>, InputError> {
    let mut commands = vec![Vec::new()];
    let mut word: Option<Word> = None;
    let (mut line, mut col) = (first_line, 0usize);
    let mut chars = text.chars().peekable();
    let mut quote: Option<(char, usize, usize)> = None;
    let flush = |word: &mut Option<Word>, commands: &mut Vec<Vec<Word>>| {
        if let Some(w) = word.take() {
            commands.last_mut().expect("never empty").push(w);
        }
    };
    while let Some(c) = chars.next() {
        col += 1;
        let start = |word: &mut Option<Word>| {
            word.get_or_insert(Word {
                text: String::new(),
                line,
                col,
            });
        };
        match (quote, c) {
            (Some(('\'', _, _)), '\'') | (Some(('"', _, _)), '"') => quote = None,
            (Some(('\'', _, _)), c) => push_char(&mut word, c, &mut line, &mut col),
            (Some(('"', _, _)), '\\') => match chars.next() {
                Some('\n') => {
                    line += 1;
                    col = 0;
                }
                Some(n @ ('"' | '\\' | '$' | '`')) => {
                    col += 1;
                    push_char(&mut word, n, &mut line, &mut col)
                }
                Some(n) => {
                    col += 1;
                    push_char(&mut word, '\\', &mut line, &mut col);
                    push_char(&mut word, n, &mut line, &mut col);
                }
                None => {}
            },
            (Some(_), c) => push_char(&mut word, c, &mut line, &mut col),
            (None, '\'' | '"') => {
                start(&mut word);
                quote = Some((c, line, col));
            }
            (None, '\\') => match chars.next() {
                Some('\n') => {
                    line += 1;
                    col = 0;
                }
                Some(n) => {
                    start(&mut word);
                    col += 1;
                    push_char(&mut word, n, &mut line, &mut col);
                }
                None => {}
            },
            (None, '#') if word.is_none() => {
                for n in chars.by_ref() {
                    if n == '\n' {
                        line += 1;
                        col = 0;
                        break;
                    }
                }
                flush(&mut word, &mut commands);
                commands.push(Vec::new());
            }
            (None, '\n') => {
                flush(&mut word, &mut commands);
                commands.push(Vec::new());
                line += 1;
                col = 0;
            }
            (None, ';' | '&' | '|' | '(' | ')' | '<' | '>') => {
                flush(&mut word, &mut commands);
                commands.push(Vec::new());
            }
            (None, c) if c.is_whitespace() => flush(&mut word, &mut commands),
            (None, c) => {
                start(&mut word);
                push_char(&mut word, c, &mut line, &mut col);
            }
        }
    }
    if let Some((q, l, c)) = quote {
        return Err(InputError::at(
            Location {
                file: String::new(),
                line: l,
                col: c,
            },
            format!("unterminated {q} quote"),
        ));
    }
    flush(&mut word, &mut commands);
    commands.retain(|c| !c.is_empty());
    Ok(commands)
}

fn push_char(word: &mut Option<Word>, c: char, line: &mut usize, col: &mut usize) {
    if c == '\n' {
        *line += 1;
        *col = 0;
    }
    if let Some(w) = word.as_mut() {
        w.text.push(c);
    }
}

/// Finds `docker run|create` and `docker container run|create` in the
/// words of one command; returns the words after the subcommand.
fn run_arguments(words: &[Word]) -> Option<&[Word]> {
    let docker = words
        .iter()
        .position(|w| w.text == "docker" || w.text.ends_with("/docker"))?;
    let mut i = docker + 1;
    while let Some(w) = words.get(i) {
        if GLOBAL_VALUE.contains(&w.text.as_str()) {
            i += 2;
        } else if w.text.starts_with('-') {
            i += 1;
        } else {
            break;
        }
    }
    match words.get(i).map(|w| w.text.as_str()) {
        Some("run" | "create") => Some(&words[i + 1..]),
        Some("container") => match words.get(i + 1).map(|w| w.text.as_str()) {
            Some("run" | "create") => Some(&words[i + 2..]),
            _ => None,
        },
        _ => None,
    }
}

/// Reads every `docker run`/`create` line of a shell script or text.
pub fn parse_lines(file: &str, text: &str) -> Result<Vec<Target>, InputError> {
    let commands = split_commands(text, 1).map_err(|mut e| {
        e.location.file = file.to_string();
        e
    })?;
    let mut targets = Vec::new();
    for words in commands {
        if let Some(args) = run_arguments(&words) {
            let origin = Location {
                file: file.to_string(),
                line: words[0].line,
                col: words[0].col,
            };
            targets.push(parse_args(file, args, origin)?);
        }
    }
    Ok(targets)
}

/// Reads one command line given as separate arguments (`dockgate check --
/// docker run ...`).
pub fn parse_argv(argv: &[String]) -> Result<Target, InputError> {
    let mut col = 1;
    let words: Vec<Word> = argv
        .iter()
        .map(|a| {
            let w = Word {
                text: a.clone(),
                line: 1,
                col,
            };
            col += a.chars().count() + 1;
            w
        })
        .collect();
    let origin = Location {
        file: "command line".into(),
        line: 1,
        col: 1,
    };
    match run_arguments(&words) {
        Some(args) => parse_args("command line", args, origin),
        None => Err(InputError::at(
            origin,
            "expected `docker run`, `docker create` or `docker container run|create`",
        )),
    }
}

fn lookup_long(name: &str) -> Option<(&'static str, Kind)> {
    FLAGS
        .iter()
        .find(|(long, _, _)| *long == name)
        .map(|(long, _, kind)| (*long, *kind))
}

fn lookup_short(c: char) -> Option<(&'static str, Kind)> {
    FLAGS
        .iter()
        .find(|(_, short, _)| *short == Some(c))
        .map(|(long, _, kind)| (*long, *kind))
}

/// One parsed flag: its long name, the text written, its value, location.
struct Flag {
    long: &'static str,
    written: String,
    value: String,
    at: Location,
}

fn parse_args(file: &str, args: &[Word], origin: Location) -> Result<Target, InputError> {
    let loc = |w: &Word| Location {
        file: file.to_string(),
        line: w.line,
        col: w.col,
    };
    let mut flags = Vec::new();
    let mut image: Option<&Word> = None;
    let mut i = 0;
    while i < args.len() {
        let word = &args[i];
        let text = word.text.as_str();
        if text == "--" {
            image = args.get(i + 1);
            break;
        }
        if let Some(long) = text.strip_prefix("--") {
            let (name, inline) = match long.split_once('=') {
                Some((n, v)) => (n, Some(v.to_string())),
                None => (long, None),
            };
            let Some((long, kind)) = lookup_long(name) else {
                return Err(InputError::at(loc(word), format!("unknown flag: --{name}")));
            };
            let value = match (kind, inline) {
                (_, Some(v)) => v,
                (Kind::Bool, None) => "true".into(),
                (Kind::Value, None) => {
                    i += 1;
                    args.get(i).map(|w| w.text.clone()).ok_or_else(|| {
                        InputError::at(loc(word), format!("flag needs an argument: --{name}"))
                    })?
                }
            };
            flags.push(Flag {
                long,
                written: format!("--{name}"),
                value,
                at: loc(word),
            });
        } else if let Some(shorts) = text.strip_prefix('-').filter(|s| !s.is_empty()) {
            let chars: Vec<char> = shorts.chars().collect();
            let mut j = 0;
            while j < chars.len() {
                let c = chars[j];
                let Some((long, kind)) = lookup_short(c) else {
                    return Err(InputError::at(
                        loc(word),
                        format!("unknown shorthand flag: '{c}' in {text}"),
                    ));
                };
                let rest: String = chars[j + 1..].iter().collect();
                let value = match kind {
                    Kind::Bool => match rest.strip_prefix('=') {
                        Some(v) => {
                            j = chars.len();
                            v.to_string()
                        }
                        None => "true".into(),
                    },
                    Kind::Value => {
                        j = chars.len();
                        if let Some(v) = rest.strip_prefix('=') {
                            v.to_string()
                        } else if !rest.is_empty() {
                            rest
                        } else {
                            i += 1;
                            args.get(i).map(|w| w.text.clone()).ok_or_else(|| {
                                InputError::at(
                                    loc(word),
                                    format!("flag needs an argument: '{c}' in -{c}"),
                                )
                            })?
                        }
                    }
                };
                flags.push(Flag {
                    long,
                    written: format!("-{c}"),
                    value,
                    at: loc(word),
                });
                j += 1;
            }
        } else {
            image = Some(word);
            break;
        }
        i += 1;
    }
    let Some(image) = image else {
        return Err(InputError::at(origin, "docker run: no image given"));
    };
    build(&flags, image, loc(image), origin)
}

fn build(
    flags: &[Flag],
    image: &Word,
    image_at: Location,
    origin: Location,
) -> Result<Target, InputError> {
    let mut draft = Draft::default();
    draft.set(false, "Image", json!(image.text), "image".into(), image_at);
    let mut name = None;
    let mut network_set = false;
    for f in flags {
        // Repeatable flags are told apart by their value; the others by name.
        let user = format!("{} {}", f.written, f.value);
        let flag = f.written.clone();
        let at = f.at.clone();
        let v = f.value.as_str();
        match f.long {
            "volume" => draft.push(true, "Binds", json!(absolute_source(v)), user, at),
            "use-api-socket" if v == "true" => draft.push(
                true,
                "Binds",
                json!("/var/run/docker.sock:/var/run/docker.sock"),
                f.written.clone(),
                at,
            ),
            "mount" => draft.push(true, "Mounts", mount_csv(v), user, at),
            "tmpfs" => {
                let (path, options) = v.split_once(':').unwrap_or((v, ""));
                draft.insert(true, "Tmpfs", path, json!(options), user, at)
            }
            "publish" => {
                let (ip, host, container) = parse_port(v).ok_or_else(|| {
                    InputError::at(at.clone(), format!("invalid port spec {v:?}"))
                })?;
                draft.push_in_map(
                    "PortBindings",
                    &container,
                    json!({"HostIp": ip, "HostPort": host}),
                    user,
                    at,
                )
            }
            "publish-all" => draft.set(
                true,
                "PublishAllPorts",
                json!(v == "true"),
                f.written.clone(),
                at,
            ),
            "env" => draft.push(
                false,
                "Env",
                json!(v),
                format!("{} {}", f.written, v.split('=').next().unwrap_or(v)),
                at,
            ),
            "cap-add" => draft.push(true, "CapAdd", json!(v), user, at),
            "cap-drop" => draft.push(true, "CapDrop", json!(v), user, at),
            "device" => {
                let mut parts = v.splitn(3, ':');
                let host = parts.next().unwrap_or_default();
                let container = parts.next().unwrap_or(host);
                let perms = parts.next().unwrap_or("rwm");
                draft.push(true, "Devices", json!({"PathOnHost": host, "PathInContainer": container, "CgroupPermissions": perms}), user, at)
            }
            "device-cgroup-rule" => draft.push(true, "DeviceCgroupRules", json!(v), user, at),
            "gpus" => draft.push(
                true,
                "DeviceRequests",
                json!({"Count": -1, "Capabilities": [["gpu"]]}),
                user,
                at,
            ),
            "security-opt" => draft.push(true, "SecurityOpt", json!(v), user, at),
            "sysctl" | "annotation" => {
                let target = if f.long == "sysctl" {
                    "Sysctls"
                } else {
                    "Annotations"
                };
                let (k, val) = v.split_once('=').unwrap_or((v, ""));
                draft.insert(true, target, k, json!(val), user, at)
            }
            "network" | "net" if !network_set => {
                network_set = true;
                draft.set(true, "NetworkMode", json!(v), flag, at)
            }
            "pid" => draft.set(true, "PidMode", json!(v), flag, at),
            "ipc" => draft.set(true, "IpcMode", json!(v), flag, at),
            "uts" => draft.set(true, "UTSMode", json!(v), flag, at),
            "userns" => draft.set(true, "UsernsMode", json!(v), flag, at),
            "cgroupns" => draft.set(true, "CgroupnsMode", json!(v), flag, at),
            "privileged" => draft.set(
                true,
                "Privileged",
                json!(v == "true"),
                f.written.clone(),
                at,
            ),
            "read-only" => draft.set(
                true,
                "ReadonlyRootfs",
                json!(v == "true"),
                f.written.clone(),
                at,
            ),
            "memory" => {
                let bytes = parse_bytes(v).ok_or_else(|| {
                    InputError::at(at.clone(), format!("invalid size {v:?} for {}", f.written))
                })?;
                draft.set(true, "Memory", json!(bytes), flag, at)
            }
            "pids-limit" => {
                let n: i64 = v.parse().map_err(|_| {
                    InputError::at(
                        at.clone(),
                        format!("invalid number {v:?} for {}", f.written),
                    )
                })?;
                draft.set(true, "PidsLimit", json!(n), flag, at)
            }
            "runtime" => draft.set(true, "Runtime", json!(v), flag, at),
            "cgroup-parent" => draft.set(true, "CgroupParent", json!(v), flag, at),
            "user" => draft.set(false, "User", json!(v), flag, at),
            "volumes-from" => draft.push(true, "VolumesFrom", json!(v), user, at),
            "volume-driver" => draft.set(true, "VolumeDriver", json!(v), flag, at),
            "name" => name = Some(v.to_string()),
            _ => {}
        }
    }
    let name = name.unwrap_or_else(|| format!("docker run {}", image.text));
    draft
        .finish(name, origin.clone(), |api| {
            super::unset_name(api)
                .map(|(flag, _)| flag.to_string())
                .unwrap_or_else(|| "docker run".to_string())
        })
        .map_err(|e| InputError::at(origin, e.to_string()))
}

/// A relative bind source (`./data`) is made absolute, as the CLI does.
fn absolute_source(spec: &str) -> String {
    if spec.starts_with("./") || spec.starts_with("../") || spec == "." {
        let cwd = std::env::current_dir()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|_| "/".into());
        format!("{cwd}/{spec}")
    } else {
        spec.to_string()
    }
}

/// `--mount type=bind,source=/x,target=/y,readonly,bind-propagation=rshared`.
fn mount_csv(spec: &str) -> Value {
    let mut mount = serde_json::Map::new();
    let mut bind = serde_json::Map::new();
    let mut driver = serde_json::Map::new();
    let mut options = serde_json::Map::new();
    mount.insert("Type".into(), json!("volume"));
    for field in spec.split(',') {
        let (key, value) = field.split_once('=').unwrap_or((field, ""));
        match key.to_ascii_lowercase().as_str() {
            "type" => {
                mount.insert("Type".into(), json!(value));
            }
            "source" | "src" => {
                mount.insert("Source".into(), json!(value));
            }
            "target" | "destination" | "dst" => {
                mount.insert("Target".into(), json!(value));
            }
            "readonly" | "ro" => {
                mount.insert(
                    "ReadOnly".into(),
                    json!(value.is_empty() || value == "true" || value == "1"),
                );
            }
            "bind-propagation" => {
                bind.insert("Propagation".into(), json!(value));
            }
            "volume-driver" => {
                driver.insert("Name".into(), json!(value));
            }
            "volume-opt" => {
                let (k, v) = value.split_once('=').unwrap_or((value, ""));
                options.insert(k.into(), json!(v));
            }
            _ => {}
        }
    }
    if !bind.is_empty() {
        mount.insert("BindOptions".into(), Value::Object(bind));
    }
    if !driver.is_empty() || !options.is_empty() {
        driver.insert("Options".into(), Value::Object(options));
        mount.insert("VolumeOptions".into(), json!({ "DriverConfig": driver }));
    }
    Value::Object(mount)
}

#[cfg(test)]
mod tests;
