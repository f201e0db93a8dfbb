//! The signaling WebSocket (`/ws`, RFC 6455) and the life of one connection.
//!
//! Each connection is a single task that owns its socket and `select!`s over: frames from
//! the client, its bounded outbox (messages other connections relay to it), one timer
//! (handshake deadline, idle deadline, next ping), the overflow signal, and server
//! shutdown. The protocol is [`natter_core::signal`]; close codes are
//! [`natter_core::signal::CloseCode`]:
//!
//! | code | cause |
//! | --- | --- |
//! | 1000 | normal closure |
//! | 1002 / 1007 | WebSocket protocol error / invalid UTF-8 in a text frame |
//! | 1009 | frame larger than `max_frame_bytes` (after `error frame_too_large`) |
//! | 1012 | server restart (after `reconnect {after_ms}`) |
//! | 4000 | no `join`, `code_open` or `code_claim` within `handshake_timeout` |
//! | 4001 | nothing received within `idle_timeout` |
//! | 4002 | more than `flood_tolerance` frames sent after `rate_limited` |
//! | 4003 | too many connections from this address or in total |
//! | 4004 | outbox overflowed, or the server-wide outbox budget refused a message for it: the client does not read (slow consumer) |
//!
//! Only pages from the server's own origin (or `Config::allowed_origins`) may open the
//! socket; requests without `Origin` (not from a browser) are allowed. This keeps other
//! sites from using the relay with their visitors' browsers; rooms themselves are protected
//! by their ids being unguessable hashes.
//!
//! Rate limiting is a token bucket per connection (`frames_per_sec`, `frame_burst`) charged
//! for every data frame. A frame without a token is dropped; the first one in a row gets
//! `error rate_limited` with `retry_after_ms`, later ones are dropped silently (so a flood
//! cannot make the server write as much as it reads), and after `flood_tolerance` of them
//! the connection is closed with 4002. Soft errors never close the connection and never
//! touch other connections.
//!
//! Memory per idle connection is kept small: tungstenite's read buffer is 4 KiB instead of
//! 128 KiB, writes are not buffered (`write_buffer_size` 0), the outbox is a bounded
//! channel, and memberships are a short vector. The bytes in all outboxes together are
//! bounded by `Limits::max_outbox_bytes` ([`crate::outbox`]). A slow consumer leaves its
//! rooms and drops its queued messages as soon as it is found, before its error frame is
//! tried (for at most a second, as its socket is likely full).
//!
//! The per-address limit counts the TCP peer's address, or the client's address from
//! `X-Forwarded-For` when the peer is a trusted proxy ([`crate::proxy`]).
//!
//! Join-code messages (`code_open`, `code_claim`, `code_send`, `code_close`) go to the
//! mailbox registry (`crate::codes`, where their rules are written down); this task only
//! checks what needs no registry (`ttl_ms` 0 and blobs longer than
//! [`MAX_CODE_BLOB_CHARS`] get `bad_message`), answers `code_opened` and error frames
//! directly, and closes or gives up its mailboxes when it ends. A `code_open` or
//! `code_claim`, refused or not, counts as the first act the handshake timeout waits for,
//! as a `join` does, so a page that only uses a join code is not closed with 4000.

use std::borrow::Cow;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::{ConnectInfo, State as AxState};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use futures_util::SinkExt;
use natter_core::signal::{
    validate_room_id, ClientMessage, CloseCode, ErrorCode, ServerMessage, MAX_CODE_BLOB_CHARS,
};
use rand_core::{OsRng, RngCore};
use tokio::sync::mpsc;
use tokio::time::{sleep_until, timeout, Instant};

use crate::codes::{CodeError, Party};
use crate::outbox::Queued;
use crate::rooms::{encode, ConnHandle, JoinError};
use crate::{Admission, State};

