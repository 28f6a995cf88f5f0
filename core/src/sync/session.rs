//! The phone's half of the sync protocol as a state machine without I/O:
//! what to send next, how to apply a response, when a session is done.
//!
//! The machine works on a [`SyncStore`] (the phone's store implements it)
//! and never touches the network: the reqwest client
//! ([`super::client::sync`]) and the deterministic simulation both drive
//! it, so the loop that ships is the loop that is tested.
//!
//! ```text
//! let mut session = Session::new(limits);
//! while let Some(request) = session.next_request(&store)? {
//!     let response = transport(request)?;        // HTTP, or a simulated network
//!     session.apply(&store, &response)?;
//! }
//! ```

use std::collections::{HashMap, HashSet};

use automerge::sync::State;
use automerge::{ActorId, Automerge};
use serde::{Deserialize, Serialize};

use super::engine::{self, WritePolicy};
use super::wire::{DocMessage, DocResult, DocStatus, Limits, PROTOCOL_VERSION, SyncRequest, SyncResponse};
use crate::docs::DocId;
use crate::error::{Error, Result};

/// The sync status of one document on the phone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SyncStatus {
    /// Changes to exchange with the server.
    Pending,
    /// The server holds exactly this document.
    Synced,
    /// The server refused: this user may not access the document.
    Denied,
    /// The server refused changes: this user may read but not change it.
    ReadOnly,
    /// The server refused changes made by another device's actor.
    ForeignActor,
    /// The server could not read the message or the document.
    Invalid,
    /// The document is larger than a sync message may carry.
    TooLarge,
    /// Access was withdrawn while this phone held unsynced changes: the
    /// document stays (read-only) until the server has stored them.
    Withdrawn,
    /// Deleted after its access was withdrawn; the server is still to be
    /// told so (no document is held).
    Removed,
}

impl SyncStatus {
    /// The stored code.
    pub fn code(self) -> &'static str {
        match self {
            SyncStatus::Pending => "pending",
            SyncStatus::Synced => "synced",
            SyncStatus::Denied => "denied",
            SyncStatus::ReadOnly => "read_only",
            SyncStatus::ForeignActor => "foreign_actor",
            SyncStatus::Invalid => "invalid",
            SyncStatus::TooLarge => "too_large",
            SyncStatus::Withdrawn => "withdrawn",
            SyncStatus::Removed => "removed",
        }
    }

    /// Parses a stored code; anything else is a damaged store.
    pub fn parse(code: &str) -> Result<Self> {
        use SyncStatus::*;
        [Pending, Synced, Denied, ReadOnly, ForeignActor, Invalid, TooLarge, Withdrawn, Removed]
            .into_iter()
            .find(|s| s.code() == code)
            .ok_or_else(|| Error::Corrupt("a document's sync status is not one this version knows".into()))
    }

    /// Whether this status is a refusal by the server.
    pub fn is_refusal(self) -> bool {
        matches!(
            self,
            SyncStatus::Denied
                | SyncStatus::ReadOnly
                | SyncStatus::ForeignActor
                | SyncStatus::Invalid
                | SyncStatus::TooLarge
        )
    }

    fn of_refusal(s: DocStatus) -> Self {
        match s {
            DocStatus::Ok => SyncStatus::Synced,
            DocStatus::Denied => SyncStatus::Denied,
            DocStatus::ReadOnly => SyncStatus::ReadOnly,
            DocStatus::ForeignActor => SyncStatus::ForeignActor,
            DocStatus::Invalid => SyncStatus::Invalid,
            DocStatus::TooLarge => SyncStatus::TooLarge,
            DocStatus::Withdrawn => SyncStatus::Removed,
        }
    }
}

/// A document with something to exchange.
#[derive(Debug, Clone)]
pub struct PendingDoc {
    /// The document.
    pub id: DocId,
    /// Its persisted sync state (empty: never synced).
    pub state: Vec<u8>,
    /// Its status (`Pending` or `Withdrawn`).
    pub status: SyncStatus,
}

/// The store the session works on. Each call of [`SyncStore::transact`] is
/// one transaction of the store, committed only if the closure succeeds.
pub trait SyncStore {
    /// Runs `f` in one transaction.
    fn transact<R>(&self, f: impl FnOnce(&mut dyn SyncTx) -> Result<R>) -> Result<R>;
}

