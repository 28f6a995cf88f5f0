//! An enrollment request body and the code and actor in it, as the server
//! reads them before touching storage.
#![no_main]

#[allow(dead_code)] // each target uses one body
#[path = "../bodies.rs"]
mod bodies;

libfuzzer_sys::fuzz_target!(|data: &[u8]| bodies::enroll_json(data));
