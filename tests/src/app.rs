//! What a person does in Natter, as steps a test can take: set a name, create or join a
//! room, post, read the message log, look at the peers and the status line.
//!
//! Every step finds the app's elements by the roles and accessible names of the UI contract
//! (`UI_CONTRACT.md`), never by CSS classes or ids, so these steps break exactly when the
//! app stops being usable the way the contract promises.

use std::time::Duration;

use serde_json::Value;

use crate::browser::Browser;
use crate::wait::wait_until;
use crate::{Context, TestResult};

/// How long a message may take to reach another browser (peer connection set-up included).
pub const DELIVERY_TIMEOUT: Duration = Duration::from_secs(40);

/// How long creating or joining a room may take (password stretching included).
pub const JOIN_TIMEOUT: Duration = Duration::from_secs(60);

/// How long the server may take to open a join code, or to answer one typed.
pub const CODE_TIMEOUT: Duration = Duration::from_secs(20);

/// One message of the log as shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// The author, from the article's name "Message from <author>".
    pub author: String,
    /// Everything the article shows (author, text, labels, buttons), as rendered text.
    pub text: String,
}

/// A room as its creator sees it after creating it.
#[derive(Debug, Clone)]
pub struct Room {
    /// The room id, hex (from the route `#/room/<id>`).
    pub id: String,
    /// The invite link from the Invite panel.
    pub link: String,
}

/// How to create a room from the home view's "New room" form.
#[derive(Debug, Clone, Default)]
pub struct NewRoom<'a> {
    /// "Room name (optional)".
    pub name: Option<&'a str>,
    /// "Password (optional)".
    pub password: Option<&'a str>,
    /// "Ephemeral: keep nothing on this device".
    pub ephemeral: bool,
}

impl Browser {
    /// Opens the home view of the app at `base_url` and waits for it.
    pub async fn open_home(&self, base_url: &str) -> TestResult {
        self.goto(&format!("{base_url}/#/")).await?;
        self.find_by_role("heading", "Natter").await?;
        Ok(())
    }

