//! What can be done to messages and rooms after posting: reply, react, edit and delete reach
//! the peer; the composer's keys and blank-text refusal; text shown as text, never as HTML;
//! deleting one room and erasing the whole device leave nothing of them behind.

use std::time::Duration;

use natter_e2e::app::DELIVERY_TIMEOUT;
use natter_e2e::browser::Browser;
use natter_e2e::idb::{self, Dump};
use natter_e2e::runner::Ctx;
use natter_e2e::wait::{never_during, wait_until};
use natter_e2e::{Context, TestResult};
use serde_json::Value;
use thirtyfour::Key;

use crate::setup::{alice_and_bob_in_a_room, say, user};

/// Bob replies to and reacts on Alice's message, Alice edits it and deletes another one;
/// each change shows on the other side, and Alice's message says it was delivered.
pub async fn message_actions_reach_the_peer(ctx: Ctx) -> TestResult {
    let base = ctx.base_url();
    let (alice, bob, _room) = alice_and_bob_in_a_room(&ctx, &base, "Actions test").await?;
    say(&alice, "[A1] original words", &[&bob]).await?;
    say(&alice, "[A2] short-lived", &[&bob]).await?;
    alice
        .wait_for_message_where(
            "[A1]",
            "saying \"delivered to 1 peer\"",
            |m| m.text.contains("delivered to 1 peer"),
            DELIVERY_TIMEOUT,
        )
        .await?;

    // Reply: the composer shows what is replied to, and Alice sees the excerpt.
    bob.click_in_message("[A1]", "Reply").await?;
    bob.post("[B1] my answer").await?;
    alice
        .wait_for_message_where(
            "[B1] my answer",
            "from Bob quoting \"Alice: [A1] original words\"",
            |m| m.author == "Bob" && m.text.contains("Alice: [A1] original words"),
            DELIVERY_TIMEOUT,
        )
        .await?;

    // React: Alice sees one 👍 on her message.
    bob.click_in_message("[A1]", "React 👍").await?;
    let alice_ref = &alice;
    let reactions = wait_until(
        "Alice: one 👍 on [A1]",
        DELIVERY_TIMEOUT,
        move || async move {
            let r = alice_ref.reactions_of("[A1]").await?;
            Ok((r.split_whitespace().collect::<Vec<_>>() == ["👍", "1"]).then_some(r))
        },
    )
    .await;
    if let Err(e) = reactions {
        let now = alice.reactions_of("[A1]").await.unwrap_or_default();
        return Err(format!("{e}; the reactions of [A1] read {now:?}"));
    }

    // Reacting again takes the reaction back, for Alice too.
    bob.click_in_message("[A1]", "React 👍").await?;
    let alice_ref = &alice;
    let withdrawn = wait_until(
        "Alice: no reaction left on [A1]",
        DELIVERY_TIMEOUT,
        move || async move {
            let r = alice_ref.reactions_of("[A1]").await?;
            Ok(r.trim().is_empty().then_some(()))
        },
    )
    .await;
    if let Err(e) = withdrawn {
        let now = alice.reactions_of("[A1]").await.unwrap_or_default();
        return Err(format!("{e}; the reactions of [A1] read {now:?}"));
    }

    // Edit: the composer takes the text, the button reads "Save edit", Bob sees the change.
    alice.click_in_message("[A1]", "Edit").await?;
    let alice_ref = &alice;
    wait_until(
        "Alice: the composer holding the text being edited",
        Duration::from_secs(10),
        move || async move {
            Ok((alice_ref.composer_text().await? == "[A1] original words").then_some(()))
        },
    )
    .await
    .map_err(|e| format!("{e}: after clicking Edit the composer does not hold the message"))?;
    alice.find_by_role("button", "Save edit").await?;
    alice
        .type_into("textbox", "Message", "[A1] better words")
        .await?;
    alice.click("button", "Save edit").await?;
    alice.find_by_role("button", "Send").await?;
    let edited = bob
        .wait_for_message_where(
            "[A1] better words",
            "marked \"(edited)\"",
            |m| m.author == "Alice" && m.text.contains("(edited)"),
            DELIVERY_TIMEOUT,
        )
        .await?;
    if edited.text.contains("original words") {
        return Err(format!(
            "Bob's copy of the edited message still shows the old text: {:?}",
            edited.text
        ));
    }
    let composer = alice.composer_text().await?;
    if !composer.is_empty() {
        return Err(format!(
            "Alice's composer still holds {composer:?} after saving the edit"
        ));
    }

    // Delete: Bob sees the message replaced by "This message was deleted".
    alice.click_in_message("[A2]", "Delete").await?;
    let bob_ref = &bob;
    let deleted = wait_until(
        "Bob: [A2] shown as deleted",
        DELIVERY_TIMEOUT,
        move || async move {
            let messages = bob_ref.messages().await?;
            let old_text_gone = !messages.iter().any(|m| m.text.contains("[A2]"));
            let marked = messages
                .iter()
                .any(|m| m.author == "Alice" && m.text.contains("This message was deleted"));
            Ok((old_text_gone && marked).then_some(()))
        },
    )
    .await;
    if let Err(e) = deleted {
        let shown = bob.messages().await.unwrap_or_default();
        return Err(format!("{e}; Bob's log shows {shown:?}"));
    }
    alice.screenshot("actions-alice").await?;
    bob.screenshot("actions-bob").await?;
    alice.assert_no_console_errors().await?;
    bob.assert_no_console_errors().await?;
    Ok(())
}

