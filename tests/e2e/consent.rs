//! Consent: a page of another site can send the user's tab to any address of Natter it likes
//! (an invite in the fragment, `?embed=1&name=…` in the query), but Natter only asks. Nothing
//! is joined, stored, announced or renamed until the user answers the question, and the
//! embed options are obeyed only inside a frame of an allowed parent, never in a tab.

use std::path::Path;
use std::time::Duration;

use natter_e2e::app::JOIN_TIMEOUT;
use natter_e2e::browser::Browser;
use natter_e2e::idb;
use natter_e2e::runner::Ctx;
use natter_e2e::server::TestServer;
use natter_e2e::site::Site;
use natter_e2e::wait::never_during;
use natter_e2e::{Context, TestResult};
use serde_json::Value;
use thirtyfour::Key;

use crate::setup::{authored_by, say, see_each_other, user};

/// Writes `go.html` (and its script) into `dir`: a page that sends its visitor on to the
/// address in its `to` parameter, as any site can.
fn write_redirector(dir: &Path) -> TestResult {
    let html = "<!DOCTYPE html><title>elsewhere</title><script src=\"go.js\"></script>";
    let js = "location.href = new URLSearchParams(location.search).get('to');";
    std::fs::write(dir.join("go.html"), html).ctx("writing the other site's page")?;
    std::fs::write(dir.join("go.js"), js).ctx("writing the other site's script")
}

/// Bob is sent from another site to Natter with Alice's invite and `?embed=1&name=Mallory`:
/// he is asked whether to join, and while he has not answered nothing is stored, his name is
/// unchanged, the compact embed view is not used and Alice sees nobody. He cancels by
/// keyboard, and nothing is kept; sent there again, he joins, and they chat under his own
/// name.
pub async fn another_site_cannot_join_or_rename_without_consent(ctx: Ctx) -> TestResult {
    let dir = tempfile::tempdir().ctx("creating the other site")?;
    write_redirector(dir.path())?;
    let site = Site::serve(dir.path()).await?;
    // The site is even on the server's embed list: that lets its pages command Natter in a
    // frame of theirs, not in the user's own tab.
    let server = TestServer::start_embeddable(vec![site.origin()]).await?;
    let base = server.base_url();

    let alice = user(&ctx, &base, "alice", "Alice").await?;
    let room = alice.create_named_room("Target").await?;
    let bob = user(&ctx, &base, "bob", "Bob").await?;

    let (_, fragment) = room
        .link
        .split_once('#')
        .ok_or_else(|| format!("the invite link {:?} has no fragment", room.link))?;
    let lure = format!("{base}/?embed=1&name=Mallory&theme=dark#{fragment}");
    let visit = format!("{}/go.html?to={}", site.origin(), encode(&lure));
    let question = "Join room “Target”?";

    bob.goto(&visit).await?;
    bob.find_by_role_for("heading", question, JOIN_TIMEOUT)
        .await?;
    untouched(&bob, &alice, Duration::from_secs(4)).await?;
    bob.screenshot("join-question").await?;
    bob.assert_accessible("join question").await?;
    // Cancelling by keyboard goes home and keeps nothing.
    bob.tab_to("button", "Cancel").await?;
    bob.press(Key::Enter).await?;
    bob.find_by_role("heading", "Your rooms").await?;
    untouched(&bob, &alice, Duration::from_secs(2)).await?;

    bob.goto(&visit).await?;
    bob.find_by_role_for("heading", question, JOIN_TIMEOUT)
        .await?;
    bob.click("button", "Join").await?;
    let joined = bob.wait_for_room_view().await?;
    if joined != room.id {
        return Err(format!(
            "Bob joined room {joined}, the invite was for {}",
            room.id
        ));
    }
    see_each_other(&alice, "Alice", &bob, "Bob").await?;
    say(&bob, "[B1] here by choice", &[&alice]).await?;
    authored_by(&alice, &["[B1]"], "Bob").await?;
    if stored_name(&bob).await? != "Bob" {
        return Err("joining renamed Bob to the name the other site chose".into());
    }
    bob.assert_no_console_errors().await?;
    Ok(())
}

/// Fails if, during `period`, Bob's device keeps a room or another display name than "Bob",
/// shows the embed view, or Alice sees him.
async fn untouched(bob: &Browser, alice: &Browser, period: Duration) -> TestResult {
    never_during(period, || async {
        let dump = idb::dump(bob).await?;
        let rooms = dump.records("rooms");
        if !rooms.is_empty() {
            return Ok(Some(format!(
                "Bob's device keeps a room he never agreed to join: {rooms:?}"
            )));
        }
        let name = stored_name(bob).await?;
        if name != "Bob" {
            return Ok(Some(format!("Bob's display name became {name:?}")));
        }
        let embed = bob
            .execute(
                "return document.documentElement.classList.contains('embed');",
                vec![],
            )
            .await?;
        if embed == Value::Bool(true) {
            return Ok(Some("the tab shows the compact embed view".into()));
        }
        let peers = alice.peers().await?;
        if peers.iter().any(|p| !p.contains("offline")) {
            return Ok(Some(format!(
                "Alice sees someone before Bob agreed to join: {peers:?}"
            )));
        }
        Ok(None)
    })
    .await
}

/// The display name stored on `b`'s device.
async fn stored_name(b: &Browser) -> TestResult<String> {
    let dump = idb::dump(b).await?;
    dump.identity().map(|(_, name)| name).ok_or_else(|| {
        format!(
            "{}: no display name stored: {:?}",
            b.name,
            dump.records("identity")
        )
    })
}

/// `text` encoded for a query value.
fn encode(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}
