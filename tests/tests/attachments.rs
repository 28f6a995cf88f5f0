//! Evidence attached to checks, visits and risk reports: the file goes up
//! apart from the documents, resumes at the byte the server has after a
//! dropped connection, is refused when damaged, reaches only those who may
//! read the record, urgent first, and stays encrypted on the phone.

#![allow(clippy::unwrap_used)]

use qamqor_core::docs::DocId;
use qamqor_core::model::{MediaType, RiskFactor};
use qamqor_core::store::UploadState;
use qamqor_core::sync::client::{self, ATTACHMENT_CHUNK};
use qamqor_server::model::Role;
use qamqor_tests::*;

fn d(s: &str) -> chrono::NaiveDate {
    s.parse().unwrap()
}

/// A JPEG-looking file of `len` bytes, different for each `seed`.
fn jpeg(len: usize, seed: u8) -> Vec<u8> {
    let mut b = vec![0xFF, 0xD8, 0xFF, 0xE0];
    b.extend((0..len - 4).map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed)));
    b
}

fn pdf(len: usize, seed: u8) -> Vec<u8> {
    let mut b = b"%PDF-1.7\n".to_vec();
    b.extend((0..len - 9).map(|i| (i as u8).wrapping_mul(17).wrapping_add(seed)));
    b
}

