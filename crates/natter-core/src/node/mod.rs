//! The whole peer protocol of one device: every room, every connection, no IO.
//!
//! # What
//!
//! [`Node`] owns a device's rooms (each with its [`RoomSync`]), its sessions on the
//! signaling server, and every connection to a peer with its handshake. It is sans-IO in
//! the manner of str0m and iroh-gossip's `proto::State`: the driver (the browser runtime,
//! the native keeper, the simulator) feeds [`Input`]s to [`Node::handle`] with the current
//! time, then takes [`Output`]s from [`Node::poll_output`] and executes them in order.
//! Nothing here reads a clock, touches the network or the disk, or draws global randomness
//! (sealing draws its nonces from the RNG the driver hands to [`Node::new`]).
//!
//! # Connection rules
//!
//! 1. **Join.** Each room is joined on the signaling server under its id (hex); a password
//!    room is also joined under its lobby id ([`Room::lobby_id`], see [`lobby`]). The
//!    server answers with our session id and the sessions already there.
//! 2. **Connect.** We open a connection ([`Output::OpenConn`]) to every session the server
//!    names (on joining, on a peer joining, or when a sealed signal arrives from it), at
//!    most one per remote session and at most [`NodeConfig::max_conns_per_room`] per room.
//!    The side whose session id sorts lower is *polite* (perfect negotiation: it yields when
//!    offers collide).
//! 3. **Signal.** What the connections need to exchange (SDP, ICE, [`crate::peer_signal`])
//!    is sealed with the room's signal key and bound to both session ids
//!    ([`crate::seal`]), then relayed by the server as text ([`Output::Signal`]). A blob
//!    that does not open, or whose plaintext does not decode, is dropped.
//! 4. **Handshake.** When the channel opens, each side sends a [`Frame::Hello`] signed over
//!    the room id, both DTLS fingerprints and both session ids ([`crate::hello`],
//!    [`conn`]). Until the peer's hello verifies, nothing it sends reaches the room's sync
//!    machine; a failed proof closes the connection and blocks the session. A hello is due
//!    within [`NodeConfig::hello_timeout_ms`] of the channel opening.
//! 5. **Newer connection wins.** A verified peer whose key is already verified over another
//!    connection in the room (a reload, a reconnect after the server came back) replaces
//!    it: the older one is closed, on both ends alike. A peer with our own key (this
//!    identity in another tab) is closed and its session blocked.
//! 6. **Sync.** A verified connection is a peer of the room's [`RoomSync`] (pull, push,
//!    repair, blame: see [`crate::sync`]). A peer that machine reports as misbehaving is
//!    closed and its session blocked; the others carry on.
//! 7. **Keepers are of low priority.** A peer whose key the room names a keeper
//!    ([`crate::log::RoomLog::keepers`], from `Keeper` entries) is marked of low priority in
//!    the room's machine ([`sync::Input::SetLowPriority`]) when its hello verifies, and
//!    marked again whenever the room's keeper set changes: history is taken from it only
//!    when no other connected peer offers it in time.
//! 8. **Who served what.** When entries arrive over a connection whose verified key the
//!    room names a keeper at that moment (the frame's own entries applied, so a `Keeper`
//!    entry in the same frame counts), each is recorded as served by that keeper
//!    ([`RoomNode::served_by`]), for the UI to say so. Our own posts, loaded history and
//!    entries from any other peer are served by no keeper (an entry is accepted once, from
//!    one peer). The record lives in memory for the session only: the browser stores
//!    an entry as its signed bytes, which have no room for who delivered them, and after a
//!    reload the entries are simply loaded.
//! 9. **Files.** Each connection has a second channel for files ([`crate::blobwire`]
//!    frames), so a file never holds up the log. What we hold is told only to peers of a
//!    room that names the file, and a file the user opens is pulled from every peer that
//!    has it, each chunk verified on arrival ([`files`]).
//! 10. **Leave.** A connection whose link is down while the peer's session has left the
//!     server is closed: it cannot recover. Losing the server closes only the connections
//!     still negotiating; open ones carry on.
//! 11. **Retention.** A room added with a [`crate::retention::Retention`] other than all (a
//!     keeper's room, as its member chose) drops what the setting does not keep after every
//!     batch of entries it stores, when the setting changes ([`Input::SetRetention`]), and
//!     for a setting by age every [`RETENTION_EVERY_MS`]; each author cut is an
//!     [`Output::Prune`]. Such a room wants no older history back (no backfill), and our own
//!     chain is never cut.
//!
//! # Frames
//!
//! Every frame on a connection is a [`crate::wire`] frame: `Hello` first, then `Summary`,
//! `Want`, `Entries`, `Evidence`, `Typing`, `Presence`, `Bye` and `Floors`, with their byte layouts
//! and golden bytes in that module. A peer's `Typing(true)` shows it typing for
//! [`TYPING_TTL_MS`] unless repeated or withdrawn; `Presence` holds until the connection
//! closes, and a new connection starts as online.
//!
//! # Keys
//!
//! From a room's 32-byte secret and optional stretched password ([`crate::room`]): the room
//! id (what the server sees), the signal key (sealing), the storage key, and for password
//! rooms the lobby id. Identities are Ed25519 ([`crate::identity`]); entries are signed
//! ([`crate::log`]).
//!
//! # Timers
//!
//! [`Output::ScheduleTimer`] names the earliest of: a room machine's timer (summaries,
//! announcements, want and pending timeouts), a hello deadline, a typing expiry. Handle
//! [`Input::Tick`] then (any earlier tick is harmless).
//!
//! # Storage and the order of outputs
//!
//! Outputs come in the order they must be executed. [`Output::StoreOwn`] (our own new
//! entries) must be on disk before anything after it runs: a lost own entry would make us
//! sign its seq again, which peers treat as a fork. [`Output::Store`] (others' entries) may
//! be written behind: what a failed write loses comes back from peers. [`Output::Prune`]
//! follows the store of what it cuts. Ephemeral rooms produce no storage outputs at all.
//!
//! # Bounds
//!
//! | quantity | bound |
//! |---|---|
//! | connections per room | [`NodeConfig::max_conns_per_room`] (64) |
//! | frames held before the open report | [`conn::EARLY_FRAMES`] (16) |
//! | time to prove an identity | [`NodeConfig::hello_timeout_ms`] (15 s) |
//! | blocked sessions remembered per room | [`MAX_BLOCKED`], oldest forgotten first |
//! | a peer's typing | [`TYPING_TTL_MS`], one entry per connected key |
//! | a peer's presence | one entry per connected key, dropped when it disconnects |
//! | entries served by a keeper | one record per entry held, dropped with the room |
//! | notices | [`MAX_NOTICE_CHARS`] each |
//! | a room's last activity | never later than now |
//!
//! Everything inside a room is bounded by [`crate::sync`] and below.

