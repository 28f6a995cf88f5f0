//! The PostgreSQL backend, for several server processes on one database
//! (a region without a single point of failure, or the whole country).
//!
//! The same contract as SQLite's ([`super::conformance`]):
//! - **One request, one transaction**, `REPEATABLE READ`: a request reads
//!   one snapshot. Write transactions take turns across every process (a
//!   session advisory lock taken before the snapshot, released after the
//!   commit), as SQLite's single writer does; reads, and syncs answered
//!   from a read snapshot, run side by side.
//! - **A gap-free feed.** Feed numbers come from one counter row, taken
//!   inside the writer's turn: commit order is number order, so a reader
//!   that has seen `n` never later finds a commit below `n`.
//! - **Migrations** run under an advisory lock: one process migrates, the
//!   others wait and find the work done.
//!
//! The client is `tokio-postgres` with a `deadpool` pool. The storage
//! contract is blocking (the HTTP layer calls it from blocking threads), so
//! each call waits on its query's future; the connections' I/O runs on the
//! backend's own small runtime.

use std::collections::HashMap;
use std::sync::Mutex;

use automerge::Automerge;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use qamqor_core::docs::{AccessTier, DocId, DocKind, FACTS_VERSION, Facts, Identity, PROJECTION_VERSION, Projection};
use qamqor_core::sync::wire::SyncResponse;
use tokio_postgres::types::ToSql;
use tokio_postgres::{IsolationLevel, NoTls, Row};

use super::cache::DocCache;
use super::quiet::{ReadOnly, Touches};
use super::{DocWrite, FeedScope, Held, HeldScope, Loaded, Storage, StoredReport, SyncCaller, SyncTx};
use crate::access::Grants;
use crate::error::{Result, ServerError, StorageFailure};
use crate::model::{AuditCheck, AuditEntry, ConsoleAccount, ConsoleSession, Device, DocMeta, HeldDocument, Role, User};

/// The numbered migrations (`migrations/NNNN_*.sql`); each runs once, in
/// order, in one transaction. Never edit one that has shipped: add the next.
const MIGRATIONS: &[&str] = &[
    include_str!("migrations/0001_schema.sql"),
    include_str!("migrations/0002_archive_and_device_list_indexes.sql"),
    include_str!("migrations/0003_people.sql"),
    include_str!("migrations/0004_attachments.sql"),
];

/// Key of the advisory lock held while migrating.
const MIGRATION_LOCK: i64 = 0x5161_6d71_6f72_0001;
/// Key of the advisory lock a write transaction holds from before its
/// snapshot to its commit.
const WRITE_LOCK: i64 = 0x5161_6d71_6f72_0002;
/// Compacts a document's change rows into its snapshot past this many.
const COMPACT_AFTER: i64 = 64;
/// Attempts of a transaction that lost a race with another.
const ATTEMPTS: usize = 12;

const USER_COLS: &str = "id, name, role, region, districts, adoption_access";
const DEVICE_COLS: &str =
    "id, user_id, actor, label, created_at, expires_at, revoked_at, wiped_at, last_sync_at, cursor";
const META_COLS: &str = "doc_id, kind, region, district, tier, mentor_id, owner_user, urgent, seq";
const AUDIT_COLS: &str = "at, user_id, device_id, doc_id, action, hashes, address";

fn pg_err(e: tokio_postgres::Error) -> ServerError {
    use tokio_postgres::error::SqlState;
    let failure = match e.code() {
        Some(c) if *c == SqlState::T_R_SERIALIZATION_FAILURE || *c == SqlState::T_R_DEADLOCK_DETECTED => {
            StorageFailure::Busy
        }
        Some(c) if *c == SqlState::DISK_FULL => StorageFailure::DiskFull,
        Some(c) if *c == SqlState::DATA_CORRUPTED || *c == SqlState::INDEX_CORRUPTED => StorageFailure::Damaged,
        _ => StorageFailure::Other,
    };
    // The server's message names the statement's fault, never a value; a
    // client-side failure (connection, TLS) says its cause.
    let message = e.as_db_error().map_or_else(
        || {
            let mut m = e.to_string();
            let mut cause = std::error::Error::source(&e);
            while let Some(c) = cause {
                m = format!("{m}: {c}");
                cause = c.source();
            }
            m
        },
        |d| format!("{}: {}", d.code().code(), d.message()),
    );
    ServerError::storage(failure, message)
}

impl From<tokio_postgres::Error> for ServerError {
    fn from(e: tokio_postgres::Error) -> Self {
        pg_err(e)
    }
}

fn pool_err(e: deadpool_postgres::PoolError) -> ServerError {
    match e {
        deadpool_postgres::PoolError::Backend(e) => pg_err(e),
        e => ServerError::storage(StorageFailure::Other, format!("the database cannot be reached: {e}")),
    }
}

fn corrupt(e: impl std::fmt::Display) -> ServerError {
    ServerError::Core(qamqor_core::Error::Corrupt(e.to_string()))
}

fn user_from(r: &Row, extra: bool) -> Result<(User, i64)> {
    user_at(r, 0, extra)
}

/// The user columns ([`USER_COLS`], then the access epoch with `extra`)
/// starting at column `at`.
fn user_at(r: &Row, at: usize, extra: bool) -> Result<(User, i64)> {
    let role: String = r.try_get(at + 2)?;
    let districts: String = r.try_get(at + 4)?;
    let damaged =
        |what: &str| ServerError::Forbidden(format!("{what}; access is denied until an administrator corrects it"));
    let user = User {
        id: r.try_get(at)?,
        name: r.try_get(at + 1)?,
        role: Role::parse(&role).ok_or_else(|| damaged("a user record holds a role this server does not know"))?,
        region: r.try_get(at + 3)?,
        districts: serde_json::from_str(&districts)
            .map_err(|_| damaged("a user record holds districts this server cannot read"))?,
        adoption_access: r.try_get(at + 5)?,
    };
    let epoch = if extra { r.try_get(at + 6)? } else { 0 };
    Ok((user, epoch))
}

fn device_from(r: &Row) -> Result<Device> {
    Ok(Device {
        id: r.try_get(0)?,
        user_id: r.try_get(1)?,
        actor: r.try_get(2)?,
        label: r.try_get(3)?,
        created_at: r.try_get(4)?,
        expires_at: r.try_get(5)?,
        revoked_at: r.try_get(6)?,
        wiped_at: r.try_get(7)?,
        last_sync_at: r.try_get(8)?,
        cursor: r.try_get::<_, i64>(9)? as u64,
    })
}

/// The metadata columns ([`META_COLS`]) starting at column `at`.
fn meta_at(r: &Row, at: usize) -> Result<(String, Option<DocMeta>)> {
    let doc_id: String = r.try_get(at)?;
    let meta = super::typed_meta(
        &doc_id,
        r.try_get(at + 1)?,
        r.try_get(at + 4)?,
        Projection {
            kind: DocKind::Case,
            region: r.try_get(at + 2)?,
            district: r.try_get(at + 3)?,
            tier: AccessTier::Standard,
            mentor_id: r.try_get(at + 5)?,
            owner_user: r.try_get(at + 6)?,
            urgent: r.try_get(at + 7)?,
        },
        r.try_get::<_, i64>(at + 8)? as u64,
    );
    Ok((doc_id, meta))
}

/// Two columns holding the grants of the user whose id is `user` (an SQL
/// expression): assigned documents, then mentor ids.
fn grant_arrays(user: &str) -> String {
    format!(
        "ARRAY(SELECT a.doc_id FROM assignments a WHERE a.user_id = {user}),
         ARRAY(SELECT m.mentor_id FROM documents m
               WHERE m.kind = 'mentor' AND m.owner_user = {user} AND m.mentor_id IS NOT NULL)"
    )
}

/// The grants of [`grant_arrays`] starting at column `at`.
fn grants_at(r: &Row, at: usize) -> Result<Grants> {
    let assigned: Vec<String> = r.try_get(at)?;
    let mentor_ids: Vec<String> = r.try_get(at + 1)?;
    Ok(Grants { assigned: assigned.into_iter().collect(), mentor_ids: mentor_ids.into_iter().collect() })
}

fn audit_at(r: &Row, at: usize) -> Result<AuditEntry> {
    let hashes: String = r.try_get(at + 5)?;
    Ok(AuditEntry {
        at: r.try_get(at)?,
        user_id: r.try_get(at + 1)?,
        device_id: r.try_get(at + 2)?,
        doc_id: r.try_get(at + 3)?,
        action: r.try_get(at + 4)?,
        hashes: hashes.split(',').filter(|s| !s.is_empty()).map(str::to_owned).collect(),
        address: r.try_get(at + 6)?,
    })
}

/// The condition on `d` (a feed row) for a [`FeedScope`], over the
/// arguments of [`feed_args`] from `$3`.
const FEED_SCOPE: &str = "(
     $3
     OR EXISTS (SELECT 1 FROM device_docs h WHERE h.device_id = $4 AND h.doc_id = d.doc_id)
     OR d.doc_id = ANY($5)
     OR d.kind = ANY($6)
     OR (d.region = $7 AND EXISTS (SELECT 1 FROM unnest($8::text[]) AS p(prefix)
                WHERE left(coalesce(d.district, ''), length(p.prefix)) = p.prefix)))";

