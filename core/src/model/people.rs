//! Children, legal representatives and placements: the editable profiles.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::*;

/// The age at which guardianship becomes trusteeship.
pub const TRUSTEESHIP_AGE: u32 = 14;
/// The age of majority, when every placement ends.
pub const MAJORITY_AGE: u32 = 18;

impl PlacementForm {
    /// The form in force on `on` for a child born `birth`, when this form
    /// was decided: guardianship becomes trusteeship at the 14th birthday.
    pub fn in_force(self, birth: NaiveDate, on: NaiveDate) -> PlacementForm {
        match self {
            PlacementForm::Guardianship if age_on(birth, on) >= TRUSTEESHIP_AGE => PlacementForm::Trusteeship,
            f => f,
        }
    }
}

/// A child who is an orphan or left without parental care.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Child {
    /// The child's id, made on the device that registered the child.
    pub id: ChildId,
    /// The child's IIN.
    pub iin: Iin,
    /// The child's name.
    pub name: FullName,
    /// The birth date as documented (kept even when the IIN disagrees).
    pub birth_date: NaiveDate,
    /// Sex.
    pub sex: Sex,
    /// Orphan or left without parental care.
    pub status: ChildStatus,
    /// The region of the case.
    pub region: Region,
    /// The district (КАТО) of the case.
    pub district: Kato,
    /// The child's school, if any (shared with the mentor).
    pub school: Option<String>,
}

impl Child {
    /// Validates the profile; returns warnings for accepted oddities.
    pub fn validate(&self, today: NaiveDate) -> Result<Vec<Warning>> {
        self.name.validate("child.name")?;
        not_in_future(self.birth_date, today, "child.birth_date")?;
        if age_on(self.birth_date, today) >= MAJORITY_AGE {
            return Err(Error::invalid("child.birth_date", "the person is 18 or older, not a child"));
        }
        if self.district.region() != self.region {
            return Err(Error::invalid("child.district", "the district is not in the child's region"));
        }
        if let Some(s) = &self.school {
            check_text(s, "child.school", 200, false)?;
        }
        Ok(iin_warnings(&self.iin, self.birth_date, Some(self.sex), "child"))
    }
}

/// Warnings where the IIN disagrees with the separate birth date or sex.
pub fn iin_warnings(iin: &Iin, birth: NaiveDate, sex: Option<Sex>, field: &str) -> Vec<Warning> {
    let mut w = Vec::new();
    if iin.birth_date() != birth {
        w.push(Warning::IinBirthDateMismatch { field: format!("{field}.birth_date") });
    }
    if sex.is_some_and(|s| s != iin.sex()) {
        w.push(Warning::IinSexMismatch { field: format!("{field}.sex") });
    }
    w
}

/// A legal representative: guardian, trustee, foster parent, patronat
/// educator or adoptive parent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Representative {
    /// The representative's id.
    pub id: RepresentativeId,
    /// IIN.
    pub iin: Iin,
    /// Name.
    pub name: FullName,
    /// Birth date, if documented separately from the IIN.
    pub birth_date: Option<NaiveDate>,
    /// Home address.
    pub address: String,
    /// Phone number.
    pub phone: Option<String>,
    /// Region.
    pub region: Region,
    /// District (КАТО).
    pub district: Kato,
    /// The role held.
    pub role: RepresentativeRole,
    /// The date duties began; the first annual check falls due a year later.
    pub since: NaiveDate,
}

impl Representative {
    /// Validates the profile.
    pub fn validate(&self, today: NaiveDate) -> Result<Vec<Warning>> {
        self.name.validate("representative.name")?;
        check_text(&self.address, "representative.address", 300, true)?;
        if let Some(p) = &self.phone {
            let digits = p.chars().filter(char::is_ascii_digit).count();
            if !(10..=15).contains(&digits) || p.chars().any(|c| !(c.is_ascii_digit() || " +-()".contains(c))) {
                return Err(Error::invalid("representative.phone", "a phone number has 10 to 15 digits"));
            }
        }
        if self.district.region() != self.region {
            return Err(Error::invalid(
                "representative.district",
                "the district is not in the representative's region",
            ));
        }
        not_in_future(self.since, today, "representative.since")?;
        let born = self.birth_date.unwrap_or_else(|| self.iin.birth_date());
        not_in_future(born, today, "representative.birth_date")?;
        if age_on(born, today) < MAJORITY_AGE {
            return Err(Error::invalid("representative.birth_date", "a legal representative must be an adult"));
        }
        Ok(match self.birth_date {
            Some(b) => iin_warnings(&self.iin, b, None, "representative"),
            None => Vec::new(),
        })
    }
}

/// The legally significant risk state of a representative, raised by checks
/// and risk reports and cleared only by a person.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RiskState {
    /// Each risk factor currently flagged, and whether it is raised.
    pub flags: BTreeMap<String, bool>,
    /// Whether removal from duties is recommended.
    pub removal_recommended: bool,
}

impl RiskState {
    /// The risk factors currently raised.
    pub fn raised(&self) -> Vec<RiskFactor> {
        self.flags.iter().filter(|(_, on)| **on).filter_map(|(c, _)| RiskFactor::from_code(c)).collect()
    }

    /// Whether anything here calls for urgent action.
    pub fn is_urgent(&self) -> bool {
        self.removal_recommended || self.flags.values().any(|v| *v)
    }
}

