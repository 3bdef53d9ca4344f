use std::fmt;

use serde::{Deserialize, Serialize};

use crate::ModelError;

/// The isolation unit: one organisation's logs (Loki's `X-Scope-OrgID`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct TenantId(String);

impl TenantId {
    /// The tenant of requests that name none.
    pub const DEFAULT: &'static str = "default";

    /// Checks a tenant id; it becomes a directory name, so the alphabet is narrow.
    pub fn new(id: &str) -> Result<Self, ModelError> {
        let ok = !id.is_empty()
            && id.len() <= 150
            && id != "."
            && id != ".."
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
        if ok {
            Ok(Self(id.to_string()))
        } else {
            Err(ModelError::InvalidTenant(id.to_string()))
        }
    }

    /// The `default` tenant.
    pub fn default_tenant() -> Self {
        Self(Self::DEFAULT.to_string())
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TenantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenant_alphabet() {
        let check = |id: &str, ok: bool| assert_eq!(TenantId::new(id).is_ok(), ok, "{id}");
        check("default", true);
        check("team-a.prod_1", true);
        check("", false);
        check(".", false);
        check("..", false);
        check("a/b", false);
        check(&"x".repeat(151), false);
    }
}
