//! Join codes: a short code, read aloud, that hands one person a room's invite without the
//! signaling server learning it or being able to put itself in the middle.
//!
//! # What
//!
//! A [`Code`] is a mailbox number the server allocated (at least 10, so two to five digits)
//! followed by six secret digits the inviter drew, written `42-123-456`. The inviter opens the
//! mailbox ([`crate::signal`]'s `code_open`), shows the code, and waits; the joiner types it
//! and claims the mailbox. The two then run SPAKE2 (RustCrypto `spake2`, Ed25519 group) over
//! the mailbox with the code as the password, confirm the key both ways, and only then does
//! the inviter send the room's invite (and password key) sealed under the agreed key.
//!
//! [`Session`] is one side of that exchange as a sans-IO state machine: server messages in
//! ([`Session::handle`]), client messages out ([`Session::poll_message`]), and a [`Status`]
//! for the person. The driver owns the socket; the caller passes the RNG.
//!
//! # Why
//!
//! The server sees a mailbox number and opaque bytes. Without the six digits it cannot learn
//! the key, and an active attacker (the server included) gets exactly one guess per try it
//! takes: SPAKE2 gives no offline test of a guess. The server burns a mailbox after
//! [`crate::signal::MAX_CODE_TRIES`] tries, so an online guesser wins with probability at
//! most 3 in a million per code. A wrong code fails at the key confirmation, in words, before
//! anything of the room has been sent.
//!
//! # Protocol (version 1)
//!
//! ```text
//! password  = "natter/v1/join-code" || 0x00 || u32be(mailbox) || the six ASCII digits
//! id_a      = "natter/v1/join-code/inviter"     (SPAKE2 side A)
//! id_b      = "natter/v1/join-code/joiner"      (SPAKE2 side B)
//! K         = SPAKE2 key (32 bytes)
//! prk       = HKDF-SHA256-Extract(salt = "natter/v1/join-code", K)
//! k_ci, k_cj, k_sj, k_si = HKDF-Expand(prk, "confirm inviter" | "confirm joiner"
//!                                             | "seal joiner" | "seal inviter", 32)
//! transcript = msg_b || msg_a                   (the two 33-byte SPAKE2 messages)
//! confirm_i = HMAC-SHA256(k_ci, transcript), confirm_j = HMAC-SHA256(k_cj, transcript)
//! seal_x(p) = ChaCha20-Poly1305(k_sx, nonce = 12 zero bytes, p)   (each key seals once)
//! ```
//!
//! Every blob is base64url without padding of `0x01 (version) || kind || body`:
//!
//! | kind | from | body | carried in |
//! | --- | --- | --- | --- |
//! | 1 | joiner | msg_b | `code_claim` |
//! | 2 | inviter | msg_a \|\| confirm_i | `code_send` |
//! | 3 | joiner | confirm_j \|\| seal_j(name) | `code_send` |
//! | 4 | inviter | seal_i(gift) | `code_send`, then `code_close` |
//!
//! `name` is the joiner's display name in UTF-8 (empty: none given), shown to the inviter
//! only if it passes [`crate::hello::validate_display_name`]. `gift` is
//! `flags || [password_key (32)] || [retention (9)] || invite payload` with flags bit 0 = a
//! password key follows, bit 1 = a retention other than all follows (in a gift to a keeper,
//! [`crate::retention`]), other bits zero, and the payload of
//! [`crate::room::Invite::to_payload`].
//!
//! The joiner checks `confirm_i` before it sends anything derived from the key: a wrong code
//! ends there ([`Failure::WrongCode`]) and it gives the try back (`code_close`). The inviter
//! checks `confirm_j` before it sends the gift; a joiner that breaks the protocol (a bad
//! message or confirmation) makes the inviter close the mailbox.
//!
//! # Bounds
//!
//! | what | bound |
//! | --- | --- |
//! | a blob | [`crate::signal::MAX_CODE_BLOB_CHARS`] characters, refused unread above |
//! | the joiner's name | [`crate::hello::MAX_DISPLAY_NAME_BYTES`] bytes |
//! | the invite payload in a gift | [`MAX_GIFT_PAYLOAD_BYTES`] bytes |
//! | messages a session queues | one exchange's worth: it answers each step once |

