//! The per-room sync state machine.
//!
//! # What
//!
//! [`RoomSync`] holds one room's verified log ([`RoomLog`]) and talks to the room's
//! connected peers in [`crate::wire`] frames. It is sans-IO in the manner of str0m and
//! quinn-proto: the driver feeds [`Input`]s to [`RoomSync::handle`] together with the current
//! time, then drains [`Output`]s with [`RoomSync::poll_output`] and executes them (send bytes,
//! persist entries, show events, arm a timer, close a connection). Nothing here reads a
//! clock, draws randomness or blocks.
//!
//! # Protocol
//!
//! Each author's log is a hash chain, so "what I hold of author A" is fully described by
//! A's head: `(seq, id of entry seq)` (and, for a chain that does not reach down to entry 1,
//! where it starts: step 7). The set of heads is a version vector, the *summary*.
//!
//! 1. **Connect.** When a connection opens, both sides send their summary (split over as
//!    many `Summary` frames as needed; each is meaningful alone) and any equivocation
//!    evidence they hold.
//! 2. **Pull.** On a summary, for every author whose advertised seq exceeds ours, the
//!    receiver sends one `Want {author, from_seq: ours + 1, to_seq: theirs}`: all the
//!    ranges in as few frames as fit. A range already requested from another peer and not
//!    timed out is not requested twice. If the advertised seq is at most ours but its head
//!    id differs from our entry at that seq, the single entry is wanted: it proves a fork.
//! 3. **Serve.** On a want, the holder answers with `Entries` frames, packed up to 64 KiB
//!    each and sent back to back, so a catch-up of any size costs one round trip after the
//!    summaries, and the bytes on the wire are the entries plus 4 bytes each and 6 per frame.
//!    Wanted ranges are queued per peer and served [`SyncConfig::serve_window_bytes`] at a
//!    time: the driver reports [`Input::Drained`] when what it was handed for the peer has
//!    (nearly) left its buffers, and the next window follows. A range already queued for
//!    the peer, or sent to it within half a want timeout, is not queued again.
//! 4. **Push and relay.** A new local entry is pushed at once to every connected peer.
//!    Entries accepted from one peer are relayed to every other peer not known to hold them
//!    (gossip), so history flows through intermediaries. With [`Relay::Lazy`] (the default,
//!    PlumTree's lazy push) the relay is an announcement: a `Summary` frame of the new heads,
//!    which a peer lacking them answers with a want (step 2); with [`Relay::Eager`] the
//!    entries themselves are pushed. Per peer we track the highest seq per author it is
//!    known to hold (from its summaries, its entries and what we sent it) and never push
//!    or announce to it an entry at or below that.
//! 5. **Repair.** Every [`SyncConfig::summary_interval_ms`] the summary is sent again, which
//!    recovers anything lost (dropped frames, a push to a peer lacking predecessors, a
//!    want whose peer left). A received entry whose predecessor is missing is held in a
//!    bounded pending set (already verified) and the gap is wanted from the sender; it is
//!    stored only once the chain up to it is held.
//! 6. **Low priority.** The driver may mark a connected peer as of low priority
//!    ([`Input::SetLowPriority`]; the node marks the room's keepers, see [`crate::node`]).
//!    A keeper is always online and holds everything, so without this every member's
//!    catch-up would be served from it and its uplink. While at least one normal peer is
//!    connected, the wants a low-priority peer's summary calls for wait
//!    [`SyncConfig::low_priority_delay_ms`] (1.5 s; gathered per author, and later summaries
//!    do not push the time back); then only what is still missing and not wanted from
//!    anyone else is wanted from it. With no normal peer connected, or once the last one
//!    leaves, its offers are wanted at once, as anyone's. A fork proof (step 2) and the gap
//!    before an entry it sent are wanted from it at once.
//! 7. **Floors and backfill.** A peer may hold an author's chain only from some seq up (a
//!    keeper that prunes, or a peer that fetched from one; see "Runs and floors" in
//!    `crate::log`). After a summary it sends a `Floors` frame naming, for the authors in
//!    that summary, where its top run starts less one (`base`), and a base of 0 once for
//!    an author whose chain it holds whole again; wants to it start above that. An entry whose predecessor we lack starts a run here only if its sender
//!    declared exactly that floor, or it is the first entry of a backfill we asked for;
//!    otherwise it waits pending as in step 5. With [`SyncConfig::backfill`] (on, except at
//!    a pruning keeper), the gap below an author's top run is wanted from a peer whose
//!    head reaches the run and whose own floor is lower, [`BACKFILL_CHUNK`] entries at a
//!    time, newest first slice by slice, until older runs we hold are reached. Entries
//!    below our top run that nobody asked for are dropped. Every entry is signed by its
//!    author, so a floor, honest or not, can hide entries only until a peer that holds them
//!    is online; it cannot change or forge one.
//!
//! # Verification and blame
//!
//! Every entry is decoded strictly and checked (room, signature, bounds) before anything
//! from its frame is applied; an entry already held (same id) is not verified again.
//! Signatures are checked one by one with strict Ed25519 verification: batch verification
//! is about twice as fast but can accept signatures that single verification rejects
//! (small-order components), and peers that disagreed on validity would diverge.
//!
//! **Vouching.** An entry whose successor (same author, next seq) is in the same frame and
//! names it by `prev_hash` is *vouched for*: its own signature equation is not checked, and
//! everything else still is (room, bounds, the strict encodings of `A`, `R` and `s`). The
//! successor's signature covers `prev_hash`, the SHA-256 of the vouched entry's bytes, so the
//! author signed it as surely as if its own signature had been checked; and since a frame is
//! refused whole if any entry fails, the top of each run, checked itself, vouches for the
//! run below it. A catch-up of one author's chain costs one signature check per frame.
//!
//! An author can still link a valid successor to an entry whose own signature is wrong.
//! A peer that received the two together holds both; one handed the lower one alone would
//! check it and refuse it. So every entry a sender puts in a frame without the successor
//! that names it (the top of each run in the frame) is one whose own signature verifies:
//! one that does not goes in the next frame with its successor, or is not sent at all when
//! no successor follows, and a frame's worth with no such place to end is not sent.
//! Evidence is made only of entries whose own signatures verify (the entry that vouched
//! for a held one proves the same fork). A receiver therefore never blames an honest
//! sender for what an author got wrong.
//!
//! A peer whose frame is malformed or oversized, or carries an entry with a bad signature
//! (one not vouched for), another room's id, or a chain broken *within the frame* (an
//! honest peer only ever holds unbroken chains), is disconnected and reported, and nothing
//! from that frame is kept.
//!
//! A validly signed entry that conflicts with a held one (same `(author, seq)`, different id,
//! or a `prev_hash` that is not our held predecessor) is the author's fault, not the
//! relaying peer's: the author is flagged ([`Event::Equivocation`]), the first entry is
//! kept, none of the author's later entries are accepted, and the two entries are sent as
//! `Evidence` to every peer so all honest peers flag the author too: at once, to every peer
//! that connects later, and again to a peer whose summary still names the author (it
//! missed the evidence; a frame can be lost, and summaries leave flagged authors out).
//!
//! # Bounds on what a peer chooses
//!
//! A room member holds the invite, so everything below may be hostile. Each bound is a quiet
//! drop (the peer stays connected: none of it is proof of malice) and loses nothing an
//! honest peer would not send again.
//!
//! | quantity | bound | why |
//! |---|---|---|
//! | bytes served to one peer before it drains | [`SyncConfig::serve_window_bytes`] (1 MiB) | a want of the whole history, repeated, costs one window of buffer, never the history per repeat |
//! | wanted ranges waiting per peer | [`MAX_SERVE_QUEUE`] | each is 48 bytes; the peer wants again after its timeout |
//! | the same entry served to one peer | once while queued, then once per half want timeout | an honest peer only wants again after its timeout |
//! | pending entries | [`SyncConfig::max_pending`] entries and [`SyncConfig::max_pending_bytes`] bytes, each kept at most [`SyncConfig::pending_ttl_ms`], dropped with the peer that sent them | a chain that never completes holds no memory for long; a dropped entry is wanted again once its predecessors are held |
//! | authors one peer names that we hold nothing of | [`MAX_UNHELD_AUTHORS_PER_PEER`] | made-up authors cannot grow `known`, the wants in flight or the missing count without bound |
//! | wants held back for a low-priority peer | one per author its summaries name, and [`SyncConfig::low_priority_delay_ms`] long | the authors are those of its `known` claims |
//! | claims a peer does not serve | forgotten at the want's timeout, and with the peer when it leaves | no fake "missing" count outlives the want or the peer |
//! | heads in a periodic summary | those the peer lacks plus [`SUMMARY_SLICE`] | many authors do not make every repair round cost a full version vector |
//! | floors one peer declares | one per author in its `known` (named by its summaries) | a `Floors` frame naming other authors is ignored |
//! | a backfill want | [`BACKFILL_CHUNK`] entries, one in flight per author, timed out as wants are | the slice is verified entry by entry as it links to what we hold |
//! | evidence sent again to a peer whose summary still names a flagged author | once per author per [`SyncConfig::summary_interval_ms`] | a summary of flagged authors cannot make us send evidence at its own rate |
//! | numbers in frames (seqs, Lamport times, counts) | saturating arithmetic | a peer's `u64::MAX` cannot overflow a sum |
//! | decompressed author keys cached | [`MAX_CACHED_KEYS`] | verification cost per author is paid once |
//! | entries remembered as verifying alone | [`MAX_SOUND_REMEMBERED`] | an entry relayed or served soon after it arrived is not checked again |
//!
//! Frames themselves are bounded by [`crate::wire`] (64 KiB, counts checked before
//! allocation) and entries by [`crate::log`].
//!
//! # Persistence and ephemeral rooms
//!
//! [`Output::Store`] carries newly accepted entries, in chain order per author, and is
//! queued before the [`Event::Entries`] that announces them, so a driver that executes
//! outputs in order persists before it shows. Each [`Event::Entries`] names the peer that
//! delivered its entries (`None` for our own posts), so the driver can tell who served
//! what; [`RoomSync::load`] announces nothing. At startup the driver rebuilds the machine
//! with [`RoomSync::load`] from what it stored (and the equivocation evidence it stored).
//! An ephemeral room runs the same machine and the driver simply does not execute `Store`:
//! the history then lives in memory only and is gone when the machine is dropped.
//!
//! # Transient frames and the handshake
//!
//! `Typing` and `Presence` are forwarded as events and never stored. `Hello` frames are
//! handed to the driver as [`Event::Hello`]: verifying them needs the connection's DTLS
//! fingerprints and session ids, which only the driver knows (`crate::hello`).
//!
//! # Example: two peers syncing
//!
//! ```
//! use natter_core::identity::Identity;
//! use natter_core::log::Body;
//! use natter_core::room::RoomId;
//! use natter_core::sync::{Input, Output, PeerId, RoomSync, SyncConfig};
//!
//! let room = RoomId([1; 32]);
//! let mut alice = RoomSync::new(room, Identity::from_secret_bytes(&[2; 32]), SyncConfig::default());
//! let mut bob = RoomSync::new(room, Identity::from_secret_bytes(&[3; 32]), SyncConfig::default());
//! for i in 0..3 {
//!     alice.handle(1_000, Input::Post(Body::Text { text: format!("hi {i}"), reply_to: None }))?;
//! }
//! alice.drain_outputs(); // alice's driver would store these; nobody is connected yet
//!
//! // The connection opens: each side learns of the other (alice is peer 1 for bob, bob peer 2 for alice).
//! alice.handle(2_000, Input::PeerConnected(PeerId(2)))?;
//! bob.handle(2_000, Input::PeerConnected(PeerId(1)))?;
//!
//! // Shuttle frames until both are quiet.
//! loop {
//!     let mut moved = false;
//!     for out in alice.drain_outputs() {
//!         if let Output::Send { bytes, .. } = out {
//!             bob.handle(2_010, Input::Frame { peer: PeerId(1), bytes })?;
//!             moved = true;
//!         }
//!     }
//!     for out in bob.drain_outputs() {
//!         if let Output::Send { bytes, .. } = out {
//!             alice.handle(2_020, Input::Frame { peer: PeerId(2), bytes })?;
//!             moved = true;
//!         }
//!     }
//!     if !moved { break; }
//! }
//! assert_eq!(bob.log().len(), 3);
//! assert_eq!(bob.view().messages[2].text, "hi 2");
//! # Ok::<(), natter_core::sync::SyncError>(())
//! ```

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};

