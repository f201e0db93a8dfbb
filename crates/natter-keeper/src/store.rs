//! The keeper's durable store: its identity, its rooms, their entries and equivocation
//! evidence, and the chunks of the files its rooms name, in one redb database.
//!
//! # Layout
//!
//! | table | key | value |
//! |---|---|---|
//! | `meta` | `"identity"` | the Ed25519 secret (32 bytes) |
//! | `rooms` | room id (32) | `secret (32) flags (1) [password key (32)] name (UTF-8)`; flags bit 0: a password key follows |
//! | `entries` | room id (32) author (32) seq (u64 BE) | the entry's canonical bytes |
//! | `evidence` | room id (32) author (32) | `len (u32 BE) first second`: two conflicting entries |
//! | `retention` | room id (32) | the room's [`Retention`] (9 bytes); no row: all |
//! | `floors` | room id (32) author (32) | `seq (u64 BE) id (32)`: the last entry retention dropped |
//! | `files` | root (32) | the file's length (u64 BE) |
//! | `chunks` | root (32) index (u64 BE) | `proof length (u16 BE) proof chunk`: a chunk as received, with its proof |
//!
//! A file is stored by its root, once, whichever rooms name it; which rooms do is read from
//! their entries, not stored twice. Which of its chunks are held is read from the `chunks`
//! keys, so a chunk counts as held exactly when its row is committed.
//!
//! Every write is one transaction committed with redb's default (immediate) durability:
//! when a call returns, what it wrote survives a crash or a `kill -9`. Entries are checked
//! again when loaded ([`natter_core::sync::RoomSync::load`]), so a damaged row costs that
//! row, never the keeper.

use std::path::Path;

use natter_core::blob::{chunk_count, Proof, Root};
use natter_core::identity::Identity;
use natter_core::identity::PublicKey;
use natter_core::log::{EntryId, Record};
use natter_core::retention::Retention;
use natter_core::room::{PasswordKey, Room, RoomId, RoomSecret};
use redb::{Database, ReadableTable, TableDefinition};

const META: TableDefinition<'_, &str, &[u8]> = TableDefinition::new("meta");
const ROOMS: TableDefinition<'_, &[u8], &[u8]> = TableDefinition::new("rooms");
const ENTRIES: TableDefinition<'_, &[u8], &[u8]> = TableDefinition::new("entries");
const EVIDENCE: TableDefinition<'_, &[u8], &[u8]> = TableDefinition::new("evidence");
const FILES: TableDefinition<'_, &[u8], u64> = TableDefinition::new("files");
const CHUNKS: TableDefinition<'_, &[u8], &[u8]> = TableDefinition::new("chunks");
const RETENTION: TableDefinition<'_, &[u8], &[u8]> = TableDefinition::new("retention");
const FLOORS: TableDefinition<'_, &[u8], &[u8]> = TableDefinition::new("floors");

/// A store failure, in words for the log.
#[derive(Debug, thiserror::Error)]
#[error("the keeper's store: {0}")]
pub struct StoreError(String);

fn err(e: impl std::fmt::Display) -> StoreError {
    StoreError(e.to_string())
}

/// A room as stored, with what was kept of it.
#[derive(Debug)]
pub struct StoredRoom {
    /// The room.
    pub room: Room,
    /// Its entries, in key order (per author, by seq).
    pub history: Vec<Record>,
    /// Its equivocation evidence.
    pub evidence: Vec<(Record, Record)>,
    /// Bytes of its entries.
    pub bytes: u64,
    /// How much of its history it holds.
    pub retention: Retention,
    /// Per author, the last entry its retention dropped.
    pub floors: Vec<(PublicKey, u64, EntryId)>,
}

/// A file as stored: its length and which chunks are held.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredFile {
    /// Its root.
    pub root: Root,
    /// Its length in bytes.
    pub len: u64,
    /// One flag per chunk, in order.
    pub held: Vec<bool>,
}

/// The database (see the module doc).
#[derive(Debug)]
pub struct Store {
    db: Database,
}

fn entry_key(room: &RoomId, record: &Record) -> Vec<u8> {
    let mut k = Vec::with_capacity(72);
    k.extend_from_slice(room.as_bytes());
    k.extend_from_slice(record.entry.author.as_bytes());
    k.extend_from_slice(&record.entry.seq.to_be_bytes());
    k
}

