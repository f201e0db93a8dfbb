//! Binary frames between peers.
//!
//! # Format (version 1)
//!
//! Every frame is `version:u8 kind:u8 payload`, at most [`MAX_FRAME_LEN`] bytes (64 KiB, well
//! under the SCTP message size browsers accept on a DataChannel). Integers are big-endian;
//! counts are `u32` and checked against the bytes that remain before anything is allocated.
//!
//! | kind | frame | payload |
//! | --- | --- | --- |
//! | 1 | [`Frame::Hello`] | the handshake bytes of `crate::hello` (`u32` length + bytes) |
//! | 2 | [`Frame::Summary`] | `count`, then `author:[32] seq:u64 head:[32]` per author |
//! | 3 | [`Frame::Want`] | `count`, then `author:[32] from_seq:u64 to_seq:u64` per range |
//! | 4 | [`Frame::Entries`] | `count`, then `len:u32 entry-bytes` per entry (answers a want) |
//! | 5 | [`Frame::Push`] | as `Entries` (unsolicited: newly created or relayed entries) |
//! | 6 | [`Frame::Evidence`] | two entries (`len:u32 bytes` each) proving an equivocation |
//! | 7 | [`Frame::Typing`] | `active:u8` (0 or 1) |
//! | 8 | [`Frame::Presence`] | `state:u8` (0 online, 1 away) |
//! | 9 | [`Frame::Bye`] | `reason:str` (`u32` length + UTF-8, at most 256 bytes) |
//! | 10 | [`Frame::Floors`] | `count`, then `author:[32] base:u64` per author whose held chain does not reach down to entry 1 |
//!
//! Entry bytes are the canonical encoding of `crate::log`. Decoding is total: any input
//! yields a frame or a [`WireError`], never a panic, and a frame decodes only if it is in
//! canonical form (no trailing bytes, flags 0 or 1). An unknown version byte is rejected with
//! [`WireError::UnknownVersion`]; an unknown kind under a known version with
//! [`WireError::UnknownKind`], which receivers may treat as ignorable (a newer peer), unlike
//! every other error, which marks the frame as malformed.
//!
//! A summary or want list that would not fit one frame is split over several
//! ([`encode_summary`], [`encode_want`]); each frame is meaningful alone. Likewise
//! [`encode_entries`] packs entries into as few frames as fit.

use crate::identity::PublicKey;
use crate::log::{EntryId, LogError, Reader, Record, MAX_ENTRY_LEN, MIN_ENTRY_LEN};

/// The wire format version this build speaks.
pub const WIRE_VERSION: u8 = 1;
/// Maximum length of any frame in bytes.
pub const MAX_FRAME_LEN: usize = 64 * 1024;
/// Maximum bytes of a `Bye` reason.
pub const MAX_BYE_REASON: usize = 256;
/// Bytes of one summary head.
pub const HEAD_LEN: usize = 32 + 8 + 32;
/// Bytes of one want range.
pub const RANGE_LEN: usize = 32 + 8 + 8;
/// Bytes of one floor.
pub const FLOOR_LEN: usize = 32 + 8;
/// Bytes of frame header (version, kind) plus a count.
pub const FRAME_OVERHEAD: usize = 2 + 4;

const _: () = assert!(MAX_ENTRY_LEN + FRAME_OVERHEAD + 4 <= MAX_FRAME_LEN);

