//! `basin serve`: opens the store, serves the API, flushes on SIGTERM.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use basin_api::auth::Auth;
use basin_api::deletes::DeleteRequests;
use basin_api::line_matcher::QueryLineMatcher;
use basin_api::rule_querier::StorageQuerier;
use basin_api::stream_retention::StreamRetention;
use basin_api::tls::ReloadingTls;
use basin_api::{patterns_state, router, syslog_listen, ApiLimits, AppState, Protocols, Role};
use basin_auth::TokenStore;
use basin_model::TenantId;
use basin_pipeline::auto::ParseMode;
use basin_pipeline::mask::Masking;
use basin_pipeline::rate_limit::RateLimits;
use basin_pipeline::rules::Rules;
use basin_query::entry_selector::EntrySelector;
use basin_queue::QueueConfig;
use basin_rules::config::RulerConfig;
use basin_rules::log_metrics::LogMetrics;
use basin_rules::notify::http::HttpTransport;
use basin_rules::ruler::Ruler;
use basin_rules::runner;
use basin_saved::SavedStore;
use basin_storage::{Storage, StorageConfig};
use clap::Args;
use tracing::{error, info, warn};

use crate::config::{parse_duration, FileConfig};

/// Flags of `basin serve`; each has a key of the same name in the config file.
#[derive(Args, Debug)]
pub struct ServeArgs {
    /// YAML config file (keys: listen, target, queue, indexers, auth, tls_cert_file, tls_key_file,
    /// delete_request_cancel_period, retention_stream, compaction_interval, data_dir, retention_period, wal_sync,
    /// flush_interval, head_max_bytes, merge_interval, line_encoding,
    /// min_free_disk_bytes, storage,
    /// max_line_size_bytes, max_request_size_bytes, max_label_names_per_series,
    /// max_entries_limit_per_query, max_query_range, max_query_series,
    /// query_timeout, max_query_memory_bytes, max_query_memory_total_bytes,
    /// max_concurrent_queries_per_tenant, http_server_read_timeout,
    /// otlp_resource_labels, elasticsearch_message_fields,
    /// elasticsearch_time_fields, elasticsearch_label_fields,
    /// cors_allowed_origins, auto_parse, pipelines, grok_patterns, patterns,
    /// dedup_window, mask, mask_patterns,
    /// rate_limit_lines_per_second,
    /// rate_limit_bytes_per_second, stream_rate_limit_lines_per_second,
    /// stream_rate_limit_bytes_per_second, syslog_udp, syslog_tcp, ruler,
    /// log_metrics).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Where data lives [config: data_dir] [default: ./basin-data]
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Address to listen on [config: listen] [default: 127.0.0.1:3100]
    #[arg(long)]
    listen: Option<String>,
    /// Keep logs this long, e.g. 30d [config: retention_period] [default: forever]
    #[arg(long)]
    retention: Option<String>,
    /// Receive syslog (RFC 3164 and 5424) over UDP on HOST:PORT [config: syslog_udp]
    #[arg(long)]
    syslog_udp: Option<String>,
    /// Receive syslog over TCP on HOST:PORT, newline or octet-counted frames [config: syslog_tcp]
    #[arg(long)]
    syslog_tcp: Option<String>,
    /// This node's role: all, ingest, index or query (see docs/scale-out.md) [config: target] [default: all]
    #[arg(long)]
    target: Option<String>,
}

/// How long in-flight requests get to finish after SIGTERM.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

