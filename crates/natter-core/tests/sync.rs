//! The sync state machine between a few peers wired by hand.

use std::collections::{BTreeMap, BTreeSet};

use natter_core::identity::Identity;
use natter_core::log::{Body, Draft, Entry, EntryId, Record};
use natter_core::room::RoomId;
use natter_core::sim::plain_signature_holds;
use natter_core::sync::{Event, Input, Misbehaviour, Output, PeerId, Relay, RoomSync, SyncConfig};
use natter_core::wire::{encode_entries, encode_summary, Frame, Head, MAX_FRAME_LEN, WIRE_VERSION};

const ROOM: RoomId = RoomId([1; 32]);

fn node(seed: u8) -> RoomSync {
    node_with(seed, Relay::Lazy)
}

fn node_with(seed: u8, relay: Relay) -> RoomSync {
    RoomSync::new(
        ROOM,
        Identity::from_secret_bytes(&[seed; 32]),
        SyncConfig {
            relay,
            // The hand-wired network here fires no timers: announce at once.
            announce_delay_ms: 0,
            ..SyncConfig::default()
        },
    )
}

fn text(t: &str) -> Body {
    Body::Text {
        text: t.into(),
        reply_to: None,
    }
}

fn post(n: &mut RoomSync, count: usize) {
    for i in 0..count {
        n.handle(1, Input::Post(text(&format!("m{i}"))))
            .expect("valid post");
    }
}

/// A network of machines where node `i` is `PeerId(i)` to everyone; delivers until quiet and
/// returns how many delivery rounds (half round trips) it took and the bytes moved.
struct Net {
    nodes: Vec<RoomSync>,
    links: Vec<(usize, usize)>,
    stored: Vec<Vec<Record>>,
    disconnects: Vec<(usize, PeerId, Misbehaviour)>,
}

impl Net {
    fn new(nodes: Vec<RoomSync>) -> Net {
        let n = nodes.len();
        let mut net = Net {
            nodes,
            links: Vec::new(),
            stored: vec![Vec::new(); n],
            disconnects: Vec::new(),
        };
        for i in 0..n {
            net.collect(i); // drop outputs from before the network existed
        }
        net.stored = vec![Vec::new(); n];
        net
    }

    fn connect(&mut self, a: usize, b: usize) {
        self.links.push((a, b));
        self.nodes[a]
            .handle(10, Input::PeerConnected(PeerId(b as u64)))
            .expect("connect");
        self.nodes[b]
            .handle(10, Input::PeerConnected(PeerId(a as u64)))
            .expect("connect");
    }

    fn disconnect(&mut self, a: usize, b: usize) {
        self.links.retain(|l| *l != (a, b) && *l != (b, a));
        self.nodes[a]
            .handle(10, Input::PeerDisconnected(PeerId(b as u64)))
            .expect("disconnect");
        self.nodes[b]
            .handle(10, Input::PeerDisconnected(PeerId(a as u64)))
            .expect("disconnect");
    }

    /// Fires every node's timer at `now_ms` (periodic summaries), then runs until quiet.
    fn tick(&mut self, now_ms: u64) {
        for n in &mut self.nodes {
            n.handle(now_ms, Input::Tick).expect("tick");
        }
        self.run();
    }

    fn linked(&self, a: usize, b: usize) -> bool {
        self.links.contains(&(a, b)) || self.links.contains(&(b, a))
    }

    fn collect(&mut self, i: usize) -> Vec<(usize, Vec<u8>)> {
        let mut sends = Vec::new();
        for o in self.nodes[i].drain_outputs() {
            match o {
                Output::Send { peer, bytes } => sends.push((peer.0 as usize, bytes)),
                Output::Store(recs) => self.stored[i].extend(recs),
                Output::Disconnect { peer, reason } => self.disconnects.push((i, peer, reason)),
                Output::Event(_) | Output::ScheduleTimer { .. } => {}
            }
        }
        sends
    }

    /// Delivers in lock-step rounds until quiet; returns (rounds, bytes).
    fn run(&mut self) -> (usize, usize) {
        let mut rounds = 0;
        let mut bytes = 0;
        loop {
            // Each round's frames have left the senders' buffers by the next round.
            for (a, b) in self.links.clone() {
                for (x, y) in [(a, b), (b, a)] {
                    self.nodes[x]
                        .handle(100, Input::Drained(PeerId(y as u64)))
                        .expect("drained");
                }
            }
            let mut inflight = Vec::new();
            for i in 0..self.nodes.len() {
                for (to, b) in self.collect(i) {
                    inflight.push((i, to, b));
                }
            }
            if inflight.is_empty() {
                return (rounds, bytes);
            }
            rounds += 1;
            for (from, to, b) in inflight {
                if to < self.nodes.len() && self.linked(from, to) {
                    bytes += b.len();
                    self.nodes[to]
                        .handle(
                            100,
                            Input::Frame {
                                peer: PeerId(from as u64),
                                bytes: b,
                            },
                        )
                        .expect("frames never fail");
                }
            }
        }
    }
}

fn ids(n: &RoomSync) -> Vec<EntryId> {
    n.log().in_display_order().iter().map(|r| r.id).collect()
}

#[test]
fn two_peers_exchange_their_histories_on_connect() {
    let (mut a, mut b) = (node(2), node(3));
    post(&mut a, 5);
    post(&mut b, 7);
    let mut net = Net::new(vec![a, b]);
    net.connect(0, 1);
    net.run();
    assert_eq!(net.nodes[0].log().len(), 12);
    assert_eq!(ids(&net.nodes[0]), ids(&net.nodes[1]));
    assert_eq!(net.stored[0].len(), 7);
    assert_eq!(net.stored[1].len(), 5);
}

#[test]
fn peer_holds_tracks_what_each_connected_peer_has_of_an_author() {
    let (mut a, b) = (node(2), node(3));
    post(&mut a, 4);
    let me = a.me();
    let mut net = Net::new(vec![a, b]);
    assert_eq!(
        net.nodes[0].peer_holds(PeerId(1), &me),
        0,
        "not connected yet"
    );
    net.connect(0, 1);
    net.run();
    assert_eq!(net.nodes[0].peer_holds(PeerId(1), &me), 4);
    post(&mut net.nodes[0], 1);
    net.run();
    assert_eq!(net.nodes[0].peer_holds(PeerId(1), &me), 5);
    net.disconnect(0, 1);
    assert_eq!(
        net.nodes[0].peer_holds(PeerId(1), &me),
        0,
        "forgotten on disconnect"
    );
}

fn relay_through_an_intermediary(relay: Relay) -> usize {
    let mut net = Net::new(vec![
        node_with(2, relay),
        node_with(3, relay),
        node_with(4, relay),
    ]);
    net.connect(0, 1);
    net.connect(1, 2);
    net.run();
    net.nodes[0]
        .handle(20, Input::Post(text("hello C")))
        .expect("post");
    let (rounds, _) = net.run();
    assert_eq!(net.nodes[2].log().len(), 1);
    let r = net.nodes[2].log().in_display_order()[0].clone();
    assert_eq!(r.entry.author, net.nodes[0].me());
    assert_eq!(r.verify(&ROOM), Ok(()));
    rounds
}

#[test]
fn a_new_post_is_pushed_at_once_and_relayed_eagerly_through_an_intermediary() {
    assert_eq!(
        relay_through_an_intermediary(Relay::Eager),
        2,
        "A -> B -> C, one hop each"
    );
}

#[test]
fn a_new_post_is_relayed_lazily_through_an_intermediary_by_announcement() {
    assert_eq!(
        relay_through_an_intermediary(Relay::Lazy),
        4,
        "push A -> B, announce B -> C, want C -> B, entries B -> C"
    );
}