use rangemap::RangeInclusiveMap;

use crate::identity::{Identity, PublicKey};
use crate::log::{
    Append, Body, Draft, Entry, EntryId, LogError, Record, RoomLog, RoomView, SignatureCheck,
};
use crate::room::RoomId;
use crate::wire::{self, Floor, Frame, Head, Presence, WantRange, WireError};

/// Orders records by author, then sequence number: each author's chain from its start.
/// (One function for every such sort, so the browser build holds one copy of the sort.)
fn chain_order(a: &Record, b: &Record) -> std::cmp::Ordering {
    (a.entry.author, a.entry.seq).cmp(&(b.entry.author, b.entry.seq))
}

/// Most authors one peer may make us track that we hold nothing of. A summary naming more
/// made-up (or not yet fetched) authors has the excess ignored until some of them are
/// fetched; the next periodic summary names them again. Bounds what one peer's summaries
/// cost in memory (`known`, wants in flight, the missing count) to about 200 KiB.
pub const MAX_UNHELD_AUTHORS_PER_PEER: usize = 4_096;
/// Heads a periodic summary carries besides those the peer is not known to hold: a slice
/// that rotates through our authors, so a room of many authors costs each peer at most this
/// many heads (18 KiB) per interval while every head is still repeated now and then.
pub const SUMMARY_SLICE: usize = 256;
/// Want ranges one peer may have waiting to be served; more are dropped (an honest peer
/// wants again after its timeout). Ranges are small, so this bounds the queue to ~200 KiB.
pub const MAX_SERVE_QUEUE: usize = 4_096;
/// Most entries one backfill want asks for (older history below the top run, see the
/// module doc): what it adds to the log comes in slices of this many.
pub const BACKFILL_CHUNK: u64 = 4_096;
/// Authors' decompressed keys kept for verifying (about 230 bytes each, 15 MiB at most).
pub const MAX_CACHED_KEYS: usize = 65_536;
/// Entries remembered as verifying on their own, newest kept (about 300 KiB at most): enough
/// for what a room relays and serves soon after it arrives.
pub const MAX_SOUND_REMEMBERED: usize = 4_096;

/// The driver's name for one connection to a peer (e.g. an index of its DataChannels).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PeerId(pub u64);

/// Tunables.
#[derive(Debug, Clone)]
pub struct SyncConfig {
    /// How often the summary is re-sent to every peer (repair).
    pub summary_interval_ms: u64,
    /// How long a want stays outstanding before the range may be asked of another peer.
    pub want_timeout_ms: u64,
    /// Most entries held pending (verified, predecessor missing).
    pub max_pending: usize,
    /// Most bytes of entries held pending. Entries past the budget are dropped and wanted
    /// again once their predecessors are held.
    pub max_pending_bytes: usize,
    /// How long a pending entry waits for its chain before it is dropped.
    pub pending_ttl_ms: u64,
    /// Bytes of served entries handed to the driver for one peer before the machine waits
    /// for [`Input::Drained`]: what one peer's wants can make us buffer.
    pub serve_window_bytes: usize,
    /// How entries accepted from one peer travel on to the others.
    pub relay: Relay,
    /// With [`Relay::Lazy`], how long announcements are gathered before they are sent, so a
    /// burst of accepted entries costs one announcement per peer (0: announce at once).
    pub announce_delay_ms: u64,
    /// How long wants a low-priority peer's summary calls for wait while a normal peer is
    /// connected ([`Input::SetLowPriority`]): what a normal peer offers in that time is
    /// taken from it instead.
    pub low_priority_delay_ms: u64,
    /// Whether older history missing below an author's top run is wanted (backfill). A
    /// peer that prunes what it holds (a keeper with a retention setting) turns it off.
    pub backfill: bool,
}

/// How entries received from one peer are passed on to the others (own new entries are
/// always pushed in full at once).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Relay {
    /// Push the entries themselves to every other peer not known to hold them. Fastest
    /// (one hop per link), but in a mesh each peer receives each entry once per neighbour.
    Eager,
    /// Announce the new heads in a `Summary` frame (PlumTree's lazy push, "IHAVE"); a peer
    /// that lacks them wants them from the first announcer (a want already in flight is
    /// not repeated). One extra round trip per relay hop; each entry crosses to each peer
    /// about once, and duplicates cost only 72-byte heads.
    Lazy,
}

impl Default for SyncConfig {
    fn default() -> Self {
        SyncConfig {
            summary_interval_ms: 10_000,
            want_timeout_ms: 15_000,
            max_pending: 10_000,
            max_pending_bytes: 4 << 20,
            pending_ttl_ms: 60_000,
            serve_window_bytes: 1 << 20,
            relay: Relay::Lazy,
            announce_delay_ms: 50,
            low_priority_delay_ms: 1_500,
            backfill: true,
        }
    }
}

/// What the driver tells the machine.
#[derive(Debug, Clone)]
pub enum Input {
    /// A connection to a peer opened.
    PeerConnected(PeerId),
    /// A connection closed (for any reason, including an [`Output::Disconnect`]).
    PeerDisconnected(PeerId),
    /// A frame arrived from a peer.
    Frame {
        /// From whom.
        peer: PeerId,
        /// The frame's bytes.
        bytes: Vec<u8>,
    },
    /// The local user posts a new entry (signed with the room identity).
    Post(Body),
    /// The local user started or stopped typing (sent to every peer, not stored).
    Typing(bool),
    /// The local user's presence changed (sent to every peer, not stored).
    Presence(Presence),
    /// A timer armed with [`Output::ScheduleTimer`] fired (or any time: ticks are idempotent).
    Tick,
    /// What was sent to this peer has (nearly) left the driver's buffers: the machine may
    /// serve it another [`SyncConfig::serve_window_bytes`] of wanted entries.
    Drained(PeerId),
    /// A connected peer is of low priority (a keeper), or no longer: history is taken from
    /// it only when no normal peer offers it (see the module doc). Peers start normal.
    SetLowPriority {
        /// The peer.
        peer: PeerId,
        /// Low priority.
        low: bool,
    },
}