pub fn run(args: ServeArgs) -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("BASIN_LOG")
                .unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let file = match &args.config {
        Some(path) => FileConfig::load(path)?,
        None => FileConfig::default(),
    };
    let listen = args
        .listen
        .or(file.listen.clone())
        .unwrap_or_else(|| "127.0.0.1:3100".into());
    let addr: SocketAddr = listen
        .parse()
        .with_context(|| format!("invalid listen address {listen:?}: use HOST:PORT"))?;
    let data_dir = args
        .data_dir
        .or(file.data_dir.clone())
        .unwrap_or_else(crate::default_data_dir);
    let tls = match (&file.tls_cert_file, &file.tls_key_file) {
        (Some(cert), Some(key)) => {
            Some(ReloadingTls::new(cert, key).context("invalid tls_cert_file / tls_key_file")?)
        }
        (None, None) => None,
        _ => bail!("tls_cert_file and tls_key_file go together: set both or neither"),
    };
    let delete_cancel_period = match &file.delete_request_cancel_period {
        Some(v) => parse_duration("delete_request_cancel_period", v)?,
        None => Duration::ZERO,
    };
    let auth_required = match file.auth.as_deref().map(str::trim) {
        Some("on") => true,
        Some("off") => false,
        None | Some("auto") => !addr.ip().is_loopback(),
        Some(other) => bail!("invalid auth {other:?}: use on, off or auto"),
    };
    let mut storage = StorageConfig::new(&data_dir);
    if let Some(r) = args.retention.or(file.retention_period.clone()) {
        storage.retention_period = Some(parse_duration("retention_period", &r)?);
    }
    if let Some(v) = file.wal_sync {
        storage.wal_sync = v;
    }
    if let Some(v) = &file.flush_interval {
        storage.flush_interval = parse_duration("flush_interval", v)?;
    }
    if let Some(v) = file.head_max_bytes {
        storage.head_max_bytes = v;
    }
    if let Some(v) = &file.merge_interval {
        storage.merge_interval = parse_duration("merge_interval", v)?;
    }
    if let Some(v) = &file.line_encoding {
        storage.line_encoding = v.parse().map_err(anyhow::Error::msg)?;
    }
    if let Some(v) = file.min_free_disk_bytes {
        storage.min_free_disk_bytes = v;
    }
    let mut limits = ApiLimits::default();
    if let Some(v) = file.max_line_size_bytes {
        limits.ingest.max_line_size_bytes = v;
    }
    if let Some(v) = file.max_request_size_bytes {
        limits.ingest.max_request_size_bytes = v;
    }
    if let Some(v) = file.max_label_names_per_series {
        limits.ingest.max_label_names_per_series = v;
    }
    if let Some(v) = file.max_entries_limit_per_query {
        limits.max_entries_limit_per_query = v;
    }
    if let Some(v) = &file.max_query_range {
        limits.max_query_range_ns = parse_duration("max_query_range", v)?.as_nanos() as i64;
    }
    if let Some(v) = file.max_query_series {
        limits.max_query_series = v;
    }
    if let Some(v) = &file.query_timeout {
        limits.query_timeout = parse_duration("query_timeout", v)?;
    }
    if let Some(v) = file.max_query_memory_bytes {
        limits.max_query_memory_bytes = v;
    }
    if let Some(v) = file.max_query_memory_total_bytes {
        limits.max_query_memory_total_bytes = v;
    }
    if let Some(v) = file.max_concurrent_queries_per_tenant {
        limits.max_concurrent_queries_per_tenant = v;
    }
    if let Some(v) = &file.http_server_read_timeout {
        limits.body_read_timeout = parse_duration("http_server_read_timeout", v)?;
    }
    limits.rates = RateLimits {
        tenant_lines: file.rate_limit_lines_per_second.unwrap_or(0.0),
        tenant_bytes: file.rate_limit_bytes_per_second.unwrap_or(0.0),
        stream_lines: file.stream_rate_limit_lines_per_second.unwrap_or(0.0),
        stream_bytes: file.stream_rate_limit_bytes_per_second.unwrap_or(0.0),
    };
    let syslog = SyslogAddrs {
        udp: parse_addr("syslog_udp", args.syslog_udp.or(file.syslog_udp.clone()))?,
        tcp: parse_addr("syslog_tcp", args.syslog_tcp.or(file.syslog_tcp.clone()))?,
    };
    let mut protocols = Protocols::default();
    if let Some(v) = file.otlp_resource_labels.clone() {
        protocols.otlp.resource_labels = v;
    }
    if let Some(v) = file.elasticsearch_message_fields.clone() {
        protocols.es_bulk.message_fields = v;
    }
    if let Some(v) = file.elasticsearch_time_fields.clone() {
        protocols.es_bulk.time_fields = v;
    }
    if let Some(v) = file.elasticsearch_label_fields.clone() {
        protocols.es_bulk.label_fields = v;
    }
    if let Some(v) = &file.auto_parse {
        protocols.auto_parse = match v.trim() {
            "off" => ParseMode::Off,
            "levels" => ParseMode::Levels,
            "fields" => ParseMode::Fields,
            other => anyhow::bail!("invalid auto_parse {other:?}: use off, levels or fields"),
        };
    }
    let custom: Vec<(String, String)> = file
        .mask_patterns
        .iter()
        .flatten()
        .map(|m| (m.pattern.clone(), m.replacement.clone()))
        .collect();
    protocols.masking = Masking::new(file.mask.as_deref().unwrap_or_default(), &custom)
        .context("invalid mask or mask_patterns")?;
    let grok_patterns: Vec<(String, String)> = file
        .grok_patterns
        .iter()
        .flatten()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    protocols.rules = Arc::new(
        Rules::new(
            file.pipelines.as_deref().unwrap_or_default(),
            &grok_patterns,
            &EntrySelector::compile,
        )
        .context("invalid pipelines")?,
    );
    if let Some(v) = file.patterns {
        protocols.mine_patterns = v;
    }
    protocols.log_metrics = Arc::new(
        LogMetrics::new(
            file.log_metrics.as_deref().unwrap_or_default(),
            &QueryLineMatcher::compile,
        )
        .context("invalid log_metrics")?,
    );
    if let Some(v) = &file.dedup_window {
        protocols.dedup_window_ns = parse_duration("dedup_window", v)?.as_nanos() as i64;
    }
    if let Some(v) = file.cors_allowed_origins.clone() {
        protocols.cors_allowed_origins = v;
    }
    let stream_retention = Arc::new(
        StreamRetention::new(
            file.retention_stream.as_deref().unwrap_or_default(),
            storage
                .retention_period
                .map(|p| i64::try_from(p.as_nanos()).unwrap_or(i64::MAX)),
        )
        .map_err(|e| anyhow::anyhow!("{e}"))?,
    );
    let compaction_interval = match &file.compaction_interval {
        Some(v) => parse_duration("compaction_interval", v)?,
        None => Duration::from_secs(600),
    };
    let ruler = RulerConfig::resolve(&file.ruler.clone().unwrap_or_default(), &data_dir, &listen)
        .context("invalid ruler settings")?;
    let role = crate::roles::parse_role(args.target.as_deref().or(file.target.as_deref()))?;
    let queue = crate::roles::queue_config(role, file.queue.as_ref())?;
    let bucket = match &file.storage {
        Some(object) => bucket_config(object)?,
        None => None,
    };
    let bucket = crate::roles::bucket_for_role(role, queue.as_ref(), bucket);
    let query_node = crate::roles::query_node(role, &file.indexers, bucket.as_ref())?;
    let compactor = crate::roles::compactor(
        role,
        &file.indexers,
        bucket.as_ref(),
        data_dir.join("compactor"),
        storage.line_encoding,
    )?;
    // A query node reads the indexers' prefixes and a compactor writes to
    // them: neither keeps parts of its own in the bucket.
    if !matches!(role, Role::Query | Role::Compact) {
        if let Some(bucket) = &bucket {
            let mut remote = basin_storage::remote::Remote::s3(bucket, &data_dir.join("cache"))
                .map_err(|e| anyhow::anyhow!("storage: {e}"))?;
            if role == Role::Index {
                // Query nodes may still read what their last snapshot listed.
                remote = remote.with_retire_grace(crate::roles::RETIRE_GRACE);
            }
            info!(bucket = %bucket.bucket, prefix = %bucket.prefix, "parts and manifest also go to the bucket");
            storage.remote = Some(Arc::new(remote));
        }
    }
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?
        .block_on(serve(
            addr,
            storage,
            limits,
            protocols,
            syslog,
            ruler,
            Exposure {
                stream_retention: (stream_retention, compaction_interval),
                auth_required,
                tls,
                delete_cancel_period,
                role,
                queue,
                query_node,
                compactor,
            },
        ))
}