#[test]
fn a_ten_thousand_entry_catch_up_takes_one_round_trip_after_the_summaries() {
    let mut a = node(2);
    post(&mut a, 10_000);
    let raw: usize = a
        .log()
        .in_display_order()
        .iter()
        .map(|r| r.bytes.len())
        .sum();
    let mut net = Net::new(vec![a, node(3)]);
    net.connect(0, 1);
    let (rounds, bytes) = net.run();
    // Round 1: summaries; 2: want; 3: entries.
    assert_eq!(rounds, 3);
    assert_eq!(net.nodes[1].log().len(), 10_000);
    assert!(
        (bytes as f64) < 1.2 * raw as f64,
        "{bytes} bytes for {raw} bytes of entries"
    );
}

#[test]
fn a_reconnect_resumes_without_storing_anything_twice() {
    let mut a = node(2);
    post(&mut a, 300);
    let mut net = Net::new(vec![a, node(3)]);
    net.connect(0, 1);
    // Deliver only the summaries and the want, then cut the connection mid-transfer.
    for _ in 0..2 {
        let mut inflight = Vec::new();
        for i in 0..2 {
            for (to, b) in net.collect(i) {
                inflight.push((i, to, b));
            }
        }
        for (from, to, b) in inflight {
            net.nodes[to]
                .handle(
                    1,
                    Input::Frame {
                        peer: PeerId(from as u64),
                        bytes: b,
                    },
                )
                .expect("frame");
        }
    }
    net.collect(0);
    net.disconnect(0, 1);
    assert_eq!(net.nodes[1].log().len(), 0);
    post(&mut net.nodes[0], 10);
    net.connect(0, 1);
    net.run();
    assert_eq!(net.nodes[1].log().len(), 310);
    let mut stored: Vec<EntryId> = net.stored[1].iter().map(|r| r.id).collect();
    stored.sort();
    stored.dedup();
    assert_eq!(stored.len(), net.stored[1].len(), "stored twice");
}

#[test]
fn an_entry_whose_predecessor_is_missing_is_held_until_the_gap_is_filled() {
    let mut a = node(2);
    post(&mut a, 3);
    let recs: Vec<Record> = a.log().entries_of(&a.me()).cloned().collect::<Vec<_>>();
    let mut b = node(3);
    b.handle(1, Input::PeerConnected(PeerId(0)))
        .expect("connect");
    b.drain_outputs();
    b.handle(
        2,
        Input::Frame {
            peer: PeerId(0),
            bytes: Frame::Push(vec![recs[2].clone()]).encode(),
        },
    )
    .expect("frame");
    assert_eq!(b.log().len(), 0);
    assert_eq!(b.pending_len(), 1);
    let out = b.drain_outputs();
    assert!(!out.iter().any(|o| matches!(o, Output::Store(_))));
    let asked = out.iter().any(|o| match o {
        Output::Send { bytes, .. } => matches!(Frame::decode(bytes), Ok(Frame::Want(w)) if w[0].from_seq == 1 && w[0].to_seq == 2),
        _ => false,
    });
    assert!(asked, "the gap is wanted from the sender");
    b.handle(
        3,
        Input::Frame {
            peer: PeerId(0),
            bytes: Frame::Entries(recs[..2].to_vec()).encode(),
        },
    )
    .expect("frame");
    assert_eq!(b.log().len(), 3);
    let stored: Vec<u64> = b
        .drain_outputs()
        .into_iter()
        .filter_map(|o| match o {
            Output::Store(r) => Some(r),
            _ => None,
        })
        .flatten()
        .map(|r| r.entry.seq)
        .collect();
    assert_eq!(stored, vec![1, 2, 3]);
}

/// The `Entries` events among `out`: each one's entries' seqs and who delivered them.
fn announced(out: &[Output], n: &RoomSync) -> Vec<(Vec<u64>, Option<PeerId>)> {
    out.iter()
        .filter_map(|o| match o {
            Output::Event(Event::Entries { ids, from }) => Some((
                ids.iter()
                    .filter_map(|id| n.log().get_by_id(id).map(|r| r.entry.seq))
                    .collect(),
                *from,
            )),
            _ => None,
        })
        .collect()
}

#[test]
fn entries_are_announced_with_the_peer_that_delivered_them_and_own_posts_with_none() {
    let mut a = node(2);
    post(&mut a, 4);
    let recs: Vec<Record> = a.log().entries_of(&a.me()).cloned().collect::<Vec<_>>();
    let mut b = node(3);
    for p in [0, 1] {
        b.handle(1, Input::PeerConnected(PeerId(p)))
            .expect("connect");
    }
    b.drain_outputs();
    let frame = |b: &mut RoomSync, peer: u64, recs: &[Record]| {
        b.handle(
            2,
            Input::Frame {
                peer: PeerId(peer),
                bytes: Frame::Push(recs.to_vec()).encode(),
            },
        )
        .expect("frame");
        let out = b.drain_outputs();
        announced(&out, b)
    };
    assert_eq!(
        frame(&mut b, 0, &recs[..1]),
        vec![(vec![1], Some(PeerId(0)))]
    );
    // Peer 1 sends seq 4 ahead of its predecessor: held pending, announced with nothing.
    assert_eq!(frame(&mut b, 1, &recs[3..]), vec![]);
    // Peer 0 fills the gap: seqs 2 and 3 are its, seq 4 is still peer 1's delivery.
    assert_eq!(
        frame(&mut b, 0, &recs[1..3]),
        vec![(vec![2, 3], Some(PeerId(0))), (vec![4], Some(PeerId(1)))]
    );
    b.handle(3, Input::Post(text("mine"))).expect("valid post");
    let out = b.drain_outputs();
    assert_eq!(announced(&out, &b), vec![(vec![1], None)]);
}

/// A fresh node with a stranger connected as `PeerId(9)`.
fn node_with_stranger() -> RoomSync {
    let mut b = node(3);
    b.handle(1, Input::PeerConnected(PeerId(9)))
        .expect("connect");
    b.drain_outputs();
    b
}

/// Feeds `bytes` from the stranger at time `now` and returns the outputs.
fn frame_from_stranger(b: &mut RoomSync, now: u64, bytes: Vec<u8>) -> Vec<Output> {
    b.handle(
        now,
        Input::Frame {
            peer: PeerId(9),
            bytes,
        },
    )
    .expect("frame");
    b.drain_outputs()
}

fn deliver_from_stranger(bytes: Vec<u8>) -> (RoomSync, Vec<Output>) {
    let mut b = node_with_stranger();
    let out = frame_from_stranger(&mut b, 2, bytes);
    (b, out)
}

fn assert_rejected(bytes: Vec<u8>) -> Misbehaviour {
    let (b, out) = deliver_from_stranger(bytes);
    assert_eq!(b.log().len(), 0, "nothing stored");
    assert!(!out.iter().any(|o| matches!(o, Output::Store(_))));
    assert_eq!(b.peers().count(), 0);
    let reason = out
        .iter()
        .find_map(|o| match o {
            Output::Disconnect { peer, reason } if *peer == PeerId(9) => Some(reason.clone()),
            _ => None,
        })
        .expect("disconnected");
    assert!(out.iter().any(|o| matches!(
        o,
        Output::Event(Event::PeerMisbehaved {
            peer: PeerId(9),
            ..
        })
    )));
    reason
}

fn good_entries(n: usize) -> Vec<Record> {
    let mut a = node(2);
    post(&mut a, n);
    a.log().entries_of(&a.me()).cloned().collect::<Vec<_>>()
}

