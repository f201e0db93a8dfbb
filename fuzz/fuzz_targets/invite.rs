//! Invite parsing is total: any text yields an invite or an error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use natter_core::room::Invite;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(invite) = Invite::parse(text) {
            // A parsed invite's own payload parses back to the same payload.
            let again = Invite::from_payload(&invite.to_payload());
            assert!(again.is_ok_and(|i| i.to_payload() == invite.to_payload()));
        }
        let _ = Invite::from_payload(text);
    }
});
