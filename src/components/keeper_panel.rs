//! Keeping a room available: asking a keeper (an always-online peer, see
//! [`crate::keeper`]) to hold the room's history for when no member is online, and who
//! keeps it now.
//!
//! The field starts with the keeper the server offers and can be changed to the key of one
//! run elsewhere. A keeper is handed the room's invite, so it can read the room: the panel
//! says so before the button. Ephemeral rooms are not handed to keepers (nothing of them is
//! meant to be kept anywhere).

use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use natter_core::room::RoomId;

use crate::components::{use_sender, use_state};
use crate::keeper::{keeper_name, kept_by, parse_key, retention_at, RETENTIONS};
use crate::state::{Command, KeeperView};

/// What the panel shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// The room is ephemeral.
    Ephemeral,
    /// Keepers keep the room.
    Kept,
    /// Nobody keeps it: the form to ask one.
    Ask,
}

/// The "Keep this room available" panel of `room`.
#[component]
pub fn KeeperPanel(
    /// The room.
    room: RoomId,
) -> impl IntoView {
    let state = use_state();
    let sender = use_sender();
    let mode = Memo::new(move |_| {
        state.room.with(|r| match r {
            Some(r) if r.ephemeral => Mode::Ephemeral,
            Some(r) if !r.keepers.is_empty() => Mode::Kept,
            _ => Mode::Ask,
        })
    });
    let status = move || {
        state.keeper_ask.with(|a| {
            a.as_ref()
                .filter(|a| a.room == room)
                .map(|a| a.status.clone())
        })
    };
    // What the user typed; until then the field shows the server's keeper (its `/config`
    // may arrive after the room is shown).
    let typed = RwSignal::new(None::<String>);
    let key_text = move || {
        typed.get().unwrap_or_else(|| {
            state
                .keeper
                .with(|k| k.as_ref().map(|k| k.key.clone()).unwrap_or_default())
        })
    };
    let error = RwSignal::new(String::new());
    let kept_choice = RwSignal::new("0".to_owned());
    let input = NodeRef::<leptos::html::Input>::new();
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        match parse_key(&untrack(key_text)) {
            Ok(key) => {
                error.set(String::new());
                let retention = retention_at(&kept_choice.get_untracked());
                sender.send(Command::KeepRoom {
                    room,
                    key,
                    retention,
                });
            }
            Err(why) => {
                error.set(why);
                if let Some(el) = input.get_untracked() {
                    let _ = el.focus();
                }
            }
        }
    };
    // Redrawn only when the keepers change, not with every message.
    let keepers = Memo::new(move |_| {
        state.room.with(|r| {
            r.as_ref()
                .map(|r| (r.keepers.clone(), r.more_keepers))
                .unwrap_or_default()
        })
    });
    let rows = move || {
        let server = state.keeper.get();
        let (list, more) = keepers.get();
        let rows = list
            .into_iter()
            .map(|KeeperView { key, name }| {
                let name = keeper_name(&name, &key, server.as_ref());
                let stop = move |_| sender.send(Command::StopKeeping { room, key });
                view! {
                    <li>
                        {kept_by(&name, &key)}
                        " "
                        <button type="button" class="secondary small" on:click=stop
                            aria-label=format!("Stop keeping ({name})")>
                            "Stop keeping"
                        </button>
                    </li>
                }
            })
            .collect_view();
        let more = match more {
            0 => String::new(),
            1 => "And 1 more keeper.".to_owned(),
            n => format!("And {n} more keepers."),
        };
        view! {
            <ul class="keeper-list">{rows}</ul>
            <p class="hint">{more}</p>
        }
    };
    let kept = move || {
        view! {
            <p class="hint">"The room's keeper holds its history while nobody else is online."</p>
            {rows}
        }
    };
    let offered = move || state.keeper.with(Option::is_some);
    let form = move || {
        view! {
            <p class="hint">
                "A keeper is a device that stays online and holds this room's history for when "
                "nobody else is. It is handed the invite, so it can read the room: ask only a "
                "keeper you trust."
                {move || (!offered()).then_some(" This server offers no keeper: enter the key of one you run.")}
            </p>
            <form aria-labelledby="keeper-title" on:submit=submit>
                <label for="keeper-key">"Keeper key"</label>
                <input id="keeper-key" type="text" node_ref=input autocomplete="off"
                    autocapitalize="off" spellcheck="false"
                    aria-describedby="keeper-fingerprint keeper-key-error"
                    aria-invalid=move || (!error.with(String::is_empty)).then_some("true")
                    prop:value=key_text
                    on:input=move |ev| {
                        error.set(String::new());
                        typed.set(Some(event_target_value(&ev)));
                    } />
                <p id="keeper-fingerprint" class="hint">
                    {move || parse_key(&key_text()).ok().map(|k| format!("Key fingerprint: {}", k.short()))}
                </p>
                <p id="keeper-key-error" class="field-error">{move || error.get()}</p>
                <label for="keeper-retention">"History kept"</label>
                <select id="keeper-retention" aria-describedby="keeper-retention-hint"
                    bind:value=kept_choice>
                    {RETENTIONS
                        .iter()
                        .enumerate()
                        .map(|(i, (words, _))| view! { <option value=i.to_string()>{*words}</option> })
                        .collect_view()}
                </select>
                <p id="keeper-retention-hint" class="hint">
                    "An entry is a message, a reaction, an edit or a name. Members online "
                    "still hand each other everything they hold."
                </p>
                <button type="submit">"Keep this room available"</button>
            </form>
        }
    };
    let body = move || match mode.get() {
        Mode::Ephemeral => view! {
            <p class="hint">
                "This room is ephemeral: nothing of it is kept, so it is not handed to a keeper."
            </p>
        }
        .into_any(),
        Mode::Kept => kept().into_any(),
        Mode::Ask => form().into_any(),
    };
    view! {
        <section class="panel keeper" aria-labelledby="keeper-title">
            <h3 id="keeper-title">"Keep this room available"</h3>
            {body}
            <p class="keeper-status" role="status" aria-label="Keeper status">{status}</p>
        </section>
    }
}
