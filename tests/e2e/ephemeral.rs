//! An ephemeral room keeps nothing on the device: not while it is open, not after leaving.

use std::time::Duration;

use natter_e2e::app::{NewRoom, DELIVERY_TIMEOUT};
use natter_e2e::idb::{self, Dump};
use natter_e2e::runner::Ctx;
use natter_e2e::wait::never_during;
use natter_e2e::TestResult;

use crate::setup::user;

const ROOM_NAME: &str = "Ephemeral test";
const TEXTS: [&str; 2] = ["Nothing to keep here", "Forget me soon"];

/// Alice creates an ephemeral room, posts, and leaves; the app's IndexedDB database and web
/// storage never hold the room id or the messages' text, and the room is gone from the list.
pub async fn ephemeral_room_leaves_no_trace(ctx: Ctx) -> TestResult {
    let base = ctx.base_url();
    let alice = user(&ctx, &base, "alice", "Alice").await?;
    let room = alice
        .create_room(NewRoom {
            name: Some(ROOM_NAME),
            ephemeral: true,
            ..NewRoom::default()
        })
        .await?;
    for text in TEXTS {
        alice.post(text).await?;
    }
    let shown = alice.wait_for_message(TEXTS[1], DELIVERY_TIMEOUT).await?;
    if !shown.text.contains("kept in memory only") {
        return Err(format!(
            "Alice's message in an ephemeral room does not say \"kept in memory only\": {:?}",
            shown.text
        ));
    }
    // Writes are asynchronous: give a wrong one time to land before looking.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let during = idb::dump(&alice).await?;
    no_trace(&during, &room.id, "while the room is open")?;
    // The copy must be able to see something, or "no trace" would prove nothing.
    if during.records("identity").is_empty() {
        return Err(format!(
            "the identity store is empty, so the storage copy is not reading the app's data: {}",
            during.json
        ));
    }

    alice.click("button", "Leave room").await?;
    alice.screenshot("ephemeral-left").await?;
    alice.open_home(&base).await?;
    alice.find_by_role("heading", "Your rooms").await?;
    let alice_ref = &alice;
    never_during(Duration::from_secs(3), move || async move {
        Ok(alice_ref
            .try_find_by_role("link", ROOM_NAME)
            .await?
            .map(|_| "the ephemeral room is still listed after leaving it".to_owned()))
    })
    .await?;
    let after = idb::dump(&alice).await?;
    no_trace(&after, &room.id, "after leaving")?;
    alice.screenshot("ephemeral-home").await?;
    Ok(())
}

/// Fails if the room id, its name or any message text is in `dump`.
fn no_trace(dump: &Dump, room_id: &str, when: &str) -> TestResult {
    for needle in [room_id, ROOM_NAME].into_iter().chain(TEXTS) {
        if dump.contains(needle) {
            return Err(format!(
                "{when}, {needle:?} is stored in {:?}",
                dump.where_is(needle)
            ));
        }
    }
    if let Some(record) = dump.entries_of(room_id).first() {
        return Err(format!("{when}, an entry of the room is stored: {record}"));
    }
    Ok(())
}
