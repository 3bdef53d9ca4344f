//! TLS for the HTTP and syslog listeners (rustls): the certificate and key
//! are PEM files, read again when they change, so a renewed certificate
//! (certbot, cert-manager, a cron job) takes effect without a restart and
//! without dropping open connections, which keep their session.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::ServerConfig;
use thiserror::Error;
use tokio_rustls::TlsAcceptor;
use tracing::{info, warn};

/// How often the files' modification times are looked at, at most.
const CHECK_EVERY: Duration = Duration::from_secs(1);

/// Why a certificate or key could not be used.
#[derive(Debug, Error)]
pub enum TlsError {
    /// A file could not be read or holds no usable PEM item.
    #[error("{path}: {reason}")]
    File { path: PathBuf, reason: String },
    /// The certificate and key do not make a server configuration.
    #[error("certificate and key do not fit together: {0}")]
    Config(#[from] rustls::Error),
}

/// A certificate chain and key on disk, loaded into a TLS acceptor that is
/// rebuilt when either file changes.
pub struct ReloadingTls {
    cert: PathBuf,
    key: PathBuf,
    current: Mutex<Current>,
}

struct Current {
    acceptor: TlsAcceptor,
    stamps: (Option<SystemTime>, Option<SystemTime>),
    checked: Instant,
}

impl ReloadingTls {
    /// Loads `cert` (PEM chain) and `key` (PEM private key); fails when
    /// they cannot serve, so a bad setting stops the start, not a client.
    pub fn new(cert: &Path, key: &Path) -> Result<Arc<Self>, TlsError> {
        let acceptor = load(cert, key)?;
        Ok(Arc::new(Self {
            cert: cert.to_path_buf(),
            key: key.to_path_buf(),
            current: Mutex::new(Current {
                acceptor,
                stamps: (modified(cert), modified(key)),
                checked: Instant::now(),
            }),
        }))
    }

    /// The acceptor for a new connection, reloaded first if the files
    /// changed; a failed reload keeps the previous one (and says so).
    pub fn acceptor(&self) -> TlsAcceptor {
        let mut current = self.current.lock().unwrap_or_else(|p| p.into_inner());
        if current.checked.elapsed() >= CHECK_EVERY {
            current.checked = Instant::now();
            let stamps = (modified(&self.cert), modified(&self.key));
            if stamps != current.stamps {
                match load(&self.cert, &self.key) {
                    Ok(acceptor) => {
                        info!("TLS certificate reloaded from {}", self.cert.display());
                        current.acceptor = acceptor;
                        current.stamps = stamps;
                    }
                    // A renewal writes two files: the pair may not match
                    // for a moment. Retried at the next check.
                    Err(e) => warn!("TLS certificate not reloaded: {e}"),
                }
            }
        }
        current.acceptor.clone()
    }
}

fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

fn load(cert: &Path, key: &Path) -> Result<TlsAcceptor, TlsError> {
    let bad = |path: &Path, reason: String| TlsError::File {
        path: path.to_path_buf(),
        reason,
    };
    let chain = CertificateDer::pem_file_iter(cert)
        .map_err(|e| bad(cert, e.to_string()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| bad(cert, e.to_string()))?;
    if chain.is_empty() {
        return Err(bad(cert, "no certificate in the file".into()));
    }
    let key_der = PrivateKeyDer::from_pem_file(key).map_err(|e| bad(key, e.to_string()))?;
    let config =
        ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(chain, key_der)?;
    Ok(TlsAcceptor::from(Arc::new(config)))
}
