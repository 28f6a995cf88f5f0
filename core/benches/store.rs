//! The store on a busy district: 2,000 children and their representatives
//! with five years of checks, visits and mentor meetings.
//!
//! `cargo bench -p qamqor-core --bench store`. The district is built once
//! into `target/qamqor-bench/` and copied for each run. Criterion reports
//! medians; the recording benchmark also prints p50/p99 of every sample.

#![allow(missing_docs, clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use criterion::{Criterion, criterion_group, criterion_main};
use qamqor_core::model::*;
use qamqor_core::sample::Sample;
use qamqor_core::store::{Store, StoreOptions};

const KEY: [u8; 32] = [9; 32];
const CHILDREN: usize = 2_000;
const MENTORS: usize = 20;
const MENTEES_PER_MENTOR: usize = 5;
const FIXTURE: &str = "district-2000-v2.db";

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 25).unwrap()
}

fn options() -> StoreOptions {
    let mut o = StoreOptions::new("specialist");
    o.today = Some(today());
    o
}

fn sample(seed: u64) -> Sample {
    Sample::new(seed, today(), Kato::parse("196235000").unwrap())
}

struct District {
    reps: Vec<RepresentativeId>,
    iins: Vec<String>,
    names: Vec<String>,
}

fn build(path: &Path) -> District {
    let t = Instant::now();
    let store = Store::open(path, &KEY, options()).unwrap();
    let mut s = sample(1);
    let mut district = District { reps: Vec::new(), iins: Vec::new(), names: Vec::new() };
    let mut children = Vec::new();
    for i in 0..CHILDREN {
        let child = s.child();
        let start = child.birth_date.max(NaiveDate::from_ymd_opt(2021, 1, 15).unwrap());
        let rep = s.representative(start);
        store.register_child(&child).unwrap();
        store.register_representative(&rep).unwrap();
        store.place_child(&s.placement(&child, &rep, start)).unwrap();
        for year in 0..5 {
            let date = add_months(start, 12 * (year + 1)) - chrono::Duration::days(10);
            if date <= today() && (i % 10 != 0 || year < 4) {
                // One in ten representatives has this year's check overdue.
                store.record_check(&s.check(&rep.id, date, None)).unwrap();
            }
            for half in 0..2 {
                let v = add_months(start, 12 * year + 6 * half + 3);
                if v <= today() {
                    store.record_visit(&s.visit(&child, v)).unwrap();
                }
            }
        }
        district.reps.push(rep.id.clone());
        district.iins.push(child.iin.as_str().to_owned());
        district.names.push(child.name.family.clone());
        children.push(child);
    }
    for m in 0..MENTORS {
        let mentor = s.mentor(&format!("mentor-{m}"));
        store.register_mentor(&mentor).unwrap();
        store.add_certificate(&mentor.id, &s.certificate(NaiveDate::from_ymd_opt(2021, 1, 1).unwrap(), 10)).unwrap();
        for k in 0..MENTEES_PER_MENTOR {
            let child = &children[m * MENTEES_PER_MENTOR + k];
            let start = child.birth_date.max(NaiveDate::from_ymd_opt(2021, 2, 1).unwrap());
            let ship = Mentorship {
                id: MentorshipId::new(),
                mentor_id: mentor.id.clone(),
                child_id: child.id.clone(),
                contract_ref: format!("T-{m}-{k}"),
                start_date: start,
                end_date: None,
            };
            store.start_mentorship(&ship).unwrap();
            let mut date = start;
            while date <= today() {
                store.log_meeting(&s.meeting(&ship.id, date)).unwrap();
                date += chrono::Duration::days(30);
            }
        }
    }
    eprintln!("built the district in {:.1?}", t.elapsed());
    district
}

