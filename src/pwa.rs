//! The installable app: registers the service worker (`sw.js`, written for each build by
//! `tools/sw.py`) and tells the views when a new version is waiting.
//!
//! The worker serves the app shell of the build it came with, so a deploy never swaps code
//! under a running page. When the browser finds a new `sw.js`, the new worker installs
//! beside the old one and waits; [`UiState::update_ready`](crate::state::UiState) turns true
//! and the page offers "A new version is available — reload". [`apply_update`] lets the
//! waiting worker take over and reloads the page once it controls it.
//!
//! The browser looks for a new `sw.js` on each page load; a page left open asks again every
//! hour.
//!
//! Without service workers (an insecure origin, a private window in some browsers) the app
//! works the same, online only. Failures are logged in words, never shown as errors: nothing
//! the user does depends on the worker.

use futures::StreamExt;
use leptos::prelude::*;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    ServiceWorker, ServiceWorkerContainer, ServiceWorkerRegistration, ServiceWorkerState,
};

/// The page's service worker container, if the browser offers one here.
fn container() -> Option<ServiceWorkerContainer> {
    let navigator = web_sys::window()?.navigator();
    let has = js_sys::Reflect::has(&navigator, &JsValue::from_str("serviceWorker")).ok()?;
    has.then(|| navigator.service_worker())
}

/// How often a page that stays open asks the server for a new `sw.js` (the browser itself
/// checks only on navigation).
const UPDATE_CHECK_MS: u32 = 60 * 60 * 1000;

/// Registers the worker and watches for new versions, setting `update_ready` when one waits.
pub fn start(update_ready: RwSignal<bool>) {
    let Some(container) = container() else {
        return;
    };
    wasm_bindgen_futures::spawn_local(async move {
        let registration = match JsFuture::from(container.register("/sw.js")).await {
            Ok(r) => r.unchecked_into::<ServiceWorkerRegistration>(),
            Err(e) => {
                leptos::logging::warn!(
                    "the app will not work offline: {}",
                    crate::rtc::describe(&e)
                );
                return;
            }
        };
        let watch_worker = {
            let container = container.clone();
            move |worker: ServiceWorker| watch(&container, worker, update_ready)
        };
        // The check the page load started may have found a new worker before the app ran:
        // it is waiting already, or still installing.
        if let Some(worker) = registration.waiting().or_else(|| registration.installing()) {
            watch_worker(worker);
        }
        let reg = registration.clone();
        let on_found = Closure::<dyn FnMut()>::new(move || {
            if let Some(worker) = reg.installing() {
                watch_worker(worker);
            }
        });
        registration.set_onupdatefound(Some(on_found.into_js_value().unchecked_ref()));
        let mut checks = gloo_timers::future::IntervalStream::new(UPDATE_CHECK_MS);
        while checks.next().await.is_some() {
            // Offline or a server error: the next check tries again.
            if let Ok(p) = registration.update() {
                let _ = JsFuture::from(p).await;
            }
        }
    });
}

/// Sets `update_ready` once `worker` is installed while another worker controls the page:
/// that is an update, not the first install.
fn watch(container: &ServiceWorkerContainer, worker: ServiceWorker, update_ready: RwSignal<bool>) {
    let ready = {
        let container = container.clone();
        let worker = worker.clone();
        move || {
            if worker.state() == ServiceWorkerState::Installed && container.controller().is_some() {
                update_ready.set(true);
            }
        }
    };
    ready();
    let on_state = Closure::<dyn FnMut()>::new(ready);
    worker.set_onstatechange(Some(on_state.into_js_value().unchecked_ref()));
}

/// Lets the waiting worker take over, then reloads the page under it (at once when no
/// worker is waiting).
pub fn apply_update() {
    let reload = || {
        if let Some(w) = web_sys::window() {
            // A failed reload leaves the page as it is; the prompt stays.
            let _ = w.location().reload();
        }
    };
    let Some(container) = container() else {
        return reload();
    };
    wasm_bindgen_futures::spawn_local(async move {
        let waiting = JsFuture::from(container.get_registration())
            .await
            .ok()
            .and_then(|r| r.dyn_into::<ServiceWorkerRegistration>().ok())
            .and_then(|r| r.waiting());
        let Some(worker) = waiting else {
            return reload();
        };
        let on_change = Closure::once_into_js(reload);
        container.set_oncontrollerchange(Some(on_change.unchecked_ref()));
        if worker
            .post_message(&JsValue::from_str("skip-waiting"))
            .is_err()
        {
            reload();
        }
    });
}
