//! Join codes: showing one for a room, entering one, and joining the room a matched code
//! hands over. The exchange itself runs in [`crate::joincode`]; only the room it ends with
//! comes back into the loop ([`Runtime::on_gift`]).

use futures::channel::oneshot;
use leptos::prelude::{GetUntracked, Set};
use natter_core::joincode::{Code, Gift, Session, Status};
use natter_core::node::RoomSetup;
use natter_core::room::{Room, RoomId};

use super::{now_ms, Runtime};
use crate::state::{CodeInviteView, CodeJoinView};

impl Runtime {
    /// Shows a code for `room`, replacing one shown before.
    pub(super) fn invite_with_code(&mut self, room: RoomId, ttl_ms: u64) {
        let Some(r) = self.node.room(&room).map(|r| r.room()) else {
            return;
        };
        let gift = Gift {
            invite: r.invite(),
            password_key: r.password_key().cloned(),
            retention: natter_core::retention::Retention::All,
        };
        self.cancel_code();
        let (cancel, cancelled) = oneshot::channel();
        self.code_cancel = Some(cancel);
        let ui = self.ui;
        wasm_bindgen_futures::spawn_local(async move {
            let report = move |s: &Session| {
                ui.code_invite
                    .set(Some(CodeInviteView::of(room, s, now_ms())))
            };
            crate::joincode::run(Session::invite(gift, ttl_ms), report, cancelled).await;
        });
    }

    /// Closes the code shown, if any.
    pub(super) fn cancel_code(&mut self) {
        if let Some(cancel) = self.code_cancel.take() {
            let _ = cancel.send(());
        }
    }

    /// Enters a code someone showed us. Our name goes to them only if we chose one.
    pub(super) fn join_with_code(&mut self, text: &str) {
        let code = match Code::parse(text) {
            Ok(code) => code,
            Err(e) => {
                self.ui.code_join.set(Some(CodeJoinView {
                    status: format!("That is not a join code: {e}."),
                    busy: false,
                }));
                return;
            }
        };
        let name = if self.ui.name_chosen.get_untracked() {
            self.node.name().to_owned()
        } else {
            String::new()
        };
        let session = Session::join(code, &name, &mut rand_core::OsRng);
        let gifts = self.gift_tx.clone();
        let ui = self.ui;
        wasm_bindgen_futures::spawn_local(async move {
            // Entering a code is not cancelled: it ends within a round trip or two.
            let (keep, never) = oneshot::channel::<()>();
            let report = move |s: &Session| ui.code_join.set(Some(CodeJoinView::of(s)));
            let session = crate::joincode::run(session, report, never).await;
            drop(keep);
            if let Status::Invited(gift) = session.status() {
                let _ = gifts.unbounded_send(gift.clone());
            }
        });
    }

    /// A matched code handed us `gift`: join its room, with the password key it carries
    /// (the inviter knows the password, so there is no lobby check).
    pub(super) async fn on_gift(&mut self, gift: Gift) {
        let invite = gift.invite;
        match Room::from_parts(invite.secret().clone(), invite.name(), gift.password_key) {
            Ok(room) => {
                let setup = RoomSetup {
                    check_lobby: false,
                    ..RoomSetup::new(room, false)
                };
                self.add_room(setup).await;
                self.ui.code_join.set(None);
            }
            Err(e) => self.notify(format!("Could not join the room: {e}.")),
        }
    }
}
