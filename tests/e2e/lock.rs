//! The app lock: with it on, IndexedDB holds no readable message text, room name or display
//! name; the app asks for the passphrase before it loads anything; a wrong passphrase is
//! refused in words and erases nothing; the right one brings everything back, and peers
//! still receive the history; "Lock now" locks, and so does idleness; turning the lock off
//! needs the passphrase and stores everything readably again.

use natter_e2e::app::DELIVERY_TIMEOUT;
use natter_e2e::browser::Browser;
use natter_e2e::idb;
use natter_e2e::runner::Ctx;
use natter_e2e::TestResult;

use crate::setup::user;

const PASSPHRASE: &str = "correct horse battery";
const SECRETS: [&str; 3] = [
    "the crocus blooms at dawn",
    "Secret Garden",
    "Alice Lockwood",
];

pub async fn app_lock_seals_storage_and_asks_for_the_passphrase(ctx: Ctx) -> TestResult {
    let base = ctx.base_url();
    let alice = user(&ctx, &base, "alice", "Alice Lockwood").await?;
    let room = alice.create_named_room("Secret Garden").await?;
    alice.post("the crocus blooms at dawn").await?;

    // Before the lock, the check sees the text (so it can fail).
    let before = idb::dump(&alice).await?;
    for s in SECRETS {
        if !before.contains(s) {
            return Err(format!("without the lock, {s:?} should be stored readably"));
        }
    }

    alice.goto(&format!("{base}/#/settings")).await?;
    alice.type_password("New passphrase", "short").await?;
    alice.type_password("Repeat passphrase", "short").await?;
    alice.click("button", "Turn on app lock").await?;
    wait_for_page_text(&alice, "Use at least 8 characters").await?;
    alice.type_password("New passphrase", PASSPHRASE).await?;
    alice.type_password("Repeat passphrase", PASSPHRASE).await?;
    alice.click("button", "Turn on app lock").await?;
    alice
        .find_by_role_for("button", "Lock now", DELIVERY_TIMEOUT)
        .await?;
    assert_sealed(&alice).await?;

    // Reopened: the lock screen, and nothing else.
    alice.reload().await?;
    alice.find_by_role("heading", "Natter is locked").await?;
    alice.screenshot("lock-screen").await?;
    if alice.try_find_by_role("link", "Settings").await?.is_some() {
        return Err("the app shows more than the lock screen while locked".into());
    }
    refuse_wrong_passphrase(&alice, "Unlock", "Wrong passphrase").await?;
    alice.screenshot("lock-screen-wrong-passphrase").await?;
    assert_sealed(&alice).await?;

    alice.type_password("Passphrase", PASSPHRASE).await?;
    alice.click("button", "Unlock").await?;
    alice.open_room(&base, &room.id).await?;
    alice
        .wait_for_message("the crocus blooms at dawn", DELIVERY_TIMEOUT)
        .await?;
    alice.post("the bees are back").await?;
    let after = idb::dump(&alice).await?;
    if after.contains("the bees are back") {
        return Err("a message posted with the lock on was stored readably".into());
    }

    // A peer receives the whole history from the locked device.
    let bob = user(&ctx, &base, "bob", "Bob").await?;
    bob.join(&room.link).await?;
    bob.wait_for_messages(
        &["the crocus blooms at dawn", "the bees are back"],
        DELIVERY_TIMEOUT,
    )
    .await?;

    // Lock now.
    alice.goto(&format!("{base}/#/settings")).await?;
    alice.click("button", "Lock now").await?;
    alice.find_by_role("heading", "Natter is locked").await?;

    // The idle lock: the stored idle time, cut to 3 s (the settings offer whole minutes),
    // locks the app when nobody touches it, and activity in between does not.
    set_idle_secs(&alice, 3).await?;
    alice.reload().await?;
    alice.type_password("Passphrase", PASSPHRASE).await?;
    alice.click("button", "Unlock").await?;
    alice.open_room(&base, &room.id).await?;
    for _ in 0..6 {
        alice.press(thirtyfour::Key::Shift).await?;
        tokio::time::sleep(std::time::Duration::from_millis(1000)).await;
    }
    if alice
        .try_find_by_role("heading", "Natter is locked")
        .await?
        .is_some()
    {
        return Err("the app locked while it was being used".into());
    }
    alice
        .find_by_role_for(
            "heading",
            "Natter is locked",
            std::time::Duration::from_secs(20),
        )
        .await?;

    // Turning the lock off asks for the passphrase; a wrong one leaves it on and sealed.
    set_idle_secs(&alice, 300).await?;
    alice.reload().await?;
    alice.type_password("Passphrase", PASSPHRASE).await?;
    alice.click("button", "Unlock").await?;
    alice.goto(&format!("{base}/#/settings")).await?;
    // Unlocked (the lock screen has a "Passphrase" field too).
    alice
        .find_by_role_for("button", "Turn off app lock", DELIVERY_TIMEOUT)
        .await?;
    refuse_wrong_passphrase(
        &alice,
        "Turn off app lock",
        "wrong passphrase; the app lock stays on",
    )
    .await?;
    assert_sealed(&alice).await?;
    alice.type_password("Passphrase", PASSPHRASE).await?;
    alice.click("button", "Turn off app lock").await?;
    alice
        .find_by_role_for("button", "Turn on app lock", DELIVERY_TIMEOUT)
        .await?;
    let off = idb::dump(&alice).await?;
    if !off.contains("the bees are back") || !off.records("vault").is_empty() {
        return Err("with the lock off, the data should be stored readably again".into());
    }
    alice.reload().await?;
    alice.open_room(&base, &room.id).await?;
    alice
        .wait_for_messages(
            &["the crocus blooms at dawn", "the bees are back"],
            DELIVERY_TIMEOUT,
        )
        .await?;
    alice.assert_no_console_errors().await?;
    bob.assert_no_console_errors().await?;
    Ok(())
}

