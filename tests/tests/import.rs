//! An office's register imported on the server reaches the district's
//! phones through the ordinary change feed; imported again, it sends
//! them nothing new and keeps what a phone changed.

#![allow(clippy::unwrap_used)]

use qamqor_core::model::{Region, RepresentativeId};
use qamqor_server::import::{self, Change, Options, Status};
use qamqor_server::model::Role;
use qamqor_tests::*;

fn import(server: &TestServer, file: &std::path::Path) -> import::Report {
    let opts = Options { region: Region::AlmatyCity, today: today(), confirm: true, by: "admin".into() };
    import::run(server.service.storage().as_ref(), &[file.to_owned()], &opts, &mut |_: usize, _: usize| {}).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_imported_register_reaches_the_districts_phones() {
    let server = TestServer::start().await;
    server.user("aigerim", Role::Specialist, &[DISTRICT]);
    server.user("daniyar", Role::Specialist, &[OTHER_DISTRICT]);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("register.xlsx");
    let rows = register::write(&file, 1, &[DISTRICT.into(), OTHER_DISTRICT.into()], 40);
    assert!(rows.representatives < rows.children, "some guardians have two children: {rows:?}");

    let report = tokio::task::block_in_place(|| import(&server, &file));
    assert_eq!(report.count(Status::Refused), 0, "{:?}", report.rows.iter().find(|r| r.status == Status::Refused));
    assert_eq!(report.rows.len(), rows.total());
    assert_eq!(report.changes(Change::Created), rows.total());

    let a = server.phone("aigerim").await;
    let b = server.phone("daniyar").await;
    a.sync().await.unwrap();
    b.sync().await.unwrap();
    let cases = a.store.caseload().unwrap();
    assert_eq!(cases.len() + b.store.caseload().unwrap().len(), 40);
    assert!(cases.iter().all(|c| c.district == DISTRICT && c.placement_form.is_some()));
    // Each case's guardian came with it, with the last check and the
    // children placed with them.
    let child = a.store.child_file(&cases[0].child_id).unwrap();
    let rep_id: RepresentativeId = child.current_placement().unwrap().representative_id.clone().unwrap();
    let rep = a.store.representative_file(&rep_id).unwrap();
    assert_eq!(rep.checks.len(), 1);
    assert!(rep.relations.contains_key(cases[0].child_id.as_str()));
    assert!(a.store.checks_overdue(today()).unwrap().is_empty(), "the last checks are recent");

    // The phone changes a child's school; the same file imported again
    // changes nothing and keeps the phone's edit.
    let mut edited = child.child.clone();
    edited.school = Some("№40 гимназия".into());
    a.store.update_child(&edited).unwrap();
    a.sync().await.unwrap();
    let again = tokio::task::block_in_place(|| import(&server, &file));
    assert_eq!(again.documents, 0);
    assert_eq!(again.count(Status::Warning), 1, "the edited school is named");
    let report = b.sync().await.unwrap();
    assert!(report.changed.is_empty(), "nothing new for the other district");
    a.sync().await.unwrap();
    assert_eq!(a.store.child_file(&cases[0].child_id).unwrap().child.school.as_deref(), Some("№40 гимназия"));
}

/// The same import from the office console: upload, dry run with its
/// report, confirmation; the district's phone then receives the cases.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_office_imports_its_register_from_the_console() {
    use qamqor_tests::console::{Browser, code, office_user};
    let server = TestServer::start().await;
    server.user("aigerim", Role::Specialist, &[DISTRICT]);
    let head = office_user(&server, "head", Role::Admin);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("реестр.xlsx");
    let rows = register::write(&file, 4, &[DISTRICT.into()], 12);
    let bytes = std::fs::read(&file).unwrap();

    let mut b = Browser::new(&server);
    assert_eq!(b.sign_in("head", &head.password, &code(&head, 0)).await, 303);
    let (status, page) = b.get("/console/import").await;
    assert_eq!(status, 200);
    let csrf = Browser::csrf(&page);
    let (status, _) = b.upload("/console/import", "forged", "реестр.xlsx", bytes.clone()).await;
    assert_eq!(status, 403, "no CSRF token, no upload");
    let (status, page) = b.upload("/console/import", &csrf, "реестр.xlsx", bytes).await;
    assert_eq!(status, 200, "{page}");
    assert!(
        page.contains(&format!("<td id=\"import-documents\">{}</td>", rows.children + rows.representatives)),
        "{page}"
    );
    assert_eq!(server.service.storage().feed_end().unwrap(), 0, "a dry run writes nothing");
    let token = {
        let at = page.find("name=\"token\" value=\"").unwrap() + 20;
        page[at..].split('"').next().unwrap().to_owned()
    };
    let (status, report) = b.get_bytes(&format!("/console/import/report?token={token}")).await;
    assert_eq!(status, 200);
    assert!(report.starts_with(b"PK"), "an XLSX report");
    let (status, page) = b.post("/console/import/confirm", &[("csrf", &csrf), ("token", &token)]).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("Сохранено") || page.contains("Stored") || page.contains("Сақталды"), "{page}");
    let (status, page) = b.post("/console/import/confirm", &[("csrf", &csrf), ("token", &token)]).await;
    assert_eq!(status, 200);
    assert!(!page.contains("name=\"token\""), "a confirmation is used once");
    let audit = server.service.storage().audit_log(200).unwrap();
    assert!(
        audit.iter().any(|a| a.action == "import" && a.user_id == "(console: head)" && a.doc_id.starts_with("case:"))
    );
    let phone = server.phone("aigerim").await;
    phone.sync().await.unwrap();
    assert_eq!(phone.store.caseload().unwrap().len(), 12);
}
