//! The sync load against release server processes, on the embedded SQLite
//! database and on PostgreSQL with one, two and three processes sharing
//! one database: a new phone's first sync of a 200-case district, a sync
//! after a week offline, a sync with nothing new, then 1,500 and 5,000
//! phones syncing at once as `qamqor_tests::load` spreads them (25 per
//! district; one in ten uploading a case registered offline), every
//! request sent to one of the processes in turn.
//!
//! `cargo build --release -p qamqor-server && cargo run --release -p qamqor-tests --bin scale-bench [CONFIG…]`
//!
//! CONFIG is `sqlite`, `pg1`, `pg2` or `pg3` (all four by default).
//! PostgreSQL is a throwaway cluster started with `scripts/pg.sh` unless
//! `QAMQOR_BENCH_POSTGRES_URL` names a server (a database per run is
//! created on it). The phones, the server processes and PostgreSQL share
//! the machine's cores.

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use qamqor_core::model::{Child, Representative};
use qamqor_core::store::{Store, StoreOptions};
use qamqor_core::sync::client::{self, ServerConfig};
use qamqor_core::sync::wire::Limits;
use qamqor_server::config::{Config, DatabaseUrl};
use qamqor_server::storage::conformance::{register_device, specialist};
use qamqor_tests::load::{LoadPhone, Outcome};
use qamqor_tests::{ServerProcess, cpu_secs, rss_mib, sample, today};

const KEY: [u8; 32] = [7; 32];
const LOADS: [usize; 2] = [1500, 5000];

fn d(s: &str) -> chrono::NaiveDate {
    s.parse().unwrap()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// A throwaway PostgreSQL cluster, stopped when dropped.
struct Cluster {
    script: PathBuf,
    dir: tempfile::TempDir,
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = Command::new(&self.script).arg("stop").arg(self.dir.path()).status();
    }
}

/// The PostgreSQL server's URL, starting a cluster when none is named.
fn postgres(root: &Path) -> (String, Option<Cluster>) {
    if let Ok(url) = std::env::var("QAMQOR_BENCH_POSTGRES_URL") {
        return (url, None);
    }
    let script = root.join("scripts/pg.sh");
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(&script).arg("start").arg(dir.path()).output().unwrap();
    assert!(out.status.success(), "scripts/pg.sh start: {}", String::from_utf8_lossy(&out.stderr));
    let url = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    (url, Some(Cluster { script, dir }))
}

/// CPU seconds used so far by every `postgres` process on the machine.
fn postgres_cpu() -> f64 {
    let mut total = 0.0;
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else { continue };
        let comm = std::fs::read_to_string(entry.path().join("comm")).unwrap_or_default();
        if comm.trim() == "postgres" {
            total += cpu_secs(Some(pid));
        }
    }
    total
}

/// One `qamqor-server` process of a configuration.
fn start(bin: &Path, config: &Config, n: usize) -> ServerProcess {
    let mut env = vec![("QAMQOR_DATA_DIR", config.data_dir.as_os_str())];
    if let Some(url) = &config.database_url {
        env.push(("QAMQOR_DATABASE_URL", std::ffi::OsStr::new(&url.0)));
    }
    ServerProcess::start(bin, &env, Some(&config.data_dir.join(format!("stderr-{n}"))))
}

/// One configuration's figures.
#[derive(Default)]
struct Figures {
    first_sync: Duration,
    week: Duration,
    idle: Duration,
    /// After the loads: (time, round trips) of the district's phone
    /// catching up while 500 documents changed in other districts.
    catch_up: (Duration, usize),
    loads: Vec<Load>,
}

struct Load {
    phones: usize,
    out: Outcome,
    /// Highest resident memory of each server process during the load (MiB).
    rss: Vec<f64>,
    /// CPU seconds: server processes, PostgreSQL, the phones (this process).
    cpu: (f64, f64, f64),
}

fn phone_store(dir: &Path, name: &str) -> Arc<Store> {
    let mut options = StoreOptions::new(name);
    options.today = Some(today());
    Arc::new(Store::open(dir.join(format!("{name}.db")), &KEY, options).unwrap())
}

