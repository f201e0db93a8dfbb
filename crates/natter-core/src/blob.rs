//! Content addressing for attachments: a file's bytes cut into chunks, and a SHA-256 Merkle
//! tree over them whose root verifies every chunk on arrival.
//!
//! # What
//!
//! An attachment entry carries a file's [`Root`] and length; the bytes travel separately,
//! chunk by chunk, from whichever peers have them. A whole-file hash could only be checked
//! once the last byte arrived, so a stranger could make us store (and pass on) a gigabyte of
//! garbage first. Here each chunk comes with a short [`Proof`] against the root, and a chunk
//! that does not verify is refused before it is stored or served on.
//!
//! # Format (version 1)
//!
//! ```text
//! chunks   = the file cut into CHUNK_LEN (64 KiB) pieces, the last one shorter;
//!            an empty file is one empty chunk
//! leaf(c)  = SHA-256(0x00 || c)
//! node     = SHA-256(0x01 || left || right)
//! MTH      = the Merkle tree hash of RFC 9162 §2.1.1 over the leaves: for n > 1 leaves,
//!            k = the largest power of two below n, MTH(0..n) = node(MTH(0..k), MTH(k..n))
//! root     = SHA-256(0x02 || u64be(file length) || MTH)
//! proof(i) = the inclusion path of leaf i (RFC 9162 §2.1.3.1), leaf side first:
//!            32 bytes per tree level, at most MAX_PROOF_HASHES of them
//! ```
//!
//! The leaf and node prefixes keep a leaf from passing for a node (the second-preimage
//! defence of RFC 9162); the length in the root fixes the number of chunks, so a peer cannot
//! claim another size for the same tree. Verification follows RFC 9162 §2.1.3.2.
//!
//! # Why 64 KiB
//!
//! A chunk and its proof travel in one DataChannel message, well under Chromium's 256 KiB
//! limit (on a channel of their own: the log's frames stay within 64 KiB, and text must
//! not wait behind a file); a gigabyte is 16,384 chunks, a proof 14 hashes (448 bytes), and the sender keeps
//! 32 bytes of leaf hash per chunk ([`Outboard`]) to answer any request without hashing the
//! file again.
//!
//! # Bounds
//!
//! | what | bound |
//! | --- | --- |
//! | a file | [`MAX_FILE_LEN`] bytes (64 GiB): 2^20 chunks |
//! | a proof | [`MAX_PROOF_HASHES`] hashes, checked before any hashing |
//! | a chunk | exactly its place's length ([`chunk_len`]) |

use std::fmt;

use sha2::{Digest as _, Sha256};

/// Bytes per chunk (the last chunk of a file is shorter).
pub const CHUNK_LEN: usize = 64 * 1024;
/// The largest file: 2^20 chunks.
pub const MAX_FILE_LEN: u64 = (CHUNK_LEN as u64) << 20;
/// The most hashes a proof holds: one per level of a tree of 2^20 leaves.
pub const MAX_PROOF_HASHES: usize = 20;

const LEAF: u8 = 0;
const NODE: u8 = 1;
const ROOT: u8 = 2;

/// A file's root: what an attachment entry carries to name and verify its bytes.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Root(pub [u8; 32]);

impl fmt::Debug for Root {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Root({})", crate::hex::encode(&self.0))
    }
}

impl fmt::Display for Root {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&crate::hex::encode(&self.0))
    }
}

/// Why a file, chunk or proof was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BlobError {
    /// The file is longer than [`MAX_FILE_LEN`].
    #[error("the file is larger than {MAX_FILE_LEN} bytes")]
    TooLarge,
    /// The chunk index is past the file's last chunk.
    #[error("chunk {index} is past the end of a file of {chunks} chunks")]
    NoSuchChunk {
        /// The index asked for.
        index: u64,
        /// How many chunks the file has.
        chunks: u64,
    },
    /// The chunk is not as long as its place in the file.
    #[error("the chunk is {got} bytes long, its place holds {want}")]
    WrongLength {
        /// Its length.
        got: usize,
        /// The length of its place.
        want: usize,
    },
    /// An outboard was given another number of leaf hashes than the file has chunks.
    #[error("{got} leaf hashes for a file of {want} chunks")]
    LeafCount {
        /// How many were given.
        got: u64,
        /// How many chunks the file has.
        want: u64,
    },
    /// The proof's bytes are not whole hashes, or too many.
    #[error("the proof is malformed")]
    BadProof,
    /// The chunk does not match the root.
    #[error("the chunk does not match the file's root")]
    Mismatch,
}

/// How many chunks a file of `len` bytes has (an empty file has one, empty).
pub fn chunk_count(len: u64) -> u64 {
    len.div_ceil(CHUNK_LEN as u64).max(1)
}

