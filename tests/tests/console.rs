//! The office console over real HTTP: sign-in with a second factor,
//! lockout, CSRF, figures that follow a phone's sync, revocation, codes,
//! exports read back, and roles.

#![allow(clippy::unwrap_used)]

use qamqor_server::console::signin;
use qamqor_server::model::Role;
use qamqor_tests::console::*;
use qamqor_tests::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_office_signs_in_with_a_second_factor_and_runs_the_region() {
    let server = TestServer::start().await;
    server.user("aigerim", Role::Specialist, &[DISTRICT]);
    let head = office_user(&server, "head", Role::Admin);
    let phone = server.phone("aigerim").await;
    let mut s = sample(60);
    let (_, rep, _) = register_family(&phone.store, &mut s, chrono::NaiveDate::from_ymd_opt(2023, 1, 10).unwrap());
    phone.sync().await.unwrap();
    let device_id =
        server.service.storage().devices().unwrap().into_iter().find(|d| d.user_id == "aigerim").unwrap().id;

    let mut b = Browser::new(&server);
    // Not signed in: sent to the sign-in page.
    let (status, _) = b.get("/console").await;
    assert_eq!(status, 303);
    // A password without the second factor is refused; so is a form posted without the page's token.
    assert_eq!(b.sign_in("head", &head.password, "000000").await, 401);
    let (status, _) =
        b.post("/console/login", &[("user", "head"), ("password", &head.password), ("code", &code(&head, 0))]).await;
    assert_eq!(status, 403, "no CSRF token");
    assert_eq!(b.sign_in("head", &head.password, &code(&head, 0)).await, 303);
    let (status, page) = b.get("/console").await;
    assert_eq!(status, 200);
    assert!(page.contains("id=\"figures\""), "{page}");
    let overdue_row = |page: &str| page.contains("<th>Проверка просрочена</th><td class=\"n\">1</td>");
    assert!(overdue_row(&page), "one representative, overdue since 2024");

    // A check synced by the phone changes the figure.
    phone.store.record_check(&s.check(&rep.id, today(), None)).unwrap();
    phone.sync().await.unwrap();
    let (_, page) = b.get("/console").await;
    assert!(page.contains("<th>Проверка проведена</th><td class=\"n\">1</td>"), "{page}");
    assert!(!overdue_row(&page));

    // Language per user.
    let csrf = Browser::csrf(&page);
    assert_eq!(b.post("/console/lang", &[("csrf", &csrf), ("lang", "kk")]).await.0, 303);
    let (_, page) = b.get("/console").await;
    assert!(page.contains("Көрсеткіштер") && page.contains("lang=\"kk\""));

    // Exports: CSV and XLSX, read back.
    let (status, csv) = b.get("/console/export/figures.csv").await;
    assert_eq!(status, 200);
    assert!(csv.contains("Тексеру жасалды,1,1"), "{csv}");
    let (status, xlsx) = b.get_bytes("/console/export/figures.xlsx").await;
    assert_eq!(status, 200);
    let mut book: calamine::Xlsx<_> = calamine::open_workbook_from_rs(std::io::Cursor::new(xlsx)).unwrap();
    use calamine::Reader;
    let sheet = book.worksheet_range_at(0).unwrap().unwrap();
    let row = sheet.rows().find(|r| r[0] == "Тексеру жасалды").unwrap();
    assert_eq!(row[1].to_string(), "1");

    // Devices: a form posted without the token is refused; with it, the phone is revoked and wipes.
    let (_, page) = b.get("/console/devices").await;
    assert!(page.contains(&device_id));
    let (status, _) = b.post("/console/devices/revoke", &[("device", &device_id)]).await;
    assert_eq!(status, 403);
    let csrf = Browser::csrf(&page);
    let (status, page) = b.post("/console/devices/revoke", &[("csrf", &csrf), ("device", &device_id)]).await;
    assert_eq!(status, 200);
    assert!(page.contains("келесі байланыста"), "{page}");
    let report = phone.sync().await.unwrap();
    assert!(report.wiped, "the revoked phone wiped its data");

    // An enrollment code, as text and QR code.
    let (_, page) = b.get("/console/codes").await;
    let csrf = Browser::csrf(&page);
    let (status, page) = b.post("/console/codes", &[("csrf", &csrf), ("user", "aigerim"), ("hours", "24")]).await;
    assert_eq!(status, 200);
    assert!(page.contains("<svg"), "QR code");
    let at = page.find("id=\"code\">").unwrap() + 10;
    let new_code = &page[at..at + 19];
    assert_eq!(new_code.len(), 19, "{new_code}");

    // Every action is in the audit.
    let (_, page) = b.get("/console/audit?who=head").await;
    for action in ["console_sign_in", "device_revoked", "code_issued", "figures_exported"] {
        assert!(page.contains(action), "{action} audited");
    }

    // Sign-out everywhere ends the session.
    let csrf = Browser::csrf(&page);
    assert_eq!(b.post("/console/logout-all", &[("csrf", &csrf)]).await.0, 303);
    assert_eq!(b.get("/console").await.0, 303);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn codes_are_used_once_failures_lock_and_analysts_see_figures_only() {
    let server = TestServer::start().await;
    let analyst = office_user(&server, "analyst", Role::Analyst);
    let mut b = Browser::new(&server);
    let first = code(&analyst, 0);
    assert_eq!(b.sign_in("analyst", &analyst.password, &first).await, 303);
    // The same code a second time is refused (a code is used once).
    let mut other = Browser::new(&server);
    assert_eq!(other.sign_in("analyst", &analyst.password, &first).await, 401);
    // The analyst sees the figures, not the devices, codes or audit.
    assert_eq!(b.get("/console").await.0, 200);
    for page in ["/console/devices", "/console/codes", "/console/audit"] {
        assert_eq!(b.get(page).await.0, 403, "{page}");
    }
    // Five wrong attempts lock the account: even the right code is refused.
    for _ in 0..5 {
        assert_eq!(other.sign_in("analyst", "wrong password", &code(&analyst, 1)).await, 401);
    }
    let (_, page) = other.get("/console/login").await;
    let csrf = Browser::csrf(&page);
    let (status, page) = other
        .post(
            "/console/login",
            &[("csrf", &csrf), ("user", "analyst"), ("password", &analyst.password), ("code", &code(&analyst, 1))],
        )
        .await;
    assert_eq!(status, 401);
    assert!(page.contains("15"), "locked: {page}");
    // Specialists have no console.
    server.user("aigerim", Role::Specialist, &[DISTRICT]);
    assert!(signin::create_account(&server.service, "aigerim").is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_work_list_users_and_files_from_the_console() {
    use qamqor_core::docs::DocId;
    use qamqor_core::model::*;
    let server = TestServer::start().await;
    server.user("aigerim", Role::Specialist, &[DISTRICT]);
    qamqor_server::admin::set_adoption_access(&server.service, "aigerim", true).unwrap();
    let head = office_user(&server, "head", Role::Admin);
    office_user(&server, "analyst", Role::Analyst);
    let phone = server.phone("aigerim").await;
    let mut s = sample(61);
    let since = chrono::NaiveDate::from_ymd_opt(2023, 1, 10).unwrap();
    // One representative overdue, one at risk, one adoptive parent (adoption tier, overdue too).
    let (_, overdue, _) = register_family(&phone.store, &mut s, since);
    let (child_at_risk, at_risk, _) = register_family(&phone.store, &mut s, since);
    phone.store.record_check(&s.check(&at_risk.id, today(), Some(RiskFactor::CriminalProsecution))).unwrap();
    let adopted = s.child();
    let parent = Representative { role: RepresentativeRole::AdoptiveParent, ..s.representative(since) };
    phone.store.register_child(&adopted).unwrap();
    phone.store.register_representative(&parent).unwrap();
    let adoption = Placement {
        form: PlacementForm::Adoption,
        kin: None,
        ..s.placement(&adopted, &parent, since.max(adopted.birth_date))
    };
    phone.store.place_child(&adoption).unwrap();
    phone.sync().await.unwrap();
    let rep_doc = |id: &RepresentativeId| DocId::representative(id).to_string();

    let mut b = Browser::new(&server);
    assert_eq!(b.sign_in("head", &head.password, &code(&head, 0)).await, 303);
    let (status, page) = b.get(&format!("/console/tasks?as_of={}", today())).await;
    assert_eq!(status, 200);
    let risk_at = page.find(&rep_doc(&at_risk.id)).unwrap();
    let overdue_at = page.find(&rep_doc(&overdue.id)).unwrap();
    assert!(risk_at < overdue_at, "the risk factor is listed first");
    assert!(page.contains("Фактор риска") && page.contains("Проверка просрочена") && page.contains("aigerim"));
    assert!(!page.contains(&rep_doc(&parent.id)), "the adoption tier is not listed to the office without the grant");
    let (_, csv) = b.get(&format!("/console/export/tasks.csv?as_of={}", today())).await;
    assert!(csv.contains(&format!("Проверка просрочена,{},{DISTRICT}", rep_doc(&overdue.id))), "{csv}");

    // A file, read-only: its reading is audited; the adoption tier is refused without the grant.
    let (status, page) = b.get(&format!("/console/file?id={}", rep_doc(&at_risk.id))).await;
    assert_eq!(status, 200);
    assert!(page.contains(&at_risk.name.family), "the file shows the representative");
    let (status, _) = b.get(&format!("/console/file?id={}", rep_doc(&parent.id))).await;
    assert_eq!(status, 403);
    let (_, page) = b.get("/console/audit?what=console_read").await;
    assert!(page.contains(&rep_doc(&at_risk.id)) && page.contains("console_read_denied"), "{page}");

    // Users: add a specialist with a district, grant the adoption tier, assign a case, set a sign-in.
    let (_, page) = b.get("/console/users").await;
    let csrf = Browser::csrf(&page);
    let (status, page) = b
        .post(
            "/console/users/add",
            &[
                ("csrf", &csrf),
                ("id", "dana"),
                ("name", "Дана Серікқызы"),
                ("role", "specialist"),
                ("districts", OTHER_DISTRICT),
            ],
        )
        .await;
    assert_eq!(status, 200);
    assert!(page.contains("Выполнено"), "{page}");
    let dana = server.service.storage().user("dana").unwrap().unwrap();
    assert_eq!(dana.districts, vec![OTHER_DISTRICT.to_string()]);
    let (_, page) =
        b.post("/console/users/add", &[("csrf", &csrf), ("id", "dana"), ("name", "x"), ("role", "specialist")]).await;
    assert!(page.contains("exists already"), "a duplicate is refused by name");
    let (_, page) =
        b.post("/console/users/districts", &[("csrf", &csrf), ("user", "dana"), ("districts", "711110000")]).await;
    assert!(page.contains("not in region 75"), "a district of another region is refused: {page}");
    let both = format!("{OTHER_DISTRICT} {DISTRICT}");
    b.post("/console/users/districts", &[("csrf", &csrf), ("user", "dana"), ("districts", &both)]).await;
    assert_eq!(server.service.storage().user("dana").unwrap().unwrap().districts.len(), 2);
    b.post("/console/users/districts", &[("csrf", &csrf), ("user", "dana"), ("districts", OTHER_DISTRICT)]).await;
    b.post("/console/users/adoption", &[("csrf", &csrf), ("user", "dana"), ("grant", "yes")]).await;
    assert!(server.service.storage().user("dana").unwrap().unwrap().adoption_access);
    let case = DocId::case(&child_at_risk.id).to_string();
    let (_, page) = b
        .post("/console/users/assign", &[("csrf", &csrf), ("user", "dana"), ("doc", &case), ("action", "assign")])
        .await;
    assert!(page.contains("Выполнено"), "{page}");
    assert!(server.service.storage().grants("dana").unwrap().assigned.contains(&case));
    let (_, page) = b
        .post(
            "/console/users/assign",
            &[("csrf", &csrf), ("user", "dana"), ("doc", "case:nonsense"), ("action", "assign")],
        )
        .await;
    assert!(page.contains("class=\"err\""), "an unknown document is refused: {page}");
    let dana_phone = server.phone("dana").await;
    dana_phone.sync().await.unwrap();
    assert_eq!(dana_phone.store.caseload().unwrap().len(), 1, "the assigned case reached her phone");
    let (status, page) = b.post("/console/users/account", &[("csrf", &csrf), ("user", "analyst")]).await;
    assert_eq!(status, 200);
    assert!(page.contains("id=\"password\"") && page.contains("<svg"), "a new sign-in with its QR code");
    let (_, page) = b.get("/console/audit?who=head").await;
    for action in
        ["user_added", "districts_set", "adoption_granted", "assigned", "console_account_set", "tasks_exported"]
    {
        assert!(page.contains(action), "{action} audited");
    }
    // A form without its token changes nothing.
    assert_eq!(b.post("/console/users/adoption", &[("user", "aigerim"), ("grant", "no")]).await.0, 403);
    assert!(server.service.storage().user("aigerim").unwrap().unwrap().adoption_access);

    // The analyst: the work list and figures, no files, users or audit.
    let mut a = Browser::new(&server);
    let analyst = signin::create_account(&server.service, "analyst").unwrap();
    assert_eq!(a.sign_in("analyst", &analyst.password, &code(&analyst, 0)).await, 303);
    let (status, page) = a.get(&format!("/console/tasks?as_of={}", today())).await;
    assert_eq!(status, 200);
    assert!(!page.contains("/console/file?"), "no links to files for analysts");
    for path in ["/console/users", "/console/export/users.csv", "/console/export/audit.xlsx"] {
        assert_eq!(a.get(path).await.0, 403, "{path}");
    }
    assert_eq!(a.get(&format!("/console/file?id={}", rep_doc(&at_risk.id))).await.0, 403);
}
