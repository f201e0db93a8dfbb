//! Leaving and deleting the open room. Deleting wipes the history from this device and
//! cannot be undone, so it asks for a second, explicit confirmation.

use leptos::prelude::*;
use natter_core::room::RoomId;

use crate::components::confirm::Confirmation;
use crate::components::use_sender;
use crate::route::{self, Route};
use crate::state::Command;

/// "Leave room" and "Delete room" (with its confirmation).
#[component]
pub fn RoomActions(
    /// The room shown.
    room: RoomId,
) -> impl IntoView {
    let sender = use_sender();
    let room = StoredValue::new(room);
    let confirming = RwSignal::new(false);
    let leave = move |_| {
        sender.send(Command::Leave(room.get_value()));
        route::go(&Route::Home);
    };
    let delete = move || {
        sender.send(Command::DeleteRoom(room.get_value()));
        route::go(&Route::Home);
    };
    view! {
        <section class="panel room-actions" aria-label="Room actions">
            <div class="button-row">
                <button type="button" class="secondary" on:click=leave>"Leave room"</button>
                <button type="button" class="danger" on:click=move |_| confirming.set(true)>
                    "Delete room"
                </button>
            </div>
            <Confirmation open=confirming confirm_label="Yes, delete this room" on_confirm=delete>
                "Delete this room and all its messages from this device? "
                "This cannot be undone; other members keep their copies."
            </Confirmation>
        </section>
    }
}
