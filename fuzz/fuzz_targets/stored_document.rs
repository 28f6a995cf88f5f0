//! A stored document as the server loads it (from its database, or as a
//! whole document a phone sent): loading, merging it through the sync
//! engine under each write policy (a refusal leaves the document as it
//! was), projecting it for access control, reading its views and finding
//! its conflicts never panic.
#![no_main]

#[allow(dead_code)] // each target uses one body
#[path = "../bodies.rs"]
mod bodies;

libfuzzer_sys::fuzz_target!(|data: &[u8]| bodies::stored_document(data));
