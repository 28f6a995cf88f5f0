//! The storage conformance suite: the contract every [`Storage`] backend
//! must pass, written once. A backend instantiates it with
//! [`storage_conformance!`](crate::storage_conformance), giving a factory
//! that opens **another instance on the same database** at each call (as
//! another server process would):
//!
//! ```ignore
//! qamqor_server::storage_conformance!(|dir: &std::path::Path| {
//!     std::sync::Arc::new(SqliteStorage::open(&dir.join("s.db")).unwrap()) as Arc<dyn Storage>
//! });
//! ```
//!
//! Each check runs on a fresh database in a fresh temporary folder.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;

use automerge::Automerge;
use automerge::transaction::Transactable;
use qamqor_core::docs::{DocId, Projection};
use qamqor_core::model::{ChildId, Kato};
use qamqor_core::sample::Sample;
use qamqor_core::store::{Store, StoreOptions};
use qamqor_core::sync::session::Session;
use qamqor_core::sync::wire::{Limits, PROTOCOL_VERSION, SyncRequest, SyncResponse};

use super::{DocWrite, FeedScope, HeldScope, Storage};
use crate::error::ServerError;
use crate::model::{Device, DocMeta, Role, User};
use crate::service::{Caller, Service};

/// Opens an instance of the backend on the database kept in `dir`.
pub type Factory<'a> = &'a dyn Fn(&Path) -> Arc<dyn Storage>;

const DISTRICT: &str = "751710000";

/// A specialist of district 751710000 (Almaty).
pub fn specialist(id: &str) -> User {
    User {
        id: id.into(),
        name: id.into(),
        role: Role::Specialist,
        region: "75".into(),
        districts: vec![DISTRICT.into()],
        adoption_access: false,
    }
}

/// Registers a device for `user` with the store actor `actor` straight in
/// the storage, returning its token: enrollment itself is tested over
/// HTTP, and its argon2 hashing would dominate suites and simulations.
pub fn register_device(storage: &dyn Storage, user: &str, actor: &str, id: &str) -> String {
    let token = crate::auth::new_token();
    let d = Device {
        id: id.into(),
        user_id: user.into(),
        actor: actor.into(),
        label: id.into(),
        created_at: 0,
        expires_at: i64::MAX,
        revoked_at: None,
        wiped_at: None,
        last_sync_at: None,
        cursor: 0,
    };
    storage.add_enrollment_code(&format!("code-{id}"), "-", user, i64::MAX).unwrap();
    storage.enroll(&format!("code-{id}"), &d, &crate::auth::token_hash(&token)).unwrap();
    token
}

/// A child's case written on a scratch phone.
fn case_doc(n: u64) -> (DocId, Automerge) {
    case_doc_in(n, DISTRICT)
}

/// A child's case of `district` written on a scratch phone.
fn case_doc_in(n: u64, district: &str) -> (DocId, Automerge) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("p.db"), &[1; 32], StoreOptions::new("u")).unwrap();
    let mut s = Sample::new(n, chrono::NaiveDate::from_ymd_opt(2026, 11, 25).unwrap(), Kato::parse(district).unwrap());
    let child = s.child();
    store.register_child(&child).unwrap();
    let id = DocId::case(&child.id);
    let doc = Automerge::load(&store.export_document(&id).unwrap()).unwrap();
    (id, doc)
}

/// Stores `doc` as a new document through a sync transaction of `device`.
fn store_new(storage: &dyn Storage, device: &str, id: &DocId, doc: &Automerge) {
    let p = Projection::of(id, doc);
    storage
        .sync_tx(&mut |tx| {
            let write = DocWrite {
                id: id.clone(),
                content: Some((doc.clone(), Vec::new(), p.clone())),
                state: Vec::new(),
                saved: None,
            };
            tx.store(device, vec![write])?;
            Ok(SyncResponse::default())
        })
        .unwrap();
}

