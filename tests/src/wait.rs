//! Waiting for something to become true in a browser, with a deadline and a useful message.

use std::future::Future;
use std::time::{Duration, Instant};

use crate::browser::POLL;
use crate::TestResult;

/// Asks `probe` again and again until it answers `Some`, and returns that.
///
/// An error from `probe` counts as "not yet" (elements go stale while the app re-renders);
/// the last one is reported if the deadline passes. `what` says what was awaited.
///
/// `probe` is a closure returning a future, written `move || async move { ... }` over
/// references (async closures would do, but their futures are not `Send` in general, and
/// test bodies must be).
pub async fn wait_until<T, F, Fut>(what: &str, timeout: Duration, mut probe: F) -> TestResult<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = TestResult<Option<T>>>,
{
    let deadline = Instant::now() + timeout;
    let mut last_error = None;
    loop {
        match probe().await {
            Ok(Some(v)) => return Ok(v),
            Ok(None) => {}
            Err(e) => last_error = Some(e),
        }
        if Instant::now() > deadline {
            let detail = last_error
                .map(|e| format!(" (last error: {e})"))
                .unwrap_or_default();
            return Err(format!("{what}: not within {timeout:?}{detail}"));
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Asks `probe` for the whole of `period` and fails as soon as it answers `Some(why)`: for
/// things that must *not* happen (a forged message showing up, a connection that must not
/// form).
pub async fn never_during<F, Fut>(period: Duration, mut probe: F) -> TestResult
where
    F: FnMut() -> Fut,
    Fut: Future<Output = TestResult<Option<String>>>,
{
    let deadline = Instant::now() + period;
    loop {
        if let Some(why) = probe().await? {
            return Err(why);
        }
        if Instant::now() > deadline {
            return Ok(());
        }
        tokio::time::sleep(POLL).await;
    }
}
