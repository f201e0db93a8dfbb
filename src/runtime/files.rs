//! Files in the browser: the node's file outputs executed against IndexedDB (in memory for
//! ephemeral rooms), downloads started, paused, resumed and removed. Sending is in
//! `file_send`, what the open room shows in `file_show`.
//!
//! Memory stays bounded whatever a file's size: sending reads one chunk at a time to hash
//! it and then [`BATCH`] chunks at a time to store them. Receiving gathers chunks into one
//! transaction while earlier ones are being written (at most [`WRITES_IN_FLIGHT`], each of at
//! most [`BATCH`] chunks): a transaction costs far more than a chunk, so the batches grow
//! exactly as much as IndexedDB is slower than the peers. With a full batch and every write
//! under way, the node takes no further frame; and it asks only a few chunks per peer at
//! once. Only an image shown inline, or a file being saved, is put together whole, as a
//! `Blob` of its chunks (the browser holds it, not wasm memory).

use std::collections::{HashMap, HashSet};

use futures::channel::mpsc;
use futures::StreamExt;
use natter_core::blob::{Proof, Root, CHUNK_LEN};
use natter_core::fetch::Availability;
use natter_core::log::Body;
use natter_core::node::{ConnId, Input, Output};
use natter_core::room::RoomId;
use wasm_bindgen::JsValue;
use wasm_bindgen_futures::JsFuture;

use super::Runtime;
use crate::files::{held_bytes, no_room_for, Rate};
use crate::leafhash;
use crate::storage::{FileWish, MAX_CHUNKS_READ};

/// Chunks stored per transaction, sent or received (1 MiB).
pub(super) const BATCH: u64 = 16;
/// Transactions of received chunks being written to IndexedDB at once.
const WRITES_IN_FLIGHT: usize = 2;

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
    pub(super) memory: HashMap<(Root, u64), (Proof, Vec<u8>)>,
    pub(super) thumbs: HashMap<Root, String>,
    pub(super) urls: HashMap<Root, String>,
    /// Images being put together.
    pub(super) loading: HashSet<Root>,
    /// Files fetched on sight once already, or paused or removed by the user: not fetched
    /// on sight (again).
    pub(super) seen: HashSet<Root>,
    /// Downloads under way when the app last ran, to go on with once the rooms naming them
    /// are loaded.
    resume: Vec<Root>,
    /// Downloads' recent speed.
    pub(super) rates: HashMap<Root, Rate>,
    /// Chunks the node asked to read, read together once its outputs are done.
    reads: Vec<(ConnId, Root, u64)>,
    /// Received chunks waiting for a transaction, and the transactions under way.
    batch: Option<Batch>,
    writes: Writes,
    written: mpsc::UnboundedReceiver<()>,
    /// Names and sizes of the files messages shown so far named (for "Files on this
    /// device").
    pub(super) names: HashMap<Root, (String, u64)>,
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
    pub(super) fn write_batch_of(&mut self, root: &Root) {
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

    /// The length of a file a room names.
    pub(super) fn file_size(&self, root: &Root) -> u64 {
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
}

/// Why `size` more bytes do not fit in what the browser grants this site, in words (see
/// [`no_room_for`]); `None` when they fit or the browser does not say.
pub(super) async fn no_room(name: &str, size: u64) -> Option<String> {
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
