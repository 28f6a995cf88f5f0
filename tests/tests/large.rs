//! Size limits never block a whole sync: a document too large for one
//! message fails alone, a response never exceeds the body limit (the rest
//! waits for the next round), and documents cannot grow past what a
//! message can carry.

#![allow(clippy::unwrap_used)]

use qamqor_core::Error;
use qamqor_core::docs::DocId;
use qamqor_core::store::{Store, StoreOptions};
use qamqor_core::sync::client;
use qamqor_core::sync::session::SyncStatus;
use qamqor_core::sync::wire::{DocStatus, Limits};
use qamqor_server::model::Role;
use qamqor_tests::*;

fn d(s: &str) -> chrono::NaiveDate {
    s.parse().unwrap()
}

/// A child's case with `visits` home visits.
fn big_case(store: &Store, s: &mut qamqor_core::sample::Sample, visits: usize) -> DocId {
    let child = s.child();
    store.register_child(&child).unwrap();
    for i in 0..visits {
        let day = d("2026-11-20") - chrono::Duration::days(i as i64 * 3);
        store.record_visit(&s.visit(&child, day.max(child.birth_date))).unwrap();
    }
    DocId::case(&child.id)
}

/// A child's case whose compact saved form (what goes whole on the wire)
/// is at least `bytes` long (home visits added ten at a time).
fn case_of_size(store: &Store, s: &mut qamqor_core::sample::Sample, bytes: usize) -> DocId {
    let child = s.child();
    store.register_child(&child).unwrap();
    let id = DocId::case(&child.id);
    let mut i = 0;
    let compact = |id: &DocId| automerge::Automerge::load(&store.export_document(id).unwrap()).unwrap().save().len();
    while compact(&id) < bytes {
        for _ in 0..10 {
            let day = d("2026-11-20") - chrono::Duration::days(i * 3);
            store.record_visit(&s.visit(&child, day.max(child.birth_date))).unwrap();
            i += 1;
        }
    }
    id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_document_too_large_for_one_message_fails_alone() {
    let server = TestServer::start_with(|c| c.max_message_bytes = 16 * 1024).await;
    server.user("aigerim", Role::Specialist, &[DISTRICT]);
    server.user("gulnar", Role::Specialist, &[DISTRICT]);
    let a = server.phone("aigerim").await;
    let g = server.phone("gulnar").await;
    let mut s = sample(41);
    // Even whole (its compact saved form) it does not fit in 16 KiB.
    let big = case_of_size(&a.store, &mut s, 17 * 1024);
    let small: Vec<_> = (0..5).map(|_| big_case(&a.store, &mut s, 1)).collect();

    let report = a.sync().await.unwrap();
    assert_eq!(report.refused.len(), 1, "{:?}", report.refused);
    assert_eq!((report.refused[0].id.clone(), report.refused[0].status), (big.to_string(), DocStatus::TooLarge));
    let states = a.store.sync_states().unwrap();
    assert_eq!(states.iter().find(|x| x.doc_id == big).unwrap().status, SyncStatus::TooLarge);
    // Every other document went up and reaches a colleague.
    g.sync().await.unwrap();
    let mut got = g.store.document_ids().unwrap();
    got.sort();
    let mut want = small.clone();
    want.sort();
    assert_eq!(got, want);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_response_never_exceeds_the_body_limit_and_the_rest_follows() {
    let server = TestServer::start_with(|c| c.max_body_bytes = 48 * 1024).await;
    server.user("aigerim", Role::Specialist, &[DISTRICT]);
    server.user("gulnar", Role::Specialist, &[DISTRICT]);
    let a = server.phone("aigerim").await;
    let g = server.phone("gulnar").await;
    let mut s = sample(42);
    // 12 documents of 6 KiB or more, whole: more than one 48 KiB response holds.
    let ids: Vec<_> = (0..12).map(|_| case_of_size(&a.store, &mut s, 6 * 1024)).collect();
    let limits = Limits { max_body_bytes: 48 * 1024, max_rounds: 100, ..Limits::default() };
    let report = client::sync(a.store.clone(), &a.config, limits).await.unwrap();
    assert!(report.refused.is_empty(), "{:?}", report.refused);
    // The colleague's phone accepts no response above its limit either.
    let report = client::sync(g.store.clone(), &g.config, limits).await.unwrap();
    assert!(report.refused.is_empty(), "{:?}", report.refused);
    assert!(report.rounds >= 2, "the documents came over several responses: {report:?}");
    assert_eq!(g.store.document_ids().unwrap().len(), ids.len());
    for id in &ids {
        assert_eq!(g.store.heads(id).unwrap(), a.store.heads(id).unwrap());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn documents_cannot_grow_past_what_a_message_carries() {
    // On the phone: the edit that would cross the limit is refused, and
    // nothing of it is stored.
    let dir = tempfile::tempdir().unwrap();
    let mut options = StoreOptions::new("aigerim");
    options.today = Some(today());
    options.max_doc_bytes = 24 * 1024;
    let store = Store::open(dir.path().join("p.db"), &[3; 32], options).unwrap();
    let mut s = sample(43);
    let child = s.child();
    store.register_child(&child).unwrap();
    let mut refused = None;
    for i in 0..400 {
        let visit = s.visit(&child, (d("2026-11-20") - chrono::Duration::days(i)).max(child.birth_date));
        match store.record_visit(&visit) {
            Ok(_) => {}
            Err(e) => {
                refused = Some((i, e, visit.id));
                break;
            }
        }
    }
    let (n, e, id) = refused.expect("the limit was reached");
    assert!(matches!(&e, Error::Rule(m) if m.contains("largest size")), "{e}");
    let file = store.child_file(&child.id).unwrap();
    assert_eq!(file.visits.len(), n as usize);
    assert!(!file.visits.contains_key(id.as_str()), "the refused visit is not stored");

    // On the server: changes that would make a document too large are refused.
    let server = TestServer::start_with(|c| c.max_doc_bytes = 16 * 1024).await;
    server.user("aigerim", Role::Specialist, &[DISTRICT]);
    let a = server.phone("aigerim").await;
    // Measured as stored: the saved form a document goes whole in.
    let big = case_of_size(&a.store, &mut s, 17 * 1024);
    let small = big_case(&a.store, &mut s, 1);
    let report = a.sync().await.unwrap();
    assert_eq!(report.refused.len(), 1, "{:?}", report.refused);
    assert_eq!(report.refused[0].status, DocStatus::TooLarge);
    assert!(server.service.storage().load_doc(&big).unwrap().is_none());
    assert!(server.service.storage().load_doc(&small).unwrap().is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_phone_adapts_to_a_server_with_smaller_limits() {
    // Few documents per request, and a small body.
    let server = TestServer::start_with(|c| {
        c.max_docs = 10;
        c.max_body_bytes = 64 * 1024;
    })
    .await;
    server.user("aigerim", Role::Specialist, &[DISTRICT]);
    server.user("gulnar", Role::Specialist, &[DISTRICT]);
    let a = server.phone("aigerim").await;
    let g = server.phone("gulnar").await;
    let mut s = sample(44);
    let ids: Vec<_> = (0..40).map(|_| big_case(&a.store, &mut s, 3)).collect();
    // The phone assumes the defaults (250 documents, 16 MiB): it learns
    // better from the server and finishes in one sync.
    let limits = Limits { max_rounds: 200, ..Limits::default() };
    let report = client::sync(a.store.clone(), &a.config, limits).await.unwrap();
    assert!(report.refused.is_empty(), "{:?}", report.refused);
    let report = client::sync(g.store.clone(), &g.config, limits).await.unwrap();
    assert!(report.refused.is_empty());
    assert_eq!(g.store.document_ids().unwrap().len(), ids.len());
    for id in &ids {
        assert_eq!(server.service.storage().load_doc(id).unwrap().unwrap().get_heads(), a.store.heads(id).unwrap());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_phone_fits_its_requests_to_a_small_body_limit() {
    let server = TestServer::start_with(|c| c.max_body_bytes = 24 * 1024).await;
    server.user("aigerim", Role::Specialist, &[DISTRICT]);
    server.user("gulnar", Role::Specialist, &[DISTRICT]);
    let a = server.phone("aigerim").await;
    let g = server.phone("gulnar").await;
    let mut s = sample(45);
    let ids: Vec<_> = (0..30).map(|_| big_case(&a.store, &mut s, 2)).collect();
    let limits = Limits { max_rounds: 300, ..Limits::default() };
    let report = client::sync(a.store.clone(), &a.config, limits).await.unwrap();
    assert!(report.refused.is_empty(), "{:?}", report.refused);
    client::sync(g.store.clone(), &g.config, Limits { max_body_bytes: 24 * 1024, ..limits }).await.unwrap();
    assert_eq!(g.store.document_ids().unwrap().len(), ids.len());
}
