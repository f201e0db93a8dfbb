//! The keeper's driver of natter-core's [`Node`]: signaling, UDP and timers in, the node's
//! outputs executed.
//!
//! # What
//!
//! One task owns everything: the node, the store, the str0m connections and the signaling
//! pool. It waits for the next of a server message, a datagram, or the earliest timer (the
//! node's or a connection's), turns it into node inputs, then executes every output in order
//! (the same order rules as the browser: entries are on disk before anything after them
//! runs). Invitations arrive in the keeper's mailbox ([`crate::mailbox`]).
//!
//! The keeper is a member like any other: it pulls and pushes, so a post made while its
//! author is alone with the keeper reaches the keeper at once. It never posts messages; a
//! member's signed `Keeper` entry naming this key with `keep = false` makes it delete the
//! room and everything it stored of it.
//!
//! It fetches every file its rooms name, as far as its byte budget allows
//! ([`crate::files`]), and serves them like any member holding them. At start it tells the
//! node what it stores of each file before adding the rooms (as the browser does), then
//! resumes the fetches left unfinished. A chunk is committed to the store before the node
//! counts it ([`Output::StoreChunk`] is executed before anything after it); a chunk that
//! cannot be stored pauses that file's fetch.
//!
//! # Logs
//!
//! Structured (`tracing`), with room ids shortened and no message text, names of members,
//! keys of rooms or signals.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use natter_core::blob::Root;
use natter_core::fetch::Availability;
use natter_core::log::Body;
use natter_core::node::{ConnId, Input, Node, NodeConfig, NodeError, Output, RoomSetup};
use natter_core::room::RoomId;
use rand_core::SeedableRng;
use tokio::net::UdpSocket;
use tokio::sync::mpsc;

use crate::files::{named_by, Admission, Files};
use crate::mailbox::Mailbox;
use crate::pacer::Pacer;
use crate::rtc::{Datagram, PeerRtc, RtcEvent};
use crate::signaling::{Pool, SigEvent};
use crate::store::Store;
use crate::Config;

/// How often the keeper logs what it holds and uses.
const USAGE_EVERY: Duration = Duration::from_secs(60);
/// The longest wait before the signaling pool is opened again.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// A room id as logged: enough to tell rooms apart, not to find them on the server.
pub(crate) fn short(room: &RoomId) -> String {
    room.to_hex().get(..8).unwrap_or("").to_owned()
}

/// A keeper modified to break the signature of every entry it serves, for the test that
/// browsers refuse what such a keeper sends: debug builds only, with
/// `NATTER_KEEPER_TAMPER=1`. Flips the last byte of `Entries` and `Push` frames (kind 4 and
/// 5, after the version byte): the last entry's signature.
#[cfg(debug_assertions)]
fn tamper(mut frame: Vec<u8>) -> Vec<u8> {
    use std::sync::OnceLock;
    static ON: OnceLock<bool> = OnceLock::new();
    let on = *ON.get_or_init(|| std::env::var_os("NATTER_KEEPER_TAMPER").is_some());
    if on && matches!(frame.get(1), Some(4 | 5)) {
        if let Some(last) = frame.last_mut() {
            *last ^= 0x01;
        }
    }
    frame
}

#[cfg(not(debug_assertions))]
fn tamper(frame: Vec<u8>) -> Vec<u8> {
    frame
}

