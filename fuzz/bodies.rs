//! The fuzz targets' bodies: each takes bytes from outside and panics only
//! on a bug. Shared by the `cargo fuzz` targets (fuzz_targets/) and the
//! test command's gate (tests/tests/fuzz_gate.rs), so both run the same
//! checks.

use automerge::transaction::Transactable;
use automerge::{ActorId, Automerge, ROOT};
use qamqor_core::docs::{self, DocId, DocKind, Projection};
use qamqor_core::sync::engine::{self, WritePolicy};
use qamqor_core::sync::wire::{self, Limits};
use qamqor_server::auth;
use qamqor_server::service::EnrollRequest;

/// A target's body.
pub type Body = fn(&[u8]);

/// Every target by name (the corpus folder's name), with its body.
pub const TARGETS: &[(&str, Body)] = &[
    ("sync_request", sync_request),
    ("sync_message", sync_message),
    ("enroll_json", enroll_json),
    ("stored_document", stored_document),
];

/// A sync request or response body, as the server and the phone decode it.
pub fn sync_request(data: &[u8]) {
    let limits = Limits::default();
    if let Ok(req) = wire::decode_request(data, &limits) {
        // Whatever decodes re-encodes and decodes to the same request.
        assert_eq!(wire::decode_request(&wire::encode(&req), &limits).ok(), Some(req));
    }
    let _ = wire::decode_response(data, &limits);
}

fn case_doc() -> Automerge {
    let mut doc = Automerge::new().with_actor(ActorId::from([1u8; 16]));
    let mut tx = doc.transaction();
    let _ = tx.put(ROOT, "kind", "case");
    if let Ok(visits) = tx.put_object(ROOT, "visits", automerge::ObjType::Map) {
        let _ = tx.put(&visits, "v1", "2026-11-20");
    }
    tx.commit();
    doc
}

fn policies() -> [WritePolicy; 3] {
    [WritePolicy::Any, WritePolicy::ReadOnly, WritePolicy::OnlyActor(ActorId::from([2u8; 16]))]
}

/// An Automerge sync message from a peer, through the sync engine: never a
/// panic, and a refused message leaves the document exactly as it was.
pub fn sync_message(data: &[u8]) {
    for policy in policies() {
        let mut doc = case_doc();
        let before = doc.get_heads();
        let mut state = automerge::sync::State::new();
        if engine::receive(&mut doc, &mut state, data, &policy).is_err() {
            assert_eq!(doc.get_heads(), before, "a refused message changed the document");
        } else {
            let _ = engine::generate(&doc, &mut state);
        }
    }
}

/// An enrollment request body and the code and actor in it, as the server
/// reads them before touching storage.
pub fn enroll_json(data: &[u8]) {
    if let Ok(req) = serde_json::from_slice::<EnrollRequest>(data) {
        if let Ok((id, secret)) = auth::split_code(&req.code) {
            assert_eq!((id.len(), secret.len()), (4, 12));
        }
        let _ = auth::valid_actor(&req.actor);
    }
}

const KEY: &str = "0123456789abcdef0123456789abcdef";

/// A stored document as the server loads it (from its database, or as a
/// whole document a phone sent): loading, merging it through the sync
/// engine under each write policy (a refusal leaves the document as it
/// was), projecting it for access control, reading its views and finding
/// its conflicts never panic.
pub fn stored_document(data: &[u8]) {
    for policy in policies() {
        for mut doc in [Automerge::new(), case_doc()] {
            let before = doc.get_heads();
            if engine::receive_whole(&mut doc, data, &policy).is_err() {
                assert_eq!(doc.get_heads(), before, "a refused whole document changed the document");
            }
        }
    }
    let Ok(doc) = Automerge::load(data) else { return };
    for kind in DocKind::ALL {
        let Ok(id) = DocId::parse(&format!("{}:{KEY}", kind.prefix())) else { continue };
        let p = Projection::of(&id, &doc);
        assert_eq!(p.kind, kind);
        let _ = docs::has_kind(&doc, &id);
        let _ = docs::conflicts::find(&doc, &id);
        match kind {
            DocKind::Case => drop(docs::CaseHead::read(&doc)),
            DocKind::Representative => drop(docs::read_view::<docs::RepresentativeDoc, _>(&doc)),
            DocKind::Mentor => drop(docs::read_view::<docs::MentorDoc, _>(&doc)),
            DocKind::Mentee => drop(docs::read_view::<docs::MenteeDoc, _>(&doc)),
            DocKind::MeetingLog => drop(docs::read_view::<docs::MeetingLogDoc, _>(&doc)),
        }
    }
}