/// A request with nothing to store may be answered from a read snapshot
/// ([`Storage::sync_read`]): a write asked for on a snapshot is not done
/// (the answer is `None`), and a quiet sync writes nothing but its last
/// sync, which `devices()` shows at once on this instance and the other.
/// A request that finds something new is served in a write transaction and
/// the next quiet one finds nothing.
pub fn a_read_snapshot_stores_nothing(factory: Factory<'_>) {
    let dir = tempfile::tempdir().unwrap();
    let a = factory(dir.path());
    let b = factory(dir.path());
    a.create_user(&specialist("u")).unwrap();
    let token = register_device(&*a, "u", "0a0b", "d1");
    register_device(&*a, "u", "0c0d", "d2");
    let (id, doc) = case_doc(7);
    let write = || DocWrite {
        id: id.clone(),
        content: Some((doc.clone(), Vec::new(), Projection::of(&id, &doc))),
        state: Vec::new(),
        saved: None,
    };
    let stored = a
        .sync_read(&mut |tx| {
            tx.store("d1", vec![write()])?;
            tx.set_removals("d1", std::slice::from_ref(&id))?;
            Ok(SyncResponse::default())
        })
        .unwrap();
    assert!(stored.is_none(), "a snapshot that had to store something is not an answer");
    assert!(b.doc_meta(&id).unwrap().is_none());
    let mut held = 0;
    b.sync_tx(&mut |tx| {
        held = tx.held("d1", HeldScope::All)?.len();
        Ok(SyncResponse::default())
    })
    .unwrap();
    assert_eq!(held, 0, "no removal was recorded");
    let audit = a.audit_log(10_000).unwrap().len();

    let service = Service::new(a.clone(), Limits::default(), 86_400);
    let caller = service.authenticate(&token).unwrap();
    let quiet = SyncRequest { v: PROTOCOL_VERSION, ..SyncRequest::default() };
    let resp = service.sync(&caller, &quiet).unwrap();
    assert!(resp.docs.is_empty() && !resp.more);
    assert_eq!(a.audit_log(10_000).unwrap().len(), audit, "a quiet sync is not audited");
    let seen = |s: &Arc<dyn Storage>| s.devices().unwrap().into_iter().find(|d| d.id == "d1").unwrap();
    assert!(seen(&a).last_sync_at.is_some(), "the last sync is shown at once");
    assert!(seen(&b).last_sync_at.is_some());

    // Something new: served (and recorded) in a write transaction.
    store_new(&*b, "d2", &id, &doc);
    let resp = service.sync(&caller, &SyncRequest { cursor: resp.cursor, ..quiet.clone() }).unwrap();
    assert_eq!(resp.docs.iter().map(|m| m.id.as_str()).collect::<Vec<_>>(), vec![id.to_string().as_str()]);
    assert_eq!(seen(&b).cursor, resp.cursor);
    let again = service.sync(&caller, &SyncRequest { cursor: resp.cursor, ..quiet }).unwrap();
    assert!(again.docs.is_empty() && again.removed.is_empty());
    assert_eq!(again.cursor, resp.cursor);
}

/// Users, devices and grants survive a second instance; unknown users and
/// devices are absent, not defaulted.
pub fn users_and_devices(factory: Factory<'_>) {
    let dir = tempfile::tempdir().unwrap();
    let a = factory(dir.path());
    let b = factory(dir.path());
    a.create_user(&specialist("aigerim")).unwrap();
    assert!(matches!(b.create_user(&specialist("aigerim")), Err(ServerError::Conflict(_))));
    assert_eq!(b.user("aigerim").unwrap().unwrap(), specialist("aigerim"));
    assert!(b.user("nobody").unwrap().is_none());
    let token = register_device(&*a, "aigerim", "0a0b", "d1");
    let d = b.device_by_token(&crate::auth::token_hash(&token)).unwrap().unwrap();
    assert_eq!((d.id.as_str(), d.user_id.as_str()), ("d1", "aigerim"));
    assert!(b.device_by_token("unknown").unwrap().is_none());
    let mut moved = specialist("aigerim");
    moved.districts = vec!["752210000".into()];
    b.update_user(&moved).unwrap();
    assert_eq!(a.user("aigerim").unwrap().unwrap().districts, moved.districts);
}

