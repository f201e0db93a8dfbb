//! A seeded discrete-event network of [`RoomSync`] nodes (feature `sim`, for tests and
//! benchmarks).
//!
//! # What
//!
//! [`Sim`] runs N honest nodes of one room, plus optional adversaries, over a simulated
//! network with per-frame latency (uniform in a range, so frames reorder), random loss,
//! partitions that split the nodes in two and later heal, and crashes: a crashed node loses
//! every piece of in-memory state (its [`RoomSync`], its connections, frames in flight to
//! it) and on recovery is rebuilt with [`RoomSync::load`] from the entries and flags it had
//! stored, exactly as a browser would after a reload. Everything is driven by one seeded
//! PRNG, so a seed reproduces a run bit for bit.
//!
//! The topology is a partial mesh: a ring plus random chords, so most entries reach most
//! nodes only through intermediaries (gossip relay). A connection is up when both ends are
//! up, no partition separates them and neither banned the other; each time it comes up it
//! gets a new epoch and frames of an older epoch are dropped, like a closed DataChannel.
//!
//! [`Sim::check`] asserts the property the protocol promises: every honest node ends with the
//! same verified history (outside authors proven to equivocate, which every honest node
//! flags), containing every honest post, stored exactly once; no honest node disconnected
//! an honest peer; every misbehaving adversary was disconnected by every honest node it sent
//! a bad frame to; and nothing an adversary forged was stored.
//!
//! # Adversaries ([`Adversary`])
//!
//! Forged signatures (claiming an honest author), tampered bodies of honest entries,
//! entries replayed from another room, equivocation (two signed forks of one log sent to
//! different neighbours, then more entries on one fork), oversized frames and garbage; and
//! the costly but well-formed: wants repeating whole histories, summaries of made-up
//! authors, chains that never complete, and floors that claim a chain starts at its newest
//! entry. [`Sim::check`] also asserts what those cost
//! honest nodes: entries held pending stay within their byte budget, and the bytes served
//! to a want-flooding adversary stay within a few histories.
//!
//! # Signatures
//!
//! Nodes are driven the way the browser drives its own: the driver checks the signature
//! equation of each frame's entries ([`signature_checks`]) and hands the machine those that
//! hold ([`RoomSync::accept_checked`]); the machine does the strict checks and verifies
//! the rest itself, so a forged signature still meets the machine's own verifier. A verdict
//! depends only on the entry's bytes, so the simulator keeps one per entry for all its nodes:
//! each signature costs one check per seed instead of one per node.
//!
//! # Running
//!
//! `cargo test -p natter-core --test sim` runs the default sweep (see `tests/sim.rs`): 200
//! seeds of 20 nodes posting 50 entries each, plus 20 seeds with one adversary of each kind.
//! A longer run is selected with environment variables, e.g.
//! `NATTER_SIM_SEEDS=2000 NATTER_SIM_NODES=100 cargo test -p natter-core --release --test sim`
//! (one seed of 100 nodes takes about 45 s).

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap, HashMap, HashSet};

use crate::identity::{Identity, PublicKey, Signature};
use crate::log::{Body, Draft, Entry, EntryId, Record, SignatureCheck};
use crate::room::RoomId;
use crate::sync::{
    signature_checks, Event, Input, Misbehaviour, Output, PeerId, Relay, RoomSync, SyncConfig,
};
use crate::wire::{
    encode_entries, encode_floors, encode_summary, encode_want, Floor, Frame, Head, WantRange,
    MAX_FRAME_LEN, WIRE_VERSION,
};

/// A misbehaving node's trick.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Adversary {
    /// Sends entries claiming an honest author with a signature that does not verify.
    ForgedSignature,
    /// Relays honest entries with their body changed.
    TamperedBody,
    /// Replays validly signed entries of another room.
    OtherRoom,
    /// Signs two different entries for the same seq and sends one fork to each half of its
    /// neighbours (then extends one fork).
    Equivocator,
    /// Sends a frame over the size limit.
    Oversized,
    /// Sends bytes that are no frame.
    Garbage,
    /// Wants every honest author's whole history, the same range a thousand times a frame.
    WantFlood,
    /// Sends summaries naming thousands of made-up authors with long histories.
    FakeAuthors,
    /// Pushes its own validly signed chain without its first entry, so it never chains.
    UnchainedFlood,
    /// Passes on the newest honest entry it saw of each author as the start of its chain
    /// (a summary, `Floors` saying it holds nothing below, the entry): honest nodes take it
    /// as a run, and must still end with every entry below it from honest peers.
    FalseFloors,
}

