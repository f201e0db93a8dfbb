//! File benchmarks: a large file through the whole stack beside a raw DataChannel bulk
//! transfer between the same pages, a joiner pulling from three holders beside from one,
//! the JS heap while a large file goes through, and a photo's thumbnail time.
//!
//! - **Throughput.** A picks a [`BIG_MIB`] MiB file (written by the harness, handed to the
//!   file input as the picker does); once A's card offers "Save", B clicks "Download" and
//!   the clock runs until B's card offers "Save" (every chunk verified and stored in
//!   IndexedDB). Baseline: the same bytes in 64 KiB messages over a raw `RTCPeerConnection`
//!   between the same two pages, received and counted, not stored.
//! - **Heap.** While A stores and B downloads, both pages' JS heaps are read every 200 ms
//!   through the DevTools protocol (`Runtime.getHeapUsage`); the peak is reported.
//! - **Three holders.** A [`SWARM_MIB`] MiB file is held by A, B and D; a fresh C downloads
//!   it. Then B and D quit and a fresh E downloads it from A alone.
//! - **Thumbnail.** A attaches a generated photo of about 5 MB; B's page notes when the
//!   image (the sender's thumbnail) first shows. Both clocks are this host's.

use std::time::{Duration, Instant};

use natter_e2e::app::DELIVERY_TIMEOUT;
use natter_e2e::browser::{Browser, Driver};
use natter_e2e::files::noise_file;
use natter_e2e::{Context, TestResult};
use serde_json::{json, Value};

use super::{finish, launch, number, raw_channel, raw_close, RAW_CHUNK, RAW_RECEIVE, RAW_SEND};

/// The large file, MiB.
pub const BIG_MIB: usize = 256;
/// The file pulled from three holders, MiB.
pub const SWARM_MIB: usize = 64;
/// Longest a transfer may take.
const TRANSFER_TIMEOUT: Duration = Duration::from_secs(400);

/// What the file benchmarks measured.
#[derive(Debug)]
pub struct FileBench {
    /// A's picking to A's card offering "Save" (read twice, hashed, stored), ms.
    pub store_ms: f64,
    /// B's download of the large file through the stack, ms.
    pub natter_ms: f64,
    /// The same bytes over a raw DataChannel, ms.
    pub raw_ms: f64,
    /// Peak JS heap of A and of B during the large file, bytes.
    pub heap_a: f64,
    pub heap_b: f64,
    /// The swarm file from three holders and from one, ms.
    pub three_ms: f64,
    pub one_ms: f64,
    /// Attach to the thumbnail shown on B, ms; the photo's size, bytes.
    pub thumb_ms: f64,
    pub photo_bytes: u64,
}

/// Records in `window.__benchImg[alt]` when an `<img>` with that alt text first appears.
const IMG_RECORDER: &str = r#"
if (window.__benchImg) return true;
window.__benchImg = {};
const mo = new MutationObserver(() => {
  const now = performance.timeOrigin + performance.now();
  for (const i of document.querySelectorAll("img[alt]")) {
    if (!(i.alt in window.__benchImg)) window.__benchImg[i.alt] = now;
  }
});
mo.observe(document.body, { childList: true, subtree: true });
return true;
"#;

pub async fn files(driver: &Driver, base: &str) -> TestResult<FileBench> {
    let mut browsers = Vec::new();
    for name in ["a", "b"] {
        match launch(driver, name).await {
            Ok(b) => browsers.push(b),
            Err(e) => return finish("files", Err(e), browsers).await,
        }
    }
    let r = files_in(driver, &mut browsers, base).await;
    finish("files", r, browsers).await
}

