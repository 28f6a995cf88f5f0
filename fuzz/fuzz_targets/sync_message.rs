//! An Automerge sync message from a peer, through the sync engine: never a
//! panic, and a refused message leaves the document exactly as it was.
#![no_main]

use automerge::transaction::Transactable;
use automerge::{ActorId, Automerge, ROOT};
use libfuzzer_sys::fuzz_target;
use qamqor_core::sync::engine::{self, WritePolicy};

fn seed_doc() -> Automerge {
    let mut doc = Automerge::new().with_actor(ActorId::from([1u8; 16]));
    let mut tx = doc.transaction();
    tx.put(ROOT, "kind", "case").unwrap();
    let visits = tx.put_object(ROOT, "visits", automerge::ObjType::Map).unwrap();
    tx.put(&visits, "v1", "2026-11-20").unwrap();
    tx.commit();
    doc
}

fuzz_target!(|data: &[u8]| {
    for policy in [WritePolicy::Any, WritePolicy::ReadOnly, WritePolicy::OnlyActor(ActorId::from([2u8; 16]))] {
        let mut doc = seed_doc();
        let before = doc.get_heads();
        let mut state = automerge::sync::State::new();
        if engine::receive(&mut doc, &mut state, data, &policy).is_err() {
            assert_eq!(doc.get_heads(), before, "a refused message changed the document");
        } else {
            let _ = engine::generate(&doc, &mut state);
        }
    }
});