async fn run(bin: &Path, name: &str, processes: usize, database_url: Option<String>) -> Figures {
    let dir = tempfile::tempdir().unwrap();
    let config = Config {
        listen: "127.0.0.1:0".into(),
        data_dir: dir.path().to_owned(),
        database_url: database_url.map(DatabaseUrl),
        ..Config::default()
    };

    // Users and devices straight in the database (enrollment's argon2
    // hashing is not what this measures), before any process starts.
    let phones = dir.path().join("phones");
    std::fs::create_dir_all(&phones).unwrap();
    let seed = phone_store(&phones, "seed");
    let fresh = phone_store(&phones, "fresh");
    let max = LOADS.iter().copied().max().unwrap();
    let (seed_token, fresh_token, tokens) = {
        let service = qamqor_server::run::open_service(&config).unwrap();
        let storage = service.storage();
        storage.create_user(&specialist("seed")).unwrap();
        storage.create_user(&specialist("fresh")).unwrap();
        let seed_token = register_device(&**storage, "seed", &seed.actor_id(), "seed-phone");
        let fresh_token = register_device(&**storage, "fresh", &fresh.actor_id(), "fresh-phone");
        let tokens = qamqor_tests::load::phones(&**storage, "load", max);
        (seed_token, fresh_token, tokens)
    };
    let procs: Vec<ServerProcess> = (0..processes).map(|n| start(bin, &config, n)).collect();
    let urls: Vec<String> = procs.iter().map(|p| p.url.clone()).collect();
    let server = |i: usize, token: &str| ServerConfig {
        url: urls[i % urls.len()].clone(),
        token: token.to_owned(),
        ca_pem: None,
        timeout: Duration::from_secs(600),
    };

    // A colleague's phone registers the district's 200 cases and sends them.
    let mut s = sample(1);
    let mut children: Vec<Child> = Vec::new();
    let mut reps: Vec<Representative> = Vec::new();
    for _ in 0..200 {
        let child = s.child();
        let start = child.birth_date.max(d("2023-03-01"));
        let rep = s.representative(start);
        seed.register_child(&child).unwrap();
        seed.register_representative(&rep).unwrap();
        seed.place_child(&s.placement(&child, &rep, start)).unwrap();
        seed.record_check(&s.check(&rep.id, d("2025-11-01"), None)).unwrap();
        for v in ["2025-06-01", "2026-01-15"] {
            seed.record_visit(&s.visit(&child, d(v).max(child.birth_date))).unwrap();
        }
        children.push(child);
        reps.push(rep);
    }
    client::sync(seed.clone(), &server(0, &seed_token), Limits::default()).await.unwrap();

    let mut figures = Figures::default();
    // A new phone's first sync, from the last process (not the one the
    // district was sent to).
    let fresh_config = server(processes - 1, &fresh_token);
    let t = Instant::now();
    client::sync(fresh.clone(), &fresh_config, Limits::default()).await.unwrap();
    figures.first_sync = t.elapsed();
    assert_eq!(fresh.document_ids().unwrap().len(), 400, "{name}: the whole district received");

    // A week offline: 100 edits in 40 documents.
    for k in 0..100 {
        let i = k % 20;
        let day = d("2026-11-18") + chrono::Duration::days((k % 7) as i64);
        match k % 5 {
            4 => {
                fresh.record_check(&s.check(&reps[i].id, day, None)).unwrap();
            }
            3 => {
                let mut rep = reps[i].clone();
                rep.address = format!("Абай к-сі, {} үй", k + 1);
                fresh.update_representative(&rep).unwrap();
            }
            _ => {
                fresh.record_visit(&s.visit(&children[i], day)).unwrap();
            }
        }
    }
    let t = Instant::now();
    client::sync(fresh.clone(), &server(1, &fresh_token), Limits::default()).await.unwrap();
    figures.week = t.elapsed();

    // Nothing new: the median of 21 syncs, spread over the processes.
    let mut idle = Vec::new();
    for i in 0..21 {
        let t = Instant::now();
        client::sync(fresh.clone(), &server(i, &fresh_token), Limits::default()).await.unwrap();
        idle.push(t.elapsed());
    }
    idle.sort();
    figures.idle = idle[idle.len() / 2];

    for (round, n) in LOADS.into_iter().enumerate() {
        client::sync(fresh.clone(), &fresh_config, Limits::default()).await.unwrap();
        let cursor = fresh.sync_cursor().unwrap();
        let l = load(&procs, &tokens[..n], cursor, round as u64 + 1).await;
        eprintln!("{name}: {n} phones, p99 {:.0} ms, {} errors", ms(l.out.pct(0.99)), l.out.errors);
        figures.loads.push(l);
    }
    // The loads' uploads were in other districts: the phone's sync finds
    // nothing of its own among them.
    // (Once the servers have settled after the burst: its first request
    // would measure the burst's aftermath.)
    tokio::time::sleep(Duration::from_secs(3)).await;
    let t = Instant::now();
    let r = client::sync(fresh.clone(), &server(0, &fresh_token), Limits::default()).await.unwrap();
    figures.catch_up = (t.elapsed(), r.rounds);
    figures
}

