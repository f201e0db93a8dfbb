//! Rooms: secrets, ids, invite links, passwords and derived keys.
//!
//! # What
//!
//! A room is named by a 32-byte random [`RoomSecret`]. Everyone who holds the secret (and the
//! room password, if one is set) can derive:
//!
//! - the [`RoomId`], the only thing the signaling server ever sees of a room;
//! - the `signal` key that seals signaling blobs ([`crate::seal`]);
//! - the `storage` key for anything the client wants to encrypt at rest.
//!
//! There are two ways into a room: an invite link ([`Invite`]), or a room name plus a password
//! ([`Room::from_name_and_password`]).
//!
//! # Key schedule (version 1)
//!
//! ```text
//! password_salt = SHA-256("natter/v1/password-salt\0" || secret)[0..16]
//! password_key  = Argon2id(m = 19456 KiB, t = 2, p = 1, out = 32 bytes)(password, password_salt)
//! ikm           = secret || 0x00                    (no password)
//!               | secret || 0x01 || password_key    (password set)
//! prk           = HKDF-SHA256-Extract(salt = "natter/v1/room-keys", ikm)      (RFC 5869)
//! room_id       = HKDF-Expand(prk, "natter/v1/room-id", 32)
//! signal_key    = HKDF-Expand(prk, "natter/v1/signal", 32)
//! storage_key   = HKDF-Expand(prk, "natter/v1/storage", 32)
//! ```
//!
//! The Argon2id parameters are OWASP's recommended minimum for Argon2id (19 MiB, two passes,
//! one lane) and are tied to the invite version ([`KdfParams::for_version`]): a future version
//! may raise them without breaking old links. The password salt is derived from the secret, so
//! it is unique per room and needs no extra storage or transmission.
//!
//! # Why
//!
//! - The room id is an HKDF output, so it reveals nothing about the secret or the other keys
//!   (HKDF outputs with different `info` are independent pseudo-random values).
//! - The stretched password is mixed into the room id *and* every key. A link without the
//!   password cannot even find the room on the server, let alone read or forge its signaling:
//!   someone holding only the link must run Argon2id once per password guess, and has no
//!   oracle to test a guess against except the live server.
//! - The secret travels only in the URL fragment (`https://host/#/join/<payload>`). Browsers
//!   never send fragments to servers (RFC 3986 section 3.5), so the server that serves the app
//!   never sees it.
//!
//! # Rooms by name and password
//!
//! ```text
//! normalised    = lower-case(name), trimmed, inner whitespace runs collapsed to one space
//! name_salt     = SHA-256("natter/v1/named-room-salt\0" || normalised)[0..16]
//! secret        = Argon2id(version 1 parameters)(password, name_salt)
//! ```
//!
//! The room then behaves like any room with that secret and no separate password (the
//! password is already in the secret). **Trade-off:** anyone can compute the room id for a
//! guessed (name, password) pair, and room names are easy to guess. Argon2id makes each
//! guess cost 19 MiB of memory and two passes over it, and the name-specific salt stops one
//! precomputed table from covering every room, but only a strong password protects such a
//! room. Passwords shorter than [`MIN_NAMED_ROOM_PASSWORD_CHARS`] characters are refused.
//! Invite links (random 256-bit secrets) do not have this weakness and should be preferred.
//!
//! # Invite payload (version 1)
//!
//! `base64url-without-padding(version || flags || secret || [name_len || name])` where
//! `version = 1`, `flags` bit 0 = a password is also needed, bit 1 = a room name follows
//! (one length byte, then 1..=[`MAX_ROOM_NAME_BYTES`] bytes of UTF-8). Other flag bits must be
//! zero. The full link is `<base_url>/#/join/<payload>`.
//!
//! # Example
//!
//! ```
//! use natter_core::room::{Invite, Room};
//! use natter_core::seal;
//! use rand_chacha::{rand_core::SeedableRng, ChaCha20Rng};
//!
//! let mut rng = ChaCha20Rng::seed_from_u64(1); // in the browser: an OS-seeded CSPRNG
//! let host = Room::create(&mut rng, Some("Plans"), None)?;
//! let link = host.invite_link("https://natter.example");
//!
//! let guest = Room::from_invite(&Invite::parse(&link)?, None)?;
//! assert_eq!(guest.id(), host.id());
//!
//! let blob = seal::seal_to_text(host.signal_key(), &mut rng, &host.id(), "s1", "s2", b"sdp")?;
//! assert_eq!(seal::open_text(guest.signal_key(), &guest.id(), "s1", "s2", &blob)?, b"sdp");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Invariants and costs
//!
//! - Secrets, stretched passwords and keys are zeroized on drop and never printed by `Debug`.
//! - Every parser here is total: bad input gives an [`InviteError`] or [`RoomError`].
//! - Argon2id costs about 0.1 s per derivation on a desktop CPU, natively or as
//!   WebAssembly, and more on phones. Derive a [`Room`] once, then keep it (or its
//!   [`Room::password_key`]) and rebuild it cheaply with [`Room::from_parts`].
//! - Passwords are used byte for byte as UTF-8 (no Unicode normalisation); an empty password
//!   means "no password".

use core::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hkdf::Hkdf;
use rand_core::{CryptoRng, RngCore};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop};

