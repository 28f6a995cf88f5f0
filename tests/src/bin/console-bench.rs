//! The console's server time for a region of 5,000 children and 100
//! devices: the figures computed, the dashboard, the work list and an XLSX
//! export served over loopback HTTP; and the national report.
//!
//! `cargo run --release -p qamqor-tests --bin console-bench`
//!
//! The region is built once through real phone stores and syncs (10
//! districts, 5,000 families: child, guardian, placement, this or last
//! year's check, two home visits) into `target/qamqor-bench/console-5000/`
//! and copied for each run; the server opens it as deployed (encrypted).

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use qamqor_core::model::Kato;
use qamqor_core::sample::Sample;
use qamqor_server::model::Role;
use qamqor_tests::console::{Browser, code, office_user};
use qamqor_tests::*;

const CHILDREN: usize = 5_000;
const DISTRICTS: usize = 10;
const PHONES: usize = 5;
const DEVICES: usize = 100;

fn district(i: usize) -> String {
    format!("75{:02}10000", 11 + i)
}

fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn pct(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

/// Builds the region into `dir` (the server's data folder).
async fn build(dir: &std::path::Path) {
    let t = Instant::now();
    let server = TestServer::start_as_deployed(|c| c.data_dir = dir.to_owned()).await;
    let mut handles = Vec::new();
    for p in 0..PHONES {
        let user = format!("seed{p}");
        let districts: Vec<String> = (0..DISTRICTS).filter(|i| i % PHONES == p).map(district).collect();
        let refs: Vec<&str> = districts.iter().map(String::as_str).collect();
        server.user(&user, Role::Specialist, &refs);
        let phone = server.phone(&user).await;
        handles.push(tokio::task::spawn_blocking(move || {
            for (k, dist) in districts.iter().enumerate() {
                let mut s = Sample::new((p * 100 + k) as u64, today(), Kato::parse(dist).unwrap());
                for n in 0..CHILDREN / DISTRICTS {
                    let child = s.child();
                    let start = child.birth_date.max(d("2022-03-01"));
                    let rep = s.representative(start);
                    phone.store.register_child(&child).unwrap();
                    phone.store.register_representative(&rep).unwrap();
                    phone.store.place_child(&s.placement(&child, &rep, start)).unwrap();
                    // One in ten without a check for over a year: overdue.
                    if n % 10 != 0 {
                        let checked = if n % 2 == 0 { "2026-02-01" } else { "2025-12-10" };
                        phone.store.record_check(&s.check(&rep.id, d(checked).max(start), None)).unwrap();
                    }
                    for v in ["2026-03-01", "2026-09-15"] {
                        phone.store.record_visit(&s.visit(&child, d(v).max(child.birth_date))).unwrap();
                    }
                }
            }
            phone
        }));
    }
    for h in handles {
        let phone = h.await.unwrap();
        // A first sync this large takes several calls today (issue 11).
        while let Err(e) = phone.sync().await {
            assert!(e.to_string().contains("rounds"), "{e}");
        }
    }
    // 100 devices: the seeding phones and 95 more, of 50 specialists.
    for u in 0..45 {
        let user = format!("specialist{u}");
        server.user(&user, Role::Specialist, &[&district(u % DISTRICTS)]);
        for k in 0..2 + usize::from(u < 5) {
            let n = u * 3 + k;
            register_device(&server.service, &user, &format!("{:032x}", n + 1000), &format!("device{n:03}"));
        }
    }
    let devices = server.service.storage().devices().unwrap().len();
    assert!(devices >= DEVICES, "{devices} devices");
    drop(server);
    eprintln!("built the region in {:.0} s", t.elapsed().as_secs_f64());
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
    }
}

async fn timed<F: std::future::Future<Output = ()>>(runs: usize, mut f: impl FnMut() -> F) -> Vec<Duration> {
    f().await;
    let mut v = Vec::new();
    for _ in 0..runs {
        let t = Instant::now();
        f().await;
        v.push(t.elapsed());
    }
    v.sort();
    v
}

