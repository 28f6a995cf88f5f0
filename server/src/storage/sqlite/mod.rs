//! The embedded SQLite backend: a writer connection and a few readers per
//! process. Several processes (or several instances in one process) may
//! open the same file: writes are serialized by SQLite's own lock (every
//! write transaction begins `IMMEDIATE`), and a process's document cache is
//! trusted only while the document's feed sequence is unchanged. Within a
//! process, writes that arrive together are committed together
//! ([`writer`]: group commit, one fsync for the group).

mod writer;

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};

use automerge::Automerge;
use qamqor_core::docs::{AccessTier, DocId, DocKind, FACTS_VERSION, Facts, Identity, PROJECTION_VERSION, Projection};
use qamqor_core::sync::wire::SyncResponse;
use rusqlite::{Connection, OptionalExtension, Row, TransactionBehavior, params};

use super::cache::DocCache;
use super::quiet::{ReadOnly, Touches};
use super::{DocWrite, FeedScope, Held, HeldScope, Loaded, Storage, StoredReport, SyncCaller, SyncTx};
use crate::access::Grants;
use crate::error::{Result, ServerError, StorageFailure};
use crate::model::{AuditCheck, AuditEntry, ConsoleAccount, ConsoleSession, Device, DocMeta, HeldDocument, Role, User};
use writer::Writer;

const MIGRATIONS: &[&str] = &[
    r#"
    CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL) STRICT;
    INSERT INTO meta(key, value) VALUES ('feed_seq', 0);

    CREATE TABLE users (
        id              TEXT PRIMARY KEY,
        name            TEXT NOT NULL,
        role            TEXT NOT NULL,
        region          TEXT NOT NULL,
        districts       TEXT NOT NULL,
        adoption_access INTEGER NOT NULL DEFAULT 0
    ) STRICT;

    CREATE TABLE enrollment_codes (
        code_id     TEXT PRIMARY KEY,
        secret_hash TEXT NOT NULL,
        user_id     TEXT NOT NULL REFERENCES users(id),
        expires_at  INTEGER NOT NULL,
        used_at     INTEGER
    ) STRICT;

    CREATE TABLE devices (
        id           TEXT PRIMARY KEY,
        user_id      TEXT NOT NULL REFERENCES users(id),
        actor        TEXT NOT NULL UNIQUE,
        token_hash   TEXT NOT NULL UNIQUE,
        label        TEXT NOT NULL,
        created_at   INTEGER NOT NULL,
        expires_at   INTEGER NOT NULL,
        revoked_at   INTEGER,
        wiped_at     INTEGER,
        last_sync_at INTEGER,
        cursor       INTEGER NOT NULL DEFAULT 0
    ) STRICT;

    CREATE TABLE assignments (
        user_id TEXT NOT NULL REFERENCES users(id),
        doc_id  TEXT NOT NULL,
        PRIMARY KEY (user_id, doc_id)
    ) STRICT, WITHOUT ROWID;

    CREATE TABLE documents (
        doc_id     TEXT PRIMARY KEY,
        kind       TEXT NOT NULL,
        region     TEXT,
        district   TEXT,
        tier       TEXT NOT NULL,
        mentor_id  TEXT,
        owner_user TEXT,
        urgent     INTEGER NOT NULL DEFAULT 0,
        seq        INTEGER NOT NULL,
        snapshot   BLOB NOT NULL
    ) STRICT;
    CREATE UNIQUE INDEX documents_seq ON documents(seq);
    CREATE INDEX documents_owner ON documents(owner_user);

    CREATE TABLE changes (
        id     INTEGER PRIMARY KEY AUTOINCREMENT,
        doc_id TEXT NOT NULL REFERENCES documents(doc_id),
        data   BLOB NOT NULL
    ) STRICT;
    CREATE INDEX changes_doc ON changes(doc_id, id);

    CREATE TABLE device_docs (
        device_id TEXT NOT NULL,
        doc_id    TEXT NOT NULL,
        state     BLOB NOT NULL,
        PRIMARY KEY (device_id, doc_id)
    ) STRICT, WITHOUT ROWID;

    -- Append-only: no UPDATE or DELETE is ever issued on it.
    CREATE TABLE audit (
        id        INTEGER PRIMARY KEY AUTOINCREMENT,
        at        INTEGER NOT NULL,
        user_id   TEXT NOT NULL,
        device_id TEXT NOT NULL,
        doc_id    TEXT NOT NULL,
        action    TEXT NOT NULL,
        hashes    TEXT NOT NULL
    ) STRICT;
    CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
    CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
"#,
    // 2: access epochs. A user's epoch moves when their access changes
    // (districts, adoption tier); a device that has not seen the current
    // epoch rescans the change feed from the start at its next sync.
    r#"
    ALTER TABLE users ADD COLUMN access_epoch INTEGER NOT NULL DEFAULT 0;
    CREATE TABLE device_access (
        device_id TEXT PRIMARY KEY REFERENCES devices(id),
        epoch     INTEGER NOT NULL
    ) STRICT;
"#,
    // 3: failed attempts per enrollment code.
    r#"
    ALTER TABLE enrollment_codes ADD COLUMN failures INTEGER NOT NULL DEFAULT 0;
"#,
    // 4: removals repeated until the device acknowledges them; the urgent
    // feed; the projection version the document metadata was derived
    // under (0: before versions, so the first start reprojects).
    r#"
    ALTER TABLE device_docs ADD COLUMN removal INTEGER NOT NULL DEFAULT 0;
    CREATE INDEX device_docs_removal ON device_docs(device_id, removal);
    CREATE INDEX documents_urgent ON documents(urgent, seq);
    INSERT INTO meta(key, value) VALUES ('projection_version', 0);

    -- Documents a device created that access rules refused (its user's
    -- districts changed before it synced): kept for the office to hand on.
    CREATE TABLE held_documents (
        doc_id    TEXT NOT NULL,
        device_id TEXT NOT NULL,
        user_id   TEXT NOT NULL,
        at        INTEGER NOT NULL,
        reason    TEXT NOT NULL,
        snapshot  BLOB NOT NULL,
        PRIMARY KEY (doc_id, device_id)
    ) STRICT, WITHOUT ROWID;
"#,
    // 5: attempts at an enrollment code per client address (a stranger's
    // wrong guesses lock out the stranger, not the code's owner); the
    // client address in the audit.
    r#"
    CREATE TABLE code_attempts (
        code_id  TEXT NOT NULL,
        address  TEXT NOT NULL,
        attempts INTEGER NOT NULL,
        PRIMARY KEY (code_id, address)
    ) STRICT, WITHOUT ROWID;
    ALTER TABLE audit ADD COLUMN address TEXT;

    -- A renewed token waiting to be used: the current one stays valid
    -- until the device first uses this one.
    ALTER TABLE devices ADD COLUMN next_token_hash TEXT;
    ALTER TABLE devices ADD COLUMN next_expires_at INTEGER;
    CREATE UNIQUE INDEX devices_next_token ON devices(next_token_hash) WHERE next_token_hash IS NOT NULL;

    -- Read records phones sent, so that one sent twice is audited once.
    CREATE TABLE phone_reads (
        read_id   TEXT PRIMARY KEY,
        device_id TEXT NOT NULL
    ) STRICT, WITHOUT ROWID;

    -- Tamper evidence: each line's chain is the SHA-256 of the previous
    -- line's chain and its own fields (lines older than this migration
    -- have none). The anchor is the chain of the last line archived away.
    ALTER TABLE audit ADD COLUMN chain TEXT;
    CREATE TABLE audit_anchor (
        id        INTEGER PRIMARY KEY CHECK (id = 1),
        chain     TEXT NOT NULL,
        up_to_id  INTEGER NOT NULL
    ) STRICT;
"#,
    // 6: the facts the region's figures count, one row per document,
    // written with each stored change (core::docs::Facts: dates and codes,
    // no personal data).
    r#"
    CREATE TABLE doc_facts (
        doc_id TEXT PRIMARY KEY REFERENCES documents(doc_id) ON DELETE CASCADE,
        tier   TEXT NOT NULL,
        facts  TEXT NOT NULL
    ) STRICT;
    INSERT INTO meta(key, value) VALUES ('facts_version', 0);
"#,
    // 7: the office console: sign-ins with a second factor, and sessions.
    r#"
    CREATE TABLE console_accounts (
        user_id        TEXT PRIMARY KEY REFERENCES users(id),
        password_hash  TEXT NOT NULL,
        totp_secret    TEXT NOT NULL,
        last_totp_step INTEGER NOT NULL DEFAULT 0,
        failures       INTEGER NOT NULL DEFAULT 0,
        locked_until   INTEGER NOT NULL DEFAULT 0,
        lang           TEXT NOT NULL DEFAULT 'ru'
    ) STRICT;
    CREATE TABLE console_sessions (
        token_hash TEXT PRIMARY KEY,
        user_id    TEXT NOT NULL REFERENCES users(id),
        csrf       TEXT NOT NULL,
        expires_at INTEGER NOT NULL
    ) STRICT;
    CREATE INDEX console_sessions_user ON console_sessions(user_id);
"#,
    // 8: the national server: regions' credentials and their reports
    // (suppressed counts only, see national.rs).
    r#"
    CREATE TABLE region_credentials (
        region     TEXT PRIMARY KEY,
        token_hash TEXT NOT NULL UNIQUE,
        created_at INTEGER NOT NULL
    ) STRICT;
    CREATE TABLE region_reports (
        region      TEXT NOT NULL,
        as_of       TEXT NOT NULL,
        received_at INTEGER NOT NULL,
        body        TEXT NOT NULL,
        PRIMARY KEY (region, as_of)
    ) STRICT;
"#,
    // 9: a device's documents awaiting removal, found without reading
    // every document it holds (a sync with nothing new stays cheap).
    r#"
    CREATE INDEX device_docs_removals ON device_docs(device_id) WHERE removal = 1;
