//! Independent work spread over the cores (parsing received documents,
//! deciding each document of a sync request), without a thread pool: the
//! threads live for one call.

/// Runs `f` on every item, on up to as many threads as there are cores
/// when there are enough items to be worth it; results in item order.
pub fn map<T: Send, R: Send>(items: Vec<T>, f: impl Fn(T) -> R + Sync) -> Vec<R> {
    /// Items per thread below which one thread does it all.
    const MIN_PER_THREAD: usize = 8;
    if items.len() < 2 * MIN_PER_THREAD {
        return items.into_iter().map(f).collect();
    }
    let threads = cores().min(items.len() / MIN_PER_THREAD).max(1);
    if threads == 1 {
        return items.into_iter().map(f).collect();
    }
    let per = items.len().div_ceil(threads);
    let mut chunks: Vec<Vec<T>> = Vec::with_capacity(threads);
    let mut items = items.into_iter();
    loop {
        let chunk: Vec<T> = items.by_ref().take(per).collect();
        if chunk.is_empty() {
            break;
        }
        chunks.push(chunk);
    }
    let f = &f;
    std::thread::scope(|scope| {
        let mut chunks = chunks.into_iter();
        let first = chunks.next().unwrap_or_default();
        let handles: Vec<_> =
            chunks.map(|chunk| scope.spawn(move || chunk.into_iter().map(f).collect::<Vec<R>>())).collect();
        let mut out: Vec<R> = first.into_iter().map(f).collect();
        for h in handles {
            // A panic in an exchange is a bug; it is the caller's panic too.
            out.extend(h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)));
        }
        out
    })
}

/// The cores to use (at most 8), read once: the standard library reads the
/// process's cgroup files at every call, which costs more than a small
/// request's whole exchange.
fn cores() -> usize {
    static CORES: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get).min(8))
}

#[cfg(test)]
mod tests {
    #[test]
    fn results_keep_the_order_of_the_items() {
        for n in [0, 1, 7, 8, 9, 100, 1001] {
            let items: Vec<usize> = (0..n).collect();
            assert_eq!(super::map(items.clone(), |i| i * 2), items.iter().map(|i| i * 2).collect::<Vec<_>>());
        }
    }
}
