//! The server's storage contract. [`Storage`] is its signature; the
//! conformance suite in [`conformance`] is the contract itself: every
//! backend must pass it, including two instances sharing one database.
//!
//! The contract, in short:
//! - **Several processes may share one database.** Nothing needed for
//!   correctness lives only in one process's memory; a process may cache a
//!   document only as long as its feed sequence says it is current.
//! - **One request, one transaction.** [`Storage::sync_tx`] runs the
//!   service's plan in one write transaction; the backend may run it again
//!   (after a serialization failure or a busy database), so the closure
//!   must compute everything from what it reads in that transaction.
//! - **A gap-free change feed.** Every stored document change and every
//!   change of who may see a document gets a sequence number; a reader
//!   that has seen the feed up to `n` never later finds a commit numbered
//!   below `n`. SQLite gets this from its single writer: numbers are taken
//!   inside the write transaction, so commit order is number order.
//! - **Typed and failing closed.** Kinds, tiers and roles are read into
//!   enums; a value the server does not know is an error (and so a denial),
//!   never a default.

pub mod cache;
pub mod conformance;
pub mod postgres;
pub mod quiet;
pub mod sqlite;

use std::collections::HashMap;

use automerge::Automerge;
use qamqor_core::docs::{AccessTier, DocId, Facts, Projection};
use qamqor_core::sync::wire::SyncResponse;

use crate::access::Grants;
use crate::error::Result;
use crate::model::{AuditCheck, AuditEntry, ConsoleAccount, ConsoleSession, Device, DocMeta, HeldDocument, User};

/// The caller of a sync request as of the request's transaction.
#[derive(Debug, Clone)]
pub struct SyncCaller {
    /// The device.
    pub device: Device,
    /// Its user.
    pub user: User,
    /// Assignments and mentor profiles.
    pub grants: Grants,
    /// The user's access epoch.
    pub epoch: u64,
    /// The epoch the device last rescanned the feed under.
    pub seen_epoch: u64,
}

/// A file for attachments as the server holds it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct BlobStatus {
    /// Its type (`image/jpeg`, …).
    pub media_type: String,
    /// Its size when whole.
    pub size: u64,
    /// Bytes received so far.
    pub received: u64,
    /// Received whole and checked against its hash.
    pub complete: bool,
}

/// A region's report as the national server stored it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredReport {
    /// The region's code.
    pub region: String,
    /// The date the report describes.
    pub as_of: chrono::NaiveDate,
    /// When it was received (Unix seconds).
    pub received_at: i64,
    /// The report (JSON, as checked on receipt).
    pub body: String,
}

/// A document the device holds (or held) according to the server.
#[derive(Debug, Clone)]
pub struct Held {
    /// The document id.
    pub id: DocId,
    /// Its metadata (`None`: not yet stored on the server).
    pub meta: Option<DocMeta>,
    /// The device has been told to delete it and has not acknowledged.
    pub removal: bool,
    /// Stored, but its metadata holds a value this server does not know:
    /// treated as visible to no one.
    pub damaged: bool,
}

/// Which of the documents a device holds a sync transaction reads (besides
/// those awaiting removal, always read).
#[derive(Debug, Clone, Copy)]
pub enum HeldScope<'a> {
    /// Only those awaiting removal.
    Removals,
    /// Also those among these ids.
    Among(&'a [DocId]),
    /// Every one.
    All,
}

/// The feed documents a device may be offered, narrowed in the database:
/// a superset of what [`crate::access::can_read`] allows (the caller
/// checks each document it gets), so that a phone does not read a whole
/// region's, or a country's, changes to find its district's.
#[derive(Debug, Clone, Default)]
pub struct FeedScope {
    /// Every document (no narrowing).
    pub everything: bool,
    /// The device whose held documents are always included.
    pub device_id: String,
    /// Documents of this region whose district starts with one of
    /// `prefixes` (КАТО prefixes, see `Kato::prefix`; an empty prefix: the
    /// whole region, with or without a district).
    pub region: Option<String>,
    /// See `region`.
    pub prefixes: Vec<String>,
    /// Documents with these ids (the user's assignments).
    pub ids: Vec<String>,
    /// Documents of these kinds (their prefixes).
    pub kinds: Vec<String>,
}

