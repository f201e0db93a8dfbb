//! Files in the node: which ones this device holds, serving their chunks to the rooms that
//! name them, and pulling the ones the user opens from every peer that has them.
//!
//! # What
//!
//! A `File` entry ([`crate::log::FileRef`]) names a file by its chunk tree's root
//! ([`crate::blob`]); its bytes travel on each connection's second channel, the files
//! channel, in [`crate::blobwire`] frames, so a file never delays the log's frames. The
//! driver stores chunks (each with its proof, so it can serve them on as received) and tells
//! the node what it holds ([`Input::Holding`]); the node answers peers and runs one
//! [`Fetch`] per file the user opened ([`Input::Fetch`]).
//!
//! # Rules
//!
//! 1. **Rooms fence files.** A chunk, or what we hold of a file, is told only to a verified
//!    peer of a room whose log holds a `File` entry naming that root with that length.
//!    Frames about any other root are dropped unread, so a member of one room learns nothing
//!    of another's files.
//! 2. **`Have` asks as it tells.** Starting a fetch sends our `Have` (what we hold, perhaps
//!    nothing) to every verified peer of the room, and to each peer verified later. A peer
//!    holding any of the file answers once per connection with its own `Have`; a `Have` that
//!    is not the whole file marks its sender as still fetching, and it is sent our `Have`
//!    again every [`HAVE_EVERY`] chunks we store and when we complete, so downloads feed
//!    each other.
//! 3. **Wants are served in order, a window at a time.** A `Want` for a chunk we hold is
//!    read from the driver's store ([`Output::ReadChunk`]), checked against the root (a
//!    damaged store is not served on), and sent; one we do not hold is answered `Lack`. At
//!    most [`SERVE_WINDOW`] chunks per peer are being read or sit in its channel's buffer;
//!    the driver reports [`Input::FileDrained`] when that buffer falls to its low mark.
//! 4. **A bad chunk costs the peer its connection.** A chunk that fails its proof, or a frame
//!    that does not decode, blocks and closes the peer (as a bad entry does); the fetch asks
//!    the others. Nothing of it is stored.
//! 5. **Progress is reported per stored chunk** ([`Output::FileProgress`]); a fetch paused
//!    ([`Input::Pause`]) or interrupted resumes from the chunks the driver says it holds.
//!
//! # Bounds
//!
//! | quantity | bound |
//! |---|---|
//! | frames a peer sends before its hello verifies | [`EARLY_FILE_FRAMES`], then dropped |
//! | wants queued per peer | [`MAX_SERVE_QUEUE`], then dropped (the peer asks again after its timeout) |
//! | chunks being read or buffered per peer | [`SERVE_WINDOW`] |
//! | fetches at once | [`MAX_FETCHES`] ([`NodeError::TooManyFetches`] past it) |
//! | requests in flight per peer | [`SERVE_WINDOW`] |
//! | peers per fetch, request timeout | [`crate::fetch::FetchConfig`] |
//! | a file | [`crate::blob::MAX_FILE_LEN`] |

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use crate::blob::{chunk_count, verify_hashed, Proof, Root};
use crate::blobwire::{availability, ranges_of, BlobFrame};
use crate::fetch::{Availability, Fetch, FetchConfig, FetchOutput};
use crate::log::Body;
use crate::room::RoomId;
use crate::wire::WireError;

use super::{ConnId, Node, NodeError, Output};

/// Frames held from a peer whose hello has not verified yet.
pub const EARLY_FILE_FRAMES: usize = 8;
/// Wants waiting per peer.
pub const MAX_SERVE_QUEUE: usize = 64;
/// Chunks per peer being read or waiting in its channel's buffer (1 MiB).
pub const SERVE_WINDOW: usize = 16;
/// Files fetched at once.
pub const MAX_FETCHES: usize = 32;
/// Chunks stored between two `Have`s to peers still fetching the same file (4 MiB).
pub const HAVE_EVERY: u64 = 64;

/// A frame held until its sender's hello verifies, with its chunk's leaf hash if the driver
/// gave one.
type EarlyFrame = (Vec<u8>, Option<[u8; 32]>);

/// What the node knows of files (held by [`Node`]).
#[derive(Debug, Default)]
pub(super) struct Files {
    /// What the driver stores, of any room: length and chunks.
    held: BTreeMap<Root, (u64, Availability)>,
    /// Each room's `File` roots and lengths, indexed as entries arrive.
    refs: BTreeMap<RoomId, BTreeMap<Root, u64>>,
    fetches: BTreeMap<Root, Fetching>,
    /// (peer, file) to whom we sent our `Have`.
    told: BTreeSet<(ConnId, Root)>,
    /// Peers that said they are still fetching a file.
    wanting: BTreeMap<Root, BTreeSet<ConnId>>,
    serving: BTreeMap<ConnId, Serving>,
    early: BTreeMap<ConnId, VecDeque<EarlyFrame>>,
}

