//! Delete requests (Loki's delete API): lines a request covers leave every
//! answer at once, and leave the disk when the compactor processes the
//! request (after `delete_request_cancel_period`). Requests are kept in
//! `delete_requests.json` in the data directory, so they survive restarts.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use basin_logql::parse_log_query;
use basin_model::TenantId;
use basin_query::deletes::DeleteFilter;
use serde::{Deserialize, Serialize};

use crate::ApiError;

/// The file, in the data directory.
pub const FILE: &str = "delete_requests.json";

/// Where a request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Hidden from queries; still on disk.
    Received,
    /// Removed from disk too.
    Processed,
}

/// One request.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DeleteRequest {
    /// Its id.
    pub request_id: String,
    /// Whose lines.
    pub tenant: String,
    /// The log query picking the lines.
    pub query: String,
    /// Inclusive range, in nanoseconds.
    pub start_ns: i64,
    /// Inclusive end.
    pub end_ns: i64,
    /// Unix seconds when it was made.
    pub created_at: i64,
    /// Received or processed.
    pub status: Status,
}

impl DeleteRequest {
    /// The request compiled for queries and the compactor.
    pub fn filter(&self) -> Result<DeleteFilter, ApiError> {
        let query =
            parse_log_query(&self.query).map_err(|e| ApiError::BadRequest(e.to_string()))?;
        Ok(DeleteFilter::new(&[(query, self.start_ns, self.end_ns)])?)
    }
}

/// Every tenant's requests, with each tenant's compiled filter.
pub struct DeleteRequests {
    path: PathBuf,
    requests: Mutex<Vec<DeleteRequest>>,
    filters: Mutex<HashMap<String, Arc<DeleteFilter>>>,
}

