//! Attachments on the phone: the file written with its reference in one
//! transaction, kept in the encrypted store, and queued to go up apart
//! from the documents (urgent first), resumable at the byte the server
//! has; files fetched from the server kept too, and evicted first.

use rusqlite::{OptionalExtension, params};
use serde::{Deserialize, Serialize};

use super::Store;
use crate::docs::attachments::{self, AttachmentRef};
use crate::docs::{DocId, has_event};
use crate::error::{Error, Result};
use crate::model::{CodeList, EventId, MediaType};

/// Where an attachment stands on its way to the server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum UploadState {
    /// Waiting to be sent.
    Queued,
    /// Partly sent: `sent` of `total` bytes are on the server.
    Sending {
        /// Bytes the server has.
        sent: u64,
        /// The file's size.
        total: u64,
    },
    /// On the server.
    Sent,
    /// The server refused it; it will not be sent again.
    Failed {
        /// Why, in the server's words.
        reason: String,
    },
}

/// An attachment waiting to go up, for the sync client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedUpload {
    /// The content hash.
    pub hash: String,
    /// The document referencing it.
    pub doc_id: DocId,
    /// Its type.
    pub media_type: MediaType,
    /// Its size.
    pub size: u64,
    /// Bytes the server had at the last contact.
    pub sent: u64,
    /// Goes before the others (a risk report's evidence, an urgent file's).
    pub urgent: bool,
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

impl Store {
    /// Attaches a file (a JPEG or PNG photo, a PDF scan; told by content,
    /// at most 25 MiB) to an event recorded in `doc` (`visits` of a case;
    /// `checks` or `risk_reports` of a representative's file). The file
    /// and its reference are written in one transaction, and the file is
    /// queued to go up. Attaching the same file to the same event again
    /// changes nothing.
    pub fn attach(
        &self,
        doc: &DocId,
        container: &str,
        event: &EventId,
        bytes: &[u8],
        caption: Option<String>,
    ) -> Result<AttachmentRef> {
        if !attachments::accepts(doc.kind(), container) {
            return Err(Error::invalid(
                "attachment.container",
                "files attach to a case's visits, or a representative's checks and risk reports",
            ));
        }
        let (media_type, hash) = attachments::check_file(bytes, caption.as_deref())?;
        let r = AttachmentRef {
            hash,
            media_type,
            size: bytes.len() as u64,
            caption,
            container: container.to_owned(),
            event: event.clone(),
            added_by: self.author().to_owned(),
            date: self.today(),
        };
        self.write(|w| {
            let d = w.doc(doc)?.ok_or_else(|| Error::not_found("record", doc.to_string()))?;
            if !has_event(d, container, event)? {
                return Err(Error::invalid("attachment.event", "names no event recorded in this file"));
            }
            if attachments::refs(d).iter().any(|x| x.key() == r.key()) {
                return Ok(());
            }
            let urgent = container == "risk_reports"
                || w.tx
                    .prepare_cached("SELECT EXISTS (SELECT 1 FROM q_urgent WHERE doc_id = ?1)")?
                    .query_row([doc.to_string()], |row| row.get::<_, bool>(0))?;
            w.tx.prepare_cached(
                "INSERT INTO blobs(hash, media_type, size, data, origin, last_used) VALUES (?1, ?2, ?3, ?4, 'local', ?5)
                 ON CONFLICT(hash) DO UPDATE SET origin = 'local'",
            )?
            .execute(params![r.hash, media_type.code(), r.size as i64, bytes, now()])?;
            w.tx.prepare_cached(
                "INSERT INTO blob_uploads(hash, doc_id, urgent, state, queued_at) VALUES (?1, ?2, ?3, 'queued', ?4)
                 ON CONFLICT(hash) DO UPDATE SET urgent = max(urgent, ?3)",
            )?
            .execute(params![r.hash, doc.to_string(), urgent, now()])?;
            w.edit(doc, |tx| attachments::put_ref(tx, &r))
        })?;
        Ok(r)
    }

