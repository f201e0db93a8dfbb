//! Signed per-author append-only logs, and the room view materialised from them.
//!
//! # What
//!
//! Every author keeps one append-only log per room. An [`Entry`] is
//! `{room_id, author, seq, prev_hash, lamport, wall_ms, body, signature}`:
//!
//! - `seq` counts the author's entries in this room, starting at 1;
//! - `prev_hash` is the [`EntryId`] of the author's entry `seq - 1` (all zero for `seq == 1`),
//!   so each log is a hash chain and a log's head id commits to all of it;
//! - `lamport` is a Lamport clock: one more than the largest lamport the author had seen;
//! - `wall_ms` is the author's wall clock, for display only (it orders nothing);
//! - `signature` is the author's Ed25519 signature over the signed part.
//!
//! The [`EntryId`] is the SHA-256 of the entry's full canonical bytes, signature included.
//!
//! # Canonical encoding (version 1)
//!
//! Hand-written, deterministic, big-endian, every variable field length-prefixed:
//!
//! ```text
//! signed part := version:u8 (=1) room_id:[32] author:[32] seq:u64 prev_hash:[32]
//!                lamport:u64 wall_ms:u64 body
//! body        := tag:u8 fields...
//!   1 Text       text:str reply_to:opt_id
//!   2 Edit       target:[32] text:str
//!   3 Delete     target:[32]
//!   4 Reaction   target:[32] emoji:str
//!   5 Attachment digest:[32] size:u64 mime:str name:str
//!   6 Profile    display_name:str
//!   7 Keeper     key:[32] keep:u8 (0 or 1)
//!   8 File       root:[32] size:u64 mime:str name:str thumb:opt_bytes
//! str         := len:u32 utf8-bytes
//! opt_bytes   := 0 | 1 len:u32 bytes
//! opt_id      := 0 | 1 id:[32]
//! entry bytes := signed part || signature:[64]
//! signed msg  := "natter/entry/v1" 0x00 || signed part      (domain separation)
//! ```
//!
//! `Attachment` (5) names a file by a whole-file digest that cannot be checked chunk by chunk
//! and is shown but never fetched; `File` (8) names it by its [`crate::blob::Root`], so every
//! chunk pulled from a stranger is verified on arrival, and carries the sender's thumbnail
//! (a JPEG of at most [`MAX_THUMB_BYTES`]) so an image shows before any chunk arrives.
//!
//! Decoding is total and strict: it rejects unknown versions and tags, truncated input,
//! trailing bytes, non-UTF-8 strings, out-of-range option markers and over-long fields. So a
//! byte string decodes to at most one entry, re-encoding reproduces it exactly, and the id
//! can be computed from the received bytes without re-encoding.
//!
//! # Invariants kept by [`RoomLog`]
//!
//! - Only entries that passed [`Record::verify`] (room, signature, field bounds) are given to
//!   [`RoomLog::append`]; the log itself checks `seq` and the `prev_hash` chain: whenever
//!   entries `s` and `s + 1` of an author are both held, `s + 1` names `s`.
//! - Two different entries with the same `(author, seq)`, or a validly signed entry whose
//!   `prev_hash` is not the id of the held predecessor (or whose id is not what the held
//!   successor names), prove that the author forked its log (equivocation). The first entry
//!   is kept, the author is flagged, and none of the author's later entries are accepted.
//!
//! # Runs and floors
//!
//! Usually an author's held entries are exactly `1..=top`. Two things leave gaps:
//!
//! - A peer that keeps only recent history (a keeper with a retention setting) drops the
//!   oldest entries with [`RoomLog::prune_through`]. What it dropped is its *floor*: the
//!   seq and id of the last dropped entry. Entries at or below it are refused from then on,
//!   the next one must name it, and an author whose entries were all dropped still has a
//!   head (the floor), so nothing dropped is fetched again.
//! - A peer that fetched from such a keeper holds the *top run* `base+1..=top` without the
//!   entries below, and perhaps older runs it held before. [`RoomLog::insert`] with
//!   `detached` starts such a run; the sync machine decides when (see `crate::sync`).
//!
//! Every held entry is signed by its author, so a gap hides messages but never changes
//! one; gaps close as peers that hold the entries supply them.
//! - Display order is `(lamport, author, seq)`: a total order every peer computes alike.
//! - The room's keepers ([`RoomLog::keepers`], [`RoomView::keepers`]) are the keys whose
//!   latest `Keeper` entry in display order says `keep`. Any member may sign one: a keeper
//!   only holds and serves what members signed, so naming one grants it nothing beyond what
//!   the invite it was handed already did.
//!
//! Persistence is not done here: the sync state machine emits `Store` outputs that the driver
//! executes (see `crate::sync`). [`RoomLog`] is the in-memory index (and copy) of what is held.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use sha2::{Digest, Sha256};

use crate::blob::{Root, MAX_FILE_LEN};
use crate::identity::{Identity, PublicKey, Signature, SIGNATURE_LEN};
use crate::room::RoomId;

/// Version byte of the entry encoding.
pub const ENTRY_VERSION: u8 = 1;
/// Domain separation tag prefixed to the signed part before signing.
pub const ENTRY_SIGNING_DOMAIN: &[u8] = b"natter/entry/v1\0";
/// Maximum length of a text (in Unicode scalar values) in `Text` and `Edit` bodies.
pub const MAX_TEXT_CHARS: usize = 10_000;
/// The largest Lamport time a new entry of ours follows ([`RoomLog::max_lamport`]). Larger
/// ones are held and sorted as signed, but a member who signs one (up to `u64::MAX`) does
/// not make every later post tie at the top and fall back to sorting by author key: at one
/// post a millisecond, 2^53 lasts 285,000 years.
pub const MAX_LAMPORT_FOLLOWED: u64 = 1 << 53;
/// Maximum bytes of a text: every char is at most 4 bytes of UTF-8.
pub const MAX_TEXT_BYTES: usize = MAX_TEXT_CHARS * 4;
/// Maximum bytes of a reaction emoji.
pub const MAX_EMOJI_BYTES: usize = 32;
/// Maximum bytes of an attachment's MIME type.
pub const MAX_MIME_BYTES: usize = 127;
/// Maximum bytes of an attachment's file name.
pub const MAX_FILE_NAME_BYTES: usize = 255;
/// Maximum bytes of a `File` entry's thumbnail.
pub const MAX_THUMB_BYTES: usize = 24 * 1024;
/// Maximum length of a display name in Unicode scalar values.
pub const MAX_DISPLAY_NAME_CHARS: usize = 64;
/// Maximum bytes of a display name.
pub const MAX_DISPLAY_NAME_BYTES: usize = MAX_DISPLAY_NAME_CHARS * 4;
/// Fixed bytes of an entry: header (version, room, author, seq, prev, lamport, wall) and
/// signature, without the body.
pub const ENTRY_FIXED_LEN: usize = 1 + 32 + 32 + 8 + 32 + 8 + 8 + SIGNATURE_LEN;
/// Upper bound on the encoded length of any valid entry (the largest body is a maximal
/// `Text` with a reply: tag, length prefix, text, option marker, id).
pub const MAX_ENTRY_LEN: usize = ENTRY_FIXED_LEN + 1 + 4 + MAX_TEXT_BYTES + 1 + 32;
const _: () = assert!(
    1 + 32 + 8 + 4 + MAX_MIME_BYTES + 4 + MAX_FILE_NAME_BYTES + 1 + 4 + MAX_THUMB_BYTES
        <= 1 + 4 + MAX_TEXT_BYTES + 1 + 32,
    "the largest body is a text, as MAX_ENTRY_LEN assumes"
);
/// Smallest possible encoded entry (a `Profile` with an empty name: tag and length prefix).
pub const MIN_ENTRY_LEN: usize = ENTRY_FIXED_LEN + 1 + 4;

/// Errors from decoding, building or verifying entries.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LogError {
    /// The input ended before the value did.
    #[error("truncated input")]
    Truncated,
    /// Bytes were left over after the value.
    #[error("{0} trailing bytes after the entry")]
    TrailingBytes(usize),
    /// The entry encoding version is not one this build understands.
    #[error("unknown entry version {0} (this build understands version {ENTRY_VERSION})")]
    UnknownVersion(u8),
    /// The body tag is not known.
    #[error("unknown body tag {0}")]
    UnknownBody(u8),
    /// An option marker was neither 0 nor 1.
    #[error("invalid option marker {0}")]
    BadMarker(u8),
    /// A string was not UTF-8.
    #[error("string field `{0}` is not UTF-8")]
    InvalidUtf8(&'static str),
    /// A field exceeds its bound.
    #[error("field `{field}` is longer than {max}")]
    TooLong {
        /// The field.
        field: &'static str,
        /// Its bound (characters or bytes, as documented on the constant).
        max: usize,
    },
    /// A reaction's emoji is empty.
    #[error("empty emoji")]
    EmptyEmoji,
    /// The whole entry is larger than [`MAX_ENTRY_LEN`].
    #[error("entry of {0} bytes exceeds the maximum")]
    EntryTooLarge(usize),
    /// `seq` was zero.
    #[error("sequence numbers start at 1")]
    ZeroSeq,
    /// The first entry of a log must have an all-zero `prev_hash`.
    #[error("the first entry of a log must have a zero prev_hash")]
    FirstEntryHasPrev,
    /// The entry belongs to another room.
    #[error("entry belongs to another room")]
    WrongRoom,
    /// The author's public key is not a valid key.
    #[error("invalid author key")]
    InvalidAuthor,
    /// The signature does not verify.
    #[error("bad signature")]
    BadSignature,
}

/// An entry's id: SHA-256 of its full canonical bytes (signature included).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct EntryId(pub [u8; 32]);

impl EntryId {
    /// The all-zero id, used as `prev_hash` of a log's first entry.
    pub const ZERO: EntryId = EntryId([0; 32]);

