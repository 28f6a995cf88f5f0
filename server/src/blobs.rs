//! Attachments' files on the server: a chunked, resumable upload checked
//! chunk by chunk and whole, access exactly that of the documents that
//! reference a file (a file no readable document references is
//! unreachable), every download audited, and files no document references
//! collected after a grace period. See `docs/protocol.md`.
//!
//! Where the bytes live is a [`BlobStore`]: the database by default
//! ([`InDatabase`], SQLite and PostgreSQL alike, so one backup holds
//! everything), or a folder ([`InFolder`], `blob_dir`), which keeps large
//! files out of the database and its backups.

use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use qamqor_core::docs::attachments::{self, MAX_ATTACHMENT_BYTES};
use qamqor_core::model::{CodeList, MediaType};
use serde::Serialize;

use crate::access;
use crate::error::{Result, ServerError};
use crate::model::AuditEntry;
use crate::service::{Caller, Service};
use crate::storage::{BlobStatus, Storage};

/// Where attachments' bytes are kept.
pub trait BlobStore: Send + Sync {
    /// A file's record, if it has been (or is being) received.
    fn status(&self, hash: &str) -> Result<Option<BlobStatus>>;
    /// Appends a chunk at `offset` (see [`Storage::blob_append`]); the
    /// chunk is durable when this returns.
    fn append(&self, hash: &str, media_type: &str, size: u64, offset: u64, data: &[u8], now: i64) -> Result<u64>;
    /// The bytes received so far.
    fn read(&self, hash: &str) -> Result<Option<Vec<u8>>>;
    /// Marks a file complete (`ok`), or drops it.
    fn finish(&self, hash: &str, ok: bool) -> Result<()>;
    /// Every file held, with when it was started.
    fn list(&self) -> Result<Vec<(String, i64)>>;
}

/// Files in the server's database (the default).
pub struct InDatabase(pub Arc<dyn Storage>);

impl BlobStore for InDatabase {
    fn status(&self, hash: &str) -> Result<Option<BlobStatus>> {
        self.0.blob_status(hash)
    }
    fn append(&self, hash: &str, media_type: &str, size: u64, offset: u64, data: &[u8], now: i64) -> Result<u64> {
        self.0.blob_append(hash, media_type, size, offset, data, now)
    }
    fn read(&self, hash: &str) -> Result<Option<Vec<u8>>> {
        self.0.blob_read(hash)
    }
    fn finish(&self, hash: &str, ok: bool) -> Result<()> {
        self.0.blob_finish(hash, ok)
    }
    fn list(&self) -> Result<Vec<(String, i64)>> {
        self.0.blob_list()
    }
}