/// Length of a room secret in bytes.
pub const ROOM_SECRET_LEN: usize = 32;
/// The invite format (and key schedule) version this code writes.
pub const INVITE_VERSION: u8 = 1;
/// Maximum room name length in characters.
pub const MAX_ROOM_NAME_CHARS: usize = 64;
/// Maximum room name length in UTF-8 bytes (it is length-prefixed by one byte in invites).
pub const MAX_ROOM_NAME_BYTES: usize = 255;
/// Minimum password length, in characters, for rooms entered by name and password.
pub const MIN_NAMED_ROOM_PASSWORD_CHARS: usize = 8;
/// Longest string [`Invite::parse`] looks at.
pub const MAX_INVITE_LINK_LEN: usize = 4096;

/// Invite flag: a room password is needed as well as the link.
const FLAG_PASSWORD: u8 = 0b01;
/// Invite flag: a room name follows the secret.
const FLAG_NAME: u8 = 0b10;

const PASSWORD_SALT_DOMAIN: &[u8] = b"natter/v1/password-salt\0";
const NAMED_ROOM_SALT_DOMAIN: &[u8] = b"natter/v1/named-room-salt\0";
const KEYS_SALT: &[u8] = b"natter/v1/room-keys";
const INFO_ROOM_ID: &[u8] = b"natter/v1/room-id";
const INFO_SIGNAL: &[u8] = b"natter/v1/signal";
const INFO_STORAGE: &[u8] = b"natter/v1/storage";
const INFO_LOBBY: &[u8] = b"natter/v1/lobby";

/// Why an invite link could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InviteError {
    /// The text is neither a bare payload nor a link with a `#/join/` fragment.
    #[error("not a Natter invite link")]
    NotAnInvite,
    /// The payload names an invite version this code does not know.
    #[error("unsupported invite version {0}: this link needs a newer Natter")]
    UnsupportedVersion(u8),
    /// The payload sets flag bits this code does not know.
    #[error("unsupported invite flags {0:#04x}")]
    UnknownFlags(u8),
    /// The payload is not valid base64url, has the wrong length, or is otherwise damaged.
    #[error("damaged invite link: {0}")]
    Malformed(&'static str),
    /// The room name in the invite breaks the room name rules.
    #[error("invalid room name in invite: {0}")]
    InvalidName(&'static str),
}

/// Why a room could not be opened or created.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RoomError {
    /// The invite says the room has a password, and none was given.
    #[error("this room needs a password")]
    PasswordRequired,
    /// A password was given for a room whose invite says it has none.
    #[error("this room has no password")]
    PasswordNotExpected,
    /// A room entered by name needs a password of at least this many characters.
    #[error("the password must have at least {0} characters")]
    PasswordTooShort(usize),
    /// The room name breaks the room name rules.
    #[error("invalid room name: {0}")]
    InvalidName(&'static str),
    /// The key schedule version has no known parameters.
    #[error("unsupported room key version {0}")]
    UnsupportedVersion(u8),
    /// The password hash failed (cannot happen with the built-in parameters).
    #[error("password derivation failed")]
    Kdf,
}

/// A room's public identifier: a one-way hash of its secret (and password, if any). It is
/// all the signaling server ever sees of a room.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct RoomId(pub [u8; 32]);

impl RoomId {
    /// The raw bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Lower-case hex of all 32 bytes (64 characters): the form sent to the signaling server.
    pub fn to_hex(&self) -> String {
        crate::hex::encode(&self.0)
    }

    /// Parses the form made by [`RoomId::to_hex`] (either case). Total: `None` unless the
    /// input is exactly 64 hex digits.
    pub fn from_hex(hex: &str) -> Option<Self> {
        crate::hex::decode32(hex).map(Self)
    }

    /// Derives the room id from the room's secret and, if set, its stretched password (see
    /// the key schedule in the module doc).
    pub fn derive(secret: &RoomSecret, password_key: Option<&PasswordKey>) -> Self {
        let mut id = [0u8; 32];
        expand(&extract(secret, password_key), INFO_ROOM_ID, &mut id);
        Self(id)
    }
}

impl fmt::Debug for RoomId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "RoomId({:02x}{:02x}{:02x}{:02x}..)",
            self.0[0], self.0[1], self.0[2], self.0[3]
        )
    }
}

/// A room's 32-byte secret. Zeroized on drop; `Debug` never prints it; equality is
/// constant-time.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct RoomSecret([u8; ROOM_SECRET_LEN]);

impl RoomSecret {
    /// Draws a fresh secret from the caller's cryptographic RNG.
    pub fn generate<R: RngCore + CryptoRng>(rng: &mut R) -> Self {
        let mut bytes = [0u8; ROOM_SECRET_LEN];
        rng.fill_bytes(&mut bytes);
        Self(bytes)
    }

    /// Wraps stored secret bytes.
    pub fn from_bytes(bytes: [u8; ROOM_SECRET_LEN]) -> Self {
        Self(bytes)
    }

    /// The raw secret, for storage. Handle with care.
    pub fn as_bytes(&self) -> &[u8; ROOM_SECRET_LEN] {
        &self.0
    }
}

impl PartialEq for RoomSecret {
    fn eq(&self, other: &Self) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl Eq for RoomSecret {}

impl fmt::Debug for RoomSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RoomSecret(<redacted>)")
    }
}

/// A room password after Argon2id stretching. Keep it to reopen a room without paying for
/// Argon2id again. Zeroized on drop; `Debug` never prints it.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct PasswordKey([u8; 32]);

impl PasswordKey {
    /// Wraps stored bytes (as returned by [`PasswordKey::as_bytes`]).
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The raw bytes, for storage. Handle with care.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl PartialEq for PasswordKey {
    fn eq(&self, other: &Self) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl Eq for PasswordKey {}

impl fmt::Debug for PasswordKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PasswordKey(<redacted>)")
    }
}

