//! The JSON messages between a browser and the signaling server (`/ws`), protocol version 1.
//!
//! # What and why
//!
//! The signaling server only introduces peers: a browser joins a room by its `room_id` (a
//! one-way hash of the room secret, see [`crate::room`]), learns the random session ids of
//! the other members, and exchanges sealed blobs (SDP offers, answers, ICE candidates sealed
//! with [`crate::seal`]) with them until a WebRTC DataChannel is open. The server never
//! parses a blob, never writes anything to disk, and never relays across rooms.
//!
//! These are pure data types with their encoders and total decoders; there is no IO here.
//! The server (`natter-server`) and the browser client use the same types.
//!
//! # Framing
//!
//! Every message is one WebSocket **text** frame holding one JSON object with a `"v"`
//! (protocol version, currently [`PROTOCOL_VERSION`] = 1) and a `"type"`. Binary frames are
//! refused with [`ErrorCode::BinaryNotSupported`]. Unknown object fields are ignored so that
//! later minor additions stay compatible; a different `v` is refused with
//! [`ErrorCode::UnsupportedVersion`]. Decoding is total: any input yields a message or a
//! [`DecodeError`], never a panic.
//!
//! # Client → server ([`ClientMessage`])
//!
//! | type | example | meaning |
//! | --- | --- | --- |
//! | `join` | `{"v":1,"type":"join","room":"3f2a…"}` | enter a room; answered by `joined` |
//! | `leave` | `{"v":1,"type":"leave","room":"3f2a…"}` | leave a room; peers get `peer_left` |
//! | `signal` | `{"v":1,"type":"signal","room":"3f2a…","to":"q8Zr…","blob":"base64…"}` | relay `blob` to session `to` in `room` |
//! | `ping` | `{"v":1,"type":"ping"}` | application-level keep-alive; answered by `pong` |
//! | `code_open` | `{"v":1,"type":"code_open","ttl_ms":300000}` | open a join-code mailbox for at most `ttl_ms`; answered by `code_opened` |
//! | `code_claim` | `{"v":1,"type":"code_claim","mailbox":42,"blob":"base64…"}` | take mailbox 42 as its joiner (one try) and hand its owner `blob` |
//! | `code_send` | `{"v":1,"type":"code_send","mailbox":42,"blob":"base64…"}` | relay `blob` to the other side of mailbox 42 |
//! | `code_close` | `{"v":1,"type":"code_close","mailbox":42}` | owner: close the mailbox; joiner: give up this try |
//!
//! # Server → client ([`ServerMessage`])
//!
//! | type | example |
//! | --- | --- |
//! | `joined` | `{"v":1,"type":"joined","room":"3f2a…","session":"q8Zr…","peers":["Xy1…","Ab9…"]}` |
//! | `peer_joined` | `{"v":1,"type":"peer_joined","room":"3f2a…","session":"Xy1…"}` |
//! | `peer_left` | `{"v":1,"type":"peer_left","room":"3f2a…","session":"Xy1…"}` |
//! | `signal` | `{"v":1,"type":"signal","room":"3f2a…","from":"Xy1…","blob":"base64…"}` |
//! | `pong` | `{"v":1,"type":"pong"}` |
//! | `error` | `{"v":1,"type":"error","code":"unknown_peer","message":"no such session in this room","room":"3f2a…"}` |
//! | `reconnect` | `{"v":1,"type":"reconnect","after_ms":1400}` |
//! | `code_opened` | `{"v":1,"type":"code_opened","mailbox":42,"expires_in_ms":300000}` |
//! | `code_message` | `{"v":1,"type":"code_message","mailbox":42,"blob":"base64…"}` |
//! | `code_waiting` | `{"v":1,"type":"code_waiting","mailbox":42,"tries_left":2}` |
//! | `code_closed` | `{"v":1,"type":"code_closed","mailbox":42,"reason":"expired"}` |
//!
//! # Join-code mailboxes
//!
//! A join code ([`crate::joincode`]) names a mailbox on the server plus a secret the server
//! never sees. The server only relays opaque blobs between the mailbox's owner (who opened
//! it) and one joiner at a time; the two run a PAKE inside those blobs. The server keeps:
//!
//! - a mailbox lives in memory from `code_open` until the first of: its owner's
//!   `code_close` (reason `done` to the joiner), its expiry by the server's clock
//!   (`expired`), its last try used up (`burned`), or its owner's connection closing
//!   (`gone`). Each end is told with `code_closed`; nothing outlives it, nothing is written;
//! - `ttl_ms` is cut to the server's longest code lifetime; `code_opened.expires_in_ms`
//!   says what was granted;
//! - mailbox numbers are random among the free ones, two digits while few are open, more
//!   as more are: at least 10, so a code's digits split unambiguously;
//! - `code_claim` fails with `no_such_code` for a mailbox that is not open and with
//!   `code_busy` while another joiner holds it. Each claim uses one of the mailbox's tries
//!   ([`MAX_CODE_TRIES`]); when a joiner gives up (`code_close`) or disconnects, its owner
//!   gets `code_waiting` with the tries left, or `code_closed burned` when none are;
//! - `code_send` and `code_close` from a connection that is neither the owner nor the
//!   current joiner get `no_such_code`; blobs longer than [`MAX_CODE_BLOB_CHARS`] get
//!   `bad_message`;
//! - limits: open mailboxes per connection, per address and in total (`too_many_codes`),
//!   and claims per address per minute (`too_many_tries`).
//!
//! # Invariants the server keeps
//!
//! - A session id is fresh randomness from the operating system (16 bytes, base64url) for
//!   each (connection, room) membership, so one browser's sessions in two rooms are
//!   unlinkable by the other members.
//! - `signal` is relayed only when the sender is a member of `room` and `to` is a member of
//!   the same room; otherwise the sender gets `not_in_room` or `unknown_peer` and nothing is
//!   relayed.
//! - One connection may be in several rooms at once; `peers` in `joined` never includes the
//!   joiner itself.
//! - A room exists while it has members; nothing outlives the last member.
//! - On a graceful restart every client gets `reconnect` and then the close code
//!   [`CloseCode::ServiceRestart`] (1012); clients should wait `after_ms` (the server already
//!   spreads it with jitter) before reconnecting and joining again.
//!
//! Errors ([`ErrorCode`]) are either soft (the offending frame is dropped, the connection
//! stays) or hard (the error frame is followed by a close with the [`CloseCode`] named in
//! [`ErrorCode::close_code`]).

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

