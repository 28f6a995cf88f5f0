//! The encrypted SQLite store that owns a phone's documents.
//!
//! One [`Store`] owns one database file: a writer connection that holds the
//! document cache, and a reader connection for the list screens. Each user
//! action is one SQLite transaction that appends the Automerge changes it
//! made and updates the query tables derived from them.

mod attachments;
mod casework;
mod duplicates;
mod index;
mod queries;
pub mod schema;
mod sync;

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, OnceLock};

use automerge::transaction::{CommitOptions, Transaction};
use automerge::{ActorId, Automerge, ChangeHash};
use chrono::NaiveDate;
use rusqlite::{Connection, OpenFlags, OptionalExtension, params};

pub use attachments::{QueuedUpload, UploadState};
pub use casework::Recorded;
pub use duplicates::{DuplicatePair, DuplicateReason};
pub use queries::*;
pub use sync::{DocSyncState, SyncSummary};

use crate::docs::{self, DocId, DocKind};
use crate::error::{Error, Result};
use crate::sync::wire::MAX_DOC_BYTES;

/// Options for opening a store.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// The user id of the person using this installation. It is recorded in
    /// each document this installation edits, so that a conflict can say who
    /// wrote each value. It is never used to derive the actor id.
    pub author: String,
    /// A fixed "today" for validation and schedules (tests, simulations);
    /// `None` uses the phone's local date.
    pub today: Option<NaiveDate>,
    /// How many appended changes a document may collect before it is
    /// compacted into a fresh snapshot.
    pub compact_after: usize,
    /// Documents whose stored form is at most this many bytes are kept as
    /// one compact snapshot, rewritten at each change (they load fastest
    /// and go to the server as stored); larger ones collect appended
    /// changes up to `compact_after`.
    pub compact_below: usize,
    /// How many documents to keep loaded in memory.
    pub cache_documents: usize,
    /// The largest a document may grow before edits are refused (it must
    /// stay sendable in one sync message).
    pub max_doc_bytes: usize,
}

impl StoreOptions {
    /// Defaults for the user `author`.
    pub fn new(author: impl Into<String>) -> Self {
        StoreOptions {
            author: author.into(),
            today: None,
            compact_after: 32,
            compact_below: 16 * 1024,
            cache_documents: 256,
            max_doc_bytes: MAX_DOC_BYTES,
        }
    }
}

/// The length of a store key in bytes.
pub const KEY_LEN: usize = 32;

fn open_paths() -> &'static Mutex<BTreeSet<PathBuf>> {
    static OPEN: OnceLock<Mutex<BTreeSet<PathBuf>>> = OnceLock::new();
    OPEN.get_or_init(|| Mutex::new(BTreeSet::new()))
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A phone's casework store: encrypted, offline, durable.
pub struct Store {
    /// The role of the enrolled user, once known (see [`Store::set_role`]).
    role: Mutex<Option<crate::model::UserRole>>,
    /// The operating system's lock on the database file, held while open.
    file_lock: Mutex<Option<std::fs::File>>,
    path: PathBuf,
    checkpointer: Mutex<Option<Checkpointer>>,
    writer: Mutex<Option<Writer>>,
    reader: Mutex<Option<Connection>>,
    actor: ActorId,
    options: StoreOptions,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("actor", &self.actor.to_hex_string()).finish_non_exhaustive()
    }
}

struct Writer {
    conn: Connection,
    cache: DocCache,
}

/// Loaded documents, least recently used evicted first.
struct DocCache {
    docs: HashMap<DocId, (Automerge, u64)>,
    tick: u64,
    capacity: usize,
}

impl DocCache {
    fn new(capacity: usize) -> Self {
        DocCache { docs: HashMap::new(), tick: 0, capacity: capacity.max(4) }
    }

    fn get_mut(&mut self, id: &DocId) -> Option<&mut Automerge> {
        self.tick += 1;
        let tick = self.tick;
        self.docs.get_mut(id).map(|(d, t)| {
            *t = tick;
            d
        })
    }

