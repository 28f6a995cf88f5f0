//! Who a document is about, for matching an imported register against
//! what is stored and for finding two files of one person: the IIN where
//! it is known, else the folded family and given names with the birth date.

use automerge::ReadDoc;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::{DocId, DocKind, read_view_keys};
use crate::model::{Child, FullName, Mentor, Representative, text};

/// The person a case, a representative's file or a mentor's profile is
/// about.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Identity {
    /// The IIN.
    pub iin: String,
    /// See [`name_key`].
    pub name_key: String,
    /// The birth date (a representative's documented one, else the IIN's).
    pub birth: NaiveDate,
}

/// The key two spellings of one name share: the family and given names
/// folded as the phone's search folds them (Kazakh letters to their Russian
/// look-alikes, case and punctuation ignored); the patronymic is left out,
/// as registers often omit it.
pub fn name_key(name: &FullName) -> String {
    let words: Vec<String> = text::tokens(&name.family).chain(text::tokens(&name.given)).collect();
    words.join(" ")
}

impl Identity {
    /// The identity of a child.
    pub fn of_child(c: &Child) -> Self {
        Identity { iin: c.iin.as_str().to_owned(), name_key: name_key(&c.name), birth: c.birth_date }
    }

    /// The identity of a representative.
    pub fn of_representative(r: &Representative) -> Self {
        Identity {
            iin: r.iin.as_str().to_owned(),
            name_key: name_key(&r.name),
            birth: r.birth_date.unwrap_or_else(|| r.iin.birth_date()),
        }
    }

    /// The identity of a mentor.
    pub fn of_mentor(m: &Mentor) -> Self {
        Identity { iin: m.iin.as_str().to_owned(), name_key: name_key(&m.name), birth: m.iin.birth_date() }
    }

    /// The identity a document is about; `None` for the other kinds, for a
    /// file merged into another (that one is the person's) and for a
    /// document this version cannot read.
    pub fn of<R: ReadDoc>(id: &DocId, doc: &R) -> Option<Self> {
        if super::merge::merged_into(doc).is_some() {
            return None;
        }
        Self::of_live(id, doc)
    }

    /// The identity a document is about, merged or not.
    pub fn of_live<R: ReadDoc>(id: &DocId, doc: &R) -> Option<Self> {
        #[derive(Deserialize)]
        struct C {
            child: Child,
        }
        #[derive(Deserialize)]
        struct R {
            representative: Representative,
        }
        #[derive(Deserialize)]
        struct M {
            mentor: Mentor,
        }
        match id.kind() {
            DocKind::Case => read_view_keys::<C, _>(doc, &["schema", "child"]).ok().map(|c| Self::of_child(&c.child)),
            DocKind::Representative => read_view_keys::<R, _>(doc, &["schema", "representative"])
                .ok()
                .map(|r| Self::of_representative(&r.representative)),
            DocKind::Mentor => {
                read_view_keys::<M, _>(doc, &["schema", "mentor"]).ok().map(|m| Self::of_mentor(&m.mentor))
            }
            DocKind::Mentee | DocKind::MeetingLog => None,
        }
    }

    /// Whether two identities are likely one person: the same IIN, or the
    /// same folded names and birth date.
    pub fn same_person(&self, other: &Identity) -> bool {
        self.iin == other.iin || (self.name_key == other.name_key && self.birth == other.birth)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kazakh_and_russian_spellings_share_a_key() {
        let kk = FullName {
            family: "Қайратов".into(), given: "Әлия".into(), patronymic: Some("Серікқызы".into())
        };
        let ru = FullName { family: "КАЙРАТОВ".into(), given: "Алия".into(), patronymic: None };
        assert_eq!(name_key(&kk), name_key(&ru));
        assert_eq!(name_key(&kk), "кайратов алия");
        let other = FullName { family: "Кайратов".into(), given: "Алина".into(), patronymic: None };
        assert_ne!(name_key(&kk), name_key(&other));
    }
}
