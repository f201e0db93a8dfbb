//! The app's one event loop: it owns natter-core's state and every browser resource, turns
//! commands, signaling, WebRTC and timer events into protocol inputs, and executes the
//! protocol's outputs.
//!
//! # What
//!
//! [`start`] spawns the loop. It loads (or creates) the identity and the stored rooms,
//! joins each room on the signaling server, and from then on waits for the next of:
//!
//! - a [`Command`] from a view (post, join, verify, leave, ...);
//! - a [`SignalEvent`] (peers arriving and leaving, sealed blobs from them);
//! - an [`RtcEvent`] from one of the [`PeerConn`]s (signals to relay, the channel opening,
//!   frames, closing);
//! - a tick (every [`TICK_MS`]), which drives each room's timers.
//!
//! After each, every room's [`RoomSync`] outputs are drained in order: frames go to the
//! peer's DataChannel, `Store` goes to IndexedDB, events update the [`UiState`] signals. Our
//! own entries are awaited on disk before anything later runs, so a message we wrote is
//! stored before it is sent or shown (losing one would make us sign its seq twice). Others'
//! entries are written without holding up the loop: they are shown at once, and anything a
//! failed write loses comes back from peers at the next sync. The open room's view is
//! rebuilt after each event unless rebuilding and redrawing it has taken more than a tenth
//! of the time lately, so a catch-up of thousands of entries does not redraw it dozens of
//! times.
//!
//! # Trust
//!
//! - Every signaling blob is sealed with the room's signal key and bound to both session
//!   ids ([`natter_core::seal`]); a blob that does not open is dropped.
//! - When a DataChannel opens, each side sends a [`Hello`] signed by its identity over the
//!   room id, both DTLS fingerprints and both session ids. Until the peer's hello verifies,
//!   nothing it sends reaches the sync machine; a failed proof drops the peer, tells the
//!   user why, and the session is not connected again.
//! - A peer the sync machine reports as misbehaving is dropped and its session blocked.
//!
//! # Password rooms
//!
//! A wrong password derives a different room id, where nobody is. To say so at once, the
//! members of a password room are also present in its lobby ([`Room::lobby_id`]), where
//! nothing is relayed: a joiner whose room is empty while the lobby is not may have the wrong
//! password. Anyone with the link is in the lobby, with or without the password, so this is
//! only ever a hint ([`crate::lobby`]): the room is joined and stored as any other, and the
//! room view says the password may be wrong and offers to enter it again
//! ([`Command::RetryPassword`]).
//!
//! # Ephemeral rooms
//!
//! They run the same machine; the loop simply never calls storage for them, so leaving
//! (or closing the tab) leaves nothing behind.
//!
//! # Bounds
//!
//! What peers and the server choose is bounded here as well as in natter-core: at most
//! [`MAX_CONNS_PER_ROOM`] connections per room, a hello within [`HELLO_TIMEOUT_MS`] of the
//! channel opening, 16 frames held before it opens, notices cut to [`MAX_NOTICE_CHARS`] with
//! [`MAX_NOTICES`] on screen, and a room's last activity never later than now.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use futures::channel::mpsc;
use futures::StreamExt;
use natter_core::hello::{validate_display_name, Hello, HelloContext};
use natter_core::identity::{Identity, PublicKey};
use natter_core::log::{Body, EntryId, Record, RoomView};
use natter_core::room::{Invite, PasswordKey, Room, RoomId, RoomSecret};
use natter_core::sync::{Event, Input, Output, PeerId, RoomSync, SyncConfig};
use natter_core::vault::{VaultError, VaultKey, VaultParams};
use natter_core::wire::{Frame, Presence};
use serde::{Deserialize, Serialize};

use crate::components::status_bar::ServerState;
use crate::rtc::{PeerConn, RtcEvent, RtcOptions};
use crate::server::IceServer;
use crate::signaling::{SignalEvent, Signaling, SignalingConfig};
use crate::state::{
    Command, Delivery, MessageView, Notice, PeerPresence, PeerView, RoomState, RoomSummary,
    Settings, SignalingState, UiState,
};
use crate::storage::{RoomRecord, Storage, StoredIdentity, StoredLock, VerifiedPeer};
use leptos::prelude::{Set, Update};
use natter_core::node::{LobbyCheck, Verdict};
use natter_core::peer_signal::PeerSignal;

/// How often rooms get a timer tick (summaries, announcements, want time-outs).
pub const TICK_MS: u32 = 100;

/// The share of the time that refreshing the views may take.
const UI_SHARE: f64 = 0.1;

/// Milliseconds of refreshing allowed at once after a quiet spell.
const UI_BURST: f64 = 50.0;

/// Where settings live in `localStorage` (small, read before IndexedDB opens).
const SETTINGS_KEY: &str = "natter.settings";
/// Connections open at once in one room: twice the server's default room size, so a
/// server that names thousands of sessions cannot make us open a connection to each.
pub const MAX_CONNS_PER_ROOM: usize = 64;
/// How long a peer has, once the channel is open, to send a hello that proves who it is;
/// otherwise it would stay "joining" for as long as the link is up.
pub const HELLO_TIMEOUT_MS: f64 = 15_000.0;
/// Longest notice shown, in characters (a server chooses its error messages).
pub const MAX_NOTICE_CHARS: usize = 300;
/// Notices kept on screen at once; the oldest goes first.
pub const MAX_NOTICES: usize = 8;

/// Starts the runtime: loads state and runs the loop until the page closes.
pub fn start(ui: UiState, mut commands: mpsc::UnboundedReceiver<Command>) {
    wasm_bindgen_futures::spawn_local(async move {
        let (mut rt, deferred) = Runtime::boot(ui, &mut commands).await;
        // What the views asked for while the app was locked (the route's room, say).
        for command in deferred {
            rt.on_command(command).await;
        }
        rt.run(commands).await;
    });
}

/// The words for a wrong passphrase.
const WRONG_PASSPHRASE: &str = "Wrong passphrase. Nothing was changed; try again.";

/// While the app is locked: waits for the passphrase that opens `lock` and gives its key to
/// `storage`. Commands other than unlocking, erasing and dismissing are kept in `deferred`
/// for after. Returns `false` when the user chose to erase everything instead.
async fn unlock(
    ui: UiState,
    storage: &Storage,
    lock: &StoredLock,
    commands: &mut mpsc::UnboundedReceiver<Command>,
    deferred: &mut Vec<Command>,
) -> bool {
    let mut next_id = u64::MAX;
    let mut say = |text: &str| {
        next_id -= 1;
        let id = next_id;
        let text = text.to_owned();
        ui.notices.update(|n| {
            n.retain(|x| x.text != text);
            n.push(Notice { id, text });
        });
    };
    while let Some(command) = commands.next().await {
        match command {
            Command::Unlock(passphrase) => {
                ui.busy.set(Some("Unlocking…".into()));
                yield_to_browser().await;
                let key = VaultKey::unlock(&passphrase, &lock.params, &lock.verifier);
                ui.busy.set(None);
                match key {
                    Ok(key) => {
                        storage.unlock(key);
                        ui.notices
                            .update(|n| n.retain(|x| x.text != WRONG_PASSPHRASE));
                        return true;
                    }
                    Err(VaultError::WrongPassphrase) => say(WRONG_PASSPHRASE),
                    Err(e) => say(&format!("The app lock could not be opened: {e}.")),
                }
            }
            Command::EraseAll => match storage.erase_all().await {
                Ok(()) => return false,
                Err(e) => say(&e.to_string()),
            },
            Command::Dismiss(id) => ui.notices.update(|n| n.retain(|x| x.id != id)),
            other => deferred.push(other),
        }
    }
    false
}

/// Per-room settings, stored as [`RoomRecord::left`] and [`RoomRecord::password_key`].
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct RoomSettings {
    /// The user left the room: kept, not joined.
    #[serde(default)]
    left: bool,
    /// The stretched password, so the room reopens without asking again.
    #[serde(default)]
    password_key: Option<[u8; 32]>,
}

