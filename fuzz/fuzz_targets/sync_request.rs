//! A sync request or response body, as the server and the phone decode it.
#![no_main]

#[allow(dead_code)] // each target uses one body
#[path = "../bodies.rs"]
mod bodies;

libfuzzer_sys::fuzz_target!(|data: &[u8]| bodies::sync_request(data));
