//! The individual identification number (ЖСН / ИИН).

use std::fmt;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::Sex;
use crate::error::{Error, Result};

/// A validated twelve-digit IIN.
///
/// Construction checks the date of birth (positions 1–6), the century and sex
/// digit (position 7) and the two-pass modulus-11 check digit. The `Debug`
/// and `Display` forms are masked so that an IIN never reaches a log by
/// accident; use [`Iin::as_str`] where the full number is really needed.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Iin(String);

const WEIGHTS_1: [u32; 11] = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];
const WEIGHTS_2: [u32; 11] = [3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2];

/// Computes the check digit of the first eleven digits, or `None` when the
/// second pass gives 10 again (such a number is never issued).
pub fn check_digit(digits: &[u32; 11]) -> Option<u32> {
    let pass = |w: &[u32; 11]| digits.iter().zip(w).map(|(d, w)| d * w).sum::<u32>() % 11;
    match pass(&WEIGHTS_1) {
        10 => match pass(&WEIGHTS_2) {
            10 => None,
            r => Some(r),
        },
        r => Some(r),
    }
}

impl Iin {
    /// Parses and validates an IIN. Errors name the `field` given, never the
    /// number itself.
    pub fn parse_field(s: &str, field: &str) -> Result<Self> {
        let invalid = |reason: &str| Error::invalid(field, reason);
        let s = s.trim();
        if s.len() != 12 || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(invalid("an IIN has exactly 12 digits"));
        }
        let d: Vec<u32> = s.bytes().map(|b| u32::from(b - b'0')).collect();
        let century = match d[6] {
            1 | 2 => 1800,
            3 | 4 => 1900,
            5 | 6 => 2000,
            _ => return Err(invalid("the 7th digit (century and sex) must be 1 to 6")),
        };
        let year = century + (d[0] * 10 + d[1]) as i32;
        let month = d[2] * 10 + d[3];
        let day = d[4] * 10 + d[5];
        if NaiveDate::from_ymd_opt(year, month, day).is_none() {
            return Err(invalid("the first six digits are not a valid date of birth"));
        }
        let first: [u32; 11] = std::array::from_fn(|i| d[i]);
        match check_digit(&first) {
            Some(c) if c == d[11] => Ok(Iin(s.to_owned())),
            Some(_) => Err(invalid("the check digit does not match")),
            None => Err(invalid("the number fails the checksum and is never issued")),
        }
    }

    /// Parses an IIN; errors name the field `iin`.
    pub fn parse(s: &str) -> Result<Self> {
        Self::parse_field(s, "iin")
    }

    /// The full twelve digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The date of birth encoded in the number.
    pub fn birth_date(&self) -> NaiveDate {
        let d = self.0.as_bytes();
        let n = |i: usize| u32::from(d[i] - b'0');
        let century = match n(6) {
            1 | 2 => 1800,
            3 | 4 => 1900,
            _ => 2000,
        };
        NaiveDate::from_ymd_opt(century + (n(0) * 10 + n(1)) as i32, n(2) * 10 + n(3), n(4) * 10 + n(5))
            .unwrap_or_default()
    }

    /// The sex encoded in the 7th digit (odd male, even female).
    pub fn sex(&self) -> Sex {
        if (self.0.as_bytes()[6] - b'0') % 2 == 1 { Sex::Male } else { Sex::Female }
    }

    /// The number masked for screens and messages: `79••••••••28`.
    pub fn masked(&self) -> String {
        format!("{}••••••••{}", &self.0[..2], &self.0[10..])
    }
}

impl TryFrom<String> for Iin {
    type Error = Error;
    fn try_from(s: String) -> Result<Self> {
        Iin::parse(&s)
    }
}

impl From<Iin> for String {
    fn from(i: Iin) -> String {
        i.0
    }
}

impl fmt::Debug for Iin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Iin({})", self.masked())
    }
}

impl fmt::Display for Iin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_valid_and_invalid_numbers() {
        let a = Iin::parse("791028302728").unwrap();
        assert_eq!(a.birth_date(), NaiveDate::from_ymd_opt(1979, 10, 28).unwrap());
        assert_eq!(a.sex(), Sex::Male);
        let b = Iin::parse("061211600012").unwrap();
        assert_eq!(b.birth_date(), NaiveDate::from_ymd_opt(2006, 12, 11).unwrap());
        assert_eq!(b.sex(), Sex::Female);
        assert!(Iin::parse("791028302729").is_err());
    }

    #[test]
    fn zeros_pass_checksum_but_fail_date_and_century() {
        let err = Iin::parse("000000000000").unwrap_err().to_string();
        assert!(err.contains("7th digit"), "{err}");
        assert!(Iin::parse("791328302728").is_err(), "month 13");
    }

    #[test]
    fn errors_never_contain_the_number() {
        for bad in ["791028302729", "79102830272", "7910283027a8", "991399300000"] {
            let msg = Iin::parse(bad).unwrap_err().to_string();
            assert!(!msg.contains(bad), "{msg}");
        }
    }

    #[test]
    fn masked_in_debug_and_display() {
        let a = Iin::parse("791028302728").unwrap();
        assert!(!format!("{a:?} {a}").contains("791028302728"));
    }

    proptest! {
        #[test]
        fn any_string_never_panics(s in "\\PC{0,20}") {
            let _ = Iin::parse(&s);
        }

        #[test]
        fn generated_numbers_roundtrip(y in 0u32..100, m in 1u32..13, d in 1u32..29, c in 3u32..7, serial in 0u32..10000) {
            let s = format!("{y:02}{m:02}{d:02}{c}{serial:04}");
            let digits: [u32; 11] = std::array::from_fn(|i| u32::from(s.as_bytes()[i] - b'0'));
            if let Some(cd) = check_digit(&digits) {
                let iin = Iin::parse(&format!("{s}{cd}")).unwrap();
                prop_assert_eq!(iin.sex(), if c % 2 == 1 { Sex::Male } else { Sex::Female });
                for wrong in (0..10).filter(|&x| x != cd) {
                    let candidate = format!("{}{}", s, wrong);
                    prop_assert!(Iin::parse(&candidate).is_err());
                }
            }
        }
    }
}