/// Adds every room of `store` to `node`, with its history: a keeper's cold start. Returns
/// the rooms and entries loaded.
pub fn load(store: &Store, node: &mut Node) -> Result<BTreeMap<RoomId, u64>, String> {
    let started = Instant::now();
    let rooms = store.load().map_err(|e| e.to_string())?;
    let (count, entries) = (
        rooms.len(),
        rooms.iter().map(|r| r.history.len()).sum::<usize>(),
    );
    let mut bytes = BTreeMap::new();
    for stored in rooms {
        let id = stored.room.id();
        bytes.insert(id, stored.bytes);
        let setup = RoomSetup {
            history: stored.history,
            evidence: stored.evidence,
            stored: true,
            check_lobby: false,
            retention: stored.retention,
            floors: stored.floors,
            ..RoomSetup::new(stored.room, false)
        };
        if let Err(e) = node.handle(now_ms(), Input::AddRoom(Box::new(setup))) {
            tracing::error!(room = %short(&id), error = %e, "a stored room does not load");
        }
    }
    tracing::info!(
        rooms = count,
        entries,
        ms = started.elapsed().as_millis() as u64,
        "loaded the store"
    );
    Ok(bytes)
}

/// The running keeper.
pub(crate) struct Driver {
    pub(crate) node: Node,
    pub(crate) store: Store,
    pub(crate) config: Config,
    pub(crate) pool: Pool,
    pub(crate) mailbox: Mailbox,
    conns: BTreeMap<ConnId, PeerRtc>,
    socket: UdpSocket,
    local: SocketAddr,
    node_timer: Option<u64>,
    reopen_at: Option<Instant>,
    backoff: Duration,
    datagrams: Vec<Datagram>,
    /// Datagrams waiting for their turn to leave.
    pacer: Pacer,
    rtc_deadline: Option<Instant>,
    /// Bytes of entries stored per room.
    bytes: BTreeMap<RoomId, u64>,
    /// The files the rooms name, and those kept.
    files: Files,
    /// Rooms (and the mailbox) the server confirmed since the pool last opened.
    joined: usize,
    /// When usage is logged next.
    usage_at: Instant,
}

impl Driver {
    pub(crate) fn new(
        config: Config,
        store: Store,
        socket: UdpSocket,
        local: SocketAddr,
        events: mpsc::UnboundedSender<SigEvent>,
    ) -> Result<Driver, String> {
        let identity = store.identity().map_err(|e| e.to_string())?;
        let node_config = NodeConfig {
            max_conns_per_room: config.max_peers_per_room,
            ..NodeConfig::default()
        };
        let rng = rand_chacha::ChaCha20Rng::from_rng(rand_core::OsRng)
            .map_err(|e| format!("seeding the RNG: {e}"))?;
        let mailbox = Mailbox::new(&identity.public());
        let node = Node::new(identity, config.name.clone(), node_config, Box::new(rng));
        let pool = Pool::new(config.ws_url(), config.rooms_per_socket, events);
        let pacer = Pacer::new(config.pace, crate::PACE_BURST);
        Ok(Driver {
            node,
            store,
            config,
            pool,
            mailbox,
            conns: BTreeMap::new(),
            socket,
            local,
            node_timer: None,
            reopen_at: None,
            backoff: Duration::from_secs(1),
            datagrams: Vec::new(),
            pacer,
            rtc_deadline: None,
            bytes: BTreeMap::new(),
            files: Files::default(),
            joined: 0,
            usage_at: Instant::now() + USAGE_EVERY,
        })
    }

    /// Tells the node what is stored of each file, adds every stored room, resumes its
    /// files' fetches, then joins the mailbox.
    pub(crate) fn start(&mut self) -> Result<(), String> {
        for f in self.store.files().map_err(|e| e.to_string())? {
            self.files.stored(f.root, f.len);
            self.input(Input::Holding {
                root: f.root,
                len: f.len,
                has: Availability::Chunks(f.held),
            });
        }
        self.bytes = load(&self.store, &mut self.node)?;
        let rooms: Vec<RoomId> = self.node.rooms().map(|(id, _)| *id).collect();
        for room in rooms {
            for (root, len) in self.named_in(&room) {
                self.name_file(room, root, len);
            }
        }
        let orphans = self.files.orphans();
        self.delete_files(&orphans);
        self.resume_fetches();
        for link in self.config.keep.clone() {
            let room = natter_core::room::Invite::parse(&link)
                .map_err(|e| e.to_string())
                .and_then(|i| {
                    natter_core::room::Room::from_invite(&i, None).map_err(|e| e.to_string())
                })
                .map_err(|e| format!("--keep: {e}"))?;
            if self.node.room(&room.id()).is_none() {
                tracing::info!(room = %short(&room.id()), "keeping a room given on the command line");
                let setup = RoomSetup {
                    check_lobby: false,
                    ..RoomSetup::new(room, false)
                };
                self.input(Input::AddRoom(Box::new(setup)));
            }
        }
        self.pool.join(self.mailbox.id());
        self.pump();
        Ok(())
    }

