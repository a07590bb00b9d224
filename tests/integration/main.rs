//! dockgate's integration tests: one binary, small helpers in `util`.
//!
//! - `bypass`: every known way around an authorization plugin, with its
//!   reference, refused on a real dockerd;
//! - `captured`: requests captured from a real daemon, decided in-process;
//! - `crafted`: requests crafted to be read differently, decided in-process;
//! - `cli`: the command line, its outputs and its errors;
//! - `e2e`: a private dockerd with the gate, driven by the real docker CLI
//!   and by raw API requests;
//! - `properties`: generated requests, re-written the ways Go still reads
//!   alike, get the same verdict;
//! - `plugin`: dockgate installed as a managed Docker plugin.

mod bypass;
mod captured;
mod cli;
mod crafted;
mod e2e;
mod lint;
mod package;
mod patrol;
mod plugin;
mod policy;
mod properties;
mod protocol;
mod util;
