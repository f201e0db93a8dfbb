//! `natter-keeper`: keeps the history of the rooms members invite it into.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

use clap::Parser;

/// A Natter peer that keeps rooms available when nobody else is online.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// The Natter server to meet browsers at.
    #[arg(
        long,
        env = "NATTER_KEEPER_SERVER",
        default_value = "http://127.0.0.1:8080"
    )]
    server: String,
    /// Where to keep the store.
    #[arg(long, env = "NATTER_KEEPER_DATA", default_value = "keeper-data")]
    data: PathBuf,
    /// UDP address for WebRTC.
    #[arg(long, env = "NATTER_KEEPER_UDP", default_value = "0.0.0.0:0")]
    udp: SocketAddr,
    /// The IP address browsers reach the UDP socket at (default: the address towards the server).
    #[arg(long, env = "NATTER_KEEPER_ADVERTISE")]
    advertise: Option<IpAddr>,
    /// The name members see.
    #[arg(long, env = "NATTER_KEEPER_NAME", default_value = "Keeper")]
    name: String,
    /// Rooms kept at most.
    #[arg(long, default_value_t = 1000)]
    max_rooms: usize,
    /// Connections per room at most.
    #[arg(long, default_value_t = 32)]
    max_peers_per_room: usize,
    /// Bytes of entries and files stored, all rooms together, past which new rooms are
    /// refused and files are not fetched.
    #[arg(long, default_value_t = 8 * 1024 * 1024 * 1024)]
    max_bytes: u64,
    /// Rooms joined per signaling connection (the server's per-connection limit).
    #[arg(long, default_value_t = 8)]
    rooms_per_socket: usize,
    /// Keep the room of this invite link (repeatable): for an operator who was given the
    /// link, without a browser.
    #[arg(long, value_name = "INVITE LINK")]
    keep: Vec<String>,
    /// Megabits per second sent to one browser at most (bursts are spread at this rate so
    /// the browser's socket is not overrun).
    #[arg(long, env = "NATTER_KEEPER_PACE_MBIT", default_value_t = 64, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    pace_mbit: u64,
    /// Print the keeper's key (made on first use) and exit.
    #[arg(long)]
    print_key: bool,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args = Args::parse();
    if args.print_key {
        return match natter_keeper::key(&args.data) {
            Ok(key) => {
                println!("{key}");
                std::process::ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("natter-keeper: {e}");
                std::process::ExitCode::FAILURE
            }
        };
    }
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,str0m=warn,is=warn".into()),
        )
        .init();
    let config = natter_keeper::Config {
        server: args.server,
        data: args.data,
        udp: args.udp,
        advertise: args.advertise,
        name: args.name,
        max_rooms: args.max_rooms,
        max_peers_per_room: args.max_peers_per_room,
        rooms_per_socket: args.rooms_per_socket,
        max_bytes: args.max_bytes,
        keep: args.keep,
        pace: args.pace_mbit * 1_000_000 / 8,
    };
    let stop = async {
        let mut term =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {},
            _ = async { match term.as_mut() { Some(t) => { t.recv().await; } None => std::future::pending::<()>().await } } => {},
        }
    };
    tokio::select! {
        r = natter_keeper::run(config) => match r {
            Ok(()) => std::process::ExitCode::SUCCESS,
            Err(e) => {
                tracing::error!(error = %e, "the keeper stopped");
                std::process::ExitCode::FAILURE
            }
        },
        _ = stop => std::process::ExitCode::SUCCESS,
    }
}
