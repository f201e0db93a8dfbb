//! Sealing signaling blobs: authenticated encryption bound to room and sessions.
//!
//! # What and why
//!
//! Peers exchange SDP offers, answers and ICE candidates through the signaling server, which
//! relays them as opaque `blob` strings. Each blob is sealed with the room's `signal` key
//! ([`crate::room::Room::signal_key`]) using XChaCha20-Poly1305 (the extended-nonce variant of
//! RFC 8439's ChaCha20-Poly1305; 24-byte nonces are safe to draw at random). A server that
//! lacks the room secret (and password) can therefore neither read an SDP nor forge one, so
//! it cannot substitute its own DTLS fingerprint and sit in the middle.
//!
//! The associated data binds each box to its context, so a box cannot be replayed into another
//! room or between other sessions, nor reflected back with sender and receiver swapped:
//!
//! ```text
//! ad = version || u32be(32) || room_id || u32be(len(from)) || from || u32be(len(to)) || to
//! ```
//!
//! where `from` and `to` are the UTF-8 signaling session ids of sender and receiver.
//!
//! # Format, version 1
//!
//! ```text
//! sealed = version (1 byte, = 1) || nonce (24 random bytes) || ciphertext || tag (16 bytes)
//! text   = base64url without padding (RFC 4648 section 5) of `sealed`
//! ```
//!
//! # Invariants
//!
//! - [`open`] is total: any input gives the plaintext or a [`SealError`], never a panic.
//! - Plaintexts are at most [`MAX_PLAINTEXT_LEN`] bytes; longer input is refused on both
//!   sides before any cryptography runs.
//! - Authentication failure is reported as [`SealError::WrongKey`] whatever its cause (wrong
//!   key, wrong password, other room or sessions, damaged bytes): AEAD cannot tell them apart,
//!   and a decoder must not guess.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand_core::{CryptoRng, RngCore};

use crate::room::{RoomId, SymmetricKey};

/// The format version this code writes and reads.
pub const SEAL_VERSION: u8 = 1;
/// Nonce length (XChaCha20).
pub const NONCE_LEN: usize = 24;
/// Authentication tag length (Poly1305).
pub const TAG_LEN: usize = 16;
/// Largest plaintext that can be sealed (SDP with many candidates is well under this).
pub const MAX_PLAINTEXT_LEN: usize = 64 * 1024;
/// Largest sealed box in bytes.
pub const MAX_SEALED_LEN: usize = 1 + NONCE_LEN + MAX_PLAINTEXT_LEN + TAG_LEN;
/// Largest sealed box in its base64url text form.
pub const MAX_SEALED_TEXT_LEN: usize = MAX_SEALED_LEN.div_ceil(3) * 4;

/// Why a box could not be sealed or opened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    /// Authentication failed: the key (room secret or password) differs, or the box was made
    /// for another room or other sessions, or it was altered.
    #[error("cannot open sealed message: wrong password or damaged link")]
    WrongKey,
    /// The box is too short, not base64url, or otherwise not a sealed box.
    #[error("malformed sealed message: {0}")]
    Malformed(&'static str),
    /// The box names a format version this code does not know.
    #[error("unsupported sealed message version {0}")]
    UnsupportedVersion(u8),
    /// The plaintext, box or a session id exceeds its size limit.
    #[error("sealed message too large")]
    TooLarge,
}

/// The associated data for a box from session `from` to session `to` in `room_id` (layout in
/// the module doc).
pub fn associated_data(room_id: &RoomId, from: &str, to: &str) -> Result<Vec<u8>, SealError> {
    let mut ad = Vec::with_capacity(1 + 3 * 4 + 32 + from.len() + to.len());
    ad.push(SEAL_VERSION);
    for field in [
        room_id.as_bytes().as_slice(),
        from.as_bytes(),
        to.as_bytes(),
    ] {
        let len = u32::try_from(field.len()).map_err(|_| SealError::TooLarge)?;
        ad.extend_from_slice(&len.to_be_bytes());
        ad.extend_from_slice(field);
    }
    Ok(ad)
}

/// Seals `plaintext` from session `from` to session `to` in `room_id`, with a fresh random
/// nonce from `rng`.
pub fn seal<R: RngCore + CryptoRng>(
    key: &SymmetricKey,
    rng: &mut R,
    room_id: &RoomId,
    from: &str,
    to: &str,
    plaintext: &[u8],
) -> Result<Vec<u8>, SealError> {
    if plaintext.len() > MAX_PLAINTEXT_LEN {
        return Err(SealError::TooLarge);
    }
    let ad = associated_data(room_id, from, to)?;
    let mut nonce = [0u8; NONCE_LEN];
    rng.fill_bytes(&mut nonce);
    let cipher = XChaCha20Poly1305::new(key.as_bytes().into());
    let ciphertext = cipher
        .encrypt(
            XNonce::from_slice(&nonce),
            Payload {
                msg: plaintext,
                aad: &ad,
            },
        )
        // Encryption fails only for plaintexts beyond ChaCha20's 256 GiB limit; ours are
        // bounded by MAX_PLAINTEXT_LEN, so this error cannot occur in practice.
        .map_err(|_| SealError::TooLarge)?;
    let mut out = Vec::with_capacity(1 + NONCE_LEN + ciphertext.len());
    out.push(SEAL_VERSION);
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&ciphertext);
    Ok(out)
}

