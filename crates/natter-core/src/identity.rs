//! Ed25519 identities and safety numbers.
//!
//! An [`Identity`] is a user's long-lived signing key (Ed25519, RFC 8032); its [`PublicKey`]
//! is how peers name the author of every log entry and how two people verify each other.
//! Keys are generated from a caller-supplied cryptographic RNG, never a global one.
//!
//! # Public key text
//!
//! [`PublicKey::to_text`] is base64url without padding (RFC 4648 section 5) of the 32 key
//! bytes: 43 characters, safe in URLs and storage keys. [`PublicKey::from_text`] accepts only
//! that canonical form and only valid curve points.
//!
//! # Safety numbers
//!
//! Two people compare a [`SafetyNumber`] out of band (read aloud, or one scans the other's QR
//! code) to make sure no one sits between them. The scheme follows Signal's numeric
//! fingerprint (libsignal `NumericFingerprintGenerator`), with Natter's own constants:
//!
//! ```text
//! for each key K (32 bytes):
//!     h = SHA-512(u16be(SAFETY_NUMBER_VERSION) || K || "natter-identity")
//!     repeat SAFETY_NUMBER_ITERATIONS (5200) times: h = SHA-512(h || K)
//!     half(K) = for i in 0..6: format("{:05}", u40be(h[5i .. 5i+5]) mod 100000)
//! number = concat(sort([half(A), half(B)]))        (60 digits)
//! shown  = 12 groups of 5 digits separated by single spaces
//! ```
//!
//! The iteration count makes it expensive to search for a second key whose 30-digit half
//! collides with a target (about 2^100 work for a full collision of one half). Sorting the
//! halves makes the number independent of who computes it, so both people see the same 60
//! digits. Comparisons of digits and QR payloads are constant-time (`subtle`).
//!
//! The QR payload carries the version and both full keys, so a scanner compares keys, not
//! just digits: `natter-sn:<version>:<key>:<key>` with the two keys in [`PublicKey::to_text`]
//! form, in ascending byte order.

use core::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use ed25519_dalek::Signer;
use rand_core::{CryptoRng, RngCore};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha512};
use subtle::ConstantTimeEq;

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

    /// The X25519 secret of this key: the unclamped scalar half of SHA-512(seed), whose
    /// public half is [`PublicKey`]'s Montgomery form ([`crate::keeper`] seals to it).
    pub(crate) fn x25519_secret(&self) -> zeroize::Zeroizing<[u8; 32]> {
        zeroize::Zeroizing::new(self.key.to_scalar_bytes())
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
        crate::hex::encode(&self.0[..4])
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

/// Length of [`PublicKey::to_text`] output.
pub const PUBLIC_KEY_TEXT_LEN: usize = 43;

/// Why a public key's text form could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseKeyError {
    /// Not 43 characters of canonical base64url.
    #[error("malformed public key text")]
    Malformed,
    /// The 32 bytes are not a valid Ed25519 public key.
    #[error("not a valid public key")]
    InvalidKey,
}

impl PublicKey {
    /// The key as 43 characters of base64url without padding.
    pub fn to_text(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.0)
    }

    /// Parses [`PublicKey::to_text`] output. Total: rejects padding, non-canonical trailing
    /// bits, wrong lengths and bytes that are not a curve point.
    pub fn from_text(text: &str) -> Result<Self, ParseKeyError> {
        if text.len() != PUBLIC_KEY_TEXT_LEN {
            return Err(ParseKeyError::Malformed);
        }
        let mut bytes = [0u8; PUBLIC_KEY_LEN];
        let n = URL_SAFE_NO_PAD
            .decode_slice(text, &mut bytes)
            .map_err(|_| ParseKeyError::Malformed)?;
        if n != PUBLIC_KEY_LEN {
            return Err(ParseKeyError::Malformed);
        }
        ed25519_dalek::VerifyingKey::from_bytes(&bytes).map_err(|_| ParseKeyError::InvalidKey)?;
        Ok(Self(bytes))
    }
}

impl fmt::Display for PublicKey {
    /// Same as [`PublicKey::to_text`].
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_text())
    }
}

impl core::str::FromStr for PublicKey {
    type Err = ParseKeyError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::from_text(s)
    }
}

