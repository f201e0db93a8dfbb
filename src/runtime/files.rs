//! Files in the browser: the node's file outputs executed against IndexedDB (in memory for
//! ephemeral rooms), files read, hashed and stored before they are named, thumbnails made,
//! and the blob URLs the views show.
//!
//! Memory stays bounded whatever a file's size: sending reads one chunk at a time to hash
//! it and then [`BATCH`] chunks at a time to store them. Receiving gathers chunks into one
//! transaction while earlier ones are being written (at most [`WRITES_IN_FLIGHT`], each of at
//! most [`BATCH`] chunks): a transaction costs far more than a chunk, so the batches grow
//! exactly as much as IndexedDB is slower than the peers. With a full batch and every write
//! under way, the node takes no further frame; and it asks only a few chunks per peer at
//! once. Only an image shown inline, or a file being saved, is put together whole, as a
//! `Blob` of its chunks (the browser holds it, not wasm memory).

use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};

use futures::channel::mpsc;
use futures::StreamExt;
use js_sys::{Array, Uint8Array};
use natter_core::blob::{chunk_count, leaf_hash, Outboard, Proof, Root, CHUNK_LEN};
use natter_core::fetch::Availability;
use natter_core::log::{Body, FileRef, MAX_THUMB_BYTES};
use natter_core::node::{ConnId, Input, Output};
use natter_core::room::RoomId;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use super::Runtime;
use crate::files::{
    fetch_on_sight, held_bytes, inline_image_type, no_room_for, refuse_to_send, Rate, OPAQUE_TYPE,
    THUMB_TYPE,
};
use crate::leafhash;
use crate::rtc::describe;
use crate::state::{HeldFile, RoomState};
use crate::storage::{FileWish, Storage, MAX_CHUNKS_READ};

/// Chunks stored per transaction, sent or received (1 MiB).
const BATCH: u64 = 16;
/// Transactions of received chunks being written to IndexedDB at once.
const WRITES_IN_FLIGHT: usize = 2;
/// The longest side of a thumbnail, in pixels (tried smaller if the JPEG is too big).
const THUMB_SIDES: [f64; 3] = [320.0, 200.0, 120.0];

/// Something a file task hands back to the loop.
pub(super) enum FileEvent {
    /// An input for the node.
    Input(Input),
    /// A chunk of a file of ours in an ephemeral room (kept in memory).
    Keep {
        root: Root,
        index: u64,
        proof: Proof,
        bytes: Vec<u8>,
    },
    /// A file put together for showing.
    Url { root: Root, url: String },
    /// Words for the user.
    Failed(String),
    /// A download to pause as the user's Pause does (its chunks could not be stored).
    Pause(Root),
    /// Messages naming these files were deleted: free what no message shows any more.
    Deleted(Vec<Root>),
    /// A transaction of received chunks ended: the next batch may go.
    Written,
}

/// Received chunks of one file not yet handed to IndexedDB.
struct Batch {
    root: Root,
    len: u64,
    /// `(index, proof, bytes)`.
    chunks: Vec<(u64, Vec<u8>, Vec<u8>)>,
}

/// Transactions of received chunks under way: the count, shared with the tasks doing them, and the signal
/// each sends when it ends.
#[derive(Clone)]
pub(super) struct Writes {
    count: std::rc::Rc<std::cell::Cell<usize>>,
    done_tx: mpsc::UnboundedSender<()>,
}

impl Writes {
    /// One more write is under way.
    fn begin(&self) {
        self.count.set(self.count.get() + 1);
    }

    /// One write ended.
    fn done(&self) {
        self.count.set(self.count.get().saturating_sub(1));
        let _ = self.done_tx.unbounded_send(());
    }
}

/// Consecutive chunks of one file read together ([`Runtime::read_chunks`]).
struct Run {
    root: Root,
    first: u64,
    count: u64,
    /// Who asked for which chunk, in chunk order.
    askers: Vec<(ConnId, u64)>,
}

impl Run {
    /// Whether chunk `index` of `root` is in this run or extends it.
    fn takes(&self, root: Root, index: u64) -> bool {
        let end = self.first + self.count;
        root == self.root
            && index >= self.first
            && (index < end || (index == end && self.count < MAX_CHUNKS_READ))
    }

    fn add(&mut self, conn: ConnId, index: u64) {
        if index == self.first + self.count {
            self.count += 1;
        }
        self.askers.push((conn, index));
    }
}

