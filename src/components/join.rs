//! Joining rooms: by invite link, by name and password, and the password prompt shown when
//! an opened invite says the room has a password.

use leptos::ev::SubmitEvent;
use leptos::html::Input;
use leptos::prelude::*;

use crate::components::{focus_when_shown, non_blank, use_sender, use_state};
use crate::route::{self, Route};
use crate::state::Command;

/// "Join a room" with an invite link, and "Join by name".
#[component]
pub fn JoinForms() -> impl IntoView {
    let sender = use_sender();
    let link = RwSignal::new(String::new());
    let link_password = RwSignal::new(String::new());
    let room_name = RwSignal::new(String::new());
    let room_password = RwSignal::new(String::new());
    let join_link = move |ev: SubmitEvent| {
        ev.prevent_default();
        let Some(l) = non_blank(&link.get_untracked()) else {
            return;
        };
        let pw = link_password.get_untracked();
        sender.send(Command::JoinLink {
            link: l,
            password: (!pw.is_empty()).then_some(pw),
        });
        link.set(String::new());
        link_password.set(String::new());
    };
    let join_named = move |ev: SubmitEvent| {
        ev.prevent_default();
        let Some(name) = non_blank(&room_name.get_untracked()) else {
            return;
        };
        sender.send(Command::JoinNamed {
            name,
            password: room_password.get_untracked(),
        });
        room_name.set(String::new());
        room_password.set(String::new());
    };
    view! {
        <div class="card">
            <form aria-labelledby="join-title" on:submit=join_link>
                <h2 id="join-title">"Join a room"</h2>
                <label for="join-link">"Invite link"</label>
                <input id="join-link" type="text" inputmode="url" autocomplete="off" required bind:value=link />
                <label for="join-link-password">"Room password"</label>
                <input id="join-link-password" type="password" autocomplete="off" bind:value=link_password />
                <button type="submit">"Join room"</button>
            </form>
            <form aria-labelledby="join-named-title" on:submit=join_named>
                <h3 id="join-named-title">"Or by name and password"</h3>
                <label for="join-named-name">"Room name"</label>
                <input id="join-named-name" type="text" autocomplete="off" required bind:value=room_name />
                <label for="join-named-password">"Password"</label>
                <input id="join-named-password" type="password" autocomplete="off" bind:value=room_password />
                <button type="submit">"Join by name"</button>
            </form>
        </div>
    }
}

/// Asks for the room password when a join needs one.
///
/// Cancelling only hides the prompt for that request (the runtime owns the state); a new
/// request shows it again.
#[component]
pub fn PasswordPrompt() -> impl IntoView {
    let state = use_state();
    let sender = use_sender();
    let dismissed = RwSignal::new(false);
    // Every new request (even for the same link) shows the prompt again.
    Effect::new(move |_| {
        state.password_prompt.track();
        dismissed.set(false);
    });
    let pending = move || {
        if dismissed.get() {
            None
        } else {
            state.password_prompt.get()
        }
    };
    let password = RwSignal::new(String::new());
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        let Some(link) = pending() else {
            return;
        };
        let pw = password.get_untracked();
        if pw.is_empty() {
            return;
        }
        sender.send(Command::JoinLink {
            link,
            password: Some(pw),
        });
        // The prompt stays until the runtime clears it, so a wrong password can be retried.
        password.set(String::new());
    };
    let cancel = move |_| {
        password.set(String::new());
        dismissed.set(true);
        if matches!(route::current(), Route::Join(_)) {
            route::go(&Route::Home);
        }
    };
    move || {
        pending().map(|_| {
            view! {
                <form class="card prompt" aria-labelledby="prompt-title" on:submit=submit>
                    <h2 id="prompt-title">"This room needs a password"</h2>
                    <InvitePassword id="prompt-password" value=password focus=true />
                    <div class="button-row">
                        <button type="submit">"Join with password"</button>
                        <button type="button" class="secondary" on:click=cancel>"Cancel"</button>
                    </div>
                </form>
            }
        })
    }
}

/// The "Room password for this invite" field (required, never autofilled), bound to `value`;
/// with `focus` it takes the focus when it appears.
#[component]
pub fn InvitePassword(
    /// The input's id (its label points at it).
    id: &'static str,
    /// What is typed.
    value: RwSignal<String>,
    /// Take the focus when shown.
    #[prop(optional)]
    focus: bool,
) -> impl IntoView {
    let field = NodeRef::<Input>::new();
    if focus {
        focus_when_shown(field);
    }
    view! {
        <label for=id>"Room password for this invite"</label>
        <input id=id type="password" autocomplete="off" required node_ref=field bind:value=value />
    }
}
