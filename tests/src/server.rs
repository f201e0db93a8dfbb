//! The real natter-server, run in-process, serving the release build of the app from `dist/`.
//!
//! The shared server of a run listens on a free loopback port. A test that stops the server
//! starts its own with [`TestServer::start_on_free_port`] and can [`TestServer::restart`] it
//! on the same address, so the pages' origin (and with it their storage) stays the same.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use natter_core::signal::IceServer;

use crate::{Context, TestResult};

/// A running (or stopped, restartable) server for the tests.
#[derive(Debug)]
pub struct TestServer {
    handle: tokio::sync::Mutex<Option<natter_server::ServerHandle>>,
    config: natter_server::Config,
    addr: SocketAddr,
}

impl TestServer {
    /// Starts the server on 127.0.0.1 with a free port, serving `<workspace>/dist`.
    pub async fn start() -> TestResult<Self> {
        Self::start_with(SocketAddr::from(([127, 0, 0, 1], 0)), Vec::new()).await
    }

    /// Starts a server of its own on a free loopback port that stays its address across
    /// [`TestServer::restart`]s.
    pub async fn start_on_free_port() -> TestResult<Self> {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").ctx("finding a free port")?;
        let addr = probe.local_addr().ctx("reading the port")?;
        drop(probe);
        Self::start_with(addr, Vec::new()).await
    }

    /// Starts the server on `addr` (port 0: a free one), handing `ice_servers` to browsers
    /// through `/config`.
    pub async fn start_with(addr: SocketAddr, ice_servers: Vec<IceServer>) -> TestResult<Self> {
        Self::start_in(
            addr,
            crate::workspace_root().join("dist"),
            ice_servers,
            Vec::new(),
            natter_server::Limits::default(),
        )
        .await
    }

    /// Starts a server of its own on a free loopback port that lets pages of
    /// `embed_origins` embed the app (and command it).
    pub async fn start_embeddable(embed_origins: Vec<String>) -> TestResult<Self> {
        let addr = SocketAddr::from(([127, 0, 0, 1], 0));
        let dist = crate::workspace_root().join("dist");
        Self::start_in(
            addr,
            dist,
            Vec::new(),
            embed_origins,
            natter_server::Limits::default(),
        )
        .await
    }

    /// Starts a server of its own on a free loopback port that keeps every join code open
    /// at most `max_code_ttl`, whatever lifetime the inviter asks for (so a test can watch a
    /// code expire without waiting a minute).
    pub async fn start_with_code_ttl(max_code_ttl: Duration) -> TestResult<Self> {
        let addr = SocketAddr::from(([127, 0, 0, 1], 0));
        let dist = crate::workspace_root().join("dist");
        let limits = natter_server::Limits {
            max_code_ttl,
            ..natter_server::Limits::default()
        };
        Self::start_in(addr, dist, Vec::new(), Vec::new(), limits).await
    }

    /// Starts a server of its own on a free loopback port serving the build in `dist` (a
    /// copy a test can change, as a deploy would).
    pub async fn start_serving(dist: std::path::PathBuf) -> TestResult<Self> {
        Self::start_in(
            SocketAddr::from(([127, 0, 0, 1], 0)),
            dist,
            Vec::new(),
            Vec::new(),
            natter_server::Limits::default(),
        )
        .await
    }

    async fn start_in(
        addr: SocketAddr,
        dist: std::path::PathBuf,
        ice_servers: Vec<IceServer>,
        embed_origins: Vec<String>,
        limits: natter_server::Limits,
    ) -> TestResult<Self> {
        if !dist.join("index.html").is_file() {
            return Err(format!(
                "{} has no index.html: build the app first (`trunk build --release`, or run `./x test`)",
                dist.display()
            ));
        }
        let mut config = natter_server::Config {
            addr,
            dist,
            ice_servers,
            embed_origins,
            limits,
            ..natter_server::Config::default()
        };
        let handle = bind(&config).await?;
        let addr = handle.local_addr();
        // Restarts reuse the port the first start got.
        config.addr = addr;
        Ok(TestServer {
            handle: tokio::sync::Mutex::new(Some(handle)),
            config,
            addr,
        })
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:<port>`, without a trailing slash.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops the server gracefully (clients are told to reconnect).
    pub async fn stop(&self) -> TestResult {
        if let Some(h) = self.handle.lock().await.take() {
            h.shutdown().await.ctx("stopping natter-server")?;
        }
        Ok(())
    }

    /// Starts the server again on the same address after [`TestServer::stop`] (no-op while
    /// it runs). The server keeps nothing, so it comes back with no rooms.
    pub async fn restart(&self) -> TestResult {
        let mut handle = self.handle.lock().await;
        if handle.is_none() {
            *handle = Some(bind(&self.config).await?);
        }
        Ok(())
    }
}

/// Starts a server with `config`, retrying for a few seconds while the port is still held
/// by the previous run of the same address.
async fn bind(config: &natter_server::Config) -> TestResult<natter_server::ServerHandle> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match natter_server::Server::start(config.clone()).await {
            Ok(h) => return Ok(h),
            Err(natter_server::Error::Io(_)) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => return Err(format!("starting natter-server on {}: {e}", config.addr)),
        }
    }
}