/// A sync transaction whose closure fails stores nothing: no document, no
/// feed entry.
pub fn a_failed_transaction_stores_nothing(factory: Factory<'_>) {
    let dir = tempfile::tempdir().unwrap();
    let s = factory(dir.path());
    s.create_user(&specialist("u")).unwrap();
    register_device(&*s, "u", "0a", "d1");
    let (id, doc) = case_doc(1);
    let end = s.feed_end().unwrap();
    let p = Projection::of(&id, &doc);
    let r = s.sync_tx(&mut |tx| {
        tx.store(
            "d1",
            vec![DocWrite {
                id: id.clone(),
                content: Some((doc.clone(), Vec::new(), p.clone())),
                state: Vec::new(),
                saved: None,
            }],
        )?;
        Err(ServerError::BadRequest("the plan failed".into()))
    });
    assert!(r.is_err());
    assert!(s.load_doc(&id).unwrap().is_none());
    assert!(s.doc_meta(&id).unwrap().is_none());
    assert_eq!(s.feed_end().unwrap(), end);
}

/// A document another instance changed is loaded afresh, never served
/// from a stale cache.
pub fn a_document_stored_on_one_instance_is_current_on_the_other(factory: Factory<'_>) {
    let dir = tempfile::tempdir().unwrap();
    let a = factory(dir.path());
    let b = factory(dir.path());
    a.create_user(&specialist("u")).unwrap();
    register_device(&*a, "u", "0a", "d1");
    let (id, doc) = case_doc(2);
    store_new(&*a, "d1", &id, &doc);
    // b caches the document by loading it in a transaction.
    let seq = b.doc_meta(&id).unwrap().unwrap().seq;
    let loaded = b
        .sync_tx(&mut |tx| {
            let l = tx.load("d1", &[(id.clone(), Some(seq))])?;
            assert_eq!(l[0].doc.get_heads(), doc.get_heads());
            Ok(SyncResponse::default())
        })
        .is_ok();
    assert!(loaded);
    // a appends a change; b must see it, not its cached copy.
    let mut next = doc.clone();
    let before = next.get_heads();
    let mut t = next.transaction();
    t.put(automerge::ROOT, "note", "x").unwrap();
    t.commit();
    let p = Projection::of(&id, &next);
    a.sync_tx(&mut |tx| {
        tx.store(
            "d1",
            vec![DocWrite {
                id: id.clone(),
                content: Some((next.clone(), before.clone(), p.clone())),
                state: Vec::new(),
                saved: None,
            }],
        )?;
        Ok(SyncResponse::default())
    })
    .unwrap();
    let meta = b.doc_meta(&id).unwrap().unwrap();
    assert!(meta.seq > seq);
    b.sync_tx(&mut |tx| {
        let l = tx.load("d1", &[(id.clone(), Some(meta.seq))])?;
        assert_eq!(l[0].doc.get_heads(), next.get_heads(), "b served a stale cached copy");
        Ok(SyncResponse::default())
    })
    .unwrap();
    assert_eq!(b.load_doc(&id).unwrap().unwrap().get_heads(), next.get_heads());
}

