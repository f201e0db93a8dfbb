//! The WebSocket client for the signaling server's `/ws` endpoint.
//!
//! # What
//!
//! [`Signaling`] keeps one WebSocket to `ws(s)://<location.host>/ws` open while the caller is
//! in at least one room, speaks the JSON messages of [`natter_core::signal`] (protocol
//! version 1), and reports what happens as [`SignalEvent`]s on a
//! `futures::channel::mpsc` receiver. The caller joins and leaves rooms and sends sealed
//! blobs; it never sees the socket.
//!
//! # Why it looks like this
//!
//! The browser may lose the server at any time (laptop lid, Wi-Fi change, server restart).
//! The client therefore:
//!
//! - reconnects with exponential backoff and jitter ([`policy::Backoff`]), honouring the
//!   server's `reconnect {after_ms}` before a graceful restart;
//! - sends `ping` every few seconds and treats a silent server as dead
//!   ([`policy::Heartbeat`]), because a half-open TCP connection is otherwise only noticed
//!   after minutes;
//! - re-joins every room the caller is in after each reconnect. Session ids are fresh per
//!   connection (see [`natter_core::signal`]), so each re-join yields a new
//!   [`SignalEvent::Joined`] with the peers present now.
//!
//! # Invariants
//!
//! - No JS call is unwrapped: a failing call becomes a [`SignalEvent::Error`] and, where
//!   the socket is concerned, a reconnect.
//! - The event handlers are Rust closures owned by the live connection; they are detached
//!   from the socket and dropped when the connection ends. Nothing is leaked with `forget`.
//! - The socket is only opened while at least one room is joined (the server closes a
//!   connection that joins nothing within its handshake timeout).
//! - Dropping [`Signaling`] (or calling [`Signaling::close`]) closes the socket with code
//!   1000 and ends the background task; the event stream then ends.

pub mod policy;

use natter_core::signal::ErrorCode;

pub use policy::{Backoff, BackoffConfig, Heartbeat, HeartbeatAction, HeartbeatConfig};

/// Something that happened on the signaling connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignalEvent {
    /// The socket is open; rooms joined before are being joined again.
    Connected,
    /// The socket closed or could not be opened; the next attempt starts after
    /// `retry_in_ms` milliseconds. After the last room was left the socket closes on purpose
    /// and stays closed until the next join (`retry_in_ms` is then 0).
    Disconnected {
        /// Why, in words for the user.
        reason: String,
        /// Milliseconds until the next connection attempt.
        retry_in_ms: u64,
    },
    /// A join succeeded (also after each reconnect).
    Joined {
        /// The room id.
        room: String,
        /// This client's session id in the room, fresh for each connection.
        session: String,
        /// The other members present now.
        peers: Vec<String>,
    },
    /// Another member entered a room.
    PeerJoined {
        /// The room id.
        room: String,
        /// The new member's session id.
        session: String,
    },
    /// A member left a room.
    PeerLeft {
        /// The room id.
        room: String,
        /// The departed member's session id.
        session: String,
    },
    /// A sealed blob from another member.
    Signal {
        /// The room id.
        room: String,
        /// The sender's session id.
        from: String,
        /// The opaque payload.
        blob: String,
    },
    /// Something went wrong: reported by the server (`code` is set) or found locally.
    Error {
        /// The server's error code, when the server reported it.
        code: Option<ErrorCode>,
        /// The room concerned, when known.
        room: Option<String>,
        /// What went wrong, in words for the user.
        message: String,
    },
}

/// Why a request to [`Signaling`] could not be accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignalingError {
    /// The client was closed; no more requests are taken.
    #[error("the connection to the signaling server was closed")]
    Closed,
    /// The page has no `window` or `location` (not running in a browser tab).
    #[error("the signaling server's address could not be found: {0}")]
    NoLocation(String),
    /// The room id is not acceptable.
    #[error("the room id is not valid: {0}")]
    BadRoom(#[from] natter_core::signal::RoomIdError),
}

/// Tuning of [`Signaling`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SignalingConfig {
    /// The reconnect policy.
    pub backoff: BackoffConfig,
    /// The keep-alive policy.
    pub heartbeat: HeartbeatConfig,
}

#[cfg(target_arch = "wasm32")]
pub use browser::Signaling;
#[cfg(target_arch = "wasm32")]
pub(crate) use browser::{page_url, Connection, SocketEvent};