/// Enter sends, Shift+Enter starts a new line, blank text is refused, a draft waits in its
/// room while another view is shown, and markup in a message reaches the peer as plain
/// text.
pub async fn composer_keyboard_and_text_safety(ctx: Ctx) -> TestResult {
    let base = ctx.base_url();
    let (alice, bob, room) = alice_and_bob_in_a_room(&ctx, &base, "Composer test").await?;

    // Enter alone sends.
    alice.composer_keys("[K1] sent with Enter").await?;
    alice.composer_keys(Key::Enter).await?;
    bob.wait_for_message("[K1] sent with Enter", DELIVERY_TIMEOUT)
        .await?;
    let left = alice.composer_text().await?;
    if !left.is_empty() {
        return Err(format!(
            "the composer holds {left:?} after sending with Enter"
        ));
    }

    // Shift+Enter adds a line; the message holds both lines.
    alice.composer_keys("[K2] first line").await?;
    alice.composer_keys(Key::Shift + Key::Enter).await?;
    alice.composer_keys("second line").await?;
    let draft = alice.composer_text().await?;
    if draft != "[K2] first line\nsecond line" {
        return Err(format!(
            "after Shift+Enter the composer holds {draft:?}, expected two lines (nothing sent)"
        ));
    }
    alice.composer_keys(Key::Enter).await?;
    for b in [&alice, &bob] {
        b.wait_for_message_where(
            "[K2] first line",
            "with \"second line\" on a line of its own",
            |m| m.text.contains("[K2] first line\nsecond line"),
            DELIVERY_TIMEOUT,
        )
        .await?;
    }

    // Blank text: neither Enter nor Send posts anything.
    let before_alice = alice.messages().await?.len();
    let before_bob = bob.messages().await?.len();
    alice.composer_keys("   ").await?;
    alice.composer_keys(Key::Enter).await?;
    alice.type_into("textbox", "Message", "  \t ").await?;
    alice.click("button", "Send").await?;
    let (a, b) = (&alice, &bob);
    never_during(Duration::from_secs(4), move || async move {
        let (na, nb) = (a.messages().await?.len(), b.messages().await?.len());
        Ok((na != before_alice || nb != before_bob).then(|| {
            format!(
                "a blank message was posted: Alice's log went from {before_alice} to {na} \
                 messages, Bob's from {before_bob} to {nb}"
            )
        }))
    })
    .await?;
    alice.type_into("textbox", "Message", "").await?;

    // A draft stays with its room: away to the home view and back, it is still there, and
    // it sends as written.
    let draft = "[K4] kept while away";
    alice.composer_keys(draft).await?;
    alice.goto(&format!("{base}/#/")).await?;
    alice
        .find_by_role_for("heading", "Your rooms", DELIVERY_TIMEOUT)
        .await?;
    alice.open_room(&base, &room.id).await?;
    let kept = alice.composer_text().await?;
    if kept != draft {
        return Err(format!(
            "back in the room, the composer holds {kept:?} instead of the draft {draft:?}"
        ));
    }
    alice.composer_keys(Key::Enter).await?;
    bob.wait_for_message(draft, DELIVERY_TIMEOUT).await?;

    // Markup is text: shown literally at the peer, no element made of it.
    let markup = "[K3] <b>bold</b><img src=x onerror=alert(1)>";
    alice.post(markup).await?;
    bob.wait_for_message(markup, DELIVERY_TIMEOUT).await?;
    for b in [&alice, &bob] {
        let log = b.find_by_role("log", "Messages").await?;
        let arg = log.to_json().ctx("passing the log to a script")?;
        let made = b
            .execute(
                "return Array.from(arguments[0].querySelectorAll('b, img, script'), \
                 e => e.outerHTML);",
                vec![arg],
            )
            .await?;
        if made.as_array().is_some_and(|a| !a.is_empty()) {
            return Err(format!(
                "{}: the message's markup became elements in the log: {made}",
                b.name
            ));
        }
    }
    // Give a wrongly made image time to fail loading (and its handler to run).
    tokio::time::sleep(Duration::from_secs(1)).await;
    bob.screenshot("composer-markup").await?;
    alice.assert_no_console_errors().await?;
    bob.assert_no_console_errors().await?;
    Ok(())
}