/// Why a peer was disconnected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Misbehaviour {
    /// The frame did not decode (garbage, oversized, unknown version, bad entry encoding).
    #[error("malformed frame: {0}")]
    Malformed(WireError),
    /// An entry failed verification (bad signature, wrong room, invalid author key).
    #[error("invalid entry: {0}")]
    InvalidEntry(LogError),
    /// Entries in one frame contradict each other (a broken chain).
    #[error("entries in one frame break their chain")]
    BrokenChain,
    /// Evidence frame that proves nothing.
    #[error("evidence that proves no equivocation")]
    BadEvidence,
}

/// Something for the UI or the driver to know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// Newly accepted entries (own posts included), already queued for storage. Read them
    /// with [`RoomSync::log`] or rebuild the view.
    Entries {
        /// The entries, in the order accepted.
        ids: Vec<EntryId>,
        /// The peer that delivered them: the one whose frame carried them (for an entry
        /// held pending until its gap filled, the peer that sent that entry, not the one
        /// that filled the gap). `None` for our own posts. Entries of one frame delivered
        /// by different peers come as one event per peer.
        from: Option<PeerId>,
    },
    /// A peer sent something invalid and was disconnected.
    PeerMisbehaved {
        /// The peer.
        peer: PeerId,
        /// What it did.
        reason: Misbehaviour,
    },
    /// An author signed two different entries for one position in its log; `first` is
    /// kept, the author is flagged. The driver should persist `first` and `second` and pass
    /// them to [`RoomSync::load`] at the next start.
    Equivocation {
        /// The author.
        author: PublicKey,
        /// The entry held (or the first of the proof).
        first: Box<Record>,
        /// The conflicting entry.
        second: Box<Record>,
    },
    /// A peer sent its handshake; the driver verifies it (`crate::hello`).
    Hello {
        /// The peer.
        peer: PeerId,
        /// The handshake bytes.
        bytes: Vec<u8>,
    },
    /// A peer started or stopped typing.
    Typing {
        /// The peer.
        peer: PeerId,
        /// Whether typing.
        active: bool,
    },
    /// A peer's presence.
    Presence {
        /// The peer.
        peer: PeerId,
        /// Its state.
        state: Presence,
    },
    /// A peer said goodbye.
    Bye {
        /// The peer.
        peer: PeerId,
        /// Its reason.
        reason: String,
    },
    /// Progress of a catch-up: entries known to exist (from summaries) but not yet held.
    SyncProgress {
        /// Entries still missing across all authors.
        missing: u64,
    },
}

/// What the driver must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// Send a frame to a peer.
    Send {
        /// To whom.
        peer: PeerId,
        /// The frame.
        bytes: Vec<u8>,
    },
    /// Persist these verified entries (skip for ephemeral rooms).
    Store(Vec<Record>),
    /// Tell the UI.
    Event(Event),
    /// Call [`RoomSync::handle`] with [`Input::Tick`] at this time.
    ScheduleTimer {
        /// When.
        at_ms: u64,
    },
    /// Close the connection to a peer (then report [`Input::PeerDisconnected`]).
    Disconnect {
        /// The peer.
        peer: PeerId,
        /// Why.
        reason: Misbehaviour,
    },
}

/// Errors from local actions.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SyncError {
    /// The body is invalid (e.g. text too long).
    #[error("invalid entry: {0}")]
    Entry(#[from] LogError),
    /// Our own log was found forked (restored from an old backup on another device?); we
    /// refuse to sign more.
    #[error("our own log is flagged as forked")]
    OwnLogFlagged,
    /// A stored entry failed to load.
    #[error("stored entry {seq} of {author:?} rejected: {reason}")]
    Load {
        /// Its author.
        author: PublicKey,
        /// Its seq.
        seq: u64,
        /// Why.
        reason: String,
    },
}

#[derive(Debug, Default)]
struct PeerState {
    /// Highest seq per author the peer is known to hold (or to have been sent).
    known: BTreeMap<PublicKey, u64>,
    /// Authors in `known` of which our log held nothing when the peer named them (capped
    /// at [`MAX_UNHELD_AUTHORS_PER_PEER`]; an author leaves the count once we hold it).
    unheld: usize,
    /// Per author, the seqs served to this peer and when (`u64::MAX` while still queued): a
    /// want repeating them while queued or within half a want timeout is not served again.
    served: BTreeMap<PublicKey, RangeInclusiveMap<u64, u64>>,
    /// Wanted ranges not yet served (waiting for the serve window).
    queue: VecDeque<WantRange>,
    /// Bytes of served entries handed to the driver since the last [`Input::Drained`].
    outstanding: usize,
    /// Low priority ([`Input::SetLowPriority`]).
    low: bool,
    /// A low-priority peer's wants held back while a normal peer is connected: per author
    /// the highest seq its summaries offered, and when they are due.
    deferred: BTreeMap<PublicKey, u64>,
    deferred_until: Option<u64>,
    /// Per author in `known`, where the peer's top run starts less one (its `Floors`).
    floors: BTreeMap<PublicKey, u64>,
    /// Authors we told the peer a floor above 0 for: when our chain of one reaches down to
    /// entry 1 again, the peer is told so (floor 0) once.
    told: BTreeSet<PublicKey>,
    /// When we last sent the peer the evidence against each author its summaries still
    /// name as if honest.
    evidence_sent: BTreeMap<PublicKey, u64>,
}

/// A verified entry whose predecessor is missing, who sent it and when.
#[derive(Debug)]
struct Pending {
    rec: Record,
    from: PeerId,
    at: u64,
}

#[derive(Debug, Clone, Copy)]
struct Inflight {
    to_seq: u64,
    peer: PeerId,
    deadline: u64,
}

/// A backfill want: older entries from `from_seq` up to an author's top run.
#[derive(Debug, Clone, Copy)]
struct Backfill {
    from_seq: u64,
    peer: PeerId,
    deadline: u64,
}

/// One room's sync state machine. See the [module documentation](self).
#[derive(Debug)]
pub struct RoomSync {
    identity: Identity,
    me: PublicKey,
    log: RoomLog,
    config: SyncConfig,
    peers: BTreeMap<PeerId, PeerState>,
    pending: BTreeMap<(PublicKey, u64), Pending>,
    /// Bytes of the entries in `pending`.
    pending_bytes: usize,
    inflight: BTreeMap<PublicKey, Inflight>,
    backfill: BTreeMap<PublicKey, Backfill>,
    /// Highest seq per author a connected peer advertised beyond what we hold (progress).
    advertised: BTreeMap<PublicKey, u64>,
    /// Where the next periodic summary's rotating slice starts.
    summary_cursor: Option<PublicKey>,
    evidence: BTreeMap<PublicKey, (Box<Record>, Box<Record>)>,
    /// The last missing count reported.
    last_missing: u64,
    /// Authors with new heads not yet announced (lazy relay), and when to announce them.
    dirty: BTreeSet<PublicKey>,
    announce_at: Option<u64>,
    /// Signature checks: authors' keys, and entries lately seen to verify alone.
    verifier: Verifier,
    /// Entries of the next frame whose signature equation the caller checked
    /// ([`RoomSync::accept_checked`]); cleared after every frame.
    checked: HashSet<EntryId>,
    out: VecDeque<Output>,
    now: u64,
    next_summary_at: u64,
    timer_at: Option<u64>,
}

impl RoomSync {
    /// A machine for `room_id` with nothing held, signing with `identity`.
    pub fn new(room_id: RoomId, identity: Identity, config: SyncConfig) -> Self {
        RoomSync {
            me: identity.public(),
            identity,
            log: RoomLog::new(room_id),
            config,
            peers: BTreeMap::new(),
            pending: BTreeMap::new(),
            pending_bytes: 0,
            inflight: BTreeMap::new(),
            backfill: BTreeMap::new(),
            advertised: BTreeMap::new(),
            summary_cursor: None,
            evidence: BTreeMap::new(),
            last_missing: 0,
            dirty: BTreeSet::new(),
            announce_at: None,
            verifier: Verifier::default(),
            checked: HashSet::new(),
            out: VecDeque::new(),
            now: 0,
            next_summary_at: 0,
            timer_at: None,
        }
    }

    /// Rebuilds a machine from stored entries (any order) and the stored evidence of
    /// equivocations (the `first` and `second` of each [`Event::Equivocation`]).
    ///
    /// The room, the encoding and every hash chain are checked; signatures are checked too
    /// unless `trust_signatures` (the store only ever received verified entries, so a
    /// driver may skip the cost at startup). Each piece of evidence must prove a fork; its
    /// author is flagged again and the evidence is passed on to peers as before. Flagged
    /// authors' entries are loaded as stored. Another author's chain with a hole loads as
    /// runs (see `crate::log`); a hole in our own chain is an error.
    pub fn load(
        room_id: RoomId,
        identity: Identity,
        config: SyncConfig,
        stored: impl IntoIterator<Item = Record>,
        evidence: impl IntoIterator<Item = (Record, Record)>,
        trust_signatures: bool,
    ) -> Result<Self, SyncError> {
        let mut s = RoomSync::new(room_id, identity, config);
        let mut recs: Vec<Record> = stored.into_iter().collect();
        recs.sort_by(chain_order);
        let vouched = if trust_signatures {
            HashSet::new()
        } else {
            vouched_for(&recs)
        };
        for r in recs {
            let (author, seq) = (r.entry.author, r.entry.seq);
            let fail = |reason: String| SyncError::Load {
                author,
                seq,
                reason,
            };
            if EntryId::of_bytes(&r.bytes) != r.id {
                return Err(fail("id does not match bytes".into()));
            }
            if r.entry.room_id != room_id {
                return Err(fail("wrong room".into()));
            }
            if !trust_signatures {
                s.verify(&r, vouched.contains(&r.id))
                    .map_err(|e| fail(e.to_string()))?;
            }
            // Another author's chain may have holes (a keeper's pruned history, or a write
            // that failed): each run loads, and peers supply the rest again. Our own chain
            // must be whole, or the next post would fork it.
            match s.log.insert(r, author != s.me) {
                Append::Appended | Append::Duplicate => {}
                other => return Err(fail(format!("{other:?}"))),
            }
        }
        for (first, second) in evidence {
            let author = first.entry.author;
            let bad = |reason: &str| SyncError::Load {
                author,
                seq: first.entry.seq,
                reason: format!("evidence: {reason}"),
            };
            if !trust_signatures {
                for r in [&first, &second] {
                    r.verify(&room_id).map_err(|e| bad(&e.to_string()))?;
                }
            }
            if !proves_equivocation(&first, &second) {
                return Err(bad("proves no fork"));
            }
            s.log.flag(author);
            s.evidence
                .insert(author, (Box::new(first), Box::new(second)));
        }
        Ok(s)
    }

