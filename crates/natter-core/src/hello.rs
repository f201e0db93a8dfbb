//! The DataChannel handshake: binding an identity to one WebRTC connection.
//!
//! # What and why
//!
//! When a DataChannel opens, each side sends one [`Hello`]. It carries the sender's identity
//! key, display name and an Ed25519 signature over everything that names *this* connection:
//! the room id, the DTLS certificate fingerprints of both ends (from the `a=fingerprint:` lines
//! of the local and remote SDP) and both signaling session ids. DTLS guarantees that the
//! channel ends at the holder of the certificate whose fingerprint is in the SDP; the hello
//! signature guarantees that the identity key holder saw the same two fingerprints. A
//! signaling server (or anyone else) that swaps the SDP to sit in the middle has to present
//! its own certificate, so the fingerprints the two peers sign no longer match what they see,
//! and [`Hello::verify`] fails with a fingerprint mismatch. Together with safety numbers
//! compared out of band ([`crate::identity::SafetyNumber`]) this detects a man in the middle
//! even when the attacker runs the signaling server. The idea is the identity binding of
//! RFC 8827 (WebRTC security architecture, section 7) done at the application layer.
//!
//! # Perspective
//!
//! A [`HelloContext`] is always written from the point of view of the peer holding it:
//! `local_*` is "me", `remote_*` is "the other end". The sender signs with its own context;
//! the receiver verifies with *its* context, and [`Hello::verify`] maps the views (the
//! receiver's remote fingerprint must be the sender's local one, and so on).
//!
//! # Wire format, version 1
//!
//! All integers are big-endian; every variable field is length-prefixed.
//!
//! | bytes | field |
//! | --- | --- |
//! | 1 | version = `1` |
//! | 32 | sender's Ed25519 public key |
//! | 32 | room id |
//! | 1 + n | sender's DTLS fingerprint (normalised, ASCII, n ≤ [`MAX_FINGERPRINT_LEN`]) |
//! | 1 + n | receiver's DTLS fingerprint (normalised) |
//! | 1 + n | sender's session id (UTF-8, 1 ≤ n ≤ [`MAX_SESSION_ID_LEN`]) |
//! | 1 + n | receiver's session id |
//! | 2 + n | display name (UTF-8, n ≤ [`MAX_DISPLAY_NAME_BYTES`]) |
//! | 64 | Ed25519 signature |
//!
//! The signature covers [`SIGNING_DOMAIN`] followed by every byte before the signature. That
//! prefix is an unambiguous (length-prefixed) encoding of all signed fields, and the domain
//! string keeps a hello signature from ever being valid as any other Natter signature (log
//! entries use a different domain).
//!
//! # Invariants
//!
//! - [`Hello::from_bytes`] is total: any input yields a `Hello` or a [`HelloError`], never a
//!   panic; input longer than [`MAX_HELLO_LEN`] is rejected before parsing; trailing bytes are
//!   an error, so each valid hello has exactly one encoding.
//! - Every `Hello` value satisfies the field rules (valid display name, normalised
//!   fingerprints, bounded session ids), whether built by [`Hello::new`] or decoded.
//! - Display names are 1..=[`MAX_DISPLAY_NAME_CHARS`] characters, at most
//!   [`MAX_DISPLAY_NAME_BYTES`] bytes, not blank, with no control characters and no
//!   bidirectional-override characters (which could make one name render as another).

use core::fmt;

use crate::identity::{
    Identity, IdentityError, PublicKey, Signature, PUBLIC_KEY_LEN, SIGNATURE_LEN,
};
use crate::room::RoomId;

/// The wire format version this code writes and reads.
pub const HELLO_VERSION: u8 = 1;
/// Domain-separation prefix of the signed message.
pub const SIGNING_DOMAIN: &[u8] = b"natter/hello/v1\0";
/// Maximum display name length in characters (Unicode scalar values).
pub const MAX_DISPLAY_NAME_CHARS: usize = 64;
/// Maximum display name length in UTF-8 bytes.
pub const MAX_DISPLAY_NAME_BYTES: usize = 256;
/// Maximum length of a normalised DTLS fingerprint string, in bytes. The longest one in use
/// (`sha-512`, 64 bytes as colon-separated hex) is 199 bytes.
pub const MAX_FINGERPRINT_LEN: usize = 255;
/// Maximum length of a signaling session id, in bytes.
pub const MAX_SESSION_ID_LEN: usize = 128;
/// Upper bound of an encoded hello: the decoder rejects anything longer without parsing.
pub const MAX_HELLO_LEN: usize = 1
    + PUBLIC_KEY_LEN
    + 32
    + 2 * (1 + MAX_FINGERPRINT_LEN)
    + 2 * (1 + MAX_SESSION_ID_LEN)
    + 2
    + MAX_DISPLAY_NAME_BYTES
    + SIGNATURE_LEN;

