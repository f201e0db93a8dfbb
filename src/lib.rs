//! The Natter web app: a Leptos single-page app, client-side rendered and built by Trunk.
//!
//! The protocol lives in `natter-core`; this crate only drives it from browser events and
//! renders its state. Components are thin and hold no protocol logic.

pub mod app;
pub mod components;
// Embedding in another site's frame: the embed view's options and the postMessage API.
pub mod embed;
// How files are shown, and which are fetched on sight.
pub mod files;
// Desktop notifications through the browser (permission asked only from a user action).
pub mod notify;
// One join-code exchange on a socket of its own (module docs in the file).
#[cfg(target_arch = "wasm32")]
pub mod joincode;
// Asking a keeper to keep a room available: its mailbox exchange (module docs in the file).
pub mod keeper;
// Hash routes: which view the address shows.
pub mod route;
// One RTCPeerConnection and its DataChannel per remote peer (module docs in the file).
#[cfg(target_arch = "wasm32")]
pub mod rtc;
// The event loop that drives natter-core from browser events (module docs in the file).
#[cfg(target_arch = "wasm32")]
pub mod runtime;
// The service worker: offline app shell and "new version" prompts (module docs in the file).
#[cfg(target_arch = "wasm32")]
pub mod pwa;
pub mod server;
// Entry signatures verified by the browser's WebCrypto Ed25519 (module docs in the file).
#[cfg(target_arch = "wasm32")]
pub mod sigcheck;
// Chunks' leaf hashes by the browser's WebCrypto SHA-256 (module docs in the file).
#[cfg(target_arch = "wasm32")]
pub mod leafhash;
// How often the views may be refreshed (a share of the time, with a burst in hand).
pub mod pacing;
// Safety numbers for the peers shown, each computed once.
pub mod safety;
// What the views show and what they may ask for.
pub mod state;
// The WebSocket client for the signaling server: reconnects, heartbeats and re-joins rooms,
// and reports what happens as events (module docs in the file).
pub mod signaling;
// What the views show of the node's state: the room list and the open room.
pub mod view;
// Persistent rooms, identity and entries in IndexedDB; ephemeral rooms never touch it.
pub mod storage;
// The colour theme on the page's root element.
pub mod theme;
// Whether the page is on screen, as a signal.
pub mod visibility;
// Others' entries waiting to be written to IndexedDB, batched while a write is under way.
pub mod write_queue;
// Helpers for the tests (browser and native).
#[cfg(test)]
mod test_support;
