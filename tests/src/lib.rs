//! A harness for running phones and a real server together: the server on
//! loopback with a temporary SQLite database, each phone an encrypted
//! store in a temporary folder, real HTTP through the core's reqwest client.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
pub mod console;
pub mod load;
pub mod register;
pub mod sim;

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use chrono::NaiveDate;
use qamqor_core::model::Kato;
use qamqor_core::sample::Sample;
use qamqor_core::store::{Store, StoreOptions};
use qamqor_core::sync::client::{self, ServerConfig, SyncReport};
use qamqor_core::sync::wire::Limits;
use qamqor_server::config::Config;
use qamqor_server::model::{Role, User};
use qamqor_server::run::{self, Running};
use qamqor_server::service::Service;

/// The date the tests live on.
pub fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 25).unwrap()
}

/// A district of Almaty used by the tests.
pub const DISTRICT: &str = "751710000";
/// Another district of Almaty.
pub const OTHER_DISTRICT: &str = "752210000";

/// A sample generator in [`DISTRICT`].
pub fn sample(seed: u64) -> Sample {
    Sample::new(seed, today(), Kato::parse(DISTRICT).unwrap())
}

/// A child placed with a guardian since `since` (or the child's birth, if
/// later), all registered on `store`.
pub fn register_family(
    store: &Store,
    s: &mut Sample,
    since: NaiveDate,
) -> (qamqor_core::model::Child, qamqor_core::model::Representative, qamqor_core::model::Placement) {
    let child = s.child();
    let start = child.birth_date.max(since);
    let rep = s.representative(start);
    store.register_child(&child).unwrap();
    store.register_representative(&rep).unwrap();
    let placement = s.placement(&child, &rep, start);
    store.place_child(&placement).unwrap();
    (child, rep, placement)
}

/// With `QAMQOR_TEST_BACKEND=postgres`, a new PostgreSQL database (on the
/// server `QAMQOR_TEST_POSTGRES_URL` names) for one test server; else none
/// (the embedded SQLite database).
pub fn test_postgres() -> Option<qamqor_server::config::DatabaseUrl> {
    if std::env::var("QAMQOR_TEST_BACKEND").ok()? != "postgres" {
        return None;
    }
    let base = std::env::var("QAMQOR_TEST_POSTGRES_URL")
        .expect("QAMQOR_TEST_BACKEND=postgres needs QAMQOR_TEST_POSTGRES_URL (scripts/test.sh starts a server)");
    // Unique on a server that keeps databases from earlier runs.
    static MADE: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let stamp = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_micros();
    let name = format!("qamqor_it_{stamp}_{}_{}", std::process::id(), MADE.fetch_add(1, Ordering::Relaxed));
    let url = qamqor_server::storage::postgres::create_database(&base, &name).unwrap();
    Some(qamqor_server::config::DatabaseUrl(url))
}

/// A real server on loopback.
pub struct TestServer {
    /// The running server.
    pub running: Option<Running>,
    /// The service behind it.
    pub service: Arc<Service>,
    /// Its configuration.
    pub config: Config,
    /// The data folder.
    pub dir: tempfile::TempDir,
    offset: Arc<AtomicI64>,
}

impl TestServer {
    /// Starts a server on a free loopback port.
    pub async fn start() -> TestServer {
        Self::start_with(|_| {}).await
    }

    /// Starts a server with an adjusted configuration.
    pub async fn start_with(adjust: impl FnOnce(&mut Config)) -> TestServer {
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config { listen: "127.0.0.1:0".into(), data_dir: dir.path().to_owned(), ..Config::default() };
        config.database_url = test_postgres();
        adjust(&mut config);
        let offset = Arc::new(AtomicI64::new(0));
        let service = Self::service(&config, &offset);
        let running = run::start(&config, service.clone()).await.unwrap();
        TestServer { running: Some(running), service, config, dir, offset }
    }

