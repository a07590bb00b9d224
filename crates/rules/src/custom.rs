//! Custom rules in Rego, evaluated in-process (regorus, Rego v1).
//!
//! A package's `deny`, `warn` and `audit` sets become findings of the
//! custom rules `custom/<package path>/deny` (and `warn`, `audit`), with
//! that action unless the policy file sets another. Each element is a
//! message, or an object with `msg` and `fix`. The input is the model the
//! built-in rules see (`input.workload`), their findings
//! (`input.findings`) and the TLS user (`input.user`): the same document
//! for a request at the gate, a running container in a scan and a compose
//! service in a check.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::policy::Action;

mod compat;
mod runner;

pub use compat::{request_input, SentRequest, DEFAULT_QUERY};

/// The version of the input document custom rules read.
pub const INPUT_SCHEMA: &str = "dockgate.rego-input/v1";

/// How long one evaluation may run. The interpreter checks the time
/// between steps, and builtins that loop check it as they go.
const EVALUATION_LIMIT: Duration = Duration::from_millis(250);

/// How long one `test_` rule may run in `dockgate policy test`: tests
/// build bigger inputs than one request, but never unbounded.
const TEST_LIMIT: Duration = Duration::from_secs(10);

/// How much memory the process may hold while Rego is evaluated: past it
/// an evaluation stops (and what it judges is refused) rather than take
/// the host's memory. The gate itself holds about 15 MiB.
const EVALUATION_MEMORY: u64 = 256 << 20;

/// The sets a package may define, and the action each stands for.
const SETS: &[(&str, Action)] = &[
    ("deny", Action::Deny),
    ("warn", Action::Warn),
    ("audit", Action::Audit),
];

/// Compiled custom rules.
#[derive(Clone)]
pub struct CustomRules {
    /// The rules defined: (id, its action), in the order of `runner`'s
    /// entry points.
    rules: Vec<(Arc<str>, Action)>,
    /// The sets, compiled as entry points: evaluated without copying the
    /// engine, on regorus's virtual machine where they compile to it.
    runner: runner::Runner,
    /// Every file read and its text: what the policy's hash covers.
    sources: Vec<(PathBuf, String)>,
    /// A policy in opa-docker-authz's form.
    compat: Option<compat::CompatPolicy>,
}

/// Where a policy in opa-docker-authz's form is: its files and its query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CompatConfig {
    /// The Rego files, as the policy file names them.
    pub rego: Vec<String>,
    /// The query whose result allows a request.
    pub query: String,
}

/// The input document of custom rules.
pub(crate) fn input(
    workload: &dockgate_model::Workload,
    findings: &[crate::Finding],
    requester: &crate::Requester,
) -> serde_json::Value {
    serde_json::json!({
        "schema": INPUT_SCHEMA,
        "workload": workload,
        "findings": findings,
        "user": requester.tls_user,
    })
}

/// A JSON document as Rego's value, converted in place: printing it and
/// parsing the text back cost a third of an evaluation.
fn rego_value(json: &serde_json::Value) -> Result<regorus::Value, serde_json::Error> {
    use serde::Deserialize;
    regorus::Value::deserialize(json)
}

/// The files the patterns name (a `*` in the file name matches any
/// text); relative patterns are read from `base`.
fn files(patterns: &[String], base: Option<&Path>) -> Result<Vec<PathBuf>, String> {
    let mut files = Vec::new();
    for pattern in patterns {
        let path = match base {
            Some(base) if Path::new(pattern).is_relative() => base.join(pattern),
            _ => PathBuf::from(pattern),
        };
        files.extend(expand(&path).map_err(|e| format!("{pattern:?}: {e}"))?);
    }
    Ok(files)
}

/// The METADATA annotations (`# METADATA` comment blocks, YAML) of rule
/// `rule` of package `package` in a Rego text: the package's, then the
/// rule's, each as its YAML text.
pub(crate) fn metadata(text: &str, package: &str, rule: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current_package = String::new();
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        let trimmed = line.trim();
        if let Some(name) = trimmed.strip_prefix("package ") {
            current_package = name.trim().to_string();
            continue;
        }
        if trimmed != "# METADATA" {
            continue;
        }
        let mut yaml = String::new();
        while let Some(comment) = lines.peek().and_then(|l| l.trim_start().strip_prefix('#')) {
            yaml.push_str(comment.strip_prefix(' ').unwrap_or(comment));
            yaml.push('\n');
            lines.next();
        }
        let Some(target) = lines.peek().map(|l| l.trim()) else {
            break;
        };
        let annotates = match target.strip_prefix("package ") {
            Some(name) => name.trim() == package,
            None => {
                current_package == package
                    && target.strip_prefix(rule).is_some_and(|rest| {
                        !rest.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
                    })
            }
        };
        if annotates {
            blocks.push(yaml);
        }
    }
    blocks
}

