//! The app lock's settings: turning it on with a passphrase (typed twice), the idle time
//! after which it locks, "Lock now", and turning it off (the passphrase again).
//!
//! What the lock does to stored data is described in [`crate::storage`]; the idle lock
//! itself is [`crate::components::idle_lock`].

use leptos::ev::SubmitEvent;
use leptos::prelude::*;

use crate::components::{use_sender, use_state};
use crate::state::{Command, Settings};

/// The idle times offered, in minutes.
pub const IDLE_MINUTES: [u32; 4] = [1, 5, 15, 60];

/// The shortest passphrase accepted, in characters.
pub const MIN_PASSPHRASE_CHARS: usize = 8;

/// Checks a new passphrase and its repetition; the error says what to fix.
pub fn check_new_passphrase(first: &str, second: &str) -> Result<(), &'static str> {
    if first.chars().count() < MIN_PASSPHRASE_CHARS {
        return Err(
            "Use at least 8 characters; a few words are easy to remember and hard to guess.",
        );
    }
    if first != second {
        return Err("The two passphrases differ.");
    }
    Ok(())
}

/// The app lock section of the settings page.
#[component]
pub fn LockSettings() -> impl IntoView {
    let state = use_state();
    let sender = use_sender();
    let first = RwSignal::new(String::new());
    let second = RwSignal::new(String::new());
    let current = RwSignal::new(String::new());
    let problem = RwSignal::new(String::new());
    let turn_on = move |ev: SubmitEvent| {
        ev.prevent_default();
        let (a, b) = (first.get_untracked(), second.get_untracked());
        match check_new_passphrase(&a, &b) {
            Err(why) => problem.set(why.to_owned()),
            Ok(()) => {
                problem.set(String::new());
                first.set(String::new());
                second.set(String::new());
                sender.send(Command::EnableLock(a));
            }
        }
    };
    let turn_off = move |ev: SubmitEvent| {
        ev.prevent_default();
        let text = current.get_untracked();
        current.set(String::new());
        if !text.is_empty() {
            sender.send(Command::DisableLock(text));
        }
    };
    let on_idle = move |ev| {
        let minutes: u32 = event_target_value(&ev).parse().unwrap_or(5);
        sender.send(Command::SaveSettings(Settings {
            lock_idle_secs: minutes * 60,
            ..state.settings.get_untracked()
        }));
    };
    let idle_choice = view! {
        <label for="lock-idle">"Lock after"</label>
        <select id="lock-idle" on:change=on_idle>
            {IDLE_MINUTES
                .into_iter()
                .map(|m| {
                    let label = if m == 1 { "1 minute idle".to_owned() } else { format!("{m} minutes idle") };
                    view! {
                        <option
                            value=m.to_string()
                            selected=move || state.settings.with(|s| s.lock_idle_secs == m * 60)
                        >
                            {label}
                        </option>
                    }
                })
                .collect_view()}
        </select>
    };
    view! {
        <section class="card" aria-labelledby="lock-settings-title">
            <h3 id="lock-settings-title">"App lock"</h3>
            <p class="hint">
                "With the lock on, your identity, rooms and messages are stored encrypted under "
                "a passphrase, and Natter asks for it when opened and after the idle time. "
                "A forgotten passphrase cannot be recovered."
            </p>
            {idle_choice}
            {move || {
                if state.lock_on.get() {
                    view! {
                        <p class="saved">"The app lock is on."</p>
                        <div class="button-row">
                            <button type="button" on:click=move |_| sender.send(Command::LockNow)>
                                "Lock now"
                            </button>
                        </div>
                        <form on:submit=turn_off>
                            <label for="lock-current">"Passphrase"</label>
                            <input id="lock-current" type="password" autocomplete="current-password" bind:value=current />
                            <button type="submit" class="secondary">"Turn off app lock"</button>
                        </form>
                    }
                        .into_any()
                } else {
                    view! {
                        <form on:submit=turn_on>
                            <label for="lock-new">"New passphrase"</label>
                            <input
                                id="lock-new"
                                type="password"
                                autocomplete="new-password"
                                aria-describedby="lock-problem"
                                bind:value=first
                            />
                            <label for="lock-repeat">"Repeat passphrase"</label>
                            <input id="lock-repeat" type="password" autocomplete="new-password" bind:value=second />
                            <p id="lock-problem" class="field-error" aria-live="polite">{move || problem.get()}</p>
                            <button type="submit">"Turn on app lock"</button>
                        </form>
                    }
                        .into_any()
                }
            }}
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_passphrase_must_be_long_enough_and_typed_twice_alike() {
        assert!(check_new_passphrase("short", "short").is_err());
        assert!(check_new_passphrase("long enough", "long enougH").is_err());
        assert_eq!(check_new_passphrase("long enough", "long enough"), Ok(()));
    }
}
