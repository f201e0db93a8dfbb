//! The room view: the conversation (messages, typing, composer) beside the Peers, Invite
//! and keeper panels.
//!
//! The route names the room; the runtime answers by putting it in `UiState.room`. Until it
//! matches the route the view says the room is opening, and when the runtime has nothing for
//! it the view says so and links home.

use leptos::prelude::*;
use natter_core::room::RoomId;

use crate::components::composer::{Composer, Drafts};
use crate::components::invite::Invite;
use crate::components::keeper_panel::KeeperPanel;
use crate::components::message_list::MessageList;
use crate::components::name_form::NameForm;
use crate::components::password_hint::PasswordHint;
use crate::components::peers::Peers;
use crate::components::room_actions::RoomActions;
use crate::components::room_files::RoomFiles;
use crate::components::use_state;

/// What the view can show for the routed room.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shown {
    /// The runtime has not loaded yet, or is still switching rooms.
    Opening,
    /// The runtime does not know this room.
    Missing,
    /// The room is open.
    Open,
}

/// "<name> is typing…" for each peer typing.
fn typing_lines(names: &[String]) -> Vec<String> {
    names.iter().map(|n| format!("{n} is typing…")).collect()
}

/// The catch-up progress line, when entries are still missing.
fn catch_up_text(missing: u64) -> Option<String> {
    (missing > 0).then(|| format!("Receiving history: {missing} entries to go"))
}

/// The room view for room `id`.
#[component]
pub fn Room(
    /// The room id from the route.
    id: RoomId,
) -> impl IntoView {
    let state = use_state();
    let route_id = id;
    let shown = Memo::new(move |_| {
        let ready = state.ready.get();
        state.room.with(|r| match r {
            Some(r) if r.id == route_id => Shown::Open,
            _ if !ready => Shown::Opening,
            None => Shown::Missing,
            Some(_) => Shown::Opening,
        })
    });
    move || match shown.get() {
        Shown::Opening => view! { <p class="muted">"Opening the room…"</p> }.into_any(),
        Shown::Missing => view! {
            <section class="card missing">
                <p>"This room is not on this device."</p>
                <p><a href="#/">"Home"</a></p>
            </section>
        }
        .into_any(),
        Shown::Open => view! { <OpenRoom id /> }.into_any(),
    }
}

/// The open room.
#[component]
fn OpenRoom(id: RoomId) -> impl IntoView {
    let state = use_state();
    provide_context(expect_context::<Drafts>().composer_for(id));
    let name = Memo::new(move |_| {
        state
            .room
            .with(|r| r.as_ref().map(|r| r.name.clone()).unwrap_or_default())
    });
    let ephemeral =
        Memo::new(move |_| state.room.with(|r| r.as_ref().is_some_and(|r| r.ephemeral)));
    let missing = Memo::new(move |_| state.room.with(|r| r.as_ref().map_or(0, |r| r.missing)));
    let typing = Memo::new(move |_| {
        state.room.with(|r| {
            r.as_ref()
                .map(|r| {
                    r.peers
                        .iter()
                        .filter(|p| p.typing)
                        .map(|p| p.name.clone())
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default()
        })
    });
    view! {
        <div class="room">
            <section class="conversation" aria-labelledby="room-title">
                <div class="room-head">
                    <h2 id="room-title">{move || name.get()}</h2>
                    {move || {
                        ephemeral
                            .get()
                            .then(|| {
                                view! {
                                    <p class="tag">"Ephemeral: nothing is kept on this device"</p>
                                }
                            })
                    }}
                </div>
                <PasswordHint room=id />
                <p class="catch-up" aria-live="polite">
                    {move || catch_up_text(missing.get())}
                </p>
                <MessageList room=id />
                <p class="typing" aria-live="polite">
                    {move || {
                        typing_lines(&typing.get())
                            .into_iter()
                            .map(|line| view! { <span>{line}</span> " " })
                            .collect_view()
                    }}
                </p>
                <Composer room=id />
            </section>
            <aside class="side">
                <Peers room=id />
                <Invite room=id />
                <KeeperPanel room=id />
                <RoomFiles />
                <section class="panel" aria-label="Your name">
                    <NameForm label="Your name" id="room-my-name" />
                </section>
                <RoomActions room=id />
            </aside>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typing_lines_name_each_typist() {
        assert!(typing_lines(&[]).is_empty());
        assert_eq!(
            typing_lines(&["Ann".to_owned(), "Bo".to_owned()]),
            vec!["Ann is typing…".to_owned(), "Bo is typing…".to_owned()]
        );
    }

    #[test]
    fn catch_up_is_only_shown_while_entries_are_missing() {
        assert_eq!(catch_up_text(0), None);
        assert_eq!(
            catch_up_text(12),
            Some("Receiving history: 12 entries to go".to_owned())
        );
    }
}
