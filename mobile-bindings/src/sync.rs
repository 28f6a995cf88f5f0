//! Sync for apps: enrollment, a cancellable sync handle, states per
//! document and for the whole store, and a listener told of every change.

use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::Duration;

use qamqor_core::sync::client::{self, Enrollment, ServerConfig};
use qamqor_core::sync::session::SyncStatus;
use qamqor_core::sync::wire::Limits;
use tokio::sync::watch;

use crate::QamqorError;
use crate::store::QamqorStore;

type Result<T, E = QamqorError> = std::result::Result<T, E>;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The runtime that runs syncs, shared by every store of the process.
pub(crate) fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("qamqor-sync")
            .enable_all()
            .build()
            .unwrap_or_else(|e| panic!("cannot start the sync runtime: {e}"))
    })
}

/// The state of sync for the whole store.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum SyncState {
    /// Not syncing; nothing known to be wrong.
    Idle,
    /// The app said the device has no connectivity; syncs wait for it.
    Offline,
    /// A sync is running.
    Syncing,
    /// The last sync finished; everything was exchanged.
    Synced {
        /// When it finished, Unix milliseconds.
        at_ms: i64,
    },
    /// The last sync failed; it will be retried on the next start.
    Failed {
        /// Why, in plain words (no personal data).
        reason: String,
    },
}

/// The sync state of one document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum DocSyncKind {
    /// Local changes wait for the server.
    Pending,
    /// Being exchanged now.
    Syncing,
    /// The server holds exactly this.
    Synced,
    /// The server refused it (see `reason`).
    Failed,
    /// Access was withdrawn from this user; the record stays, read-only,
    /// until the server has this phone's changes, then leaves the phone.
    Withdrawn,
}

/// The sync state of one document, urgent ones first in lists.
#[derive(Debug, Clone, uniffi::Record)]
pub struct DocSyncStatus {
    /// The document id.
    pub doc_id: String,
    /// Its state.
    pub kind: DocSyncKind,
    /// The server's reason, for `Failed`.
    pub reason: Option<String>,
    /// Holds an urgent item (risk factor, removal recommendation, neglect).
    pub urgent: bool,
}

/// What a finished sync did.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct SyncReport {
    /// Request/response round trips.
    pub rounds: u32,
    /// Bytes sent.
    pub bytes_sent: u64,
    /// Bytes received.
    pub bytes_received: u64,
    /// Documents that received changes: refresh their screens.
    pub changed: Vec<String>,
    /// Documents removed from this phone (access withdrawn).
    pub removed: Vec<String>,
    /// Documents the server refused, with reasons.
    pub refused: Vec<String>,
    /// The device was revoked and the store wiped.
    pub wiped: bool,
    /// A renewed device token: store it in the Keystore/Keychain in place of
    /// the old one (this store already uses it for its next syncs). The old
    /// token stays valid until the new one is first used.
    pub renewed_token: Option<String>,
    /// The renewed token's expiry, Unix seconds.
    pub renewed_expires_at: Option<i64>,
}

/// How far a running sync has gone, for a progress bar: a new phone's
/// first sync receives its district's cases over many rounds.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct SyncProgress {
    /// Request/response rounds so far.
    pub rounds: u32,
    /// Documents sent so far.
    pub docs_sent: u64,
    /// Documents this sync sends: those sent and those still waiting.
    pub docs_to_send: u64,
    /// Documents received so far.
    pub docs_received: u64,
    /// Documents this sync receives, received and still to come: the
    /// server counts, in its first response, the documents this phone does
    /// not hold yet; the total grows if more arrive than counted and is
    /// exact once nothing more is to come. `None` until the server has
    /// counted (draw an indeterminate bar).
    pub docs_to_receive: Option<u64>,
    /// The share done, 0.0 to 1.0, sent and received together.
    pub fraction: f64,
}

impl From<client::SyncProgress> for SyncProgress {
    fn from(p: client::SyncProgress) -> Self {
        SyncProgress {
            rounds: u32::try_from(p.rounds).unwrap_or(u32::MAX),
            docs_sent: p.docs_sent as u64,
            docs_to_send: p.docs_to_send as u64,
            docs_received: p.docs_received as u64,
            docs_to_receive: p.docs_to_receive.map(|n| n as u64),
            fraction: p.fraction(),
        }
    }
}

/// Told of sync state changes. Called from a background thread: hop to
/// the main thread before touching the UI.
#[uniffi::export(with_foreign)]
pub trait SyncListener: Send + Sync {
    /// The store's sync state changed (called with the current state on registration).
    fn on_state(&self, state: SyncState);
    /// A sync changed or removed these documents: refresh their screens.
    fn on_documents_changed(&self, doc_ids: Vec<String>);
    /// A running sync finished a round: how far it has gone.
    fn on_progress(&self, progress: SyncProgress);
}

#[derive(Default)]
struct Config {
    url: Option<String>,
    token: Option<String>,
    ca_pem: Option<Vec<u8>>,
}

