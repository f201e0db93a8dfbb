//! What the views show and what they may ask for.
//!
//! # What
//!
//! [`UiState`] is a bundle of reactive signals that only the runtime ([`crate::runtime`])
//! writes; components read them. [`Command`] is everything a component may ask of the
//! runtime; components send commands through [`Commands`] and never touch the protocol,
//! the network or storage themselves.
//!
//! # Why
//!
//! The runtime owns browser objects (peer connections, the socket, the database) that are
//! neither `Send` nor reactive. Keeping the boundary to plain data in both directions lets
//! components stay thin and lets the runtime be the single place where events turn into
//! protocol inputs.

use futures::channel::mpsc::UnboundedSender;
use leptos::prelude::*;
use natter_core::identity::PublicKey;
use natter_core::log::EntryId;
use natter_core::room::RoomId;

/// A room in the home list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomSummary {
    /// The room id (its hex form is the route: `#/room/<id>`).
    pub id: RoomId,
    /// The room's name, or a short name made from its id.
    pub name: String,
    /// Held in memory only.
    pub ephemeral: bool,
    /// Joining needs a password.
    pub password: bool,
    /// Messages from others not yet seen.
    pub unread: u32,
    /// When something last happened, ms since the Unix epoch (0: never).
    pub last_activity_ms: u64,
    /// Peers connected and verified now.
    pub peers_online: usize,
    /// The user left the room: it is kept on this device but not connected.
    pub left: bool,
}

/// How far a connection to a peer is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeerPresence {
    /// Found through the server; the direct connection is being set up.
    Connecting,
    /// Connected directly and proved its identity.
    Online,
    /// Idle or in the background (the peer said so).
    Away,
    /// Known from the history, not connected.
    Offline,
}

impl PeerPresence {
    /// The word shown to the user.
    pub fn label(self) -> &'static str {
        match self {
            PeerPresence::Connecting => "connecting",
            PeerPresence::Online => "online",
            PeerPresence::Away => "away",
            PeerPresence::Offline => "offline",
        }
    }
}

/// A member of the open room.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerView {
    /// The identity key; none while still connecting.
    pub key: Option<PublicKey>,
    /// The display name (or a short form of the key).
    pub name: String,
    /// Connection state.
    pub presence: PeerPresence,
    /// The safety number of this peer's key and ours, as 12 groups of 5 digits.
    pub safety_number: Vec<String>,
    /// The user marked this key as verified in this room.
    pub verified: bool,
    /// The user verified a *different* key for this name: show a prominent warning.
    pub key_changed: bool,
    /// The peer is typing.
    pub typing: bool,
    /// The room names this key a keeper (an always-online peer a member invited).
    pub keeper: bool,
}

/// Where one of our messages has got to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// Not ours: no status is shown.
    None,
    /// Stored on this device; no peer has it yet.
    Saved,
    /// Held in memory (ephemeral room); no peer has it yet.
    InMemory,
    /// This many connected peers hold it.
    Delivered(usize),
}

impl Delivery {
    /// The words shown to the user (empty for [`Delivery::None`]).
    pub fn label(self) -> String {
        match self {
            Delivery::None => String::new(),
            Delivery::Saved => "saved on this device".into(),
            Delivery::InMemory => "kept in memory only".into(),
            Delivery::Delivered(1) => "delivered to 1 peer".into(),
            Delivery::Delivered(n) => format!("delivered to {n} peers"),
        }
    }
}

/// One message of the open room, ready to show. Text is shown as text, never as HTML.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageView {
    /// The entry id.
    pub id: EntryId,
    /// The author's display name.
    pub author: String,
    /// Written by us.
    pub mine: bool,
    /// The text (empty once deleted).
    pub text: String,
    /// The author's clock, ms since the Unix epoch (informational only).
    pub wall_ms: u64,
    /// Edited after posting.
    pub edited: bool,
    /// Deleted by its author.
    pub deleted: bool,
    /// The message this replies to: its id and a short excerpt, "author: text".
    pub reply_to: Option<(EntryId, String)>,
    /// Reactions: emoji, how many, whether one of them is ours.
    pub reactions: Vec<(String, usize, bool)>,
    /// Delivery status of our own messages.
    pub delivery: Delivery,
    /// The author is one of the room's keepers.
    pub keeper: bool,
    /// The file it carries.
    pub file: Option<crate::files::FileView>,
    /// The name of the keeper that delivered it to us in this session, if one did.
    pub via_keeper: Option<String>,
}

