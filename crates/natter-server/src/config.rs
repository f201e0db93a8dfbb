//! Server configuration: [`Config`] for embedding, [`Args`] for the command line.
//!
//! Every field of [`Config`] can be set in code; [`Args`] (clap) converts into it with
//! [`Args::into_config`]. Defaults are safe for the public internet: loopback bind, empty
//! ICE server list, no embedding origins (`frame-ancestors 'self'`), and bounded limits (see [`Limits`]).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use natter_core::signal::IceServer;

use crate::proxy::IpCidr;
use crate::Error;

/// Everything a running server needs to know.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where [`crate::Server::start`] listens. Ignored by [`crate::serve`], which is given a
    /// listener. Default `127.0.0.1:8080`.
    pub addr: SocketAddr,
    /// Directory of the built web app (Trunk's `dist/`). Default `dist`.
    pub dist: PathBuf,
    /// ICE servers handed to browsers by `GET /config`. Empty by default.
    pub ice_servers: Vec<IceServer>,
    /// Origins (`https://host[:port]`) of pages allowed to embed the app in a frame, besides
    /// the server's own. The one list behind both the CSP `frame-ancestors` directive and the
    /// app's check of `postMessage` commands (it reaches the app through `/config`). Default:
    /// none, so only the server's own pages may frame the app.
    pub embed_origins: Vec<String>,
    /// A keeper run beside this server, offered to members in `/config`. Default: none.
    pub keeper: Option<natter_core::signal::KeeperInfo>,
    /// Extra page origins (e.g. `https://chat.example.org`) whose scripts may open `/ws`,
    /// besides the server's own origin; `*` allows any. Requests without an `Origin` header
    /// (not from a browser) are always allowed. Default: none, so only pages served by this
    /// server can use its relay.
    pub allowed_origins: Vec<String>,
    /// Reverse proxies (addresses or CIDR blocks) whose `X-Forwarded-For` header names the
    /// client: only on connections from these does the per-address limit count the address
    /// the header gives instead of the TCP peer (rule and bounds in [`crate::proxy`]).
    /// Default: none, so the header is never read.
    pub trusted_proxies: Vec<IpCidr>,
    /// Limits on what a client may do.
    pub limits: Limits,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            addr: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 8080),
            dist: PathBuf::from("dist"),
            ice_servers: Vec::new(),
            embed_origins: Vec::new(),
            keeper: None,
            allowed_origins: Vec::new(),
            trusted_proxies: Vec::new(),
            limits: Limits::default(),
        }
    }
}

/// Limits on everything a client controls. Breaking one yields a typed error frame, and for
/// hard violations a close code (see `natter_core::signal::CloseCode`).
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest accepted WebSocket frame or message, in bytes. Larger: `frame_too_large`,
    /// close 1009.
    pub max_frame_bytes: usize,
    /// Sustained frames per second per connection (token bucket refill rate).
    pub frames_per_sec: u32,
    /// Frames a connection may send in a burst (token bucket size).
    pub frame_burst: u32,
    /// Frames a connection may keep sending after `rate_limited` before it is closed (4002).
    pub flood_tolerance: u32,
    /// Members per room. More: `room_full`.
    pub max_peers_per_room: usize,
    /// Rooms one connection may be in at once. More: `too_many_rooms`.
    pub max_rooms_per_connection: usize,
    /// Rooms on the whole server. More: `server_full`.
    pub max_rooms: usize,
    /// Open WebSocket connections from one IP address (an IPv6 address counts per /64;
    /// behind a trusted proxy, the forwarded client address). More: close 4003.
    pub max_connections_per_ip: usize,
    /// Open WebSocket connections in total. More: close 4003.
    pub max_connections: usize,
    /// Time from upgrade to the first `join`. Longer: close 4000.
    pub handshake_timeout: Duration,
    /// Time without any frame from the client (pongs count). Longer: close 4001.
    pub idle_timeout: Duration,
    /// Interval of the server's WebSocket pings.
    pub ping_interval: Duration,
    /// Messages queued for one connection before it counts as a slow consumer (close 4004).
    pub outbox_capacity: usize,
    /// Bytes queued in all outboxes together; a message beyond it closes its recipient as a
    /// slow consumer (4004), with a quarter kept for connections that keep up (rule in
    /// [`crate::outbox`]). Default: an eighth of the machine's memory, clamped to
    /// 64 MiB..4 GiB ([`crate::outbox::default_budget`]). At least 4 × `max_frame_bytes`.
    pub max_outbox_bytes: usize,
    /// Longest time one write to a client may take before the connection is dropped.
    pub send_timeout: Duration,
    /// Base delay announced in `reconnect` on shutdown; each client gets it plus up to the
    /// same again in random jitter, so reconnects are spread out.
    pub reconnect_after: Duration,
    /// How long a graceful shutdown waits for connections to close.
    pub shutdown_grace: Duration,
    /// Join-code mailboxes one connection may own at once. More: `too_many_codes`.
    pub max_codes_per_connection: usize,
    /// Join-code mailboxes the connections from one address (counted as for
    /// `max_connections_per_ip`) may own at once. More: `too_many_codes`.
    pub max_codes_per_ip: usize,
    /// Join-code mailboxes on the whole server. More: `too_many_codes`. At most
    /// [`MAX_CODES_LIMIT`].
    pub max_codes: usize,
    /// Longest lifetime of a join-code mailbox; a longer `ttl_ms` in `code_open` is cut to
    /// it (and `code_opened` says so). Positive and at most [`MAX_CODE_TTL_LIMIT`].
    pub max_code_ttl: Duration,
    /// `code_claim`s one address may send per minute (a token bucket: this many at once,
    /// then this many a minute; rule and the bound on remembered addresses in
    /// `crate::codes`). More: `too_many_tries`.
    pub code_claims_per_minute: u32,
}

