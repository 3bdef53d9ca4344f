//! How notifications leave: one POST, behind a trait so tests can record
//! what would be sent.

use std::time::Duration;

/// Posts a body and reports the status, or why nothing was answered.
pub trait Transport: Send + Sync {
    /// POSTs `body` to `url` with `headers`; Ok(status) once a status line
    /// was read.
    fn post(&self, url: &str, headers: &[(&str, &str)], body: &[u8]) -> Result<u16, String>;
}

/// The headers of a JSON body.
pub const JSON: &[(&str, &str)] = &[("Content-Type", "application/json")];

/// The real transport: HTTP(S) with a timeout per request.
pub struct HttpTransport {
    agent: ureq::Agent,
}

/// Longest one notification POST may take (Prometheus' notifier timeout).
const TIMEOUT: Duration = Duration::from_secs(10);

impl Default for HttpTransport {
    fn default() -> Self {
        Self {
            agent: ureq::Agent::config_builder()
                .http_status_as_error(false)
                .timeout_global(Some(TIMEOUT))
                .user_agent(concat!("Basin/", env!("CARGO_PKG_VERSION")))
                .build()
                .into(),
        }
    }
}

impl Transport for HttpTransport {
    fn post(&self, url: &str, headers: &[(&str, &str)], body: &[u8]) -> Result<u16, String> {
        let mut request = self.agent.post(url);
        for (k, v) in headers {
            request = request.header(*k, *v);
        }
        let mut resp = request.send(body).map_err(|e| e.to_string())?;
        // Read a little of the answer so the connection can be reused.
        let _ = resp.body_mut().with_config().limit(64 * 1024).read_to_vec();
        Ok(resp.status().as_u16())
    }
}
