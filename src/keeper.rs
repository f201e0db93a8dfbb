//! Asking a keeper to keep a room: the exchange in its mailbox, and the words for it.
//!
//! # What
//!
//! A keeper ([`natter_core::keeper`]) waits in a signaling room named by its key, its
//! mailbox. [`Ask`] joins the mailbox, seals the room's invite to the keeper's key for each
//! session it finds there and opens the one answer that was sealed back to it. It is pure
//! (server messages in, client messages out), so it is tested natively; [`run`] drives it
//! in the browser on a WebSocket of its own, as [`crate::joincode`] does for join codes,
//! and gives up when no answer came within [`ANSWER_TIMEOUT_MS`].
//!
//! # Why every session is asked
//!
//! The server says who is in the mailbox but cannot be trusted to say who the keeper is. A
//! sealed invite opens only with the keeper's secret key, and only the answer sealed with
//! the same exchange opens here, so asking every session (at most [`MAX_ASKED`]) tells a
//! hostile server or another member nothing, and an answer from anyone but the keeper does
//! not open and is ignored.

use std::borrow::Cow;
use std::collections::VecDeque;

use natter_core::identity::PublicKey;
use natter_core::joincode::Gift;
use natter_core::keeper::{seal_invite, KeeperError, KeeperReply, PendingInvite, Refusal};
use natter_core::retention::Retention;
use natter_core::signal::{ClientMessage, ErrorCode, ServerMessage};
use rand_core::{CryptoRng, RngCore};

use crate::server::KeeperInfo;

/// How long the keeper has to answer, from when the exchange starts.
pub const ANSWER_TIMEOUT_MS: u32 = 15_000;

/// The most sessions in a mailbox an invite is sealed for (each costs a key exchange).
pub const MAX_ASKED: usize = 16;

/// The longest keeper name shown that came from the server's configuration.
pub const MAX_KEEPER_NAME_CHARS: usize = 64;

/// The words shown while the keeper is being asked.
pub const ASKING: &str = "Asking the keeper…";

/// The history a member can ask a keeper to hold, in words: the choices of the "History
/// kept" field, the first being the default.
pub const RETENTIONS: [(&str, Retention); 7] = [
    ("All of it", Retention::All),
    ("The newest 100 entries", Retention::Entries(100)),
    ("The newest 1,000 entries", Retention::Entries(1_000)),
    ("The newest 10,000 entries", Retention::Entries(10_000)),
    ("The last 7 days", Retention::Days(7)),
    ("The last 30 days", Retention::Days(30)),
    ("The newest 100 MB", Retention::Bytes(100_000_000)),
];

/// The choice of [`RETENTIONS`] at `index` (the field's value), or all of it.
pub fn retention_at(index: &str) -> Retention {
    index
        .parse::<usize>()
        .ok()
        .and_then(|i| RETENTIONS.get(i))
        .map_or(Retention::All, |(_, r)| *r)
}

/// The key typed in the "Keeper key" field, or why it is not one, in words.
pub fn parse_key(text: &str) -> Result<PublicKey, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("Enter the keeper's key.".to_owned());
    }
    PublicKey::from_text(text).map_err(|e| {
        format!("That is not a keeper's key ({e}). A key is 43 letters, digits, - and _.")
    })
}

/// The name to show for keeper `key`, whom the room's history names `name`: when the room
/// knows no name for it (the node names it by its short key), the server's keeper's name
/// if it is that keeper, else "a keeper".
pub fn keeper_name(name: &str, key: &PublicKey, server: Option<&KeeperInfo>) -> String {
    if name != key.short() {
        return name.to_owned();
    }
    server
        .filter(|s| s.key.trim() == key.to_text() && !s.name.trim().is_empty())
        .map(|s| natter_core::node::shorten(s.name.trim(), MAX_KEEPER_NAME_CHARS))
        .unwrap_or_else(|| "a keeper".to_owned())
}

/// "Kept by <name> (<short key>)".
pub fn kept_by(name: &str, key: &PublicKey) -> String {
    format!("Kept by {name} ({})", key.short())
}