#[test]
fn a_forged_signature_disconnects_the_sender_and_nothing_in_its_frame_is_stored() {
    let mut recs = good_entries(3);
    let mut bad = recs[2].entry.clone();
    bad.signature.0[5] ^= 1;
    recs[2] = Record::from_entry(bad);
    let r = assert_rejected(Frame::Push(recs).encode());
    assert!(matches!(r, Misbehaviour::InvalidEntry(_)));
}

#[test]
fn a_tampered_body_disconnects_the_sender() {
    let mut recs = good_entries(2);
    let mut bad = recs[1].entry.clone();
    bad.body = text("tampered");
    recs[1] = Record::from_entry(bad);
    assert!(matches!(
        assert_rejected(Frame::Entries(recs).encode()),
        Misbehaviour::InvalidEntry(_)
    ));
}

#[test]
fn an_entry_from_another_room_disconnects_the_sender() {
    let other = Record::from_entry(
        Entry::sign(
            &Identity::from_secret_bytes(&[2; 32]),
            Draft {
                room_id: RoomId([9; 32]),
                seq: 1,
                prev_hash: EntryId::ZERO,
                lamport: 1,
                wall_ms: 0,
                body: text("elsewhere"),
            },
        )
        .expect("valid"),
    );
    assert!(matches!(
        assert_rejected(Frame::Push(vec![other]).encode()),
        Misbehaviour::InvalidEntry(natter_core::log::LogError::WrongRoom)
    ));
}

#[test]
fn garbage_and_oversized_frames_disconnect_the_sender() {
    assert!(matches!(
        assert_rejected(vec![WIRE_VERSION, 4, 0, 0, 0, 1, 0xff]),
        Misbehaviour::Malformed(_)
    ));
    assert!(matches!(
        assert_rejected(vec![0x17; 40]),
        Misbehaviour::Malformed(_)
    ));
    assert!(matches!(
        assert_rejected(vec![WIRE_VERSION; MAX_FRAME_LEN + 1]),
        Misbehaviour::Malformed(_)
    ));
}

#[test]
fn a_chain_broken_inside_one_frame_disconnects_the_sender() {
    let a = Identity::from_secret_bytes(&[2; 32]);
    let mk = |seq: u64, prev: EntryId| {
        Record::from_entry(
            Entry::sign(
                &a,
                Draft {
                    room_id: ROOM,
                    seq,
                    prev_hash: prev,
                    lamport: seq,
                    wall_ms: 0,
                    body: text("x"),
                },
            )
            .expect("valid"),
        )
    };
    let e1 = mk(1, EntryId::ZERO);
    let e2 = mk(2, EntryId([7; 32]));
    assert_eq!(
        assert_rejected(Frame::Entries(vec![e1, e2]).encode()),
        Misbehaviour::BrokenChain
    );
}

#[test]
fn a_summary_claiming_huge_histories_reports_saturated_progress_without_panicking() {
    // Found by the sync fuzz target: two authors each advertised near u64::MAX made the sum
    // of what is missing overflow.
    let heads: Vec<Head> = [7u8, 8]
        .iter()
        .map(|&seed| Head {
            author: Identity::from_secret_bytes(&[seed; 32]).public(),
            seq: u64::MAX - 1,
            head: EntryId([seed; 32]),
        })
        .collect();
    let frames = encode_summary(&heads);
    assert_eq!(frames.len(), 1);
    let (_, out) = deliver_from_stranger(frames[0].clone());
    let progress: Vec<u64> = out
        .iter()
        .filter_map(|o| match o {
            Output::Event(Event::SyncProgress { missing }) => Some(*missing),
            _ => None,
        })
        .collect();
    assert_eq!(progress, vec![u64::MAX]);
    // It asks for both histories; an honest peer sends what it has.
    assert!(out.iter().any(|o| matches!(
        o,
        Output::Send {
            peer: PeerId(9),
            ..
        }
    )));
}

/// A validly signed first entry of a stranger's log, with the given Lamport time and seq.
fn signed_by_stranger(lamport: u64, seq: u64) -> Record {
    let stranger = Identity::from_secret_bytes(&[9; 32]);
    let entry = Entry::sign(
        &stranger,
        Draft {
            room_id: ROOM,
            seq,
            prev_hash: EntryId::ZERO,
            lamport,
            wall_ms: 1,
            body: text("from the edge of time"),
        },
    )
    .expect("sign");
    Record::from_entry(entry)
}

#[test]
fn a_peer_entry_at_the_largest_lamport_time_does_not_break_our_next_post() {
    let (mut b, out) =
        deliver_from_stranger(Frame::Push(vec![signed_by_stranger(u64::MAX, 1)]).encode());
    assert!(out.iter().any(|o| matches!(o, Output::Store(_))));
    b.handle(3, Input::Post(text("after it")))
        .expect("our post is still accepted");
    let ours: Vec<_> = b.log().entries_of(&b.me()).collect();
    assert_eq!(ours.len(), 1);
    // Ours follows the sane times, not the far-future one, so later posts keep their order.
    assert_eq!(ours[0].entry.lamport, 1);
    b.handle(4, Input::Post(text("and then"))).expect("post");
    let texts: Vec<String> = b.view().messages.iter().map(|m| m.text.clone()).collect();
    let after = texts.iter().position(|t| t == "after it");
    let then = texts.iter().position(|t| t == "and then");
    assert!(after < then, "{texts:?}");
}

#[test]
fn evidence_at_the_largest_seq_is_judged_without_overflow() {
    let last = signed_by_stranger(5, u64::MAX);
    let other = signed_by_stranger(6, 1);
    assert!(!natter_core::sync::proves_equivocation(&last, &other));
    assert!(!natter_core::sync::proves_equivocation(&other, &last));
    let twin = signed_by_stranger(7, u64::MAX);
    assert!(natter_core::sync::proves_equivocation(&last, &twin));
}

#[test]
fn an_unknown_frame_kind_is_ignored_without_blame() {
    let (b, out) = deliver_from_stranger(vec![WIRE_VERSION, 99, 1, 2, 3]);
    assert_eq!(b.peers().count(), 1);
    assert!(!out.iter().any(|o| matches!(o, Output::Disconnect { .. })));
}

#[test]
fn an_equivocating_author_is_flagged_by_everyone_and_its_later_entries_refused() {
    let mallory = Identity::from_secret_bytes(&[6; 32]);
    let mk = |seq: u64, prev: EntryId, t: &str| {
        Record::from_entry(
            Entry::sign(
                &mallory,
                Draft {
                    room_id: ROOM,
                    seq,
                    prev_hash: prev,
                    lamport: seq,
                    wall_ms: 0,
                    body: text(t),
                },
            )
            .expect("valid"),
        )
    };
    let fork_a = mk(1, EntryId::ZERO, "to alice");
    let fork_b = mk(1, EntryId::ZERO, "to bob");
    let later = mk(2, fork_a.id, "later");
    let mut net = Net::new(vec![node(2), node(3), node(4)]);
    net.connect(0, 1);
    net.connect(1, 2);
    net.run();
    // Mallory is peer 7 of nodes 0 and 2 (not linked in `net`, so frames are injected).
    for (i, rec) in [(0usize, &fork_a), (2usize, &fork_b)] {
        net.nodes[i]
            .handle(30, Input::PeerConnected(PeerId(7)))
            .expect("connect");
        net.nodes[i]
            .handle(
                31,
                Input::Frame {
                    peer: PeerId(7),
                    bytes: encode_entries([rec], true).remove(0),
                },
            )
            .expect("frame");
    }
    net.run();
    // A want already in flight for seq 1 hides the second fork until the next periodic
    // summary exchange.
    net.tick(60_000);
    for n in &net.nodes {
        assert!(n.flagged_authors().contains(&mallory.public()));
        assert!(n.log().len() <= 1);
    }
    assert_eq!(
        net.nodes[0]
            .log()
            .entries_of(&mallory.public())
            .next()
            .expect("held")
            .id,
        fork_a.id
    );
    assert_eq!(
        net.nodes[2]
            .log()
            .entries_of(&mallory.public())
            .next()
            .expect("held")
            .id,
        fork_b.id
    );
    net.nodes[0]
        .handle(
            40,
            Input::Frame {
                peer: PeerId(7),
                bytes: Frame::Push(vec![later]).encode(),
            },
        )
        .expect("frame");
    assert_eq!(net.nodes[0].log().len(), 1, "later entries refused");
}

