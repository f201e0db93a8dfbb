//! The join-code mailbox registry: short-lived numbered mailboxes through which a mailbox's
//! owner and one joiner at a time exchange opaque blobs (a PAKE keyed by the secret half
//! of a join code, which the server never sees). The protocol is the section "Join-code
//! mailboxes" of [`natter_core::signal`].
//!
//! # Why it looks like this
//!
//! A join code must be short enough to read out, so the mailbox number in it is small and
//! guessable; what keeps a guesser out is the PAKE, and what keeps a guesser from trying
//! often is this registry: every claim uses one of a mailbox's [`MAX_CODE_TRIES`] tries, a
//! mailbox holds one joiner at a time (`code_busy` for the others), and each address may
//! claim only `code_claims_per_minute` times a minute. The registry relays blobs without
//! reading them, keeps everything in memory and writes nothing.
//!
//! All mailboxes sit behind one `Mutex`: code traffic is a handful of messages per join,
//! already throttled per connection by the frame rate limit, so one lock does not contend.
//! As in [`crate::rooms`], the lock is held only to update the maps and to push
//! already-encoded messages into bounded outboxes with the non-blocking
//! [`ConnHandle::deliver`].
//!
//! # Numbers
//!
//! A new mailbox gets a number drawn uniformly (from the operating system's RNG) among the
//! free numbers of a range that grows with the number of open mailboxes: `10..=99` while
//! fewer than 45 are open, `100..=999` while fewer than 450 are, else `1000..=99999`. So at
//! least half of the range is free whenever a number is drawn (`max_codes` is at most
//! [`crate::config::MAX_CODES_LIMIT`]), codes stay two digits long while few are open, and
//! a number is never below 10, so a code's digits split unambiguously.
//!
//! # Expiry
//!
//! Each mailbox has a deadline by the server's clock (`tokio::time::Instant`): the
//! granted `ttl_ms`, cut to `max_code_ttl`. One tokio task per mailbox sleeps until the
//! deadline and then closes it (owner and joiner get `code_closed expired`); the task is
//! aborted when the mailbox closes earlier, and holds only a `Weak` reference, so at most
//! `max_codes` such tasks exist and none keeps a stopped server alive. A mailbox that a
//! claim, send or close finds past its deadline before its task ran is expired on the
//! spot, so a late timer never lets a claim or a blob through.
//!
//! # Invariants
//!
//! - a mailbox is present from `code_open` until the first of: its owner's `code_close`
//!   (`done`, told to the joiner; the owner gets no echo, as for `leave`), its deadline
//!   (`expired`, told to both), its last try given up (`burned`, told to the owner), its
//!   owner's connection ending (`gone`, told to the joiner);
//! - a mailbox is open only while it has tries left or a joiner using its last one:
//!   `tries_used < MAX_CODE_TRIES`, or `== MAX_CODE_TRIES` with a joiner present;
//! - a blob is relayed only between a mailbox's owner and its current joiner, and only to
//!   the other one of the two; a connection that is neither gets `no_such_code`, exactly as
//!   for a mailbox that is not open, so probing tells nothing more than claiming;
//! - open mailboxes: at most `max_codes_per_connection` per connection, `max_codes_per_ip`
//!   per address (counted like connections: an IPv6 /64, or the forwarded client address
//!   behind a trusted proxy) and `max_codes` in total;
//! - every map here is bounded: mailboxes by `max_codes`; the per-address and
//!   per-connection indexes by the mailboxes they point at; the claim counters by
//!   [`MAX_CLAIM_ADDRESSES`] addresses (see [`ClaimLimiter`]).
//!
//! Smaller choices: `ttl_ms` 0 is refused with `bad_message` (a code that is closed before
//! it can be read is a client bug, not a request for the shortest lifetime); an owner
//! claiming its own mailbox gets `no_such_code`; a joiner claiming the mailbox it already
//! holds gets `code_busy` and uses no try; the owner's `code_send` while no joiner holds
//! the mailbox is dropped without an error (no one is there to read it, and when it raced
//! a joiner leaving, the owner learns of that from `code_waiting`); every `code_claim`
//! within the blob bound counts towards its address's claims, whether or not the mailbox
//! exists, since guessing is what the count is for. Blobs are never logged; mailbox
//! numbers only at debug level.

use std::collections::HashMap;
use std::net::IpAddr;
use std::ops::RangeInclusive;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

