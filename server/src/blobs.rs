//! Attachments' files on the server: a chunked, resumable upload checked
//! chunk by chunk and whole, access exactly that of the documents that
//! reference a file (a file no readable document references is
//! unreachable), and every download audited. See `docs/protocol.md`.

use qamqor_core::docs::attachments::{self, MAX_ATTACHMENT_BYTES};
use qamqor_core::model::{CodeList, MediaType};
use serde::Serialize;

use crate::access;
use crate::error::{Result, ServerError};
use crate::model::AuditEntry;
use crate::service::{Caller, Service};
use crate::storage::BlobStatus;

/// The largest chunk accepted in one request.
pub const MAX_CHUNK: usize = 1 << 20;

/// One chunk of an upload, as a request carries it.
#[derive(Debug)]
pub struct Chunk<'a> {
    /// The file's content hash (its name).
    pub hash: &'a str,
    /// The type the client declares.
    pub media_type: &'a str,
    /// Where the chunk starts.
    pub offset: u64,
    /// The file's whole size.
    pub total: u64,
    /// The SHA-256 of the chunk, as the client computed it.
    pub chunk_sha256: &'a str,
    /// The chunk.
    pub data: &'a [u8],
}

/// The answer to a chunk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Received {
    /// Bytes of the file the server has.
    pub received: u64,
    /// The file is whole and checked.
    pub complete: bool,
}

fn audit(service: &Service, caller: &Caller, hash: &str, action: &str) -> Result<()> {
    service.storage().audit(&[AuditEntry {
        at: chrono::Utc::now().timestamp_millis(),
        user_id: caller.user.id.clone(),
        device_id: caller.device.id.clone(),
        doc_id: format!("blob:{hash}"),
        action: action.to_owned(),
        hashes: Vec::new(),
        address: caller.address.clone(),
    }])
}

/// Refuses unless the caller may read a stored document that references
/// the file; a refusal is audited. A revoked device may not.
fn check_access(service: &Service, caller: &Caller, hash: &str) -> Result<()> {
    if !attachments::is_hash(hash) {
        return Err(ServerError::BadRequest("a file is named by its SHA-256: 64 lowercase hexadecimal digits".into()));
    }
    if caller.device.revoked_at.is_some() {
        return Err(ServerError::Unauthorized("this device was revoked".into()));
    }
    let storage = service.storage();
    let grants = storage.grants(&caller.user.id)?;
    for id in storage.blob_docs(hash)? {
        if let Some(meta) = storage.doc_meta(&id)?
            && access::can_read(&caller.user, &grants, &meta)
        {
            return Ok(());
        }
    }
    audit(service, caller, hash, "blob_denied")?;
    // The same answer whether the file exists or not.
    Err(ServerError::Forbidden(
        "no record this user may read references this file (sync the record before its attachments)".into(),
    ))
}

/// Stores one chunk of a file, at the offset the server expects (its
/// bytes received so far: a chunk elsewhere is refused with `conflict`,
/// and the client asks [`status`] where to resume). The chunk's SHA-256
/// is checked, the file's type from its first bytes, and the whole file
/// against its name when the last chunk arrives: damaged content is
/// refused and not kept.
pub fn upload(service: &Service, caller: &Caller, c: &Chunk<'_>) -> Result<Received> {
    check_access(service, caller, c.hash)?;
    if c.total == 0 || c.total > MAX_ATTACHMENT_BYTES {
        return Err(ServerError::TooLarge(MAX_ATTACHMENT_BYTES as usize));
    }
    if c.data.is_empty() || c.offset + c.data.len() as u64 > c.total {
        return Err(ServerError::BadRequest("the chunk does not fit the file's size".into()));
    }
    if attachments::content_hash(c.data) != c.chunk_sha256 {
        return Err(ServerError::Damaged("the chunk's SHA-256 differs from the one sent: send it again".into()));
    }
    let declared = MediaType::from_code(c.media_type)
        .ok_or_else(|| ServerError::UnsupportedType("attachments are JPEG, PNG or PDF files".into()))?;
    let storage = service.storage();
    if let Some(s) = storage.blob_status(c.hash)? {
        if s.complete {
            return Ok(Received { received: s.size, complete: true });
        }
        if s.size != c.total || s.media_type != declared.code() {
            return Err(ServerError::Conflict("this file was started with another size or type".into()));
        }
    }
    if c.offset == 0 && MediaType::sniff(c.data) != Some(declared) {
        return Err(ServerError::UnsupportedType(format!(
            "the content is not a {} file (attachments are JPEG, PNG or PDF, told by content)",
            declared.code()
        )));
    }
    let received =
        storage.blob_append(c.hash, declared.code(), c.total, c.offset, c.data, chrono::Utc::now().timestamp())?;
    if received < c.total {
        return Ok(Received { received, complete: false });
    }
    let whole = storage.blob_read(c.hash)?.unwrap_or_default();
    let ok = attachments::content_hash(&whole) == c.hash;
    storage.blob_finish(c.hash, ok)?;
    if !ok {
        return Err(ServerError::Damaged(
            "the file received is not the one its name (SHA-256) says: send it again".into(),
        ));
    }
    audit(service, caller, c.hash, "blob_written")?;
    Ok(Received { received, complete: true })
}

/// How much of a file the server has (where to resume an upload).
pub fn status(service: &Service, caller: &Caller, hash: &str) -> Result<BlobStatus> {
    check_access(service, caller, hash)?;
    Ok(service.storage().blob_status(hash)?.unwrap_or(BlobStatus {
        media_type: String::new(),
        size: 0,
        received: 0,
        complete: false,
    }))
}

/// A whole file, with its type; audited.
pub fn download(service: &Service, caller: &Caller, hash: &str) -> Result<(String, Vec<u8>)> {
    check_access(service, caller, hash)?;
    let storage = service.storage();
    let status = storage.blob_status(hash)?.filter(|s| s.complete).ok_or_else(|| {
        ServerError::NotFound("the file has not reached the server yet (its phone sends it when it can)".into())
    })?;
    let bytes = storage.blob_read(hash)?.ok_or_else(|| ServerError::NotFound("no such file".into()))?;
    audit(service, caller, hash, "blob_read")?;
    Ok((status.media_type, bytes))
}
