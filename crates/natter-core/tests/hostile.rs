//! A hostile room member against the sync machine: each attack is a frame sequence a peer
//! holding the invite could send, and each test asserts what it may cost us in counts and
//! bytes (never times), that nothing from it is stored, and that honest peers carry on.

use natter_core::identity::{Identity, PublicKey};
use natter_core::log::{Body, Draft, Entry, EntryId, Record};
use natter_core::room::RoomId;
use natter_core::sync::{Event, Input, Output, PeerId, RoomSync, SyncConfig};
use natter_core::wire::{encode_summary, encode_want, Frame, Head, WantRange};

const ROOM: RoomId = RoomId([1; 32]);
const ATTACKER: PeerId = PeerId(9);
const HONEST: PeerId = PeerId(5);

fn config() -> SyncConfig {
    SyncConfig {
        announce_delay_ms: 0,
        ..SyncConfig::default()
    }
}

fn node(seed: u8) -> RoomSync {
    RoomSync::new(ROOM, Identity::from_secret_bytes(&[seed; 32]), config())
}

fn text(t: String) -> Body {
    Body::Text {
        text: t,
        reply_to: None,
    }
}

/// `n` entries of one author, each with about `len` bytes of text (four-byte characters, so
/// long texts stay within the character limit).
fn chain(seed: u8, n: usize, len: usize) -> Vec<Record> {
    let mut a = node(seed);
    for i in 0..n {
        let mut t = format!("{i} ");
        t.extend(std::iter::repeat_n(
            '\u{1F600}',
            len.saturating_sub(t.len()) / 4,
        ));
        a.handle(1, Input::Post(text(t))).expect("valid post");
    }
    a.log().entries_of(&a.me()).cloned().collect::<Vec<_>>()
}

/// A node holding `recs`, with `peers` connected and their greetings drained.
fn holder(recs: Vec<Record>, peers: &[PeerId]) -> RoomSync {
    let mut n = RoomSync::load(
        ROOM,
        Identity::from_secret_bytes(&[7; 32]),
        config(),
        recs,
        Vec::new(),
        true,
    )
    .expect("load");
    for p in peers {
        n.handle(1, Input::PeerConnected(*p)).expect("connect");
    }
    n.drain_outputs();
    n
}

fn frame(n: &mut RoomSync, now: u64, peer: PeerId, bytes: Vec<u8>) -> Vec<Output> {
    n.handle(now, Input::Frame { peer, bytes }).expect("frame");
    n.drain_outputs()
}

/// Bytes the outputs send to `peer`.
fn sent_to(out: &[Output], peer: PeerId) -> usize {
    out.iter()
        .map(|o| match o {
            Output::Send { peer: p, bytes } if *p == peer => bytes.len(),
            _ => 0,
        })
        .sum()
}

fn history_bytes(recs: &[Record]) -> usize {
    recs.iter().map(|r| r.bytes.len()).sum()
}

fn frames_of(out: &[Output], peer: PeerId) -> Vec<Frame> {
    out.iter()
        .filter_map(|o| match o {
            Output::Send { peer: p, bytes } if *p == peer => Frame::decode(bytes).ok(),
            _ => None,
        })
        .collect()
}

fn last_missing(out: &[Output]) -> Option<u64> {
    out.iter()
        .filter_map(|o| match o {
            Output::Event(Event::SyncProgress { missing }) => Some(*missing),
            _ => None,
        })
        .next_back()
}

fn made_up_heads(n: usize) -> Vec<Head> {
    (0..n)
        .map(|i| {
            let mut k = [0u8; 32];
            k[..8].copy_from_slice(&(i as u64 + 1).to_be_bytes());
            Head {
                author: PublicKey(k),
                seq: 1_000,
                head: EntryId([3; 32]),
            }
        })
        .collect()
}

#[test]
fn a_want_repeating_one_range_costs_the_history_once() {
    let recs = chain(2, 300, 100);
    let history = history_bytes(&recs);
    let author = recs[0].entry.author;
    let mut n = holder(recs, &[ATTACKER]);
    // One frame repeating the whole range as often as fits, sent ten times.
    let range = WantRange {
        author,
        from_seq: 1,
        to_seq: 300,
    };
    let wants = encode_want(&vec![range; 1_300]);
    assert_eq!(wants.len(), 1, "the repeats fit one frame");
    let mut bytes = 0;
    for _ in 0..10 {
        bytes += sent_to(&frame(&mut n, 2, ATTACKER, wants[0].clone()), ATTACKER);
    }
    // The entries once, plus 4 bytes each and 6 per frame of framing.
    assert!(
        bytes <= history + 4 * 300 + 6 * 10,
        "queued {bytes} bytes for a {history}-byte history"
    );
    assert!(bytes >= history, "the history is still served once");
}

