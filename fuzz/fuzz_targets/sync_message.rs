//! An Automerge sync message from a peer, through the sync engine: never a
//! panic, and a refused message leaves the document exactly as it was.
#![no_main]

#[allow(dead_code)] // each target uses one body
#[path = "../bodies.rs"]
mod bodies;

libfuzzer_sys::fuzz_target!(|data: &[u8]| bodies::sync_message(data));
