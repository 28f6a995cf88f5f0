//! The SQLite schema of a phone's store and its numbered migrations.
//!
//! `user_version` holds the number of migrations applied; each migration
//! runs in its own transaction. Query tables (`q_*`) are derived from the
//! documents and can be rebuilt from them alone.

use rusqlite::Connection;

use crate::error::{Error, Result};

/// The migrations, in order; migration `i` brings the schema to version `i + 1`.
pub const MIGRATIONS: &[&str] = &[
    // 1: documents, their change log, and the query tables.
    r#"
    CREATE TABLE meta (
        key   TEXT PRIMARY KEY,
        value BLOB NOT NULL
    ) STRICT;

    -- One row per Automerge document: the last compacted snapshot.
    CREATE TABLE documents (
        doc_id     TEXT PRIMARY KEY,
        kind       TEXT NOT NULL,
        snapshot   BLOB NOT NULL,
        updated_at INTEGER NOT NULL
    ) STRICT;

    -- Changes appended since the snapshot, one row per user action
    -- (Automerge incremental save); compaction folds them into the snapshot.
    CREATE TABLE changes (
        seq    INTEGER PRIMARY KEY AUTOINCREMENT,
        doc_id TEXT NOT NULL REFERENCES documents(doc_id) ON DELETE CASCADE,
        data   BLOB NOT NULL
    ) STRICT;
    CREATE INDEX changes_by_doc ON changes(doc_id, seq);

    CREATE TABLE q_children (
        doc_id            TEXT PRIMARY KEY,
        iin               TEXT NOT NULL,
        display_name      TEXT NOT NULL,
        sort_key          TEXT NOT NULL,
        birth_date        TEXT NOT NULL,
        region            TEXT NOT NULL,
        district          TEXT NOT NULL,
        status            TEXT NOT NULL,
        tier              TEXT NOT NULL,
        placement_form    TEXT,
        representative_id TEXT,
        urgent            INTEGER NOT NULL,
        last_visit        TEXT
    ) STRICT;
    CREATE INDEX q_children_iin ON q_children(iin);
    CREATE INDEX q_children_sort ON q_children(sort_key);

    CREATE TABLE q_representatives (
        doc_id              TEXT PRIMARY KEY,
        iin                 TEXT NOT NULL,
        display_name        TEXT NOT NULL,
        sort_key            TEXT NOT NULL,
        region              TEXT NOT NULL,
        district            TEXT NOT NULL,
        role                TEXT NOT NULL,
        status              TEXT NOT NULL,
        since               TEXT NOT NULL,
        last_check          TEXT,
        due_date            TEXT NOT NULL,
        urgent              INTEGER NOT NULL,
        removal_recommended INTEGER NOT NULL
    ) STRICT;
    CREATE INDEX q_representatives_iin ON q_representatives(iin);
    CREATE INDEX q_representatives_due ON q_representatives(due_date);

    CREATE TABLE q_mentors (
        doc_id        TEXT PRIMARY KEY,
        user_id       TEXT NOT NULL,
        display_name  TEXT NOT NULL,
        cert_valid_until TEXT
    ) STRICT;

    CREATE TABLE q_mentees (
        doc_id        TEXT PRIMARY KEY,
        mentor_id     TEXT NOT NULL,
        child_id      TEXT NOT NULL,
        display_name  TEXT NOT NULL,
        sort_key      TEXT NOT NULL,
        birth_date    TEXT NOT NULL,
        start_date    TEXT NOT NULL,
        end_date      TEXT
    ) STRICT;
    CREATE INDEX q_mentees_mentor ON q_mentees(mentor_id, sort_key);

    -- Folded name tokens for search (see model::text::fold).
    CREATE TABLE q_names (
        token  TEXT NOT NULL,
        doc_id TEXT NOT NULL,
        PRIMARY KEY (token, doc_id)
    ) STRICT, WITHOUT ROWID;
    CREATE INDEX q_names_doc ON q_names(doc_id);

    CREATE TABLE q_urgent (
        doc_id TEXT NOT NULL,
        item   TEXT NOT NULL,
        since  TEXT,
        PRIMARY KEY (doc_id, item)
    ) STRICT, WITHOUT ROWID;

    CREATE TABLE q_conflicts (
        doc_id TEXT NOT NULL,
        path   TEXT NOT NULL,
        body   TEXT NOT NULL,
        PRIMARY KEY (doc_id, path)
    ) STRICT, WITHOUT ROWID;
    "#,
    // 2: sync state per document, for the phone's sync with its server.
    r#"
    CREATE TABLE sync_docs (
        doc_id     TEXT PRIMARY KEY,
        state      BLOB NOT NULL DEFAULT x'',
        pending    INTEGER NOT NULL DEFAULT 1,
        status     TEXT NOT NULL DEFAULT 'pending',
        reason     TEXT,
        updated_at INTEGER NOT NULL DEFAULT 0
    ) STRICT;
    CREATE INDEX sync_docs_pending ON sync_docs(pending, doc_id);
    "#,
    // 3: who opened which file and when, until the server has it in its audit.
    r#"
    CREATE TABLE read_log (
        read_id TEXT PRIMARY KEY,
        doc_id  TEXT NOT NULL,
        at      INTEGER NOT NULL
    ) STRICT;
    "#,
    // 4: the date of the office's order removing a representative, for the
    // urgent task of their children's open placements.
    r#"
    ALTER TABLE q_representatives ADD COLUMN removed_on TEXT;
    "#,
    // 5: removed documents to acknowledge, found without reading every
    // sync row (a sync with nothing new stays cheap at any caseload).
    r#"
    CREATE INDEX sync_docs_removed ON sync_docs(doc_id) WHERE status = 'removed';
    "#,
    // 6: a document's local version, raised by every change stored, and
    // its heads (empty until its next change), so that a sync sends a
    // document whole and knows whether it changed meanwhile without
    // loading it.
    r#"
    ALTER TABLE documents ADD COLUMN version INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE documents ADD COLUMN heads BLOB NOT NULL DEFAULT x'';
    "#,
    // 7: one child, one file: who each case and representative's file is
    // about (likely duplicates share an IIN, or folded names and a birth
    // date), the files merged into another, and the pairs a person said are
    // two people. Filled by rebuilding the query tables (projection 5).
    r#"
    CREATE TABLE q_people (
        doc_id   TEXT PRIMARY KEY,
        kind     TEXT NOT NULL,
        iin      TEXT NOT NULL,
        name_key TEXT NOT NULL,
        birth    TEXT NOT NULL
    ) STRICT;
    CREATE INDEX q_people_iin ON q_people(kind, iin);
    CREATE INDEX q_people_name ON q_people(kind, name_key, birth);
    CREATE TABLE q_merged (
        doc_id  TEXT PRIMARY KEY,
        into_id TEXT NOT NULL
    ) STRICT;
    CREATE TABLE q_distinct (
        doc_id TEXT NOT NULL,
        other  TEXT NOT NULL,
        PRIMARY KEY (doc_id, other)
    ) STRICT, WITHOUT ROWID;
    "#,
    // 8: attachments: the files (encrypted with the rest of the store),
    // and the queue of those to send, which survives a killed app and
    // knows how much of each the server has.
    r#"
    CREATE TABLE blobs (
        hash       TEXT PRIMARY KEY,
        media_type TEXT NOT NULL,
        size       INTEGER NOT NULL,
        data       BLOB NOT NULL,
        origin     TEXT NOT NULL,
        last_used  INTEGER NOT NULL
    ) STRICT;
    CREATE TABLE blob_uploads (
        hash      TEXT PRIMARY KEY,
        doc_id    TEXT NOT NULL,
        urgent    INTEGER NOT NULL,
        sent      INTEGER NOT NULL DEFAULT 0,
        state     TEXT NOT NULL,
        reason    TEXT,
        attempts  INTEGER NOT NULL DEFAULT 0,
        next_try  INTEGER NOT NULL DEFAULT 0,
        queued_at INTEGER NOT NULL
    ) STRICT;
    CREATE INDEX blob_uploads_order ON blob_uploads(state, urgent DESC, queued_at);
    "#,
];

