//! Pulling an attachment from several peers: disjoint holders, a peer serving bad chunks,
//! a peer leaving mid-way, resuming from stored chunks, slow peers, and the in-flight bound.

use std::collections::{BTreeMap, BTreeSet};

use natter_core::blob::{BlobError, Outboard, Proof, CHUNK_LEN};
use natter_core::fetch::{Availability, Fetch, FetchConfig, FetchOutput};
use natter_core::sync::PeerId;

fn file(chunks: usize) -> Vec<u8> {
    (0..chunks * CHUNK_LEN - 123)
        .map(|i| (i % 241) as u8)
        .collect()
}

/// A peer as the test plays it: serves what it holds, maybe corrupted.
struct Server {
    holds: BTreeSet<u64>,
    corrupt: bool,
    silent: bool,
}

/// Runs `fetch` against `servers` until nothing more happens; returns what was stored (by
/// whom it was asked of), who was blamed, and the largest number of requests any peer had
/// in flight at once.
fn run(
    fetch: &mut Fetch,
    bytes: &[u8],
    ob: &Outboard,
    servers: &mut BTreeMap<PeerId, Server>,
    now: &mut u64,
) -> (BTreeMap<u64, PeerId>, Vec<PeerId>, usize) {
    let mut stored = BTreeMap::new();
    let mut asked_of: BTreeMap<u64, PeerId> = BTreeMap::new();
    let mut blamed = Vec::new();
    let mut outstanding: BTreeMap<PeerId, usize> = BTreeMap::new();
    let mut most = 0;
    let mut queue = Vec::new();
    for _ in 0..10_000 {
        while let Some(out) = fetch.poll_output() {
            match out {
                FetchOutput::Request { peer, index } => {
                    let n = outstanding.entry(peer).or_default();
                    *n += 1;
                    most = most.max(*n);
                    asked_of.insert(index, peer);
                    queue.push((peer, index));
                }
                FetchOutput::Store {
                    index, bytes: b, ..
                } => {
                    let start = index as usize * CHUNK_LEN;
                    assert_eq!(
                        &bytes[start..start + b.len()],
                        &b[..],
                        "a stored chunk is the file's"
                    );
                    stored.insert(index, asked_of[&index]);
                }
                FetchOutput::Blame { peer, .. } => {
                    blamed.push(peer);
                    outstanding.remove(&peer);
                    servers.remove(&peer);
                }
                FetchOutput::Done => {}
            }
        }
        if queue.is_empty() {
            if fetch.is_done() {
                break;
            }
            // Nothing to answer: let time pass for the timeouts.
            if fetch.next_deadline().is_none() {
                break;
            }
            *now += 20_000;
            fetch.tick(*now);
            continue;
        }
        let (peer, index) = queue.remove(0);
        *now += 1;
        let Some(server) = servers.get(&peer) else {
            continue;
        };
        if server.silent {
            continue;
        }
        if let Some(n) = outstanding.get_mut(&peer) {
            *n = n.saturating_sub(1);
        }
        assert!(
            server.holds.contains(&index),
            "asked {peer:?} for a chunk it lacks"
        );
        let start = index as usize * CHUNK_LEN;
        let end = (start + CHUNK_LEN).min(bytes.len());
        let mut chunk = bytes[start..end].to_vec();
        if server.corrupt {
            chunk[0] ^= 0xff;
        }
        let proof = ob
            .proof(index)
            .unwrap_or_else(|_| Proof::from_bytes(&[]).unwrap_or_else(|_| unreachable!()));
        fetch.received(*now, peer, index, chunk, &proof, None);
    }
    (stored, blamed, most)
}

fn server(holds: impl IntoIterator<Item = u64>) -> Server {
    Server {
        holds: holds.into_iter().collect(),
        corrupt: false,
        silent: false,
    }
}

fn flags(chunks: u64, holds: &BTreeSet<u64>) -> Availability {
    Availability::Chunks((0..chunks).map(|i| holds.contains(&i)).collect())
}

fn start(servers: &BTreeMap<PeerId, Server>, fetch: &mut Fetch, chunks: u64) {
    for (id, s) in servers {
        fetch.peer_has(0, *id, flags(chunks, &s.holds));
    }
}