impl FeedScope {
    /// Every document, for maintenance and the conformance checks.
    pub fn everything() -> Self {
        FeedScope { everything: true, ..FeedScope::default() }
    }
}

/// A document and the device's sync state for it, as loaded in a sync
/// transaction.
#[derive(Debug)]
pub struct Loaded {
    /// The document (empty when not stored yet).
    pub doc: Automerge,
    /// The device's persisted sync state (empty: none).
    pub state: Vec<u8>,
}

/// One document's outcome to store.
#[derive(Debug)]
pub struct DocWrite {
    /// The document.
    pub id: DocId,
    /// New content: the whole document after the exchange, the heads it
    /// had before, and its projection.
    pub content: Option<(Automerge, Vec<automerge::ChangeHash>, Projection)>,
    /// The device's sync state to persist.
    pub state: Vec<u8>,
    /// For a document not stored before, its saved form when the caller
    /// has it (the bytes the device sent whole, already loaded and
    /// checked): stored as it is instead of saving the document again.
    pub saved: Option<Vec<u8>>,
}

/// The operations of one sync transaction. Reads are batched: each takes
/// every id it needs at once, so a request costs a fixed number of
/// storage round trips whatever its size.
pub trait SyncTx {
    /// Says that the request will store something. A read snapshot (see
    /// [`Storage::sync_read`]) answers `true`: the caller stops there, and
    /// the request is served again in a write transaction.
    fn must_write(&mut self) -> bool {
        false
    }
    /// The device, its user and their grants; `None` for an unknown device.
    fn caller(&mut self, device_id: &str) -> Result<Option<SyncCaller>>;
    /// Metadata of the documents stored among `ids`; `None` for a stored
    /// document whose metadata holds a value this server does not know
    /// (never served, never written).
    fn metas(&mut self, ids: &[DocId]) -> Result<HashMap<DocId, Option<DocMeta>>>;
    /// The stored size of the documents among `ids` (snapshot and appended
    /// changes, in bytes).
    fn sizes(&mut self, ids: &[DocId]) -> Result<HashMap<DocId, u64>>;
    /// The documents the device holds according to the server: those
    /// awaiting removal always, and the others `scope` names.
    fn held(&mut self, device_id: &str, scope: HeldScope<'_>) -> Result<Vec<Held>>;
    /// The feed's end (the highest sequence committed).
    fn feed_end(&mut self) -> Result<u64>;
    /// Documents within `scope` changed after `after`, in feed order, at
    /// most `limit`.
    fn feed(&mut self, after: u64, limit: usize, scope: &FeedScope) -> Result<Vec<DocMeta>>;
    /// Urgent documents within `scope` changed after `after`, in feed
    /// order, at most `limit`.
    fn urgent_feed(&mut self, after: u64, limit: usize, scope: &FeedScope) -> Result<Vec<DocMeta>>;
    /// How many documents within `scope` changed after `after` that the
    /// scope's device does not hold yet, counting at most `cap` (a phone's
    /// progress bar: how many new documents a long sync still brings).
    fn feed_count(&mut self, after: u64, cap: usize, scope: &FeedScope) -> Result<u64>;
    /// The documents (with the sequence the caller's metadata says they are
    /// at, `None` if new) and the device's sync states, in order.
    fn load(&mut self, device_id: &str, docs: &[(DocId, Option<u64>)]) -> Result<Vec<Loaded>>;
    /// The stored form of the documents among `ids` (the snapshot followed
    /// by its appended change chunks: what `Automerge::load` reads), without
    /// loading them.
    fn saved(&mut self, ids: &[DocId]) -> Result<HashMap<DocId, Vec<u8>>>;
    /// Stores documents' new changes (with new sequence numbers and
    /// projections; compacting and verifying as needed) and the device's
    /// sync states.
    fn store(&mut self, device_id: &str, writes: Vec<DocWrite>) -> Result<()>;
    /// Marks documents as to be deleted by the device.
    fn set_removals(&mut self, device_id: &str, ids: &[DocId]) -> Result<()>;
    /// The device acknowledged deleting these (only rows awaiting removal
    /// are forgotten).
    fn ack_removals(&mut self, device_id: &str, ids: &[DocId]) -> Result<()>;
    /// Records that the device rescanned the feed under `epoch`.
    fn set_seen_epoch(&mut self, device_id: &str, epoch: u64) -> Result<()>;
    /// Records the device's last sync and cursor.
    fn touch_device(&mut self, device_id: &str, at: i64, cursor: u64) -> Result<()>;
    /// Records read-record ids a device sent; returns those not seen before
    /// (to be audited once).
    fn new_reads(&mut self, device_id: &str, ids: &[String]) -> Result<Vec<String>>;
    /// Stores a renewed token (hashed) for the device; the current one stays
    /// valid until this one is first used (see [`Storage::device_by_token`]).
    fn renew_token(&mut self, device_id: &str, token_hash: &str, expires_at: i64) -> Result<()>;
    /// Records that a revoked device has wiped its data.
    fn mark_wiped(&mut self, device_id: &str, at: i64) -> Result<()>;
    /// Appends audit lines.
    fn audit(&mut self, entries: &[AuditEntry]) -> Result<()>;
    /// Keeps a document the access rules refused, for the office to hand
    /// on (replacing an earlier copy from the same device).
    fn hold(&mut self, held: &HeldDocument, doc: &Automerge) -> Result<()>;
}

/// Storage for users, devices, documents, sync state and audit.
///
/// Every method is blocking; the HTTP layer calls it from blocking threads.
pub trait Storage: Send + Sync + 'static {
    /// Creates a user.
    fn create_user(&self, user: &User) -> Result<()>;
    /// Replaces a user's record (districts, adoption grant) and moves the
    /// user's access epoch.
    fn update_user(&self, user: &User) -> Result<()>;
    /// A user by id. A stored user with an unknown role is an error.
    fn user(&self, id: &str) -> Result<Option<User>>;
    /// Every user.
    fn users(&self) -> Result<Vec<User>>;

