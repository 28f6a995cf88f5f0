//! The phone's side of sync: which documents to offer, and applying what
//! the server sent, each round in one transaction.

use automerge::Automerge;
use automerge::sync::State;
use rusqlite::{OptionalExtension, params};
use serde::{Deserialize, Serialize};

use super::{Store, index, lock, now_ms};
use crate::docs::DocId;
use crate::error::{Error, Result};
use crate::sync::engine::{self, WritePolicy};
use crate::sync::wire::{DocMessage, DocResult, DocStatus, Limits, PROTOCOL_VERSION, SyncRequest, SyncResponse};

/// The sync state of one document as the phone sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocSyncState {
    /// The document.
    pub doc_id: DocId,
    /// `pending` (changes to exchange), `synced`, or a refusal from the
    /// server (`denied`, `read_only`, `foreign_actor`, `invalid`).
    pub status: String,
    /// The server's reason for a refusal.
    pub reason: Option<String>,
    /// Whether the document holds an urgent item.
    pub urgent: bool,
}

/// What one applied response did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncApplied {
    /// Documents that received new changes.
    pub changed: Vec<DocId>,
    /// Documents deleted because access was withdrawn.
    pub removed: Vec<DocId>,
    /// Documents the server refused, with its reasons.
    pub refused: Vec<DocResult>,
    /// The store was wiped because the device was revoked.
    pub wiped: bool,
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

fn status_code(s: DocStatus) -> &'static str {
    match s {
        DocStatus::Ok => "synced",
        DocStatus::Denied => "denied",
        DocStatus::ReadOnly => "read_only",
        DocStatus::ForeignActor => "foreign_actor",
        DocStatus::Invalid => "invalid",
    }
}

impl Store {
    /// Starts a sync session: forgets in-flight exchanges of an earlier,
    /// interrupted session (they restart from the persisted shared heads).
    pub fn begin_sync(&self) {
        lock(&self.sync_states).clear();
    }

    /// The change-feed cursor received from the server.
    pub fn sync_cursor(&self) -> Result<u64> {
        self.read(|c| {
            let v: Option<Vec<u8>> =
                c.query_row("SELECT value FROM meta WHERE key = 'sync_cursor'", [], |r| r.get(0)).optional()?;
            Ok(v.and_then(|b| b.try_into().ok()).map(u64::from_be_bytes).unwrap_or(0))
        })
    }

    /// The next request to the server: a message for each document with
    /// something to exchange, urgent documents first, at most
    /// `limits.max_docs`. Documents with nothing to say are marked synced.
    pub fn sync_request(&self, limits: &Limits) -> Result<SyncRequest> {
        let cursor = self.sync_cursor()?;
        let mut states = lock(&self.sync_states);
        let docs = self.write(|w| {
            let rows: Vec<(String, Vec<u8>)> = {
                let mut st = w.tx.prepare_cached(
                    "SELECT s.doc_id, s.state FROM sync_docs s WHERE s.pending = 1
                     ORDER BY EXISTS (SELECT 1 FROM q_urgent u WHERE u.doc_id = s.doc_id) DESC, s.doc_id",
                )?;
                st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<rusqlite::Result<_>>()?
            };
            let mut out = Vec::new();
            for (key, blob) in rows {
                if out.len() >= limits.max_docs {
                    break;
                }
                let id = DocId::parse(&key)?;
                let state = states.entry(id.clone()).or_insert_with(|| engine::load_state(&blob));
                let empty = Automerge::new();
                let doc = match w.doc(&id)? {
                    Some(d) => d,
                    None => &empty,
                };
                match engine::generate(doc, state) {
                    Some(msg) => out.push(DocMessage { id: key, msg }),
                    None if !state.in_flight => {
                        w.tx.prepare_cached("UPDATE sync_docs SET pending = 0, status = 'synced', state = ?2, updated_at = ?3 WHERE doc_id = ?1")?
                            .execute(params![key, engine::save_state(state), now_ms()])?;
                    }
                    None => {}
                }
            }
            Ok(out)
        })?;
        Ok(SyncRequest { v: PROTOCOL_VERSION, cursor, docs })
    }

