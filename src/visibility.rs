//! Whether the page is on screen, as a signal.
//!
//! Several views care: the privacy screen hides content while the page is hidden, desktop
//! notifications are only shown then, and the title counts what arrived meanwhile. One
//! listener on `visibilitychange` feeds them all.

use leptos::prelude::*;

/// `true` while the page is visible. Provided by the app root.
#[derive(Debug, Clone, Copy)]
pub struct PageVisible(pub ReadSignal<bool>);

/// Whether the document is visible now (`true` outside a browser).
pub fn is_visible() -> bool {
    #[cfg(target_arch = "wasm32")]
    {
        web_sys::window()
            .and_then(|w| w.document())
            .is_none_or(|d| d.visibility_state() != web_sys::VisibilityState::Hidden)
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        true
    }
}

/// Starts following the page's visibility and provides [`PageVisible`] to every view below
/// the caller. The listener is removed with the caller's reactive owner.
pub fn provide() -> PageVisible {
    let (visible, set_visible) = signal(is_visible());
    #[cfg(target_arch = "wasm32")]
    {
        let listener = window_event_listener_untyped("visibilitychange", move |_| {
            set_visible.set(is_visible());
        });
        on_cleanup(move || listener.remove());
    }
    #[cfg(not(target_arch = "wasm32"))]
    let _ = set_visible;
    let page = PageVisible(visible);
    provide_context(page);
    page
}

/// The page's visibility, provided by the app root.
pub fn use_visible() -> ReadSignal<bool> {
    expect_context::<PageVisible>().0
}
