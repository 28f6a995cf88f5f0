//! One sync request, decided then done in one transaction: read what the
//! request needs in a fixed number of batched reads, decide each
//! document's fate with pure functions ([`exchange`]), and write the
//! outcome (documents, feed, per-device state, removals, audit, last sync)
//! in the same transaction. The whole of [`serve`] may be run again when
//! the storage retries the transaction: it depends only on what it reads.

use std::collections::{HashMap, HashSet};

use automerge::{ActorId, Automerge};
use qamqor_core::docs::{self, DocId, Projection};
use qamqor_core::sync::engine::{self, Refusal, WritePolicy};
use qamqor_core::sync::wire::{
    Announced, DocMessage, DocResult, DocStatus, Limits, MAX_READS, PROTOCOL_VERSION, ReadRecord, Renewal, SyncRequest,
    SyncResponse,
};

use crate::access::{self, Grants};
use crate::error::{Result, ServerError};
use crate::model::{AuditEntry, DocMeta, HeldDocument, User};
use crate::storage::{DocWrite, Held, HeldScope, SyncTx};

/// How often a device's last-sync time is rewritten when nothing else
/// about it changed, in seconds.
const TOUCH_EVERY_SECS: i64 = 60;

/// The most feed documents counted for a response's `remaining`: past it
/// a progress bar gains nothing from an exact count.
const REMAINING_CAP: usize = 100_000;

/// What a device may do with one document of its request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Policy {
    /// Read and write (new changes by the device's actor only).
    Write,
    /// Create a document not yet on the server.
    Create,
    /// Read only: new changes are refused.
    ReadOnly,
    /// Access was withdrawn from a document the device held: its own
    /// changes are accepted (made in good faith while it had access), but
    /// nothing is sent back and the document may not be moved.
    Held,
    /// Offered from the change feed (no message from the device).
    Feed,
}

/// One document of the plan.
struct Step<'r> {
    id: DocId,
    meta: Option<DocMeta>,
    incoming: Option<&'r [u8]>,
    /// `incoming` is the whole document (protocol 3).
    full: bool,
    /// A feed document the device has never had, sent whole without being
    /// loaded (protocol 3).
    whole: bool,
    policy: Policy,
    /// Stored size in bytes (request documents).
    size: u64,
}

/// Who is asking, for the per-document decisions.
struct Who<'a> {
    user: &'a User,
    grants: &'a Grants,
    actor: ActorId,
    actor_hex: String,
    max_message: usize,
    max_doc: usize,
}