    /// Runs until the process is stopped.
    pub(crate) async fn run(&mut self, mut events: mpsc::UnboundedReceiver<SigEvent>) {
        let mut buf = vec![0u8; 2048];
        loop {
            self.send_datagrams().await;
            let wait = self.next_deadline();
            tokio::select! {
                ev = events.recv() => match ev {
                    Some(ev) => self.on_signaling(ev),
                    None => return,
                },
                got = self.socket.recv_from(&mut buf) => match got {
                    Ok((n, from)) => self.on_datagram(from, n, &buf),
                    Err(e) => tracing::warn!(error = %e, "reading the UDP socket"),
                },
                _ = tokio::time::sleep_until(wait.into()) => {}
            }
            self.on_timers();
            self.pump();
        }
    }

    fn next_deadline(&self) -> Instant {
        let now = Instant::now();
        let mut at = self.rtc_deadline.unwrap_or(now + Duration::from_secs(5));
        if let Some(t) = self.node_timer {
            let ms = t.saturating_sub(now_ms());
            at = at.min(now + Duration::from_millis(ms));
        }
        if let Some(t) = self.reopen_at {
            at = at.min(t);
        }
        if let Some(t) = self.pacer.next_at() {
            at = at.min(t);
        }
        at.min(self.usage_at).max(now)
    }

    fn on_timers(&mut self) {
        if self.usage_at <= Instant::now() {
            self.usage_at = Instant::now() + USAGE_EVERY;
            tracing::info!(
                rooms = self.node.rooms().count(),
                connections = self.conns.len(),
                stored_bytes = self.stored_bytes(),
                rss_kib = crate::usage::rss_kib("self").unwrap_or(0),
                datagrams_dropped = self.pacer.dropped(),
                "usage"
            );
        }
        if self.node_timer.is_some_and(|t| t <= now_ms()) {
            self.node_timer = None;
            self.input(Input::Tick);
        }
        if self.reopen_at.is_some_and(|t| t <= Instant::now()) {
            self.reopen_at = None;
            tracing::info!("connecting to the signaling server again");
            self.pool.reopen();
        }
    }

    fn on_datagram(&mut self, from: SocketAddr, n: usize, buf: &[u8]) {
        let bytes = &buf[..n];
        let now = Instant::now();
        if let Some(c) = self.conns.values_mut().find(|c| c.accepts(from, bytes)) {
            c.receive(now, from, bytes);
        }
    }

    fn on_signaling(&mut self, ev: SigEvent) {
        let input = match ev {
            SigEvent::Node(input) => match input {
                Input::Joined {
                    room,
                    session,
                    peers,
                } => {
                    self.backoff = Duration::from_secs(1);
                    self.joined += 1;
                    if self.joined == self.pool.rooms() {
                        tracing::info!(rooms = self.joined, "joined every room");
                    }
                    if room == self.mailbox.id() {
                        self.mailbox.joined(session);
                        return;
                    }
                    Input::Joined {
                        room,
                        session,
                        peers,
                    }
                }
                Input::Blob { room, from, blob } if room == self.mailbox.id() => {
                    return self.on_invite(&from, &blob);
                }
                other => other,
            },
            SigEvent::Error(why) => {
                tracing::warn!(error = %why, "the signaling server refused something");
                return;
            }
            SigEvent::Lost(generation, why) => {
                if generation != self.pool.generation() {
                    return;
                }
                tracing::warn!(error = %why, retry_s = self.backoff.as_secs(), "lost the signaling server");
                self.pool.drop_all();
                self.mailbox.lost();
                self.joined = 0;
                self.reopen_at = Some(Instant::now() + self.backoff);
                self.backoff = (self.backoff * 2).min(MAX_BACKOFF);
                Input::SignalingLost
            }
        };
        self.input(input);
    }