#[derive(Debug)]
struct Fetching {
    room: RoomId,
    len: u64,
    fetch: Fetch,
    since_have: u64,
}

#[derive(Debug, Default)]
struct Serving {
    queue: VecDeque<(Root, u64)>,
    /// Chunks asked of the driver's store and not back yet, plus chunks sent since the
    /// channel last drained.
    busy: usize,
}

impl Files {
    fn holds(&self, root: &Root, index: u64) -> bool {
        match self.held.get(root) {
            Some((_, Availability::All)) => true,
            Some((_, Availability::Chunks(f))) => {
                usize::try_from(index).is_ok_and(|i| f.get(i).copied().unwrap_or(false))
            }
            None => false,
        }
    }

    /// Our `Have` of `root`, if we hold any of it.
    fn have(&self, root: Root) -> Option<BlobFrame> {
        let (len, has) = self.held.get(&root)?;
        let ranges = match has {
            Availability::All => None,
            Availability::Chunks(f) if !f.contains(&true) => return None,
            Availability::Chunks(f) => Some(ranges_of(f)),
        };
        Some(BlobFrame::Have {
            root,
            len: *len,
            ranges,
        })
    }
}

impl Node {
    /// What the driver stores of `root` (all of it, or these chunks). Replaces what it said
    /// before.
    pub(super) fn on_holding(&mut self, root: Root, len: u64, has: Availability) {
        if len > crate::blob::MAX_FILE_LEN {
            return;
        }
        let chunks = chunk_count(len) as usize;
        let has = match has {
            Availability::Chunks(f) if f.len() != chunks => return,
            Availability::Chunks(f) if f.iter().all(|h| *h) => Availability::All,
            has => has,
        };
        self.files.held.insert(root, (len, has));
    }

    /// The driver deleted what it held of `root`.
    pub(super) fn on_forget(&mut self, root: Root) {
        self.files.held.remove(&root);
        self.files.fetches.remove(&root);
    }

    /// Starts (or resumes) pulling the file `root` named in `room`.
    pub(super) fn start_fetch(&mut self, room: RoomId, root: Root) -> Result<(), NodeError> {
        let len = self
            .files
            .refs
            .get(&room)
            .and_then(|r| r.get(&root))
            .copied()
            .ok_or(NodeError::NoFile)?;
        if self.files.fetches.contains_key(&root) {
            return Ok(());
        }
        let stored: Vec<u64> = match self.files.held.get(&root) {
            Some((l, Availability::Chunks(f))) if *l == len => f
                .iter()
                .enumerate()
                .filter(|(_, h)| **h)
                .map(|(i, _)| i as u64)
                .collect(),
            Some((l, Availability::All)) if *l == len => (0..chunk_count(len)).collect(),
            _ => Vec::new(),
        };
        if self.files.fetches.len() >= MAX_FETCHES {
            return Err(NodeError::TooManyFetches);
        }
        let fetch = Fetch::new(root, len, stored, fetch_config()).map_err(|_| NodeError::NoFile)?;
        if fetch.is_done() {
            self.out.push_back(progress(room, root, &fetch));
            return Ok(());
        }
        self.files.held.entry(root).or_insert_with(|| {
            (
                len,
                Availability::Chunks(vec![false; chunk_count(len) as usize]),
            )
        });
        self.files.fetches.insert(
            root,
            Fetching {
                room,
                len,
                fetch,
                since_have: 0,
            },
        );
        let peers: Vec<ConnId> = self
            .conns_in(room)
            .filter(|(_, c)| c.verified_key().is_some())
            .map(|(k, _)| k)
            .collect();
        for conn in peers {
            self.ask(conn, root, len);
        }
        Ok(())
    }

    /// Stops pulling `root`; what is stored stays.
    pub(super) fn pause_fetch(&mut self, root: Root) {
        self.files.fetches.remove(&root);
    }

    /// Sends our `Have` of `root` to `conn` as a question.
    fn ask(&mut self, conn: ConnId, root: Root, len: u64) {
        let frame = self.files.have(root).unwrap_or(BlobFrame::Have {
            root,
            len,
            ranges: Some(Vec::new()),
        });
        self.files.told.insert((conn, root));
        self.send_file_frame(conn, &frame);
    }