async fn upload(p: &Phone) -> qamqor_core::Result<client::AttachmentReport> {
    client::upload_attachments(p.store.clone(), &p.config, &|_: &str, _: u64, _: u64| {}).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scan_goes_up_and_a_colleague_fetches_it() {
    let server = TestServer::start().await;
    server.user("aigerim", Role::Specialist, &[DISTRICT]);
    server.user("daniyar", Role::Specialist, &[DISTRICT]);
    server.user("mentor", Role::Mentor, &[]);
    let a = server.phone("aigerim").await;
    let b = server.phone("daniyar").await;
    let m = server.phone("mentor").await;
    let mut s = sample(40);
    let (_, rep, _) = register_family(&a.store, &mut s, d("2024-01-10"));
    let check = s.check(&rep.id, d("2026-11-20"), None);
    a.store.record_check(&check).unwrap();
    let doc = DocId::representative(&rep.id);
    let scan = pdf(600_000, 1);
    let r = a.store.attach(&doc, "checks", &check.id, &scan, Some("income certificate".into())).unwrap();
    assert_eq!(r.media_type, MediaType::Pdf);
    assert_eq!(a.store.upload_state(&r.hash).unwrap(), Some(UploadState::Queued));
    // Before its record reaches the server, the file waits.
    let early = upload(&a).await.unwrap();
    assert_eq!((early.files_sent, early.waiting), (0, 1));
    a.sync().await.unwrap();
    // Retried later (back-off); made due now for the test.
    a.store.upload_failed(&r.hash, "", false, -1).unwrap();
    let sent = upload(&a).await.unwrap();
    assert_eq!((sent.files_sent, sent.bytes_sent), (1, scan.len() as u64));
    assert_eq!(a.store.upload_state(&r.hash).unwrap(), Some(UploadState::Sent));

    b.sync().await.unwrap();
    assert_eq!(b.store.attachments(&doc).unwrap(), vec![r.clone()]);
    assert_eq!(b.store.attachment_bytes(&r.hash).unwrap(), None, "fetched on demand");
    let fetched = client::fetch_attachment(b.store.clone(), &b.config, &r.hash).await.unwrap();
    assert_eq!(fetched, scan);
    assert_eq!(b.store.attachment_bytes(&r.hash).unwrap(), Some(scan.clone()), "kept after fetching");

    // A mentor never reaches a check's scan, even by its hash; audited.
    let e = client::fetch_attachment(m.store.clone(), &m.config, &r.hash).await.unwrap_err();
    assert!(matches!(e, qamqor_core::Error::Server { status: 403, .. }), "{e:?}");
    let audit = server.service.storage().audit_log(100).unwrap();
    let blob = format!("blob:{}", r.hash);
    assert!(audit.iter().any(|l| l.action == "blob_denied" && l.user_id == "mentor" && l.doc_id == blob));
    assert!(audit.iter().any(|l| l.action == "blob_read" && l.user_id == "daniyar" && l.doc_id == blob));
    assert!(audit.iter().any(|l| l.action == "blob_written" && l.user_id == "aigerim" && l.doc_id == blob));

    // The same scan attached on another phone is not sent twice.
    let second = s.check(&rep.id, d("2026-11-23"), None);
    b.store.record_check(&second).unwrap();
    let twice = b.store.attach(&doc, "checks", &second.id, &scan, Some("copy".into())).unwrap();
    assert_eq!(twice.hash, r.hash);
    b.sync().await.unwrap();
    let again = upload(&b).await.unwrap();
    assert_eq!((again.files_sent, again.bytes_sent), (1, 0), "deduplicated by content");
    // Fetched ahead (on Wi-Fi) within a budget; evicted within a budget;
    // attached ones never.
    let c = server.phone("daniyar").await;
    c.sync().await.unwrap();
    assert_eq!(c.store.missing_attachments().unwrap().len(), 1);
    assert_eq!(client::prefetch_attachments(c.store.clone(), &c.config, 1_000).await.unwrap(), 0, "over budget");
    assert_eq!(client::prefetch_attachments(c.store.clone(), &c.config, 10 << 20).await.unwrap(), 1);
    assert!(c.store.missing_attachments().unwrap().is_empty());
    assert_eq!(c.store.evict_fetched(1_000).unwrap(), 1);
    assert_eq!(c.store.attachment_bytes(&r.hash).unwrap(), None);
    assert_eq!(a.store.evict_fetched(0).unwrap(), 0, "a file attached on this phone stays");
    assert!(a.store.attachment_bytes(&r.hash).unwrap().is_some());
    // A file a record references is never collected.
    let far = chrono::Utc::now().timestamp() + 10 * 365 * 86_400;
    assert_eq!(qamqor_server::blobs::collect_garbage(&server.service, 0, far).unwrap(), 0);
    // Anything but JPEG, PNG or PDF is refused on the phone with a clear error.
    let e = a.store.attach(&doc, "checks", &check.id, b"GIF89a......", None).unwrap_err();
    assert!(e.to_string().contains("JPEG, PNG or PDF"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_cut_off_resumes_at_the_right_offset() {
    let server = TestServer::start().await;
    server.user("aigerim", Role::Specialist, &[DISTRICT]);
    let mut a = server.phone("aigerim").await;
    let mut s = sample(41);
    let (child, _, _) = register_family(&a.store, &mut s, d("2024-01-10"));
    let visit = s.visit(&child, d("2026-11-21"));
    a.store.record_visit(&visit).unwrap();
    let photo = jpeg(5 * ATTACHMENT_CHUNK as usize - 1000, 2);
    let doc = DocId::case(&child.id);
    let r = a.store.attach(&doc, "visits", &visit.id, &photo, None).unwrap();
    a.sync().await.unwrap();

    // The answer to the third chunk is lost: the server stored it, the phone does not know.
    let proxy = DropProxy::start(server.running.as_ref().unwrap().addr).await;
    let direct = a.config.url.clone();
    a.config.url = proxy.url.clone();
    let armed = std::sync::atomic::AtomicBool::new(false);
    let cut = client::upload_attachments(a.store.clone(), &a.config, &|_: &str, sent: u64, _: u64| {
        if sent == 2 * ATTACHMENT_CHUNK && !armed.swap(true, std::sync::atomic::Ordering::SeqCst) {
            proxy.drop_next(1);
        }
    })
    .await;
    assert!(cut.is_err(), "the connection dropped");
    assert_eq!(
        a.store.upload_state(&r.hash).unwrap(),
        Some(UploadState::Sending { sent: 2 * ATTACHMENT_CHUNK, total: photo.len() as u64 })
    );
    let held = server.service.storage().blob_status(&r.hash).unwrap().unwrap();
    assert_eq!((held.received, held.complete), (3 * ATTACHMENT_CHUNK, false));

    // Next round: the phone asks where the server stands and sends only the rest.
    a.config.url = direct;
    let done = upload(&a).await.unwrap();
    assert_eq!(done.files_sent, 1);
    assert_eq!(done.bytes_sent, photo.len() as u64 - 3 * ATTACHMENT_CHUNK);
    assert_eq!(server.service.storage().blob_read(&r.hash).unwrap().unwrap(), photo);
    assert!(server.service.storage().blob_status(&r.hash).unwrap().unwrap().complete);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_damaged_chunk_is_refused_and_nothing_of_it_kept() {
    let server = TestServer::start().await;
    server.user("aigerim", Role::Specialist, &[DISTRICT]);
    let a = server.phone("aigerim").await;
    let mut s = sample(42);
    let (child, _, _) = register_family(&a.store, &mut s, d("2024-01-10"));
    let visit = s.visit(&child, d("2026-11-21"));
    a.store.record_visit(&visit).unwrap();
    let photo = jpeg(100_000, 3);
    let r = a.store.attach(&DocId::case(&child.id), "visits", &visit.id, &photo, None).unwrap();
    a.sync().await.unwrap();
    let http = reqwest::Client::new();
    let put = |body: Vec<u8>, sha: String, range: String, kind: &'static str| {
        http.put(format!("{}/v1/blobs/{}", a.config.url, r.hash))
            .bearer_auth(&a.config.token)
            .header("content-type", kind)
            .header("content-range", range)
            .header("x-chunk-sha256", sha)
            .body(body)
    };
    // A chunk whose content differs from its hash.
    let mut damaged = photo[..50_000].to_vec();
    damaged[10_000] ^= 1;
    let sha = qamqor_core::docs::attachments::content_hash(&photo[..50_000]);
    let resp = put(damaged, sha.clone(), "bytes 0-49999/100000".into(), "image/jpeg").send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 422);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["error"], "damaged");
    assert_eq!(server.service.storage().blob_status(&r.hash).unwrap(), None, "nothing kept");
    // Declared a PDF, but the content is a JPEG.
    let resp =
        put(photo[..50_000].to_vec(), sha, "bytes 0-49999/100000".into(), "application/pdf").send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 415);
    // A chunk at the wrong offset.
    let sha = qamqor_core::docs::attachments::content_hash(&photo[50_000..]);
    let resp =
        put(photo[50_000..].to_vec(), sha, "bytes 50000-99999/100000".into(), "image/jpeg").send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 409);
    // The phone's own upload goes through.
    assert_eq!(upload(&a).await.unwrap().files_sent, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_risk_reports_evidence_goes_before_routine_photos() {
    let server = TestServer::start().await;
    server.user("aigerim", Role::Specialist, &[DISTRICT]);
    let a = server.phone("aigerim").await;
    let mut s = sample(43);
    let (child, rep, _) = register_family(&a.store, &mut s, d("2024-01-10"));
    let visit = s.visit(&child, d("2026-11-21"));
    a.store.record_visit(&visit).unwrap();
    let case = DocId::case(&child.id);
    // A 20 MB PDF and 50 photos queued first.
    a.store.attach(&case, "visits", &visit.id, &pdf(20 << 20, 9), Some("act".into())).unwrap();
    for i in 0..50u8 {
        a.store.attach(&case, "visits", &visit.id, &jpeg(40_000, i), None).unwrap();
    }
    // Then a risk report with its evidence.
    let report = qamqor_core::model::RiskReport {
        id: qamqor_core::model::EventId::new(),
        representative_id: rep.id.clone(),
        date: d("2026-11-22"),
        reported_by: "aigerim".into(),
        factor: RiskFactor::CriminalProsecution,
        source: "police notice".into(),
        supersedes: None,
    };
    a.store.report_risk(&report).unwrap();
    let evidence = pdf(300_000, 77);
    let urgent = a.store.attach(&DocId::representative(&rep.id), "risk_reports", &report.id, &evidence, None).unwrap();
    let queue = a.store.upload_queue().unwrap();
    assert_eq!(queue.len(), 52);
    assert_eq!(queue[0].hash, urgent.hash, "the risk report's evidence first");
    a.sync().await.unwrap();
    let order = std::sync::Mutex::new(Vec::new());
    client::upload_attachments(a.store.clone(), &a.config, &|hash: &str, sent: u64, total: u64| {
        if sent == total {
            order.lock().unwrap().push(hash.to_owned());
        }
    })
    .await
    .unwrap();
    let order = order.into_inner().unwrap();
    assert_eq!(order.len(), 52);
    assert_eq!(order[0], urgent.hash);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reassigned_cases_attachments_leave_the_old_phone() {
    let server = TestServer::start().await;
    server.user("aigerim", Role::Specialist, &[DISTRICT]);
    server.user("daniyar", Role::Specialist, &[OTHER_DISTRICT]);
    let a = server.phone("aigerim").await;
    let b = server.phone("daniyar").await;
    let mut s = sample(44);
    let (child, _, _) = register_family(&a.store, &mut s, d("2024-01-10"));
    let visit = s.visit(&child, d("2026-11-21"));
    a.store.record_visit(&visit).unwrap();
    let case = DocId::case(&child.id);
    let r = a.store.attach(&case, "visits", &visit.id, &jpeg(10_000, 5), None).unwrap();
    a.sync().await.unwrap();
    upload(&a).await.unwrap();
    // Assigned to daniyar: he may fetch it; unassigned again: he may not.
    qamqor_server::admin::assign(&server.service, "daniyar", &case.to_string(), true).unwrap();
    b.sync().await.unwrap();
    assert!(client::fetch_attachment(b.store.clone(), &b.config, &r.hash).await.is_ok());
    qamqor_server::admin::assign(&server.service, "daniyar", &case.to_string(), false).unwrap();
    b.sync().await.unwrap();
    assert_eq!(b.store.attachment_bytes(&r.hash).unwrap(), None, "the file left with the record");
    let e = client::fetch_attachment(b.store.clone(), &b.config, &r.hash).await.unwrap_err();
    assert!(matches!(e, qamqor_core::Error::Server { status: 403, .. }), "{e:?}");
    // A new phone of his (nothing kept locally) is refused the file.
    let c = server.phone("daniyar").await;
    let e = client::fetch_attachment(c.store.clone(), &c.config, &r.hash).await.unwrap_err();
    assert!(matches!(e, qamqor_core::Error::Server { status: 403, .. }), "{e:?}");
}

#[test]
fn attachments_are_encrypted_at_rest() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("phone.db");
    let mut o = qamqor_core::store::StoreOptions::new("aigerim");
    o.today = Some(today());
    let store = qamqor_core::store::Store::open(&path, &[3; 32], o).unwrap();
    let mut s = sample(45);
    let (child, _, _) = register_family(&store, &mut s, d("2024-01-10"));
    let visit = s.visit(&child, d("2026-11-21"));
    store.record_visit(&visit).unwrap();
    let marker = b"QAMQOR-ATTACHMENT-PLAINTEXT-MARKER";
    let mut photo = jpeg(200_000, 6);
    photo[1000..1000 + marker.len()].copy_from_slice(marker);
    store.attach(&DocId::case(&child.id), "visits", &visit.id, &photo, None).unwrap();
    drop(store);
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        assert!(!bytes.windows(marker.len()).any(|w| w == marker), "the file is readable on disk");
    }
}

/// The files kept in a folder instead of the database: the same behaviour.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_kept_in_a_folder() {
    let folder = tempfile::tempdir().unwrap();
    let blob_dir = folder.path().join("blobs");
    let dir = blob_dir.clone();
    let server = TestServer::start_with(move |c| c.blob_dir = Some(dir)).await;
    server.user("aigerim", Role::Specialist, &[DISTRICT]);
    server.user("daniyar", Role::Specialist, &[DISTRICT]);
    let a = server.phone("aigerim").await;
    let b = server.phone("daniyar").await;
    let mut s = sample(46);
    let (child, _, _) = register_family(&a.store, &mut s, d("2024-01-10"));
    let visit = s.visit(&child, d("2026-11-21"));
    a.store.record_visit(&visit).unwrap();
    let photo = jpeg(3 * ATTACHMENT_CHUNK as usize + 17, 8);
    let r = a.store.attach(&DocId::case(&child.id), "visits", &visit.id, &photo, None).unwrap();
    a.sync().await.unwrap();
    assert_eq!(upload(&a).await.unwrap().files_sent, 1);
    assert_eq!(std::fs::read(blob_dir.join(&r.hash)).unwrap(), photo, "whole in the folder");
    b.sync().await.unwrap();
    assert_eq!(client::fetch_attachment(b.store.clone(), &b.config, &r.hash).await.unwrap(), photo);
}