/// Parameters of a run.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Seed of everything random.
    pub seed: u64,
    /// Honest nodes.
    pub nodes: usize,
    /// Entries each honest node posts.
    pub posts_per_node: usize,
    /// Random extra links per node beyond the ring.
    pub extra_links: usize,
    /// One-way latency range in ms (inclusive).
    pub latency_ms: (u64, u64),
    /// Probability that a frame is lost, in per mille.
    pub loss_per_mille: u32,
    /// Number of partitions (each splits the nodes in two, then heals).
    pub partitions: usize,
    /// Number of crashes (each followed by a recovery).
    pub crashes: usize,
    /// Posts, partitions and crashes happen in `[0, active_ms)`; all heal by then.
    pub active_ms: u64,
    /// Time after `active_ms` to let the network settle.
    pub settle_ms: u64,
    /// Adversarial nodes, each linked to a few honest nodes.
    pub adversaries: Vec<Adversary>,
    /// The machines' configuration.
    pub sync: SyncConfig,
}

impl SimConfig {
    /// The standard scenario: `nodes` nodes posting `posts` entries each under 10% loss,
    /// with partitions and crashes that heal.
    pub fn standard(seed: u64, nodes: usize, posts: usize) -> Self {
        SimConfig {
            seed,
            nodes,
            posts_per_node: posts,
            extra_links: 2,
            latency_ms: (5, 120),
            loss_per_mille: 100,
            partitions: 2,
            crashes: 2,
            active_ms: 20_000,
            settle_ms: 15_000,
            adversaries: Vec::new(),
            sync: SyncConfig {
                summary_interval_ms: 1_000,
                want_timeout_ms: 2_000,
                relay: Relay::Lazy,
                announce_delay_ms: 100,
                // Small enough that a catch-up needs several windows.
                serve_window_bytes: 16 * 1024,
                ..SyncConfig::default()
            },
        }
    }
}

/// Figures from a run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SimReport {
    /// Frames sent (including lost ones).
    pub frames: u64,
    /// Bytes sent.
    pub bytes: u64,
    /// Frames lost.
    pub lost: u64,
    /// Frames sent per kind byte (index = kind; see `crate::wire`).
    pub frames_by_kind: [u64; 10],
    /// Entries in the converged honest history.
    pub entries: usize,
    /// Disconnects of adversaries by honest nodes.
    pub adversaries_disconnected: usize,
    /// Simulated time at the end, ms.
    pub end_ms: u64,
}

/// A small deterministic PRNG (SplitMix64); the simulation needs reproducibility, not
/// cryptographic strength.
#[derive(Debug, Clone)]
pub struct SimRng(u64);

impl SimRng {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Self {
        SimRng(seed ^ 0x9e37_79b9_7f4a_7c15)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        if hi <= lo {
            return lo;
        }
        lo + self.next_u64() % (hi - lo + 1)
    }

    /// True with probability `per_mille / 1000`.
    pub fn chance(&mut self, per_mille: u32) -> bool {
        self.next_u64() % 1000 < u64::from(per_mille)
    }

    /// 32 random bytes.
    pub fn bytes32(&mut self) -> [u8; 32] {
        let mut out = [0u8; 32];
        for c in out.chunks_mut(8) {
            c.copy_from_slice(&self.next_u64().to_le_bytes());
        }
        out
    }
}

/// Runs `run(seed)` for every seed below `seeds` on all cores; returns the failures.
pub fn sweep(seeds: u64, run: impl Fn(u64) -> Result<(), String> + Sync) -> Vec<String> {
    let next = std::sync::atomic::AtomicU64::new(0);
    let failures = std::sync::Mutex::new(Vec::new());
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| loop {
                let seed = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if seed >= seeds {
                    break;
                }
                if let Err(e) = run(seed) {
                    failures.lock().unwrap_or_else(|p| p.into_inner()).push(e);
                }
            });
        }
    });
    failures.into_inner().unwrap_or_else(|p| p.into_inner())
}

/// The number in environment variable `name`, or `default`.
pub fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// For the simulated nodes' sealing nonces only: reproducible, not secret.
impl rand_core::RngCore for SimRng {
    fn next_u32(&mut self) -> u32 {
        self.next_u64() as u32
    }
    fn next_u64(&mut self) -> u64 {
        SimRng::next_u64(self)
    }
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        for c in dest.chunks_mut(8) {
            let b = SimRng::next_u64(self).to_le_bytes();
            c.copy_from_slice(&b[..c.len()]);
        }
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}

