//! Photos and files: a picture sent from the composer shows inline at the peer with the
//! very bytes sent, and a later joiner gets it from that peer once the sender is gone.

use std::time::Duration;

use natter_e2e::app::DELIVERY_TIMEOUT;
use natter_e2e::browser::Browser;
use natter_e2e::files::noise_file;
use natter_e2e::runner::Ctx;
use natter_e2e::wait::wait_until;
use natter_e2e::TestResult;
use thirtyfour::Key;

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
    // Removed by the user, a picture is not fetched again on sight, even after a reload
    // with Bob still there to serve it; it is offered for download instead.
    carol
        .click("button", "Remove beach.png from this device")
        .await?;
    carol
        .find_by_role_for("button", "Download beach.png", DELIVERY_TIMEOUT)
        .await?;
    carol.reload().await?;
    carol
        .find_by_role_for("button", "Download beach.png", DELIVERY_TIMEOUT)
        .await?;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let held = carol.stored_chunks().await?;
    if held != 0
        || carol
            .try_find_by_role("button", "Save beach.png")
            .await?
            .is_some()
    {
        return Err(format!(
            "carol fetched the removed picture again after a reload ({held} chunks)"
        ));
    }
    Ok(())
}

/// How long the 200 MiB file may take to be read and stored by its sender, and to travel.
const BIG_TIMEOUT: Duration = Duration::from_secs(240);

/// Alice sends a 200 MiB file from the picker. Bob downloads it with a progress bar that
/// says its speed and time left, pauses it and reloads (it stays paused), resumes it and
/// reloads again (it goes on by itself), and saves the very bytes. The room's "Files on
/// this device" lists it; Alice deletes the message and both devices' chunks are gone.
pub async fn a_large_file_resumes_after_a_reload_and_deleting_it_frees_the_space(
    ctx: Ctx,
) -> TestResult {
    let base = ctx.base_url();
    let (alice, bob, _room) = alice_and_bob_in_a_room(&ctx, &base, "Big files").await?;
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let (path, hash) = noise_file(dir.path(), "big.bin", 200 << 20, 11)?;
    alice.attach_path(&path).await?;
    alice
        .find_by_role_for("button", "Save big.bin", BIG_TIMEOUT)
        .await?;
    bob.find_by_role_for("button", "Download big.bin", DELIVERY_TIMEOUT)
        .await?
        .click()
        .await
        .map_err(|e| format!("bob: clicking Download: {e}"))?;
    let bar = "Download of big.bin";
    wait_until("bob: a quarter of big.bin", BIG_TIMEOUT, || async {
        Ok(bob
            .progress_of(bar)
            .await?
            .filter(|(v, max)| v / max >= 0.25))
    })
    .await?;
    let words = bob
        .wait_for_message("left", Duration::from_secs(10))
        .await?;
    if !words.text.contains("/s ·") {
        return Err(format!("no speed in the progress: {:?}", words.text));
    }
    // By keyboard: the progress is drawn anew several times a second, and the focused
    // button stays the same element, through the drawing and through the pause.
    bob.tab_to("button", "Pause big.bin").await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let on_pause = ("button".to_owned(), "Pause big.bin".to_owned());
    if bob.focused().await? != on_pause {
        return Err(format!(
            "bob's focus left Pause as the download went on: {:?}",
            bob.focused().await?
        ));
    }
    bob.press(Key::Enter).await?;
    let on_resume = ("button".to_owned(), "Resume big.bin".to_owned());
    let paused = wait_until(
        "bob: big.bin paused, focus kept",
        DELIVERY_TIMEOUT,
        || async { Ok((bob.focused().await? == on_resume).then_some(())) },
    )
    .await;
    if let Err(e) = paused {
        return Err(format!("{e}; focus is on {:?}", bob.focused().await?));
    }
    bob.reload().await?;
    bob.find_by_role_for("button", "Resume big.bin", DELIVERY_TIMEOUT)
        .await?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    if bob
        .try_find_by_role("button", "Pause big.bin")
        .await?
        .is_some()
    {
        return Err("bob's paused download went on by itself after a reload".into());
    }
    bob.click("button", "Resume big.bin").await?;
    let resumed_at = bob.progress_of(bar).await?.map_or(0.0, |(v, _)| v);
    wait_until("bob: the download going on", BIG_TIMEOUT, || async {
        Ok(bob.progress_of(bar).await?.filter(|(v, _)| *v > resumed_at))
    })
    .await?;
    bob.reload().await?;
    bob.find_by_role_for("button", "Pause big.bin", DELIVERY_TIMEOUT)
        .await
        .map_err(|e| format!("bob's download did not go on by itself after a reload: {e}"))?;
    bob.find_by_role_for("button", "Save big.bin", BIG_TIMEOUT)
        .await?;
    let downloads = bob.allow_downloads().await?;
    bob.click("button", "Save big.bin").await?;
    let saved = bob.downloaded(&downloads, "big.bin", BIG_TIMEOUT).await?;
    if saved != hash {
        return Err(format!("bob saved big.bin as {saved}, sent {hash}"));
    }
    bob.find_by_role("button", "Remove big.bin from this device")
        .await?;
    let chunks = 200 * 16;
    for who in [&alice, &bob] {
        let held = who.stored_chunks().await?;
        if held != chunks {
            return Err(format!("{} stores {held} chunks, not {chunks}", who.name));
        }
    }
    alice.click_in_message("big.bin", "Delete").await?;
    for who in [&alice, &bob] {
        wait_until(
            &format!("{}: big.bin's chunks deleted", who.name),
            DELIVERY_TIMEOUT,
            || async { Ok((who.stored_chunks().await? == 0).then_some(())) },
        )
        .await?;
    }
    Ok(())
}

