//! Keeper benchmarks, printed as a table with each figure's baseline from the same run:
//!
//! - **cold start**: a store of [`COLD_ROOMS`] rooms × [`COLD_ENTRIES`] entries loaded into a
//!   node (every chain checked, every room set up), beside reading the same rows raw from
//!   redb;
//! - **idle rooms**: the keeper process (the real binary) with [`IDLE_ROOMS`] rooms joined on
//!   a local natter-server, its resident memory and CPU over [`IDLE_WINDOW`], beside the
//!   same process with no room.
//!
//! `NATTER_KEEPER_BENCH_ROOMS` and `NATTER_KEEPER_BENCH_ENTRIES` shrink the cold start for a
//! quick look.

use std::io::Write;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use natter_core::identity::Identity;
use natter_core::log::{Body, Draft, Entry, EntryId, Record};
use natter_core::node::{Node, NodeConfig};
use natter_core::room::{Room, RoomSecret};
use natter_keeper::store::Store;

const COLD_ROOMS: usize = 100;
const COLD_ENTRIES: usize = 10_000;
const IDLE_ROOMS: usize = 1_000;
const IDLE_WINDOW: Duration = Duration::from_secs(20);
/// Time given to the keeper after joining every room, before the idle window starts.
const SETTLE: Duration = Duration::from_secs(5);
/// Longest wait for the keeper to join its rooms.
const JOIN_TIMEOUT: Duration = Duration::from_secs(120);

type Result<T, E = String> = std::result::Result<T, E>;

fn main() {
    let rt = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("keeper bench: {e}");
            std::process::exit(1);
        }
    };
    match rt.block_on(run()) {
        Ok(table) => {
            let _ = writeln!(std::io::stdout().lock(), "{table}");
        }
        Err(e) => {
            eprintln!("keeper bench: {e}");
            std::process::exit(1);
        }
    }
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

async fn run() -> Result<String> {
    let rooms = env_usize("NATTER_KEEPER_BENCH_ROOMS", COLD_ROOMS);
    let entries = env_usize("NATTER_KEEPER_BENCH_ENTRIES", COLD_ENTRIES);
    let cold = cold_start(rooms, entries)?;
    let idle = idle_rooms().await?;
    Ok(format!(
        "| keeper | natter | baseline in the same run |\n|---|---|---|\n\
         | cold start, {rooms} rooms × {entries} entries | {:.2} s (store read {:.2} s, rooms set up {:.2} s), RSS +{} MiB | raw redb read of the same rows {:.2} s |\n\
         | {IDLE_ROOMS} idle rooms joined | {:.1} KiB RSS per room, CPU {:.2} % of a core | no room: {} MiB RSS, CPU {:.2} % |",
        cold.total.as_secs_f64(),
        cold.read.as_secs_f64(),
        cold.setup.as_secs_f64(),
        cold.rss_mib,
        cold.raw.as_secs_f64(),
        (idle.busy.rss_kib - idle.empty.rss_kib) as f64 / IDLE_ROOMS as f64,
        idle.busy.cpu_percent,
        idle.empty.rss_kib / 1024,
        idle.empty.cpu_percent,
    ))
}

fn room(i: usize) -> Result<Room> {
    let mut secret = [0u8; 32];
    secret[..8].copy_from_slice(&(i as u64 + 1).to_be_bytes());
    secret[8] = 0x5a;
    Room::from_parts(RoomSecret::from_bytes(secret), None, None).map_err(|e| e.to_string())
}

fn history(room: &Room, author: &Identity, n: usize) -> Result<Vec<Record>> {
    let mut prev = EntryId::ZERO;
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let entry = Entry::sign(
            author,
            Draft {
                room_id: room.id(),
                seq: i as u64 + 1,
                prev_hash: prev,
                lamport: i as u64 + 1,
                wall_ms: 1_700_000_000_000 + i as u64,
                body: Body::Text {
                    text: format!("message {i:05}: the quick brown fox jumps over the lazy dog"),
                    reply_to: None,
                },
            },
        )
        .map_err(|e| e.to_string())?;
        let r = Record::from_entry(entry);
        prev = r.id;
        out.push(r);
    }
    Ok(out)
}

fn fill(path: &Path, rooms: usize, entries: usize) -> Result<()> {
    let store = Store::open(path).map_err(|e| e.to_string())?;
    let author = Identity::from_secret_bytes(&[9; 32]);
    for i in 0..rooms {
        let room = room(i)?;
        store.save_room(&room).map_err(|e| e.to_string())?;
        for chunk in history(&room, &author, entries)?.chunks(5_000) {
            store.store(&room.id(), chunk).map_err(|e| e.to_string())?;
        }
    }
    Ok(())
}

fn rss_kib(pid: &str) -> u64 {
    natter_keeper::usage::rss_kib(pid).unwrap_or(0)
}

fn cpu_ticks(pid: &str) -> u64 {
    natter_keeper::usage::cpu_ticks(pid).unwrap_or(0)
}

struct Cold {
    total: Duration,
    read: Duration,
    setup: Duration,
    raw: Duration,
    rss_mib: u64,
}