/// The largest accepted [`Limits::max_codes`]: 50,000, about half of the five-digit mailbox
/// numbers `1000..=99999`, so that a free number is found in two draws on average.
pub const MAX_CODES_LIMIT: usize = 50_000;

/// The largest accepted [`Limits::max_code_ttl`]: 30 days.
pub const MAX_CODE_TTL_LIMIT: Duration = Duration::from_secs(30 * 24 * 3600);

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_frame_bytes: 64 * 1024,
            frames_per_sec: 20,
            frame_burst: 60,
            flood_tolerance: 100,
            max_peers_per_room: 32,
            max_rooms_per_connection: 8,
            max_rooms: 100_000,
            max_connections_per_ip: 32,
            max_connections: 50_000,
            handshake_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            ping_interval: Duration::from_secs(20),
            outbox_capacity: 64,
            max_outbox_bytes: crate::outbox::default_budget(),
            send_timeout: Duration::from_secs(10),
            reconnect_after: Duration::from_millis(1000),
            shutdown_grace: Duration::from_secs(5),
            max_codes_per_connection: 4,
            max_codes_per_ip: 16,
            max_codes: 10_000,
            max_code_ttl: Duration::from_secs(24 * 3600),
            code_claims_per_minute: 10,
        }
    }
}

/// Command-line flags of `natter-server`.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "natter-server",
    version,
    about = "Natter's signaling relay and static file server"
)]
pub struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1", env = "NATTER_BIND")]
    pub bind: IpAddr,
    /// Port to listen on (0 picks a free one).
    #[arg(long, default_value_t = 8080, env = "NATTER_PORT")]
    pub port: u16,
    /// Directory of the built web app.
    #[arg(long, default_value = "dist", env = "NATTER_DIST")]
    pub dist: PathBuf,
    /// ICE servers for browsers, as a JSON array of RTCIceServer objects,
    /// e.g. '[{"urls":"turn:turn.example.org:3478","username":"u","credential":"c"}]'.
    #[arg(long, env = "NATTER_ICE_SERVERS")]
    pub ice_servers: Option<String>,
    /// Origins of pages allowed to embed the app in a frame and to command it by postMessage,
    /// comma-separated or given one per flag (e.g. `--embed-origin https://blog.example.org`).
    #[arg(
        long,
        visible_alias = "embed-origin",
        value_delimiter = ',',
        env = "NATTER_EMBED_ORIGINS"
    )]
    pub embed_origins: Vec<String>,
    /// The key of a keeper run beside this server (`natter-keeper --print-key`), offered to
    /// members who want a room kept.
    #[arg(long, env = "NATTER_KEEPER_KEY")]
    pub keeper_key: Option<String>,
    /// The name that keeper goes by.
    #[arg(long, default_value = "Keeper", env = "NATTER_KEEPER_NAME")]
    pub keeper_name: String,
    /// Other page origins allowed to open /ws, comma-separated (e.g. `https://chat.example.org`), or `*`.
    #[arg(long, value_delimiter = ',', env = "NATTER_ALLOWED_ORIGINS")]
    pub allowed_origins: Vec<String>,
    /// A reverse proxy whose X-Forwarded-For header gives the client's address, as an IP
    /// address or CIDR block (e.g. `127.0.0.1`, `10.0.0.0/8`); repeatable or comma-separated.
    /// From other peers the header is ignored.
    #[arg(
        long = "trusted-proxy",
        value_name = "IP or CIDR",
        value_delimiter = ',',
        env = "NATTER_TRUSTED_PROXIES"
    )]
    pub trusted_proxies: Vec<String>,
    /// Log format.
    #[arg(long, value_enum, default_value = "text", env = "NATTER_LOG_FORMAT")]
    pub log_format: LogFormat,
    /// Largest accepted frame, bytes.
    #[arg(long, default_value_t = Limits::default().max_frame_bytes)]
    pub max_frame_bytes: usize,
    /// Sustained frames per second per connection.
    #[arg(long, default_value_t = Limits::default().frames_per_sec)]
    pub frames_per_sec: u32,
    /// Burst of frames per connection.
    #[arg(long, default_value_t = Limits::default().frame_burst)]
    pub frame_burst: u32,
    /// Frames tolerated after `rate_limited` before closing.
    #[arg(long, default_value_t = Limits::default().flood_tolerance)]
    pub flood_tolerance: u32,
    /// Members per room.
    #[arg(long, default_value_t = Limits::default().max_peers_per_room)]
    pub max_peers_per_room: usize,
    /// Rooms per connection.
    #[arg(long, default_value_t = Limits::default().max_rooms_per_connection)]
    pub max_rooms_per_connection: usize,
    /// Rooms on the server.
    #[arg(long, default_value_t = Limits::default().max_rooms)]
    pub max_rooms: usize,
    /// WebSocket connections per IP address.
    #[arg(long, default_value_t = Limits::default().max_connections_per_ip)]
    pub max_connections_per_ip: usize,
    /// WebSocket connections in total.
    #[arg(long, default_value_t = Limits::default().max_connections)]
    pub max_connections: usize,
    /// Seconds from connect to the first join.
    #[arg(long, default_value_t = Limits::default().handshake_timeout.as_secs_f64())]
    pub handshake_timeout_secs: f64,
    /// Seconds without any frame before a connection is closed.
    #[arg(long, default_value_t = Limits::default().idle_timeout.as_secs_f64())]
    pub idle_timeout_secs: f64,
    /// Seconds between server pings.
    #[arg(long, default_value_t = Limits::default().ping_interval.as_secs_f64())]
    pub ping_interval_secs: f64,
    /// Messages queued per connection before it is dropped as too slow.
    #[arg(long, default_value_t = Limits::default().outbox_capacity)]
    pub outbox_capacity: usize,
    /// Bytes queued in all outboxes together [default: an eighth of memory, 64 MiB..4 GiB].
    #[arg(long)]
    pub max_outbox_bytes: Option<usize>,
    /// Longest lifetime of a join code, in seconds (longer requests are cut to it).
    #[arg(
        long,
        value_name = "seconds",
        default_value_t = Limits::default().max_code_ttl.as_secs(),
        env = "NATTER_MAX_CODE_TTL"
    )]
    pub max_code_ttl: u64,
}

