//! The app's views, one concern per file. Components read [`UiState`] and send
//! [`Command`]s; they hold no protocol logic, so everything that can go wrong on the network
//! or in storage is the runtime's business and reaches the views only as state.

pub mod announcer;
pub mod appearance;
pub mod busy;
pub mod code_invite;
pub mod code_join;
pub mod composer;
pub mod confirm;
pub mod elsewhere;
pub mod embed_bridge;
pub mod file_card;
pub mod first_name;
pub mod home;
pub mod idle_lock;
pub mod invite;
pub mod join;
pub mod join_question;
pub mod keeper_panel;
pub mod lock_screen;
pub mod lock_settings;
pub mod message;
pub mod message_list;
pub mod name_form;
pub mod nav;
pub mod new_room;
pub mod notices;
pub mod notifier;
pub mod password_hint;
pub mod peers;
pub mod privacy_screen;
pub mod qr;
pub mod room;
pub mod room_actions;
pub mod room_files;
pub mod rooms_list;
pub mod settings;
pub mod status_bar;
pub mod title_badge;
pub mod update_prompt;

use leptos::prelude::*;

use crate::state::{Command, Commands, UiState};

/// A copyable handle on the command queue, so event handlers can capture it freely.
#[derive(Debug, Clone, Copy)]
pub struct Sender(StoredValue<Commands>);

impl Sender {
    /// Queues a command for the runtime.
    pub fn send(self, command: Command) {
        self.0.with_value(|commands| commands.send(command));
    }
}

/// The command queue provided by the app root.
pub fn use_sender() -> Sender {
    Sender(StoredValue::new(expect_context::<Commands>()))
}

/// The UI state provided by the app root.
pub fn use_state() -> UiState {
    expect_context::<UiState>()
}

/// Moves keyboard focus to `node` once it is in the page. Focus is a convenience (for
/// screen readers, and to type at once); failing to move it changes nothing else.
pub fn focus_when_shown<E>(node: NodeRef<E>)
where
    E: leptos::html::ElementType + 'static,
    E::Output: wasm_bindgen::JsCast + Clone + AsRef<web_sys::HtmlElement> + 'static,
{
    Effect::new(move |_| {
        if let Some(element) = node.get() {
            let element: &web_sys::HtmlElement = element.as_ref();
            let _ = element.focus();
        }
    });
}

/// Trims `text`; `None` when nothing but whitespace is left.
pub fn non_blank(text: &str) -> Option<String> {
    let trimmed = text.trim();
    (!trimmed.is_empty()).then(|| trimmed.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blank_text_is_none_and_other_text_is_trimmed() {
        assert_eq!(non_blank(""), None);
        assert_eq!(non_blank(" \n\t "), None);
        assert_eq!(non_blank("  hi there \n"), Some("hi there".to_owned()));
    }
}
