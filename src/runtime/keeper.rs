//! Keepers: asking one to keep a room available, and telling the room who keeps it. The
//! exchange runs in [`crate::keeper`]; only its agreement comes back into the loop
//! ([`Runtime::on_kept`]), which names the keeper in the room with a `Keeper` entry so every
//! member's view lists it.

use futures::channel::oneshot;
use leptos::prelude::{GetUntracked, Set};
use natter_core::identity::PublicKey;
use natter_core::joincode::Gift;
use natter_core::log::Body;
use natter_core::retention::Retention;
use natter_core::room::RoomId;

use super::Runtime;
use crate::keeper::{Ask, AskStatus};
use crate::state::KeeperAskView;

/// A keeper agreed to keep a room.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Kept {
    /// The room.
    pub room: RoomId,
    /// The keeper's key.
    pub key: PublicKey,
}

impl Runtime {
    /// Asks keeper `key` to keep `room` (as much of it as `retention` says), ending an
    /// asking under way.
    pub(super) fn keep_room(&mut self, room: RoomId, key: PublicKey, retention: Retention) {
        let Some(r) = self.node.room(&room).map(|r| r.room()) else {
            return;
        };
        let gift = Gift {
            invite: r.invite(),
            password_key: r.password_key().cloned(),
            retention,
        };
        if let Some(cancel) = self.keeper_cancel.take() {
            let _ = cancel.send(());
        }
        let (cancel, cancelled) = oneshot::channel();
        self.keeper_cancel = Some(cancel);
        let ui = self.ui;
        ui.keeper_ask
            .set(Some(KeeperAskView::of(room, &AskStatus::Asking)));
        let kept = self.kept_tx.clone();
        wasm_bindgen_futures::spawn_local(async move {
            let report = move |s: &AskStatus| ui.keeper_ask.set(Some(KeeperAskView::of(room, s)));
            let ask = crate::keeper::run(Ask::new(key, gift), report, cancelled).await;
            if let AskStatus::Kept { .. } = ask.status() {
                let _ = kept.unbounded_send(Kept {
                    room,
                    key: *ask.key(),
                });
            }
        });
    }

    /// A keeper agreed: the room is told, so every member's view lists it.
    pub(super) async fn on_kept(&mut self, kept: Kept) {
        let body = Body::Keeper {
            key: kept.key,
            keep: true,
        };
        self.post(kept.room, body).await;
    }

    /// Tells `room` that keeper `key` no longer keeps it.
    pub(super) async fn stop_keeping(&mut self, room: RoomId, key: PublicKey) {
        self.post(room, Body::Keeper { key, keep: false }).await;
        let server = self.ui.keeper.get_untracked();
        let name = crate::keeper::keeper_name(
            &self.node.name_of(Some(&room), &key),
            &key,
            server.as_ref(),
        );
        self.ui.keeper_ask.set(Some(KeeperAskView {
            room,
            status: crate::keeper::stopped(&name),
            busy: false,
        }));
    }
}
