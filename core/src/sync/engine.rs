//! The sync engine: what to send and what to apply, for one document and
//! one peer. No I/O: the phone's store, the server and the simulation all
//! drive these functions.

use automerge::sync::{Message, State, SyncDoc};
use automerge::{ActorId, Automerge, ChangeHash};

use crate::error::{Error, Result};

/// Restores a persisted per-peer sync state (empty bytes: a new peer).
pub fn load_state(bytes: &[u8]) -> State {
    if bytes.is_empty() {
        return State::new();
    }
    State::decode(bytes).unwrap_or_default()
}

/// The part of a sync state worth persisting (the heads both sides share).
pub fn save_state(state: &State) -> Vec<u8> {
    state.encode()
}

/// The next message for the peer, if there is anything to say.
///
/// When the peer asked for particular changes (a Bloom filter false
/// positive hid them), the message carries every change the peer lacks
/// relative to its heads, not only those asked for: a server keeps no
/// session state between requests, so a change whose dependencies arrive
/// in a later request would be asked for forever.
pub fn generate(doc: &Automerge, state: &mut State) -> Option<Vec<u8>> {
    let asked: Vec<ChangeHash> = state.their_need.clone().unwrap_or_default();
    let asked_here = !asked.is_empty() && asked.iter().all(|h| doc.get_change_meta_by_hash(h).is_some());
    let message = doc.generate_sync_message(state);
    if !asked_here {
        return message.map(Message::encode);
    }
    let base: Vec<ChangeHash> = state
        .their_heads
        .clone()
        .unwrap_or_else(|| state.shared_heads.clone())
        .into_iter()
        .filter(|h| doc.get_change_meta_by_hash(h).is_some())
        .collect();
    let mut m = message.unwrap_or_else(|| Message {
        heads: doc.get_heads(),
        need: Vec::new(),
        have: Vec::new(),
        changes: automerge::sync::ChunkList::empty(),
        flags: None,
        version: automerge::sync::MessageVersion::V1,
    });
    m.changes = automerge::sync::ChunkList::from(doc.save_after(&base));
    m.heads = doc.get_heads();
    // Answered: ask again only if the peer does.
    state.their_need = None;
    Some(m.encode())
}

/// The next message for the peer, at most `max_bytes` long: a message
/// that would be longer carries its changes as one compressed chunk
/// instead (Automerge's saved form, several times smaller than changes one
/// by one); `Err(size)` when even that does not fit.
pub fn generate_within(
    doc: &Automerge,
    state: &mut State,
    max_bytes: usize,
) -> std::result::Result<Option<Vec<u8>>, usize> {
    let saved = state.clone();
    let Some(msg) = generate(doc, state) else { return Ok(None) };
    if msg.len() <= max_bytes {
        return Ok(Some(msg));
    }
    let Ok(mut m) = Message::decode(&msg) else { return Err(msg.len()) };
    let base: Vec<ChangeHash> = saved
        .their_heads
        .clone()
        .unwrap_or_else(|| saved.shared_heads.clone())
        .into_iter()
        .filter(|h| doc.get_change_meta_by_hash(h).is_some())
        .collect();
    // A peer that has nothing gets the saved document (one compressed
    // document chunk, which the receiver's `load_incremental` reads): often
    // ten times smaller than the changes one by one.
    m.changes = automerge::sync::ChunkList::from(if base.is_empty() { doc.save() } else { doc.save_after(&base) });
    let compact = m.encode();
    if compact.len() <= max_bytes {
        Ok(Some(compact))
    } else {
        // Not sent: the state must not believe it was.
        *state = saved;
        Err(compact.len())
    }
}

/// Decodes a message, refusing damaged bytes.
pub fn decode(msg: &[u8]) -> Result<Message> {
    decode_checked(msg).ok_or_else(|| Error::invalid("msg", "is not a valid Automerge sync message"))
}

/// The most Bloom filter probes per hash a peer may ask for; Automerge
/// sends 7.
const MAX_BLOOM_PROBES: u64 = 64;

/// Decodes a message and checks what Automerge's decoder does not: a
/// peer's Bloom filter that claims entries but has no bits divides by zero
/// when we next generate (automerge 0.12 panics), and one with millions of
/// probes allocates for each of our changes. Both are refused here.
fn decode_checked(msg: &[u8]) -> Option<Message> {
    let message = Message::decode(msg).ok()?;
    message.have.iter().all(|have| bloom_is_sound(&have.bloom.to_bytes())).then_some(message)
}

