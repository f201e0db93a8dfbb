//! Rooms: secrets, ids, invite links, passwords and derived keys.
//!
//! (Being written: see the module plan in ARCHITECTURE.md. The types below are the stable
//! interface other modules build on.)

use core::fmt;

use serde::{Deserialize, Serialize};

/// A room's public identifier: a one-way hash of its secret (and password, if any). It is
/// all the signaling server ever sees of a room.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct RoomId(pub [u8; 32]);

impl RoomId {
    /// The raw bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Lower-case hex of all 32 bytes (64 characters): the form sent to the signaling server.
    pub fn to_hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }
}

impl fmt::Debug for RoomId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "RoomId({:02x}{:02x}{:02x}{:02x}..)",
            self.0[0], self.0[1], self.0[2], self.0[3]
        )
    }
}
