//! The embedded SQLite backend: one writer connection that owns the
//! document cache, and a few reader connections.

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};

use automerge::Automerge;
use automerge::sync::State;
use qamqor_core::docs::DocId;
use qamqor_core::sync::engine;
use rusqlite::{Connection, OptionalExtension, Row, params};

use super::{DocExchange, Storage};
use crate::error::{Result, ServerError};
use crate::model::{AuditEntry, Device, DocMeta, Role, User};

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
];

/// Compacts a document's change rows into its snapshot past this many.
const COMPACT_AFTER: i64 = 64;
const READERS: usize = 4;
const CACHE_DOCS: usize = 4096;

struct Writer {
    conn: Connection,
    cache: HashMap<String, Automerge>,
}

/// The SQLite storage.
pub struct SqliteStorage {
    writer: Mutex<Writer>,
    readers: Vec<Mutex<Connection>>,
    next_reader: AtomicUsize,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn open_conn(path: &Path) -> Result<Connection> {
    let conn = Connection::open(path)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    // The server acknowledges only what is on disk.
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    Ok(conn)
}

/// Applies the numbered migrations.
pub fn migrate(conn: &mut Connection) -> Result<()> {
    let version: usize = conn.query_row("PRAGMA user_version", [], |r| r.get::<_, u32>(0))? as usize;
    if version > MIGRATIONS.len() {
        return Err(ServerError::Config("the database was written by a newer server version".into()));
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(version) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", i as u32 + 1)?;
        tx.commit()?;
    }
    Ok(())
}

fn user_from(r: &Row<'_>) -> rusqlite::Result<User> {
    let role: String = r.get(2)?;
    let districts: String = r.get(4)?;
    Ok(User {
        id: r.get(0)?,
        name: r.get(1)?,
        role: Role::parse(&role).unwrap_or(Role::Specialist),
        region: r.get(3)?,
        districts: serde_json::from_str(&districts).unwrap_or_default(),
        adoption_access: r.get(5)?,
    })
}

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

fn meta_from(r: &Row<'_>) -> rusqlite::Result<DocMeta> {
    Ok(DocMeta {
        doc_id: r.get(0)?,
        kind: r.get(1)?,
        region: r.get(2)?,
        district: r.get(3)?,
        tier: r.get(4)?,
        mentor_id: r.get(5)?,
        owner_user: r.get(6)?,
        urgent: r.get(7)?,
        seq: r.get::<_, i64>(8)? as u64,
    })
}

fn load_from(conn: &Connection, id: &str) -> Result<Option<Automerge>> {
    let Some(snapshot) = conn
        .query_row("SELECT snapshot FROM documents WHERE doc_id = ?1", [id], |r| r.get::<_, Vec<u8>>(0))
        .optional()?
    else {
        return Ok(None);
    };
    let mut doc =
        Automerge::load(&snapshot).map_err(|e| ServerError::Core(qamqor_core::Error::Corrupt(e.to_string())))?;
    let mut st = conn.prepare_cached("SELECT data FROM changes WHERE doc_id = ?1 ORDER BY id")?;
    let mut rows = st.query([id])?;
    while let Some(row) = rows.next()? {
        let data: Vec<u8> = row.get(0)?;
        doc.load_incremental(&data).map_err(|e| ServerError::Core(qamqor_core::Error::Corrupt(e.to_string())))?;
    }
    Ok(Some(doc))
}

fn next_seq(conn: &Connection) -> Result<i64> {
    Ok(conn.query_row("UPDATE meta SET value = value + 1 WHERE key = 'feed_seq' RETURNING value", [], |r| r.get(0))?)
}

fn insert_audit(conn: &Connection, entries: &[AuditEntry]) -> Result<()> {
    let mut st = conn.prepare_cached(
        "INSERT INTO audit(at, user_id, device_id, doc_id, action, hashes) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?;
    for e in entries {
        st.execute(params![e.at, e.user_id, e.device_id, e.doc_id, e.action, e.hashes.join(",")])?;
    }
    Ok(())
}

fn persist_doc(
    tx: &rusqlite::Transaction<'_>,
    id: &DocId,
    key: &str,
    doc: &Automerge,
    before: &[automerge::ChangeHash],
    meta: &dyn Fn(&DocId, &Automerge) -> DocMeta,
) -> Result<()> {
    let m = meta(id, doc);
    let seq = next_seq(tx)?;
    let exists: bool =
        tx.query_row("SELECT EXISTS (SELECT 1 FROM documents WHERE doc_id = ?1)", [key], |r| r.get(0))?;
    if exists {
        tx.execute("INSERT INTO changes(doc_id, data) VALUES (?1, ?2)", params![key, doc.save_after(before)])?;
        tx.execute(
            "UPDATE documents SET region = ?2, district = ?3, tier = ?4, mentor_id = ?5, owner_user = ?6, urgent = ?7, seq = ?8
             WHERE doc_id = ?1",
            params![key, m.region, m.district, m.tier, m.mentor_id, m.owner_user, m.urgent, seq],
        )?;
        let pending: i64 = tx.query_row("SELECT count(*) FROM changes WHERE doc_id = ?1", [key], |r| r.get(0))?;
        if pending > COMPACT_AFTER {
            tx.execute("UPDATE documents SET snapshot = ?2 WHERE doc_id = ?1", params![key, doc.save()])?;
            tx.execute("DELETE FROM changes WHERE doc_id = ?1", [key])?;
        }
    } else {
        tx.execute(
            "INSERT INTO documents(doc_id, kind, region, district, tier, mentor_id, owner_user, urgent, seq, snapshot)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            params![key, m.kind, m.region, m.district, m.tier, m.mentor_id, m.owner_user, m.urgent, seq, doc.save()],
        )?;
    }
    Ok(())
}

impl SqliteStorage {
    /// Opens (creating and migrating) the database at `path`.
    pub fn open(path: &Path) -> Result<Self> {
        let mut conn = open_conn(path)?;
        migrate(&mut conn)?;
        let readers = (0..READERS).map(|_| open_conn(path).map(Mutex::new)).collect::<Result<Vec<_>>>()?;
        Ok(SqliteStorage {
            writer: Mutex::new(Writer { conn, cache: HashMap::new() }),
            readers,
            next_reader: AtomicUsize::new(0),
        })
    }

    fn read<R>(&self, f: impl FnOnce(&Connection) -> Result<R>) -> Result<R> {
        let i = self.next_reader.fetch_add(1, Ordering::Relaxed) % self.readers.len();
        f(&lock(&self.readers[i]))
    }

    fn write<R>(&self, f: impl FnOnce(&rusqlite::Transaction<'_>) -> Result<R>) -> Result<R> {
        let mut w = lock(&self.writer);
        let tx = w.conn.transaction()?;
        let r = f(&tx)?;
        tx.commit()?;
        Ok(r)
    }
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
            Ok(c.query_row(
                "SELECT id, name, role, region, districts, adoption_access FROM users WHERE id = ?1",
                [id],
                user_from,
            )
            .optional()?)
        })
    }