/// What the runtime keeps of files.
pub(super) struct Files {
    pub(super) tx: mpsc::UnboundedSender<FileEvent>,
    pub(super) rx: mpsc::UnboundedReceiver<FileEvent>,
    /// Chunks of ephemeral rooms' files.
    memory: HashMap<(Root, u64), (Proof, Vec<u8>)>,
    thumbs: HashMap<Root, String>,
    urls: HashMap<Root, String>,
    /// Images being put together.
    loading: HashSet<Root>,
    /// Files fetched on sight once already, or paused or removed by the user: not fetched
    /// on sight (again).
    seen: HashSet<Root>,
    /// Downloads under way when the app last ran, to go on with once the rooms naming them
    /// are loaded.
    resume: Vec<Root>,
    /// Downloads' recent speed.
    rates: HashMap<Root, Rate>,
    /// Chunks the node asked to read, read together once its outputs are done.
    reads: Vec<(ConnId, Root, u64)>,
    /// Received chunks waiting for a transaction, and the transactions under way.
    batch: Option<Batch>,
    writes: Writes,
    written: mpsc::UnboundedReceiver<()>,
    /// Names and sizes of the files messages shown so far named (for "Files on this
    /// device").
    names: HashMap<Root, (String, u64)>,
}

impl Files {
    pub(super) fn new() -> Files {
        let (tx, rx) = mpsc::unbounded();
        let (done_tx, written) = mpsc::unbounded();
        Files {
            tx,
            rx,
            memory: HashMap::new(),
            thumbs: HashMap::new(),
            urls: HashMap::new(),
            loading: HashSet::new(),
            seen: HashSet::new(),
            resume: Vec::new(),
            rates: HashMap::new(),
            names: HashMap::new(),
            reads: Vec::new(),
            batch: None,
            writes: Writes {
                count: Default::default(),
                done_tx,
            },
            written,
        }
    }
}

impl Files {
    /// Waits until fewer than `max` chunk writes are under way, then counts one more.
    async fn wait_for_writes_below(&mut self, max: usize) {
        // Signals of writes that ended while nobody waited.
        while let Ok(()) = self.written.try_recv() {}
        while self.writes.count.get() >= max {
            if self.written.next().await.is_none() {
                break;
            }
        }
        self.writes.begin();
    }
}

impl Runtime {
    /// Reads the chunks the node asked for since the last call ([`Output::ReadChunk`]):
    /// each run of consecutive chunks of one file, up to [`MAX_CHUNKS_READ`], in one
    /// request, their leaf hashes all started at once, and each asker answered
    /// ([`Input::ChunkRead`]). Serving a file chunk by chunk cost a transaction a chunk.
    pub(super) fn read_chunks(&mut self) {
        let mut reads = std::mem::take(&mut self.files.reads);
        let (Some(storage), tx) = (self.storage.clone(), self.files.tx.clone()) else {
            return;
        };
        reads.sort_by_key(|&(conn, root, index)| (root, index, conn.0));
        let mut runs: Vec<Run> = Vec::new();
        for (conn, root, index) in reads {
            match runs.last_mut() {
                Some(run) if run.takes(root, index) => run.add(conn, index),
                _ => runs.push(Run {
                    root,
                    first: index,
                    count: 1,
                    askers: vec![(conn, index)],
                }),
            }
        }
        for run in runs {
            let (storage, tx) = (storage.clone(), tx.clone());
            wasm_bindgen_futures::spawn_local(async move {
                let mut chunks: HashMap<u64, (Proof, Vec<u8>)> = storage
                    .get_chunks(&run.root, run.first, run.count)
                    .await
                    .unwrap_or_default()
                    .into_iter()
                    .filter_map(|(i, c)| {
                        let (proof, bytes) = c.ok()?;
                        Some((i, (Proof::from_bytes(&proof).ok()?, bytes)))
                    })
                    .collect();
                let pending: HashMap<u64, leafhash::PendingLeaf> = chunks
                    .iter()
                    .filter_map(|(i, (_, bytes))| Some((*i, leafhash::start_of(bytes)?)))
                    .collect();
                let mut leaves = HashMap::new();
                for (i, p) in pending {
                    if let Some(leaf) = p.finish().await {
                        leaves.insert(i, leaf);
                    }
                }
                for (n, &(conn, index)) in run.askers.iter().enumerate() {
                    let last = run.askers[n + 1..].iter().all(|&(_, i)| i != index);
                    let chunk = match last {
                        true => chunks.remove(&index),
                        false => chunks.get(&index).cloned(),
                    };
                    let _ = tx.unbounded_send(FileEvent::Input(Input::ChunkRead {
                        conn,
                        root: run.root,
                        index,
                        chunk,
                        leaf: leaves.get(&index).copied(),
                    }));
                }
            });
        }
    }