impl rand_core::CryptoRng for SimRng {}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Ev {
    Deliver {
        from: usize,
        to: usize,
        epoch: u64,
        bytes: Vec<u8>,
    },
    Timer {
        node: usize,
        life: u64,
    },
    /// A frame of served entries left `from`'s buffer towards `to`.
    Drained {
        from: usize,
        to: usize,
        epoch: u64,
    },
    Post {
        node: usize,
    },
    PartitionStart {
        side: Vec<bool>,
    },
    PartitionEnd,
    Crash {
        node: usize,
    },
    Recover {
        node: usize,
    },
    Act {
        node: usize,
    },
}

#[derive(Debug)]
struct Node {
    secret: [u8; 32],
    public: PublicKey,
    adversary: Option<Adversary>,
    sync: Option<RoomSync>,
    life: u64,
    store: Vec<Record>,
    evidence: BTreeMap<PublicKey, (Record, Record)>,
    posted: usize,
    /// For adversaries: honest entries seen, to tamper with.
    seen: Vec<Record>,
    /// The newest entry seen of each author (adversaries only).
    newest: BTreeMap<PublicKey, Record>,
    /// For adversaries: whether it has acted (equivocators: their forks).
    acted: u32,
}

/// The simulated network. See the [module documentation](self).
#[derive(Debug)]
pub struct Sim {
    cfg: SimConfig,
    room: RoomId,
    rng: SimRng,
    now: u64,
    n_events: u64,
    queue: BinaryHeap<Reverse<(u64, u64, Ev)>>,
    nodes: Vec<Node>,
    /// Undirected links `(a, b)` with `a < b`, and their state.
    links: BTreeMap<(usize, usize), Link>,
    side: Option<Vec<bool>>,
    report: SimReport,
    /// Honest node `i` disconnected peer `j`, and why.
    disconnects: Vec<(usize, usize, Misbehaviour)>,
    /// Adversary `a` sent a bad frame to honest node `h`.
    bad_sent: HashSet<(usize, usize)>,
    /// Bytes of served entries honest node `h` sent adversary `a`.
    served_to_adversary: BTreeMap<(usize, usize), u64>,
    /// Each entry's signature verdict, shared by all nodes (see "Signatures").
    verdicts: HashMap<EntryId, bool>,
}

#[derive(Debug, Default, Clone)]
struct Link {
    up: bool,
    epoch: u64,
    banned: bool,
}

/// The plain RFC 8032 equation (cofactorless, compared on encodings, without the strict
/// extras), as a browser's WebCrypto checks it for its driver.
pub fn plain_signature_holds(c: &SignatureCheck) -> bool {
    use ed25519_dalek::Verifier;
    let sig = ed25519_dalek::Signature::from_bytes(&c.signature);
    ed25519_dalek::VerifyingKey::from_bytes(&c.author)
        .is_ok_and(|k| k.verify(&c.message, &sig).is_ok())
}

fn key(a: usize, b: usize) -> (usize, usize) {
    (a.min(b), a.max(b))
}

