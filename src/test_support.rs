//! Helpers shared by the tests of several modules (browser and native).

/// Turns a failed step into a test failure that says what was being done.
pub(crate) trait Ctx<T> {
    /// The error, prefixed with `what`.
    fn ctx(self, what: &str) -> Result<T, String>;
}

impl<T, E: std::fmt::Debug> Ctx<T> for Result<T, E> {
    fn ctx(self, what: &str) -> Result<T, String> {
        self.map_err(|e| format!("{what}: {e:?}"))
    }
}

/// A signed text entry of `seq` by the identity made from `seed` (no previous entry).
pub(crate) fn signed_text(
    seed: u8,
    seq: u64,
    text: &str,
) -> Result<natter_core::log::Record, String> {
    use natter_core::identity::Identity;
    use natter_core::log::{Body, Draft, Entry, EntryId, Record};
    use natter_core::room::RoomId;
    let draft = Draft {
        room_id: RoomId([3; 32]),
        seq,
        prev_hash: EntryId::ZERO,
        lamport: seq,
        wall_ms: 0,
        body: Body::Text {
            text: text.into(),
            reply_to: None,
        },
    };
    let entry = Entry::sign(&Identity::from_secret_bytes(&[seed; 32]), draft).ctx("signing")?;
    Ok(Record::from_entry(entry))
}