    /// Stores an enrollment code: `code_id` in clear, the secret hashed.
    fn add_enrollment_code(&self, code_id: &str, secret_hash: &str, user_id: &str, expires_at: i64) -> Result<()>;
    /// The secret hash, user and expiry of an unused code.
    fn enrollment_code(&self, code_id: &str) -> Result<Option<(String, String, i64)>>;
    /// Reserves one attempt at a live code's secret for a client address,
    /// atomically (concurrent attempts cannot exceed the limits): `None`
    /// when the code is unknown, used or expired, when `address` already
    /// made `per_address` attempts at it, or when the code had `total`
    /// attempts (it is then spent). Otherwise the secret hash and the user.
    fn reserve_code_attempt(
        &self,
        code_id: &str,
        address: &str,
        now: i64,
        per_address: u32,
        total: u32,
    ) -> Result<Option<(String, String)>>;
    /// Consumes the code and registers the device, atomically; returns the
    /// device as registered. An actor already registered to a live device
    /// of the same user is that device enrolled again: it keeps its id and
    /// sync state and gets the new token. Fails if the code was used
    /// meanwhile, or the actor belongs to another user's or a revoked device.
    fn enroll(&self, code_id: &str, device: &Device, token_hash: &str) -> Result<Device>;
    /// The device holding a token. A renewed token used for the first time
    /// becomes the device's token (the previous one stops working).
    fn device_by_token(&self, token_hash: &str) -> Result<Option<Device>>;
    /// Every device.
    fn devices(&self) -> Result<Vec<Device>>;
    /// Revokes a device.
    fn revoke_device(&self, device_id: &str, at: i64) -> Result<()>;

