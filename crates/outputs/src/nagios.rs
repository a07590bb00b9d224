//! Output for Icinga, Nagios and every monitoring system that runs
//! Monitoring Plugins: one status line with performance data, then one line
//! per finding, and the exit code carries the state.
//!
//! Thresholds use the standard range syntax of the Monitoring Plugins
//! development guidelines and apply to the number of violating containers.

use std::fmt::Write as _;

use crate::escape;
use crate::report::ScanReport;

/// A plugin state and its exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// 0.
    Ok,
    /// 1.
    Warning,
    /// 2.
    Critical,
    /// 3.
    Unknown,
}

impl State {
    /// The exit code.
    pub fn code(self) -> u8 {
        match self {
            State::Ok => 0,
            State::Warning => 1,
            State::Critical => 2,
            State::Unknown => 3,
        }
    }

    /// The word in the status line.
    pub fn word(self) -> &'static str {
        match self {
            State::Ok => "OK",
            State::Warning => "WARNING",
            State::Critical => "CRITICAL",
            State::Unknown => "UNKNOWN",
        }
    }
}

/// A threshold range: `10`, `10:`, `~:10`, `10:20`, `@10:20`.
#[derive(Debug, Clone, PartialEq)]
pub struct Range {
    start: f64,
    end: f64,
    inside: bool,
    text: String,
}

/// Why a range could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RangeError {
    /// Not a number where one is needed.
    #[error("invalid threshold range {0:?}: {1:?} is not a number")]
    Number(String, String),
    /// start > end.
    #[error("invalid threshold range {0:?}: the start is greater than the end")]
    Order(String),
}

impl Range {
    /// Parses a range.
    pub fn parse(text: &str) -> Result<Range, RangeError> {
        let original = text.trim();
        let (inside, body) = match original.strip_prefix('@') {
            Some(rest) => (true, rest),
            None => (false, original),
        };
        let number = |s: &str| -> Result<f64, RangeError> {
            s.parse::<f64>()
                .ok()
                .filter(|n| n.is_finite())
                .ok_or_else(|| RangeError::Number(original.to_string(), s.to_string()))
        };
        let (start, end) = match body.split_once(':') {
            None => (0.0, number(body)?),
            Some((start, end)) => {
                let start = match start {
                    "~" => f64::NEG_INFINITY,
                    "" => 0.0,
                    s => number(s)?,
                };
                let end = if end.is_empty() {
                    f64::INFINITY
                } else {
                    number(end)?
                };
                (start, end)
            }
        };
        if start > end {
            return Err(RangeError::Order(original.to_string()));
        }
        Ok(Range {
            start,
            end,
            inside,
            text: original.to_string(),
        })
    }

    /// Whether `value` raises an alert.
    pub fn alerts(&self, value: f64) -> bool {
        let within = self.start <= value && value <= self.end;
        if self.inside {
            within
        } else {
            !within
        }
    }

    /// The range as given, for perfdata.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

/// Thresholds on the number of violating containers.
#[derive(Debug, Clone, PartialEq)]
pub struct Thresholds {
    /// `-w`.
    pub warning: Option<Range>,
    /// `-c`; by default any violating container is critical.
    pub critical: Range,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            warning: None,
            critical: Range::parse("0").expect("valid default"),
        }
    }
}

/// One perfdata item: `label=value;warn;crit;min;max`.
pub fn perfdata(name: &str, value: usize, warn: &str, crit: &str, max: Option<usize>) -> String {
    let max = max.map(|m| m.to_string()).unwrap_or_default();
    format!("{}={value};{warn};{crit};0;{max}", escape::perf_label(name))
}

