//! One tab at a time.
//!
//! Every tab of the app on one device shares one identity and one database. Two tabs
//! running at once would each sign their own next entry with the same seq, and peers take
//! that for a fork: they accept none of the identity's later entries in that room
//! (natter-core's sync docs). So the runtime boots only in the tab that holds the Web Lock
//! [`LOCK`], and holds it until the tab closes.
//!
//! A tab that does not get the lock within [`GRACE_MS`] (a reloaded page's lock is
//! released as the old page goes) says that the app is open elsewhere, and waits. It boots
//! by itself when the other tab closes. Its **Use here** takes the lock from the other tab
//! (`steal`), which then reloads and waits in its turn, so at most one tab runs at a time.
//! Once the lock is taken from a tab, its runtime handles no further event
//! ([`taken`]). A browser without Web Locks, or one that refuses them (site data blocked),
//! boots at once, as the app did before the lock.

use std::cell::Cell;
use std::rc::Rc;

use futures::channel::mpsc;
use futures::{FutureExt, StreamExt};
use js_sys::{Function, Object, Promise, Reflect};
use leptos::prelude::Set;
use wasm_bindgen::{JsCast, JsValue};

use super::boot::{dismiss, early_notice};
use crate::state::{Command, UiState};

/// The Web Lock's name; the lock is scoped to the app's origin (and storage partition).
const LOCK: &str = "natter.runtime";

/// How long a tab waits for the lock before it says the app is open elsewhere.
const GRACE_MS: u32 = 400;

/// The id of this module's notice ([`super::boot::early_notice`]): far below the
/// unlock's, which count down from the top one per wrong passphrase.
const NOTICE_ID: u64 = u64::MAX - 1_000;

thread_local! {
    static TAKEN: Cell<bool> = const { Cell::new(false) };
}

/// Another tab took the lock from this one: the page is reloading, and the runtime must
/// handle nothing more meanwhile.
pub(super) fn taken() -> bool {
    TAKEN.with(Cell::get)
}

/// What became of a request for the lock.
enum Answer {
    Granted,
    /// It settled without being granted: given up by us (Use here asked anew), or refused
    /// by the browser.
    Refused {
        steal: bool,
        error: JsValue,
    },
}

/// Returns once this tab holds the lock (at once without Web Locks). Until then, if the
/// lock is held elsewhere, the views show that and offer **Use here**; other commands wait
/// in `deferred`.
pub(super) async fn hold(
    ui: UiState,
    commands: &mut mpsc::UnboundedReceiver<Command>,
    deferred: &mut Vec<Command>,
) {
    let Some(locks) = lock_manager() else {
        return;
    };
    let (answer_tx, mut answers) = mpsc::unbounded::<Answer>();
    let waiting = web_sys::AbortController::new().ok();
    let signal = waiting.as_ref().map(|w| w.signal());
    if let Err(e) = request(ui, &locks, false, signal.as_ref(), answer_tx.clone()) {
        return unusable(&e);
    }
    let mut grace = gloo_timers::future::TimeoutFuture::new(GRACE_MS).fuse();
    futures::select_biased! {
        answer = answers.next() => match answer {
            Some(Answer::Refused { error, .. }) => return unusable(&error),
            Some(Answer::Granted) | None => return,
        },
        () = grace => {}
    }
    ui.elsewhere.set(true);
    // Asked to take the lock already: a second steal would take it from this tab itself.
    let mut taking = false;
    loop {
        // Answers first: a grant that came with a click must not be stolen back.
        futures::select_biased! {
            answer = answers.next() => match answer {
                Some(Answer::Granted) | None => break,
                // The waiting request, given up for the steal.
                Some(Answer::Refused { steal: false, .. }) if taking => {}
                Some(Answer::Refused { steal: false, error }) => {
                    unusable(&error);
                    break;
                }
                Some(Answer::Refused { steal: true, error }) => {
                    taking = false;
                    not_taken(ui, &error);
                }
            },
            command = commands.next() => match command {
                Some(Command::UseHere) if !taking => {
                    taking = true;
                    if let Some(w) = &waiting {
                        w.abort();
                    }
                    if let Err(e) = request(ui, &locks, true, None, answer_tx.clone()) {
                        taking = false;
                        not_taken(ui, &e);
                    }
                }
                Some(Command::UseHere) => {}
                Some(Command::Dismiss(id)) => dismiss(ui, id),
                Some(other) => deferred.push(other),
                None => break,
            },
        }
    }
    dismiss(ui, NOTICE_ID);
    ui.elsewhere.set(false);
}

/// The browser refuses the lock to every tab alike: run without it, as before it existed.
fn unusable(error: &JsValue) {
    web_sys::console::warn_2(&"Natter: runs without the one-tab lock:".into(), error);
}

/// Says that Use here failed; the other tab still runs, so this one keeps waiting.
fn not_taken(ui: UiState, error: &JsValue) {
    let why = error
        .dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .unwrap_or_else(|| "the browser refused".into());
    let text = format!(
        "This tab could not take over ({why}). Close Natter in the other tab, and it starts here."
    );
    early_notice(ui, NOTICE_ID, text);
}

/// `navigator.locks`, where the browser has it.
fn lock_manager() -> Option<JsValue> {
    let navigator = web_sys::window()?.navigator();
    let locks = Reflect::get(&navigator, &"locks".into()).ok()?;
    (!locks.is_undefined() && !locks.is_null()).then_some(locks)
}

/// Asks for the lock (taking it from its holder when `steal`); `answers` hears whether this
/// tab got it. The lock is then held until the page goes, or until another tab takes it:
/// the runtime then stops ([`taken`]) and the page reloads, to wait in its turn.
fn request(
    ui: UiState,
    locks: &JsValue,
    steal: bool,
    signal: Option<&web_sys::AbortSignal>,
    answers: mpsc::UnboundedSender<Answer>,
) -> Result<(), JsValue> {
    let held = Rc::new(Cell::new(false));
    let on_grant = {
        let held = held.clone();
        let answers = answers.clone();
        wasm_bindgen::closure::Closure::once_into_js(move |_lock: JsValue| -> JsValue {
            held.set(true);
            let _ = answers.unbounded_send(Answer::Granted);
            // Never settles: the lock stays ours while the page lives.
            Promise::new(&mut |_, _| {}).into()
        })
    };
    let options = Object::new();
    if steal {
        Reflect::set(&options, &"steal".into(), &true.into())?;
    }
    if let Some(signal) = signal {
        Reflect::set(&options, &"signal".into(), signal)?;
    }
    let request: Function = Reflect::get(locks, &"request".into())?.dyn_into()?;
    let settled: Promise = request
        .call3(locks, &LOCK.into(), &options, &on_grant)?
        .dyn_into()?;
    // The request's promise settles only when a lock we held is taken, or when the request
    // ends without a grant (aborted, or refused).
    wasm_bindgen_futures::spawn_local(async move {
        let error = match wasm_bindgen_futures::JsFuture::from(settled).await {
            Ok(value) | Err(value) => value,
        };
        if held.get() {
            TAKEN.with(|t| t.set(true));
            ui.elsewhere.set(true);
            if let Some(w) = web_sys::window() {
                let _ = w.location().reload();
            }
        } else {
            let _ = answers.unbounded_send(Answer::Refused { steal, error });
        }
    });
    Ok(())
}
