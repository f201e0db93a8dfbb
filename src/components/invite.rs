//! Inviting people: the room's invite link to copy or scan.
//!
//! The link carries the room's secret in its fragment, so the panel says that whoever has it
//! can join. Copying uses the asynchronous clipboard, which browsers only offer on secure
//! pages; when it is missing or refuses, the user is told to copy the selected link by hand.

use leptos::prelude::*;
use leptos::task::spawn_local;
use natter_core::room::RoomId;
use wasm_bindgen::{JsCast, JsValue};

use crate::components::code_invite::CodeInvite;
use crate::components::qr::qr_svg;
use crate::components::use_state;

/// Why copying failed, in words.
fn describe_js_error(e: &JsValue) -> String {
    e.dyn_ref::<js_sys::Error>()
        .map(|err| String::from(err.message()))
        .or_else(|| e.as_string())
        .unwrap_or_else(|| "the browser refused".to_owned())
}

/// Copies `text` to the clipboard; the result is words for the user.
async fn copy_to_clipboard(text: String) -> Result<(), String> {
    let window = web_sys::window().ok_or("there is no window")?;
    let navigator = window.navigator();
    // `navigator.clipboard` is undefined on insecure pages: look before calling it.
    let clipboard = js_sys::Reflect::get(&navigator, &JsValue::from_str("clipboard"))
        .ok()
        .filter(|c| !c.is_undefined() && !c.is_null())
        .ok_or("this page may not use the clipboard")?
        .unchecked_into::<web_sys::Clipboard>();
    wasm_bindgen_futures::JsFuture::from(clipboard.write_text(&text))
        .await
        .map(|_| ())
        .map_err(|e| describe_js_error(&e))
}

/// Selects a read-only field's text when it gets focus, ready to copy.
pub fn select_all(ev: leptos::ev::FocusEvent) {
    if let Some(input) = ev
        .target()
        .and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok())
    {
        input.select();
    }
}

/// The Invite panel of `room`: its link, and a join code.
#[component]
pub fn Invite(
    /// The room.
    room: RoomId,
) -> impl IntoView {
    let state = use_state();
    let link = Memo::new(move |_| {
        state.room.with(|r| {
            r.as_ref()
                .map(|r| r.invite_link.clone())
                .unwrap_or_default()
        })
    });
    let svg = Memo::new(move |_| qr_svg(&link.get()));
    let copy_result = RwSignal::new(String::new());
    let copy = move |_| {
        let text = link.get_untracked();
        spawn_local(async move {
            let words = match copy_to_clipboard(text).await {
                Ok(()) => "Link copied.".to_owned(),
                Err(why) => format!(
                    "Could not copy the link: {why}. Select the link above and copy it yourself."
                ),
            };
            copy_result.set(words);
        });
    };
    let qr = move || {
        match svg.get() {
        Some(markup) => view! {
            // The markup is built from numbers only (see `qr`): no user text reaches it.
            <div class="qr" role="img" aria-label="QR code of the invite link" inner_html=markup></div>
        }
        .into_any(),
        None => view! { <p class="muted">"This link is too long for a QR code."</p> }.into_any(),
    }
    };
    view! {
        <section class="panel invite" aria-label="Invite">
            <h3>"Invite"</h3>
            <p class="hint">
                "Anyone with this link can join the room and read along. Share it only with "
                "people you trust, privately."
            </p>
            <label for="invite-link">"Invite link"</label>
            <div class="inline-field">
                <input id="invite-link" type="text" readonly prop:value=move || link.get() on:focus=select_all />
                <button type="button" on:click=copy>"Copy link"</button>
            </div>
            <p class="copy-result" aria-live="polite">{move || copy_result.get()}</p>
            {qr}
            <CodeInvite room />
        </section>
    }
}