#[cfg(target_arch = "wasm32")]
mod browser {
    use std::collections::BTreeSet;

    use futures::channel::mpsc;
    use futures::{FutureExt, StreamExt};
    use gloo_timers::future::TimeoutFuture;
    use natter_core::signal::{validate_room_id, ClientMessage, CloseCode, ServerMessage};
    use wasm_bindgen::closure::Closure;
    use wasm_bindgen::{JsCast, JsValue};
    use web_sys::{CloseEvent, MessageEvent, WebSocket};

    use super::policy::{signaling_url, HeartbeatAction};
    use super::{Backoff, Heartbeat, SignalEvent, SignalingConfig, SignalingError};

    /// A request from the handle to the background task.
    #[derive(Debug)]
    enum Command {
        Join(String),
        Leave(String),
        Signal {
            room: String,
            to: String,
            blob: String,
        },
    }

    /// A handle on the signaling connection; the work happens in a background task.
    ///
    /// Created with [`Signaling::connect`] (the page's own server) or
    /// [`Signaling::connect_to`] (an explicit URL). Events arrive on the receiver returned
    /// alongside.
    #[derive(Debug)]
    pub struct Signaling {
        commands: mpsc::UnboundedSender<Command>,
    }

    impl Signaling {
        /// Connects to the server that served this page: `wss://<host>/ws` for HTTPS pages,
        /// `ws://<host>/ws` otherwise.
        pub fn connect(
            config: SignalingConfig,
        ) -> Result<(Signaling, mpsc::UnboundedReceiver<SignalEvent>), SignalingError> {
            Ok(Signaling::connect_to(&page_url()?, config))
        }

        /// Connects to the signaling endpoint at `url` (a `ws:` or `wss:` URL). The socket
        /// opens once the first room is joined.
        pub fn connect_to(
            url: &str,
            config: SignalingConfig,
        ) -> (Signaling, mpsc::UnboundedReceiver<SignalEvent>) {
            let (commands, command_rx) = mpsc::unbounded();
            let (events, event_rx) = mpsc::unbounded();
            let driver = Driver {
                url: url.to_owned(),
                config,
                commands: command_rx,
                events,
                rooms: BTreeSet::new(),
                backoff: Backoff::new(config.backoff),
            };
            wasm_bindgen_futures::spawn_local(driver.run());
            (Signaling { commands }, event_rx)
        }

        /// Joins `room` now and after every reconnect, until [`Signaling::leave`].
        pub fn join(&self, room: &str) -> Result<(), SignalingError> {
            validate_room_id(room)?;
            self.send(Command::Join(room.to_owned()))
        }

        /// Leaves `room`; it is no longer re-joined after a reconnect.
        pub fn leave(&self, room: &str) -> Result<(), SignalingError> {
            self.send(Command::Leave(room.to_owned()))
        }

        /// Relays `blob` to session `to` in `room`. Dropped with a
        /// [`SignalEvent::Error`] while disconnected: session ids die with the connection,
        /// so a queued blob could not reach anyone.
        pub fn signal(&self, room: &str, to: &str, blob: &str) -> Result<(), SignalingError> {
            self.send(Command::Signal {
                room: room.to_owned(),
                to: to.to_owned(),
                blob: blob.to_owned(),
            })
        }

        /// Closes the connection and ends the background task.
        pub fn close(self) {
            self.commands.close_channel();
        }

        fn send(&self, command: Command) -> Result<(), SignalingError> {
            self.commands
                .unbounded_send(command)
                .map_err(|_| SignalingError::Closed)
        }
    }

    impl Drop for Signaling {
        fn drop(&mut self) {
            self.commands.close_channel();
        }
    }

    /// The signaling endpoint of the server that served this page: `wss://<host>/ws` for
    /// HTTPS pages, `ws://<host>/ws` otherwise.
    pub(crate) fn page_url() -> Result<String, SignalingError> {
        let window = web_sys::window()
            .ok_or_else(|| SignalingError::NoLocation("there is no browser window".into()))?;
        let location = window.location();
        let protocol = location
            .protocol()
            .map_err(|e| SignalingError::NoLocation(describe(&e)))?;
        let host = location
            .host()
            .map_err(|e| SignalingError::NoLocation(describe(&e)))?;
        Ok(signaling_url(&protocol, &host))
    }