    /// The id of the given canonical entry bytes.
    pub fn of_bytes(bytes: &[u8]) -> EntryId {
        EntryId(Sha256::digest(bytes).into())
    }

    /// Lower-case hex of all 32 bytes.
    pub fn to_hex(&self) -> String {
        crate::hex::encode(&self.0)
    }

    /// Parses the form made by [`EntryId::to_hex`] (either case); `None` unless the input is
    /// exactly 64 hex digits.
    pub fn from_hex(hex: &str) -> Option<EntryId> {
        crate::hex::decode32(hex).map(EntryId)
    }
}

impl std::fmt::Debug for EntryId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "EntryId({:02x}{:02x}{:02x}{:02x}..)",
            self.0[0], self.0[1], self.0[2], self.0[3]
        )
    }
}

/// What an entry says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    /// A chat message, optionally replying to another entry.
    Text {
        /// The message (at most [`MAX_TEXT_CHARS`] characters).
        text: String,
        /// The entry this replies to.
        reply_to: Option<EntryId>,
    },
    /// Replaces the text of one of the author's own earlier `Text` entries.
    Edit {
        /// The entry edited.
        target: EntryId,
        /// The new text (at most [`MAX_TEXT_CHARS`] characters).
        text: String,
    },
    /// Tombstones one of the author's own earlier entries (a message or a reaction).
    Delete {
        /// The entry deleted.
        target: EntryId,
    },
    /// A reaction to an entry.
    Reaction {
        /// The entry reacted to.
        target: EntryId,
        /// The reaction (1 to [`MAX_EMOJI_BYTES`] bytes).
        emoji: String,
    },
    /// A reference to a file whose bytes travel separately, named by digest.
    Attachment {
        /// SHA-256 of the file's bytes.
        digest: [u8; 32],
        /// Size of the file in bytes.
        size: u64,
        /// MIME type (at most [`MAX_MIME_BYTES`] bytes).
        mime: String,
        /// File name (at most [`MAX_FILE_NAME_BYTES`] bytes).
        name: String,
    },
    /// A file whose bytes travel separately, chunk by chunk ([`crate::blob`]).
    File(FileRef),
    /// The author's display name in this room from now on.
    Profile {
        /// The name (at most [`MAX_DISPLAY_NAME_CHARS`] characters).
        display_name: String,
    },
    /// `key` keeps the room from now on (`keep`), or stops keeping it: a keeper is an
    /// always-online peer a member invited ([`crate::keeper`]) so the history survives while
    /// no member is online.
    Keeper {
        /// The keeper's key.
        key: PublicKey,
        /// Keeps the room (`true`) or no longer does (`false`).
        keep: bool,
    },
}

impl Body {
    /// Checks every field bound.
    pub fn validate(&self) -> Result<(), LogError> {
        fn text(t: &str) -> Result<(), LogError> {
            if t.len() > MAX_TEXT_BYTES || t.chars().count() > MAX_TEXT_CHARS {
                return Err(LogError::TooLong {
                    field: "text",
                    max: MAX_TEXT_CHARS,
                });
            }
            Ok(())
        }
        fn bytes(field: &'static str, s: &str, max: usize) -> Result<(), LogError> {
            if s.len() > max {
                return Err(LogError::TooLong { field, max });
            }
            Ok(())
        }
        match self {
            Body::Text { text: t, .. } | Body::Edit { text: t, .. } => text(t),
            Body::Delete { .. } | Body::Keeper { .. } => Ok(()),
            Body::Reaction { emoji, .. } => {
                if emoji.is_empty() {
                    return Err(LogError::EmptyEmoji);
                }
                bytes("emoji", emoji, MAX_EMOJI_BYTES)
            }
            Body::Attachment { mime, name, .. } => {
                bytes("mime", mime, MAX_MIME_BYTES)?;
                bytes("name", name, MAX_FILE_NAME_BYTES)
            }
            Body::File(f) => {
                bytes("mime", &f.mime, MAX_MIME_BYTES)?;
                bytes("name", &f.name, MAX_FILE_NAME_BYTES)?;
                if f.size > MAX_FILE_LEN {
                    return Err(LogError::TooLong {
                        field: "size",
                        max: MAX_FILE_LEN as usize,
                    });
                }
                match &f.thumb {
                    Some(t) if t.len() > MAX_THUMB_BYTES => Err(LogError::TooLong {
                        field: "thumb",
                        max: MAX_THUMB_BYTES,
                    }),
                    _ => Ok(()),
                }
            }
            Body::Profile { display_name } => {
                if display_name.len() > MAX_DISPLAY_NAME_BYTES
                    || display_name.chars().count() > MAX_DISPLAY_NAME_CHARS
                {
                    return Err(LogError::TooLong {
                        field: "display_name",
                        max: MAX_DISPLAY_NAME_CHARS,
                    });
                }
                Ok(())
            }
        }
    }

    /// The entry this body refers to, if any.
    pub fn target(&self) -> Option<EntryId> {
        match self {
            Body::Text { reply_to, .. } => *reply_to,
            Body::Edit { target, .. } | Body::Delete { target } | Body::Reaction { target, .. } => {
                Some(*target)
            }
            Body::Attachment { .. }
            | Body::File(_)
            | Body::Profile { .. }
            | Body::Keeper { .. } => None,
        }
    }

    fn encode_into(&self, out: &mut Vec<u8>) {
        fn put_str(out: &mut Vec<u8>, s: &str) {
            // Bodies are validated before encoding, so every string is far below u32::MAX.
            out.extend_from_slice(&(s.len() as u32).to_be_bytes());
            out.extend_from_slice(s.as_bytes());
        }
        match self {
            Body::Text { text, reply_to } => {
                out.push(1);
                put_str(out, text);
                match reply_to {
                    None => out.push(0),
                    Some(id) => {
                        out.push(1);
                        out.extend_from_slice(&id.0);
                    }
                }
            }
            Body::Edit { target, text } => {
                out.push(2);
                out.extend_from_slice(&target.0);
                put_str(out, text);
            }
            Body::Delete { target } => {
                out.push(3);
                out.extend_from_slice(&target.0);
            }
            Body::Reaction { target, emoji } => {
                out.push(4);
                out.extend_from_slice(&target.0);
                put_str(out, emoji);
            }
            Body::Attachment {
                digest,
                size,
                mime,
                name,
            } => {
                out.push(5);
                out.extend_from_slice(digest);
                out.extend_from_slice(&size.to_be_bytes());
                put_str(out, mime);
                put_str(out, name);
            }
            Body::File(f) => {
                out.push(8);
                out.extend_from_slice(&f.root.0);
                out.extend_from_slice(&f.size.to_be_bytes());
                put_str(out, &f.mime);
                put_str(out, &f.name);
                match &f.thumb {
                    None => out.push(0),
                    Some(t) => {
                        out.push(1);
                        out.extend_from_slice(&(t.len() as u32).to_be_bytes());
                        out.extend_from_slice(t);
                    }
                }
            }
            Body::Profile { display_name } => {
                out.push(6);
                put_str(out, display_name);
            }
            Body::Keeper { key, keep } => {
                out.push(7);
                out.extend_from_slice(&key.0);
                out.push(u8::from(*keep));
            }
        }
    }

    fn decode(r: &mut Reader<'_>) -> Result<Body, LogError> {
        let body = match r.u8()? {
            1 => {
                let text = r.str("text", MAX_TEXT_BYTES)?;
                let reply_to = match r.u8()? {
                    0 => None,
                    1 => Some(EntryId(r.array()?)),
                    m => return Err(LogError::BadMarker(m)),
                };
                Body::Text { text, reply_to }
            }
            2 => {
                let target = EntryId(r.array()?);
                let text = r.str("text", MAX_TEXT_BYTES)?;
                Body::Edit { target, text }
            }
            3 => Body::Delete {
                target: EntryId(r.array()?),
            },
            4 => {
                let target = EntryId(r.array()?);
                let emoji = r.str("emoji", MAX_EMOJI_BYTES)?;
                Body::Reaction { target, emoji }
            }
            5 => Body::Attachment {
                digest: r.array()?,
                size: r.u64()?,
                mime: r.str("mime", MAX_MIME_BYTES)?,
                name: r.str("name", MAX_FILE_NAME_BYTES)?,
            },
            6 => Body::Profile {
                display_name: r.str("display_name", MAX_DISPLAY_NAME_BYTES)?,
            },
            7 => Body::Keeper {
                key: PublicKey(r.array()?),
                keep: match r.u8()? {
                    0 => false,
                    1 => true,
                    m => return Err(LogError::BadMarker(m)),
                },
            },
            8 => Body::File(FileRef {
                root: Root(r.array()?),
                size: r.u64()?,
                mime: r.str("mime", MAX_MIME_BYTES)?,
                name: r.str("name", MAX_FILE_NAME_BYTES)?,
                thumb: match r.u8()? {
                    0 => None,
                    1 => {
                        let n = r.u32()? as usize;
                        if n > MAX_THUMB_BYTES {
                            return Err(LogError::TooLong {
                                field: "thumb",
                                max: MAX_THUMB_BYTES,
                            });
                        }
                        Some(r.bytes(n)?.to_vec())
                    }
                    m => return Err(LogError::BadMarker(m)),
                },
            }),
            t => return Err(LogError::UnknownBody(t)),
        };
        body.validate()?;
        Ok(body)
    }
}

/// What a `File` entry says of its file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileRef {
    /// The root of its chunk tree, which also fixes its length.
    pub root: Root,
    /// Its length in bytes (at most [`MAX_FILE_LEN`]).
    pub size: u64,
    /// MIME type as the sender claimed it (at most [`MAX_MIME_BYTES`] bytes; never trusted).
    pub mime: String,
    /// File name (at most [`MAX_FILE_NAME_BYTES`] bytes; shown as text only).
    pub name: String,
    /// A small JPEG the sender made of an image or video (at most [`MAX_THUMB_BYTES`]).
    pub thumb: Option<Vec<u8>>,
}

