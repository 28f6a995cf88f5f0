//! A deterministic simulation of phones and the server: seeded random
//! edits, offline periods, dropped and repeated messages, through the
//! same store, session machine, engine and service as production, without
//! HTTP. Every run
//! must end with every copy identical and no acknowledged change lost.
//! A failing seed replays exactly: `QAMQOR_SIM_SEED=<seed> cargo test -p qamqor-tests --test simulation`.

use std::collections::BTreeSet;
use std::sync::Arc;

use qamqor_core::docs::DocId;
use qamqor_core::model::*;
use qamqor_core::sample::Sample;
use qamqor_core::store::{Store, StoreOptions};
use qamqor_core::sync::session::Session;
use qamqor_core::sync::wire::Limits;
use qamqor_server::model::{Role, User};
use qamqor_server::service::{Caller, Service};
use qamqor_server::storage::Storage;
use qamqor_server::storage::postgres::PostgresStorage;
use qamqor_server::storage::sqlite::SqliteStorage;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::{DISTRICT, today};

struct SimPhone {
    store: Store,
    caller: Caller,
    sample: Sample,
}

/// Faults the network may cause, in per-mille.
#[derive(Debug, Clone, Copy)]
pub struct Faults {
    /// A request is lost before the server sees it.
    pub drop_request: u32,
    /// The server handles the request but the answer is lost.
    pub drop_response: u32,
    /// The request is delivered twice.
    pub duplicate: u32,
}

impl Default for Faults {
    fn default() -> Self {
        Faults { drop_request: 100, drop_response: 150, duplicate: 100 }
    }
}

/// What a run did, for the assertion messages.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Edits made on phones.
    pub edits: usize,
    /// Sync rounds delivered.
    pub rounds: usize,
    /// Faults injected.
    pub faults: usize,
}

fn scratch_dir() -> tempfile::TempDir {
    // tmpfs where available: the simulation tests logic, not the disk.
    let shm = std::path::Path::new("/dev/shm");
    if shm.is_dir() { tempfile::tempdir_in(shm) } else { tempfile::tempdir() }.expect("a temporary folder")
}

/// One sync session of a phone over a faulty network, driving the shipped
/// session machine; each request goes to one of the server instances.
/// Returns whether it completed.
fn session(
    phone: &SimPhone,
    servers: &[Service],
    rng: &mut StdRng,
    faults: Faults,
    outcome: &mut Outcome,
) -> Result<bool, String> {
    let limits = Limits { max_docs: 8, max_rounds: 40, ..Limits::default() };
    let mut session = Session::new(limits);
    loop {
        let req = match session.next_request(&phone.store) {
            Ok(Some(req)) => req,
            Ok(None) => return Ok(true),
            Err(e) => {
                if std::env::var("QAMQOR_SIM_TRACE").is_ok() {
                    eprintln!("session failed: {e}");
                }
                return Err(format!("phone: {e}"));
            }
        };
        if rng.random_range(0..1000) < faults.drop_request {
            outcome.faults += 1;
            return Ok(false);
        }
        let server = &servers[rng.random_range(0..servers.len())];
        let mut resp = server.sync(&phone.caller, &req).map_err(|e| format!("server: {e}"))?;
        if rng.random_range(0..1000) < faults.duplicate {
            outcome.faults += 1;
            let again = &servers[rng.random_range(0..servers.len())];
            resp = again.sync(&phone.caller, &req).map_err(|e| format!("server (repeat): {e}"))?;
        }
        if rng.random_range(0..1000) < faults.drop_response {
            outcome.faults += 1;
            return Ok(false);
        }
        outcome.rounds += 1;
        if std::env::var("QAMQOR_SIM_TRACE").is_ok() {
            eprintln!(
                "req cursor {} wiped {} docs {:?} acks {:?} -> resp cursor {} more {} docs {:?} results {:?} removed {:?}",
                req.cursor,
                req.wiped,
                req.docs.iter().map(|d| (&d.id[..12], describe(&d.msg))).collect::<Vec<_>>(),
                req.acks,
                resp.cursor,
                resp.more,
                resp.docs.iter().map(|d| (&d.id[..12], describe(&d.msg))).collect::<Vec<_>>(),
                resp.results,
                resp.removed
            );
        }
        session.apply(&phone.store, &resp).map_err(|e| e.to_string())?;
        if let Some(r) = session.report().refused.first() {
            return Err(format!("the server refused a legitimate change: {r:?}"));
        }
    }
}