    /// What the socket's event handlers report to its owner.
    #[derive(Debug)]
    pub(crate) enum SocketEvent {
        Open,
        Text(String),
        Other,
        Error,
        Closed { code: u16, reason: String },
    }

    /// One WebSocket and the closures attached to it. Dropping it detaches and drops the
    /// closures and closes the socket.
    pub(crate) struct Connection {
        ws: WebSocket,
        pub(crate) events: mpsc::UnboundedReceiver<SocketEvent>,
        _on_open: Closure<dyn FnMut(JsValue)>,
        _on_message: Closure<dyn FnMut(MessageEvent)>,
        _on_error: Closure<dyn FnMut(JsValue)>,
        _on_close: Closure<dyn FnMut(CloseEvent)>,
    }

    impl Connection {
        pub(crate) fn open(url: &str) -> Result<Connection, String> {
            let ws = WebSocket::new(url).map_err(|e| describe(&e))?;
            let (tx, events) = mpsc::unbounded();
            let t = tx.clone();
            let on_open = Closure::<dyn FnMut(JsValue)>::new(move |_| {
                let _ = t.unbounded_send(SocketEvent::Open);
            });
            let t = tx.clone();
            let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |e: MessageEvent| {
                let event = match e.data().as_string() {
                    Some(text) => SocketEvent::Text(text),
                    None => SocketEvent::Other,
                };
                let _ = t.unbounded_send(event);
            });
            let t = tx.clone();
            let on_error = Closure::<dyn FnMut(JsValue)>::new(move |_| {
                let _ = t.unbounded_send(SocketEvent::Error);
            });
            let on_close = Closure::<dyn FnMut(CloseEvent)>::new(move |e: CloseEvent| {
                let _ = tx.unbounded_send(SocketEvent::Closed {
                    code: e.code(),
                    reason: e.reason(),
                });
            });
            ws.set_onopen(Some(on_open.as_ref().unchecked_ref()));
            ws.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
            ws.set_onerror(Some(on_error.as_ref().unchecked_ref()));
            ws.set_onclose(Some(on_close.as_ref().unchecked_ref()));
            Ok(Connection {
                ws,
                events,
                _on_open: on_open,
                _on_message: on_message,
                _on_error: on_error,
                _on_close: on_close,
            })
        }