    /// Starts a server opened as the production binary opens it (the
    /// database encrypted with a key file in the data folder), on a data
    /// folder `prepare` may fill first (a cached database, say).
    pub async fn start_as_deployed(prepare: impl FnOnce(&mut Config)) -> TestServer {
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config { listen: "127.0.0.1:0".into(), data_dir: dir.path().to_owned(), ..Config::default() };
        prepare(&mut config);
        let service = run::open_service(&config).unwrap();
        let running = run::start(&config, service.clone()).await.unwrap();
        TestServer { running: Some(running), service, config, dir, offset: Arc::new(AtomicI64::new(0)) }
    }

    fn service(config: &Config, offset: &Arc<AtomicI64>) -> Arc<Service> {
        let storage: Arc<dyn qamqor_server::storage::Storage> = match &config.database_url {
            Some(url) => {
                Arc::new(qamqor_server::storage::postgres::PostgresStorage::open(&url.0, config.database_pool).unwrap())
            }
            None => Arc::new(
                qamqor_server::storage::sqlite::SqliteStorage::open(&config.data_dir.join("qamqor-server.db")).unwrap(),
            ),
        };
        let o = offset.clone();
        let national = match config.mode {
            qamqor_server::config::Mode::Regional => config.national_link().unwrap(),
            qamqor_server::config::Mode::National => None,
        };
        let mut service = Service::new(storage, config.limits(), config.token_ttl_days * 86_400)
            .with_clock(move || chrono::Utc::now().timestamp() + o.load(Ordering::SeqCst))
            .with_mode(config.mode, national);
        if let Some(dir) = &config.blob_dir {
            service = service.with_blobs(Arc::new(qamqor_server::blobs::InFolder::open(dir).unwrap()));
        }
        Arc::new(service)
    }

    /// Moves the server's clock forward.
    pub async fn advance_clock(&mut self, secs: i64) {
        self.offset.fetch_add(secs, Ordering::SeqCst);
    }

    /// The base URL.
    pub fn url(&self) -> String {
        self.running.as_ref().unwrap().url()
    }

    /// Stops the server (graceful) and starts a new process-equivalent on
    /// the same database, as after a restart. Returns the new URL.
    pub async fn restart(&mut self) -> String {
        if let Some(r) = self.running.take() {
            r.shutdown().await.unwrap();
        }
        let service = Self::service(&self.config, &self.offset);
        self.service = service.clone();
        self.running = Some(run::start(&self.config, service).await.unwrap());
        self.url()
    }

    /// Creates a user of the server's region.
    pub fn user(&self, id: &str, role: Role, districts: &[&str]) {
        let user = User {
            id: id.into(),
            name: id.into(),
            role,
            region: self.config.region.clone(),
            districts: districts.iter().map(|d| d.to_string()).collect(),
            adoption_access: false,
        };
        qamqor_server::admin::create_user(&self.service, &user).unwrap();
    }

    /// Opens a phone store for `user_id` and enrolls it.
    pub async fn phone(&self, user_id: &str) -> Phone {
        self.phone_as(user_id, user_id).await
    }

    /// Opens a phone store whose app claims `author` as its user, and
    /// enrolls it for `user_id`.
    pub async fn phone_as(&self, user_id: &str, author: &str) -> Phone {
        let dir = tempfile::tempdir().unwrap();
        let mut options = StoreOptions::new(author);
        options.today = Some(today());
        let store = Arc::new(Store::open(dir.path().join("phone.db"), &[3; 32], options).unwrap());
        let code = self.service.issue_code(user_id, 1).unwrap();
        let e = client::enroll(&self.url(), None, &code, &store.actor_id(), "test phone").await.unwrap();
        let config = ServerConfig { url: self.url(), token: e.token, ca_pem: None, timeout: Duration::from_secs(30) };
        Phone { store, config, _dir: dir }
    }
}

/// A phone: an encrypted store and its server configuration.
pub struct Phone {
    /// The store.
    pub store: Arc<Store>,
    /// Where and as whom it syncs.
    pub config: ServerConfig,
    _dir: tempfile::TempDir,
}

