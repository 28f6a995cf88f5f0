//! Home visits: the child's situation as seen in the family.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::*;

/// A home (monitoring) visit: an event, written once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HomeVisit {
    /// The event id, made on the device.
    pub id: EventId,
    /// The child visited.
    pub child_id: ChildId,
    /// The date of the visit.
    pub date: NaiveDate,
    /// The examiner (user id of the specialist).
    pub examiner: String,
    /// The ground of the visit.
    pub ground: VisitGround,
    /// The child's health.
    pub health: String,
    /// School attendance and progress.
    pub school: String,
    /// Nutrition.
    pub nutrition: String,
    /// Relations in the household.
    pub relations: String,
    /// The child's own opinion (to be taken into account from age 10).
    pub child_opinion: Option<String>,
    /// Signs of neglect or violence were seen: makes the visit urgent.
    pub neglect_signs: bool,
    /// Recommendations.
    pub recommendations: String,
    /// The next visit planned.
    pub next_visit: Option<NaiveDate>,
    /// The earlier visit record this one corrects.
    pub supersedes: Option<EventId>,
}

impl HomeVisit {
    /// Signs of neglect make a visit urgent.
    pub fn is_urgent(&self) -> bool {
        self.neglect_signs
    }

    /// Validates the visit for a child born `birth`.
    pub fn validate(&self, birth: NaiveDate, today: NaiveDate) -> Result<()> {
        not_in_future(self.date, today, "visit.date")?;
        if self.date < birth {
            return Err(Error::invalid("visit.date", "is before the child's birth"));
        }
        check_text(&self.examiner, "visit.examiner", 100, true)?;
        for (f, v) in [
            ("visit.health", &self.health),
            ("visit.school", &self.school),
            ("visit.nutrition", &self.nutrition),
            ("visit.relations", &self.relations),
            ("visit.recommendations", &self.recommendations),
        ] {
            check_text(v, f, 4000, false)?;
        }
        if let Some(o) = &self.child_opinion {
            check_text(o, "visit.child_opinion", 4000, false)?;
        } else if age_on(birth, self.date) >= 10 {
            return Err(Error::invalid("visit.child_opinion", "is required for a child aged 10 or older"));
        }
        if let Some(n) = self.next_visit
            && n <= self.date
        {
            return Err(Error::invalid("visit.next_visit", "must be after the visit"));
        }
        Ok(())
    }
}
