//! The browser's driver of natter-core's [`Node`]: browser events in, the node's outputs
//! executed.
//!
//! # What
//!
//! [`start`] boots ([`boot`]: one tab at a time ([`tab`]), storage, the app lock, the
//! identity, the stored rooms) and then waits for the next of:
//!
//! - a [`Command`] from a view ([`commands`] turns it into node inputs);
//! - a [`SignalEvent`] from the signaling server;
//! - an [`RtcEvent`] from one of the [`PeerConn`]s;
//! - the node's timer ([`Output::ScheduleTimer`]), or the views' refresh when it was
//!   deferred ([`crate::pacing`]).
//!
//! Each becomes an [`Input`], and every [`Output`] the node then has is executed in order:
//! signaling messages go to the server, connections are opened and closed, frames go to
//! DataChannels, entries go to IndexedDB, notices and changed rooms to the views. Our own
//! entries ([`Output::StoreOwn`]) are awaited on disk before anything later runs; others'
//! entries are written behind ([`crate::write_queue`]): they are shown at once, and what a
//! failed write loses comes back from peers.
//!
//! The protocol, its rules and its bounds are natter-core's ([`natter_core::node`]); what
//! is here is browser plumbing: WebRTC ([`crate::rtc`]), the signaling socket
//! ([`crate::signaling`]), WebCrypto signature checks ([`crate::sigcheck`], handed to the
//! node as [`Input::Checked`] before the frame), IndexedDB ([`crate::storage`]) and the
//! views' signals ([`UiState`], built by [`crate::view`]).
//!
//! Ephemeral rooms run the same node; it simply emits no storage outputs for them.

mod boot;
mod codes;
mod commands;
mod file_send;
mod file_show;
mod files;
mod keeper;
mod lock;
mod net;
mod tab;
mod views;

use std::collections::{BTreeSet, HashMap};
use std::rc::Rc;

use futures::channel::mpsc;
use futures::{FutureExt, StreamExt};
use leptos::prelude::{Set, Update};
use natter_core::log::{Record, ViewBuilder};
use natter_core::node::{ConnId, Input, Node, Output};
use natter_core::room::RoomId;

use crate::pacing::Pacing;
use crate::rtc::{PeerConn, RtcEvent};
use crate::server::IceServer;
use crate::signaling::{SignalEvent, Signaling};
use crate::state::{Command, Notice, Settings, UiState};
use crate::storage::{RoomRecord, Storage, StoredIdentity, VerifiedPeer};

/// Notices kept on screen at once; the oldest goes first.
pub const MAX_NOTICES: usize = 8;

/// Starts the runtime: loads state and runs the loop until the page closes.
pub fn start(ui: UiState, mut commands: mpsc::UnboundedReceiver<Command>) {
    wasm_bindgen_futures::spawn_local(async move {
        let (mut rt, deferred) = boot::boot(ui, &mut commands).await;
        // What the views asked for while the app was locked (the route's room, say).
        for command in deferred {
            rt.on_command(command).await;
        }
        rt.run(commands).await;
    });
}

struct Runtime {
    ui: UiState,
    node: Node,
    storage: Option<Rc<Storage>>,
    settings: Settings,
    server_ice: Vec<IceServer>,
    signaling: Option<Signaling>,
    signal_rx: Option<mpsc::UnboundedReceiver<SignalEvent>>,
    rtc_tx: mpsc::UnboundedSender<(u64, RtcEvent)>,
    rtc_rx: mpsc::UnboundedReceiver<(u64, RtcEvent)>,
    pcs: HashMap<ConnId, PeerConn>,
    /// When the node wants its next tick (ms since the epoch).
    timer_at: Option<u64>,
    /// The open room.
    current: Option<RoomId>,
    unread: HashMap<RoomId, u32>,
    /// Rooms whose view changed since the last refresh (`None`: only the room list).
    dirty: BTreeSet<Option<RoomId>>,
    pacing: Pacing,
    /// What the last refresh cost in the end, its redrawing included.
    flush_cost: Rc<std::cell::Cell<f64>>,
    next_notice: u64,
    /// Others' entries waiting to be written (see [`crate::write_queue`]).
    writes: Rc<std::cell::RefCell<crate::write_queue::WriteQueue>>,
    /// Checks entry signatures with WebCrypto before natter-core sees them.
    verifier: crate::sigcheck::WebVerifier,
    /// Safety numbers of the peers shown, each computed once ([`crate::safety`]).
    safety: crate::safety::SafetyNumbers,
    /// The open room's view, extended as entries arrive rather than built per refresh.
    view: Option<(RoomId, ViewBuilder)>,
    /// How many of the open room's latest messages the list shows.
    shown: usize,
    /// Closes the join code shown ([`codes`]).
    code_cancel: Option<futures::channel::oneshot::Sender<()>>,
    /// What matched join codes hand over, back into the loop.
    gift_tx: mpsc::UnboundedSender<natter_core::joincode::Gift>,
    gift_rx: mpsc::UnboundedReceiver<natter_core::joincode::Gift>,
    /// Ends the asking of a keeper under way ([`keeper`]).
    keeper_cancel: Option<futures::channel::oneshot::Sender<()>>,
    /// Keepers that agreed to keep a room, back into the loop.
    kept_tx: mpsc::UnboundedSender<keeper::Kept>,
    kept_rx: mpsc::UnboundedReceiver<keeper::Kept>,
    /// Files: chunks of ephemeral rooms, blob URLs, and what file tasks hand back.
    files: files::Files,
}