#[test]
fn typing_and_presence_are_forwarded_but_never_stored() {
    let mut net = Net::new(vec![node(2), node(3)]);
    net.connect(0, 1);
    net.run();
    net.nodes[0].handle(5, Input::Typing(true)).expect("typing");
    let sends = net.collect(0);
    assert_eq!(sends.len(), 1);
    net.nodes[1]
        .handle(
            6,
            Input::Frame {
                peer: PeerId(0),
                bytes: sends[0].1.clone(),
            },
        )
        .expect("frame");
    let out = net.nodes[1].drain_outputs();
    assert!(out.contains(&Output::Event(Event::Typing {
        peer: PeerId(0),
        active: true
    })));
    assert!(!out.iter().any(|o| matches!(o, Output::Store(_))));
}

#[test]
fn a_machine_loaded_from_its_store_carries_on_its_chain() {
    let mut a = node(2);
    post(&mut a, 4);
    let stored: Vec<Record> = a
        .drain_outputs()
        .into_iter()
        .filter_map(|o| match o {
            Output::Store(r) => Some(r),
            _ => None,
        })
        .flatten()
        .collect();
    let mut again = RoomSync::load(
        ROOM,
        Identity::from_secret_bytes(&[2; 32]),
        SyncConfig::default(),
        stored.into_iter().rev(),
        [],
        false,
    )
    .expect("loads");
    again
        .handle(9, Input::Post(text("after restart")))
        .expect("post");
    let own: Vec<_> = again.log().entries_of(&again.me()).collect();
    assert_eq!(own.len(), 5);
    assert_eq!(own[4].entry.prev_hash, own[3].id);
    assert!(own[4].entry.lamport > own[3].entry.lamport);
}

#[test]
fn a_too_long_post_is_refused() {
    let mut a = node(2);
    let r = a.handle(1, Input::Post(text(&"y".repeat(10_001))));
    assert!(r.is_err());
    assert_eq!(a.log().len(), 0);
}

#[test]
fn stored_evidence_flags_the_author_again_after_a_restart_and_is_passed_on() {
    let mallory = Identity::from_secret_bytes(&[6; 32]);
    let mk = |t: &str| {
        Record::from_entry(
            Entry::sign(
                &mallory,
                Draft {
                    room_id: ROOM,
                    seq: 1,
                    prev_hash: EntryId::ZERO,
                    lamport: 1,
                    wall_ms: 0,
                    body: text(t),
                },
            )
            .expect("valid"),
        )
    };
    let (a, b) = (mk("one"), mk("two"));
    let mut n = RoomSync::load(
        ROOM,
        Identity::from_secret_bytes(&[2; 32]),
        SyncConfig::default(),
        [a.clone()],
        [(a.clone(), b.clone())],
        false,
    )
    .expect("loads");
    assert!(n.flagged_authors().contains(&mallory.public()));
    n.handle(1, Input::PeerConnected(PeerId(3)))
        .expect("connect");
    let sent_evidence = n.drain_outputs().iter().any(|o| match o {
        Output::Send { bytes, .. } => matches!(Frame::decode(bytes), Ok(Frame::Evidence { .. })),
        _ => false,
    });
    assert!(sent_evidence);
    // A peer that still offers the author missed the evidence (a frame lost): its summary
    // gets it again, at most once per summary interval.
    let offers = Frame::Summary(vec![Head {
        author: mallory.public(),
        seq: 1,
        head: a.id,
    }])
    .encode();
    let evidence_for = |n: &mut RoomSync, now: u64| {
        n.handle(
            now,
            Input::Frame {
                peer: PeerId(3),
                bytes: offers.clone(),
            },
        )
        .expect("frame");
        n.drain_outputs().iter().any(|o| match o {
            Output::Send { bytes, .. } => {
                matches!(Frame::decode(bytes), Ok(Frame::Evidence { .. }))
            }
            _ => false,
        })
    };
    assert!(evidence_for(&mut n, 2));
    assert!(!evidence_for(&mut n, 3));
    assert!(evidence_for(
        &mut n,
        3 + SyncConfig::default().summary_interval_ms
    ));
    // Evidence that proves nothing is refused.
    let r = RoomSync::load(
        ROOM,
        Identity::from_secret_bytes(&[2; 32]),
        SyncConfig::default(),
        [],
        [(a.clone(), a)],
        false,
    );
    assert!(r.is_err());
}

// ----- signatures checked by the caller (the browser's WebCrypto) -----

/// Delivers `recs` in one Push frame from a stranger, after marking as checked the entries
/// `verifier` accepts among those `signature_checks` hands out.
fn deliver_checked(
    recs: Vec<Record>,
    verifier: impl Fn(&natter_core::log::SignatureCheck) -> bool,
) -> (RoomSync, Vec<Output>) {
    let bytes = Frame::Push(recs).encode();
    let checks = natter_core::sync::signature_checks(&bytes);
    let mut b = node_with_stranger();
    b.accept_checked(checks.iter().filter(|c| verifier(c)).map(|c| c.id));
    let out = frame_from_stranger(&mut b, 2, bytes);
    (b, out)
}

fn disconnected(out: &[Output]) -> bool {
    out.iter()
        .any(|o| matches!(o, Output::Disconnect { peer, .. } if *peer == PeerId(9)))
}

#[test]
fn entries_whose_signatures_the_caller_checked_are_accepted() {
    let recs = good_entries(4);
    let checks = natter_core::sync::signature_checks(&Frame::Push(recs.clone()).encode());
    // The run's top vouches for the entries below it: one check for the run.
    assert_eq!(
        checks.iter().map(|c| c.id).collect::<Vec<_>>(),
        vec![recs[3].id]
    );
    assert!(checks.iter().all(plain_signature_holds));
    let mut two_runs = recs.clone();
    two_runs.extend(chain_with_wrong_signatures(2, 10, &[]));
    let checks = natter_core::sync::signature_checks(&Frame::Push(two_runs).encode());
    assert_eq!(checks.len(), 2, "one check per author's run");
    let (b, out) = deliver_checked(recs, plain_signature_holds);
    assert_eq!(b.log().len(), 4);
    assert!(!disconnected(&out));
}

#[test]
fn an_entry_checked_on_arrival_is_relayed_without_a_second_check() {
    // The relay's run-top rule asks whether an entry verifies alone; an entry that arrived
    // alone was checked then (here by a caller that says so), and is not checked again. A
    // caller vouching for a bad signature makes that visible: the entry is passed on.
    let lone = chain_with_wrong_signatures(1, 10, &[1]);
    let bytes = Frame::Push(lone.clone()).encode();
    let mut b = node_with(3, Relay::Eager);
    for p in [9, 5] {
        b.handle(1, Input::PeerConnected(PeerId(p)))
            .expect("connect");
    }
    b.drain_outputs();
    b.accept_checked([lone[0].id]);
    let out = frame_from_stranger(&mut b, 2, bytes);
    assert_eq!(b.log().len(), 1);
    let pushed = out.iter().any(|o| match o {
        Output::Send { peer, bytes } if *peer == PeerId(5) => {
            matches!(Frame::decode(bytes), Ok(Frame::Push(r)) if r[0].id == lone[0].id)
        }
        _ => false,
    });
    assert!(pushed, "relayed on the strength of the check on arrival");
}

