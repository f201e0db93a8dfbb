//! Locks the app after the chosen idle time (no key press, click or touch) while the app
//! lock is on. Locking reloads the page (see `Command::LockNow`), so nothing of the session
//! stays in memory.

use leptos::prelude::*;

use crate::components::{use_sender, use_state};
use crate::state::Command;

/// How often the idle time is checked, in milliseconds.
const CHECK_MS: u32 = 1_000;

/// Whether to lock at `now_ms` when the last activity was at `last_ms`.
pub fn should_lock(now_ms: f64, last_ms: f64, idle_secs: u32) -> bool {
    idle_secs > 0 && now_ms - last_ms >= f64::from(idle_secs) * 1_000.0
}

/// Watches activity; renders nothing.
#[component]
pub fn IdleLock() -> impl IntoView {
    let state = use_state();
    let sender = use_sender();
    let last = StoredValue::new(js_sys::Date::now());
    for event in ["keydown", "pointerdown", "touchstart", "wheel"] {
        let handle = window_event_listener_untyped(event, move |_| {
            last.set_value(js_sys::Date::now());
        });
        on_cleanup(move || handle.remove());
    }
    let timer = set_interval_with_handle(
        move || {
            let on = state.lock_on.get_untracked() && !state.locked.get_untracked();
            let secs = state.settings.with_untracked(|s| s.lock_idle_secs);
            if on && should_lock(js_sys::Date::now(), last.get_value(), secs) {
                sender.send(Command::LockNow);
            }
        },
        std::time::Duration::from_millis(u64::from(CHECK_MS)),
    );
    if let Ok(timer) = timer {
        on_cleanup(move || timer.clear());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn it_locks_once_the_idle_time_has_passed() {
        let minute = 60_000.0;
        assert!(!should_lock(10.0 * minute, 6.0 * minute, 300));
        assert!(should_lock(11.0 * minute, 6.0 * minute, 300));
        assert!(should_lock(2.0 * minute, minute, 60));
        assert!(!should_lock(100.0 * minute, 0.0, 0));
    }
}
