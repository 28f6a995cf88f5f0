use rusqlite::StatementStatus;
fn main() {
    let dir = std::env::temp_dir().join(format!("probe-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("db.sqlite");
    drop(qamqor_server::storage::sqlite::SqliteStorage::open(&path).unwrap());
    let c = rusqlite::Connection::open(&path).unwrap();
    for (name, sql) in [
        ("removal partial", "SELECT h.doc_id, d.seq FROM device_docs h LEFT JOIN documents d ON d.doc_id = h.doc_id WHERE h.device_id = ?1 AND h.removal = 1"),
        ("removal no join", "SELECT h.doc_id FROM device_docs h WHERE h.device_id = ?1 AND h.removal = 1"),
        ("all", "SELECT h.doc_id, d.seq FROM device_docs h LEFT JOIN documents d ON d.doc_id = h.doc_id WHERE h.device_id = ?1"),
        ("named", "SELECT h.doc_id, d.seq FROM device_docs h LEFT JOIN documents d ON d.doc_id = h.doc_id WHERE h.device_id = ?1 AND h.removal = 0 AND h.doc_id IN (SELECT value FROM json_each(?2))"),
        ("device", "SELECT id FROM devices WHERE token_hash = ?1"),
        ("load", "SELECT doc_id, state FROM device_docs WHERE device_id = ?1 AND doc_id IN (SELECT value FROM json_each(?2))"),
    ] {
        let mut st = c.prepare(sql).unwrap();
        let n = if sql.contains("?2") { 2 } else { 1 };
        for i in 0..100 {
            let dev = format!("dev{i}");
            if n == 2 { let _ = st.query_map(rusqlite::params![dev, "[\"a\"]"], |_| Ok(())).unwrap().count(); }
            else { let _ = st.query_map([dev], |_| Ok(())).unwrap().count(); }
        }
        println!("{name}: reprepare {} of 100", st.get_status(StatementStatus::RePrepare));
    }
    std::fs::remove_dir_all(dir).unwrap();
}
