//! End-to-end harness: real headless Chromium driving the real Natter app and server.
//!
//! - [`netns`] puts the whole test process into a private network namespace before any
//!   browser starts, so WebRTC traffic never touches the machine's real interfaces.
//! - [`browser`] starts chromedriver and one Chromium profile per simulated user, records
//!   console errors, finds elements by accessible role and name, and saves screenshots.
//! - [`runner`] runs the tests one by one and saves a screenshot of every open browser when
//!   a test fails.
//!
//! The server runs in-process (`natter_server`), serving the release build in `dist/`
//! (built by `./x test` before this crate runs).

pub mod browser;
pub mod http;
pub mod netns;
pub mod runner;
pub mod server;

use std::path::PathBuf;

/// Any error in a test, as text: tests report what went wrong in words.
pub type TestResult<T = ()> = Result<T, String>;

/// The workspace root (parent of this crate).
pub fn workspace_root() -> PathBuf {
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    here.parent().map(PathBuf::from).unwrap_or(here)
}

/// Where screenshots and other artifacts of a run are saved.
pub fn artifacts_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("artifacts")
}

/// Turns any displayable error into the harness's error text, with context.
pub trait Context<T> {
    /// Adds `what` in front of the error.
    fn ctx(self, what: &str) -> TestResult<T>;
}

impl<T, E: std::fmt::Display> Context<T> for Result<T, E> {
    fn ctx(self, what: &str) -> TestResult<T> {
        self.map_err(|e| format!("{what}: {e}"))
    }
}
