//! Editing our display name (on Home and in Settings). Names are chosen by each user and
//! shown to peers; they are not identities, which is why peers also show safety numbers.

use leptos::ev::SubmitEvent;
use leptos::prelude::*;

use crate::components::{non_blank, use_sender, use_state};
use crate::state::Command;

/// A text field for our name and a "Save name" button.
#[component]
pub fn NameForm(
    /// The field's label (its accessible name).
    label: &'static str,
    /// The field's element id (unique on the page).
    id: &'static str,
) -> impl IntoView {
    let state = use_state();
    let sender = use_sender();
    let name = RwSignal::new(state.my_name.get_untracked());
    // Follow the stored name when the runtime loads or changes it.
    Effect::new(move |_| name.set(state.my_name.get()));
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        if let Some(new_name) = non_blank(&name.get_untracked()) {
            sender.send(Command::SetName(new_name));
        }
    };
    view! {
        <form class="name-form" on:submit=submit>
            <label for=id>{label}</label>
            <div class="inline-field">
                // Until the stored name has loaded, an edit would be overwritten by it.
                <input id=id type="text" autocomplete="nickname" maxlength="64" required
                    bind:value=name prop:disabled=move || !state.ready.get() />
                <button type="submit" prop:disabled=move || !state.ready.get()>"Save name"</button>
            </div>
        </form>
    }
}
