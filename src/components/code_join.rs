//! Joining with a code someone shows you or reads out. A newcomer who never chose a display
//! name is asked for one here too ([`FirstName`]).

use leptos::ev::SubmitEvent;
use leptos::prelude::*;

use crate::components::first_name::{send_first_name, FirstName};
use crate::components::{non_blank, use_sender, use_state};
use crate::state::Command;

/// The "Join with a code" form.
#[component]
pub fn CodeJoin() -> impl IntoView {
    let state = use_state();
    let sender = use_sender();
    let code = RwSignal::new(String::new());
    let name = RwSignal::new(String::new());
    let busy = move || state.code_join.with(|c| c.as_ref().is_some_and(|c| c.busy));
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        let Some(text) = non_blank(&code.get_untracked()) else {
            return;
        };
        send_first_name(sender, state, name);
        sender.send(Command::JoinWithCode { code: text });
    };
    view! {
        <form class="card code-join" aria-labelledby="code-join-title" on:submit=submit>
            <h2 id="code-join-title">"Join with a code"</h2>
            <p class="hint">"Type the code someone in the room shows you, like 42-123-456."</p>
            <label for="join-code">"Join code"</label>
            <input id="join-code" type="text" inputmode="numeric" autocomplete="off"
                maxlength="40" required bind:value=code />
            <FirstName id="join-code-name" value=name />
            <button type="submit" prop:disabled=busy>"Join with code"</button>
            <p role="status" aria-label="Join code status">
                {move || state.code_join.get().map(|c| c.status).unwrap_or_default()}
            </p>
        </form>
    }
}