/// A child's placement with a representative or in an institution.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Placement {
    /// The placement's id.
    pub id: PlacementId,
    /// The child placed.
    pub child_id: ChildId,
    /// The legal representative; `None` for an institution.
    pub representative_id: Option<RepresentativeId>,
    /// The institution's name, for institutional placements.
    pub institution: Option<String>,
    /// The form of placement as decided. Guardianship reads as trusteeship
    /// from the 14th birthday: see [`Placement::form_on`].
    pub form: PlacementForm,
    /// The representative's relation to the child when kin.
    pub kin: Option<KinRelation>,
    /// Whether relatives were considered first.
    pub kin_considered: bool,
    /// Start date.
    pub start_date: NaiveDate,
    /// End date, when ended.
    pub end_date: Option<NaiveDate>,
    /// Why it ended.
    pub end_reason: Option<PlacementEndReason>,
}

impl Placement {
    /// Whether the placement is in force on `on`.
    pub fn is_active_on(&self, on: NaiveDate) -> bool {
        self.start_date <= on && self.end_date.is_none_or(|e| e > on)
    }

    /// Whether the placement has not been ended.
    pub fn is_open(&self) -> bool {
        self.end_date.is_none()
    }

    /// The form in force on `on` for a child born `birth`: guardianship
    /// becomes trusteeship at the 14th birthday.
    pub fn form_on(&self, birth: NaiveDate, on: NaiveDate) -> PlacementForm {
        self.form.in_force(birth, on)
    }

    /// Whether this record needs the adoption access tier.
    pub fn is_adoption(&self) -> bool {
        self.form == PlacementForm::Adoption
    }

    /// Validates a placement for a child born `birth`.
    pub fn validate(&self, birth: NaiveDate, today: NaiveDate) -> Result<()> {
        not_in_future(self.start_date, today, "placement.start_date")?;
        if self.start_date < birth {
            return Err(Error::invalid("placement.start_date", "is before the child's birth"));
        }
        let age = age_on(birth, self.start_date);
        match self.form {
            PlacementForm::Guardianship if age >= TRUSTEESHIP_AGE => {
                return Err(Error::invalid("placement.form", "guardianship is for a child under 14; use trusteeship"));
            }
            PlacementForm::Trusteeship if age < TRUSTEESHIP_AGE => {
                return Err(Error::invalid(
                    "placement.form",
                    "trusteeship is for a child aged 14 to 18; use guardianship",
                ));
            }
            _ => {}
        }
        match (self.form, &self.representative_id, &self.institution) {
            (PlacementForm::Institution | PlacementForm::ChildrensVillage, _, Some(name)) => {
                check_text(name, "placement.institution", 200, true)?
            }
            (PlacementForm::Institution | PlacementForm::ChildrensVillage, None, None) => {
                return Err(Error::invalid("placement.institution", "is required for this form"));
            }
            (PlacementForm::Institution, Some(_), _) => {
                return Err(Error::invalid(
                    "placement.representative_id",
                    "an institution placement has no representative",
                ));
            }
            (f, None, _) if f != PlacementForm::Institution && f != PlacementForm::ChildrensVillage => {
                return Err(Error::invalid("placement.representative_id", "is required for a family form"));
            }
            _ => {}
        }
        if self.kin.is_some() && self.form == PlacementForm::Institution {
            return Err(Error::invalid("placement.kin", "an institution is not kin"));
        }
        if let Some(end) = self.end_date {
            not_in_future(end, today, "placement.end_date")?;
            if end < self.start_date {
                return Err(Error::invalid("placement.end_date", "is before the start date"));
            }
            if self.end_reason.is_none() {
                return Err(Error::invalid("placement.end_reason", "is required when a placement ends"));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn guardianship(start: &str) -> Placement {
        Placement {
            id: PlacementId::new(),
            child_id: ChildId::new(),
            representative_id: Some(RepresentativeId::new()),
            institution: None,
            form: PlacementForm::Guardianship,
            kin: Some(KinRelation::Grandparent),
            kin_considered: true,
            start_date: d(start),
            end_date: None,
            end_reason: None,
        }
    }

    #[test]
    fn guardianship_becomes_trusteeship_on_the_14th_birthday() {
        let birth = d("2012-03-01");
        let p = guardianship("2020-01-01");
        p.validate(birth, d("2026-01-01")).unwrap();
        assert_eq!(p.form_on(birth, d("2026-02-28")), PlacementForm::Guardianship);
        assert_eq!(p.form_on(birth, d("2026-03-01")), PlacementForm::Trusteeship);
    }

    #[test]
    fn form_must_fit_the_age_at_start() {
        let birth = d("2010-01-01");
        let err = guardianship("2025-01-01").validate(birth, d("2026-01-01")).unwrap_err();
        assert!(err.to_string().contains("placement.form"), "{err}");
        let mut t = guardianship("2020-01-01");
        t.form = PlacementForm::Trusteeship;
        assert!(t.validate(birth, d("2026-01-01")).is_err());
    }

    #[test]
    fn future_dates_and_missing_end_reason_are_rejected() {
        let birth = d("2015-01-01");
        assert!(guardianship("2027-01-01").validate(birth, d("2026-01-01")).is_err());
        let mut p = guardianship("2020-01-01");
        p.end_date = Some(d("2025-01-01"));
        let err = p.validate(birth, d("2026-01-01")).unwrap_err();
        assert!(err.to_string().contains("end_reason"));
    }
}
