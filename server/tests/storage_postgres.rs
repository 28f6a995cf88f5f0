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

/// TLS to PostgreSQL: with the authority that signed the server's
/// certificate the connection is encrypted and works; with another
/// authority, or `sslmode=require` without one, nothing connects. Needs
/// the cluster's authority in `QAMQOR_TEST_POSTGRES_CA` (`scripts/pg.sh`
/// writes it; `scripts/test.sh` sets it).
#[test]
#[ignore = "needs PostgreSQL: scripts/test.sh starts one and runs these"]
fn the_connection_to_postgres_is_encrypted_and_verified() {
    let Ok(ca_path) = std::env::var("QAMQOR_TEST_POSTGRES_CA") else {
        eprintln!("QAMQOR_TEST_POSTGRES_CA is not set: this server's TLS is not known, nothing checked");
        return;
    };
    let ca = std::fs::read(ca_path).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let url = database_for(dir.path());
    let tls = format!("{url}?sslmode=require");

    let s = PostgresStorage::open_with_ca(&tls, 2, Some(&ca)).unwrap();
    assert!(s.encrypted().unwrap(), "the connection uses TLS");
    s.create_user(&qamqor_server::storage::conformance::specialist("u")).unwrap();
    assert!(s.user("u").unwrap().is_some());
    drop(s);
    assert!(!PostgresStorage::open(&url, 2).unwrap().encrypted().unwrap(), "without a CA: plain");

    let e = PostgresStorage::open(&tls, 2).unwrap_err().to_string();
    assert!(e.contains("database_ca"), "{e}");
    let other = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap().cert.pem();
    let e = PostgresStorage::open_with_ca(&tls, 2, Some(other.as_bytes())).unwrap_err().to_string();
    assert!(e.to_lowercase().contains("certificate"), "{e}");
    let e = PostgresStorage::open_with_ca(&tls, 2, Some(b"not a certificate")).unwrap_err().to_string();
    assert!(e.contains("database_ca"), "{e}");
}
