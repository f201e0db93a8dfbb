//! natter-keeper: a native Natter peer that members invite into a room so its history stays
//! available when nobody else is online (the design's "virtual client").
//!
//! # What
//!
//! The keeper drives natter-core's [`natter_core::node::Node`] like the browser app does,
//! with str0m for WebRTC ([`rtc`], what it sends to each browser spread out by [`pacer`]),
//! a few WebSockets to the signaling server ([`signaling`]) and redb for its history
//! ([`store`]). It is a member by invitation: a
//! person hands it a room's invite sealed to its key through its [`mailbox`]; it shows up in
//! the room under its own key and name, cannot forge anyone's entries (they are signed), and
//! deletes its copy when a member's signed entry says it no longer keeps the room.
//!
//! It keeps the files its rooms name too ([`files`]): it fetches each one on the second
//! DataChannel, stores its chunks with their proofs, and serves them to members who come
//! when the sender is gone. A file goes when the last room it keeps that names it goes.
//!
//! # Bounds
//!
//! | what | bound |
//! |---|---|
//! | rooms kept | [`Config::max_rooms`] (invitations past it are refused) |
//! | bytes stored | [`Config::max_bytes`]: entries and files, all rooms together (invitations past it are refused; rooms kept grow on) |
//! | a file | counted at its whole length from its fetch on, once however many rooms name it; one that does not fit the budget is not fetched (logged with its length, never its name) |
//! | files fetched at once | natter-core's `MAX_FETCHES`; the others wait for one to end |
//! | connections per room | [`Config::max_peers_per_room`] |
//! | rooms per signaling socket | [`Config::rooms_per_socket`] (the server's own limit) |
//! | everything a peer sends | natter-core's bounds, and [`rtc`]'s |
//! | bytes sent to a peer | [`Config::pace`] per second, after a burst of [`PACE_BURST`]; what waits longer is bounded by [`pacer`] |

pub mod driver;
pub mod files;
pub mod mailbox;
pub mod pacer;
pub mod rtc;
pub mod signaling;
pub mod store;
pub mod usage;

use std::net::{IpAddr, SocketAddr, UdpSocket as StdUdpSocket};
use std::path::PathBuf;

/// How a keeper runs.
#[derive(Debug, Clone)]
pub struct Config {
    /// The Natter server (`http://host:port`; `ws://` and `https://` work too).
    pub server: String,
    /// Where the store lives.
    pub data: PathBuf,
    /// The UDP address to listen on for WebRTC.
    pub udp: SocketAddr,
    /// The address browsers reach that socket at; by default the bound address, or the
    /// address this host uses towards the server.
    pub advertise: Option<IpAddr>,
    /// The name members see.
    pub name: String,
    /// Rooms kept at most.
    pub max_rooms: usize,
    /// Connections per room at most.
    pub max_peers_per_room: usize,
    /// Rooms joined per signaling socket.
    pub rooms_per_socket: usize,
    /// Bytes of entries and files stored, all rooms together, past which invitations are
    /// refused and files are not fetched.
    pub max_bytes: u64,
    /// Invite links of rooms to keep (rooms without a password).
    pub keep: Vec<String>,
    /// Bytes per second sent to one peer at most, after a burst of [`PACE_BURST`] (see
    /// [`pacer`]).
    pub pace: u64,
}

/// Bytes a peer may be sent at once before pacing spreads the rest (about 20 datagrams:
/// well inside a browser's UDP receive buffer).
pub const PACE_BURST: u64 = 24 * 1024;

impl Config {
    /// The signaling WebSocket's URL.
    pub fn ws_url(&self) -> String {
        let base = self.server.trim_end_matches('/');
        let base = if let Some(rest) = base.strip_prefix("https://") {
            format!("wss://{rest}")
        } else if let Some(rest) = base.strip_prefix("http://") {
            format!("ws://{rest}")
        } else {
            base.to_owned()
        };
        let base = base
            .strip_suffix(natter_core::signal::WS_PATH)
            .unwrap_or(&base)
            .to_owned();
        format!("{base}{}", natter_core::signal::WS_PATH)
    }

    /// The IP address announced to browsers.
    fn announced_ip(&self, bound: SocketAddr) -> IpAddr {
        if let Some(ip) = self.advertise {
            return ip;
        }
        if !bound.ip().is_unspecified() {
            return bound.ip();
        }
        // The address of the route towards the server (a UDP connect sends nothing).
        let host = self
            .ws_url()
            .split("://")
            .nth(1)
            .and_then(|rest| rest.split('/').next())
            .map(str::to_owned);
        host.and_then(|h| {
            let h = if h.contains(':') {
                h
            } else {
                format!("{h}:80")
            };
            let probe = StdUdpSocket::bind((bound.ip(), 0)).ok()?;
            probe.connect(h).ok()?;
            probe.local_addr().ok().map(|a| a.ip())
        })
        .unwrap_or(bound.ip())
    }
}

/// Runs a keeper until the process is stopped. Prints its key first.
pub async fn run(config: Config) -> Result<(), String> {
    str0m::crypto::from_feature_flags().install_process_default();
    std::fs::create_dir_all(&config.data)
        .map_err(|e| format!("creating {}: {e}", config.data.display()))?;
    let store = store::Store::open(&config.data.join("keeper.redb")).map_err(|e| e.to_string())?;
    let socket = tokio::net::UdpSocket::bind(config.udp)
        .await
        .map_err(|e| format!("binding UDP {}: {e}", config.udp))?;
    let bound = socket.local_addr().map_err(|e| e.to_string())?;
    let local = SocketAddr::new(config.announced_ip(bound), bound.port());
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let mut driver = driver::Driver::new(config, store, socket, local, tx)?;
    tracing::info!(
        key = %driver.node.me().to_text(),
        udp = %local,
        server = %driver.config.server,
        "keeper started"
    );
    driver.start()?;
    driver.run(rx).await;
    Ok(())
}

/// The keeper's key (as members paste it), made on first use.
pub fn key(data: &std::path::Path) -> Result<String, String> {
    std::fs::create_dir_all(data).map_err(|e| format!("creating {}: {e}", data.display()))?;
    let store = store::Store::open(&data.join("keeper.redb")).map_err(|e| e.to_string())?;
    Ok(store
        .identity()
        .map_err(|e| e.to_string())?
        .public()
        .to_text())
}
