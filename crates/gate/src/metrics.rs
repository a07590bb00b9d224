//! Prometheus metrics of the gate, in the OpenMetrics text format or the
//! classic Prometheus text format, as the scraper asks.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use dockgate_rules::Finding;
use prometheus_client::encoding::text::{encode_eof, encode_registry};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DecisionLabels {
    endpoint: String,
    decision: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct FindingLabels {
    endpoint: String,
    rule: String,
    action: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResultLabels {
    result: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HashLabels {
    hash: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LookupLabels {
    kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BuildLabels {
    version: String,
}

/// Everything the gate counts.
pub struct Metrics {
    registry: Registry,
    decisions: Family<DecisionLabels, Counter>,
    findings: Family<FindingLabels, Counter>,
    latency: Histogram,
    reloads: Family<ResultLabels, Counter>,
    policy: Family<HashLabels, Gauge>,
    current_hash: Mutex<String>,
    in_force: Gauge,
    lookups: Family<LookupLabels, Counter>,
    cache_hits: Family<LookupLabels, Counter>,
    audit_failures: Counter,
    syslog_dropped: Counter,
    syslog_source: Mutex<Option<Arc<AtomicU64>>>,
    shed: Counter,
    accept_errors: Counter,
}

/// The two text formats a scraper may ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exposition {
    /// OpenMetrics 1.0.0 (`application/openmetrics-text`).
    OpenMetrics,
    /// Prometheus text format 0.0.4 (`text/plain; version=0.0.4`), what
    /// Prometheus falls back to and `promtool check metrics` reads.
    Prometheus,
}

impl Exposition {
    /// The format an `Accept` header asks for: OpenMetrics only when it is
    /// named, the classic text format otherwise.
    pub fn for_accept(accept: Option<&str>) -> Exposition {
        match accept {
            Some(a) if a.contains("application/openmetrics-text") => Exposition::OpenMetrics,
            _ => Exposition::Prometheus,
        }
    }

    /// The `Content-Type` of the format.
    pub fn content_type(self) -> &'static str {
        match self {
            Exposition::OpenMetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
            Exposition::Prometheus => "text/plain; version=0.0.4; charset=utf-8",
        }
    }
}

impl Metrics {
    /// Registers every metric.
    pub fn new(policy_hash: &str) -> Arc<Metrics> {
        let mut registry = Registry::with_prefix("dockgate");
        let build = Family::<BuildLabels, Gauge>::default();
        registry.register(
            "build_info",
            "The running dockgate (value 1, its version as a label)",
            build.clone(),
        );
        build
            .get_or_create(&BuildLabels {
                version: env!("CARGO_PKG_VERSION").to_string(),
            })
            .set(1);
        let decisions = Family::<DecisionLabels, Counter>::default();
        registry.register(
            "decisions",
            "AuthZ decisions, one per request, by endpoint and decision",
            decisions.clone(),
        );
        let findings = Family::<FindingLabels, Counter>::default();
        registry.register(
            "rule_findings",
            "Findings in AuthZ decisions by endpoint, rule and action (deny, warn, audit, would-deny in warn or audit mode, exempt)",
            findings.clone(),
        );
        // 10 µs to ~5 s: decisions without look-ups take microseconds,
        // look-ups a few milliseconds, a struggling daemon seconds.
        let latency = Histogram::new([
            0.00001, 0.00003, 0.0001, 0.0003, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 5.0,
        ]);
        registry.register(
            "decision_seconds",
            "Time to decide an AuthZ request, look-ups included",
            latency.clone(),
        );
        let reloads = Family::<ResultLabels, Counter>::default();
        registry.register(
            "policy_reloads",
            "Policy reloads by result",
            reloads.clone(),
        );
        for result in ["ok", "error"] {
            let _ = reloads.get_or_create(&ResultLabels {
                result: result.to_string(),
            });
        }
        let policy = Family::<HashLabels, Gauge>::default();
        registry.register(
            "policy_info",
            "The policy in force (value 1, its hash as a label)",
            policy.clone(),
        );
        let in_force = Gauge::default();
        registry.register(
            "policy_valid",
            "1 while a valid policy is in force; 0 while none could be read at start, and every request but ping and version is refused",
            in_force.clone(),
        );
        in_force.set(1);
        let lookups = Family::<LookupLabels, Counter>::default();
        registry.register(
            "daemon_lookups",
            "Look-ups sent to the Docker daemon, by kind",
            lookups.clone(),
        );
        let cache_hits = Family::<LookupLabels, Counter>::default();
        registry.register(
            "daemon_lookup_cache_hits",
            "Look-ups answered from the cache, by kind",
            cache_hits.clone(),
        );
        let audit_failures = Counter::default();
        registry.register(
            "audit_write_failures",
            "Audit records that did not reach the audit file",
            audit_failures.clone(),
        );
        let syslog_dropped = Counter::default();
        registry.register(
            "syslog_records_dropped",
            "Audit records not sent to syslog because it did not keep up (they are in the audit file)",
            syslog_dropped.clone(),
        );
        let shed = Counter::default();
        registry.register(
            "requests_shed",
            "Requests denied at once because too many were waiting, or none got a slot in time",
            shed.clone(),
        );
        let accept_errors = Counter::default();
        registry.register(
            "accept_errors",
            "Failed accepts on the plugin socket (file descriptors exhausted, say)",
            accept_errors.clone(),
        );
        policy
            .get_or_create(&HashLabels {
                hash: policy_hash.to_string(),
            })
            .set(1);
        Arc::new(Metrics {
            registry,
            decisions,
            findings,
            latency,
            reloads,
            policy,
            current_hash: Mutex::new(policy_hash.to_string()),
            in_force,
            lookups,
            cache_hits,
            audit_failures,
            syslog_dropped,
            syslog_source: Mutex::new(None),
            shed,
            accept_errors,
        })
    }

    /// Counts one decision, and each of its findings under its rule.
    pub fn decision(&self, endpoint: &str, decision: &str, findings: &[Finding], seconds: f64) {
        self.latency.observe(seconds);
        self.decisions
            .get_or_create(&DecisionLabels {
                endpoint: endpoint.to_string(),
                decision: decision.to_string(),
            })
            .inc();
        for finding in findings {
            let action = if finding.exempted.is_some() {
                "exempt"
            } else if finding.would_deny {
                "would-deny"
            } else {
                finding.action.name()
            };
            self.findings
                .get_or_create(&FindingLabels {
                    endpoint: endpoint.to_string(),
                    rule: finding.rule.id().to_string(),
                    action: action.to_string(),
                })
                .inc();
        }
    }

    /// Counts a reload; on success the policy hash changes.
    pub fn reload(&self, result: Result<&str, ()>) {
        let label = if result.is_ok() { "ok" } else { "error" };
        self.reloads
            .get_or_create(&ResultLabels {
                result: label.to_string(),
            })
            .inc();
        if let Ok(hash) = result {
            let mut current = self.current_hash.lock().unwrap_or_else(|e| e.into_inner());
            self.policy.remove(&HashLabels {
                hash: current.clone(),
            });
            *current = hash.to_string();
            self.policy
                .get_or_create(&HashLabels {
                    hash: hash.to_string(),
                })
                .set(1);
        }
    }

    /// Whether a valid policy is in force.
    pub fn policy_in_force(&self, valid: bool) {
        self.in_force.set(i64::from(valid));
    }

    /// Counts a look-up.
    pub fn lookup(&self, kind: &str, cached: bool) {
        let labels = LookupLabels {
            kind: kind.to_string(),
        };
        if cached {
            self.cache_hits.get_or_create(&labels).inc();
        } else {
            self.lookups.get_or_create(&labels).inc();
        }
    }

    /// Counts an audit record that could not be written.
    pub fn audit_failure(&self) {
        self.audit_failures.inc();
    }

    /// Follows the syslog sender's count of dropped records.
    pub fn follow_syslog_drops(&self, dropped: Arc<AtomicU64>) {
        *self.syslog_source.lock().unwrap_or_else(|e| e.into_inner()) = Some(dropped);
    }

    /// Counts a request denied at once for want of a slot.
    pub fn shed(&self) {
        self.shed.inc();
    }

    /// Counts a failed accept on the plugin socket.
    pub fn accept_error(&self) {
        self.accept_errors.inc();
    }

    /// The exposition in a format: dockgate's metrics, then the process's
    /// own (CPU, memory, descriptors, start time) under their standard
    /// names.
    pub fn render(&self, format: Exposition) -> String {
        if let Some(source) = self
            .syslog_source
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
        {
            let dropped = source.load(Ordering::Relaxed);
            let counted = self.syslog_dropped.get();
            if dropped > counted {
                self.syslog_dropped.inc_by(dropped - counted);
            }
        }
        let mut out = String::new();
        if encode_registry(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out.push_str(&process::exposition());
        match format {
            Exposition::OpenMetrics => {
                let _ = encode_eof(&mut out);
                out
            }
            Exposition::Prometheus => to_classic_text(&out),
        }
    }
}

/// Rewrites OpenMetrics text as Prometheus text format 0.0.4: counter and
/// info families are named with their sample suffix, units and `# EOF`
/// go, and `_created` samples (which 0.0.4 has no place for) go too.
fn to_classic_text(open_metrics: &str) -> String {
    let mut renamed: Vec<(String, String)> = Vec::new();
    for line in open_metrics.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            if let Some((name, kind)) = rest.split_once(' ') {
                match kind {
                    "counter" => renamed.push((name.to_string(), format!("{name}_total"))),
                    "info" => renamed.push((name.to_string(), format!("{name}_info"))),
                    _ => {}
                }
            }
        }
    }
    let rename = |name: &str| -> String {
        renamed
            .iter()
            .find(|(from, _)| from == name)
            .map_or_else(|| name.to_string(), |(_, to)| to.clone())
    };
    let mut out = String::with_capacity(open_metrics.len());
    for line in open_metrics.lines() {
        if line == "# EOF" || line.starts_with("# UNIT ") {
            continue;
        }
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let (name, help) = rest.split_once(' ').unwrap_or((rest, ""));
            out.push_str(&format!("# HELP {} {help}\n", rename(name)));
        } else if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap_or((rest, "untyped"));
            let kind = if kind == "info" { "gauge" } else { kind };
            out.push_str(&format!("# TYPE {} {kind}\n", rename(name)));
        } else if line
            .split(['{', ' '])
            .next()
            .is_some_and(|name| name.ends_with("_created"))
        {
            continue;
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

/// The process metrics every Prometheus client library exports, read
/// from `/proc/self`.
mod process {
    use std::fmt::Write as _;

    /// The families, in OpenMetrics text.
    pub fn exposition() -> String {
        let mut out = String::new();
        let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
        // Fields after the command name, which is in parentheses and may
        // hold spaces.
        let fields: Vec<&str> = stat
            .rsplit_once(')')
            .map(|(_, rest)| rest.split_whitespace().collect())
            .unwrap_or_default();
        let field = |n: usize| fields.get(n - 3).and_then(|f| f.parse::<f64>().ok());
        // SAFETY: sysconf reads a system setting and has no memory effects.
        let (ticks_per_second, page) = unsafe {
            (
                libc::sysconf(libc::_SC_CLK_TCK) as f64,
                libc::sysconf(libc::_SC_PAGESIZE) as f64,
            )
        };
        if let (Some(utime), Some(stime)) = (field(14), field(15)) {
            family(
                &mut out,
                "process_cpu_seconds",
                "counter",
                "Total user and system CPU time spent in seconds.",
            );
            let _ = writeln!(
                out,
                "process_cpu_seconds_total {}",
                (utime + stime) / ticks_per_second
            );
        }
        if let Some(vsize) = field(23) {
            family(
                &mut out,
                "process_virtual_memory_bytes",
                "gauge",
                "Virtual memory size in bytes.",
            );
            let _ = writeln!(out, "process_virtual_memory_bytes {vsize}");
        }
        if let Some(rss) = field(24) {
            family(
                &mut out,
                "process_resident_memory_bytes",
                "gauge",
                "Resident memory size in bytes.",
            );
            let _ = writeln!(out, "process_resident_memory_bytes {}", rss * page);
        }
        if let Some(start) =
            field(22).and_then(|ticks| Some(boot_time()? + ticks / ticks_per_second))
        {
            family(
                &mut out,
                "process_start_time_seconds",
                "gauge",
                "Start time of the process since the Unix epoch in seconds.",
            );
            let _ = writeln!(out, "process_start_time_seconds {start}");
        }
        if let Ok(fds) = std::fs::read_dir("/proc/self/fd") {
            family(
                &mut out,
                "process_open_fds",
                "gauge",
                "Number of open file descriptors.",
            );
            let _ = writeln!(out, "process_open_fds {}", fds.count());
        }
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit writes only the struct it is given.
        if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } == 0 {
            family(
                &mut out,
                "process_max_fds",
                "gauge",
                "Maximum number of open file descriptors.",
            );
            let _ = writeln!(out, "process_max_fds {}", limit.rlim_cur);
        }
        out
    }

    fn family(out: &mut String, name: &str, kind: &str, help: &str) {
        let _ = writeln!(out, "# HELP {name} {help}");
        let _ = writeln!(out, "# TYPE {name} {kind}");
    }

    fn boot_time() -> Option<f64> {
        std::fs::read_to_string("/proc/stat")
            .ok()?
            .lines()
            .find_map(|l| l.strip_prefix("btime "))?
            .trim()
            .parse()
            .ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dockgate_rules::{Action, RuleId};

    fn finding(rule: RuleId, action: Action, would_deny: bool) -> Finding {
        Finding {
            rule: rule.into(),
            action,
            field: "HostConfig".into(),
            message: "m".into(),
            exempted: None,
            note: None,
            would_deny,
            lookup_failed: false,
            rule_fix: None,
        }
    }

    fn assert_has(text: &str, lines: &[&str]) {
        for line in lines {
            assert!(text.contains(line), "{line} missing in\n{text}");
        }
    }

    #[test]
    fn decisions_count_once_and_findings_by_rule_and_action() {
        let m = Metrics::new("sha256:aaaa");
        let text = m.render(Exposition::OpenMetrics);
        // Counted from zero, before anything happens.
        assert_has(
            &text,
            &[
                "dockgate_policy_reloads_total{result=\"ok\"} 0",
                "dockgate_policy_reloads_total{result=\"error\"} 0",
                "dockgate_audit_write_failures_total 0",
                "dockgate_syslog_records_dropped_total 0",
                "dockgate_policy_valid 1",
            ],
        );
        assert!(text.contains(&format!(
            "dockgate_build_info{{version=\"{}\"}} 1",
            env!("CARGO_PKG_VERSION")
        )));
        m.decision(
            "container.create",
            "deny",
            &[
                finding(RuleId::Privileged, Action::Deny, false),
                finding(RuleId::HostMount, Action::Deny, false),
                finding(RuleId::HostMount, Action::Deny, false),
            ],
            0.0002,
        );
        m.decision(
            "container.create",
            "allow",
            &[finding(RuleId::Privileged, Action::Warn, true)],
            0.0002,
        );
        m.decision("container.list", "allow", &[], 0.00001);
        m.reload(Ok("sha256:bbbb"));
        m.reload(Err(()));
        m.lookup("volume", false);
        m.lookup("volume", true);
        m.audit_failure();
        m.shed();
        m.accept_error();
        m.policy_in_force(false);
        let dropped = Arc::new(AtomicU64::new(3));
        m.follow_syslog_drops(dropped);
        let text = m.render(Exposition::OpenMetrics);
        assert_has(
            &text,
            &[
                "dockgate_decisions_total{endpoint=\"container.create\",decision=\"deny\"} 1",
                "dockgate_decisions_total{endpoint=\"container.create\",decision=\"allow\"} 1",
                "dockgate_decisions_total{endpoint=\"container.list\",decision=\"allow\"} 1",
                "dockgate_rule_findings_total{endpoint=\"container.create\",rule=\"privileged\",action=\"deny\"} 1",
                "dockgate_rule_findings_total{endpoint=\"container.create\",rule=\"host-mount\",action=\"deny\"} 2",
                "dockgate_rule_findings_total{endpoint=\"container.create\",rule=\"privileged\",action=\"would-deny\"} 1",
                "dockgate_decision_seconds_count 3",
                "dockgate_policy_reloads_total{result=\"ok\"} 1",
                "dockgate_policy_reloads_total{result=\"error\"} 1",
                "dockgate_policy_info{hash=\"sha256:bbbb\"} 1",
                "dockgate_policy_valid 0",
                "dockgate_daemon_lookups_total{kind=\"volume\"} 1",
                "dockgate_daemon_lookup_cache_hits_total{kind=\"volume\"} 1",
                "dockgate_audit_write_failures_total 1",
                "dockgate_syslog_records_dropped_total 3",
                "dockgate_requests_shed_total 1",
                "dockgate_accept_errors_total 1",
                "# TYPE process_open_fds gauge",
                "# TYPE process_cpu_seconds counter",
            ],
        );
        assert!(text.ends_with("# EOF\n"));
        assert!(
            !text.contains("sha256:aaaa"),
            "the old hash is gone:\n{text}"
        );
        let decisions: u64 = text
            .lines()
            .filter(|l| l.starts_with("dockgate_decisions_total{"))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
            .sum();
        assert_eq!(decisions, 3, "one per decision");
    }

    #[test]
    fn classic_text_names_counters_by_their_samples() {
        let m = Metrics::new("sha256:aaaa");
        let text = m.render(Exposition::Prometheus);
        assert_has(
            &text,
            &[
                "# TYPE dockgate_policy_reloads_total counter",
                "# HELP dockgate_policy_reloads_total Policy reloads by result.",
                "# TYPE process_cpu_seconds_total counter",
                "# TYPE dockgate_decision_seconds histogram",
            ],
        );
        assert!(
            !text.contains("# EOF") && !text.contains("# UNIT"),
            "{text}"
        );
        assert_eq!(
            Exposition::for_accept(Some(
                "application/openmetrics-text;version=1.0.0,text/plain;q=0.5"
            )),
            Exposition::OpenMetrics
        );
        assert_eq!(
            Exposition::for_accept(Some("text/plain;version=0.0.4")),
            Exposition::Prometheus
        );
        assert_eq!(Exposition::for_accept(None), Exposition::Prometheus);
    }
}