    fn send_file_frame(&mut self, conn: ConnId, frame: &BlobFrame) {
        self.out.push_back(Output::SendFileFrame {
            conn,
            bytes: frame.encode(),
        });
    }

    /// A connection's hello verified: it is asked about every file its room is fetching,
    /// and what it sent before is read now.
    pub(super) fn files_peer_up(&mut self, conn: ConnId, room: RoomId) {
        let asks: Vec<(Root, u64)> = self
            .files
            .fetches
            .iter()
            .filter(|(_, f)| f.room == room)
            .map(|(root, f)| (*root, f.len))
            .collect();
        for (root, len) in asks {
            self.ask(conn, root, len);
        }
        for (bytes, leaf) in self.files.early.remove(&conn).unwrap_or_default() {
            self.on_file_frame(conn, bytes, leaf);
        }
    }

    /// A connection closed: its requests go to the others.
    pub(super) fn files_peer_gone(&mut self, conn: ConnId) {
        let now = self.now;
        self.files.told.retain(|(c, _)| *c != conn);
        self.files.serving.remove(&conn);
        self.files.early.remove(&conn);
        for set in self.files.wanting.values_mut() {
            set.remove(&conn);
        }
        self.files.wanting.retain(|_, s| !s.is_empty());
        let roots: Vec<Root> = self.files.fetches.keys().copied().collect();
        for root in roots {
            if let Some(f) = self.files.fetches.get_mut(&root) {
                f.fetch.peer_gone(now, conn.peer());
            }
            self.drain_fetch(root);
        }
    }

    /// A frame on a connection's files channel.
    pub(super) fn on_file_frame(&mut self, conn: ConnId, bytes: Vec<u8>, leaf: Option<[u8; 32]>) {
        let Some(c) = self.conns.get(&conn) else {
            return;
        };
        let room = c.room;
        if c.verified_key().is_none() {
            let early = self.files.early.entry(conn).or_default();
            if early.len() < EARLY_FILE_FRAMES {
                early.push_back((bytes, leaf));
            }
            return;
        }
        let frame = match BlobFrame::decode(&bytes) {
            Ok(f) => f,
            // A later version's frame: skipped.
            Err(WireError::UnknownKind(_)) => return,
            Err(e) => return self.files_blame(conn, room, &format!("a malformed frame: {e}")),
        };
        let root = match &frame {
            BlobFrame::Have { root, .. }
            | BlobFrame::Want { root, .. }
            | BlobFrame::Chunk { root, .. }
            | BlobFrame::Lack { root, .. } => *root,
        };
        let Some(len) = self
            .files
            .refs
            .get(&room)
            .and_then(|r| r.get(&root))
            .copied()
        else {
            return;
        };
        let now = self.now;
        match frame {
            BlobFrame::Have { len: l, ranges, .. } if l == len => {
                if ranges.is_some() {
                    self.files.wanting.entry(root).or_default().insert(conn);
                } else if let Some(set) = self.files.wanting.get_mut(&root) {
                    set.remove(&conn);
                }
                if let Some(f) = self.files.fetches.get_mut(&root).filter(|f| f.room == room) {
                    f.fetch
                        .peer_has(now, conn.peer(), availability(len, &ranges));
                    self.drain_fetch(root);
                }
                if !self.files.told.contains(&(conn, root)) {
                    if let Some(have) = self.files.have(root) {
                        self.files.told.insert((conn, root));
                        self.send_file_frame(conn, &have);
                    }
                }
            }
            BlobFrame::Have { .. } => {}
            BlobFrame::Want { index, .. } => {
                if !self.files.holds(&root, index) {
                    return self.send_file_frame(conn, &BlobFrame::Lack { root, index });
                }
                let s = self.files.serving.entry(conn).or_default();
                if s.queue.len() < MAX_SERVE_QUEUE && !s.queue.contains(&(root, index)) {
                    s.queue.push_back((root, index));
                }
                self.pump(conn);
            }
            BlobFrame::Chunk {
                index,
                proof,
                bytes,
                ..
            } => {
                if let Some(f) = self.files.fetches.get_mut(&root).filter(|f| f.room == room) {
                    f.fetch
                        .received(now, conn.peer(), index, bytes, &proof, leaf);
                    self.drain_fetch(root);
                }
            }
            BlobFrame::Lack { index, .. } => {
                if let Some(f) = self.files.fetches.get_mut(&root) {
                    f.fetch.peer_lacks(now, conn.peer(), index);
                    self.drain_fetch(root);
                }
            }
        }
    }