    fn insert(&mut self, id: DocId, doc: Automerge) {
        if self.docs.len() >= self.capacity
            && let Some(oldest) = self.docs.iter().min_by_key(|(_, (_, t))| *t).map(|(k, _)| k.clone())
        {
            self.docs.remove(&oldest);
        }
        self.tick += 1;
        self.docs.insert(id, (doc, self.tick));
    }

    fn evict(&mut self, id: &DocId) {
        self.docs.remove(id);
    }

    fn clear(&mut self) {
        self.docs.clear();
    }
}

fn open_connection(path: &Path, key: &[u8]) -> Result<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags)?;
    // SQLCipher would log a failed key check to stderr; the error is ours to report.
    conn.execute_batch("PRAGMA cipher_log_level = NONE;")?;
    // A raw 256-bit key: SQLCipher skips its passphrase KDF.
    conn.execute_batch(&format!("PRAGMA key = \"x'{}'\";", hex::encode(key)))?;
    match conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get::<_, i64>(0)) {
        Ok(_) => {}
        Err(rusqlite::Error::SqliteFailure(e, _)) if e.code == rusqlite::ErrorCode::NotADatabase => {
            return Err(Error::WrongKey);
        }
        Err(e) => return Err(e.into()),
    }
    conn.pragma_update(None, "journal_mode", "WAL")?;
    // FULL: a commit that returned is on disk, even across a power cut.
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    // The store's actions and sync use more statements than rusqlite's
    // default cache of 16: keep them prepared.
    conn.set_prepared_statement_cache_capacity(128);
    Ok(conn)
}

impl Store {
    /// Opens (or creates) the store at `path` with the app's 256-bit `key`.
    ///
    /// Errors: [`Error::KeyLength`] for a key that is not 32 bytes,
    /// [`Error::WrongKey`] when the key does not open the file,
    /// [`Error::AlreadyOpen`] when this or another process (an Android sync
    /// process, a widget) already has it open, by whatever path: the store
    /// holds an operating-system lock on the file while it is open,
    /// [`Error::UpdateRequired`] for a database from a newer app version.
    pub fn open(path: impl AsRef<Path>, key: &[u8], options: StoreOptions) -> Result<Store> {
        if key.len() != KEY_LEN {
            return Err(Error::KeyLength(key.len()));
        }
        let path = absolute(path.as_ref())?;
        if !lock(open_paths()).insert(path.clone()) {
            return Err(Error::AlreadyOpen);
        }
        match Self::open_registered(&path, key, options) {
            Ok(s) => Ok(s),
            Err(e) => {
                lock(open_paths()).remove(&path);
                Err(e)
            }
        }
    }

    /// Takes the operating system's exclusive lock on the database file. A
    /// lock belongs to the file itself, so a symlink, a hard link or another
    /// process opening the same file is refused; it is released when the
    /// store closes or its process dies.
    fn lock_file(path: &Path) -> Result<std::fs::File> {
        let file = std::fs::OpenOptions::new().read(true).write(true).create(true).truncate(false).open(path)?;
        match file.try_lock() {
            Ok(()) => Ok(file),
            Err(std::fs::TryLockError::WouldBlock) => Err(Error::AlreadyOpen),
            Err(std::fs::TryLockError::Error(e)) => Err(e.into()),
        }
    }