/// Shortest and longest certificate digest accepted in a fingerprint, in bytes.
const MIN_DIGEST_BYTES: usize = 16;
const MAX_DIGEST_BYTES: usize = 64;
/// Longest hash function token (`sha-256`, `sha-512`, ...).
const MAX_HASH_NAME_LEN: usize = 16;

/// Why a hello could not be built, decoded or verified.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HelloError {
    /// The first byte names a wire format this code does not know.
    #[error("unsupported hello version {0}")]
    UnsupportedVersion(u8),
    /// The bytes are truncated, too long, have trailing data or a field breaks its rules.
    #[error("malformed hello: {0}")]
    Malformed(&'static str),
    /// The display name is empty, too long, or contains control or bidi-override characters.
    #[error("invalid display name: {0}")]
    InvalidDisplayName(&'static str),
    /// A DTLS fingerprint is not of the form `<hash> XX:XX:...`.
    #[error("invalid DTLS fingerprint")]
    InvalidFingerprint,
    /// A session id is empty or longer than [`MAX_SESSION_ID_LEN`] bytes.
    #[error("invalid session id")]
    InvalidSessionId,
    /// The hello was made for a different room.
    #[error("hello is for a different room")]
    RoomMismatch,
    /// The sender signed a certificate fingerprint other than the one our connection sees
    /// for it: someone may be in the middle of the connection.
    #[error("sender's DTLS fingerprint does not match the connection (possible interception)")]
    SenderFingerprintMismatch,
    /// The sender saw a certificate fingerprint for us other than ours: someone may be in the
    /// middle of the connection.
    #[error("our DTLS fingerprint as seen by the sender does not match (possible interception)")]
    ReceiverFingerprintMismatch,
    /// The hello names a sender session other than the peer we are connected to.
    #[error("hello names a different sender session")]
    SenderSessionMismatch,
    /// The hello was addressed to a session other than ours.
    #[error("hello is addressed to a different session")]
    ReceiverSessionMismatch,
    /// The identity bytes are not a valid Ed25519 public key.
    #[error("invalid identity key")]
    InvalidIdentity,
    /// The signature does not verify: some signed field (often the display name) was altered
    /// or the signer does not hold the identity key.
    #[error("bad hello signature")]
    BadSignature,
}

/// One side's view of a connection, as needed to make or check a [`Hello`].
///
/// Fingerprints are normalised on construction (see [`normalize_dtls_fingerprint`]), so raw
/// `a=fingerprint:` values from either browser compare equal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HelloContext {
    room_id: RoomId,
    local_fingerprint: String,
    remote_fingerprint: String,
    local_session: String,
    remote_session: String,
}

impl HelloContext {
    /// Builds a context from this peer's point of view. Fingerprints may be given as found
    /// in SDP (`sha-256 AB:CD:...`, any case); session ids are the signaling session ids.
    pub fn new(
        room_id: RoomId,
        local_fingerprint: &str,
        remote_fingerprint: &str,
        local_session: &str,
        remote_session: &str,
    ) -> Result<Self, HelloError> {
        let norm = |fp: &str| normalize_dtls_fingerprint(fp).ok_or(HelloError::InvalidFingerprint);
        Ok(Self {
            room_id,
            local_fingerprint: norm(local_fingerprint)?,
            remote_fingerprint: norm(remote_fingerprint)?,
            local_session: check_session(local_session)?.to_owned(),
            remote_session: check_session(remote_session)?.to_owned(),
        })
    }

    /// The same connection seen from the other end (local and remote swapped).
    pub fn reversed(&self) -> Self {
        Self {
            room_id: self.room_id,
            local_fingerprint: self.remote_fingerprint.clone(),
            remote_fingerprint: self.local_fingerprint.clone(),
            local_session: self.remote_session.clone(),
            remote_session: self.local_session.clone(),
        }
    }