/// Alice deletes one of her two persistent rooms: it leaves the list and the device's
/// database, the other room is untouched.
pub async fn delete_room_wipes_its_history(ctx: Ctx) -> TestResult {
    let base = ctx.base_url();
    let alice = user(&ctx, &base, "alice", "Alice").await?;
    let kept = alice.create_named_room("Kept room").await?;
    alice.post("[K1] this one stays").await?;
    alice.open_home(&base).await?;
    let doomed = alice.create_named_room("Doomed room").await?;
    alice.post("[D1] soon gone").await?;
    alice.post("[D2] also gone").await?;

    // Both rooms are stored with their entries before the delete.
    let alice_ref = &alice;
    let (kept_id, doomed_id) = (kept.id.as_str(), doomed.id.as_str());
    let before = wait_until(
        "Alice: both rooms and their entries stored",
        Duration::from_secs(15),
        move || async move {
            let d = idb::dump(alice_ref).await?;
            let ok = has_room(&d, kept_id)
                && has_room(&d, doomed_id)
                && entries_of(&d, kept_id) >= 1
                && entries_of(&d, doomed_id) >= 2;
            Ok(ok.then_some(d))
        },
    )
    .await
    .map_err(|e| format!("{e}: the storage copy never showed both rooms with their messages"))?;
    let kept_entries = entries_of(&before, kept_id);

    alice.click("button", "Delete room").await?;
    alice.click("button", "Yes, delete this room").await?;
    alice.find_by_role("heading", "Your rooms").await?;
    alice.find_by_role("link", "Kept room").await?;
    never_during(Duration::from_secs(3), move || async move {
        Ok(alice_ref
            .try_find_by_role("link", "Doomed room")
            .await?
            .map(|_| "the deleted room is still listed in \"Your rooms\"".to_owned()))
    })
    .await?;
    alice.screenshot("delete-room-home").await?;

    let after = idb::dump(&alice).await?;
    if has_room(&after, doomed_id) {
        return Err(format!(
            "the deleted room's record is still stored: {}",
            after.json["stores"]["rooms"]
        ));
    }
    let left = entries_of(&after, doomed_id);
    if left > 0 {
        return Err(format!(
            "{left} entries of the deleted room are still stored"
        ));
    }
    if after.contains(doomed_id) {
        return Err(format!(
            "the deleted room's id is still stored in {:?}",
            after.where_is(doomed_id)
        ));
    }
    if !has_room(&after, kept_id) || entries_of(&after, kept_id) != kept_entries {
        return Err(format!(
            "the other room was touched: its record is {}, it has {} entries (had {kept_entries})",
            if has_room(&after, kept_id) {
                "kept"
            } else {
                "gone"
            },
            entries_of(&after, kept_id)
        ));
    }
    alice.open_room(&base, kept_id).await?;
    alice
        .wait_for_message("[K1] this one stays", DELIVERY_TIMEOUT)
        .await?;
    alice.assert_no_console_errors().await?;
    Ok(())
}