/// How logs are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// Turns a number of seconds from the command line into a duration, refusing nonsense.
fn secs(name: &'static str, value: f64) -> Result<Duration, Error> {
    Duration::try_from_secs_f64(value).map_err(|_| {
        Error::InvalidConfig(format!("{name} must be a non-negative number of seconds"))
    })
}

/// Parses the `--ice-servers` JSON.
pub fn parse_ice_servers(json: &str) -> Result<Vec<IceServer>, Error> {
    serde_json::from_str(json).map_err(|e| {
        Error::InvalidConfig(format!(
            "--ice-servers is not a JSON array of ICE servers: {e}"
        ))
    })
}

impl Args {
    /// Converts the flags into a [`Config`], validating them.
    pub fn into_config(self) -> Result<Config, Error> {
        let ice_servers = match self.ice_servers.as_deref().map(str::trim) {
            None | Some("") => Vec::new(),
            Some(json) => parse_ice_servers(json)?,
        };
        let limits = Limits {
            max_frame_bytes: self.max_frame_bytes,
            frames_per_sec: self.frames_per_sec,
            frame_burst: self.frame_burst,
            flood_tolerance: self.flood_tolerance,
            max_peers_per_room: self.max_peers_per_room,
            max_rooms_per_connection: self.max_rooms_per_connection,
            max_rooms: self.max_rooms,
            max_connections_per_ip: self.max_connections_per_ip,
            max_connections: self.max_connections,
            handshake_timeout: secs("--handshake-timeout-secs", self.handshake_timeout_secs)?,
            idle_timeout: secs("--idle-timeout-secs", self.idle_timeout_secs)?,
            ping_interval: secs("--ping-interval-secs", self.ping_interval_secs)?,
            outbox_capacity: self.outbox_capacity,
            max_outbox_bytes: self
                .max_outbox_bytes
                .unwrap_or_else(crate::outbox::default_budget),
            max_code_ttl: Duration::from_secs(self.max_code_ttl),
            ..Limits::default()
        };
        let trusted_proxies = self
            .trusted_proxies
            .iter()
            .map(|p| p.trim())
            .filter(|p| !p.is_empty())
            .map(|p| {
                p.parse::<IpCidr>()
                    .map_err(|e| Error::InvalidConfig(format!("--trusted-proxy: {e}")))
            })
            .collect::<Result<_, _>>()?;
        let keeper = match self.keeper_key.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(key) => {
                natter_core::identity::PublicKey::from_text(key)
                    .map_err(|e| Error::InvalidConfig(format!("--keeper-key: {e}")))?;
                natter_core::hello::validate_display_name(self.keeper_name.trim())
                    .map_err(|e| Error::InvalidConfig(format!("--keeper-name: {e}")))?;
                Some(natter_core::signal::KeeperInfo {
                    key: key.to_owned(),
                    name: self.keeper_name.trim().to_owned(),
                })
            }
        };
        let config = Config {
            addr: SocketAddr::new(self.bind, self.port),
            keeper,
            dist: self.dist,
            ice_servers,
            embed_origins: self
                .embed_origins
                .into_iter()
                .map(|o| o.trim().trim_end_matches('/').to_owned())
                .filter(|o| !o.is_empty())
                .collect(),
            allowed_origins: self
                .allowed_origins
                .into_iter()
                .map(|o| o.trim().trim_end_matches('/').to_owned())
                .collect(),
            trusted_proxies,
            limits,
        };
        config.validate()?;
        Ok(config)
    }
}