/// Errors from decoding a frame.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    /// The frame was empty.
    #[error("empty frame")]
    Empty,
    /// The frame exceeds [`MAX_FRAME_LEN`].
    #[error("frame of {0} bytes exceeds the {MAX_FRAME_LEN}-byte limit")]
    TooLarge(usize),
    /// The version byte is not one this build speaks.
    #[error("unknown wire version {0} (this build speaks version {WIRE_VERSION})")]
    UnknownVersion(u8),
    /// The kind byte is unknown under this version.
    #[error("unknown frame kind {0}")]
    UnknownKind(u8),
    /// A count exceeds what the rest of the frame could hold.
    #[error("count {0} does not fit the frame")]
    BadCount(u32),
    /// A flag or enum byte is out of range.
    #[error("invalid value {0} for a flag or state byte")]
    BadValue(u8),
    /// A number is outside what its field allows (a file's length, a range of chunks).
    #[error("{0} is out of range")]
    OutOfRange(&'static str),
    /// The frame is structurally malformed.
    #[error("malformed frame: {0}")]
    Malformed(#[from] LogError),
    /// An embedded entry does not decode.
    #[error("entry {index} is malformed: {error}")]
    BadEntry {
        /// Its position in the frame.
        index: usize,
        /// Why.
        error: LogError,
    },
}

impl WireError {
    /// Whether the frame may come from a newer peer and can be skipped without blame.
    pub fn is_ignorable(&self) -> bool {
        matches!(self, WireError::UnknownKind(_))
    }
}

/// One author's head in a summary: "I hold `author`'s entries up to `seq` (from 1, or from
/// the floor I declare in `Floors`); entry `seq` is
/// `head`".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Head {
    /// The author.
    pub author: PublicKey,
    /// The highest seq held.
    pub seq: u64,
    /// Id of entry `seq`.
    pub head: EntryId,
}

/// "The run of `author`'s entries I hold up to my head starts at `base + 1`": the sender
/// will not serve entries at or below `base` in one chain with its head (it dropped them,
/// or never held them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Floor {
    /// The author.
    pub author: PublicKey,
    /// The seq below the sender's top run.
    pub base: u64,
}

/// A request for `author`'s entries `from_seq..=to_seq`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WantRange {
    /// The author.
    pub author: PublicKey,
    /// First seq wanted.
    pub from_seq: u64,
    /// Last seq wanted (inclusive).
    pub to_seq: u64,
}

/// A peer's presence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Presence {
    /// Active.
    Online,
    /// Idle or in the background.
    Away,
}

/// A frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// The connection handshake (see `crate::hello`), carried as its bytes.
    Hello(Vec<u8>),
    /// Heads of (some of) the authors the sender holds.
    Summary(Vec<Head>),
    /// Ranges the sender asks for.
    Want(Vec<WantRange>),
    /// Entries answering a want, in seq order per author.
    Entries(Vec<Record>),
    /// Entries sent unasked: new, or relayed.
    Push(Vec<Record>),
    /// Two entries by one author proving it forked its log: the same seq with different
    /// ids, or `second.seq == first.seq + 1` with `second.prev_hash != first.id`.
    Evidence {
        /// The entry the sender holds.
        first: Box<Record>,
        /// The conflicting entry.
        second: Box<Record>,
    },
    /// The sender started (`true`) or stopped typing. Transient.
    Typing(bool),
    /// The sender's presence. Transient.
    Presence(Presence),
    /// The sender is closing the connection, and why.
    Bye(String),
    /// Where the sender's held chains start, for authors whose chain does not start at 1.
    /// Sent after the summary that names those authors. (A peer that does not know this
    /// kind ignores it, as every unknown kind.)
    Floors(Vec<Floor>),
}

