//! The privacy screen: when the user turns it on, the page's content is hidden whenever the
//! page is not on screen, so task switchers, screen shares of other windows and shoulder
//! surfers see a plain cover instead of messages.
//!
//! It marks the root element with `data-private-cover`; the stylesheet hides everything but
//! the cover then. Nothing is unloaded: coming back shows the page as it was.

use leptos::prelude::*;

use crate::components::use_state;
use crate::visibility::use_visible;

/// Whether the content must be covered now.
pub fn covered(enabled: bool, visible: bool) -> bool {
    enabled && !visible
}

/// The cover, and the attribute that hides the rest.
#[component]
pub fn PrivacyScreen() -> impl IntoView {
    let state = use_state();
    let visible = use_visible();
    let cover =
        Memo::new(move |_| covered(state.settings.with(|s| s.privacy_screen), visible.get()));
    Effect::new(move |_| {
        let on = cover.get();
        if let Some(root) = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.document_element())
        {
            // If the attribute cannot be set the cover below still shows; nothing is lost.
            let _ = if on {
                root.set_attribute("data-private-cover", "")
            } else {
                root.remove_attribute("data-private-cover")
            };
        }
    });
    view! {
        <div class="privacy-cover" hidden=move || !cover.get()>
            <p class="brand">"Natter"</p>
            <p>"Hidden while you are away."</p>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_is_covered_only_when_enabled_and_hidden() {
        assert!(covered(true, false));
        assert!(!covered(true, true));
        assert!(!covered(false, false));
        assert!(!covered(false, true));
    }
}
