//! Per-address rate limits at the edge (token buckets in memory). They
//! protect the server, not correctness: each process keeps its own.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Instant;

/// Addresses tracked at most; past this, full buckets are forgotten.
const MAX_TRACKED: usize = 50_000;

/// A token bucket per client address: `per_minute` events a minute, with a
/// burst of as many.
#[derive(Debug)]
pub struct RateLimiter {
    per_minute: f64,
    buckets: Mutex<HashMap<IpAddr, (f64, Instant)>>,
}

impl RateLimiter {
    /// A limiter of `per_minute` events per address.
    pub fn new(per_minute: u32) -> Self {
        RateLimiter { per_minute: f64::from(per_minute.max(1)), buckets: Mutex::new(HashMap::new()) }
    }

    fn with<R>(&self, ip: IpAddr, f: impl FnOnce(&mut f64) -> R) -> R {
        let mut buckets = self.buckets.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let now = Instant::now();
        if buckets.len() >= MAX_TRACKED {
            let (rate, cap) = (self.per_minute / 60.0, self.per_minute);
            buckets.retain(|_, (tokens, at)| *tokens + now.duration_since(*at).as_secs_f64() * rate < cap);
        }
        let entry = buckets.entry(ip).or_insert((self.per_minute, now));
        entry.0 = (entry.0 + now.duration_since(entry.1).as_secs_f64() * self.per_minute / 60.0).min(self.per_minute);
        entry.1 = now;
        f(&mut entry.0)
    }

    /// Takes one event for `ip`; `false` when its budget is spent.
    pub fn take(&self, ip: IpAddr) -> bool {
        self.with(ip, |tokens| {
            if *tokens >= 1.0 {
                *tokens -= 1.0;
                true
            } else {
                false
            }
        })
    }

    /// Whether `ip` has spent its budget (without taking anything).
    pub fn exhausted(&self, ip: IpAddr) -> bool {
        self.with(ip, |tokens| *tokens < 1.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_then_refusal_per_address() {
        let l = RateLimiter::new(3);
        let (a, b): (IpAddr, IpAddr) = ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap());
        assert!(l.take(a) && l.take(a) && l.take(a));
        assert!(!l.take(a));
        assert!(l.exhausted(a));
        assert!(l.take(b), "another address has its own budget");
    }
}
