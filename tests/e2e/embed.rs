//! Embedding: Natter in a frame of another site (the sample host page in
//! `examples/embed-host/`, served on an origin of its own that the server lists in
//! `--embed-origins`). The host page sets the name, sends through `postMessage` and receives
//! events (messages, a peer joining and leaving, the connection) and renames the user; a page
//! from an origin not on the list cannot make Natter send anything.

use std::path::Path;
use std::time::Duration;

use natter_e2e::app::{Message, DELIVERY_TIMEOUT, JOIN_TIMEOUT};
use natter_e2e::browser::Browser;
use natter_e2e::runner::Ctx;
use natter_e2e::server::TestServer;
use natter_e2e::site::Site;
use natter_e2e::wait::wait_until;
use natter_e2e::{Context, TestResult};
use serde_json::Value;

use crate::setup::user;

/// Writes `intruder.html` (and its script) into `dir`: a page that, once loaded in a frame
/// beside Natter's, posts a command to send `text` to Natter's frame (the host page's first).
fn write_intruder(dir: &Path, text: &str) -> TestResult {
    let html = "<!DOCTYPE html><title>intruder</title><script src=\"intruder.js\"></script>";
    let js = format!(
        "window.parent.frames[0].postMessage({{ type: 'natter:send', text: {} }}, '*'); \
         window.sent = true;",
        Value::String(text.to_owned())
    );
    std::fs::write(dir.join("intruder.html"), html).ctx("writing the intruder page")?;
    std::fs::write(dir.join("intruder.js"), js).ctx("writing the intruder script")
}

pub async fn embedded_natter_chats_through_post_message(ctx: Ctx) -> TestResult {
    // The host site: the sample host page, and an intruder page of the same (listed) origin
    // that is not Natter's parent.
    let host_dir = tempfile::tempdir().ctx("creating the host site")?;
    let sample = natter_e2e::workspace_root().join("examples/embed-host");
    for file in ["index.html", "host.js", "host.css"] {
        std::fs::copy(sample.join(file), host_dir.path().join(file))
            .ctx("copying the sample host page")?;
    }
    write_intruder(host_dir.path(), "from a sibling frame")?;
    let host = Site::serve(host_dir.path()).await?;
    // Another site, not on the list.
    let evil_dir = tempfile::tempdir().ctx("creating the other site")?;
    write_intruder(evil_dir.path(), "from the wrong origin")?;
    let evil = Site::serve(evil_dir.path()).await?;
    let server = TestServer::start_embeddable(vec![host.origin()]).await?;
    let base = server.base_url();

    let alice = user(&ctx, &base, "alice", "Alice").await?;
    let room = alice.create_named_room("Embedded").await?;

    // Eve visits the host site, which frames Natter with the invite and her name.
    let eve = ctx.launch("eve").await?;
    let page = format!(
        "{}/index.html?natter={}&invite={}&name=Eve",
        host.origin(),
        encode(&base),
        encode(&room.link)
    );
    eve.goto(&page).await?;
    in_natter(&eve, async {
        // Natter asks before it joins, in the frame as in a tab.
        eve.confirm_join(None).await?;
        eve.find_by_role_for("log", "Messages", JOIN_TIMEOUT)
            .await?;
        eve.assert_accessible("embed").await
    })
    .await?;
    alice
        .wait_for_peer("Eve", "online", DELIVERY_TIMEOUT)
        .await?;
    wait_for_event(&eve, |e| e["type"] == "natter:peer" && e["name"] == "Alice").await?;
    wait_for_event(&eve, |e| {
        e["type"] == "natter:connection" && e["peers"] == 1
    })
    .await?;

    // A command from the host page.
    let msg = send_from_host(&eve, &alice, "hello from the host page").await?;
    if msg.author != "Eve" {
        return Err(format!("the host's message should be Eve's: {msg:?}"));
    }

    // An event to the host page.
    alice.post("hello to the embed").await?;
    wait_for_event(&eve, |e| {
        e["type"] == "natter:message" && e["text"] == "hello to the embed" && e["author"] == "Alice"
    })
    .await?;

    // Pages in frames beside Natter's post commands to it: one from an origin not on the
    // list, one from the host's own origin but not Natter's parent. Both are ignored: the
    // host's next command, sent after them, arrives; theirs never do.
    let intruders = [
        (1, evil.origin(), "from the wrong origin"),
        (2, host.origin(), "from a sibling frame"),
    ];
    for (index, origin, _) in &intruders {
        eve.execute(
            "const f = document.createElement('iframe'); \
             f.title = 'Another frame ' + arguments[1]; \
             f.src = arguments[0]; document.body.append(f);",
            vec![
                Value::String(format!("{origin}/intruder.html")),
                Value::from(*index),
            ],
        )
        .await?;
        wait_until(
            "the intruder to post its command",
            DELIVERY_TIMEOUT,
            || async {
                eve.wd()
                    .enter_frame(*index)
                    .await
                    .ctx("entering the intruder's frame")?;
                let sent = eve.execute("return window.sent === true;", vec![]).await;
                eve.wd()
                    .enter_default_frame()
                    .await
                    .ctx("leaving the frame")?;
                Ok((sent? == Value::Bool(true)).then_some(()))
            },
        )
        .await?;
    }
    send_from_host(&eve, &alice, "after the intruders").await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let shown = alice.messages().await?;
    let console = in_natter(
        &eve,
        eve.execute("return window.__natterWarnings || [];", vec![]),
    )
    .await?
    .to_string();
    for (_, origin, text) in &intruders {
        if shown.iter().any(|m| m.text.contains(text)) {
            return Err(format!("a command {text:?} was obeyed"));
        }
        // It did reach Natter, which noted that it ignored it.
        let noted = format!("ignored a message from {origin}");
        if !console.contains(&noted) {
            return Err(format!(
                "Natter should have noted {noted:?}; its console: {console}"
            ));
        }
    }

    // The host renames Eve; what she sends next is under the new name.
    eve.type_into("textbox", "Display name", "Eve at the host")
        .await?;
    eve.click("button", "Set name in Natter").await?;
    let msg = send_from_host(&eve, &alice, "under my new name").await?;
    if msg.author != "Eve at the host" {
        return Err(format!("setName should have renamed Eve: {msg:?}"));
    }

    // The embed view at a phone's and a desktop's width.
    for width in [360, 1280] {
        eve.set_viewport(width, 800).await?;
        eve.screenshot(&format!("width-{width}-embed")).await?;
    }
    in_natter(&eve, eve.assert_no_console_errors()).await?;
    alice.assert_no_console_errors().await?;

    // Alice leaves: the host page is told.
    alice.quit().await?;
    wait_for_event(&eve, |e| {
        e["type"] == "natter:peer" && e["name"] == "Alice" && e["state"] == "left"
    })
    .await?;
    Ok(())
}