/// What `dockgate explain` tells of a custom rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomRuleInfo {
    /// Where it comes from: `the set "deny" of package "company.ports"`,
    /// or the query of a policy in opa-docker-authz's form.
    pub origin: String,
    /// Its action before the mode.
    pub action: Action,
    /// The files that define it.
    pub files: Vec<PathBuf>,
    /// Its METADATA annotations, package's then rule's, as YAML texts.
    pub metadata: Vec<String>,
}

/// The outcome of one `test_` rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestOutcome {
    /// `data.<package>.<test_name>`.
    pub name: String,
    /// Passed, failed (false or undefined), or could not be evaluated.
    pub result: Result<bool, String>,
}

/// Runs every `test_` rule of the Rego files under `dir`, as `opa test`
/// does: a test passes when it evaluates to true. `data` is added to the
/// policy's data (`data.inputs.NAME` for the inputs given).
pub fn run_tests(dir: &Path, data: serde_json::Value) -> Result<Vec<TestOutcome>, String> {
    let mut files = Vec::new();
    collect_rego(dir, &mut files)?;
    if files.is_empty() {
        return Err(format!("no .rego files in {}", dir.display()));
    }
    regorus::set_global_memory_limit(Some(EVALUATION_MEMORY));
    let mut engine = regorus::Engine::new();
    engine.set_rego_v0(false);
    engine.set_execution_timer_config(regorus::utils::limits::ExecutionTimerConfig {
        limit: TEST_LIMIT,
        check_interval: std::num::NonZeroU32::MIN,
    });
    let mut tests = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file)
            .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
        // Rego v1 first; a file v1 refuses is read as v0 (policies
        // written for opa-docker-authz up to 0.8).
        engine.set_rego_v0(false);
        let package = match engine.add_policy(file.display().to_string(), text.clone()) {
            Ok(package) => package,
            Err(v1) => {
                engine.set_rego_v0(true);
                engine
                    .add_policy(file.display().to_string(), text.clone())
                    .map_err(|_| compile_error(&v1.to_string()))?
            }
        };
        for line in text.lines() {
            let head = line
                .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .next()
                .unwrap_or_default();
            if head.starts_with("test_") {
                let name = format!("{package}.{head}");
                if !tests.contains(&name) {
                    tests.push(name);
                }
            }
        }
    }
    let data = regorus::Value::from_json_str(&data.to_string()).map_err(|e| e.to_string())?;
    engine.add_data(data).map_err(|e| e.to_string())?;
    Ok(tests
        .into_iter()
        .map(|name| {
            let result = match engine.eval_rule(name.clone()) {
                Ok(value) => Ok(value == regorus::Value::from(true)),
                Err(err) => Err(one_line(&err.to_string())),
            };
            TestOutcome { name, result }
        })
        .collect())
}

