//! Accessibility and phones: axe-core finds no serious or critical problem on the home,
//! room and settings views, at a desktop and at a phone width, in light and dark; on a
//! 360 px phone nothing scrolls sideways, every control is a 44 px touch target and the
//! composer stays in view when the keyboard takes half the screen; a keyboard alone is
//! enough to create a room and chat; new messages are announced through a live region.

use natter_e2e::app::DELIVERY_TIMEOUT;
use natter_e2e::runner::Ctx;
use natter_e2e::{Context, TestResult};
use thirtyfour::prelude::*;

use crate::setup::{alice_and_bob_in_a_room, say, user};

/// The screens every view is checked at: a desktop in light, a phone in dark.
const SCREENS: [(u32, u32, &str); 2] = [(1280, 900, "light"), (360, 740, "dark")];

pub async fn views_pass_axe_and_fit_phones(ctx: Ctx) -> TestResult {
    let base = ctx.base_url();
    let (alice, bob, room) = alice_and_bob_in_a_room(&ctx, &base, "Access").await?;
    say(&bob, "hello from Bob", &[&alice]).await?;
    say(
        &alice,
        "a longer message from Alice, to see that text wraps on a narrow screen",
        &[&bob],
    )
    .await?;
    checkers_catch_known_problems(&alice).await?;
    for (width, height, scheme) in SCREENS {
        alice.set_viewport(width, height).await?;
        alice.prefer_color_scheme(scheme).await?;
        let phone = width < 600;
        let views = [
            ("home", format!("{base}/#/"), ("heading", "Your rooms")),
            (
                "room",
                format!("{base}/#/room/{}", room.id),
                ("log", "Messages"),
            ),
            (
                "settings",
                format!("{base}/#/settings"),
                ("heading", "Settings"),
            ),
        ];
        for (view, url, (role, name)) in views {
            alice.goto(&url).await?;
            alice.find_by_role(role, name).await?;
            if view == "room" {
                alice
                    .wait_for_message("hello from Bob", DELIVERY_TIMEOUT)
                    .await?;
            }
            alice
                .assert_accessible(&format!("{view} ({width} px, {scheme})"))
                .await?;
            if phone {
                let problems = alice.layout_problems().await?;
                if !problems.is_empty() {
                    return Err(format!(
                        "the {view} view at {width} px:\n{}",
                        problems.join("\n")
                    ));
                }
            }
            alice.screenshot(&format!("width-{width}-{view}")).await?;
        }
        if phone {
            alice.open_room(&base, &room.id).await?;
            composer_stays_in_view(&alice, width).await?;
        }
    }
    alice.assert_no_console_errors().await?;
    bob.assert_no_console_errors().await?;
    Ok(())
}

/// The checks can fail: a nameless button and a page wider than a phone are reported.
async fn checkers_catch_known_problems(b: &natter_e2e::browser::Browser) -> TestResult {
    b.set_viewport(360, 740).await?;
    // A nameless button, a tiny link, and a block wider than the screen (set through the
    // CSSOM: the app's CSP forbids style attributes).
    let plant = "const d = document.createElement('div'); d.id = 'planted'; \
                 d.innerHTML = '<button></button><a href=\"#/\">x</a><div>wide</div>'; \
                 d.lastChild.style.width = '900px'; document.body.append(d);";
    b.execute(plant, vec![]).await?;
    let axe = b.assert_accessible("planted").await;
    let layout = b.layout_problems().await?;
    b.execute("document.getElementById('planted').remove();", vec![])
        .await?;
    match axe {
        Err(e) if e.contains("button-name") => {}
        other => return Err(format!("axe missed a button without a name: {other:?}")),
    }
    let wide = layout.iter().any(|p| p.contains("px wide in a"));
    let small = layout.iter().any(|p| p.starts_with("<a>"));
    if !(wide && small) {
        return Err(format!(
            "the layout check missed planted problems: {layout:?}"
        ));
    }
    Ok(())
}

/// With the on-screen keyboard up (the viewport resizes to what is left, as
/// `interactive-widget=resizes-content` asks), the focused composer and its Send button are
/// still inside the viewport.
async fn composer_stays_in_view(b: &natter_e2e::browser::Browser, width: u32) -> TestResult {
    b.set_viewport(width, 360).await?;
    let field = b.find_by_role("textbox", "Message").await?;
    field.focus().await.ctx("focusing the composer")?;
    // Scrolled to the top of the page, the composer must still be in view (it sticks to
    // the bottom of the viewport rather than relying on focus scrolling to it).
    b.execute("window.scrollTo(0, 0);", vec![]).await?;
    let send = b.find_by_role("button", "Send").await?;
    for (what, el) in [("the Message field", &field), ("the Send button", &send)] {
        let inside = b
            .execute(
                "const r = arguments[0].getBoundingClientRect(); \
                 return r.top >= 0 && r.bottom <= window.innerHeight && r.left >= 0 \
                 && r.right <= window.innerWidth;",
                vec![el.to_json().ctx("passing the element")?],
            )
            .await?;
        if inside != serde_json::Value::Bool(true) {
            b.screenshot("FAILED-composer-keyboard").await?;
            return Err(format!("{what} is not in view with the keyboard up"));
        }
    }
    b.screenshot(&format!("width-{width}-room-keyboard")).await
}

