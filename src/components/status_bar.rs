//! The always-visible connection status line.
//!
//! One polite live region says, in words, whether the server can introduce us to peers and
//! how many peers are connected right now, so a screen-reader user hears changes without
//! having to look for them. The wording is a pure function ([`status_text`]) so it is tested
//! natively.

use leptos::prelude::*;

use crate::state::{ServerState, SignalingState, UiState};

/// The status line's words.
///
/// While no room is joined (signaling idle, no peers) only the server check is reported:
/// there is nobody to count. Otherwise it reads `"<server part> · <peers part>"`.
pub fn status_text(server: &ServerState, signaling: &SignalingState, peers: usize) -> String {
    let server_part = match signaling {
        SignalingState::Idle if peers == 0 => return server.describe(),
        SignalingState::Idle => "Not connected to the server".to_owned(),
        SignalingState::Connecting => "Connecting to the server…".to_owned(),
        SignalingState::Connected => "Connected to the server".to_owned(),
        SignalingState::Reconnecting { in_secs: 0, .. } => "Reconnecting to the server…".to_owned(),
        SignalingState::Reconnecting { in_secs, .. } => {
            format!("Reconnecting to the server in {in_secs} s")
        }
    };
    let peers_part = match peers {
        0 => "no peers connected".to_owned(),
        1 => "1 peer connected".to_owned(),
        n => format!("{n} peers connected"),
    };
    format!("{server_part} · {peers_part}")
}

/// A polite live region announcing the connection state.
#[component]
pub fn StatusBar() -> impl IntoView {
    let state = expect_context::<UiState>();
    let peers = move || {
        state
            .rooms
            .with(|rooms| rooms.iter().map(|r| r.peers_online).sum::<usize>())
    };
    let text = move || {
        let server = state.server.get();
        let signaling = state.signaling.get();
        status_text(&server, &signaling, peers())
    };
    view! {
        <footer class="status-bar">
            <p role="status" aria-live="polite" aria-label="Connection status" data-testid="server-status">
                {text}
            </p>
        </footer>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn before_anything_is_known_the_line_says_it_is_connecting() {
        let text = status_text(&ServerState::Checking, &SignalingState::Idle, 0);
        assert_eq!(text, "Connecting to the server…");
    }

    #[test]
    fn with_no_room_joined_only_the_server_check_is_shown() {
        let reachable = ServerState::Reachable { ice_servers: 0 };
        assert_eq!(
            status_text(&reachable, &SignalingState::Idle, 0),
            "Server reachable"
        );
        let down = ServerState::Unreachable("The Natter server is unreachable: x".into());
        assert_eq!(
            status_text(&down, &SignalingState::Idle, 0),
            "The Natter server is unreachable: x"
        );
    }

    #[test]
    fn connected_lines_count_peers_in_words() {
        let s = ServerState::Reachable { ice_servers: 0 };
        let c = SignalingState::Connected;
        assert_eq!(
            status_text(&s, &c, 0),
            "Connected to the server · no peers connected"
        );
        assert_eq!(
            status_text(&s, &c, 1),
            "Connected to the server · 1 peer connected"
        );
        assert_eq!(
            status_text(&s, &c, 3),
            "Connected to the server · 3 peers connected"
        );
    }

    #[test]
    fn a_lost_connection_says_when_it_retries() {
        let s = ServerState::Reachable { ice_servers: 0 };
        let r = SignalingState::Reconnecting {
            in_secs: 3,
            reason: "closed".into(),
        };
        assert_eq!(
            status_text(&s, &r, 2),
            "Reconnecting to the server in 3 s · 2 peers connected"
        );
        let now = SignalingState::Reconnecting {
            in_secs: 0,
            reason: "closed".into(),
        };
        assert_eq!(
            status_text(&s, &now, 0),
            "Reconnecting to the server… · no peers connected"
        );
    }

    #[test]
    fn peers_still_connected_without_signaling_are_counted() {
        let s = ServerState::Reachable { ice_servers: 0 };
        assert_eq!(
            status_text(&s, &SignalingState::Idle, 1),
            "Not connected to the server · 1 peer connected"
        );
    }
}
