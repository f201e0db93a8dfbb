//! The foundation: the server is up and the app loads cleanly.

use natter_e2e::runner::Ctx;
use natter_e2e::{Context, TestResult};

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
    let status = alice.find_by_role("status", "Connection status").await?;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let text = status.text().await.ctx("reading the status line")?;
        if text == "Server reachable" {
            break;
        }
        if std::time::Instant::now() > deadline {
            return Err(format!(
                "status line says {text:?}, not \"Server reachable\""
            ));
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    alice.screenshot("home").await?;
    let errors = alice.console_errors().await?;
    if !errors.is_empty() {
        return Err(format!("console errors: {errors:?}"));
    }
    Ok(())
}