        pub(crate) fn send(&self, message: &ClientMessage<'_>) -> Result<(), String> {
            self.ws
                .send_with_str(&message.encode())
                .map_err(|e| describe(&e))
        }
    }

    impl Drop for Connection {
        fn drop(&mut self) {
            self.ws.set_onopen(None);
            self.ws.set_onmessage(None);
            self.ws.set_onerror(None);
            self.ws.set_onclose(None);
            // Closing an already closed socket is a no-op; 1000 with a short reason
            // cannot raise the errors `close` documents (bad code, reason too long).
            let _ = self
                .ws
                .close_with_code_and_reason(CloseCode::Normal.as_u16(), CloseCode::Normal.reason());
        }
    }

    /// How one connection ended.
    enum Ended {
        /// The caller closed the client.
        Shutdown,
        /// The connection was lost; reconnect.
        Lost(String),
        /// The caller left every room; stay closed until the next join.
        Idle,
    }

    /// The background task: owns the connection, the joined rooms and the policy.
    struct Driver {
        url: String,
        config: SignalingConfig,
        commands: mpsc::UnboundedReceiver<Command>,
        events: mpsc::UnboundedSender<SignalEvent>,
        rooms: BTreeSet<String>,
        backoff: Backoff,
    }

    impl Driver {
        async fn run(mut self) {
            loop {
                // Stay idle until there is a room to be in.
                while self.rooms.is_empty() {
                    match self.commands.next().await {
                        None => return,
                        Some(command) => self.idle_command(command),
                    }
                }
                let reason = match Connection::open(&self.url) {
                    Ok(connection) => match self.serve(connection).await {
                        Ended::Shutdown => return,
                        Ended::Lost(reason) => reason,
                        Ended::Idle => {
                            self.emit(SignalEvent::Disconnected {
                                reason: "Not in any room; the connection opens again with the next join.".into(),
                                retry_in_ms: 0,
                            });
                            continue;
                        }
                    },
                    Err(detail) => {
                        let reason =
                            format!("The signaling server address is not usable: {detail}");
                        self.emit_error(None, reason.clone());
                        reason
                    }
                };
                let retry_in_ms = self.backoff.on_close(now_ms(), js_sys::Math::random());
                self.emit(SignalEvent::Disconnected {
                    reason,
                    retry_in_ms,
                });
                if !self.wait(retry_in_ms).await {
                    return;
                }
            }
        }

        /// Handles a command while there is no open socket.
        fn idle_command(&mut self, command: Command) {
            match command {
                Command::Join(room) => {
                    self.rooms.insert(room);
                }
                Command::Leave(room) => {
                    self.rooms.remove(&room);
                }
                Command::Signal { room, .. } => self.emit_error(
                    Some(room),
                    "Not connected to the signaling server; the message was not sent.".into(),
                ),
            }
        }

        /// Waits `ms` milliseconds while still taking commands. Returns false when the
        /// caller closed the client.
        async fn wait(&mut self, ms: u64) -> bool {
            let mut timer = TimeoutFuture::new(timer_ms(ms)).fuse();
            loop {
                futures::select! {
                    _ = timer => return true,
                    command = self.commands.next() => match command {
                        None => return false,
                        Some(command) => self.idle_command(command),
                    },
                }
            }
        }

        /// Drives one connection until it ends.
        async fn serve(&mut self, mut connection: Connection) -> Ended {
            let interval = timer_ms(self.config.heartbeat.interval_ms);
            let mut heartbeat = Heartbeat::new(self.config.heartbeat);
            let mut open = false;
            let mut failed = false;
            let mut tick = TimeoutFuture::new(interval).fuse();
            loop {
                futures::select! {
                    event = connection.events.next() => match event {
                        Some(SocketEvent::Open) => {
                            open = true;
                            self.backoff.on_open(now_ms());
                            heartbeat = Heartbeat::new(self.config.heartbeat);
                            tick = TimeoutFuture::new(interval).fuse();
                            self.emit(SignalEvent::Connected);
                            let rooms: Vec<String> = self.rooms.iter().cloned().collect();
                            for room in rooms {
                                let join = ClientMessage::Join { room: room.into() };
                                if let Err(detail) = connection.send(&join) {
                                    return Ended::Lost(format!("Sending to the signaling server failed: {detail}"));
                                }
                            }
                        }
                        Some(SocketEvent::Text(text)) => {
                            heartbeat.on_frame();
                            self.server_frame(&text);
                        }
                        Some(SocketEvent::Other) => heartbeat.on_frame(),
                        Some(SocketEvent::Error) => failed = true,
                        Some(SocketEvent::Closed { code, reason }) => {
                            return Ended::Lost(close_reason(open, failed, code, &reason));
                        }
                        None => return Ended::Lost("The connection to the signaling server ended.".into()),
                    },
                    command = self.commands.next() => {
                        let Some(command) = command else { return Ended::Shutdown };
                        let message = match &command {
                            Command::Join(room) => {
                                self.rooms.insert(room.clone());
                                ClientMessage::Join { room: room.as_str().into() }
                            }
                            Command::Leave(room) => {
                                self.rooms.remove(room);
                                ClientMessage::Leave { room: room.as_str().into() }
                            }
                            Command::Signal { room, to, blob } => ClientMessage::Signal {
                                room: room.as_str().into(),
                                to: to.as_str().into(),
                                blob: blob.as_str().into(),
                            },
                        };
                        if open {
                            if let Err(detail) = connection.send(&message) {
                                return Ended::Lost(format!("Sending to the signaling server failed: {detail}"));
                            }
                        } else if let Command::Signal { room, .. } = command {
                            // Joins and leaves are applied on open; blobs cannot wait.
                            self.emit_error(Some(room), "Not connected to the signaling server yet; the message was not sent.".into());
                        }
                        if self.rooms.is_empty() {
                            // Nothing left to be in: the server would close an idle socket.
                            return Ended::Idle;
                        }
                    },
                    _ = tick => {
                        tick = TimeoutFuture::new(interval).fuse();
                        if open {
                            match heartbeat.on_tick() {
                                HeartbeatAction::SendPing => {
                                    if let Err(detail) = connection.send(&ClientMessage::Ping) {
                                        return Ended::Lost(format!("Sending to the signaling server failed: {detail}"));
                                    }
                                }
                                HeartbeatAction::Dead => {
                                    return Ended::Lost("The signaling server stopped answering.".into());
                                }
                            }
                        }
                    },
                }
            }
        }

        /// Handles one text frame from the server.
        fn server_frame(&mut self, text: &str) {
            let message = match ServerMessage::decode(text) {
                Ok(message) => message,
                Err(e) => {
                    self.emit_error(
                        None,
                        format!("The signaling server sent a message this app does not understand ({e})."),
                    );
                    return;
                }
            };
            let event = match message {
                ServerMessage::Joined {
                    room,
                    session,
                    peers,
                } => SignalEvent::Joined {
                    room: room.into_owned(),
                    session: session.into_owned(),
                    peers: peers.into_iter().map(|p| p.into_owned()).collect(),
                },
                ServerMessage::PeerJoined { room, session } => SignalEvent::PeerJoined {
                    room: room.into_owned(),
                    session: session.into_owned(),
                },
                ServerMessage::PeerLeft { room, session } => SignalEvent::PeerLeft {
                    room: room.into_owned(),
                    session: session.into_owned(),
                },
                ServerMessage::Signal { room, from, blob } => SignalEvent::Signal {
                    room: room.into_owned(),
                    from: from.into_owned(),
                    blob: blob.into_owned(),
                },
                ServerMessage::Pong => return,
                ServerMessage::Error {
                    code,
                    message,
                    room,
                    ..
                } => SignalEvent::Error {
                    code: Some(code),
                    room: room.map(|r| r.into_owned()),
                    message: format!("The signaling server reported: {message}"),
                },
                ServerMessage::Reconnect { after_ms } => {
                    self.backoff.on_server_reconnect(after_ms);
                    return;
                }
                // Join codes use a socket of their own (`crate::joincode`).
                ServerMessage::CodeOpened { .. }
                | ServerMessage::CodeMessage { .. }
                | ServerMessage::CodeWaiting { .. }
                | ServerMessage::CodeClosed { .. } => return,
            };
            self.emit(event);
        }

        fn emit(&self, event: SignalEvent) {
            // A dropped receiver means nobody listens any more; the handle's drop ends us.
            let _ = self.events.unbounded_send(event);
        }

        fn emit_error(&self, room: Option<String>, message: String) {
            self.emit(SignalEvent::Error {
                code: None,
                room,
                message,
            });
        }
    }

    /// Words for a close: whether it ever opened, and the close code.
    fn close_reason(opened: bool, failed: bool, code: u16, reason: &str) -> String {
        if !opened {
            return "Could not reach the signaling server.".into();
        }
        let what = match CloseCode::from_u16(code) {
            Some(CloseCode::ServiceRestart) => "The signaling server is restarting.",
            Some(CloseCode::IdleTimeout) => "The signaling server closed an idle connection.",
            Some(CloseCode::RateLimited) => {
                "The signaling server closed the connection: too many messages."
            }
            Some(CloseCode::TooManyConnections) => {
                "The signaling server refused the connection: too many connections."
            }
            Some(CloseCode::Normal) => "The signaling server closed the connection.",
            _ if failed || code == 1006 => "The connection to the signaling server was lost.",
            _ => "The signaling server closed the connection.",
        };
        if reason.is_empty() {
            what.to_owned()
        } else {
            format!("{what} ({reason})")
        }
    }

    /// A readable text for a thrown JS value.
    fn describe(value: &JsValue) -> String {
        if let Some(error) = value.dyn_ref::<js_sys::Error>() {
            return String::from(error.message());
        }
        value
            .as_string()
            .unwrap_or_else(|| "an unknown browser error".to_owned())
    }

    /// A delay for `setTimeout`, which treats anything above `i32::MAX` ms as zero.
    fn timer_ms(ms: u64) -> u32 {
        // The value is at most i32::MAX after `min`, so the cast is exact.
        ms.min(i32::MAX as u64) as u32
    }

    fn now_ms() -> u64 {
        js_sys::Date::now().max(0.0) as u64
    }
}