fn collect_rego(dir: &Path, files: &mut Vec<PathBuf>) -> Result<(), String> {
    let entries =
        std::fs::read_dir(dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
    let mut paths: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
    paths.sort();
    for path in paths {
        if path.is_dir() {
            collect_rego(&path, files)?;
        } else if path.extension().is_some_and(|e| e == "rego") {
            files.push(path);
        }
    }
    Ok(())
}

/// What one custom rule found.
pub(crate) struct CustomHit {
    /// `custom/<package path>/<set>`.
    pub rule: Arc<str>,
    /// The set's action.
    pub action: Action,
    /// The message.
    pub message: String,
    /// The fix the rule gave, if any.
    pub fix: Option<String>,
    /// The evaluation failed: the request is refused whatever the mode.
    pub failed: bool,
}

impl CustomRules {
    /// Reads and compiles every file the patterns name (a `*` in the
    /// file name matches any text). Relative patterns are read from
    /// `base`. A named file that is missing, or any file that does not
    /// compile, is an error that names it and the line.
    pub(crate) fn load(
        patterns: &[String],
        compat: Option<&CompatConfig>,
        base: Option<&Path>,
    ) -> Result<CustomRules, String> {
        let files = files(patterns, base).map_err(|e| format!("rego: {e}"))?;
        let limit = regorus::utils::limits::ExecutionTimerConfig {
            limit: EVALUATION_LIMIT,
            check_interval: std::num::NonZeroU32::MIN,
        };
        // Compiled entry points evaluate in engines of their own, which
        // take the process-wide limit.
        regorus::utils::limits::set_fallback_execution_timer_config(Some(limit));
        regorus::set_global_memory_limit(Some(EVALUATION_MEMORY));
        let mut engine = regorus::Engine::new();
        engine.set_rego_v0(false);
        engine.set_execution_timer_config(limit);
        let mut sources = Vec::new();
        for file in files {
            let text = std::fs::read_to_string(&file)
                .map_err(|e| format!("rego: cannot read {}: {e}", file.display()))?;
            engine
                .add_policy(file.display().to_string(), text.clone())
                .map_err(|e| format!("rego: {}", compile_error(&e.to_string())))?;
            sources.push((file, text));
        }
        let mut rules = Vec::new();
        let mut entries = Vec::new();
        let packages = engine
            .get_packages()
            .map_err(|e| format!("rego: {}", one_line(&e.to_string())))?;
        for package in packages {
            let path = package.trim_start_matches("data.").replace('.', "/");
            for (set, action) in SETS {
                let rule = format!("{package}.{set}");
                // A set the package does not define is not a rule: the
                // only compile error that is not the policy's fault.
                let compiled = match engine.compile_with_entrypoint(&rule.as_str().into()) {
                    Ok(compiled) => compiled,
                    Err(err) if err.to_string().contains("not a valid rule path") => continue,
                    Err(err) => {
                        return Err(format!("rego: {rule}: {}", one_line(&err.to_string())))
                    }
                };
                rules.push((format!("custom/{path}/{set}").into(), *action));
                entries.push((rule, compiled));
            }
        }
        let compat = match compat {
            Some(config) => {
                let read = compat::read_files(&config.rego, base)
                    .map_err(|e| format!("opa-docker-authz.rego: {e}"))?;
                let policy = compat::CompatPolicy::load(&read, &config.query, limit)
                    .map_err(|e| format!("opa-docker-authz: {e}"))?;
                sources.extend(read);
                Some(policy)
            }
            None => None,
        };
        Ok(CustomRules {
            rules,
            runner: runner::Runner::new(entries, limit),
            sources,
            compat,
        })
    }

    /// What `dockgate explain` tells of rule `id`, whose action the
    /// policy file may have changed to `action`.
    pub(crate) fn info(&self, id: &str, action: Option<Action>) -> Option<CustomRuleInfo> {
        let (own, origin, package, rule) =
            if let Some(compat) = self.compat.as_ref().filter(|c| &*c.id == id) {
                let path = compat.query.trim_start_matches("data.");
                let (package, rule) = path.rsplit_once('.').unwrap_or(("", path));
                (
                    Action::Deny,
                    format!(
                        "a policy in opa-docker-authz's form: it denies what {} does not allow",
                        compat.query
                    ),
                    package.to_string(),
                    rule.to_string(),
                )
            } else {
                let (_, own) = self.rules.iter().find(|(rule, _)| &**rule == id)?;
                let (package, set) = id
                    .trim_start_matches("custom/")
                    .rsplit_once('/')
                    .unwrap_or_default();
                let package = package.replace('/', ".");
                (
                    *own,
                    format!("the set {set:?} of package {package:?} in the policy's Rego files"),
                    package,
                    set.to_string(),
                )
            };
        let mut files = Vec::new();
        let mut metadata = Vec::new();
        for (file, text) in &self.sources {
            let declares = text.lines().any(|l| {
                l.trim().strip_prefix("package ").map(str::trim) == Some(package.as_str())
            });
            if declares {
                files.push(file.clone());
                metadata.extend(crate::custom::metadata(text, &package, &rule));
            }
        }
        Some(CustomRuleInfo {
            origin,
            action: action.unwrap_or(own),
            files,
            metadata,
        })
    }

    /// Whether a policy in opa-docker-authz's form judges the requests
    /// themselves.
    pub(crate) fn judges_requests(&self) -> bool {
        self.compat.is_some()
    }

    /// The ids of the rules defined.
    pub(crate) fn ids(&self) -> impl Iterator<Item = &str> {
        self.rules().map(|(id, _)| id)
    }

    /// The rules defined, with their sets' actions; a policy in
    /// opa-docker-authz's form is one rule that denies.
    pub(crate) fn rules(&self) -> impl Iterator<Item = (&str, Action)> {
        self.rules
            .iter()
            .map(|(id, action)| (&**id, *action))
            .chain(self.compat.iter().map(|c| (&*c.id, Action::Deny)))
    }

    /// What every rule finds: the native rules in their input (built only
    /// if there are any), the policy in opa-docker-authz's form in the
    /// request (or the create request that makes a container).
    pub(crate) fn evaluate(
        &self,
        input: impl FnOnce() -> serde_json::Value,
        workload: &dockgate_model::Workload,
        requester: &crate::Requester,
    ) -> Vec<CustomHit> {
        let mut hits = Vec::new();
        if !self.rules.is_empty() {
            hits = self.evaluate_native(&input());
        }
        hits.extend(self.evaluate_request_rule(workload, requester));
        hits
    }

    /// What the policy in opa-docker-authz's form finds, if there is one.
    pub(crate) fn evaluate_request_rule(
        &self,
        workload: &dockgate_model::Workload,
        requester: &crate::Requester,
    ) -> Option<CustomHit> {
        self.compat.as_ref()?.evaluate(workload, requester)
    }

    fn evaluate_native(&self, input: &serde_json::Value) -> Vec<CustomHit> {
        let mut hits = Vec::new();
        let value = match rego_value(input) {
            Ok(value) => value,
            Err(err) => {
                for (id, _) in &self.rules {
                    hits.push(failure(id, &format!("the input could not be built: {err}")));
                }
                return hits;
            }
        };
        for ((id, action), result) in self.rules.iter().zip(self.runner.run(&value)) {
            match result {
                Ok(found) => match found
                    .to_json_str()
                    .ok()
                    .and_then(|t| serde_json::from_str(&t).ok())
                {
                    Some(serde_json::Value::Array(items)) => {
                        for item in items {
                            let (message, fix) = message_of(item);
                            hits.push(CustomHit {
                                rule: id.clone(),
                                action: *action,
                                message,
                                fix,
                                failed: false,
                            });
                        }
                    }
                    // Undefined (no element) or empty: nothing found.
                    Some(serde_json::Value::Null) | None => {}
                    Some(other) => hits.push(failure(
                        id,
                        &format!("it is not a set of messages but {other}"),
                    )),
                },
                Err(err) => hits.push(failure(id, &err)),
            }
        }
        hits
    }

    /// The files and texts, for the policy's hash.
    pub(crate) fn sources(&self) -> &[(PathBuf, String)] {
        &self.sources
    }
}

impl PartialEq for CustomRules {
    fn eq(&self, other: &Self) -> bool {
        self.sources == other.sources
    }
}

impl Eq for CustomRules {}

impl std::fmt::Debug for CustomRules {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CustomRules")
            .field("rules", &self.ids().collect::<Vec<_>>())
            .finish()
    }
}

