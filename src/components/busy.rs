//! The "working" indicator for long operations (password stretching takes seconds), so the
//! user knows the app has not frozen.

use leptos::prelude::*;

use crate::components::use_state;

/// Shows what the app is busy with, while it is.
#[component]
pub fn Busy() -> impl IntoView {
    let state = use_state();
    move || {
        state.busy.get().map(|text| {
            view! {
                <p role="status" aria-label="Working" class="busy">
                    <span class="spinner" aria-hidden="true"></span>
                    {text}
                </p>
            }
        })
    }
}
