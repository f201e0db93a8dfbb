//! The installable app: registers the service worker (`sw.js`, written for each build by
//! `tools/sw.py`) and tells the views when a new version is waiting.
//!
//! The worker serves the app shell of the build it came with, so a deploy never swaps code
//! under a running page. When the browser finds a new `sw.js`, the new worker installs
//! beside the old one and waits; [`UiState::update_ready`](crate::state::UiState) turns true
//! and the page offers "A new version is available — reload". [`apply_update`] lets the
//! waiting worker take over and reloads the page once it controls it.
//!
//! Without service workers (an insecure origin, a private window in some browsers) the app
//! works the same, online only. Failures are logged, never shown as errors: nothing the user
//! does depends on the worker.

use leptos::prelude::*;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{ServiceWorkerContainer, ServiceWorkerRegistration, ServiceWorkerState};

/// The page's service worker container, if the browser offers one here.
fn container() -> Option<ServiceWorkerContainer> {
    let navigator = web_sys::window()?.navigator();
    let has = js_sys::Reflect::has(&navigator, &JsValue::from_str("serviceWorker")).ok()?;
    has.then(|| navigator.service_worker())
}

/// Registers the worker and watches for new versions, setting `update_ready` when one waits.
pub fn start(update_ready: RwSignal<bool>) {
    let Some(container) = container() else {
        return;
    };
    wasm_bindgen_futures::spawn_local(async move {
        let registration = match JsFuture::from(container.register("/sw.js")).await {
            Ok(r) => r.unchecked_into::<ServiceWorkerRegistration>(),
            Err(e) => {
                leptos::logging::warn!("the app will not work offline: {e:?}");
                return;
            }
        };
        let controlled = {
            let container = container.clone();
            move || container.controller().is_some()
        };
        // A worker installed on an earlier visit may already be waiting.
        if registration.waiting().is_some() && controlled() {
            update_ready.set(true);
        }
        let reg = registration.clone();
        let on_found = wasm_bindgen::closure::Closure::<dyn FnMut()>::new(move || {
            let Some(worker) = reg.installing() else {
                return;
            };
            let watched = worker.clone();
            let controlled = controlled.clone();
            let on_state = wasm_bindgen::closure::Closure::<dyn FnMut()>::new(move || {
                // "installed" while a worker controls the page: an update, not a first install.
                if watched.state() == ServiceWorkerState::Installed && controlled() {
                    update_ready.set(true);
                }
            });
            worker.set_onstatechange(Some(on_state.into_js_value().unchecked_ref()));
        });
        registration.set_onupdatefound(Some(on_found.into_js_value().unchecked_ref()));
    });
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
        let on_change = wasm_bindgen::closure::Closure::once_into_js(reload);
        container.set_oncontrollerchange(Some(on_change.unchecked_ref()));
        if worker
            .post_message(&JsValue::from_str("skip-waiting"))
            .is_err()
        {
            reload();
        }
    });
}
