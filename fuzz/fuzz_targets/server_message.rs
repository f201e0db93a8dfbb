//! Server message decoding (what a page reads from a server it may not trust) is total, and
//! a message that decodes re-encodes to text that decodes to the same message.
#![no_main]

use libfuzzer_sys::fuzz_target;
use natter_core::signal::ServerMessage;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(msg) = ServerMessage::decode(text) {
            let again = msg.encode();
            assert_eq!(ServerMessage::decode(&again).as_ref(), Ok(&msg), "round trip");
        }
    }
});