/// A signed log entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The room this entry belongs to.
    pub room_id: RoomId,
    /// The author, who signed it.
    pub author: PublicKey,
    /// Position in the author's log, from 1.
    pub seq: u64,
    /// Id of the author's entry `seq - 1`; zero for `seq == 1`.
    pub prev_hash: EntryId,
    /// Lamport clock: one more than the largest lamport the author had seen.
    pub lamport: u64,
    /// The author's wall clock in milliseconds since the Unix epoch (display only).
    pub wall_ms: u64,
    /// What the entry says.
    pub body: Body,
    /// The author's signature over [`ENTRY_SIGNING_DOMAIN`] and the signed part.
    pub signature: Signature,
}

/// The fields of an entry before signing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Draft {
    /// The room.
    pub room_id: RoomId,
    /// Position in the author's log, from 1.
    pub seq: u64,
    /// Id of the author's entry `seq - 1`; zero for `seq == 1`.
    pub prev_hash: EntryId,
    /// Lamport clock.
    pub lamport: u64,
    /// Wall clock (display only).
    pub wall_ms: u64,
    /// The body.
    pub body: Body,
}

impl Entry {
    /// Validates and signs `draft` with `identity`.
    pub fn sign(identity: &Identity, draft: Draft) -> Result<Entry, LogError> {
        if draft.seq == 0 {
            return Err(LogError::ZeroSeq);
        }
        if draft.seq == 1 && draft.prev_hash != EntryId::ZERO {
            return Err(LogError::FirstEntryHasPrev);
        }
        draft.body.validate()?;
        let mut entry = Entry {
            room_id: draft.room_id,
            author: identity.public(),
            seq: draft.seq,
            prev_hash: draft.prev_hash,
            lamport: draft.lamport,
            wall_ms: draft.wall_ms,
            body: draft.body,
            signature: Signature([0; SIGNATURE_LEN]),
        };
        let mut msg = ENTRY_SIGNING_DOMAIN.to_vec();
        entry.encode_signed_part(&mut msg);
        entry.signature = identity.sign(&msg);
        Ok(entry)
    }

    fn encode_signed_part(&self, out: &mut Vec<u8>) {
        out.push(ENTRY_VERSION);
        out.extend_from_slice(&self.room_id.0);
        out.extend_from_slice(&self.author.0);
        out.extend_from_slice(&self.seq.to_be_bytes());
        out.extend_from_slice(&self.prev_hash.0);
        out.extend_from_slice(&self.lamport.to_be_bytes());
        out.extend_from_slice(&self.wall_ms.to_be_bytes());
        self.body.encode_into(out);
    }

    /// The canonical bytes: signed part followed by the signature.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(ENTRY_FIXED_LEN + 64);
        self.encode_signed_part(&mut out);
        out.extend_from_slice(&self.signature.0);
        out
    }

    /// Decodes canonical bytes (structure and bounds only; see [`Record::verify`]).
    pub fn decode(bytes: &[u8]) -> Result<Entry, LogError> {
        if bytes.len() > MAX_ENTRY_LEN {
            return Err(LogError::EntryTooLarge(bytes.len()));
        }
        let mut r = Reader::new(bytes);
        let version = r.u8()?;
        if version != ENTRY_VERSION {
            return Err(LogError::UnknownVersion(version));
        }
        let room_id = RoomId(r.array()?);
        let author = PublicKey(r.array()?);
        let seq = r.u64()?;
        let prev_hash = EntryId(r.array()?);
        let lamport = r.u64()?;
        let wall_ms = r.u64()?;
        let body = Body::decode(&mut r)?;
        let signature = Signature(r.array()?);
        r.finish()?;
        if seq == 0 {
            return Err(LogError::ZeroSeq);
        }
        if seq == 1 && prev_hash != EntryId::ZERO {
            return Err(LogError::FirstEntryHasPrev);
        }
        Ok(Entry {
            room_id,
            author,
            seq,
            prev_hash,
            lamport,
            wall_ms,
            body,
            signature,
        })
    }

    /// This entry's id (encodes it; prefer [`Record::id`] when the bytes are at hand).
    pub fn id(&self) -> EntryId {
        EntryId::of_bytes(&self.encode())
    }

    /// The key this entry sorts by in display order.
    pub fn display_key(&self) -> (u64, PublicKey, u64) {
        (self.lamport, self.author, self.seq)
    }
}

/// An entry together with its canonical bytes and id, as held and stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// The entry's id.
    pub id: EntryId,
    /// The decoded entry.
    pub entry: Entry,
    /// Its canonical bytes.
    pub bytes: Vec<u8>,
}

impl Record {
    /// Wraps a freshly signed entry.
    pub fn from_entry(entry: Entry) -> Record {
        let bytes = entry.encode();
        Record {
            id: EntryId::of_bytes(&bytes),
            entry,
            bytes,
        }
    }

    /// Decodes canonical bytes and computes the id. Does not check the signature.
    pub fn from_bytes(bytes: &[u8]) -> Result<Record, LogError> {
        let entry = Entry::decode(bytes)?;
        Ok(Record {
            id: EntryId::of_bytes(bytes),
            entry,
            bytes: bytes.to_vec(),
        })
    }

    /// Checks that the entry belongs to `room` and that its signature verifies (strict
    /// Ed25519). Field bounds were checked when it was decoded or signed.
    pub fn verify(&self, room: &RoomId) -> Result<(), LogError> {
        let key = ed25519_dalek::VerifyingKey::from_bytes(&self.entry.author.0)
            .map_err(|_| LogError::InvalidAuthor)?;
        self.verify_with(room, &key)
    }

    /// As [`Record::verify`], with the author's key already decompressed (callers that
    /// verify many entries of one author cache it). The check is the same strict Ed25519
    /// verification as [`PublicKey::verify`].
    pub(crate) fn verify_with(
        &self,
        room: &RoomId,
        key: &ed25519_dalek::VerifyingKey,
    ) -> Result<(), LogError> {
        self.check_room_and_author(room, key)?;
        let sig = ed25519_dalek::Signature::from_bytes(&self.entry.signature.0);
        key.verify_strict(&self.signed_message(), &sig)
            .map_err(|_| LogError::BadSignature)
    }

    /// As [`Record::verify_with`] for an entry whose signature equation a caller already
    /// checked ([`SignatureCheck`]): everything but the curve arithmetic of the equation.
    pub(crate) fn verify_checked(
        &self,
        room: &RoomId,
        key: &ed25519_dalek::VerifyingKey,
    ) -> Result<(), LogError> {
        self.check_room_and_author(room, key)?;
        strict_prechecks(&self.entry.author.0, &self.entry.signature.0)
    }

    fn check_room_and_author(
        &self,
        room: &RoomId,
        key: &ed25519_dalek::VerifyingKey,
    ) -> Result<(), LogError> {
        if self.entry.room_id != *room {
            return Err(LogError::WrongRoom);
        }
        if key.as_bytes() != &self.entry.author.0 {
            return Err(LogError::InvalidAuthor);
        }
        Ok(())
    }

    /// What the signature covers: the domain, then the entry without its signature.
    fn signed_message(&self) -> Vec<u8> {
        let signed = &self.bytes[..self.bytes.len().saturating_sub(SIGNATURE_LEN)];
        let mut msg = Vec::with_capacity(ENTRY_SIGNING_DOMAIN.len() + signed.len());
        msg.extend_from_slice(ENTRY_SIGNING_DOMAIN);
        msg.extend_from_slice(signed);
        msg
    }

    /// The signature check of this entry for a caller's own Ed25519 verifier, or `None`
    /// when the entry fails the strict checks such a verifier may skip (then only
    /// [`Record::verify`] decides, and it rejects the entry).
    pub fn signature_check(&self) -> Option<SignatureCheck> {
        strict_prechecks(&self.entry.author.0, &self.entry.signature.0).ok()?;
        Some(SignatureCheck {
            id: self.id,
            author: self.entry.author.0,
            message: self.signed_message(),
            signature: self.entry.signature.0,
        })
    }
}

/// One entry's Ed25519 signature, for a caller that verifies signatures faster than this
/// crate can (the browser's WebCrypto runs natively and off the main thread).
///
/// Strict verification (what [`Record::verify`] does) is the plain RFC 8032 equation
/// `[s]B = R + [k]A`, compared on canonical encodings, plus checks that plain verifiers may
/// skip: `s` is canonical, and `R` and `A` are canonical encodings of points that are not of
/// small order. Those extra checks are done here before a check is handed out, and again by
/// [`crate::sync::RoomSync`] when it accepts the caller's answer; so any verifier that
/// implements the plain equation (WebCrypto's Ed25519 does) reaches the same verdict as
/// this crate, and peers never disagree on which entries are valid. A caller whose verifier
/// says no simply does not report the entry, and this crate checks it itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureCheck {
    /// The entry.
    pub id: EntryId,
    /// The author's public key (32 bytes, the Ed25519 encoding).
    pub author: [u8; 32],
    /// The signed message.
    pub message: Vec<u8>,
    /// The signature (`R || s`).
    pub signature: [u8; SIGNATURE_LEN],
}

/// The parts of strict Ed25519 verification beyond the plain equation (see
/// [`SignatureCheck`]): `s` canonical; `A` and `R` canonical encodings, not of small order.
///
/// Done on the encodings alone, without curve arithmetic, so it is cheap per entry: a
/// canonical encoding of a small-order point is one of the eight torsion points' encodings,
/// and the only points with x = 0 are two of them, so their other-sign variants are listed
/// too. An encoding that is no point at all passes here; both a plain verifier and
/// [`Record::verify`] reject it.
fn strict_prechecks(author: &[u8; 32], signature: &[u8; SIGNATURE_LEN]) -> Result<(), LogError> {
    if !acceptable_point(author) {
        return Err(LogError::InvalidAuthor);
    }
    let mut r = [0u8; 32];
    let mut s = [0u8; 32];
    r.copy_from_slice(&signature[..32]);
    s.copy_from_slice(&signature[32..]);
    let s_canonical: bool = curve25519_dalek::scalar::Scalar::from_canonical_bytes(s)
        .is_some()
        .into();
    if !s_canonical || !acceptable_point(&r) {
        return Err(LogError::BadSignature);
    }
    Ok(())
}