/// The length of chunk `index` of a file of `len` bytes.
pub fn chunk_len(len: u64, index: u64) -> Result<usize, BlobError> {
    let chunks = chunk_count(len);
    if index >= chunks {
        return Err(BlobError::NoSuchChunk { index, chunks });
    }
    let start = index * CHUNK_LEN as u64;
    // At most CHUNK_LEN, so it fits a usize.
    Ok((len - start).min(CHUNK_LEN as u64) as usize)
}

/// The leaf hash of one chunk.
pub fn leaf_hash(chunk: &[u8]) -> [u8; 32] {
    Sha256::new()
        .chain_update([LEAF])
        .chain_update(chunk)
        .finalize()
        .into()
}

fn node_hash(left: &[u8; 32], right: &[u8; 32]) -> [u8; 32] {
    Sha256::new()
        .chain_update([NODE])
        .chain_update(left)
        .chain_update(right)
        .finalize()
        .into()
}

fn root_of(len: u64, mth: &[u8; 32]) -> Root {
    Root(
        Sha256::new()
            .chain_update([ROOT])
            .chain_update(len.to_be_bytes())
            .chain_update(mth)
            .finalize()
            .into(),
    )
}

/// The largest power of two below `n` (n ≥ 2).
fn split(n: usize) -> usize {
    1 << (usize::BITS - 1 - (n - 1).leading_zeros())
}

/// What the holder of a file keeps beside it: its chunks' leaf hashes and the hashes of
/// every complete subtree above them (about 64 bytes per chunk), from which it answers any
/// chunk request with a proof in a few dozen hashes, without reading the file again.
#[derive(Clone, PartialEq, Eq)]
pub struct Outboard {
    len: u64,
    /// `levels[0]` are the leaves; `levels[j][i]` is the hash of leaves
    /// `i·2^j .. (i+1)·2^j`, for the complete ones.
    levels: Vec<Vec<[u8; 32]>>,
    root: Root,
}

impl fmt::Debug for Outboard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Outboard")
            .field("len", &self.len)
            .field("root", &self.root)
            .finish()
    }
}

impl Outboard {
    /// The outboard of a file whose chunks, in order, have these leaf hashes.
    pub fn from_leaves(len: u64, leaves: Vec<[u8; 32]>) -> Result<Outboard, BlobError> {
        if len > MAX_FILE_LEN {
            return Err(BlobError::TooLarge);
        }
        if leaves.len() as u64 != chunk_count(len) {
            return Err(BlobError::LeafCount {
                got: leaves.len() as u64,
                want: chunk_count(len),
            });
        }
        let mut levels = vec![leaves];
        while let Some(below) = levels.last().filter(|l| l.len() > 1) {
            let up = below
                .chunks_exact(2)
                .map(|pair| node_hash(&pair[0], &pair[1]))
                .collect();
            levels.push(up);
        }
        let mut outboard = Outboard {
            len,
            levels,
            root: Root([0; 32]),
        };
        outboard.root = root_of(len, &outboard.subtree(0, outboard.chunks()));
        Ok(outboard)
    }

    fn chunks(&self) -> usize {
        self.levels[0].len()
    }

    /// The tree hash (RFC 9162 §2.1.1) of leaves `lo..hi`, a range the tree's recursion
    /// visits: a complete subtree is looked up, the rest of the right spine recurses.
    fn subtree(&self, lo: usize, hi: usize) -> [u8; 32] {
        let size = hi - lo;
        if size.is_power_of_two() && lo.is_multiple_of(size) {
            let j = size.trailing_zeros() as usize;
            return self.levels[j][lo >> j];
        }
        let k = split(size);
        node_hash(&self.subtree(lo, lo + k), &self.subtree(lo + k, hi))
    }

    /// The outboard of `bytes` held whole (tests, small files).
    pub fn of(bytes: &[u8]) -> Result<Outboard, BlobError> {
        let mut b = OutboardBuilder::default();
        for chunk in bytes.chunks(CHUNK_LEN) {
            b.push(chunk)?;
        }
        b.finish()
    }

    /// The file's root.
    pub fn root(&self) -> Root {
        self.root
    }

    /// The file's length.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether the file is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The proof for chunk `index` (RFC 9162 §2.1.3.1's inclusion path).
    pub fn proof(&self, index: u64) -> Result<Proof, BlobError> {
        let chunks = self.chunks() as u64;
        if index >= chunks {
            return Err(BlobError::NoSuchChunk { index, chunks });
        }
        let mut path = Vec::new();
        // Walk down from the whole tree, collecting the sibling subtree of each turn; the
        // path runs leaf side first, so the turns are reversed at the end.
        let (mut lo, mut hi, m) = (0usize, self.chunks(), index as usize);
        while hi - lo > 1 {
            let k = split(hi - lo);
            if m < lo + k {
                path.push(self.subtree(lo + k, hi));
                hi = lo + k;
            } else {
                path.push(self.subtree(lo, lo + k));
                lo += k;
            }
        }
        path.reverse();
        Ok(Proof(path))
    }
}

