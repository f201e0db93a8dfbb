//! Announces new messages from others to screen readers.
//!
//! The message log itself is not live (reading out every article with its buttons would be
//! noise, and a long catch-up would read out thousands); instead one visually hidden, polite
//! live region says "New message from Ann: hello" for each batch that arrives, or how many
//! arrived when a batch holds several.

use leptos::prelude::*;
use natter_core::node::shorten;
use natter_core::room::RoomId;

use crate::components::use_state;
use crate::state::Incoming;

/// The most characters of a message read out.
const MAX_SPOKEN: usize = 200;

/// What to say about `incoming` while `open_room` is on screen.
pub fn announcement(incoming: &Incoming, open_room: Option<RoomId>) -> String {
    let Some((author, text)) = &incoming.latest else {
        return String::new();
    };
    let text = shorten(text, MAX_SPOKEN);
    let here = open_room.is_some() && open_room == incoming.room;
    match (here, incoming.count) {
        (true, 0 | 1) => format!("New message from {author}: {text}"),
        (true, n) => format!("{n} new messages. The newest, from {author}: {text}"),
        (false, 0 | 1) => format!("New message in {} from {author}", incoming.room_name),
        (false, n) => format!("{n} new messages in {}", incoming.room_name),
    }
}

/// The live region.
#[component]
pub fn Announcer() -> impl IntoView {
    let state = use_state();
    let said = RwSignal::new(String::new());
    Effect::new(move |_| {
        let incoming = state.incoming.get();
        let open = state.room.with_untracked(|r| r.as_ref().map(|r| r.id));
        said.set(announcement(&incoming, open));
    });
    view! {
        <div class="visually-hidden" role="status" aria-label="New messages" aria-live="polite" aria-atomic="true">
            {move || said.get()}
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const AB: RoomId = RoomId([0xab; 32]);
    const CD: RoomId = RoomId([0xcd; 32]);

    fn incoming(count: u32, text: &str) -> Incoming {
        Incoming {
            serial: 1,
            room: Some(AB),
            room_name: "Team".into(),
            count,
            latest: Some(("Ann".into(), text.into())),
        }
    }

    #[test]
    fn a_message_in_the_open_room_is_read_out_with_its_author() {
        assert_eq!(
            announcement(&incoming(1, "hello"), Some(AB)),
            "New message from Ann: hello"
        );
        assert_eq!(
            announcement(&incoming(3, "hi"), Some(AB)),
            "3 new messages. The newest, from Ann: hi"
        );
    }

    #[test]
    fn other_rooms_are_named_without_reading_the_text() {
        let said = announcement(&incoming(1, "secret plans"), Some(CD));
        assert_eq!(said, "New message in Team from Ann");
        assert_eq!(
            announcement(&incoming(4, "x"), None),
            "4 new messages in Team"
        );
    }

    #[test]
    fn nothing_arrived_says_nothing_and_long_text_is_cut() {
        assert_eq!(announcement(&Incoming::default(), Some(AB)), "");
        let long = "é".repeat(MAX_SPOKEN + 5);
        let said = announcement(&incoming(1, &long), Some(AB));
        assert!(said.ends_with('…'));
        assert_eq!(said.chars().filter(|c| *c == 'é').count(), MAX_SPOKEN);
        assert_eq!(shorten("short", 10), "short");
    }
}
