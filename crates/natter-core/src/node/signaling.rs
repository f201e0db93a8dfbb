//! The node's side of the signaling server: joining, the lobby check, opening
//! connections to the sessions it names, and the sealed signals between them.

use crate::peer_signal::PeerSignal;
use crate::room::RoomId;

use super::{Conn, ConnId, Node, Output, Retry, Verdict, MAX_PRESENT};

impl Node {
    // ----- signaling -----

    pub(super) fn on_joined(&mut self, room: &str, session: String, peers: Vec<String>) {
        if let Some(id) = self.lobbies.get(room).copied() {
            self.check(id, None, Some(peers.len()));
            return;
        }
        let Some(id) = RoomId::from_hex(room) else {
            return;
        };
        let Some(r) = self.rooms.get_mut(&id) else {
            return;
        };
        r.session = Some(session);
        r.present.clear();
        let n = peers.len();
        for p in peers {
            self.mark_present(id, p.clone());
            self.connect(id, p);
        }
        self.check(id, Some(n), None);
    }

    /// Session `session` joined (or left) `room`, a room's or a lobby's id.
    pub(super) fn on_peer(&mut self, room: &str, session: String, joined: bool) {
        if let Some(id) = self.lobbies.get(room).copied() {
            return self.lobby_changed(id, joined);
        }
        let Some(id) = RoomId::from_hex(room) else {
            return;
        };
        if joined {
            self.mark_present(id, session.clone());
            self.connect(id, session);
            if let Some(check) = self.rooms.get_mut(&id).and_then(|r| r.lobby_check.as_mut()) {
                check.met_someone();
                self.changed(id);
            }
            return;
        }
        if let Some(r) = self.rooms.get_mut(&id) {
            r.present.remove(&session);
        }
        // A connection that is up carries on without the server; one still negotiating,
        // or whose link is down, cannot recover.
        for c in self.conns.values_mut() {
            if c.room == id && c.remote_session == session {
                c.remote_left = true;
            }
        }
        self.close_where(Conn::is_dead);
    }

    /// Someone joined or left a password room's lobby.
    pub(super) fn lobby_changed(&mut self, id: RoomId, joined: bool) {
        let Some(check) = self.rooms.get_mut(&id).and_then(|r| r.lobby_check.as_mut()) else {
            return;
        };
        let before = check.verdict();
        check.lobby_changed(joined);
        if check.verdict() != before {
            self.changed(id);
        }
    }

    /// A head count for a password room's check: tells the user what it says.
    pub(super) fn check(
        &mut self,
        id: RoomId,
        room_peers: Option<usize>,
        lobby_peers: Option<usize>,
    ) {
        let Some(check) = self.rooms.get_mut(&id).and_then(|r| r.lobby_check.as_mut()) else {
            return;
        };
        let before = check.verdict();
        if let Some(n) = room_peers {
            check.room_joined(n);
        }
        if let Some(n) = lobby_peers {
            check.lobby_joined(n);
        }
        let after = check.verdict();
        if after == before {
            return;
        }
        if after == Verdict::NobodyOnline {
            self.notice(
                "Nobody from this room is online right now. If the password is wrong you will not \
                 meet anyone; otherwise you connect when someone comes online."
                    .into(),
            );
        }
        self.changed(id);
    }

    /// Remembers that `session` is in room `id`, to connect to it again should its
    /// connection close.
    pub(super) fn mark_present(&mut self, id: RoomId, session: String) {
        let wait = self.config.retry_ms;
        if let Some(r) = self.rooms.get_mut(&id) {
            if r.present.len() < MAX_PRESENT || r.present.contains_key(&session) {
                r.present.entry(session).or_insert(Retry { at: 0, wait });
            }
        }
    }

    /// The connection to `remote` in room `id`, opened unless it is blocked or the room is
    /// full.
    pub(super) fn connect(&mut self, id: RoomId, remote: String) -> Option<ConnId> {
        let r = self.rooms.get(&id)?;
        let local = r.session.clone()?;
        if r.left || r.is_blocked(&remote) || remote == local {
            return None;
        }
        if let Some((k, _)) = self
            .conns
            .iter()
            .find(|(_, c)| c.room == id && c.remote_session == remote)
        {
            return Some(*k);
        }
        if self.conns.values().filter(|c| c.room == id).count() >= self.config.max_conns_per_room {
            return None;
        }
        let conn = ConnId(self.next_conn);
        self.next_conn += 1;
        let polite = local < remote;
        let deadline = self.now.saturating_add(self.config.connect_timeout_ms);
        self.conns
            .insert(conn, Conn::new(id, local, remote, deadline));
        self.out.push_back(Output::OpenConn { conn, polite });
        self.changed(id);
        Some(conn)
    }

    pub(super) fn on_blob(&mut self, room: &str, from: String, blob: &str) {
        let Some(id) = RoomId::from_hex(room) else {
            return;
        };
        let Some(r) = self.rooms.get(&id) else { return };
        let Some(local) = r.session.as_deref() else {
            return;
        };
        let Ok(plain) = crate::seal::open_text(r.room.signal_key(), &id, &from, local, blob) else {
            return;
        };
        let Some(signal) = PeerSignal::decode(&plain) else {
            return;
        };
        if let Some(conn) = self.connect(id, from) {
            self.out.push_back(Output::ApplySignal { conn, signal });
        }
    }

    pub(super) fn on_local_signal(&mut self, conn: ConnId, signal: &PeerSignal) {
        let Some(c) = self.conns.get(&conn) else {
            return;
        };
        let Some(r) = self.rooms.get(&c.room) else {
            return;
        };
        let sealed = crate::seal::seal_to_text(
            r.room.signal_key(),
            &mut self.rng,
            &c.room,
            &c.local_session,
            &c.remote_session,
            &signal.encode(),
        );
        if let Ok(blob) = sealed {
            self.out.push_back(Output::Signal {
                room: c.room.to_hex(),
                to: c.remote_session.clone(),
                blob,
            });
        }
    }
}