    fn open_registered(path: &Path, key: &[u8], options: StoreOptions) -> Result<Store> {
        let file_lock = Self::lock_file(path)?;
        let mut conn = open_connection(path, key)?;
        schema::migrate(&mut conn)?;
        let actor = match conn
            .query_row("SELECT value FROM meta WHERE key = 'actor'", [], |r| r.get::<_, Vec<u8>>(0))
            .optional()?
        {
            Some(bytes) => ActorId::from(bytes),
            None => {
                // A fresh random actor per installation, never derived from the user.
                let bytes: [u8; 16] = rand::random();
                conn.execute("INSERT INTO meta(key, value) VALUES ('actor', ?1)", params![bytes.to_vec()])?;
                ActorId::from(bytes)
            }
        };
        // The WAL is folded into the database by a background thread, so
        // that no user action pays for a checkpoint.
        conn.pragma_update(None, "wal_autocheckpoint", 0)?;
        let checkpointer = Checkpointer::start(open_connection(path, key)?);
        let reader = open_connection(path, key)?;
        let role = conn
            .query_row("SELECT value FROM meta WHERE key = 'role'", [], |r| r.get::<_, Vec<u8>>(0))
            .optional()?
            .and_then(|b| String::from_utf8(b).ok())
            .and_then(|s| crate::model::UserRole::parse(&s));
        let store = Store {
            role: Mutex::new(role),
            file_lock: Mutex::new(Some(file_lock)),
            path: path.to_owned(),
            checkpointer: Mutex::new(Some(checkpointer)),
            writer: Mutex::new(Some(Writer { conn, cache: DocCache::new(options.cache_documents) })),
            reader: Mutex::new(Some(reader)),
            actor,
            options,
        };
        store.check_derived_version()?;
        Ok(store)
    }

    /// Rebuilds the query tables when they were derived under other rules
    /// (another [`docs::PROJECTION_VERSION`]) than this version's.
    fn check_derived_version(&self) -> Result<()> {
        let stored: Option<Vec<u8>> = self.read(|c| {
            Ok(c.query_row("SELECT value FROM meta WHERE key = 'derived_version'", [], |r| r.get(0)).optional()?)
        })?;
        let current = docs::PROJECTION_VERSION.to_be_bytes().to_vec();
        if stored.as_ref() == Some(&current) {
            return Ok(());
        }
        if stored.is_some() || !self.document_ids()?.is_empty() {
            tracing::info!("query tables derived under other rules; rebuilding them");
            self.rebuild_indexes()?;
        }
        self.write(|w| {
            w.tx.execute(
                "INSERT INTO meta(key, value) VALUES ('derived_version', ?1) ON CONFLICT(key) DO UPDATE SET value = ?1",
                [current],
            )?;
            Ok(())
        })
    }

    /// Closes the store. Later calls fail with [`Error::Closed`]; the file
    /// may then be opened again.
    pub fn close(&self) {
        let w = lock(&self.writer).take();
        let r = lock(&self.reader).take();
        let c = lock(&self.checkpointer).take();
        if w.is_some() || r.is_some() {
            drop((c, w, r));
            // Released only once every connection is closed.
            lock(&self.file_lock).take();
            lock(open_paths()).remove(&self.path);
        }
    }

    /// Records the role of the user this phone was enrolled for (the app
    /// calls it with the enrollment's role; the bindings' `enroll` does).
    /// A mentor's store then refuses casework locally, instead of keeping
    /// changes the server would refuse forever.
    pub fn set_role(&self, role: crate::model::UserRole) -> Result<()> {
        self.write(|w| {
            w.tx.execute(
                "INSERT INTO meta(key, value) VALUES ('role', ?1) ON CONFLICT(key) DO UPDATE SET value = ?1",
                [role.code().as_bytes().to_vec()],
            )?;
            Ok(())
        })?;
        *lock(&self.role) = Some(role);
        Ok(())
    }

    /// The role of the enrolled user, if known.
    pub fn role(&self) -> Option<crate::model::UserRole> {
        *lock(&self.role)
    }

    /// This installation's Automerge actor id, in hex.
    pub fn actor_id(&self) -> String {
        self.actor.to_hex_string()
    }

    /// The user this installation records as author.
    pub fn author(&self) -> &str {
        &self.options.author
    }

