//! The facts of a document that the region's figures count: dates, codes
//! and counts, never a name, an IIN or free text. The server keeps them
//! beside each document, written in the transaction that stores a change,
//! so figures are computed from them without opening documents.

use automerge::ReadDoc;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::{CaseDoc, DocId, DocKind, MeetingLogDoc, MenteeDoc, MentorDoc, RepresentativeDoc, read_view};
use super::{read_view_keys, views::current_events};
use crate::error::Result;
use crate::model::*;

/// The version of [`Facts::of`]; stored facts of another version are
/// recomputed.
pub const FACTS_VERSION: u32 = 2;

/// What the figures need of one document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Facts {
    /// A child's case.
    Case(CaseFacts),
    /// A representative's file.
    Rep(RepFacts),
    /// A mentor's profile.
    Mentor(MentorFacts),
    /// A mentorship (the mentor's view of a child).
    Mentee(MenteeFacts),
    /// A mentor's meeting log.
    Mlog(MeetingFacts),
}

/// A placement, as counted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlacementFact {
    /// The form as decided.
    pub form: PlacementForm,
    /// Placed with kin.
    pub kin: bool,
    /// The representative, for caseloads.
    pub representative: Option<String>,
    /// Start.
    pub start: NaiveDate,
    /// End, when ended.
    pub end: Option<NaiveDate>,
}

/// A child's case, as counted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseFacts {
    /// District (КАТО).
    pub district: String,
    /// Birth date (for the form in force: guardianship becomes trusteeship at 14).
    pub birth: NaiveDate,
    /// Every placement.
    pub placements: Vec<PlacementFact>,
    /// Dates of the home visits not superseded.
    pub visits: Vec<NaiveDate>,
}

/// A representative's file, as counted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RepFacts {
    /// District (КАТО).
    pub district: String,
    /// Start of duties.
    pub since: NaiveDate,
    /// Adoptive parent (adoption tier).
    pub adoptive: bool,
    /// Dates of the checks not superseded.
    pub checks: Vec<NaiveDate>,
    /// Dates a risk factor was raised (checks with factors, reports).
    pub risks_raised: Vec<NaiveDate>,
    /// Dates a flag was cleared as recorded in error.
    pub risks_cleared: Vec<NaiveDate>,
    /// Dates removal was recommended (checks with factors, recommendations).
    pub recommended: Vec<NaiveDate>,
    /// Office decisions: the order's date and whether removed.
    pub decisions: Vec<(NaiveDate, bool)>,
    /// A risk factor is raised now.
    pub at_risk: bool,
    /// Removed from duties now.
    pub removed: bool,
}

/// A mentor, as counted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MentorFacts {
    /// District (КАТО).
    pub district: String,
    /// Certificates: issued, valid until.
    pub certificates: Vec<(NaiveDate, NaiveDate)>,
}

/// A mentorship, as counted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MenteeFacts {
    /// District (КАТО).
    pub district: String,
    /// Start.
    pub start: NaiveDate,
    /// End, when ended.
    pub end: Option<NaiveDate>,
}

/// A meeting log, as counted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MeetingFacts {
    /// District (КАТО), when known.
    pub district: Option<String>,
    /// Dates of the meetings not superseded.
    pub meetings: Vec<NaiveDate>,
}

impl Facts {
    /// The facts of `doc`, or `None` when this version cannot read it (it
    /// is then counted nowhere).
    pub fn of<R: ReadDoc>(id: &DocId, doc: &R) -> Option<Facts> {
        // A file merged into another is counted there.
        if super::merge::merged_into(doc).is_some() {
            return None;
        }
        Self::read(id, doc).ok()
    }

    fn read<R: ReadDoc>(id: &DocId, doc: &R) -> Result<Facts> {
        Ok(match id.kind() {
            DocKind::Case => {
                let head: CaseDoc = read_view(doc)?;
                let visits = head.current_visits().iter().map(|v| v.date).collect();
                let mut placements: Vec<PlacementFact> = head
                    .placements
                    .values()
                    .map(|p| PlacementFact {
                        form: p.form,
                        kin: p.kin.is_some(),
                        representative: p.representative_id.as_ref().map(|r| r.to_string()),
                        start: p.start_date,
                        end: p.end_date,
                    })
                    .collect();
                placements.sort_by_key(|p| p.start);
                Facts::Case(CaseFacts {
                    district: head.child.district.to_string(),
                    birth: head.child.birth_date,
                    placements,
                    visits,
                })
            }
            DocKind::Representative => {
                let r: RepresentativeDoc = read_view(doc)?;
                let checks = r.current_checks();
                let urgent_checks: Vec<NaiveDate> = checks.iter().filter(|c| c.is_urgent()).map(|c| c.date).collect();
                let reports: Vec<NaiveDate> = current_events(&r.risk_reports).iter().map(|x| x.date).collect();
                Facts::Rep(RepFacts {
                    district: r.representative.district.to_string(),
                    since: r.representative.since,
                    adoptive: r.tier() == super::AccessTier::Adoption,
                    checks: checks.iter().map(|c| c.date).collect(),
                    risks_raised: urgent_checks.iter().chain(&reports).copied().collect(),
                    risks_cleared: r.risk_clearances.values().map(|c| c.date).collect(),
                    recommended: urgent_checks
                        .iter()
                        .copied()
                        .chain(r.removal_recommendations.values().map(|x| x.date))
                        .collect(),
                    decisions: r
                        .removal_decisions
                        .values()
                        .map(|d| (d.order.date, d.outcome == RemovalOutcome::Removed))
                        .collect(),
                    at_risk: !r.risk.raised().is_empty(),
                    removed: r.status == RepresentativeStatus::Removed,
                })
            }
            DocKind::Mentor => {
                let m: MentorDoc = read_view(doc)?;
                Facts::Mentor(MentorFacts {
                    district: m.mentor.district.to_string(),
                    certificates: m.certificates.values().map(|c| (c.issued_on, c.valid_until)).collect(),
                })
            }
            DocKind::Mentee => {
                let m: MenteeDoc = read_view_keys(doc, &["mentee", "mentorship"])?;
                Facts::Mentee(MenteeFacts {
                    district: m.mentee.district.to_string(),
                    start: m.mentorship.start_date,
                    end: m.mentorship.end_date,
                })
            }
            DocKind::MeetingLog => {
                let m: MeetingLogDoc = read_view(doc)?;
                Facts::Mlog(MeetingFacts {
                    district: m.district.as_ref().map(|d| d.to_string()),
                    meetings: m.current_meetings().iter().map(|x| x.date).collect(),
                })
            }
        })
    }
}