    /// The files attached to a record's events.
    pub fn attachments(&self, doc: &DocId) -> Result<Vec<AttachmentRef>> {
        let doc = self.resolve(doc)?;
        let mut refs = self.with_doc(&doc, |d| Ok(attachments::refs(d)))?;
        refs.sort_by(|a, b| a.date.cmp(&b.date).then_with(|| a.key().cmp(&b.key())));
        Ok(refs)
    }

    /// The bytes of an attachment, if this phone has them (attached here
    /// or fetched); `None` means fetch it from the server.
    pub fn attachment_bytes(&self, hash: &str) -> Result<Option<Vec<u8>>> {
        self.write(|w| {
            w.tx.prepare_cached("UPDATE blobs SET last_used = ?2 WHERE hash = ?1")?.execute(params![hash, now()])?;
            Ok(w.tx
                .prepare_cached("SELECT data FROM blobs WHERE hash = ?1")?
                .query_row([hash], |r| r.get(0))
                .optional()?)
        })
    }

    /// The files referenced by the records on this phone whose bytes are
    /// not here, newest first (what fetching ahead on Wi-Fi would get).
    pub fn missing_attachments(&self) -> Result<Vec<AttachmentRef>> {
        let mut out = Vec::new();
        for id in self.document_ids()? {
            if !matches!(id.kind(), crate::docs::DocKind::Case | crate::docs::DocKind::Representative) {
                continue;
            }
            for r in self.with_doc(&id, |d| Ok(attachments::refs(d)))? {
                if !out.iter().any(|x: &AttachmentRef| x.hash == r.hash) && !self.has_attachment(&r.hash)? {
                    out.push(r);
                }
            }
        }
        out.sort_by(|a, b| b.date.cmp(&a.date).then_with(|| a.hash.cmp(&b.hash)));
        Ok(out)
    }

    /// Whether an attachment's bytes are on this phone.
    pub fn has_attachment(&self, hash: &str) -> Result<bool> {
        self.read(|c| {
            Ok(c.prepare_cached("SELECT EXISTS (SELECT 1 FROM blobs WHERE hash = ?1)")?
                .query_row([hash], |r| r.get(0))?)
        })
    }

