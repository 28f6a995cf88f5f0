//! The country's figures: three regional servers send their figures to a
//! national server on loopback, through a proxy that records every byte;
//! nothing personal ever crosses, small counts are suppressed, a region
//! offline for a while is tolerated, and the national console shows the
//! country by region.

#![allow(clippy::unwrap_used)]

use chrono::NaiveDate;
use qamqor_core::model::Kato;
use qamqor_core::sample::Sample;
use qamqor_server::config::Mode;
use qamqor_server::model::Role;
use qamqor_server::national::{self, MIN_CELL, RegionReport};
use qamqor_tests::console::*;
use qamqor_tests::*;

struct Region {
    server: TestServer,
    /// Names, IINs, ids: what must never reach the national server.
    secrets: Vec<String>,
}

/// A regional server for `code` whose specialist registered `families`
/// per district (first district `d1`, second `d2`), synced.
async fn region(code: &str, national_url: &str, credential: &str, districts: &[(&str, usize)]) -> Region {
    let server = TestServer::start_with(|c| {
        c.region = code.into();
        c.national_url = Some(national_url.to_owned());
        std::fs::write(c.data_dir.join("national-credential"), credential).unwrap();
    })
    .await;
    let mut secrets = Vec::new();
    for (i, (district, families)) in districts.iter().enumerate() {
        let user = format!("specialist{code}x{i}");
        server.user(&user, Role::Specialist, &[district]);
        let phone = server.phone(&user).await;
        let mut s = Sample::new(code.parse::<u64>().unwrap() * 10 + i as u64, today(), Kato::parse(district).unwrap());
        for _ in 0..*families {
            let (child, rep, _) = register_family(&phone.store, &mut s, NaiveDate::from_ymd_opt(2023, 1, 10).unwrap());
            for name in [&child.name, &rep.name] {
                secrets.push(name.family.clone());
                secrets.push(name.given.clone());
            }
            secrets.push(child.iin.as_str().to_owned());
            secrets.push(rep.iin.as_str().to_owned());
            secrets.push(child.id.to_string());
            secrets.push(rep.id.to_string());
        }
        phone.sync().await.unwrap();
        secrets.push(user);
        for d in server.service.storage().devices().unwrap() {
            secrets.push(d.id);
        }
    }
    Region { server, secrets }
}

