//! Others' entries waiting to be written to IndexedDB.
//!
//! The runtime shows entries from peers at once and writes them behind (a failed write
//! loses nothing: peers send them again at the next sync). Up to [`MAX_WRITES`] writes
//! are under way at once, each one transaction of at most [`MAX_BATCH`] entries; entries
//! that arrive while that many are under way wait here and go together in the next. So a
//! catch-up of thousands of entries is stored in transactions of hundreds, one queued in
//! the database while the one before commits, and no single task makes thousands of puts
//! (which held the page for 300 ms and more, and left the database idle meanwhile).
//! IndexedDB runs transactions on one store in the order they were made, and each is made
//! in the task that takes its batch, so entries are stored in the order they came. A room
//! that is deleted forgets what it had waiting.

use std::collections::VecDeque;

use natter_core::log::Record;
use natter_core::room::RoomId;

/// Writes under way at once, at most.
pub const MAX_WRITES: usize = 3;

/// Entries in one write, at most: its puts are made in one task.
pub const MAX_BATCH: usize = 1024;

/// Entries waiting for a write, and how many writes are under way.
#[derive(Debug, Default)]
pub struct WriteQueue {
    waiting: VecDeque<(RoomId, Vec<Record>)>,
    writes: usize,
}

impl WriteQueue {
    /// Queues `records` of `room`; `true` when fewer than [`MAX_WRITES`] writes are under
    /// way, so the caller starts one (and drains [`WriteQueue::next_batch`] until it says
    /// there is nothing left).
    pub fn push(&mut self, room: RoomId, records: Vec<Record>) -> bool {
        if records.is_empty() {
            return false;
        }
        self.waiting.push_back((room, records));
        if self.writes < MAX_WRITES {
            self.writes += 1;
            true
        } else {
            false
        }
    }

    /// The next entries to write, in the order they came, at most [`MAX_BATCH`] of them;
    /// `None` when nothing waits, which ends that write.
    pub fn next_batch(&mut self) -> Option<Vec<(RoomId, Vec<Record>)>> {
        if self.waiting.is_empty() {
            self.writes = self.writes.saturating_sub(1);
            return None;
        }
        let mut batch = Vec::new();
        let mut room_for = MAX_BATCH;
        while room_for > 0 {
            let Some((room, mut records)) = self.waiting.pop_front() else {
                break;
            };
            if records.len() > room_for {
                let rest = records.split_off(room_for);
                self.waiting.push_front((room, rest));
            }
            room_for -= records.len();
            batch.push((room, records));
        }
        Some(batch)
    }

    /// Drops what waits for `room` (it is being deleted).
    pub fn forget_room(&mut self, room: &RoomId) {
        self.waiting.retain(|(r, _)| r != room);
    }

    /// Drops everything waiting (all local data is being erased).
    pub fn clear(&mut self) {
        self.waiting.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::signed_text;

    fn record(seq: u64) -> Record {
        signed_text(7, seq, &format!("entry {seq}")).unwrap_or_else(|e| panic!("{e}"))
    }

    fn records(seqs: std::ops::Range<u64>) -> Vec<Record> {
        seqs.map(record).collect()
    }

    fn seqs(batch: &[(RoomId, Vec<Record>)]) -> Vec<(u8, u64)> {
        batch
            .iter()
            .flat_map(|(room, records)| records.iter().map(|r| (room.0[0], r.entry.seq)))
            .collect()
    }

    #[test]
    fn up_to_max_writes_start_and_what_comes_after_waits_for_them_in_order() {
        let mut q = WriteQueue::default();
        for i in 1..=MAX_WRITES as u64 {
            assert!(q.push(RoomId([1; 32]), vec![record(i)]), "write {i} starts");
            let batch = q.next_batch().unwrap_or_default();
            assert_eq!(seqs(&batch), vec![(1, i)]);
        }
        let n = MAX_WRITES as u64 + 1;
        assert!(!q.push(RoomId([1; 32]), vec![record(n), record(n + 1)]));
        assert!(!q.push(RoomId([2; 32]), vec![record(n + 2)]));
        assert!(
            !q.push(RoomId([2; 32]), Vec::new()),
            "nothing to write starts nothing"
        );
        let next = q.next_batch().unwrap_or_default();
        assert_eq!(seqs(&next), vec![(1, n), (1, n + 1), (2, n + 2)]);
        for _ in 0..MAX_WRITES {
            assert!(q.next_batch().is_none(), "nothing left ends a write");
        }
        assert!(
            q.push(RoomId([1; 32]), vec![record(9)]),
            "the next starts a new one"
        );
    }

    #[test]
    fn a_batch_holds_at_most_max_batch_entries_and_the_rest_follows_in_order() {
        let mut q = WriteQueue::default();
        let total = 2 * MAX_BATCH as u64 + 10;
        assert!(q.push(RoomId([1; 32]), records(1..21)));
        q.push(RoomId([2; 32]), records(21..total + 1));
        let mut seen = Vec::new();
        while let Some(batch) = q.next_batch() {
            let s = seqs(&batch);
            assert!(s.len() <= MAX_BATCH, "a batch of {}", s.len());
            seen.extend(s);
        }
        let want: Vec<(u8, u64)> = (1..=total)
            .map(|i| (if i <= 20 { 1 } else { 2 }, i))
            .collect();
        assert_eq!(seen, want);
    }

    #[test]
    fn a_deleted_room_forgets_what_waits_and_others_keep_theirs() {
        let mut q = WriteQueue::default();
        q.push(RoomId([1; 32]), vec![record(1)]);
        q.push(RoomId([2; 32]), vec![record(2)]);
        q.push(RoomId([1; 32]), vec![record(3)]);
        q.forget_room(&RoomId([1; 32]));
        assert_eq!(seqs(&q.next_batch().unwrap_or_default()), vec![(2, 2)]);
        q.push(RoomId([2; 32]), vec![record(4)]);
        q.clear();
        assert!(q.next_batch().is_none());
    }
}
