//! One child, one file across phones and a real server: two phones
//! register the same child offline, both sync and see the pair, one
//! merges, and a third phone that synced in between ends with one file
//! holding everything; the same merge made on two phones converges.

#![allow(clippy::unwrap_used)]

use qamqor_core::docs::DocId;
use qamqor_core::model::ChildId;
use qamqor_server::model::Role;
use qamqor_tests::*;

fn d(s: &str) -> chrono::NaiveDate {
    s.parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_child_registered_twice_offline_ends_as_one_file() {
    let server = TestServer::start().await;
    for u in ["aigerim", "daniyar", "saule"] {
        server.user(u, Role::Specialist, &[DISTRICT]);
    }
    let a = server.phone("aigerim").await;
    let b = server.phone("daniyar").await;
    let c = server.phone("saule").await;
    let mut s = sample(21);
    let child = s.child();
    let mut twin = child.clone();
    twin.id = ChildId::new();
    // Offline, each registers the child and records a visit.
    a.store.register_child(&child).unwrap();
    a.store.record_visit(&s.visit(&child, d("2026-11-10"))).unwrap();
    b.store.register_child(&twin).unwrap();
    b.store.record_visit(&s.visit(&twin, d("2026-11-12"))).unwrap();
    a.sync().await.unwrap();
    b.sync().await.unwrap();
    a.sync().await.unwrap();
    c.sync().await.unwrap();
    for p in [&a, &b, &c] {
        assert_eq!(p.store.duplicates().unwrap().len(), 1, "every phone holding both sees the pair");
    }
    let (x, y) = (DocId::case(&child.id), DocId::case(&twin.id));
    // The console's work list names the pair and who may merge it.
    let pairs = |server: &TestServer| {
        qamqor_server::worklist::tasks(&server.service, today(), false)
            .unwrap()
            .into_iter()
            .filter(|t| t.kind == qamqor_server::worklist::TaskKind::LikelyDuplicate)
            .collect::<Vec<_>>()
    };
    let listed = pairs(&server);
    assert_eq!(listed.len(), 1);
    assert_eq!([&listed[0].doc, listed[0].other.as_ref().unwrap()], if x < y { [&x, &y] } else { [&y, &x] });
    assert_eq!(listed[0].holders, vec!["aigerim", "daniyar", "saule"]);
    // b merges its file into a's; c synced in between and syncs after.
    b.store.merge_files(&x, &y, &[]).unwrap();
    b.sync().await.unwrap();
    c.sync().await.unwrap();
    a.sync().await.unwrap();
    for p in [&a, &b, &c] {
        let cases = p.store.caseload().unwrap();
        assert_eq!(cases.len(), 1);
        assert_eq!(cases[0].child_id, child.id);
        let file = p.store.child_file(&twin.id).unwrap();
        assert_eq!(file.visits.len(), 2, "one file holding everything");
        assert!(p.store.duplicates().unwrap().is_empty());
    }
    assert!(pairs(&server).is_empty(), "merged: off the work list");
    // The server counts the child once and knows one person.
    let people = server.service.storage().people(qamqor_core::docs::DocKind::Case).unwrap();
    assert_eq!(people.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_merge_on_two_phones_converges_through_the_server() {
    let server = TestServer::start().await;
    server.user("aigerim", Role::Specialist, &[DISTRICT]);
    server.user("daniyar", Role::Specialist, &[DISTRICT]);
    let a = server.phone("aigerim").await;
    let b = server.phone("daniyar").await;
    let mut s = sample(22);
    let child = s.child();
    let mut twin = child.clone();
    twin.id = ChildId::new();
    twin.school = Some("№3 мектеп".into());
    a.store.register_child(&child).unwrap();
    b.store.register_child(&twin).unwrap();
    a.sync().await.unwrap();
    b.sync().await.unwrap();
    a.sync().await.unwrap();
    let (x, y) = (DocId::case(&child.id), DocId::case(&twin.id));
    // Both merge offline, choosing differently.
    a.store.merge_files(&x, &y, &["school".to_owned()]).unwrap();
    b.store.merge_files(&x, &y, &[]).unwrap();
    a.sync().await.unwrap();
    b.sync().await.unwrap();
    a.sync().await.unwrap();
    for id in [&x, &y] {
        assert_eq!(a.store.heads(id).unwrap(), b.store.heads(id).unwrap());
    }
    assert_eq!(a.store.child_file(&child.id).unwrap(), b.store.child_file(&child.id).unwrap());
    assert_eq!(a.store.caseload().unwrap().len(), 1);
    assert_eq!(b.store.caseload().unwrap().len(), 1);
}
