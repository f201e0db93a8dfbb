//! Keepers: handing a room's invite to an always-online peer, sealed to its key.
//!
//! # What
//!
//! A *keeper* is a native peer that stays online so a room's history survives while no
//! member is. It waits in a signaling room named by its key, its mailbox ([`mailbox_id`]). A
//! member who wants a room kept joins the mailbox too and sends the keeper's session the
//! room's invite ([`Gift`]) sealed to the keeper's key ([`seal_invite`]). The keeper opens it
//! ([`open_invite`]), decides, and answers once, sealed ([`ReplyKey::seal_reply`]); the
//! member opens the answer with what it kept ([`PendingInvite::open_reply`]).
//!
//! # Why
//!
//! The server relays opaque text. It learns that someone wrote to a keeper's mailbox, not
//! which room: only the holder of the keeper's secret key opens the invite (sealed with a
//! fresh ephemeral X25519 key each time; whoever later learns the keeper's secret key could
//! open invites recorded earlier), and only the member who sealed it opens the answer. Both signaling session ids
//! go into the keys, so a blob replayed to another session, or reflected to its sender, does
//! not open. The keeper's Ed25519 key serves as its X25519 key (the birational map, as
//! libsodium's `crypto_sign_ed25519_pk_to_curve25519`), so a member needs nothing beyond
//! the key it already has to name the keeper.
//!
//! # Format (version 1)
//!
//! ```text
//! mailbox   = lowercase hex of SHA-256("natter/v1/keeper-mailbox" 0x00 || keeper key)
//! k_pub     = the keeper key's Montgomery u-coordinate (X25519 public key)
//! k_sec     = the first 32 bytes of SHA-512(keeper seed), the scalar Ed25519 clamps
//! e         = 32 bytes from the member's RNG;  eph_pub = X25519(e, 9)
//! shared    = X25519(e, k_pub) = X25519(k_sec, eph_pub)   (all zero: refused)
//! prk       = HKDF-SHA256-Extract(salt = "natter/v1/keeper-invite", shared)
//! info      = eph_pub || keeper key || u32be(len from) || from || u32be(len to) || to
//! k_invite || k_reply = HKDF-Expand(prk, info, 64)
//! seal_k(p) = ChaCha20-Poly1305(k, nonce = 12 zero bytes, ad = 0x01 || kind, p)
//! ```
//!
//! `from` and `to` are the member's and the keeper's session ids in the mailbox (UTF-8),
//! the same in both directions. Each key seals one message: every invite draws a fresh
//! `e`, and a [`ReplyKey`] is consumed by its one reply.
//!
//! Every blob is base64url without padding of `0x01 (version) || kind || body`:
//!
//! | kind | from | body |
//! | --- | --- | --- |
//! | 1 | member | eph_pub (32) \|\| seal_invite(gift) |
//! | 2 | keeper | seal_reply(reply) |
//!
//! `gift` is the join code's ([`crate::joincode`]): `flags || [password_key] || invite
//! payload`. `reply` is `0x01 || name` (kept; the keeper's display name in UTF-8) or
//! `0x02 || reason` (refused; 1 full, 2 invalid invite).
//!
//! # Bounds
//!
//! | what | bound |
//! | --- | --- |
//! | a blob | [`MAX_KEEPER_BLOB_CHARS`] characters, refused unread above |
//! | a session id | [`MAX_SESSION_ID_BYTES`] bytes |
//! | the invite payload in a gift | [`crate::joincode::MAX_GIFT_PAYLOAD_BYTES`] bytes |
//! | the keeper's name | [`crate::hello::MAX_DISPLAY_NAME_BYTES`] bytes, and shown only if [`crate::hello::validate_display_name`] accepts it |

use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::ChaCha20Poly1305;
use curve25519_dalek::montgomery::MontgomeryPoint;
use hkdf::Hkdf;
use rand_core::{CryptoRng, RngCore};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::identity::{Identity, PublicKey};
use crate::joincode::Gift;

/// The longest blob either side reads, in characters of its base64 text. The largest invite
/// (a room name of 255 bytes, a password key) is about 630 characters.
pub const MAX_KEEPER_BLOB_CHARS: usize = 1024;
/// The longest signaling session id bound into the keys.
pub const MAX_SESSION_ID_BYTES: usize = 256;

const VERSION: u8 = 1;
const KIND_INVITE: u8 = 1;
const KIND_REPLY: u8 = 2;
const EPH_LEN: usize = 32;
const TAG_LEN: usize = 16;
const MAILBOX_DOMAIN: &[u8] = b"natter/v1/keeper-mailbox\0";
const KEY_SALT: &[u8] = b"natter/v1/keeper-invite";
const REPLY_KEPT: u8 = 1;
const REPLY_REFUSED: u8 = 2;
const REFUSED_FULL: u8 = 1;
const REFUSED_INVALID: u8 = 2;

