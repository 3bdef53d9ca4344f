//! Running a log query off the async worker threads, for every route that
//! reads lines (query, tail history, detected fields).

use std::sync::Arc;

use basin_logql::LogExpr;
use basin_model::{TenantId, TimestampNs};
use basin_query::{select_logs, Direction, LogSelect, LogSelection, QueryContext};
use basin_storage::Storage;

use crate::ApiError;

/// A log query over `[start, end]`: the end is inclusive, as in Loki.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn select_blocking(
    storage: Arc<Storage>,
    tenant: TenantId,
    log: LogExpr,
    start: TimestampNs,
    end: TimestampNs,
    limit: usize,
    direction: Direction,
    ctx: QueryContext,
) -> Result<LogSelection, ApiError> {
    tokio::task::spawn_blocking(move || {
        select_logs(
            &storage,
            &LogSelect {
                tenant: &tenant,
                query: &log,
                start,
                end: end.saturating_add(1),
                limit,
                direction,
                ctx: &ctx,
            },
        )
    })
    .await
    .map_err(|e| ApiError::Internal(format!("query task failed: {e}")))?
    .map_err(ApiError::from)
}
