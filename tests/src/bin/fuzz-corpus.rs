//! Writes the seed corpus of the fuzz targets (`fuzz/corpus/<target>/`):
//! real bodies and documents as phones and the server make them, for the
//! fuzzer to mutate. Run from the repository root:
//! `cargo run -p qamqor-tests --bin fuzz-corpus`.

#![allow(clippy::unwrap_used)]

use std::path::Path;

use automerge::Automerge;
use qamqor_core::model::*;
use qamqor_core::store::{Store, StoreOptions};
use qamqor_core::sync::engine;
use qamqor_core::sync::session::Session;
use qamqor_core::sync::wire::{self, DocMessage, DocResult, DocStatus, Limits, SyncRequest, SyncResponse};
use qamqor_tests::{sample, today};

fn write(target: &str, name: &str, bytes: &[u8]) {
    let dir = Path::new("fuzz/corpus").join(target);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(name), bytes).unwrap();
}

fn main() {
    let tmp = tempfile::tempdir().unwrap();
    let mut options = StoreOptions::new("aigerim");
    options.today = Some(today());
    let store = Store::open(tmp.path().join("p.db"), &[1; 32], options).unwrap();
    let mut s = sample(7);
    let child = s.child();
    let start = child.birth_date.max(today() - chrono::Duration::days(700));
    let rep = s.representative(start);
    store.register_child(&child).unwrap();
    store.register_representative(&rep).unwrap();
    store.place_child(&s.placement(&child, &rep, start)).unwrap();
    store.record_visit(&s.visit(&child, today())).unwrap();
    store.record_check(&s.check(&rep.id, today(), Some(RiskFactor::CriminalProsecution))).unwrap();
    let mentor = s.mentor("mentor.aliya");
    store.register_mentor(&mentor).unwrap();

    // Stored documents of each kind.
    for id in store.document_ids().unwrap() {
        write("stored_document", id.kind().prefix(), &store.export_document(&id).unwrap());
    }
    // A real first request, and a response.
    let mut session = Session::new(Limits::default());
    let req = session.next_request(&store).unwrap().unwrap();
    write("sync_request", "first_request", &wire::encode(&req));
    write(
        "sync_request",
        "empty_request",
        &wire::encode(&SyncRequest { v: wire::PROTOCOL_VERSION, ..Default::default() }),
    );
    let resp = SyncResponse {
        v: wire::PROTOCOL_VERSION,
        cursor: 42,
        docs: req.docs.clone(),
        results: vec![DocResult { id: req.docs[0].id.clone(), status: DocStatus::Withdrawn, reason: "x".into() }],
        removed: vec![req.docs[0].id.clone()],
        more: true,
        remaining: Some(1_234),
        wipe: false,
        limits: Some(wire::Announced { max_docs: 10, max_body_bytes: 1 << 20, max_message_bytes: 1 << 16 }),
        renewal: Some(wire::Renewal { token: "ab".repeat(32), expires_at: 1_900_000_000 }),
    };
    write("sync_request", "response", &wire::encode(&resp));
    // Sync messages: a first message, and one carrying changes.
    let id = qamqor_core::docs::DocId::case(&child.id);
    let doc = Automerge::load(&store.export_document(&id).unwrap()).unwrap();
    let mut state = automerge::sync::State::new();
    let first = engine::generate(&doc, &mut state).unwrap();
    write("sync_message", "first", &first);
    let mut empty = Automerge::new();
    let mut other = automerge::sync::State::new();
    let ask = engine::generate(&empty, &mut other).unwrap();
    let _ = engine::receive(&mut empty, &mut other, &first, &engine::WritePolicy::Any);
    let mut st = automerge::sync::State::new();
    engine::receive(&mut doc.clone(), &mut st, &ask, &engine::WritePolicy::Any).unwrap();
    let with_changes = engine::generate(&doc, &mut st).unwrap();
    write("sync_message", "with_changes", &with_changes);
    write("sync_message", "push", &engine::push(&doc, &[]));
    let _ = DocMessage::sync(id.to_string(), with_changes);
    // Enrollment bodies.
    write(
        "enroll_json",
        "valid",
        br#"{"code":"ABCD-EFGH-JKMN-PQRS","actor":"00ff00ff00ff00ff00ff00ff00ff00ff","label":"Samsung A15"}"#,
    );
    write("enroll_json", "odd_actor", br#"{"code":"abcd efgh jkmn pqrs","actor":"abc","label":""}"#);
    println!("seed corpus written under fuzz/corpus/");
}
