//! The foundation: the server is up and the app loads cleanly.

use natter_e2e::runner::Ctx;
use natter_e2e::TestResult;

/// `/healthz` answers 200 on the running server.
pub async fn server_answers_healthz(ctx: Ctx) -> TestResult {
    let resp = natter_e2e::http::get(ctx.server().addr(), "/healthz").await?;
    if resp.status != 200 {
        return Err(format!("/healthz answered {}", resp.status));
    }
    Ok(())
}

/// A fresh browser opens the app, sees the home view and the server status, and the console
/// stays free of errors.
pub async fn app_loads_without_console_errors_and_shows_home(ctx: Ctx) -> TestResult {
    let alice = ctx.launch("alice").await?;
    alice.goto(&ctx.base_url()).await?;
    alice.find_by_role("heading", "Natter").await?;
    // No room is joined, so signaling is idle and the server part reads "Server reachable".
    alice
        .wait_for_status("Server reachable", std::time::Duration::from_secs(10))
        .await?;
    alice.screenshot("home").await?;
    alice.assert_no_console_errors().await?;
    Ok(())
}
