//! # qamqor-server
//!
//! The sync server a regional office runs: users, devices and access rules
//! of the region, the documents the phones sync, and the audit of who read
//! and wrote what. It reuses the core's documents and sync engine.
//!
//! - [`service`]: enrollment, authentication and sync, without HTTP.
//! - [`sync`]: one sync request, planned and executed in one transaction.
//! - [`http`]: the axum routes that move bytes to and from the service.
//! - [`storage`]: the storage trait and its embedded SQLite backend.
//! - [`access`]: who may read and write which document.
//! - [`admin`]: the regional administrator's operations.
//! - [`figures`]: the region's figures; [`national`]: the country's, from the regions.
//! - [`console`]: the office's console in the browser.

pub mod access;
pub mod admin;
pub mod auth;
pub mod blobs;
pub mod config;
pub mod conn;
pub mod console;
pub mod error;
pub mod figures;
pub mod http;
pub mod import;
pub mod model;
pub mod national;
pub mod ratelimit;
pub mod run;
pub mod service;
pub mod storage;
pub mod sync;
pub mod worklist;

pub use error::{Result, ServerError, StorageFailure};
