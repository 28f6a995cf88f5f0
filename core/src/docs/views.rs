//! Typed readouts of each kind of document, and the edits on them.

use std::collections::BTreeMap;

use automerge::transaction::Transactable;
use automerge::{ObjId, ROOT, ReadDoc};
use chrono::NaiveDate;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::{SCHEMA_VERSION, json};
use crate::error::{Error, Result};
use crate::model::*;

/// The access tier of a document. Adoption is secret by law: its records
/// are served only to users granted that tier.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccessTier {
    /// Ordinary casework.
    #[default]
    Standard,
    /// Adoption records.
    Adoption,
}

impl AccessTier {
    /// The stored code.
    pub fn code(self) -> &'static str {
        match self {
            AccessTier::Standard => "standard",
            AccessTier::Adoption => "adoption",
        }
    }

    /// Parses a stored code; `None` for anything else (callers deny).
    pub fn parse(code: &str) -> Option<Self> {
        [AccessTier::Standard, AccessTier::Adoption].into_iter().find(|t| t.code() == code)
    }
}

/// A child's case document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseDoc {
    /// The child's profile.
    pub child: Child,
    /// The access tier.
    #[serde(default)]
    pub tier: AccessTier,
    /// Placements by id.
    #[serde(default)]
    pub placements: BTreeMap<String, Placement>,
    /// Home visits by event id.
    #[serde(default)]
    pub visits: BTreeMap<String, HomeVisit>,
    /// Placement endings by event id.
    #[serde(default)]
    pub placement_endings: BTreeMap<String, PlacementEnding>,
    /// Placement corrections by event id.
    #[serde(default)]
    pub placement_corrections: BTreeMap<String, PlacementCorrection>,
}

impl CaseDoc {
    /// Placements not yet ended, oldest first.
    pub fn open_placements(&self) -> Vec<&Placement> {
        open_placements(&self.placements)
    }

    /// The current placement: the open one (the latest if a conflict left
    /// two open, until a person resolves it).
    pub fn current_placement(&self) -> Option<&Placement> {
        self.open_placements().last().copied()
    }

    /// Visits not superseded by a correction, newest first.
    pub fn current_visits(&self) -> Vec<&HomeVisit> {
        current_events(&self.visits)
    }

    /// Placement endings, oldest first.
    pub fn endings(&self) -> Vec<&PlacementEnding> {
        let mut v: Vec<_> = self.placement_endings.values().collect();
        v.sort_by(|a, b| a.end_date.cmp(&b.end_date).then_with(|| a.id.cmp(&b.id)));
        v
    }

    /// Placement corrections, oldest first.
    pub fn corrections(&self) -> Vec<&PlacementCorrection> {
        let mut v: Vec<_> = self.placement_corrections.values().collect();
        v.sort_by(|a, b| a.date.cmp(&b.date).then_with(|| a.id.cmp(&b.id)));
        v
    }
}

/// The head of a child's case: everything but the visits, which grow for
/// years. Actions and list screens read this rather than the whole case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseHead {
    /// The child's profile.
    pub child: Child,
    /// The access tier.
    #[serde(default)]
    pub tier: AccessTier,
    /// Placements by id.
    #[serde(default)]
    pub placements: BTreeMap<String, Placement>,
}

impl CaseHead {
    /// Reads the head of a case document.
    pub fn read<R: ReadDoc>(doc: &R) -> Result<Self> {
        read_view_keys(doc, &["schema", "child", "tier", "placements"])
    }

    /// Placements not yet ended, oldest first.
    pub fn open_placements(&self) -> Vec<&Placement> {
        open_placements(&self.placements)
    }

    /// The current placement (the latest open one).
    pub fn current_placement(&self) -> Option<&Placement> {
        self.open_placements().last().copied()
    }

    /// Since when the child waits to be placed anew: the child has been
    /// placed, every placement has ended, and the last ended for a reason
    /// that leaves the child without care (not coming of age, adoption or
    /// return to the parents).
    pub fn awaiting_placement_since(&self) -> Option<NaiveDate> {
        if !self.open_placements().is_empty() {
            return None;
        }
        let last = self.placements.values().max_by(|a, b| a.end_date.cmp(&b.end_date).then(a.id.cmp(&b.id)))?;
        match last.end_reason {
            Some(
                PlacementEndReason::CameOfAge | PlacementEndReason::Adopted | PlacementEndReason::ReturnedToParents,
            ) => None,
            _ => last.end_date,
        }
    }
}

fn open_placements(placements: &BTreeMap<String, Placement>) -> Vec<&Placement> {
    let mut v: Vec<_> = placements.values().filter(|p| p.is_open()).collect();
    v.sort_by_key(|p| p.start_date);
    v
}

/// What the list screens need of a visit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VisitStub {
    /// The event id.
    pub id: String,
    /// The date.
    pub date: NaiveDate,
    /// Signs of neglect were seen.
    pub neglect_signs: bool,
}

