//! The installable app: the manifest and icons are served; with the server gone the app
//! still opens (the service worker serves its shell), shows the stored rooms and history,
//! and keeps what is posted meanwhile for delivery later; a new deploy is offered as
//! "A new version is available — reload", and reloading runs the new version.

use std::path::Path;
use std::time::Duration;

use natter_e2e::app::DELIVERY_TIMEOUT;
use natter_e2e::browser::Browser;
use natter_e2e::runner::Ctx;
use natter_e2e::server::TestServer;
use natter_e2e::wait::wait_until;
use natter_e2e::{Context, TestResult};
use serde_json::Value;

use crate::setup::user;

/// Calls back `{ok: version}` from the worker controlling the page (`null` if none yet).
const WORKER_VERSION: &str = r#"
const done = arguments[arguments.length - 1];
const c = navigator.serviceWorker && navigator.serviceWorker.controller;
if (!c) { done({ ok: null }); return; }
const ch = new MessageChannel();
ch.port1.onmessage = (e) => done({ ok: e.data });
c.postMessage("version", [ch.port2]);
"#;

/// Waits until a service worker controls the page and returns its version.
async fn controlling_version(b: &Browser) -> TestResult<String> {
    wait_until(
        &format!("{}: a service worker controlling the page", b.name),
        DELIVERY_TIMEOUT,
        || async {
            let v = b.execute_async(WORKER_VERSION, vec![]).await?;
            Ok(v.as_str().map(str::to_owned))
        },
    )
    .await
}

pub async fn app_opens_offline_with_rooms_and_history(ctx: Ctx) -> TestResult {
    let server = TestServer::start_on_free_port().await?;
    let base = server.base_url();
    check_manifest(&server).await?;

    let alice = user(&ctx, &base, "alice", "Alice").await?;
    let room = alice.create_named_room("Offline").await?;
    alice.post("written online").await?;
    controlling_version(&alice).await?;

    server.stop().await?;
    // A new page load with no server: the worker's shell, then the device's own data.
    // (Going to `#/` alone would only change the fragment of the running page.)
    alice.goto(&format!("{base}/#/")).await?;
    alice
        .execute("window.natterBeforeReload = true;", vec![])
        .await?;
    alice.reload().await?;
    alice.find_by_role("heading", "Natter").await?;
    if alice
        .execute("return window.natterBeforeReload === true;", vec![])
        .await?
        != Value::Bool(false)
    {
        return Err("the page was not loaded again".into());
    }
    if natter_e2e::http::get(server.addr(), "/").await.is_ok() {
        return Err("the server still answers while stopped".into());
    }
    controlling_version(&alice).await?;
    alice.find_by_role("link", "Offline").await?;
    alice.screenshot("offline-home").await?;
    alice.open_room(&base, &room.id).await?;
    alice
        .wait_for_message("written online", DELIVERY_TIMEOUT)
        .await?;
    alice.post("written offline").await?;
    alice.screenshot("offline-room").await?;

    server.restart().await?;
    let bob = user(&ctx, &base, "bob", "Bob").await?;
    bob.join(&room.link).await?;
    bob.wait_for_messages(&["written online", "written offline"], DELIVERY_TIMEOUT)
        .await?;
    alice.assert_no_console_errors().await?;
    bob.assert_no_console_errors().await?;
    Ok(())
}

/// The manifest parses, names the app, and lists 192 and 512 px icons (one maskable) that
/// are served as PNG.
async fn check_manifest(server: &TestServer) -> TestResult {
    let res = natter_e2e::http::get(server.addr(), "/manifest.webmanifest").await?;
    if res.status != 200 || res.header("content-type") != Some("application/manifest+json") {
        return Err(format!(
            "the manifest answered {} with content type {:?}",
            res.status,
            res.header("content-type")
        ));
    }
    let manifest: Value = serde_json::from_slice(&res.body).ctx("parsing the manifest")?;
    if manifest["name"] != "Natter" || manifest["display"] != "standalone" {
        return Err(format!(
            "the manifest is not Natter's standalone app: {manifest}"
        ));
    }
    let icons = manifest["icons"].as_array().cloned().unwrap_or_default();
    for (size, purpose) in [
        ("192x192", "any"),
        ("512x512", "any"),
        ("512x512", "maskable"),
    ] {
        let icon = icons
            .iter()
            .find(|i| i["sizes"] == size && i["purpose"] == purpose)
            .ok_or(format!("the manifest has no {size} icon for {purpose}"))?;
        let src = icon["src"].as_str().unwrap_or_default();
        let res = natter_e2e::http::get(server.addr(), src).await?;
        if res.status != 200 || !res.body.starts_with(b"\x89PNG") {
            return Err(format!(
                "the icon {src} is not served as a PNG ({})",
                res.status
            ));
        }
    }
    Ok(())
}

