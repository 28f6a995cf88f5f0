//! The server's storage, behind a trait so that a PostgreSQL backend can
//! later serve several server processes at once. The SQLite backend is the
//! embedded default.

pub mod sqlite;

use automerge::Automerge;
use automerge::sync::State;
use qamqor_core::docs::DocId;

use crate::error::Result;
use crate::model::{AuditEntry, Device, DocMeta, User};

/// The result of one document's exchange, decided by the sync handler
/// while the storage holds the document.
#[derive(Debug, Default)]
pub struct DocExchange {
    /// The reply for the device.
    pub reply: Option<Vec<u8>>,
    /// Audit lines to append in the same transaction.
    pub audit: Vec<AuditEntry>,
    /// Keep the document's changes (false: roll everything back).
    pub commit: bool,
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
    /// A user by id.
    fn user(&self, id: &str) -> Result<Option<User>>;
    /// Every user.
    fn users(&self) -> Result<Vec<User>>;

    /// Stores an enrollment code: `code_id` in clear, the secret hashed.
    fn add_enrollment_code(&self, code_id: &str, secret_hash: &str, user_id: &str, expires_at: i64) -> Result<()>;
    /// The secret hash, user and expiry of an unused code.
    fn enrollment_code(&self, code_id: &str) -> Result<Option<(String, String, i64)>>;
    /// Counts a wrong secret given for a code; at `max_failures` the code
    /// is spent, so that guessing it is hopeless.
    fn code_failed(&self, code_id: &str, at: i64, max_failures: u32) -> Result<()>;
    /// Consumes the code and registers the device, atomically. Fails if the
    /// code was used meanwhile or the actor is already registered.
    fn enroll(&self, code_id: &str, device: &Device, token_hash: &str) -> Result<()>;
    /// The device holding a token.
    fn device_by_token(&self, token_hash: &str) -> Result<Option<Device>>;
    /// Every device.
    fn devices(&self) -> Result<Vec<Device>>;
    /// Revokes a device.
    fn revoke_device(&self, device_id: &str, at: i64) -> Result<()>;
    /// Records that a revoked device was told to wipe.
    fn mark_wiped(&self, device_id: &str, at: i64) -> Result<()>;
    /// Records devices' last sync time and cursor, in one transaction.
    fn touch_devices(&self, touches: &[(String, i64, u64)]) -> Result<()>;

    /// Assigns a document to a user (or withdraws it); the document's
    /// feed sequence moves so that phones learn of it at their next sync.
    fn assign(&self, user_id: &str, doc_id: &str, assigned: bool) -> Result<()>;
    /// The user's access epoch: it moves whenever [`Storage::update_user`]
    /// changes what the user may see.
    fn access_epoch(&self, user_id: &str) -> Result<u64>;
    /// The access epoch a device last synced under.
    fn device_access_seen(&self, device_id: &str) -> Result<u64>;
    /// Records that a device rescanned the feed under `epoch`.
    fn set_device_access_seen(&self, device_id: &str, epoch: u64) -> Result<()>;
    /// The documents assigned to a user.
    fn assignments(&self, user_id: &str) -> Result<Vec<String>>;
    /// Mentor ids whose profile names this user as the mentor.
    fn mentor_ids_of(&self, user_id: &str) -> Result<Vec<String>>;

    /// A document's metadata.
    fn doc_meta(&self, doc_id: &str) -> Result<Option<DocMeta>>;
    /// The whole document.
    fn load_doc(&self, doc_id: &DocId) -> Result<Option<Automerge>>;
    /// Runs the exchanges of one request under the storage's write lock,
    /// in one transaction: for each id, `f` gets the document (empty if
    /// new) and the device's sync state. For each exchange that commits,
    /// the document's new changes, its metadata (from `meta`), the sync
    /// state and the audit lines are stored; the transaction is committed
    /// before this returns, so every reply acknowledges only what is on
    /// disk.
    fn exchange(
        &self,
        device_id: &str,
        ids: &[DocId],
        f: &mut dyn FnMut(&DocId, &mut Automerge, &mut State) -> Result<DocExchange>,
        meta: &dyn Fn(&DocId, &Automerge) -> DocMeta,
    ) -> Result<Vec<DocExchange>>;
    /// Documents changed after `cursor`, in feed order, at most `limit`;
    /// and the feed's current end.
    fn changed_since(&self, cursor: u64, limit: usize) -> Result<(Vec<DocMeta>, u64)>;
    /// The feed's current end.
    fn feed_end(&self) -> Result<u64>;
    /// Documents a device has exchanged.
    fn delivered(&self, device_id: &str) -> Result<Vec<String>>;
    /// Forgets a device's copy (after telling it to delete the document).
    fn forget_delivered(&self, device_id: &str, doc_id: &str) -> Result<()>;
    /// Urgent documents changed after `cursor`.
    fn urgent_since(&self, cursor: u64) -> Result<Vec<DocMeta>>;

    /// Appends audit lines.
    fn audit(&self, entries: &[AuditEntry]) -> Result<()>;
    /// The latest audit lines.
    fn audit_log(&self, limit: usize) -> Result<Vec<AuditEntry>>;
}