/// The room being looked at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomState {
    /// The room id.
    pub id: RoomId,
    /// The room's name (or a short name made from its id).
    pub name: String,
    /// The invite link (contains the secret in its fragment).
    pub invite_link: String,
    /// Held in memory only.
    pub ephemeral: bool,
    /// Joining needs a password.
    pub password: bool,
    /// Messages in display order (oldest first).
    pub messages: Vec<MessageView>,
    /// Everyone known in the room but us.
    pub peers: Vec<PeerView>,
    /// Entries known to exist but not yet received (catch-up progress).
    pub missing: u64,
    /// The user left the room (kept, not connected).
    pub left: bool,
    /// Nobody is in the room but someone is in its lobby: the password may be wrong (a hint
    /// only, see [`natter_core::node::lobby`]).
    pub password_hint: bool,
    /// How many more people known from the history are not listed in `peers` (see
    /// [`crate::safety`]).
    pub more_peers: usize,
    /// How many messages the room holds; `messages` are the latest of them, as many as
    /// the list asked for ([`Command::ShowMessages`]).
    pub total_messages: usize,
    /// The room's keepers, at most [`crate::view::MAX_KEEPERS_SHOWN`] of them.
    pub keepers: Vec<KeeperView>,
    /// How many more keepers the room names than `keepers` lists.
    pub more_keepers: usize,
    /// The room's files this device holds, whole or in part.
    pub files_here: Vec<HeldFile>,
    /// Some author's older entries are not held here (it fetched from a keeper that keeps
    /// only recent history): they come when a member who holds them is online.
    pub older_missing: bool,
}

/// A file of the open room held on this device (its "Files on this device" list).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeldFile {
    /// Its root.
    pub root: natter_core::blob::Root,
    /// Its name as a message gave it (text only).
    pub name: String,
    /// Bytes held here.
    pub bytes: u64,
    /// Held whole.
    pub complete: bool,
}

/// A keeper of the open room.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeeperView {
    /// Its key.
    pub key: PublicKey,
    /// Its name as the room knows it (its short key when the room knows none).
    pub name: String,
}

/// Where our asking a keeper to keep a room stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeeperAskView {
    /// The room.
    pub room: RoomId,
    /// Where it stands, in words.
    pub status: String,
    /// Still under way.
    pub busy: bool,
}

/// What the app knows about its server connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerState {
    /// Still asking.
    Checking,
    /// The server answered; `ice_servers` is how many ICE servers it configured.
    Reachable {
        /// Number of ICE servers the server configured.
        ice_servers: usize,
    },
    /// The server could not be reached; the text says why.
    Unreachable(String),
}

impl ServerState {
    /// The words shown to the user.
    pub fn describe(&self) -> String {
        match self {
            ServerState::Checking => "Connecting to the server…".to_owned(),
            ServerState::Reachable { .. } => "Server reachable".to_owned(),
            ServerState::Unreachable(why) => why.clone(),
        }
    }
}

/// The signaling connection as the user sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignalingState {
    /// Not needed: no room is joined.
    Idle,
    /// Opening the connection.
    Connecting,
    /// Connected.
    Connected,
    /// Lost; the next attempt is in this many seconds. Peer connections that are up carry on.
    Reconnecting {
        /// Seconds until the next attempt.
        in_secs: u64,
        /// Why it was lost, in words.
        reason: String,
    },
}

/// An error or warning for the user, shown in an alert until dismissed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    /// Unique id (for dismissing).
    pub id: u64,
    /// The words.
    pub text: String,
}

/// User settings kept on this device.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Settings {
    /// Extra ICE server URLs (`stun:` / `turn:` / `turns:`), used beside the server's.
    #[serde(default)]
    pub ice_urls: Vec<String>,
    /// TURN user name for the URLs above.
    #[serde(default)]
    pub turn_username: String,
    /// TURN credential for the URLs above.
    #[serde(default)]
    pub turn_credential: String,
    /// Only connect through a TURN relay (hides this device's addresses from peers).
    #[serde(default)]
    pub relay_only: bool,
    /// Light, dark, or whatever the system prefers.
    #[serde(default)]
    pub theme: Theme,
    /// Hide the page's content whenever it is not on screen (task switchers, screen shares).
    #[serde(default)]
    pub privacy_screen: bool,
    /// Show a desktop notification for new messages while the page is hidden (the browser's
    /// permission is asked for when this is turned on).
    #[serde(default)]
    pub notifications: bool,
    /// With the app lock on: lock after this many seconds without a key press or touch (the
    /// settings offer whole minutes).
    #[serde(default = "default_lock_secs")]
    pub lock_idle_secs: u32,
    /// The largest file this device sends; a larger one is refused in words before
    /// anything is read.
    #[serde(default = "default_max_send")]
    pub max_send_bytes: u64,
}