    /// Assigns a document to a user (or withdraws it); the document's
    /// feed sequence moves so that phones learn of it at their next sync.
    fn assign(&self, user_id: &str, doc_id: &DocId, assigned: bool) -> Result<()>;
    /// The user's assignments and mentor profiles.
    fn grants(&self, user_id: &str) -> Result<Grants>;

    /// A user's console sign-in, if set.
    fn console_account(&self, user_id: &str) -> Result<Option<ConsoleAccount>>;
    /// Sets (or replaces) a user's console sign-in; ends their sessions.
    fn set_console_account(&self, account: &ConsoleAccount) -> Result<()>;
    /// Records a sign-in attempt's outcome atomically: on failure, counts
    /// it and locks the account for `lock_secs` at `max_failures`; on
    /// success, resets the count and records the TOTP step used. Returns
    /// the failures now counted.
    fn console_attempt(
        &self,
        user_id: &str,
        ok: Option<i64>,
        now: i64,
        max_failures: u32,
        lock_secs: i64,
    ) -> Result<u32>;
    /// Sets the user's console language.
    fn set_console_lang(&self, user_id: &str, lang: &str) -> Result<()>;
    /// Opens a session (the token is stored hashed).
    fn create_session(&self, token_hash: &str, session: &ConsoleSession) -> Result<()>;
    /// The session of a token, if it exists and has not expired at `now`.
    fn session(&self, token_hash: &str, now: i64) -> Result<Option<ConsoleSession>>;
    /// Ends one session.
    fn end_session(&self, token_hash: &str) -> Result<()>;
    /// Ends every session of a user (sign-out everywhere).
    fn end_sessions(&self, user_id: &str) -> Result<()>;

    /// The facts of every stored document the figures count (documents
    /// this version cannot read have none), with each one's access tier.
    fn facts(&self) -> Result<Vec<(DocId, AccessTier, Facts)>>;
    /// A document's metadata.
    fn doc_meta(&self, id: &DocId) -> Result<Option<DocMeta>>;
    /// The whole document, as stored.
    fn load_doc(&self, id: &DocId) -> Result<Option<Automerge>>;
    /// Urgent documents changed after `cursor`.
    fn urgent_since(&self, cursor: u64) -> Result<Vec<DocMeta>>;
    /// The change feed's end (the highest sequence committed).
    fn feed_end(&self) -> Result<u64>;

    /// Runs `f` in one write transaction and commits it before returning:
    /// every reply acknowledges only what is on disk. `f` may be run again
    /// (a retried transaction) and must then give the same result from
    /// what it reads.
    fn sync_tx(&self, f: &mut dyn FnMut(&mut dyn SyncTx) -> Result<SyncResponse>) -> Result<SyncResponse>;

    /// Runs `f` on a consistent read snapshot, without the write lock, for
    /// a request that may store nothing (no documents, acknowledgements or
    /// read records). `None` when `f` had something to store (besides the
    /// device's last sync): the caller then runs [`Storage::sync_tx`]. The
    /// last sync is written behind, within [`quiet::TOUCH_BEHIND`]. A
    /// backend without a read path answers `None`.
    fn sync_read(&self, f: &mut dyn FnMut(&mut dyn SyncTx) -> Result<SyncResponse>) -> Result<Option<SyncResponse>> {
        let _ = f;
        Ok(None)
    }

    /// Recomputes every document's projection when it was derived under
    /// another [`qamqor_core::docs::PROJECTION_VERSION`]. Returns how many
    /// documents were projected again (0 when already current).
    fn reproject(&self) -> Result<usize>;

    /// Stores documents the server itself wrote (an import, a merge made
    /// in the console), with `audit`, in one transaction: each saved
    /// document is merged into the stored one of its id (or stored as new)
    /// and, where that changed it, enters the change feed. Returns how many
    /// documents changed.
    fn put_documents(&self, docs: &[(DocId, Vec<u8>)], audit: &[AuditEntry]) -> Result<usize>;
    /// Pairs of stored files of one kind that are likely one person's: the
    /// same IIN, or the same name key and birth date (`(first, second,
    /// same IIN)`, the first the smaller id). Pairs a person marked as two
    /// people are the caller's to leave out (the mark is in the documents).
    fn likely_duplicates(&self) -> Result<Vec<(DocId, DocId, bool)>>;
    /// Who each stored document of `kind` is about (cases,
    /// representatives' files and mentor profiles; other kinds have none).
    fn people(&self, kind: qamqor_core::docs::DocKind) -> Result<Vec<(DocId, qamqor_core::docs::Identity)>>;

