//! Fuzz target: see `dockgate_fuzz::run_lines` for the property it checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| dockgate_fuzz::run_lines(data));