    /// The held log.
    pub fn log(&self) -> &RoomLog {
        &self.log
    }

    /// Drops `author`'s entries up to and including `seq` ([`RoomLog::prune_through`]),
    /// with anything of theirs held pending at or below it; returns the dropped ids. Peers
    /// learn the new floor with the next summary that names the author.
    pub fn prune_through(&mut self, author: &PublicKey, seq: u64) -> Vec<EntryId> {
        self.retain_pending(|(a, s), _| a != author || *s > seq);
        self.log.prune_through(author, seq)
    }

    /// Turns backfill ([`SyncConfig::backfill`]) on or off from now on.
    pub fn set_backfill(&mut self, on: bool) {
        self.config.backfill = on;
        if !on {
            self.backfill.clear();
        }
    }

    /// Restores a floor that [`RoomSync::prune_through`] set before a restart.
    pub fn restore_floor(&mut self, author: PublicKey, seq: u64, id: EntryId) {
        self.log.restore_floor(author, seq, id);
    }

    /// The room view (messages with edits, deletes and reactions applied).
    pub fn view(&self) -> RoomView {
        RoomView::build(self.log.in_display_order())
    }

    /// Our identity's public key.
    pub fn me(&self) -> PublicKey {
        self.me
    }

    /// Connected peers.
    pub fn peers(&self) -> impl Iterator<Item = &PeerId> {
        self.peers.keys()
    }

    /// The highest seq of `author` that `peer` is known to hold: from its summaries, the
    /// entries it sent and the entries sent to it over its (reliable, ordered) connection.
    /// 0 when nothing is known or the peer is not connected.
    pub fn peer_holds(&self, peer: PeerId, author: &PublicKey) -> u64 {
        self.peers
            .get(&peer)
            .and_then(|p| p.known.get(author).copied())
            .unwrap_or(0)
    }

    /// Whether `peer` is connected and of low priority ([`Input::SetLowPriority`]).
    pub fn is_low_priority(&self, peer: PeerId) -> bool {
        self.peers.get(&peer).is_some_and(|st| st.low)
    }

    /// Entries held pending (predecessor missing).
    pub fn pending_len(&self) -> usize {
        self.pending.len()
    }

    /// Bytes of the entries held pending.
    pub fn pending_bytes(&self) -> usize {
        self.pending_bytes
    }

    /// Keeps only the pending entries `keep` accepts.
    fn retain_pending(&mut self, keep: impl Fn(&(PublicKey, u64), &Pending) -> bool) {
        self.pending.retain(|k, p| keep(k, p));
        self.pending_bytes = self.pending.values().map(|p| p.rec.bytes.len()).sum();
    }

    /// Forgets a peer that left or was dropped: its wants, what it sent us pending, and
    /// what it claimed to hold.
    fn forget_peer(&mut self, peer: PeerId) {
        self.peers.remove(&peer);
        self.inflight.retain(|_, f| f.peer != peer);
        self.backfill.retain(|_, b| b.peer != peer);
        self.retain_pending(|_, p| p.from != peer);
        self.recount_advertised();
        // The last normal peer may have gone: then nothing held back waits any longer.
        self.release_deferred();
    }

    /// Rebuilds `advertised` from what the connected peers claim, then reports progress.
    fn recount_advertised(&mut self) {
        let mut adv: BTreeMap<PublicKey, u64> = BTreeMap::new();
        for st in self.peers.values() {
            for (a, seq) in &st.known {
                let floor = st.floors.get(a).copied().unwrap_or(0);
                if *seq > self.log.top_of(a).max(floor) && !self.log.is_flagged(a) {
                    let e = adv.entry(*a).or_insert(0);
                    *e = (*e).max(*seq);
                }
            }
        }
        self.advertised = adv;
        self.progress();
    }