impl Sim {
    /// Builds the network and schedules every post, partition, crash and adversary act.
    pub fn new(cfg: SimConfig) -> Sim {
        let mut rng = SimRng::new(cfg.seed);
        let room = RoomId(rng.bytes32());
        let n = cfg.nodes;
        let mut nodes = Vec::new();
        for i in 0..n + cfg.adversaries.len() {
            let secret = rng.bytes32();
            let id = Identity::from_secret_bytes(&secret);
            let adversary = i.checked_sub(n).map(|a| cfg.adversaries[a]);
            nodes.push(Node {
                secret,
                public: id.public(),
                adversary,
                sync: adversary
                    .is_none()
                    .then(|| RoomSync::new(room, id, cfg.sync.clone())),
                life: 0,
                store: Vec::new(),
                evidence: BTreeMap::new(),
                posted: 0,
                seen: Vec::new(),
                newest: BTreeMap::new(),
                acted: 0,
            });
        }
        let mut links = BTreeMap::new();
        if n > 1 {
            for i in 0..n {
                links.insert(key(i, (i + 1) % n), Link::default());
                for _ in 0..cfg.extra_links {
                    let j = rng.range(0, n as u64 - 1) as usize;
                    if j != i {
                        links.insert(key(i, j), Link::default());
                    }
                }
            }
        }
        for a in n..nodes.len() {
            for _ in 0..3.min(n) {
                let h = rng.range(0, n as u64 - 1) as usize;
                links.insert(key(a, h), Link::default());
            }
        }
        let mut sim = Sim {
            room,
            rng,
            now: 0,
            n_events: 0,
            queue: BinaryHeap::new(),
            nodes,
            links,
            side: None,
            report: SimReport::default(),
            disconnects: Vec::new(),
            bad_sent: HashSet::new(),
            verdicts: HashMap::new(),
            served_to_adversary: BTreeMap::new(),
            cfg,
        };
        let active = sim.cfg.active_ms;
        for i in 0..n {
            for _ in 0..sim.cfg.posts_per_node {
                let at = sim.rng.range(0, active * 3 / 4);
                sim.schedule(at, Ev::Post { node: i });
            }
        }
        // Partitions: disjoint windows inside the first three quarters of the active time.
        let parts = sim.cfg.partitions as u64;
        for p in 0..parts {
            let slot = active * 3 / 4 / parts.max(1);
            let start = p * slot + sim.rng.range(0, slot / 4);
            let end = start + sim.rng.range(slot / 4, slot / 2);
            let side = (0..sim.nodes.len()).map(|_| sim.rng.chance(500)).collect();
            sim.schedule(start, Ev::PartitionStart { side });
            sim.schedule(end, Ev::PartitionEnd);
        }
        for _ in 0..sim.cfg.crashes {
            if n == 0 {
                break;
            }
            let node = sim.rng.range(0, n as u64 - 1) as usize;
            let at = sim.rng.range(0, active / 2);
            let back = at + sim.rng.range(500, active / 4);
            sim.schedule(at, Ev::Crash { node });
            sim.schedule(back, Ev::Recover { node });
        }
        for a in n..sim.nodes.len() {
            for _ in 0..3 {
                let at = sim.rng.range(active / 10, active * 3 / 4);
                sim.schedule(at, Ev::Act { node: a });
            }
        }
        let keys: Vec<(usize, usize)> = sim.links.keys().copied().collect();
        for (a, b) in keys {
            sim.refresh_link(a, b);
        }
        sim
    }

    fn schedule(&mut self, at: u64, ev: Ev) {
        self.n_events += 1;
        self.queue.push(Reverse((at, self.n_events, ev)));
    }

    fn node_up(&self, i: usize) -> bool {
        self.nodes[i].adversary.is_some() || self.nodes[i].sync.is_some()
    }

    fn should_be_up(&self, a: usize, b: usize) -> bool {
        let l = &self.links[&key(a, b)];
        !l.banned
            && self.node_up(a)
            && self.node_up(b)
            && self.side.as_ref().is_none_or(|s| s[a] == s[b])
    }

    /// Brings a link up or down to match the world, telling both ends.
    fn refresh_link(&mut self, a: usize, b: usize) {
        let want = self.should_be_up(a, b);
        let l = self.links.entry(key(a, b)).or_default();
        if l.up == want {
            return;
        }
        l.up = want;
        if want {
            l.epoch += 1;
        }
        for (x, y) in [(a, b), (b, a)] {
            let input = if want {
                Input::PeerConnected(PeerId(y as u64))
            } else {
                Input::PeerDisconnected(PeerId(y as u64))
            };
            self.input(x, input);
        }
    }

    fn refresh_all(&mut self) {
        let keys: Vec<(usize, usize)> = self.links.keys().copied().collect();
        for (a, b) in keys {
            self.refresh_link(a, b);
        }
    }

    fn input(&mut self, i: usize, input: Input) {
        let now = self.now;
        let Some(sync) = self.nodes[i].sync.as_mut() else {
            if self.nodes[i].adversary.is_some() {
                self.adversary_input(i, input);
            }
            return;
        };
        if let Input::Frame { bytes, .. } = &input {
            let verdicts = &mut self.verdicts;
            let valid = signature_checks(bytes).into_iter().filter_map(|c| {
                let valid = *verdicts
                    .entry(c.id)
                    .or_insert_with(|| plain_signature_holds(&c));
                valid.then_some(c.id)
            });
            sync.accept_checked(valid);
        }
        if let Err(e) = sync.handle(now, input) {
            // Only posts can fail, and the simulation posts valid bodies.
            panic!("node {i}: {e}");
        }
        let outs = sync.drain_outputs();
        for o in outs {
            self.output(i, o);
        }
    }