/// The longest the loop works without giving the page a turn (to draw, and to take the
/// person's input) while events keep coming, as they do during a file download, ms.
const YIELD_AFTER_MS: u64 = 50;

/// Others' entries arriving at once that are drawn before they are written (see
/// [`Runtime::write_behind`]).
const LIVE_ENTRIES: usize = 8;

/// Resolves in a task of its own, once the current one and everything it queued (the views
/// redrawing) have run: a message to ourselves rather than a timeout, which the browser
/// holds back in a hidden page.
async fn next_task() {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        let posted = web_sys::MessageChannel::new().is_ok_and(|channel| {
            channel.port1().set_onmessage(Some(&resolve));
            channel
                .port2()
                .post_message(&wasm_bindgen::JsValue::UNDEFINED)
                .is_ok()
        });
        if !posted {
            let _ = resolve.call0(&wasm_bindgen::JsValue::UNDEFINED);
        }
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}

fn now_ms() -> u64 {
    js_sys::Date::now().max(0.0) as u64
}

fn warn(text: &str) {
    web_sys::console::warn_1(&text.into());
}

/// Connection lifecycle for the browser console (ids and states only, never content).
fn trace(text: &str) {
    web_sys::console::info_1(&text.into());
}

fn base_url() -> String {
    web_sys::window()
        .and_then(|w| {
            let l = w.location();
            Some(format!("{}{}", l.origin().ok()?, l.pathname().ok()?))
        })
        .unwrap_or_default()
}

impl Runtime {
    async fn run(&mut self, mut commands: mpsc::UnboundedReceiver<Command>) {
        let mut signal_rx = self.signal_rx.take().unwrap_or_else(|| mpsc::unbounded().1);
        enum Wake {
            Command(Option<Command>),
            Signal(Option<SignalEvent>),
            Rtc(Option<(u64, RtcEvent)>),
            Gift(Option<natter_core::joincode::Gift>),
            Kept(Option<keeper::Kept>),
            File(Option<files::FileEvent>),
            Timer,
        }
        let mut armed: Option<u64> = None;
        let mut timer = futures::future::Fuse::terminated();
        // When the loop last waited for an event or gave the page a turn.
        let mut turn_given = now_ms();
        loop {
            // One browser timeout for the earliest of the node's timer and a deferred
            // refresh, made again only when that time changes.
            let ui_at = self.ui_deferred_until();
            let next = match (self.timer_at, ui_at) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            if next != armed {
                armed = next;
                timer = match next {
                    Some(at) => {
                        let delay = at.saturating_sub(now_ms()).min(u64::from(u32::MAX));
                        gloo_timers::future::TimeoutFuture::new(delay as u32).fuse()
                    }
                    None => futures::future::Fuse::terminated(),
                };
            }
            let before = now_ms();
            let wake = futures::select! {
                c = commands.next() => Wake::Command(c),
                s = signal_rx.next() => Wake::Signal(s),
                r = self.rtc_rx.next() => Wake::Rtc(r),
                g = self.gift_rx.next() => Wake::Gift(g),
                k = self.kept_rx.next() => Wake::Kept(k),
                f = self.files.rx.next() => Wake::File(f),
                _ = timer => Wake::Timer,
            };
            if now_ms() > before {
                turn_given = before;
            }
            if tab::taken() {
                // Another tab runs the app now; this page is reloading.
                return;
            }
            match wake {
                Wake::Command(Some(c)) => self.on_command(c).await,
                Wake::Command(None) => return,
                Wake::Signal(Some(s)) => self.on_signal_event(s).await,
                Wake::Rtc(Some((key, ev))) => self.on_rtc(ConnId(key), ev).await,
                Wake::Gift(Some(gift)) => self.on_gift(gift).await,
                Wake::Kept(Some(kept)) => self.on_kept(kept).await,
                Wake::File(Some(ev)) => self.on_file_event(ev).await,
                Wake::Signal(None)
                | Wake::Rtc(None)
                | Wake::Gift(None)
                | Wake::Kept(None)
                | Wake::File(None) => {}
                Wake::Timer => {
                    armed = None;
                    if self.timer_at.is_some_and(|at| at <= now_ms()) {
                        self.timer_at = None;
                        self.handle(Input::Tick).await;
                    }
                }
            }
            self.flush_ui_paced();
            if now_ms().saturating_sub(turn_given) >= YIELD_AFTER_MS {
                gloo_timers::future::TimeoutFuture::new(0).await;
                turn_given = now_ms();
            }
        }
    }

