//! The gate: dockgate as a Docker AuthZ plugin.
//!
//! [`server`] speaks the plugin protocol on a Unix socket, [`decide`] reads
//! each request into the model and judges it, [`lookup`] asks the daemon
//! about what a request only names, and [`audit`] records every decision.

pub mod audit;
pub mod decide;
pub mod lookup;
pub mod server;

pub use audit::{AuditLog, AuditRecord};
pub use decide::Gate;
pub use lookup::DockerLookup;
pub use server::{bind, router, serve, Limits};