impl Phone {
    /// Writes a change into a stored document with this phone's actor,
    /// around the store's actions (as a modified app could); with `author`,
    /// the change names it in the document's `authors` first.
    pub fn edit_raw(
        &self,
        id: &qamqor_core::docs::DocId,
        author: Option<&str>,
        f: impl FnOnce(&mut automerge::transaction::Transaction<'_>),
    ) {
        let actor = self.store.actor_id();
        let mut doc = automerge::Automerge::load(&self.store.export_document(id).unwrap()).unwrap();
        doc.set_actor(automerge::ActorId::try_from(actor.as_str()).unwrap());
        let mut tx = doc.transaction();
        if let Some(author) = author {
            qamqor_core::docs::prepare_edit(&mut tx, &actor, author).unwrap();
        }
        f(&mut tx);
        tx.commit();
        self.store.merge_document(id, &doc.save()).unwrap();
    }

    /// Syncs with the server.
    pub async fn sync(&self) -> qamqor_core::Result<SyncReport> {
        client::sync(self.store.clone(), &self.config, Limits::default()).await
    }
}

/// The JSON content of a document, for comparing copies.
pub fn content(bytes: &[u8]) -> serde_json::Value {
    let doc = automerge::Automerge::load(bytes).unwrap();
    qamqor_core::docs::json::read(&doc, &automerge::ROOT).unwrap()
}

/// Registers a device for `user` with the store actor `actor` straight in
/// the server's storage, returning its token. Enrollment itself is tested
/// over HTTP; simulations and load tests skip its argon2 hashing, which
/// would dominate their run time.
pub fn register_device(service: &Service, user: &str, actor: &str, device_id: &str) -> String {
    qamqor_server::storage::conformance::register_device(&**service.storage(), user, actor, device_id)
}

/// A TCP proxy in front of the server that can drop the next responses:
/// the request reaches the server (which commits it) but the phone never
/// sees the answer, as when the network drops mid-request.
pub struct DropProxy {
    /// The proxy's base URL.
    pub url: String,
    drops: Arc<std::sync::atomic::AtomicUsize>,
}

impl DropProxy {
    /// Starts a proxy to `upstream` (`host:port`).
    pub async fn start(upstream: std::net::SocketAddr) -> DropProxy {
        use std::sync::atomic::Ordering;
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let drops = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let d = drops.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let d = d.clone();
                tokio::spawn(async move {
                    let Ok(server) = tokio::net::TcpStream::connect(upstream).await else {
                        return;
                    };
                    let (mut cr, mut cw) = client.into_split();
                    let (mut sr, mut sw) = server.into_split();
                    let up = tokio::spawn(async move {
                        let _ = tokio::io::copy(&mut cr, &mut sw).await;
                    });
                    let mut buf = vec![0u8; 64 * 1024];
                    loop {
                        let n = match sr.read(&mut buf).await {
                            Ok(0) | Err(_) => break,
                            Ok(n) => n,
                        };
                        // The server has answered, so it has committed: drop the answer.
                        if d.load(Ordering::SeqCst) > 0 {
                            d.fetch_sub(1, Ordering::SeqCst);
                            break;
                        }
                        if cw.write_all(&buf[..n]).await.is_err() {
                            break;
                        }
                    }
                    up.abort();
                });
            }
        });
        DropProxy { url, drops }
    }

    /// Drops the next `n` responses.
    pub fn drop_next(&self, n: usize) {
        self.drops.store(n, std::sync::atomic::Ordering::SeqCst);
    }

    /// Responses still to be dropped.
    pub fn pending_drops(&self) -> usize {
        self.drops.load(std::sync::atomic::Ordering::SeqCst)
    }
}

/// A `qamqor-server` process on loopback for the benchmarks, with the
/// connection limits lifted (every simulated phone comes from 127.0.0.1);
/// killed when dropped.
pub struct ServerProcess {
    child: std::process::Child,
    /// Its process id.
    pub pid: u32,
    /// Its base URL.
    pub url: String,
}

