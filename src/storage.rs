//! Persistent state in the browser's IndexedDB, through `rexie`.
//!
//! # What
//!
//! One database, [`DB_NAME`] (`natter`), at schema version [`SCHEMA_VERSION`], with these
//! object stores:
//!
//! | store | key | value |
//! | --- | --- | --- |
//! | `identity` | `"self"` | the identity's secret key and display name ([`StoredIdentity`]) |
//! | `rooms` | room id (hex) | secret, name, password flag, left flag, stretched password, last activity ([`RoomRecord`]) |
//! | `log` | an entry's display key (80 bytes) | the entry's canonical bytes ([`natter_core::log`]); with the lock on, `{id, sealed}` |
//! | `entries` | entry id (32 bytes) | nothing once schema 6 has moved its entries to `log` |
//! | `peers` | `[room, key]` (hex) | a peer key verified in a room ([`VerifiedPeer`]) |
//! | `vault` | `"lock"` | the app lock's salt, Argon2id costs and verifier ([`StoredLock`]), when it is on |
//! | `evidence` | `[room, author]` (hex) | equivocation evidence: the two entries' bytes |
//! | `files` | a file's root (32 bytes) | the file's length and what the user wants of it ([`StoredFile`], [`FileWish`]) |
//! | `chunks` | root (32) ‖ chunk index (8, big-endian) [‖ 1 for its tail] | one chunk's proof and first 32 KiB; its tail, the rest ([`natter_core::blob`]) |
//!
//! Each identity, room, entry, piece of evidence, file and chunk is one codec's bytes (see
//! [`codec`]), stored under the record's key either in clear (a `bytes` field) or sealed
//! (a `sealed` field, see "The app lock"): the same path for every kind. An entry's bytes
//! are its canonical signed bytes; the others start with a format byte. An entry in clear
//! is stored as its bytes alone, not in a field: it is the record written most often.
//!
//! `log` is keyed by each entry's display key: 80 bytes, the room id (32), the Lamport
//! time (8, big-endian), the author's key (32) and the sequence number (8, big-endian).
//! IndexedDB orders binary keys bytewise, so this is the display order of
//! [`natter_core::log`] over the whole `u64` range, and one key range covers exactly a
//! room's entries: paging, counting and deleting a room need no index. A page's log holds
//! one entry per author and sequence number, so no two entries it stores share a key.
//! Should two pages of the app each store a rival entry under the same key (an author
//! who signed two for one sequence number at one Lamport time), the one written last
//! stays. Storing an entry is one record with no index to update and no fields to copy,
//! which makes inserts, the hot path of a catch-up, cheaper. `peers` and `evidence` have
//! a `by_room` index.
//!
//! A file's bytes are stored chunk by chunk as they arrive (or as the sender cuts its own
//! file), one 64 KiB chunk with the proof that lets it be served on, so a fetch resumes
//! after a reload and no operation holds a whole file: a chunk's key orders a file's
//! chunks together, so one key range lists (keys only, 4,096 at a time), or deletes,
//! exactly one file. A chunk is two records, its first 32 KiB with the proof and its tail
//! (keyed right after it, in the same transaction): Chromium moves a value of 64 KiB or
//! more out to a file of its own, which made each chunk's write cost several times a
//! smaller one's. A chunk stored whole before this split still reads. A chunk is checked against its place in the file
//! ([`natter_core::blob::chunk_len`], at most [`natter_core::blob::MAX_FILE_LEN`]); that it
//! matches the root is the node's check, before it asks for the chunk to be stored.
//!
//! Equivocation evidence (an author who signed two different entries with the same seq) is
//! one record per room and author, never part of the room record, so keeping it costs one
//! small write however many pieces a room collects. One piece per author is kept (the
//! first, as natter-core keeps it), and at most [`MAX_EVIDENCE_AUTHORS`] authors per room:
//! past that an equivocator is still refused for as long as the page runs, it is only not
//! remembered across reloads, so a flood of throwaway keys cannot grow the database.
//!
//! # Why
//!
//! A persistent room survives a reload: its secret, its entries and the keys its members
//! verified. Entries are stored as their canonical signed bytes, so what is loaded is
//! exactly what was verified and can be verified again; the display key is derived from
//! the entry and never trusted on its own (loading decodes the bytes).
//!
//! # Invariants
//!
//! - Writes of several records happen in one transaction ([`Storage::put_entries`],
//!   [`Storage::put_chunks`]), so a batch is stored whole or not at all. A chunk is never
//!   stored without its file's record, and [`Storage::delete_file`] removes both at once
//!   (for a file the user removed, it deletes every chunk and marks the record removed,
//!   in the same transaction).
//! - [`Storage::delete_room`] removes the room, its entries and its verified peers in one
//!   transaction and touches no other room.
//! - Every function returns [`StorageError`]; nothing here panics on what the browser or
//!   the stored data does, and damaged bytes read as [`StorageError::Corrupt`].
//! - Ephemeral rooms never touch this module: the runtime simply does not call it for them
//!   (natter-core's sync machine emits `Store` outputs either way; for an ephemeral room
//!   the driver drops them).
//! - Without the app lock, secrets are stored as plain bytes: IndexedDB is protected by the
//!   browser's origin isolation only. [`Storage::erase_all`] wipes everything.
//!
//! # The app lock
//!
//! With the lock on ([`Storage::enable_lock`], [`natter_core::vault`]), the shared path
//! seals each record's codec bytes under the passphrase's key into its `sealed` field: the
//! identity, each room (all of it but its id), each entry, each piece of evidence, each
//! file's length and each chunk. What stays in clear is what the keys need and holds no
//! text: room and entry ids, an entry's display key (room, Lamport time, author key,
//! sequence number), the evidence's room and author, the verified peers' public keys, and
//! files' roots and chunk indexes (so how many chunks a file has stored shows, not their
//! bytes). Each sealed record is bound to its place (`identity/self`, `rooms/<id>`,
//! `entries/<id>`, `evidence/<room>/<author>`, `files/<root>`, `chunks/<root>/<index>`
//! and `chunks/<root>/<index>/tail`,
//! ids in hex, the index in decimal), so records cannot be swapped. The lock switch writes
//! files and chunks again 64 records (at most 4 MiB) per transaction, so memory stays bounded
//! whatever is stored. Loading reads sealed and clear records alike, so an
//! interrupted switch loses nothing. The `vault` record itself (salt, costs, verifier) is
//! in clear: it is needed before the key exists. The settings (server addresses, TURN
//! credentials, theme, idle time) live in the browser's `localStorage`, not here, and stay
//! in clear: they are needed before unlocking, and hold nothing of rooms or messages.
//!
//! # Schema versions and migration
//!
//! [`schema`] builds the database with a `match version` ladder: each step adds what that
//! version introduced, and opening at [`SCHEMA_VERSION`] applies every step. `rexie`
//! applies a schema declaratively on `upgradeneeded`: stores and indexes the ladder names
//! that are missing are created, stores and indexes it no longer names are deleted,
//! existing records are kept.
//!
//! - Version 2 added `vault`.
//! - Version 3 added `evidence`, which schema 2 kept inside each room's settings as JSON
//!   arrays of numbers, rewriting the whole room record for every piece.
//! - Version 4 keys entries by their id's bytes and indexes them by the binary display
//!   key (`{id, display}` and the content); it drops the `by_room` index and the compound
//!   string index of `entries`, where version 3 kept the id and the display order in hex
//!   fields. Version 4 also stores identities, rooms and evidence as codec bytes, and a
//!   room's settings as typed fields instead of JSON text.
//! - Version 5 added `files` and `chunks`, for attachments' bytes; nothing is migrated.
//! - Version 6 adds `log`, keyed by the display key, and leaves `entries` and its index
//!   unused. [`Storage::open`] moves every entry from `entries` (in the form of version 4
//!   or of version 3) to `log`, a batch per transaction, its content carried over as
//!   stored (a sealed entry keeps its place), so this too needs no key, runs while the app
//!   is locked, loses nothing if interrupted and goes on at the next open. This replaces
//!   version 4's own migration, which rewrote entries within `entries`.
//!
//! Records of the earlier forms stay readable: an identity or room stored in fields (or its
//! JSON sealed) and evidence stored as two fields. [`Storage::load_rooms`] writes a room
//! of an earlier form again in the current one, moving any evidence its settings still
//! carry from schema 2 into the evidence store (at the first load, so after unlocking
//! when the lock is on).

use natter_core::blob::Root;
use natter_core::identity::PublicKey;
use natter_core::log::Record;
use natter_core::room::RoomId;

/// The name of the IndexedDB database.
pub const DB_NAME: &str = "natter";

/// The current schema version.
pub const SCHEMA_VERSION: u32 = 6;

/// The most chunks [`Storage::get_chunks`] reads at once (1 MiB).
pub const MAX_CHUNKS_READ: u64 = 16;

/// A chunk as read back: its proof's bytes and its own, or why it could not be read.
pub type StoredChunk = Result<(Vec<u8>, Vec<u8>), StorageError>;

/// The most authors of one room whose equivocation evidence is kept (see the module doc).
pub const MAX_EVIDENCE_AUTHORS: usize = 64;

/// One piece of equivocation evidence: the two entries' encoded bytes.
pub type EvidenceBytes = (Vec<u8>, Vec<u8>);

/// Why a storage operation failed. The `Display` text is meant for the user.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StorageError {
    /// IndexedDB is missing or refused to open (private browsing, storage disabled, a
    /// newer version of the app holds the database).
    #[error("This browser does not let Natter keep data on this device ({0}).")]
    Unavailable(String),
    /// A read or write failed (quota exceeded, the database was closed, ...).
    #[error("Saving or loading data on this device failed ({0}).")]
    Failed(String),
    /// Stored data could not be read back.
    #[error("Some data stored on this device is damaged and could not be read ({0}).")]
    Corrupt(String),
}

/// The user's identity as stored.
#[derive(Clone, PartialEq, Eq)]
pub struct StoredIdentity {
    /// The Ed25519 secret key bytes.
    pub secret: [u8; 32],
    /// The display name.
    pub display_name: String,
}

impl std::fmt::Debug for StoredIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredIdentity")
            .field("secret", &"<hidden>")
            .field("display_name", &self.display_name)
            .finish()
    }
}

/// A persistent room as stored.
#[derive(Clone, PartialEq, Eq)]
pub struct RoomRecord {
    /// The room id (the key).
    pub id: RoomId,
    /// The room secret.
    pub secret: [u8; 32],
    /// The room's display name, if it has one.
    pub name: Option<String>,
    /// Whether joining needs a password.
    pub password_required: bool,
    /// The user left the room: it is kept, not joined.
    pub left: bool,
    /// The stretched password, so the room reopens without asking again.
    pub password_key: Option<[u8; 32]>,
    /// When something last happened in the room, in milliseconds since the Unix epoch.
    pub last_activity_ms: u64,
}

impl std::fmt::Debug for RoomRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RoomRecord")
            .field("id", &self.id.to_hex())
            .field("secret", &"<hidden>")
            .field("name", &self.name)
            .field("password_required", &self.password_required)
            .field("left", &self.left)
            .field("password_key", &self.password_key.map(|_| "<hidden>"))
            .field("last_activity_ms", &self.last_activity_ms)
            .finish()
    }
}

/// A peer key verified (safety number compared) in a room.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedPeer {
    /// The peer's identity key.
    pub key: PublicKey,
    /// When it was verified, in milliseconds since the Unix epoch.
    pub verified_at_ms: u64,
}

/// The app lock as stored: how the key is derived, and the verifier that tells a wrong
/// passphrase.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredLock {
    /// Salt and Argon2id costs.
    pub params: natter_core::vault::VaultParams,
    /// The key's verifier ([`natter_core::vault::VaultKey::verifier`]).
    pub verifier: Vec<u8>,
}

/// A file whose chunks are stored, or that the user removed, as [`Storage::load_files`]
/// lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredFile {
    /// The file's root.
    pub root: Root,
    /// The file's length in bytes.
    pub len: u64,
    /// One flag per chunk ([`natter_core::blob::chunk_count`] of them): whether it is stored.
    pub held: Vec<bool>,
    /// What the user wants of it.
    pub wish: FileWish,
}

/// What the user wants of a file on this device, kept across reloads so a download goes on
/// by itself after one and a file removed is not fetched again on sight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileWish {
    /// Held, or being downloaded: an unfinished download goes on when the app starts.
    Fetch,
    /// The user paused its download.
    Paused,
    /// The user removed it from this device: none of its chunks are kept, and it is
    /// fetched again only when the user asks.
    Removed,
}

/// A position in a room's display order, to load the page after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EntryCursor {
    /// The entry's Lamport time.
    pub lamport: u64,
    /// The entry's author.
    pub author: PublicKey,
    /// The entry's sequence number.
    pub seq: u64,
}

impl EntryCursor {
    /// The cursor just at `record`: the next page starts after it.
    pub fn at(record: &Record) -> EntryCursor {
        let (lamport, author, seq) = record.entry.display_key();
        EntryCursor {
            lamport,
            author,
            seq,
        }
    }
}

/// The bytes each record kind is stored as, and the readers of the forms written before
/// schema 4. Pure: the browser code only moves these bytes, in clear or sealed.
///
/// - identity: [`FORMAT`], the secret (32), the display name;
/// - room (all but its id, which is the key): [`FORMAT`], the secret (32), a flags byte
///   ([`PASSWORD_REQUIRED`], [`LEFT`], [`PASSWORD_KEY`], [`NAME`]), the last activity (8,
///   big-endian), the stretched password (32) if flagged, the name if flagged;
/// - entry: its canonical bytes ([`natter_core::log::Record::bytes`]);
/// - evidence: the first entry's length (4, big-endian), then both entries' bytes;
/// - file: [`FORMAT`], the file's length (8, big-endian), what the user wants of it (0 fetch,
///   1 paused, 2 removed; absent before it was kept, and read as fetch);
/// - chunk: [`FORMAT`] ([`codec::SPLIT`] when a tail follows), the proof's length (4,
///   big-endian), the proof, the chunk's bytes (its first [`codec::CHUNK_HEAD_LEN`]);
/// - a chunk's tail: [`FORMAT`], the rest of the chunk's bytes;
///
/// where a text is its UTF-8 length (4, big-endian) and bytes. A decoder reads the whole
/// input: short input, trailing bytes, unknown flags or bad UTF-8 are
/// [`StorageError::Corrupt`].
pub mod codec {
    use natter_core::identity::PublicKey;
    use natter_core::log::Record;
    use natter_core::room::RoomId;

    use natter_core::blob::Root;

    use super::{EvidenceBytes, FileWish, RoomRecord, StorageError, StoredIdentity};

    /// The first byte of an identity's or a room's bytes. The JSON sealed before schema 4
    /// starts with `{`.
    pub const FORMAT: u8 = 1;
    /// Room flag: joining needs a password.
    pub const PASSWORD_REQUIRED: u8 = 1;
    /// Room flag: the user left the room.
    pub const LEFT: u8 = 2;
    /// Room flag: the stretched password follows.
    pub const PASSWORD_KEY: u8 = 4;
    /// Room flag: the name follows.
    pub const NAME: u8 = 8;
    const FLAGS: u8 = PASSWORD_REQUIRED | LEFT | PASSWORD_KEY | NAME;

    /// The length of an entry's display key.
    pub const DISPLAY_KEY_LEN: usize = 80;

    /// An entry's display key: room, Lamport time, author, seq, in an order whose bytewise
    /// order is the display order within the room.
    pub fn display_key(
        room: &RoomId,
        lamport: u64,
        author: &PublicKey,
        seq: u64,
    ) -> [u8; DISPLAY_KEY_LEN] {
        let mut key = [0; DISPLAY_KEY_LEN];
        key[..32].copy_from_slice(&room.0);
        key[32..40].copy_from_slice(&lamport.to_be_bytes());
        key[40..72].copy_from_slice(author.as_bytes());
        key[72..].copy_from_slice(&seq.to_be_bytes());
        key
    }

    /// The display key of `record` in `room` (its key in `log`).
    pub fn record_key(room: &RoomId, record: &Record) -> [u8; DISPLAY_KEY_LEN] {
        let (lamport, author, seq) = record.entry.display_key();
        display_key(room, lamport, &author, seq)
    }

    /// The lowest and the highest display key of `room`: every entry of the room lies
    /// between them (both included), and no entry of another room does.
    pub fn room_bounds(room: &RoomId) -> ([u8; DISPLAY_KEY_LEN], [u8; DISPLAY_KEY_LEN]) {
        let mut low = [0; DISPLAY_KEY_LEN];
        low[..32].copy_from_slice(&room.0);
        let mut high = [0xff; DISPLAY_KEY_LEN];
        high[..32].copy_from_slice(&room.0);
        (low, high)
    }

    fn put_text(out: &mut Vec<u8>, text: &str) {
        // A display name or room name is far below 4 GiB.
        out.extend_from_slice(&(text.len() as u32).to_be_bytes());
        out.extend_from_slice(text.as_bytes());
    }

