//! The app lock: data kept on the device, sealed under a key derived from a passphrase.
//!
//! # What
//!
//! `key = Argon2id(params)(passphrase, salt)`; each stored record is sealed as
//! `version(1) || nonce(24) || XChaCha20-Poly1305(key, nonce, plaintext, aad = context)`,
//! where the context names the record (`"entries/<id>"`), so a sealed record moved to
//! another place does not open. A verifier, a fixed text sealed the same way, tells a wrong
//! passphrase ([`VaultError::WrongPassphrase`]) from damaged data before anything is read.
//!
//! # Why
//!
//! IndexedDB is protected only by the browser's origin isolation: anyone with the device
//! (or a copy of the profile) reads it. With the lock on, what is stored is unreadable
//! without the passphrase. There is no recovery: a forgotten passphrase means the data is
//! gone (other members of a room keep their copies).
//!
//! The salt and cost parameters are stored in clear beside the verifier ([`VaultParams`]),
//! so the cost can be raised later without breaking existing locks. No IO here; the caller
//! passes the RNG.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand_core::CryptoRngCore;
use zeroize::Zeroizing;

use crate::room::KdfParams;

/// Length of the salt.
pub const SALT_LEN: usize = 16;
/// The format version of sealed records.
const VERSION: u8 = 1;
const NONCE_LEN: usize = 24;
/// What the verifier seals.
const VERIFIER_CONTEXT: &str = "natter/vault/verifier";
const VERIFIER_TEXT: &[u8] = b"natter vault v1";

/// Why the vault could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VaultError {
    /// The passphrase does not open the vault.
    #[error("wrong passphrase")]
    WrongPassphrase,
    /// A sealed record did not open (changed, truncated, or moved from another place).
    #[error("a sealed record is damaged")]
    Damaged,
    /// A sealed record of a format this build does not know.
    #[error("a sealed record has unknown version {0}")]
    UnknownVersion(u8),
    /// The key derivation refused its parameters.
    #[error("the passphrase could not be stretched")]
    Kdf,
}

/// The salt and costs of a lock, stored in clear.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VaultParams {
    /// Random salt.
    pub salt: [u8; SALT_LEN],
    /// Argon2id costs.
    pub kdf: KdfParams,
}

impl VaultParams {
    /// Fresh parameters: a random salt, the same Argon2id costs as room passwords.
    pub fn new(rng: &mut impl CryptoRngCore) -> Self {
        let mut salt = [0u8; SALT_LEN];
        rng.fill_bytes(&mut salt);
        VaultParams {
            salt,
            kdf: KdfParams::V1,
        }
    }
}

/// The key that seals and opens records. Zeroized on drop; `Debug` never prints it.
pub struct VaultKey(Zeroizing<[u8; 32]>);

impl std::fmt::Debug for VaultKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("VaultKey(<hidden>)")
    }
}

impl VaultKey {
    /// Stretches `passphrase` with `params` (about a tenth of a second, on purpose).
    pub fn derive(passphrase: &str, params: &VaultParams) -> Result<VaultKey, VaultError> {
        crate::room::argon2id(params.kdf, passphrase.as_bytes(), &params.salt)
            .map(|k| VaultKey(Zeroizing::new(k)))
            .map_err(|_| VaultError::Kdf)
    }

