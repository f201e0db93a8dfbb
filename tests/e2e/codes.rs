//! Join codes: a short code shown in a room, typed by someone on the home view, hands over
//! the room without the signaling server learning which room it is. A mistyped code fails
//! in words and leaves the code open for another try; an expired one is refused in words.
//! A newcomer is asked for a name on the first join, and only then.

use std::time::Duration;

use natter_core::signal::MAX_CODE_TRIES;
use natter_e2e::app::{CODE_TIMEOUT, DELIVERY_TIMEOUT, JOIN_TIMEOUT};
use natter_e2e::browser::Browser;
use natter_e2e::runner::Ctx;
use natter_e2e::server::TestServer;
use natter_e2e::wait::{never_during, wait_until};
use natter_e2e::TestResult;
use serde_json::Value;

use crate::setup::{authored_by, say, see_each_other, user};

/// The inviter's status while the code waits.
const WAITING: &str = "Waiting for someone to enter the code…";
/// The joiner's status after a mistyped code.
const DIDNT_MATCH: &str = "That code didn't match — check it and try again.";
/// The joiner's status for a code that is no longer open.
const NOT_OPEN: &str = "That code is not open any more — it may have expired. Ask for a new one.";
/// The field a newcomer is asked their name in.
const FIRST_NAME: &str = "Your name (optional)";

/// Alice shows a code; Bob, new here, types it with spaces for dashes and gives his name;
/// he lands in Alice's room, Alice reads that Bob joined, and they chat. Meanwhile both
/// pages record their WebSocket frames: the code exchange went through the server (a
/// `code_claim` was sent), yet no frame holds the invite or the room's name.
pub async fn join_codes_hand_over_the_room_unseen_by_the_server(ctx: Ctx) -> TestResult {
    const ROOM: &str = "Kitchen table";
    let base = ctx.base_url();
    let alice = user(&ctx, &base, "alice", "Alice").await?;
    let room = alice.create_named_room(ROOM).await?;
    let bob = ctx.launch("bob").await?;
    bob.open_home(&base).await?;
    // The code's socket is opened when the exchange starts, after this.
    alice.record_websocket_frames().await?;
    bob.record_websocket_frames().await?;

    let code = alice.show_code(None).await?;
    alice
        .wait_for_code_status(|t| t == WAITING, CODE_TIMEOUT)
        .await?;
    alice.screenshot_region("Invite", "code-shown").await?;
    alice
        .assert_accessible("a room showing a join code")
        .await?;
    joins_with(&bob, &code.replace('-', " "), Some("Bob"), &room.id).await?;
    alice
        .wait_for_code_status(|t| t == "Bob joined with the code.", CODE_TIMEOUT)
        .await?;
    see_each_other(&alice, "Alice", &bob, "Bob").await?;
    say(&alice, "[A1] welcome, Bob", &[&bob]).await?;
    say(&bob, "[B1] thanks for the code", &[&alice]).await?;
    authored_by(&alice, &["[B1]"], "Bob").await?;

    let payload = room
        .link
        .split_once("#/join/")
        .map(|(_, p)| p)
        .filter(|p| !p.is_empty())
        .ok_or_else(|| format!("the invite link {:?} has no payload", room.link))?;
    for b in [&alice, &bob] {
        let frames = b.websocket_frames().await?;
        if let Some(f) = frames.iter().find(|f| f.contains(payload)) {
            return Err(format!(
                "{}'s WebSocket carried the room's invite: {f:?}",
                b.name
            ));
        }
        if let Some(f) = frames.iter().find(|f| f.contains(ROOM)) {
            return Err(format!(
                "{}'s WebSocket carried the room's name: {f:?}",
                b.name
            ));
        }
    }
    // The recorders saw the exchange, so the absence above means something.
    for (b, sent) in [(&alice, "code_open"), (&bob, "code_claim")] {
        let types = frame_types(&b.websocket_frames().await?);
        if !types.iter().any(|t| t == sent) {
            return Err(format!(
                "{}'s recorder saw no {sent:?} frame, only {types:?}",
                b.name
            ));
        }
    }
    alice.assert_no_console_errors().await?;
    bob.assert_no_console_errors().await?;
    Ok(())
}

/// Bob types Alice's mailbox number with other secret digits: he is told the code didn't
/// match and stays home, Alice is told of a wrong try; then he types the right code and
/// joins without giving a name, so Alice reads that someone joined.
pub async fn join_codes_refuse_a_wrong_code_and_stay_open(ctx: Ctx) -> TestResult {
    let base = ctx.base_url();
    let alice = user(&ctx, &base, "alice", "Alice").await?;
    let room = alice.create_named_room("Second try").await?;
    let bob = ctx.launch("bob").await?;
    bob.open_home(&base).await?;

    let code = alice.show_code(None).await?;
    let wrong = with_other_secret(&code)?;
    bob.enter_code(&wrong, None).await?;
    bob.wait_for_join_code_status(|t| t == DIDNT_MATCH, CODE_TIMEOUT)
        .await?;
    let tries_left = format!("{} tries left", MAX_CODE_TRIES - 1);
    alice
        .wait_for_code_status(
            |t| t.contains("wrong code") && t.contains(&tries_left),
            CODE_TIMEOUT,
        )
        .await?;
    alice.screenshot_region("Invite", "code-wrong-try").await?;
    if let Some(id) = bob.room_id_in_route().await? {
        return Err(format!("a wrong code took Bob into room {id}"));
    }
    if alice.shown_code().await?.as_deref() != Some(code.as_str()) {
        return Err(format!(
            "after one wrong try Alice no longer shows {code}: {:?}",
            alice.shown_code().await?
        ));
    }

    joins_with(&bob, &code, None, &room.id).await?;
    alice
        .wait_for_code_status(|t| t == "Someone joined with the code.", CODE_TIMEOUT)
        .await?;
    alice.assert_no_console_errors().await?;
    bob.assert_no_console_errors().await?;
    Ok(())
}