    /// Executes one of the node's file outputs.
    pub(super) async fn execute_file(&mut self, out: Output) {
        match out {
            Output::SendFileFrame { conn, bytes } => {
                if let Some(pc) = self.pcs.get(&conn) {
                    pc.send_file(bytes);
                }
            }
            Output::ReadChunk { conn, root, index } => {
                if let Some((proof, bytes)) = self.files.memory.get(&(root, index)) {
                    let chunk = Some((proof.clone(), bytes.clone()));
                    let _ = self
                        .files
                        .tx
                        .unbounded_send(FileEvent::Input(Input::ChunkRead {
                            conn,
                            root,
                            index,
                            chunk,
                            leaf: None,
                        }));
                    return;
                }
                if self.storage.is_some() {
                    self.write_batch_of(&root);
                    self.files.reads.push((conn, root, index));
                }
            }
            Output::StoreChunk {
                room,
                root,
                len,
                index,
                proof,
                bytes,
            } => {
                let ephemeral = self.node.room(&room).is_none_or(|r| r.ephemeral());
                if ephemeral {
                    self.files.memory.insert((root, index), (proof, bytes));
                    return;
                }
                if self.files.batch.as_ref().is_some_and(|b| b.root != root) {
                    self.write_batch().await;
                }
                let batch = self.files.batch.get_or_insert_with(|| Batch {
                    root,
                    len,
                    chunks: Vec::with_capacity(BATCH as usize),
                });
                batch.chunks.push((index, proof.to_bytes(), bytes));
                if batch.chunks.len() >= BATCH as usize
                    || self.files.writes.count.get() < WRITES_IN_FLIGHT
                {
                    self.write_batch().await;
                }
            }
            Output::FileProgress {
                room,
                root,
                have,
                total,
            } => {
                let (now, bytes) = (js_sys::Date::now(), have * CHUNK_LEN as u64);
                let rate = self.files.rates.entry(root).or_default();
                rate.record(now, bytes);
                if rate.due(now) || have == total {
                    self.dirty.insert(Some(room));
                }
            }
            _ => {}
        }
    }

    /// Something a file task handed back.
    pub(super) async fn on_file_event(&mut self, event: FileEvent) {
        match event {
            FileEvent::Input(input) => self.handle(input).await,
            FileEvent::Pause(root) => self.pause_file(root).await,
            FileEvent::Keep {
                root,
                index,
                proof,
                bytes,
            } => {
                self.files.memory.insert((root, index), (proof, bytes));
            }
            FileEvent::Url { root, url } => {
                self.files.loading.remove(&root);
                if let Some(old) = self.files.urls.insert(root, url) {
                    let _ = web_sys::Url::revoke_object_url(&old);
                }
                self.redraw_open_room();
            }
            FileEvent::Failed(words) => self.notify(words),
            FileEvent::Deleted(roots) => self.forget_unused(roots).await,
            FileEvent::Written => {
                if self.files.writes.count.get() < WRITES_IN_FLIGHT {
                    self.write_batch().await;
                }
            }
        }
    }

    /// Hands the received chunks waiting to IndexedDB in one transaction, once fewer than
    /// [`WRITES_IN_FLIGHT`] are under way.
    async fn write_batch(&mut self) {
        if self.files.batch.is_none() {
            return;
        }
        self.files.wait_for_writes_below(WRITES_IN_FLIGHT).await;
        self.spawn_batch_write();
    }

    /// Hands the waiting chunks of `root` to IndexedDB now, so that a read made after this
    /// sees them (IndexedDB runs overlapping transactions in the order they were made).
    fn write_batch_of(&mut self, root: &Root) {
        if self.files.batch.as_ref().is_some_and(|b| b.root == *root) {
            self.files.writes.begin();
            self.spawn_batch_write();
        }
    }

