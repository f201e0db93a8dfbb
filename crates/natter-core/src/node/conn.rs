//! One connection's handshake: from negotiating to a peer that proved who it is.
//!
//! # States
//!
//! ```text
//!             channel open: send our hello              their hello verifies
//! Connecting ─────────────────────────────────► Open ─────────────────────────► Verified
//!     │ frames before the open report are            │ anything but a valid hello,
//!     │ held (at most EARLY_FRAMES) and              │ or no hello within the
//!     │ replayed once it comes                       │ hello timeout: closed
//! ```
//!
//! A peer's hello can overtake the browser's report that the channel opened, so frames
//! that arrive while [`ConnState::Connecting`] are held and replayed at the open. In
//! [`ConnState::Open`] the first frame must be a [`Frame::Hello`] that verifies against
//! this connection's [`HelloContext`] (room id, both DTLS fingerprints, both session ids):
//! a hello replayed from another connection or room does not. Only a verified connection's
//! frames reach the room's sync machine.

use crate::hello::{Hello, HelloContext};
use crate::identity::{Identity, PublicKey};
use crate::room::RoomId;
use crate::wire::Frame;

/// Frames held for a connection whose opening has not been reported yet.
pub const EARLY_FRAMES: usize = 16;

/// The browser's (or a native stack's) view of the underlying link.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Link {
    /// Not reported yet, or still being set up.
    #[default]
    Connecting,
    /// Up.
    Connected,
    /// Lost for now; may come back on its own.
    Disconnected,
    /// Gave up.
    Failed,
    /// Closed.
    Closed,
}

impl Link {
    /// The state named as `RTCPeerConnection.connectionState` names it.
    pub fn from_name(name: &str) -> Link {
        match name {
            "connected" => Link::Connected,
            "disconnected" => Link::Disconnected,
            "failed" => Link::Failed,
            "closed" => Link::Closed,
            _ => Link::Connecting,
        }
    }

    /// Down (for now or for good).
    pub fn is_down(self) -> bool {
        matches!(self, Link::Disconnected | Link::Failed | Link::Closed)
    }
}

/// Where a connection's handshake stands.
#[derive(Debug, Clone)]
pub enum ConnState {
    /// Negotiating; frames that arrive are held.
    Connecting {
        /// Frames that arrived before the open report.
        early: Vec<Vec<u8>>,
        /// When the attempt is given up.
        deadline_ms: u64,
    },
    /// Our hello was sent; theirs is due by `deadline_ms`.
    Open {
        /// What their hello must be bound to.
        ctx: HelloContext,
        /// When the connection is dropped if no hello came.
        deadline_ms: u64,
    },
    /// The peer proved its identity.
    Verified {
        /// Its key.
        key: PublicKey,
        /// The display name its hello carried.
        name: String,
    },
}

/// One connection to a peer session in a room.
#[derive(Debug, Clone)]
pub struct Conn {
    /// The room.
    pub room: RoomId,
    /// Our session in the room when the connection was made.
    pub local_session: String,
    /// The peer's session.
    pub remote_session: String,
    /// The handshake.
    pub state: ConnState,
    /// The link's last reported state.
    pub link: Link,
    /// The server said the peer's session left.
    pub remote_left: bool,
}

/// What a frame on a connection that is not verified yet leads to.
#[derive(Debug)]
pub enum Handshake {
    /// Held until the open report.
    Held,
    /// Too many frames before the open report.
    TooEarly,
    /// The peer proved who it is.
    Verified(Box<Hello>),
    /// The peer failed to prove who it is.
    Failed(String),
}

impl Conn {
    /// A new connection, negotiating until `deadline_ms` at the latest.
    pub fn new(
        room: RoomId,
        local_session: String,
        remote_session: String,
        deadline_ms: u64,
    ) -> Conn {
        Conn {
            room,
            local_session,
            remote_session,
            state: ConnState::Connecting {
                early: Vec::new(),
                deadline_ms,
            },
            link: Link::Connecting,
            remote_left: false,
        }
    }

    /// The peer's key once verified.
    pub fn verified_key(&self) -> Option<&PublicKey> {
        match &self.state {
            ConnState::Verified { key, .. } => Some(key),
            _ => None,
        }
    }

    /// The direct link is down (or never came up) and the peer has left the server, so it
    /// cannot negotiate a new one: nothing will bring this connection back.
    pub fn is_dead(&self) -> bool {
        self.remote_left
            && (matches!(self.state, ConnState::Connecting { .. }) || self.link.is_down())
    }

    /// The channel opened with these DTLS fingerprints: returns our hello frame to send and
    /// the frames held so far, to be handled now in order.
    pub fn open(
        &mut self,
        identity: &Identity,
        name: &str,
        local_fingerprint: &str,
        remote_fingerprint: &str,
        deadline_ms: u64,
    ) -> Result<(Vec<u8>, Vec<Vec<u8>>), String> {
        let ctx = HelloContext::new(
            self.room,
            local_fingerprint,
            remote_fingerprint,
            &self.local_session,
            &self.remote_session,
        )
        .map_err(|e| e.to_string())?;
        let hello = Hello::new(identity, name, &ctx).map_err(|e| e.to_string())?;
        let early = match std::mem::replace(&mut self.state, ConnState::Open { ctx, deadline_ms }) {
            ConnState::Connecting { early, .. } => early,
            _ => Vec::new(),
        };
        Ok((Frame::Hello(hello.to_bytes()).encode(), early))
    }

