//! Syslog sockets: UDP datagrams and TCP streams (newline or octet-counted
//! frames). A bad message is counted and logged, never fatal: the socket or
//! connection goes on with the next one.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use basin_ingest::syslog::{self, Frame, Framer, SyslogMessage};
use basin_model::TenantId;
use basin_storage::Storage;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::net::{TcpListener, UdpSocket};
use tracing::{info, warn};

use crate::tls::ReloadingTls;
use crate::AppState;

const PROTOCOL: &str = "syslog";

/// Most datagrams gathered into one append: a burst is written as one WAL group.
const UDP_BATCH: usize = 1000;

/// Waits until the store is open: messages arriving before are buffered by
/// the kernel.
async fn storage_of(state: &AppState) -> Arc<Storage> {
    loop {
        if let Ok(storage) = state.storage() {
            return storage.clone();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Parses `raw`, adding it to `batch` or counting it as rejected.
fn take(
    state: &AppState,
    raw: &[u8],
    peer: &SocketAddr,
    batch: &mut Vec<SyslogMessage>,
    rejected: &mut (u64, u64),
) {
    let limits = &state.limits.ingest;
    let raw = raw.trim_ascii_start();
    match syslog::parse(raw, &peer.ip().to_string(), limits, crate::params::now_ns()) {
        Ok(message) => batch.push(message),
        Err(e) => {
            warn!(%peer, "syslog message refused: {e}");
            rejected.0 += 1;
            rejected.1 += raw.len() as u64;
        }
    }
}

async fn store(
    state: &AppState,
    storage: &Storage,
    batch: Vec<SyslogMessage>,
    rejected: (u64, u64),
) {
    let tenant = TenantId::default_tenant();
    let mut batch = syslog::to_batch(tenant.clone(), batch);
    let dropped = state.parse(&mut batch);
    state
        .counters
        .dropped(PROTOCOL, tenant.as_str(), dropped as u64);
    let mut rejected = rejected;
    if let Some(limited) = state.limiter.admit(&mut batch, std::time::Instant::now()) {
        warn!(
            "{} syslog messages refused by {}",
            limited.lines, limited.reason
        );
        rejected.0 += limited.lines;
    }
    state.tag_patterns(&mut batch);
    let accepted = (batch.entry_count() as u64, batch.size_bytes() as u64);
    if accepted.0 > 0 {
        if let Err(e) = state.append(storage, batch).await {
            warn!("syslog messages not stored: {e}");
            state
                .counters
                .lines(PROTOCOL, tenant.as_str(), (0, 0), accepted);
            return;
        }
    }
    state
        .counters
        .lines(PROTOCOL, tenant.as_str(), accepted, rejected);
}

/// Receives datagrams, one message each, until the process ends.
pub async fn serve_udp(socket: UdpSocket, state: Arc<AppState>) {
    let storage = storage_of(&state).await;
    let mut buf = vec![0u8; 65_536];
    loop {
        let (n, peer) = match socket.recv_from(&mut buf).await {
            Ok(got) => got,
            Err(e) => {
                warn!("syslog UDP receive failed: {e}");
                continue;
            }
        };
        let mut batch = Vec::new();
        let mut rejected = (0, 0);
        take(&state, &buf[..n], &peer, &mut batch, &mut rejected);
        while batch.len() < UDP_BATCH {
            match socket.try_recv_from(&mut buf) {
                Ok((n, peer)) => take(&state, &buf[..n], &peer, &mut batch, &mut rejected),
                Err(_) => break,
            }
        }
        store(&state, &storage, batch, rejected).await;
    }
}

/// How long a TLS client may take to finish its handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Accepts connections (over TLS when `tls` is given), each read frame by
/// frame, until the process ends.
pub async fn serve_tcp(
    listener: TcpListener,
    state: Arc<AppState>,
    tls: Option<Arc<ReloadingTls>>,
) {
    let storage = storage_of(&state).await;
    loop {
        match listener.accept().await {
            Ok((stream, peer)) => {
                let state = state.clone();
                let storage = storage.clone();
                let tls = tls.as_ref().map(|t| t.acceptor());
                tokio::spawn(async move {
                    match tls {
                        None => connection(stream, peer, state, storage).await,
                        Some(acceptor) => {
                            match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream))
                                .await
                            {
                                Ok(Ok(stream)) => connection(stream, peer, state, storage).await,
                                Ok(Err(e)) => info!(%peer, "syslog TLS handshake failed: {e}"),
                                Err(_) => info!(%peer, "syslog TLS handshake timed out"),
                            }
                        }
                    }
                });
            }
            Err(e) => {
                warn!("syslog TCP accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

async fn connection<S: AsyncRead + Unpin>(
    mut stream: S,
    peer: SocketAddr,
    state: Arc<AppState>,
    storage: Arc<Storage>,
) {
    // A frame may hold a little framing around the longest accepted line.
    let max_line = state.limits.ingest.max_line_size_bytes;
    let mut framer = Framer::new(max_line + 1024);
    let mut buf = vec![0u8; 65_536];
    loop {
        let n = match stream.read(&mut buf).await {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) => {
                info!(%peer, "syslog connection closed: {e}");
                break;
            }
        };
        framer.push(&buf[..n]);
        let mut batch = Vec::new();
        let mut rejected = (0, 0);
        while let Some(frame) = framer.next_frame() {
            match frame {
                // Stack traces written line by line join their message.
                Frame::Message(raw) if syslog::join_continuation(&mut batch, &raw, max_line) => {}
                Frame::Message(raw) => take(&state, &raw, &peer, &mut batch, &mut rejected),
                Frame::Skipped(why) => {
                    warn!(%peer, "syslog frame skipped: {why}");
                    rejected.0 += 1;
                }
            }
        }
        if !batch.is_empty() || rejected.0 > 0 {
            store(&state, &storage, batch, rejected).await;
        }
    }
    // A last message without its newline still counts.
    framer.push(b"\n");
    let mut batch = Vec::new();
    let mut rejected = (0, 0);
    while let Some(frame) = framer.next_frame() {
        if let Frame::Message(raw) = frame {
            if !syslog::join_continuation(&mut batch, &raw, max_line) {
                take(&state, &raw, &peer, &mut batch, &mut rejected);
            }
        }
    }
    if !batch.is_empty() || rejected.0 > 0 {
        store(&state, &storage, batch, rejected).await;
    }
}