struct RoomRt {
    room: Room,
    ephemeral: bool,
    settings: RoomSettings,
    sync: RoomSync,
    /// Our session in the room on the current signaling connection.
    session: Option<String>,
    /// The lobby's id (hex) for password rooms.
    lobby: Option<String>,
    /// The lobby's head counts, for the hint that the password may be wrong (see
    /// [`crate::lobby`]); only for password rooms joined by link.
    lobby_check: Option<LobbyCheck>,
    unread: u32,
    last_activity_ms: u64,
    missing: u64,
    verified: BTreeSet<PublicKey>,
    blocked: HashSet<String>,
    typing: HashMap<PublicKey, f64>,
    presence: HashMap<PublicKey, Presence>,
    dirty: bool,
}

enum ConnState {
    /// Negotiating.
    Connecting,
    /// The channel is open and our hello was sent; waiting for theirs.
    Open(HelloContext),
    /// The peer proved its identity.
    Verified { key: PublicKey },
}

struct Conn {
    room: RoomId,
    remote_session: String,
    local_session: String,
    pc: PeerConn,
    state: ConnState,
    /// The browser's last reported connection state (`connected`, `disconnected`, ...).
    link: String,
    /// The server said the peer's session left.
    remote_left: bool,
    /// Frames that arrived before the channel's opening was reported (replayed then).
    early: Vec<Vec<u8>>,
    /// When the channel opened (`Date.now()`): the peer's hello is due within
    /// [`HELLO_TIMEOUT_MS`].
    opened_at: f64,
}

impl Conn {
    /// The direct link is down and the peer cannot set up a new one through the server:
    /// nothing will bring this connection back.
    fn is_dead(&self) -> bool {
        self.remote_left
            && (matches!(self.state, ConnState::Connecting)
                || matches!(self.link.as_str(), "disconnected" | "failed" | "closed"))
    }
}

struct Runtime {
    ui: UiState,
    storage: Option<std::rc::Rc<Storage>>,
    /// When the views were last refreshed (ms, `Date.now()`), the time they had in hand
    /// for refreshing then, and how long that refresh took, the views' redrawing included
    /// (see [`Runtime::flush_ui_paced`]).
    last_flush: f64,
    ui_budget: f64,
    flush_cost: std::rc::Rc<std::cell::Cell<f64>>,
    /// Others' entries waiting to be written (see [`Runtime::write_behind`]).
    writes: std::rc::Rc<std::cell::RefCell<crate::write_queue::WriteQueue>>,
    identity: Identity,
    me: PublicKey,
    name: String,
    settings: Settings,
    server_ice: Vec<IceServer>,
    signaling: Option<Signaling>,
    signal_rx: Option<mpsc::UnboundedReceiver<SignalEvent>>,
    rtc_tx: mpsc::UnboundedSender<(u64, RtcEvent)>,
    rtc_rx: mpsc::UnboundedReceiver<(u64, RtcEvent)>,
    rooms: BTreeMap<RoomId, RoomRt>,
    lobbies: HashMap<String, RoomId>,
    conns: HashMap<u64, Conn>,
    next_key: u64,
    current: Option<RoomId>,
    next_notice: u64,
    names: HashMap<PublicKey, String>,
    /// The page is hidden: peers are told we are away.
    away: bool,
    /// Checks entry signatures with WebCrypto before natter-core sees them.
    verifier: crate::sigcheck::WebVerifier,
    /// Safety numbers of the peers shown, each computed once ([`crate::safety`]).
    safety: std::cell::RefCell<crate::safety::SafetyNumbers>,
}

fn now_ms() -> u64 {
    js_sys::Date::now().max(0.0) as u64
}

fn navigate(hash: &str) {
    if let Some(w) = web_sys::window() {
        let _ = w.location().set_hash(hash);
    }
}

fn base_url() -> String {
    web_sys::window()
        .and_then(|w| {
            let l = w.location();
            Some(format!("{}{}", l.origin().ok()?, l.pathname().ok()?))
        })
        .unwrap_or_default()
}

fn local_storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok()?
}

fn load_settings() -> Settings {
    local_storage()
        .and_then(|s| s.get_item(SETTINGS_KEY).ok().flatten())
        .and_then(|text| serde_json::from_str(&text).ok())
        .unwrap_or_default()
}

fn warn(text: &str) {
    web_sys::console::warn_1(&text.into());
}

/// Connection lifecycle for the browser console (ids and states only, never content).
fn trace(text: &str) {
    web_sys::console::info_1(&text.into());
}

fn short(session: &str) -> &str {
    session.get(..6).unwrap_or(session)
}

/// Lets the page paint before a long synchronous step (password stretching).
async fn yield_to_browser() {
    gloo_timers::future::TimeoutFuture::new(30).await;
}

impl Runtime {
    async fn boot(
        ui: UiState,
        commands: &mut mpsc::UnboundedReceiver<Command>,
    ) -> (Runtime, Vec<Command>) {
        let (rtc_tx, rtc_rx) = mpsc::unbounded();
        let settings = load_settings();
        ui.settings.set(settings.clone());
        let mut notices = Vec::new();
        let storage = match Storage::open().await {
            Ok(s) => Some(std::rc::Rc::new(s)),
            Err(e) => {
                notices.push(format!("{e} Rooms will not be kept after this tab closes."));
                None
            }
        };
        let mut deferred = Vec::new();
        if let Some(s) = &storage {
            match s.load_lock().await {
                Ok(Some(lock)) => {
                    ui.lock_on.set(true);
                    ui.locked.set(true);
                    if !unlock(ui, s, &lock, commands, &mut deferred).await {
                        ui.lock_on.set(false);
                    }
                    ui.locked.set(false);
                }
                Ok(None) => {}
                Err(e) => notices.push(e.to_string()),
            }
        }
        let stored = match &storage {
            Some(s) => s.load_identity().await.unwrap_or_else(|e| {
                notices.push(e.to_string());
                None
            }),
            None => None,
        };
        let (identity, name, fresh) = match stored {
            Some(s) => (
                Identity::from_secret_bytes(&s.secret),
                s.display_name,
                false,
            ),
            None => {
                let identity = Identity::generate(&mut rand_core::OsRng);
                let text = identity.public().to_text();
                let name = format!("Guest {}", text.get(..4).unwrap_or("0000"));
                (identity, name, true)
            }
        };
        let me = identity.public();
        let mut rt = Runtime {
            ui,
            storage,
            last_flush: 0.0,
            ui_budget: UI_BURST,
            flush_cost: std::rc::Rc::default(),
            writes: std::rc::Rc::default(),
            identity,
            me,
            name,
            settings,
            server_ice: Vec::new(),
            signaling: None,
            signal_rx: None,
            rtc_tx,
            rtc_rx,
            rooms: BTreeMap::new(),
            lobbies: HashMap::new(),
            conns: HashMap::new(),
            next_key: 1,
            current: None,
            next_notice: 1,
            names: HashMap::new(),
            away: false,
            verifier: crate::sigcheck::WebVerifier::new(),
            safety: Default::default(),
        };
        for n in notices {
            rt.notify(n);
        }
        if fresh {
            rt.save_identity().await;
        }
        rt.ui.my_name.set(rt.name.clone());
        rt.ui.my_key.set(rt.me.to_text());
        match crate::server::fetch_config().await {
            Ok(cfg) => {
                rt.ui.server.set(ServerState::Reachable {
                    ice_servers: cfg.ice_servers.len(),
                });
                rt.server_ice = cfg.ice_servers;
                rt.ui.embed_origins.set(cfg.embed_origins);
            }
            Err(e) => rt.ui.server.set(ServerState::Unreachable(e.to_string())),
        }
        match Signaling::connect(SignalingConfig::default()) {
            Ok((s, rx)) => {
                rt.signaling = Some(s);
                rt.signal_rx = Some(rx);
            }
            Err(e) => rt.notify(e.to_string()),
        }
        rt.load_rooms().await;
        rt.ui.ready.set(true);
        rt.refresh_rooms();
        (rt, deferred)
    }

    async fn load_rooms(&mut self) {
        let Some(storage) = &self.storage else { return };
        let records = match storage.load_rooms().await {
            Ok(r) => r,
            Err(e) => {
                self.notify(e.to_string());
                return;
            }
        };
        for rec in records {
            if let Err(e) = self.load_room(rec).await {
                self.notify(e);
            }
        }
    }