    /// The room.
    pub fn room_id(&self) -> &RoomId {
        &self.room_id
    }

    /// Our normalised DTLS fingerprint.
    pub fn local_fingerprint(&self) -> &str {
        &self.local_fingerprint
    }

    /// The other end's normalised DTLS fingerprint.
    pub fn remote_fingerprint(&self) -> &str {
        &self.remote_fingerprint
    }

    /// Our signaling session id.
    pub fn local_session(&self) -> &str {
        &self.local_session
    }

    /// The other end's signaling session id.
    pub fn remote_session(&self) -> &str {
        &self.remote_session
    }
}

/// The signed handshake message. Fields are read-only so every value stays valid.
#[derive(Clone, PartialEq, Eq)]
pub struct Hello {
    identity: PublicKey,
    display_name: String,
    room_id: RoomId,
    sender_fingerprint: String,
    receiver_fingerprint: String,
    sender_session: String,
    receiver_session: String,
    signature: Signature,
}

impl fmt::Debug for Hello {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hello")
            .field("identity", &self.identity)
            .field("display_name", &self.display_name)
            .field("room_id", &self.room_id)
            .field("sender_session", &self.sender_session)
            .field("receiver_session", &self.receiver_session)
            .finish_non_exhaustive()
    }
}

impl Hello {
    /// Signs a hello for the connection described by `ctx` (our own view of it).
    ///
    /// Fails only if `display_name` breaks the display name rules.
    pub fn new(
        identity: &Identity,
        display_name: &str,
        ctx: &HelloContext,
    ) -> Result<Self, HelloError> {
        validate_display_name(display_name)?;
        let mut hello = Self {
            identity: identity.public(),
            display_name: display_name.to_owned(),
            room_id: ctx.room_id,
            sender_fingerprint: ctx.local_fingerprint.clone(),
            receiver_fingerprint: ctx.remote_fingerprint.clone(),
            sender_session: ctx.local_session.clone(),
            receiver_session: ctx.remote_session.clone(),
            signature: Signature([0; SIGNATURE_LEN]),
        };
        hello.signature = identity.sign(&hello.signed_message());
        Ok(hello)
    }

    /// Checks this received hello against the receiver's own view of the connection.
    ///
    /// Context fields are compared first so that a mismatch gets a specific error (a
    /// fingerprint mismatch is the signature of interception); the signature is checked last.
    pub fn verify(&self, ctx: &HelloContext) -> Result<(), HelloError> {
        if self.room_id != ctx.room_id {
            return Err(HelloError::RoomMismatch);
        }
        if self.sender_fingerprint != ctx.remote_fingerprint {
            return Err(HelloError::SenderFingerprintMismatch);
        }
        if self.receiver_fingerprint != ctx.local_fingerprint {
            return Err(HelloError::ReceiverFingerprintMismatch);
        }
        if self.sender_session != ctx.remote_session {
            return Err(HelloError::SenderSessionMismatch);
        }
        if self.receiver_session != ctx.local_session {
            return Err(HelloError::ReceiverSessionMismatch);
        }
        self.identity
            .verify(&self.signed_message(), &self.signature)
            .map_err(|e| match e {
                IdentityError::InvalidPublicKey => HelloError::InvalidIdentity,
                _ => HelloError::BadSignature,
            })
    }

    /// The sender's identity key. Meaningful only after [`Hello::verify`] succeeded.
    pub fn identity(&self) -> &PublicKey {
        &self.identity
    }

    /// The sender's display name (already validated).
    pub fn display_name(&self) -> &str {
        &self.display_name
    }

    /// The room the hello was made for.
    pub fn room_id(&self) -> &RoomId {
        &self.room_id
    }

    /// The sender's normalised DTLS fingerprint, as the sender saw it.
    pub fn sender_fingerprint(&self) -> &str {
        &self.sender_fingerprint
    }

    /// The receiver's normalised DTLS fingerprint, as the sender saw it.
    pub fn receiver_fingerprint(&self) -> &str {
        &self.receiver_fingerprint
    }

    /// The sender's signaling session id.
    pub fn sender_session(&self) -> &str {
        &self.sender_session
    }