/// What the section says once the room was told that keeper `name` no longer keeps it.
pub fn stopped(name: &str) -> String {
    format!("This room is no longer kept by {name}.")
}

/// Where asking a keeper stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AskStatus {
    /// Under way.
    Asking,
    /// The keeper keeps the room; its name as it gave it.
    Kept {
        /// The keeper's display name.
        name: String,
    },
    /// The keeper declined.
    Refused(Refusal),
    /// Nobody answered in time.
    NoAnswer,
    /// The exchange could not be made; the words say why.
    Failed(String),
}

impl AskStatus {
    /// The exchange has ended.
    pub fn is_over(&self) -> bool {
        !matches!(self, AskStatus::Asking)
    }

    /// The words shown to the user.
    pub fn words(&self) -> String {
        match self {
            AskStatus::Asking => ASKING.to_owned(),
            AskStatus::Kept { name } => format!("{name} is now keeping this room."),
            AskStatus::Refused(Refusal::Full) => "The keeper is full and refused the room.".into(),
            AskStatus::Refused(Refusal::Invalid) => {
                "The keeper could not use this room's invite and refused the room.".into()
            }
            AskStatus::NoAnswer => "The keeper did not answer. Is it running?".into(),
            AskStatus::Failed(why) => why.clone(),
        }
    }
}

/// One request to a keeper to keep a room: its mailbox exchange, without I/O.
#[derive(Debug)]
pub struct Ask {
    key: PublicKey,
    gift: Gift,
    mailbox: String,
    /// Our session in the mailbox, once joined.
    session: Option<String>,
    /// The sessions asked, each with what opens its answer.
    asked: Vec<(String, PendingInvite)>,
    out: VecDeque<ClientMessage<'static>>,
    status: AskStatus,
}

impl Ask {
    /// Asks keeper `key` to keep the room `gift` invites to; the first message joins its
    /// mailbox.
    pub fn new(key: PublicKey, gift: Gift) -> Ask {
        let mailbox = natter_core::keeper::mailbox_id(&key);
        let out = VecDeque::from([ClientMessage::Join {
            room: Cow::Owned(mailbox.clone()),
        }]);
        Ask {
            key,
            gift,
            mailbox,
            session: None,
            asked: Vec::new(),
            out,
            status: AskStatus::Asking,
        }
    }

    /// The keeper asked.
    pub fn key(&self) -> &PublicKey {
        &self.key
    }

    /// Where it stands.
    pub fn status(&self) -> &AskStatus {
        &self.status
    }

