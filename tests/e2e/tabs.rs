//! One tab at a time: a second tab of the app on one device says the app is open in
//! another tab and loads nothing; its **Use here** (by keyboard) moves the app to it and
//! stops the first tab; when that tab closes, the first starts again by itself. Messages
//! posted from each tab in turn reach a peer as one unbroken history.

use natter_e2e::app::DELIVERY_TIMEOUT;
use natter_e2e::browser::Browser;
use natter_e2e::runner::Ctx;
use natter_e2e::{Context as _, TestResult};
use thirtyfour::prelude::Key;

use crate::setup::user;

const ELSEWHERE: &str = "Natter is open in another tab";

pub async fn one_tab_runs_the_app_at_a_time(ctx: Ctx) -> TestResult {
    let base = ctx.base_url();
    let alice = user(&ctx, &base, "alice", "Alice").await?;
    let room = alice.create_named_room("Two tabs").await?;
    alice.post("from the first tab").await?;
    let wd = alice.wd();
    let first = wd.window().await.ctx("reading the first tab")?;

    // A second tab waits, shows nothing of the app, and says why.
    let second = wd.new_tab().await.ctx("opening a second tab")?;
    wd.switch_to_window(second.clone())
        .await
        .ctx("switching to the second tab")?;
    alice.goto(&format!("{base}/#/room/{}", room.id)).await?;
    alice
        .find_by_role_for("heading", ELSEWHERE, DELIVERY_TIMEOUT)
        .await?;
    if alice.try_find_by_role("link", "Settings").await?.is_some()
        || alice
            .try_find_message("from the first tab")
            .await?
            .is_some()
    {
        return Err("the second tab shows the app while the first runs it".into());
    }
    alice.assert_accessible("open in another tab").await?;
    alice.screenshot("open-elsewhere").await?;

    // Use here, by keyboard: the app moves to the second tab.
    alice.tab_to("button", "Use here").await?;
    alice.press(Key::Enter).await?;
    alice
        .wait_for_message("from the first tab", DELIVERY_TIMEOUT)
        .await?;
    alice.post("from the second tab").await?;

    // The first tab stopped and says so.
    wd.switch_to_window(first.clone())
        .await
        .ctx("switching to the first tab")?;
    alice
        .find_by_role_for("heading", ELSEWHERE, DELIVERY_TIMEOUT)
        .await?;

    // Closing the second tab starts the app in the first, with what the second stored.
    wd.switch_to_window(second)
        .await
        .ctx("switching to the second tab")?;
    wd.close_window().await.ctx("closing the second tab")?;
    wd.switch_to_window(first)
        .await
        .ctx("switching to the first tab")?;
    alice
        .wait_for_message("from the second tab", DELIVERY_TIMEOUT)
        .await?;
    alice.post("the first tab again").await?;

    // A peer takes the three as one history: no fork, nothing lost.
    let bob = user(&ctx, &base, "bob", "Bob").await?;
    bob.join(&room.link).await?;
    bob.wait_for_messages(
        &[
            "from the first tab",
            "from the second tab",
            "the first tab again",
        ],
        DELIVERY_TIMEOUT,
    )
    .await?;
    assert_no_warning(&bob).await
}

/// Fails if `b` says that a peer signed two versions of one message (natter-core's
/// notice of a fork).
async fn assert_no_warning(b: &Browser) -> TestResult {
    let text = b.execute("return document.body.innerText;", vec![]).await?;
    let text = text.as_str().unwrap_or_default();
    if text.contains("two different versions") {
        return Err(format!("{} was told of a fork: {text}", b.name));
    }
    Ok(())
}