/// The protocol version carried in every message's `"v"` field.
pub const PROTOCOL_VERSION: u32 = 1;

/// The longest accepted room id, in bytes.
pub const MAX_ROOM_ID_BYTES: usize = 64;

/// How many joiners may try one join-code mailbox before the server burns it.
pub const MAX_CODE_TRIES: u32 = 3;

/// The longest blob a join-code message may carry, in characters of its base64 text.
pub const MAX_CODE_BLOB_CHARS: usize = 2048;

/// The path of the signaling WebSocket endpoint on the server.
pub const WS_PATH: &str = "/ws";

/// Why a room id was refused by [`validate_room_id`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RoomIdError {
    /// The room id is the empty string.
    #[error("room id is empty")]
    Empty,
    /// The room id is longer than [`MAX_ROOM_ID_BYTES`].
    #[error("room id is {len} bytes long, at most {MAX_ROOM_ID_BYTES} are allowed")]
    TooLong {
        /// The length that was given.
        len: usize,
    },
    /// The room id contains a byte that is not printable ASCII (space and controls included).
    #[error("room id contains a byte that is not printable ASCII at offset {offset}")]
    NotPrintable {
        /// Offset of the first offending byte.
        offset: usize,
    },
}

/// Checks that `room` is an acceptable opaque room id: 1 to [`MAX_ROOM_ID_BYTES`] bytes of
/// printable ASCII without spaces (`!` to `~`), which covers hex and base64url digests.
pub fn validate_room_id(room: &str) -> Result<(), RoomIdError> {
    if room.is_empty() {
        return Err(RoomIdError::Empty);
    }
    if room.len() > MAX_ROOM_ID_BYTES {
        return Err(RoomIdError::TooLong { len: room.len() });
    }
    match room.bytes().position(|b| !b.is_ascii_graphic()) {
        Some(offset) => Err(RoomIdError::NotPrintable { offset }),
        None => Ok(()),
    }
}

/// A message from a client to the signaling server.
///
/// Strings borrow from the decoded text where possible ([`ClientMessage::decode`]), so the
/// server relays a blob without copying it more than once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientMessage<'a> {
    /// Enter `room`. The server answers with [`ServerMessage::Joined`] or an error.
    Join {
        /// The opaque room id (see [`validate_room_id`]).
        room: Cow<'a, str>,
    },
    /// Leave `room`. Nothing is answered on success; the other members get `peer_left`.
    Leave {
        /// The room to leave.
        room: Cow<'a, str>,
    },
    /// Relay `blob` to the member with session id `to` in `room`.
    Signal {
        /// A room the sender is a member of.
        room: Cow<'a, str>,
        /// The recipient's session id in that room.
        to: Cow<'a, str>,
        /// An opaque payload (base64 of a sealed box); never parsed by the server.
        blob: Cow<'a, str>,
    },
    /// Application-level keep-alive; answered by [`ServerMessage::Pong`].
    Ping,
    /// Open a join-code mailbox; answered by [`ServerMessage::CodeOpened`].
    CodeOpen {
        /// How long the code should be valid, in milliseconds (the server may cut it).
        ttl_ms: u64,
    },
    /// Become the joiner of `mailbox` (one try) and hand its owner `blob`.
    CodeClaim {
        /// The mailbox number from the code.
        mailbox: u32,
        /// An opaque payload (base64), relayed as [`ServerMessage::CodeMessage`].
        blob: Cow<'a, str>,
    },
    /// Relay `blob` to the other side of `mailbox`.
    CodeSend {
        /// A mailbox this connection owns or is the joiner of.
        mailbox: u32,
        /// An opaque payload (base64).
        blob: Cow<'a, str>,
    },
    /// The owner closes `mailbox`; a joiner gives up its try.
    CodeClose {
        /// The mailbox.
        mailbox: u32,
    },
}

/// The wire shape of every client message: one flat object, so that decoding is a single
/// pass and every failure can be classified precisely.
#[derive(Deserialize)]
struct RawClient<'a> {
    v: Option<u64>,
    #[serde(rename = "type", borrow)]
    kind: Option<Text<'a>>,
    #[serde(borrow)]
    room: Option<Text<'a>>,
    #[serde(borrow)]
    to: Option<Text<'a>>,
    #[serde(borrow)]
    blob: Option<Text<'a>>,
    ttl_ms: Option<u64>,
    mailbox: Option<u32>,
}

/// A JSON string that borrows from the input when it holds no escapes. (`Cow<str>` inside
/// an `Option` is always copied by serde, which would copy every relayed blob.)
struct Text<'a>(Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Text(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Text(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
                Ok(Text(Cow::Owned(v)))
            }
        }
        d.deserialize_str(V)
    }
}

/// The wire shape written for a client message.
#[derive(Serialize)]
struct RawClientOut<'m> {
    v: u32,
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    room: Option<&'m str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    to: Option<&'m str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ttl_ms: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    mailbox: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    blob: Option<&'m str>,
}

/// Why a frame could not be decoded into a message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The text is not a JSON object.
    #[error("not a JSON object: {0}")]
    BadJson(String),
    /// The object is JSON but a field has the wrong type or a required field is missing.
    #[error("malformed message: {0}")]
    BadMessage(String),
    /// `"v"` is missing or names a version this side does not speak.
    #[error("unsupported protocol version {0:?}, this side speaks {PROTOCOL_VERSION}")]
    UnsupportedVersion(Option<u64>),
    /// `"type"` is missing or names no known message.
    #[error("unknown message type")]
    UnknownType,
}

