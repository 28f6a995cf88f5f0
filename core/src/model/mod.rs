//! The domain: typed records, code lists, validation and schedules.
//!
//! Nothing here does I/O or knows Automerge; validation takes `today` as an
//! argument so that the rules are plain functions.

pub mod check;
pub mod codes;
pub mod iin;
pub mod kato;
pub mod mentor;
pub mod people;
pub mod removal;
pub mod schedule;
pub mod text;
pub mod visit;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

pub use check::*;
pub use codes::*;
pub use iin::Iin;
pub use kato::Kato;
pub use mentor::*;
pub use people::*;
pub use removal::*;
pub use schedule::*;
pub use visit::*;

use crate::error::{Error, Result};

macro_rules! id_type {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// A fresh random id, made on this device.
            pub fn new() -> Self {
                Self(uuid::Uuid::new_v4().simple().to_string())
            }

            /// Parses an id given by an app; it must be 32 hex digits.
            pub fn parse(s: &str) -> Result<Self> {
                if s.len() == 32 && s.bytes().all(|b| b.is_ascii_hexdigit()) {
                    Ok(Self(s.to_ascii_lowercase()))
                } else {
                    Err(Error::invalid(stringify!($name), "an id is 32 hexadecimal digits"))
                }
            }

            /// The id as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "{}({})", stringify!($name), self.0)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

id_type!(
    /// Identifies a child (and the child's case document).
    ChildId
);
id_type!(
    /// Identifies a legal representative (and their file).
    RepresentativeId
);
id_type!(
    /// Identifies a placement within a child's case.
    PlacementId
);
id_type!(
    /// Identifies an event: a check, a visit, a meeting or a risk report.
    EventId
);
id_type!(
    /// Identifies a mentor.
    MentorId
);
id_type!(
    /// Identifies a mentorship (mentor, child, contract).
    MentorshipId
);

/// A person's name as written in documents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FullName {
    /// Family name (тегі / фамилия).
    pub family: String,
    /// Given name (аты / имя).
    pub given: String,
    /// Patronymic (әкесінің аты / отчество), if any.
    pub patronymic: Option<String>,
}

impl FullName {
    /// Checks that the family and given names are present and reasonable.
    pub fn validate(&self, field: &str) -> Result<()> {
        for (part, value) in
            [("family", Some(&self.family)), ("given", Some(&self.given)), ("patronymic", self.patronymic.as_ref())]
        {
            let Some(v) = value else { continue };
            let path = format!("{field}.{part}");
            if part != "patronymic" && v.trim().is_empty() {
                return Err(Error::invalid(path, "is required"));
            }
            if v.chars().count() > 100 {
                return Err(Error::invalid(path, "is longer than 100 characters"));
            }
            if v.chars().any(char::is_control) {
                return Err(Error::invalid(path, "contains control characters"));
            }
        }
        Ok(())
    }

    /// "Family Given Patronymic".
    pub fn display(&self) -> String {
        match &self.patronymic {
            Some(p) if !p.is_empty() => format!("{} {} {}", self.family, self.given, p),
            _ => format!("{} {}", self.family, self.given),
        }
    }
}

/// Something accepted but worth a person's attention.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Warning {
    /// The birth date entered disagrees with the one in the IIN. The IIN is
    /// never changed, even when formed wrongly, so both are kept.
    IinBirthDateMismatch {
        /// The record's field path.
        field: String,
    },
    /// The sex entered disagrees with the IIN's 7th digit.
    IinSexMismatch {
        /// The record's field path.
        field: String,
    },
}

impl std::fmt::Display for Warning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Warning::IinBirthDateMismatch { field } => {
                write!(f, "{field}: the birth date differs from the date in the IIN; both are kept")
            }
            Warning::IinSexMismatch { field } => {
                write!(f, "{field}: the sex differs from the IIN's 7th digit")
            }
        }
    }
}

/// A record written once and corrected only by a new event that
/// supersedes it: checks, visits, meetings, risk reports.
pub trait Event {
    /// The event id.
    fn id(&self) -> &EventId;
    /// The date it happened.
    fn date(&self) -> NaiveDate;
    /// The event this one corrects.
    fn supersedes(&self) -> Option<&EventId>;
}

macro_rules! event {
    ($($t:ty),*) => {$(
        impl Event for $t {
            fn id(&self) -> &EventId {
                &self.id
            }
            fn date(&self) -> NaiveDate {
                self.date
            }
            fn supersedes(&self) -> Option<&EventId> {
                self.supersedes.as_ref()
            }
        }
    )*};
}
event!(AnnualCheck, HomeVisit, Meeting, RiskReport);

/// Rejects a date after `today`.
pub fn not_in_future(date: NaiveDate, today: NaiveDate, field: &str) -> Result<()> {
    if date > today { Err(Error::invalid(field, "is in the future")) } else { Ok(()) }
}

/// Rejects free text that is empty (when required), too long, or has
/// control characters other than newlines.
pub fn check_text(value: &str, field: &str, max_chars: usize, required: bool) -> Result<()> {
    if required && value.trim().is_empty() {
        return Err(Error::invalid(field, "is required"));
    }
    if value.chars().count() > max_chars {
        return Err(Error::invalid(field, format!("is longer than {max_chars} characters")));
    }
    if value.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        return Err(Error::invalid(field, "contains control characters"));
    }
    Ok(())
}

/// Adds whole months to a date, clamping the day to the month's end.
pub fn add_months(date: NaiveDate, months: u32) -> NaiveDate {
    date.checked_add_months(chrono::Months::new(months)).unwrap_or(NaiveDate::MAX)
}

/// Age in whole years on `on`.
pub fn age_on(birth: NaiveDate, on: NaiveDate) -> u32 {
    on.years_since(birth).unwrap_or(0)
}

/// The role of a phone's user, as the regional server enrolled them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UserRole {
    /// A specialist of the guardianship body: all casework.
    Specialist,
    /// A certified mentor: the meeting log only.
    Mentor,
    /// The regional administrator.
    Admin,
}

impl UserRole {
    /// The code the server uses (`specialist`, `mentor`, `admin`).
    pub fn code(self) -> &'static str {
        match self {
            UserRole::Specialist => "specialist",
            UserRole::Mentor => "mentor",
            UserRole::Admin => "admin",
        }
    }

    /// Parses a code; `None` for anything else.
    pub fn parse(code: &str) -> Option<Self> {
        [UserRole::Specialist, UserRole::Mentor, UserRole::Admin].into_iter().find(|r| r.code() == code)
    }
}