    /// Reads a record's bytes front to back.
    struct Reader<'a> {
        rest: &'a [u8],
        what: &'static str,
    }

    impl<'a> Reader<'a> {
        fn new(bytes: &'a [u8], what: &'static str) -> Reader<'a> {
            Reader { rest: bytes, what }
        }

        fn damaged(&self) -> StorageError {
            StorageError::Corrupt(format!("a stored {} is damaged", self.what))
        }

        fn take(&mut self, n: usize) -> Result<&'a [u8], StorageError> {
            let (head, rest) = self
                .rest
                .split_at_checked(n)
                .ok_or_else(|| self.damaged())?;
            self.rest = rest;
            Ok(head)
        }

        fn array<const N: usize>(&mut self) -> Result<[u8; N], StorageError> {
            let mut out = [0; N];
            out.copy_from_slice(self.take(N)?);
            Ok(out)
        }

        fn byte(&mut self) -> Result<u8, StorageError> {
            Ok(self.array::<1>()?[0])
        }

        fn u32(&mut self) -> Result<u32, StorageError> {
            Ok(u32::from_be_bytes(self.array()?))
        }

        fn u64(&mut self) -> Result<u64, StorageError> {
            Ok(u64::from_be_bytes(self.array()?))
        }

        fn text(&mut self) -> Result<String, StorageError> {
            let len = self.u32()? as usize;
            let bytes = self.take(len)?;
            String::from_utf8(bytes.to_vec()).map_err(|_| self.damaged())
        }

        fn format(&mut self) -> Result<(), StorageError> {
            match self.byte()? {
                FORMAT => Ok(()),
                _ => Err(self.damaged()),
            }
        }

        fn end(self) -> Result<(), StorageError> {
            match self.rest.is_empty() {
                true => Ok(()),
                false => Err(self.damaged()),
            }
        }
    }

    /// An identity's bytes.
    pub fn identity(identity: &StoredIdentity) -> Vec<u8> {
        let mut out = Vec::with_capacity(37 + identity.display_name.len());
        out.push(FORMAT);
        out.extend_from_slice(&identity.secret);
        put_text(&mut out, &identity.display_name);
        out
    }

    /// An identity from its bytes, or from the JSON sealed before schema 4.
    pub fn read_identity(bytes: &[u8]) -> Result<StoredIdentity, StorageError> {
        if bytes.first() == Some(&b'{') {
            let json = legacy_json(bytes)?;
            return Ok(StoredIdentity {
                secret: legacy_hex32(&json, "secret")?,
                display_name: json["name"].as_str().unwrap_or_default().to_owned(),
            });
        }
        let mut r = Reader::new(bytes, "identity");
        r.format()?;
        let identity = StoredIdentity {
            secret: r.array()?,
            display_name: r.text()?,
        };
        r.end()?;
        Ok(identity)
    }

    /// A room's bytes (all but its id).
    pub fn room(room: &RoomRecord) -> Vec<u8> {
        let mut flags = 0;
        for (set, flag) in [
            (room.password_required, PASSWORD_REQUIRED),
            (room.left, LEFT),
            (room.password_key.is_some(), PASSWORD_KEY),
            (room.name.is_some(), NAME),
        ] {
            if set {
                flags |= flag;
            }
        }
        let mut out = Vec::with_capacity(110);
        out.push(FORMAT);
        out.extend_from_slice(&room.secret);
        out.push(flags);
        out.extend_from_slice(&room.last_activity_ms.to_be_bytes());
        if let Some(key) = &room.password_key {
            out.extend_from_slice(key);
        }
        if let Some(name) = &room.name {
            put_text(&mut out, name);
        }
        out
    }

    /// The room `id` from its bytes.
    pub fn read_room(id: RoomId, bytes: &[u8]) -> Result<RoomRecord, StorageError> {
        let mut r = Reader::new(bytes, "room");
        r.format()?;
        let secret = r.array()?;
        let flags = r.byte()?;
        if flags & !FLAGS != 0 {
            return Err(r.damaged());
        }
        let last_activity_ms = r.u64()?;
        let password_key = match flags & PASSWORD_KEY {
            0 => None,
            _ => Some(r.array()?),
        };
        let name = match flags & NAME {
            0 => None,
            _ => Some(r.text()?),
        };
        r.end()?;
        Ok(RoomRecord {
            id,
            secret,
            name,
            password_required: flags & PASSWORD_REQUIRED != 0,
            left: flags & LEFT != 0,
            password_key,
            last_activity_ms,
        })
    }

    /// A piece of evidence's bytes.
    pub fn evidence(first: &[u8], second: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(4 + first.len() + second.len());
        // An entry is far below 4 GiB (natter-core bounds its size).
        out.extend_from_slice(&(first.len() as u32).to_be_bytes());
        out.extend_from_slice(first);
        out.extend_from_slice(second);
        out
    }

    /// A piece of evidence from its bytes (the same as sealed before schema 4).
    pub fn read_evidence(bytes: &[u8]) -> Result<(Record, Record), StorageError> {
        let mut r = Reader::new(bytes, "piece of evidence");
        let len = r.u32()? as usize;
        let first = r.take(len)?;
        Ok((entry(first)?, entry(r.rest)?))
    }

    /// An entry from its bytes.
    pub fn entry(bytes: &[u8]) -> Result<Record, StorageError> {
        Record::from_bytes(bytes).map_err(|e| StorageError::Corrupt(e.to_string()))
    }

    /// The length of a chunk's key.
    pub const CHUNK_KEY_LEN: usize = 40;

    /// A chunk's key: the file's root, then the chunk's index (8, big-endian), so that
    /// bytewise order is chunk order and one key range covers one file.
    pub fn chunk_key(root: &Root, index: u64) -> [u8; CHUNK_KEY_LEN] {
        let mut key = [0; CHUNK_KEY_LEN];
        key[..32].copy_from_slice(&root.0);
        key[32..].copy_from_slice(&index.to_be_bytes());
        key
    }

    /// The key of a chunk's tail record: the chunk's key, then [`TAIL`], so that it sorts
    /// right after its chunk and inside its file's key range.
    pub fn chunk_tail_key(root: &Root, index: u64) -> [u8; CHUNK_KEY_LEN + 1] {
        let mut key = [TAIL; CHUNK_KEY_LEN + 1];
        key[..CHUNK_KEY_LEN].copy_from_slice(&chunk_key(root, index));
        key
    }

    /// The index of the chunk of `root` keyed `key`; `None` for a key of another file or
    /// of another length (a tail's key among them).
    pub fn chunk_index(root: &Root, key: &[u8]) -> Option<u64> {
        let (file, index) = key.split_at_checked(32)?;
        if file != root.0 {
            return None;
        }
        Some(u64::from_be_bytes(index.try_into().ok()?))
    }

    /// The file, chunk index and tail flag of a chunk's or a tail's key.
    pub fn read_chunk_key(key: &[u8]) -> Option<(Root, u64, bool)> {
        let (chunk, tail) = match key.len() {
            CHUNK_KEY_LEN => (key, false),
            n if n == CHUNK_KEY_LEN + 1 && key[CHUNK_KEY_LEN] == TAIL => {
                (&key[..CHUNK_KEY_LEN], true)
            }
            _ => return None,
        };
        let root = Root(chunk[..32].try_into().ok()?);
        Some((root, chunk_index(&root, chunk)?, tail))
    }

    /// A file record's bytes: [`FORMAT`], the file's length (8, big-endian), the wish (1).
    pub fn file(len: u64, wish: FileWish) -> Vec<u8> {
        let mut out = Vec::with_capacity(10);
        out.push(FORMAT);
        out.extend_from_slice(&len.to_be_bytes());
        out.push(match wish {
            FileWish::Fetch => 0,
            FileWish::Paused => 1,
            FileWish::Removed => 2,
        });
        out
    }

    /// A file's length and wish from its record's bytes (a record without the wish, as
    /// written before it was kept, reads as [`FileWish::Fetch`]).
    pub fn read_file(bytes: &[u8]) -> Result<(u64, FileWish), StorageError> {
        let mut r = Reader::new(bytes, "file");
        r.format()?;
        let len = r.u64()?;
        if bytes.len() == 9 {
            return Ok((len, FileWish::Fetch));
        }
        let wish = match r.byte()? {
            0 => FileWish::Fetch,
            1 => FileWish::Paused,
            2 => FileWish::Removed,
            _ => return Err(r.damaged()),
        };
        r.end()?;
        Ok((len, wish))
    }

    /// The most bytes of a chunk that its own record holds; the rest goes in its tail
    /// record, so that each record stays below the 64 KiB past which Chromium moves a
    /// value out to a file of its own.
    pub const CHUNK_HEAD_LEN: usize = 32 * 1024;
    /// The first byte of a chunk's record whose bytes go on in its tail record.
    pub const SPLIT: u8 = 2;
    /// The last byte of a tail record's key.
    pub const TAIL: u8 = 1;

    /// A chunk's records: its own ([`FORMAT`], or [`SPLIT`] when a tail follows; the
    /// proof's length (4, big-endian), the proof, the chunk's first [`CHUNK_HEAD_LEN`]
    /// bytes) and, for a longer chunk, its tail ([`FORMAT`], the rest of its bytes).
    pub fn chunk(proof: &[u8], bytes: &[u8]) -> (Vec<u8>, Option<Vec<u8>>) {
        let (head, tail) = bytes.split_at(bytes.len().min(CHUNK_HEAD_LEN));
        let mut out = Vec::with_capacity(5 + proof.len() + head.len());
        out.push(if tail.is_empty() { FORMAT } else { SPLIT });
        // A proof is at most MAX_PROOF_HASHES hashes; longer ones are refused before this.
        out.extend_from_slice(&(proof.len() as u32).to_be_bytes());
        out.extend_from_slice(proof);
        out.extend_from_slice(head);
        let tail = (!tail.is_empty()).then(|| [&[FORMAT][..], tail].concat());
        (out, tail)
    }

    /// A chunk's proof and bytes from its record's bytes, and whether its bytes go on in
    /// its tail record. A record written before chunks were split holds the whole chunk.
    pub fn read_chunk(bytes: &[u8]) -> Result<(Vec<u8>, Vec<u8>, bool), StorageError> {
        let mut r = Reader::new(bytes, "chunk");
        let split = match r.byte()? {
            FORMAT => false,
            SPLIT => true,
            _ => return Err(r.damaged()),
        };
        let len = r.u32()? as usize;
        let proof = r.take(len)?.to_vec();
        if split && r.rest.len() != CHUNK_HEAD_LEN {
            return Err(r.damaged());
        }
        Ok((proof, r.rest.to_vec(), split))
    }

    /// The rest of a chunk's bytes from its tail record's bytes.
    pub fn read_chunk_tail(bytes: &[u8]) -> Result<&[u8], StorageError> {
        let mut r = Reader::new(bytes, "chunk's tail");
        r.format()?;
        Ok(r.rest)
    }

    /// A room as stored before schema 4, in fields or as sealed JSON: its settings are the
    /// runtime's JSON text.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct LegacyRoom {
        /// The room secret.
        pub secret: [u8; 32],
        /// The room's name.
        pub name: Option<String>,
        /// Whether joining needs a password.
        pub password_required: bool,
        /// The settings JSON.
        pub settings: String,
    }

    /// A room's content from the JSON sealed before schema 4.
    pub fn read_legacy_room(bytes: &[u8]) -> Result<LegacyRoom, StorageError> {
        let json = legacy_json(bytes)?;
        Ok(LegacyRoom {
            secret: legacy_hex32(&json, "secret")?,
            name: json["name"].as_str().map(str::to_owned),
            password_required: json["password"].as_bool().unwrap_or(false),
            settings: json["settings"].as_str().unwrap_or_default().to_owned(),
        })
    }

    impl LegacyRoom {
        /// The room record, read from the settings as the runtime read them (text it cannot
        /// read gives the defaults: not left, no stored password), and the evidence schema 2
        /// kept in them.
        pub fn into_record(
            self,
            id: RoomId,
            last_activity_ms: u64,
        ) -> (RoomRecord, Vec<EvidenceBytes>) {
            #[derive(Default, serde::Deserialize)]
            struct Settings {
                #[serde(default)]
                left: bool,
                #[serde(default)]
                password_key: Option<[u8; 32]>,
            }
            let settings: Settings = serde_json::from_str(&self.settings).unwrap_or_default();
            let evidence = serde_json::from_str::<serde_json::Value>(&self.settings)
                .ok()
                .and_then(|mut json| json.as_object_mut()?.remove("evidence"))
                .map(|pairs| serde_json::from_value(pairs).unwrap_or_default())
                .unwrap_or_default();
            let record = RoomRecord {
                id,
                secret: self.secret,
                name: self.name,
                password_required: self.password_required,
                left: settings.left,
                password_key: settings.password_key,
                last_activity_ms,
            };
            (record, evidence)
        }
    }

    fn legacy_json(bytes: &[u8]) -> Result<serde_json::Value, StorageError> {
        serde_json::from_slice(bytes)
            .map_err(|_| StorageError::Corrupt("a sealed record is not readable".into()))
    }

    fn legacy_hex32(json: &serde_json::Value, name: &str) -> Result<[u8; 32], StorageError> {
        natter_core::hex::decode32(json[name].as_str().unwrap_or_default())
            .ok_or_else(|| StorageError::Corrupt("a stored key is not 64 hex digits".into()))
    }
}

#[cfg(target_arch = "wasm32")]
pub use browser::{schema, schema_at, Storage};

#[cfg(target_arch = "wasm32")]
mod browser {
    use js_sys::{Object, Reflect, Uint8Array};
    use natter_core::blob::{self, Root};
    use natter_core::identity::PublicKey;
    use natter_core::log::Record;
    use natter_core::room::RoomId;
    use rexie::{Index, KeyRange, ObjectStore, Rexie, RexieBuilder, TransactionMode};
    use wasm_bindgen::{JsCast, JsValue};

    use super::codec::{self, LegacyRoom};
    use super::*;

    const IDENTITY: &str = "identity";
    const ROOMS: &str = "rooms";
    const ENTRIES: &str = "entries";
    const LOG: &str = "log";
    const PEERS: &str = "peers";
    const VAULT: &str = "vault";
    const EVIDENCE: &str = "evidence";
    const FILES: &str = "files";
    const CHUNKS: &str = "chunks";
    const LOCK_KEY: &str = "lock";
    const BY_ROOM: &str = "by_room";
    const BY_DISPLAY: &str = "by_display";
    const IDENTITY_KEY: &str = "self";
    /// An entry's display key (see the module doc).
    const DISPLAY: &str = "display";
    /// The field of a record's bytes in clear.
    const CLEAR: &str = "bytes";
    /// The field of a record's bytes sealed.
    const SEALED: &str = "sealed";
    /// Entries moved per transaction by the schema-6 migration.
    const MIGRATION_BATCH: u32 = 500;
    /// Chunk records written again per transaction by the lock switch: at most 4 MiB.
    const SWITCH_CHUNKS: u32 = 64;
    /// Chunk keys read per request when listing what is held of a file: 160 KiB.
    const KEY_PAGE: u32 = 4096;

    /// Lower-case hex of `bytes`.
    fn hex(bytes: &[u8]) -> String {
        natter_core::hex::encode(bytes)
    }

    /// A `u64` as 16 hex digits, so that string order is numeric order.
    fn hex_u64(n: u64) -> String {
        natter_core::hex::encode(&n.to_be_bytes())
    }

    /// The database schema at [`SCHEMA_VERSION`], as a ladder of versions (see the module
    /// documentation).
    pub fn schema(name: &str) -> RexieBuilder {
        schema_at(name, SCHEMA_VERSION)
    }

    /// The database schema as it was at `at` (tests open old versions to test upgrades).
    pub fn schema_at(name: &str, at: u32) -> RexieBuilder {
        let mut builder = Rexie::builder(name).version(at);
        for version in 1..=at {
            builder = match version {
                1 => builder
                    .add_object_store(ObjectStore::new(IDENTITY).key_path("slot"))
                    .add_object_store(ObjectStore::new(ROOMS).key_path("id"))
                    .add_object_store(
                        ObjectStore::new(ENTRIES)
                            .key_path("id")
                            .add_index(Index::new(BY_ROOM, "room"))
                            .add_index(Index::new_array(
                                BY_DISPLAY,
                                ["room", "lamport", "author", "seq"],
                            )),
                    )
                    .add_object_store(
                        ObjectStore::new(PEERS)
                            .key_path_array(["room", "key"])
                            .add_index(Index::new(BY_ROOM, "room")),
                    ),
                2 => builder.add_object_store(ObjectStore::new(VAULT).key_path("slot")),
                3 => builder.add_object_store(
                    ObjectStore::new(EVIDENCE)
                        .key_path_array(["room", "author"])
                        .add_index(Index::new(BY_ROOM, "room")),
                ),
                // Replaces version 1's `entries`: the key path is the same, its value is now
                // bytes; `by_display` is rebuilt on the binary key and `by_room` is dropped.
                4 => builder.add_object_store(
                    ObjectStore::new(ENTRIES)
                        .key_path("id")
                        .add_index(Index::new(BY_DISPLAY, DISPLAY)),
                ),
                5 => builder
                    .add_object_store(ObjectStore::new(FILES).key_path("root"))
                    .add_object_store(ObjectStore::new(CHUNKS).key_path("key")),
                6 => builder.add_object_store(ObjectStore::new(LOG)),
                _ => builder,
            };
        }
        builder
    }

    /// An open handle on the database.
    #[derive(Debug)]
    pub struct Storage {
        db: Rexie,
        /// The app lock's key while it is on and unlocked: sealed records are opened with it.
        vault: std::cell::RefCell<Option<std::rc::Rc<natter_core::vault::VaultKey>>>,
        /// Whether writes are sealed (with `vault`'s key). Apart from the key only while the
        /// lock is being turned off: records are still opened, but written in clear.
        sealing: std::cell::Cell<bool>,
    }

    impl Storage {
        /// Opens (creating or upgrading) the database [`DB_NAME`].
        pub async fn open() -> Result<Storage, StorageError> {
            Storage::open_named(DB_NAME).await
        }

        /// Opens (creating or upgrading) the database `name`; tests use their own names.
        pub async fn open_named(name: &str) -> Result<Storage, StorageError> {
            Storage::open_at(name, SCHEMA_VERSION).await
        }

        /// Opens the database `name` at schema version `version` (tests open old versions).
        /// From version 6 on, entries stored by an earlier version are migrated first.
        pub async fn open_at(name: &str, version: u32) -> Result<Storage, StorageError> {
            let db = schema_at(name, version)
                .build()
                .await
                .map_err(|e| StorageError::Unavailable(detail(&e)))?;
            let storage = Storage {
                db,
                vault: std::cell::RefCell::new(None),
                sealing: std::cell::Cell::new(false),
            };
            if version >= 6 {
                storage.move_entries().await?;
            }
            Ok(storage)
        }

        /// Closes the handle.
        pub fn close(self) {
            self.db.close();
        }

        /// The schema version of the open database.
        pub fn version(&self) -> Result<u32, StorageError> {
            self.db.version().map_err(failed)
        }

        /// Stores the identity, replacing any stored one.
        pub async fn put_identity(&self, identity: &StoredIdentity) -> Result<(), StorageError> {
            let content = self.content(|| "identity/self".into(), &codec::identity(identity));
            let value = object(&[("slot", IDENTITY_KEY.into()), content])?;
            self.put(IDENTITY, &[value]).await
        }

        /// Loads the identity, if one was stored.
        pub async fn load_identity(&self) -> Result<Option<StoredIdentity>, StorageError> {
            let tx = self
                .db
                .transaction(&[IDENTITY], TransactionMode::ReadOnly)
                .map_err(failed)?;
            let store = tx.store(IDENTITY).map_err(failed)?;
            let Some(value) = store.get(IDENTITY_KEY.into()).await.map_err(failed)? else {
                return Ok(None);
            };
            match self.read_content(|| "identity/self".into(), &value)? {
                Some(bytes) => codec::read_identity(&bytes).map(Some),
                // Stored in fields before schema 4.
                None => Ok(Some(StoredIdentity {
                    secret: get_array32(&value, "secret")?,
                    display_name: get_string(&value, "name")?,
                })),
            }
        }

        /// Stores a room record, replacing the one with the same id.
        pub async fn put_room(&self, room: &RoomRecord) -> Result<(), StorageError> {
            let id = room.id.to_hex();
            let content = self.content(|| format!("rooms/{id}"), &codec::room(room));
            let value = object(&[("id", id.as_str().into()), content])?;
            self.put(ROOMS, &[value]).await
        }

        /// Loads every stored room, ordered by room id. A room stored in an earlier form is
        /// written again in the current one, and evidence its settings still carry from
        /// schema 2 is moved to the evidence store first; this runs at the first load,
        /// which (with the app lock on) is after unlocking.
        pub async fn load_rooms(&self) -> Result<Vec<RoomRecord>, StorageError> {
            let mut rooms = Vec::new();
            for (rec, legacy) in self.load_rooms_as_stored().await? {
                if let Some(pairs) = legacy {
                    self.migrate_room(&rec, pairs).await?;
                }
                rooms.push(rec);
            }
            Ok(rooms)
        }

        /// Every room as stored, each with the evidence of its settings when it is stored in
        /// an earlier form (`None` when it is current).
        async fn load_rooms_as_stored(
            &self,
        ) -> Result<Vec<(RoomRecord, Option<Vec<EvidenceBytes>>)>, StorageError> {
            let tx = self
                .db
                .transaction(&[ROOMS], TransactionMode::ReadOnly)
                .map_err(failed)?;
            let store = tx.store(ROOMS).map_err(failed)?;
            let values = store.get_all(None, None).await.map_err(failed)?;
            values
                .iter()
                .map(|value| {
                    let hex_id = get_string(value, "id")?;
                    let id =
                        RoomId::from_hex(&hex_id).ok_or_else(|| corrupt("a room id is not hex"))?;
                    let legacy = match self.read_content(|| format!("rooms/{hex_id}"), value)? {
                        Some(bytes) if bytes.first() == Some(&codec::FORMAT) => {
                            return Ok((codec::read_room(id, &bytes)?, None));
                        }
                        Some(json) => codec::read_legacy_room(&json)?,
                        None => LegacyRoom {
                            secret: get_array32(value, "secret")?,
                            name: field(value, "name")?.as_string(),
                            password_required: field(value, "password")?
                                .as_bool()
                                .ok_or_else(|| corrupt("a room's password flag is missing"))?,
                            settings: get_string(value, "settings")?,
                        },
                    };
                    let (rec, pairs) = legacy.into_record(id, get_u64(value, "last_activity")?);
                    Ok((rec, Some(pairs)))
                })
                .collect()
        }

        /// Moves the evidence a room's settings carried (schema 2 kept it there) into the
        /// evidence store, then writes the room in the current form.
        async fn migrate_room(
            &self,
            rec: &RoomRecord,
            pairs: Vec<EvidenceBytes>,
        ) -> Result<(), StorageError> {
            for (a, b) in pairs {
                // Evidence that no longer decodes proves nothing; it is dropped.
                if let (Ok(a), Ok(b)) = (Record::from_bytes(&a), Record::from_bytes(&b)) {
                    self.put_evidence(&rec.id, &a, &b).await?;
                }
            }
            self.put_room(rec).await
        }