#[test]
fn overlapping_wants_are_served_without_repeats() {
    let recs = chain(2, 100, 50);
    let author = recs[0].entry.author;
    let mut n = holder(recs.clone(), &[ATTACKER]);
    let mut seqs = Vec::new();
    for (from_seq, to_seq) in [(1, 60), (40, 100), (10, 20), (90, 100)] {
        let w = encode_want(&[WantRange {
            author,
            from_seq,
            to_seq,
        }]);
        for f in frames_of(&frame(&mut n, 2, ATTACKER, w[0].clone()), ATTACKER) {
            if let Frame::Entries(rs) = f {
                seqs.extend(rs.iter().map(|r| r.entry.seq));
            }
        }
    }
    seqs.sort_unstable();
    assert_eq!(
        seqs,
        (1..=100).collect::<Vec<u64>>(),
        "every entry exactly once"
    );
}

#[test]
fn pending_entries_from_a_peer_are_dropped_when_it_leaves() {
    let recs = chain(2, 50, 20);
    let mut n = holder(Vec::new(), &[ATTACKER]);
    frame(
        &mut n,
        2,
        ATTACKER,
        Frame::Push(recs[1..].to_vec()).encode(),
    );
    assert_eq!(n.pending_len(), 49, "held while the gap is wanted");
    n.handle(3, Input::PeerDisconnected(ATTACKER))
        .expect("leave");
    assert_eq!(n.pending_len(), 0, "nothing kept for a peer that left");
}

#[test]
fn pending_entries_expire_when_their_chain_never_completes() {
    let recs = chain(2, 10, 20);
    let mut n = holder(Vec::new(), &[ATTACKER]);
    frame(
        &mut n,
        2,
        ATTACKER,
        Frame::Push(recs[1..].to_vec()).encode(),
    );
    assert_eq!(n.pending_len(), 9);
    let later = 2 + SyncConfig::default().pending_ttl_ms + 1;
    n.handle(later, Input::Tick).expect("tick");
    assert_eq!(n.pending_len(), 0, "expired");
    assert_eq!(n.log().len(), 0, "nothing stored");
}

#[test]
fn the_pending_set_is_bounded_in_bytes() {
    // 200 entries of about 30 KB, none of which can be chained (entry 1 is withheld).
    let recs = chain(2, 201, 30_000);
    let mut n = holder(Vec::new(), &[ATTACKER]);
    for pair in recs[1..].chunks(2) {
        frame(&mut n, 2, ATTACKER, Frame::Push(pair.to_vec()).encode());
    }
    let smallest = recs.iter().map(|r| r.bytes.len()).min().unwrap_or(0);
    let held = n.pending_bytes();
    let budget = SyncConfig::default().max_pending_bytes;
    assert!(held <= budget, "{held} bytes pending, budget {budget}");
    assert!(n.pending_len() > 0, "the budget still holds some");
    assert!(
        held >= n.pending_len() * smallest,
        "the count of bytes is kept"
    );
    // The owner of the chain serves entry 1 and then every want, and announces its head
    // again after the wants time out, as every honest peer does: nothing is lost.
    let out = frame(
        &mut n,
        3,
        ATTACKER,
        Frame::Entries(vec![recs[0].clone()]).encode(),
    );
    serve_wants(&mut n, out, &recs, 4);
    let later = 4 + SyncConfig::default().want_timeout_ms;
    n.handle(later, Input::Tick).expect("tick");
    let last = recs.last().expect("a chain");
    let head = Head {
        author: last.entry.author,
        seq: last.entry.seq,
        head: last.id,
    };
    let out = frame(&mut n, later, ATTACKER, Frame::Summary(vec![head]).encode());
    serve_wants(&mut n, out, &recs, later);
    assert_eq!(n.log().len(), 201, "the whole chain is held");
    assert_eq!(n.pending_len(), 0);
}

/// Answers every want in `out` (and in the outputs that follow) from `recs`.
fn serve_wants(n: &mut RoomSync, mut out: Vec<Output>, recs: &[Record], now: u64) {
    loop {
        let wants: Vec<WantRange> = frames_of(&out, ATTACKER)
            .into_iter()
            .filter_map(|f| match f {
                Frame::Want(w) => Some(w),
                _ => None,
            })
            .flatten()
            .collect();
        if wants.is_empty() {
            return;
        }
        out.clear();
        for w in wants {
            let part = &recs[(w.from_seq - 1) as usize..w.to_seq as usize];
            for f in natter_core::wire::encode_entries(part, false) {
                out.extend(frame(n, now, ATTACKER, f));
            }
        }
    }
}

