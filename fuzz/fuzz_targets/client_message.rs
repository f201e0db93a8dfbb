//! Client message decoding (what the signaling server reads from strangers) is total, and a
//! message that decodes re-encodes to text that decodes to the same message.
#![no_main]

use libfuzzer_sys::fuzz_target;
use natter_core::signal::ClientMessage;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(msg) = ClientMessage::decode(text) {
            let again = msg.encode();
            assert_eq!(ClientMessage::decode(&again).as_ref(), Ok(&msg), "round trip");
        }
    }
});