/// How the server faces the network (tokens required or not, TLS) and
/// its role in a deployment.
struct Exposure {
    /// What this node does.
    role: Role,
    /// The ingest queue, in a deployment with one.
    queue: Option<QueueConfig>,
    /// A query node's indexers and bucket.
    query_node: Option<crate::roles::QueryNode>,
    /// A compactor's work.
    compactor: Option<crate::compactor::Compactor>,
    /// Retention per stream selector, and how often it runs.
    stream_retention: (Arc<StreamRetention>, Duration),
    auth_required: bool,
    tls: Option<Arc<ReloadingTls>>,
    /// How long a delete request may be cancelled before its lines leave
    /// the disk.
    delete_cancel_period: Duration,
}

async fn serve(
    addr: SocketAddr,
    storage_cfg: StorageConfig,
    limits: ApiLimits,
    protocols: Protocols,
    syslog: SyslogAddrs,
    ruler_cfg: RulerConfig,
    exposure: Exposure,
) -> Result<()> {
    let Exposure {
        stream_retention,
        auth_required,
        tls,
        delete_cancel_period,
        role,
        queue,
        query_node,
        compactor,
    } = exposure;
    let mut state = AppState::new(limits, protocols);
    state.role = role;
    let state = Arc::new(state);
    if let Some(compactor) = compactor {
        // Ready when every indexer is; a round every merge_interval, on a
        // thread of its own.
        state.set_peers(Arc::new(basin_api::peers::Peers::new(
            compactor.indexers().to_vec(),
            Duration::from_secs(10),
        )));
        state.set_compaction_stats(compactor.stats());
        compactor.spawn(storage_cfg.merge_interval);
    }
    if let (Some(queue), Role::All | Role::Ingest) = (&queue, role) {
        crate::roles::start_publisher(&state, queue).await?;
    }
    let data_dir = storage_cfg.data_dir.clone();
    std::fs::create_dir_all(&data_dir)
        .with_context(|| format!("cannot create {}", data_dir.display()))?;
    let tokens = Arc::new(TokenStore::open(&data_dir).context("cannot open the token database")?);
    if auth_required {
        info!("auth is on: every request but /ready needs a token");
        if !tokens.any_live().unwrap_or(false) {
            warn!(
                "auth is on and no token exists: make one with `basin token create --scope admin --tenant '*' --data-dir {}`",
                data_dir.display()
            );
        }
    } else {
        warn!("auth is off: anyone who reaches {addr} may push and read every tenant");
    }
    state.set_auth(Arc::new(Auth::new(tokens, auth_required)));
    state.set_saved(Arc::new(
        SavedStore::open(&data_dir).context("cannot open the saved objects database")?,
    ));
    state.set_secure_cookies(tls.is_some());
    let deletes = Arc::new(DeleteRequests::open(&data_dir).map_err(|e| anyhow::anyhow!("{e}"))?);
    state.set_deletes(deletes.clone());
    let merge_interval = storage_cfg.merge_interval;
    let syslog = if role.takes_pushes() {
        syslog
    } else {
        SyslogAddrs::default()
    };
    if let Some(addr) = syslog.udp {
        let socket = tokio::net::UdpSocket::bind(addr)
            .await
            .with_context(|| format!("cannot listen for syslog on udp {addr}"))?;
        info!("syslog on udp {}", socket.local_addr().unwrap_or(addr));
        tokio::spawn(syslog_listen::serve_udp(socket, state.clone()));
    }
    if let Some(addr) = syslog.tcp {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("cannot listen for syslog on tcp {addr}"))?;
        info!("syslog on tcp {}", listener.local_addr().unwrap_or(addr));
        tokio::spawn(syslog_listen::serve_tcp(
            listener,
            state.clone(),
            tls.clone(),
        ));
    }
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    info!(
        "listening on {}://{}, data in {}",
        if tls.is_some() { "https" } else { "http" },
        listener.local_addr().unwrap_or(addr),
        storage_cfg.data_dir.display()
    );
    let opening = {
        let state = state.clone();
        tokio::task::spawn_blocking(move || -> Result<Arc<Storage>> {
            let dir = storage_cfg.data_dir.clone();
            let opened = match query_node {
                Some(node) => {
                    state.set_peers(node.peers);
                    Storage::open_view(storage_cfg, node.bucket)
                }
                None => Storage::open(storage_cfg),
            };
            let storage = Arc::new(
                opened.with_context(|| format!("cannot open storage in {}", dir.display()))?,
            );
            // Before any push: new pattern ids must not reuse saved ones.
            let tenants = patterns_state::load(&dir, &state.patterns)
                .context("cannot read the saved patterns")?;
            if tenants > 0 {
                info!("patterns of {tenants} tenants restored");
            }
            state.set_storage(storage.clone());
            info!("ready");
            Ok(storage)
        })
    };
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let app = router(state.clone());
    let header_timeout = state.limits.body_read_timeout;
    let server = tokio::spawn(crate::listen::serve_http(
        listener,
        app,
        tls.clone(),
        header_timeout,
        async {
            let _ = stop_rx.await;
        },
    ));
    let opened = tokio::select! {
        opened = opening => opened.context("storage task failed")?,
        () = shutdown_signal() => {
            info!("signal received while opening storage");
            return Ok(());
        }
    };
    let storage = match opened {
        Ok(s) => s,
        Err(e) => {
            let _ = stop_tx.send(());
            return Err(e);
        }
    };
    if let (Some(queue), Role::All | Role::Index) = (queue, role) {
        crate::roles::start_consumer(&state, storage.clone(), queue);
    }
    let ruler = Arc::new(Ruler::new(
        ruler_cfg,
        Arc::new(StorageQuerier::new(&state, storage.clone())),
        Arc::default(),
    ));
    state.set_ruler(ruler.clone());
    // On a query node, each evaluation reads every indexer first.
    let ruler_threads = runner::spawn(ruler, Arc::new(HttpTransport::default()))
        .context("cannot start the ruler")?;
    let deleter = tokio::spawn(process_deletes_every(
        merge_interval,
        delete_cancel_period,
        deletes.clone(),
        storage.clone(),
    ));
    let expirer = (!stream_retention.0.is_empty()).then(|| {
        tokio::spawn(expire_streams_every(
            stream_retention.1,
            stream_retention.0.clone(),
            storage.clone(),
        ))
    });
    let saver = tokio::spawn(save_patterns_every(
        PATTERNS_SAVE_INTERVAL,
        state.clone(),
        data_dir.clone(),
    ));
    shutdown_signal().await;
    saver.abort();
    deleter.abort();
    if let Some(expirer) = expirer {
        expirer.abort();
    }
    info!("shutting down: draining requests");
    let _ = stop_tx.send(());
    match tokio::time::timeout(DRAIN_TIMEOUT, server).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => error!("server task failed: {e}"),
        Err(_) => warn!("requests still open after {DRAIN_TIMEOUT:?}; closing them"),
    }
    tokio::task::spawn_blocking(move || ruler_threads.stop())
        .await
        .context("ruler stop task failed")?;
    if let Err(e) = patterns_state::save(&data_dir, &state.patterns) {
        error!("patterns not saved: {e}");
    }
    info!("flushing to parts");
    tokio::task::spawn_blocking(move || storage.shutdown())
        .await
        .context("shutdown task failed")?
        .context("flush on shutdown failed")?;
    info!("stopped");
    Ok(())
}

