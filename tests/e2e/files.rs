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

/// Waits until `who` shows the image `name` whole (`width`×`height`, not the thumbnail,
/// which is at most 320 pixels on its longer side), then saves it and checks that the file
/// saved under its name has exactly the bytes hashed `hash`.
pub(crate) async fn wait_for_image(
    who: &Browser,
    name: &str,
    size: (u64, u64),
    hash: &str,
) -> TestResult {
    who.find_by_role_for("image", name, DELIVERY_TIMEOUT)
        .await?;
    wait_until(
        &format!("{} showing {name} whole", who.name),
        FILE_TIMEOUT,
        || async { Ok(who.shown_image(name).await?.filter(|s| *s == size)) },
    )
    .await?;
    let dir = who.allow_downloads().await?;
    who.find_by_role("button", &format!("Save {name}"))
        .await?
        .click()
        .await
        .map_err(|e| format!("{}: clicking Save: {e}", who.name))?;
    let saved = who.downloaded(&dir, name, FILE_TIMEOUT).await?;
    if saved != hash {
        return Err(format!(
            "{} saved {name} with SHA-256 {saved}, sent {hash}",
            who.name
        ));
    }
    Ok(())
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
    wait_for_image(&alice, "beach.png", (400, 300), &sent.hash).await?;
    wait_for_image(&bob, "beach.png", (400, 300), &sent.hash).await?;
    bob.screenshot("photo").await?;
    alice.quit().await?;
    let carol = user(&ctx, &base, "carol", "Carol").await?;
    carol.join(&room.link).await?;
    wait_for_image(&carol, "beach.png", (400, 300), &sent.hash).await?;
    carol.assert_accessible("room with a photo").await?;
    Ok(())
}
