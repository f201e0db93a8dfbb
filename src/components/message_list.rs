//! The open room's messages: a log of the latest [`PAGE`] messages (new ones are read out by
//! [`crate::components::announcer`], not by the log itself), with a
//! button to show earlier ones a page at a time (rendering thousands at once would make the
//! page slow on phones). It follows new messages while the reader is at the bottom and stays
//! put while they read older ones.

use std::collections::{HashMap, HashSet};

use leptos::html::Div;
use leptos::prelude::*;
use natter_core::log::EntryId;
use natter_core::room::RoomId;

use crate::components::composer::ComposerState;
use crate::components::message::Message;
use crate::components::{use_sender, use_state};
use crate::state::{Command, MessageView};

/// How many messages are shown at first and added per "Show earlier messages".
pub const PAGE: usize = 200;

/// How close to the bottom (px) still counts as "at the bottom".
const STICK_PX: i32 = 48;

/// The index of the first message shown when `limit` of `total` are shown.
pub fn first_shown(total: usize, limit: usize) -> usize {
    total.saturating_sub(limit)
}

/// The message log.
#[component]
pub fn MessageList(
    /// The room shown.
    room: RoomId,
) -> impl IntoView {
    let state = use_state();
    let sender = use_sender();
    let composer = expect_context::<ComposerState>();
    let room = StoredValue::new(room);
    // The runtime makes views of the latest `limit` messages only (it is told how many).
    let limit = RwSignal::new(PAGE);
    Effect::new(move |_| sender.send(Command::ShowMessages(limit.get())));
    let total = Memo::new(move |_| {
        state
            .room
            .with(|r| r.as_ref().map_or(0, |r| r.total_messages))
    });
    // Each message shown has a signal of its own, set only when what it shows changed,
    // so a new message or a receipt costs a comparison per message shown and redraws only
    // what changed; `order` lists them, and a message is drawn once per id.
    let shown = StoredValue::new(HashMap::<EntryId, ArcRwSignal<MessageView>>::new());
    let order = RwSignal::new(Vec::<EntryId>::new());
    Effect::new(move |_| {
        let limit = limit.get();
        state.room.with(|r| {
            let messages = r.as_ref().map_or(&[][..], |r| {
                &r.messages[first_shown(r.messages.len(), limit)..]
            });
            let ids: Vec<EntryId> = messages.iter().map(|m| m.id).collect();
            shown.update_value(|map| {
                let keep: HashSet<&EntryId> = ids.iter().collect();
                map.retain(|id, _| keep.contains(id));
                for m in messages {
                    match map.get(&m.id) {
                        Some(s) if s.with_untracked(|old| old != m) => s.set(m.clone()),
                        Some(_) => {}
                        None => {
                            map.insert(m.id, ArcRwSignal::new(m.clone()));
                        }
                    }
                }
            });
            if order.with_untracked(|o| *o != ids) {
                order.set(ids);
            }
        })
    });
    let hidden = move || first_shown(total.get(), limit.get());
    let older_missing = Memo::new(move |_| {
        state
            .room
            .with(|r| r.as_ref().is_some_and(|r| r.older_missing))
    });

    // Follow the newest message while the reader is at the bottom.
    let log = NodeRef::<Div>::new();
    let at_bottom = StoredValue::new(true);
    let last = Memo::new(move |_| {
        let id = order.with(|o| o.last().copied())?;
        let mine = shown.with_value(|m| m.get(&id).map(|s| s.with_untracked(|m| m.mine)))?;
        Some((id, mine))
    });
    Effect::new(move |_| {
        let newest_is_mine = last.get().is_some_and(|(_, mine)| mine);
        if at_bottom.get_value() || newest_is_mine {
            request_animation_frame(move || {
                if let Some(el) = log.get_untracked() {
                    el.set_scroll_top(el.scroll_height());
                }
            });
        }
    });
    let on_scroll = move |_| {
        if let Some(el) = log.get_untracked() {
            let gap = el.scroll_height() - el.scroll_top() - el.client_height();
            at_bottom.set_value(gap <= STICK_PX);
        }
    };

    view! {
        <div
            class="messages"
            role="log"
            aria-label="Messages"
            aria-live="off"
            tabindex="0"
            node_ref=log
            on:scroll=on_scroll
        >
            {move || {
                (hidden() > 0)
                    .then(|| {
                        view! {
                            <p class="earlier">
                                <button
                                    type="button"
                                    class="secondary"
                                    on:click=move |_| limit.update(|l| *l += PAGE)
                                >
                                    "Show earlier messages"
                                </button>
                            </p>
                        }
                    })
            }}
            {move || {
                (hidden() == 0 && older_missing.get())
                    .then(|| {
                        view! {
                            <p class="earlier muted">
                                "Older messages are not on this device yet. They arrive when "
                                "someone who has them is online."
                            </p>
                        }
                    })
            }}
            {move || {
                (total.get() == 0)
                    .then(|| view! { <p class="muted empty">"No messages yet. Say hello!"</p> })
            }}
            <For
                each=move || order.get()
                key=|id| *id
                children=move |id| {
                    shown
                        .with_value(|m| m.get(&id).cloned())
                        .map(|message| {
                            view! { <Message message=message.into() room sender composer /> }
                        })
                }
            />
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_page_is_shown_first() {
        assert_eq!(first_shown(0, PAGE), 0);
        assert_eq!(first_shown(150, PAGE), 0);
        assert_eq!(first_shown(450, PAGE), 250);
        assert_eq!(first_shown(450, 2 * PAGE), 50);
        assert_eq!(first_shown(450, 3 * PAGE), 0);
    }
}
