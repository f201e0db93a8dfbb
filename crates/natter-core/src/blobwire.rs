//! Frames of the attachments channel: which chunks a peer holds, asking for one, and the
//! chunk with its proof ([`crate::blob`], [`crate::fetch`]).
//!
//! # Format (version 1)
//!
//! Attachments travel on a DataChannel of their own, so a file never holds up the log's
//! frames ([`crate::wire`]). Every frame is `version:u8 kind:u8 root:[32] payload`, at most
//! [`MAX_BLOB_FRAME_LEN`] bytes (a chunk and its proof, under Chromium's 256 KiB message
//! limit). Integers are big-endian.
//!
//! | kind | frame | payload |
//! | --- | --- | --- |
//! | 1 | [`BlobFrame::Have`] | `len:u64 all:u8`; if `all` is 0, `count:u32` then `start:u32 end:u32` per range of chunk indexes held (`end` exclusive, ascending, apart, non-empty), at most [`MAX_HAVE_RANGES`] |
//! | 2 | [`BlobFrame::Want`] | `index:u64` |
//! | 3 | [`BlobFrame::Chunk`] | `index:u64 proof:u8` hashes of 32 bytes (at most [`crate::blob::MAX_PROOF_HASHES`]), then `len:u32` and the chunk (at most [`crate::blob::CHUNK_LEN`]) |
//! | 4 | [`BlobFrame::Lack`] | `index:u64`: the sender does not hold that chunk (any more) |
//!
//! Decoding is total and canonical: any input yields a frame or a [`WireError`], never a
//! panic, with no trailing bytes, flags 0 or 1, ranges in order. As in [`crate::wire`], an
//! unknown kind is [`WireError::UnknownKind`], which a receiver may skip.

use crate::blob::{chunk_count, Proof, Root, CHUNK_LEN, MAX_FILE_LEN, MAX_PROOF_HASHES};
use crate::fetch::Availability;
use crate::log::Reader;
use crate::wire::{WireError, WIRE_VERSION};

/// The largest frame on the attachments channel.
pub const MAX_BLOB_FRAME_LEN: usize = CHUNK_LEN + 1024;
/// The most ranges a `Have` lists (a holder with a more scattered file says less).
pub const MAX_HAVE_RANGES: usize = 4096;

/// A frame of the attachments channel, about the file named by its root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BlobFrame {
    /// The sender holds these chunks of the file of `len` bytes.
    Have {
        /// The file.
        root: Root,
        /// Its length.
        len: u64,
        /// `None`: all of it; else ranges of chunk indexes, `start..end`.
        ranges: Option<Vec<(u32, u32)>>,
    },
    /// Send chunk `index`.
    Want {
        /// The file.
        root: Root,
        /// The chunk.
        index: u64,
    },
    /// Chunk `index` with its proof.
    Chunk {
        /// The file.
        root: Root,
        /// The chunk.
        index: u64,
        /// Its proof's bytes (see [`Proof`]).
        proof: Proof,
        /// Its bytes.
        bytes: Vec<u8>,
    },
    /// The sender does not hold chunk `index`.
    Lack {
        /// The file.
        root: Root,
        /// The chunk.
        index: u64,
    },
}

impl BlobFrame {
    /// Encodes the frame.
    pub fn encode(&self) -> Vec<u8> {
        let (kind, root) = match self {
            BlobFrame::Have { root, .. } => (1, root),
            BlobFrame::Want { root, .. } => (2, root),
            BlobFrame::Chunk { root, .. } => (3, root),
            BlobFrame::Lack { root, .. } => (4, root),
        };
        let mut out = vec![WIRE_VERSION, kind];
        out.extend_from_slice(&root.0);
        match self {
            BlobFrame::Have { len, ranges, .. } => {
                out.extend_from_slice(&len.to_be_bytes());
                match ranges {
                    None => out.push(1),
                    Some(ranges) => {
                        out.push(0);
                        let n = u32::try_from(ranges.len()).unwrap_or(u32::MAX);
                        out.extend_from_slice(&n.to_be_bytes());
                        for (start, end) in ranges {
                            out.extend_from_slice(&start.to_be_bytes());
                            out.extend_from_slice(&end.to_be_bytes());
                        }
                    }
                }
            }
            BlobFrame::Want { index, .. } | BlobFrame::Lack { index, .. } => {
                out.extend_from_slice(&index.to_be_bytes());
            }
            BlobFrame::Chunk {
                index,
                proof,
                bytes,
                ..
            } => {
                out.extend_from_slice(&index.to_be_bytes());
                let hashes = proof.to_bytes();
                out.push(u8::try_from(hashes.len() / 32).unwrap_or(u8::MAX));
                out.extend_from_slice(&hashes);
                let n = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
                out.extend_from_slice(&n.to_be_bytes());
                out.extend_from_slice(bytes);
            }
        }
        out
    }