#[test]
fn disjoint_holders_each_serve_their_part_and_the_work_is_spread() {
    let bytes = file(12);
    let ob = Outboard::of(&bytes).expect("an outboard");
    let mut fetch =
        Fetch::new(ob.root(), bytes.len() as u64, [], FetchConfig::default()).expect("a fetch");
    let mut servers = BTreeMap::from([
        (PeerId(1), server(0..4)),
        (PeerId(2), server(4..8)),
        (PeerId(3), server(8..12)),
    ]);
    start(&servers, &mut fetch, 12);
    let mut now = 0;
    let (stored, blamed, most) = run(&mut fetch, &bytes, &ob, &mut servers, &mut now);
    assert!(fetch.is_done());
    assert_eq!(fetch.progress(), (12, 12));
    assert!(blamed.is_empty());
    assert!(most <= FetchConfig::default().max_in_flight);
    for (index, peer) in stored {
        assert_eq!(peer.0, index / 4 + 1, "chunk {index} came from its holder");
    }
}

#[test]
fn peers_holding_everything_share_the_requests() {
    let bytes = file(9);
    let ob = Outboard::of(&bytes).expect("an outboard");
    let config = FetchConfig {
        max_in_flight: 2,
        ..FetchConfig::default()
    };
    let mut fetch = Fetch::new(ob.root(), bytes.len() as u64, [], config).expect("a fetch");
    let mut servers = BTreeMap::from([(PeerId(1), server(0..9)), (PeerId(2), server(0..9))]);
    fetch.peer_has(0, PeerId(1), Availability::All);
    fetch.peer_has(0, PeerId(2), Availability::All);
    let mut now = 0;
    let (stored, _, most) = run(&mut fetch, &bytes, &ob, &mut servers, &mut now);
    assert!(fetch.is_done());
    assert!(most <= 2);
    let from_one = stored.values().filter(|p| p.0 == 1).count();
    assert!((1..9).contains(&from_one), "both peers served: {stored:?}");
}

#[test]
fn a_peer_serving_bad_chunks_is_blamed_and_the_file_completes_from_another() {
    let bytes = file(6);
    let ob = Outboard::of(&bytes).expect("an outboard");
    let mut fetch =
        Fetch::new(ob.root(), bytes.len() as u64, [], FetchConfig::default()).expect("a fetch");
    let mut servers = BTreeMap::from([
        (
            PeerId(1),
            Server {
                corrupt: true,
                ..server(0..6)
            },
        ),
        (PeerId(2), server(0..6)),
    ]);
    start(&servers, &mut fetch, 6);
    let mut now = 0;
    let (stored, blamed, _) = run(&mut fetch, &bytes, &ob, &mut servers, &mut now);
    assert_eq!(blamed, vec![PeerId(1)]);
    assert!(fetch.is_done());
    assert!(stored.values().all(|p| *p == PeerId(2)), "{stored:?}");
}

#[test]
fn a_bad_chunk_is_blamed_with_its_reason_and_never_stored() {
    let bytes = file(2);
    let ob = Outboard::of(&bytes).expect("an outboard");
    let mut fetch =
        Fetch::new(ob.root(), bytes.len() as u64, [], FetchConfig::default()).expect("a fetch");
    fetch.peer_has(0, PeerId(7), Availability::All);
    assert_eq!(
        fetch.poll_output(),
        Some(FetchOutput::Request {
            peer: PeerId(7),
            index: 0
        })
    );
    assert_eq!(
        fetch.poll_output(),
        Some(FetchOutput::Request {
            peer: PeerId(7),
            index: 1
        })
    );
    let proof = ob.proof(0).expect("a proof");
    // Unasked: chunk 0 from someone else is dropped unread.
    fetch.received(1, PeerId(8), 0, bytes[..CHUNK_LEN].to_vec(), &proof, None);
    assert_eq!(fetch.poll_output(), None);
    let mut bad = bytes[..CHUNK_LEN].to_vec();
    bad[9] ^= 1;
    fetch.received(2, PeerId(7), 0, bad, &proof, None);
    assert_eq!(
        fetch.poll_output(),
        Some(FetchOutput::Blame {
            peer: PeerId(7),
            reason: BlobError::Mismatch
        })
    );
    assert_eq!(fetch.poll_output(), None);
    assert_eq!(fetch.progress(), (0, 2));
}

