use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use basin_ingest::IngestError;
use basin_query::QueryError;
use basin_storage::StorageError;
use thiserror::Error;
use tracing::error;

/// How long a client is asked to wait before pushing again to a full disk:
/// long enough not to hammer it, short enough that shippers' buffers hold.
const DISK_FULL_RETRY_AFTER_SECS: u64 = 10;

/// How long a query refused for the server's shared limits (memory of all
/// queries, a tenant's concurrent queries) is asked to wait.
pub const QUERY_RETRY_AFTER_SECS: u64 = 1;

/// Every way a request can fail, each with one HTTP status.
#[derive(Debug, Error)]
pub enum ApiError {
    /// The request is wrong; the message says how. 400.
    #[error("{0}")]
    BadRequest(String),
    /// The body is over a size limit. 413.
    #[error("{0}")]
    TooLarge(String),
    /// What the request names does not exist. 404.
    #[error("{0}")]
    NotFound(String),
    /// The body's content type is not one the endpoint speaks. 415.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// Over a rate limit; what fitted was stored. 429 with `Retry-After`.
    #[error("{message}")]
    RateLimited {
        message: String,
        retry_after_secs: u64,
    },
    /// Writes are refused for now (the disk is full); reads go on. 503 with
    /// `Retry-After`.
    #[error("{message}")]
    Unavailable {
        message: String,
        retry_after_secs: u64,
    },
    /// The query needs more memory than its budget allows. 422, as
    /// Prometheus answers a query that would load too many samples.
    #[error("{0}")]
    ResourcesExhausted(String),
    /// The client did not send its request in time. 408.
    #[error("{0}")]
    RequestTimeout(String),
    /// The store is still replaying its WAL. 503.
    #[error("not ready: replaying the write-ahead log")]
    NotReady,
    /// Something broke inside; the client gets a generic message. 500.
    #[error("internal error")]
    Internal(String),
}

impl ApiError {
    /// The HTTP status this error answers with.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::ResourcesExhausted(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::RequestTimeout(_) => StatusCode::REQUEST_TIMEOUT,
            ApiError::Unavailable { .. } | ApiError::NotReady => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl ApiError {
    /// Sets `Retry-After` on a response to a request that may be sent
    /// again later (rate-limited, or refused while the disk is full).
    pub fn add_retry_after(&self, response: &mut Response) {
        if let ApiError::RateLimited {
            retry_after_secs, ..
        }
        | ApiError::Unavailable {
            retry_after_secs, ..
        } = self
        {
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from(*retry_after_secs),
            );
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let ApiError::Internal(detail) = &self {
            error!("internal error: {detail}");
        }
        let mut response = (self.status(), format!("{self}\n")).into_response();
        self.add_retry_after(&mut response);
        response
    }
}

impl From<IngestError> for ApiError {
    fn from(e: IngestError) -> Self {
        if e.is_too_large() {
            ApiError::TooLarge(e.to_string())
        } else if e.is_unsupported_type() {
            ApiError::UnsupportedMediaType(e.to_string())
        } else {
            ApiError::BadRequest(e.to_string())
        }
    }
}

impl From<QueryError> for ApiError {
    fn from(e: QueryError) -> Self {
        match e {
            QueryError::Storage(e) => ApiError::from(e),
            e @ QueryError::ResourcesExhausted { shared: true, .. } => ApiError::RateLimited {
                message: e.to_string(),
                retry_after_secs: QUERY_RETRY_AFTER_SECS,
            },
            e @ QueryError::ResourcesExhausted { .. } => {
                ApiError::ResourcesExhausted(e.to_string())
            }
            other => ApiError::BadRequest(other.to_string()),
        }
    }
}

impl From<StorageError> for ApiError {
    fn from(e: StorageError) -> Self {
        match e {
            StorageError::Closed => ApiError::NotReady,
            StorageError::Invalid(m) => ApiError::BadRequest(m),
            full if full.is_disk_full() => ApiError::Unavailable {
                message: format!("push refused, retry later: {full}"),
                retry_after_secs: DISK_FULL_RETRY_AFTER_SECS,
            },
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl From<basin_rules::RulesError> for ApiError {
    fn from(e: basin_rules::RulesError) -> Self {
        match e {
            basin_rules::RulesError::Invalid(m) => ApiError::BadRequest(m),
            basin_rules::RulesError::NotFound(m) => ApiError::NotFound(m),
            other => ApiError::Internal(other.to_string()),
        }
    }
}
