//! Entry signatures verified by the browser's own Ed25519 (WebCrypto).
//!
//! # What
//!
//! Before a frame of entries goes to natter-core, the runtime starts the frame's signature
//! checks ([`natter_core::sync::signature_checks`]: one per author's run in the frame, whose
//! signed top vouches for the entries below it) with [`WebVerifier::start`], which issues
//! them all at once through `crypto.subtle.verify("Ed25519", …)`, waits for the results and
//! tells the room's sync machine which ones passed
//! ([`natter_core::sync::RoomSync::accept_checked`]). natter-core
//! still does every other check, including the strict ones a plain Ed25519 verifier skips,
//! so every peer reaches the same verdict on every entry whichever verifier ran (see
//! [`natter_core::log::SignatureCheck`]).
//!
//! # Why
//!
//! WebCrypto verifies natively: about 56 µs an entry in Chromium, against 112 µs for
//! ed25519-dalek in wasm at opt-level 3 and 186 µs at the release build's "s". Chromium does
//! that work on the page's thread, so the gain is speed, not a free main thread.
//!
//! Nothing here can make an entry valid that natter-core would reject: an entry WebCrypto
//! refuses, and every error (a browser without Ed25519 in WebCrypto, a key it will not
//! import), simply goes unreported, and natter-core verifies that entry itself.

use std::collections::HashMap;

use js_sys::{Array, Promise, Uint8Array};
use natter_core::log::EntryId;
use wasm_bindgen::JsValue;
use wasm_bindgen_futures::JsFuture;
use web_sys::{CryptoKey, SubtleCrypto};

/// WebCrypto's name for the algorithm.
const ALGORITHM: &str = "Ed25519";

/// Imported keys kept at most (a key per author; beyond this, entries are verified by
/// natter-core).
const MAX_KEYS: usize = 4096;

/// Verifies entry signatures with WebCrypto, keeping each author's imported key.
#[derive(Debug)]
pub struct WebVerifier {
    /// `None` when the browser has no WebCrypto or no Ed25519 in it.
    subtle: Option<SubtleCrypto>,
    keys: HashMap<[u8; 32], CryptoKey>,
}

impl Default for WebVerifier {
    fn default() -> Self {
        Self::new()
    }
}

impl WebVerifier {
    /// A verifier using the page's `crypto.subtle` (none outside a secure context).
    pub fn new() -> Self {
        let subtle = web_sys::window()
            .and_then(|w| w.crypto().ok())
            .map(|c| c.subtle());
        WebVerifier {
            subtle,
            keys: HashMap::new(),
        }
    }

    /// Whether checks can be run at all (false once the browser turned out to lack Ed25519).
    pub fn available(&self) -> bool {
        self.subtle.is_some()
    }

    /// Starts checking the signatures of the entries in `frame` (importing authors' keys
    /// first if needed) and returns the checks under way, or `None` when there is nothing
    /// to check.
    pub async fn start(&mut self, frame: &[u8]) -> Option<Pending> {
        let subtle = self.subtle.clone()?;
        let checks = natter_core::sync::signature_checks(frame);
        if checks.is_empty() {
            return None;
        }
        for check in &checks {
            if !self.keys.contains_key(&check.author) && self.keys.len() < MAX_KEYS {
                match import(&subtle, &check.author).await {
                    Ok(key) => {
                        self.keys.insert(check.author, key);
                    }
                    Err(e) if is_unsupported(&e) => {
                        // No Ed25519 in this browser's WebCrypto: natter-core does it all.
                        self.subtle = None;
                        return None;
                    }
                    // This key alone was refused (natter-core will judge its entries).
                    Err(_) => {}
                }
            }
        }
        let mut ids = Vec::with_capacity(checks.len());
        let promises = Array::new();
        for check in &checks {
            let Some(key) = self.keys.get(&check.author) else {
                continue;
            };
            if let Ok(p) = subtle.verify_with_str_and_u8_array_and_u8_array(
                ALGORITHM,
                key,
                &check.signature,
                &check.message,
            ) {
                ids.push(check.id);
                promises.push(&p);
            }
        }
        (!ids.is_empty()).then(|| Pending {
            ids,
            all: Promise::all(&promises),
        })
    }
}

/// Signature checks under way (see [`WebVerifier::start`]).
#[derive(Debug)]
pub struct Pending {
    ids: Vec<EntryId>,
    all: Promise,
}

impl Pending {
    /// Waits for the checks and returns the ids of the entries whose signatures verified
    /// (none if WebCrypto failed: natter-core then checks them all).
    pub async fn passed(self) -> Vec<EntryId> {
        let Ok(results) = JsFuture::from(self.all).await else {
            return Vec::new();
        };
        let results = Array::from(&results);
        self.ids
            .into_iter()
            .zip(results.iter())
            .filter(|(_, ok)| ok.as_bool() == Some(true))
            .map(|(id, _)| id)
            .collect()
    }
}

async fn import(subtle: &SubtleCrypto, author: &[u8; 32]) -> Result<CryptoKey, JsValue> {
    let data = Uint8Array::from(&author[..]);
    let usages = Array::of1(&JsValue::from_str("verify"));
    let promise = subtle.import_key_with_str("raw", &data, ALGORITHM, false, &usages)?;
    let key = JsFuture::from(promise).await?;
    Ok(CryptoKey::from(key))
}

/// Whether an import failed because the browser does not know the algorithm.
fn is_unsupported(e: &JsValue) -> bool {
    js_sys::Reflect::get(e, &JsValue::from_str("name"))
        .ok()
        .and_then(|n| n.as_string())
        .is_some_and(|n| n == "NotSupportedError")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::signed_text;
    use natter_core::log::Record;
    use wasm_bindgen_test::*;

    wasm_bindgen_test_configure!(run_in_browser);

    #[wasm_bindgen_test]
    async fn webcrypto_passes_good_signatures_and_not_forged_ones() -> Result<(), String> {
        let mut verifier = WebVerifier::new();
        if !verifier.available() {
            return Err("no WebCrypto in this page".into());
        }
        let good = [signed_text(1, 1, "one")?, signed_text(2, 1, "two")?];
        let mut forged = signed_text(1, 2, "three")?.entry;
        forged.signature.0[40] ^= 1;
        let forged = Record::from_entry(forged);
        let frame =
            natter_core::wire::Frame::Push(vec![good[0].clone(), good[1].clone(), forged]).encode();
        let pending = verifier.start(&frame).await.ok_or("no checks started")?;
        let passed = pending.passed().await;
        if !verifier.available() {
            return Err("this Chromium has no Ed25519 in WebCrypto".into());
        }
        assert_eq!(passed, vec![good[0].id, good[1].id]);
        Ok(())
    }
}
