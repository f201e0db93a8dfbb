//! Comfort: the theme follows the system unless the user picks one; the title shows how many
//! messages are unread; desktop notifications are shown for messages that arrive while the
//! page is hidden (only after the user turned them on), and peers see the user as away
//! meanwhile; the privacy screen covers the page while it is hidden.

use natter_e2e::app::DELIVERY_TIMEOUT;
use natter_e2e::browser::Browser;
use natter_e2e::runner::Ctx;
use natter_e2e::wait::wait_until;
use natter_e2e::{Context, TestResult};
use serde_json::{json, Value};
use thirtyfour::components::SelectElement;

use crate::setup::{alice_and_bob_in_a_room, say};

const DARK_BG: &str = "rgb(26, 32, 44)";
const LIGHT_BG: &str = "rgb(255, 255, 255)";

pub async fn theme_title_notifications_and_privacy_screen(ctx: Ctx) -> TestResult {
    let base = ctx.base_url();
    let (alice, bob, room) = alice_and_bob_in_a_room(&ctx, &base, "Comfort").await?;

    // Theme: the system's preference, unless overridden; the choice survives a reload.
    alice.goto(&format!("{base}/#/settings")).await?;
    alice.prefer_color_scheme("dark").await?;
    choose_theme(&alice, "Same as the system").await?;
    expect_background(&alice, DARK_BG, "the system prefers dark").await?;
    choose_theme(&alice, "Light").await?;
    expect_background(&alice, LIGHT_BG, "Light chosen on a dark system").await?;
    alice.reload().await?;
    expect_background(&alice, LIGHT_BG, "Light chosen, after a reload").await?;
    alice.prefer_color_scheme("light").await?;
    choose_theme(&alice, "Dark").await?;
    expect_background(&alice, DARK_BG, "Dark chosen on a light system").await?;
    alice.screenshot("settings-dark-theme").await?;
    choose_theme(&alice, "Same as the system").await?;
    expect_background(&alice, LIGHT_BG, "back to the light system").await?;

    // Unread badge: messages in a room that is not open count in the title.
    alice.goto(&format!("{base}/#/")).await?;
    alice.find_by_role("heading", "Your rooms").await?;
    bob.post("badge one").await?;
    bob.post("badge two").await?;
    wait_for_title(&alice, "(2) Natter").await?;
    alice.open_room(&base, &room.id).await?;
    wait_for_title(&alice, "Natter").await?;

    // Notifications: asked for from the checkbox (a user action), shown while hidden.
    alice
        .wd()
        .cdp()
        .send_raw(
            "Browser.grantPermissions",
            json!({ "permissions": ["notifications"], "origin": base }),
        )
        .await
        .ctx("granting the notification permission")?;
    alice.goto(&format!("{base}/#/settings")).await?;
    alice
        .set_checkbox("Notify me of new messages while Natter is hidden", true)
        .await?;
    wait_for_checked(&alice, "Notify me of new messages while Natter is hidden").await?;
    alice.open_room(&base, &room.id).await?;
    say(&bob, "seen while looking", &[&alice]).await?;
    if !notifications(&alice).await?.is_empty() {
        return Err("a notification was shown while the page was on screen".into());
    }
    alice.hide_page().await?;
    bob.wait_for_peer("Alice", "away", DELIVERY_TIMEOUT).await?;
    bob.post("sent while hidden").await?;
    let shown = wait_for_notification(&alice, "sent while hidden").await?;
    if shown["title"] != json!("Bob in Comfort") {
        return Err(format!(
            "the notification should name Bob and the room: {shown}"
        ));
    }
    wait_for_title(&alice, "(1) Natter").await?;
    alice.show_page().await?;
    wait_for_title(&alice, "Natter").await?;
    bob.wait_for_peer("Alice", "online", DELIVERY_TIMEOUT)
        .await?;

    // Privacy screen: the content is covered while hidden, and notifications hide the text.
    alice.goto(&format!("{base}/#/settings")).await?;
    alice
        .set_checkbox(
            "Privacy screen: hide messages when Natter is not on screen",
            true,
        )
        .await?;
    wait_for_checked(
        &alice,
        "Privacy screen: hide messages when Natter is not on screen",
    )
    .await?;
    alice.open_room(&base, &room.id).await?;
    if main_visibility(&alice).await? != "visible" {
        return Err("the privacy screen covers the page while it is on screen".into());
    }
    alice.hide_page().await?;
    wait_until("the content to be covered", DELIVERY_TIMEOUT, || async {
        Ok((main_visibility(&alice).await? == "hidden").then_some(()))
    })
    .await?;
    bob.post("private news").await?;
    let shown = wait_for_notification(&alice, "New message").await?;
    if shown.to_string().contains("private news") {
        return Err(format!(
            "with the privacy screen on, a notification showed the text: {shown}"
        ));
    }
    alice.show_page().await?;
    wait_until(
        "the content to be shown again",
        DELIVERY_TIMEOUT,
        || async { Ok((main_visibility(&alice).await? == "visible").then_some(())) },
    )
    .await?;
    alice
        .wait_for_message("private news", DELIVERY_TIMEOUT)
        .await?;
    alice.assert_no_console_errors().await?;
    bob.assert_no_console_errors().await?;
    Ok(())
}

