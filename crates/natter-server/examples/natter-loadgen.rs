//! `natter-loadgen`: load test of the signaling relay, beside a bare WebSocket echo baseline.
//!
//! ```text
//! cargo run --profile server -p natter-server --example natter-loadgen -- [--clients 1000,5000,10000]
//! ```
//!
//! (`./x bench` runs it. The workspace's release profile optimises the web app for size,
//! `opt-level = "z"`; the `server` profile builds the server for speed, as `./x run` does.)
//!
//! For every client count C and for each server kind, a fresh server runs as a **child
//! process** (this same binary, re-executed with `--child natter|echo`) on 127.0.0.1 port 0,
//! so that its resident memory (`VmRSS` in `/proc/<pid>/status`) is measured without the
//! clients'. Then:
//!
//! 1. **connect**: C WebSocket clients connect (at most 256 handshakes in flight); rate =
//!    C / elapsed. For Natter, clients then join rooms of two (pairs `2k`, `2k+1`).
//! 2. **memory**: after a pause, (RSS now − RSS before connecting) / C = memory per idle
//!    connection, joined to a room.
//! 3. **saturation**: every client keeps 8 messages in flight to its partner (Natter:
//!    `signal` through the relay; echo: the message comes back) for a few seconds;
//!    delivered messages per second are reported.
//! 4. **latency**: a fixed offered load (default 10,000 msg/s in total, spread over all
//!    clients) for a few seconds; p50/p99 of send-to-receive time.
//!
//! The baseline (`echo`) is a bare tokio-tungstenite echo server with the same buffer
//! settings: one task per connection, no rooms, no JSON, no limits. Client and server share
//! the machine, so absolute numbers include the load generator's own cost.
//!
//! `--addr 127.0.0.1:PORT` measures an already running server instead (loopback only; no
//! memory figure unless `--pid` is given).

use std::error::Error;
use std::net::SocketAddr;
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use clap::Parser;
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, Semaphore};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

type BoxResult<T> = Result<T, Box<dyn Error + Send + Sync>>;
type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Messages each client keeps in flight during the saturation phase.
const WINDOW: u64 = 8;
/// WebSocket handshakes in flight while connecting.
const CONNECT_PARALLELISM: usize = 256;

#[derive(Debug, Parser)]
#[command(about = "Load test of natter-server with a bare WebSocket echo baseline")]
struct Opts {
    /// Client counts to measure, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1000,5000,10000")]
    clients: Vec<usize>,
    /// Which servers to measure: natter, echo, or both.
    #[arg(long, default_value = "both")]
    servers: String,
    /// Seconds of the saturation phase.
    #[arg(long, default_value_t = 3.0)]
    saturate_secs: f64,
    /// Seconds of the fixed-load latency phase.
    #[arg(long, default_value_t = 3.0)]
    paced_secs: f64,
    /// Total offered load of the latency phase, messages per second.
    #[arg(long, default_value_t = 10_000)]
    rate: u64,
    /// Measure a running Natter server at this loopback address instead of starting one.
    #[arg(long)]
    addr: Option<SocketAddr>,
    /// With --addr: the server's process id, to read its memory.
    #[arg(long)]
    pid: Option<u32>,
    /// Internal: run as the server child (`natter` or `echo`).
    #[arg(long, hide = true)]
    child: Option<String>,
}

/// Nanoseconds since the load generator started; carried in every message.
fn now_ns() -> u64 {
    static START: OnceLock<Instant> = OnceLock::new();
    START.get_or_init(Instant::now).elapsed().as_nanos() as u64
}

fn raise_fd_limit() {
    if let Ok((soft, hard)) = rlimit::Resource::NOFILE.get() {
        if soft < hard {
            let _ = rlimit::Resource::NOFILE.set(hard, hard);
        }
    }
}

fn main() -> BoxResult<()> {
    let opts = Opts::parse();
    raise_fd_limit();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    match opts.child.as_deref() {
        Some("natter") => rt.block_on(child_natter()),
        Some("echo") => rt.block_on(child_echo()),
        Some(other) => Err(format!("unknown child kind {other}").into()),
        None => rt.block_on(run(opts)),
    }
}

