//! Writing, replying and editing.
//!
//! The composer's mode ([`Draft`]) and text live in a [`ComposerState`] shared through
//! context with the message list, whose Reply and Edit buttons put the composer into those
//! modes; [`Drafts`] keeps each room's unsent text while another room is shown. Enter
//! sends, Shift+Enter adds a line; blank text is never sent. Typing is reported at most
//! every [`TYPING_EVERY_MS`] so a fast typist does not flood the room. Files come from the
//! "Attach files" button, from a drop on the composer, or pasted; several at once.

use std::collections::HashMap;

use leptos::ev::{KeyboardEvent, SubmitEvent};
use leptos::html::{Input, Textarea};
use leptos::prelude::*;
use natter_core::log::EntryId;
use natter_core::room::RoomId;

use crate::components::{non_blank, use_sender};
use crate::state::Command;

/// Least time between two "typing" reports.
pub const TYPING_EVERY_MS: f64 = 3_000.0;

/// Longest reply excerpt shown, in characters.
const EXCERPT_CHARS: usize = 80;

/// What the composer is doing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Draft {
    /// Writing a new message.
    New,
    /// Writing a reply to message `id`; `excerpt` is "author: text", shortened.
    Reply {
        /// The message replied to.
        id: EntryId,
        /// What is shown of it.
        excerpt: String,
    },
    /// Changing our message `id`.
    Edit {
        /// The message being edited.
        id: EntryId,
    },
}

/// The composer's state, shared with the message list of the same room.
#[derive(Debug, Clone, Copy)]
pub struct ComposerState {
    /// The mode.
    pub mode: RwSignal<Draft>,
    /// The text being written.
    pub text: RwSignal<String>,
    /// The text area, for moving focus to it.
    pub input: NodeRef<Textarea>,
}

impl ComposerState {
    /// A composer holding `text`, written in `mode`.
    fn holding(mode: Draft, text: String) -> Self {
        ComposerState {
            mode: RwSignal::new(mode),
            text: RwSignal::new(text),
            input: NodeRef::new(),
        }
    }

    /// Starts a reply to `id` by `author`.
    pub fn reply(self, id: EntryId, author: &str, text: &str) {
        self.mode.set(Draft::Reply {
            id,
            excerpt: excerpt(author, text),
        });
        self.focus();
    }

    /// Starts editing our message `id`, whose text is `text`.
    pub fn edit(self, id: EntryId, text: String) {
        self.mode.set(Draft::Edit { id });
        self.text.set(text);
        self.focus();
    }

    /// Back to writing a new message; an edit's text is dropped, a reply's is kept.
    pub fn reset(self) {
        if matches!(self.mode.get_untracked(), Draft::Edit { .. }) {
            self.text.set(String::new());
        }
        self.mode.set(Draft::New);
    }

    /// Moves keyboard focus to the text area.
    pub fn focus(self) {
        if let Some(input) = self.input.get_untracked() {
            // Focus is a convenience; failing to move it changes nothing else.
            let _ = input.focus();
        }
    }
}

/// Unsent drafts by room, for the session: leaving a room and coming back finds its text
/// (and what it replies to) where it was. They live in memory only, so nothing of them is
/// stored (the app lock's promise holds) and a reload forgets them. An edit under way is
/// not kept: leaving the room abandons it.
#[derive(Debug, Clone, Copy)]
pub struct Drafts(StoredValue<HashMap<RoomId, (Draft, String)>>);

impl Drafts {
    /// No drafts yet.
    pub fn new() -> Self {
        Drafts(StoredValue::new(HashMap::new()))
    }

    /// The composer of `room`'s view, holding the room's draft; what is written in it is
    /// kept as the room's draft while the view lives.
    pub fn composer_for(self, room: RoomId) -> ComposerState {
        let (mode, text) = self
            .0
            .with_value(|m| m.get(&room).cloned())
            .unwrap_or((Draft::New, String::new()));
        let composer = ComposerState::holding(mode, text);
        Effect::new(move |_| {
            let mode = composer.mode.get();
            let text = composer.text.get();
            self.0.update_value(|m| {
                if text.is_empty() || matches!(mode, Draft::Edit { .. }) {
                    m.remove(&room);
                } else {
                    m.insert(room, (mode, text));
                }
            });
        });
        composer
    }
}

impl Default for Drafts {
    fn default() -> Self {
        Self::new()
    }
}

/// "author: text", cut to [`EXCERPT_CHARS`] characters with an ellipsis.
pub fn excerpt(author: &str, text: &str) -> String {
    let one_line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let full = format!("{author}: {one_line}");
    if full.chars().count() <= EXCERPT_CHARS {
        return full;
    }
    let mut cut: String = full.chars().take(EXCERPT_CHARS - 1).collect();
    cut.push('…');
    cut
}

/// The files of a file list (a picker's, a drop's or a paste's).
fn files_of(list: Option<web_sys::FileList>) -> Vec<web_sys::File> {
    let Some(list) = list else {
        return Vec::new();
    };
    (0..list.length()).filter_map(|i| list.get(i)).collect()
}

/// Milliseconds since the epoch, from the browser's clock.
fn now_ms() -> f64 {
    js_sys::Date::now()
}