    /// Today's date as the store sees it.
    pub fn today(&self) -> NaiveDate {
        self.options.today.unwrap_or_else(|| chrono::Local::now().date_naive())
    }

    /// Runs `f` in one SQLite transaction that commits only if `f` returns
    /// `Ok`; the documents it touched are reindexed in the same transaction.
    pub(crate) fn write<R>(&self, f: impl FnOnce(&mut WriteTx<'_>) -> Result<R>) -> Result<R> {
        let mut guard = lock(&self.writer);
        let Writer { conn, cache } = guard.as_mut().ok_or(Error::Closed)?;
        let tx = conn.transaction()?;
        let role = *lock(&self.role);
        let mut w = WriteTx {
            tx,
            cache,
            role,
            actor: &self.actor,
            author: &self.options.author,
            touched: Vec::new(),
            compact_after: self.options.compact_after,
            compact_below: self.options.compact_below,
            max_doc_bytes: self.options.max_doc_bytes,
            wiped: false,
        };
        let result = f(&mut w).and_then(|r| w.finish().map(|()| r));
        let WriteTx { tx, cache, touched, .. } = w;
        let result = result.and_then(|r| tx.commit().map(|()| r).map_err(Error::from));
        if result.is_err() {
            // The cached copies may hold changes that were not committed.
            for id in &touched {
                cache.evict(id);
            }
        } else if let Some(c) = lock(&self.checkpointer).as_mut() {
            c.committed();
        }
        result
    }

    /// Runs `f` with the writer's document cache, for reads of whole
    /// documents (a child's file).
    pub(crate) fn with_doc<R>(&self, id: &DocId, f: impl FnOnce(&Automerge) -> Result<R>) -> Result<R> {
        let mut guard = lock(&self.writer);
        let Writer { conn, cache } = guard.as_mut().ok_or(Error::Closed)?;
        let doc = load_cached(conn, cache, id, &self.actor)?
            .ok_or_else(|| Error::not_found(kind_name(id.kind()), id.to_string()))?;
        f(doc)
    }

    /// Runs `f` on the reader connection.
    pub(crate) fn read<R>(&self, f: impl FnOnce(&Connection) -> Result<R>) -> Result<R> {
        let guard = lock(&self.reader);
        f(guard.as_ref().ok_or(Error::Closed)?)
    }

    /// The ids of every document in the store.
    pub fn document_ids(&self) -> Result<Vec<DocId>> {
        self.read(|c| {
            let mut st = c.prepare("SELECT doc_id FROM documents ORDER BY doc_id")?;
            let ids = st.query_map([], |r| r.get::<_, String>(0))?.collect::<rusqlite::Result<Vec<_>>>()?;
            ids.iter().map(|s| DocId::parse(s)).collect()
        })
    }

    /// The whole document, saved (compacted Automerge format).
    pub fn export_document(&self, id: &DocId) -> Result<Vec<u8>> {
        self.with_doc(id, |d| Ok(d.save()))
    }

    /// The document's current heads.
    pub fn heads(&self, id: &DocId) -> Result<Vec<ChangeHash>> {
        self.with_doc(id, |d| Ok(d.get_heads()))
    }

    /// Merges Automerge changes or a saved document received from another
    /// copy. Returns whether anything new arrived. The bytes are checked
    /// before anything is stored; damaged input changes nothing.
    pub fn merge_document(&self, id: &DocId, bytes: &[u8]) -> Result<bool> {
        self.write(|w| w.merge(id, bytes))
    }

    /// Folds a document's appended changes into one snapshot, in one
    /// transaction. Every change is kept (the snapshot holds them all).
    pub fn compact(&self, id: &DocId) -> Result<()> {
        self.write(|w| w.compact(id))
    }

    /// Rebuilds every query table from the documents alone.
    pub fn rebuild_indexes(&self) -> Result<()> {
        let ids = self.document_ids()?;
        self.write(|w| {
            index::clear_all(&w.tx)?;
            for id in &ids {
                w.touched.push(id.clone());
            }
            Ok(())
        })
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        self.close();
    }
}

fn absolute(path: &Path) -> Result<PathBuf> {
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.canonicalize()?,
        _ => std::env::current_dir()?,
    };
    let name = path.file_name().ok_or_else(|| Error::invalid("path", "names no file"))?;
    Ok(parent.join(name))
}

