//! Which files the keeper keeps: every file a kept room names, as far as its byte budget
//! allows.
//!
//! # What
//!
//! A room's `File` entries name files by their chunk tree's root and length. The keeper
//! fetches each file its rooms name (natter-core's `Input::Fetch`), stores its chunks
//! ([`crate::store`]) and serves them to members who come later, as it serves entries.
//! [`Files`] is the bookkeeping behind that, with no IO: which rooms name which roots, and
//! which roots are kept.
//!
//! # Rules
//!
//! 1. **A file counts its whole length from the moment it is fetched**, against
//!    [`crate::Config::max_bytes`] together with the entries, so a file being fetched cannot
//!    overrun the budget as it arrives. A file that does not fit is not fetched
//!    ([`Admission::OverBudget`]); it is tried again when removing a room frees part of the
//!    budget ([`Files::admit_waiting`], oldest room first) and when the keeper starts next.
//! 2. **A file is kept once**, whichever number of rooms name it, and counted once.
//! 3. **A file goes with the last kept room that names it** ([`Files::remove_room`]), and a
//!    stored file no kept room names when the keeper starts is deleted too
//!    ([`Files::orphans`]): what a crash left between deleting a room and its files.

use std::collections::BTreeMap;

use natter_core::blob::Root;
use natter_core::log::{Body, Record};
use natter_core::room::RoomId;

/// What to do about a file a room names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// Newly kept: fetch it.
    Fetch,
    /// Kept already (stored, being fetched, or named by another room).
    Kept,
    /// It does not fit in the budget: not fetched.
    OverBudget,
}

/// The files of the keeper's rooms (see the module doc).
#[derive(Debug, Default)]
pub struct Files {
    /// Per room, the roots its entries name, with their lengths.
    named: BTreeMap<RoomId, BTreeMap<Root, u64>>,
    /// Roots kept (stored or being fetched), with their lengths.
    kept: BTreeMap<Root, u64>,
}

/// The files `records` name, as (root, length).
pub fn named_by<'a, I: IntoIterator<Item = &'a Record>>(
    records: I,
) -> impl Iterator<Item = (Root, u64)> + use<'a, I> {
    records.into_iter().filter_map(|r| match &r.entry.body {
        Body::File(f) => Some((f.root, f.size)),
        _ => None,
    })
}

impl Files {
    /// A file found in the store: kept, whatever the budget (it was admitted before).
    pub fn stored(&mut self, root: Root, len: u64) {
        self.kept.insert(root, len);
    }

    /// Bytes of the files kept, each counted once at its whole length.
    pub fn bytes(&self) -> u64 {
        self.kept.values().sum()
    }

    /// Room `room` names `root` of `len` bytes; `others` bytes (the entries) are stored
    /// besides the files, out of `budget`.
    pub fn name(
        &mut self,
        room: RoomId,
        root: Root,
        len: u64,
        others: u64,
        budget: u64,
    ) -> Admission {
        self.named.entry(room).or_default().insert(root, len);
        if self.kept.contains_key(&root) {
            return Admission::Kept;
        }
        let total = others.saturating_add(self.bytes()).saturating_add(len);
        if total > budget {
            return Admission::OverBudget;
        }
        self.kept.insert(root, len);
        Admission::Fetch
    }

    /// Admits the files named but refused for the budget that fit in it now, with `others`
    /// bytes stored besides the files, in the order of the rooms' and files' keys (so the
    /// same ones whatever order they were named in). Returns them (to be fetched).
    pub fn admit_waiting(&mut self, others: u64, budget: u64) -> Vec<(RoomId, Root)> {
        let mut used = others.saturating_add(self.bytes());
        let mut admitted = Vec::new();
        for (room, roots) in &self.named {
            for (root, len) in roots {
                if self.kept.contains_key(root) || used.saturating_add(*len) > budget {
                    continue;
                }
                used = used.saturating_add(*len);
                self.kept.insert(*root, *len);
                admitted.push((*room, *root));
            }
        }
        admitted
    }