/// The operations of one store transaction the session needs.
pub trait SyncTx {
    /// This installation's actor.
    fn actor(&self) -> ActorId;
    /// The change-feed cursor received so far.
    fn cursor(&mut self) -> Result<u64>;
    /// Stores the change-feed cursor.
    fn set_cursor(&mut self, cursor: u64) -> Result<()>;
    /// Documents with something to exchange (`Pending` or `Withdrawn`),
    /// urgent first.
    fn pending(&mut self) -> Result<Vec<PendingDoc>>;
    /// A document's status and persisted sync state, if it has a sync row.
    fn sync_row(&mut self, id: &DocId) -> Result<Option<(SyncStatus, Vec<u8>)>>;
    /// The document, if held.
    fn document(&mut self, id: &DocId) -> Result<Option<&Automerge>>;
    /// Runs `f` on the document (an empty one if not held) and stores what
    /// it changed; a document not held is stored only if `f` gave it
    /// changes. Returns whether anything changed.
    fn update(&mut self, id: &DocId, f: &mut dyn FnMut(&mut Automerge) -> Result<()>) -> Result<bool>;
    /// Stores a document not held yet, `doc` loaded from `saved` (its saved
    /// form as received, kept as it is rather than saved again). A
    /// document of another kind than its id says is refused.
    fn insert_whole(&mut self, id: &DocId, saved: &[u8], doc: Automerge) -> Result<()>;
    /// The whole form of each held document among `ids`, to send whole (a
    /// document stored as one compact snapshot is sent as stored), loaded
    /// on every core.
    fn whole_forms(&mut self, ids: &[DocId]) -> Result<HashMap<DocId, WholeForm>>;
    /// A held document's local version (raised by every change stored).
    fn version(&mut self, id: &DocId) -> Result<Option<i64>>;
    /// Records a document's status, persisted sync state (`None`: keep)
    /// and the server's reason.
    fn set_status(&mut self, id: &DocId, status: SyncStatus, state: Option<&[u8]>, reason: Option<&str>) -> Result<()>;
    /// Deletes a document (if held) with its derived rows; its sync row
    /// becomes `Removed` until the server has the acknowledgement.
    fn remove(&mut self, id: &DocId) -> Result<()>;
    /// Ids of removed documents the server has not yet been told of.
    fn removed(&mut self) -> Result<Vec<String>>;
    /// Forgets a `Removed` row (the server has the acknowledgement).
    fn forget(&mut self, id: &str) -> Result<()>;
    /// Deletes every document and all sync state (the actor stays).
    fn wipe(&mut self) -> Result<()>;
    /// Whether a wipe is still to be acknowledged to the server.
    fn wipe_owed(&mut self) -> Result<bool>;
    /// Records whether a wipe is still to be acknowledged.
    fn set_wipe_owed(&mut self, owed: bool) -> Result<()>;
    /// Files opened on this phone not yet in the server's audit, oldest
    /// first, at most `limit`.
    fn reads(&mut self, limit: usize) -> Result<Vec<super::wire::ReadRecord>>;
    /// Forgets read records the server has received.
    fn forget_reads(&mut self, ids: &[String]) -> Result<()>;
}

/// Whether a pending document has never been exchanged (it goes whole).
fn is_fresh(p: &PendingDoc, states: &HashMap<DocId, State>) -> bool {
    p.state.is_empty() && !states.contains_key(&p.id) && p.status == SyncStatus::Pending
}

/// A document as sent whole.
#[derive(Debug, Clone)]
pub struct WholeForm {
    /// Its heads.
    pub heads: Vec<automerge::ChangeHash>,
    /// Its saved form.
    pub saved: Vec<u8>,
    /// The local version it was read at ([`SyncTx::version`]).
    pub version: i64,
}