/// Keys from `room`'s first to past its last.
fn room_range(room: &RoomId) -> (Vec<u8>, Vec<u8>) {
    let start = room.as_bytes().to_vec();
    let mut end = start.clone();
    end.push(0xff);
    end.resize(32 + 32 + 8 + 1, 0xff);
    (start, end)
}

fn chunk_key(root: &Root, index: u64) -> [u8; 40] {
    let mut k = [0u8; 40];
    k[..32].copy_from_slice(&root.0);
    k[32..].copy_from_slice(&index.to_be_bytes());
    k
}

/// Keys of every chunk of `root`.
fn chunk_range(root: &Root) -> ([u8; 40], [u8; 40]) {
    (chunk_key(root, 0), chunk_key(root, u64::MAX))
}

fn encode_room(room: &Room) -> Vec<u8> {
    let mut out = room.secret().as_bytes().to_vec();
    match room.password_key() {
        Some(k) => {
            out.push(1);
            out.extend_from_slice(k.as_bytes());
        }
        None => out.push(0),
    }
    out.extend_from_slice(room.name().unwrap_or("").as_bytes());
    out
}

fn decode_room(bytes: &[u8]) -> Option<Room> {
    let secret: [u8; 32] = bytes.get(..32)?.try_into().ok()?;
    let (key, name) = match bytes.get(32)? {
        0 => (None, bytes.get(33..)?),
        1 => {
            let k: [u8; 32] = bytes.get(33..65)?.try_into().ok()?;
            (Some(PasswordKey::from_bytes(k)), bytes.get(65..)?)
        }
        _ => return None,
    };
    let name = std::str::from_utf8(name).ok()?;
    let name = (!name.is_empty()).then_some(name);
    Room::from_parts(RoomSecret::from_bytes(secret), name, key).ok()
}

