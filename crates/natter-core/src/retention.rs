//! How much of a room's history a keeper holds: the setting, its bytes, and which entries
//! it drops.
//!
//! # What
//!
//! A member who asks a keeper to keep a room chooses a [`Retention`]: everything, the
//! newest N entries, the last N days, or the newest N bytes of entries. The keeper applies
//! it after every batch it stores ([`plan`]) and drops the rest with
//! [`crate::sync::RoomSync::prune_through`], so what it holds is always a run at the top of
//! each author's chain (see "Runs and floors" in [`crate::log`]).
//!
//! # Which entries are kept
//!
//! Entries are ranked newest first by their author's clock (`wall_ms`), ties broken by
//! display order. Not by display order alone: a member posts its name when it joins, before
//! it has the history, so that entry's Lamport time is low and display order would rank it
//! among the oldest and drop every newcomer's name at once. `Entries(n)` keeps the first
//! `n`, `Bytes(n)` those whose encoded bytes add up to at most `n` (a first entry larger
//! than `n` is not kept), `Days(n)` those at most `n` days older than now. An author's
//! chain is then cut below its oldest kept entry: dropping only a prefix keeps every held
//! run linked. An honest author's clock grows along its chain, so for honest authors the
//! kept set is exactly the ranked one; an author whose clock goes back keeps a few more of
//! its entries held, never fewer of anyone's. A member who signs times far ahead ranks its
//! entries newest, as it could sign many entries: a count or a size is a budget members
//! share, and any member can also stop the keeper.
//!
//! # Encoding
//!
//! `kind:u8 value:u64` (big-endian): kind 0 all (value 0), 1 entries, 2 days, 3 bytes. The
//! value of kinds 1-3 is at least 1, and days at most [`MAX_DAYS`]; anything else is
//! refused.

use std::collections::BTreeMap;

use crate::identity::PublicKey;
use crate::log::RoomLog;

/// The longest retention in days (about 100 years): larger values are refused.
pub const MAX_DAYS: u64 = 36_525;
/// Bytes of an encoded [`Retention`].
pub const RETENTION_LEN: usize = 9;
const DAY_MS: u64 = 86_400_000;

/// How much of a room's history a keeper holds (see the module doc).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Retention {
    /// Everything.
    #[default]
    All,
    /// The newest this many entries.
    Entries(u64),
    /// Entries from the last this many days.
    Days(u64),
    /// The newest entries up to this many bytes.
    Bytes(u64),
}

impl Retention {
    /// The 9 bytes of the setting.
    pub fn encode(&self) -> [u8; RETENTION_LEN] {
        let (kind, value) = match *self {
            Retention::All => (0, 0),
            Retention::Entries(n) => (1, n),
            Retention::Days(n) => (2, n),
            Retention::Bytes(n) => (3, n),
        };
        let mut out = [0; RETENTION_LEN];
        out[0] = kind;
        out[1..].copy_from_slice(&value.to_be_bytes());
        out
    }

    /// The setting of exactly [`RETENTION_LEN`] bytes, if valid.
    pub fn decode(bytes: &[u8]) -> Option<Retention> {
        let (&kind, value) = bytes.split_first()?;
        let value = u64::from_be_bytes(value.try_into().ok()?);
        let r = match (kind, value) {
            (0, 0) => Retention::All,
            (_, 0) => return None,
            (1, n) => Retention::Entries(n),
            (2, n) if n <= MAX_DAYS => Retention::Days(n),
            (3, n) => Retention::Bytes(n),
            _ => return None,
        };
        Some(r)
    }
}