    fn send(&mut self, from: usize, to: usize, bytes: Vec<u8>) {
        let Some(l) = self.links.get(&key(from, to)) else {
            return;
        };
        if !l.up {
            return;
        }
        let epoch = l.epoch;
        self.report.frames += 1;
        self.report.bytes += bytes.len() as u64;
        if let Some(k) = bytes.get(1).filter(|k| usize::from(**k) < 10) {
            self.report.frames_by_kind[usize::from(*k)] += 1;
        }
        let at = self.now + self.rng.range(self.cfg.latency_ms.0, self.cfg.latency_ms.1);
        if bytes.get(1) == Some(&4) {
            // Served entries: the sender hears its buffer drained when they are out.
            self.schedule(at, Ev::Drained { from, to, epoch });
            if self.nodes[to].adversary.is_some() {
                *self.served_to_adversary.entry((from, to)).or_insert(0) += bytes.len() as u64;
            }
        }
        if self.rng.chance(self.cfg.loss_per_mille) {
            self.report.lost += 1;
            return;
        }
        self.schedule(
            at,
            Ev::Deliver {
                from,
                to,
                epoch,
                bytes,
            },
        );
    }

    fn output(&mut self, i: usize, o: Output) {
        match o {
            Output::Send { peer, bytes } => self.send(i, peer.0 as usize, bytes),
            Output::Store(recs) => self.nodes[i].store.extend(recs),
            Output::Event(Event::Equivocation {
                author,
                first,
                second,
            }) => {
                self.nodes[i].evidence.insert(author, (*first, *second));
            }
            Output::Event(_) => {}
            Output::ScheduleTimer { at_ms } => {
                let life = self.nodes[i].life;
                self.schedule(at_ms.max(self.now), Ev::Timer { node: i, life });
            }
            Output::Disconnect { peer, reason } => {
                let j = peer.0 as usize;
                self.disconnects.push((i, j, reason));
                if let Some(l) = self.links.get_mut(&key(i, j)) {
                    l.banned = true;
                }
                self.refresh_link(i, j);
            }
        }
    }

    /// Runs to the end of the settle time and returns the figures.
    pub fn run(&mut self) -> SimReport {
        let end = self.cfg.active_ms + self.cfg.settle_ms;
        while let Some(Reverse((at, _, ev))) = self.queue.pop() {
            if at > end {
                break;
            }
            self.now = at;
            self.step(ev);
        }
        self.report.end_ms = self.now;
        self.report.clone()
    }

    fn step(&mut self, ev: Ev) {
        match ev {
            Ev::Deliver {
                from,
                to,
                epoch,
                bytes,
            } => {
                let ok = self
                    .links
                    .get(&key(from, to))
                    .is_some_and(|l| l.up && l.epoch == epoch);
                if ok {
                    self.input(
                        to,
                        Input::Frame {
                            peer: PeerId(from as u64),
                            bytes,
                        },
                    );
                }
            }
            Ev::Drained { from, to, epoch } => {
                let up = self
                    .links
                    .get(&key(from, to))
                    .is_some_and(|l| l.up && l.epoch == epoch);
                if up {
                    self.input(from, Input::Drained(PeerId(to as u64)));
                }
            }
            Ev::Timer { node, life } => {
                if self.nodes[node].life == life {
                    self.input(node, Input::Tick);
                }
            }
            Ev::Post { node } => {
                if self.nodes[node].sync.is_none() {
                    let at = self.now + 500;
                    self.schedule(at, Ev::Post { node });
                    return;
                }
                let k = self.nodes[node].posted;
                self.nodes[node].posted += 1;
                let body = match k % 5 {
                    3 => Body::Reaction {
                        target: EntryId([k as u8; 32]),
                        emoji: "👍".into(),
                    },
                    _ => Body::Text {
                        text: format!("node {node} says {k}"),
                        reply_to: None,
                    },
                };
                self.input(node, Input::Post(body));
            }
            Ev::PartitionStart { side } => {
                self.side = Some(side);
                self.refresh_all();
            }
            Ev::PartitionEnd => {
                self.side = None;
                self.refresh_all();
            }
            Ev::Crash { node } => {
                if self.nodes[node].sync.is_some() {
                    self.nodes[node].sync = None;
                    self.nodes[node].life += 1;
                    self.refresh_all();
                }
            }
            Ev::Recover { node } => {
                if self.nodes[node].sync.is_none() {
                    let n = &self.nodes[node];
                    let loaded = RoomSync::load(
                        self.room,
                        Identity::from_secret_bytes(&n.secret),
                        self.cfg.sync.clone(),
                        n.store.iter().cloned(),
                        n.evidence.values().cloned(),
                        true,
                    );
                    match loaded {
                        Ok(s) => self.nodes[node].sync = Some(s),
                        Err(e) => panic!("node {node} cannot reload its store: {e}"),
                    }
                    self.refresh_all();
                    // Restart the timer chain of the new life.
                    self.input(node, Input::Tick);
                }
            }
            Ev::Act { node } => self.act(node),
        }
    }

