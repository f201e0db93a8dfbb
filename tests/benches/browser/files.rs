//! File benchmarks: a large file through the whole stack beside a raw DataChannel bulk
//! transfer between the same pages, a joiner pulling from three holders beside from one,
//! the JS heap while a large file goes through, and a photo's thumbnail time.
//!
//! - **Throughput.** A picks a [`BIG_MIB`] MiB file (written by the harness, handed to the
//!   file input as the picker does); once A's card offers "Save", B clicks "Download" and
//!   the clock runs until B's card offers "Save" (every chunk verified and stored in
//!   IndexedDB). Baseline: the same bytes in 64 KiB messages over a raw `RTCPeerConnection`
//!   between the same two pages, received and counted, not stored.
//! - **Processor time.** The machine's busy time (all cores, every process: both pages,
//!   the browser's own processes, the server) from `/proc/stat`, over B's download and over
//!   the raw transfer: how much work each does, and whether the cores were the limit.
//! - **The storage floor.** In B's page alone, the work any verified and stored transfer
//!   adds to the raw one, with none of ours: the file's bytes written to a fresh IndexedDB
//!   store in 32 KiB records (32 a transaction, two under way), hashed once by WebCrypto as
//!   they are written and once more as they are read back (the holder's check before
//!   serving). Its busy processor time added to the raw transfer's bounds what two cores
//!   can do: the row says how fast the transfer could be if ours cost nothing more.
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
    /// The machine's busy processor time during B's download and during the raw transfer,
    /// s (`None` without `/proc/stat`).
    pub natter_cpu_s: Option<f64>,
    pub raw_cpu_s: Option<f64>,
    /// The storage floor (see the module doc): ms, and busy processor time, s.
    pub floor_ms: f64,
    pub floor_cpu_s: Option<f64>,
    /// Peak JS heap of A and of B during the large file, bytes.
    pub heap_a: f64,
    pub heap_b: f64,
    /// The swarm file from three holders and from one, ms.
    pub three_ms: f64,
    pub one_ms: f64,
    /// Busy processor time during each, s.
    pub three_cpu_s: Option<f64>,
    pub one_cpu_s: Option<f64>,
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
    let (t0, cpu0) = (Instant::now(), busy_s());
    download.click().await.ctx("clicking Download")?;
    wait_for_button(&[a, b], &mut heap, b, "Save big.bin").await?;
    let natter_ms = t0.elapsed().as_secs_f64() * 1000.0;
    let natter_cpu_s = busy_since(cpu0);
    eprintln!(
        "files: B downloaded {BIG_MIB} MiB in {natter_ms:.0} ms; peak heaps {:.1} / {:.1} MiB",
        heap[0] / 1048576.0,
        heap[1] / 1048576.0
    );
    let cpu0 = busy_s();
    let raw_ms = raw_transfer(a, b, bytes).await?;
    let raw_cpu_s = busy_since(cpu0);
    eprintln!("files: raw {BIG_MIB} MiB in {raw_ms:.0} ms");
    let cpu0 = busy_s();
    let floor_ms = storage_floor(b, bytes).await?;
    let floor_cpu_s = busy_since(cpu0);
    eprintln!(
        "files: busy processor time, download {natter_cpu_s:?} s, raw {raw_cpu_s:?} s, \
         storage floor {floor_cpu_s:?} s in {floor_ms:.0} ms"
    );

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
    let (three_ms, three_cpu_s) = timed_download(c, base, &room.link, "Cy").await?;
    // B and D leave: only A holds the file now.
    for gone in [browsers.remove(2), browsers.remove(1)] {
        gone.quit().await.ok();
    }
    let (one_ms, one_cpu_s) = timed_download(&browsers[2], base, &room.link, "Eve").await?;
    eprintln!(
        "files: {SWARM_MIB} MiB from three holders {three_ms:.0} ms, from one {one_ms:.0} ms"
    );
    Ok(FileBench {
        store_ms,
        natter_ms,
        raw_ms,
        natter_cpu_s,
        raw_cpu_s,
        floor_ms,
        floor_cpu_s,
        heap_a: heap[0],
        heap_b: heap[1],
        three_ms,
        one_ms,
        three_cpu_s,
        one_cpu_s,
        thumb_ms,
        photo_bytes: photo.size,
    })
}