        /// Stores entries of `room` in one transaction. An entry already stored (same
        /// display key) is overwritten.
        pub async fn put_entries(
            &self,
            room: &RoomId,
            records: &[Record],
        ) -> Result<(), StorageError> {
            self.put_entries_of(&[(*room, records)]).await
        }

        /// Stores entries of several rooms in one transaction (see [`Self::put_entries`]).
        pub async fn put_entries_of(
            &self,
            rooms: &[(RoomId, &[Record])],
        ) -> Result<(), StorageError> {
            let mut values = Vec::with_capacity(rooms.iter().map(|(_, r)| r.len()).sum());
            for (room, records) in rooms {
                for record in *records {
                    let display = codec::record_key(room, record);
                    let content = self.content(|| entry_place(&record.id.0), &record.bytes);
                    values.push((log_value(&record.id.0, content)?, Some(bytes(&display))));
                }
            }
            self.put_keyed(LOG, values).await
        }

        /// Loads up to `limit` entries of `room` in display order, starting after `after`
        /// (from the first entry when `None`). The next page starts after
        /// [`EntryCursor::at`] the last record returned.
        pub async fn load_entries(
            &self,
            room: &RoomId,
            after: Option<EntryCursor>,
            limit: u32,
        ) -> Result<Vec<Record>, StorageError> {
            if limit == 0 {
                return Ok(Vec::new());
            }
            let (low, high) = codec::room_bounds(room);
            let range = match after {
                None => KeyRange::bound(&bytes(&low), &bytes(&high), Some(false), Some(false)),
                Some(c) => KeyRange::bound(
                    &bytes(&codec::display_key(room, c.lamport, &c.author, c.seq)),
                    &bytes(&high),
                    Some(true),
                    Some(false),
                ),
            }
            .map_err(bad_range)?;
            let (_tx, log) = self.log()?;
            let values = log
                .get_all(Some(range), Some(limit))
                .await
                .map_err(failed)?;
            values.iter().map(|value| self.read_entry(value)).collect()
        }

        /// Loads the latest `limit` entries of `room` in display order (the newest page,
        /// what a room shows first).
        pub async fn load_latest_entries(
            &self,
            room: &RoomId,
            limit: u32,
        ) -> Result<Vec<Record>, StorageError> {
            if limit == 0 {
                return Ok(Vec::new());
            }
            let (_tx, log) = self.log()?;
            let pairs = log
                .scan(
                    Some(room_entries(room)?),
                    Some(limit),
                    None,
                    Some(rexie::Direction::Prev),
                )
                .await
                .map_err(failed)?;
            let mut records = pairs
                .iter()
                .map(|(_, value)| self.read_entry(value))
                .collect::<Result<Vec<_>, _>>()?;
            records.reverse();
            Ok(records)
        }

        /// The entries' store, in a read-only transaction of its own (kept alive beside it
        /// while its requests run).
        fn log(&self) -> Result<(rexie::Transaction, rexie::Store), StorageError> {
            let tx = self
                .db
                .transaction(&[LOG], TransactionMode::ReadOnly)
                .map_err(failed)?;
            let store = tx.store(LOG).map_err(failed)?;
            Ok((tx, store))
        }

        /// One stored entry's record (see [`log_value`]).
        fn read_entry(&self, value: &JsValue) -> Result<Record, StorageError> {
            if let Some(clear) = value.dyn_ref::<Uint8Array>() {
                return codec::entry(&clear.to_vec());
            }
            let place = || match get_bytes(value, "id") {
                Ok(id) => entry_place(&id),
                Err(_) => "entries/?".into(),
            };
            let raw = self
                .read_content(place, value)?
                .ok_or_else(|| corrupt("an entry holds no bytes"))?;
            codec::entry(&raw)
        }

        /// How many entries of `room` are stored.
        pub async fn count_entries(&self, room: &RoomId) -> Result<u32, StorageError> {
            let (_tx, log) = self.log()?;
            log.count(Some(room_entries(room)?)).await.map_err(failed)
        }

        /// Keeps equivocation evidence against the author of `first` in `room`: both
        /// entries' bytes, in a record of its own (the room record is not touched). One piece
        /// per author is enough (the first is kept: the core keeps one too), and at most
        /// [`MAX_EVIDENCE_AUTHORS`] authors per room have any. Returns whether it was stored.
        pub async fn put_evidence(
            &self,
            room: &RoomId,
            first: &Record,
            second: &Record,
        ) -> Result<bool, StorageError> {
            let room_hex = room.to_hex();
            let author = hex(first.entry.author.as_bytes());
            let tx = self
                .db
                .transaction(&[EVIDENCE], TransactionMode::ReadWrite)
                .map_err(failed)?;
            let store = tx.store(EVIDENCE).map_err(failed)?;
            let key = array(&[room_hex.as_str().into(), author.as_str().into()]);
            let held = store.get(key).await.map_err(failed)?.is_some();
            let range = KeyRange::only(&room_hex.as_str().into()).map_err(bad_range)?;
            let authors = store
                .index(BY_ROOM)
                .map_err(failed)?
                .count(Some(range))
                .await
                .map_err(failed)?;
            if held || authors as usize >= MAX_EVIDENCE_AUTHORS {
                tx.done().await.map_err(failed)?;
                return Ok(false);
            }
            let value = self.evidence_value(&room_hex, &author, first, second)?;
            store.put(&value, None).await.map_err(failed)?;
            tx.done().await.map_err(failed)?;
            Ok(true)
        }

        /// The stored form of one piece of evidence.
        fn evidence_value(
            &self,
            room: &str,
            author: &str,
            first: &Record,
            second: &Record,
        ) -> Result<JsValue, StorageError> {
            let content = self.content(
                || format!("evidence/{room}/{author}"),
                &codec::evidence(&first.bytes, &second.bytes),
            );
            object(&[("room", room.into()), ("author", author.into()), content])
        }

        /// The evidence kept for `room`.
        pub async fn load_evidence(
            &self,
            room: &RoomId,
        ) -> Result<Vec<(Record, Record)>, StorageError> {
            let room_hex = room.to_hex();
            let tx = self
                .db
                .transaction(&[EVIDENCE], TransactionMode::ReadOnly)
                .map_err(failed)?;
            let store = tx.store(EVIDENCE).map_err(failed)?;
            let range = KeyRange::only(&room_hex.as_str().into()).map_err(bad_range)?;
            let values = store
                .index(BY_ROOM)
                .map_err(failed)?
                .get_all(Some(range), None)
                .await
                .map_err(failed)?;
            values
                .iter()
                .map(|value| {
                    let author = get_string(value, "author")?;
                    let place = || format!("evidence/{room_hex}/{author}");
                    match self.read_content(place, value)? {
                        Some(bytes) => codec::read_evidence(&bytes),
                        // Stored as two fields before schema 4.
                        None => Ok((
                            codec::entry(&get_bytes(value, "first")?)?,
                            codec::entry(&get_bytes(value, "second")?)?,
                        )),
                    }
                })
                .collect()
        }

        /// Records that `key` was verified in `room`.
        pub async fn put_peer(
            &self,
            room: &RoomId,
            peer: &VerifiedPeer,
        ) -> Result<(), StorageError> {
            let value = object(&[
                ("room", room.to_hex().into()),
                ("key", hex(peer.key.as_bytes()).into()),
                ("verified_at", hex_u64(peer.verified_at_ms).into()),
            ])?;
            self.put(PEERS, &[value]).await
        }

        /// The peers verified in `room`.
        pub async fn load_peers(&self, room: &RoomId) -> Result<Vec<VerifiedPeer>, StorageError> {
            let tx = self
                .db
                .transaction(&[PEERS], TransactionMode::ReadOnly)
                .map_err(failed)?;
            let store = tx.store(PEERS).map_err(failed)?;
            let index = store.index(BY_ROOM).map_err(failed)?;
            let range = KeyRange::only(&room.to_hex().into()).map_err(bad_range)?;
            let values = index.get_all(Some(range), None).await.map_err(failed)?;
            values
                .iter()
                .map(|value| {
                    let key = get_string(value, "key")?;
                    Ok(VerifiedPeer {
                        key: PublicKey(parse_hex32(&key)?),
                        verified_at_ms: get_u64(value, "verified_at")?,
                    })
                })
                .collect()
        }

        /// Removes `room`, its entries and its verified peers, in one transaction.
        pub async fn delete_room(&self, room: &RoomId) -> Result<(), StorageError> {
            let hex_id = room.to_hex();
            let tx = self
                .db
                .transaction(&[ROOMS, LOG, PEERS, EVIDENCE], TransactionMode::ReadWrite)
                .map_err(failed)?;
            tx.store(LOG)
                .map_err(failed)?
                .delete(room_entries(room)?.into())
                .await
                .map_err(failed)?;
            for (name, index, range) in [
                (
                    PEERS,
                    BY_ROOM,
                    KeyRange::only(&hex_id.as_str().into()).map_err(bad_range)?,
                ),
                (
                    EVIDENCE,
                    BY_ROOM,
                    KeyRange::only(&hex_id.as_str().into()).map_err(bad_range)?,
                ),
            ] {
                let store = tx.store(name).map_err(failed)?;
                let keys = store
                    .index(index)
                    .map_err(failed)?
                    .get_all_keys(Some(range), None)
                    .await
                    .map_err(failed)?;
                for key in keys {
                    store.delete(key).await.map_err(failed)?;
                }
            }
            let rooms = tx.store(ROOMS).map_err(failed)?;
            rooms.delete(hex_id.into()).await.map_err(failed)?;
            tx.done().await.map_err(failed)?;
            Ok(())
        }

        /// Stores chunk `index` of the file `root` of `len` bytes (its proof's bytes and its
        /// own), and the file's record if it has none, in one transaction. The chunk must be
        /// as long as its place in the file ([`blob::chunk_len`]); verifying it against the
        /// root is the caller's part.
        pub async fn put_chunk(
            &self,
            root: &Root,
            len: u64,
            index: u64,
            proof: &[u8],
            bytes: &[u8],
        ) -> Result<(), StorageError> {
            self.put_file_chunks(root, len, [(index, proof, bytes)].into_iter())
                .await
        }

        /// Stores several chunks `(index, proof, bytes)` of the file `root` in one
        /// transaction, as [`Storage::put_chunk`] stores one.
        pub async fn put_chunks(
            &self,
            root: &Root,
            len: u64,
            chunks: &[(u64, Vec<u8>, Vec<u8>)],
        ) -> Result<(), StorageError> {
            let chunks = chunks
                .iter()
                .map(|(index, proof, bytes)| (*index, proof.as_slice(), bytes.as_slice()));
            self.put_file_chunks(root, len, chunks).await
        }

        async fn put_file_chunks<'a>(
            &self,
            root: &Root,
            len: u64,
            chunks: impl Iterator<Item = (u64, &'a [u8], &'a [u8])>,
        ) -> Result<(), StorageError> {
            let mut values = Vec::new();
            for (index, proof, data) in chunks {
                check_chunk(len, index, data)?;
                let (head, tail) = codec::chunk(proof, data);
                let content = self.content(|| chunk_place(root, index, false), &head);
                values.push(object(&[
                    ("key", bytes(&codec::chunk_key(root, index))),
                    content,
                ])?);
                if let Some(tail) = tail {
                    let content = self.content(|| chunk_place(root, index, true), &tail);
                    values.push(object(&[
                        ("key", bytes(&codec::chunk_tail_key(root, index))),
                        content,
                    ])?);
                }
            }
            if values.is_empty() {
                return Ok(());
            }
            let tx = self
                .db
                .transaction(&[FILES, CHUNKS], TransactionMode::ReadWrite)
                .map_err(failed)?;
            let files = tx.store(FILES).map_err(failed)?;
            let chunks = tx.store(CHUNKS).map_err(failed)?;
            let file = match files.key_exists(bytes(&root.0)).await.map_err(failed)? {
                true => None,
                false => Some(self.file_value(root, len, FileWish::Fetch)?),
            };
            let file_put = async {
                match &file {
                    Some(value) => files.put(value, None).await.map(|_| ()),
                    None => Ok(()),
                }
            };
            let (put, file_put, commit) = futures::future::join3(
                chunks.put_all(values.into_iter().map(|v| (v, None))),
                file_put,
                tx.commit(),
            )
            .await;
            put.map_err(failed)?;
            file_put.map_err(failed)?;
            commit.map_err(uncommitted)
        }

        /// Chunk `index` of the file `root` as stored: its proof's bytes and its own bytes.
        pub async fn get_chunk(
            &self,
            root: &Root,
            index: u64,
        ) -> Result<Option<(Vec<u8>, Vec<u8>)>, StorageError> {
            let mut chunks = self.get_chunks(root, index, 1).await?;
            chunks.pop().map(|(_, chunk)| chunk).transpose()
        }

        /// The chunks `first..first + count` of the file `root` that are stored, in order,
        /// each with its proof's bytes and its own or why it could not be read; one
        /// transaction and one request (a key range), so serving a run of chunks costs one
        /// round trip. At most [`MAX_CHUNKS_READ`] are read at once.
        pub async fn get_chunks(
            &self,
            root: &Root,
            first: u64,
            count: u64,
        ) -> Result<Vec<(u64, StoredChunk)>, StorageError> {
            let count = count.min(MAX_CHUNKS_READ);
            let Some(last) = count.checked_sub(1).and_then(|c| first.checked_add(c)) else {
                return Ok(Vec::new());
            };
            let tx = self
                .db
                .transaction(&[CHUNKS], TransactionMode::ReadOnly)
                .map_err(failed)?;
            let store = tx.store(CHUNKS).map_err(failed)?;
            let range = KeyRange::bound(
                &bytes(&codec::chunk_key(root, first)),
                &bytes(&codec::chunk_tail_key(root, last)),
                Some(false),
                Some(false),
            )
            .map_err(bad_range)?;
            let values = store.get_all(Some(range), None).await.map_err(failed)?;
            // Key order: each chunk's record, then its tail's.
            let mut out: Vec<(u64, StoredChunk)> = Vec::new();
            let mut open: Option<(u64, Vec<u8>, Vec<u8>)> = None;
            for value in &values {
                let key = get_bytes(value, "key")?;
                let Some((_, index, tail)) = codec::read_chunk_key(&key) else {
                    continue;
                };
                match (tail, open.take()) {
                    (true, Some((i, proof, mut data))) if i == index => {
                        let rest = self
                            .read_content(|| chunk_place(root, index, true), value)
                            .and_then(|t| t.ok_or_else(|| corrupt("a chunk's tail holds no bytes")))
                            .and_then(|t| {
                                data.extend_from_slice(codec::read_chunk_tail(&t)?);
                                Ok(data)
                            });
                        out.push((index, rest.map(|data| (proof, data))));
                    }
                    (true, before) => {
                        // A tail whose chunk is not open here: its chunk said it has none.
                        if let Some((i, ..)) = before {
                            out.push((i, Err(corrupt("a chunk's tail is missing"))));
                        }
                    }
                    (false, before) => {
                        if let Some((i, ..)) = before {
                            out.push((i, Err(corrupt("a chunk's tail is missing"))));
                        }
                        let head = self
                            .read_content(|| chunk_place(root, index, false), value)
                            .and_then(|h| h.ok_or_else(|| corrupt("a chunk holds no bytes")))
                            .and_then(|h| codec::read_chunk(&h));
                        match head {
                            Ok((proof, data, true)) => open = Some((index, proof, data)),
                            Ok((proof, data, false)) => out.push((index, Ok((proof, data)))),
                            Err(e) => out.push((index, Err(e))),
                        }
                    }
                }
            }
            if let Some((i, ..)) = open {
                out.push((i, Err(corrupt("a chunk's tail is missing"))));
            }
            Ok(out)
        }

        /// Every file with a record, and which of its chunks are stored. Read from the
        /// chunks' keys only, 4,096 at a time: no chunk's bytes are loaded.
        pub async fn load_files(&self) -> Result<Vec<StoredFile>, StorageError> {
            self.load_files_in_pages(KEY_PAGE).await
        }

        /// [`Storage::load_files`], reading `page` keys per request (tests page by few).
        pub(crate) async fn load_files_in_pages(
            &self,
            page: u32,
        ) -> Result<Vec<StoredFile>, StorageError> {
            let tx = self
                .db
                .transaction(&[FILES, CHUNKS], TransactionMode::ReadOnly)
                .map_err(failed)?;
            let files = tx.store(FILES).map_err(failed)?;
            let chunks = tx.store(CHUNKS).map_err(failed)?;
            let values = files.get_all(None, None).await.map_err(failed)?;
            let mut out = Vec::with_capacity(values.len());
            for value in &values {
                let root = Root(get_array32(value, "root")?);
                let (len, wish) = codec::read_file(
                    &self
                        .read_content(|| file_place(&root), value)?
                        .ok_or_else(|| corrupt("a file record holds no length"))?,
                )?;
                if len > blob::MAX_FILE_LEN {
                    return Err(corrupt("a stored file is longer than a file can be"));
                }
                // At most 2^20 flags (MAX_FILE_LEN), so the count fits a usize.
                let mut held = vec![false; blob::chunk_count(len) as usize];
                let mut after: Option<JsValue> = None;
                loop {
                    let keys = chunks
                        .get_all_keys(Some(file_chunks(&root, after.as_ref())?), Some(page))
                        .await
                        .map_err(failed)?;
                    for key in &keys {
                        let key = Uint8Array::new(key).to_vec();
                        // A chunk past the file's end could not be served; it is not listed.
                        let index =
                            codec::chunk_index(&root, &key).and_then(|i| usize::try_from(i).ok());
                        if let Some(flag) = index.and_then(|i| held.get_mut(i)) {
                            *flag = true;
                        }
                    }
                    match keys.last() {
                        Some(last) if keys.len() == page as usize => after = Some(last.clone()),
                        _ => break,
                    }
                }
                // Chunks stored after a removal mean the user fetched it again.
                let wish = match wish {
                    FileWish::Removed if held.contains(&true) => FileWish::Fetch,
                    wish => wish,
                };
                out.push(StoredFile {
                    root,
                    len,
                    held,
                    wish,
                });
            }
            Ok(out)
        }

        /// Removes the file `root`: its record and every chunk of it (one key range), in
        /// one transaction. With `removed` (the file's length), the record stays, saying
        /// the user removed it ([`FileWish::Removed`]), so it is not fetched again on sight.
        pub async fn delete_file(
            &self,
            root: &Root,
            removed: Option<u64>,
        ) -> Result<(), StorageError> {
            let tx = self
                .db
                .transaction(&[FILES, CHUNKS], TransactionMode::ReadWrite)
                .map_err(failed)?;
            let chunks = tx.store(CHUNKS).map_err(failed)?;
            let files = tx.store(FILES).map_err(failed)?;
            let range = file_chunks(root, None)?;
            let mark = match removed {
                Some(len) => Some(self.file_value(root, len, FileWish::Removed)?),
                None => None,
            };
            let file = async {
                match &mark {
                    Some(value) => files.put(value, None).await.map(|_| ()),
                    None => files.delete(bytes(&root.0)).await,
                }
            };
            let (chunks, file, commit) =
                futures::future::join3(chunks.delete(range.into()), file, tx.commit()).await;
            chunks.map_err(failed)?;
            file.map_err(failed)?;
            commit.map_err(uncommitted)
        }

        /// Keeps what the user wants of the file `root` of `len` bytes (its download
        /// paused, or going on), whether or not any of it is stored yet.
        pub async fn set_file_wish(
            &self,
            root: &Root,
            len: u64,
            wish: FileWish,
        ) -> Result<(), StorageError> {
            let value = self.file_value(root, len, wish)?;
            let tx = self
                .db
                .transaction(&[FILES], TransactionMode::ReadWrite)
                .map_err(failed)?;
            let files = tx.store(FILES).map_err(failed)?;
            let (put, commit) = futures::future::join(files.put(&value, None), tx.commit()).await;
            put.map_err(failed)?;
            commit.map_err(uncommitted)
        }