    /// Asks the driver's store for queued chunks while the peer's window has room.
    fn pump(&mut self, conn: ConnId) {
        while let Some(s) = self.files.serving.get_mut(&conn) {
            if s.busy >= SERVE_WINDOW {
                return;
            }
            let Some((root, index)) = s.queue.pop_front() else {
                return;
            };
            s.busy += 1;
            self.out.push_back(Output::ReadChunk { conn, root, index });
        }
    }

    /// The driver read a chunk we were asked for (`None`: it is not stored).
    pub(super) fn on_chunk_read(
        &mut self,
        conn: ConnId,
        root: Root,
        index: u64,
        chunk: Option<(Proof, Vec<u8>)>,
        leaf: Option<[u8; 32]>,
    ) {
        let len = self.files.held.get(&root).map(|(l, _)| *l);
        let good = match (&chunk, len) {
            (Some((proof, bytes)), Some(len)) => {
                verify_hashed(&root, len, index, bytes, leaf, proof).is_ok()
            }
            _ => false,
        };
        if !good {
            // Not held after all (deleted, or damaged in storage): never served.
            if let Some((_, has)) = self.files.held.get_mut(&root) {
                let chunks = len.map(chunk_count).unwrap_or(0) as usize;
                if let Availability::All = has {
                    *has = Availability::Chunks(vec![true; chunks]);
                }
                if let Availability::Chunks(f) = has {
                    if let Some(h) = usize::try_from(index).ok().and_then(|i| f.get_mut(i)) {
                        *h = false;
                    }
                }
            }
        }
        let Some(s) = self.files.serving.get_mut(&conn) else {
            return;
        };
        match chunk.filter(|_| good) {
            Some((proof, bytes)) => {
                let frame = BlobFrame::Chunk {
                    root,
                    index,
                    proof,
                    bytes,
                };
                self.send_file_frame(conn, &frame);
            }
            None => {
                s.busy = s.busy.saturating_sub(1);
                self.send_file_frame(conn, &BlobFrame::Lack { root, index });
                self.pump(conn);
            }
        }
    }

    /// The peer's files channel buffer fell to its low mark.
    pub(super) fn on_file_drained(&mut self, conn: ConnId) {
        if let Some(s) = self.files.serving.get_mut(&conn) {
            // What is still being read stays counted.
            s.busy = 0;
        }
        self.pump(conn);
    }

    fn files_blame(&mut self, conn: ConnId, room: RoomId, what: &str) {
        let name = match self
            .conns
            .get(&conn)
            .and_then(|c| c.verified_key().copied())
        {
            Some(key) => self.name_of(Some(&room), &key),
            None => "A peer".into(),
        };
        if let Some(session) = self.conns.get(&conn).map(|c| c.remote_session.clone()) {
            self.block(room, session);
        }
        self.close(conn, format!("{name} sent {what} and was disconnected."));
    }

    /// Executes what a fetch asks.
    fn drain_fetch(&mut self, root: Root) {
        loop {
            let Some(f) = self.files.fetches.get_mut(&root) else {
                return;
            };
            let Some(out) = f.fetch.poll_output() else {
                return;
            };
            let (room, len) = (f.room, f.len);
            match out {
                FetchOutput::Request { peer, index } => {
                    self.send_file_frame(ConnId(peer.0), &BlobFrame::Want { root, index });
                }
                FetchOutput::Store {
                    index,
                    proof,
                    bytes,
                } => {
                    let report = progress(room, root, &f.fetch);
                    f.since_have += 1;
                    let tell = f.since_have >= HAVE_EVERY;
                    if tell {
                        f.since_have = 0;
                    }
                    if let Some((_, Availability::Chunks(flags))) = self.files.held.get_mut(&root) {
                        if let Some(h) = usize::try_from(index).ok().and_then(|i| flags.get_mut(i))
                        {
                            *h = true;
                        }
                    }
                    self.out.push_back(Output::StoreChunk {
                        room,
                        root,
                        len,
                        index,
                        proof,
                        bytes,
                    });
                    self.out.push_back(report);
                    if tell {
                        self.tell_wanting(root);
                    }
                }
                FetchOutput::Blame { peer, reason } => {
                    self.files_blame(
                        ConnId(peer.0),
                        room,
                        &format!("a damaged piece of a file ({reason})"),
                    );
                }
                FetchOutput::Done => {
                    if let Some((_, has)) = self.files.held.get_mut(&root) {
                        *has = Availability::All;
                    }
                    self.files.fetches.remove(&root);
                    self.tell_wanting(root);
                    return;
                }
            }
        }
    }