use natter_core::signal::{CodeEnd, ErrorCode, ServerMessage, MAX_CODE_TRIES};
use rand_core::{OsRng, RngCore};
use tokio::task::AbortHandle;
use tokio::time::Instant;

use crate::config::Limits;
use crate::rooms::{encode, ConnHandle};

/// Addresses whose recent claims are remembered. An address is forgotten a minute after
/// its last claim; when this many have claimed within the last minute, claims from further
/// addresses are refused (`too_many_tries`) until some are forgotten, so the map cannot
/// grow and the limit cannot be escaped by flooding it.
pub const MAX_CLAIM_ADDRESSES: usize = 65_536;

/// The period of `code_claims_per_minute`.
const CLAIM_PERIOD: Duration = Duration::from_secs(60);

/// Random draws before the allocator falls back to a scan from a random start.
const DRAWS: usize = 64;

/// One connection as a party to mailboxes: its registry id, its outbox and its address.
#[derive(Debug, Clone)]
pub(crate) struct Party {
    id: u64,
    ip: IpAddr,
    conn: Arc<ConnHandle>,
}

/// Why a code request was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CodeError {
    /// The mailbox is not open, or this connection is not a party to it.
    NoSuchCode,
    /// Another joiner holds the mailbox.
    Busy,
    /// This connection already owns `max_codes_per_connection` mailboxes.
    TooManyForConnection,
    /// This address already owns `max_codes_per_ip` mailboxes.
    TooManyForAddress,
    /// The server holds `max_codes` mailboxes.
    TooManyOnServer,
    /// This address claimed too often lately.
    TooManyTries,
}

impl CodeError {
    /// The error code and text sent to the client.
    pub(crate) fn describe(self) -> (ErrorCode, &'static str) {
        match self {
            CodeError::NoSuchCode => (ErrorCode::NoSuchCode, "no such code"),
            CodeError::Busy => (ErrorCode::CodeBusy, "someone else is trying this code"),
            CodeError::TooManyForConnection => (
                ErrorCode::TooManyCodes,
                "this connection has too many open codes",
            ),
            CodeError::TooManyForAddress => (
                ErrorCode::TooManyCodes,
                "this address has too many open codes",
            ),
            CodeError::TooManyOnServer => (
                ErrorCode::TooManyCodes,
                "the server has too many open codes",
            ),
            CodeError::TooManyTries => (ErrorCode::TooManyTries, "too many code tries, wait"),
        }
    }
}

/// An opened mailbox, as told to its owner.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Opened {
    /// Its number.
    pub(crate) mailbox: u32,
    /// Its lifetime from now, after the cut to `max_code_ttl`.
    pub(crate) expires_in: Duration,
}

/// One open mailbox.
#[derive(Debug)]
struct Mailbox {
    /// Tells this mailbox apart from an earlier or later one with the same number.
    serial: u64,
    owner: Party,
    deadline: Instant,
    tries_used: u32,
    joiner: Option<Party>,
    /// The task that expires the mailbox at `deadline`.
    timer: Option<AbortHandle>,
}

/// The mailboxes one connection is a party to.
#[derive(Debug, Default)]
struct PartyCodes {
    owned: Vec<u32>,
    joined: Vec<u32>,
}

/// Everything behind the registry's lock.
#[derive(Debug)]
struct Inner {
    mailboxes: HashMap<u32, Mailbox>,
    /// Connection id to the mailboxes it owns or holds as joiner.
    parties: HashMap<u64, PartyCodes>,
    /// Address to the number of mailboxes it owns.
    per_ip: HashMap<IpAddr, usize>,
    claims: ClaimLimiter,
}

/// All join-code mailboxes of the server.
#[derive(Debug)]
pub(crate) struct Codes {
    inner: Mutex<Inner>,
    next_id: AtomicU64,
    /// Weak self, handed to the expiry tasks.
    this: Weak<Codes>,
    max_per_connection: usize,
    max_per_ip: usize,
    max_total: usize,
    max_ttl: Duration,
}

