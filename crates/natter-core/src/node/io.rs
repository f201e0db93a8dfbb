//! What the driver tells a [`super::Node`] and what the node asks of it.

use std::collections::BTreeSet;

use crate::blob::{Proof, Root};
use crate::fetch::Availability;
use crate::identity::PublicKey;
use crate::log::{Body, EntryId, Record};
use crate::peer_signal::PeerSignal;
use crate::retention::Retention;
use crate::room::{Room, RoomId};
use crate::sync::SyncError;

use super::{ConnId, Link};

/// A room to add, new or as stored.
#[derive(Debug)]
pub struct RoomSetup {
    /// The room.
    pub room: Room,
    /// Kept in memory only.
    pub ephemeral: bool,
    /// The stored history (empty for a new room).
    pub history: Vec<Record>,
    /// Stored equivocation evidence.
    pub evidence: Vec<(Record, Record)>,
    /// Keys the user verified in this room.
    pub verified: BTreeSet<PublicKey>,
    /// The user left it: kept, not joined.
    pub left: bool,
    /// When something last happened in it.
    pub last_activity_ms: u64,
    /// Watch the lobby's head counts for a hint that the password may be wrong.
    pub check_lobby: bool,
    /// Loaded from storage (no save needed).
    pub stored: bool,
    /// How much of its history to hold ([`Retention::All`] but at a keeper).
    pub retention: Retention,
    /// Floors stored by [`Output::Prune`]: per author, the seq and id of the last entry
    /// dropped.
    pub floors: Vec<(PublicKey, u64, EntryId)>,
}

impl RoomSetup {
    /// A room the user just created or joined.
    pub fn new(room: Room, ephemeral: bool) -> RoomSetup {
        let check_lobby = room.has_password();
        RoomSetup {
            room,
            ephemeral,
            history: Vec::new(),
            evidence: Vec::new(),
            verified: BTreeSet::new(),
            left: false,
            last_activity_ms: 0,
            check_lobby,
            stored: false,
            retention: Retention::All,
            floors: Vec::new(),
        }
    }
}