#[test]
fn a_peer_leaving_gives_its_requests_back_and_a_reload_resumes() {
    let bytes = file(8);
    let ob = Outboard::of(&bytes).expect("an outboard");
    let mut fetch =
        Fetch::new(ob.root(), bytes.len() as u64, [], FetchConfig::default()).expect("a fetch");
    fetch.peer_has(0, PeerId(1), Availability::All);
    let asked: Vec<FetchOutput> = std::iter::from_fn(|| fetch.poll_output()).collect();
    assert_eq!(asked.len(), 4);
    // Chunk 0 arrives, then the peer leaves with 1..=3 unanswered.
    let proof = ob.proof(0).expect("a proof");
    fetch.received(1, PeerId(1), 0, bytes[..CHUNK_LEN].to_vec(), &proof, None);
    let stored: Vec<u64> = std::iter::from_fn(|| fetch.poll_output())
        .filter_map(|o| match o {
            FetchOutput::Store { index, .. } => Some(index),
            _ => None,
        })
        .collect();
    assert_eq!(stored, vec![0]);
    fetch.peer_gone(2, PeerId(1));
    // Another peer takes over from chunk 1.
    fetch.peer_has(3, PeerId(2), Availability::All);
    assert_eq!(
        fetch.poll_output(),
        Some(FetchOutput::Request {
            peer: PeerId(2),
            index: 1
        })
    );
    // A reload: a new fetch from the stored chunks asks only for the rest.
    let mut resumed = Fetch::new(
        ob.root(),
        bytes.len() as u64,
        [0, 1, 2],
        FetchConfig::default(),
    )
    .expect("a fetch");
    let mut servers = BTreeMap::from([(PeerId(3), server(0..8))]);
    resumed.peer_has(0, PeerId(3), Availability::All);
    let mut now = 10;
    let (stored, _, _) = run(&mut resumed, &bytes, &ob, &mut servers, &mut now);
    assert_eq!(
        stored.keys().copied().collect::<Vec<_>>(),
        vec![3, 4, 5, 6, 7]
    );
    assert!(resumed.is_done());
}

#[test]
fn a_silent_peer_times_out_and_its_chunks_come_from_another() {
    let bytes = file(5);
    let ob = Outboard::of(&bytes).expect("an outboard");
    let mut fetch =
        Fetch::new(ob.root(), bytes.len() as u64, [], FetchConfig::default()).expect("a fetch");
    let mut servers = BTreeMap::from([
        (
            PeerId(1),
            Server {
                silent: true,
                ..server(0..5)
            },
        ),
        (PeerId(2), server(0..5)),
    ]);
    start(&servers, &mut fetch, 5);
    let mut now = 0;
    let (stored, blamed, _) = run(&mut fetch, &bytes, &ob, &mut servers, &mut now);
    assert!(blamed.is_empty());
    assert!(fetch.is_done(), "{:?}", fetch.progress());
    assert!(stored.values().all(|p| *p == PeerId(2)));
}

#[test]
fn bad_starts_and_maps_are_refused() {
    let ob = Outboard::of(&file(3)).expect("an outboard");
    let len = ob.len();
    assert!(Fetch::new(ob.root(), len, [3], FetchConfig::default()).is_err());
    assert!(Fetch::new(ob.root(), u64::MAX, [], FetchConfig::default()).is_err());
    let mut whole = Fetch::new(ob.root(), len, [0, 1, 2], FetchConfig::default()).expect("a fetch");
    assert_eq!(whole.poll_output(), Some(FetchOutput::Done));
    let mut fetch = Fetch::new(ob.root(), len, [], FetchConfig::default()).expect("a fetch");
    // A map of another size is ignored; so are peers past the limit.
    fetch.peer_has(0, PeerId(1), Availability::Chunks(vec![true; 4]));
    assert_eq!(fetch.poll_output(), None);
    let config = FetchConfig {
        max_peers: 1,
        ..FetchConfig::default()
    };
    let mut capped = Fetch::new(ob.root(), len, [], config).expect("a fetch");
    capped.peer_has(0, PeerId(1), Availability::Chunks(vec![false; 3]));
    capped.peer_has(0, PeerId(2), Availability::All);
    assert_eq!(
        capped.poll_output(),
        None,
        "the second peer is past the limit"
    );
}

