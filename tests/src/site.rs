//! Another site: static pages served from a directory on a loopback port of their own, so
//! they have an origin other than Natter's (for the embedding tests).

use std::net::SocketAddr;
use std::path::Path;

use crate::{Context, TestResult};

/// A running static site, stopped on drop.
#[derive(Debug)]
pub struct Site {
    addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Site {
    /// Serves the files under `dir` on a free loopback port.
    pub async fn serve(dir: &Path) -> TestResult<Site> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .ctx("binding a port for the site")?;
        let addr = listener.local_addr().ctx("reading the site's port")?;
        let app = axum::Router::new().fallback_service(tower_http::services::ServeDir::new(dir));
        let task = tokio::spawn(async move {
            // The site lives as long as the test; an error ends it, which the test then sees.
            let _ = axum::serve(listener, app).await;
        });
        Ok(Site { addr, task })
    }

    /// `http://127.0.0.1:<port>`, the site's origin.
    pub fn origin(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for Site {
    fn drop(&mut self) {
        self.task.abort();
    }
}