/// Sends `text` through the host page's form (the postMessage API) and returns it as
/// `peer` sees it arrive.
async fn send_from_host(host: &Browser, peer: &Browser, text: &str) -> TestResult<Message> {
    host.type_into("textbox", "Message to send", text).await?;
    host.click("button", "Send to Natter").await?;
    peer.wait_for_message(text, DELIVERY_TIMEOUT).await
}

/// Runs `f` inside Natter's frame (the host page's first), then returns to the host page.
async fn in_natter<T>(
    b: &Browser,
    f: impl std::future::Future<Output = TestResult<T>>,
) -> TestResult<T> {
    b.wd().enter_frame(0).await.ctx("entering Natter's frame")?;
    let result = f.await;
    b.wd()
        .enter_default_frame()
        .await
        .ctx("leaving Natter's frame")?;
    result
}

/// Waits until the host page has received an event matching `want`.
async fn wait_for_event(b: &Browser, want: impl Fn(&Value) -> bool) -> TestResult<Value> {
    let want = &want;
    let r = wait_until("an event from Natter", DELIVERY_TIMEOUT, || async move {
        let events = b
            .execute("return window.natterEvents || [];", vec![])
            .await?;
        Ok(events
            .as_array()
            .and_then(|a| a.iter().find(|e| want(e)).cloned()))
    })
    .await;
    if r.is_err() {
        let events = b
            .execute("return window.natterEvents || [];", vec![])
            .await?;
        return Err(format!(
            "the host page did not get the event; it got {events}"
        ));
    }
    r
}

/// `text` encoded for a query value.
fn encode(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}