/// Sync bookkeeping of one store.
#[derive(Default)]
pub(crate) struct SyncControl {
    config: Arc<Mutex<Config>>,
    state: Arc<Mutex<Option<SyncState>>>,
    listeners: Arc<Mutex<Vec<Arc<dyn SyncListener>>>>,
    offline: Mutex<bool>,
    running: Mutex<Option<Arc<SyncHandle>>>,
}

impl SyncControl {
    fn current(&self) -> SyncState {
        lock(&self.state).clone().unwrap_or(SyncState::Idle)
    }

    fn set(state: &Arc<Mutex<Option<SyncState>>>, listeners: &Arc<Mutex<Vec<Arc<dyn SyncListener>>>>, s: SyncState) {
        *lock(state) = Some(s.clone());
        let ls: Vec<_> = lock(listeners).clone();
        for l in ls {
            l.on_state(s.clone());
        }
    }

    pub(crate) fn cancel_running(&self) {
        if let Some(h) = lock(&self.running).take() {
            h.cancel();
        }
    }
}

impl QamqorStore {
    /// The server and token this store syncs with; an error when the
    /// store is neither enrolled nor configured, or the device is offline.
    pub(crate) fn server_config(&self) -> Result<ServerConfig> {
        if *lock(&self.sync.offline) {
            return Err(QamqorError::network("the device is offline"));
        }
        let c = lock(&self.sync.config);
        match (&c.url, &c.token) {
            (Some(url), Some(token)) => Ok(ServerConfig {
                url: url.clone(),
                token: token.clone(),
                ca_pem: c.ca_pem.clone(),
                timeout: Duration::from_secs(60),
            }),
            _ => Err(QamqorError::invalid("sync", "enroll or configure_sync first")),
        }
    }
}

/// A running sync. Dropping the handle does not stop it; `cancel` does.
#[derive(uniffi::Object)]
pub struct SyncHandle {
    task: Mutex<Option<tokio::task::JoinHandle<()>>>,
    result: watch::Receiver<Option<Result<SyncReport>>>,
    state: Arc<Mutex<Option<SyncState>>>,
    listeners: Arc<Mutex<Vec<Arc<dyn SyncListener>>>>,
}

#[uniffi::export(async_runtime = "tokio")]
impl SyncHandle {
    /// Stops the sync. Everything acknowledged so far stays; the next sync
    /// continues from there.
    pub fn cancel(&self) {
        if let Some(t) = lock(&self.task).take()
            && !t.is_finished()
        {
            t.abort();
            SyncControl::set(&self.state, &self.listeners, SyncState::Idle);
        }
    }

    /// Whether the sync has finished (or was cancelled).
    pub fn is_finished(&self) -> bool {
        lock(&self.task).as_ref().is_none_or(|t| t.is_finished())
    }

    /// Waits for the sync to end. A cancelled sync ends with `Cancelled`.
    pub async fn wait(&self) -> Result<SyncReport> {
        let mut rx = self.result.clone();
        loop {
            if let Some(r) = rx.borrow_and_update().clone() {
                return r;
            }
            // The task holds the sender: cancelling drops it without a result.
            if rx.changed().await.is_err() {
                return rx.borrow().clone().unwrap_or(Err(QamqorError::cancelled()));
            }
        }
    }
}

#[uniffi::export(async_runtime = "tokio")]
impl QamqorStore {
    /// Enrolls this installation with the regional server using the
    /// one-time code from the administrator. `ca_pem` is the regional CA
    /// certificate when the server's certificate is not publicly trusted.
    /// Plain `http://` is accepted only for this machine (tests).
    pub async fn enroll(
        &self,
        server_url: String,
        code: String,
        label: String,
        ca_pem: Option<Vec<u8>>,
    ) -> Result<Enrollment> {
        let actor = self.actor_id();
        let (url, ca) = (server_url.clone(), ca_pem.clone());
        let e = runtime()
            .spawn(async move { client::enroll(&url, ca.as_deref(), &code, &actor, &label).await })
            .await
            .map_err(|_| QamqorError::cancelled())??;
        self.configure_sync(server_url, e.token.clone(), ca_pem)?;
        // The store learns its user's role: a mentor's refuses casework locally.
        if let Some(role) = qamqor_core::model::UserRole::parse(&e.role) {
            self.core().set_role(role)?;
        }
        Ok(e)
    }

    /// Sets the server and the device token (from the Keystore or Keychain)
    /// at app start, after an earlier enrollment.
    pub fn configure_sync(&self, server_url: String, token: String, ca_pem: Option<Vec<u8>>) -> Result<()> {
        client::check_url(&server_url)?;
        *lock(&self.sync.config) = Config { url: Some(server_url), token: Some(token), ca_pem };
        Ok(())
    }