        fn file_value(
            &self,
            root: &Root,
            len: u64,
            wish: FileWish,
        ) -> Result<JsValue, StorageError> {
            let content = self.content(|| file_place(root), &codec::file(len, wish));
            object(&[("root", bytes(&root.0)), content])
        }

        /// Each stored file's root, length and how many of its bytes are stored, for a
        /// view of what this device keeps (from the chunks' keys, as
        /// [`Storage::load_files`]).
        pub async fn file_bytes(&self) -> Result<Vec<(Root, u64, u64)>, StorageError> {
            let files = self.load_files().await?;
            Ok(files
                .into_iter()
                .map(|f| {
                    let held = (0u64..)
                        .zip(&f.held)
                        .filter(|(_, held)| **held)
                        .map(|(i, _)| blob::chunk_len(f.len, i).map_or(0, |n| n as u64))
                        .sum();
                    (f.root, f.len, held)
                })
                .collect())
        }

        /// Writes every file record and every chunk again through the shared path, sealed
        /// or in clear as writes are now (the lock switch), a batch per transaction so that
        /// memory stays bounded whatever is stored. A record already in that form is left.
        async fn switch_files(&self) -> Result<(), StorageError> {
            let file_place_of = |key: &[u8]| -> Result<String, StorageError> {
                let root = key
                    .try_into()
                    .map_err(|_| corrupt("a file's key is not 32 bytes"))?;
                Ok(file_place(&Root(root)))
            };
            self.switch_store(FILES, "root", MIGRATION_BATCH, file_place_of)
                .await?;
            let chunk_place_of = |key: &[u8]| -> Result<String, StorageError> {
                let (root, index, tail) = codec::read_chunk_key(key)
                    .ok_or_else(|| corrupt("a chunk's key is damaged"))?;
                Ok(chunk_place(&root, index, tail))
            };
            self.switch_store(CHUNKS, "key", SWITCH_CHUNKS, chunk_place_of)
                .await
        }

        /// [`Storage::switch_files`] for one store whose records are `{key_field, content}`.
        async fn switch_store(
            &self,
            store: &str,
            key_field: &str,
            batch: u32,
            place: impl Fn(&[u8]) -> Result<String, StorageError>,
        ) -> Result<(), StorageError> {
            let seal = self.sealing.get() && self.vault.borrow().is_some();
            let mut after: Option<JsValue> = None;
            loop {
                let range = match &after {
                    None => None,
                    Some(last) => Some(KeyRange::lower_bound(last, Some(true)).map_err(bad_range)?),
                };
                let tx = self
                    .db
                    .transaction(&[store], TransactionMode::ReadWrite)
                    .map_err(failed)?;
                let handle = tx.store(store).map_err(failed)?;
                let values = handle.get_all(range, Some(batch)).await.map_err(failed)?;
                let Some(last) = values.last() else {
                    tx.done().await.map_err(failed)?;
                    return Ok(());
                };
                after = Some(field(last, key_field)?);
                let mut new = Vec::with_capacity(values.len());
                for value in &values {
                    let sealed = !field(value, SEALED)?.is_undefined();
                    if sealed == seal {
                        continue;
                    }
                    let key = get_bytes(value, key_field)?;
                    let place = place(&key)?;
                    let plain = self
                        .read_content(|| place.clone(), value)?
                        .ok_or_else(|| corrupt("a stored record holds no bytes"))?;
                    let content = self.content(|| place, &plain);
                    new.push((object(&[(key_field, bytes(&key)), content])?, None));
                }
                let (put, commit) =
                    futures::future::join(handle.put_all(new.into_iter()), tx.commit()).await;
                put.map_err(failed)?;
                commit.map_err(uncommitted)?;
                if values.len() < batch as usize {
                    return Ok(());
                }
            }
        }

        /// Wipes every store (identity, rooms, entries, peers, the lock, files and their
        /// chunks) in one transaction, and forgets the lock's key.
        pub async fn erase_all(&self) -> Result<(), StorageError> {
            let all = [
                IDENTITY, ROOMS, ENTRIES, LOG, PEERS, VAULT, EVIDENCE, FILES, CHUNKS,
            ];
            let tx = self
                .db
                .transaction(&all, TransactionMode::ReadWrite)
                .map_err(failed)?;
            for name in all {
                tx.store(name)
                    .map_err(failed)?
                    .clear()
                    .await
                    .map_err(failed)?;
            }
            tx.done().await.map_err(failed)?;
            self.vault.replace(None);
            self.sealing.set(false);
            Ok(())
        }

        /// The app lock, when it is on.
        pub async fn load_lock(&self) -> Result<Option<StoredLock>, StorageError> {
            let tx = self
                .db
                .transaction(&[VAULT], TransactionMode::ReadOnly)
                .map_err(failed)?;
            let store = tx.store(VAULT).map_err(failed)?;
            let Some(value) = store.get(LOCK_KEY.into()).await.map_err(failed)? else {
                return Ok(None);
            };
            let salt = get_bytes(&value, "salt")?;
            let params = natter_core::vault::VaultParams {
                salt: salt
                    .try_into()
                    .map_err(|_| corrupt("the lock's salt has the wrong length"))?,
                kdf: natter_core::room::KdfParams {
                    memory_kib: get_u32(&value, "memory_kib")?,
                    iterations: get_u32(&value, "iterations")?,
                    parallelism: get_u32(&value, "parallelism")?,
                },
            };
            Ok(Some(StoredLock {
                params,
                verifier: get_bytes(&value, "verifier")?,
            }))
        }

        /// Uses `key` to open (and seal) records from now on: the lock is on and unlocked.
        /// The key comes from [`natter_core::vault::VaultKey::unlock`], which has already
        /// told a wrong passphrase apart.
        pub fn unlock(&self, key: natter_core::vault::VaultKey) {
            self.vault.replace(Some(std::rc::Rc::new(key)));
            self.sealing.set(true);
        }

        /// Turns the lock on: stores `lock`, then writes the identity, every room and every
        /// entry again, sealed under `key` (one transaction per room record and per page of
        /// entries). Writes are sealed from before the first record is read, so an entry
        /// written meanwhile (others' entries are stored without holding up the runtime) is
        /// either read and sealed here or sealed by its own write. If it stops half way,
        /// what is stored stays readable (records are read sealed or clear) and the next
        /// switch finishes it.
        pub async fn enable_lock(
            &self,
            lock: &StoredLock,
            key: natter_core::vault::VaultKey,
        ) -> Result<(), StorageError> {
            let kdf = lock.params.kdf;
            let value = object(&[
                ("slot", LOCK_KEY.into()),
                ("salt", bytes(&lock.params.salt)),
                ("memory_kib", hex_u64(u64::from(kdf.memory_kib)).into()),
                ("iterations", hex_u64(u64::from(kdf.iterations)).into()),
                ("parallelism", hex_u64(u64::from(kdf.parallelism)).into()),
                ("verifier", bytes(&lock.verifier)),
            ])?;
            self.unlock(key);
            self.put(VAULT, &[value]).await?;
            let content = self.load_everything().await?;
            self.store_everything(content).await?;
            self.switch_files().await
        }

        /// Turns the lock off (it must be unlocked): writes everything again in clear, then
        /// removes the lock and forgets the key. Writes are in clear from before the first
        /// record is read, for the reason given at [`Storage::enable_lock`]; if it fails,
        /// the lock stays on and writes are sealed again.
        pub async fn disable_lock(&self) -> Result<(), StorageError> {
            if self.vault.borrow().is_none() {
                return Err(StorageError::Failed(
                    "the app lock must be open to be turned off".into(),
                ));
            }
            self.sealing.set(false);
            let result = self.rewrite_in_clear().await;
            match result {
                Ok(()) => {
                    self.vault.replace(None);
                }
                Err(_) => self.sealing.set(true),
            }
            result
        }

        async fn rewrite_in_clear(&self) -> Result<(), StorageError> {
            let content = self.load_everything().await?;
            self.store_everything(content).await?;
            self.switch_files().await?;
            let tx = self
                .db
                .transaction(&[VAULT], TransactionMode::ReadWrite)
                .map_err(failed)?;
            let store = tx.store(VAULT).map_err(failed)?;
            store.delete(LOCK_KEY.into()).await.map_err(failed)?;
            tx.done().await.map_err(failed)?;
            Ok(())
        }

        async fn load_everything(&self) -> Result<Everything, StorageError> {
            let identity = self.load_identity().await?;
            let rooms = self.load_rooms().await?;
            let mut entries = Vec::new();
            for room in &rooms {
                let mut after = None;
                loop {
                    let page = self.load_entries(&room.id, after, 1000).await?;
                    let Some(last) = page.last() else { break };
                    after = Some(EntryCursor::at(last));
                    entries.push((room.id, page));
                }
            }
            let mut evidence = Vec::new();
            for room in &rooms {
                evidence.push((room.id, self.load_evidence(&room.id).await?));
            }
            Ok(Everything {
                identity,
                rooms,
                entries,
                evidence,
            })
        }

        async fn store_everything(&self, all: Everything) -> Result<(), StorageError> {
            if let Some(identity) = &all.identity {
                self.put_identity(identity).await?;
            }
            for room in &all.rooms {
                self.put_room(room).await?;
            }
            for (room, page) in &all.entries {
                self.put_entries(room, page).await?;
            }
            for (room, pieces) in &all.evidence {
                let room = room.to_hex();
                let values = pieces
                    .iter()
                    .map(|(a, b)| self.evidence_value(&room, &hex(a.entry.author.as_bytes()), a, b))
                    .collect::<Result<Vec<_>, _>>()?;
                self.put(EVIDENCE, &values).await?;
            }
            Ok(())
        }

        /// The one way a record's bytes are stored: the field and value to put beside its
        /// key, the bytes sealed for `place` while the lock seals writes, else in clear.
        fn content(&self, place: impl FnOnce() -> String, plain: &[u8]) -> (&'static str, JsValue) {
            if self.sealing.get() {
                if let Some(key) = self.vault.borrow().as_ref() {
                    return (
                        SEALED,
                        bytes(&key.seal(&mut rand_core::OsRng, &place(), plain)),
                    );
                }
            }
            (CLEAR, bytes(plain))
        }

        /// The bytes of a stored record, whether sealed (opened for `place`) or in clear;
        /// `None` for a record stored in fields before schema 4.
        fn read_content(
            &self,
            place: impl FnOnce() -> String,
            value: &JsValue,
        ) -> Result<Option<Vec<u8>>, StorageError> {
            let sealed = field(value, SEALED)?;
            if sealed.is_undefined() {
                let clear = field(value, CLEAR)?;
                if clear.is_undefined() {
                    return Ok(None);
                }
                return get_bytes(value, CLEAR).map(Some);
            }
            let sealed = sealed
                .dyn_into::<Uint8Array>()
                .map_err(|_| corrupt("a sealed record is not bytes"))?
                .to_vec();
            let key = self
                .vault
                .borrow()
                .clone()
                .ok_or_else(|| corrupt("a sealed record was read while the app is locked"))?;
            key.open(&place(), &sealed)
                .map(Some)
                .map_err(|e| StorageError::Corrupt(e.to_string()))
        }

        /// The schema-6 migration (see the module doc): every entry still in `entries` (in
        /// the form of schema 4, or of schema 3 before it) is moved to `log`, a batch per
        /// transaction, its bytes (clear or sealed) carried over as they are. An entry whose
        /// old fields do not parse could not be found before either; it is left as it is.
        async fn move_entries(&self) -> Result<(), StorageError> {
            let mut after: Option<JsValue> = None;
            loop {
                let range = match &after {
                    None => None,
                    Some(last) => Some(KeyRange::lower_bound(last, Some(true)).map_err(bad_range)?),
                };
                let tx = self
                    .db
                    .transaction(&[ENTRIES, LOG], TransactionMode::ReadWrite)
                    .map_err(failed)?;
                let old_store = tx.store(ENTRIES).map_err(failed)?;
                let log = tx.store(LOG).map_err(failed)?;
                let old = old_store
                    .get_all(range, Some(MIGRATION_BATCH))
                    .await
                    .map_err(failed)?;
                let Some(last) = old.last() else {
                    tx.done().await.map_err(failed)?;
                    return Ok(());
                };
                after = Some(field(last, "id")?);
                let mut moved = Vec::with_capacity(old.len());
                let mut gone = Vec::with_capacity(old.len());
                for value in &old {
                    if let Some((display, value_now)) = moved_entry(value) {
                        moved.push((value_now, Some(display)));
                        gone.push(field(value, "id")?);
                    }
                }
                let deletes =
                    futures::future::join_all(gone.into_iter().map(|k| old_store.delete(k)));
                let (put, deleted, commit) =
                    futures::future::join3(log.put_all(moved.into_iter()), deletes, tx.commit())
                        .await;
                put.map_err(failed)?;
                deleted.into_iter().try_for_each(|d| d.map_err(failed))?;
                commit.map_err(failed)?;
                if old.len() < MIGRATION_BATCH as usize {
                    return Ok(());
                }
            }
        }

        /// Puts `values` (whose keys are in them) into `store` in one read-write transaction
        /// and waits for it.
        async fn put(&self, store: &str, values: &[JsValue]) -> Result<(), StorageError> {
            self.put_keyed(store, values.iter().map(|v| (v.clone(), None)).collect())
                .await
        }

        /// Puts `values` into `store` under their keys (`None`: the key is in the value) in
        /// one read-write transaction and waits for it.
        async fn put_keyed(
            &self,
            store: &str,
            values: Vec<(JsValue, Option<JsValue>)>,
        ) -> Result<(), StorageError> {
            let tx = self
                .db
                .transaction(&[store], TransactionMode::ReadWrite)
                .map_err(failed)?;
            let handle = tx.store(store).map_err(failed)?;
            // The puts are made first (`join` polls its first future first), then the
            // transaction is committed at once instead of after their success events have
            // come back to this thread: one round trip to the database instead of two,
            // and no wait behind whatever the page does in between.
            let (put, commit) =
                futures::future::join(handle.put_all(values.into_iter()), tx.commit()).await;
            put.map_err(failed)?;
            commit.map_err(uncommitted)
        }
    }

    /// How an entry is kept in `log`, under its display key: its bytes themselves in
    /// clear, or `{id, sealed}` (sealed for [`entry_place`], which the id gives).
    fn log_value(id: &[u8], content: (&'static str, JsValue)) -> Result<JsValue, StorageError> {
        match content {
            (CLEAR, clear) => Ok(clear),
            sealed => object(&[("id", bytes(id)), sealed]),
        }
    }

    /// Where an entry is sealed: `entries/<id>`, the same since schema 4.
    fn entry_place(id: &[u8]) -> String {
        format!("entries/{}", hex(id))
    }

    /// An entry of `entries`, as schema 4 stored it (`{id, display}` as bytes, and its
    /// bytes clear or sealed) or schema 3 before it (`{id, room, lamport, author, seq}` in
    /// hex), as its display key and its value in `log`; `None` if its fields do not parse.
    fn moved_entry(value: &JsValue) -> Option<(JsValue, JsValue)> {
        let content = [SEALED, CLEAR].into_iter().find_map(|name| {
            field(value, name)
                .ok()
                .filter(|v| v.is_instance_of::<Uint8Array>())
                .map(|v| (name, v))
        })?;
        let id = field(value, "id").ok()?;
        if let Some(id) = id.dyn_ref::<Uint8Array>() {
            let display = field(value, DISPLAY).ok()?;
            let key_len = display.dyn_ref::<Uint8Array>()?.length() as usize;
            if key_len != codec::DISPLAY_KEY_LEN {
                return None;
            }
            return Some((display, log_value(&id.to_vec(), content).ok()?));
        }
        let text = |name: &str| field(value, name).ok()?.as_string();
        let number = |name: &str| u64::from_str_radix(&text(name)?, 16).ok();
        let id = natter_core::hex::decode32(&id.as_string()?)?;
        let room = RoomId::from_hex(&text("room")?)?;
        let author = PublicKey(natter_core::hex::decode32(&text("author")?)?);
        let display = codec::display_key(&room, number("lamport")?, &author, number("seq")?);
        Some((bytes(&display), log_value(&id, content).ok()?))
    }

    /// Every display key of `room`.
    fn room_entries(room: &RoomId) -> Result<KeyRange, StorageError> {
        let (low, high) = codec::room_bounds(room);
        KeyRange::bound(&bytes(&low), &bytes(&high), Some(false), Some(false)).map_err(bad_range)
    }

    /// Where a file's record is sealed.
    fn file_place(root: &Root) -> String {
        format!("files/{}", hex(&root.0))
    }

    /// Where a chunk (or its tail) is sealed.
    fn chunk_place(root: &Root, index: u64, tail: bool) -> String {
        let tail = if tail { "/tail" } else { "" };
        format!("chunks/{}/{index}{tail}", hex(&root.0))
    }

    /// The keys of the chunks of `root` (after the key `after`, when given).
    fn file_chunks(root: &Root, after: Option<&JsValue>) -> Result<KeyRange, StorageError> {
        let high = bytes(&codec::chunk_key(root, u64::MAX));
        match after {
            None => KeyRange::bound(
                &bytes(&codec::chunk_key(root, 0)),
                &high,
                Some(false),
                Some(false),
            ),
            Some(after) => KeyRange::bound(after, &high, Some(true), Some(false)),
        }
        .map_err(bad_range)
    }

    /// Refuses a chunk that cannot be chunk `index` of a file of `len` bytes.
    fn check_chunk(len: u64, index: u64, data: &[u8]) -> Result<(), StorageError> {
        let refused = |e: blob::BlobError| StorageError::Failed(e.to_string());
        if len > blob::MAX_FILE_LEN {
            return Err(refused(blob::BlobError::TooLarge));
        }
        let want = blob::chunk_len(len, index).map_err(refused)?;
        if data.len() != want {
            return Err(refused(blob::BlobError::WrongLength {
                got: data.len(),
                want,
            }));
        }
        Ok(())
    }

    /// Everything the lock switch writes again.
    struct Everything {
        identity: Option<StoredIdentity>,
        rooms: Vec<RoomRecord>,
        entries: Vec<(RoomId, Vec<Record>)>,
        evidence: Vec<(RoomId, Vec<(Record, Record)>)>,
    }

    /// The words inside a rexie error (its own Display only says "idb error").
    fn detail(e: &rexie::Error) -> String {
        match e {
            rexie::Error::IdbError(inner) => inner.to_string(),
            other => other.to_string(),
        }
    }

    fn failed(e: rexie::Error) -> StorageError {
        StorageError::Failed(detail(&e))
    }

    /// A failed commit, in words.
    fn uncommitted(e: rexie::Error) -> StorageError {
        match e {
            rexie::Error::TransactioncommitFailed => {
                StorageError::Failed("the write was not committed".into())
            }
            other => failed(other),
        }
    }

    /// A key range could not be built (only for keys IndexedDB cannot order).
    fn bad_range(e: impl std::fmt::Display) -> StorageError {
        StorageError::Failed(e.to_string())
    }

    fn corrupt(what: &str) -> StorageError {
        StorageError::Corrupt(what.to_owned())
    }

    fn js_text(value: &JsValue) -> String {
        if let Some(error) = value.dyn_ref::<js_sys::Error>() {
            return String::from(error.message());
        }
        value
            .as_string()
            .unwrap_or_else(|| "an unknown browser error".into())
    }

    fn bytes(data: &[u8]) -> JsValue {
        Uint8Array::from(data).into()
    }

    fn array(items: &[JsValue]) -> JsValue {
        items.iter().collect::<js_sys::Array>().into()
    }

    fn object(fields: &[(&str, JsValue)]) -> Result<JsValue, StorageError> {
        let object = Object::new();
        for (name, value) in fields {
            Reflect::set(&object, &JsValue::from_str(name), value)
                .map_err(|e| StorageError::Failed(js_text(&e)))?;
        }
        Ok(object.into())
    }

    fn field(value: &JsValue, name: &str) -> Result<JsValue, StorageError> {
        Reflect::get(value, &JsValue::from_str(name))
            .map_err(|e| StorageError::Corrupt(js_text(&e)))
    }

    fn get_string(value: &JsValue, name: &str) -> Result<String, StorageError> {
        field(value, name)?
            .as_string()
            .ok_or_else(|| StorageError::Corrupt(format!("the field `{name}` is missing")))
    }

    fn get_bytes(value: &JsValue, name: &str) -> Result<Vec<u8>, StorageError> {
        field(value, name)?
            .dyn_into::<Uint8Array>()
            .map(|a| a.to_vec())
            .map_err(|_| StorageError::Corrupt(format!("the field `{name}` is not bytes")))
    }

    fn get_array32(value: &JsValue, name: &str) -> Result<[u8; 32], StorageError> {
        get_bytes(value, name)?
            .try_into()
            .map_err(|_| StorageError::Corrupt(format!("the field `{name}` is not 32 bytes")))
    }

    fn get_u64(value: &JsValue, name: &str) -> Result<u64, StorageError> {
        let text = get_string(value, name)?;
        u64::from_str_radix(&text, 16)
            .map_err(|_| StorageError::Corrupt(format!("the field `{name}` is not a number")))
    }

    fn get_u32(value: &JsValue, name: &str) -> Result<u32, StorageError> {
        u32::try_from(get_u64(value, name)?)
            .map_err(|_| StorageError::Corrupt(format!("the field `{name}` is too large")))
    }

    fn parse_hex32(text: &str) -> Result<[u8; 32], StorageError> {
        natter_core::hex::decode32(text).ok_or_else(|| corrupt("a stored key is not 64 hex digits"))
    }
}

