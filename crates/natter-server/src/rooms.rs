//! The room registry: who is in which room, and delivery to their outboxes.
//!
//! Rooms live in a fixed number of shards, each a `Mutex<HashMap>` keyed by room id, so
//! that unrelated rooms rarely contend. A lock is held only to look members up and to push
//! already-encoded messages into bounded outboxes with `try_send`, which never waits.
//!
//! Invariants:
//! - a room is present exactly while it has at least one member;
//! - the number of rooms never exceeds `max_rooms`, and a room never holds more than
//!   `max_peers` members;
//! - delivery never crosses rooms: a message is only pushed to members of the room named;
//! - a full outbox, or a message the server-wide outbox budget refuses
//!   ([`crate::outbox`]), marks its connection as a slow consumer (it is then closed by its
//!   own task) instead of growing memory or blocking the sender.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use axum::extract::ws::Utf8Bytes;
use natter_core::signal::ServerMessage;
use tokio::sync::{mpsc, Notify};

use crate::outbox::{OutboxBudget, Queued};

/// Number of shards; a power of two comfortably above the core count.
const SHARDS: usize = 64;

/// What other tasks may do to one connection: queue a message or ask it to close.
#[derive(Debug)]
pub(crate) struct ConnHandle {
    /// The connection's bounded outbox of encoded text frames.
    pub(crate) tx: mpsc::Sender<Queued>,
    /// Signalled when the outbox overflowed: the connection must close as a slow consumer.
    pub(crate) overflow: Notify,
    /// The server-wide budget every queued message is charged to.
    pub(crate) budget: Arc<OutboxBudget>,
    /// Bytes queued in this connection's outbox.
    pub(crate) queued: Arc<AtomicUsize>,
}

impl ConnHandle {
    /// Queues `msg` without waiting; a full outbox, or a budget that cannot take the
    /// message, flags the connection as too slow.
    pub(crate) fn deliver(&self, msg: Utf8Bytes) {
        let Some(charge) = self.budget.charge(&self.queued, msg.len()) else {
            self.overflow.notify_one();
            return;
        };
        match self.tx.try_send(Queued::new(msg, charge)) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(_)) => self.overflow.notify_one(),
            // The connection is already going away; its own task sends `peer_left`.
            Err(mpsc::error::TrySendError::Closed(_)) => {}
        }
    }
}

/// One member of a room.
#[derive(Debug)]
struct Member {
    session: Arc<str>,
    conn: Arc<ConnHandle>,
}

/// Why a join was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum JoinError {
    /// The room has `max_peers` members.
    RoomFull,
    /// The server has `max_rooms` rooms.
    ServerFull,
}

/// A successful join.
#[derive(Debug)]
pub(crate) struct Joined {
    /// The registry's copy of the room id, shared with the membership.
    pub(crate) room: Arc<str>,
    /// The sessions already present.
    pub(crate) peers: Vec<Arc<str>>,
}

/// One shard: room id to (the same id, shared; its members).
type Shard = HashMap<Arc<str>, (Arc<str>, Vec<Member>)>;

/// All rooms of the server. Each entry keeps its key a second time so that a join can
/// hand out the shared room id without a second lookup.
#[derive(Debug)]
pub(crate) struct Rooms {
    shards: Box<[Mutex<Shard>]>,
    hasher: RandomState,
    count: AtomicUsize,
    max_rooms: usize,
    max_peers: usize,
}

impl Rooms {
    /// An empty registry with the given limits.
    pub(crate) fn new(max_rooms: usize, max_peers: usize) -> Self {
        Rooms {
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
            hasher: RandomState::new(),
            count: AtomicUsize::new(0),
            max_rooms,
            max_peers,
        }
    }

    /// The number of rooms right now.
    pub(crate) fn len(&self) -> usize {
        self.count.load(Ordering::Relaxed)
    }

    fn shard(&self, room: &str) -> MutexGuard<'_, Shard> {
        let index = (self.hasher.hash_one(room) as usize) % SHARDS;
        // A poisoned shard only means another task panicked while holding it; the map is
        // still consistent because no code path panics between mutations.
        self.shards[index]
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Adds `session` of `conn` to `room` and tells the members already present.
    pub(crate) fn join(
        &self,
        room: &str,
        session: &Arc<str>,
        conn: &Arc<ConnHandle>,
    ) -> Result<Joined, JoinError> {
        let mut shard = self.shard(room);
        if let Some((key, members)) = shard.get_mut(room).map(|r| (&r.0, &mut r.1)) {
            if members.len() >= self.max_peers {
                return Err(JoinError::RoomFull);
            }
            let note = encode(&ServerMessage::PeerJoined {
                room: room.into(),
                session: session.as_ref().into(),
            });
            let peers = members
                .iter()
                .map(|m| {
                    m.conn.deliver(note.clone());
                    m.session.clone()
                })
                .collect();
            members.push(Member {
                session: session.clone(),
                conn: conn.clone(),
            });
            return Ok(Joined {
                room: key.clone(),
                peers,
            });
        }
        let max = self.max_rooms;
        if self
            .count
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < max).then_some(n + 1)
            })
            .is_err()
        {
            return Err(JoinError::ServerFull);
        }
        let key: Arc<str> = Arc::from(room);
        let mut members = Vec::with_capacity(4);
        members.push(Member {
            session: session.clone(),
            conn: conn.clone(),
        });
        shard.insert(key.clone(), (key.clone(), members));
        Ok(Joined {
            room: key,
            peers: Vec::new(),
        })
    }

    /// Removes `session` from `room` and tells the remaining members; drops an empty room.
    /// Returns whether the session was a member.
    pub(crate) fn leave(&self, room: &str, session: &str) -> bool {
        let mut shard = self.shard(room);
        let Some((_, members)) = shard.get_mut(room) else {
            return false;
        };
        let Some(index) = members.iter().position(|m| &*m.session == session) else {
            return false;
        };
        members.swap_remove(index);
        if members.is_empty() {
            shard.remove(room);
            self.count.fetch_sub(1, Ordering::AcqRel);
        } else {
            let note = encode(&ServerMessage::PeerLeft {
                room: room.into(),
                session: session.into(),
            });
            for m in members.iter() {
                m.conn.deliver(note.clone());
            }
        }
        true
    }

    /// Delivers `msg` to the member `to` of `room`. Returns `false` when there is no such
    /// member (nothing is delivered then).
    pub(crate) fn relay(&self, room: &str, to: &str, msg: Utf8Bytes) -> bool {
        let shard = self.shard(room);
        match shard
            .get(room)
            .and_then(|(_, members)| members.iter().find(|m| &*m.session == to))
        {
            Some(member) => {
                member.conn.deliver(msg);
                true
            }
            None => false,
        }
    }
}

/// Encodes a server message once, to be shared by every recipient.
pub(crate) fn encode(msg: &ServerMessage<'_>) -> Utf8Bytes {
    Utf8Bytes::from(msg.encode())
}