impl Store {
    /// Opens (or creates) the database at `path`.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let db = Database::create(path).map_err(err)?;
        let tx = db.begin_write().map_err(err)?;
        for t in [ROOMS, ENTRIES, EVIDENCE, CHUNKS, RETENTION, FLOORS] {
            tx.open_table(t).map_err(err)?;
        }
        tx.open_table(META).map_err(err)?;
        tx.open_table(FILES).map_err(err)?;
        tx.commit().map_err(err)?;
        Ok(Store { db })
    }

    /// The keeper's identity, made and stored on first use.
    pub fn identity(&self) -> Result<Identity, StoreError> {
        let read = self.db.begin_read().map_err(err)?;
        let meta = read.open_table(META).map_err(err)?;
        if let Some(v) = meta.get("identity").map_err(err)? {
            let secret: [u8; 32] = v
                .value()
                .try_into()
                .map_err(|_| StoreError("the stored identity is damaged".into()))?;
            return Ok(Identity::from_secret_bytes(&secret));
        }
        drop(meta);
        drop(read);
        let identity = Identity::generate(&mut rand_core::OsRng);
        let tx = self.db.begin_write().map_err(err)?;
        {
            let mut meta = tx.open_table(META).map_err(err)?;
            meta.insert("identity", identity.secret_bytes().as_slice())
                .map_err(err)?;
        }
        tx.commit().map_err(err)?;
        Ok(identity)
    }

    /// Stores a room (its keys and name).
    pub fn save_room(&self, room: &Room) -> Result<(), StoreError> {
        let tx = self.db.begin_write().map_err(err)?;
        {
            let mut rooms = tx.open_table(ROOMS).map_err(err)?;
            rooms
                .insert(
                    room.id().as_bytes().as_slice(),
                    encode_room(room).as_slice(),
                )
                .map_err(err)?;
        }
        tx.commit().map_err(err)
    }

    /// Stores entries of a room, in one transaction.
    pub fn store(&self, room: &RoomId, records: &[Record]) -> Result<(), StoreError> {
        let tx = self.db.begin_write().map_err(err)?;
        {
            let mut entries = tx.open_table(ENTRIES).map_err(err)?;
            for r in records {
                entries
                    .insert(entry_key(room, r).as_slice(), r.bytes.as_slice())
                    .map_err(err)?;
            }
        }
        tx.commit().map_err(err)
    }

    /// Stores how much of a room's history to hold.
    pub fn set_retention(&self, room: &RoomId, retention: Retention) -> Result<(), StoreError> {
        let tx = self.db.begin_write().map_err(err)?;
        {
            let mut t = tx.open_table(RETENTION).map_err(err)?;
            let key = room.as_bytes().as_slice();
            if retention == Retention::All {
                t.remove(key).map_err(err)?;
            } else {
                t.insert(key, retention.encode().as_slice()).map_err(err)?;
            }
        }
        tx.commit().map_err(err)
    }

    /// Deletes `author`'s entries of `room` up to and including seq `through` and records
    /// `(through, id)` as the author's floor, in one transaction. Returns the bytes of the
    /// entries deleted.
    pub fn prune(
        &self,
        room: &RoomId,
        author: &PublicKey,
        through: u64,
        id: &EntryId,
    ) -> Result<u64, StoreError> {
        let mut start = room.as_bytes().to_vec();
        start.extend_from_slice(author.as_bytes());
        let floor_key = start.clone();
        let mut end = start.clone();
        start.extend_from_slice(&0u64.to_be_bytes());
        end.extend_from_slice(&through.to_be_bytes());
        let mut floor = through.to_be_bytes().to_vec();
        floor.extend_from_slice(&id.0);
        let tx = self.db.begin_write().map_err(err)?;
        let mut freed = 0u64;
        {
            let mut entries = tx.open_table(ENTRIES).map_err(err)?;
            entries
                .retain_in(start.as_slice()..=end.as_slice(), |_, v| {
                    freed += v.len() as u64;
                    false
                })
                .map_err(err)?;
            let mut floors = tx.open_table(FLOORS).map_err(err)?;
            floors
                .insert(floor_key.as_slice(), floor.as_slice())
                .map_err(err)?;
        }
        tx.commit().map_err(err)?;
        Ok(freed)
    }

    /// Stores proof that an author equivocated.
    pub fn save_evidence(
        &self,
        room: &RoomId,
        first: &Record,
        second: &Record,
    ) -> Result<(), StoreError> {
        let mut key = room.as_bytes().to_vec();
        key.extend_from_slice(first.entry.author.as_bytes());
        let len = u32::try_from(first.bytes.len()).map_err(err)?;
        let mut value = len.to_be_bytes().to_vec();
        value.extend_from_slice(&first.bytes);
        value.extend_from_slice(&second.bytes);
        let tx = self.db.begin_write().map_err(err)?;
        {
            let mut t = tx.open_table(EVIDENCE).map_err(err)?;
            t.insert(key.as_slice(), value.as_slice()).map_err(err)?;
        }
        tx.commit().map_err(err)
    }

    /// Deletes a room and everything stored of it.
    pub fn delete_room(&self, room: &RoomId) -> Result<(), StoreError> {
        let (start, end) = room_range(room);
        let tx = self.db.begin_write().map_err(err)?;
        {
            let mut rooms = tx.open_table(ROOMS).map_err(err)?;
            rooms.remove(room.as_bytes().as_slice()).map_err(err)?;
            let mut retention = tx.open_table(RETENTION).map_err(err)?;
            retention.remove(room.as_bytes().as_slice()).map_err(err)?;
            for table in [ENTRIES, EVIDENCE, FLOORS] {
                let mut t = tx.open_table(table).map_err(err)?;
                t.retain_in(start.as_slice()..end.as_slice(), |_, _| false)
                    .map_err(err)?;
            }
        }
        tx.commit().map_err(err)
    }

    /// Stores chunk `index` of the file `root` of `len` bytes, with its proof, in one
    /// transaction: when this returns, the chunk is held.
    pub fn put_chunk(
        &self,
        root: &Root,
        len: u64,
        index: u64,
        proof: &Proof,
        bytes: &[u8],
    ) -> Result<(), StoreError> {
        let proof = proof.to_bytes();
        let proof_len = u16::try_from(proof.len()).map_err(err)?;
        let mut value = Vec::with_capacity(2 + proof.len() + bytes.len());
        value.extend_from_slice(&proof_len.to_be_bytes());
        value.extend_from_slice(&proof);
        value.extend_from_slice(bytes);
        let tx = self.db.begin_write().map_err(err)?;
        {
            let mut files = tx.open_table(FILES).map_err(err)?;
            files.insert(root.0.as_slice(), len).map_err(err)?;
            let mut chunks = tx.open_table(CHUNKS).map_err(err)?;
            chunks
                .insert(chunk_key(root, index).as_slice(), value.as_slice())
                .map_err(err)?;
        }
        tx.commit().map_err(err)
    }

    /// Chunk `index` of `root` with its proof, if stored and readable.
    pub fn chunk(&self, root: &Root, index: u64) -> Result<Option<(Proof, Vec<u8>)>, StoreError> {
        let read = self.db.begin_read().map_err(err)?;
        let chunks = read.open_table(CHUNKS).map_err(err)?;
        let Some(v) = chunks.get(chunk_key(root, index).as_slice()).map_err(err)? else {
            return Ok(None);
        };
        let v = v.value();
        let decoded = v
            .get(..2)
            .map(|n| usize::from(u16::from_be_bytes([n[0], n[1]])))
            .and_then(|n| Some((v.get(2..2 + n)?, v.get(2 + n..)?)))
            .and_then(|(proof, bytes)| Some((Proof::from_bytes(proof).ok()?, bytes.to_vec())));
        // A damaged row reads as missing: the node answers `Lack` and never serves it.
        Ok(decoded)
    }

    /// Every stored file, with the chunks held of it.
    pub fn files(&self) -> Result<Vec<StoredFile>, StoreError> {
        let read = self.db.begin_read().map_err(err)?;
        let files = read.open_table(FILES).map_err(err)?;
        let chunks = read.open_table(CHUNKS).map_err(err)?;
        let mut out = Vec::new();
        for row in files.iter().map_err(err)? {
            let (k, len) = row.map_err(err)?;
            let Ok(root) = <[u8; 32]>::try_from(k.value()).map(Root) else {
                continue;
            };
            let len = len.value();
            if len > natter_core::blob::MAX_FILE_LEN {
                continue;
            }
            let mut held = vec![false; chunk_count(len) as usize];
            let (start, end) = chunk_range(&root);
            for row in chunks
                .range(start.as_slice()..=end.as_slice())
                .map_err(err)?
            {
                let (k, _) = row.map_err(err)?;
                let index = k
                    .value()
                    .get(32..)
                    .and_then(|i| <[u8; 8]>::try_from(i).ok())
                    .map(u64::from_be_bytes);
                if let Some(flag) = index
                    .and_then(|i| usize::try_from(i).ok())
                    .and_then(|i| held.get_mut(i))
                {
                    *flag = true;
                }
            }
            out.push(StoredFile { root, len, held });
        }
        Ok(out)
    }

    /// Deletes files and all their chunks, in one transaction.
    pub fn delete_files(&self, roots: &[Root]) -> Result<(), StoreError> {
        let tx = self.db.begin_write().map_err(err)?;
        {
            let mut files = tx.open_table(FILES).map_err(err)?;
            let mut chunks = tx.open_table(CHUNKS).map_err(err)?;
            for root in roots {
                files.remove(root.0.as_slice()).map_err(err)?;
                let (start, end) = chunk_range(root);
                chunks
                    .retain_in(start.as_slice()..=end.as_slice(), |_, _| false)
                    .map_err(err)?;
            }
        }
        tx.commit().map_err(err)
    }

    /// Reads every entry row and copies its bytes, decoding nothing: the floor a cold start
    /// is measured against. Returns the bytes read.
    pub fn raw_entry_bytes(&self) -> Result<u64, StoreError> {
        let read = self.db.begin_read().map_err(err)?;
        let entries = read.open_table(ENTRIES).map_err(err)?;
        let mut total = 0u64;
        for row in entries.iter().map_err(err)? {
            let (_, v) = row.map_err(err)?;
            total += v.value().to_vec().len() as u64;
        }
        Ok(total)
    }

    /// Every stored room with its history. A row that does not decode is skipped.
    pub fn load(&self) -> Result<Vec<StoredRoom>, StoreError> {
        let read = self.db.begin_read().map_err(err)?;
        let rooms = read.open_table(ROOMS).map_err(err)?;
        let entries = read.open_table(ENTRIES).map_err(err)?;
        let evidence = read.open_table(EVIDENCE).map_err(err)?;
        let retention = read.open_table(RETENTION).map_err(err)?;
        let floor_rows = read.open_table(FLOORS).map_err(err)?;
        let mut out = Vec::new();
        for row in rooms.iter().map_err(err)? {
            let (_, v) = row.map_err(err)?;
            let Some(room) = decode_room(v.value()) else {
                tracing::warn!("a stored room does not decode; skipped");
                continue;
            };
            let (start, end) = room_range(&room.id());
            let mut history = Vec::new();
            let mut bytes = 0u64;
            for row in entries
                .range(start.as_slice()..end.as_slice())
                .map_err(err)?
            {
                let (_, v) = row.map_err(err)?;
                if let Ok(r) = Record::from_bytes(v.value()) {
                    bytes += r.bytes.len() as u64;
                    history.push(r);
                }
            }
            let mut proofs = Vec::new();
            for row in evidence
                .range(start.as_slice()..end.as_slice())
                .map_err(err)?
            {
                let (_, v) = row.map_err(err)?;
                if let Some(pair) = decode_evidence(v.value()) {
                    proofs.push(pair);
                }
            }
            let kept = match retention
                .get(room.id().as_bytes().as_slice())
                .map_err(err)?
            {
                Some(v) => Retention::decode(v.value()).unwrap_or_else(|| {
                    tracing::warn!("a stored retention does not decode; keeping everything");
                    Retention::All
                }),
                None => Retention::All,
            };
            let mut floors = Vec::new();
            for row in floor_rows
                .range(start.as_slice()..end.as_slice())
                .map_err(err)?
            {
                let (k, v) = row.map_err(err)?;
                if let Some(f) = decode_floor(k.value(), v.value()) {
                    floors.push(f);
                }
            }
            out.push(StoredRoom {
                room,
                history,
                evidence: proofs,
                bytes,
                retention: kept,
                floors,
            });
        }
        Ok(out)
    }
}

