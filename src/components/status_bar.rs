//! The always-visible connection status line.

use leptos::prelude::*;

/// What the app knows about its server connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerState {
    /// Still asking.
    Checking,
    /// The server answered; `ice_servers` is how many ICE servers it configured.
    Reachable {
        /// Number of ICE servers the server configured.
        ice_servers: usize,
    },
    /// The server could not be reached; the text says why.
    Unreachable(String),
}

impl ServerState {
    /// The words shown to the user.
    pub fn describe(&self) -> String {
        match self {
            ServerState::Checking => "Connecting to the server…".to_owned(),
            ServerState::Reachable { .. } => "Server reachable".to_owned(),
            ServerState::Unreachable(why) => why.clone(),
        }
    }
}

/// A polite live region announcing the server state.
#[component]
pub fn StatusBar(state: ReadSignal<ServerState>) -> impl IntoView {
    view! {
        <footer class="status-bar">
            <p role="status" aria-live="polite" aria-label="Connection status" data-testid="server-status">
                {move || state.get().describe()}
            </p>
        </footer>
    }
}
