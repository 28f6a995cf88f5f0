//! A write that returned success survives a killed process: a child
//! process records visits as fast as it can and reports each one that
//! returned; the parent kills it with SIGKILL mid-stream, reopens the file
//! and finds every reported visit.

#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use chrono::NaiveDate;
use qamqor_core::model::{ChildId, Kato};
use qamqor_core::sample::Sample;
use qamqor_core::store::{Store, StoreOptions};

const KEY: [u8; 32] = [42; 32];
const TEST_NAME: &str = "acknowledged_writes_survive_a_killed_process";

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 25).unwrap()
}

fn options() -> StoreOptions {
    let mut o = StoreOptions::new("specialist");
    o.today = Some(today());
    o.compact_after = 16; // compactions happen mid-stream too
    o
}

fn writer_process(path: &str, child_id: &str, seed: u64) {
    let store = Store::open(path, &KEY, options()).unwrap();
    let child = store.child_file(&ChildId::parse(child_id).unwrap()).unwrap().child;
    let mut s = Sample::new(seed, today(), child.district.clone());
    for i in 0.. {
        let date = today() - chrono::Duration::days(i % 300);
        let visit = s.visit(&child, date.max(child.birth_date));
        store.record_visit(&visit).unwrap();
        println!("ACK {}", visit.id);
    }
}

#[test]
fn acknowledged_writes_survive_a_killed_process() {
    if let (Ok(path), Ok(child)) = (std::env::var("QAMQOR_CRASH_DB"), std::env::var("QAMQOR_CRASH_CHILD")) {
        let seed = std::env::var("QAMQOR_CRASH_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(0);
        writer_process(&path, &child, seed);
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("phone.db");
    let child = {
        let store = Store::open(&path, &KEY, options()).unwrap();
        let mut s = Sample::new(1, today(), Kato::parse("751710000").unwrap());
        let c = s.child();
        store.register_child(&c).unwrap();
        c
    };
    let mut acked = Vec::new();
    for (round, kill_after) in [40usize, 150, 90].into_iter().enumerate() {
        let mut proc = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", TEST_NAME, "--nocapture", "--test-threads=1"])
            .env("QAMQOR_CRASH_DB", &path)
            .env("QAMQOR_CRASH_CHILD", child.id.as_str())
            .env("QAMQOR_CRASH_SEED", (round + 10).to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let out = BufReader::new(proc.stdout.take().unwrap());
        let mut seen = 0;
        let mut lines = out.lines();
        for line in lines.by_ref() {
            if let Some(id) = line.unwrap().strip_prefix("ACK ") {
                acked.push(id.to_owned());
                seen += 1;
                if seen == 1 {
                    // The writer process holds the store: a second handle, here
                    // or through a hard link, is refused rather than writing
                    // with the same actor from a stale cache.
                    assert!(matches!(Store::open(&path, &KEY, options()), Err(qamqor_core::Error::AlreadyOpen)));
                    let link = dir.path().join(format!("link{round}.db"));
                    std::fs::hard_link(&path, &link).unwrap();
                    assert!(matches!(Store::open(&link, &KEY, options()), Err(qamqor_core::Error::AlreadyOpen)));
                    std::fs::remove_file(&link).unwrap();
                }
                if seen == kill_after {
                    proc.kill().unwrap(); // SIGKILL: no destructors, no flush
                    break;
                }
            }
        }
        // Lines already in the pipe were acknowledged before the kill.
        for line in lines.map_while(Result::ok) {
            if let Some(id) = line.strip_prefix("ACK ") {
                acked.push(id.to_owned());
            }
        }
        proc.wait().unwrap();

        let store = Store::open(&path, &KEY, options()).unwrap();
        let file = store.child_file(&child.id).unwrap();
        let missing = acked.iter().filter(|id| !file.visits.contains_key(id.as_str())).count();
        assert_eq!(missing, 0, "round {round}: acknowledged visits lost");
        assert!(file.visits.len() >= acked.len());
        // The query tables agree with the documents after the crash.
        assert_eq!(store.caseload().unwrap().len(), 1);
    }
}