    /// Writes the waiting chunks, counted as under way by the caller.
    fn spawn_batch_write(&mut self) {
        let (Some(batch), Some(storage)) = (self.files.batch.take(), self.storage.clone()) else {
            self.files.writes.done();
            return;
        };
        let (writes, tx) = (self.files.writes.clone(), self.files.tx.clone());
        wasm_bindgen_futures::spawn_local(async move {
            let put = storage
                .put_chunks(&batch.root, batch.len, &batch.chunks)
                .await;
            writes.done();
            let _ = tx.unbounded_send(FileEvent::Written);
            if let Err(e) = put {
                let e = e.to_string();
                let words = if e.contains("Quota") {
                    "This device has no more space for files, so a download is paused. \
                     Remove files under “Files on this device” in a room to make room."
                        .to_owned()
                } else {
                    format!("A file could not be saved on this device: {e}")
                };
                let _ = tx.unbounded_send(FileEvent::Failed(words));
                let _ = tx.unbounded_send(FileEvent::Pause(batch.root));
            }
        });
    }

    /// The files whose messages the entries `new` of `room` delete, handed back to the loop
    /// to be freed there (this runs inside the node's outputs).
    pub(super) fn note_deleted_files(&mut self, room: RoomId, new: &[natter_core::log::EntryId]) {
        let Some(log) = self.node.room(&room).map(|r| r.sync().log()) else {
            return;
        };
        let roots: Vec<Root> = new
            .iter()
            .filter_map(|e| match log.get_by_id(e)?.entry.body {
                Body::Delete { target } => match &log.get_by_id(&target)?.entry.body {
                    Body::File(f) => Some(f.root),
                    _ => None,
                },
                _ => None,
            })
            .collect();
        if !roots.is_empty() {
            let _ = self.files.tx.unbounded_send(FileEvent::Deleted(roots));
        }
    }

    /// Deletes from this device every file of `roots` that no message shows any more: its
    /// chunks, its download, and what the page made of it.
    pub(super) async fn forget_unused(&mut self, roots: Vec<Root>) {
        for root in roots {
            if self.node.file_in_use(&root) {
                continue;
            }
            let in_memory = self.files.memory.keys().any(|(r, _)| *r == root);
            if self.node.file_progress(&root).is_none() && !in_memory {
                continue;
            }
            self.remove_file(root, false).await;
        }
    }

    /// Tells the node what is stored of each file (before the rooms are added), and notes
    /// the downloads to go on with and the files not to fetch on sight.
    pub(super) async fn load_files(&mut self) {
        let Some(storage) = self.storage.clone() else {
            return;
        };
        match storage.load_files().await {
            Ok(files) => {
                for f in files {
                    match f.wish {
                        FileWish::Removed => {
                            self.files.seen.insert(f.root);
                            continue;
                        }
                        FileWish::Paused => {
                            self.files.seen.insert(f.root);
                        }
                        FileWish::Fetch if f.held.contains(&false) => {
                            self.files.seen.insert(f.root);
                            self.files.resume.push(f.root);
                        }
                        FileWish::Fetch => {}
                    }
                    let has = Availability::Chunks(f.held);
                    self.handle(Input::Holding {
                        root: f.root,
                        len: f.len,
                        has,
                    })
                    .await;
                }
            }
            Err(e) => self.notify(format!("The files on this device could not be read: {e}")),
        }
    }

    /// Goes on with the downloads under way when the app last ran (once the rooms are
    /// loaded), each in a room that names its file.
    pub(super) async fn resume_downloads(&mut self) {
        for root in std::mem::take(&mut self.files.resume) {
            let room = self.rooms_naming(&root).next().map(|(id, _)| id);
            if let Some(room) = room {
                self.handle(Input::Fetch { room, root }).await;
            }
        }
    }

    /// Reads, hashes and stores each file, then names it in the room.
    pub(super) fn send_files(&mut self, room: RoomId, files: Vec<web_sys::File>) {
        let ephemeral = self.node.room(&room).is_none_or(|r| r.ephemeral());
        let storage = if ephemeral {
            None
        } else {
            match self.storage.clone() {
                Some(s) => Some(s),
                None => return self.notify("Files cannot be stored on this device.".into()),
            }
        };
        for file in files {
            let name = file.name();
            let size = file.size().max(0.0) as u64;
            if let Some(words) = refuse_to_send(&name, size, self.settings.max_send_bytes) {
                self.notify(words);
                continue;
            }
            let (tx, storage) = (self.files.tx.clone(), storage.clone());
            wasm_bindgen_futures::spawn_local(async move {
                if storage.is_some() {
                    if let Some(words) = no_room(&name, size).await {
                        let _ = tx.unbounded_send(FileEvent::Failed(words));
                        return;
                    }
                }
                let sent = send_one(&file, room, storage.as_deref(), &tx).await;
                if let Err(e) = sent {
                    let _ = tx.unbounded_send(FileEvent::Failed(format!(
                        "“{}” could not be sent: {e}",
                        file.name()
                    )));
                }
            });
        }
    }

