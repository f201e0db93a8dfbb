//! Browser benchmarks: Natter in real headless Chromium beside the raw browser primitives
//! it is built on, measured in the same run on the same machine.
//!
//! What is measured, and against what:
//!
//! - **Delivery latency.** A and B share a room (A creates it in the UI, B opens the invite
//!   link). A sends 100 messages one at a time from the composer: each is written in, left
//!   to be drawn (as a person's typing is on screen before they press Send), then sent with
//!   the button; the clock starts at the click. B's page records when each one's article
//!   appears (a `MutationObserver`). Both pages run on this host, so
//!   their clocks (`performance.timeOrigin + performance.now()`, a finer `Date.now()`)
//!   compare directly. No WebDriver traffic crosses a message's way: A's script answers
//!   100 ms after the click, and B's waits for the observer instead of being asked.
//!   Baseline: a plain `RTCPeerConnection` pair between the same two pages, set up by
//!   script, over which A sends 100 entry-sized messages spaced as Natter's are (one every
//!   180 ms), B noting when each arrives. Each then leaves idle pages and threads, as a
//!   message does; the same channel ping-ponging back to back (half the round trip, shown
//!   beside) measures a path kept busy. Beside it, 100 entry-sized IndexedDB writes on A's
//!   page (put to `complete`, one transaction each): A stores each message before it sends
//!   it, so the spaced one-way time plus this write is a floor no delivery beats.
//! - **Late joiner catch-up.** A room with 10,000 signed text entries by one author is
//!   generated here with natter-core and written into a browser's IndexedDB in the app's
//!   storage format (after the app created its schema), then that browser reloads and holds
//!   the room. A second browser with a fresh profile opens the invite link; the time from
//!   its navigation until its `log` store holds all 10,000 is the figure (its page
//!   counts every 50 ms). Beside it, when the joiner's channel opened (from its console
//!   trace): what came before is loading and connecting, what came after is the sync
//!   itself. It runs three times, with fresh browsers each time; the table shows the
//!   median run and the range. Baseline, the floor any verified and stored catch-up pays:
//!   the same number of bytes over a raw DataChannel in 64 KiB messages, plus a raw
//!   IndexedDB insert of the same records in one transaction (below). The goal compares
//!   the time from navigation with it; the times from the click on "Join" (the page loaded
//!   and WebDriver found the button before it) and from the channel opening are shown
//!   beside.
//! - **IndexedDB insert rate.** Entries stored per second from the channel opening to the
//!   last one stored during the catch-up, beside a
//!   raw IndexedDB insert of the same records, in the same shape, in one transaction.
//! - **Download size.** Every `.wasm` and `.js` file of `dist/` as the server sends it to a
//!   browser that accepts gzip (the build's zopfli copies), beside brotli as sent and
//!   flate2's default gzip level applied here to the same files.
//! - **Navigation to interactive.** Fresh profiles open the home view; the page notes
//!   `performance.now()` when the "Natter" heading and an enabled "Create room" button
//!   first exist.
//!
//! It runs inside the end-to-end harness's private network namespace, with the real server
//! serving the release build in `dist/` (`./x bench` builds it first), and prints one
//! markdown table on standard output; progress goes to standard error. To measure another
//! build without touching `dist/`, point `NATTER_BENCH_DIST` at its directory (e.g. one
//! made by `trunk build --release --dist <dir>`): the same server then serves that. To run
//! only some measurements, set `NATTER_BENCH_ONLY` to a comma-separated list of
//! `navigation`, `latency`, `catch-up`, `keeper-catch-up` (from a keeper alone) and
//! `big-room` (opening a room of 100,000 stored entries) and `files` (see [`files`]).

#[path = "browser/files.rs"]
mod files;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use natter_e2e::app::{DELIVERY_TIMEOUT, JOIN_TIMEOUT};
use natter_e2e::browser::{Browser, Driver};
use natter_e2e::history::{self, hex, History};
use natter_e2e::server::TestServer;
use natter_e2e::{Context, TestResult};
use serde_json::{json, Value};

/// Messages timed for the latency figure (and ping-pongs for its baseline).
const MESSAGES: usize = 100;
/// Unmeasured messages sent first, so both pages have warmed up.
const WARM_UP: usize = 5;

/// How far apart the raw channel's spaced messages are sent, ms: about as far as the
/// delivery benchmark's messages are (two frames, the answer 100 ms after the click, and a
/// 50 ms pause).
const SPACING_MS: u64 = 180;

/// Entries in the late joiner's history.
const HISTORY: usize = 10_000;
/// Catch-ups measured (the table shows the median one).
const CATCH_UP_RUNS: usize = 3;
/// Pause after each measurement (see [`measure`]).
const SETTLE: Duration = Duration::from_secs(5);
/// Size of one message of the raw bulk transfer.
const RAW_CHUNK: usize = 64 * 1024;
/// Cold loads timed for navigation to interactive.
const COLD_LOADS: usize = 5;
/// Longest one measurement may take.
const MEASURE_TIMEOUT: Duration = Duration::from_secs(600);

fn main() {
    if let Err(e) = natter_e2e::netns::enter() {
        eprintln!("browser benchmarks: {e}");
        std::process::exit(1);
    }
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("browser benchmarks: starting tokio: {e}");
            std::process::exit(1);
        }
    };
    match rt.block_on(run()) {
        Ok(true) => {}
        Ok(false) => std::process::exit(1),
        Err(e) => {
            eprintln!("browser benchmarks: {e}");
            std::process::exit(1);
        }
    }
}

/// Runs every measurement, prints the table, and says whether all of them succeeded.
async fn run() -> TestResult<bool> {
    let other = std::env::var_os("NATTER_BENCH_DIST").map(PathBuf::from);
    let dist = other
        .clone()
        .unwrap_or_else(|| natter_e2e::workspace_root().join("dist"));
    let server = Served::start(other).await?;
    let base = server.base_url();
    let sizes = dist_sizes(&dist, &base).await;
    if let Err(e) = &sizes {
        eprintln!("size: {e}");
    }
    let driver = Driver::start().await?;

    eprintln!("== navigation to interactive ({COLD_LOADS} cold loads)");
    let nav = measure("navigation", navigation(&driver, &base)).await;
    eprintln!("== delivery latency ({MESSAGES} messages)");
    let latency = measure("latency", latency(&driver, &base)).await;
    eprintln!("== late joiner catch-up ({HISTORY} entries)");
    let catch_up = measure("catch-up", catch_up(&driver, &base)).await;
    eprintln!("== late joiner catch-up from the keeper ({HISTORY} entries)");
    let from_keeper = measure("keeper-catch-up", catch_up_from_keeper(&driver, &base)).await;
    eprintln!("== opening a room of {BIG_ROOM} entries");
    let big = measure("big-room", big_room(&driver, &base)).await;
    eprintln!(
        "== files ({} MiB A to B, {} MiB from three holders)",
        files::BIG_MIB,
        files::SWARM_MIB
    );
    let files = measure("files", files::files(&driver, &base)).await;

    let ok = sizes.is_ok()
        && fine(&nav)
        && fine(&latency)
        && fine(&catch_up)
        && fine(&from_keeper)
        && fine(&big)
        && fine(&files);
    let table = table(&latency, &catch_up, &sizes, &nav);
    let mut out = std::io::stdout().lock();
    writeln!(out, "{table}").ctx("printing the table")?;
    writeln!(out, "{}", keeper_row(&from_keeper, &catch_up)).ctx("printing the table")?;
    writeln!(out, "{}", big_room_row(&big)).ctx("printing the table")?;
    writeln!(out, "{}", files::rows(&files)).ctx("printing the table")?;
    drop(driver);
    server.stop().await;
    Ok(ok)
}

/// The server under test: the harness's, serving `dist/`, or the same server serving the
/// build in `NATTER_BENCH_DIST`.
enum Served {
    Harness(Box<TestServer>),
    Other(natter_server::ServerHandle),
}

impl Served {
    async fn start(dist: Option<PathBuf>) -> TestResult<Served> {
        let Some(dist) = dist else {
            return Ok(Served::Harness(Box::new(TestServer::start().await?)));
        };
        if !dist.join("index.html").is_file() {
            return Err(format!(
                "NATTER_BENCH_DIST: {} has no index.html",
                dist.display()
            ));
        }
        let config = natter_server::Config {
            addr: std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
            dist,
            ..natter_server::Config::default()
        };
        let handle = natter_server::Server::start(config)
            .await
            .ctx("starting natter-server")?;
        Ok(Served::Other(handle))
    }

    fn base_url(&self) -> String {
        match self {
            Served::Harness(s) => s.base_url(),
            Served::Other(h) => format!("http://{}", h.local_addr()),
        }
    }

    async fn stop(self) {
        let _ = match self {
            Served::Harness(s) => s.stop().await,
            Served::Other(h) => h.shutdown().await.ctx("stopping natter-server"),
        };
    }
}

/// How a measurement left out by `NATTER_BENCH_ONLY` reads in the table.
const SKIPPED: &str = "skipped";

/// Whether a measurement succeeded or was left out on purpose.
fn fine<T>(result: &TestResult<T>) -> bool {
    match result {
        Ok(_) => true,
        Err(e) => e.starts_with(SKIPPED),
    }
}

