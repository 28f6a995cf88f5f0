//! The documents that hold the casework, and their Automerge layout.
//!
//! The data is partitioned along the lines the server grants access by (see
//! `docs/documents.md`): a child's case, a representative's file with its
//! checks, a mentor's profile with certificates, a mentor's view of one
//! mentee, and a mentor's meeting log. This module knows Automerge but no
//! SQLite and no network.

pub mod attachments;
pub mod conflicts;
pub mod facts;
pub mod identity;
pub mod json;
pub mod merge;
pub mod projection;
pub mod views;

use std::fmt;

use automerge::transaction::Transactable;
use automerge::{ObjType, ROOT, ReadDoc};
use serde::{Deserialize, Serialize};

pub use conflicts::{Conflict, ConflictKind, ConflictValue};
pub use facts::{FACTS_VERSION, Facts};
pub use identity::{Identity, name_key};
pub use projection::{PROJECTION_VERSION, Projection};
pub use views::*;

use crate::error::{Error, Result};
use crate::model::{ChildId, MentorId, MentorshipId, RepresentativeId};

/// The document schema this core writes (2: the removal workflow's events,
/// placement endings and corrections, household members, two code lists).
pub const SCHEMA_VERSION: u64 = 2;
/// The editor generation of this core. A document whose `min_editor` is
/// higher was changed by a newer version in a way this one cannot safely
/// edit: reads work, writes say an update is needed.
pub const EDITOR_VERSION: u64 = 1;

/// The kinds of document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DocKind {
    /// A child's case: profile, placements, home visits.
    Case,
    /// A legal representative's file: profile, status, risk, checks.
    Representative,
    /// A mentor's profile and certificates.
    Mentor,
    /// A mentor's view of one mentee: the mentorship and what mentoring needs.
    Mentee,
    /// A mentor's meeting log.
    MeetingLog,
}

impl DocKind {
    /// The prefix of ids of this kind.
    pub fn prefix(self) -> &'static str {
        match self {
            DocKind::Case => "case",
            DocKind::Representative => "rep",
            DocKind::Mentor => "mentor",
            DocKind::Mentee => "mentee",
            DocKind::MeetingLog => "mlog",
        }
    }

    /// Every kind.
    pub const ALL: [DocKind; 5] =
        [DocKind::Case, DocKind::Representative, DocKind::Mentor, DocKind::Mentee, DocKind::MeetingLog];

    /// The kind of an id prefix (`case`, `rep`, …); `None` for anything else.
    pub fn from_prefix(p: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.prefix() == p)
    }
}

/// A document's id: `<kind>:<32 hex digits>`, e.g. `case:3f…`. The hex part
/// is the id of the child, representative, mentor or mentorship.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct DocId {
    kind: DocKind,
    key: String,
}

impl DocId {
    /// Parses a document id.
    pub fn parse(s: &str) -> Result<Self> {
        let bad = || Error::invalid("document_id", "expected <kind>:<32 hex digits>");
        let (p, key) = s.split_once(':').ok_or_else(bad)?;
        let kind = DocKind::from_prefix(p).ok_or_else(bad)?;
        if key.len() != 32 || !key.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()) {
            return Err(bad());
        }
        Ok(DocId { kind, key: key.to_owned() })
    }

    /// The case of a child.
    pub fn case(id: &ChildId) -> Self {
        DocId { kind: DocKind::Case, key: id.as_str().to_owned() }
    }

    /// The file of a representative.
    pub fn representative(id: &RepresentativeId) -> Self {
        DocId { kind: DocKind::Representative, key: id.as_str().to_owned() }
    }

    /// The profile of a mentor.
    pub fn mentor(id: &MentorId) -> Self {
        DocId { kind: DocKind::Mentor, key: id.as_str().to_owned() }
    }

    /// A mentor's view of one mentee.
    pub fn mentee(id: &MentorshipId) -> Self {
        DocId { kind: DocKind::Mentee, key: id.as_str().to_owned() }
    }

    /// A mentor's meeting log.
    pub fn meeting_log(id: &MentorId) -> Self {
        DocId { kind: DocKind::MeetingLog, key: id.as_str().to_owned() }
    }

    /// The kind.
    pub fn kind(&self) -> DocKind {
        self.kind
    }

    /// The id part after the colon.
    pub fn key(&self) -> &str {
        &self.key
    }
}