/// Writes `bytes` to IndexedDB and reads them back in B's page, hashing them both ways
/// (see the module doc); ms.
async fn storage_floor(b: &Browser, bytes: usize) -> TestResult<f64> {
    b.execute(STORAGE_FLOOR, vec![json!(bytes)]).await?;
    let deadline = Instant::now() + TRANSFER_TIMEOUT;
    loop {
        let r: Value = b.execute("return window.__benchFloor;", vec![]).await?;
        if let Some(e) = r["error"].as_str() {
            return Err(format!("the storage floor failed: {e}"));
        }
        if !r["ms"].is_null() {
            return number(&r["ms"], "the storage floor's time");
        }
        if Instant::now() > deadline {
            return Err(format!("the storage floor did not finish: {r}"));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The storage floor in the page: `arguments[0]` bytes, in `window.__benchFloor`.
const STORAGE_FLOOR: &str = r#"
const total = arguments[0];
window.__benchFloor = {};
(async () => {
  const name = "natter-bench-floor";
  await new Promise(r => { const d = indexedDB.deleteDatabase(name); d.onsuccess = d.onerror = r; });
  const open = indexedDB.open(name, 1);
  open.onupgradeneeded = () => open.result.createObjectStore("s");
  const db = await new Promise((r, e) => { open.onsuccess = () => r(open.result); open.onerror = e; });
  const half = 32768, perTx = 32, records = Math.ceil(total / half);
  const bytes = new Uint8Array(2 * half);
  for (let o = 0; o < bytes.length; o += 65536) crypto.getRandomValues(bytes.subarray(o, o + 65536));
  const t0 = performance.now();
  let pending = [];
  for (let i = 0; i < records; i += perTx) {
    const tx = db.transaction("s", "readwrite");
    const st = tx.objectStore("s");
    for (let j = i; j < Math.min(i + perTx, records); j++) {
      const chunk = bytes.slice(0, half);
      if (j % 2 === 0) await crypto.subtle.digest("SHA-256", bytes);
      st.put(chunk, j);
    }
    pending.push(new Promise((r, e) => { tx.oncomplete = r; tx.onerror = e; }));
    if (pending.length >= 2) await pending.shift();
  }
  await Promise.all(pending);
  for (let i = 0; i < records; i += 2) {
    const tx = db.transaction("s", "readonly");
    const st = tx.objectStore("s");
    const got = await Promise.all([i, i + 1].map(k => new Promise((r, e) => {
      const q = st.get(k); q.onsuccess = () => r(q.result); q.onerror = e;
    })));
    const whole = new Uint8Array(2 * half);
    whole.set(got[0], 0);
    if (got[1]) whole.set(got[1], half);
    await crypto.subtle.digest("SHA-256", whole);
  }
  const ms = performance.now() - t0;
  db.close();
  indexedDB.deleteDatabase(name);
  window.__benchFloor = { ms };
})().catch(e => { window.__benchFloor = { error: String(e) }; });
return true;
"#;

/// The fastest the transfer could be on this machine if it did no more work than the raw
/// transfer and the storage floor, with every core busy all the time.
fn bound(f: &FileBench) -> String {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
    match (f.raw_cpu_s, f.floor_cpu_s) {
        (Some(raw), Some(floor)) => {
            let s = (raw + floor) / cores;
            format!(
                "raw + floor on all {cores} cores: at best {s:.1} s, {:.0}% of raw",
                100.0 * (f.raw_ms / 1000.0) / s
            )
        }
        _ => "—".into(),
    }
}

/// `cpu_s` of busy time over `ms`, with the cores that kept busy on average.
fn cores(cpu_s: Option<f64>, ms: f64) -> String {
    match cpu_s {
        Some(s) => format!("{s:.1} ({:.2})", s / (ms / 1000.0)),
        None => "unknown".into(),
    }
}

/// The machine's busy processor time so far, s: every core's user, nice, system, irq,
/// softirq and steal time in `/proc/stat` (in its clock ticks, 100 a second on Linux).
fn busy_s() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let ticks: Vec<f64> = stat
        .lines()
        .next()?
        .split_whitespace()
        .skip(1)
        .map(|t| t.parse().ok())
        .collect::<Option<_>>()?;
    let busy: f64 = [0, 1, 2, 5, 6, 7]
        .iter()
        .filter_map(|&i| ticks.get(i))
        .sum();
    Some(busy / 100.0)
}

/// Busy processor time since `start` (from [`busy_s`]), s.
fn busy_since(start: Option<f64>) -> Option<f64> {
    Some(busy_s()? - start?)
}

/// A fresh browser joins and downloads "swarm.bin"; ms from its click to its "Save", and
/// the machine's busy processor time meanwhile.
async fn timed_download(
    who: &Browser,
    base: &str,
    link: &str,
    name: &str,
) -> TestResult<(f64, Option<f64>)> {
    who.set_name(base, name).await?;
    who.join(link).await?;
    let button = who
        .find_by_role_for("button", "Download swarm.bin", DELIVERY_TIMEOUT)
        .await?;
    // Give every holder time to connect, so the download can use them all.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let (t0, cpu0) = (Instant::now(), busy_s());
    button.click().await.ctx("clicking Download")?;
    let mut ignored = [0.0; 0];
    wait_for_button(&[], &mut ignored, who, "Save swarm.bin").await?;
    Ok((t0.elapsed().as_secs_f64() * 1000.0, busy_since(cpu0)))
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
            "| busy processor time of the whole machine during it (s, cores in use) | {} | {} raw | — |",
            cores(f.natter_cpu_s, f.natter_ms),
            cores(f.raw_cpu_s, f.raw_ms)
        ),
        format!(
            "| storage floor: IndexedDB write and read of it, hashed both ways, in one page (s, busy s) | {:.1}, {} | {} | — |",
            f.floor_ms / 1000.0,
            f.floor_cpu_s.map_or("unknown".into(), |s| format!("{s:.1}")),
            bound(f),
        ),
        format!(
            "| peak JS heap while sending / receiving it (MiB) | {:.1} / {:.1} | — | ≤ 64: {} |",
            f.heap_a / 1048576.0,
            f.heap_b / 1048576.0,
            super::verdict(heap <= 64.0)
        ),
        format!(
            "| {SWARM_MIB} MiB pulled by a joiner from three holders (s; busy s, cores in use) | {:.1}; {} | {:.1} from one holder; {} | faster than from one: {} |",
            f.three_ms / 1000.0,
            cores(f.three_cpu_s, f.three_ms),
            f.one_ms / 1000.0,
            cores(f.one_cpu_s, f.one_ms),
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
