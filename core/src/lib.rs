//! # qamqor-core
//!
//! The shared core that every Qamqor phone runs: the domain model of
//! guardianship casework in Kazakhstan, the casework kept as Automerge
//! documents in an encrypted SQLite store that works fully offline, and the
//! sync engine shared with the regional server.
//!
//! Layers, each using only those below it:
//! - [`model`]: typed records, code lists with trilingual labels, validation
//!   and schedules; no I/O.
//! - [`docs`]: the documents that partition the data and their mapping to
//!   and from Automerge; no SQLite, no network.
//! - [`store`]: the encrypted SQLite store that owns the documents and the
//!   query tables derived from them.

pub mod docs;
pub mod error;
pub mod messages;
pub mod model;
pub mod par;
pub mod sample;
pub mod store;
pub mod sync;

pub use error::{Error, Result};
