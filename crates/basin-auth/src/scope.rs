//! Scopes and what a verified token grants.

use std::fmt;
use std::str::FromStr;

use crate::AuthError;

/// The tenant entry that stands for every tenant (admin tokens).
pub const ANY_TENANT: &str = "*";

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Scope {
    /// Send logs (every ingest protocol). Safe inside browser and mobile
    /// clients: it cannot read anything back.
    Push,
    /// Query, tail, list labels, patterns, rules and alerts, `/metrics`.
    Read,
    /// Create, change and delete rules.
    Rules,
    /// Everything, including managing tokens.
    Admin,
}

impl Scope {
    /// Every scope, in order.
    pub const ALL: [Scope; 4] = [Scope::Push, Scope::Read, Scope::Rules, Scope::Admin];

    /// The scope's name in configs, the CLI and the API.
    pub fn name(self) -> &'static str {
        match self {
            Scope::Push => "push",
            Scope::Read => "read",
            Scope::Rules => "rules",
            Scope::Admin => "admin",
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Scope {
    type Err = AuthError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Scope::ALL
            .into_iter()
            .find(|scope| scope.name().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| AuthError::BadScope(s.to_string()))
    }
}

/// What a verified token may do, and for whom.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// The token's id (not its secret).
    pub id: String,
    /// Its scopes.
    pub scopes: Vec<Scope>,
    /// Tenants it acts for, the first being the one used when a request
    /// names none; [`ANY_TENANT`] for all.
    pub tenants: Vec<String>,
}

impl Grant {
    /// Whether the token may act in `scope` (admin may do everything).
    pub fn allows(&self, scope: Scope) -> bool {
        self.scopes
            .iter()
            .any(|s| *s == scope || *s == Scope::Admin)
    }

    /// Whether the token acts for `tenant`.
    pub fn covers(&self, tenant: &str) -> bool {
        self.tenants.iter().any(|t| t == ANY_TENANT || t == tenant)
    }

    /// Whether the token acts for every tenant.
    pub fn covers_all(&self) -> bool {
        self.tenants.iter().any(|t| t == ANY_TENANT)
    }

    /// The tenant a request acts for: the one it names if the token covers
    /// it, else the token's first; `None` when the named one is not covered.
    pub fn tenant_for(&self, requested: Option<&str>) -> Option<String> {
        match requested {
            Some(t) => self.covers(t).then(|| t.to_string()),
            None => self
                .tenants
                .iter()
                .find(|t| *t != ANY_TENANT)
                .cloned()
                .or_else(|| Some(basin_model::TenantId::default_tenant().to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant(scopes: &[Scope], tenants: &[&str]) -> Grant {
        Grant {
            id: "x".into(),
            scopes: scopes.to_vec(),
            tenants: tenants.iter().map(|t| t.to_string()).collect(),
        }
    }

    #[test]
    fn scopes_and_tenants() {
        let push = grant(&[Scope::Push], &["a"]);
        assert!(push.allows(Scope::Push) && !push.allows(Scope::Read));
        assert_eq!(push.tenant_for(None).as_deref(), Some("a"));
        assert_eq!(push.tenant_for(Some("a")).as_deref(), Some("a"));
        assert_eq!(push.tenant_for(Some("b")), None);
        let admin = grant(&[Scope::Admin], &[ANY_TENANT]);
        assert!(Scope::ALL.iter().all(|s| admin.allows(*s)));
        assert_eq!(admin.tenant_for(Some("b")).as_deref(), Some("b"));
        assert_eq!(admin.tenant_for(None).as_deref(), Some("default"));
        assert_eq!("READ".parse::<Scope>().unwrap(), Scope::Read);
        assert!("write".parse::<Scope>().is_err());
    }
}