    /// The next message to send to the server.
    pub fn poll_message(&mut self) -> Option<ClientMessage<'static>> {
        self.out.pop_front()
    }

    /// A message from the server.
    pub fn handle<R: RngCore + CryptoRng>(&mut self, msg: &ServerMessage<'_>, rng: &mut R) {
        if self.status.is_over() {
            return;
        }
        match msg {
            ServerMessage::Joined {
                room,
                session,
                peers,
            } if *room == self.mailbox => {
                self.session = Some(session.to_string());
                for peer in peers {
                    self.invite(peer, rng);
                }
            }
            ServerMessage::PeerJoined { room, session } if *room == self.mailbox => {
                self.invite(session, rng);
            }
            ServerMessage::Signal { room, from, blob } if *room == self.mailbox => {
                let Some((_, pending)) = self.asked.iter().find(|(s, _)| s == from) else {
                    return;
                };
                // An answer that does not open is not the keeper's: wait for the keeper's.
                match pending.open_reply(blob) {
                    Ok(KeeperReply::Kept { name }) => self.status = AskStatus::Kept { name },
                    Ok(KeeperReply::Refused(why)) => self.status = AskStatus::Refused(why),
                    Err(_) => {}
                }
            }
            // A session that left before its invite reached it, or a dropped frame: the
            // others may still answer.
            ServerMessage::Error {
                code: ErrorCode::UnknownPeer | ErrorCode::RateLimited,
                ..
            } => {}
            ServerMessage::Error { message, .. } => {
                let message = natter_core::node::shorten(message, 200);
                self.status = AskStatus::Failed(format!(
                    "The server could not take the request to the keeper: {message}"
                ));
            }
            ServerMessage::Reconnect { .. } => self.disconnected(),
            _ => {}
        }
    }

    /// Seals the invite for `peer` and queues it, unless it is us, asked already, or one
    /// too many.
    fn invite<R: RngCore + CryptoRng>(&mut self, peer: &str, rng: &mut R) {
        let Some(session) = self.session.as_deref() else {
            return;
        };
        if peer == session
            || self.asked.len() >= MAX_ASKED
            || self.asked.iter().any(|(s, _)| s == peer)
        {
            return;
        }
        match seal_invite(&self.key, &self.gift, session, peer, rng) {
            Ok((blob, pending)) => {
                self.out.push_back(ClientMessage::Signal {
                    room: Cow::Owned(self.mailbox.clone()),
                    to: Cow::Owned(peer.to_owned()),
                    blob: Cow::Owned(blob),
                });
                self.asked.push((peer.to_owned(), pending));
            }
            // A session id from the server too long to seal for: not the keeper's.
            Err(KeeperError::SessionTooLong) => {}
            Err(e) => self.status = AskStatus::Failed(format!("The keeper cannot be asked: {e}.")),
        }
    }

    /// The keeper did not answer in time.
    pub fn timed_out(&mut self) {
        if !self.status.is_over() {
            self.status = AskStatus::NoAnswer;
        }
    }

    /// The connection to the server closed (or could not be opened).
    pub fn disconnected(&mut self) {
        if !self.status.is_over() {
            self.status = AskStatus::Failed(
                "The connection to the server closed before the keeper answered. Try again."
                    .to_owned(),
            );
        }
    }
}

/// Runs `ask` on a WebSocket of its own to the page's server, calling `report` after every
/// change, until it is over, [`ANSWER_TIMEOUT_MS`] have passed, or `cancel` fires (or its
/// sender is dropped). The socket closes when it returns. Returns the exchange as it ended.
#[cfg(target_arch = "wasm32")]
pub async fn run(
    mut ask: Ask,
    report: impl Fn(&AskStatus),
    cancel: futures::channel::oneshot::Receiver<()>,
) -> Ask {
    use futures::{FutureExt, StreamExt};

    use crate::signaling::{page_url, Connection, SocketEvent};

    let mut connection = match page_url()
        .map_err(|e| e.to_string())
        .and_then(|url| Connection::open(&url))
    {
        Ok(c) => c,
        Err(why) => {
            web_sys::console::warn_1(&format!("keeper: {why}").into());
            ask.disconnected();
            report(ask.status());
            return ask;
        }
    };
    report(ask.status());
    let mut cancel = cancel.fuse();
    let mut deadline = gloo_timers::future::TimeoutFuture::new(ANSWER_TIMEOUT_MS).fuse();
    let mut open = false;
    loop {
        futures::select! {
            _ = cancel => return ask,
            _ = deadline => {
                ask.timed_out();
                report(ask.status());
                return ask;
            }
            event = connection.events.next() => match event {
                Some(SocketEvent::Open) => {
                    open = true;
                    flush(&connection, &mut ask);
                }
                Some(SocketEvent::Text(text)) => {
                    if let Ok(msg) = ServerMessage::decode(&text) {
                        ask.handle(&msg, &mut rand_core::OsRng);
                        if open {
                            flush(&connection, &mut ask);
                        }
                        report(ask.status());
                        if ask.status().is_over() {
                            return ask;
                        }
                    }
                }
                Some(SocketEvent::Other | SocketEvent::Error) => {}
                Some(SocketEvent::Closed { .. }) | None => {
                    ask.disconnected();
                    report(ask.status());
                    return ask;
                }
            },
        }
    }
}