/// `runs` timed requests of `path` after one to warm up, sorted, and the
/// last body.
async fn time_get(b: &mut Browser, path: &str, runs: usize) -> (Vec<Duration>, Vec<u8>) {
    let mut body = Vec::new();
    let mut v = Vec::new();
    for i in 0..=runs {
        let t = Instant::now();
        let (status, bytes) = b.get_bytes(path).await;
        assert_eq!(status, 200, "{path}");
        body = bytes;
        if i > 0 {
            v.push(t.elapsed());
        }
    }
    v.sort();
    (v, body)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let cache = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/qamqor-bench/console-5000");
    if !cache.join("qamqor-server.db").exists() {
        let _ = std::fs::remove_dir_all(&cache);
        std::fs::create_dir_all(&cache).unwrap();
        build(&cache).await;
    }
    let server = TestServer::start_as_deployed(|c| copy_dir(&cache, &c.data_dir)).await;
    let account = office_user(&server, "head", Role::Admin);
    let mut b = Browser::new(&server);
    assert_eq!(b.sign_in("head", &account.password, &code(&account, 0)).await, 303);
    let on = today();
    let f = qamqor_server::figures::compute(&server.service, on, chrono::Utc::now().timestamp()).unwrap();
    assert_eq!(f.region.children_placed as usize, CHILDREN, "every child placed on {on}");
    let facts = server.service.storage().facts().unwrap().len();

    const RUNS: usize = 30;
    let service = server.service.clone();
    let compute = timed(RUNS, || {
        let s = service.clone();
        async move {
            tokio::task::spawn_blocking(move || {
                qamqor_server::figures::compute(&s, on, chrono::Utc::now().timestamp()).unwrap();
            })
            .await
            .unwrap();
        }
    })
    .await;
    let mut lines = Vec::new();
    let mut row = |what: &str, v: &[Duration], note: String| {
        lines.push(format!("| {what} | {} | {} | {note} |", ms(pct(v, 0.5)), ms(pct(v, 0.99))));
    };
    row("figures computed (server, no HTTP)", &compute, format!("{facts} documents' facts"));

    let (dash, page) = time_get(&mut b, &format!("/console?as_of={on}"), RUNS).await;
    row(
        "dashboard page over loopback HTTP (session, figures, HTML)",
        &dash,
        format!("{} KiB of HTML", page.len() / 1024),
    );
    let (tasks, page) = time_get(&mut b, &format!("/console/tasks?as_of={on}"), RUNS).await;
    let items = String::from_utf8_lossy(&page).matches("<tr>").count().saturating_sub(1);
    row("work list page (overdue and due checks, urgent items, holders)", &tasks, format!("{items} items"));
    let (xlsx, bytes) = time_get(&mut b, &format!("/console/export/figures.xlsx?as_of={on}"), 10).await;
    row("figures exported as XLSX", &xlsx, format!("{} KiB", bytes.len() / 1024));
    let (devices, _) = time_get(&mut b, "/console/devices", 10).await;
    let n_devices = server.service.storage().devices().unwrap().len();
    row("devices page (last sync, pending urgent per device)", &devices, format!("{n_devices} devices"));

    let report = timed(10, || {
        let s = service.clone();
        async move {
            tokio::task::spawn_blocking(move || {
                let f = qamqor_server::figures::compute(&s, on, 0).unwrap();
                qamqor_server::national::report(&f, "75", 0);
            })
            .await
            .unwrap();
        }
    })
    .await;
    row("national report built (figures + suppression)", &report, String::new());

    println!("# Console server time, a region of {CHILDREN} children and {n_devices} devices\n");
    println!("| what | p50 | p99 | notes |");
    println!("| --- | --- | --- | --- |");
    for l in lines {
        println!("{l}");
    }
    println!("\nresident memory of the bench process (server inside): {:.0} MiB", rss_mib(None));
}
