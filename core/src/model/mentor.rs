//! Mentors, their certificates, mentorships and the meeting log.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::*;

/// A certified mentor (тәлімгер).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Mentor {
    /// The mentor's id.
    pub id: MentorId,
    /// The mentor's user id on the regional server, which links the
    /// mentor's phone to this profile.
    pub user_id: String,
    /// IIN.
    pub iin: Iin,
    /// Name.
    pub name: FullName,
    /// Phone.
    pub phone: Option<String>,
    /// Region.
    pub region: Region,
    /// District (КАТО).
    pub district: Kato,
    /// The mentoring organisation, if any.
    pub organisation: Option<String>,
}

impl Mentor {
    /// Validates the profile.
    pub fn validate(&self) -> Result<()> {
        self.name.validate("mentor.name")?;
        check_text(&self.user_id, "mentor.user_id", 100, true)?;
        if self.district.region() != self.region {
            return Err(Error::invalid("mentor.district", "the district is not in the mentor's region"));
        }
        if let Some(o) = &self.organisation {
            check_text(o, "mentor.organisation", 200, false)?;
        }
        Ok(())
    }
}

/// A mentor's professional certificate (mandatory since 2025).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MentorCertificate {
    /// Certificate number.
    pub number: String,
    /// Issuing body.
    pub issuer: String,
    /// Date of issue.
    pub issued_on: NaiveDate,
    /// Last day of validity.
    pub valid_until: NaiveDate,
}

impl MentorCertificate {
    /// Whether the certificate is valid on `on`.
    pub fn is_valid_on(&self, on: NaiveDate) -> bool {
        self.issued_on <= on && on <= self.valid_until
    }

    /// Validates the certificate.
    pub fn validate(&self, today: NaiveDate) -> Result<()> {
        check_text(&self.number, "certificate.number", 64, true)?;
        check_text(&self.issuer, "certificate.issuer", 200, true)?;
        not_in_future(self.issued_on, today, "certificate.issued_on")?;
        if self.valid_until < self.issued_on {
            return Err(Error::invalid("certificate.valid_until", "is before the date of issue"));
        }
        Ok(())
    }
}

/// A mentorship: a three-party contract of mentor, child and school.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Mentorship {
    /// The mentorship's id.
    pub id: MentorshipId,
    /// The mentor.
    pub mentor_id: MentorId,
    /// The child.
    pub child_id: ChildId,
    /// The contract's reference.
    pub contract_ref: String,
    /// Start date.
    pub start_date: NaiveDate,
    /// End date, when ended.
    pub end_date: Option<NaiveDate>,
}

impl Mentorship {
    /// Whether the mentorship is in force on `on`.
    pub fn is_active_on(&self, on: NaiveDate) -> bool {
        self.start_date <= on && self.end_date.is_none_or(|e| e >= on)
    }
}

/// What a mentor may know of a mentee: only what mentoring needs, never the
/// representative's health, criminal or income records.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MenteeProfile {
    /// Given name.
    pub given_name: String,
    /// Family name.
    pub family_name: String,
    /// Birth date (for age-appropriate mentoring).
    pub birth_date: NaiveDate,
    /// School.
    pub school: Option<String>,
    /// District (КАТО).
    pub district: Kato,
}

/// A mentor–child meeting: an event, written once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Meeting {
    /// The event id.
    pub id: EventId,
    /// The mentorship.
    pub mentorship_id: MentorshipId,
    /// The date.
    pub date: NaiveDate,
    /// Duration in minutes.
    pub duration_minutes: u32,
    /// In person or remote.
    pub mode: MeetingMode,
    /// Topics discussed.
    pub topics: Vec<String>,
    /// Notes.
    pub notes: Option<String>,
    /// The earlier entry this one corrects.
    pub supersedes: Option<EventId>,
}

impl Meeting {
    /// Validates the meeting against the mentor's certificates: a mentor
    /// without a valid certificate on the meeting date cannot log it.
    pub fn validate(
        &self,
        certificates: &[MentorCertificate],
        mentorship: &Mentorship,
        today: NaiveDate,
    ) -> Result<()> {
        not_in_future(self.date, today, "meeting.date")?;
        if self.duration_minutes == 0 || self.duration_minutes > 24 * 60 {
            return Err(Error::invalid("meeting.duration_minutes", "must be between 1 and 1440"));
        }
        if self.topics.len() > 50 {
            return Err(Error::invalid("meeting.topics", "has more than 50 topics"));
        }
        for (i, t) in self.topics.iter().enumerate() {
            check_text(t, &format!("meeting.topics[{i}]"), 200, true)?;
        }
        if let Some(n) = &self.notes {
            check_text(n, "meeting.notes", 4000, false)?;
        }
        if !mentorship.is_active_on(self.date) {
            return Err(Error::invalid("meeting.date", "the mentorship is not in force on this date"));
        }
        if !certificates.iter().any(|c| c.is_valid_on(self.date)) {
            return Err(Error::Rule(
                "the mentor has no valid certificate on the meeting date; a mentor without a valid certificate may not work with children".into(),
            ));
        }
        Ok(())
    }
}