/// The latest visit not superseded by a correction, reading only the three
/// fields of each visit that decide it.
pub fn latest_visit<R: ReadDoc>(doc: &R) -> Result<Option<VisitStub>> {
    let Some(visits) = json::find_map(doc, &ROOT, "visits")? else { return Ok(None) };
    let mut stubs = Vec::new();
    let mut superseded = std::collections::HashSet::new();
    let maps: Vec<(String, ObjId)> = doc
        .map_range(&visits, ..)
        .filter(|item| matches!(item.value, automerge::ValueRef::Object(automerge::ObjType::Map)))
        .map(|item| (item.key.to_string(), item.id()))
        .collect();
    for (id, v) in maps {
        let f = json::read_keys(doc, &v, &["date", "supersedes", "neglect_signs"])?;
        if let Some(s) = f.get("supersedes").and_then(|s| s.as_str()) {
            superseded.insert(s.to_owned());
        }
        let date = f.get("date").and_then(|d| d.as_str()).and_then(|d| d.parse().ok());
        if let Some(date) = date {
            stubs.push(VisitStub {
                id,
                date,
                neglect_signs: f.get("neglect_signs").and_then(|n| n.as_bool()).unwrap_or(false),
            });
        }
    }
    Ok(stubs
        .into_iter()
        .filter(|s| !superseded.contains(&s.id))
        .max_by(|a, b| a.date.cmp(&b.date).then_with(|| a.id.cmp(&b.id))))
}

/// A legal representative's file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RepresentativeDoc {
    /// The profile.
    pub representative: Representative,
    /// Whether the representative may act.
    pub status: RepresentativeStatus,
    /// Risk flags and removal recommendation.
    #[serde(default)]
    pub risk: RiskState,
    /// Children in this representative's care, with the kin relation where kin.
    #[serde(default)]
    pub relations: BTreeMap<String, Option<KinRelation>>,
    /// Flags cleared by a person, by event id (kept with the flags).
    #[serde(default)]
    pub risk_clearances: BTreeMap<String, RiskClearance>,
    /// Annual checks by event id.
    #[serde(default)]
    pub checks: BTreeMap<String, AnnualCheck>,
    /// Risk reports by event id.
    #[serde(default)]
    pub risk_reports: BTreeMap<String, RiskReport>,
    /// Specialists' removal recommendations by event id.
    #[serde(default)]
    pub removal_recommendations: BTreeMap<String, RemovalRecommendation>,
    /// The office's removal decisions by event id.
    #[serde(default)]
    pub removal_decisions: BTreeMap<String, RemovalDecision>,
}

impl RepresentativeDoc {
    /// Checks not superseded by a correction, newest first.
    pub fn current_checks(&self) -> Vec<&AnnualCheck> {
        current_events(&self.checks)
    }

    /// The date of the last completed check.
    pub fn last_check(&self) -> Option<NaiveDate> {
        self.current_checks().first().map(|c| c.date)
    }

    /// The annual check schedule as of `as_of`.
    pub fn schedule(&self, as_of: NaiveDate) -> CheckSchedule {
        schedule(self.representative.since, self.last_check(), as_of)
    }

    /// The removal workflow in order: recommendations, clearances and
    /// decisions, oldest first.
    pub fn removal_history(&self) -> Vec<RemovalStep> {
        let mut v: Vec<RemovalStep> = self
            .removal_recommendations
            .values()
            .cloned()
            .map(RemovalStep::Recommended)
            .chain(self.risk_clearances.values().cloned().map(RemovalStep::Cleared))
            .chain(self.removal_decisions.values().cloned().map(RemovalStep::Decided))
            .collect();
        v.sort_by_key(RemovalStep::date);
        v
    }

    /// The date of the office's order that removed the representative, while
    /// removed (the latest such order).
    pub fn removed_on(&self) -> Option<NaiveDate> {
        if self.status != RepresentativeStatus::Removed {
            return None;
        }
        self.removal_decisions.values().filter(|d| d.outcome == RemovalOutcome::Removed).map(|d| d.order.date).max()
    }

    /// Urgent: a risk factor or removal recommendation not yet acted on.
    pub fn is_urgent(&self) -> bool {
        self.status != RepresentativeStatus::Removed && self.risk.is_urgent()
    }

    /// The access tier: adoptive parents' files are adoption records.
    pub fn tier(&self) -> AccessTier {
        if self.representative.role == RepresentativeRole::AdoptiveParent {
            AccessTier::Adoption
        } else {
            AccessTier::Standard
        }
    }
}

/// One step of a representative's removal workflow.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "step")]
pub enum RemovalStep {
    /// A specialist recommended removal.
    Recommended(RemovalRecommendation),
    /// A flag or the recommendation was cleared as recorded in error.
    Cleared(RiskClearance),
    /// The office decided.
    Decided(RemovalDecision),
}

impl RemovalStep {
    /// The step's date (a decision's is its order's).
    pub fn date(&self) -> NaiveDate {
        match self {
            RemovalStep::Recommended(r) => r.date,
            RemovalStep::Cleared(c) => c.date,
            RemovalStep::Decided(d) => d.order.date,
        }
    }
}