/// Runs one measurement with a deadline, reporting its failure on standard error. With
/// `NATTER_BENCH_ONLY` set (a comma-separated list of measurement names), only those run;
/// the others are reported as skipped.
async fn measure<T>(
    what: &str,
    work: impl std::future::Future<Output = TestResult<T>>,
) -> TestResult<T> {
    if let Some(only) = std::env::var_os("NATTER_BENCH_ONLY") {
        if !only.to_string_lossy().split(',').any(|o| o.trim() == what) {
            return Err(format!(
                "{SKIPPED} (NATTER_BENCH_ONLY={})",
                only.to_string_lossy()
            ));
        }
    }
    let result = match tokio::time::timeout(MEASURE_TIMEOUT, work).await {
        Ok(r) => r,
        Err(_) => Err(format!("timed out after {MEASURE_TIMEOUT:?}")),
    };
    if let Err(e) = &result {
        eprintln!("{what} failed: {e}");
    }
    // Browsers that quit may go on writing their profiles for a while; the next
    // measurement waits so as not to start beside that.
    tokio::time::sleep(SETTLE).await;
    result
}

/// A browser with a brand-new profile.
async fn launch(driver: &Driver, name: &str) -> TestResult<Browser> {
    let profile = Arc::new(tempfile::tempdir().ctx("creating a profile directory")?);
    Browser::launch(driver, name, profile).await
}

/// Closes `browsers` after a measurement, photographing them first if it failed.
async fn finish<T>(what: &str, result: TestResult<T>, browsers: Vec<Browser>) -> TestResult<T> {
    if result.is_err() {
        for b in &browsers {
            let file = format!("BENCH-FAILED-{what}-{}", b.name);
            if b.screenshot(&file).await.is_ok() {
                eprintln!(
                    "saved {}",
                    natter_e2e::artifacts_dir()
                        .join(format!("{file}.png"))
                        .display()
                );
            }
        }
    }
    for b in browsers {
        let _ = b.quit().await;
    }
    result
}

/// Runs `script` before any other script of every document `browser` opens from now on.
async fn on_new_document(browser: &Browser, script: &str) -> TestResult {
    browser
        .wd()
        .cdp()
        .send_raw(
            "Page.addScriptToEvaluateOnNewDocument",
            json!({ "source": script }),
        )
        .await
        .ctx("installing a page script")?;
    Ok(())
}

fn number(v: &Value, what: &str) -> TestResult<f64> {
    v.as_f64()
        .ok_or_else(|| format!("{what}: expected a number, got {v}"))
}

// ---------------------------------------------------------------------------------------
// Sizes

/// What the app's code costs to download: every `.wasm` and `.js` of `dist/`, in bytes.
#[derive(Debug)]
struct Sizes {
    /// As the server sends them to a browser that accepts gzip (the build's own copies,
    /// made by zopfli).
    served_gzip: u64,
    /// As the server sends them to a browser that also accepts brotli (over HTTPS).
    served_br: u64,
    /// Gzipped here at flate2's default level (6): what compressing as it is sent would cost.
    gzip6: u64,
    /// As they are.
    plain: u64,
}

/// Fetches every `.wasm` and `.js` of `dist` from the server at `base` as a browser would,
/// and gzips each here too for comparison.
async fn dist_sizes(dist: &Path, base: &str) -> TestResult<Sizes> {
    let mut files = Vec::new();
    collect(dist, &mut files)?;
    if files.is_empty() {
        return Err(format!(
            "{} holds no .wasm or .js file: build the app first (trunk build --release)",
            dist.display()
        ));
    }
    let addr: std::net::SocketAddr = base
        .trim_start_matches("http://")
        .parse()
        .ctx("reading the server's address")?;
    let mut sizes = Sizes {
        served_gzip: 0,
        served_br: 0,
        gzip6: 0,
        plain: 0,
    };
    for file in files {
        let bytes = std::fs::read(&file).ctx(&format!("reading {}", file.display()))?;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(&bytes).ctx("gzipping")?;
        let gzip6 = gz.finish().ctx("gzipping")?.len() as u64;
        let rel = file.strip_prefix(dist).ctx("naming a file of dist")?;
        let path = format!("/{}", rel.to_string_lossy().replace('\\', "/"));
        let mut served = [0u64; 2];
        for (slot, accept, encoding) in [(0, "gzip", "gzip"), (1, "gzip, deflate, br", "br")] {
            let res =
                natter_e2e::http::get_with(addr, &path, &[("Accept-Encoding", accept)]).await?;
            if res.status != 200 {
                return Err(format!("GET {path}: status {}", res.status));
            }
            // Compressed either way: by the build, or as it is sent.
            let how = res.header("content-encoding").unwrap_or("identity");
            if how != encoding {
                return Err(format!("GET {path} with {accept}: sent as {how}"));
            }
            served[slot] = res.body.len() as u64;
        }
        eprintln!(
            "size: {path} {} B; sent gzipped {} B, brotli {} B; gzip level 6 {gzip6} B",
            bytes.len(),
            served[0],
            served[1]
        );
        sizes.served_gzip += served[0];
        sizes.served_br += served[1];
        sizes.gzip6 += gzip6;
        sizes.plain += bytes.len() as u64;
    }
    Ok(sizes)
}

fn collect(dir: &Path, out: &mut Vec<std::path::PathBuf>) -> TestResult {
    for entry in std::fs::read_dir(dir).ctx(&format!("listing {}", dir.display()))? {
        let path = entry.ctx("listing dist")?.path();
        if path.is_dir() {
            collect(&path, out)?;
        } else if matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("wasm" | "js")
        ) {
            out.push(path);
        }
    }
    out.sort();
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Navigation to interactive

/// Notes `performance.now()` in `window.__benchInteractive` when the home heading "Natter"
/// and an enabled "Create room" button first both exist.
const INTERACTIVE_RECORDER: &str = r#"
(() => {
  if (location.protocol !== "http:" && location.protocol !== "https:") return;
  const text = (e) => (e.textContent || "").trim();
  const ready = () =>
    Array.from(document.querySelectorAll("h1")).some((h) => text(h) === "Natter") &&
    Array.from(document.querySelectorAll("button")).some((b) => text(b) === "Create room" && !b.disabled);
  const mo = new MutationObserver(() => {
    if (window.__benchInteractive === undefined && ready()) {
      window.__benchInteractive = performance.now();
      mo.disconnect();
    }
  });
  mo.observe(document, { childList: true, subtree: true, characterData: true, attributes: true });
})();
"#;

/// Milliseconds from navigation to interactive, one per cold load (fresh profile).
async fn navigation(driver: &Driver, base: &str) -> TestResult<Vec<f64>> {
    let mut runs = Vec::new();
    for i in 0..COLD_LOADS {
        let b = launch(driver, &format!("cold{i}")).await?;
        let r = cold_load(&b, base).await;
        let ms = finish("navigation", r, vec![b]).await?;
        eprintln!("navigation: cold load {i}: {ms:.0} ms");
        runs.push(ms);
    }
    Ok(runs)
}