#[test]
fn a_caller_that_rejects_a_signature_leaves_the_verdict_to_the_core() {
    // A verifier that refuses everything costs time, never correctness: good entries are
    // still accepted (checked here), a forged one still rejected.
    let (b, out) = deliver_checked(good_entries(3), |_| false);
    assert_eq!(b.log().len(), 3);
    assert!(!disconnected(&out));
    let mut recs = good_entries(3);
    let mut bad = recs[2].entry.clone();
    bad.signature.0[40] ^= 1;
    recs[2] = Record::from_entry(bad);
    let (b, out) = deliver_checked(recs, plain_signature_holds);
    assert_eq!(b.log().len(), 0);
    assert!(disconnected(&out));
}

#[test]
fn strict_checks_still_apply_to_checked_entries() {
    // R replaced by the encoding of the identity point (small order), s made non-canonical
    // (s + L): no check is handed out for them, and even a verifier that claims they are
    // fine (by naming their ids) cannot get them accepted.
    const L: [u8; 32] = [
        0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde,
        0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
    ];
    let small_order_r = |e: &mut Entry| {
        e.signature.0[..32].copy_from_slice(&[
            1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
            0, 0, 0,
        ]);
    };
    let s_plus_l = |e: &mut Entry| {
        let mut carry = 0u16;
        for (s, l) in e.signature.0[32..].iter_mut().zip(L) {
            let sum = u16::from(*s) + u16::from(l) + carry;
            *s = sum as u8;
            carry = sum >> 8;
        }
    };
    for (what, tamper) in [
        ("small-order R", &small_order_r as &dyn Fn(&mut Entry)),
        ("non-canonical s", &s_plus_l),
    ] {
        let mut recs = good_entries(2);
        let mut bad = recs[1].entry.clone();
        tamper(&mut bad);
        recs[1] = Record::from_entry(bad);
        let bad_id = recs[1].id;
        assert_eq!(
            recs[1].signature_check(),
            None,
            "{what}: no check handed out"
        );
        let bytes = Frame::Push(recs.clone()).encode();
        let mut b = node_with_stranger();
        b.accept_checked([recs[0].id, bad_id]);
        let out = frame_from_stranger(&mut b, 2, bytes);
        assert_eq!(b.log().len(), 0, "{what}: nothing stored");
        assert!(disconnected(&out), "{what}: sender dropped");
    }
}

#[test]
fn checked_ids_apply_to_the_next_frame_only() {
    let mut recs = good_entries(2);
    let mut bad = recs[1].entry.clone();
    bad.signature.0[40] ^= 1;
    recs[1] = Record::from_entry(bad);
    let mut b = node_with_stranger();
    // Marked before an unrelated frame: the mark is gone when the forged entry arrives.
    b.accept_checked([recs[1].id]);
    frame_from_stranger(&mut b, 2, Frame::Typing(true).encode());
    let out = frame_from_stranger(&mut b, 3, Frame::Push(recs).encode());
    assert_eq!(b.log().len(), 0);
    assert!(disconnected(&out));
}

#[test]
fn a_hole_in_another_authors_stored_chain_loads_as_runs_and_is_filled_again() {
    let theirs = good_entries(5);
    // Entry 3 was never written (its write failed); 1, 2, 4 and 5 were.
    let stored: Vec<Record> = [0, 1, 3, 4].iter().map(|&i| theirs[i].clone()).collect();
    let mut b = RoomSync::load(
        ROOM,
        Identity::from_secret_bytes(&[3; 32]),
        SyncConfig::default(),
        stored,
        [],
        true,
    )
    .expect("the room still loads");
    let who = theirs[0].entry.author;
    assert_eq!(b.log().top_of(&who), 5);
    assert_eq!(b.log().base_of(&who), 3);
    assert_eq!(b.log().count_of(&who), 4);
    // Ours is whole: posting goes on.
    b.handle(5, Input::Post(text("still here"))).expect("post");
    // The author's peer serves the rest again.
    let author = RoomSync::load(
        ROOM,
        Identity::from_secret_bytes(&[2; 32]),
        SyncConfig::default(),
        theirs.clone(),
        [],
        true,
    )
    .expect("the author's own store");
    let mut net = Net::new(vec![author, b]);
    net.connect(0, 1);
    net.run();
    assert_eq!(net.nodes[1].log().count_of(&who), 5);
    assert_eq!(net.nodes[1].log().base_of(&who), 0);
}

#[test]
fn a_hole_in_our_own_stored_chain_is_refused_rather_than_forked() {
    let ours = good_entries(3);
    let r = RoomSync::load(
        ROOM,
        Identity::from_secret_bytes(&[2; 32]),
        SyncConfig::default(),
        [ours[0].clone(), ours[2].clone()],
        [],
        true,
    );
    assert!(r.is_err(), "a post after the hole would fork our log");
}

// ----- low priority (keepers) -----

/// Three machines on a clock: a joiner (0) that holds nothing, a normal peer (1) and a
/// keeper (2), with a latency per link; the joiner counts the entries each peer sends it.
struct Timed {
    nodes: Vec<RoomSync>,
    now: u64,
    latency: BTreeMap<(usize, usize), u64>,
    queue: BTreeMap<(u64, u64), (usize, usize, Vec<u8>)>,
    sent: u64,
    timers: Vec<Option<u64>>,
    /// Entries delivered to the joiner, by sender.
    got: BTreeMap<usize, usize>,
    /// Nodes that stopped serving: the entries they send are lost.
    mute: BTreeSet<usize>,
    /// When the joiner sent a want, and to whom.
    wants: Vec<(u64, usize)>,
    /// When the joiner first held `TOTAL` entries.
    done_at: Option<u64>,
}

const AUTHORS: u8 = 5;
const PER_AUTHOR: usize = 100;
const TOTAL: usize = AUTHORS as usize * PER_AUTHOR;
const JOINER: usize = 0;
const NORMAL: usize = 1;
const KEEPER: usize = 2;

/// `AUTHORS` members' histories of `PER_AUTHOR` entries each.
fn history() -> Vec<Record> {
    let mut all = Vec::new();
    for a in 0..AUTHORS {
        let mut m = node(100 + a);
        post(&mut m, PER_AUTHOR);
        all.extend(m.log().entries_of(&m.me()).cloned());
    }
    all
}

fn holding(seed: u8, recs: &[Record]) -> RoomSync {
    RoomSync::load(
        ROOM,
        Identity::from_secret_bytes(&[seed; 32]),
        SyncConfig::default(),
        recs.to_vec(),
        [],
        true,
    )
    .expect("loads")
}

impl Timed {
    fn new(normal_holds: &[Record], keeper_holds: &[Record]) -> Timed {
        let nodes = vec![
            RoomSync::new(
                ROOM,
                Identity::from_secret_bytes(&[50; 32]),
                SyncConfig::default(),
            ),
            holding(51, normal_holds),
            holding(52, keeper_holds),
        ];
        Timed {
            nodes,
            now: 0,
            latency: BTreeMap::new(),
            queue: BTreeMap::new(),
            sent: 0,
            timers: vec![None; 3],
            got: BTreeMap::new(),
            mute: BTreeSet::new(),
            wants: Vec::new(),
            done_at: None,
        }
    }

    fn linked(&self, a: usize, b: usize) -> bool {
        self.latency.contains_key(&(a.min(b), a.max(b)))
    }