#[test]
fn a_summary_of_made_up_authors_is_bounded_and_forgotten_when_the_peer_leaves() {
    let mut n = holder(Vec::new(), &[ATTACKER, HONEST]);
    let mut wanted = 0;
    let mut missing = None;
    for f in encode_summary(&made_up_heads(20_000)) {
        let out = frame(&mut n, 2, ATTACKER, f);
        for fr in frames_of(&out, ATTACKER) {
            if let Frame::Want(w) = fr {
                wanted += w.len();
            }
        }
        missing = last_missing(&out).or(missing);
    }
    let cap = natter_core::sync::MAX_UNHELD_AUTHORS_PER_PEER;
    assert!(wanted <= cap, "wanted {wanted} made-up authors, cap {cap}");
    assert!(missing.is_some_and(|m| m > 0));
    n.handle(3, Input::PeerDisconnected(ATTACKER))
        .expect("leave");
    let out = n.drain_outputs();
    assert_eq!(last_missing(&out), Some(0), "no fake missing count is left");
}

#[test]
fn claims_a_peer_never_serves_stop_counting_as_missing() {
    let mut n = holder(Vec::new(), &[ATTACKER]);
    let mut missing = None;
    for f in encode_summary(&made_up_heads(10)) {
        missing = last_missing(&frame(&mut n, 2, ATTACKER, f)).or(missing);
    }
    assert_eq!(missing, Some(10_000));
    let later = 2 + SyncConfig::default().want_timeout_ms + 1;
    n.handle(later, Input::Tick).expect("tick");
    assert_eq!(last_missing(&n.drain_outputs()), Some(0));
}

#[test]
fn periodic_summaries_stay_small_with_many_authors() {
    // 3,000 authors with one entry each, all of which the peer already holds.
    let recs: Vec<Record> = (0..3_000u32)
        .map(|i| {
            let mut seed = [9u8; 32];
            seed[..4].copy_from_slice(&i.to_be_bytes());
            let id = Identity::from_secret_bytes(&seed);
            Record::from_entry(
                Entry::sign(
                    &id,
                    Draft {
                        room_id: ROOM,
                        seq: 1,
                        prev_hash: EntryId::ZERO,
                        lamport: 1,
                        wall_ms: 1,
                        body: text(format!("hi {i}")),
                    },
                )
                .expect("sign"),
            )
        })
        .collect();
    let heads: Vec<Head> = recs
        .iter()
        .map(|r| Head {
            author: r.entry.author,
            seq: 1,
            head: r.id,
        })
        .collect();
    let mut n = holder(recs, &[HONEST]);
    for f in encode_summary(&heads) {
        frame(&mut n, 2, HONEST, f);
    }
    let interval = SyncConfig::default().summary_interval_ms;
    let mut per_round = Vec::new();
    for round in 1..=3 {
        n.handle(2 + round * interval, Input::Tick).expect("tick");
        per_round.push(sent_to(&n.drain_outputs(), HONEST));
    }
    let cap = natter_core::sync::SUMMARY_SLICE * natter_core::wire::HEAD_LEN + 64;
    assert!(
        per_round.iter().all(|b| *b <= cap),
        "periodic summaries of {per_round:?} bytes, cap {cap}"
    );
    assert!(per_round.iter().all(|b| *b > 0), "repair still runs");
}

#[test]
fn a_peer_that_never_drains_is_served_one_window_and_no_more() {
    let recs = chain(2, 3_000, 1_000);
    let history = history_bytes(&recs);
    let author = recs[0].entry.author;
    let window = SyncConfig::default().serve_window_bytes;
    assert!(history > 2 * window, "the history spans several windows");
    let mut n = holder(recs, &[ATTACKER]);
    let want = encode_want(&[WantRange {
        author,
        from_seq: 1,
        to_seq: 3_000,
    }]);
    let mut bytes = 0;
    for t in 0..5 {
        // Wants again and again, past the dedup window, without ever reading.
        bytes += sent_to(
            &frame(&mut n, 2 + t * 60_000, ATTACKER, want[0].clone()),
            ATTACKER,
        );
    }
    assert!(
        bytes <= window + 1_100,
        "{bytes} bytes handed to the driver for a peer that never drained (window {window})"
    );
    // Draining lets the rest through, each entry once.
    let mut seqs = Vec::new();
    loop {
        n.handle(400_000, Input::Drained(ATTACKER))
            .expect("drained");
        let out = n.drain_outputs();
        if out.is_empty() {
            break;
        }
        for f in frames_of(&out, ATTACKER) {
            if let Frame::Entries(rs) = f {
                seqs.extend(rs.iter().map(|r| r.entry.seq));
            }
        }
    }
    // Each want past the dedup window may have the part already sent once more; the part
    // still queued is never queued twice.
    let first_window = bytes / 1_000;
    assert!(
        seqs.len() <= 3_000 + 4 * first_window,
        "{} entries served",
        seqs.len()
    );
    seqs.sort_unstable();
    seqs.dedup();
    assert_eq!(
        seqs,
        (1..=3_000).collect::<Vec<u64>>(),
        "the whole history arrives"
    );
}