    async fn load_room(&mut self, rec: RoomRecord) -> Result<(), String> {
        let Some(storage) = &self.storage else {
            return Ok(());
        };
        let settings = RoomSettings {
            left: rec.left,
            password_key: rec.password_key,
        };
        let password_key = settings.password_key.map(PasswordKey::from_bytes);
        let room = Room::from_parts(
            RoomSecret::from_bytes(rec.secret),
            rec.name.as_deref(),
            password_key,
        )
        .map_err(|e| format!("A stored room could not be opened: {e}"))?;
        let mut records = Vec::new();
        let mut cursor = None;
        loop {
            let page = storage
                .load_entries(&rec.id, cursor, 2000)
                .await
                .map_err(|e| e.to_string())?;
            let Some(last) = page.last() else { break };
            cursor = Some(crate::storage::EntryCursor::at(last));
            let done = page.len() < 2000;
            records.extend(page);
            if done {
                break;
            }
        }
        let evidence = storage
            .load_evidence(&rec.id)
            .await
            .map_err(|e| e.to_string())?;
        // Peers choose wall_ms: a future time must not pin the room to the top of the list.
        let last_activity = records
            .iter()
            .map(|r| r.entry.wall_ms)
            .max()
            .unwrap_or(0)
            .min(now_ms());
        let sync = RoomSync::load(
            room.id(),
            self.clone_identity(),
            SyncConfig::default(),
            records,
            evidence,
            true,
        )
        .map_err(|e| format!("The history of a room on this device is damaged: {e}"))?;
        let verified = storage
            .load_peers(&rec.id)
            .await
            .map_err(|e| e.to_string())?
            .into_iter()
            .map(|p| p.key)
            .collect();
        let left = settings.left;
        let id = room.id();
        let rt = RoomRt::new(
            room,
            false,
            settings,
            sync,
            verified,
            last_activity.max(rec.last_activity_ms.min(now_ms())),
        );
        self.rooms.insert(id, rt);
        if !left {
            self.join_signaling(id);
        }
        Ok(())
    }

    fn clone_identity(&self) -> Identity {
        Identity::from_secret_bytes(&self.identity.secret_bytes())
    }

    async fn run(&mut self, mut commands: mpsc::UnboundedReceiver<Command>) {
        let mut ticks = gloo_timers::future::IntervalStream::new(TICK_MS).fuse();
        let mut signal_rx = self.signal_rx.take().unwrap_or_else(|| mpsc::unbounded().1);
        enum Wake {
            Command(Option<Command>),
            Signal(Option<SignalEvent>),
            Rtc(Option<(u64, RtcEvent)>),
            Tick,
        }
        loop {
            let wake = futures::select! {
                c = commands.next() => Wake::Command(c),
                s = signal_rx.next() => Wake::Signal(s),
                r = self.rtc_rx.next() => Wake::Rtc(r),
                _ = ticks.next() => Wake::Tick,
            };
            match wake {
                Wake::Command(Some(c)) => self.on_command(c).await,
                Wake::Command(None) => return,
                Wake::Signal(Some(s)) => self.on_signal_event(s).await,
                Wake::Rtc(Some((key, ev))) => self.on_rtc(key, ev).await,
                Wake::Signal(None) | Wake::Rtc(None) => {}
                Wake::Tick => self.on_tick().await,
            }
            self.flush_ui_paced();
        }
    }

    /// Refreshes the views when the time they may take allows it; a later event or tick
    /// refreshes them otherwise.
    ///
    /// Rebuilding the open room's view, and the views redrawing what changed, costs time in
    /// proportion to its history and to what is new. Refreshing may take [`UI_SHARE`] of
    /// the time, with [`UI_BURST`] ms in hand after a quiet spell: a message, or a few in a
    /// row, is shown at once; a catch-up of thousands of entries is shown a few times a
    /// second, not after every frame (the views would redraw the latest page each time).
    fn flush_ui_paced(&mut self) {
        let started = js_sys::Date::now();
        // The last refresh's cost, its redrawing included, is known by now.
        let budget = (self.ui_budget - self.flush_cost.get()
            + (started - self.last_flush) * UI_SHARE)
            .min(UI_BURST);
        if budget < 0.0 {
            return;
        }
        if !self.flush_ui() {
            return;
        }
        self.ui_budget = budget;
        self.last_flush = started;
        self.flush_cost.set(js_sys::Date::now() - started);
        // The views redraw in tasks that the signals just set have queued; a task queued
        // after them sees when they are done.
        let cost = self.flush_cost.clone();
        wasm_bindgen_futures::spawn_local(async move {
            cost.set(js_sys::Date::now() - started);
        });
    }

    // ----- commands -----

    async fn on_command(&mut self, command: Command) {
        match command {
            Command::SetName(name) => self.set_name(name).await,
            Command::CreateRoom {
                name,
                password,
                ephemeral,
            } => self.create_room(name, password, ephemeral).await,
            Command::JoinLink { link, password } => self.join_link(link, password).await,
            Command::RetryPassword { room, password } => self.retry_password(&room, password).await,
            Command::JoinNamed { name, password } => {
                self.busy(Some("Opening the room…"));
                yield_to_browser().await;
                let r = Room::from_name_and_password(&name, &password);
                self.busy(None);
                match r {
                    Ok(room) => self.add_room(room, false, false).await,
                    Err(e) => self.notify(format!("Could not open the room {name:?}: {e}.")),
                }
            }
            Command::Open(id) => self.open(id).await,
            Command::Post {
                room,
                text,
                reply_to,
            } => {
                if text.trim().is_empty() {
                    return;
                }
                let reply_to = reply_to.as_deref().and_then(EntryId::from_hex);
                self.post(&room, Body::Text { text, reply_to }).await;
            }
            Command::Edit { room, target, text } => {
                if let Some(target) = EntryId::from_hex(&target) {
                    if !text.trim().is_empty() {
                        self.post(&room, Body::Edit { target, text }).await;
                    }
                }
            }
            Command::Delete { room, target } => {
                if let Some(target) = EntryId::from_hex(&target) {
                    self.post(&room, Body::Delete { target }).await;
                }
            }
            Command::React {
                room,
                target,
                emoji,
            } => {
                let (Some(target), Some(id)) =
                    (EntryId::from_hex(&target), RoomId::from_hex(&room))
                else {
                    return;
                };
                // Reacting again with the same emoji takes our reaction back.
                let ours = self
                    .rooms
                    .get(&id)
                    .and_then(|r| live_reaction(r.sync.log().entries_of(&self.me), target, &emoji));
                let body = match ours {
                    Some(reaction) => Body::Delete { target: reaction },
                    None => Body::Reaction { target, emoji },
                };
                self.post(&room, body).await;
            }
            Command::Typing { room, active } => {
                if let Some(id) = RoomId::from_hex(&room) {
                    self.handle(id, Input::Typing(active)).await;
                }
            }
            Command::MarkVerified { room, key } => self.mark_verified(&room, &key).await,
            Command::Visible(visible) => {
                self.away = !visible;
                let presence = if visible {
                    Presence::Online
                } else {
                    Presence::Away
                };
                let ids: Vec<RoomId> = self.rooms.keys().copied().collect();
                for id in ids {
                    self.handle(id, Input::Presence(presence)).await;
                }
            }
            Command::Leave(room) => {
                if let Some(id) = RoomId::from_hex(&room) {
                    self.leave(id, false).await;
                }
            }
            Command::DeleteRoom(room) => {
                if let Some(id) = RoomId::from_hex(&room) {
                    self.leave(id, true).await;
                }
            }
            Command::SaveSettings(settings) => {
                if let Some(s) = local_storage() {
                    let text = serde_json::to_string(&settings).unwrap_or_default();
                    if s.set_item(SETTINGS_KEY, &text).is_err() {
                        self.notify("The settings could not be saved on this device.".into());
                    }
                }
                self.settings = settings.clone();
                self.ui.settings.set(settings);
            }
            Command::EraseAll => self.erase_all().await,
            Command::Unlock(_) => {}
            Command::EnableLock(passphrase) => self.enable_lock(passphrase).await,
            Command::DisableLock(passphrase) => self.disable_lock(passphrase).await,
            Command::LockNow => {
                // Locking is reloading: nothing of the session stays in memory, and the
                // new page asks for the passphrase before it loads anything.
                if let Some(w) = web_sys::window() {
                    let _ = w.location().reload();
                }
            }
            Command::Dismiss(id) => self.ui.notices.update(|n| n.retain(|x| x.id != id)),
        }
    }

