//! Peer signal decoding (the plaintext of a sealed blob, chosen by any room member) is
//! total, and a signal that decodes re-encodes to bytes that decode to the same signal.
#![no_main]

use libfuzzer_sys::fuzz_target;
use natter_core::peer_signal::PeerSignal;

fuzz_target!(|data: &[u8]| {
    if let Some(signal) = PeerSignal::decode(data) {
        assert_eq!(PeerSignal::decode(&signal.encode()), Some(signal), "round trip");
    }
});