/// tungstenite's read buffer per connection (its default is 128 KiB).
const READ_BUFFER_BYTES: usize = 4 * 1024;
/// Outbox messages written in one batch before flushing.
const WRITE_BATCH: usize = 32;
/// How long to wait for the client's close frame after sending ours.
const CLOSE_LINGER: Duration = Duration::from_secs(1);

/// Whether a browser page from `origin` may use this server's relay: its own origin (the
/// `Origin` host equals the `Host` header), a configured origin, or any with `*`.
pub(crate) fn origin_allowed(headers: &HeaderMap, allowed: &[String]) -> bool {
    let Some(origin) = headers.get(header::ORIGIN) else {
        return true;
    };
    let Ok(origin) = origin.to_str() else {
        return false;
    };
    if allowed
        .iter()
        .any(|a| a == "*" || a.eq_ignore_ascii_case(origin))
    {
        return true;
    }
    let origin_host = origin.split_once("://").map(|(_, rest)| rest);
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    matches!((origin_host, host), (Some(o), Some(h)) if o.eq_ignore_ascii_case(h))
}

/// `GET /ws`: upgrades to a WebSocket, admitting or refusing the connection by its origin
/// (403) and its limits (close 4003).
pub(crate) async fn upgrade(
    AxState(state): AxState<Arc<State>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    if !origin_allowed(&headers, &state.config.allowed_origins) {
        tracing::debug!("websocket from a foreign origin refused");
        return (StatusCode::FORBIDDEN, "origin not allowed").into_response();
    }
    let max = state.config.limits.max_frame_bytes;
    // tungstenite enforces a hard cap above the limit, so that a frame a little too large
    // is read whole and refused cleanly (error frame, close 1009, close handshake) instead
    // of leaving the stream mid-frame, where the close would end in a reset.
    let hard_max = max.saturating_add(max / 2);
    let ws = ws
        .read_buffer_size(READ_BUFFER_BYTES)
        .write_buffer_size(0)
        .max_write_buffer_size(max.saturating_mul(4).max(64 * 1024))
        .max_frame_size(hard_max)
        .max_message_size(hard_max);
    let client = crate::proxy::client_ip(peer.ip(), &headers, &state.config.trusted_proxies);
    let admission = state.admit(client);
    ws.on_upgrade(move |socket| async move {
        match admission {
            Some(admission) => run(socket, state, admission).await,
            None => refuse(socket).await,
        }
    })
}

/// Tells a connection over its limit why, and closes it.
async fn refuse(mut socket: WebSocket) {
    tracing::debug!("connection refused: connection limit reached");
    let msg = error_frame(
        ErrorCode::TooManyConnections,
        "too many connections",
        None,
        None,
    );
    let _ = timeout(CLOSE_LINGER, socket.send(Message::Text(msg))).await;
    close_and_linger(&mut socket, CloseCode::TooManyConnections).await;
}

/// Encodes an error frame.
fn error_frame(
    code: ErrorCode,
    message: &'static str,
    room: Option<&str>,
    retry_after_ms: Option<u64>,
) -> Utf8Bytes {
    encode(&ServerMessage::Error {
        code,
        message: Cow::Borrowed(message),
        room: room.map(Cow::Borrowed),
        retry_after_ms,
    })
}

/// Sends a close frame, then waits briefly for the client's, so the close handshake
/// completes instead of the socket being reset.
async fn close_and_linger(socket: &mut WebSocket, code: CloseCode) {
    let frame = CloseFrame {
        code: code.as_u16(),
        reason: Utf8Bytes::from_static(code.reason()),
    };
    if timeout(CLOSE_LINGER, socket.send(Message::Close(Some(frame))))
        .await
        .is_err()
    {
        return;
    }
    let _ = timeout(CLOSE_LINGER, async {
        while let Some(Ok(_)) = socket.recv().await {}
    })
    .await;
}

/// One room this connection is in.
#[derive(Debug)]
struct Membership {
    room: Arc<str>,
    session: Arc<str>,
}

