//! A room with a password: the invite alone is not enough; a wrong password connects to
//! nobody and is named in words as a likely reason, and the password can be entered again;
//! the right one joins. The lobby that makes the hint possible is keyed by the link alone,
//! so a stranger there (someone with the link but not the password) only raises a doubt:
//! the joiner keeps the room, and meets the members when they come.

use std::time::Duration;

use natter_e2e::app::{NewRoom, Room, DELIVERY_TIMEOUT, JOIN_TIMEOUT};
use natter_e2e::browser::Browser;
use natter_e2e::idb;
use natter_e2e::rtc::connected_count;
use natter_e2e::runner::Ctx;
use natter_e2e::wait::{never_during, wait_until};
use natter_e2e::TestResult;

use crate::setup::{say, see_each_other, user};

const PASSWORD: &str = "correct horse battery staple";

/// The words that say a password may be wrong.
const MAY_BE_WRONG: &str = "the password may be wrong";

/// Alice creates a room with a password; Bob opens the invite, is asked for the password,
/// gives a wrong one (an alert says the password may be wrong, no peer connection forms),
/// enters the right one again from the room, joins Alice's room and chats; the room the
/// wrong password made, where nobody ever wrote, is gone.
pub async fn password_room(ctx: Ctx) -> TestResult {
    let base = ctx.base_url();
    let (alice, room) = alice_with_a_locked_room(&ctx, &base).await?;

    let bob = user(&ctx, &base, "bob", "Bob").await?;
    bob.open_invite(&room.link).await?;
    bob.find_by_role_for("heading", "Join room “Locked room”?", JOIN_TIMEOUT)
        .await?;
    bob.wait_for_text(
        "region",
        "Join room “Locked room”?",
        |t| t.contains("This room needs a password"),
        JOIN_TIMEOUT,
    )
    .await?;
    bob.screenshot("password-prompt").await?;
    bob.confirm_join(Some("wrong password")).await?;
    let alert = bob
        .wait_for_alert(
            "about the password",
            |t| t.contains(MAY_BE_WRONG),
            JOIN_TIMEOUT,
        )
        .await?;
    bob.screenshot("password-wrong").await?;
    let (alice_ref, bob_ref, alert_ref) = (&alice, &bob, &alert);
    never_during(Duration::from_secs(5), move || async move {
        let bob_links = connected_count(bob_ref).await?;
        let alice_links = connected_count(alice_ref).await?;
        Ok((bob_links + alice_links > 0).then(|| {
            format!(
                "with a wrong password ({alert_ref:?}) a peer connection formed: \
                 Bob has {bob_links}, Alice {alice_links}"
            )
        }))
    })
    .await?;
    let alice_peers = alice.peers().await?;
    if alice_peers.iter().any(|p| p.contains("online")) {
        return Err(format!(
            "Alice lists an online peer although Bob gave a wrong password: {alice_peers:?}"
        ));
    }

    // The room view offers to enter the password again.
    bob.click("button", "Enter the password again").await?;
    bob.type_password("Room password for this invite", PASSWORD)
        .await?;
    bob.click("button", "Join with this password").await?;
    wait_until("Bob to enter Alice's room", JOIN_TIMEOUT, || {
        in_room(&bob, &room.id)
    })
    .await?;
    let joined = bob.wait_for_room_view().await?;
    if joined != room.id {
        return Err(format!(
            "with the right password Bob entered room {joined}, not {}",
            room.id
        ));
    }
    see_each_other(&alice, "Alice", &bob, "Bob").await?;
    say(&alice, "[A1] you made it", &[&bob]).await?;
    say(&bob, "[B1] the password works", &[&alice]).await?;
    bob.wait_for_status("1 peer connected", DELIVERY_TIMEOUT)
        .await?;
    bob.screenshot("password-joined").await?;
    let rooms = idb::dump(&bob).await?.records("rooms");
    if rooms.len() != 1 {
        return Err(format!(
            "Bob should keep only Alice's room, not the empty one the wrong password made: {rooms:?}"
        ));
    }
    Ok(())
}

