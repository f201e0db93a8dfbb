//! Photos and files: a picture sent from the composer shows inline at the peer with the
//! very bytes sent, and a later joiner gets it from that peer once the sender is gone.

use std::time::Duration;

use natter_e2e::app::DELIVERY_TIMEOUT;
use natter_e2e::browser::Browser;
use natter_e2e::runner::Ctx;
use natter_e2e::wait::wait_until;
use natter_e2e::TestResult;

use crate::setup::{alice_and_bob_in_a_room, user};

/// How long a picture of a few hundred KiB may take to arrive whole.
const FILE_TIMEOUT: Duration = Duration::from_secs(60);

/// Waits until `who` shows the image `name` with exactly the bytes hashed `hash`, as an
/// allow-listed image type (not the thumbnail, which shows first).
async fn wait_for_image(who: &Browser, name: &str, hash: &str) -> TestResult {
    who.find_by_role_for("img", name, DELIVERY_TIMEOUT).await?;
    let mut last = None;
    wait_until(FILE_TIMEOUT, || async {
        last = who.shown_image(name).await?;
        Ok(last.as_ref().is_some_and(|(h, _)| h == hash))
    })
    .await
    .map_err(|e| format!("{e}; the image {name:?} shows {last:?}, sent {hash}"))?;
    match last {
        Some((_, kind)) if kind == "image/png" => Ok(()),
        other => Err(format!("the image is served as {other:?}, not image/png")),
    }
}

/// Alice attaches a picture; Bob sees it inline, byte for byte; Alice leaves; Carol joins
/// and gets the picture from Bob alone.
pub async fn a_photo_reaches_peers_inline_and_byte_identical(ctx: Ctx) -> TestResult {
    let base = ctx.base_url();
    let (alice, bob, room) = alice_and_bob_in_a_room(&ctx, &base, "Photos").await?;
    // About 470 KiB of noise: eight chunks.
    let sent = alice.attach_image("beach.png", 400, 300, 7).await?;
    if sent.size < 5 * 64 * 1024 {
        return Err(format!("the picture is only {} bytes", sent.size));
    }
    wait_for_image(&alice, "beach.png", &sent.hash).await?;
    wait_for_image(&bob, "beach.png", &sent.hash).await?;
    bob.screenshot("photo").await?;
    alice.quit().await?;
    let carol = user(&ctx, &base, "carol", "Carol").await?;
    carol.join(&room.link).await?;
    wait_for_image(&carol, "beach.png", &sent.hash).await?;
    carol.assert_accessible("room with a photo").await?;
    Ok(())
}
