//! Safety numbers: once a peer is marked verified, a new key under the same name is flagged.

use natter_e2e::app::DELIVERY_TIMEOUT;
use natter_e2e::runner::Ctx;
use natter_e2e::wait::wait_until;
use natter_e2e::TestResult;

use crate::setup::{alice_and_bob_in_a_room, user};

/// Alice marks Bob verified; Bob comes back from a new profile (a new key) under the same
/// name; Alice sees the key-change warning.
pub async fn verification_warning_on_key_change(ctx: Ctx) -> TestResult {
    let base = ctx.base_url();
    let (alice, bob, room) = alice_and_bob_in_a_room(&ctx, &base, "Verify test").await?;
    let panel = alice.find_by_role("region", "Peers").await?;
    let mark = alice
        .find_by_role_within(&panel, "button", "Mark Bob as verified")
        .await?;
    mark.click()
        .await
        .map_err(|e| format!("clicking \"Mark Bob as verified\": {e}"))?;
    let alice_ref = &alice;
    wait_until(
        "Alice's Peers panel to show Bob verified",
        DELIVERY_TIMEOUT,
        move || async move {
            let peers = alice_ref.peers().await?;
            Ok(peers
                .iter()
                .any(|p| p.contains("Bob") && p.contains("Verified"))
                .then_some(()))
        },
    )
    .await?;
    alice.screenshot_region("Peers", "verified").await?;
    let early = alice.alerts().await?;
    if early
        .iter()
        .any(|a| a.contains("safety number has changed"))
    {
        return Err(format!(
            "a key-change warning shows before any change: {early:?}"
        ));
    }
    bob.quit().await?;

    // Same person, same name, new device: a new identity key.
    let bob = user(&ctx, &base, "bob", "Bob").await?;
    bob.join(&room.link).await?;
    let warning = alice
        .wait_for_alert(
            "that Bob's safety number has changed",
            |t| t.contains("Bob") && t.contains("safety number has changed"),
            DELIVERY_TIMEOUT,
        )
        .await?;
    if !warning.contains("not the one you verified") {
        return Err(format!(
            "the key-change warning does not say the key is not the verified one: {warning:?}"
        ));
    }
    alice
        .screenshot_region("Peers", "key-change-warning")
        .await?;
    Ok(())
}