    /// Fills in what is known here of the files the open room shows: thumbnails, progress
    /// and images held whole; asks for the images fetched on sight.
    pub(super) fn show_files(&mut self, state: &mut RoomState) {
        let Some(r) = self.node.room(&state.id) else {
            return;
        };
        let log = r.sync().log();
        let mut loads = Vec::new();
        for m in &mut state.messages {
            let Some(f) = m.file.as_mut() else { continue };
            if let Entry::Vacant(slot) = self.files.thumbs.entry(f.root) {
                let thumb = log.get_by_id(&m.id).and_then(|rec| match &rec.entry.body {
                    Body::File(FileRef { thumb: Some(t), .. }) => Some(t.clone()),
                    _ => None,
                });
                if let Some(url) = thumb.and_then(|t| blob_url(&[t.as_slice()], THUMB_TYPE).ok()) {
                    slot.insert(url);
                }
            }
            self.files
                .names
                .entry(f.root)
                .or_insert_with(|| (f.name.clone(), f.size));
            f.thumb_url = self.files.thumbs.get(&f.root).cloned();
            f.progress = self.node.file_progress(&f.root);
            f.fetching = self.node.fetching(&f.root);
            f.rate = f
                .fetching
                .then(|| self.files.rates.get(&f.root).and_then(Rate::per_sec))
                .flatten();
            f.url = self.files.urls.get(&f.root).cloned();
            if !f.complete()
                && !f.fetching
                && fetch_on_sight(&f.mime, f.size)
                && self.files.seen.insert(f.root)
            {
                let input = Input::Fetch {
                    room: state.id,
                    root: f.root,
                };
                let _ = self.files.tx.unbounded_send(FileEvent::Input(input));
            }
            if f.image && f.complete() && f.url.is_none() && self.files.loading.insert(f.root) {
                let kind = inline_image_type(&f.mime).unwrap_or(OPAQUE_TYPE);
                loads.push((f.root, f.size, kind));
            }
        }
        for (root, size, kind) in loads {
            self.put_together(root, size, kind, None);
        }
        state.files_here = self
            .node
            .room_files(&state.id)
            .into_iter()
            .filter_map(|root| {
                let (have, total) = self.node.file_progress(&root)?;
                let (name, size) = self.files.names.get(&root).cloned().unwrap_or_else(|| {
                    ("A file not shown yet".to_owned(), total * CHUNK_LEN as u64)
                });
                Some(HeldFile {
                    root,
                    name,
                    bytes: held_bytes(have, total, size),
                    complete: have == total,
                })
            })
            .filter(|f| f.bytes > 0)
            .collect();
    }

    /// Downloads a file the user opened, if this device has room for what is missing.
    pub(super) fn fetch_file(&mut self, room: RoomId, root: Root) {
        let ephemeral = self.node.room(&room).is_none_or(|r| r.ephemeral());
        let input = FileEvent::Input(Input::Fetch { room, root });
        if ephemeral {
            let _ = self.files.tx.unbounded_send(input);
            return;
        }
        let size = self.file_size(&root);
        let held = self
            .node
            .file_progress(&root)
            .map_or(0, |(h, t)| held_bytes(h, t, size));
        let name = self
            .files
            .names
            .get(&root)
            .map(|(n, _)| n.clone())
            .unwrap_or_default();
        let tx = self.files.tx.clone();
        let storage = self.storage.clone();
        wasm_bindgen_futures::spawn_local(async move {
            let event = match no_room(&name, size - held.min(size)).await {
                Some(words) => FileEvent::Failed(words),
                None => {
                    // Kept before it starts, so a reload goes on with it.
                    if let Some(storage) = storage {
                        if let Err(e) = storage.set_file_wish(&root, size, FileWish::Fetch).await {
                            super::warn(&format!("a download was not noted on this device: {e}"));
                        }
                    }
                    input
                }
            };
            let _ = tx.unbounded_send(event);
        });
    }

