//! The name a newcomer is asked for on their first join (by link or by code): until they
//! choose one they appear as "Guest …". The field starts empty and may be left so.

use leptos::prelude::*;

use crate::components::{non_blank, use_state, Sender};
use crate::state::{Command, UiState};

/// A "Your name" field, shown only while we have not chosen a display name.
#[component]
pub fn FirstName(
    /// The field's element id (unique on the page).
    id: &'static str,
    /// What was typed.
    value: RwSignal<String>,
) -> impl IntoView {
    let state = use_state();
    move || {
        (!state.name_chosen.get()).then(|| {
            view! {
                <label for=id>"Your name (optional)"</label>
                <input id=id type="text" autocomplete="nickname" maxlength="64" bind:value=value />
                <p class="hint">"What the people in the room will see. You can change it later."</p>
            }
        })
    }
}

/// Sets the name typed in a [`FirstName`] field, if one was shown and filled in.
pub fn send_first_name(sender: Sender, state: UiState, value: RwSignal<String>) {
    if state.name_chosen.get_untracked() {
        return;
    }
    if let Some(name) = non_blank(&value.get_untracked()) {
        sender.send(Command::SetName(name));
    }
    value.set(String::new());
}
