//! The country's figures. A regional server sends the national server its
//! figures as counts only — no name, IIN, document, user or device id —
//! with every count from 1 to 4 suppressed, and the counts that would let
//! a suppressed one be worked out by subtraction suppressed with it. The
//! national server (the same binary, `mode = "national"`) checks each
//! report before storing it and refuses anything that is not such counts.
//!
//! The channel: `POST /v1/national/report` with the region's credential as
//! a bearer token (issued on the national server by `qamqor-server
//! region-credential <code>`), sent on a schedule and on demand, retried
//! with back-off while the national server cannot be reached.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::NaiveDate;
use qamqor_core::model::{CodeList, Kato, PlacementForm, Region};
use serde::{Deserialize, Serialize};

use crate::error::{Result, ServerError};
use crate::figures::{self, Figure, Figures, RegionFigure};
use crate::service::Service;

/// The report format this version sends and accepts.
pub const REPORT_FORMAT: u32 = 1;
/// Counts below this (and above zero) are never sent.
pub const MIN_CELL: u64 = 5;
/// The longest wait between two attempts while the national server
/// cannot be reached.
pub const RETRY_MAX: Duration = Duration::from_secs(300);
/// The largest report body the national server reads.
pub const MAX_REPORT_BYTES: usize = 1 << 20;

/// The counts of one area by key; `None` is a suppressed count.
pub type Cells = BTreeMap<String, Option<u64>>;

/// What a region sends: its figures on a date, suppressed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegionReport {
    /// [`REPORT_FORMAT`].
    pub format: u32,
    /// The region's code.
    pub region: String,
    /// The date the figures describe.
    pub as_of: NaiveDate,
    /// When the region computed them (Unix seconds).
    pub generated_at: i64,
    /// The region's totals: every [`Figure`], every [`RegionFigure`] and
    /// the meetings per month (`meetings.YYYY-MM`).
    pub region_cells: Cells,
    /// Per district (КАТО code): every [`Figure`].
    pub districts: BTreeMap<String, Cells>,
}

/// Where the region's place in a cell grid is: an area (`""` for the
/// region, else a district code) and a key.
type At = (String, String);

/// Counts with the ones to suppress marked.
struct Grid {
    raw: BTreeMap<At, u64>,
    hidden: BTreeSet<At>,
}

impl Grid {
    fn put(&mut self, area: &str, key: String, v: u64) {
        let at = (area.to_owned(), key);
        if v > 0 && v < MIN_CELL {
            self.hidden.insert(at.clone());
        }
        self.raw.insert(at, v);
    }

    /// Within each group whose total is published, one suppressed part
    /// could be found by subtraction: suppress the smallest other non-zero
    /// part too (or the total, if there is none). Repeats until no group
    /// has a single suppressed part.
    fn protect(&mut self, groups: &[(At, Vec<At>)]) {
        loop {
            let mut changed = false;
            for (total, parts) in groups {
                if self.hidden.contains(total) || !self.raw.contains_key(total) {
                    continue;
                }
                let hidden = parts.iter().filter(|p| self.hidden.contains(*p)).count();
                if hidden != 1 {
                    continue;
                }
                let next = parts
                    .iter()
                    .filter(|p| !self.hidden.contains(*p))
                    .filter_map(|p| self.raw.get(p).filter(|v| **v > 0).map(|v| (*v, p)))
                    .min();
                match next {
                    Some((_, p)) => self.hidden.insert(p.clone()),
                    None => self.hidden.insert(total.clone()),
                };
                changed = true;
            }
            if !changed {
                return;
            }
        }
    }

    fn cells(&self, area: &str) -> Cells {
        self.raw
            .iter()
            .filter(|((a, _), _)| a == area)
            .map(|(at, v)| (at.1.clone(), (!self.hidden.contains(at)).then_some(*v)))
            .collect()
    }
}