/// Opens a box made by [`seal`] with the same key, room and sessions (`from` is still the
/// *sender*, `to` the receiver). Total: never panics.
pub fn open(
    key: &SymmetricKey,
    room_id: &RoomId,
    from: &str,
    to: &str,
    sealed: &[u8],
) -> Result<Vec<u8>, SealError> {
    if sealed.len() > MAX_SEALED_LEN {
        return Err(SealError::TooLarge);
    }
    let (&version, rest) = sealed.split_first().ok_or(SealError::Malformed("empty"))?;
    if version != SEAL_VERSION {
        return Err(SealError::UnsupportedVersion(version));
    }
    if rest.len() < NONCE_LEN + TAG_LEN {
        return Err(SealError::Malformed("truncated"));
    }
    let (nonce, ciphertext) = rest.split_at(NONCE_LEN);
    let ad = associated_data(room_id, from, to)?;
    let cipher = XChaCha20Poly1305::new(key.as_bytes().into());
    cipher
        .decrypt(
            XNonce::from_slice(nonce),
            Payload {
                msg: ciphertext,
                aad: &ad,
            },
        )
        .map_err(|_| SealError::WrongKey)
}

/// [`seal`], then base64url without padding: the form carried in a signaling `blob` field.
pub fn seal_to_text<R: RngCore + CryptoRng>(
    key: &SymmetricKey,
    rng: &mut R,
    room_id: &RoomId,
    from: &str,
    to: &str,
    plaintext: &[u8],
) -> Result<String, SealError> {
    Ok(URL_SAFE_NO_PAD.encode(seal(key, rng, room_id, from, to, plaintext)?))
}