    /// The next output, if any.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.out.pop_front()
    }

    /// Every queued output.
    pub fn drain_outputs(&mut self) -> Vec<Output> {
        self.out.drain(..).collect()
    }

    /// Feeds one input at time `now_ms`. Only [`Input::Post`] can fail.
    pub fn handle(&mut self, now_ms: u64, input: Input) -> Result<(), SyncError> {
        self.now = self.now.max(now_ms);
        let r = match input {
            Input::PeerConnected(peer) => {
                self.peers.insert(peer, PeerState::default());
                self.send_summary(peer);
                let ev: Vec<_> = self.evidence.values().cloned().collect();
                for (first, second) in ev {
                    self.send(peer, Frame::Evidence { first, second }.encode());
                }
                Ok(())
            }
            Input::PeerDisconnected(peer) => {
                self.forget_peer(peer);
                Ok(())
            }
            Input::Drained(peer) => {
                if let Some(st) = self.peers.get_mut(&peer) {
                    st.outstanding = 0;
                }
                self.serve(peer);
                Ok(())
            }
            Input::SetLowPriority { peer, low } => {
                if let Some(st) = self.peers.get_mut(&peer) {
                    st.low = low;
                }
                // A peer that turned normal, or the last normal peer turned low: what was
                // held back has no reason to wait.
                self.release_deferred();
                Ok(())
            }
            Input::Frame { peer, bytes } => {
                if self.peers.contains_key(&peer) {
                    self.on_frame(peer, &bytes);
                }
                self.checked.clear();
                Ok(())
            }
            Input::Post(body) => self.post(body),
            Input::Typing(active) => {
                self.broadcast(&Frame::Typing(active).encode());
                Ok(())
            }
            Input::Presence(p) => {
                self.broadcast(&Frame::Presence(p).encode());
                Ok(())
            }
            Input::Tick => {
                if self.now >= self.next_summary_at {
                    self.send_periodic_summaries();
                    self.next_summary_at = self.now + self.config.summary_interval_ms;
                }
                let now = self.now;
                self.expire_wants();
                let ttl = self.config.pending_ttl_ms;
                if self
                    .pending
                    .values()
                    .any(|p| p.at.saturating_add(ttl) <= now)
                {
                    self.retain_pending(|_, p| p.at.saturating_add(ttl) > now);
                }
                if self.announce_at.is_some_and(|at| at <= now) {
                    self.flush_announcements();
                }
                self.release_deferred();
                Ok(())
            }
        };
        if self.next_summary_at == 0 {
            self.next_summary_at = self.now + self.config.summary_interval_ms;
        }
        let deadline = self
            .peers
            .values()
            .filter_map(|st| st.deferred_until)
            .chain(self.announce_at)
            .fold(self.next_summary_at, u64::min);
        if self.timer_at != Some(deadline) {
            self.timer_at = Some(deadline);
            self.out
                .push_back(Output::ScheduleTimer { at_ms: deadline });
        }
        r
    }

    fn send(&mut self, peer: PeerId, bytes: Vec<u8>) {
        self.out.push_back(Output::Send { peer, bytes });
    }

    fn broadcast(&mut self, bytes: &[u8]) {
        let peers: Vec<PeerId> = self.peers.keys().copied().collect();
        for p in peers {
            self.send(p, bytes.to_vec());
        }
    }

    fn event(&mut self, e: Event) {
        self.out.push_back(Output::Event(e));
    }

    fn heads(&self) -> Vec<Head> {
        self.log
            .authors()
            .filter(|a| !self.log.is_flagged(a))
            .filter_map(|a| {
                self.log.head(a).map(|(seq, head)| Head {
                    author: *a,
                    seq,
                    head,
                })
            })
            .collect()
    }

    /// Wants past their deadline are forgotten, and so is what their peer claimed to hold
    /// beyond what it sent: a peer that does not serve its claims stops counting as missing
    /// (its next summary claims them again, and they are wanted again).
    fn expire_wants(&mut self) {
        let now = self.now;
        self.backfill.retain(|_, b| b.deadline > now);
        let expired: Vec<(PublicKey, Inflight)> = self
            .inflight
            .iter()
            .filter(|(_, f)| f.deadline <= now)
            .map(|(a, f)| (*a, *f))
            .collect();
        if expired.is_empty() {
            return;
        }
        for (author, f) in &expired {
            self.inflight.remove(author);
            let have = self.log.top_of(author);
            if let Some(k) = self
                .peers
                .get_mut(&f.peer)
                .and_then(|st| st.known.get_mut(author))
            {
                *k = (*k).min(have);
            }
        }
        self.recount_advertised();
    }

    /// The periodic (repair) summary: every head the peer is not known to hold, plus a
    /// rotating slice of [`SUMMARY_SLICE`] others, so its size does not grow with the authors
    /// the peer already has.
    fn send_periodic_summaries(&mut self) {
        let authors: Vec<PublicKey> = self
            .log
            .authors()
            .filter(|a| !self.log.is_flagged(a))
            .copied()
            .collect();
        let start = self
            .summary_cursor
            .map_or(0, |c| authors.partition_point(|a| *a <= c));
        let n = SUMMARY_SLICE.min(authors.len());
        let slice: BTreeSet<PublicKey> = (0..n)
            .map(|i| authors[(start + i) % authors.len()])
            .collect();
        self.summary_cursor = (n > 0).then(|| authors[(start + n - 1) % authors.len()]);
        let mut sends = Vec::new();
        for (peer, st) in &self.peers {
            let heads: Vec<Head> = authors
                .iter()
                .filter_map(|a| {
                    let (seq, head) = self.log.head(a)?;
                    let lacks = st.known.get(a).is_none_or(|k| *k < seq);
                    (lacks || slice.contains(a)).then_some(Head {
                        author: *a,
                        seq,
                        head,
                    })
                })
                .collect();
            sends.push((*peer, heads));
        }
        for (peer, heads) in sends {
            self.send_heads(peer, &heads);
        }
    }

    /// Sends `heads`, then the floors of those of their authors whose held chain does not
    /// start at 1 (after the summary, so the peer knows the authors; before any entry it
    /// wants from the summary, so it knows where our chains start when they arrive).
    fn send_heads(&mut self, peer: PeerId, heads: &[Head]) {
        let mut frames = if heads.is_empty() {
            vec![Frame::Summary(Vec::new()).encode()]
        } else {
            wire::encode_summary(heads)
        };
        if let Some(st) = self.peers.get_mut(&peer) {
            frames.extend(floor_frames(&self.log, &mut st.told, heads));
        }
        for f in frames {
            self.send(peer, f);
        }
    }

    fn send_summary(&mut self, peer: PeerId) {
        let heads = self.heads();
        self.send_heads(peer, &heads);
    }

    fn post(&mut self, body: Body) -> Result<(), SyncError> {
        if self.log.is_flagged(&self.me) {
            return Err(SyncError::OwnLogFlagged);
        }
        let (seq, prev_hash) = match self.log.head(&self.me) {
            Some((seq, id)) => (seq + 1, id),
            None => (1, EntryId::ZERO),
        };
        let entry = Entry::sign(
            &self.identity,
            Draft {
                room_id: self.log.room_id(),
                seq,
                prev_hash,
                // Another member may have signed the largest Lamport time there is; ours then
                // ties with it (and sorts by author and seq) instead of overflowing.
                lamport: self.log.max_lamport().saturating_add(1),
                wall_ms: self.now,
                body,
            },
        )?;
        let rec = Record::from_entry(entry);
        let id = rec.id;
        match self.log.append(rec.clone()) {
            Append::Appended => {}
            // Our own chain is built from our own head, so any other outcome is a bug in
            // the log; refuse rather than sign a fork.
            _ => return Err(SyncError::OwnLogFlagged),
        }
        self.out.push_back(Output::Store(vec![rec.clone()]));
        self.event(Event::Entries {
            ids: vec![id],
            from: None,
        });
        self.relay(None, &[rec]);
        Ok(())
    }

    /// Pushes `recs` to every peer except `from` that is not known to hold them.
    fn relay(&mut self, from: Option<PeerId>, recs: &[Record]) {
        let mut sends = Vec::new();
        let mut sound = may_end_a_run(self.me, self.log.room_id(), &mut self.verifier);
        for (peer, st) in self.peers.iter_mut() {
            if Some(*peer) == from {
                continue;
            }
            let mut batch: Vec<&Record> = Vec::new();
            for r in recs {
                let k = st.known.entry(r.entry.author).or_insert(0);
                if *k < r.entry.seq {
                    *k = r.entry.seq;
                    batch.push(r);
                }
            }
            for f in pack_vouched(batch, true, &mut sound).0 {
                sends.push((*peer, f));
            }
        }
        drop(sound);
        for (p, f) in sends {
            self.send(p, f);
        }
    }

    fn misbehaved(&mut self, peer: PeerId, reason: Misbehaviour) {
        self.forget_peer(peer);
        self.out.push_back(Output::Disconnect {
            peer,
            reason: reason.clone(),
        });
        self.event(Event::PeerMisbehaved { peer, reason });
    }

    fn on_frame(&mut self, peer: PeerId, bytes: &[u8]) {
        let frame = match Frame::decode(bytes) {
            Ok(f) => f,
            Err(e) if e.is_ignorable() => return,
            Err(e) => return self.misbehaved(peer, Misbehaviour::Malformed(e)),
        };
        match frame {
            Frame::Hello(bytes) => self.event(Event::Hello { peer, bytes }),
            Frame::Summary(heads) => self.on_summary(peer, heads),
            Frame::Want(ranges) => self.on_want(peer, ranges),
            Frame::Entries(recs) | Frame::Push(recs) => self.on_entries(peer, recs),
            Frame::Evidence { first, second } => self.on_evidence(peer, first, second),
            Frame::Typing(active) => self.event(Event::Typing { peer, active }),
            Frame::Presence(state) => self.event(Event::Presence { peer, state }),
            Frame::Bye(reason) => self.event(Event::Bye { peer, reason }),
            Frame::Floors(floors) => self.on_floors(peer, floors),
        }
    }

    fn live_inflight(&self, author: &PublicKey) -> Option<Inflight> {
        self.inflight
            .get(author)
            .filter(|f| f.deadline > self.now && self.peers.contains_key(&f.peer))
            .copied()
    }

    /// Wants `author`'s entries after what we hold (or have asked for) up to `to_seq`, and
    /// above the peer's floor (it holds nothing of one chain with its head below that).
    fn want_range(&mut self, peer: PeerId, author: PublicKey, to_seq: u64) -> Option<WantRange> {
        let floor = self
            .peers
            .get(&peer)
            .and_then(|st| st.floors.get(&author).copied())
            .unwrap_or(0);
        let have = self.log.top_of(&author).max(floor);
        let from = match self.live_inflight(&author) {
            Some(f) if f.to_seq >= to_seq => return None,
            Some(f) => f.to_seq.max(have) + 1,
            None => have + 1,
        };
        if from > to_seq {
            return None;
        }
        self.inflight.insert(
            author,
            Inflight {
                to_seq,
                peer,
                deadline: self.now + self.config.want_timeout_ms,
            },
        );
        Some(WantRange {
            author,
            from_seq: from,
            to_seq,
        })
    }

    fn on_summary(&mut self, peer: PeerId, heads: Vec<Head>) {
        // A low-priority peer's offers wait while a normal peer may offer the same.
        let defer = self.peers.get(&peer).is_some_and(|st| st.low) && self.normal_peer_connected();
        let mut wants = Vec::new();
        let mut evidence = Vec::new();
        for h in heads {
            let have = self.log.top_of(&h.author);
            let Some(st) = self.peers.get_mut(&peer) else {
                return;
            };
            if !st.known.contains_key(&h.author) && have == 0 {
                if st.unheld >= MAX_UNHELD_AUTHORS_PER_PEER {
                    continue;
                }
                st.unheld += 1;
            }
            let k = st.known.entry(h.author).or_insert(0);
            *k = (*k).max(h.seq);
            if self.log.is_flagged(&h.author) {
                // The peer still offers an author we know forked: it missed the evidence
                // (a frame lost, say). Send it again, at most once per summary interval.
                let due = st.evidence_sent.get(&h.author).is_none_or(|at| {
                    self.now.saturating_sub(*at) >= self.config.summary_interval_ms
                });
                if let Some((first, second)) = self.evidence.get(&h.author).filter(|_| due) {
                    st.evidence_sent.insert(h.author, self.now);
                    evidence.push(
                        Frame::Evidence {
                            first: first.clone(),
                            second: second.clone(),
                        }
                        .encode(),
                    );
                }
                continue;
            }
            if h.seq == 0 {
                continue;
            }
            if h.seq > have {
                let adv = self.advertised.entry(h.author).or_insert(0);
                *adv = (*adv).max(h.seq);
            }
            if h.seq > have && defer {
                let d = st.deferred.entry(h.author).or_insert(0);
                *d = (*d).max(h.seq);
                if st.deferred_until.is_none() {
                    st.deferred_until = Some(self.now + self.config.low_priority_delay_ms);
                }
            } else if h.seq > have {
                if let Some(w) = self.want_range(peer, h.author, h.seq) {
                    wants.push(w);
                }
            } else if self
                .log
                .get(&h.author, h.seq)
                .is_some_and(|r| r.id != h.head)
            {
                // Same position, different entry: fetch it as proof of a fork.
                wants.push(WantRange {
                    author: h.author,
                    from_seq: h.seq,
                    to_seq: h.seq,
                });
            }
            if let Some(w) = self.want_backfill(peer, h.author) {
                wants.push(w);
            }
        }
        for f in evidence {
            self.send(peer, f);
        }
        for f in wire::encode_want(&wants) {
            self.send(peer, f);
        }
        self.progress();
    }

    /// A peer's floors: kept for the authors its summaries named (so bounded as `known`
    /// is); an author's floor above what we hold lets its entries start a run here.
    fn on_floors(&mut self, peer: PeerId, floors: Vec<Floor>) {
        let mut wants = Vec::new();
        for f in floors {
            let Some(st) = self.peers.get_mut(&peer) else {
                return;
            };
            if !st.known.contains_key(&f.author) {
                continue;
            }
            if f.base == 0 {
                st.floors.remove(&f.author);
            } else {
                st.floors.insert(f.author, f.base);
            }
            if let Some(w) = self.want_backfill(peer, f.author) {
                wants.push(w);
            }
        }
        for f in wire::encode_want(&wants) {
            self.send(peer, f);
        }
        // What a peer dropped entirely is not missing.
        self.recount_advertised();
    }

    /// Wants from `peer` the slice of `author`'s history just below our top run, if the peer
    /// holds it (its head is at or past our run's start and its own run starts lower) and
    /// no backfill of the author is in flight. Older runs we hold end the slice.
    fn want_backfill(&mut self, peer: PeerId, author: PublicKey) -> Option<WantRange> {
        if !self.config.backfill || self.log.is_flagged(&author) {
            return None;
        }
        let base = self.log.base_of(&author);
        if base == 0 || self.log.floor_of(&author).is_some_and(|(f, _)| f >= base) {
            return None;
        }
        if self
            .backfill
            .get(&author)
            .is_some_and(|b| b.deadline > self.now && self.peers.contains_key(&b.peer))
        {
            return None;
        }
        let st = self.peers.get(&peer)?;
        let floor = st.floors.get(&author).copied().unwrap_or(0);
        if floor >= base || st.known.get(&author).is_none_or(|k| *k < base) {
            return None;
        }
        let from = (self.log.held_below(&author, base) + 1)
            .max(floor + 1)
            .max(base.saturating_sub(BACKFILL_CHUNK) + 1);
        self.backfill.insert(
            author,
            Backfill {
                from_seq: from,
                peer,
                deadline: self.now + self.config.want_timeout_ms,
            },
        );
        Some(WantRange {
            author,
            from_seq: from,
            to_seq: base,
        })
    }

    fn normal_peer_connected(&self) -> bool {
        self.peers.values().any(|st| !st.low)
    }

    /// Sends the wants held back for low-priority peers that are due (all of them when no
    /// normal peer is connected), for what is still missing and not asked of anyone else;
    /// what a peer no longer claims (its claim expired) is left out.
    fn release_deferred(&mut self) {
        let now = self.now;
        let everything = !self.normal_peer_connected();
        let due: Vec<PeerId> = self
            .peers
            .iter()
            .filter(|(_, st)| {
                st.deferred_until
                    .is_some_and(|at| everything || !st.low || at <= now)
            })
            .map(|(p, _)| *p)
            .collect();
        for peer in due {
            let Some(st) = self.peers.get_mut(&peer) else {
                continue;
            };
            st.deferred_until = None;
            let offers: Vec<(PublicKey, u64)> = std::mem::take(&mut st.deferred)
                .into_iter()
                .map(|(a, seq)| (a, seq.min(st.known.get(&a).copied().unwrap_or(0))))
                .collect();
            let mut wants = Vec::new();
            for (author, upto) in offers {
                if !self.log.is_flagged(&author) {
                    if let Some(w) = self.want_range(peer, author, upto) {
                        wants.push(w);
                    }
                }
            }
            for f in wire::encode_want(&wants) {
                self.send(peer, f);
            }
        }
    }

    /// Reports the entries connected peers claim that we lack, when the count changed.
    /// `advertised` holds only authors still missing something, at most
    /// [`MAX_UNHELD_AUTHORS_PER_PEER`] per peer beyond the authors we hold.
    fn progress(&mut self) {
        let log = &self.log;
        self.advertised
            .retain(|a, s| *s > log.top_of(a) && !log.is_flagged(a));
        // Peers choose the advertised numbers: the count saturates rather than overflows.
        let missing: u64 = self
            .advertised
            .iter()
            .map(|(a, s)| s.saturating_sub(log.top_of(a)))
            .fold(0, u64::saturating_add);
        if missing != self.last_missing {
            self.last_missing = missing;
            self.event(Event::SyncProgress { missing });
        }
    }

    /// Queues the wanted entries we hold that are not queued for this peer already nor were
    /// sent to it in the last half want timeout (a repeated or overlapping want costs
    /// nothing), then serves.
    fn on_want(&mut self, peer: PeerId, ranges: Vec<WantRange>) {
        let now = self.now;
        let fresh = self.config.want_timeout_ms / 2;
        let Some(st) = self.peers.get_mut(&peer) else {
            return;
        };
        for w in ranges {
            if self.log.is_flagged(&w.author) {
                continue;
            }
            let from = w.from_seq.max(1);
            let to = w.to_seq.min(self.log.top_of(&w.author));
            if from > to {
                continue;
            }
            let served = st.served.entry(w.author).or_default();
            let mut parts = Vec::new();
            let mut next = from;
            for (r, at) in served.overlapping(from..=to) {
                if now.saturating_sub(*at) >= fresh {
                    continue;
                }
                if *r.start() > next {
                    parts.push((next, r.start() - 1));
                }
                next = next.max(r.end().saturating_add(1));
            }
            if next <= to {
                parts.push((next, to));
            }
            for (a, b) in parts {
                if st.queue.len() >= MAX_SERVE_QUEUE {
                    break;
                }
                // Marked as queued (never stale) until it is sent.
                served.insert(a..=b, u64::MAX);
                st.queue.push_back(WantRange {
                    author: w.author,
                    from_seq: a,
                    to_seq: b,
                });
            }
        }
        self.serve(peer);
    }

    /// Sends queued wanted entries to `peer` until its serve window is used up.
    fn serve(&mut self, peer: PeerId) {
        let window = self.config.serve_window_bytes;
        let Some(st) = self.peers.get_mut(&peer) else {
            return;
        };
        let mut frames = Vec::new();
        while st.outstanding < window {
            let Some(w) = st.queue.pop_front() else {
                break;
            };
            if self.log.is_flagged(&w.author) {
                continue;
            }
            let to = w.to_seq.min(self.log.top_of(&w.author));
            let room = window - st.outstanding;
            let (mut batch, mut bytes) = (Vec::new(), 0);
            for r in self.log.range_of(&w.author, w.from_seq.max(1), to) {
                let cost = r.bytes.len() + 4;
                if !batch.is_empty() && bytes + cost > room {
                    break;
                }
                batch.push(r);
                bytes += cost;
            }
            let held = !batch.is_empty();
            let sound = may_end_a_run(self.me, self.log.room_id(), &mut self.verifier);
            let (packed, batch) = pack_vouched(batch, false, sound);
            let Some(last) = batch.last().map(|r| r.entry.seq) else {
                if held && st.outstanding > 0 {
                    // What is left of the window holds no place to end a frame at: the
                    // next window tries again.
                    st.queue.push_front(w);
                    break;
                }
                // Nothing of it is held (a gap of ours), or nothing we may end a frame
                // with: no longer queued, so a later want of it is served once we can.
                if let Some(served) = st.served.get_mut(&w.author) {
                    served.remove(w.from_seq..=w.to_seq);
                }
                continue;
            };
            let bytes: usize = batch.iter().map(|r| r.bytes.len() + 4).sum();
            frames.extend(packed);
            st.outstanding += bytes;
            st.served
                .entry(w.author)
                .or_default()
                .insert(w.from_seq..=last, self.now);
            let k = st.known.entry(w.author).or_insert(0);
            *k = (*k).max(last);
            if last < to {
                st.queue.push_front(WantRange {
                    from_seq: last + 1,
                    ..w
                });
            }
        }
        for f in frames {
            self.send(peer, f);
        }
    }

    /// Verifies one record (room, strict signature; without the signature equation when
    /// the caller checked it or the record is `vouched` for), caching the author's key.
    fn verify(&mut self, r: &Record, vouched: bool) -> Result<(), LogError> {
        let room = self.log.room_id();
        let key = self.verifier.key(&r.entry.author)?;
        if vouched || self.checked.contains(&r.id) {
            r.verify_checked(&room, &key)?;
        } else {
            r.verify_with(&room, &key)?;
        }
        if !vouched {
            // Its own signature was checked, here or by the caller.
            self.verifier.remember(r.id);
        }
        Ok(())
    }

    /// Evidence of the fork `first` and `second` prove whose entries' own signatures both
    /// verify, so that a peer checking each takes it (see "Vouching"): that pair, or else
    /// two of the held entries next to it (an entry held only as vouched for is proven
    /// forked as well by the one that vouched for it).
    fn sound_proof(&mut self, first: Record, second: Record) -> Option<(Record, Record)> {
        let (author, seq) = (first.entry.author, first.entry.seq);
        let mut near = vec![first, second];
        near.extend(
            self.log
                .range_of(&author, seq.saturating_sub(1), seq.saturating_add(2))
                .cloned(),
        );
        for a in &near {
            for b in &near {
                if proves_equivocation(a, b) && self.signed_alone(a, b) {
                    return Some((a.clone(), b.clone()));
                }
            }
        }
        None
    }

    /// Whether both entries' own signatures verify, so that evidence made of them convinces
    /// a peer that checks each (see "Vouching").
    fn signed_alone(&mut self, a: &Record, b: &Record) -> bool {
        let room = self.log.room_id();
        [a, b].into_iter().all(|r| self.verifier.alone(&room, r))
    }

    /// Tells the machine that the caller verified the signature equation of these entries
    /// itself ([`signature_checks`]); it applies to the next [`Input::Frame`] only. The
    /// machine still does every other check, including the strict ones plain Ed25519
    /// verifiers skip (see [`SignatureCheck`]). Entries not named are verified here as usual.
    pub fn accept_checked(&mut self, ids: impl IntoIterator<Item = EntryId>) {
        self.checked.extend(ids);
    }

    fn on_entries(&mut self, peer: PeerId, recs: Vec<Record>) {
        // Phase 1: verify everything before applying anything.
        let vouched = vouched_for(&recs);
        let mut in_frame: HashMap<(PublicKey, u64), EntryId> = HashMap::new();
        for r in &recs {
            let key = (r.entry.author, r.entry.seq);
            match in_frame.get(&key) {
                Some(id) if *id != r.id => return self.misbehaved(peer, Misbehaviour::BrokenChain),
                _ => {}
            }
            in_frame.insert(key, r.id);
        }
        for r in &recs {
            if r.entry.seq > 1 {
                if let Some(prev) = in_frame.get(&(r.entry.author, r.entry.seq - 1)) {
                    if *prev != r.entry.prev_hash {
                        return self.misbehaved(peer, Misbehaviour::BrokenChain);
                    }
                }
            }
            let known = self.log.contains(&r.id)
                || self
                    .pending
                    .get(&(r.entry.author, r.entry.seq))
                    .is_some_and(|p| p.rec.id == r.id);
            if !known {
                if let Err(e) = self.verify(r, vouched.contains(&r.id)) {
                    return self.misbehaved(peer, Misbehaviour::InvalidEntry(e));
                }
            }
        }
        // Phase 2: apply in chain order.
        let mut recs = recs;
        recs.sort_by(chain_order);
        if let Some(st) = self.peers.get_mut(&peer) {
            for r in &recs {
                let k = st.known.entry(r.entry.author).or_insert(0);
                *k = (*k).max(r.entry.seq);
            }
        }
        let mut accepted: Vec<(Record, PeerId)> = Vec::new();
        let mut gaps: BTreeMap<PublicKey, u64> = BTreeMap::new();
        let touched: BTreeSet<PublicKey> = recs.iter().map(|r| r.entry.author).collect();
        for r in recs {
            self.apply(peer, r, &mut accepted, &mut gaps);
        }
        // Beyond the gaps, anything the peer holds of these authors past what we now hold
        // (pending entries dropped over the budget, or a chain that stopped short).
        // (Every gap is of an author in this frame.)
        if let Some(st) = self.peers.get(&peer) {
            for a in &touched {
                let Some(&k) = st.known.get(a) else {
                    continue;
                };
                // Not the entries held pending at the top of the chain.
                let mut upto = k;
                while upto > 0 && self.pending.contains_key(&(*a, upto)) {
                    upto -= 1;
                }
                if upto > self.log.top_of(a) {
                    let g = gaps.entry(*a).or_insert(0);
                    *g = (*g).max(upto);
                }
            }
        }
        let mut wants = Vec::new();
        for (author, upto) in gaps {
            if !self.log.is_flagged(&author) {
                if let Some(w) = self.want_range(peer, author, upto) {
                    wants.push(w);
                }
            }
        }
        // A backfill whose slice is now held goes on with the next slice down.
        for a in &touched {
            let done = self
                .backfill
                .get(a)
                .is_some_and(|b| self.log.base_of(a) < b.from_seq);
            if done {
                self.backfill.remove(a);
                if let Some(w) = self.want_backfill(peer, *a) {
                    wants.push(w);
                }
            }
        }
        for f in wire::encode_want(&wants) {
            self.send(peer, f);
        }
        self.accepted(Some(peer), accepted);
    }

    /// Stores, announces and relays what a frame from `from` made acceptable; each entry
    /// comes with the peer that sent it.
    fn accepted(&mut self, from: Option<PeerId>, accepted: Vec<(Record, PeerId)>) {
        if accepted.is_empty() {
            return;
        }
        // One event per run of entries from one sender.
        let mut runs: Vec<(PeerId, Vec<EntryId>)> = Vec::new();
        for (r, sender) in &accepted {
            match runs.last_mut() {
                Some((p, ids)) if p == sender => ids.push(r.id),
                _ => runs.push((*sender, vec![r.id])),
            }
        }
        let accepted: Vec<Record> = accepted.into_iter().map(|(r, _)| r).collect();
        let log = &self.log;
        self.inflight
            .retain(|a, f| log.top_of(a) < f.to_seq && !log.is_flagged(a));
        // Authors first held now leave each peer's count of unheld authors.
        let mut news: BTreeMap<PublicKey, usize> = BTreeMap::new();
        for r in &accepted {
            *news.entry(r.entry.author).or_insert(0) += 1;
        }
        for (author, n) in news {
            if self.log.count_of(&author) == n {
                for st in self.peers.values_mut() {
                    if st.known.contains_key(&author) {
                        st.unheld = st.unheld.saturating_sub(1);
                    }
                }
            }
        }
        self.out.push_back(Output::Store(accepted.clone()));
        for (sender, ids) in runs {
            self.event(Event::Entries {
                ids,
                from: Some(sender),
            });
        }
        match (self.config.relay, from) {
            (Relay::Lazy, Some(_)) => {
                self.dirty.extend(accepted.iter().map(|r| r.entry.author));
                if self.config.announce_delay_ms == 0 {
                    self.flush_announcements();
                } else if self.announce_at.is_none() {
                    self.announce_at = Some(self.now + self.config.announce_delay_ms);
                }
            }
            _ => self.relay(from, &accepted),
        }
        if !self.advertised.is_empty() {
            self.progress();
        }
    }

    /// Lazy relay: tells every peer the new heads it is not known to hold (the peers we got
    /// them from are known to hold them).
    fn flush_announcements(&mut self) {
        self.announce_at = None;
        let authors = std::mem::take(&mut self.dirty);
        let heads: Vec<Head> = authors
            .into_iter()
            .filter(|a| !self.log.is_flagged(a))
            .filter_map(|a| {
                self.log.head(&a).map(|(seq, head)| Head {
                    author: a,
                    seq,
                    head,
                })
            })
            .collect();
        let mut sends = Vec::new();
        for (peer, st) in &mut self.peers {
            let news: Vec<Head> = heads
                .iter()
                .filter(|h| st.known.get(&h.author).is_none_or(|k| *k < h.seq))
                .copied()
                .collect();
            for f in wire::encode_summary(&news).into_iter().chain(floor_frames(
                &self.log,
                &mut st.told,
                &news,
            )) {
                sends.push((*peer, f));
            }
        }
        for (p, f) in sends {
            self.send(p, f);
        }
    }

    /// Appends one verified record, draining pending successors; records gaps to want.
    fn apply(
        &mut self,
        from: PeerId,
        r: Record,
        accepted: &mut Vec<(Record, PeerId)>,
        gaps: &mut BTreeMap<PublicKey, u64>,
    ) {
        let author = r.entry.author;
        let seq = r.entry.seq;
        let mut outcome = self.log.append(r.clone());
        if let Append::Gap { have } = outcome {
            // A run may start here when the sender said its own starts here (it holds
            // nothing below to fill the gap with), or when this is the first entry of a
            // backfill we asked for.
            let declared = self
                .peers
                .get(&from)
                .and_then(|st| st.floors.get(&author))
                .is_some_and(|f| f.checked_add(1) == Some(seq));
            let backfill = self
                .backfill
                .get(&author)
                .is_some_and(|b| b.from_seq == seq);
            if declared || backfill {
                outcome = self.log.insert(r.clone(), true);
            } else if seq <= have {
                // Old history nobody asked for, in a gap below our top run: dropped.
                return;
            }
        }
        match outcome {
            Append::Appended => {
                accepted.push((r, from));
                let mut next = seq + 1;
                while let Some(Pending {
                    rec: p,
                    from: sender,
                    ..
                }) = self.pending.remove(&(author, next))
                {
                    self.pending_bytes -= p.bytes.len();
                    match self.log.append(p.clone()) {
                        Append::Appended => accepted.push((p, sender)),
                        other => {
                            self.conflict(author, other, p);
                            break;
                        }
                    }
                    next += 1;
                }
            }
            Append::Duplicate | Append::AuthorFlagged | Append::Pruned => {}
            Append::Gap { .. } => {
                let len = r.bytes.len();
                if self.pending.len() < self.config.max_pending
                    && self.pending_bytes + len <= self.config.max_pending_bytes
                    && !self.pending.contains_key(&(author, seq))
                {
                    self.pending_bytes += len;
                    let at = self.now;
                    self.pending
                        .insert((author, seq), Pending { rec: r, from, at });
                }
                let g = gaps.entry(author).or_insert(0);
                *g = (*g).max(seq - 1);
            }
            other @ (Append::Conflict { .. }
            | Append::ChainBreak { .. }
            | Append::SuccessorBreak { .. }) => self.conflict(author, other, r),
        }
    }

    /// Flags `author` for the equivocation `outcome` found with `rec`, and passes the proof
    /// on: the held entry and `rec`, in the order [`proves_equivocation`] reads them.
    fn conflict(&mut self, author: PublicKey, outcome: Append, rec: Record) {
        let (existing, held_first) = match outcome {
            Append::Conflict { existing } | Append::ChainBreak { existing } => (existing, true),
            Append::SuccessorBreak { existing } => (existing, false),
            _ => return,
        };
        let Some(held) = self.log.get_by_id(&existing).cloned() else {
            // A chain break against the floor: the predecessor is gone, so there is no
            // proof to pass on; the author is flagged all the same.
            self.log.flag(author);
            self.retain_pending(|(a, _), _| *a != author);
            return;
        };
        let (first, second) = if held_first { (held, rec) } else { (rec, held) };
        self.log.flag(author);
        match self.sound_proof(first, second) {
            Some((first, second)) => self.flagged(author, Box::new(first), Box::new(second), None),
            // Nothing near whose own signatures verify: no proof a peer would take.
            None => self.retain_pending(|(a, _), _| *a != author),
        }
    }

    fn flagged(
        &mut self,
        author: PublicKey,
        first: Box<Record>,
        second: Box<Record>,
        from: Option<PeerId>,
    ) {
        self.retain_pending(|(a, _), _| *a != author);
        self.inflight.remove(&author);
        let frame = Frame::Evidence {
            first: first.clone(),
            second: second.clone(),
        }
        .encode();
        let peers: Vec<PeerId> = self.peers.keys().copied().collect();
        for p in peers {
            if Some(p) != from {
                self.send(p, frame.clone());
            }
        }
        self.evidence
            .insert(author, (first.clone(), second.clone()));
        self.event(Event::Equivocation {
            author,
            first,
            second,
        });
    }

    fn on_evidence(&mut self, peer: PeerId, first: Box<Record>, second: Box<Record>) {
        for r in [&*first, &*second] {
            if let Err(e) = self.verify(r, false) {
                return self.misbehaved(peer, Misbehaviour::InvalidEntry(e));
            }
        }
        if !proves_equivocation(&first, &second) {
            return self.misbehaved(peer, Misbehaviour::BadEvidence);
        }
        let author = first.entry.author;
        if self.log.flag(author) {
            self.flagged(author, first, second, Some(peer));
        }
    }
}