    /// Feeds one input to the node and executes every output.
    async fn handle(&mut self, input: Input) {
        if let Err(e) = self.node.handle(now_ms(), input) {
            self.notify(format!("{e}."));
        }
        while let Some(out) = self.node.poll_output() {
            self.execute(out).await;
        }
        self.read_chunks();
    }

    async fn execute(&mut self, out: Output) {
        match out {
            Output::JoinSignaling(room) => {
                if let Some(Err(e)) = self.signaling.as_ref().map(|s| s.join(&room)) {
                    warn(&e.to_string());
                }
            }
            Output::LeaveSignaling(room) => {
                if let Some(s) = &self.signaling {
                    let _ = s.leave(&room);
                }
            }
            Output::Signal { room, to, blob } => {
                if let Some(s) = &self.signaling {
                    let _ = s.signal(&room, &to, &blob);
                }
            }
            Output::OpenConn { conn, polite } => {
                trace(&format!("conn {}: opening ({polite})", conn.0));
                match PeerConn::new(conn.0, &self.rtc_options(), polite, self.rtc_tx.clone()) {
                    Ok(pc) => {
                        self.pcs.insert(conn, pc);
                    }
                    Err(e) => {
                        self.notify(e);
                        // Reported back as closed: the node forgets it.
                        let _ = self.rtc_tx.unbounded_send((conn.0, RtcEvent::Closed));
                    }
                }
            }
            Output::ApplySignal { conn, signal } => {
                if let Some(pc) = self.pcs.get(&conn) {
                    pc.on_signal(signal);
                }
            }
            Output::CloseConn(conn) => {
                trace(&format!("conn {}: closing", conn.0));
                if let Some(pc) = self.pcs.remove(&conn) {
                    pc.close();
                }
            }
            Output::Send { conn, bytes } => {
                if let Some(pc) = self.pcs.get(&conn) {
                    pc.send(bytes);
                }
            }
            Output::StoreOwn { room, records } => {
                // Our own entries are on disk before they are sent or shown: a lost own
                // entry would make us sign its seq again, which peers treat as a fork.
                if let Some(s) = self.storage.clone() {
                    if let Err(e) = s.put_entries(&room, &records).await {
                        self.notify(e.to_string());
                    }
                }
            }
            Output::Store { room, records } => self.write_behind(room, records),
            // A browser holds everything: it adds its rooms with no retention, so neither
            // comes (and the node's pruning is not linked into the app).
            Output::RetentionDue(_) | Output::Prune { .. } => {}
            Output::SaveRoom(meta) => {
                let Some(s) = self.storage.clone() else {
                    return;
                };
                let rec = RoomRecord {
                    id: meta.room.id(),
                    secret: *meta.room.secret().as_bytes(),
                    name: meta.room.name().map(str::to_owned),
                    password_required: meta.room.has_password(),
                    left: meta.left,
                    password_key: meta.room.password_key().map(|k| *k.as_bytes()),
                    last_activity_ms: meta.last_activity_ms,
                };
                if let Err(e) = s.put_room(&rec).await {
                    self.notify(e.to_string());
                }
            }
            Output::DeleteRoom(id) => {
                // Entries not yet written are not written; a write under way was made
                // before the deletion, which runs after it.
                self.writes.borrow_mut().forget_room(&id);
                if let Some(s) = self.storage.clone() {
                    if let Err(e) = s.delete_room(&id).await {
                        self.notify(e.to_string());
                    }
                }
                self.unread.remove(&id);
                if self.current == Some(id) {
                    self.current = None;
                    self.ui.room.set(None);
                }
                self.dirty.insert(None);
            }
            Output::SavePeer { room, key } => {
                if let Some(s) = self.storage.clone() {
                    let peer = VerifiedPeer {
                        key,
                        verified_at_ms: now_ms(),
                    };
                    if let Err(e) = s.put_peer(&room, &peer).await {
                        self.notify(e.to_string());
                    }
                }
            }
            Output::SaveEvidence {
                room,
                first,
                second,
            } => {
                if let Some(s) = self.storage.clone() {
                    // Kept once per author, in a record of its own (see `crate::storage`).
                    if let Err(e) = s.put_evidence(&room, &first, &second).await {
                        self.notify(e.to_string());
                    }
                }
            }
            Output::NameChanged(name) => {
                self.show_name(name);
                self.save_identity().await;
            }
            Output::Notice(text) => self.notify(text),
            Output::Incoming {
                room,
                count,
                latest,
            } => {
                if self.current != Some(room) {
                    *self.unread.entry(room).or_default() += count;
                }
                let room_name = self
                    .node
                    .room(&room)
                    .map(|r| natter_core::node::room_name(r.room()))
                    .unwrap_or_default();
                self.ui.incoming.update(|i| {
                    i.serial += 1;
                    i.room = Some(room);
                    i.room_name = room_name;
                    i.count = count;
                    i.latest = Some(latest);
                });
            }
            Output::RoomChanged { room, new } => {
                self.note_deleted_files(room, &new);
                self.extend_view(room, &new);
                self.dirty.insert(Some(room));
            }
            Output::ScheduleTimer(at) => self.timer_at = Some(at),
            out @ (Output::SendFileFrame { .. }
            | Output::ReadChunk { .. }
            | Output::StoreChunk { .. }
            | Output::FileProgress { .. }) => self.execute_file(out).await,
        }
    }

