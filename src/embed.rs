//! Embedding: Natter in another site's `<iframe>`, and the `postMessage` API between the two.
//!
//! # The page in the frame
//!
//! `/?embed=1&name=Ann&theme=dark#/join/<invite>` opens the compact embed view: the room
//! only (its messages and composer, the status line), no navigation, no side panels. The
//! query configures it: `name` (the display name to use), `theme` (`light` or `dark`). The
//! invite stays in the fragment, which browsers never send to a server, as everywhere else.
//! Opening the invite asks the user first, in the frame as in a tab
//! ([`crate::components::join_question`]).
//!
//! The query is obeyed only inside a frame whose parent's origin is on the list below
//! ([`applies`]). Any page can send a tab to such an address; in a tab of its own, or in a
//! frame of a page not on the list, the query is ignored: no compact view, no theme, and
//! above all no renaming of the user.
//!
//! # The API
//!
//! Everything is a JSON object with a `type`.
//!
//! Commands, from the parent page to Natter:
//! - `{"type": "natter:send", "text": "…"}` posts a message in the open room;
//! - `{"type": "natter:setName", "name": "…"}` changes the display name.
//!
//! Events, from Natter to the parent page:
//! - `{"type": "natter:message", "id", "author", "text"}` for each message from someone else;
//! - `{"type": "natter:peer", "name", "state": "joined" | "left"}`;
//! - `{"type": "natter:connection", "server": "connected" | "connecting" | "offline",
//!   "peers": n}` whenever either changes.
//!
//! # Who may talk to it
//!
//! Only parent pages whose origin is on the server's list (`--embed-origins`, the same list
//! the server sends as CSP `frame-ancestors`, received through `/config`, never taken from
//! the URL). A command is obeyed only if its `event.origin` is on that list and it comes from
//! `window.parent`; events are posted only to the parent's own origin, and only when that is
//! on the list. Anything else is ignored (and noted in the console as information).

use serde_json::{json, Value};

use crate::state::Theme;

/// The embed view's options, from the page's query string.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EmbedOptions {
    /// The display name to use.
    pub name: Option<String>,
    /// The theme, overriding the settings.
    pub theme: Option<Theme>,
}

/// The longest display name taken from the URL, in characters.
const MAX_NAME_CHARS: usize = 64;

/// The options when `query` (`?embed=1&…`, with or without the `?`) asks for the embed view.
pub fn options_from_query(query: &str) -> Option<EmbedOptions> {
    let pairs: Vec<(String, String)> =
        form_urlencoded::parse(query.trim_start_matches('?').as_bytes())
            .into_owned()
            .collect();
    let get = |key: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    };
    if get("embed") != Some("1") {
        return None;
    }
    let name = get("name")
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(|n| n.chars().take(MAX_NAME_CHARS).collect());
    let theme = get("theme").and_then(|t| match Theme::from_key(t) {
        Theme::System => None,
        chosen => Some(chosen),
    });
    Some(EmbedOptions { name, theme })
}

/// Whether the embed options apply: only in a frame (`parent` is the parent's origin, `None`
/// in a tab of its own) whose parent is one of `allowed`.
pub fn applies(parent: Option<&str>, allowed: &[String]) -> bool {
    parent.is_some_and(|p| origin_allowed(p, allowed))
}

/// The parent page's origin as the browser reports it (`location.ancestorOrigins`); `None`
/// in a tab of its own, or where the browser does not tell.
pub fn parent_origin() -> Option<String> {
    let location = web_sys::window()?.location();
    let list = js_sys::Reflect::get(&location, &"ancestorOrigins".into()).ok()?;
    js_sys::Reflect::get(&list, &0.into()).ok()?.as_string()
}

/// A command from the parent page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inbound {
    /// Post this text in the open room.
    Send(String),
    /// Change the display name.
    SetName(String),
}