    fn adversary_input(&mut self, i: usize, input: Input) {
        if let Input::Frame { bytes, .. } = input {
            if let Ok(Frame::Push(recs) | Frame::Entries(recs)) = Frame::decode(&bytes) {
                for r in &recs {
                    let newest = self.nodes[i]
                        .newest
                        .entry(r.entry.author)
                        .or_insert(r.clone());
                    if r.entry.seq > newest.entry.seq {
                        *newest = r.clone();
                    }
                }
                if self.nodes[i].seen.len() < 64 {
                    self.nodes[i].seen.extend(recs);
                }
                // Passed on at once, ahead of the honest relay.
                if self.nodes[i].adversary == Some(Adversary::FalseFloors) {
                    self.act(i);
                }
            }
        }
    }

    fn honest_neighbours(&self, a: usize) -> Vec<usize> {
        self.links
            .iter()
            .filter(|(_, l)| l.up)
            .filter_map(|(&(x, y), _)| {
                if x == a {
                    Some(y)
                } else if y == a {
                    Some(x)
                } else {
                    None
                }
            })
            .filter(|&j| self.nodes[j].adversary.is_none())
            .collect()
    }

    fn signed(&self, id: &Identity, room: RoomId, seq: u64, prev: EntryId, text: &str) -> Record {
        let entry = Entry::sign(
            id,
            Draft {
                room_id: room,
                seq,
                prev_hash: prev,
                lamport: seq,
                wall_ms: self.now,
                body: Body::Text {
                    text: text.into(),
                    reply_to: None,
                },
            },
        );
        match entry {
            Ok(e) => Record::from_entry(e),
            Err(e) => panic!("simulation drafts are valid: {e}"),
        }
    }