fn decode_floor(k: &[u8], v: &[u8]) -> Option<(PublicKey, u64, EntryId)> {
    let author: [u8; 32] = k.get(32..64)?.try_into().ok()?;
    let seq = u64::from_be_bytes(v.get(..8)?.try_into().ok()?);
    let id: [u8; 32] = v.get(8..)?.try_into().ok()?;
    Some((PublicKey(author), seq, EntryId(id)))
}

fn decode_evidence(v: &[u8]) -> Option<(Record, Record)> {
    let len = u32::from_be_bytes(v.get(..4)?.try_into().ok()?) as usize;
    let first = Record::from_bytes(v.get(4..4 + len)?).ok()?;
    let second = Record::from_bytes(v.get(4 + len..)?).ok()?;
    Some((first, second))
}

#[cfg(test)]
mod tests {
    use super::*;

    type TestResult<T> = Result<T, Box<dyn std::error::Error>>;
    use natter_core::blob::{leaf_hash, Outboard};
    use natter_core::log::{Body, Draft, Entry, EntryId, LogError};

    fn record(room: &Room, who: &Identity, seq: u64, prev: EntryId) -> Result<Record, LogError> {
        let draft = Draft {
            room_id: room.id(),
            seq,
            prev_hash: prev,
            lamport: seq,
            wall_ms: 1_000 + seq,
            body: Body::Text {
                text: format!("entry {seq}"),
                reply_to: None,
            },
        };
        Ok(Record::from_entry(Entry::sign(who, draft)?))
    }

