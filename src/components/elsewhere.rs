//! Shown while the app runs in another tab of this browser (`runtime::tab`): nothing else
//! shows and nothing is loaded. **Use here** moves the app to this tab; the other tab then
//! shows this screen in turn.

use leptos::html::H1;
use leptos::prelude::*;

use crate::components::{focus_when_shown, use_sender};
use crate::state::Command;

/// The notice and its one action.
#[component]
pub fn Elsewhere() -> impl IntoView {
    let sender = use_sender();
    let heading = NodeRef::<H1>::new();
    focus_when_shown(heading);
    view! {
        <section class="card lock-screen" aria-labelledby="elsewhere-title">
            <h1 id="elsewhere-title" tabindex="-1" node_ref=heading>
                "Natter is open in another tab"
            </h1>
            <p>
                "Natter runs in one tab at a time, so that two tabs never send different "
                "messages in your name at once. Use it there, or use it here: the other tab "
                "then stops. When the other tab closes, Natter starts here by itself."
            </p>
            <button type="button" on:click=move |_| sender.send(Command::UseHere)>
                "Use here"
            </button>
        </section>
    }
}