/// What a sync did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncReport {
    /// Request/response rounds.
    pub rounds: usize,
    /// Bytes sent (compressed bodies; counted by the transport).
    pub bytes_sent: usize,
    /// Bytes received (compressed bodies, as on the wire).
    pub bytes_received: usize,
    /// Document messages sent.
    pub messages_sent: usize,
    /// Documents that received changes.
    pub changed: Vec<DocId>,
    /// Documents deleted (access withdrawn).
    pub removed: Vec<DocId>,
    /// Documents the server refused.
    pub refused: Vec<DocResult>,
    /// The store was wiped (device revoked).
    pub wiped: bool,
    /// A renewed device token the server sent: keep it and use it from now
    /// on (the old one works until the new one is first used).
    pub renewal: Option<super::wire::Renewal>,
}

/// How far a sync has gone, in documents: for a progress bar during a
/// long sync (a new phone receiving its district).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncProgress {
    /// Rounds so far.
    pub rounds: usize,
    /// Documents sent so far.
    pub docs_sent: usize,
    /// Documents to send in this sync: those sent and those still waiting.
    pub docs_to_send: usize,
    /// Documents received so far (not counting answers to what was sent).
    pub docs_received: usize,
    /// Documents to receive in this sync, received and still to come: the
    /// server's one count of the documents the phone does not hold yet,
    /// raised if more arrive, exact once the server has nothing more.
    /// `None` until the server has counted.
    pub docs_to_receive: Option<usize>,
}

impl SyncProgress {
    /// The share done, 0.0 to 1.0 (documents sent and received together;
    /// 0.0 while nothing is known).
    pub fn fraction(&self) -> f64 {
        let total = self.docs_to_send + self.docs_to_receive.unwrap_or(self.docs_received);
        if total == 0 { 0.0 } else { ((self.docs_sent + self.docs_received) as f64 / total as f64).min(1.0) }
    }
}

/// One sync session of a phone with its server.
#[derive(Debug)]
pub struct Session {
    limits: Limits,
    /// Live sync states of this session (restored from the persisted
    /// shared heads at first use).
    states: HashMap<DocId, State>,
    /// Withdrawn documents already pushed in this session.
    pushed: HashSet<DocId>,
    /// Documents sent whole in the request in flight, with the heads sent
    /// and the local version they were read at.
    sent_whole: HashMap<DocId, (Vec<automerge::ChangeHash>, i64)>,
    /// Whole forms read ahead for the next request while one is in flight
    /// ([`Session::prefetch`]); used if the document's version is unchanged.
    prepared: HashMap<DocId, WholeForm>,
    /// The request awaiting its response.
    in_flight: Option<SyncRequest>,
    more: bool,
    done: bool,
    /// Rounds in a row that moved nothing.
    idle_rounds: usize,
    report: SyncReport,
    /// Documents sent in this session.
    sent_ids: HashSet<DocId>,
    /// Documents waiting to be sent after the last request, not sent yet.
    waiting: usize,
    /// Documents received in this session (not answers to what was sent).
    received_ids: HashSet<DocId>,
    /// Documents to receive in this session as the server's one count
    /// said (received by then plus what remained).
    expected: Option<usize>,
}

impl Session {
    /// A new session. In-flight exchanges of an earlier, interrupted
    /// session are forgotten: they restart from the persisted shared heads.
    pub fn new(limits: Limits) -> Self {
        Session {
            limits,
            states: HashMap::new(),
            pushed: HashSet::new(),
            sent_whole: HashMap::new(),
            prepared: HashMap::new(),
            in_flight: None,
            more: false,
            done: false,
            idle_rounds: 0,
            report: SyncReport::default(),
            sent_ids: HashSet::new(),
            waiting: 0,
            received_ids: HashSet::new(),
            expected: None,
        }
    }

    /// How far the session has gone.
    pub fn progress(&self) -> SyncProgress {
        let received = self.received_ids.len();
        SyncProgress {
            rounds: self.report.rounds,
            docs_sent: self.sent_ids.len(),
            docs_to_send: self.sent_ids.len() + self.waiting,
            docs_received: received,
            docs_to_receive: if !self.more && self.report.rounds > 0 {
                Some(received)
            } else {
                self.expected.map(|n| n.max(received))
            },
        }
    }

    /// Whether the session has finished.
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// What the session did so far.
    pub fn report(&self) -> &SyncReport {
        &self.report
    }

    /// The transport's byte counts, for the report.
    pub fn count_bytes(&mut self, sent: usize, received: usize) {
        self.report.bytes_sent += sent;
        self.report.bytes_received += received;
    }

