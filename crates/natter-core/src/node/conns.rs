//! The node's connections: the channel opening, the handshake, and closing.

use crate::identity::PublicKey;
use crate::room::RoomId;
use crate::sync;
use crate::wire::Presence;

use super::{conn, Conn, ConnId, ConnState, Node, Output};

impl Node {
    // ----- connections -----

    pub(super) fn on_open(&mut self, conn: ConnId, local_fp: &str, remote_fp: &str) {
        let deadline = self.now.saturating_add(self.config.hello_timeout_ms);
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        if !matches!(c.state, ConnState::Connecting { .. }) {
            return;
        }
        match c.open(&self.identity, &self.name, local_fp, remote_fp, deadline) {
            Ok((hello, early)) => {
                self.out.push_back(Output::Send { conn, bytes: hello });
                for bytes in early {
                    self.on_frame(conn, bytes);
                }
            }
            Err(e) => self.close(conn, format!("A connection could not be secured: {e}.")),
        }
    }

    pub(super) fn on_frame(&mut self, conn: ConnId, bytes: Vec<u8>) {
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        if c.verified_key().is_some() {
            let room = c.room;
            self.feed(
                room,
                sync::Input::Frame {
                    peer: conn.peer(),
                    bytes,
                },
            );
            return;
        }
        let (room, session) = (c.room, c.remote_session.clone());
        match c.handshake(bytes) {
            conn::Handshake::Held => {}
            conn::Handshake::TooEarly => self.close(
                conn,
                "A peer sent too much before the connection was ready.".into(),
            ),
            conn::Handshake::Failed(why) => {
                self.block(room, session);
                self.close(
                    conn,
                    format!("A peer failed verification and was disconnected: {why}."),
                );
            }
            conn::Handshake::Verified(hello) => {
                let key = *hello.identity();
                if key == self.me {
                    // Ourselves, in another tab.
                    self.block(room, session);
                    self.close(conn, String::new());
                    return;
                }
                // The same person over an older connection (a reload the old one has not
                // noticed yet): the newer one wins, on both ends alike.
                let older: Vec<ConnId> = self
                    .conns
                    .iter()
                    .filter(|(k, o)| {
                        **k != conn && o.room == room && o.verified_key() == Some(&key)
                    })
                    .map(|(k, _)| *k)
                    .collect();
                for o in older {
                    self.close(o, String::new());
                }
                self.on_verified(conn, room, key);
            }
        }
    }

    pub(super) fn on_verified(&mut self, conn: ConnId, room: RoomId, key: PublicKey) {
        let session = self.conns.get(&conn).map(|c| c.remote_session.clone());
        let wait = self.config.retry_ms;
        if let Some(r) = self.rooms.get_mut(&room) {
            if let Some(retry) = session.and_then(|s| r.present.get_mut(&s)) {
                retry.wait = wait;
            }
            // A new connection starts active: an "away" said over an earlier one no
            // longer holds.
            r.presence.remove(&key);
        }
        self.feed(room, sync::Input::PeerConnected(conn.peer()));
        if self
            .rooms
            .get(&room)
            .is_some_and(|r| r.sync.log().is_keeper(&key))
        {
            // Before anything it sends reaches the machine.
            self.feed(
                room,
                sync::Input::SetLowPriority {
                    peer: conn.peer(),
                    low: true,
                },
            );
        }
        if self.away {
            // Peers take a new connection to be active; say that we are not.
            self.feed(room, sync::Input::Presence(Presence::Away));
        }
        self.files_peer_up(conn, room);
        self.changed(room);
    }

    pub(super) fn verified_room(&self, conn: ConnId) -> Option<RoomId> {
        let c = self.conns.get(&conn)?;
        c.verified_key().map(|_| c.room)
    }

    pub(super) fn block(&mut self, room: RoomId, session: String) {
        if let Some(r) = self.rooms.get_mut(&room) {
            r.block(session);
        }
    }

    /// Closes a connection from our side, with a notice unless `notice` is empty.
    pub(super) fn close(&mut self, conn: ConnId, notice: String) {
        if self.conns.contains_key(&conn) {
            self.out.push_back(Output::CloseConn(conn));
            self.remove_conn(conn);
        }
        if !notice.is_empty() {
            self.notice(notice);
        }
    }

    pub(super) fn close_where(&mut self, which: impl Fn(&Conn) -> bool) {
        let doomed: Vec<ConnId> = self
            .conns
            .iter()
            .filter(|(_, c)| which(c))
            .map(|(k, _)| *k)
            .collect();
        for conn in doomed {
            self.close(conn, String::new());
        }
    }

    pub(super) fn remove_conn(&mut self, conn: ConnId) {
        let Some(c) = self.conns.remove(&conn) else {
            return;
        };
        self.files_peer_gone(conn);
        let (now, max) = (self.now, self.config.max_retry_ms);
        if let Some(retry) = self
            .rooms
            .get_mut(&c.room)
            .and_then(|r| r.present.get_mut(&c.remote_session))
        {
            retry.at = now.saturating_add(retry.wait);
            retry.wait = retry.wait.saturating_mul(2).min(max);
        }
        if let Some(key) = c.verified_key() {
            self.feed(c.room, sync::Input::PeerDisconnected(conn.peer()));
            let still = self
                .conns
                .values()
                .any(|o| o.room == c.room && o.verified_key() == Some(key));
            if let Some(r) = self.rooms.get_mut(&c.room).filter(|_| !still) {
                r.typing.remove(key);
                r.presence.remove(key);
            }
        }
        self.changed(c.room);
    }
}