    /// The receiver's signaling session id, as the sender addressed it.
    pub fn receiver_session(&self) -> &str {
        &self.receiver_session
    }

    /// The signature.
    pub fn signature(&self) -> &Signature {
        &self.signature
    }

    /// Encodes the hello (see the module doc for the layout).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = self.body();
        out.extend_from_slice(&self.signature.0);
        out
    }

    /// Decodes a hello. Total: never panics; checks the version, every length and field rule,
    /// and rejects trailing bytes. Does not verify the signature (see [`Hello::verify`]).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, HelloError> {
        if bytes.len() > MAX_HELLO_LEN {
            return Err(HelloError::Malformed("too long"));
        }
        let mut r = Reader(bytes);
        let version = r.u8()?;
        if version != HELLO_VERSION {
            return Err(HelloError::UnsupportedVersion(version));
        }
        let identity = PublicKey(r.array::<PUBLIC_KEY_LEN>()?);
        let room_id = RoomId(r.array::<32>()?);
        let sender_fingerprint = decode_fingerprint(r.short_field()?)?;
        let receiver_fingerprint = decode_fingerprint(r.short_field()?)?;
        let sender_session = decode_session(r.short_field()?)?;
        let receiver_session = decode_session(r.short_field()?)?;
        let name_len = usize::from(u16::from_be_bytes(r.array::<2>()?));
        if name_len > MAX_DISPLAY_NAME_BYTES {
            return Err(HelloError::InvalidDisplayName("too long"));
        }
        let name = core::str::from_utf8(r.take(name_len)?)
            .map_err(|_| HelloError::InvalidDisplayName("not UTF-8"))?;
        validate_display_name(name)?;
        let signature = Signature(r.array::<SIGNATURE_LEN>()?);
        if !r.0.is_empty() {
            return Err(HelloError::Malformed("trailing bytes"));
        }
        Ok(Self {
            identity,
            display_name: name.to_owned(),
            room_id,
            sender_fingerprint,
            receiver_fingerprint,
            sender_session,
            receiver_session,
            signature,
        })
    }

    /// Everything before the signature.
    fn body(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(MAX_HELLO_LEN);
        out.push(HELLO_VERSION);
        out.extend_from_slice(&self.identity.0);
        out.extend_from_slice(&self.room_id.0);
        for field in [
            &self.sender_fingerprint,
            &self.receiver_fingerprint,
            &self.sender_session,
            &self.receiver_session,
        ] {
            // Every field was checked against its limit (< 256) when the value was built.
            out.push(field.len() as u8);
            out.extend_from_slice(field.as_bytes());
        }
        // Checked to be at most MAX_DISPLAY_NAME_BYTES (< 65536) when the value was built.
        out.extend_from_slice(&(self.display_name.len() as u16).to_be_bytes());
        out.extend_from_slice(self.display_name.as_bytes());
        out
    }

    /// The exact bytes the signature covers.
    fn signed_message(&self) -> Vec<u8> {
        let mut msg = SIGNING_DOMAIN.to_vec();
        msg.extend_from_slice(&self.body());
        msg
    }
}

/// Checks a display name against the rules in the module doc.
pub fn validate_display_name(name: &str) -> Result<(), HelloError> {
    if name.trim().is_empty() {
        return Err(HelloError::InvalidDisplayName("empty"));
    }
    if name.len() > MAX_DISPLAY_NAME_BYTES || name.chars().count() > MAX_DISPLAY_NAME_CHARS {
        return Err(HelloError::InvalidDisplayName("too long"));
    }
    if name.chars().any(char::is_control) {
        return Err(HelloError::InvalidDisplayName("control character"));
    }
    if name.chars().any(is_bidi_control) {
        return Err(HelloError::InvalidDisplayName("bidirectional control"));
    }
    Ok(())
}

