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
