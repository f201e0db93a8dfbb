//! "Files on this device": the open room's files this device holds, whole or in part, and
//! how much space they take, each with a button to remove it from this device. Its
//! message stays in the room, so it can be downloaded again.

use leptos::prelude::*;

use crate::components::{use_sender, use_state};
use crate::files::size_text;
use crate::state::{Command, HeldFile};

/// The open room's files on this device.
#[component]
pub fn RoomFiles() -> impl IntoView {
    let state = use_state();
    let sender = use_sender();
    // Redrawn only when the list changes, not with every message.
    let files = Memo::new(move |_| {
        state
            .room
            .with(|r| r.as_ref().map(|r| r.files_here.clone()).unwrap_or_default())
    });
    let total = move || files.with(|f| f.iter().map(|f| f.bytes).sum::<u64>());
    let rows = move || {
        files
            .get()
            .into_iter()
            .map(|HeldFile { root, name, bytes, complete }| {
                let remove = move |_| sender.send(Command::RemoveFile(root));
                let part = (!complete).then_some(" (part)");
                view! {
                    <li>
                        <span class="file-name">{name.clone()}</span>
                        <span class="file-meta">{format!(" · {}", size_text(bytes))}{part}</span>
                        " "
                        <button type="button" class="secondary small" on:click=remove
                            aria-label=format!("Remove {name} from this device")>
                            "Remove"
                        </button>
                    </li>
                }
            })
            .collect_view()
    };
    view! {
        <section class="panel" aria-labelledby="room-files-title">
            <h3 id="room-files-title">"Files on this device"</h3>
            {move || {
                if files.with(Vec::is_empty) {
                    view! { <p class="hint">"None of this room's files are stored here."</p> }
                        .into_any()
                } else {
                    view! {
                        <p class="hint">
                            {move || format!("They take {} here. ", size_text(total()))}
                            "Removing one keeps its message: it can be downloaded again."
                        </p>
                        <ul class="room-files">{rows}</ul>
                    }
                        .into_any()
                }
            }}
        </section>
    }
}
