//! Attachments for apps: attach a file or bytes to an event, see each
//! attachment's state, send the queue with a progress listener, fetch a
//! colleague's file when it is opened, and keep fetched files within a
//! budget.

use std::sync::Arc;

use chrono::NaiveDate;
use qamqor_core::docs::DocId;
use qamqor_core::model::{CodeList, EventId};
use qamqor_core::store::UploadState;
use qamqor_core::sync::client;

use crate::QamqorError;
use crate::store::QamqorStore;
use crate::sync::runtime;

type Result<T, E = QamqorError> = std::result::Result<T, E>;

/// Where an attachment stands.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum AttachmentState {
    /// Attached on this phone, waiting to be sent.
    Queued,
    /// Being sent: `sent` of `total` bytes are on the server.
    Sending {
        /// Bytes on the server.
        sent: u64,
        /// The file's size.
        total: u64,
    },
    /// Sent from this phone.
    Sent,
    /// The server refused it for good.
    Failed {
        /// Why, in the server's words.
        reason: String,
    },
    /// Attached on another phone: fetch it with `fetch_attachment`.
    Remote,
}

/// A file attached to an event.
#[derive(Debug, Clone, uniffi::Record)]
pub struct Attachment {
    /// Its SHA-256 (its name on the server).
    pub hash: String,
    /// `image/jpeg`, `image/png` or `application/pdf`.
    pub media_type: String,
    /// Bytes.
    pub size: u64,
    /// What it shows.
    pub caption: Option<String>,
    /// The event's container (`visits`, `checks`, `risk_reports`).
    pub container: String,
    /// The event's id.
    pub event_id: String,
    /// Who attached it.
    pub added_by: String,
    /// When.
    pub date: NaiveDate,
    /// Its state.
    pub state: AttachmentState,
    /// Whether its bytes are on this phone (`attachment_bytes` has them).
    pub on_phone: bool,
}

/// What a round of sending did.
#[derive(Debug, Clone, uniffi::Record)]
pub struct AttachmentReport {
    /// Files now whole on the server.
    pub files_sent: u32,
    /// Bytes sent.
    pub bytes_sent: u64,
    /// Files waiting for a later round (retried with back-off).
    pub waiting: u32,
    /// Files the server refused for good.
    pub failed: u32,
}

/// Told of progress while attachments are sent. Called from a background
/// thread.
#[uniffi::export(with_foreign)]
pub trait AttachmentListener: Send + Sync {
    /// `sent` of `total` bytes of the file `hash` are on the server.
    fn on_progress(&self, hash: String, sent: u64, total: u64);
}

fn state(s: Option<UploadState>) -> AttachmentState {
    match s {
        None => AttachmentState::Remote,
        Some(UploadState::Queued) => AttachmentState::Queued,
        Some(UploadState::Sending { sent, total }) => AttachmentState::Sending { sent, total },
        Some(UploadState::Sent) => AttachmentState::Sent,
        Some(UploadState::Failed { reason }) => AttachmentState::Failed { reason },
    }
}

#[uniffi::export(async_runtime = "tokio")]
impl QamqorStore {
    /// Attaches bytes (a JPEG or PNG photo, a PDF scan: told by content; at
    /// most 25 MiB) to an event: a case's visit (`container = "visits"`), a
    /// representative's check (`"checks"`) or risk report
    /// (`"risk_reports"`). The file and its reference are written in one
    /// transaction and the file is queued to be sent (a risk report's
    /// first).
    pub fn attach_bytes(
        &self,
        doc_id: String,
        container: String,
        event_id: String,
        bytes: Vec<u8>,
        caption: Option<String>,
    ) -> Result<Attachment> {
        let doc = DocId::parse(&doc_id)?;
        let r = self.core().attach(&doc, &container, &EventId::parse(&event_id)?, &bytes, caption)?;
        self.attachment(r)
    }

