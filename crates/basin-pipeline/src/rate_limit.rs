//! Flood protection: per-tenant and per-stream rate limits on lines and bytes
//! per second (token buckets holding one second's worth). What fits is
//! accepted; the rest is refused with how long to wait, so a client flooding
//! one stream slows itself, not everyone.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use basin_model::{PushBatch, StreamId, TenantId};

/// Rates in force; 0 means no limit.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct RateLimits {
    /// Lines per second per tenant.
    pub tenant_lines: f64,
    /// Bytes per second per tenant.
    pub tenant_bytes: f64,
    /// Lines per second per stream.
    pub stream_lines: f64,
    /// Bytes per second per stream.
    pub stream_bytes: f64,
}

impl RateLimits {
    /// Whether any limit is set.
    pub fn any(&self) -> bool {
        self.tenant_lines > 0.0
            || self.tenant_bytes > 0.0
            || self.stream_lines > 0.0
            || self.stream_bytes > 0.0
    }
}

/// What a batch lost to the limits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    /// Entries dropped from the batch.
    pub lines: u64,
    /// Seconds after which the refused part would fit.
    pub retry_after_secs: u64,
    /// The first limit that refused an entry.
    pub reason: String,
}

/// Lines and bytes a bucket may still take, refilled with time.
#[derive(Debug, Clone, Copy)]
struct Bucket {
    lines: f64,
    bytes: f64,
    at: Instant,
}

impl Bucket {
    fn full(lines: f64, bytes: f64, now: Instant) -> Self {
        Self {
            lines,
            bytes,
            at: now,
        }
    }

    /// Refills for the time passed, up to one second's worth.
    fn refill(&mut self, lines_rate: f64, bytes_rate: f64, now: Instant) {
        let secs = now.duration_since(self.at).as_secs_f64();
        self.lines = (self.lines + secs * lines_rate).min(lines_rate);
        self.bytes = (self.bytes + secs * bytes_rate).min(bytes_rate);
        self.at = now;
    }

    /// Seconds until `lines` and `bytes` would fit (0: they fit now).
    fn wait(&self, lines: f64, bytes: f64, lines_rate: f64, bytes_rate: f64) -> f64 {
        let need = |have: f64, want: f64, rate: f64| {
            if rate <= 0.0 || have >= want {
                0.0
            } else {
                (want - have) / rate
            }
        };
        need(self.lines, lines, lines_rate).max(need(self.bytes, bytes, bytes_rate))
    }

    fn take(&mut self, lines: f64, bytes: f64) {
        self.lines -= lines;
        self.bytes -= bytes;
    }
}

/// Most buckets kept; past this they are all dropped (and start full again).
const MAX_BUCKETS: usize = 100_000;

/// Token buckets for every tenant and stream seen.
#[derive(Debug, Default)]
pub struct RateLimiter {
    limits: RateLimits,
    buckets: Mutex<HashMap<(TenantId, Option<StreamId>), Bucket>>,
}

impl RateLimiter {
    /// A limiter enforcing `limits`.
    pub fn new(limits: RateLimits) -> Self {
        Self {
            limits,
            buckets: Mutex::default(),
        }
    }

