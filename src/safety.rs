//! Safety numbers for the Peers panel: computed only for the peers the panel shows, and
//! each only once per pair of keys.
//!
//! # Why
//!
//! A safety number costs about twenty thousand SHA-512 runs ([`SafetyNumber::new`]). Anyone
//! with the link can write one cheap entry under each of thousands of throwaway keys; if
//! every author in the history got a number whenever the room's view is built, opening the
//! room would cost seconds per thousand of them. So the panel shows the connected peers,
//! every verified peer, and at most [`MAX_OFFLINE_SHOWN`] others known from the history
//! (the rest are counted, not listed: [`shown`]), and [`SafetyNumbers`] computes a number
//! the first time a shown peer needs it and keeps it.

use std::collections::{BTreeSet, HashMap};

use natter_core::identity::{PublicKey, SafetyNumber};

/// The most peers known only from the history (not connected, not verified) listed.
pub const MAX_OFFLINE_SHOWN: usize = 50;

/// Safety numbers already computed, by pair of keys.
#[derive(Debug, Default)]
pub struct SafetyNumbers {
    known: HashMap<(PublicKey, PublicKey), Vec<String>>,
    computed: usize,
}

impl SafetyNumbers {
    /// The safety number of `me` and `peer`, as digit groups.
    pub fn of(&mut self, me: &PublicKey, peer: &PublicKey) -> Vec<String> {
        let computed = &mut self.computed;
        self.known
            .entry((*me, *peer))
            .or_insert_with(|| {
                *computed += 1;
                SafetyNumber::new(me, peer)
                    .groups()
                    .into_iter()
                    .map(str::to_owned)
                    .collect()
            })
            .clone()
    }

    /// How many numbers have been computed so far.
    pub fn computed(&self) -> usize {
        self.computed
    }
}

/// Which of the `offline` keys (known from the history, in the order given) the panel
/// lists: every one in `verified`, and the first [`MAX_OFFLINE_SHOWN`] others. Returns them
/// and how many are left out.
pub fn shown<'a>(
    offline: impl IntoIterator<Item = &'a PublicKey>,
    verified: &BTreeSet<PublicKey>,
) -> (Vec<PublicKey>, usize) {
    let mut listed = Vec::new();
    let mut others = 0usize;
    let mut hidden = 0usize;
    for key in offline {
        if verified.contains(key) {
            listed.push(*key);
        } else if others < MAX_OFFLINE_SHOWN {
            others += 1;
            listed.push(*key);
        } else {
            hidden += 1;
        }
    }
    (listed, hidden)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: u32) -> PublicKey {
        let mut bytes = [0u8; 32];
        bytes[..4].copy_from_slice(&n.to_be_bytes());
        PublicKey(bytes)
    }

    #[test]
    fn thousands_of_authors_cost_only_the_numbers_of_the_peers_shown() {
        let me = key(0);
        let authors: Vec<PublicKey> = (1..=3000).map(key).collect();
        let verified: BTreeSet<PublicKey> = [key(2999)].into();
        let mut numbers = SafetyNumbers::default();
        // The room's view is built many times (every event may rebuild it).
        for _ in 0..3 {
            let (listed, hidden) = shown(&authors, &verified);
            assert_eq!(listed.len(), MAX_OFFLINE_SHOWN + 1);
            assert_eq!(hidden, authors.len() - listed.len());
            assert!(
                listed.contains(&key(2999)),
                "a verified peer is always listed"
            );
            for k in &listed {
                assert_eq!(numbers.of(&me, k).len(), 12);
            }
        }
        assert_eq!(numbers.computed(), MAX_OFFLINE_SHOWN + 1);
    }

    #[test]
    fn a_number_is_kept_per_pair_of_keys_and_matches_the_core() {
        let mut numbers = SafetyNumbers::default();
        let (a, b, c) = (key(1), key(2), key(3));
        let ab = numbers.of(&a, &b);
        assert_eq!(numbers.of(&a, &b), ab);
        assert_eq!(numbers.computed(), 1);
        let ac = numbers.of(&a, &c);
        assert_ne!(ab, ac);
        assert_eq!(numbers.computed(), 2);
        let core: Vec<String> = SafetyNumber::new(&a, &b)
            .groups()
            .into_iter()
            .map(str::to_owned)
            .collect();
        assert_eq!(ab, core);
    }
}