#[test]
fn a_slow_peer_is_asked_again_once_the_only_other_holder_is_dropped() {
    let bytes = file(1);
    let ob = Outboard::of(&bytes).expect("an outboard");
    let mut fetch =
        Fetch::new(ob.root(), bytes.len() as u64, [], FetchConfig::default()).expect("a fetch");
    fetch.peer_has(0, PeerId(1), Availability::All);
    fetch.peer_has(0, PeerId(2), Availability::All);
    assert_eq!(
        fetch.poll_output(),
        Some(FetchOutput::Request {
            peer: PeerId(1),
            index: 0
        })
    );
    // Peer 1 is slow: the chunk is asked of peer 2, which sends garbage.
    fetch.tick(20_000);
    assert_eq!(
        fetch.poll_output(),
        Some(FetchOutput::Request {
            peer: PeerId(2),
            index: 0
        })
    );
    let proof = ob.proof(0).expect("a proof");
    fetch.received(20_001, PeerId(2), 0, vec![0; bytes.len()], &proof, None);
    assert!(matches!(
        fetch.poll_output(),
        Some(FetchOutput::Blame {
            peer: PeerId(2),
            ..
        })
    ));
    // Peer 1 is the only holder left: it is asked again rather than never.
    assert_eq!(
        fetch.poll_output(),
        Some(FetchOutput::Request {
            peer: PeerId(1),
            index: 0
        })
    );
}

#[test]
fn a_peer_that_lacks_a_chunk_is_not_asked_for_it_again_and_the_chunk_comes_from_another() {
    let bytes = file(3);
    let ob = Outboard::of(&bytes).expect("an outboard");
    let config = FetchConfig {
        max_in_flight: 1,
        ..FetchConfig::default()
    };
    let mut fetch = Fetch::new(ob.root(), bytes.len() as u64, [], config).expect("a fetch");
    fetch.peer_has(0, PeerId(1), Availability::All);
    let first = fetch.poll_output();
    assert_eq!(
        first,
        Some(FetchOutput::Request {
            peer: PeerId(1),
            index: 0
        })
    );
    // Peer 1 no longer holds chunk 0; it is asked for chunk 1 instead.
    fetch.peer_lacks(1, PeerId(1), 0);
    assert_eq!(
        fetch.poll_output(),
        Some(FetchOutput::Request {
            peer: PeerId(1),
            index: 1
        })
    );
    // A lack of something it was not asked, or past the end, changes nothing else.
    fetch.peer_lacks(1, PeerId(1), 99);
    fetch.peer_lacks(1, PeerId(9), 1);
    assert_eq!(fetch.poll_output(), None);
    // Another peer arrives and is asked for chunk 0.
    fetch.peer_has(2, PeerId(2), Availability::All);
    assert_eq!(
        fetch.poll_output(),
        Some(FetchOutput::Request {
            peer: PeerId(2),
            index: 0
        })
    );
    // What is stored comes with a proof that verifies: it can be served on as received.
    let proof = ob.proof(0).expect("a proof");
    let chunk = bytes[..CHUNK_LEN].to_vec();
    fetch.received(3, PeerId(2), 0, chunk.clone(), &proof, None);
    match fetch.poll_output() {
        Some(FetchOutput::Store {
            index: 0,
            proof: p,
            bytes: b,
        }) => {
            assert_eq!(b, chunk);
            natter_core::blob::verify(&ob.root(), bytes.len() as u64, 0, &b, &p)
                .expect("the stored proof verifies");
        }
        other => panic!("expected chunk 0 stored, got {other:?}"),
    }
}