    /// Drops from `batch` the entries over the limits, in order: an entry is
    /// kept only if its tenant's and its stream's buckets both hold it.
    pub fn admit(&self, batch: &mut PushBatch, now: Instant) -> Option<Refused> {
        let l = self.limits;
        if !l.any() {
            return None;
        }
        let mut buckets = self
            .buckets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if buckets.len() > MAX_BUCKETS {
            buckets.clear();
        }
        let unlimited = |rate: f64| if rate > 0.0 { rate } else { f64::INFINITY };
        let (tl, tb) = (unlimited(l.tenant_lines), unlimited(l.tenant_bytes));
        let (sl, sb) = (unlimited(l.stream_lines), unlimited(l.stream_bytes));
        let tenant_key = (batch.tenant.clone(), None);
        let mut tenant = *buckets
            .entry(tenant_key.clone())
            .or_insert_with(|| Bucket::full(tl, tb, now));
        tenant.refill(tl, tb, now);
        let mut refused: Option<Refused> = None;
        let mut note = |why: &str, wait: f64| {
            let r = refused.get_or_insert_with(|| Refused {
                lines: 0,
                retry_after_secs: 0,
                reason: why.to_string(),
            });
            r.lines += 1;
            r.retry_after_secs = r.retry_after_secs.max(wait.ceil().max(1.0) as u64);
        };
        for stream in &mut batch.streams {
            let key = (batch.tenant.clone(), Some(stream.labels.stream_id()));
            let mut own = *buckets
                .entry(key.clone())
                .or_insert_with(|| Bucket::full(sl, sb, now));
            own.refill(sl, sb, now);
            stream.entries.retain(|entry| {
                let bytes = entry.size_bytes() as f64;
                let tenant_wait = tenant.wait(1.0, bytes, l.tenant_lines, l.tenant_bytes);
                let stream_wait = own.wait(1.0, bytes, l.stream_lines, l.stream_bytes);
                if tenant_wait > 0.0 {
                    note("the tenant's rate limit", tenant_wait);
                    return false;
                }
                if stream_wait > 0.0 {
                    note("the stream's rate limit", stream_wait);
                    return false;
                }
                tenant.take(1.0, bytes);
                own.take(1.0, bytes);
                true
            });
            buckets.insert(key, own);
        }
        batch.streams.retain(|s| !s.entries.is_empty());
        buckets.insert(tenant_key, tenant);
        refused
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use basin_model::{Entry, Labels, StreamBatch};

    use super::*;

    fn batch(streams: &[(&str, usize)]) -> PushBatch {
        PushBatch {
            tenant: TenantId::default_tenant(),
            streams: streams
                .iter()
                .map(|(labels, n)| StreamBatch {
                    labels: Labels::parse(labels).unwrap(),
                    entries: (0..*n)
                        .map(|i| Entry::new(i as i64, "0123456789"))
                        .collect(),
                })
                .collect(),
        }
    }

    #[test]
    fn stream_limit_keeps_what_fits_and_refills() {
        let limiter = RateLimiter::new(RateLimits {
            stream_lines: 10.0,
            ..RateLimits::default()
        });
        let t0 = Instant::now();
        let mut b = batch(&[(r#"{a="flood"}"#, 25), (r#"{a="quiet"}"#, 3)]);
        let refused = limiter.admit(&mut b, t0).unwrap();
        assert_eq!(refused.lines, 15);
        assert_eq!(refused.retry_after_secs, 1);
        assert!(refused.reason.contains("stream"));
        assert_eq!(b.streams[0].entries.len(), 10);
        assert_eq!(
            b.streams[1].entries.len(),
            3,
            "another stream is not slowed"
        );
        // Half a second later, half the bucket is back.
        let mut b = batch(&[(r#"{a="flood"}"#, 25)]);
        let refused = limiter
            .admit(&mut b, t0 + Duration::from_millis(500))
            .unwrap();
        assert_eq!(b.entry_count(), 5);
        assert_eq!(refused.lines, 20);
    }

    #[test]
    fn tenant_bytes_limit() {
        let limiter = RateLimiter::new(RateLimits {
            tenant_bytes: 100.0,
            ..RateLimits::default()
        });
        // Each entry is 18 bytes (8 for the time, 10 of line): 5 fit in 100.
        let mut b = batch(&[(r#"{a="1"}"#, 4), (r#"{a="2"}"#, 4)]);
        let refused = limiter.admit(&mut b, Instant::now()).unwrap();
        assert_eq!(b.entry_count(), 5);
        assert_eq!(refused.lines, 3);
        assert!(refused.reason.contains("tenant"));
        assert!(RateLimiter::default()
            .admit(&mut batch(&[(r#"{a="1"}"#, 99)]), Instant::now())
            .is_none());
    }
}