// ---------------------------------------------------------------------------------------
// Server children

/// Completes when the parent closes our stdin (or dies).
async fn stdin_closed() {
    let mut sink = Vec::new();
    let _ = tokio::io::stdin().read_to_end(&mut sink).await;
}

async fn child_natter() -> BoxResult<()> {
    let mut config = natter_server::Config {
        dist: std::env::temp_dir().join("natter-loadgen-no-dist"),
        ..natter_server::Config::default()
    };
    let l = &mut config.limits;
    l.max_connections = 1_000_000;
    l.max_connections_per_ip = 1_000_000;
    l.max_rooms = 1_000_000;
    l.frames_per_sec = 1_000_000;
    l.frame_burst = 1_000_000;
    l.handshake_timeout = Duration::from_secs(300);
    l.idle_timeout = Duration::from_secs(300);
    l.ping_interval = Duration::from_secs(120);
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    println!("ADDR {}", listener.local_addr()?);
    natter_server::serve(config, listener, stdin_closed()).await?;
    Ok(())
}

/// The same buffer sizes the Natter server uses, so the comparison shows its logic's cost.
fn ws_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(4 * 1024)
        .write_buffer_size(0)
        .max_message_size(Some(96 * 1024))
        .max_frame_size(Some(96 * 1024))
}

async fn child_echo() -> BoxResult<()> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    println!("ADDR {}", listener.local_addr()?);
    let accept = async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                continue;
            };
            let _ = tcp.set_nodelay(true);
            tokio::spawn(async move {
                let Ok(mut ws) =
                    tokio_tungstenite::accept_async_with_config(tcp, Some(ws_config())).await
                else {
                    return;
                };
                while let Some(Ok(msg)) = ws.next().await {
                    if (msg.is_text() || msg.is_binary()) && ws.send(msg).await.is_err() {
                        break;
                    }
                }
            });
        }
    };
    tokio::select! {
        () = accept => {}
        () = stdin_closed() => {}
    }
    Ok(())
}

/// A server child process and its address.
struct Child {
    proc: tokio::process::Child,
    addr: SocketAddr,
}

async fn spawn_child(kind: &str) -> BoxResult<Child> {
    let exe = std::env::current_exe()?;
    let mut proc = tokio::process::Command::new(exe)
        .args(["--child", kind])
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()?;
    let stdout = proc.stdout.take().ok_or("child has no stdout")?;
    let mut lines = BufReader::new(stdout).lines();
    let line = tokio::time::timeout(Duration::from_secs(10), lines.next_line())
        .await??
        .ok_or("child exited")?;
    let addr = line
        .strip_prefix("ADDR ")
        .ok_or("child did not print its address")?
        .parse()?;
    Ok(Child { proc, addr })
}

/// Resident memory of a process in KiB.
fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

// ---------------------------------------------------------------------------------------
// Clients

/// Per-client counters shared between a client's reader and its partner's writer.
#[derive(Default)]
struct Slot {
    sent: AtomicU64,
    got: AtomicU64,
    wake: Notify,
}

/// What the writers do now.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Phase {
    Idle,
    Saturate,
    Paced { interval: Duration },
    Stop,
}

struct Shared {
    slots: Vec<Slot>,
    received: AtomicU64,
    recording: AtomicBool,
    latencies_us: Mutex<Vec<u32>>,
}

/// One measured row.
struct Row {
    server: &'static str,
    clients: usize,
    connect_per_sec: f64,
    relayed_per_sec: f64,
    p50_ms: f64,
    p99_ms: f64,
    kib_per_conn: Option<f64>,
    /// Messages per second actually delivered in the latency phase.
    paced_per_sec: f64,
}

async fn connect_all(addr: SocketAddr, n: usize) -> BoxResult<(Vec<Ws>, f64)> {
    let permits = Arc::new(Semaphore::new(CONNECT_PARALLELISM));
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(n);
    for _ in 0..n {
        let permits = permits.clone();
        tasks.push(tokio::spawn(async move {
            let _permit = permits.acquire_owned().await?;
            let (ws, _) = tokio_tungstenite::connect_async_with_config(
                format!("ws://{addr}/ws"),
                Some(ws_config()),
                true,
            )
            .await?;
            BoxResult::Ok(ws)
        }));
    }
    let mut out = Vec::with_capacity(n);
    for task in tasks {
        out.push(task.await??);
    }
    Ok((out, n as f64 / started.elapsed().as_secs_f64()))
}