/// The `Floors` frames for `heads`' authors whose held chain in `log` does not reach down
/// to entry 1 (none, usually), and a floor of 0 for those whose chain does again after we
/// told the peer otherwise (`told`, kept up to date).
fn floor_frames(log: &RoomLog, told: &mut BTreeSet<PublicKey>, heads: &[Head]) -> Vec<Vec<u8>> {
    let floors: Vec<Floor> = heads
        .iter()
        .filter_map(|h| {
            let base = log.base_of(&h.author);
            let say = if base > 0 {
                told.insert(h.author);
                true
            } else {
                told.remove(&h.author)
            };
            say.then_some(Floor {
                author: h.author,
                base,
            })
        })
        .collect();
    wire::encode_floors(&floors)
}

/// The signature checks of the entries a frame carries (none for other frames, or bytes that
/// do not decode), for a caller that verifies them itself before feeding the frame with
/// [`RoomSync::accept_checked`]. Entries that fail the strict checks are left out, and so
/// are those the frame vouches for (see "Vouching"): one check per author's run.
pub fn signature_checks(frame: &[u8]) -> Vec<SignatureCheck> {
    match Frame::decode(frame) {
        Ok(Frame::Entries(recs) | Frame::Push(recs)) => {
            let vouched = vouched_for(&recs);
            recs.iter()
                .filter(|r| !vouched.contains(&r.id))
                .filter_map(Record::signature_check)
                .collect()
        }
        _ => Vec::new(),
    }
}

