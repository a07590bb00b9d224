//! dockgate's outputs: audit records, and the reports of a scan in text,
//! JSON and the Nagios plugin format. Every format reads the same
//! [`ScanReport`]; none of them knows a rule.

pub mod audit;
mod denial;
pub mod escape;
pub mod json;
pub mod nagios;
pub mod report;
pub mod sarif;
pub mod syslog;
pub mod text;

pub use audit::{AuditError, AuditLog, AuditRecord};
pub use denial::Denial;
pub use report::{ContainerResult, Remediation, RemediationOutcome, ScanReport};