impl DecodeError {
    /// The error code the server reports for this decoding failure.
    pub fn code(&self) -> ErrorCode {
        match self {
            DecodeError::BadJson(_) => ErrorCode::BadJson,
            DecodeError::BadMessage(_) => ErrorCode::BadMessage,
            DecodeError::UnsupportedVersion(_) => ErrorCode::UnsupportedVersion,
            DecodeError::UnknownType => ErrorCode::UnknownType,
        }
    }

    fn from_json(err: serde_json::Error) -> Self {
        match err.classify() {
            serde_json::error::Category::Data => DecodeError::BadMessage(err.to_string()),
            _ => DecodeError::BadJson(err.to_string()),
        }
    }
}

/// Takes a required field out of a decoded object.
fn present<T>(field: Option<T>, name: &str) -> Result<T, DecodeError> {
    field.ok_or_else(|| DecodeError::BadMessage(format!("missing field `{name}`")))
}

/// Takes a required string field out of a decoded object.
fn required<'a>(field: Option<Text<'a>>, name: &str) -> Result<Cow<'a, str>, DecodeError> {
    present(field, name).map(|t| t.0)
}

/// Refuses anything that is not a JSON object before handing it to serde, which would
/// otherwise also accept a JSON array in place of a struct.
fn expect_object(text: &str) -> Result<(), DecodeError> {
    if text.trim_start().starts_with('{') {
        Ok(())
    } else {
        Err(DecodeError::BadJson("expected a JSON object".into()))
    }
}

impl<'a> ClientMessage<'a> {
    /// The value of `"type"` for this message.
    pub fn kind(&self) -> &'static str {
        match self {
            ClientMessage::Join { .. } => "join",
            ClientMessage::Leave { .. } => "leave",
            ClientMessage::Signal { .. } => "signal",
            ClientMessage::Ping => "ping",
            ClientMessage::CodeOpen { .. } => "code_open",
            ClientMessage::CodeClaim { .. } => "code_claim",
            ClientMessage::CodeSend { .. } => "code_send",
            ClientMessage::CodeClose { .. } => "code_close",
        }
    }

    /// Decodes one text frame. Never panics; every failure is a [`DecodeError`].
    pub fn decode(text: &'a str) -> Result<Self, DecodeError> {
        expect_object(text)?;
        let raw: RawClient<'a> = serde_json::from_str(text).map_err(DecodeError::from_json)?;
        if raw.v != Some(u64::from(PROTOCOL_VERSION)) {
            return Err(DecodeError::UnsupportedVersion(raw.v));
        }
        let kind = raw.kind.ok_or(DecodeError::UnknownType)?;
        match kind.0.as_ref() {
            "join" => Ok(ClientMessage::Join {
                room: required(raw.room, "room")?,
            }),
            "leave" => Ok(ClientMessage::Leave {
                room: required(raw.room, "room")?,
            }),
            "signal" => Ok(ClientMessage::Signal {
                room: required(raw.room, "room")?,
                to: required(raw.to, "to")?,
                blob: required(raw.blob, "blob")?,
            }),
            "ping" => Ok(ClientMessage::Ping),
            "code_open" => Ok(ClientMessage::CodeOpen {
                ttl_ms: present(raw.ttl_ms, "ttl_ms")?,
            }),
            "code_claim" => Ok(ClientMessage::CodeClaim {
                mailbox: present(raw.mailbox, "mailbox")?,
                blob: required(raw.blob, "blob")?,
            }),
            "code_send" => Ok(ClientMessage::CodeSend {
                mailbox: present(raw.mailbox, "mailbox")?,
                blob: required(raw.blob, "blob")?,
            }),
            "code_close" => Ok(ClientMessage::CodeClose {
                mailbox: present(raw.mailbox, "mailbox")?,
            }),
            _ => Err(DecodeError::UnknownType),
        }
    }

    /// Encodes this message as the JSON text of one frame.
    pub fn encode(&self) -> String {
        let (mut ttl_ms, mut mailbox) = (None, None);
        let (room, to, blob) = match self {
            ClientMessage::Join { room } | ClientMessage::Leave { room } => {
                (Some(room), None, None)
            }
            ClientMessage::Signal { room, to, blob } => (Some(room), Some(to), Some(blob)),
            ClientMessage::Ping => (None, None, None),
            ClientMessage::CodeOpen { ttl_ms: t } => {
                ttl_ms = Some(*t);
                (None, None, None)
            }
            ClientMessage::CodeClaim { mailbox: m, blob }
            | ClientMessage::CodeSend { mailbox: m, blob } => {
                mailbox = Some(*m);
                (None, None, Some(blob))
            }
            ClientMessage::CodeClose { mailbox: m } => {
                mailbox = Some(*m);
                (None, None, None)
            }
        };
        let raw = RawClientOut {
            v: PROTOCOL_VERSION,
            kind: self.kind(),
            room: room.map(|s| s.as_ref()),
            to: to.map(|s| s.as_ref()),
            blob: blob.map(|s| s.as_ref()),
            ttl_ms,
            mailbox,
        };
        // Serializing a struct of strings and integers into a String cannot fail.
        serde_json::to_string(&raw).unwrap_or_default()
    }

    /// Detaches the message from the text it was decoded from.
    pub fn into_owned(self) -> ClientMessage<'static> {
        fn own(s: Cow<'_, str>) -> Cow<'static, str> {
            Cow::Owned(s.into_owned())
        }
        match self {
            ClientMessage::Join { room } => ClientMessage::Join { room: own(room) },
            ClientMessage::Leave { room } => ClientMessage::Leave { room: own(room) },
            ClientMessage::Signal { room, to, blob } => ClientMessage::Signal {
                room: own(room),
                to: own(to),
                blob: own(blob),
            },
            ClientMessage::Ping => ClientMessage::Ping,
            ClientMessage::CodeOpen { ttl_ms } => ClientMessage::CodeOpen { ttl_ms },
            ClientMessage::CodeClaim { mailbox, blob } => ClientMessage::CodeClaim {
                mailbox,
                blob: own(blob),
            },
            ClientMessage::CodeSend { mailbox, blob } => ClientMessage::CodeSend {
                mailbox,
                blob: own(blob),
            },
            ClientMessage::CodeClose { mailbox } => ClientMessage::CodeClose { mailbox },
        }
    }
}

