//! Syncs that store nothing, answered from a read snapshot.
//!
//! Most requests of a phone that opens the app carry nothing and find
//! nothing new. They need no write transaction, and so no turn at the one
//! writer and no fsync: a backend runs [`crate::sync::serve`] on a read
//! snapshot through [`ReadOnly`], and if the plan turns out to store
//! anything, the answer is thrown away and the request is served again in
//! a write transaction. The only write such a request makes, the device's
//! last-sync time and cursor, is kept in [`Touches`] and written behind in
//! one transaction at most [`TOUCH_BEHIND`] later (figures and the console
//! read it; nothing the phone relies on does).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use automerge::Automerge;
use qamqor_core::docs::DocId;

use super::{DocWrite, FeedScope, Held, HeldScope, Loaded, SyncCaller, SyncTx};
use crate::error::Result;
use crate::model::{AuditEntry, DocMeta, HeldDocument};

/// How long a last-sync time waits at most before it is written.
pub const TOUCH_BEHIND: Duration = Duration::from_secs(1);

/// A device's last sync, to be written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Touch {
    /// The device.
    pub device_id: String,
    /// When it synced (Unix seconds).
    pub at: i64,
    /// The cursor it was given.
    pub cursor: u64,
}

/// A sync transaction on a read snapshot: reads go to the backend's
/// snapshot; a write other than the last-sync time is not done but marks
/// the request as needing a write transaction.
pub struct ReadOnly<'a> {
    inner: &'a mut dyn SyncTx,
    /// Something had to be written: serve the request again in a write
    /// transaction and throw this answer away.
    pub wrote: bool,
    /// The device's last sync, to be written behind.
    pub touch: Option<Touch>,
}

impl<'a> ReadOnly<'a> {
    /// Reads through `inner` (a transaction on a read snapshot).
    pub fn new(inner: &'a mut dyn SyncTx) -> Self {
        ReadOnly { inner, wrote: false, touch: None }
    }

    fn write_if(&mut self, something: bool) {
        self.wrote |= something;
    }
}

impl SyncTx for ReadOnly<'_> {
    fn must_write(&mut self) -> bool {
        self.wrote = true;
        true
    }
    fn caller(&mut self, device_id: &str) -> Result<Option<SyncCaller>> {
        self.inner.caller(device_id)
    }
    fn metas(&mut self, ids: &[DocId]) -> Result<HashMap<DocId, Option<DocMeta>>> {
        self.inner.metas(ids)
    }
    fn sizes(&mut self, ids: &[DocId]) -> Result<HashMap<DocId, u64>> {
        self.inner.sizes(ids)
    }
    fn held(&mut self, device_id: &str, scope: HeldScope<'_>) -> Result<Vec<Held>> {
        self.inner.held(device_id, scope)
    }
    fn feed_end(&mut self) -> Result<u64> {
        self.inner.feed_end()
    }
    fn feed(&mut self, after: u64, limit: usize, scope: &FeedScope) -> Result<Vec<DocMeta>> {
        self.inner.feed(after, limit, scope)
    }
    fn urgent_feed(&mut self, after: u64, limit: usize, scope: &FeedScope) -> Result<Vec<DocMeta>> {
        self.inner.urgent_feed(after, limit, scope)
    }
    fn feed_count(&mut self, after: u64, cap: usize, scope: &FeedScope) -> Result<u64> {
        self.inner.feed_count(after, cap, scope)
    }
    fn load(&mut self, device_id: &str, docs: &[(DocId, Option<u64>)]) -> Result<Vec<Loaded>> {
        self.inner.load(device_id, docs)
    }
    fn saved(&mut self, ids: &[DocId]) -> Result<HashMap<DocId, Vec<u8>>> {
        self.inner.saved(ids)
    }
    fn store(&mut self, _device_id: &str, writes: Vec<DocWrite>) -> Result<()> {
        self.write_if(!writes.is_empty());
        Ok(())
    }
    fn set_removals(&mut self, _device_id: &str, ids: &[DocId]) -> Result<()> {
        self.write_if(!ids.is_empty());
        Ok(())
    }
    fn ack_removals(&mut self, _device_id: &str, ids: &[DocId]) -> Result<()> {
        self.write_if(!ids.is_empty());
        Ok(())
    }
    fn set_seen_epoch(&mut self, _device_id: &str, _epoch: u64) -> Result<()> {
        self.write_if(true);
        Ok(())
    }
    fn touch_device(&mut self, device_id: &str, at: i64, cursor: u64) -> Result<()> {
        self.touch = Some(Touch { device_id: device_id.to_owned(), at, cursor });
        Ok(())
    }
    fn new_reads(&mut self, _device_id: &str, ids: &[String]) -> Result<Vec<String>> {
        self.write_if(!ids.is_empty());
        Ok(Vec::new())
    }
    fn renew_token(&mut self, _device_id: &str, _token_hash: &str, _expires_at: i64) -> Result<()> {
        self.write_if(true);
        Ok(())
    }
    fn mark_wiped(&mut self, _device_id: &str, _at: i64) -> Result<()> {
        self.write_if(true);
        Ok(())
    }
    fn audit(&mut self, entries: &[AuditEntry]) -> Result<()> {
        self.write_if(!entries.is_empty());
        Ok(())
    }
    fn hold(&mut self, _held: &HeldDocument, _doc: &Automerge) -> Result<()> {
        self.write_if(true);
        Ok(())
    }
}

