//! Pacing: the datagrams for each peer leave at a bounded rate instead of in bursts.
//!
//! # Why
//!
//! str0m's SCTP hands over a whole congestion window at once, hundreds of datagrams that
//! the socket sends within a millisecond. A browser reads its UDP socket in a process that
//! is busy verifying and storing what came before; a burst larger than that socket's
//! receive buffer is dropped by the kernel, and SCTP's one-second minimum retransmission
//! timeout turns a lost tail into a second's stall. A token bucket per destination lets a
//! short burst through and spreads the rest at a steady rate, so the browser's socket
//! drains between packets the way it does when another browser (whose sending is spread
//! by its own process boundaries) is the peer.
//!
//! # Rules
//!
//! - Each destination has a bucket of `burst` bytes, refilled at `rate` bytes per second
//!   (both given to [`Pacer::new`]); a datagram leaves when the bucket holds its length.
//! - Datagrams for one destination leave in the order given; destinations take turns.
//! - Time is passed in; the pacer reads no clock.
//!
//! # Bounds
//!
//! | what | bound |
//! |---|---|
//! | bytes waiting for one destination | [`MAX_WAITING_BYTES`]: past it a new datagram is dropped (SCTP sends it again) |
//! | destinations remembered | those with datagrams waiting or a bucket not yet full again |

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::rtc::Datagram;

/// Bytes waiting for one destination before new datagrams for it are dropped.
pub const MAX_WAITING_BYTES: usize = 4 * 1024 * 1024;

/// One destination's bucket and queue.
#[derive(Debug)]
struct Dest {
    /// Bytes that may leave now, as of `at`.
    tokens: f64,
    at: Instant,
    queue: VecDeque<Datagram>,
    /// Bytes in `queue`.
    waiting: usize,
}

/// The token buckets (see the module doc).
#[derive(Debug)]
pub struct Pacer {
    rate: f64,
    burst: f64,
    dests: BTreeMap<SocketAddr, Dest>,
    /// The destination served first on the next [`Pacer::pop`], for turns.
    turn: Option<SocketAddr>,
    dropped: u64,
}

impl Pacer {
    /// A pacer letting `burst` bytes through at once and `rate` bytes per second after.
    pub fn new(rate: u64, burst: u64) -> Pacer {
        Pacer {
            rate: rate.max(1) as f64,
            burst: burst.max(1) as f64,
            dests: BTreeMap::new(),
            turn: None,
            dropped: 0,
        }
    }

    /// Datagrams dropped because their destination had too much waiting.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Queues a datagram.
    pub fn push(&mut self, now: Instant, d: Datagram) {
        let burst = self.burst;
        let dest = self.dests.entry(d.to).or_insert_with(|| Dest {
            tokens: burst,
            at: now,
            queue: VecDeque::new(),
            waiting: 0,
        });
        if dest.waiting + d.bytes.len() > MAX_WAITING_BYTES {
            self.dropped += 1;
            return;
        }
        dest.waiting += d.bytes.len();
        dest.queue.push_back(d);
    }

    /// The next datagram allowed to leave at `now`, if any. Once none is, forgets the
    /// destinations that have nothing more to pace.
    pub fn pop(&mut self, now: Instant) -> Option<Datagram> {
        let (rate, burst) = (self.rate, self.burst);
        let ready = |(_, d): &(&SocketAddr, &Dest)| {
            d.queue.front().is_some_and(|f| {
                // A datagram larger than the whole bucket leaves once the bucket is full.
                tokens_at(d, now, rate, burst) >= (f.bytes.len() as f64).min(burst)
            })
        };
        // Destinations from the one whose turn it is, then the rest.
        let found = match self.turn {
            Some(t) => self
                .dests
                .range(t..)
                .chain(self.dests.range(..t))
                .find(ready),
            None => self.dests.iter().find(ready),
        }
        .map(|(a, _)| *a);
        let Some(addr) = found else {
            self.forget_idle(now);
            return None;
        };
        let dest = self.dests.get_mut(&addr)?;
        let d = dest.queue.pop_front()?;
        dest.tokens = tokens_at(dest, now, rate, burst) - d.bytes.len() as f64;
        dest.at = now;
        dest.waiting -= d.bytes.len();
        self.turn = self.dests.range(addr..).nth(1).map(|(a, _)| *a);
        Some(d)
    }

    /// When the first datagram still waiting may leave (`None` when nothing waits).
    pub fn next_at(&self) -> Option<Instant> {
        self.dests
            .values()
            .filter_map(|d| {
                let len = d.queue.front()?.bytes.len() as f64;
                let missing = len.min(self.burst) - d.tokens;
                Some(if missing <= 0.0 {
                    d.at
                } else {
                    d.at + Duration::from_secs_f64(missing / self.rate)
                })
            })
            .min()
    }

    /// Drops the state of destinations with nothing waiting and a full bucket (they would
    /// start afresh the same way).
    fn forget_idle(&mut self, now: Instant) {
        let (rate, burst) = (self.rate, self.burst);
        self.dests
            .retain(|_, d| !d.queue.is_empty() || tokens_at(d, now, rate, burst) < burst);
    }
}