/// How often pattern miners' state is written (ids of templates created
/// since the last write are skipped after a crash, never reused).
const PATTERNS_SAVE_INTERVAL: Duration = Duration::from_secs(10);

/// Removes from disk, at each merge round, the lines of delete requests
/// older than their cancel period.
async fn process_deletes_every(
    every: Duration,
    cancel_period: Duration,
    deletes: Arc<DeleteRequests>,
    storage: Arc<Storage>,
) {
    let mut tick = tokio::time::interval(every);
    loop {
        tick.tick().await;
        let made_by = chrono::Utc::now().timestamp() - cancel_period.as_secs() as i64;
        for request in deletes.pending(made_by) {
            let (deletes, storage) = (deletes.clone(), storage.clone());
            let done = tokio::task::spawn_blocking(move || -> Result<u64> {
                let filter = request.filter()?;
                let tenant = TenantId::new(&request.tenant)?;
                let removed = storage.purge(
                    &tenant,
                    (request.start_ns, request.end_ns),
                    &|labels, entry| filter.covers(labels, entry),
                )?;
                deletes.processed(&request)?;
                info!(
                    tenant = %tenant,
                    request = %request.request_id,
                    removed,
                    "delete request processed"
                );
                Ok(removed)
            })
            .await;
            match done {
                Ok(Ok(_)) => {}
                Ok(Err(e)) => warn!("delete request not processed yet: {e:#}"),
                Err(e) => warn!("delete task failed: {e}"),
            }
        }
    }
}

