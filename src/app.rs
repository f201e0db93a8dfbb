//! The root component: shared state, the runtime, routing and the page layout.
//!
//! The root creates the [`UiState`] the views read and the command queue they write to,
//! hands both to the runtime, and provides them to every component through context. It
//! follows the address fragment ([`Route`]) and tells the runtime which room is on screen,
//! so opening a room (and marking it read) is driven by navigation, including the browser's
//! back button. Page-wide concerns live here too: the theme, the privacy screen, the title's
//! unread badge, announcements of new messages and desktop notifications.

use leptos::prelude::*;

use crate::components::announcer::Announcer;
use crate::components::busy::Busy;
use crate::components::elsewhere::Elsewhere;
use crate::components::embed_bridge::EmbedBridge;
use crate::components::home::Home;
use crate::components::idle_lock::IdleLock;
use crate::components::join_question::JoinQuestionView;
use crate::components::lock_screen::LockScreen;
use crate::components::nav::Nav;
use crate::components::notices::Notices;
use crate::components::notifier::Notifier;
use crate::components::privacy_screen::PrivacyScreen;
use crate::components::room::Room;
use crate::components::settings::SettingsPage;
use crate::components::status_bar::StatusBar;
use crate::components::title_badge::TitleBadge;
use crate::components::update_prompt::UpdatePrompt;
use crate::route::{self, Route};
use crate::state::{Command, Commands, UiState};

/// The application root.
#[component]
pub fn App() -> impl IntoView {
    let state = UiState::new();
    let (tx, rx) = futures::channel::mpsc::unbounded::<Command>();
    let commands = Commands(tx);
    provide_context(state);
    provide_context(commands.clone());
    provide_context(crate::components::composer::Drafts::new());
    // `?embed=1` in a frame of an allowed parent: the compact view, its options and the
    // postMessage bridge. Anywhere else (a tab some page sent here, a frame of a page not on
    // the server's list) the query is ignored; see `crate::embed`.
    let requested = web_sys::window()
        .and_then(|w| w.location().search().ok())
        .and_then(|q| crate::embed::options_from_query(&q));
    let parent = requested
        .as_ref()
        .and_then(|_| crate::embed::parent_origin());
    let wanted = requested.is_some();
    let embedded = Memo::new(move |_| {
        wanted
            && state
                .embed_origins
                .with(|allowed| crate::embed::applies(parent.as_deref(), allowed))
    });
    let embed = StoredValue::new(requested);
    let embed_theme = move || {
        embedded
            .get()
            .then(|| embed.with_value(|e| e.as_ref().and_then(|e| e.theme)))
            .flatten()
    };
    if let Some(name) = embed.with_value(|e| e.as_ref().and_then(|e| e.name.clone())) {
        let commands = commands.clone();
        Effect::new(move |done: Option<bool>| {
            if done == Some(true) {
                return true;
            }
            let ready = state.ready.get() && embedded.get();
            if ready && state.my_name.get_untracked() != name {
                commands.send(Command::SetName(name.clone()));
            }
            ready
        });
    }
    Effect::new(move |_| {
        if !embedded.get() {
            return;
        }
        if let Some(root) = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.document_element())
        {
            // Only styling depends on it: without the class the full layout shows.
            let _ = root.class_list().add_1("embed");
        }
    });
    let visible = crate::visibility::provide().0;
    {
        let commands = commands.clone();
        Effect::new(move |first: Option<()>| {
            let visible = visible.get();
            // Peers assume a new connection is active; only changes need telling.
            if first.is_some() || !visible {
                commands.send(Command::Visible(visible));
            }
        });
    }
    Effect::new(move |_| {
        crate::theme::apply(embed_theme().unwrap_or_else(|| state.settings.with(|s| s.theme)))
    });
    // The runtime drives browser objects and only exists in the browser build; native builds
    // (unit tests) have no runtime and drop the queue.
    #[cfg(target_arch = "wasm32")]
    crate::runtime::start(state, rx);
    #[cfg(target_arch = "wasm32")]
    crate::pwa::start(state.update_ready);
    #[cfg(not(target_arch = "wasm32"))]
    drop(rx);

    let hash_route = RwSignal::new(route::current());
    let listener = window_event_listener_untyped("hashchange", move |_| {
        hash_route.set(route::current());
    });
    on_cleanup(move || listener.remove());
    // A memo so that only real changes of route reach the runtime.
    let route = Memo::new(move |_| hash_route.get());

    Effect::new(move |_| match route.get() {
        Route::Room(id) => commands.send(Command::Open(Some(id))),
        // An opened invite only asks (see `JoinQuestionView`): any page can send a tab here.
        Route::Home | Route::Join(_) | Route::Settings => commands.send(Command::Open(None)),
    });

    let page = move || match route.get() {
        Route::Home => view! { <Home /> }.into_any(),
        Route::Join(_) => view! { <JoinQuestionView /> }.into_any(),
        Route::Room(id) => view! { <Room id /> }.into_any(),
        Route::Settings => view! { <SettingsPage /> }.into_any(),
    };

    // While the app runs in another tab, or is locked, only that screen (and notices) show.
    move || {
        let screen = if state.elsewhere.get() {
            Some(view! { <Elsewhere /> }.into_any())
        } else if state.locked.get() {
            Some(view! { <LockScreen /> }.into_any())
        } else {
            None
        };
        if let Some(screen) = screen {
            return view! {
                <main id="main">
                    <Notices />
                    <Busy />
                    {screen}
                </main>
            }
            .into_any();
        }
        view! {
            {move || (!embedded.get()).then(|| view! { <Nav route /> })}
            {move || embedded.get().then(|| view! { <EmbedBridge /> })}
            <main id="main">
                <UpdatePrompt />
                <Notices />
                <Busy />
                {page}
            </main>
            <StatusBar />
            <Announcer />
            <TitleBadge />
            <Notifier />
            <PrivacyScreen />
            <IdleLock />
        }
        .into_any()
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
        // Before the server has answered, the status line reports the server check.
        assert_eq!(
            text_of("[role=status][aria-label='Connection status']")?.as_deref(),
            Some("Connecting to the server…")
        );
        assert!(host
            .query_selector("nav[aria-label=Main] a[href='#/settings']")
            .map_err(|e| format!("{e:?}"))?
            .is_some());
        Ok(())
    }
}
