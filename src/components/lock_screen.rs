//! The lock screen: while the app lock is on and the app locked, nothing else shows and
//! nothing is loaded until the passphrase is given. A wrong passphrase is said in words
//! (a notice) and changes nothing. Someone who forgot the passphrase can only start over:
//! the sealed data cannot be read without it.

use leptos::ev::SubmitEvent;
use leptos::prelude::*;

use crate::components::confirm::Confirmation;
use crate::components::use_sender;
use crate::state::Command;

/// The passphrase form.
#[component]
pub fn LockScreen() -> impl IntoView {
    let sender = use_sender();
    let passphrase = RwSignal::new(String::new());
    let unlock = move |ev: SubmitEvent| {
        ev.prevent_default();
        let text = passphrase.get_untracked();
        if !text.is_empty() {
            sender.send(Command::Unlock(text));
            passphrase.set(String::new());
        }
    };
    let confirming = RwSignal::new(false);
    view! {
        <section class="card lock-screen" aria-labelledby="lock-title">
            <h1 id="lock-title">"Natter is locked"</h1>
            <form on:submit=unlock>
                <label for="unlock-passphrase">"Passphrase"</label>
                <input
                    id="unlock-passphrase"
                    type="password"
                    autocomplete="current-password"
                    bind:value=passphrase
                />
                <button type="submit">"Unlock"</button>
            </form>
            <p class="hint">
                "Forgot the passphrase? What is stored here cannot be read without it; "
                "you can only start over. Other members of your rooms keep their copies."
            </p>
            <button type="button" class="danger" on:click=move |_| confirming.set(true)>
                "Erase all local data"
            </button>
            <Confirmation
                open=confirming
                confirm_label="Yes, erase everything"
                on_confirm=move |()| sender.send(Command::EraseAll)
            >
                "This cannot be undone."
            </Confirmation>
        </section>
    }
}
