//! People who are not online at the same time: history comes from whoever is there, and
//! what was written offline is delivered when its author comes back.

use std::time::Duration;

use natter_e2e::app::{order_of, DELIVERY_TIMEOUT};
use natter_e2e::runner::Ctx;
use natter_e2e::wait::{never_during, wait_until};
use natter_e2e::TestResult;

use crate::setup::{alice_and_bob_in_a_room, authored_by, say, user};

/// Alice and Bob chat; Alice closes her browser; Carol joins while only Bob is online and
/// receives the whole history from him, Alice's messages under Alice's name.
pub async fn late_joiner_syncs_from_b_alone(ctx: Ctx) -> TestResult {
    let base = ctx.base_url();
    let (alice, bob, room) = alice_and_bob_in_a_room(&ctx, &base, "Late joiner").await?;
    say(&alice, "[A1] first", &[&bob]).await?;
    say(&bob, "[B1] second", &[&alice]).await?;
    say(&alice, "[A2] third", &[&bob]).await?;
    let tokens = ["[A1]", "[B1]", "[A2]"];
    alice.quit().await?;

    let carol = user(&ctx, &base, "carol", "Carol").await?;
    carol.join(&room.link).await?;
    carol
        .wait_for_peer("Bob", "online", DELIVERY_TIMEOUT)
        .await?;
    carol.wait_for_messages(&tokens, DELIVERY_TIMEOUT).await?;
    authored_by(&carol, &["[A1]", "[A2]"], "Alice").await?;
    authored_by(&carol, &["[B1]"], "Bob").await?;
    let carol_order = order_of(&carol.messages().await?, &tokens);
    let bob_order = order_of(&bob.messages().await?, &tokens);
    if carol_order != tokens || bob_order != tokens {
        return Err(format!(
            "Carol sees {carol_order:?} and Bob {bob_order:?}, expected {tokens:?}"
        ));
    }
    carol.screenshot("late-joiner").await?;
    say(&carol, "[C1] hello Bob", &[&bob]).await?;
    Ok(())
}

/// Alice writes while alone and closes her browser; Bob joins; Alice comes back (same
/// profile) and Bob receives what she wrote while he was not there.
pub async fn offline_post_is_delivered_later(ctx: Ctx) -> TestResult {
    let base = ctx.base_url();
    let alice = user(&ctx, &base, "alice", "Alice").await?;
    let room = alice.create_named_room("Offline test").await?;
    let tokens = ["[A1]", "[A2]"];
    alice.post("[A1] written while alone").await?;
    alice.post("[A2] nobody here yet").await?;
    let saved = alice.wait_for_message("[A2]", DELIVERY_TIMEOUT).await?;
    if !saved.text.contains("saved on this device") {
        return Err(format!(
            "Alice's unsent message does not say \"saved on this device\": {:?}",
            saved.text
        ));
    }
    alice.quit().await?;

    let bob = user(&ctx, &base, "bob", "Bob").await?;
    bob.join(&room.link).await?;
    // Nobody who has the messages is online: nothing can arrive yet.
    let bob_ref = &bob;
    never_during(Duration::from_secs(3), move || async move {
        let shown = bob_ref.messages().await?;
        Ok(shown
            .iter()
            .any(|m| m.text.contains("[A1]"))
            .then(|| format!("Bob shows Alice's message while she is offline: {shown:?}")))
    })
    .await?;

    let alice = ctx.relaunch("alice").await?;
    alice.open_room(&base, &room.id).await?;
    alice.wait_for_messages(&tokens, DELIVERY_TIMEOUT).await?;
    bob.wait_for_messages(&tokens, DELIVERY_TIMEOUT).await?;
    authored_by(&bob, &tokens, "Alice").await?;
    let order = order_of(&bob.messages().await?, &tokens);
    if order != tokens {
        return Err(format!("Bob sees {order:?}, expected {tokens:?}"));
    }
    // Delivery status may lag the messages by a round trip.
    let alice_ref = &alice;
    wait_until(
        "Alice's [A2] to say \"delivered to 1 peer\"",
        DELIVERY_TIMEOUT,
        move || async move {
            let shown = alice_ref.messages().await?;
            Ok(shown
                .iter()
                .any(|m| m.text.contains("[A2]") && m.text.contains("delivered to 1 peer"))
                .then_some(()))
        },
    )
    .await?;
    bob.screenshot("offline-delivered").await?;
    say(&bob, "[B1] got them", &[&alice]).await?;
    Ok(())
}