    /// The documents that reference a file (by content hash).
    fn blob_docs(&self, hash: &str) -> Result<Vec<DocId>>;
    /// A file's record, if it has been (or is being) received.
    fn blob_status(&self, hash: &str) -> Result<Option<BlobStatus>>;
    /// Appends a chunk of a file at `offset`; the first chunk (offset 0)
    /// makes its record. A chunk at another offset than the bytes received
    /// so far is refused (`Conflict`), changing nothing. Returns the bytes
    /// received.
    fn blob_append(&self, hash: &str, media_type: &str, size: u64, offset: u64, data: &[u8], now: i64) -> Result<u64>;
    /// The bytes of a file received so far, in order.
    fn blob_read(&self, hash: &str) -> Result<Option<Vec<u8>>>;
    /// Marks a file received whole as complete (`ok`), or drops it.
    fn blob_finish(&self, hash: &str, ok: bool) -> Result<()>;
    /// Every file held, with when it was started (Unix seconds).
    fn blob_list(&self) -> Result<Vec<(String, i64)>>;

    /// Documents kept because the access rules refused them.
    fn held_documents(&self) -> Result<Vec<HeldDocument>>;
    /// Hands a held document on: it is stored (merged into the document if
    /// one exists) and enters the change feed, so whoever may see it now
    /// receives it.
    fn release_held(&self, doc_id: &DocId, device_id: &str) -> Result<()>;

    /// Sets the credential (hashed) a region's server sends its reports
    /// with, replacing any earlier one (national server).
    fn set_region_credential(&self, region: &str, token_hash: &str, at: i64) -> Result<()>;
    /// The region whose credential this is (national server).
    fn region_of_credential(&self, token_hash: &str) -> Result<Option<String>>;
    /// Stores a region's report for a date, replacing an earlier one for
    /// the same date (national server).
    fn put_region_report(&self, region: &str, as_of: chrono::NaiveDate, received_at: i64, body: &str) -> Result<()>;
    /// Every stored region report (national server).
    fn region_reports(&self) -> Result<Vec<StoredReport>>;

    /// Appends audit lines.
    fn audit(&self, entries: &[AuditEntry]) -> Result<()>;
    /// The latest audit lines.
    fn audit_log(&self, limit: usize) -> Result<Vec<AuditEntry>>;
    /// Walks the audit's hash chain: every line must follow from the one
    /// before, so a line edited or deleted with file access is found.
    fn audit_verify(&self) -> Result<AuditCheck>;
    /// Writes every audit line older than `before_ms` (Unix milliseconds) to
    /// `out` as JSON lines with their chain values, then removes them from
    /// the database, keeping the chain's anchor; returns how many.
    fn audit_archive(&self, before_ms: i64, out: &mut dyn std::io::Write) -> Result<usize>;
}

/// The chain value of an audit line following `prev`.
pub(crate) fn audit_chain(prev: &str, e: &AuditEntry) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for part in [prev, &e.at.to_string(), &e.user_id, &e.device_id, &e.doc_id, &e.action, &e.hashes.join(",")] {
        h.update(part.as_bytes());
        h.update([0u8]);
    }
    h.update(e.address.as_deref().unwrap_or("").as_bytes());
    hex::encode(h.finalize())
}