    /// Opens the app and sets the display name on the home view.
    pub async fn set_name(&self, base_url: &str, name: &str) -> TestResult {
        self.open_home(base_url).await?;
        // The field is disabled until the app has loaded the stored name.
        let field = self.find_by_role("textbox", "Your display name").await?;
        let deadline = std::time::Instant::now() + crate::browser::FIND_TIMEOUT;
        while !field.is_enabled().await.ctx("reading the name field")? {
            if std::time::Instant::now() > deadline {
                return Err(format!("{}: the name field stayed disabled", self.name));
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        self.type_into("textbox", "Your display name", name).await?;
        self.click("button", "Save name").await?;
        Ok(())
    }

    /// Creates a room from the home view (which must be shown), waits for the room view and
    /// returns the room's id and invite link.
    pub async fn create_room(&self, room: NewRoom<'_>) -> TestResult<Room> {
        self.find_by_role("heading", "New room").await?;
        self.type_into("textbox", "Room name (optional)", room.name.unwrap_or(""))
            .await?;
        self.type_password("Password (optional)", room.password.unwrap_or(""))
            .await?;
        self.set_checkbox("Ephemeral: keep nothing on this device", room.ephemeral)
            .await?;
        self.click("button", "Create room").await?;
        let id = self.wait_for_room_view().await?;
        if let Some(name) = room.name {
            self.find_by_role_for("heading", name, JOIN_TIMEOUT).await?;
        }
        let link = self.invite_link().await?;
        Ok(Room { id, link })
    }

    /// Creates a room named `name` (no password, kept on the device); see
    /// [`Browser::create_room`].
    pub async fn create_named_room(&self, name: &str) -> TestResult<Room> {
        self.create_room(NewRoom {
            name: Some(name),
            ..NewRoom::default()
        })
        .await
    }

    /// Waits until the route is a room (`#/room/<id>`) with its message log, and returns the
    /// room id.
    pub async fn wait_for_room_view(&self) -> TestResult<String> {
        let id = wait_until(
            &format!("{} opening the room view", self.name),
            JOIN_TIMEOUT,
            move || async move { self.room_id_in_route().await },
        )
        .await?;
        self.find_by_role_for("log", "Messages", JOIN_TIMEOUT)
            .await?;
        Ok(id)
    }

    /// The room id in the route, when a room is shown.
    pub async fn room_id_in_route(&self) -> TestResult<Option<String>> {
        let url = self.current_url().await?;
        Ok(url
            .split_once("#/room/")
            .map(|(_, rest)| rest.split(['/', '?']).next().unwrap_or("").to_owned())
            .filter(|id| !id.is_empty()))
    }

    /// The invite link shown in the Invite panel of the open room.
    pub async fn invite_link(&self) -> TestResult<String> {
        let panel = self.find_by_role("region", "Invite").await?;
        let field = self
            .find_by_role_within(&panel, "textbox", "Invite link")
            .await?;
        let field = &field;
        wait_until(
            &format!("{}: the invite link to appear", self.name),
            JOIN_TIMEOUT,
            move || async move {
                let link = self.value_of(field).await?;
                Ok((!link.is_empty()).then_some(link))
            },
        )
        .await
    }

    /// Opens an invite link (a full URL of the app).
    pub async fn open_invite(&self, link: &str) -> TestResult {
        if !link.starts_with("http://") && !link.starts_with("https://") {
            return Err(format!(
                "the invite link {link:?} is not a full address of the app"
            ));
        }
        self.goto(link).await
    }

    /// Opens an invite link, answers the app's question "Join room …?" with Join, and waits
    /// until the room view shows; returns the room id.
    pub async fn join(&self, link: &str) -> TestResult<String> {
        self.open_invite(link).await?;
        self.confirm_join(None).await?;
        self.wait_for_room_view().await
    }

    /// Answers the question an opened invite link asks ("Join room …?"): types `password`
    /// into "Room password for this invite" when one is given, then clicks Join.
    pub async fn confirm_join(&self, password: Option<&str>) -> TestResult {
        let button = self
            .find_by_role_for("button", "Join", JOIN_TIMEOUT)
            .await?;
        if let Some(password) = password {
            self.type_password("Room password for this invite", password)
                .await?;
        }
        button.scroll_into_view().await.ctx("scrolling to Join")?;
        button
            .click()
            .await
            .ctx(&format!("{} clicking the button \"Join\"", self.name))
    }

    /// Opens a room this user already has, by its route.
    pub async fn open_room(&self, base_url: &str, room_id: &str) -> TestResult {
        self.goto(&format!("{base_url}/#/room/{room_id}")).await?;
        self.wait_for_room_view().await?;
        Ok(())
    }

    /// Posts `text` from the composer of the open room and waits until it shows in the log.
    pub async fn post(&self, text: &str) -> TestResult {
        self.type_into("textbox", "Message", text).await?;
        self.click("button", "Send").await?;
        self.wait_for_message(text, Duration::from_secs(15)).await?;
        Ok(())
    }

    /// The messages of the log, in the order shown.
    pub async fn messages(&self) -> TestResult<Vec<Message>> {
        let Some(rows) = self
            .run_on_shown(
                "log",
                "Messages",
                "the log",
                "return Array.from(arguments[0].querySelectorAll('article'), \
                 a => [a.getAttribute('aria-label') || '', a.innerText]);",
            )
            .await?
        else {
            return Ok(Vec::new());
        };
        let rows: Vec<(String, String)> =
            serde_json::from_value(rows).ctx("decoding the message log")?;
        Ok(rows
            .into_iter()
            .map(|(label, text)| Message {
                author: label
                    .strip_prefix("Message from ")
                    .unwrap_or(&label)
                    .to_owned(),
                text,
            })
            .collect())
    }

    /// Waits until a message containing `text` shows in the log and returns it.
    pub async fn wait_for_message(&self, text: &str, timeout: Duration) -> TestResult<Message> {
        self.wait_for_message_as(
            &format!("{}: a message containing {text:?}", self.name),
            text,
            |_| true,
            timeout,
        )
        .await
    }

    /// Waits until every one of `texts` shows in the log.
    pub async fn wait_for_messages(&self, texts: &[&str], timeout: Duration) -> TestResult {
        let result = wait_until(
            &format!("{}: messages {texts:?}", self.name),
            timeout,
            move || async move {
                let messages = self.messages().await?;
                let all = texts
                    .iter()
                    .all(|t| messages.iter().any(|m| m.text.contains(t)));
                Ok(all.then_some(()))
            },
        )
        .await;
        self.showing_log(result).await
    }

    /// The texts of the entries of the Peers panel of the open room.
    pub async fn peers(&self) -> TestResult<Vec<String>> {
        let Some(rows) = self
            .run_on_shown(
                "region",
                "Peers",
                "the Peers panel",
                "return Array.from(arguments[0].querySelectorAll('li'), li => li.innerText);",
            )
            .await?
        else {
            return Ok(Vec::new());
        };
        serde_json::from_value(rows).ctx("decoding the Peers panel")
    }

    /// Waits until the Peers panel lists `name` with the presence label `presence`
    /// ("online", "offline", ...).
    pub async fn wait_for_peer(&self, name: &str, presence: &str, timeout: Duration) -> TestResult {
        let result = wait_until(
            &format!("{}: peer {name} {presence}", self.name),
            timeout,
            move || async move {
                let peers = self.peers().await?;
                Ok(peers
                    .iter()
                    .any(|p| p.contains(name) && p.contains(presence))
                    .then_some(()))
            },
        )
        .await;
        if let Err(e) = result {
            let shown = self.peers().await.unwrap_or_default();
            return Err(format!("{e}; the Peers panel shows {shown:?}"));
        }
        Ok(())
    }

    /// The text of the status line ("Connection status").
    pub async fn status_text(&self) -> TestResult<String> {
        let el = self.find_by_role("status", "Connection status").await?;
        el.text().await.ctx("reading the status line")
    }

    /// Waits until the status line contains `part`, and returns its text.
    pub async fn wait_for_status(&self, part: &str, timeout: Duration) -> TestResult<String> {
        self.wait_for_text("status", "Connection status", |t| t.contains(part), timeout)
            .await
    }

    /// Scrolls the region (panel) `name` into view and saves a screenshot as `file`.
    pub async fn screenshot_region(&self, name: &str, file: &str) -> TestResult {
        let region = self.find_by_role("region", name).await?;
        region
            .scroll_into_view()
            .await
            .ctx("scrolling the panel into view")?;
        self.screenshot(file).await
    }

    /// Opens Settings and saves ICE servers: `urls` (one per line), the TURN user name and
    /// credential, and whether to connect through the relay only.
    pub async fn save_ice_settings(
        &self,
        base_url: &str,
        urls: &[&str],
        username: &str,
        credential: &str,
        relay_only: bool,
    ) -> TestResult {
        self.goto(&format!("{base_url}/#/settings")).await?;
        self.find_by_role("heading", "Settings").await?;
        self.type_into(
            "textbox",
            "ICE server URLs (one per line)",
            &urls.join("\n"),
        )
        .await?;
        self.type_into("textbox", "TURN username", username).await?;
        self.type_password("TURN credential", credential).await?;
        self.set_checkbox(
            "Relay only: connect through TURN, hide my addresses",
            relay_only,
        )
        .await?;
        self.click("button", "Save settings").await?;
        Ok(())
    }

    /// Turns the tamper switch of [`crate::scripts::RTC_RECORDER`] on or off: while on, this
    /// browser corrupts the signature of the entries it sends.
    pub async fn set_tamper(&self, on: bool) -> TestResult {
        self.switch("__natterTamper", on).await
    }

    /// Turns the files tamper switch of [`crate::scripts::RTC_RECORDER`] on or off: while
    /// on, this browser damages every chunk of a file it serves.
    pub async fn set_file_tamper(&self, on: bool) -> TestResult {
        self.switch("__natterTamperFiles", on).await
    }

    /// Sets `window[name]` to `on` in the page.
    async fn switch(&self, name: &str, on: bool) -> TestResult {
        self.execute(
            "window[arguments[0]] = arguments[1]; return true;",
            vec![Value::String(name.to_owned()), Value::Bool(on)],
        )
        .await?;
        Ok(())
    }

    /// How many frames the tamper switch has corrupted so far.
    pub async fn tampered_frames(&self) -> TestResult<u64> {
        let v = self
            .execute("return window.__natterTampered || 0;", vec![])
            .await?;
        v.as_u64().ok_or_else(|| format!("odd tamper count {v}"))
    }
}

/// Join codes: showing one in a room's Invite panel, entering one on the home view, and
/// recording what the page's WebSockets carry meanwhile.
impl Browser {
    /// In the open room's Invite panel, chooses `lifetime` under "Code valid for" ("1
    /// minute", "5 minutes", ...; `None` keeps the default), clicks "Show a code" and returns
    /// the code once the server opened it, as shown ("42-123-456"). For a room that shows
    /// no code yet.
    pub async fn show_code(&self, lifetime: Option<&str>) -> TestResult<String> {
        let panel = self.find_by_role("region", "Invite").await?;
        if let Some(lifetime) = lifetime {
            self.choose_within(&panel, "Code valid for", lifetime)
                .await?;
        }
        let button = self
            .find_by_role_within(&panel, "button", "Show a code")
            .await?;
        button.scroll_into_view().await.ctx("scrolling to it")?;
        button
            .click()
            .await
            .ctx(&format!("{} clicking \"Show a code\"", self.name))?;
        let panel = &panel;
        let shown = wait_until(
            &format!("{}: a join code to show", self.name),
            CODE_TIMEOUT,
            move || async move {
                let Some(field) = self
                    .try_find_by_role_within(panel, "textbox", "Join code")
                    .await?
                else {
                    return Ok(None);
                };
                let text = self.value_of(&field).await?;
                let text = text.trim();
                Ok((!text.is_empty()).then(|| text.to_owned()))
            },
        )
        .await;
        match shown {
            Ok(code) => Ok(code),
            Err(e) => {
                let status = self.code_status().await.unwrap_or_default();
                Err(format!("{e}; the code status reads {status:?}"))
            }
        }
    }

    /// Chooses `option` (its visible text) in the menu labelled `menu` within `scope`.
    async fn choose_within(
        &self,
        scope: &thirtyfour::WebElement,
        menu: &str,
        option: &str,
    ) -> TestResult {
        let select = self.find_by_role_within(scope, "combobox", menu).await?;
        select
            .scroll_into_view()
            .await
            .ctx(&format!("scrolling to {menu:?}"))?;
        thirtyfour::components::SelectElement::new(&select)
            .await
            .ctx(&format!("reading {menu:?}"))?
            .select_by_visible_text(option)
            .await
            .ctx(&format!("{} choosing {option:?} in {menu:?}", self.name))
    }

    /// Asks the keeper with `key` to keep the open room ("Keep this room available") and
    /// waits until the keeper status says it does.
    pub async fn keep_room(&self, key: &str) -> TestResult<String> {
        self.keep_room_with(key, None).await
    }

    /// As [`Browser::keep_room`], choosing `history` under "History kept" first ("The newest
    /// 100 entries", ...; `None` keeps the default, all of it).
    pub async fn keep_room_with(&self, key: &str, history: Option<&str>) -> TestResult<String> {
        let panel = self
            .find_by_role("region", "Keep this room available")
            .await?;
        if let Some(history) = history {
            self.choose_within(&panel, "History kept", history).await?;
        }
        let field = self
            .find_by_role_within(&panel, "textbox", "Keeper key")
            .await?;
        field
            .scroll_into_view()
            .await
            .ctx("scrolling to the keeper key")?;
        field.clear().await.ctx("clearing the keeper key")?;
        field.send_keys(key).await.ctx("typing the keeper key")?;
        let button = self
            .find_by_role_within(&panel, "button", "Keep this room available")
            .await?;
        button.click().await.ctx(&format!(
            "{} clicking \"Keep this room available\"",
            self.name
        ))?;
        self.wait_for_text(
            "status",
            "Keeper status",
            |t| t.contains("is now keeping this room"),
            DELIVERY_TIMEOUT,
        )
        .await
    }

    /// Stops the keeper named `name` keeping the open room, and waits until the status says so.
    pub async fn stop_keeping(&self, name: &str) -> TestResult<String> {
        self.click("button", &format!("Stop keeping ({name})"))
            .await?;
        self.wait_for_text(
            "status",
            "Keeper status",
            |t| t.contains("no longer kept by"),
            DELIVERY_TIMEOUT,
        )
        .await
    }

    /// The code shown in the open room's Invite panel now, if any.
    pub async fn shown_code(&self) -> TestResult<Option<String>> {
        let panel = self.find_by_role("region", "Invite").await?;
        let Some(field) = self
            .try_find_by_role_within(&panel, "textbox", "Join code")
            .await?
        else {
            return Ok(None);
        };
        Ok(Some(self.value_of(&field).await?))
    }

    /// The inviter's "Code status" line.
    pub async fn code_status(&self) -> TestResult<String> {
        let el = self.find_by_role("status", "Code status").await?;
        el.text().await.ctx("reading the code status")
    }

    /// Waits until the inviter's "Code status" line satisfies `accept`, and returns it.
    pub async fn wait_for_code_status(
        &self,
        accept: impl Fn(&str) -> bool,
        timeout: Duration,
    ) -> TestResult<String> {
        self.wait_for_text("status", "Code status", accept, timeout)
            .await
    }

    /// On the home view, under "Join with a code": types `code` into "Join code" and, when
    /// given, `name` into "Your name (optional)" (a field shown only to someone who never
    /// chose a name), then clicks "Join with code". What follows shows in the "Join code
    /// status" line, or as the room view.
    pub async fn enter_code(&self, code: &str, name: Option<&str>) -> TestResult {
        self.find_by_role("heading", "Join with a code").await?;
        self.type_into("textbox", "Join code", code).await?;
        if let Some(name) = name {
            self.type_into("textbox", "Your name (optional)", name)
                .await?;
        }
        self.click("button", "Join with code").await
    }

    /// Waits until the joiner's "Join code status" line satisfies `accept`, and returns it.
    pub async fn wait_for_join_code_status(
        &self,
        accept: impl Fn(&str) -> bool,
        timeout: Duration,
    ) -> TestResult<String> {
        self.wait_for_text("status", "Join code status", accept, timeout)
            .await
    }

    /// Starts recording the frames of the WebSockets this page opens from now on
    /// ([`crate::scripts::WEBSOCKET_RECORDER`]); a reload ends the recording.
    pub async fn record_websocket_frames(&self) -> TestResult {
        self.execute(crate::scripts::WEBSOCKET_RECORDER, vec![])
            .await?;
        Ok(())
    }

    /// The text of every frame recorded since [`Browser::record_websocket_frames`], sent and
    /// received, in order.
    pub async fn websocket_frames(&self) -> TestResult<Vec<String>> {
        let frames = self
            .execute("return window.__frames || null;", vec![])
            .await?;
        if frames.is_null() {
            return Err(format!(
                "{}: no WebSocket frames were recorded (the recorder is not installed, or the \
                 page was reloaded)",
                self.name
            ));
        }
        serde_json::from_value(frames).ctx("decoding the recorded frames")
    }
}

/// The tokens of `tokens` in the order the messages containing them appear in `messages`;
/// messages containing none of them are skipped.
pub fn order_of<'a>(messages: &[Message], tokens: &[&'a str]) -> Vec<&'a str> {
    messages
        .iter()
        .filter_map(|m| tokens.iter().find(|t| m.text.contains(**t)).copied())
        .collect()
}

