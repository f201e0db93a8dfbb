//! Attachments-channel frame decoding is total, and a frame that decodes re-encodes to the
//! same bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use natter_core::blobwire::BlobFrame;

fuzz_target!(|data: &[u8]| {
    if let Ok(frame) = BlobFrame::decode(data) {
        assert_eq!(frame.encode(), data, "decoding is canonical");
    }
});