/// A point encoding with `y < p` that is not one of a small-order point.
fn acceptable_point(bytes: &[u8; 32]) -> bool {
    // y >= p = 2^255 - 19 exactly when the low 255 bits are 0x7fff…ffed or above.
    let y_too_big =
        bytes[31] & 0x7f == 0x7f && bytes[1..31].iter().all(|b| *b == 0xff) && bytes[0] >= 0xed;
    !y_too_big && !small_order_encodings().contains(bytes)
}

/// The encodings of the eight small-order points, with either sign bit.
fn small_order_encodings() -> &'static [[u8; 32]; 16] {
    static SET: std::sync::OnceLock<[[u8; 32]; 16]> = std::sync::OnceLock::new();
    SET.get_or_init(|| {
        let mut set = [[0u8; 32]; 16];
        for (i, p) in curve25519_dalek::constants::EIGHT_TORSION
            .iter()
            .enumerate()
        {
            let c = p.compress().0;
            let mut flipped = c;
            flipped[31] ^= 0x80;
            set[2 * i] = c;
            set[2 * i + 1] = flipped;
        }
        set
    })
}

/// A bounds-checked reader over a byte slice, shared by the entry and frame decoders.
#[derive(Debug)]
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Reader { buf }
    }

    pub(crate) fn remaining(&self) -> usize {
        self.buf.len()
    }

    pub(crate) fn bytes(&mut self, n: usize) -> Result<&'a [u8], LogError> {
        if self.buf.len() < n {
            return Err(LogError::Truncated);
        }
        let (head, tail) = self.buf.split_at(n);
        self.buf = tail;
        Ok(head)
    }

    pub(crate) fn u8(&mut self) -> Result<u8, LogError> {
        Ok(self.bytes(1)?[0])
    }

    pub(crate) fn u32(&mut self) -> Result<u32, LogError> {
        Ok(u32::from_be_bytes(self.array()?))
    }

    pub(crate) fn u64(&mut self) -> Result<u64, LogError> {
        Ok(u64::from_be_bytes(self.array()?))
    }

    pub(crate) fn array<const N: usize>(&mut self) -> Result<[u8; N], LogError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.bytes(N)?);
        Ok(out)
    }

    /// A `u32`-length-prefixed UTF-8 string of at most `max` bytes; the length is checked
    /// before anything is allocated.
    pub(crate) fn str(&mut self, field: &'static str, max: usize) -> Result<String, LogError> {
        let len = self.u32()? as usize;
        if len > max {
            return Err(LogError::TooLong { field, max });
        }
        let raw = self.bytes(len)?;
        std::str::from_utf8(raw)
            .map(str::to_owned)
            .map_err(|_| LogError::InvalidUtf8(field))
    }

    pub(crate) fn finish(&self) -> Result<(), LogError> {
        if self.buf.is_empty() {
            Ok(())
        } else {
            Err(LogError::TrailingBytes(self.buf.len()))
        }
    }
}

/// What [`RoomLog::append`] did with an entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Append {
    /// It was added to the author's log.
    Appended,
    /// It was already held.
    Duplicate,
    /// Its predecessor is not held (and the caller did not allow a detached start): the
    /// author's log reaches `have` ([`RoomLog::top_of`]).
    Gap {
        /// The highest seq held of this author.
        have: u64,
    },
    /// It is at or below the author's pruned floor ([`RoomLog::prune_through`]): dropped.
    Pruned,
    /// Equivocation: a different entry with the same `(author, seq)` is held (kept); the
    /// author is now flagged.
    Conflict {
        /// The held entry at that seq.
        existing: EntryId,
    },
    /// Equivocation: it claims a predecessor other than the held entry `seq - 1`; the author
    /// is now flagged.
    ChainBreak {
        /// The held entry at `seq - 1`.
        existing: EntryId,
    },
    /// Equivocation: the held entry `seq + 1` names another predecessor than this entry;
    /// the author is now flagged (the proof is this entry, then the held one).
    SuccessorBreak {
        /// The held entry at `seq + 1`.
        existing: EntryId,
    },
    /// The author is flagged; nothing more of theirs is accepted.
    AuthorFlagged,
}

#[derive(Debug, Default, Clone)]
struct AuthorLog {
    /// Held entries by seq: one run `base+1..=top` at the top, and possibly older runs below
    /// it with gaps between (adjacent seqs are always linked).
    records: BTreeMap<u64, Record>,
    /// Entries up to this seq were pruned, and the entry at it had this id.
    floor: Option<(u64, EntryId)>,
    /// Seq of the newest profile entry with a name that may be shown.
    profile: Option<u64>,
}

impl AuthorLog {
    fn top(&self) -> Option<(u64, EntryId)> {
        self.records
            .last_key_value()
            .map(|(s, r)| (*s, r.id))
            .or(self.floor)
    }

    /// The id that entry `seq` must name as its predecessor, if it is known.
    fn expected_prev(&self, seq: u64) -> Option<EntryId> {
        if seq == 1 {
            return Some(EntryId::ZERO);
        }
        match self.floor {
            Some((f, id)) if f == seq - 1 => Some(id),
            _ => self.records.get(&(seq - 1)).map(|r| r.id),
        }
    }
}

/// The in-memory index and copy of every verified entry of one room.
#[derive(Debug, Clone)]
pub struct RoomLog {
    room_id: RoomId,
    authors: BTreeMap<PublicKey, AuthorLog>,
    ids: HashMap<EntryId, (PublicKey, u64)>,
    flagged: BTreeSet<PublicKey>,
    max_lamport: u64,
    total: usize,
    /// Per key named by a `Keeper` entry: the display key of the latest such entry, and
    /// whether it says the key keeps the room (at most one per held entry).
    keepers: BTreeMap<PublicKey, ((u64, PublicKey, u64), bool)>,
}

impl RoomLog {
    /// An empty log of `room_id`.
    pub fn new(room_id: RoomId) -> Self {
        RoomLog {
            room_id,
            authors: BTreeMap::new(),
            ids: HashMap::new(),
            flagged: BTreeSet::new(),
            max_lamport: 0,
            total: 0,
            keepers: BTreeMap::new(),
        }
    }

    /// The room.
    pub fn room_id(&self) -> RoomId {
        self.room_id
    }

    /// Appends a record that passed [`Record::verify`] for this room, checking its `seq` and
    /// `prev_hash` against the author's held log: its predecessor must be held (or it is
    /// entry 1, or it follows the pruned floor).
    pub fn append(&mut self, rec: Record) -> Append {
        self.insert(rec, false)
    }

    /// As [`RoomLog::append`], but with `detached` an entry whose predecessor is not held is
    /// kept too, starting a run of its own (see the module doc's "Runs"). It is still
    /// checked against every held neighbour.
    pub fn insert(&mut self, rec: Record, detached: bool) -> Append {
        let author = rec.entry.author;
        if self.flagged.contains(&author) {
            return Append::AuthorFlagged;
        }
        let log = self.authors.entry(author).or_default();
        let seq = rec.entry.seq;
        if log.floor.is_some_and(|(f, _)| seq <= f) {
            return Append::Pruned;
        }
        // Most entries extend the top of the chain: one look at the last held settles it.
        let last = log.records.last_key_value().map(|(s, r)| (*s, r.id));
        let above = last.is_none_or(|(s, _)| seq > s);
        if let Some(held) = (!above).then(|| log.records.get(&seq)).flatten() {
            if held.id == rec.id {
                return Append::Duplicate;
            }
            let existing = held.id;
            self.flagged.insert(author);
            return Append::Conflict { existing };
        }
        let expected = match last {
            Some((s, id)) if s.checked_add(1) == Some(seq) => Some(id),
            _ => log.expected_prev(seq),
        };
        match expected {
            Some(prev) if prev != rec.entry.prev_hash => {
                self.flagged.insert(author);
                return Append::ChainBreak { existing: prev };
            }
            Some(_) => {}
            None if !detached => {
                return Append::Gap {
                    have: log.top().map_or(0, |(s, _)| s),
                }
            }
            None => {}
        }
        let next = seq.checked_add(1).filter(|_| !above);
        if let Some(next) = next.and_then(|n| log.records.get(&n)) {
            if next.entry.prev_hash != rec.id {
                let existing = next.id;
                self.flagged.insert(author);
                return Append::SuccessorBreak { existing };
            }
        }
        if rec.entry.lamport <= MAX_LAMPORT_FOLLOWED {
            self.max_lamport = self.max_lamport.max(rec.entry.lamport);
        }
        self.ids.insert(rec.id, (author, seq));
        if matches!(&rec.entry.body, Body::Profile { display_name } if shown_name(display_name))
            && log.profile.is_none_or(|p| p < seq)
        {
            log.profile = Some(seq);
        }
        if let Body::Keeper { key, keep } = rec.entry.body {
            // The latest in display order wins, whatever order entries arrive in.
            let at = rec.entry.display_key();
            let latest = self.keepers.entry(key).or_insert((at, keep));
            if at >= latest.0 {
                *latest = (at, keep);
            }
        }
        log.records.insert(seq, rec);
        self.total += 1;
        Append::Appended
    }

