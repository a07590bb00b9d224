//! The gate: dockgate as a Docker AuthZ plugin.
//!
//! [`server`] speaks the plugin protocol on a Unix socket and [`decide`]
//! reads each request into the model and judges it. Daemon look-ups come
//! from `dockgate-engine`, audit records from `dockgate-outputs`.

pub mod decide;
pub mod metrics;
pub mod policy_file;
pub mod proxy;
pub mod server;
mod throttle;

pub use decide::{sent_request, Gate};
pub use metrics::Metrics;
pub use server::{
    bind, inherited_listener, metrics_router, router, serve, AuditFailure, AuditLevel, AuditTrail,
    Connections, Limits,
};