/// A mentor's profile and certificates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MentorDoc {
    /// The profile.
    pub mentor: Mentor,
    /// Certificates by number.
    #[serde(default)]
    pub certificates: BTreeMap<String, MentorCertificate>,
}

impl MentorDoc {
    /// The certificate valid on `on`, if any (the one valid longest).
    pub fn valid_certificate(&self, on: NaiveDate) -> Option<&MentorCertificate> {
        self.certificates.values().filter(|c| c.is_valid_on(on)).max_by_key(|c| c.valid_until)
    }
}

/// A mentor's view of one mentee.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MenteeDoc {
    /// The mentorship.
    pub mentorship: Mentorship,
    /// What the mentor may know of the child.
    pub mentee: MenteeProfile,
}

/// A mentor's meeting log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MeetingLogDoc {
    /// The mentor.
    pub mentor_id: MentorId,
    /// The mentor's district (КАТО), for access control.
    #[serde(default)]
    pub district: Option<Kato>,
    /// Meetings by event id.
    #[serde(default)]
    pub meetings: BTreeMap<String, Meeting>,
}

impl MeetingLogDoc {
    /// Meetings not superseded, newest first.
    pub fn current_meetings(&self) -> Vec<&Meeting> {
        current_events(&self.meetings)
    }
}

/// Events not superseded by a correction, newest first.
pub fn current_events<E: Event>(events: &BTreeMap<String, E>) -> Vec<&E> {
    let superseded: std::collections::HashSet<&EventId> = events.values().filter_map(Event::supersedes).collect();
    let mut v: Vec<&E> = events.values().filter(|e| !superseded.contains(e.id())).collect();
    v.sort_by(|a, b| b.date().cmp(&a.date()).then_with(|| b.id().cmp(a.id())));
    v
}

/// Reads a whole document into its typed view. A document this version
/// cannot understand is [`Error::UpdateRequired`] when a newer schema wrote
/// it, [`Error::Corrupt`] otherwise.
pub fn read_view<T: DeserializeOwned, R: ReadDoc>(doc: &R) -> Result<T> {
    let value = json::read(doc, &ROOT)?;
    let newer = value.get("schema").and_then(serde_json::Value::as_u64).is_some_and(|s| s > SCHEMA_VERSION);
    serde_json::from_value(value)
        .map_err(|e| if newer { Error::UpdateRequired } else { Error::Corrupt(crate::error::redact(&e.to_string())) })
}

/// Reads only `keys` of the root into a typed view (see [`read_view`]).
pub fn read_view_keys<T: DeserializeOwned, R: ReadDoc>(doc: &R, keys: &[&str]) -> Result<T> {
    let value = json::read_keys(doc, &ROOT, keys)?;
    let newer = value.get("schema").and_then(serde_json::Value::as_u64).is_some_and(|s| s > SCHEMA_VERSION);
    serde_json::from_value(value)
        .map_err(|e| if newer { Error::UpdateRequired } else { Error::Corrupt(crate::error::redact(&e.to_string())) })
}

/// Writes a write-once event into the map `container`. Recording the same
/// event again is a no-op; a different event under the same id is refused.
pub fn put_event<T: Transactable + ReadDoc, E: Serialize>(
    tx: &mut T,
    container: &str,
    id: &EventId,
    event: &E,
) -> Result<()> {
    let obj = json::map_at(tx, &ROOT, container)?;
    let value = serde_json::to_value(event).map_err(|e| Error::Corrupt(e.to_string()))?;
    if let Some(existing) = json::find_map(tx, &obj, id.as_str())? {
        return if json::read(tx, &existing)? == value {
            Ok(())
        } else {
            Err(Error::Rule(
                "an event is written once: this id is already recorded; record a correction that supersedes it".into(),
            ))
        };
    }
    json::write(tx, &obj, id.as_str(), &value)
}

/// Raises risk flags on a representative's file, with the removal
/// recommendation a risk factor carries (written with the check or report
/// that found them).
pub fn raise_risks<T: Transactable + ReadDoc>(tx: &mut T, factors: &[RiskFactor]) -> Result<()> {
    if factors.is_empty() {
        return Ok(());
    }
    let risk = json::map_at(tx, &ROOT, "risk")?;
    let flags = json::map_at(tx, &risk, "flags")?;
    for f in factors {
        json::put(tx, &flags, f.code(), &true)?;
    }
    json::put(tx, &risk, "removal_recommended", &true)
}

/// Whether the event `id` exists in the map `container`.
pub fn has_event<R: ReadDoc>(doc: &R, container: &str, id: &EventId) -> Result<bool> {
    Ok(match json::find_map(doc, &ROOT, container)? {
        Some(obj) => doc.get(&obj, id.as_str())?.is_some(),
        None => false,
    })
}

/// The object at a `/`-separated path of map keys, if every step exists.
pub fn object_at<R: ReadDoc>(doc: &R, path: &[&str]) -> Result<Option<ObjId>> {
    let mut cur = ROOT;
    for step in path {
        match json::find_map(doc, &cur, step)? {
            Some(next) => cur = next,
            None => return Ok(None),
        }
    }
    Ok(Some(cur))
}