    /// Sends our `Have` of `root` to the peers still fetching it.
    fn tell_wanting(&mut self, root: Root) {
        let Some(have) = self.files.have(root) else {
            return;
        };
        let peers: Vec<ConnId> = self
            .files
            .wanting
            .get(&root)
            .map(|s| s.iter().copied().collect())
            .unwrap_or_default();
        for conn in peers {
            self.files.told.insert((conn, root));
            self.send_file_frame(conn, &have);
        }
    }

    /// Indexes the `File` entries of the rooms that changed (the whole log of a room seen
    /// for the first time), and forgets rooms that are gone.
    pub(super) fn index_files(&mut self) {
        let rooms = &self.rooms;
        self.files.refs.retain(|id, _| rooms.contains_key(id));
        self.files
            .fetches
            .retain(|_, f| rooms.contains_key(&f.room));
        for (id, new) in &self.changed {
            let Some(r) = self.rooms.get(id) else {
                continue;
            };
            let log = r.sync.log();
            let refs = self.files.refs.entry(*id);
            let fresh = matches!(refs, std::collections::btree_map::Entry::Vacant(_));
            let refs = refs.or_default();
            let mut add = |body: &Body| {
                if let Body::File(f) = body {
                    refs.entry(f.root).or_insert(f.size);
                }
            };
            if fresh {
                for a in log.authors() {
                    for rec in log.entries_of(a) {
                        add(&rec.entry.body);
                    }
                }
            } else {
                for e in new {
                    if let Some(rec) = log.get_by_id(e) {
                        add(&rec.entry.body);
                    }
                }
            }
        }
    }

    /// Fetches' timeouts.
    pub(super) fn files_tick(&mut self) {
        let now = self.now;
        let roots: Vec<Root> = self.files.fetches.keys().copied().collect();
        for root in roots {
            if let Some(f) = self.files.fetches.get_mut(&root) {
                f.fetch.tick(now);
            }
            self.drain_fetch(root);
        }
    }

    /// The earliest fetch deadline.
    pub(super) fn files_deadline(&self) -> Option<u64> {
        self.files
            .fetches
            .values()
            .filter_map(|f| f.fetch.next_deadline())
            .min()
    }

    /// How much of `root` is held: (chunks held, chunks), if anything is known of it.
    pub fn file_progress(&self, root: &Root) -> Option<(u64, u64)> {
        let (len, has) = self.files.held.get(root)?;
        let total = chunk_count(*len);
        Some(match has {
            Availability::All => (total, total),
            Availability::Chunks(f) => (f.iter().filter(|h| **h).count() as u64, total),
        })
    }

    /// Whether `root` is being fetched.
    pub fn fetching(&self, root: &Root) -> bool {
        self.files.fetches.contains_key(root)
    }

    /// The roots of the files a room's log names, deleted or not.
    pub fn room_files(&self, room: &RoomId) -> Vec<Root> {
        self.files
            .refs
            .get(room)
            .map(|r| r.keys().copied().collect())
            .unwrap_or_default()
    }

    /// Whether a message naming `root` still shows in some room: one its author has not
    /// deleted. A driver asks before deleting a file's chunks, when a message or a room
    /// went; it reads the logs of the rooms that name the file.
    pub fn file_in_use(&self, root: &Root) -> bool {
        self.files
            .refs
            .iter()
            .filter(|(_, r)| r.contains_key(root))
            .filter_map(|(id, _)| self.rooms.get(id))
            .any(|r| {
                let log = r.sync.log();
                log.authors().any(|a| {
                    // Only an author's own Delete takes a message away (as the view rules).
                    let deleted: BTreeSet<_> = log
                        .entries_of(a)
                        .filter_map(|rec| match rec.entry.body {
                            Body::Delete { target } => Some(target),
                            _ => None,
                        })
                        .collect();
                    log.entries_of(a).any(|rec| {
                        matches!(&rec.entry.body, Body::File(f) if f.root == *root)
                            && !deleted.contains(&rec.id)
                    })
                })
            })
    }
}

/// A fetch asks each peer for as many chunks as a peer serves at once ([`SERVE_WINDOW`]):
/// fewer leaves the link idle while each chunk is read from the holder's store.
fn fetch_config() -> FetchConfig {
    FetchConfig {
        max_in_flight: SERVE_WINDOW,
        ..FetchConfig::default()
    }
}

fn progress(room: RoomId, root: Root, fetch: &Fetch) -> Output {
    let (have, total) = fetch.progress();
    Output::FileProgress {
        room,
        root,
        have,
        total,
    }
}