/// Removes, every `every`, the lines `retention_stream` says have expired.
async fn expire_streams_every(every: Duration, rules: Arc<StreamRetention>, storage: Arc<Storage>) {
    let mut tick = tokio::time::interval(every);
    loop {
        tick.tick().await;
        let (rules, storage) = (rules.clone(), storage.clone());
        let done = tokio::task::spawn_blocking(move || -> Result<u64> {
            let now = chrono::Utc::now().timestamp_nanos_opt().unwrap_or(i64::MAX);
            let tenants: std::collections::BTreeSet<String> =
                storage.parts().into_iter().map(|p| p.tenant).collect();
            let mut removed = 0;
            for tenant in tenants {
                let tenant = TenantId::new(&tenant)?;
                removed +=
                    storage.expire(&tenant, rules.oldest_cutoff(now), &|labels, entry| {
                        rules.expired(labels, entry.ts, now)
                    })?;
            }
            Ok(removed)
        })
        .await;
        match done {
            Ok(Ok(0)) => {}
            Ok(Ok(removed)) => info!(removed, "retention_stream removed expired lines"),
            Ok(Err(e)) => warn!("retention_stream not applied: {e:#}"),
            Err(e) => warn!("retention task failed: {e}"),
        }
    }
}

async fn save_patterns_every(every: Duration, state: Arc<AppState>, data_dir: PathBuf) {
    let mut tick = tokio::time::interval(every);
    loop {
        tick.tick().await;
        let (state, dir) = (state.clone(), data_dir.clone());
        match tokio::task::spawn_blocking(move || patterns_state::save(&dir, &state.patterns)).await
        {
            Ok(Ok(())) => {}
            Ok(Err(e)) => warn!("patterns not saved: {e}"),
            Err(e) => warn!("pattern save task failed: {e}"),
        }
    }
}