/// What the driver tells the node.
#[derive(Debug)]
pub enum Input {
    /// Add a room (or rejoin it if it is here and was left).
    AddRoom(Box<RoomSetup>),
    /// The user reopened a room it had left.
    Rejoin(RoomId),
    /// How much of a room's history to hold from now on (a keeper's room).
    SetRetention {
        /// The room.
        room: RoomId,
        /// The setting.
        retention: Retention,
    },
    /// The user left a room: it is kept, not joined (an ephemeral room is gone).
    Leave(RoomId),
    /// The user deleted a room and its history.
    Delete(RoomId),
    /// The password of `old` was entered again and opens `room`: `old` is deleted if
    /// nothing but our profile was ever written there, and `room` is added.
    Repassword {
        /// The room the earlier password made.
        old: RoomId,
        /// The room the new password makes.
        room: Box<Room>,
    },
    /// The user posts in a room.
    Post {
        /// The room.
        room: RoomId,
        /// What.
        body: Body,
    },
    /// The user reacts; the same emoji again takes the reaction back.
    React {
        /// The room.
        room: RoomId,
        /// The message.
        target: EntryId,
        /// The emoji.
        emoji: String,
    },
    /// The user's display name.
    SetName(String),
    /// The user started or stopped typing.
    Typing {
        /// The room.
        room: RoomId,
        /// Whether typing.
        active: bool,
    },
    /// The page is visible (online) or hidden (away).
    Visible(bool),
    /// The user compared safety numbers with `key` in `room`.
    MarkVerified {
        /// The room.
        room: RoomId,
        /// The key.
        key: PublicKey,
    },
    /// The signaling connection was lost: sessions are void.
    SignalingLost,
    /// The server joined us to `room` (a room's or a lobby's id, hex).
    Joined {
        /// The room or lobby.
        room: String,
        /// Our session there.
        session: String,
        /// The sessions already there.
        peers: Vec<String>,
    },
    /// A session joined `room`.
    PeerJoined {
        /// The room or lobby.
        room: String,
        /// The session.
        session: String,
    },
    /// A session left `room`.
    PeerLeft {
        /// The room or lobby.
        room: String,
        /// The session.
        session: String,
    },
    /// A sealed signal from session `from` in `room`.
    Blob {
        /// The room.
        room: String,
        /// The sender's session.
        from: String,
        /// The sealed text.
        blob: String,
    },
    /// A connection has something for its peer (SDP, ICE): to be sealed and relayed.
    LocalSignal {
        /// The connection.
        conn: ConnId,
        /// The signal.
        signal: PeerSignal,
    },
    /// A connection's channel opened with these DTLS fingerprints.
    ChannelOpen {
        /// The connection.
        conn: ConnId,
        /// Ours.
        local_fingerprint: String,
        /// The peer's.
        remote_fingerprint: String,
    },
    /// Entry signatures in the next frame from `conn` that the driver has already checked
    /// (e.g. with WebCrypto); they are not checked again.
    Checked {
        /// The connection.
        conn: ConnId,
        /// The entries whose signatures passed.
        ids: Vec<EntryId>,
    },
    /// A frame arrived on a connection.
    Frame {
        /// The connection.
        conn: ConnId,
        /// The bytes.
        bytes: Vec<u8>,
    },
    /// The link's state changed.
    Link {
        /// The connection.
        conn: ConnId,
        /// Its state.
        link: Link,
    },
    /// What was sent on the connection has (nearly) left the driver's buffers.
    Drained(ConnId),
    /// The connection closed (or could not be made).
    Closed(ConnId),
    /// A frame arrived on a connection's files channel.
    FileFrame {
        /// The connection.
        conn: ConnId,
        /// The bytes.
        bytes: Vec<u8>,
        /// For a chunk, its [`crate::blob::leaf_hash`] if the driver computed it (over
        /// [`crate::blobwire::chunk_span`]); `None`: the node hashes it.
        leaf: Option<[u8; 32]>,
    },
    /// The files channel's buffer is at or below its low mark (report it when the buffer
    /// falls to it, and after a send that leaves it there).
    FileDrained(ConnId),
    /// The answer to [`Output::ReadChunk`]: the chunk and its proof, or `None` if it is not
    /// stored.
    ChunkRead {
        /// The connection that asked.
        conn: ConnId,
        /// The file.
        root: Root,
        /// The chunk.
        index: u64,
        /// Its proof and bytes.
        chunk: Option<(Proof, Vec<u8>)>,
        /// The chunk's [`crate::blob::leaf_hash`] if the driver computed it; `None`: the
        /// node hashes it.
        leaf: Option<[u8; 32]>,
    },
    /// What the driver stores of a file (at start, and once it stored a file of ours).
    Holding {
        /// The file.
        root: Root,
        /// Its length.
        len: u64,
        /// The chunks stored.
        has: Availability,
    },
    /// Pull (or resume pulling) a file a `File` entry of the room names.
    Fetch {
        /// The room.
        room: RoomId,
        /// The file.
        root: Root,
    },
    /// Stop pulling a file; what is stored stays.
    Pause(Root),
    /// The driver deleted what it stored of a file.
    Forget(Root),
    /// A timer fired (any time is harmless).
    Tick,
}

/// A room as stored: what [`Output::SaveRoom`] carries.
#[derive(Debug, Clone)]
pub struct RoomMeta {
    /// The room.
    pub room: Room,
    /// Left by the user.
    pub left: bool,
    /// Last activity.
    pub last_activity_ms: u64,
}