/// Builds an [`Outboard`] from a file's chunks as they are read, one at a time: every
/// chunk must be [`CHUNK_LEN`] long but the last.
#[derive(Debug, Default)]
pub struct OutboardBuilder {
    len: u64,
    leaves: Vec<[u8; 32]>,
    last_short: bool,
}

impl OutboardBuilder {
    /// Adds the next chunk.
    pub fn push(&mut self, chunk: &[u8]) -> Result<(), BlobError> {
        if self.last_short || chunk.len() > CHUNK_LEN || chunk.is_empty() {
            return Err(BlobError::WrongLength {
                got: chunk.len(),
                want: CHUNK_LEN,
            });
        }
        let len = self.len + chunk.len() as u64;
        if len > MAX_FILE_LEN {
            return Err(BlobError::TooLarge);
        }
        self.len = len;
        self.last_short = chunk.len() < CHUNK_LEN;
        self.leaves.push(leaf_hash(chunk));
        Ok(())
    }

    /// The outboard of everything pushed.
    pub fn finish(mut self) -> Result<Outboard, BlobError> {
        if self.leaves.is_empty() {
            self.leaves.push(leaf_hash(&[]));
        }
        Outboard::from_leaves(self.len, self.leaves)
    }
}

/// The inclusion path of one chunk: the sibling hashes from its leaf up to the tree's top.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proof(Vec<[u8; 32]>);

impl Proof {
    /// The proof's bytes: its hashes, 32 bytes each.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.0.concat()
    }

    /// Reads a proof. Total: anything but whole hashes, or more than
    /// [`MAX_PROOF_HASHES`], is [`BlobError::BadProof`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Proof, BlobError> {
        if !bytes.len().is_multiple_of(32) || bytes.len() / 32 > MAX_PROOF_HASHES {
            return Err(BlobError::BadProof);
        }
        Ok(Proof(
            bytes
                .chunks_exact(32)
                .map(|h| {
                    let mut a = [0u8; 32];
                    a.copy_from_slice(h);
                    a
                })
                .collect(),
        ))
    }
}

/// Checks that `chunk` is chunk `index` of the file of `len` bytes named by `root`.
pub fn verify(
    root: &Root,
    len: u64,
    index: u64,
    chunk: &[u8],
    proof: &Proof,
) -> Result<(), BlobError> {
    verify_hashed(root, len, index, chunk, None, proof)
}

/// [`verify`], with `chunk`'s [`leaf_hash`] when it is already known: computed by whoever
/// holds the bytes (a browser hashes with WebCrypto, off its main thread), and trusted to
/// be the hash of `chunk`. `None`: it is computed here.
pub fn verify_hashed(
    root: &Root,
    len: u64,
    index: u64,
    chunk: &[u8],
    leaf: Option<[u8; 32]>,
    proof: &Proof,
) -> Result<(), BlobError> {
    check_place(len, index, chunk.len(), proof)?;
    let leaf = leaf.unwrap_or_else(|| leaf_hash(chunk));
    verify_path(root, len, index, leaf, proof)
}

/// The checks made before any hashing: the file's size, the chunk's length in its place,
/// the proof's length.
fn check_place(len: u64, index: u64, got: usize, proof: &Proof) -> Result<(), BlobError> {
    if len > MAX_FILE_LEN {
        return Err(BlobError::TooLarge);
    }
    let want = chunk_len(len, index)?;
    if got != want {
        return Err(BlobError::WrongLength { got, want });
    }
    if proof.0.len() > MAX_PROOF_HASHES {
        return Err(BlobError::BadProof);
    }
    Ok(())
}

/// Follows the proof from chunk `index`'s leaf hash up to `root`.
fn verify_path(
    root: &Root,
    len: u64,
    index: u64,
    leaf: [u8; 32],
    proof: &Proof,
) -> Result<(), BlobError> {
    // RFC 9162 §2.1.3.2.
    let (mut f, mut s) = (index, chunk_count(len) - 1);
    let mut r = leaf;
    for p in &proof.0 {
        if s == 0 {
            return Err(BlobError::Mismatch);
        }
        if f & 1 == 1 || f == s {
            r = node_hash(p, &r);
            if f & 1 == 0 {
                while f & 1 == 0 && f != 0 {
                    f >>= 1;
                    s >>= 1;
                }
            }
        } else {
            r = node_hash(&r, p);
        }
        f >>= 1;
        s >>= 1;
    }
    if s == 0 && root_of(len, &r) == *root {
        Ok(())
    } else {
        Err(BlobError::Mismatch)
    }
}