#[cfg(test)]
mod tests {
    // `expect` here states what the test takes as given: a panic is the test failing.
    use natter_core::blob::Root;

    use super::codec::*;
    use super::*;

    fn garden() -> RoomRecord {
        RoomRecord {
            id: RoomId([1; 32]),
            secret: [2; 32],
            name: Some("Garden".into()),
            password_required: true,
            left: false,
            password_key: Some([9; 32]),
            last_activity_ms: 0x0102_0304_0506_0708,
        }
    }

    /// Every cut of `bytes` short of the whole and the whole with a byte more.
    fn damaged(bytes: &[u8]) -> Vec<Vec<u8>> {
        let mut out: Vec<Vec<u8>> = (0..bytes.len()).map(|n| bytes[..n].to_vec()).collect();
        out.push([bytes, &[0]].concat());
        out
    }

    #[test]
    fn a_room_is_stored_as_these_bytes() {
        let mut golden = vec![FORMAT];
        golden.extend([2; 32]);
        golden.push(PASSWORD_REQUIRED | PASSWORD_KEY | NAME);
        golden.extend([1, 2, 3, 4, 5, 6, 7, 8]);
        golden.extend([9; 32]);
        golden.extend([0, 0, 0, 6]);
        golden.extend(b"Garden");
        assert_eq!(room(&garden()), golden);
        assert_eq!(read_room(RoomId([1; 32]), &golden), Ok(garden()));
    }

    #[test]
    fn rooms_round_trip_with_every_combination_of_fields() {
        for bits in 0..16u8 {
            let rec = RoomRecord {
                id: RoomId([bits; 32]),
                secret: [bits.wrapping_mul(17); 32],
                name: (bits & 1 != 0).then(|| "Ünïcode room".into()),
                password_required: bits & 2 != 0,
                left: bits & 4 != 0,
                password_key: (bits & 8 != 0).then_some([bits; 32]),
                last_activity_ms: u64::MAX - u64::from(bits),
            };
            assert_eq!(read_room(rec.id, &room(&rec)), Ok(rec));
        }
    }

    #[test]
    fn files_and_chunks_are_stored_as_these_bytes() {
        let golden = [FORMAT, 0, 0, 0, 0, 0, 1, 0, 2, 1];
        assert_eq!(file(0x0001_0002, FileWish::Paused), golden);
        assert_eq!(read_file(&golden), Ok((0x0001_0002, FileWish::Paused)));
        for wish in [FileWish::Fetch, FileWish::Paused, FileWish::Removed] {
            assert_eq!(read_file(&file(9, wish)), Ok((9, wish)));
        }
        // Written before the wish was kept: a download to go on with.
        assert_eq!(read_file(&golden[..9]), Ok((0x0001_0002, FileWish::Fetch)));
        assert!(read_file(&[&golden[..9], &[3]].concat()).is_err());
        let golden = [FORMAT, 0, 0, 0, 2, 7, 7, 9, 9, 9];
        assert_eq!(chunk(&[7, 7], &[9, 9, 9]), (golden.to_vec(), None));
        assert_eq!(read_chunk(&golden), Ok((vec![7, 7], vec![9, 9, 9], false)));
        assert_eq!(
            read_chunk(&[FORMAT, 0, 0, 0, 0]),
            Ok((vec![], vec![], false))
        );
        for bytes in damaged(&file(7, FileWish::Removed))
            .into_iter()
            .filter(|b| b.len() != 9)
        {
            assert!(read_file(&bytes).is_err(), "{bytes:?}");
        }
        // A chunk's bytes run to the end, so only cuts inside the proof are damaged.
        for bytes in damaged(&chunk(&[7, 7], &[9]).0)[..7].iter() {
            assert!(read_chunk(bytes).is_err(), "{bytes:?}");
        }
    }

    #[test]
    fn a_chunk_longer_than_a_head_goes_on_in_its_tail() {
        let data: Vec<u8> = (0..=CHUNK_HEAD_LEN).map(|i| i as u8).collect();
        let (head, tail) = chunk(&[7], &data);
        let mut golden = vec![SPLIT, 0, 0, 0, 1, 7];
        golden.extend_from_slice(&data[..CHUNK_HEAD_LEN]);
        assert_eq!(head, golden);
        let tail = tail.expect("a tail");
        assert_eq!(tail, [FORMAT, CHUNK_HEAD_LEN as u8]);
        let (proof, mut bytes, split) = read_chunk(&head).expect("a head");
        assert_eq!((proof, split), (vec![7], true));
        bytes.extend_from_slice(read_chunk_tail(&tail).expect("a tail"));
        assert_eq!(bytes, data);
        // Exactly a head's length needs no tail; a split head of another length is damaged.
        assert_eq!(chunk(&[], &data[..CHUNK_HEAD_LEN]).1, None);
        assert!(read_chunk(&head[..head.len() - 1]).is_err());
        assert!(read_chunk(&[SPLIT, 0, 0, 0, 0, 1]).is_err());
        assert!(read_chunk(&[SPLIT + 1, 0, 0, 0, 0]).is_err());
        assert!(read_chunk_tail(&[SPLIT, 1]).is_err());
        assert!(read_chunk_tail(&[]).is_err());
    }