pub mod conn;
mod conns;
pub mod files;
mod io;
pub mod lobby;
mod room;
mod signaling;

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use rand_core::CryptoRngCore;

use crate::hello::validate_display_name;
use crate::identity::{Identity, PublicKey};
use crate::log::{Body, EntryId, RoomLog};
use crate::retention::Retention;
use crate::room::{Room, RoomId};
use crate::sync::{self, Event, PeerId, RoomSync, SyncConfig};
use crate::wire::Presence;

pub use conn::{Conn, ConnState, Link};
pub use io::{Input, NodeError, Output, RoomMeta, RoomSetup};
pub use lobby::{LobbyCheck, Verdict};
use room::Retry;
pub use room::RoomNode;

/// How long a peer's `Typing(true)` holds.
pub const TYPING_TTL_MS: u64 = 6_000;
/// Sessions remembered as blocked per room (a hostile server can mint any number).
pub const MAX_BLOCKED: usize = 256;
/// Sessions of one room the server named that we keep (re)connecting to.
pub const MAX_PRESENT: usize = 1024;
/// Longest notice, in characters (some words come from outside, such as a server's error).
pub const MAX_NOTICE_CHARS: usize = 300;
/// How often a room kept for a number of days drops what has aged out.
pub const RETENTION_EVERY_MS: u64 = 60_000;

/// The driver's name for one connection (also the room machine's [`PeerId`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ConnId(pub u64);

impl ConnId {
    fn peer(self) -> PeerId {
        PeerId(self.0)
    }
}

/// Tunables.
#[derive(Debug, Clone)]
pub struct NodeConfig {
    /// Each room machine's configuration.
    pub sync: SyncConfig,
    /// Connections open at once in one room: a signaling server (or a flood of sessions)
    /// chooses how many peers it names.
    pub max_conns_per_room: usize,
    /// How long a peer has, once the channel is open, to prove who it is.
    pub hello_timeout_ms: u64,
    /// How long a connection may negotiate before it is given up.
    pub connect_timeout_ms: u64,
    /// The first wait before connecting again to a session still in the room whose
    /// connection closed; doubled per failure up to [`NodeConfig::max_retry_ms`].
    pub retry_ms: u64,
    /// The longest wait between connection attempts to one session.
    pub max_retry_ms: u64,
}