/// The stored data holds none of the secrets, every entry is sealed, and the lock record
/// is there.
async fn assert_sealed(b: &Browser) -> TestResult {
    let dump = idb::dump(b).await?;
    for s in SECRETS {
        if dump.contains(s) {
            return Err(format!(
                "with the lock on, {s:?} is readable in storage at {:?}",
                dump.where_is(s)
            ));
        }
    }
    let entries = dump.records("log");
    if entries.is_empty() {
        return Err("the entries are gone from storage".into());
    }
    if let Some(clear) = entries.iter().find(|e| e["value"].get("bytes").is_some()) {
        return Err(format!("an entry is stored in clear: {clear}"));
    }
    if dump.records("vault").is_empty() {
        return Err("the lock record is missing".into());
    }
    Ok(())
}

/// Types a wrong passphrase, presses `button`, and waits for the alert that says `refusal`.
async fn refuse_wrong_passphrase(b: &Browser, button: &str, refusal: &str) -> TestResult {
    b.type_password("Passphrase", "not the passphrase").await?;
    b.click("button", button).await?;
    b.wait_for_alert(
        &format!("{button} refusing a wrong passphrase"),
        |t| t.contains(refusal),
        DELIVERY_TIMEOUT,
    )
    .await?;
    Ok(())
}

/// Sets the stored idle time (the next page load reads it).
async fn set_idle_secs(b: &Browser, secs: u32) -> TestResult {
    b.execute(
        "const s = JSON.parse(localStorage.getItem('natter.settings') || '{}'); \
         s.lock_idle_secs = arguments[0]; \
         localStorage.setItem('natter.settings', JSON.stringify(s));",
        vec![serde_json::json!(secs)],
    )
    .await?;
    Ok(())
}

async fn wait_for_page_text(b: &Browser, text: &str) -> TestResult {
    natter_e2e::wait::wait_until(
        &format!("{}: {text:?} shown", b.name),
        DELIVERY_TIMEOUT,
        || async {
            let page = b.execute("return document.body.innerText;", vec![]).await?;
            Ok(page
                .as_str()
                .is_some_and(|p| p.contains(text))
                .then_some(()))
        },
    )
    .await
}
