//! The main navigation: always there, so every view is one keypress away.

use leptos::prelude::*;

use crate::route::Route;

/// The top bar with the app's name and the links to Home and Settings.
#[component]
pub fn Nav(
    /// The route shown now (marks the current link).
    route: Memo<Route>,
) -> impl IntoView {
    let current = move |page: Route| move || (route.get() == page).then_some("page");
    view! {
        <header class="top-bar">
            <span class="brand">"Natter"</span>
            <nav aria-label="Main">
                <a href="#/" aria-current=current(Route::Home)>"Home"</a>
                <a href="#/settings" aria-current=current(Route::Settings)>"Settings"</a>
            </nav>
        </header>
    }
}