    fn act(&mut self, a: usize) {
        let Some(kind) = self.nodes[a].adversary else {
            return;
        };
        let me = Identity::from_secret_bytes(&self.nodes[a].secret);
        let act = self.nodes[a].acted;
        self.nodes[a].acted += 1;
        let neighbours = self.honest_neighbours(a);
        let mut bad = true;
        let frames: Vec<(usize, Vec<u8>)> = match kind {
            Adversary::ForgedSignature => {
                let victim = PublicKey(self.nodes[0].public.0);
                let mut e = self
                    .signed(&me, self.room, 1, EntryId::ZERO, "forged")
                    .entry;
                e.author = victim;
                e.signature = Signature([act as u8 + 1; 64]);
                let f = Frame::Push(vec![Record::from_entry(e)]).encode();
                neighbours.iter().map(|&h| (h, f.clone())).collect()
            }
            Adversary::TamperedBody => {
                let mut e = match self.nodes[a].seen.first() {
                    Some(r) => r.entry.clone(),
                    None => self.signed(&me, self.room, 1, EntryId::ZERO, "x").entry,
                };
                e.body = Body::Text {
                    text: "tampered".into(),
                    reply_to: None,
                };
                let f = Frame::Push(vec![Record::from_entry(e)]).encode();
                neighbours.iter().map(|&h| (h, f.clone())).collect()
            }
            Adversary::OtherRoom => {
                let other = RoomId([0xee; 32]);
                let r = self.signed(&me, other, 1, EntryId::ZERO, "elsewhere");
                let f = Frame::Push(vec![r]).encode();
                neighbours.iter().map(|&h| (h, f.clone())).collect()
            }
            Adversary::Equivocator => {
                bad = false;
                let fork_a = self.signed(&me, self.room, 1, EntryId::ZERO, "fork a");
                let fork_b = self.signed(&me, self.room, 1, EntryId::ZERO, "fork b");
                let next = self.signed(&me, self.room, 2, fork_a.id, "more on fork a");
                neighbours
                    .iter()
                    .enumerate()
                    .map(|(k, &h)| {
                        let recs = if k % 2 == 0 {
                            vec![fork_a.clone(), next.clone()]
                        } else {
                            vec![fork_b.clone()]
                        };
                        (h, encode_entries(&recs, true).remove(0))
                    })
                    .collect()
            }
            Adversary::Oversized => {
                let f = vec![WIRE_VERSION; MAX_FRAME_LEN + 1 + act as usize];
                neighbours.iter().map(|&h| (h, f.clone())).collect()
            }
            Adversary::WantFlood => {
                bad = false;
                let ranges: Vec<WantRange> = (0..self.cfg.nodes)
                    .map(|i| WantRange {
                        author: self.nodes[i].public,
                        from_seq: 1,
                        to_seq: u64::MAX,
                    })
                    .cycle()
                    .take(1_000)
                    .collect();
                let f = encode_want(&ranges).remove(0);
                neighbours.iter().map(|&h| (h, f.clone())).collect()
            }
            Adversary::FakeAuthors => {
                bad = false;
                let heads: Vec<Head> = (0..5_000u64)
                    .map(|i| {
                        let mut k = [0xfa; 32];
                        k[..8].copy_from_slice(&(i + u64::from(act) * 5_000).to_be_bytes());
                        Head {
                            author: PublicKey(k),
                            seq: 1 << 40,
                            head: EntryId([0xfa; 32]),
                        }
                    })
                    .collect();
                let frames = encode_summary(&heads);
                neighbours
                    .iter()
                    .flat_map(|&h| frames.iter().map(move |f| (h, f.clone())))
                    .collect()
            }
            Adversary::UnchainedFlood => {
                bad = false;
                let big = "\u{1F600}".repeat(9_000);
                let mut prev = self.signed(&me, self.room, 1, EntryId::ZERO, &big).id;
                let mut recs = Vec::new();
                for seq in 2..=200 {
                    let r = self.signed(&me, self.room, seq, prev, &big);
                    prev = r.id;
                    recs.push(r);
                }
                let frames = encode_entries(&recs, true);
                neighbours
                    .iter()
                    .flat_map(|&h| frames.iter().map(move |f| (h, f.clone())))
                    .collect()
            }
            Adversary::FalseFloors => {
                bad = false;
                let recs: Vec<Record> = self.nodes[a].newest.values().cloned().collect();
                let heads: Vec<Head> = recs
                    .iter()
                    .map(|r| Head {
                        author: r.entry.author,
                        seq: r.entry.seq,
                        head: r.id,
                    })
                    .collect();
                let floors: Vec<Floor> = recs
                    .iter()
                    .map(|r| Floor {
                        author: r.entry.author,
                        base: r.entry.seq - 1,
                    })
                    .collect();
                let mut frames = encode_summary(&heads);
                frames.extend(encode_floors(&floors));
                frames.extend(encode_entries(&recs, true));
                neighbours
                    .iter()
                    .flat_map(|&h| frames.iter().map(move |f| (h, f.clone())))
                    .collect()
            }
            Adversary::Garbage => {
                let mut f = vec![WIRE_VERSION, 5, 0, 0, 0, 1, 0, 0, 0, 9];
                for _ in 0..(self.rng.range(1, 20)) {
                    f.push(self.rng.next_u64() as u8);
                }
                neighbours.iter().map(|&h| (h, f.clone())).collect()
            }
        };
        for (h, f) in frames {
            if bad {
                self.bad_sent.insert((a, h));
            }
            // Adversary frames are not lost, so every bad frame is seen and judged.
            let epoch = self.links[&key(a, h)].epoch;
            let at = self.now + self.cfg.latency_ms.0;
            self.schedule(
                at,
                Ev::Deliver {
                    from: a,
                    to: h,
                    epoch,
                    bytes: f,
                },
            );
        }
    }

    /// The ids held by honest node `i`, in display order.
    pub fn history(&self, i: usize) -> Vec<EntryId> {
        match &self.nodes[i].sync {
            Some(s) => s.log().in_display_order().iter().map(|r| r.id).collect(),
            None => Vec::new(),
        }
    }

