//! The HTTP client the CLI commands share.

use anyhow::{bail, Context, Result};
use serde_json::Value;

/// A server to talk to.
pub struct Client {
    agent: ureq::Agent,
    base: String,
    tenant: Option<String>,
    /// `Authorization` header value, when a token is given.
    auth: Option<String>,
}

impl Client {
    /// A client for `base` (e.g. `http://127.0.0.1:3100`).
    pub fn new(base: &str, tenant: Option<String>, token: Option<String>) -> Self {
        Self {
            agent: ureq::Agent::config_builder()
                .http_status_as_error(false)
                .build()
                .into(),
            base: base.trim_end_matches('/').to_string(),
            tenant,
            auth: token.map(|t| format!("Bearer {}", t.trim())),
        }
    }

    /// The full URL of `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// GETs `path` with query parameters and returns the JSON answer; a non-2xx
    /// answer is an error carrying the server's message.
    pub fn get_json(&self, path: &str, params: &[(&str, &str)]) -> Result<Value> {
        let url = self.url(path);
        let mut req = self.agent.get(&url);
        for (k, v) in params {
            req = req.query(*k, *v);
        }
        if let Some(t) = &self.tenant {
            req = req.header("X-Scope-OrgID", t);
        }
        if let Some(a) = &self.auth {
            req = req.header("Authorization", a);
        }
        let mut resp = req.call().with_context(|| format!("cannot reach {url}"))?;
        let status = resp.status();
        let text = resp
            .body_mut()
            .with_config()
            .limit(1024 * 1024 * 1024)
            .read_to_string()
            .context("cannot read the answer")?;
        if !status.is_success() {
            bail!("server answered {status}: {}", text.trim());
        }
        serde_json::from_str(&text).context("the answer is not JSON")
    }

    /// POSTs a body to `path`; a non-2xx answer is an error.
    pub fn post(&self, path: &str, content_type: &str, body: &[u8]) -> Result<()> {
        let url = self.url(path);
        let mut req = self.agent.post(&url).header("Content-Type", content_type);
        if let Some(t) = &self.tenant {
            req = req.header("X-Scope-OrgID", t);
        }
        if let Some(a) = &self.auth {
            req = req.header("Authorization", a);
        }
        let mut resp = req
            .send(body)
            .with_context(|| format!("cannot reach {url}"))?;
        let status = resp.status();
        if !status.is_success() {
            let msg = resp.body_mut().read_to_string().unwrap_or_default();
            bail!("server refused a batch ({status}): {}", msg.trim());
        }
        Ok(())
    }
}
