//! One room on a device: its sync machine and what the node keeps beside it.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use crate::identity::PublicKey;
use crate::log::{Body, EntryId};
use crate::retention::Retention;
use crate::room::{Room, RoomId};
use crate::sync::RoomSync;
use crate::wire::Presence;

use super::{LobbyCheck, RoomMeta, Verdict, MAX_BLOCKED};

/// When to connect to a session again, and how long to wait after that.
#[derive(Debug, Clone, Copy)]
pub(super) struct Retry {
    pub(super) at: u64,
    pub(super) wait: u64,
}

/// One room on this device.
#[derive(Debug)]
pub struct RoomNode {
    pub(super) room: Room,
    pub(super) ephemeral: bool,
    pub(super) left: bool,
    pub(super) sync: RoomSync,
    pub(super) session: Option<String>,
    pub(super) lobby: Option<String>,
    pub(super) lobby_check: Option<LobbyCheck>,
    pub(super) verified: BTreeSet<PublicKey>,
    pub(super) blocked: VecDeque<String>,
    /// The same sessions, to look them up.
    pub(super) blocked_set: BTreeSet<String>,
    /// Sessions the server says are in the room, and when to try connecting again.
    pub(super) present: BTreeMap<String, Retry>,
    pub(super) typing: BTreeMap<PublicKey, u64>,
    pub(super) presence: BTreeMap<PublicKey, Presence>,
    pub(super) timer_at: Option<u64>,
    pub(super) missing: u64,
    pub(super) last_activity_ms: u64,
    /// The room's keepers as last applied to its connections (their low priority).
    pub(super) keepers: BTreeSet<PublicKey>,
    /// Entries a keeper delivered in this session, and which keeper (see "Who served
    /// what" in [`super`]).
    pub(super) served: BTreeMap<EntryId, PublicKey>,
    /// How much of the history to hold, and when a time-based setting was last applied.
    pub(super) retention: Retention,
    pub(super) retention_at: u64,
}

impl RoomNode {
    /// The room.
    pub fn room(&self) -> &Room {
        &self.room
    }
    /// Kept in memory only.
    pub fn ephemeral(&self) -> bool {
        self.ephemeral
    }
    /// Left by the user.
    pub fn left(&self) -> bool {
        self.left
    }
    /// Its sync machine.
    pub fn sync(&self) -> &RoomSync {
        &self.sync
    }
    /// Keys the user verified here.
    pub fn verified(&self) -> &BTreeSet<PublicKey> {
        &self.verified
    }
    /// Peers typing now.
    pub fn typing(&self) -> impl Iterator<Item = &PublicKey> {
        self.typing.keys()
    }
    /// A connected peer's presence (online unless it said otherwise).
    pub fn presence(&self, key: &PublicKey) -> Presence {
        self.presence.get(key).copied().unwrap_or(Presence::Online)
    }
    /// Entries known to exist but not held yet.
    pub fn missing(&self) -> u64 {
        self.missing
    }
    /// When something last happened here (never later than the last input's time).
    pub fn last_activity_ms(&self) -> u64 {
        self.last_activity_ms
    }
    /// What the lobby says of the password, for password rooms joined by link.
    pub fn lobby_verdict(&self) -> Option<Verdict> {
        self.lobby_check.map(|c| c.verdict())
    }
    /// Sessions blocked here (they failed a handshake or sent invalid data).
    pub fn blocked(&self) -> impl Iterator<Item = &String> {
        self.blocked.iter()
    }
    /// The keeper that delivered `entry` to us in this session, if a keeper did (see "Who
    /// served what" in [`super`]).
    pub fn served_by(&self, entry: &EntryId) -> Option<&PublicKey> {
        self.served.get(entry)
    }
    /// Our session here on the current signaling connection.
    pub fn session(&self) -> Option<&str> {
        self.session.as_deref()
    }

    pub(super) fn is_blocked(&self, session: &str) -> bool {
        self.blocked_set.contains(session)
    }

    /// A session here that we should be connected to and are not.
    pub(super) fn wants_conn(&self, session: &str, connected: &BTreeSet<(RoomId, &str)>) -> bool {
        !self.left
            && self.session.is_some()
            && !self.is_blocked(session)
            && !connected.contains(&(self.room.id(), session))
    }

    pub(super) fn block(&mut self, session: String) {
        if self.is_blocked(&session) {
            return;
        }
        if self.blocked.len() >= MAX_BLOCKED {
            if let Some(old) = self.blocked.pop_front() {
                self.blocked_set.remove(&old);
            }
        }
        self.blocked_set.insert(session.clone());
        self.blocked.push_back(session);
    }

    pub(super) fn meta(&self) -> RoomMeta {
        RoomMeta {
            room: self.room.clone(),
            left: self.left,
            last_activity_ms: self.last_activity_ms,
        }
    }

    /// Nothing but our own profile was ever written here.
    pub(super) fn untouched(&self, me: &PublicKey) -> bool {
        let log = self.sync.log();
        log.authors().all(|a| a == me)
            && log
                .entries_of(me)
                .all(|rec| matches!(rec.entry.body, Body::Profile { .. }))
    }
}