/// Last-sync times waiting to be written, the newest per device.
#[derive(Debug)]
pub struct Touches {
    pending: Mutex<(HashMap<String, Touch>, Option<Instant>)>,
}

impl Default for Touches {
    fn default() -> Self {
        Touches { pending: Mutex::new((HashMap::new(), None)) }
    }
}

impl Touches {
    fn lock(&self) -> std::sync::MutexGuard<'_, (HashMap<String, Touch>, Option<Instant>)> {
        self.pending.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Keeps a device's last sync (a later one replaces an earlier one).
    pub fn record(&self, touch: Touch) {
        let mut p = self.lock();
        p.1.get_or_insert_with(Instant::now);
        match p.0.get(&touch.device_id) {
            Some(t) if t.at > touch.at => {}
            _ => {
                p.0.insert(touch.device_id.clone(), touch);
            }
        }
    }

    /// Takes every pending touch when the oldest has waited `TOUCH_BEHIND`
    /// (or always, with `all`); empty otherwise.
    pub fn take(&self, all: bool) -> Vec<Touch> {
        let mut p = self.lock();
        let due = p.1.is_some_and(|since| all || since.elapsed() >= TOUCH_BEHIND);
        if !due {
            return Vec::new();
        }
        p.1 = None;
        p.0.drain().map(|(_, t)| t).collect()
    }

    /// Puts back touches whose write failed (a newer one for the same
    /// device wins).
    pub fn restore(&self, touches: Vec<Touch>) {
        for t in touches {
            self.record(t);
        }
    }

    /// Writes the pending touches with `write` (one transaction of the
    /// backend's): those due, or all of them; a failed write keeps them for
    /// the next time.
    pub fn write(&self, all: bool, write: impl FnOnce(&[Touch]) -> Result<()>) -> Result<()> {
        let touches = self.take(all);
        if touches.is_empty() {
            return Ok(());
        }
        let written = write(&touches);
        if written.is_err() {
            self.restore(touches);
        }
        written
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn touch(device: &str, at: i64) -> Touch {
        Touch { device_id: device.into(), at, cursor: at as u64 }
    }

    #[test]
    fn the_newest_touch_of_a_device_is_kept_and_written_once_due() {
        let t = Touches::default();
        assert!(t.take(true).is_empty());
        t.record(touch("a", 10));
        t.record(touch("a", 9));
        t.record(touch("b", 5));
        assert!(t.take(false).is_empty(), "not yet due");
        let mut all = t.take(true);
        all.sort_by(|x, y| x.device_id.cmp(&y.device_id));
        assert_eq!(all, vec![touch("a", 10), touch("b", 5)]);
        assert!(t.take(true).is_empty());
        t.restore(vec![touch("a", 10)]);
        t.record(touch("a", 11));
        assert_eq!(t.take(true), vec![touch("a", 11)]);
    }
}