fn cold_start(rooms: usize, entries: usize) -> Result<Cold> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let path = dir.path().join("keeper.redb");
    let t = Instant::now();
    fill(&path, rooms, entries)?;
    eprintln!(
        "cold start: filled {rooms} rooms × {entries} entries in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    // Raw: every entry row read, bytes copied, nothing decoded (once to warm the page
    // cache as the keeper's load below finds it, once measured).
    let raw_store = Store::open(&path).map_err(|e| e.to_string())?;
    raw_store.raw_entry_bytes().map_err(|e| e.to_string())?;
    let t = Instant::now();
    let raw_bytes = raw_store.raw_entry_bytes().map_err(|e| e.to_string())?;
    let raw = t.elapsed();
    drop(raw_store);
    eprintln!(
        "cold start: raw read of {raw_bytes} bytes in {:.2} s",
        raw.as_secs_f64()
    );

    let before = rss_kib("self");
    let t = Instant::now();
    let store = Store::open(&path).map_err(|e| e.to_string())?;
    let loaded = store.load().map_err(|e| e.to_string())?;
    let read = t.elapsed();
    drop(loaded);
    let mut node = Node::new(
        store.identity().map_err(|e| e.to_string())?,
        "Keeper".into(),
        NodeConfig::default(),
        Box::new(rand_core::OsRng),
    );
    let t = Instant::now();
    natter_keeper::driver::load(&store, &mut node)?;
    let total = t.elapsed();
    let rss_mib = rss_kib("self").saturating_sub(before) / 1024;
    Ok(Cold {
        total,
        read,
        setup: total.saturating_sub(read),
        raw,
        rss_mib,
    })
}

struct Usage {
    rss_kib: u64,
    cpu_percent: f64,
}

struct Idle {
    empty: Usage,
    busy: Usage,
}

/// The keeper process with `rooms` rooms (one entry each) on a local server.
async fn measure_idle(base: &str, rooms: usize) -> Result<Usage> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    fill(&dir.path().join("keeper.redb"), rooms, 1)?;
    let mut child: Child = Command::new(env!("CARGO_BIN_EXE_natter-keeper"))
        .arg("--server")
        .arg(base)
        .arg("--data")
        .arg(dir.path())
        .arg("--udp")
        .arg("127.0.0.1:0")
        .arg("--rooms-per-socket")
        .arg("1000")
        .env("RUST_LOG", "info")
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("starting natter-keeper: {e}"))?;
    let pid = child.id().to_string();
    // Until it says it joined every room (and its mailbox), then a while to settle.
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let want = format!("joined every room rooms={}", rooms + 1);
    let joined = tokio::task::spawn_blocking(move || {
        use std::io::BufRead;
        let mut lines = std::io::BufReader::new(stdout).lines();
        let found = lines
            .by_ref()
            .map_while(|l| l.ok())
            .any(|l| l.contains(&want));
        // Keep draining so the keeper never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        found
    });
    match tokio::time::timeout(JOIN_TIMEOUT, joined).await {
        Ok(Ok(true)) => {}
        _ => {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!(
                "the keeper did not join its {rooms} rooms within {JOIN_TIMEOUT:?}"
            ));
        }
    }
    tokio::time::sleep(SETTLE).await;
    let ticks = cpu_ticks(&pid);
    let t = Instant::now();
    tokio::time::sleep(IDLE_WINDOW).await;
    let used = cpu_ticks(&pid).saturating_sub(ticks);
    let secs = t.elapsed().as_secs_f64();
    let rss = rss_kib(&pid);
    // We started it: end it by its id.
    let _ = child.kill();
    let _ = child.wait();
    // Clock ticks are 1/100 s on Linux.
    Ok(Usage {
        rss_kib: rss,
        cpu_percent: used as f64 / secs,
    })
}

async fn idle_rooms() -> Result<Idle> {
    let dist = tempfile::tempdir().map_err(|e| e.to_string())?;
    std::fs::write(dist.path().join("index.html"), "<!doctype html>").map_err(|e| e.to_string())?;
    let config = natter_server::Config {
        addr: "127.0.0.1:0".parse().map_err(|e| format!("{e}"))?,
        dist: dist.path().to_owned(),
        // One socket joins every room at once: the keeper's own limit, not the server's,
        // is what this measures.
        limits: natter_server::Limits {
            max_rooms_per_connection: IDLE_ROOMS + 1,
            frames_per_sec: 10_000,
            frame_burst: 10_000,
            ..natter_server::Limits::default()
        },
        ..natter_server::Config::default()
    };
    let server = natter_server::Server::start(config)
        .await
        .map_err(|e| e.to_string())?;
    let base = format!("http://{}", server.local_addr());
    let empty = measure_idle(&base, 0).await?;
    eprintln!(
        "idle: no room: {} KiB, {:.2} % CPU",
        empty.rss_kib, empty.cpu_percent
    );
    let busy = measure_idle(&base, IDLE_ROOMS).await?;
    eprintln!(
        "idle: {IDLE_ROOMS} rooms: {} KiB, {:.2} % CPU",
        busy.rss_kib, busy.cpu_percent
    );
    let _ = server.shutdown().await;
    Ok(Idle { empty, busy })
}
