//! Scenes several tests start from: a named user, two users in one room, one message
//! crossing from one browser to another.

use natter_e2e::app::{Room, DELIVERY_TIMEOUT};
use natter_e2e::browser::Browser;
use natter_e2e::runner::Ctx;
use natter_e2e::wait::wait_until;
use natter_e2e::TestResult;

/// Launches a browser for `who` with a fresh profile and sets the display name `name`.
pub async fn user(ctx: &Ctx, base: &str, who: &str, name: &str) -> TestResult<Browser> {
    let b = ctx.launch(who).await?;
    b.set_name(base, name).await?;
    Ok(b)
}

/// Alice creates the room `room_name`, Bob opens its invite link, and each sees the other
/// online.
pub async fn alice_and_bob_in_a_room(
    ctx: &Ctx,
    base: &str,
    room_name: &str,
) -> TestResult<(Browser, Browser, Room)> {
    let alice = user(ctx, base, "alice", "Alice").await?;
    let room = alice.create_named_room(room_name).await?;
    let bob = user(ctx, base, "bob", "Bob").await?;
    let joined = bob.join(&room.link).await?;
    if joined != room.id {
        return Err(format!(
            "Bob's invite link opened room {joined}, Alice created {}",
            room.id
        ));
    }
    see_each_other(&alice, "Alice", &bob, "Bob").await?;
    Ok((alice, bob, room))
}

/// Waits until `a` lists `b_name` online and `b` lists `a_name` online.
pub async fn see_each_other(a: &Browser, a_name: &str, b: &Browser, b_name: &str) -> TestResult {
    a.wait_for_peer(b_name, "online", DELIVERY_TIMEOUT).await?;
    b.wait_for_peer(a_name, "online", DELIVERY_TIMEOUT).await?;
    Ok(())
}

/// `from` posts `text` and every one of `to` receives it.
pub async fn say(from: &Browser, text: &str, to: &[&Browser]) -> TestResult {
    from.post(text).await?;
    for b in to {
        b.wait_for_message(text, DELIVERY_TIMEOUT).await?;
    }
    Ok(())
}

/// Waits until every message containing one of `tokens` in `b`'s log is shown as by
/// `author` (names arrive with the author's profile, possibly after the messages).
pub async fn authored_by(b: &Browser, tokens: &[&str], author: &str) -> TestResult {
    let result = wait_until(
        &format!("{}: messages {tokens:?} shown as from {author}", b.name),
        DELIVERY_TIMEOUT,
        move || async move {
            let messages = b.messages().await?;
            let ok = tokens.iter().all(|t| {
                messages
                    .iter()
                    .any(|m| m.text.contains(t) && m.author == author)
            });
            Ok(ok.then_some(()))
        },
    )
    .await;
    if let Err(e) = result {
        let shown = b.messages().await.unwrap_or_default();
        return Err(format!("{e}; the log shows {shown:?}"));
    }
    Ok(())
}
