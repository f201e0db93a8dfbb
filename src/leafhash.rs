//! Chunks' leaf hashes by the browser's own SHA-256 (WebCrypto).
//!
//! # What
//!
//! Every chunk of a file is checked against its file's root before it is stored or served
//! ([`natter_core::blob`]); the costly part is the leaf hash, SHA-256 over the chunk. Here
//! it is computed with `crypto.subtle.digest`: [`start`] as a chunk's frame arrives on the
//! files channel (so the hashes of frames still queued run while the page works on
//! earlier ones), [`start_of`] for chunks read to be served, and [`of`] for a chunk cut
//! from the user's own file.
//! The hash enters the node beside the bytes (`leaf` in natter-core's `Input::FileFrame`
//! and `Input::ChunkRead`), and natter-core follows the proof from it.
//!
//! # Why
//!
//! The browser's SHA-256 is native, with the processor's SHA instructions where it has
//! them, and many times faster than SHA-256 in wasm, which took most of a core during a
//! large download (the README's files benchmark has the figures).
//!
//! Nothing here can make a chunk pass that natter-core would refuse: the hash is of the
//! exact bytes natter-core is handed ([`natter_core::blobwire::chunk_span`]), and every
//! error (no WebCrypto outside a secure context, a refused call) leaves `leaf` `None`, so
//! natter-core hashes the chunk itself.

use js_sys::{ArrayBuffer, Promise, Uint8Array};
use wasm_bindgen_futures::JsFuture;

/// WebCrypto's name for the hash.
const ALGORITHM: &str = "SHA-256";

/// A leaf hash under way.
#[derive(Debug, Clone)]
pub struct PendingLeaf(Promise);

impl PendingLeaf {
    /// The leaf hash, or `None` if WebCrypto failed.
    pub async fn finish(self) -> Option<[u8; 32]> {
        let digest: ArrayBuffer = JsFuture::from(self.0).await.ok()?.into();
        Uint8Array::new(&digest).to_vec().try_into().ok()
    }
}

/// Starts the leaf hash of the chunk in `frame`'s bytes `start..end` (the frame as
/// received, in JS memory); `None` without WebCrypto.
pub fn start(frame: &ArrayBuffer, span: std::ops::Range<usize>) -> Option<PendingLeaf> {
    let n = u32::try_from(span.len()).ok()?;
    let chunk =
        Uint8Array::new_with_byte_offset_and_length(frame, u32::try_from(span.start).ok()?, n);
    let input = prefixed(n);
    input.set(&chunk, 1);
    digest(&input)
}

/// Starts the leaf hash of `chunk` (in wasm memory); `None` without WebCrypto.
pub fn start_of(chunk: &[u8]) -> Option<PendingLeaf> {
    let input = prefixed(u32::try_from(chunk.len()).ok()?);
    input.subarray(1, input.length()).copy_from(chunk);
    digest(&input)
}

/// The leaf hash of `chunk` (in wasm memory); `None` without WebCrypto.
pub async fn of(chunk: &[u8]) -> Option<[u8; 32]> {
    start_of(chunk)?.finish().await
}

/// A buffer of `n` + 1 bytes, zeroed: its first is the leaf prefix (0, see
/// [`natter_core::blob`]), the chunk goes after it.
fn prefixed(n: u32) -> Uint8Array {
    Uint8Array::new_with_length(n.saturating_add(1))
}

fn digest(input: &Uint8Array) -> Option<PendingLeaf> {
    let subtle = web_sys::window()?.crypto().ok()?.subtle();
    subtle
        .digest_with_str_and_buffer_source(ALGORITHM, input)
        .ok()
        .map(PendingLeaf)
}

#[cfg(all(test, target_arch = "wasm32"))]
mod tests {
    // `expect` here states what the test takes as given: a panic is the test failing.
    use natter_core::blob::leaf_hash;
    use wasm_bindgen_test::wasm_bindgen_test;

    use super::*;

    wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

    #[wasm_bindgen_test]
    async fn webcrypto_leaf_hashes_are_natter_cores() {
        for chunk in [vec![], vec![7u8], (0..65_536u32).map(|i| i as u8).collect()] {
            assert_eq!(of(&chunk).await, Some(leaf_hash(&chunk)));
            let mut frame = vec![9u8; 5];
            frame.extend_from_slice(&chunk);
            let buf = Uint8Array::from(&frame[..]).buffer();
            let pending = start(&buf, 5..frame.len()).expect("WebCrypto");
            assert_eq!(pending.finish().await, Some(leaf_hash(&chunk)));
        }
    }
}
