//! The unread badge in the page title: "(3) Natter".
//!
//! It counts messages from others in rooms that are not open (the runtime's unread counts),
//! plus those that arrived in the open room while the page was hidden, so a background tab
//! shows that something happened. Looking at the page clears the second part.

use leptos::prelude::*;

use crate::components::use_state;
use crate::visibility::use_visible;

/// The title for `unread` unseen messages.
pub fn title_for(unread: u64) -> String {
    match unread {
        0 => "Natter".to_owned(),
        n => format!("({n}) Natter"),
    }
}

/// Keeps `document.title` up to date; renders nothing.
#[component]
pub fn TitleBadge() -> impl IntoView {
    let state = use_state();
    let visible = use_visible();
    let unseen_here = RwSignal::new(0u64);
    Effect::new(move |_| {
        let incoming = state.incoming.get();
        let open = state
            .room
            .with_untracked(|r| r.as_ref().is_some_and(|r| Some(r.id) == incoming.room));
        if open && !visible.get_untracked() {
            unseen_here.update(|n| *n += u64::from(incoming.count));
        }
    });
    Effect::new(move |_| {
        if visible.get() {
            unseen_here.set(0);
        }
    });
    // Set only when it changes: each setting replaces the title element's text.
    let title = Memo::new(move |_| {
        let elsewhere: u64 = state
            .rooms
            .with(|rooms| rooms.iter().map(|r| u64::from(r.unread)).sum());
        title_for(elsewhere + unseen_here.get())
    });
    Effect::new(move |_| {
        if let Some(doc) = web_sys::window().and_then(|w| w.document()) {
            doc.set_title(&title.get());
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_badge_shows_only_when_something_is_unread() {
        assert_eq!(title_for(0), "Natter");
        assert_eq!(title_for(1), "(1) Natter");
        assert_eq!(title_for(12), "(12) Natter");
    }
}
