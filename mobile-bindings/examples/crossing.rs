//! The Rust side of the boundary-crossing benchmark: the same calls the
//! Kotlin and Python benchmarks make, without crossing the FFI.
//! Run by `scripts/bench-bindings.sh`.

#![allow(missing_docs, clippy::unwrap_used)]

use std::time::Instant;

use qamqor_core::model::*;
use qamqor_core::sample::Sample;
use qamqor_mobile::QamqorStore;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let store =
        QamqorStore::open(dir.path().join("p.db").to_string_lossy().into(), vec![1; 32], "bench".into()).unwrap();
    let today = chrono::Local::now().date_naive();
    let mut s = Sample::new(1, today, Kato::parse("751710000").unwrap());
    let child = s.child();
    store.register_child(child.clone()).unwrap();
    store.record_visit(s.visit(&child, today)).unwrap();
    let mut reads = Vec::new();
    for _ in 0..2000 {
        let t = Instant::now();
        let f = store.child_file(child.id.clone()).unwrap();
        reads.push(t.elapsed().as_secs_f64() * 1e6);
        assert!(!f.visits.is_empty());
    }
    let mut writes = Vec::new();
    for _ in 0..300 {
        let v = s.visit(&child, today);
        let t = Instant::now();
        store.record_visit(v).unwrap();
        writes.push(t.elapsed().as_secs_f64() * 1e6);
    }
    println!("rust child_file median_us={:.1}", median(reads));
    println!("rust record_visit median_us={:.1}", median(writes));
    store.close_store();
}
