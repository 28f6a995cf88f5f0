//! The PostgreSQL backend against the storage conformance suite: each
//! check on a database of its own, two instances on it as two server
//! processes. Needs a PostgreSQL server: `scripts/test.sh` starts a
//! throwaway one (`scripts/pg.sh`) and names it in
//! `QAMQOR_TEST_POSTGRES_URL`; a developer may point that at their own.
//!
//! `QAMQOR_TEST_POSTGRES_URL=postgres://… cargo nextest run -p qamqor-server --test storage_postgres --run-ignored only`

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::sync::Arc;

use qamqor_server::storage::Storage;
use qamqor_server::storage::postgres::{self, PostgresStorage};

/// A database of its own for the check running in `dir`.
fn database_for(dir: &Path) -> String {
    let base = std::env::var("QAMQOR_TEST_POSTGRES_URL")
        .expect("QAMQOR_TEST_POSTGRES_URL names a PostgreSQL server (scripts/test.sh starts one)");
    postgres::create_database(&base, &format!("qamqor_test{}", dir.file_name().unwrap().to_string_lossy())).unwrap()
}

qamqor_server::storage_conformance!(
    |dir: &Path| Arc::new(PostgresStorage::open(&database_for(dir), 8).unwrap()) as Arc<dyn Storage>,
    #[ignore = "needs PostgreSQL: scripts/test.sh starts one and runs these"]
);