use std::collections::VecDeque;
use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::ChaCha20Poly1305;
use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use rand_core::{CryptoRng, RngCore};
use sha2::Sha256;
use spake2::{Ed25519Group, Identity, Password, Spake2};
use subtle::ConstantTimeEq;
use zeroize::Zeroize;

use crate::retention::{Retention, RETENTION_LEN};
use crate::room::{Invite, PasswordKey};
use crate::signal::{ClientMessage, CodeEnd, ErrorCode, ServerMessage, MAX_CODE_BLOB_CHARS};

/// The smallest mailbox number: codes never start with a zero.
pub const MIN_MAILBOX: u32 = 10;
/// The largest mailbox number (five digits).
pub const MAX_MAILBOX: u32 = 99_999;
/// How many secret digits a code has.
pub const SECRET_DIGITS: usize = 6;
/// The largest invite payload a gift may carry.
pub const MAX_GIFT_PAYLOAD_BYTES: usize = 512;

const VERSION: u8 = 1;
const SECRET_RANGE: u32 = 1_000_000;
const SPAKE_MSG_LEN: usize = 33;
const MAC_LEN: usize = 32;
const TAG_LEN: usize = 16;
const KIND_CLAIM: u8 = 1;
const KIND_ANSWER: u8 = 2;
const KIND_CONFIRM: u8 = 3;
const KIND_GIFT: u8 = 4;

/// Why a typed code cannot be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CodeError {
    /// Nothing but spaces and dashes.
    #[error("type the code you were given")]
    Empty,
    /// Something besides digits, spaces and dashes.
    #[error("a code has only digits (spaces and dashes are fine)")]
    NotDigits,
    /// Too few or too many digits.
    #[error("a code has 8 to 11 digits; this has {0}")]
    WrongLength(usize),
    /// Codes never start with 0.
    #[error("a code never starts with 0")]
    LeadingZero,
    /// A mailbox number outside [`MIN_MAILBOX`]..=[`MAX_MAILBOX`].
    #[error("the server gave a mailbox number that cannot be a code")]
    BadMailbox,
}

/// A join code: the server's mailbox number and six secret digits.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Code {
    mailbox: u32,
    secret: u32,
}

impl fmt::Debug for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Code({}-…)", self.mailbox)
    }
}

impl fmt::Display for Code {
    /// `42-123-456`: the mailbox, then the secret in two groups of three.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.secret;
        write!(f, "{}-{:03}-{:03}", self.mailbox, s / 1000, s % 1000)
    }
}

impl Code {
    /// A fresh code for `mailbox`, its secret drawn uniformly from `rng`.
    pub fn generate<R: RngCore + CryptoRng>(mailbox: u32, rng: &mut R) -> Result<Code, CodeError> {
        if !(MIN_MAILBOX..=MAX_MAILBOX).contains(&mailbox) {
            return Err(CodeError::BadMailbox);
        }
        // Rejection sampling: the largest multiple of the range below 2^32 keeps it uniform.
        let limit = u32::MAX - u32::MAX % SECRET_RANGE;
        let secret = loop {
            let x = rng.next_u32();
            if x < limit {
                break x % SECRET_RANGE;
            }
        };
        Ok(Code { mailbox, secret })
    }

    /// Reads a code as people type it: digits, with any spaces and dashes between them.
    pub fn parse(text: &str) -> Result<Code, CodeError> {
        let mut digits = Vec::with_capacity(11);
        for c in text.chars() {
            match c {
                '0'..='9' => {
                    if digits.len() > 11 {
                        return Err(CodeError::WrongLength(digits.len() + 1));
                    }
                    digits.push(c as u8 - b'0');
                }
                '-' | '\u{2010}'..='\u{2015}' => {}
                c if c.is_whitespace() => {}
                _ => return Err(CodeError::NotDigits),
            }
        }
        if digits.is_empty() {
            return Err(CodeError::Empty);
        }
        if !(8..=11).contains(&digits.len()) {
            return Err(CodeError::WrongLength(digits.len()));
        }
        if digits[0] == 0 {
            return Err(CodeError::LeadingZero);
        }
        let number = |ds: &[u8]| ds.iter().fold(0u32, |n, d| n * 10 + u32::from(*d));
        let split = digits.len() - SECRET_DIGITS;
        Ok(Code {
            mailbox: number(&digits[..split]),
            secret: number(&digits[split..]),
        })
    }

