//! Attachments, measured: a 5 MB photo up and down over loopback (files in
//! the database, and in a folder), the phone's storage per attachment, and
//! how long a document sync takes while large uploads are under way on the
//! same phone (target: no longer than without them).
//!
//! `cargo run --release -p qamqor-tests --bin attachment-bench`

#![allow(missing_docs, clippy::unwrap_used)]

use std::time::{Duration, Instant};

use qamqor_core::docs::DocId;
use qamqor_core::sync::client;
use qamqor_server::model::Role;
use qamqor_tests::{DISTRICT, Phone, TestServer, register_family, sample};

fn jpeg(len: usize, seed: u8) -> Vec<u8> {
    let mut b = vec![0xFF, 0xD8, 0xFF, 0xE0];
    let mut x = (u32::from(seed) + 1).wrapping_mul(2_654_435_761);
    b.extend((0..len - 4).map(|_| {
        // Incompressible, as a photo is.
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        x as u8
    }));
    b
}

fn d(s: &str) -> chrono::NaiveDate {
    s.parse().unwrap()
}

async fn phones(server: &TestServer) -> (Phone, Phone) {
    server.user("aigerim", Role::Specialist, &[DISTRICT]);
    server.user("daniyar", Role::Specialist, &[DISTRICT]);
    (server.phone("aigerim").await, server.phone("daniyar").await)
}

/// A 5 MB photo up from one phone and down to another.
async fn throughput(label: &str, server: &TestServer) {
    let (a, b) = phones(server).await;
    let mut s = sample(1);
    let (child, _, _) = register_family(&a.store, &mut s, d("2024-01-10"));
    let visit = s.visit(&child, d("2026-11-21"));
    a.store.record_visit(&visit).unwrap();
    let photo = jpeg(5 << 20, 1);
    let r = a.store.attach(&DocId::case(&child.id), "visits", &visit.id, &photo, None).unwrap();
    a.sync().await.unwrap();
    let t = Instant::now();
    client::upload_attachments(a.store.clone(), &a.config, &|_: &str, _: u64, _: u64| {}).await.unwrap();
    let up = t.elapsed();
    b.sync().await.unwrap();
    let t = Instant::now();
    let got = client::fetch_attachment(b.store.clone(), &b.config, &r.hash).await.unwrap();
    let down = t.elapsed();
    assert_eq!(got.len(), photo.len());
    let mb = photo.len() as f64 / 1048576.0;
    println!(
        "| {label} | {:.0} ms ({:.1} MiB/s) | {:.0} ms ({:.1} MiB/s) |",
        up.as_secs_f64() * 1000.0,
        mb / up.as_secs_f64(),
        down.as_secs_f64() * 1000.0,
        mb / down.as_secs_f64()
    );
}

/// The store's size on disk (database and its WAL).
fn disk(dir: &std::path::Path) -> u64 {
    std::fs::read_dir(dir).unwrap().filter_map(|e| e.ok()).map(|e| e.metadata().unwrap().len()).sum()
}

fn overhead() {
    let dir = tempfile::tempdir().unwrap();
    let mut o = qamqor_core::store::StoreOptions::new("aigerim");
    o.today = Some(qamqor_tests::today());
    let path = dir.path().join("phone.db");
    let store = qamqor_core::store::Store::open(&path, &[3; 32], o.clone()).unwrap();
    let mut s = sample(2);
    let (child, _, _) = register_family(&store, &mut s, d("2024-01-10"));
    let visit = s.visit(&child, d("2026-11-21"));
    store.record_visit(&visit).unwrap();
    drop(store);
    let before = disk(dir.path());
    let store = qamqor_core::store::Store::open(&path, &[3; 32], o.clone()).unwrap();
    let (n, size) = (50, 400_000);
    for i in 0..n {
        store.attach(&DocId::case(&child.id), "visits", &visit.id, &jpeg(size, i as u8), None).unwrap();
    }
    drop(store);
    let after = disk(dir.path());
    let per = (after - before) as f64 / f64::from(n) - size as f64;
    println!(
        "phone storage: {n} photos of {} KiB take {:.1} MiB on disk: {:.1} KiB ({:.1}%) above each file's size \
         (the reference in the document, the queue row, SQLite pages)",
        size / 1024,
        (after - before) as f64 / 1048576.0,
        per / 1024.0,
        per / size as f64 * 100.0
    );
}

/// Document syncs of one new visit each, with and without uploads running.
async fn sync_while_uploading() {
    let server = TestServer::start().await;
    let (a, _) = phones(&server).await;
    let mut s = sample(3);
    let (child, _, _) = register_family(&a.store, &mut s, d("2024-01-10"));
    let visit = s.visit(&child, d("2026-11-20"));
    a.store.record_visit(&visit).unwrap();
    let case = DocId::case(&child.id);
    let mut pdf = b"%PDF-1.7\n".to_vec();
    pdf.extend(&jpeg(20 << 20, 7)[4..]);
    a.store.attach(&case, "visits", &visit.id, &pdf, None).unwrap();
    for i in 0..50u8 {
        a.store.attach(&case, "visits", &visit.id, &jpeg(1 << 20, i), None).unwrap();
    }
    a.sync().await.unwrap();
    let times = |label: &str, v: &mut Vec<Duration>| {
        v.sort();
        println!(
            "| {label} | {:.1} ms | {:.1} ms | {:.1} ms |",
            v[v.len() / 2].as_secs_f64() * 1000.0,
            v[v.len() * 9 / 10].as_secs_f64() * 1000.0,
            v[v.len() - 1].as_secs_f64() * 1000.0
        );
    };
    let one_sync = async |s: &mut qamqor_core::sample::Sample| {
        let day = chrono::NaiveDate::from_ymd_opt(2026, 11, 21).unwrap();
        a.store.record_visit(&s.visit(&child, day)).unwrap();
        let t = Instant::now();
        a.sync().await.unwrap();
        t.elapsed()
    };
    let mut quiet = Vec::new();
    for _ in 0..20 {
        quiet.push(one_sync(&mut s).await);
    }
    let store = a.store.clone();
    let config = a.config.clone();
    let uploads = tokio::spawn(async move {
        let t = Instant::now();
        let r = client::upload_attachments(store, &config, &|_: &str, _: u64, _: u64| {}).await.unwrap();
        (r, t.elapsed())
    });
    let mut busy = Vec::new();
    while !uploads.is_finished() && busy.len() < 40 {
        busy.push(one_sync(&mut s).await);
    }
    let (r, took) = uploads.await.unwrap();
    println!("| sync (visit) | p50 | p90 | max |");
    println!("| --- | --- | --- | --- |");
    times("no uploads", &mut quiet);
    times(&format!("while 70 MiB go up ({} syncs)", busy.len()), &mut busy);
    println!(
        "the uploads: {} files, {:.0} MiB in {:.1} s ({:.1} MiB/s)",
        r.files_sent,
        r.bytes_sent as f64 / 1048576.0,
        took.as_secs_f64(),
        r.bytes_sent as f64 / 1048576.0 / took.as_secs_f64()
    );
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    rt.block_on(async {
        println!("| files kept | 5 MiB up | 5 MiB down |");
        println!("| --- | --- | --- |");
        throughput("in the database (SQLite)", &TestServer::start().await).await;
        let folder = tempfile::tempdir().unwrap();
        let dir = folder.path().to_owned();
        throughput("in a folder", &TestServer::start_with(move |c| c.blob_dir = Some(dir)).await).await;
        overhead();
        sync_while_uploading().await;
    });
}