/// The report of `figures` for `region`, computed at `now` (Unix seconds).
pub fn report(f: &Figures, region: &str, now: i64) -> RegionReport {
    let mut g = Grid { raw: BTreeMap::new(), hidden: BTreeSet::new() };
    let areas: Vec<&str> = std::iter::once("").chain(f.districts.keys().map(String::as_str)).collect();
    for fig in Figure::all() {
        g.put("", fig.key(), fig.of(&f.region));
        for (d, c) in &f.districts {
            g.put(d, fig.key(), fig.of(c));
        }
    }
    for rf in RegionFigure::ALL {
        g.put("", rf.key().to_owned(), rf.of(f));
    }
    for (month, n) in &f.mentors.meetings_per_month {
        g.put("", figures::meetings_key(month), *n);
    }
    let at = |a: &str, k: String| (a.to_owned(), k);
    let mut groups = Vec::new();
    // Districts add up to the region.
    for fig in Figure::all() {
        groups.push((at("", fig.key()), f.districts.keys().map(|d| at(d, fig.key())).collect()));
    }
    for a in &areas {
        let placed = at(a, Figure::ChildrenPlaced.key());
        // Forms add up to the children placed; so do the family forms with the others.
        groups.push((placed.clone(), PlacementForm::all().iter().map(|p| at(a, Figure::Form(*p).key())).collect()));
        let outside = [PlacementForm::Institution, PlacementForm::ChildrensVillage];
        let mut parts = vec![at(a, Figure::InFamilies.key())];
        parts.extend(outside.iter().map(|p| at(a, Figure::Form(*p).key())));
        groups.push((placed, parts));
    }
    let r = |x: RegionFigure| at("", x.key().to_owned());
    groups.push((
        r(RegionFigure::Mentors),
        vec![
            r(RegionFigure::CertificateValid),
            r(RegionFigure::CertificateExpiring),
            r(RegionFigure::CertificateExpired),
            r(RegionFigure::CertificateNone),
        ],
    ));
    groups.push((r(RegionFigure::DevicesActive), vec![r(RegionFigure::DevicesSynced), r(RegionFigure::DevicesSilent)]));
    g.protect(&groups);
    RegionReport {
        format: REPORT_FORMAT,
        region: region.to_owned(),
        as_of: f.as_of,
        generated_at: now,
        region_cells: g.cells(""),
        districts: f.districts.keys().map(|d| (d.clone(), g.cells(d))).collect(),
    }
}

/// Checks a report received from the region `region` (its credential's):
/// only known keys, only counts that may be sent, districts of that region.
/// The error says what is wrong, never a value.
pub fn check(report: &RegionReport, region: &str, today: NaiveDate) -> Result<()> {
    let bad = |m: String| Err(ServerError::BadRequest(m));
    if report.format != REPORT_FORMAT {
        return bad(format!("report format {} is not {REPORT_FORMAT}: update the regional server", report.format));
    }
    if report.region != region {
        return bad("the report's region is not the region of its credential".into());
    }
    if report.as_of > today + chrono::Duration::days(1) {
        return bad("as_of is in the future".into());
    }
    let value_ok = |v: &Option<u64>| v.is_none_or(|v| v == 0 || v >= MIN_CELL);
    for (key, v) in &report.region_cells {
        let known = Figure::parse(key).is_some()
            || RegionFigure::parse(key).is_some()
            || key
                .strip_prefix("meetings.")
                .is_some_and(|m| NaiveDate::parse_from_str(&format!("{m}-01"), "%Y-%m-%d").is_ok());
        if !known {
            return bad(format!("region_cells has an unknown figure {:?}", key.chars().take(40).collect::<String>()));
        }
        if !value_ok(v) {
            return bad(format!("region_cells.{key} is a count below {MIN_CELL} that must be suppressed"));
        }
    }
    for (district, cells) in &report.districts {
        let in_region = Kato::parse(district).is_ok_and(|k| k.region().code() == region);
        if !in_region {
            return bad("a district is not a КАТО code of the region".into());
        }
        for (key, v) in cells {
            if Figure::parse(key).is_none() {
                return bad(format!("districts.{district} has an unknown figure"));
            }
            if !value_ok(v) {
                return bad(format!("districts.{district}.{key} is a count below {MIN_CELL} that must be suppressed"));
            }
        }
    }
    Ok(())
}