pub(crate) fn kind_name(kind: DocKind) -> &'static str {
    match kind {
        DocKind::Case => "child's case",
        DocKind::Representative => "representative's file",
        DocKind::Mentor => "mentor",
        DocKind::Mentee => "mentee",
        DocKind::MeetingLog => "meeting log",
    }
}

/// A document's stored form: its snapshot followed by its appended change
/// chunks (which `Automerge::load` reads as one), whether it is the
/// snapshot alone (compact: a saved form as it is), its local version and
/// its heads as stored (empty: not recorded).
pub(crate) struct StoredForm {
    pub(crate) bytes: Vec<u8>,
    pub(crate) compact: bool,
    pub(crate) version: i64,
    pub(crate) heads: Vec<ChangeHash>,
}

pub(crate) fn stored_form_at(conn: &Connection, id: &DocId) -> Result<Option<StoredForm>> {
    let key = id.to_string();
    let Some((bytes, version, heads)) = conn
        .prepare_cached("SELECT snapshot, version, heads FROM documents WHERE doc_id = ?1")?
        .query_row([&key], |r| Ok((r.get::<_, Vec<u8>>(0)?, r.get::<_, i64>(1)?, r.get::<_, Vec<u8>>(2)?)))
        .optional()?
    else {
        return Ok(None);
    };
    let heads = heads.chunks(32).filter_map(|h| ChangeHash::try_from(h).ok()).collect();
    let (bytes, compact) = append_changes(conn, &key, bytes)?;
    Ok(Some(StoredForm { bytes, compact, version, heads }))
}

/// The snapshot followed by the document's appended change chunks, and
/// whether there were none.
fn append_changes(conn: &Connection, key: &str, mut bytes: Vec<u8>) -> Result<(Vec<u8>, bool)> {
    let mut st = conn.prepare_cached("SELECT data FROM changes WHERE doc_id = ?1 ORDER BY seq")?;
    let mut rows = st.query([key])?;
    let mut compact = true;
    while let Some(row) = rows.next()? {
        let data: Vec<u8> = row.get(0)?;
        bytes.extend_from_slice(&data);
        compact = false;
    }
    Ok((bytes, compact))
}

fn load_from_db(conn: &Connection, id: &DocId) -> Result<Option<Automerge>> {
    let Some(form) = stored_form_at(conn, id)? else { return Ok(None) };
    let doc = Automerge::load(&form.bytes).map_err(|e| Error::Corrupt(e.to_string()))?;
    Ok(Some(doc))
}

fn load_cached<'c>(
    conn: &Connection,
    cache: &'c mut DocCache,
    id: &DocId,
    actor: &ActorId,
) -> Result<Option<&'c mut Automerge>> {
    if cache.get_mut(id).is_none() {
        match load_from_db(conn, id)? {
            Some(mut doc) => {
                doc.set_actor(actor.clone());
                cache.insert(id.clone(), doc);
            }
            None => return Ok(None),
        }
    }
    Ok(cache.get_mut(id))
}

/// One write transaction over the store's documents.
pub(crate) struct WriteTx<'a> {
    tx: rusqlite::Transaction<'a>,
    cache: &'a mut DocCache,
    role: Option<crate::model::UserRole>,
    actor: &'a ActorId,
    author: &'a str,
    touched: Vec<DocId>,
    compact_after: usize,
    compact_below: usize,
    max_doc_bytes: usize,
    /// The transaction wiped the store (the file is vacuumed after commit).
    wiped: bool,
}