fn default_max_send() -> u64 {
    crate::files::DEFAULT_MAX_SEND
}

fn default_lock_secs() -> u32 {
    5 * 60
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            ice_urls: Vec::new(),
            turn_username: String::new(),
            turn_credential: String::new(),
            relay_only: false,
            theme: Theme::default(),
            privacy_screen: false,
            notifications: false,
            lock_idle_secs: default_lock_secs(),
            max_send_bytes: default_max_send(),
        }
    }
}

/// The colour theme.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Theme {
    /// Follow the system's light or dark preference.
    #[default]
    System,
    /// Always light.
    Light,
    /// Always dark.
    Dark,
}

impl Theme {
    /// Every theme, in the order the settings offer them.
    pub const ALL: [Theme; 3] = [Theme::System, Theme::Light, Theme::Dark];

    /// The value used in the settings form and in the `data-theme` attribute.
    pub fn key(self) -> &'static str {
        match self {
            Theme::System => "system",
            Theme::Light => "light",
            Theme::Dark => "dark",
        }
    }

    /// The words shown in the settings.
    pub fn label(self) -> &'static str {
        match self {
            Theme::System => "Same as the system",
            Theme::Light => "Light",
            Theme::Dark => "Dark",
        }
    }

    /// The theme for a form or URL value; unknown values follow the system.
    pub fn from_key(key: &str) -> Theme {
        Theme::ALL
            .into_iter()
            .find(|t| t.key() == key)
            .unwrap_or_default()
    }
}

/// Messages from others that just arrived, for announcements, notifications and the
/// title's unread badge. `serial` grows with every arrival so equal batches still notify.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Incoming {
    /// Grows by one per batch.
    pub serial: u64,
    /// The room.
    pub room: Option<RoomId>,
    /// The room's name.
    pub room_name: String,
    /// How many text messages from others the batch held.
    pub count: u32,
    /// The newest of them: its author's name and its text.
    pub latest: Option<(String, String)>,
}

/// Every reactive value the views read. Written only by the runtime.
#[derive(Debug, Clone, Copy)]
pub struct UiState {
    /// The runtime has loaded identity and rooms.
    pub ready: RwSignal<bool>,
    /// Our display name.
    pub my_name: RwSignal<String>,
    /// Our identity key, as text.
    pub my_key: RwSignal<String>,
    /// Rooms on this device (and ephemeral ones in memory), most recent first.
    pub rooms: RwSignal<Vec<RoomSummary>>,
    /// The room being looked at, when the route names one the runtime knows.
    pub room: RwSignal<Option<RoomState>>,
    /// The signaling connection.
    pub signaling: RwSignal<SignalingState>,
    /// The server's `/config` answer.
    pub server: RwSignal<ServerState>,
    /// Errors and warnings to show.
    pub notices: RwSignal<Vec<Notice>>,
    /// Settings.
    pub settings: RwSignal<Settings>,
    /// A join is waiting for the room password (the invite says the room has one).
    pub password_prompt: RwSignal<Option<String>>,
    /// A long operation is running (password stretching); the words say which.
    pub busy: RwSignal<Option<String>>,
    /// The latest batch of messages from others.
    pub incoming: RwSignal<Incoming>,
    /// A new version of the app is installed and waiting for a reload.
    pub update_ready: RwSignal<bool>,
    /// Origins allowed to embed the app and command it (from the server's `/config`).
    pub embed_origins: RwSignal<Vec<String>>,
    /// The app lock is on (stored data is sealed under a passphrase).
    pub lock_on: RwSignal<bool>,
    /// The app is locked: nothing is loaded until the passphrase is given.
    pub locked: RwSignal<bool>,
    /// The app runs in another tab; this one waits (see `runtime::tab`).
    pub elsewhere: RwSignal<bool>,
    /// We chose a display name (rather than keeping the "Guest" one made for us).
    pub name_chosen: RwSignal<bool>,
    /// The join code we are showing, if any.
    pub code_invite: RwSignal<Option<CodeInviteView>>,
    /// Where our entering of a join code stands, if we entered one.
    pub code_join: RwSignal<Option<CodeJoinView>>,
    /// The keeper the server offers (from its `/config`), if any.
    pub keeper: RwSignal<Option<crate::server::KeeperInfo>>,
    /// Where our latest asking of a keeper stands, if we asked one.
    pub keeper_ask: RwSignal<Option<KeeperAskView>>,
}