"#,
    // 10: who each case, representative's file and mentor profile is about
    // (core::docs::Identity), to match an imported register and to find two
    // files of one person; filled for stored documents by recomputing the
    // facts.
    r#"
    CREATE TABLE doc_people (
        doc_id   TEXT PRIMARY KEY REFERENCES documents(doc_id) ON DELETE CASCADE,
        kind     TEXT NOT NULL,
        iin      TEXT NOT NULL,
        name_key TEXT NOT NULL,
        birth    TEXT NOT NULL
    ) STRICT;
    CREATE INDEX doc_people_iin ON doc_people(kind, iin);
    CREATE INDEX doc_people_name ON doc_people(kind, name_key, birth);
    UPDATE meta SET value = 0 WHERE key = 'facts_version';
"#,
    // 11: attachments: which documents reference which files (the files'
    // access follows the documents'; filled by recomputing the facts), and
    // the files themselves, received in chunks.
    r#"
    CREATE TABLE doc_blobs (
        doc_id TEXT NOT NULL REFERENCES documents(doc_id) ON DELETE CASCADE,
        hash   TEXT NOT NULL,
        PRIMARY KEY (doc_id, hash)
    ) STRICT, WITHOUT ROWID;
    CREATE INDEX doc_blobs_hash ON doc_blobs(hash);
    CREATE TABLE blobs (
        hash       TEXT PRIMARY KEY,
        media_type TEXT NOT NULL,
        size       INTEGER NOT NULL,
        received   INTEGER NOT NULL,
        complete   INTEGER NOT NULL,
        created_at INTEGER NOT NULL
    ) STRICT;
    CREATE TABLE blob_chunks (
        hash   TEXT NOT NULL REFERENCES blobs(hash) ON DELETE CASCADE,
        pos    INTEGER NOT NULL,
        data   BLOB NOT NULL,
        PRIMARY KEY (hash, pos)
    ) STRICT;
    UPDATE meta SET value = 0 WHERE key = 'facts_version';
"#,
];

/// Compacts a document's change rows into its snapshot past this many.
const COMPACT_AFTER: i64 = 64;
const READERS: usize = 4;
/// Prepared statements kept per connection.
const STATEMENT_CACHE: usize = 128;

/// The SQLite storage.
pub struct SqliteStorage {
    writer: Writer,
    readers: Vec<Mutex<Connection>>,
    next_reader: AtomicUsize,
    /// Loaded documents with the feed sequence they were current at.
    cache: Mutex<DocCache>,
    /// Last syncs of requests served from a read snapshot, written behind.
    touches: Touches,
}

