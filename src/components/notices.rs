//! Errors and warnings for the user. Each notice is an alert (announced at once) that stays
//! until the user dismisses it, so nothing important disappears before it is read.

use leptos::prelude::*;

use crate::components::{use_sender, use_state};
use crate::state::Command;

/// The list of notices, newest last.
#[component]
pub fn Notices() -> impl IntoView {
    let state = use_state();
    let sender = use_sender();
    view! {
        <div class="notices">
            <For
                each=move || state.notices.get()
                key=|notice| notice.id
                children=move |notice| {
                    let id = notice.id;
                    view! {
                        <div role="alert" class="notice">
                            <p>{notice.text}</p>
                            <button type="button" on:click=move |_| sender.send(Command::Dismiss(id))>
                                "Dismiss"
                            </button>
                        </div>
                    }
                }
            />
        </div>
    }
}
