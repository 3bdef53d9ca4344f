//! How many queries each tenant may run at once: one tenant's dashboard
//! storm waits its turn instead of taking every core and all query memory.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use basin_model::TenantId;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::error::QUERY_RETRY_AFTER_SECS;
use crate::ApiError;

/// A semaphore per tenant, made on first use.
#[derive(Debug)]
pub struct QuerySlots {
    per_tenant: usize,
    tenants: Mutex<HashMap<TenantId, Arc<Semaphore>>>,
}

/// A running query's slot, freed when dropped.
#[derive(Debug)]
pub struct QuerySlot(#[allow(dead_code)] Option<OwnedSemaphorePermit>);

impl QuerySlots {
    /// `per_tenant` queries at once for each tenant (0: no limit).
    pub fn new(per_tenant: usize) -> Self {
        Self {
            per_tenant,
            tenants: Mutex::new(HashMap::new()),
        }
    }

    /// Waits up to `wait` for one of `tenant`'s slots; past that, a 429
    /// naming the limit.
    pub async fn acquire(&self, tenant: &TenantId, wait: Duration) -> Result<QuerySlot, ApiError> {
        if self.per_tenant == 0 {
            return Ok(QuerySlot(None));
        }
        let semaphore = {
            let mut tenants = self
                .tenants
                .lock()
                .map_err(|_| ApiError::Internal("query slots poisoned".into()))?;
            tenants
                .entry(tenant.clone())
                .or_insert_with(|| Arc::new(Semaphore::new(self.per_tenant)))
                .clone()
        };
        match tokio::time::timeout(wait, semaphore.acquire_owned()).await {
            Ok(Ok(permit)) => Ok(QuerySlot(Some(permit))),
            Ok(Err(_)) => Err(ApiError::Internal("query slots closed".into())),
            Err(_) => Err(ApiError::RateLimited {
                message: format!(
                    "resources exhausted: tenant {tenant} already runs {} queries (max_concurrent_queries_per_tenant) and none finished within {wait:?}; retry later",
                    self.per_tenant
                ),
                retry_after_secs: QUERY_RETRY_AFTER_SECS,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_tenant_waits_for_its_own_slots_only() {
        let slots = QuerySlots::new(1);
        let (a, b) = (TenantId::new("a").unwrap(), TenantId::new("b").unwrap());
        let held = slots.acquire(&a, Duration::ZERO).await.unwrap();
        let err = slots
            .acquire(&a, Duration::from_millis(20))
            .await
            .unwrap_err();
        assert!(err
            .to_string()
            .contains("max_concurrent_queries_per_tenant"));
        assert_eq!(err.status(), axum::http::StatusCode::TOO_MANY_REQUESTS);
        // Another tenant is not held up.
        slots.acquire(&b, Duration::ZERO).await.unwrap();
        drop(held);
        slots.acquire(&a, Duration::ZERO).await.unwrap();
    }
}
