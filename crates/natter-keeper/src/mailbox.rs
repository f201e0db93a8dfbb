//! The keeper's mailbox: where members hand it a room's invite.
//!
//! The keeper joins the signaling room named by its key ([`keeper::mailbox_id`]). A member
//! who wants the room kept joins it too and sends the keeper's session a blob sealed to the
//! keeper's key ([`keeper::seal_invite`]): the server relays bytes it cannot open. The keeper
//! opens it, adds the room (unless it is at its room limit) and answers, sealed, with its
//! name or its refusal. A blob that does not open is dropped without an answer.

use natter_core::identity::PublicKey;
use natter_core::joincode::Gift;
use natter_core::keeper::{self, KeeperReply, Refusal};
use natter_core::node::{Input, RoomSetup};
use natter_core::room::Room;

use crate::driver::{short, Driver};

/// The mailbox's room and our session in it.
#[derive(Debug)]
pub(crate) struct Mailbox {
    id: String,
    session: Option<String>,
}

impl Mailbox {
    pub(crate) fn new(me: &PublicKey) -> Mailbox {
        Mailbox {
            id: keeper::mailbox_id(me),
            session: None,
        }
    }

    /// The signaling room.
    pub(crate) fn id(&self) -> &str {
        &self.id
    }

    pub(crate) fn joined(&mut self, session: String) {
        self.session = Some(session);
    }

    pub(crate) fn lost(&mut self) {
        self.session = None;
    }
}

fn room_of(gift: &Gift) -> Option<Room> {
    Room::from_parts(
        gift.invite.secret().clone(),
        gift.invite.name(),
        gift.password_key.clone(),
    )
    .ok()
}

impl Driver {
    /// A blob from session `from` in the mailbox.
    pub(crate) fn on_invite(&mut self, from: &str, blob: &str) {
        let Some(session) = self.mailbox.session.clone() else {
            return;
        };
        let (gift, reply_key) =
            match keeper::open_invite(self.node.identity(), blob, from, &session) {
                Ok(opened) => opened,
                Err(e) => {
                    tracing::debug!(error = %e, "a mailbox blob did not open");
                    return;
                }
            };
        let reply = match room_of(&gift) {
            None => KeeperReply::Refused(Refusal::Invalid),
            Some(room) => {
                let id = room.id();
                let known = self.node.room(&id).is_some();
                if !known && self.node.rooms().count() >= self.config.max_rooms {
                    tracing::warn!(
                        limit = self.config.max_rooms,
                        "refused a room: at the room limit"
                    );
                    KeeperReply::Refused(Refusal::Full)
                } else if !known && self.stored_bytes() >= self.config.max_bytes {
                    tracing::warn!(
                        limit = self.config.max_bytes,
                        "refused a room: the store is at its byte budget"
                    );
                    KeeperReply::Refused(Refusal::Full)
                } else {
                    // The member's latest word on how much to hold wins.
                    if let Err(e) = self.store.set_retention(&id, gift.retention) {
                        tracing::error!(room = %short(&id), error = %e, "storing a retention failed");
                    }
                    if known {
                        self.input(Input::SetRetention {
                            room: id,
                            retention: gift.retention,
                        });
                    } else {
                        let setup = RoomSetup {
                            check_lobby: false,
                            retention: gift.retention,
                            ..RoomSetup::new(room, false)
                        };
                        self.input(Input::AddRoom(Box::new(setup)));
                        tracing::info!(room = %short(&id), retention = ?gift.retention, "invited into a room");
                    }
                    KeeperReply::Kept {
                        name: self.node.name().to_owned(),
                    }
                }
            }
        };
        let sealed = reply_key.seal_reply(&reply);
        let mailbox = self.mailbox.id.clone();
        self.pool.signal(&mailbox, from, &sealed);
    }
}