    /// Each kept file with a room that names it.
    pub fn kept(&self) -> impl Iterator<Item = (RoomId, Root)> + '_ {
        self.kept.keys().filter_map(|root| {
            self.named
                .iter()
                .find(|(_, roots)| roots.contains_key(root))
                .map(|(room, _)| (*room, *root))
        })
    }

    /// The room `room` is no longer kept: returns the kept files no other room names,
    /// which are no longer kept either.
    pub fn remove_room(&mut self, room: &RoomId) -> Vec<Root> {
        let Some(roots) = self.named.remove(room) else {
            return Vec::new();
        };
        let gone: Vec<Root> = roots
            .into_keys()
            .filter(|root| self.kept.contains_key(root))
            .filter(|root| !self.named.values().any(|r| r.contains_key(root)))
            .collect();
        for root in &gone {
            self.kept.remove(root);
        }
        gone
    }

    /// Room `room` now names exactly `named` (its retention dropped entries that named
    /// others): returns the kept files no room names any more, which are no longer kept.
    pub fn renamed(
        &mut self,
        room: RoomId,
        named: impl IntoIterator<Item = (Root, u64)>,
    ) -> Vec<Root> {
        self.named.insert(room, named.into_iter().collect());
        self.orphans()
    }

    /// Kept files no room names, which are no longer kept.
    pub fn orphans(&mut self) -> Vec<Root> {
        let named = &self.named;
        let gone: Vec<Root> = self
            .kept
            .keys()
            .filter(|root| !named.values().any(|r| r.contains_key(*root)))
            .copied()
            .collect();
        for root in &gone {
            self.kept.remove(root);
        }
        gone
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn room(n: u8) -> RoomId {
        RoomId([n; 32])
    }

    #[test]
    fn a_file_that_does_not_fit_the_budget_is_not_fetched() {
        let mut files = Files::default();
        let (a, b) = (Root([1; 32]), Root([2; 32]));
        assert_eq!(files.name(room(1), a, 600, 300, 1_000), Admission::Fetch);
        assert_eq!(files.bytes(), 600);
        assert_eq!(
            files.name(room(1), b, 200, 300, 1_000),
            Admission::OverBudget,
            "300 of entries, 600 of a file and 200 more pass 1000"
        );
        assert_eq!(files.bytes(), 600, "a refused file counts nothing");
        assert_eq!(
            files.name(room(2), a, 600, 300, 1_000),
            Admission::Kept,
            "a file named again is kept once"
        );
        assert_eq!(files.bytes(), 600);
    }

    #[test]
    fn a_refused_file_is_admitted_once_a_room_removed_frees_the_budget() {
        let mut files = Files::default();
        let (big, waiting, too_big) = (Root([1; 32]), Root([2; 32]), Root([3; 32]));
        assert_eq!(files.name(room(1), big, 700, 0, 1_000), Admission::Fetch);
        assert_eq!(
            files.name(room(2), waiting, 500, 0, 1_000),
            Admission::OverBudget
        );
        assert_eq!(
            files.name(room(2), too_big, 1_200, 0, 1_000),
            Admission::OverBudget
        );
        assert_eq!(files.admit_waiting(0, 1_000), [], "nothing was freed");
        assert_eq!(files.remove_room(&room(1)), [big]);
        assert_eq!(
            files.admit_waiting(100, 1_000),
            [(room(2), waiting)],
            "500 fits beside 100 of entries; 1,200 never does"
        );
        assert_eq!(files.bytes(), 500);
        assert_eq!(
            files.name(room(2), waiting, 500, 100, 1_000),
            Admission::Kept
        );
        assert_eq!(files.admit_waiting(100, 1_000), []);
    }

    #[test]
    fn a_file_goes_with_the_last_room_that_names_it() {
        let mut files = Files::default();
        let (shared, own) = (Root([1; 32]), Root([2; 32]));
        files.name(room(1), shared, 10, 0, u64::MAX);
        files.name(room(1), own, 10, 0, u64::MAX);
        files.name(room(2), shared, 10, 0, u64::MAX);
        assert_eq!(files.remove_room(&room(1)), [own]);
        assert_eq!(files.kept().collect::<Vec<_>>(), [(room(2), shared)]);
        assert_eq!(files.remove_room(&room(2)), [shared]);
        assert_eq!(files.bytes(), 0);
    }

    #[test]
    fn a_file_whose_naming_entries_were_dropped_goes_unless_another_room_names_it() {
        let mut f = Files::default();
        let (a, b) = (Root([1; 32]), Root([2; 32]));
        assert_eq!(f.name(room(1), a, 10, 0, 100), Admission::Fetch);
        assert_eq!(f.name(room(1), b, 10, 0, 100), Admission::Fetch);
        assert_eq!(f.name(room(2), b, 10, 0, 100), Admission::Kept);
        // Room 1's retention dropped the entries naming both: a goes, b stays for room 2.
        assert_eq!(f.renamed(room(1), []), vec![a]);
        assert_eq!(f.bytes(), 10);
        assert_eq!(f.renamed(room(2), []), vec![b]);
        assert_eq!(f.bytes(), 0);
    }

    #[test]
    fn stored_files_no_room_names_are_orphans() {
        let mut files = Files::default();
        let (named, orphan) = (Root([1; 32]), Root([2; 32]));
        files.stored(named, 10);
        files.stored(orphan, 10);
        assert_eq!(files.name(room(1), named, 10, 0, 0), Admission::Kept);
        assert_eq!(files.orphans(), [orphan]);
        assert_eq!(files.bytes(), 10);
    }
}
