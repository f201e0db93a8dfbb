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
use crate::state::{Command, MessageView};

/// What the card's one button does now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Save,
    Pause,
    Resume,
    Download,
}

impl Action {
    fn word(self) -> &'static str {
        match self {
            Action::Save => "Save",
            Action::Pause => "Pause",
            Action::Resume => "Resume",
            Action::Download => "Download",
        }
    }
}

/// One file. Its parts follow the message as it changes, and its button is one element
/// whose word changes, so a download's progress or a pause does not move keyboard focus.
#[component]
pub fn FileCard(
    /// The file as the message first showed it (its root, name, size and type never change).
    file: FileView,
    /// The message carrying it, as it changes.
    message: Signal<MessageView>,
    /// The room it is in.
    room: StoredValue<RoomId>,
    /// Where the buttons send their commands.
    sender: Sender,
) -> impl IntoView {
    let FileView {
        root,
        name,
        size,
        mime,
        image,
        ..
    } = file;
    let picture = Memo::new(move |_| {
        now(message, |f| f.url.clone().or_else(|| f.thumb_url.clone()))
            .flatten()
            .filter(|_| image)
    });
    let progress = move || {
        now(message, |f| {
            let (have, total) = f.progress.unwrap_or((0, 0));
            (!f.complete() && (f.fetching || have > 0)).then_some((have, total, f.rate))
        })
        .flatten()
    };
    let action = Memo::new(move |_| {
        now(message, |f| match (f.complete(), f.fetching, f.progress) {
            (true, _, _) => Action::Save,
            (false, true, _) => Action::Pause,
            (false, false, Some((have, _))) if have > 0 => Action::Resume,
            _ => Action::Download,
        })
        .unwrap_or(Action::Download)
    });
    let alt = name.clone();
    let picture = move || {
        picture
            .get()
            .map(|src| view! { <img class="file-image" src=src alt=alt.clone() /> })
    };
    let kind = (!mime.is_empty()).then(|| format!(" · {mime}"));
    let bar_name = name.clone();
    let bar_shown = Memo::new(move |_| progress().is_some());
    let bar = move || {
        bar_shown.get().then(|| {
            let value = move || progress().map_or(0, |(have, _, _)| have).to_string();
            let max = move || progress().map_or(1, |(_, total, _)| total.max(1)).to_string();
            let words =
                move || progress().map(|(have, total, rate)| progress_text(have, total, size, rate));
            view! {
                <div class="file-progress">
                    <progress max=max value=value aria-label=format!("Download of {bar_name}")></progress>
                    <span>{words}</span>
                </div>
            }
        })
    };
    let name_v = StoredValue::new(name.clone());
    let click = move |_| match action.get_untracked() {
        Action::Save => sender.send(Command::SaveFile {
            root,
            name: name_v.get_value(),
        }),
        Action::Pause => sender.send(Command::PauseFile(root)),
        Action::Resume | Action::Download => sender.send(Command::FetchFile {
            room: room.get_value(),
            root,
        }),
    };
    let label = move || name_v.with_value(|n| format!("{} {n}", action.get().word()));
    view! {
        <div class="file" class:file-card=!image>
            {picture}
            <p class="file-name">
                <span class="name">{name.clone()}</span>
                <span class="file-meta">{format!(" · {}", size_text(size))}{kind}</span>
            </p>
            {bar}
            <div class="actions">
                <button type="button" class="small" aria-label=label on:click=click>
                    {move || action.get().word()}
                </button>
            </div>
        </div>
    }
}

/// What the message's file is now, as `f` reads it (a message keeps its file: it is never
/// taken out, so this is `None` only for a message that never had one).
fn now<T>(message: Signal<MessageView>, f: impl FnOnce(&FileView) -> T) -> Option<T> {
    message.with(|m| m.file.as_ref().map(f))
}