/// `after`, a limit, and the scope's arguments for [`FEED_SCOPE`].
fn feed_args<'a>(after: &'a i64, limit: &'a i64, scope: &'a FeedScope) -> [&'a (dyn ToSql + Sync); 8] {
    [after, limit, &scope.everything, &scope.device_id, &scope.ids, &scope.kinds, &scope.region, &scope.prefixes]
}

fn keys<'a>(ids: impl Iterator<Item = &'a DocId>) -> Vec<String> {
    ids.map(DocId::to_string).collect()
}

/// A connection inside a transaction, or outside one for a single
/// statement (its own snapshot, one round trip), with blocking calls.
enum Db<'a> {
    Tx(&'a deadpool_postgres::Transaction<'a>),
    Once(&'a deadpool_postgres::ClientWrapper),
}

impl Db<'_> {
    fn statement(&self, sql: &str) -> Result<tokio_postgres::Statement> {
        Ok(match self {
            Db::Tx(c) => wait(c.prepare_cached(sql))?,
            Db::Once(c) => wait(c.prepare_cached(sql))?,
        })
    }

    fn query(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<Vec<Row>> {
        let st = self.statement(sql)?;
        Ok(match self {
            Db::Tx(c) => wait(c.query(&st, params))?,
            Db::Once(c) => wait(c.query(&st, params))?,
        })
    }

    fn opt(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<Option<Row>> {
        Ok(self.query(sql, params)?.into_iter().next())
    }

    fn one(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<Row> {
        self.opt(sql, params)?.ok_or_else(|| ServerError::storage(StorageFailure::Other, "a row expected was missing"))
    }

    fn exec(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<u64> {
        let st = self.statement(sql)?;
        Ok(match self {
            Db::Tx(c) => wait(c.execute(&st, params))?,
            Db::Once(c) => wait(c.execute(&st, params))?,
        })
    }

    fn next_seq(&self) -> Result<i64> {
        Ok(self.one("UPDATE meta SET value = value + 1 WHERE key = 'feed_seq' RETURNING value", &[])?.try_get(0)?)
    }

    /// The stored form of documents (snapshot then change chunks).
    fn saved_of(&self, ids: &[String]) -> Result<HashMap<String, Vec<u8>>> {
        let mut out: HashMap<String, Vec<u8>> = HashMap::new();
        for r in self.query("SELECT doc_id, snapshot FROM documents WHERE doc_id = ANY($1)", &[&ids])? {
            out.insert(r.try_get(0)?, r.try_get(1)?);
        }
        for r in self.query("SELECT doc_id, data FROM changes WHERE doc_id = ANY($1) ORDER BY id", &[&ids])? {
            let k: String = r.try_get(0)?;
            let data: Vec<u8> = r.try_get(1)?;
            if let Some(bytes) = out.get_mut(&k) {
                bytes.extend_from_slice(&data);
            }
        }
        Ok(out)
    }

    fn load(&self, key: &str) -> Result<Option<Automerge>> {
        self.saved_of(&[key.to_owned()])?.remove(key).map(|b| Automerge::load(&b).map_err(corrupt)).transpose()
    }

    fn chain_head(&self) -> Result<String> {
        if let Some(r) = self.opt("SELECT chain FROM audit ORDER BY id DESC LIMIT 1", &[])?
            && let Some(c) = r.try_get::<_, Option<String>>(0)?
        {
            return Ok(c);
        }
        Ok(self
            .opt("SELECT chain FROM audit_anchor WHERE id = 1", &[])?
            .map(|r| r.try_get(0))
            .transpose()?
            .unwrap_or_default())
    }

    fn insert_audit(&self, entries: &[AuditEntry]) -> Result<()> {
        if entries.is_empty() {
            return Ok(());
        }
        let mut prev = self.chain_head()?;
        for e in entries {
            let chain = super::audit_chain(&prev, e);
            self.exec(
                "INSERT INTO audit(at, user_id, device_id, doc_id, action, hashes, address, chain)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                &[&e.at, &e.user_id, &e.device_id, &e.doc_id, &e.action, &e.hashes.join(","), &e.address, &chain],
            )?;
            prev = chain;
        }
        Ok(())
    }

    fn write_facts(&self, id: &DocId, doc: &Automerge, tier: AccessTier) -> Result<()> {
        let key = id.to_string();
        match Facts::of(id, doc) {
            Some(f) => {
                let body = serde_json::to_string(&f).map_err(|e| ServerError::Config(e.to_string()))?;
                self.exec(
                    "INSERT INTO doc_facts(doc_id, tier, facts) VALUES ($1, $2, $3)
                     ON CONFLICT(doc_id) DO UPDATE SET tier = $2, facts = $3",
                    &[&key, &tier.code(), &body],
                )?;
            }
            None => {
                self.exec("DELETE FROM doc_facts WHERE doc_id = $1", &[&key])?;
            }
        }
        if matches!(id.kind(), DocKind::Case | DocKind::Representative) {
            let hashes = qamqor_core::docs::attachments::hashes(id, doc);
            self.exec("DELETE FROM doc_blobs WHERE doc_id = $1", &[&key])?;
            if !hashes.is_empty() {
                self.exec("INSERT INTO doc_blobs(doc_id, hash) SELECT $1, unnest($2::text[])", &[&key, &hashes])?;
            }
        }
        if matches!(id.kind(), DocKind::Case | DocKind::Representative | DocKind::Mentor) {
            match Identity::of(id, doc) {
                Some(p) => {
                    self.exec(
                        "INSERT INTO doc_people(doc_id, kind, iin, name_key, birth) VALUES ($1, $2, $3, $4, $5)
                         ON CONFLICT(doc_id) DO UPDATE SET iin = $3, name_key = $4, birth = $5
                         WHERE doc_people.iin <> $3 OR doc_people.name_key <> $4 OR doc_people.birth <> $5",
                        &[&key, &id.kind().prefix(), &p.iin, &p.name_key, &p.birth.to_string()],
                    )?;
                }
                None => {
                    self.exec("DELETE FROM doc_people WHERE doc_id = $1", &[&key])?;
                }
            }
        }
        Ok(())
    }

    fn put_document(
        &self,
        id: &DocId,
        doc: &Automerge,
        before: &[automerge::ChangeHash],
        p: &Projection,
        saved: Option<&[u8]>,
    ) -> Result<i64> {
        let key = id.to_string();
        let seq = self.next_seq()?;
        if before.is_empty() {
            let snapshot = saved.map_or_else(|| doc.save(), <[u8]>::to_vec);
            self.exec(
                "INSERT INTO documents(doc_id, kind, region, district, tier, mentor_id, owner_user, urgent, seq, snapshot)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                &[
                    &key,
                    &p.kind.prefix(),
                    &p.region,
                    &p.district,
                    &p.tier.code(),
                    &p.mentor_id,
                    &p.owner_user,
                    &p.urgent,
                    &seq,
                    &snapshot,
                ],
            )?;
        } else {
            self.exec("INSERT INTO changes(doc_id, data) VALUES ($1, $2)", &[&key, &doc.save_after(before)])?;
            self.exec(
                "UPDATE documents SET region = $2, district = $3, tier = $4, mentor_id = $5, owner_user = $6,
                 urgent = $7, seq = $8 WHERE doc_id = $1",
                &[&key, &p.region, &p.district, &p.tier.code(), &p.mentor_id, &p.owner_user, &p.urgent, &seq],
            )?;
        }
        self.write_facts(id, doc, p.tier)?;
        Ok(seq)
    }

    fn compact(&self, key: &str) -> Result<()> {
        let doc = self.load(key)?.ok_or_else(|| corrupt("a document vanished while being compacted"))?;
        let snapshot = doc.save();
        let check = Automerge::load(&snapshot).map_err(corrupt)?;
        if check.get_heads() != doc.get_heads() {
            return Err(corrupt("compaction produced a different document"));
        }
        self.exec("UPDATE documents SET snapshot = $2 WHERE doc_id = $1", &[&key, &snapshot])?;
        self.exec("DELETE FROM changes WHERE doc_id = $1", &[&key])?;
        Ok(())
    }

    fn grants(&self, user_id: &str) -> Result<Grants> {
        grants_at(&self.one(&format!("SELECT {}", grant_arrays("$1")), &[&user_id])?, 0)
    }

    /// Feed rows after `after` within `scope` (`cond`: a further
    /// condition ending in `AND `), at most `limit`.
    fn feed_rows(&self, cond: &str, after: u64, limit: usize, scope: &FeedScope) -> Result<Vec<DocMeta>> {
        let cols = META_COLS.split(", ").map(|c| format!("d.{c}")).collect::<Vec<_>>().join(", ");
        let rows = self.query(
            &format!("SELECT {cols} FROM documents d WHERE {cond}d.seq > $1 AND {FEED_SCOPE} ORDER BY d.seq LIMIT $2"),
            &feed_args(&(after as i64), &(limit as i64), scope),
        )?;
        rows.iter().map(|r| Ok(meta_at(r, 0)?.1)).filter_map(Result::transpose).collect()
    }

    /// How many feed rows after `after` are within `scope` and not held by
    /// its device, at most `cap`.
    fn feed_count(&self, after: u64, cap: usize, scope: &FeedScope) -> Result<u64> {
        let row = self.one(
            &format!(
                "SELECT count(*) FROM (SELECT 1 FROM documents d WHERE d.seq > $1 AND {FEED_SCOPE}
                     AND NOT EXISTS (SELECT 1 FROM device_docs h WHERE h.device_id = $4 AND h.doc_id = d.doc_id)
                     LIMIT $2) t"
            ),
            &feed_args(&(after as i64), &(cap as i64), scope),
        )?;
        Ok(row.try_get::<_, i64>(0)? as u64)
    }

    fn held_rows(&self, device_id: &str, which: &str, ids: Option<&[String]>) -> Result<Vec<Held>> {
        let cols = META_COLS.split(", ").map(|c| format!("d.{c}")).collect::<Vec<_>>().join(", ");
        let sql = format!(
            "SELECT h.doc_id, h.removal, {cols} FROM device_docs h LEFT JOIN documents d ON d.doc_id = h.doc_id
             WHERE h.device_id = $1{which}"
        );
        let rows = match ids {
            Some(ids) => self.query(&sql, &[&device_id, &ids])?,
            None => self.query(&sql, &[&device_id])?,
        };
        let mut out = Vec::new();
        for r in rows {
            let key: String = r.try_get(0)?;
            let removal: bool = r.try_get(1)?;
            let exists: Option<String> = r.try_get(2)?;
            let meta = if exists.is_some() { meta_at(&r, 2)?.1 } else { None };
            let Ok(id) = DocId::parse(&key) else { continue };
            out.push(Held { id, damaged: exists.is_some() && meta.is_none(), meta, removal });
        }
        Ok(out)
    }
}

/// A TLS client configuration trusting only the authorities in `pem`.
fn tls_config(pem: &[u8]) -> Result<rustls::ClientConfig> {
    use rustls::pki_types::pem::PemObject;
    let bad = |why: String| ServerError::Config(format!("database_ca: {why}"));
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls::pki_types::CertificateDer::pem_slice_iter(pem) {
        let cert = cert.map_err(|e| bad(format!("not a PEM certificate file ({e})")))?;
        roots.add(cert).map_err(|e| bad(format!("a certificate cannot be used ({e})")))?;
    }
    if roots.is_empty() {
        return Err(bad("the file holds no certificate".into()));
    }
    rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| bad(e.to_string()))
        .map(|b| b.with_root_certificates(roots).with_no_client_auth())
}

