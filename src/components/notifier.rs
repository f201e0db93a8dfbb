//! Shows a desktop notification when messages from others arrive while the page is hidden
//! and the user turned notifications on. With the privacy screen on, the notification names
//! the room but does not show the text.

use leptos::prelude::*;
use natter_core::node::shorten;

use crate::components::use_state;
use crate::state::Incoming;
use crate::visibility::use_visible;

/// The most characters of a message shown in a notification.
const MAX_SHOWN: usize = 120;

/// Title and body of the notification for `incoming`; `private` leaves the text out.
pub fn notification_text(incoming: &Incoming, private: bool) -> Option<(String, String)> {
    let (author, text) = incoming.latest.as_ref()?;
    let title = format!("{author} in {}", incoming.room_name);
    let body = match (private, incoming.count) {
        (true, 0 | 1) => "New message".to_owned(),
        (true, n) => format!("{n} new messages"),
        (false, 0 | 1) => shorten(text, MAX_SHOWN),
        (false, n) => format!("{} (and {} more)", shorten(text, MAX_SHOWN), n - 1),
    };
    Some((title, body))
}

/// Watches arrivals; renders nothing.
#[component]
pub fn Notifier() -> impl IntoView {
    let state = use_state();
    let visible = use_visible();
    Effect::new(move |_| {
        let incoming = state.incoming.get();
        let settings = state.settings.get_untracked();
        if !settings.notifications || visible.get_untracked() {
            return;
        }
        let Some(room) = incoming.room else { return };
        if let Some((title, body)) = notification_text(&incoming, settings.privacy_screen) {
            let route = crate::route::room_href(&room);
            if let Err(why) = crate::notify::show(&title, &body, &room.to_hex(), &route) {
                leptos::logging::warn!("notification not shown: {why}");
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_text_is_shown_unless_private() {
        let incoming = Incoming {
            serial: 3,
            room: Some(natter_core::room::RoomId([0xab; 32])),
            room_name: "Team".into(),
            count: 1,
            latest: Some(("Ann".into(), "lunch?".into())),
        };
        assert_eq!(
            notification_text(&incoming, false),
            Some(("Ann in Team".into(), "lunch?".into()))
        );
        assert_eq!(
            notification_text(&incoming, true),
            Some(("Ann in Team".into(), "New message".into()))
        );
        let many = Incoming {
            count: 3,
            ..incoming
        };
        assert_eq!(
            notification_text(&many, false).map(|(_, b)| b),
            Some("lunch? (and 2 more)".into())
        );
        assert_eq!(notification_text(&Incoming::default(), false), None);
    }
}
