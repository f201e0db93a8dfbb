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
//! so the cost can be raised later without breaking existing locks. Costs beyond
//! [`MAX_MEMORY_KIB`] / [`MAX_ITERATIONS`] / [`MAX_PARALLELISM`] are refused
//! ([`VaultError::Kdf`]) rather than tried: a damaged lock record must not make the page
//! allocate gigabytes. No IO here; the caller passes the RNG.
//!
//! The key is zeroized when dropped. The passphrase itself passes through the browser's
//! strings (the input field, the command that carries it), which cannot be wiped; it lives
//! there only until they are collected.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand_core::CryptoRngCore;
use zeroize::Zeroizing;

use crate::room::KdfParams;

/// Length of the salt.
pub const SALT_LEN: usize = 16;
/// The most memory a stored lock may ask Argon2id for, in KiB (1 GiB).
pub const MAX_MEMORY_KIB: u32 = 1 << 20;
/// The most passes a stored lock may ask for.
pub const MAX_ITERATIONS: u32 = 64;
/// The most lanes a stored lock may ask for.
pub const MAX_PARALLELISM: u32 = 16;
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
        let kdf = params.kdf;
        if kdf.memory_kib > MAX_MEMORY_KIB
            || kdf.iterations > MAX_ITERATIONS
            || kdf.parallelism > MAX_PARALLELISM
        {
            return Err(VaultError::Kdf);
        }
        crate::room::argon2id(params.kdf, passphrase.as_bytes(), &params.salt)
            .map(|k| VaultKey(Zeroizing::new(k)))
            .map_err(|_| VaultError::Kdf)
    }

    /// The key of a lock, once `passphrase` is proven right by `verifier`: what unlocking
    /// (and turning the lock off) needs. A wrong passphrase is
    /// [`VaultError::WrongPassphrase`], told before any record is read.
    pub fn unlock(
        passphrase: &str,
        params: &VaultParams,
        verifier: &[u8],
    ) -> Result<VaultKey, VaultError> {
        let key = VaultKey::derive(passphrase, params)?;
        key.check(verifier)?;
        Ok(key)
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
        rng_from(7)
    }

    fn rng_from(seed: u64) -> rand_chacha::ChaCha20Rng {
        rand_chacha::ChaCha20Rng::seed_from_u64(seed)
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
    fn unlocking_needs_the_passphrase_the_verifier_was_made_with() {
        let params = params();
        let key = VaultKey::derive("correct horse", &params).expect("derive");
        let verifier = key.verifier(&mut rng());
        let sealed = key.seal(&mut rng(), "rooms/01", b"Secret Garden");
        let again = VaultKey::unlock("correct horse", &params, &verifier).expect("unlock");
        assert_eq!(
            again.open("rooms/01", &sealed).as_deref(),
            Ok(&b"Secret Garden"[..])
        );
        assert_eq!(
            VaultKey::unlock("Correct horse", &params, &verifier).map(|_| ()),
            Err(VaultError::WrongPassphrase)
        );
        // A damaged verifier reads as a wrong passphrase too: nothing is opened either way.
        let mut damaged = verifier.clone();
        damaged[5] ^= 0x40;
        assert_eq!(
            VaultKey::unlock("correct horse", &params, &damaged).map(|_| ()),
            Err(VaultError::WrongPassphrase)
        );
    }

    #[test]
    fn a_record_swapped_into_another_place_does_not_open() {
        let key = VaultKey::derive("pass", &params()).expect("derive");
        let mut r = rng();
        let a = key.seal(&mut r, "entries/aa", b"first");
        let b = key.seal(&mut r, "entries/bb", b"second");
        // Each stored under the other's key: both refused.
        assert_eq!(key.open("entries/aa", &b), Err(VaultError::Damaged));
        assert_eq!(key.open("entries/bb", &a), Err(VaultError::Damaged));
        // Nor does a room record open as the identity, or an entry as a room.
        let room = key.seal(&mut r, "rooms/aa", b"{}");
        assert_eq!(key.open("identity/self", &room), Err(VaultError::Damaged));
        assert_eq!(key.open("rooms/aa", &a), Err(VaultError::Damaged));
    }

    #[test]
    fn costs_a_browser_cannot_pay_are_refused_not_tried() {
        for kdf in [
            KdfParams {
                memory_kib: MAX_MEMORY_KIB + 1,
                ..KdfParams::V1
            },
            KdfParams {
                iterations: MAX_ITERATIONS + 1,
                ..KdfParams::V1
            },
            KdfParams {
                parallelism: MAX_PARALLELISM + 1,
                ..KdfParams::V1
            },
        ] {
            let params = VaultParams { kdf, ..params() };
            assert_eq!(
                VaultKey::derive("pass", &params).map(|_| ()),
                Err(VaultError::Kdf)
            );
        }
    }

    #[test]
    fn fresh_parameters_cost_at_least_what_room_passwords_cost() {
        let fresh = VaultParams::new(&mut rng());
        assert!(fresh.kdf.memory_kib >= KdfParams::V1.memory_kib);
        assert!(fresh.kdf.iterations >= KdfParams::V1.iterations);
        assert_ne!(fresh.salt, VaultParams::new(&mut rng_from(8)).salt);
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

        #[test]
        fn any_flipped_bit_is_refused(
            text in proptest::collection::vec(any::<u8>(), 0..100),
            at in any::<proptest::sample::Index>(),
            bit in 0u8..8,
        ) {
            let key = VaultKey::derive("pass", &params()).expect("derive");
            let mut sealed = key.seal(&mut rng(), "entries/ab", &text);
            let i = at.index(sealed.len());
            sealed[i] ^= 1 << bit;
            prop_assert!(key.open("entries/ab", &sealed).is_err());
        }
    }
}
