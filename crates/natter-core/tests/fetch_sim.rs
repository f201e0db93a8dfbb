//! A seeded simulation of one download from several peers: random holdings, latency, lost
//! messages, peers that leave and come back, peers that serve garbage or nothing, and the
//! downloader crashing and resuming from what it stored. Every seed must end with the whole
//! file stored, every chunk equal to the file's, no honest peer blamed, and every peer that
//! served a bad chunk blamed.
//!
//! `NATTER_FETCH_SIM_SEEDS` sets the number of seeds (default 60).

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap};

use natter_core::blob::{Outboard, CHUNK_LEN};
use natter_core::fetch::{Availability, Fetch, FetchConfig, FetchOutput};
use natter_core::sync::PeerId;
use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Honest,
    /// Serves every chunk with one byte changed.
    Corrupt,
    /// Never answers.
    Silent,
}

struct Peer {
    kind: Kind,
    holds: BTreeSet<u64>,
    online: bool,
}

#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Event {
    /// A request reaches a peer.
    Ask { peer: u64, index: u64 },
    /// A chunk reaches the downloader.
    Answer { peer: u64, index: u64 },
    /// A peer leaves or comes back.
    Toggle { peer: u64 },
    /// The downloader crashes and starts again from what it stored.
    Crash,
    /// The downloader's timer.
    Tick,
}

fn below(rng: &mut ChaCha20Rng, n: u64) -> u64 {
    rng.next_u64() % n.max(1)
}

fn chance(rng: &mut ChaCha20Rng, percent: u64) -> bool {
    below(rng, 100) < percent
}