/// What the driver must do, in order.
#[derive(Debug)]
pub enum Output {
    /// Join `room` (a room's or a lobby's id, hex) on the signaling server.
    JoinSignaling(String),
    /// Leave it.
    LeaveSignaling(String),
    /// Relay a sealed signal to session `to` in `room`.
    Signal {
        /// The room (hex).
        room: String,
        /// The session.
        to: String,
        /// The sealed text.
        blob: String,
    },
    /// Open a connection (then report its signals, opening, frames and closing).
    OpenConn {
        /// Its name.
        conn: ConnId,
        /// Whether this side yields when offers collide.
        polite: bool,
    },
    /// Apply the peer's signal to a connection.
    ApplySignal {
        /// The connection.
        conn: ConnId,
        /// The signal.
        signal: PeerSignal,
    },
    /// Close a connection; no [`Input::Closed`] is needed for it.
    CloseConn(ConnId),
    /// Send a frame.
    Send {
        /// The connection.
        conn: ConnId,
        /// The frame.
        bytes: Vec<u8>,
    },
    /// Store our own new entries, and finish before executing anything later.
    StoreOwn {
        /// The room.
        room: RoomId,
        /// The entries.
        records: Vec<Record>,
    },
    /// Store others' entries (may be written behind).
    Store {
        /// The room.
        room: RoomId,
        /// The entries.
        records: Vec<Record>,
    },
    /// The room's retention may drop entries now: call [`super::Node::apply_retention`] (it
    /// queues [`Output::Prune`]s). Only for rooms added with a retention other than all.
    RetentionDue(RoomId),
    /// Delete `author`'s stored entries of `room` up to and including `through`, and store
    /// `(through, id)` as the author's floor, for [`RoomSetup::floors`] at the next start
    /// (the room's retention dropped them; see [`crate::retention`]).
    Prune {
        /// The room.
        room: RoomId,
        /// The author.
        author: PublicKey,
        /// The last seq dropped.
        through: u64,
        /// The id of that entry.
        id: EntryId,
    },
    /// Store the room's record.
    SaveRoom(Box<RoomMeta>),
    /// Delete the room and everything stored of it.
    DeleteRoom(RoomId),
    /// Remember that the user verified `key` in `room`.
    SavePeer {
        /// The room.
        room: RoomId,
        /// The key.
        key: PublicKey,
    },
    /// Keep proof that an author equivocated (one piece per author).
    SaveEvidence {
        /// The room.
        room: RoomId,
        /// The entry held.
        first: Box<Record>,
        /// The conflicting one.
        second: Box<Record>,
    },
    /// Our display name changed (store it).
    NameChanged(String),
    /// Tell the user.
    Notice(String),
    /// Others wrote text messages in `room`.
    Incoming {
        /// The room.
        room: RoomId,
        /// How many.
        count: u32,
        /// The newest: its author's name and text.
        latest: (String, String),
    },
    /// What is shown of `room` changed; `new` are entries accepted since the last report.
    RoomChanged {
        /// The room.
        room: RoomId,
        /// New entries, in the order accepted.
        new: Vec<EntryId>,
    },
    /// Handle [`Input::Tick`] at this time.
    ScheduleTimer(u64),
    /// Send a frame on the connection's files channel.
    SendFileFrame {
        /// The connection.
        conn: ConnId,
        /// The frame.
        bytes: Vec<u8>,
    },
    /// Read a stored chunk and its proof, and answer with [`Input::ChunkRead`].
    ReadChunk {
        /// Who asked.
        conn: ConnId,
        /// The file.
        root: Root,
        /// The chunk.
        index: u64,
    },
    /// Store a verified chunk and its proof (in memory only for an ephemeral room).
    StoreChunk {
        /// The room it was fetched for.
        room: RoomId,
        /// The file.
        root: Root,
        /// The file's length.
        len: u64,
        /// The chunk.
        index: u64,
        /// Its proof.
        proof: Proof,
        /// Its bytes.
        bytes: Vec<u8>,
    },
    /// How much of a file being fetched is stored (`have == total`: all of it).
    FileProgress {
        /// The room.
        room: RoomId,
        /// The file.
        root: Root,
        /// Chunks stored.
        have: u64,
        /// Chunks in the file.
        total: u64,
    },
}

/// Why a local action failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NodeError {
    /// The room is not here.
    #[error("That room is no longer on this device")]
    NoRoom,
    /// No `File` entry of the room names that file.
    #[error("That file is not in this room")]
    NoFile,
    /// Too many files are being downloaded.
    #[error("Too many files are downloading; pause one and try again")]
    TooManyFetches,
    /// The room's stored history could not be loaded.
    #[error("The history of a room on this device is damaged: {0}")]
    Load(SyncError),
}