async fn recv_json(ws: &mut Ws) -> BoxResult<serde_json::Value> {
    loop {
        match tokio::time::timeout(Duration::from_secs(30), ws.next()).await? {
            Some(Ok(Message::Text(t))) => return Ok(serde_json::from_str(&t)?),
            Some(Ok(_)) => continue,
            Some(Err(e)) => return Err(e.into()),
            None => return Err("connection closed".into()),
        }
    }
}

/// Joins clients pairwise into rooms; returns them with, per client, the JSON prefix of a
/// message to its partner (the timestamp and closing `"}` are appended per message).
async fn join_pairs(clients: Vec<Ws>) -> BoxResult<(Vec<Ws>, Vec<String>)> {
    let room = |i: usize| format!("{:064x}", i / 2);
    let n = clients.len();
    let mut slots: Vec<Option<Ws>> = clients.into_iter().map(Some).collect();
    let mut sessions = vec![String::new(); n];
    // Even clients first, then odd ones, so every odd client finds its partner in `joined`.
    for parity in [0, 1] {
        let mut tasks = Vec::new();
        for i in (parity..n).step_by(2) {
            let Some(mut ws) = slots[i].take() else {
                continue;
            };
            let msg = format!("{{\"v\":1,\"type\":\"join\",\"room\":\"{}\"}}", room(i));
            tasks.push(tokio::spawn(async move {
                ws.send(Message::text(msg)).await?;
                let joined = recv_json(&mut ws).await?;
                let session = joined["session"]
                    .as_str()
                    .ok_or("no session in joined")?
                    .to_owned();
                BoxResult::Ok((i, ws, session))
            }));
        }
        for task in tasks {
            let (i, ws, session) = task.await??;
            slots[i] = Some(ws);
            sessions[i] = session;
        }
    }
    let mut clients: Vec<Ws> = slots.into_iter().flatten().collect();
    // Even clients read their partner's arrival.
    for i in (0..n).step_by(2) {
        if i + 1 < n {
            let note = recv_json(&mut clients[i]).await?;
            if note["type"] != "peer_joined" {
                return Err(format!("expected peer_joined, got {note}").into());
            }
        }
    }
    let prefixes = (0..n)
        .map(|i| {
            let to = sessions.get(i ^ 1).cloned().unwrap_or_default();
            format!(
                "{{\"v\":1,\"type\":\"signal\",\"room\":\"{}\",\"to\":\"{to}\",\"blob\":\"",
                room(i)
            )
        })
        .collect();
    Ok((clients, prefixes))
}