/// A machine-readable error code, sent in [`ServerMessage::Error`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The frame is not a JSON object.
    BadJson,
    /// The object lacks a required field or a field has the wrong type.
    BadMessage,
    /// `"type"` is missing or unknown.
    UnknownType,
    /// `"v"` is missing or not [`PROTOCOL_VERSION`].
    UnsupportedVersion,
    /// The room id is empty, longer than [`MAX_ROOM_ID_BYTES`] or not printable ASCII.
    RoomIdInvalid,
    /// `join` for a room this connection is already in.
    AlreadyJoined,
    /// `leave` or `signal` for a room this connection is not in.
    NotInRoom,
    /// `signal` to a session that is not a member of the room.
    UnknownPeer,
    /// The room already has the maximum number of members.
    RoomFull,
    /// This connection is already in the maximum number of rooms.
    TooManyRooms,
    /// The server already holds the maximum number of rooms.
    ServerFull,
    /// The frame exceeds the maximum frame size (hard: close 1009).
    FrameTooLarge,
    /// The connection sends frames faster than allowed; the frame was dropped. Persisting
    /// closes the connection with [`CloseCode::RateLimited`].
    RateLimited,
    /// Binary frames are not part of the protocol; the frame was dropped.
    BinaryNotSupported,
    /// Too many connections from this address, or in total (hard).
    TooManyConnections,
    /// No `join` arrived within the handshake timeout (hard).
    HandshakeTimeout,
    /// Nothing arrived within the idle timeout (hard).
    IdleTimeout,
    /// The connection did not read its messages fast enough (hard).
    SlowConsumer,
    /// `code_claim`, `code_send` or `code_close` for a join-code mailbox that is not open,
    /// or that this connection is not a party to.
    NoSuchCode,
    /// Another joiner is trying this join code right now.
    CodeBusy,
    /// Too many open join codes for this connection, this address or the server.
    TooManyCodes,
    /// Too many join-code tries from this address lately.
    TooManyTries,
    /// A code this version does not know (sent by a newer server).
    #[serde(other)]
    Unknown,
}

impl ErrorCode {
    /// The close code that follows this error, or `None` when the error is soft and the
    /// connection stays open.
    pub fn close_code(self) -> Option<CloseCode> {
        match self {
            ErrorCode::FrameTooLarge => Some(CloseCode::FrameTooLarge),
            ErrorCode::TooManyConnections => Some(CloseCode::TooManyConnections),
            ErrorCode::HandshakeTimeout => Some(CloseCode::HandshakeTimeout),
            ErrorCode::IdleTimeout => Some(CloseCode::IdleTimeout),
            ErrorCode::SlowConsumer => Some(CloseCode::SlowConsumer),
            _ => None,
        }
    }
}

/// WebSocket close codes used by the server (RFC 6455 §7.4; 4000–4999 are private use).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u16)]
pub enum CloseCode {
    /// 1000: normal closure (the client closed, or the server echoes a close).
    Normal = 1000,
    /// 1002: the client broke the WebSocket protocol (RFC 6455 framing).
    ProtocolError = 1002,
    /// 1007: a text frame was not valid UTF-8.
    InvalidUtf8 = 1007,
    /// 1008: policy violation not covered by a more specific code.
    Policy = 1008,
    /// 1009: a frame exceeded the maximum frame size.
    FrameTooLarge = 1009,
    /// 1012: the server is restarting; reconnect after `reconnect.after_ms`.
    ServiceRestart = 1012,
    /// 4000: no `join` within the handshake timeout.
    HandshakeTimeout = 4000,
    /// 4001: nothing received (not even a pong) within the idle timeout.
    IdleTimeout = 4001,
    /// 4002: kept flooding after `rate_limited` beyond the tolerated number of frames.
    RateLimited = 4002,
    /// 4003: too many connections from this address, or in total.
    TooManyConnections = 4003,
    /// 4004: the client did not read its messages and its outbox overflowed.
    SlowConsumer = 4004,
}

impl CloseCode {
    /// The numeric code on the wire.
    pub fn as_u16(self) -> u16 {
        self as u16
    }

    /// The code for a number, if the server uses it.
    pub fn from_u16(code: u16) -> Option<Self> {
        Some(match code {
            1000 => CloseCode::Normal,
            1002 => CloseCode::ProtocolError,
            1007 => CloseCode::InvalidUtf8,
            1008 => CloseCode::Policy,
            1009 => CloseCode::FrameTooLarge,
            1012 => CloseCode::ServiceRestart,
            4000 => CloseCode::HandshakeTimeout,
            4001 => CloseCode::IdleTimeout,
            4002 => CloseCode::RateLimited,
            4003 => CloseCode::TooManyConnections,
            4004 => CloseCode::SlowConsumer,
            _ => return None,
        })
    }

    /// A short reason sent in the close frame.
    pub fn reason(self) -> &'static str {
        match self {
            CloseCode::Normal => "bye",
            CloseCode::ProtocolError => "protocol error",
            CloseCode::InvalidUtf8 => "invalid utf-8",
            CloseCode::Policy => "policy violation",
            CloseCode::FrameTooLarge => "frame too large",
            CloseCode::ServiceRestart => "server restarting",
            CloseCode::HandshakeTimeout => "no join in time",
            CloseCode::IdleTimeout => "idle",
            CloseCode::RateLimited => "rate limited",
            CloseCode::TooManyConnections => "too many connections",
            CloseCode::SlowConsumer => "too slow",
        }
    }
}

