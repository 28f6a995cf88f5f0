//! Many phones syncing at once, for the load benchmarks (`sync-bench`,
//! `scale-bench`).
//!
//! The phones are spread as a country's are: [`PER_DISTRICT`] phones in
//! each district, [`PER_USER`] per specialist. Nine in ten ask for news;
//! one in ten uploads a case it registered offline, placed in its own
//! district (so the colleagues of that district receive it when they ask
//! for news next). A refused upload counts as an error.

use std::sync::Arc;
use std::time::{Duration, Instant};

use automerge::sync::State;
use automerge::{ActorId, Automerge};
use qamqor_core::docs::{self, DocId, DocKind};
use qamqor_core::model::Kato;
use qamqor_core::sample::Sample;
use qamqor_core::sync::engine;
use qamqor_core::sync::wire::{self, DocMessage, DocStatus, PROTOCOL_VERSION, SyncRequest};
use qamqor_server::model::{Role, User};
use qamqor_server::storage::Storage;
use qamqor_server::storage::conformance::register_device;

use crate::today;

/// Phones per district (about 5,000 phones in 200 districts).
pub const PER_DISTRICT: usize = 25;
/// Phones per specialist.
pub const PER_USER: usize = 5;

/// One simulated phone.
#[derive(Clone)]
pub struct LoadPhone {
    /// Its user.
    pub user: String,
    /// Its device token.
    pub token: String,
    /// Its store's actor.
    pub actor: ActorId,
    /// The КАТО code of its user's district.
    pub district: String,
}

/// The district of phone `i` (synthetic units of region 75).
pub fn district(i: usize) -> String {
    let k = i / PER_DISTRICT;
    format!("75{:02}{:02}000", 30 + k / 90, 10 + k % 90)
}

/// Creates `n` phones' users and devices straight in `storage` (names
/// start with `prefix`), skipping enrollment's argon2 hashing.
pub fn phones(storage: &dyn Storage, prefix: &str, n: usize) -> Vec<LoadPhone> {
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let user = format!("{prefix}{}", i / PER_USER);
        let district = district(i);
        if i % PER_USER == 0 {
            let u = User {
                id: user.clone(),
                name: user.clone(),
                role: Role::Specialist,
                region: "75".into(),
                districts: vec![district.clone()],
                adoption_access: false,
            };
            storage.create_user(&u).unwrap();
        }
        let actor = ActorId::random();
        let token = register_device(storage, &user, &actor.to_hex_string(), &format!("{prefix}-device-{i}"));
        out.push(LoadPhone { user, token, actor, district });
    }
    out
}

/// What a load did.
pub struct Outcome {
    /// Every request's latency, sorted.
    pub latencies: Vec<Duration>,
    /// Requests that failed or uploads refused.
    pub errors: usize,
    /// From the first request sent to the last answer.
    pub wall: Duration,
}

impl Outcome {
    /// The `p` quantile (0–1) of the latencies.
    pub fn pct(&self, p: f64) -> Duration {
        self.latencies[((self.latencies.len() as f64 - 1.0) * p).round() as usize]
    }

    /// Requests per second.
    pub fn rate(&self) -> f64 {
        self.latencies.len() as f64 / self.wall.as_secs_f64()
    }
}

/// Every phone syncs at once from `cursor`; request `k` of phone `i` goes
/// to `urls[(i + k) % urls.len()]` (base URLs). `seed` varies the cases
/// uploaded.
pub async fn run(urls: &[String], phones: &[LoadPhone], cursor: u64, seed: u64) -> Outcome {
    let http = reqwest::Client::builder().pool_max_idle_per_host(phones.len()).build().unwrap();
    let urls: Arc<Vec<String>> = Arc::new(urls.iter().map(|u| format!("{u}/v1/sync")).collect());
    let t = Instant::now();
    let mut tasks = Vec::new();
    for (i, phone) in phones.iter().enumerate() {
        let (http, urls, phone) = (http.clone(), urls.clone(), phone.clone());
        let district = Kato::parse(&phone.district).unwrap();
        let mut sample = Sample::new(seed * 1_000_000 + i as u64, today(), district);
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut errors = 0usize;
            let mut k = 0;
            let mut post = |req: SyncRequest| {
                let url = urls[(i + k) % urls.len()].clone();
                k += 1;
                let (http, token) = (http.clone(), phone.token.clone());
                async move {
                    let t = Instant::now();
                    let r = http.post(url).bearer_auth(token).body(wire::encode(&req)).send().await;
                    let out = match r {
                        Ok(r) if r.status().is_success() => {
                            wire::decode_response(&r.bytes().await.unwrap_or_default(), &Default::default()).ok()
                        }
                        _ => None,
                    };
                    (t.elapsed(), out)
                }
            };
            if i % 10 == 0 {
                // A case registered offline on this phone, uploaded in full.
                let child = sample.child();
                let id = DocId::case(&child.id);
                let mut doc = Automerge::new().with_actor(phone.actor.clone());
                let mut tx = doc.transaction();
                docs::init(&mut tx, DocKind::Case).unwrap();
                docs::prepare_edit(&mut tx, &phone.actor.to_hex_string(), &phone.user).unwrap();
                docs::json::put(&mut tx, &automerge::ROOT, "child", &child).unwrap();
                tx.commit();
                let mut state = State::new();
                let mut cursor = cursor;
                for _ in 0..4 {
                    let Some(msg) = engine::generate(&doc, &mut state) else { break };
                    let req = SyncRequest {
                        v: PROTOCOL_VERSION,
                        cursor,
                        docs: vec![DocMessage::sync(id.to_string(), msg)],
                        ..Default::default()
                    };
                    let (lat, resp) = post(req).await;
                    latencies.push(lat);
                    let Some(resp) = resp.filter(|r| r.results.iter().all(|r| r.status == DocStatus::Ok)) else {
                        errors += 1;
                        break;
                    };
                    cursor = resp.cursor;
                    for m in resp.docs.iter().filter(|m| m.id == id.to_string()) {
                        engine::receive(&mut doc, &mut state, &m.msg, &engine::WritePolicy::Any).unwrap();
                    }
                }
            } else {
                let (lat, resp) = post(SyncRequest { v: PROTOCOL_VERSION, cursor, ..Default::default() }).await;
                latencies.push(lat);
                if resp.is_none() {
                    errors += 1;
                }
            }
            (latencies, errors)
        }));
    }
    let mut latencies = Vec::new();
    let mut errors = 0;
    for t in tasks {
        let (l, e) = t.await.unwrap();
        latencies.extend(l);
        errors += e;
    }
    let wall = t.elapsed();
    latencies.sort();
    Outcome { latencies, errors, wall }
}
