//! Who is in the room and whether they are who they say.
//!
//! Display names are self-chosen, so each peer also shows the safety number of their key and
//! ours: comparing it out of band (in person, on a call) and marking the peer verified is
//! what protects against someone posing as them. A changed key for a verified name is shown
//! as an alert.

use leptos::prelude::*;
use natter_core::room::RoomId;

use crate::components::{use_sender, use_state};
use crate::state::{Command, PeerView};

/// The words of the warning shown when a verified peer's key changed.
pub fn key_changed_warning(name: &str) -> String {
    format!("Warning: {name}'s safety number has changed. Their key is not the one you verified.")
}

/// The line under the list for people known from the history but not listed.
pub fn more_peers_text(n: usize) -> String {
    match n {
        1 => "And 1 more person known from the history.".to_owned(),
        n => format!("And {n} more people known from the history."),
    }
}

/// The Peers panel.
#[component]
pub fn Peers(
    /// The room shown.
    room: RoomId,
) -> impl IntoView {
    let state = use_state();
    let sender = use_sender();
    let room = StoredValue::new(room);
    let peers = Memo::new(move |_| {
        state
            .room
            .with(|r| r.as_ref().map(|r| r.peers.clone()).unwrap_or_default())
    });
    let empty = move || peers.with(Vec::is_empty);
    let more = Memo::new(move |_| state.room.with(|r| r.as_ref().map_or(0, |r| r.more_peers)));
    view! {
        <section class="panel peers" aria-label="Peers">
            <h3>"Peers"</h3>
            {move || {
                empty()
                    .then(|| {
                        view! {
                            <p class="muted">
                                "Nobody else is here yet. Share the invite link to bring people in."
                            </p>
                        }
                    })
            }}
            <ul class="peer-list">
                <For
                    each=move || peers.get().into_iter().enumerate()
                    key=|(i, p)| {
                        (
                            *i,
                            p.key,
                            p.name.clone(),
                            p.presence.label(),
                            p.verified,
                            p.key_changed,
                            p.safety_number.clone(),
                            p.keeper,
                        )
                    }
                    children=move |(_, peer)| view! { <Peer peer room sender=sender /> }
                />
            </ul>
            {move || {
                let n = more.get();
                (n > 0).then(|| view! { <p class="muted">{more_peers_text(n)}</p> })
            }}
        </section>
    }
}

/// One peer.
#[component]
fn Peer(
    peer: PeerView,
    room: StoredValue<RoomId>,
    sender: crate::components::Sender,
) -> impl IntoView {
    let PeerView {
        key,
        name,
        presence,
        safety_number,
        verified,
        key_changed,
        keeper,
        ..
    } = peer;
    let label = presence.label();
    let warning = key_changed.then(|| {
        view! { <p role="alert" class="key-warning">{key_changed_warning(&name)}</p> }
    });
    let number = (!safety_number.is_empty()).then(|| {
        view! {
            <div class="safety">
                <p class="safety-label">"Safety number"</p>
                <p class="safety-number">
                    {safety_number
                        .into_iter()
                        .map(|group| view! { <span>{group}</span> " " })
                        .collect_view()}
                </p>
            </div>
        }
    });
    let verification = if verified {
        Some(view! { <p class="verified">"Verified"</p> }.into_any())
    } else if let Some(key) = key {
        let key = StoredValue::new(key);
        let mark = move |_| {
            sender.send(Command::MarkVerified {
                room: room.get_value(),
                key: key.get_value(),
            })
        };
        Some(
            view! {
                <button type="button" class="secondary" on:click=mark>
                    {format!("Mark {name} as verified")}
                </button>
            }
            .into_any(),
        )
    } else {
        None
    };
    view! {
        <li class="peer">
            <p class="peer-line">
                <span class="peer-name">{name.clone()}</span>
                " "
                {keeper.then(|| view! { <span class="tag keeper-badge">"Keeper"</span> " " })}
                <span class=format!("presence presence-{label}")>{label}</span>
            </p>
            {warning}
            {number}
            {verification}
        </li>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_people_not_listed_are_counted_in_words() {
        assert_eq!(
            more_peers_text(1),
            "And 1 more person known from the history."
        );
        assert_eq!(
            more_peers_text(2950),
            "And 2950 more people known from the history."
        );
    }
}