fn run_seed(seed: u64) -> Result<(), String> {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let chunks = 1 + below(&mut rng, 24);
    let len = chunks * CHUNK_LEN as u64 - below(&mut rng, CHUNK_LEN as u64 - 1);
    // A cheap pattern that differs from chunk to chunk and seed to seed.
    let bytes: Vec<u8> = (0..len)
        .map(|i| ((i.wrapping_mul(2_654_435_761) ^ seed) >> 7) as u8)
        .collect();
    let ob = Outboard::of(&bytes).map_err(|e| e.to_string())?;

    // Peers: at least one honest peer holds everything between them.
    let n = 2 + below(&mut rng, 5);
    let mut peers: BTreeMap<u64, Peer> = BTreeMap::new();
    for id in 0..n {
        let kind = match (id, below(&mut rng, 6)) {
            (0, _) => Kind::Honest,
            (_, 0) => Kind::Corrupt,
            (_, 1) => Kind::Silent,
            _ => Kind::Honest,
        };
        let holds = (0..chunks).filter(|_| chance(&mut rng, 60)).collect();
        peers.insert(
            id,
            Peer {
                kind,
                holds,
                online: true,
            },
        );
    }
    // Every chunk is held by some honest peer.
    for i in 0..chunks {
        if !peers
            .values()
            .any(|p| p.kind == Kind::Honest && p.holds.contains(&i))
        {
            let honest: Vec<u64> = peers
                .iter()
                .filter(|(_, p)| p.kind == Kind::Honest)
                .map(|(k, _)| *k)
                .collect();
            let pick = honest[below(&mut rng, honest.len() as u64) as usize];
            if let Some(p) = peers.get_mut(&pick) {
                p.holds.insert(i);
            }
        }
    }

    let config = FetchConfig {
        max_in_flight: 1 + below(&mut rng, 4) as usize,
        request_timeout_ms: 500,
        max_peers: 64,
    };
    let mut stored: BTreeMap<u64, Vec<u8>> = BTreeMap::new();
    let mut blamed: BTreeSet<u64> = BTreeSet::new();
    let mut served_bad: BTreeSet<u64> = BTreeSet::new();
    let mut now = 0u64;
    let mut events: BinaryHeap<Reverse<(u64, u64, Event)>> = BinaryHeap::new();
    let mut serial = 0u64;
    let mut at = |events: &mut BinaryHeap<Reverse<(u64, u64, Event)>>, t: u64, e: Event| {
        serial += 1;
        events.push(Reverse((t, serial, e)));
    };
    let announce =
        |fetch: &mut Fetch, now: u64, peers: &BTreeMap<u64, Peer>, blamed: &BTreeSet<u64>| {
            for (id, p) in peers {
                if p.online && !blamed.contains(id) {
                    let flags = (0..chunks).map(|i| p.holds.contains(&i)).collect();
                    fetch.peer_has(now, PeerId(*id), Availability::Chunks(flags));
                }
            }
        };
    let mut fetch = Fetch::new(ob.root(), len, [], config.clone()).map_err(|e| e.to_string())?;
    announce(&mut fetch, now, &peers, &blamed);
    for id in 1..n {
        if chance(&mut rng, 30) {
            let t = 1 + below(&mut rng, 3_000);
            at(&mut events, t, Event::Toggle { peer: id });
        }
    }
    if chance(&mut rng, 40) {
        let t = 1 + below(&mut rng, 2_000);
        at(&mut events, t, Event::Crash);
    }
    at(&mut events, 100, Event::Tick);

    for _ in 0..200_000 {
        // Carry out what the downloader asked for.
        while let Some(out) = fetch.poll_output() {
            match out {
                FetchOutput::Request { peer, index } => {
                    if !chance(&mut rng, 5) {
                        let t = now + 1 + below(&mut rng, 40);
                        at(
                            &mut events,
                            t,
                            Event::Ask {
                                peer: peer.0,
                                index,
                            },
                        );
                    }
                }
                FetchOutput::Store {
                    index, bytes: b, ..
                } => {
                    if stored.insert(index, b).is_some() {
                        return Err(format!("seed {seed}: chunk {index} stored twice"));
                    }
                }
                FetchOutput::Blame { peer, .. } => {
                    blamed.insert(peer.0);
                }
                FetchOutput::Done => {}
            }
        }
        if fetch.is_done() {
            break;
        }
        let Some(Reverse((t, _, event))) = events.pop() else {
            return Err(format!("seed {seed}: stalled at {:?}", fetch.progress()));
        };
        now = now.max(t);
        match event {
            Event::Ask { peer, index } => {
                let Some(p) = peers.get(&peer) else { continue };
                if p.online && p.kind != Kind::Silent && !chance(&mut rng, 5) {
                    let t = now + 1 + below(&mut rng, 40);
                    at(&mut events, t, Event::Answer { peer, index });
                }
            }
            Event::Answer { peer, index } => {
                let Some(p) = peers.get(&peer) else { continue };
                if !p.online {
                    continue;
                }
                let start = index as usize * CHUNK_LEN;
                let end = (start + CHUNK_LEN).min(bytes.len());
                let mut chunk = bytes[start..end].to_vec();
                if p.kind == Kind::Corrupt {
                    if let Some(b) = chunk.first_mut() {
                        *b ^= 1;
                    } else {
                        chunk.push(0);
                    }
                    served_bad.insert(peer);
                }
                let proof = ob.proof(index).map_err(|e| e.to_string())?;
                fetch.received(now, PeerId(peer), index, chunk, &proof, None);
            }
            Event::Toggle { peer } => {
                if let Some(p) = peers.get_mut(&peer) {
                    p.online = !p.online;
                    if p.online {
                        if !blamed.contains(&peer) {
                            let flags = (0..chunks).map(|i| p.holds.contains(&i)).collect();
                            fetch.peer_has(now, PeerId(peer), Availability::Chunks(flags));
                        }
                    } else {
                        fetch.peer_gone(now, PeerId(peer));
                        // It comes back later.
                        let t = now + 200 + below(&mut rng, 2_000);
                        at(&mut events, t, Event::Toggle { peer });
                    }
                }
            }
            Event::Crash => {
                // Whatever was in flight is forgotten; the stored chunks remain.
                fetch = Fetch::new(ob.root(), len, stored.keys().copied(), config.clone())
                    .map_err(|e| e.to_string())?;
                announce(&mut fetch, now, &peers, &blamed);
            }
            Event::Tick => {
                fetch.tick(now);
                at(&mut events, now + 100, Event::Tick);
            }
        }
    }
    if !fetch.is_done() {
        return Err(format!("seed {seed}: not done: {:?}", fetch.progress()));
    }
    for (index, chunk) in &stored {
        let start = *index as usize * CHUNK_LEN;
        if chunk[..] != bytes[start..start + chunk.len()] {
            return Err(format!("seed {seed}: chunk {index} differs from the file"));
        }
    }
    for id in &blamed {
        if peers.get(id).is_some_and(|p| p.kind != Kind::Corrupt) {
            return Err(format!("seed {seed}: honest peer {id} was blamed"));
        }
    }
    if let Some(id) = served_bad.difference(&blamed).next() {
        return Err(format!(
            "seed {seed}: peer {id} served a bad chunk unblamed"
        ));
    }
    Ok(())
}

#[test]
fn downloads_complete_verified_from_unreliable_and_hostile_peers() {
    let seeds: u64 = std::env::var("NATTER_FETCH_SIM_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60);
    let failures: Vec<String> = (0..seeds).filter_map(|s| run_seed(s).err()).collect();
    assert!(failures.is_empty(), "{failures:#?}");
}
