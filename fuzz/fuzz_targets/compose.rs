//! Fuzz target: see `dockgate_fuzz::compose` for the property it checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| dockgate_fuzz::compose(data));