/// The schema version this core writes.
pub fn current_version() -> u32 {
    MIGRATIONS.len() as u32
}

/// Brings the database to the current schema. A database from a newer
/// app version is refused with [`Error::UpdateRequired`].
pub fn migrate(conn: &mut Connection) -> Result<()> {
    let version: u32 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if version > current_version() {
        return Err(Error::UpdateRequired);
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", i as u32 + 1)?;
        tx.commit()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema_of(conn: &Connection) -> Vec<(String, String)> {
        let mut st = conn
            .prepare(
                "SELECT name, sql FROM sqlite_master WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%' ORDER BY name",
            )
            .unwrap();
        st.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap().collect::<rusqlite::Result<_>>().unwrap()
    }

    #[test]
    fn stepwise_migration_equals_fresh_schema() {
        let mut fresh = Connection::open_in_memory().unwrap();
        migrate(&mut fresh).unwrap();
        // Apply one migration at a time, reopening in between, as phones
        // upgrading through every release would.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        for upto in 1..=MIGRATIONS.len() {
            let mut c = Connection::open(&path).unwrap();
            let v: u32 = c.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
            for (i, sql) in MIGRATIONS.iter().enumerate().take(upto).skip(v as usize) {
                let tx = c.transaction().unwrap();
                tx.execute_batch(sql).unwrap();
                tx.pragma_update(None, "user_version", i as u32 + 1).unwrap();
                tx.commit().unwrap();
            }
        }
        let mut stepped = Connection::open(&path).unwrap();
        migrate(&mut stepped).unwrap();
        assert_eq!(schema_of(&stepped), schema_of(&fresh));
        migrate(&mut stepped).unwrap(); // idempotent
    }

    #[test]
    fn newer_database_needs_an_update() {
        let mut c = Connection::open_in_memory().unwrap();
        c.pragma_update(None, "user_version", current_version() + 1).unwrap();
        assert!(matches!(migrate(&mut c), Err(Error::UpdateRequired)));
    }
}
