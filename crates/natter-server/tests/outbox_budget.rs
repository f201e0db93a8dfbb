//! The server-wide outbox budget: clients that do not read cannot make the relay hold
//! more than `max_outbox_bytes`, however many messages each outbox may hold.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::{start, test_config, Client};
use futures_util::StreamExt;

#[tokio::test]
async fn a_client_that_does_not_read_is_closed_once_the_server_wide_budget_is_used() {
    let mut config = test_config();
    // The outbox's own count would allow 6 GB of 60 KB messages; only the budget can bind.
    config.limits.outbox_capacity = 100_000;
    config.limits.max_outbox_bytes = 4 * config.limits.max_frame_bytes;
    config.limits.frames_per_sec = 10_000;
    config.limits.frame_burst = 10_000;
    // Long enough that the stalled write's own timeout cannot be what closes the sleeper.
    config.limits.send_timeout = Duration::from_secs(60);
    let server = start(config).await;
    let addr = server.local_addr();
    let mut sender = Client::connect(addr).await;
    let mut sleeper = Client::connect(addr).await;
    let mut reader = Client::connect(addr).await;
    sender.join("r").await;
    let (s_sleeper, _) = sleeper.join("r").await;
    sender.recv_type("peer_joined").await;
    let (_, peers) = reader.join("other").await;
    assert!(peers.is_empty());

    let blob = "B".repeat(60 * 1024);
    // 2,000 messages are 120 MB: far more than the loopback socket buffers, so all but a
    // few megabytes would have to wait in the sleeper's outbox.
    let (sent, left) = sender.flood_until_left("r", &s_sleeper, &blob, 2000).await;
    assert_eq!(left["session"], s_sleeper.as_str());
    // What the socket buffers hold (about 70 messages here) plus the budget's four frames;
    // 1,000 messages would be 60 MB.
    assert!(
        sent < 1000,
        "the sleeper was closed only after {sent} messages"
    );
    // The sleeper's connection ends: what was already in the socket buffers arrives, then
    // the end (a clean close cannot be promised, as its socket was full).
    let ended = tokio::time::timeout(Duration::from_secs(20), async {
        while let Some(Ok(_)) = sleeper.ws.next().await {}
    })
    .await;
    assert!(ended.is_ok(), "the sleeper's connection was left open");
    // Nobody else was affected.
    sender.assert_alive().await;
    reader.assert_alive().await;
    let (s_new, _) = reader.join("r").await;
    sender.recv_type("peer_joined").await;
    sender.signal("r", &s_new, &blob).await;
    assert_eq!(
        reader.recv_type("signal").await["blob"]
            .as_str()
            .map(str::len),
        Some(blob.len())
    );
    server.shutdown().await.unwrap();
}
