//! The server at its edge, against a stranger with network access and no
//! credentials: bodies are not read before authentication, connections
//! and attempts are bounded per address, enrollment codes cannot be
//! guessed, raced or burnt by others, and every refusal is clear.

#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use qamqor_core::docs::DocId;
use qamqor_core::sync::wire::DocStatus;
use qamqor_server::ServerError;
use qamqor_server::model::Role;
use qamqor_server::service::{EnrollRequest, MAX_CODE_FAILURES};
use qamqor_tests::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Sends raw bytes and returns what comes back before the server closes
/// or `wait` passes.
async fn raw(addr: std::net::SocketAddr, request: &[u8], wait: Duration) -> String {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(request).await.unwrap();
    let mut out = vec![0u8; 4096];
    let n = tokio::time::timeout(wait, s.read(&mut out)).await.map(|r| r.unwrap_or(0)).unwrap_or(0);
    String::from_utf8_lossy(&out[..n]).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unauthenticated_sync_is_refused_before_its_body_is_read() {
    let server = TestServer::start().await;
    let addr = server.running.as_ref().unwrap().addr;
    // Announces 16 MB and sends none of it: the answer comes at once.
    for auth in ["", "Authorization: Bearer 0000000000000000000000000000000000000000000000000000000000000000\r\n"] {
        let head = format!("POST /v1/sync HTTP/1.1\r\nHost: x\r\n{auth}Content-Length: 16000000\r\n\r\n");
        let started = Instant::now();
        let answer = raw(addr, head.as_bytes(), Duration::from_secs(5)).await;
        assert!(answer.starts_with("HTTP/1.1 401"), "{answer}");
        assert!(answer.contains("\"error\""), "a JSON body: {answer}");
        assert!(started.elapsed() < Duration::from_secs(3));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_sign_ins_are_limited_per_address_and_valid_phones_still_sync() {
    let server = TestServer::start_with(|c| c.failed_sign_ins_per_minute = 3).await;
    server.user("aigerim", Role::Specialist, &[DISTRICT]);
    let a = server.phone("aigerim").await;
    let http = reqwest::Client::new();
    let url = format!("{}/v1/sync", server.url());
    let mut statuses = Vec::new();
    for _ in 0..6 {
        let r = http.post(&url).bearer_auth("f".repeat(64)).body(vec![1, 2, 3]).send().await.unwrap();
        statuses.push(r.status().as_u16());
    }
    assert_eq!(statuses, [401, 401, 401, 429, 429, 429]);
    // The phone with a valid token behind the same address is not locked out.
    a.sync().await.unwrap();
    let audit = server.service.storage().audit_log(100).unwrap();
    let failed: Vec<_> = audit.iter().filter(|e| e.action == "sign_in_failed").collect();
    assert_eq!(failed.len(), 3, "refusals past the limit are not audited one by one");
    assert!(failed.iter().all(|e| e.address.as_deref() == Some("127.0.0.1")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enrollment_attempts_are_limited_per_address() {
    let server = TestServer::start_with(|c| c.enrollments_per_minute = 2).await;
    server.user("aigerim", Role::Specialist, &[DISTRICT]);
    let http = reqwest::Client::new();
    let url = format!("{}/v1/enroll", server.url());
    let mut statuses = Vec::new();
    for _ in 0..4 {
        let body = serde_json::json!({"code": "AAAA-BBBB-CCCC-DDDD", "actor": "00aa", "label": "x"});
        statuses.push(http.post(&url).json(&body).send().await.unwrap().status().as_u16());
    }
    assert_eq!(statuses, [401, 401, 429, 429]);
}

fn request(code: &str, actor: &str) -> EnrollRequest {
    EnrollRequest { code: code.into(), actor: actor.into(), label: "phone".into() }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_strangers_guesses_lock_out_the_stranger_not_the_codes_owner() {
    let server = TestServer::start().await;
    server.user("aigerim", Role::Specialist, &[DISTRICT]);
    let code = server.service.issue_code("aigerim", 1).unwrap();
    let id = &code[..4];
    for i in 0..MAX_CODE_FAILURES + 3 {
        let guess = format!("{id}-AAAA-BBBB-CC{i:02}");
        let e = server.service.enroll(&request(&guess, "00aa"), "203.0.113.9").unwrap_err();
        assert!(matches!(e, ServerError::Unauthorized(_)));
    }
    // Even the right secret from the stranger's address is refused now...
    assert!(server.service.enroll(&request(&code, "00ab"), "203.0.113.9").is_err());
    // ...while its owner, elsewhere, enrolls with it.
    let e = server.service.enroll(&request(&code, "00ac"), "198.51.100.7").unwrap();
    assert_eq!(e.user_id, "aigerim");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simultaneous_wrong_secrets_cannot_exceed_the_limit() {
    let server = TestServer::start().await;
    server.user("aigerim", Role::Specialist, &[DISTRICT]);
    let code = server.service.issue_code("aigerim", 1).unwrap();
    let id = code[..4].to_owned();
    std::thread::scope(|scope| {
        for i in 0..64 {
            let (service, id) = (server.service.clone(), id.clone());
            scope.spawn(move || {
                let guess = format!("{id}-AAAA-BBBB-C{i:03}");
                assert!(service.enroll(&request(&guess, "00aa"), "203.0.113.9").is_err());
            });
        }
    });
    let db = rusqlite::Connection::open(server.dir.path().join("qamqor-server.db")).unwrap();
    let attempts: i64 =
        db.query_row("SELECT attempts FROM code_attempts WHERE code_id = ?1", [&id], |r| r.get(0)).unwrap();
    assert_eq!(attempts, i64::from(MAX_CODE_FAILURES), "no more secrets were checked than the limit allows");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_actor_id_no_store_can_use_is_refused_before_the_code_is_spent() {
    let server = TestServer::start().await;
    server.user("aigerim", Role::Specialist, &[DISTRICT]);
    let code = server.service.issue_code("aigerim", 1).unwrap();
    for bad in ["abc", "zz", "", &"a".repeat(66)] {
        let e = server.service.enroll(&request(&code, bad), "127.0.0.1").unwrap_err();
        assert!(matches!(e, ServerError::BadRequest(_)), "{bad}: {e}");
    }
    assert!(server.service.enroll(&request(&code, "0a0b"), "127.0.0.1").is_ok(), "the code is still good");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_and_live_code_ids_take_the_same_time() {
    let server = TestServer::start().await;
    server.user("aigerim", Role::Specialist, &[DISTRICT]);
    let code = server.service.issue_code("aigerim", 1).unwrap();
    let time = |code: String, n: usize| {
        let service = server.service.clone();
        let started = Instant::now();
        for i in 0..n {
            let _ = service.enroll(&request(&code, "00aa"), &format!("10.0.{i}.1"));
        }
        started.elapsed() / n as u32
    };
    let live = time(format!("{}-AAAA-BBBB-CCCC", &code[..4]), 4);
    let unknown = time("ZZZZ-AAAA-BBBB-CCCC".into(), 4);
    // Both run one argon2 verification: within a factor of three, where
    // skipping it would make the unknown one a hundred times faster.
    let (fast, slow) = if live < unknown { (live, unknown) } else { (unknown, live) };
    assert!(slow < fast * 3, "live {live:?}, unknown {unknown:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_connections_are_closed_and_one_address_cannot_take_every_connection() {
    let server = TestServer::start_with(|c| {
        c.header_timeout_secs = 1;
        c.max_connections_per_address = 8;
    })
    .await;
    server.user("aigerim", Role::Specialist, &[DISTRICT]);
    let a = server.phone("aigerim").await;
    let addr = server.running.as_ref().unwrap().addr;
    // Eight idle connections fill this address's share...
    let mut idle = Vec::new();
    for _ in 0..8 {
        idle.push(TcpStream::connect(addr).await.unwrap());
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    // ...so a ninth is closed at once, unread.
    let mut extra = TcpStream::connect(addr).await.unwrap();
    let _ = extra.write_all(b"GET /v1/health HTTP/1.1\r\nHost: x\r\n\r\n").await;
    let mut buf = [0u8; 64];
    let n = tokio::time::timeout(Duration::from_secs(3), extra.read(&mut buf)).await.unwrap().unwrap_or(0);
    assert_eq!(n, 0, "over the limit: closed without an answer");
    // The idle ones are closed by the server after the header timeout.
    for mut c in idle {
        let n = tokio::time::timeout(Duration::from_secs(5), c.read(&mut buf)).await.unwrap().unwrap_or(0);
        assert_eq!(n, 0);
    }
    // And the phone syncs as usual.
    a.sync().await.unwrap();
    // A slowloris sending its headers a byte at a time is cut off too.
    let mut slow = TcpStream::connect(addr).await.unwrap();
    let started = Instant::now();
    let mut cut = false;
    for b in b"POST /v1/sync HTTP/1.1\r\nHost: x\r\nX-Slow: ".iter().cycle().take(200) {
        if slow.write_all(&[*b]).await.is_err() {
            cut = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(cut || started.elapsed() < Duration::from_secs(11), "the slow client was cut off");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mentor_cannot_move_the_meeting_log_to_another_district() {
    let server = TestServer::start().await;
    server.user("aigerim", Role::Specialist, &[DISTRICT]);
    server.user("mentor.aliya", Role::Mentor, &[]);
    let spec = server.phone("aigerim").await;
    let mut s = sample(31);
    let mentor = s.mentor("mentor.aliya");
    spec.store.register_mentor(&mentor).unwrap();
    spec.sync().await.unwrap();
    let m = server.phone("mentor.aliya").await;
    m.sync().await.unwrap();
    let log = DocId::meeting_log(&mentor.id);
    // The mentor's phone rewrites the log's district (as a modified app could).
    m.edit_raw(&log, Some("mentor.aliya"), |tx| {
        use automerge::transaction::Transactable;
        tx.put(automerge::ROOT, "district", OTHER_DISTRICT).unwrap();
    });
    let report = m.sync().await.unwrap();
    assert_eq!(report.refused.len(), 1, "{:?}", report.refused);
    assert_eq!(report.refused[0].status, DocStatus::ReadOnly);
    let on_server = server.service.storage().doc_meta(&log).unwrap().unwrap();
    assert_eq!(on_server.projection.district.as_deref(), Some(DISTRICT));
    // The supervising district still has the log.
    spec.sync().await.unwrap();
    assert!(spec.store.meeting_log(&mentor.id).is_ok());
}

/// A body refused unread (too large, or before authentication) closes its
/// connection: a client that reused it for its next request would find it
/// closed under that request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_refused_unread_does_not_break_the_next_request() {
    let server = TestServer::start_with(|c| c.max_body_bytes = 256 * 1024).await;
    server.user("aigerim", Role::Specialist, &[DISTRICT]);
    let a = server.phone("aigerim").await;
    let http = reqwest::Client::new();
    let url = format!("{}/v1/sync", server.url());
    let health = format!("{}/v1/health", server.url());
    for round in 0..40 {
        let (token, body, status) = if round % 2 == 0 {
            (a.config.token.as_str(), vec![0u8; 1 << 20], 413)
        } else {
            ("f".repeat(64).leak() as &str, vec![0u8; 256 << 10], 401)
        };
        let r = http.post(&url).bearer_auth(token).body(body).send().await;
        if let Ok(r) = r {
            assert_eq!(r.status().as_u16(), status);
            if status == 413 {
                assert_eq!(r.headers().get("connection").and_then(|v| v.to_str().ok()), Some("close"));
            }
        }
        // The next request on the same client always goes through.
        let r = http.get(&health).send().await.unwrap_or_else(|e| panic!("round {round}: {e}"));
        assert_eq!(r.status().as_u16(), 200);
    }
}
