//! Hello decoding is total, and a hello that decodes re-encodes to the same bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use natter_core::hello::Hello;

fuzz_target!(|data: &[u8]| {
    if let Ok(h) = Hello::from_bytes(data) {
        assert_eq!(h.to_bytes(), data, "decoding is canonical");
    }
});