impl Frame {
    /// Encodes the frame. Callers keep frames under [`MAX_FRAME_LEN`] (the `encode_*`
    /// helpers split long lists).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = vec![WIRE_VERSION];
        match self {
            Frame::Hello(b) => {
                out.push(1);
                put_bytes(&mut out, b);
            }
            Frame::Summary(heads) => {
                out.push(2);
                put_count(&mut out, heads.len());
                for h in heads {
                    out.extend_from_slice(&h.author.0);
                    out.extend_from_slice(&h.seq.to_be_bytes());
                    out.extend_from_slice(&h.head.0);
                }
            }
            Frame::Want(ranges) => {
                out.push(3);
                put_count(&mut out, ranges.len());
                for r in ranges {
                    out.extend_from_slice(&r.author.0);
                    out.extend_from_slice(&r.from_seq.to_be_bytes());
                    out.extend_from_slice(&r.to_seq.to_be_bytes());
                }
            }
            Frame::Entries(recs) | Frame::Push(recs) => {
                out.push(if matches!(self, Frame::Entries(_)) {
                    4
                } else {
                    5
                });
                put_count(&mut out, recs.len());
                for r in recs {
                    put_bytes(&mut out, &r.bytes);
                }
            }
            Frame::Evidence { first, second } => {
                out.push(6);
                put_bytes(&mut out, &first.bytes);
                put_bytes(&mut out, &second.bytes);
            }
            Frame::Typing(active) => {
                out.push(7);
                out.push(u8::from(*active));
            }
            Frame::Presence(p) => {
                out.push(8);
                out.push(match p {
                    Presence::Online => 0,
                    Presence::Away => 1,
                });
            }
            Frame::Bye(reason) => {
                out.push(9);
                let mut end = reason.len().min(MAX_BYE_REASON);
                while !reason.is_char_boundary(end) {
                    end -= 1;
                }
                put_bytes(&mut out, &reason.as_bytes()[..end]);
            }
            Frame::Floors(floors) => {
                out.push(10);
                put_count(&mut out, floors.len());
                for f in floors {
                    out.extend_from_slice(&f.author.0);
                    out.extend_from_slice(&f.base.to_be_bytes());
                }
            }
        }
        out
    }

    /// Decodes a frame (total: never panics).
    pub fn decode(bytes: &[u8]) -> Result<Frame, WireError> {
        if bytes.len() > MAX_FRAME_LEN {
            return Err(WireError::TooLarge(bytes.len()));
        }
        let mut r = Reader::new(bytes);
        let version = r.u8().map_err(|_| WireError::Empty)?;
        if version != WIRE_VERSION {
            return Err(WireError::UnknownVersion(version));
        }
        let frame = match r.u8()? {
            1 => {
                let len = r.u32()? as usize;
                Frame::Hello(r.bytes(len)?.to_vec())
            }
            2 => {
                let n = count(&mut r, HEAD_LEN)?;
                let mut heads = Vec::with_capacity(n);
                for _ in 0..n {
                    heads.push(Head {
                        author: PublicKey(r.array()?),
                        seq: r.u64()?,
                        head: EntryId(r.array()?),
                    });
                }
                Frame::Summary(heads)
            }
            3 => {
                let n = count(&mut r, RANGE_LEN)?;
                let mut ranges = Vec::with_capacity(n);
                for _ in 0..n {
                    ranges.push(WantRange {
                        author: PublicKey(r.array()?),
                        from_seq: r.u64()?,
                        to_seq: r.u64()?,
                    });
                }
                Frame::Want(ranges)
            }
            k @ (4 | 5) => {
                let n = count(&mut r, 4 + MIN_ENTRY_LEN)?;
                let mut recs = Vec::with_capacity(n);
                for index in 0..n {
                    recs.push(entry(&mut r, index)?);
                }
                if k == 4 {
                    Frame::Entries(recs)
                } else {
                    Frame::Push(recs)
                }
            }
            6 => Frame::Evidence {
                first: Box::new(entry(&mut r, 0)?),
                second: Box::new(entry(&mut r, 1)?),
            },
            7 => Frame::Typing(match r.u8()? {
                0 => false,
                1 => true,
                v => return Err(WireError::BadValue(v)),
            }),
            8 => Frame::Presence(match r.u8()? {
                0 => Presence::Online,
                1 => Presence::Away,
                v => return Err(WireError::BadValue(v)),
            }),
            9 => Frame::Bye(r.str("reason", MAX_BYE_REASON)?),
            10 => {
                let n = count(&mut r, FLOOR_LEN)?;
                let mut floors = Vec::with_capacity(n);
                for _ in 0..n {
                    floors.push(Floor {
                        author: PublicKey(r.array()?),
                        base: r.u64()?,
                    });
                }
                Frame::Floors(floors)
            }
            k => return Err(WireError::UnknownKind(k)),
        };
        r.finish()?;
        Ok(frame)
    }
}