/// Unicode bidirectional formatting characters (UAX #9): marks, embeddings, overrides and
/// isolates. They can make a name display as a different one.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Normalises a DTLS fingerprint as written in SDP (`a=fingerprint:<hash> <hex>`, RFC 8122
/// section 5) to `<hash lower-case> <HEX:UPPER:CASE>` with a single space.
///
/// Returns `None` unless the hash name is 1..=16 characters of `[A-Za-z0-9-]` and the
/// fingerprint is 16..=64 colon-separated bytes of two hex digits each.
pub fn normalize_dtls_fingerprint(value: &str) -> Option<String> {
    let mut parts = value.split_ascii_whitespace();
    let hash = parts.next()?;
    let hex = parts.next()?;
    if parts.next().is_some() {
        return None;
    }
    if hash.is_empty()
        || hash.len() > MAX_HASH_NAME_LEN
        || !hash.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    {
        return None;
    }
    let octets: Vec<&str> = hex.split(':').collect();
    if !(MIN_DIGEST_BYTES..=MAX_DIGEST_BYTES).contains(&octets.len()) {
        return None;
    }
    if !octets
        .iter()
        .all(|o| o.len() == 2 && o.bytes().all(|b| b.is_ascii_hexdigit()))
    {
        return None;
    }
    Some(format!(
        "{} {}",
        hash.to_ascii_lowercase(),
        hex.to_ascii_uppercase()
    ))
}

/// Extracts the DTLS certificate fingerprint from an SDP blob and normalises it (see
/// [`normalize_dtls_fingerprint`]).
///
/// Looks at every `a=fingerprint:` line (session or media level). Returns `None` if there is
/// none, if one is malformed, or if they disagree: an SDP naming two certificates is not one
/// this handshake can bind, so the caller must treat it as an error.
pub fn dtls_fingerprint_from_sdp(sdp: &str) -> Option<String> {
    let mut found: Option<String> = None;
    for line in sdp.lines() {
        let line = line.trim();
        let Some(value) = line.strip_prefix("a=fingerprint:") else {
            continue;
        };
        let fp = normalize_dtls_fingerprint(value)?;
        match &found {
            None => found = Some(fp),
            Some(prev) if *prev == fp => {}
            Some(_) => return None,
        }
    }
    found
}

fn check_session(s: &str) -> Result<&str, HelloError> {
    if s.is_empty() || s.len() > MAX_SESSION_ID_LEN {
        return Err(HelloError::InvalidSessionId);
    }
    Ok(s)
}

fn decode_session(bytes: &[u8]) -> Result<String, HelloError> {
    let s = core::str::from_utf8(bytes).map_err(|_| HelloError::InvalidSessionId)?;
    Ok(check_session(s)?.to_owned())
}

/// Accepts only fingerprints already in normalised form, so each hello has one encoding.
fn decode_fingerprint(bytes: &[u8]) -> Result<String, HelloError> {
    let s = core::str::from_utf8(bytes).map_err(|_| HelloError::InvalidFingerprint)?;
    match normalize_dtls_fingerprint(s) {
        Some(n) if n == s => Ok(n),
        _ => Err(HelloError::InvalidFingerprint),
    }
}

