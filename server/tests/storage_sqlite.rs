//! The SQLite backend against the storage conformance suite (two instances
//! on one database file, as two server processes), and its own checks of
//! damaged stored values and derived data.

#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::sync::Arc;

use qamqor_server::storage::Storage;
use qamqor_server::storage::sqlite::SqliteStorage;

qamqor_server::storage_conformance!(|dir: &Path| {
    Arc::new(SqliteStorage::open(&dir.join("server.db")).unwrap()) as Arc<dyn Storage>
});

mod sqlite_only {
    use qamqor_core::docs::DocId;
    use qamqor_core::model::{Kato, RiskFactor};
    use qamqor_core::sample::Sample;
    use qamqor_core::store::{Store, StoreOptions};
    use qamqor_core::sync::session::Session;
    use qamqor_core::sync::wire::Limits;
    use qamqor_server::ServerError;
    use qamqor_server::service::Service;
    use qamqor_server::storage::conformance;

    use super::*;

    const DISTRICT: &str = "751710000";

    fn today() -> chrono::NaiveDate {
        chrono::NaiveDate::from_ymd_opt(2026, 11, 25).unwrap()
    }

    fn setup(dir: &Path) -> Service {
        let storage = Arc::new(SqliteStorage::open(&dir.join("server.db")).unwrap());
        Service::new(storage, Limits::default(), 86_400)
    }

    fn user(service: &Service, id: &str) {
        service.storage().create_user(&conformance::specialist(id)).unwrap();
    }

    fn phone(service: &Service, dir: &Path, user: &str) -> (Store, qamqor_server::service::Caller) {
        let mut options = StoreOptions::new(user);
        options.today = Some(today());
        let store = Store::open(dir.join(format!("{user}.db")), &[5; 32], options).unwrap();
        let token = conformance::register_device(&**service.storage(), user, &store.actor_id(), &format!("dev-{user}"));
        (store, service.authenticate(&token).unwrap())
    }

    fn sync(service: &Service, store: &Store, caller: &qamqor_server::service::Caller) -> Vec<DocId> {
        let mut session = Session::new(Limits::default());
        while let Some(req) = session.next_request(store).unwrap() {
            let resp = service.sync(caller, &req).unwrap();
            session.apply(store, &resp).unwrap();
        }
        session.into_report().changed
    }

    fn sql(dir: &Path, statement: &str) {
        let c = rusqlite::Connection::open(dir.join("server.db")).unwrap();
        c.execute_batch(statement).unwrap();
    }

    #[test]
    fn a_stored_role_this_server_does_not_know_is_denied() {
        let dir = tempfile::tempdir().unwrap();
        let service = setup(dir.path());
        user(&service, "aigerim");
        let (store, caller) = phone(&service, dir.path(), "aigerim");
        sql(dir.path(), "UPDATE users SET role = 'superuser' WHERE id = 'aigerim'");
        let mut session = Session::new(Limits::default());
        let req = session.next_request(&store).unwrap().unwrap();
        let err = service.sync(&caller, &req).unwrap_err();
        assert!(matches!(&err, ServerError::Forbidden(m) if m.contains("role")), "{err}");
        assert_eq!(err.status(), 403);
        // Listing users refuses loudly rather than reading the role as another.
        assert!(service.storage().users().is_err());
        // Districts that cannot be read are refused as well, not read as none.
        sql(dir.path(), "UPDATE users SET role = 'specialist', districts = 'not json' WHERE id = 'aigerim'");
        assert!(matches!(service.storage().user("aigerim"), Err(ServerError::Forbidden(_))));
    }

    #[test]
    fn a_document_with_an_unknown_tier_or_kind_is_never_served() {
        let dir = tempfile::tempdir().unwrap();
        let service = setup(dir.path());
        user(&service, "aigerim");
        user(&service, "daniyar");
        let (a, ca) = phone(&service, dir.path(), "aigerim");
        let mut s = Sample::new(1, today(), Kato::parse(DISTRICT).unwrap());
        let (secret, plain, odd) = (s.child(), s.child(), s.child());
        for c in [&secret, &plain, &odd] {
            a.register_child(c).unwrap();
        }
        sync(&service, &a, &ca);
        sql(
            dir.path(),
            &format!(
                "UPDATE documents SET tier = 'secret' WHERE doc_id = '{}';
                 UPDATE documents SET kind = 'rep' WHERE doc_id = '{}';",
                DocId::case(&secret.id),
                DocId::case(&odd.id)
            ),
        );
        let (b, cb) = phone(&service, dir.path(), "daniyar");
        sync(&service, &b, &cb);
        assert_eq!(b.document_ids().unwrap(), vec![DocId::case(&plain.id)]);
        assert!(service.storage().doc_meta(&DocId::case(&secret.id)).unwrap().is_none());
        // Written to by its author, it is refused as unreadable, not as an access refusal.
        let mut child = a.child_file(&secret.id).unwrap().child;
        child.school = Some("№5".into());
        a.update_child(&child).unwrap();
        let mut session = Session::new(Limits::default());
        while let Some(req) = session.next_request(&a).unwrap() {
            let resp = service.sync(&ca, &req).unwrap();
            session.apply(&a, &resp).unwrap();
        }
        let refused = &session.report().refused;
        assert!(!refused.is_empty());
        assert!(refused.iter().all(|r| r.status == qamqor_core::sync::wire::DocStatus::Invalid), "{refused:?}");
        // The author's phone keeps its work.
        assert_eq!(a.child_file(&secret.id).unwrap().child.school.as_deref(), Some("№5"));
    }