/// A token bucket: `rate` tokens per second, at most `burst` stored.
#[derive(Debug)]
struct TokenBucket {
    tokens: f64,
    rate: f64,
    burst: f64,
    last: Instant,
}

impl TokenBucket {
    fn new(rate: u32, burst: u32, now: Instant) -> Self {
        TokenBucket {
            tokens: f64::from(burst),
            rate: f64::from(rate),
            burst: f64::from(burst),
            last: now,
        }
    }

    /// Takes a token, or returns how long until one is available.
    fn take(&mut self, now: Instant) -> Result<(), Duration> {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + elapsed * self.rate).min(self.burst);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - self.tokens) / self.rate))
        }
    }
}

/// What the loop does after handling an event.
enum Flow {
    Continue,
    /// Close with this code (an error frame, if any, was already sent).
    Close(CloseCode),
    /// The socket is gone; just clean up.
    Gone,
}

/// The state of one connection.
struct Conn {
    socket: WebSocket,
    state: Arc<State>,
    handle: Arc<ConnHandle>,
    memberships: Vec<Membership>,
    /// This connection as a party to join-code mailboxes.
    party: Party,
    bucket: TokenBucket,
    /// Frames dropped for rate limiting since the last accepted frame.
    violations: u32,
    joined_once: bool,
    last_rx: Instant,
}

/// Runs one admitted connection to its end.
async fn run(socket: WebSocket, state: Arc<State>, admission: Admission) {
    let limits = &state.config.limits;
    let now = Instant::now();
    let (tx, mut outbox) = mpsc::channel(limits.outbox_capacity);
    let handle = Arc::new(ConnHandle {
        tx,
        overflow: Default::default(),
        budget: state.outbox_budget.clone(),
        queued: Default::default(),
    });
    let mut conn = Conn {
        socket,
        party: state.codes.party(handle.clone(), admission.ip()),
        handle,
        memberships: Vec::new(),
        bucket: TokenBucket::new(limits.frames_per_sec, limits.frame_burst, now),
        violations: 0,
        joined_once: false,
        last_rx: now,
        state: state.clone(),
    };
    let mut shutdown = state.shutdown.clone();
    let flow = if *shutdown.borrow_and_update() {
        conn.restart_notice().await
    } else {
        conn.event_loop(&mut outbox, &mut shutdown, now).await
    };
    if let Flow::Close(code) = flow {
        tracing::debug!(code = code.as_u16(), "closing connection");
        close_and_linger(&mut conn.socket, code).await;
    }
    conn.leave_all();
    drop(admission);
}

impl Conn {
    async fn event_loop(
        &mut self,
        outbox: &mut mpsc::Receiver<Queued>,
        shutdown: &mut tokio::sync::watch::Receiver<bool>,
        started: Instant,
    ) -> Flow {
        let limits = self.state.config.limits.clone();
        let handshake_deadline = started + limits.handshake_timeout;
        let mut next_ping = started + limits.ping_interval;
        let timer = sleep_until(next_ping.min(handshake_deadline));
        tokio::pin!(timer);
        loop {
            let flow = tokio::select! {
                biased;
                _ = shutdown.changed() => self.restart_notice().await,
                _ = self.handle.overflow.notified() => self.on_overflow(outbox).await,
                frame = self.socket.recv() => self.on_frame(frame).await,
                Some(msg) = outbox.recv() => self.flush_outbox(msg, outbox).await,
                () = &mut timer => {
                    // The timer fires at the earliest deadline that might have passed; the
                    // idle deadline moves with every frame, so it is re-checked here rather
                    // than re-armed for every frame.
                    let now = Instant::now();
                    if !self.joined_once && now >= handshake_deadline {
                        self.send_error(ErrorCode::HandshakeTimeout, "no join in time", None, None).await;
                        Flow::Close(CloseCode::HandshakeTimeout)
                    } else if now >= self.last_rx + limits.idle_timeout {
                        self.send_error(ErrorCode::IdleTimeout, "idle", None, None).await;
                        Flow::Close(CloseCode::IdleTimeout)
                    } else {
                        let mut flow = Flow::Continue;
                        if now >= next_ping {
                            next_ping = now + limits.ping_interval;
                            flow = self.send(Message::Ping(Default::default())).await;
                        }
                        let mut next = next_ping.min(self.last_rx + limits.idle_timeout);
                        if !self.joined_once {
                            next = next.min(handshake_deadline);
                        }
                        timer.as_mut().reset(next);
                        flow
                    }
                }
            };
            if !matches!(flow, Flow::Continue) {
                return flow;
            }
        }
    }