/// A Bloom filter's wire form: empty, or LEB128 entries, bits per entry
/// and probes, then the bits.
fn bloom_is_sound(bytes: &[u8]) -> bool {
    if bytes.is_empty() {
        return true;
    }
    let mut rest = bytes;
    let mut fields = [0u64; 3];
    for field in &mut fields {
        match leb128_u64(rest) {
            Some((value, tail)) => {
                *field = value;
                rest = tail;
            }
            None => return false,
        }
    }
    let [entries, _bits_per_entry, probes] = fields;
    entries == 0 || (!rest.is_empty() && probes <= MAX_BLOOM_PROBES)
}

fn leb128_u64(bytes: &[u8]) -> Option<(u64, &[u8])> {
    let mut value = 0u64;
    for (i, byte) in bytes.iter().enumerate().take(10) {
        value |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return Some((value, &bytes[i + 1..]));
        }
    }
    None
}

/// Who may write through this peer.
#[derive(Debug, Clone)]
pub enum WritePolicy {
    /// Any change is accepted (the phone receiving from its server).
    Any,
    /// Only new changes made by this actor (the server receiving from a
    /// device: no one writes in someone else's name).
    OnlyActor(ActorId),
    /// No new changes at all (a mentor's read-only documents).
    ReadOnly,
}

/// What receiving a message did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Received {
    /// The hashes of the changes the document did not have before.
    pub new_changes: Vec<ChangeHash>,
}

/// Why a message was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The message is damaged or its changes cannot be applied.
    Invalid,
    /// The message carries new changes where none may be written.
    ReadOnly,
    /// The message carries new changes by an actor that is not the sender's.
    ForeignActor,
}

/// Applies a message under `policy`. On refusal the document and the state
/// are left exactly as they were.
///
/// A change the peer explicitly asks for is sent again even if it was sent
/// earlier in this session: a server keeps no session state between
/// requests (any of several processes may answer the next one), so a
/// change it could not yet apply (its dependencies arrived later) is asked
/// for again rather than waited for.
pub fn receive(
    doc: &mut Automerge,
    state: &mut State,
    msg: &[u8],
    policy: &WritePolicy,
) -> std::result::Result<Received, Refusal> {
    let received = receive_inner(doc, state, msg, policy)?;
    if let Some(need) = &state.their_need {
        state.sent_hashes.retain(|h| !need.contains(h));
    }
    Ok(received)
}

fn receive_inner(
    doc: &mut Automerge,
    state: &mut State,
    msg: &[u8],
    policy: &WritePolicy,
) -> std::result::Result<Received, Refusal> {
    let message = decode_checked(msg).ok_or(Refusal::Invalid)?;
    let before = doc.get_heads();
    if message.changes.is_empty() || matches!(policy, WritePolicy::Any) {
        let mut trial_state = state.clone();
        if message.changes.is_empty() {
            doc.receive_sync_message(&mut trial_state, message).map_err(|_| Refusal::Invalid)?;
            *state = trial_state;
            return Ok(Received::default());
        }
        let mut trial = doc.clone();
        trial.receive_sync_message(&mut trial_state, message).map_err(|_| Refusal::Invalid)?;
        let new_changes = trial.get_changes_meta(&before).iter().map(|c| c.hash).collect();
        *doc = trial;
        *state = trial_state;
        return Ok(Received { new_changes });
    }
    // Apply to a copy first and inspect what is new before keeping it.
    let mut trial = doc.clone();
    let mut trial_state = state.clone();
    trial.receive_sync_message(&mut trial_state, message).map_err(|_| Refusal::Invalid)?;
    let new = trial.get_changes_meta(&before);
    match policy {
        WritePolicy::ReadOnly if !new.is_empty() => return Err(Refusal::ReadOnly),
        WritePolicy::OnlyActor(actor) if new.iter().any(|c| *c.actor != *actor) => {
            return Err(Refusal::ForeignActor);
        }
        _ => {}
    }
    let new_changes = new.iter().map(|c| c.hash).collect();
    // Keep our own actor id: the clone is the same document.
    *doc = trial;
    *state = trial_state;
    Ok(Received { new_changes })
}

/// What receiving a whole document did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReceivedWhole {
    /// The hashes of the changes the document did not have before.
    pub new_changes: Vec<ChangeHash>,
    /// The heads of the document as the peer sent it (both sides now hold
    /// them).
    pub heads: Vec<ChangeHash>,
    /// The document was not held and is now exactly what the peer sent:
    /// the received bytes are its saved form and may be stored as they are.
    pub taken: bool,
}