    async fn set_name(&mut self, name: String) {
        let name = name.split_whitespace().collect::<Vec<_>>().join(" ");
        if let Err(e) = validate_display_name(&name) {
            self.notify(format!("That name cannot be used: {e}."));
            return;
        }
        self.name = name.clone();
        self.ui.my_name.set(name.clone());
        self.save_identity().await;
        let ids: Vec<RoomId> = self.rooms.keys().copied().collect();
        for id in ids {
            self.post_profile(id).await;
        }
    }

    async fn save_identity(&mut self) {
        if let Some(s) = &self.storage {
            let r = s
                .put_identity(&StoredIdentity {
                    secret: self.identity.secret_bytes(),
                    display_name: self.name.clone(),
                })
                .await;
            if let Err(e) = r {
                self.notify(e.to_string());
            }
        }
    }

    async fn create_room(
        &mut self,
        name: Option<String>,
        password: Option<String>,
        ephemeral: bool,
    ) {
        let name = name.filter(|n| !n.trim().is_empty());
        let password = password.filter(|p| !p.is_empty());
        if password.is_some() {
            self.busy(Some("Protecting the room with its password…"));
            yield_to_browser().await;
        }
        let r = Room::create(&mut rand_core::OsRng, name.as_deref(), password.as_deref());
        self.busy(None);
        match r {
            Ok(room) => self.add_room(room, ephemeral, false).await,
            Err(e) => self.notify(format!("The room could not be created: {e}.")),
        }
    }

    async fn join_link(&mut self, link: String, password: Option<String>) {
        let invite = match Invite::parse(link.trim()) {
            Ok(i) => i,
            Err(e) => {
                self.notify(format!("This invite link cannot be used: {e}."));
                return;
            }
        };
        let password = password.filter(|p| !p.is_empty());
        if invite.password_required() && password.is_none() {
            self.ui.password_prompt.set(Some(link));
            return;
        }
        if password.is_some() {
            self.busy(Some("Checking the password…"));
            yield_to_browser().await;
        }
        let r = Room::from_invite(&invite, password.as_deref());
        self.busy(None);
        let room = match r {
            Ok(r) => r,
            Err(e) => {
                self.notify(format!("Could not join the room: {e}."));
                return;
            }
        };
        let check = room.has_password();
        self.add_room(room, false, check).await;
    }

    /// With the room password entered again from the room `room` (whose password the lobby
    /// made doubtful): joins the room that password opens. The room the earlier password
    /// made is deleted only if nothing but our own profile was ever written there; otherwise
    /// it stays, for the user to leave or delete.
    async fn retry_password(&mut self, room: &str, password: String) {
        let Some(old) = RoomId::from_hex(room) else {
            return;
        };
        let Some(invite) = self.rooms.get(&old).map(|r| r.room.invite()) else {
            return;
        };
        if password.is_empty() {
            return;
        }
        self.busy(Some("Checking the password…"));
        yield_to_browser().await;
        let r = Room::from_invite(&invite, Some(&password));
        self.busy(None);
        let room = match r {
            Ok(r) => r,
            Err(e) => return self.notify(format!("Could not join the room: {e}.")),
        };
        if room.id() == old {
            // The same password again: the room is already joined; the hint stays until
            // someone arrives.
            return;
        }
        let me = self.me;
        let untouched = self.rooms.get(&old).is_some_and(|r| {
            r.sync.log().authors().all(|a| *a == me)
                && r.sync
                    .log()
                    .entries_of(&me)
                    .iter()
                    .all(|rec| matches!(rec.entry.body, Body::Profile { .. }))
        });
        if untouched {
            self.leave(old, true).await;
        }
        self.add_room(room, false, true).await;
    }

    /// Adds a room (or opens it if it is already here), joins it, stores it and shows it.
    /// With `check`, the lobby's head counts are watched for the password hint.
    async fn add_room(&mut self, room: Room, ephemeral: bool, check: bool) {
        let id = room.id();
        if self.rooms.contains_key(&id) {
            // Opening it rejoins it if it was left.
            navigate(&format!("#/room/{}", id.to_hex()));
            return;
        }
        let sync = RoomSync::new(id, self.clone_identity(), SyncConfig::default());
        let mut settings = RoomSettings::default();
        if let Some(k) = room.password_key() {
            settings.password_key = Some(*k.as_bytes());
        }
        let mut rt = RoomRt::new(room, ephemeral, settings, sync, BTreeSet::new(), now_ms());
        if check {
            rt.lobby_check = Some(LobbyCheck::default());
        }
        self.rooms.insert(id, rt);
        self.join_signaling(id);
        self.ui.password_prompt.set(None);
        self.save_room(id).await;
        self.post_profile(id).await;
        self.refresh_rooms();
        navigate(&format!("#/room/{}", id.to_hex()));
    }

    async fn save_room(&mut self, id: RoomId) {
        let (Some(storage), Some(r)) = (&self.storage, self.rooms.get(&id)) else {
            return;
        };
        if r.ephemeral {
            return;
        }
        let rec = RoomRecord {
            id,
            secret: *r.room.secret().as_bytes(),
            name: r.room.name().map(str::to_owned),
            password_required: r.room.has_password(),
            left: r.settings.left,
            password_key: r.settings.password_key,
            last_activity_ms: r.last_activity_ms,
        };
        if let Err(e) = storage.put_room(&rec).await {
            self.notify(e.to_string());
        }
    }

    async fn post_profile(&mut self, id: RoomId) {
        let Some(r) = self.rooms.get(&id) else { return };
        // Our latest profile entry in this room, if any (no need to build the whole view).
        let current = r
            .sync
            .log()
            .entries_of(&self.me)
            .iter()
            .rev()
            .find_map(|rec| match &rec.entry.body {
                Body::Profile { display_name } => Some(display_name),
                _ => None,
            });
        if current == Some(&self.name) {
            return;
        }
        let body = Body::Profile {
            display_name: self.name.clone(),
        };
        self.handle(id, Input::Post(body)).await;
    }

    async fn post(&mut self, room: &str, body: Body) {
        let Some(id) = RoomId::from_hex(room) else {
            return;
        };
        if let Some(r) = self.rooms.get_mut(&id) {
            r.last_activity_ms = now_ms();
        }
        self.handle(id, Input::Post(body)).await;
    }

    async fn open(&mut self, id: Option<String>) {
        let id = id.as_deref().and_then(RoomId::from_hex);
        self.current = id.filter(|i| self.rooms.contains_key(i));
        if let Some(id) = self.current {
            let rejoin = match self.rooms.get_mut(&id) {
                Some(r) => {
                    r.unread = 0;
                    r.dirty = true;
                    std::mem::take(&mut r.settings.left)
                }
                None => false,
            };
            if rejoin {
                self.join_signaling(id);
                self.save_room(id).await;
            }
        } else {
            self.ui.room.set(None);
        }
        self.refresh_rooms();
    }

    async fn mark_verified(&mut self, room: &str, key: &str) {
        let (Some(id), Ok(key)) = (RoomId::from_hex(room), PublicKey::from_text(key)) else {
            return;
        };
        let Some(r) = self.rooms.get_mut(&id) else {
            return;
        };
        r.verified.insert(key);
        r.dirty = true;
        let ephemeral = r.ephemeral;
        if let (Some(s), false) = (&self.storage, ephemeral) {
            let peer = VerifiedPeer {
                key,
                verified_at_ms: now_ms(),
            };
            if let Err(e) = s.put_peer(&id, &peer).await {
                self.notify(e.to_string());
            }
        }
    }

    async fn leave(&mut self, id: RoomId, delete: bool) {
        let Some(r) = self.rooms.get_mut(&id) else {
            return;
        };
        let ephemeral = r.ephemeral;
        let lobby = r.lobby.take();
        r.session = None;
        self.leave_signaling(id, lobby);
        self.close_conns(|c| c.room == id);
        if delete || ephemeral {
            self.rooms.remove(&id);
            if delete && !ephemeral {
                // Entries not yet written are not written; a write under way was made
                // before the deletion, which runs after it.
                self.writes.borrow_mut().forget_room(&id);
                if let Some(s) = &self.storage {
                    if let Err(e) = s.delete_room(&id).await {
                        self.notify(e.to_string());
                    }
                }
            }
        } else if let Some(r) = self.rooms.get_mut(&id) {
            r.settings.left = true;
            r.dirty = true;
            self.save_room(id).await;
        }
        if self.current == Some(id) {
            self.current = None;
            self.ui.room.set(None);
        }
        self.refresh_rooms();
        navigate("#/");
    }