/// Version of the safety number scheme (hashed into every number and named in QR payloads).
pub const SAFETY_NUMBER_VERSION: u16 = 1;
/// SHA-512 iterations per key.
pub const SAFETY_NUMBER_ITERATIONS: usize = 5200;
/// Number of digits in a safety number.
pub const SAFETY_NUMBER_DIGITS: usize = 60;
/// The stable identifier hashed with each key.
const SAFETY_NUMBER_STABLE_ID: &[u8] = b"natter-identity";
/// Prefix of QR payloads.
const QR_PREFIX: &str = "natter-sn:";

/// Why a scanned safety number QR payload was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SafetyNumberError {
    /// Not a Natter safety number payload, or damaged.
    #[error("not a Natter safety number code")]
    Malformed,
    /// A safety number scheme version this code does not know.
    #[error("unsupported safety number version {0}")]
    UnsupportedVersion(u16),
    /// A valid payload for a different pair of keys: the conversation may be intercepted.
    #[error("safety numbers do not match")]
    Mismatch,
}

/// The safety number of two public keys. Equal for `(a, b)` and `(b, a)`; see the module doc
/// for the scheme. Equality is constant-time.
#[derive(Clone)]
pub struct SafetyNumber {
    /// 60 ASCII digits.
    digits: [u8; SAFETY_NUMBER_DIGITS],
    /// Both keys, in ascending byte order.
    keys: [PublicKey; 2],
}

impl SafetyNumber {
    /// Computes the safety number of two keys (about 10 400 SHA-512 runs).
    pub fn new(a: &PublicKey, b: &PublicKey) -> Self {
        let mut halves = [safety_half(a), safety_half(b)];
        // Smaller half first: the same number whichever side computes it.
        if halves[1] < halves[0] {
            halves.swap(0, 1);
        }
        let mut digits = [0u8; SAFETY_NUMBER_DIGITS];
        digits[..30].copy_from_slice(&halves[0]);
        digits[30..].copy_from_slice(&halves[1]);
        let keys = if a <= b { [*a, *b] } else { [*b, *a] };
        Self { digits, keys }
    }

    /// The 60 digits without spaces.
    pub fn digits(&self) -> &str {
        // Only ASCII digits are ever written into `digits`.
        core::str::from_utf8(&self.digits).unwrap_or_default()
    }

    /// The 12 groups of 5 digits.
    pub fn groups(&self) -> Vec<&str> {
        let d = self.digits();
        (0..12).map(|i| &d[i * 5..i * 5 + 5]).collect()
    }

    /// Constant-time comparison with another safety number.
    pub fn ct_eq(&self, other: &SafetyNumber) -> bool {
        self.digits.ct_eq(&other.digits).into()
    }

    /// Constant-time comparison with digits a user typed or read; whitespace is ignored.
    pub fn matches_digits(&self, typed: &str) -> bool {
        let cleaned: Vec<u8> = typed.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
        if cleaned.len() != SAFETY_NUMBER_DIGITS {
            return false;
        }
        self.digits[..].ct_eq(&cleaned[..]).into()
    }

    /// The QR code payload: `natter-sn:<version>:<key>:<key>` (keys in ascending order).
    pub fn qr_payload(&self) -> String {
        format!(
            "{QR_PREFIX}{SAFETY_NUMBER_VERSION}:{}:{}",
            self.keys[0].to_text(),
            self.keys[1].to_text()
        )
    }

    /// Checks a scanned QR payload against this safety number: accepted only if it names
    /// exactly the same two keys (in constant time). Total: never panics.
    pub fn verify_qr(&self, scanned: &str) -> Result<(), SafetyNumberError> {
        let [a, b] = parse_qr_payload(scanned)?;
        let same = self.keys[0].0.ct_eq(&a.0) & self.keys[1].0.ct_eq(&b.0);
        if bool::from(same) {
            Ok(())
        } else {
            Err(SafetyNumberError::Mismatch)
        }
    }
}

impl PartialEq for SafetyNumber {
    fn eq(&self, other: &Self) -> bool {
        self.ct_eq(other)
    }
}

impl Eq for SafetyNumber {}

impl fmt::Display for SafetyNumber {
    /// The 12 groups of 5 digits, separated by single spaces.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.groups().join(" "))
    }
}

impl fmt::Debug for SafetyNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SafetyNumber({self})")
    }
}