/// Whether every host of the URL is this machine (loopback or a Unix
/// socket), where an unencrypted connection never crosses a network.
fn is_local(config: &tokio_postgres::Config) -> bool {
    config.get_hosts().iter().all(|h| match h {
        tokio_postgres::config::Host::Tcp(name) => {
            name == "localhost" || name.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
        }
        #[cfg(unix)]
        tokio_postgres::config::Host::Unix(_) => true,
    })
}

/// Drops the database at `url` (its name is the URL's last part), for
/// tests that made one of their own; connections still open to it are
/// ended (PostgreSQL 13 or newer).
pub fn drop_database(url: &str) -> Result<()> {
    let (base, name) = url.rsplit_once('/').ok_or_else(|| ServerError::Config("the URL names no database".into()))?;
    let name = name.split('?').next().unwrap_or_default();
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(ServerError::Config("not a database name create_database made".into()));
    }
    let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
    on_one_connection(&format!("{base}/postgres"), "dropping the database", async |client| {
        Ok(client.batch_execute(&sql).await?)
    })
}

/// Runs `f` on a connection of its own to `url`, on a thread of its own
/// (the caller may be inside a runtime), for setting up and removing
/// databases; `what` names the work in the error if the thread fails.
fn on_one_connection(
    url: &str,
    what: &str,
    f: impl AsyncFnOnce(&tokio_postgres::Client) -> Result<()> + Send,
) -> Result<()> {
    std::thread::scope(|s| {
        s.spawn(|| {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(ServerError::Io)?;
            rt.block_on(async {
                let (client, conn) = tokio_postgres::connect(url, NoTls).await?;
                let driver = tokio::spawn(conn);
                let done = f(&client).await;
                drop(client);
                let _ = driver.await;
                done
            })
        })
        .join()
    })
    .map_err(|_| ServerError::Config(format!("{what} failed")))?
}

/// Waits for a future of the database client (from any thread, inside or
/// outside a runtime). Unconstrained by tokio's cooperative budget: called
/// from within a task whose budget is spent, the pool's semaphore would
/// otherwise yield forever to a scheduler that never runs.
fn wait<T>(f: impl std::future::Future<Output = T>) -> T {
    futures_executor::block_on(tokio::task::unconstrained(f))
}

/// The PostgreSQL storage.
pub struct PostgresStorage {
    pool: Pool,
    /// Drives the connections' I/O (taken when dropped).
    rt: Option<tokio::runtime::Runtime>,
    cache: Mutex<DocCache>,
    touches: Touches,
    /// This process's writers queue here, not on the database's lock: a
    /// pool connection waits for the write turn only when it is next, and
    /// the others stay free for reads.
    writer: Mutex<()>,
}

