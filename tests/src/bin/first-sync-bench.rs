//! First syncs as a caseload grows, against the release server as a
//! separate process (its memory read from /proc): a phone sending a
//! district it registered (200, 1,000, 2,000 and 5,000 case files), then a
//! new phone receiving it, each in one `sync` call.
//!
//! `cargo build --release -p qamqor-server && cargo run --release -p qamqor-tests --bin first-sync-bench [SIZES…]`
//! (sizes among 200, 1000, 2000, 5000, 7000; the first four by default)
//!
//! A case file is a child with two placements (the first ended), ten home
//! visits and five annual checks over five years: three documents (the
//! case and two representatives' files). The phone stores are built once
//! through the store's own actions (durable, encrypted) into
//! `target/qamqor-bench/first-sync/` and copied for each run; the saved
//! documents are also written there (`docs-<N>/`), so that other sync
//! implementations can be run on the same work.

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use qamqor_core::docs::DocId;
use qamqor_core::model::{Kato, PlacementEndReason};
use qamqor_core::sample::Sample;
use qamqor_core::store::{Store, StoreOptions};
use qamqor_core::sync::client::{self, ServerConfig, SyncReport};
use qamqor_core::sync::wire::Limits;
use qamqor_tests::{DISTRICT, ServerProcess, cpu_secs, today};

const KEY: [u8; 32] = [7; 32];
/// Case files of the stores built (7,000: 21,000 documents, a large region).
const BUILT: [usize; 5] = [200, 1000, 2000, 5000, 7000];
/// Sizes measured when none is named.
const SIZES: [usize; 4] = [200, 1000, 2000, 5000];

fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn options(author: &str) -> StoreOptions {
    let mut o = StoreOptions::new(author);
    o.today = Some(today());
    o
}

/// One case file on `store`.
fn case_file(store: &Store, s: &mut Sample) {
    let child = s.child();
    let start = child.birth_date.max(d("2021-09-01"));
    let first = s.representative(start);
    store.register_child(&child).unwrap();
    store.register_representative(&first).unwrap();
    let p1 = s.placement(&child, &first, start);
    store.place_child(&p1).unwrap();
    store.record_check(&s.check(&first.id, d("2022-08-20").max(start), None)).unwrap();
    let moved = d("2023-03-01").max(start + chrono::Duration::days(30));
    store.end_placement(&s.ending(&p1, moved, PlacementEndReason::Replaced)).unwrap();
    let second = s.representative(moved);
    store.register_representative(&second).unwrap();
    store.place_child(&s.placement(&child, &second, moved)).unwrap();
    for year in 2023..2027 {
        let on = NaiveDate::from_ymd_opt(year, 10, 15).unwrap().max(moved);
        store.record_check(&s.check(&second.id, on, None)).unwrap();
    }
    for k in 0..10 {
        let on = (d("2021-10-01") + chrono::Duration::days(k * 180)).max(child.birth_date);
        store.record_visit(&s.visit(&child, on)).unwrap();
    }
}

/// Builds the phone stores (one store grown to each size, copied at each).
fn build(dir: &Path) {
    let t = Instant::now();
    let work = dir.join("building");
    std::fs::create_dir_all(&work).unwrap();
    let mut s = Sample::new(11, today(), Kato::parse(DISTRICT).unwrap());
    let mut made = 0;
    for n in BUILT {
        {
            let store = Store::open(work.join("phone.db"), &KEY, options("seed")).unwrap();
            while made < n {
                case_file(&store, &mut s);
                made += 1;
            }
        }
        // Closed: the file (checkpointed) is the phone.
        std::fs::copy(work.join("phone.db"), dir.join(format!("phone-{n}.db"))).unwrap();
        eprintln!("built {n} case files ({:.0} s)", t.elapsed().as_secs_f64());
    }
    let _ = std::fs::remove_dir_all(&work);
}

/// Writes each document of the phone store built for `n` case files, saved,
/// to `docs-<n>/` (the work the other implementations run on).
fn export(dir: &Path, n: usize) {
    let out = dir.join(format!("docs-{n}"));
    let _ = std::fs::remove_dir_all(&out);
    std::fs::create_dir_all(&out).unwrap();
    let copy = tempfile::tempdir().unwrap();
    std::fs::copy(dir.join(format!("phone-{n}.db")), copy.path().join("p.db")).unwrap();
    let store = Store::open(copy.path().join("p.db"), &KEY, options("seed")).unwrap();
    for id in store.document_ids().unwrap() {
        let doc = automerge::Automerge::load(&store.export_document(&id).unwrap()).unwrap();
        std::fs::write(out.join(id.to_string().replace(':', "-")), doc.save()).unwrap();
    }
}

