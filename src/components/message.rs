//! One message of the open room, as an `<article>` named after its author.
//!
//! Message text comes from other people: it is always inserted as text, never as HTML.
//! The article is drawn once per version of the message (see [`fingerprint`]), so it holds
//! no signals of its own.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};

use leptos::prelude::*;
use natter_core::room::RoomId;

use crate::components::composer::ComposerState;
use crate::components::file_card::FileCard;
use crate::components::Sender;
use crate::state::{Command, Delivery, MessageView};

/// The reaction the React button adds.
pub const THUMBS_UP: &str = "👍";

/// A number that changes whenever anything shown of `m` changes: the list redraws a
/// message only when its fingerprint differs.
pub fn fingerprint(m: &MessageView) -> u64 {
    let mut h = DefaultHasher::new();
    m.id.hash(&mut h);
    m.author.hash(&mut h);
    m.mine.hash(&mut h);
    m.text.hash(&mut h);
    m.wall_ms.hash(&mut h);
    m.edited.hash(&mut h);
    m.deleted.hash(&mut h);
    m.reply_to.hash(&mut h);
    m.reactions.hash(&mut h);
    m.delivery.label().hash(&mut h);
    m.keeper.hash(&mut h);
    m.file.hash(&mut h);
    m.via_keeper.hash(&mut h);
    h.finish()
}

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
    /// What to show.
    message: MessageView,
    /// The room it is in.
    room: StoredValue<RoomId>,
    /// Where the buttons send their commands.
    sender: Sender,
    /// The room's composer (for Reply and Edit).
    composer: ComposerState,
) -> impl IntoView {
    let MessageView {
        id,
        author,
        mine,
        text,
        wall_ms,
        edited,
        deleted,
        reply_to,
        reactions,
        delivery,
        keeper,
        file,
        via_keeper,
    } = message;
    let has_file = file.is_some();
    let time = times(wall_ms).map(|(short, iso)| view! { <time datetime=iso>{short}</time> });
    let reply = reply_to.map(|(_, quoted)| {
        view! {
            <blockquote class="reply-excerpt">
                <span class="visually-hidden">"In reply to "</span>
                {quoted}
            </blockquote>
        }
    });
    let body = if deleted {
        view! { <p class="text deleted">"This message was deleted"</p> }.into_any()
    } else if let Some(file) = file {
        view! { <FileCard file room sender /> }.into_any()
    } else {
        view! {
            <p class="text">
                {text.clone()}
                {edited.then(|| view! { " " <span class="edited">"(edited)"</span> })}
            </p>
        }
        .into_any()
    };
    let reactions = (!reactions.is_empty()).then(|| {
        view! {
            <ul class="reactions" aria-label="Reactions">
                {reactions
                    .into_iter()
                    .map(|(emoji, count, ours)| {
                        view! { <li class:ours=ours>{emoji} " " {count}</li> }
                    })
                    .collect_view()}
            </ul>
        }
    });
    let delivery_label = (mine && delivery != Delivery::None)
        .then(|| view! { <p class="delivery">{delivery.label()}</p> });
    let via_keeper = via_keeper.map(|k| view! { <p class="via-keeper">"via keeper " {k}</p> });
    let actions = (!deleted).then(|| {
        let id = StoredValue::new(id);
        let author = StoredValue::new(author.clone());
        let text = StoredValue::new(text);
        let react = move |_| {
            sender.send(Command::React {
                room: room.get_value(),
                target: id.get_value(),
                emoji: THUMBS_UP.to_owned(),
            })
        };
        let reply = move |_| {
            author.with_value(|a| {
                text.with_value(|t| composer.reply(id.get_value(), a, t));
            })
        };
        let own = mine.then(|| {
            let edit = move |_| composer.edit(id.get_value(), text.get_value());
            // A file has no text to change.
            let edit = (!has_file).then(|| {
                view! { <button type="button" class="small" on:click=edit>"Edit"</button> }
            });
            let delete = move |_| {
                if composer.mode.get_untracked()
                    == (crate::components::composer::Draft::Edit { id: id.get_value() })
                {
                    composer.reset();
                }
                sender.send(Command::Delete {
                    room: room.get_value(),
                    target: id.get_value(),
                })
            };
            view! {
                {edit}
                <button type="button" class="small danger" on:click=delete>"Delete"</button>
            }
        });
        view! {
            <div class="actions">
                <button type="button" class="small" on:click=reply>"Reply"</button>
                <button type="button" class="small" on:click=react>{format!("React {THUMBS_UP}")}</button>
                {own}
            </div>
        }
    });
    view! {
        <article class="message" class:mine=mine aria-label=format!("Message from {author}")>
            <header class="message-head">
                <span class="author">{author.clone()}</span>
                {keeper.then(|| view! { <span class="tag keeper-badge">"Keeper"</span> })}
                {time}
            </header>
            {reply}
            {body}
            {reactions}
            {delivery_label}
            {via_keeper}
            {actions}
        </article>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message() -> MessageView {
        MessageView {
            id: natter_core::log::EntryId([0xab; 32]),
            author: "Ann".into(),
            mine: true,
            text: "hi".into(),
            wall_ms: 1,
            edited: false,
            deleted: false,
            reply_to: None,
            reactions: Vec::new(),
            delivery: Delivery::Saved,
            keeper: false,
            file: None,
            via_keeper: None,
        }
    }

    #[test]
    fn a_fingerprint_changes_with_what_is_shown() {
        let base = message();
        let same = fingerprint(&base);
        assert_eq!(fingerprint(&message()), same);
        let mut edited = message();
        edited.text = "hello".into();
        edited.edited = true;
        assert_ne!(fingerprint(&edited), same);
        let mut reacted = message();
        reacted.reactions.push((THUMBS_UP.into(), 1, false));
        assert_ne!(fingerprint(&reacted), same);
        let mut delivered = message();
        delivered.delivery = Delivery::Delivered(2);
        assert_ne!(fingerprint(&delivered), same);
        let mut keeper = message();
        keeper.keeper = true;
        assert_ne!(fingerprint(&keeper), same);
        let mut via = message();
        via.via_keeper = Some("Keeper".into());
        assert_ne!(fingerprint(&via), same);
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
