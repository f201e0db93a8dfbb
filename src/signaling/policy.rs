//! The reconnect and heartbeat policy of the signaling client, as pure state machines.
//!
//! Nothing here touches the browser: time is passed in as milliseconds and randomness as a
//! number in `[0, 1)`, so the policy is tested natively and deterministically.
//!
//! # Backoff
//!
//! Exponential backoff with "equal jitter" (AWS Architecture Blog, "Exponential Backoff And
//! Jitter", 2015): attempt `n` (from 0) waits between half and all of
//! `min(max_ms, base_ms * 2^n)`. The jitter spreads the reconnects of many clients after a
//! server restart; the cap bounds how long a user waits once the server is back. A
//! connection that stayed open for at least `stable_ms` resets the attempt counter, so one
//! drop after hours of service is retried quickly, while a server that accepts and then
//! drops at once is not hammered.
//!
//! A `reconnect {after_ms}` frame from the server overrides the next delay once: the server
//! has already spread it with jitter.
//!
//! # Heartbeat
//!
//! Every `interval_ms` the client sends `ping`. Any frame from the server counts as a sign
//! of life; when `max_missed` ticks pass without one, the connection is declared dead and
//! closed, which starts the reconnect path.

/// Tuning of [`Backoff`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackoffConfig {
    /// The ceiling of the first delay, in milliseconds.
    pub base_ms: u64,
    /// The largest ceiling, in milliseconds.
    pub max_ms: u64,
    /// How long a connection must have stayed open to reset the attempt counter.
    pub stable_ms: u64,
}

impl Default for BackoffConfig {
    fn default() -> Self {
        BackoffConfig {
            base_ms: 500,
            max_ms: 30_000,
            stable_ms: 30_000,
        }
    }
}

/// Exponential backoff with equal jitter and reset after a stable connection.
///
/// Invariant: every delay returned is at most `max(max_ms, a server override)` and at least
/// half of the current ceiling.
#[derive(Debug, Clone)]
pub struct Backoff {
    config: BackoffConfig,
    attempt: u32,
    opened_at_ms: Option<u64>,
    server_override_ms: Option<u64>,
}

impl Backoff {
    /// A fresh policy: the next delay is drawn from the first ceiling.
    pub fn new(config: BackoffConfig) -> Self {
        Backoff {
            config,
            attempt: 0,
            opened_at_ms: None,
            server_override_ms: None,
        }
    }

    /// How many failed attempts in a row have been counted.
    pub fn attempt(&self) -> u32 {
        self.attempt
    }

    /// The ceiling of the next delay, before jitter.
    pub fn ceiling_ms(&self) -> u64 {
        let factor = 1u64.checked_shl(self.attempt.min(63)).unwrap_or(u64::MAX);
        self.config
            .base_ms
            .saturating_mul(factor)
            .min(self.config.max_ms)
    }

    /// Records that a connection opened at `now_ms`.
    pub fn on_open(&mut self, now_ms: u64) {
        self.opened_at_ms = Some(now_ms);
    }

    /// Records the server's `reconnect {after_ms}`: the next delay is exactly `after_ms`
    /// (capped at ten times `max_ms` so a hostile server cannot park the client forever).
    pub fn on_server_reconnect(&mut self, after_ms: u64) {
        self.server_override_ms = Some(after_ms.min(self.config.max_ms.saturating_mul(10)));
    }

    /// Records that the connection closed (or failed to open) at `now_ms` and returns how
    /// long to wait before the next attempt. `random` is a uniform number in `[0, 1)`;
    /// values outside are clamped.
    pub fn on_close(&mut self, now_ms: u64, random: f64) -> u64 {
        if let Some(opened) = self.opened_at_ms.take() {
            if now_ms.saturating_sub(opened) >= self.config.stable_ms {
                self.attempt = 0;
            }
        }
        if let Some(after) = self.server_override_ms.take() {
            // The server restarted on purpose; this is not a failure of ours.
            self.attempt = 0;
            return after;
        }
        let ceiling = self.ceiling_ms();
        let half = ceiling / 2;
        let random = if random.is_finite() {
            random.clamp(0.0, 1.0)
        } else {
            0.0
        };
        // `random * (ceiling - half)` is at most `ceiling - half`, which fits in u64.
        let jitter = (random * (ceiling - half) as f64) as u64;
        self.attempt = self.attempt.saturating_add(1);
        half.saturating_add(jitter).min(ceiling)
    }
}

/// Tuning of [`Heartbeat`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeartbeatConfig {
    /// Milliseconds between pings.
    pub interval_ms: u64,
    /// Ticks without any frame from the server after which the connection is dead.
    pub max_missed: u32,
}

impl Default for HeartbeatConfig {
    fn default() -> Self {
        // The server's idle timeout is 60 s by default; a ping every 20 s keeps well inside
        // it, and two missed answers (40–60 s of silence) mark the connection dead.
        HeartbeatConfig {
            interval_ms: 20_000,
            max_missed: 2,
        }
    }
}

/// What to do on a heartbeat tick.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeartbeatAction {
    /// Send a `ping`.
    SendPing,
    /// The server has been silent too long: close and reconnect.
    Dead,
}

/// Counts unanswered heartbeat ticks on one connection.
#[derive(Debug, Clone)]
pub struct Heartbeat {
    config: HeartbeatConfig,
    silent_ticks: u32,
}