    /// A frame before the connection is verified (the caller hands frames of a verified
    /// connection to the sync machine instead).
    pub fn handshake(&mut self, bytes: Vec<u8>) -> Handshake {
        match &mut self.state {
            ConnState::Connecting { early, .. } if early.len() < EARLY_FRAMES => {
                early.push(bytes);
                Handshake::Held
            }
            ConnState::Connecting { .. } => Handshake::TooEarly,
            ConnState::Open { ctx, .. } => {
                let proof = match Frame::decode(&bytes) {
                    Ok(Frame::Hello(h)) => Hello::from_bytes(&h)
                        .map_err(|e| e.to_string())
                        .and_then(|h| h.verify(ctx).map(|()| h).map_err(|e| e.to_string())),
                    Ok(_) => Err("it sent data before proving who it is".into()),
                    Err(e) => Err(e.to_string()),
                };
                match proof {
                    Ok(hello) => {
                        self.state = ConnState::Verified {
                            key: *hello.identity(),
                            name: hello.display_name().to_owned(),
                        };
                        Handshake::Verified(Box::new(hello))
                    }
                    Err(why) => Handshake::Failed(why),
                }
            }
            ConnState::Verified { .. } => Handshake::Failed("already verified".into()),
        }
    }

    /// When negotiating, or the peer's hello, is given up, until the peer is verified.
    pub fn deadline(&self) -> Option<u64> {
        match &self.state {
            ConnState::Connecting { deadline_ms, .. } | ConnState::Open { deadline_ms, .. } => {
                Some(*deadline_ms)
            }
            ConnState::Verified { .. } => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FP_A: &str = "sha-256 AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA";
    const FP_B: &str = "sha-256 BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB";

    fn pair() -> (Conn, Conn) {
        let room = RoomId([7; 32]);
        (
            Conn::new(room, "sa".into(), "sb".into(), 50),
            Conn::new(room, "sb".into(), "sa".into(), 50),
        )
    }

    fn identity(b: u8) -> Identity {
        Identity::from_secret_bytes(&[b; 32])
    }

    #[test]
    fn hellos_crossing_verify_both_ends_even_before_the_open_report() {
        let (mut a, mut b) = pair();
        let (hello_a, early) = a
            .open(&identity(1), "Alice", FP_A, FP_B, 100)
            .expect("opens");
        assert!(early.is_empty());
        // Bob's channel has not reported its opening yet: Alice's hello is held.
        assert!(matches!(b.handshake(hello_a), Handshake::Held));
        let (hello_b, early) = b.open(&identity(2), "Bob", FP_B, FP_A, 100).expect("opens");
        assert_eq!(early.len(), 1);
        let held = early.into_iter().next().expect("opens");
        assert!(matches!(b.handshake(held), Handshake::Verified(h) if h.display_name() == "Alice"));
        assert!(matches!(a.handshake(hello_b), Handshake::Verified(_)));
        assert_eq!(a.verified_key(), Some(&identity(2).public()));
        assert_eq!(b.verified_key(), Some(&identity(1).public()));
    }

    #[test]
    fn a_hello_bound_to_other_fingerprints_fails() {
        let (mut a, mut b) = pair();
        let (_, _) = a
            .open(&identity(1), "Alice", FP_A, FP_B, 100)
            .expect("opens");
        // Bob believes he talks over a different DTLS session (a relay in the middle).
        let (hello_b, _) = b
            .open(
                &identity(2),
                "Bob",
                FP_B,
                "sha-256 EE:EE:EE:EE:EE:EE:EE:EE:EE:EE:EE:EE:EE:EE:EE:EE",
                100,
            )
            .expect("opens");
        assert!(matches!(a.handshake(hello_b), Handshake::Failed(_)));
        assert_eq!(a.verified_key(), None);
    }

    #[test]
    fn data_before_a_hello_fails_and_a_flood_before_the_open_is_refused() {
        let (mut a, _) = pair();
        assert_eq!(a.deadline(), Some(50));
        for _ in 0..EARLY_FRAMES {
            assert!(matches!(a.handshake(vec![1, 2]), Handshake::Held));
        }
        assert!(matches!(a.handshake(vec![1, 2]), Handshake::TooEarly));
        let (mut a, _) = pair();
        a.open(&identity(1), "Alice", FP_A, FP_B, 100)
            .expect("opens");
        assert_eq!(a.deadline(), Some(100));
        let typing = Frame::Typing(true).encode();
        assert!(matches!(a.handshake(typing), Handshake::Failed(_)));
    }

    #[test]
    fn a_connection_is_dead_only_when_the_peer_left_and_the_link_cannot_recover() {
        let (mut a, _) = pair();
        assert!(!a.is_dead());
        a.remote_left = true;
        assert!(
            a.is_dead(),
            "still negotiating, and the peer cannot answer any more"
        );
        a.open(&identity(1), "Alice", FP_A, FP_B, 100)
            .expect("opens");
        a.link = Link::Connected;
        assert!(!a.is_dead(), "an open link carries on without the server");
        a.link = Link::from_name("failed");
        assert!(a.is_dead());
    }
}
