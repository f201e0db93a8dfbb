//! A seeded network of whole [`Node`]s: signaling server, connection set-up, handshakes and
//! sync (feature `sim`, for tests).
//!
//! # What
//!
//! [`NodeSim`] runs N devices in one password room. Unlike [`crate::sim`], which wires
//! [`crate::sync::RoomSync`]s together directly, every device here is a [`Node`] and
//! everything between them goes the way it goes in the browser: each joins the room and its
//! lobby on a simulated signaling server, connects to the sessions the server names, seals
//! its connection set-up for the server to relay, opens a channel once both ends have the
//! other's (simulated) DTLS fingerprint, proves its identity with a hello, and syncs.
//! Channels are reliable and ordered, as DataChannels are; what goes wrong is whole
//! connections: links that fail, partitions that break every channel across them (and let
//! none be set up) until they heal, and crashes, after which a device is rebuilt from what
//! it stored and joins with new sessions. Latency is uniform in a range. One seeded PRNG
//! drives everything.
//!
//! With [`NodeSimConfig::files`], devices also post files ([`crate::node::files`]): each
//! device fetches every file it sees over the connections' second channel, resuming after a
//! crash from the chunks it stored, and every honest device must end holding every file,
//! byte for byte.
//!
//! [`NodeSim::check`] asserts that every honest device ends connected to every other,
//! with the same history holding every honest post, everything it holds stored; that no
//! honest device blocked an honest session; that every adversary that reached a handshake
//! was blocked by every honest device it reached; and that a device with the wrong password
//! met nobody and was told the password may be wrong.
//!
//! # Adversaries ([`NodeAdversary`])
//!
//! An outsider who knows the room id (the server does) but not its key, sending garbage
//! blobs; a member replaying another connection's hello; a member sending garbage frames
//! once verified; a joiner with the wrong password; and a member that corrupts every chunk
//! of a file it serves.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap};

use crate::blob::{chunk_count, Outboard, Proof, Root, CHUNK_LEN};
use crate::blobwire::BlobFrame;
use crate::fetch::Availability;
use crate::identity::Identity;
use crate::log::{Body, EntryId, FileRef, Record};
use crate::node::{ConnId, Input, Link, Node, NodeConfig, Output, RoomSetup, Verdict};
use crate::peer_signal::PeerSignal;
use crate::room::{PasswordKey, Room, RoomId, RoomSecret};
use crate::sim::SimRng;
use crate::sync::SyncConfig;
use crate::wire::Frame;

/// A misbehaving device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeAdversary {
    /// Knows the room id but not its key: sends garbage blobs to every session.
    Outsider,
    /// A member whose hello is one another peer sent it on another connection.
    ReplayedHello,
    /// A member that sends garbage once its hello verified.
    GarbageFrames,
    /// Has the link but the wrong password.
    WrongPassword,
    /// A member that fetches files like anyone and corrupts every chunk it serves.
    BadChunks,
}

/// Parameters of a run.
#[derive(Debug, Clone)]
pub struct NodeSimConfig {
    /// Seed of everything random.
    pub seed: u64,
    /// Honest devices.
    pub devices: usize,
    /// Entries each honest device posts.
    pub posts: usize,
    /// Files posted by random honest devices (up to five chunks each).
    pub files: usize,
    /// One-way latency range in ms (inclusive), also to and from the server.
    pub latency_ms: (u64, u64),
    /// Channels that fail at random times.
    pub link_failures: usize,
    /// Partitions (each splits the devices in two, then heals).
    pub partitions: usize,
    /// Crashes (each followed by a recovery).
    pub crashes: usize,
    /// Posts, failures, partitions and crashes happen in `[0, active_ms)`.
    pub active_ms: u64,
    /// Time after `active_ms` to settle.
    pub settle_ms: u64,
    /// Misbehaving devices.
    pub adversaries: Vec<NodeAdversary>,
    /// The nodes' configuration.
    pub node: NodeConfig,
}

impl NodeSimConfig {
    /// `devices` devices posting `posts` entries each, with failing links, partitions and
    /// crashes that heal.
    pub fn standard(seed: u64, devices: usize, posts: usize) -> Self {
        NodeSimConfig {
            seed,
            devices,
            posts,
            files: 0,
            latency_ms: (5, 80),
            link_failures: 3,
            partitions: 1,
            crashes: 1,
            active_ms: 20_000,
            settle_ms: 40_000,
            adversaries: Vec::new(),
            node: NodeConfig {
                sync: SyncConfig {
                    summary_interval_ms: 1_000,
                    want_timeout_ms: 2_000,
                    serve_window_bytes: 16 * 1024,
                    ..SyncConfig::default()
                },
                hello_timeout_ms: 3_000,
                connect_timeout_ms: 5_000,
                retry_ms: 500,
                max_retry_ms: 4_000,
                ..NodeConfig::default()
            },
        }
    }
}

