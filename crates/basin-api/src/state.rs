use std::sync::{Arc, OnceLock};

use basin_ingest::es_bulk::BulkOptions;
use basin_ingest::otlp::OtlpOptions;
use basin_ingest::IngestLimits;
use basin_model::TenantId;
use basin_pipeline::auto::{AutoParse, ParseMode};
use basin_pipeline::dedup::collapse_repeats;
use basin_pipeline::mask::Masking;
use basin_pipeline::patterns::{MinerConfig, PatternStore};
use basin_pipeline::rate_limit::{RateLimiter, RateLimits};
use basin_pipeline::rules::Rules;
use basin_query::{MemoryPool, QueryContext};
use basin_rules::log_metrics::LogMetrics;
use basin_rules::ruler::Ruler;
use basin_saved::SavedStore;
use basin_storage::Storage;

use crate::auth::Auth;
use crate::deletes::DeleteRequests;
use crate::ingest_counters::IngestCounters;
use crate::query_slots::QuerySlots;
use crate::ApiError;

/// Limits the API enforces on top of ingest's.
#[derive(Debug, Clone)]
pub struct ApiLimits {
    /// Ingest limits (line size, body size, labels).
    pub ingest: IngestLimits,
    /// Most entries one log query may return (`max_entries_limit_per_query`).
    pub max_entries_limit_per_query: usize,
    /// Longest time range one query may cover (`max_query_range`, Loki's
    /// 721h); 0 lifts the limit.
    pub max_query_range_ns: i64,
    /// Most series a metric query may produce (`max_query_series`, Loki's 500).
    pub max_query_series: usize,
    /// Longest a query may run (`query_timeout`, Loki's 1m).
    pub query_timeout: std::time::Duration,
    /// Most memory one query may hold for samples, series and kept rows
    /// (`max_query_memory_bytes`); 0 lifts the limit.
    pub max_query_memory_bytes: usize,
    /// Most memory all running queries may hold together
    /// (`max_query_memory_total_bytes`); 0 lifts the limit.
    pub max_query_memory_total_bytes: usize,
    /// Most queries of one tenant running at once
    /// (`max_concurrent_queries_per_tenant`); more wait for a slot up to
    /// `query_timeout`. 0 lifts the limit.
    pub max_concurrent_queries_per_tenant: usize,
    /// Longest a client may take to send a request body
    /// (`http_server_read_timeout`, Loki's 30s).
    pub body_read_timeout: std::time::Duration,
    /// Ingest rates per tenant and per stream (0: none, the default).
    pub rates: RateLimits,
}

impl Default for ApiLimits {
    fn default() -> Self {
        Self {
            ingest: IngestLimits::default(),
            max_entries_limit_per_query: 5000,
            max_query_range_ns: 721 * 3_600_000_000_000,
            max_query_series: 500,
            query_timeout: std::time::Duration::from_secs(60),
            max_query_memory_bytes: 512 * 1024 * 1024,
            max_query_memory_total_bytes: 2 * 1024 * 1024 * 1024,
            max_concurrent_queries_per_tenant: 16,
            body_read_timeout: std::time::Duration::from_secs(30),
            rates: RateLimits::default(),
        }
    }
}

/// How each ingest protocol maps what it receives onto streams and fields.
#[derive(Debug, Clone)]
pub struct Protocols {
    /// OTLP: which resource attributes become labels.
    pub otlp: OtlpOptions,
    /// Elasticsearch bulk: message, time and label fields.
    pub es_bulk: BulkOptions,
    /// Origins browsers may push from (`*` for any); empty: no CORS headers.
    pub cors_allowed_origins: Vec<String>,
    /// What the parsing pipeline looks for before lines are stored
    /// (`auto_parse`: off (default), levels, fields).
    pub auto_parse: ParseMode,
    /// Identical lines of a stream within this many nanoseconds in one push
    /// are stored once with `repeat_count` (`dedup_window`; 0: off, default).
    pub dedup_window_ns: i64,
    /// Secrets and personal data masked in lines and fields (`mask`,
    /// `mask_patterns`; none by default).
    pub masking: Masking,
    /// User pipelines (`pipelines`), run before auto-detection.
    pub rules: Arc<Rules>,
    /// Whether entries are tagged with their pattern (`patterns`, default on).
    pub mine_patterns: bool,
    /// Counters and histograms updated as lines are accepted (`log_metrics`).
    pub log_metrics: Arc<LogMetrics>,
}

impl Default for Protocols {
    fn default() -> Self {
        Self {
            otlp: OtlpOptions::default(),
            es_bulk: BulkOptions::default(),
            cors_allowed_origins: Vec::new(),
            auto_parse: ParseMode::default(),
            dedup_window_ns: 0,
            masking: Masking::default(),
            rules: Arc::default(),
            mine_patterns: true,
            log_metrics: Arc::default(),
        }
    }
}