    /// Drops `author`'s entries up to and including `seq` (which must be held; otherwise
    /// nothing happens) and remembers that entry's id as the floor: entries at or below it
    /// are refused from now on, and the next one must name it. Returns the dropped ids.
    pub fn prune_through(&mut self, author: &PublicKey, seq: u64) -> Vec<EntryId> {
        let Some(log) = self.authors.get_mut(author) else {
            return Vec::new();
        };
        let Some(id) = log.records.get(&seq).map(|r| r.id) else {
            return Vec::new();
        };
        let keep = log.records.split_off(&(seq + 1));
        let dropped = std::mem::replace(&mut log.records, keep);
        log.floor = Some((seq, id));
        if log.profile.is_some_and(|p| p <= seq) {
            log.profile = None;
        }
        self.total -= dropped.len();
        let ids: Vec<EntryId> = dropped.values().map(|r| r.id).collect();
        for id in &ids {
            self.ids.remove(id);
        }
        ids
    }

    /// Restores a floor recorded by [`RoomLog::prune_through`] at startup. A floor never
    /// goes down, and one at or above a held entry is not restored: the store that pruned
    /// deleted those entries with it, so such a store is damaged, and keeping the entries
    /// loses nothing (they are only fetched again if it lost them).
    pub fn restore_floor(&mut self, author: PublicKey, seq: u64, id: EntryId) {
        let log = self.authors.entry(author).or_default();
        let held_below = log
            .records
            .first_key_value()
            .is_some_and(|(s, _)| *s <= seq);
        if held_below || log.floor.is_some_and(|(f, _)| f >= seq) {
            return;
        }
        log.floor = Some((seq, id));
    }

    /// The pruned floor of `author`: entries up to it are not held and not taken.
    pub fn floor_of(&self, author: &PublicKey) -> Option<(u64, EntryId)> {
        self.authors.get(author)?.floor
    }

    /// The highest seq held of `author` (or its floor, if everything was pruned); 0 if none.
    /// Everything after it is what a peer may offer.
    pub fn top_of(&self, author: &PublicKey) -> u64 {
        self.authors
            .get(author)
            .and_then(AuthorLog::top)
            .map_or(0, |(s, _)| s)
    }

    /// Where `author`'s top run starts, less one: entries `base+1..=top` are held and
    /// linked, entry `base` is not (0 when the whole chain from 1 is held, or nothing is;
    /// the floor when everything above it is held).
    pub fn base_of(&self, author: &PublicKey) -> u64 {
        let Some(log) = self.authors.get(author) else {
            return 0;
        };
        let mut base = log.top().map_or(0, |(s, _)| s);
        // One run (the usual case): no walk.
        if let Some((first, _)) = log.records.first_key_value() {
            if base - first + 1 == log.records.len() as u64 {
                return first - 1;
            }
        }
        for s in log.records.keys().rev() {
            if *s != base {
                break;
            }
            base -= 1;
        }
        base
    }

    /// The highest seq held of `author` below `seq` (0 if none).
    pub fn held_below(&self, author: &PublicKey, seq: u64) -> u64 {
        self.authors
            .get(author)
            .and_then(|l| l.records.range(..seq).next_back().map(|(s, _)| *s))
            .unwrap_or(0)
    }

    /// Number of entries held of `author`.
    pub fn count_of(&self, author: &PublicKey) -> usize {
        self.authors.get(author).map_or(0, |l| l.records.len())
    }

    /// Total number of entries held.
    pub fn len(&self) -> usize {
        self.total
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.total == 0
    }

    /// The head `(seq, id)` of `author`'s log: its highest held entry, or its floor if
    /// everything was pruned.
    pub fn head(&self, author: &PublicKey) -> Option<(u64, EntryId)> {
        self.authors.get(author)?.top()
    }

    /// The entry `seq` of `author`.
    pub fn get(&self, author: &PublicKey, seq: u64) -> Option<&Record> {
        self.authors.get(author)?.records.get(&seq)
    }

    /// The entry with id `id`.
    pub fn get_by_id(&self, id: &EntryId) -> Option<&Record> {
        let (author, seq) = self.ids.get(id)?;
        self.get(author, *seq)
    }

    /// Whether the entry `id` is held.
    pub fn contains(&self, id: &EntryId) -> bool {
        self.ids.contains_key(id)
    }

    /// Authors with at least one held entry, in key order.
    pub fn authors(&self) -> impl Iterator<Item = &PublicKey> {
        self.authors
            .iter()
            .filter(|(_, l)| !l.records.is_empty() || l.floor.is_some())
            .map(|(a, _)| a)
    }

    /// Every held entry of `author`, in seq order.
    pub fn entries_of(&self, author: &PublicKey) -> impl DoubleEndedIterator<Item = &Record> {
        self.authors
            .get(author)
            .into_iter()
            .flat_map(|l| l.records.values())
    }

    /// The held entries of `author` with seqs in `from..=to`, in seq order.
    pub fn range_of(
        &self,
        author: &PublicKey,
        from: u64,
        to: u64,
    ) -> impl Iterator<Item = &Record> {
        self.authors
            .get(author)
            .filter(|_| from <= to)
            .into_iter()
            .flat_map(move |l| l.records.range(from..=to).map(|(_, r)| r))
    }

    /// `author`'s display name from their newest profile entry, without building the whole
    /// view (the same name [`RoomView::names`] holds: a chain's display order is its seq
    /// order). Kept as entries are appended: looking it up costs no scan of the chain.
    pub fn display_name(&self, author: &PublicKey) -> Option<&str> {
        let log = self.authors.get(author)?;
        match &log.records.get(&log.profile?)?.entry.body {
            Body::Profile { display_name } => Some(display_name.as_str()),
            _ => None,
        }
    }

    /// The room's keepers: the keys whose latest `Keeper` entry in display order says they
    /// keep it (the same set as [`RoomView::keepers`], kept as entries are appended).
    pub fn keepers(&self) -> impl Iterator<Item = &PublicKey> {
        self.keepers
            .iter()
            .filter(|(_, (_, keep))| *keep)
            .map(|(k, _)| k)
    }

    /// Whether `key` keeps the room now.
    pub fn is_keeper(&self, key: &PublicKey) -> bool {
        self.keepers.get(key).is_some_and(|(_, keep)| *keep)
    }

    /// The largest Lamport time held up to [`MAX_LAMPORT_FOLLOWED`] (0 if none).
    pub fn max_lamport(&self) -> u64 {
        self.max_lamport
    }

    /// Flags `author` as an equivocator (e.g. from evidence received or restored from
    /// storage). Returns whether the author was newly flagged.
    pub fn flag(&mut self, author: PublicKey) -> bool {
        self.flagged.insert(author)
    }

    /// Whether `author` is flagged.
    pub fn is_flagged(&self, author: &PublicKey) -> bool {
        self.flagged.contains(author)
    }

    /// Flagged authors.
    pub fn flagged(&self) -> impl Iterator<Item = &PublicKey> {
        self.flagged.iter()
    }

    /// Every held entry in display order `(lamport, author, seq)`.
    pub fn in_display_order(&self) -> Vec<&Record> {
        let mut all: Vec<&Record> = self
            .authors
            .values()
            .flat_map(|l| l.records.values())
            .collect();
        all.sort_by(display_order);
        all
    }
}

/// A message as the UI shows it, after edits, deletes and reactions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// The `Text` or `File` entry's id.
    pub id: EntryId,
    /// Its author.
    pub author: PublicKey,
    /// Its seq in the author's log.
    pub seq: u64,
    /// Its lamport (display order).
    pub lamport: u64,
    /// The author's wall clock when posted.
    pub wall_ms: u64,
    /// Current text (after the last edit); empty for files and deleted messages.
    pub text: String,
    /// The entry it replies to.
    pub reply_to: Option<EntryId>,
    /// The file, for `File` entries (gone once deleted).
    pub file: Option<FileRef>,
    /// Whether it was edited.
    pub edited: bool,
    /// Whether it was deleted (a tombstone; the text is cleared).
    pub deleted: bool,
    /// Reactions: emoji → who reacted.
    pub reactions: BTreeMap<String, BTreeSet<PublicKey>>,
}

/// Why an entry did not change the view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ViewIssue {
    /// An edit or delete by someone other than the target's author (ignored).
    NotOwnEntry {
        /// The offending entry.
        entry: EntryId,
        /// Its author.
        author: PublicKey,
    },
    /// The target is not (yet) held or is not something the body can act on.
    UnknownTarget {
        /// The entry that refers to it.
        entry: EntryId,
    },
}

/// The materialised room: messages in display order with edits, deletes and reactions
/// applied, display names, and the room's keepers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoomView {
    /// Messages in display order.
    pub messages: Vec<Message>,
    /// Latest display name per author (from `Profile` entries).
    pub names: BTreeMap<PublicKey, String>,
    /// Entries that were ignored, and why.
    pub issues: Vec<ViewIssue>,
    /// Keys whose latest `Keeper` entry says they keep the room.
    keepers: BTreeSet<PublicKey>,
    /// Keys whose latest `Keeper` entry says they stopped.
    keepers_removed: BTreeSet<PublicKey>,
}

/// Orders records as they are shown: `(lamport, author, seq)`. (One function for every such
/// sort, so the browser build holds one copy of the sort.)
fn display_order(a: &&Record, b: &&Record) -> std::cmp::Ordering {
    a.entry.display_key().cmp(&b.entry.display_key())
}

impl RoomView {
    /// The room's keepers: keys whose latest `Keeper` entry in display order says `keep`.
    pub fn keepers(&self) -> &BTreeSet<PublicKey> {
        &self.keepers
    }

    /// Whether `key`'s latest `Keeper` entry in display order says it stopped keeping the
    /// room (`false` for a key never named, or named a keeper last).
    pub fn keeper_removed(&self, key: &PublicKey) -> bool {
        self.keepers_removed.contains(key)
    }

    /// Applies `entries` in display order (they are sorted here; duplicates by id are
    /// ignored). Edits and deletes apply only to the same author's entries; the last edit in
    /// display order wins; a delete tombstones a message or withdraws a reaction.
    pub fn build<'a>(entries: impl IntoIterator<Item = &'a Record>) -> RoomView {
        ViewBuilder::of(entries).view
    }
}