#[cfg(all(test, target_arch = "wasm32"))]
mod browser_tests {
    use futures::channel::mpsc::UnboundedReceiver;
    use futures::{FutureExt, StreamExt};
    use gloo_timers::future::TimeoutFuture;
    use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

    use super::*;

    wasm_bindgen_test_configure!(run_in_browser);

    use crate::test_support::Ctx;

    /// A port on the loopback address where nothing listens.
    const DEAD_URL: &str = "ws://127.0.0.1:65531/ws";

    fn quick() -> SignalingConfig {
        SignalingConfig {
            backoff: BackoffConfig {
                base_ms: 20,
                max_ms: 40,
                stable_ms: 10_000,
            },
            heartbeat: HeartbeatConfig::default(),
        }
    }

    /// The next event, or `None` after `ms` milliseconds.
    async fn next_within(
        events: &mut UnboundedReceiver<SignalEvent>,
        ms: u32,
    ) -> Option<SignalEvent> {
        futures::select! {
            event = events.next() => event,
            _ = TimeoutFuture::new(ms).fuse() => None,
        }
    }

    /// Collects events until `want` Disconnected events arrived or time ran out.
    async fn until_disconnects(
        events: &mut UnboundedReceiver<SignalEvent>,
        want: usize,
    ) -> Vec<SignalEvent> {
        let mut seen = Vec::new();
        while seen
            .iter()
            .filter(|e| matches!(e, SignalEvent::Disconnected { .. }))
            .count()
            < want
        {
            match next_within(events, 5_000).await {
                Some(event) => seen.push(event),
                None => break,
            }
        }
        seen
    }

