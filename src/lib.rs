//! The Natter web app: a Leptos single-page app, client-side rendered and built by Trunk.
//!
//! The protocol lives in `natter-core`; this crate only drives it from browser events and
//! renders its state. Components are thin and hold no protocol logic.

pub mod app;
pub mod components;
pub mod server;
// The WebSocket client for the signaling server: reconnects, heartbeats and re-joins rooms,
// and reports what happens as events (module docs in the file).
pub mod signaling;
// Persistent rooms, identity and entries in IndexedDB; ephemeral rooms never touch it.
pub mod storage;