/// Why a keeper blob could not be made or opened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeeperError {
    /// Not a keeper message of this version and kind.
    #[error("this is not a message for a keeper (damaged, or of another kind)")]
    Malformed,
    /// It does not open: sealed to another key or for other sessions, or altered.
    #[error("this message was not sealed for this keeper and session, or it was altered")]
    WrongKey,
    /// Longer than [`MAX_KEEPER_BLOB_CHARS`].
    #[error("this message is longer than any keeper message")]
    TooLong,
    /// The keeper's key is not an Ed25519 key one can seal to.
    #[error("that is not a keeper's key")]
    BadKey,
    /// A session id is longer than [`MAX_SESSION_ID_BYTES`].
    #[error("the server gave a session id that is too long")]
    SessionTooLong,
    /// The gift cannot be handed over (too large, or a password key missing or not needed).
    #[error("this room's invite cannot be handed to a keeper")]
    BadGift,
    /// The keeper's answer names it with a name that cannot be shown.
    #[error("the keeper's name cannot be shown: {0}")]
    BadName(String),
}

/// Why a keeper declined a room.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// It keeps as many rooms or bytes as it is allowed to.
    Full,
    /// It could not use the invite.
    Invalid,
}

/// A keeper's answer to an invite.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeeperReply {
    /// It keeps the room from now on.
    Kept {
        /// Its display name.
        name: String,
    },
    /// It declined.
    Refused(Refusal),
}

/// The name of a keeper's mailbox: the signaling room it waits in (64 lowercase hex
/// characters, see the module doc).
pub fn mailbox_id(keeper: &PublicKey) -> String {
    let mut h = Sha256::new();
    h.update(MAILBOX_DOMAIN);
    h.update(keeper.as_bytes());
    crate::hex::encode(&h.finalize())
}

/// The member's side after sealing an invite: what opens the keeper's answer.
pub struct PendingInvite {
    key: Zeroizing<[u8; 32]>,
}

impl fmt::Debug for PendingInvite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PendingInvite").finish_non_exhaustive()
    }
}

/// The keeper's side after opening an invite: what seals its one answer.
pub struct ReplyKey {
    key: Zeroizing<[u8; 32]>,
}

impl fmt::Debug for ReplyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReplyKey").finish_non_exhaustive()
    }
}

/// The invite and reply keys of one invite.
struct Keys {
    invite: Zeroizing<[u8; 32]>,
    reply: Zeroizing<[u8; 32]>,
}

fn derive(
    shared: &MontgomeryPoint,
    eph_pub: &[u8; EPH_LEN],
    keeper: &PublicKey,
    from: &str,
    to: &str,
) -> Result<Keys, KeeperError> {
    // A small-order point on either side makes the shared secret all zero, known to all.
    if shared.as_bytes().iter().all(|b| *b == 0) {
        return Err(KeeperError::WrongKey);
    }
    let mut info = Vec::with_capacity(2 * 32 + 8 + from.len() + to.len());
    info.extend_from_slice(eph_pub);
    info.extend_from_slice(keeper.as_bytes());
    for session in [from, to] {
        if session.len() > MAX_SESSION_ID_BYTES {
            return Err(KeeperError::SessionTooLong);
        }
        // At most MAX_SESSION_ID_BYTES, far below u32::MAX.
        info.extend_from_slice(&(session.len() as u32).to_be_bytes());
        info.extend_from_slice(session.as_bytes());
    }
    let hk = Hkdf::<Sha256>::new(Some(KEY_SALT), shared.as_bytes());
    let mut okm = Zeroizing::new([0u8; 64]);
    // 64 bytes is far below HKDF-SHA256's limit of 8160.
    let _ = hk.expand(&info, &mut okm[..]);
    let mut invite = Zeroizing::new([0u8; 32]);
    let mut reply = Zeroizing::new([0u8; 32]);
    invite.copy_from_slice(&okm[..32]);
    reply.copy_from_slice(&okm[32..]);
    Ok(Keys { invite, reply })
}

fn seal(key: &[u8; 32], kind: u8, plaintext: &[u8]) -> Vec<u8> {
    // Each key seals exactly one message, so the fixed nonce is never reused.
    ChaCha20Poly1305::new(key.into())
        .encrypt(
            &[0u8; 12].into(),
            Payload {
                msg: plaintext,
                aad: &[VERSION, kind],
            },
        )
        .unwrap_or_default()
}