/// Steps on one message of the log (reply, react, edit, delete) and on the composer's keys.
impl Browser {
    /// The `<article>` of the first message whose shown text contains `text`, if one is
    /// shown now.
    pub async fn try_find_message(&self, text: &str) -> TestResult<Option<thirtyfour::WebElement>> {
        let Some(log) = self.try_find_by_role("log", "Messages").await? else {
            return Ok(None);
        };
        let arg = log.to_json().ctx("passing the log to a script")?;
        let ret = self
            .wd()
            .execute(
                "return Array.from(arguments[0].querySelectorAll('article'))\
                 .find(a => a.innerText.includes(arguments[1])) || null;",
                vec![arg, Value::String(text.to_owned())],
            )
            .await
            .ctx(&format!("{} looking for the message {text:?}", self.name))?;
        if ret.json().is_null() {
            return Ok(None);
        }
        ret.element().map(Some).ctx("reading the message element")
    }

    /// Clicks the button `button` ("Reply", "React 👍", "Edit", "Delete") of the message
    /// containing `text`. The message is looked up afresh on each try: the log redraws a
    /// message whenever anything shown of it changes.
    pub async fn click_in_message(&self, text: &str, button: &str) -> TestResult {
        wait_until(
            &format!("{}: clicking {button:?} on the message {text:?}", self.name),
            Duration::from_secs(15),
            move || async move {
                let Some(article) = self.try_find_message(text).await? else {
                    return Ok(None);
                };
                let el = self.find_by_role_within(&article, "button", button).await?;
                el.scroll_into_view().await.ctx("scrolling to it")?;
                el.click().await.ctx("clicking")?;
                Ok(Some(()))
            },
        )
        .await
    }