    /// Connects the joiner to `peer` with this one-way latency, marking it low priority
    /// on the joiner's side as a node does when its hello verifies.
    fn connect(&mut self, peer: usize, latency: u64, low: bool) {
        self.latency.insert((JOINER, peer), latency);
        let now = self.now;
        self.nodes[JOINER]
            .handle(now, Input::PeerConnected(PeerId(peer as u64)))
            .expect("connect");
        if low {
            self.nodes[JOINER]
                .handle(
                    now,
                    Input::SetLowPriority {
                        peer: PeerId(peer as u64),
                        low: true,
                    },
                )
                .expect("low");
        }
        self.nodes[peer]
            .handle(now, Input::PeerConnected(PeerId(JOINER as u64)))
            .expect("connect");
        self.pump(JOINER);
        self.pump(peer);
    }

    fn pump(&mut self, i: usize) {
        for o in self.nodes[i].drain_outputs() {
            match o {
                Output::Send { peer, bytes } => {
                    let to = peer.0 as usize;
                    let Some(&lat) = self.latency.get(&(i.min(to), i.max(to))) else {
                        continue;
                    };
                    let frame = Frame::decode(&bytes);
                    if self.mute.contains(&i) && matches!(frame, Ok(Frame::Entries(_))) {
                        continue;
                    }
                    if i == JOINER && matches!(frame, Ok(Frame::Want(_))) {
                        self.wants.push((self.now, to));
                    }
                    self.sent += 1;
                    self.queue
                        .insert((self.now + lat, self.sent), (i, to, bytes));
                }
                Output::ScheduleTimer { at_ms } => self.timers[i] = Some(at_ms),
                Output::Store(_) | Output::Event(_) | Output::Disconnect { .. } => {}
            }
        }
    }

    /// Delivers frames and fires timers up to `end`.
    fn run_until(&mut self, end: u64) {
        loop {
            let next_frame = self.queue.keys().next().map(|k| k.0);
            let next_timer = self.timers.iter().flatten().min().copied();
            let next = match (next_frame, next_timer) {
                (Some(f), Some(t)) => f.min(t),
                (f, t) => match f.or(t) {
                    Some(x) => x,
                    None => break,
                },
            };
            if next > end {
                break;
            }
            self.now = next;
            if next_frame == Some(next) {
                let Some((_, (from, to, bytes))) = self.queue.pop_first() else {
                    break;
                };
                if !self.linked(from, to) {
                    continue;
                }
                if to == JOINER {
                    if let Ok(Frame::Entries(recs) | Frame::Push(recs)) = Frame::decode(&bytes) {
                        *self.got.entry(from).or_insert(0) += recs.len();
                    }
                }
                let now = self.now;
                self.nodes[to]
                    .handle(
                        now,
                        Input::Frame {
                            peer: PeerId(from as u64),
                            bytes,
                        },
                    )
                    .expect("frames never fail");
                self.nodes[from]
                    .handle(now, Input::Drained(PeerId(to as u64)))
                    .expect("drained");
                self.pump(to);
                self.pump(from);
            } else {
                for i in 0..self.nodes.len() {
                    if self.timers[i].is_some_and(|t| t <= next) {
                        self.timers[i] = None;
                        self.nodes[i].handle(next, Input::Tick).expect("tick");
                        self.pump(i);
                    }
                }
            }
            if self.done_at.is_none() && self.nodes[JOINER].log().len() >= TOTAL {
                self.done_at = Some(self.now);
            }
        }
        self.now = self.now.max(end);
    }
}

#[test]
fn a_joiner_takes_nothing_from_a_keeper_that_a_normal_peer_offers_too() {
    let all = history();
    // Whichever summary arrives first.
    for (normal_ms, keeper_ms) in [(50, 5), (5, 50), (20, 20)] {
        let mut t = Timed::new(&all, &all);
        t.connect(KEEPER, keeper_ms, true);
        t.connect(NORMAL, normal_ms, false);
        t.run_until(60_000);
        let case = format!("normal {normal_ms} ms, keeper {keeper_ms} ms");
        assert_eq!(t.nodes[JOINER].log().len(), TOTAL, "{case}");
        assert_eq!(t.got.get(&NORMAL), Some(&TOTAL), "{case}");
        assert_eq!(t.got.get(&KEEPER), None, "{case}");
        assert!(t.wants.iter().all(|(_, to)| *to == NORMAL), "{case}");
        assert!(t.nodes[JOINER].is_low_priority(PeerId(KEEPER as u64)));
        assert!(!t.nodes[JOINER].is_low_priority(PeerId(NORMAL as u64)));
    }
}

#[test]
fn what_only_the_keeper_holds_is_wanted_from_it_after_the_delay() {
    let all = history();
    // The normal peer holds the first three authors; the keeper all five.
    let partial: Vec<Record> = all[..3 * PER_AUTHOR].to_vec();
    let mut t = Timed::new(&partial, &all);
    t.connect(KEEPER, 5, true);
    t.connect(NORMAL, 50, false);
    t.run_until(60_000);
    assert_eq!(t.nodes[JOINER].log().len(), TOTAL);
    assert_eq!(t.got.get(&NORMAL), Some(&(3 * PER_AUTHOR)));
    assert_eq!(t.got.get(&KEEPER), Some(&(2 * PER_AUTHOR)));
    let delay = SyncConfig::default().low_priority_delay_ms;
    let to_keeper: Vec<u64> = t
        .wants
        .iter()
        .filter(|(_, to)| *to == KEEPER)
        .map(|(at, _)| *at)
        .collect();
    // Its summary arrived at 5 ms: the wants left 1.5 s later, not before.
    assert_eq!(to_keeper, vec![5 + delay]);
}

#[test]
fn with_only_the_keeper_connected_everything_is_wanted_from_it_at_once() {
    let all = history();
    let mut t = Timed::new(&[], &all);
    t.connect(KEEPER, 20, true);
    t.run_until(1_000);
    assert_eq!(t.nodes[JOINER].log().len(), TOTAL);
    assert_eq!(t.got.get(&KEEPER), Some(&TOTAL));
    assert_eq!(
        t.wants.first(),
        Some(&(20, KEEPER)),
        "on its summary's arrival"
    );
    assert!(t
        .done_at
        .is_some_and(|d| d < SyncConfig::default().low_priority_delay_ms));
}

#[test]
fn the_last_normal_peer_leaving_releases_the_keepers_wants_at_once() {
    let all = history();
    let mut t = Timed::new(&[], &all);
    t.connect(NORMAL, 5, false);
    t.connect(KEEPER, 5, true);
    t.run_until(100);
    assert!(t.wants.iter().all(|(_, to)| *to != KEEPER), "held back");
    t.latency.remove(&(JOINER, NORMAL));
    t.nodes[JOINER]
        .handle(100, Input::PeerDisconnected(PeerId(NORMAL as u64)))
        .expect("gone");
    t.pump(JOINER);
    t.run_until(1_000);
    assert_eq!(t.wants.first(), Some(&(100, KEEPER)));
    assert_eq!(t.nodes[JOINER].log().len(), TOTAL);
}

#[test]
fn a_keeper_that_stops_answering_stalls_a_joiner_no_longer_than_the_want_timeout() {
    let all = history();
    let cfg = SyncConfig::default();
    let mut t = Timed::new(&all, &all);
    // Alone with the keeper, the joiner wants everything from it at once; it answers
    // summaries but serves nothing.
    t.mute.insert(KEEPER);
    t.connect(KEEPER, 20, true);
    t.run_until(1_000);
    assert_eq!(t.wants, vec![(20, KEEPER)]);
    // A member who holds everything comes online.
    t.connect(NORMAL, 20, false);
    t.run_until(120_000);
    assert_eq!(t.nodes[JOINER].log().len(), TOTAL);
    assert_eq!(t.got.get(&KEEPER), None);
    assert_eq!(t.got.get(&NORMAL), Some(&TOTAL));
    // The want to the keeper times out; the next round of summaries finds the member.
    let done = t.done_at.unwrap_or(u64::MAX);
    assert!(
        done <= 20 + cfg.want_timeout_ms + cfg.summary_interval_ms + 1_000,
        "done at {done} ms"
    );
    // And the keeper's later summaries do not take the wants back from the member.
    assert_eq!(t.wants.iter().filter(|(_, to)| *to == KEEPER).count(), 1);
}