impl Config {
    /// Checks that the configuration makes sense; [`crate::serve`] calls this too.
    pub fn validate(&self) -> Result<(), Error> {
        let l = &self.limits;
        let positive = [
            ("max_frame_bytes", l.max_frame_bytes),
            ("frames_per_sec", l.frames_per_sec as usize),
            ("frame_burst", l.frame_burst as usize),
            ("max_peers_per_room", l.max_peers_per_room),
            ("max_rooms_per_connection", l.max_rooms_per_connection),
            ("max_rooms", l.max_rooms),
            ("max_connections_per_ip", l.max_connections_per_ip),
            ("max_connections", l.max_connections),
            ("outbox_capacity", l.outbox_capacity),
            ("max_codes_per_connection", l.max_codes_per_connection),
            ("max_codes_per_ip", l.max_codes_per_ip),
            ("max_codes", l.max_codes),
            ("code_claims_per_minute", l.code_claims_per_minute as usize),
        ];
        for (name, value) in positive {
            if value == 0 {
                return Err(Error::InvalidConfig(format!("{name} must be at least 1")));
            }
        }
        if l.max_outbox_bytes / 4 < l.max_frame_bytes {
            return Err(Error::InvalidConfig(format!(
                "max_outbox_bytes ({}) must be at least 4 × max_frame_bytes, {}, so that \
                 a message of the largest size always fits",
                l.max_outbox_bytes,
                l.max_frame_bytes.saturating_mul(4)
            )));
        }
        if l.max_codes > MAX_CODES_LIMIT {
            return Err(Error::InvalidConfig(format!(
                "max_codes must be at most {}",
                MAX_CODES_LIMIT
            )));
        }
        if l.max_code_ttl.is_zero() || l.max_code_ttl > MAX_CODE_TTL_LIMIT {
            return Err(Error::InvalidConfig(format!(
                "the longest code lifetime (--max-code-ttl) must be positive and at most {} s",
                MAX_CODE_TTL_LIMIT.as_secs()
            )));
        }
        if l.ping_interval.is_zero() || l.idle_timeout.is_zero() || l.handshake_timeout.is_zero() {
            return Err(Error::InvalidConfig(
                "timeouts and the ping interval must be positive".into(),
            ));
        }
        // Each origin ends up in a CSP header and in the app's postMessage check: only plain
        // `scheme://host[:port]` origins, which cannot end a directive or widen the list.
        for origin in &self.embed_origins {
            if !is_plain_origin(origin) {
                return Err(Error::InvalidConfig(format!(
                    "embed origin {origin:?} is not of the form https://host[:port]"
                )));
            }
        }
        Ok(())
    }

