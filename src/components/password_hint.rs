//! The hint a password room shows while nobody is in it but somebody is in its lobby: the
//! password may be wrong (see [`natter_core::node::lobby`] for why that is never more than a hint), with
//! a way to enter it again. Nothing is left or removed by it.

use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use natter_core::room::RoomId;

use crate::components::join::InvitePassword;
use crate::components::{use_sender, use_state};
use crate::state::Command;
use natter_core::node::lobby::PASSWORD_HINT;

/// The hint for room `room`, shown while the runtime says the password is doubtful.
#[component]
pub fn PasswordHint(
    /// The room shown.
    room: RoomId,
) -> impl IntoView {
    let state = use_state();
    let sender = use_sender();
    let room = StoredValue::new(room);
    let doubtful = Memo::new(move |_| {
        state
            .room
            .with(|r| r.as_ref().is_some_and(|r| r.password_hint))
    });
    let asking = RwSignal::new(false);
    let password = RwSignal::new(String::new());
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        let pw = password.get_untracked();
        if pw.is_empty() {
            return;
        }
        sender.send(Command::RetryPassword {
            room: room.get_value(),
            password: pw,
        });
        password.set(String::new());
        asking.set(false);
    };
    let cancel = move |_| {
        password.set(String::new());
        asking.set(false);
    };
    move || {
        doubtful.get().then(|| {
            let form = move || {
                if !asking.get() {
                    return view! {
                        <button type="button" class="secondary" on:click=move |_| asking.set(true)>
                            "Enter the password again"
                        </button>
                    }
                    .into_any();
                }
                view! {
                    <form aria-label="Enter the room password again" on:submit=submit>
                        <InvitePassword id="retry-password" value=password focus=true />
                        <div class="button-row">
                            <button type="submit">"Join with this password"</button>
                            <button type="button" class="secondary" on:click=cancel>"Cancel"</button>
                        </div>
                    </form>
                }
                .into_any()
            };
            view! {
                <section class="card prompt password-hint" aria-label="Room password">
                    <p role="alert">{PASSWORD_HINT}</p>
                    {form}
                </section>
            }
        })
    }
}