    async fn enable_lock(&mut self, passphrase: String) {
        let Some(s) = self.storage.clone() else {
            self.notify(
                "This browser keeps no data for Natter, so there is nothing to lock.".into(),
            );
            return;
        };
        self.busy(Some("Turning the app lock on…"));
        yield_to_browser().await;
        let params = VaultParams::new(&mut rand_core::OsRng);
        let result = match VaultKey::derive(&passphrase, &params) {
            Ok(key) => {
                let lock = StoredLock {
                    params,
                    verifier: key.verifier(&mut rand_core::OsRng),
                };
                s.enable_lock(&lock, key).await.map_err(|e| e.to_string())
            }
            Err(e) => Err(e.to_string()),
        };
        self.busy(None);
        match result {
            Ok(()) => self.ui.lock_on.set(true),
            Err(e) => self.notify(format!("The app lock could not be turned on: {e}")),
        }
    }

    async fn disable_lock(&mut self, passphrase: String) {
        let Some(s) = self.storage.clone() else {
            return;
        };
        let lock = match s.load_lock().await {
            Ok(Some(lock)) => lock,
            Ok(None) => return self.ui.lock_on.set(false),
            Err(e) => return self.notify(e.to_string()),
        };
        self.busy(Some("Turning the app lock off…"));
        yield_to_browser().await;
        let key = VaultKey::unlock(&passphrase, &lock.params, &lock.verifier);
        let result = match key {
            Ok(_) => s.disable_lock().await.map_err(|e| e.to_string()),
            Err(VaultError::WrongPassphrase) => {
                Err("wrong passphrase; the app lock stays on".to_owned())
            }
            Err(e) => Err(e.to_string()),
        };
        self.busy(None);
        match result {
            Ok(()) => self.ui.lock_on.set(false),
            Err(e) => self.notify(format!("The app lock was not turned off: {e}.")),
        }
    }

    async fn erase_all(&mut self) {
        let ids: Vec<RoomId> = self.rooms.keys().copied().collect();
        for id in ids {
            let lobby = self.rooms.get_mut(&id).and_then(|r| r.lobby.take());
            self.leave_signaling(id, lobby);
        }
        self.close_conns(|_| true);
        self.rooms.clear();
        self.writes.borrow_mut().clear();
        if let Some(s) = &self.storage {
            if let Err(e) = s.erase_all().await {
                self.notify(e.to_string());
                return;
            }
        }
        if let Some(s) = local_storage() {
            let _ = s.remove_item(SETTINGS_KEY);
        }
        // A fresh start: new identity, nothing stored.
        if let Some(w) = web_sys::window() {
            let _ = w.location().set_hash("#/");
            let _ = w.location().reload();
        }
    }

    // ----- signaling -----

    fn join_signaling(&mut self, id: RoomId) {
        let Some(sig) = &self.signaling else { return };
        let Some(r) = self.rooms.get_mut(&id) else {
            return;
        };
        if let Err(e) = sig.join(&id.to_hex()) {
            warn(&e.to_string());
        }
        if let Some(lobby) = r.room.lobby_id() {
            let lobby = lobby.to_hex();
            let _ = sig.join(&lobby);
            self.lobbies.insert(lobby.clone(), id);
            r.lobby = Some(lobby);
        }
    }

    fn leave_signaling(&mut self, id: RoomId, lobby: Option<String>) {
        let Some(sig) = &self.signaling else { return };
        let _ = sig.leave(&id.to_hex());
        if let Some(l) = lobby {
            let _ = sig.leave(&l);
            self.lobbies.remove(&l);
        }
    }

    async fn on_signal_event(&mut self, event: SignalEvent) {
        match &event {
            SignalEvent::Signal { .. } => {}
            other => trace(&format!("signaling: {other:?}")),
        }
        match event {
            SignalEvent::Connected => self.ui.signaling.set(SignalingState::Connected),
            SignalEvent::Disconnected {
                reason,
                retry_in_ms,
            } => {
                for r in self.rooms.values_mut() {
                    r.session = None;
                }
                // Connections still negotiating cannot finish without the server.
                self.close_conns(|c| matches!(c.state, ConnState::Connecting));
                self.ui.signaling.set(if retry_in_ms == 0 {
                    SignalingState::Idle
                } else {
                    SignalingState::Reconnecting {
                        in_secs: retry_in_ms.div_ceil(1000),
                        reason,
                    }
                });
            }
            SignalEvent::Joined {
                room,
                session,
                peers,
            } => {
                if let Some(id) = self.lobbies.get(&room).copied() {
                    self.on_check(id, None, Some(peers.len()));
                    return;
                }
                let Some(id) = RoomId::from_hex(&room) else {
                    return;
                };
                let Some(r) = self.rooms.get_mut(&id) else {
                    return;
                };
                r.session = Some(session);
                let checking = r.lobby_check.is_some();
                let n = peers.len();
                for p in peers {
                    self.connect(id, p);
                }
                if checking {
                    self.on_check(id, Some(n), None);
                }
            }
            SignalEvent::PeerJoined { room, session } => {
                if self.lobbies.contains_key(&room) {
                    return;
                }
                if let Some(id) = RoomId::from_hex(&room) {
                    self.connect(id, session);
                    if let Some(check) =
                        self.rooms.get_mut(&id).and_then(|r| r.lobby_check.as_mut())
                    {
                        check.met_someone();
                        self.mark_dirty(id);
                    }
                }
            }
            SignalEvent::PeerLeft { room, session } => {
                let Some(id) = RoomId::from_hex(&room) else {
                    return;
                };
                // A connection that is up carries on without the server; one that is still
                // negotiating, or whose link is down, cannot recover.
                for c in self.conns.values_mut() {
                    if c.room == id && c.remote_session == session {
                        c.remote_left = true;
                    }
                }
                self.close_conns(Conn::is_dead);
            }
            SignalEvent::Signal { room, from, blob } => self.on_blob(&room, &from, &blob),
            // A blob for a peer that just left: expected, and nothing the user can act on.
            SignalEvent::Error {
                code: Some(natter_core::signal::ErrorCode::UnknownPeer),
                ..
            } => {}
            SignalEvent::Error { message, .. } => self.notify(message),
        }
    }

    /// A head count for a password room's check came (`room_peers` from the room,
    /// `lobby_peers` from its lobby): tells the user what it says, and never removes the room.
    fn on_check(&mut self, id: RoomId, room_peers: Option<usize>, lobby_peers: Option<usize>) {
        let Some(check) = self.rooms.get_mut(&id).and_then(|r| r.lobby_check.as_mut()) else {
            return;
        };
        let before = check.verdict();
        if let Some(n) = room_peers {
            check.room_joined(n);
        }
        if let Some(n) = lobby_peers {
            check.lobby_joined(n);
        }
        let after = check.verdict();
        if after == before {
            return;
        }
        if after == Verdict::NobodyOnline {
            self.notify(
                "Nobody from this room is online right now. If the password is wrong you will not \
                 meet anyone; otherwise you connect when someone comes online."
                    .into(),
            );
        }
        self.mark_dirty(id);
    }