/// The text area and its Send / Save edit button.
#[component]
pub fn Composer(
    /// The room the messages go to.
    room: RoomId,
) -> impl IntoView {
    let sender = use_sender();
    let composer = expect_context::<ComposerState>();
    let room = StoredValue::new(room);
    // When we last said we are typing (0: we are not).
    let typing_since = StoredValue::new(0.0_f64);

    let stop_typing = move || {
        if typing_since.get_value() > 0.0 {
            typing_since.set_value(0.0);
            sender.send(Command::Typing {
                room: room.get_value(),
                active: false,
            });
        }
    };

    let send_now = move || {
        let Some(text) = non_blank(&composer.text.get_untracked()) else {
            return;
        };
        let room_id = room.get_value();
        let command = match composer.mode.get_untracked() {
            Draft::Edit { id } => Command::Edit {
                room: room_id,
                target: id,
                text,
            },
            Draft::Reply { id, .. } => Command::Post {
                room: room_id,
                text,
                reply_to: Some(id),
            },
            Draft::New => Command::Post {
                room: room_id,
                text,
                reply_to: None,
            },
        };
        sender.send(command);
        typing_since.set_value(0.0);
        sender.send(Command::Typing {
            room: room.get_value(),
            active: false,
        });
        composer.text.set(String::new());
        composer.mode.set(Draft::New);
    };

    let on_input = move |ev: leptos::ev::Event| {
        let value = event_target_value(&ev);
        let blank = value.trim().is_empty();
        composer.text.set(value);
        if blank {
            stop_typing();
            return;
        }
        let now = now_ms();
        if now - typing_since.get_value() >= TYPING_EVERY_MS {
            typing_since.set_value(now);
            sender.send(Command::Typing {
                room: room.get_value(),
                active: true,
            });
        }
    };

    let on_keydown = move |ev: KeyboardEvent| {
        if ev.key() == "Enter" && !ev.shift_key() && !ev.is_composing() {
            ev.prevent_default();
            send_now();
        } else if ev.key() == "Escape" && composer.mode.get_untracked() != Draft::New {
            composer.reset();
        }
    };

    let picker = NodeRef::<Input>::new();
    let send_files = move |files: Vec<web_sys::File>| {
        if !files.is_empty() {
            sender.send(Command::SendFiles {
                room: room.get_value(),
                files,
            });
        }
    };
    let on_pick = move |_| {
        if let Some(input) = picker.get_untracked() {
            send_files(files_of(input.files()));
            // The same file may be picked again.
            input.set_value("");
        }
    };
    let attach = move |_| {
        if let Some(input) = picker.get_untracked() {
            input.click();
        }
    };
    let on_drop = move |ev: leptos::ev::DragEvent| {
        let files = files_of(ev.data_transfer().and_then(|d| d.files()));
        if !files.is_empty() {
            ev.prevent_default();
            send_files(files);
        }
    };
    let on_paste = move |ev: leptos::ev::ClipboardEvent| {
        let files = files_of(ev.clipboard_data().and_then(|d| d.files()));
        if !files.is_empty() {
            ev.prevent_default();
            send_files(files);
        }
    };

    let on_submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        send_now();
    };
    // The button sends on its own click: the form's submit event comes only after the
    // browser's submission steps, a delay every message would wait for. Submitting the
    // form some other way still sends.
    let on_send_click = move |ev: leptos::ev::MouseEvent| {
        ev.prevent_default();
        send_now();
    };

    let mode_line = move || match composer.mode.get() {
        Draft::New => None,
        Draft::Reply { excerpt, .. } => Some(
            view! {
                <div class="composer-mode">
                    <p>"Replying to " <span class="excerpt">{excerpt}</span></p>
                    <button type="button" class="secondary" on:click=move |_| composer.reset()>
                        "Cancel reply"
                    </button>
                </div>
            }
            .into_any(),
        ),
        Draft::Edit { .. } => Some(
            view! {
                <div class="composer-mode">
                    <p>"Editing your message"</p>
                    <button
                        type="button"
                        class="secondary"
                        on:click=move |_| {
                            composer.reset();
                            composer.focus();
                        }
                    >
                        "Cancel edit"
                    </button>
                </div>
            }
            .into_any(),
        ),
    };

    let button_text = move || {
        if matches!(composer.mode.get(), Draft::Edit { .. }) {
            "Save edit"
        } else {
            "Send"
        }
    };

    view! {
        <form
            class="composer"
            on:submit=on_submit
            on:dragover=|ev: leptos::ev::DragEvent| ev.prevent_default()
            on:drop=on_drop
        >
            {mode_line}
            <label for="composer-input" class="visually-hidden">"Message"</label>
            <div class="composer-row">
                <textarea
                    id="composer-input"
                    rows="2"
                    placeholder="Write a message…"
                    aria-describedby="composer-hint"
                    node_ref=composer.input
                    prop:value=move || composer.text.get()
                    on:input=on_input
                    on:keydown=on_keydown
                    on:paste=on_paste
                ></textarea>
                <button type="button" class="secondary" on:click=attach>"Attach files"</button>
                <input
                    type="file"
                    multiple
                    hidden
                    aria-label="Files to attach"
                    node_ref=picker
                    on:change=on_pick
                />
                <button type="submit" on:click=on_send_click>{button_text}</button>
            </div>
            <p id="composer-hint" class="hint">"Enter sends, Shift+Enter starts a new line."</p>
        </form>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_excerpts_are_kept_whole_on_one_line() {
        assert_eq!(excerpt("Ann", "hello\n  there"), "Ann: hello there");
    }

    #[test]
    fn long_excerpts_are_cut_at_a_character_boundary() {
        let text = "é".repeat(200);
        let cut = excerpt("Ann", &text);
        assert_eq!(cut.chars().count(), EXCERPT_CHARS);
        assert!(cut.ends_with('…'));
        assert!(cut.starts_with("Ann: é"));
    }
}