    /// The last request was refused as too large (`413`, with the server's
    /// body limit if it said): send at most that (else half as much) and
    /// start the request's documents' exchanges again.
    pub fn request_too_large(&mut self, server_limit: Option<usize>) {
        let halved = (self.limits.max_body_bytes / 2).max(4 * 1024);
        self.limits.max_body_bytes = server_limit.map_or(halved, |l| l.clamp(4 * 1024, halved));
        self.limits.max_docs = (self.limits.max_docs / 2).max(1);
        if let Some(sent) = self.in_flight.take() {
            for m in &sent.docs {
                if let Ok(id) = DocId::parse(&m.id)
                    && let Some(state) = self.states.get_mut(&id)
                {
                    *state = engine::load_state(&engine::save_state(state));
                }
            }
        }
    }

    /// While a request is in flight, reads ahead the documents the next
    /// request will send whole (loading and saving them on every core), so
    /// that the phone's work overlaps the server's. Nothing is decided or
    /// stored; a document changed before the next request is read again.
    pub fn prefetch<S: SyncStore + ?Sized>(&mut self, store: &S) -> Result<()> {
        let Some(in_flight) = &self.in_flight else { return Ok(()) };
        let sent: HashSet<&str> = in_flight.docs.iter().map(|m| m.id.as_str()).collect();
        let (states, prepared, max_docs) = (&self.states, &mut self.prepared, self.limits.max_docs);
        store.transact(|tx| {
            let ids: Vec<DocId> = tx
                .pending()?
                .into_iter()
                .filter(|p| is_fresh(p, states))
                .filter(|p| !sent.contains(p.id.to_string().as_str()) && !prepared.contains_key(&p.id))
                .take(max_docs)
                .map(|p| p.id)
                .collect();
            if !ids.is_empty() {
                prepared.extend(tx.whole_forms(&ids)?);
            }
            Ok(())
        })
    }

    /// Ends the session, returning its report.
    pub fn into_report(self) -> SyncReport {
        self.report
    }

