//! Hash routes: which view the address bar asks for.
//!
//! # What
//!
//! The app has four views, addressed by the URL fragment so the static server needs no
//! routing and an invite link's secret never reaches any server:
//!
//! | fragment               | route                 |
//! | ---------------------- | --------------------- |
//! | `#/` (or nothing)      | [`Route::Home`]       |
//! | `#/room/<64 hex>`      | [`Route::Room`]       |
//! | `#/join/<payload>`     | [`Route::Join`]       |
//! | `#/settings`           | [`Route::Settings`]   |
//!
//! Anything else is [`Route::Home`]: a mistyped address shows the start page rather than an
//! error.
//!
//! # Why
//!
//! Parsing is a pure function of the fragment so it is tested natively; only [`current`] and
//! [`go`] touch the browser.

use natter_core::room::RoomId;

/// A view the address can name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// The start page: rooms, new room, join.
    Home,
    /// One room.
    Room(RoomId),
    /// An invite link was opened; the payload is everything after `#/join/`.
    Join(String),
    /// Settings.
    Settings,
}

impl Route {
    /// Reads a route from a URL fragment, with or without its leading `#`.
    pub fn parse(hash: &str) -> Route {
        let hash = hash.strip_prefix('#').unwrap_or(hash);
        let path = hash.strip_prefix('/').unwrap_or(hash);
        if let Some(id) = path.strip_prefix("room/") {
            let id = id.trim_end_matches('/');
            return RoomId::from_hex(id).map_or(Route::Home, Route::Room);
        }
        if let Some(payload) = path.strip_prefix("join/") {
            if !payload.is_empty() {
                return Route::Join(payload.to_owned());
            }
            return Route::Home;
        }
        match path.trim_end_matches('/') {
            "settings" => Route::Settings,
            _ => Route::Home,
        }
    }

    /// The fragment that names this route, with its leading `#`.
    pub fn to_hash(&self) -> String {
        match self {
            Route::Home => "#/".to_owned(),
            Route::Room(id) => room_href(id),
            Route::Join(payload) => format!("#/join/{payload}"),
            Route::Settings => "#/settings".to_owned(),
        }
    }

    /// The room this route shows, if any.
    pub fn room_id(&self) -> Option<RoomId> {
        match self {
            Route::Room(id) => Some(*id),
            _ => None,
        }
    }
}

/// The link to a room's view.
pub fn room_href(id: &RoomId) -> String {
    format!("#/room/{}", id.to_hex())
}

/// The route the browser's address names now (Home when it cannot be read).
pub fn current() -> Route {
    web_sys::window()
        .and_then(|w| w.location().hash().ok())
        .map(|h| Route::parse(&h))
        .unwrap_or(Route::Home)
}

/// The full address of the page, as the user sees it (empty when it cannot be read).
pub fn current_href() -> String {
    web_sys::window()
        .and_then(|w| w.location().href().ok())
        .unwrap_or_default()
}

/// Navigates to `route`; the `hashchange` listener then updates the view.
pub fn go(route: &Route) {
    if let Some(w) = web_sys::window() {
        // Setting the fragment cannot fail in a normal page; if it does, the view stays.
        let _ = w.location().set_hash(&route.to_hash());
    }
}

#[cfg(test)]
mod tests {
    // `expect` here states what the test takes as given: a panic is the test failing.
    use super::*;

    const ID: &str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

    fn room() -> RoomId {
        RoomId::from_hex(ID).expect("an id")
    }

    #[test]
    fn empty_and_root_fragments_are_home() {
        assert_eq!(Route::parse(""), Route::Home);
        assert_eq!(Route::parse("#"), Route::Home);
        assert_eq!(Route::parse("#/"), Route::Home);
    }

    #[test]
    fn a_room_fragment_with_64_hex_digits_is_that_room() {
        assert_eq!(Route::parse(&format!("#/room/{ID}")), Route::Room(room()));
    }

    #[test]
    fn room_ids_are_lower_cased() {
        let upper = ID.to_ascii_uppercase();
        assert_eq!(
            Route::parse(&format!("#/room/{upper}")),
            Route::Room(room())
        );
    }

    #[test]
    fn malformed_room_ids_fall_back_to_home() {
        assert_eq!(Route::parse("#/room/"), Route::Home);
        assert_eq!(Route::parse("#/room/abc"), Route::Home);
        assert_eq!(Route::parse(&format!("#/room/{ID}0")), Route::Home);
        let not_hex = format!("{}zz", &ID[..62]);
        assert_eq!(Route::parse(&format!("#/room/{not_hex}")), Route::Home);
    }

    #[test]
    fn a_join_fragment_keeps_its_whole_payload() {
        assert_eq!(
            Route::parse("#/join/abc-DEF_123/xyz?p=1"),
            Route::Join("abc-DEF_123/xyz?p=1".to_owned())
        );
        assert_eq!(Route::parse("#/join/"), Route::Home);
    }

    #[test]
    fn the_settings_fragment_is_settings() {
        assert_eq!(Route::parse("#/settings"), Route::Settings);
        assert_eq!(Route::parse("#/settings/"), Route::Settings);
    }

    #[test]
    fn unknown_fragments_are_home() {
        assert_eq!(Route::parse("#/nowhere"), Route::Home);
        assert_eq!(Route::parse("#settingsx"), Route::Home);
        assert_eq!(Route::parse("#/Settings"), Route::Home);
    }

    #[test]
    fn every_route_parses_back_from_its_own_fragment() {
        for route in [
            Route::Home,
            Route::Room(room()),
            Route::Join("payload".to_owned()),
            Route::Settings,
        ] {
            assert_eq!(Route::parse(&route.to_hash()), route);
        }
    }

    #[test]
    fn only_room_routes_name_a_room() {
        assert_eq!(Route::Room(room()).room_id(), Some(room()));
        assert_eq!(Route::Home.room_id(), None);
        assert_eq!(Route::Join("x".to_owned()).room_id(), None);
    }
}
