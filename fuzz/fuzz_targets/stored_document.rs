//! A stored document as the server loads it (from its database, or as a
//! whole document a phone sent): loading, merging it through the sync
//! engine under each write policy (a refusal leaves the document as it
//! was), projecting it for access control, reading its views and finding
//! its conflicts never panic.
#![no_main]

use automerge::Automerge;
use libfuzzer_sys::fuzz_target;
use qamqor_core::docs::{self, DocId, DocKind, Projection};
use qamqor_core::sync::engine::{self, WritePolicy};

fn seed_doc() -> Automerge {
    use automerge::transaction::Transactable;
    let mut doc = Automerge::new().with_actor(automerge::ActorId::from([1u8; 16]));
    let mut tx = doc.transaction();
    let _ = tx.put(automerge::ROOT, "kind", "case");
    tx.commit();
    doc
}

const KEY: &str = "0123456789abcdef0123456789abcdef";

fuzz_target!(|data: &[u8]| {
    let actor = automerge::ActorId::from([2u8; 16]);
    for policy in [WritePolicy::Any, WritePolicy::ReadOnly, WritePolicy::OnlyActor(actor)] {
        for mut doc in [Automerge::new(), seed_doc()] {
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
});