/// What a node does (`target:`): everything, or one role of a scaled-out
/// deployment (docs/scale-out.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Role {
    /// Takes pushes, stores them, answers queries (one binary).
    #[default]
    All,
    /// Takes pushes and publishes them to the queue; answers no queries.
    Ingest,
    /// Stores what the queue holds and answers queries over it.
    Index,
    /// Answers queries over the indexers' parts (in the bucket) and heads;
    /// takes no pushes.
    Query,
    /// Merges the indexers' parts in the bucket; takes no pushes and
    /// answers no queries.
    Compact,
}

impl Role {
    /// Whether this node answers queries.
    pub fn serves_queries(self) -> bool {
        !matches!(self, Role::Ingest | Role::Compact)
    }

    /// Whether this node takes pushes.
    pub fn takes_pushes(self) -> bool {
        !matches!(self, Role::Query | Role::Compact)
    }
}

/// What every handler shares.
pub struct AppState {
    storage: OnceLock<Arc<Storage>>,
    queue: OnceLock<Arc<basin_queue::Publisher>>,
    queue_stats: OnceLock<Arc<basin_queue::QueueStats>>,
    peers: OnceLock<Arc<crate::peers::Peers>>,
    compaction: OnceLock<Arc<crate::compaction_stats::CompactionStats>>,
    /// This node's role.
    pub role: Role,
    auth: OnceLock<Arc<Auth>>,
    deletes: OnceLock<Arc<DeleteRequests>>,
    ruler: OnceLock<Arc<Ruler>>,
    saved: OnceLock<Arc<SavedStore>>,
    secure_cookies: std::sync::atomic::AtomicBool,
    /// The limits in force.
    pub limits: ApiLimits,
    /// Protocol mappings.
    pub protocols: Protocols,
    /// Lines and bytes received, for `/metrics`.
    pub counters: IngestCounters,
    /// The parsing pipeline every accepted batch goes through.
    pub pipeline: AutoParse,
    /// Flood protection, after the pipeline.
    pub limiter: RateLimiter,
    /// Pattern miners, one per tenant; the last step of the pipeline.
    pub patterns: PatternStore,
    /// The memory all running queries share.
    pub query_memory: Arc<MemoryPool>,
    /// Query slots per tenant.
    pub query_slots: QuerySlots,
}

impl AppState {
    /// A state whose store is not open yet: `/ready` answers 503 until
    /// [`AppState::set_storage`].
    pub fn new(limits: ApiLimits, protocols: Protocols) -> Self {
        let query_memory = MemoryPool::new(limits.max_query_memory_total_bytes);
        let query_slots = QuerySlots::new(limits.max_concurrent_queries_per_tenant);
        Self {
            limiter: RateLimiter::new(limits.rates),
            storage: OnceLock::new(),
            queue: OnceLock::new(),
            queue_stats: OnceLock::new(),
            peers: OnceLock::new(),
            compaction: OnceLock::new(),
            role: Role::default(),
            auth: OnceLock::new(),
            deletes: OnceLock::new(),
            ruler: OnceLock::new(),
            saved: OnceLock::new(),
            secure_cookies: std::sync::atomic::AtomicBool::new(false),
            limits,
            counters: IngestCounters::default(),
            pipeline: AutoParse::new(protocols.auto_parse),
            patterns: PatternStore::new(MinerConfig::default()),
            query_memory,
            query_slots,

            protocols,
        }
    }

    /// Sets the indexers a query node reads (once).
    pub fn set_peers(&self, peers: Arc<crate::peers::Peers>) {
        let _ = self.peers.set(peers);
    }

    /// Sets a compactor's counters, for `/metrics`.
    pub fn set_compaction_stats(&self, stats: Arc<crate::compaction_stats::CompactionStats>) {
        let _ = self.compaction.set(stats);
    }

    /// A compactor's counters, when this node is one.
    pub fn compaction_stats(&self) -> Option<&Arc<crate::compaction_stats::CompactionStats>> {
        self.compaction.get()
    }

    /// The indexers a query node reads, when set.
    pub fn peers(&self) -> Option<&Arc<crate::peers::Peers>> {
        self.peers.get()
    }

    /// Sets the token store and whether tokens are required (once).
    pub fn set_auth(&self, auth: Arc<Auth>) {
        let _ = self.auth.set(auth);
    }

    /// The token store, when one is set.
    pub fn auth(&self) -> Option<&Arc<Auth>> {
        self.auth.get()
    }

    /// Sets the store of saved queries and dashboards (once).
    pub fn set_saved(&self, saved: Arc<SavedStore>) {
        let _ = self.saved.set(saved);
    }

