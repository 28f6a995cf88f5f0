//! Sync between a phone and its regional server.
//!
//! - [`engine`]: per-document sync logic without I/O, shared by the phone,
//!   the server and the simulation.
//! - [`session`]: the phone's half of the protocol as a state machine
//!   without I/O, over a narrow trait the store implements.
//! - [`wire`]: the protocol's messages and their encoding.
//! - [`client`]: the phone's HTTP client (reqwest), driving the session.

pub mod client;
pub mod engine;
pub mod session;
pub mod wire;