/// A [`RoomView`] kept up to date as entries arrive: an entry that sorts after every entry
/// applied so far is applied at once, exactly as [`RoomView::build`] would; one that sorts
/// earlier (a catch-up of older history) is refused, and the caller builds again.
#[derive(Debug, Clone, Default)]
pub struct ViewBuilder {
    view: RoomView,
    /// Message id → its index in `view.messages`.
    index: HashMap<EntryId, usize>,
    /// Reaction entry id → (message index, emoji, reactor).
    reactions: HashMap<EntryId, (usize, String, PublicKey)>,
    /// How many live reactions each (message, emoji, author) has: a delete removes one.
    live: HashMap<(usize, String, PublicKey), u32>,
    authors: HashMap<EntryId, PublicKey>,
    last: Option<((u64, PublicKey, u64), EntryId)>,
    applied: usize,
}

impl ViewBuilder {
    /// The view of `entries` (any order), ready to be extended.
    pub fn of<'a>(entries: impl IntoIterator<Item = &'a Record>) -> ViewBuilder {
        let mut recs: Vec<&Record> = entries.into_iter().collect();
        recs.sort_by(display_order);
        recs.dedup_by_key(|r| r.id);
        let mut b = ViewBuilder::default();
        for r in recs {
            b.apply(r);
        }
        b
    }

    /// The view so far.
    pub fn view(&self) -> &RoomView {
        &self.view
    }

    /// Where message `id` is in the view's messages.
    pub fn position(&self, id: &EntryId) -> Option<usize> {
        self.index.get(id).copied()
    }

    /// How many entries it was built from: a caller can tell it is behind its log.
    pub fn applied(&self) -> usize {
        self.applied
    }

    /// Applies `r` if it sorts after everything applied (an entry already applied is
    /// ignored). `false`: it sorts earlier, and the view must be built again.
    pub fn push(&mut self, r: &Record) -> bool {
        let key = r.entry.display_key();
        match &self.last {
            Some((_, id)) if *id == r.id => true,
            Some((last, _)) if key <= *last => false,
            _ => {
                self.apply(r);
                true
            }
        }
    }

    fn apply(&mut self, r: &Record) {
        self.last = Some((r.entry.display_key(), r.id));
        self.applied += 1;
        let e = &r.entry;
        self.authors.insert(r.id, e.author);
        match &e.body {
            Body::Text { text, reply_to } => {
                self.index.insert(r.id, self.view.messages.len());
                self.view.messages.push(Message {
                    id: r.id,
                    author: e.author,
                    seq: e.seq,
                    lamport: e.lamport,
                    wall_ms: e.wall_ms,
                    text: text.clone(),
                    reply_to: *reply_to,
                    file: None,
                    edited: false,
                    deleted: false,
                    reactions: BTreeMap::new(),
                });
            }
            Body::File(f) => {
                self.index.insert(r.id, self.view.messages.len());
                self.view.messages.push(Message {
                    id: r.id,
                    author: e.author,
                    seq: e.seq,
                    lamport: e.lamport,
                    wall_ms: e.wall_ms,
                    text: String::new(),
                    reply_to: None,
                    file: Some(f.clone()),
                    edited: false,
                    deleted: false,
                    reactions: BTreeMap::new(),
                });
            }
            // A digest-named attachment cannot be fetched verifiably: not shown.
            Body::Attachment { .. } => {}
            // A profile entry is valid with any name within its length, but only names a
            // hello could carry are shown (no blank, control or bidi-override names).
            Body::Profile { display_name } if shown_name(display_name) => {
                self.view.names.insert(e.author, display_name.clone());
            }
            Body::Profile { .. } => {}
            Body::Keeper { key, keep } => {
                let (to, from) = if *keep {
                    (&mut self.view.keepers, &mut self.view.keepers_removed)
                } else {
                    (&mut self.view.keepers_removed, &mut self.view.keepers)
                };
                from.remove(key);
                to.insert(*key);
            }
            Body::Edit { target, text } => match self.index.get(target) {
                Some(&i) if self.view.messages[i].author != e.author => {
                    self.view.issues.push(ViewIssue::NotOwnEntry {
                        entry: r.id,
                        author: e.author,
                    })
                }
                Some(&i)
                    if !self.view.messages[i].deleted && self.view.messages[i].file.is_none() =>
                {
                    self.view.messages[i].text = text.clone();
                    self.view.messages[i].edited = true;
                }
                _ => self
                    .view
                    .issues
                    .push(ViewIssue::UnknownTarget { entry: r.id }),
            },
            Body::Delete { target } => {
                match self.authors.get(target) {
                    Some(a) if *a != e.author => {
                        self.view.issues.push(ViewIssue::NotOwnEntry {
                            entry: r.id,
                            author: e.author,
                        });
                        return;
                    }
                    None => {
                        self.view
                            .issues
                            .push(ViewIssue::UnknownTarget { entry: r.id });
                        return;
                    }
                    Some(_) => {}
                }
                if let Some(&i) = self.index.get(target) {
                    let m = &mut self.view.messages[i];
                    m.deleted = true;
                    m.text.clear();
                    m.file = None;
                } else if let Some((i, emoji, who)) = self.reactions.remove(target) {
                    // Counted, not searched: a scan of every live reaction per delete
                    // made the view quadratic in what one member may post.
                    let key = (i, emoji, who);
                    let n = self.live.get_mut(&key).map_or(0, |n| {
                        *n = n.saturating_sub(1);
                        *n
                    });
                    let (i, emoji, who) = key;
                    if n == 0 {
                        self.live.remove(&(i, emoji.clone(), who));
                        if let Some(set) = self.view.messages[i].reactions.get_mut(&emoji) {
                            set.remove(&who);
                            if set.is_empty() {
                                self.view.messages[i].reactions.remove(&emoji);
                            }
                        }
                    }
                } else {
                    self.view
                        .issues
                        .push(ViewIssue::UnknownTarget { entry: r.id });
                }
            }
            Body::Reaction { target, emoji } => match self.index.get(target) {
                Some(&i) => {
                    self.view.messages[i]
                        .reactions
                        .entry(emoji.clone())
                        .or_default()
                        .insert(e.author);
                    self.reactions.insert(r.id, (i, emoji.clone(), e.author));
                    *self.live.entry((i, emoji.clone(), e.author)).or_insert(0) += 1;
                }
                None => self
                    .view
                    .issues
                    .push(ViewIssue::UnknownTarget { entry: r.id }),
            },
        }
    }
}

