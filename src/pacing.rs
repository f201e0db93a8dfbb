//! How often the views may be refreshed: a share of the time, with a burst in hand.
//!
//! Rebuilding the open room's view, and the views redrawing what changed, costs time in
//! proportion to its history and to what is new. Refreshing may take [`UI_SHARE`] of the
//! time, with [`UI_BURST`] ms in hand after a quiet spell: a message, or a few in a row, is
//! shown at once; a catch-up of thousands of entries is shown a few times a second, not
//! after every frame. Times are passed in (ms), so the rule is tested natively.

/// The share of the time that refreshing the views may take.
pub const UI_SHARE: f64 = 0.1;

/// Milliseconds of refreshing allowed at once after a quiet spell.
pub const UI_BURST: f64 = 50.0;

/// The refresh budget.
#[derive(Debug, Clone)]
pub struct Pacing {
    last: f64,
    budget: f64,
    cost: f64,
}

impl Default for Pacing {
    fn default() -> Self {
        Pacing {
            last: f64::NEG_INFINITY,
            budget: UI_BURST,
            cost: 0.0,
        }
    }
}

impl Pacing {
    /// At `now`, may the views be refreshed? If not, how many ms until they may.
    pub fn check(&self, now: f64) -> Result<(), f64> {
        let budget = self.budget_at(now);
        if budget >= 0.0 {
            Ok(())
        } else {
            Err(-budget / UI_SHARE)
        }
    }

    /// A refresh started at `started`; its cost is reported later with [`Pacing::cost`].
    pub fn refreshed(&mut self, started: f64) {
        self.budget = self.budget_at(started);
        self.last = started;
        self.cost = 0.0;
    }

    /// What the last refresh cost in the end, its redrawing included.
    pub fn cost(&mut self, ms: f64) {
        self.cost = ms.max(0.0);
    }

    fn budget_at(&self, now: f64) -> f64 {
        let earned = if self.last.is_finite() {
            (now - self.last).max(0.0) * UI_SHARE
        } else {
            UI_BURST
        };
        (self.budget - self.cost + earned).min(UI_BURST)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_is_shown_at_once_and_a_long_catch_up_a_few_times_a_second() {
        let mut p = Pacing::default();
        assert_eq!(p.check(0.0), Ok(()));
        p.refreshed(0.0);
        p.cost(20.0);
        // 30 ms of the burst left: the next message shows at once.
        assert_eq!(p.check(1.0), Ok(()));
        p.refreshed(1.0);
        p.cost(60.0);
        // Over budget by 29.9 ms: wait for a tenth of the time to pay it back.
        let wait = p.check(1.0).err().unwrap_or_default();
        assert!((wait - 299.0).abs() < 1e-6, "{wait}");
        assert_eq!(p.check(1.0 + wait + 1e-6), Ok(()));
        assert!(p.check(1.0 + wait / 2.0).is_err());
    }

    #[test]
    fn a_quiet_spell_restores_no_more_than_the_burst() {
        let mut p = Pacing::default();
        p.refreshed(0.0);
        p.cost(10.0);
        p.refreshed(1_000_000.0);
        p.cost(UI_BURST + 1.0);
        assert!(p.check(1_000_000.0).is_err());
    }
}
