//! The annual comprehensive check of a legal representative.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::*;

/// A document presented as evidence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    /// The document's number.
    pub document_number: String,
    /// The date of issue.
    pub issued_on: NaiveDate,
    /// Who issued it.
    pub issuer: String,
    /// The last day it is valid, if it expires.
    pub valid_until: Option<NaiveDate>,
}

impl Evidence {
    /// Validates the evidence as of the check's date.
    pub fn validate(&self, field: &str, check_date: NaiveDate) -> Result<()> {
        check_text(&self.document_number, &format!("{field}.document_number"), 64, true)?;
        check_text(&self.issuer, &format!("{field}.issuer"), 200, true)?;
        not_in_future(self.issued_on, check_date, &format!("{field}.issued_on"))?;
        if let Some(v) = self.valid_until
            && v < self.issued_on
        {
            return Err(Error::invalid(format!("{field}.valid_until"), "is before the date of issue"));
        }
        Ok(())
    }
}

/// The largest monthly amount accepted, in tenge (a billion: far above any
/// household's income, far below where sums could overflow).
pub const MAX_MONTHLY_KZT: i64 = 1_000_000_000;

/// One source of household income.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IncomeSource {
    /// The kind of income.
    pub kind: IncomeSourceKind,
    /// Monthly amount in tenge.
    pub monthly_amount_kzt: i64,
}

/// Someone living in the representative's household.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HouseholdMember {
    /// Name.
    pub name: FullName,
    /// Relation to the representative.
    pub relation: HouseholdRelation,
    /// Birth date.
    pub birth_date: NaiveDate,
    /// IIN, where known.
    pub iin: Option<Iin>,
}

/// Part 1: confirmation of income sources.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IncomePart {
    /// The household's sources of income.
    pub sources: Vec<IncomeSource>,
    /// People living in the household, the child included.
    pub household_members: u32,
    /// Who they are, when listed (then as many as `household_members`).
    #[serde(default)]
    pub members: Vec<HouseholdMember>,
    /// The subsistence minimum per person in force, in tenge.
    pub subsistence_minimum_kzt: i64,
    /// The outcome.
    pub outcome: CheckOutcome,
    /// The supporting document.
    pub evidence: Option<Evidence>,
}

impl IncomePart {
    /// Monthly household income per member, in tenge.
    pub fn per_member_kzt(&self) -> i64 {
        // Saturating: a record from elsewhere may hold any numbers.
        let total: i64 = self.sources.iter().fold(0i64, |acc, s| acc.saturating_add(s.monthly_amount_kzt));
        total / i64::from(self.household_members.max(1))
    }

    /// Whether income per member reaches the subsistence minimum.
    pub fn meets_minimum(&self) -> bool {
        self.per_member_kzt() >= self.subsistence_minimum_kzt
    }
}

/// A part of the check that is one certificate and its outcome (health,
/// criminal record).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CertificatePart {
    /// The outcome.
    pub outcome: CheckOutcome,
    /// The certificate.
    pub evidence: Option<Evidence>,
}

/// Utilities present in the home.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Utilities {
    /// Heating.
    pub heating: bool,
    /// Running water.
    pub water: bool,
    /// Sewerage.
    pub sewerage: bool,
    /// Gas.
    pub gas: bool,
    /// Electricity.
    pub electricity: bool,
}

/// The child's own space in the home.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ChildSpace {
    /// Own bed.
    pub bed: bool,
    /// A desk for schoolwork.
    pub desk: bool,
    /// Clothes for the season.
    pub clothes: bool,
    /// Books and school supplies.
    pub books: bool,
}

/// Part 3: housing conditions, with the structured fields of the act.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HousingPart {
    /// Right of use.
    pub right: HousingRight,
    /// Type of home.
    pub kind: HousingType,
    /// Living area in m².
    pub area_m2: f64,
    /// Number of rooms.
    pub rooms: u32,
    /// Utilities.
    pub utilities: Utilities,
    /// Whether the sanitary state is acceptable.
    pub sanitary_ok: bool,
    /// Hazards found, if any.
    pub hazards: Option<String>,
    /// The child's own space.
    pub child_space: ChildSpace,
    /// The outcome.
    pub outcome: CheckOutcome,
    /// The supporting document (title deed, lease).
    pub evidence: Option<Evidence>,
}

/// An annual comprehensive check: an event, written once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnnualCheck {
    /// The event id, made on the device.
    pub id: EventId,
    /// The representative checked.
    pub representative_id: RepresentativeId,
    /// The date of the check.
    pub date: NaiveDate,
    /// The examiner (user id of the specialist).
    pub examiner: String,
    /// Income sources.
    pub income: IncomePart,
    /// Health certificate.
    pub health: CertificatePart,
    /// Housing conditions.
    pub housing: HousingPart,
    /// Criminal record certificate.
    pub criminal_record: CertificatePart,
    /// Risk factors found.
    pub risk_factors: Vec<RiskFactor>,
    /// The conclusion.
    pub conclusion: CheckConclusion,
    /// Notes.
    pub notes: Option<String>,
    /// The earlier check this one corrects, if any.
    pub supersedes: Option<EventId>,
}

impl AnnualCheck {
    /// Any risk factor makes the check urgent.
    pub fn is_urgent(&self) -> bool {
        !self.risk_factors.is_empty()
    }

