//! `docker run`, `docker create` and `docker exec` command lines, parsed
//! the way the docker CLI (pflag) parses them: `--flag value`,
//! `--flag=value`, combined short flags (`-itv /:/x`), repeated flags,
//! booleans as Go's `strconv.ParseBool` reads them (`--privileged=1`), `--`
//! before the image. The image (or container) and command are the first
//! words that are not flags. An unknown flag is an error, as it is for the
//! CLI.
//!
//! What the flags set comes from [`super::settings`]; the flags listed
//! here are those that reach nothing the rules judge, kept so that the
//! words after them are read as the CLI reads them.

use dockgate_model::clean_path;
use serde_json::json;

use super::settings::{self, apply, Item, Setting, Shape, Surroundings, Written};
use super::{parse_bool, Draft, InputError, Location, Request, Target};

/// How a flag takes its argument.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Bool,
    Value,
}

/// The `docker run` / `docker create` flags (docker CLI 28) that set
/// nothing the rules read: long name, short name, kind. Hidden aliases are
/// included.
const OTHER_RUN_FLAGS: &[(&str, Option<char>, Kind)] = &[
    ("add-host", None, Kind::Value),
    ("attach", Some('a'), Kind::Value),
    ("blkio-weight", None, Kind::Value),
    ("blkio-weight-device", None, Kind::Value),
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
    ("env-file", None, Kind::Value),
    ("expose", None, Kind::Value),
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
    ("isolation", None, Kind::Value),
    ("kernel-memory", None, Kind::Value),
    ("label-file", None, Kind::Value),
    ("link", None, Kind::Value),
    ("link-local-ip", None, Kind::Value),
    ("mac-address", None, Kind::Value),
    ("memory-reservation", None, Kind::Value),
    ("memory-swap", None, Kind::Value),
    ("memory-swappiness", None, Kind::Value),
    ("name", None, Kind::Value),
    ("net-alias", None, Kind::Value),
    ("network-alias", None, Kind::Value),
    ("no-healthcheck", None, Kind::Bool),
    ("oom-kill-disable", None, Kind::Bool),
    ("oom-score-adj", None, Kind::Value),
    ("platform", None, Kind::Value),
    ("pull", None, Kind::Value),
    ("quiet", Some('q'), Kind::Bool),
    ("restart", None, Kind::Value),
    ("rm", None, Kind::Bool),
    ("shm-size", None, Kind::Value),
    ("sig-proxy", None, Kind::Bool),
    ("stop-signal", None, Kind::Value),
    ("stop-timeout", None, Kind::Value),
    ("storage-opt", None, Kind::Value),
    ("tty", Some('t'), Kind::Bool),
    ("ulimit", None, Kind::Value),
    ("workdir", Some('w'), Kind::Value),
];

/// Every flag of `docker exec` (docker CLI 28); `env`, `privileged` and
/// `user` are read from [`super::settings`], like run's.
const EXEC_FLAGS: &[&str] = &[
    "detach",
    "detach-keys",
    "env",
    "env-file",
    "interactive",
    "privileged",
    "tty",
    "user",
    "workdir",
];

/// The `docker` subcommands read here.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Command {
    /// `run` and `create`: a new container.
    Run,
    /// `exec`: a process in a running container.
    Exec,
}

impl Command {
    /// A flag of this command: its long name, short name, kind, and the
    /// setting it writes.
    fn flag(
        self,
        matches: impl Fn(&str, Option<char>) -> bool,
    ) -> Option<(&'static str, Kind, Option<&'static Setting>)> {
        let kind_of = |s: &Setting| {
            if matches!(s.shape, Shape::Bool | Shape::ApiSocket) {
                Kind::Bool
            } else {
                Kind::Value
            }
        };
        let from_settings = settings::SETTINGS.iter().find_map(|s| {
            s.flags
                .iter()
                .enumerate()
                .find(|(i, long)| matches(long, if *i == 0 { s.short } else { None }))
                .map(|(_, long)| (*long, kind_of(s), Some(s)))
        });
        let found = from_settings.or_else(|| {
            OTHER_RUN_FLAGS
                .iter()
                .find(|(long, short, _)| matches(long, *short))
                .map(|(long, _, kind)| (*long, *kind, None))
        })?;
        match self {
            Command::Run => Some(found),
            Command::Exec => EXEC_FLAGS.contains(&found.0).then_some(found),
        }
    }
}

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
    /// The word after quote removal, expansions left as written.
    pub text: String,
    /// Line, 1-based.
    pub line: usize,
    /// Column, 1-based.
    pub col: usize,
    /// The shell expansions in it, as written (`$HOME`, `${DIR}`,
    /// `$(pwd)`, `` `pwd` ``, `~`): what the word becomes depends on them.
    pub expansions: Vec<String>,
}