impl Heartbeat {
    /// A heartbeat for a connection that just opened.
    pub fn new(config: HeartbeatConfig) -> Self {
        Heartbeat {
            config,
            silent_ticks: 0,
        }
    }

    /// Any frame arrived from the server (a `pong` or anything else).
    pub fn on_frame(&mut self) {
        self.silent_ticks = 0;
    }

    /// The interval elapsed.
    pub fn on_tick(&mut self) -> HeartbeatAction {
        if self.silent_ticks >= self.config.max_missed {
            HeartbeatAction::Dead
        } else {
            self.silent_ticks += 1;
            HeartbeatAction::SendPing
        }
    }
}

/// The signaling URL for a page served from `protocol` (`"https:"` or `"http:"`, as in
/// `location.protocol`) and `host` (`location.host`, with the port): `wss://host/ws` for
/// HTTPS pages, `ws://host/ws` otherwise.
pub fn signaling_url(protocol: &str, host: &str) -> String {
    let scheme = if protocol.eq_ignore_ascii_case("https:") {
        "wss"
    } else {
        "ws"
    };
    format!("{scheme}://{host}{}", natter_core::signal::WS_PATH)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> BackoffConfig {
        BackoffConfig {
            base_ms: 100,
            max_ms: 1_000,
            stable_ms: 5_000,
        }
    }

    #[test]
    fn delays_double_until_the_cap_and_stay_within_half_and_full_ceiling() {
        let mut b = Backoff::new(config());
        let mut ceilings = Vec::new();
        for _ in 0..8 {
            let ceiling = b.ceiling_ms();
            ceilings.push(ceiling);
            let low = b.clone().on_close(0, 0.0);
            let high = b.clone().on_close(0, 0.999_999);
            assert_eq!(low, ceiling / 2);
            assert!(
                high <= ceiling && high >= ceiling - 1,
                "{high} vs {ceiling}"
            );
            b.on_close(0, 0.5);
        }
        assert_eq!(ceilings, [100, 200, 400, 800, 1000, 1000, 1000, 1000]);
    }

    #[test]
    fn out_of_range_randomness_is_clamped() {
        let b = Backoff::new(config());
        assert_eq!(b.clone().on_close(0, -3.0), 50);
        assert_eq!(b.clone().on_close(0, 7.0), 100);
        assert_eq!(b.clone().on_close(0, f64::NAN), 50);
    }

    #[test]
    fn a_stable_connection_resets_the_attempt_counter() {
        let mut b = Backoff::new(config());
        for _ in 0..5 {
            b.on_close(0, 0.0);
        }
        assert_eq!(b.ceiling_ms(), 1_000);
        b.on_open(10_000);
        assert_eq!(b.on_close(15_000, 0.0), 50);
        assert_eq!(b.attempt(), 1);
    }

    #[test]
    fn a_short_lived_connection_keeps_backing_off() {
        let mut b = Backoff::new(config());
        for _ in 0..3 {
            b.on_close(0, 0.0);
        }
        b.on_open(10_000);
        assert_eq!(b.on_close(10_100, 0.0), 400);
    }

    #[test]
    fn the_servers_reconnect_delay_is_used_once_and_capped() {
        let mut b = Backoff::new(config());
        b.on_close(0, 0.0);
        b.on_close(0, 0.0);
        b.on_server_reconnect(1_400);
        assert_eq!(b.on_close(0, 0.9), 1_400);
        assert_eq!(b.on_close(0, 0.0), 50, "the override resets the counter");
        b.on_server_reconnect(u64::MAX);
        assert_eq!(b.on_close(0, 0.0), 10_000);
    }

    #[test]
    fn huge_attempt_counts_do_not_overflow() {
        let mut b = Backoff::new(BackoffConfig {
            base_ms: u64::MAX / 2,
            max_ms: u64::MAX,
            stable_ms: 1,
        });
        for _ in 0..200 {
            let floor = b.ceiling_ms() / 2;
            assert!(b.on_close(0, 1.0) >= floor);
        }
        assert_eq!(b.ceiling_ms(), u64::MAX);
    }

    #[test]
    fn heartbeat_declares_death_after_the_allowed_silent_ticks() {
        let mut h = Heartbeat::new(HeartbeatConfig {
            interval_ms: 10,
            max_missed: 2,
        });
        assert_eq!(h.on_tick(), HeartbeatAction::SendPing);
        assert_eq!(h.on_tick(), HeartbeatAction::SendPing);
        assert_eq!(h.on_tick(), HeartbeatAction::Dead);
    }

    #[test]
    fn any_frame_from_the_server_keeps_the_heartbeat_alive() {
        let mut h = Heartbeat::new(HeartbeatConfig {
            interval_ms: 10,
            max_missed: 1,
        });
        for _ in 0..10 {
            assert_eq!(h.on_tick(), HeartbeatAction::SendPing);
            h.on_frame();
        }
    }

    #[test]
    fn the_url_follows_the_page_scheme_and_host() {
        assert_eq!(
            signaling_url("https:", "chat.example:8443"),
            "wss://chat.example:8443/ws"
        );
        assert_eq!(
            signaling_url("http:", "127.0.0.1:8080"),
            "ws://127.0.0.1:8080/ws"
        );
    }
}
