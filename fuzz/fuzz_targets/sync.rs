//! The sync machine survives any sequence of frames from a peer: it never panics, and it
//! stores nothing from a peer it disconnected for that frame.
#![no_main]

use libfuzzer_sys::fuzz_target;
use natter_core::identity::Identity;
use natter_core::room::RoomId;
use natter_core::sync::{Input, Output, PeerId, RoomSync, SyncConfig};

fuzz_target!(|data: &[u8]| {
    let mut s = RoomSync::new(
        RoomId([1; 32]),
        Identity::from_secret_bytes(&[2; 32]),
        SyncConfig::default(),
    );
    let _ = s.handle(0, Input::PeerConnected(PeerId(1)));
    // Split the input into frames at 0xfe bytes.
    for (t, chunk) in data.split(|b| *b == 0xfe).enumerate() {
        let _ = s.handle(
            t as u64,
            Input::Frame {
                peer: PeerId(1),
                bytes: chunk.to_vec(),
            },
        );
        let outs = s.drain_outputs();
        let disconnected = outs.iter().any(|o| matches!(o, Output::Disconnect { .. }));
        let stored = outs.iter().any(|o| matches!(o, Output::Store(_)));
        assert!(!(disconnected && stored), "stored from a rejected frame");
        if disconnected {
            break;
        }
    }
});