    /// The mailbox number, the part the server knows.
    pub fn mailbox(&self) -> u32 {
        self.mailbox
    }

    fn password(&self) -> Password {
        let mut p = b"natter/v1/join-code\0".to_vec();
        p.extend_from_slice(&self.mailbox.to_be_bytes());
        p.extend_from_slice(format!("{:06}", self.secret).as_bytes());
        let password = Password::new(&p);
        p.zeroize();
        password
    }
}

/// What the inviter hands over: the room's invite and, for a room with a password, the
/// stretched password, so the joiner need not know the password itself.
#[derive(Clone, PartialEq, Eq)]
pub struct Gift {
    /// The room's invite.
    pub invite: Invite,
    /// The room's stretched password, if it has one.
    pub password_key: Option<PasswordKey>,
    /// How much of the room's history to hold: what a member asks of a keeper
    /// ([`crate::keeper`]); [`Retention::All`] (and not encoded) in a join code's gift.
    pub retention: Retention,
}

impl fmt::Debug for Gift {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Gift")
            .field("invite", &self.invite)
            .field("password_key", &self.password_key.is_some())
            .field("retention", &self.retention)
            .finish()
    }
}

impl Gift {
    pub(crate) fn encode(&self) -> Vec<u8> {
        let limited = self.retention != Retention::All;
        let mut out = vec![u8::from(self.password_key.is_some()) | (u8::from(limited) << 1)];
        if let Some(k) = &self.password_key {
            out.extend_from_slice(k.as_bytes());
        }
        if limited {
            out.extend_from_slice(&self.retention.encode());
        }
        out.extend_from_slice(self.invite.to_payload().as_bytes());
        out
    }

    pub(crate) fn decode(bytes: &[u8]) -> Option<Gift> {
        let (&flags, mut rest) = bytes.split_first()?;
        if flags & !0b11 != 0 {
            return None;
        }
        let mut password_key = None;
        if flags & 1 != 0 {
            let key: [u8; 32] = rest.get(..32)?.try_into().ok()?;
            password_key = Some(PasswordKey::from_bytes(key));
            rest = &rest[32..];
        }
        let mut retention = Retention::All;
        if flags & 2 != 0 {
            retention = Retention::decode(rest.get(..RETENTION_LEN)?)?;
            if retention == Retention::All {
                return None;
            }
            rest = &rest[RETENTION_LEN..];
        }
        let payload = rest;
        if payload.len() > MAX_GIFT_PAYLOAD_BYTES {
            return None;
        }
        let invite = Invite::from_payload(std::str::from_utf8(payload).ok()?).ok()?;
        // A password key only makes sense for a room that needs one, and such a room
        // cannot be joined from the gift without it.
        if invite.password_required() != password_key.is_some() {
            return None;
        }
        Some(Gift {
            invite,
            password_key,
            retention,
        })
    }
}

/// How an exchange ended without success, in words for the person.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Failure {
    /// The key confirmation failed: the code was mistyped (or is someone else's).
    #[error("That code didn't match — check it and try again.")]
    WrongCode,
    /// The server has no open mailbox with that number.
    #[error("That code is not open any more — it may have expired. Ask for a new one.")]
    NoSuchCode,
    /// Someone else is entering the code right now.
    #[error("Someone else is entering this code right now. Try again in a moment.")]
    Busy,
    /// The code's time ran out.
    #[error("The code expired.")]
    Expired,
    /// Every try was used up.
    #[error("The code was tried too often and no longer works.")]
    Burned,
    /// The other side went away.
    #[error("The other person closed the code.")]
    Gone,
    /// We cancelled it.
    #[error("The code was cancelled.")]
    Cancelled,
    /// The server refused another code.
    #[error("Too many codes are open; close one first.")]
    TooManyCodes,
    /// The server refused another try from this address.
    #[error("Too many tries from this network lately. Wait a minute and try again.")]
    TooManyTries,
    /// The other side broke the protocol.
    #[error(
        "The other side sent something that is not part of a code exchange; the code was closed."
    )]
    Protocol,
    /// The connection to the server ended.
    #[error("The connection to the server was lost.")]
    Disconnected,
    /// The server refused for another reason.
    #[error("The server refused the code: {0}")]
    Server(String),
}