impl Codes {
    /// An empty registry with the limits of `limits`.
    pub(crate) fn new(limits: &Limits) -> Arc<Self> {
        Arc::new_cyclic(|this| Codes {
            inner: Mutex::new(Inner {
                mailboxes: HashMap::new(),
                parties: HashMap::new(),
                per_ip: HashMap::new(),
                claims: ClaimLimiter::new(limits.code_claims_per_minute, MAX_CLAIM_ADDRESSES),
            }),
            next_id: AtomicU64::new(1),
            this: this.clone(),
            max_per_connection: limits.max_codes_per_connection,
            max_per_ip: limits.max_codes_per_ip,
            max_total: limits.max_codes,
            max_ttl: limits.max_code_ttl,
        })
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // No code path panics between mutations, so a poisoned lock still guards a
        // consistent state.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The party a new connection acts as; `ip` is its address as counted for limits.
    pub(crate) fn party(&self, conn: Arc<ConnHandle>, ip: IpAddr) -> Party {
        Party {
            id: self.next_id.fetch_add(1, Ordering::Relaxed),
            ip,
            conn,
        }
    }

    /// `code_open`: opens a mailbox owned by `me` for `ttl` (cut to `max_code_ttl`; the
    /// caller refuses 0).
    pub(crate) fn open(&self, me: &Party, ttl: Duration) -> Result<Opened, CodeError> {
        let now = Instant::now();
        let expires_in = ttl.min(self.max_ttl);
        let mut inner = self.lock();
        let owned = inner.parties.get(&me.id).map_or(0, |p| p.owned.len());
        if owned >= self.max_per_connection {
            return Err(CodeError::TooManyForConnection);
        }
        if inner.per_ip.get(&me.ip).copied().unwrap_or(0) >= self.max_per_ip {
            return Err(CodeError::TooManyForAddress);
        }
        let open = inner.mailboxes.len();
        if open >= self.max_total {
            return Err(CodeError::TooManyOnServer);
        }
        let Some(number) = pick_number(open, |n| inner.mailboxes.contains_key(&n), &mut OsRng)
        else {
            return Err(CodeError::TooManyOnServer);
        };
        let serial = self.next_id.fetch_add(1, Ordering::Relaxed);
        let deadline = now + expires_in;
        let weak = self.this.clone();
        let timer = tokio::spawn(async move {
            tokio::time::sleep_until(deadline).await;
            if let Some(codes) = weak.upgrade() {
                codes.expire(number, serial);
            }
        })
        .abort_handle();
        inner.mailboxes.insert(
            number,
            Mailbox {
                serial,
                owner: me.clone(),
                deadline,
                tries_used: 0,
                joiner: None,
                timer: Some(timer),
            },
        );
        inner.parties.entry(me.id).or_default().owned.push(number);
        *inner.per_ip.entry(me.ip).or_insert(0) += 1;
        tracing::debug!(
            mailbox = number,
            ttl_ms = expires_in.as_millis() as u64,
            "code opened"
        );
        Ok(Opened {
            mailbox: number,
            expires_in,
        })
    }

    /// `code_claim`: makes `me` the joiner of `number`, using one try, and hands the owner
    /// `blob` (length already checked by the caller).
    pub(crate) fn claim(&self, me: &Party, number: u32, blob: &str) -> Result<(), CodeError> {
        let now = Instant::now();
        let mut inner = self.lock();
        if !inner.claims.allow(me.ip, now) {
            tracing::debug!("code claim refused: too many from this address");
            return Err(CodeError::TooManyTries);
        }
        let Some(m) = inner.live(number, now) else {
            tracing::debug!("code claim for no open mailbox");
            return Err(CodeError::NoSuchCode);
        };
        if m.owner.id == me.id {
            return Err(CodeError::NoSuchCode);
        }
        if m.joiner.is_some() {
            return Err(CodeError::Busy);
        }
        if m.tries_used >= MAX_CODE_TRIES {
            // Unreachable by the invariant; refused rather than trusted.
            return Err(CodeError::NoSuchCode);
        }
        m.tries_used += 1;
        m.joiner = Some(me.clone());
        m.owner.conn.deliver(encode(&ServerMessage::CodeMessage {
            mailbox: number,
            blob: blob.into(),
        }));
        let tries_left = MAX_CODE_TRIES - m.tries_used;
        inner.parties.entry(me.id).or_default().joined.push(number);
        tracing::debug!(mailbox = number, tries_left, "code claimed");
        Ok(())
    }

    /// `code_send`: relays `blob` to the other party of `number`.
    pub(crate) fn send(&self, me: &Party, number: u32, blob: &str) -> Result<(), CodeError> {
        let mut inner = self.lock();
        let Some(m) = inner.live(number, Instant::now()) else {
            return Err(CodeError::NoSuchCode);
        };
        let to = if m.owner.id == me.id {
            // No joiner: the owner raced one leaving, and hears of it by `code_waiting`.
            m.joiner.as_ref()
        } else if m.joiner.as_ref().is_some_and(|j| j.id == me.id) {
            Some(&m.owner)
        } else {
            return Err(CodeError::NoSuchCode);
        };
        if let Some(to) = to {
            to.conn.deliver(encode(&ServerMessage::CodeMessage {
                mailbox: number,
                blob: blob.into(),
            }));
        }
        Ok(())
    }

    /// `code_close`: the owner closes `number` (`done` to the joiner); its joiner gives up
    /// its try.
    pub(crate) fn close(&self, me: &Party, number: u32) -> Result<(), CodeError> {
        let mut inner = self.lock();
        let Some(m) = inner.live(number, Instant::now()) else {
            return Err(CodeError::NoSuchCode);
        };
        if m.owner.id == me.id {
            inner.remove(number, CodeEnd::Done);
            Ok(())
        } else if m.joiner.as_ref().is_some_and(|j| j.id == me.id) {
            inner.give_up(number);
            Ok(())
        } else {
            Err(CodeError::NoSuchCode)
        }
    }

    /// A connection ended: the mailboxes it owns close (`gone` to their joiners), and the
    /// ones it held as joiner get their try given up.
    pub(crate) fn disconnect(&self, me: &Party) {
        let mut inner = self.lock();
        let Some(codes) = inner.parties.remove(&me.id) else {
            return;
        };
        for number in codes.owned {
            if inner
                .mailboxes
                .get(&number)
                .is_some_and(|m| m.owner.id == me.id)
            {
                inner.remove(number, CodeEnd::Gone);
            }
        }
        for number in codes.joined {
            if inner
                .mailboxes
                .get(&number)
                .and_then(|m| m.joiner.as_ref())
                .is_some_and(|j| j.id == me.id)
            {
                inner.give_up(number);
            }
        }
    }

    /// The expiry task of mailbox `number` (the one with `serial`) fired.
    fn expire(&self, number: u32, serial: u64) {
        let mut inner = self.lock();
        if inner
            .mailboxes
            .get(&number)
            .is_some_and(|m| m.serial == serial)
        {
            inner.remove(number, CodeEnd::Expired);
        }
    }
}

impl Inner {
    /// The open mailbox `number`, expiring it first if its deadline has passed.
    fn live(&mut self, number: u32, now: Instant) -> Option<&mut Mailbox> {
        if self
            .mailboxes
            .get(&number)
            .is_some_and(|m| m.deadline <= now)
        {
            self.remove(number, CodeEnd::Expired);
            return None;
        }
        self.mailboxes.get_mut(&number)
    }