/// Splits every client into a reader and a writer task driven by `phase`.
fn drive(
    clients: Vec<Ws>,
    prefixes: Vec<String>,
    partner_of: fn(usize) -> usize,
    shared: Arc<Shared>,
    phase: tokio::sync::watch::Receiver<Phase>,
) -> Vec<tokio::task::JoinHandle<()>> {
    let n = clients.len();
    let mut tasks = Vec::with_capacity(2 * n);
    for (i, (ws, prefix)) in clients.into_iter().zip(prefixes).enumerate() {
        let partner = partner_of(i).min(n - 1);
        let (mut sink, mut stream) = ws.split();
        let reader_shared = shared.clone();
        tasks.push(tokio::spawn(async move {
            let s = reader_shared;
            while let Some(Ok(msg)) = stream.next().await {
                let Message::Text(text) = msg else { continue };
                // The timestamp is the blob, the last string in the message.
                let Some(start) = text.rfind("\"blob\":\"").map(|p| p + 8) else {
                    continue;
                };
                let digits: &str = text[start..].split('"').next().unwrap_or("");
                let Ok(sent_ns) = digits.parse::<u64>() else {
                    continue;
                };
                s.received.fetch_add(1, Ordering::Relaxed);
                if s.recording.load(Ordering::Relaxed) {
                    let us = (now_ns().saturating_sub(sent_ns) / 1000) as u32;
                    if let Ok(mut l) = s.latencies_us.lock() {
                        l.push(us);
                    }
                }
                // This client received a message from its partner: the partner may send more.
                let slot = &s.slots[i];
                slot.got.fetch_add(1, Ordering::Release);
                slot.wake.notify_one();
            }
        }));
        let writer_shared = shared.clone();
        let mut phase = phase.clone();
        tasks.push(tokio::spawn(async move {
            let s = writer_shared;
            loop {
                let current = *phase.borrow_and_update();
                match current {
                    Phase::Stop => break,
                    Phase::Idle => {
                        if phase.changed().await.is_err() {
                            break;
                        }
                    }
                    Phase::Saturate => {
                        let mine = &s.slots[i];
                        let theirs = &s.slots[partner];
                        let in_flight = mine
                            .sent
                            .load(Ordering::Relaxed)
                            .saturating_sub(theirs.got.load(Ordering::Acquire));
                        if in_flight < WINDOW {
                            let msg = format!("{prefix}{}\"}}", now_ns());
                            if sink.send(Message::text(msg)).await.is_err() {
                                break;
                            }
                            mine.sent.fetch_add(1, Ordering::Relaxed);
                        } else {
                            tokio::select! {
                                () = theirs.wake.notified() => {}
                                _ = phase.changed() => {}
                                () = tokio::time::sleep(Duration::from_millis(50)) => {}
                            }
                        }
                    }
                    Phase::Paced { interval } => {
                        // Spread the clients' send times evenly over one interval.
                        let offset = interval.mul_f64(i as f64 / n as f64);
                        let mut ticks = tokio::time::interval_at(
                            tokio::time::Instant::now() + offset,
                            interval,
                        );
                        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                        loop {
                            tokio::select! {
                                _ = ticks.tick() => {
                                    let msg = format!("{prefix}{}\"}}", now_ns());
                                    if sink.send(Message::text(msg)).await.is_err() {
                                        return;
                                    }
                                }
                                _ = phase.changed() => break,
                            }
                        }
                    }
                }
            }
            let _ = sink.close().await;
        }));
    }
    tasks
}

fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    f64::from(sorted[idx.min(sorted.len() - 1)]) / 1000.0
}