/// Where an exchange stands, for the person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// Inviter: asking the server for a mailbox.
    Opening,
    /// Inviter: the code is shown and nobody is entering it. `tries_left` below the
    /// maximum means someone entered a wrong code.
    Waiting {
        /// Tries left before the server burns the code.
        tries_left: u32,
    },
    /// Inviter: someone is entering the code.
    Claimed,
    /// Joiner: checking the code with the other side.
    Checking,
    /// Inviter: the joiner proved the code and was sent the invite; `name` is the one
    /// they gave, if it is fit to show.
    Joined {
        /// The joiner's display name.
        name: Option<String>,
    },
    /// Joiner: the invite arrived.
    Invited(Gift),
    /// It ended without success.
    Failed(Failure),
}

impl Status {
    /// Whether the exchange is over (nothing more will happen).
    pub fn is_over(&self) -> bool {
        matches!(
            self,
            Status::Joined { .. } | Status::Invited(_) | Status::Failed(_)
        )
    }
}

/// The four keys both sides derive from the SPAKE2 key.
struct Keys {
    confirm_inviter: [u8; 32],
    confirm_joiner: [u8; 32],
    seal_joiner: [u8; 32],
    seal_inviter: [u8; 32],
}

impl Drop for Keys {
    fn drop(&mut self) {
        self.confirm_inviter.zeroize();
        self.confirm_joiner.zeroize();
        self.seal_joiner.zeroize();
        self.seal_inviter.zeroize();
    }
}

impl Keys {
    fn derive(mut key: Vec<u8>) -> Keys {
        let hk = Hkdf::<Sha256>::new(Some(b"natter/v1/join-code"), &key);
        key.zeroize();
        let expand = |info: &[u8]| {
            let mut out = [0u8; 32];
            // 32 bytes is far below HKDF-SHA256's limit of 8160.
            let _ = hk.expand(info, &mut out);
            out
        };
        Keys {
            confirm_inviter: expand(b"confirm inviter"),
            confirm_joiner: expand(b"confirm joiner"),
            seal_joiner: expand(b"seal joiner"),
            seal_inviter: expand(b"seal inviter"),
        }
    }
}

fn mac(key: &[u8; 32], transcript: &[u8]) -> [u8; MAC_LEN] {
    // HMAC takes keys of any length.
    let mut m = <Hmac<Sha256> as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable!());
    m.update(transcript);
    m.finalize().into_bytes().into()
}

fn seal(key: &[u8; 32], plaintext: &[u8]) -> Vec<u8> {
    // Each key seals exactly one message, so the fixed nonce is never reused.
    ChaCha20Poly1305::new(key.into())
        .encrypt(&[0u8; 12].into(), plaintext)
        .unwrap_or_default()
}

fn open(key: &[u8; 32], sealed: &[u8]) -> Option<Vec<u8>> {
    ChaCha20Poly1305::new(key.into())
        .decrypt(&[0u8; 12].into(), sealed)
        .ok()
}