    /// Tells the store whether the device has connectivity. Going offline
    /// cancels a running sync (nothing acknowledged is lost) and shows
    /// `Offline`; coming back shows `Idle` until the next sync.
    pub fn set_online(&self, online: bool) {
        *lock(&self.sync.offline) = !online;
        if online {
            if self.sync.current() == SyncState::Offline {
                SyncControl::set(&self.sync.state, &self.sync.listeners, SyncState::Idle);
            }
        } else {
            self.sync.cancel_running();
            SyncControl::set(&self.sync.state, &self.sync.listeners, SyncState::Offline);
        }
    }

    /// Registers a listener; it is told the current state at once.
    pub fn add_listener(&self, listener: Arc<dyn SyncListener>) {
        listener.on_state(self.sync.current());
        lock(&self.sync.listeners).push(listener);
    }

    /// Removes every listener (when the app's screens go away).
    pub fn clear_listeners(&self) {
        lock(&self.sync.listeners).clear();
    }

    /// The store's sync state now.
    pub fn sync_state(&self) -> SyncState {
        self.sync.current()
    }

    /// Starts a sync in the background, or returns the one running. Urgent
    /// documents go first. Errors at once when not configured or offline.
    pub fn start_sync(&self) -> Result<Arc<SyncHandle>> {
        if *lock(&self.sync.offline) {
            return Err(QamqorError::network("the device is offline"));
        }
        let mut running = lock(&self.sync.running);
        if let Some(h) = running.as_ref()
            && !h.is_finished()
        {
            return Ok(h.clone());
        }
        let config = self.server_config()?;
        let (tx, rx) = watch::channel(None);
        let (state, listeners) = (self.sync.state.clone(), self.sync.listeners.clone());
        SyncControl::set(&state, &listeners, SyncState::Syncing);
        let store = self.core().clone();
        let (st, ls) = (state.clone(), listeners.clone());
        let shared_config = self.sync.config.clone();
        let task = runtime().spawn(async move {
            let told = ls.clone();
            let progress = move |p: client::SyncProgress| {
                let p = SyncProgress::from(p);
                for l in lock(&told).clone() {
                    l.on_progress(p.clone());
                }
            };
            let outcome = client::sync_with_progress(store, &config, Limits::default(), &progress).await;
            let result = match outcome {
                Ok(r) => {
                    if let Some(renewal) = &r.renewal {
                        // Later syncs use the renewed token; the app stores it (SyncReport).
                        lock(&shared_config).token = Some(renewal.token.clone());
                    }
                    let changed: Vec<String> = r.changed.iter().chain(&r.removed).map(|d| d.to_string()).collect();
                    if !changed.is_empty() {
                        for l in lock(&ls).clone() {
                            l.on_documents_changed(changed.clone());
                        }
                    }
                    SyncControl::set(&st, &ls, SyncState::Synced { at_ms: chrono::Utc::now().timestamp_millis() });
                    Ok(SyncReport {
                        rounds: r.rounds as u32,
                        bytes_sent: r.bytes_sent as u64,
                        bytes_received: r.bytes_received as u64,
                        changed: r.changed.iter().map(|d| d.to_string()).collect(),
                        removed: r.removed.iter().map(|d| d.to_string()).collect(),
                        refused: r.refused.iter().map(|x| format!("{}: {}", x.id, x.reason)).collect(),
                        wiped: r.wiped,
                        renewed_token: r.renewal.as_ref().map(|x| x.token.clone()),
                        renewed_expires_at: r.renewal.as_ref().map(|x| x.expires_at),
                    })
                }
                Err(e) => {
                    let e = QamqorError::from(e);
                    SyncControl::set(&st, &ls, SyncState::Failed { reason: e.to_string() });
                    Err(e)
                }
            };
            let _ = tx.send(Some(result));
        });
        let handle = Arc::new(SyncHandle { task: Mutex::new(Some(task)), result: rx, state, listeners });
        *running = Some(handle.clone());
        Ok(handle)
    }

    /// Per-document sync states: urgent first, then pending.
    pub fn document_sync_states(&self) -> Result<Vec<DocSyncStatus>> {
        let syncing = self.sync.current() == SyncState::Syncing;
        Ok(self
            .core()
            .sync_states()?
            .into_iter()
            .map(|s| {
                let kind = match s.status {
                    SyncStatus::Pending if syncing => DocSyncKind::Syncing,
                    SyncStatus::Pending => DocSyncKind::Pending,
                    SyncStatus::Synced | SyncStatus::Removed => DocSyncKind::Synced,
                    SyncStatus::Withdrawn => DocSyncKind::Withdrawn,
                    SyncStatus::Denied
                    | SyncStatus::ReadOnly
                    | SyncStatus::ForeignActor
                    | SyncStatus::Invalid
                    | SyncStatus::TooLarge => DocSyncKind::Failed,
                };
                DocSyncStatus { doc_id: s.doc_id.to_string(), kind, reason: s.reason, urgent: s.urgent }
            })
            .collect())
    }

    /// Counts for the sync status screen.
    pub fn sync_summary(&self) -> Result<qamqor_core::store::SyncSummary> {
        Ok(self.core().sync_summary()?)
    }
}