/// Documents the server writes itself ([`Storage::put_documents`]) are
/// merged into what is stored, enter the feed only when they change it,
/// are audited in the same transaction, and are current on the other
/// instance; the identity index follows every stored change.
pub fn server_written_documents_merge_and_are_indexed(factory: Factory<'_>) {
    use qamqor_core::docs::{DocKind, Identity};
    let dir = tempfile::tempdir().unwrap();
    let a = factory(dir.path());
    let b = factory(dir.path());
    a.create_user(&specialist("u")).unwrap();
    register_device(&*a, "u", "0a", "d1");
    let (id, doc) = case_doc(3);
    let audit = |n: &str| crate::model::AuditEntry {
        at: 1,
        user_id: "admin".into(),
        device_id: "(import)".into(),
        doc_id: n.into(),
        action: "import".into(),
        hashes: Vec::new(),
        address: None,
    };
    assert_eq!(a.put_documents(&[(id.clone(), doc.save())], &[audit("one")]).unwrap(), 1);
    let end = a.feed_end().unwrap();
    let people = b.people(DocKind::Case).unwrap();
    let ident = Identity::of(&id, &doc).unwrap();
    assert_eq!(people, vec![(id.clone(), ident.clone())]);
    // The same content again changes nothing and takes no feed number.
    assert_eq!(b.put_documents(&[(id.clone(), doc.save())], &[]).unwrap(), 0);
    assert_eq!(a.feed_end().unwrap(), end);
    // A phone's change meanwhile and the server's own merge.
    let mut phone = doc.fork();
    let before = phone.get_heads();
    let mut t = phone.transaction();
    let child = qamqor_core::docs::json::map_at(&mut t, &automerge::ROOT, "child").unwrap();
    t.put(&child, "school", "№1").unwrap();
    t.commit();
    let p = Projection::of(&id, &phone);
    a.sync_tx(&mut |tx| {
        tx.store(
            "d1",
            vec![DocWrite {
                id: id.clone(),
                content: Some((phone.clone(), before.clone(), p.clone())),
                state: Vec::new(),
                saved: None,
            }],
        )?;
        Ok(SyncResponse::default())
    })
    .unwrap();
    let mut server = doc.fork();
    let mut t = server.transaction();
    let child = qamqor_core::docs::json::map_at(&mut t, &automerge::ROOT, "child").unwrap();
    let name = qamqor_core::docs::json::map_at(&mut t, &child, "name").unwrap();
    t.put(&name, "family", "Жаңа").unwrap();
    t.commit();
    assert_eq!(b.put_documents(&[(id.clone(), server.save())], &[audit("two")]).unwrap(), 1);
    let stored = a.load_doc(&id).unwrap().unwrap();
    let view: qamqor_core::docs::CaseDoc = qamqor_core::docs::read_view(&stored).unwrap();
    assert_eq!((view.child.school.as_deref(), view.child.name.family.as_str()), (Some("№1"), "Жаңа"));
    assert!(a.feed_end().unwrap() > end + 1);
    let people = a.people(DocKind::Case).unwrap();
    assert_eq!(people[0].1.name_key, qamqor_core::docs::name_key(&view.child.name));
    assert_eq!(people[0].1.iin, ident.iin);
    let lines: Vec<String> = a.audit_log(10).unwrap().into_iter().map(|l| l.doc_id).collect();
    assert_eq!(lines, vec!["two".to_owned(), "one".to_owned()]);
    assert!(a.audit_verify().unwrap().broken_at.is_none());
    assert!(a.people(DocKind::Mentor).unwrap().is_empty());
    // The same child registered again under another id: a likely duplicate.
    assert!(a.likely_duplicates().unwrap().is_empty());
    let twin_id = DocId::case(&ChildId::new());
    let mut twin = Automerge::new();
    let mut t = twin.transaction();
    qamqor_core::docs::init(&mut t, DocKind::Case).unwrap();
    let mut child: qamqor_core::model::Child = view.child.clone();
    child.id = ChildId::parse(twin_id.key()).unwrap();
    qamqor_core::docs::json::put(&mut t, &automerge::ROOT, "child", &child).unwrap();
    t.commit();
    a.put_documents(&[(twin_id.clone(), twin.save())], &[]).unwrap();
    let (x, y) = if id < twin_id { (id.clone(), twin_id.clone()) } else { (twin_id.clone(), id.clone()) };
    assert_eq!(b.likely_duplicates().unwrap(), vec![(x, y, true)]);
}

/// Many changes written alternately through two instances, with
/// compaction on both: every change is kept.
pub fn compaction_on_either_instance_keeps_every_change(factory: Factory<'_>) {
    let dir = tempfile::tempdir().unwrap();
    let insts = [factory(dir.path()), factory(dir.path())];
    insts[0].create_user(&specialist("u")).unwrap();
    register_device(&*insts[0], "u", "0a", "d1");
    let (id, mut doc) = case_doc(3);
    store_new(&*insts[0], "d1", &id, &doc);
    for i in 0..200 {
        let before = doc.get_heads();
        let mut t = doc.transaction();
        t.put(automerge::ROOT, "counter", i as i64).unwrap();
        t.commit();
        let p = Projection::of(&id, &doc);
        insts[i % 2]
            .sync_tx(&mut |tx| {
                tx.store(
                    "d1",
                    vec![DocWrite {
                        id: id.clone(),
                        content: Some((doc.clone(), before.clone(), p.clone())),
                        state: Vec::new(),
                        saved: None,
                    }],
                )?;
                Ok(SyncResponse::default())
            })
            .unwrap();
    }
    for s in &insts {
        let stored = s.load_doc(&id).unwrap().unwrap();
        assert_eq!(stored.get_heads(), doc.get_heads());
        assert_eq!(stored.get_changes(&[]).len(), doc.get_changes(&[]).len());
    }
}