struct Server {
    process: ServerProcess,
    dir: tempfile::TempDir,
    bin: PathBuf,
}

impl Server {
    fn start(bin: &Path) -> Server {
        let dir = tempfile::tempdir().unwrap();
        let env = [
            ("QAMQOR_DATA_DIR", dir.path().as_os_str()),
            ("QAMQOR_ENROLLMENTS_PER_MINUTE", std::ffi::OsStr::new("10000")),
        ];
        let process = ServerProcess::start(bin, &env, None);
        Server { process, dir, bin: bin.to_owned() }
    }

    fn admin(&self, args: &[&str]) -> String {
        let out = Command::new(&self.bin).args(args).env("QAMQOR_DATA_DIR", self.dir.path()).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn code(&self, user: &str) -> String {
        let out = self.admin(&["code", user]);
        out.trim().rsplit(' ').next().unwrap().to_owned()
    }

    /// Resident memory now and at its peak (MiB).
    fn memory(&self) -> (f64, f64) {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.process.pid)).unwrap_or_default();
        let field = |name: &str| {
            status
                .lines()
                .find(|l| l.starts_with(name))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
                .map_or(0.0, |kb| kb / 1024.0)
        };
        (field("VmRSS:"), field("VmHWM:"))
    }
}

/// CPU seconds of the phone (this process) and the server since `from`.
fn cpu_since(server: &Server, from: (f64, f64)) -> (f64, f64) {
    (cpu_secs(None) - from.0, cpu_secs(Some(server.process.pid)) - from.1)
}

fn cpu_now(server: &Server) -> (f64, f64) {
    (cpu_secs(None), cpu_secs(Some(server.process.pid)))
}

async fn phone(server: &Server, store: Arc<Store>, user: &str) -> ServerConfig {
    let e = client::enroll(&server.process.url, None, &server.code(user), &store.actor_id(), "bench").await.unwrap();
    ServerConfig { url: server.process.url.clone(), token: e.token, ca_pem: None, timeout: Duration::from_secs(600) }
}

fn saved_size(dir: &Path) -> (usize, usize, usize) {
    let (mut n, mut raw, mut gz) = (0, 0, 0);
    for e in std::fs::read_dir(dir).unwrap() {
        let bytes = std::fs::read(e.unwrap().path()).unwrap();
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(&bytes).unwrap();
        n += 1;
        raw += bytes.len();
        gz += enc.finish().unwrap().len();
    }
    (n, raw, gz)
}

