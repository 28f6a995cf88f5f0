//! The one writer connection, with group commit.
//!
//! Every write of the SQLite backend runs here. A write that finds others
//! waiting for the connection does not commit alone: it runs inside the
//! transaction already open, in a savepoint of its own, and leaves the
//! commit to the last of the group. One `COMMIT` (one fsync) then makes the
//! whole group durable, and only then does any member return: nothing is
//! acknowledged before it is on disk. A member that fails is rolled back to
//! its savepoint without touching the others; a commit that fails fails
//! every member (none has returned), and a busy database makes each run
//! its work again, as a lone transaction would.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use rusqlite::Connection;

use crate::error::{Result, ServerError, StorageFailure};

/// Attempts of a write that finds the database busy.
const ATTEMPTS: usize = 8;
/// Writes committed together at most.
const MAX_MEMBERS: usize = 32;
/// How long a group stays open to newcomers at most.
const MAX_OPEN: Duration = Duration::from_millis(20);

/// How a group's commit ended.
type Outcome = std::result::Result<(), (StorageFailure, String)>;

/// The members of one transaction wait here for its end.
#[derive(Default)]
struct Group {
    outcome: Mutex<Option<Outcome>>,
    ended: Condvar,
}

impl Group {
    fn end(&self, outcome: Outcome) {
        *self.outcome.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(outcome);
        self.ended.notify_all();
    }

    fn wait(&self) -> Outcome {
        let mut outcome = self.outcome.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        loop {
            if let Some(o) = outcome.as_ref() {
                return o.clone();
            }
            outcome = self.ended.wait(outcome).unwrap_or_else(std::sync::PoisonError::into_inner);
        }
    }
}

/// The transaction open now.
struct Open {
    group: Arc<Group>,
    members: usize,
    started: Instant,
}

struct State {
    conn: Connection,
    open: Option<Open>,
}

/// The writer connection, shared by group commit.
pub(super) struct Writer {
    state: Mutex<State>,
    /// Threads waiting for the connection (they will join the open group).
    waiting: AtomicUsize,
    /// Commits made (each one fsync), for tests and figures.
    commits: AtomicUsize,
}

/// The connection while one write runs on it: a panic in the write rolls
/// the open transaction back and fails its group instead of leaving the
/// members waiting.
struct Turn<'a>(MutexGuard<'a, State>);

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        if std::thread::panicking()
            && let Some(open) = self.0.open.take()
        {
            let _ = self.0.conn.execute_batch("ROLLBACK");
            open.group.end(Err((StorageFailure::Other, "a write failed; nothing of it was stored".into())));
        }
    }
}

fn failure(e: &ServerError) -> (StorageFailure, String) {
    match e {
        ServerError::Storage { failure, message } => (*failure, message.clone()),
        e => (StorageFailure::Other, e.to_string()),
    }
}

impl Writer {
    pub(super) fn new(conn: Connection) -> Self {
        Writer {
            state: Mutex::new(State { conn, open: None }),
            waiting: AtomicUsize::new(0),
            commits: AtomicUsize::new(0),
        }
    }