/// Renders a scan as plugin output; returns the text and the state.
pub fn render(report: &ScanReport, thresholds: &Thresholds) -> (String, State) {
    let total = report.containers.len();
    let violating = report.violating();
    let state = if thresholds.critical.alerts(violating as f64) {
        State::Critical
    } else if thresholds
        .warning
        .as_ref()
        .is_some_and(|w| w.alerts(violating as f64))
    {
        State::Warning
    } else {
        State::Ok
    };
    let warn = thresholds.warning.as_ref().map(Range::as_str).unwrap_or("");
    let mut perf = vec![
        perfdata("containers", total, "", "", None),
        perfdata(
            "violating",
            violating,
            warn,
            thresholds.critical.as_str(),
            Some(total),
        ),
        perfdata("warnings", report.warning(), "", "", Some(total)),
        perfdata("would_deny", report.would_deny(), "", "", Some(total)),
    ];
    for (rule, count) in report.containers_by_rule() {
        perf.push(perfdata(rule.id(), count, "", "", Some(total)));
    }
    let mut out = format!(
        "DOCKGATE {}: {} | {}\n",
        state.word(),
        escape::nagios(&crate::text::summary(report)),
        perf.join(" ")
    );
    for c in &report.containers {
        for f in c.live_findings() {
            // Each value escaped and shortened on its own, so that a long
            // name cannot cut the rule out of the line.
            let _ = writeln!(
                out,
                "{}: {} {}: {}",
                escape::nagios(&c.name),
                f.shown_action(),
                escape::nagios(f.rule.id()),
                escape::nagios(&f.located())
            );
        }
    }
    (out, state)
}

/// The output for a check that could not run.
pub fn unknown(reason: &str) -> (String, State) {
    (
        format!("DOCKGATE UNKNOWN: {}\n", escape::nagios(reason)),
        State::Unknown,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alerts(range: &str, values: &[f64]) -> Vec<bool> {
        let r = Range::parse(range).unwrap();
        values.iter().map(|v| r.alerts(*v)).collect()
    }

    #[test]
    fn range_syntax() {
        let values = [-1.0, 0.0, 5.0, 10.0, 15.0, 20.0, 25.0];
        assert_eq!(
            alerts("10", &values),
            [true, false, false, false, true, true, true]
        );
        assert_eq!(
            alerts("10:", &values),
            [true, true, true, false, false, false, false]
        );
        assert_eq!(
            alerts("~:10", &values),
            [false, false, false, false, true, true, true]
        );
        assert_eq!(
            alerts("10:20", &values),
            [true, true, true, false, false, false, true]
        );
        assert_eq!(
            alerts("@10:20", &values),
            [false, false, false, true, true, true, false]
        );
        assert_eq!(alerts("0", &[0.0, 1.0]), [false, true]);
    }

    #[test]
    fn bad_ranges() {
        assert_eq!(
            Range::parse("ten").unwrap_err().to_string(),
            "invalid threshold range \"ten\": \"ten\" is not a number"
        );
        assert_eq!(
            Range::parse("20:10").unwrap_err().to_string(),
            "invalid threshold range \"20:10\": the start is greater than the end"
        );
        assert_eq!(
            Range::parse("1:x").unwrap_err().to_string(),
            "invalid threshold range \"1:x\": \"x\" is not a number"
        );
    }

    #[test]
    fn perfdata_format() {
        assert_eq!(
            perfdata("violating", 2, "", "0", Some(14)),
            "violating=2;;0;0;14"
        );
        assert_eq!(
            perfdata("containers", 14, "", "", None),
            "containers=14;;;0;"
        );
        assert_eq!(
            perfdata("host-mount", 1, "", "", Some(3)),
            "host-mount=1;;;0;3"
        );
        assert_eq!(perfdata("a b", 1, "5", "10", None), "'a b'=1;5;10;0;");
        // The guidelines allow neither `'` nor `=` in a label, quoted or not.
        assert_eq!(perfdata("it's", 0, "", "", None), "it_s=0;;;0;");
        assert_eq!(perfdata("a=b", 0, "", "", None), "a_b=0;;;0;");
    }

    #[test]
    fn unknown_output() {
        assert_eq!(
            unknown("cannot reach the Docker daemon"),
            (
                "DOCKGATE UNKNOWN: cannot reach the Docker daemon\n".to_string(),
                State::Unknown
            )
        );
    }
}