/// A document's metadata from its stored columns, `None` when its kind or
/// tier is not one this server knows (such a document is never served).
/// `projection` carries the other columns; its kind and tier are replaced.
pub(crate) fn typed_meta(doc_id: &str, kind: &str, tier: &str, projection: Projection, seq: u64) -> Option<DocMeta> {
    let typed = DocId::parse(doc_id).ok().and_then(|id| {
        let kind = qamqor_core::docs::DocKind::from_prefix(kind).filter(|k| *k == id.kind())?;
        Some((id, kind, AccessTier::parse(tier)?))
    });
    let Some((id, kind, tier)) = typed else {
        tracing::warn!(doc = %doc_id.chars().take(80).collect::<String>(), "document metadata not readable; never served");
        return None;
    };
    Some(DocMeta { id, projection: Projection { kind, tier, ..projection }, seq })
}

/// What enrolling `new` means when `existing` is the device already
/// registered to its store's actor: `Some(existing)` to enroll that device
/// again (the same store of the same user after an expired or lost token:
/// it keeps its id and sync state, so its unsynced work goes up), `None` to
/// register `new`; a conflict when the actor belongs to a revoked device
/// or to another user.
pub(crate) fn enrolling(existing: Option<Device>, new: &Device) -> Result<Option<Device>> {
    match existing {
        Some(old) if old.user_id == new.user_id && old.revoked_at.is_none() => Ok(Some(old)),
        Some(old) if old.revoked_at.is_some() => Err(crate::error::ServerError::Conflict(
            "this phone's store belongs to a revoked device; it must be wiped before it is enrolled again".into(),
        )),
        Some(_) => Err(crate::error::ServerError::Conflict(
            "this actor id is already registered to another user's device".into(),
        )),
        None => Ok(None),
    }
}

/// A stored facts row, typed; `None` for an unknown tier or unreadable
/// facts (counted nowhere: fail closed).
pub(crate) fn typed_facts(id: &str, tier: &str, body: &str) -> Option<(DocId, AccessTier, Facts)> {
    Some((DocId::parse(id).ok()?, AccessTier::parse(tier)?, serde_json::from_str::<Facts>(body).ok()?))
}

/// A saved document the server wrote, merged into the stored one of its
/// id (`None`: not stored yet): the document to store and the heads it had
/// (empty for a new one), or `None` when it adds nothing.
pub(crate) fn merge_saved(
    stored: Option<Automerge>,
    bytes: &[u8],
) -> Result<Option<(Automerge, Vec<automerge::ChangeHash>)>> {
    let damaged = |e: automerge::AutomergeError| {
        crate::error::ServerError::BadRequest(format!("a document to store could not be read: {e}"))
    };
    match stored {
        Some(mut doc) => {
            let before = doc.get_heads();
            doc.load_incremental(bytes).map_err(damaged)?;
            Ok((doc.get_heads() != before).then_some((doc, before)))
        }
        None => Ok(Some((Automerge::load(bytes).map_err(damaged)?, Vec::new()))),
    }
}

/// The likely-duplicates query over `doc_people` (the same in both SQL
/// dialects).
pub(crate) const LIKELY_DUPLICATES: &str = "SELECT x, y, max(same_iin) FROM (
       SELECT a.doc_id AS x, b.doc_id AS y, 1 AS same_iin FROM doc_people a
         JOIN doc_people b ON b.kind = a.kind AND b.iin = a.iin AND b.doc_id > a.doc_id
       UNION
       SELECT a.doc_id, b.doc_id, 0 FROM doc_people a
         JOIN doc_people b ON b.kind = a.kind AND b.name_key = a.name_key AND b.birth = a.birth
                          AND b.doc_id > a.doc_id AND b.iin <> a.iin) pairs
     GROUP BY x, y ORDER BY x, y";

/// A stored identity row, typed; `None` for an unreadable one (the
/// document is then matched by nothing).
pub(crate) fn typed_person(
    (id, iin, name_key, birth): (String, String, String, String),
) -> Option<(DocId, qamqor_core::docs::Identity)> {
    let birth = chrono::NaiveDate::parse_from_str(&birth, "%Y-%m-%d").ok()?;
    Some((DocId::parse(&id).ok()?, qamqor_core::docs::Identity { iin, name_key, birth }))
}