/// Per author, the seq through which `log` should be pruned to honour `retention` at
/// `now_ms`; authors with nothing to drop are left out, and so is `keep_whole` (our own
/// chain, which must stay whole to be extended).
pub fn plan(
    log: &RoomLog,
    retention: Retention,
    now_ms: u64,
    keep_whole: &PublicKey,
) -> Vec<(PublicKey, u64)> {
    if retention == Retention::All {
        return Vec::new();
    }
    let mut ranked = log.in_display_order();
    // Stable: equal clocks keep display order.
    ranked.sort_by_key(|r| r.entry.wall_ms);
    let cutoff = match retention {
        Retention::Days(d) => now_ms.saturating_sub(d.saturating_mul(DAY_MS)),
        _ => 0,
    };
    let mut bytes = 0u64;
    // Per author, the lowest kept seq (u64::MAX: none kept).
    let mut lowest: BTreeMap<PublicKey, u64> = BTreeMap::new();
    for (i, r) in ranked.iter().rev().enumerate() {
        bytes = bytes.saturating_add(r.bytes.len() as u64);
        let kept = match retention {
            Retention::All => true,
            Retention::Entries(n) => (i as u64) < n,
            Retention::Bytes(n) => bytes <= n,
            Retention::Days(_) => r.entry.wall_ms >= cutoff,
        };
        let low = lowest.entry(r.entry.author).or_insert(u64::MAX);
        if kept {
            *low = (*low).min(r.entry.seq);
        }
    }
    lowest
        .into_iter()
        .filter(|(a, _)| a != keep_whole)
        .filter_map(|(a, low)| {
            let through = if low == u64::MAX {
                log.top_of(&a)
            } else {
                log.held_below(&a, low)
            };
            (log.get(&a, through).is_some()).then_some((a, through))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::Identity;
    use crate::log::{Body, Draft, Entry, EntryId, Record};
    use crate::room::RoomId;

    /// Two authors posting in turns, each seeing the other: `n` entries each, the `i`-th
    /// post of either at wall time `i` days.
    fn room(n: u64) -> (RoomLog, PublicKey, PublicKey) {
        let (a, b) = (
            Identity::from_secret_bytes(&[1; 32]),
            Identity::from_secret_bytes(&[2; 32]),
        );
        let mut log = RoomLog::new(RoomId([7; 32]));
        for i in 1..=n {
            for who in [&a, &b] {
                let prev = log.head(&who.public()).map_or(EntryId::ZERO, |(_, id)| id);
                let e = Entry::sign(
                    who,
                    Draft {
                        room_id: RoomId([7; 32]),
                        seq: i,
                        prev_hash: prev,
                        lamport: log.max_lamport() + 1,
                        wall_ms: i * DAY_MS,
                        body: Body::Text {
                            text: "x".repeat(10),
                            reply_to: None,
                        },
                    },
                )
                .expect("valid");
                log.append(Record::from_entry(e));
            }
        }
        (log, a.public(), b.public())
    }

    fn apply(log: &mut RoomLog, retention: Retention, now: u64, me: &PublicKey) {
        for (a, seq) in plan(log, retention, now, me) {
            log.prune_through(&a, seq);
        }
    }

    #[test]
    fn the_setting_has_fixed_bytes_and_refuses_what_it_cannot_mean() {
        assert_eq!(Retention::All.encode(), [0; 9]);
        assert_eq!(
            Retention::Entries(100).encode(),
            [1, 0, 0, 0, 0, 0, 0, 0, 100]
        );
        for r in [
            Retention::All,
            Retention::Entries(1),
            Retention::Days(MAX_DAYS),
            Retention::Bytes(u64::MAX),
        ] {
            assert_eq!(Retention::decode(&r.encode()), Some(r));
        }
        for bad in [
            &[1, 0, 0, 0, 0, 0, 0, 0, 0][..],
            &[0, 0, 0, 0, 0, 0, 0, 0, 1],
            &[4, 0, 0, 0, 0, 0, 0, 0, 1],
            &[1, 0, 0, 0, 0, 0, 0, 1],
            &[1, 0, 0, 0, 0, 0, 0, 0, 1, 0],
            &[],
        ] {
            assert_eq!(Retention::decode(bad), None, "{bad:?}");
        }
        let too_long = Retention::Days(MAX_DAYS + 1).encode();
        assert_eq!(Retention::decode(&too_long), None);
    }

    proptest::proptest! {
        #[test]
        fn decoding_is_total_and_canonical(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..12)) {
            if let Some(r) = Retention::decode(&bytes) {
                proptest::prop_assert_eq!(&r.encode()[..], &bytes[..]);
            }
        }
    }

    #[test]
    fn entries_keeps_exactly_the_newest_n_across_authors() {
        let (mut log, a, b) = room(150);
        let nobody = PublicKey([0; 32]);
        apply(&mut log, Retention::Entries(100), 0, &nobody);
        assert_eq!(log.len(), 100);
        assert_eq!((log.count_of(&a), log.count_of(&b)), (50, 50));
        assert_eq!((log.base_of(&a), log.top_of(&b)), (100, 150));
        // Applying it again drops nothing more.
        assert!(plan(&log, Retention::Entries(100), 0, &nobody).is_empty());
        // One entry kept: only the newest, b's; a is pruned entirely and keeps its head.
        apply(&mut log, Retention::Entries(1), 0, &nobody);
        assert_eq!((log.count_of(&a), log.count_of(&b)), (0, 1));
        assert_eq!(log.top_of(&a), 150);
    }

    #[test]
    fn a_newcomers_name_signed_before_it_had_the_history_is_among_the_newest() {
        let (mut log, a, _) = room(150);
        let carl = Identity::from_secret_bytes(&[3; 32]);
        let name = Entry::sign(
            &carl,
            Draft {
                room_id: RoomId([7; 32]),
                seq: 1,
                prev_hash: EntryId::ZERO,
                lamport: 1,
                wall_ms: 151 * DAY_MS,
                body: Body::Profile {
                    display_name: "Carl".into(),
                },
            },
        )
        .expect("valid");
        log.append(Record::from_entry(name));
        apply(&mut log, Retention::Entries(100), 151 * DAY_MS, &a);
        assert_eq!(log.display_name(&carl.public()), Some("Carl"));
    }

    #[test]
    fn days_and_bytes_cut_at_the_oldest_kept_entry_and_our_own_chain_stays_whole() {
        let (mut log, a, b) = room(30);
        // At day 30, the last 10 days are days 20..=30: 11 posts each.
        apply(&mut log, Retention::Days(10), 30 * DAY_MS, &b);
        assert_eq!((log.count_of(&a), log.count_of(&b)), (11, 30));
        let one = log.get(&a, 30).map_or(0, |r| r.bytes.len() as u64);
        apply(&mut log, Retention::Bytes(one * 3), 30 * DAY_MS, &b);
        // The newest three by display order are b 30, a 30, b 29: a keeps one.
        assert_eq!(log.count_of(&a), 1);
        apply(&mut log, Retention::Bytes(one - 1), 30 * DAY_MS, &b);
        assert_eq!((log.count_of(&a), log.count_of(&b)), (0, 30));
        assert!(plan(&log, Retention::All, 0, &b).is_empty());
    }
}