/// Whether a profile's name may be shown: the rules of a hello's name.
fn shown_name(name: &str) -> bool {
    crate::hello::validate_display_name(name).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::rand_core::SeedableRng;

    fn ident(seed: u64) -> Identity {
        Identity::generate(&mut rand_chacha::ChaCha20Rng::seed_from_u64(seed))
    }

    #[test]
    fn entry_ids_round_trip_through_hex_and_bad_hex_is_refused() {
        let id = EntryId(std::array::from_fn(|i| (i * 7) as u8));
        assert_eq!(EntryId::from_hex(&id.to_hex()), Some(id));
        assert_eq!(EntryId::from_hex(&id.to_hex().to_uppercase()), Some(id));
        assert_eq!(EntryId::from_hex(&id.to_hex()[..62]), None);
        assert_eq!(
            EntryId::from_hex(&format!("{}zz", &id.to_hex()[..62])),
            None
        );
        assert_eq!(EntryId::from_hex("é"), None);
    }

    fn sign(id: &Identity, seq: u64, prev: EntryId, lamport: u64, body: Body) -> Record {
        Record::from_entry(
            Entry::sign(
                id,
                Draft {
                    room_id: RoomId([7; 32]),
                    seq,
                    prev_hash: prev,
                    lamport,
                    wall_ms: 1000 + seq,
                    body,
                },
            )
            .expect("valid draft"),
        )
    }

    fn text(t: &str) -> Body {
        Body::Text {
            text: t.into(),
            reply_to: None,
        }
    }

    #[test]
    fn a_signed_entry_round_trips_and_verifies() {
        let a = ident(1);
        let r = sign(&a, 1, EntryId::ZERO, 1, text("hi"));
        let back = Record::from_bytes(&r.bytes).expect("decodes");
        assert_eq!(back, r);
        assert_eq!(back.verify(&RoomId([7; 32])), Ok(()));
        assert_eq!(back.verify(&RoomId([8; 32])), Err(LogError::WrongRoom));
    }

    #[test]
    fn a_plain_verifier_behind_the_handed_out_checks_agrees_with_strict_verification() {
        // WebCrypto's Ed25519 is the plain RFC 8032 check; dalek's non-strict `verify` is the
        // same check, standing in for it here.
        let a = ident(1);
        let room = RoomId([7; 32]);
        let key = ed25519_dalek::VerifyingKey::from_bytes(&a.public().0).expect("key");
        let good = sign(&a, 1, EntryId::ZERO, 1, text("hello"));
        use ed25519_dalek::Verifier as _;
        let verdict = |rec: &Record| -> Option<bool> {
            let check = rec.signature_check()?;
            let sig = ed25519_dalek::Signature::from_bytes(&check.signature);
            let plain = key.verify(&check.message, &sig).is_ok();
            Some(plain && rec.verify_checked(&room, &key).is_ok())
        };
        assert_eq!(verdict(&good), Some(true));
        assert_eq!(good.verify(&room), Ok(()));
        for bit in 0..SIGNATURE_LEN * 8 {
            let mut e = good.entry.clone();
            e.signature.0[bit / 8] ^= 1 << (bit % 8);
            let rec = Record::from_entry(e);
            let strict = rec.verify(&room).is_ok();
            // No check handed out: the core's own strict check decides, so there is
            // nothing to compare.
            if let Some(checked) = verdict(&rec) {
                assert_eq!(checked, strict, "signature bit {bit}");
            }
            assert!(!strict, "signature bit {bit} still verifies");
        }
    }

    #[test]
    fn the_prechecks_refuse_exactly_small_order_and_non_canonical_points() {
        use curve25519_dalek::edwards::CompressedEdwardsY;
        for p in curve25519_dalek::constants::EIGHT_TORSION {
            let c = p.compress().0;
            assert!(p.is_small_order());
            assert!(!acceptable_point(&c));
        }
        // p itself (y = 2^255 - 19) and the largest 255-bit value are not canonical.
        let mut p_bytes = [0xffu8; 32];
        p_bytes[0] = 0xed;
        p_bytes[31] = 0x7f;
        assert!(!acceptable_point(&p_bytes));
        assert!(!acceptable_point(&[0xff; 32]));
        // Honest keys and signature points pass, and agree with dalek's own checks.
        for seed in 1..40u64 {
            let id = ident(seed);
            let key = id.public().0;
            let point = CompressedEdwardsY(key)
                .decompress()
                .expect("a key is a point");
            assert!(!point.is_small_order());
            assert!(acceptable_point(&key), "seed {seed}");
            let rec = sign(&id, 1, EntryId::ZERO, 1, text("x"));
            assert!(rec.signature_check().is_some(), "seed {seed}");
        }
    }

    #[test]
    fn display_name_is_the_newest_profile_as_in_the_view() {
        let a = ident(1);
        let b = ident(2);
        let profile = |n: &str| Body::Profile {
            display_name: n.into(),
        };
        let a1 = sign(&a, 1, EntryId::ZERO, 1, profile("Ann"));
        let a2 = sign(&a, 2, a1.id, 2, text("hi"));
        let a3 = sign(&a, 3, a2.id, 3, profile("Annie"));
        let a4 = sign(&a, 4, a3.id, 4, text("again"));
        let b1 = sign(&b, 1, EntryId::ZERO, 1, text("no profile"));
        let mut log = RoomLog::new(RoomId([7; 32]));
        assert_eq!(log.display_name(&a.public()), None);
        for r in [a1, a2] {
            log.append(r);
        }
        assert_eq!(log.display_name(&a.public()), Some("Ann"));
        for r in [a3, a4, b1] {
            log.append(r);
        }
        assert_eq!(log.display_name(&a.public()), Some("Annie"));
        assert_eq!(log.display_name(&b.public()), None);
        let view = RoomView::build(log.in_display_order());
        assert_eq!(
            view.names.get(&a.public()).map(String::as_str),
            Some("Annie")
        );
        assert_eq!(view.names.get(&b.public()), None);
    }

    #[test]
    fn a_flipped_bit_breaks_the_signature_or_the_decoding() {
        let a = ident(1);
        let r = sign(&a, 1, EntryId::ZERO, 1, text("hello"));
        for i in 0..r.bytes.len() {
            let mut b = r.bytes.clone();
            b[i] ^= 0x01;
            if let Ok(rec) = Record::from_bytes(&b) {
                assert!(rec.verify(&rec.entry.room_id).is_err(), "byte {i}");
            }
        }
    }

    #[test]
    fn over_long_text_is_refused_when_signing() {
        let a = ident(1);
        let body = text(&"x".repeat(MAX_TEXT_CHARS + 1));
        let err = Entry::sign(
            &a,
            Draft {
                room_id: RoomId([7; 32]),
                seq: 1,
                prev_hash: EntryId::ZERO,
                lamport: 1,
                wall_ms: 0,
                body,
            },
        );
        assert!(matches!(err, Err(LogError::TooLong { .. })));
    }

    #[test]
    fn the_log_accepts_a_chain_and_flags_a_fork() {
        let a = ident(1);
        let mut log = RoomLog::new(RoomId([7; 32]));
        let e1 = sign(&a, 1, EntryId::ZERO, 1, text("one"));
        let e2 = sign(&a, 2, e1.id, 2, text("two"));
        let e2b = sign(&a, 2, e1.id, 2, text("two, differently"));
        assert_eq!(log.append(e2.clone()), Append::Gap { have: 0 });
        assert_eq!(log.append(e1.clone()), Append::Appended);
        assert_eq!(log.append(e1.clone()), Append::Duplicate);
        assert_eq!(log.append(e2.clone()), Append::Appended);
        assert_eq!(log.append(e2b), Append::Conflict { existing: e2.id });
        let e3 = sign(&a, 3, e2.id, 3, text("three"));
        assert_eq!(log.append(e3), Append::AuthorFlagged);
        assert_eq!(log.head(&a.public()), Some((2, e2.id)));
    }

    #[test]
    fn a_wrong_predecessor_is_a_chain_break() {
        let a = ident(1);
        let mut log = RoomLog::new(RoomId([7; 32]));
        let e1 = sign(&a, 1, EntryId::ZERO, 1, text("one"));
        let e2 = sign(&a, 2, EntryId([9; 32]), 2, text("two"));
        log.append(e1.clone());
        assert_eq!(log.append(e2), Append::ChainBreak { existing: e1.id });
        assert!(log.is_flagged(&a.public()));
    }

    #[test]
    fn a_view_kept_up_to_date_equals_one_built_at_once_and_refuses_older_entries() {
        let (a, b) = (ident(1), ident(2));
        // Two authors writing, editing, reacting and taking reactions back, interleaved.
        let mut recs: Vec<Record> = Vec::new();
        let (mut pa, mut pb) = (EntryId::ZERO, EntryId::ZERO);
        let mut first = None;
        for i in 1..=60u64 {
            let (who, prev) = if i % 3 == 0 {
                (&b, &mut pb)
            } else {
                (&a, &mut pa)
            };
            let seq = recs
                .iter()
                .filter(|r| r.entry.author == who.public())
                .count() as u64
                + 1;
            let target = first.unwrap_or(EntryId::ZERO);
            let body = match i % 5 {
                _ if i < 3 => text(&format!("m{i}")),
                1 => Body::Reaction {
                    target,
                    emoji: "👍".into(),
                },
                2 => Body::Edit {
                    target,
                    text: format!("e{i}"),
                },
                3 => match recs.last() {
                    Some(r) if matches!(r.entry.body, Body::Reaction { .. }) => {
                        Body::Delete { target: r.id }
                    }
                    _ => text(&format!("m{i}")),
                },
                _ => text(&format!("m{i}")),
            };
            let r = sign(who, seq, *prev, i, body);
            *prev = r.id;
            first.get_or_insert(r.id);
            recs.push(r);
        }
        let built = RoomView::build(recs.iter().rev());
        let mut kept = ViewBuilder::default();
        for r in &recs {
            assert!(kept.push(r), "in display order, every entry applies");
        }
        assert!(kept.push(&recs[59]), "the last one again changes nothing");
        assert_eq!(kept.view(), &built);
        assert_eq!(kept.applied(), recs.len());
        assert!(!kept.push(&recs[10]), "an older entry needs a rebuild");
        let again = ViewBuilder::of(recs.iter().rev());
        assert_eq!(again.view(), &built);
    }

    #[test]
    fn the_view_applies_own_edits_and_ignores_others() {
        let a = ident(1);
        let b = ident(2);
        let m = sign(&a, 1, EntryId::ZERO, 1, text("helo"));
        let fix = sign(
            &a,
            2,
            m.id,
            2,
            Body::Edit {
                target: m.id,
                text: "hello".into(),
            },
        );
        let vandal = sign(
            &b,
            1,
            EntryId::ZERO,
            3,
            Body::Edit {
                target: m.id,
                text: "pwned".into(),
            },
        );
        let like = sign(
            &b,
            2,
            vandal.id,
            4,
            Body::Reaction {
                target: m.id,
                emoji: "👍".into(),
            },
        );
        let view = RoomView::build([&like, &vandal, &fix, &m]);
        assert_eq!(view.messages.len(), 1);
        assert_eq!(view.messages[0].text, "hello");
        assert!(view.messages[0].edited);
        assert!(view.messages[0].reactions["👍"].contains(&b.public()));
        assert_eq!(
            view.issues,
            vec![ViewIssue::NotOwnEntry {
                entry: vandal.id,
                author: b.public()
            }]
        );
    }

    #[test]
    fn a_delete_tombstones_a_message_and_withdraws_a_reaction() {
        let a = ident(1);
        let m = sign(&a, 1, EntryId::ZERO, 1, text("oops"));
        let r = sign(
            &a,
            2,
            m.id,
            2,
            Body::Reaction {
                target: m.id,
                emoji: "🎉".into(),
            },
        );
        let unreact = sign(&a, 3, r.id, 3, Body::Delete { target: r.id });
        let del = sign(&a, 4, unreact.id, 4, Body::Delete { target: m.id });
        let view = RoomView::build([&m, &r, &unreact]);
        assert!(view.messages[0].reactions.is_empty());
        let view = RoomView::build([&m, &r, &unreact, &del]);
        assert!(view.messages[0].deleted);
        assert_eq!(view.messages[0].text, "");
    }

    #[test]
    fn a_reaction_given_twice_stays_until_both_are_withdrawn() {
        let a = ident(1);
        let m = sign(&a, 1, EntryId::ZERO, 1, text("hi"));
        let react = |seq, prev| {
            sign(
                &a,
                seq,
                prev,
                seq,
                Body::Reaction {
                    target: m.id,
                    emoji: "🎉".into(),
                },
            )
        };
        let r1 = react(2, m.id);
        let r2 = react(3, r1.id);
        let un1 = sign(&a, 4, r2.id, 4, Body::Delete { target: r1.id });
        let un2 = sign(&a, 5, un1.id, 5, Body::Delete { target: r2.id });
        let view = RoomView::build([&m, &r1, &r2, &un1]);
        assert!(view.messages[0].reactions["🎉"].contains(&a.public()));
        let view = RoomView::build([&m, &r1, &r2, &un1, &un2]);
        assert!(view.messages[0].reactions.is_empty());
    }

    #[test]
    fn a_profile_name_no_hello_could_carry_is_not_shown() {
        let a = ident(1);
        let ok = sign(
            &a,
            1,
            EntryId::ZERO,
            1,
            Body::Profile {
                display_name: "Ann".into(),
            },
        );
        let bidi = sign(
            &a,
            2,
            ok.id,
            2,
            Body::Profile {
                display_name: "\u{202E}nnA".into(),
            },
        );
        let blank = sign(
            &a,
            3,
            bidi.id,
            3,
            Body::Profile {
                display_name: "  ".into(),
            },
        );
        let view = RoomView::build([&ok, &bidi, &blank]);
        assert_eq!(view.names.get(&a.public()).map(String::as_str), Some("Ann"));
        let mut log = RoomLog::new(ok.entry.room_id);
        for r in [ok, bidi, blank] {
            assert_eq!(log.append(r), Append::Appended);
        }
        assert_eq!(log.display_name(&a.public()), Some("Ann"));
    }

    #[test]
    fn the_latest_keeper_entry_in_display_order_decides_and_is_no_message() {
        let (a, b) = (ident(1), ident(2));
        let (k1, k2) = (ident(10).public(), ident(11).public());
        let keeper = |key, keep| Body::Keeper { key, keep };
        let a1 = sign(&a, 1, EntryId::ZERO, 1, keeper(k1, true));
        let a2 = sign(&a, 2, a1.id, 2, keeper(k2, true));
        // Bob stops k1 later in display order, though his entry may arrive first.
        let b1 = sign(&b, 1, EntryId::ZERO, 3, keeper(k1, false));
        let a3 = sign(&a, 3, a2.id, 4, text("hi"));
        let view = RoomView::build([&b1, &a3, &a2, &a1]);
        assert_eq!(view.keepers(), &BTreeSet::from([k2]));
        assert!(view.keeper_removed(&k1));
        assert!(!view.keeper_removed(&k2));
        assert!(!view.keeper_removed(&a.public()), "never named");
        assert_eq!(view.messages.len(), 1, "only the text is a message");
        let mut log = RoomLog::new(RoomId([7; 32]));
        for r in [b1.clone(), a1.clone(), a2.clone(), a3.clone()] {
            assert_eq!(log.append(r), Append::Appended);
        }
        assert_eq!(
            log.keepers().copied().collect::<BTreeSet<_>>(),
            *view.keepers()
        );
        assert!(!log.is_keeper(&k1) && log.is_keeper(&k2));
        // Named again, after the removal: a keeper once more.
        let a4 = sign(&a, 4, a3.id, 5, keeper(k1, true));
        log.append(a4.clone());
        let view = RoomView::build([&a1, &a2, &b1, &a3, &a4]);
        assert_eq!(view.keepers(), &BTreeSet::from([k1, k2]));
        assert!(!view.keeper_removed(&k1));
        assert!(log.is_keeper(&k1));
    }

    /// Random rooms of a few authors posting texts, reactions, deletes and keeper entries
    /// for a few keys, with clashing Lamport times: the view built at once, the view kept up
    /// to date in display order, one rebuilt whenever an entry arrives out of order, and the
    /// log's own keeper set all agree, whatever order the entries arrive in.
    #[test]
    fn keepers_agree_between_the_built_the_extended_view_and_the_log() {
        use rand_chacha::rand_core::RngCore;
        let authors: Vec<Identity> = (1..=3).map(ident).collect();
        let keys: Vec<PublicKey> = (20..24).map(|s| ident(s).public()).collect();
        for seed in 0..40u64 {
            let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(seed);
            let mut pick = |n: usize| (rng.next_u32() as usize) % n;
            let mut heads = vec![(0u64, EntryId::ZERO); authors.len()];
            let mut recs: Vec<Record> = Vec::new();
            for _ in 0..30 {
                let who = pick(authors.len());
                let body = match pick(5) {
                    0 | 1 => Body::Keeper {
                        key: keys[pick(keys.len())],
                        keep: pick(3) > 0,
                    },
                    2 if !recs.is_empty() => Body::Reaction {
                        target: recs[pick(recs.len())].id,
                        emoji: "👍".into(),
                    },
                    3 if !recs.is_empty() => Body::Delete {
                        target: recs[pick(recs.len())].id,
                    },
                    _ => text("m"),
                };
                let lamport = 1 + pick(8) as u64;
                let (seq, prev) = heads[who];
                let r = sign(&authors[who], seq + 1, prev, lamport, body);
                heads[who] = (seq + 1, r.id);
                recs.push(r);
            }
            let built = RoomView::build(&recs);
            // In display order, every entry extends the view.
            let mut ordered: Vec<&Record> = recs.iter().collect();
            ordered.sort_by(display_order);
            let mut kept = ViewBuilder::default();
            for r in &ordered {
                assert!(kept.push(r), "seed {seed}");
            }
            assert_eq!(kept.view(), &built, "seed {seed}");
            // In arrival (chain) order, rebuilding whenever the extension refuses.
            let mut log = RoomLog::new(RoomId([7; 32]));
            let mut live = ViewBuilder::default();
            for r in &recs {
                assert_eq!(log.append(r.clone()), Append::Appended, "seed {seed}");
                if !live.push(r) {
                    live = ViewBuilder::of(log.in_display_order());
                }
                let log_keepers: BTreeSet<PublicKey> = log.keepers().copied().collect();
                assert_eq!(&log_keepers, live.view().keepers(), "seed {seed}");
            }
            assert_eq!(live.view(), &built, "seed {seed}");
            for k in &keys {
                assert_eq!(log.is_keeper(k), built.keepers().contains(k), "seed {seed}");
                assert!(
                    !(built.keepers().contains(k) && built.keeper_removed(k)),
                    "seed {seed}"
                );
            }
        }
    }

    fn chain(a: &Identity, n: u64) -> Vec<Record> {
        let mut out: Vec<Record> = Vec::new();
        for seq in 1..=n {
            let prev = out.last().map_or(EntryId::ZERO, |r| r.id);
            out.push(sign(a, seq, prev, seq, text(&format!("m{seq}"))));
        }
        out
    }

    #[test]
    fn runs_are_checked_against_both_neighbours_and_pruning_keeps_the_floor() {
        let a = ident(1);
        let c = chain(&a, 6);
        let who = a.public();
        let mut log = RoomLog::new(RoomId([7; 32]));
        // Entry 4 alone: a gap unless a detached start is allowed.
        assert_eq!(log.append(c[3].clone()), Append::Gap { have: 0 });
        assert_eq!(log.insert(c[3].clone(), true), Append::Appended);
        assert_eq!(log.append(c[4].clone()), Append::Appended);
        assert_eq!((log.top_of(&who), log.base_of(&who)), (5, 3));
        // Entry 1 starts the chain; 2 and 3 close the gap, 3 checked against 4 too.
        assert_eq!(log.append(c[0].clone()), Append::Appended);
        assert_eq!((log.base_of(&who), log.held_below(&who, 4)), (3, 1));
        assert_eq!(log.append(c[1].clone()), Append::Appended);
        assert_eq!(log.append(c[2].clone()), Append::Appended);
        assert_eq!((log.base_of(&who), log.count_of(&who)), (0, 5));
        let seqs: Vec<u64> = log.entries_of(&who).map(|r| r.entry.seq).collect();
        assert_eq!(seqs, vec![1, 2, 3, 4, 5]);

        // An entry 3 whose successor names another predecessor proves a fork.
        let b = ident(2);
        let d = chain(&b, 3);
        let mut log2 = RoomLog::new(RoomId([7; 32]));
        assert_eq!(log2.insert(d[2].clone(), true), Append::Appended);
        assert_eq!(
            log2.insert(sign(&b, 2, d[0].id, 50, text("fork")), true),
            Append::SuccessorBreak { existing: d[2].id }
        );
        assert!(log2.is_flagged(&b.public()));

        // Pruning through 4 drops 1..=4 and keeps 4's id as the floor.
        let dropped = log.prune_through(&who, 4);
        assert_eq!(dropped, c[..4].iter().map(|r| r.id).collect::<Vec<_>>());
        assert_eq!(
            (log.count_of(&who), log.len(), log.base_of(&who)),
            (1, 1, 4)
        );
        assert_eq!(log.append(c[2].clone()), Append::Pruned);
        assert!(log.get_by_id(&c[0].id).is_none());
        assert_eq!(log.append(c[5].clone()), Append::Appended);
        // Everything pruned: the head is the floor, and what follows must name it.
        log.prune_through(&who, 6);
        assert_eq!(log.head(&who), Some((6, c[5].id)));
        assert_eq!(log.authors().count(), 1);
        let wrong = sign(&a, 7, c[4].id, 7, text("fork"));
        assert_eq!(log.append(wrong), Append::ChainBreak { existing: c[5].id });

        // A floor restored at startup, with what the store kept above it.
        let mut again = RoomLog::new(RoomId([7; 32]));
        for r in &c[2..] {
            again.insert(r.clone(), true);
        }
        again.restore_floor(who, 2, c[1].id);
        assert_eq!((again.count_of(&who), again.base_of(&who)), (4, 2));
        assert_eq!(again.append(c[1].clone()), Append::Pruned);
        again.restore_floor(who, 1, c[0].id);
        assert_eq!(
            again.floor_of(&who),
            Some((2, c[1].id)),
            "a floor never goes down"
        );
        // One at or above a held entry (a damaged store) is not restored: nothing is lost.
        let mut whole = RoomLog::new(RoomId([7; 32]));
        whole.append(c[0].clone());
        whole.restore_floor(who, 3, c[2].id);
        assert_eq!((whole.floor_of(&who), whole.count_of(&who)), (None, 1));
    }
}
