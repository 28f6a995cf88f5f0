//! # qamqor-mobile
//!
//! Qamqor's core for Android (Kotlin), iOS (Swift) and Python apps,
//! generated with uniffi. The layer is thin: [`QamqorStore`] delegates to
//! `qamqor_core::store::Store`, records mirror the core's types, and every
//! failure arrives as one [`QamqorError`] with a human-readable message.
//!
//! Start with [`QamqorStore::open`]; see `docs/mobile.md` for how an app
//! builds, loads and drives it.

uniffi::setup_scaffolding!("qamqor");

mod attachments;
mod codes;
mod error;
mod store;
mod sync;
mod types;

pub use attachments::*;
pub use codes::*;
pub use error::QamqorError;
pub use store::QamqorStore;
pub use sync::*;
pub use types::*;
