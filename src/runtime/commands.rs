//! What the views ask for, as node inputs. Password stretching (Argon2id) runs here, after
//! the page has painted that it is busy; everything else is the node's.

use leptos::prelude::Set;
use natter_core::log::Body;
use natter_core::node::{Input, RoomSetup};
use natter_core::room::{Invite, Room, RoomId};

use super::boot::{local_storage, yield_to_browser, SETTINGS_KEY};
use super::Runtime;
use crate::route::{self, Route};
use crate::state::Command;

impl Runtime {
    pub(super) async fn on_command(&mut self, command: Command) {
        match command {
            Command::SetName(name) => self.handle(Input::SetName(name)).await,
            Command::CreateRoom {
                name,
                password,
                ephemeral,
            } => self.create_room(name, password, ephemeral).await,
            Command::JoinLink { link, password } => self.join_link(link, password).await,
            Command::RetryPassword { room, password } => self.retry_password(room, password).await,
            Command::JoinNamed { name, password } => {
                self.busy(Some("Opening the room…"));
                yield_to_browser().await;
                let r = Room::from_name_and_password(&name, &password);
                self.busy(None);
                match r {
                    Ok(room) => self.add_room(RoomSetup::new(room, false)).await,
                    Err(e) => self.notify(format!("Could not open the room {name:?}: {e}.")),
                }
            }
            Command::Open(id) => self.open(id).await,
            Command::Post {
                room,
                text,
                reply_to,
            } => {
                if !text.trim().is_empty() {
                    self.post(room, Body::Text { text, reply_to }).await;
                }
            }
            Command::Edit { room, target, text } => {
                if !text.trim().is_empty() {
                    self.post(room, Body::Edit { target, text }).await;
                }
            }
            Command::Delete { room, target } => self.post(room, Body::Delete { target }).await,
            Command::SendFiles { room, files } => self.send_files(room, files),
            Command::FetchFile { room, root } => self.fetch_file(room, root),
            Command::PauseFile(root) => self.pause_file(root).await,
            Command::RemoveFile(root) => self.remove_file(root, true).await,
            Command::SaveFile { root, name } => self.save_file(root, name),
            Command::React {
                room,
                target,
                emoji,
            } => {
                let input = Input::React {
                    room,
                    target,
                    emoji,
                };
                self.handle(input).await;
            }
            Command::Typing { room, active } => self.handle(Input::Typing { room, active }).await,
            Command::MarkVerified { room, key } => {
                self.handle(Input::MarkVerified { room, key }).await
            }
            Command::Visible(visible) => self.handle(Input::Visible(visible)).await,
            Command::Leave(room) => self.leave(room, false).await,
            Command::DeleteRoom(room) => self.leave(room, true).await,
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
            Command::Unlock(_) | Command::UseHere => {}
            Command::EnableLock(passphrase) => self.enable_lock(passphrase).await,
            Command::DisableLock(passphrase) => self.disable_lock(passphrase).await,
            Command::LockNow => {
                // Locking is reloading: nothing of the session stays in memory, and the
                // new page asks for the passphrase before it loads anything.
                if let Some(w) = web_sys::window() {
                    let _ = w.location().reload();
                }
            }
            Command::Dismiss(id) => super::boot::dismiss(self.ui, id),
            Command::InviteWithCode { room, ttl_ms } => self.invite_with_code(room, ttl_ms),
            Command::CancelCode => self.cancel_code(),
            Command::JoinWithCode { code } => self.join_with_code(&code),
            Command::KeepRoom {
                room,
                key,
                retention,
            } => self.keep_room(room, key, retention),
            Command::StopKeeping { room, key } => self.stop_keeping(room, key).await,
            Command::ShowMessages(n) => {
                if n != self.shown {
                    self.shown = n;
                    self.dirty.extend(self.current.map(Some));
                }
            }
        }
    }

    pub(super) async fn post(&mut self, room: RoomId, body: Body) {
        self.handle(Input::Post { room, body }).await;
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
            // Its creator knows the password: no lobby check.
            Ok(room) => {
                let setup = RoomSetup {
                    check_lobby: false,
                    ..RoomSetup::new(room, ephemeral)
                };
                self.add_room(setup).await
            }
            Err(e) => self.notify(format!("The room could not be created: {e}.")),
        }
    }

    async fn join_link(&mut self, link: String, password: Option<String>) {
        let invite = match Invite::parse(link.trim()) {
            Ok(i) => i,
            Err(e) => return self.notify(format!("This invite link cannot be used: {e}.")),
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
        match r {
            Ok(room) => self.add_room(RoomSetup::new(room, false)).await,
            Err(e) => self.notify(format!("Could not join the room: {e}.")),
        }
    }

    /// With the room password entered again from the room `old` (whose password the lobby
    /// made doubtful): joins the room that password opens (see [`Input::Repassword`]).
    async fn retry_password(&mut self, old: RoomId, password: String) {
        let Some(invite) = self.node.room(&old).map(|r| r.room().invite()) else {
            return;
        };
        if password.is_empty() {
            return;
        }
        self.busy(Some("Checking the password…"));
        yield_to_browser().await;
        let r = Room::from_invite(&invite, Some(&password));
        self.busy(None);
        match r {
            Ok(room) => {
                let id = room.id();
                self.handle(Input::Repassword {
                    old,
                    room: Box::new(room),
                })
                .await;
                self.show(id);
            }
            Err(e) => self.notify(format!("Could not join the room: {e}.")),
        }
    }

    /// Adds a room (or reopens it if it is already here) and shows it.
    pub(super) async fn add_room(&mut self, setup: RoomSetup) {
        let id = setup.room.id();
        self.handle(Input::AddRoom(Box::new(setup))).await;
        self.ui.password_prompt.set(None);
        self.show(id);
    }

    /// Shows room `id`: it is the open room at once, and the address follows (the
    /// route's change then comes back as a [`Command::Open`] of the room already open).
    fn show(&mut self, id: RoomId) {
        if self.node.room(&id).is_some() {
            self.current = Some(id);
            self.unread.remove(&id);
            self.dirty.insert(Some(id));
        }
        self.dirty.insert(None);
        route::go(&Route::Room(id));
    }

    async fn open(&mut self, id: Option<RoomId>) {
        let id = id.filter(|i| self.node.room(i).is_some());
        if id.is_some() && id == self.current {
            return;
        }
        self.current = id;
        match self.current {
            Some(id) => {
                self.unread.remove(&id);
                self.dirty.insert(Some(id));
                if self.node.room(&id).is_some_and(|r| r.left()) {
                    self.handle(Input::Rejoin(id)).await;
                }
            }
            None => self.ui.room.set(None),
        }
        self.dirty.insert(None);
    }

    async fn leave(&mut self, id: RoomId, delete: bool) {
        let input = if delete {
            Input::Delete(id)
        } else {
            Input::Leave(id)
        };
        let files = if delete {
            self.node.room_files(&id)
        } else {
            Vec::new()
        };
        self.handle(input).await;
        self.forget_unused(files).await;
        if self.current == Some(id) {
            self.current = None;
            self.ui.room.set(None);
        }
        self.dirty.insert(None);
        route::go(&Route::Home);
    }
}