/// A regional server's link to the national server.
pub struct Link {
    /// The region this server reports for.
    pub region: String,
    /// The national server's base URL.
    pub url: String,
    /// The region's credential.
    pub credential: String,
    /// How often to send.
    pub every: Duration,
    /// A PEM certificate to trust for the national server (a private CA).
    pub ca_pem: Option<Vec<u8>>,
    status: Mutex<LinkStatus>,
}

/// The outcome of the link's latest attempts, for the console.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct LinkStatus {
    /// The last report the national server stored (Unix seconds).
    pub last_sent_at: Option<i64>,
    /// The date of that report.
    pub last_as_of: Option<NaiveDate>,
    /// Why the latest attempt failed, if it did.
    pub last_error: Option<String>,
}

impl Link {
    /// A link for `region` to `url` with the region's credential.
    pub fn new(region: String, url: String, credential: String, every: Duration, ca_pem: Option<Vec<u8>>) -> Link {
        Link { region, url, credential, every, ca_pem, status: Mutex::new(LinkStatus::default()) }
    }

    /// The latest attempts' outcome.
    pub fn status(&self) -> LinkStatus {
        self.status.lock().map(|s| s.clone()).unwrap_or_default()
    }

    fn set(&self, f: impl FnOnce(&mut LinkStatus)) {
        if let Ok(mut s) = self.status.lock() {
            f(&mut s);
        }
    }
}

/// What the national server answers to a stored report.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Stored {
    /// The region.
    pub region: String,
    /// The report's date.
    pub as_of: NaiveDate,
    /// When it was stored (Unix seconds).
    pub received_at: i64,
}

/// Computes today's figures and sends them over `link` now. The outcome
/// is recorded on the link (and audited when stored).
pub async fn send(service: &Arc<Service>, link: &Link) -> Result<Stored> {
    let s = service.clone();
    let region_code = link.region.clone();
    let report = tokio::task::spawn_blocking(move || {
        let now = chrono::Utc::now();
        figures::compute(&s, now.date_naive(), now.timestamp()).map(|f| report(&f, &region_code, now.timestamp()))
    })
    .await
    .map_err(|_| ServerError::Config("a worker failed".into()))??;
    let outcome = post(link, &report).await;
    match &outcome {
        Ok(stored) => {
            let at = stored.received_at;
            let as_of = stored.as_of;
            link.set(|st| {
                st.last_sent_at = Some(at);
                st.last_as_of = Some(as_of);
                st.last_error = None;
            });
            let s = service.clone();
            let subject = format!("national report as_of:{as_of}");
            tokio::task::spawn_blocking(move || {
                crate::admin::audit_by(&s, &crate::admin::Operator::Server, "national_report_sent", &subject)
            })
            .await
            .map_err(|_| ServerError::Config("a worker failed".into()))??;
        }
        Err(e) => {
            let why = e.to_string();
            link.set(|st| st.last_error = Some(why));
        }
    }
    outcome
}

async fn post(link: &Link, report: &RegionReport) -> Result<Stored> {
    let unreachable = |e: reqwest::Error| ServerError::Unavailable(format!("the national server: {e}"));
    let mut client = reqwest::Client::builder().timeout(Duration::from_secs(30));
    if let Some(pem) = &link.ca_pem {
        let cert = reqwest::Certificate::from_pem(pem)
            .map_err(|_| ServerError::Config("national_ca is not a PEM certificate".into()))?;
        client = client.add_root_certificate(cert);
    }
    let url = format!("{}/v1/national/report", link.url.trim_end_matches('/'));
    let response = client
        .build()
        .map_err(unreachable)?
        .post(url)
        .bearer_auth(&link.credential)
        .json(report)
        .send()
        .await
        .map_err(unreachable)?;
    let status = response.status();
    if !status.is_success() {
        let body: serde_json::Value = response.json().await.unwrap_or_default();
        let message = body.get("message").and_then(|m| m.as_str()).unwrap_or("no reason given");
        return Err(match status.as_u16() {
            401 => ServerError::Unauthorized(format!("the national server refused the credential: {message}")),
            400 | 413 | 422 => ServerError::BadRequest(format!("the national server refused the report: {message}")),
            _ => ServerError::Unavailable(format!("the national server answered {status}: {message}")),
        });
    }
    response.json::<Stored>().await.map_err(unreachable)
}