fn blob(kind: u8, parts: &[&[u8]]) -> String {
    let mut bytes = vec![VERSION, kind];
    for p in parts {
        bytes.extend_from_slice(p);
    }
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The body of a blob of `kind`, or `None` for anything else (wrong version or kind, not
/// base64, too long).
fn body(text: &str, kind: u8) -> Option<Vec<u8>> {
    if text.len() > MAX_CODE_BLOB_CHARS {
        return None;
    }
    let bytes = URL_SAFE_NO_PAD.decode(text).ok()?;
    match bytes.as_slice() {
        [VERSION, k, rest @ ..] if *k == kind => Some(rest.to_vec()),
        _ => None,
    }
}

/// The inviter's side.
enum InviterState {
    Opening,
    Waiting,
    Confirming { keys: Keys, transcript: Vec<u8> },
    Done,
}

/// The joiner's side.
enum JoinerState {
    Claiming {
        spake: Spake2<Ed25519Group>,
        msg_b: Vec<u8>,
    },
    AwaitingGift {
        keys: Keys,
    },
    Done,
}

enum Role {
    Inviter { gift: Gift, state: InviterState },
    Joiner { name: String, state: JoinerState },
}

/// One side of a join-code exchange (see the module doc).
pub struct Session {
    role: Role,
    code: Option<Code>,
    expires_in_ms: Option<u64>,
    status: Status,
    out: VecDeque<ClientMessage<'static>>,
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("code", &self.code)
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}

impl Session {
    /// The inviter's side: asks for a mailbox valid for `ttl_ms` (the server may cut it).
    pub fn invite(gift: Gift, ttl_ms: u64) -> Session {
        Session {
            role: Role::Inviter {
                gift,
                state: InviterState::Opening,
            },
            code: None,
            expires_in_ms: None,
            status: Status::Opening,
            out: VecDeque::from([ClientMessage::CodeOpen { ttl_ms }]),
        }
    }

    /// The joiner's side for `code`, introducing itself to the inviter as `name` (empty:
    /// no name).
    pub fn join<R: RngCore + CryptoRng>(code: Code, name: &str, rng: &mut R) -> Session {
        let (id_a, id_b) = spake_ids();
        let (spake, msg_b) =
            Spake2::<Ed25519Group>::start_b_with_rng(&code.password(), &id_a, &id_b, rng);
        let claim = ClientMessage::CodeClaim {
            mailbox: code.mailbox,
            blob: blob(KIND_CLAIM, &[&msg_b]).into(),
        };
        Session {
            role: Role::Joiner {
                name: name.to_owned(),
                state: JoinerState::Claiming { spake, msg_b },
            },
            code: Some(code),
            expires_in_ms: None,
            status: Status::Checking,
            out: VecDeque::from([claim]),
        }
    }

    /// Where the exchange stands.
    pub fn status(&self) -> &Status {
        &self.status
    }

    /// The code: the joiner's from the start, the inviter's once the server opened it.
    pub fn code(&self) -> Option<Code> {
        self.code
    }

    /// Inviter: how long the server keeps the code open, as it said when it opened it.
    pub fn expires_in_ms(&self) -> Option<u64> {
        self.expires_in_ms
    }

    /// The next message for the server.
    pub fn poll_message(&mut self) -> Option<ClientMessage<'static>> {
        self.out.pop_front()
    }

    /// Stops the exchange: the inviter closes its mailbox, a joiner gives its try back.
    pub fn cancel(&mut self) {
        if self.status.is_over() {
            return;
        }
        self.out.clear();
        self.close();
        self.status = Status::Failed(Failure::Cancelled);
    }

    /// The connection to the server ended: so did the exchange (mailboxes die with it).
    pub fn disconnected(&mut self) {
        if !self.status.is_over() {
            self.status = Status::Failed(Failure::Disconnected);
        }
        self.out.clear();
    }

    /// Takes one message from the server.
    pub fn handle<R: RngCore + CryptoRng>(&mut self, msg: &ServerMessage<'_>, rng: &mut R) {
        if self.status.is_over() {
            return;
        }
        let ours = |m: &u32| self.code.is_none_or(|c| c.mailbox == *m);
        match msg {
            ServerMessage::CodeOpened {
                mailbox,
                expires_in_ms,
            } => self.on_opened(*mailbox, *expires_in_ms, rng),
            ServerMessage::CodeMessage { mailbox, blob } if ours(mailbox) => {
                self.on_blob(blob, rng)
            }
            ServerMessage::CodeWaiting {
                mailbox,
                tries_left,
            } if ours(mailbox) => {
                if let Role::Inviter { state, .. } = &mut self.role {
                    if !matches!(state, InviterState::Opening) {
                        *state = InviterState::Waiting;
                        self.status = Status::Waiting {
                            tries_left: *tries_left,
                        };
                    }
                }
            }
            ServerMessage::CodeClosed { mailbox, reason } if ours(mailbox) => {
                self.status = Status::Failed(match reason {
                    CodeEnd::Expired => Failure::Expired,
                    CodeEnd::Burned => Failure::Burned,
                    CodeEnd::Done | CodeEnd::Gone | CodeEnd::Unknown => Failure::Gone,
                });
            }
            ServerMessage::Error { code, message, .. } => self.on_error(*code, message),
            _ => {}
        }
    }

    fn on_opened<R: RngCore + CryptoRng>(&mut self, mailbox: u32, expires_in_ms: u64, rng: &mut R) {
        let Role::Inviter { state, .. } = &mut self.role else {
            return;
        };
        if !matches!(state, InviterState::Opening) {
            return;
        }
        match Code::generate(mailbox, rng) {
            Ok(code) => {
                *state = InviterState::Waiting;
                self.code = Some(code);
                self.expires_in_ms = Some(expires_in_ms);
                self.status = Status::Waiting {
                    tries_left: crate::signal::MAX_CODE_TRIES,
                };
            }
            Err(_) => {
                *state = InviterState::Done;
                self.out.push_back(ClientMessage::CodeClose { mailbox });
                self.status = Status::Failed(Failure::Protocol);
            }
        }
    }

    fn on_error(&mut self, code: ErrorCode, message: &str) {
        let failure = match code {
            ErrorCode::NoSuchCode => Failure::NoSuchCode,
            ErrorCode::CodeBusy => Failure::Busy,
            ErrorCode::TooManyCodes => Failure::TooManyCodes,
            ErrorCode::TooManyTries => Failure::TooManyTries,
            // Errors about rooms, or a rate limit the driver's pacing recovers from.
            ErrorCode::RateLimited | ErrorCode::NotInRoom | ErrorCode::UnknownPeer => return,
            _ => Failure::Server(message.chars().take(200).collect()),
        };
        // An inviter's own sends can only fail once its mailbox is gone, which
        // `code_closed` reports; the failures above answer the opening or a claim.
        let starting = matches!(
            self.role,
            Role::Inviter {
                state: InviterState::Opening,
                ..
            } | Role::Joiner { .. }
        );
        if starting {
            self.out.clear();
            self.status = Status::Failed(failure);
        }
    }

    fn on_blob<R: RngCore + CryptoRng>(&mut self, text: &str, rng: &mut R) {
        let Some(code) = self.code else { return };
        let step = match &mut self.role {
            Role::Inviter { gift, state } => inviter_step(state, code, gift, text, rng),
            Role::Joiner { name, state } => joiner_step(state, name, text),
        };
        match step {
            Ok(Step { send, status }) => {
                if let Some(b) = send {
                    self.out.push_back(ClientMessage::CodeSend {
                        mailbox: code.mailbox,
                        blob: b.into(),
                    });
                }
                let joined = matches!(status, Status::Joined { .. });
                self.status = status;
                if joined {
                    // The gift is on its way: the inviter is done with its mailbox.
                    self.close();
                }
            }
            Err(failure) => {
                self.out.clear();
                self.close();
                self.status = Status::Failed(failure);
            }
        }
    }

    /// Queues the mailbox's close (a joiner: its try's end) after anything queued.
    fn close(&mut self) {
        if let Some(code) = self.code {
            self.out.push_back(ClientMessage::CodeClose {
                mailbox: code.mailbox,
            });
        }
        match &mut self.role {
            Role::Inviter { state, .. } => *state = InviterState::Done,
            Role::Joiner { state, .. } => *state = JoinerState::Done,
        }
    }
}

/// What one blob leads to: a blob to send back, and the new status.
struct Step {
    send: Option<String>,
    status: Status,
}

fn spake_ids() -> (Identity, Identity) {
    (
        Identity::new(b"natter/v1/join-code/inviter"),
        Identity::new(b"natter/v1/join-code/joiner"),
    )
}

/// The inviter's answer to one blob from its joiner.
fn inviter_step<R: RngCore + CryptoRng>(
    state: &mut InviterState,
    code: Code,
    gift: &Gift,
    text: &str,
    rng: &mut R,
) -> Result<Step, Failure> {
    match std::mem::replace(state, InviterState::Done) {
        InviterState::Waiting => {
            let msg_b = body(text, KIND_CLAIM)
                .filter(|b| b.len() == SPAKE_MSG_LEN)
                .ok_or(Failure::Protocol)?;
            let (id_a, id_b) = spake_ids();
            let (spake, msg_a) =
                Spake2::<Ed25519Group>::start_a_with_rng(&code.password(), &id_a, &id_b, rng);
            let key = spake.finish(&msg_b).map_err(|_| Failure::Protocol)?;
            let keys = Keys::derive(key);
            let mut transcript = msg_b;
            transcript.extend_from_slice(&msg_a);
            let confirm = mac(&keys.confirm_inviter, &transcript);
            *state = InviterState::Confirming { keys, transcript };
            Ok(Step {
                send: Some(blob(KIND_ANSWER, &[&msg_a, &confirm])),
                status: Status::Claimed,
            })
        }
        InviterState::Confirming { keys, transcript } => {
            let b = body(text, KIND_CONFIRM)
                .filter(|b| b.len() >= MAC_LEN + TAG_LEN)
                .ok_or(Failure::Protocol)?;
            let expected = mac(&keys.confirm_joiner, &transcript);
            if !bool::from(expected.ct_eq(&b[..MAC_LEN])) {
                return Err(Failure::Protocol);
            }
            let name = open(&keys.seal_joiner, &b[MAC_LEN..]).ok_or(Failure::Protocol)?;
            let name = String::from_utf8(name)
                .ok()
                .filter(|n| crate::hello::validate_display_name(n).is_ok());
            Ok(Step {
                send: Some(blob(
                    KIND_GIFT,
                    &[&seal(&keys.seal_inviter, &gift.encode())],
                )),
                status: Status::Joined { name },
            })
        }
        InviterState::Opening | InviterState::Done => Err(Failure::Protocol),
    }
}

/// The joiner's answer to one blob from the inviter.
fn joiner_step(state: &mut JoinerState, name: &str, text: &str) -> Result<Step, Failure> {
    match std::mem::replace(state, JoinerState::Done) {
        JoinerState::Claiming { spake, msg_b } => {
            let b = body(text, KIND_ANSWER)
                .filter(|b| b.len() == SPAKE_MSG_LEN + MAC_LEN)
                .ok_or(Failure::Protocol)?;
            let (msg_a, confirm) = b.split_at(SPAKE_MSG_LEN);
            // A message that is not a curve point cannot come from someone who knows the
            // code; like a wrong confirmation, it ends this try.
            let key = spake.finish(msg_a).map_err(|_| Failure::WrongCode)?;
            let keys = Keys::derive(key);
            let mut transcript = msg_b;
            transcript.extend_from_slice(msg_a);
            if !bool::from(mac(&keys.confirm_inviter, &transcript).ct_eq(confirm)) {
                return Err(Failure::WrongCode);
            }
            let confirm = mac(&keys.confirm_joiner, &transcript);
            let name = if name.len() <= crate::hello::MAX_DISPLAY_NAME_BYTES {
                name
            } else {
                ""
            };
            let sealed = seal(&keys.seal_joiner, name.as_bytes());
            *state = JoinerState::AwaitingGift { keys };
            Ok(Step {
                send: Some(blob(KIND_CONFIRM, &[&confirm, &sealed])),
                status: Status::Checking,
            })
        }
        JoinerState::AwaitingGift { keys } => {
            let b = body(text, KIND_GIFT).ok_or(Failure::Protocol)?;
            let gift = open(&keys.seal_inviter, &b)
                .and_then(|p| Gift::decode(&p))
                .ok_or(Failure::Protocol)?;
            Ok(Step {
                send: None,
                status: Status::Invited(gift),
            })
        }
        JoinerState::Done => Err(Failure::Protocol),
    }
}
