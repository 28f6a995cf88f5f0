//! A sync request or response body, as the server and the phone decode it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use qamqor_core::sync::wire::{self, Limits};

fuzz_target!(|data: &[u8]| {
    let limits = Limits::default();
    if let Ok(req) = wire::decode_request(data, &limits) {
        // Whatever decodes re-encodes and decodes to the same request.
        assert_eq!(wire::decode_request(&wire::encode(&req), &limits).ok(), Some(req));
    }
    let _ = wire::decode_response(data, &limits);
});
