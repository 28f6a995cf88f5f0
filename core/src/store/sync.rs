//! The store's side of sync: the narrow [`SyncTx`] the session machine
//! (`crate::sync::session`) works through, and the sync status screens.
//! The protocol's decisions live in the session; this only reads and
//! writes rows.

use std::collections::HashMap;

use automerge::{ActorId, Automerge};
use rusqlite::{OptionalExtension, params};
use serde::{Deserialize, Serialize};

use super::{Store, WriteTx, index, load_cached, lock, now_ms};
use crate::docs::DocId;
use crate::error::{Error, Result};
use crate::sync::session::{PendingDoc, SyncStatus, SyncStore, SyncTx, WholeForm};

/// The sync state of one document as the phone sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocSyncState {
    /// The document.
    pub doc_id: DocId,
    /// Its status.
    pub status: SyncStatus,
    /// The server's reason for a refusal.
    pub reason: Option<String>,
    /// Whether the document holds an urgent item.
    pub urgent: bool,
}

/// Counts for a status screen.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncSummary {
    /// Documents with something to exchange.
    pub pending: u64,
    /// Of those, the urgent ones.
    pub pending_urgent: u64,
    /// Documents the server refused.
    pub failed: u64,
    /// The change-feed cursor.
    pub cursor: u64,
}

fn read_cursor(c: &rusqlite::Connection) -> Result<u64> {
    let v: Option<Vec<u8>> =
        c.query_row("SELECT value FROM meta WHERE key = 'sync_cursor'", [], |r| r.get(0)).optional()?;
    Ok(v.and_then(|b| b.try_into().ok()).map(u64::from_be_bytes).unwrap_or(0))
}

impl SyncStore for Store {
    fn transact<R>(&self, f: impl FnOnce(&mut dyn SyncTx) -> Result<R>) -> Result<R> {
        let mut wiped = false;
        let out = self.write(|w| {
            let r = f(w)?;
            wiped = w.wiped;
            Ok(r)
        })?;
        if wiped {
            // Rewrite the file so that freed pages keep nothing.
            if let Some(wr) = lock(&self.writer).as_ref() {
                wr.conn.execute_batch("VACUUM")?;
            }
        }
        Ok(out)
    }
}