/// A peer that prunes what it holds: it wants no older history back.
fn pruning_node(seed: u8) -> RoomSync {
    RoomSync::new(
        ROOM,
        Identity::from_secret_bytes(&[seed; 32]),
        SyncConfig {
            announce_delay_ms: 0,
            backfill: false,
            ..SyncConfig::default()
        },
    )
}

#[test]
fn a_pruned_peer_serves_its_top_run_fetches_nothing_it_dropped_and_newcomers_fill_in_later() {
    let mut a = node(2);
    post(&mut a, 300);
    let who = a.me();
    let mut net = Net::new(vec![a, pruning_node(9), node(3)]);
    net.connect(0, 1);
    net.run();
    assert_eq!(net.nodes[1].log().count_of(&who), 300);
    let dropped = net.nodes[1].prune_through(&who, 200);
    assert_eq!(dropped.len(), 200);
    assert_eq!(net.nodes[1].log().base_of(&who), 200);
    net.disconnect(0, 1);

    // A newcomer with only the pruning peer online takes what it holds, as a run.
    net.connect(1, 2);
    net.run();
    let b = net.nodes[2].log();
    assert_eq!(
        (b.count_of(&who), b.base_of(&who), b.top_of(&who)),
        (100, 200, 300)
    );
    let first = net.nodes[2].view().messages.first().map(|m| m.seq);
    assert_eq!(first, Some(201));

    // The author returns: the pruning peer wants nothing back...
    net.connect(0, 1);
    net.tick(20_000);
    assert_eq!(net.nodes[1].log().count_of(&who), 100);
    // ...and the newcomer fills in the older history from the author.
    net.connect(0, 2);
    net.run();
    let b = net.nodes[2].log();
    assert_eq!((b.count_of(&who), b.base_of(&who)), (300, 0));
    assert_eq!(net.nodes[2].view().messages.len(), 300);
}

#[test]
fn a_member_who_held_older_history_keeps_it_takes_the_newer_run_and_closes_the_gap() {
    let mut a = node(2);
    post(&mut a, 50);
    let who = a.me();
    let mut net = Net::new(vec![a, pruning_node(9), node(3)]);
    net.connect(0, 2);
    net.run();
    net.disconnect(0, 2);
    post(&mut net.nodes[0], 250);
    net.connect(0, 1);
    net.run();
    net.nodes[1].prune_through(&who, 200);
    net.disconnect(0, 1);
    net.connect(1, 2);
    net.run();
    let b = net.nodes[2].log();
    assert_eq!(
        (b.count_of(&who), b.base_of(&who), b.held_below(&who, 201)),
        (150, 200, 50)
    );
    net.connect(0, 2);
    net.run();
    let b = net.nodes[2].log();
    assert_eq!((b.count_of(&who), b.base_of(&who)), (300, 0));
}

#[test]
fn backfill_comes_in_slices_until_the_whole_chain_is_held() {
    let mut a = node(2);
    let n = natter_core::sync::BACKFILL_CHUNK as usize + 300;
    post(&mut a, n);
    let who = a.me();
    let mut net = Net::new(vec![a, pruning_node(9), node(3)]);
    net.connect(0, 1);
    net.run();
    net.nodes[1].prune_through(&who, n as u64 - 10);
    net.disconnect(0, 1);
    net.connect(1, 2);
    net.run();
    assert_eq!(net.nodes[2].log().count_of(&who), 10);
    net.connect(0, 2);
    net.run();
    assert_eq!(net.nodes[2].log().count_of(&who), n);
    assert_eq!(net.stored[2].len(), n, "every entry stored once");
}

#[test]
fn an_author_pruned_entirely_keeps_its_head_and_is_not_fetched_again() {
    let mut a = node(2);
    post(&mut a, 5);
    let who = a.me();
    let mut net = Net::new(vec![a, pruning_node(9)]);
    net.connect(0, 1);
    net.run();
    net.nodes[1].prune_through(&who, 5);
    assert_eq!(net.nodes[1].log().count_of(&who), 0);
    assert_eq!(net.nodes[1].log().top_of(&who), 5);
    net.tick(20_000);
    assert_eq!(net.nodes[1].log().count_of(&who), 0);
    // What follows the floor is taken, linked to it.
    post(&mut net.nodes[0], 1);
    net.run();
    assert_eq!(net.nodes[1].log().count_of(&who), 1);
    assert_eq!(net.nodes[1].log().top_of(&who), 6);
}

#[test]
fn a_peer_that_declares_no_floor_cannot_start_a_run_and_a_floor_for_an_unnamed_author_is_ignored() {
    let recs = good_entries(5);
    let who = recs[0].entry.author;
    // Entry 5 pushed alone: held pending, its gap wanted, nothing in the log.
    let mut b = node_with_stranger();
    frame_from_stranger(&mut b, 2, Frame::Push(vec![recs[4].clone()]).encode());
    assert_eq!((b.log().count_of(&who), b.pending_len()), (0, 1));
    // A floor for an author the peer's summaries never named changes nothing.
    let floors = Frame::Floors(vec![natter_core::wire::Floor {
        author: who,
        base: 4,
    }]);
    let mut b = node_with_stranger();
    frame_from_stranger(&mut b, 2, floors.encode());
    frame_from_stranger(&mut b, 3, Frame::Push(vec![recs[4].clone()]).encode());
    assert_eq!(b.log().count_of(&who), 0);
    // Named first, the floor lets entry 5 start a run.
    let mut b = node_with_stranger();
    let head = Head {
        author: who,
        seq: 5,
        head: recs[4].id,
    };
    frame_from_stranger(&mut b, 2, Frame::Summary(vec![head]).encode());
    frame_from_stranger(&mut b, 3, floors.encode());
    frame_from_stranger(&mut b, 4, Frame::Push(vec![recs[4].clone()]).encode());
    assert_eq!((b.log().count_of(&who), b.log().base_of(&who)), (1, 4));
}

#[test]
fn a_peer_whose_chain_is_whole_again_says_so_and_is_asked_for_the_older_history() {
    let mut a = node(2);
    post(&mut a, 300);
    let who = a.me();
    let mut net = Net::new(vec![a, pruning_node(9), node(3), node(4)]);
    net.connect(0, 1);
    net.run();
    net.nodes[1].prune_through(&who, 200);
    net.disconnect(0, 1);
    // B takes the keeper's run, and C takes it from B (B says its chain starts at 201).
    net.connect(1, 2);
    net.run();
    net.disconnect(1, 2);
    net.connect(2, 3);
    net.run();
    assert_eq!(net.nodes[3].log().count_of(&who), 100);
    // The author meets B alone: B fills in its chain.
    net.connect(0, 2);
    net.run();
    assert_eq!(net.nodes[2].log().count_of(&who), 300);
    net.disconnect(0, 2);
    // B's next summary to C tells it B's chain is whole: C fills in from B.
    net.tick(20_000);
    assert_eq!(net.nodes[3].log().count_of(&who), 300);
}

