//! What Basin asked of the bucket, for `/metrics`.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// Requests and bytes by kind, and how the range cache did.
#[derive(Debug, Default)]
pub struct RemoteStats {
    /// GET requests (whole objects and ranges).
    pub get_requests: AtomicU64,
    /// Bytes received by GETs.
    pub get_bytes: AtomicU64,
    /// PUT requests.
    pub put_requests: AtomicU64,
    /// Bytes sent by PUTs.
    pub put_bytes: AtomicU64,
    /// HEAD requests.
    pub head_requests: AtomicU64,
    /// DELETE requests.
    pub delete_requests: AtomicU64,
    /// Block reads the local cache answered.
    pub cache_hits: AtomicU64,
    /// Block reads that went to the bucket.
    pub cache_misses: AtomicU64,
}

impl RemoteStats {
    pub(crate) fn get(&self) {
        self.get_requests.fetch_add(1, Relaxed);
    }
    pub(crate) fn got_bytes(&self, n: usize) {
        self.get_bytes.fetch_add(n as u64, Relaxed);
    }
    pub(crate) fn put(&self, n: usize) {
        self.put_requests.fetch_add(1, Relaxed);
        self.put_bytes.fetch_add(n as u64, Relaxed);
    }
    pub(crate) fn head(&self) {
        self.head_requests.fetch_add(1, Relaxed);
    }
    pub(crate) fn delete(&self) {
        self.delete_requests.fetch_add(1, Relaxed);
    }
    pub(crate) fn hit(&self) {
        self.cache_hits.fetch_add(1, Relaxed);
    }
    pub(crate) fn miss(&self) {
        self.cache_misses.fetch_add(1, Relaxed);
    }

    /// The counters in Prometheus text format.
    pub fn exposition(&self) -> String {
        let v = |c: &AtomicU64| c.load(Relaxed);
        format!(
            "# HELP basin_object_store_requests_total Requests Basin made to the object store, by operation.\n\
             # TYPE basin_object_store_requests_total counter\n\
             basin_object_store_requests_total{{op=\"get\"}} {}\n\
             basin_object_store_requests_total{{op=\"put\"}} {}\n\
             basin_object_store_requests_total{{op=\"head\"}} {}\n\
             basin_object_store_requests_total{{op=\"delete\"}} {}\n\
             # HELP basin_object_store_bytes_total Bytes moved to and from the object store.\n\
             # TYPE basin_object_store_bytes_total counter\n\
             basin_object_store_bytes_total{{direction=\"received\"}} {}\n\
             basin_object_store_bytes_total{{direction=\"sent\"}} {}\n\
             # HELP basin_object_store_cache_reads_total Part block reads, by whether the local range cache had the block.\n\
             # TYPE basin_object_store_cache_reads_total counter\n\
             basin_object_store_cache_reads_total{{result=\"hit\"}} {}\n\
             basin_object_store_cache_reads_total{{result=\"miss\"}} {}\n",
            v(&self.get_requests),
            v(&self.put_requests),
            v(&self.head_requests),
            v(&self.delete_requests),
            v(&self.get_bytes),
            v(&self.put_bytes),
            v(&self.cache_hits),
            v(&self.cache_misses),
        )
    }
}