/// Alice's password room is empty: she stepped out. Mallory has the link but not the
/// password and waits in the lobby. Bob joins with the right password: Mallory's presence
/// makes the password doubtful, and he is told so in words, but he keeps the room (joined,
/// stored); when Alice comes back they meet and chat, the doubt goes, and the room and its
/// history are still there after a reload. Mallory meets nobody.
pub async fn a_stranger_in_the_lobby_costs_the_joiner_nothing(ctx: Ctx) -> TestResult {
    let base = ctx.base_url();
    let (alice, room) = alice_with_a_locked_room(&ctx, &base).await?;
    alice.click("button", "Leave room").await?;
    alice.find_by_role("heading", "Your rooms").await?;

    let mallory = user(&ctx, &base, "mallory", "Mallory").await?;
    mallory.open_invite(&room.link).await?;
    mallory.confirm_join(Some("a guess")).await?;
    mallory.wait_for_room_view().await?;

    let bob = user(&ctx, &base, "bob", "Bob").await?;
    bob.open_invite(&room.link).await?;
    bob.confirm_join(Some(PASSWORD)).await?;
    wait_until("Bob to enter the room", JOIN_TIMEOUT, || {
        in_room(&bob, &room.id)
    })
    .await?;
    bob.wait_for_alert(
        "that the password may be wrong",
        |t| t.contains("Nobody with this password is here yet") && t.contains(MAY_BE_WRONG),
        JOIN_TIMEOUT,
    )
    .await?;
    bob.screenshot("password-doubtful").await?;
    never_during(Duration::from_secs(5), || async {
        if in_room(&bob, &room.id).await?.is_none() {
            let alerts = bob.alerts().await?;
            let url = bob.current_url().await?;
            return Ok(Some(format!(
                "Bob lost the room: he is at {url}; alerts: {alerts:?}"
            )));
        }
        let dump = idb::dump(&bob).await?;
        if !dump
            .records("rooms")
            .iter()
            .any(|r| r["key"] == room.id.as_str())
        {
            return Ok(Some("Bob's device no longer keeps the room".into()));
        }
        Ok(None)
    })
    .await?;

    alice.open_room(&base, &room.id).await?;
    see_each_other(&alice, "Alice", &bob, "Bob").await?;
    say(&alice, "[A1] back again", &[&bob]).await?;
    say(&bob, "[B1] I kept the room", &[&alice]).await?;
    wait_until(
        "the doubt about the password to go",
        DELIVERY_TIMEOUT,
        || async {
            let alerts = bob.alerts().await?;
            Ok((!alerts.iter().any(|a| a.contains(MAY_BE_WRONG))).then_some(()))
        },
    )
    .await?;
    // The room and its history are kept on Bob's device.
    bob.reload().await?;
    if bob.wait_for_room_view().await? != room.id {
        return Err("after a reload Bob is not in the room".into());
    }
    bob.wait_for_messages(&["[A1]", "[B1]"], DELIVERY_TIMEOUT)
        .await?;
    let met = connected_count(&mallory).await?;
    if met != 0 {
        return Err(format!(
            "Mallory, without the password, has {met} peer connections"
        ));
    }
    bob.assert_no_console_errors().await?;
    Ok(())
}

/// Alice, and the room "Locked room" she created with [`PASSWORD`].
async fn alice_with_a_locked_room(ctx: &Ctx, base: &str) -> TestResult<(Browser, Room)> {
    let alice = user(ctx, base, "alice", "Alice").await?;
    let room = alice
        .create_room(NewRoom {
            name: Some("Locked room"),
            password: Some(PASSWORD),
            ..NewRoom::default()
        })
        .await?;
    Ok((alice, room))
}

/// `Some(())` while `b` shows the room `id`.
async fn in_room(b: &Browser, id: &str) -> TestResult<Option<()>> {
    Ok((b.room_id_in_route().await?.as_deref() == Some(id)).then_some(()))
}
