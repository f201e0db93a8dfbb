//! "A new version is available — reload": shown when a new build of the app is installed
//! and waiting (see [`crate::pwa`]). Reloading is the user's choice, so nothing typed is
//! lost by a deploy.

use leptos::prelude::*;

use crate::components::use_state;

/// The prompt, while an update waits.
#[component]
pub fn UpdatePrompt() -> impl IntoView {
    let state = use_state();
    let reload = move |_| {
        #[cfg(target_arch = "wasm32")]
        crate::pwa::apply_update();
    };
    move || {
        state.update_ready.get().then(|| {
            view! {
                <div role="alert" class="notice update">
                    <p>"A new version is available — reload"</p>
                    <button type="button" on:click=reload>"Reload"</button>
                </div>
            }
        })
    }
}