    fn users(&self) -> Result<Vec<User>> {
        self.read(|c| {
            let mut st =
                c.prepare("SELECT id, name, role, region, districts, adoption_access FROM users ORDER BY id")?;
            Ok(st.query_map([], user_from)?.collect::<rusqlite::Result<_>>()?)
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

    fn enroll(&self, code_id: &str, d: &Device, token_hash: &str) -> Result<()> {
        self.write(|tx| {
            let used = tx.execute(
                "UPDATE enrollment_codes SET used_at = ?2 WHERE code_id = ?1 AND used_at IS NULL",
                params![code_id, d.created_at],
            )?;
            if used == 0 {
                return Err(ServerError::Unauthorized("the enrollment code is unknown, used or expired".into()));
            }
            let taken: bool = tx.query_row("SELECT EXISTS (SELECT 1 FROM devices WHERE actor = ?1)", [&d.actor], |r| r.get(0))?;
            if taken {
                return Err(ServerError::Conflict("this actor id is already registered to a device".into()));
            }
            tx.execute(
                "INSERT INTO devices(id, user_id, actor, token_hash, label, created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![d.id, d.user_id, d.actor, token_hash, d.label, d.created_at, d.expires_at],
            )?;
            Ok(())
        })
    }

    fn code_failed(&self, code_id: &str, at: i64, max_failures: u32) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "UPDATE enrollment_codes SET failures = failures + 1,
                 used_at = CASE WHEN failures + 1 >= ?3 THEN ?2 ELSE used_at END
                 WHERE code_id = ?1 AND used_at IS NULL",
                params![code_id, at, max_failures],
            )?;
            Ok(())
        })
    }

    fn device_by_token(&self, token_hash: &str) -> Result<Option<Device>> {
        self.read(|c| {
            Ok(c.query_row(
                &format!("SELECT {DEVICE_COLS} FROM devices WHERE token_hash = ?1"),
                [token_hash],
                device_from,
            )
            .optional()?)
        })
    }

    fn devices(&self) -> Result<Vec<Device>> {
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

    fn mark_wiped(&self, id: &str, at: i64) -> Result<()> {
        self.write(|tx| {
            tx.execute("UPDATE devices SET wiped_at = coalesce(wiped_at, ?2) WHERE id = ?1", params![id, at])?;
            tx.execute("DELETE FROM device_docs WHERE device_id = ?1", [id])?;
            Ok(())
        })
    }

    fn touch_devices(&self, touches: &[(String, i64, u64)]) -> Result<()> {
        if touches.is_empty() {
            return Ok(());
        }
        self.write(|tx| {
            let mut st = tx.prepare_cached("UPDATE devices SET last_sync_at = ?2, cursor = ?3 WHERE id = ?1")?;
            for (id, at, cursor) in touches {
                st.execute(params![id, at, *cursor as i64])?;
            }
            Ok(())
        })
    }

    fn assign(&self, user_id: &str, doc_id: &str, assigned: bool) -> Result<()> {
        self.write(|tx| {
            if assigned {
                tx.execute(
                    "INSERT OR IGNORE INTO assignments(user_id, doc_id) VALUES (?1, ?2)",
                    params![user_id, doc_id],
                )?;
            } else {
                tx.execute("DELETE FROM assignments WHERE user_id = ?1 AND doc_id = ?2", params![user_id, doc_id])?;
            }
            let seq = next_seq(tx)?;
            tx.execute("UPDATE documents SET seq = ?2 WHERE doc_id = ?1", params![doc_id, seq])?;
            Ok(())
        })
    }

    fn access_epoch(&self, user_id: &str) -> Result<u64> {
        self.read(|c| {
            let e: Option<i64> =
                c.query_row("SELECT access_epoch FROM users WHERE id = ?1", [user_id], |r| r.get(0)).optional()?;
            Ok(e.unwrap_or(0) as u64)
        })
    }

    fn device_access_seen(&self, device_id: &str) -> Result<u64> {
        self.read(|c| {
            let e: Option<i64> = c
                .query_row("SELECT epoch FROM device_access WHERE device_id = ?1", [device_id], |r| r.get(0))
                .optional()?;
            Ok(e.unwrap_or(0) as u64)
        })
    }

    fn set_device_access_seen(&self, device_id: &str, epoch: u64) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO device_access(device_id, epoch) VALUES (?1, ?2)
                 ON CONFLICT(device_id) DO UPDATE SET epoch = ?2",
                params![device_id, epoch as i64],
            )?;
            Ok(())
        })
    }

    fn assignments(&self, user_id: &str) -> Result<Vec<String>> {
        self.read(|c| {
            let mut st = c.prepare_cached("SELECT doc_id FROM assignments WHERE user_id = ?1")?;
            Ok(st.query_map([user_id], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?)
        })
    }

    fn mentor_ids_of(&self, user_id: &str) -> Result<Vec<String>> {
        self.read(|c| {
            let mut st = c.prepare_cached(
                "SELECT mentor_id FROM documents WHERE kind = 'mentor' AND owner_user = ?1 AND mentor_id IS NOT NULL",
            )?;
            Ok(st.query_map([user_id], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?)
        })
    }

    fn doc_meta(&self, doc_id: &str) -> Result<Option<DocMeta>> {
        self.read(|c| {
            Ok(c.query_row(&format!("SELECT {META_COLS} FROM documents WHERE doc_id = ?1"), [doc_id], meta_from)
                .optional()?)
        })
    }

    fn load_doc(&self, id: &DocId) -> Result<Option<Automerge>> {
        let w = lock(&self.writer);
        let key = id.to_string();
        let doc = match w.cache.get(&key) {
            Some(d) => Some(d.clone()),
            None => load_from(&w.conn, &key)?,
        };
        // A document nobody has written to yet does not exist.
        Ok(doc.filter(|d| !d.get_heads().is_empty()))
    }

    fn exchange(
        &self,
        device_id: &str,
        ids: &[DocId],
        f: &mut dyn FnMut(&DocId, &mut Automerge, &mut State) -> Result<DocExchange>,
        meta: &dyn Fn(&DocId, &Automerge) -> DocMeta,
    ) -> Result<Vec<DocExchange>> {
        let mut guard = lock(&self.writer);
        let Writer { conn, cache } = &mut *guard;
        let tx = conn.transaction()?;
        let mut outs = Vec::with_capacity(ids.len());
        let mut updated = Vec::new();
        for id in ids {
            let key = id.to_string();
            let mut doc = match cache.get(&key) {
                Some(d) => d.clone(),
                None => load_from(&tx, &key)?.unwrap_or_default(),
            };
            let state_bytes: Option<Vec<u8>> = tx
                .prepare_cached("SELECT state FROM device_docs WHERE device_id = ?1 AND doc_id = ?2")?
                .query_row([device_id, &key], |r| r.get(0))
                .optional()?;
            let mut state = engine::load_state(&state_bytes.unwrap_or_default());
            let before = doc.get_heads();
            let out = f(id, &mut doc, &mut state)?;
            if out.commit {
                if doc.get_heads() != before {
                    persist_doc(&tx, id, &key, &doc, &before, meta)?;
                }
                tx.prepare_cached(
                    "INSERT INTO device_docs(device_id, doc_id, state) VALUES (?1, ?2, ?3)
                     ON CONFLICT(device_id, doc_id) DO UPDATE SET state = ?3",
                )?
                .execute(params![device_id, key, engine::save_state(&state)])?;
                updated.push((key, doc));
            }
            insert_audit(&tx, &out.audit)?;
            outs.push(out);
        }
        tx.commit()?;
        // Only committed documents enter the cache.
        if cache.len() + updated.len() > CACHE_DOCS {
            cache.clear();
        }
        for (key, doc) in updated {
            cache.insert(key, doc);
        }
        Ok(outs)
    }

    fn changed_since(&self, cursor: u64, limit: usize) -> Result<(Vec<DocMeta>, u64)> {
        self.read(|c| {
            let end: i64 = c.query_row("SELECT value FROM meta WHERE key = 'feed_seq'", [], |r| r.get(0))?;
            let mut st =
                c.prepare_cached(&format!("SELECT {META_COLS} FROM documents WHERE seq > ?1 ORDER BY seq LIMIT ?2"))?;
            let rows =
                st.query_map(params![cursor as i64, limit as i64], meta_from)?.collect::<rusqlite::Result<_>>()?;
            Ok((rows, end as u64))
        })
    }

    fn feed_end(&self) -> Result<u64> {
        self.read(|c| {
            Ok(c.query_row("SELECT value FROM meta WHERE key = 'feed_seq'", [], |r| r.get::<_, i64>(0))? as u64)
        })
    }

    fn delivered(&self, device_id: &str) -> Result<Vec<String>> {
        self.read(|c| {
            let mut st = c.prepare_cached("SELECT doc_id FROM device_docs WHERE device_id = ?1")?;
            Ok(st.query_map([device_id], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?)
        })
    }

    fn forget_delivered(&self, device_id: &str, doc_id: &str) -> Result<()> {
        self.write(|tx| {
            tx.execute("DELETE FROM device_docs WHERE device_id = ?1 AND doc_id = ?2", [device_id, doc_id])?;
            Ok(())
        })
    }

    fn urgent_since(&self, cursor: u64) -> Result<Vec<DocMeta>> {
        self.read(|c| {
            let mut st = c.prepare_cached(&format!(
                "SELECT {META_COLS} FROM documents WHERE urgent = 1 AND seq > ?1 ORDER BY seq"
            ))?;
            Ok(st.query_map([cursor as i64], meta_from)?.collect::<rusqlite::Result<_>>()?)
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
            let mut st = c.prepare(
                "SELECT at, user_id, device_id, doc_id, action, hashes FROM audit ORDER BY id DESC LIMIT ?1",
            )?;
            let rows = st.query_map([limit as i64], |r| {
                let hashes: String = r.get(5)?;
                Ok(AuditEntry {
                    at: r.get(0)?,
                    user_id: r.get(1)?,
                    device_id: r.get(2)?,
                    doc_id: r.get(3)?,
                    action: r.get(4)?,
                    hashes: hashes.split(',').filter(|s| !s.is_empty()).map(str::to_owned).collect(),
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
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