async fn files_in(
    driver: &Driver,
    browsers: &mut Vec<Browser>,
    base: &str,
) -> TestResult<FileBench> {
    let dir = tempfile::tempdir().ctx("a folder for the files")?;
    let (a, b) = (&browsers[0], &browsers[1]);
    a.set_name(base, "Ann").await?;
    b.set_name(base, "Ben").await?;
    a.open_home(base).await?;
    let room = a.create_named_room("Files").await?;
    b.join(&room.link).await?;
    a.post("bench warm-up").await?;
    b.wait_for_message("bench warm-up", DELIVERY_TIMEOUT)
        .await?;

    // The thumbnail of a photo of about 5 MB.
    b.execute(IMG_RECORDER, vec![]).await?;
    let photo = a.attach_image("photo.png", 1200, 1050, 3).await?;
    let deadline = Instant::now() + DELIVERY_TIMEOUT;
    let shown = loop {
        let v = b
            .execute(
                "return (window.__benchImg || {})['photo.png'] ?? null;",
                vec![],
            )
            .await?;
        if !v.is_null() {
            break number(&v, "the thumbnail time")?;
        }
        if Instant::now() > deadline {
            return Err("the photo's thumbnail did not show on B".into());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let thumb_ms = shown - photo.at_ms;
    eprintln!(
        "files: photo of {} bytes, thumbnail on B after {thumb_ms:.0} ms",
        photo.size
    );

    // The large file, with both heaps watched.
    let bytes = BIG_MIB << 20;
    let (path, _) = noise_file(dir.path(), "big.bin", bytes, 21)?;
    let mut heap = [0.0f64; 2];
    let t0 = Instant::now();
    a.attach_path(&path).await?;
    wait_for_button(&[a, b], &mut heap, a, "Save big.bin").await?;
    let store_ms = t0.elapsed().as_secs_f64() * 1000.0;
    eprintln!("files: A stored {BIG_MIB} MiB in {store_ms:.0} ms");
    let download = b
        .find_by_role_for("button", "Download big.bin", DELIVERY_TIMEOUT)
        .await?;
    let t0 = Instant::now();
    download.click().await.ctx("clicking Download")?;
    wait_for_button(&[a, b], &mut heap, b, "Save big.bin").await?;
    let natter_ms = t0.elapsed().as_secs_f64() * 1000.0;
    eprintln!(
        "files: B downloaded {BIG_MIB} MiB in {natter_ms:.0} ms; peak heaps {:.1} / {:.1} MiB",
        heap[0] / 1048576.0,
        heap[1] / 1048576.0
    );
    let raw_ms = raw_transfer(a, b, bytes).await?;
    eprintln!("files: raw {BIG_MIB} MiB in {raw_ms:.0} ms");

    // From three holders, then from one.
    let (path, _) = noise_file(dir.path(), "swarm.bin", SWARM_MIB << 20, 22)?;
    for name in ["d", "c", "e"] {
        browsers.push(launch(driver, name).await?);
    }
    let (a, b, d, c) = (&browsers[0], &browsers[1], &browsers[2], &browsers[3]);
    d.set_name(base, "Dee").await?;
    d.join(&room.link).await?;
    a.attach_path(&path).await?;
    let mut ignored = [0.0; 0];
    wait_for_button(&[], &mut ignored, a, "Save swarm.bin").await?;
    for holder in [b, d] {
        holder
            .find_by_role_for("button", "Download swarm.bin", DELIVERY_TIMEOUT)
            .await?
            .click()
            .await
            .ctx("clicking Download")?;
    }
    for holder in [b, d] {
        wait_for_button(&[], &mut ignored, holder, "Save swarm.bin").await?;
    }
    let three_ms = timed_download(c, base, &room.link, "Cy").await?;
    // B and D leave: only A holds the file now.
    for gone in [browsers.remove(2), browsers.remove(1)] {
        gone.quit().await.ok();
    }
    let one_ms = timed_download(&browsers[2], base, &room.link, "Eve").await?;
    eprintln!(
        "files: {SWARM_MIB} MiB from three holders {three_ms:.0} ms, from one {one_ms:.0} ms"
    );
    Ok(FileBench {
        store_ms,
        natter_ms,
        raw_ms,
        heap_a: heap[0],
        heap_b: heap[1],
        three_ms,
        one_ms,
        thumb_ms,
        photo_bytes: photo.size,
    })
}

/// A fresh browser joins and downloads "swarm.bin"; ms from its click to its "Save".
async fn timed_download(who: &Browser, base: &str, link: &str, name: &str) -> TestResult<f64> {
    who.set_name(base, name).await?;
    who.join(link).await?;
    let button = who
        .find_by_role_for("button", "Download swarm.bin", DELIVERY_TIMEOUT)
        .await?;
    // Give every holder time to connect, so the download can use them all.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let t0 = Instant::now();
    button.click().await.ctx("clicking Download")?;
    let mut ignored = [0.0; 0];
    wait_for_button(&[], &mut ignored, who, "Save swarm.bin").await?;
    Ok(t0.elapsed().as_secs_f64() * 1000.0)
}

/// Waits until `who` shows the button `name`, reading the JS heap of each of `watched`
/// into `peaks` every 200 ms meanwhile.
async fn wait_for_button(
    watched: &[&Browser],
    peaks: &mut [f64],
    who: &Browser,
    name: &str,
) -> TestResult {
    let deadline = Instant::now() + TRANSFER_TIMEOUT;
    loop {
        for (w, peak) in watched.iter().zip(peaks.iter_mut()) {
            let usage = w
                .wd()
                .cdp()
                .send_raw("Runtime.getHeapUsage", json!({}))
                .await
                .ctx("reading the heap")?;
            let used = usage["usedSize"].as_f64().unwrap_or(0.0);
            *peak = peak.max(used);
        }
        if who.try_find_by_role("button", name).await?.is_some() {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(format!(
                "{}: no {name:?} within {TRANSFER_TIMEOUT:?}",
                who.name
            ));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// `bytes` from `from` to `to` over a raw DataChannel; ms from the first send to the last
/// byte received.
async fn raw_transfer(from: &Browser, to: &Browser, bytes: usize) -> TestResult<f64> {
    raw_channel(from, to).await?;
    to.execute(RAW_RECEIVE, vec![json!(bytes)]).await?;
    let t0 = number(
        &from
            .execute_async(RAW_SEND, vec![json!(bytes), json!(RAW_CHUNK)])
            .await?,
        "the raw send start",
    )?;
    let deadline = Instant::now() + TRANSFER_TIMEOUT;
    let t1 = loop {
        let r: Value = to.execute("return window.__benchRecv;", vec![]).await?;
        if !r["done"].is_null() {
            break number(&r["done"], "the raw receive time")?;
        }
        if Instant::now() > deadline {
            return Err(format!("the raw transfer did not finish: {r}"));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    raw_close(from).await;
    raw_close(to).await;
    Ok(t1 - t0)
}

/// The table's rows for the file benchmarks.
pub fn rows(r: &TestResult<FileBench>) -> String {
    let f = match r {
        Ok(f) => f,
        Err(e) => return format!("| files | {} | — | — |", super::failed(e)),
    };
    let mibps = |mib: usize, ms: f64| mib as f64 / (ms / 1000.0);
    let (natter, raw) = (mibps(BIG_MIB, f.natter_ms), mibps(BIG_MIB, f.raw_ms));
    let heap = f.heap_a.max(f.heap_b) / 1048576.0;
    [
        format!(
            "| {BIG_MIB} MiB file A→B, verified and stored (MiB/s) | {natter:.1} ({:.1} s) | {raw:.1} raw DataChannel ({:.1} s) | ≥ 80% of raw: {} ({:.0}%) |",
            f.natter_ms / 1000.0,
            f.raw_ms / 1000.0,
            super::verdict(natter >= 0.8 * raw),
            100.0 * natter / raw
        ),
        format!(
            "| the sender reading, hashing and storing it (s) | {:.1} | — | — |",
            f.store_ms / 1000.0
        ),
        format!(
            "| peak JS heap while sending / receiving it (MiB) | {:.1} / {:.1} | — | ≤ 64: {} |",
            f.heap_a / 1048576.0,
            f.heap_b / 1048576.0,
            super::verdict(heap <= 64.0)
        ),
        format!(
            "| {SWARM_MIB} MiB pulled by a joiner from three holders (s) | {:.1} | {:.1} from one holder | faster than from one: {} |",
            f.three_ms / 1000.0,
            f.one_ms / 1000.0,
            super::verdict(f.three_ms < f.one_ms)
        ),
        format!(
            "| a {:.1} MB photo: attach to thumbnail shown on the peer (ms) | {:.0} | — | — |",
            f.photo_bytes as f64 / 1e6,
            f.thumb_ms
        ),
    ]
    .join("\n")
}
