//! The region's work list: annual checks overdue or due, and urgent items
//! (a risk factor raised, a removal awaiting the office's decision, signs
//! of neglect, a child awaiting a new placement), each with the specialists
//! who hold the file. Computed from the same stored facts as the figures;
//! documents of the adoption tier are listed only to those granted it.

use chrono::NaiveDate;
use qamqor_core::docs::{AccessTier, DocId, DocKind, Facts, Projection};
use qamqor_core::model::{CodeList, Kato, ScheduleState, schedule};
use serde::Serialize;

use crate::access;
use crate::error::Result;
use crate::model::Role;
use crate::service::Service;

/// What needs doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskKind {
    /// A risk factor raised and not cleared: ground for removal.
    RiskFactor,
    /// Removal recommended, awaiting the office's decision.
    RemovalRecommended,
    /// A child whose placement ended, awaiting a new one.
    ChildToPlace,
    /// Signs of neglect at the latest home visit (or another urgent item).
    Urgent,
    /// The annual check is overdue.
    CheckOverdue,
    /// The annual check falls due within 30 days.
    CheckDue,
    /// Likely the same person's file as another (`Task::other`): to be
    /// merged, or marked as two people, on a phone.
    LikelyDuplicate,
}

/// One item of the work list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Task {
    /// What needs doing.
    pub kind: TaskKind,
    /// The file.
    pub doc: DocId,
    /// Its district (КАТО).
    pub district: String,
    /// For checks, the date the check fell (or falls) due.
    pub due: Option<NaiveDate>,
    /// The specialists who hold the file (their districts or an assignment).
    pub holders: Vec<String>,
    /// For a likely duplicate, the other file.
    pub other: Option<DocId>,
}

/// The work list on `on`, as seen by a console user who `adoption` may or
/// may not see the adoption tier. Most urgent first, then by due date.
pub fn tasks(service: &Service, on: NaiveDate, adoption: bool) -> Result<Vec<Task>> {
    let storage = service.storage();
    let urgent: std::collections::HashSet<DocId> = storage.urgent_since(0)?.into_iter().map(|m| m.id).collect();
    let mut specialists = Vec::new();
    for u in storage.users()?.into_iter().filter(|u| u.role == Role::Specialist) {
        let grants = storage.grants(&u.id)?;
        specialists.push((u, grants));
    }
    let mut out = Vec::new();
    for (id, tier, facts) in storage.facts()? {
        if tier == AccessTier::Adoption && !adoption {
            continue;
        }
        let (kind, district, due) = match &facts {
            Facts::Rep(r) => {
                let removed = r.decisions.iter().any(|(d, removed)| *removed && *d <= on);
                if removed || r.since > on {
                    continue;
                }
                let upto = |v: &[NaiveDate]| v.iter().filter(|d| **d <= on).count();
                let last = r.checks.iter().filter(|d| **d <= on).max().copied();
                let s = schedule(r.since, last, on);
                let awaiting = r.recommended.iter().filter(|d| **d <= on).max().is_some_and(|latest| {
                    !r.decisions.iter().any(|(d, _)| d >= latest && *d <= on)
                        && !r.risks_cleared.iter().any(|d| d >= latest && *d <= on)
                });
                let kind = if upto(&r.risks_raised) > upto(&r.risks_cleared) {
                    TaskKind::RiskFactor
                } else if awaiting {
                    TaskKind::RemovalRecommended
                } else if urgent.contains(&id) {
                    TaskKind::Urgent
                } else {
                    match s.state {
                        ScheduleState::Overdue => TaskKind::CheckOverdue,
                        ScheduleState::Due => TaskKind::CheckDue,
                        _ => continue,
                    }
                };
                let due = matches!(s.state, ScheduleState::Overdue | ScheduleState::Due).then_some(s.due_date);
                (kind, r.district.clone(), due)
            }
            Facts::Case(c) if urgent.contains(&id) => {
                let placed = c.placements.iter().any(|p| p.start <= on && p.end.is_none_or(|e| e > on));
                let kind = if !placed && !c.placements.is_empty() { TaskKind::ChildToPlace } else { TaskKind::Urgent };
                (kind, c.district.clone(), None)
            }
            _ => continue,
        };
        let projection = Projection {
            region: Kato::parse(&district).ok().map(|k| k.region().code().to_owned()),
            district: Some(district.clone()),
            tier,
            ..Projection::empty(id.kind())
        };
        let holders = specialists
            .iter()
            .filter(|(u, g)| access::can_read_projection(u, g, &id.to_string(), &projection))
            .map(|(u, _)| u.id.clone())
            .collect();
        out.push(Task { kind, doc: id, district, due, holders, other: None });
    }
    out.extend(duplicates(service, &specialists, adoption)?);
    out.sort_by_key(|a| (a.kind, a.due, a.doc.to_string()));
    Ok(out)
}

/// Likely duplicates among the region's files, as work-list items held by
/// the specialists who may see both files (they merge or separate them on
/// a phone); pairs a person marked as two people are left out.
fn duplicates(
    service: &Service,
    specialists: &[(crate::model::User, access::Grants)],
    adoption: bool,
) -> Result<Vec<Task>> {
    let storage = service.storage();
    let mut out = Vec::new();
    for (x, y, _) in storage.likely_duplicates()? {
        let (Some(mx), Some(my)) = (storage.doc_meta(&x)?, storage.doc_meta(&y)?) else { continue };
        if !adoption && (mx.projection.tier == AccessTier::Adoption || my.projection.tier == AccessTier::Adoption) {
            continue;
        }
        let Some(doc) = storage.load_doc(&x)? else { continue };
        if qamqor_core::docs::merge::distinct(&doc).contains(&y) {
            continue;
        }
        let Some(other) = storage.load_doc(&y)? else { continue };
        if qamqor_core::docs::merge::distinct(&other).contains(&x) {
            continue;
        }
        let holders = specialists
            .iter()
            .filter(|(u, g)| {
                access::can_read_projection(u, g, &x.to_string(), &mx.projection)
                    && access::can_read_projection(u, g, &y.to_string(), &my.projection)
            })
            .map(|(u, _)| u.id.clone())
            .collect();
        let district = mx.projection.district.clone().unwrap_or_default();
        out.push(Task { kind: TaskKind::LikelyDuplicate, doc: x, district, due: None, holders, other: Some(y) });
    }
    Ok(out)
}

/// Whether a document is a person's file the console may show (a child's
/// case or a representative's file).
pub fn is_file(id: &DocId) -> bool {
    matches!(id.kind(), DocKind::Case | DocKind::Representative)
}