fn failure(id: &Arc<str>, why: &str) -> CustomHit {
    CustomHit {
        rule: id.clone(),
        action: Action::Deny,
        message: format!("custom rule {id} could not be evaluated: {why}"),
        fix: Some(
            "fix the Rego policy (dockgate policy validate); until then, what it judges is refused"
                .into(),
        ),
        failed: true,
    }
}

/// A set element: a message, or an object with `msg` and `fix`.
fn message_of(item: serde_json::Value) -> (String, Option<String>) {
    match item {
        serde_json::Value::String(message) => (message, None),
        serde_json::Value::Object(object) => {
            let text = |key: &str| object.get(key).and_then(|v| v.as_str()).map(str::to_string);
            match text("msg") {
                Some(message) => (message, text("fix")),
                None => (serde_json::Value::Object(object).to_string(), None),
            }
        }
        other => (other.to_string(), None),
    }
}

/// The files a pattern names: itself, or with a `*` in the file name,
/// the matching files of its directory, sorted.
fn expand(path: &Path) -> Result<Vec<PathBuf>, String> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let Some((prefix, suffix)) = name.split_once('*') else {
        return if path.is_file() {
            Ok(vec![path.to_path_buf()])
        } else {
            Err("no such file".into())
        };
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    let entries =
        std::fs::read_dir(dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
    let mut files: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .filter(|p| {
            let n = p
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            n.len() >= prefix.len() + suffix.len() && n.starts_with(prefix) && n.ends_with(suffix)
        })
        .collect();
    files.sort();
    Ok(files)
}

/// regorus's report of a file that does not compile (`--> FILE:L:C`, the
/// line, a caret, `error: WHAT`) as `FILE:L:C: WHAT`.
fn compile_error(report: &str) -> String {
    let at = report
        .lines()
        .find_map(|l| l.trim().strip_prefix("--> "))
        .map(str::trim);
    let what = report
        .lines()
        .find_map(|l| l.trim().strip_prefix("error: "))
        .map(str::trim);
    match (at, what) {
        (Some(at), Some(what)) => format!("{at}: {what}"),
        _ => one_line(report),
    }
}

/// regorus's multi-line errors on one line.
fn one_line(text: &str) -> String {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && *l != "|")
        .collect::<Vec<_>>()
        .join(" ")
}