    /// Where an attachment attached on this phone stands on its way up;
    /// `None` for one this phone did not attach.
    pub fn upload_state(&self, hash: &str) -> Result<Option<UploadState>> {
        self.read(|c| {
            let row: Option<(String, i64, Option<String>, i64)> = c
                .prepare_cached(
                    "SELECT u.state, u.sent, u.reason, b.size FROM blob_uploads u JOIN blobs b ON b.hash = u.hash
                     WHERE u.hash = ?1",
                )?
                .query_row([hash], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
                .optional()?;
            Ok(row.map(|(state, sent, reason, size)| match state.as_str() {
                "sent" => UploadState::Sent,
                "failed" => UploadState::Failed { reason: reason.unwrap_or_default() },
                _ if sent > 0 => UploadState::Sending { sent: sent as u64, total: size as u64 },
                _ => UploadState::Queued,
            }))
        })
    }

    /// The attachments waiting to go up whose time has come, urgent first,
    /// then oldest first.
    pub fn upload_queue(&self) -> Result<Vec<QueuedUpload>> {
        self.read(|c| {
            let mut st = c.prepare_cached(
                "SELECT u.hash, u.doc_id, b.media_type, b.size, u.sent, u.urgent FROM blob_uploads u
                 JOIN blobs b ON b.hash = u.hash
                 WHERE u.state = 'queued' AND u.next_try <= ?1 ORDER BY u.urgent DESC, u.queued_at, u.hash",
            )?;
            let rows = st.query_map([now()], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                ))
            })?;
            let mut out = Vec::new();
            for row in rows {
                let (hash, doc, media, size, sent, urgent): (String, String, String, i64, i64, bool) = row?;
                let Some(media_type) = MediaType::from_code(&media) else { continue };
                out.push(QueuedUpload {
                    hash,
                    doc_id: DocId::parse(&doc)?,
                    media_type,
                    size: size as u64,
                    sent: sent as u64,
                    urgent,
                });
            }
            Ok(out)
        })
    }

    /// `len` bytes of a file from `offset`, read without loading the rest.
    pub fn attachment_chunk(&self, hash: &str, offset: u64, len: u64) -> Result<Vec<u8>> {
        self.read(|c| {
            c.prepare_cached("SELECT substr(data, ?2, ?3) FROM blobs WHERE hash = ?1")?
                .query_row(params![hash, offset as i64 + 1, len as i64], |r| r.get(0))
                .optional()?
                .ok_or_else(|| Error::not_found("attachment", hash.chars().take(64).collect::<String>()))
        })
    }

    /// Records how many bytes of an upload the server has (`complete`:
    /// all of it, checked).
    pub fn upload_progress(&self, hash: &str, sent: u64, complete: bool) -> Result<()> {
        self.write(|w| {
            w.tx.prepare_cached(
                "UPDATE blob_uploads SET sent = ?2, state = CASE WHEN ?3 THEN 'sent' ELSE state END, attempts = 0
                 WHERE hash = ?1",
            )?
            .execute(params![hash, sent as i64, complete])?;
            Ok(())
        })
    }

    /// Records a failed attempt: retried after `retry_after` seconds, or
    /// never again when the server refused the file (`permanent`).
    pub fn upload_failed(&self, hash: &str, reason: &str, permanent: bool, retry_after: i64) -> Result<()> {
        self.write(|w| {
            w.tx.prepare_cached(
                "UPDATE blob_uploads SET attempts = attempts + 1, reason = ?2, next_try = ?3,
                 state = CASE WHEN ?4 THEN 'failed' ELSE state END WHERE hash = ?1",
            )?
            .execute(params![
                hash,
                reason.chars().take(300).collect::<String>(),
                now() + retry_after,
                permanent
            ])?;
            Ok(())
        })
    }

    /// The number of failed attempts at an upload (for the back-off).
    pub fn upload_attempts(&self, hash: &str) -> Result<u32> {
        self.read(|c| {
            Ok(c.prepare_cached("SELECT attempts FROM blob_uploads WHERE hash = ?1")?
                .query_row([hash], |r| r.get::<_, i64>(0))
                .optional()?
                .unwrap_or(0) as u32)
        })
    }

    /// Keeps a file fetched from the server, after checking it is the one
    /// its hash names.
    pub fn keep_fetched(&self, hash: &str, bytes: &[u8]) -> Result<MediaType> {
        if attachments::content_hash(bytes) != hash {
            return Err(Error::invalid("attachment", "the file received is not the one its hash names"));
        }
        let media_type = MediaType::sniff(bytes)
            .ok_or_else(|| Error::invalid("attachment", "the file received is not a JPEG, PNG or PDF"))?;
        self.write(|w| {
            w.tx.prepare_cached(
                "INSERT INTO blobs(hash, media_type, size, data, origin, last_used) VALUES (?1, ?2, ?3, ?4, 'fetched', ?5)
                 ON CONFLICT(hash) DO UPDATE SET last_used = ?5",
            )?
            .execute(params![hash, media_type.code(), bytes.len() as i64, bytes, now()])?;
            Ok(())
        })?;
        Ok(media_type)
    }

    /// Keeps the fetched files within `budget` bytes, evicting the least
    /// recently used; a file attached on this phone is never evicted.
    /// Returns how many were evicted.
    pub fn evict_fetched(&self, budget: u64) -> Result<usize> {
        self.write(|w| {
            let rows: Vec<(String, i64)> = w
                .tx
                .prepare_cached("SELECT hash, size FROM blobs WHERE origin = 'fetched' ORDER BY last_used DESC, hash")?
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<rusqlite::Result<_>>()?;
            let mut kept = 0u64;
            let mut evicted = 0;
            for (hash, size) in rows {
                kept += size as u64;
                if kept > budget {
                    w.tx.prepare_cached("DELETE FROM blobs WHERE hash = ?1 AND origin = 'fetched'")?
                        .execute([&hash])?;
                    evicted += 1;
                }
            }
            Ok(evicted)
        })
    }
}