    /// Tells the client to come back later and asks for a 1012 close.
    async fn restart_notice(&mut self) -> Flow {
        let base = self.state.config.limits.reconnect_after.as_millis() as u64;
        let jitter = if base == 0 {
            0
        } else {
            OsRng.next_u64() % (base + 1)
        };
        let msg = encode(&ServerMessage::Reconnect {
            after_ms: base + jitter,
        });
        match self.send(Message::Text(msg)).await {
            Flow::Continue => Flow::Close(CloseCode::ServiceRestart),
            other => other,
        }
    }

    /// Sends one message with the send timeout.
    async fn send(&mut self, msg: Message) -> Flow {
        match timeout(self.state.config.limits.send_timeout, self.socket.send(msg)).await {
            Ok(Ok(())) => Flow::Continue,
            Ok(Err(_)) | Err(_) => Flow::Gone,
        }
    }

    /// Sends an error frame. A failure to send shows up on the next receive.
    async fn send_error(
        &mut self,
        code: ErrorCode,
        message: &'static str,
        room: Option<&str>,
        retry: Option<u64>,
    ) {
        let _ = self
            .send(Message::Text(error_frame(code, message, room, retry)))
            .await;
    }

    /// A slow consumer: its outbox is full or the server-wide budget refused it a message.
    /// It leaves its rooms and its queued messages are released at once, so that neither
    /// waits for a socket that is not being read; the error frame gets only a short try.
    async fn on_overflow(&mut self, outbox: &mut mpsc::Receiver<Queued>) -> Flow {
        self.leave_all();
        outbox.close();
        while outbox.try_recv().is_ok() {}
        let msg = error_frame(ErrorCode::SlowConsumer, "outbox overflowed", None, None);
        let _ = timeout(CLOSE_LINGER, self.socket.send(Message::Text(msg))).await;
        Flow::Close(CloseCode::SlowConsumer)
    }

    /// Writes `first` and whatever else is queued (up to a batch), then flushes once. A
    /// message's charge to the outbox budget ends as it is handed to the socket. A write
    /// stalled by a client that does not read is abandoned as soon as the connection is
    /// found to be a slow consumer, rather than after the send timeout.
    async fn flush_outbox(&mut self, first: Queued, outbox: &mut mpsc::Receiver<Queued>) -> Flow {
        let socket = &mut self.socket;
        let write = async {
            socket.feed(Message::Text(first.into_message())).await?;
            for _ in 1..WRITE_BATCH {
                match outbox.try_recv() {
                    Ok(msg) => socket.feed(Message::Text(msg.into_message())).await?,
                    Err(_) => break,
                }
            }
            socket.flush().await
        };
        let written = tokio::select! {
            biased;
            written = timeout(self.state.config.limits.send_timeout, write) => Some(written),
            () = self.handle.overflow.notified() => None,
        };
        match written {
            Some(Ok(Ok(()))) => Flow::Continue,
            Some(Ok(Err(_)) | Err(_)) => Flow::Gone,
            None => self.on_overflow(outbox).await,
        }
    }

