//! Sync between a phone and its regional server.
//!
//! - [`engine`]: per-document sync logic without I/O, shared by the phone,
//!   the server and the simulation.
//! - [`wire`]: the protocol's messages and their encoding.
//! - [`client`]: the phone's HTTP client (reqwest).

pub mod client;
pub mod engine;
pub mod wire;