    /// Validates the check; returns warnings (a household member's IIN
    /// that disagrees with the birth date).
    pub fn validate(&self, today: NaiveDate) -> Result<Vec<Warning>> {
        not_in_future(self.date, today, "check.date")?;
        check_text(&self.examiner, "check.examiner", 100, true)?;
        let inc = &self.income;
        if inc.household_members == 0 || inc.household_members > 50 {
            return Err(Error::invalid("check.income.household_members", "must be between 1 and 50"));
        }
        if inc.subsistence_minimum_kzt <= 0 || inc.subsistence_minimum_kzt > MAX_MONTHLY_KZT {
            return Err(Error::invalid(
                "check.income.subsistence_minimum_kzt",
                "must be positive and at most 1,000,000,000 tenge",
            ));
        }
        let mut warnings = Vec::new();
        if !inc.members.is_empty() && inc.members.len() != inc.household_members as usize {
            return Err(Error::invalid(
                "check.income.members",
                "lists a different number of people than household_members",
            ));
        }
        for (i, m) in inc.members.iter().enumerate() {
            let field = format!("check.income.members[{i}]");
            m.name.validate(&format!("{field}.name"))?;
            not_in_future(m.birth_date, self.date, &format!("{field}.birth_date"))?;
            if let Some(iin) = &m.iin {
                warnings.extend(iin_warnings(iin, m.birth_date, None, &field));
            }
        }
        if inc.sources.len() > 50 {
            return Err(Error::invalid("check.income.sources", "lists more than 50 sources"));
        }
        for (i, s) in inc.sources.iter().enumerate() {
            if !(0..=MAX_MONTHLY_KZT).contains(&s.monthly_amount_kzt) {
                return Err(Error::invalid(
                    format!("check.income.sources[{i}].monthly_amount_kzt"),
                    "must be between 0 and 1,000,000,000 tenge a month",
                ));
            }
        }
        let h = &self.housing;
        if !(h.area_m2.is_finite() && h.area_m2 > 0.0 && h.area_m2 < 10_000.0) {
            return Err(Error::invalid("check.housing.area_m2", "must be a positive area under 10,000 m²"));
        }
        if h.rooms == 0 || h.rooms > 100 {
            return Err(Error::invalid("check.housing.rooms", "must be between 1 and 100"));
        }
        if let Some(z) = &h.hazards {
            check_text(z, "check.housing.hazards", 2000, false)?;
        }
        for (name, outcome, ev) in [
            ("income", inc.outcome, &inc.evidence),
            ("health", self.health.outcome, &self.health.evidence),
            ("housing", h.outcome, &h.evidence),
            ("criminal_record", self.criminal_record.outcome, &self.criminal_record.evidence),
        ] {
            let field = format!("check.{name}.evidence");
            match ev {
                Some(e) => e.validate(&field, self.date)?,
                None if outcome != CheckOutcome::NotProvided && name != "housing" => {
                    return Err(Error::invalid(field, "is required unless the outcome is not_provided"));
                }
                None => {}
            }
        }
        let mut seen = std::collections::HashSet::new();
        if !self.risk_factors.iter().all(|r| seen.insert(*r)) {
            return Err(Error::invalid("check.risk_factors", "lists a factor twice"));
        }
        if self.is_urgent() && self.conclusion != CheckConclusion::RemovalRecommended {
            return Err(Error::invalid(
                "check.conclusion",
                "a risk factor is ground for removal from duties: the conclusion must be removal_recommended",
            ));
        }
        if let Some(n) = &self.notes {
            check_text(n, "check.notes", 4000, false)?;
        }
        Ok(warnings)
    }
}

/// A risk factor reported outside a check (a signal from the police or a
/// dispensary): an event, written once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RiskReport {
    /// The event id.
    pub id: EventId,
    /// The representative concerned.
    pub representative_id: RepresentativeId,
    /// The date the factor became known.
    pub date: NaiveDate,
    /// Who recorded it.
    pub reported_by: String,
    /// The factor.
    pub factor: RiskFactor,
    /// The source (letter number, authority).
    pub source: String,
    /// The earlier report this one corrects.
    pub supersedes: Option<EventId>,
}

impl RiskReport {
    /// Validates the report.
    pub fn validate(&self, today: NaiveDate) -> Result<()> {
        not_in_future(self.date, today, "risk_report.date")?;
        check_text(&self.reported_by, "risk_report.reported_by", 100, true)?;
        check_text(&self.source, "risk_report.source", 500, true)
    }
}

/// A flag recorded in error, cleared by a person (the wrong person, a
/// dispensary letter withdrawn, a prosecution dropped): an event kept with
/// the flags it corrects. A later clean check never clears a flag; only
/// this does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RiskClearance {
    /// The event id.
    pub id: EventId,
    /// The representative concerned.
    pub representative_id: RepresentativeId,
    /// The date of the decision to clear.
    pub date: NaiveDate,
    /// The risk factor cleared; `None` clears the removal recommendation.
    /// Clearing the last raised factor clears the recommendation too.
    pub factor: Option<RiskFactor>,
    /// Why the flag was wrong (required).
    pub reason: String,
    /// Who cleared it (user id).
    pub cleared_by: String,
}

impl RiskClearance {
    /// Validates the clearance.
    pub fn validate(&self, today: NaiveDate) -> Result<()> {
        not_in_future(self.date, today, "risk_clearance.date")?;
        check_text(&self.cleared_by, "risk_clearance.cleared_by", 100, true)?;
        check_text(&self.reason, "risk_clearance.reason", 1000, true)?;
        if self.reason.trim().chars().count() < 5 {
            return Err(Error::invalid("risk_clearance.reason", "must say why the flag was wrong"));
        }
        Ok(())
    }
}