/// What one document's exchange decided.
#[derive(Default)]
struct Outcome {
    write: Option<DocWrite>,
    /// A new document refused by the access rules, kept for the office.
    hold: Option<(Automerge, &'static str)>,
    reply: Option<Vec<u8>>,
    /// The reply is the whole document.
    full: bool,
    result: Option<DocResult>,
    audit: Vec<(&'static str, Vec<String>)>,
}

impl Outcome {
    fn refused(id: &DocId, status: DocStatus, reason: &str) -> Outcome {
        Outcome {
            result: Some(DocResult { id: id.to_string(), status, reason: reason.into() }),
            audit: vec![("refused", Vec::new())],
            ..Outcome::default()
        }
    }
}

fn result(id: &str, status: DocStatus, reason: &str) -> DocResult {
    DocResult { id: id.chars().take(80).collect(), status, reason: reason.into() }
}

const DENIED: &str = "this device may not access this document";
/// Room kept in a response for everything but the messages (at most an
/// eighth of the body limit).
const RESPONSE_OVERHEAD: usize = 64 * 1024;
/// Encoding overhead of one document message (its id and framing).
const DOC_OVERHEAD: usize = 128;
const HELD: &str =
    "this user may not create this document; it is kept on the server for the regional office to hand on";

/// Serves one request inside the storage's transaction.
pub(crate) fn serve(
    tx: &mut dyn SyncTx,
    device_id: &str,
    address: Option<&str>,
    req: &SyncRequest,
    now: i64,
    limits: &Limits,
    token_ttl_secs: i64,
) -> Result<SyncResponse> {
    let ctx = tx.caller(device_id)?.ok_or_else(|| ServerError::Unauthorized("unknown device token".into()))?;
    let at = now * 1000;
    let line = |doc_id: &str, action: &str, hashes: Vec<String>| AuditEntry {
        at,
        user_id: ctx.user.id.clone(),
        device_id: ctx.device.id.clone(),
        doc_id: doc_id.to_owned(),
        action: action.to_owned(),
        hashes,
        address: address.map(str::to_owned),
    };
    if ctx.device.wiped_at.is_some() {
        return Err(ServerError::Unauthorized("this device was revoked".into()));
    }
    if ctx.device.revoked_at.is_some() {
        // Repeated until the phone says it has wiped.
        if req.wiped {
            tx.mark_wiped(device_id, now)?;
            tx.audit(&[line("*", "wiped", Vec::new())])?;
            tracing::info!(device = %device_id, "revoked device has wiped its data");
        } else {
            tx.audit(&[line("*", "wipe", Vec::new())])?;
            tracing::info!(device = %device_id, "revoked device told to wipe");
        }
        return Ok(SyncResponse { v: req.v.min(PROTOCOL_VERSION), wipe: true, ..SyncResponse::default() });
    }
    let actor_bytes = hex::decode(&ctx.device.actor)
        .map_err(|_| ServerError::Forbidden("this device's registered actor id is damaged".into()))?;
    let who = Who {
        user: &ctx.user,
        grants: &ctx.grants,
        actor: ActorId::from(actor_bytes),
        actor_hex: ctx.device.actor.clone(),
        max_message: limits.max_message_bytes,
        max_doc: limits.max_doc_bytes,
    };
    let mut audits = Vec::new();
    let mut results = Vec::new();

    // The request's documents.
    let mut seen = HashSet::new();
    let mut incoming = Vec::new();
    // Past `max_docs` the rest stay unanswered: the phone sends them again,
    // told the server's limits.
    let truncated = req.docs.len() > limits.max_docs;
    for m in req.docs.iter().take(limits.max_docs) {
        match DocId::parse(&m.id) {
            Ok(id) if m.msg.len() > limits.max_message_bytes => {
                seen.insert(id);
                let reason =
                    format!("the message is larger than the {} KiB a message may be", limits.max_message_bytes / 1024);
                results.push(result(&m.id, DocStatus::TooLarge, &reason));
            }
            Ok(id) if seen.insert(id.clone()) => incoming.push((id, m.msg.as_slice(), m.full)),
            Ok(_) => {}
            Err(_) => results.push(result(&m.id, DocStatus::Invalid, "not a document id")),
        }
    }
    // A token in its last third is renewed: the phone keeps working without
    // a new code as long as it syncs now and then.
    let renew = ctx.device.expires_at - now < token_ttl_secs / 3;
    let rescan = ctx.seen_epoch < ctx.epoch;
    // On a read snapshot, stop as soon as something is sure to be stored
    // (here, and again below, before any document is loaded): the request
    // is served again in a write transaction. Every read saved counts on
    // a database across the network.
    if (!incoming.is_empty() || rescan || renew) && tx.must_write() {
        return Ok(SyncResponse::default());
    }
    let ids: Vec<DocId> = incoming.iter().map(|(id, _, _)| id.clone()).collect();
    let metas = tx.metas(&ids)?;
    let sizes = tx.sizes(&ids)?;
    let end = tx.feed_end()?;
    // After a change of the user's access (or a server restored from a
    // backup older than the phone's cursor) the phone rescans the feed;
    // documents it already holds exactly cost nothing.
    let cursor = if req.cursor > end || rescan { 0 } else { req.cursor };
    let scan = cursor < end;
    // The held documents of the request (and those awaiting removal); the
    // feed's are read once the page is known.
    let mut held = tx.held(device_id, HeldScope::Among(&ids))?;
    let held_by_id: HashMap<&DocId, &Held> = held.iter().map(|h| (&h.id, h)).collect();
    let acked: Vec<DocId> = req
        .acks
        .iter()
        .filter_map(|a| DocId::parse(a).ok())
        .filter(|id| held_by_id.get(id).is_some_and(|h| h.removal))
        .collect();

    // Decide each of the request's documents.
    let mut plan: Vec<Step<'_>> = Vec::new();
    for (id, msg, full) in incoming {
        let key = id.to_string();
        let policy = match metas.get(&id) {
            Some(None) => {
                audits.push(line(&key, "refused", Vec::new()));
                results.push(result(
                    &key,
                    DocStatus::Invalid,
                    "the server cannot read this document's stored metadata",
                ));
                continue;
            }
            Some(Some(meta)) if access::can_write(who.user, who.grants, meta) => Policy::Write,
            Some(Some(meta)) if access::can_read(who.user, who.grants, meta) => Policy::ReadOnly,
            Some(Some(meta))
                if held_by_id.contains_key(&id) && access::may_write_kind(who.user.role, meta.projection.kind) =>
            {
                Policy::Held
            }
            None if access::can_create(who.user, id.kind()) => Policy::Create,
            _ => {
                tracing::warn!(device = %device_id, doc = %id, "access denied");
                audits.push(line(&key, "denied", Vec::new()));
                results.push(result(&key, DocStatus::Denied, DENIED));
                continue;
            }
        };
        let meta = metas.get(&id).cloned().flatten();
        let size = sizes.get(&id).copied().unwrap_or(0);
        plan.push(Step { id, meta, incoming: Some(msg), full, whole: false, policy, size });
    }

    // The change feed: urgent documents first, then in feed order. The
    // response holds at most `max_docs` messages: the request's first.
    let mut new_cursor = end;
    let mut more = false;
    // Narrowed in the database to what the user might read (only when the
    // feed is read: not for a sync with nothing new).
    let scope = scan.then(|| access::feed_scope(who.user, who.grants, device_id));
    if let Some(scope) = &scope {
        // The feed documents looked at (offered or not).
        let mut seen: Vec<DocId> = Vec::new();
        let room = limits.max_docs.saturating_sub(plan.len());
        if room == 0 {
            new_cursor = cursor;
            more = true;
        } else {
            let mut offered: HashSet<DocId> = plan.iter().map(|s| s.id.clone()).collect();
            // Urgent documents take at most all but one place, so that the
            // feed always moves on.
            let urgent_room = room.saturating_sub(1);
            let mut offer = |meta: DocMeta, plan: &mut Vec<Step<'_>>, seen: &mut Vec<DocId>| {
                seen.push(meta.id.clone());
                let fresh = access::can_read(who.user, who.grants, &meta) && offered.insert(meta.id.clone());
                if fresh {
                    // Whole or not is decided once the held documents are read.
                    plan.push(Step {
                        id: meta.id.clone(),
                        meta: Some(meta),
                        incoming: None,
                        full: false,
                        whole: false,
                        policy: Policy::Feed,
                        size: 0,
                    });
                }
                fresh
            };
            let mut taken = 0;
            if urgent_room > 0 {
                for meta in tx.urgent_feed(cursor, urgent_room, scope)? {
                    taken += usize::from(offer(meta, &mut plan, &mut seen));
                }
            }
            let page_room = room - taken;
            let page = tx.feed(cursor, page_room, scope)?;
            if page.len() == page_room
                && let Some(last) = page.last()
            {
                new_cursor = last.seq;
                more = last.seq < end;
            }
            for meta in page {
                offer(meta, &mut plan, &mut seen);
            }
        }
        // Documents to send: the device will hold them (a write).
        if !plan.is_empty() && tx.must_write() {
            return Ok(SyncResponse::default());
        }
        // Every held document is checked for withdrawal once a scan reaches
        // the feed's end (or after an access change); on the pages before,
        // only the page's own: a long first sync does not read every held
        // document at every round.
        let sweep = rescan || !more;
        let known: HashSet<DocId> = held.iter().map(|h| h.id.clone()).collect();
        let extra = tx.held(device_id, if sweep { HeldScope::All } else { HeldScope::Among(&seen) })?;
        held.extend(extra.into_iter().filter(|h| !known.contains(&h.id)));
        let holds: HashSet<&DocId> = held.iter().map(|h| &h.id).collect();
        for step in plan.iter_mut().filter(|s| s.policy == Policy::Feed) {
            // A document the device has never had goes whole.
            step.whole = req.v >= 3 && !holds.contains(&step.id);
        }
    }

    // Removals: repeated until acknowledged; new ones when a held
    // document is no longer visible.
    let acked_set: HashSet<&DocId> = acked.iter().collect();
    let mut removed: Vec<DocId> =
        held.iter().filter(|h| h.removal && !acked_set.contains(&h.id)).map(|h| h.id.clone()).collect();
    let mut new_removals = Vec::new();
    let mut withdraw = |id: &DocId, removed: &mut Vec<DocId>, new_removals: &mut Vec<DocId>| {
        if !removed.contains(id) {
            audits.push(line(&id.to_string(), "removed", Vec::new()));
            removed.push(id.clone());
            new_removals.push(id.clone());
        }
    };
    if scan {
        for h in held.iter().filter(|h| !h.removal) {
            let visible = !h.damaged && h.meta.as_ref().is_none_or(|m| access::can_read(who.user, who.grants, m));
            if !visible {
                withdraw(&h.id, &mut removed, &mut new_removals);
            }
        }
    }
    for step in plan.iter().filter(|s| s.policy == Policy::Held) {
        withdraw(&step.id, &mut removed, &mut new_removals);
    }

    let stores = !plan.is_empty() || !new_removals.is_empty() || !acked.is_empty() || rescan || renew;
    if (stores || !audits.is_empty()) && tx.must_write() {
        return Ok(SyncResponse::default());
    }

    // Run each document's exchange on what was loaded; documents sent
    // whole are read as stored, never loaded.
    let to_load: Vec<(DocId, Option<u64>)> =
        plan.iter().filter(|s| !s.whole).map(|s| (s.id.clone(), s.meta.as_ref().map(|m| m.seq))).collect();
    let mut loaded = tx.load(device_id, &to_load)?.into_iter();
    let whole_ids: Vec<DocId> = plan.iter().filter(|s| s.whole).map(|s| s.id.clone()).collect();
    let mut saved = if whole_ids.is_empty() { HashMap::new() } else { tx.saved(&whole_ids)? };
    let mut work = Vec::with_capacity(plan.len());
    for step in &plan {
        if step.whole {
            work.push((step, Work::Whole(saved.remove(&step.id))));
        } else {
            let Some(l) = loaded.next() else { break };
            work.push((step, Work::Exchange(Box::new(l))));
        }
    }
    // The exchanges are independent: spread over the cores.
    let outcomes = qamqor_core::par::map(work, |(step, w)| match w {
        Work::Whole(Some(bytes)) => Outcome {
            // The device's row, so that the server knows it holds the document.
            write: Some(DocWrite { id: step.id.clone(), content: None, state: Vec::new(), saved: None }),
            reply: Some(bytes),
            full: true,
            audit: vec![("read", Vec::new())],
            ..Outcome::default()
        },
        Work::Whole(None) => Outcome::default(),
        Work::Exchange(l) => exchange(step, l.doc, &l.state, &who),
    });
    let mut writes = Vec::new();
    let mut docs_out = Vec::new();
    // The response stays within the body limit: replies past it wait for
    // the next round (the cursor does not pass a feed document whose reply
    // waits).
    let mut budget = limits.max_body_bytes.saturating_sub(RESPONSE_OVERHEAD.min(limits.max_body_bytes / 8));
    for (step, mut out) in plan.iter().zip(outcomes) {
        if let Some(reply) = &out.reply {
            if reply.len() + DOC_OVERHEAD > budget {
                out.reply = None;
                more = true;
                if step.whole {
                    // Not sent: the device does not hold it yet.
                    out.write = None;
                    out.audit.clear();
                }
                if let Some(meta) = step.meta.as_ref().filter(|m| step.policy == Policy::Feed && m.seq <= new_cursor) {
                    new_cursor = new_cursor.min(meta.seq.saturating_sub(1));
                }
            } else {
                budget -= reply.len() + DOC_OVERHEAD;
            }
        }
        let key = step.id.to_string();
        for (action, hashes) in out.audit {
            audits.push(line(&key, action, hashes));
        }
        if let Some(r) = out.result {
            if !matches!(r.status, DocStatus::Withdrawn | DocStatus::Ok) {
                tracing::warn!(device = %device_id, doc = %step.id, status = ?r.status, "changes refused");
            }
            results.push(r);
        }
        if let Some((doc, reason)) = out.hold {
            let held = HeldDocument {
                doc_id: step.id.clone(),
                device_id: device_id.to_owned(),
                user_id: who.user.id.clone(),
                at: now,
                reason: reason.to_owned(),
            };
            tx.hold(&held, &doc)?;
        }
        if let Some(msg) = out.reply {
            docs_out.push(DocMessage { id: key, msg, full: out.full });
        }
        writes.extend(out.write);
    }

    // The device's own new changes need not come back through the feed:
    // when this request has read the feed to its end and the only entries
    // since are the ones it just wrote, the cursor moves past them (a lost
    // response leaves the phone's cursor where it was, so nothing is skipped).
    let written = writes.iter().filter(|w| w.content.is_some()).count() as u64;
    tx.store(device_id, writes)?;
    if written > 0 && new_cursor == end && !more {
        let after = tx.feed_end()?;
        if after == end + written {
            new_cursor = after;
        }
    }
    tx.set_removals(device_id, &new_removals)?;
    tx.ack_removals(device_id, &acked)?;
    if rescan {
        tx.set_seen_epoch(device_id, ctx.epoch)?;
    }
    // Files opened on the phone, into the audit (each record once).
    let reads: Vec<&ReadRecord> = req
        .reads
        .iter()
        .take(MAX_READS)
        .filter(|r| r.id.len() == 32 && r.id.bytes().all(|b| b.is_ascii_hexdigit()) && DocId::parse(&r.doc).is_ok())
        .collect();
    if !reads.is_empty() {
        let ids: Vec<String> = reads.iter().map(|r| r.id.clone()).collect();
        let fresh: HashSet<String> = tx.new_reads(device_id, &ids)?.into_iter().collect();
        for r in reads.iter().filter(|r| fresh.contains(&r.id)) {
            let mut entry = line(&r.doc, "read_on_phone", vec![r.id.clone()]);
            entry.at = r.at;
            audits.push(entry);
        }
    }
    let renewal = if renew {
        let token = crate::auth::new_token();
        let expires_at = now + token_ttl_secs;
        tx.renew_token(device_id, &crate::auth::token_hash(&token), expires_at)?;
        audits.push(line("-", "token_renewed", Vec::new()));
        Some(Renewal { token, expires_at })
    } else {
        None
    };
    let stale = ctx.device.last_sync_at.is_none_or(|t| now - t >= TOUCH_EVERY_SECS);
    if stale || ctx.device.cursor != new_cursor {
        tx.touch_device(device_id, now, new_cursor)?;
    }
    tx.audit(&audits)?;
    // A long sync tells the phone how much may be left, for its progress
    // bar, when asked (once a session: counting reads the rest of the feed).
    let more = more || truncated;
    let remaining = match &scope {
        Some(scope) if more && req.count => Some(tx.feed_count(new_cursor, REMAINING_CAP, scope)?),
        _ => None,
    };
    Ok(SyncResponse {
        v: req.v.min(PROTOCOL_VERSION),
        cursor: new_cursor,
        docs: docs_out,
        results,
        removed: removed.iter().map(DocId::to_string).collect(),
        more,
        remaining,
        wipe: false,
        limits: truncated.then_some(Announced {
            max_docs: limits.max_docs,
            max_body_bytes: limits.max_body_bytes,
            max_message_bytes: limits.max_message_bytes,
        }),
        renewal,
    })
}

/// One document's work in the plan.
enum Work {
    /// Sent whole as stored (`None`: no longer stored).
    Whole(Option<Vec<u8>>),
    /// Exchanged on the loaded document and sync state.
    Exchange(Box<crate::storage::Loaded>),
}

/// One document's exchange: a pure function of the stored document, the
/// device's sync state and its message.
fn exchange(step: &Step<'_>, mut doc: Automerge, state: &[u8], who: &Who<'_>) -> Outcome {
    let id = &step.id;
    let mut state = engine::load_state(state);
    let before = doc.get_heads();
    let mut content = None;
    let mut audit = Vec::new();
    // The heads of a whole document the device sent.
    let mut peer_heads: Option<Vec<automerge::ChangeHash>> = None;
    // Its bytes, when the server had nothing of it: stored as they are.
    let mut saved: Option<Vec<u8>> = None;
    match step.incoming {
        Some(msg) => {
            let policy = match step.policy {
                Policy::ReadOnly | Policy::Feed => WritePolicy::ReadOnly,
                Policy::Write | Policy::Create | Policy::Held => WritePolicy::OnlyActor(who.actor.clone()),
            };
            let received = if step.full {
                engine::receive_whole(&mut doc, msg, &policy).map(|r| {
                    peer_heads = Some(r.heads);
                    if r.taken {
                        saved = Some(msg.to_vec());
                    }
                    r.new_changes
                })
            } else {
                engine::receive(&mut doc, &mut state, msg, &policy).map(|r| r.new_changes)
            };
            let new_changes = match received {
                Ok(r) => r,
                Err(Refusal::Invalid) => {
                    return Outcome::refused(
                        id,
                        DocStatus::Invalid,
                        "the sync message is damaged or cannot be applied",
                    );
                }
                Err(Refusal::ReadOnly) => {
                    return Outcome::refused(
                        id,
                        DocStatus::ReadOnly,
                        "this role may read but not change this document",
                    );
                }
                Err(Refusal::ForeignActor) => {
                    return Outcome::refused(
                        id,
                        DocStatus::ForeignActor,
                        "the changes were not made by this device; no one may write in another's name",
                    );
                }
            };
            if !new_changes.is_empty() {
                if !docs::has_kind(&doc, id) {
                    return Outcome::refused(id, DocStatus::Invalid, "the document's kind does not match its id");
                }
                if docs::author_of(&doc, &who.actor_hex).as_deref() != Some(who.user.id.as_str()) {
                    return Outcome::refused(
                        id,
                        DocStatus::ForeignActor,
                        "the document's authors entry for this device does not name the device's enrolled user",
                    );
                }
                let p = match Projection::read(id, &doc) {
                    Ok(p) => p,
                    Err(e) => {
                        // Say what cannot be read (a field's path, never its value).
                        let reason = format!("the document cannot be read: {e} (see docs/documents.md)");
                        return Outcome::refused(id, DocStatus::Invalid, &reason);
                    }
                };
                let old = step.meta.as_ref().map(|m| &m.projection);
                let moved = old.is_some_and(|o| o.access_differs(&p));
                match step.policy {
                    Policy::Held if moved => {
                        return Outcome::refused(
                            id,
                            DocStatus::Denied,
                            "access to this document was withdrawn; changes may not move it to other people",
                        );
                    }
                    Policy::Create if !access::can_write_projection(who.user, who.grants, &id.to_string(), &p) => {
                        // Made in good faith, perhaps before the user's
                        // districts changed: kept for the office to hand on.
                        let mut o = Outcome::refused(id, DocStatus::Denied, HELD);
                        o.audit = vec![("held", Vec::new())];
                        o.hold = Some((doc, "outside the user's access when it reached the server"));
                        return o;
                    }
                    Policy::Write if !access::can_write_projection(who.user, who.grants, &id.to_string(), &p) => {
                        let mut o = Outcome::refused(id, DocStatus::Denied, DENIED);
                        o.audit = vec![("denied", Vec::new())];
                        return o;
                    }
                    Policy::Write if moved && !access::may_move(who.user) => {
                        return Outcome::refused(
                            id,
                            DocStatus::ReadOnly,
                            "this role may not change who the document belongs to (its district, tier or mentor)",
                        );
                    }
                    _ => {}
                }
                let added = saved.as_ref().map_or_else(|| doc.save_after(&before).len(), Vec::len) as u64;
                if step.size + added > who.max_doc as u64 {
                    return Outcome::refused(
                        id,
                        DocStatus::TooLarge,
                        "these changes would make the document larger than a sync message may carry",
                    );
                }
                let hashes = new_changes.iter().map(|h| h.to_string()).collect();
                audit.push((if step.policy == Policy::Held { "write_withdrawn" } else { "write" }, hashes));
                content = Some(p);
            }
            if step.policy == Policy::Held {
                // Everything the device has must now be here; then it deletes its copy.
                let sent = peer_heads.clone().or_else(|| engine::heads_of(msg));
                let stored = sent.is_some_and(|hs| hs.iter().all(|h| doc.get_change_meta_by_hash(h).is_some()));
                let (reply, result) = if stored {
                    let reason = "access to this document was withdrawn; every change of this device is stored";
                    (None, Some(DocResult { id: id.to_string(), status: DocStatus::Withdrawn, reason: reason.into() }))
                } else {
                    // Ask for what is missing, sending nothing of the document.
                    (engine::generate(&doc, &mut state).and_then(|m| engine::without_changes(&m)), None)
                };
                return Outcome {
                    write: Some(write(id, doc, before, content, &state, saved.take())),
                    reply,
                    result,
                    audit,
                    hold: None,
                    full: false,
                };
            }
            if let Some(heads) = peer_heads {
                // Both sides hold what the device sent; say what it lacks, if anything.
                state = engine::state_at(heads);
                let reply =
                    if doc.get_heads() == state.shared_heads { None } else { engine::generate(&doc, &mut state) };
                let result = DocResult { id: id.to_string(), status: DocStatus::Ok, reason: String::new() };
                return Outcome {
                    write: Some(write(id, doc, before, content, &state, saved.take())),
                    reply,
                    result: Some(result),
                    audit,
                    hold: None,
                    full: false,
                };
            }
        }
        // A feed document the device already holds exactly: nothing to say.
        None if state.shared_heads == doc.get_heads() => return Outcome::default(),
        None => {}
    }
    let (reply, result) = match engine::generate_within(&doc, &mut state, who.max_message) {
        Ok(reply) => (reply, None),
        Err(size) => {
            tracing::warn!(doc = %id, size, "a document too large for one sync message");
            let reason = format!(
                "the document ({} KiB of changes) is larger than one sync message may carry; the regional office can export it",
                size / 1024
            );
            (None, Some(DocResult { id: id.to_string(), status: DocStatus::TooLarge, reason }))
        }
    };
    if reply.as_deref().and_then(|m| engine::decode(m).ok()).is_some_and(|m| !m.changes.is_empty()) {
        audit.push(("read", Vec::new()));
    }
    Outcome {
        write: Some(write(id, doc, before, content, &state, saved.take())),
        reply,
        result,
        audit,
        hold: None,
        full: false,
    }
}

fn write(
    id: &DocId,
    doc: Automerge,
    before: Vec<automerge::ChangeHash>,
    projection: Option<Projection>,
    state: &automerge::sync::State,
    saved: Option<Vec<u8>>,
) -> DocWrite {
    let saved = saved.filter(|_| projection.is_some());
    DocWrite { id: id.clone(), content: projection.map(|p| (doc, before, p)), state: engine::save_state(state), saved }
}