impl fmt::Display for DocId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.kind.prefix(), self.key)
    }
}

impl fmt::Debug for DocId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DocId({self})")
    }
}

impl TryFrom<String> for DocId {
    type Error = Error;
    fn try_from(s: String) -> Result<Self> {
        DocId::parse(&s)
    }
}

impl From<DocId> for String {
    fn from(d: DocId) -> String {
        d.to_string()
    }
}

/// The maps every document of a kind has from its creation. Containers are
/// made once, by the creator, so that two devices never create the same
/// container concurrently (which would hide one side's entries).
pub fn containers(kind: DocKind) -> &'static [&'static str] {
    match kind {
        DocKind::Case => &["placements", "visits", "placement_endings", "placement_corrections"],
        DocKind::Representative => &[
            "relations",
            "risk",
            "checks",
            "risk_reports",
            "risk_clearances",
            "removal_recommendations",
            "removal_decisions",
        ],
        DocKind::Mentor => &["certificates"],
        DocKind::Mentee => &[],
        DocKind::MeetingLog => &["meetings"],
    }
}

/// Writes the header of a new document: kind, schema, editor generation
/// and the empty containers.
pub fn init<T: Transactable + ReadDoc>(tx: &mut T, kind: DocKind) -> Result<()> {
    tx.put(ROOT, "kind", kind.prefix())?;
    tx.put(ROOT, "schema", SCHEMA_VERSION)?;
    tx.put(ROOT, "min_editor", EDITOR_VERSION)?;
    tx.put_object(ROOT, "authors", ObjType::Map)?;
    for c in containers(kind) {
        let obj = tx.put_object(ROOT, *c, ObjType::Map)?;
        if *c == "risk" {
            tx.put_object(&obj, "flags", ObjType::Map)?;
            tx.put(&obj, "removal_recommended", false)?;
        }
    }
    Ok(())
}

/// Reads an unsigned header field.
fn header_u64<R: ReadDoc>(doc: &R, key: &str) -> Result<u64> {
    Ok(match doc.get(ROOT, key)? {
        Some((automerge::Value::Scalar(s), _)) => match s.as_ref() {
            automerge::ScalarValue::Uint(u) => *u,
            automerge::ScalarValue::Int(i) => u64::try_from(*i).unwrap_or(0),
            _ => 0,
        },
        _ => 0,
    })
}

/// Refuses to edit a document that a newer version marked as needing it,
/// and records this core's schema if it is newer than the document's.
pub fn prepare_edit<T: Transactable + ReadDoc>(tx: &mut T, author_actor: &str, author: &str) -> Result<()> {
    if header_u64(tx, "min_editor")? > EDITOR_VERSION {
        return Err(Error::UpdateRequired);
    }
    if header_u64(tx, "schema")? < SCHEMA_VERSION {
        tx.put(ROOT, "schema", SCHEMA_VERSION)?;
    }
    let authors = json::map_at(tx, &ROOT, "authors")?;
    if tx.get(&authors, author_actor)?.is_none() {
        tx.put(&authors, author_actor, author)?;
    }
    Ok(())
}

/// Whether the document's header says it is of the kind its id names.
/// Reads only the `kind` key.
pub fn has_kind<R: ReadDoc>(doc: &R, id: &DocId) -> bool {
    matches!(doc.get(ROOT, "kind"), Ok(Some((automerge::Value::Scalar(s), _))) if s.as_str() == Some(id.kind().prefix()))
}

/// The author recorded for an actor in a document's `authors` map.
pub fn author_of<R: ReadDoc>(doc: &R, actor_hex: &str) -> Option<String> {
    let authors = json::find_map(doc, &ROOT, "authors").ok()??;
    match doc.get(&authors, actor_hex).ok()?? {
        (automerge::Value::Scalar(s), _) => s.as_str().map(str::to_owned),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doc_ids_parse_strictly() {
        let c = ChildId::new();
        let id = DocId::case(&c);
        assert_eq!(DocId::parse(&id.to_string()).unwrap(), id);
        for bad in
            ["", "case:", "case:xyz", "nope:00000000000000000000000000000000", "case:0000000000000000000000000000000G"]
        {
            assert!(DocId::parse(bad).is_err(), "{bad}");
        }
    }
}