/// Parses a QR payload into its two keys (in the order given, which must be ascending).
pub fn parse_qr_payload(text: &str) -> Result<[PublicKey; 2], SafetyNumberError> {
    let rest = text
        .strip_prefix(QR_PREFIX)
        .ok_or(SafetyNumberError::Malformed)?;
    let mut parts = rest.split(':');
    let version = parts.next().ok_or(SafetyNumberError::Malformed)?;
    if version.is_empty() || version.len() > 5 || !version.bytes().all(|b| b.is_ascii_digit()) {
        return Err(SafetyNumberError::Malformed);
    }
    let version: u16 = version.parse().map_err(|_| SafetyNumberError::Malformed)?;
    if version != SAFETY_NUMBER_VERSION {
        return Err(SafetyNumberError::UnsupportedVersion(version));
    }
    let mut key = || {
        parts
            .next()
            .and_then(|t| PublicKey::from_text(t).ok())
            .ok_or(SafetyNumberError::Malformed)
    };
    let a = key()?;
    let b = key()?;
    if parts.next().is_some() || a > b {
        return Err(SafetyNumberError::Malformed);
    }
    Ok([a, b])
}

/// The 30-digit half of a safety number contributed by one key.
fn safety_half(key: &PublicKey) -> [u8; 30] {
    let mut hash = Sha512::new()
        .chain_update(SAFETY_NUMBER_VERSION.to_be_bytes())
        .chain_update(key.0)
        .chain_update(SAFETY_NUMBER_STABLE_ID)
        .finalize();
    for _ in 0..SAFETY_NUMBER_ITERATIONS {
        hash = Sha512::new()
            .chain_update(hash)
            .chain_update(key.0)
            .finalize();
    }
    let mut out = [0u8; 30];
    for (i, group) in out.chunks_exact_mut(5).enumerate() {
        let chunk = hash[i * 5..i * 5 + 5]
            .iter()
            .fold(0u64, |acc, &b| (acc << 8) | u64::from(b));
        let mut n = chunk % 100_000;
        for d in group.iter_mut().rev() {
            // n % 10 < 10, so the cast is lossless.
            *d = b'0' + (n % 10) as u8;
            n /= 10;
        }
    }
    out
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

    fn key(seed: u64) -> PublicKey {
        Identity::generate(&mut rand_chacha::ChaCha20Rng::seed_from_u64(seed)).public()
    }

    #[test]
    fn public_keys_round_trip_through_text() {
        let k = key(1);
        let text = k.to_text();
        assert_eq!(text.len(), PUBLIC_KEY_TEXT_LEN);
        assert_eq!(PublicKey::from_text(&text), Ok(k));
        assert_eq!(text.parse::<PublicKey>(), Ok(k));
        assert_eq!(k.to_string(), text);
    }

    #[test]
    fn public_key_text_rejects_bad_input() {
        let text = key(1).to_text();
        assert_eq!(PublicKey::from_text(""), Err(ParseKeyError::Malformed));
        assert_eq!(
            PublicKey::from_text(&format!("{text}=")),
            Err(ParseKeyError::Malformed)
        );
        assert_eq!(
            PublicKey::from_text(&text.replace(&text[..1], "+")),
            Err(ParseKeyError::Malformed)
        );
        // Non-canonical: the last character's two unused low bits set.
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let mut chars = text.clone().into_bytes();
        let last = chars.len() - 1;
        let value = ALPHABET
            .iter()
            .position(|&c| c == chars[last])
            .expect("base64url output");
        chars[last] = ALPHABET[value | 1];
        let non_canonical = String::from_utf8(chars).expect("ASCII");
        assert_eq!(
            PublicKey::from_text(&non_canonical),
            Err(ParseKeyError::Malformed)
        );
        // y = 2 is not on the curve.
        let mut off_curve = [0u8; 32];
        off_curve[0] = 2;
        assert_eq!(
            PublicKey::from_text(&URL_SAFE_NO_PAD.encode(off_curve)),
            Err(ParseKeyError::InvalidKey)
        );
    }

    #[test]
    fn safety_numbers_are_symmetric_and_well_formed() {
        let (a, b) = (key(1), key(2));
        let ab = SafetyNumber::new(&a, &b);
        let ba = SafetyNumber::new(&b, &a);
        assert_eq!(ab, ba);
        assert_eq!(ab.to_string(), ba.to_string());
        assert_eq!(ab.qr_payload(), ba.qr_payload());
        assert_eq!(ab.digits().len(), 60);
        assert!(ab.digits().bytes().all(|d| d.is_ascii_digit()));
        let shown = ab.to_string();
        assert_eq!(shown.len(), 71);
        assert_eq!(shown.split(' ').count(), 12);
        assert!(shown.split(' ').all(|g| g.len() == 5));
    }

    #[test]
    fn safety_numbers_change_when_either_key_changes() {
        let (a, b, c) = (key(1), key(2), key(3));
        let ab = SafetyNumber::new(&a, &b);
        assert_ne!(ab, SafetyNumber::new(&a, &c));
        assert_ne!(ab, SafetyNumber::new(&c, &b));
        // Each half belongs to one key: changing one key changes one half only.
        let ac = SafetyNumber::new(&a, &c);
        let shared = [&ab.digits()[..30], &ab.digits()[30..]]
            .iter()
            .filter(|h| ac.digits().contains(**h))
            .count();
        assert_eq!(shared, 1);
    }

    /// Golden vector: a change here changes every user's safety numbers.
    #[test]
    fn the_safety_number_of_fixed_keys_is_pinned() {
        let a = Identity::from_secret_bytes(&[1; 32]).public();
        let b = Identity::from_secret_bytes(&[2; 32]).public();
        let sn = SafetyNumber::new(&a, &b);
        assert_eq!(sn.to_string(), GOLDEN_SAFETY_NUMBER);
        assert!(sn.matches_digits(GOLDEN_SAFETY_NUMBER));
    }

    const GOLDEN_SAFETY_NUMBER: &str =
        "86069 88700 97511 33092 87254 98944 92281 97274 18934 75471 78333 94144";

    #[test]
    fn typed_digits_are_compared_ignoring_spaces() {
        let sn = SafetyNumber::new(&key(1), &key(2));
        assert!(sn.matches_digits(sn.digits()));
        assert!(sn.matches_digits(&format!(" {}\n", sn)));
        let mut wrong = sn.digits().to_owned();
        let last = if wrong.ends_with('0') { "1" } else { "0" };
        wrong.replace_range(59..60, last);
        assert!(!sn.matches_digits(&wrong));
        assert!(!sn.matches_digits(&sn.digits()[..59]));
        assert!(!sn.matches_digits(""));
    }

    #[test]
    fn a_scanned_qr_code_is_accepted_only_for_the_same_keys() {
        let (a, b, c) = (key(1), key(2), key(3));
        let mine = SafetyNumber::new(&a, &b);
        let theirs = SafetyNumber::new(&b, &a);
        assert_eq!(mine.verify_qr(&theirs.qr_payload()), Ok(()));
        let mitm = SafetyNumber::new(&a, &c);
        assert_eq!(
            mine.verify_qr(&mitm.qr_payload()),
            Err(SafetyNumberError::Mismatch)
        );
    }

    #[test]
    fn qr_payload_parsing_has_distinct_errors() {
        let sn = SafetyNumber::new(&key(1), &key(2));
        let payload = sn.qr_payload();
        assert!(payload.starts_with("natter-sn:1:"));
        let v2 = payload.replacen("natter-sn:1:", "natter-sn:2:", 1);
        assert_eq!(
            sn.verify_qr(&v2),
            Err(SafetyNumberError::UnsupportedVersion(2))
        );
        for bad in [
            "",
            "natter-sn:",
            "natter-sn:1",
            "natter-sn:99999999:a:b",
            "natter-sn:+1:a:b",
            "hello",
        ] {
            assert_eq!(
                sn.verify_qr(bad),
                Err(SafetyNumberError::Malformed),
                "{bad:?}"
            );
        }
        assert_eq!(
            sn.verify_qr(&format!("{payload}:")),
            Err(SafetyNumberError::Malformed)
        );
        let [lo, hi] = parse_qr_payload(&payload).expect("valid");
        let swapped = format!("natter-sn:1:{}:{}", hi.to_text(), lo.to_text());
        assert_eq!(sn.verify_qr(&swapped), Err(SafetyNumberError::Malformed));
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

        #[test]
        fn key_text_and_qr_parsing_never_panic(s in ".{0,120}") {
            let _ = PublicKey::from_text(&s);
            let _ = parse_qr_payload(&s);
            let _ = parse_qr_payload(&format!("natter-sn:{s}"));
            static SN: std::sync::LazyLock<SafetyNumber> =
                std::sync::LazyLock::new(|| SafetyNumber::new(&key(1), &key(2)));
            let _ = SN.verify_qr(&s);
            let _ = SN.matches_digits(&s);
        }

        #[test]
        fn key_text_round_trips(seed in proptest::prelude::any::<u64>()) {
            let k = key(seed);
            proptest::prop_assert_eq!(PublicKey::from_text(&k.to_text()), Ok(k));
        }
    }
}