/// A message from the signaling server to a client.
///
/// Encoded by serde (the server's side); decoded in one flat pass ([`ServerMessage::decode`],
/// as [`ClientMessage::decode`] does), which in the browser costs a fraction of the code
/// serde's internally tagged enums need.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMessage<'a> {
    /// The join succeeded.
    Joined {
        /// The room joined.
        #[serde(borrow)]
        room: Cow<'a, str>,
        /// This connection's fresh session id in the room.
        #[serde(borrow)]
        session: Cow<'a, str>,
        /// The session ids of the other members present now.
        #[serde(borrow)]
        peers: Vec<Cow<'a, str>>,
    },
    /// Another member entered the room.
    PeerJoined {
        /// The room.
        #[serde(borrow)]
        room: Cow<'a, str>,
        /// The new member's session id.
        #[serde(borrow)]
        session: Cow<'a, str>,
    },
    /// A member left the room (or its connection closed).
    PeerLeft {
        /// The room.
        #[serde(borrow)]
        room: Cow<'a, str>,
        /// The departed member's session id.
        #[serde(borrow)]
        session: Cow<'a, str>,
    },
    /// A relayed blob.
    Signal {
        /// The room it was sent in.
        #[serde(borrow)]
        room: Cow<'a, str>,
        /// The sender's session id in that room.
        #[serde(borrow)]
        from: Cow<'a, str>,
        /// The opaque payload, exactly as sent.
        #[serde(borrow)]
        blob: Cow<'a, str>,
    },
    /// The answer to [`ClientMessage::Ping`].
    Pong,
    /// A request failed or a limit was hit.
    Error {
        /// What went wrong, for programs.
        code: ErrorCode,
        /// What went wrong, for people.
        #[serde(borrow)]
        message: Cow<'a, str>,
        /// The room the failed request named, when there was one.
        #[serde(default, borrow, skip_serializing_if = "Option::is_none")]
        room: Option<Cow<'a, str>>,
        /// For [`ErrorCode::RateLimited`]: when the next frame will be accepted.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        retry_after_ms: Option<u64>,
    },
    /// The server is going away; reconnect after `after_ms` milliseconds.
    Reconnect {
        /// The delay before reconnecting, already spread with jitter by the server.
        after_ms: u64,
    },
    /// A join-code mailbox was opened for this connection.
    CodeOpened {
        /// Its number.
        mailbox: u32,
        /// How long it stays open, by the server's clock.
        expires_in_ms: u64,
    },
    /// A blob from the other side of a join-code mailbox.
    CodeMessage {
        /// The mailbox.
        mailbox: u32,
        /// The opaque payload, exactly as sent.
        #[serde(borrow)]
        blob: Cow<'a, str>,
    },
    /// To a mailbox's owner: its joiner gave up or left, and another may try.
    CodeWaiting {
        /// The mailbox.
        mailbox: u32,
        /// Tries left before the mailbox is burned.
        tries_left: u32,
    },
    /// A join-code mailbox is closed (to its owner and its joiner, if any).
    CodeClosed {
        /// The mailbox.
        mailbox: u32,
        /// Why.
        reason: CodeEnd,
    },
}

/// Why a join-code mailbox closed ([`ServerMessage::CodeClosed`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CodeEnd {
    /// Its owner closed it.
    Done,
    /// Its time ran out.
    Expired,
    /// Its last try was used up.
    Burned,
    /// Its owner's connection closed.
    Gone,
    /// A reason this version does not know (sent by a newer server).
    #[serde(other)]
    Unknown,
}

/// Adds `"v"` in front of a server message when encoding.
#[derive(Serialize)]
struct Versioned<'m, T> {
    v: u32,
    #[serde(flatten)]
    msg: &'m T,
}

/// The wire shape of every server message: the fields of all of them in one flat object.
#[derive(Deserialize)]
struct RawServer<'a> {
    v: Option<u64>,
    #[serde(rename = "type", borrow)]
    kind: Option<Text<'a>>,
    #[serde(borrow)]
    room: Option<Text<'a>>,
    #[serde(borrow)]
    session: Option<Text<'a>>,
    #[serde(borrow)]
    peers: Option<Vec<Text<'a>>>,
    #[serde(borrow)]
    from: Option<Text<'a>>,
    #[serde(borrow)]
    blob: Option<Text<'a>>,
    code: Option<ErrorCode>,
    #[serde(borrow)]
    message: Option<Text<'a>>,
    retry_after_ms: Option<u64>,
    after_ms: Option<u64>,
    mailbox: Option<u32>,
    expires_in_ms: Option<u64>,
    tries_left: Option<u32>,
    reason: Option<CodeEnd>,
}

impl<'a> ServerMessage<'a> {
    /// Encodes this message as the JSON text of one frame.
    pub fn encode(&self) -> String {
        let mut out = Vec::with_capacity(self.size_hint());
        self.encode_into(&mut out);
        // serde_json writes valid UTF-8 only.
        String::from_utf8(out).unwrap_or_default()
    }