/// Merges a whole document the peer sent (its saved form) under
/// `policy`. On refusal the document is left exactly as it was. A
/// document not held yet is taken as loaded (no merge).
pub fn receive_whole(
    doc: &mut Automerge,
    saved: &[u8],
    policy: &WritePolicy,
) -> std::result::Result<ReceivedWhole, Refusal> {
    let incoming = Automerge::load(saved).map_err(|_| Refusal::Invalid)?;
    let heads = incoming.get_heads();
    if heads.is_empty() {
        return Err(Refusal::Invalid);
    }
    let ours: Vec<ChangeHash> =
        doc.get_heads().into_iter().filter(|h| incoming.get_change_meta_by_hash(h).is_some()).collect();
    // Metadata only: building each change's bytes costs more than the load.
    let new: Vec<(ChangeHash, bool)> = incoming
        .get_changes_meta(&ours)
        .into_iter()
        .filter(|c| doc.get_change_meta_by_hash(&c.hash).is_none())
        .map(|c| (c.hash, matches!(policy, WritePolicy::OnlyActor(a) if *c.actor != *a)))
        .collect();
    match policy {
        WritePolicy::ReadOnly if !new.is_empty() => return Err(Refusal::ReadOnly),
        WritePolicy::OnlyActor(_) if new.iter().any(|(_, foreign)| *foreign) => return Err(Refusal::ForeignActor),
        _ => {}
    }
    let new_changes: Vec<ChangeHash> = new.iter().map(|(h, _)| *h).collect();
    let taken = doc.get_heads().is_empty();
    if taken {
        let actor = doc.get_actor().clone();
        *doc = incoming.with_actor(actor);
    } else if !new.is_empty() {
        let changes = incoming.get_changes(&ours).into_iter().filter(|c| new_changes.contains(&c.hash()));
        let mut trial = doc.clone();
        trial.apply_changes(changes).map_err(|_| Refusal::Invalid)?;
        *doc = trial;
    }
    Ok(ReceivedWhole { new_changes, heads, taken })
}

/// A sync state for a peer known to hold exactly `heads` (after a whole
/// document was sent or received).
pub fn state_at(heads: Vec<ChangeHash>) -> State {
    let mut state = State::new();
    state.shared_heads = heads;
    state
}

/// A message that carries every change of `doc` not covered by
/// `shared_heads`, with nothing asked in return. A phone sends it for a
/// document whose access was withdrawn, so that its unsynced work reaches
/// the server in one message without the server sending anything back.
pub fn push(doc: &Automerge, shared_heads: &[ChangeHash]) -> Vec<u8> {
    let known: Vec<ChangeHash> =
        shared_heads.iter().filter(|h| doc.get_change_meta_by_hash(h).is_some()).copied().collect();
    Message {
        heads: doc.get_heads(),
        need: Vec::new(),
        have: Vec::new(),
        changes: automerge::sync::ChunkList::from(doc.save_after(&known)),
        flags: None,
        version: automerge::sync::MessageVersion::V1,
    }
    .encode()
}

/// The same message without its changes (heads, needs and summary only):
/// what the server answers for a document the device may no longer read.
pub fn without_changes(msg: &[u8]) -> Option<Vec<u8>> {
    let mut m = Message::decode(msg).ok()?;
    m.changes = automerge::sync::ChunkList::empty();
    Some(m.encode())
}

/// The heads a message says its sender has.
pub fn heads_of(msg: &[u8]) -> Option<Vec<ChangeHash>> {
    Message::decode(msg).ok().map(|m| m.heads)
}

/// Whether `doc` holds changes by `actor` that the peer is not known to
/// have (not covered by the state's shared heads).
pub fn has_unacknowledged(doc: &Automerge, state: &State, actor: &ActorId) -> bool {
    let known: Vec<ChangeHash> =
        state.shared_heads.iter().filter(|h| doc.get_change_meta_by_hash(h).is_some()).copied().collect();
    doc.get_changes_meta(&known).iter().any(|c| *c.actor == *actor)
}

/// Whether the peer is known to hold exactly this document.
pub fn in_sync(doc: &Automerge, state: &State) -> bool {
    let heads = doc.get_heads();
    state.shared_heads == heads && state.their_heads.as_ref().is_none_or(|h| *h == heads)
}

#[cfg(test)]
mod tests {
    use super::*;
    use automerge::transaction::Transactable;

    fn doc_with(actor: &ActorId, key: &str) -> Automerge {
        let mut d = Automerge::new().with_actor(actor.clone());
        let mut tx = d.transaction();
        tx.put(automerge::ROOT, key, 1).unwrap();
        tx.commit();
        d
    }

