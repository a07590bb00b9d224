//! dockgate against real daemons: one binary, one harness (`harness`).
//! It needs root, dockerd and the docker CLI; `scripts/test` installs them
//! and Debian 13's dockerd, buildx and compose. `cargo test --test
//! integration` runs everything else without them.
//!
//! - `e2e`: a private dockerd with the gate, driven by the real docker CLI
//!   and by raw API requests, on both daemon generations;
//! - `bypass`: every known way around an authorization plugin, with its
//!   reference, refused on both daemon generations;
//! - `buildkit`: BuildKit builds (docker buildx 0.13) through the gate;
//! - `swarm`: swarm membership, service networks, and tasks the patrol
//!   judges;
//! - `patrol`: scan and watch against a daemon without the gate;
//! - `plugin`: dockgate installed as a managed Docker plugin;
//! - `package`: the Debian package, installed with dpkg;
//! - `stack`: a typical compose stack through check and the gate, with the
//!   recipes and image exemptions for local images; custom Rego rules at
//!   the gate and in a scan.

mod audit;
mod buildkit;
mod bypass;
mod e2e;
mod harness;
mod identities;
mod package;
mod patrol;
mod plugin;
mod stack;
mod swarm;
// Shared with the integration target, which uses other parts of it.
#[allow(dead_code)]
#[path = "../integration/util.rs"]
mod util;
