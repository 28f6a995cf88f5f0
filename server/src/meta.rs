//! Access metadata derived from a document's content, with the core's own
//! document views: the server reads the same documents the phones write.

use automerge::Automerge;
use qamqor_core::docs::{
    self, CaseDoc, DocId, DocKind, MeetingLogDoc, MenteeDoc, MentorDoc, RepresentativeDoc,
};
use qamqor_core::model::CodeList;

use crate::model::DocMeta;

/// Derives the metadata of `doc`. A document without content yet (or one a
/// newer version wrote that this server cannot read) has no region, and
/// only administrators of any region... no one but its creator's role may
/// then see it; see [`crate::access`].
pub fn derive(id: &DocId, doc: &Automerge) -> DocMeta {
    let mut m = DocMeta {
        doc_id: id.to_string(),
        kind: id.kind().prefix().into(),
        tier: "standard".into(),
        ..DocMeta::default()
    };
    match id.kind() {
        DocKind::Case => {
            if let Ok(c) = docs::read_view::<CaseDoc, _>(doc) {
                m.region = Some(c.child.region.code().into());
                m.district = Some(c.child.district.to_string());
                m.tier = c.tier.code().into();
                m.urgent = c.is_urgent();
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
            }
        }
    }
    m
}