async fn measure(server: &'static str, clients_n: usize, opts: &Opts) -> BoxResult<Row> {
    let child = match opts.addr {
        Some(_) => None,
        None => Some(spawn_child(server).await?),
    };
    let addr = match (&child, opts.addr) {
        (Some(c), _) => c.addr,
        (None, Some(a)) if a.ip().is_loopback() => a,
        _ => return Err("--addr must be a loopback address".into()),
    };
    let pid = child.as_ref().and_then(|c| c.proc.id()).or(opts.pid);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let rss_before = pid.and_then(rss_kib);

    let (clients, connect_per_sec) = connect_all(addr, clients_n).await?;
    let (clients, prefixes) = if server == "natter" {
        join_pairs(clients).await?
    } else {
        let prefix =
            "{\"v\":1,\"type\":\"signal\",\"room\":\"r\",\"to\":\"self\",\"blob\":\"".to_owned();
        (clients, vec![prefix; clients_n])
    };
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let rss_after = pid.and_then(rss_kib);
    let kib_per_conn = match (rss_before, rss_after) {
        (Some(b), Some(a)) => Some(a.saturating_sub(b) as f64 / clients_n as f64),
        _ => None,
    };

    let shared = Arc::new(Shared {
        slots: (0..clients_n).map(|_| Slot::default()).collect(),
        received: AtomicU64::new(0),
        recording: AtomicBool::new(false),
        latencies_us: Mutex::new(Vec::new()),
    });
    let partner_of: fn(usize) -> usize = if server == "natter" { |i| i ^ 1 } else { |i| i };
    let (phase_tx, phase_rx) = tokio::sync::watch::channel(Phase::Idle);
    let tasks = drive(clients, prefixes, partner_of, shared.clone(), phase_rx);

    // Saturation.
    phase_tx.send(Phase::Saturate)?;
    tokio::time::sleep(Duration::from_millis(500)).await; // warm-up
    shared.received.store(0, Ordering::Relaxed);
    let t0 = Instant::now();
    tokio::time::sleep(Duration::from_secs_f64(opts.saturate_secs)).await;
    let relayed_per_sec =
        shared.received.load(Ordering::Relaxed) as f64 / t0.elapsed().as_secs_f64();
    phase_tx.send(Phase::Idle)?;
    tokio::time::sleep(Duration::from_millis(1000)).await; // drain

    // Fixed offered load.
    let per_client = opts.rate as f64 / clients_n as f64;
    let interval = Duration::from_secs_f64(1.0 / per_client);
    phase_tx.send(Phase::Paced { interval })?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    shared.recording.store(true, Ordering::Relaxed);
    shared.received.store(0, Ordering::Relaxed);
    tokio::time::sleep(Duration::from_secs_f64(opts.paced_secs)).await;
    shared.recording.store(false, Ordering::Relaxed);
    phase_tx.send(Phase::Stop)?;
    let mut lat = shared
        .latencies_us
        .lock()
        .map(|mut l| std::mem::take(&mut *l))
        .unwrap_or_default();
    lat.sort_unstable();
    let paced_per_sec = lat.len() as f64 / opts.paced_secs;

    for t in tasks {
        t.abort();
    }
    if let Some(mut c) = child {
        drop(c.proc.stdin.take());
        let _ = tokio::time::timeout(Duration::from_secs(8), c.proc.wait()).await;
        let _ = c.proc.kill().await;
    }
    Ok(Row {
        server,
        clients: clients_n,
        connect_per_sec,
        relayed_per_sec,
        p50_ms: percentile(&lat, 0.50),
        p99_ms: percentile(&lat, 0.99),
        kib_per_conn,
        paced_per_sec,
    })
}

async fn run(opts: Opts) -> BoxResult<()> {
    let kinds: Vec<&'static str> = match (opts.servers.as_str(), opts.addr) {
        (_, Some(_)) => vec!["natter"],
        ("natter", _) => vec!["natter"],
        ("echo", _) => vec!["echo"],
        _ => vec!["echo", "natter"],
    };
    println!(
        "natter-loadgen: {} cores, offered load {} msg/s in the latency phase",
        num_cpus(),
        opts.rate
    );
    let mut rows = Vec::new();
    for &c in &opts.clients {
        for &kind in &kinds {
            let started = Instant::now();
            let row = measure(kind, c, &opts).await?;
            eprintln!(
                "  measured {kind} with {c} clients in {:.1} s",
                started.elapsed().as_secs_f64()
            );
            rows.push(row);
        }
    }
    println!();
    println!(
        "{:<8} {:>7} {:>11} {:>14} {:>8} {:>8} {:>13} {:>11}",
        "server",
        "clients",
        "connect/s",
        "relayed msg/s",
        "p50 ms",
        "p99 ms",
        "KiB/idle conn",
        "paced msg/s"
    );
    for r in &rows {
        println!(
            "{:<8} {:>7} {:>11.0} {:>14.0} {:>8.2} {:>8.2} {:>13} {:>11.0}",
            r.server,
            r.clients,
            r.connect_per_sec,
            r.relayed_per_sec,
            r.p50_ms,
            r.p99_ms,
            r.kib_per_conn
                .map_or("n/a".to_owned(), |k| format!("{k:.1}")),
            r.paced_per_sec
        );
    }
    println!(
        "{:<8} {:>7} {:>11} {:>14} {:>8} {:>8} {:>13} {:>11}",
        "goal", 10_000, "-", ">= 50000", "-", "<= 5", "<= 20", "10000"
    );
    println!();
    println!(
        "relayed msg/s: saturation, 8 in flight per client. p50/p99: at the fixed offered load."
    );
    println!("echo: bare tokio-tungstenite echo server, same buffers, same machine (baseline).");
    Ok(())
}

fn num_cpus() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}
