//! A thousand concurrent clients in a hundred rooms: every member learns of every other
//! member of its room, every signal reaches exactly its addressee, and nothing crosses a room.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use common::{start, test_config, Client};
use tokio::sync::Barrier;

const ROOMS: usize = 100;
const PER_ROOM: usize = 10;

/// Raises the soft open-file limit to the hard limit; a thousand clients and their server
/// ends need about 2,100 descriptors, more than a default soft limit of 1,024.
fn raise_fd_limit() {
    if let Ok((soft, hard)) = rlimit::Resource::NOFILE.get() {
        if soft < hard {
            let _ = rlimit::Resource::NOFILE.set(hard, hard);
        }
    }
    let (soft, _) = rlimit::Resource::NOFILE.get().unwrap();
    assert!(
        soft >= (2 * ROOMS * PER_ROOM + 100) as u64,
        "open-file limit {soft} is too low for this test"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_clients_in_a_hundred_rooms_all_relay_and_receive_everything() {
    raise_fd_limit();
    let mut config = test_config();
    config.limits.frame_burst = 100;
    let server = start(config).await;
    let addr = server.local_addr();
    let started = std::time::Instant::now();
    let barrier = Arc::new(Barrier::new(ROOMS * PER_ROOM));
    let mut tasks = Vec::new();
    for room in 0..ROOMS {
        for _ in 0..PER_ROOM {
            let barrier = barrier.clone();
            tasks.push(tokio::spawn(async move {
                let room = format!("{room:064x}");
                let mut client = Client::connect(addr).await;
                let (me, initial) = client.join(&room).await;
                let mut peers: HashSet<String> = initial.into_iter().collect();
                while peers.len() < PER_ROOM - 1 {
                    let msg = client.recv().await;
                    assert_eq!(msg["type"], "peer_joined", "unexpected {msg}");
                    assert_eq!(msg["room"], room.as_str());
                    peers.insert(msg["session"].as_str().unwrap().to_owned());
                }
                barrier.wait().await;
                for peer in &peers {
                    client.signal(&room, peer, &format!("{me}>{peer}")).await;
                }
                let mut from = HashSet::new();
                while from.len() < PER_ROOM - 1 {
                    let msg = client.recv().await;
                    assert_eq!(msg["type"], "signal", "unexpected {msg}");
                    assert_eq!(msg["room"], room.as_str());
                    let sender = msg["from"].as_str().unwrap().to_owned();
                    assert!(peers.contains(&sender), "signal from outside the room");
                    assert_eq!(msg["blob"], format!("{sender}>{me}").as_str());
                    assert!(from.insert(sender), "duplicate signal");
                }
                barrier.wait().await;
                client.expect_silence(Duration::from_millis(100)).await;
                // Nobody leaves before everyone has checked that nothing else arrived.
                barrier.wait().await;
            }));
        }
    }
    for task in tasks {
        tokio::time::timeout(Duration::from_secs(60), task)
            .await
            .unwrap()
            .unwrap();
    }
    assert!(started.elapsed() < Duration::from_secs(60));
    server.shutdown().await.unwrap();
}