impl std::fmt::Debug for PostgresStorage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStorage").finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl PostgresStorage {
    /// Connects to the database at `url` (`postgres://user@host:port/db`),
    /// with at most `pool_size` connections, and migrates it (one process
    /// at a time).
    pub fn open(url: &str, pool_size: usize) -> Result<Self> {
        Self::open_with_ca(url, pool_size, None)
    }

    /// As [`PostgresStorage::open`], over TLS verified against `ca_pem`
    /// (the PEM certificates of the authority that signed the database
    /// server's certificate) unless the URL says `sslmode=disable`. Without
    /// a CA, `sslmode=require` is refused and any other mode connects
    /// without TLS (the default `prefer` included): Qamqor never accepts a
    /// certificate it cannot verify.
    pub fn open_with_ca(url: &str, pool_size: usize, ca_pem: Option<&[u8]>) -> Result<Self> {
        let storage = Self::connect(url, pool_size, ca_pem)?;
        storage.migrate(MIGRATIONS.len())?;
        let n = storage.reproject()?;
        if n > 0 {
            tracing::info!(documents = n, "document metadata derived again under the current rules");
        }
        Ok(storage)
    }

    /// Connects without migrating.
    fn connect(url: &str, pool_size: usize, ca_pem: Option<&[u8]>) -> Result<Self> {
        let config: tokio_postgres::Config =
            url.parse().map_err(|e| ServerError::Config(format!("database_url is not a PostgreSQL URL: {e}")))?;
        let tls = match (config.get_ssl_mode(), ca_pem) {
            (tokio_postgres::config::SslMode::Disable, _) => None,
            (_, Some(pem)) => Some(tls_config(pem)?),
            (tokio_postgres::config::SslMode::Require, None) => {
                return Err(ServerError::Config(
                    "database_url asks for TLS (sslmode=require): give the certificate of the authority that signed \
                     the database server's (database_ca, QAMQOR_DATABASE_CA)"
                        .into(),
                ));
            }
            (_, None) => None,
        };
        if tls.is_none() && !is_local(&config) {
            tracing::warn!(
                "the connection to PostgreSQL is not encrypted; set database_ca and sslmode=require (docs/deployment.md)"
            );
        }
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("qamqor-pg")
            .enable_all()
            .build()
            .map_err(ServerError::Io)?;
        let manager_config = ManagerConfig { recycling_method: RecyclingMethod::Fast };
        let manager = match tls {
            Some(tls) => {
                Manager::from_config(config, tokio_postgres_rustls::MakeRustlsConnect::new(tls), manager_config)
            }
            None => Manager::from_config(config, NoTls, manager_config),
        };
        let pool = {
            let _in = rt.enter();
            Pool::builder(manager)
                .max_size(pool_size.max(2))
                .runtime(deadpool_postgres::Runtime::Tokio1)
                .build()
                .map_err(|e| ServerError::Config(format!("the database pool: {e}")))?
        };
        Ok(PostgresStorage {
            pool,
            rt: Some(rt),
            cache: Mutex::new(DocCache::new(super::cache::DEFAULT_BUDGET)),
            touches: Touches::default(),
            writer: Mutex::new(()),
        })
    }

    /// Whether this process's connections to the database are encrypted
    /// (TLS), as the server sees them.
    pub fn encrypted(&self) -> Result<bool> {
        self.read_once(|db| {
            Ok(db
                .opt("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()", &[])?
                .map(|r| r.try_get(0))
                .transpose()?
                .unwrap_or(false))
        })
    }

    /// Sets the document cache's budget (estimated bytes; 0: no cache).
    pub fn with_cache_budget(self, bytes: usize) -> Self {
        *lock(&self.cache) = DocCache::new(bytes);
        self
    }

    fn enter(&self) -> Option<tokio::runtime::EnterGuard<'_>> {
        self.rt.as_ref().map(tokio::runtime::Runtime::enter)
    }

    fn client(&self) -> Result<deadpool_postgres::Object> {
        let _in = self.enter();
        wait(self.pool.get()).map_err(pool_err)
    }

    /// Brings the schema to version `to` (the latest but in tests).
    fn migrate(&self, to: usize) -> Result<()> {
        let mut client = self.client()?;
        let _in = self.enter();
        wait(client.execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK]))?;
        let result = (|| -> Result<()> {
            wait(client.batch_execute("CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY)"))?;
            let done: i64 =
                wait(client.query_one("SELECT coalesce(max(version), 0) FROM schema_migrations", &[]))?.try_get(0)?;
            if done as usize > MIGRATIONS.len() {
                return Err(ServerError::Config(format!(
                    "the database was written by a newer Qamqor (schema {done}, this version knows {}); update the server",
                    MIGRATIONS.len()
                )));
            }
            for (i, sql) in MIGRATIONS.iter().enumerate().take(to).skip(done as usize) {
                let tx = wait(client.transaction())?;
                wait(tx.batch_execute(sql))?;
                wait(tx.execute("INSERT INTO schema_migrations(version) VALUES ($1)", &[&(i as i64 + 1)]))?;
                wait(tx.commit())?;
            }
            Ok(())
        })();
        wait(client.execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK]))?;
        result
    }

    /// Runs `f` in one transaction at `level` and commits; run again when
    /// it lost a race with another transaction.
    fn tx<R>(&self, level: IsolationLevel, read_only: bool, f: impl FnMut(&Db<'_>) -> Result<R>) -> Result<R> {
        if read_only {
            let mut client = self.client()?;
            let _in = self.enter();
            return Self::run(&mut client, level, true, f);
        }
        let _turn = lock(&self.writer);
        let mut client = self.client()?;
        let _in = self.enter();
        // Writers take turns, across every process, before their snapshot
        // is taken: each sees all that committed before it, and numbers
        // the feed after them (commit order is number order).
        wait(client.execute("SELECT pg_advisory_lock($1)", &[&WRITE_LOCK]))?;
        let result = Self::run(&mut client, level, false, f);
        let unlocked = wait(client.execute("SELECT pg_advisory_unlock($1)", &[&WRITE_LOCK]));
        if unlocked.is_err() {
            // The connection is broken; closing it releases the lock.
            let _ = deadpool_postgres::Object::take(client);
        }
        result
    }

    fn run<R>(
        client: &mut deadpool_postgres::Object,
        level: IsolationLevel,
        read_only: bool,
        mut f: impl FnMut(&Db<'_>) -> Result<R>,
    ) -> Result<R> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let result: Result<R> = (|| {
                let tx = wait(client.build_transaction().isolation_level(level).read_only(read_only).start())?;
                let r = f(&Db::Tx(&tx))?;
                wait(tx.commit())?;
                Ok(r)
            })();
            match result {
                Err(e) if attempt < ATTEMPTS && e.is_busy() => {
                    tracing::debug!(attempt, "transaction lost a race; running it again");
                    std::thread::sleep(std::time::Duration::from_millis(2 * attempt as u64));
                }
                r => return r,
            }
        }
    }

    fn write<R>(&self, f: impl FnMut(&Db<'_>) -> Result<R>) -> Result<R> {
        self.tx(IsolationLevel::RepeatableRead, false, f)
    }

    /// A read-only transaction on one snapshot (a document's snapshot and
    /// change rows read by two statements must agree; read-only snapshots
    /// never fail with serialization errors).
    fn read<R>(&self, f: impl FnMut(&Db<'_>) -> Result<R>) -> Result<R> {
        self.tx(IsolationLevel::RepeatableRead, true, f)
    }

    /// One read-only statement: no transaction around it (a statement
    /// reads one snapshot of its own), one round trip instead of three.
    fn read_once<R>(&self, f: impl FnOnce(&Db<'_>) -> Result<R>) -> Result<R> {
        let client = self.client()?;
        let _in = self.enter();
        f(&Db::Once(&client))
    }

    fn write_touches(&self, all: bool) -> Result<()> {
        self.touches.write(all, |touches| {
            self.write(|db| {
                for t in touches {
                    db.exec(
                        "UPDATE devices SET last_sync_at = $2, cursor = $3 WHERE id = $1 AND coalesce(last_sync_at, 0) <= $2",
                        &[&t.device_id, &t.at, &(t.cursor as i64)],
                    )?;
                }
                Ok(())
            })
        })
    }

    fn device_where(&self, db: &Db<'_>, cond: &str, arg: &str) -> Result<Option<Device>> {
        db.opt(&format!("SELECT {DEVICE_COLS} FROM devices WHERE {cond} = $1"), &[&arg])?
            .map(|r| device_from(&r))
            .transpose()
    }
}

impl Drop for PostgresStorage {
    fn drop(&mut self) {
        if let Err(e) = self.write_touches(true) {
            tracing::warn!(error = %e, "last sync times could not be written at shutdown");
        }
        // Without waiting: the storage may be dropped inside another runtime.
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
    }
}

/// Creates a database named after `name` (lowercased, every character but
/// ASCII letters and digits made `_`) on the server at `base_url` (a URL of
/// any database there) unless it exists; the database's URL. For setting
/// up a region, and for tests that need a database of their own.
pub fn create_database(base_url: &str, name: &str) -> Result<String> {
    let name: String =
        name.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '_' }).collect();
    if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
        return Err(ServerError::Config("a database name starts with a letter or _".into()));
    }
    let name = name.as_str();
    on_one_connection(base_url, "creating the database", async |client| {
        if client.query_opt("SELECT 1 FROM pg_database WHERE datname = $1", &[&name]).await?.is_none() {
            client.batch_execute(&format!("CREATE DATABASE {name}")).await?;
        }
        Ok(())
    })?;
    let (prefix, _) =
        base_url.rsplit_once('/').ok_or_else(|| ServerError::Config("the PostgreSQL URL names no database".into()))?;
    Ok(format!("{prefix}/{name}"))
}

/// A sync transaction on PostgreSQL.
struct Tx<'a, 'b> {
    db: &'a Db<'b>,
    cache: &'a Mutex<DocCache>,
    stored: Vec<(DocId, u64, Automerge)>,
}

impl SyncTx for Tx<'_, '_> {
    fn caller(&mut self, device_id: &str) -> Result<Option<SyncCaller>> {
        // One statement (one round trip): the device, its user, the user's
        // grants and the access epoch the device has seen.
        let device_cols = DEVICE_COLS.split(", ").map(|c| format!("d.{c}")).collect::<Vec<_>>().join(", ");
        let user_cols = USER_COLS.split(", ").map(|c| format!("u.{c}")).collect::<Vec<_>>().join(", ");
        let sql = format!(
            "SELECT {device_cols}, {user_cols}, u.access_epoch,
                    {}, (SELECT x.epoch FROM device_access x WHERE x.device_id = d.id)
             FROM devices d JOIN users u ON u.id = d.user_id WHERE d.id = $1",
            grant_arrays("u.id")
        );
        let Some(row) = self.db.opt(&sql, &[&device_id])? else {
            return Ok(None);
        };
        let device = device_from(&row)?;
        let at = DEVICE_COLS.split(", ").count();
        let (user, epoch) = user_at(&row, at, true)?;
        let at = at + USER_COLS.split(", ").count() + 1;
        let grants = grants_at(&row, at)?;
        let seen: Option<i64> = row.try_get(at + 2)?;
        Ok(Some(SyncCaller { device, user, grants, epoch: epoch as u64, seen_epoch: seen.unwrap_or(0) as u64 }))
    }