/// The region reports among the bytes (JSON bodies between HTTP headers).
fn reports_in(bytes: &[u8]) -> Vec<RegionReport> {
    let text = String::from_utf8_lossy(bytes);
    text.match_indices("{\"format\"")
        .filter_map(|(i, _)| serde_json::Deserializer::from_str(&text[i..]).into_iter::<RegionReport>().next()?.ok())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_country_from_three_regions_without_any_personal_data() {
    let nation = TestServer::start_with(|c| c.mode = Mode::National).await;
    let proxy = RecordingProxy::start(nation.running.as_ref().unwrap().addr).await;
    let credential = |r: &str| national::issue_credential(&nation.service, r).unwrap();
    let (c75, c71, c79) = (credential("75"), credential("71"), credential("79"));

    // Almaty: 8 families in one district, 3 in another; Astana: 6; Shymkent: 2.
    let almaty = region("75", &proxy.url, &c75, &[(DISTRICT, 8), (OTHER_DISTRICT, 3)]).await;
    let astana = region("71", &proxy.url, &c71, &[("711110000", 6)]).await;
    let shymkent = region("79", &proxy.url, &c79, &[("791110000", 2)]).await;
    for r in [&almaty, &astana, &shymkent] {
        let link = r.server.service.national.clone().unwrap();
        let stored = national::send(&r.server.service, &link).await.unwrap();
        assert_eq!(stored.region, r.server.config.region);
        assert!(link.status().last_error.is_none());
    }

    // What the national server holds, per region.
    let country = national::Country::load(&nation.service, None).unwrap();
    assert_eq!(country.regions.len(), 3);
    let cell = |region: &str, key: &str| country.regions[region].0.region_cells[key];
    assert_eq!(cell("75", "children_placed"), Some(11));
    assert_eq!(cell("71", "children_placed"), Some(6));
    assert_eq!(cell("79", "children_placed"), None, "2 children: suppressed");
    let almaty_report = &country.regions["75"].0;
    assert_eq!(almaty_report.districts[OTHER_DISTRICT]["children_placed"], None, "3 children: suppressed");
    assert_eq!(
        almaty_report.districts[DISTRICT]["children_placed"], None,
        "8 would give away the other district's 3 with the region's 11"
    );
    assert_eq!(country.total("children_placed"), (17, true), "a lower bound: Shymkent's count is suppressed");

    // Everything that crossed the channel: only counts that may be sent, nothing personal.
    let seen = proxy.bytes();
    let text = String::from_utf8_lossy(&seen);
    for r in [&almaty, &astana, &shymkent] {
        for secret in &r.secrets {
            assert!(!text.contains(secret.as_str()), "{secret:?} crossed to the national server");
        }
    }
    for forbidden in ["case:", "rep:", "iin", "name", "aigerim"] {
        assert!(!text.to_lowercase().contains(forbidden), "{forbidden:?} crossed");
    }
    let reports = reports_in(&seen);
    assert!(reports.len() >= 6, "scheduled and on-demand reports: {}", reports.len());
    for r in &reports {
        for cells in r.districts.values().chain([&r.region_cells]) {
            for v in cells.values().flatten() {
                assert!(*v == 0 || *v >= MIN_CELL, "a count of {v} crossed");
            }
        }
    }

    // A region offline for a while: its sends fail and are retried; the country keeps its last figures.
    proxy.set_offline(true);
    let link = astana.server.service.national.clone().unwrap();
    let e = national::send(&astana.server.service, &link).await.unwrap_err();
    assert!(e.to_string().contains("national server"), "{e}");
    assert!(link.status().last_error.is_some());
    assert_eq!(
        national::Country::load(&nation.service, None).unwrap().regions["71"].0.region_cells["children_placed"],
        Some(6)
    );
    proxy.set_offline(false);
    national::send(&astana.server.service, &link).await.unwrap();
    assert!(link.status().last_error.is_none());

    // Only a region's own credential, for its own region's figures.
    let http = reqwest::Client::new();
    let url = format!("{}/v1/national/report", nation.url());
    let forged = http.post(&url).bearer_auth("0".repeat(64)).json(almaty_report).send().await.unwrap();
    assert_eq!(forged.status(), 401);
    let wrong_region = http.post(&url).bearer_auth(&c71).json(almaty_report).send().await.unwrap();
    assert_eq!(wrong_region.status(), 400);
    let mut small = almaty_report.clone();
    small.region_cells.insert("children_placed".into(), Some(3));
    let refused = http.post(&url).bearer_auth(&c75).json(&small).send().await.unwrap();
    assert_eq!(refused.status(), 400);
    let body: serde_json::Value = refused.json().await.unwrap();
    assert!(body["message"].as_str().unwrap().contains("suppressed"), "{body}");
    // The national server has no sync API.
    assert_eq!(http.post(format!("{}/v1/sync", nation.url())).send().await.unwrap().status(), 404);

    // The national console: the country by region, exported.
    let head = office_user(&nation, "minister", Role::Analyst);
    let mut b = Browser::new(&nation);
    assert_eq!(b.sign_in("minister", &head.password, &code(&head, 0)).await, 303);
    let (status, page) = b.get("/console").await;
    assert_eq!(status, 200);
    assert!(page.contains("Алматы") && page.contains("Астана") && page.contains("Шымкент"), "{page}");
    assert!(page.contains("<th>Устроенные дети</th><td>≥17</td><td class=\"n\">6</td><td class=\"n\">11</td><td class=\"n\">&lt;5</td>"), "{page}");
    let (status, csv) = b.get("/console/export/country.csv").await;
    assert_eq!(status, 200);
    assert!(csv.contains("Устроенные дети,≥17,6,11,<5"), "{csv}");
    // Analysts do not issue credentials.
    assert_eq!(b.get("/console/regions").await.0, 403);
}
