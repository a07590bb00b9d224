//! dockgate's rules: the policy file, the rule registry and the verdict.
//!
//! Rules see only [`dockgate_model::Workload`]; they never know which input
//! a description came from, so the gate, the patrol and the linter judge
//! alike. Each built-in rule is one module (`builtin`), listed in the
//! registry (`catalog`), which everything else reads.

pub mod audit;
mod builtin;
mod callers;
mod catalog;
mod checks;
mod custom;
mod policy;
mod verdict;

pub use callers::{Caller, IdentityEntry};
pub use catalog::{reference_markdown, RuleDoc, RuleId, RuleRef};
pub use custom::{request_input, run_tests, CustomRuleInfo, SentRequest, TestOutcome};
pub use policy::{Action, Exemption, Mode, Params, Policy, PolicyError, Profile};
pub use verdict::{
    evaluate, evaluate_request_rule, rego_input, Decision, Finding, Requester, Verdict,
};