    /// Saved queries and dashboards, when set.
    pub fn saved(&self) -> Option<&Arc<SavedStore>> {
        self.saved.get()
    }

    /// Marks session cookies `Secure` (the server speaks TLS).
    pub fn set_secure_cookies(&self, secure: bool) {
        self.secure_cookies
            .store(secure, std::sync::atomic::Ordering::Relaxed);
    }

    /// Whether session cookies are marked `Secure`.
    pub fn secure_cookies(&self) -> bool {
        self.secure_cookies
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Sets the delete requests (once).
    pub fn set_deletes(&self, deletes: Arc<DeleteRequests>) {
        let _ = self.deletes.set(deletes);
    }

    /// The delete requests, when set.
    pub fn deletes(&self) -> Option<&Arc<DeleteRequests>> {
        self.deletes.get()
    }

    /// A new query of `tenant`: its deadline and memory budget, per the
    /// limits, and the tenant's delete requests.
    pub fn query_context(&self, tenant: &TenantId) -> QueryContext {
        QueryContext::new(Some(self.limits.query_timeout))
            .with_memory_budget(
                self.limits.max_query_memory_bytes,
                Some(self.query_memory.clone()),
            )
            .with_deletes(self.deletes().and_then(|d| d.filter(tenant)))
    }

    /// Runs the parsing pipeline over a decoded batch: user rules, formats
    /// and levels, masking, repeats collapsed (rate limits and pattern
    /// mining follow: [`AppState::tag_patterns`]). Returns how many entries
    /// the rules dropped.
    pub fn parse(&self, batch: &mut basin_model::PushBatch) -> usize {
        let dropped = self.protocols.rules.apply(batch);
        self.pipeline.process(batch);
        self.protocols.masking.mask_batch(batch);
        collapse_repeats(batch, self.protocols.dedup_window_ns);
        dropped
    }

    /// Tags entries with their pattern ids: after the rate limits, so a
    /// flood's refused lines are not mined.
    pub fn tag_patterns(&self, batch: &mut basin_model::PushBatch) {
        if self.protocols.mine_patterns {
            self.patterns.tag(batch);
        }
    }

    /// Stores a batch that went through the pipeline, or publishes it to
    /// the ingest queue when there is one; log metrics count it once the
    /// store or the queue accepted it.
    pub async fn append(
        &self,
        storage: &Storage,
        batch: basin_model::PushBatch,
    ) -> Result<(), ApiError> {
        let metrics = &self.protocols.log_metrics;
        let measure = (!metrics.is_empty()).then(|| metrics.measure(&batch));
        match self.queue.get() {
            Some(queue) => queue.publish(batch).await.map_err(queue_refused)?,
            None => storage.append(batch).await?,
        }
        if let Some(m) = measure {
            metrics.apply(m);
        }
        Ok(())
    }

    /// Sends every push to the ingest queue from now on (ingest nodes).
    pub fn set_queue(&self, queue: Arc<basin_queue::Publisher>) {
        let _ = self.queue_stats.set(queue.stats().clone());
        let _ = self.queue.set(queue);
    }

    /// The ingest queue pushes go to, when set.
    pub fn queue(&self) -> Option<&Arc<basin_queue::Publisher>> {
        self.queue.get()
    }

    /// Shows a queue consumer's stats on `/metrics` (indexers).
    pub fn set_queue_stats(&self, stats: Arc<basin_queue::QueueStats>) {
        let _ = self.queue_stats.set(stats);
    }

    /// The queue's stats, on ingest nodes and indexers.
    pub fn queue_stats(&self) -> Option<&Arc<basin_queue::QueueStats>> {
        self.queue_stats.get()
    }

    /// Hands over the opened store; the server is ready from now on.
    pub fn set_storage(&self, storage: Arc<Storage>) {
        let _ = self.storage.set(storage);
    }

    /// Hands over the ruler, once the store it queries is open.
    pub fn set_ruler(&self, ruler: Arc<Ruler>) {
        let _ = self.ruler.set(ruler);
    }

    /// The ruler, once started.
    pub fn ruler(&self) -> Option<&Arc<Ruler>> {
        self.ruler.get()
    }

    /// The store, or 503 while it is still opening.
    pub fn storage(&self) -> Result<&Arc<Storage>, ApiError> {
        self.storage.get().ok_or(ApiError::NotReady)
    }
}

/// A push the queue did not take: 503, to be sent again.
fn queue_refused(e: basin_queue::QueueError) -> ApiError {
    match e {
        basin_queue::QueueError::EntryTooLarge { .. } => ApiError::TooLarge(e.to_string()),
        e => ApiError::Unavailable {
            message: e.to_string(),
            retry_after_secs: 1,
        },
    }
}
