//! The console in a real browser: headless Chromium driven over WebDriver
//! (Debian's `chromium` and `chromium-driver`; `scripts/test.sh` installs
//! them and runs this test). Sign-in with the second factor, a figure that
//! changes after a phone syncs a check, language, a code with its QR code,
//! a revoked phone wiped, an XLSX export read back, a form posted without
//! its token refused, and a screenshot of the dashboard.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use fantoccini::{ClientBuilder, Locator};
use qamqor_server::console::signin;
use qamqor_server::model::Role;
use qamqor_tests::*;

struct Driver(std::process::Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn start_driver() -> (Driver, u16) {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let child = std::process::Command::new("chromedriver")
        .arg(format!("--port={port}"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("chromedriver is missing: scripts/test.sh installs Debian's chromium-driver");
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    (Driver(child), port)
}

/// The bytes of the first file ending in `ext` that finishes downloading.
async fn wait_for_download(dir: &std::path::Path, ext: &str) -> Vec<u8> {
    for _ in 0..200 {
        let done = std::fs::read_dir(dir)
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .find(|p| p.to_string_lossy().ends_with(ext));
        if let Some(path) = done {
            return std::fs::read(path).unwrap();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no {ext} file was downloaded");
}

fn cell(html: &str, label: &str) -> Option<String> {
    let pattern = format!("<th>{label}</th><td class=\"n\">");
    let at = html.find(&pattern)? + pattern.len();
    Some(html[at..].split('<').next()?.to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs chromium and chromium-driver: scripts/test.sh installs them and runs it"]
async fn the_console_in_a_browser() {
    let server = TestServer::start().await;
    server.user("aigerim", Role::Specialist, &[DISTRICT]);
    let account = qamqor_tests::console::office_user(&server, "head", Role::Admin);
    let phone = server.phone("aigerim").await;
    let mut s = sample(70);
    let mut reps = Vec::new();
    for _ in 0..6 {
        reps.push(register_family(&phone.store, &mut s, chrono::NaiveDate::from_ymd_opt(2023, 1, 10).unwrap()).1);
    }
    phone.sync().await.unwrap();
    let device = server.service.storage().devices().unwrap().into_iter().find(|d| d.user_id == "aigerim").unwrap().id;

    let (_driver, port) = start_driver().await;
    let downloads = tempfile::tempdir().unwrap();
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": "/usr/bin/chromium",
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,1400",
                     "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run",
                     "--disable-quic"],
            "prefs": {
                "download.default_directory": downloads.path().to_str().unwrap(),
                "download.prompt_for_download": false,
            }
        }),
    );
    let c = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{port}"))
        .await
        .unwrap();
    let base = server.url();

    // Sign in with the second factor.
    c.goto(&format!("{base}/console")).await.unwrap();
    assert!(c.current_url().await.unwrap().as_str().ends_with("/console/login"));
    c.find(Locator::Css("input[name=user]")).await.unwrap().send_keys("head").await.unwrap();
    c.find(Locator::Css("input[name=password]")).await.unwrap().send_keys(&account.password).await.unwrap();
    let code = signin::code_at(&account.totp_secret, chrono::Utc::now().timestamp() as u64).unwrap();
    c.find(Locator::Css("input[name=code]")).await.unwrap().send_keys(&code).await.unwrap();
    c.find(Locator::Css("form[action='/console/login'] button")).await.unwrap().click().await.unwrap();
    c.wait().for_element(Locator::Id("figures")).await.unwrap();
    let page = c.source().await.unwrap();
    assert_eq!(cell(&page, "Проверка просрочена").as_deref(), Some("6"), "six representatives overdue");

    // A phone syncs a check: the figure changes.
    phone.store.record_check(&s.check(&reps[0].id, today(), None)).unwrap();
    phone.sync().await.unwrap();
    c.refresh().await.unwrap();
    let page = c.source().await.unwrap();
    assert_eq!(cell(&page, "Проверка просрочена").as_deref(), Some("5"));
    assert_eq!(cell(&page, "Проверка проведена").as_deref(), Some("1"));
    let shot = c.screenshot().await.unwrap();
    let shots =
        std::env::var("QAMQOR_SCREENSHOTS").map(std::path::PathBuf::from).unwrap_or_else(|_| std::env::temp_dir());
    std::fs::write(shots.join("console-dashboard.png"), &shot).unwrap();

    // A form posted without its token (as a forged page would) is refused.
    c.execute(
        "const f = document.createElement('form'); f.method = 'post'; f.action = '/console/devices/revoke';
         const i = document.createElement('input'); i.name = 'device'; i.value = arguments[0];
         f.appendChild(i); document.body.appendChild(f); f.submit();",
        vec![serde_json::json!(device)],
    )
    .await
    .unwrap();
    c.wait().for_element(Locator::XPath("//*[contains(text(), 'out of date')]")).await.unwrap();
    assert!(server.service.storage().devices().unwrap().iter().all(|d| d.revoked_at.is_none()), "nothing revoked");

    // The XLSX export, downloaded by the browser and read back.
    c.goto(&format!("{base}/console")).await.unwrap();
    c.find(Locator::Css("a[href^='/console/export/figures.xlsx']")).await.unwrap().click().await.unwrap();
    let xlsx = wait_for_download(downloads.path(), ".xlsx").await;
    let mut book: calamine::Xlsx<_> = calamine::open_workbook_from_rs(std::io::Cursor::new(xlsx)).unwrap();
    use calamine::Reader;
    let sheet = book.worksheet_range_at(0).unwrap().unwrap();
    let row = sheet.rows().find(|r| r[0] == "Проверка проведена").unwrap();
    assert_eq!(row[1].to_string(), "1");

    // Kazakh, for this user.
    c.find(Locator::Css("select[name=lang] option[value=kk]")).await.unwrap().click().await.unwrap();
    c.find(Locator::Css("form[action='/console/lang'] button")).await.unwrap().click().await.unwrap();
    // Waits for the new page's heading: the old page (with its own #figures)
    // may still be on screen right after the click.
    c.wait().for_element(Locator::XPath("//h1[normalize-space()='Көрсеткіштер']")).await.unwrap();

    // An enrollment code for a new phone, with its QR code.
    c.goto(&format!("{base}/console/codes")).await.unwrap();
    c.find(Locator::Css("form[action='/console/codes'] button")).await.unwrap().click().await.unwrap();
    let code = c.wait().for_element(Locator::Id("code")).await.unwrap().text().await.unwrap();
    assert_eq!(code.len(), 19, "{code}");
    assert!(c.find(Locator::Css("svg")).await.is_ok(), "the QR code");

    // Revoke the phone: its next sync wipes it.
    c.goto(&format!("{base}/console/devices")).await.unwrap();
    c.find(Locator::Css(&format!("button[data-device='{device}']"))).await.unwrap().click().await.unwrap();
    c.wait().for_element(Locator::Css("p.ok")).await.unwrap();
    assert!(phone.sync().await.unwrap().wiped);
    assert!(phone.store.caseload().unwrap().is_empty());
    c.close().await.unwrap();
}
