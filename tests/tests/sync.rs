//! Phones and a real server on loopback, over real HTTP.

#![allow(clippy::unwrap_used)]

use qamqor_core::Error;
use qamqor_core::docs::{ConflictKind, DocId};
use qamqor_core::model::*;
use qamqor_server::model::Role;
use qamqor_tests::*;

fn d(s: &str) -> chrono::NaiveDate {
    s.parse().unwrap()
}

/// Documents on a phone and the server are identical.
fn assert_same(server: &TestServer, phone: &Phone) {
    for id in phone.store.document_ids().unwrap() {
        let on_server = server.service.storage().load_doc(&id).unwrap().expect("document on the server");
        let on_phone = phone.store.export_document(&id).unwrap();
        assert_eq!(on_server.get_heads(), phone.store.heads(&id).unwrap(), "{id}");
        assert_eq!(content(&on_server.save()), content(&on_phone));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_specialists_edit_one_case_offline_in_either_order() {
    for first_a in [true, false] {
        let server = TestServer::start().await;
        server.user("aigerim", Role::Specialist, &[DISTRICT]);
        server.user("daniyar", Role::Specialist, &[DISTRICT]);
        let a = server.phone("aigerim").await;
        let b = server.phone("daniyar").await;
        let mut s = sample(if first_a { 1 } else { 2 });

        let child = s.child();
        let start = child.birth_date.max(d("2022-01-10"));
        let rep = s.representative(start);
        let rep2 = s.representative(start);
        a.store.register_child(&child).unwrap();
        a.store.register_representative(&rep).unwrap();
        a.store.register_representative(&rep2).unwrap();
        let placement = s.placement(&child, &rep, start);
        a.store.place_child(&placement).unwrap();
        a.sync().await.unwrap();
        b.sync().await.unwrap();
        assert_eq!(b.store.caseload().unwrap().len(), 1, "b received the case");

        // Offline: a records a check, b a visit and a conflicting placement change.
        a.store.record_check(&s.check(&rep.id, d("2026-11-20"), None)).unwrap();
        a.store.end_placement(&s.ending(&placement, d("2026-11-21"), PlacementEndReason::Replaced)).unwrap();
        b.store.record_visit(&s.visit(&child, d("2026-11-22"))).unwrap();
        b.store
            .end_placement(&s.ending(&placement, d("2026-11-22"), PlacementEndReason::RepresentativeRequest))
            .unwrap();

        let (x, y) = if first_a { (&a, &b) } else { (&b, &a) };
        x.sync().await.unwrap();
        y.sync().await.unwrap();
        x.sync().await.unwrap();

        for phone in [&a, &b] {
            assert_same(&server, phone);
            let conflicts = phone.store.conflicts().unwrap();
            assert!(
                conflicts.iter().any(|c| c.kind == ConflictKind::SameField
                    && c.path == format!("placements/{}/end_reason", placement.id)),
                "{conflicts:?}"
            );
            let file = phone.store.child_file(&child.id).unwrap();
            assert_eq!(file.visits.len(), 1);
            assert_eq!(phone.store.representative_file(&rep.id).unwrap().checks.len(), 1);
        }
        let c = &a.store.conflicts().unwrap()[0];
        let mut authors: Vec<_> = c.values.iter().filter_map(|v| v.author.clone()).collect();
        authors.sort();
        assert_eq!(authors, ["aigerim", "daniyar"]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mentor_logs_meetings_and_cannot_fetch_a_representatives_file() {
    let server = TestServer::start().await;
    server.user("aigerim", Role::Specialist, &[DISTRICT]);
    server.user("mentor.aliya", Role::Mentor, &[]);
    let spec = server.phone("aigerim").await;
    let mut s = sample(3);
    let child = s.child();
    let start = child.birth_date.max(d("2022-01-10"));
    let rep = s.representative(start);
    spec.store.register_child(&child).unwrap();
    spec.store.register_representative(&rep).unwrap();
    spec.store.place_child(&s.placement(&child, &rep, start)).unwrap();
    spec.store.record_check(&s.check(&rep.id, d("2026-01-10"), None)).unwrap();
    let mentor = s.mentor("mentor.aliya");
    spec.store.register_mentor(&mentor).unwrap();
    spec.store.add_certificate(&mentor.id, &s.certificate(d("2025-06-01"), 3)).unwrap();
    let ship = Mentorship {
        id: MentorshipId::new(),
        mentor_id: mentor.id.clone(),
        child_id: child.id.clone(),
        contract_ref: "T-1".into(),
        start_date: d("2025-09-01"),
        end_date: None,
    };
    spec.store.start_mentorship(&ship).unwrap();
    let report = spec.sync().await.unwrap();
    assert!(report.refused.is_empty(), "{:?}", report.refused);

    let m = server.phone("mentor.aliya").await;
    m.sync().await.unwrap();
    let mut ids = m.store.document_ids().unwrap();
    ids.sort();
    let mut expected = vec![DocId::mentor(&mentor.id), DocId::mentee(&ship.id), DocId::meeting_log(&mentor.id)];
    expected.sort();
    assert_eq!(ids, expected, "a mentor receives only the mentor view, the profile and the log");

    // Meetings offline, then sync.
    for day in ["2026-10-01", "2026-10-15", "2026-11-01"] {
        m.store.log_meeting(&s.meeting(&ship.id, d(day))).unwrap();
    }
    m.sync().await.unwrap();
    spec.sync().await.unwrap();
    assert_eq!(spec.store.meeting_log(&mentor.id).unwrap().meetings.len(), 3);

    // The mentor asks for the representative's file by its exact id.
    let rep_doc = DocId::representative(&rep.id);
    let resp = ask_by_id(&server, &m.config.token, &rep_doc).await;
    assert!(resp.docs.iter().all(|d| d.id != rep_doc.to_string()), "nothing of the file is sent");
    assert!(
        resp.results
            .iter()
            .any(|r| r.id == rep_doc.to_string() && r.status == qamqor_core::sync::wire::DocStatus::Denied)
    );
    let audit = server.service.storage().audit_log(100).unwrap();
    assert!(
        audit.iter().any(|a| a.user_id == "mentor.aliya" && a.doc_id == rep_doc.to_string() && a.action == "denied")
    );
    assert!(audit.iter().any(|a| a.user_id == "mentor.aliya" && a.action == "write" && !a.hashes.is_empty()));

    // A mentor may not change the mentee view: the server refuses it.
    let mut tampered = m.store.mentee(&ship.id).unwrap();
    tampered.mentee.school = Some("changed".into());
    let id = DocId::mentee(&ship.id);
    m.edit_raw(&id, None, |tx| {
        qamqor_core::docs::json::put(tx, &automerge::ROOT, "mentee", &tampered.mentee).unwrap();
    });
    let report = m.sync().await.unwrap();
    assert!(
        report
            .refused
            .iter()
            .any(|r| r.id == id.to_string() && r.status == qamqor_core::sync::wire::DocStatus::ReadOnly)
    );
    let on_server = server.service.storage().load_doc(&id).unwrap().unwrap();
    assert_ne!(content(&on_server.save())["mentee"]["school"], "changed");
}

/// Asks the server for a document by its exact id, as a client that knows
/// the id but holds nothing of it would.
async fn ask_by_id(server: &TestServer, token: &str, id: &DocId) -> qamqor_core::sync::wire::SyncResponse {
    let mut state = automerge::sync::State::new();
    let msg = qamqor_core::sync::engine::generate(&automerge::Automerge::new(), &mut state).unwrap();
    let req = qamqor_core::sync::wire::SyncRequest {
        v: qamqor_core::sync::wire::PROTOCOL_VERSION,
        docs: vec![qamqor_core::sync::wire::DocMessage::sync(id.to_string(), msg)],
        ..Default::default()
    };
    let resp = reqwest::Client::new()
        .post(format!("{}/v1/sync", server.url()))
        .bearer_auth(token)
        .body(qamqor_core::sync::wire::encode(&req))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    qamqor_core::sync::wire::decode_response(&resp.bytes().await.unwrap(), &Default::default()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_are_bound_to_the_device_that_made_them() {
    let server = TestServer::start().await;
    server.user("aigerim", Role::Specialist, &[DISTRICT]);
    server.user("daniyar", Role::Specialist, &[DISTRICT]);
    let a = server.phone("aigerim").await;
    let b = server.phone("daniyar").await;
    let mut s = sample(4);
    let child = s.child();
    a.store.register_child(&child).unwrap();
    // b carries a's unsynced change to the server: refused, nothing stored.
    let id = DocId::case(&child.id);
    b.store.merge_document(&id, &a.store.export_document(&id).unwrap()).unwrap();
    let report = b.sync().await.unwrap();
    assert!(report.refused.iter().any(|r| r.status == qamqor_core::sync::wire::DocStatus::ForeignActor));
    assert!(server.service.storage().load_doc(&id).unwrap().is_none());
    // a itself may.
    a.sync().await.unwrap();
    assert!(server.service.storage().load_doc(&id).unwrap().is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reassigned_cases_leave_the_old_phone_and_revoked_phones_wipe() {
    let server = TestServer::start().await;
    server.user("aigerim", Role::Specialist, &[DISTRICT]);
    server.user("daniyar", Role::Specialist, &[OTHER_DISTRICT]);
    let a = server.phone("aigerim").await;
    let b = server.phone("daniyar").await;
    let mut s = sample(5);
    let child = s.child();
    a.store.register_child(&child).unwrap();
    a.sync().await.unwrap();
    let id = DocId::case(&child.id);

    // Assigned to daniyar (another district): it reaches his phone.
    qamqor_server::admin::assign(&server.service, "daniyar", &id.to_string(), true).unwrap();
    b.sync().await.unwrap();
    assert_eq!(b.store.caseload().unwrap().len(), 1);
    // Withdrawn: it leaves his phone at the next sync.
    qamqor_server::admin::assign(&server.service, "daniyar", &id.to_string(), false).unwrap();
    let report = b.sync().await.unwrap();
    assert_eq!(report.removed, vec![id.clone()]);
    assert!(b.store.caseload().unwrap().is_empty());
    assert!(b.store.document_ids().unwrap().is_empty());

    // Revoked: told to wipe at the next contact, then refused.
    let device = server.service.storage().devices().unwrap().into_iter().find(|d| d.user_id == "aigerim").unwrap();
    server.service.storage().revoke_device(&device.id, chrono::Utc::now().timestamp()).unwrap();
    let report = a.sync().await.unwrap();
    assert!(report.wiped);
    assert!(a.store.document_ids().unwrap().is_empty());
    assert!(matches!(a.sync().await, Err(Error::Unauthorized(_))));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn urgent_documents_go_up_first() {
    let server = TestServer::start().await;
    server.user("aigerim", Role::Specialist, &[DISTRICT]);
    let a = server.phone("aigerim").await;
    let mut s = sample(6);
    let mut reps = Vec::new();
    for _ in 0..30 {
        let r = s.representative(d("2024-01-01"));
        a.store.register_representative(&r).unwrap();
        reps.push(r);
    }
    a.store.record_check(&s.check(&reps[17].id, d("2026-11-20"), Some(RiskFactor::CriminalProsecution))).unwrap();
    let mut session = qamqor_core::sync::session::Session::new(Default::default());
    let req = session.next_request(&*a.store).unwrap().unwrap();
    assert_eq!(req.docs[0].id, DocId::representative(&reps[17].id).to_string());
    // One round with room for one document: the urgent one is what arrives.
    let limits = qamqor_core::sync::wire::Limits { max_docs: 1, max_rounds: 1, ..Default::default() };
    let _ = qamqor_core::sync::client::sync(a.store.clone(), &a.config, limits).await;
    let stored = |i: usize| server.service.storage().load_doc(&DocId::representative(&reps[i].id)).unwrap().is_some();
    assert!(stored(17));
    assert_eq!((0..reps.len()).filter(|&i| stored(i)).count(), 1, "only the urgent document went up");
    a.sync().await.unwrap();
    assert_same(&server, &a);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn adoption_records_reach_only_users_granted_the_tier() {
    let server = TestServer::start().await;
    server.user("aigerim", Role::Specialist, &[DISTRICT]);
    server.user("daniyar", Role::Specialist, &[DISTRICT]);
    qamqor_server::admin::set_adoption_access(&server.service, "aigerim", true).unwrap();
    let a = server.phone("aigerim").await;
    let b = server.phone("daniyar").await;
    let mut s = sample(8);
    let child = s.child();
    let start = child.birth_date.max(d("2024-01-10"));
    let mut parent = s.representative(start);
    parent.role = RepresentativeRole::AdoptiveParent;
    a.store.register_child(&child).unwrap();
    a.store.register_representative(&parent).unwrap();
    let mut p = s.placement(&child, &parent, start);
    p.form = PlacementForm::Adoption;
    p.kin = None;
    a.store.place_child(&p).unwrap();
    let ordinary = s.child();
    a.store.register_child(&ordinary).unwrap();
    assert!(a.store.caseload().unwrap().iter().any(|c| c.adoption));
    let report = a.sync().await.unwrap();
    assert!(report.refused.is_empty(), "{:?}", report.refused);

    b.sync().await.unwrap();
    let ids = b.store.document_ids().unwrap();
    assert_eq!(ids, vec![DocId::case(&ordinary.id)], "only the ordinary case reaches a user without the tier");
    // Even by exact id.
    let id = DocId::case(&child.id);
    let resp = ask_by_id(&server, &b.config.token, &id).await;
    assert!(
        resp.results.iter().any(|r| r.id == id.to_string() && r.status == qamqor_core::sync::wire::DocStatus::Denied)
    );
    assert!(resp.docs.iter().all(|m| m.id != id.to_string() && m.id != DocId::representative(&parent.id).to_string()));

    // Granted the tier, the adoption records arrive at the next sync.
    qamqor_server::admin::set_adoption_access(&server.service, "daniyar", true).unwrap();
    b.sync().await.unwrap();
    assert_eq!(b.store.document_ids().unwrap().len(), 3);
    // Withdrawn again: they leave the phone.
    qamqor_server::admin::set_adoption_access(&server.service, "daniyar", false).unwrap();
    let report = b.sync().await.unwrap();
    assert_eq!(report.removed.len(), 2);
    assert_eq!(b.store.document_ids().unwrap(), vec![DocId::case(&ordinary.id)]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_first_sync_sends_whole_documents_both_ways_and_survives_a_lost_response() {
    let server = TestServer::start().await;
    server.user("aigerim", Role::Specialist, &[DISTRICT]);
    server.user("daniyar", Role::Specialist, &[DISTRICT]);
    let a = server.phone("aigerim").await;
    let mut s = sample(91);
    let mut families = Vec::new();
    for _ in 0..40 {
        families.push(register_family(&a.store, &mut s, d("2023-02-01")));
    }
    // Up: 80 documents never synced go whole, one round for them and one to finish.
    let up = a.sync().await.unwrap();
    assert!(up.rounds <= 2, "{} rounds", up.rounds);
    assert_eq!(up.messages_sent, 80);
    // Ten a request: eight rounds and one to finish; the phone's own uploads
    // do not come back through the feed.
    let mut more = Vec::new();
    for _ in 0..40 {
        more.push(register_family(&a.store, &mut s, d("2023-02-01")));
    }
    let small = qamqor_core::sync::wire::Limits { max_docs: 10, ..Default::default() };
    let up = qamqor_core::sync::client::sync(a.store.clone(), &a.config, small).await.unwrap();
    assert!(up.rounds <= 9, "{} rounds", up.rounds);
    families.extend(more);
    assert_same(&server, &a);
    assert!(
        a.store.sync_states().unwrap().iter().all(|st| st.status == qamqor_core::sync::session::SyncStatus::Synced)
    );

    // Down: a new phone whose first response is lost on the way still ends with every document.
    let mut b = server.phone("daniyar").await;
    let proxy = DropProxy::start(server.running.as_ref().unwrap().addr).await;
    let direct = b.config.url.clone();
    b.config.url = proxy.url.clone();
    proxy.drop_next(1);
    assert!(b.sync().await.is_err());
    assert!(b.store.document_ids().unwrap().is_empty());
    b.config.url = direct;
    let down = b.sync().await.unwrap();
    assert_eq!(b.store.document_ids().unwrap().len(), 160);
    assert!(down.rounds <= 3, "{} rounds", down.rounds);
    assert_same(&server, &b);

    // Later edits on either phone still meet as changes.
    let (child, rep, _) = &families[3];
    b.store.record_check(&s.check(&rep.id, d("2026-11-20"), None)).unwrap();
    a.store.record_visit(&s.visit(child, d("2026-11-21"))).unwrap();
    b.sync().await.unwrap();
    let again = a.sync().await.unwrap();
    assert!(again.bytes_received < 20_000, "changes, not whole documents: {} bytes", again.bytes_received);
    b.sync().await.unwrap();
    assert_same(&server, &a);
    assert_same(&server, &b);
    let rep_a = content(&a.store.export_document(&DocId::representative(&rep.id)).unwrap());
    let rep_b = content(&b.store.export_document(&DocId::representative(&rep.id)).unwrap());
    assert_eq!(rep_a, rep_b);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_sync_tells_how_far_it_has_gone() {
    use qamqor_core::sync::client::{SyncProgress, sync_with_progress};
    use std::sync::Mutex;
    // Pages of 20 documents: a district of 60 families takes several rounds each way.
    let server = TestServer::start_with(|c| c.max_docs = 20).await;
    server.user("aigerim", Role::Specialist, &[DISTRICT]);
    server.user("daniyar", Role::Specialist, &[DISTRICT]);
    let a = server.phone("aigerim").await;
    let mut s = sample(92);
    for _ in 0..60 {
        register_family(&a.store, &mut s, d("2023-02-01"));
    }
    let record = |seen: &Mutex<Vec<SyncProgress>>, p: SyncProgress| seen.lock().unwrap().push(p);
    let limits = qamqor_core::sync::wire::Limits { max_docs: 20, ..Default::default() };

    // Up: 120 documents, told after every round; each count only grows.
    let up = Mutex::new(Vec::new());
    let report = sync_with_progress(a.store.clone(), &a.config, limits, &|p| record(&up, p)).await.unwrap();
    let up = up.into_inner().unwrap();
    assert_eq!(up.len(), report.rounds);
    assert!(up.len() >= 6, "{} rounds", up.len());
    assert_eq!(up[0].docs_sent, 20);
    assert!(up.iter().all(|p| p.docs_to_send == 120), "{up:?}");
    assert!(up.windows(2).all(|w| w[0].docs_sent <= w[1].docs_sent));
    let last = up.last().unwrap();
    assert_eq!((last.docs_sent, last.docs_received, last.docs_to_receive), (120, 0, Some(0)));
    assert_eq!(last.fraction(), 1.0);

    // Down: a new phone is told how many documents are to come from the
    // first response on, and receives exactly that many.
    let b = server.phone("daniyar").await;
    let down = Mutex::new(Vec::new());
    sync_with_progress(b.store.clone(), &b.config, limits, &|p| record(&down, p)).await.unwrap();
    let down = down.into_inner().unwrap();
    assert!(down.len() >= 6, "{} rounds", down.len());
    assert_eq!((down[0].docs_received, down[0].docs_to_receive), (20, Some(120)), "{down:?}");
    assert!(down.iter().all(|p| p.docs_to_receive == Some(120)), "{down:?}");
    assert!(down.windows(2).all(|w| w[0].docs_received <= w[1].docs_received && w[0].fraction() <= w[1].fraction()));
    let last = down.last().unwrap();
    assert_eq!((last.docs_received, last.docs_sent, last.fraction()), (120, 0, 1.0));
    assert_eq!(b.store.document_ids().unwrap().len(), 120);
}