#[derive(Debug)]
enum Ev {
    /// A device's message reaches the server.
    Join {
        dev: usize,
        life: u64,
        room: String,
    },
    Leave {
        dev: usize,
        life: u64,
        room: String,
    },
    Relay {
        dev: usize,
        life: u64,
        room: String,
        to: String,
        blob: String,
    },
    /// Something reaches a device.
    Deliver {
        dev: usize,
        life: u64,
        what: Delivery,
    },
    Timer {
        dev: usize,
        life: u64,
    },
    Post {
        dev: usize,
    },
    PostFile {
        dev: usize,
    },
    FailLink,
    PartitionStart {
        side: Vec<bool>,
    },
    PartitionEnd,
    Crash {
        dev: usize,
    },
    Recover {
        dev: usize,
    },
}

#[derive(Debug)]
enum Delivery {
    /// From the server: joined, a peer joined or left, a sealed signal.
    Server(Input),
    /// The browser has our offer ready.
    LocalOffer {
        conn: ConnId,
    },
    Open {
        conn: ConnId,
        local: String,
        remote: String,
    },
    Frame {
        conn: ConnId,
        bytes: Vec<u8>,
    },
    Drained {
        conn: ConnId,
    },
    FileFrame {
        conn: ConnId,
        bytes: Vec<u8>,
    },
    FileDrained {
        conn: ConnId,
    },
    ChunkRead {
        conn: ConnId,
        root: Root,
        index: u64,
    },
    Failed {
        conn: ConnId,
    },
    Closed {
        conn: ConnId,
    },
}

/// One end of a channel.
#[derive(Debug)]
struct End {
    fingerprint: String,
    remote_fingerprint: Option<String>,
    peer: Option<(usize, ConnId)>,
    /// When the last frame sent on it arrives (channels are ordered).
    last_arrival: u64,
    /// The same for its files channel.
    last_file_arrival: u64,
}

#[derive(Debug)]
struct Device {
    secret: [u8; 32],
    room: Room,
    adversary: Option<NodeAdversary>,
    node: Option<Node>,
    life: u64,
    store: BTreeMap<EntryId, Record>,
    stored_twice: usize,
    evidence: Vec<(Record, Record)>,
    posted: usize,
    timer_at: Option<u64>,
    ends: BTreeMap<ConnId, End>,
    /// For the hello replayer: a hello another peer sent it.
    captured_hello: Option<Vec<u8>>,
    notices: Vec<String>,
    /// Its chunk store: file lengths, and chunks with their proofs.
    file_lens: BTreeMap<Root, u64>,
    chunks: BTreeMap<(Root, u64), (Proof, Vec<u8>)>,
    /// For the chunk corrupter: the devices it sent a chunk to (and in which life).
    served: BTreeSet<(usize, u64)>,
}

/// The simulated devices, server and channels. See the [module documentation](self).
#[derive(Debug)]
pub struct NodeSim {
    cfg: NodeSimConfig,
    room: RoomId,
    rng: SimRng,
    now: u64,
    n_events: u64,
    queue: BinaryHeap<Reverse<(u64, u64, usize)>>,
    events: BTreeMap<usize, Ev>,
    devices: Vec<Device>,
    /// The server: room (hex) → session → device.
    server: BTreeMap<String, BTreeMap<String, usize>>,
    next_session: u64,
    side: Option<Vec<bool>>,
    /// Channels set up, in all.
    pub channels: u64,
    /// Every file posted, by root.
    originals: BTreeMap<Root, Vec<u8>>,
}

