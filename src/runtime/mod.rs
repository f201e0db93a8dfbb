//! The browser's driver of natter-core's [`Node`]: browser events in, the node's outputs
//! executed.
//!
//! # What
//!
//! [`start`] boots ([`boot`]: storage, the app lock, the identity, the stored rooms) and
//! then waits for the next of:
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

use std::collections::{BTreeSet, HashMap};
use std::rc::Rc;

use futures::channel::mpsc;
use futures::{FutureExt, StreamExt};
use leptos::prelude::{Set, Update};
use natter_core::log::{EntryId, Record, ViewBuilder};
use natter_core::node::{ConnId, Input, Link, Node, Output, MAX_NOTICE_CHARS};
use natter_core::room::RoomId;

use crate::pacing::Pacing;
use crate::rtc::{PeerConn, RtcEvent, RtcOptions};
use crate::server::IceServer;
use crate::signaling::{SignalEvent, Signaling};
use crate::state::{Command, Notice, Settings, SignalingState, UiState};
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

    /// Queues others' entries for writing (see [`crate::write_queue`]). They are shown
    /// while the write completes: if it fails (or the tab dies first) they come back from
    /// peers at the next sync.
    fn write_behind(&mut self, id: RoomId, records: Vec<Record>) {
        let Some(storage) = self.storage.clone() else {
            return;
        };
        let queue = self.writes.clone();
        if !queue.borrow_mut().push(id, records) {
            return;
        }
        let notices = self.ui.notices;
        let id_hint = self.next_notice;
        self.next_notice += 1;
        wasm_bindgen_futures::spawn_local(async move {
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

    // ----- signaling and WebRTC -----

    async fn on_signal_event(&mut self, event: SignalEvent) {
        if !matches!(event, SignalEvent::Signal { .. }) {
            trace(&format!("signaling: {event:?}"));
        }
        let input = match event {
            SignalEvent::Connected => {
                self.ui.signaling.set(SignalingState::Connected);
                return;
            }
            SignalEvent::Disconnected {
                reason,
                retry_in_ms,
            } => {
                self.ui.signaling.set(if retry_in_ms == 0 {
                    SignalingState::Idle
                } else {
                    SignalingState::Reconnecting {
                        in_secs: retry_in_ms.div_ceil(1000),
                        reason,
                    }
                });
                Input::SignalingLost
            }
            SignalEvent::Joined {
                room,
                session,
                peers,
            } => Input::Joined {
                room,
                session,
                peers,
            },
            SignalEvent::PeerJoined { room, session } => Input::PeerJoined { room, session },
            SignalEvent::PeerLeft { room, session } => Input::PeerLeft { room, session },
            SignalEvent::Signal { room, from, blob } => Input::Blob { room, from, blob },
            // A blob for a peer that just left: expected, and nothing the user can act on.
            SignalEvent::Error {
                code: Some(natter_core::signal::ErrorCode::UnknownPeer),
                ..
            } => return,
            SignalEvent::Error { message, .. } => return self.notify(message),
        };
        self.handle(input).await;
    }

    fn rtc_options(&self) -> RtcOptions {
        let mut ice_servers = self.server_ice.clone();
        let urls: Vec<String> = self
            .settings
            .ice_urls
            .iter()
            .map(|u| u.trim().to_owned())
            .filter(|u| !u.is_empty())
            .collect();
        if !urls.is_empty() {
            let opt = |s: &str| (!s.is_empty()).then(|| s.to_owned());
            ice_servers.push(IceServer {
                urls,
                username: opt(&self.settings.turn_username),
                credential: opt(&self.settings.turn_credential),
            });
        }
        RtcOptions {
            ice_servers,
            relay_only: self.settings.relay_only,
        }
    }

    async fn on_rtc(&mut self, conn: ConnId, event: RtcEvent) {
        match &event {
            RtcEvent::Frame(_)
            | RtcEvent::FileFrame(..)
            | RtcEvent::Drained
            | RtcEvent::FileDrained
            | RtcEvent::Signal(_) => {}
            other => trace(&format!("conn {}: {other:?}", conn.0)),
        }
        let input = match event {
            RtcEvent::Signal(signal) => Input::LocalSignal { conn, signal },
            RtcEvent::Open {
                local_fingerprint,
                remote_fingerprint,
            } => Input::ChannelOpen {
                conn,
                local_fingerprint,
                remote_fingerprint,
            },
            RtcEvent::Frame(bytes) => {
                let verified = self
                    .node
                    .conn(conn)
                    .is_some_and(|c| c.verified_key().is_some());
                // Entry signatures are checked by the browser's own Ed25519 first (natively,
                // about twice as fast as in wasm; waiting for it also lets the entry writes
                // queued so far start); natter-core does the rest and anything left unchecked.
                if verified {
                    if let Some(pending) = self.verifier.start(&bytes).await {
                        let ids = pending.passed().await;
                        self.handle(Input::Checked {
                            conn,
                            ids: ids.into_iter().collect(),
                        })
                        .await;
                    }
                }
                Input::Frame { conn, bytes }
            }
            RtcEvent::State(link) => Input::Link {
                conn,
                link: Link::from_name(&link),
            },
            RtcEvent::Closed => {
                if let Some(pc) = self.pcs.remove(&conn) {
                    pc.close();
                }
                Input::Closed(conn)
            }
            RtcEvent::Failed(words) => return warn(&words),
            RtcEvent::Drained => Input::Drained(conn),
            RtcEvent::FileFrame(bytes, leaf) => {
                let leaf = match leaf {
                    Some(pending) => pending.finish().await,
                    None => None,
                };
                Input::FileFrame { conn, bytes, leaf }
            }
            RtcEvent::FileDrained => Input::FileDrained(conn),
        };
        self.handle(input).await;
    }

    // ----- the views -----

    /// Shows a notice. Some words come from outside (a server's error message): each is cut
    /// to [`MAX_NOTICE_CHARS`], and only the newest [`MAX_NOTICES`] stay.
    fn notify(&mut self, text: String) {
        let id = self.next_notice;
        self.next_notice += 1;
        let text = natter_core::node::shorten(&text, MAX_NOTICE_CHARS);
        self.ui.notices.update(|n| {
            if !n.iter().any(|x| x.text == text) {
                n.push(Notice { id, text });
                let extra = n.len().saturating_sub(MAX_NOTICES);
                n.drain(..extra);
            }
        });
    }

    fn busy(&self, what: Option<&str>) {
        self.ui.busy.set(what.map(str::to_owned));
    }

    /// When a refresh that pacing deferred may run.
    fn ui_deferred_until(&self) -> Option<u64> {
        if self.dirty.is_empty() {
            return None;
        }
        let now = js_sys::Date::now();
        let mut pacing = self.pacing.clone();
        pacing.cost(self.flush_cost.get());
        match pacing.check(now) {
            Ok(()) => None,
            Err(wait) => Some((now + wait).max(0.0) as u64),
        }
    }

    /// Refreshes the views when the time they may take allows it ([`crate::pacing`]); the
    /// loop's timer refreshes them later otherwise.
    fn flush_ui_paced(&mut self) {
        if self.dirty.is_empty() {
            return;
        }
        let started = js_sys::Date::now();
        self.pacing.cost(self.flush_cost.get());
        if self.pacing.check(started).is_err() {
            return;
        }
        self.pacing.refreshed(started);
        self.flush_ui();
        self.flush_cost.set(js_sys::Date::now() - started);
        // The views redraw in tasks that the signals just set have queued, and those queue
        // more (the message list sets each changed message's own signal). A promise
        // settled behind them all sees when they are done.
        let cost = self.flush_cost.clone();
        wasm_bindgen_futures::spawn_local(async move {
            let settled = js_sys::Promise::resolve(&wasm_bindgen::JsValue::UNDEFINED);
            let _ = wasm_bindgen_futures::JsFuture::from(settled).await;
            cost.set(js_sys::Date::now() - started);
        });
    }

    /// Applies new entries to the open room's view; one that sorts before what it shows
    /// (older history arriving) makes the next refresh build the view again.
    fn extend_view(&mut self, room: RoomId, new: &[EntryId]) {
        let Some((id, view)) = self.view.as_mut().filter(|(id, _)| *id == room) else {
            return;
        };
        let Some(log) = self.node.room(id).map(|r| r.sync().log()) else {
            self.view = None;
            return;
        };
        let mut recs: Vec<_> = new.iter().filter_map(|e| log.get_by_id(e)).collect();
        recs.sort_by_key(|r| r.entry.display_key());
        if !recs.into_iter().all(|r| view.push(r)) {
            self.view = None;
        }
    }

    /// Refreshes the open room's view if it changed, and the room list.
    fn flush_ui(&mut self) {
        let dirty = std::mem::take(&mut self.dirty);
        if let Some(cur) = self.current.filter(|c| dirty.contains(&Some(*c))) {
            // Built again for another room, or when it is behind the log (a room left and
            // joined again, say).
            let held = self.node.room(&cur).map_or(0, |r| r.sync().log().len());
            if self
                .view
                .as_ref()
                .is_none_or(|(id, v)| *id != cur || v.applied() != held)
            {
                let built = self
                    .node
                    .room(&cur)
                    .map(|r| ViewBuilder::of(r.sync().log().in_display_order()));
                self.view = built.map(|b| (cur, b));
            }
            let shown = self.shown;
            let mut state = self.view.as_ref().and_then(|(_, v)| {
                crate::view::room_state(&self.node, cur, v, shown, &base_url(), &mut self.safety)
            });
            if let Some(s) = state.as_mut() {
                self.show_files(s);
            }
            self.ui.room.set(state);
        }
        self.refresh_rooms();
    }

    fn refresh_rooms(&mut self) {
        self.ui
            .rooms
            .set(crate::view::room_list(&self.node, &self.unread));
    }
}
