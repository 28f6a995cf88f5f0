//! Enrollment codes are spent after repeated wrong secrets.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use qamqor_core::sync::wire::Limits;
use qamqor_server::ServerError;
use qamqor_server::model::{Role, User};
use qamqor_server::service::{EnrollRequest, MAX_CODE_FAILURES, Service};
use qamqor_server::storage::sqlite::SqliteStorage;

#[test]
fn guessing_spends_the_code() {
    let dir = tempfile::tempdir().unwrap();
    let storage = Arc::new(SqliteStorage::open(&dir.path().join("s.db")).unwrap());
    let service = Service::new(storage, Limits::default(), 86_400);
    let user = User {
        id: "u".into(),
        name: "u".into(),
        role: Role::Specialist,
        region: "75".into(),
        districts: vec![],
        adoption_access: false,
    };
    service.storage().create_user(&user).unwrap();
    let code = service.issue_code("u", 1).unwrap();
    let guess = |n: u32| EnrollRequest {
        code: format!("{}-AAAA-BBBB-CC{n:02}", &code[..4]),
        actor: "0a".into(),
        label: "x".into(),
    };
    for n in 0..MAX_CODE_FAILURES {
        let e = service.enroll(&guess(n), "10.0.0.1").unwrap_err();
        assert!(matches!(e, ServerError::Unauthorized(_)), "{e}");
    }
    let right = EnrollRequest { code, actor: "0b".into(), label: "x".into() };
    assert!(matches!(service.enroll(&right, "10.0.0.1"), Err(ServerError::Unauthorized(_))));
}