impl WriteTx<'_> {
    /// The document, loaded, if it exists.
    pub(crate) fn doc(&mut self, id: &DocId) -> Result<Option<&Automerge>> {
        Ok(load_cached(&self.tx, self.cache, id, self.actor)?.map(|d| &*d))
    }

    /// The typed view of an existing document.
    pub(crate) fn view<T: serde::de::DeserializeOwned>(&mut self, id: &DocId) -> Result<T> {
        let doc = self.doc(id)?.ok_or_else(|| Error::not_found(kind_name(id.kind()), id.to_string()))?;
        docs::read_view(doc)
    }

    /// The head of an existing child's case (everything but the visits).
    pub(crate) fn case_head(&mut self, id: &DocId) -> Result<docs::CaseHead> {
        let doc = self.doc(id)?.ok_or_else(|| Error::not_found(kind_name(id.kind()), id.to_string()))?;
        docs::CaseHead::read(doc)
    }

    /// Refuses what the user's role may not write (a mentor: anything but
    /// the meeting log).
    fn check_role(&self, id: &DocId) -> Result<()> {
        if self.role == Some(crate::model::UserRole::Mentor) && id.kind() != DocKind::MeetingLog {
            return Err(Error::Rule(format!(
                "this phone belongs to a mentor, who records meetings only; a {} is kept by specialists",
                kind_name(id.kind())
            )));
        }
        Ok(())
    }

    /// Creates a new document and writes its first change with `f`.
    pub(crate) fn create(&mut self, id: &DocId, f: impl FnOnce(&mut Transaction<'_>) -> Result<()>) -> Result<()> {
        self.check_role(id)?;
        if self.doc(id)?.is_some() {
            return Err(Error::Rule(format!("this {} already exists", kind_name(id.kind()))));
        }
        let mut doc = Automerge::new().with_actor(self.actor.clone());
        let mut tx = doc.transaction();
        docs::init(&mut tx, id.kind())?;
        docs::prepare_edit(&mut tx, &self.actor.to_hex_string(), self.author)?;
        f(&mut tx)?;
        tx.commit_with(commit_options());
        self.adopt(id, doc)
    }

    /// Edits an existing document with `f` and appends the change.
    pub(crate) fn edit<R>(&mut self, id: &DocId, f: impl FnOnce(&mut Transaction<'_>) -> Result<R>) -> Result<R> {
        self.check_role(id)?;
        let withdrawn: bool = self
            .tx
            .prepare_cached("SELECT EXISTS (SELECT 1 FROM sync_docs WHERE doc_id = ?1 AND status = 'withdrawn')")?
            .query_row([id.to_string()], |r| r.get(0))?;
        if withdrawn {
            return Err(Error::Rule(format!(
                "access to this {} was withdrawn; it leaves this phone once its changes reach the server",
                kind_name(id.kind())
            )));
        }
        let actor_hex = self.actor.to_hex_string();
        let author = self.author;
        let doc = load_cached(&self.tx, self.cache, id, self.actor)?
            .ok_or_else(|| Error::not_found(kind_name(id.kind()), id.to_string()))?;
        let heads = doc.get_heads();
        let mut tx = doc.transaction();
        docs::prepare_edit(&mut tx, &actor_hex, author)?;
        let out = f(&mut tx)?;
        tx.commit_with(commit_options());
        let bytes = doc.save_after(&heads);
        let stored: i64 = self
            .tx
            .prepare_cached(
                "SELECT length(snapshot) + (SELECT coalesce(sum(length(data)), 0) FROM changes WHERE doc_id = ?1)
                 FROM documents WHERE doc_id = ?1",
            )?
            .query_row([id.to_string()], |r| r.get(0))?;
        if stored as usize + bytes.len() > self.max_doc_bytes {
            // The cached copy holds the refused change.
            self.cache.evict(id);
            return Err(Error::Rule(format!(
                "this {} has reached the largest size that can be synced ({:.1} MiB); ask the regional office to archive its oldest records",
                kind_name(id.kind()),
                (self.max_doc_bytes as f64 / f64::from(1 << 20))
            )));
        }
        self.append(id, &bytes)?;
        Ok(out)
    }

    /// Merges bytes from another copy of the document.
    pub(crate) fn merge(&mut self, id: &DocId, bytes: &[u8]) -> Result<bool> {
        // Parse into a scratch document first: damaged input stops here.
        let mut incoming = Automerge::new();
        incoming.load_incremental(bytes).map_err(|e| Error::Corrupt(e.to_string()))?;
        if incoming.get_heads().is_empty() {
            return Ok(false);
        }
        match load_cached(&self.tx, self.cache, id, self.actor)? {
            Some(doc) => {
                let heads = doc.get_heads();
                doc.merge(&mut incoming)?;
                let new = doc.save_after(&heads);
                let changed = doc.get_heads() != heads;
                if changed {
                    self.append(id, &new)?;
                }
                Ok(changed)
            }
            None => {
                self.adopt(id, incoming)?;
                Ok(true)
            }
        }
    }

    /// Stores a document that arrived whole (from another copy or the
    /// server) and was not here before. Its header must name the kind its
    /// id says.
    pub(crate) fn adopt(&mut self, id: &DocId, doc: Automerge) -> Result<()> {
        self.adopt_saved(id, doc, None)
    }

    /// [`Self::adopt`] with the document's saved form when the caller has
    /// it (the bytes it was loaded from), so that it is not saved again.
    pub(crate) fn adopt_saved(&mut self, id: &DocId, mut doc: Automerge, saved: Option<&[u8]>) -> Result<()> {
        if !docs::has_kind(&doc, id) {
            return Err(Error::Corrupt("the document's kind does not match its id".into()));
        }
        doc.set_actor(self.actor.clone());
        let snapshot = saved.map_or_else(|| doc.save(), <[u8]>::to_vec);
        self.tx
            .prepare_cached("INSERT INTO documents(doc_id, kind, snapshot, updated_at) VALUES (?1, ?2, ?3, ?4)")?
            .execute(params![id.to_string(), id.kind().prefix(), snapshot, now_ms()])?;
        self.cache.insert(id.clone(), doc);
        self.touch(id);
        self.mark_pending(id)
    }

    pub(crate) fn append(&mut self, id: &DocId, bytes: &[u8]) -> Result<()> {
        if bytes.is_empty() {
            return Ok(());
        }
        self.tx.execute("INSERT INTO changes(doc_id, data) VALUES (?1, ?2)", params![id.to_string(), bytes])?;
        self.tx
            .prepare_cached("UPDATE documents SET updated_at = ?2, version = version + 1 WHERE doc_id = ?1")?
            .execute(params![id.to_string(), now_ms()])?;
        self.touch(id);
        self.mark_pending(id)
    }

    /// Marks a document as having something to sync.
    pub(crate) fn mark_pending(&mut self, id: &DocId) -> Result<()> {
        self.tx
            .prepare_cached(
                "INSERT INTO sync_docs(doc_id, pending, status, updated_at) VALUES (?1, 1, 'pending', ?2)
                 ON CONFLICT(doc_id) DO UPDATE SET pending = 1, status = 'pending', reason = NULL, updated_at = ?2",
            )?
            .execute(params![id.to_string(), now_ms()])?;
        Ok(())
    }

    pub(crate) fn touch(&mut self, id: &DocId) {
        if !self.touched.contains(id) {
            self.touched.push(id.clone());
        }
    }

    /// Rewrites the snapshot from everything stored for the document and
    /// drops the folded changes. The document is loaded afresh from the
    /// database so that the snapshot holds exactly what was stored.
    pub(crate) fn compact(&mut self, id: &DocId) -> Result<()> {
        let doc = load_from_db(&self.tx, id)?.ok_or_else(|| Error::not_found(kind_name(id.kind()), id.to_string()))?;
        let snapshot = doc.save();
        let check = Automerge::load(&snapshot).map_err(|e| Error::Corrupt(e.to_string()))?;
        if check.get_heads() != doc.get_heads() {
            return Err(Error::Corrupt("compaction produced a different document".into()));
        }
        self.tx.execute("UPDATE documents SET snapshot = ?2 WHERE doc_id = ?1", params![id.to_string(), snapshot])?;
        self.tx.execute("DELETE FROM changes WHERE doc_id = ?1", [id.to_string()])?;
        Ok(())
    }

    fn finish(&mut self) -> Result<()> {
        let touched = std::mem::take(&mut self.touched);
        for id in &touched {
            let key = id.to_string();
            let (pending, size): (i64, i64) = self
                .tx
                // Scalar subqueries, not a join: SQLite prepares a join
                // whose WHERE compares a column with a parameter again at
                // every new binding (constant propagation).
                .prepare_cached(
                    "SELECT (SELECT count(*) FROM changes WHERE doc_id = ?1),
                            (SELECT length(snapshot) FROM documents WHERE doc_id = ?1)
                              + (SELECT coalesce(sum(length(data)), 0) FROM changes WHERE doc_id = ?1)",
                )?
                .query_row([&key], |r| Ok((r.get(0)?, r.get(1)?)))?;
            if pending as usize > self.compact_after {
                self.compact(id)?;
            }
            let doc = load_cached(&self.tx, self.cache, id, self.actor)?
                .ok_or_else(|| Error::not_found(kind_name(id.kind()), id.to_string()))?;
            let heads: Vec<u8> = doc.get_heads().iter().flat_map(|h| h.0).collect();
            if pending > 0 && pending as usize <= self.compact_after && size as usize <= self.compact_below {
                // Small: kept as one snapshot (the cached copy is what is stored).
                self.tx
                    .prepare_cached("UPDATE documents SET snapshot = ?2, heads = ?3 WHERE doc_id = ?1")?
                    .execute(params![key, doc.save(), heads])?;
                self.tx.prepare_cached("DELETE FROM changes WHERE doc_id = ?1")?.execute([&key])?;
            } else {
                self.tx
                    .prepare_cached("UPDATE documents SET heads = ?2 WHERE doc_id = ?1")?
                    .execute(params![key, heads])?;
            }
            if let Some(survivor) = index::update(&self.tx, id, doc)?
                && let Some(doc) = load_cached(&self.tx, self.cache, &survivor, self.actor)?
            {
                index::update(&self.tx, &survivor, doc)?;
            }
        }
        self.touched = touched;
        Ok(())
    }
}

/// Runs WAL checkpoints on its own connection and thread.
struct Checkpointer {
    signal: Option<std::sync::mpsc::SyncSender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
    commits: u32,
}

impl Checkpointer {
    /// Commits between checkpoints (a few hundred KiB of WAL).
    const EVERY: u32 = 64;

    fn start(conn: Connection) -> Self {
        let (signal, wake) = std::sync::mpsc::sync_channel::<()>(1);
        let thread = std::thread::Builder::new()
            .name("qamqor-checkpoint".into())
            .spawn(move || {
                while wake.recv().is_ok() {
                    if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
                        tracing::warn!(error = %e, "WAL checkpoint failed; it will be retried");
                    }
                }
                // Closing: fold the whole WAL back into the database.
                let _ = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()));
            })
            .ok();
        Checkpointer { signal: Some(signal), thread, commits: 0 }
    }

    fn committed(&mut self) {
        self.commits += 1;
        if self.commits >= Self::EVERY {
            self.commits = 0;
            if let Some(s) = &self.signal {
                let _ = s.try_send(());
            }
        }
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.signal.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

fn commit_options() -> CommitOptions {
    CommitOptions::default().with_time(chrono::Utc::now().timestamp())
}