/// Sends on `link` now and then every `link.every`; while the national
/// server cannot be reached, tries again after 1 minute, doubling up to 5
/// minutes (or the interval, if shorter). Runs until the process stops.
pub fn spawn_schedule(service: Arc<Service>, link: Arc<Link>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let retry_min = Duration::from_secs(60).min(link.every);
        let mut wait = retry_min;
        loop {
            match send(&service, &link).await {
                Ok(_) => {
                    wait = retry_min;
                    tokio::time::sleep(link.every).await;
                }
                Err(e) => {
                    tracing::warn!(error = %e, retry_in_secs = wait.as_secs(), "national report not sent");
                    tokio::time::sleep(wait).await;
                    wait = (wait * 2).min(RETRY_MAX).min(link.every);
                }
            }
        }
    })
}

/// The region of a report's credential (the bearer token), checked before
/// its body is read.
pub fn authenticate(service: &Service, token: &str) -> Result<String> {
    let region =
        if token.len() == 64 { service.storage().region_of_credential(&crate::auth::token_hash(token))? } else { None };
    region.ok_or_else(|| ServerError::Unauthorized("unknown region credential".into()))
}

/// Checks and stores a report the region `region` sent from `address`.
pub fn accept(service: &Service, region: &str, body: &[u8], address: &str) -> Result<Stored> {
    let report: RegionReport = serde_json::from_slice(body)
        .map_err(|e| ServerError::BadRequest(format!("the report is not a region report: {}", redact(&e))))?;
    let now = chrono::Utc::now();
    check(&report, region, now.date_naive())?;
    let stored = serde_json::to_string(&report).map_err(|e| ServerError::Config(e.to_string()))?;
    service.storage().put_region_report(region, report.as_of, now.timestamp(), &stored)?;
    crate::admin::audit_from(
        service,
        &crate::admin::Operator::Region(region.to_owned()),
        "region_report_received",
        &format!("report as_of:{}", report.as_of),
        Some(address.to_owned()),
    )?;
    Ok(Stored { region: region.to_owned(), as_of: report.as_of, received_at: now.timestamp() })
}

/// Issues a new credential for a region's server (replacing its earlier
/// one): returned once, stored hashed.
pub fn issue_credential(service: &Service, region: &str) -> Result<String> {
    if Region::from_code(region).is_none() {
        return Err(ServerError::BadRequest(format!("{region:?} is not a region code")));
    }
    let token = crate::auth::new_token();
    service.storage().set_region_credential(
        region,
        &crate::auth::token_hash(&token),
        chrono::Utc::now().timestamp(),
    )?;
    Ok(token)
}

/// A JSON error's category and place, without the text it quotes.
fn redact(e: &serde_json::Error) -> String {
    let what = match e.classify() {
        serde_json::error::Category::Syntax | serde_json::error::Category::Eof => "malformed JSON",
        serde_json::error::Category::Data => "a field is missing, unknown or of the wrong type",
        serde_json::error::Category::Io => "unreadable",
    };
    format!("{what} (line {}, column {})", e.line(), e.column())
}

/// The country as the national server holds it: each region's latest
/// report on or before a date.
#[derive(Debug, Clone, Default)]
pub struct Country {
    /// The date asked for.
    pub as_of: Option<NaiveDate>,
    /// Per region code: its report and when it was received.
    pub regions: BTreeMap<String, (RegionReport, i64)>,
}

impl Country {
    /// Every region's latest report dated `on` or before (all dates with `None`).
    pub fn load(service: &Service, on: Option<NaiveDate>) -> Result<Country> {
        let mut regions: BTreeMap<String, (RegionReport, i64)> = BTreeMap::new();
        for r in service.storage().region_reports()? {
            if on.is_some_and(|d| r.as_of > d) || Region::from_code(&r.region).is_none() {
                continue;
            }
            let Ok(report) = serde_json::from_str::<RegionReport>(&r.body) else { continue };
            let newer = regions.get(&r.region).is_none_or(|(old, _)| old.as_of < report.as_of);
            if newer {
                regions.insert(r.region.clone(), (report, r.received_at));
            }
        }
        Ok(Country { as_of: on, regions })
    }

