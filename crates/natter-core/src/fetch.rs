//! Pulling one attachment's chunks from every peer that has them.
//!
//! # What
//!
//! [`Fetch`] is a sans-IO state machine for one file named by a [`Root`] and length
//! ([`crate::blob`]). Peers say which chunks they hold ([`Fetch::peer_has`]); the machine
//! asks them for the chunks it lacks ([`FetchOutput::Request`]), at most
//! [`FetchConfig::max_in_flight`] at a time from each, spreading the requests over every
//! peer that can answer them; it verifies each chunk that comes back against the root before
//! anything else happens to it, and hands the verified ones out to be stored
//! ([`FetchOutput::Store`]). It starts from the chunks already stored, so a download resumes
//! where it stopped, across reloads and disconnects.
//!
//! # Rules
//!
//! - Requests go lowest chunk first (a file shows or plays from its start), one at a time
//!   per peer in turn, so several peers share the work; a chunk is in flight from one peer
//!   at a time.
//! - A chunk that fails verification is never stored or served on: its sender is blamed
//!   ([`FetchOutput::Blame`]; the driver drops the connection) and forgotten, and what it
//!   had in flight is asked of the others.
//! - A peer that leaves ([`Fetch::peer_gone`]) gives its requests back to the others.
//! - A request unanswered within [`FetchConfig::request_timeout_ms`] is asked of another
//!   peer; the slow one is not asked for that chunk again until every other holder has
//!   timed out too.
//! - A chunk nobody asked for, or asked of someone else, is dropped unread.
//!
//! # Bounds
//!
//! | what | bound |
//! | --- | --- |
//! | peers followed | [`FetchConfig::max_peers`]; later ones are ignored until one leaves |
//! | requests in flight | [`FetchConfig::max_in_flight`] per peer |
//! | a peer's availability | one bit per chunk of this file; a map of another size is refused |
//! | outputs queued | the requests in flight plus one store or blame per chunk received |

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use crate::blob::{chunk_count, verify_hashed, BlobError, Proof, Root, MAX_FILE_LEN};
use crate::sync::PeerId;

/// Tunables.
#[derive(Debug, Clone)]
pub struct FetchConfig {
    /// Requests in flight to one peer at once.
    pub max_in_flight: usize,
    /// How long a request may go unanswered before it is asked of another peer.
    pub request_timeout_ms: u64,
    /// Peers followed at once.
    pub max_peers: usize,
}

impl Default for FetchConfig {
    fn default() -> Self {
        FetchConfig {
            max_in_flight: 4,
            request_timeout_ms: 15_000,
            max_peers: 64,
        }
    }
}

/// Which chunks a peer holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Availability {
    /// The whole file.
    All,
    /// One flag per chunk, in order.
    Chunks(Vec<bool>),
}

/// What the driver is to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FetchOutput {
    /// Ask `peer` for chunk `index`.
    Request {
        /// Who.
        peer: PeerId,
        /// Which chunk.
        index: u64,
    },
    /// Chunk `index`, verified: store it with its proof, to serve it on.
    Store {
        /// Which chunk.
        index: u64,
        /// Its proof against the root.
        proof: Proof,
        /// Its bytes.
        bytes: Vec<u8>,
    },
    /// `peer` sent a chunk that does not verify: drop it.
    Blame {
        /// Who.
        peer: PeerId,
        /// What was wrong.
        reason: BlobError,
    },
    /// Every chunk is stored.
    Done,
}

/// Why a fetch could not start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    /// The file is larger than [`MAX_FILE_LEN`].
    #[error("the file is larger than {MAX_FILE_LEN} bytes")]
    TooLarge,
    /// A stored chunk's index is past the file's end.
    #[error("a stored chunk lies past the end of the file")]
    BadStored,
}

/// One peer as the fetch sees it.
#[derive(Debug)]
struct Peer {
    has: Availability,
    /// Chunks asked of it, with their deadlines.
    asked: BTreeMap<u64, u64>,
    /// Chunks it did not answer in time.
    slow: BTreeSet<u64>,
}

impl Peer {
    fn holds(&self, index: u64) -> bool {
        match &self.has {
            Availability::All => true,
            Availability::Chunks(flags) => flags.get(index as usize).copied().unwrap_or(false),
        }
    }
}

