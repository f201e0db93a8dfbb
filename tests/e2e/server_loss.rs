//! The signaling server goes away mid-chat: peers that are connected keep talking, the
//! status line says the app is reconnecting, and once the server is back a newcomer joins
//! and gets the whole history.

use std::time::Duration;

use natter_e2e::app::{order_of, DELIVERY_TIMEOUT};
use natter_e2e::runner::Ctx;
use natter_e2e::server::TestServer;
use natter_e2e::TestResult;

use crate::setup::{authored_by, say, see_each_other, user};

/// How long the app may take to get back to a restarted server (its back-off included).
const RECONNECT_TIMEOUT: Duration = Duration::from_secs(75);

/// On a server of its own (restartable on the same port, so the pages keep their origin):
/// Alice and Bob chat, the server stops, they keep chatting while the status line says
/// "Reconnecting", the server comes back, and Dave joins with the invite link and receives
/// everything.
pub async fn server_killed_mid_chat(ctx: Ctx) -> TestResult {
    let server = TestServer::start_on_free_port().await?;
    let base = server.base_url();
    let alice = user(&ctx, &base, "alice", "Alice").await?;
    let room = alice.create_named_room("Server loss").await?;
    let bob = user(&ctx, &base, "bob", "Bob").await?;
    bob.join(&room.link).await?;
    see_each_other(&alice, "Alice", &bob, "Bob").await?;
    say(&alice, "[A1] server is up", &[&bob]).await?;
    say(&bob, "[B1] indeed", &[&alice]).await?;

    server.stop().await?;
    alice
        .wait_for_status("Reconnecting", Duration::from_secs(20))
        .await?;
    bob.wait_for_status("Reconnecting", Duration::from_secs(20))
        .await?;
    alice.screenshot("server-down").await?;
    say(&alice, "[A2] the server is gone", &[&bob]).await?;
    say(&bob, "[B2] we do not need it", &[&alice]).await?;
    let status = alice.status_text().await?;
    if !status.contains("1 peer connected") {
        return Err(format!(
            "without the server Alice's status line should still count Bob: {status:?}"
        ));
    }

    server.restart().await?;
    alice
        .wait_for_status("Connected to the server", RECONNECT_TIMEOUT)
        .await?;
    bob.wait_for_status("Connected to the server", RECONNECT_TIMEOUT)
        .await?;

    let dave = user(&ctx, &base, "dave", "Dave").await?;
    dave.join(&room.link).await?;
    let tokens = ["[A1]", "[B1]", "[A2]", "[B2]"];
    dave.wait_for_messages(&tokens, DELIVERY_TIMEOUT).await?;
    authored_by(&dave, &["[A1]", "[A2]"], "Alice").await?;
    authored_by(&dave, &["[B1]", "[B2]"], "Bob").await?;
    let dave_order = order_of(&dave.messages().await?, &tokens);
    let alice_order = order_of(&alice.messages().await?, &tokens);
    if dave_order != tokens || alice_order != tokens {
        return Err(format!(
            "Dave sees {dave_order:?} and Alice {alice_order:?}, expected {tokens:?}"
        ));
    }
    dave.screenshot("server-back").await?;
    say(&dave, "[D1] hello all", &[&alice, &bob]).await?;
    Ok(())
}