impl Default for NodeConfig {
    fn default() -> Self {
        NodeConfig {
            sync: SyncConfig::default(),
            max_conns_per_room: 64,
            hello_timeout_ms: 15_000,
            connect_timeout_ms: 30_000,
            retry_ms: 1_000,
            max_retry_ms: 60_000,
        }
    }
}

/// A device's rooms and connections (see the module doc).
pub struct Node {
    identity: Identity,
    me: PublicKey,
    name: String,
    config: NodeConfig,
    rng: NodeRng,
    rooms: BTreeMap<RoomId, RoomNode>,
    lobbies: BTreeMap<String, RoomId>,
    conns: BTreeMap<ConnId, Conn>,
    next_conn: u64,
    away: bool,
    now: u64,
    out: VecDeque<Output>,
    changed: BTreeMap<RoomId, Vec<EntryId>>,
    timer_at: Option<u64>,
    files: files::Files,
}

impl std::fmt::Debug for Node {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Node")
            .field("me", &self.me)
            .field("rooms", &self.rooms.len())
            .field("conns", &self.conns.len())
            .finish_non_exhaustive()
    }
}

/// The driver's RNG, for sealing nonces.
struct NodeRng(Box<dyn CryptoRngCore>);

impl rand_core::RngCore for NodeRng {
    fn next_u32(&mut self) -> u32 {
        self.0.next_u32()
    }
    fn next_u64(&mut self) -> u64 {
        self.0.next_u64()
    }
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        self.0.fill_bytes(dest)
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        self.0.try_fill_bytes(dest)
    }
}

impl rand_core::CryptoRng for NodeRng {}

/// `text` cut to at most `max` characters, with an ellipsis when cut.
pub fn shorten(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_owned(),
    }
}

/// A room's name as shown: its own, or one made from its id.
pub fn room_name(room: &Room) -> String {
    room.name()
        .map(str::to_owned)
        .unwrap_or_else(|| format!("Room {}", room.id().to_hex().get(..6).unwrap_or("")))
}

impl Node {
    /// A node for `identity`, shown to peers as `name`. `rng` supplies sealing nonces.
    pub fn new(
        identity: Identity,
        name: String,
        config: NodeConfig,
        rng: Box<dyn CryptoRngCore>,
    ) -> Node {
        Node {
            me: identity.public(),
            identity,
            name,
            config,
            rng: NodeRng(rng),
            rooms: BTreeMap::new(),
            lobbies: BTreeMap::new(),
            conns: BTreeMap::new(),
            next_conn: 1,
            away: false,
            now: 0,
            out: VecDeque::new(),
            changed: BTreeMap::new(),
            timer_at: None,
            files: files::Files::default(),
        }
    }

    /// Our key.
    pub fn me(&self) -> PublicKey {
        self.me
    }
    /// Our display name.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// Our identity.
    pub fn identity(&self) -> &Identity {
        &self.identity
    }
    /// The rooms here.
    pub fn rooms(&self) -> impl Iterator<Item = (&RoomId, &RoomNode)> {
        self.rooms.iter()
    }
    /// One room.
    pub fn room(&self, id: &RoomId) -> Option<&RoomNode> {
        self.rooms.get(id)
    }
    /// The connections in a room.
    pub fn conns_in(&self, room: RoomId) -> impl Iterator<Item = (ConnId, &Conn)> {
        self.conns
            .iter()
            .filter(move |(_, c)| c.room == room)
            .map(|(k, c)| (*k, c))
    }
    /// One connection.
    pub fn conn(&self, conn: ConnId) -> Option<&Conn> {
        self.conns.get(&conn)
    }
    /// Verified peers in a room.
    pub fn online(&self, room: RoomId) -> usize {
        self.conns_in(room)
            .filter(|(_, c)| c.verified_key().is_some())
            .count()
    }

