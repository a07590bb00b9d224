//! What a scan found, independent of how it is shown.

use std::collections::BTreeMap;

use dockgate_inputs::Location;
use dockgate_rules::{Action, Finding, RuleId, RuleRef, Verdict};
use serde::Serialize;

/// What the patrol did, or would do, about a container.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Remediation {
    /// `stop` or `remove`.
    pub action: &'static str,
    /// How it went.
    pub outcome: RemediationOutcome,
}

/// How a remediation went.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "status", content = "error")]
pub enum RemediationOutcome {
    /// Done.
    Done,
    /// `--dry-run`: only reported.
    DryRun,
    /// The daemon refused.
    Failed(String),
}

/// One container and its verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerResult {
    /// The container id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its image reference.
    pub image: String,
    /// What the policy says.
    pub verdict: Verdict,
    /// What was done about it.
    pub remediation: Option<Remediation>,
    /// For files judged by `check`: where each field was written.
    pub locations: BTreeMap<String, Location>,
    /// For files judged by `check`: where the container is described.
    pub origin: Option<Location>,
    /// Whether the subject is the Docker host itself (the host audit),
    /// not a container.
    pub is_host: bool,
}

impl ContainerResult {
    /// A result for a container the daemon holds.
    pub fn running(id: String, name: String, image: String, verdict: Verdict) -> ContainerResult {
        ContainerResult {
            id,
            name,
            image,
            verdict,
            remediation: None,
            locations: BTreeMap::new(),
            origin: None,
            is_host: false,
        }
    }

    /// The Docker host, as the host audit judged it: `address` and `name`
    /// are the daemon's, `daemon` its version.
    pub fn host(
        address: String,
        name: String,
        daemon: String,
        verdict: Verdict,
    ) -> ContainerResult {
        ContainerResult {
            is_host: true,
            ..ContainerResult::running(address, name, daemon, verdict)
        }
    }

    /// Where a finding's field was written, when the input was a file.
    pub fn location_of(&self, finding: &Finding) -> Option<&Location> {
        self.locations.get(&finding.field).or(self.origin.as_ref())
    }

    /// Whether a deny-level finding that no exemption lifts was found.
    pub fn violates(&self) -> bool {
        self.verdict.denials().next().is_some()
    }

    /// Whether a warn-level finding was found.
    pub fn warns(&self) -> bool {
        self.live_findings().any(|f| f.action == Action::Warn)
    }

    /// Findings that no exemption lifted.
    pub fn live_findings(&self) -> impl Iterator<Item = &Finding> {
        self.verdict
            .findings
            .iter()
            .filter(|f| f.exempted.is_none())
    }
}

/// A whole scan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanReport {
    /// When it ran (RFC 3339).
    pub time: String,
    /// The policy it applied.
    pub policy_hash: String,
    /// The rules that were evaluated (not `off`).
    pub rules: Vec<RuleId>,
    /// Other checks evaluated, reported whether they found something or
    /// not: the host audit's.
    pub checks: Vec<RuleRef>,
    /// Every container looked at, in listing order.
    pub containers: Vec<ContainerResult>,
}

impl ScanReport {
    /// Every finding, with the subject it was found in, in report order.
    pub fn findings(&self) -> impl Iterator<Item = (&ContainerResult, &Finding)> {
        self.containers
            .iter()
            .flat_map(|c| c.verdict.findings.iter().map(move |f| (c, f)))
    }

    /// Containers with a deny-level finding.
    pub fn violating(&self) -> usize {
        self.containers.iter().filter(|c| c.violates()).count()
    }

    /// Containers with warnings but nothing deny-level.
    pub fn warning(&self) -> usize {
        self.containers
            .iter()
            .filter(|c| !c.violates() && c.warns())
            .count()
    }

    /// For each evaluated rule that can find something in a container,
    /// how many containers it found something in (exemptions aside).
    pub fn containers_by_rule(&self) -> BTreeMap<RuleRef, usize> {
        let mut counts: BTreeMap<RuleRef, usize> = self
            .rules
            .iter()
            .filter(|r| r.judges_containers())
            .map(|r| (RuleRef::from(*r), 0))
            .chain(self.checks.iter().map(|c| (c.clone(), 0)))
            .collect();
        for container in &self.containers {
            let mut rules: Vec<RuleRef> =
                container.live_findings().map(|f| f.rule.clone()).collect();
            rules.sort();
            rules.dedup();
            for rule in rules {
                *counts.entry(rule).or_default() += 1;
            }
        }
        counts
    }

    /// Containers that the policy would refuse once it enforces: a
    /// finding lowered from deny by the rollout mode.
    pub fn would_deny(&self) -> usize {
        self.containers
            .iter()
            .filter(|c| c.live_findings().any(|f| f.would_deny))
            .count()
    }

    /// Every rule to report on: the built-in rules evaluated, then the
    /// custom rules that found something.
    pub fn all_rules(&self) -> Vec<RuleRef> {
        let mut custom: Vec<RuleRef> = self
            .containers
            .iter()
            .flat_map(|c| c.verdict.findings.iter().map(|f| f.rule.clone()))
            .filter(|r| r.builtin().is_none() && !self.checks.contains(r))
            .collect();
        custom.sort();
        custom.dedup();
        self.rules
            .iter()
            .map(|r| RuleRef::from(*r))
            .chain(self.checks.iter().cloned())
            .chain(custom)
            .collect()
    }

    /// The inputs `check` could not read: where, and the error.
    pub fn unreadable(&self) -> impl Iterator<Item = (&Location, &str)> {
        self.containers.iter().flat_map(|c| {
            c.verdict
                .findings
                .iter()
                .filter(|f| f.rule == RuleId::UnreadableRequest)
                .filter_map(move |f| Some((c.location_of(f)?, f.message.as_str())))
        })
    }
}
