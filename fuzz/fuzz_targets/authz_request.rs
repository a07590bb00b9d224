//! Fuzz target: see `dockgate_fuzz::authz_request` for the property it checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| dockgate_fuzz::authz_request(data));