    /// Runs the exchange until neither side has anything to say.
    fn converge(
        a: &mut Automerge,
        b: &mut Automerge,
        policy_at_b: &WritePolicy,
    ) -> std::result::Result<usize, Refusal> {
        let (mut sa, mut sb) = (State::new(), State::new());
        for round in 0..10 {
            let ma = generate(a, &mut sa);
            if let Some(m) = &ma {
                receive(b, &mut sb, m, policy_at_b)?;
            }
            let mb = generate(b, &mut sb);
            if let Some(m) = &mb {
                receive(a, &mut sa, m, &WritePolicy::Any)?;
            }
            if ma.is_none() && mb.is_none() {
                return Ok(round);
            }
        }
        panic!("did not converge");
    }

    /// A message whose only `have` holds the given Bloom filter bytes.
    fn message_with_bloom(bloom: &[u8]) -> Vec<u8> {
        let bloom = automerge::sync::BloomFilter::try_from(bloom).unwrap();
        Message {
            heads: Vec::new(),
            need: Vec::new(),
            have: vec![automerge::sync::Have { last_sync: Vec::new(), bloom }],
            changes: automerge::sync::ChunkList::empty(),
            flags: None,
            version: automerge::sync::MessageVersion::V1,
        }
        .encode()
    }

    #[test]
    fn a_bloom_filter_without_bits_or_with_too_many_probes_is_refused() {
        // Found by the sync_message fuzz target: entries but zero bits per
        // entry made automerge 0.12 divide by zero on our next message.
        let no_bits = message_with_bloom(&[1, 0, 7]);
        let many_probes = message_with_bloom(&[1, 10, 0xff, 0xff, 0xff, 0xff, 0x0f, 0, 0]);
        for msg in [no_bits, many_probes] {
            let mut doc = doc_with(&ActorId::random(), "a");
            let mut state = State::new();
            assert_eq!(receive(&mut doc, &mut state, &msg, &WritePolicy::Any), Err(Refusal::Invalid));
            assert!(decode(&msg).is_err());
            generate(&doc, &mut state);
        }
        let sound = message_with_bloom(&[1, 10, 7, 0, 0]);
        let mut doc = doc_with(&ActorId::random(), "a");
        let mut state = State::new();
        receive(&mut doc, &mut state, &sound, &WritePolicy::Any).unwrap();
        assert!(generate(&doc, &mut state).is_some());
    }

    #[test]
    fn peers_converge() {
        let (x, y) = (ActorId::random(), ActorId::random());
        let mut a = doc_with(&x, "a");
        let mut b = a.fork().with_actor(y.clone());
        let mut tx = b.transaction();
        tx.put(automerge::ROOT, "b", 2).unwrap();
        tx.commit();
        let mut tx = a.transaction();
        tx.put(automerge::ROOT, "c", 3).unwrap();
        tx.commit();
        converge(&mut a, &mut b, &WritePolicy::OnlyActor(x)).unwrap();
        assert_eq!(a.get_heads(), b.get_heads());
    }

    #[test]
    fn foreign_and_read_only_changes_are_refused_without_harm() {
        let (x, y) = (ActorId::random(), ActorId::random());
        let mut server = doc_with(&y, "base");
        let mut phone = server.fork().with_actor(x.clone());
        let mut tx = phone.transaction();
        tx.put(automerge::ROOT, "mine", 1).unwrap();
        tx.commit();
        let heads = server.get_heads();
        // The phone claims to be y: its change by x is foreign.
        let err = converge(&mut phone.clone(), &mut server, &WritePolicy::OnlyActor(y)).unwrap_err();
        assert_eq!(err, Refusal::ForeignActor);
        assert_eq!(server.get_heads(), heads);
        let err = converge(&mut phone, &mut server, &WritePolicy::ReadOnly).unwrap_err();
        assert_eq!(err, Refusal::ReadOnly);
        assert_eq!(server.get_heads(), heads);
        let mut st = State::new();
        assert_eq!(receive(&mut server, &mut st, b"junk", &WritePolicy::Any), Err(Refusal::Invalid));
    }