    /// Applies the server's response in one transaction: merges the
    /// changes, records refusals, deletes withdrawn documents, advances the
    /// cursor, and wipes the store if the device was revoked.
    pub fn sync_apply(&self, resp: &SyncResponse) -> Result<SyncApplied> {
        if resp.wipe {
            self.wipe()?;
            return Ok(SyncApplied { wiped: true, ..SyncApplied::default() });
        }
        let mut states = lock(&self.sync_states);
        let applied = self.write(|w| {
            let mut applied = SyncApplied::default();
            for m in &resp.docs {
                let Ok(id) = DocId::parse(&m.id) else {
                    tracing::warn!("the server sent a message for an unknown kind of document; skipped");
                    continue;
                };
                if !states.contains_key(&id) {
                    let blob: Option<Vec<u8>> =
                        w.tx.query_row("SELECT state FROM sync_docs WHERE doc_id = ?1", [&m.id], |r| r.get(0)).optional()?;
                    states.insert(id.clone(), blob.map_or_else(State::new, |b| engine::load_state(&b)));
                }
                let state = states.get_mut(&id).ok_or_else(|| Error::Corrupt("sync state vanished".into()))?;
                let damaged = |_| Error::Corrupt("the server sent a damaged sync message".into());
                let changed = match super::load_cached(&w.tx, w.cache, &id, w.actor)? {
                    Some(doc) => {
                        let before = doc.get_heads();
                        let received = engine::receive(doc, state, &m.msg, &WritePolicy::Any).map_err(damaged)?;
                        let bytes = doc.save_after(&before);
                        w.append(&id, &bytes)?;
                        !received.new_changes.is_empty()
                    }
                    None => {
                        let mut doc = Automerge::new();
                        let received = engine::receive(&mut doc, state, &m.msg, &WritePolicy::Any).map_err(damaged)?;
                        let new = !received.new_changes.is_empty();
                        if new {
                            w.adopt(&id, doc)?;
                        }
                        new
                    }
                };
                if changed {
                    applied.changed.push(id.clone());
                }
                // A reply may be due.
                w.tx.prepare_cached(
                    "INSERT INTO sync_docs(doc_id, state, pending, status, updated_at) VALUES (?1, ?2, 1, 'pending', ?3)
                     ON CONFLICT(doc_id) DO UPDATE SET state = ?2, pending = 1, status = 'pending', reason = NULL, updated_at = ?3",
                )?
                .execute(params![m.id, engine::save_state(state), now_ms()])?;
            }
            for r in &resp.results {
                if r.status == DocStatus::Ok {
                    continue;
                }
                w.tx.execute(
                    "UPDATE sync_docs SET pending = 0, status = ?2, reason = ?3, updated_at = ?4 WHERE doc_id = ?1",
                    params![r.id, status_code(r.status), r.reason, now_ms()],
                )?;
                if let Ok(id) = DocId::parse(&r.id) {
                    states.remove(&id);
                }
                applied.refused.push(r.clone());
            }
            for key in &resp.removed {
                let Ok(id) = DocId::parse(key) else { continue };
                w.tx.execute("DELETE FROM documents WHERE doc_id = ?1", [key])?;
                w.tx.execute("DELETE FROM changes WHERE doc_id = ?1", [key])?;
                w.tx.execute("DELETE FROM sync_docs WHERE doc_id = ?1", [key])?;
                index::clear_doc(&w.tx, key)?;
                w.cache.evict(&id);
                w.touched.retain(|t| t != &id);
                states.remove(&id);
                applied.removed.push(id);
            }
            w.tx.execute(
                "INSERT INTO meta(key, value) VALUES ('sync_cursor', ?1) ON CONFLICT(key) DO UPDATE SET value = ?1",
                [resp.cursor.to_be_bytes().to_vec()],
            )?;
            Ok(applied)
        })?;
        Ok(applied)
    }

    /// Deletes every document and all sync state, as a revoked device must.
    /// The actor id is kept: this installation's past changes stay its own.
    pub fn wipe(&self) -> Result<()> {
        lock(&self.sync_states).clear();
        self.write(|w| {
            for t in ["changes", "documents", "sync_docs"] {
                w.tx.execute(&format!("DELETE FROM {t}"), [])?;
            }
            w.tx.execute("DELETE FROM meta WHERE key <> 'actor'", [])?;
            index::clear_all(&w.tx)?;
            w.cache.clear();
            Ok(())
        })?;
        // Rewrite the file so that freed pages keep nothing.
        let guard = lock(&self.writer);
        if let Some(wr) = guard.as_ref() {
            wr.conn.execute_batch("VACUUM")?;
        }
        Ok(())
    }

    /// Per-document sync state, urgent and pending first.
    pub fn sync_states(&self) -> Result<Vec<DocSyncState>> {
        self.read(|c| {
            let mut st = c.prepare_cached(
                "SELECT s.doc_id, s.status, s.reason, EXISTS (SELECT 1 FROM q_urgent u WHERE u.doc_id = s.doc_id) AS urgent
                 FROM sync_docs s ORDER BY urgent DESC, s.pending DESC, s.doc_id",
            )?;
            let rows = st.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?;
            rows.map(|row| {
                let (id, status, reason, urgent) = row?;
                Ok(DocSyncState { doc_id: DocId::parse(&id)?, status, reason, urgent })
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
                        coalesce(sum(status NOT IN ('pending', 'synced')), 0)
                 FROM sync_docs s",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )?;
            Ok(SyncSummary { pending: pending as u64, pending_urgent: urgent as u64, failed: failed as u64, cursor })
        })
    }
}