fn edit(phone: &mut SimPhone, children: &[ChildId], reps: &[RepresentativeId], rng: &mut StdRng) -> Result<(), String> {
    let day = today() - chrono::Duration::days(rng.random_range(0..200));
    let c = &children[rng.random_range(0..children.len())];
    let r = &reps[rng.random_range(0..reps.len())];
    let store = &phone.store;
    let res = match rng.random_range(0..5) {
        0 => {
            let child = store.child_file(c).map_err(|e| e.to_string())?.child;
            store.record_visit(&phone.sample.visit(&child, day.max(child.birth_date))).map(|_| ())
        }
        1 => {
            let risk = rng.random_bool(0.2).then_some(RiskFactor::CriminalProsecution);
            store.record_check(&phone.sample.check(r, day, risk)).map(|_| ())
        }
        2 => {
            let mut child = store.child_file(c).map_err(|e| e.to_string())?.child;
            child.school = Some(format!("№{} мектеп", rng.random_range(1..99)));
            store.update_child(&child).map(|_| ())
        }
        3 => {
            let status = [RepresentativeStatus::Active, RepresentativeStatus::Suspended][rng.random_range(0..2)];
            store.set_representative_status(r, status)
        }
        _ => {
            let mut rep = store.representative_file(r).map_err(|e| e.to_string())?.representative;
            rep.address = format!("Абай к-сі, {} үй", rng.random_range(1..300));
            store.update_representative(&rep).map(|_| ())
        }
    };
    res.map_err(|e| format!("edit failed: {e}"))
}