/// Splits shell text into commands of words, as sh would: quotes, escapes,
/// backslash-newline continuations, comments, command substitutions; `;`,
/// `&`, `|` end a command.
pub fn split_commands(text: &str, first_line: usize) -> Result<Vec<Vec<Word>>, InputError> {
    let mut commands = vec![Vec::new()];
    let mut word: Option<Word> = None;
    let (mut line, mut col) = (first_line, 0usize);
    let mut chars = text.chars().peekable();
    let mut quote: Option<(char, usize, usize)> = None;
    // Commands inside `$(...)` and backquotes run too: read them as well.
    let mut nested: Vec<Vec<Word>> = Vec::new();
    // The word after a redirection (`2>/dev/null`) is its target, not an
    // argument.
    let mut redirect_target = false;
    let flush = |word: &mut Option<Word>, commands: &mut Vec<Vec<Word>>, skip: &mut bool| {
        if let Some(w) = word.take() {
            if std::mem::take(skip) {
                return;
            }
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
                expansions: Vec::new(),
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
            // `$'...'`: bash's ANSI-C quoting, a string with escapes.
            (None, '$') if chars.peek() == Some(&'\'') => {
                start(&mut word);
                chars.next();
                col += 1;
                ansi_c_quoted(&mut chars, &mut word, &mut line, &mut col);
            }
            // `$"..."`: a locale-translated string, read as "...".
            (None, '$') if chars.peek() == Some(&'"') => {
                start(&mut word);
                chars.next();
                col += 1;
                quote = Some(('"', line, col));
            }
            (Some(('"', _, _)) | None, '$' | '`') => {
                start(&mut word);
                let expansion = expansion(c, &mut chars, &mut line, &mut col);
                let inner = expansion
                    .strip_prefix("$(")
                    .and_then(|e| e.strip_suffix(')'))
                    .or_else(|| {
                        expansion
                            .strip_prefix('`')
                            .and_then(|e| e.strip_suffix('`'))
                    });
                if let Some(inner) = inner.filter(|i| !i.starts_with('(')) {
                    nested.extend(split_commands(inner, line)?);
                }
                if let Some(w) = word.as_mut() {
                    w.text.push_str(&expansion);
                    if expansion.len() > 1 {
                        w.expansions.push(expansion);
                    }
                }
            }
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
                flush(&mut word, &mut commands, &mut redirect_target);
                commands.push(Vec::new());
            }
            (None, '\n') => {
                flush(&mut word, &mut commands, &mut redirect_target);
                commands.push(Vec::new());
                line += 1;
                col = 0;
            }
            // A redirection keeps the command going: a file descriptor
            // number right before it and the target after it are not
            // arguments.
            (None, '<' | '>') => {
                if word.as_ref().is_some_and(|w| {
                    !w.text.is_empty()
                        && w.text.chars().all(|d| d.is_ascii_digit())
                        && w.expansions.is_empty()
                }) {
                    word = None;
                } else {
                    flush(&mut word, &mut commands, &mut redirect_target);
                }
                while let Some(&n) = chars.peek() {
                    if matches!(n, '>' | '<' | '&' | '|') {
                        chars.next();
                        col += 1;
                    } else {
                        break;
                    }
                }
                redirect_target = true;
            }
            (None, ';' | '&' | '|' | '(' | ')') => {
                flush(&mut word, &mut commands, &mut redirect_target);
                commands.push(Vec::new());
            }
            (None, c) if c.is_whitespace() => flush(&mut word, &mut commands, &mut redirect_target),
            // A tilde starting a word, or after the `=` of `--flag=~/x`
            // (bash expands both), is the home of some user on the host
            // that runs the line.
            (None, '~')
                if word
                    .as_ref()
                    .is_none_or(|w| w.text.ends_with('=') || w.text.ends_with(':')) =>
            {
                start(&mut word);
                let mut user = String::from("~");
                while let Some(&n) = chars.peek() {
                    if n.is_ascii_alphanumeric() || matches!(n, '_' | '-' | '.') {
                        user.push(n);
                        chars.next();
                        col += 1;
                    } else {
                        break;
                    }
                }
                if let Some(w) = word.as_mut() {
                    w.text.push_str(&user);
                    w.expansions.push(user);
                }
            }
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
    flush(&mut word, &mut commands, &mut redirect_target);
    commands.extend(nested);
    commands.retain(|c| !c.is_empty());
    Ok(commands)
}

/// The rest of a `$'...'` string, with bash's escapes.
fn ansi_c_quoted(
    chars: &mut Chars<'_>,
    word: &mut Option<Word>,
    line: &mut usize,
    col: &mut usize,
) {
    while let Some(c) = chars.next() {
        *col += 1;
        let decoded = match c {
            '\'' => return,
            '\\' => {
                *col += 1;
                match chars.next() {
                    Some('n') => '\n',
                    Some('t') => '\t',
                    Some('r') => '\r',
                    Some('a') => '\u{7}',
                    Some('b') => '\u{8}',
                    Some('e' | 'E') => '\u{1b}',
                    Some('f') => '\u{c}',
                    Some('v') => '\u{b}',
                    Some('x') => {
                        let mut hex = String::new();
                        while hex.len() < 2 && chars.peek().is_some_and(char::is_ascii_hexdigit) {
                            hex.extend(chars.next());
                        }
                        u32::from_str_radix(&hex, 16)
                            .ok()
                            .and_then(char::from_u32)
                            .unwrap_or('x')
                    }
                    Some(d @ '0'..='7') => {
                        let mut octal = String::from(d);
                        while octal.len() < 3
                            && chars.peek().is_some_and(|c| ('0'..='7').contains(c))
                        {
                            octal.extend(chars.next());
                        }
                        u32::from_str_radix(&octal, 8)
                            .ok()
                            .and_then(char::from_u32)
                            .unwrap_or('0')
                    }
                    Some(other) => other,
                    None => return,
                }
            }
            other => other,
        };
        push_char(word, decoded, line, col);
    }
}

type Chars<'a> = std::iter::Peekable<std::str::Chars<'a>>;

/// Reads a parameter expansion or command substitution that starts with
/// `first` (`$` or a backquote) and returns it as written; a lone `$` is
/// itself.
fn expansion(first: char, chars: &mut Chars<'_>, line: &mut usize, col: &mut usize) -> String {
    let mut text = String::from(first);
    if first == '`' {
        take_until(&mut text, '`', '`', chars, line, col);
        return text;
    }
    match chars.peek().copied() {
        Some(open @ ('{' | '(')) => {
            text.push(open);
            chars.next();
            *col += 1;
            let close = if open == '{' { '}' } else { ')' };
            take_until(&mut text, open, close, chars, line, col);
        }
        Some(n) if n.is_ascii_alphabetic() || n == '_' => {
            while let Some(&n) = chars.peek() {
                if !(n.is_ascii_alphanumeric() || n == '_') {
                    break;
                }
                text.push(n);
                chars.next();
                *col += 1;
            }
        }
        // `$1`, `$@`, `$$`, `$?`: one character.
        Some(n) if n.is_ascii_digit() || "@*#?$!-".contains(n) => {
            text.push(n);
            chars.next();
            *col += 1;
        }
        _ => {}
    }
    text
}

/// Appends characters up to the `close` that balances an `open` already
/// read.
fn take_until(
    text: &mut String,
    open: char,
    close: char,
    chars: &mut Chars<'_>,
    line: &mut usize,
    col: &mut usize,
) {
    let mut depth = 1usize;
    for n in chars.by_ref() {
        *col += 1;
        if n == '\n' {
            *line += 1;
            *col = 0;
        }
        text.push(n);
        if n == close {
            depth -= 1;
            if depth == 0 || open == close {
                break;
            }
        } else if n == open {
            depth += 1;
        }
    }
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

/// Finds `docker run|create|exec` and `docker container run|create|exec`
/// in the words of one command; returns the command and the words after
/// it.
fn command_arguments(words: &[Word]) -> Option<(Command, &[Word])> {
    // `docker` may come after assignments (`FOO=x docker run`) or a
    // wrapper (`sudo -g docker docker run`): try each word that names it.
    words.iter().enumerate().find_map(|(docker, w)| {
        let named = (w.text == "docker" || w.text.ends_with("/docker")) && !w.text.contains('=');
        if named {
            docker_command(&words[docker + 1..])
        } else {
            None
        }
    })
}

/// After `docker`: global flags, then `[container] run|create|exec`.
fn docker_command(words: &[Word]) -> Option<(Command, &[Word])> {
    let mut i = 0;
    while let Some(w) = words.get(i) {
        if GLOBAL_VALUE.contains(&w.text.as_str()) {
            i += 2;
        } else if w.text.starts_with('-') {
            i += 1;
        } else {
            break;
        }
    }
    if words.get(i).is_some_and(|w| w.text == "container") {
        i += 1;
    }
    let command = match words.get(i).map(|w| w.text.as_str()) {
        Some("run" | "create") => Command::Run,
        Some("exec") => Command::Exec,
        _ => return None,
    };
    Some((command, &words[i + 1..]))
}

/// Reads every `docker run`/`create`/`exec` line of a shell script or text.
pub fn parse_lines(file: &str, text: &str) -> Result<Vec<Target>, InputError> {
    let commands = split_commands(text, 1).map_err(|mut e| {
        e.location.file = file.to_string();
        e
    })?;
    let mut targets = Vec::new();
    for words in commands {
        if let Some((command, args)) = command_arguments(&words) {
            let origin = Location {
                file: file.to_string(),
                line: words[0].line,
                col: words[0].col,
            };
            targets.push(parse_args(command, file, args, origin)?);
        }
    }
    Ok(targets)
}

/// Reads one command line given as separate arguments (`dockgate check --
/// docker run ...`); the shell has already expanded them.
pub fn parse_argv(argv: &[String]) -> Result<Target, InputError> {
    let mut col = 1;
    let words: Vec<Word> = argv
        .iter()
        .map(|a| {
            let w = Word {
                text: a.clone(),
                line: 1,
                col,
                expansions: Vec::new(),
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
    match command_arguments(&words) {
        Some((command, args)) => parse_args(command, "command line", args, origin),
        None => Err(InputError::at(
            origin,
            "expected `docker run`, `docker create`, `docker exec` or `docker container run|create|exec`",
        )),
    }
}

/// One parsed flag: the setting it writes, the text written, its value,
/// location, and the shell expansions in the value.
struct Flag<'w> {
    setting: Option<&'static Setting>,
    written: String,
    value: String,
    at: Location,
    word: &'w Word,
}

fn parse_args(
    command: Command,
    file: &str,
    args: &[Word],
    origin: Location,
) -> Result<Target, InputError> {
    let loc = |w: &Word| Location {
        file: file.to_string(),
        line: w.line,
        col: w.col,
    };
    let mut flags = Vec::new();
    let mut operand: Option<&Word> = None;
    let mut i = 0;
    while i < args.len() {
        let word = &args[i];
        let text = word.text.as_str();
        if text == "--" {
            operand = args.get(i + 1);
            break;
        }
        if let Some(long) = text.strip_prefix("--") {
            let (name, inline) = match long.split_once('=') {
                Some((n, v)) => (n, Some(v.to_string())),
                None => (long, None),
            };
            let Some((_, kind, setting)) = command.flag(|l, _| l == name) else {
                return Err(InputError::at(loc(word), format!("unknown flag: --{name}")));
            };
            let written = format!("--{name}");
            let (value, value_word) = match (kind, inline) {
                (_, Some(v)) => (v, word),
                (Kind::Bool, None) => ("true".into(), word),
                (Kind::Value, None) => {
                    i += 1;
                    let next = args.get(i).ok_or_else(|| {
                        InputError::at(loc(word), format!("flag needs an argument: --{name}"))
                    })?;
                    (next.text.clone(), next)
                }
            };
            check_bool(kind, &value, &written, loc(word))?;
            flags.push(Flag {
                setting,
                written,
                value,
                at: loc(word),
                word: value_word,
            });
        } else if let Some(shorts) = text.strip_prefix('-').filter(|s| !s.is_empty()) {
            let chars: Vec<char> = shorts.chars().collect();
            let mut j = 0;
            while j < chars.len() {
                let c = chars[j];
                let Some((_, kind, setting)) = command.flag(|_, short| short == Some(c)) else {
                    return Err(InputError::at(
                        loc(word),
                        format!("unknown shorthand flag: '{c}' in {text}"),
                    ));
                };
                let rest: String = chars[j + 1..].iter().collect();
                let mut value_word = word;
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
                            let next = args.get(i).ok_or_else(|| {
                                InputError::at(
                                    loc(word),
                                    format!("flag needs an argument: '{c}' in -{c}"),
                                )
                            })?;
                            value_word = next;
                            next.text.clone()
                        }
                    }
                };
                check_bool(kind, &value, &format!("-{c}"), loc(word))?;
                flags.push(Flag {
                    setting,
                    written: format!("-{c}"),
                    value,
                    at: loc(word),
                    word: value_word,
                });
                j += 1;
            }
        } else {
            // A word the shell fills in may be flags: followed by more
            // words, it may make any of them the image.
            if word.text.starts_with(['$', '`'])
                && !word.expansions.is_empty()
                && i + 1 < args.len()
            {
                return Err(InputError::at(
                    loc(word),
                    format!(
                        "{} may hold flags, which only the shell that runs the line knows; write the flags out",
                        word.text
                    ),
                ));
            }
            operand = Some(word);
            break;
        }
        i += 1;
    }
    let Some(operand) = operand else {
        let message = match command {
            Command::Run => "docker run: no image given",
            Command::Exec => "docker exec: no container given",
        };
        return Err(InputError::at(origin, message));
    };
    build(command, &flags, operand, loc(operand), origin)
}

/// pflag parses a boolean flag's value when it is given; a value Go's
/// `strconv.ParseBool` refuses is an error of the CLI's, so it is one here.
fn check_bool(kind: Kind, value: &str, flag: &str, at: Location) -> Result<(), InputError> {
    if kind == Kind::Bool && parse_bool(value).is_none() {
        return Err(InputError::at(
            at,
            format!(
                "invalid argument {value:?} for \"{flag}\" flag: strconv.ParseBool: parsing {value:?}: invalid syntax"
            ),
        ));
    }
    Ok(())
}

/// What a run line knows of host paths: the working directory it is
/// checked from, and which words the shell expands.
struct Shell<'w> {
    word: &'w Word,
}