fn open(key: &[u8; 32], kind: u8, sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, KeeperError> {
    ChaCha20Poly1305::new(key.into())
        .decrypt(
            &[0u8; 12].into(),
            Payload {
                msg: sealed,
                aad: &[VERSION, kind],
            },
        )
        .map(Zeroizing::new)
        .map_err(|_| KeeperError::WrongKey)
}

/// The body of a blob of `kind`: bounded before it is decoded.
fn body(text: &str, kind: u8) -> Result<Vec<u8>, KeeperError> {
    if text.len() > MAX_KEEPER_BLOB_CHARS {
        return Err(KeeperError::TooLong);
    }
    let bytes = URL_SAFE_NO_PAD
        .decode(text)
        .map_err(|_| KeeperError::Malformed)?;
    match bytes.as_slice() {
        [VERSION, k, rest @ ..] if *k == kind => Ok(rest.to_vec()),
        _ => Err(KeeperError::Malformed),
    }
}

fn blob(kind: u8, parts: &[&[u8]]) -> String {
    let mut bytes = vec![VERSION, kind];
    for p in parts {
        bytes.extend_from_slice(p);
    }
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Member: seals `gift` to the keeper's key. `from` and `to` are the member's and the
/// keeper's signaling session ids in the mailbox; they are bound into the keys, so a blob
/// replayed to another session does not open. Returns the blob to send and what opens the
/// answer.
pub fn seal_invite<R: RngCore + CryptoRng>(
    keeper: &PublicKey,
    gift: &Gift,
    from: &str,
    to: &str,
    rng: &mut R,
) -> Result<(String, PendingInvite), KeeperError> {
    let k_pub = ed25519_dalek::VerifyingKey::from_bytes(keeper.as_bytes())
        .map_err(|_| KeeperError::BadKey)?
        .to_montgomery();
    let plaintext = Zeroizing::new(gift.encode());
    // What the keeper would refuse is refused here, where the member can be told.
    if Gift::decode(&plaintext).is_none() {
        return Err(KeeperError::BadGift);
    }
    let mut e = Zeroizing::new([0u8; 32]);
    rng.fill_bytes(&mut e[..]);
    let eph_pub = MontgomeryPoint::mul_base_clamped(*e).to_bytes();
    let shared = Zeroizing::new(k_pub.mul_clamped(*e));
    let keys = derive(&shared, &eph_pub, keeper, from, to).map_err(|err| match err {
        // Only a small-order keeper key makes the secret zero.
        KeeperError::WrongKey => KeeperError::BadKey,
        other => other,
    })?;
    let sealed = seal(&keys.invite, KIND_INVITE, &plaintext);
    Ok((
        blob(KIND_INVITE, &[&eph_pub, &sealed]),
        PendingInvite { key: keys.reply },
    ))
}

/// Keeper: opens an invite that session `from` sent to our session `to` in our mailbox.
pub fn open_invite(
    me: &Identity,
    blob: &str,
    from: &str,
    to: &str,
) -> Result<(Gift, ReplyKey), KeeperError> {
    let b = body(blob, KIND_INVITE)?;
    if b.len() < EPH_LEN + TAG_LEN {
        return Err(KeeperError::Malformed);
    }
    let (eph, sealed) = b.split_at(EPH_LEN);
    let mut eph_pub = [0u8; EPH_LEN];
    eph_pub.copy_from_slice(eph);
    let shared = Zeroizing::new(MontgomeryPoint(eph_pub).mul_clamped(*me.x25519_secret()));
    let keys = derive(&shared, &eph_pub, &me.public(), from, to)?;
    let plaintext = open(&keys.invite, KIND_INVITE, sealed)?;
    let gift = Gift::decode(&plaintext).ok_or(KeeperError::Malformed)?;
    Ok((gift, ReplyKey { key: keys.reply }))
}

impl ReplyKey {
    /// Seals the keeper's one answer to the invite (the key is used up: its nonce is fixed).
    pub fn seal_reply(self, reply: &KeeperReply) -> String {
        let plaintext = match reply {
            KeeperReply::Kept { name } => {
                let mut p = vec![REPLY_KEPT];
                p.extend_from_slice(name.as_bytes());
                p
            }
            KeeperReply::Refused(why) => vec![
                REPLY_REFUSED,
                match why {
                    Refusal::Full => REFUSED_FULL,
                    Refusal::Invalid => REFUSED_INVALID,
                },
            ],
        };
        blob(KIND_REPLY, &[&seal(&self.key, KIND_REPLY, &plaintext)])
    }
}

impl PendingInvite {
    /// Opens the keeper's answer to our invite.
    pub fn open_reply(&self, blob: &str) -> Result<KeeperReply, KeeperError> {
        let sealed = body(blob, KIND_REPLY)?;
        let plaintext = open(&self.key, KIND_REPLY, &sealed)?;
        match plaintext.as_slice() {
            [REPLY_KEPT, name @ ..] => {
                let name = std::str::from_utf8(name).map_err(|_| KeeperError::Malformed)?;
                crate::hello::validate_display_name(name)
                    .map_err(|e| KeeperError::BadName(e.to_string()))?;
                Ok(KeeperReply::Kept {
                    name: name.to_owned(),
                })
            }
            [REPLY_REFUSED, REFUSED_FULL] => Ok(KeeperReply::Refused(Refusal::Full)),
            [REPLY_REFUSED, REFUSED_INVALID] => Ok(KeeperReply::Refused(Refusal::Invalid)),
            _ => Err(KeeperError::Malformed),
        }
    }
}