    /// The joiner of `number` gives up its try: the owner gets `code_waiting` with the
    /// tries left, or `code_closed burned` when none are.
    fn give_up(&mut self, number: u32) {
        let Some(m) = self.mailboxes.get_mut(&number) else {
            return;
        };
        let Some(joiner) = m.joiner.take() else {
            return;
        };
        let tries_left = MAX_CODE_TRIES.saturating_sub(m.tries_used);
        if tries_left > 0 {
            m.owner.conn.deliver(encode(&ServerMessage::CodeWaiting {
                mailbox: number,
                tries_left,
            }));
        }
        unindex(&mut self.parties, joiner.id, number, |p| &mut p.joined);
        tracing::debug!(mailbox = number, tries_left, "code try given up");
        if tries_left == 0 {
            self.remove(number, CodeEnd::Burned);
        }
    }

    /// Closes `number` for `reason`, telling its owner (unless it closed it or is gone) and
    /// its joiner, and drops every trace of it.
    fn remove(&mut self, number: u32, reason: CodeEnd) {
        let Some(m) = self.mailboxes.remove(&number) else {
            return;
        };
        if let Some(timer) = &m.timer {
            timer.abort();
        }
        let note = encode(&ServerMessage::CodeClosed {
            mailbox: number,
            reason,
        });
        if !matches!(reason, CodeEnd::Done | CodeEnd::Gone) {
            m.owner.conn.deliver(note.clone());
        }
        if let Some(joiner) = &m.joiner {
            joiner.conn.deliver(note);
            unindex(&mut self.parties, joiner.id, number, |p| &mut p.joined);
        }
        unindex(&mut self.parties, m.owner.id, number, |p| &mut p.owned);
        if let Some(n) = self.per_ip.get_mut(&m.owner.ip) {
            *n -= 1;
            if *n == 0 {
                self.per_ip.remove(&m.owner.ip);
            }
        }
        tracing::debug!(mailbox = number, ?reason, "code closed");
    }
}

/// Removes `number` from one list of connection `id`'s index, and the entry once empty.
fn unindex(
    parties: &mut HashMap<u64, PartyCodes>,
    id: u64,
    number: u32,
    list: impl Fn(&mut PartyCodes) -> &mut Vec<u32>,
) {
    if let Some(p) = parties.get_mut(&id) {
        list(p).retain(|n| *n != number);
        if p.owned.is_empty() && p.joined.is_empty() {
            parties.remove(&id);
        }
    }
}

/// The numbers a new mailbox is drawn from when `open` mailboxes are open.
fn number_range(open: usize) -> RangeInclusive<u32> {
    if open < 45 {
        10..=99
    } else if open < 450 {
        100..=999
    } else {
        1000..=99_999
    }
}

/// A number drawn uniformly among the free numbers of [`number_range`]`(open)`, or `None`
/// when none is free. After [`DRAWS`] draws that all hit taken numbers (a chance below
/// 2^-64 when half are free) it takes the first free one from a random start.
fn pick_number(open: usize, taken: impl Fn(u32) -> bool, rng: &mut impl RngCore) -> Option<u32> {
    let range = number_range(open);
    let (low, span) = (*range.start(), range.end() - range.start() + 1);
    for _ in 0..DRAWS {
        let n = low + uniform(rng, span);
        if !taken(n) {
            return Some(n);
        }
    }
    let start = uniform(rng, span);
    (0..span)
        .map(|i| low + (start + i) % span)
        .find(|n| !taken(*n))
}

/// A uniform number in `0..span` (`span` > 0), without modulo bias.
fn uniform(rng: &mut impl RngCore, span: u32) -> u32 {
    let zone = u32::MAX - (u32::MAX % span);
    loop {
        let x = rng.next_u32();
        if x < zone {
            return x % span;
        }
    }
}

/// Claims per address: a token bucket of `per_minute` tokens refilled at `per_minute` a
/// minute, so an address may claim `per_minute` times at once and then `per_minute` times
/// a minute. An address is kept only while its bucket is not full again (a minute after
/// its last claim at most); when `max_addresses` addresses are kept, the full buckets are
/// dropped (at most once a second, as it scans the map), and if none are, claims from new
/// addresses are refused until some are.
#[derive(Debug)]
struct ClaimLimiter {
    buckets: HashMap<IpAddr, Bucket>,
    per_minute: u32,
    max_addresses: usize,
    last_prune: Option<Instant>,
}

/// One address's claim tokens as of `at`.
#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl ClaimLimiter {
    /// A limiter allowing `per_minute` claims a minute per address, remembering at most
    /// `max_addresses` addresses.
    fn new(per_minute: u32, max_addresses: usize) -> Self {
        ClaimLimiter {
            buckets: HashMap::new(),
            per_minute,
            max_addresses,
            last_prune: None,
        }
    }

