//! The form that creates a room. The password and the ephemeral choice are the user's to
//! make here because neither can be changed once the room exists.

use leptos::ev::SubmitEvent;
use leptos::prelude::*;

use crate::components::{non_blank, use_sender};
use crate::state::Command;

/// "New room": optional name, optional password, ephemeral checkbox.
#[component]
pub fn NewRoom() -> impl IntoView {
    let sender = use_sender();
    let name = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let ephemeral = RwSignal::new(false);
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        let pw = password.get_untracked();
        sender.send(Command::CreateRoom {
            name: non_blank(&name.get_untracked()),
            password: (!pw.is_empty()).then_some(pw),
            ephemeral: ephemeral.get_untracked(),
        });
        name.set(String::new());
        password.set(String::new());
        ephemeral.set(false);
    };
    view! {
        <form class="card" aria-labelledby="new-room-title" on:submit=submit>
            <h2 id="new-room-title">"New room"</h2>
            <label for="new-room-name">"Room name (optional)"</label>
            <input id="new-room-name" type="text" autocomplete="off" maxlength="100" bind:value=name />
            <label for="new-room-password">"Password (optional)"</label>
            <input id="new-room-password" type="password" autocomplete="new-password" bind:value=password />
            <div class="check">
                <input id="new-room-ephemeral" type="checkbox" bind:checked=ephemeral />
                <label for="new-room-ephemeral">"Ephemeral: keep nothing on this device"</label>
            </div>
            <button type="submit">"Create room"</button>
        </form>
    }
}