    /// Runs `f` in the write transaction and returns once it is committed;
    /// `f` runs again when the database was busy.
    pub(super) fn write<R>(&self, mut f: impl FnMut(&Connection) -> Result<R>) -> Result<R> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.once(&mut f) {
                Err(e) if attempt < ATTEMPTS && e.is_busy() => {
                    tracing::debug!(attempt, "database busy; running the write again");
                }
                r => return r,
            }
        }
    }

    fn once<R>(&self, f: &mut impl FnMut(&Connection) -> Result<R>) -> Result<R> {
        self.waiting.fetch_add(1, Ordering::SeqCst);
        let guard = self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        self.waiting.fetch_sub(1, Ordering::SeqCst);
        let mut turn = Turn(guard);
        let state = &mut *turn.0;
        if state.open.is_none() {
            state.conn.execute_batch("BEGIN IMMEDIATE")?;
            state.open = Some(Open { group: Arc::default(), members: 0, started: Instant::now() });
        }
        // Each write in a savepoint of its own: its failure leaves the
        // group's other writes in place.
        let (result, intact) = match state.conn.execute_batch("SAVEPOINT member") {
            Err(e) => (Err(e.into()), false),
            Ok(()) => {
                let r = f(&state.conn);
                let end = if r.is_ok() { "RELEASE member" } else { "ROLLBACK TO member; RELEASE member" };
                match state.conn.execute_batch(end) {
                    Ok(()) => (r, true),
                    Err(e) => (Err(e.into()), false),
                }
            }
        };
        let Some(open) = state.open.as_mut() else {
            return Err(ServerError::storage(StorageFailure::Other, "the write transaction ended unexpectedly"));
        };
        if result.is_ok() {
            open.members += 1;
        }
        let group = open.group.clone();
        let others_come = self.waiting.load(Ordering::SeqCst) > 0;
        if intact && others_come && open.members < MAX_MEMBERS && open.started.elapsed() < MAX_OPEN {
            // A waiting writer joins and commits for the group.
            drop(turn);
            let r = result?;
            return match group.wait() {
                Ok(()) => Ok(r),
                Err((failure, message)) => Err(ServerError::storage(failure, message)),
            };
        }
        let members = open.members;
        state.open = None;
        let outcome: Outcome = if !intact {
            let _ = state.conn.execute_batch("ROLLBACK");
            Err(result.as_ref().err().map_or((StorageFailure::Other, "the write failed".into()), failure))
        } else if members == 0 {
            state.conn.execute_batch("ROLLBACK").map_err(|e| failure(&e.into()))
        } else {
            self.commits.fetch_add(1, Ordering::Relaxed);
            state.conn.execute_batch("COMMIT").map_err(|e| {
                // A failed COMMIT may leave the transaction open.
                let _ = state.conn.execute_batch("ROLLBACK");
                failure(&e.into())
            })
        };
        group.end(outcome.clone());
        drop(turn);
        match outcome {
            Err((failure, message)) if result.is_ok() => Err(ServerError::storage(failure, message)),
            _ => result,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;

    use super::*;

    fn writer(dir: &std::path::Path) -> (Writer, std::path::PathBuf) {
        let path = dir.join("w.db");
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch("PRAGMA journal_mode = WAL; CREATE TABLE t (thread INTEGER, n INTEGER)").unwrap();
        conn.busy_timeout(Duration::from_secs(10)).unwrap();
        (Writer::new(conn), path)
    }

    fn count(path: &std::path::Path) -> i64 {
        Connection::open(path).unwrap().query_row("SELECT count(*) FROM t", [], |r| r.get(0)).unwrap()
    }

    #[test]
    fn writes_that_returned_are_stored_and_failed_ones_are_not() {
        let dir = tempfile::tempdir().unwrap();
        let (w, path) = writer(dir.path());
        let ok = AtomicUsize::new(0);
        std::thread::scope(|scope| {
            for thread in 0..16 {
                let (w, ok) = (&w, &ok);
                scope.spawn(move || {
                    for n in 0..60 {
                        let r = w.write(|c| {
                            c.execute("INSERT INTO t VALUES (?1, ?2)", [thread, n])?;
                            if thread == 0 && n == 0 {
                                // Hold the first write until another waits: a group forms.
                                let t = Instant::now();
                                while w.waiting.load(Ordering::SeqCst) == 0 && t.elapsed() < Duration::from_secs(10) {
                                    std::thread::sleep(Duration::from_millis(1));
                                }
                            }
                            if (thread + n) % 7 == 0 {
                                return Err(ServerError::BadRequest("refused".into()));
                            }
                            Ok(())
                        });
                        if r.is_ok() {
                            ok.fetch_add(1, Ordering::SeqCst);
                        }
                    }
                });
            }
        });
        let ok = ok.load(Ordering::SeqCst);
        assert!(ok > 800 && ok < 16 * 60, "{ok}");
        assert_eq!(count(&path), ok as i64, "exactly the writes that returned Ok are stored");
        let commits = w.commits.load(Ordering::SeqCst);
        assert!(commits < ok, "writes arriving together are committed together ({commits} commits, {ok} writes)");
        let refused: i64 = Connection::open(&path)
            .unwrap()
            .query_row("SELECT count(*) FROM t WHERE (thread + n) % 7 = 0", [], |r| r.get(0))
            .unwrap();
        assert_eq!(refused, 0);
    }

    #[test]
    fn a_write_that_panics_stores_nothing_and_the_writer_goes_on() {
        let dir = tempfile::tempdir().unwrap();
        let (w, path) = writer(dir.path());
        let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            w.write(|c| -> Result<()> {
                c.execute("INSERT INTO t VALUES (0, 0)", [])?;
                panic!("a bug in a write");
            })
        }));
        assert!(panicked.is_err());
        w.write(|c| Ok(c.execute("INSERT INTO t VALUES (1, 1)", [])?)).unwrap();
        assert_eq!(count(&path), 1);
    }
}