    /// The country's value of a key: the sum of what regions published,
    /// and whether some region's count was suppressed (the sum is then a
    /// lower bound).
    pub fn total(&self, key: &str) -> (u64, bool) {
        let mut sum = 0u64;
        let mut partial = false;
        for (r, _) in self.regions.values() {
            match r.region_cells.get(key) {
                Some(Some(v)) => sum += v,
                Some(None) => partial = true,
                None => {}
            }
        }
        (sum, partial)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::figures::{Counts, DeviceCounts, MentorCounts};

    fn figures(districts: &[(&str, u64, u64)]) -> Figures {
        let mut f = Figures {
            as_of: NaiveDate::from_ymd_opt(2026, 12, 1).unwrap_or_default(),
            region: Counts::default(),
            districts: BTreeMap::new(),
            mentors: MentorCounts::default(),
            specialists: Vec::new(),
            devices: DeviceCounts::default(),
        };
        for (d, guardianship, institution) in districts {
            let mut c =
                Counts { children_placed: guardianship + institution, in_families: *guardianship, ..Counts::default() };
            c.by_form.insert("guardianship".into(), *guardianship);
            c.by_form.insert("institution".into(), *institution);
            f.region.children_placed += c.children_placed;
            f.region.in_families += c.in_families;
            *f.region.by_form.entry("guardianship".into()).or_default() += guardianship;
            *f.region.by_form.entry("institution".into()).or_default() += institution;
            f.districts.insert((*d).into(), c);
        }
        f
    }

    #[test]
    fn small_counts_are_suppressed_and_cannot_be_worked_out() {
        let f = figures(&[("751710000", 20, 3), ("752210000", 40, 0), ("751110000", 12, 9)]);
        let r = report(&f, "75", 0);
        let d = |code: &str, key: &str| r.districts[code][key];
        assert_eq!(d("751710000", "by_form.institution"), None, "3 is suppressed");
        // The region's institution total (12) would give it away with the other district's 9.
        assert_eq!(d("751110000", "by_form.institution"), None, "the next smallest goes with it");
        assert_eq!(d("752210000", "by_form.institution"), Some(0), "zero is no one");
        // Within the district, guardianship + institution = placed: one of them goes too.
        let hidden = ["children_placed", "in_families", "by_form.guardianship"]
            .iter()
            .filter(|k| d("751710000", k).is_none())
            .count();
        assert!(hidden >= 1, "{:?}", r.districts["751710000"]);
        check(&r, "75", f.as_of).unwrap();
        for cells in r.districts.values().chain([&r.region_cells]) {
            for v in cells.values().flatten() {
                assert!(*v == 0 || *v >= MIN_CELL);
            }
        }
    }

    #[test]
    fn a_report_with_anything_but_allowed_counts_is_refused() {
        let f = figures(&[("751710000", 20, 6)]);
        let good = report(&f, "75", 0);
        let today = f.as_of;
        assert!(check(&good, "71", today).is_err(), "another region's credential");
        let mut small = good.clone();
        small.region_cells.insert("children_placed".into(), Some(3));
        assert!(check(&small, "75", today).unwrap_err().to_string().contains("suppressed"));
        let mut named = good.clone();
        named.region_cells.insert("Нұрсұлу Ахметова".into(), Some(10));
        let e = check(&named, "75", today).unwrap_err().to_string();
        assert!(e.contains("unknown figure"), "{e}");
        let mut foreign = good.clone();
        foreign.districts.insert("711110000".into(), Cells::new());
        assert!(check(&foreign, "75", today).is_err());
        let extra = serde_json::json!({"format": 1, "region": "75", "as_of": "2026-12-01", "generated_at": 0,
            "region_cells": {}, "districts": {}, "children": ["x"]});
        assert!(serde_json::from_value::<RegionReport>(extra).is_err(), "unknown fields are refused");
    }
}