/// Decodes the text form made by [`seal_to_text`] and [`open`]s it. Total: never panics.
pub fn open_text(
    key: &SymmetricKey,
    room_id: &RoomId,
    from: &str,
    to: &str,
    text: &str,
) -> Result<Vec<u8>, SealError> {
    if text.len() > MAX_SEALED_TEXT_LEN {
        return Err(SealError::TooLarge);
    }
    let bytes = URL_SAFE_NO_PAD
        .decode(text)
        .map_err(|_| SealError::Malformed("not base64url"))?;
    open(key, room_id, from, to, &bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rand_chacha::rand_core::SeedableRng;
    use rand_chacha::ChaCha20Rng;

    const ROOM_A: RoomId = RoomId([0xaa; 32]);
    const ROOM_B: RoomId = RoomId([0xbb; 32]);

    fn key(b: u8) -> SymmetricKey {
        SymmetricKey::from_bytes([b; 32])
    }

    fn rng() -> ChaCha20Rng {
        ChaCha20Rng::seed_from_u64(42)
    }

    fn sealed() -> Vec<u8> {
        seal(&key(1), &mut rng(), &ROOM_A, "alice", "bob", b"v=0 offer").expect("seals")
    }

    #[test]
    fn a_sealed_box_opens_with_the_same_key_room_and_sessions() {
        assert_eq!(
            open(&key(1), &ROOM_A, "alice", "bob", &sealed()),
            Ok(b"v=0 offer".to_vec())
        );
    }

    #[test]
    fn a_box_from_room_a_cannot_be_opened_as_room_b() {
        assert_eq!(
            open(&key(1), &ROOM_B, "alice", "bob", &sealed()),
            Err(SealError::WrongKey)
        );
    }

    #[test]
    fn a_box_cannot_be_opened_with_sender_and_receiver_swapped() {
        assert_eq!(
            open(&key(1), &ROOM_A, "bob", "alice", &sealed()),
            Err(SealError::WrongKey)
        );
    }

    #[test]
    fn a_box_cannot_be_redirected_to_another_session() {
        assert_eq!(
            open(&key(1), &ROOM_A, "alice", "carol", &sealed()),
            Err(SealError::WrongKey)
        );
        assert_eq!(
            open(&key(1), &ROOM_A, "mallory", "bob", &sealed()),
            Err(SealError::WrongKey)
        );
    }

    #[test]
    fn session_id_boundaries_are_unambiguous() {
        // Without length prefixes "ab"+"c" and "a"+"bc" would give the same AD.
        let boxed = seal(&key(1), &mut rng(), &ROOM_A, "ab", "c", b"x").expect("seals");
        assert_eq!(
            open(&key(1), &ROOM_A, "a", "bc", &boxed),
            Err(SealError::WrongKey)
        );
    }

    #[test]
    fn the_wrong_key_is_reported_as_such() {
        let err = open(&key(2), &ROOM_A, "alice", "bob", &sealed()).expect_err("fails");
        assert_eq!(err, SealError::WrongKey);
        assert_eq!(
            err.to_string(),
            "cannot open sealed message: wrong password or damaged link"
        );
    }

    #[test]
    fn version_truncation_and_size_errors_are_distinct() {
        let mut v2 = sealed();
        v2[0] = 2;
        assert_eq!(
            open(&key(1), &ROOM_A, "alice", "bob", &v2),
            Err(SealError::UnsupportedVersion(2))
        );
        assert_eq!(
            open(&key(1), &ROOM_A, "alice", "bob", &[]),
            Err(SealError::Malformed("empty"))
        );
        assert_eq!(
            open(
                &key(1),
                &ROOM_A,
                "alice",
                "bob",
                &sealed()[..1 + NONCE_LEN + TAG_LEN - 1]
            ),
            Err(SealError::Malformed("truncated"))
        );
        assert_eq!(
            open(
                &key(1),
                &ROOM_A,
                "alice",
                "bob",
                &vec![1; MAX_SEALED_LEN + 1]
            ),
            Err(SealError::TooLarge)
        );
        assert_eq!(
            seal(
                &key(1),
                &mut rng(),
                &ROOM_A,
                "a",
                "b",
                &vec![0; MAX_PLAINTEXT_LEN + 1]
            ),
            Err(SealError::TooLarge)
        );
        assert_eq!(
            open_text(&key(1), &ROOM_A, "a", "b", "***"),
            Err(SealError::Malformed("not base64url"))
        );
        assert_eq!(
            open_text(
                &key(1),
                &ROOM_A,
                "a",
                "b",
                &"A".repeat(MAX_SEALED_TEXT_LEN + 1)
            ),
            Err(SealError::TooLarge)
        );
    }

    #[test]
    fn the_largest_plaintext_round_trips_through_text() {
        let big = vec![7u8; MAX_PLAINTEXT_LEN];
        let text = seal_to_text(&key(1), &mut rng(), &ROOM_A, "a", "b", &big).expect("seals");
        assert!(text.len() <= MAX_SEALED_TEXT_LEN);
        assert_eq!(open_text(&key(1), &ROOM_A, "a", "b", &text), Ok(big));
    }

    #[test]
    fn fresh_nonces_make_equal_plaintexts_differ() {
        let mut r = rng();
        let one = seal(&key(1), &mut r, &ROOM_A, "a", "b", b"same").expect("seals");
        let two = seal(&key(1), &mut r, &ROOM_A, "a", "b", b"same").expect("seals");
        assert_ne!(one, two);
    }

    /// Golden layout: a change here is a format change and needs a new version.
    #[test]
    fn the_associated_data_layout_is_pinned() {
        let ad = associated_data(&RoomId([0x11; 32]), "ab", "c").expect("small");
        let mut expected = vec![1u8, 0, 0, 0, 32];
        expected.extend_from_slice(&[0x11; 32]);
        expected.extend_from_slice(&[0, 0, 0, 2, b'a', b'b', 0, 0, 0, 1, b'c']);
        assert_eq!(ad, expected);
    }

    /// Golden box: pins the cipher, nonce placement and AD together.
    #[test]
    fn the_sealed_box_is_pinned() {
        let text = seal_to_text(&key(1), &mut rng(), &ROOM_A, "alice", "bob", b"v=0 offer")
            .expect("seals");
        assert_eq!(text, GOLDEN_BOX);
        assert_eq!(
            open_text(&key(1), &ROOM_A, "alice", "bob", GOLDEN_BOX),
            Ok(b"v=0 offer".to_vec())
        );
    }

    const GOLDEN_BOX: &str = "AXhItdcRvJiDmWMXo_nJAmnVZ3EAXVQKGSWmdakjfh76cM8pG5d8HABGCAmtkDVVKmg";

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn seal_and_open_round_trip(
            k in any::<[u8; 32]>(),
            room in any::<[u8; 32]>(),
            from in ".{0,40}",
            to in ".{0,40}",
            msg in proptest::collection::vec(any::<u8>(), 0..2000),
            seed in any::<u64>(),
        ) {
            let key = SymmetricKey::from_bytes(k);
            let mut r = ChaCha20Rng::seed_from_u64(seed);
            let text = seal_to_text(&key, &mut r, &RoomId(room), &from, &to, &msg).expect("seals");
            prop_assert_eq!(open_text(&key, &RoomId(room), &from, &to, &text), Ok(msg));
        }

        #[test]
        fn any_changed_byte_of_a_sealed_box_fails(idx in any::<prop::sample::Index>(), flip in 1u8..=255) {
            let mut boxed = sealed();
            let i = idx.index(boxed.len());
            boxed[i] ^= flip;
            prop_assert!(open(&key(1), &ROOM_A, "alice", "bob", &boxed).is_err());
        }

        #[test]
        fn opening_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            prop_assert!(open(&key(1), &ROOM_A, "a", "b", &bytes).is_err());
        }

        #[test]
        fn opening_arbitrary_text_never_panics(text in ".{0,200}") {
            prop_assert!(open_text(&key(1), &ROOM_A, "a", "b", &text).is_err());
        }
    }
}
