//! Dropped connections, server restarts, repeated requests and bad input:
//! every acknowledged change stays, nothing is duplicated, nothing panics.

#![allow(clippy::unwrap_used)]

use qamqor_core::Error;
use qamqor_core::docs::DocId;
use qamqor_core::sync::session::Session;
use qamqor_core::sync::wire::{self, DocMessage, DocStatus, Limits, SyncRequest};
use qamqor_server::model::Role;
use qamqor_tests::*;

fn d(s: &str) -> chrono::NaiveDate {
    s.parse().unwrap()
}

fn assert_converged(server: &TestServer, phone: &Phone) {
    for id in phone.store.document_ids().unwrap() {
        let on_server = server.service.storage().load_doc(&id).unwrap().expect("on the server");
        assert_eq!(on_server.get_heads(), phone.store.heads(&id).unwrap(), "{id}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_responses_restarts_and_repeats_lose_and_duplicate_nothing() {
    let mut server = TestServer::start().await;
    server.user("aigerim", Role::Specialist, &[DISTRICT]);
    let mut a = server.phone("aigerim").await;
    let mut s = sample(11);
    let child = s.child();
    a.store.register_child(&child).unwrap();
    let dates = ["2026-01-10", "2026-03-10", "2026-05-10", "2026-07-10", "2026-09-10"];
    for day in &dates[..2] {
        a.store.record_visit(&s.visit(&child, d(day))).unwrap();
    }

    // 1. The network drops every answer of the first sync.
    let proxy = DropProxy::start(server.running.as_ref().unwrap().addr).await;
    let direct = a.config.url.clone();
    a.config.url = proxy.url.clone();
    proxy.drop_next(100);
    assert!(matches!(a.sync().await, Err(Error::Network(_))));
    proxy.drop_next(0);
    a.sync().await.unwrap();
    assert_converged(&server, &a);

    // 2. The server restarts in the middle of a sync.
    for day in &dates[2..4] {
        a.store.record_visit(&s.visit(&child, d(day))).unwrap();
    }
    a.config.url = direct;
    let one_round = Limits { max_rounds: 1, ..Limits::default() };
    assert!(matches!(
        qamqor_core::sync::client::sync(a.store.clone(), &a.config, one_round).await,
        Err(Error::TooManyRounds(1))
    ));
    let url = server.restart().await;
    a.config.url = url;
    a.sync().await.unwrap();
    assert_converged(&server, &a);

    // 3. The same request is sent twice.
    a.store.record_visit(&s.visit(&child, d(dates[4]))).unwrap();
    let mut session = Session::new(Limits::default());
    let req = session.next_request(&*a.store).unwrap().unwrap();
    let body = wire::encode(&req);
    let http = reqwest::Client::new();
    for _ in 0..2 {
        let r = http
            .post(format!("{}/v1/sync", server.url()))
            .bearer_auth(&a.config.token)
            .body(body.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let resp = wire::decode_response(&r.bytes().await.unwrap(), &Limits::default()).unwrap();
        session.apply(&*a.store, &resp).unwrap();
    }
    a.sync().await.unwrap();
    assert_converged(&server, &a);

    // Every visit is on the server exactly once.
    let id = DocId::case(&child.id);
    let doc = server.service.storage().load_doc(&id).unwrap().unwrap();
    let json = content(&doc.save());
    assert_eq!(json["visits"].as_object().unwrap().len(), dates.len());
    // A second phone of another specialist receives the same case intact.
    server.user("daniyar", Role::Specialist, &[DISTRICT]);
    let b = server.phone("daniyar").await;
    b.sync().await.unwrap();
    assert_eq!(b.store.child_file(&child.id).unwrap().visits.len(), dates.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_to_every_endpoint_gets_a_clear_error_and_harms_nothing() {
    let mut server = TestServer::start_with(|c| {
        c.max_body_bytes = 256 * 1024;
        // Every request here comes from 127.0.0.1; the limits have their own test.
        c.enrollments_per_minute = 1000;
        c.failed_sign_ins_per_minute = 1000;
    })
    .await;
    server.user("aigerim", Role::Specialist, &[DISTRICT]);
    let a = server.phone("aigerim").await;
    let mut s = sample(12);
    let child = s.child();
    a.store.register_child(&child).unwrap();
    a.sync().await.unwrap();
    let id = DocId::case(&child.id);
    let heads = server.service.storage().load_doc(&id).unwrap().unwrap().get_heads();
    let base = server.url();
    let http = reqwest::Client::new();
    let sync_url = format!("{base}/v1/sync");

    let status_and_code = |r: reqwest::Response| async move {
        let status = r.status().as_u16();
        let body: serde_json::Value = r.json().await.unwrap_or_default();
        (status, body["error"].as_str().unwrap_or("").to_owned(), body["message"].as_str().unwrap_or("").to_owned())
    };

    // Authentication.
    let r = http.post(&sync_url).body(wire::encode(&SyncRequest::default())).send().await.unwrap();
    assert_eq!(status_and_code(r).await.0, 401);
    let forged = "ab".repeat(32);
    let r = http.post(&sync_url).bearer_auth(&forged).body(vec![1, 2, 3]).send().await.unwrap();
    assert_eq!(status_and_code(r).await.1, "unauthorized");
    let r = http.post(&sync_url).header("Authorization", "Basic xyz").send().await.unwrap();
    assert_eq!(status_and_code(r).await.0, 401);

    // Garbage, truncated and oversized bodies.
    let tok = &a.config.token;
    for body in [
        b"garbage".to_vec(),
        wire::encode(&SyncRequest { v: wire::PROTOCOL_VERSION, ..Default::default() })[..3].to_vec(),
        vec![],
    ] {
        let r = http.post(&sync_url).bearer_auth(tok).body(body).send().await.unwrap();
        let (status, code, _) = status_and_code(r).await;
        assert_eq!((status, code.as_str()), (400, "bad_request"));
    }
    let r = http.post(&sync_url).bearer_auth(tok).body(vec![0u8; 1 << 20]).send().await.unwrap();
    assert_eq!(status_and_code(r).await.0, 413);
    let r = http
        .post(&sync_url)
        .bearer_auth(tok)
        .header("Content-Encoding", "gzip")
        .body(b"not gzip".to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(status_and_code(r).await.0, 400);
    let old = SyncRequest { v: 99, ..Default::default() };
    let r = http.post(&sync_url).bearer_auth(tok).body(wire::encode(&old)).send().await.unwrap();
    let (status, _, message) = status_and_code(r).await;
    assert_eq!(status, 400);
    assert!(message.contains("version"), "{message}");

    // Truncated Automerge messages, unknown and malformed document ids.
    let mut state = automerge::sync::State::new();
    let full = a.store.export_document(&id).unwrap();
    let mut donor = automerge::Automerge::load(&full).unwrap();
    let _ = &mut donor;
    let msg = qamqor_core::sync::engine::generate(&donor, &mut state).unwrap();
    let req = SyncRequest {
        v: wire::PROTOCOL_VERSION,
        docs: vec![
            DocMessage::sync(id.to_string(), msg[..msg.len() / 2].to_vec()),
            DocMessage::sync("case:nothex", msg.clone()),
            DocMessage::sync("x".repeat(5000), vec![]),
            DocMessage::sync(
                DocId::representative(&qamqor_core::model::RepresentativeId::new()).to_string(),
                vec![0x42; 10],
            ),
        ],
        ..Default::default()
    };
    let r = http.post(&sync_url).bearer_auth(tok).body(wire::encode(&req)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let resp = wire::decode_response(&r.bytes().await.unwrap(), &Limits::default()).unwrap();
    let statuses: Vec<_> = resp.results.iter().map(|r| r.status).collect();
    assert_eq!(
        statuses,
        [DocStatus::Invalid, DocStatus::Invalid, DocStatus::Invalid, DocStatus::Invalid],
        "{:?}",
        resp.results
    );
    assert!(resp.results.iter().all(|r| r.id.len() <= 80));

    // Too many documents in one request.
    let many = SyncRequest {
        v: wire::PROTOCOL_VERSION,
        docs: vec![DocMessage::sync(id.to_string(), vec![]); 1001],
        ..Default::default()
    };
    let r = http.post(&sync_url).bearer_auth(tok).body(wire::encode(&many)).send().await.unwrap();
    assert_eq!(status_and_code(r).await.0, 400);

    // Enrollment.
    let enroll = format!("{base}/v1/enroll");
    let r = http.post(&enroll).body("{not json").send().await.unwrap();
    assert_eq!(status_and_code(r).await.0, 400);
    let r = http
        .post(&enroll)
        .json(&serde_json::json!({"code": "AAAA-BBBB-CCCC-DDDD", "actor": "00ff", "label": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(status_and_code(r).await.0, 401);
    let code = server.service.issue_code("aigerim", 1).unwrap();
    let r =
        http.post(&enroll).json(&serde_json::json!({"code": code, "actor": "zz", "label": "x"})).send().await.unwrap();
    assert_eq!(status_and_code(r).await.0, 400);
    let r = http
        .post(&enroll)
        .json(&serde_json::json!({"code": code, "actor": "00ff", "label": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = http
        .post(&enroll)
        .json(&serde_json::json!({"code": code, "actor": "00fe", "label": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(status_and_code(r).await.0, 401, "a code is single-use");
    // Guessing: five wrong secrets for a code's id lock this address out of it.
    let code = server.service.issue_code("aigerim", 1).unwrap();
    let code_id = &code[..4];
    for i in 0..5 {
        let guess = format!("{code_id}-AAAA-BBBB-CC{:02}", i + 20);
        let r = http
            .post(&enroll)
            .json(&serde_json::json!({"code": guess, "actor": "00aa", "label": "x"}))
            .send()
            .await
            .unwrap();
        assert_eq!(status_and_code(r).await.0, 401);
    }
    let r = http
        .post(&enroll)
        .json(&serde_json::json!({"code": code, "actor": "00ab", "label": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(status_and_code(r).await.0, 401, "the guessing address is locked out of the code");
    // Every refusal has the documented JSON body, unknown routes and methods too.
    let r = http.get(format!("{base}/v1/nothing")).send().await.unwrap();
    assert_eq!(status_and_code(r).await.1, "not_found");
    let r = http.get(&sync_url).send().await.unwrap();
    assert_eq!(
        status_and_code(r).await,
        (405, "method_not_allowed".into(), "this route does not accept this method".into())
    );

    // Expired tokens: the server's clock moves past the token's lifetime.
    server.advance_clock(91 * 86_400).await;
    let r = http
        .post(&sync_url)
        .bearer_auth(tok)
        .body(wire::encode(&SyncRequest { v: wire::PROTOCOL_VERSION, ..Default::default() }))
        .send()
        .await
        .unwrap();
    assert_eq!(status_and_code(r).await.1, "token_expired");
    assert!(matches!(a.sync().await, Err(Error::TokenExpired)));

    // Nothing stored was harmed, and the server still serves.
    assert_eq!(server.service.storage().load_doc(&id).unwrap().unwrap().get_heads(), heads);
    let r = http.get(format!("{base}/v1/health")).send().await.unwrap();
    assert_eq!(r.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_graceful_shutdown_while_a_phone_syncs_loses_nothing() {
    let mut server = TestServer::start().await;
    server.user("aigerim", Role::Specialist, &[DISTRICT]);
    let mut a = server.phone("aigerim").await;
    let mut s = sample(13);
    for _ in 0..300 {
        a.store.register_child(&s.child()).unwrap();
    }
    let store = a.store.clone();
    let config = a.config.clone();
    let syncing = tokio::spawn(async move { qamqor_core::sync::client::sync(store, &config, Limits::default()).await });
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    // Stop accepting connections; requests in flight are finished first.
    server.running.take().unwrap().shutdown().await.unwrap();
    let first = syncing.await.unwrap();
    assert!(first.is_ok() || matches!(first, Err(Error::Network(_))), "{first:?}");
    a.config.url = server.restart().await;
    a.sync().await.unwrap();
    assert_converged(&server, &a);
    assert_eq!(a.store.sync_summary().unwrap().pending, 0);
}