impl Drop for SqliteStorage {
    fn drop(&mut self) {
        if let Err(e) = self.write_touches(true) {
            tracing::warn!(error = %e, "last sync times could not be written at shutdown");
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A 256-bit key for the database file (SQLCipher, raw key).
pub type DbKey = [u8; 32];

fn open_conn(path: &Path, key: Option<&DbKey>) -> Result<Connection> {
    let conn = Connection::open(path)?;
    if let Some(key) = key {
        // A raw key: SQLCipher skips its passphrase derivation.
        conn.execute_batch("PRAGMA cipher_log_level = NONE;")?;
        conn.execute_batch(&format!("PRAGMA key = \"x'{}'\";", hex::encode(key)))?;
    }
    conn.pragma_update(None, "journal_mode", "WAL")?;
    // The server acknowledges only what is on disk.
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    // A sync transaction alone uses about 30 statements: with rusqlite's
    // default of 16 they would be parsed again at every request.
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    Ok(conn)
}

/// Applies the numbered migrations.
pub fn migrate(conn: &mut Connection) -> Result<()> {
    let version: usize = conn.query_row("PRAGMA user_version", [], |r| r.get::<_, u32>(0))? as usize;
    if version > MIGRATIONS.len() {
        return Err(ServerError::Config("the database was written by a newer server version".into()));
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(version) {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        // Another process may have migrated meanwhile.
        let now: usize = tx.query_row("PRAGMA user_version", [], |r| r.get::<_, u32>(0))? as usize;
        if now > i {
            continue;
        }
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", i as u32 + 1)?;
        tx.commit()?;
    }
    Ok(())
}

/// A database that cannot be opened or read, as a clear refusal.
fn damaged_db(path: &Path, keyed: bool, e: ServerError) -> ServerError {
    match e {
        ServerError::Storage { failure: StorageFailure::Damaged, .. } => {
            let hint = if keyed { " or the database key does not open it" } else { "" };
            ServerError::Config(format!(
                "{} is not a readable Qamqor database (damaged, not a database{hint}); restore it from a backup or give the right key",
                path.display()
            ))
        }
        e => e,
    }
}

fn damaged(what: &str) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, what.to_owned().into())
}

fn user_from(r: &Row<'_>) -> rusqlite::Result<User> {
    let role: String = r.get(2)?;
    let districts: String = r.get(4)?;
    Ok(User {
        id: r.get(0)?,
        name: r.get(1)?,
        role: Role::parse(&role).ok_or_else(|| damaged("a user record holds a role this server does not know"))?,
        region: r.get(3)?,
        districts: serde_json::from_str(&districts)
            .map_err(|_| damaged("a user record holds districts this server cannot read"))?,
        adoption_access: r.get(5)?,
    })
}

/// Maps a damaged stored value to a clear refusal.
fn user_err(e: rusqlite::Error) -> ServerError {
    match e {
        rusqlite::Error::FromSqlConversionFailure(_, _, inner) => {
            ServerError::Forbidden(format!("{inner}; access is denied until an administrator corrects it"))
        }
        e => ServerError::from(e),
    }
}

const USER_COLS: &str = "id, name, role, region, districts, adoption_access";
const DEVICE_COLS: &str =
    "id, user_id, actor, label, created_at, expires_at, revoked_at, wiped_at, last_sync_at, cursor";

fn device_from(r: &Row<'_>) -> rusqlite::Result<Device> {
    Ok(Device {
        id: r.get(0)?,
        user_id: r.get(1)?,
        actor: r.get(2)?,
        label: r.get(3)?,
        created_at: r.get(4)?,
        expires_at: r.get(5)?,
        revoked_at: r.get(6)?,
        wiped_at: r.get(7)?,
        last_sync_at: r.get(8)?,
        cursor: r.get::<_, i64>(9)? as u64,
    })
}

const META_COLS: &str = "doc_id, kind, region, district, tier, mentor_id, owner_user, urgent, seq";

/// A metadata row; `None` when a stored value is not one this server knows
/// (an unknown kind or tier): such a document is never served.
fn meta_from(r: &Row<'_>) -> rusqlite::Result<(String, Option<DocMeta>)> {
    meta_at(r, 0)
}

/// The metadata columns ([`META_COLS`]) starting at column `at`.
fn meta_at(r: &Row<'_>, at: usize) -> rusqlite::Result<(String, Option<DocMeta>)> {
    let doc_id: String = r.get(at)?;
    let meta = super::typed_meta(
        &doc_id,
        &r.get::<_, String>(at + 1)?,
        &r.get::<_, String>(at + 4)?,
        Projection {
            kind: DocKind::Case,
            region: r.get(at + 2)?,
            district: r.get(at + 3)?,
            tier: AccessTier::Standard,
            mentor_id: r.get(at + 5)?,
            owner_user: r.get(at + 6)?,
            urgent: r.get(at + 7)?,
        },
        r.get::<_, i64>(at + 8)? as u64,
    );
    Ok((doc_id, meta))
}

fn corrupt(e: impl std::fmt::Display) -> ServerError {
    ServerError::Core(qamqor_core::Error::Corrupt(e.to_string()))
}

/// The stored form of documents (their snapshot followed by their appended
/// change chunks, what `Automerge::load` reads), by id, in two statements
/// whatever their number.
fn saved_of(conn: &Connection, ids: &str) -> Result<HashMap<String, Vec<u8>>> {
    let mut out: HashMap<String, Vec<u8>> = HashMap::new();
    let mut st = conn
        .prepare_cached("SELECT doc_id, snapshot FROM documents WHERE doc_id IN (SELECT value FROM json_each(?1))")?;
    let rows = st.query_map([ids], |r| Ok((r.get::<_, String>(0)?, r.get::<_, Vec<u8>>(1)?)))?;
    for row in rows {
        let (k, snapshot) = row?;
        out.insert(k, snapshot);
    }
    let mut st = conn.prepare_cached(
        "SELECT doc_id, data FROM changes WHERE doc_id IN (SELECT value FROM json_each(?1)) ORDER BY id",
    )?;
    let mut rows = st.query([ids])?;
    while let Some(row) = rows.next()? {
        let k: String = row.get(0)?;
        let data: Vec<u8> = row.get(1)?;
        if let Some(bytes) = out.get_mut(&k) {
            bytes.extend_from_slice(&data);
        }
    }
    Ok(out)
}

fn load_from(conn: &Connection, id: &str) -> Result<Option<Automerge>> {
    let list = serde_json::Value::Array(vec![serde_json::Value::String(id.to_owned())]).to_string();
    saved_of(conn, &list)?.remove(id).map(|bytes| Automerge::load(&bytes).map_err(corrupt)).transpose()
}

fn next_seq(conn: &Connection) -> Result<i64> {
    Ok(conn
        .prepare_cached("UPDATE meta SET value = value + 1 WHERE key = 'feed_seq' RETURNING value")?
        .query_row([], |r| r.get(0))?)
}

/// The chain value the next audit line follows.
fn chain_head(conn: &Connection) -> Result<String> {
    let last: Option<Option<String>> = conn
        .prepare_cached("SELECT chain FROM audit ORDER BY id DESC LIMIT 1")?
        .query_row([], |r| r.get(0))
        .optional()?;
    if let Some(Some(c)) = last {
        return Ok(c);
    }
    let anchor: Option<String> =
        conn.prepare_cached("SELECT chain FROM audit_anchor WHERE id = 1")?.query_row([], |r| r.get(0)).optional()?;
    Ok(anchor.unwrap_or_default())
}

fn insert_audit(conn: &Connection, entries: &[AuditEntry]) -> Result<()> {
    if entries.is_empty() {
        return Ok(());
    }
    let mut prev = chain_head(conn)?;
    let mut st = conn.prepare_cached(
        "INSERT INTO audit(at, user_id, device_id, doc_id, action, hashes, address, chain)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?;
    for e in entries {
        let chain = super::audit_chain(&prev, e);
        st.execute(params![e.at, e.user_id, e.device_id, e.doc_id, e.action, e.hashes.join(","), e.address, chain])?;
        prev = chain;
    }
    Ok(())
}

fn audit_from(r: &Row<'_>) -> rusqlite::Result<AuditEntry> {
    audit_at(r, 0)
}

/// The [`AUDIT_COLS`] starting at column `at`.
fn audit_at(r: &Row<'_>, at: usize) -> rusqlite::Result<AuditEntry> {
    let hashes: String = r.get(at + 5)?;
    Ok(AuditEntry {
        at: r.get(at)?,
        user_id: r.get(at + 1)?,
        device_id: r.get(at + 2)?,
        doc_id: r.get(at + 3)?,
        action: r.get(at + 4)?,
        hashes: hashes.split(',').filter(|s| !s.is_empty()).map(str::to_owned).collect(),
        address: r.get(at + 6)?,
    })
}

const AUDIT_COLS: &str = "at, user_id, device_id, doc_id, action, hashes, address";

/// A list of ids as a JSON array, for `IN (SELECT value FROM json_each(?))`:
/// one statement whatever the number of ids.
fn id_list<'a>(ids: impl Iterator<Item = &'a DocId>) -> String {
    serde_json::Value::Array(ids.map(|i| serde_json::Value::String(i.to_string())).collect()).to_string()
}

/// Folds a document's change rows into a fresh snapshot, from what is
/// stored (never from a cached copy), verifying the snapshot reloads to
/// the same heads before the change rows are deleted.
/// Stores a document's new content (all of it when `before` is empty, else
/// the changes since `before`), its projection and its facts, under a new
/// feed number, which it returns.
fn put_document(
    tx: &Connection,
    id: &DocId,
    doc: &Automerge,
    before: &[automerge::ChangeHash],
    p: &Projection,
    saved: Option<&[u8]>,
) -> Result<i64> {
    let key = id.to_string();
    let seq = next_seq(tx)?;
    if before.is_empty() {
        tx.prepare_cached(
            "INSERT INTO documents(doc_id, kind, region, district, tier, mentor_id, owner_user, urgent, seq, snapshot)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        )?
        .execute(params![
            key,
            p.kind.prefix(),
            p.region,
            p.district,
            p.tier.code(),
            p.mentor_id,
            p.owner_user,
            p.urgent,
            seq,
            saved.map_or_else(|| doc.save(), <[u8]>::to_vec)
        ])?;
    } else {
        tx.prepare_cached("INSERT INTO changes(doc_id, data) VALUES (?1, ?2)")?
            .execute(params![key, doc.save_after(before)])?;
        tx.prepare_cached(
            "UPDATE documents SET region = ?2, district = ?3, tier = ?4, mentor_id = ?5, owner_user = ?6,
             urgent = ?7, seq = ?8 WHERE doc_id = ?1",
        )?
        .execute(params![
            key,
            p.region,
            p.district,
            p.tier.code(),
            p.mentor_id,
            p.owner_user,
            p.urgent,
            seq
        ])?;
    }
    write_facts(tx, id, doc, p.tier)?;
    Ok(seq)
}

/// Writes a document's facts (or removes them when it cannot be read).
fn write_facts(tx: &Connection, id: &DocId, doc: &Automerge, tier: qamqor_core::docs::AccessTier) -> Result<()> {
    let key = id.to_string();
    match Facts::of(id, doc) {
        Some(f) => {
            let body = serde_json::to_string(&f).map_err(|e| ServerError::Config(e.to_string()))?;
            tx.prepare_cached(
                "INSERT INTO doc_facts(doc_id, tier, facts) VALUES (?1, ?2, ?3)
                 ON CONFLICT(doc_id) DO UPDATE SET tier = ?2, facts = ?3",
            )?
            .execute(params![key, tier.code(), body])?;
        }
        None => {
            tx.prepare_cached("DELETE FROM doc_facts WHERE doc_id = ?1")?.execute([&key])?;
        }
    }
    if matches!(id.kind(), DocKind::Case | DocKind::Representative) {
        let hashes = qamqor_core::docs::attachments::hashes(id, doc);
        tx.prepare_cached("DELETE FROM doc_blobs WHERE doc_id = ?1")?.execute([&key])?;
        let mut st = tx.prepare_cached("INSERT INTO doc_blobs(doc_id, hash) VALUES (?1, ?2)")?;
        for h in hashes {
            st.execute(params![key, h])?;
        }
    }
    if matches!(id.kind(), DocKind::Case | DocKind::Representative | DocKind::Mentor) {
        match Identity::of(id, doc) {
            Some(p) => {
                tx.prepare_cached(
                    "INSERT INTO doc_people(doc_id, kind, iin, name_key, birth) VALUES (?1, ?2, ?3, ?4, ?5)
                     ON CONFLICT(doc_id) DO UPDATE SET iin = ?3, name_key = ?4, birth = ?5
                     WHERE iin IS NOT ?3 OR name_key IS NOT ?4 OR birth IS NOT ?5",
                )?
                .execute(params![key, id.kind().prefix(), p.iin, p.name_key, p.birth.to_string()])?;
            }
            None => {
                tx.prepare_cached("DELETE FROM doc_people WHERE doc_id = ?1")?.execute([&key])?;
            }
        }
    }
    Ok(())
}

fn compact(tx: &Connection, key: &str) -> Result<()> {
    let doc = load_from(tx, key)?.ok_or_else(|| corrupt("a document vanished while being compacted"))?;
    let snapshot = doc.save();
    let check = Automerge::load(&snapshot).map_err(corrupt)?;
    if check.get_heads() != doc.get_heads() {
        return Err(corrupt("compaction produced a different document"));
    }
    tx.execute("UPDATE documents SET snapshot = ?2 WHERE doc_id = ?1", params![key, snapshot])?;
    tx.execute("DELETE FROM changes WHERE doc_id = ?1", [key])?;
    Ok(())
}

impl From<rusqlite::Error> for ServerError {
    fn from(e: rusqlite::Error) -> Self {
        use rusqlite::ErrorCode as C;
        let failure = match &e {
            rusqlite::Error::SqliteFailure(f, _) => match f.code {
                C::DatabaseBusy | C::DatabaseLocked => StorageFailure::Busy,
                C::DiskFull => StorageFailure::DiskFull,
                C::NotADatabase | C::DatabaseCorrupt => StorageFailure::Damaged,
                _ => StorageFailure::Other,
            },
            _ => StorageFailure::Other,
        };
        ServerError::storage(failure, e)
    }
}

impl SqliteStorage {
    /// Opens (creating and migrating) the database at `path`, and brings
    /// the document metadata to this version's projection.
    ///
    /// A zero-byte or damaged file is refused with a clear error, never
    /// taken for a new empty region; `PRAGMA quick_check` runs first.
    pub fn open(path: &Path) -> Result<Self> {
        Self::open_with_key(path, None)
    }

    /// Opens the database at `path` encrypted with `key` (SQLCipher); a
    /// new database is created encrypted. `None` opens it unencrypted.
    pub fn open_with_key(path: &Path, key: Option<&DbKey>) -> Result<Self> {
        if std::fs::metadata(path).is_ok_and(|m| m.len() == 0) {
            return Err(ServerError::Config(format!(
                "the database {} is empty (zero bytes); restore it from a backup, or remove it to start a new region",
                path.display()
            )));
        }
        let mut writer = open_conn(path, key).map_err(|e| damaged_db(path, key.is_some(), e))?;
        let check: String = writer
            .query_row("PRAGMA quick_check", [], |r| r.get(0))
            .map_err(|e| damaged_db(path, key.is_some(), ServerError::from(e)))?;
        if check != "ok" {
            return Err(ServerError::Config(format!(
                "the database {} is damaged (quick_check: {}); restore it from a backup",
                path.display(),
                check.chars().take(200).collect::<String>()
            )));
        }
        migrate(&mut writer)?;
        let readers = (0..READERS).map(|_| open_conn(path, key).map(Mutex::new)).collect::<Result<Vec<_>>>()?;
        let storage = SqliteStorage {
            writer: Writer::new(writer),
            readers,
            next_reader: AtomicUsize::new(0),
            cache: Mutex::new(DocCache::new(super::cache::DEFAULT_BUDGET)),
            touches: Touches::default(),
        };
        let n = storage.reproject()?;
        if n > 0 {
            tracing::info!(documents = n, "document metadata derived again under the current rules");
        }
        Ok(storage)
    }

    /// Sets the document cache's budget (estimated bytes; 0: no cache).
    pub fn with_cache_budget(self, bytes: usize) -> Self {
        *lock(&self.cache) = DocCache::new(bytes);
        self
    }

    fn reader(&self) -> MutexGuard<'_, Connection> {
        let i = self.next_reader.fetch_add(1, Ordering::Relaxed) % self.readers.len();
        lock(&self.readers[i])
    }

    fn read<R>(&self, f: impl FnOnce(&Connection) -> Result<R>) -> Result<R> {
        f(&self.reader())
    }

    /// Writes the last syncs kept by read-snapshot requests: those due
    /// ([`super::quiet::TOUCH_BEHIND`]), or all of them. A failed write
    /// keeps them for the next time.
    fn write_touches(&self, all: bool) -> Result<()> {
        self.touches.write(all, |touches| {
            self.write(|tx| {
                // Never over a later sync written meanwhile (by a write
                // transaction, or another process).
                let mut st = tx.prepare_cached(
                    "UPDATE devices SET last_sync_at = ?2, cursor = ?3
                     WHERE id = ?1 AND coalesce(last_sync_at, 0) <= ?2",
                )?;
                for t in touches {
                    st.execute(params![t.device_id, t.at, t.cursor as i64])?;
                }
                Ok(())
            })
        })
    }

    /// Runs `f` in the write transaction and returns once it is committed
    /// (with others' writes: see [`writer`]); run again while the database
    /// is busy (another process holds the write lock past the busy timeout).
    fn write<R>(&self, f: impl FnMut(&Connection) -> Result<R>) -> Result<R> {
        self.writer.write(f)
    }
}

/// Parameters of a statement written on the fly, numbered in order.
struct Args(Vec<Box<dyn rusqlite::ToSql>>);

impl Args {
    /// Adds a value; its placeholder.
    fn add(&mut self, v: impl rusqlite::ToSql + 'static) -> String {
        self.0.push(Box::new(v));
        format!("?{}", self.0.len())
    }

    /// A test that `expr` is one of `values`: `=` for one, an uncorrelated
    /// `IN` for more (read once per statement), nothing for none (each `IN`
    /// list costs SQLite a temporary table at every run).
    fn one_of(&mut self, expr: &str, values: &[String], terms: &mut Vec<String>) {
        match values {
            [] => {}
            [v] => {
                let p = self.add(v.clone());
                terms.push(format!("{expr} = {p}"));
            }
            _ => {
                let p = self.add(serde_json::to_string(values).unwrap_or_else(|_| "[]".into()));
                terms.push(format!("{expr} IN (SELECT value FROM json_each({p}))"));
            }
        }
    }
}

/// Feed rows after `after` within `scope` (`cond`: a further condition
/// ending in `AND `), at most `limit`.
fn feed_rows(tx: &Connection, cond: &str, after: u64, limit: usize, scope: &FeedScope) -> Result<Vec<DocMeta>> {
    let (filter, args) = feed_filter(after, limit, scope);
    let mut st = tx.prepare_cached(&format!(
        "WITH me(device) AS (SELECT ?3)
         SELECT {META_COLS} FROM me, documents d WHERE {cond}d.seq > ?1 AND ({filter})
         ORDER BY d.seq LIMIT ?2"
    ))?;
    let params: Vec<&dyn rusqlite::ToSql> = args.0.iter().map(|a| &**a).collect();
    let rows = st.query_map(params.as_slice(), meta_from)?;
    Ok(rows.filter_map(|r| r.map(|(_, m)| m).transpose()).collect::<rusqlite::Result<_>>()?)
}

/// How many feed rows after `after` are within `scope` and not held by its
/// device, at most `cap`.
fn feed_count(tx: &Connection, after: u64, cap: usize, scope: &FeedScope) -> Result<u64> {
    let (filter, args) = feed_filter(after, cap, scope);
    let mut st = tx.prepare_cached(&format!(
        "WITH me(device) AS (SELECT ?3)
         SELECT count(*) FROM (SELECT 1 FROM me, documents d WHERE d.seq > ?1 AND ({filter})
             AND NOT EXISTS (SELECT 1 FROM device_docs h WHERE h.device_id = me.device AND h.doc_id = d.doc_id)
             LIMIT ?2)"
    ))?;
    let params: Vec<&dyn rusqlite::ToSql> = args.0.iter().map(|a| &**a).collect();
    Ok(st.query_row(params.as_slice(), |r| r.get::<_, i64>(0))? as u64)
}

/// The condition on `d` (a feed row) for `scope`, with its arguments:
/// `?1` is `after`, `?2` `limit`, `?3` the device.
fn feed_filter(after: u64, limit: usize, scope: &FeedScope) -> (String, Args) {
    // Walked in feed order on the `seq` index, each row tested by a
    // condition written for the scope's shape (a handful of shapes, each a
    // cached statement). The device id comes in through `me`, as in
    // `held_rows`.
    let mut args = Args(Vec::new());
    args.add(after as i64);
    args.add(limit as i64);
    args.add(scope.device_id.clone());
    let filter = if scope.everything {
        "1".to_owned()
    } else {
        let mut terms = vec![
            "EXISTS (SELECT 1 FROM device_docs h WHERE h.device_id = me.device AND h.doc_id = d.doc_id)".to_owned(),
        ];
        args.one_of("d.doc_id", &scope.ids, &mut terms);
        args.one_of("d.kind", &scope.kinds, &mut terms);
        if let Some(region) = &scope.region {
            // One list per length a КАТО prefix can have; an empty prefix
            // is the whole region.
            let mut places = Vec::new();
            if scope.prefixes.iter().any(String::is_empty) {
                places.push("1".to_owned());
            } else {
                for n in [2, 4, 6, 9] {
                    let of_length: Vec<String> = scope.prefixes.iter().filter(|p| p.len() == n).cloned().collect();
                    args.one_of(&format!("substr(d.district, 1, {n})"), &of_length, &mut places);
                }
            }
            if !places.is_empty() {
                let r = args.add(region.clone());
                terms.push(format!("(d.region = {r} AND ({}))", places.join(" OR ")));
            }
        }
        terms.join(" OR ")
    };
    (filter, args)
}

/// A device's held documents matching `which` (a condition on `h`, which
/// may use the id list `?2`).
fn held_rows(tx: &Connection, device_id: &str, which: &str, ids: Option<String>) -> Result<Vec<Held>> {
    let cols = META_COLS.split(", ").map(|c| format!("d.{c}")).collect::<Vec<_>>().join(", ");
    // The device id comes in through `me`: SQLite prepares a join whose
    // WHERE compares a column with a parameter again at every new binding
    // (constant propagation), which cost more than the query itself.
    let mut st = tx.prepare_cached(&format!(
        "WITH me(id) AS (SELECT ?1)
         SELECT h.doc_id, h.removal, {cols} FROM me JOIN device_docs h ON h.device_id = me.id
         LEFT JOIN documents d ON d.doc_id = h.doc_id WHERE 1{which}"
    ))?;
    let args: Vec<&dyn rusqlite::ToSql> = match &ids {
        Some(list) => vec![&device_id, list],
        None => vec![&device_id],
    };
    let rows = st.query_map(args.as_slice(), |r| {
        let key: String = r.get(0)?;
        let removal: bool = r.get(1)?;
        let exists: Option<String> = r.get(2)?;
        let meta = match exists {
            Some(_) => meta_at(r, 2)?.1,
            None => None,
        };
        Ok((key, removal, exists.is_some(), meta))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (key, removal, exists, meta) = row?;
        let Ok(id) = DocId::parse(&key) else { continue };
        out.push(Held { id, damaged: exists && meta.is_none(), meta, removal });
    }
    Ok(out)
}

/// A sync transaction on SQLite.
struct Tx<'a> {
    tx: &'a Connection,
    cache: &'a Mutex<DocCache>,
    /// Documents stored by this transaction, cached once it commits.
    stored: Vec<(DocId, u64, Automerge)>,
}

impl SyncTx for Tx<'_> {
    fn caller(&mut self, device_id: &str) -> Result<Option<SyncCaller>> {
        let Some(device) = self
            .tx
            .prepare_cached(&format!("SELECT {DEVICE_COLS} FROM devices WHERE id = ?1"))?
            .query_row([device_id], device_from)
            .optional()?
        else {
            return Ok(None);
        };
        let Some((user, epoch)) = self
            .tx
            .prepare_cached(&format!("SELECT {USER_COLS}, access_epoch FROM users WHERE id = ?1"))?
            .query_row([&device.user_id], |r| Ok((user_from(r)?, r.get::<_, i64>(6)? as u64)))
            .optional()
            .map_err(user_err)?
        else {
            return Ok(None);
        };
        let grants = grants_of(self.tx, &user.id)?;
        let seen_epoch: Option<i64> = self
            .tx
            .prepare_cached("SELECT epoch FROM device_access WHERE device_id = ?1")?
            .query_row([device_id], |r| r.get(0))
            .optional()?;
        Ok(Some(SyncCaller { device, user, grants, epoch, seen_epoch: seen_epoch.unwrap_or(0) as u64 }))
    }

    fn metas(&mut self, ids: &[DocId]) -> Result<HashMap<DocId, Option<DocMeta>>> {
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        let mut st = self.tx.prepare_cached(&format!(
            "SELECT {META_COLS} FROM documents WHERE doc_id IN (SELECT value FROM json_each(?1))"
        ))?;
        let rows = st.query_map([id_list(ids.iter())], meta_from)?;
        let mut out = HashMap::new();
        for row in rows {
            let (key, meta) = row?;
            if let Ok(id) = DocId::parse(&key) {
                out.insert(id, meta);
            }
        }
        Ok(out)
    }

    fn sizes(&mut self, ids: &[DocId]) -> Result<HashMap<DocId, u64>> {
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        let mut st = self.tx.prepare_cached(
            "SELECT d.doc_id, length(d.snapshot) + (SELECT coalesce(sum(length(c.data)), 0) FROM changes c WHERE c.doc_id = d.doc_id)
             FROM documents d WHERE d.doc_id IN (SELECT value FROM json_each(?1))",
        )?;
        let rows = st.query_map([id_list(ids.iter())], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
        let mut out = HashMap::new();
        for row in rows {
            let (k, n) = row?;
            if let Ok(id) = DocId::parse(&k) {
                out.insert(id, n.max(0) as u64);
            }
        }
        Ok(out)
    }

    fn held(&mut self, device_id: &str, scope: HeldScope<'_>) -> Result<Vec<Held>> {
        // Separate statements, so that each uses its index (the removals'
        // partial index, the primary key for named ids): an `OR` of both
        // would read every row of the device.
        let mut out = match scope {
            HeldScope::All => held_rows(self.tx, device_id, "", None)?,
            _ => held_rows(self.tx, device_id, " AND h.removal = 1", None)?,
        };
        if let HeldScope::Among(ids) = scope
            && !ids.is_empty()
        {
            let named = " AND h.removal = 0 AND h.doc_id IN (SELECT value FROM json_each(?2))";
            out.extend(held_rows(self.tx, device_id, named, Some(id_list(ids.iter())))?);
        }
        Ok(out)
    }

    fn feed_end(&mut self) -> Result<u64> {
        Ok(self
            .tx
            .prepare_cached("SELECT value FROM meta WHERE key = 'feed_seq'")?
            .query_row([], |r| r.get::<_, i64>(0))? as u64)
    }

    fn feed(&mut self, after: u64, limit: usize, scope: &FeedScope) -> Result<Vec<DocMeta>> {
        feed_rows(self.tx, "", after, limit, scope)
    }

    fn urgent_feed(&mut self, after: u64, limit: usize, scope: &FeedScope) -> Result<Vec<DocMeta>> {
        feed_rows(self.tx, "urgent = 1 AND ", after, limit, scope)
    }

    fn feed_count(&mut self, after: u64, cap: usize, scope: &FeedScope) -> Result<u64> {
        feed_count(self.tx, after, cap, scope)
    }

    fn load(&mut self, device_id: &str, docs: &[(DocId, Option<u64>)]) -> Result<Vec<Loaded>> {
        // The device's states, in one statement.
        let mut states: HashMap<String, Vec<u8>> = HashMap::new();
        {
            let mut st = self.tx.prepare_cached(
                "SELECT doc_id, state FROM device_docs WHERE device_id = ?1 AND doc_id IN (SELECT value FROM json_each(?2))",
            )?;
            let rows = st.query_map(params![device_id, id_list(docs.iter().map(|(id, _)| id))], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, Vec<u8>>(1)?))
            })?;
            for row in rows {
                let (k, v) = row?;
                states.insert(k, v);
            }
        }
        // Documents: from the cache when current, else in two statements.
        let mut found: HashMap<DocId, Automerge> = HashMap::new();
        let mut missing = Vec::new();
        {
            let mut cache = lock(self.cache);
            for (id, seq) in docs {
                let Some(seq) = seq else { continue };
                match cache.get(id, *seq) {
                    Some(doc) => {
                        found.insert(id.clone(), doc);
                    }
                    None => missing.push(id.clone()),
                }
            }
        }
        if !missing.is_empty() {
            for (k, bytes) in saved_of(self.tx, &id_list(missing.iter()))? {
                let Ok(id) = DocId::parse(&k) else { continue };
                found.insert(id, Automerge::load(&bytes).map_err(corrupt)?);
            }
        }
        Ok(docs
            .iter()
            .map(|(id, _)| Loaded {
                doc: found.remove(id).unwrap_or_default(),
                state: states.remove(&id.to_string()).unwrap_or_default(),
            })
            .collect())
    }

    fn saved(&mut self, ids: &[DocId]) -> Result<HashMap<DocId, Vec<u8>>> {
        Ok(saved_of(self.tx, &id_list(ids.iter()))?
            .into_iter()
            .filter_map(|(k, bytes)| Some((DocId::parse(&k).ok()?, bytes)))
            .collect())
    }

    fn store(&mut self, device_id: &str, writes: Vec<DocWrite>) -> Result<()> {
        for w in writes {
            let key = w.id.to_string();
            if let Some((doc, before, p)) = w.content {
                let seq = put_document(self.tx, &w.id, &doc, &before, &p, w.saved.as_deref())?;
                if !before.is_empty() {
                    let pending: i64 = self
                        .tx
                        .prepare_cached("SELECT count(*) FROM changes WHERE doc_id = ?1")?
                        .query_row([&key], |r| r.get(0))?;
                    if pending > COMPACT_AFTER {
                        compact(self.tx, &key)?;
                    }
                }
                self.stored.push((w.id.clone(), seq as u64, doc));
            }
            self.tx
                .prepare_cached(
                    "INSERT INTO device_docs(device_id, doc_id, state) VALUES (?1, ?2, ?3)
                     ON CONFLICT(device_id, doc_id) DO UPDATE SET state = ?3",
                )?
                .execute(params![device_id, key, w.state])?;
        }
        Ok(())
    }

    fn set_removals(&mut self, device_id: &str, ids: &[DocId]) -> Result<()> {
        let mut st = self.tx.prepare_cached(
            "INSERT INTO device_docs(device_id, doc_id, state, removal) VALUES (?1, ?2, x'', 1)
             ON CONFLICT(device_id, doc_id) DO UPDATE SET removal = 1",
        )?;
        for id in ids {
            st.execute(params![device_id, id.to_string()])?;
        }
        Ok(())
    }

    fn ack_removals(&mut self, device_id: &str, ids: &[DocId]) -> Result<()> {
        if ids.is_empty() {
            return Ok(());
        }
        self.tx
            .prepare_cached(
                "DELETE FROM device_docs WHERE device_id = ?1 AND removal = 1 AND doc_id IN (SELECT value FROM json_each(?2))",
            )?
            .execute(params![device_id, id_list(ids.iter())])?;
        Ok(())
    }

    fn set_seen_epoch(&mut self, device_id: &str, epoch: u64) -> Result<()> {
        self.tx
            .prepare_cached(
                "INSERT INTO device_access(device_id, epoch) VALUES (?1, ?2) ON CONFLICT(device_id) DO UPDATE SET epoch = ?2",
            )?
            .execute(params![device_id, epoch as i64])?;
        Ok(())
    }

    fn touch_device(&mut self, device_id: &str, at: i64, cursor: u64) -> Result<()> {
        self.tx.prepare_cached("UPDATE devices SET last_sync_at = ?2, cursor = ?3 WHERE id = ?1")?.execute(params![
            device_id,
            at,
            cursor as i64
        ])?;
        Ok(())
    }

    fn new_reads(&mut self, device_id: &str, ids: &[String]) -> Result<Vec<String>> {
        let mut st = self.tx.prepare_cached("INSERT OR IGNORE INTO phone_reads(read_id, device_id) VALUES (?1, ?2)")?;
        let mut fresh = Vec::new();
        for id in ids {
            if st.execute(params![id, device_id])? == 1 {
                fresh.push(id.clone());
            }
        }
        Ok(fresh)
    }

    fn renew_token(&mut self, device_id: &str, token_hash: &str, expires_at: i64) -> Result<()> {
        self.tx
            .prepare_cached("UPDATE devices SET next_token_hash = ?2, next_expires_at = ?3 WHERE id = ?1")?
            .execute(params![device_id, token_hash, expires_at])?;
        Ok(())
    }

    fn mark_wiped(&mut self, device_id: &str, at: i64) -> Result<()> {
        self.tx
            .execute("UPDATE devices SET wiped_at = coalesce(wiped_at, ?2) WHERE id = ?1", params![device_id, at])?;
        self.tx.execute("DELETE FROM device_docs WHERE device_id = ?1", [device_id])?;
        Ok(())
    }

    fn audit(&mut self, entries: &[AuditEntry]) -> Result<()> {
        insert_audit(self.tx, entries)
    }

    fn hold(&mut self, held: &HeldDocument, doc: &Automerge) -> Result<()> {
        self.tx
            .prepare_cached(
                "INSERT INTO held_documents(doc_id, device_id, user_id, at, reason, snapshot) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT(doc_id, device_id) DO UPDATE SET at = ?4, reason = ?5, snapshot = ?6",
            )?
            .execute(params![held.doc_id.to_string(), held.device_id, held.user_id, held.at, held.reason, doc.save()])?;
        Ok(())
    }
}

