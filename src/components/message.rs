//! One message of the open room, as an `<article>` named after its author.
//!
//! Message text comes from other people: it is always inserted as text, never as HTML.
//! The article is drawn once per message and its parts follow the message's signal, so a
//! reaction, a delivery receipt or a download's progress changes only what it changes:
//! the buttons stay the same elements, and keyboard focus stays where it was.

use leptos::prelude::*;
use natter_core::room::RoomId;

use crate::components::composer::ComposerState;
use crate::components::file_card::FileCard;
use crate::components::Sender;
use crate::state::{Command, Delivery, MessageView};

/// The reaction the React button adds.
pub const THUMBS_UP: &str = "👍";

/// The largest time a JS `Date` holds (ms after the epoch, ECMA-262 §21.4.1.1); a peer
/// chooses `wall_ms`, and past this `toISOString` throws.
const MAX_DATE_MS: u64 = 8_640_000_000_000_000;

/// `HH:MM` in local time and an ISO timestamp, or `None` for an unknown time (none, or
/// beyond what a date can be).
pub(crate) fn times(wall_ms: u64) -> Option<(String, String)> {
    if wall_ms == 0 || wall_ms > MAX_DATE_MS {
        return None;
    }
    // Millisecond timestamps fit an f64 exactly until the year 287396.
    #[allow(clippy::cast_precision_loss)]
    let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(wall_ms as f64));
    let iso = String::from(date.to_iso_string());
    Some((
        format!("{:02}:{:02}", date.get_hours(), date.get_minutes()),
        iso,
    ))
}

/// One message.
#[component]
pub fn Message(
    /// What to show, as it changes.
    message: Signal<MessageView>,
    /// The room it is in.
    room: StoredValue<RoomId>,
    /// Where the buttons send their commands.
    sender: Sender,
    /// The room's composer (for Reply and Edit).
    composer: ComposerState,
) -> impl IntoView {
    // An entry's id, author key, and so whether it is ours and when it was written, never change.
    let (id, mine, wall_ms, file) =
        message.with_untracked(|m| (m.id, m.mine, m.wall_ms, m.file.clone()));
    // Only whether it is deleted is a memo of its own (two parts switch on it); the rest
    // are closures on the message, whose signal is set only when the message changed.
    let deleted = Memo::new(move |_| message.with(|m| m.deleted));
    let author = move || message.with(|m| m.author.clone());
    let has_file = file.is_some();
    let time = times(wall_ms).map(|(short, iso)| view! { <time datetime=iso>{short}</time> });
    let reply = move || {
        message
            .with(|m| m.reply_to.as_ref().map(|(_, q)| q.clone()))
            .map(|quoted| {
                view! {
                    <blockquote class="reply-excerpt">
                        <span class="visually-hidden">"In reply to "</span>
                        {quoted}
                    </blockquote>
                }
            })
    };
    let shown = move || {
        match &file {
        Some(file) => view! { <FileCard file=file.clone() message room sender /> }.into_any(),
        None => view! {
            <p class="text">
                {move || message.with(|m| m.text.clone())}
                {move || message.with(|m| m.edited).then(|| view! { " " <span class="edited">"(edited)"</span> })}
            </p>
        }
        .into_any(),
    }
    };
    // Reactions, delivery and the keeper that served it change together, and none of them
    // holds a control: one part redraws them all (fewer parts make a message cheaper to draw).
    let footer = move || {
        message.with(|m| {
            let reactions = (!m.reactions.is_empty()).then(|| {
                let items = m
                    .reactions
                    .iter()
                    .map(|(emoji, count, ours)| {
                        let (emoji, count, ours) = (emoji.clone(), *count, *ours);
                        view! { <li class:ours=ours>{emoji} " " {count}</li> }
                    })
                    .collect_view();
                view! { <ul class="reactions" aria-label="Reactions">{items}</ul> }
            });
            let delivery = (mine && m.delivery != Delivery::None)
                .then(|| view! { <p class="delivery">{m.delivery.label()}</p> });
            let via = m
                .via_keeper
                .clone()
                .map(|k| view! { <p class="via-keeper">"via keeper " {k}</p> });
            (reactions, delivery, via)
        })
    };
    let react = move |_| {
        sender.send(Command::React {
            room: room.get_value(),
            target: id,
            emoji: THUMBS_UP.to_owned(),
        })
    };
    let reply_click = move |_| message.with_untracked(|m| composer.reply(id, &m.author, &m.text));
    let edit = move |_| composer.edit(id, message.with_untracked(|m| m.text.clone()));
    let delete = move |_| {
        if composer.mode.get_untracked() == (crate::components::composer::Draft::Edit { id }) {
            composer.reset();
        }
        sender.send(Command::Delete {
            room: room.get_value(),
            target: id,
        })
    };
    let own = move || {
        mine.then(|| {
            // A file has no text to change.
            let edit = (!has_file).then(|| {
                view! { <button type="button" class="small" on:click=edit>"Edit"</button> }
            });
            view! {
                {edit}
                <button type="button" class="small danger" on:click=delete>"Delete"</button>
            }
        })
    };
    // A message is deleted for good: its text gives way to a note once, and its buttons go.
    let body = move || {
        if deleted.get() {
            view! { <p class="text deleted">"This message was deleted"</p> }.into_any()
        } else {
            shown()
        }
    };
    let actions = move || {
        (!deleted.get()).then(|| {
            view! {
                <div class="actions">
                    <button type="button" class="small" on:click=reply_click>"Reply"</button>
                    <button type="button" class="small" on:click=react>{format!("React {THUMBS_UP}")}</button>
                    {own()}
                </div>
            }
        })
    };
    view! {
        <article class="message" class:mine=mine aria-label=move || format!("Message from {}", author())>
            <header class="message-head">
                <span class="author">{author}</span>
                {move || message.with(|m| m.keeper).then(|| view! { <span class="tag keeper-badge">"Keeper"</span> })}
                {time}
            </header>
            {reply}
            {body}
            {footer}
            {actions}
        </article>
    }
}

#[cfg(test)]
mod browser_tests {
    use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

    use super::{times, MAX_DATE_MS};

    wasm_bindgen_test_configure!(run_in_browser);

    #[wasm_bindgen_test]
    fn a_time_no_date_can_hold_shows_as_unknown() {
        assert!(times(MAX_DATE_MS).is_some_and(|(_, iso)| iso.starts_with("+275760-09-13")));
        assert_eq!(times(MAX_DATE_MS + 1), None);
        assert_eq!(times(u64::MAX), None);
        assert_eq!(times(0), None);
    }
}