impl NodeSim {
    /// Builds the devices and schedules every post, failure, partition and crash.
    pub fn new(cfg: NodeSimConfig) -> NodeSim {
        let mut rng = SimRng::new(cfg.seed);
        let secret = RoomSecret::from_bytes(rng.bytes32());
        // Stretched passwords (Argon2id is the browser's business, not the protocol's).
        let stretch = |rng: &mut SimRng| {
            Room::from_parts(
                secret.clone(),
                Some("sim"),
                Some(PasswordKey::from_bytes(rng.bytes32())),
            )
            .unwrap_or_else(|e| panic!("the simulated room: {e}"))
        };
        let right = stretch(&mut rng);
        let wrong = stretch(&mut rng);
        let mut devices = Vec::new();
        for i in 0..cfg.devices + cfg.adversaries.len() {
            let adversary = i.checked_sub(cfg.devices).map(|a| cfg.adversaries[a]);
            let room = match adversary {
                Some(NodeAdversary::WrongPassword) => wrong.clone(),
                _ => right.clone(),
            };
            devices.push(Device {
                secret: rng.bytes32(),
                room,
                adversary,
                node: None,
                life: 0,
                store: BTreeMap::new(),
                stored_twice: 0,
                evidence: Vec::new(),
                posted: 0,
                timer_at: None,
                ends: BTreeMap::new(),
                captured_hello: None,
                notices: Vec::new(),
                file_lens: BTreeMap::new(),
                chunks: BTreeMap::new(),
                served: BTreeSet::new(),
            });
        }
        let mut sim = NodeSim {
            room: right.id(),
            cfg,
            rng,
            now: 0,
            n_events: 0,
            queue: BinaryHeap::new(),
            events: BTreeMap::new(),
            devices,
            server: BTreeMap::new(),
            next_session: 0,
            side: None,
            channels: 0,
            originals: BTreeMap::new(),
        };
        for dev in 0..sim.devices.len() {
            sim.boot(dev);
        }
        let active = sim.cfg.active_ms.max(1);
        for dev in 0..sim.cfg.devices {
            for _ in 0..sim.cfg.posts {
                let at = sim.rng.range(100, active);
                sim.at(at, Ev::Post { dev });
            }
        }
        for _ in 0..sim.cfg.files {
            let at = sim.rng.range(100, active);
            let dev = sim.rng.range(0, sim.cfg.devices as u64 - 1) as usize;
            sim.at(at, Ev::PostFile { dev });
        }
        for _ in 0..sim.cfg.link_failures {
            let at = sim.rng.range(1_000, active);
            sim.at(at, Ev::FailLink);
        }
        for _ in 0..sim.cfg.partitions {
            let start = sim.rng.range(1_000, active * 2 / 3);
            let end = sim.rng.range(start + 1, active);
            let side = (0..sim.devices.len())
                .map(|_| sim.rng.chance(500))
                .collect();
            sim.at(start, Ev::PartitionStart { side });
            sim.at(end, Ev::PartitionEnd);
        }
        for _ in 0..sim.cfg.crashes {
            let dev = sim.rng.range(0, sim.cfg.devices as u64 - 1) as usize;
            let at = sim.rng.range(1_000, active * 2 / 3);
            let back = sim.rng.range(at + 100, active);
            sim.at(at, Ev::Crash { dev });
            sim.at(back, Ev::Recover { dev });
        }
        sim
    }

    fn at(&mut self, at: u64, ev: Ev) {
        let seq = self.n_events as usize;
        self.n_events += 1;
        self.events.insert(seq, ev);
        self.queue.push(Reverse((at, self.n_events, seq)));
    }

    fn latency(&mut self) -> u64 {
        let (lo, hi) = self.cfg.latency_ms;
        self.rng.range(lo, hi)
    }

    fn deliver(&mut self, dev: usize, what: Delivery) {
        let at = self.now + self.latency();
        let life = self.devices[dev].life;
        self.at(at, Ev::Deliver { dev, life, what });
    }

    /// Starts a device (again): a new node from what it stored, with new sessions.
    fn boot(&mut self, dev: usize) {
        let d = &mut self.devices[dev];
        d.life += 1;
        d.timer_at = None;
        d.ends.clear();
        if d.adversary == Some(NodeAdversary::Outsider) {
            let at = self.now + 1;
            let room = self.room.to_hex();
            let life = d.life;
            self.at(at, Ev::Join { dev, life, room });
            return;
        }
        let rng = SimRng::new(u64::from_le_bytes(
            self.rng.bytes32()[..8].try_into().unwrap_or_default(),
        ));
        let identity = Identity::from_secret_bytes(&d.secret);
        let mut node = Node::new(
            identity,
            format!("Device {dev}"),
            self.cfg.node.clone(),
            Box::new(rng),
        );
        let setup = RoomSetup {
            history: d.store.values().cloned().collect(),
            evidence: d.evidence.clone(),
            stored: d.life > 1,
            ..RoomSetup::new(d.room.clone(), false)
        };
        // What it stored of each file, then the fetches it had not finished.
        for (root, len) in &d.file_lens {
            let flags = (0..chunk_count(*len))
                .map(|i| d.chunks.contains_key(&(*root, i)))
                .collect();
            let has = Availability::Chunks(flags);
            let _ = node.handle(
                self.now,
                Input::Holding {
                    root: *root,
                    len: *len,
                    has,
                },
            );
        }
        if let Err(e) = node.handle(self.now, Input::AddRoom(Box::new(setup))) {
            panic!("device {dev} could not load its room: {e}");
        }
        let files: Vec<Root> = d
            .store
            .values()
            .filter_map(|r| match &r.entry.body {
                Body::File(f) => Some(f.root),
                _ => None,
            })
            .collect();
        d.node = Some(node);
        self.drain(dev);
        for root in files {
            self.want_file(dev, root);
        }
    }

    /// The driver's policy: every file seen is fetched unless all of it is stored.
    fn want_file(&mut self, dev: usize, root: Root) {
        let Some(node) = self.devices[dev].node.as_ref() else {
            return;
        };
        if node.file_progress(&root).is_some_and(|(h, t)| h == t) || node.fetching(&root) {
            return;
        }
        let room = self.devices[dev].room.id();
        self.input(dev, Input::Fetch { room, root });
    }