/// Where syslog is received, if anywhere.
#[derive(Default)]
struct SyslogAddrs {
    udp: Option<SocketAddr>,
    tcp: Option<SocketAddr>,
}

fn parse_addr(key: &str, value: Option<String>) -> Result<Option<SocketAddr>> {
    value
        .map(|v| {
            v.parse()
                .with_context(|| format!("invalid {key} address {v:?}: use HOST:PORT"))
        })
        .transpose()
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                error!("cannot listen for SIGTERM: {e}");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}

/// The bucket of `storage: {type: s3, ...}`, or none for `type: local`.
fn bucket_config(
    object: &crate::config::ObjectStorage,
) -> Result<Option<basin_storage::remote::RemoteConfig>> {
    match object.kind.as_str() {
        "local" => Ok(None),
        "s3" => {
            let bucket = object
                .bucket
                .clone()
                .context("storage: type s3 needs a bucket")?;
            let cfg = basin_storage::remote::RemoteConfig {
                bucket,
                endpoint: object.endpoint.clone(),
                region: object.region.clone(),
                prefix: object.prefix.clone().unwrap_or_default(),
                cache_max_bytes: object.cache_max_bytes.unwrap_or(1 << 30),
            };
            Ok(Some(cfg))
        }
        other => bail!("storage type {other:?}: use local or s3"),
    }
}