fn fixture() -> (PathBuf, District, tempfile::TempDir) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/qamqor-bench");
    std::fs::create_dir_all(&dir).unwrap();
    let master = dir.join(FIXTURE);
    let ids = dir.join(format!("{FIXTURE}.ids.json"));
    let district = if master.exists() && ids.exists() {
        let (reps, iins, names): (Vec<String>, Vec<String>, Vec<String>) =
            serde_json::from_slice(&std::fs::read(&ids).unwrap()).unwrap();
        District { reps: reps.iter().map(|r| RepresentativeId::parse(r).unwrap()).collect(), iins, names }
    } else {
        let _ = std::fs::remove_file(&master);
        let d = build(&master);
        let reps: Vec<&str> = d.reps.iter().map(|r| r.as_str()).collect();
        std::fs::write(&ids, serde_json::to_vec(&(reps, &d.iins, &d.names)).unwrap()).unwrap();
        d
    };
    // Work on a copy so that the benchmarks' writes do not grow the fixture.
    let tmp = tempfile::tempdir().unwrap();
    let copy = tmp.path().join("phone.db");
    std::fs::copy(&master, &copy).unwrap();
    (copy, district, tmp)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn benches(c: &mut Criterion) {
    let (path, district, _tmp) = fixture();
    let size = std::fs::metadata(&path).unwrap().len();
    eprintln!(
        "store size: {:.1} MiB on disk, {:.1} KiB per child ({} children with representatives, {} mentees)",
        size as f64 / 1048576.0,
        size as f64 / 1024.0 / CHILDREN as f64,
        CHILDREN,
        MENTORS * MENTEES_PER_MENTOR
    );

    c.bench_function("open store", |b| {
        b.iter(|| {
            let s = Store::open(&path, &KEY, options()).unwrap();
            s.close();
        })
    });

    let store = Store::open(&path, &KEY, options()).unwrap();
    c.bench_function("list overdue checks", |b| b.iter(|| store.checks_overdue(today()).unwrap()));
    let overdue = store.checks_overdue(today()).unwrap().len();
    eprintln!("overdue list: {overdue} representatives");
    c.bench_function("list due and overdue checks", |b| b.iter(|| store.checks_due(today()).unwrap()));
    c.bench_function("caseload (2,000 lines)", |b| b.iter(|| store.caseload().unwrap()));

    let mut s = sample(99);
    let mut samples = Vec::new();
    let mut n = 0usize;
    c.bench_function("record a check", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                // A different representative each time: a cold document is
                // the common case on a visit.
                let rep = &district.reps[(n * 7919) % district.reps.len()];
                n += 1;
                let check = s.check(rep, today(), None);
                let t = Instant::now();
                store.record_check(&check).unwrap();
                let e = t.elapsed();
                samples.push(e);
                total += e;
            }
            total
        })
    });
    samples.sort();
    eprintln!(
        "record a check over {} samples: p50 {:.2?}, p99 {:.2?}, max {:.2?}",
        samples.len(),
        percentile(&samples, 0.5),
        percentile(&samples, 0.99),
        samples[samples.len() - 1]
    );

    let mut i = 0;
    c.bench_function("search by IIN", |b| {
        b.iter(|| {
            i += 1;
            let hits = store.search(&district.iins[i % district.iins.len()], 20).unwrap();
            assert!(!hits.is_empty());
        })
    });
    let mut j = 0;
    c.bench_function("search by name (family + given prefix)", |b| {
        b.iter(|| {
            j += 1;
            store.search(&format!("{} а", district.names[j % district.names.len()]), 50).unwrap()
        })
    });
    c.bench_function("search by name (Russian keyboard, 3 letters)", |b| b.iter(|| store.search("нур", 50).unwrap()));
    c.bench_function("open a child's file (cold cache)", |b| {
        let ids: Vec<_> = store.caseload().unwrap().into_iter().map(|c| c.child_id).collect();
        let mut k = 0;
        b.iter(|| {
            k += 1;
            store.child_file(&ids[(k * 104729) % ids.len()]).unwrap()
        })
    });
}

criterion_group! {
    name = store;
    config = Criterion::default().sample_size(60).measurement_time(Duration::from_secs(4)).warm_up_time(Duration::from_secs(1));
    targets = benches
}
criterion_main!(store);