impl Shell<'_> {
    /// A stand-in for the `n`th expansion, free of the `:` and `,` that
    /// volume and mount specs split on: `${DIR:-/srv}` must not split.
    fn placeholder(n: usize) -> String {
        format!("$\u{E000}{n}\u{E001}")
    }

    /// The value with its expansions replaced by stand-ins.
    fn masked(&self, value: &str) -> String {
        let mut value = value.to_string();
        for (n, expansion) in self.word.expansions.iter().enumerate() {
            value = value.replacen(expansion.as_str(), &Self::placeholder(n), 1);
        }
        value
    }

    /// The value with the stand-ins put back.
    fn unmasked(&self, value: &str) -> String {
        let mut value = value.to_string();
        for (n, expansion) in self.word.expansions.iter().enumerate() {
            value = value.replace(&Self::placeholder(n), expansion);
        }
        value
    }
}

impl Surroundings for Shell<'_> {
    fn bind_source(&self, written: &str) -> Result<String, String> {
        let unresolved: Vec<&str> = self
            .word
            .expansions
            .iter()
            .enumerate()
            .filter(|(n, _)| written.contains(&Self::placeholder(*n)))
            .map(|(_, e)| e.as_str())
            .collect();
        if !unresolved.is_empty() {
            return Err(unresolved.join(", "));
        }
        if written.starts_with('.') {
            // The CLI makes a relative bind source absolute against its
            // working directory.
            let cwd = std::env::current_dir()
                .map(|p| p.display().to_string())
                .unwrap_or_else(|_| "/".into());
            return Ok(clean_path(&format!("{cwd}/{written}")));
        }
        Ok(written.to_string())
    }

    fn as_written(&self, value: &str) -> String {
        self.unmasked(value)
    }

    fn read_profile(&self, path: &str) -> Result<String, String> {
        // The file is read where the line runs; one the shell names
        // (`$HOME/p.json`) cannot be read here.
        let source = self.bind_source(path).map_err(|unresolved| {
            format!("the path depends on {unresolved}, which only the shell that runs it knows")
        })?;
        std::fs::read_to_string(source).map_err(|e| e.to_string())
    }
}

