//! A peer that sends entries with broken signatures is dropped, and what it sent is neither
//! shown nor stored.

use std::time::Duration;

use natter_e2e::app::DELIVERY_TIMEOUT;
use natter_e2e::browser::Browser;
use natter_e2e::idb;
use natter_e2e::runner::Ctx;
use natter_e2e::wait::{never_during, wait_until};
use natter_e2e::TestResult;

use crate::setup::{say, see_each_other, user};

const FORGED: &str = "forged message from Alice";

/// Words an alert about Alice's bad entries may use.
pub fn names_the_misbehaviour(alert: &str) -> bool {
    let t = alert.to_lowercase();
    [
        "verif",
        "signature",
        "misbehav",
        "forg",
        "tamper",
        "invalid",
        "corrupt",
        "alice",
    ]
    .iter()
    .any(|w| t.contains(w))
}

/// Alice, Bob and Carol share a room. Alice's browser starts corrupting the signatures of the
/// entries it sends (the harness's tamper switch, no hook in the app) and she posts; Bob and
/// Carol each drop her with an alert, never show or store the forged message, and carry on
/// chatting between themselves.
pub async fn tampering_peer_is_dropped(ctx: Ctx) -> TestResult {
    let base = ctx.base_url();
    let alice = user(&ctx, &base, "alice", "Alice").await?;
    let room = alice.create_named_room("Tamper test").await?;
    let bob = user(&ctx, &base, "bob", "Bob").await?;
    bob.join(&room.link).await?;
    let carol = user(&ctx, &base, "carol", "Carol").await?;
    carol.join(&room.link).await?;
    see_each_other(&alice, "Alice", &bob, "Bob").await?;
    see_each_other(&alice, "Alice", &carol, "Carol").await?;
    see_each_other(&bob, "Bob", &carol, "Carol").await?;
    say(&alice, "[A1] an honest message", &[&bob, &carol]).await?;

    let (alice_ref, bob_ref, carol_ref) = (&alice, &bob, &carol);
    alice.set_tamper(true).await?;
    alice.post(FORGED).await?;
    wait_until(
        "Alice's browser to corrupt an entry frame",
        Duration::from_secs(10),
        move || async move { Ok((alice_ref.tampered_frames().await? > 0).then_some(())) },
    )
    .await?;

    for peer in [&bob, &carol] {
        peer.wait_for_alert(
            "about Alice's bad entry",
            names_the_misbehaviour,
            DELIVERY_TIMEOUT,
        )
        .await?;
        wait_until(
            &format!("{} to drop Alice", peer.name),
            DELIVERY_TIMEOUT,
            move || async move {
                let peers = peer.peers().await?;
                Ok((!peers
                    .iter()
                    .any(|p| p.contains("Alice") && p.contains("online")))
                .then_some(()))
            },
        )
        .await?;
    }
    bob.screenshot("tamper-dropped").await?;

    never_during(Duration::from_secs(5), move || async move {
        for peer in [bob_ref, carol_ref] {
            if let Some(why) = shows_forged(peer).await? {
                return Ok(Some(why));
            }
        }
        Ok(None)
    })
    .await?;

    say(&bob, "[B1] Alice is gone", &[&carol]).await?;
    say(&carol, "[C1] we carry on", &[&bob]).await?;

    for peer in [&bob, &carol] {
        if let Some(why) = shows_forged(peer).await? {
            return Err(why);
        }
        let stored = idb::dump(peer).await?;
        if stored.contains(FORGED) {
            return Err(format!(
                "{} stored the forged message in {:?}",
                peer.name,
                stored.where_is(FORGED)
            ));
        }
    }
    Ok(())
}

/// Why `peer` fails the test if it shows the forged message.
async fn shows_forged(peer: &Browser) -> TestResult<Option<String>> {
    let shown = peer.messages().await?;
    Ok(shown
        .iter()
        .any(|m| m.text.contains(FORGED))
        .then(|| format!("{} shows the forged message: {shown:?}", peer.name)))
}