/// Pulling one file's chunks (see the module doc).
#[derive(Debug)]
pub struct Fetch {
    root: Root,
    len: u64,
    chunks: u64,
    have: Vec<bool>,
    have_count: u64,
    /// Every chunk below this one is held: where the search for the next request starts.
    low: u64,
    /// Chunk in flight → the peer asked.
    in_flight: BTreeMap<u64, PeerId>,
    peers: BTreeMap<PeerId, Peer>,
    /// Where the next round of requests starts among the peers.
    turn: Option<PeerId>,
    out: VecDeque<FetchOutput>,
    config: FetchConfig,
    done_said: bool,
}

impl Fetch {
    /// Starts fetching the file of `len` bytes named by `root`, already holding the
    /// chunks in `stored`.
    pub fn new(
        root: Root,
        len: u64,
        stored: impl IntoIterator<Item = u64>,
        config: FetchConfig,
    ) -> Result<Fetch, FetchError> {
        if len > MAX_FILE_LEN {
            return Err(FetchError::TooLarge);
        }
        let chunks = chunk_count(len);
        let mut have = vec![false; chunks as usize];
        for i in stored {
            *have.get_mut(i as usize).ok_or(FetchError::BadStored)? = true;
        }
        let have_count = have.iter().filter(|h| **h).count() as u64;
        let low = have.iter().position(|h| !h).unwrap_or(have.len()) as u64;
        let mut fetch = Fetch {
            root,
            len,
            chunks,
            have,
            have_count,
            low,
            in_flight: BTreeMap::new(),
            peers: BTreeMap::new(),
            turn: None,
            out: VecDeque::new(),
            config,
            done_said: false,
        };
        fetch.check_done();
        Ok(fetch)
    }

    /// Chunks held, and the file's chunk count.
    pub fn progress(&self) -> (u64, u64) {
        (self.have_count, self.chunks)
    }

    /// Whether every chunk is held.
    pub fn is_done(&self) -> bool {
        self.have_count == self.chunks
    }

    /// The next thing for the driver to do.
    pub fn poll_output(&mut self) -> Option<FetchOutput> {
        self.out.pop_front()
    }

    /// When [`Fetch::tick`] next has something to do.
    pub fn next_deadline(&self) -> Option<u64> {
        self.peers
            .values()
            .flat_map(|p| p.asked.values())
            .min()
            .copied()
    }

    /// `peer` holds these chunks (again: an update replaces what it said before).
    pub fn peer_has(&mut self, now_ms: u64, peer: PeerId, has: Availability) {
        if let Availability::Chunks(flags) = &has {
            if flags.len() as u64 != self.chunks {
                return;
            }
        }
        let room = self.peers.len() < self.config.max_peers;
        match self.peers.get_mut(&peer) {
            Some(p) => p.has = has,
            None if room => {
                self.peers.insert(
                    peer,
                    Peer {
                        has,
                        asked: BTreeMap::new(),
                        slow: BTreeSet::new(),
                    },
                );
            }
            None => return,
        }
        self.schedule(now_ms);
    }

    /// `peer` left: what it had in flight is asked of the others.
    pub fn peer_gone(&mut self, now_ms: u64, peer: PeerId) {
        self.forget(peer);
        self.schedule(now_ms);
    }

    /// Chunk `index` arrived from `peer` with its proof, and its
    /// [`crate::blob::leaf_hash`] when the driver computed it (`None`: it is computed here,
    /// see [`crate::blob::verify_hashed`]).
    pub fn received(
        &mut self,
        now_ms: u64,
        peer: PeerId,
        index: u64,
        bytes: Vec<u8>,
        proof: &Proof,
        leaf: Option<[u8; 32]>,
    ) {
        if self.in_flight.get(&index) != Some(&peer) {
            // Unasked, or asked of someone else: dropped unread.
            return;
        }
        match verify_hashed(&self.root, self.len, index, &bytes, leaf, proof) {
            Ok(()) => {
                self.in_flight.remove(&index);
                if let Some(p) = self.peers.get_mut(&peer) {
                    p.asked.remove(&index);
                }
                if !self.have[index as usize] {
                    self.have[index as usize] = true;
                    self.have_count += 1;
                    self.out.push_back(FetchOutput::Store {
                        index,
                        proof: proof.clone(),
                        bytes,
                    });
                }
                while self.have.get(self.low as usize) == Some(&true) {
                    self.low += 1;
                }
                self.check_done();
            }
            Err(reason) => {
                self.out.push_back(FetchOutput::Blame { peer, reason });
                self.forget(peer);
            }
        }
        self.schedule(now_ms);
    }