    /// Appends the JSON text of this message to `out`.
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        // Writing strings, integers and enums into a Vec cannot fail.
        let _ = serde_json::to_writer(
            out,
            &Versioned {
                v: PROTOCOL_VERSION,
                msg: self,
            },
        );
    }

    /// A cheap upper estimate of the encoded size, to allocate once.
    fn size_hint(&self) -> usize {
        64 + match self {
            ServerMessage::Signal { room, from, blob } => room.len() + from.len() + blob.len(),
            ServerMessage::Joined {
                room,
                session,
                peers,
            } => room.len() + session.len() + peers.iter().map(|p| p.len() + 3).sum::<usize>(),
            ServerMessage::PeerJoined { room, session }
            | ServerMessage::PeerLeft { room, session } => room.len() + session.len(),
            ServerMessage::Error { message, room, .. } => {
                message.len() + room.as_ref().map_or(0, |r| r.len()) + 40
            }
            ServerMessage::CodeMessage { blob, .. } => blob.len(),
            ServerMessage::Pong
            | ServerMessage::Reconnect { .. }
            | ServerMessage::CodeOpened { .. }
            | ServerMessage::CodeWaiting { .. }
            | ServerMessage::CodeClosed { .. } => 0,
        }
    }

    /// Decodes one text frame from the server. Never panics; every failure is a
    /// [`DecodeError`]. Fields a message does not use are ignored, as unknown ones are.
    pub fn decode(text: &'a str) -> Result<Self, DecodeError> {
        expect_object(text)?;
        let raw: RawServer<'a> = serde_json::from_str(text).map_err(DecodeError::from_json)?;
        if raw.v != Some(u64::from(PROTOCOL_VERSION)) {
            return Err(DecodeError::UnsupportedVersion(raw.v));
        }
        let kind = raw.kind.ok_or(DecodeError::UnknownType)?;
        Ok(match kind.0.as_ref() {
            "joined" => ServerMessage::Joined {
                room: required(raw.room, "room")?,
                session: required(raw.session, "session")?,
                peers: present(raw.peers, "peers")?
                    .into_iter()
                    .map(|t| t.0)
                    .collect(),
            },
            "peer_joined" => ServerMessage::PeerJoined {
                room: required(raw.room, "room")?,
                session: required(raw.session, "session")?,
            },
            "peer_left" => ServerMessage::PeerLeft {
                room: required(raw.room, "room")?,
                session: required(raw.session, "session")?,
            },
            "signal" => ServerMessage::Signal {
                room: required(raw.room, "room")?,
                from: required(raw.from, "from")?,
                blob: required(raw.blob, "blob")?,
            },
            "pong" => ServerMessage::Pong,
            "error" => ServerMessage::Error {
                code: present(raw.code, "code")?,
                message: required(raw.message, "message")?,
                room: raw.room.map(|t| t.0),
                retry_after_ms: raw.retry_after_ms,
            },
            "reconnect" => ServerMessage::Reconnect {
                after_ms: present(raw.after_ms, "after_ms")?,
            },
            "code_opened" => ServerMessage::CodeOpened {
                mailbox: present(raw.mailbox, "mailbox")?,
                expires_in_ms: present(raw.expires_in_ms, "expires_in_ms")?,
            },
            "code_message" => ServerMessage::CodeMessage {
                mailbox: present(raw.mailbox, "mailbox")?,
                blob: required(raw.blob, "blob")?,
            },
            "code_waiting" => ServerMessage::CodeWaiting {
                mailbox: present(raw.mailbox, "mailbox")?,
                tries_left: present(raw.tries_left, "tries_left")?,
            },
            "code_closed" => ServerMessage::CodeClosed {
                mailbox: present(raw.mailbox, "mailbox")?,
                reason: present(raw.reason, "reason")?,
            },
            _ => return Err(DecodeError::UnknownType),
        })
    }
}

/// One ICE server as the browser's `RTCIceServer` dictionary expects it (W3C WebRTC §4.2.1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IceServer {
    /// One or more `stun:`/`turn:`/`turns:` URLs.
    pub urls: IceUrls,
    /// TURN user name, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// TURN credential, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential: Option<String>,
}

/// `urls` of an [`IceServer`]: a single URL or a list, as in `RTCIceServer`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum IceUrls {
    /// One URL.
    One(String),
    /// Several URLs.
    Many(Vec<String>),
}

/// The body of the server's `GET /config`: `{"iceServers":[...]}`. Empty unless the
/// operator configured ICE servers; no public host is ever assumed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientConfig {
    /// The ICE servers to give `RTCPeerConnection`.
    #[serde(rename = "iceServers", default)]
    pub ice_servers: Vec<IceServer>,
    /// Origins of pages allowed to embed the app in a frame and to command it through
    /// `postMessage` (the same list the server sends as CSP `frame-ancestors`).
    #[serde(rename = "embedOrigins", default)]
    pub embed_origins: Vec<String>,
    /// A keeper the operator runs beside the server, offered to members who want a room
    /// kept (`"keeper":{"key":"…","name":"…"}`); absent when there is none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keeper: Option<KeeperInfo>,
}