    #[test]
    fn chunk_keys_sort_in_chunk_order_within_their_file_only() {
        let (a, b) = (Root([1; 32]), Root([2; 32]));
        let mut key = vec![1; 32];
        key.extend([0, 0, 0, 0, 0, 0, 1, 2]);
        assert_eq!(chunk_key(&a, 0x0102).to_vec(), key);
        assert_eq!(chunk_index(&a, &key), Some(0x0102));
        assert_eq!(chunk_index(&b, &key), None);
        assert_eq!(chunk_index(&a, &key[..39]), None);
        assert_eq!(read_chunk_key(&key), Some((a, 0x0102, false)));
        key.push(TAIL);
        assert_eq!(chunk_tail_key(&a, 0x0102).to_vec(), key);
        assert_eq!(chunk_index(&a, &key), None);
        assert_eq!(read_chunk_key(&key), Some((a, 0x0102, true)));
        key[40] = 2;
        assert_eq!(read_chunk_key(&key), None);
        assert_eq!(read_chunk_key(&key[..39]), None);
        let keys = [
            chunk_key(&a, 0).to_vec(),
            chunk_key(&a, 1).to_vec(),
            chunk_tail_key(&a, 1).to_vec(),
            chunk_key(&a, 256).to_vec(),
            chunk_key(&a, u64::MAX).to_vec(),
            chunk_key(&b, 0).to_vec(),
        ];
        assert!(keys.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn an_identity_is_stored_as_these_bytes() {
        let identity = StoredIdentity {
            secret: [7; 32],
            display_name: "Ada".into(),
        };
        let mut golden = vec![FORMAT];
        golden.extend([7; 32]);
        golden.extend([0, 0, 0, 3]);
        golden.extend(b"Ada");
        assert_eq!(super::codec::identity(&identity), golden);
        assert_eq!(read_identity(&golden), Ok(identity));
    }

    #[test]
    fn damaged_bytes_read_as_corrupt_never_as_a_record() {
        let corrupt = |r: Result<(), StorageError>| matches!(r, Err(StorageError::Corrupt(_)));
        let rooms = room(&garden());
        for bytes in damaged(&rooms) {
            assert!(
                corrupt(read_room(RoomId([1; 32]), &bytes).map(|_| ())),
                "{bytes:?}"
            );
        }
        let identity = super::codec::identity(&StoredIdentity {
            secret: [7; 32],
            display_name: "Ada".into(),
        });
        for bytes in damaged(&identity) {
            assert!(corrupt(read_identity(&bytes).map(|_| ())), "{bytes:?}");
        }
        // An unknown format, an unknown flag, a name that is not UTF-8, a huge length.
        let mut other = rooms.clone();
        other[0] = 2;
        let mut flag = rooms.clone();
        flag[33] |= 0x10;
        let mut utf8 = rooms.clone();
        let last = utf8.len() - 1;
        utf8[last] = 0xff;
        let mut huge = rooms[..rooms.len() - 10].to_vec();
        huge.extend([0xff, 0xff, 0xff, 0xff]);
        for bytes in [other, flag, utf8, huge] {
            assert!(
                corrupt(read_room(RoomId([1; 32]), &bytes).map(|_| ())),
                "{bytes:?}"
            );
        }
        assert!(corrupt(read_evidence(&[0, 0, 0, 9, 1]).map(|_| ())));
        assert!(corrupt(read_evidence(&[0, 0]).map(|_| ())));
    }

    #[test]
    fn evidence_round_trips_in_the_form_sealed_before_schema_4() -> Result<(), String> {
        use crate::test_support::signed_text;
        let (a, b) = (signed_text(1, 1, "one")?, signed_text(1, 1, "two")?);
        let bytes = evidence(&a.bytes, &b.bytes);
        let mut old = (a.bytes.len() as u32).to_be_bytes().to_vec();
        old.extend_from_slice(&a.bytes);
        old.extend_from_slice(&b.bytes);
        assert_eq!(bytes, old);
        assert_eq!(read_evidence(&bytes), Ok((a, b)));
        Ok(())
    }

    #[test]
    fn display_keys_sort_bytewise_in_display_order_within_their_room_only() {
        let keys = [
            (0, 0),
            (1, 0),
            (u64::MAX >> 1, 5),
            (u64::MAX, 0),
            (u64::MAX, u64::MAX),
        ];
        let authors = [
            PublicKey([0; 32]),
            PublicKey([0x80; 32]),
            PublicKey([0xff; 32]),
        ];
        let rooms = [RoomId([0; 32]), RoomId([7; 32]), RoomId([0xff; 32])];
        let mut all = Vec::new();
        for room in rooms {
            for author in authors {
                for (lamport, seq) in keys {
                    all.push((
                        (room.0, lamport, author.0, seq),
                        display_key(&room, lamport, &author, seq),
                    ));
                }
            }
        }
        let mut by_tuple = all.clone();
        by_tuple.sort_by_key(|(t, _)| *t);
        let mut by_bytes = all.clone();
        by_bytes.sort_by_key(|(_, k)| *k);
        assert_eq!(by_tuple, by_bytes);
        for room in rooms {
            let (low, high) = room_bounds(&room);
            for ((r, ..), key) in &all {
                assert_eq!(*r == room.0, low <= *key && *key <= high);
            }
        }
    }

    #[test]
    fn a_legacy_room_reads_its_settings_json_as_the_runtime_did() {
        let legacy = |settings: &str| LegacyRoom {
            secret: [2; 32],
            name: Some("Old".into()),
            password_required: true,
            settings: settings.into(),
        };
        let key: Vec<u8> = vec![9; 32];
        let settings = serde_json::json!({
            "left": true,
            "password_key": key,
            "evidence": [[[1, 2], [3]]],
        })
        .to_string();
        let (rec, evidence) = legacy(&settings).into_record(RoomId([1; 32]), 5);
        assert!(rec.left);
        assert_eq!(rec.password_key, Some([9; 32]));
        assert_eq!(rec.last_activity_ms, 5);
        assert_eq!(evidence, vec![(vec![1, 2], vec![3])]);
        // What the runtime could not read gave its defaults.
        for unreadable in [
            "",
            "not json",
            r#"{"left":"yes"}"#,
            r#"{"password_key":[1]}"#,
        ] {
            let (rec, evidence) = legacy(unreadable).into_record(RoomId([1; 32]), 5);
            assert_eq!((rec.left, rec.password_key), (false, None), "{unreadable}");
            assert!(evidence.is_empty());
        }
        let (rec, _) =
            legacy(r#"{"left":false,"password_key":null}"#).into_record(RoomId([1; 32]), 5);
        assert_eq!((rec.left, rec.password_key), (false, None));
    }

    #[test]
    fn identities_and_rooms_sealed_as_json_before_schema_4_still_read() {
        let secret = natter_core::hex::encode(&[3; 32]);
        let identity = serde_json::json!({ "secret": secret, "name": "Grace" }).to_string();
        assert_eq!(
            read_identity(identity.as_bytes()),
            Ok(StoredIdentity {
                secret: [3; 32],
                display_name: "Grace".into(),
            })
        );
        let room = serde_json::json!({
            "secret": secret, "name": null, "password": false, "settings": r#"{"left":true}"#,
        })
        .to_string();
        assert_eq!(
            read_legacy_room(room.as_bytes()),
            Ok(LegacyRoom {
                secret: [3; 32],
                name: None,
                password_required: false,
                settings: r#"{"left":true}"#.into(),
            })
        );
        assert!(matches!(
            read_identity(b"{\"secret\":\"zz\"}"),
            Err(StorageError::Corrupt(_))
        ));
        assert!(matches!(
            read_legacy_room(b"{not json"),
            Err(StorageError::Corrupt(_))
        ));
    }
}

#[cfg(all(test, target_arch = "wasm32"))]
mod browser_tests {
    use js_sys::{Array, Object, Reflect, Uint8Array};
    use natter_core::blob;
    use natter_core::identity::Identity;
    use natter_core::log::{Body, Draft, Entry, EntryId, Record};
    use natter_core::room::RoomId;
    use natter_core::vault::{VaultError, VaultKey, VaultParams};
    use rexie::TransactionMode;
    use wasm_bindgen::{JsCast, JsValue};
    use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

    use super::*;

    wasm_bindgen_test_configure!(run_in_browser);

    use crate::test_support::Ctx;

    /// Opens a fresh, empty database of its own for one test.
    async fn fresh(name: &str) -> Result<Storage, String> {
        rexie::Rexie::delete(name)
            .await
            .ctx("delete the test database")?;
        Storage::open_named(name)
            .await
            .ctx("open the test database")
    }

    /// A chain of `n` signed text entries by the author with secret `[who; 32]`, with the
    /// given Lamport times.
    fn chain(room: RoomId, who: u8, lamports: &[u64]) -> Result<Vec<Record>, String> {
        let identity = Identity::from_secret_bytes(&[who; 32]);
        let mut prev = EntryId::ZERO;
        let mut out = Vec::new();
        for (i, lamport) in lamports.iter().enumerate() {
            let entry = Entry::sign(
                &identity,
                Draft {
                    room_id: room,
                    seq: i as u64 + 1,
                    prev_hash: prev,
                    lamport: *lamport,
                    wall_ms: 1_700_000_000_000,
                    body: Body::Text {
                        text: format!("message {i} from {who}"),
                        reply_to: None,
                    },
                },
            )
            .ctx("sign a valid draft")?;
            let record = Record::from_entry(entry);
            prev = record.id;
            out.push(record);
        }
        Ok(out)
    }

    fn display_keys(records: &[Record]) -> Vec<(u64, PublicKey, u64)> {
        records.iter().map(|r| r.entry.display_key()).collect()
    }

    #[wasm_bindgen_test]
    async fn the_identity_round_trips() -> Result<(), String> {
        let db = fresh("natter-test-identity").await?;
        assert_eq!(
            db.load_identity().await.ctx("load the missing identity")?,
            None
        );
        let identity = StoredIdentity {
            secret: [7; 32],
            display_name: "Ada".into(),
        };
        db.put_identity(&identity).await.ctx("store the identity")?;
        assert_eq!(
            db.load_identity().await.ctx("load the stored identity")?,
            Some(identity)
        );
        Ok(())
    }

    #[wasm_bindgen_test]
    async fn rooms_round_trip_including_large_timestamps() -> Result<(), String> {
        let db = fresh("natter-test-rooms").await?;
        let a = RoomRecord {
            id: RoomId([1; 32]),
            secret: [2; 32],
            name: Some("Garden".into()),
            password_required: true,
            left: true,
            password_key: Some([6; 32]),
            last_activity_ms: u64::MAX,
        };
        let b = RoomRecord {
            id: RoomId([3; 32]),
            secret: [4; 32],
            name: None,
            password_required: false,
            left: false,
            password_key: None,
            last_activity_ms: 5,
        };
        db.put_room(&b).await.ctx("store room b")?;
        db.put_room(&a).await.ctx("store room a")?;
        assert_eq!(db.load_rooms().await.ctx("load the rooms")?, vec![a, b]);
        Ok(())
    }

    #[wasm_bindgen_test]
    async fn entries_load_in_display_order_across_authors() -> Result<(), String> {
        let db = fresh("natter-test-order").await?;
        let room = RoomId([9; 32]);
        let mut all = chain(room, 1, &[1, 4, 5])?;
        all.extend(chain(room, 2, &[2, 4, 1 << 60])?);
        // Stored in an order unrelated to display order, in two batches.
        db.put_entries(&room, &all[3..])
            .await
            .ctx("store the second author's entries")?;
        db.put_entries(&room, &all[..3])
            .await
            .ctx("store the first author's entries")?;
        let loaded = db
            .load_entries(&room, None, 100)
            .await
            .ctx("load the entries")?;
        let mut expected = all.clone();
        expected.sort_by_key(|r| r.entry.display_key());
        assert_eq!(display_keys(&loaded), display_keys(&expected));
        assert_eq!(loaded.last().map(|r| r.entry.lamport), Some(1 << 60));
        assert!(loaded
            .iter()
            .zip(&expected)
            .all(|(a, b)| a.bytes == b.bytes));
        assert_eq!(db.count_entries(&room).await.ctx("count the entries")?, 6);
        Ok(())
    }

    #[wasm_bindgen_test]
    async fn paging_visits_every_entry_once_in_order() -> Result<(), String> {
        let db = fresh("natter-test-paging").await?;
        let room = RoomId([5; 32]);
        let lamports: Vec<u64> = (1..=10).collect();
        let mut all = chain(room, 1, &lamports)?;
        all.extend(chain(room, 2, &lamports[..7])?);
        db.put_entries(&room, &all).await.ctx("store the entries")?;
        let mut pages = Vec::new();
        let mut after = None;
        loop {
            let page = db
                .load_entries(&room, after, 4)
                .await
                .ctx("load a page of entries")?;
            assert!(page.len() <= 4);
            let Some(last) = page.last() else { break };
            after = Some(EntryCursor::at(last));
            pages.extend(page);
        }
        all.sort_by_key(|r| r.entry.display_key());
        assert_eq!(display_keys(&pages), display_keys(&all));
        assert!(db
            .load_entries(&room, None, 0)
            .await
            .ctx("load an empty page")?
            .is_empty());
        Ok(())
    }

    #[wasm_bindgen_test]
    async fn the_latest_page_is_the_newest_entries_of_that_room_in_order() -> Result<(), String> {
        let db = fresh("natter-test-latest").await?;
        let (room, next_door) = (RoomId([6; 32]), RoomId([7; 32]));
        let lamports: Vec<u64> = (1..=10).collect();
        let mut all = chain(room, 1, &lamports)?;
        all.extend(chain(room, 2, &lamports[..7])?);
        db.put_entries(&room, &all).await.ctx("store the entries")?;
        // A room whose keys sort right after: its entries must not be taken for ours.
        let other = chain(next_door, 3, &lamports)?;
        db.put_entries(&next_door, &other)
            .await
            .ctx("store the other room's entries")?;
        all.sort_by_key(|r| r.entry.display_key());
        let latest = db
            .load_latest_entries(&room, 5)
            .await
            .ctx("load the latest page")?;
        assert_eq!(display_keys(&latest), display_keys(&all[all.len() - 5..]));
        let everything = db
            .load_latest_entries(&room, 100)
            .await
            .ctx("load more than there is")?;
        assert_eq!(display_keys(&everything), display_keys(&all));
        assert!(db
            .load_latest_entries(&RoomId([8; 32]), 5)
            .await
            .ctx("load an empty room")?
            .is_empty());
        Ok(())
    }

    #[wasm_bindgen_test]
    async fn deleting_a_room_removes_only_its_own_entries_and_peers() -> Result<(), String> {
        let db = fresh("natter-test-delete").await?;
        let (gone, kept) = (RoomId([1; 32]), RoomId([2; 32]));
        for room in [gone, kept] {
            db.put_room(&RoomRecord {
                id: room,
                secret: [0; 32],
                name: None,
                password_required: false,
                left: false,
                password_key: None,
                last_activity_ms: 0,
            })
            .await
            .ctx("store a room")?;
            db.put_entries(&room, &chain(room, 1, &[1, 2, 3])?)
                .await
                .ctx("store a room's entries")?;
            db.put_peer(
                &room,
                &VerifiedPeer {
                    key: Identity::from_secret_bytes(&[3; 32]).public(),
                    verified_at_ms: 10,
                },
            )
            .await
            .ctx("store a room's verified peer")?;
        }
        db.delete_room(&gone).await.ctx("delete the room")?;
        assert_eq!(
            db.count_entries(&gone)
                .await
                .ctx("count the deleted room's entries")?,
            0
        );
        assert!(db
            .load_peers(&gone)
            .await
            .ctx("load the deleted room's peers")?
            .is_empty());
        assert_eq!(
            db.count_entries(&kept)
                .await
                .ctx("count the kept room's entries")?,
            3
        );
        assert_eq!(
            db.load_entries(&kept, None, 10)
                .await
                .ctx("load the kept room's entries")?
                .len(),
            3
        );
        assert_eq!(
            db.load_peers(&kept)
                .await
                .ctx("load the kept room's peers")?
                .len(),
            1
        );
        let rooms = db.load_rooms().await.ctx("load the rooms")?;
        assert_eq!(rooms.iter().map(|r| r.id).collect::<Vec<_>>(), vec![kept]);
        Ok(())
    }

    #[wasm_bindgen_test]
    async fn verified_peers_round_trip() -> Result<(), String> {
        let db = fresh("natter-test-peers").await?;
        let room = RoomId([4; 32]);
        let peer = VerifiedPeer {
            key: Identity::from_secret_bytes(&[8; 32]).public(),
            verified_at_ms: 1_700_000_000_123,
        };
        db.put_peer(&room, &peer).await.ctx("store the peer")?;
        db.put_peer(&room, &peer)
            .await
            .ctx("store the peer again")?;
        assert_eq!(
            db.load_peers(&room).await.ctx("load the peers")?,
            vec![peer]
        );
        assert!(db
            .load_peers(&RoomId([5; 32]))
            .await
            .ctx("load another room's peers")?
            .is_empty());
        Ok(())
    }

    #[wasm_bindgen_test]
    async fn erase_all_leaves_nothing_behind() -> Result<(), String> {
        let db = fresh("natter-test-erase").await?;
        let room = RoomId([6; 32]);
        db.put_identity(&StoredIdentity {
            secret: [1; 32],
            display_name: "B".into(),
        })
        .await
        .ctx("store the identity")?;
        db.put_entries(&room, &chain(room, 1, &[1])?)
            .await
            .ctx("store an entry")?;
        db.put_chunk(&Root([6; 32]), 3, 0, &[], b"abc")
            .await
            .ctx("store a chunk")?;
        db.erase_all().await.ctx("erase everything")?;
        assert_eq!(db.load_files().await.ctx("list the files")?, vec![]);
        assert_eq!(raw_store("natter-test-erase", "chunks").await?.len(), 0);
        assert_eq!(
            db.load_identity()
                .await
                .ctx("load the identity after erasing")?,
            None
        );
        assert_eq!(
            db.count_entries(&room)
                .await
                .ctx("count the entries after erasing")?,
            0
        );
        Ok(())
    }

    /// Equivocation evidence by the author with secret `[who; 32]`: two different entries
    /// with the same seq.
    fn evidence(room: RoomId, who: u8) -> Result<(Record, Record), String> {
        let a = chain(room, who, &[1])?.remove(0);
        let b = chain(room, who, &[2])?.remove(0);
        Ok((a, b))
    }

    /// What is stored, as the raw values of each store.
    async fn raw_store(name: &str, store: &str) -> Result<Vec<JsValue>, String> {
        let db = rexie::Rexie::builder(name)
            .build()
            .await
            .ctx("open the database raw")?;
        let names = db.store_names();
        let values = if names.iter().any(|n| n == store) {
            let tx = db
                .transaction(&[store], TransactionMode::ReadOnly)
                .ctx("read the store")?;
            tx.store(store)
                .ctx("the store")?
                .get_all(None, None)
                .await
                .ctx("read every value")?
        } else {
            Vec::new()
        };
        db.close();
        Ok(values)
    }

    #[wasm_bindgen_test]
    async fn evidence_is_kept_as_bytes_once_per_author_up_to_the_cap_without_rewriting_the_room(
    ) -> Result<(), String> {
        let name = "natter-test-evidence";
        let db = fresh(name).await?;
        let room = RoomId([8; 32]);
        let rec = RoomRecord {
            id: room,
            secret: [1; 32],
            name: Some("Evidence".into()),
            password_required: false,
            left: false,
            password_key: None,
            last_activity_ms: 5,
        };
        db.put_room(&rec).await.ctx("store the room")?;
        // More authors than the cap, each caught twice.
        let authors = MAX_EVIDENCE_AUTHORS as u8 + 6;
        for round in 0..2 {
            for who in 1..=authors {
                let (a, b) = evidence(room, who)?;
                let kept = db.put_evidence(&room, &a, &b).await.ctx("keep evidence")?;
                let expect = round == 0 && usize::from(who) <= MAX_EVIDENCE_AUTHORS;
                assert_eq!(kept, expect, "round {round}, author {who}");
            }
        }
        // The room record is exactly as it was stored: evidence never rewrites it.
        db.close();
        let again = Storage::open_named(name).await.ctx("reopen")?;
        assert_eq!(again.load_rooms().await.ctx("load the rooms")?, vec![rec]);
        // One value per author, the entries' bytes as bytes (codec::evidence), never JSON
        // numbers.
        let values = raw_store(name, "evidence").await?;
        assert_eq!(values.len(), MAX_EVIDENCE_AUTHORS);
        let (a, b) = evidence(room, 1)?;
        let first = values
            .iter()
            .find(|v| {
                Reflect::get(v, &"author".into())
                    .ok()
                    .and_then(|x| x.as_string())
                    == Some(natter_core::hex::encode(a.entry.author.as_bytes()))
            })
            .ok_or("no evidence stored for the first author")?;
        let stored = Reflect::get(first, &"bytes".into())
            .ctx("read the bytes")?
            .dyn_into::<Uint8Array>()
            .map_err(|_| "the evidence is not bytes".to_owned())?
            .to_vec();
        assert_eq!(stored, codec::evidence(&a.bytes, &b.bytes));
        let loaded = again.load_evidence(&room).await.ctx("load the evidence")?;
        assert_eq!(loaded.len(), MAX_EVIDENCE_AUTHORS);
        assert!(loaded.iter().any(|(x, y)| *x == a && *y == b));
        // Deleting the room takes its evidence with it.
        again.delete_room(&room).await.ctx("delete the room")?;
        assert!(again
            .load_evidence(&room)
            .await
            .ctx("load again")?
            .is_empty());
        Ok(())
    }

    #[wasm_bindgen_test]
    async fn upgrading_from_schema_2_keeps_everything_and_moves_evidence_out_of_the_room(
    ) -> Result<(), String> {
        let name = "natter-test-upgrade-evidence";
        let room = RoomId([11; 32]);
        let (a, b) = evidence(room, 3)?;
        // Schema 2's form: the evidence inside the room's settings, as arrays of numbers.
        let settings = serde_json::json!({
            "left": true,
            "evidence": [[a.bytes, b.bytes]],
        })
        .to_string();
        let entries = chain(room, 1, &[1, 2])?;
        let mut values = vec![(
            "rooms",
            schema3::room(room, [2; 32], Some("Old"), false, &settings, 9, None)?,
        )];
        for record in &entries {
            values.push(("entries", schema3::entry(room, record, None)?));
        }
        schema3::create(name, 2, &values).await?;

        let db = Storage::open_named(name)
            .await
            .ctx("open at the current schema")?;
        assert_eq!(db.version().ctx("read the version")?, SCHEMA_VERSION);
        let rooms = db.load_rooms().await.ctx("load the rooms")?;
        assert_eq!(
            rooms,
            vec![RoomRecord {
                id: room,
                secret: [2; 32],
                name: Some("Old".into()),
                password_required: false,
                left: true,
                password_key: None,
                last_activity_ms: 9,
            }]
        );
        assert_eq!(db.count_entries(&room).await.ctx("count entries")?, 2);
        assert_eq!(all_entries(&db, &room, 10).await?, entries);
        assert_eq!(
            db.load_evidence(&room).await.ctx("load the evidence")?,
            vec![(a.clone(), b.clone())]
        );
        // The record is stored again in the current form, so a second load finds nothing
        // to move.
        db.close();
        let again = Storage::open_named(name).await.ctx("reopen")?;
        let raw_rooms = raw_store(name, "rooms").await?;
        let settings = Reflect::get(&raw_rooms[0], &"settings".into()).ctx("read the settings")?;
        assert!(settings.is_undefined(), "{settings:?}");
        assert!(Reflect::get(&raw_rooms[0], &"bytes".into())
            .ctx("read the bytes")?
            .is_instance_of::<Uint8Array>());
        assert_eq!(again.load_rooms().await.ctx("load again")?, rooms);
        assert_eq!(again.load_evidence(&room).await.ctx("load")?.len(), 1);
        Ok(())
    }

    #[wasm_bindgen_test]
    async fn opening_the_same_schema_version_twice_keeps_the_data() -> Result<(), String> {
        let name = "natter-test-reopen";
        let db = fresh(name).await?;
        assert_eq!(db.version().ctx("read the schema version")?, SCHEMA_VERSION);
        let room = RoomId([7; 32]);
        db.put_entries(&room, &chain(room, 1, &[1, 2])?)
            .await
            .ctx("store the entries")?;
        db.close();
        let again = Storage::open_named(name).await.ctx("reopen the database")?;
        assert_eq!(
            again
                .version()
                .ctx("read the schema version after reopening")?,
            SCHEMA_VERSION
        );
        assert_eq!(
            again
                .count_entries(&room)
                .await
                .ctx("count the entries after reopening")?,
            2
        );
        Ok(())
    }

    /// Cheap costs: these tests are about what is stored, not about the stretching.
    fn test_lock(passphrase: &str) -> Result<(StoredLock, VaultKey), String> {
        let params = VaultParams {
            salt: [3; natter_core::vault::SALT_LEN],
            kdf: natter_core::room::KdfParams {
                memory_kib: 64,
                iterations: 1,
                parallelism: 1,
            },
        };
        let key = VaultKey::derive(passphrase, &params).ctx("derive the key")?;
        let verifier = key.verifier(&mut rand_core::OsRng);
        Ok((StoredLock { params, verifier }, key))
    }

    /// What one device has stored, for the lock tests: readable words in every kind of
    /// record, and the secrets that must not be readable either.
    struct Stored {
        identity: StoredIdentity,
        room: RoomRecord,
        entries: Vec<Record>,
        peer: VerifiedPeer,
    }

    const WORDS: [&str; 3] = ["Ada Lovelace", "Secret Garden", "message 0 from 1"];

    async fn store_some(db: &Storage) -> Result<Stored, String> {
        let stored = sample()?;
        let room = stored.room.id;
        db.put_identity(&stored.identity)
            .await
            .ctx("store the identity")?;
        db.put_room(&stored.room).await.ctx("store the room")?;
        db.put_entries(&room, &stored.entries)
            .await
            .ctx("store the entries")?;
        db.put_peer(&room, &stored.peer)
            .await
            .ctx("store the verified peer")?;
        Ok(stored)
    }

    fn sample() -> Result<Stored, String> {
        let room = RoomId([0x42; 32]);
        Ok(Stored {
            identity: StoredIdentity {
                secret: [0x5a; 32],
                display_name: "Ada Lovelace".into(),
            },
            room: RoomRecord {
                id: room,
                secret: [0xa5; 32],
                name: Some("Secret Garden".into()),
                password_required: true,
                left: false,
                password_key: Some([0x5c; 32]),
                last_activity_ms: 1_700_000_000_000,
            },
            entries: chain(room, 1, &[1, 2, 3])?,
            peer: VerifiedPeer {
                key: Identity::from_secret_bytes(&[8; 32]).public(),
                verified_at_ms: 12,
            },
        })
    }

    /// An entry of `room` as schema 4 and 5 stored it in `entries`: `{id, display}` as
    /// bytes, and its bytes in clear or sealed under `key`.
    fn schema4_entry(
        room: RoomId,
        record: &Record,
        key: Option<&VaultKey>,
    ) -> Result<JsValue, String> {
        let display = super::codec::record_key(&room, record);
        let object = Object::new();
        let set = |name: &str, bytes: &[u8]| -> Result<(), String> {
            Reflect::set(&object, &name.into(), &Uint8Array::from(bytes).into())
                .ctx("set a field")
                .map(drop)
        };
        set("id", &record.id.0)?;
        set("display", &display)?;
        match key {
            Some(key) => {
                let place = format!("entries/{}", record.id.to_hex());
                set(
                    "sealed",
                    &key.seal(&mut rand_core::OsRng, &place, &record.bytes),
                )?;
            }
            None => set("bytes", &record.bytes)?,
        }
        Ok(object.into())
    }

    /// Checks that `db` reads back exactly `stored`.
    async fn assert_reads_back(db: &Storage, stored: &Stored) -> Result<(), String> {
        let room = stored.room.id;
        assert_eq!(
            db.load_identity().await.ctx("load the identity")?,
            Some(stored.identity.clone())
        );
        assert_eq!(
            db.load_rooms().await.ctx("load the rooms")?,
            vec![stored.room.clone()]
        );
        let entries = db
            .load_entries(&room, None, 100)
            .await
            .ctx("load the entries")?;
        assert_eq!(
            entries.iter().map(|r| &r.bytes).collect::<Vec<_>>(),
            stored.entries.iter().map(|r| &r.bytes).collect::<Vec<_>>()
        );
        assert_eq!(
            db.load_peers(&room).await.ctx("load the peers")?,
            vec![stored.peer.clone()]
        );
        Ok(())
    }

    /// Every key and value of every store of database `name`, read past the app's code:
    /// text as its UTF-8 bytes, binary values as they are, each followed by a zero byte.
    async fn raw(name: &str) -> Result<Vec<u8>, String> {
        fn walk(value: &JsValue, out: &mut Vec<u8>) {
            if let Some(text) = value.as_string() {
                out.extend_from_slice(text.as_bytes());
            } else if let Some(bytes) = value.dyn_ref::<Uint8Array>() {
                out.extend(bytes.to_vec());
            } else if let Some(items) = value.dyn_ref::<Array>() {
                items.iter().for_each(|item| walk(&item, out));
            } else if let Some(object) = value.dyn_ref::<Object>() {
                for key in Object::keys(object).iter() {
                    walk(&key, out);
                    out.push(b'=');
                    walk(&Reflect::get(object, &key).unwrap_or_default(), out);
                }
            } else {
                out.extend(format!("{value:?}").bytes());
            }
            out.push(0);
        }
        let db = schema(name).build().await.ctx("open the raw database")?;
        let mut out = Vec::new();
        for store in db.store_names() {
            let tx = db
                .transaction(&[store.as_str()], TransactionMode::ReadOnly)
                .ctx("read a store")?;
            let handle = tx.store(&store).ctx("read a store")?;
            let keys = handle.get_all_keys(None, None).await.ctx("read keys")?;
            let values = handle.get_all(None, None).await.ctx("read values")?;
            out.extend(store.bytes());
            keys.iter().for_each(|k| walk(k, &mut out));
            values.iter().for_each(|v| walk(v, &mut out));
        }
        db.close();
        Ok(out)
    }

    fn holds(raw: &[u8], needle: &[u8]) -> bool {
        raw.windows(needle.len()).any(|w| w == needle)
    }

    /// The readable words and secrets found in `raw`.
    fn readable(raw: &[u8], stored: &Stored) -> Vec<String> {
        let mut found: Vec<String> = WORDS
            .iter()
            .filter(|w| holds(raw, w.as_bytes()))
            .map(|w| w.to_string())
            .collect();
        let identity_hex = natter_core::hex::encode(&stored.identity.secret);
        let room_hex = natter_core::hex::encode(&stored.room.secret);
        let password_key = stored.room.password_key.unwrap_or_default();
        let password_hex = natter_core::hex::encode(&password_key);
        for (what, bytes, hex) in [
            ("the identity secret", &stored.identity.secret, identity_hex),
            ("the room secret", &stored.room.secret, room_hex),
            ("the stretched password", &password_key, password_hex),
        ] {
            if holds(raw, bytes) || holds(raw, hex.as_bytes()) {
                found.push(what.into());
            }
        }
        found
    }

    #[wasm_bindgen_test]
    async fn with_the_lock_on_no_record_holds_readable_text_or_secrets() -> Result<(), String> {
        let name = "natter-test-lock-sealed";
        let db = fresh(name).await?;
        let stored = store_some(&db).await?;
        // Without the lock everything is readable: the check below can fail.
        let before = raw(name).await?;
        assert_eq!(readable(&before, &stored).len(), WORDS.len() + 3);

        let (lock, key) = test_lock("correct horse")?;
        db.enable_lock(&lock, key).await.ctx("turn the lock on")?;
        let after = raw(name).await?;
        assert_eq!(readable(&after, &stored), Vec::<String>::new());
        assert_eq!(
            db.load_lock().await.ctx("load the lock")?,
            Some(lock.clone())
        );
        assert_reads_back(&db, &stored).await?;

        // What is written once the lock is on is sealed too.
        let room = stored.room.id;
        let later = chain(room, 2, &[9])?;
        db.put_entries(&room, &later)
            .await
            .ctx("store an entry with the lock on")?;
        assert!(!holds(&raw(name).await?, b"message 0 from 2"));
        assert_eq!(
            db.load_entries(&room, None, 100)
                .await
                .ctx("load the entries")?
                .len(),
            4
        );
        Ok(())
    }

    #[wasm_bindgen_test]
    async fn a_reopened_lock_opens_with_the_passphrase_and_only_with_it() -> Result<(), String> {
        let name = "natter-test-lock-reopen";
        let db = fresh(name).await?;
        let stored = store_some(&db).await?;
        let (lock, key) = test_lock("correct horse")?;
        db.enable_lock(&lock, key).await.ctx("turn the lock on")?;
        db.close();

        // A new page: the lock is there, nothing opens without the key.
        let db = Storage::open_named(name).await.ctx("reopen")?;
        let lock = db
            .load_lock()
            .await
            .ctx("load the lock")?
            .ok_or("the lock is gone")?;
        let snapshot = raw(name).await?;
        assert!(matches!(
            db.load_identity().await,
            Err(StorageError::Corrupt(_))
        ));
        let wrong = VaultKey::unlock("correct horsE", &lock.params, &lock.verifier);
        assert_eq!(wrong.map(|_| ()), Err(VaultError::WrongPassphrase));
        // The wrong passphrase changed nothing.
        assert!(
            raw(name).await? == snapshot,
            "a wrong passphrase changed the stored data"
        );

        let key = VaultKey::unlock("correct horse", &lock.params, &lock.verifier)
            .ctx("unlock with the passphrase")?;
        db.unlock(key);
        assert_reads_back(&db, &stored).await?;
        Ok(())
    }

    #[wasm_bindgen_test]
    async fn a_record_moved_to_another_place_is_refused() -> Result<(), String> {
        let name = "natter-test-lock-swap";
        let db = fresh(name).await?;
        let room = RoomId([0x42; 32]);
        let (lock, key) = test_lock("pass phrase")?;
        db.enable_lock(&lock, key).await.ctx("turn the lock on")?;
        let entries = chain(room, 1, &[1, 2])?;
        db.put_entries(&room, &entries)
            .await
            .ctx("store the entries")?;
        // Swap the sealed contents of the two entries, past the app's code.
        let raw_db = schema(name).build().await.ctx("open the raw database")?;
        let tx = raw_db
            .transaction(&["log"], TransactionMode::ReadWrite)
            .ctx("write the entries")?;
        let store = tx.store("log").ctx("the entries store")?;
        let keys: Vec<JsValue> = entries
            .iter()
            .map(|r| Uint8Array::from(&super::codec::record_key(&room, r)[..]).into())
            .collect();
        let mut values = Vec::new();
        for id in &keys {
            values.push(
                store
                    .get(id.clone())
                    .await
                    .ctx("read an entry")?
                    .ok_or("an entry is missing")?,
            );
        }
        let sealed: Vec<JsValue> = values
            .iter()
            .map(|v| Reflect::get(v, &"sealed".into()).unwrap_or_default())
            .collect();
        for ((value, other), key) in values.iter().zip(sealed.iter().rev()).zip(&keys) {
            Reflect::set(value, &"sealed".into(), other).ctx("swap")?;
            store
                .put(value, Some(key))
                .await
                .ctx("write the swapped entry")?;
        }
        tx.done().await.ctx("commit the swap")?;
        raw_db.close();
        assert!(matches!(
            db.load_entries(&room, None, 10).await,
            Err(StorageError::Corrupt(_))
        ));
        Ok(())
    }

    #[wasm_bindgen_test]
    async fn turning_the_lock_off_stores_everything_readably_again() -> Result<(), String> {
        let name = "natter-test-lock-off";
        let db = fresh(name).await?;
        let stored = store_some(&db).await?;
        let (lock, key) = test_lock("correct horse")?;
        db.enable_lock(&lock, key).await.ctx("turn the lock on")?;
        db.disable_lock().await.ctx("turn the lock off")?;
        assert_eq!(db.load_lock().await.ctx("load the lock")?, None);
        assert_eq!(readable(&raw(name).await?, &stored).len(), WORDS.len() + 3);
        db.close();
        // A new page reads it all without any key.
        let db = Storage::open_named(name).await.ctx("reopen")?;
        assert_reads_back(&db, &stored).await?;
        // Turning off an unopened lock is refused, not done half.
        assert!(db.disable_lock().await.is_err());
        Ok(())
    }

    /// Records as the code of schemas 2 and 3 stored them, written past today's code: the
    /// identity and rooms as separate fields (or their JSON sealed), entries keyed by their
    /// id in hex with the display order's fields beside them, evidence as two byte fields
    /// (or sealed together). Sealed records use the contexts that code used.
    mod schema3 {
        use super::*;

        fn hex(bytes: &[u8]) -> String {
            natter_core::hex::encode(bytes)
        }

        fn hex_u64(n: u64) -> String {
            natter_core::hex::encode(&n.to_be_bytes())
        }

        fn object(fields: Vec<(&str, JsValue)>) -> Result<JsValue, String> {
            let object = Object::new();
            for (name, value) in fields {
                Reflect::set(&object, &name.into(), &value).ctx("set a field")?;
            }
            Ok(object.into())
        }

        fn bytes(data: &[u8]) -> JsValue {
            Uint8Array::from(data).into()
        }

        fn seal(key: &VaultKey, context: &str, plain: &[u8]) -> JsValue {
            bytes(&key.seal(&mut rand_core::OsRng, context, plain))
        }

        pub fn identity(
            secret: [u8; 32],
            name: &str,
            key: Option<&VaultKey>,
        ) -> Result<JsValue, String> {
            let mut fields = vec![("slot", "self".into())];
            match key {
                Some(key) => {
                    let json = serde_json::json!({ "secret": hex(&secret), "name": name });
                    fields.push((
                        "sealed",
                        seal(key, "identity/self", json.to_string().as_bytes()),
                    ));
                }
                None => {
                    fields.push(("secret", bytes(&secret)));
                    fields.push(("name", name.into()));
                }
            }
            object(fields)
        }

        /// A room record with its settings JSON as the runtime wrote it.
        pub fn room(
            id: RoomId,
            secret: [u8; 32],
            name: Option<&str>,
            password: bool,
            settings: &str,
            last_activity_ms: u64,
            key: Option<&VaultKey>,
        ) -> Result<JsValue, String> {
            let id = id.to_hex();
            let mut fields = vec![("id", id.as_str().into())];
            match key {
                Some(key) => {
                    let json = serde_json::json!({
                        "secret": hex(&secret),
                        "name": name,
                        "password": password,
                        "settings": settings,
                    });
                    let context = format!("rooms/{id}");
                    fields.push(("sealed", seal(key, &context, json.to_string().as_bytes())));
                }
                None => {
                    fields.push(("secret", bytes(&secret)));
                    fields.push(("name", name.map_or(JsValue::NULL, JsValue::from_str)));
                    fields.push(("password", password.into()));
                    fields.push(("settings", settings.into()));
                }
            }
            fields.push(("last_activity", hex_u64(last_activity_ms).into()));
            object(fields)
        }

        pub fn entry(
            room: RoomId,
            record: &Record,
            key: Option<&VaultKey>,
        ) -> Result<JsValue, String> {
            let (lamport, author, seq) = record.entry.display_key();
            let id = record.id.to_hex();
            let content = match key {
                Some(key) => ("sealed", seal(key, &format!("entries/{id}"), &record.bytes)),
                None => ("bytes", bytes(&record.bytes)),
            };
            object(vec![
                ("id", id.as_str().into()),
                ("room", room.to_hex().into()),
                ("lamport", hex_u64(lamport).into()),
                ("author", hex(author.as_bytes()).into()),
                ("seq", hex_u64(seq).into()),
                content,
            ])
        }

        pub fn evidence(
            room: RoomId,
            first: &Record,
            second: &Record,
            key: Option<&VaultKey>,
        ) -> Result<JsValue, String> {
            let (room, author) = (room.to_hex(), hex(first.entry.author.as_bytes()));
            let mut fields = vec![
                ("room", room.as_str().into()),
                ("author", author.as_str().into()),
            ];
            match key {
                Some(key) => {
                    let mut plain = (first.bytes.len() as u32).to_be_bytes().to_vec();
                    plain.extend_from_slice(&first.bytes);
                    plain.extend_from_slice(&second.bytes);
                    fields.push((
                        "sealed",
                        seal(key, &format!("evidence/{room}/{author}"), &plain),
                    ));
                }
                None => {
                    fields.push(("first", bytes(&first.bytes)));
                    fields.push(("second", bytes(&second.bytes)));
                }
            }
            object(fields)
        }

        pub fn lock(lock: &StoredLock) -> Result<JsValue, String> {
            let kdf = lock.params.kdf;
            object(vec![
                ("slot", "lock".into()),
                ("salt", bytes(&lock.params.salt)),
                ("memory_kib", hex_u64(u64::from(kdf.memory_kib)).into()),
                ("iterations", hex_u64(u64::from(kdf.iterations)).into()),
                ("parallelism", hex_u64(u64::from(kdf.parallelism)).into()),
                ("verifier", bytes(&lock.verifier)),
            ])
        }

        /// Creates the database `name` at schema `version` (2 or 3) holding `values`
        /// (store name, value).
        pub async fn create(
            name: &str,
            version: u32,
            values: &[(&str, JsValue)],
        ) -> Result<(), String> {
            rexie::Rexie::delete(name)
                .await
                .ctx("delete the test database")?;
            let db = schema_at(name, version)
                .build()
                .await
                .ctx("create the old database")?;
            for (store, value) in values {
                let tx = db
                    .transaction(&[*store], TransactionMode::ReadWrite)
                    .ctx("write the old database")?;
                tx.store(store)
                    .ctx("a store")?
                    .put(value, None)
                    .await
                    .ctx("put a record")?;
                tx.done().await.ctx("commit a record")?;
            }
            db.close();
            Ok(())
        }
    }

    /// What the schema-3 database of the upgrade test holds: an interrupted lock switch,
    /// with the identity, one room and some entries sealed and the rest in clear.
    struct Old {
        lock: StoredLock,
        key: VaultKey,
        identity: StoredIdentity,
        /// The room in clear: a password room (its stretched key in the settings), with
        /// evidence in its own store, and a clear and a sealed entry.
        clear: RoomId,
        /// The sealed room, left, with a sealed piece of evidence.
        sealed: RoomId,
        clear_entries: Vec<Record>,
        sealed_entries: Vec<Record>,
        clear_evidence: (Record, Record),
        sealed_evidence: (Record, Record),
        peer: VerifiedPeer,
    }

    async fn create_schema3(name: &str) -> Result<Old, String> {
        let (lock, key) = test_lock("old passphrase")?;
        let (clear, sealed) = (RoomId([0x31; 32]), RoomId([0x32; 32]));
        let mut clear_entries = chain(clear, 1, &[3, 1, 2, 1 << 62])?;
        clear_entries.extend(chain(clear, 2, &[2, 7])?);
        let sealed_entries = chain(sealed, 3, &[1, 2, 3])?;
        let old = Old {
            identity: StoredIdentity {
                secret: [0x11; 32],
                display_name: "Grace".into(),
            },
            clear,
            sealed,
            clear_evidence: evidence(clear, 4)?,
            sealed_evidence: evidence(sealed, 5)?,
            clear_entries,
            sealed_entries,
            peer: VerifiedPeer {
                key: Identity::from_secret_bytes(&[6; 32]).public(),
                verified_at_ms: u64::MAX - 1,
            },
            lock,
            key,
        };
        let k = Some(&old.key);
        let mut values = vec![
            ("vault", schema3::lock(&old.lock)?),
            (
                "identity",
                schema3::identity(old.identity.secret, "Grace", k)?,
            ),
            (
                "rooms",
                schema3::room(
                    clear,
                    [0x21; 32],
                    Some("Clear room"),
                    true,
                    &serde_json::json!({ "left": false, "password_key": ([9u8; 32]) }).to_string(),
                    1 << 60,
                    None,
                )?,
            ),
            (
                "rooms",
                schema3::room(sealed, [0x22; 32], None, false, r#"{"left":true}"#, 7, k)?,
            ),
        ];
        for (i, record) in old.clear_entries.iter().enumerate() {
            // One entry of the clear room was sealed before the switch stopped.
            let key = if i == 2 { k } else { None };
            values.push(("entries", schema3::entry(clear, record, key)?));
        }
        for record in &old.sealed_entries {
            values.push(("entries", schema3::entry(sealed, record, k)?));
        }
        let (a, b) = &old.clear_evidence;
        values.push(("evidence", schema3::evidence(clear, a, b, None)?));
        let (a, b) = &old.sealed_evidence;
        values.push(("evidence", schema3::evidence(sealed, a, b, k)?));
        schema3::create(name, 3, &values).await?;
        let db = Storage::open_at(name, 3).await.ctx("open at schema 3")?;
        db.put_peer(&clear, &old.peer)
            .await
            .ctx("store a verified peer")?;
        db.close();
        Ok(old)
    }

    /// `records` in display order.
    fn in_display_order(records: &[Record]) -> Vec<Record> {
        let mut sorted = records.to_vec();
        sorted.sort_by_key(|r| r.entry.display_key());
        sorted
    }

    /// Every entry of `room`, page by page.
    async fn all_entries(db: &Storage, room: &RoomId, page: u32) -> Result<Vec<Record>, String> {
        let mut out = Vec::new();
        let mut after = None;
        loop {
            let next = db
                .load_entries(room, after, page)
                .await
                .ctx("load a page")?;
            let Some(last) = next.last() else { break };
            after = Some(EntryCursor::at(last));
            out.extend(next);
        }
        Ok(out)
    }

    /// The keys of `store` in database `name`, as stored.
    async fn raw_keys(name: &str, store: &str) -> Result<Vec<JsValue>, String> {
        let db = rexie::Rexie::builder(name).build().await.ctx("open raw")?;
        let tx = db
            .transaction(&[store], TransactionMode::ReadOnly)
            .ctx("read the store")?;
        let keys = tx
            .store(store)
            .ctx("the store")?
            .get_all_keys(None, None)
            .await
            .ctx("read the keys")?;
        db.close();
        Ok(keys)
    }

    /// Checks that `db` (unlocked) holds exactly what [`create_schema3`] stored.
    async fn assert_holds_schema3(db: &Storage, old: &Old) -> Result<(), String> {
        assert_eq!(
            db.load_identity().await.ctx("identity")?,
            Some(old.identity.clone())
        );
        let rooms = db.load_rooms().await.ctx("rooms")?;
        assert_eq!(
            rooms,
            vec![
                RoomRecord {
                    id: old.clear,
                    secret: [0x21; 32],
                    name: Some("Clear room".into()),
                    password_required: true,
                    left: false,
                    password_key: Some([9; 32]),
                    last_activity_ms: 1 << 60,
                },
                RoomRecord {
                    id: old.sealed,
                    secret: [0x22; 32],
                    name: None,
                    password_required: false,
                    left: true,
                    password_key: None,
                    last_activity_ms: 7,
                },
            ]
        );
        for (room, entries) in [
            (old.clear, &old.clear_entries),
            (old.sealed, &old.sealed_entries),
        ] {
            let expected = in_display_order(entries);
            assert_eq!(all_entries(db, &room, 2).await?, expected);
            assert_eq!(all_entries(db, &room, 100).await?, expected);
            assert_eq!(
                db.count_entries(&room).await.ctx("count")?,
                entries.len() as u32
            );
        }
        assert_eq!(
            db.load_evidence(&old.clear).await.ctx("evidence")?,
            vec![old.clear_evidence.clone()]
        );
        assert_eq!(
            db.load_evidence(&old.sealed).await.ctx("evidence")?,
            vec![old.sealed_evidence.clone()]
        );
        assert_eq!(
            db.load_peers(&old.clear).await.ctx("peers")?,
            vec![old.peer.clone()]
        );
        Ok(())
    }

    #[wasm_bindgen_test]
    async fn upgrading_from_schema_3_moves_every_entry_while_locked_and_loses_nothing(
    ) -> Result<(), String> {
        let name = "natter-test-upgrade-4";
        let old = create_schema3(name).await?;

        // Opened at the current schema and still locked: every entry is keyed by its
        // display key's bytes, in `log`.
        let db = Storage::open_named(name)
            .await
            .ctx("open at the current schema")?;
        assert_eq!(db.version().ctx("version")?, SCHEMA_VERSION);
        assert_eq!(raw_keys(name, "entries").await?.len(), 0);
        let keys = raw_keys(name, "log").await?;
        let mut expected: Vec<Vec<u8>> = [
            (old.clear, &old.clear_entries),
            (old.sealed, &old.sealed_entries),
        ]
        .into_iter()
        .flat_map(|(room, records)| {
            records
                .iter()
                .map(move |r| super::codec::record_key(&room, r).to_vec())
        })
        .collect();
        expected.sort();
        assert!(keys
            .iter()
            .all(|k| k.is_instance_of::<js_sys::ArrayBuffer>()));
        let keys: Vec<Vec<u8>> = keys
            .iter()
            .map(|k| js_sys::Uint8Array::new(k).to_vec())
            .collect();
        assert_eq!(keys, expected);
        assert_eq!(db.count_entries(&old.sealed).await.ctx("count locked")?, 3);
        let lock = db.load_lock().await.ctx("load the lock")?;
        assert_eq!(lock.as_ref(), Some(&old.lock));

        let key = VaultKey::unlock("old passphrase", &old.lock.params, &old.lock.verifier)
            .ctx("unlock")?;
        db.unlock(key);
        assert_holds_schema3(&db, &old).await?;
        db.close();

        // An interrupted migration goes on at the next open: an entry still in the old form
        // beside the new ones is migrated then.
        let extra = chain(old.sealed, 3, &[1, 2, 3, 4])?.remove(3);
        let raw_db = schema(name).build().await.ctx("open raw")?;
        let tx = raw_db
            .transaction(&["entries"], TransactionMode::ReadWrite)
            .ctx("write raw")?;
        tx.store("entries")
            .ctx("the entries store")?
            .put(&schema3::entry(old.sealed, &extra, Some(&old.key))?, None)
            .await
            .ctx("put an old entry")?;
        tx.done().await.ctx("commit")?;
        raw_db.close();
        let db = Storage::open_named(name).await.ctx("reopen")?;
        let key = VaultKey::unlock("old passphrase", &old.lock.params, &old.lock.verifier)
            .ctx("unlock")?;
        db.unlock(key);
        let mut sealed = old.sealed_entries.clone();
        sealed.push(extra);
        assert_eq!(all_entries(&db, &old.sealed, 2).await?, sealed);
        assert_eq!(raw_keys(name, "log").await?.len(), 10);
        assert_eq!(raw_keys(name, "entries").await?.len(), 0);

        // A migrated room is deleted whole, and only it.
        db.delete_room(&old.clear)
            .await
            .ctx("delete the clear room")?;
        assert_eq!(db.count_entries(&old.clear).await.ctx("count")?, 0);
        assert_eq!(db.count_entries(&old.sealed).await.ctx("count")?, 4);
        assert_eq!(raw_keys(name, "log").await?.len(), 4);
        Ok(())
    }

    #[wasm_bindgen_test]
    async fn the_lock_switch_reads_records_of_schema_3_and_writes_them_in_the_current_form(
    ) -> Result<(), String> {
        let name = "natter-test-upgrade-4-off";
        let old = create_schema3(name).await?;
        let db = Storage::open_named(name).await.ctx("open at schema 4")?;
        let key = VaultKey::unlock("old passphrase", &old.lock.params, &old.lock.verifier)
            .ctx("unlock")?;
        db.unlock(key);
        db.disable_lock().await.ctx("turn the lock off")?;
        // Every identity, room, entry and piece of evidence is codec bytes in clear now:
        // an entry its bytes alone, the others in a field.
        let log = raw_store(name, "log").await?;
        assert_eq!(log.len(), 9);
        assert!(
            log.iter().all(|v| v.is_instance_of::<Uint8Array>()),
            "{log:?}"
        );
        for store in ["identity", "rooms", "evidence"] {
            for value in raw_store(name, store).await? {
                let clear = Reflect::get(&value, &"bytes".into()).ctx("read")?;
                let sealed = Reflect::get(&value, &"sealed".into()).ctx("read")?;
                assert!(
                    clear.is_instance_of::<Uint8Array>() && sealed.is_undefined(),
                    "{store}: {value:?}"
                );
            }
        }
        db.close();
        let db = Storage::open_named(name).await.ctx("reopen")?;
        assert_holds_schema3(&db, &old).await?;
        Ok(())
    }

    /// The bytes of chunk `index` of a file of `len` bytes, made of `text` repeated.
    fn chunk_of(len: u64, index: u64, text: &str) -> Result<Vec<u8>, String> {
        let n = blob::chunk_len(len, index).ctx("a chunk of the file")?;
        Ok(text.bytes().cycle().take(n).collect())
    }

    /// A proof's bytes for the tests: storage keeps them as they are.
    fn proof_of(index: u64) -> Vec<u8> {
        [index as u8; 64].to_vec()
    }

    #[wasm_bindgen_test]
    async fn a_chunk_and_its_proof_round_trip_and_a_missing_one_reads_as_none() -> Result<(), String>
    {
        let db = fresh("natter-test-chunks").await?;
        let root = Root([0x11; 32]);
        let len = blob::CHUNK_LEN as u64 + 5;
        let first = chunk_of(len, 0, "first chunk ")?;
        db.put_chunk(&root, len, 0, &proof_of(0), &first)
            .await
            .ctx("store a chunk")?;
        let last = chunk_of(len, 1, "last")?;
        db.put_chunks(&root, len, &[(1, proof_of(1), last.clone())])
            .await
            .ctx("store a batch of one")?;
        assert_eq!(
            db.get_chunk(&root, 0).await.ctx("read chunk 0")?,
            Some((proof_of(0), first))
        );
        assert_eq!(
            db.get_chunk(&root, 1).await.ctx("read chunk 1")?,
            Some((proof_of(1), last))
        );
        assert_eq!(db.get_chunk(&root, 2).await.ctx("read chunk 2")?, None);
        assert_eq!(
            db.get_chunk(&Root([0x12; 32]), 0)
                .await
                .ctx("read another file")?,
            None
        );
        // A chunk that cannot be in its place is refused, with words, and not stored.
        for (index, data) in [(1, vec![0; 4]), (2, vec![0; 5])] {
            let refused = db.put_chunk(&root, len, index, &[], &data).await;
            assert!(
                matches!(&refused, Err(StorageError::Failed(why)) if why.contains("chunk")),
                "{refused:?}"
            );
        }
        assert_eq!(db.get_chunk(&root, 2).await.ctx("read chunk 2")?, None);
        assert!(db
            .put_chunk(&root, blob::MAX_FILE_LEN + 1, 0, &[], &[0; blob::CHUNK_LEN])
            .await
            .is_err());
        Ok(())
    }

    #[wasm_bindgen_test]
    async fn a_whole_chunk_is_stored_as_records_under_64_kib_and_one_stored_whole_still_reads(
    ) -> Result<(), String> {
        let name = "natter-test-chunk-split";
        let bytes = |data: &[u8]| -> JsValue { Uint8Array::from(data).into() };
        let db = fresh(name).await?;
        let root = Root([0x31; 32]);
        let len = 2 * blob::CHUNK_LEN as u64;
        let first = chunk_of(len, 0, "a chunk in two records ")?;
        db.put_chunk(&root, len, 0, &proof_of(0), &first)
            .await
            .ctx("store a chunk")?;
        let records = raw_store(name, "chunks").await?;
        assert_eq!(records.len(), 2);
        for value in &records {
            let clear = Reflect::get(value, &"bytes".into()).ctx("read")?;
            let n = Uint8Array::new(&clear).length() as usize;
            assert!(n <= codec::CHUNK_HEAD_LEN + 5 + proof_of(0).len(), "{n}");
        }

        // A chunk stored whole, as before chunks were split, reads as it did.
        let second = chunk_of(len, 1, "a chunk in one record ")?;
        let raw_db = schema(name).build().await.ctx("open the raw database")?;
        let tx = raw_db
            .transaction(&["chunks"], TransactionMode::ReadWrite)
            .ctx("write the chunks")?;
        let whole = [&[codec::FORMAT, 0, 0, 0, 64][..], &proof_of(1), &second].concat();
        let value = js_sys::Object::new();
        Reflect::set(&value, &"key".into(), &bytes(&codec::chunk_key(&root, 1))).ctx("key")?;
        Reflect::set(&value, &"bytes".into(), &bytes(&whole)).ctx("bytes")?;
        let store = tx.store("chunks").ctx("the chunks store")?;
        store.put(&value, None).await.ctx("write a whole chunk")?;
        tx.done().await.ctx("commit")?;
        raw_db.close();
        assert_eq!(
            db.get_chunk(&root, 0).await.ctx("read chunk 0")?,
            Some((proof_of(0), first.clone()))
        );
        assert_eq!(
            db.get_chunk(&root, 1).await.ctx("read chunk 1")?,
            Some((proof_of(1), second.clone()))
        );
        let listed = db.load_files().await.ctx("list the files")?;
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].held, vec![true, true]);
        // A run of chunks reads in one request, whatever their form; missing ones are
        // left out.
        let run = db.get_chunks(&root, 0, 5).await.ctx("read a run")?;
        assert_eq!(
            run,
            vec![
                (0, Ok((proof_of(0), first.clone()))),
                (1, Ok((proof_of(1), second.clone())))
            ]
        );
        assert!(db
            .get_chunks(&root, 1, 0)
            .await
            .ctx("read none")?
            .is_empty());

        // The lock seals both records of a chunk, each bound to its own place.
        let (lock, key) = test_lock("split")?;
        db.enable_lock(&lock, key).await.ctx("turn the lock on")?;
        for value in raw_store(name, "chunks").await? {
            let clear = Reflect::get(&value, &"bytes".into()).ctx("read")?;
            assert!(clear.is_undefined(), "{value:?}");
        }
        assert_eq!(
            db.get_chunk(&root, 0).await.ctx("read a sealed chunk")?,
            Some((proof_of(0), first))
        );
        assert_eq!(
            db.get_chunk(&root, 1)
                .await
                .ctx("read a sealed whole chunk")?,
            Some((proof_of(1), second))
        );

        // A head without its tail is damaged, not a short chunk.
        let raw_db = schema(name).build().await.ctx("open the raw database")?;
        let tx = raw_db
            .transaction(&["chunks"], TransactionMode::ReadWrite)
            .ctx("write the chunks")?;
        let store = tx.store("chunks").ctx("the chunks store")?;
        store
            .delete(bytes(&codec::chunk_tail_key(&root, 0)))
            .await
            .ctx("delete a tail")?;
        tx.done().await.ctx("commit")?;
        raw_db.close();
        assert!(matches!(
            db.get_chunk(&root, 0).await,
            Err(StorageError::Corrupt(_))
        ));
        let run = db.get_chunks(&root, 0, 2).await.ctx("read a run")?;
        assert!(matches!(
            run[..],
            [(0, Err(StorageError::Corrupt(_))), (1, Ok(_))]
        ));
        db.delete_file(&root, None).await.ctx("delete the file")?;
        assert_eq!(raw_store(name, "chunks").await?.len(), 0);
        Ok(())
    }

    #[wasm_bindgen_test]
    async fn a_run_of_chunks_is_read_at_most_a_bounded_count_at_once() -> Result<(), String> {
        let db = fresh("natter-test-chunk-runs").await?;
        let (root, len) = (Root([0x51; 32]), 40 * blob::CHUNK_LEN as u64);
        let chunks = (0..40)
            .map(|i| Ok((i, proof_of(i), chunk_of(len, i, &format!("run {i} "))?)))
            .collect::<Result<Vec<_>, String>>()?;
        db.put_chunks(&root, len, &chunks)
            .await
            .ctx("store the chunks")?;
        let run = db.get_chunks(&root, 10, 100).await.ctx("read a run")?;
        let indexes: Vec<u64> = run.iter().map(|(i, _)| *i).collect();
        assert_eq!(indexes, (10..10 + MAX_CHUNKS_READ).collect::<Vec<_>>());
        for (i, chunk) in run {
            let (proof, bytes) = chunk.ctx("a chunk of the run")?;
            assert_eq!(
                (proof, bytes),
                (chunks[i as usize].1.clone(), chunks[i as usize].2.clone())
            );
        }
        Ok(())
    }

    #[wasm_bindgen_test]
    async fn the_held_flags_come_from_the_stored_chunks() -> Result<(), String> {
        let db = fresh("natter-test-held").await?;
        let root = Root([0x21; 32]);
        let len = 2 * blob::CHUNK_LEN as u64 + 100;
        let chunks = [0, 2]
            .into_iter()
            .map(|i| Ok((i, proof_of(i), chunk_of(len, i, "abc")?)))
            .collect::<Result<Vec<_>, String>>()?;
        db.put_chunks(&root, len, &chunks)
            .await
            .ctx("store chunks 0 and 2")?;
        let expected = vec![StoredFile {
            root,
            len,
            held: vec![true, false, true],
            wish: FileWish::Fetch,
        }];
        assert_eq!(db.load_files().await.ctx("list the files")?, expected);
        // Listed a key at a time, and two at a time, it is the same.
        for page in [1, 2] {
            assert_eq!(
                db.load_files_in_pages(page).await.ctx("list in pages")?,
                expected
            );
        }
        assert_eq!(
            db.file_bytes().await.ctx("count the bytes")?,
            vec![(root, len, blob::CHUNK_LEN as u64 + 100)]
        );
        // The missing chunk arrives: the file is whole, stored once.
        db.put_chunk(&root, len, 1, &proof_of(1), &chunk_of(len, 1, "abc")?)
            .await
            .ctx("store chunk 1")?;
        let files = db.load_files().await.ctx("list the files")?;
        assert_eq!(files.len(), 1);
        assert_eq!(files[0].held, vec![true; 3]);
        assert_eq!(
            db.file_bytes().await.ctx("count the bytes")?,
            vec![(root, len, len)]
        );
        Ok(())
    }

    #[wasm_bindgen_test]
    async fn deleting_a_file_removes_only_its_own_chunks() -> Result<(), String> {
        let name = "natter-test-delete-file";
        let db = fresh(name).await?;
        // Roots next to each other in key order: the range must not spill.
        let mut below = [0x31; 32];
        below[31] = 0x30;
        let mut above = [0x31; 32];
        above[31] = 0x32;
        let (gone, kept) = (Root([0x31; 32]), [Root(below), Root(above)]);
        let len = 2 * blob::CHUNK_LEN as u64;
        for root in [gone, kept[0], kept[1]] {
            let chunks = [0, 1]
                .into_iter()
                .map(|i| Ok((i, proof_of(i), chunk_of(len, i, "x")?)))
                .collect::<Result<Vec<_>, String>>()?;
            db.put_chunks(&root, len, &chunks)
                .await
                .ctx("store a file")?;
        }
        // Two whole chunks a file, each a head and a tail.
        assert_eq!(raw_store(name, "chunks").await?.len(), 12);
        db.delete_file(&gone, None).await.ctx("delete a file")?;
        assert_eq!(raw_store(name, "chunks").await?.len(), 8);
        let roots: Vec<Root> = db
            .load_files()
            .await
            .ctx("list the files")?
            .into_iter()
            .map(|f| f.root)
            .collect();
        assert_eq!(roots, kept.to_vec());
        assert_eq!(
            db.get_chunk(&gone, 0).await.ctx("read a deleted chunk")?,
            None
        );
        for root in kept {
            assert!(db
                .get_chunk(&root, 1)
                .await
                .ctx("read a kept chunk")?
                .is_some());
        }
        Ok(())
    }

    #[wasm_bindgen_test]
    async fn a_paused_or_removed_file_is_remembered_so() -> Result<(), String> {
        let name = "natter-test-file-wish";
        let db = fresh(name).await?;
        let (root, len) = (Root([0x61; 32]), 2 * blob::CHUNK_LEN as u64);
        let chunk = |i| Ok::<_, String>((i, proof_of(i), chunk_of(len, i, "w")?));
        db.put_chunks(&root, len, &[chunk(0)?])
            .await
            .ctx("store a chunk")?;
        let wishes = || async {
            let files = db.load_files().await.ctx("list the files")?;
            Ok::<_, String>(
                files
                    .into_iter()
                    .map(|f| (f.root, f.held, f.wish))
                    .collect::<Vec<_>>(),
            )
        };
        assert_eq!(
            wishes().await?,
            [(root, vec![true, false], FileWish::Fetch)]
        );
        db.set_file_wish(&root, len, FileWish::Paused)
            .await
            .ctx("pause")?;
        // Storing more chunks does not undo the pause.
        db.put_chunks(&root, len, &[chunk(1)?])
            .await
            .ctx("store another chunk")?;
        assert_eq!(
            wishes().await?,
            [(root, vec![true, true], FileWish::Paused)]
        );
        db.delete_file(&root, Some(len))
            .await
            .ctx("remove the file")?;
        assert_eq!(raw_store(name, "chunks").await?.len(), 0);
        assert_eq!(
            wishes().await?,
            [(root, vec![false, false], FileWish::Removed)]
        );
        // Fetched again at the user's word: its chunks are kept, and so is its download.
        db.put_chunks(&root, len, &[chunk(0)?])
            .await
            .ctx("store a chunk again")?;
        assert_eq!(
            wishes().await?,
            [(root, vec![true, false], FileWish::Fetch)]
        );
        // Deleted with its message: nothing of it is left.
        db.delete_file(&root, None).await.ctx("delete the file")?;
        assert_eq!(wishes().await?, []);
        Ok(())
    }

    #[wasm_bindgen_test]
    async fn with_the_lock_on_chunks_and_file_lengths_are_sealed_and_read_back(
    ) -> Result<(), String> {
        let name = "natter-test-lock-chunks";
        let db = fresh(name).await?;
        // More files than the switch writes again per transaction.
        let files: Vec<(Root, Vec<u8>)> = (0..70u8)
            .map(|i| {
                (
                    Root([i; 32]),
                    format!("clear words of chunk {i:02}").into_bytes(),
                )
            })
            .collect();
        for (root, data) in &files {
            db.put_chunk(root, data.len() as u64, 0, &proof_of(0), data)
                .await
                .ctx("store a chunk")?;
        }
        let before = raw(name).await?;
        // Without the lock the words are there: the checks below can fail.
        assert!(files.iter().all(|(_, data)| holds(&before, data)));

        let (lock, key) = test_lock("correct horse")?;
        db.enable_lock(&lock, key).await.ctx("turn the lock on")?;
        let locked = raw(name).await?;
        for (_, data) in &files {
            assert!(!holds(&locked, data), "{}", String::from_utf8_lossy(data));
        }
        for store in ["files", "chunks"] {
            for value in raw_store(name, store).await? {
                let clear = Reflect::get(&value, &"bytes".into()).ctx("read")?;
                assert!(clear.is_undefined(), "{store}: {value:?}");
            }
        }
        // Written with the lock on: sealed too.
        let later = Root([0xee; 32]);
        db.put_chunk(&later, 21, 0, &proof_of(0), b"a later chunk's words")
            .await
            .ctx("store a chunk with the lock on")?;
        assert!(!holds(&raw(name).await?, b"a later chunk's words"));
        for (root, data) in &files {
            assert_eq!(
                db.get_chunk(root, 0).await.ctx("read a sealed chunk")?,
                Some((proof_of(0), data.clone()))
            );
        }
        db.close();

        // A new page: nothing opens without the key; with it, everything does.
        let db = Storage::open_named(name).await.ctx("reopen")?;
        assert!(matches!(
            db.get_chunk(&later, 0).await,
            Err(StorageError::Corrupt(_))
        ));
        assert!(matches!(
            db.load_files().await,
            Err(StorageError::Corrupt(_))
        ));
        let key = VaultKey::unlock("correct horse", &lock.params, &lock.verifier).ctx("unlock")?;
        db.unlock(key);
        assert_eq!(
            db.get_chunk(&later, 0).await.ctx("read after unlocking")?,
            Some((proof_of(0), b"a later chunk's words".to_vec()))
        );
        let listed = db.load_files().await.ctx("list the files")?;
        assert_eq!(listed.len(), files.len() + 1);
        assert!(listed.iter().all(|f| f.held == vec![true]));

        // Turned off, every chunk is in clear again.
        db.disable_lock().await.ctx("turn the lock off")?;
        let open = raw(name).await?;
        assert!(files.iter().all(|(_, data)| holds(&open, data)));
        assert!(holds(&open, b"a later chunk's words"));
        for store in ["files", "chunks"] {
            for value in raw_store(name, store).await? {
                let sealed = Reflect::get(&value, &"sealed".into()).ctx("read")?;
                assert!(sealed.is_undefined(), "{store}: {value:?}");
            }
        }
        Ok(())
    }

    #[wasm_bindgen_test]
    async fn a_sealed_chunk_moved_to_another_place_is_refused() -> Result<(), String> {
        let name = "natter-test-lock-chunk-swap";
        let db = fresh(name).await?;
        let (lock, key) = test_lock("pass phrase")?;
        db.enable_lock(&lock, key).await.ctx("turn the lock on")?;
        let root = Root([0x41; 32]);
        db.put_chunks(&root, 6, &[(0, proof_of(0), b"abcdef".to_vec())])
            .await
            .ctx("store a chunk")?;
        // Copy chunk 0's sealed record to the place of chunk 0 of another file.
        let raw_db = schema(name).build().await.ctx("open the raw database")?;
        let tx = raw_db
            .transaction(&["chunks"], TransactionMode::ReadWrite)
            .ctx("write the chunks")?;
        let store = tx.store("chunks").ctx("the chunks store")?;
        let value = store
            .get(Uint8Array::from(&codec::chunk_key(&root, 0)[..]).into())
            .await
            .ctx("read the chunk")?
            .ok_or("the chunk is missing")?;
        let other = Root([0x42; 32]);
        let key: JsValue = Uint8Array::from(&codec::chunk_key(&other, 0)[..]).into();
        Reflect::set(&value, &"key".into(), &key).ctx("move")?;
        store.put(&value, None).await.ctx("write the moved chunk")?;
        tx.done().await.ctx("commit the move")?;
        raw_db.close();
        assert!(matches!(
            db.get_chunk(&other, 0).await,
            Err(StorageError::Corrupt(_))
        ));
        assert!(db
            .get_chunk(&root, 0)
            .await
            .ctx("read the chunk")?
            .is_some());
        Ok(())
    }

    #[wasm_bindgen_test]
    async fn upgrading_from_schema_4_keeps_everything_adds_the_file_stores_and_moves_entries(
    ) -> Result<(), String> {
        let name = "natter-test-upgrade-5";
        rexie::Rexie::delete(name)
            .await
            .ctx("delete the test database")?;
        let db = Storage::open_at(name, 4).await.ctx("open at schema 4")?;
        assert_eq!(db.version().ctx("version")?, 4);
        let stored = sample()?;
        db.put_identity(&stored.identity)
            .await
            .ctx("store the identity")?;
        db.put_room(&stored.room).await.ctx("store the room")?;
        db.put_peer(&stored.room.id, &stored.peer)
            .await
            .ctx("store the verified peer")?;
        db.close();
        // The entries as schema 4 stored them, the second one sealed.
        let (_, key) = test_lock("schema 4")?;
        let raw_db = rexie::Rexie::builder(name).build().await.ctx("open raw")?;
        let stores = raw_db.store_names();
        assert!(
            !stores
                .iter()
                .any(|s| s == "chunks" || s == "files" || s == "log"),
            "{stores:?}"
        );
        let tx = raw_db
            .transaction(&["entries"], TransactionMode::ReadWrite)
            .ctx("write raw")?;
        let old_entries = tx.store("entries").ctx("the entries store")?;
        for (i, record) in stored.entries.iter().enumerate() {
            let sealed = (i == 1).then_some(&key);
            let value = schema4_entry(stored.room.id, record, sealed)?;
            old_entries
                .put(&value, None)
                .await
                .ctx("put an old entry")?;
        }
        tx.done().await.ctx("commit")?;
        raw_db.close();

        // Opened locked: every entry is moved to `log`, the sealed one as it was.
        let db = Storage::open_named(name)
            .await
            .ctx("open at the current schema")?;
        assert_eq!(db.version().ctx("version")?, SCHEMA_VERSION);
        assert_eq!(raw_store(name, "entries").await?.len(), 0);
        let log = raw_store(name, "log").await?;
        assert_eq!(
            log.iter()
                .map(|v| v.is_instance_of::<Uint8Array>())
                .collect::<Vec<_>>(),
            [true, false, true]
        );
        assert_eq!(db.count_entries(&stored.room.id).await.ctx("count")?, 3);
        db.unlock(key);
        assert_reads_back(&db, &stored).await?;
        assert_eq!(db.load_files().await.ctx("list the files")?, vec![]);
        let root = Root([0x51; 32]);
        db.put_chunk(&root, 3, 0, &proof_of(0), b"new")
            .await
            .ctx("store a chunk")?;
        assert_eq!(
            db.get_chunk(&root, 0).await.ctx("read the chunk")?,
            Some((proof_of(0), b"new".to_vec()))
        );
        Ok(())
    }

    #[wasm_bindgen_test]
    fn storage_errors_read_as_words_for_the_user() {
        let text = StorageError::Failed("QuotaExceededError".into()).to_string();
        assert!(text.starts_with("Saving or loading data"), "{text}");
    }
}