    /// The text of the "Reactions" list of the message containing `text` ("" when it has
    /// none or is not shown).
    pub async fn reactions_of(&self, text: &str) -> TestResult<String> {
        let Some(article) = self.try_find_message(text).await? else {
            return Ok(String::new());
        };
        let arg = article.to_json().ctx("passing the message to a script")?;
        let has_list = self
            .execute(
                "return arguments[0].querySelector('[aria-label=\"Reactions\"]') !== null;",
                vec![arg],
            )
            .await?;
        if has_list != Value::Bool(true) {
            return Ok(String::new());
        }
        let list = self
            .find_by_role_within(&article, "list", "Reactions")
            .await?;
        list.text().await.ctx("reading the reactions")
    }

    /// Waits until a message containing `text` satisfies `accept` (`what` describes that
    /// for the error), and returns it.
    pub async fn wait_for_message_where(
        &self,
        text: &str,
        what: &str,
        accept: impl Fn(&Message) -> bool,
        timeout: Duration,
    ) -> TestResult<Message> {
        self.wait_for_message_as(
            &format!("{}: a message containing {text:?} {what}", self.name),
            text,
            accept,
            timeout,
        )
        .await
    }

    /// Sends keys (text and [`thirtyfour::Key`]s) to the composer's "Message" text area
    /// without clearing it first. Modifier keys are released at the end of each call.
    pub async fn composer_keys(
        &self,
        keys: impl Into<thirtyfour::prelude::TypingData>,
    ) -> TestResult {
        let el = self.find_by_role("textbox", "Message").await?;
        el.send_keys(keys)
            .await
            .ctx(&format!("{} typing into the composer", self.name))
    }