    #[test]
    fn metadata_derived_under_other_rules_is_derived_again_at_start() {
        let dir = tempfile::tempdir().unwrap();
        let service = setup(dir.path());
        user(&service, "aigerim");
        let (a, ca) = phone(&service, dir.path(), "aigerim");
        let mut s = Sample::new(2, today(), Kato::parse(DISTRICT).unwrap());
        let rep = s.representative(today() - chrono::Duration::days(400));
        a.register_representative(&rep).unwrap();
        a.record_check(&s.check(&rep.id, today(), Some(RiskFactor::CriminalProsecution))).unwrap();
        sync(&service, &a, &ca);
        let id = DocId::representative(&rep.id);
        let before = service.storage().doc_meta(&id).unwrap().unwrap();
        assert!(before.projection.urgent);
        drop(service);
        // Metadata as an older rule left it, and a version that says so.
        sql(dir.path(), "UPDATE documents SET urgent = 0; UPDATE meta SET value = 0 WHERE key = 'projection_version';");
        let service = setup(dir.path());
        let after = service.storage().doc_meta(&id).unwrap().unwrap();
        assert!(after.projection.urgent, "derived again under the current rules");
        assert!(after.seq > before.seq, "phones are told at their next sync");
        // Current metadata is left alone at the next start.
        let again = setup(dir.path()).storage().doc_meta(&id).unwrap().unwrap();
        assert_eq!(again.seq, after.seq);
    }
}

mod audit {
    use qamqor_server::model::AuditEntry;

    use super::*;

    fn line(i: i64) -> AuditEntry {
        AuditEntry {
            at: i * 1000,
            user_id: "u".into(),
            device_id: "d".into(),
            doc_id: format!("case:{i:032x}"),
            action: "write".into(),
            hashes: vec!["ab".into()],
            address: Some("10.0.0.1".into()),
        }
    }

    #[test]
    fn the_audit_chain_reveals_an_edited_or_deleted_line_and_survives_archiving() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("server.db");
        let s = SqliteStorage::open(&path).unwrap();
        for i in 1..=10 {
            s.audit(&[line(i)]).unwrap();
        }
        let check = s.audit_verify().unwrap();
        assert_eq!((check.lines, check.broken_at), (10, None));

        // Archive the first four lines; what remains still verifies.
        let mut out = Vec::new();
        assert_eq!(s.audit_archive(5_000, &mut out).unwrap(), 4);
        assert_eq!(String::from_utf8(out).unwrap().lines().count(), 4);
        let check = s.audit_verify().unwrap();
        assert_eq!((check.lines, check.broken_at), (6, None));
        drop(s);

        // Someone with the file edits a line (dropping the trigger first).
        let c = rusqlite::Connection::open(&path).unwrap();
        c.execute_batch(
            "DROP TRIGGER audit_no_update; UPDATE audit SET user_id = 'someone else' WHERE doc_id LIKE '%7';",
        )
        .unwrap();
        let s = SqliteStorage::open(&path).unwrap();
        let broken = s.audit_verify().unwrap().broken_at;
        assert!(broken.is_some(), "an edited line is found");
        drop(s);
        // Or deletes one.
        c.execute_batch("UPDATE audit SET user_id = 'u' WHERE doc_id LIKE '%7'; DROP TRIGGER audit_no_delete; DELETE FROM audit WHERE doc_id LIKE '%8';")
            .unwrap();
        let s = SqliteStorage::open(&path).unwrap();
        let check = s.audit_verify().unwrap();
        assert!(check.broken_at.is_some(), "a deleted line is found: {check:?}");
    }
}
