//! The server serves HTTPS itself; the phone trusts the regional CA it is
//! given and refuses plain HTTP to anything but loopback.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use qamqor_core::Error;
use qamqor_core::store::{Store, StoreOptions};
use qamqor_core::sync::client::{self, ServerConfig};
use qamqor_core::sync::wire::Limits;
use qamqor_server::config::Config;
use qamqor_server::model::{Role, User};
use qamqor_server::run;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_phone_syncs_over_https_with_the_regional_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    let (cert_pem, key_pem) = (cert.cert.pem(), cert.key_pair.serialize_pem());
    std::fs::write(dir.path().join("cert.pem"), &cert_pem).unwrap();
    std::fs::write(dir.path().join("key.pem"), &key_pem).unwrap();
    let config = Config {
        listen: "127.0.0.1:0".into(),
        data_dir: dir.path().join("data"),
        tls_cert: Some(dir.path().join("cert.pem")),
        tls_key: Some(dir.path().join("key.pem")),
        ..Config::default()
    };
    let service = run::open_service(&config).unwrap();
    let user = User {
        id: "aigerim".into(),
        name: "A".into(),
        role: Role::Specialist,
        region: "75".into(),
        districts: vec![qamqor_tests::DISTRICT.into()],
        adoption_access: false,
    };
    qamqor_server::admin::create_user(&service, &user).unwrap();
    let running = run::start(&config, service.clone()).await.unwrap();
    assert!(running.url().starts_with("https://"));
    let url = format!("https://localhost:{}", running.addr.port());

    let store =
        std::sync::Arc::new(Store::open(dir.path().join("phone.db"), &[5; 32], StoreOptions::new("aigerim")).unwrap());
    // Without the regional certificate the phone does not trust the server.
    let code = service.issue_code("aigerim", 1).unwrap();
    assert!(matches!(client::enroll(&url, None, &code, &store.actor_id(), "p").await, Err(Error::Network(_))));
    let e = client::enroll(&url, Some(cert_pem.as_bytes()), &code, &store.actor_id(), "p").await.unwrap();

    let mut s = qamqor_tests::sample(1);
    store.register_child(&s.child()).unwrap();
    let config = ServerConfig {
        url: url.clone(),
        token: e.token,
        ca_pem: Some(cert_pem.into_bytes()),
        timeout: Duration::from_secs(20),
    };
    let report = client::sync(store.clone(), &config, Limits::default()).await.unwrap();
    assert!(report.rounds >= 1);
    assert_eq!(service.storage().feed_end().unwrap(), 1);

    // Plain HTTP to a remote address is refused before anything is sent.
    let plain = ServerConfig { url: "http://192.0.2.10:8080".into(), ..config };
    assert!(matches!(client::sync(store.clone(), &plain, Limits::default()).await, Err(Error::InsecureUrl)));
    running.shutdown().await.unwrap();
}
