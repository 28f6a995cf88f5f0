//! Importing the country's register with the release server's command
//! line, then a district's first sync.
//!
//! `cargo build --release -p qamqor-server && cargo run --release -p qamqor-tests --bin import-bench [FAMILIES]`
//!
//! The register (25,000 children by default, each placed with a guardian,
//! one guardian in four with two children, every guardian with a last
//! annual check, spread over 200 districts) is written once into
//! `target/qamqor-bench/import/`. Measured: a dry run, the confirmed
//! import, the same file imported again, and then a new phone of one
//! district receiving its cases in one sync from the server started on
//! the imported database.

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use qamqor_core::store::{Store, StoreOptions};
use qamqor_core::sync::client::{self, ServerConfig};
use qamqor_core::sync::wire::Limits;
use qamqor_tests::{ServerProcess, load, register, today};

fn bin() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let bin = exe.parent().unwrap().join("qamqor-server");
    assert!(bin.exists(), "build the release server first: cargo build --release -p qamqor-server");
    bin
}

/// Runs the command line; returns its output, the time it took and its peak memory (MiB).
fn timed(bin: &Path, data: &Path, args: &[&str]) -> (String, Duration, f64) {
    let t = Instant::now();
    let mut child = Command::new(bin)
        .args(args)
        .env("QAMQOR_DATA_DIR", data)
        .current_dir(data)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let mut peak = 0.0f64;
    loop {
        if let Some(_status) = child.try_wait().unwrap() {
            break;
        }
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        if let Some(kb) = status
            .lines()
            .find(|l| l.starts_with("VmHWM:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<f64>().ok())
        {
            peak = peak.max(kb / 1024.0);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let took = t.elapsed();
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{args:?} failed: {}{}", text, String::from_utf8_lossy(&out.stderr));
    (text, took, peak)
}

fn main() {
    let families: usize = std::env::args().nth(1).map_or(25_000, |a| a.parse().expect("a number of families"));
    let bin = bin();
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/qamqor-bench/import");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join(format!("register-{families}.xlsx"));
    let districts: Vec<String> = (0..200).map(|i| load::district(i * load::PER_DISTRICT)).collect();
    let rows = {
        let t = Instant::now();
        let rows = register::write(&file, 3, &districts, families);
        eprintln!("register written in {:.1} s", t.elapsed().as_secs_f64());
        rows
    };
    let size = std::fs::metadata(&file).unwrap().len();
    println!(
        "register: {} children, {} representatives, {} placements, {} checks: {} rows, {:.1} MiB XLSX",
        rows.children,
        rows.representatives,
        rows.placements,
        rows.checks,
        rows.total(),
        size as f64 / 1048576.0
    );
    let data = tempfile::tempdir().unwrap();
    let f = file.to_str().unwrap();
    println!("| run | time | rows/s | peak memory |");
    println!("| --- | --- | --- | --- |");
    for (name, args) in [
        ("dry run", vec!["import", f, "--report", "dry.csv"]),
        ("confirmed import", vec!["import", f, "--confirm", "--report", "first.csv"]),
        ("the same file again", vec!["import", f, "--confirm", "--report", "again.csv"]),
    ] {
        let (out, took, peak) = timed(&bin, data.path(), &args);
        println!(
            "| {name} | {:.1} s | {:.0} | {:.0} MiB |",
            took.as_secs_f64(),
            rows.total() as f64 / took.as_secs_f64(),
            peak
        );
        for line in out.lines().take(2) {
            eprintln!("    {line}");
        }
    }
    let db_size: u64 = std::fs::read_dir(data.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with("qamqor-server.db"))
        .map(|e| e.metadata().unwrap().len())
        .sum();
    println!("database after the import: {:.0} MiB", db_size as f64 / 1048576.0);

    // A specialist of the first district, on a new phone.
    let district = &districts[0];
    let admin = |args: &[&str]| timed(&bin, data.path(), args).0;
    admin(&["user", "add", "aigerim", "--name", "Aigerim", "--role", "specialist", "--district", district]);
    let code = admin(&["code", "aigerim"]).trim().rsplit(' ').next().unwrap().to_owned();
    let server = ServerProcess::start(&bin, &[("QAMQOR_DATA_DIR", data.path().as_os_str())], None);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let phone_dir = tempfile::tempdir().unwrap();
        let mut options = StoreOptions::new("aigerim");
        options.today = Some(today());
        let store = Arc::new(Store::open(phone_dir.path().join("p.db"), &[7; 32], options).unwrap());
        let e = client::enroll(&server.url, None, &code, &store.actor_id(), "bench").await.unwrap();
        let config =
            ServerConfig { url: server.url.clone(), token: e.token, ca_pem: None, timeout: Duration::from_secs(600) };
        let t = Instant::now();
        let report = client::sync(store.clone(), &config, Limits::default()).await.unwrap();
        let took = t.elapsed();
        let cases = store.caseload().unwrap().len();
        println!(
            "first sync of district {district}'s phone: {cases} cases, {} documents in {:.2} s ({} rounds)",
            report.changed.len(),
            took.as_secs_f64(),
            report.rounds
        );
    });
}