fn build(
    command: Command,
    flags: &[Flag<'_>],
    operand: &Word,
    operand_at: Location,
    origin: Location,
) -> Result<Target, InputError> {
    let mut draft = Draft::default();
    let (request, name) = match command {
        Command::Run => {
            draft.set(
                false,
                "Image",
                json!(operand.text),
                "image".into(),
                operand_at,
            );
            let name = flags
                .iter()
                .rev()
                .find(|f| f.written == "--name")
                .map(|f| f.value.clone())
                .unwrap_or_else(|| format!("docker run {}", operand.text));
            (Request::Create, name)
        }
        Command::Exec => (Request::Exec, format!("docker exec {}", operand.text)),
    };
    for f in flags {
        let Some(setting) = f.setting else { continue };
        // Repeatable flags are told apart by their value, the environment
        // by the variable's name; the others by the flag.
        let label = match setting.shape {
            Shape::Text
            | Shape::Network
            | Shape::Bool
            | Shape::Bytes
            | Shape::Count
            | Shape::ApiSocket => f.written.clone(),
            Shape::Env => format!(
                "{} {}",
                f.written,
                f.value.split('=').next().unwrap_or(&f.value)
            ),
            _ => format!("{} {}", f.written, f.value),
        };
        let shell = Shell { word: f.word };
        let item = Item {
            written: Written::Word(shell.masked(&f.value)),
            label,
            at: f.at.clone(),
        };
        let unresolved_before = draft.unresolved_count();
        apply(setting, item, &shell, &mut draft)
            .map_err(|message| InputError::at(f.at.clone(), format!("{}: {message}", f.written)))?;
        // A value the shell fills in is judged only where what it may be
        // is known to be harmless (an environment value, the user, which
        // is judged as unknown) or is reported as unresolved (a bind
        // source); anywhere else it could be anything.
        let expands = shell.masked(&f.value) != f.value;
        let judged = matches!(setting.shape, Shape::Env)
            || setting.flags.contains(&"user")
            || draft.unresolved_count() > unresolved_before;
        if expands && !judged {
            return Err(InputError::at(
                f.at.clone(),
                format!(
                    "{}: the value {} depends on the shell that runs the line; write it out",
                    f.written, f.value
                ),
            ));
        }
    }
    draft
        .finish(request, name, origin.clone(), |api| {
            settings::unset_flag(api)
                .map(|flag| format!("--{flag}"))
                .unwrap_or_else(|| "docker run".to_string())
        })
        .map_err(|e| InputError::at(origin, e.to_string()))
}

#[cfg(test)]
mod tests;
