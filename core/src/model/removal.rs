//! The removal workflow and the events that change a placement: a
//! specialist recommends removal from duties, the office decides by an
//! order, the placement ends with its reason, and placements recorded
//! wrongly are corrected. Each is an event, written once and kept.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::*;

/// An order of the guardianship body: its number and date.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OfficeOrder {
    /// The order's number as printed (`123-ж`).
    pub number: String,
    /// The order's date.
    pub date: NaiveDate,
}

impl OfficeOrder {
    /// Validates the order as of `today`.
    pub fn validate(&self, field: &str, today: NaiveDate) -> Result<()> {
        check_text(&self.number, &format!("{field}.number"), 64, true)?;
        not_in_future(self.date, today, &format!("{field}.date"))
    }
}

/// A specialist's recommendation that a representative be removed from
/// duties, on grounds other than a check's risk factor (a check with a risk
/// factor recommends removal by itself).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemovalRecommendation {
    /// The event id.
    pub id: EventId,
    /// The representative concerned.
    pub representative_id: RepresentativeId,
    /// The date of the recommendation.
    pub date: NaiveDate,
    /// Why removal is recommended (required).
    pub grounds: String,
    /// Who recommends it (user id of the specialist).
    pub recommended_by: String,
}

impl RemovalRecommendation {
    /// Validates the recommendation.
    pub fn validate(&self, today: NaiveDate) -> Result<()> {
        not_in_future(self.date, today, "removal_recommendation.date")?;
        check_text(&self.recommended_by, "removal_recommendation.recommended_by", 100, true)?;
        check_reason(&self.grounds, "removal_recommendation.grounds")
    }
}

/// The office's decision on a removal recommendation, by an order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemovalDecision {
    /// The event id.
    pub id: EventId,
    /// The representative concerned.
    pub representative_id: RepresentativeId,
    /// Removed or not.
    pub outcome: RemovalOutcome,
    /// The order that decided it; its date is the decision's date.
    pub order: OfficeOrder,
    /// Who recorded the decision (user id).
    pub decided_by: String,
    /// Notes.
    pub note: Option<String>,
}

impl RemovalDecision {
    /// Validates the decision.
    pub fn validate(&self, today: NaiveDate) -> Result<()> {
        self.order.validate("removal_decision.order", today)?;
        check_text(&self.decided_by, "removal_decision.decided_by", 100, true)?;
        if let Some(n) = &self.note {
            check_text(n, "removal_decision.note", 2000, false)?;
        }
        Ok(())
    }
}

/// The end of a placement, with its reason: an event in the child's case
/// (the placement's `end_date` and `end_reason` are set with it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlacementEnding {
    /// The event id.
    pub id: EventId,
    /// The child.
    pub child_id: ChildId,
    /// The placement ended.
    pub placement_id: PlacementId,
    /// The last day of the placement.
    pub end_date: NaiveDate,
    /// Why it ended.
    pub reason: PlacementEndReason,
    /// The office's order, where one decided it.
    pub order: Option<OfficeOrder>,
    /// Who recorded it (user id).
    pub recorded_by: String,
    /// Notes.
    pub note: Option<String>,
}

impl PlacementEnding {
    /// Validates the ending (the placement's own rules are checked by the
    /// store against the placement).
    pub fn validate(&self, today: NaiveDate) -> Result<()> {
        not_in_future(self.end_date, today, "placement_ending.end_date")?;
        if let Some(o) = &self.order {
            o.validate("placement_ending.order", today)?;
        }
        check_text(&self.recorded_by, "placement_ending.recorded_by", 100, true)?;
        if let Some(n) = &self.note {
            check_text(n, "placement_ending.note", 2000, false)?;
        }
        Ok(())
    }
}

/// The facts of a placement that a correction may set right.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlacementFacts {
    /// Start date.
    pub start_date: NaiveDate,
    /// The representative's relation to the child when kin.
    pub kin: Option<KinRelation>,
    /// Whether relatives were considered first.
    pub kin_considered: bool,
}

impl PlacementFacts {
    /// The facts as `p` records them.
    pub fn of(p: &Placement) -> Self {
        PlacementFacts { start_date: p.start_date, kin: p.kin, kin_considered: p.kin_considered }
    }
}

/// A placement recorded wrongly (a wrong kin relation or start date), set
/// right: an event in the child's case that keeps what was recorded before,
/// the reason and who corrected it. The placement reads the corrected facts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlacementCorrection {
    /// The event id.
    pub id: EventId,
    /// The child.
    pub child_id: ChildId,
    /// The placement corrected.
    pub placement_id: PlacementId,
    /// The date of the correction.
    pub date: NaiveDate,
    /// The facts as they should read.
    pub corrected: PlacementFacts,
    /// The facts as they read before; set by the store (what an app passes
    /// here is replaced).
    pub previous: Option<PlacementFacts>,
    /// Why the record was wrong (required).
    pub reason: String,
    /// Who corrected it (user id).
    pub corrected_by: String,
}

impl PlacementCorrection {
    /// Validates the correction (the corrected placement's own rules are
    /// checked by the store).
    pub fn validate(&self, today: NaiveDate) -> Result<()> {
        not_in_future(self.date, today, "placement_correction.date")?;
        check_text(&self.corrected_by, "placement_correction.corrected_by", 100, true)?;
        check_reason(&self.reason, "placement_correction.reason")
    }
}

/// A required reason: a few words at least, at most 1,000 characters.
pub(crate) fn check_reason(reason: &str, field: &str) -> Result<()> {
    check_text(reason, field, 1000, true)?;
    if reason.trim().chars().count() < 5 {
        return Err(Error::invalid(field, "must say why, in a few words"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_order_needs_a_number_and_a_past_date() {
        let today: NaiveDate = "2026-12-01".parse().unwrap();
        let order = OfficeOrder { number: " ".into(), date: today };
        assert!(order.validate("o", today).unwrap_err().to_string().contains("o.number"));
        let order = OfficeOrder { number: "17-ж".into(), date: "2026-12-02".parse().unwrap() };
        assert!(order.validate("o", today).unwrap_err().to_string().contains("o.date"));
    }

    #[test]
    fn a_reason_says_why() {
        assert!(check_reason("ok", "r").is_err());
        assert!(check_reason("wrong person: namesake", "r").is_ok());
    }
}
