//! КАТО codes of administrative units below the region.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::codes::{CodeList, Region};
use crate::error::{Error, Result};

/// A КАТО code (nine digits) of a district, city or rural district.
///
/// The hierarchy is a tree of any depth: region (digits 1–2) → district or
/// city (3–4) → rural district (5–6) → settlement (7–9). A unit's parent is
/// the code with its last non-zero level zeroed.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Kato(String);

impl Kato {
    /// Parses a КАТО code; the field named `field` in errors.
    pub fn parse_field(s: &str, field: &str) -> Result<Self> {
        let s = s.trim();
        if s.len() != 9 || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Error::invalid(field, "a КАТО code has exactly 9 digits"));
        }
        if Region::from_code(&s[..2]).is_none() {
            return Err(Error::invalid(field, "the first two digits are not a known region code"));
        }
        Ok(Kato(s.to_owned()))
    }

    /// Parses a КАТО code.
    pub fn parse(s: &str) -> Result<Self> {
        Self::parse_field(s, "district")
    }

    /// The code.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The region this unit lies in.
    pub fn region(&self) -> Region {
        Region::from_code(&self.0[..2]).unwrap_or(Region::Astana)
    }

    /// The enclosing unit, or `None` at the region level.
    pub fn parent(&self) -> Option<Kato> {
        let levels = [(2, 4), (4, 6), (6, 9)];
        let deepest = levels.iter().rev().find(|(a, b)| self.0[*a..*b].bytes().any(|c| c != b'0'))?;
        let mut s = self.0.clone();
        s.replace_range(deepest.0..deepest.1, &"0".repeat(deepest.1 - deepest.0));
        Some(Kato(s))
    }

    /// Whether `self` is `other` or lies inside it.
    pub fn is_within(&self, other: &Kato) -> bool {
        // `other` encloses `self` when `self` starts with `other` up to its
        // deepest non-zero level (no allocation: this runs for every
        // document of every access check).
        self.0.starts_with(other.prefix())
    }

    /// The code up to its deepest non-zero level (`751710000` → `751710`,
    /// `751700000` → `7517`, `750000000` → `75`): every unit inside this
    /// one starts with it.
    pub fn prefix(&self) -> &str {
        let b = self.0.as_bytes();
        let levels = [(6, 9), (4, 6), (2, 4)];
        let end = levels.iter().find(|(from, to)| b[*from..*to].iter().any(|c| *c != b'0')).map_or(2, |(_, to)| *to);
        &self.0[..end]
    }
}

impl TryFrom<String> for Kato {
    type Error = Error;
    fn try_from(s: String) -> Result<Self> {
        Kato::parse(&s)
    }
}

impl From<Kato> for String {
    fn from(k: Kato) -> String {
        k.0
    }
}

impl fmt::Debug for Kato {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Kato({})", self.0)
    }
}

impl fmt::Display for Kato {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tree() {
        let rural = Kato::parse("196235100").unwrap();
        assert_eq!(rural.region(), Region::AlmatyRegion);
        let rural_district = rural.parent().unwrap();
        assert_eq!(rural_district.as_str(), "196235000");
        let district = rural_district.parent().unwrap();
        assert_eq!(district.as_str(), "196200000");
        assert_eq!(district.parent().unwrap().as_str(), "190000000");
        assert!(district.parent().unwrap().parent().is_none());
        assert!(rural.is_within(&district));
        assert_eq!(Kato::parse("751710000").unwrap().prefix(), "751710");
        assert_eq!(Kato::parse("751700000").unwrap().prefix(), "7517");
        assert_eq!(Kato::parse("750000000").unwrap().prefix(), "75");
        assert!(!district.is_within(&rural));
    }

    #[test]
    fn within_is_the_parent_chain() {
        let chain = |a: &Kato, b: &Kato| {
            let mut cur = Some(a.clone());
            while let Some(k) = cur {
                if &k == b {
                    return true;
                }
                cur = k.parent();
            }
            false
        };
        let mut codes = Vec::new();
        for region in ["19", "75"] {
            for d in ["00", "62", "17"] {
                for r in ["00", "35", "01"] {
                    for v in ["000", "100", "001"] {
                        codes.push(Kato::parse(&format!("{region}{d}{r}{v}")).unwrap());
                    }
                }
            }
        }
        for a in &codes {
            for b in &codes {
                assert_eq!(a.is_within(b), chain(a, b), "{a} within {b}");
            }
        }
    }

    #[test]
    fn rejects_unknown_regions_and_shapes() {
        assert!(Kato::parse("990000000").is_err());
        assert!(Kato::parse("19").is_err());
        assert!(Kato::parse("19a000000").is_err());
    }
}
