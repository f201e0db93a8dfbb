//! Others' entries waiting to be written to IndexedDB.
//!
//! The runtime shows entries from peers at once and writes them behind (a failed write
//! loses nothing: peers send them again at the next sync). While one write is under way,
//! the entries that arrive wait here and then go together in one transaction, so a
//! catch-up of thousands of entries is stored in a few large transactions rather than one
//! per frame. A room that is deleted forgets what it had waiting.

use natter_core::log::Record;
use natter_core::room::RoomId;

/// Entries waiting for the write under way, and whether one is.
#[derive(Debug, Default)]
pub struct WriteQueue {
    waiting: Vec<(RoomId, Vec<Record>)>,
    busy: bool,
}

impl WriteQueue {
    /// Queues `records` of `room`; `true` when no write is under way, so the caller starts
    /// one (and drains [`WriteQueue::next_batch`] until it says there is nothing left).
    pub fn push(&mut self, room: RoomId, records: Vec<Record>) -> bool {
        self.waiting.push((room, records));
        !std::mem::replace(&mut self.busy, true)
    }

    /// Everything waiting, in the order it came; `None` when nothing is, which ends the
    /// write under way.
    pub fn next_batch(&mut self) -> Option<Vec<(RoomId, Vec<Record>)>> {
        if self.waiting.is_empty() {
            self.busy = false;
            return None;
        }
        Some(std::mem::take(&mut self.waiting))
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

    fn seqs(batch: &[(RoomId, Vec<Record>)]) -> Vec<(u8, u64)> {
        batch
            .iter()
            .flat_map(|(room, records)| records.iter().map(|r| (room.0[0], r.entry.seq)))
            .collect()
    }

    #[test]
    fn entries_that_arrive_during_a_write_go_together_in_order() {
        let mut q = WriteQueue::default();
        assert!(
            q.push(RoomId([1; 32]), vec![record(1)]),
            "the first starts a write"
        );
        let first = q.next_batch().unwrap_or_default();
        assert_eq!(seqs(&first), vec![(1, 1)]);
        assert!(!q.push(RoomId([1; 32]), vec![record(2), record(3)]));
        assert!(!q.push(RoomId([2; 32]), vec![record(4)]));
        let second = q.next_batch().unwrap_or_default();
        assert_eq!(seqs(&second), vec![(1, 2), (1, 3), (2, 4)]);
        assert!(q.next_batch().is_none(), "nothing left ends the write");
        assert!(
            q.push(RoomId([1; 32]), vec![record(5)]),
            "the next starts a new one"
        );
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