    #[test]
    fn pruned_entries_floors_and_retention_survive_reopening_and_go_with_the_room() -> TestResult<()>
    {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("keeper.redb");
        let mut rng = rand_core::OsRng;
        let (alice, bob) = (Identity::generate(&mut rng), Identity::generate(&mut rng));
        let room = Room::create(&mut rng, None, None)?;
        let mut chain: Vec<Record> = Vec::new();
        for seq in 1..=5 {
            let prev = chain.last().map_or(EntryId::ZERO, |r| r.id);
            chain.push(record(&room, &alice, seq, prev)?);
        }
        let bobs = record(&room, &bob, 1, EntryId::ZERO)?;
        {
            let store = Store::open(&path)?;
            store.save_room(&room)?;
            store.store(&room.id(), &chain)?;
            store.store(&room.id(), std::slice::from_ref(&bobs))?;
            store.set_retention(&room.id(), Retention::Entries(3))?;
            let freed = store.prune(&room.id(), &alice.public(), 3, &chain[2].id)?;
            let want: u64 = chain[..3].iter().map(|r| r.bytes.len() as u64).sum();
            assert_eq!(freed, want);
        }
        let store = Store::open(&path)?;
        let loaded = store.load()?;
        let kept = loaded.first().ok_or("the room was not kept")?;
        let seqs: Vec<(bool, u64)> = kept
            .history
            .iter()
            .map(|r| (r.entry.author == alice.public(), r.entry.seq))
            .collect();
        assert_eq!(seqs.len(), 3);
        assert!(
            seqs.contains(&(true, 4)) && seqs.contains(&(true, 5)) && seqs.contains(&(false, 1))
        );
        assert_eq!(kept.retention, Retention::Entries(3));
        assert_eq!(kept.floors, vec![(alice.public(), 3, chain[2].id)]);
        store.delete_room(&room.id())?;
        store.save_room(&room)?;
        let again = store.load()?;
        let back = again.first().ok_or("saved again")?;
        assert!(back.history.is_empty() && back.floors.is_empty());
        assert_eq!(
            back.retention,
            Retention::All,
            "the setting went with the room"
        );
        Ok(())
    }

