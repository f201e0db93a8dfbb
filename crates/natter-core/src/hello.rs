//! The DataChannel handshake (being written). Interface:
//!
//! `Hello { identity, display_name, signature }`, signed over the room id, both DTLS
//! fingerprints and both session ids; `Hello::to_bytes` / `Hello::from_bytes` (total).
