//! A phone process that sends its attachments and prints each chunk's
//! progress, for the test that kills it mid-upload (`tests/attachments.rs`).
//!
//! Environment: `QAMQOR_STORE` (the store's path; key `[3; 32]`, user
//! `aigerim`), `QAMQOR_URL`, `QAMQOR_TOKEN`.

#![allow(missing_docs, clippy::unwrap_used)]

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use qamqor_core::store::{Store, StoreOptions};
use qamqor_core::sync::client::{self, ServerConfig};

fn main() {
    let var = |k: &str| std::env::var(k).unwrap();
    let store = Arc::new(Store::open(var("QAMQOR_STORE"), &[3; 32], StoreOptions::new("aigerim")).unwrap());
    let config = ServerConfig {
        url: var("QAMQOR_URL"),
        token: var("QAMQOR_TOKEN"),
        ca_pem: None,
        timeout: Duration::from_secs(30),
    };
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime
        .block_on(client::upload_attachments(store, &config, &|_: &str, sent: u64, _: u64| {
            let mut out = std::io::stdout();
            let _ = writeln!(out, "sent {sent}");
            let _ = out.flush();
            // Slow enough for the test to kill it between chunks.
            std::thread::sleep(Duration::from_millis(200));
        }))
        .unwrap();
    println!("done");
}
