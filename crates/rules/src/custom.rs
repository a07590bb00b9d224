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

/// The version of the input document custom rules read.
pub const INPUT_SCHEMA: &str = "dockgate.rego-input/v1";

/// How long one evaluation may run. The interpreter checks the time
/// between steps; a single builtin that runs long is not cut short.
const EVALUATION_LIMIT: Duration = Duration::from_millis(250);

/// The sets a package may define, and the action each stands for.
const SETS: &[(&str, Action)] = &[
    ("deny", Action::Deny),
    ("warn", Action::Warn),
    ("audit", Action::Audit),
];

/// Compiled custom rules.
#[derive(Clone)]
pub struct CustomRules {
    /// The rules defined: (id, the set compiled as an entry point, its
    /// action). A compiled entry point is evaluated without copying the
    /// engine, three times faster than asking the engine for the rule.
    rules: Vec<(Arc<str>, regorus::CompiledPolicy, Action)>,
    /// Every file read and its text: what the policy's hash covers.
    sources: Vec<(PathBuf, String)>,
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
    let mut engine = regorus::Engine::new();
    engine.set_rego_v0(false);
    let mut tests = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file)
            .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
        let package = engine
            .add_policy(file.display().to_string(), text.clone())
            .map_err(|e| compile_error(&e.to_string()))?;
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
    pub(crate) fn load(patterns: &[String], base: Option<&Path>) -> Result<CustomRules, String> {
        let mut files = Vec::new();
        for pattern in patterns {
            let path = match base {
                Some(base) if Path::new(pattern).is_relative() => base.join(pattern),
                _ => PathBuf::from(pattern),
            };
            files.extend(expand(&path).map_err(|e| format!("rego: {pattern:?}: {e}"))?);
        }
        let limit = regorus::utils::limits::ExecutionTimerConfig {
            limit: EVALUATION_LIMIT,
            check_interval: std::num::NonZeroU32::MIN,
        };
        // Compiled entry points evaluate in engines of their own, which
        // take the process-wide limit.
        regorus::utils::limits::set_fallback_execution_timer_config(Some(limit));
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
                rules.push((format!("custom/{path}/{set}").into(), compiled, *action));
            }
        }
        Ok(CustomRules { rules, sources })
    }

    /// The ids of the rules defined.
    pub(crate) fn ids(&self) -> impl Iterator<Item = &str> {
        self.rules.iter().map(|(id, _, _)| &**id)
    }

    /// The rules defined, with their sets' actions.
    pub(crate) fn rules(&self) -> impl Iterator<Item = (&str, Action)> {
        self.rules.iter().map(|(id, _, action)| (&**id, *action))
    }

    /// What every rule finds in the input.
    pub(crate) fn evaluate(&self, input: &serde_json::Value) -> Vec<CustomHit> {
        let mut hits = Vec::new();
        let value = match regorus::Value::from_json_str(&input.to_string()) {
            Ok(value) => value,
            Err(err) => {
                for (id, _, _) in &self.rules {
                    hits.push(failure(id, &format!("the input could not be built: {err}")));
                }
                return hits;
            }
        };
        for (id, compiled, action) in &self.rules {
            match compiled.eval_with_input(value.clone()) {
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
                Err(err) => hits.push(failure(id, &one_line(&err.to_string()))),
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
