//! The views' side of the loop: notices, the busy sign, and refreshing the open room and the
//! room list when pacing allows ([`crate::pacing`]), the open room's view extended entry by
//! entry rather than built per refresh.

use leptos::prelude::{Set, Update, WithUntracked};
use natter_core::log::{EntryId, ViewBuilder};
use natter_core::node::MAX_NOTICE_CHARS;
use natter_core::room::RoomId;

use super::{base_url, Runtime, MAX_NOTICES};
use crate::state::Notice;

impl Runtime {
    /// Shows a notice. Some words come from outside (a server's error message): each is cut
    /// to [`MAX_NOTICE_CHARS`], and only the newest [`MAX_NOTICES`] stay.
    pub(super) fn notify(&mut self, text: String) {
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

    pub(super) fn busy(&self, what: Option<&str>) {
        self.ui.busy.set(what.map(str::to_owned));
    }

    /// When a refresh that pacing deferred may run.
    pub(super) fn ui_deferred_until(&self) -> Option<u64> {
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
    pub(super) fn flush_ui_paced(&mut self) {
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
    pub(super) fn extend_view(&mut self, room: RoomId, new: &[EntryId]) {
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
    pub(super) fn flush_ui(&mut self) {
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

    pub(super) fn refresh_rooms(&mut self) {
        // What shows the list (and the title's unread count) wakes only when it changed.
        let list = crate::view::room_list(&self.node, &self.unread);
        if self.ui.rooms.with_untracked(|rooms| *rooms != list) {
            self.ui.rooms.set(list);
        }
    }
}
