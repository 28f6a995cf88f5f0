//! Access metadata derived from a document's content, with the core's own
//! document views: the server reads the same documents the phones write.

use automerge::Automerge;
use qamqor_core::docs::{self, DocId, DocKind, MeetingLogDoc, MenteeDoc, MentorDoc, RepresentativeDoc};
use qamqor_core::model::CodeList;

use crate::model::DocMeta;

/// Derives the metadata of `doc`. A document without readable content (or
/// one a newer version wrote that this server cannot read) has no region,
/// and so no specialist or administrator rule admits it.
pub fn derive(id: &DocId, doc: &Automerge) -> DocMeta {
    let mut m = DocMeta {
        doc_id: id.to_string(),
        kind: id.kind().prefix().into(),
        tier: "standard".into(),
        ..DocMeta::default()
    };
    match id.kind() {
        DocKind::Case => {
            if let Ok(c) = docs::CaseHead::read(doc) {
                m.region = Some(c.child.region.code().into());
                m.district = Some(c.child.district.to_string());
                m.tier = c.tier.code().into();
                m.urgent = docs::latest_visit(doc).ok().flatten().is_some_and(|v| v.neglect_signs);
            }
        }
        DocKind::Representative => {
            if let Ok(r) = docs::read_view::<RepresentativeDoc, _>(doc) {
                m.region = Some(r.representative.region.code().into());
                m.district = Some(r.representative.district.to_string());
                m.tier = r.tier().code().into();
                m.urgent = r.is_urgent();
            }
        }
        DocKind::Mentor => {
            if let Ok(x) = docs::read_view::<MentorDoc, _>(doc) {
                m.region = Some(x.mentor.region.code().into());
                m.district = Some(x.mentor.district.to_string());
                m.mentor_id = Some(x.mentor.id.to_string());
                m.owner_user = Some(x.mentor.user_id.clone());
            }
        }
        DocKind::Mentee => {
            if let Ok(x) = docs::read_view::<MenteeDoc, _>(doc) {
                m.region = Some(x.mentee.district.region().code().into());
                m.district = Some(x.mentee.district.to_string());
                m.mentor_id = Some(x.mentorship.mentor_id.to_string());
            }
        }
        DocKind::MeetingLog => {
            if let Ok(x) = docs::read_view::<MeetingLogDoc, _>(doc) {
                m.mentor_id = Some(x.mentor_id.to_string());
                m.region = x.district.as_ref().map(|d| d.region().code().into());
                m.district = x.district.map(|d| d.to_string());
            }
        }
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;
    use qamqor_core::model::Kato;
    use qamqor_core::sample::Sample;
    use qamqor_core::store::{Store, StoreOptions};

    #[test]
    fn every_kind_gets_region_and_district() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path().join("p.db"), &[1; 32], StoreOptions::new("u")).unwrap();
        let mut s = Sample::new(1, chrono::Local::now().date_naive(), Kato::parse("751710000").unwrap());
        let mentor = s.mentor("m");
        store.register_mentor(&mentor).unwrap();
        for id in store.document_ids().unwrap() {
            let doc = Automerge::load(&store.export_document(&id).unwrap()).unwrap();
            let m = derive(&id, &doc);
            assert_eq!(m.region.as_deref(), Some("75"), "{id}: {m:?}");
            assert_eq!(m.mentor_id.as_deref(), Some(mentor.id.as_str()));
        }
    }
}
