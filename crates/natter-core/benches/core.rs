//! Natter core figures: signing, verification, encoding, and sync costs.
//!
//! Run with `cargo bench -p natter-core --bench core`. Prints one table; no harness.

use std::time::{Duration, Instant};

use natter_core::identity::Identity;
use natter_core::log::{
    Body, Draft, Entry, EntryId, Record, RoomView, ViewBuilder, ENTRY_SIGNING_DOMAIN,
};
use natter_core::room::RoomId;
use natter_core::sync::{Input, Output, PeerId, RoomSync, SyncConfig};

const ROOM: RoomId = RoomId([1; 32]);

/// Signs `per_author` entries for each of `authors` authors (seeded keys), interleaving
/// lamports as a live room would.
fn history(seed: u8, authors: usize, per_author: usize) -> Vec<Record> {
    let ids: Vec<Identity> = (0..authors)
        .map(|a| {
            let mut s = [seed; 32];
            s[..8].copy_from_slice(&(a as u64).to_le_bytes());
            Identity::from_secret_bytes(&s)
        })
        .collect();
    let mut heads = vec![EntryId::ZERO; authors];
    let mut out = Vec::with_capacity(authors * per_author);
    for seq in 1..=per_author as u64 {
        for (a, id) in ids.iter().enumerate() {
            let e = Entry::sign(
                id,
                Draft {
                    room_id: ROOM,
                    seq,
                    prev_hash: heads[a],
                    lamport: seq,
                    wall_ms: 1_700_000_000_000 + seq * 1000,
                    body: Body::Text {
                        text: format!("message number {seq} from author {a}, of typical length"),
                        reply_to: None,
                    },
                },
            )
            .expect("valid draft");
            let r = Record::from_entry(e);
            heads[a] = r.id;
            out.push(r);
        }
    }
    out
}

fn machine(seed: u8, recs: Vec<Record>) -> RoomSync {
    RoomSync::load(
        ROOM,
        Identity::from_secret_bytes(&[seed; 32]),
        SyncConfig::default(),
        recs,
        [],
        true,
    )
    .expect("a valid history loads")
}

#[derive(Default)]
struct Traffic {
    /// Delivery rounds (each is half a round trip).
    rounds: usize,
    summary_bytes: usize,
    other_bytes: usize,
}

/// Connects two machines and delivers in lock-step rounds until both are quiet.
fn sync_pair(a: &mut RoomSync, b: &mut RoomSync) -> Traffic {
    let mut t = Traffic::default();
    a.handle(1, Input::PeerConnected(PeerId(2)))
        .expect("connect");
    b.handle(1, Input::PeerConnected(PeerId(1)))
        .expect("connect");
    loop {
        let from_a: Vec<Vec<u8>> = sends(a);
        let from_b: Vec<Vec<u8>> = sends(b);
        if from_a.is_empty() && from_b.is_empty() {
            return t;
        }
        t.rounds += 1;
        for bytes in from_a {
            count(&mut t, &bytes);
            b.handle(
                2,
                Input::Frame {
                    peer: PeerId(1),
                    bytes,
                },
            )
            .expect("frame");
        }
        for bytes in from_b {
            count(&mut t, &bytes);
            a.handle(
                2,
                Input::Frame {
                    peer: PeerId(2),
                    bytes,
                },
            )
            .expect("frame");
        }
    }
}

fn count(t: &mut Traffic, bytes: &[u8]) {
    if bytes.get(1) == Some(&2) {
        t.summary_bytes += bytes.len();
    } else {
        t.other_bytes += bytes.len();
    }
}

/// Everything `m` sends its one peer now, its send buffer draining as fast as it fills
/// (flow control is local: it costs no round trip).
fn sends(m: &mut RoomSync) -> Vec<Vec<u8>> {
    let mut all = Vec::new();
    loop {
        let before = all.len();
        all.extend(m.drain_outputs().into_iter().filter_map(|o| match o {
            Output::Send { bytes, .. } => Some(bytes),
            _ => None,
        }));
        if all.len() == before {
            return all;
        }
        let peer = m.peers().next().copied();
        if let Some(p) = peer {
            m.handle(2, Input::Drained(p)).expect("drained");
        }
    }
}