impl ServerProcess {
    /// Starts `bin` with `env` (the data folder and database among them)
    /// and waits for its URL. Its standard error goes to `log` if given,
    /// shown if it does not start.
    pub fn start(bin: &std::path::Path, env: &[(&str, &std::ffi::OsStr)], log: Option<&std::path::Path>) -> Self {
        use std::io::BufRead;
        let mut cmd = std::process::Command::new(bin);
        cmd.env("QAMQOR_LISTEN", "127.0.0.1:0")
            .env("QAMQOR_MAX_CONNECTIONS_PER_ADDRESS", "8192")
            .env("QAMQOR_MAX_CONNECTIONS", "8192")
            .env("RUST_LOG", "warn")
            .envs(env.iter().copied())
            .stdout(std::process::Stdio::piped())
            .stderr(log.map_or_else(std::process::Stdio::null, |l| std::fs::File::create(l).unwrap().into()));
        let mut child = cmd.spawn().unwrap();
        let pid = child.id();
        let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
        let mut url = String::new();
        let mut line = String::new();
        while out.read_line(&mut line).unwrap() > 0 {
            if let Some(rest) = line.strip_prefix("Qamqor server listening on ") {
                url = rest.split_whitespace().next().unwrap().to_owned();
                break;
            }
            line.clear();
        }
        if url.is_empty() {
            let _ = child.wait();
            let said = log.map(|l| std::fs::read_to_string(l).unwrap_or_default()).unwrap_or_default();
            panic!("the server did not start:\n{said}");
        }
        // Whatever else it prints is read and dropped.
        std::thread::spawn(move || std::io::copy(&mut out, &mut std::io::sink()));
        ServerProcess { child, pid, url }
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The resident memory of process `pid` (`None`: this process) in MiB,
/// from `/proc` (0 where there is none), for the benchmarks.
pub fn rss_mib(pid: Option<u32>) -> f64 {
    let path = pid.map_or_else(|| "/proc/self/status".to_owned(), |p| format!("/proc/{p}/status"));
    let status = std::fs::read_to_string(path).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

/// CPU time a process has used (user + system), in seconds; `None`: this
/// process.
pub fn cpu_secs(pid: Option<u32>) -> f64 {
    let path = pid.map_or_else(|| "/proc/self/stat".to_owned(), |p| format!("/proc/{p}/stat"));
    let stat = std::fs::read_to_string(path).unwrap_or_default();
    // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|x| x.parse::<f64>().ok()).unwrap_or(0.0);
    // Clock ticks of 1/100 s (Linux's USER_HZ).
    (ticks(11) + ticks(12)) / 100.0
}

/// A TCP proxy that records every byte that crosses it both ways, and can
/// be taken offline (connections refused, as when a link is down).
pub struct RecordingProxy {
    /// The proxy's base URL.
    pub url: String,
    /// Everything the client sent, then everything the server answered.
    pub seen: Arc<std::sync::Mutex<Vec<u8>>>,
    offline: Arc<std::sync::atomic::AtomicBool>,
}

impl RecordingProxy {
    /// Starts a proxy to `upstream`.
    pub async fn start(upstream: std::net::SocketAddr) -> RecordingProxy {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
        let offline = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (s, off) = (seen.clone(), offline.clone());
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                if off.load(Ordering::SeqCst) {
                    drop(client);
                    continue;
                }
                let s = s.clone();
                tokio::spawn(async move {
                    let Ok(server) = tokio::net::TcpStream::connect(upstream).await else { return };
                    let (mut cr, mut cw) = client.into_split();
                    let (mut sr, mut sw) = server.into_split();
                    let s2 = s.clone();
                    let up = tokio::spawn(async move {
                        let mut buf = vec![0u8; 16 * 1024];
                        while let Ok(n) = cr.read(&mut buf).await {
                            if n == 0 || sw.write_all(&buf[..n]).await.is_err() {
                                break;
                            }
                            s2.lock().unwrap().extend_from_slice(&buf[..n]);
                        }
                    });
                    let mut buf = vec![0u8; 16 * 1024];
                    while let Ok(n) = sr.read(&mut buf).await {
                        if n == 0 || cw.write_all(&buf[..n]).await.is_err() {
                            break;
                        }
                        s.lock().unwrap().extend_from_slice(&buf[..n]);
                    }
                    up.abort();
                });
            }
        });
        RecordingProxy { url, seen, offline }
    }

    /// Takes the link down (`true`) or up again.
    pub fn set_offline(&self, offline: bool) {
        self.offline.store(offline, Ordering::SeqCst);
    }

    /// Everything recorded so far.
    pub fn bytes(&self) -> Vec<u8> {
        self.seen.lock().unwrap().clone()
    }
}