    /// The tokens of `bucket` refilled up to `now`.
    fn refilled(&self, bucket: Bucket, now: Instant) -> f64 {
        let cap = f64::from(self.per_minute);
        let elapsed = now.saturating_duration_since(bucket.at).as_secs_f64();
        (bucket.tokens + elapsed * cap / CLAIM_PERIOD.as_secs_f64()).min(cap)
    }

    /// Takes one claim for `ip` at `now`; `false` when the address must wait.
    fn allow(&mut self, ip: IpAddr, now: Instant) -> bool {
        let cap = f64::from(self.per_minute);
        let tokens = match self.buckets.get(&ip) {
            Some(b) => self.refilled(*b, now),
            None => {
                if self.buckets.len() >= self.max_addresses {
                    self.prune(now);
                    if self.buckets.len() >= self.max_addresses {
                        return false;
                    }
                }
                cap
            }
        };
        if tokens < 1.0 {
            return false;
        }
        self.buckets.insert(
            ip,
            Bucket {
                tokens: tokens - 1.0,
                at: now,
            },
        );
        true
    }

    /// Drops the addresses whose buckets are full again, at most once a second.
    fn prune(&mut self, now: Instant) {
        if self
            .last_prune
            .is_some_and(|t| now.saturating_duration_since(t) < Duration::from_secs(1))
        {
            return;
        }
        self.last_prune = Some(now);
        let cap = f64::from(self.per_minute);
        let full: Vec<IpAddr> = self
            .buckets
            .iter()
            .filter(|(_, b)| self.refilled(**b, now) >= cap)
            .map(|(ip, _)| *ip)
            .collect();
        for ip in full {
            self.buckets.remove(&ip);
        }
    }

