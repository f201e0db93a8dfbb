//! The home view: what Natter is and how to start.

use leptos::prelude::*;

/// The home view.
#[component]
pub fn Home() -> impl IntoView {
    view! {
        <section class="home" aria-labelledby="home-title">
            <h1 id="home-title">"Natter"</h1>
            <p class="tagline">
                "Private group chat that runs in your browser. Messages go straight to the people "
                "in the room; the server only introduces you and never sees what you say."
            </p>
        </section>
    }
}
