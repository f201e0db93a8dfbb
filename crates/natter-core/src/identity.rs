//! Ed25519 identities.
//!
//! An [`Identity`] is a user's long-lived signing key; its [`PublicKey`] is how peers name
//! the author of every log entry and how two people verify each other (safety numbers).
//! Keys are generated from a caller-supplied cryptographic RNG, never a global one.

use core::fmt;

use ed25519_dalek::Signer;
use rand_core::{CryptoRng, RngCore};
use serde::{Deserialize, Serialize};

/// Length of a public key in bytes.
pub const PUBLIC_KEY_LEN: usize = 32;
/// Length of a signature in bytes.
pub const SIGNATURE_LEN: usize = 64;

/// Errors from identity operations.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentityError {
    /// The bytes are not a valid Ed25519 public key (not a curve point).
    #[error("invalid public key")]
    InvalidPublicKey,
    /// The signature does not verify for this key and message.
    #[error("bad signature")]
    BadSignature,
}

/// A user's Ed25519 signing key. Zeroized on drop.
pub struct Identity {
    key: ed25519_dalek::SigningKey,
}

impl fmt::Debug for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print the secret.
        f.debug_struct("Identity")
            .field("public", &self.public())
            .finish()
    }
}

impl Clone for Identity {
    fn clone(&self) -> Self {
        Self::from_secret_bytes(&self.secret_bytes())
    }
}

impl Identity {
    /// Creates a new identity from the given cryptographic RNG.
    pub fn generate<R: RngCore + CryptoRng>(rng: &mut R) -> Self {
        let mut seed = [0u8; 32];
        rng.fill_bytes(&mut seed);
        let id = Self::from_secret_bytes(&seed);
        zeroize::Zeroize::zeroize(&mut seed);
        id
    }

    /// Restores an identity from its 32 secret bytes (as stored by the client).
    pub fn from_secret_bytes(secret: &[u8; 32]) -> Self {
        Self {
            key: ed25519_dalek::SigningKey::from_bytes(secret),
        }
    }

    /// The 32 secret bytes, for storage. Handle with care.
    pub fn secret_bytes(&self) -> [u8; 32] {
        self.key.to_bytes()
    }

    /// The public half.
    pub fn public(&self) -> PublicKey {
        PublicKey(self.key.verifying_key().to_bytes())
    }

    /// Signs `msg`.
    pub fn sign(&self, msg: &[u8]) -> Signature {
        Signature(self.key.sign(msg).to_bytes())
    }
}

/// An Ed25519 public key as 32 bytes. Ordered and hashable so it can key maps; whether the
/// bytes are a valid curve point is checked when a signature is verified.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct PublicKey(pub [u8; PUBLIC_KEY_LEN]);

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({})", self.short())
    }
}

impl PublicKey {
    /// The raw bytes.
    pub fn as_bytes(&self) -> &[u8; PUBLIC_KEY_LEN] {
        &self.0
    }

    /// First 8 hex digits, for logs and debugging (never for verification).
    pub fn short(&self) -> String {
        self.0[..4].iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Verifies `sig` over `msg` with this key (strict verification: rejects weak keys and
    /// non-canonical signatures, so a signature cannot be malleated into a second valid one).
    pub fn verify(&self, msg: &[u8], sig: &Signature) -> Result<(), IdentityError> {
        let vk = ed25519_dalek::VerifyingKey::from_bytes(&self.0)
            .map_err(|_| IdentityError::InvalidPublicKey)?;
        let sig = ed25519_dalek::Signature::from_bytes(&sig.0);
        vk.verify_strict(msg, &sig)
            .map_err(|_| IdentityError::BadSignature)
    }
}

/// An Ed25519 signature as 64 bytes.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Signature(pub [u8; SIGNATURE_LEN]);

impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Signature({:02x}{:02x}..)", self.0[0], self.0[1])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::rand_core::SeedableRng;

    #[test]
    fn a_signature_verifies_only_for_its_message_and_key() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(7);
        let a = Identity::generate(&mut rng);
        let b = Identity::generate(&mut rng);
        let sig = a.sign(b"hello");
        assert_eq!(a.public().verify(b"hello", &sig), Ok(()));
        assert_eq!(
            a.public().verify(b"hellO", &sig),
            Err(IdentityError::BadSignature)
        );
        assert_eq!(
            b.public().verify(b"hello", &sig),
            Err(IdentityError::BadSignature)
        );
    }

    #[test]
    fn secret_bytes_round_trip() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(8);
        let a = Identity::generate(&mut rng);
        let b = Identity::from_secret_bytes(&a.secret_bytes());
        assert_eq!(a.public(), b.public());
    }
}