    /// `dev` posts a file of random bytes: stored (with proofs) before it is named.
    fn post_file(&mut self, dev: usize) {
        let len = self.rng.range(1, 5 * CHUNK_LEN as u64);
        let bytes: Vec<u8> = (0..len).map(|_| self.rng.range(0, 255) as u8).collect();
        let Ok(ob) = Outboard::of(&bytes) else {
            return;
        };
        let root = ob.root();
        let d = &mut self.devices[dev];
        for (i, chunk) in bytes.chunks(CHUNK_LEN).enumerate() {
            if let Ok(proof) = ob.proof(i as u64) {
                d.chunks.insert((root, i as u64), (proof, chunk.to_vec()));
            }
        }
        d.file_lens.insert(root, len);
        self.originals.insert(root, bytes);
        self.input(
            dev,
            Input::Holding {
                root,
                len,
                has: Availability::All,
            },
        );
        let body = Body::File(FileRef {
            root,
            size: len,
            mime: "application/octet-stream".into(),
            name: format!("d{dev}.bin"),
            thumb: None,
        });
        let room = self.room;
        self.input(dev, Input::Post { room, body });
    }

    fn input(&mut self, dev: usize, input: Input) {
        let now = self.now;
        if let Some(node) = self.devices[dev].node.as_mut() {
            let _ = node.handle(now, input);
        }
        self.drain(dev);
    }

    /// Executes a device's outputs.
    fn drain(&mut self, dev: usize) {
        loop {
            let Some(out) = self.devices[dev].node.as_mut().and_then(Node::poll_output) else {
                return;
            };
            self.execute(dev, out);
        }
    }