fn per(d: Duration, n: usize) -> String {
    let ns = d.as_nanos() as f64 / n as f64;
    if ns > 1e6 {
        format!("{:.2} ms", ns / 1e6)
    } else {
        format!("{:.2} µs", ns / 1e3)
    }
}

fn main() {
    // `cargo bench` passes `--bench`; any other argument is a filter we do not need.
    let t0 = Instant::now();
    println!("natter-core benchmarks (release build)\n");

    // --- Per-entry costs -------------------------------------------------------------
    let n = 4000;
    let t = Instant::now();
    let recs = history(7, 40, n / 40);
    let sign = t.elapsed();
    let t = Instant::now();
    for r in &recs {
        r.verify(&ROOM).expect("valid");
    }
    let verify = t.elapsed();
    let msgs: Vec<Vec<u8>> = recs
        .iter()
        .map(|r| {
            let mut m = ENTRY_SIGNING_DOMAIN.to_vec();
            m.extend_from_slice(&r.bytes[..r.bytes.len() - 64]);
            m
        })
        .collect();
    let sigs: Vec<ed25519_dalek::Signature> = recs
        .iter()
        .map(|r| ed25519_dalek::Signature::from_bytes(&r.entry.signature.0))
        .collect();
    let keys: Vec<ed25519_dalek::VerifyingKey> = recs
        .iter()
        .map(|r| ed25519_dalek::VerifyingKey::from_bytes(&r.entry.author.0).expect("valid key"))
        .collect();
    let t = Instant::now();
    for chunk in (0..n).collect::<Vec<_>>().chunks(64) {
        let m: Vec<&[u8]> = chunk.iter().map(|&i| &msgs[i][..]).collect();
        let s: Vec<_> = chunk.iter().map(|&i| sigs[i]).collect();
        let k: Vec<_> = chunk.iter().map(|&i| keys[i]).collect();
        ed25519_dalek::verify_batch(&m, &s, &k).expect("valid batch");
    }
    let batch = t.elapsed();
    let t = Instant::now();
    let encoded: Vec<Vec<u8>> = recs.iter().map(|r| r.entry.encode()).collect();
    let encode = t.elapsed();
    let t = Instant::now();
    for b in &encoded {
        Record::from_bytes(b).expect("decodes");
    }
    let decode = t.elapsed();
    let avg_len = encoded.iter().map(Vec::len).sum::<usize>() / n;
    println!("| per entry ({avg_len} B typical text entry) | time |");
    println!("| --- | --- |");
    println!("| sign | {} |", per(sign, n));
    println!("| verify (strict, as sync does) | {} |", per(verify, n));
    println!("| batch verify (64 per batch) | {} |", per(batch, n));
    println!("| encode | {} |", per(encode, n));
    println!("| decode + id (SHA-256) | {} |", per(decode, n));

    // --- Sync between two large histories -------------------------------------------
    println!("\n| sync of 100,000-entry histories (20 authors) | round trips after summaries | bytes on wire (excl. summaries) | summary bytes | missing entries' bytes (floor) | ratio | goal | time |");
    println!("| --- | --- | --- | --- | --- | --- | --- | --- |");
    let base = history(9, 20, 5_000);
    for diff in [10usize, 100, 1_000] {
        let extra_authors = 5;
        let extra_all = history(9, 20, 5_000 + diff.div_ceil(extra_authors));
        // The extra entries: seqs beyond 5,000 of the first `extra_authors` authors.
        let mut extra: Vec<Record> = extra_all
            .into_iter()
            .filter(|r| r.entry.seq > 5_000)
            .collect();
        extra.sort_by_key(|r| (r.entry.seq, r.entry.author));
        let mut keep_authors: Vec<_> = extra.iter().map(|r| r.entry.author).collect();
        keep_authors.sort();
        keep_authors.dedup();
        keep_authors.truncate(extra_authors);
        let extra: Vec<Record> = extra
            .into_iter()
            .filter(|r| keep_authors.contains(&r.entry.author))
            .take(diff)
            .collect();
        let missing_bytes: usize = extra.iter().map(|r| r.bytes.len()).sum();
        let mut a = machine(
            3,
            base.iter().cloned().chain(extra.iter().cloned()).collect(),
        );
        let mut b = machine(4, base.clone());
        let t = Instant::now();
        let tr = sync_pair(&mut a, &mut b);
        let took = t.elapsed();
        assert_eq!(b.log().len(), base.len() + extra.len(), "synced");
        let rt_after = (tr.rounds.saturating_sub(1)) as f64 / 2.0;
        let ratio = tr.other_bytes as f64 / missing_bytes as f64;
        println!(
            "| differ by {} | {rt_after} | {} | {} | {} | {ratio:.3} | ≤ 2 RT; ≤ 1.2× + summary | {:.1} ms |",
            extra.len(),
            tr.other_bytes,
            tr.summary_bytes,
            missing_bytes,
            took.as_secs_f64() * 1e3
        );
    }

    // --- Catch-up of an empty peer ----------------------------------------------------
    let ten_k = history(11, 10, 1_000);
    let raw: usize = ten_k.iter().map(|r| r.bytes.len()).sum();
    let mut a = machine(3, ten_k.clone());
    let mut b = RoomSync::new(
        ROOM,
        Identity::from_secret_bytes(&[4; 32]),
        SyncConfig::default(),
    );
    let t = Instant::now();
    let tr = sync_pair(&mut a, &mut b);
    let took = t.elapsed();
    assert_eq!(b.log().len(), 10_000);
    println!("\n| catch-up of an empty peer | round trips after summaries | bytes on wire (excl. summaries) | summary bytes | raw entry bytes | ratio | goal | time (incl. verifying) |");
    println!("| --- | --- | --- | --- | --- | --- | --- | --- |");
    println!(
        "| 10,000 entries, 10 authors | {} | {} | {} | {raw} | {:.3} | ≤ 2 RT; ≤ 1.2× + summary | {:.1} ms |",
        (tr.rounds.saturating_sub(1)) as f64 / 2.0,
        tr.other_bytes,
        tr.summary_bytes,
        tr.other_bytes as f64 / raw as f64,
        took.as_secs_f64() * 1e3
    );
    // --- The open room's view as messages arrive ---------------------------------------
    // 100,000 entries held, then 100 new messages one by one: building the view again per
    // message (the floor: what a refresh cost before) against extending it.
    let mut big = history(12, 20, 5_000);
    big.sort_by_key(|r| r.entry.display_key());
    let (held, arriving) = big.split_at(big.len() - 100);
    let held_refs: Vec<&Record> = held.iter().collect();
    let t = Instant::now();
    let mut shown = 0;
    for i in 0..arriving.len() {
        let all = held_refs.iter().copied().chain(&arriving[..=i]);
        shown = RoomView::build(all).messages.len();
    }
    let rebuild = t.elapsed();
    assert_eq!(shown, big.len());
    let mut kept = ViewBuilder::of(held_refs.iter().copied());
    let t = Instant::now();
    for r in arriving {
        assert!(kept.push(r));
    }
    let extend = t.elapsed();
    assert_eq!(kept.view().messages.len(), big.len());
    println!("\n| the open room's view, 100,000 entries, a message arrives | per message |");
    println!("| --- | --- |");
    println!(
        "| built again (raw floor: what every refresh did) | {} |",
        per(rebuild, arriving.len())
    );
    println!(
        "| extended (natter_core::log::ViewBuilder) | {} |",
        per(extend, arriving.len())
    );

    println!("\ntotal bench time {:.1} s", t0.elapsed().as_secs_f64());
}