    /// Decodes one frame. Total: never panics.
    pub fn decode(bytes: &[u8]) -> Result<BlobFrame, WireError> {
        if bytes.len() > MAX_BLOB_FRAME_LEN {
            return Err(WireError::TooLarge(bytes.len()));
        }
        let mut r = Reader::new(bytes);
        let version = r.u8().map_err(|_| WireError::Empty)?;
        if version != WIRE_VERSION {
            return Err(WireError::UnknownVersion(version));
        }
        let kind = r.u8()?;
        if !(1..=4).contains(&kind) {
            return Err(WireError::UnknownKind(kind));
        }
        let root = Root(r.array()?);
        let frame = match kind {
            1 => {
                let len = r.u64()?;
                if len > MAX_FILE_LEN {
                    return Err(WireError::OutOfRange("the file's length"));
                }
                let ranges = match r.u8()? {
                    1 => None,
                    0 => Some(ranges(&mut r, chunk_count(len))?),
                    v => return Err(WireError::BadValue(v)),
                };
                BlobFrame::Have { root, len, ranges }
            }
            2 => BlobFrame::Want {
                root,
                index: r.u64()?,
            },
            3 => {
                let index = r.u64()?;
                let hashes = r.u8()?;
                if usize::from(hashes) > MAX_PROOF_HASHES {
                    return Err(WireError::BadValue(hashes));
                }
                let proof = Proof::from_bytes(r.bytes(usize::from(hashes) * 32)?)
                    .map_err(|_| WireError::BadValue(hashes))?;
                let n = r.u32()? as usize;
                if n > CHUNK_LEN {
                    return Err(WireError::BadCount(n as u32));
                }
                BlobFrame::Chunk {
                    root,
                    index,
                    proof,
                    bytes: r.bytes(n)?.to_vec(),
                }
            }
            _ => BlobFrame::Lack {
                root,
                index: r.u64()?,
            },
        };
        r.finish()?;
        Ok(frame)
    }
}

/// Where the chunk's bytes lie in `frame` when it is a well-formed [`BlobFrame::Chunk`]
/// (they run to its end), so that a driver can hash them before the node decodes the
/// frame ([`crate::blob::verify_hashed`]); `None` for any other frame.
pub fn chunk_span(frame: &[u8]) -> Option<std::ops::Range<usize>> {
    match BlobFrame::decode(frame) {
        Ok(BlobFrame::Chunk { bytes, .. }) => Some(frame.len() - bytes.len()..frame.len()),
        _ => None,
    }
}

/// Reads a `Have`'s ranges: ascending, apart, non-empty, within the file's chunks.
fn ranges(r: &mut Reader<'_>, chunks: u64) -> Result<Vec<(u32, u32)>, WireError> {
    let n = r.u32()?;
    if n as usize > MAX_HAVE_RANGES || (n as usize) * 8 > r.remaining() {
        return Err(WireError::BadCount(n));
    }
    let mut out = Vec::with_capacity(n as usize);
    let mut floor = 0u64;
    for _ in 0..n {
        let (start, end) = (r.u32()?, r.u32()?);
        if u64::from(start) < floor || start >= end || u64::from(end) > chunks {
            return Err(WireError::OutOfRange("a range of chunks"));
        }
        // Apart: a range starting where the last ended should have been one range.
        floor = u64::from(end) + 1;
        out.push((start, end));
    }
    Ok(out)
}

/// The ranges of chunk indexes set in `flags` (at most [`MAX_HAVE_RANGES`], the lowest
/// first; a more scattered holder announces only those).
pub fn ranges_of(flags: &[bool]) -> Vec<(u32, u32)> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, held) in flags.iter().chain([&false]).enumerate() {
        let i = u32::try_from(i).unwrap_or(u32::MAX);
        match (start, *held) {
            (None, true) => start = Some(i),
            (Some(s), false) => {
                out.push((s, i));
                start = None;
                if out.len() == MAX_HAVE_RANGES {
                    break;
                }
            }
            _ => {}
        }
    }
    out
}

/// What a `Have` says, as the fetch takes it.
pub fn availability(len: u64, ranges: &Option<Vec<(u32, u32)>>) -> Availability {
    match ranges {
        None => Availability::All,
        Some(ranges) => {
            let mut flags = vec![false; chunk_count(len.min(MAX_FILE_LEN)) as usize];
            for (start, end) in ranges {
                for f in flags.iter_mut().take(*end as usize).skip(*start as usize) {
                    *f = true;
                }
            }
            Availability::Chunks(flags)
        }
    }
}
