//! Failed logins per source address: counted for `/metrics`, and an
//! address that fails too often is refused for a while, so tokens cannot
//! be guessed fast (they cannot be guessed at all, but logs of failures
//! should not flood either).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Failures an address may have in one window.
const MAX_FAILURES: u32 = 10;
/// The window, and how long an address that passed it waits.
const WINDOW: Duration = Duration::from_secs(60);
/// Addresses remembered at most; past that the oldest windows go.
const MAX_ADDRESSES: usize = 100_000;

/// Failed attempts by address, and in all.
#[derive(Debug, Default)]
pub struct FailedLogins {
    by_address: Mutex<HashMap<Option<IpAddr>, (u32, Instant)>>,
    total: AtomicU64,
    refused: AtomicU64,
}

impl FailedLogins {
    /// Seconds `address` must wait before trying again, if it must.
    pub fn blocked(&self, address: Option<IpAddr>) -> Option<u64> {
        let map = self.by_address.lock().unwrap_or_else(|p| p.into_inner());
        let (count, since) = map.get(&address)?;
        let elapsed = since.elapsed();
        if *count >= MAX_FAILURES && elapsed < WINDOW {
            self.refused.fetch_add(1, Ordering::Relaxed);
            return Some((WINDOW - elapsed).as_secs().max(1));
        }
        None
    }

    /// Counts a failed attempt from `address`.
    pub fn record(&self, address: Option<IpAddr>) {
        self.total.fetch_add(1, Ordering::Relaxed);
        let mut map = self.by_address.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= MAX_ADDRESSES {
            map.retain(|_, (_, since)| since.elapsed() < WINDOW);
        }
        let entry = map.entry(address).or_insert((0, Instant::now()));
        if entry.1.elapsed() >= WINDOW {
            *entry = (0, Instant::now());
        }
        entry.0 += 1;
    }

    /// Failed attempts since start.
    pub fn total(&self) -> u64 {
        self.total.load(Ordering::Relaxed)
    }

    /// Attempts refused because their address failed too often.
    pub fn refused(&self) -> u64 {
        self.refused.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_that_fails_too_often_waits() {
        let f = FailedLogins::default();
        let a = Some("10.0.0.1".parse().unwrap());
        let b = Some("10.0.0.2".parse().unwrap());
        for _ in 0..MAX_FAILURES {
            assert_eq!(f.blocked(a), None);
            f.record(a);
        }
        assert!(f.blocked(a).is_some_and(|s| s <= 60));
        assert_eq!(f.blocked(b), None);
        assert_eq!(f.total(), u64::from(MAX_FAILURES));
        assert_eq!(f.refused(), 1);
    }
}
