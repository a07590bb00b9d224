//! Prometheus metrics of the gate, in the OpenMetrics text format.

use std::sync::{Arc, Mutex};

use prometheus_client::encoding::text::encode;
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
    rule: String,
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

/// Everything the gate counts.
pub struct Metrics {
    registry: Registry,
    decisions: Family<DecisionLabels, Counter>,
    latency: Histogram,
    reloads: Family<ResultLabels, Counter>,
    policy: Family<HashLabels, Gauge>,
    current_hash: Mutex<String>,
    lookups: Family<LookupLabels, Counter>,
    cache_hits: Family<LookupLabels, Counter>,
    audit_failures: Counter,
    shed: Counter,
    accept_errors: Counter,
}

impl Metrics {
    /// Registers every metric.
    pub fn new(policy_hash: &str) -> Arc<Metrics> {
        let mut registry = Registry::with_prefix("dockgate");
        let decisions = Family::<DecisionLabels, Counter>::default();
        registry.register(
            "decisions",
            "AuthZ decisions by endpoint, decision and rule (rule=\"none\" when nothing was found)",
            decisions.clone(),
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
        let policy = Family::<HashLabels, Gauge>::default();
        registry.register(
            "policy_info",
            "The policy in force (value 1, its hash as a label)",
            policy.clone(),
        );
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
            latency,
            reloads,
            policy,
            current_hash: Mutex::new(policy_hash.to_string()),
            lookups,
            cache_hits,
            audit_failures,
            shed,
            accept_errors,
        })
    }

    /// Counts one decision.
    pub fn decision(&self, endpoint: &str, decision: &str, rules: &[&str], seconds: f64) {
        self.latency.observe(seconds);
        let rules = if rules.is_empty() {
            &["none"][..]
        } else {
            rules
        };
        for rule in rules {
            self.decisions
                .get_or_create(&DecisionLabels {
                    endpoint: endpoint.to_string(),
                    decision: decision.to_string(),
                    rule: rule.to_string(),
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
            self.policy
                .get_or_create(&HashLabels {
                    hash: current.clone(),
                })
                .set(0);
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

    /// Counts a request denied at once for want of a slot.
    pub fn shed(&self) {
        self.shed.inc();
    }

    /// Counts a failed accept on the plugin socket.
    pub fn accept_error(&self) {
        self.accept_errors.inc();
    }

    /// The OpenMetrics text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        if encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exposition_holds_every_metric() {
        let m = Metrics::new("sha256:aaaa");
        m.decision(
            "container.create",
            "deny",
            &["privileged", "host-mount"],
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
        let text = m.render();
        for line in [
            "dockgate_decisions_total{endpoint=\"container.create\",decision=\"deny\",rule=\"privileged\"} 1",
            "dockgate_decisions_total{endpoint=\"container.list\",decision=\"allow\",rule=\"none\"} 1",
            "dockgate_decision_seconds_count 2",
            "dockgate_policy_reloads_total{result=\"ok\"} 1",
            "dockgate_policy_reloads_total{result=\"error\"} 1",
            "dockgate_policy_info{hash=\"sha256:bbbb\"} 1",
            "dockgate_daemon_lookups_total{kind=\"volume\"} 1",
            "dockgate_daemon_lookup_cache_hits_total{kind=\"volume\"} 1",
            "dockgate_audit_write_failures_total 1",
            "dockgate_requests_shed_total 1",
            "dockgate_accept_errors_total 1",
        ] {
            assert!(text.contains(line), "{line} missing in\n{text}");
        }
        assert!(
            !text.contains("sha256:aaaa"),
            "the old hash is gone:\n{text}"
        );
    }
}