    /// Pauses a download, and keeps it paused across reloads.
    pub(super) async fn pause_file(&mut self, root: Root) {
        self.files.rates.remove(&root);
        self.handle(Input::Pause(root)).await;
        // Nothing else redraws the card now that no chunk arrives.
        self.redraw_open_room();
        if let (Some(storage), true) = (self.storage.clone(), self.stored_room_names(&root)) {
            let size = self.file_size(&root);
            if let Err(e) = storage.set_file_wish(&root, size, FileWish::Paused).await {
                self.notify(format!("The pause could not be kept on this device: {e}"));
            }
        }
    }

    /// Removes a file from this device: its chunks, its download, and what the page made
    /// of it. Its messages stay. Removed `by_user`, it is not fetched on sight again, even
    /// after a reload.
    pub(super) async fn remove_file(&mut self, root: Root, by_user: bool) {
        self.handle(Input::Forget(root)).await;
        if self.files.batch.as_ref().is_some_and(|b| b.root == root) {
            self.files.batch = None;
        }
        self.files.memory.retain(|(r, _), _| *r != root);
        self.files.rates.remove(&root);
        for urls in [&mut self.files.urls, &mut self.files.thumbs] {
            if let Some(url) = urls.remove(&root) {
                let _ = web_sys::Url::revoke_object_url(&url);
            }
        }
        if by_user {
            self.files.seen.insert(root);
        }
        let mark = (by_user && self.stored_room_names(&root)).then(|| self.file_size(&root));
        if let Some(storage) = self.storage.clone() {
            if let Err(e) = storage.delete_file(&root, mark).await {
                self.notify(format!("A file could not be removed from this device: {e}"));
            }
        }
        self.redraw_open_room();
    }

    /// Has the open room's view drawn again at the next refresh.
    fn redraw_open_room(&mut self) {
        if let Some(cur) = self.current {
            self.dirty.insert(Some(cur));
        }
    }

    /// Whether a room kept on this device (not an ephemeral one) names `root`: only then is
    /// anything of the file written down.
    fn stored_room_names(&self, root: &Root) -> bool {
        self.rooms_naming(root).any(|(_, ephemeral)| !ephemeral)
    }

    /// The rooms whose logs name `root`, each with whether it is ephemeral.
    fn rooms_naming<'a>(&'a self, root: &'a Root) -> impl Iterator<Item = (RoomId, bool)> + 'a {
        self.node
            .rooms()
            .filter(|(id, _)| self.node.room_files(id).contains(root))
            .map(|(id, r)| (*id, r.ephemeral()))
    }

    /// Saves a file held whole under `name` (the browser's download).
    pub(super) fn save_file(&mut self, root: Root, name: String) {
        let Some((have, total)) = self.node.file_progress(&root) else {
            return self.notify("That file is not on this device yet.".into());
        };
        if have < total {
            return self.notify("That file has not finished downloading.".into());
        }
        let size = self.file_size(&root);
        self.put_together(root, size, OPAQUE_TYPE, Some(name));
    }

    /// The length of a file a room names.
    fn file_size(&self, root: &Root) -> u64 {
        if let Some((_, size)) = self.files.names.get(root) {
            return *size;
        }
        self.node
            .rooms()
            .find_map(|(_, r)| {
                r.sync()
                    .view()
                    .messages
                    .iter()
                    .find_map(|m| m.file.as_ref().filter(|f| f.root == *root).map(|f| f.size))
            })
            .unwrap_or(0)
    }

    /// Puts a held file together as a blob URL of type `kind`: shown (`save` is `None`) or
    /// saved under a name.
    fn put_together(&mut self, root: Root, size: u64, kind: &'static str, save: Option<String>) {
        let chunks = chunk_count(size);
        let in_memory: Option<Vec<Vec<u8>>> = (0..chunks)
            .map(|i| self.files.memory.get(&(root, i)).map(|(_, b)| b.clone()))
            .collect();
        self.write_batch_of(&root);
        let (tx, storage) = (self.files.tx.clone(), self.storage.clone());
        wasm_bindgen_futures::spawn_local(async move {
            let parts = Array::new();
            match in_memory {
                Some(chunks) => {
                    for c in chunks {
                        parts.push(&Uint8Array::from(c.as_slice()));
                    }
                }
                None => {
                    let Some(storage) = storage else { return };
                    for i in 0..chunks {
                        match storage.get_chunk(&root, i).await {
                            Ok(Some((_, bytes))) => parts.push(&Uint8Array::from(bytes.as_slice())),
                            _ => {
                                let _ = tx.unbounded_send(FileEvent::Failed(
                                    "Part of a file is missing on this device.".into(),
                                ));
                                return;
                            }
                        };
                    }
                }
            }
            let url = match blob_of(&parts, kind).and_then(|b| {
                web_sys::Url::create_object_url_with_blob(&b).map_err(|e| describe(&e))
            }) {
                Ok(url) => url,
                Err(e) => {
                    let _ = tx.unbounded_send(FileEvent::Failed(format!(
                        "A file could not be opened: {e}"
                    )));
                    return;
                }
            };
            match save {
                None => {
                    let _ = tx.unbounded_send(FileEvent::Url { root, url });
                }
                Some(name) => {
                    if let Err(e) = download(&url, &name) {
                        let _ = tx.unbounded_send(FileEvent::Failed(format!(
                            "The file could not be saved: {e}"
                        )));
                    }
                    // The download has its own copy once it started.
                    gloo_timers::future::TimeoutFuture::new(60_000).await;
                    let _ = web_sys::Url::revoke_object_url(&url);
                }
            }
        });
    }
}