/// The entries of `recs` whose successor is among `recs` and names them (see "Vouching").
fn vouched_for<'a>(recs: impl IntoIterator<Item = &'a Record> + Clone) -> HashSet<EntryId> {
    let prev_of: HashMap<(PublicKey, u64), EntryId> = recs
        .clone()
        .into_iter()
        .map(|r| ((r.entry.author, r.entry.seq), r.entry.prev_hash))
        .collect();
    recs.into_iter()
        .filter(|r| {
            r.entry
                .seq
                .checked_add(1)
                .and_then(|next| prev_of.get(&(r.entry.author, next)))
                == Some(&r.id)
        })
        .map(|r| r.id)
        .collect()
}

/// Authors' decompressed keys (decompression is a sizeable part of a verification), and the
/// entries whose own signatures were lately seen to verify (received alone, or judged as
/// the top of a run we send), so that relaying or serving an entry does not check again
/// what receiving it checked.
#[derive(Debug, Default)]
struct Verifier {
    keys: HashMap<PublicKey, ed25519_dalek::VerifyingKey>,
    sound: HashSet<EntryId>,
    /// `sound` in the order remembered, the oldest forgotten first.
    order: VecDeque<EntryId>,
}

impl Verifier {
    /// The author's decompressed key, cached (at most [`MAX_CACHED_KEYS`]: a flood of fresh
    /// keys each carries a valid signature only if someone holds those keys, so the cache
    /// is capped anyway).
    fn key(&mut self, author: &PublicKey) -> Result<ed25519_dalek::VerifyingKey, LogError> {
        if let Some(k) = self.keys.get(author) {
            return Ok(*k);
        }
        let k = ed25519_dalek::VerifyingKey::from_bytes(&author.0)
            .map_err(|_| LogError::InvalidAuthor)?;
        if self.keys.len() < MAX_CACHED_KEYS {
            self.keys.insert(*author, k);
        }
        Ok(k)
    }