impl UiState {
    /// Fresh state before the runtime has loaded anything.
    pub fn new() -> Self {
        UiState {
            ready: RwSignal::new(false),
            my_name: RwSignal::new(String::new()),
            my_key: RwSignal::new(String::new()),
            rooms: RwSignal::new(Vec::new()),
            room: RwSignal::new(None),
            signaling: RwSignal::new(SignalingState::Idle),
            server: RwSignal::new(ServerState::Checking),
            notices: RwSignal::new(Vec::new()),
            settings: RwSignal::new(Settings::default()),
            password_prompt: RwSignal::new(None),
            busy: RwSignal::new(None),
            incoming: RwSignal::new(Incoming::default()),
            update_ready: RwSignal::new(false),
            embed_origins: RwSignal::new(Vec::new()),
            lock_on: RwSignal::new(false),
            locked: RwSignal::new(false),
            elsewhere: RwSignal::new(false),
            name_chosen: RwSignal::new(false),
            code_invite: RwSignal::new(None),
            code_join: RwSignal::new(None),
            keeper: RwSignal::new(None),
            keeper_ask: RwSignal::new(None),
        }
    }
}

impl Default for UiState {
    fn default() -> Self {
        Self::new()
    }
}

/// What a view may ask the runtime to do. Room ids are hex; entry ids are hex; keys are text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Change our display name.
    SetName(String),
    /// Create a room and open it.
    CreateRoom {
        /// Optional name.
        name: Option<String>,
        /// Optional password (mixed into every key).
        password: Option<String>,
        /// Keep it in memory only.
        ephemeral: bool,
    },
    /// Join by invite link (password if the invite says so).
    JoinLink {
        /// The link or its payload.
        link: String,
        /// The room password, if any.
        password: Option<String>,
    },
    /// Join with the room password entered again, from a room whose password the lobby made
    /// doubtful.
    RetryPassword {
        /// The room joined with the earlier password.
        room: RoomId,
        /// The password entered now.
        password: String,
    },
    /// Join (or create) the room with this name and password.
    JoinNamed {
        /// The room's name.
        name: String,
        /// Its password.
        password: String,
    },
    /// The route now shows this room (None: no room). Marks it read; rejoins a left room.
    Open(Option<RoomId>),
    /// Send files (each checked against the size limit first).
    SendFiles {
        /// The room.
        room: RoomId,
        /// The files picked, dropped or pasted.
        files: Vec<web_sys::File>,
    },
    /// Download a file a message of the room carries (or go on downloading it).
    FetchFile {
        /// The room.
        room: RoomId,
        /// The file.
        root: natter_core::blob::Root,
    },
    /// Pause a download.
    PauseFile(natter_core::blob::Root),
    /// Remove a file from this device (its message stays; it can be downloaded again).
    RemoveFile(natter_core::blob::Root),
    /// Save a file held whole under its name.
    SaveFile {
        /// The file.
        root: natter_core::blob::Root,
        /// The name to save it under.
        name: String,
    },
    /// Post a message.
    Post {
        /// The room.
        room: RoomId,
        /// The text.
        text: String,
        /// The entry it replies to.
        reply_to: Option<EntryId>,
    },
    /// Edit one of our messages.
    Edit {
        /// The room.
        room: RoomId,
        /// The message.
        target: EntryId,
        /// The new text.
        text: String,
    },
    /// Delete one of our messages.
    Delete {
        /// The room.
        room: RoomId,
        /// The message.
        target: EntryId,
    },
    /// React to a message (again: remove our reaction).
    React {
        /// The room.
        room: RoomId,
        /// The message.
        target: EntryId,
        /// The emoji.
        emoji: String,
    },
    /// We started or stopped typing.
    Typing {
        /// The room.
        room: RoomId,
        /// Whether typing.
        active: bool,
    },
    /// Mark a peer's key as verified in a room (after comparing safety numbers).
    MarkVerified {
        /// The room.
        room: RoomId,
        /// The key.
        key: PublicKey,
    },
    /// The page became visible (`true`) or hidden: peers see us online or away.
    Visible(bool),
    /// Disconnect from a room but keep it (ephemeral rooms vanish).
    Leave(RoomId),
    /// Disconnect and wipe the room from this device.
    DeleteRoom(RoomId),
    /// Save settings (applies to connections made from now on).
    SaveSettings(Settings),
    /// Erase identity, rooms and history from this device.
    EraseAll,
    /// Open the locked app with this passphrase.
    Unlock(String),
    /// Run the app in this tab, stopping it in the tab where it runs.
    UseHere,
    /// Turn the app lock on with this passphrase (seals everything stored).
    EnableLock(String),
    /// Turn the app lock off (the passphrase again, to prove it is the user).
    DisableLock(String),
    /// Lock now: forget everything in memory and ask for the passphrase.
    LockNow,
    /// Hide a notice.
    Dismiss(u64),
    /// The message list shows the latest `n` messages of the open room.
    ShowMessages(usize),
    /// Show a join code for `room`, valid for `ttl_ms` (replaces one shown before).
    InviteWithCode {
        /// The room.
        room: RoomId,
        /// How long the code should be valid.
        ttl_ms: u64,
    },
    /// Close the join code shown.
    CancelCode,
    /// Join the room behind a join code someone showed us.
    JoinWithCode {
        /// The code as typed.
        code: String,
    },
    /// Ask the keeper with this key to keep `room` available (replaces an asking under way).
    KeepRoom {
        /// The room.
        room: RoomId,
        /// The keeper's key.
        key: PublicKey,
        /// How much of the history it should hold.
        retention: natter_core::retention::Retention,
    },
    /// Tell the room that the keeper with this key no longer keeps it.
    StopKeeping {
        /// The room.
        room: RoomId,
        /// The keeper's key.
        key: PublicKey,
    },
}

