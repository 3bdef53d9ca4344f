//! Query budgets: series and memory limits stop a query while it reads,
//! with errors naming the limit, and give their reservation back.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use basin_logql::{parse_expr, parse_log_query, Expr};
use basin_model::{Entry, Labels, PushBatch, StreamBatch, TenantId};
use basin_query::{
    eval_metric, select_logs, Direction, LogSelect, MemoryPool, MetricQuery, QueryContext,
    QueryError, Steps,
};
use basin_storage::{Storage, StorageConfig};

const T0: i64 = 1_704_067_200_000_000_000;
const SEC: i64 = 1_000_000_000;
/// Lines, each with its own trace id.
const LINES: i64 = 20_000;

fn storage(dir: &std::path::Path) -> Storage {
    let storage = Storage::open(StorageConfig::new(dir)).unwrap();
    let entries = (0..LINES)
        .map(|i| {
            Entry::new(
                T0 + i * SEC / 10,
                format!(r#"{{"level":"info","trace":"t{i:06}","msg":"request served in {i} ms"}}"#),
            )
        })
        .collect();
    storage
        .append_blocking(PushBatch {
            tenant: TenantId::default_tenant(),
            streams: vec![StreamBatch {
                labels: Labels::parse(r#"{job="mem"}"#).unwrap(),
                entries,
            }],
        })
        .unwrap();
    storage
}

fn metric(
    storage: &Storage,
    query: &str,
    max_series: usize,
    ctx: &QueryContext,
) -> Result<usize, QueryError> {
    let Expr::Metric(expr) = parse_expr(query).unwrap() else {
        panic!("{query} is not a metric query");
    };
    // The last step comes after the last line, so every line is counted.
    let end = T0 + LINES * SEC / 10 + 60 * SEC;
    let result = eval_metric(
        storage,
        &MetricQuery {
            tenant: &TenantId::default_tenant(),
            expr: &expr,
            steps: Steps {
                start: T0,
                end,
                step: 60 * SEC,
            },
            max_series,
            ctx,
        },
    )?;
    Ok(match result.value {
        basin_query::Value::Vector(v) => v.len(),
        basin_query::Value::Scalar(_) => 1,
    })
}

#[test]
fn series_limits_hold_inside_aggregations() {
    let dir = tempfile::tempdir().unwrap();
    let storage = storage(dir.path());
    let ctx = QueryContext::new(None);
    for query in [
        r#"sum by (trace) (count_over_time({job="mem"} | json [1h]))"#,
        r#"topk(3, count_over_time({job="mem"} | json [1h]))"#,
        r#"count(sum by (trace) (rate({job="mem"} | json [1h])))"#,
    ] {
        let err = metric(&storage, query, 500, &ctx).expect_err(query);
        assert!(
            matches!(&err, QueryError::Limit(m) if m.contains("maximum number of series (500)")),
            "{query}: {err}"
        );
    }
    // Folding a few groups is answered.
    let n = metric(
        &storage,
        r#"sum by (level) (count_over_time({job="mem"} | json [1h]))"#,
        500,
        &ctx,
    )
    .unwrap();
    assert_eq!(n, 1);
}

#[test]
fn memory_budgets_stop_queries_and_give_memory_back() {
    let dir = tempfile::tempdir().unwrap();
    let storage = storage(dir.path());
    let pool = MemoryPool::new(0);
    let query = r#"sum by (trace) (count_over_time({job="mem"} | json [1h]))"#;

    let tight = QueryContext::new(None).with_memory_budget(1024 * 1024, Some(pool.clone()));
    let err = metric(&storage, query, usize::MAX, &tight).expect_err("over budget");
    assert!(
        matches!(&err, QueryError::ResourcesExhausted { message, shared: false }
            if message.contains("max_query_memory_bytes")),
        "{err}"
    );
    drop(tight);
    assert_eq!(pool.used(), 0, "a stopped query gives its memory back");

    let roomy = QueryContext::new(None).with_memory_budget(512 * 1024 * 1024, Some(pool.clone()));
    assert_eq!(
        metric(&storage, query, usize::MAX, &roomy).unwrap(),
        LINES as usize
    );
    drop(roomy);
    assert_eq!(pool.used(), 0);

    // The pool bounds queries that each fit their own budget.
    let small_pool = MemoryPool::new(1024 * 1024);
    let shared = QueryContext::new(None).with_memory_budget(0, Some(small_pool.clone()));
    let err = metric(&storage, query, usize::MAX, &shared).expect_err("over the pool");
    assert!(
        matches!(&err, QueryError::ResourcesExhausted { shared: true, .. }),
        "{err}"
    );

    // Log queries count the rows they keep.
    let log = parse_log_query(r#"{job="mem"} | json"#).unwrap();
    let tight = QueryContext::new(None).with_memory_budget(256 * 1024, Some(pool.clone()));
    let err = select_logs(
        &storage,
        &LogSelect {
            tenant: &TenantId::default_tenant(),
            query: &log,
            start: T0,
            end: T0 + LINES * SEC,
            limit: 5000,
            direction: Direction::Backward,
            ctx: &tight,
        },
    )
    .expect_err("5000 parsed rows are more than 256 KiB");
    assert!(
        matches!(err, QueryError::ResourcesExhausted { .. }),
        "{err}"
    );
}