    /// Attaches a file from the app's storage (see `attach_bytes`).
    pub fn attach_file(
        &self,
        doc_id: String,
        container: String,
        event_id: String,
        path: String,
        caption: Option<String>,
    ) -> Result<Attachment> {
        let bytes =
            std::fs::read(&path).map_err(|e| QamqorError::invalid("path", format!("cannot be read: {}", e.kind())))?;
        self.attach_bytes(doc_id, container, event_id, bytes, caption)
    }

    /// The files attached to a record's events, with their states.
    pub fn attachments(&self, doc_id: String) -> Result<Vec<Attachment>> {
        let refs = self.core().attachments(&DocId::parse(&doc_id)?)?;
        refs.into_iter().map(|r| self.attachment(r)).collect()
    }

    /// An attachment's bytes if they are on this phone; `None`: fetch them.
    pub fn attachment_bytes(&self, hash: String) -> Result<Option<Vec<u8>>> {
        Ok(self.core().attachment_bytes(&hash)?)
    }

    /// Sends the attachments waiting to go up (urgent first), each from the
    /// byte the server has; `listener` is told after every chunk. Run it
    /// after a sync (a file goes up once its record has); it never holds a
    /// document sync up.
    pub async fn send_attachments(&self, listener: Option<Arc<dyn AttachmentListener>>) -> Result<AttachmentReport> {
        let config = self.server_config()?;
        let store = self.core().clone();
        let r = runtime()
            .spawn(async move {
                let progress = move |hash: &str, sent: u64, total: u64| {
                    if let Some(l) = &listener {
                        l.on_progress(hash.to_owned(), sent, total);
                    }
                };
                client::upload_attachments(store, &config, &progress).await
            })
            .await
            .map_err(|_| QamqorError::cancelled())??;
        Ok(AttachmentReport {
            files_sent: r.files_sent as u32,
            bytes_sent: r.bytes_sent,
            waiting: r.waiting as u32,
            failed: r.failed as u32,
        })
    }

    /// An attachment's bytes: from this phone, or fetched from the server
    /// (which lets only those who may read its record) and kept.
    pub async fn fetch_attachment(&self, hash: String) -> Result<Vec<u8>> {
        let config = self.server_config()?;
        let store = self.core().clone();
        Ok(runtime()
            .spawn(async move { client::fetch_attachment(store, &config, &hash).await })
            .await
            .map_err(|_| QamqorError::cancelled())??)
    }

    /// Fetches ahead, up to `budget_bytes`, the files this phone's records
    /// reference and it lacks, newest first (call it on Wi-Fi). Returns how
    /// many were fetched.
    pub async fn prefetch_attachments(&self, budget_bytes: u64) -> Result<u32> {
        let config = self.server_config()?;
        let store = self.core().clone();
        let n = runtime()
            .spawn(async move { client::prefetch_attachments(store, &config, budget_bytes).await })
            .await
            .map_err(|_| QamqorError::cancelled())??;
        Ok(n as u32)
    }

    /// Keeps fetched files within `budget_bytes`, evicting the least
    /// recently opened; files attached on this phone are never evicted.
    /// Returns how many were evicted.
    pub fn evict_fetched(&self, budget_bytes: u64) -> Result<u32> {
        Ok(self.core().evict_fetched(budget_bytes)? as u32)
    }
}

impl QamqorStore {
    fn attachment(&self, r: qamqor_core::docs::attachments::AttachmentRef) -> Result<Attachment> {
        let upload = self.core().upload_state(&r.hash)?;
        let on_phone = self.core().has_attachment(&r.hash)?;
        Ok(Attachment {
            state: state(upload),
            on_phone,
            media_type: r.media_type.code().to_owned(),
            size: r.size,
            caption: r.caption,
            container: r.container,
            event_id: r.event.to_string(),
            added_by: r.added_by,
            date: r.date,
            hash: r.hash,
        })
    }
}