/// "Erase all local data" removes every room and the identity: after the reload the room
/// list is empty and the identity key is a new one.
pub async fn erase_all_local_data(ctx: Ctx) -> TestResult {
    let base = ctx.base_url();
    let alice = user(&ctx, &base, "alice", "Alice").await?;
    let room = alice.create_named_room("Erased room").await?;
    alice.post("[E1] about to vanish").await?;
    let alice_ref = &alice;
    let room_id = room.id.as_str();
    let old_key = wait_until(
        "Alice: identity, room and message stored",
        Duration::from_secs(15),
        move || async move {
            let d = idb::dump(alice_ref).await?;
            let stored = has_room(&d, room_id) && entries_of(&d, room_id) >= 1;
            Ok(identity_secret(&d).filter(|_| stored))
        },
    )
    .await?;

    alice.goto(&format!("{base}/#/settings")).await?;
    alice.find_by_role("heading", "Settings").await?;
    // A mark on this page: gone once the page has reloaded.
    alice
        .execute("window.__natterBeforeErase = true; return true;", vec![])
        .await?;
    alice.click("button", "Erase all local data").await?;
    alice.click("button", "Yes, erase everything").await?;
    wait_until(
        "Alice: the page reloading after the erase",
        Duration::from_secs(20),
        move || async move {
            let v = alice_ref
                .execute("return window.__natterBeforeErase === true;", vec![])
                .await?;
            Ok((v == Value::Bool(false)).then_some(()))
        },
    )
    .await?;
    alice.find_by_role("heading", "Natter").await?;
    alice.find_by_role("heading", "Your rooms").await?;
    let links = wait_until(
        "Alice: the room list loaded",
        Duration::from_secs(15),
        move || async move { rooms_listed(alice_ref).await },
    )
    .await?;
    if !links.is_empty() {
        return Err(format!(
            "after erasing, \"Your rooms\" still lists {links:?}"
        ));
    }
    let new_key = wait_until(
        "Alice: a new identity stored after the erase",
        Duration::from_secs(15),
        move || async move { Ok(identity_secret(&idb::dump(alice_ref).await?)) },
    )
    .await?;
    if new_key == old_key {
        return Err("after erasing, the identity key is the same as before".to_owned());
    }
    let after = idb::dump(&alice).await?;
    for needle in [room_id, "Erased room", "[E1] about to vanish"] {
        if after.contains(needle) {
            return Err(format!(
                "after erasing, {needle:?} is still stored in {:?}",
                after.where_is(needle)
            ));
        }
    }
    alice.screenshot("erase-home").await?;
    alice.assert_no_console_errors().await?;
    Ok(())
}

/// Whether the `rooms` store holds a record for `room`.
fn has_room(d: &Dump, room: &str) -> bool {
    d.records("rooms")
        .iter()
        .any(|r| r["key"].as_str() == Some(room) || r["value"]["id"].as_str() == Some(room))
}

/// How many entries of `room` the `log` store holds.
fn entries_of(d: &Dump, room: &str) -> usize {
    d.entries_of(room).len()
}

/// The stored identity's secret key (in hex), if an identity is stored.
fn identity_secret(d: &Dump) -> Option<String> {
    d.identity().map(|(secret, _)| secret)
}

/// The names of the rooms linked from "Your rooms" once the list has loaded (`None` while
/// it still says it is loading).
async fn rooms_listed(b: &Browser) -> TestResult<Option<Vec<String>>> {
    let section = b.find_by_role("region", "Your rooms").await?;
    let text = section.text().await.ctx("reading \"Your rooms\"")?;
    if text.contains("Loading") {
        return Ok(None);
    }
    let arg = section.to_json().ctx("passing the list to a script")?;
    let names = b
        .execute(
            "return Array.from(arguments[0].querySelectorAll('a[href]'), a => a.innerText);",
            vec![arg],
        )
        .await?;
    serde_json::from_value(names)
        .map(Some)
        .ctx("decoding the room links")
}
