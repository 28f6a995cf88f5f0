//! A harness for running phones and a real server together: the server on
//! loopback with a temporary SQLite database, each phone an encrypted
//! store in a temporary folder, real HTTP through the core's reqwest client.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
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
}

impl TestServer {
    /// Starts a server on a free loopback port.
    pub async fn start() -> TestServer {
        let dir = tempfile::tempdir().unwrap();
        let config = Config {
            listen: "127.0.0.1:0".into(),
            data_dir: dir.path().to_owned(),
            ..Config::default()
        };
        let service = run::open_service(&config).unwrap();
        let running = run::start(&config, service.clone()).await.unwrap();
        TestServer {
            running: Some(running),
            service,
            config,
            dir,
        }
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
        let service = run::open_service(&self.config).unwrap();
        self.service = service.clone();
        self.running = Some(run::start(&self.config, service).await.unwrap());
        self.url()
    }

    /// Creates a user.
    pub fn user(&self, id: &str, role: Role, districts: &[&str]) {
        let user = User {
            id: id.into(),
            name: id.into(),
            role,
            region: "75".into(),
            districts: districts.iter().map(|d| d.to_string()).collect(),
            adoption_access: false,
        };
        qamqor_server::admin::create_user(&self.service, &user).unwrap();
    }

    /// Opens a phone store for `user_id` and enrolls it.
    pub async fn phone(&self, user_id: &str) -> Phone {
        let dir = tempfile::tempdir().unwrap();
        let mut options = StoreOptions::new(user_id);
        options.today = Some(today());
        let store = Arc::new(Store::open(dir.path().join("phone.db"), &[3; 32], options).unwrap());
        let code = self.service.issue_code(user_id, 1).unwrap();
        let e = client::enroll(&self.url(), None, &code, &store.actor_id(), "test phone")
            .await
            .unwrap();
        let config = ServerConfig {
            url: self.url(),
            token: e.token,
            ca_pem: None,
            timeout: Duration::from_secs(30),
        };
        Phone {
            store,
            config,
            _dir: dir,
        }
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