fn grants_of(c: &Connection, user_id: &str) -> Result<Grants> {
    let assigned = c
        .prepare_cached("SELECT doc_id FROM assignments WHERE user_id = ?1")?
        .query_map([user_id], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let mentor_ids = c
        .prepare_cached(
            "SELECT mentor_id FROM documents WHERE kind = 'mentor' AND owner_user = ?1 AND mentor_id IS NOT NULL",
        )?
        .query_map([user_id], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(Grants { assigned, mentor_ids })
}

impl Storage for SqliteStorage {
    fn create_user(&self, u: &User) -> Result<()> {
        self.write(|tx| {
            let n = tx.execute(
                "INSERT OR IGNORE INTO users(id, name, role, region, districts, adoption_access) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![u.id, u.name, u.role.code(), u.region, serde_json::to_string(&u.districts).unwrap_or_default(), u.adoption_access],
            )?;
            if n == 0 {
                return Err(ServerError::Conflict("a user with this id already exists".into()));
            }
            Ok(())
        })
    }

    fn update_user(&self, u: &User) -> Result<()> {
        self.write(|tx| {
            let n = tx.execute(
                "UPDATE users SET name = ?2, role = ?3, region = ?4, districts = ?5, adoption_access = ?6,
                 access_epoch = access_epoch + 1 WHERE id = ?1",
                params![
                    u.id,
                    u.name,
                    u.role.code(),
                    u.region,
                    serde_json::to_string(&u.districts).unwrap_or_default(),
                    u.adoption_access
                ],
            )?;
            if n == 0 {
                return Err(ServerError::NotFound("no such user".into()));
            }
            Ok(())
        })
    }

    fn user(&self, id: &str) -> Result<Option<User>> {
        self.read(|c| {
            c.prepare_cached(&format!("SELECT {USER_COLS} FROM users WHERE id = ?1"))?
                .query_row([id], user_from)
                .optional()
                .map_err(user_err)
        })
    }

    fn users(&self) -> Result<Vec<User>> {
        self.read(|c| {
            let mut st = c.prepare(&format!("SELECT {USER_COLS} FROM users ORDER BY id"))?;
            st.query_map([], user_from)?.collect::<rusqlite::Result<_>>().map_err(user_err)
        })
    }

    fn add_enrollment_code(&self, code_id: &str, secret_hash: &str, user_id: &str, expires_at: i64) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO enrollment_codes(code_id, secret_hash, user_id, expires_at) VALUES (?1, ?2, ?3, ?4)",
                params![code_id, secret_hash, user_id, expires_at],
            )?;
            Ok(())
        })
    }

    fn enrollment_code(&self, code_id: &str) -> Result<Option<(String, String, i64)>> {
        self.read(|c| {
            Ok(c.query_row(
                "SELECT secret_hash, user_id, expires_at FROM enrollment_codes WHERE code_id = ?1 AND used_at IS NULL",
                [code_id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?)
        })
    }

    fn enroll(&self, code_id: &str, d: &Device, token_hash: &str) -> Result<Device> {
        self.write(|tx| {
            let used = tx.execute(
                "UPDATE enrollment_codes SET used_at = ?2 WHERE code_id = ?1 AND used_at IS NULL",
                params![code_id, d.created_at],
            )?;
            if used == 0 {
                return Err(ServerError::Unauthorized("the enrollment code is unknown, used or expired".into()));
            }
            let existing = tx
                .query_row(&format!("SELECT {DEVICE_COLS} FROM devices WHERE actor = ?1"), [&d.actor], device_from)
                .optional()?;
            match super::enrolling(existing, d)? {
                Some(old) => {
                    tx.execute(
                        "UPDATE devices SET token_hash = ?2, label = ?3, expires_at = ?4 WHERE id = ?1",
                        params![old.id, token_hash, d.label, d.expires_at],
                    )?;
                    Ok(Device { label: d.label.clone(), expires_at: d.expires_at, ..old })
                }
                None => {
                    tx.execute(
                        "INSERT INTO devices(id, user_id, actor, token_hash, label, created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                        params![d.id, d.user_id, d.actor, token_hash, d.label, d.created_at, d.expires_at],
                    )?;
                    Ok(d.clone())
                }
            }
        })
    }

    fn reserve_code_attempt(
        &self,
        code_id: &str,
        address: &str,
        now: i64,
        per_address: u32,
        total: u32,
    ) -> Result<Option<(String, String)>> {
        self.write(|tx| {
            let code: Option<(String, String, i64, i64)> = tx
                .query_row(
                    "SELECT secret_hash, user_id, expires_at, failures FROM enrollment_codes WHERE code_id = ?1 AND used_at IS NULL",
                    [code_id],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
                )
                .optional()?;
            let Some((hash, user, expires, attempts)) = code else { return Ok(None) };
            if expires < now {
                return Ok(None);
            }
            if attempts >= i64::from(total) {
                // Every attempt the code allows was made: spent.
                tx.execute("UPDATE enrollment_codes SET used_at = ?2 WHERE code_id = ?1", params![code_id, now])?;
                return Ok(None);
            }
            let mine: i64 = tx
                .query_row(
                    "SELECT attempts FROM code_attempts WHERE code_id = ?1 AND address = ?2",
                    [code_id, address],
                    |r| r.get(0),
                )
                .optional()?
                .unwrap_or(0);
            if mine >= i64::from(per_address) {
                return Ok(None);
            }
            tx.execute(
                "INSERT INTO code_attempts(code_id, address, attempts) VALUES (?1, ?2, 1)
                 ON CONFLICT(code_id, address) DO UPDATE SET attempts = attempts + 1",
                [code_id, address],
            )?;
            tx.execute("UPDATE enrollment_codes SET failures = failures + 1 WHERE code_id = ?1", [code_id])?;
            Ok(Some((hash, user)))
        })
    }

    fn device_by_token(&self, token_hash: &str) -> Result<Option<Device>> {
        let current = self.read(|c| {
            Ok(c.prepare_cached(&format!("SELECT {DEVICE_COLS} FROM devices WHERE token_hash = ?1"))?
                .query_row([token_hash], device_from)
                .optional()?)
        })?;
        if current.is_some() {
            return Ok(current);
        }
        // The first use of a renewed token makes it the device's token.
        self.write(|tx| {
            Ok(tx
                .query_row(
                    &format!(
                        "UPDATE devices SET token_hash = next_token_hash, expires_at = next_expires_at,
                         next_token_hash = NULL, next_expires_at = NULL
                         WHERE next_token_hash = ?1 RETURNING {DEVICE_COLS}"
                    ),
                    [token_hash],
                    device_from,
                )
                .optional()?)
        })
    }

    fn devices(&self) -> Result<Vec<Device>> {
        self.write_touches(true)?;
        self.read(|c| {
            let mut st = c.prepare(&format!("SELECT {DEVICE_COLS} FROM devices ORDER BY user_id, created_at"))?;
            Ok(st.query_map([], device_from)?.collect::<rusqlite::Result<_>>()?)
        })
    }

    fn revoke_device(&self, id: &str, at: i64) -> Result<()> {
        self.write(|tx| {
            let n =
                tx.execute("UPDATE devices SET revoked_at = coalesce(revoked_at, ?2) WHERE id = ?1", params![id, at])?;
            if n == 0 {
                return Err(ServerError::NotFound("no such device".into()));
            }
            Ok(())
        })
    }

    fn assign(&self, user_id: &str, doc_id: &DocId, assigned: bool) -> Result<()> {
        let key = doc_id.to_string();
        self.write(|tx| {
            if assigned {
                tx.execute(
                    "INSERT OR IGNORE INTO assignments(user_id, doc_id) VALUES (?1, ?2)",
                    params![user_id, key],
                )?;
            } else {
                tx.execute("DELETE FROM assignments WHERE user_id = ?1 AND doc_id = ?2", params![user_id, key])?;
            }
            let seq = next_seq(tx)?;
            tx.execute("UPDATE documents SET seq = ?2 WHERE doc_id = ?1", params![key, seq])?;
            Ok(())
        })
    }

    fn grants(&self, user_id: &str) -> Result<Grants> {
        self.read(|c| grants_of(c, user_id))
    }

    fn console_account(&self, user_id: &str) -> Result<Option<ConsoleAccount>> {
        self.read(|c| {
            Ok(c.query_row(
                "SELECT user_id, password_hash, totp_secret, last_totp_step, failures, locked_until, lang
                 FROM console_accounts WHERE user_id = ?1",
                [user_id],
                |r| {
                    Ok(ConsoleAccount {
                        user_id: r.get(0)?,
                        password_hash: r.get(1)?,
                        totp_secret: r.get(2)?,
                        last_totp_step: r.get(3)?,
                        failures: r.get(4)?,
                        locked_until: r.get(5)?,
                        lang: r.get(6)?,
                    })
                },
            )
            .optional()?)
        })
    }

    fn set_console_account(&self, a: &ConsoleAccount) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO console_accounts(user_id, password_hash, totp_secret, last_totp_step, failures, locked_until, lang)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                 ON CONFLICT(user_id) DO UPDATE SET password_hash = ?2, totp_secret = ?3, last_totp_step = ?4,
                   failures = ?5, locked_until = ?6, lang = ?7",
                params![a.user_id, a.password_hash, a.totp_secret, a.last_totp_step, a.failures, a.locked_until, a.lang],
            )?;
            tx.execute("DELETE FROM console_sessions WHERE user_id = ?1", [&a.user_id])?;
            Ok(())
        })
    }

    fn console_attempt(
        &self,
        user_id: &str,
        ok: Option<i64>,
        now: i64,
        max_failures: u32,
        lock_secs: i64,
    ) -> Result<u32> {
        self.write(|tx| {
            match ok {
                Some(step) => {
                    tx.execute(
                        "UPDATE console_accounts SET failures = 0, locked_until = 0, last_totp_step = max(last_totp_step, ?2)
                         WHERE user_id = ?1",
                        params![user_id, step],
                    )?;
                }
                None => {
                    tx.execute(
                        "UPDATE console_accounts SET
                           locked_until = CASE WHEN failures + 1 >= ?2 THEN ?3 ELSE locked_until END,
                           failures = CASE WHEN failures + 1 >= ?2 THEN 0 ELSE failures + 1 END
                         WHERE user_id = ?1",
                        params![user_id, max_failures, now + lock_secs],
                    )?;
                }
            }
            Ok(tx
                .query_row("SELECT failures FROM console_accounts WHERE user_id = ?1", [user_id], |r| r.get(0))
                .optional()?
                .unwrap_or(0))
        })
    }

    fn set_console_lang(&self, user_id: &str, lang: &str) -> Result<()> {
        self.write(|tx| {
            tx.execute("UPDATE console_accounts SET lang = ?2 WHERE user_id = ?1", params![user_id, lang])?;
            Ok(())
        })
    }

    fn create_session(&self, token_hash: &str, s: &ConsoleSession) -> Result<()> {
        self.write(|tx| {
            tx.execute("DELETE FROM console_sessions WHERE expires_at < ?1", [s.expires_at - 7 * 86_400])?;
            tx.execute(
                "INSERT INTO console_sessions(token_hash, user_id, csrf, expires_at) VALUES (?1, ?2, ?3, ?4)",
                params![token_hash, s.user_id, s.csrf, s.expires_at],
            )?;
            Ok(())
        })
    }

    fn session(&self, token_hash: &str, now: i64) -> Result<Option<ConsoleSession>> {
        self.read(|c| {
            Ok(c.query_row(
                "SELECT user_id, csrf, expires_at FROM console_sessions WHERE token_hash = ?1 AND expires_at > ?2",
                params![token_hash, now],
                |r| Ok(ConsoleSession { user_id: r.get(0)?, csrf: r.get(1)?, expires_at: r.get(2)? }),
            )
            .optional()?)
        })
    }

    fn end_session(&self, token_hash: &str) -> Result<()> {
        self.write(|tx| {
            tx.execute("DELETE FROM console_sessions WHERE token_hash = ?1", [token_hash])?;
            Ok(())
        })
    }

    fn end_sessions(&self, user_id: &str) -> Result<()> {
        self.write(|tx| {
            tx.execute("DELETE FROM console_sessions WHERE user_id = ?1", [user_id])?;
            Ok(())
        })
    }

    fn facts(&self) -> Result<Vec<(DocId, AccessTier, Facts)>> {
        self.read(|c| {
            let mut st = c.prepare_cached("SELECT doc_id, tier, facts FROM doc_facts")?;
            let rows =
                st.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?)))?;
            let mut out = Vec::new();
            for row in rows {
                let (id, tier, body) = row?;
                out.extend(super::typed_facts(&id, &tier, &body));
            }
            Ok(out)
        })
    }

    fn doc_meta(&self, id: &DocId) -> Result<Option<DocMeta>> {
        self.read(|c| {
            Ok(c.query_row(
                &format!("SELECT {META_COLS} FROM documents WHERE doc_id = ?1"),
                [id.to_string()],
                meta_from,
            )
            .optional()?
            .and_then(|(_, m)| m))
        })
    }

    fn load_doc(&self, id: &DocId) -> Result<Option<Automerge>> {
        let doc = self.read(|c| load_from(c, &id.to_string()))?;
        // A document nobody has written to yet does not exist.
        Ok(doc.filter(|d| !d.get_heads().is_empty()))
    }

    fn urgent_since(&self, cursor: u64) -> Result<Vec<DocMeta>> {
        self.read(|c| {
            let mut st = c.prepare_cached(&format!(
                "SELECT {META_COLS} FROM documents WHERE urgent = 1 AND seq > ?1 ORDER BY seq"
            ))?;
            let rows = st.query_map([cursor as i64], meta_from)?;
            Ok(rows.filter_map(|r| r.map(|(_, m)| m).transpose()).collect::<rusqlite::Result<_>>()?)
        })
    }

    fn feed_end(&self) -> Result<u64> {
        self.read(|c| {
            Ok(c.query_row("SELECT value FROM meta WHERE key = 'feed_seq'", [], |r| r.get::<_, i64>(0))? as u64)
        })
    }

    fn sync_tx(&self, f: &mut dyn FnMut(&mut dyn SyncTx) -> Result<SyncResponse>) -> Result<SyncResponse> {
        let mut stored = Vec::new();
        let resp = self.write(|tx| {
            let mut t = Tx { tx, cache: &self.cache, stored: Vec::new() };
            let resp = f(&mut t)?;
            stored = t.stored;
            Ok(resp)
        })?;
        // Only committed documents enter the cache.
        let mut cache = lock(&self.cache);
        for (id, seq, doc) in stored {
            cache.insert(id, seq, doc);
        }
        Ok(resp)
    }

    fn sync_read(&self, f: &mut dyn FnMut(&mut dyn SyncTx) -> Result<SyncResponse>) -> Result<Option<SyncResponse>> {
        let (resp, touch) = {
            let mut conn = self.reader();
            // A deferred transaction: one snapshot for every read of `f`;
            // nothing is written, and it ends by rolling back.
            let tx = conn.transaction()?;
            let mut t = Tx { tx: &tx, cache: &self.cache, stored: Vec::new() };
            let mut snapshot = ReadOnly::new(&mut t);
            let resp = f(&mut snapshot)?;
            if snapshot.wrote {
                return Ok(None);
            }
            (resp, snapshot.touch)
        };
        if let Some(touch) = touch {
            self.touches.record(touch);
        }
        if let Err(e) = self.write_touches(false) {
            // The answer stands; the last syncs wait for the next write.
            tracing::warn!(error = %e, "last sync times could not be written yet");
        }
        Ok(Some(resp))
    }

    fn reproject(&self) -> Result<usize> {
        self.write(|tx| {
            let version: i64 =
                tx.query_row("SELECT value FROM meta WHERE key = 'projection_version'", [], |r| r.get(0))?;
            let facts: i64 = tx.query_row("SELECT value FROM meta WHERE key = 'facts_version'", [], |r| r.get(0))?;
            if version == i64::from(PROJECTION_VERSION) && facts == i64::from(FACTS_VERSION) {
                return Ok(0);
            }
            let ids: Vec<String> =
                tx.prepare("SELECT doc_id FROM documents ORDER BY seq")?.query_map([], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?;
            let mut changed = 0;
            for key in &ids {
                let Ok(id) = DocId::parse(key) else { continue };
                let Some(doc) = load_from(tx, key)? else { continue };
                let p = Projection::of(&id, &doc);
                write_facts(tx, &id, &doc, p.tier)?;
                let n = tx.execute(
                    "UPDATE documents SET kind = ?2, region = ?3, district = ?4, tier = ?5, mentor_id = ?6, owner_user = ?7, urgent = ?8
                     WHERE doc_id = ?1 AND (kind IS NOT ?2 OR region IS NOT ?3 OR district IS NOT ?4 OR tier IS NOT ?5
                       OR mentor_id IS NOT ?6 OR owner_user IS NOT ?7 OR urgent IS NOT ?8)",
                    params![key, p.kind.prefix(), p.region, p.district, p.tier.code(), p.mentor_id, p.owner_user, p.urgent],
                )?;
                if n > 0 {
                    // Phones re-evaluate it at their next sync.
                    let seq = next_seq(tx)?;
                    tx.execute("UPDATE documents SET seq = ?2 WHERE doc_id = ?1", params![key, seq])?;
                    changed += 1;
                }
            }
            tx.execute(
                "UPDATE meta SET value = ?1 WHERE key = 'projection_version'",
                [i64::from(PROJECTION_VERSION)],
            )?;
            tx.execute("UPDATE meta SET value = ?1 WHERE key = 'facts_version'", [i64::from(FACTS_VERSION)])?;
            Ok(changed)
        })
    }

    fn held_documents(&self) -> Result<Vec<HeldDocument>> {
        self.read(|c| {
            let mut st = c.prepare(
                "SELECT doc_id, device_id, user_id, at, reason FROM held_documents ORDER BY at, doc_id, device_id",
            )?;
            let rows =
                st.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))?;
            let mut out = Vec::new();
            for row in rows {
                let (doc_id, device_id, user_id, at, reason) = row?;
                let Ok(doc_id) = DocId::parse(&doc_id) else { continue };
                out.push(HeldDocument { doc_id, device_id, user_id, at, reason });
            }
            Ok(out)
        })
    }

    fn release_held(&self, doc_id: &DocId, device_id: &str) -> Result<()> {
        let key = doc_id.to_string();
        let mut stored = None;
        self.write(|tx| {
            let snapshot: Option<Vec<u8>> = tx
                .query_row(
                    "SELECT snapshot FROM held_documents WHERE doc_id = ?1 AND device_id = ?2",
                    params![key, device_id],
                    |r| r.get(0),
                )
                .optional()?;
            let snapshot = snapshot.ok_or_else(|| ServerError::NotFound("no such held document".into()))?;
            let mut held = Automerge::load(&snapshot).map_err(corrupt)?;
            let (doc, before) = match load_from(tx, &key)? {
                Some(mut doc) => {
                    let before = doc.get_heads();
                    doc.merge(&mut held).map_err(corrupt)?;
                    (doc, before)
                }
                None => (held, Vec::new()),
            };
            let seq = put_document(tx, doc_id, &doc, &before, &Projection::of(doc_id, &doc), None)?;
            tx.execute("DELETE FROM held_documents WHERE doc_id = ?1 AND device_id = ?2", params![key, device_id])?;
            stored = Some((seq as u64, doc));
            Ok(())
        })?;
        if let Some((seq, doc)) = stored {
            lock(&self.cache).insert(doc_id.clone(), seq, doc);
        }
        Ok(())
    }

    fn put_documents(&self, docs: &[(DocId, Vec<u8>)], audit: &[AuditEntry]) -> Result<usize> {
        let mut stored = Vec::new();
        self.write(|tx| {
            stored.clear();
            for (id, bytes) in docs {
                let key = id.to_string();
                let Some((doc, before)) = super::merge_saved(load_from(tx, &key)?, bytes)? else { continue };
                let saved = before.is_empty().then_some(bytes.as_slice());
                let seq = put_document(tx, id, &doc, &before, &Projection::of(id, &doc), saved)?;
                stored.push((id.clone(), seq as u64, doc));
            }
            insert_audit(tx, audit)
        })?;
        let changed = stored.len();
        let mut cache = lock(&self.cache);
        for (id, seq, doc) in stored {
            cache.insert(id, seq, doc);
        }
        Ok(changed)
    }

    fn blob_docs(&self, hash: &str) -> Result<Vec<DocId>> {
        self.read(|c| {
            let mut st = c.prepare_cached("SELECT doc_id FROM doc_blobs WHERE hash = ?1 ORDER BY doc_id")?;
            let ids: Vec<String> = st.query_map([hash], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?;
            Ok(ids.iter().filter_map(|i| DocId::parse(i).ok()).collect())
        })
    }

    fn blob_status(&self, hash: &str) -> Result<Option<super::BlobStatus>> {
        self.read(|c| {
            Ok(c.prepare_cached("SELECT media_type, size, received, complete FROM blobs WHERE hash = ?1")?
                .query_row([hash], |r| {
                    Ok(super::BlobStatus {
                        media_type: r.get(0)?,
                        size: r.get::<_, i64>(1)? as u64,
                        received: r.get::<_, i64>(2)? as u64,
                        complete: r.get(3)?,
                    })
                })
                .optional()?)
        })
    }

    fn blob_append(&self, hash: &str, media_type: &str, size: u64, offset: u64, data: &[u8], now: i64) -> Result<u64> {
        self.write(|tx| {
            let received: Option<i64> =
                tx.prepare_cached("SELECT received FROM blobs WHERE hash = ?1")?.query_row([hash], |r| r.get(0)).optional()?;
            let received = match received {
                Some(r) => r as u64,
                None if offset == 0 => {
                    tx.prepare_cached(
                        "INSERT INTO blobs(hash, media_type, size, received, complete, created_at) VALUES (?1, ?2, ?3, 0, 0, ?4)",
                    )?
                    .execute(params![hash, media_type, size as i64, now])?;
                    0
                }
                None => return Err(ServerError::Conflict("expected offset 0: nothing of this file was received".into())),
            };
            if offset != received {
                return Err(ServerError::Conflict(format!("expected offset {received}: the bytes received so far")));
            }
            tx.prepare_cached("INSERT INTO blob_chunks(hash, pos, data) VALUES (?1, ?2, ?3)")?
                .execute(params![hash, offset as i64, data])?;
            let now_received = received + data.len() as u64;
            tx.prepare_cached("UPDATE blobs SET received = ?2 WHERE hash = ?1")?
                .execute(params![hash, now_received as i64])?;
            Ok(now_received)
        })
    }

    fn blob_read(&self, hash: &str) -> Result<Option<Vec<u8>>> {
        self.read(|c| {
            let exists: bool = c
                .prepare_cached("SELECT EXISTS (SELECT 1 FROM blobs WHERE hash = ?1)")?
                .query_row([hash], |r| r.get(0))?;
            if !exists {
                return Ok(None);
            }
            let mut st = c.prepare_cached("SELECT data FROM blob_chunks WHERE hash = ?1 ORDER BY pos")?;
            let mut out = Vec::new();
            for chunk in st.query_map([hash], |r| r.get::<_, Vec<u8>>(0))? {
                out.extend(chunk?);
            }
            Ok(Some(out))
        })
    }

    fn blob_finish(&self, hash: &str, ok: bool) -> Result<()> {
        self.write(|tx| {
            if ok {
                tx.prepare_cached("UPDATE blobs SET complete = 1 WHERE hash = ?1")?.execute([hash])?;
            } else {
                tx.prepare_cached("DELETE FROM blob_chunks WHERE hash = ?1")?.execute([hash])?;
                tx.prepare_cached("DELETE FROM blobs WHERE hash = ?1")?.execute([hash])?;
            }
            Ok(())
        })
    }

    fn blob_list(&self) -> Result<Vec<(String, i64)>> {
        self.read(|c| {
            let mut st = c.prepare_cached("SELECT hash, created_at FROM blobs ORDER BY hash")?;
            Ok(st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<rusqlite::Result<_>>()?)
        })
    }

    fn likely_duplicates(&self) -> Result<Vec<(DocId, DocId, bool)>> {
        self.read(|c| {
            let mut st = c.prepare_cached(super::LIKELY_DUPLICATES)?;
            let rows =
                st.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, i64>(2)?)))?;
            let mut out = Vec::new();
            for row in rows {
                let (x, y, same) = row?;
                if let (Ok(x), Ok(y)) = (DocId::parse(&x), DocId::parse(&y)) {
                    out.push((x, y, same != 0));
                }
            }
            Ok(out)
        })
    }

    fn people(&self, kind: DocKind) -> Result<Vec<(DocId, Identity)>> {
        self.read(|c| {
            let mut st = c.prepare("SELECT doc_id, iin, name_key, birth FROM doc_people WHERE kind = ?1")?;
            let rows = st.query_map([kind.prefix()], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?, r.get::<_, String>(3)?))
            })?;
            let mut out = Vec::new();
            for row in rows {
                out.extend(super::typed_person(row?));
            }
            Ok(out)
        })
    }

    fn set_region_credential(&self, region: &str, token_hash: &str, at: i64) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO region_credentials(region, token_hash, created_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT(region) DO UPDATE SET token_hash = excluded.token_hash, created_at = excluded.created_at",
                params![region, token_hash, at],
            )?;
            Ok(())
        })
    }

    fn region_of_credential(&self, token_hash: &str) -> Result<Option<String>> {
        self.read(|c| {
            Ok(c.query_row("SELECT region FROM region_credentials WHERE token_hash = ?1", [token_hash], |r| r.get(0))
                .optional()?)
        })
    }

    fn put_region_report(&self, region: &str, as_of: chrono::NaiveDate, received_at: i64, body: &str) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "INSERT OR REPLACE INTO region_reports(region, as_of, received_at, body) VALUES (?1, ?2, ?3, ?4)",
                params![region, as_of.to_string(), received_at, body],
            )?;
            Ok(())
        })
    }

    fn region_reports(&self) -> Result<Vec<StoredReport>> {
        self.read(|c| {
            let mut st = c.prepare_cached("SELECT region, as_of, received_at, body FROM region_reports")?;
            let rows = st.query_map([], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, i64>(2)?, r.get::<_, String>(3)?))
            })?;
            let mut out = Vec::new();
            for row in rows {
                let (region, as_of, received_at, body) = row?;
                let Ok(as_of) = as_of.parse() else { continue };
                out.push(StoredReport { region, as_of, received_at, body });
            }
            Ok(out)
        })
    }

    fn audit(&self, entries: &[AuditEntry]) -> Result<()> {
        if entries.is_empty() {
            return Ok(());
        }
        self.write(|tx| insert_audit(tx, entries))
    }

    fn audit_log(&self, limit: usize) -> Result<Vec<AuditEntry>> {
        self.read(|c| {
            let mut st = c.prepare(&format!("SELECT {AUDIT_COLS} FROM audit ORDER BY id DESC LIMIT ?1"))?;
            Ok(st.query_map([limit as i64], audit_from)?.collect::<rusqlite::Result<_>>()?)
        })
    }

    fn audit_verify(&self) -> Result<AuditCheck> {
        self.read(|c| {
            let mut prev: Option<String> =
                c.query_row("SELECT chain FROM audit_anchor WHERE id = 1", [], |r| r.get(0)).optional()?;
            let mut st = c.prepare(&format!("SELECT id, chain, {AUDIT_COLS} FROM audit ORDER BY id"))?;
            let mut rows = st.query([])?;
            let mut check = AuditCheck::default();
            while let Some(r) = rows.next()? {
                let id: i64 = r.get(0)?;
                let chain: Option<String> = r.get(1)?;
                let entry = audit_at(r, 2)?;
                let Some(chain) = chain else {
                    // Written before the chain existed.
                    check.unchained += 1;
                    continue;
                };
                let expected = super::audit_chain(prev.as_deref().unwrap_or(""), &entry);
                if expected != chain {
                    check.broken_at = Some(id);
                    return Ok(check);
                }
                check.lines += 1;
                prev = Some(chain);
            }
            check.head = prev.unwrap_or_default();
            Ok(check)
        })
    }

    fn audit_archive(&self, before_ms: i64, out: &mut dyn std::io::Write) -> Result<usize> {
        self.write(|tx| {
            let last: Option<(i64, Option<String>)> = tx
                .query_row(
                    "SELECT id, chain FROM audit WHERE at < ?1 ORDER BY id DESC LIMIT 1",
                    [before_ms],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?;
            let Some((last_id, last_chain)) = last else { return Ok(0) };
            let mut st = tx.prepare(&format!("SELECT chain, {AUDIT_COLS} FROM audit WHERE id <= ?1 ORDER BY id"))?;
            let mut rows = st.query([last_id])?;
            let mut n = 0;
            while let Some(r) = rows.next()? {
                let chain: Option<String> = r.get(0)?;
                let e = audit_at(r, 1)?;
                let line = serde_json::json!({ "entry": e, "chain": chain });
                writeln!(out, "{line}")?;
                n += 1;
            }
            drop(rows);
            drop(st);
            out.flush()?;
            // The lines are safely written: remove them, keeping the chain's
            // anchor so that what remains still verifies.
            tx.execute_batch("DROP TRIGGER audit_no_delete;")?;
            tx.execute("DELETE FROM audit WHERE id <= ?1", [last_id])?;
            tx.execute_batch(
                "CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;",
            )?;
            if let Some(chain) = last_chain {
                tx.execute(
                    "INSERT INTO audit_anchor(id, chain, up_to_id) VALUES (1, ?1, ?2)
                     ON CONFLICT(id) DO UPDATE SET chain = ?1, up_to_id = ?2",
                    params![chain, last_id],
                )?;
            }
            Ok(n)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema_of(conn: &Connection) -> Vec<(String, String)> {
        let mut st = conn
            .prepare(
                "SELECT name, sql FROM sqlite_master WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%' ORDER BY name",
            )
            .unwrap();
        st.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap().collect::<rusqlite::Result<_>>().unwrap()
    }

    #[test]
    fn every_older_database_migrates_to_the_fresh_schema() {
        let mut fresh = Connection::open_in_memory().unwrap();
        migrate(&mut fresh).unwrap();
        for start in 1..MIGRATIONS.len() {
            let mut old = Connection::open_in_memory().unwrap();
            for (i, sql) in MIGRATIONS.iter().enumerate().take(start) {
                old.execute_batch(sql).unwrap();
                old.pragma_update(None, "user_version", i as u32 + 1).unwrap();
            }
            migrate(&mut old).unwrap();
            assert_eq!(schema_of(&old), schema_of(&fresh), "from version {start}");
        }
    }

    #[test]
    fn a_newer_database_is_refused() {
        let mut c = Connection::open_in_memory().unwrap();
        c.pragma_update(None, "user_version", MIGRATIONS.len() as u32 + 1).unwrap();
        assert!(migrate(&mut c).is_err());
    }
}