    fn metas(&mut self, ids: &[DocId]) -> Result<HashMap<DocId, Option<DocMeta>>> {
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        let mut out = HashMap::new();
        for r in
            self.db.query(&format!("SELECT {META_COLS} FROM documents WHERE doc_id = ANY($1)"), &[&keys(ids.iter())])?
        {
            let (key, meta) = meta_at(&r, 0)?;
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
        let mut out = HashMap::new();
        let rows = self.db.query(
            "SELECT d.doc_id, octet_length(d.snapshot)::BIGINT
               + (SELECT coalesce(sum(octet_length(c.data)), 0)::BIGINT FROM changes c WHERE c.doc_id = d.doc_id)
             FROM documents d WHERE d.doc_id = ANY($1)",
            &[&keys(ids.iter())],
        )?;
        for r in rows {
            let (k, n): (String, i64) = (r.try_get(0)?, r.try_get(1)?);
            if let Ok(id) = DocId::parse(&k) {
                out.insert(id, n.max(0) as u64);
            }
        }
        Ok(out)
    }

    fn held(&mut self, device_id: &str, scope: HeldScope<'_>) -> Result<Vec<Held>> {
        let mut out = match scope {
            HeldScope::All => self.db.held_rows(device_id, "", None)?,
            _ => self.db.held_rows(device_id, " AND h.removal", None)?,
        };
        if let HeldScope::Among(ids) = scope
            && !ids.is_empty()
        {
            let named = " AND NOT h.removal AND h.doc_id = ANY($2)";
            out.extend(self.db.held_rows(device_id, named, Some(&keys(ids.iter())))?);
        }
        Ok(out)
    }

    fn feed_end(&mut self) -> Result<u64> {
        Ok(self.db.one("SELECT value FROM meta WHERE key = 'feed_seq'", &[])?.try_get::<_, i64>(0)? as u64)
    }

    fn feed(&mut self, after: u64, limit: usize, scope: &FeedScope) -> Result<Vec<DocMeta>> {
        self.db.feed_rows("", after, limit, scope)
    }

    fn urgent_feed(&mut self, after: u64, limit: usize, scope: &FeedScope) -> Result<Vec<DocMeta>> {
        self.db.feed_rows("urgent AND ", after, limit, scope)
    }

    fn feed_count(&mut self, after: u64, cap: usize, scope: &FeedScope) -> Result<u64> {
        self.db.feed_count(after, cap, scope)
    }

    fn load(&mut self, device_id: &str, docs: &[(DocId, Option<u64>)]) -> Result<Vec<Loaded>> {
        let mut states: HashMap<String, Vec<u8>> = HashMap::new();
        for r in self.db.query(
            "SELECT doc_id, state FROM device_docs WHERE device_id = $1 AND doc_id = ANY($2)",
            &[&device_id, &keys(docs.iter().map(|(id, _)| id))],
        )? {
            states.insert(r.try_get(0)?, r.try_get(1)?);
        }
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
                    None => missing.push(id.to_string()),
                }
            }
        }
        if !missing.is_empty() {
            for (k, bytes) in self.db.saved_of(&missing)? {
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
        Ok(self
            .db
            .saved_of(&keys(ids.iter()))?
            .into_iter()
            .filter_map(|(k, bytes)| Some((DocId::parse(&k).ok()?, bytes)))
            .collect())
    }

    fn store(&mut self, device_id: &str, writes: Vec<DocWrite>) -> Result<()> {
        // The device's sync states, written in one statement at the end
        // (the last one of a document wins).
        let mut states: HashMap<String, Vec<u8>> = HashMap::new();
        for w in writes {
            let key = w.id.to_string();
            if let Some((doc, before, p)) = w.content {
                let seq = self.db.put_document(&w.id, &doc, &before, &p, w.saved.as_deref())?;
                if !before.is_empty() {
                    let pending: i64 =
                        self.db.one("SELECT count(*) FROM changes WHERE doc_id = $1", &[&key])?.try_get(0)?;
                    if pending > COMPACT_AFTER {
                        self.db.compact(&key)?;
                    }
                }
                self.stored.push((w.id.clone(), seq as u64, doc));
            }
            states.insert(key, w.state);
        }
        if !states.is_empty() {
            let (ids, states): (Vec<String>, Vec<Vec<u8>>) = states.into_iter().unzip();
            self.db.exec(
                "INSERT INTO device_docs(device_id, doc_id, state)
                 SELECT $1, t.doc_id, t.state FROM unnest($2::text[], $3::bytea[]) AS t(doc_id, state)
                 ON CONFLICT(device_id, doc_id) DO UPDATE SET state = excluded.state",
                &[&device_id, &ids, &states],
            )?;
        }
        Ok(())
    }

    fn set_removals(&mut self, device_id: &str, ids: &[DocId]) -> Result<()> {
        let mut ids = keys(ids.iter());
        ids.sort();
        ids.dedup();
        if !ids.is_empty() {
            self.db.exec(
                "INSERT INTO device_docs(device_id, doc_id, state, removal)
                 SELECT $1, t.doc_id, '', TRUE FROM unnest($2::text[]) AS t(doc_id)
                 ON CONFLICT(device_id, doc_id) DO UPDATE SET removal = TRUE",
                &[&device_id, &ids],
            )?;
        }
        Ok(())
    }

    fn ack_removals(&mut self, device_id: &str, ids: &[DocId]) -> Result<()> {
        if ids.is_empty() {
            return Ok(());
        }
        self.db.exec(
            "DELETE FROM device_docs WHERE device_id = $1 AND removal AND doc_id = ANY($2)",
            &[&device_id, &keys(ids.iter())],
        )?;
        Ok(())
    }

    fn set_seen_epoch(&mut self, device_id: &str, epoch: u64) -> Result<()> {
        self.db.exec(
            "INSERT INTO device_access(device_id, epoch) VALUES ($1, $2) ON CONFLICT(device_id) DO UPDATE SET epoch = $2",
            &[&device_id, &(epoch as i64)],
        )?;
        Ok(())
    }

    fn touch_device(&mut self, device_id: &str, at: i64, cursor: u64) -> Result<()> {
        self.db.exec(
            "UPDATE devices SET last_sync_at = $2, cursor = $3 WHERE id = $1",
            &[&device_id, &at, &(cursor as i64)],
        )?;
        Ok(())
    }

    fn new_reads(&mut self, device_id: &str, ids: &[String]) -> Result<Vec<String>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let inserted: std::collections::HashSet<String> = self
            .db
            .query(
                "INSERT INTO phone_reads(read_id, device_id) SELECT DISTINCT t.id, $2 FROM unnest($1::text[]) AS t(id)
                 ON CONFLICT DO NOTHING RETURNING read_id",
                &[&ids, &device_id],
            )?
            .iter()
            .map(|r| r.try_get(0))
            .collect::<std::result::Result<_, _>>()?;
        // In the order asked, each once.
        let mut seen = std::collections::HashSet::new();
        Ok(ids.iter().filter(|id| inserted.contains(*id) && seen.insert(id.as_str())).cloned().collect())
    }

    fn renew_token(&mut self, device_id: &str, token_hash: &str, expires_at: i64) -> Result<()> {
        self.db.exec(
            "UPDATE devices SET next_token_hash = $2, next_expires_at = $3 WHERE id = $1",
            &[&device_id, &token_hash, &expires_at],
        )?;
        Ok(())
    }

    fn mark_wiped(&mut self, device_id: &str, at: i64) -> Result<()> {
        self.db.exec("UPDATE devices SET wiped_at = coalesce(wiped_at, $2) WHERE id = $1", &[&device_id, &at])?;
        self.db.exec("DELETE FROM device_docs WHERE device_id = $1", &[&device_id])?;
        Ok(())
    }

    fn audit(&mut self, entries: &[AuditEntry]) -> Result<()> {
        self.db.insert_audit(entries)
    }

    fn hold(&mut self, held: &HeldDocument, doc: &Automerge) -> Result<()> {
        self.db.exec(
            "INSERT INTO held_documents(doc_id, device_id, user_id, at, reason, snapshot) VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT(doc_id, device_id) DO UPDATE SET at = $4, reason = $5, snapshot = $6",
            &[&held.doc_id.to_string(), &held.device_id, &held.user_id, &held.at, &held.reason, &doc.save()],
        )?;
        Ok(())
    }
}

impl Storage for PostgresStorage {
    fn create_user(&self, u: &User) -> Result<()> {
        self.write(|db| {
            let n = db.exec(
                "INSERT INTO users(id, name, role, region, districts, adoption_access) VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT(id) DO NOTHING",
                &[
                    &u.id,
                    &u.name,
                    &u.role.code(),
                    &u.region,
                    &serde_json::to_string(&u.districts).unwrap_or_default(),
                    &u.adoption_access,
                ],
            )?;
            if n == 0 {
                return Err(ServerError::Conflict("a user with this id already exists".into()));
            }
            Ok(())
        })
    }

    fn update_user(&self, u: &User) -> Result<()> {
        self.write(|db| {
            let n = db.exec(
                "UPDATE users SET name = $2, role = $3, region = $4, districts = $5, adoption_access = $6,
                 access_epoch = access_epoch + 1 WHERE id = $1",
                &[
                    &u.id,
                    &u.name,
                    &u.role.code(),
                    &u.region,
                    &serde_json::to_string(&u.districts).unwrap_or_default(),
                    &u.adoption_access,
                ],
            )?;
            if n == 0 {
                return Err(ServerError::NotFound("no such user".into()));
            }
            Ok(())
        })
    }

    fn user(&self, id: &str) -> Result<Option<User>> {
        self.read_once(|db| {
            db.opt(&format!("SELECT {USER_COLS} FROM users WHERE id = $1"), &[&id])?
                .map(|r| Ok(user_from(&r, false)?.0))
                .transpose()
        })
    }

    fn users(&self) -> Result<Vec<User>> {
        self.read(|db| {
            db.query(&format!("SELECT {USER_COLS} FROM users ORDER BY id"), &[])?
                .iter()
                .map(|r| Ok(user_from(r, false)?.0))
                .collect()
        })
    }

    fn add_enrollment_code(&self, code_id: &str, secret_hash: &str, user_id: &str, expires_at: i64) -> Result<()> {
        self.write(|db| {
            db.exec(
                "INSERT INTO enrollment_codes(code_id, secret_hash, user_id, expires_at) VALUES ($1, $2, $3, $4)",
                &[&code_id, &secret_hash, &user_id, &expires_at],
            )?;
            Ok(())
        })
    }

