//! A room with a password: the invite alone is not enough, a wrong password is refused in
//! words and connects to nobody, the right one joins.

use std::time::Duration;

use natter_e2e::app::{NewRoom, DELIVERY_TIMEOUT, JOIN_TIMEOUT};
use natter_e2e::rtc::connected_count;
use natter_e2e::runner::Ctx;
use natter_e2e::wait::never_during;
use natter_e2e::TestResult;

use crate::setup::{say, see_each_other, user};

const PASSWORD: &str = "correct horse battery staple";

/// Alice creates a room with a password; Bob opens the invite, is asked for the password,
/// is refused with a wrong one (an alert that says so, no peer connection), then joins with
/// the right one and chats.
pub async fn password_room(ctx: Ctx) -> TestResult {
    let base = ctx.base_url();
    let alice = user(&ctx, &base, "alice", "Alice").await?;
    let room = alice
        .create_room(NewRoom {
            name: Some("Locked room"),
            password: Some(PASSWORD),
            ..NewRoom::default()
        })
        .await?;

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
            |t| t.to_lowercase().contains("password"),
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

    // The prompt may still be there; if not, open the invite again.
    if bob
        .find_password_for("Room password for this invite", Duration::from_secs(2))
        .await
        .is_err()
    {
        bob.goto("about:blank").await?;
        bob.open_invite(&room.link).await?;
    }
    bob.confirm_join(Some(PASSWORD)).await?;
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
    Ok(())
}
