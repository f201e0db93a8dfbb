//! Desktop notifications through the browser's `Notification` API.
//!
//! Permission is only ever asked for from a user action (turning the setting on), never on
//! page load, as browsers expect. Every call checks that the API exists first: some
//! browsers (and iframes) have none, and calling into a missing global would throw.

/// What the browser allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    /// The browser has no notifications here.
    Unsupported,
    /// Not asked yet.
    Default,
    /// Allowed.
    Granted,
    /// Refused by the user or the browser.
    Denied,
}

#[cfg(target_arch = "wasm32")]
fn supported() -> bool {
    web_sys::window().is_some_and(|w| {
        js_sys::Reflect::has(&w, &wasm_bindgen::JsValue::from_str("Notification")).unwrap_or(false)
    })
}

/// The current permission.
pub fn permission() -> Permission {
    #[cfg(target_arch = "wasm32")]
    {
        use web_sys::NotificationPermission as P;
        if !supported() {
            return Permission::Unsupported;
        }
        match web_sys::Notification::permission() {
            P::Granted => Permission::Granted,
            P::Denied => Permission::Denied,
            _ => Permission::Default,
        }
    }
    #[cfg(not(target_arch = "wasm32"))]
    Permission::Unsupported
}

/// Asks for permission (call from a click or change handler) and returns the answer.
pub async fn request() -> Permission {
    #[cfg(target_arch = "wasm32")]
    {
        if !supported() {
            return Permission::Unsupported;
        }
        if let Ok(promise) = web_sys::Notification::request_permission() {
            // The answer is also readable from `permission()` once the promise settles.
            let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
        }
        permission()
    }
    #[cfg(not(target_arch = "wasm32"))]
    Permission::Unsupported
}

/// What a refusal means for the user, in words (`None` when allowed).
pub fn refusal(permission: Permission) -> Option<&'static str> {
    match permission {
        Permission::Granted => None,
        Permission::Unsupported => Some("This browser cannot show notifications here."),
        Permission::Denied | Permission::Default => Some(
            "The browser did not allow notifications. Allow them for this site in the \
             browser's settings, then turn this on again.",
        ),
    }
}

/// Shows a notification; clicking it brings the page back and opens `route` (a `#/…` hash).
/// Returns an error in words when the browser refuses.
pub fn show(title: &str, body: &str, tag: &str, route: &str) -> Result<(), String> {
    #[cfg(target_arch = "wasm32")]
    {
        use wasm_bindgen::JsCast;
        if permission() != Permission::Granted {
            return Err("Notifications are not allowed.".into());
        }
        let options = web_sys::NotificationOptions::new();
        options.set_body(body);
        options.set_tag(tag);
        let n = web_sys::Notification::new_with_options(title, &options)
            .map_err(|_| "The browser refused to show a notification.".to_owned())?;
        let route = route.to_owned();
        let on_click = wasm_bindgen::closure::Closure::once_into_js(move || {
            if let Some(w) = web_sys::window() {
                let _ = w.focus();
                let _ = w.location().set_hash(&route);
            }
        });
        n.set_onclick(on_click.dyn_ref());
        Ok(())
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        let _ = (title, body, tag, route);
        Err("Notifications need a browser.".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_grant_is_not_a_refusal() {
        assert_eq!(refusal(Permission::Granted), None);
        for p in [
            Permission::Unsupported,
            Permission::Default,
            Permission::Denied,
        ] {
            assert!(refusal(p).is_some_and(|words| words.ends_with('.')));
        }
    }
}
