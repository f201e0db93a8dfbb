//! Natter's protocol, with no IO.
//!
//! This crate holds everything two Natter peers must agree on, as plain data and
//! deterministic state machines. It never touches the network, the disk or the clock and
//! never draws from a global random number generator: the caller passes the current time
//! (`now_ms`) and an RNG into the functions that need them. The same code therefore runs in
//! the browser (driven by `natter`'s runtime), in native tests, and in a simulated network
//! of many peers.
//!
//! | module | concern |
//! | --- | --- |
//! | [`identity`] | Ed25519 identities and safety numbers |
//! | [`blob`] | attachments' chunks and the Merkle root that verifies each on arrival |
//! | [`fetch`] | pulling one attachment's chunks from every peer that has them |
//! | [`blobwire`] | frames of the attachments channel |
//! | [`room`] | room secrets, room ids, invite links, passwords, derived keys |
//! | [`seal`] | AEAD sealing of signaling blobs |
//! | [`signal`] | the JSON messages between clients and the signaling server |
//! | [`peer_signal`] | the connection set-up (SDP, ICE) one peer seals for another |
//! | [`log`] | signed per-author append-only logs |
//! | [`hello`] | the DataChannel handshake binding an identity to a connection |
//! | [`hex`] | the text form of ids and keys |
//! | [`joincode`] | short join codes: a room's invite handed over a PAKE |
//! | [`keeper`] | a room's invite sealed to an always-online keeper, and its answer |
//! | [`retention`] | how much of a room's history a keeper holds, and what it drops |
//! | [`wire`] | binary frames between peers |
//! | [`sync`] | the per-room sync state machine |
//! | [`node`] | the whole peer protocol of one device: rooms, sessions, handshakes, sync |
//! | [`vault`] | the app lock: records sealed under a passphrase-derived key |

#![warn(missing_docs)]

pub mod blob;
pub mod blobwire;
pub mod fetch;
pub mod hello;
pub mod hex;
pub mod identity;
pub mod joincode;
pub mod keeper;
pub mod log;
pub mod node;
pub mod peer_signal;
pub mod retention;
pub mod room;
pub mod seal;
pub mod signal;
pub mod sync;
pub mod vault;
pub mod wire;

#[cfg(feature = "sim")]
pub mod node_sim;
#[cfg(feature = "sim")]
pub mod sim;