    /// The room's view needs rebuilding.
    fn mark_dirty(&mut self, id: RoomId) {
        if let Some(r) = self.rooms.get_mut(&id) {
            r.dirty = true;
        }
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

    /// Opens a connection to `remote` in room `id` unless one exists or it is blocked.
    fn connect(&mut self, id: RoomId, remote: String) -> Option<u64> {
        let r = self.rooms.get(&id)?;
        let local = r.session.clone()?;
        if r.blocked.contains(&remote) {
            return None;
        }
        if let Some((k, _)) = self
            .conns
            .iter()
            .find(|(_, c)| c.room == id && c.remote_session == remote)
        {
            return Some(*k);
        }
        // A signaling server (or a flood of sessions) chooses how many peers it names.
        if self.conns.values().filter(|c| c.room == id).count() >= MAX_CONNS_PER_ROOM {
            trace(&format!(
                "room full here: not connecting to {}",
                short(&remote)
            ));
            return None;
        }
        let key = self.next_key;
        self.next_key += 1;
        let polite = local < remote;
        trace(&format!(
            "conn {key}: to {} as {} ({})",
            short(&remote),
            short(&local),
            if polite { "polite" } else { "impolite" }
        ));
        match PeerConn::new(key, &self.rtc_options(), polite, self.rtc_tx.clone()) {
            Ok(pc) => {
                self.conns.insert(
                    key,
                    Conn {
                        room: id,
                        remote_session: remote,
                        local_session: local,
                        pc,
                        state: ConnState::Connecting,
                        link: String::new(),
                        remote_left: false,
                        early: Vec::new(),
                        opened_at: 0.0,
                    },
                );
                if let Some(r) = self.rooms.get_mut(&id) {
                    r.dirty = true;
                }
                Some(key)
            }
            Err(e) => {
                self.notify(e);
                None
            }
        }
    }

    fn on_blob(&mut self, room: &str, from: &str, blob: &str) {
        let Some(id) = RoomId::from_hex(room) else {
            return;
        };
        let Some(r) = self.rooms.get(&id) else { return };
        let Some(local) = r.session.clone() else {
            return;
        };
        let plain = match natter_core::seal::open_text(r.room.signal_key(), &id, from, &local, blob)
        {
            Ok(p) => p,
            Err(e) => {
                warn(&format!("a sealed signal did not open: {e}"));
                return;
            }
        };
        let Some(msg) = PeerSignal::decode(&plain) else {
            warn("a peer's signal could not be read");
            return;
        };
        if let Some(key) = self.connect(id, from.to_owned()) {
            match &msg {
                PeerSignal::Sdp { kind, .. } => trace(&format!("conn {key}: received {kind}")),
                PeerSignal::Ice { candidate, .. } => {
                    trace(&format!("conn {key}: received candidate {candidate}"))
                }
            }
            if let Some(c) = self.conns.get(&key) {
                c.pc.on_signal(msg);
            }
        }
    }

    // ----- WebRTC -----

    async fn on_rtc(&mut self, key: u64, event: RtcEvent) {
        match &event {
            RtcEvent::Signal(PeerSignal::Sdp { kind, .. }) => {
                trace(&format!("conn {key}: sending {kind}"))
            }
            RtcEvent::Signal(PeerSignal::Ice { candidate, .. }) => {
                trace(&format!("conn {key}: sending candidate {candidate}"))
            }
            RtcEvent::Frame(_) | RtcEvent::Drained => {}
            other => trace(&format!("conn {key}: {other:?}")),
        }
        let Some(conn) = self.conns.get_mut(&key) else {
            return;
        };
        let id = conn.room;
        match event {
            RtcEvent::Signal(msg) => {
                let (Some(sig), Some(r)) = (&self.signaling, self.rooms.get(&id)) else {
                    return;
                };
                let plain = msg.encode();
                match natter_core::seal::seal_to_text(
                    r.room.signal_key(),
                    &mut rand_core::OsRng,
                    &id,
                    &conn.local_session,
                    &conn.remote_session,
                    &plain,
                ) {
                    Ok(blob) => {
                        let _ = sig.signal(&id.to_hex(), &conn.remote_session, &blob);
                    }
                    Err(e) => warn(&format!("a signal could not be sealed: {e}")),
                }
            }
            RtcEvent::Open {
                local_fingerprint,
                remote_fingerprint,
            } => {
                let signed = HelloContext::new(
                    id,
                    &local_fingerprint,
                    &remote_fingerprint,
                    &conn.local_session,
                    &conn.remote_session,
                )
                .and_then(|ctx| Hello::new(&self.identity, &self.name, &ctx).map(|h| (ctx, h)));
                match signed {
                    Ok((ctx, hello)) => {
                        conn.pc.send(Frame::Hello(hello.to_bytes()).encode());
                        conn.state = ConnState::Open(ctx);
                        conn.opened_at = js_sys::Date::now();
                        for frame in std::mem::take(&mut conn.early) {
                            self.on_frame(key, frame).await;
                        }
                    }
                    Err(e) => {
                        self.drop_conn(key, format!("A connection could not be secured: {e}."));
                    }
                }
            }
            RtcEvent::Frame(bytes) => self.on_frame(key, bytes).await,
            RtcEvent::State(link) => {
                conn.link = link;
                if let Some(r) = self.rooms.get_mut(&id) {
                    r.dirty = true;
                }
                self.close_conns(Conn::is_dead);
            }
            RtcEvent::Closed => self.remove_conn(key).await,
            RtcEvent::Failed(words) => warn(&words),
            RtcEvent::Drained => self.handle(id, Input::Drained(PeerId(key))).await,
        }
    }

    async fn on_frame(&mut self, key: u64, bytes: Vec<u8>) {
        let Some(conn) = self.conns.get(&key) else {
            return;
        };
        let id = conn.room;
        let ctx = match &conn.state {
            ConnState::Verified { .. } => {
                // Entry signatures are checked by the browser's own Ed25519 first (natively,
                // about twice as fast as in wasm; waiting for it also lets the entry writes
                // queued so far start); natter-core does the rest and anything left unchecked.
                if let Some(pending) = self.verifier.start(&bytes).await {
                    let passed = pending.passed().await;
                    if let Some(r) = self.rooms.get_mut(&id) {
                        r.sync.accept_checked(passed);
                    }
                }
                let input = Input::Frame {
                    peer: PeerId(key),
                    bytes,
                };
                self.handle(id, input).await;
                return;
            }
            ConnState::Connecting => {
                // The peer's hello can overtake the report that the channel opened.
                if let Some(c) = self.conns.get_mut(&key) {
                    if c.early.len() < 16 {
                        c.early.push(bytes);
                        return;
                    }
                }
                self.drop_conn(
                    key,
                    "A peer sent too much before the connection was ready.".into(),
                );
                return;
            }
            ConnState::Open(ctx) => ctx.clone(),
        };
        let session = conn.remote_session.clone();
        let proof = match Frame::decode(&bytes) {
            Ok(Frame::Hello(h)) => Hello::from_bytes(&h)
                .map_err(|e| e.to_string())
                .and_then(|h| h.verify(&ctx).map(|()| h).map_err(|e| e.to_string())),
            Ok(_) => Err("it sent data before proving who it is".into()),
            Err(e) => Err(e.to_string()),
        };
        let hello = match proof {
            Ok(h) => h,
            Err(why) => {
                if let Some(r) = self.rooms.get_mut(&id) {
                    r.blocked.insert(session);
                }
                self.drop_conn(
                    key,
                    format!("A peer failed verification and was disconnected: {why}."),
                );
                return;
            }
        };
        let peer_key = *hello.identity();
        if peer_key == self.me {
            // Ourselves, in another tab.
            self.drop_conn(key, String::new());
            return;
        }
        // The same person over an older connection (a reload the old one has not noticed
        // yet, or a reconnect after the server came back): the newer one wins, on both ends.
        self.close_conns(|c| {
            c.room == id && matches!(c.state, ConnState::Verified { key: pk } if pk == peer_key)
        });
        self.names.insert(peer_key, hello.display_name().to_owned());
        if let Some(c) = self.conns.get_mut(&key) {
            c.state = ConnState::Verified { key: peer_key };
        }
        if let Some(r) = self.rooms.get_mut(&id) {
            // A new connection starts active: an "away" said over an earlier one (a page
            // that was hidden as it reloaded, say) no longer holds.
            r.presence.remove(&peer_key);
        }
        self.handle(id, Input::PeerConnected(PeerId(key))).await;
        if self.away {
            // Peers take a new connection to be active; say that we are not.
            self.handle(id, Input::Presence(Presence::Away)).await;
        }
        if let Some(r) = self.rooms.get_mut(&id) {
            r.dirty = true;
        }
    }

    fn drop_conn(&mut self, key: u64, notice: String) {
        trace(&format!("conn {key}: closing {notice}"));
        if let Some(c) = self.conns.get(&key) {
            c.pc.close();
        }
        if !notice.is_empty() {
            self.notify(notice);
        }
        // The close event does not fire for a connection closed from our side.
        let tx = self.rtc_tx.clone();
        let _ = tx.unbounded_send((key, RtcEvent::Closed));
    }

    async fn remove_conn(&mut self, key: u64) {
        let Some(c) = self.conns.remove(&key) else {
            return;
        };
        c.pc.close();
        if matches!(c.state, ConnState::Verified { .. }) {
            self.handle(c.room, Input::PeerDisconnected(PeerId(key)))
                .await;
        }
        if let Some(r) = self.rooms.get_mut(&c.room) {
            r.dirty = true;
        }
    }

    fn close_conns(&mut self, which: impl Fn(&Conn) -> bool) {
        let keys: Vec<u64> = self
            .conns
            .iter()
            .filter(|(_, c)| which(c))
            .map(|(k, _)| *k)
            .collect();
        for k in keys {
            self.drop_conn(k, String::new());
        }
    }

    // ----- the protocol -----

    async fn on_tick(&mut self) {
        let ids: Vec<RoomId> = self.rooms.keys().copied().collect();
        let now = js_sys::Date::now();
        let silent: Vec<u64> = self
            .conns
            .iter()
            .filter(|(_, c)| {
                matches!(c.state, ConnState::Open(_)) && now - c.opened_at > HELLO_TIMEOUT_MS
            })
            .map(|(k, _)| *k)
            .collect();
        for key in silent {
            self.drop_conn(
                key,
                "A peer did not say who it is in time and was disconnected.".into(),
            );
        }
        for id in ids {
            if let Some(r) = self.rooms.get_mut(&id) {
                let before = r.typing.len();
                r.typing.retain(|_, until| *until > now);
                if r.typing.len() != before {
                    r.dirty = true;
                }
            }
            self.handle(id, Input::Tick).await;
        }
    }

    /// Feeds one input to a room and executes every output.
    async fn handle(&mut self, id: RoomId, input: Input) {
        let Some(r) = self.rooms.get_mut(&id) else {
            return;
        };
        let is_post = matches!(input, Input::Post(_));
        if let Err(e) = r.sync.handle(now_ms(), input) {
            if is_post {
                self.notify(format!("The message could not be posted: {e}."));
            }
            return;
        }
        loop {
            let Some(r) = self.rooms.get_mut(&id) else {
                return;
            };
            let outputs = r.sync.drain_outputs();
            if outputs.is_empty() {
                break;
            }
            for out in outputs {
                self.execute(id, out).await;
            }
        }
    }

    async fn execute(&mut self, id: RoomId, out: Output) {
        match out {
            Output::Send { peer, bytes } => {
                if let Some(c) = self.conns.get(&peer.0) {
                    c.pc.send(bytes);
                }
            }
            Output::Store(records) => {
                let Some(r) = self.rooms.get(&id) else { return };
                if r.ephemeral {
                    return;
                }
                let Some(s) = self.storage.clone() else {
                    return;
                };
                if records.iter().any(|rec| rec.entry.author == self.me) {
                    // Our own entries are on disk before they are sent or shown: a lost own
                    // entry would make us sign its seq again, which peers treat as a fork.
                    if let Err(e) = s.put_entries(&id, &records).await {
                        self.notify(e.to_string());
                    }
                } else {
                    self.write_behind(s, id, records);
                }
            }
            Output::Event(ev) => self.on_event(id, ev).await,
            Output::ScheduleTimer { .. } => {}
            Output::Disconnect { peer, reason } => {
                let name = self.peer_name(peer.0);
                if let Some(c) = self.conns.get(&peer.0) {
                    let session = c.remote_session.clone();
                    if let Some(r) = self.rooms.get_mut(&id) {
                        r.blocked.insert(session);
                    }
                }
                self.drop_conn(
                    peer.0,
                    format!("{name} sent data that failed verification ({reason}) and was disconnected."),
                );
            }
        }
    }

    /// Queues others' entries for writing (see [`crate::write_queue`]). They are shown
    /// while the write completes: if it fails (or the tab dies first) they come back from
    /// peers at the next sync.
    fn write_behind(&mut self, storage: std::rc::Rc<Storage>, id: RoomId, records: Vec<Record>) {
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

    fn peer_name(&self, key: u64) -> String {
        match self.conns.get(&key).map(|c| &c.state) {
            Some(ConnState::Verified { key }) => self.name_of(key, None),
            _ => "A peer".into(),
        }
    }

    async fn on_event(&mut self, id: RoomId, ev: Event) {
        if let Event::Equivocation {
            author,
            first,
            second,
        } = &ev
        {
            let kept = self.rooms.get(&id).is_some_and(|r| !r.ephemeral);
            if let (Some(s), true) = (self.storage.clone(), kept) {
                // Kept once per author, in a record of its own (see `crate::storage`).
                if let Err(e) = s.put_evidence(&id, first, second).await {
                    self.notify(e.to_string());
                }
            }
            // The profile name from the log (no view built per equivocation).
            let name = self
                .rooms
                .get(&id)
                .and_then(|r| r.sync.log().display_name(author).map(str::to_owned))
                .unwrap_or_else(|| self.name_of(author, None));
            self.notify(format!(
                "{name} signed two different versions of one message; their later messages \
                 are not accepted."
            ));
            return;
        }
        let me = self.me;
        let current = self.current;
        let Some(r) = self.rooms.get_mut(&id) else {
            return;
        };
        // Typing and presence redraw the room only when what is shown changes: a peer
        // repeating them as fast as frames go costs no view refresh.
        r.dirty |= !matches!(ev, Event::Typing { .. } | Event::Presence { .. });
        match ev {
            Event::Entries(ids) => {
                let log = r.sync.log();
                let mut theirs = 0;
                let mut latest = 0;
                let mut newest_text = None;
                for e in &ids {
                    if let Some(rec) = log.get_by_id(e) {
                        latest = latest.max(rec.entry.wall_ms);
                        if rec.entry.author != me {
                            if let Body::Text { text, .. } = &rec.entry.body {
                                theirs += 1;
                                newest_text = Some((rec.entry.author, text.clone()));
                            }
                        }
                    }
                }
                if current != Some(id) {
                    r.unread += theirs;
                }
                r.last_activity_ms = r.last_activity_ms.max(latest.min(now_ms()));
                if let Some((author, text)) = newest_text {
                    let room_name = room_name(&r.room);
                    let author = match r.sync.log().display_name(&author) {
                        Some(name) => name.to_owned(),
                        // Not borrowing all of `self` (the room is borrowed): the hello's name.
                        None => self
                            .names
                            .get(&author)
                            .cloned()
                            .unwrap_or_else(|| author.short()),
                    };
                    self.ui.incoming.update(|i| {
                        i.serial += 1;
                        i.room = id.to_hex();
                        i.room_name = room_name;
                        i.count = theirs;
                        i.latest = Some((author, text));
                    });
                }
            }
            Event::PeerMisbehaved { .. } => {}
            Event::Equivocation { .. } => {}
            Event::Hello { .. } | Event::Bye { .. } => {}
            Event::Typing { peer, active } => {
                if let Some(ConnState::Verified { key }) = self.conns.get(&peer.0).map(|c| &c.state)
                {
                    let changed = if active {
                        r.typing
                            .insert(*key, js_sys::Date::now() + 6000.0)
                            .is_none()
                    } else {
                        r.typing.remove(key).is_some()
                    };
                    r.dirty |= changed;
                }
            }
            Event::Presence { peer, state } => {
                if let Some(ConnState::Verified { key }) = self.conns.get(&peer.0).map(|c| &c.state)
                {
                    r.dirty |= r.presence.insert(*key, state) != Some(state);
                }
            }
            Event::SyncProgress { missing } => r.missing = missing,
        }
    }

    // ----- the views' state -----

    /// Shows a notice. Some words come from outside (a server's error message): each is cut
    /// to [`MAX_NOTICE_CHARS`], and only the newest [`MAX_NOTICES`] stay.
    fn notify(&mut self, text: String) {
        let id = self.next_notice;
        self.next_notice += 1;
        let text = crate::components::announcer::shorten(&text, MAX_NOTICE_CHARS);
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

    /// A key's display name: ours, else its latest profile in the room (`names`, from the
    /// room's view), else the name from its hello, else a short form of the key.
    fn name_of(&self, key: &PublicKey, names: Option<&BTreeMap<PublicKey, String>>) -> String {
        if *key == self.me {
            return self.name.clone();
        }
        names
            .and_then(|n| n.get(key))
            .or_else(|| self.names.get(key))
            .cloned()
            .unwrap_or_else(|| key.short())
    }

    /// Refreshes the views of the rooms that changed; `false` when none had.
    fn flush_ui(&mut self) -> bool {
        let dirty: Vec<RoomId> = self
            .rooms
            .iter()
            .filter(|(_, r)| r.dirty)
            .map(|(id, _)| *id)
            .collect();
        if dirty.is_empty() {
            return false;
        }
        for id in &dirty {
            if let Some(r) = self.rooms.get_mut(id) {
                r.dirty = false;
            }
        }
        if let Some(cur) = self.current.filter(|c| dirty.contains(c)) {
            let state = self.room_state(cur);
            self.ui.room.set(state);
        }
        self.refresh_rooms();
        true
    }

    fn online(&self, id: RoomId) -> usize {
        self.conns
            .values()
            .filter(|c| c.room == id && matches!(c.state, ConnState::Verified { .. }))
            .count()
    }

    fn refresh_rooms(&mut self) {
        let mut list: Vec<RoomSummary> = self
            .rooms
            .iter()
            .map(|(id, r)| RoomSummary {
                id: id.to_hex(),
                name: room_name(&r.room),
                ephemeral: r.ephemeral,
                password: r.room.has_password(),
                unread: r.unread,
                last_activity_ms: r.last_activity_ms,
                peers_online: self.online(*id),
                left: r.settings.left,
            })
            .collect();
        list.sort_by(|a, b| {
            b.last_activity_ms
                .cmp(&a.last_activity_ms)
                .then(a.name.cmp(&b.name))
        });
        self.ui.rooms.set(list);
    }

    fn safety_number(&self, key: &PublicKey) -> Vec<String> {
        self.safety.borrow_mut().of(&self.me, key)
    }

    fn room_state(&self, id: RoomId) -> Option<RoomState> {
        let r = self.rooms.get(&id)?;
        let view: RoomView = r.sync.view();
        let name_of = |k: &PublicKey| self.name_of(k, Some(&view.names));
        // Delivery: how many connected peers hold each of our seqs.
        let holders: Vec<u64> = self
            .conns
            .iter()
            .filter(|(_, c)| c.room == id && matches!(c.state, ConnState::Verified { .. }))
            .map(|(k, _)| r.sync.peer_holds(PeerId(*k), &self.me))
            .collect();
        let by_id: HashMap<EntryId, usize> = view
            .messages
            .iter()
            .enumerate()
            .map(|(i, m)| (m.id, i))
            .collect();
        let messages = view
            .messages
            .iter()
            .map(|m| {
                let mine = m.author == self.me;
                let delivered = holders.iter().filter(|h| **h >= m.seq).count();
                let delivery = match (mine, delivered, r.ephemeral) {
                    (false, _, _) => Delivery::None,
                    (true, 0, false) => Delivery::Saved,
                    (true, 0, true) => Delivery::InMemory,
                    (true, n, _) => Delivery::Delivered(n),
                };
                let reply_to = m.reply_to.map(|t| {
                    let excerpt = by_id
                        .get(&t)
                        .and_then(|i| view.messages.get(*i))
                        .map(|o| {
                            let text: String = o.text.chars().take(80).collect();
                            format!("{}: {}", name_of(&o.author), text)
                        })
                        .unwrap_or_else(|| "an earlier message".into());
                    (t.to_hex(), excerpt)
                });
                MessageView {
                    id: m.id.to_hex(),
                    author: name_of(&m.author),
                    mine,
                    text: if m.deleted {
                        String::new()
                    } else {
                        m.text.clone()
                    },
                    wall_ms: m.wall_ms,
                    edited: m.edited,
                    deleted: m.deleted,
                    reply_to,
                    reactions: m
                        .reactions
                        .iter()
                        .filter(|(_, who)| !who.is_empty())
                        .map(|(e, who)| (e.clone(), who.len(), who.contains(&self.me)))
                        .collect(),
                    delivery,
                }
            })
            .collect();
        // Peers: connected ones first, then everyone known from the history.
        let mut keys: Vec<(PublicKey, PeerPresence)> = Vec::new();
        let mut connecting = 0usize;
        for c in self.conns.values().filter(|c| c.room == id) {
            match &c.state {
                ConnState::Verified { key } => {
                    let p = match r.presence.get(key) {
                        _ if matches!(c.link.as_str(), "disconnected" | "failed") => {
                            PeerPresence::Connecting
                        }
                        Some(Presence::Online) | None => PeerPresence::Online,
                        Some(_) => PeerPresence::Away,
                    };
                    keys.push((*key, p));
                }
                _ => connecting += 1,
            }
        }
        // Known from the history only: a bounded number are listed (and get a safety
        // number), so thousands of throwaway authors cost nothing here.
        let connected: HashSet<PublicKey> = keys.iter().map(|(k, _)| *k).collect();
        let offline = r
            .sync
            .log()
            .authors()
            .filter(|a| **a != self.me && !connected.contains(*a));
        let (offline, more_peers) = crate::safety::shown(offline, &r.verified);
        keys.extend(offline.into_iter().map(|k| (k, PeerPresence::Offline)));
        let verified_names: Vec<(PublicKey, String)> =
            r.verified.iter().map(|k| (*k, name_of(k))).collect();
        let typing: Vec<PublicKey> = r.typing.keys().copied().collect();
        let verified = r.verified.clone();
        let (invite_link, room_name, ephemeral, password, missing, left) = (
            r.room.invite_link(&base_url()),
            room_name(&r.room),
            r.ephemeral,
            r.room.has_password(),
            r.missing,
            r.settings.left,
        );
        let password_hint = r
            .lobby_check
            .is_some_and(|c| c.verdict() == Verdict::PasswordMayBeWrong);
        let named: Vec<(PublicKey, PeerPresence, String)> = keys
            .into_iter()
            .map(|(k, p)| {
                let n = name_of(&k);
                (k, p, n)
            })
            .collect();
        let mut peers: Vec<PeerView> = named
            .into_iter()
            .map(|(key, presence, name)| {
                let is_verified = verified.contains(&key);
                let key_changed = !is_verified
                    && verified_names
                        .iter()
                        .any(|(vk, vn)| *vk != key && *vn == name);
                PeerView {
                    key: key.to_text(),
                    safety_number: self.safety_number(&key),
                    name,
                    presence,
                    verified: is_verified,
                    key_changed,
                    typing: typing.contains(&key),
                }
            })
            .collect();
        for _ in 0..connecting {
            peers.push(PeerView {
                key: String::new(),
                name: "Someone joining".into(),
                presence: PeerPresence::Connecting,
                safety_number: Vec::new(),
                verified: false,
                key_changed: false,
                typing: false,
            });
        }
        Some(RoomState {
            id: id.to_hex(),
            name: room_name,
            invite_link,
            ephemeral,
            password,
            messages,
            peers,
            missing,
            left,
            password_hint,
            more_peers,
        })
    }
}

/// Our reaction `emoji` to `target` among our own entries, unless we deleted it since.
fn live_reaction(ours: &[Record], target: EntryId, emoji: &str) -> Option<EntryId> {
    let reaction = ours.iter().rev().find(|r| {
        matches!(&r.entry.body, Body::Reaction { target: t, emoji: e } if *t == target && e == emoji)
    })?;
    let deleted = ours
        .iter()
        .any(|r| matches!(r.entry.body, Body::Delete { target: t } if t == reaction.id));
    (!deleted).then_some(reaction.id)
}

fn room_name(room: &Room) -> String {
    room.name()
        .map(str::to_owned)
        .unwrap_or_else(|| format!("Room {}", room.id().to_hex().get(..6).unwrap_or("")))
}

impl RoomRt {
    fn new(
        room: Room,
        ephemeral: bool,
        settings: RoomSettings,
        sync: RoomSync,
        verified: BTreeSet<PublicKey>,
        last_activity_ms: u64,
    ) -> RoomRt {
        RoomRt {
            room,
            ephemeral,
            settings,
            sync,
            session: None,
            lobby: None,
            lobby_check: None,
            unread: 0,
            last_activity_ms,
            missing: 0,
            verified,
            blocked: HashSet::new(),
            typing: HashMap::new(),
            presence: HashMap::new(),
            dirty: true,
        }
    }
}