    /// The next output to execute.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.out.pop_front()
    }

    /// A key's display name: ours, else its latest profile in the room, else the name its
    /// hello carried over a connection, else a short form of the key.
    pub fn name_of(&self, room: Option<&RoomId>, key: &PublicKey) -> String {
        if *key == self.me {
            return self.name.clone();
        }
        room.and_then(|id| self.rooms.get(id))
            .and_then(|r| r.sync.log().display_name(key))
            .map(str::to_owned)
            .or_else(|| {
                self.conns.values().find_map(|c| match &c.state {
                    ConnState::Verified { key: k, name } if k == key => Some(name.clone()),
                    _ => None,
                })
            })
            .unwrap_or_else(|| key.short())
    }

    /// Handles one input at time `now_ms` (milliseconds since the Unix epoch). Errors are
    /// only for local actions the caller may want to report; everything from outside is
    /// handled (or dropped) here.
    pub fn handle(&mut self, now_ms: u64, input: Input) -> Result<(), NodeError> {
        self.now = self.now.max(now_ms);
        let r = self.on_input(input);
        self.index_files();
        self.update_keepers();
        self.flush_changes();
        self.schedule();
        r
    }

    pub(super) fn on_input(&mut self, input: Input) -> Result<(), NodeError> {
        match input {
            Input::AddRoom(setup) => return self.add_room(*setup),
            Input::Rejoin(id) => {
                let r = self.rooms.get_mut(&id).ok_or(NodeError::NoRoom)?;
                if std::mem::take(&mut r.left) {
                    self.join_signaling(id);
                    self.save_room(id);
                    self.changed(id);
                }
            }
            Input::Leave(id) => self.leave(id, false),
            Input::SetRetention { room, retention } => self.set_retention(room, retention),
            Input::Delete(id) => self.leave(id, true),
            Input::Repassword { old, room } => {
                if room.id() == old {
                    // The same password again: the hint stays until someone arrives.
                    return Ok(());
                }
                if self.rooms.get(&old).is_some_and(|r| r.untouched(&self.me)) {
                    self.leave(old, true);
                }
                return self.add_room(RoomSetup::new(*room, false));
            }
            Input::Post { room, body } => {
                let r = self.rooms.get_mut(&room).ok_or(NodeError::NoRoom)?;
                r.last_activity_ms = self.now;
                self.feed(room, sync::Input::Post(body));
            }
            Input::React {
                room,
                target,
                emoji,
            } => {
                let r = self.rooms.get(&room).ok_or(NodeError::NoRoom)?;
                let body = match live_reaction(r.sync.log(), &self.me, target, &emoji) {
                    Some(reaction) => Body::Delete { target: reaction },
                    None => Body::Reaction { target, emoji },
                };
                self.feed(room, sync::Input::Post(body));
            }
            Input::SetName(name) => self.set_name(name),
            Input::Typing { room, active } => self.feed(room, sync::Input::Typing(active)),
            Input::Visible(visible) => {
                self.away = !visible;
                let p = if visible {
                    Presence::Online
                } else {
                    Presence::Away
                };
                let ids: Vec<RoomId> = self.rooms.keys().copied().collect();
                for id in ids {
                    self.feed(id, sync::Input::Presence(p));
                }
            }
            Input::MarkVerified { room, key } => {
                let r = self.rooms.get_mut(&room).ok_or(NodeError::NoRoom)?;
                if r.verified.insert(key) && !r.ephemeral {
                    self.out.push_back(Output::SavePeer { room, key });
                }
                self.changed(room);
            }
            Input::SignalingLost => {
                for r in self.rooms.values_mut() {
                    r.session = None;
                    r.present.clear();
                }
                // Connections still negotiating cannot finish without the server.
                self.close_where(|c| matches!(c.state, ConnState::Connecting { .. }));
            }
            Input::Joined {
                room,
                session,
                peers,
            } => self.on_joined(&room, session, peers),
            Input::PeerJoined { room, session } => self.on_peer(&room, session, true),
            Input::PeerLeft { room, session } => self.on_peer(&room, session, false),
            Input::Blob { room, from, blob } => self.on_blob(&room, from, &blob),
            Input::LocalSignal { conn, signal } => self.on_local_signal(conn, &signal),
            Input::ChannelOpen {
                conn,
                local_fingerprint,
                remote_fingerprint,
            } => self.on_open(conn, &local_fingerprint, &remote_fingerprint),
            Input::Checked { conn, ids } => {
                if let Some(c) = self.conns.get(&conn) {
                    if c.verified_key().is_some() {
                        if let Some(r) = self.rooms.get_mut(&c.room) {
                            r.sync.accept_checked(ids);
                        }
                    }
                }
            }
            Input::Frame { conn, bytes } => self.on_frame(conn, bytes),
            Input::Link { conn, link } => {
                if let Some(c) = self.conns.get_mut(&conn) {
                    c.link = link;
                    let room = c.room;
                    self.changed(room);
                    self.close_where(Conn::is_dead);
                }
            }
            Input::Drained(conn) => {
                if let Some(room) = self.verified_room(conn) {
                    self.feed(room, sync::Input::Drained(conn.peer()));
                }
            }
            Input::Closed(conn) => self.remove_conn(conn),
            Input::FileFrame { conn, bytes, leaf } => self.on_file_frame(conn, bytes, leaf),
            Input::FileDrained(conn) => self.on_file_drained(conn),
            Input::ChunkRead {
                conn,
                root,
                index,
                chunk,
                leaf,
            } => self.on_chunk_read(conn, root, index, chunk, leaf),
            Input::Holding { root, len, has } => self.on_holding(root, len, has),
            // The rooms' File entries are indexed after every input, so any held is known.
            Input::Fetch { room, root } => return self.start_fetch(room, root),
            Input::Pause(root) => self.pause_fetch(root),
            Input::Forget(root) => self.on_forget(root),
            Input::Tick => {
                // Whatever timer was armed has fired: the next one is always named again.
                self.timer_at = None;
                self.on_tick();
                self.files_tick();
            }
        }
        Ok(())
    }

    // ----- rooms -----

    fn add_room(&mut self, setup: RoomSetup) -> Result<(), NodeError> {
        let id = setup.room.id();
        if self.rooms.contains_key(&id) {
            return self.on_input(Input::Rejoin(id));
        }
        let sync = if setup.history.is_empty() && setup.evidence.is_empty() {
            RoomSync::new(id, self.identity.clone(), self.config.sync.clone())
        } else {
            RoomSync::load(
                id,
                self.identity.clone(),
                self.config.sync.clone(),
                setup.history,
                setup.evidence,
                true,
            )
            .map_err(NodeError::Load)?
        };
        let mut sync = sync;
        for (author, seq, entry) in &setup.floors {
            sync.restore_floor(*author, *seq, *entry);
        }
        sync.set_backfill(self.config.sync.backfill && setup.retention == Retention::All);
        let last_activity = setup
            .last_activity_ms
            .max(latest_wall(sync.log()))
            .min(self.now);
        self.rooms.insert(
            id,
            RoomNode {
                room: setup.room,
                ephemeral: setup.ephemeral,
                left: setup.left,
                sync,
                session: None,
                lobby: None,
                lobby_check: setup.check_lobby.then(LobbyCheck::default),
                verified: setup.verified,
                blocked: VecDeque::new(),
                blocked_set: Default::default(),
                present: BTreeMap::new(),
                typing: BTreeMap::new(),
                presence: BTreeMap::new(),
                timer_at: None,
                missing: 0,
                keepers: BTreeSet::new(),
                served: BTreeMap::new(),
                retention: setup.retention,
                retention_at: self.now,
                last_activity_ms: if setup.stored {
                    last_activity
                } else {
                    self.now
                },
            },
        );
        if !setup.left {
            self.join_signaling(id);
        }
        if !setup.stored {
            self.save_room(id);
        }
        self.post_profile(id);
        self.retention_due(id);
        self.changed(id);
        Ok(())
    }

    /// Sets how much of a room's history is held, and applies it.
    fn set_retention(&mut self, id: RoomId, retention: Retention) {
        let Some(r) = self.rooms.get_mut(&id) else {
            return;
        };
        r.retention = retention;
        r.sync
            .set_backfill(self.config.sync.backfill && retention == Retention::All);
        self.retention_due(id);
    }

    /// Tells the driver that the room's retention may drop entries now
    /// ([`Output::RetentionDue`]), unless it keeps everything.
    fn retention_due(&mut self, id: RoomId) {
        let Some(r) = self.rooms.get_mut(&id) else {
            return;
        };
        r.retention_at = self.now;
        if r.retention != Retention::All && !r.ephemeral {
            self.out.push_back(Output::RetentionDue(id));
        }
    }

    /// Drops what the room's retention does not keep ([`crate::retention::plan`]), telling
    /// the driver with [`Output::Prune`] (to execute with the other outputs). Our own chain
    /// is kept whole. The driver calls it on [`Output::RetentionDue`]: a separate call, so a
    /// driver that never keeps a room with a retention (the browser) links none of it.
    pub fn apply_retention(&mut self, id: &RoomId) {
        let (now, me, id) = (self.now, self.me, *id);
        let Some(r) = self.rooms.get_mut(&id) else {
            return;
        };
        if r.retention == Retention::All || r.ephemeral {
            return;
        }
        for (author, through) in crate::retention::plan(r.sync.log(), r.retention, now, &me) {
            let Some(entry) = r.sync.log().get(&author, through).map(|rec| rec.id) else {
                continue;
            };
            r.sync.prune_through(&author, through);
            self.out.push_back(Output::Prune {
                room: id,
                author,
                through,
                id: entry,
            });
        }
    }

    pub(super) fn leave(&mut self, id: RoomId, delete: bool) {
        let Some(r) = self.rooms.get_mut(&id) else {
            return;
        };
        r.session = None;
        let lobby = r.lobby.take();
        let was_joined = !r.left;
        let ephemeral = r.ephemeral;
        if was_joined {
            self.out.push_back(Output::LeaveSignaling(id.to_hex()));
        }
        if let Some(l) = lobby {
            self.lobbies.remove(&l);
            self.out.push_back(Output::LeaveSignaling(l));
        }
        self.close_where(|c| c.room == id);
        if delete || ephemeral {
            self.rooms.remove(&id);
            self.changed.remove(&id);
            if !ephemeral {
                self.out.push_back(Output::DeleteRoom(id));
            }
        } else if let Some(r) = self.rooms.get_mut(&id) {
            r.left = true;
            self.save_room(id);
            self.changed(id);
        }
    }

    pub(super) fn join_signaling(&mut self, id: RoomId) {
        let Some(r) = self.rooms.get_mut(&id) else {
            return;
        };
        self.out.push_back(Output::JoinSignaling(id.to_hex()));
        if let Some(lobby) = r.room.lobby_id() {
            let lobby = lobby.to_hex();
            self.lobbies.insert(lobby.clone(), id);
            r.lobby = Some(lobby.clone());
            self.out.push_back(Output::JoinSignaling(lobby));
        }
    }

    pub(super) fn save_room(&mut self, id: RoomId) {
        if let Some(r) = self.rooms.get(&id).filter(|r| !r.ephemeral) {
            self.out.push_back(Output::SaveRoom(Box::new(r.meta())));
        }
    }

    fn set_name(&mut self, name: String) {
        let name = name.split_whitespace().collect::<Vec<_>>().join(" ");
        if let Err(e) = validate_display_name(&name) {
            self.notice(format!("That name cannot be used: {e}."));
            return;
        }
        if name == self.name {
            return;
        }
        self.name = name.clone();
        self.out.push_back(Output::NameChanged(name));
        let ids: Vec<RoomId> = self.rooms.keys().copied().collect();
        for id in ids {
            self.post_profile(id);
        }
    }

    /// Posts our profile in `id` unless its latest one already carries our name.
    fn post_profile(&mut self, id: RoomId) {
        let Some(r) = self.rooms.get(&id) else { return };
        let current =
            r.sync
                .log()
                .entries_of(&self.me)
                .rev()
                .find_map(|rec| match &rec.entry.body {
                    Body::Profile { display_name } => Some(display_name),
                    _ => None,
                });
        if current == Some(&self.name) {
            return;
        }
        let body = Body::Profile {
            display_name: self.name.clone(),
        };
        self.feed(id, sync::Input::Post(body));
    }

    // ----- the rooms' machines -----

    fn on_tick(&mut self) {
        let now = self.now;
        let late: Vec<(ConnId, bool)> = self
            .conns
            .iter()
            .filter(|(_, c)| c.deadline().is_some_and(|d| d <= now))
            .map(|(k, c)| (*k, matches!(c.state, ConnState::Open { .. })))
            .collect();
        for (conn, open) in late {
            // A peer that cannot be reached is nothing to tell; one that connected and
            // never said who it is, is.
            let notice = if open {
                "A peer did not say who it is in time and was disconnected."
            } else {
                ""
            };
            self.close(conn, notice.into());
        }
        self.reconnect();
        // A setting by age drops entries as time passes, not only as entries arrive.
        let aged: Vec<RoomId> = self
            .rooms
            .iter()
            .filter(|(_, r)| {
                matches!(r.retention, Retention::Days(_))
                    && now.saturating_sub(r.retention_at) >= RETENTION_EVERY_MS
            })
            .map(|(id, _)| *id)
            .collect();
        for id in aged {
            self.retention_due(id);
        }
        let mut due = Vec::new();
        let mut expired = Vec::new();
        for (id, r) in &mut self.rooms {
            let before = r.typing.len();
            r.typing.retain(|_, until| *until > now);
            if r.typing.len() != before {
                expired.push(*id);
            }
            if r.timer_at.is_none_or(|at| at <= now) {
                due.push(*id);
            }
        }
        for id in expired {
            self.changed(id);
        }
        for id in due {
            self.feed(id, sync::Input::Tick);
        }
    }

    /// Connects again to the sessions still in their rooms whose wait is over.
    pub(super) fn reconnect(&mut self) {
        let now = self.now;
        let mut due = Vec::new();
        let connected = self.connected();
        for (id, r) in &self.rooms {
            for (session, retry) in &r.present {
                if retry.at <= now && r.wants_conn(session, &connected) {
                    due.push((*id, session.clone()));
                }
            }
        }
        for (id, session) in due {
            if self.connect(id, session.clone()).is_none() {
                // Full (or left): wait as after a failure.
                let max = self.config.max_retry_ms;
                if let Some(retry) = self
                    .rooms
                    .get_mut(&id)
                    .and_then(|r| r.present.get_mut(&session))
                {
                    retry.at = now.saturating_add(retry.wait);
                    retry.wait = retry.wait.saturating_mul(2).min(max);
                }
            }
        }
    }

    /// Feeds one input to a room's machine and turns its outputs into ours.
    pub(super) fn feed(&mut self, id: RoomId, input: sync::Input) {
        let now = self.now;
        let Some(r) = self.rooms.get_mut(&id) else {
            return;
        };
        let is_post = matches!(input, sync::Input::Post(_));
        if let Err(e) = r.sync.handle(now, input) {
            if is_post {
                self.notice(format!("The message could not be posted: {e}."));
            }
            return;
        }
        while let Some(out) = self.rooms.get_mut(&id).and_then(|r| r.sync.poll_output()) {
            self.on_sync_output(id, out);
        }
    }

    fn on_sync_output(&mut self, id: RoomId, out: sync::Output) {
        let Some(r) = self.rooms.get_mut(&id) else {
            return;
        };
        match out {
            sync::Output::Send { peer, bytes } => self.out.push_back(Output::Send {
                conn: ConnId(peer.0),
                bytes,
            }),
            sync::Output::Store(records) if r.ephemeral => drop(records),
            sync::Output::Store(records) => {
                let own = records.iter().any(|rec| rec.entry.author == self.me);
                self.out.push_back(if own {
                    Output::StoreOwn { room: id, records }
                } else {
                    Output::Store { room: id, records }
                });
                self.retention_due(id);
            }
            sync::Output::ScheduleTimer { at_ms } => r.timer_at = Some(at_ms),
            sync::Output::Disconnect { peer, reason } => {
                let conn = ConnId(peer.0);
                let name = match self.conns.get(&conn).and_then(Conn::verified_key) {
                    Some(key) => self.name_of(Some(&id), key),
                    None => "A peer".into(),
                };
                if let Some(session) = self.conns.get(&conn).map(|c| c.remote_session.clone()) {
                    self.block(id, session);
                }
                self.close(
                    conn,
                    format!(
                        "{name} sent data that failed verification ({reason}) and was disconnected."
                    ),
                );
            }
            sync::Output::Event(ev) => self.on_event(id, ev),
        }
    }

    fn on_event(&mut self, id: RoomId, ev: Event) {
        let now = self.now;
        let me = self.me;
        let Some(r) = self.rooms.get_mut(&id) else {
            return;
        };
        match ev {
            Event::Entries { ids, from } => {
                let log = r.sync.log();
                let keeper = from
                    .and_then(|p| self.conns.get(&ConnId(p.0)))
                    .and_then(Conn::verified_key)
                    .filter(|k| log.is_keeper(k));
                if let Some(k) = keeper {
                    r.served.extend(ids.iter().map(|e| (*e, *k)));
                }
                let mut count = 0u32;
                let mut latest_wall = 0;
                let mut newest = None;
                for e in &ids {
                    if let Some(rec) = log.get_by_id(e) {
                        latest_wall = latest_wall.max(rec.entry.wall_ms);
                        if rec.entry.author != me {
                            if let Body::Text { text, .. } = &rec.entry.body {
                                count += 1;
                                newest = Some((rec.entry.author, text.clone()));
                            }
                        }
                    }
                }
                // Peers choose wall_ms: a future time must not pin the room to the top.
                r.last_activity_ms = r.last_activity_ms.max(latest_wall.min(now));
                self.changed.entry(id).or_default().extend(ids);
                if let Some((author, text)) = newest {
                    let name = self.name_of(Some(&id), &author);
                    self.out.push_back(Output::Incoming {
                        room: id,
                        count,
                        latest: (name, text),
                    });
                }
            }
            Event::Equivocation {
                author,
                first,
                second,
            } => {
                if !r.ephemeral {
                    self.out.push_back(Output::SaveEvidence {
                        room: id,
                        first,
                        second,
                    });
                }
                let name = self.name_of(Some(&id), &author);
                self.notice(format!(
                    "{name} signed two different versions of one message; their later messages \
                     are not accepted."
                ));
                self.changed(id);
            }
            Event::Typing { peer, active } => {
                let Some(key) = self.conns.get(&ConnId(peer.0)).and_then(Conn::verified_key) else {
                    return;
                };
                let shown = if active {
                    r.typing.insert(*key, now + TYPING_TTL_MS).is_none()
                } else {
                    r.typing.remove(key).is_some()
                };
                if shown {
                    self.changed(id);
                }
            }
            Event::Presence { peer, state } => {
                let Some(key) = self.conns.get(&ConnId(peer.0)).and_then(Conn::verified_key) else {
                    return;
                };
                if r.presence.insert(*key, state).unwrap_or(Presence::Online) != state {
                    self.changed(id);
                }
            }
            Event::SyncProgress { missing } => {
                if std::mem::replace(&mut r.missing, missing) != missing {
                    self.changed(id);
                }
            }
            // Reported as `Disconnect` outputs, a hello again after verification, a goodbye
            // (the close follows).
            Event::PeerMisbehaved { .. } | Event::Hello { .. } | Event::Bye { .. } => {}
        }
    }

    // ----- outputs -----

    pub(super) fn notice(&mut self, text: String) {
        self.out
            .push_back(Output::Notice(shorten(&text, MAX_NOTICE_CHARS)));
    }

    pub(super) fn changed(&mut self, id: RoomId) {
        self.changed.entry(id).or_default();
    }

    /// Marks the peers of every changed room whose keeper set changed as of low priority
    /// exactly when the room names them keepers.
    fn update_keepers(&mut self) {
        let rooms: Vec<RoomId> = self.changed.keys().copied().collect();
        for id in rooms {
            let Some(r) = self.rooms.get_mut(&id) else {
                continue;
            };
            let now: BTreeSet<PublicKey> = r.sync.log().keepers().copied().collect();
            if now == r.keepers {
                continue;
            }
            r.keepers = now.clone();
            let peers: Vec<(ConnId, bool)> = self
                .conns_in(id)
                .filter_map(|(conn, c)| Some((conn, now.contains(c.verified_key()?))))
                .collect();
            for (conn, low) in peers {
                self.feed(
                    id,
                    sync::Input::SetLowPriority {
                        peer: conn.peer(),
                        low,
                    },
                );
            }
        }
    }

    fn flush_changes(&mut self) {
        for (room, new) in std::mem::take(&mut self.changed) {
            if self.rooms.contains_key(&room) {
                self.out.push_back(Output::RoomChanged { room, new });
            }
        }
    }

    /// The (room, remote session) of every connection.
    pub(super) fn connected(&self) -> BTreeSet<(RoomId, &str)> {
        self.conns
            .values()
            .map(|c| (c.room, c.remote_session.as_str()))
            .collect()
    }

    fn schedule(&mut self) {
        let conns = self.conns.values().filter_map(Conn::deadline);
        let typing = self.rooms.values().flat_map(|r| r.typing.values().copied());
        let rooms = self.rooms.values().filter_map(|r| r.timer_at);
        let connected = self.connected();
        let retries = self.rooms.values().flat_map(|r| {
            r.present
                .iter()
                .filter(|(s, _)| r.wants_conn(s, &connected))
                .map(|(_, retry)| retry.at.max(self.now))
        });
        let next = conns
            .chain(typing)
            .chain(rooms)
            .chain(retries)
            .chain(self.files_deadline())
            .min();
        if next.is_some() && next != self.timer_at {
            self.timer_at = next;
            if let Some(at) = next {
                self.out.push_back(Output::ScheduleTimer(at));
            }
        }
    }
}

/// The latest wall time of any entry held.
fn latest_wall(log: &crate::log::RoomLog) -> u64 {
    log.authors()
        .flat_map(|a| log.entries_of(a).map(|r| r.entry.wall_ms))
        .max()
        .unwrap_or(0)
}

/// Our reaction `emoji` to `target` among our own entries, unless we deleted it since.
fn live_reaction(log: &RoomLog, me: &PublicKey, target: EntryId, emoji: &str) -> Option<EntryId> {
    let reaction = log.entries_of(me).rev().find(|r| {
        matches!(&r.entry.body, Body::Reaction { target: t, emoji: e } if *t == target && e == emoji)
    })?;
    let deleted = log
        .entries_of(me)
        .any(|r| matches!(r.entry.body, Body::Delete { target: t } if t == reaction.id));
    (!deleted).then_some(reaction.id)
}