/// Why `size` more bytes do not fit in what the browser grants this site, in words (see
/// [`no_room_for`]); `None` when they fit or the browser does not say.
async fn no_room(name: &str, size: u64) -> Option<String> {
    let storage = web_sys::window()?.navigator().storage();
    let estimate = JsFuture::from(storage.estimate().ok()?).await.ok()?;
    let get = |key: &str| {
        js_sys::Reflect::get(&estimate, &JsValue::from_str(key))
            .ok()
            .and_then(|v| v.as_f64())
            .map(|v| v.max(0.0) as u64)
    };
    no_room_for(name, size, get("usage")?, get("quota")?)
}

/// Hashes, stores and names one file.
async fn send_one(
    file: &web_sys::File,
    room: RoomId,
    storage: Option<&Storage>,
    tx: &mpsc::UnboundedSender<FileEvent>,
) -> Result<(), String> {
    let len = file.size().max(0.0) as u64;
    let chunks = chunk_count(len);
    let mut leaves = Vec::with_capacity(chunks as usize);
    for i in 0..chunks {
        let bytes = read_chunk(file, len, i).await?;
        let leaf = match leafhash::of(&bytes).await {
            Some(leaf) => leaf,
            None => leaf_hash(&bytes),
        };
        leaves.push(leaf);
    }
    let ob = Outboard::from_leaves(len, leaves).map_err(|e| e.to_string())?;
    let root = ob.root();
    let mut i = 0;
    while i < chunks {
        let end = (i + BATCH).min(chunks);
        let mut batch = Vec::new();
        for index in i..end {
            let bytes = read_chunk(file, len, index).await?;
            let proof = ob.proof(index).map_err(|e| e.to_string())?;
            match storage {
                None => {
                    let _ = tx.unbounded_send(FileEvent::Keep {
                        root,
                        index,
                        proof,
                        bytes,
                    });
                }
                Some(_) => batch.push((index, proof.to_bytes(), bytes)),
            }
        }
        if let Some(s) = storage {
            s.put_chunks(&root, len, &batch)
                .await
                .map_err(|e| e.to_string())?;
        }
        i = end;
    }
    let mime = file.type_();
    let thumb = match inline_image_type(&mime) {
        Some(_) => thumbnail(file).await.ok().flatten(),
        None => None,
    };
    let _ = tx.unbounded_send(FileEvent::Input(Input::Holding {
        root,
        len,
        has: Availability::All,
    }));
    let body = Body::File(FileRef {
        root,
        size: len,
        mime: cut_bytes(&mime, natter_core::log::MAX_MIME_BYTES),
        name: cut_bytes(&file.name(), natter_core::log::MAX_FILE_NAME_BYTES),
        thumb,
    });
    let _ = tx.unbounded_send(FileEvent::Input(Input::Post { room, body }));
    Ok(())
}

/// `text` cut to at most `max` bytes at a character boundary.
fn cut_bytes(text: &str, max: usize) -> String {
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_owned()
}

/// Chunk `index` of `file`.
async fn read_chunk(file: &web_sys::File, len: u64, index: u64) -> Result<Vec<u8>, String> {
    let start = index * CHUNK_LEN as u64;
    let end = (start + CHUNK_LEN as u64).min(len);
    let slice = file
        .slice_with_f64_and_f64(start as f64, end as f64)
        .map_err(|e| describe(&e))?;
    let buf = JsFuture::from(slice.array_buffer())
        .await
        .map_err(|e| format!("the file could not be read: {}", describe(&e)))?;
    Ok(Uint8Array::new(&buf).to_vec())
}