fn put_count(out: &mut Vec<u8>, n: usize) {
    // Frames are bounded by MAX_FRAME_LEN, so counts fit u32 (saturate defensively; such a
    // frame would be rejected by the receiver's size check anyway).
    out.extend_from_slice(&u32::try_from(n).unwrap_or(u32::MAX).to_be_bytes());
}

fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    put_count(out, b.len());
    out.extend_from_slice(b);
}

fn count(r: &mut Reader<'_>, min_item: usize) -> Result<usize, WireError> {
    let n = r.u32()?;
    if (n as usize).saturating_mul(min_item) > r.remaining() {
        return Err(WireError::BadCount(n));
    }
    Ok(n as usize)
}

fn entry(r: &mut Reader<'_>, index: usize) -> Result<Record, WireError> {
    let len = r.u32()? as usize;
    if len > MAX_ENTRY_LEN {
        return Err(WireError::BadEntry {
            index,
            error: LogError::EntryTooLarge(len),
        });
    }
    let raw = r.bytes(len)?;
    Record::from_bytes(raw).map_err(|error| WireError::BadEntry { index, error })
}

/// Encodes a summary as as many frames as needed (none for no heads).
pub fn encode_summary(heads: &[Head]) -> Vec<Vec<u8>> {
    let per = (MAX_FRAME_LEN - FRAME_OVERHEAD) / HEAD_LEN;
    heads
        .chunks(per)
        .map(|c| Frame::Summary(c.to_vec()).encode())
        .collect()
}

/// Encodes floors as as many frames as needed (none for no floors).
pub fn encode_floors(floors: &[Floor]) -> Vec<Vec<u8>> {
    let per = (MAX_FRAME_LEN - FRAME_OVERHEAD) / FLOOR_LEN;
    floors
        .chunks(per)
        .map(|c| Frame::Floors(c.to_vec()).encode())
        .collect()
}

/// Encodes want ranges as as many frames as needed (none for no ranges).
pub fn encode_want(ranges: &[WantRange]) -> Vec<Vec<u8>> {
    let per = (MAX_FRAME_LEN - FRAME_OVERHEAD) / RANGE_LEN;
    ranges
        .chunks(per)
        .map(|c| Frame::Want(c.to_vec()).encode())
        .collect()
}

/// Packs records into as few `Entries` (or, with `push`, `Push`) frames as fit under
/// [`MAX_FRAME_LEN`], keeping their order.
pub fn encode_entries<'a>(recs: impl IntoIterator<Item = &'a Record>, push: bool) -> Vec<Vec<u8>> {
    let kind = if push { 5 } else { 4 };
    let mut frames = Vec::new();
    let mut cur: Vec<u8> = Vec::new();
    let mut n: u32 = 0;
    let start = |cur: &mut Vec<u8>| {
        cur.clear();
        cur.extend_from_slice(&[WIRE_VERSION, kind, 0, 0, 0, 0]);
    };
    let finish = |cur: &mut Vec<u8>, n: u32, frames: &mut Vec<Vec<u8>>| {
        cur[2..6].copy_from_slice(&n.to_be_bytes());
        frames.push(std::mem::take(cur));
    };
    start(&mut cur);
    for r in recs {
        if n > 0 && cur.len() + 4 + r.bytes.len() > MAX_FRAME_LEN {
            finish(&mut cur, n, &mut frames);
            start(&mut cur);
            n = 0;
        }
        put_bytes(&mut cur, &r.bytes);
        n += 1;
    }
    if n > 0 {
        finish(&mut cur, n, &mut frames);
    }
    frames
}