/// A 256-bit symmetric key derived for one purpose. Zeroized on drop; `Debug` never prints it.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct SymmetricKey([u8; 32]);

impl SymmetricKey {
    /// Wraps raw key bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The raw key. Handle with care.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl PartialEq for SymmetricKey {
    fn eq(&self, other: &Self) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl Eq for SymmetricKey {}

impl fmt::Debug for SymmetricKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SymmetricKey(<redacted>)")
    }
}

/// Argon2id cost parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KdfParams {
    /// Memory in KiB.
    pub memory_kib: u32,
    /// Number of passes.
    pub iterations: u32,
    /// Degree of parallelism (lanes).
    pub parallelism: u32,
}

impl KdfParams {
    /// OWASP's Argon2id minimum: 19 MiB, 2 passes, 1 lane. Used by invite version 1.
    pub const V1: KdfParams = KdfParams {
        memory_kib: 19 * 1024,
        iterations: 2,
        parallelism: 1,
    };

    /// The parameters tied to an invite (key schedule) version, if it is known.
    pub fn for_version(version: u8) -> Option<KdfParams> {
        match version {
            1 => Some(Self::V1),
            _ => None,
        }
    }
}

/// Runs Argon2id with `params` into a 32-byte output.
pub(crate) fn argon2id(
    params: KdfParams,
    password: &[u8],
    salt: &[u8],
) -> Result<[u8; 32], RoomError> {
    let params = argon2::Params::new(
        params.memory_kib,
        params.iterations,
        params.parallelism,
        Some(32),
    )
    .map_err(|_| RoomError::Kdf)?;
    let argon = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
    let mut out = [0u8; 32];
    argon
        .hash_password_into(password, salt, &mut out)
        .map_err(|_| RoomError::Kdf)?;
    Ok(out)
}

/// First 16 bytes of SHA-256(domain || data): a domain-separated salt.
fn salt(domain: &[u8], data: &[u8]) -> [u8; 16] {
    let digest = Sha256::new()
        .chain_update(domain)
        .chain_update(data)
        .finalize();
    let mut out = [0u8; 16];
    out.copy_from_slice(&digest[..16]);
    out
}

/// Stretches a room password for the room with `secret`, with the parameters of the given
/// key schedule `version`. Costs one Argon2id run (19 MiB of memory, see the module doc).
pub fn stretch_password(
    version: u8,
    secret: &RoomSecret,
    password: &str,
) -> Result<PasswordKey, RoomError> {
    let params = KdfParams::for_version(version).ok_or(RoomError::UnsupportedVersion(version))?;
    stretch_password_with(params, secret, password)
}

fn stretch_password_with(
    params: KdfParams,
    secret: &RoomSecret,
    password: &str,
) -> Result<PasswordKey, RoomError> {
    let salt = salt(PASSWORD_SALT_DOMAIN, secret.as_bytes());
    Ok(PasswordKey(argon2id(params, password.as_bytes(), &salt)?))
}

/// Normalises a room name for name-and-password rooms: trimmed, whitespace runs collapsed to
/// one ASCII space, lower-cased (Unicode default case mapping). Returns an error if the
/// result breaks the room name rules.
pub fn normalize_room_name(name: &str) -> Result<String, RoomError> {
    let collapsed = name.split_whitespace().collect::<Vec<_>>().join(" ");
    let lower = collapsed.to_lowercase();
    validate_room_name(&lower).map_err(RoomError::InvalidName)?;
    Ok(lower)
}

/// Room name rules: not blank, at most [`MAX_ROOM_NAME_CHARS`] characters and
/// [`MAX_ROOM_NAME_BYTES`] bytes, no control characters, no bidirectional formatting
/// characters.
fn validate_room_name(name: &str) -> Result<(), &'static str> {
    if name.trim().is_empty() {
        return Err("empty");
    }
    if name.len() > MAX_ROOM_NAME_BYTES || name.chars().count() > MAX_ROOM_NAME_CHARS {
        return Err("too long");
    }
    if name.chars().any(char::is_control) {
        return Err("control character");
    }
    if name.chars().any(|c| {
        matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
    }) {
        return Err("bidirectional control");
    }
    Ok(())
}

/// HKDF-Extract over the secret and optional stretched password.
fn extract(secret: &RoomSecret, password_key: Option<&PasswordKey>) -> Hkdf<Sha256> {
    let mut ikm = zeroize::Zeroizing::new(Vec::with_capacity(ROOM_SECRET_LEN + 33));
    ikm.extend_from_slice(secret.as_bytes());
    match password_key {
        None => ikm.push(0x00),
        Some(pk) => {
            ikm.push(0x01);
            ikm.extend_from_slice(pk.as_bytes());
        }
    }
    Hkdf::<Sha256>::new(Some(KEYS_SALT), &ikm)
}

fn expand(prk: &Hkdf<Sha256>, info: &[u8], out: &mut [u8; 32]) {
    // 32 bytes is far below HKDF-SHA256's limit of 255 * 32 bytes, so expand cannot fail.
    prk.expand(info, out)
        .expect("32-byte HKDF output is always allowed");
}

/// A parsed invite: the room secret, whether a password is also needed, and an optional
/// room name suggested by the inviter.
#[derive(Clone, PartialEq, Eq)]
pub struct Invite {
    secret: RoomSecret,
    password_required: bool,
    name: Option<String>,
}

