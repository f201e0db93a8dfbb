//! A room with a long history by one author, generated natively: what the catch-up
//! benchmarks stage in a browser and the keeper tests put in a keeper's store.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::time::{SystemTime, UNIX_EPOCH};

use natter_core::identity::Identity;
use natter_core::log::{Body, Draft, Entry, EntryId, Record};
use natter_core::room::{Room, RoomSecret};

use crate::{Context, TestResult};

/// The room, its author and the author's entries in chain order.
#[derive(Debug)]
pub struct History {
    /// The room (no password).
    pub room: Room,
    /// The author's secret key.
    pub author_secret: [u8; 32],
    /// The author's key in hex.
    pub author_hex: String,
    /// The entries: the messages, then the author's profile if it was named.
    pub records: Vec<Record>,
}

impl History {
    /// Bytes of all entries.
    pub fn total_bytes(&self) -> usize {
        self.records.iter().map(|r| r.bytes.len()).sum()
    }

    /// The text of the newest message.
    pub fn last_text(&self) -> String {
        let messages = self
            .records
            .iter()
            .filter(|r| matches!(r.entry.body, Body::Text { .. }))
            .count();
        text(messages.saturating_sub(1))
    }
}

/// The text of message `i`.
pub fn text(i: usize) -> String {
    format!("history {i:05}: the quick brown fox jumps over the lazy dog")
}

/// 32 unpredictable bytes (from the standard library's randomly keyed hasher).
pub fn random32() -> [u8; 32] {
    let mut out = [0u8; 32];
    for (i, chunk) in out.chunks_mut(8).enumerate() {
        let v = RandomState::new().hash_one(i).to_le_bytes();
        chunk.copy_from_slice(&v);
    }
    out
}

/// Lowercase hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The wall clock in milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// `n` messages by a fresh author in a fresh room, a second apart and ending now; with a
/// `name`, the author's profile follows them.
pub fn generate(n: usize, name: Option<&str>) -> TestResult<History> {
    let author_secret = random32();
    let identity = Identity::from_secret_bytes(&author_secret);
    let room = Room::from_parts(RoomSecret::from_bytes(random32()), Some("History"), None)
        .ctx("making the room")?;
    let start = now_ms().saturating_sub(n as u64 * 1000);
    let mut prev = EntryId::ZERO;
    let mut records = Vec::with_capacity(n + 1);
    let bodies = (0..n)
        .map(|i| Body::Text {
            text: text(i),
            reply_to: None,
        })
        .chain(name.map(|n| Body::Profile {
            display_name: n.to_owned(),
        }));
    for (i, body) in bodies.enumerate() {
        let entry = Entry::sign(
            &identity,
            Draft {
                room_id: room.id(),
                seq: i as u64 + 1,
                prev_hash: prev,
                lamport: i as u64 + 1,
                wall_ms: start + i as u64 * 1000,
                body,
            },
        )
        .ctx("signing an entry")?;
        let record = Record::from_entry(entry);
        prev = record.id;
        records.push(record);
    }
    Ok(History {
        room,
        author_hex: hex(identity.public().as_bytes()),
        author_secret,
        records,
    })
}