/// A bounds-checked cursor over input bytes.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], HelloError> {
        if self.0.len() < n {
            return Err(HelloError::Malformed("truncated"));
        }
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        Ok(head)
    }

    fn u8(&mut self) -> Result<u8, HelloError> {
        Ok(self.take(1)?[0])
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], HelloError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    /// A field with a one-byte length prefix.
    fn short_field(&mut self) -> Result<&'a [u8], HelloError> {
        let n = usize::from(self.u8()?);
        self.take(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rand_chacha::rand_core::SeedableRng;

    const FP_A: &str = "sha-256 AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89";
    const FP_B: &str = "sha-256 10:32:54:76:98:BA:DC:FE:10:32:54:76:98:BA:DC:FE:10:32:54:76:98:BA:DC:FE:10:32:54:76:98:BA:DC:FE";
    const FP_M: &str = "sha-256 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF";

    fn identity(seed: u64) -> Identity {
        Identity::generate(&mut rand_chacha::ChaCha20Rng::seed_from_u64(seed))
    }

    /// Alice's view of her connection to Bob.
    fn alice_ctx() -> HelloContext {
        HelloContext::new(RoomId([7; 32]), FP_A, FP_B, "alice-session", "bob-session")
            .expect("fixed context is valid")
    }

    fn alice_hello() -> Hello {
        Hello::new(&identity(1), "Alice", &alice_ctx()).expect("valid name")
    }

    #[test]
    fn a_hello_verifies_with_the_receivers_view() {
        let hello = alice_hello();
        assert_eq!(hello.verify(&alice_ctx().reversed()), Ok(()));
    }

    #[test]
    fn a_hello_does_not_verify_with_the_senders_own_view() {
        let hello = alice_hello();
        assert_eq!(
            hello.verify(&alice_ctx()),
            Err(HelloError::SenderFingerprintMismatch)
        );
    }

    #[test]
    fn a_hello_for_another_room_is_rejected() {
        let bob = alice_ctx().reversed();
        let other = HelloContext::new(RoomId([8; 32]), FP_B, FP_A, "bob-session", "alice-session")
            .expect("valid");
        assert_eq!(bob.room_id(), &RoomId([7; 32]));
        assert_eq!(alice_hello().verify(&other), Err(HelloError::RoomMismatch));
    }

    #[test]
    fn a_man_in_the_middle_certificate_is_detected_on_both_sides() {
        // Mallory terminates DTLS with both peers using her own certificate.
        let hello = alice_hello();
        let bob_sees =
            HelloContext::new(RoomId([7; 32]), FP_B, FP_M, "bob-session", "alice-session")
                .expect("valid");
        assert_eq!(
            hello.verify(&bob_sees),
            Err(HelloError::SenderFingerprintMismatch)
        );
        let bob_hello = Hello::new(&identity(2), "Bob", &bob_sees).expect("valid");
        let alice_sees =
            HelloContext::new(RoomId([7; 32]), FP_A, FP_M, "alice-session", "bob-session")
                .expect("valid");
        assert_eq!(
            bob_hello.verify(&alice_sees),
            Err(HelloError::SenderFingerprintMismatch)
        );
        let alice_sees_mitm_on_her_side =
            HelloContext::new(RoomId([7; 32]), FP_M, FP_B, "alice-session", "bob-session")
                .expect("valid");
        let bob_hello = Hello::new(&identity(2), "Bob", &alice_ctx().reversed()).expect("ok");
        assert_eq!(
            bob_hello.verify(&alice_sees_mitm_on_her_side),
            Err(HelloError::ReceiverFingerprintMismatch)
        );
    }

    #[test]
    fn session_mismatches_have_their_own_errors() {
        let hello = alice_hello();
        let wrong_sender =
            HelloContext::new(RoomId([7; 32]), FP_B, FP_A, "bob-session", "carol-session")
                .expect("valid");
        assert_eq!(
            hello.verify(&wrong_sender),
            Err(HelloError::SenderSessionMismatch)
        );
        let wrong_receiver =
            HelloContext::new(RoomId([7; 32]), FP_B, FP_A, "dave-session", "alice-session")
                .expect("valid");
        assert_eq!(
            hello.verify(&wrong_receiver),
            Err(HelloError::ReceiverSessionMismatch)
        );
    }

    #[test]
    fn an_altered_display_name_breaks_the_signature() {
        let mut bytes = alice_hello().to_bytes();
        let pos = bytes
            .windows(5)
            .position(|w| w == b"Alice")
            .expect("name is in the encoding");
        bytes[pos] = b'M';
        let forged = Hello::from_bytes(&bytes).expect("still well-formed");
        assert_eq!(forged.display_name(), "Mlice");
        assert_eq!(
            forged.verify(&alice_ctx().reversed()),
            Err(HelloError::BadSignature)
        );
    }

    #[test]
    fn a_hello_signed_by_another_key_is_rejected() {
        let mut bytes = alice_hello().to_bytes();
        bytes[1..33].copy_from_slice(&identity(3).public().0);
        let forged = Hello::from_bytes(&bytes).expect("still well-formed");
        assert_eq!(
            forged.verify(&alice_ctx().reversed()),
            Err(HelloError::BadSignature)
        );
    }

    #[test]
    fn fingerprints_from_sdp_are_found_and_normalised() {
        let sdp = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\n\
                   a=fingerprint:SHA-256 ab:cd:ef:01:23:45:67:89:ab:cd:ef:01:23:45:67:89:ab:cd:ef:01:23:45:67:89:ab:cd:ef:01:23:45:67:89\r\n\
                   m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n\
                   a=fingerprint:sha-256 AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89\r\n";
        assert_eq!(dtls_fingerprint_from_sdp(sdp).as_deref(), Some(FP_A));
    }

    #[test]
    fn sdp_without_or_with_conflicting_fingerprints_yields_none() {
        assert_eq!(dtls_fingerprint_from_sdp("v=0\r\ns=-\r\n"), None);
        let two = format!("a=fingerprint:{FP_A}\na=fingerprint:{FP_B}\n");
        assert_eq!(dtls_fingerprint_from_sdp(&two), None);
        assert_eq!(
            dtls_fingerprint_from_sdp("a=fingerprint:sha-256 zz:00"),
            None
        );
    }

    #[test]
    fn fingerprint_normalisation_rejects_malformed_values() {
        for bad in [
            "",
            "sha-256",
            "sha-256 AB:CD",
            "sha-256 ABC:D",
            "sha 256 AB:CD",
            "sha_256 AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89",
            "sha-256 AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:8G",
            "sha-256 AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:",
        ] {
            assert_eq!(normalize_dtls_fingerprint(bad), None, "{bad:?}");
        }
        assert!(normalize_dtls_fingerprint(
            "sha-1 AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01"
        )
        .is_some());
    }

    #[test]
    fn display_names_follow_the_rules() {
        assert!(validate_display_name("Zoë 🦀").is_ok());
        assert!(validate_display_name(&"é".repeat(64)).is_ok());
        assert!(validate_display_name(&"é".repeat(65)).is_err());
        assert!(validate_display_name(&"🦀".repeat(64)).is_ok());
        assert!(validate_display_name("").is_err());
        assert!(validate_display_name("   ").is_err());
        assert!(validate_display_name("a\nb").is_err());
        assert!(validate_display_name("a\u{0}b").is_err());
        assert!(validate_display_name("evil\u{202E}gnp.exe").is_err());
        let ctx = alice_ctx();
        assert_eq!(
            Hello::new(&identity(1), "\u{7}", &ctx),
            Err(HelloError::InvalidDisplayName("control character"))
        );
    }

    #[test]
    fn context_rejects_bad_sessions_and_fingerprints() {
        let r = RoomId([0; 32]);
        assert_eq!(
            HelloContext::new(r, FP_A, FP_B, "", "b"),
            Err(HelloError::InvalidSessionId)
        );
        assert_eq!(
            HelloContext::new(r, FP_A, FP_B, "a", &"x".repeat(129)),
            Err(HelloError::InvalidSessionId)
        );
        assert_eq!(
            HelloContext::new(r, "nope", FP_B, "a", "b"),
            Err(HelloError::InvalidFingerprint)
        );
    }

    #[test]
    fn unknown_versions_trailing_bytes_and_oversize_input_are_rejected() {
        let bytes = alice_hello().to_bytes();
        let mut v2 = bytes.clone();
        v2[0] = 2;
        assert_eq!(
            Hello::from_bytes(&v2),
            Err(HelloError::UnsupportedVersion(2))
        );
        let mut long = bytes.clone();
        long.push(0);
        assert_eq!(
            Hello::from_bytes(&long),
            Err(HelloError::Malformed("trailing bytes"))
        );
        assert_eq!(
            Hello::from_bytes(&vec![1; MAX_HELLO_LEN + 1]),
            Err(HelloError::Malformed("too long"))
        );
        assert_eq!(
            Hello::from_bytes(&bytes[..bytes.len() - 1]),
            Err(HelloError::Malformed("truncated"))
        );
        assert_eq!(
            Hello::from_bytes(&[]),
            Err(HelloError::Malformed("truncated"))
        );
    }

    #[test]
    fn non_normalised_fingerprints_on_the_wire_are_rejected() {
        let bytes = alice_hello().to_bytes();
        let pos = bytes
            .windows(7)
            .position(|w| w == b"sha-256")
            .expect("fingerprint present");
        let mut upper = bytes.clone();
        upper[pos] = b'S';
        assert_eq!(
            Hello::from_bytes(&upper),
            Err(HelloError::InvalidFingerprint)
        );
    }

    /// Golden bytes: a change here is a wire format change and needs a new version.
    #[test]
    fn the_hello_encoding_is_pinned() {
        let ctx = HelloContext::new(
            RoomId([0x11; 32]),
            "sha-256 00:01:02:03:04:05:06:07:08:09:0A:0B:0C:0D:0E:0F",
            "sha-256 F0:F1:F2:F3:F4:F5:F6:F7:F8:F9:FA:FB:FC:FD:FE:FF",
            "s1",
            "s2",
        )
        .expect("valid");
        let id = Identity::from_secret_bytes(&[0x42; 32]);
        let hello = Hello::new(&id, "Al", &ctx).expect("valid");
        let bytes = hello.to_bytes();
        let mut expected = vec![1u8];
        expected.extend_from_slice(&id.public().0);
        expected.extend_from_slice(&[0x11; 32]);
        expected.push(55);
        expected.extend_from_slice(b"sha-256 00:01:02:03:04:05:06:07:08:09:0A:0B:0C:0D:0E:0F");
        expected.push(55);
        expected.extend_from_slice(b"sha-256 F0:F1:F2:F3:F4:F5:F6:F7:F8:F9:FA:FB:FC:FD:FE:FF");
        expected.extend_from_slice(b"\x02s1\x02s2\x00\x02Al");
        assert_eq!(&bytes[..bytes.len() - 64], &expected[..]);
        // Ed25519 is deterministic, so the signature is pinned too.
        let sig_hex: String = bytes[bytes.len() - 64..]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(sig_hex, GOLDEN_SIGNATURE_HEX);
        assert_eq!(hello.verify(&ctx.reversed()), Ok(()));
    }

    const GOLDEN_SIGNATURE_HEX: &str = "b8e39e5548ea83d178242cc17aee0e8f44ca799a3d6f4537617c05c771af4677b4cbfea0dab19974eb1038041550fdc88a00599c7c1868f3dd3685a1cb76fc01";

    fn arb_ctx() -> impl Strategy<Value = HelloContext> {
        (
            any::<[u8; 32]>(),
            proptest::collection::vec(any::<u8>(), 16..=64),
            proptest::collection::vec(any::<u8>(), 16..=64),
            "[a-zA-Z0-9_-]{1,128}",
            "[a-zA-Z0-9_-]{1,128}",
        )
            .prop_map(|(room, a, b, s1, s2)| {
                let fp = |v: Vec<u8>| {
                    let hex: Vec<String> = v.iter().map(|x| format!("{x:02x}")).collect();
                    format!("sha-512 {}", hex.join(":"))
                };
                HelloContext::new(RoomId(room), &fp(a), &fp(b), &s1, &s2)
                    .expect("generated context is valid")
            })
    }

    fn arb_name() -> impl Strategy<Value = String> {
        "[^\\p{Cc}\u{061C}\u{200E}\u{200F}\u{202A}-\u{202E}\u{2066}-\u{2069}]{1,64}"
            .prop_filter("not blank, within byte limit", |s| {
                !s.trim().is_empty() && s.len() <= MAX_DISPLAY_NAME_BYTES
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn hellos_round_trip_and_verify(ctx in arb_ctx(), name in arb_name(), seed in any::<u64>()) {
            let hello = Hello::new(&identity(seed), &name, &ctx).expect("valid name");
            let bytes = hello.to_bytes();
            prop_assert!(bytes.len() <= MAX_HELLO_LEN);
            let back = Hello::from_bytes(&bytes).expect("round trip");
            prop_assert_eq!(&back, &hello);
            prop_assert_eq!(back.verify(&ctx.reversed()), Ok(()));
        }

        #[test]
        fn any_changed_byte_of_a_hello_fails(idx in any::<prop::sample::Index>(), flip in 1u8..=255) {
            let ctx = alice_ctx();
            let mut bytes = alice_hello().to_bytes();
            let i = idx.index(bytes.len());
            bytes[i] ^= flip;
            let outcome = Hello::from_bytes(&bytes).and_then(|h| h.verify(&ctx.reversed()));
            prop_assert!(outcome.is_err());
        }

        #[test]
        fn decoding_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..1200)) {
            let _ = Hello::from_bytes(&bytes);
        }

        #[test]
        fn decoding_a_mutated_valid_prefix_never_panics(cut in 0usize..400, tail in proptest::collection::vec(any::<u8>(), 0..64)) {
            let mut bytes = alice_hello().to_bytes();
            bytes.truncate(cut.min(bytes.len()));
            bytes.extend_from_slice(&tail);
            let _ = Hello::from_bytes(&bytes);
        }

        #[test]
        fn sdp_parsing_never_panics(s in ".{0,400}") {
            let _ = dtls_fingerprint_from_sdp(&s);
            let _ = normalize_dtls_fingerprint(&s);
            let _ = validate_display_name(&s);
        }
    }
}