impl fmt::Debug for Invite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Invite")
            .field("password_required", &self.password_required)
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl Invite {
    /// Builds an invite. Fails if `name` breaks the room name rules.
    pub fn new(
        secret: RoomSecret,
        password_required: bool,
        name: Option<&str>,
    ) -> Result<Self, InviteError> {
        if let Some(n) = name {
            validate_room_name(n).map_err(InviteError::InvalidName)?;
        }
        Ok(Self {
            secret,
            password_required,
            name: name.map(str::to_owned),
        })
    }

    /// The room secret.
    pub fn secret(&self) -> &RoomSecret {
        &self.secret
    }

    /// Whether a room password is needed too.
    pub fn password_required(&self) -> bool {
        self.password_required
    }

    /// The room name the inviter gave, if any. Informational only: not authenticated beyond
    /// travelling with the secret.
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// The invite payload: base64url (no padding) of the version 1 layout in the module doc.
    pub fn to_payload(&self) -> String {
        let mut bytes = zeroize::Zeroizing::new(Vec::with_capacity(2 + ROOM_SECRET_LEN + 256));
        let mut flags = 0;
        if self.password_required {
            flags |= FLAG_PASSWORD;
        }
        if self.name.is_some() {
            flags |= FLAG_NAME;
        }
        bytes.push(INVITE_VERSION);
        bytes.push(flags);
        bytes.extend_from_slice(self.secret.as_bytes());
        if let Some(name) = &self.name {
            // Checked to be at most MAX_ROOM_NAME_BYTES (255) when the invite was built.
            bytes.push(name.len() as u8);
            bytes.extend_from_slice(name.as_bytes());
        }
        URL_SAFE_NO_PAD.encode(&bytes[..])
    }

    /// The full link, `<base_url>/#/join/<payload>`. Any fragment already on `base_url` and
    /// trailing slashes are dropped, so the secret is always and only in the fragment.
    pub fn to_link(&self, base_url: &str) -> String {
        let base = base_url.split('#').next().unwrap_or_default();
        format!(
            "{}/#/join/{}",
            base.trim_end_matches('/'),
            self.to_payload()
        )
    }

    /// Parses a full invite link (`https://host/#/join/<payload>`), a fragment
    /// (`#/join/<payload>`) or a bare payload. Total: never panics.
    pub fn parse(text: &str) -> Result<Self, InviteError> {
        if text.len() > MAX_INVITE_LINK_LEN {
            return Err(InviteError::Malformed("too long"));
        }
        let text = text.trim();
        let payload = match text.split_once('#') {
            Some((_, fragment)) => {
                let rest = fragment
                    .strip_prefix("/join/")
                    .or_else(|| fragment.strip_prefix("join/"))
                    .ok_or(InviteError::NotAnInvite)?;
                rest.trim_end_matches('/')
            }
            None if text.contains('/') || text.contains(':') => {
                return Err(InviteError::NotAnInvite)
            }
            None => text,
        };
        Self::from_payload(payload)
    }

    /// Decodes a bare payload (see [`Invite::to_payload`]).
    pub fn from_payload(payload: &str) -> Result<Self, InviteError> {
        if payload.is_empty() {
            return Err(InviteError::Malformed("empty"));
        }
        if payload.len() > MAX_INVITE_LINK_LEN {
            return Err(InviteError::Malformed("too long"));
        }
        let bytes = zeroize::Zeroizing::new(
            URL_SAFE_NO_PAD
                .decode(payload)
                .map_err(|_| InviteError::Malformed("not base64url"))?,
        );
        let (&version, rest) = bytes.split_first().ok_or(InviteError::Malformed("empty"))?;
        if version != INVITE_VERSION {
            return Err(InviteError::UnsupportedVersion(version));
        }
        let (&flags, rest) = rest
            .split_first()
            .ok_or(InviteError::Malformed("truncated"))?;
        if flags & !(FLAG_PASSWORD | FLAG_NAME) != 0 {
            return Err(InviteError::UnknownFlags(flags));
        }
        if rest.len() < ROOM_SECRET_LEN {
            return Err(InviteError::Malformed("truncated"));
        }
        let (secret_bytes, rest) = rest.split_at(ROOM_SECRET_LEN);
        let mut secret = [0u8; ROOM_SECRET_LEN];
        secret.copy_from_slice(secret_bytes);
        let secret = RoomSecret(secret);
        let name = if flags & FLAG_NAME != 0 {
            let (&len, rest) = rest
                .split_first()
                .ok_or(InviteError::Malformed("truncated"))?;
            if rest.len() != usize::from(len) {
                return Err(InviteError::Malformed("wrong length"));
            }
            let name =
                core::str::from_utf8(rest).map_err(|_| InviteError::InvalidName("not UTF-8"))?;
            validate_room_name(name).map_err(InviteError::InvalidName)?;
            Some(name.to_owned())
        } else {
            if !rest.is_empty() {
                return Err(InviteError::Malformed("trailing bytes"));
            }
            None
        };
        Ok(Self {
            secret,
            password_required: flags & FLAG_PASSWORD != 0,
            name,
        })
    }
}

/// An open room: its secret, optional name and stretched password, and every derived value.
#[derive(Clone)]
pub struct Room {
    secret: RoomSecret,
    name: Option<String>,
    password_key: Option<PasswordKey>,
    id: RoomId,
    signal_key: SymmetricKey,
    storage_key: SymmetricKey,
}

impl fmt::Debug for Room {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Room")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("has_password", &self.password_key.is_some())
            .finish_non_exhaustive()
    }
}