    pub(crate) fn input(&mut self, input: Input) {
        if let Err(e) = self.node.handle(now_ms(), input) {
            tracing::warn!(error = %e, "the node refused an input");
        }
    }

    /// Executes the node's outputs and the connections' events until both are quiet.
    pub(crate) fn pump(&mut self) {
        loop {
            let mut busy = false;
            while let Some(out) = self.node.poll_output() {
                busy = true;
                self.execute(out);
            }
            let now = Instant::now();
            self.rtc_deadline = None;
            let ids: Vec<ConnId> = self.conns.keys().copied().collect();
            for id in ids {
                let Some(c) = self.conns.get_mut(&id) else {
                    continue;
                };
                if let Some(t) = c.poll(now, &mut self.datagrams) {
                    self.rtc_deadline = Some(self.rtc_deadline.map_or(t, |d| d.min(t)));
                }
                let mut events = Vec::new();
                while let Some(e) = c.next_event() {
                    events.push(e);
                }
                for e in events {
                    busy = true;
                    self.on_rtc(id, e);
                }
            }
            if !busy {
                return;
            }
        }
    }

    fn on_rtc(&mut self, conn: ConnId, e: RtcEvent) {
        let input = match e {
            RtcEvent::Signal(signal) => Input::LocalSignal { conn, signal },
            RtcEvent::Open { local, remote } => {
                tracing::info!(conn = conn.0, "channel open");
                Input::ChannelOpen {
                    conn,
                    local_fingerprint: local,
                    remote_fingerprint: remote,
                }
            }
            RtcEvent::Frame(bytes) => Input::Frame { conn, bytes },
            RtcEvent::FileFrame(bytes) => Input::FileFrame {
                conn,
                bytes,
                leaf: None,
            },
            RtcEvent::Link(link) => Input::Link { conn, link },
            RtcEvent::Drained => Input::Drained(conn),
            RtcEvent::FileDrained => Input::FileDrained(conn),
            RtcEvent::Closed(why) => {
                tracing::debug!(conn = conn.0, why = %why, "connection closed");
                self.conns.remove(&conn);
                Input::Closed(conn)
            }
        };
        self.input(input);
    }