pub async fn notifications_refused_are_explained(ctx: Ctx) -> TestResult {
    let base = ctx.base_url();
    let carol = ctx.launch("carol").await?;
    carol.goto(&format!("{base}/#/settings")).await?;
    carol
        .wd()
        .cdp()
        .send_raw(
            "Browser.setPermission",
            json!({ "permission": { "name": "notifications" }, "setting": "denied", "origin": base }),
        )
        .await
        .ctx("denying the notification permission")?;
    let label = "Notify me of new messages while Natter is hidden";
    carol.set_checkbox(label, true).await?;
    let refusal = "The browser did not allow notifications";
    wait_until("the refusal to be explained", DELIVERY_TIMEOUT, || async {
        let text = carol
            .execute("return document.body.innerText;", vec![])
            .await?;
        Ok(text
            .as_str()
            .is_some_and(|t| t.contains(refusal))
            .then_some(()))
    })
    .await?;
    let el = carol.find_by_role("checkbox", label).await?;
    if el.is_selected().await.ctx("reading the checkbox")? {
        return Err("the notification box stayed ticked although the browser refused".into());
    }
    carol.assert_no_console_errors().await?;
    Ok(())
}

async fn choose_theme(b: &Browser, label: &str) -> TestResult {
    let select = b.find_by_role("combobox", "Theme").await?;
    SelectElement::new(&select)
        .await
        .ctx("reading the Theme list")?
        .select_by_exact_text(label)
        .await
        .ctx(&format!("choosing the theme {label:?}"))
}

async fn background(b: &Browser) -> TestResult<String> {
    let v = b
        .execute(
            "return getComputedStyle(document.body).backgroundColor;",
            vec![],
        )
        .await?;
    Ok(v.as_str().unwrap_or_default().to_owned())
}

async fn expect_background(b: &Browser, want: &str, when: &str) -> TestResult {
    let got = wait_until(
        &format!("{}: background {want} ({when})", b.name),
        DELIVERY_TIMEOUT,
        || async {
            let bg = background(b).await?;
            Ok((bg == want).then_some(bg))
        },
    )
    .await;
    got.map(|_| ()).map_err(|e| format!("{e} ({when})"))
}

async fn title(b: &Browser) -> TestResult<String> {
    let v = b.execute("return document.title;", vec![]).await?;
    Ok(v.as_str().unwrap_or_default().to_owned())
}

async fn wait_for_title(b: &Browser, want: &str) -> TestResult {
    let r = wait_until(
        &format!("{}: the title {want:?}", b.name),
        DELIVERY_TIMEOUT,
        || async { Ok((title(b).await? == want).then_some(())) },
    )
    .await;
    if let Err(e) = r {
        return Err(format!(
            "{e}; the title is {:?}",
            title(b).await.unwrap_or_default()
        ));
    }
    Ok(())
}

async fn wait_for_checked(b: &Browser, label: &str) -> TestResult {
    wait_until(
        &format!("{}: {label:?} ticked", b.name),
        DELIVERY_TIMEOUT,
        || async {
            let el = b.find_by_role("checkbox", label).await?;
            Ok(el.is_selected().await.unwrap_or(false).then_some(()))
        },
    )
    .await
}

async fn notifications(b: &Browser) -> TestResult<Vec<Value>> {
    let v = b
        .execute("return window.__natterNotifications || [];", vec![])
        .await?;
    Ok(v.as_array().cloned().unwrap_or_default())
}

async fn wait_for_notification(b: &Browser, body: &str) -> TestResult<Value> {
    let r = wait_until(
        &format!("{}: a notification {body:?}", b.name),
        DELIVERY_TIMEOUT,
        || async {
            let all = notifications(b).await?;
            Ok(all
                .into_iter()
                .find(|n| n["body"].as_str().is_some_and(|t| t.contains(body))))
        },
    )
    .await;
    if r.is_err() {
        let all = notifications(b).await.unwrap_or_default();
        return Err(format!(
            "{}: no notification {body:?}; shown: {all:?}",
            b.name
        ));
    }
    r
}

async fn main_visibility(b: &Browser) -> TestResult<String> {
    let v = b
        .execute(
            "const m = document.querySelector('main'); return m ? getComputedStyle(m).visibility : 'missing';",
            vec![],
        )
        .await?;
    Ok(v.as_str().unwrap_or_default().to_owned())
}