/// Treats an empty password as none.
fn non_empty(password: Option<&str>) -> Option<&str> {
    password.filter(|p| !p.is_empty())
}

impl Room {
    /// Creates a new room with a fresh random secret. With a (non-empty) password this runs
    /// Argon2id once. Fails only if `name` breaks the room name rules.
    pub fn create<R: RngCore + CryptoRng>(
        rng: &mut R,
        name: Option<&str>,
        password: Option<&str>,
    ) -> Result<Self, RoomError> {
        Self::create_with(KdfParams::V1, rng, name, password)
    }

    fn create_with<R: RngCore + CryptoRng>(
        params: KdfParams,
        rng: &mut R,
        name: Option<&str>,
        password: Option<&str>,
    ) -> Result<Self, RoomError> {
        if let Some(n) = name {
            validate_room_name(n).map_err(RoomError::InvalidName)?;
        }
        let secret = RoomSecret::generate(rng);
        let password_key = non_empty(password)
            .map(|p| stretch_password_with(params, &secret, p))
            .transpose()?;
        Self::from_parts(secret, name, password_key)
    }

    /// Opens the room an invite points to. A password-flagged invite needs the (non-empty)
    /// password and runs Argon2id once; a wrong password yields a *different* room id, which
    /// simply finds nobody on the server. An invite without the flag refuses a password, so a
    /// user never believes a password protects a room when it does not.
    pub fn from_invite(invite: &Invite, password: Option<&str>) -> Result<Self, RoomError> {
        Self::from_invite_with(KdfParams::V1, invite, password)
    }

    fn from_invite_with(
        params: KdfParams,
        invite: &Invite,
        password: Option<&str>,
    ) -> Result<Self, RoomError> {
        let password_key = match (invite.password_required, non_empty(password)) {
            (true, None) => return Err(RoomError::PasswordRequired),
            (false, Some(_)) => return Err(RoomError::PasswordNotExpected),
            (true, Some(p)) => Some(stretch_password_with(params, &invite.secret, p)?),
            (false, None) => None,
        };
        Self::from_parts(invite.secret.clone(), invite.name(), password_key)
    }

    /// Opens (or creates: it is the same thing) the room named `name` with `password`. Runs
    /// Argon2id once. See the module doc for the trade-off of guessable names.
    pub fn from_name_and_password(name: &str, password: &str) -> Result<Self, RoomError> {
        Self::from_name_and_password_with(KdfParams::V1, name, password)
    }

    fn from_name_and_password_with(
        params: KdfParams,
        name: &str,
        password: &str,
    ) -> Result<Self, RoomError> {
        let normalised = normalize_room_name(name)?;
        if password.chars().count() < MIN_NAMED_ROOM_PASSWORD_CHARS {
            return Err(RoomError::PasswordTooShort(MIN_NAMED_ROOM_PASSWORD_CHARS));
        }
        let salt = salt(NAMED_ROOM_SALT_DOMAIN, normalised.as_bytes());
        let secret = RoomSecret(argon2id(params, password.as_bytes(), &salt)?);
        Self::from_parts(
            secret,
            Some(
                name.split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ")
                    .as_str(),
            ),
            None,
        )
    }

    /// Rebuilds a room from stored parts without running Argon2id. Fails only if `name`
    /// breaks the room name rules.
    pub fn from_parts(
        secret: RoomSecret,
        name: Option<&str>,
        password_key: Option<PasswordKey>,
    ) -> Result<Self, RoomError> {
        if let Some(n) = name {
            validate_room_name(n).map_err(RoomError::InvalidName)?;
        }
        let prk = extract(&secret, password_key.as_ref());
        let mut id = [0u8; 32];
        expand(&prk, INFO_ROOM_ID, &mut id);
        let mut signal = [0u8; 32];
        expand(&prk, INFO_SIGNAL, &mut signal);
        let mut storage = [0u8; 32];
        expand(&prk, INFO_STORAGE, &mut storage);
        let room = Self {
            secret,
            name: name.map(str::to_owned),
            password_key,
            id: RoomId(id),
            signal_key: SymmetricKey(signal),
            storage_key: SymmetricKey(storage),
        };
        signal.zeroize();
        storage.zeroize();
        Ok(room)
    }

    /// The room id: the only thing the signaling server learns.
    pub fn id(&self) -> RoomId {
        self.id
    }

    /// The room's name, if it has one (informational).
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// The room secret, for storage.
    pub fn secret(&self) -> &RoomSecret {
        &self.secret
    }

    /// The stretched password, if the room has one: store it to reopen the room with
    /// [`Room::from_parts`] without running Argon2id again.
    pub fn password_key(&self) -> Option<&PasswordKey> {
        self.password_key.as_ref()
    }

    /// Whether invitees also need a password.
    pub fn has_password(&self) -> bool {
        self.password_key.is_some()
    }

    /// The invite for this room (secret, password flag, name).
    pub fn invite(&self) -> Invite {
        Invite {
            secret: self.secret.clone(),
            password_required: self.password_key.is_some(),
            name: self.name.clone(),
        }
    }

    /// The invite link for this room: `<base_url>/#/join/<payload>`.
    pub fn invite_link(&self, base_url: &str) -> String {
        self.invite().to_link(base_url)
    }

    /// The key that seals signaling blobs ([`crate::seal`]).
    pub fn signal_key(&self) -> &SymmetricKey {
        &self.signal_key
    }

    /// A key for encrypting room data at rest.
    pub fn storage_key(&self) -> &SymmetricKey {
        &self.storage_key
    }