/// What a destination's bucket holds at `now`.
fn tokens_at(d: &Dest, now: Instant, rate: f64, burst: f64) -> f64 {
    let since = now.saturating_duration_since(d.at).as_secs_f64();
    (d.tokens + since * rate).min(burst)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, SocketAddrV4};

    fn dgram(to: SocketAddr, n: usize, tag: u8) -> Datagram {
        Datagram {
            to,
            bytes: vec![tag; n],
        }
    }

    fn drain(p: &mut Pacer, now: Instant) -> Vec<Datagram> {
        std::iter::from_fn(|| p.pop(now)).collect()
    }

    const A: SocketAddr = SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 1), 5000));
    const B: SocketAddr = SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 2), 5000));

    #[test]
    fn a_burst_passes_then_the_rest_waits_for_the_rate() {
        let t0 = Instant::now();
        let a = A;
        // 1,000 bytes at once, then 100,000 bytes per second.
        let mut p = Pacer::new(100_000, 1_000);
        for i in 0..5 {
            p.push(t0, dgram(a, 500, i));
        }
        let now = drain(&mut p, t0);
        assert_eq!(now.iter().map(|d| d.bytes[0]).collect::<Vec<_>>(), [0, 1]);
        // The third may leave once 500 bytes have refilled: 5 ms.
        assert_eq!(p.next_at(), Some(t0 + Duration::from_millis(5)));
        assert!(drain(&mut p, t0 + Duration::from_millis(4)).is_empty());
        let later = drain(&mut p, t0 + Duration::from_millis(5));
        assert_eq!(later.iter().map(|d| d.bytes[0]).collect::<Vec<_>>(), [2]);
        let rest = drain(&mut p, t0 + Duration::from_millis(15));
        assert_eq!(rest.iter().map(|d| d.bytes[0]).collect::<Vec<_>>(), [3, 4]);
        assert_eq!(p.next_at(), None);
    }

    #[test]
    fn the_bucket_never_holds_more_than_the_burst() {
        let t0 = Instant::now();
        let a = A;
        let mut p = Pacer::new(100_000, 1_000);
        p.push(t0, dgram(a, 1_000, 0));
        assert_eq!(drain(&mut p, t0).len(), 1);
        // A long quiet spell refills the bucket to the burst, not beyond.
        let t1 = t0 + Duration::from_secs(10);
        for i in 0..3 {
            p.push(t1, dgram(a, 500, i));
        }
        assert_eq!(drain(&mut p, t1).len(), 2);
    }

    #[test]
    fn destinations_have_their_own_buckets_and_take_turns() {
        let t0 = Instant::now();
        let (a, b) = (A, B);
        let mut p = Pacer::new(100_000, 1_000);
        for i in 0..3 {
            p.push(t0, dgram(a, 500, i));
            p.push(t0, dgram(b, 500, 10 + i));
        }
        let out: Vec<(SocketAddr, u8)> = drain(&mut p, t0)
            .iter()
            .map(|d| (d.to, d.bytes[0]))
            .collect();
        assert_eq!(out, [(a, 0), (b, 10), (a, 1), (b, 11)]);
    }

    #[test]
    fn a_datagram_larger_than_the_burst_still_leaves() {
        let t0 = Instant::now();
        let a = A;
        let mut p = Pacer::new(100_000, 1_000);
        p.push(t0, dgram(a, 1_500, 0));
        p.push(t0, dgram(a, 100, 1));
        assert_eq!(drain(&mut p, t0).len(), 1);
        // It overdrew the bucket: the next waits until it is repaid.
        assert!(drain(&mut p, t0 + Duration::from_millis(5)).is_empty());
        assert_eq!(drain(&mut p, t0 + Duration::from_millis(6)).len(), 1);
    }

    #[test]
    fn too_much_waiting_for_one_destination_drops_the_new_datagram() {
        let t0 = Instant::now();
        let (a, b) = (A, B);
        let mut p = Pacer::new(1, 1);
        let n = MAX_WAITING_BYTES / 1_000;
        for _ in 0..n + 5 {
            p.push(t0, dgram(a, 1_000, 0));
        }
        p.push(t0, dgram(b, 1_000, 1));
        assert_eq!(p.dropped(), 5);
        assert_eq!(p.dests[&a].waiting, n * 1_000);
        assert_eq!(p.dests[&b].queue.len(), 1);
    }

    #[test]
    fn idle_destinations_are_forgotten() {
        let t0 = Instant::now();
        let a = A;
        let mut p = Pacer::new(100_000, 1_000);
        p.push(t0, dgram(a, 500, 0));
        assert_eq!(drain(&mut p, t0).len(), 1);
        assert_eq!(p.dests.len(), 1, "its bucket is not full yet");
        assert!(drain(&mut p, t0 + Duration::from_millis(5)).is_empty());
        assert!(p.dests.is_empty());
    }
}