/// A keeper offered by the server: its key (as [`crate::identity::PublicKey::to_text`]
/// writes it) and the name it goes by. Members still check the key: the server could name
/// its own.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeeperInfo {
    /// The keeper's Ed25519 key, base64url.
    pub key: String,
    /// Its display name.
    pub name: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn join_round_trips_and_matches_fixed_text() {
        let msg = ClientMessage::Join {
            room: "ab12".into(),
        };
        let text = msg.encode();
        assert_eq!(text, r#"{"v":1,"type":"join","room":"ab12"}"#);
        assert_eq!(ClientMessage::decode(&text), Ok(msg));
    }

    #[test]
    fn signal_round_trips_and_borrows_its_blob() {
        let msg = ClientMessage::Signal {
            room: "r".into(),
            to: "s".into(),
            blob: "QUJD".into(),
        };
        let text = msg.encode();
        assert_eq!(
            text,
            r#"{"v":1,"type":"signal","room":"r","to":"s","blob":"QUJD"}"#
        );
        let decoded = ClientMessage::decode(&text);
        assert_eq!(decoded, Ok(msg));
        assert!(matches!(
            decoded,
            Ok(ClientMessage::Signal {
                blob: Cow::Borrowed(_),
                ..
            })
        ));
    }

    #[test]
    fn join_code_messages_round_trip_with_fixed_text() {
        let cases = [
            (
                ClientMessage::CodeOpen { ttl_ms: 300_000 },
                r#"{"v":1,"type":"code_open","ttl_ms":300000}"#,
            ),
            (
                ClientMessage::CodeClaim {
                    mailbox: 42,
                    blob: "QUJD".into(),
                },
                r#"{"v":1,"type":"code_claim","mailbox":42,"blob":"QUJD"}"#,
            ),
            (
                ClientMessage::CodeSend {
                    mailbox: 42,
                    blob: "QQ".into(),
                },
                r#"{"v":1,"type":"code_send","mailbox":42,"blob":"QQ"}"#,
            ),
            (
                ClientMessage::CodeClose { mailbox: 7001 },
                r#"{"v":1,"type":"code_close","mailbox":7001}"#,
            ),
        ];
        for (msg, text) in cases {
            assert_eq!(msg.encode(), text);
            assert_eq!(ClientMessage::decode(text), Ok(msg.clone()));
            assert_eq!(msg.clone().into_owned(), msg);
        }
        let servers = [
            (
                ServerMessage::CodeOpened {
                    mailbox: 42,
                    expires_in_ms: 60_000,
                },
                r#"{"v":1,"type":"code_opened","mailbox":42,"expires_in_ms":60000}"#,
            ),
            (
                ServerMessage::CodeMessage {
                    mailbox: 42,
                    blob: "QUJD".into(),
                },
                r#"{"v":1,"type":"code_message","mailbox":42,"blob":"QUJD"}"#,
            ),
            (
                ServerMessage::CodeWaiting {
                    mailbox: 42,
                    tries_left: 2,
                },
                r#"{"v":1,"type":"code_waiting","mailbox":42,"tries_left":2}"#,
            ),
            (
                ServerMessage::CodeClosed {
                    mailbox: 42,
                    reason: CodeEnd::Burned,
                },
                r#"{"v":1,"type":"code_closed","mailbox":42,"reason":"burned"}"#,
            ),
            (
                ServerMessage::Error {
                    code: ErrorCode::NoSuchCode,
                    message: "no such code".into(),
                    room: None,
                    retry_after_ms: None,
                },
                r#"{"v":1,"type":"error","code":"no_such_code","message":"no such code"}"#,
            ),
        ];
        for (msg, text) in servers {
            assert_eq!(msg.encode(), text);
            assert_eq!(ServerMessage::decode(text), Ok(msg));
        }
    }

    #[test]
    fn join_code_messages_missing_or_out_of_range_fields_are_malformed() {
        for text in [
            r#"{"v":1,"type":"code_open"}"#,
            r#"{"v":1,"type":"code_open","ttl_ms":-5}"#,
            r#"{"v":1,"type":"code_claim","mailbox":42}"#,
            r#"{"v":1,"type":"code_claim","blob":"QQ"}"#,
            r#"{"v":1,"type":"code_send","mailbox":4294967296,"blob":"QQ"}"#,
            r#"{"v":1,"type":"code_close","mailbox":"42"}"#,
        ] {
            assert!(
                matches!(ClientMessage::decode(text), Err(DecodeError::BadMessage(_))),
                "input {text}"
            );
        }
        for text in [
            r#"{"v":1,"type":"code_opened","mailbox":42}"#,
            r#"{"v":1,"type":"code_message","mailbox":42}"#,
            r#"{"v":1,"type":"code_waiting","mailbox":42}"#,
            r#"{"v":1,"type":"code_closed","mailbox":42}"#,
        ] {
            assert!(
                matches!(ServerMessage::decode(text), Err(DecodeError::BadMessage(_))),
                "input {text}"
            );
        }
        // A reason from a newer server still closes the mailbox.
        assert_eq!(
            ServerMessage::decode(r#"{"v":1,"type":"code_closed","mailbox":4,"reason":"moon"}"#),
            Ok(ServerMessage::CodeClosed {
                mailbox: 4,
                reason: CodeEnd::Unknown
            })
        );
    }

    #[test]
    fn ping_and_leave_round_trip() {
        for msg in [
            ClientMessage::Ping,
            ClientMessage::Leave { room: "x".into() },
        ] {
            assert_eq!(ClientMessage::decode(&msg.encode()), Ok(msg.clone()));
        }
        assert_eq!(ClientMessage::Ping.encode(), r#"{"v":1,"type":"ping"}"#);
    }

    #[test]
    fn decoding_classifies_every_failure() {
        let cases: [(&str, ErrorCode); 9] = [
            ("not json", ErrorCode::BadJson),
            ("[1,\"join\",\"r\"]", ErrorCode::BadJson),
            ("{\"v\":1,\"type\":\"join\"", ErrorCode::BadJson),
            ("{\"type\":\"ping\"}", ErrorCode::UnsupportedVersion),
            ("{\"v\":2,\"type\":\"ping\"}", ErrorCode::UnsupportedVersion),
            ("{\"v\":1,\"type\":\"dance\"}", ErrorCode::UnknownType),
            ("{\"v\":1}", ErrorCode::UnknownType),
            ("{\"v\":1,\"type\":\"join\"}", ErrorCode::BadMessage),
            (
                "{\"v\":1,\"type\":\"join\",\"room\":5}",
                ErrorCode::BadMessage,
            ),
        ];
        for (text, code) in cases {
            let err = ClientMessage::decode(text).err();
            assert_eq!(err.map(|e| e.code()), Some(code), "input {text}");
        }
    }

    #[test]
    fn unknown_fields_are_ignored_for_compatibility() {
        let text = r#"{"v":1,"type":"ping","extra":{"a":[1,2]}}"#;
        assert_eq!(ClientMessage::decode(text), Ok(ClientMessage::Ping));
    }

    #[test]
    fn escaped_strings_decode_to_owned_text() {
        let text = r#"{"v":1,"type":"join","room":"a\u0062c"}"#;
        assert_eq!(
            ClientMessage::decode(text),
            Ok(ClientMessage::Join { room: "abc".into() })
        );
    }

    #[test]
    fn server_messages_round_trip_with_fixed_text() {
        let cases = [
            (
                ServerMessage::Joined {
                    room: "r".into(),
                    session: "me".into(),
                    peers: vec!["a".into(), "b".into()],
                },
                r#"{"v":1,"type":"joined","room":"r","session":"me","peers":["a","b"]}"#,
            ),
            (
                ServerMessage::PeerJoined {
                    room: "r".into(),
                    session: "a".into(),
                },
                r#"{"v":1,"type":"peer_joined","room":"r","session":"a"}"#,
            ),
            (
                ServerMessage::PeerLeft {
                    room: "r".into(),
                    session: "a".into(),
                },
                r#"{"v":1,"type":"peer_left","room":"r","session":"a"}"#,
            ),
            (
                ServerMessage::Signal {
                    room: "r".into(),
                    from: "a".into(),
                    blob: "QQ".into(),
                },
                r#"{"v":1,"type":"signal","room":"r","from":"a","blob":"QQ"}"#,
            ),
            (ServerMessage::Pong, r#"{"v":1,"type":"pong"}"#),
            (
                ServerMessage::Error {
                    code: ErrorCode::RateLimited,
                    message: "slow down".into(),
                    room: None,
                    retry_after_ms: Some(50),
                },
                r#"{"v":1,"type":"error","code":"rate_limited","message":"slow down","retry_after_ms":50}"#,
            ),
            (
                ServerMessage::Reconnect { after_ms: 1500 },
                r#"{"v":1,"type":"reconnect","after_ms":1500}"#,
            ),
        ];
        for (msg, text) in cases {
            assert_eq!(msg.encode(), text);
            assert_eq!(ServerMessage::decode(text), Ok(msg));
        }
    }

    #[test]
    fn server_decoding_refuses_other_versions_and_unknown_types() {
        assert_eq!(
            ServerMessage::decode(r#"{"v":9,"type":"pong"}"#),
            Err(DecodeError::UnsupportedVersion(Some(9)))
        );
        assert_eq!(
            ServerMessage::decode(r#"{"v":1,"type":"hug"}"#),
            Err(DecodeError::UnknownType)
        );
    }

    #[test]
    fn server_messages_missing_a_field_or_with_a_wrong_type_are_malformed() {
        for text in [
            r#"{"v":1,"type":"joined","room":"r","session":"me"}"#,
            r#"{"v":1,"type":"joined","room":"r","session":"me","peers":"a"}"#,
            r#"{"v":1,"type":"peer_left","room":"r"}"#,
            r#"{"v":1,"type":"signal","room":"r","from":"a"}"#,
            r#"{"v":1,"type":"signal","room":"r","from":"a","blob":7}"#,
            r#"{"v":1,"type":"error","message":"m"}"#,
            r#"{"v":1,"type":"error","code":"rate_limited","message":"m","retry_after_ms":"soon"}"#,
            r#"{"v":1,"type":"reconnect"}"#,
            r#"{"v":1,"type":"reconnect","after_ms":-1}"#,
        ] {
            assert!(
                matches!(ServerMessage::decode(text), Err(DecodeError::BadMessage(_))),
                "input {text}"
            );
        }
        for text in ["[1]", "nope", r#"{"v":1,"type":"pong""#] {
            assert!(
                matches!(ServerMessage::decode(text), Err(DecodeError::BadJson(_))),
                "input {text}"
            );
        }
        // A blob without escapes is borrowed from the frame, as the client's are.
        let text = r#"{"v":1,"type":"signal","room":"r","from":"a","blob":"QUJD"}"#;
        assert!(matches!(
            ServerMessage::decode(text),
            Ok(ServerMessage::Signal {
                blob: Cow::Borrowed("QUJD"),
                ..
            })
        ));
    }

    #[test]
    fn unknown_error_codes_from_a_newer_server_still_decode() {
        let text = r#"{"v":1,"type":"error","code":"moon_phase","message":"m"}"#;
        assert!(matches!(
            ServerMessage::decode(text),
            Ok(ServerMessage::Error {
                code: ErrorCode::Unknown,
                ..
            })
        ));
    }

    #[test]
    fn room_ids_are_validated() {
        assert_eq!(validate_room_id(&"a".repeat(64)), Ok(()));
        assert_eq!(validate_room_id(""), Err(RoomIdError::Empty));
        assert_eq!(
            validate_room_id(&"a".repeat(65)),
            Err(RoomIdError::TooLong { len: 65 })
        );
        assert_eq!(
            validate_room_id("ab cd"),
            Err(RoomIdError::NotPrintable { offset: 2 })
        );
        assert_eq!(
            validate_room_id("ab\u{7f}"),
            Err(RoomIdError::NotPrintable { offset: 2 })
        );
        assert_eq!(
            validate_room_id("é"),
            Err(RoomIdError::NotPrintable { offset: 0 })
        );
    }

    #[test]
    fn close_codes_round_trip_through_numbers() {
        for code in [
            CloseCode::Normal,
            CloseCode::ProtocolError,
            CloseCode::InvalidUtf8,
            CloseCode::Policy,
            CloseCode::FrameTooLarge,
            CloseCode::ServiceRestart,
            CloseCode::HandshakeTimeout,
            CloseCode::IdleTimeout,
            CloseCode::RateLimited,
            CloseCode::TooManyConnections,
            CloseCode::SlowConsumer,
        ] {
            assert_eq!(CloseCode::from_u16(code.as_u16()), Some(code));
        }
        assert_eq!(CloseCode::from_u16(1001), None);
    }

    #[test]
    fn client_config_uses_the_browser_field_names() {
        let cfg = ClientConfig {
            ice_servers: vec![IceServer {
                urls: IceUrls::One("turn:turn.example.invalid:3478".into()),
                username: Some("u".into()),
                credential: Some("c".into()),
            }],
            embed_origins: vec!["https://blog.example.org".into()],
            keeper: Some(KeeperInfo {
                key: "k".into(),
                name: "Keeper".into(),
            }),
        };
        let text = serde_json::to_string(&cfg).unwrap_or_default();
        assert_eq!(
            text,
            r#"{"iceServers":[{"urls":"turn:turn.example.invalid:3478","username":"u","credential":"c"}],"embedOrigins":["https://blog.example.org"],"keeper":{"key":"k","name":"Keeper"}}"#
        );
        assert_eq!(
            serde_json::to_string(&ClientConfig::default()).ok(),
            Some(r#"{"iceServers":[],"embedOrigins":[]}"#.into())
        );
        // A server from before embedding still configures the app.
        let old: Result<ClientConfig, _> = serde_json::from_str(r#"{"iceServers":[]}"#);
        assert_eq!(old.ok(), Some(ClientConfig::default()));
    }
}