    /// For a room with a password: the id of its *lobby*, derived from the secret alone
    /// (with its own HKDF label, so it is never the id of any room). Members of a password
    /// room are present in the lobby too, and nothing is ever relayed there; a joiner who
    /// holds the link finds members in the lobby but nobody in the room its password
    /// derives, and can be told at once that the password is wrong. The server learns only
    /// a second opaque id. `None` for rooms without a password.
    pub fn lobby_id(&self) -> Option<RoomId> {
        self.password_key.as_ref()?;
        let prk = extract(&self.secret, None);
        let mut id = [0u8; 32];
        expand(&prk, INFO_LOBBY, &mut id);
        Some(RoomId(id))
    }
}

#[cfg(test)]
mod lobby_tests {
    use super::*;

    #[test]
    fn the_lobby_is_shared_by_all_passwords_and_is_no_room_id() -> Result<(), RoomError> {
        let secret = RoomSecret::from_bytes([7; 32]);
        let right = Room::from_parts(secret.clone(), None, Some(PasswordKey::from_bytes([1; 32])))?;
        let wrong = Room::from_parts(secret.clone(), None, Some(PasswordKey::from_bytes([2; 32])))?;
        let open = Room::from_parts(secret, None, None)?;
        let lobby = right.lobby_id().ok_or(RoomError::PasswordRequired)?;
        assert_eq!(Some(lobby), wrong.lobby_id());
        assert_ne!(right.id(), wrong.id());
        for id in [right.id(), wrong.id(), open.id()] {
            assert_ne!(id, lobby);
        }
        assert_eq!(open.lobby_id(), None);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rand_chacha::rand_core::SeedableRng;
    use rand_chacha::ChaCha20Rng;

    /// Cheap Argon2id parameters so tests can afford many derivations; the real parameters
    /// are exercised by a few tests only.
    const CHEAP: KdfParams = KdfParams {
        memory_kib: 8,
        iterations: 1,
        parallelism: 1,
    };

    fn rng(seed: u64) -> ChaCha20Rng {
        ChaCha20Rng::seed_from_u64(seed)
    }

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn room_ids_round_trip_through_hex() {
        let id = RoomId([0xa5; 32]);
        assert_eq!(RoomId::from_hex(&id.to_hex()), Some(id));
        assert_eq!(RoomId::from_hex(&id.to_hex().to_uppercase()), Some(id));
        assert_eq!(RoomId::from_hex("a5"), None);
        assert_eq!(RoomId::from_hex(&"g".repeat(64)), None);
        assert_eq!(RoomId::from_hex(&"é".repeat(32)), None);
    }

    #[test]
    fn debug_output_never_shows_secrets() {
        let room = Room::create(&mut rng(1), Some("club"), None).expect("valid");
        let secret_hex = hex(room.secret().as_bytes());
        let key_hex = hex(room.signal_key().as_bytes());
        for text in [
            format!("{room:?}"),
            format!("{:?}", room.secret()),
            format!("{:?}", room.invite()),
            format!("{:?}", room.signal_key()),
        ] {
            assert!(!text.contains(&secret_hex[..8]), "{text}");
            assert!(!text.contains(&key_hex[..8]), "{text}");
        }
        assert_eq!(format!("{:?}", room.secret()), "RoomSecret(<redacted>)");
    }

    #[test]
    fn the_room_id_and_keys_are_distinct_and_deterministic() {
        let secret = RoomSecret::from_bytes([9; 32]);
        let a = Room::from_parts(secret.clone(), None, None).expect("valid");
        let b = Room::from_parts(secret, Some("x"), None).expect("valid");
        assert_eq!(a.id(), b.id());
        assert_eq!(a.signal_key(), b.signal_key());
        assert_ne!(a.id().as_bytes(), a.signal_key().as_bytes());
        assert_ne!(a.signal_key(), a.storage_key());
        assert_ne!(a.id().as_bytes(), a.secret().as_bytes());
    }

    /// Golden values for the key schedule: a change here breaks every existing room.
    #[test]
    fn the_key_schedule_is_pinned() {
        let room = Room::from_parts(RoomSecret::from_bytes([1; 32]), None, None).expect("ok");
        assert_eq!(room.id().to_hex(), GOLDEN_ID_NO_PASSWORD);
        assert_eq!(hex(room.signal_key().as_bytes()), GOLDEN_SIGNAL_NO_PASSWORD);
        let with_pw = Room::from_parts(
            RoomSecret::from_bytes([1; 32]),
            None,
            Some(PasswordKey::from_bytes([2; 32])),
        )
        .expect("ok");
        assert_eq!(with_pw.id().to_hex(), GOLDEN_ID_WITH_PASSWORD_KEY);
        assert_eq!(
            RoomId::derive(&RoomSecret::from_bytes([1; 32]), None),
            room.id()
        );
    }

    const GOLDEN_ID_NO_PASSWORD: &str =
        "56f606b32c9e4c6f424d28f751aabff926683de2b69fba29f4d8f869e3bf9bcd";
    const GOLDEN_SIGNAL_NO_PASSWORD: &str =
        "39c98e38e85aa3210d46e196495383b578925a912bc3cfca9887505888a18ac5";
    const GOLDEN_ID_WITH_PASSWORD_KEY: &str =
        "f8e077e206698d70228689a84f9af6ad040b18046cfb54eea73bc44e7c06684b";

    /// Uses the real Argon2id parameters: one derivation, pinned output.
    #[test]
    fn password_stretching_uses_argon2id_with_the_version_1_parameters() {
        let secret = RoomSecret::from_bytes([3; 32]);
        let key = stretch_password(1, &secret, "correct horse").expect("derives");
        assert_eq!(hex(key.as_bytes()), GOLDEN_STRETCHED);
        assert_eq!(
            stretch_password(2, &secret, "x"),
            Err(RoomError::UnsupportedVersion(2))
        );
    }

    const GOLDEN_STRETCHED: &str =
        "95103d1a8bf20c49430ce0710a3163a2e19636ffc28523103b740d8c8b396296";

    #[test]
    fn a_password_changes_the_room_id_and_every_key() {
        let mut r = rng(2);
        let plain = Room::create_with(CHEAP, &mut r, None, None).expect("ok");
        let invite = Invite::new(plain.secret().clone(), true, None).expect("ok");
        let pw1 = Room::from_invite_with(CHEAP, &invite, Some("one")).expect("ok");
        let pw2 = Room::from_invite_with(CHEAP, &invite, Some("two")).expect("ok");
        assert_ne!(plain.id(), pw1.id());
        assert_ne!(pw1.id(), pw2.id());
        assert_ne!(plain.signal_key(), pw1.signal_key());
        assert_ne!(pw1.signal_key(), pw2.signal_key());
        assert_ne!(pw1.storage_key(), pw2.storage_key());
    }

    #[test]
    fn a_password_flagged_invite_needs_the_password() {
        let invite = Invite::new(RoomSecret::from_bytes([4; 32]), true, None).expect("ok");
        assert_eq!(
            Room::from_invite(&invite, None).map(|r| r.id()),
            Err(RoomError::PasswordRequired)
        );
        assert_eq!(
            Room::from_invite(&invite, Some("")).map(|r| r.id()),
            Err(RoomError::PasswordRequired)
        );
        let plain = Invite::new(RoomSecret::from_bytes([4; 32]), false, None).expect("ok");
        assert_eq!(
            Room::from_invite(&plain, Some("pw")).map(|r| r.id()),
            Err(RoomError::PasswordNotExpected)
        );
    }

    /// Uses the real parameters: two derivations (create, join).
    #[test]
    fn an_invitee_with_the_password_reaches_the_same_room() {
        let mut r = rng(3);
        let host = Room::create(&mut r, Some("Book club"), Some("hunter2!")).expect("ok");
        let link = host.invite_link("https://chat.example/");
        assert!(link.starts_with("https://chat.example/#/join/"));
        let invite = Invite::parse(&link).expect("parses");
        assert!(invite.password_required());
        assert_eq!(invite.name(), Some("Book club"));
        let guest = Room::from_invite(&invite, Some("hunter2!")).expect("ok");
        assert_eq!(guest.id(), host.id());
        assert_eq!(guest.signal_key(), host.signal_key());
        assert_eq!(guest.storage_key(), host.storage_key());
        let again = Room::from_parts(
            guest.secret().clone(),
            guest.name(),
            guest.password_key().cloned(),
        )
        .expect("ok");
        assert_eq!(again.id(), host.id());
    }

    #[test]
    fn an_invitee_without_a_password_reaches_the_same_room() {
        let host = Room::create(&mut rng(4), None, None).expect("ok");
        let invite = Invite::parse(&host.invite_link("http://127.0.0.1:8080")).expect("ok");
        assert!(!invite.password_required());
        let guest = Room::from_invite(&invite, None).expect("ok");
        assert_eq!(guest.id(), host.id());
        assert_eq!(guest.signal_key(), host.signal_key());
    }

    /// Uses the real parameters: two derivations.
    #[test]
    fn rooms_by_name_and_password_meet_regardless_of_name_spelling() {
        let a = Room::from_name_and_password("  Book   Club ", "long enough pw").expect("ok");
        let b = Room::from_name_and_password("book club", "long enough pw").expect("ok");
        assert_eq!(a.id(), b.id());
        assert_eq!(a.signal_key(), b.signal_key());
        assert_eq!(a.id().to_hex(), GOLDEN_NAMED_ROOM_ID);
        assert_eq!(a.name(), Some("Book Club"));
    }

    const GOLDEN_NAMED_ROOM_ID: &str =
        "a1d5a9b303bcb34da0a740dc9298ec79eda06ec6a5b3af7f6496ef81662ec157";

    #[test]
    fn rooms_by_name_differ_by_name_and_password() {
        let base = Room::from_name_and_password_with(CHEAP, "club", "password1").expect("ok");
        let other_pw = Room::from_name_and_password_with(CHEAP, "club", "password2").expect("ok");
        let other_name =
            Room::from_name_and_password_with(CHEAP, "club2", "password1").expect("ok");
        assert_ne!(base.id(), other_pw.id());
        assert_ne!(base.id(), other_name.id());
    }

    #[test]
    fn rooms_by_name_refuse_short_passwords_and_bad_names() {
        assert_eq!(
            Room::from_name_and_password("club", "short").map(|r| r.id()),
            Err(RoomError::PasswordTooShort(MIN_NAMED_ROOM_PASSWORD_CHARS))
        );
        assert_eq!(
            Room::from_name_and_password("   ", "long enough pw").map(|r| r.id()),
            Err(RoomError::InvalidName("empty"))
        );
        assert_eq!(
            Room::from_name_and_password("a\u{202E}b", "long enough pw").map(|r| r.id()),
            Err(RoomError::InvalidName("bidirectional control"))
        );
    }

    /// Golden payload: a change here is an invite format change and needs a new version.
    #[test]
    fn the_invite_payload_is_pinned() {
        let invite = Invite::new(RoomSecret::from_bytes([0xff; 32]), true, Some("Hi")).expect("ok");
        let payload = invite.to_payload();
        let mut raw = vec![1u8, 0b11];
        raw.extend_from_slice(&[0xff; 32]);
        raw.extend_from_slice(b"\x02Hi");
        assert_eq!(URL_SAFE_NO_PAD.decode(&payload).expect("b64"), raw);
        assert_eq!(
            payload,
            "AQP__________________________________________wJIaQ"
        );
        let bare = Invite::new(RoomSecret::from_bytes([0; 32]), false, None).expect("ok");
        assert_eq!(
            bare.to_payload(),
            "AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
        );
    }

    #[test]
    fn links_keep_the_secret_in_the_fragment_only() {
        let invite = Invite::new(RoomSecret::from_bytes([7; 32]), false, None).expect("ok");
        let link = invite.to_link("https://h.example/app/#/old");
        let (before, after) = link.split_once('#').expect("has fragment");
        assert_eq!(before, "https://h.example/app/");
        assert_eq!(after, format!("/join/{}", invite.to_payload()));
    }

    #[test]
    fn invite_parsing_accepts_links_fragments_and_bare_payloads() {
        let invite = Invite::new(RoomSecret::from_bytes([5; 32]), false, Some("x")).expect("ok");
        let p = invite.to_payload();
        for text in [
            format!("https://h.example/#/join/{p}"),
            format!("  https://h.example/sub/#/join/{p}/ \n"),
            format!("#/join/{p}"),
            format!("#join/{p}"),
            p.clone(),
        ] {
            assert_eq!(Invite::parse(&text), Ok(invite.clone()), "{text}");
        }
    }

    #[test]
    fn invite_parsing_has_distinct_errors() {
        let secret = [5u8; 32];
        let encode = |bytes: &[u8]| URL_SAFE_NO_PAD.encode(bytes);
        let mut v2 = vec![2u8, 0];
        v2.extend_from_slice(&secret);
        assert_eq!(
            Invite::parse(&encode(&v2)),
            Err(InviteError::UnsupportedVersion(2))
        );
        let mut flags = vec![1u8, 0b100];
        flags.extend_from_slice(&secret);
        assert_eq!(
            Invite::parse(&encode(&flags)),
            Err(InviteError::UnknownFlags(0b100))
        );
        assert_eq!(
            Invite::parse(&encode(&[1, 0, 1, 2])),
            Err(InviteError::Malformed("truncated"))
        );
        let mut trailing = vec![1u8, 0];
        trailing.extend_from_slice(&secret);
        trailing.push(0);
        assert_eq!(
            Invite::parse(&encode(&trailing)),
            Err(InviteError::Malformed("trailing bytes"))
        );
        let mut bad_name = vec![1u8, FLAG_NAME];
        bad_name.extend_from_slice(&secret);
        bad_name.extend_from_slice(b"\x02\n!");
        assert_eq!(
            Invite::parse(&encode(&bad_name)),
            Err(InviteError::InvalidName("control character"))
        );
        assert_eq!(
            Invite::parse("https://h.example/join/abc"),
            Err(InviteError::NotAnInvite)
        );
        assert_eq!(
            Invite::parse("https://h.example/#/settings"),
            Err(InviteError::NotAnInvite)
        );
        assert_eq!(
            Invite::parse("#/join/!!!"),
            Err(InviteError::Malformed("not base64url"))
        );
        assert_eq!(Invite::parse(""), Err(InviteError::Malformed("empty")));
        assert_eq!(
            Invite::parse(&"A".repeat(MAX_INVITE_LINK_LEN + 1)),
            Err(InviteError::Malformed("too long"))
        );
    }

    fn arb_name() -> impl Strategy<Value = Option<String>> {
        proptest::option::of(
            "[^\\p{Cc}\u{061C}\u{200E}\u{200F}\u{202A}-\u{202E}\u{2066}-\u{2069}]{1,64}"
                .prop_filter("valid room name", |s| validate_room_name(s).is_ok()),
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn invites_round_trip_through_links(secret in any::<[u8; 32]>(), pw in any::<bool>(), name in arb_name()) {
            let invite = Invite::new(RoomSecret::from_bytes(secret), pw, name.as_deref()).expect("valid");
            let link = invite.to_link("https://h.example");
            prop_assert_eq!(Invite::parse(&link), Ok(invite.clone()));
            prop_assert_eq!(Invite::parse(&invite.to_payload()), Ok(invite));
        }

        #[test]
        fn invite_parsing_never_panics(s in ".{0,200}") {
            let _ = Invite::parse(&s);
            let _ = Invite::from_payload(&s);
            let _ = RoomId::from_hex(&s);
            let _ = normalize_room_name(&s);
        }

        #[test]
        fn invite_decoding_of_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = Invite::from_payload(&URL_SAFE_NO_PAD.encode(&bytes));
        }

        #[test]
        fn cheap_password_rooms_agree_between_host_and_guest(seed in any::<u64>(), pw in "[ -~]{1,20}") {
            let host = Room::create_with(CHEAP, &mut rng(seed), None, Some(&pw)).expect("ok");
            let guest = Room::from_invite_with(CHEAP, &host.invite(), Some(&pw)).expect("ok");
            prop_assert_eq!(guest.id(), host.id());
            let wrong = format!("{pw}x");
            let other = Room::from_invite_with(CHEAP, &host.invite(), Some(&wrong)).expect("ok");
            prop_assert_ne!(other.id(), host.id());
        }
    }
}