/// Runs one seeded simulation; `Err` describes the first broken promise.
///
/// With `instances` above one, that many server instances share one
/// database (as several processes would), and every request goes to one
/// of them at random. The database is SQLite, or PostgreSQL with
/// `QAMQOR_TEST_BACKEND=postgres` (see [`crate::test_postgres`]).
pub fn run(seed: u64, phones: usize, steps: usize, faults: Faults, instances: usize) -> Result<Outcome, String> {
    let mut rng = StdRng::seed_from_u64(seed);
    let dir = scratch_dir();
    // PostgreSQL when the tests run against it (`crate::test_postgres`).
    let postgres = crate::test_postgres();
    let mut servers = Vec::new();
    for _ in 0..instances.max(1) {
        let storage: Arc<dyn Storage> = match &postgres {
            Some(url) => Arc::new(PostgresStorage::open(&url.0, 4).map_err(|e| e.to_string())?),
            None => Arc::new(SqliteStorage::open(&dir.path().join("server.db")).map_err(|e| e.to_string())?),
        };
        servers.push(Service::new(storage, Limits::default(), 86_400));
    }
    let service = &servers[0];
    let mut sims = Vec::new();
    for i in 0..phones {
        let user = format!("specialist{i}");
        let u = User {
            id: user.clone(),
            name: user.clone(),
            role: Role::Specialist,
            region: "75".into(),
            districts: vec![DISTRICT.into()],
            adoption_access: false,
        };
        service.storage().create_user(&u).map_err(|e| e.to_string())?;
        let mut options = StoreOptions::new(&user);
        options.today = Some(today());
        let store =
            Store::open(dir.path().join(format!("phone{i}.db")), &[7; 32], options).map_err(|e| e.to_string())?;
        let token = crate::register_device(service, &user, &store.actor_id(), &format!("device{i}"));
        let caller = service.authenticate(&token).map_err(|e| e.to_string())?;
        let sample = Sample::new(
            seed.wrapping_mul(31).wrapping_add(i as u64),
            today(),
            Kato::parse(DISTRICT).map_err(|e| e.to_string())?,
        );
        sims.push(SimPhone { store, caller, sample });
    }
    // Phone 0 registers the shared caseload; everyone receives it.
    let mut children = Vec::new();
    let mut reps = Vec::new();
    for _ in 0..2 {
        let child = sims[0].sample.child();
        let start = child.birth_date.max(today() - chrono::Duration::days(700));
        let rep = sims[0].sample.representative(start);
        sims[0].store.register_child(&child).map_err(|e| e.to_string())?;
        sims[0].store.register_representative(&rep).map_err(|e| e.to_string())?;
        let p = sims[0].sample.placement(&child, &rep, start);
        sims[0].store.place_child(&p).map_err(|e| e.to_string())?;
        children.push(child.id.clone());
        reps.push(rep.id.clone());
    }
    let mut outcome = Outcome::default();
    let clean = Faults { drop_request: 0, drop_response: 0, duplicate: 0 };
    for p in &sims {
        if !session(p, &servers, &mut rng, clean, &mut outcome)? {
            return Err("a clean session failed".into());
        }
    }
    for p in &sims[1..] {
        session(p, &servers, &mut rng, clean, &mut outcome)?;
    }

    let mut online: Vec<bool> = vec![true; phones];
    for _ in 0..steps {
        let i = rng.random_range(0..phones);
        match rng.random_range(0..10) {
            0..=4 => {
                edit(&mut sims[i], &children, &reps, &mut rng)?;
                outcome.edits += 1;
            }
            5 => online[i] = !online[i], // goes offline for a while, or comes back
            _ if online[i] => {
                session(&sims[i], &servers, &mut rng, faults, &mut outcome)?;
            }
            _ => {}
        }
    }

    // Connectivity returns everywhere: sync until nobody has anything new.
    for _ in 0..4 {
        for p in &sims {
            if !session(p, &servers, &mut rng, clean, &mut outcome)? {
                return Err("a clean session failed".into());
            }
        }
    }
    let converged = check_converged(&sims, service);
    if let Some(url) = postgres {
        // One database per seed: dropped once every connection is closed.
        drop(servers);
        qamqor_server::storage::postgres::drop_database(&url.0).map_err(|e| e.to_string())?;
    }
    converged.map(|()| outcome)
}

fn check_converged(sims: &[SimPhone], service: &Service) -> Result<(), String> {
    let ids: BTreeSet<DocId> = sims[0].store.document_ids().map_err(|e| e.to_string())?.into_iter().collect();
    for (i, p) in sims.iter().enumerate() {
        let mine: BTreeSet<DocId> = p.store.document_ids().map_err(|e| e.to_string())?.into_iter().collect();
        if mine != ids {
            return Err(format!("phone {i} holds different documents"));
        }
        for id in &ids {
            let server = service
                .storage()
                .load_doc(id)
                .map_err(|e| e.to_string())?
                .ok_or(format!("{id} missing on the server"))?;
            let local = automerge::Automerge::load(&p.store.export_document(id).map_err(|e| e.to_string())?)
                .map_err(|e| e.to_string())?;
            // No change any phone made (acknowledged or not) is missing.
            let missing =
                local.get_changes(&[]).iter().filter(|c| server.get_change_meta_by_hash(&c.hash()).is_none()).count();
            if missing > 0 {
                return Err(format!("{missing} changes of phone {i} on {id} are not on the server"));
            }
            if server.get_heads() != local.get_heads() {
                return Err(format!("phone {i} and the server differ on {id}"));
            }
        }
    }
    Ok(())
}

fn describe(msg: &[u8]) -> String {
    match automerge::sync::Message::decode(msg) {
        Ok(m) => format!(
            "heads {:?} need {:?} have {} changes {}",
            m.heads.iter().map(|h| h.to_string()[..6].to_owned()).collect::<Vec<_>>(),
            m.need.iter().map(|h| h.to_string()[..6].to_owned()).collect::<Vec<_>>(),
            m.have.len(),
            m.changes.len()
        ),
        Err(_) => "?".into(),
    }
}