    /// Handles one result of `recv`.
    async fn on_frame(&mut self, frame: Option<Result<Message, axum::Error>>) -> Flow {
        let msg = match frame {
            None => return Flow::Gone,
            Some(Ok(msg)) => msg,
            Some(Err(err)) => return self.on_read_error(err).await,
        };
        let now = Instant::now();
        self.last_rx = now;
        let size = match &msg {
            Message::Text(text) => text.len(),
            Message::Binary(data) => data.len(),
            _ => 0,
        };
        if size > self.state.config.limits.max_frame_bytes {
            tracing::debug!(size, "frame too large");
            self.send_error(ErrorCode::FrameTooLarge, "frame too large", None, None)
                .await;
            return Flow::Close(CloseCode::FrameTooLarge);
        }
        let text = match msg {
            Message::Text(text) => Some(text),
            Message::Binary(_) => None,
            // tungstenite answers pings itself; pongs only prove liveness.
            Message::Ping(_) | Message::Pong(_) => return Flow::Continue,
            Message::Close(_) => return Flow::Gone,
        };
        match self.bucket.take(now) {
            Ok(()) => self.violations = 0,
            Err(wait) => {
                self.violations += 1;
                if self.violations == 1 {
                    let retry = Some(wait.as_millis() as u64 + 1);
                    self.send_error(ErrorCode::RateLimited, "too many frames", None, retry)
                        .await;
                } else if self.violations > self.state.config.limits.flood_tolerance {
                    tracing::debug!("closing a flooding connection");
                    return Flow::Close(CloseCode::RateLimited);
                }
                return Flow::Continue;
            }
        }
        match text {
            Some(text) => self.on_text(&text).await,
            None => {
                self.send_error(
                    ErrorCode::BinaryNotSupported,
                    "binary frames are not supported",
                    None,
                    None,
                )
                .await;
                Flow::Continue
            }
        }
    }

    /// Maps a read error to the right close: frames beyond the hard cap get 1009 after an
    /// error frame (the client may see a reset instead, as the rest of its frame is unread).
    async fn on_read_error(&mut self, err: axum::Error) -> Flow {
        use tungstenite::error::Error as WsError;
        let inner = err.into_inner();
        match inner.downcast_ref::<WsError>() {
            Some(WsError::Capacity(_)) => {
                tracing::debug!("frame too large");
                self.send_error(ErrorCode::FrameTooLarge, "frame too large", None, None)
                    .await;
                Flow::Close(CloseCode::FrameTooLarge)
            }
            Some(WsError::Utf8) => Flow::Close(CloseCode::InvalidUtf8),
            Some(WsError::Protocol(_)) => Flow::Close(CloseCode::ProtocolError),
            _ => Flow::Gone,
        }
    }

    /// Handles one text frame.
    async fn on_text(&mut self, text: &str) -> Flow {
        let msg = match ClientMessage::decode(text) {
            Ok(msg) => msg,
            Err(err) => {
                let message = match err.code() {
                    ErrorCode::BadJson => "not a JSON object",
                    ErrorCode::UnsupportedVersion => {
                        "unsupported protocol version, this server speaks v1"
                    }
                    ErrorCode::UnknownType => "unknown message type",
                    _ => "malformed message",
                };
                self.send_error(err.code(), message, None, None).await;
                return Flow::Continue;
            }
        };
        match msg {
            ClientMessage::Ping => self.send(Message::Text(Utf8Bytes::from_static(PONG))).await,
            ClientMessage::Join { room } => self.join(&room).await,
            ClientMessage::Leave { room } => {
                match self.memberships.iter().position(|m| *m.room == *room) {
                    Some(i) => {
                        let m = self.memberships.swap_remove(i);
                        self.state.rooms.leave(&m.room, &m.session);
                        tracing::debug!(room = %self.state.room_tag(&m.room), "left");
                    }
                    None => {
                        self.send_error(ErrorCode::NotInRoom, "not in this room", Some(&room), None)
                            .await
                    }
                }
                Flow::Continue
            }
            ClientMessage::Signal { room, to, blob } => {
                let Some(m) = self.memberships.iter().find(|m| *m.room == *room) else {
                    self.send_error(ErrorCode::NotInRoom, "not in this room", Some(&room), None)
                        .await;
                    return Flow::Continue;
                };
                let out = encode(&ServerMessage::Signal {
                    room: Cow::Borrowed(&m.room),
                    from: Cow::Borrowed(&m.session),
                    blob,
                });
                if !self.state.rooms.relay(&m.room, &to, out) {
                    self.send_error(
                        ErrorCode::UnknownPeer,
                        "no such session in this room",
                        Some(&room),
                        None,
                    )
                    .await;
                }
                Flow::Continue
            }
            ClientMessage::CodeOpen { ttl_ms } => self.code_open(ttl_ms).await,
            ClientMessage::CodeClaim { mailbox, blob } => {
                self.joined_once = true;
                if !code_blob_fits(&blob) {
                    return self.code_blob_too_long().await;
                }
                let result = self.state.codes.claim(&self.party, mailbox, &blob);
                self.code_outcome(result).await
            }
            ClientMessage::CodeSend { mailbox, blob } => {
                if !code_blob_fits(&blob) {
                    return self.code_blob_too_long().await;
                }
                let result = self.state.codes.send(&self.party, mailbox, &blob);
                self.code_outcome(result).await
            }
            ClientMessage::CodeClose { mailbox } => {
                let result = self.state.codes.close(&self.party, mailbox);
                self.code_outcome(result).await
            }
        }
    }