    #[wasm_bindgen_test]
    async fn a_server_that_is_not_there_yields_a_disconnect_in_words_and_no_panic(
    ) -> Result<(), String> {
        let (client, mut events) = Signaling::connect_to(DEAD_URL, quick());
        client
            .join("room-a")
            .ctx("join a room on the open client")?;
        let seen = until_disconnects(&mut events, 1).await;
        let Some(SignalEvent::Disconnected {
            reason,
            retry_in_ms,
        }) = seen.last()
        else {
            panic!("expected a disconnect, got {seen:?}");
        };
        assert!(reason.contains("signaling server"), "{reason}");
        assert!(*retry_in_ms <= 40);
        assert!(!seen.contains(&SignalEvent::Connected));
        Ok(())
    }

    #[wasm_bindgen_test]
    async fn the_client_keeps_retrying_with_backoff_until_closed() -> Result<(), String> {
        let (client, mut events) = Signaling::connect_to(DEAD_URL, quick());
        client
            .join("room-a")
            .ctx("join a room on the open client")?;
        let seen = until_disconnects(&mut events, 3).await;
        let delays: Vec<u64> = seen
            .iter()
            .filter_map(|e| match e {
                SignalEvent::Disconnected { retry_in_ms, .. } => Some(*retry_in_ms),
                _ => None,
            })
            .collect();
        assert_eq!(delays.len(), 3, "{seen:?}");
        assert!((10..=20).contains(&delays[0]), "{delays:?}");
        assert!((20..=40).contains(&delays[2]), "{delays:?}");
        client.close();
        // The background task ends and drops its sender: the stream finishes.
        let mut ended = false;
        for _ in 0..20 {
            match next_within(&mut events, 2_000).await {
                None => {
                    ended = true;
                    break;
                }
                Some(SignalEvent::Disconnected { .. } | SignalEvent::Error { .. }) => {}
                Some(other) => panic!("unexpected event after close: {other:?}"),
            }
        }
        assert!(ended, "the event stream did not end after close");
        Ok(())
    }

    #[wasm_bindgen_test]
    async fn a_blob_sent_while_disconnected_is_reported_not_lost_silently() -> Result<(), String> {
        let (client, mut events) = Signaling::connect_to(DEAD_URL, quick());
        client
            .signal("room-a", "peer", "blob")
            .ctx("send a blob on the open client")?;
        let event = next_within(&mut events, 2_000).await;
        let Some(SignalEvent::Error {
            code,
            room,
            message,
        }) = event
        else {
            panic!("expected an error, got {event:?}");
        };
        assert_eq!(code, None);
        assert_eq!(room.as_deref(), Some("room-a"));
        assert!(message.contains("not sent"), "{message}");
        Ok(())
    }

    #[wasm_bindgen_test]
    fn an_invalid_room_id_is_refused_before_it_reaches_the_server() {
        let (client, _events) = Signaling::connect_to(DEAD_URL, quick());
        assert!(matches!(client.join(""), Err(SignalingError::BadRoom(_))));
        assert!(matches!(
            client.join("has space"),
            Err(SignalingError::BadRoom(_))
        ));
    }
}
