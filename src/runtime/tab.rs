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
//! A browser without Web Locks boots at once.

use std::cell::Cell;
use std::rc::Rc;

use futures::channel::mpsc;
use futures::{FutureExt, StreamExt};
use js_sys::{Function, Object, Promise, Reflect};
use leptos::prelude::{Set, Update};
use wasm_bindgen::{JsCast, JsValue};

use crate::state::{Command, UiState};

/// The Web Lock's name; the lock is scoped to the app's origin (and storage partition).
const LOCK: &str = "natter.runtime";

/// How long a tab waits for the lock before it says the app is open elsewhere.
const GRACE_MS: u32 = 400;

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
    let (granted_tx, mut granted) = mpsc::unbounded::<()>();
    let waiting = web_sys::AbortController::new().ok();
    let signal = waiting.as_ref().map(|w| w.signal());
    if let Err(e) = request(ui, &locks, false, signal.as_ref(), granted_tx.clone()) {
        // Without a working lock the app still runs, as it did before the lock existed.
        web_sys::console::warn_2(&"Natter: the tab lock could not be asked for".into(), &e);
        return;
    }
    let mut grace = gloo_timers::future::TimeoutFuture::new(GRACE_MS).fuse();
    futures::select! {
        _ = granted.next() => return,
        () = grace => {}
    }
    ui.elsewhere.set(true);
    // Asked to take the lock already: a second steal would take it from this tab itself.
    let mut taking = false;
    loop {
        futures::select! {
            _ = granted.next() => break,
            command = commands.next() => match command {
                Some(Command::UseHere) if !taking => {
                    taking = true;
                    if let Some(w) = &waiting {
                        w.abort();
                    }
                    if request(ui, &locks, true, None, granted_tx.clone()).is_err() {
                        break;
                    }
                }
                Some(Command::UseHere) => {}
                Some(Command::Dismiss(id)) => ui.notices.update(|n| n.retain(|x| x.id != id)),
                Some(other) => deferred.push(other),
                None => break,
            },
        }
    }
    ui.elsewhere.set(false);
}

/// `navigator.locks`, where the browser has it.
fn lock_manager() -> Option<JsValue> {
    let navigator = web_sys::window()?.navigator();
    let locks = Reflect::get(&navigator, &"locks".into()).ok()?;
    (!locks.is_undefined() && !locks.is_null()).then_some(locks)
}

/// Asks for the lock (taking it from its holder when `steal`); `granted` hears when this
/// tab has it. The lock is then held until the page goes, or until another tab takes it:
/// this page then reloads, so that nothing of this session runs beside the other tab.
fn request(
    ui: UiState,
    locks: &JsValue,
    steal: bool,
    signal: Option<&web_sys::AbortSignal>,
    granted: mpsc::UnboundedSender<()>,
) -> Result<(), JsValue> {
    let held = Rc::new(Cell::new(false));
    let on_grant = {
        let held = held.clone();
        wasm_bindgen::closure::Closure::once_into_js(move |_lock: JsValue| -> JsValue {
            held.set(true);
            let _ = granted.unbounded_send(());
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
    // The request's promise settles only when a lock we held was taken, or when the
    // request was given up before it was granted (Use here asks anew).
    wasm_bindgen_futures::spawn_local(async move {
        let _ = wasm_bindgen_futures::JsFuture::from(settled).await;
        if held.get() {
            ui.elsewhere.set(true);
            if let Some(w) = web_sys::window() {
                let _ = w.location().reload();
            }
        }
    });
    Ok(())
}