    /// The CSP `frame-ancestors` sources: the server itself and [`Config::embed_origins`].
    pub fn frame_ancestors(&self) -> String {
        let mut sources = "'self'".to_owned();
        for o in &self.embed_origins {
            sources.push(' ');
            sources.push_str(o);
        }
        sources
    }
}

/// `http(s)://host[:port]` with a DNS name, IPv4 or bracketed IPv6 host and nothing else.
pub fn is_plain_origin(origin: &str) -> bool {
    let Some(authority) = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"))
    else {
        return false;
    };
    let (host_ok, port) = if let Some(rest) = authority.strip_prefix('[') {
        let Some((v6, after)) = rest.split_once(']') else {
            return false;
        };
        let ok = !v6.is_empty() && v6.chars().all(|c| c.is_ascii_hexdigit() || c == ':');
        match after {
            "" => (ok, None),
            _ => match after.strip_prefix(':') {
                Some(p) => (ok, Some(p)),
                None => return false,
            },
        }
    } else {
        let (host, port) = match authority.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        };
        let ok = !host.is_empty()
            && host.len() <= 253
            && host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-');
        (ok, port)
    };
    let port_ok = port.is_none_or(|p| !p.is_empty() && p.len() <= 5 && p.parse::<u16>().is_ok());
    host_ok && port_ok
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_default_to_a_loopback_server_without_ice_servers() {
        let config = Args::parse_from(["natter-server"]).into_config();
        let config = config.ok();
        assert_eq!(
            config.as_ref().map(|c| c.addr.to_string()),
            Some("127.0.0.1:8080".into())
        );
        assert_eq!(config.as_ref().map(|c| c.ice_servers.len()), Some(0));
        assert_eq!(
            config.as_ref().map(Config::frame_ancestors),
            Some("'self'".into())
        );
        assert_eq!(config.map(|c| c.embed_origins.len()), Some(0));
    }

    #[test]
    fn a_keeper_is_offered_only_with_a_valid_key_and_name() {
        let key = natter_core::identity::Identity::from_secret_bytes(&[7; 32])
            .public()
            .to_text();
        let config = Args::parse_from(["natter-server", "--keeper-key", &key]).into_config();
        assert_eq!(
            config.ok().and_then(|c| c.keeper),
            Some(natter_core::signal::KeeperInfo {
                key: key.clone(),
                name: "Keeper".into()
            })
        );
        let none = Args::parse_from(["natter-server"]).into_config();
        assert_eq!(none.ok().map(|c| c.keeper), Some(None));
        for bad in [
            vec!["--keeper-key", "not a key"],
            vec!["--keeper-key", &key, "--keeper-name", "   "],
        ] {
            let args = Args::parse_from(std::iter::once("natter-server").chain(bad.clone()));
            assert!(
                matches!(args.into_config(), Err(Error::InvalidConfig(_))),
                "{bad:?} was accepted"
            );
        }
    }

    #[test]
    fn bad_ice_server_json_is_refused() {
        let args = Args::parse_from(["natter-server", "--ice-servers", "{nope"]);
        assert!(matches!(args.into_config(), Err(Error::InvalidConfig(_))));
    }

    #[test]
    fn embed_origins_cannot_inject_csp_directives_or_widen_the_list() {
        for bad in [
            "'self'; script-src *",
            "*",
            "https://*.example.org",
            "https://example.org/path",
            "https://example.org:99999",
            "javascript:alert(1)",
            "https://exa mple.org",
            "https://a.org https://b.org",
        ] {
            let args = Args::parse_from(["natter-server", "--embed-origins", bad]);
            assert!(
                matches!(args.into_config(), Err(Error::InvalidConfig(_))),
                "{bad:?} was accepted"
            );
        }
    }

    #[test]
    fn embed_origins_make_the_frame_ancestors() {
        let args = Args::parse_from([
            "natter-server",
            "--embed-origins",
            "https://blog.example.org,http://127.0.0.1:8081/,https://[::1]:9000",
        ]);
        let config = args.into_config().ok();
        assert_eq!(
            config.as_ref().map(Config::frame_ancestors),
            Some("'self' https://blog.example.org http://127.0.0.1:8081 https://[::1]:9000".into())
        );
    }

    #[test]
    fn embed_origins_can_be_given_one_per_flag() {
        let args = Args::parse_from([
            "natter-server",
            "--embed-origin",
            "https://a.example",
            "--embed-origin",
            "http://127.0.0.1:9001",
            "--embed-origins",
            "https://b.example",
        ]);
        let config = args.into_config().ok();
        assert_eq!(
            config.as_ref().map(|c| c.embed_origins.clone()),
            Some(vec![
                "https://a.example".to_owned(),
                "http://127.0.0.1:9001".to_owned(),
                "https://b.example".to_owned(),
            ])
        );
        assert_eq!(
            config.as_ref().map(Config::frame_ancestors),
            Some("'self' https://a.example http://127.0.0.1:9001 https://b.example".into())
        );
        let bad = Args::parse_from([
            "natter-server",
            "--embed-origin",
            "https://a.example",
            "--embed-origin",
            "https://b.example; script-src *",
        ]);
        assert!(matches!(bad.into_config(), Err(Error::InvalidConfig(_))));
    }

    #[test]
    fn the_outbox_budget_defaults_to_the_machines_share_and_must_hold_four_frames() {
        let default = Args::parse_from(["natter-server"]).into_config();
        assert_eq!(
            default.ok().map(|c| c.limits.max_outbox_bytes),
            Some(crate::outbox::default_budget())
        );
        let set = Args::parse_from(["natter-server", "--max-outbox-bytes", "1048576"]);
        assert_eq!(
            set.into_config().ok().map(|c| c.limits.max_outbox_bytes),
            Some(1 << 20)
        );
        let tiny = Args::parse_from(["natter-server", "--max-outbox-bytes", "100000"]);
        assert!(
            matches!(tiny.into_config(), Err(Error::InvalidConfig(m)) if m.contains("max_outbox_bytes"))
        );
    }

    #[test]
    fn the_code_lifetime_flag_is_in_seconds_and_must_be_positive_and_bounded() {
        let default = Args::parse_from(["natter-server"]).into_config();
        assert_eq!(
            default.ok().map(|c| c.limits.max_code_ttl),
            Some(Duration::from_secs(86_400))
        );
        let set = Args::parse_from(["natter-server", "--max-code-ttl", "600"]);
        assert_eq!(
            set.into_config().ok().map(|c| c.limits.max_code_ttl),
            Some(Duration::from_secs(600))
        );
        for bad in ["0", "2592001", "18446744073709551615"] {
            let args = Args::parse_from(["natter-server", "--max-code-ttl", bad]);
            assert!(
                matches!(args.into_config(), Err(Error::InvalidConfig(m)) if m.contains("max-code-ttl")),
                "{bad} was accepted"
            );
        }
        let mut config = Config::default();
        config.limits.max_codes = MAX_CODES_LIMIT + 1;
        assert!(matches!(config.validate(), Err(Error::InvalidConfig(_))));
        config.limits.max_codes = 0;
        assert!(matches!(config.validate(), Err(Error::InvalidConfig(_))));
    }

    #[test]
    fn zero_limits_are_refused() {
        let args = Args::parse_from(["natter-server", "--max-peers-per-room", "0"]);
        assert!(matches!(args.into_config(), Err(Error::InvalidConfig(_))));
    }
}