async fn cold_load(b: &Browser, base: &str) -> TestResult<f64> {
    on_new_document(b, INTERACTIVE_RECORDER).await?;
    b.goto(&format!("{base}/#/")).await?;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let v = b
            .execute("return window.__benchInteractive ?? null;", vec![])
            .await?;
        if !v.is_null() {
            return number(&v, "the time to interactive");
        }
        if Instant::now() > deadline {
            let errors = b.console_errors().await.unwrap_or_default();
            return Err(format!(
                "the home view did not become interactive within 30 s (console errors: {errors:?})"
            ));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

// ---------------------------------------------------------------------------------------
// Raw DataChannel between two pages

/// Shared helpers of the raw scripts: wait for ICE gathering to finish (the candidates then
/// travel inside the SDP), and for a channel to open.
const RAW_HELPERS: &str = r#"
const gathered = (pc) => new Promise((res) => {
  if (pc.iceGatheringState === "complete") return res();
  pc.addEventListener("icegatheringstatechange", () => { if (pc.iceGatheringState === "complete") res(); });
  setTimeout(res, 5000);
});
const opened = (get) => new Promise((res, rej) => {
  const t0 = Date.now();
  const look = () => {
    const ch = get();
    if (ch && ch.readyState === "open") return res(ch);
    if (Date.now() - t0 > 20000) return rej(new Error("the raw DataChannel did not open within 20 s"));
    setTimeout(look, 10);
  };
  look();
});
"#;

/// Offerer: a new connection (no ICE servers) with one ordered channel; returns the offer
/// with its candidates.
const RAW_OFFER: &str = r#"
const done = arguments[arguments.length - 1];
(async () => {
  if (window.__benchPc) { try { window.__benchPc.close(); } catch (_) {} }
  const pc = new RTCPeerConnection({ iceServers: [] });
  window.__benchPc = pc;
  const ch = pc.createDataChannel("bench", { ordered: true });
  ch.binaryType = "arraybuffer";
  window.__benchCh = ch;
  await pc.setLocalDescription(await pc.createOffer());
  await gathered(pc);
  return JSON.stringify(pc.localDescription);
})().then((v) => done({ ok: v }), (e) => done({ err: String(e) }));
"#;

/// Answerer: takes the offer, returns the answer with its candidates.
const RAW_ANSWER: &str = r#"
const offer = JSON.parse(arguments[0]);
const done = arguments[arguments.length - 1];
(async () => {
  if (window.__benchPc) { try { window.__benchPc.close(); } catch (_) {} }
  const pc = new RTCPeerConnection({ iceServers: [] });
  window.__benchPc = pc;
  window.__benchCh = null;
  pc.ondatachannel = (e) => { e.channel.binaryType = "arraybuffer"; window.__benchCh = e.channel; };
  await pc.setRemoteDescription(offer);
  await pc.setLocalDescription(await pc.createAnswer());
  await gathered(pc);
  return JSON.stringify(pc.localDescription);
})().then((v) => done({ ok: v }), (e) => done({ err: String(e) }));
"#;

/// Offerer: takes the answer and waits for the channel to open.
const RAW_FINISH: &str = r#"
const answer = JSON.parse(arguments[0]);
const done = arguments[arguments.length - 1];
(async () => {
  await window.__benchPc.setRemoteDescription(answer);
  await opened(() => window.__benchCh);
  return true;
})().then((v) => done({ ok: v }), (e) => done({ err: String(e) }));
"#;

/// Answerer: waits for the channel to open.
const RAW_READY: &str = r#"
const done = arguments[arguments.length - 1];
opened(() => window.__benchCh).then(() => done({ ok: true }), (e) => done({ err: String(e) }));
"#;

/// Connects a raw DataChannel from `offerer` to `answerer` (`window.__benchCh` in both).
async fn raw_channel(offerer: &Browser, answerer: &Browser) -> TestResult {
    let offer = offerer
        .execute_async(&format!("{RAW_HELPERS}{RAW_OFFER}"), vec![])
        .await?;
    let answer = answerer
        .execute_async(&format!("{RAW_HELPERS}{RAW_ANSWER}"), vec![offer])
        .await?;
    offerer
        .execute_async(&format!("{RAW_HELPERS}{RAW_FINISH}"), vec![answer])
        .await?;
    answerer
        .execute_async(&format!("{RAW_HELPERS}{RAW_READY}"), vec![])
        .await?;
    Ok(())
}

/// Closes the raw connection of a page.
async fn raw_close(b: &Browser) {
    let _ = b
        .execute(
            "if (window.__benchPc) { window.__benchPc.close(); window.__benchPc = null; } return true;",
            vec![],
        )
        .await;
}

// ---------------------------------------------------------------------------------------
// Delivery latency

/// Writes `arguments[0]` into the composer (with the `input` event the app listens to),
/// lets the page draw it (two animation frames, as a person's typing is on screen before
/// they press the button), then clicks "Send"; returns the time just before the click,
/// 100 ms later (the answer would otherwise compete with the message for the CPU).
const SEND: &str = r#"
const text = arguments[0];
const done = arguments[arguments.length - 1];
const named = (e, name) =>
  (e.getAttribute("aria-label") || "").trim() === name ||
  Array.from(e.labels || []).some((l) => l.textContent.trim() === name);
const box = Array.from(document.querySelectorAll("textarea")).find((t) => named(t, "Message"));
if (!box) return done({ err: "no textbox named Message" });
const scope = box.form || document;
const send = Array.from(scope.querySelectorAll("button")).find((b) => b.textContent.trim() === "Send");
if (!send) return done({ err: "no button named Send" });
box.value = text;
box.dispatchEvent(new Event("input", { bubbles: true }));
const frame = () => new Promise((res) => requestAnimationFrame(() => setTimeout(res, 0)));
frame().then(frame).then(() => {
  const t0 = performance.timeOrigin + performance.now();
  send.click();
  setTimeout(() => done({ ok: t0 }), 100);
});
"#;

/// Records in `window.__benchSeen[token]` when an article containing `bench-lat-NNNN`
/// first appears, and answers the [`WAIT_SEEN`] waiting for it.
const SEEN_RECORDER: &str = r#"
if (window.__benchSeen) return true;
window.__benchSeen = {};
const re = /bench-lat-\d{4}/g;
const note = (article, now) => {
  for (const t of (article.textContent || "").match(re) || []) {
    if (!(t in window.__benchSeen)) window.__benchSeen[t] = now;
    const w = window.__benchWait;
    if (w && w.token === t) {
      window.__benchWait = null;
      w.done({ ok: true });
    }
  }
};
const mo = new MutationObserver((mutations) => {
  const now = performance.timeOrigin + performance.now();
  for (const m of mutations) {
    const nodes = m.type === "characterData" ? [m.target] : Array.from(m.addedNodes);
    for (const n of nodes) {
      const el = n.nodeType === 1 ? n : n.parentElement;
      if (!el) continue;
      const inside = el.closest("article");
      if (inside) note(inside, now);
      else for (const a of el.querySelectorAll("article")) note(a, now);
    }
  }
});
mo.observe(document.body, { childList: true, subtree: true, characterData: true });
return true;
"#;

/// Answers once [`SEEN_RECORDER`] saw `arguments[0]`, so that nothing polls B's page while
/// a message is on its way.
const WAIT_SEEN: &str = r#"
const token = arguments[0];
const done = arguments[arguments.length - 1];
if (window.__benchSeen[token] !== undefined) return done({ ok: true });
window.__benchWait = { token, done };
"#;

/// Ping-pongs `arguments[0]` messages of `arguments[1]` bytes over the raw channel and
/// returns each round trip in milliseconds.
const PING: &str = r#"
const [n, size] = arguments;
const done = arguments[arguments.length - 1];
(async () => {
  const ch = window.__benchCh;
  const payload = new Uint8Array(size);
  const rtts = [];
  for (let i = 0; i < n; i++) {
    const back = new Promise((res) => { ch.onmessage = () => res(); });
    const t0 = performance.now();
    ch.send(payload);
    await back;
    rtts.push(performance.now() - t0);
  }
  return rtts;
})().then((v) => done({ ok: v }), (e) => done({ err: String(e) }));
"#;

/// Sends `arguments[0]` messages of `arguments[1]` bytes over the raw channel, one every
/// `arguments[2]` ms (as the delivery benchmark's messages are spaced), and returns when
/// each was sent (ms since the epoch); the other page records when each arrived
/// ([`SPACED_RECORDER`]).
const SPACED: &str = r#"
const [n, size, gap] = arguments;
const done = arguments[arguments.length - 1];
(async () => {
  const ch = window.__benchCh;
  const payload = new Uint8Array(size);
  const sent = [];
  for (let i = 0; i < n; i++) {
    await new Promise((res) => setTimeout(res, gap));
    sent.push(performance.timeOrigin + performance.now());
    ch.send(payload);
  }
  await new Promise((res) => setTimeout(res, 200));
  return sent;
})().then((v) => done({ ok: v }), (e) => done({ err: String(e) }));
"#;

/// Records when each message of [`SPACED`] arrives, in `window.__benchArrived`.
const SPACED_RECORDER: &str = r#"
window.__benchArrived = [];
window.__benchCh.onmessage = () => window.__benchArrived.push(performance.timeOrigin + performance.now());
return true;
"#;

/// Writes `arguments[0]` records of about an entry's size, one transaction each, into a
/// database of its own, and returns each one's time from `put` to `complete` (ms).
const IDB_ONE_WRITE: &str = r#"
const n = arguments[0];
done_(arguments[arguments.length - 1])((async () => {
  const name = "natter-bench-one-write";
  await req(indexedDB.deleteDatabase(name));
  const db = await new Promise((res, rej) => {
    const r = indexedDB.open(name, 1);
    r.onupgradeneeded = () => r.result.createObjectStore("log");
    r.onsuccess = () => res(r.result);
    r.onerror = () => rej(r.error);
  });
  const hex = (i, len) => i.toString(16).padStart(len, "0");
  const times = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    const tx = db.transaction("log", "readwrite");
    tx.objectStore("log").put(new Uint8Array(250), fromHex(hex(1, 64) + hex(i, 16) + hex(2, 64) + hex(i, 16)));
    tx.commit();
    await committed(tx);
    times.push(performance.now() - t0);
    await sleep(20);
  }
  db.close();
  await req(indexedDB.deleteDatabase(name));
  return times;
})());
"#;

/// One-way delivery times of Natter and of the raw channel, milliseconds.
#[derive(Debug)]
struct Latency {
    natter: Vec<f64>,
    /// The raw channel's one-way times for messages spaced as Natter's are ([`SPACED`]):
    /// each leaves idle pages and threads, as a message does.
    spaced: Vec<f64>,
    /// The raw channel's ping-pong round trips halved: back to back, on threads kept busy.
    raw: Vec<f64>,
    /// One entry-sized IndexedDB write on A's page, put to `complete`: the sender stores
    /// its message before sending it, so no delivery can be faster than this.
    write: Vec<f64>,
}

async fn latency(driver: &Driver, base: &str) -> TestResult<Latency> {
    let a = launch(driver, "a").await?;
    let b = match launch(driver, "b").await {
        Ok(b) => b,
        Err(e) => return finish("latency", Err(e), vec![a]).await,
    };
    let r = latency_in(&a, &b, base).await;
    finish("latency", r, vec![a, b]).await
}

async fn latency_in(a: &Browser, b: &Browser, base: &str) -> TestResult<Latency> {
    a.set_name(base, "Ann").await?;
    b.set_name(base, "Ben").await?;
    a.open_home(base).await?;
    let room = a.create_named_room("Latency").await?;
    let joined = b.join(&room.link).await?;
    if joined != room.id {
        return Err(format!("B joined room {joined}, A created {}", room.id));
    }
    // The first message also waits for the peer connection.
    a.post("bench warm-up").await?;
    b.wait_for_message("bench warm-up", DELIVERY_TIMEOUT)
        .await?;
    b.execute(SEEN_RECORDER, vec![]).await?;

    let profiling = std::env::var_os("NATTER_BENCH_PROFILE").is_some();
    if profiling {
        profile_start(a).await?;
        profile_start(b).await?;
    }
    let mut sent = Vec::new();
    for i in 0..WARM_UP + MESSAGES {
        // Warm-up messages are numbered from 9000 and not counted.
        let n = if i < WARM_UP { 9000 + i } else { i - WARM_UP };
        let token = format!("bench-lat-{n:04}");
        let text = format!("{token} the quick brown fox jumps over the lazy dog");
        let (t0, seen) = tokio::join!(
            a.execute_async(SEND, vec![json!(text)]),
            b.execute_async(WAIT_SEEN, vec![json!(token)])
        );
        let t0 = number(&t0?, "the send time")?;
        seen?;
        if i >= WARM_UP {
            sent.push((token, t0));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    if profiling {
        profile_report(a, "the sender").await?;
        profile_report(b, "the receiver").await?;
    }
    let seen = b.execute("return window.__benchSeen;", vec![]).await?;
    let natter = sent
        .iter()
        .map(|(token, t0)| Ok(number(&seen[token.as_str()], token)? - t0))
        .collect::<TestResult<Vec<f64>>>()?;
    eprintln!(
        "latency: natter one-way p50 {:.2} ms",
        percentile(&natter, 50.0)
    );

    raw_channel(a, b).await?;
    b.execute(SPACED_RECORDER, vec![]).await?;
    let sent = a
        .execute_async(SPACED, vec![json!(MESSAGES), json!(256), json!(SPACING_MS)])
        .await?;
    let sent: Vec<f64> = serde_json::from_value(sent).ctx("decoding the send times")?;
    let arrived = b.execute("return window.__benchArrived;", vec![]).await?;
    let arrived: Vec<f64> = serde_json::from_value(arrived).ctx("decoding the arrivals")?;
    if arrived.len() != sent.len() {
        return Err(format!(
            "{} of {} spaced messages arrived",
            arrived.len(),
            sent.len()
        ));
    }
    let spaced: Vec<f64> = arrived.iter().zip(&sent).map(|(r, s)| r - s).collect();
    eprintln!(
        "latency: raw one-way, spaced, p50 {:.2} ms",
        percentile(&spaced, 50.0)
    );
    b.execute(
        "const ch = window.__benchCh; ch.onmessage = (e) => ch.send(e.data); return true;",
        vec![],
    )
    .await?;
    // Frames of about the size of a message entry.
    a.execute_async(PING, vec![json!(20), json!(256)]).await?;
    let rtts = a
        .execute_async(PING, vec![json!(MESSAGES), json!(256)])
        .await?;
    let rtts: Vec<f64> = serde_json::from_value(rtts).ctx("decoding the round trips")?;
    raw_close(a).await;
    raw_close(b).await;
    let raw: Vec<f64> = rtts.iter().map(|r| r / 2.0).collect();
    eprintln!("latency: raw RTT/2 p50 {:.2} ms", percentile(&raw, 50.0));
    let write = a
        .execute_async(
            &format!("{IDB_HELPERS}{IDB_ONE_WRITE}"),
            vec![json!(MESSAGES)],
        )
        .await?;
    let write: Vec<f64> = serde_json::from_value(write).ctx("decoding the write times")?;
    eprintln!(
        "latency: one IndexedDB write p50 {:.2} ms",
        percentile(&write, 50.0)
    );
    Ok(Latency {
        natter,
        spaced,
        raw,
        write,
    })
}

// ---------------------------------------------------------------------------------------
// Late joiner catch-up

/// Shared helpers of the IndexedDB scripts.
const IDB_HELPERS: &str = r#"
const req = (r) => new Promise((res, rej) => { r.onsuccess = () => res(r.result); r.onerror = () => rej(r.error); });
const sleep = (ms) => new Promise((res) => setTimeout(res, ms));
const fromHex = (h) => { const a = new Uint8Array(h.length / 2); for (let i = 0; i < a.length; i++) a[i] = parseInt(h.substr(2 * i, 2), 16); return a; };
const openExisting = (name) => new Promise((res) => {
  const r = indexedDB.open(name);
  r.onupgradeneeded = () => r.transaction.abort();
  r.onsuccess = () => res(r.result);
  r.onerror = () => res(null);
});
const done_ = (d) => (p) => p.then((v) => d({ ok: v }), (e) => d({ err: String(e) }));
const committed = (tx) => new Promise((res, rej) => {
  tx.oncomplete = res;
  tx.onerror = () => rej(tx.error);
  tx.onabort = () => rej(tx.error || new Error("the transaction was aborted"));
});
// An entry as the app stores it in `log` (`src/storage.rs`): its bytes, keyed by its
// display key (room, Lamport time and seq as 8 bytes big-endian, author).
const entryValues = (room, author) => window.__benchRecords.map(([id, lamport, seq, bytes]) =>
  ({ key: fromHex(room + lamport + author + seq), value: fromHex(bytes) }));
// Every display key of the room (its id in hex).
const roomKeys = (room) =>
  IDBKeyRange.bound(fromHex(room + "00".repeat(48)), fromHex(room + "ff".repeat(48)));
"#;

/// Waits until the app created its database and stored its (fresh) identity.
const IDB_APP_READY: &str = r#"
done_(arguments[arguments.length - 1])((async () => {
  const deadline = Date.now() + 30000;
  while (Date.now() < deadline) {
    if ((await indexedDB.databases()).some((d) => d.name === "natter")) {
      const db = await openExisting("natter");
      if (db) {
        let found = false;
        if (db.objectStoreNames.contains("identity")) {
          found = !!(await req(db.transaction("identity").objectStore("identity").get("self")));
        }
        db.close();
        if (found) return true;
      }
    }
    await sleep(100);
  }
  throw new Error("the app did not store its identity within 30 s");
})());
"#;

/// Inserts the staged records into a database of its own with the same store as the app's
/// `log`, in one transaction; returns the milliseconds it took.
const IDB_RAW_INSERT: &str = r#"
const [room, author] = arguments;
done_(arguments[arguments.length - 1])((async () => {
  const name = "natter-bench-raw";
  await req(indexedDB.deleteDatabase(name));
  const db = await new Promise((res, rej) => {
    const r = indexedDB.open(name, 1);
    r.onupgradeneeded = () => r.result.createObjectStore("log");
    r.onsuccess = () => res(r.result);
    r.onerror = () => rej(r.error);
  });
  const values = entryValues(room, author);
  const t0 = performance.now();
  const tx = db.transaction("log", "readwrite");
  const store = tx.objectStore("log");
  for (const v of values) store.put(v.value, v.key);
  await committed(tx);
  const ms = performance.now() - t0;
  db.close();
  await req(indexedDB.deleteDatabase(name));
  return ms;
})());
"#;

/// Writes the identity, the room and the staged entries in the app's storage format (see
/// `src/storage.rs`), in one transaction. The identity and the room are in the form of
/// schema 3 (fields, settings JSON), which the app still reads and writes again in its
/// current form when it loads the room; the entries are in the current form.
const IDB_WRITE_APP: &str = r#"
const [identitySecret, room, roomSecret, roomName, settings, lastActivity, author] = arguments;
done_(arguments[arguments.length - 1])((async () => {
  const db = await openExisting("natter");
  if (!db) throw new Error("the app's database is missing");
  const tx = db.transaction(["identity", "rooms", "log"], "readwrite");
  tx.objectStore("identity").put({ slot: "self", secret: fromHex(identitySecret), name: "Holder" });
  tx.objectStore("rooms").put({
    id: room, secret: fromHex(roomSecret), name: roomName, password: false,
    settings, last_activity: lastActivity,
  });
  const log = tx.objectStore("log");
  for (const v of entryValues(room, author)) log.put(v.value, v.key);
  await committed(tx);
  const n = await req(db.transaction("log").objectStore("log").count(roomKeys(room)));
  db.close();
  window.__benchRecords = null;
  return n;
})());
"#;

/// Counts, every 50 ms from the start of the document, the joiner's stored entries of the
/// room; notes `performance.now()` when a count answered that the history author's entries
/// number `WANT` (`done`), and when the first of them was stored (`first`, approximate: the
/// count beyond the joiner's own profile entry). Also when the button "Join" first showed
/// (`shown`) and when it was clicked (`join`).
const CATCH_UP_RECORDER: &str = r#"
(() => {
  if (location.protocol !== "http:" && location.protocol !== "https:") return;
  const ROOM = "__ROOM__", AUTHOR = "__AUTHOR__", WANT = __WANT__;
  const state = { count: 0, theirs: 0, first: null, done: null, shown: null, join: null, error: null };
  window.__benchCatchup = state;
  // When the app first shows the button "Join" (what a person could click at once).
  const isJoin = (b) => b.textContent.trim() === "Join";
  const seen = new MutationObserver(() => {
    if ([...document.querySelectorAll("button")].some(isJoin)) {
      state.shown = performance.now();
      seen.disconnect();
    }
  });
  seen.observe(document, { childList: true, subtree: true });
  // When the person's click on "Join" reaches the page.
  document.addEventListener("click", (e) => {
    const b = e.target instanceof Element ? e.target.closest("button") : null;
    if (state.join === null && b && isJoin(b)) state.join = performance.now();
  }, true);
  const req = (r) => new Promise((res, rej) => { r.onsuccess = () => res(r.result); r.onerror = () => rej(r.error); });
  let db = null, busy = false, timer = null;
  const open = async () => {
    if (!(await indexedDB.databases()).some((d) => d.name === "natter")) return null;
    const d = await new Promise((res) => {
      const r = indexedDB.open("natter");
      r.onupgradeneeded = () => r.transaction.abort();
      r.onsuccess = () => res(r.result);
      r.onerror = () => res(null);
    });
    if (!d) return null;
    if (!d.objectStoreNames.contains("log")) { d.close(); return null; }
    d.onversionchange = () => { d.close(); db = null; };
    return d;
  };
  const fromHex = (h) => { const a = new Uint8Array(h.length / 2); for (let i = 0; i < a.length; i++) a[i] = parseInt(h.substr(2 * i, 2), 16); return a; };
  const range = IDBKeyRange.bound(fromHex(ROOM + "00".repeat(48)), fromHex(ROOM + "ff".repeat(48)));
  const log = () => db.transaction("log").objectStore("log");
  // The author's key is bytes 40..72 of an entry's display key.
  const byAuthor = (k) => Array.from(new Uint8Array(k).subarray(40, 72), (b) => b.toString(16).padStart(2, "0")).join("") === AUTHOR;
  const tick = async () => {
    if (busy || state.done !== null) return;
    busy = true;
    try {
      if (!db) db = await open();
      if (!db) return;
      // The count's transaction waits for any write under way, so what it counts is
      // stored by the time it answers, not by the time it was asked.
      const n = await req(log().count(range));
      const at = performance.now();
      state.count = n;
      if (n >= 2 && state.first === null) state.first = at;
      if (n >= WANT) {
        const all = await req(log().getAllKeys(range));
        state.theirs = all.filter(byAuthor).length;
        if (state.theirs >= WANT) { state.done = at; clearInterval(timer); }
      }
    } catch (e) {
      state.error = String(e);
      db = null;
    } finally {
      busy = false;
    }
  };
  timer = setInterval(tick, 50);
})();
"#;

/// With NATTER_BENCH_TRACE, after [`CATCH_UP_RECORDER`]: when each 250 KB of DataChannel
/// messages arrived (`arrived`, [ms, bytes]), when each 1,000 entries were seen stored
/// (`stored`, [ms, count]), to tell a late transfer from slow storing; the first messages
/// each way (`opening`, [ms, "in" or "out", first two bytes, length]), to see the
/// handshake's round trips; the main thread's tasks over 50 ms (`long`, [ms, ms]), during
/// which arrivals wait unseen; and its frames over 50 ms (`frames`, [ms, ms, rendering ms,
/// scripts]), each script with the event that called it, to tell which handler took them.
const CATCH_UP_TIMELINE: &str = r#"
(() => {
  const state = window.__benchCatchup;
  if (!state) return;
  state.arrived = []; state.stored = []; state.opening = []; state.long = [];
  // Tasks of the page's main thread over 50 ms: while one runs, arrivals wait unseen.
  try {
    new PerformanceObserver((l) => {
      for (const e of l.getEntries()) if (state.long.length < 64) state.long.push([Math.round(e.startTime), Math.round(e.duration)]);
    }).observe({ type: "longtask", buffered: true });
  } catch (_) {}
  // The page's frames over 50 ms (Long Animation Frames): each script's caller and time,
  // and the style, layout and paint after them.
  state.frames = [];
  try {
    new PerformanceObserver((l) => {
      for (const e of l.getEntries()) {
        if (state.frames.length >= 32) continue;
        const render = e.renderStart ? Math.round(e.startTime + e.duration - e.renderStart) : 0;
        state.frames.push([Math.round(e.startTime), Math.round(e.duration), render,
          e.scripts.map((x) => [x.invoker, Math.round(x.duration), Math.round(x.forcedStyleAndLayoutDuration)])]);
      }
    }).observe({ type: "long-animation-frame", buffered: true });
  } catch (_) {}
  let bytes = 0, nextBytes = 0, nextCount = 0;
  const note = (way, d) => {
    if (state.opening.length >= 16) return;
    const u = d instanceof ArrayBuffer ? new Uint8Array(d) : ArrayBuffer.isView(d) ? new Uint8Array(d.buffer, d.byteOffset, d.byteLength) : null;
    state.opening.push([Math.round(performance.now()), way, u ? [u[0], u[1]] : null, u ? u.length : -1]);
  };
  const create = RTCPeerConnection.prototype.createDataChannel;
  RTCPeerConnection.prototype.createDataChannel = function (...args) {
    const ch = create.apply(this, args);
    ch.addEventListener("message", (e) => {
      note("in", e.data);
      bytes += e.data.byteLength ?? e.data.size ?? 0;
      if (bytes >= nextBytes) { state.arrived.push([Math.round(performance.now()), bytes]); nextBytes += 250000; }
    });
    const send = ch.send.bind(ch);
    ch.send = (d) => { note("out", d); return send(d); };
    return ch;
  };
  const timer = setInterval(() => {
    if (state.done !== null) { clearInterval(timer); return; }
    if (state.count >= nextCount) { state.stored.push([Math.round(performance.now()), state.count]); nextCount += 1000; }
  }, 20);
})();
"#;

/// Counts the bytes arriving on the raw channel; notes the time when `arguments[0]` have.
const RAW_RECEIVE: &str = r#"
const want = arguments[0];
const r = { bytes: 0, want, done: null };
window.__benchRecv = r;
window.__benchCh.onmessage = (e) => {
  r.bytes += e.data.byteLength;
  if (r.bytes >= want && r.done === null) r.done = performance.timeOrigin + performance.now();
};
return true;
"#;

/// Sends `arguments[0]` bytes in messages of `arguments[1]` bytes, keeping the send buffer
/// under 4 MiB; returns the time the first was sent.
const RAW_SEND: &str = r#"
const [total, chunk] = arguments;
const done = arguments[arguments.length - 1];
(async () => {
  const ch = window.__benchCh;
  const buf = new Uint8Array(chunk);
  for (let i = 0; i < chunk; i++) buf[i] = (i * 31 + 7) & 255;
  ch.bufferedAmountLowThreshold = 1 << 20;
  const t0 = performance.timeOrigin + performance.now();
  let sent = 0;
  while (sent < total) {
    if (ch.bufferedAmount > 4 << 20) {
      await new Promise((res) => { ch.onbufferedamountlow = () => res(); });
    }
    const n = Math.min(chunk, total - sent);
    ch.send(n === chunk ? buf : buf.slice(0, n));
    sent += n;
  }
  return t0;
})().then((v) => done({ ok: v }), (e) => done({ err: String(e) }));
"#;

#[derive(Debug)]
struct CatchUp {
    entries: usize,
    bytes: usize,
    /// Navigation to all entries stored, ms.
    natter_ms: f64,
    /// Navigation to the first history entry seen stored, ms: late by as much as the page's
    /// count waits behind the app's own writes.
    first_ms: Option<f64>,
    /// Navigation to the joiner's channel to the holder opening, ms (from its trace).
    open_ms: Option<f64>,
    /// Navigation to the button "Join" showing, ms: the page loading.
    shown_ms: Option<f64>,
    /// Navigation to the click on "Join", ms: after it showed, WebDriver finding it.
    join_ms: Option<f64>,
    /// The same bytes over a raw DataChannel, ms.
    raw_ms: f64,
    /// Raw IndexedDB insert of the same records in one transaction, ms.
    raw_idb_ms: f64,
}

/// Runs the catch-up [`CATCH_UP_RUNS`] times, each with two fresh browsers and the same
/// history, and returns the runs in order of their catch-up time.
async fn catch_up(driver: &Driver, base: &str) -> TestResult<Vec<CatchUp>> {
    let started = Instant::now();
    let history = history::generate(HISTORY, None)?;
    eprintln!(
        "catch-up: generated {} entries ({} bytes) in {:.1} s",
        history.records.len(),
        history.total_bytes(),
        started.elapsed().as_secs_f64()
    );
    let mut runs = Vec::new();
    for run in 1..=CATCH_UP_RUNS {
        eprintln!("catch-up: run {run} of {CATCH_UP_RUNS}");
        let holder = launch(driver, "holder").await?;
        let launched = Instant::now();
        let joiner = match launch(driver, "joiner").await {
            Ok(b) => b,
            Err(e) => return finish("catch-up", Err(e), vec![holder]).await,
        };
        let r = catch_up_in(&holder, &joiner, launched, base, &history).await;
        runs.push(finish("catch-up", r, vec![holder, joiner]).await?);
        tokio::time::sleep(SETTLE).await;
    }
    runs.sort_by(|a, b| a.natter_ms.total_cmp(&b.natter_ms));
    Ok(runs)
}

async fn catch_up_in(
    holder: &Browser,
    joiner: &Browser,
    launched: Instant,
    base: &str,
    history: &History,
) -> TestResult<CatchUp> {
    let room_hex = history.room.id().to_hex();
    let n = history.records.len();

    // The app creates its schema and identity; then the history goes in beside it.
    holder.open_home(base).await?;
    holder
        .execute_async(&format!("{IDB_HELPERS}{IDB_APP_READY}"), vec![])
        .await?;
    stage(holder, history).await?;
    let raw_idb_ms = number(
        &holder
            .execute_async(
                &format!("{IDB_HELPERS}{IDB_RAW_INSERT}"),
                vec![json!(room_hex), json!(history.author_hex)],
            )
            .await?,
        "the raw insert time",
    )?;
    eprintln!("catch-up: raw IndexedDB insert of {n} records: {raw_idb_ms:.0} ms");
    write_app(holder, history).await?;

    // The holder comes back with the room and its history, online.
    holder.reload().await?;
    holder.find_by_role("heading", "Natter").await?;
    holder.open_room(base, &room_hex).await?;
    holder
        .wait_for_message(&history.last_text(), JOIN_TIMEOUT)
        .await?;
    let link = holder.invite_link().await?;
    holder
        .wait_for_status("Connected to the server", JOIN_TIMEOUT)
        .await?;
    eprintln!(
        "catch-up: the holder is online with the history, {:.1} s after the joiner started",
        launched.elapsed().as_secs_f64()
    );
    tokio::time::sleep_until((launched + SETTLE).into()).await;

    let Joined {
        done_ms: natter_ms,
        first_ms,
        open_ms,
        shown_ms,
        join_ms,
    } = time_join(joiner, &link, history).await?;
    // NATTER_BENCH_TRACE=1: each page's connection trace (ms since its navigation).
    if std::env::var_os("NATTER_BENCH_TRACE").is_some() {
        for (who, b) in [("holder", holder), ("joiner", joiner)] {
            let lines = b
                .execute("return window.__natterWarnings || [];", vec![])
                .await?;
            for line in lines.as_array().into_iter().flatten() {
                eprintln!("  [{who}] {}", line.as_str().unwrap_or_default());
            }
        }
    }

    // Raw: the same bytes, holder to joiner, over a DataChannel of their own.
    let bytes = history.total_bytes();
    raw_channel(holder, joiner).await?;
    joiner.execute(RAW_RECEIVE, vec![json!(bytes)]).await?;
    let t0 = number(
        &holder
            .execute_async(RAW_SEND, vec![json!(bytes), json!(RAW_CHUNK)])
            .await?,
        "the raw send start",
    )?;
    let deadline = Instant::now() + Duration::from_secs(120);
    let t1 = loop {
        let r = joiner.execute("return window.__benchRecv;", vec![]).await?;
        if !r["done"].is_null() {
            break number(&r["done"], "the raw receive time")?;
        }
        if Instant::now() > deadline {
            return Err(format!("the raw transfer did not finish within 120 s: {r}"));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    raw_close(holder).await;
    raw_close(joiner).await;
    let raw_ms = t1 - t0;
    eprintln!("catch-up: raw transfer of {bytes} bytes: {raw_ms:.1} ms");
    Ok(CatchUp {
        entries: n,
        bytes,
        natter_ms,
        first_ms,
        open_ms,
        shown_ms,
        join_ms,
        raw_ms,
        raw_idb_ms,
    })
}

/// When a joiner's catch-up reached each point, ms from its navigation.
struct Joined {
    /// The last entry stored.
    done_ms: f64,
    /// The first history entry seen stored.
    first_ms: Option<f64>,
    /// The first channel opening.
    open_ms: Option<f64>,
    /// The button "Join" showing.
    shown_ms: Option<f64>,
    /// The click on "Join" (made by WebDriver once the button is found).
    join_ms: Option<f64>,
}

/// The joiner opens `link` with the catch-up recorder installed; returns when it stored the
/// last of `history`.
async fn time_join(joiner: &Browser, link: &str, history: &History) -> TestResult<Joined> {
    let room_hex = history.room.id().to_hex();
    let n = history.records.len();
    let tracing = std::env::var_os("NATTER_BENCH_TRACE").is_some();
    let mut recorder = CATCH_UP_RECORDER
        .replace("__ROOM__", &room_hex)
        .replace("__AUTHOR__", &history.author_hex)
        .replace("__WANT__", &n.to_string());
    if tracing {
        recorder.push_str(CATCH_UP_TIMELINE);
    }
    on_new_document(joiner, &recorder).await?;
    let drops = udp_drops();
    joiner.open_invite(link).await?;
    joiner.confirm_join(None).await?;
    let profiling = std::env::var_os("NATTER_BENCH_PROFILE").is_some();
    if profiling {
        profile_start(joiner).await?;
    }
    let deadline = Instant::now() + Duration::from_secs(300);
    let mut last_report = Instant::now();
    let state = loop {
        let state = joiner
            .execute("return window.__benchCatchup ?? null;", vec![])
            .await?;
        if !state["done"].is_null() {
            break state;
        }
        if Instant::now() > deadline {
            let errors = joiner.console_errors().await.unwrap_or_default();
            return Err(format!(
                "the joiner did not store the history within 300 s: {state} (console errors: {errors:?})"
            ));
        }
        if last_report.elapsed() > Duration::from_secs(5) {
            eprintln!("catch-up: joiner {state}");
            last_report = Instant::now();
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    if profiling {
        profile_report(joiner, "the joiner").await?;
    }
    if tracing {
        eprintln!(
            "catch-up timeline: arrived {}; stored {}; first messages {}; long tasks [at, took] {}; \
             long frames [at, took, rendering, scripts [caller, took, forced layout]] {}",
            state["arrived"], state["stored"], state["opening"], state["long"], state["frames"]
        );
    }
    if let (true, Some((r0, s0)), Some((r1, s1))) = (tracing, drops, udp_drops()) {
        eprintln!(
            "catch-up: UDP datagrams dropped for a full buffer: receive {}, send {}",
            r1 - r0,
            s1 - s0
        );
    }
    let natter_ms = number(&state["done"], "the catch-up time")?;
    let first_ms = state["first"].as_f64();
    let open_ms = channel_open_ms(joiner).await?;
    eprintln!(
        "catch-up: natter {natter_ms:.0} ms (Join shown at {} ms, clicked at {} ms, channel open at {open_ms:?} ms, first history entry seen at {first_ms:?} ms)",
        state["shown"], state["join"]
    );
    Ok(Joined {
        done_ms: natter_ms,
        first_ms,
        open_ms,
        shown_ms: state["shown"].as_f64(),
        join_ms: state["join"].as_f64(),
    })
}

/// The late joiner's catch-up served by a keeper alone (the real binary, its store filled
/// with the same history), [`CATCH_UP_RUNS`] times; also the keeper's CPU time and memory
/// growth while it served. Sorted by catch-up time.
async fn catch_up_from_keeper(driver: &Driver, base: &str) -> TestResult<Vec<KeeperCatchUp>> {
    let history = history::generate(HISTORY, None)?;
    let mut runs = Vec::new();
    for run in 1..=CATCH_UP_RUNS {
        eprintln!("keeper catch-up: run {run} of {CATCH_UP_RUNS}");
        let data = tempfile::tempdir().ctx("creating the keeper's directory")?;
        {
            let store = natter_keeper::store::Store::open(&data.path().join("keeper.redb"))
                .map_err(|e| e.to_string())?;
            store.save_room(&history.room).map_err(|e| e.to_string())?;
            store
                .store(&history.room.id(), &history.records)
                .map_err(|e| e.to_string())?;
        }
        let launched = Instant::now();
        let joiner = launch(driver, "joiner").await?;
        let keeper = match natter_e2e::keeper::Keeper::start(base, data.path()).await {
            Ok(k) => k,
            Err(e) => return finish("keeper catch-up", Err(e), vec![joiner]).await,
        };
        if let Err(e) = keeper.wait_for_log("joined every room", JOIN_TIMEOUT).await {
            return finish("keeper catch-up", Err(e), vec![joiner]).await;
        }
        let (rss0, cpu0) = keeper.usage();
        let link = history.room.invite_link(base);
        // As idle as the browser peer's joiner, which waits while the holder gets ready.
        tokio::time::sleep_until((launched + SETTLE).into()).await;
        let r = time_join(&joiner, &link, &history).await;
        let (rss1, cpu1) = keeper.usage();
        let natter_ms = finish("keeper catch-up", r, vec![joiner]).await?.done_ms;
        keeper.kill().await?;
        eprintln!(
            "keeper catch-up: {natter_ms:.0} ms; keeper CPU {} ticks, RSS {rss0} → {rss1} KiB",
            cpu1 - cpu0
        );
        runs.push(KeeperCatchUp {
            natter_ms,
            cpu_ms: (cpu1.saturating_sub(cpu0) * 10) as f64,
            rss_growth_kib: rss1.saturating_sub(rss0),
        });
        tokio::time::sleep(SETTLE).await;
    }
    runs.sort_by(|a, b| a.natter_ms.total_cmp(&b.natter_ms));
    Ok(runs)
}

/// One catch-up from the keeper.
struct KeeperCatchUp {
    natter_ms: f64,
    /// The keeper's CPU time while it served, ms.
    cpu_ms: f64,
    /// Its resident memory's growth while it served, KiB.
    rss_growth_kib: u64,
}

/// A failed measurement, as a table cell.
fn failed(e: &str) -> String {
    format!("failed: {}", e.replace('|', "/").replace('\n', " "))
}

/// The keeper row: its catch-up beside the browser peer's median, and what serving cost it.
fn keeper_row(
    keeper: &TestResult<Vec<KeeperCatchUp>>,
    browser: &TestResult<Vec<CatchUp>>,
) -> String {
    let peer = match browser {
        Ok(runs) if !runs.is_empty() => Some(runs[runs.len() / 2].natter_ms),
        _ => None,
    };
    match keeper {
        Ok(runs) if !runs.is_empty() => {
            let k = &runs[runs.len() / 2];
            let s = k.natter_ms / 1000.0;
            let beside = peer
                .map(|p| format!("{:.2} (from a browser peer, median)", p / 1000.0))
                .unwrap_or_else(|| "— (the browser catch-up failed)".into());
            format!(
                "| late joiner catch-up of {} entries from the keeper alone (s) | {s:.2} (median of {}: {:.2}–{:.2}); \
                 the keeper spent {:.0} ms of CPU and grew {} KiB serving it | {beside} | no slower than from a browser: {} |",
                thousands(HISTORY as f64),
                runs.len(),
                runs[0].natter_ms / 1000.0,
                runs[runs.len() - 1].natter_ms / 1000.0,
                k.cpu_ms,
                k.rss_growth_kib,
                verdict(peer.is_some_and(|p| k.natter_ms <= p))
            )
        }
        Ok(_) => "| late joiner catch-up from the keeper | no runs | — | — |".into(),
        Err(e) => format!(
            "| late joiner catch-up of {} entries from the keeper alone (s) | {} | — | no slower than from a browser |",
            thousands(HISTORY as f64),
            failed(e)
        ),
    }
}

/// When the page's first peer channel opened, in ms since its navigation: the first
/// `conn N: Open` line of its console trace (each line starts with `performance.now()`).
/// Hands `history`'s records to the page, in chunks, for the IndexedDB scripts.
async fn stage(b: &Browser, history: &History) -> TestResult {
    b.execute("window.__benchRecords = []; return true;", vec![])
        .await?;
    for chunk in history.records.chunks(1000) {
        let rows: Vec<Value> = chunk
            .iter()
            .map(|r| {
                json!([
                    r.id.to_hex(),
                    format!("{:016x}", r.entry.lamport),
                    format!("{:016x}", r.entry.seq),
                    hex(&r.bytes),
                ])
            })
            .collect();
        b.execute(
            "window.__benchRecords.push(...arguments[0]); return window.__benchRecords.length;",
            vec![Value::Array(rows)],
        )
        .await?;
    }
    Ok(())
}

/// Writes `history` (staged) into the app's database as its room, with its author as the
/// page's identity.
async fn write_app(b: &Browser, history: &History) -> TestResult {
    let room_hex = history.room.id().to_hex();
    let n = history.records.len();
    let last_activity = history.records.last().map(|r| r.entry.wall_ms).unwrap_or(0);
    let stored = b
        .execute_async(
            &format!("{IDB_HELPERS}{IDB_WRITE_APP}"),
            vec![
                json!(hex(&history.author_secret)),
                json!(room_hex),
                json!(hex(history.room.secret().as_bytes())),
                json!(history.room.name()),
                json!(r#"{"left":false,"password_key":null,"evidence":[]}"#),
                json!(format!("{last_activity:016x}")),
                json!(history.author_hex),
            ],
        )
        .await?;
    if stored.as_u64() != Some(n as u64) {
        return Err(format!(
            "wrote {n} entries into the b's database, it holds {stored}"
        ));
    }

    Ok(())
}

/// Entries in the room of the opening benchmark.
const BIG_ROOM: usize = 100_000;

/// Notes, from the start of the document, when the message log first shows `__LAST__`,
/// and the JS heap then.
const OPEN_RECORDER: &str = r#"
(() => {
  if (location.protocol !== "http:" && location.protocol !== "https:") return;
  const LAST = __LAST__;
  const state = { shown: null, heap: null };
  window.__benchOpen = state;
  const tick = () => {
    const log = document.querySelector('[role="log"]');
    if (log && log.textContent.includes(LAST)) {
      state.shown = performance.now();
      state.heap = performance.memory ? performance.memory.usedJSHeapSize : null;
      return;
    }
    requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
})();
"#;

#[derive(Debug)]
struct BigRoom {
    entries: usize,
    /// Navigation (a reload) to the room's newest message drawn, ms.
    open_ms: f64,
    /// The page's JS heap then, bytes (the wasm memory is not part of it).
    heap: Option<f64>,
}

/// Opens a room of [`BIG_ROOM`] entries stored on this device: from a reload to its newest
/// message drawn.
async fn big_room(driver: &Driver, base: &str) -> TestResult<BigRoom> {
    let history = history::generate(BIG_ROOM, None)?;
    let b = launch(driver, "big").await?;
    let result = big_room_in(&b, base, &history).await;
    finish("big-room", result, vec![b]).await
}

async fn big_room_in(b: &Browser, base: &str, history: &History) -> TestResult<BigRoom> {
    b.open_home(base).await?;
    b.execute_async(&format!("{IDB_HELPERS}{IDB_APP_READY}"), vec![])
        .await?;
    stage(b, history).await?;
    write_app(b, history).await?;
    let last = history.last_text();
    let recorder = OPEN_RECORDER.replace("__LAST__", &json!(last).to_string());
    on_new_document(b, &recorder).await?;
    b.goto(&format!("{base}/#/room/{}", history.room.id().to_hex()))
        .await?;
    b.reload().await?;
    b.wait_for_message(&last, Duration::from_secs(300)).await?;
    let state = b.execute("return window.__benchOpen;", vec![]).await?;
    Ok(BigRoom {
        entries: history.records.len(),
        open_ms: number(&state["shown"], "the time the newest message was drawn")?,
        heap: state["heap"].as_f64(),
    })
}

/// The opening benchmark's row.
fn big_room_row(big: &TestResult<BigRoom>) -> String {
    match big {
        Ok(b) => format!(
            "| opening a room of {} entries stored on this device (s), reload to its newest \
             message drawn | {:.2}; JS heap then {} | — | ≤ 1 s: {} |",
            thousands(b.entries as f64),
            b.open_ms / 1e3,
            b.heap
                .map_or("not reported".to_owned(), |h| format!("{:.0} MB", h / 1e6)),
            verdict(b.open_ms <= 1_000.0)
        ),
        Err(e) => format!(
            "| opening a room of {BIG_ROOM} entries | failed: {} | — | ≤ 1 s |",
            e.replace('|', "/").replace('\n', " ")
        ),
    }
}

/// The namespace's UDP error counters (`/proc/net/snmp`): datagrams the kernel dropped for
/// a full receive buffer, and for a full send buffer. `None` where the file cannot be read.
fn udp_drops() -> Option<(u64, u64)> {
    let snmp = std::fs::read_to_string("/proc/net/snmp").ok()?;
    let mut rows = snmp.lines().filter(|l| l.starts_with("Udp:"));
    let (names, values) = (rows.next()?, rows.next()?);
    let field = |want: &str| {
        names
            .split_whitespace()
            .position(|n| n == want)
            .and_then(|i| values.split_whitespace().nth(i)?.parse().ok())
    };
    Some((field("RcvbufErrors")?, field("SndbufErrors")?))
}

async fn channel_open_ms(b: &Browser) -> TestResult<Option<f64>> {
    let lines = b
        .execute("return window.__natterWarnings || [];", vec![])
        .await?;
    Ok(lines
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .find(|l| l.contains(" info: conn ") && l.contains(": Open {"))
        .and_then(|l| l.split(' ').next())
        .and_then(|ms| ms.parse().ok()))
}

// ---------------------------------------------------------------------------------------
// The table

/// Nearest-rank percentile of `values` (`p` in 0..=100); NaN when empty.
fn percentile(values: &[f64], p: f64) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    let mut v = values.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    let rank = ((p / 100.0) * v.len() as f64).ceil() as usize;
    v[rank.clamp(1, v.len()) - 1]
}

fn thousands(n: f64) -> String {
    let digits = format!("{:.0}", n.max(0.0));
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn verdict(met: bool) -> &'static str {
    if met {
        "met"
    } else {
        "not met"
    }
}

fn table(
    latency: &TestResult<Latency>,
    catch_up: &TestResult<Vec<CatchUp>>,
    sizes: &TestResult<Sizes>,
    nav: &TestResult<Vec<f64>>,
) -> String {
    let mut rows = vec![
        "| measure | natter | raw baseline | goal |".to_owned(),
        "|---|---|---|---|".to_owned(),
    ];

    rows.push(match latency {
        Ok(l) => {
            let (p50, p99) = (percentile(&l.natter, 50.0), percentile(&l.natter, 99.0));
            let (s50, s99) = (percentile(&l.spaced, 50.0), percentile(&l.spaced, 99.0));
            let r50 = percentile(&l.raw, 50.0);
            let w50 = percentile(&l.write, 50.0);
            // No delivery beats the raw one-way time of a message sent as ours are, plus
            // the sender's write.
            let ratio = p50 / (s50 + w50);
            format!(
                "| one-way delivery latency p50 / p99 (ms), {} messages | {p50:.2} / {p99:.2} | \
                 {s50:.2} / {s99:.2} (raw DataChannel one-way, messages spaced as ours; back to \
                 back, ping-pong RTT/2: p50 {r50:.2}); one IndexedDB write on the sender's \
                 page, which comes first: p50 {w50:.2} | \
                 p50 within 2× floor (raw spaced p50 + write p50): {} ({ratio:.1}×) |",
                l.natter.len(),
                verdict(ratio <= 2.0)
            )
        }
        Err(e) => format!(
            "| one-way delivery latency p50 / p99 (ms) | {} | — | p50 within 2× floor |",
            failed(e)
        ),
    });

    match catch_up {
        Ok(runs) if !runs.is_empty() => {
            let c = &runs[runs.len() / 2];
            let s = c.natter_ms / 1000.0;
            // What any verified and stored catch-up of these bytes costs at least.
            let floor_ms = c.raw_idb_ms + c.raw_ms;
            let ratio = c.natter_ms / floor_ms;
            // The same catch-up timed from a later start (ms after navigation).
            let from = |start: &str, at: Option<f64>| {
                at.filter(|a| *a < c.natter_ms)
                    .map(|a| format!("; from {start} {:.2}×", (c.natter_ms - a) / floor_ms))
                    .unwrap_or_default()
            };
            // Without WebDriver's time between the button showing and its click.
            let at_once = match (c.shown_ms, c.join_ms) {
                (Some(shown), Some(join)) if shown <= join => format!(
                    "; clicked as it showed {:.2}×",
                    (c.natter_ms - (join - shown)) / floor_ms
                ),
                _ => String::new(),
            };
            let clicked = from("the Join click", c.join_ms);
            let synced = from("channel open", c.open_ms);
            let spread = format!(
                " (median of {}: {:.2}–{:.2})",
                runs.len(),
                runs[0].natter_ms / 1000.0,
                runs[runs.len() - 1].natter_ms / 1000.0
            );
            let when = |what: &str, at: Option<f64>| {
                at.map(|a| format!("; {what} at {:.2} s", a / 1000.0))
                    .unwrap_or_default()
            };
            let marks = [
                when("Join shown", c.shown_ms),
                when("clicked", c.join_ms),
                when("channel open", c.open_ms),
                when("first entry seen stored", c.first_ms),
            ]
            .concat();
            rows.push(format!(
                "| late joiner catch-up of {} entries (s), from navigation | {s:.2}{spread}{marks} | \
                 floor {:.2}: raw IndexedDB transaction of the records {:.2} + the {:.2} MB over a raw \
                 DataChannel in 64 KiB messages {:.2} | ≤ 1.3× floor: {} ({ratio:.2}× from \
                 navigation{at_once}{clicked}{synced}) |",
                thousands(c.entries as f64),
                floor_ms / 1000.0,
                c.raw_idb_ms / 1000.0,
                c.bytes as f64 / 1e6,
                c.raw_ms / 1000.0,
                verdict(ratio <= 1.3)
            ));
            // The rate over the time entries could arrive: from the channel opening (the
            // summaries and the first request included) to the last stored.
            let (window, how) = match c.open_ms.filter(|o| *o < c.natter_ms) {
                Some(o) => ((c.natter_ms - o) / 1000.0, "channel open to last stored"),
                None => (s, "navigation to last stored"),
            };
            rows.push(format!(
                "| IndexedDB batched insert rate (entries/s) | {} (entries stored / time from {how}) | \
                 {} (raw JS insert of the same {} records in one transaction) | — |",
                thousands(c.entries as f64 / window),
                thousands(c.entries as f64 / (c.raw_idb_ms / 1000.0)),
                thousands(c.entries as f64)
            ));
        }
        Ok(_) => rows.push("| late joiner catch-up | no runs | — | — |".into()),
        Err(e) => {
            rows.push(format!(
                "| late joiner catch-up of {} entries (s) | {} | — | ≤ 1.3× floor |",
                thousands(HISTORY as f64),
                failed(e)
            ));
            rows.push(format!(
                "| IndexedDB batched insert rate (entries/s) | {} | — | — |",
                failed(e)
            ));
        }
    }

    rows.push(match sizes {
        Ok(z) => {
            let kib = |b: u64| b as f64 / 1024.0;
            format!(
                "| wasm + JS gzipped as sent (KiB) | {:.1} (brotli as sent: {:.1}; gzip level 6: {:.1}; \
                 {} before compression) | — | ≤ 400 KiB: {} |",
                kib(z.served_gzip),
                kib(z.served_br),
                kib(z.gzip6),
                thousands(kib(z.plain)),
                verdict(kib(z.served_gzip) <= 400.0)
            )
        }
        Err(e) => format!(
            "| wasm + JS gzipped (KiB) | {} | — | ≤ 400 KiB |",
            failed(e)
        ),
    });

    rows.push(match nav {
        Ok(runs) => {
            let min = runs.iter().copied().fold(f64::INFINITY, f64::min);
            let max = runs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            format!(
                "| navigation to interactive (ms), fresh profile | {:.0} (median of {}; {min:.0}–{max:.0}) | — | — |",
                percentile(runs, 50.0),
                runs.len()
            )
        }
        Err(e) => format!("| navigation to interactive (ms) | {} | — | — |", failed(e)),
    });
    rows.join("\n")
}

/// NATTER_BENCH_PROFILE=1: samples the main thread of the latency run's sender and
/// receiver, and of the catch-up's joiner (CDP's profiler). Build the app without `wasm-opt` to see Rust function names.
async fn profile_start(b: &Browser) -> TestResult {
    let cdp = b.wd().cdp();
    cdp.send_raw("Profiler.enable", json!({}))
        .await
        .ctx("enabling the profiler")?;
    cdp.send_raw("Profiler.setSamplingInterval", json!({ "interval": 200 }))
        .await
        .ctx("setting the sampling interval")?;
    cdp.send_raw("Profiler.start", json!({}))
        .await
        .ctx("starting the profiler")?;
    Ok(())
}

/// Prints the functions with the most self time, and with the most time including what
/// they call, since [`profile_start`]; `whose` names the page.
async fn profile_report(b: &Browser, whose: &str) -> TestResult {
    let out = b
        .wd()
        .cdp()
        .send_raw("Profiler.stop", json!({}))
        .await
        .ctx("stopping the profiler")?;
    let profile = &out["profile"];
    let mut names = std::collections::HashMap::new();
    let mut parent = std::collections::HashMap::new();
    for node in profile["nodes"].as_array().into_iter().flatten() {
        let id = node["id"].as_u64().unwrap_or(0);
        let name = node["callFrame"]["functionName"].as_str().unwrap_or("?");
        names.insert(id, name.to_owned());
        for child in node["children"].as_array().into_iter().flatten() {
            parent.insert(child.as_u64().unwrap_or(0), id);
        }
    }
    let mut self_us: std::collections::HashMap<String, f64> = std::collections::HashMap::new();
    let mut total_us: std::collections::HashMap<String, f64> = std::collections::HashMap::new();
    let samples = profile["samples"].as_array().cloned().unwrap_or_default();
    let deltas = profile["timeDeltas"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    for (s, d) in samples.iter().zip(deltas.iter().skip(1).chain([&json!(0)])) {
        let us = d.as_f64().unwrap_or(0.0);
        let mut node = s.as_u64().unwrap_or(0);
        let leaf = names.get(&node).cloned().unwrap_or_default();
        *self_us.entry(leaf).or_default() += us;
        let mut seen = std::collections::HashSet::new();
        loop {
            let name = names.get(&node).cloned().unwrap_or_default();
            if seen.insert(name.clone()) {
                *total_us.entry(name).or_default() += us;
            }
            match parent.get(&node) {
                Some(p) => node = *p,
                None => break,
            }
        }
    }
    for (what, times) in [("self time", self_us), ("time with callees", total_us)] {
        let mut rows: Vec<(String, f64)> = times.into_iter().collect();
        rows.sort_by(|a, b| b.1.total_cmp(&a.1));
        eprintln!("profile: {what} on {whose}'s main thread");
        for (name, us) in rows.iter().take(40) {
            eprintln!(
                "profile: {:>9.1} ms  {}",
                us / 1000.0,
                name.chars().take(140).collect::<String>()
            );
        }
    }
    Ok(())
}
