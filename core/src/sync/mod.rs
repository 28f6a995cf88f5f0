//! Sync between a phone and its regional server.
//!
//! - [`engine`]: per-document sync logic without I/O, shared by the phone,
//!   the server and the simulation.
//! - [`wire`]: the protocol's messages and their encoding.

pub mod engine;
pub mod wire;