pub async fn new_version_prompts_reload(ctx: Ctx) -> TestResult {
    // The server serves a copy of the build, which the test then "deploys" over.
    let copy = tempfile::tempdir().ctx("creating a directory for the build")?;
    copy_dir(&natter_e2e::workspace_root().join("dist"), copy.path())?;
    let server = TestServer::start_serving(copy.path().to_owned()).await?;
    let base = server.base_url();
    let alice = ctx.launch("alice").await?;
    alice.open_home(&base).await?;
    let first = controlling_version(&alice).await?;
    if first != built_version(copy.path())? {
        return Err(format!("the worker runs version {first}, not the build's"));
    }
    if alice.try_find_by_role("button", "Reload").await?.is_some() {
        return Err("a reload was offered before anything changed".into());
    }

    let next = deploy(copy.path(), "the next version")?;
    if next == first {
        return Err(format!(
            "the new build kept the version {first} of the old one"
        ));
    }

    // The page, left open, checks for a new worker (as it does every hour) and offers it.
    alice
        .execute_async(
            "const done = arguments[arguments.length - 1]; \
             navigator.serviceWorker.getRegistration().then((r) => r.update()) \
               .then(() => done({ ok: true }), (e) => done({ err: String(e) }));",
            vec![],
        )
        .await?;
    alice
        .find_by_role_for("button", "Reload", Duration::from_secs(30))
        .await?;
    let alerts = alice.alerts().await?;
    if !alerts
        .iter()
        .any(|a| a.contains("A new version is available — reload"))
    {
        return Err(format!("the update prompt should say so: {alerts:?}"));
    }
    alice.screenshot("update-prompt").await?;
    // The page is marked so that its reload shows. Until then, nothing is asked of the
    // workers: every question to the old one is work in flight, which Chromium lets finish
    // before the waiting worker may take over, and asked every poll on a busy machine the
    // old worker was never idle.
    alice
        .execute("window.__beforeUpdate = true; return true;", vec![])
        .await?;
    alice.click("button", "Reload").await?;
    wait_until("the page to reload", DELIVERY_TIMEOUT, || async {
        let marked = alice
            .execute("return window.__beforeUpdate === true;", vec![])
            .await?;
        Ok((marked == Value::Bool(false)).then_some(()))
    })
    .await?;
    wait_until(
        &format!("the new version {next} to run the page"),
        DELIVERY_TIMEOUT,
        || async {
            let v = alice.execute_async(WORKER_VERSION, vec![]).await?;
            Ok(v.as_str().filter(|v| *v == next).map(|_| ()))
        },
    )
    .await?;
    // Once activated, the new worker keeps its own shell alone.
    let only_next = serde_json::json!([format!("natter-shell-{next}")]);
    wait_until(
        "the old version's cache to be deleted",
        DELIVERY_TIMEOUT,
        || async {
            let caches = alice
                .execute_async(
                    "const done = arguments[arguments.length - 1]; \
                     caches.keys().then((k) => done({ ok: k }), (e) => done({ err: String(e) }));",
                    vec![],
                )
                .await?;
            Ok((caches == only_next).then_some(()))
        },
    )
    .await?;
    alice.find_by_role("heading", "Natter").await?;
    if alice.try_find_by_role("button", "Reload").await?.is_some() {
        return Err("the prompt is still shown after reloading into the new version".into());
    }

    // Another deploy, found by the browser itself as the page loads (possibly before the app
    // has started): the page, still served by the running version, offers the new one.
    let third = deploy(copy.path(), "the version after")?;
    alice.reload().await?;
    alice
        .find_by_role_for("button", "Reload", Duration::from_secs(30))
        .await?;
    let running = controlling_version(&alice).await?;
    if running != next {
        return Err(format!(
            "before reloading into {third}, the page should run {next}, not {running}"
        ));
    }
    alice.assert_no_console_errors().await?;
    Ok(())
}

/// Deploys a new build into `dist` as a rebuild would: one file changes (`note` appended to
/// the stylesheet), tools/sw.py writes the worker that lists it, and tools/precompress.py
/// writes the compressed copies the server prefers (stale ones would hide the change).
/// Returns its version.
fn deploy(dist: &Path, note: &str) -> TestResult<String> {
    let css = std::fs::read_dir(dist)
        .ctx("listing the build")?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "css"))
        .ok_or("the build has no stylesheet")?;
    let mut text = std::fs::read_to_string(&css).ctx("reading the stylesheet")?;
    text.push_str(&format!("\n/* {note} */\n"));
    std::fs::write(&css, text).ctx("changing the stylesheet")?;
    // The hooks Trunk runs after a build, in its order; tools/sw.py reads its template from
    // public/ (a build leaves no copy in dist/).
    for tool in ["tools/sw.py", "tools/precompress.py"] {
        let status = std::process::Command::new("python3")
            .arg(natter_e2e::workspace_root().join(tool))
            .arg(dist)
            .status()
            .ctx(&format!("running {tool}"))?;
        if !status.success() {
            return Err(format!("{tool} failed: {status}"));
        }
    }
    built_version(dist)
}

/// The version written into a build's `sw.js`.
fn built_version(dist: &Path) -> TestResult<String> {
    let sw = std::fs::read_to_string(dist.join("sw.js")).ctx("reading sw.js")?;
    sw.lines()
        .find_map(|l| l.strip_prefix("const VERSION = \""))
        .and_then(|rest| rest.strip_suffix("\";"))
        .map(str::to_owned)
        .ok_or_else(|| "sw.js names no version".to_owned())
}

/// Copies the build in `from` (with its folders) into `to`.
fn copy_dir(from: &Path, to: &Path) -> TestResult {
    for entry in std::fs::read_dir(from).ctx("listing dist/")? {
        let entry = entry.ctx("reading dist/")?;
        let kind = entry.file_type().ctx("reading dist/")?;
        let target = to.join(entry.file_name());
        if kind.is_dir() {
            std::fs::create_dir_all(&target).ctx("copying the build")?;
            copy_dir(&entry.path(), &target)?;
        } else if kind.is_file() {
            std::fs::copy(entry.path(), target).ctx("copying the build")?;
        }
    }
    Ok(())
}
