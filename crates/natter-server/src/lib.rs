//! Natter's signaling relay and static file server.
//!
//! One process serves:
//! - the built web app from `dist/` (Trunk output) with correct MIME types, gzip/brotli
//!   compression, immutable caching of hashed assets, an SPA fallback and a strict
//!   Content-Security-Policy ([`http`]);
//! - `GET /healthz` and `GET /config` (the ICE servers for browsers, empty by default);
//! - `/ws`, the signaling WebSocket (RFC 6455) speaking the versioned JSON protocol of
//!   [`natter_core::signal`] ([`ws`]), with rooms and join-code mailboxes kept in memory
//!   only.
//!
//! The server introduces peers and relays opaque sealed blobs; it never parses a blob,
//! never writes anything to disk, and never relays across rooms. Everything a stranger
//! controls is bounded by [`Limits`], the memory of all outboxes together by
//! [`Limits::max_outbox_bytes`] ([`outbox`]). Behind a reverse proxy listed in
//! [`Config::trusted_proxies`] the per-address limit counts the forwarded client
//! address ([`proxy`]).
//!
//! # Embedding
//!
//! ```no_run
//! # async fn demo() -> Result<(), natter_server::Error> {
//! use natter_server::{Config, Server};
//! let mut config = Config::default();
//! config.addr = "127.0.0.1:0".parse().expect("a literal address");
//! let server = Server::start(config).await?;
//! println!("listening on {}", server.local_addr());
//! server.shutdown().await?; // every client gets `reconnect`, then close 1012
//! # Ok(()) }
//! ```
//!
//! Or drive it yourself with [`serve`], giving a listener and a shutdown future.

#![warn(missing_docs)]

mod codes;
pub mod config;
pub mod http;
pub mod outbox;
pub mod proxy;
mod rooms;
pub mod ws;

use std::collections::HashMap;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::serve::ListenerExt;
use tokio::net::TcpListener;
use tokio::sync::{oneshot, watch, Notify};
use tokio::task::JoinHandle;

pub use config::{Args, Config, Limits, LogFormat};

/// Everything that can stop the server from starting or running.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The configuration is inconsistent or a flag could not be parsed.
    #[error("invalid configuration: {0}")]
    InvalidConfig(String),
    /// Binding or serving the socket failed.
    #[error("server socket: {0}")]
    Io(#[from] std::io::Error),
    /// The server task ended abnormally.
    #[error("server task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
}

/// State shared by every request and connection.
#[derive(Debug)]
pub(crate) struct State {
    pub(crate) config: Config,
    pub(crate) rooms: rooms::Rooms,
    /// The join-code mailboxes.
    pub(crate) codes: Arc<codes::Codes>,
    /// The `/config` body, encoded once.
    pub(crate) client_config_json: String,
    /// Becomes `true` when the server shuts down.
    pub(crate) shutdown: watch::Receiver<bool>,
    pub(crate) connections: Connections,
    /// The bytes queued in all outboxes (`Limits::max_outbox_bytes`).
    pub(crate) outbox_budget: Arc<outbox::OutboxBudget>,
    /// Random salt for the short room tags written to logs, so logs cannot be matched
    /// against room ids from another run.
    pub(crate) log_salt: [u8; 16],
    /// CSP hashes of the inline scripts in `dist/index.html`, refreshed when it changes.
    pub(crate) inline_scripts: http::InlineScriptHashes,
}

/// Counts of open WebSocket connections, in total and per IP address.
#[derive(Debug, Default)]
pub(crate) struct Connections {
    total: AtomicUsize,
    per_ip: Mutex<HashMap<IpAddr, usize>>,
    /// Woken whenever `total` drops to zero.
    idle: Notify,
}

/// A counted connection; dropping it releases the slot.
#[derive(Debug)]
pub(crate) struct Admission {
    state: Arc<State>,
    ip: IpAddr,
}

impl Admission {
    /// The address the connection is counted under (see [`State::admit`]).
    pub(crate) fn ip(&self) -> IpAddr {
        self.ip
    }
}

impl Drop for Admission {
    fn drop(&mut self) {
        let conns = &self.state.connections;
        {
            let mut per_ip = conns.per_ip.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(n) = per_ip.get_mut(&self.ip) {
                *n -= 1;
                if *n == 0 {
                    per_ip.remove(&self.ip);
                }
            }
        }
        if conns.total.fetch_sub(1, Ordering::AcqRel) == 1 {
            conns.idle.notify_waiters();
        }
    }
}

/// The key a connection is counted under for the per-address limit.
fn address_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(std::net::Ipv6Addr::from(
                u128::from(v6) & !((1u128 << 64) - 1),
            )),
        },
    }
}

impl State {
    /// Reserves a connection slot for `ip`, or `None` when a connection limit is reached.
    /// IPv6 addresses count per /64 (one subscriber's usual allocation), and IPv4-mapped
    /// IPv6 addresses as the IPv4 address they carry.
    pub(crate) fn admit(self: &Arc<Self>, ip: IpAddr) -> Option<Admission> {
        let ip = address_key(ip);
        let limits = &self.config.limits;
        let conns = &self.connections;
        let mut per_ip = conns.per_ip.lock().unwrap_or_else(|p| p.into_inner());
        let n = per_ip.entry(ip).or_insert(0);
        if *n >= limits.max_connections_per_ip
            || conns.total.load(Ordering::Acquire) >= limits.max_connections
        {
            if *n == 0 {
                per_ip.remove(&ip);
            }
            return None;
        }
        *n += 1;
        conns.total.fetch_add(1, Ordering::AcqRel);
        Some(Admission {
            state: self.clone(),
            ip,
        })
    }

