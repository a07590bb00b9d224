//! dockgate's integration tests without a daemon: one binary, small helpers
//! in `util`. Tests against real daemons are the `daemon` target.
//!
//! - `captured`: requests captured from a real daemon, decided in-process;
//! - `crafted`: requests crafted to be read differently, decided in-process;
//! - `cli`: the command line, its outputs and its errors;
//! - `faults`: the gate under faults: a hung daemon, a flood, exhausted
//!   descriptors, slow clients, a full disk, a rotated audit log;
//! - `escaping`: hostile text through every output format, read back by
//!   each format's own parser;
//! - `properties`: generated requests, re-written the ways Go still reads
//!   alike, get the same verdict.

mod captured;
mod cli;
mod compose_differential;
mod crafted;
mod escaping;
mod faults;
mod identities;
mod lint;
mod opa_compat;
mod policy;
mod properties;
mod protocol;
mod recipes;
mod rego;
mod util;
