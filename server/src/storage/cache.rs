//! The process's cache of loaded documents, bounded by a byte budget and
//! evicted least recently used first. An entry is trusted only while the
//! document's feed sequence is the one it was cached at (the storage
//! contract: another process may have changed it since).

use std::collections::{BTreeMap, HashMap};

use automerge::{Automerge, ReadDoc};
use qamqor_core::docs::DocId;

/// The default budget (`doc_cache_mb`).
pub const DEFAULT_BUDGET: usize = 64 << 20;

/// Estimated memory of a loaded document: Automerge keeps each operation
/// and each change's metadata in memory. Calibrated on the first-sync
/// bench's case files (server RSS with the cache full against the cache
/// off, 6,000 documents): about 500 bytes an operation and 1,500 a change,
/// with the allocator's overhead.
pub fn estimate(doc: &Automerge) -> usize {
    let s = doc.stats();
    (s.num_ops as usize).saturating_mul(500).saturating_add((s.num_changes as usize).saturating_mul(1500)).max(4096)
}

struct Entry {
    seq: u64,
    doc: Automerge,
    cost: usize,
    tick: u64,
}

/// Loaded documents within a byte budget.
pub struct DocCache {
    budget: usize,
    used: usize,
    tick: u64,
    entries: HashMap<DocId, Entry>,
    order: BTreeMap<u64, DocId>,
}

impl DocCache {
    /// An empty cache of at most `budget` estimated bytes (0: no caching).
    pub fn new(budget: usize) -> Self {
        DocCache { budget, used: 0, tick: 0, entries: HashMap::new(), order: BTreeMap::new() }
    }

    /// A copy of the document if it is cached at feed sequence `seq`.
    pub fn get(&mut self, id: &DocId, seq: u64) -> Option<Automerge> {
        self.tick += 1;
        let tick = self.tick;
        let e = self.entries.get_mut(id)?;
        if e.seq != seq {
            return None;
        }
        self.order.remove(&e.tick);
        e.tick = tick;
        self.order.insert(tick, id.clone());
        Some(e.doc.clone())
    }

    /// Caches a document as of feed sequence `seq`, evicting the least
    /// recently used past the budget. A document larger than a quarter of
    /// the budget is not cached. A copy at a later sequence is kept (writers
    /// of one committed batch insert in any order).
    pub fn insert(&mut self, id: DocId, seq: u64, doc: Automerge) {
        if self.entries.get(&id).is_some_and(|e| e.seq > seq) {
            return;
        }
        self.remove(&id);
        let cost = estimate(&doc);
        if cost > self.budget / 4 {
            return;
        }
        while self.used + cost > self.budget {
            let Some((_, oldest)) = self.order.pop_first() else { break };
            if let Some(e) = self.entries.remove(&oldest) {
                self.used -= e.cost;
            }
        }
        self.tick += 1;
        self.order.insert(self.tick, id.clone());
        self.used += cost;
        self.entries.insert(id, Entry { seq, doc, cost, tick: self.tick });
    }

    /// Forgets a document.
    pub fn remove(&mut self, id: &DocId) {
        if let Some(e) = self.entries.remove(id) {
            self.order.remove(&e.tick);
            self.used -= e.cost;
        }
    }

    /// Estimated bytes held.
    pub fn used(&self) -> usize {
        self.used
    }

    /// Documents held.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use automerge::transaction::Transactable;

    fn doc(n: usize) -> Automerge {
        let mut d = Automerge::new();
        let mut tx = d.transaction();
        for i in 0..n {
            let _ = tx.put(automerge::ROOT, format!("k{i}"), i as i64);
        }
        tx.commit();
        d
    }

    #[test]
    fn the_budget_holds_and_the_least_recently_used_goes_first() {
        // Room for four documents of this size.
        let one = estimate(&doc(50));
        let mut c = DocCache::new(one * 4);
        let ids: Vec<DocId> =
            (0..5).map(|i| DocId::parse(&format!("case:{i:032x}")).unwrap_or_else(|_| unreachable!())).collect();
        for id in &ids[..3] {
            c.insert(id.clone(), 1, doc(50));
        }
        assert!(c.get(&ids[0], 1).is_some(), "recently used");
        assert!(c.get(&ids[0], 2).is_none(), "another sequence is not trusted");
        for id in &ids[3..] {
            c.insert(id.clone(), 1, doc(50));
        }
        assert!(c.used() <= one * 4);
        assert!(c.get(&ids[1], 1).is_none(), "the least recently used was evicted");
        assert!(c.get(&ids[0], 1).is_some());
        c.insert(ids[0].clone(), 2, doc(50));
        assert!(c.get(&ids[0], 1).is_none() && c.get(&ids[0], 2).is_some());
        let mut none = DocCache::new(0);
        none.insert(ids[0].clone(), 1, doc(1));
        assert!(none.is_empty());
    }
}