/// The phone's process is killed mid-upload: the next run resumes at the
/// byte the server has, and the file arrives whole.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_killed_with_its_process_resumes_at_the_right_offset() {
    use std::io::BufRead;
    let server = TestServer::start().await;
    server.user("aigerim", Role::Specialist, &[DISTRICT]);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("phone.db");
    let mut o = qamqor_core::store::StoreOptions::new("aigerim");
    o.today = Some(today());
    let store = std::sync::Arc::new(qamqor_core::store::Store::open(&path, &[3; 32], o).unwrap());
    let code = server.service.issue_code("aigerim", 1).unwrap();
    let e = client::enroll(&server.url(), None, &code, &store.actor_id(), "phone").await.unwrap();
    let config = client::ServerConfig {
        url: server.url(),
        token: e.token.clone(),
        ca_pem: None,
        timeout: std::time::Duration::from_secs(30),
    };
    let mut s = sample(47);
    let (child, _, _) = register_family(&store, &mut s, d("2024-01-10"));
    let visit = s.visit(&child, d("2026-11-21"));
    store.record_visit(&visit).unwrap();
    let photo = jpeg(8 * ATTACHMENT_CHUNK as usize + 5, 9);
    let r = store.attach(&DocId::case(&child.id), "visits", &visit.id, &photo, None).unwrap();
    client::sync(store.clone(), &config, Default::default()).await.unwrap();
    drop(store);

    let mut phone = std::process::Command::new(env!("CARGO_BIN_EXE_upload-child"))
        .env("QAMQOR_STORE", &path)
        .env("QAMQOR_URL", server.url())
        .env("QAMQOR_TOKEN", &e.token)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(phone.stdout.take().unwrap()).lines();
    let first = tokio::task::block_in_place(|| lines.next().unwrap().unwrap());
    assert!(first.starts_with("sent "), "{first}");
    phone.kill().unwrap();
    phone.wait().unwrap();
    let held = server.service.storage().blob_status(&r.hash).unwrap().unwrap();
    assert!(!held.complete && held.received > 0 && held.received < photo.len() as u64, "{held:?}");

    let mut o = qamqor_core::store::StoreOptions::new("aigerim");
    o.today = Some(today());
    let store = std::sync::Arc::new(qamqor_core::store::Store::open(&path, &[3; 32], o).unwrap());
    let done = client::upload_attachments(store.clone(), &config, &|_: &str, _: u64, _: u64| {}).await.unwrap();
    assert_eq!(done.files_sent, 1);
    let held_now = server.service.storage().blob_status(&r.hash).unwrap().unwrap();
    assert!(held_now.complete);
    assert!(done.bytes_sent <= photo.len() as u64 - held.received, "resumed where the server stood, not from 0");
    assert_eq!(server.service.storage().blob_read(&r.hash).unwrap().unwrap(), photo);
    assert_eq!(store.upload_state(&r.hash).unwrap(), Some(UploadState::Sent));
}