    /// The next request, or `None` when the session is complete. Documents
    /// with nothing to say are marked synced. A session runs as long as its
    /// rounds make progress; it fails with [`Error::TooManyRounds`] after
    /// [`super::wire::MAX_IDLE_ROUNDS`] rounds in a row that moved nothing,
    /// or past `max_rounds` (the next session continues where this one
    /// stopped).
    pub fn next_request<S: SyncStore + ?Sized>(&mut self, store: &S) -> Result<Option<SyncRequest>> {
        if self.done {
            return Ok(None);
        }
        if self.report.rounds >= self.limits.max_rounds {
            return Err(Error::TooManyRounds(self.limits.max_rounds));
        }
        if self.idle_rounds >= super::wire::MAX_IDLE_ROUNDS {
            return Err(Error::TooManyRounds(self.report.rounds));
        }
        let max_docs = self.limits.max_docs;
        let max_message = self.limits.max_message_bytes;
        // Room for the messages in the body (the rest of a request is small).
        let body = self.limits.max_body_bytes;
        let full_room = body.saturating_sub((16 * 1024).min(body / 8));
        let mut room = full_room;
        let mut deferred = false;
        let (states, pushed, sent_whole, prepared) =
            (&mut self.states, &mut self.pushed, &mut self.sent_whole, &mut self.prepared);
        let sent_ids = &self.sent_ids;
        let count = self.expected.is_none();
        // Pending documents neither in this request nor settled by it.
        let mut waiting = 0;
        sent_whole.clear();
        let req = store.transact(|tx| {
            let cursor = tx.cursor()?;
            let wiped = tx.wipe_owed()?;
            let acks = tx.removed()?;
            let reads = tx.reads(super::wire::MAX_READS)?;
            let mut docs = Vec::new();
            let pending = tx.pending()?;
            let mut unsettled: HashSet<DocId> = pending.iter().map(|p| p.id.clone()).collect();
            // Never exchanged: each goes whole, in one message instead of an
            // exchange of several rounds; loaded and saved on every core.
            let fresh_ids: Vec<DocId> =
                pending.iter().filter(|p| is_fresh(p, states)).take(max_docs).map(|p| p.id.clone()).collect();
            let batch: HashSet<DocId> = fresh_ids.iter().cloned().collect();
            let mut wholes = HashMap::new();
            let mut to_read = Vec::new();
            for id in fresh_ids {
                match prepared.remove(&id) {
                    Some(form) if tx.version(&id)? == Some(form.version) => {
                        wholes.insert(id, form);
                    }
                    _ => to_read.push(id),
                }
            }
            prepared.clear();
            if !to_read.is_empty() {
                wholes.extend(tx.whole_forms(&to_read)?);
            }
            for p in pending {
                if docs.len() >= max_docs {
                    break;
                }
                let fresh = is_fresh(&p, states);
                if fresh && !batch.contains(&p.id) {
                    // Past this request's batch (others did not fit): whole in the next.
                    deferred = true;
                    continue;
                }
                if let Some(WholeForm { heads, saved, version }) =
                    wholes.remove(&p.id).filter(|w| fresh && !w.heads.is_empty())
                {
                    if saved.len() <= max_message.min(room) {
                        room = room.saturating_sub(saved.len() + 128);
                        sent_whole.insert(p.id.clone(), (heads, version));
                        docs.push(DocMessage::whole(p.id.to_string(), saved));
                        continue;
                    }
                    if !docs.is_empty() && saved.len() <= max_message.min(full_room) {
                        // Does not fit beside the others: whole in the next request.
                        deferred = true;
                        continue;
                    }
                }
                let empty = Automerge::new();
                let doc = tx.document(&p.id)?.unwrap_or(&empty);
                let state = states.entry(p.id.clone()).or_insert_with(|| engine::load_state(&p.state));
                if p.status == SyncStatus::Withdrawn {
                    // Send this phone's unsynced work in one message, once.
                    if pushed.insert(p.id.clone()) {
                        docs.push(DocMessage::sync(p.id.to_string(), engine::push(doc, &state.shared_heads)));
                    }
                    continue;
                }
                match engine::generate_within(doc, state, max_message.min(room)) {
                    Ok(Some(msg)) => {
                        room = room.saturating_sub(msg.len() + 128);
                        docs.push(DocMessage::sync(p.id.to_string(), msg));
                    }
                    Ok(None) if !state.in_flight => {
                        let saved = engine::save_state(state);
                        tx.set_status(&p.id, SyncStatus::Synced, Some(&saved), None)?;
                        unsettled.remove(&p.id);
                    }
                    Ok(None) => {}
                    Err(_) if room < max_message && !docs.is_empty() => {
                        // Does not fit beside the others: the next request.
                        deferred = true;
                    }
                    Err(size) => {
                        // This document only: the others go on.
                        let reason = format!("{} KiB of changes do not fit in one sync message", size / 1024);
                        tx.set_status(&p.id, SyncStatus::TooLarge, None, Some(&reason))?;
                        unsettled.remove(&p.id);
                    }
                }
            }
            for m in &docs {
                if let Ok(id) = DocId::parse(&m.id) {
                    unsettled.remove(&id);
                }
            }
            waiting = unsettled.iter().filter(|id| !sent_ids.contains(*id)).count();
            Ok(SyncRequest { v: PROTOCOL_VERSION, cursor, docs, acks, wiped, reads, count })
        })?;
        let first = self.report.rounds == 0;
        // Documents left for lack of room keep the session going.
        self.more |= deferred;
        if !first && req.docs.is_empty() && req.acks.is_empty() && req.reads.is_empty() && !req.wiped && !self.more {
            self.done = true;
            return Ok(None);
        }
        self.report.messages_sent += req.docs.len();
        self.sent_ids.extend(req.docs.iter().filter_map(|m| DocId::parse(&m.id).ok()));
        self.waiting = waiting;
        self.in_flight = Some(req.clone());
        Ok(Some(req))
    }