    fn enrollment_code(&self, code_id: &str) -> Result<Option<(String, String, i64)>> {
        self.read(|db| {
            db.opt(
                "SELECT secret_hash, user_id, expires_at FROM enrollment_codes WHERE code_id = $1 AND used_at IS NULL",
                &[&code_id],
            )?
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?)))
            .transpose()
        })
    }

    fn enroll(&self, code_id: &str, d: &Device, token_hash: &str) -> Result<Device> {
        self.write(|db| {
            let used = db.exec(
                "UPDATE enrollment_codes SET used_at = $2 WHERE code_id = $1 AND used_at IS NULL",
                &[&code_id, &d.created_at],
            )?;
            if used == 0 {
                return Err(ServerError::Unauthorized("the enrollment code is unknown, used or expired".into()));
            }
            match super::enrolling(self.device_where(db, "actor", &d.actor)?, d)? {
                Some(old) => {
                    db.exec(
                        "UPDATE devices SET token_hash = $2, label = $3, expires_at = $4 WHERE id = $1",
                        &[&old.id, &token_hash, &d.label, &d.expires_at],
                    )?;
                    Ok(Device { label: d.label.clone(), expires_at: d.expires_at, ..old })
                }
                None => {
                    db.exec(
                        "INSERT INTO devices(id, user_id, actor, token_hash, label, created_at, expires_at)
                         VALUES ($1, $2, $3, $4, $5, $6, $7)",
                        &[&d.id, &d.user_id, &d.actor, &token_hash, &d.label, &d.created_at, &d.expires_at],
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
        self.write(|db| {
            let Some(r) = db.opt(
                "SELECT secret_hash, user_id, expires_at, failures FROM enrollment_codes
                 WHERE code_id = $1 AND used_at IS NULL FOR UPDATE",
                &[&code_id],
            )?
            else {
                return Ok(None);
            };
            let (hash, user, expires, attempts): (String, String, i64, i64) =
                (r.try_get(0)?, r.try_get(1)?, r.try_get(2)?, r.try_get(3)?);
            if expires < now {
                return Ok(None);
            }
            if attempts >= i64::from(total) {
                db.exec("UPDATE enrollment_codes SET used_at = $2 WHERE code_id = $1", &[&code_id, &now])?;
                return Ok(None);
            }
            let mine: i64 = db
                .opt("SELECT attempts FROM code_attempts WHERE code_id = $1 AND address = $2", &[&code_id, &address])?
                .map(|r| r.try_get(0))
                .transpose()?
                .unwrap_or(0);
            if mine >= i64::from(per_address) {
                return Ok(None);
            }
            db.exec(
                "INSERT INTO code_attempts(code_id, address, attempts) VALUES ($1, $2, 1)
                 ON CONFLICT(code_id, address) DO UPDATE SET attempts = code_attempts.attempts + 1",
                &[&code_id, &address],
            )?;
            db.exec("UPDATE enrollment_codes SET failures = failures + 1 WHERE code_id = $1", &[&code_id])?;
            Ok(Some((hash, user)))
        })
    }

    fn device_by_token(&self, token_hash: &str) -> Result<Option<Device>> {
        if let Some(d) = self.read_once(|db| self.device_where(db, "token_hash", token_hash))? {
            return Ok(Some(d));
        }
        self.write(|db| {
            db.opt(
                &format!(
                    "UPDATE devices SET token_hash = next_token_hash, expires_at = next_expires_at,
                     next_token_hash = NULL, next_expires_at = NULL
                     WHERE next_token_hash = $1 RETURNING {DEVICE_COLS}"
                ),
                &[&token_hash],
            )?
            .map(|r| device_from(&r))
            .transpose()
        })
    }

    fn devices(&self) -> Result<Vec<Device>> {
        self.write_touches(true)?;
        self.read(|db| {
            db.query(&format!("SELECT {DEVICE_COLS} FROM devices ORDER BY user_id, created_at"), &[])?
                .iter()
                .map(device_from)
                .collect()
        })
    }

    fn revoke_device(&self, id: &str, at: i64) -> Result<()> {
        self.write(|db| {
            if db.exec("UPDATE devices SET revoked_at = coalesce(revoked_at, $2) WHERE id = $1", &[&id, &at])? == 0 {
                return Err(ServerError::NotFound("no such device".into()));
            }
            Ok(())
        })
    }

    fn assign(&self, user_id: &str, doc_id: &DocId, assigned: bool) -> Result<()> {
        let key = doc_id.to_string();
        self.write(|db| {
            if assigned {
                db.exec(
                    "INSERT INTO assignments(user_id, doc_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                    &[&user_id, &key],
                )?;
            } else {
                db.exec("DELETE FROM assignments WHERE user_id = $1 AND doc_id = $2", &[&user_id, &key])?;
            }
            let seq = db.next_seq()?;
            db.exec("UPDATE documents SET seq = $2 WHERE doc_id = $1", &[&key, &seq])?;
            Ok(())
        })
    }

    fn grants(&self, user_id: &str) -> Result<Grants> {
        self.read(|db| db.grants(user_id))
    }

    fn console_account(&self, user_id: &str) -> Result<Option<ConsoleAccount>> {
        self.read(|db| {
            db.opt(
                "SELECT user_id, password_hash, totp_secret, last_totp_step, failures, locked_until, lang
                 FROM console_accounts WHERE user_id = $1",
                &[&user_id],
            )?
            .map(|r| {
                Ok(ConsoleAccount {
                    user_id: r.try_get(0)?,
                    password_hash: r.try_get(1)?,
                    totp_secret: r.try_get(2)?,
                    last_totp_step: r.try_get(3)?,
                    failures: r.try_get::<_, i64>(4)?.clamp(0, i64::from(u32::MAX)) as u32,
                    locked_until: r.try_get(5)?,
                    lang: r.try_get(6)?,
                })
            })
            .transpose()
        })
    }

    fn set_console_account(&self, a: &ConsoleAccount) -> Result<()> {
        self.write(|db| {
            db.exec(
                "INSERT INTO console_accounts(user_id, password_hash, totp_secret, last_totp_step, failures, locked_until, lang)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)
                 ON CONFLICT(user_id) DO UPDATE SET password_hash = $2, totp_secret = $3, last_totp_step = $4,
                   failures = $5, locked_until = $6, lang = $7",
                &[&a.user_id, &a.password_hash, &a.totp_secret, &a.last_totp_step, &i64::from(a.failures), &a.locked_until, &a.lang],
            )?;
            db.exec("DELETE FROM console_sessions WHERE user_id = $1", &[&a.user_id])?;
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
        self.write(|db| {
            match ok {
                Some(step) => {
                    db.exec(
                        "UPDATE console_accounts SET failures = 0, locked_until = 0,
                         last_totp_step = greatest(last_totp_step, $2) WHERE user_id = $1",
                        &[&user_id, &step],
                    )?;
                }
                None => {
                    db.exec(
                        "UPDATE console_accounts SET
                           locked_until = CASE WHEN failures + 1 >= $2 THEN $3 ELSE locked_until END,
                           failures = CASE WHEN failures + 1 >= $2 THEN 0 ELSE failures + 1 END
                         WHERE user_id = $1",
                        &[&user_id, &i64::from(max_failures), &(now + lock_secs)],
                    )?;
                }
            }
            let failures: i64 = db
                .opt("SELECT failures FROM console_accounts WHERE user_id = $1", &[&user_id])?
                .map(|r| r.try_get(0))
                .transpose()?
                .unwrap_or(0);
            Ok(failures.clamp(0, i64::from(u32::MAX)) as u32)
        })
    }

    fn set_console_lang(&self, user_id: &str, lang: &str) -> Result<()> {
        self.write(|db| {
            db.exec("UPDATE console_accounts SET lang = $2 WHERE user_id = $1", &[&user_id, &lang])?;
            Ok(())
        })
    }

    fn create_session(&self, token_hash: &str, s: &ConsoleSession) -> Result<()> {
        self.write(|db| {
            db.exec("DELETE FROM console_sessions WHERE expires_at < $1", &[&(s.expires_at - 7 * 86_400)])?;
            db.exec(
                "INSERT INTO console_sessions(token_hash, user_id, csrf, expires_at) VALUES ($1, $2, $3, $4)",
                &[&token_hash, &s.user_id, &s.csrf, &s.expires_at],
            )?;
            Ok(())
        })
    }

    fn session(&self, token_hash: &str, now: i64) -> Result<Option<ConsoleSession>> {
        self.read(|db| {
            db.opt(
                "SELECT user_id, csrf, expires_at FROM console_sessions WHERE token_hash = $1 AND expires_at > $2",
                &[&token_hash, &now],
            )?
            .map(|r| Ok(ConsoleSession { user_id: r.try_get(0)?, csrf: r.try_get(1)?, expires_at: r.try_get(2)? }))
            .transpose()
        })
    }

    fn end_session(&self, token_hash: &str) -> Result<()> {
        self.write(|db| {
            db.exec("DELETE FROM console_sessions WHERE token_hash = $1", &[&token_hash])?;
            Ok(())
        })
    }

    fn end_sessions(&self, user_id: &str) -> Result<()> {
        self.write(|db| {
            db.exec("DELETE FROM console_sessions WHERE user_id = $1", &[&user_id])?;
            Ok(())
        })
    }

    fn facts(&self) -> Result<Vec<(DocId, AccessTier, Facts)>> {
        self.read(|db| {
            let mut out = Vec::new();
            for r in db.query("SELECT doc_id, tier, facts FROM doc_facts", &[])? {
                let (id, tier, body): (String, String, String) = (r.try_get(0)?, r.try_get(1)?, r.try_get(2)?);
                out.extend(super::typed_facts(&id, &tier, &body));
            }
            Ok(out)
        })
    }

    fn doc_meta(&self, id: &DocId) -> Result<Option<DocMeta>> {
        self.read(|db| {
            Ok(db
                .opt(&format!("SELECT {META_COLS} FROM documents WHERE doc_id = $1"), &[&id.to_string()])?
                .map(|r| meta_at(&r, 0))
                .transpose()?
                .and_then(|(_, m)| m))
        })
    }

    fn load_doc(&self, id: &DocId) -> Result<Option<Automerge>> {
        let doc = self.read(|db| db.load(&id.to_string()))?;
        Ok(doc.filter(|d| !d.get_heads().is_empty()))
    }

    fn urgent_since(&self, cursor: u64) -> Result<Vec<DocMeta>> {
        self.read(|db| {
            let rows = db.query(
                &format!("SELECT {META_COLS} FROM documents WHERE urgent AND seq > $1 ORDER BY seq"),
                &[&(cursor as i64)],
            )?;
            rows.iter().map(|r| Ok(meta_at(r, 0)?.1)).filter_map(Result::transpose).collect()
        })
    }

    fn feed_end(&self) -> Result<u64> {
        self.read_once(|db| {
            Ok(db.one("SELECT value FROM meta WHERE key = 'feed_seq'", &[])?.try_get::<_, i64>(0)? as u64)
        })
    }

    fn sync_tx(&self, f: &mut dyn FnMut(&mut dyn SyncTx) -> Result<SyncResponse>) -> Result<SyncResponse> {
        let mut stored = Vec::new();
        let resp = self.write(|db| {
            let mut t = Tx { db, cache: &self.cache, stored: Vec::new() };
            let resp = f(&mut t)?;
            stored = t.stored;
            Ok(resp)
        })?;
        let mut cache = lock(&self.cache);
        for (id, seq, doc) in stored {
            cache.insert(id, seq, doc);
        }
        Ok(resp)
    }

    fn sync_read(&self, f: &mut dyn FnMut(&mut dyn SyncTx) -> Result<SyncResponse>) -> Result<Option<SyncResponse>> {
        let answer = self.tx(IsolationLevel::RepeatableRead, true, |db| {
            let mut t = Tx { db, cache: &self.cache, stored: Vec::new() };
            let mut snapshot = ReadOnly::new(&mut t);
            let resp = f(&mut snapshot)?;
            Ok((!snapshot.wrote).then_some((resp, snapshot.touch)))
        })?;
        let Some((resp, touch)) = answer else { return Ok(None) };
        if let Some(touch) = touch {
            self.touches.record(touch);
        }
        if let Err(e) = self.write_touches(false) {
            tracing::warn!(error = %e, "last sync times could not be written yet");
        }
        Ok(Some(resp))
    }

    fn reproject(&self) -> Result<usize> {
        self.write(|db| {
            let version: i64 = db.one("SELECT value FROM meta WHERE key = 'projection_version'", &[])?.try_get(0)?;
            let facts: i64 = db.one("SELECT value FROM meta WHERE key = 'facts_version'", &[])?.try_get(0)?;
            if version == i64::from(PROJECTION_VERSION) && facts == i64::from(FACTS_VERSION) {
                return Ok(0);
            }
            let ids: Vec<String> = db
                .query("SELECT doc_id FROM documents ORDER BY seq", &[])?
                .iter()
                .map(|r| r.try_get(0))
                .collect::<std::result::Result<_, _>>()?;
            let mut changed = 0;
            for key in &ids {
                let Ok(id) = DocId::parse(key) else { continue };
                let Some(doc) = db.load(key)? else { continue };
                let p = Projection::of(&id, &doc);
                db.write_facts(&id, &doc, p.tier)?;
                let n = db.exec(
                    "UPDATE documents SET kind = $2, region = $3, district = $4, tier = $5, mentor_id = $6, owner_user = $7, urgent = $8
                     WHERE doc_id = $1 AND (kind IS DISTINCT FROM $2 OR region IS DISTINCT FROM $3 OR district IS DISTINCT FROM $4
                       OR tier IS DISTINCT FROM $5 OR mentor_id IS DISTINCT FROM $6 OR owner_user IS DISTINCT FROM $7
                       OR urgent IS DISTINCT FROM $8)",
                    &[key, &p.kind.prefix(), &p.region, &p.district, &p.tier.code(), &p.mentor_id, &p.owner_user, &p.urgent],
                )?;
                if n > 0 {
                    let seq = db.next_seq()?;
                    db.exec("UPDATE documents SET seq = $2 WHERE doc_id = $1", &[key, &seq])?;
                    changed += 1;
                }
            }
            db.exec("UPDATE meta SET value = $1 WHERE key = 'projection_version'", &[&i64::from(PROJECTION_VERSION)])?;
            db.exec("UPDATE meta SET value = $1 WHERE key = 'facts_version'", &[&i64::from(FACTS_VERSION)])?;
            Ok(changed)
        })
    }

    fn held_documents(&self) -> Result<Vec<HeldDocument>> {
        self.read(|db| {
            let mut out = Vec::new();
            for r in db.query(
                "SELECT doc_id, device_id, user_id, at, reason FROM held_documents ORDER BY at, doc_id, device_id",
                &[],
            )? {
                let doc_id: String = r.try_get(0)?;
                let Ok(doc_id) = DocId::parse(&doc_id) else { continue };
                out.push(HeldDocument {
                    doc_id,
                    device_id: r.try_get(1)?,
                    user_id: r.try_get(2)?,
                    at: r.try_get(3)?,
                    reason: r.try_get(4)?,
                });
            }
            Ok(out)
        })
    }

    fn release_held(&self, doc_id: &DocId, device_id: &str) -> Result<()> {
        let key = doc_id.to_string();
        let mut stored = None;
        self.write(|db| {
            let snapshot: Vec<u8> = db
                .opt("SELECT snapshot FROM held_documents WHERE doc_id = $1 AND device_id = $2", &[&key, &device_id])?
                .ok_or_else(|| ServerError::NotFound("no such held document".into()))?
                .try_get(0)?;
            let mut held = Automerge::load(&snapshot).map_err(corrupt)?;
            let (doc, before) = match db.load(&key)? {
                Some(mut doc) => {
                    let before = doc.get_heads();
                    doc.merge(&mut held).map_err(corrupt)?;
                    (doc, before)
                }
                None => (held, Vec::new()),
            };
            let seq = db.put_document(doc_id, &doc, &before, &Projection::of(doc_id, &doc), None)?;
            db.exec("DELETE FROM held_documents WHERE doc_id = $1 AND device_id = $2", &[&key, &device_id])?;
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
        self.write(|db| {
            stored.clear();
            for (id, bytes) in docs {
                let key = id.to_string();
                let Some((doc, before)) = super::merge_saved(db.load(&key)?, bytes)? else { continue };
                let saved = before.is_empty().then_some(bytes.as_slice());
                let seq = db.put_document(id, &doc, &before, &Projection::of(id, &doc), saved)?;
                stored.push((id.clone(), seq as u64, doc));
            }
            db.insert_audit(audit)
        })?;
        let changed = stored.len();
        let mut cache = lock(&self.cache);
        for (id, seq, doc) in stored {
            cache.insert(id, seq, doc);
        }
        Ok(changed)
    }

    fn blob_docs(&self, hash: &str) -> Result<Vec<DocId>> {
        self.read(|db| {
            Ok(db
                .query("SELECT doc_id FROM doc_blobs WHERE hash = $1 ORDER BY doc_id", &[&hash])?
                .iter()
                .filter_map(|r| DocId::parse(r.try_get::<_, &str>(0).ok()?).ok())
                .collect())
        })
    }

    fn blob_status(&self, hash: &str) -> Result<Option<super::BlobStatus>> {
        self.read(|db| {
            let Some(r) = db.opt("SELECT media_type, size, received, complete FROM blobs WHERE hash = $1", &[&hash])?
            else {
                return Ok(None);
            };
            Ok(Some(super::BlobStatus {
                media_type: r.try_get(0)?,
                size: r.try_get::<_, i64>(1)? as u64,
                received: r.try_get::<_, i64>(2)? as u64,
                complete: r.try_get(3)?,
            }))
        })
    }

    fn blob_append(&self, hash: &str, media_type: &str, size: u64, offset: u64, data: &[u8], now: i64) -> Result<u64> {
        self.write(|db| {
            let received = match db.opt("SELECT received FROM blobs WHERE hash = $1 FOR UPDATE", &[&hash])? {
                Some(r) => r.try_get::<_, i64>(0)? as u64,
                None if offset == 0 => {
                    db.exec(
                        "INSERT INTO blobs(hash, media_type, size, received, complete, created_at)
                         VALUES ($1, $2, $3, 0, false, $4) ON CONFLICT (hash) DO NOTHING",
                        &[&hash, &media_type, &(size as i64), &now],
                    )?;
                    0
                }
                None => {
                    return Err(ServerError::Conflict("expected offset 0: nothing of this file was received".into()));
                }
            };
            if offset != received {
                return Err(ServerError::Conflict(format!("expected offset {received}: the bytes received so far")));
            }
            db.exec("INSERT INTO blob_chunks(hash, pos, data) VALUES ($1, $2, $3)", &[&hash, &(offset as i64), &data])?;
            let now_received = received + data.len() as u64;
            db.exec("UPDATE blobs SET received = $2 WHERE hash = $1", &[&hash, &(now_received as i64)])?;
            Ok(now_received)
        })
    }

    fn blob_read(&self, hash: &str) -> Result<Option<Vec<u8>>> {
        self.read(|db| {
            if db.opt("SELECT 1 FROM blobs WHERE hash = $1", &[&hash])?.is_none() {
                return Ok(None);
            }
            let mut out = Vec::new();
            for r in db.query("SELECT data FROM blob_chunks WHERE hash = $1 ORDER BY pos", &[&hash])? {
                out.extend(r.try_get::<_, &[u8]>(0)?);
            }
            Ok(Some(out))
        })
    }

    fn blob_finish(&self, hash: &str, ok: bool) -> Result<()> {
        self.write(|db| {
            if ok {
                db.exec("UPDATE blobs SET complete = true WHERE hash = $1", &[&hash])?;
            } else {
                db.exec("DELETE FROM blob_chunks WHERE hash = $1", &[&hash])?;
                db.exec("DELETE FROM blobs WHERE hash = $1", &[&hash])?;
            }
            Ok(())
        })
    }

    fn blob_list(&self) -> Result<Vec<(String, i64)>> {
        self.read(|db| {
            db.query("SELECT hash, created_at FROM blobs ORDER BY hash", &[])?
                .iter()
                .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
                .collect()
        })
    }

    fn likely_duplicates(&self) -> Result<Vec<(DocId, DocId, bool)>> {
        self.read(|db| {
            Ok(db
                .query(super::LIKELY_DUPLICATES, &[])?
                .iter()
                .filter_map(|r| {
                    let (x, y, same): (String, String, i32) =
                        (r.try_get(0).ok()?, r.try_get(1).ok()?, r.try_get(2).ok()?);
                    Some((DocId::parse(&x).ok()?, DocId::parse(&y).ok()?, same != 0))
                })
                .collect())
        })
    }

    fn people(&self, kind: DocKind) -> Result<Vec<(DocId, Identity)>> {
        self.read(|db| {
            Ok(db
                .query("SELECT doc_id, iin, name_key, birth FROM doc_people WHERE kind = $1", &[&kind.prefix()])?
                .iter()
                .filter_map(|r| {
                    let row = (r.try_get(0).ok()?, r.try_get(1).ok()?, r.try_get(2).ok()?, r.try_get(3).ok()?);
                    super::typed_person(row)
                })
                .collect())
        })
    }

    fn set_region_credential(&self, region: &str, token_hash: &str, at: i64) -> Result<()> {
        self.write(|db| {
            db.exec(
                "INSERT INTO region_credentials(region, token_hash, created_at) VALUES ($1, $2, $3)
                 ON CONFLICT(region) DO UPDATE SET token_hash = excluded.token_hash, created_at = excluded.created_at",
                &[&region, &token_hash, &at],
            )?;
            Ok(())
        })
    }

    fn region_of_credential(&self, token_hash: &str) -> Result<Option<String>> {
        self.read(|db| {
            db.opt("SELECT region FROM region_credentials WHERE token_hash = $1", &[&token_hash])?
                .map(|r| Ok(r.try_get(0)?))
                .transpose()
        })
    }

    fn put_region_report(&self, region: &str, as_of: chrono::NaiveDate, received_at: i64, body: &str) -> Result<()> {
        self.write(|db| {
            db.exec(
                "INSERT INTO region_reports(region, as_of, received_at, body) VALUES ($1, $2, $3, $4)
                 ON CONFLICT(region, as_of) DO UPDATE SET received_at = $3, body = $4",
                &[&region, &as_of.to_string(), &received_at, &body],
            )?;
            Ok(())
        })
    }

    fn region_reports(&self) -> Result<Vec<StoredReport>> {
        self.read(|db| {
            let mut out = Vec::new();
            for r in db.query("SELECT region, as_of, received_at, body FROM region_reports", &[])? {
                let as_of: String = r.try_get(1)?;
                let Ok(as_of) = as_of.parse() else { continue };
                out.push(StoredReport {
                    region: r.try_get(0)?,
                    as_of,
                    received_at: r.try_get(2)?,
                    body: r.try_get(3)?,
                });
            }
            Ok(out)
        })
    }

    fn audit(&self, entries: &[AuditEntry]) -> Result<()> {
        if entries.is_empty() {
            return Ok(());
        }
        self.write(|db| db.insert_audit(entries))
    }

    fn audit_log(&self, limit: usize) -> Result<Vec<AuditEntry>> {
        self.read(|db| {
            db.query(&format!("SELECT {AUDIT_COLS} FROM audit ORDER BY id DESC LIMIT $1"), &[&(limit as i64)])?
                .iter()
                .map(|r| audit_at(r, 0))
                .collect()
        })
    }

    fn audit_verify(&self) -> Result<AuditCheck> {
        self.tx(IsolationLevel::RepeatableRead, true, |db| {
            let mut prev: Option<String> =
                db.opt("SELECT chain FROM audit_anchor WHERE id = 1", &[])?.map(|r| r.try_get(0)).transpose()?;
            let mut check = AuditCheck::default();
            for r in db.query(&format!("SELECT id, chain, {AUDIT_COLS} FROM audit ORDER BY id"), &[])? {
                let id: i64 = r.try_get(0)?;
                let chain: Option<String> = r.try_get(1)?;
                let entry = audit_at(&r, 2)?;
                let Some(chain) = chain else {
                    check.unchained += 1;
                    continue;
                };
                if super::audit_chain(prev.as_deref().unwrap_or(""), &entry) != chain {
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
        self.write(|db| {
            let Some(last) =
                db.opt("SELECT id, chain FROM audit WHERE at < $1 ORDER BY id DESC LIMIT 1", &[&before_ms])?
            else {
                return Ok(0);
            };
            let (last_id, last_chain): (i64, Option<String>) = (last.try_get(0)?, last.try_get(1)?);
            let mut n = 0;
            for r in
                db.query(&format!("SELECT chain, {AUDIT_COLS} FROM audit WHERE id <= $1 ORDER BY id"), &[&last_id])?
            {
                let chain: Option<String> = r.try_get(0)?;
                let e = audit_at(&r, 1)?;
                writeln!(out, "{}", serde_json::json!({ "entry": e, "chain": chain }))?;
                n += 1;
            }
            out.flush()?;
            // Written out: removed, keeping the chain's anchor.
            db.exec("SELECT set_config('qamqor.archiving', 'on', true)", &[])?;
            db.exec("DELETE FROM audit WHERE id <= $1", &[&last_id])?;
            db.exec("SELECT set_config('qamqor.archiving', 'off', true)", &[])?;
            if let Some(chain) = last_chain {
                db.exec(
                    "INSERT INTO audit_anchor(id, chain, up_to_id) VALUES (1, $1, $2)
                     ON CONFLICT(id) DO UPDATE SET chain = $1, up_to_id = $2",
                    &[&chain, &last_id],
                )?;
            }
            Ok(n)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NEEDS: &str = "QAMQOR_TEST_POSTGRES_URL names a PostgreSQL server (scripts/test.sh starts one)";

    fn database(name: &str) -> String {
        let base = std::env::var("QAMQOR_TEST_POSTGRES_URL").expect(NEEDS);
        let stamp = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_micros();
        create_database(&base, &format!("qamqor_migrate_{name}_{stamp}_{}", std::process::id())).unwrap()
    }

    /// Tables' columns, indexes, triggers and functions, as text.
    fn schema(s: &PostgresStorage) -> Vec<String> {
        s.read(|db| {
            let mut out = Vec::new();
            for sql in [
                "SELECT table_name || '.' || column_name || ' ' || data_type || ' ' || is_nullable || ' '
                        || coalesce(column_default, '')
                 FROM information_schema.columns WHERE table_schema = 'public' ORDER BY 1",
                "SELECT indexdef FROM pg_indexes WHERE schemaname = 'public' ORDER BY 1",
                "SELECT pg_get_triggerdef(oid) FROM pg_trigger WHERE NOT tgisinternal ORDER BY 1",
                "SELECT p.proname || ' ' || md5(p.prosrc) FROM pg_proc p
                 JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'public' ORDER BY 1",
            ] {
                for r in db.query(sql, &[])? {
                    out.push(r.try_get(0)?);
                }
            }
            Ok(out)
        })
        .unwrap()
    }

    #[test]
    #[ignore = "needs PostgreSQL: scripts/test.sh starts one and runs these"]
    fn every_older_database_migrates_to_the_fresh_schema_keeping_its_rows() {
        let fresh = PostgresStorage::open(&database("fresh"), 2).unwrap();
        let want = schema(&fresh);
        assert!(want.iter().any(|l| l.contains("audit_at")), "the latest migration ran");
        for start in 1..MIGRATIONS.len() {
            let url = database(&format!("from{start}"));
            let old = PostgresStorage::connect(&url, 2, None).unwrap();
            old.migrate(start).unwrap();
            old.write(|db| {
                db.exec(
                    "INSERT INTO users(id, name, role, region, districts, adoption_access)
                     VALUES ('aigerim', 'Aigerim', 'specialist', '75', '[\"751710000\"]', FALSE)",
                    &[],
                )
            })
            .unwrap();
            drop(old);
            let new = PostgresStorage::open(&url, 2).unwrap();
            assert_eq!(schema(&new), want, "from version {start}");
            assert_eq!(new.user("aigerim").unwrap().map(|u| u.districts), Some(vec!["751710000".to_owned()]));
        }
    }

    #[test]
    #[ignore = "needs PostgreSQL: scripts/test.sh starts one and runs these"]
    fn a_database_written_by_a_newer_server_is_refused_untouched() {
        let url = database("newer");
        let s = PostgresStorage::open(&url, 2).unwrap();
        let newer = MIGRATIONS.len() as i64 + 1;
        s.write(|db| db.exec("INSERT INTO schema_migrations(version) VALUES ($1)", &[&newer])).unwrap();
        drop(s);
        let e = PostgresStorage::open(&url, 2).unwrap_err();
        assert!(e.to_string().contains("newer Qamqor"), "{e}");
        let again = PostgresStorage::connect(&url, 2, None).unwrap();
        let version: i64 =
            again.read(|db| Ok(db.one("SELECT max(version) FROM schema_migrations", &[])?.try_get(0)?)).unwrap();
        assert_eq!(version, newer);
    }
}