impl SyncTx for WriteTx<'_> {
    fn actor(&self) -> ActorId {
        self.actor.clone()
    }

    fn cursor(&mut self) -> Result<u64> {
        read_cursor(&self.tx)
    }

    fn set_cursor(&mut self, cursor: u64) -> Result<()> {
        self.tx
            .prepare_cached(
                "INSERT INTO meta(key, value) VALUES ('sync_cursor', ?1) ON CONFLICT(key) DO UPDATE SET value = ?1",
            )?
            .execute([cursor.to_be_bytes().to_vec()])?;
        Ok(())
    }

    fn pending(&mut self) -> Result<Vec<PendingDoc>> {
        let mut st = self.tx.prepare_cached(
            "SELECT s.doc_id, s.state, s.status FROM sync_docs s WHERE s.pending = 1
             ORDER BY EXISTS (SELECT 1 FROM q_urgent u WHERE u.doc_id = s.doc_id) DESC, s.doc_id",
        )?;
        let rows =
            st.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, Vec<u8>>(1)?, r.get::<_, String>(2)?)))?;
        rows.map(|row| {
            let (id, state, status) = row?;
            Ok(PendingDoc { id: DocId::parse(&id)?, state, status: SyncStatus::parse(&status)? })
        })
        .collect()
    }

    fn sync_row(&mut self, id: &DocId) -> Result<Option<(SyncStatus, Vec<u8>)>> {
        let row: Option<(String, Vec<u8>)> = self
            .tx
            .prepare_cached("SELECT status, state FROM sync_docs WHERE doc_id = ?1")?
            .query_row([id.to_string()], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        row.map(|(s, b)| Ok((SyncStatus::parse(&s)?, b))).transpose()
    }

    fn document(&mut self, id: &DocId) -> Result<Option<&Automerge>> {
        self.doc(id)
    }

    fn update(&mut self, id: &DocId, f: &mut dyn FnMut(&mut Automerge) -> Result<()>) -> Result<bool> {
        match load_cached(&self.tx, self.cache, id, self.actor)? {
            Some(doc) => {
                let before = doc.get_heads();
                if let Err(e) = f(doc) {
                    // The cached copy may be half-changed: reload it next time.
                    self.cache.evict(id);
                    return Err(e);
                }
                if doc.get_heads() == before {
                    return Ok(false);
                }
                let bytes = doc.save_after(&before);
                self.append(id, &bytes)?;
                Ok(true)
            }
            None => {
                let mut doc = Automerge::new();
                f(&mut doc)?;
                if doc.get_heads().is_empty() {
                    return Ok(false);
                }
                self.adopt(id, doc)?;
                Ok(true)
            }
        }
    }

    fn insert_whole(&mut self, id: &DocId, saved: &[u8], doc: Automerge) -> Result<()> {
        self.adopt_saved(id, doc, Some(saved))
    }

    fn whole_forms(&mut self, ids: &[DocId]) -> Result<HashMap<DocId, WholeForm>> {
        let mut stored = Vec::new();
        for id in ids {
            if let Some(form) = super::stored_form_at(&self.tx, id)? {
                stored.push((id.clone(), form));
            }
        }
        // Loaded only for their heads (and saved again unless compact):
        // not kept, so that a large batch does not evict the cache.
        let forms = crate::par::map(stored, |(id, form)| -> Result<(DocId, WholeForm)> {
            let super::StoredForm { bytes, compact, version, heads } = form;
            if compact && !heads.is_empty() {
                // One snapshot with its heads recorded: sent as stored.
                return Ok((id, WholeForm { heads, saved: bytes, version }));
            }
            let doc = Automerge::load(&bytes).map_err(|e| Error::Corrupt(e.to_string()))?;
            let saved = if compact { bytes } else { doc.save() };
            Ok((id, WholeForm { heads: doc.get_heads(), saved, version }))
        });
        forms.into_iter().collect()
    }

    fn version(&mut self, id: &DocId) -> Result<Option<i64>> {
        Ok(self
            .tx
            .prepare_cached("SELECT version FROM documents WHERE doc_id = ?1")?
            .query_row([id.to_string()], |r| r.get(0))
            .optional()?)
    }

    fn set_status(&mut self, id: &DocId, status: SyncStatus, state: Option<&[u8]>, reason: Option<&str>) -> Result<()> {
        let pending = matches!(status, SyncStatus::Pending | SyncStatus::Withdrawn);
        self.tx
            .prepare_cached(
                "INSERT INTO sync_docs(doc_id, state, pending, status, reason, updated_at)
                 VALUES (?1, coalesce(?2, x''), ?3, ?4, ?5, ?6)
                 ON CONFLICT(doc_id) DO UPDATE SET state = coalesce(?2, state), pending = ?3, status = ?4,
                 reason = ?5, updated_at = ?6",
            )?
            .execute(params![id.to_string(), state, pending, status.code(), reason, now_ms()])?;
        Ok(())
    }

    fn remove(&mut self, id: &DocId) -> Result<()> {
        let key = id.to_string();
        // Its attachments go with it: those fetched, and those this phone
        // sent (a file not yet sent stays queued: nothing recorded is lost).
        let hashes = load_cached(&self.tx, self.cache, id, self.actor)?
            .map(|d| crate::docs::attachments::hashes(id, d))
            .unwrap_or_default();
        for h in hashes {
            self.tx
                .prepare_cached(
                    "DELETE FROM blobs WHERE hash = ?1 AND (origin = 'fetched'
                       OR EXISTS (SELECT 1 FROM blob_uploads WHERE hash = ?1 AND state = 'sent'))",
                )?
                .execute([&h])?;
            self.tx.prepare_cached("DELETE FROM blob_uploads WHERE hash = ?1 AND state = 'sent'")?.execute([&h])?;
        }
        self.tx.execute("DELETE FROM changes WHERE doc_id = ?1", [&key])?;
        self.tx.execute("DELETE FROM documents WHERE doc_id = ?1", [&key])?;
        index::clear_doc(&self.tx, &key)?;
        self.cache.evict(id);
        self.touched.retain(|t| t != id);
        self.tx
            .prepare_cached(
                "INSERT INTO sync_docs(doc_id, state, pending, status, updated_at) VALUES (?1, x'', 0, 'removed', ?2)
                 ON CONFLICT(doc_id) DO UPDATE SET state = x'', pending = 0, status = 'removed', reason = NULL,
                 updated_at = ?2",
            )?
            .execute(params![key, now_ms()])?;
        Ok(())
    }

    fn removed(&mut self) -> Result<Vec<String>> {
        let mut st = self.tx.prepare_cached("SELECT doc_id FROM sync_docs WHERE status = 'removed' ORDER BY doc_id")?;
        Ok(st.query_map([], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?)
    }

    fn forget(&mut self, id: &str) -> Result<()> {
        self.tx.execute("DELETE FROM sync_docs WHERE doc_id = ?1 AND status = 'removed'", [id])?;
        Ok(())
    }

    fn wipe(&mut self) -> Result<()> {
        for t in ["changes", "documents", "sync_docs", "read_log"] {
            self.tx.execute(&format!("DELETE FROM {t}"), [])?;
        }
        self.tx.execute("DELETE FROM meta WHERE key NOT IN ('actor', 'derived_version')", [])?;
        index::clear_all(&self.tx)?;
        self.cache.clear();
        self.touched.clear();
        self.wiped = true;
        Ok(())
    }

    fn reads(&mut self, limit: usize) -> Result<Vec<crate::sync::wire::ReadRecord>> {
        let mut st =
            self.tx.prepare_cached("SELECT read_id, doc_id, at FROM read_log ORDER BY at, read_id LIMIT ?1")?;
        let rows = st.query_map([limit as i64], |r| {
            Ok(crate::sync::wire::ReadRecord { id: r.get(0)?, doc: r.get(1)?, at: r.get(2)? })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn forget_reads(&mut self, ids: &[String]) -> Result<()> {
        let mut st = self.tx.prepare_cached("DELETE FROM read_log WHERE read_id = ?1")?;
        for id in ids {
            st.execute([id])?;
        }
        Ok(())
    }

    fn wipe_owed(&mut self) -> Result<bool> {
        Ok(self.tx.query_row("SELECT EXISTS (SELECT 1 FROM meta WHERE key = 'wipe_owed')", [], |r| r.get(0))?)
    }

    fn set_wipe_owed(&mut self, owed: bool) -> Result<()> {
        if owed {
            self.tx.execute("INSERT OR REPLACE INTO meta(key, value) VALUES ('wipe_owed', x'01')", [])?;
        } else {
            self.tx.execute("DELETE FROM meta WHERE key = 'wipe_owed'", [])?;
        }
        Ok(())
    }
}

impl Store {
    /// The change-feed cursor received from the server.
    pub fn sync_cursor(&self) -> Result<u64> {
        self.read(read_cursor)
    }

    /// Deletes every document and all sync state, as a revoked device must.
    /// The actor id is kept: this installation's past changes stay its own.
    pub fn wipe(&self) -> Result<()> {
        self.transact(|tx| tx.wipe())
    }

    /// Discards this phone's copy of a document the server refused (the
    /// user gives up a change that cannot be accepted): the document leaves
    /// the phone, and the next sync brings back the server's copy if this
    /// user may read it (asking for it from nothing). Only refused documents can be discarded.
    pub fn discard_refused(&self, id: &DocId) -> Result<()> {
        self.write(|w| {
            let status = w.sync_row(id)?.map(|(s, _)| s);
            if !status.is_some_and(SyncStatus::is_refusal) {
                return Err(crate::error::Error::Rule(
                    "only a record the server refused can be discarded; this one is kept".into(),
                ));
            }
            w.tx.execute("DELETE FROM changes WHERE doc_id = ?1", [id.to_string()])?;
            w.tx.execute("DELETE FROM documents WHERE doc_id = ?1", [id.to_string()])?;
            index::clear_doc(&w.tx, &id.to_string())?;
            w.cache.evict(id);
            w.touched.retain(|t| t != id);
            // Start the exchange afresh, from nothing: the server sees this
            // phone holds nothing of it and sends its copy.
            w.set_status(id, SyncStatus::Pending, Some(&[]), None)
        })
    }

    /// Per-document sync state, urgent and pending first. Documents removed
    /// from this phone are not listed.
    pub fn sync_states(&self) -> Result<Vec<DocSyncState>> {
        self.read(|c| {
            let mut st = c.prepare_cached(
                "SELECT s.doc_id, s.status, s.reason, EXISTS (SELECT 1 FROM q_urgent u WHERE u.doc_id = s.doc_id) AS urgent
                 FROM sync_docs s WHERE s.status <> 'removed' ORDER BY urgent DESC, s.pending DESC, s.doc_id",
            )?;
            let rows = st.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get(2)?, r.get(3)?)))?;
            rows.map(|row| {
                let (id, status, reason, urgent) = row?;
                Ok(DocSyncState { doc_id: DocId::parse(&id)?, status: SyncStatus::parse(&status)?, reason, urgent })
            })
            .collect()
        })
    }

    /// Counts for the sync status screen.
    pub fn sync_summary(&self) -> Result<SyncSummary> {
        let cursor = self.sync_cursor()?;
        self.read(|c| {
            let (pending, urgent, failed): (i64, i64, i64) = c.query_row(
                "SELECT coalesce(sum(pending), 0),
                        coalesce(sum(pending AND EXISTS (SELECT 1 FROM q_urgent u WHERE u.doc_id = s.doc_id)), 0),
                        coalesce(sum(status IN ('denied', 'read_only', 'foreign_actor', 'invalid', 'too_large')), 0)
                 FROM sync_docs s",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )?;
            Ok(SyncSummary { pending: pending as u64, pending_urgent: urgent as u64, failed: failed as u64, cursor })
        })
    }
}