    /// Applies the server's response to the last request in one store
    /// transaction: merges the changes, records refusals, deletes
    /// withdrawn documents (keeping those with unsynced work until the
    /// server has it), advances the cursor, and wipes on `wipe`.
    pub fn apply<S: SyncStore + ?Sized>(&mut self, store: &S, resp: &SyncResponse) -> Result<()> {
        let sent = self.in_flight.take().unwrap_or_default();
        self.report.rounds += 1;
        // Progress: something was sent or answered, removed, or the feed moved.
        let moved = !sent.docs.is_empty()
            || !resp.docs.is_empty()
            || !resp.results.is_empty()
            || !resp.removed.is_empty()
            || resp.cursor != sent.cursor
            || resp.wipe;
        self.idle_rounds = if moved { 0 } else { self.idle_rounds + 1 };
        self.more = resp.more;
        let asked: HashSet<&str> = sent.docs.iter().map(|m| m.id.as_str()).collect();
        self.received_ids.extend(
            resp.docs.iter().filter(|m| !asked.contains(m.id.as_str())).filter_map(|m| DocId::parse(&m.id).ok()),
        );
        if let Some(n) = resp.remaining.filter(|_| self.expected.is_none()) {
            let n = usize::try_from(n).unwrap_or(usize::MAX);
            self.expected = Some(self.received_ids.len().saturating_add(n));
        }
        if let Some(r) = &resp.renewal {
            self.report.renewal = Some(r.clone());
        }
        if let Some(a) = resp.limits {
            // Announced by a server with smaller limits: adopt them.
            self.limits.max_docs = self.limits.max_docs.min(a.max_docs.max(1));
            self.limits.max_body_bytes = self.limits.max_body_bytes.min(a.max_body_bytes.max(1024));
            self.limits.max_message_bytes = self.limits.max_message_bytes.min(a.max_message_bytes.max(1024));
        }
        if resp.wipe {
            // Wipe, then say so in the next request; once the server has
            // that acknowledgement the session ends.
            store.transact(|tx| {
                tx.wipe()?;
                tx.set_wipe_owed(!sent.wiped)
            })?;
            self.states.clear();
            self.report.wiped = true;
            if sent.wiped {
                self.done = true;
            }
            return Ok(());
        }
        let (states, report) = (&mut self.states, &mut self.report);
        let sent_whole = std::mem::take(&mut self.sent_whole);
        let max_message = self.limits.max_message_bytes;
        // Whole documents are parsed on every core before the transaction.
        let wholes: Vec<(usize, &[u8])> = resp
            .docs
            .iter()
            .enumerate()
            .filter(|(_, m)| m.full && m.msg.len() <= max_message)
            .map(|(i, m)| (i, m.msg.as_slice()))
            .collect();
        let mut parsed: HashMap<usize, Automerge> =
            crate::par::map(wholes, |(i, bytes)| Automerge::load(bytes).ok().map(|doc| (i, doc)))
                .into_iter()
                .flatten()
                .collect();
        store.transact(|tx| {
            if sent.wiped {
                tx.set_wipe_owed(false)?;
            }
            let actor = tx.actor();
            for (i, m) in resp.docs.iter().enumerate() {
                let Ok(id) = DocId::parse(&m.id) else {
                    tracing::warn!("the server sent a message for an unknown kind of document; skipped");
                    continue;
                };
                if m.msg.len() > max_message {
                    let reason = "the server sent a message larger than this phone accepts";
                    tx.set_status(&id, SyncStatus::TooLarge, None, Some(reason))?;
                    continue;
                }
                let row = tx.sync_row(&id)?;
                let status = match row.as_ref().map(|r| r.0) {
                    Some(SyncStatus::Withdrawn) => SyncStatus::Withdrawn,
                    _ => SyncStatus::Pending,
                };
                if m.full {
                    // The server's whole document: merged (or taken as it is);
                    // both sides now hold its heads.
                    let mut heads = Vec::new();
                    let changed = if tx.document(&id)?.is_none() {
                        let doc = parsed
                            .remove(&i)
                            .filter(|d| !d.get_heads().is_empty())
                            .ok_or_else(|| Error::Corrupt("the server sent a damaged document".into()))?;
                        heads = doc.get_heads();
                        tx.insert_whole(&id, &m.msg, doc)?;
                        true
                    } else {
                        tx.update(&id, &mut |doc| {
                            let r = engine::receive_whole(doc, &m.msg, &WritePolicy::Any)
                                .map_err(|_| Error::Corrupt("the server sent a damaged document".into()))?;
                            heads = r.heads;
                            Ok(())
                        })?
                    };
                    if changed {
                        report.changed.push(id.clone());
                    }
                    let state = engine::state_at(heads.clone());
                    let ours = tx.document(&id)?.map(Automerge::get_heads).unwrap_or_default();
                    let status =
                        if status == SyncStatus::Pending && ours == heads { SyncStatus::Synced } else { status };
                    tx.set_status(&id, status, Some(&engine::save_state(&state)), None)?;
                    states.insert(id.clone(), state);
                    continue;
                }
                let state = match states.get_mut(&id) {
                    Some(s) => s,
                    None => states.entry(id.clone()).or_insert_with(|| {
                        row.as_ref().map_or_else(State::new, |(_, bytes)| engine::load_state(bytes))
                    }),
                };
                let changed = tx.update(&id, &mut |doc| {
                    engine::receive(doc, state, &m.msg, &WritePolicy::Any)
                        .map(|_| ())
                        .map_err(|_| Error::Corrupt("the server sent a damaged sync message".into()))
                })?;
                if changed {
                    report.changed.push(id.clone());
                }
                // A reply may be due.
                tx.set_status(&id, status, Some(&engine::save_state(state)), None)?;
            }
            for r in &resp.results {
                let Ok(id) = DocId::parse(&r.id) else { continue };
                match r.status {
                    DocStatus::Ok => {
                        // A whole document stored: the server holds what was sent.
                        if let Some((heads, version)) = sent_whole.get(&id) {
                            let state = engine::state_at(heads.clone());
                            // Changed since it was sent: what is new is still to send.
                            let unchanged = tx.version(&id)? == Some(*version);
                            let status = if unchanged { SyncStatus::Synced } else { SyncStatus::Pending };
                            if tx.sync_row(&id)?.map(|r| r.0) == Some(SyncStatus::Pending) {
                                tx.set_status(&id, status, Some(&engine::save_state(&state)), None)?;
                            }
                            states.insert(id.clone(), state);
                        }
                        continue;
                    }
                    DocStatus::Withdrawn => {
                        tx.remove(&id)?;
                        report.removed.push(id.clone());
                    }
                    other => {
                        tx.set_status(&id, SyncStatus::of_refusal(other), None, Some(&r.reason))?;
                        report.refused.push(r.clone());
                    }
                }
                states.remove(&id);
            }
            for key in &resp.removed {
                let Ok(id) = DocId::parse(key) else { continue };
                let state = match states.get(&id) {
                    Some(s) => s.clone(),
                    None => tx.sync_row(&id)?.map(|(_, b)| engine::load_state(&b)).unwrap_or_default(),
                };
                let unsynced = tx.document(&id)?.is_some_and(|doc| engine::has_unacknowledged(doc, &state, &actor));
                if unsynced {
                    // Keep it until the server has this phone's work.
                    if tx.sync_row(&id)?.map(|r| r.0) != Some(SyncStatus::Withdrawn) {
                        tx.set_status(&id, SyncStatus::Withdrawn, None, None)?;
                    }
                } else {
                    if tx.document(&id)?.is_some() {
                        report.removed.push(id.clone());
                    }
                    tx.remove(&id)?;
                    states.remove(&id);
                }
            }
            for key in &sent.acks {
                if !resp.removed.contains(key) {
                    tx.forget(key)?;
                }
            }
            // The server has the reads of the request in its audit.
            let read_ids: Vec<String> = sent.reads.iter().map(|r| r.id.clone()).collect();
            tx.forget_reads(&read_ids)?;
            // The server answers every message; one left unanswered waited
            // for room in a full response: start that exchange again.
            let answered: HashSet<&str> =
                resp.docs.iter().map(|m| m.id.as_str()).chain(resp.results.iter().map(|r| r.id.as_str())).collect();
            for m in sent.docs.iter().filter(|m| !answered.contains(m.id.as_str())) {
                if let Ok(id) = DocId::parse(&m.id)
                    && let Some(state) = states.get_mut(&id)
                {
                    *state = engine::load_state(&engine::save_state(state));
                }
            }
            tx.set_cursor(resp.cursor)
        })?;
        report.removed.sort();
        report.removed.dedup();
        Ok(())
    }
}