/// Sends what the exchange has queued. A send that fails is seen as the socket's close.
#[cfg(target_arch = "wasm32")]
fn flush(connection: &crate::signaling::Connection, ask: &mut Ask) {
    while let Some(msg) = ask.poll_message() {
        if connection.send(&msg).is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::Ctx;
    use natter_core::identity::Identity;
    use natter_core::keeper::open_invite;
    use natter_core::room::{Room, RoomSecret};
    use rand_core::OsRng;

    fn gift() -> Result<Gift, String> {
        let room =
            Room::from_parts(RoomSecret::from_bytes([7; 32]), Some("Tea"), None).ctx("a room")?;
        Ok(Gift {
            invite: room.invite(),
            password_key: None,
            retention: natter_core::retention::Retention::All,
        })
    }

    fn keeper() -> Identity {
        Identity::from_secret_bytes(&[5; 32])
    }

    #[test]
    fn the_history_field_maps_to_its_setting_and_anything_else_keeps_everything() {
        assert_eq!(retention_at("0"), Retention::All);
        assert_eq!(retention_at("1"), Retention::Entries(100));
        assert_eq!(retention_at("4"), Retention::Days(7));
        for odd in ["", "7", "-1", "1.0", "999999999999999999999"] {
            assert_eq!(retention_at(odd), Retention::All, "{odd:?}");
        }
        // Every choice travels in an invite (a setting other than all is encoded).
        for (_, r) in RETENTIONS {
            assert_eq!(Retention::decode(&r.encode()), Some(r));
        }
    }

    /// An ask that joined the mailbox as session "me" with `peers` there, and the invites it
    /// sent, by recipient.
    fn joined(peers: &[&str]) -> Result<(Ask, Vec<(String, String)>), String> {
        let mut ask = Ask::new(keeper().public(), gift()?);
        let mailbox = natter_core::keeper::mailbox_id(&keeper().public());
        match ask.poll_message() {
            Some(ClientMessage::Join { room }) if room == mailbox => {}
            other => return Err(format!("not a join of the mailbox: {other:?}")),
        }
        ask.handle(
            &ServerMessage::Joined {
                room: mailbox.into(),
                session: "me".into(),
                peers: peers.iter().map(|p| Cow::Borrowed(*p)).collect(),
            },
            &mut OsRng,
        );
        let mut sent = Vec::new();
        while let Some(msg) = ask.poll_message() {
            match msg {
                ClientMessage::Signal { to, blob, .. } => sent.push((to.into(), blob.into())),
                other => return Err(format!("unexpected {other:?}")),
            }
        }
        Ok((ask, sent))
    }

    fn signal(from: &str, blob: &str) -> ServerMessage<'static> {
        ServerMessage::Signal {
            room: natter_core::keeper::mailbox_id(&keeper().public()).into(),
            from: from.to_owned().into(),
            blob: blob.to_owned().into(),
        }
    }

    #[test]
    fn the_keeper_opens_the_invite_and_its_answer_ends_the_exchange() -> Result<(), String> {
        let (mut ask, sent) = joined(&["stranger", "keeper"])?;
        assert_eq!(sent.len(), 2, "every session is asked");
        let (to, blob) = sent
            .iter()
            .find(|(to, _)| to == "keeper")
            .ok_or("no invite")?;
        let (got, reply) = open_invite(&keeper(), blob, "me", to).ctx("open")?;
        assert_eq!(got, gift()?);
        // A stranger's answer does not open and is ignored.
        ask.handle(&signal("stranger", "AQI"), &mut OsRng);
        assert_eq!(ask.status(), &AskStatus::Asking);
        let answer = reply.seal_reply(&KeeperReply::Kept {
            name: "Keeper".into(),
        });
        ask.handle(&signal("keeper", &answer), &mut OsRng);
        assert_eq!(
            ask.status(),
            &AskStatus::Kept {
                name: "Keeper".into()
            }
        );
        assert_eq!(ask.status().words(), "Keeper is now keeping this room.");
        Ok(())
    }

    #[test]
    fn a_keeper_that_arrives_later_is_asked_and_a_refusal_is_told() -> Result<(), String> {
        let (mut ask, sent) = joined(&[])?;
        assert!(sent.is_empty());
        let mailbox = natter_core::keeper::mailbox_id(&keeper().public());
        ask.handle(
            &ServerMessage::PeerJoined {
                room: mailbox.into(),
                session: "k".into(),
            },
            &mut OsRng,
        );
        let Some(ClientMessage::Signal { to, blob, .. }) = ask.poll_message() else {
            return Err("no invite".into());
        };
        let (_, reply) = open_invite(&keeper(), &blob, "me", &to).ctx("open")?;
        // Sealed for "k" only: the same blob from another session does not open.
        let answer = reply.seal_reply(&KeeperReply::Refused(Refusal::Full));
        ask.handle(&signal("other", &answer), &mut OsRng);
        assert_eq!(ask.status(), &AskStatus::Asking);
        ask.handle(&signal("k", &answer), &mut OsRng);
        assert_eq!(
            ask.status().words(),
            "The keeper is full and refused the room."
        );
        assert!(ask.status().is_over());
        // Over: nothing changes it.
        ask.timed_out();
        assert_eq!(ask.status(), &AskStatus::Refused(Refusal::Full));
        Ok(())
    }

    #[test]
    fn silence_a_lost_connection_and_server_errors_are_told_in_words() -> Result<(), String> {
        let (mut ask, _) = joined(&["k"])?;
        ask.timed_out();
        assert_eq!(
            ask.status().words(),
            "The keeper did not answer. Is it running?"
        );
        let (mut ask, _) = joined(&["k"])?;
        ask.disconnected();
        assert!(ask
            .status()
            .words()
            .contains("closed before the keeper answered"));
        let (mut ask, _) = joined(&["k"])?;
        let error = |code| ServerMessage::Error {
            code,
            message: "the room is full".into(),
            room: None,
            retry_after_ms: None,
        };
        ask.handle(&error(ErrorCode::UnknownPeer), &mut OsRng);
        assert_eq!(ask.status(), &AskStatus::Asking);
        ask.handle(&error(ErrorCode::RoomFull), &mut OsRng);
        assert!(ask.status().words().ends_with("the room is full"));
        Ok(())
    }

    #[test]
    fn a_hostile_server_gets_a_bounded_number_of_invites() -> Result<(), String> {
        let many: Vec<String> = (0..100).map(|i| format!("s{i}")).collect();
        let refs: Vec<&str> = many.iter().map(String::as_str).collect();
        let (_, sent) = joined(&refs)?;
        assert_eq!(sent.len(), MAX_ASKED);
        let (_, sent) = joined(&["me", "k", "k"])?;
        assert_eq!(sent.len(), 1, "not ourselves, and each session once");
        Ok(())
    }

    #[test]
    fn the_key_field_says_what_is_wrong_with_it() {
        let key = keeper().public();
        assert_eq!(parse_key(&format!("  {}\n", key.to_text())), Ok(key));
        assert_eq!(parse_key(" "), Err("Enter the keeper's key.".to_owned()));
        let short = parse_key("abc").err().unwrap_or_default();
        assert!(short.starts_with("That is not a keeper's key"), "{short}");
    }

    #[test]
    fn an_unnamed_keeper_takes_the_servers_name_for_it() {
        let key = keeper().public();
        let server = KeeperInfo {
            key: key.to_text(),
            name: "Keeper".into(),
        };
        assert_eq!(keeper_name("Kim", &key, Some(&server)), "Kim");
        assert_eq!(keeper_name(&key.short(), &key, Some(&server)), "Keeper");
        assert_eq!(keeper_name(&key.short(), &key, None), "a keeper");
        let other = Identity::from_secret_bytes(&[6; 32]).public();
        assert_eq!(
            keeper_name(&other.short(), &other, Some(&server)),
            "a keeper"
        );
        assert_eq!(
            kept_by("Keeper", &key),
            format!("Kept by Keeper ({})", key.short())
        );
    }
}
