//! Root component.
use leptos::prelude::*;

/// The application root.
#[component]
pub fn App() -> impl IntoView {
    view! { <main><h1>"Natter"</h1></main> }
}