/// On a server that keeps codes at most two seconds, Alice asks for a one-minute code: it
/// expires within seconds and she is told so; Bob types it afterwards, is told it is not
/// open any more, and stays on the home view.
pub async fn join_codes_expire(ctx: Ctx) -> TestResult {
    let server = TestServer::start_with_code_ttl(Duration::from_secs(2)).await?;
    let base = server.base_url();
    let alice = user(&ctx, &base, "alice", "Alice").await?;
    alice.create_named_room("Short code").await?;
    let bob = ctx.launch("bob").await?;
    bob.open_home(&base).await?;

    let code = alice.show_code(Some("1 minute")).await?;
    // Well under the minute asked for: the server's limit applies.
    alice
        .wait_for_code_status(|t| t == "The code expired.", Duration::from_secs(15))
        .await?;
    if let Some(still) = alice.shown_code().await? {
        return Err(format!("Alice still shows the expired code {still:?}"));
    }
    bob.enter_code(&code, None).await?;
    bob.wait_for_join_code_status(|t| t == NOT_OPEN, CODE_TIMEOUT)
        .await?;
    bob.screenshot("code-expired").await?;
    bob.assert_accessible("the home view after an expired code")
        .await?;
    never_during(Duration::from_secs(1), || async {
        Ok(bob
            .room_id_in_route()
            .await?
            .map(|id| format!("an expired code took Bob into room {id}")))
    })
    .await?;
    bob.find_by_role("heading", "Join with a code").await?;
    bob.assert_no_console_errors().await?;
    Ok(())
}

/// Alice, who chose her name, is not asked for one under "Join with a code". Bob, new here,
/// opens her invite link: the question asks for his name, he gives "Bea", and Alice sees Bea
/// join; Bea's room view shows the name she gave.
pub async fn join_codes_first_join_asks_for_a_name(ctx: Ctx) -> TestResult {
    let base = ctx.base_url();
    let alice = user(&ctx, &base, "alice", "Alice").await?;
    alice.find_by_role("textbox", "Join code").await?;
    not_asked_for_a_name(&alice).await?;
    let room = alice.create_named_room("Name check").await?;

    let bob = ctx.launch("bob").await?;
    bob.open_invite(&room.link).await?;
    bob.find_by_role_for("heading", "Join room “Name check”?", JOIN_TIMEOUT)
        .await?;
    bob.type_into("textbox", FIRST_NAME, "Bea").await?;
    bob.screenshot("join-question-name").await?;
    bob.confirm_join(None).await?;
    let joined = bob.wait_for_room_view().await?;
    if joined != room.id {
        return Err(format!(
            "Bob joined room {joined}, the invite was for {}",
            room.id
        ));
    }
    alice
        .wait_for_peer("Bea", "online", DELIVERY_TIMEOUT)
        .await?;
    let panel = bob.find_by_role("region", "Your name").await?;
    let field = bob
        .find_by_role_within(&panel, "textbox", "Your name")
        .await?;
    let field = &field;
    let bob_ref = &bob;
    wait_until(
        "Bob's room view to show the name Bea",
        Duration::from_secs(10),
        move || async move { Ok((bob_ref.value_of(field).await? == "Bea").then_some(())) },
    )
    .await?;
    bob.assert_no_console_errors().await?;
    Ok(())
}

/// Fails unless `b` shows no "Your name (optional)" field (after the app settled).
/// `b` enters `code` (giving `name`, if asked) and lands in the room `room`.
async fn joins_with(b: &Browser, code: &str, name: Option<&str>, room: &str) -> TestResult {
    b.enter_code(code, name).await?;
    let joined = b.wait_for_room_view().await?;
    if joined != room {
        return Err(format!(
            "the code {code} opened room {joined}, it was shown in {room}"
        ));
    }
    Ok(())
}

async fn not_asked_for_a_name(b: &Browser) -> TestResult {
    wait_until(
        &format!("{}: no {FIRST_NAME:?} field", b.name),
        Duration::from_secs(10),
        || async {
            Ok(b.try_find_by_role("textbox", FIRST_NAME)
                .await?
                .is_none()
                .then_some(()))
        },
    )
    .await?;
    never_during(Duration::from_secs(1), || async {
        Ok(b.try_find_by_role("textbox", FIRST_NAME)
            .await?
            .map(|_| format!("{} chose a name but is asked for one", b.name)))
    })
    .await
}

/// `code` (`42-123-456`) with its mailbox number and other secret digits.
fn with_other_secret(code: &str) -> TestResult<String> {
    let digits: String = code.chars().filter(char::is_ascii_digit).collect();
    let split = digits
        .len()
        .checked_sub(6)
        .filter(|&n| n >= 2)
        .ok_or_else(|| format!("{code:?} does not look like a join code"))?;
    let (mailbox, secret) = digits.split_at(split);
    let secret: u32 = secret
        .parse()
        .map_err(|e| format!("reading the secret of {code:?}: {e}"))?;
    let other = (secret + 1) % 1_000_000;
    Ok(format!("{mailbox}-{:03}-{:03}", other / 1000, other % 1000))
}

/// The `type` of each recorded frame that is a JSON object with one.
fn frame_types(frames: &[String]) -> Vec<String> {
    frames
        .iter()
        .filter_map(|f| {
            let v: Value = serde_json::from_str(f).ok()?;
            v.get("type")?.as_str().map(str::to_owned)
        })
        .collect()
}
