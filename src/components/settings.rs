//! The settings page: our name, extra ICE servers for strict networks, relay-only mode,
//! appearance and privacy, the largest file sent, and erasing everything from this device.
//!
//! The form edits a copy of the settings and sends it whole on "Save settings"; the URLs are
//! checked for a `stun:`, `turn:` or `turns:` scheme here so a typo is reported next to the
//! field instead of failing silently when the next connection is made.

use leptos::ev::SubmitEvent;
use leptos::prelude::*;

use crate::components::appearance::Appearance;
use crate::components::confirm::Confirmation;
use crate::components::lock_settings::LockSettings;
use crate::components::name_form::NameForm;
use crate::components::{use_sender, use_state};
use crate::files::{size_text, MAX_SEND_CHOICES};
use crate::state::{Command, Settings};

/// URL schemes an ICE server may use.
const ICE_SCHEMES: [&str; 3] = ["stun:", "turn:", "turns:"];

/// Reads the ICE URL field: one URL per line, blank lines ignored. An error names the first
/// line that is not a STUN or TURN URL.
pub fn parse_ice_urls(text: &str) -> Result<Vec<String>, String> {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .map(|line| {
            let lower = line.to_ascii_lowercase();
            let ok = ICE_SCHEMES
                .iter()
                .any(|s| lower.starts_with(s) && lower.len() > s.len());
            if ok {
                Ok(line.to_owned())
            } else {
                Err(format!(
                    "\u{201c}{line}\u{201d} is not a STUN or TURN URL: each line must start with stun:, turn: or turns:."
                ))
            }
        })
        .collect()
}

/// The settings page.
#[component]
pub fn SettingsPage() -> impl IntoView {
    let state = use_state();
    let sender = use_sender();
    let ice_urls = RwSignal::new(String::new());
    let turn_username = RwSignal::new(String::new());
    let turn_credential = RwSignal::new(String::new());
    let relay_only = RwSignal::new(false);
    let problem = RwSignal::new(String::new());
    let saved = RwSignal::new(String::new());
    // Show the stored settings (again) whenever the runtime loads or saves them.
    Effect::new(move |_| {
        let s = state.settings.get();
        ice_urls.set(s.ice_urls.join("\n"));
        turn_username.set(s.turn_username);
        turn_credential.set(s.turn_credential);
        relay_only.set(s.relay_only);
    });
    let save = move |ev: SubmitEvent| {
        ev.prevent_default();
        saved.set(String::new());
        match parse_ice_urls(&ice_urls.get_untracked()) {
            Err(why) => problem.set(why),
            Ok(urls) => {
                problem.set(String::new());
                sender.send(Command::SaveSettings(Settings {
                    ice_urls: urls,
                    turn_username: turn_username.get_untracked().trim().to_owned(),
                    turn_credential: turn_credential.get_untracked(),
                    relay_only: relay_only.get_untracked(),
                    ..state.settings.get_untracked()
                }));
                saved.set("Settings saved. They apply to connections made from now on.".to_owned());
            }
        }
    };
    let on_max_send = move |ev| {
        if let Ok(max) = event_target_value(&ev).parse::<u64>() {
            let mut s = state.settings.get_untracked();
            s.max_send_bytes = max;
            sender.send(Command::SaveSettings(s));
        }
    };
    let max_send = move || state.settings.with(|s| s.max_send_bytes);
    let confirming = RwSignal::new(false);
    let erase = move || sender.send(Command::EraseAll);
    view! {
        <div class="settings">
            <h2>"Settings"</h2>
            <section class="card" aria-label="Your name">
                <NameForm label="Display name" id="settings-name" />
            </section>
            <form class="card" aria-labelledby="connections-title" on:submit=save>
                <h3 id="connections-title">"Connections"</h3>
                <p class="hint">
                    "Extra STUN or TURN servers help peers behind strict networks reach each other. "
                    "They are used beside the server's own."
                </p>
                <label for="ice-urls">"ICE server URLs (one per line)"</label>
                <textarea
                    id="ice-urls"
                    rows="3"
                    spellcheck="false"
                    autocomplete="off"
                    aria-describedby="ice-problem"
                    prop:value=move || ice_urls.get()
                    on:input=move |ev| ice_urls.set(event_target_value(&ev))
                ></textarea>
                <p id="ice-problem" class="field-error" aria-live="polite">{move || problem.get()}</p>
                <label for="turn-username">"TURN username"</label>
                <input id="turn-username" type="text" autocomplete="off" bind:value=turn_username />
                <label for="turn-credential">"TURN credential"</label>
                <input id="turn-credential" type="password" autocomplete="off" bind:value=turn_credential />
                <div class="check">
                    <input id="relay-only" type="checkbox" bind:checked=relay_only />
                    <label for="relay-only">"Relay only: connect through TURN, hide my addresses"</label>
                </div>
                <button type="submit">"Save settings"</button>
                <p class="saved" aria-live="polite">{move || saved.get()}</p>
            </form>
            <Appearance />
            <section class="card" aria-labelledby="files-title">
                <h3 id="files-title">"Files"</h3>
                <label for="max-send">"Largest file to send"</label>
                <select id="max-send" on:change=on_max_send>
                    {MAX_SEND_CHOICES
                        .into_iter()
                        .map(|max| {
                            view! {
                                <option value=max.to_string() selected=move || max_send() == max>
                                    {size_text(max)}
                                </option>
                            }
                        })
                        .collect_view()}
                </select>
                <p class="hint">"A larger file is refused before anything of it is sent."</p>
            </section>
            <LockSettings />
            <section class="card danger-zone" aria-labelledby="erase-title">
                <h3 id="erase-title">"Erase this device"</h3>
                <p>
                    "Removes your identity, every room and all messages from this browser. "
                    "Other members keep their copies."
                </p>
                <button type="button" class="danger" on:click=move |_| confirming.set(true)>
                    "Erase all local data"
                </button>
                <Confirmation open=confirming confirm_label="Yes, erase everything" on_confirm=erase>
                    "This cannot be undone."
                </Confirmation>
            </section>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ice_urls_are_read_one_per_line_skipping_blank_lines() {
        assert_eq!(
            parse_ice_urls(" stun:10.0.0.1:3478 \n\n  turn:10.0.0.1:3478?transport=udp\nturns:t.example:5349\n"),
            Ok(vec![
                "stun:10.0.0.1:3478".to_owned(),
                "turn:10.0.0.1:3478?transport=udp".to_owned(),
                "turns:t.example:5349".to_owned(),
            ])
        );
        assert_eq!(parse_ice_urls(""), Ok(Vec::new()));
    }

    #[test]
    fn a_line_that_is_not_an_ice_url_is_named_in_the_error() {
        let err = parse_ice_urls("stun:a\nhttp://b").err().unwrap_or_default();
        assert!(err.contains("http://b"), "{err}");
        assert!(parse_ice_urls("turn:").is_err());
    }
}
