//! dockgate's rules: the policy file, the rule catalogue and the verdict.
//!
//! Rules see only [`dockgate_model::Workload`]; they never know which input
//! a description came from, so the gate, the patrol and the linter judge
//! alike.

pub mod catalog;
pub mod checks;
pub mod policy;
pub mod verdict;

pub use catalog::RuleId;
pub use policy::{Action, Mode, Policy, PolicyError, Profile};
pub use verdict::{evaluate, Decision, Finding, Requester, Verdict};