    /// Our name as the views show it, and whether it is one we chose.
    fn show_name(&self, name: String) {
        let guest = crate::state::guest_name(&self.node.me().to_text());
        self.ui.name_chosen.set(name != guest);
        self.ui.my_name.set(name);
    }

    async fn save_identity(&mut self) {
        if let Some(s) = &self.storage {
            let r = s
                .put_identity(&StoredIdentity {
                    secret: self.node.identity().secret_bytes(),
                    display_name: self.node.name().to_owned(),
                })
                .await;
            if let Err(e) = r {
                self.notify(e.to_string());
            }
        }
    }

    /// Queues others' entries for writing (see [`crate::write_queue`]). What people are
    /// posting now (up to [`LIVE_ENTRIES`] at once) is shown first: its write starts in a
    /// task after the one that drew it. A catch-up's entries are written at once, so that
    /// writing keeps pace with the frames. If a write fails (or the tab dies first), the
    /// entries come back from peers at the next sync.
    fn write_behind(&mut self, id: RoomId, records: Vec<Record>) {
        let Some(storage) = self.storage.clone() else {
            return;
        };
        let queue = self.writes.clone();
        let live = records.len() <= LIVE_ENTRIES;
        if !queue.borrow_mut().push(id, records) {
            return;
        }
        let notices = self.ui.notices;
        let id_hint = self.next_notice;
        self.next_notice += 1;
        wasm_bindgen_futures::spawn_local(async move {
            if live {
                next_task().await;
            }
            loop {
                let Some(batch) = queue.borrow_mut().next_batch() else {
                    return;
                };
                let rooms: Vec<(RoomId, &[Record])> =
                    batch.iter().map(|(id, r)| (*id, r.as_slice())).collect();
                // The transaction is made before this task yields, so a deletion queued
                // after this point runs after it.
                if let Err(e) = storage.put_entries_of(&rooms).await {
                    let text = e.to_string();
                    notices.update(|n| {
                        if !n.iter().any(|x| x.text == text) {
                            n.push(Notice { id: id_hint, text });
                        }
                    });
                }
            }
        });
    }
}
