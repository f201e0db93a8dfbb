//! The root component: layout, the always-visible status bar, and start-up work.

use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::components::home::Home;
use crate::components::status_bar::{ServerState, StatusBar};

/// The application root.
#[component]
pub fn App() -> impl IntoView {
    let (server, set_server) = signal(ServerState::Checking);
    spawn_local(async move {
        let state = match crate::server::fetch_config().await {
            Ok(cfg) => ServerState::Reachable {
                ice_servers: cfg.ice_servers.len(),
            },
            Err(e) => ServerState::Unreachable(e.to_string()),
        };
        set_server.set(state);
    });
    view! {
        <main id="main">
            <Home />
        </main>
        <StatusBar state=server />
    }
}

#[cfg(all(test, target_arch = "wasm32"))]
mod tests {
    use super::*;
    use wasm_bindgen_test::*;

    wasm_bindgen_test_configure!(run_in_browser);

    #[wasm_bindgen_test]
    fn the_app_mounts_and_shows_its_heading_and_a_status_line() -> Result<(), String> {
        let document = web_sys::window()
            .and_then(|w| w.document())
            .ok_or("no document")?;
        let host = document
            .create_element("div")
            .map_err(|e| format!("{e:?}"))?;
        document
            .body()
            .ok_or("no body")?
            .append_child(&host)
            .map_err(|e| format!("{e:?}"))?;
        let host: web_sys::HtmlElement = wasm_bindgen::JsCast::unchecked_into(host);
        let _handle = leptos::mount::mount_to(host.clone(), App);
        let text_of = |selector: &str| -> Result<Option<String>, String> {
            Ok(host
                .query_selector(selector)
                .map_err(|e| format!("{e:?}"))?
                .ok_or(format!("no {selector}"))?
                .text_content())
        };
        assert_eq!(text_of("h1")?.as_deref(), Some("Natter"));
        assert_eq!(
            text_of("[role=status]")?.as_deref(),
            Some("Connecting to the server…")
        );
        Ok(())
    }
}
