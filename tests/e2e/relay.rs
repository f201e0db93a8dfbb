//! Relay only: with a TURN server set in Settings and "Relay only" ticked, peers talk through
//! the relay and never expose their own addresses.

use natter_e2e::browser::Browser;
use natter_e2e::rtc;
use natter_e2e::runner::Ctx;
use natter_e2e::turn::{self, Coturn};
use natter_e2e::TestResult;

use crate::setup::{say, see_each_other, user};

/// coturn runs inside the namespace; Alice and Bob enter it in Settings with "Relay only",
/// chat, and `getStats()` shows that the candidate pair in use has a relay candidate on
/// both ends of every connected peer connection.
pub async fn relay_only_through_coturn(ctx: Ctx) -> TestResult {
    let coturn = Coturn::start().await?;
    match relay_chat(&ctx, &coturn).await {
        Ok(()) => Ok(()),
        Err(e) => {
            let log = coturn.log();
            let tail: Vec<&str> = log.lines().rev().take(40).collect();
            let tail: Vec<&str> = tail.into_iter().rev().collect();
            Err(format!(
                "{e}\n--- coturn log (last lines) ---\n{}",
                tail.join("\n")
            ))
        }
    }
}

async fn relay_chat(ctx: &Ctx, coturn: &Coturn) -> TestResult {
    let base = ctx.base_url();
    let url = coturn.url();
    let alice = user(ctx, &base, "alice", "Alice").await?;
    alice
        .save_ice_settings(&base, &[&url], turn::USERNAME, turn::CREDENTIAL, true)
        .await?;
    alice.screenshot("relay-settings").await?;
    alice.open_home(&base).await?;
    let room = alice.create_named_room("Relay test").await?;

    let bob = user(ctx, &base, "bob", "Bob").await?;
    bob.save_ice_settings(&base, &[&url], turn::USERNAME, turn::CREDENTIAL, true)
        .await?;
    bob.join(&room.link).await?;
    see_each_other(&alice, "Alice", &bob, "Bob").await?;
    say(&alice, "[A1] through the relay", &[&bob]).await?;
    say(&bob, "[B1] hidden addresses", &[&alice]).await?;
    alice.screenshot("relay-chat").await?;

    relayed(&alice).await?;
    relayed(&bob).await?;
    Ok(())
}

/// Fails unless `b` has a connected peer connection and every connected one uses the relay
/// policy and a relay candidate pair.
async fn relayed(b: &Browser) -> TestResult {
    relayed_ends(b, true).await
}

/// Fails unless `b` has a connected peer connection and every connected one uses the relay
/// policy and a pair whose local candidate is a relay (and the remote one too, with
/// `both_ends`: a keeper answers from its own address).
pub async fn relayed_ends(b: &Browser, both_ends: bool) -> TestResult {
    let conns = rtc::connections(b).await?;
    let connected: Vec<&rtc::Connection> =
        conns.iter().filter(|c| c.state == "connected").collect();
    if connected.is_empty() {
        return Err(format!(
            "{}: no connected peer connection to inspect: {conns:?}",
            b.name
        ));
    }
    for c in connected {
        if c.policy != "relay" {
            return Err(format!(
                "{}: a peer connection uses iceTransportPolicy {:?}, not \"relay\": {c:?}",
                b.name, c.policy
            ));
        }
        if c.pairs.is_empty() {
            return Err(format!(
                "{}: a connected peer connection has no selected candidate pair: {c:?}",
                b.name
            ));
        }
        for p in &c.pairs {
            if p.local_type != "relay" || (both_ends && p.remote_type != "relay") {
                return Err(format!(
                    "{}: the selected candidate pair is {} → {}, not relay → relay: {p:?}",
                    b.name, p.local_type, p.remote_type
                ));
            }
        }
    }
    Ok(())
}