/// The name a new identity gets until its user chooses one: "Guest" and the first four
/// characters of its key's text.
pub fn guest_name(key_text: &str) -> String {
    format!("Guest {}", key_text.get(..4).unwrap_or("0000"))
}

/// The lifetimes a join code may be given, as the menu offers them.
pub const CODE_LIFETIMES: [(&str, u64); 5] = [
    ("1 minute", 60_000),
    ("5 minutes", 300_000),
    ("1 hour", 3_600_000),
    ("12 hours", 43_200_000),
    ("24 hours", 86_400_000),
];

/// The join code we show in a room.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeInviteView {
    /// The room it invites to.
    pub room: RoomId,
    /// The code, once the server opened its mailbox (`42-123-456`).
    pub code: Option<String>,
    /// When the server will close it (ms since the epoch), by our clock.
    pub expires_at_ms: Option<u64>,
    /// Where it stands, in words.
    pub status: String,
    /// Still open: the code can be entered.
    pub open: bool,
}

impl CodeInviteView {
    /// The view of an inviter's session; `now_ms` turns the server's lifetime into a time.
    pub fn of(room: RoomId, session: &natter_core::joincode::Session, now_ms: u64) -> Self {
        use natter_core::joincode::Status;
        let status = match session.status() {
            Status::Opening | Status::Checking | Status::Invited(_) => {
                "Asking the server for a code…".to_owned()
            }
            Status::Waiting { tries_left } if *tries_left < natter_core::signal::MAX_CODE_TRIES => {
                let tries = if *tries_left == 1 { "try" } else { "tries" };
                format!(
                    "Someone entered a wrong code ({tries_left} {tries} left). Waiting for someone to enter the code…"
                )
            }
            Status::Waiting { .. } => "Waiting for someone to enter the code…".to_owned(),
            Status::Claimed => "Someone is entering the code…".to_owned(),
            Status::Joined { name: Some(name) } => format!("{name} joined with the code."),
            Status::Joined { name: None } => "Someone joined with the code.".to_owned(),
            Status::Failed(f) => f.to_string(),
        };
        CodeInviteView {
            room,
            code: session.code().map(|c| c.to_string()),
            expires_at_ms: session.expires_in_ms().map(|ms| now_ms.saturating_add(ms)),
            status,
            open: !session.status().is_over(),
        }
    }
}