/// Writers on two instances and a reader following the feed: the reader
/// never skips a document (no commit below a position it has passed).
pub fn the_feed_has_no_gaps_under_concurrent_writers(factory: Factory<'_>) {
    let dir = tempfile::tempdir().unwrap();
    let insts = [factory(dir.path()), factory(dir.path())];
    insts[0].create_user(&specialist("u")).unwrap();
    register_device(&*insts[0], "u", "0a", "d1");
    let docs: Vec<(DocId, Automerge)> = (0..60).map(case_doc).collect();
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let reader = {
        let s = factory(dir.path());
        let done = done.clone();
        std::thread::spawn(move || {
            let mut cursor = 0;
            let mut seen = BTreeSet::new();
            loop {
                let finished = done.load(std::sync::atomic::Ordering::SeqCst);
                s.sync_tx(&mut |tx| {
                    for m in tx.feed(cursor, 7, &FeedScope::everything())? {
                        seen.insert(m.id.to_string());
                        cursor = m.seq;
                    }
                    Ok(SyncResponse::default())
                })
                .unwrap();
                if finished && cursor == s.feed_end().unwrap() {
                    return seen;
                }
            }
        })
    };
    std::thread::scope(|scope| {
        for (w, chunk) in docs.chunks(15).enumerate() {
            let s = insts[w % 2].clone();
            scope.spawn(move || {
                for (id, doc) in chunk {
                    store_new(&*s, "d1", id, doc);
                }
            });
        }
    });
    done.store(true, std::sync::atomic::Ordering::SeqCst);
    let seen = reader.join().unwrap();
    let all: BTreeSet<String> = docs.iter().map(|(id, _)| id.to_string()).collect();
    assert_eq!(seen, all, "the reader skipped documents");
}

/// The feed narrowed to a scope: documents of its region whose district
/// starts with one of its КАТО prefixes (or the whole region), its ids and
/// kinds, and always those the device holds; nothing else, in feed order.
pub fn the_feed_is_narrowed_to_its_scope(factory: Factory<'_>) {
    let dir = tempfile::tempdir().unwrap();
    let s = factory(dir.path());
    s.create_user(&specialist("u")).unwrap();
    s.create_user(&specialist("v")).unwrap();
    register_device(&*s, "u", "0a", "d1");
    register_device(&*s, "v", "0b", "d2");
    let (mine, mine_doc) = case_doc_in(1, DISTRICT);
    let (other, other_doc) = case_doc_in(2, "752210000");
    let (held, held_doc) = case_doc_in(3, "752210000");
    store_new(&*s, "d2", &mine, &mine_doc);
    store_new(&*s, "d2", &other, &other_doc);
    store_new(&*s, "d1", &held, &held_doc);
    let (mine_id, other_id, held_id) = (mine.clone(), other.clone(), held.clone());
    let feed = |scope: FeedScope, limit: usize| {
        let mut out = Vec::new();
        s.sync_tx(&mut |tx| {
            out = tx.feed(0, limit, &scope)?.into_iter().map(|m| m.id).collect();
            assert!(tx.urgent_feed(0, limit, &scope)?.is_empty(), "nothing is urgent");
            // The count agrees with the feed less what the device holds,
            // within its cap and after a cursor.
            let holds = |d: &DocId| match scope.device_id.as_str() {
                "d1" => *d == held_id,
                "d2" => *d == mine_id || *d == other_id,
                _ => false,
            };
            let new: Vec<DocMeta> = tx.feed(0, 100, &scope)?.into_iter().filter(|m| !holds(&m.id)).collect();
            assert_eq!(tx.feed_count(0, 100, &scope)?, new.len() as u64);
            assert_eq!(tx.feed_count(0, 1, &scope)?, new.len().min(1) as u64, "at most the cap");
            if let Some(first) = new.first() {
                assert_eq!(tx.feed_count(first.seq, 100, &scope)?, new.len() as u64 - 1);
            }
            Ok(SyncResponse::default())
        })
        .unwrap();
        out
    };
    let on = |region: Option<&str>, prefixes: &[&str]| FeedScope {
        device_id: "d1".into(),
        region: region.map(str::to_owned),
        prefixes: prefixes.iter().map(|p| (*p).to_owned()).collect(),
        ..FeedScope::default()
    };
    let district = Kato::parse(DISTRICT).unwrap();
    assert_eq!(feed(on(Some("75"), &[district.prefix()]), 10), vec![mine.clone(), held.clone()]);
    let whole = vec![mine.clone(), other.clone(), held.clone()];
    assert_eq!(feed(on(Some("75"), &[""]), 10), whole, "a whole region");
    assert_eq!(feed(on(Some("75"), &["7517", "7522"]), 10), whole, "two districts");
    assert_eq!(feed(on(Some("19"), &[""]), 10), vec![held.clone()], "another region: only what the device holds");
    assert_eq!(feed(on(Some("75"), &["7522"]), 10), vec![other.clone(), held.clone()]);
    assert_eq!(feed(on(None, &[""]), 10), vec![held.clone()], "no region");
    let ids = FeedScope { ids: vec![other.to_string()], ..on(None, &[]) };
    assert_eq!(feed(ids, 10), vec![other.clone(), held.clone()]);
    let kinds = FeedScope { kinds: vec![mine.kind().prefix().to_owned()], ..on(None, &[]) };
    assert_eq!(feed(kinds, 10).len(), 3);
    let unrelated = FeedScope { device_id: "d2".into(), kinds: vec!["mentor".into()], ..FeedScope::default() };
    assert_eq!(feed(unrelated, 10), vec![mine.clone(), other.clone()], "what d2 holds");
    assert_eq!(feed(FeedScope::everything(), 2), vec![mine, other], "feed order, at most the limit");
}