impl DeleteRequests {
    /// Loads the requests saved in `data_dir`, if any.
    pub fn open(data_dir: &Path) -> Result<Self, ApiError> {
        let path = data_dir.join(FILE);
        let requests: Vec<DeleteRequest> = match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map_err(|e| ApiError::Internal(format!("{} is damaged: {e}", path.display())))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => {
                return Err(ApiError::Internal(format!(
                    "cannot read {}: {e}",
                    path.display()
                )))
            }
        };
        Ok(Self {
            path,
            requests: Mutex::new(requests),
            filters: Mutex::new(HashMap::new()),
        })
    }

    /// Records a request; its lines leave answers at once.
    pub fn add(
        &self,
        tenant: &TenantId,
        query: &str,
        (start_ns, end_ns): (i64, i64),
        now_s: i64,
    ) -> Result<DeleteRequest, ApiError> {
        let parsed = parse_log_query(query).map_err(|e| ApiError::BadRequest(e.to_string()))?;
        DeleteFilter::check(&parsed)?;
        if end_ns < start_ns {
            return Err(ApiError::BadRequest(
                "invalid time range: end is before start".into(),
            ));
        }
        let mut id = [0u8; 8];
        getrandom::fill(&mut id).map_err(|e| ApiError::Internal(format!("no randomness: {e}")))?;
        let request = DeleteRequest {
            request_id: id.iter().map(|b| format!("{b:02x}")).collect(),
            tenant: tenant.to_string(),
            query: query.to_string(),
            start_ns,
            end_ns,
            created_at: now_s,
            status: Status::Received,
        };
        self.change(tenant, |all| {
            all.push(request.clone());
            Ok(())
        })?;
        Ok(request)
    }

    /// A tenant's requests, oldest first.
    pub fn list(&self, tenant: &TenantId) -> Vec<DeleteRequest> {
        self.lock()
            .iter()
            .filter(|r| r.tenant == tenant.as_str())
            .cloned()
            .collect()
    }

    /// Cancels a request the compactor has not processed yet.
    pub fn cancel(&self, tenant: &TenantId, id: &str) -> Result<(), ApiError> {
        self.change(tenant, |all| {
            let at = all
                .iter()
                .position(|r| r.tenant == tenant.as_str() && r.request_id == id)
                .ok_or_else(|| ApiError::NotFound(format!("no delete request {id:?}")))?;
            if all[at].status == Status::Processed {
                return Err(ApiError::BadRequest(format!(
                    "delete request {id:?} was processed: its lines are gone"
                )));
            }
            all.remove(at);
            Ok(())
        })
    }

    /// Requests still to process, made at or before `made_by` (unix s).
    pub fn pending(&self, made_by: i64) -> Vec<DeleteRequest> {
        self.lock()
            .iter()
            .filter(|r| r.status == Status::Received && r.created_at <= made_by)
            .cloned()
            .collect()
    }

    /// Marks a request processed.
    pub fn processed(&self, request: &DeleteRequest) -> Result<(), ApiError> {
        let tenant =
            TenantId::new(&request.tenant).map_err(|e| ApiError::Internal(e.to_string()))?;
        self.change(&tenant, |all| {
            for r in all
                .iter_mut()
                .filter(|r| r.request_id == request.request_id)
            {
                r.status = Status::Processed;
            }
            Ok(())
        })
    }

    /// What queries of `tenant` must leave out, if anything.
    pub fn filter(&self, tenant: &TenantId) -> Option<Arc<DeleteFilter>> {
        let mut filters = self.filters.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(f) = filters.get(tenant.as_str()) {
            return Some(f.clone());
        }
        let mine: Vec<_> = self
            .lock()
            .iter()
            .filter(|r| r.tenant == tenant.as_str())
            .filter_map(|r| {
                parse_log_query(&r.query)
                    .ok()
                    .map(|q| (q, r.start_ns, r.end_ns))
            })
            .collect();
        if mine.is_empty() {
            return None;
        }
        let filter = Arc::new(DeleteFilter::new(&mine).ok()?);
        filters.insert(tenant.to_string(), filter.clone());
        Some(filter)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<DeleteRequest>> {
        self.requests.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Applies `edit` and saves; on any failure nothing changes.
    fn change(
        &self,
        tenant: &TenantId,
        edit: impl FnOnce(&mut Vec<DeleteRequest>) -> Result<(), ApiError>,
    ) -> Result<(), ApiError> {
        let mut all = self.lock();
        let mut next = all.clone();
        edit(&mut next)?;
        let bytes = serde_json::to_vec_pretty(&next)
            .map_err(|e| ApiError::Internal(format!("cannot encode delete requests: {e}")))?;
        let tmp = self.path.with_extension("json.tmp");
        std::fs::write(&tmp, bytes)
            .and_then(|()| std::fs::File::open(&tmp)?.sync_all())
            .and_then(|()| std::fs::rename(&tmp, &self.path))
            .map_err(|e| {
                let _ = std::fs::remove_file(&tmp);
                ApiError::Internal(format!("cannot save {}: {e}", self.path.display()))
            })?;
        *all = next;
        self.filters
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(tenant.as_str());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_survive_reopening_and_cancel_until_processed() {
        let dir = tempfile::tempdir().unwrap();
        let a = TenantId::new("a").unwrap();
        let reqs = DeleteRequests::open(dir.path()).unwrap();
        assert!(reqs.filter(&a).is_none());
        let r = reqs
            .add(&a, r#"{job="x"} |= "secret""#, (0, 100), 10)
            .unwrap();
        assert!(reqs
            .add(&a, r#"{job="x"} | line_format "y""#, (0, 100), 10)
            .is_err());
        assert!(reqs.add(&a, "not a query", (0, 100), 10).is_err());
        assert!(reqs.filter(&a).is_some());
        assert!(reqs.filter(&TenantId::new("b").unwrap()).is_none());
        let reopened = DeleteRequests::open(dir.path()).unwrap();
        assert_eq!(reopened.list(&a).len(), 1);
        assert_eq!(reopened.pending(9).len(), 0);
        assert_eq!(reopened.pending(10).len(), 1);
        reopened.processed(&r).unwrap();
        assert!(reopened.cancel(&a, &r.request_id).is_err());
        let r2 = reopened.add(&a, r#"{job="y"}"#, (0, 100), 11).unwrap();
        reopened.cancel(&a, &r2.request_id).unwrap();
        assert_eq!(reopened.list(&a).len(), 1);
    }
}
