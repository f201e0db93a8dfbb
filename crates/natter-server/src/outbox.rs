//! The server-wide byte budget of all outboxes.
//!
//! Each connection has a bounded outbox of `Limits::outbox_capacity` messages, but one
//! message may be as large as a frame (`Limits::max_frame_bytes`), so without more the
//! memory held for clients that do not read would be connections × capacity × frame size:
//! 50,000 × 64 × 64 KiB is 200 GiB. [`OutboxBudget`] bounds the bytes queued in all outboxes
//! together by `Limits::max_outbox_bytes`.
//!
//! # Accounting
//!
//! A message is charged its encoded length when it is queued and released when it leaves
//! the outbox: when its connection hands it to the socket, or when it is dropped because
//! the connection closes. The release is a guard ([`Queued`] owns a [`Charge`]), so no path
//! can forget it. A message sent to many members (`peer_joined`, `peer_left`) shares one
//! buffer but is charged once per recipient, which overstates the use a little and never
//! understates it. What has left the outbox is bounded per connection elsewhere: by
//! tungstenite's write buffer (`max_write_buffer_size`) and the kernel's socket buffer.
//!
//! # The rule when the budget is tight
//!
//! Honest clients read at once, so their outboxes are nearly always empty; the budget is
//! only filled by clients that do not read. To keep the first working while the second fill
//! the budget, a quarter of it is kept for connections that are keeping up:
//!
//! - a connection *keeps up* while less than one frame (`max_frame_bytes`) is queued for it;
//!   a message for it is accepted while the total stays within the whole budget;
//! - a message for a connection with more queued (a backlog) is accepted only while the
//!   total stays within three quarters of the budget.
//!
//! A message that is not accepted is treated exactly like one that finds the outbox full:
//! it is not queued and its recipient is closed as a slow consumer (`slow_consumer`, close
//! 4004), which at once releases everything queued for it. Closing rather than dropping the
//! message means no client waits forever for a signal that was silently lost; a closed
//! client reconnects and starts its handshakes again. [`crate::config::Config::validate`]
//! requires the budget to be at least four frames, so that the reserve always holds a
//! message of the largest size.
//!
//! # Default
//!
//! [`default_budget`]: an eighth of the memory this process may use (the smaller of
//! `MemTotal` in `/proc/meminfo` and a cgroup v2 `memory.max`), clamped to 64 MiB..4 GiB,
//! or 256 MiB when neither can be read (not Linux). Signaling messages are small and read
//! at once, so the budget is only ever approached by clients that do not read; the clamp
//! keeps a small machine relaying and a large one from promising more than the relay can
//! usefully hold. `--max-outbox-bytes` overrides it.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use axum::extract::ws::Utf8Bytes;

/// Share of the machine's memory the default budget takes (one part in this many).
const MEMORY_FRACTION: u64 = 8;
/// Smallest default budget.
pub const MIN_DEFAULT_BUDGET: usize = 64 << 20;
/// Largest default budget.
pub const MAX_DEFAULT_BUDGET: usize = 4 << 30;
/// The default budget when the machine's memory cannot be read.
pub const FALLBACK_BUDGET: usize = 256 << 20;

/// The bytes queued in all outboxes of one server.
#[derive(Debug)]
pub(crate) struct OutboxBudget {
    used: AtomicUsize,
    /// The whole budget, for connections that keep up.
    max: usize,
    /// Three quarters of it, for connections with a backlog.
    backlog_max: usize,
    /// Bytes queued for one connection from which on it has a backlog.
    backlog_from: usize,
}

impl OutboxBudget {
    /// A budget of `max` bytes; connections with `backlog_from` bytes or more queued have
    /// a backlog.
    pub(crate) fn new(max: usize, backlog_from: usize) -> Self {
        OutboxBudget {
            used: AtomicUsize::new(0),
            max,
            backlog_max: max - max / 4,
            backlog_from,
        }
    }

    /// Bytes queued in all outboxes right now.
    #[cfg(test)]
    pub(crate) fn used(&self) -> usize {
        self.used.load(Ordering::Acquire)
    }

    /// Charges `bytes` for a message to a connection with `queued` bytes already queued,
    /// or `None` when the budget does not allow it (rule in the module doc).
    pub(crate) fn charge(
        self: &Arc<Self>,
        queued: &Arc<AtomicUsize>,
        bytes: usize,
    ) -> Option<Charge> {
        let limit = if queued.load(Ordering::Acquire) < self.backlog_from {
            self.max
        } else {
            self.backlog_max
        };
        self.used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
                used.checked_add(bytes).filter(|total| *total <= limit)
            })
            .ok()?;
        queued.fetch_add(bytes, Ordering::AcqRel);
        Some(Charge {
            budget: self.clone(),
            queued: queued.clone(),
            bytes,
        })
    }
}

/// Bytes charged to the budget and to one connection; dropping it releases them.
#[derive(Debug)]
pub(crate) struct Charge {
    budget: Arc<OutboxBudget>,
    queued: Arc<AtomicUsize>,
    bytes: usize,
}

impl Drop for Charge {
    fn drop(&mut self) {
        self.queued.fetch_sub(self.bytes, Ordering::AcqRel);
        self.budget.used.fetch_sub(self.bytes, Ordering::AcqRel);
    }
}

/// A message in an outbox together with its charge.
#[derive(Debug)]
pub(crate) struct Queued {
    msg: Utf8Bytes,
    _charge: Charge,
}

impl Queued {
    pub(crate) fn new(msg: Utf8Bytes, charge: Charge) -> Self {
        Queued {
            msg,
            _charge: charge,
        }
    }