    #[test]
    fn rooms_entries_and_deletion_survive_reopening() -> TestResult<()> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("keeper.redb");
        let mut rng = rand_core::OsRng;
        let alice = Identity::generate(&mut rng);
        let room = Room::create(&mut rng, Some("Kept"), None)?;
        let other = Room::create(&mut rng, None, None)?;
        let me = {
            let store = Store::open(&path)?;
            let me = store.identity()?.public();
            store.save_room(&room)?;
            store.save_room(&other)?;
            let first = record(&room, &alice, 1, EntryId::ZERO)?;
            let second = record(&room, &alice, 2, first.id)?;
            store.store(&room.id(), &[first, second])?;
            let theirs = record(&other, &alice, 1, EntryId::ZERO)?;
            store.store(&other.id(), &[theirs])?;
            me
        };
        let store = Store::open(&path)?;
        assert_eq!(store.identity()?.public(), me, "the identity is kept");
        let loaded = store.load()?;
        let kept = loaded
            .iter()
            .find(|r| r.room.id() == room.id())
            .ok_or("the room was not kept")?;
        assert_eq!(kept.room.name(), Some("Kept"));
        let seqs: Vec<u64> = kept.history.iter().map(|r| r.entry.seq).collect();
        assert_eq!(seqs, [1, 2]);
        store.delete_room(&room.id())?;
        let loaded = store.load()?;
        assert_eq!(loaded.len(), 1, "only the other room is left");
        assert_eq!(loaded[0].room.id(), other.id());
        assert_eq!(
            loaded[0].history.len(),
            1,
            "the other room's entries are untouched"
        );
        Ok(())
    }

    /// A file of `chunks` chunks of seeded bytes, with its tree.
    fn file(chunks: u64, seed: u8) -> TestResult<(Vec<Vec<u8>>, Outboard)> {
        let data: Vec<Vec<u8>> = (0..chunks)
            .map(|i| vec![seed ^ i as u8; natter_core::blob::CHUNK_LEN])
            .collect();
        let leaves = data.iter().map(|c| leaf_hash(c)).collect();
        let len = chunks * natter_core::blob::CHUNK_LEN as u64;
        Ok((data, Outboard::from_leaves(len, leaves)?))
    }

    #[test]
    fn chunks_survive_reopening_and_deleting_a_file_keeps_the_others() -> TestResult<()> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("keeper.redb");
        let (kept, kept_tree) = file(3, 1)?;
        let (gone, gone_tree) = file(2, 2)?;
        let len = |t: &Outboard| t.len();
        {
            let store = Store::open(&path)?;
            for i in [0, 2] {
                let proof = kept_tree.proof(i)?;
                store.put_chunk(
                    &kept_tree.root(),
                    len(&kept_tree),
                    i,
                    &proof,
                    &kept[i as usize],
                )?;
            }
            for i in 0..2 {
                let proof = gone_tree.proof(i)?;
                store.put_chunk(
                    &gone_tree.root(),
                    len(&gone_tree),
                    i,
                    &proof,
                    &gone[i as usize],
                )?;
            }
        }
        let store = Store::open(&path)?;
        let mut files = store.files()?;
        files.sort_by_key(|f| f.len);
        assert_eq!(
            files,
            [
                StoredFile {
                    root: gone_tree.root(),
                    len: len(&gone_tree),
                    held: vec![true, true],
                },
                StoredFile {
                    root: kept_tree.root(),
                    len: len(&kept_tree),
                    held: vec![true, false, true],
                },
            ]
        );
        let (proof, bytes) = store
            .chunk(&kept_tree.root(), 2)?
            .ok_or("the last chunk is not read back")?;
        natter_core::blob::verify(&kept_tree.root(), len(&kept_tree), 2, &bytes, &proof)?;
        assert_eq!(bytes, kept[2]);
        assert!(store.chunk(&kept_tree.root(), 1)?.is_none());

        store.delete_files(&[gone_tree.root()])?;
        drop(store);
        let store = Store::open(&path)?;
        let files = store.files()?;
        assert_eq!(files.len(), 1, "only the other file is left");
        assert_eq!(files[0].root, kept_tree.root());
        assert!(store.chunk(&gone_tree.root(), 0)?.is_none());
        assert!(store.chunk(&kept_tree.root(), 0)?.is_some());
        Ok(())
    }
}