    /// Handles `code_open`: answers `code_opened` with the granted lifetime, or an error.
    async fn code_open(&mut self, ttl_ms: u64) -> Flow {
        self.joined_once = true;
        if ttl_ms == 0 {
            self.send_error(ErrorCode::BadMessage, "ttl_ms must be positive", None, None)
                .await;
            return Flow::Continue;
        }
        match self
            .state
            .codes
            .open(&self.party, Duration::from_millis(ttl_ms))
        {
            Ok(opened) => {
                let msg = encode(&ServerMessage::CodeOpened {
                    mailbox: opened.mailbox,
                    expires_in_ms: u64::try_from(opened.expires_in.as_millis()).unwrap_or(u64::MAX),
                });
                // Sent directly; nothing can be queued for the mailbox before its owner
                // has read its number.
                self.send(Message::Text(msg)).await
            }
            Err(err) => self.code_outcome(Err(err)).await,
        }
    }

    /// Sends the error frame for a refused code request, if it was refused.
    async fn code_outcome(&mut self, result: Result<(), CodeError>) -> Flow {
        if let Err(err) = result {
            let (code, message) = err.describe();
            self.send_error(code, message, None, None).await;
        }
        Flow::Continue
    }

    /// Refuses a join-code blob longer than [`MAX_CODE_BLOB_CHARS`].
    async fn code_blob_too_long(&mut self) -> Flow {
        tracing::debug!("code blob too long");
        self.send_error(ErrorCode::BadMessage, "code blob too long", None, None)
            .await;
        Flow::Continue
    }

