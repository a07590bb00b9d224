//! dockgate's client of the Docker Engine API.
//!
//! [`lookup::DockerLookup`] answers the questions the rules need resolved
//! (volumes, containers, images) with a short cache; [`engine::Engine`]
//! adds what the patrol does: list, inspect, watch events, stop and remove.

pub mod engine;
mod host_audit;
pub mod host_fs;
mod host_net;
mod host_proc;
pub mod lookup;

pub use engine::{ContainerRef, Engine, EngineError, Event};
pub use host_audit::daemon_host;
pub use host_fs::HostFs;
pub use lookup::{ConnectError, DockerLookup};
