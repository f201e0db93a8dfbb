//! A file a message carries: an image inline (the sender's thumbnail until the whole image
//! is here), any other file as a card with its name, size and type; a progress bar while it
//! downloads, with pause and resume, and saving under its name.
//!
//! Names and types come from peers: they are shown as text only. What is shown inline is
//! decided by [`crate::files`] (raster images on an allow-list, under blob URLs of a strict
//! type).

use leptos::prelude::*;
use natter_core::room::RoomId;

use crate::components::Sender;
use crate::files::{progress_text, size_text, FileView};
use crate::state::Command;

/// One file.
#[component]
pub fn FileCard(
    /// What to show.
    file: FileView,
    /// The room it is in.
    room: StoredValue<RoomId>,
    /// Where the buttons send their commands.
    sender: Sender,
) -> impl IntoView {
    let complete = file.complete();
    let FileView {
        root,
        name,
        size,
        mime,
        image,
        thumb_url,
        url,
        progress,
        fetching,
        rate,
    } = file;
    let picture = image
        .then(|| url.clone().or(thumb_url))
        .flatten()
        .map(|src| view! { <img class="file-image" src=src alt=name.clone() /> });
    let kind = (!mime.is_empty()).then(|| format!(" · {mime}"));
    let (have, total) = progress.unwrap_or((0, 0));
    let bar = (!complete && (fetching || have > 0)).then(|| {
        view! {
            <div class="file-progress">
                <progress
                    max=total.max(1).to_string()
                    value=have.to_string()
                    aria-label=format!("Download of {name}")
                ></progress>
                <span>{progress_text(have, total, size, rate)}</span>
            </div>
        }
    });
    let name_v = StoredValue::new(name.clone());
    let button = if complete {
        let save = move |_| {
            sender.send(Command::SaveFile {
                root,
                name: name_v.get_value(),
            })
        };
        view! {
            <button type="button" class="small" aria-label=format!("Save {name}") on:click=save>
                "Save"
            </button>
        }
        .into_any()
    } else if fetching {
        let pause = move |_| sender.send(Command::PauseFile(root));
        view! {
            <button type="button" class="small" aria-label=format!("Pause {name}") on:click=pause>
                "Pause"
            </button>
        }
        .into_any()
    } else {
        let fetch = move |_| {
            sender.send(Command::FetchFile {
                room: room.get_value(),
                root,
            })
        };
        let (word, label) = if have > 0 {
            ("Resume", format!("Resume {name}"))
        } else {
            ("Download", format!("Download {name}"))
        };
        view! {
            <button type="button" class="small" aria-label=label on:click=fetch>{word}</button>
        }
        .into_any()
    };
    view! {
        <div class="file" class:file-card=!image>
            {picture}
            <p class="file-name">
                <span class="name">{name.clone()}</span>
                <span class="file-meta">{format!(" · {}", size_text(size))}{kind}</span>
            </p>
            {bar}
            <div class="actions">{button}</div>
        </div>
    }
}