/// Reads a command; `None` for anything that is not one (other scripts post messages too).
pub fn parse_command(data: &Value) -> Option<Inbound> {
    let text = |key: &str| {
        data.get(key)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
    };
    match data.get("type")?.as_str()? {
        "natter:send" => text("text").map(Inbound::Send),
        "natter:setName" => text("name").map(Inbound::SetName),
        _ => None,
    }
}

/// Whether `origin` is exactly one of `allowed` (no patterns: the server only accepts plain
/// origins).
pub fn origin_allowed(origin: &str, allowed: &[String]) -> bool {
    allowed.iter().any(|a| a == origin)
}

/// The event for a message from someone else.
pub fn message_event(id: &str, author: &str, text: &str) -> Value {
    json!({ "type": "natter:message", "id": id, "author": author, "text": text })
}

/// The event for a peer who came online (`joined`) or went away.
pub fn peer_event(name: &str, joined: bool) -> Value {
    json!({ "type": "natter:peer", "name": name, "state": if joined { "joined" } else { "left" } })
}

/// The event for the connection state.
pub fn connection_event(server: &str, peers: usize) -> Value {
    json!({ "type": "natter:connection", "server": server, "peers": peers })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_embed_1_opens_the_embed_view_and_options_are_read() {
        assert_eq!(options_from_query(""), None);
        assert_eq!(options_from_query("?embed=0&name=Ann"), None);
        assert_eq!(
            options_from_query("?embed=1"),
            Some(EmbedOptions::default())
        );
        assert_eq!(
            options_from_query("embed=1&name=Ann%20Lee&theme=dark"),
            Some(EmbedOptions {
                name: Some("Ann Lee".into()),
                theme: Some(Theme::Dark),
            })
        );
        let long = "x".repeat(200);
        let opts = options_from_query(&format!("?embed=1&name={long}&theme=sepia"));
        assert_eq!(
            opts.as_ref()
                .and_then(|o| o.name.as_ref())
                .map(|n| n.chars().count()),
            Some(MAX_NAME_CHARS)
        );
        assert_eq!(opts.and_then(|o| o.theme), None);
        assert_eq!(
            options_from_query("?embed=1&name=+++").and_then(|o| o.name),
            None
        );
    }

    #[test]
    fn commands_are_read_and_anything_else_is_not_a_command() {
        assert_eq!(
            parse_command(&json!({"type": "natter:send", "text": " hi "})),
            Some(Inbound::Send("hi".into()))
        );
        assert_eq!(
            parse_command(&json!({"type": "natter:setName", "name": "Bo"})),
            Some(Inbound::SetName("Bo".into()))
        );
        for other in [
            json!({"type": "natter:send", "text": "   "}),
            json!({"type": "natter:send"}),
            json!({"type": "natter:delete", "id": "x"}),
            json!({"text": "no type"}),
            json!("natter:send"),
            json!(null),
        ] {
            assert_eq!(parse_command(&other), None, "{other}");
        }
    }

    #[test]
    fn origins_must_match_exactly() {
        let allowed = vec!["https://blog.example.org".to_owned()];
        assert!(origin_allowed("https://blog.example.org", &allowed));
        for other in [
            "https://blog.example.org.evil.test",
            "http://blog.example.org",
            "https://example.org",
            "null",
            "",
        ] {
            assert!(!origin_allowed(other, &allowed), "{other}");
        }
        assert!(!origin_allowed("https://blog.example.org", &[]));
    }

    #[test]
    fn options_apply_only_in_a_frame_of_an_allowed_parent() {
        let allowed = vec!["https://blog.example.org".to_owned()];
        assert!(applies(Some("https://blog.example.org"), &allowed));
        // A tab of its own: whoever sent it there, the query is not obeyed.
        assert!(!applies(None, &allowed));
        assert!(!applies(Some("https://evil.example"), &allowed));
        // Before the server's list has arrived, nobody is allowed.
        assert!(!applies(Some("https://blog.example.org"), &[]));
    }
}