    /// The composer's current text.
    pub async fn composer_text(&self) -> TestResult<String> {
        let el = self.find_by_role("textbox", "Message").await?;
        self.value_of(&el).await
    }
}

/// What the steps above share.
impl Browser {
    /// Waits until a message containing `text` satisfies `accept` and returns it; `waited_for`
    /// describes the wait for the error.
    async fn wait_for_message_as(
        &self,
        waited_for: &str,
        text: &str,
        accept: impl Fn(&Message) -> bool,
        timeout: Duration,
    ) -> TestResult<Message> {
        let accept = &accept;
        let result = wait_until(waited_for, timeout, move || async move {
            let messages = self.messages().await?;
            Ok(messages
                .into_iter()
                .find(|m| m.text.contains(text) && accept(m)))
        })
        .await;
        self.showing_log(result).await
    }

    /// `result`, its error told what the log shows now.
    async fn showing_log<T>(&self, result: TestResult<T>) -> TestResult<T> {
        match result {
            Ok(value) => Ok(value),
            Err(e) => {
                let shown = self.messages().await.unwrap_or_default();
                Err(format!("{e}; the log shows {shown:?}"))
            }
        }
    }

    /// Runs `script` with the element of role `role` and name `name` as `arguments[0]` and
    /// returns what it returns; `None` when no such element is shown. `what` names the
    /// element in errors.
    async fn run_on_shown(
        &self,
        role: &str,
        name: &str,
        what: &str,
        script: &str,
    ) -> TestResult<Option<Value>> {
        let Some(el) = self.try_find_by_role(role, name).await? else {
            return Ok(None);
        };
        let arg = el.to_json().ctx(&format!("passing {what} to a script"))?;
        self.execute(script, vec![arg]).await.map(Some)
    }
}
