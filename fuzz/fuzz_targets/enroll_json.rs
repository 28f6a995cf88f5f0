//! An enrollment request body and the code and actor in it, as the server
//! reads them before touching storage.
#![no_main]

use libfuzzer_sys::fuzz_target;
use qamqor_server::auth;
use qamqor_server::service::EnrollRequest;

fuzz_target!(|data: &[u8]| {
    if let Ok(req) = serde_json::from_slice::<EnrollRequest>(data) {
        if let Ok((id, secret)) = auth::split_code(&req.code) {
            assert_eq!((id.len(), secret.len()), (4, 12));
        }
        let _ = auth::valid_actor(&req.actor);
    }
});
