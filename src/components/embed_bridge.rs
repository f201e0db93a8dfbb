//! The `postMessage` bridge of the embed view: commands from the parent page in, events out.
//! The API and its rules (who may send, who receives) are documented in [`crate::embed`];
//! this component only wires them to the UI state and the command queue.

use std::collections::HashSet;

use leptos::prelude::*;
use natter_core::log::EntryId;
use serde_json::Value;

use crate::components::{use_sender, use_state};
use crate::embed::{
    connection_event, message_event, origin_allowed, parent_origin, parse_command, peer_event,
    Inbound,
};
use crate::state::{Command, PeerPresence, SignalingState};

fn info(text: &str) {
    web_sys::console::info_1(&text.into());
}

/// Whether the message came from the window that embeds this page.
fn from_parent(ev: &web_sys::MessageEvent) -> bool {
    let parent = web_sys::window().and_then(|w| w.parent().ok().flatten());
    match (ev.source(), parent) {
        (Some(source), Some(parent)) => js_sys::Object::is(&source, &parent),
        _ => false,
    }
}

/// Listens for commands and posts events; renders nothing.
#[component]
pub fn EmbedBridge() -> impl IntoView {
    let state = use_state();
    let sender = use_sender();

    let listener = window_event_listener(leptos::ev::message, move |ev| {
        let origin = ev.origin();
        let allowed = state.embed_origins.get_untracked();
        if !from_parent(&ev) || !origin_allowed(&origin, &allowed) {
            info(&format!(
                "embed: ignored a message from {origin} (not an allowed parent)"
            ));
            return;
        }
        let data = js_sys::JSON::stringify(&ev.data())
            .ok()
            .and_then(|s| s.as_string())
            .and_then(|s| serde_json::from_str::<Value>(&s).ok())
            .unwrap_or(Value::Null);
        match parse_command(&data) {
            Some(Inbound::Send(text)) => {
                match state.room.with_untracked(|r| r.as_ref().map(|r| r.id)) {
                    Some(room) => sender.send(Command::Post {
                        room,
                        text,
                        reply_to: None,
                    }),
                    None => info("embed: no room is open to send to"),
                }
            }
            Some(Inbound::SetName(name)) => sender.send(Command::SetName(name)),
            None => {}
        }
    });
    on_cleanup(move || listener.remove());

    let post = move |event: Value| {
        let Some(origin) = parent_origin() else {
            return;
        };
        if !origin_allowed(&origin, &state.embed_origins.get_untracked()) {
            return;
        }
        let parent = web_sys::window().and_then(|w| w.parent().ok().flatten());
        if let (Some(parent), Ok(value)) = (parent, js_sys::JSON::parse(&event.to_string())) {
            // A parent that went away cannot be told; nothing else depends on it.
            let _ = parent.post_message(&value, &origin);
        }
    };

    // Messages from others, each once.
    let seen = StoredValue::new(HashSet::<EntryId>::new());
    Effect::new(move |_| {
        state.room.with(|room| {
            let Some(room) = room else { return };
            for m in room.messages.iter().filter(|m| !m.mine && !m.deleted) {
                if seen.try_update_value(|s| s.insert(m.id)).unwrap_or(false) {
                    post(message_event(&m.id.to_hex(), &m.author, &m.text));
                }
            }
        });
    });

    // Peers coming online and leaving.
    let online = StoredValue::new(HashSet::<String>::new());
    Effect::new(move |_| {
        let now: HashSet<String> = state.room.with(|r| {
            r.iter()
                .flat_map(|r| r.peers.iter())
                .filter(|p| p.presence == PeerPresence::Online || p.presence == PeerPresence::Away)
                .map(|p| p.name.clone())
                .collect()
        });
        let before = online.get_value();
        for name in now.difference(&before) {
            post(peer_event(name, true));
        }
        for name in before.difference(&now) {
            post(peer_event(name, false));
        }
        online.set_value(now);
    });

    // The connection: the server's state and how many peers are connected.
    let connection = Memo::new(move |_| {
        let server = match state.signaling.get() {
            SignalingState::Connected => "connected",
            SignalingState::Idle | SignalingState::Connecting => "connecting",
            SignalingState::Reconnecting { .. } => "offline",
        };
        let peers = state.room.with(|r| {
            r.as_ref().map_or(0, |r| {
                r.peers
                    .iter()
                    .filter(|p| matches!(p.presence, PeerPresence::Online | PeerPresence::Away))
                    .count()
            })
        });
        (server, peers)
    });
    Effect::new(move |_| {
        let (server, peers) = connection.get();
        post(connection_event(server, peers));
    });
}