pub async fn keyboard_only_chat(ctx: Ctx) -> TestResult {
    let base = ctx.base_url();
    let alice = ctx.launch("alice").await?;
    alice.open_home(&base).await?;
    // Wait until the stored name is loaded and the field can take input.
    let field = alice.find_by_role("textbox", "Your display name").await?;
    natter_e2e::wait::wait_until("the name field to be enabled", DELIVERY_TIMEOUT, || {
        let field = field.clone();
        async move { Ok(field.is_enabled().await.unwrap_or(false).then_some(())) }
    })
    .await?;
    alice.tab_to("textbox", "Your display name").await?;
    alice.press("Alice").await?;
    alice.press(Key::Enter).await?;
    alice.tab_to("textbox", "Room name (optional)").await?;
    alice.press("Keys").await?;
    alice.tab_to("button", "Create room").await?;
    alice.press(Key::Enter).await?;
    let id = alice.wait_for_room_view().await?;
    let link = alice.invite_link().await?;

    let bob = user(&ctx, &base, "bob", "Bob").await?;
    if bob.join(&link).await? != id {
        return Err("Bob's invite opened another room".into());
    }
    alice
        .wait_for_peer("Bob", "online", DELIVERY_TIMEOUT)
        .await?;

    alice.tab_to("textbox", "Message").await?;
    alice.press("typed without a mouse").await?;
    alice.press(Key::Enter).await?;
    bob.wait_for_message("typed without a mouse", DELIVERY_TIMEOUT)
        .await?;

    bob.post("an answer for the keyboard").await?;
    let said = alice
        .wait_for_text(
            "status",
            "New messages",
            |t| t.contains("an answer for the keyboard"),
            DELIVERY_TIMEOUT,
        )
        .await?;
    if !said.starts_with("New message from Bob") {
        return Err(format!("the announcement should name Bob: {said:?}"));
    }
    // Reading: the log takes focus and holds both messages, in order.
    alice.tab_to("log", "Messages").await?;
    let log = alice
        .wd()
        .active_element()
        .await
        .ctx("reading the focused log")?;
    let text = log.text().await.ctx("reading the log")?;
    let first = text.find("typed without a mouse");
    let second = text.find("an answer for the keyboard");
    if !matches!((first, second), (Some(a), Some(b)) if a < b) {
        return Err(format!(
            "the log read by keyboard is missing or misorders the messages: {text:?}"
        ));
    }
    // A file, by keyboard: "Attach files" opens the picker (which a person then answers;
    // here the harness answers it), and Bob downloads and saves it with the keys alone.
    alice
        .execute(
            "document.querySelector('input[type=file]').addEventListener('click', \
             () => { window.__natterPicker = true; });",
            vec![],
        )
        .await?;
    alice.tab_to("button", "Attach files").await?;
    alice.press(Key::Enter).await?;
    let opened = alice
        .execute("return window.__natterPicker === true;", vec![])
        .await?;
    if opened != serde_json::Value::Bool(true) {
        return Err("Enter on \"Attach files\" did not open the file picker".into());
    }
    let dir = tempfile::tempdir().ctx("a folder for the file")?;
    let (path, hash) = natter_e2e::files::noise_file(dir.path(), "notes.bin", 100_000, 5)?;
    alice.attach_path(&path).await?;
    bob.find_by_role_for("button", "Download notes.bin", DELIVERY_TIMEOUT)
        .await?;
    bob.tab_to("button", "Download notes.bin").await?;
    bob.press(Key::Enter).await?;
    bob.find_by_role_for("button", "Save notes.bin", DELIVERY_TIMEOUT)
        .await?;
    let downloads = bob.allow_downloads().await?;
    bob.tab_to("button", "Save notes.bin").await?;
    bob.press(Key::Enter).await?;
    let saved = bob
        .downloaded(&downloads, "notes.bin", DELIVERY_TIMEOUT)
        .await?;
    if saved != hash {
        return Err(format!("Bob saved notes.bin as {saved}, sent {hash}"));
    }
    alice.screenshot("keyboard-room").await?;
    alice.assert_no_console_errors().await?;
    Ok(())
}
