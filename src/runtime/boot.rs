//! Starting up: the tab lock, storage, the app lock, the identity, the server's
//! configuration and the stored rooms, in that order.

use std::collections::{BTreeSet, HashMap};

use futures::channel::mpsc;
use futures::StreamExt;
use leptos::prelude::{Set, Update};
use natter_core::identity::Identity;
use natter_core::node::{Input, Node, NodeConfig, RoomSetup};
use natter_core::room::{PasswordKey, Room, RoomSecret};
use natter_core::vault::{VaultError, VaultKey};

use super::{now_ms, Runtime};
use crate::signaling::{Signaling, SignalingConfig};
use crate::state::ServerState;
use crate::state::{Command, Notice, UiState};
use crate::storage::{EntryCursor, RoomRecord, Storage, StoredLock};

/// Where settings live in `localStorage` (small, read before IndexedDB opens).
pub(super) const SETTINGS_KEY: &str = "natter.settings";

/// The words for a wrong passphrase.
const WRONG_PASSPHRASE: &str = "Wrong passphrase. Nothing was changed; try again.";

/// Entries read from IndexedDB per page while loading a room.
const LOAD_PAGE: u32 = 2000;

pub(super) fn local_storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok()?
}

/// Shows `text` as notice `id` before the runtime runs (it numbers its own notices from
/// 1; these count down from the top), in place of a notice with the same id or text.
pub(super) fn early_notice(ui: UiState, id: u64, text: String) {
    ui.notices.update(|n| {
        n.retain(|x| x.id != id && x.text != text);
        n.push(Notice { id, text });
    });
}

/// Hides notice `id`.
pub(super) fn dismiss(ui: UiState, id: u64) {
    ui.notices.update(|n| n.retain(|x| x.id != id));
}

/// Lets the page paint before a long synchronous step (password stretching).
pub(super) async fn yield_to_browser() {
    gloo_timers::future::TimeoutFuture::new(30).await;
}

/// Waits until this tab may run the app ([`super::tab`]), opens storage (asking for the
/// passphrase if the app is locked), loads or creates the identity, connects to the server
/// and loads the stored rooms. Returns the runtime and the commands the views sent while
/// it waited or was locked.
pub(super) async fn boot(
    ui: UiState,
    commands: &mut mpsc::UnboundedReceiver<Command>,
) -> (Runtime, Vec<Command>) {
    let (rtc_tx, rtc_rx) = mpsc::unbounded();
    let (gift_tx, gift_rx) = mpsc::unbounded();
    let (kept_tx, kept_rx) = mpsc::unbounded();
    let settings: crate::state::Settings = local_storage()
        .and_then(|s| s.get_item(SETTINGS_KEY).ok().flatten())
        .and_then(|text| serde_json::from_str(&text).ok())
        .unwrap_or_default();
    ui.settings.set(settings.clone());
    let mut deferred = Vec::new();
    super::tab::hold(ui, commands, &mut deferred).await;
    let mut notices = Vec::new();
    let storage = match Storage::open().await {
        Ok(s) => Some(std::rc::Rc::new(s)),
        Err(e) => {
            notices.push(format!("{e} Rooms will not be kept after this tab closes."));
            None
        }
    };
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
            let name = crate::state::guest_name(&text);
            (identity, name, true)
        }
    };
    let node = Node::new(
        identity,
        name,
        NodeConfig::default(),
        Box::new(rand_core::OsRng),
    );
    let mut rt = Runtime {
        ui,
        node,
        storage,
        settings,
        server_ice: Vec::new(),
        signaling: None,
        signal_rx: None,
        rtc_tx,
        rtc_rx,
        pcs: HashMap::new(),
        timer_at: None,
        current: None,
        unread: HashMap::new(),
        dirty: BTreeSet::new(),
        pacing: Default::default(),
        flush_cost: Default::default(),
        next_notice: 1,
        writes: Default::default(),
        verifier: crate::sigcheck::WebVerifier::new(),
        safety: Default::default(),
        view: None,
        shown: crate::components::message_list::PAGE,
        code_cancel: None,
        gift_tx,
        gift_rx,
        keeper_cancel: None,
        kept_tx,
        kept_rx,
        files: super::files::Files::new(),
    };
    for n in notices {
        rt.notify(n);
    }
    if fresh {
        rt.save_identity().await;
    }
    rt.show_name(rt.node.name().to_owned());
    rt.ui.my_key.set(rt.node.me().to_text());
    let records = rt.room_records().await;
    rt.preview_route_room(&records).await;
    match crate::server::fetch_config().await {
        Ok(cfg) => {
            rt.ui.server.set(ServerState::Reachable {
                ice_servers: cfg.ice_servers.len(),
            });
            rt.server_ice = cfg.ice_servers;
            rt.ui.embed_origins.set(cfg.embed_origins);
            rt.ui.keeper.set(cfg.keeper);
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
    rt.load_files().await;
    rt.load_rooms(records).await;
    rt.resume_downloads().await;
    rt.ui.ready.set(true);
    rt.refresh_rooms();
    (rt, deferred)
}

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
        early_notice(ui, next_id, text.to_owned());
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
            Command::Dismiss(id) => dismiss(ui, id),
            other => deferred.push(other),
        }
    }
    false
}