    fn execute(&mut self, dev: usize, out: Output) {
        let life = self.devices[dev].life;
        let lat = self.latency();
        let at = self.now + lat;
        match out {
            Output::JoinSignaling(room) => self.at(at, Ev::Join { dev, life, room }),
            Output::LeaveSignaling(room) => self.at(at, Ev::Leave { dev, life, room }),
            Output::Signal { room, to, blob } => self.at(
                at,
                Ev::Relay {
                    dev,
                    life,
                    room,
                    to,
                    blob,
                },
            ),
            Output::OpenConn { conn, .. } => {
                // A DTLS fingerprint of 32 bytes, unique per channel end.
                let fingerprint = std::iter::once(format!("sha-256 {:02X}", dev as u8))
                    .chain(
                        [life, conn.0]
                            .iter()
                            .flat_map(|n| n.to_be_bytes())
                            .map(|b| format!("{b:02X}")),
                    )
                    .chain((0..15).map(|_| "00".to_owned()))
                    .collect::<Vec<_>>()
                    .join(":");
                self.devices[dev].ends.insert(
                    conn,
                    End {
                        fingerprint,
                        remote_fingerprint: None,
                        peer: None,
                        last_arrival: 0,
                        last_file_arrival: 0,
                    },
                );
                self.at(
                    self.now + 1,
                    Ev::Deliver {
                        dev,
                        life,
                        what: Delivery::LocalOffer { conn },
                    },
                );
            }
            Output::ApplySignal { conn, signal } => {
                if let PeerSignal::Sdp { sdp, .. } = signal {
                    if let Some(end) = self.devices[dev].ends.get_mut(&conn) {
                        end.remote_fingerprint = Some(sdp);
                    }
                    self.try_pair(dev, conn);
                }
            }
            Output::CloseConn(conn) => {
                if let Some(end) = self.devices[dev].ends.remove(&conn) {
                    if let Some((p, pc)) = end.peer {
                        self.deliver(p, Delivery::Closed { conn: pc });
                    }
                }
            }
            Output::Send { conn, bytes } => self.send(dev, conn, bytes),
            Output::StoreOwn { records, .. } | Output::Store { records, .. } => {
                let d = &mut self.devices[dev];
                for r in records {
                    if d.store.insert(r.id, r).is_some() {
                        d.stored_twice += 1;
                    }
                }
            }
            Output::RetentionDue(room) => {
                if let Some(n) = self.devices[dev].node.as_mut() {
                    n.apply_retention(&room);
                }
            }
            Output::Prune {
                author, through, ..
            } => self.devices[dev]
                .store
                .retain(|_, r| r.entry.author != author || r.entry.seq > through),
            Output::SaveEvidence { first, second, .. } => {
                self.devices[dev].evidence.push((*first, *second));
            }
            Output::Notice(text) => self.devices[dev].notices.push(text),
            Output::ScheduleTimer(at) => {
                let d = &mut self.devices[dev];
                if d.timer_at != Some(at) {
                    d.timer_at = Some(at);
                    let at = at.max(self.now);
                    self.at(at, Ev::Timer { dev, life });
                }
            }
            Output::SendFileFrame { conn, bytes } => self.send_file(dev, conn, bytes),
            Output::ReadChunk { conn, root, index } => {
                self.deliver(dev, Delivery::ChunkRead { conn, root, index });
            }
            Output::StoreChunk {
                root,
                index,
                proof,
                bytes,
                ..
            } => {
                let d = &mut self.devices[dev];
                if let Some(len) = self.originals.get(&root).map(|b| b.len() as u64) {
                    d.file_lens.insert(root, len);
                }
                d.chunks.insert((root, index), (proof, bytes));
            }
            Output::RoomChanged { new, .. } => {
                let files: Vec<Root> = self.devices[dev]
                    .node
                    .as_ref()
                    .and_then(|n| n.room(&self.room))
                    .map(|r| {
                        new.iter()
                            .filter_map(|id| match &r.sync().log().get_by_id(id)?.entry.body {
                                Body::File(f) => Some(f.root),
                                _ => None,
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                for root in files {
                    self.want_file(dev, root);
                }
            }
            Output::SaveRoom(_)
            | Output::DeleteRoom(_)
            | Output::SavePeer { .. }
            | Output::NameChanged(_)
            | Output::Incoming { .. }
            | Output::FileProgress { .. } => {}
        }
    }

    fn separated(&self, a: usize, b: usize) -> bool {
        self.side.as_ref().is_some_and(|s| s[a] != s[b])
    }

    /// Pairs `dev`'s end `conn` with the peer's end once both know each other's fingerprint.
    fn try_pair(&mut self, dev: usize, conn: ConnId) {
        let Some(node) = self.devices[dev].node.as_ref() else {
            return;
        };
        let Some(c) = node.conn(conn) else { return };
        let (room, local, remote) = (
            c.room.to_hex(),
            c.local_session.clone(),
            c.remote_session.clone(),
        );
        let Some(&peer) = self.server.get(&room).and_then(|r| r.get(&remote)) else {
            return;
        };
        if self.separated(dev, peer) {
            return;
        }
        let Some(pnode) = self.devices[peer].node.as_ref() else {
            return;
        };
        let Some((pconn, _)) = pnode
            .conns_in(c.room)
            .find(|(_, pc)| pc.remote_session == local && pc.local_session == remote)
        else {
            return;
        };
        let mine = &self.devices[dev].ends[&conn];
        let Some(theirs) = self.devices[peer].ends.get(&pconn) else {
            return;
        };
        if mine.peer.is_some() || theirs.peer.is_some() {
            return;
        }
        if mine.remote_fingerprint.as_deref() != Some(theirs.fingerprint.as_str())
            || theirs.remote_fingerprint.as_deref() != Some(mine.fingerprint.as_str())
        {
            return;
        }
        let (fa, fb) = (mine.fingerprint.clone(), theirs.fingerprint.clone());
        if let Some(e) = self.devices[dev].ends.get_mut(&conn) {
            e.peer = Some((peer, pconn));
        }
        if let Some(e) = self.devices[peer].ends.get_mut(&pconn) {
            e.peer = Some((dev, conn));
        }
        self.channels += 1;
        self.deliver(
            dev,
            Delivery::Open {
                conn,
                local: fa.clone(),
                remote: fb.clone(),
            },
        );
        self.deliver(
            peer,
            Delivery::Open {
                conn: pconn,
                local: fb,
                remote: fa,
            },
        );
    }

    fn send(&mut self, dev: usize, conn: ConnId, mut bytes: Vec<u8>) {
        let is_hello = matches!(Frame::decode(&bytes), Ok(Frame::Hello(_)));
        match self.devices[dev].adversary {
            Some(NodeAdversary::ReplayedHello) if is_hello => {
                let Some(h) = self.devices[dev].captured_hello.clone() else {
                    return;
                };
                bytes = h;
            }
            Some(NodeAdversary::GarbageFrames) if !is_hello => bytes = vec![0xEE; 12],
            _ => {}
        }
        self.transmit(dev, conn, false, bytes);
    }

    /// Puts `bytes` on the channel `(dev, conn)` (its files channel if `files`): delivered
    /// in order after the link's latency, and reported drained to the sender then.
    fn transmit(&mut self, dev: usize, conn: ConnId, files: bool, bytes: Vec<u8>) {
        let lat = self.latency();
        let Some(end) = self.devices[dev].ends.get_mut(&conn) else {
            return;
        };
        let Some((peer, pconn)) = end.peer else {
            return;
        };
        let last = if files {
            &mut end.last_file_arrival
        } else {
            &mut end.last_arrival
        };
        let arrival = (self.now + lat).max(*last);
        *last = arrival;
        let (plife, life) = (self.devices[peer].life, self.devices[dev].life);
        let (what, drained) = if files {
            (
                Delivery::FileFrame { conn: pconn, bytes },
                Delivery::FileDrained { conn },
            )
        } else {
            (
                Delivery::Frame { conn: pconn, bytes },
                Delivery::Drained { conn },
            )
        };
        self.at(
            arrival,
            Ev::Deliver {
                dev: peer,
                life: plife,
                what,
            },
        );
        self.at(
            arrival,
            Ev::Deliver {
                dev,
                life,
                what: drained,
            },
        );
    }

    fn send_file(&mut self, dev: usize, conn: ConnId, mut bytes: Vec<u8>) {
        let corrupt = self.devices[dev].adversary == Some(NodeAdversary::BadChunks);
        let peer = self.devices[dev].ends.get(&conn).and_then(|e| e.peer);
        if let (true, Some((peer, _))) = (corrupt, peer) {
            if let Ok(BlobFrame::Chunk { .. }) = BlobFrame::decode(&bytes) {
                if let Some(last) = bytes.last_mut() {
                    *last ^= 0x55;
                }
                let plife = self.devices[peer].life;
                self.devices[dev].served.insert((peer, plife));
            }
        }
        self.transmit(dev, conn, true, bytes);
    }

    /// Breaks the channel `(dev, conn)`: both ends see the link fail, then close.
    fn break_channel(&mut self, dev: usize, conn: ConnId) {
        let Some(peer) = self.devices[dev].ends.get(&conn).and_then(|e| e.peer) else {
            return;
        };
        for (d, c) in [(dev, conn), peer] {
            if let Some(e) = self.devices[d].ends.get_mut(&c) {
                e.peer = None;
            }
            self.deliver(d, Delivery::Failed { conn: c });
        }
    }

    fn server_leave(&mut self, dev: usize, room: &str) {
        let Some(members) = self.server.get_mut(room) else {
            return;
        };
        let gone: Vec<String> = members
            .iter()
            .filter(|(_, d)| **d == dev)
            .map(|(s, _)| s.clone())
            .collect();
        for s in &gone {
            members.remove(s);
        }
        let others: Vec<usize> = members.values().copied().collect();
        for session in gone {
            for &o in &others {
                self.deliver(
                    o,
                    Delivery::Server(Input::PeerLeft {
                        room: room.to_owned(),
                        session: session.clone(),
                    }),
                );
            }
        }
    }

    fn on_event(&mut self, ev: Ev) {
        let alive = |s: &NodeSim, dev: usize, life: u64| s.devices[dev].life == life;
        match ev {
            Ev::Join { dev, life, room } if alive(self, dev, life) => {
                self.next_session += 1;
                let session = format!("s{:04}", self.next_session);
                let members = self.server.entry(room.clone()).or_default();
                let peers: Vec<String> = members.keys().cloned().collect();
                let others: Vec<usize> = members.values().copied().collect();
                members.insert(session.clone(), dev);
                for o in others {
                    self.deliver(
                        o,
                        Delivery::Server(Input::PeerJoined {
                            room: room.clone(),
                            session: session.clone(),
                        }),
                    );
                }
                self.deliver(
                    dev,
                    Delivery::Server(Input::Joined {
                        room,
                        session,
                        peers,
                    }),
                );
            }
            Ev::Leave { dev, life, room } if alive(self, dev, life) => {
                self.server_leave(dev, &room)
            }
            Ev::Relay {
                dev,
                life,
                room,
                to,
                blob,
            } if alive(self, dev, life) => {
                let members = self.server.get(&room);
                let from = members
                    .and_then(|m| m.iter().find(|(_, d)| **d == dev).map(|(s, _)| s.clone()));
                let target = members.and_then(|m| m.get(&to).copied());
                if let (Some(from), Some(target)) = (from, target) {
                    self.deliver(target, Delivery::Server(Input::Blob { room, from, blob }));
                }
            }
            Ev::Deliver { dev, life, what } if alive(self, dev, life) => {
                self.on_delivery(dev, what)
            }
            Ev::Timer { dev, life }
                if alive(self, dev, life)
                    && self.devices[dev].timer_at.is_some_and(|t| t <= self.now) =>
            {
                self.devices[dev].timer_at = None;
                self.input(dev, Input::Tick);
            }
            Ev::Post { dev } => {
                if self.devices[dev].node.is_some() {
                    let k = self.devices[dev].posted;
                    self.devices[dev].posted += 1;
                    let body = Body::Text {
                        text: format!("d{dev} p{k}"),
                        reply_to: None,
                    };
                    let room = self.room;
                    self.input(dev, Input::Post { room, body });
                } else {
                    // Crashed: post after recovering.
                    let at = self.now + 500;
                    self.at(at, Ev::Post { dev });
                }
            }
            Ev::PostFile { dev } => {
                if self.devices[dev].node.is_some() {
                    self.post_file(dev);
                } else {
                    let at = self.now + 500;
                    self.at(at, Ev::PostFile { dev });
                }
            }
            Ev::FailLink => {
                let up: Vec<(usize, ConnId)> = (0..self.devices.len())
                    .flat_map(|d| {
                        self.devices[d]
                            .ends
                            .iter()
                            .filter(|(_, e)| e.peer.is_some())
                            .map(move |(c, _)| (d, *c))
                    })
                    .collect();
                if !up.is_empty() {
                    let i = self.rng.range(0, up.len() as u64 - 1) as usize;
                    self.break_channel(up[i].0, up[i].1);
                }
            }
            Ev::PartitionStart { side } => {
                self.side = Some(side);
                let crossing: Vec<(usize, ConnId)> = (0..self.devices.len())
                    .flat_map(|d| {
                        self.devices[d]
                            .ends
                            .iter()
                            .filter_map(move |(c, e)| e.peer.map(|(p, _)| (d, *c, p)))
                    })
                    .filter(|(d, _, p)| self.separated(*d, *p))
                    .map(|(d, c, _)| (d, c))
                    .collect();
                for (d, c) in crossing {
                    self.break_channel(d, c);
                }
            }
            Ev::PartitionEnd => self.side = None,
            Ev::Crash { dev } => {
                let d = &mut self.devices[dev];
                d.node = None;
                d.life += 1;
                let ends: Vec<(usize, ConnId)> = d.ends.values().filter_map(|e| e.peer).collect();
                d.ends.clear();
                for (p, pc) in ends {
                    self.deliver(p, Delivery::Closed { conn: pc });
                }
                let rooms: Vec<String> = self.server.keys().cloned().collect();
                for room in rooms {
                    self.server_leave(dev, &room);
                }
            }
            Ev::Recover { dev } => self.boot(dev),
            _ => {}
        }
    }

    fn on_delivery(&mut self, dev: usize, what: Delivery) {
        if self.devices[dev].adversary == Some(NodeAdversary::Outsider) {
            // No key: garbage to every session it hears of.
            let sessions = match &what {
                Delivery::Server(Input::Joined { peers, .. }) => peers.clone(),
                Delivery::Server(Input::PeerJoined { session, .. }) => vec![session.clone()],
                _ => Vec::new(),
            };
            let life = self.devices[dev].life;
            let room = self.room.to_hex();
            for to in sessions {
                let blob = "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA".to_owned();
                let at = self.now + 1;
                self.at(
                    at,
                    Ev::Relay {
                        dev,
                        life,
                        room: room.clone(),
                        to,
                        blob,
                    },
                );
            }
            return;
        }
        let input = match what {
            Delivery::Server(input) => input,
            Delivery::LocalOffer { conn } => {
                let Some(end) = self.devices[dev].ends.get(&conn) else {
                    return;
                };
                let signal = PeerSignal::Sdp {
                    kind: "offer".into(),
                    sdp: end.fingerprint.clone(),
                };
                Input::LocalSignal { conn, signal }
            }
            Delivery::Open {
                conn,
                local,
                remote,
            } => {
                if self.devices[dev]
                    .ends
                    .get(&conn)
                    .is_none_or(|e| e.peer.is_none())
                {
                    return;
                }
                Input::ChannelOpen {
                    conn,
                    local_fingerprint: local,
                    remote_fingerprint: remote,
                }
            }
            Delivery::Frame { conn, bytes } => {
                if self.devices[dev].adversary == Some(NodeAdversary::ReplayedHello)
                    && matches!(Frame::decode(&bytes), Ok(Frame::Hello(_)))
                {
                    self.devices[dev].captured_hello = Some(bytes.clone());
                }
                Input::Frame { conn, bytes }
            }
            Delivery::Drained { conn } => Input::Drained(conn),
            Delivery::FileFrame { conn, bytes } => Input::FileFrame {
                conn,
                bytes,
                leaf: None,
            },
            Delivery::FileDrained { conn } => Input::FileDrained(conn),
            Delivery::ChunkRead { conn, root, index } => {
                let chunk = self.devices[dev].chunks.get(&(root, index)).cloned();
                Input::ChunkRead {
                    conn,
                    root,
                    index,
                    chunk,
                    leaf: None,
                }
            }
            Delivery::Failed { conn } => {
                self.input(
                    dev,
                    Input::Link {
                        conn,
                        link: Link::Failed,
                    },
                );
                self.devices[dev].ends.remove(&conn);
                Input::Closed(conn)
            }
            Delivery::Closed { conn } => {
                self.devices[dev].ends.remove(&conn);
                Input::Closed(conn)
            }
        };
        self.input(dev, input);
    }

    /// Runs to the end of the settle time.
    pub fn run(&mut self) {
        let end = self.cfg.active_ms + self.cfg.settle_ms;
        while let Some(Reverse((at, _, seq))) = self.queue.pop() {
            if at > end {
                break;
            }
            self.now = at;
            if let Some(ev) = self.events.remove(&seq) {
                self.on_event(ev);
            }
        }
        self.now = end;
    }

    fn honest(&self) -> impl Iterator<Item = (usize, &Device)> {
        self.devices
            .iter()
            .enumerate()
            .filter(|(_, d)| d.adversary.is_none())
    }

    /// Asserts what the protocol promises (see the [module documentation](self)).
    pub fn check(&self) -> Result<(), String> {
        let seed = self.cfg.seed;
        let honest_keys: BTreeSet<_> = self
            .honest()
            .map(|(_, d)| Identity::from_secret_bytes(&d.secret).public())
            .collect();
        let mut reference: Option<BTreeSet<EntryId>> = None;
        for (i, d) in self.honest() {
            let node = d
                .node
                .as_ref()
                .ok_or(format!("seed {seed}: device {i} is down"))?;
            let r = node
                .room(&self.room)
                .ok_or(format!("seed {seed}: device {i} lost the room"))?;
            let log = r.sync().log();
            let ids: BTreeSet<EntryId> = log
                .authors()
                .flat_map(|a| log.entries_of(a).map(|rec| rec.id))
                .collect();
            let texts = log
                .authors()
                .filter(|a| honest_keys.contains(a))
                .flat_map(|a| log.entries_of(a))
                .filter(|rec| matches!(rec.entry.body, Body::Text { .. }))
                .count();
            let want = self.cfg.devices * self.cfg.posts;
            if texts != want {
                return Err(format!(
                    "seed {seed}: device {i} holds {texts} of {want} posts; its notices: {:?}",
                    d.notices
                ));
            }
            let stored: BTreeSet<EntryId> = d.store.keys().copied().collect();
            if stored != ids {
                return Err(format!(
                    "seed {seed}: device {i} holds {} entries and stored {}",
                    ids.len(),
                    stored.len()
                ));
            }
            if d.stored_twice > 0 {
                return Err(format!(
                    "seed {seed}: device {i} stored {} entries twice",
                    d.stored_twice
                ));
            }
            for (root, original) in &self.originals {
                if !log
                    .authors()
                    .flat_map(|a| log.entries_of(a))
                    .any(|rec| matches!(&rec.entry.body, Body::File(f) if f.root == *root))
                {
                    continue;
                }
                let got: Vec<u8> = (0..chunk_count(original.len() as u64))
                    .filter_map(|c| d.chunks.get(&(*root, c)))
                    .flat_map(|(_, b)| b.iter().copied())
                    .collect();
                if got != *original {
                    let what = if got.len() == original.len() {
                        "other bytes than those"
                    } else {
                        "part"
                    };
                    return Err(format!(
                        "seed {seed}: device {i} holds {what} of file {root}; its notices: {:?}",
                        d.notices
                    ));
                }
            }
            match &reference {
                None => reference = Some(ids),
                Some(r) if *r != ids => {
                    return Err(format!(
                        "seed {seed}: device {i}'s history differs from device 0's"
                    ))
                }
                Some(_) => {}
            }
            let online = node
                .conns_in(self.room)
                .filter(|(_, c)| c.verified_key().is_some_and(|k| honest_keys.contains(k)))
                .count();
            if online + 1 != self.cfg.devices {
                return Err(format!(
                    "seed {seed}: device {i} is connected to {online} of {} peers",
                    self.cfg.devices - 1
                ));
            }
            for session in r.blocked() {
                let owner = self
                    .server
                    .get(&self.room.to_hex())
                    .and_then(|m| m.get(session));
                if let Some(&o) = owner {
                    if self.devices[o].adversary.is_none() {
                        return Err(format!("seed {seed}: device {i} blocked honest device {o}"));
                    }
                }
            }
        }
        for (a, d) in self.devices.iter().enumerate() {
            match d.adversary {
                Some(NodeAdversary::ReplayedHello | NodeAdversary::GarbageFrames) => {
                    let key = Identity::from_secret_bytes(&d.secret).public();
                    for (i, h) in self.honest() {
                        let node = h.node.as_ref().ok_or("down")?;
                        if node
                            .conns_in(self.room)
                            .any(|(_, c)| c.verified_key() == Some(&key))
                            && d.adversary == Some(NodeAdversary::GarbageFrames)
                        {
                            return Err(format!(
                                "seed {seed}: device {i} still talks to adversary {a}"
                            ));
                        }
                    }
                }
                Some(NodeAdversary::WrongPassword) => {
                    let node = d.node.as_ref().ok_or("down")?;
                    let r = node.room(&d.room.id()).ok_or("room gone")?;
                    if node.online(d.room.id()) != 0 || r.sync().log().authors().count() != 1 {
                        return Err(format!("seed {seed}: the wrong password met someone"));
                    }
                    if r.lobby_verdict() != Some(Verdict::PasswordMayBeWrong) {
                        return Err(format!(
                            "seed {seed}: the wrong password was told {:?}",
                            r.lobby_verdict()
                        ));
                    }
                }
                Some(NodeAdversary::BadChunks) => {
                    let key = Identity::from_secret_bytes(&d.secret).public();
                    for &(i, life) in &d.served {
                        let Some(node) = self.devices[i].node.as_ref() else {
                            continue;
                        };
                        if self.devices[i].life != life {
                            // Rebuilt since: it remembers no block.
                            continue;
                        }
                        if self.devices[i].adversary.is_none()
                            && node
                                .conns_in(self.room)
                                .any(|(_, c)| c.verified_key() == Some(&key))
                        {
                            return Err(format!(
                                "seed {seed}: device {i} still talks to the chunk corrupter {a}"
                            ));
                        }
                    }
                }
                Some(NodeAdversary::Outsider) | None => {}
            }
        }
        Ok(())
    }
}
