//! Three `qamqor-server` processes on one PostgreSQL database: they start
//! at once (one administrator is created), phones sync through any of
//! them, one process is killed with SIGKILL while phones sync, and every
//! copy ends the same with nothing lost. Needs PostgreSQL
//! (`QAMQOR_TEST_POSTGRES_URL`; `scripts/test.sh` starts one).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::BufRead;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use qamqor_core::model::Kato;
use qamqor_core::sample::Sample;
use qamqor_core::store::{Store, StoreOptions};
use qamqor_core::sync::client::{self, ServerConfig};
use qamqor_core::sync::wire::Limits;
use qamqor_server::storage::Storage;
use qamqor_server::storage::conformance::{register_device, specialist};
use qamqor_server::storage::postgres::{self, PostgresStorage};

const DISTRICT: &str = "751710000";

struct Process {
    child: Child,
    url: String,
    first_start: bool,
}

fn start(url: &str, data: &std::path::Path) -> Process {
    let mut child = Command::new(env!("CARGO_BIN_EXE_qamqor-server"))
        .env("QAMQOR_DATABASE_URL", url)
        .env("QAMQOR_DATA_DIR", data)
        .env("QAMQOR_LISTEN", "127.0.0.1:0")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
    let (mut first_start, mut line) = (false, String::new());
    while out.read_line(&mut line).unwrap() > 0 {
        first_start |= line.starts_with("First start");
        if let Some(rest) = line.strip_prefix("Qamqor server listening on ") {
            let url = rest.split_whitespace().next().unwrap().to_owned();
            // Keep reading its output so that it never blocks on a full pipe.
            std::thread::spawn(move || std::io::copy(&mut out, &mut std::io::sink()));
            return Process { child, url, first_start };
        }
        line.clear();
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("a server process did not start");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL: scripts/test.sh starts one and runs it"]
async fn three_processes_one_killed_mid_sync_lose_nothing() {
    let base = std::env::var("QAMQOR_TEST_POSTGRES_URL").expect("QAMQOR_TEST_POSTGRES_URL");
    let dir = tempfile::tempdir().unwrap();
    let url =
        postgres::create_database(&base, &format!("qamqor_procs{}", dir.path().file_name().unwrap().to_string_lossy()))
            .unwrap();

    // Three processes started at once on a new database.
    let starts: Vec<_> = (0..3)
        .map(|i| {
            let (url, data) = (url.clone(), dir.path().join(format!("p{i}")));
            std::thread::spawn(move || start(&url, &data))
        })
        .collect();
    let mut procs: Vec<Process> = starts.into_iter().map(|t| t.join().unwrap()).collect();
    assert_eq!(procs.iter().filter(|p| p.first_start).count(), 1, "exactly one process created the administrator");

    let storage = PostgresStorage::open(&url, 4).unwrap();
    let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 25).unwrap();
    let mut phones = Vec::new();
    for i in 0..4 {
        let user = format!("u{i}");
        storage.create_user(&specialist(&user)).unwrap();
        let mut options = StoreOptions::new(&user);
        options.today = Some(today);
        let store = Arc::new(Store::open(dir.path().join(format!("phone{i}.db")), &[5; 32], options).unwrap());
        let token = register_device(&storage, &user, &store.actor_id(), &format!("d{i}"));
        phones.push((store, token, Sample::new(300 + i as u64, today, Kato::parse(DISTRICT).unwrap())));
    }
    let config = |token: &str, url: &str| ServerConfig {
        url: url.to_owned(),
        token: token.to_owned(),
        ca_pem: None,
        timeout: Duration::from_secs(30),
    };

    // Work on every phone, synced through the processes in turn; process 0
    // is killed while the third round's syncs run.
    for round in 0..6 {
        for (store, _, sample) in phones.iter_mut() {
            for _ in 0..5 {
                let child = sample.child();
                store.register_child(&child).unwrap();
            }
        }
        let mut syncs = Vec::new();
        for (i, (store, token, _)) in phones.iter().enumerate() {
            let target = if round >= 2 { 1 + (i + round) % 2 } else { (i + round) % 3 };
            let (store, cfg) = (store.clone(), config(token, &procs[target].url));
            syncs.push(tokio::spawn(async move { client::sync(store, &cfg, Limits::default()).await }));
        }
        if round == 2 {
            // Phones also mid-sync with the process about to die.
            for (store, token, _) in &phones {
                let (store, cfg) = (store.clone(), config(token, &procs[0].url));
                syncs.push(tokio::spawn(async move { client::sync(store, &cfg, Limits::default()).await }));
            }
            tokio::time::sleep(Duration::from_millis(30)).await;
            procs[0].child.kill().unwrap();
            procs[0].child.wait().unwrap();
        }
        let mut cut = 0;
        for s in syncs {
            // A sync cut off by the kill fails; the next one resumes.
            cut += usize::from(s.await.unwrap().is_err());
        }
        if round == 2 {
            eprintln!("syncs cut off by the kill: {cut}");
        }
    }
    // Everything through the two processes left, until nothing moves.
    for _ in 0..3 {
        for (i, (store, token, _)) in phones.iter().enumerate() {
            client::sync(store.clone(), &config(token, &procs[1 + i % 2].url), Limits::default()).await.unwrap();
        }
    }
    let ids: std::collections::BTreeSet<_> = phones[0].0.document_ids().unwrap().into_iter().collect();
    assert_eq!(ids.len(), 4 * 6 * 5, "every case registered on every phone");
    for (store, _, _) in &phones {
        assert_eq!(store.document_ids().unwrap().into_iter().collect::<std::collections::BTreeSet<_>>(), ids);
        for id in &ids {
            let on_server = storage.load_doc(id).unwrap().unwrap();
            assert_eq!(store.heads(id).unwrap(), on_server.get_heads(), "{id}");
        }
    }
    for p in &mut procs[1..] {
        p.child.kill().unwrap();
        p.child.wait().unwrap();
    }
}
