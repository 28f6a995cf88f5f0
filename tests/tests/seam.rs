//! The sync seam: decisions the phone must act on are repeated until it
//! acknowledges them, work made in good faith is never lost, authorship is
//! the enrolled user's, and urgent documents travel first both ways.

#![allow(clippy::unwrap_used)]

use qamqor_core::Error;
use qamqor_core::docs::DocId;
use qamqor_core::model::*;
use qamqor_core::sync::client;
use qamqor_core::sync::session::{Session, SyncStatus};
use qamqor_core::sync::wire::{DocStatus, Limits};
use qamqor_server::model::Role;
use qamqor_tests::*;

fn d(s: &str) -> chrono::NaiveDate {
    s.parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_removal_whose_response_was_lost_is_repeated_until_acknowledged() {
    let server = TestServer::start().await;
    server.user("aigerim", Role::Specialist, &[DISTRICT]);
    server.user("daniyar", Role::Specialist, &[OTHER_DISTRICT]);
    let a = server.phone("aigerim").await;
    let mut b = server.phone("daniyar").await;
    let child = sample(21).child();
    a.store.register_child(&child).unwrap();
    a.sync().await.unwrap();
    let id = DocId::case(&child.id);
    qamqor_server::admin::assign(&server.service, "daniyar", &id.to_string(), true).unwrap();
    b.sync().await.unwrap();
    assert_eq!(b.store.document_ids().unwrap(), vec![id.clone()]);

    // Unassigned; the response that says so is lost on the way.
    qamqor_server::admin::assign(&server.service, "daniyar", &id.to_string(), false).unwrap();
    let proxy = DropProxy::start(server.running.as_ref().unwrap().addr).await;
    b.config.url = proxy.url.clone();
    proxy.drop_next(1);
    assert!(matches!(b.sync().await, Err(Error::Network(_))));
    assert_eq!(b.store.document_ids().unwrap(), vec![id.clone()], "the phone never heard of the removal");

    // Any later sync still removes it, and acknowledges it.
    let report = b.sync().await.unwrap();
    assert_eq!(report.removed, vec![id.clone()]);
    assert!(b.store.document_ids().unwrap().is_empty());
    assert!(b.store.sync_states().unwrap().is_empty());
    // Acknowledged: not repeated again.
    let report = b.sync().await.unwrap();
    assert!(report.removed.is_empty());
    let removed = server.service.storage().audit_log(100).unwrap();
    assert_eq!(removed.iter().filter(|e| e.action == "removed" && e.doc_id == id.to_string()).count(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_wipe_is_repeated_and_the_phone_wipes_at_its_next_contact() {
    let server = TestServer::start().await;
    server.user("aigerim", Role::Specialist, &[DISTRICT]);
    let mut a = server.phone("aigerim").await;
    a.store.register_child(&sample(22).child()).unwrap();
    a.sync().await.unwrap();
    let device = server.service.storage().devices().unwrap().into_iter().next().unwrap();
    server.service.storage().revoke_device(&device.id, chrono::Utc::now().timestamp()).unwrap();

    // The one `wipe` answer is lost: the phone still holds its data...
    let proxy = DropProxy::start(server.running.as_ref().unwrap().addr).await;
    let direct = a.config.url.clone();
    a.config.url = proxy.url.clone();
    proxy.drop_next(1);
    assert!(matches!(a.sync().await, Err(Error::Network(_))));
    assert_eq!(a.store.document_ids().unwrap().len(), 1);
    // ...and is told again at its next contact (not refused with 401).
    a.config.url = direct;
    let report = a.sync().await.unwrap();
    assert!(report.wiped);
    assert!(a.store.document_ids().unwrap().is_empty());
    // The wipe was acknowledged in the same sync: from now on, refused.
    assert!(matches!(a.sync().await, Err(Error::Unauthorized(_))));
    let actions: Vec<String> = server.service.storage().audit_log(100).unwrap().into_iter().map(|e| e.action).collect();
    assert!(actions.contains(&"wiped".to_string()), "{actions:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_wipe_acknowledgement_is_sent_again_by_the_next_session() {
    let server = TestServer::start().await;
    server.user("aigerim", Role::Specialist, &[DISTRICT]);
    let a = server.phone("aigerim").await;
    a.store.register_child(&sample(23).child()).unwrap();
    a.sync().await.unwrap();
    let device = server.service.storage().devices().unwrap().into_iter().next().unwrap();
    server.service.storage().revoke_device(&device.id, chrono::Utc::now().timestamp()).unwrap();
    let caller = server.service.authenticate(&a.config.token).unwrap();

    let mut session = Session::new(Limits::default());
    let req = session.next_request(&*a.store).unwrap().unwrap();
    let resp = server.service.sync(&caller, &req).unwrap();
    assert!(resp.wipe);
    session.apply(&*a.store, &resp).unwrap();
    assert!(a.store.document_ids().unwrap().is_empty());
    let ack = session.next_request(&*a.store).unwrap().unwrap();
    assert!(ack.wiped);
    // The acknowledgement never arrives; the app is killed.
    drop(session);
    assert!(server.service.authenticate(&a.config.token).is_ok(), "not yet acknowledged");
    let mut session = Session::new(Limits::default());
    let req = session.next_request(&*a.store).unwrap().unwrap();
    assert!(req.wiped, "the store remembers that the wipe is owed");
    let resp = server.service.sync(&caller, &req).unwrap();
    session.apply(&*a.store, &resp).unwrap();
    assert!(session.next_request(&*a.store).unwrap().is_none());
    assert!(server.service.authenticate(&a.config.token).is_err(), "acknowledged: refused from now on");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unsynced_visit_survives_its_authors_district_change() {
    let server = TestServer::start().await;
    server.user("aigerim", Role::Specialist, &[DISTRICT]);
    server.user("gulnar", Role::Specialist, &[DISTRICT]);
    let a = server.phone("aigerim").await;
    let g = server.phone("gulnar").await;
    let mut s = sample(24);
    let child = s.child();
    a.store.register_child(&child).unwrap();
    a.sync().await.unwrap();
    let id = DocId::case(&child.id);

    // Offline in a village, she records a visit...
    let visit = s.visit(&child, d("2026-11-24"));
    a.store.record_visit(&visit).unwrap();
    // ...while the office moves her to another district.
    qamqor_server::admin::set_districts(&server.service, "aigerim", vec![OTHER_DISTRICT.into()]).unwrap();

    let report = a.sync().await.unwrap();
    assert!(report.refused.is_empty(), "{:?}", report.refused);
    assert_eq!(report.removed, vec![id.clone()], "the case leaves her phone once the visit is stored");
    assert!(a.store.document_ids().unwrap().is_empty());
    // The visit reached the server and the colleague who now has the case.
    g.sync().await.unwrap();
    let file = g.store.child_file(&child.id).unwrap();
    assert!(file.visits.values().any(|v| v.id == visit.id), "the visit reached the district");
    let audit = server.service.storage().audit_log(200).unwrap();
    assert!(
        audit.iter().any(|e| e.action == "write_withdrawn" && e.doc_id == id.to_string() && e.user_id == "aigerim")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_withdrawn_document_is_read_only_until_it_leaves() {
    let server = TestServer::start().await;
    server.user("aigerim", Role::Specialist, &[DISTRICT]);
    let a = server.phone("aigerim").await;
    let mut s = sample(25);
    let child = s.child();
    a.store.register_child(&child).unwrap();
    a.sync().await.unwrap();
    a.store.record_visit(&s.visit(&child, d("2026-11-24"))).unwrap();
    qamqor_server::admin::set_districts(&server.service, "aigerim", vec![OTHER_DISTRICT.into()]).unwrap();
    // One round only: the phone learns of the withdrawal but has not yet pushed.
    let one = Limits { max_rounds: 1, ..Limits::default() };
    assert!(client::sync(a.store.clone(), &a.config, one).await.is_err());
    let states = a.store.sync_states().unwrap();
    assert_eq!(states[0].status, SyncStatus::Withdrawn);
    let e = a.store.record_visit(&s.visit(&child, d("2026-11-25"))).unwrap_err();
    assert!(matches!(e, Error::Rule(_)), "{e}");
    a.sync().await.unwrap();
    assert!(a.store.document_ids().unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_authors_entry_naming_another_user_is_refused() {
    let server = TestServer::start().await;
    server.user("aigerim", Role::Specialist, &[DISTRICT]);
    server.user("daniyar", Role::Specialist, &[DISTRICT]);
    // The app opens the store claiming to be daniyar, but the device is aigerim's.
    let a = server.phone_as("aigerim", "daniyar").await;
    let child = sample(26).child();
    a.store.register_child(&child).unwrap();
    let report = a.sync().await.unwrap();
    let id = DocId::case(&child.id);
    assert_eq!(report.refused.len(), 1);
    assert_eq!(report.refused[0].status, DocStatus::ForeignActor);
    assert!(report.refused[0].reason.contains("authors"), "{}", report.refused[0].reason);
    assert!(server.service.storage().load_doc(&id).unwrap().is_none());
    assert_eq!(a.store.sync_states().unwrap()[0].status, SyncStatus::ForeignActor);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn urgent_documents_reach_a_second_phone_first() {
    let server = TestServer::start_with(|c| c.max_docs = 5).await;
    server.user("aigerim", Role::Specialist, &[DISTRICT]);
    server.user("daniyar", Role::Specialist, &[DISTRICT]);
    let a = server.phone("aigerim").await;
    let b = server.phone("daniyar").await;
    let mut s = sample(27);
    let mut reps = Vec::new();
    for _ in 0..20 {
        let r = s.representative(d("2024-01-01"));
        a.store.register_representative(&r).unwrap();
        reps.push(r);
    }
    let limits = Limits { max_docs: 5, max_rounds: 50, ..Limits::default() };
    client::sync(a.store.clone(), &a.config, limits).await.unwrap();
    // The last change of the district is a removal recommendation.
    let at_risk = &reps[3];
    a.store.record_check(&s.check(&at_risk.id, d("2026-11-20"), Some(RiskFactor::NarcologicalRegistration))).unwrap();
    client::sync(a.store.clone(), &a.config, limits).await.unwrap();

    // b's first response brings five documents, whole: the urgent one among them.
    let one = Limits { max_docs: 5, max_rounds: 1, ..Limits::default() };
    let _ = client::sync(b.store.clone(), &b.config, one).await;
    let first = b.store.document_ids().unwrap();
    assert!(first.len() <= 5);
    assert!(first.contains(&DocId::representative(&at_risk.id)), "urgent first: {first:?}");
    // And the rest follows.
    client::sync(b.store.clone(), &b.config, limits).await.unwrap();
    assert_eq!(b.store.document_ids().unwrap().len(), 20);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_case_registered_offline_before_a_district_change_is_kept_for_the_office() {
    let server = TestServer::start().await;
    server.user("aigerim", Role::Specialist, &[DISTRICT]);
    server.user("gulnar", Role::Specialist, &[DISTRICT]);
    let a = server.phone("aigerim").await;
    let g = server.phone("gulnar").await;
    // Registered offline in her old district; she is moved before she syncs.
    let child = sample(28).child();
    a.store.register_child(&child).unwrap();
    qamqor_server::admin::set_districts(&server.service, "aigerim", vec![OTHER_DISTRICT.into()]).unwrap();
    let report = a.sync().await.unwrap();
    let id = DocId::case(&child.id);
    assert_eq!(report.refused.len(), 1);
    assert!(report.refused[0].reason.contains("regional office"), "{}", report.refused[0].reason);
    // Nothing is lost: her phone keeps it, and the server keeps it for the office.
    assert!(a.store.child_file(&child.id).is_ok());
    let held = server.service.storage().held_documents().unwrap();
    assert_eq!(held.len(), 1);
    assert_eq!((held[0].doc_id.clone(), held[0].user_id.as_str()), (id.clone(), "aigerim"));
    assert!(server.service.storage().load_doc(&id).unwrap().is_none());
    // The office hands it on: the district's specialist receives it.
    qamqor_server::admin::release_held(&server.service, &id.to_string(), &held[0].device_id).unwrap();
    assert!(server.service.storage().held_documents().unwrap().is_empty());
    g.sync().await.unwrap();
    assert_eq!(g.store.child_file(&child.id).unwrap().child.id, child.id);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enrolling_again_after_an_expired_token_keeps_the_phones_work() {
    let mut server = TestServer::start().await;
    server.user("aigerim", Role::Specialist, &[DISTRICT]);
    server.user("daniyar", Role::Specialist, &[DISTRICT]);
    let mut a = server.phone("aigerim").await;
    let mut s = sample(29);
    let child = s.child();
    a.store.register_child(&child).unwrap();
    a.sync().await.unwrap();
    let devices_before = server.service.storage().devices().unwrap();
    // Months in a village: a visit recorded, the token expires.
    let visit = s.visit(&child, d("2026-11-24"));
    a.store.record_visit(&visit).unwrap();
    server.advance_clock(91 * 86_400).await;
    assert!(matches!(a.sync().await, Err(Error::TokenExpired)));
    // A new code from the office re-binds the same store.
    let code = server.service.issue_code("aigerim", 1).unwrap();
    let e = client::enroll(&server.url(), None, &code, &a.store.actor_id(), "same phone").await.unwrap();
    a.config.token = e.token;
    let report = a.sync().await.unwrap();
    assert!(report.refused.is_empty(), "{:?}", report.refused);
    let on_server = server.service.storage().load_doc(&DocId::case(&child.id)).unwrap().unwrap();
    assert_eq!(on_server.get_heads(), a.store.heads(&DocId::case(&child.id)).unwrap(), "the visit went up");
    let devices_after = server.service.storage().devices().unwrap();
    assert_eq!(devices_after.len(), devices_before.len(), "the same device, not a new one");
    assert_eq!(devices_after[0].id, devices_before[0].id);
    // Another user cannot take this phone's actor.
    let code = server.service.issue_code("daniyar", 1).unwrap();
    let e = client::enroll(&server.url(), None, &code, &a.store.actor_id(), "stolen").await.unwrap_err();
    assert!(matches!(e, Error::Server { status: 409, .. }), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_phone_in_use_gets_a_renewed_token_before_its_token_expires() {
    let mut server = TestServer::start().await;
    server.user("aigerim", Role::Specialist, &[DISTRICT]);
    let mut a = server.phone("aigerim").await;
    let report = a.sync().await.unwrap();
    assert!(report.renewal.is_none(), "a new token is not renewed");
    // Seventy days on (of ninety): the next sync brings a renewed token.
    server.advance_clock(70 * 86_400).await;
    let report = a.sync().await.unwrap();
    assert!(report.renewal.is_some(), "a renewed token");
    let old = a.config.token.clone();
    // The old token still works until a new one is used (the app may not
    // have stored it yet): each such sync brings a fresh renewal, the
    // newest being the one to keep...
    let report = a.sync().await.unwrap();
    let renewal = report.renewal.expect("renewed again");
    // ...and once the new one is used, the old one is gone.
    a.config.token = renewal.token.clone();
    a.sync().await.unwrap();
    a.config.token = old;
    assert!(matches!(a.sync().await, Err(Error::Unauthorized(_))));
    a.config.token = renewal.token;
    // Past the first token's lifetime, the phone keeps syncing.
    server.advance_clock(60 * 86_400).await;
    a.store.register_child(&sample(30).child()).unwrap();
    let report = a.sync().await.unwrap();
    assert!(report.refused.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mentors_phone_refuses_casework_and_a_refused_change_can_be_discarded() {
    let server = TestServer::start().await;
    server.user("aigerim", Role::Specialist, &[DISTRICT]);
    server.user("mentor.aliya", Role::Mentor, &[]);
    let spec = server.phone("aigerim").await;
    let mut s = sample(32);
    let mentor = s.mentor("mentor.aliya");
    spec.store.register_mentor(&mentor).unwrap();
    spec.sync().await.unwrap();
    let m = server.phone("mentor.aliya").await;
    m.store.set_role(qamqor_core::model::UserRole::Mentor).unwrap();
    // Refused locally, with a clear rule error: nothing kept to fail forever.
    let e = m.store.register_child(&s.child()).unwrap_err();
    assert!(matches!(&e, Error::Rule(msg) if msg.contains("mentor")), "{e}");
    assert!(m.store.document_ids().unwrap().is_empty());
    m.sync().await.unwrap();
    assert!(m.store.meeting_log(&mentor.id).is_ok(), "the meeting log is still theirs");

    // A change the server refused (a mentor's edit of the profile, made
    // before the phone knew its role) is discarded, and the server's copy
    // comes back at the next sync.
    let id = DocId::mentor(&mentor.id);
    let before = server.service.storage().load_doc(&id).unwrap().unwrap().get_heads();
    m.edit_raw(&id, Some("mentor.aliya"), |tx| {
        use automerge::transaction::Transactable;
        tx.put(automerge::ROOT, "note", "changed").unwrap();
    });
    let report = m.sync().await.unwrap();
    assert_eq!(report.refused.len(), 1);
    assert!(m.store.discard_refused(&DocId::meeting_log(&mentor.id)).is_err(), "only refused records");
    m.store.discard_refused(&id).unwrap();
    m.sync().await.unwrap();
    assert_eq!(m.store.heads(&id).unwrap(), before, "the server's copy is back");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flag_cleared_with_a_reason_on_one_phone_clears_on_another_both_events_kept() {
    let server = TestServer::start().await;
    server.user("aigerim", Role::Specialist, &[DISTRICT]);
    server.user("daniyar", Role::Specialist, &[DISTRICT]);
    let a = server.phone("aigerim").await;
    let b = server.phone("daniyar").await;
    let mut s = sample(33);
    let (_, rep, _) = register_family(&a.store, &mut s, d("2024-01-10"));
    let check = s.check(&rep.id, d("2026-11-20"), Some(RiskFactor::NarcologicalRegistration));
    a.store.record_check(&check).unwrap();
    a.sync().await.unwrap();
    b.sync().await.unwrap();
    assert!(b.store.caseload().unwrap()[0].urgent);

    // The dispensary letter was about someone else: b clears it, with the reason.
    let clearance = RiskClearance {
        id: EventId::new(),
        representative_id: rep.id.clone(),
        date: d("2026-11-24"),
        factor: Some(RiskFactor::NarcologicalRegistration),
        reason: "Диспансер хатын кері қайтарды: басқа адам".into(),
        cleared_by: "daniyar".into(),
    };
    let mut short = clearance.clone();
    short.reason = "no".into();
    assert!(matches!(b.store.clear_risk(&short), Err(Error::Invalid { .. })), "a reason is required");
    b.store.clear_risk(&clearance).unwrap();
    // b's clearance reaches a's phone.
    b.sync().await.unwrap();
    a.sync().await.unwrap();
    let file = a.store.representative_file(&rep.id).unwrap();
    assert!(file.risk.raised().is_empty());
    assert!(!file.risk.removal_recommended);
    assert_eq!(file.checks.len(), 1, "the check that raised it is kept");
    assert_eq!(file.risk_clearances.len(), 1, "and the clearance beside it");
    assert!(a.store.urgent_items().unwrap().is_empty());
    assert!(!a.store.caseload().unwrap()[0].urgent);
    // Clearing what is not raised is refused.
    assert!(matches!(a.store.clear_risk(&RiskClearance { id: EventId::new(), ..clearance }), Err(Error::Rule(_))));
}

/// The seed's workflow end to end, across two phones and the server: a
/// risk factor found at a check, the office's decision recorded on another
/// phone, the placement ended by the order and the child placed anew.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_removal_chain_ends_with_a_new_placement_and_an_empty_urgent_list() {
    let server = TestServer::start().await;
    server.user("aigerim", Role::Specialist, &[DISTRICT]);
    server.user("office", Role::Specialist, &[DISTRICT]);
    let a = server.phone("aigerim").await;
    let b = server.phone("office").await;
    let mut s = sample(35);
    let (child, rep, placement) = register_family(&a.store, &mut s, d("2024-01-10"));
    let case = DocId::case(&child.id);
    a.store.record_check(&s.check(&rep.id, d("2026-11-20"), Some(RiskFactor::CriminalProsecution))).unwrap();
    let reasons = |p: &Phone| -> Vec<_> { p.store.urgent_items().unwrap().into_iter().map(|u| u.reason).collect() };
    assert!(reasons(&a).contains(&qamqor_core::store::UrgentReason::RepresentativeAtRisk));
    a.sync().await.unwrap();
    b.sync().await.unwrap();

    // The office decides, by an order, on its own phone.
    let decision = RemovalDecision {
        order: OfficeOrder { number: "412-ж".into(), date: d("2026-11-23") },
        decided_by: "office".into(),
        ..s.decision(&rep.id, d("2026-11-23"), RemovalOutcome::Removed)
    };
    b.store.decide_removal(&decision).unwrap();
    b.sync().await.unwrap();
    a.sync().await.unwrap();
    let task = a.store.urgent_items().unwrap();
    assert_eq!(task.len(), 1, "{task:?}");
    assert_eq!((&task[0].doc_id, &task[0].reason), (&case, &qamqor_core::store::UrgentReason::PlacementToEnd));
    assert_eq!(task[0].since, Some(d("2026-11-23")), "since the order");

    // The placement ends by the same order; the child waits, still urgent.
    let ending = PlacementEnding {
        order: Some(decision.order.clone()),
        ..s.ending(&placement, d("2026-11-24"), PlacementEndReason::RepresentativeRemoved)
    };
    a.store.end_placement(&ending).unwrap();
    assert_eq!(reasons(&a), [qamqor_core::store::UrgentReason::ChildToPlace]);
    let new_rep = s.representative(d("2026-11-24"));
    a.store.register_representative(&new_rep).unwrap();
    a.store.place_child(&s.placement(&child, &new_rep, d("2026-11-25"))).unwrap();
    a.sync().await.unwrap();
    b.sync().await.unwrap();

    for phone in [&a, &b] {
        assert!(reasons(phone).is_empty(), "{:?}", reasons(phone));
        let file = phone.store.representative_file(&rep.id).unwrap();
        assert_eq!(file.status, RepresentativeStatus::Removed);
        assert_eq!(file.checks.len(), 1, "the check that raised the flag");
        assert_eq!(file.removal_decisions.len(), 1, "the office's decision");
        let case_file = phone.store.child_file(&child.id).unwrap();
        assert_eq!(case_file.endings().len(), 1);
        assert_eq!(case_file.endings()[0].order.as_ref().map(|o| o.number.as_str()), Some("412-ж"));
        assert_eq!(case_file.current_placement().and_then(|p| p.representative_id.clone()), Some(new_rep.id.clone()));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn assigning_a_case_brings_its_representatives_file_and_unassigning_takes_both() {
    let server = TestServer::start().await;
    server.user("aigerim", Role::Specialist, &[DISTRICT]);
    server.user("daniyar", Role::Specialist, &[OTHER_DISTRICT]);
    let a = server.phone("aigerim").await;
    let b = server.phone("daniyar").await;
    let mut s = sample(34);
    let (child, rep, _) = register_family(&a.store, &mut s, d("2024-01-10"));
    a.sync().await.unwrap();
    let (case, file) = (DocId::case(&child.id), DocId::representative(&rep.id));

    let notes = qamqor_server::admin::assign(&server.service, "daniyar", &case.to_string(), true).unwrap();
    assert!(notes.is_empty());
    b.sync().await.unwrap();
    let mut held = b.store.document_ids().unwrap();
    held.sort();
    let mut want = vec![case.clone(), file.clone()];
    want.sort();
    assert_eq!(held, want, "the case comes with its guardian's file");

    qamqor_server::admin::assign(&server.service, "daniyar", &case.to_string(), false).unwrap();
    b.sync().await.unwrap();
    assert!(b.store.document_ids().unwrap().is_empty(), "both leave");

    // Unassigning a case the user sees through their district says so.
    let notes = qamqor_server::admin::assign(&server.service, "aigerim", &case.to_string(), false).unwrap();
    assert!(notes.iter().any(|n| n.contains("through their districts")), "{notes:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ended_mentorship_leaves_the_mentors_phone() {
    let server = TestServer::start().await;
    server.user("aigerim", Role::Specialist, &[DISTRICT]);
    server.user("mentor.aliya", Role::Mentor, &[]);
    let spec = server.phone("aigerim").await;
    let mut s = sample(35);
    let child = s.child();
    spec.store.register_child(&child).unwrap();
    let mentor = s.mentor("mentor.aliya");
    spec.store.register_mentor(&mentor).unwrap();
    let ship = Mentorship {
        id: MentorshipId::new(),
        mentor_id: mentor.id.clone(),
        child_id: child.id.clone(),
        contract_ref: "T-9".into(),
        start_date: d("2025-09-01"),
        end_date: None,
    };
    spec.store.start_mentorship(&ship).unwrap();
    spec.sync().await.unwrap();
    let m = server.phone("mentor.aliya").await;
    m.sync().await.unwrap();
    assert!(m.store.document_ids().unwrap().contains(&DocId::mentee(&ship.id)));

    assert!(spec.store.end_mentorship(&ship.id, d("2025-08-01")).is_err(), "before it started");
    spec.store.end_mentorship(&ship.id, d("2026-11-20")).unwrap();
    spec.sync().await.unwrap();
    let report = m.sync().await.unwrap();
    assert_eq!(report.removed, vec![DocId::mentee(&ship.id)]);
    assert!(m.store.meeting_log(&mentor.id).is_ok(), "the log stays with the mentor");
    assert!(spec.store.mentee(&ship.id).unwrap().mentorship.end_date.is_some(), "specialists keep it");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opening_a_file_on_the_phone_reaches_the_servers_audit_once() {
    let server = TestServer::start().await;
    server.user("aigerim", Role::Specialist, &[DISTRICT]);
    let mut a = server.phone("aigerim").await;
    let mut s = sample(36);
    let child = s.child();
    a.store.register_child(&child).unwrap();
    a.sync().await.unwrap();
    let case = DocId::case(&child.id).to_string();
    a.store.child_file(&child.id).unwrap();
    a.store.child_file(&child.id).unwrap();
    // The response is lost: the records are sent again, and counted once.
    let proxy = DropProxy::start(server.running.as_ref().unwrap().addr).await;
    let direct = a.config.url.clone();
    a.config.url = proxy.url.clone();
    proxy.drop_next(1);
    assert!(a.sync().await.is_err());
    a.config.url = direct;
    a.sync().await.unwrap();
    a.sync().await.unwrap();
    let audit = server.service.storage().audit_log(500).unwrap();
    let reads: Vec<_> = audit.iter().filter(|e| e.action == "read_on_phone" && e.doc_id == case).collect();
    assert_eq!(reads.len(), 2, "{reads:?}");
    assert!(reads.iter().all(|e| e.user_id == "aigerim" && e.address.as_deref() == Some("127.0.0.1")));
}