    /// Seals `plaintext` for the place named `context`.
    pub fn seal(&self, rng: &mut impl CryptoRngCore, context: &str, plaintext: &[u8]) -> Vec<u8> {
        let mut nonce = [0u8; NONCE_LEN];
        rng.fill_bytes(&mut nonce);
        let cipher = XChaCha20Poly1305::new(self.0.as_ref().into());
        let payload = Payload {
            msg: plaintext,
            aad: context.as_bytes(),
        };
        // Encryption with a valid key and nonce length cannot fail; an empty result would
        // not open, so nothing readable is ever stored either way.
        let ct = cipher
            .encrypt(XNonce::from_slice(&nonce), payload)
            .unwrap_or_default();
        let mut out = Vec::with_capacity(1 + NONCE_LEN + ct.len());
        out.push(VERSION);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ct);
        out
    }

    /// Opens what [`VaultKey::seal`] sealed for `context`.
    pub fn open(&self, context: &str, sealed: &[u8]) -> Result<Vec<u8>, VaultError> {
        let (&version, rest) = sealed.split_first().ok_or(VaultError::Damaged)?;
        if version != VERSION {
            return Err(VaultError::UnknownVersion(version));
        }
        if rest.len() < NONCE_LEN {
            return Err(VaultError::Damaged);
        }
        let (nonce, ct) = rest.split_at(NONCE_LEN);
        let cipher = XChaCha20Poly1305::new(self.0.as_ref().into());
        cipher
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: ct,
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| VaultError::Damaged)
    }

    /// A verifier for this key, to store beside the parameters.
    pub fn verifier(&self, rng: &mut impl CryptoRngCore) -> Vec<u8> {
        self.seal(rng, VERIFIER_CONTEXT, VERIFIER_TEXT)
    }

    /// Whether this key is the one `verifier` was made with.
    pub fn check(&self, verifier: &[u8]) -> Result<(), VaultError> {
        match self.open(VERIFIER_CONTEXT, verifier) {
            Ok(text) if text == VERIFIER_TEXT => Ok(()),
            Ok(_) | Err(VaultError::Damaged) => Err(VaultError::WrongPassphrase),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rand_chacha::rand_core::SeedableRng;

    fn rng() -> rand_chacha::ChaCha20Rng {
        rand_chacha::ChaCha20Rng::seed_from_u64(7)
    }

    /// Cheap parameters: these tests are about the sealing, not the cost.
    fn params() -> VaultParams {
        VaultParams {
            salt: [9; SALT_LEN],
            kdf: KdfParams {
                memory_kib: 64,
                iterations: 1,
                parallelism: 1,
            },
        }
    }

    #[test]
    fn the_right_passphrase_opens_and_a_wrong_one_is_told_apart() {
        let key = VaultKey::derive("correct horse", &params()).expect("derive");
        let verifier = key.verifier(&mut rng());
        assert_eq!(key.check(&verifier), Ok(()));
        let wrong = VaultKey::derive("correct horsf", &params()).expect("derive");
        assert_eq!(wrong.check(&verifier), Err(VaultError::WrongPassphrase));
        let other_salt = VaultParams {
            salt: [8; SALT_LEN],
            ..params()
        };
        let salted = VaultKey::derive("correct horse", &other_salt).expect("derive");
        assert_eq!(salted.check(&verifier), Err(VaultError::WrongPassphrase));
    }

    #[test]
    fn a_sealed_record_hides_its_text_and_opens_only_in_its_place() {
        let key = VaultKey::derive("pass", &params()).expect("derive");
        let sealed = key.seal(&mut rng(), "entries/ab", b"the crocus blooms at dawn");
        assert!(!sealed.windows(6).any(|w| w == b"crocus"));
        assert_eq!(
            key.open("entries/ab", &sealed).as_deref(),
            Ok(&b"the crocus blooms at dawn"[..])
        );
        assert_eq!(key.open("entries/cd", &sealed), Err(VaultError::Damaged));
        let mut flipped = sealed.clone();
        let last = flipped.len() - 1;
        flipped[last] ^= 1;
        assert_eq!(key.open("entries/ab", &flipped), Err(VaultError::Damaged));
        assert_eq!(key.open("entries/ab", &[]), Err(VaultError::Damaged));
        assert_eq!(key.open("entries/ab", &[1, 2, 3]), Err(VaultError::Damaged));
        let mut future = sealed;
        future[0] = 2;
        assert_eq!(
            key.open("entries/ab", &future),
            Err(VaultError::UnknownVersion(2))
        );
    }

    #[test]
    fn two_seals_of_one_text_differ() {
        let key = VaultKey::derive("pass", &params()).expect("derive");
        let mut r = rng();
        assert_ne!(
            key.seal(&mut r, "x", b"same"),
            key.seal(&mut r, "x", b"same")
        );
    }

    proptest! {
        #[test]
        fn sealing_round_trips_and_opening_never_panics(
            text in proptest::collection::vec(any::<u8>(), 0..300),
            junk in proptest::collection::vec(any::<u8>(), 0..80),
        ) {
            let key = VaultKey::derive("pass", &params()).expect("derive");
            let sealed = key.seal(&mut rng(), "ctx", &text);
            prop_assert_eq!(key.open("ctx", &sealed), Ok(text));
            let _ = key.open("ctx", &junk);
        }
    }
}