    /// Addresses remembered now.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.buckets.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    /// A small deterministic generator (xorshift64*) for reproducible draws.
    struct TestRng(u64);

    impl RngCore for TestRng {
        fn next_u32(&mut self) -> u32 {
            (self.next_u64() >> 32) as u32
        }
        fn next_u64(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }
        fn fill_bytes(&mut self, dest: &mut [u8]) {
            rand_core::impls::fill_bytes_via_next(self, dest);
        }
        fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
            self.fill_bytes(dest);
            Ok(())
        }
    }

    #[test]
    fn numbers_are_two_digits_while_few_are_open_and_grow_with_more() {
        assert_eq!(number_range(0), 10..=99);
        assert_eq!(number_range(44), 10..=99);
        assert_eq!(number_range(45), 100..=999);
        assert_eq!(number_range(449), 100..=999);
        assert_eq!(number_range(450), 1000..=99_999);
        assert_eq!(number_range(crate::config::MAX_CODES_LIMIT), 1000..=99_999);
        let mut rng = TestRng(7);
        for open in [0, 44, 45, 449, 450, 10_000] {
            let range = number_range(open);
            for _ in 0..1000 {
                let n = pick_number(open, |_| false, &mut rng);
                assert!(n.is_some_and(|n| range.contains(&n) && n >= 10), "{n:?}");
            }
        }
    }

    #[test]
    fn numbers_are_drawn_among_the_free_ones_and_cover_them() {
        let mut rng = TestRng(99);
        // Every even number is taken: only odd ones come out, and all of them do.
        let mut seen = HashSet::new();
        for _ in 0..5000 {
            let n = pick_number(0, |n| n % 2 == 0, &mut rng);
            assert!(n.is_some_and(|n| n % 2 == 1));
            seen.extend(n);
        }
        assert_eq!(seen.len(), 45);
        // One free number is found by the scan, and none when all are taken.
        assert_eq!(pick_number(0, |n| n != 57, &mut rng), Some(57));
        assert_eq!(pick_number(0, |_| true, &mut rng), None);
    }

    #[test]
    fn uniform_draws_stay_in_the_span() {
        let mut rng = TestRng(3);
        for span in [1, 2, 90, 900, 99_000] {
            assert!((0..1000).all(|_| uniform(&mut rng, span) < span));
        }
        let mut os = OsRng;
        assert!((0..1000).all(|_| uniform(&mut os, 90) < 90));
    }

    #[test]
    fn claims_are_limited_per_address_and_refill_within_a_minute() {
        let t0 = Instant::now();
        let a: IpAddr = [192, 0, 2, 1].into();
        let b: IpAddr = [192, 0, 2, 2].into();
        let mut limiter = ClaimLimiter::new(3, 100);
        assert!((0..3).all(|_| limiter.allow(a, t0)));
        assert!(!limiter.allow(a, t0));
        assert!(limiter.allow(b, t0), "another address has its own claims");
        assert!(!limiter.allow(a, t0 + Duration::from_secs(19)));
        assert!(limiter.allow(a, t0 + Duration::from_secs(21)));
        assert!(!limiter.allow(a, t0 + Duration::from_secs(22)));
    }

    #[test]
    fn the_claim_map_is_bounded_and_forgets_full_buckets() {
        let t0 = Instant::now();
        let mut limiter = ClaimLimiter::new(2, 4);
        let ip = |i: u8| IpAddr::from([198, 51, 100, i]);
        assert!((0..4).all(|i| limiter.allow(ip(i), t0)));
        assert!(
            !limiter.allow(ip(9), t0),
            "full of fresh addresses: refused"
        );
        assert_eq!(limiter.len(), 4);
        // Known addresses still claim within their own allowance.
        assert!(limiter.allow(ip(0), t0));
        // A minute later the old buckets are full again and make room.
        let later = t0 + Duration::from_secs(61);
        assert!(limiter.allow(ip(9), later));
        assert_eq!(limiter.len(), 1);
    }
}
