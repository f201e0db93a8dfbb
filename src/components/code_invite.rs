//! Inviting with a short code: for someone beside you or on the phone, who types it under
//! "Join with a code". The code works for one person; the server that carries the exchange
//! never learns the room (see `natter_core::joincode`).

use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use natter_core::room::RoomId;

use crate::components::invite::select_all;
use crate::components::message::times;
use crate::components::{use_sender, use_state};
use crate::state::{Command, CODE_LIFETIMES};

/// The code part of the Invite panel for `room`.
#[component]
pub fn CodeInvite(
    /// The room the code invites to.
    room: RoomId,
) -> impl IntoView {
    let state = use_state();
    let sender = use_sender();
    let ttl = RwSignal::new(CODE_LIFETIMES[1].1.to_string());
    let shown = Memo::new(move |_| state.code_invite.get().filter(|c| c.room == room));
    let open = move || shown.with(|c| c.as_ref().is_some_and(|c| c.open));
    let start = move |ev: SubmitEvent| {
        ev.prevent_default();
        let ttl_ms = ttl.get_untracked().parse().unwrap_or(CODE_LIFETIMES[1].1);
        sender.send(Command::InviteWithCode { room, ttl_ms });
    };
    let cancel = move |_| sender.send(Command::CancelCode);
    let options = CODE_LIFETIMES
        .iter()
        .map(|(words, ms)| view! { <option value=ms.to_string()>{*words}</option> })
        .collect_view();
    let code = move || {
        shown.get().filter(|c| c.open).and_then(|c| {
            let text = c.code?;
            let until = c
                .expires_at_ms
                .and_then(times)
                .map(|(short, _)| format!("Valid until {short}, for one person."));
            Some(view! {
                <label for="join-code-shown">"Join code"</label>
                <input id="join-code-shown" class="join-code" type="text" readonly
                    prop:value=text on:focus=select_all />
                <p class="hint">{until}</p>
                <button type="button" class="secondary" on:click=cancel>"Cancel code"</button>
            })
        })
    };
    view! {
        <div class="code-invite">
            <h4 id="code-invite-title">"Invite with a code"</h4>
            <form aria-labelledby="code-invite-title" on:submit=start>
                <label for="code-lifetime">"Code valid for"</label>
                <select id="code-lifetime" bind:value=ttl>{options}</select>
                <button type="submit">
                    {move || if open() { "Show a new code" } else { "Show a code" }}
                </button>
            </form>
            {code}
            <p role="status" aria-label="Code status">
                {move || shown.get().map(|c| c.status).unwrap_or_default()}
            </p>
        </div>
    }
}