#[test]
fn a_want_of_entries_in_our_gap_is_served_once_we_hold_them() {
    let recs = good_entries(10);
    let who = recs[0].entry.author;
    let mut b = RoomSync::load(
        ROOM,
        Identity::from_secret_bytes(&[3; 32]),
        SyncConfig::default(),
        recs[..6]
            .iter()
            .chain(&recs[9..])
            .cloned()
            .collect::<Vec<_>>(),
        [],
        true,
    )
    .expect("runs load");
    b.handle(1, Input::PeerConnected(PeerId(9)))
        .expect("connect");
    b.drain_outputs();
    let want = Frame::Want(vec![natter_core::wire::WantRange {
        author: who,
        from_seq: 7,
        to_seq: 9,
    }])
    .encode();
    let served = |out: &[Output]| -> Vec<u64> {
        out.iter()
            .filter_map(|o| match o {
                Output::Send { bytes, .. } => match Frame::decode(bytes) {
                    Ok(Frame::Entries(r)) => Some(r),
                    _ => None,
                },
                _ => None,
            })
            .flatten()
            .map(|r| r.entry.seq)
            .collect()
    };
    // Nothing of 7..=9 is held: nothing is served.
    assert!(served(&frame_from_stranger(&mut b, 2, want.clone())).is_empty());
    // Then someone fills the gap, and the same want, asked again at once, is served.
    frame_from_stranger(&mut b, 3, Frame::Push(recs[6..9].to_vec()).encode());
    assert_eq!(b.log().count_of(&who), 10);
    assert_eq!(served(&frame_from_stranger(&mut b, 4, want)), vec![7, 8, 9]);
}

// ----- vouching: a run's signed top stands for the entries below it -----

/// `n` entries of one author (seed 7), each a text of `len` bytes, whose own signatures are
/// wrong at the seqs in `wrong` (a bit of `s` flipped after signing); each entry names its
/// predecessor as it is, wrong signature included, so the author's chain is unbroken.
fn chain_with_wrong_signatures(n: u64, len: usize, wrong: &[u64]) -> Vec<Record> {
    let mut out: Vec<Record> = Vec::new();
    for seq in 1..=n {
        let prev = out.last().map_or(EntryId::ZERO, |r| r.id);
        let mut entry = by_seven(seq, prev, &"x".repeat(len));
        if wrong.contains(&seq) {
            entry.signature.0[40] ^= 1;
        }
        out.push(Record::from_entry(entry));
    }
    out
}

/// Entry `seq` of the author with seed 7, a text naming `prev` as its predecessor.
fn by_seven(seq: u64, prev: EntryId, t: &str) -> Entry {
    let draft = Draft {
        room_id: ROOM,
        seq,
        prev_hash: prev,
        lamport: seq,
        wall_ms: 1,
        body: text(t),
    };
    Entry::sign(&Identity::from_secret_bytes(&[7; 32]), draft).expect("sign")
}

#[test]
fn an_entry_its_signed_successor_vouches_for_in_the_frame_is_taken() {
    let chain = chain_with_wrong_signatures(3, 10, &[2]);
    assert!(
        chain[1].verify(&ROOM).is_err(),
        "its own signature is wrong"
    );
    let (b, out) = deliver_from_stranger(Frame::Push(chain.clone()).encode());
    assert_eq!(b.log().len(), 3);
    assert!(!disconnected(&out));
    // Without the successor it stands alone, and its signature is checked.
    let r = assert_rejected(Frame::Push(chain[..2].to_vec()).encode());
    assert!(matches!(r, Misbehaviour::InvalidEntry(_)));
    // The strict checks still apply to a vouched-for entry.
    let mut small_r = chain_with_wrong_signatures(2, 10, &[]);
    let mut bad = small_r[0].entry.clone();
    bad.signature.0[..32].copy_from_slice(&[0; 32]);
    bad.signature.0[0] = 1;
    small_r[0] = Record::from_entry(bad);
    small_r[1] = Record::from_entry(by_seven(2, small_r[0].id, "next"));
    assert_rejected(Frame::Push(small_r).encode());
}

#[test]
fn a_sender_ends_frames_only_at_entries_whose_own_signatures_verify() {
    // About 10 KB an entry: six fill a frame, so unpacked the first frame would end at
    // seq 6 and the second at 12, both entries the receiver would have to check alone.
    let chain = chain_with_wrong_signatures(14, 10_000, &[6, 12]);
    let mut net = Net::new(vec![holding(3, &chain), node(4)]);
    net.connect(0, 1);
    net.run();
    assert!(net.disconnects.is_empty(), "{:?}", net.disconnects);
    assert_eq!(net.nodes[1].log().len(), 14);
    // Loading checks what vouching allows, and no more.
    let load = |recs: &[Record]| {
        RoomSync::load(
            ROOM,
            Identity::from_secret_bytes(&[4; 32]),
            SyncConfig::default(),
            recs.to_vec(),
            [],
            false,
        )
    };
    assert!(load(&chain).is_ok());
    assert!(load(&chain[..6]).is_err(), "the top of a chain is checked");
}

/// Entries 1..=6 fill a frame and none of them verifies alone: they are not sent, and the
/// receiver, holding nothing, blames no one (7 and 8 may follow, and wait for the gap).
#[test]
fn a_frames_worth_with_no_entry_that_verifies_alone_is_not_sent() {
    let chain = chain_with_wrong_signatures(8, 10_000, &[1, 2, 3, 4, 5, 6, 7]);
    let mut net = Net::new(vec![holding(3, &chain), node(4)]);
    net.connect(0, 1);
    net.run();
    assert!(net.disconnects.is_empty(), "{:?}", net.disconnects);
    assert_eq!(net.nodes[1].log().len(), 0);
}

#[test]
fn a_fork_against_a_vouched_for_entry_is_proven_by_the_entry_that_vouched_for_it() {
    let chain = chain_with_wrong_signatures(3, 10, &[2]);
    let fork = Record::from_entry(by_seven(2, chain[0].id, "the other second entry"));
    let mut b = node_with_stranger();
    frame_from_stranger(&mut b, 2, Frame::Push(chain.clone()).encode());
    b.handle(3, Input::PeerConnected(PeerId(8)))
        .expect("connect");
    b.drain_outputs();
    let out = frame_from_stranger(&mut b, 4, Frame::Push(vec![fork.clone()]).encode());
    assert!(b.log().is_flagged(&chain[0].entry.author));
    // Not the held second entry (a peer checking it alone would refuse the evidence), but
    // the third, which vouched for it and names another second entry than the fork.
    let evidence: Vec<(Record, Record)> = out
        .iter()
        .filter_map(|o| match o {
            Output::Send { bytes, .. } => match Frame::decode(bytes) {
                Ok(Frame::Evidence { first, second }) => Some((*first, *second)),
                _ => None,
            },
            _ => None,
        })
        .collect();
    assert!(!evidence.is_empty(), "the fork is passed on");
    for (first, second) in &evidence {
        assert_eq!((first.id, second.id), (fork.id, chain[2].id));
    }
    assert!(!disconnected(&out));
}

#[test]
fn an_entry_whose_voucher_is_missing_is_never_sent_without_it() {
    // The holder has entries 1..=5, where 5's own signature is wrong and 6, which vouched
    // for it, is lost, and a later run 9..=12: one frame carrying both runs would end the
    // first at 5, which the receiver would have to check alone.
    let chain = chain_with_wrong_signatures(12, 10, &[5]);
    let held: Vec<Record> = chain
        .iter()
        .filter(|r| !(6..=8).contains(&r.entry.seq))
        .cloned()
        .collect();
    let mut net = Net::new(vec![holding(3, &held), node(4)]);
    net.connect(0, 1);
    net.run();
    assert!(net.disconnects.is_empty(), "{:?}", net.disconnects);
    // Both runs arrive, less the entry nothing it received vouches for.
    let log = net.nodes[1].log();
    assert_eq!(log.len(), 8);
    assert!(log.get_by_id(&chain[4].id).is_none());
}
