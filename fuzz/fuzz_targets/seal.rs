//! Opening a sealed signaling blob is total for any key, room, sessions and bytes, and
//! whatever opens is what was sealed: input split as key (32) || room id (32) || from-length
//! (1) || to-length (1) || from || to || box, the text form being tried on the box as well.
#![no_main]

use libfuzzer_sys::fuzz_target;
use natter_core::room::{RoomId, SymmetricKey};
use natter_core::seal::{open, open_text, seal};

#[path = "counter.rs"]
mod counter;
use counter::Counter;

fn take<'a>(data: &mut &'a [u8], n: usize) -> Option<&'a [u8]> {
    let (head, rest) = data.split_at_checked(n)?;
    *data = rest;
    Some(head)
}

fuzz_target!(|data: &[u8]| {
    let mut data = data;
    let Some(key) = take(&mut data, 32).and_then(|k| <[u8; 32]>::try_from(k).ok()) else {
        return;
    };
    let Some(room) = take(&mut data, 32).and_then(|r| <[u8; 32]>::try_from(r).ok()) else {
        return;
    };
    let Some(&[from_len, to_len]) = take(&mut data, 2) else {
        return;
    };
    let (Some(from), Some(to)) = (
        take(&mut data, usize::from(from_len)),
        take(&mut data, usize::from(to_len)),
    ) else {
        return;
    };
    let from = String::from_utf8_lossy(from);
    let to = String::from_utf8_lossy(to);
    let key = SymmetricKey::from_bytes(key);
    let room = RoomId(room);
    let blob = data;

    let _ = open(&key, &room, &from, &to, blob);
    if let Ok(text) = std::str::from_utf8(blob) {
        let _ = open_text(&key, &room, &from, &to, text);
    }
    // The rest as a plaintext: sealing then opening gives it back, and only to its own
    // context (swapping sender and receiver fails unless they are the same).
    if let Ok(sealed) = seal(&key, &mut Counter(blob.len() as u64), &room, &from, &to, blob) {
        assert_eq!(open(&key, &room, &from, &to, &sealed).as_deref(), Ok(blob));
        if from != to {
            assert!(open(&key, &room, &to, &from, &sealed).is_err(), "reflected box opened");
        }
    }
});