/// Removals stay until acknowledged, and only removals are acknowledged.
pub fn removals_stay_until_acknowledged(factory: Factory<'_>) {
    let dir = tempfile::tempdir().unwrap();
    let s = factory(dir.path());
    s.create_user(&specialist("u")).unwrap();
    register_device(&*s, "u", "0a", "d1");
    let (id, doc) = case_doc(4);
    let (other, other_doc) = case_doc(5);
    store_new(&*s, "d1", &id, &doc);
    store_new(&*s, "d1", &other, &other_doc);
    s.sync_tx(&mut |tx| {
        tx.set_removals("d1", std::slice::from_ref(&id))?;
        Ok(SyncResponse::default())
    })
    .unwrap();
    let held = |all: bool| {
        let mut out = Vec::new();
        s.sync_tx(&mut |tx| {
            let scope = if all { HeldScope::All } else { HeldScope::Removals };
            out = tx.held("d1", scope)?.into_iter().map(|h| (h.id.to_string(), h.removal)).collect();
            Ok(SyncResponse::default())
        })
        .unwrap();
        out.sort();
        out
    };
    assert_eq!(held(false), vec![(id.to_string(), true)]);
    assert_eq!(held(true).len(), 2);
    // Among ids: those named, and those awaiting removal whatever is named.
    let among = |ids: &[DocId]| {
        let mut out = Vec::new();
        s.sync_tx(&mut |tx| {
            out = tx.held("d1", HeldScope::Among(ids))?.into_iter().map(|h| h.id.to_string()).collect();
            Ok(SyncResponse::default())
        })
        .unwrap();
        out.sort();
        out
    };
    assert_eq!(among(&[]), vec![id.to_string()]);
    let mut both = vec![id.to_string(), other.to_string()];
    both.sort();
    assert_eq!(among(std::slice::from_ref(&other)), both);
    // An acknowledgement of something never removed changes nothing.
    s.sync_tx(&mut |tx| {
        tx.ack_removals("d1", &[other.clone(), id.clone()])?;
        Ok(SyncResponse::default())
    })
    .unwrap();
    assert_eq!(held(true), vec![(other.to_string(), false)]);
}