/// A JPEG of at most [`MAX_THUMB_BYTES`] showing the image, if the browser can decode it.
async fn thumbnail(file: &web_sys::File) -> Result<Option<Vec<u8>>, String> {
    let window = web_sys::window().ok_or("no window")?;
    let bitmap: web_sys::ImageBitmap = JsFuture::from(
        window
            .create_image_bitmap_with_blob(file)
            .map_err(|e| describe(&e))?,
    )
    .await
    .map_err(|e| describe(&e))?
    .dyn_into()
    .map_err(|_| "not an image")?;
    let (w, h) = (f64::from(bitmap.width()), f64::from(bitmap.height()));
    if w < 1.0 || h < 1.0 {
        return Ok(None);
    }
    let document = window.document().ok_or("no document")?;
    for side in THUMB_SIDES {
        let scale = (side / w.max(h)).min(1.0);
        let canvas: web_sys::HtmlCanvasElement = document
            .create_element("canvas")
            .map_err(|e| describe(&e))?
            .dyn_into()
            .map_err(|_| "no canvas")?;
        let (cw, ch) = ((w * scale).round().max(1.0), (h * scale).round().max(1.0));
        canvas.set_width(cw as u32);
        canvas.set_height(ch as u32);
        let ctx: web_sys::CanvasRenderingContext2d = canvas
            .get_context("2d")
            .map_err(|e| describe(&e))?
            .ok_or("no 2d context")?
            .dyn_into()
            .map_err(|_| "no 2d context")?;
        ctx.draw_image_with_image_bitmap_and_dw_and_dh(&bitmap, 0.0, 0.0, cw, ch)
            .map_err(|e| describe(&e))?;
        let blob = canvas_jpeg(&canvas).await?;
        let buf = JsFuture::from(blob.array_buffer())
            .await
            .map_err(|e| describe(&e))?;
        let bytes = Uint8Array::new(&buf).to_vec();
        if bytes.len() <= MAX_THUMB_BYTES {
            return Ok(Some(bytes));
        }
    }
    Ok(None)
}

/// `canvas.toBlob(…, "image/jpeg", 0.7)` as a future.
async fn canvas_jpeg(canvas: &web_sys::HtmlCanvasElement) -> Result<web_sys::Blob, String> {
    let (tx, rx) = futures::channel::oneshot::channel::<Option<web_sys::Blob>>();
    let tx = std::cell::RefCell::new(Some(tx));
    let done = wasm_bindgen::closure::Closure::<dyn FnMut(JsValue)>::new(move |b: JsValue| {
        if let Some(tx) = tx.borrow_mut().take() {
            let _ = tx.send(b.dyn_into::<web_sys::Blob>().ok());
        }
    });
    canvas
        .to_blob_with_type_and_encoder_options(
            done.as_ref().unchecked_ref(),
            THUMB_TYPE,
            &JsValue::from_f64(0.7),
        )
        .map_err(|e| describe(&e))?;
    rx.await
        .ok()
        .flatten()
        .ok_or_else(|| "the thumbnail could not be made".to_owned())
}

fn blob_of(parts: &Array, kind: &str) -> Result<web_sys::Blob, String> {
    let options = web_sys::BlobPropertyBag::new();
    options.set_type(kind);
    web_sys::Blob::new_with_u8_array_sequence_and_options(parts, &options).map_err(|e| describe(&e))
}

/// A blob URL of `parts` with type `kind`.
fn blob_url(parts: &[&[u8]], kind: &str) -> Result<String, String> {
    let array = Array::new();
    for p in parts {
        array.push(&Uint8Array::from(*p));
    }
    let blob = blob_of(&array, kind)?;
    web_sys::Url::create_object_url_with_blob(&blob).map_err(|e| describe(&e))
}

/// Starts the browser's download of `url` as `name`.
fn download(url: &str, name: &str) -> Result<(), String> {
    let document = web_sys::window()
        .and_then(|w| w.document())
        .ok_or("no document")?;
    let a: web_sys::HtmlAnchorElement = document
        .create_element("a")
        .map_err(|e| describe(&e))?
        .dyn_into()
        .map_err(|_| "no link element")?;
    a.set_href(url);
    a.set_download(name);
    a.click();
    Ok(())
}
