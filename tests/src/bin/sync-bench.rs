//! Sync figures over loopback: a phone's first sync of a 200-case
//! caseload, a sync after a week offline, a sync with nothing new, and the
//! server under 1,500 and then 5,000 phones syncing at once.
//!
//! `cargo run --release -p qamqor-tests --bin sync-bench`

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use automerge::Automerge;
use qamqor_core::docs::DocId;
use qamqor_server::model::Role;
use qamqor_tests::load;
use qamqor_tests::*;

fn d(s: &str) -> chrono::NaiveDate {
    s.parse().unwrap()
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    // All 5,000 simulated phones come from 127.0.0.1: lift the per-address
    // connection limit (and the total: 5,000 connections at once).
    let server = TestServer::start_with(|c| {
        c.max_connections_per_address = 8192;
        c.max_connections = 8192;
    })
    .await;
    server.user("seed", Role::Specialist, &[DISTRICT]);
    server.user("aigerim", Role::Specialist, &[DISTRICT]);

    // A colleague's phone registers the district's 200 cases.
    let seed = server.phone("seed").await;
    let mut s = sample(1);
    let mut children = Vec::new();
    let mut reps = Vec::new();
    for _ in 0..200 {
        let child = s.child();
        let start = child.birth_date.max(d("2023-03-01"));
        let rep = s.representative(start);
        seed.store.register_child(&child).unwrap();
        seed.store.register_representative(&rep).unwrap();
        seed.store.place_child(&s.placement(&child, &rep, start)).unwrap();
        seed.store.record_check(&s.check(&rep.id, d("2025-11-01"), None)).unwrap();
        for v in ["2025-06-01", "2026-01-15"] {
            seed.store.record_visit(&s.visit(&child, d(v).max(child.birth_date))).unwrap();
        }
        children.push(child);
        reps.push(rep);
    }
    seed.sync().await.unwrap();

    println!("# Qamqor sync over loopback\n");
    println!("| scenario | time | bytes on the wire (up + down) | round trips | notes |");
    println!("| --- | --- | --- | --- | --- |");

    // 1. First sync of a 200-case caseload on a new phone.
    let phone = server.phone("aigerim").await;
    let t = Instant::now();
    let r = phone.sync().await.unwrap();
    let first = t.elapsed();
    println!(
        "| first sync, 200 cases (400 documents) | {:.0} ms | {} KiB ({} + {}) | {} | {} documents received |",
        first.as_secs_f64() * 1000.0,
        (r.bytes_sent + r.bytes_received) / 1024,
        r.bytes_sent,
        r.bytes_received,
        r.rounds,
        phone.store.document_ids().unwrap().len()
    );

    // 2. A week offline: 100 edits across 40 documents.
    let mut touched: Vec<(DocId, Vec<automerge::ChangeHash>)> = Vec::new();
    for i in 0..20 {
        let id = DocId::case(&children[i].id);
        touched.push((id.clone(), phone.store.heads(&id).unwrap()));
        let id = DocId::representative(&reps[i].id);
        touched.push((id.clone(), phone.store.heads(&id).unwrap()));
    }
    for k in 0..100 {
        let i = k % 20;
        let day = d("2026-11-18") + chrono::Duration::days((k % 7) as i64);
        if k % 5 == 4 {
            phone.store.record_check(&s.check(&reps[i].id, day, None)).unwrap();
        } else if k % 5 == 3 {
            let mut rep = reps[i].clone();
            rep.address = format!("Абай к-сі, {} үй", k + 1);
            phone.store.update_representative(&rep).unwrap();
        } else {
            phone.store.record_visit(&s.visit(&children[i], day)).unwrap();
        }
    }
    let mut raw = 0usize;
    for (id, before) in &touched {
        let doc = Automerge::load(&phone.store.export_document(id).unwrap()).unwrap();
        raw += doc.get_changes(before).iter().map(|c| c.raw_bytes().len()).sum::<usize>();
    }
    let t = Instant::now();
    let r = phone.sync().await.unwrap();
    let week = t.elapsed();
    let wire_bytes = r.bytes_sent + r.bytes_received;
    println!(
        "| after a week offline: 100 edits in 40 documents | {:.0} ms | {} B ({} + {}) | {} | raw new changes {} B; wire/raw = {:.2} |",
        week.as_secs_f64() * 1000.0,
        wire_bytes,
        r.bytes_sent,
        r.bytes_received,
        r.rounds,
        raw,
        wire_bytes as f64 / raw as f64
    );

    // 3. Nothing new.
    let t = Instant::now();
    let r = phone.sync().await.unwrap();
    let idle = t.elapsed();
    println!(
        "| nothing new | {:.1} ms | {} B ({} + {}) | {} | |",
        idle.as_secs_f64() * 1000.0,
        r.bytes_sent + r.bytes_received,
        r.bytes_sent,
        r.bytes_received,
        r.rounds
    );

    // 4. 1,500 and then 5,000 phones at once, spread as in a country (25
    // per district): nine in ten ask for news, one in ten uploads a case
    // registered offline (see `qamqor_tests::load`).
    let storage = server.service.storage().clone();
    for (round, n) in [1500usize, 5000].into_iter().enumerate() {
        let phones = load::phones(&*storage, &format!("load{round}x"), n);
        let cursor = storage.feed_end().unwrap();
        let rss_before = rss_mib(None);
        let sampling = Arc::new(std::sync::atomic::AtomicBool::new(true));
        let sampler = {
            let on = sampling.clone();
            tokio::spawn(async move {
                let mut peak = 0.0f64;
                while on.load(std::sync::atomic::Ordering::Relaxed) {
                    peak = peak.max(rss_mib(None));
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                peak
            })
        };
        let cpu = cpu_secs(None);
        let out = load::run(&[server.url()], &phones, cursor, round as u64 + 1).await;
        let cpu = cpu_secs(None) - cpu;
        sampling.store(false, std::sync::atomic::Ordering::Relaxed);
        let peak = sampler.await.unwrap();
        println!(
            "| {n} phones at once ({} uploading a new case) | {:.2} s for all | | {} requests | {:.0} req/s; p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms; {} errors; CPU {:.2} s of {:.2} s available; RSS peak {:.0} MiB during the load, {:.0} MiB before (server and all clients in one process) |",
            n / 10,
            out.wall.as_secs_f64(),
            out.latencies.len(),
            out.rate(),
            out.pct(0.5).as_secs_f64() * 1000.0,
            out.pct(0.99).as_secs_f64() * 1000.0,
            out.pct(1.0).as_secs_f64() * 1000.0,
            out.errors,
            cpu,
            out.wall.as_secs_f64() * std::thread::available_parallelism().map_or(1, usize::from) as f64,
            peak,
            rss_before
        );
    }
}