/// Files in a folder: `<hash>.part` while received, `<hash>` when whole,
/// each with `<hash>.json` (type, size, start). Every chunk is written and
/// synced to disk before it is acknowledged. One server process writes a
/// folder (several processes on one database keep files in the database).
pub struct InFolder {
    dir: PathBuf,
    lock: Mutex<()>,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct FolderMeta {
    media_type: String,
    size: u64,
    created_at: i64,
    complete: bool,
}

impl InFolder {
    /// Files in `dir` (made if missing, readable by the server's user only).
    pub fn open(dir: impl Into<PathBuf>) -> Result<Self> {
        let dir = dir.into();
        std::fs::create_dir_all(&dir)
            .map_err(|e| ServerError::Config(format!("blob_dir {} cannot be made: {e}", dir.display())))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))?;
        }
        Ok(InFolder { dir, lock: Mutex::new(()) })
    }

    fn path(&self, hash: &str, ext: &str) -> Result<PathBuf> {
        if !attachments::is_hash(hash) {
            return Err(ServerError::BadRequest("not a file's hash".into()));
        }
        Ok(self.dir.join(format!("{hash}{ext}")))
    }

    fn meta(&self, hash: &str) -> Result<Option<FolderMeta>> {
        match std::fs::read(self.path(hash, ".json")?) {
            Ok(b) => Ok(serde_json::from_slice(&b).ok()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    fn write_meta(&self, hash: &str, m: &FolderMeta) -> Result<()> {
        let tmp = self.path(hash, ".json.tmp")?;
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(&serde_json::to_vec(m).map_err(|e| ServerError::Config(e.to_string()))?)?;
        f.sync_all()?;
        std::fs::rename(&tmp, self.path(hash, ".json")?)?;
        Ok(())
    }

    fn data_path(&self, hash: &str, complete: bool) -> Result<PathBuf> {
        self.path(hash, if complete { "" } else { ".part" })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ()> {
        self.lock.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl BlobStore for InFolder {
    fn status(&self, hash: &str) -> Result<Option<BlobStatus>> {
        let _g = self.lock();
        let Some(m) = self.meta(hash)? else { return Ok(None) };
        let received = std::fs::metadata(self.data_path(hash, m.complete)?).map(|x| x.len()).unwrap_or(0);
        Ok(Some(BlobStatus { media_type: m.media_type, size: m.size, received, complete: m.complete }))
    }

    fn append(&self, hash: &str, media_type: &str, size: u64, offset: u64, data: &[u8], now: i64) -> Result<u64> {
        let _g = self.lock();
        let part = self.data_path(hash, false)?;
        let received = match self.meta(hash)? {
            Some(_) => std::fs::metadata(&part).map(|x| x.len()).unwrap_or(0),
            None if offset == 0 => {
                self.write_meta(
                    hash,
                    &FolderMeta { media_type: media_type.to_owned(), size, created_at: now, complete: false },
                )?;
                std::fs::File::create(&part)?;
                0
            }
            None => return Err(ServerError::Conflict("expected offset 0: nothing of this file was received".into())),
        };
        if offset != received {
            return Err(ServerError::Conflict(format!("expected offset {received}: the bytes received so far")));
        }
        let mut f = std::fs::OpenOptions::new().append(true).open(&part)?;
        f.write_all(data)?;
        f.sync_all()?;
        Ok(received + data.len() as u64)
    }

    fn read(&self, hash: &str) -> Result<Option<Vec<u8>>> {
        let _g = self.lock();
        let Some(m) = self.meta(hash)? else { return Ok(None) };
        Ok(Some(std::fs::read(self.data_path(hash, m.complete)?)?))
    }

    fn finish(&self, hash: &str, ok: bool) -> Result<()> {
        let _g = self.lock();
        let Some(mut m) = self.meta(hash)? else { return Ok(()) };
        if ok {
            if !m.complete {
                std::fs::rename(self.data_path(hash, false)?, self.data_path(hash, true)?)?;
                m.complete = true;
                self.write_meta(hash, &m)?;
            }
        } else {
            let _ = std::fs::remove_file(self.data_path(hash, m.complete)?);
            std::fs::remove_file(self.path(hash, ".json")?)?;
        }
        Ok(())
    }

    fn list(&self) -> Result<Vec<(String, i64)>> {
        let _g = self.lock();
        let mut out = Vec::new();
        for e in std::fs::read_dir(&self.dir)? {
            let name = e?.file_name().to_string_lossy().into_owned();
            if let Some(hash) = name.strip_suffix(".json")
                && attachments::is_hash(hash)
                && let Some(m) = self.meta(hash)?
            {
                out.push((hash.to_owned(), m.created_at));
            }
        }
        out.sort();
        Ok(out)
    }
}

/// Files no document references, started more than `grace_secs` ago
/// (an upload whose record never came, a file whose references are gone),
/// are removed. Returns how many.
pub fn collect_garbage(service: &Service, grace_secs: i64, now: i64) -> Result<usize> {
    let blobs = service.blobs();
    let mut removed = 0;
    for (hash, created_at) in blobs.list()? {
        if created_at > now - grace_secs || !service.storage().blob_docs(&hash)?.is_empty() {
            continue;
        }
        blobs.finish(&hash, false)?;
        removed += 1;
    }
    if removed > 0 {
        tracing::info!(removed, "attachment files no record references were removed");
    }
    Ok(removed)
}

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
    let storage = service.blobs();
    if let Some(s) = storage.status(c.hash)? {
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
        storage.append(c.hash, declared.code(), c.total, c.offset, c.data, chrono::Utc::now().timestamp())?;
    if received < c.total {
        return Ok(Received { received, complete: false });
    }
    let whole = storage.read(c.hash)?.unwrap_or_default();
    let ok = attachments::content_hash(&whole) == c.hash;
    storage.finish(c.hash, ok)?;
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
    Ok(service.blobs().status(hash)?.unwrap_or(BlobStatus {
        media_type: String::new(),
        size: 0,
        received: 0,
        complete: false,
    }))
}

/// A whole file, with its type; audited.
pub fn download(service: &Service, caller: &Caller, hash: &str) -> Result<(String, Vec<u8>)> {
    check_access(service, caller, hash)?;
    let blobs = service.blobs();
    let status = blobs.status(hash)?.filter(|s| s.complete).ok_or_else(|| {
        ServerError::NotFound("the file has not reached the server yet (its phone sends it when it can)".into())
    })?;
    let bytes = blobs.read(hash)?.ok_or_else(|| ServerError::NotFound("no such file".into()))?;
    audit(service, caller, hash, "blob_read")?;
    Ok((status.media_type, bytes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::sqlite::SqliteStorage;

    fn conforms(store: &dyn BlobStore) {
        let bytes: Vec<u8> = b"%PDF-1.7 ".iter().copied().chain((0..5000u32).map(|i| i as u8)).collect();
        let hash = attachments::content_hash(&bytes);
        assert_eq!(store.status(&hash).unwrap(), None);
        assert!(matches!(
            store.append(&hash, "application/pdf", 5009, 100, &bytes[100..200], 1),
            Err(ServerError::Conflict(_))
        ));
        assert_eq!(store.append(&hash, "application/pdf", 5009, 0, &bytes[..3000], 1).unwrap(), 3000);
        assert!(matches!(
            store.append(&hash, "application/pdf", 5009, 2000, &bytes[2000..], 1),
            Err(ServerError::Conflict(_))
        ));
        let s = store.status(&hash).unwrap().unwrap();
        assert_eq!((s.received, s.size, s.complete, s.media_type.as_str()), (3000, 5009, false, "application/pdf"));
        assert_eq!(store.append(&hash, "application/pdf", 5009, 3000, &bytes[3000..], 1).unwrap(), 5009);
        store.finish(&hash, true).unwrap();
        assert!(store.status(&hash).unwrap().unwrap().complete);
        assert_eq!(store.read(&hash).unwrap().unwrap(), bytes);
        assert_eq!(store.list().unwrap(), vec![(hash.clone(), 1)]);
        store.finish(&hash, false).unwrap();
        assert_eq!(store.status(&hash).unwrap(), None);
        assert_eq!(store.read(&hash).unwrap(), None);
        assert!(store.list().unwrap().is_empty());
    }

    #[test]
    fn the_database_and_a_folder_keep_files_alike() {
        let dir = tempfile::tempdir().unwrap();
        let storage: Arc<dyn Storage> = Arc::new(SqliteStorage::open(&dir.path().join("s.db")).unwrap());
        conforms(&InDatabase(storage));
        conforms(&InFolder::open(dir.path().join("blobs")).unwrap());
    }

    #[test]
    fn files_no_record_references_are_collected_after_the_grace() {
        let dir = tempfile::tempdir().unwrap();
        let storage: Arc<dyn Storage> = Arc::new(SqliteStorage::open(&dir.path().join("s.db")).unwrap());
        let service = Service::new(storage, Default::default(), 3600);
        let bytes = b"%PDF-1.7 orphan".to_vec();
        let hash = attachments::content_hash(&bytes);
        service.blobs().append(&hash, "application/pdf", bytes.len() as u64, 0, &bytes, 1_000).unwrap();
        service.blobs().finish(&hash, true).unwrap();
        assert_eq!(collect_garbage(&service, 86_400, 1_000 + 3_600).unwrap(), 0, "within the grace");
        assert_eq!(collect_garbage(&service, 86_400, 1_000 + 86_401).unwrap(), 1);
        assert_eq!(service.blobs().status(&hash).unwrap(), None);
    }
}