/// A file over the size limit set in the settings, and one that does not fit in what the
/// browser grants the site, are refused in words before anything is sent.
pub async fn files_over_the_limit_or_the_space_left_are_refused_in_words(ctx: Ctx) -> TestResult {
    let base = ctx.base_url();
    let (alice, bob, room) = alice_and_bob_in_a_room(&ctx, &base, "Limits").await?;
    alice.goto(&format!("{base}/#/settings")).await?;
    let select = alice
        .find_by_role("combobox", "Largest file to send")
        .await?;
    thirtyfour::components::SelectElement::new(&select)
        .await
        .map_err(|e| format!("reading the size list: {e}"))?
        .select_by_exact_text("25 MB")
        .await
        .map_err(|e| format!("alice: choosing 25 MB: {e}"))?;
    alice.goto(&format!("{base}/#/room/{}", room.id)).await?;
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let (big, _) = noise_file(dir.path(), "thirty.bin", 30 << 20, 3)?;
    alice.attach_path(&big).await?;
    let words = alice
        .wait_for_alert(
            "naming thirty.bin",
            |a| a.contains("thirty.bin"),
            DELIVERY_TIMEOUT,
        )
        .await?;
    if !words.contains("files of up to 25 MB can be sent") {
        return Err(format!("the limit is not said: {words:?}"));
    }
    // The device has 5 MiB left for the site. Chromium ignores a quota set through the
    // DevTools protocol (Storage.overrideQuotaForOrigin) both in what the page is told and
    // in what it may write, so the page is told so the way a nearly full disk would.
    alice.pretend_free_space(5 << 20).await?;
    let (ten, _) = noise_file(dir.path(), "ten.bin", 10 << 20, 4)?;
    alice.attach_path(&ten).await?;
    let words = alice
        .wait_for_alert(
            "naming ten.bin",
            |a| a.contains("ten.bin"),
            DELIVERY_TIMEOUT,
        )
        .await?;
    if !words.contains("not enough space") {
        return Err(format!("the space is not said: {words:?}"));
    }
    // Nothing of either reached Bob.
    alice.post("after the refusals").await?;
    bob.wait_for_message("after the refusals", DELIVERY_TIMEOUT)
        .await?;
    for name in ["thirty.bin", "ten.bin"] {
        if bob.try_find_message(name).await?.is_some() {
            return Err(format!("bob sees {name}"));
        }
    }
    Ok(())
}

/// Bob holds Alice's picture and starts damaging every chunk he serves (the harness's
/// files tamper switch, no hook in the app). With Alice gone, Carol joins: the first
/// damaged chunk costs Bob his connection to her, with an alert, and nothing of his is
/// shown. When Alice is back, Carol's picture completes from her, byte for byte.
pub async fn a_peer_serving_damaged_chunks_is_dropped_and_the_file_completes_from_another(
    ctx: Ctx,
) -> TestResult {
    let base = ctx.base_url();
    let (alice, bob, room) = alice_and_bob_in_a_room(&ctx, &base, "Damaged").await?;
    let sent = alice.attach_image("harbour.png", 400, 300, 9).await?;
    wait_for_image(&bob, "harbour.png", (400, 300), &sent.hash).await?;
    bob.set_file_tamper(true).await?;
    alice.quit().await?;
    let carol = user(&ctx, &base, "carol", "Carol").await?;
    carol.join(&room.link).await?;
    carol
        .wait_for_alert(
            "about Bob's damaged chunk",
            |a| a.contains("damaged"),
            FILE_TIMEOUT,
        )
        .await?;
    wait_until("carol: Bob dropped", DELIVERY_TIMEOUT, || async {
        let peers = carol.peers().await?;
        Ok((!peers
            .iter()
            .any(|p| p.contains("Bob") && p.contains("online")))
        .then_some(()))
    })
    .await?;
    if bob.tampered_frames().await? == 0 {
        return Err("Bob damaged no chunk".into());
    }
    if carol.shown_image("harbour.png").await? == Some((400, 300)) {
        return Err("Carol shows the whole picture with only Bob's damaged chunks".into());
    }
    let alice = ctx.relaunch("alice").await?;
    alice.open_room(&base, &room.id).await?;
    wait_for_image(&carol, "harbour.png", (400, 300), &sent.hash).await?;
    Ok(())
}
