//! Evidence attached to events: scans and photos kept as blobs outside the
//! CRDT, named by the SHA-256 of their content. A document holds only the
//! references (root map `attachments`, keyed `<event id>-<hash>`), so the
//! reference travels with the document and the bytes separately; whoever
//! may read the document may fetch the blobs it references.

use automerge::transaction::Transactable;
use automerge::{ROOT, ReadDoc};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;
use sha2::{Digest, Sha256};

use super::{DocId, DocKind, json};
use crate::error::{Error, Result};
use crate::model::{EventId, MediaType, check_text};

/// The root map of attachment references.
pub const ATTACHMENTS: &str = "attachments";
/// The largest attachment accepted (a multi-page scanned PDF fits).
pub const MAX_ATTACHMENT_BYTES: u64 = 25 << 20;

/// A reference to an attached file, as the document holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttachmentRef {
    /// The SHA-256 of the content, 64 lowercase hexadecimal digits.
    pub hash: String,
    /// The type, as the content shows it.
    pub media_type: MediaType,
    /// The size in bytes.
    pub size: u64,
    /// What it shows (`income certificate`, `the child's room`), if given.
    pub caption: Option<String>,
    /// The event's container (`visits`, `checks`, `risk_reports`).
    pub container: String,
    /// The event it belongs to.
    pub event: EventId,
    /// Who attached it (user id).
    pub added_by: String,
    /// When.
    pub date: NaiveDate,
}

impl AttachmentRef {
    /// The key of the reference in the document's `attachments` map.
    pub fn key(&self) -> String {
        format!("{}-{}", self.event, self.hash)
    }
}

/// The hash attachments are named by: SHA-256, lowercase hex.
pub fn content_hash(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Whether `s` is a content hash (64 lowercase hexadecimal digits).
pub fn is_hash(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// The events of a kind that take attachments.
pub fn accepts(kind: DocKind, container: &str) -> bool {
    matches!((kind, container), (DocKind::Case, "visits") | (DocKind::Representative, "checks" | "risk_reports"))
}

/// Checks a file to attach: its type by content, its size, its caption.
/// Returns its type and hash.
pub fn check_file(bytes: &[u8], caption: Option<&str>) -> Result<(MediaType, String)> {
    if bytes.len() as u64 > MAX_ATTACHMENT_BYTES {
        return Err(Error::invalid("attachment.bytes", "is larger than 25 MiB"));
    }
    let media_type = MediaType::sniff(bytes)
        .ok_or_else(|| Error::invalid("attachment.bytes", "is not a JPEG, PNG or PDF file (told by its content)"))?;
    if let Some(c) = caption {
        check_text(c, "attachment.caption", 200, false)?;
    }
    Ok((media_type, content_hash(bytes)))
}

/// Writes a reference into a document (in the change that attaches it).
pub fn put_ref<T: Transactable + ReadDoc>(tx: &mut T, r: &AttachmentRef) -> Result<()> {
    let obj = json::map_at(tx, &ROOT, ATTACHMENTS)?;
    json::put(tx, &obj, &r.key(), r)
}

/// The references a document holds (readable ones; a newer version's
/// unknown types are left out).
pub fn refs<R: ReadDoc>(doc: &R) -> Vec<AttachmentRef> {
    match json::read_key(doc, &ROOT, ATTACHMENTS) {
        Ok(Some(Json::Object(m))) => m.into_values().filter_map(|v| serde_json::from_value(v).ok()).collect(),
        _ => Vec::new(),
    }
}

/// The hashes a document references, for the server's index.
pub fn hashes<R: ReadDoc>(id: &DocId, doc: &R) -> Vec<String> {
    if !matches!(id.kind(), DocKind::Case | DocKind::Representative) {
        return Vec::new();
    }
    let mut out: Vec<String> = refs(doc).into_iter().map(|r| r.hash).filter(|h| is_hash(h)).collect();
    out.sort();
    out.dedup();
    out
}