    fn execute(&mut self, out: Output) {
        match out {
            Output::JoinSignaling(room) => self.pool.join(&room),
            Output::LeaveSignaling(room) => self.pool.leave(&room),
            Output::Signal { room, to, blob } => self.pool.signal(&room, &to, &blob),
            Output::OpenConn { conn, polite } => {
                match PeerRtc::new(self.local, polite, Instant::now()) {
                    Ok(c) => {
                        self.conns.insert(conn, c);
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "could not open a connection");
                        self.input(Input::Closed(conn));
                    }
                }
            }
            Output::ApplySignal { conn, signal } => {
                if let Some(c) = self.conns.get_mut(&conn) {
                    c.signal(signal);
                }
            }
            Output::CloseConn(conn) => {
                if let Some(mut c) = self.conns.remove(&conn) {
                    c.close("closed by the protocol".into());
                }
            }
            Output::Send { conn, bytes } => {
                if let Some(c) = self.conns.get_mut(&conn) {
                    c.send(tamper(bytes));
                }
            }
            Output::StoreOwn { room, records } | Output::Store { room, records } => {
                match self.store.store(&room, &records) {
                    Ok(()) => {
                        let added: u64 = records.iter().map(|r| r.bytes.len() as u64).sum();
                        *self.bytes.entry(room).or_default() += added;
                        tracing::debug!(room = %short(&room), entries = records.len(), "stored");
                    }
                    Err(e) => {
                        tracing::error!(room = %short(&room), error = %e, "storing entries failed")
                    }
                }
                let named: Vec<(Root, u64)> = named_by(&records).collect();
                for (root, len) in named {
                    if self.name_file(room, root, len) {
                        self.fetch(room, root);
                    }
                }
                self.check_removal(room, &records);
            }
            Output::RetentionDue(room) => self.node.apply_retention(&room),
            Output::Prune {
                room,
                author,
                through,
                id,
            } => {
                match self.store.prune(&room, &author, through, &id) {
                    Ok(freed) => {
                        let held = self.bytes.entry(room).or_default();
                        *held = held.saturating_sub(freed);
                        tracing::debug!(room = %short(&room), through, freed, "dropped by retention");
                    }
                    Err(e) => tracing::error!(room = %short(&room), error = %e, "pruning failed"),
                }
                // Files only the dropped entries named go with them.
                let named = self.named_in(&room);
                let gone = self.files.renamed(room, named);
                self.delete_files(&gone);
            }
            Output::SaveRoom(meta) => {
                if let Err(e) = self.store.save_room(&meta.room) {
                    tracing::error!(error = %e, "saving a room failed");
                }
            }
            Output::DeleteRoom(room) => match self.store.delete_room(&room) {
                Ok(()) => {
                    self.bytes.remove(&room);
                    let gone = self.files.remove_room(&room);
                    self.delete_files(&gone);
                    tracing::info!(room = %short(&room), files = gone.len(), "deleted the room and its history");
                    // Files refused for the budget may fit now.
                    let admitted = self
                        .files
                        .admit_waiting(self.entry_bytes(), self.config.max_bytes);
                    if !admitted.is_empty() {
                        tracing::info!(
                            files = admitted.len(),
                            "fetching files that fit the byte budget now"
                        );
                    }
                    // A file it shared with a room still kept may have been fetched for it.
                    self.resume_fetches();
                }
                Err(e) => {
                    tracing::error!(room = %short(&room), error = %e, "deleting a room failed")
                }
            },
            Output::SaveEvidence {
                room,
                first,
                second,
            } => {
                if let Err(e) = self.store.save_evidence(&room, &first, &second) {
                    tracing::error!(error = %e, "saving evidence failed");
                }
            }
            Output::Notice(words) => tracing::info!(notice = %words, "node"),
            Output::ScheduleTimer(at) => self.node_timer = Some(at),
            Output::SavePeer { .. }
            | Output::NameChanged(_)
            | Output::Incoming { .. }
            | Output::RoomChanged { .. } => {}
            Output::SendFileFrame { conn, bytes } => {
                if let Some(c) = self.conns.get_mut(&conn) {
                    c.send_file(bytes);
                }
            }
            Output::ReadChunk { conn, root, index } => {
                let chunk = self.store.chunk(&root, index).unwrap_or_else(|e| {
                    tracing::error!(error = %e, "reading a chunk failed");
                    None
                });
                self.input(Input::ChunkRead {
                    conn,
                    root,
                    index,
                    chunk,
                    leaf: None,
                });
            }
            Output::StoreChunk {
                room,
                root,
                len,
                index,
                proof,
                bytes,
            } => {
                if let Err(e) = self.store.put_chunk(&root, len, index, &proof, &bytes) {
                    tracing::error!(room = %short(&room), error = %e, "storing a chunk failed: the file's fetch pauses");
                    self.input(Input::Pause(root));
                }
            }
            Output::FileProgress {
                room,
                root: _,
                have,
                total,
            } => {
                if have == total {
                    tracing::info!(room = %short(&room), chunks = total, "holds a file whole");
                    self.resume_fetches();
                }
            }
        }
    }

    /// The files the entries held of `room` name.
    fn named_in(&self, room: &RoomId) -> Vec<(Root, u64)> {
        self.node
            .room(room)
            .map(|r| {
                let log = r.sync().log();
                log.authors()
                    .flat_map(|a| named_by(log.entries_of(a)))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Room `room` names file `root` of `len` bytes: kept if it fits the budget. Returns
    /// whether it is newly kept (to be fetched).
    fn name_file(&mut self, room: RoomId, root: Root, len: u64) -> bool {
        let entries = self.entry_bytes();
        match self
            .files
            .name(room, root, len, entries, self.config.max_bytes)
        {
            Admission::Fetch => true,
            Admission::Kept => false,
            Admission::OverBudget => {
                tracing::warn!(
                    room = %short(&room),
                    bytes = len,
                    stored_bytes = self.stored_bytes(),
                    limit = self.config.max_bytes,
                    "not fetching a file: it does not fit the byte budget"
                );
                false
            }
        }
    }

    /// Starts fetching `root` for `room`. Returns false when the node runs as many fetches
    /// as it may: the file waits until one ends ([`Driver::resume_fetches`]).
    fn fetch(&mut self, room: RoomId, root: Root) -> bool {
        match self.node.handle(now_ms(), Input::Fetch { room, root }) {
            Ok(()) => true,
            Err(NodeError::TooManyFetches) => false,
            Err(e) => {
                tracing::warn!(room = %short(&room), error = %e, "a file's fetch did not start");
                true
            }
        }
    }

    /// Starts the fetch of every kept file neither held whole nor being fetched, as far as
    /// the node takes them.
    fn resume_fetches(&mut self) {
        let todo: Vec<(RoomId, Root)> = self
            .files
            .kept()
            .filter(|(_, root)| {
                !self.node.fetching(root)
                    && self
                        .node
                        .file_progress(root)
                        .is_none_or(|(have, total)| have < total)
            })
            .collect();
        for (room, root) in todo {
            if !self.fetch(room, root) {
                return;
            }
        }
    }

    /// Deletes files from the store and tells the node they are gone.
    fn delete_files(&mut self, roots: &[Root]) {
        if roots.is_empty() {
            return;
        }
        if let Err(e) = self.store.delete_files(roots) {
            tracing::error!(error = %e, "deleting files failed");
        }
        for root in roots {
            self.input(Input::Forget(*root));
        }
        tracing::info!(files = roots.len(), "deleted files no kept room names");
    }

    /// A member's `Keeper` entry that stops this keeper: the room and its copy go.
    fn check_removal(&mut self, room: RoomId, records: &[natter_core::log::Record]) {
        let me = self.node.me();
        let names_me = records
            .iter()
            .any(|r| matches!(&r.entry.body, Body::Keeper { key, .. } if *key == me));
        if !names_me {
            return;
        }
        let removed = self
            .node
            .room(&room)
            .is_some_and(|r| r.sync().view().keeper_removed(&me));
        if removed {
            tracing::info!(room = %short(&room), "a member stopped this keeper: deleting the room");
            self.input(Input::Delete(room));
        }
    }

    /// Bytes of entries stored in all rooms, and of the files kept (each at its whole
    /// length, once).
    pub(crate) fn stored_bytes(&self) -> u64 {
        self.entry_bytes() + self.files.bytes()
    }

    /// Bytes of the rooms' entries stored.
    fn entry_bytes(&self) -> u64 {
        self.bytes.values().sum()
    }

    /// Sends the datagrams whose turn has come; the others wait in the pacer.
    async fn send_datagrams(&mut self) {
        let now = Instant::now();
        for d in self.datagrams.drain(..) {
            self.pacer.push(now, d);
        }
        while let Some(d) = self.pacer.pop(now) {
            if let Err(e) = self.socket.send_to(&d.bytes, d.to).await {
                tracing::debug!(error = %e, "sending a datagram");
            }
        }
    }
}
