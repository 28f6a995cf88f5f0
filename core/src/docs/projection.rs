//! The projection of a document: the few facts read from its content that
//! decide who may see it and how soon (kind, region, district, tier, the
//! mentor concerned, urgency). Phone and server compute it with this one
//! function; both store it in derived tables tagged with
//! [`PROJECTION_VERSION`], so a change of a rule here rebuilds them.

use automerge::ReadDoc;
use serde::{Deserialize, Serialize};

use super::{
    AccessTier, CaseHead, DocId, DocKind, MenteeDoc, MentorDoc, RepresentativeDoc, VisitStub, latest_visit,
    read_view_keys,
};
use crate::model::{CodeList, Kato};

/// The version of the rules in [`Projection::of`] (and of the phone's query
/// tables; 2: Latin search forms of names; 3: an ended mentorship leaves
/// its mentor; 4: a child awaiting a new placement is urgent; 5: a file
/// merged into another is never urgent, and the duplicates review). Raise it
/// whenever what is derived from a document changes:
/// phones rebuild their query tables on open and servers their document
/// metadata on start.
pub const PROJECTION_VERSION: u32 = 5;

/// What access control and ordering need to know of a document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Projection {
    /// The kind.
    pub kind: DocKind,
    /// Region code (`75`); `None` when the content is not readable, so that
    /// no region-based rule admits the document.
    pub region: Option<String>,
    /// District (КАТО code).
    pub district: Option<String>,
    /// Access tier.
    pub tier: AccessTier,
    /// The mentor concerned (mentor, mentee and meeting-log documents).
    pub mentor_id: Option<String>,
    /// The mentor's user id (mentor documents).
    pub owner_user: Option<String>,
    /// Holds an urgent item: a risk factor, a removal recommendation, signs
    /// of neglect at the latest visit, or a child awaiting a new placement.
    pub urgent: bool,
}

impl Projection {
    /// An empty projection of a kind: nothing readable, standard tier.
    pub fn empty(kind: DocKind) -> Self {
        Projection {
            kind,
            region: None,
            district: None,
            tier: AccessTier::Standard,
            mentor_id: None,
            owner_user: None,
            urgent: false,
        }
    }

    /// Projects `doc`. A document whose content this version cannot read
    /// gets no region, so that no region-based rule admits it.
    pub fn of<R: ReadDoc>(id: &DocId, doc: &R) -> Self {
        Self::read(id, doc).unwrap_or_else(|_| Projection::empty(id.kind()))
    }

    /// Projects `doc`, or says which field could not be read (the error
    /// names the field, never its value).
    pub fn read<R: ReadDoc>(id: &DocId, doc: &R) -> crate::Result<Self> {
        if matches!(id.kind(), DocKind::Case | DocKind::Representative) && super::merge::merged_into(doc).is_some() {
            // Merged into another file: seen by the same people, urgent never.
            let mut p = Self::read_live(id, doc)?;
            p.urgent = false;
            return Ok(p);
        }
        Self::read_live(id, doc)
    }

    fn read_live<R: ReadDoc>(id: &DocId, doc: &R) -> crate::Result<Self> {
        let mut p = Projection::empty(id.kind());
        let place = |p: &mut Projection, district: &Kato| {
            p.region = Some(district.region().code().to_owned());
            p.district = Some(district.to_string());
        };
        match id.kind() {
            DocKind::Case => {
                let c = CaseHead::read(doc)?;
                return Ok(Self::of_case(&c, latest_visit(doc).ok().flatten().as_ref()));
            }
            DocKind::Representative => {
                return Ok(Self::of_representative(&super::read_view::<RepresentativeDoc, _>(doc)?));
            }
            DocKind::Mentor => {
                let x = read_view_keys::<MentorDoc, _>(doc, &["mentor"])?;
                place(&mut p, &x.mentor.district);
                p.region = Some(x.mentor.region.code().to_owned());
                p.mentor_id = Some(x.mentor.id.to_string());
                p.owner_user = Some(x.mentor.user_id.clone());
            }
            DocKind::Mentee => {
                let x = read_view_keys::<MenteeDoc, _>(doc, &["mentee", "mentorship"])?;
                place(&mut p, &x.mentee.district);
                // An ended mentorship is no longer the mentor's to see.
                if x.mentorship.end_date.is_none() {
                    p.mentor_id = Some(x.mentorship.mentor_id.to_string());
                }
            }
            DocKind::MeetingLog => {
                let x = read_view_keys::<super::MeetingLogDoc, _>(doc, &["mentor_id", "district"])?;
                p.mentor_id = Some(x.mentor_id.to_string());
                if let Some(d) = &x.district {
                    place(&mut p, d);
                }
            }
        }
        Ok(p)
    }

    /// The projection of a case already read (its head and latest visit).
    pub fn of_case(c: &CaseHead, latest: Option<&VisitStub>) -> Self {
        Projection {
            kind: DocKind::Case,
            region: Some(c.child.region.code().to_owned()),
            district: Some(c.child.district.to_string()),
            tier: c.tier,
            mentor_id: None,
            owner_user: None,
            urgent: c.awaiting_placement_since().is_some() || latest.is_some_and(|v| v.neglect_signs),
        }
    }

    /// The projection of a representative's file already read.
    pub fn of_representative(r: &RepresentativeDoc) -> Self {
        Projection {
            kind: DocKind::Representative,
            region: Some(r.representative.region.code().to_owned()),
            district: Some(r.representative.district.to_string()),
            tier: r.tier(),
            mentor_id: None,
            owner_user: None,
            urgent: r.is_urgent(),
        }
    }

    /// Whether `other` differs in a field that decides who may see the
    /// document (region, district, tier, kind, mentor, owner).
    pub fn access_differs(&self, other: &Projection) -> bool {
        self.kind != other.kind
            || self.region != other.region
            || self.district != other.district
            || self.tier != other.tier
            || self.mentor_id != other.mentor_id
            || self.owner_user != other.owner_user
    }
}