    /// Checks convergence and the adversaries' fate; an error says what went wrong.
    pub fn check(&mut self) -> Result<SimReport, String> {
        let n = self.cfg.nodes;
        let seed = self.cfg.seed;
        let equivocators: BTreeSet<PublicKey> = self.nodes[n..]
            .iter()
            .filter(|x| x.adversary == Some(Adversary::Equivocator) && x.acted > 0)
            .map(|x| x.public)
            .collect();
        let honest: BTreeSet<PublicKey> = self.nodes[..n].iter().map(|x| x.public).collect();
        let mut reference: Option<Vec<EntryId>> = None;
        for i in 0..n {
            let node = &self.nodes[i];
            let Some(sync) = &node.sync else {
                return Err(format!("seed {seed}: node {i} is still down"));
            };
            let flagged = sync.flagged_authors();
            if !flagged.is_subset(&equivocators) {
                return Err(format!("seed {seed}: node {i} flagged an honest author"));
            }
            let log = sync.log();
            let ours: Vec<EntryId> = log
                .in_display_order()
                .iter()
                .filter(|r| honest.contains(&r.entry.author))
                .map(|r| r.id)
                .collect();
            for a in &honest {
                if log.top_of(a) != self.cfg.posts_per_node as u64 {
                    return Err(format!(
                        "seed {seed}: node {i} holds {} of {}'s {} entries (pending {})",
                        log.top_of(a),
                        a.short(),
                        self.cfg.posts_per_node,
                        sync.pending_len()
                    ));
                }
            }
            for r in log.in_display_order() {
                let a = r.entry.author;
                if !honest.contains(&a) && !equivocators.contains(&a) {
                    return Err(format!("seed {seed}: node {i} holds an adversary's entry"));
                }
            }
            let mut stored: Vec<EntryId> = node.store.iter().map(|r| r.id).collect();
            stored.sort();
            let before = stored.len();
            stored.dedup();
            if before != stored.len() || stored.len() != log.len() {
                return Err(format!(
                    "seed {seed}: node {i} stored {before} records for {} entries",
                    log.len()
                ));
            }
            match &reference {
                None => reference = Some(ours),
                Some(r) if *r != ours => {
                    return Err(format!("seed {seed}: node {i} diverges from node 0"))
                }
                Some(_) => {}
            }
        }
        // Every honest node that could see both forks' evidence flags the equivocator: the
        // evidence spreads to all honest nodes once any one of them holds both forks.
        let any_flagged: BTreeSet<PublicKey> = self.nodes[..n]
            .iter()
            .filter_map(|x| x.sync.as_ref())
            .flat_map(|s| s.flagged_authors())
            .collect();
        for i in 0..n {
            if let Some(s) = &self.nodes[i].sync {
                if s.flagged_authors() != any_flagged {
                    return Err(format!(
                        "seed {seed}: node {i} missed equivocation evidence"
                    ));
                }
            }
        }
        for (i, j, why) in &self.disconnects {
            if *j < n {
                return Err(format!(
                    "seed {seed}: honest node {i} disconnected honest node {j}: {why}"
                ));
            }
        }
        for &(a, h) in &self.bad_sent {
            if !self.disconnects.iter().any(|(i, j, _)| *i == h && *j == a) {
                return Err(format!(
                    "seed {seed}: node {h} kept adversary {a} ({:?}) connected",
                    self.nodes[a].adversary
                ));
            }
        }
        // A want costs at most the history once: each of an adversary's acts sends one want
        // frame per neighbour, so what it was served is bounded by its acts.
        let history: u64 = self.nodes[0].sync.as_ref().map_or(0, |s| {
            s.log()
                .in_display_order()
                .iter()
                .filter(|r| honest.contains(&r.entry.author))
                .map(|r| r.bytes.len() as u64 + 10)
                .sum()
        });
        for (&(h, a), &bytes) in &self.served_to_adversary {
            let acts = u64::from(self.nodes[a].acted).max(1);
            if bytes > acts * history + 1_024 {
                return Err(format!(
                    "seed {seed}: node {h} served adversary {a} {bytes} bytes for {acts} wants of a {history}-byte history"
                ));
            }
        }
        for (i, node) in self.nodes[..n].iter().enumerate() {
            if let Some(s) = &node.sync {
                if s.pending_bytes() > self.cfg.sync.max_pending_bytes {
                    return Err(format!(
                        "seed {seed}: node {i} holds {} bytes pending",
                        s.pending_bytes()
                    ));
                }
            }
        }
        self.report.entries = reference.map_or(0, |r| r.len());
        self.report.adversaries_disconnected = self.disconnects.len();
        Ok(self.report.clone())
    }
}