    /// Handles `join`.
    async fn join(&mut self, room: &str) -> Flow {
        let limits = &self.state.config.limits;
        let refusal = if validate_room_id(room).is_err() {
            Some((
                ErrorCode::RoomIdInvalid,
                "room id must be 1 to 64 printable ASCII bytes",
            ))
        } else if self.memberships.iter().any(|m| *m.room == *room) {
            Some((ErrorCode::AlreadyJoined, "already in this room"))
        } else if self.memberships.len() >= limits.max_rooms_per_connection {
            Some((
                ErrorCode::TooManyRooms,
                "this connection is in too many rooms",
            ))
        } else {
            None
        };
        // An invalid id is not echoed back: it may be long or not printable.
        let echo = |code| (code != ErrorCode::RoomIdInvalid).then_some(room);
        if let Some((code, message)) = refusal {
            self.send_error(code, message, echo(code), None).await;
            return Flow::Continue;
        }
        let session = new_session_id();
        match self.state.rooms.join(room, &session, &self.handle) {
            Ok(joined) => {
                self.joined_once = true;
                tracing::debug!(room = %self.state.room_tag(room), peers = joined.peers.len(), "joined");
                let msg = encode(&ServerMessage::Joined {
                    room: Cow::Borrowed(room),
                    session: Cow::Borrowed(&session),
                    peers: joined.peers.iter().map(|p| Cow::Borrowed(&**p)).collect(),
                });
                self.memberships.push(Membership {
                    room: joined.room,
                    session,
                });
                // Sent directly, before anything already queued in the outbox can be sent,
                // so `joined` precedes every message of this membership.
                self.send(Message::Text(msg)).await
            }
            Err(JoinError::RoomFull) => {
                self.send_error(ErrorCode::RoomFull, "room is full", Some(room), None)
                    .await;
                Flow::Continue
            }
            Err(JoinError::ServerFull) => {
                self.send_error(
                    ErrorCode::ServerFull,
                    "server has too many rooms",
                    Some(room),
                    None,
                )
                .await;
                Flow::Continue
            }
        }
    }

    /// Leaves every room (the other members get `peer_left`), closes the join-code
    /// mailboxes this connection owns (their joiners get `code_closed gone`) and gives up
    /// the tries it holds as a joiner (their owners get `code_waiting` or `burned`).
    fn leave_all(&mut self) {
        for m in self.memberships.drain(..) {
            self.state.rooms.leave(&m.room, &m.session);
        }
        self.state.codes.disconnect(&self.party);
    }
}

/// Whether a join-code blob is within [`MAX_CODE_BLOB_CHARS`] characters.
fn code_blob_fits(blob: &str) -> bool {
    // Counting bytes first makes the usual (ASCII, short) case one comparison.
    blob.len() <= MAX_CODE_BLOB_CHARS || blob.chars().count() <= MAX_CODE_BLOB_CHARS
}

/// The `pong` frame, constant.
const PONG: &str = "{\"v\":1,\"type\":\"pong\"}";

/// A fresh session id: 16 bytes from the operating system's RNG, base64url without padding.
fn new_session_id() -> Arc<str> {
    use base64::Engine;
    let mut bytes = [0u8; 16];
    OsRng.fill_bytes(&mut bytes);
    Arc::from(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_own_or_configured_origins_may_open_the_socket() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::HOST,
            "chat.example.org"
                .parse()
                .unwrap_or(header::HeaderValue::from_static("")),
        );
        assert!(
            origin_allowed(&headers, &[]),
            "no Origin: not a browser page"
        );
        headers.insert(
            header::ORIGIN,
            header::HeaderValue::from_static("https://chat.example.org"),
        );
        assert!(origin_allowed(&headers, &[]));
        headers.insert(
            header::ORIGIN,
            header::HeaderValue::from_static("https://evil.example"),
        );
        assert!(!origin_allowed(&headers, &[]));
        assert!(origin_allowed(&headers, &["https://evil.example".into()]));
        assert!(origin_allowed(&headers, &["*".into()]));
    }

    #[test]
    fn pong_constant_matches_the_encoder() {
        assert_eq!(ServerMessage::Pong.encode(), PONG);
    }

    #[test]
    fn session_ids_are_fresh_and_url_safe() {
        let a = new_session_id();
        let b = new_session_id();
        assert_ne!(a, b);
        assert_eq!(a.len(), 22);
        assert!(a
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_'));
    }

    #[test]
    fn token_bucket_allows_the_burst_then_the_rate() {
        let t0 = Instant::now();
        let mut bucket = TokenBucket::new(10, 3, t0);
        assert!((0..3).all(|_| bucket.take(t0).is_ok()));
        assert!(bucket.take(t0).is_err());
        assert!(bucket.take(t0 + Duration::from_millis(110)).is_ok());
        assert!(bucket.take(t0 + Duration::from_millis(110)).is_err());
    }
}