impl Runtime {
    /// The stored rooms' records (none without storage; a failure is told).
    async fn room_records(&mut self) -> Vec<RoomRecord> {
        let Some(storage) = self.storage.clone() else {
            return Vec::new();
        };
        storage.load_rooms().await.unwrap_or_else(|e| {
            self.notify(e.to_string());
            Vec::new()
        })
    }

    async fn load_rooms(&mut self, records: Vec<RoomRecord>) {
        let Some(storage) = self.storage.clone() else {
            return;
        };
        for rec in records {
            match load_room(&storage, rec).await {
                Ok(setup) => self.handle(Input::AddRoom(Box::new(setup))).await,
                Err(e) => self.notify(e),
            }
        }
    }
}

impl Runtime {
    /// Shows the room the address names from its newest page on this device, before any
    /// room's whole history has loaded and been checked, which takes seconds for a long
    /// one. The room is interactive at once; what is posted meanwhile waits in the command
    /// queue for the node, and the loaded room replaces the preview when the route's
    /// `Command::Open` arrives after boot.
    async fn preview_route_room(&mut self, records: &[RoomRecord]) {
        let (Some(storage), crate::route::Route::Room(id)) =
            (self.storage.clone(), crate::route::current())
        else {
            return;
        };
        let Some(rec) = records.iter().find(|r| r.id == id) else {
            return;
        };
        let left = rec.left;
        let Ok(room) = stored_room(rec) else { return };
        let page = crate::components::message_list::PAGE as u32;
        let Ok(latest) = storage.load_latest_entries(&id, page).await else {
            return;
        };
        let me = self.node.me();
        let state = crate::view::preview_state(
            &room,
            &latest,
            &me,
            self.node.name(),
            left,
            &super::base_url(),
        );
        self.ui.room.set(Some(state));
    }
}

/// The room a stored record names, rebuilt without running Argon2id.
fn stored_room(rec: &RoomRecord) -> Result<Room, String> {
    Room::from_parts(
        RoomSecret::from_bytes(rec.secret),
        rec.name.as_deref(),
        rec.password_key.map(PasswordKey::from_bytes),
    )
    .map_err(|e| format!("A stored room could not be opened: {e}"))
}

/// A stored room with its history, evidence and verified peers.
async fn load_room(storage: &Storage, rec: RoomRecord) -> Result<RoomSetup, String> {
    let room = stored_room(&rec)?;
    let mut history = Vec::new();
    let mut cursor = None;
    loop {
        let page = storage
            .load_entries(&rec.id, cursor, LOAD_PAGE)
            .await
            .map_err(|e| e.to_string())?;
        let Some(last) = page.last() else { break };
        cursor = Some(EntryCursor::at(last));
        let done = page.len() < LOAD_PAGE as usize;
        history.extend(page);
        if done {
            break;
        }
    }
    let evidence = storage
        .load_evidence(&rec.id)
        .await
        .map_err(|e| e.to_string())?;
    let verified = storage
        .load_peers(&rec.id)
        .await
        .map_err(|e| e.to_string())?
        .into_iter()
        .map(|p| p.key)
        .collect();
    Ok(RoomSetup {
        history,
        evidence,
        verified,
        left: rec.left,
        // Peers choose wall times; the node never lets one lie in the future.
        last_activity_ms: rec.last_activity_ms.min(now_ms()),
        check_lobby: false,
        stored: true,
        ..RoomSetup::new(room, false)
    })
}