    #[test]
    fn a_whole_document_is_taken_merged_or_refused_under_the_policy() {
        let (alice, bob) = (ActorId::random(), ActorId::random());
        let a = doc_with(&alice, "a");
        // Taken as it is by a side that has nothing.
        let mut empty = Automerge::new();
        let r = receive_whole(&mut empty, &a.save(), &WritePolicy::OnlyActor(alice.clone())).unwrap();
        assert_eq!((empty.get_heads(), r.heads.clone(), r.new_changes.len()), (a.get_heads(), a.get_heads(), 1));
        // Merged into a copy that has other changes.
        let mut b = doc_with(&bob, "b");
        let before = b.get_heads();
        assert_eq!(receive_whole(&mut b, &a.save(), &WritePolicy::OnlyActor(bob.clone())), Err(Refusal::ForeignActor));
        assert_eq!(receive_whole(&mut b, &a.save(), &WritePolicy::ReadOnly), Err(Refusal::ReadOnly));
        assert_eq!(b.get_heads(), before, "refusals change nothing");
        let r = receive_whole(&mut b, &a.save(), &WritePolicy::Any).unwrap();
        assert_eq!(r.new_changes.len(), 1);
        assert_eq!(b.get_heads().len(), 2, "both branches kept");
        // What a side already holds is nothing new, whatever the policy.
        let again = receive_whole(&mut b, &a.save(), &WritePolicy::ReadOnly).unwrap();
        assert!(again.new_changes.is_empty());
        // Damaged or empty bytes are refused.
        let mut saved = a.save();
        let n = saved.len();
        saved[n / 2] ^= 0xff;
        assert_eq!(receive_whole(&mut b, &saved, &WritePolicy::Any), Err(Refusal::Invalid));
        assert_eq!(receive_whole(&mut b, &[], &WritePolicy::Any), Err(Refusal::Invalid));
        assert_eq!(b.get_heads().len(), 2);
    }

    #[test]
    fn a_peer_with_nothing_gets_the_saved_document_when_changes_do_not_fit() {
        let actor = ActorId::random();
        let mut doc = Automerge::new().with_actor(actor);
        for i in 0..200 {
            let mut tx = doc.transaction();
            tx.put(automerge::ROOT, format!("k{}", i % 20), i).unwrap();
            tx.commit();
        }
        let mut state = State::new();
        let mut peer = Automerge::new();
        let mut peer_state = State::new();
        // The offer, its answer, then the changes within a small limit.
        let offer = generate(&doc, &mut state).unwrap();
        receive(&mut peer, &mut peer_state, &offer, &WritePolicy::Any).unwrap();
        let answer = generate(&peer, &mut peer_state).unwrap();
        receive(&mut doc, &mut state, &answer, &WritePolicy::Any).unwrap();
        let limit = doc.save().len() + 512;
        assert!(doc.save_after(&[]).len() > limit, "change by change would not fit");
        let msg = generate_within(&doc, &mut state, limit).unwrap().unwrap();
        receive(&mut peer, &mut peer_state, &msg, &WritePolicy::Any).unwrap();
        assert_eq!(peer.get_heads(), doc.get_heads());
    }
}

#[cfg(test)]
mod fuzz {
    use super::*;
    use automerge::transaction::Transactable;
    use proptest::prelude::*;

    fn message() -> (Automerge, Vec<u8>) {
        let mut src = Automerge::new();
        let mut tx = src.transaction();
        for i in 0..5 {
            tx.put(automerge::ROOT, format!("k{i}"), i).unwrap();
        }
        tx.commit();
        let mut dst = Automerge::new();
        let (mut s1, mut s2) = (State::new(), State::new());
        // Two rounds so that the message carries changes.
        let first = generate(&dst, &mut s2).unwrap();
        receive(&mut src, &mut s1, &first, &WritePolicy::Any).unwrap();
        let msg = generate(&src, &mut s1).unwrap();
        dst = Automerge::new();
        (dst, msg)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(3000))]

        #[test]
        fn damaged_messages_never_panic_and_never_harm(flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8), cut in any::<usize>()) {
            let (mut doc, mut msg) = message();
            for (at, byte) in flips {
                let n = msg.len();
                msg[at % n] ^= byte | 1;
            }
            msg.truncate(cut % (msg.len() + 1));
            let before = doc.get_heads();
            let mut state = State::new();
            if receive(&mut doc, &mut state, &msg, &WritePolicy::Any).is_err() {
                prop_assert_eq!(doc.get_heads(), before);
            }
        }

        #[test]
        fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let mut doc = Automerge::new();
            let mut state = State::new();
            let _ = receive(&mut doc, &mut state, &bytes, &WritePolicy::OnlyActor(ActorId::random()));
            let _ = crate::sync::wire::decode_request(&bytes, &crate::sync::wire::Limits::default());
        }
    }
}
