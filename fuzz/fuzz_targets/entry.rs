//! Entry decoding is total and canonical; verification of a decoded entry never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use natter_core::log::Record;

fuzz_target!(|data: &[u8]| {
    if let Ok(rec) = Record::from_bytes(data) {
        assert_eq!(rec.entry.encode(), data, "decoding is canonical");
        let _ = rec.verify(&rec.entry.room_id);
    }
});