/// One row of the table.
#[allow(clippy::too_many_arguments)]
fn row(
    n: usize,
    docs: usize,
    direction: &str,
    took: Duration,
    r: &SyncReport,
    gz: usize,
    (rss, peak): (f64, f64),
    (phone_cpu, server_cpu): (f64, f64),
) {
    let wire = r.bytes_sent + r.bytes_received;
    println!(
        "| {n} ({docs}) | {direction} | {:.2} s | {:.2} ms | {:.2} + {:.2} s | {} KiB ({} + {}) | {} KiB | {:.2} | {} | {:.0} / {:.0} MiB |",
        took.as_secs_f64(),
        took.as_secs_f64() * 1000.0 / n as f64,
        phone_cpu,
        server_cpu,
        wire / 1024,
        r.bytes_sent / 1024,
        r.bytes_received / 1024,
        gz / 1024,
        wire as f64 / gz as f64,
        r.rounds,
        rss,
        peak
    );
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    // QAMQOR_SERVER_BIN: another build of the server (a profiling one).
    let bin =
        std::env::var_os("QAMQOR_SERVER_BIN").map_or_else(|| root.join("target/release/qamqor-server"), PathBuf::from);
    assert!(bin.exists(), "build it first: cargo build --release -p qamqor-server");
    let cache = root.join("target/qamqor-bench/first-sync");
    if !cache.join(format!("phone-{}.db", BUILT[BUILT.len() - 1])).exists() {
        std::fs::create_dir_all(&cache).unwrap();
        build(&cache);
        for n in BUILT {
            let _ = std::fs::remove_dir_all(cache.join(format!("docs-{n}")));
        }
    }
    let sizes: Vec<usize> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let sizes = if sizes.is_empty() { SIZES.to_vec() } else { sizes };
    for &n in &sizes {
        if !cache.join(format!("docs-{n}")).exists() {
            export(&cache, n);
        }
    }
    println!("# First syncs as the caseload grows (release server process, encrypted, durable phones)\n");
    println!(
        "| case files (documents) | direction | time | per case file | CPU phone + server | wire bytes (up + down) | saved form, gzip | wire / saved gzip | round trips | server RSS after / peak |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
    for n in sizes {
        let (docs, _raw, gz) = saved_size(&cache.join(format!("docs-{n}")));
        let server = Server::start(&bin);
        server.admin(&["user", "add", "seed", "--name", "Seed", "--role", "specialist", "--district", DISTRICT]);
        server.admin(&["user", "add", "fresh", "--name", "Fresh", "--role", "specialist", "--district", DISTRICT]);
        let work = tempfile::tempdir().unwrap();

        // Up: the phone that registered the district sends it.
        std::fs::copy(cache.join(format!("phone-{n}.db")), work.path().join("up.db")).unwrap();
        let up = Arc::new(Store::open(work.path().join("up.db"), &KEY, options("seed")).unwrap());
        let config = phone(&server, up.clone(), "seed").await;
        let (t, cpu) = (Instant::now(), cpu_now(&server));
        let r = client::sync(up.clone(), &config, Limits::default()).await.unwrap();
        let took = t.elapsed();
        let cpu = cpu_since(&server, cpu);
        row(n, docs, "up", took, &r, gz, server.memory(), cpu);
        let mut figures = std::collections::BTreeMap::new();
        figures.insert("up_s", took.as_secs_f64());
        figures.insert("up_bytes", (r.bytes_sent + r.bytes_received) as f64);
        figures.insert("saved_gzip_bytes", gz as f64);
        let config_up = config;

        // Down: a new phone receives it.
        let down = Arc::new(Store::open(work.path().join("down.db"), &KEY, options("fresh")).unwrap());
        let config = phone(&server, down.clone(), "fresh").await;
        let (t, cpu) = (Instant::now(), cpu_now(&server));
        let r = client::sync(down.clone(), &config, Limits::default()).await.unwrap();
        let took = t.elapsed();
        let cpu = cpu_since(&server, cpu);
        assert_eq!(down.document_ids().unwrap().len(), docs, "every document received");
        row(n, docs, "down", took, &r, gz, server.memory(), cpu);
        figures.insert("down_s", took.as_secs_f64());
        figures.insert("down_bytes", (r.bytes_sent + r.bytes_received) as f64);
        // Nothing new, after it.
        let t = Instant::now();
        let r = client::sync(down.clone(), &config, Limits::default()).await.unwrap();
        println!(
            "| {n} ({docs}) | nothing new | {:.1} ms | | | {} B | | | {} | |",
            t.elapsed().as_secs_f64() * 1000.0,
            r.bytes_sent + r.bytes_received,
            r.rounds
        );
        figures.insert("idle_bytes", (r.bytes_sent + r.bytes_received) as f64);

        // A week offline on the phone that sent the district.
        let week_dir = cache.join(format!("week-{n}"));
        let raw = week_offline(&up, &mut Sample::new(n as u64, today(), Kato::parse(DISTRICT).unwrap()), &week_dir);
        let t = Instant::now();
        let r = client::sync(up.clone(), &config_up, Limits::default()).await.unwrap();
        let took = t.elapsed();
        let wire = r.bytes_sent + r.bytes_received;
        println!(
            "| {n} ({docs}) | after a week offline (100 edits in 40 documents) | {:.1} ms | | | {wire} B | raw changes {raw} B | {:.2} × raw | {} | |",
            took.as_secs_f64() * 1000.0,
            wire as f64 / raw as f64,
            r.rounds
        );
        figures.insert("week_s", took.as_secs_f64());
        figures.insert("week_bytes", wire as f64);
        figures.insert("week_raw_bytes", raw as f64);
        figures.insert("week_rounds", r.rounds as f64);
        figures.insert("server_rss_mib", server.memory().0);
        figures.insert("server_peak_mib", server.memory().1);

        // 1,500 phones at once on the region now stored, each up to date
        // (the new phone first receives the week's changes).
        client::sync(down.clone(), &config, Limits::default()).await.unwrap();
        for (phones, p99_key, rss_key) in
            [(1500, "phones_1500_p99_s", "phones_1500_rss_mib"), (5000, "phones_5000_p99_s", "phones_5000_rss_mib")]
        {
            let (p99, peak) = phones_at_once(&server, &[(&up, &config_up), (&down, &config)], phones).await;
            println!(
                "| {n} ({docs}) | {phones} phones at once (nothing new) | p99 {:.0} ms | | | | | | | {:.0} MiB during |",
                p99 * 1000.0,
                peak
            );
            figures.insert(p99_key, p99);
            figures.insert(rss_key, peak);
        }
        let out = cache.join("../peers");
        std::fs::create_dir_all(&out).unwrap();
        let json: serde_json::Map<String, serde_json::Value> =
            figures.iter().map(|(k, v)| ((*k).to_owned(), serde_json::json!(v))).collect();
        std::fs::write(out.join(format!("qamqor-{n}.json")), serde_json::Value::Object(json).to_string()).unwrap();
    }
}

/// `phones` sync requests at once (each phone asking for news, as a phone
/// that opens the app does), with the enrolled phones' tokens in turn.
/// Returns the p99 latency (s) and the server's highest resident memory
/// during the load (MiB).
async fn phones_at_once(server: &Server, phones: &[(&Arc<Store>, &ServerConfig)], n: usize) -> (f64, f64) {
    use qamqor_core::sync::wire::{self, PROTOCOL_VERSION, SyncRequest};
    let http = reqwest::Client::builder().pool_max_idle_per_host(n).build().unwrap();
    let url = format!("{}/v1/sync", server.process.url);
    let bodies: Vec<(Vec<u8>, String)> = phones
        .iter()
        .map(|(store, config)| {
            let req = SyncRequest { v: PROTOCOL_VERSION, cursor: store.sync_cursor().unwrap(), ..Default::default() };
            (wire::encode(&req), config.token.clone())
        })
        .collect();
    let on = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let sampler = {
        let (on, pid) = (on.clone(), server.process.pid);
        tokio::spawn(async move {
            let mut peak = 0.0f64;
            while on.load(std::sync::atomic::Ordering::Relaxed) {
                let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
                let rss = status
                    .lines()
                    .find(|l| l.starts_with("VmRSS:"))
                    .and_then(|l| l.split_whitespace().nth(1))
                    .and_then(|kb| kb.parse::<f64>().ok())
                    .unwrap_or(0.0);
                peak = peak.max(rss / 1024.0);
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            peak
        })
    };
    let tasks: Vec<_> = (0..n)
        .map(|i| {
            let (http, url) = (http.clone(), url.clone());
            let (body, token) = bodies[i % bodies.len()].clone();
            tokio::spawn(async move {
                let t = Instant::now();
                let r = http
                    .post(url)
                    .bearer_auth(token)
                    .header("content-type", "application/cbor")
                    .body(body)
                    .send()
                    .await;
                let ok = match r {
                    Ok(r) if r.status().is_success() => r.bytes().await.is_ok(),
                    _ => false,
                };
                (t.elapsed(), ok)
            })
        })
        .collect();
    let mut latencies = Vec::new();
    for t in tasks {
        let (lat, ok) = t.await.unwrap();
        assert!(ok, "a sync failed under load");
        latencies.push(lat);
    }
    on.store(false, std::sync::atomic::Ordering::Relaxed);
    let peak = sampler.await.unwrap();
    latencies.sort();
    (latencies[(latencies.len() - 1) * 99 / 100].as_secs_f64(), peak)
}

/// A week offline on `store`: 100 edits (visits, checks, address changes)
/// across 20 cases and their representatives (40 documents). Each touched
/// document's new changes are written to `out` (as `save_after`), so the
/// same edits can be applied to the other implementations' copies of the
/// saved documents. Returns the raw bytes of the new changes.
fn week_offline(store: &Store, s: &mut Sample, out: &Path) -> usize {
    let _ = std::fs::remove_dir_all(out);
    std::fs::create_dir_all(out).unwrap();
    let mut cases = Vec::new();
    for c in store.caseload().unwrap().into_iter().take(20) {
        let file = store.child_file(&c.child_id).unwrap();
        let current = file.placements.values().max_by_key(|p| p.start_date).unwrap();
        let rep = current.representative_id.clone().unwrap();
        cases.push((file.child, store.representative_file(&rep).unwrap().representative));
    }
    let mut touched = Vec::new();
    for (child, rep) in &cases {
        for id in [DocId::case(&child.id), DocId::representative(&rep.id)] {
            touched.push((id.clone(), store.heads(&id).unwrap()));
        }
    }
    for k in 0..100 {
        let (child, rep) = &cases[k % 20];
        let day = d("2026-11-18") + chrono::Duration::days((k % 7) as i64);
        if k % 5 == 4 {
            store.record_check(&s.check(&rep.id, day, None)).unwrap();
        } else if k % 5 == 3 {
            let mut rep = rep.clone();
            rep.address = format!("Абай к-сі, {} үй", k + 1);
            store.update_representative(&rep).unwrap();
        } else {
            store.record_visit(&s.visit(child, day)).unwrap();
        }
    }
    let mut raw = 0;
    for (id, before) in &touched {
        let doc = automerge::Automerge::load(&store.export_document(id).unwrap()).unwrap();
        raw += doc.get_changes(before).iter().map(|c| c.raw_bytes().len()).sum::<usize>();
        std::fs::write(out.join(id.to_string().replace(':', "-")), doc.save_after(before)).unwrap();
    }
    raw
}
