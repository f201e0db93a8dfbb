//! Two people chatting: every message reaches the other side, both sides show one order,
//! and a reload loses nothing.

use std::time::Duration;

use natter_e2e::app::{order_of, DELIVERY_TIMEOUT};
use natter_e2e::runner::Ctx;
use natter_e2e::TestResult;

use crate::setup::{alice_and_bob_in_a_room, authored_by, say, see_each_other, user};

/// Alice creates a room, Bob joins with the invite link, they chat in turns and all at once,
/// and both logs end up with every message in the same order.
pub async fn a_and_b_chat_in_the_same_order(ctx: Ctx) -> TestResult {
    let base = ctx.base_url();
    let alice = user(&ctx, &base, "alice", "Alice").await?;
    alice.screenshot("home").await?;
    let room = alice.create_named_room("Order test").await?;
    alice.screenshot("room").await?;

    let bob = user(&ctx, &base, "bob", "Bob").await?;
    let joined = bob.join(&room.link).await?;
    if joined != room.id {
        return Err(format!("the invite opened room {joined}, not {}", room.id));
    }
    see_each_other(&alice, "Alice", &bob, "Bob").await?;
    alice
        .wait_for_status("1 peer connected", DELIVERY_TIMEOUT)
        .await?;
    bob.wait_for_status("1 peer connected", DELIVERY_TIMEOUT)
        .await?;
    alice.screenshot_region("Peers", "peers").await?;
    alice.screenshot_region("Invite", "invite").await?;

    // In turns: each message is seen before the next is written, so this is the order.
    let turns = [
        (&alice, &bob, "[A1] Hello Bob"),
        (&bob, &alice, "[B1] Hi Alice"),
        (&alice, &bob, "[A2] Lunch at noon?"),
        (&bob, &alice, "[B2] Sure"),
        (&alice, &bob, "[A3] See you"),
    ];
    for (from, to, text) in turns {
        say(from, text, &[to]).await?;
    }
    // All at once: the order of concurrent messages is up to the protocol, but it must be
    // the same on both sides.
    let burst = [
        (&alice, "[A4] one more thing"),
        (&bob, "[B3] yes?"),
        (&alice, "[A5] bring the slides"),
        (&bob, "[B4] will do"),
    ];
    for (from, text) in burst {
        from.post(text).await?;
    }
    let tokens = [
        "[A1]", "[B1]", "[A2]", "[B2]", "[A3]", "[A4]", "[B3]", "[A5]", "[B4]",
    ];
    alice.wait_for_messages(&tokens, DELIVERY_TIMEOUT).await?;
    bob.wait_for_messages(&tokens, DELIVERY_TIMEOUT).await?;
    // Give late duplicates a chance to show before comparing.
    tokio::time::sleep(Duration::from_secs(1)).await;

    let seen_by_alice = order_of(&alice.messages().await?, &tokens);
    let seen_by_bob = order_of(&bob.messages().await?, &tokens);
    if seen_by_alice.len() != tokens.len() {
        return Err(format!(
            "Alice's log shows {seen_by_alice:?}, expected each of {tokens:?} once"
        ));
    }
    if seen_by_alice != seen_by_bob {
        return Err(format!(
            "the logs differ: Alice sees {seen_by_alice:?}, Bob sees {seen_by_bob:?}"
        ));
    }
    if seen_by_alice[..5] != tokens[..5] {
        return Err(format!(
            "messages written in turns are out of order: {seen_by_alice:?}"
        ));
    }
    for (earlier, later) in [
        ("[A4]", "[A5]"),
        ("[B3]", "[B4]"),
        ("[A3]", "[A4]"),
        ("[B2]", "[B3]"),
    ] {
        let pos = |t: &str| seen_by_alice.iter().position(|x| *x == t);
        if pos(earlier) > pos(later) {
            return Err(format!(
                "{earlier} was written before {later} by the same person but shows after it: \
                 {seen_by_alice:?}"
            ));
        }
    }
    authored_by(&bob, &["[A1]", "[A5]"], "Alice").await?;
    authored_by(&alice, &["[B1]", "[B4]"], "Bob").await?;
    alice.screenshot("chat-alice").await?;
    bob.screenshot("chat-bob").await?;
    alice.assert_no_console_errors().await?;
    bob.assert_no_console_errors().await?;
    Ok(())
}

/// Bob reloads the page: the history is all still there, in the same order, once, and the
/// two carry on chatting.
pub async fn history_survives_reload(ctx: Ctx) -> TestResult {
    let base = ctx.base_url();
    let (alice, bob, room) = alice_and_bob_in_a_room(&ctx, &base, "Reload test").await?;
    say(&alice, "[A1] before the reload", &[&bob]).await?;
    say(&bob, "[B1] still here", &[&alice]).await?;
    say(&alice, "[A2] good", &[&bob]).await?;
    let tokens = ["[A1]", "[B1]", "[A2]"];
    let before = order_of(&bob.messages().await?, &tokens);

    bob.reload().await?;
    let id = bob.wait_for_room_view().await?;
    if id != room.id {
        return Err(format!(
            "after the reload Bob is in room {id}, not {}",
            room.id
        ));
    }
    bob.wait_for_messages(&tokens, DELIVERY_TIMEOUT).await?;
    let after = order_of(&bob.messages().await?, &tokens);
    if after != before {
        return Err(format!(
            "Bob's history changed over the reload: {before:?} before, {after:?} after"
        ));
    }
    authored_by(&bob, &["[A1]", "[A2]"], "Alice").await?;
    bob.screenshot("reload-history").await?;

    see_each_other(&alice, "Alice", &bob, "Bob").await?;
    say(&alice, "[A3] welcome back", &[&bob]).await?;
    say(&bob, "[B2] thanks", &[&alice]).await?;
    let all = ["[A1]", "[B1]", "[A2]", "[A3]", "[B2]"];
    let final_alice = order_of(&alice.messages().await?, &all);
    let final_bob = order_of(&bob.messages().await?, &all);
    if final_alice != all || final_bob != all {
        return Err(format!(
            "after the reload the logs read {final_alice:?} (Alice) and {final_bob:?} (Bob), \
             expected {all:?} on both"
        ));
    }
    Ok(())
}