/// The load of [`qamqor_tests::load`] on the processes, with each
/// process's memory and everyone's CPU watched.
async fn load(procs: &[ServerProcess], phones: &[LoadPhone], cursor: u64, round: u64) -> Load {
    let urls: Vec<String> = procs.iter().map(|p| p.url.clone()).collect();
    let on = Arc::new(AtomicBool::new(true));
    let sampler = {
        let on = on.clone();
        let pids: Vec<u32> = procs.iter().map(|p| p.pid).collect();
        tokio::spawn(async move {
            let mut peak = vec![0.0f64; pids.len()];
            while on.load(Ordering::Relaxed) {
                for (p, pid) in peak.iter_mut().zip(&pids) {
                    *p = p.max(rss_mib(Some(*pid)));
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            peak
        })
    };
    let server_cpu = || procs.iter().map(|p| cpu_secs(Some(p.pid))).sum::<f64>();
    let cpu0 = (server_cpu(), postgres_cpu(), cpu_secs(None));
    let out = qamqor_tests::load::run(&urls, phones, cursor, round).await;
    let cpu = (server_cpu() - cpu0.0, postgres_cpu() - cpu0.1, cpu_secs(None) - cpu0.2);
    on.store(false, Ordering::Relaxed);
    let rss = sampler.await.unwrap();
    Load { phones: phones.len(), out, rss, cpu }
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let bin =
        std::env::var_os("QAMQOR_SERVER_BIN").map_or_else(|| root.join("target/release/qamqor-server"), PathBuf::from);
    assert!(bin.exists(), "build it first: cargo build --release -p qamqor-server");
    let mut configs: Vec<String> = std::env::args().skip(1).collect();
    if configs.is_empty() {
        configs = ["sqlite", "pg1", "pg2", "pg3"].map(String::from).to_vec();
    }
    let pg = configs.iter().any(|c| c.starts_with("pg")).then(|| postgres(&root));
    let mut results: BTreeMap<usize, (String, Figures)> = BTreeMap::new();
    for (n, c) in configs.iter().enumerate() {
        let (label, processes, url) = match c.as_str() {
            "sqlite" => ("SQLite, 1 process".to_owned(), 1, None),
            pg_n if pg_n.starts_with("pg") => {
                let processes: usize = pg_n[2..].parse().expect("pg1, pg2 or pg3");
                let base = &pg.as_ref().unwrap().0;
                let stamp = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
                let url =
                    qamqor_server::storage::postgres::create_database(base, &format!("scale_{pg_n}_{stamp}")).unwrap();
                (
                    format!("PostgreSQL, {processes} process{}", if processes > 1 { "es" } else { "" }),
                    processes,
                    Some(url),
                )
            }
            other => panic!("unknown configuration {other}: sqlite, pg1, pg2 or pg3"),
        };
        eprintln!("running {label}…");
        let figures = run(&bin, c, processes, url).await;
        results.insert(n, (label, figures));
    }

    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    println!("# Sync load on SQLite and PostgreSQL ({cores} cores shared by phones, servers and database)\n");
    println!(
        "| configuration | first sync, 200 cases | after a week offline | nothing new (median) | catching up on 500 documents changed in other districts |"
    );
    println!("| --- | --- | --- | --- | --- |");
    for (label, f) in results.values() {
        println!(
            "| {label} | {:.0} ms | {:.0} ms | {:.1} ms | {:.1} ms, {} round trip(s) |",
            ms(f.first_sync),
            ms(f.week),
            ms(f.idle),
            ms(f.catch_up.0),
            f.catch_up.1
        );
    }
    println!();
    println!(
        "| configuration | phones at once | requests | req/s | p50 | p99 | max | errors | server RSS peak per process | CPU s: servers + PostgreSQL + phones |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
    for (label, f) in results.values() {
        for l in &f.loads {
            let rss: Vec<String> = l.rss.iter().map(|r| format!("{r:.0}")).collect();
            println!(
                "| {label} | {} | {} | {:.0} | {:.0} ms | {:.0} ms | {:.0} ms | {} | {} MiB | {:.1} + {:.1} + {:.1} |",
                l.phones,
                l.out.latencies.len(),
                l.out.rate(),
                ms(l.out.pct(0.5)),
                ms(l.out.pct(0.99)),
                ms(l.out.pct(1.0)),
                l.out.errors,
                rss.join(" / "),
                l.cpu.0,
                l.cpu.1,
                l.cpu.2
            );
        }
    }
}