/// Phones syncing at the same time through two instances of one database:
/// nothing acknowledged is lost, every phone ends with every document.
pub fn concurrent_syncs_through_two_instances_lose_nothing(factory: Factory<'_>) {
    let dir = tempfile::tempdir().unwrap();
    let services: Vec<Arc<Service>> =
        (0..2).map(|_| Arc::new(Service::new(factory(dir.path()), Limits::default(), 86_400))).collect();
    let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 25).unwrap();
    let mut phones = Vec::new();
    for i in 0..4 {
        let user = format!("u{i}");
        services[0].storage().create_user(&specialist(&user)).unwrap();
        let mut options = StoreOptions::new(&user);
        options.today = Some(today);
        let store = Store::open(dir.path().join(format!("phone{i}.db")), &[9; 32], options).unwrap();
        let token = register_device(&**services[0].storage(), &user, &store.actor_id(), &format!("d{i}"));
        let caller = services[0].authenticate(&token).unwrap();
        phones.push((store, caller, Sample::new(100 + i as u64, today, Kato::parse(DISTRICT).unwrap())));
    }
    let sync = |store: &Store, caller: &Caller, turn: usize| {
        let mut session = Session::new(Limits { max_rounds: 60, ..Limits::default() });
        let mut n = turn;
        while let Some(req) = session.next_request(store).unwrap() {
            n += 1;
            let resp = services[n % 2].sync(caller, &req).unwrap();
            session.apply(store, &resp).unwrap();
        }
        assert!(session.report().refused.is_empty(), "{:?}", session.report().refused);
    };
    std::thread::scope(|scope| {
        for (i, (store, caller, sample)) in phones.iter_mut().enumerate() {
            let sync = &sync;
            scope.spawn(move || {
                let mut children: Vec<ChildId> = Vec::new();
                for round in 0..12 {
                    let child = sample.child();
                    store.register_child(&child).unwrap();
                    children.push(child.id.clone());
                    if round % 2 == 1 {
                        let c = store.child_file(&children[round / 2]).unwrap().child;
                        let visit = sample.visit(&c, today.max(c.birth_date));
                        store.record_visit(&visit).unwrap();
                    }
                    sync(store, caller, i + round);
                }
            });
        }
    });
    for _ in 0..2 {
        for (i, (store, caller, _)) in phones.iter().enumerate() {
            sync(store, caller, i);
        }
    }
    let server = services[1].storage();
    let ids: BTreeSet<DocId> = phones[0].0.document_ids().unwrap().into_iter().collect();
    assert_eq!(ids.len(), 48);
    for (store, _, _) in &phones {
        assert_eq!(store.document_ids().unwrap().into_iter().collect::<BTreeSet<_>>(), ids);
        for id in &ids {
            let on_server = server.load_doc(id).unwrap().unwrap();
            assert_eq!(store.heads(id).unwrap(), on_server.get_heads(), "{id}");
        }
    }
}

/// Instantiates every check of the suite as a test, for a backend factory
/// `|dir: &Path| -> Arc<dyn Storage>` that opens another instance on the
/// database kept in `dir` at each call.
#[macro_export]
macro_rules! storage_conformance {
    ($factory:expr $(, #[$attr:meta])* $(,)?) => {
        mod conformance {
            use super::*;
            #[allow(unused_imports)]
            use $crate::storage::conformance as suite;

            fn factory() -> impl Fn(&std::path::Path) -> std::sync::Arc<dyn $crate::storage::Storage> {
                $factory
            }

            #[test]
            $(#[$attr])*
            fn users_and_devices() {
                suite::users_and_devices(&factory());
            }
            #[test]
            $(#[$attr])*
            fn a_failed_transaction_stores_nothing() {
                suite::a_failed_transaction_stores_nothing(&factory());
            }
            #[test]
            $(#[$attr])*
            fn a_document_stored_on_one_instance_is_current_on_the_other() {
                suite::a_document_stored_on_one_instance_is_current_on_the_other(&factory());
            }
            #[test]
            $(#[$attr])*
            fn compaction_on_either_instance_keeps_every_change() {
                suite::compaction_on_either_instance_keeps_every_change(&factory());
            }
            #[test]
            $(#[$attr])*
            fn server_written_documents_merge_and_are_indexed() {
                suite::server_written_documents_merge_and_are_indexed(&factory());
            }
            #[test]
            $(#[$attr])*
            fn the_feed_has_no_gaps_under_concurrent_writers() {
                suite::the_feed_has_no_gaps_under_concurrent_writers(&factory());
            }
            #[test]
            $(#[$attr])*
            fn the_feed_is_narrowed_to_its_scope() {
                suite::the_feed_is_narrowed_to_its_scope(&factory());
            }
            #[test]
            $(#[$attr])*
            fn removals_stay_until_acknowledged() {
                suite::removals_stay_until_acknowledged(&factory());
            }
            #[test]
            $(#[$attr])*
            fn a_read_snapshot_stores_nothing() {
                suite::a_read_snapshot_stores_nothing(&factory());
            }
            #[test]
            $(#[$attr])*
            fn concurrent_syncs_through_two_instances_lose_nothing() {
                suite::concurrent_syncs_through_two_instances_lose_nothing(&factory());
            }
        }
    };
}
