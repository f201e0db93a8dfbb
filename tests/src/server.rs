//! The real natter-server, run in-process on a free loopback port, serving the release build
//! of the app from `dist/`.

use std::net::SocketAddr;

use crate::{Context, TestResult};

/// A running server for the tests.
#[derive(Debug)]
pub struct TestServer {
    handle: tokio::sync::Mutex<Option<natter_server::ServerHandle>>,
    addr: SocketAddr,
}

impl TestServer {
    /// Starts the server on 127.0.0.1 with a free port, serving `<workspace>/dist`.
    pub async fn start() -> TestResult<Self> {
        let dist = crate::workspace_root().join("dist");
        if !dist.join("index.html").is_file() {
            return Err(format!(
                "{} has no index.html: build the app first (`trunk build --release`, or run `./x test`)",
                dist.display()
            ));
        }
        let config = natter_server::Config {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            dist,
            ..natter_server::Config::default()
        };
        let handle = natter_server::Server::start(config)
            .await
            .ctx("starting natter-server")?;
        let addr = handle.local_addr();
        Ok(TestServer {
            handle: tokio::sync::Mutex::new(Some(handle)),
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
}