    /// Open WebSocket connections right now.
    pub(crate) fn connection_count(&self) -> usize {
        self.connections.total.load(Ordering::Acquire)
    }

    /// A short, salted, non-reversible tag for a room id, for logs only.
    pub(crate) fn room_tag(&self, room: &str) -> String {
        use sha2::Digest;
        let digest = sha2::Sha256::new()
            .chain_update(self.log_salt)
            .chain_update(room.as_bytes())
            .finalize();
        natter_core::hex::encode(&digest[..4])
    }

    /// Waits until every WebSocket connection has ended.
    async fn connections_closed(&self) {
        loop {
            let notified = self.connections.idle.notified();
            if self.connection_count() == 0 {
                return;
            }
            notified.await;
        }
    }
}

/// Runs the server on `listener` until `shutdown` completes, then closes every WebSocket
/// with `reconnect` + 1012 and returns once they are closed (or the shutdown grace period
/// of [`Limits::shutdown_grace`] has passed).
pub async fn serve(
    config: Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), Error> {
    config.validate()?;
    let client_config_json = serde_json::to_string(&natter_core::signal::ClientConfig {
        ice_servers: config.ice_servers.clone(),
        embed_origins: config.embed_origins.clone(),
        keeper: config.keeper.clone(),
    })
    .map_err(|e| Error::InvalidConfig(format!("ICE servers cannot be encoded: {e}")))?;
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut log_salt = [0u8; 16];
    rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut log_salt);
    let grace = config.limits.shutdown_grace;
    let outbox_budget = Arc::new(outbox::OutboxBudget::new(
        config.limits.max_outbox_bytes,
        config.limits.max_frame_bytes,
    ));
    let state = Arc::new(State {
        rooms: rooms::Rooms::new(config.limits.max_rooms, config.limits.max_peers_per_room),
        codes: codes::Codes::new(&config.limits),
        config,
        client_config_json,
        shutdown: stop_rx,
        connections: Connections::default(),
        outbox_budget,
        log_salt,
        inline_scripts: http::InlineScriptHashes::default(),
    });
    if !state.config.dist.join("index.html").is_file() {
        tracing::warn!(dist = %state.config.dist.display(), "the web app is not built; serving a notice instead");
    }
    let app = http::router(state.clone()).into_make_service_with_connect_info::<SocketAddr>();
    // Small signaling frames must not wait for Nagle's algorithm.
    let listener = listener.tap_io(|tcp| {
        if let Err(err) = tcp.set_nodelay(true) {
            tracing::debug!(%err, "cannot set TCP_NODELAY");
        }
    });
    let signal = async move {
        shutdown.await;
        tracing::info!("shutting down: asking clients to reconnect");
        let _ = stop_tx.send(true);
    };
    axum::serve(listener, app)
        .with_graceful_shutdown(signal)
        .await?;
    if tokio::time::timeout(grace, state.connections_closed())
        .await
        .is_err()
    {
        tracing::warn!(
            open = state.connection_count(),
            "shutdown grace period over with connections still open"
        );
    }
    tracing::info!("stopped");
    Ok(())
}

/// Starts servers in the background; see [`ServerHandle`].
#[derive(Debug)]
pub struct Server;

impl Server {
    /// Binds [`Config::addr`] and serves in a background task.
    pub async fn start(config: Config) -> Result<ServerHandle, Error> {
        let listener = TcpListener::bind(config.addr).await?;
        Self::start_on(config, listener)
    }

    /// Serves on an already bound `listener` in a background task.
    pub fn start_on(config: Config, listener: TcpListener) -> Result<ServerHandle, Error> {
        config.validate()?;
        let local_addr = listener.local_addr()?;
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(serve(config, listener, async move {
            // A dropped handle also stops the server.
            let _ = stopped.await;
        }));
        Ok(ServerHandle {
            local_addr,
            stop: Some(stop),
            task,
        })
    }
}

/// A server running in the background. Dropping it stops the server too.
#[derive(Debug)]
pub struct ServerHandle {
    local_addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<Result<(), Error>>,
}

impl ServerHandle {
    /// The address the server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The app's base URL, `http://<addr>/`.
    pub fn url(&self) -> String {
        format!("http://{}/", self.local_addr)
    }

    /// Shuts down gracefully: stops accepting, sends `reconnect` to every client, closes
    /// them with 1012, and waits for the server task to finish.
    pub async fn shutdown(mut self) -> Result<(), Error> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        (&mut self.task).await?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_addresses_are_counted_per_64_and_mapped_ipv4_as_ipv4() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1"
            .parse()
            .unwrap_or(IpAddr::from([0u8; 16]));
        let b: IpAddr = "2001:db8:1:2:bbbb::9"
            .parse()
            .unwrap_or(IpAddr::from([0u8; 16]));
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap_or(IpAddr::from([0u8; 16]));
        assert_eq!(address_key(a), address_key(b));
        assert_ne!(address_key(a), address_key(c));
        let mapped: IpAddr = "::ffff:192.0.2.7"
            .parse()
            .unwrap_or(IpAddr::from([0u8; 16]));
        assert_eq!(address_key(mapped), IpAddr::from([192, 0, 2, 7]));
    }
}
