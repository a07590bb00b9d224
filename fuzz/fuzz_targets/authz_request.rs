#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| dockgate_fuzz::authz_request(data));