    /// Takes the message out, releasing its charge.
    pub(crate) fn into_message(self) -> Utf8Bytes {
        self.msg
    }
}

/// The default `max_outbox_bytes` for this machine (see the module doc), computed once.
pub fn default_budget() -> usize {
    static BUDGET: OnceLock<usize> = OnceLock::new();
    *BUDGET.get_or_init(|| {
        let meminfo = std::fs::read_to_string("/proc/meminfo").ok();
        let cgroup = std::fs::read_to_string("/sys/fs/cgroup/memory.max").ok();
        budget_for(meminfo.as_deref(), cgroup.as_deref())
    })
}

/// The default budget given the text of `/proc/meminfo` and of a cgroup's `memory.max`.
fn budget_for(meminfo: Option<&str>, cgroup_max: Option<&str>) -> usize {
    let total = meminfo.and_then(mem_total_bytes);
    // `max` (no limit) and anything unreadable do not count.
    let limit = cgroup_max.and_then(|t| t.trim().parse::<u64>().ok());
    let memory = match (total, limit) {
        (Some(t), Some(l)) => t.min(l),
        (Some(m), None) | (None, Some(m)) => m,
        (None, None) => return FALLBACK_BUDGET,
    };
    let share = usize::try_from(memory / MEMORY_FRACTION).unwrap_or(usize::MAX);
    share.clamp(MIN_DEFAULT_BUDGET, MAX_DEFAULT_BUDGET)
}

/// `MemTotal` of `/proc/meminfo`, in bytes.
fn mem_total_bytes(meminfo: &str) -> Option<u64> {
    let line = meminfo.lines().find(|l| l.starts_with("MemTotal:"))?;
    let mut words = line["MemTotal:".len()..].split_whitespace();
    let value: u64 = words.next()?.parse().ok()?;
    match words.next() {
        Some("kB") => value.checked_mul(1024),
        None => Some(value),
        Some(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charges_are_released_when_dropped() {
        let budget = Arc::new(OutboxBudget::new(1000, 100));
        let conn = Arc::new(AtomicUsize::new(0));
        let a = budget.charge(&conn, 60);
        let b = budget.charge(&conn, 30);
        assert!(a.is_some() && b.is_some());
        assert_eq!((budget.used(), conn.load(Ordering::Acquire)), (90, 90));
        drop(a);
        assert_eq!((budget.used(), conn.load(Ordering::Acquire)), (30, 30));
        let queued = b.map(|c| Queued::new(Utf8Bytes::from_static("x"), c));
        assert_eq!(queued.map(Queued::into_message).as_deref(), Some("x"));
        assert_eq!((budget.used(), conn.load(Ordering::Acquire)), (0, 0));
    }

    #[test]
    fn a_backlog_may_use_three_quarters_and_the_rest_is_kept_for_those_keeping_up() {
        let budget = Arc::new(OutboxBudget::new(1000, 100));
        let slow = Arc::new(AtomicUsize::new(0));
        let mut held: Vec<Charge> = Vec::new();
        while let Some(c) = budget.charge(&slow, 100) {
            held.push(c);
        }
        // The first message found no backlog; from the second on, the slow connection had
        // one, and stopped at three quarters.
        assert_eq!(budget.used(), 700);
        let fast = Arc::new(AtomicUsize::new(0));
        let first = budget.charge(&fast, 90);
        assert!(first.is_some(), "a connection keeping up gets the reserve");
        let second = budget.charge(&fast, 90);
        assert!(second.is_some(), "still below one frame queued");
        assert!(
            budget.charge(&fast, 90).is_none(),
            "now it has a backlog too"
        );
        drop((first, second));
        let fast2 = Arc::new(AtomicUsize::new(0));
        let big = budget.charge(&fast2, 300);
        assert!(big.is_some());
        let fresh = Arc::new(AtomicUsize::new(0));
        assert!(budget.charge(&fresh, 1).is_none(), "never past the whole");
        held.clear();
        assert_eq!(budget.used(), 300);
        drop(big);
        assert_eq!(budget.used(), 0);
    }

    #[test]
    fn the_default_is_an_eighth_of_memory_clamped() {
        let gib = 1u64 << 30;
        let meminfo = |bytes: u64| format!("MemTotal:       {} kB\nMemFree: 1 kB\n", bytes / 1024);
        assert_eq!(budget_for(Some(&meminfo(16 * gib)), None), 2 << 30);
        assert_eq!(budget_for(Some(&meminfo(16 * gib)), Some("max\n")), 2 << 30);
        assert_eq!(
            budget_for(Some(&meminfo(16 * gib)), Some(&format!("{}\n", 2 * gib))),
            256 << 20,
            "a cgroup limit below the machine's memory counts"
        );
        assert_eq!(
            budget_for(Some(&meminfo(gib / 4)), None),
            MIN_DEFAULT_BUDGET
        );
        assert_eq!(
            budget_for(Some(&meminfo(1024 * gib)), None),
            MAX_DEFAULT_BUDGET
        );
        assert_eq!(budget_for(None, None), FALLBACK_BUDGET);
        assert_eq!(budget_for(Some("garbage"), None), FALLBACK_BUDGET);
        assert_eq!(
            budget_for(Some("MemTotal: lots kB"), Some("max")),
            FALLBACK_BUDGET
        );
        let here = default_budget();
        assert!((MIN_DEFAULT_BUDGET..=MAX_DEFAULT_BUDGET).contains(&here));
    }
}