    /// Notes that `id`'s own signature verifies (at most [`MAX_SOUND_REMEMBERED`] entries).
    fn remember(&mut self, id: EntryId) {
        if !self.sound.insert(id) {
            return;
        }
        self.order.push_back(id);
        if self.order.len() > MAX_SOUND_REMEMBERED {
            if let Some(old) = self.order.pop_front() {
                self.sound.remove(&old);
            }
        }
    }

    /// Whether `r`'s own signature verifies (strictly), whatever vouches for it.
    fn alone(&mut self, room: &RoomId, r: &Record) -> bool {
        if self.sound.contains(&r.id) {
            return true;
        }
        let holds = self
            .key(&r.entry.author)
            .is_ok_and(|k| r.verify_with(room, &k).is_ok());
        if holds {
            self.remember(r.id);
        }
        holds
    }
}

/// Whether `r` may be the top of a run in a frame we send (see "Vouching"): our own
/// entries were signed here; others' must verify alone.
fn may_end_a_run(
    me: PublicKey,
    room: RoomId,
    verifier: &mut Verifier,
) -> impl FnMut(&Record) -> bool + '_ {
    move |r| r.entry.author == me || verifier.alone(&room, r)
}

/// Packs `recs` (each author's in chain order) into entry frames, in order, as
/// [`wire::encode_entries`] would, except that every entry a frame carries without the
/// successor that names it (the top of each run in the frame) is one for which `sound`
/// holds (see "Vouching"). An unsound top whose successor is still to be sent moves to the
/// next frame with it; one with no successor to come is not sent, and neither is a frame's
/// worth with no sound place to end. Returns the frames and the records they carry, in the
/// order sent.
fn pack_vouched(
    recs: Vec<&Record>,
    push: bool,
    mut sound: impl FnMut(&Record) -> bool,
) -> (Vec<Vec<u8>>, Vec<&Record>) {
    // Each entry is judged once, so a run of unsound entries costs at most one check each.
    let mut judged: HashMap<EntryId, bool> = HashMap::new();
    let mut sound = |r: &Record| *judged.entry(r.id).or_insert_with(|| sound(r));
    let (mut frames, mut sent) = (Vec::new(), Vec::new());
    let mut rest: VecDeque<&Record> = recs.into();
    while !rest.is_empty() {
        let (mut chunk, mut len) = (Vec::new(), wire::FRAME_OVERHEAD);
        while let Some(r) = rest.front() {
            let cost = 4 + r.bytes.len();
            if !chunk.is_empty() && len + cost > wire::MAX_FRAME_LEN {
                break;
            }
            len += cost;
            chunk.extend(rest.pop_front());
        }
        let mut back: Vec<&Record> = Vec::new();
        loop {
            let vouched = vouched_for(chunk.iter().copied());
            let Some(at) = chunk
                .iter()
                .position(|r| !vouched.contains(&r.id) && !sound(r))
            else {
                break;
            };
            let top = chunk.remove(at);
            let names_top = |x: &&Record| {
                x.entry.author == top.entry.author
                    && x.entry.prev_hash == top.id
                    && Some(x.entry.seq) == top.entry.seq.checked_add(1)
            };
            if rest.iter().chain(&back).any(names_top) {
                back.push(top);
            }
        }
        if chunk.is_empty() {
            continue;
        }
        back.sort_by(|a, b| chain_order(a, b).reverse());
        for r in back {
            rest.push_front(r);
        }
        frames.extend(wire::encode_entries(chunk.iter().copied(), push));
        sent.extend(chunk);
    }
    (frames, sent)
}

/// Whether two (verified) entries prove that their author forked its log: one author, and
/// either the same seq with different ids, or `second` following `first`'s seq while
/// naming another predecessor.
pub fn proves_equivocation(first: &Record, second: &Record) -> bool {
    let (a, b) = (&first.entry, &second.entry);
    a.author == b.author
        && ((a.seq == b.seq && first.id != second.id)
            || (a.seq.checked_add(1) == Some(b.seq) && b.prev_hash != first.id))
}

impl RoomSync {
    /// Authors flagged as equivocators.
    pub fn flagged_authors(&self) -> BTreeSet<PublicKey> {
        self.log.flagged().copied().collect()
    }
}
