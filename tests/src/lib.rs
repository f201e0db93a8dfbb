//! End-to-end harness: real headless Chromium driving the real Natter app and server.
//!
//! - [`netns`] puts the whole test process into a private network namespace before any
//!   browser starts, so WebRTC traffic never touches the machine's real interfaces.
//! - [`browser`] starts chromedriver and one Chromium per simulated user, finds elements by
//!   accessible role and name, types, clicks, waits, runs scripts and saves screenshots;
//!   [`scripts`] are the recorders it installs in every page (console errors, peer
//!   connections, the tamper switch).
//! - [`app`] is what a person does in Natter (create, join, post, read the log), by the UI
//!   contract's roles and names; [`wait`] waits for things with deadlines.
//! - [`a11y`] checks pages with axe-core, moves focus by keyboard, emulates phone screens and
//!   finds layout problems.
//! - [`idb`] copies what the app stored on the device; [`rtc`] reads WebRTC statistics.
//! - [`runner`] runs the tests one by one, keeps each user's profile for relaunches, and
//!   saves a screenshot of every open browser when a test fails.
//! - [`server`] runs the real server in-process (serving the release build in `dist/`,
//!   built by `./x test` before this crate runs), restartable on the same port; [`turn`]
//!   runs a coturn TURN server inside the namespace; [`site`] serves other sites' pages (an
//!   embedding host) on origins of their own.

pub mod a11y;
pub mod app;
pub mod browser;
pub mod files;
pub mod history;
pub mod http;
pub mod idb;
pub mod keeper;
pub mod netns;
pub mod rtc;
pub mod runner;
pub mod scripts;
pub mod server;
pub mod site;
pub mod turn;
pub mod wait;

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