/// Our entering of a join code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeJoinView {
    /// Where it stands, in words.
    pub status: String,
    /// Still under way.
    pub busy: bool,
}

impl CodeJoinView {
    /// The view of a joiner's session.
    pub fn of(session: &natter_core::joincode::Session) -> Self {
        use natter_core::joincode::Status;
        let status = match session.status() {
            Status::Invited(_) => "The code matched. Opening the room…".to_owned(),
            Status::Failed(f) => f.to_string(),
            _ => "Checking the code…".to_owned(),
        };
        CodeJoinView {
            status,
            busy: !session.status().is_over(),
        }
    }
}

impl KeeperAskView {
    /// The view of asking a keeper to keep `room`.
    pub fn of(room: RoomId, status: &crate::keeper::AskStatus) -> Self {
        KeeperAskView {
            room,
            status: status.words(),
            busy: !status.is_over(),
        }
    }
}

/// The sending side of the runtime's command queue, shared with every view via context.
#[derive(Debug, Clone)]
pub struct Commands(pub UnboundedSender<Command>);

impl Commands {
    /// Sends a command; if the runtime is gone (it never stops while the page lives) the
    /// command is dropped.
    pub fn send(&self, command: Command) {
        let _ = self.0.unbounded_send(command);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::Ctx;
    use natter_core::joincode::{Gift, Session};
    use natter_core::room::{Room, RoomSecret};
    use natter_core::signal::{CodeEnd, ServerMessage};
    use rand_core::OsRng;

    fn inviter() -> Result<Session, String> {
        let room = Room::from_parts(RoomSecret::from_bytes([1; 32]), None, None).ctx("a room")?;
        Ok(Session::invite(
            Gift {
                invite: room.invite(),
                password_key: None,
                retention: natter_core::retention::Retention::All,
            },
            60_000,
        ))
    }

    #[test]
    fn an_inviters_code_shows_with_its_deadline_and_what_happens_to_it() -> Result<(), String> {
        let room = RoomId([3; 32]);
        let mut s = inviter()?;
        let opening = CodeInviteView::of(room, &s, 1_000);
        assert_eq!(opening.code, None);
        assert!(opening.open);
        s.handle(
            &ServerMessage::CodeOpened {
                mailbox: 42,
                expires_in_ms: 60_000,
            },
            &mut OsRng,
        );
        let waiting = CodeInviteView::of(room, &s, 1_000);
        assert!(waiting
            .code
            .as_deref()
            .is_some_and(|c| c.starts_with("42-")));
        assert_eq!(waiting.expires_at_ms, Some(61_000));
        assert_eq!(waiting.status, "Waiting for someone to enter the code…");
        s.handle(
            &ServerMessage::CodeWaiting {
                mailbox: 42,
                tries_left: 1,
            },
            &mut OsRng,
        );
        let tried = CodeInviteView::of(room, &s, 1_000);
        assert!(tried
            .status
            .starts_with("Someone entered a wrong code (1 try left)"));
        s.handle(
            &ServerMessage::CodeClosed {
                mailbox: 42,
                reason: CodeEnd::Expired,
            },
            &mut OsRng,
        );
        let expired = CodeInviteView::of(room, &s, 1_000);
        assert_eq!(expired.status, "The code expired.");
        assert!(!expired.open);
        Ok(())
    }

    #[test]
    fn a_joiners_view_is_busy_until_the_exchange_ends() -> Result<(), String> {
        let code = natter_core::joincode::Code::parse("42-000-000").ctx("a code")?;
        let mut s = Session::join(code, "", &mut OsRng);
        assert_eq!(
            CodeJoinView::of(&s),
            CodeJoinView {
                status: "Checking the code…".into(),
                busy: true
            }
        );
        s.handle(
            &ServerMessage::Error {
                code: natter_core::signal::ErrorCode::NoSuchCode,
                message: "no".into(),
                room: None,
                retry_after_ms: None,
            },
            &mut OsRng,
        );
        let view = CodeJoinView::of(&s);
        assert!(!view.busy);
        assert!(view.status.contains("not open any more"), "{}", view.status);
        Ok(())
    }

    #[test]
    fn the_guest_name_is_made_from_the_key() {
        assert_eq!(guest_name("abcdefgh"), "Guest abcd");
        assert_eq!(guest_name("ab"), "Guest 0000");
    }
}