    /// `peer` says it does not hold chunk `index` (any more): it is not asked for it again
    /// unless it says it has it, and a request of it for that chunk goes to the others.
    pub fn peer_lacks(&mut self, now_ms: u64, peer: PeerId, index: u64) {
        let chunks = self.chunks as usize;
        let Some(p) = self.peers.get_mut(&peer) else {
            return;
        };
        let Some(i) = usize::try_from(index).ok().filter(|i| *i < chunks) else {
            return;
        };
        if let Availability::All = p.has {
            p.has = Availability::Chunks(vec![true; chunks]);
        }
        if let Availability::Chunks(flags) = &mut p.has {
            flags[i] = false;
        }
        if p.asked.remove(&index).is_some() {
            self.in_flight.remove(&index);
        }
        self.schedule(now_ms);
    }

    /// Moves requests past their deadline to other peers.
    pub fn tick(&mut self, now_ms: u64) {
        let late: Vec<(PeerId, u64)> = self
            .peers
            .iter()
            .flat_map(|(id, p)| {
                p.asked
                    .iter()
                    .filter(|(_, at)| **at <= now_ms)
                    .map(|(i, _)| (*id, *i))
            })
            .collect();
        for (peer, index) in late {
            self.in_flight.remove(&index);
            if let Some(p) = self.peers.get_mut(&peer) {
                p.asked.remove(&index);
                p.slow.insert(index);
            }
        }
        self.schedule(now_ms);
    }

    /// Chunks every peer still holding them was slow to send may be asked of them all
    /// again (checked as peers time out, leave or are dropped).
    fn release_slow(&mut self) {
        let slow: BTreeSet<u64> = self
            .peers
            .values()
            .flat_map(|p| p.slow.iter().copied())
            .collect();
        for index in slow {
            let mut holders = self.peers.values().filter(|p| p.holds(index));
            if holders.all(|p| p.slow.contains(&index)) {
                for p in self.peers.values_mut() {
                    p.slow.remove(&index);
                }
            }
        }
    }

    fn forget(&mut self, peer: PeerId) {
        if let Some(p) = self.peers.remove(&peer) {
            for index in p.asked.keys() {
                self.in_flight.remove(index);
            }
        }
    }

    fn check_done(&mut self) {
        if self.is_done() && !self.done_said {
            self.done_said = true;
            self.out.push_back(FetchOutput::Done);
        }
    }

    /// Gives each peer with a free slot the lowest chunk it can answer that nobody is
    /// asked for, one request per peer per round, until no peer can take another.
    fn schedule(&mut self, now_ms: u64) {
        if self.is_done() {
            return;
        }
        self.release_slow();
        let deadline = now_ms.saturating_add(self.config.request_timeout_ms);
        loop {
            let mut asked_any = false;
            let order: Vec<PeerId> = match self.turn {
                Some(t) => self
                    .peers
                    .range(t..)
                    .chain(self.peers.range(..t))
                    .map(|(id, _)| *id)
                    .collect(),
                None => self.peers.keys().copied().collect(),
            };
            for id in order {
                let Some(p) = self.peers.get(&id) else {
                    continue;
                };
                if p.asked.len() >= self.config.max_in_flight {
                    continue;
                }
                let next = (self.low..self.chunks).find(|i| {
                    !self.have[*i as usize]
                        && !self.in_flight.contains_key(i)
                        && p.holds(*i)
                        && !p.slow.contains(i)
                });
                let Some(index) = next else { continue };
                self.in_flight.insert(index, id);
                if let Some(p) = self.peers.get_mut(&id) {
                    p.asked.insert(index, deadline);
                }
                self.out.push_back(FetchOutput::Request { peer: id, index });
                self.turn = self.peers.range(id..).nth(1).map(|(k, _)| *k);
                asked_any = true;
            }
            if !asked_any {
                return;
            }
        }
    }
}
