//! What the views show of the node's state: the room list and the open room.
//!
//! Pure functions of a [`Node`] (no browser calls), so they are tested natively. The open
//! room's messages carry their delivery status (how many connected peers hold each of our
//! entries), the keeper that delivered them if one did (known for this session only, see
//! natter-core's `node`), reply excerpts and reactions; its peers are the connected ones first, then a
//! bounded number known from the history ([`crate::safety::shown`]), each with its safety
//! number and a warning when an unverified key uses the name of a verified one.

use std::collections::{BTreeSet, HashMap};

use natter_core::identity::PublicKey;
use natter_core::log::{EntryId, ViewBuilder};
use natter_core::node::{room_name, ConnState, Node, Verdict};
use natter_core::room::RoomId;
use natter_core::sync::PeerId;
use natter_core::wire::Presence;

use crate::safety::SafetyNumbers;
use crate::state::{
    Delivery, KeeperView, MessageView, PeerPresence, PeerView, RoomState, RoomSummary,
};

/// Characters of a replied-to message shown above a reply.
pub const EXCERPT_CHARS: usize = 80;

/// The most keepers of a room listed (any member may name keys keepers; the rest are
/// counted, not listed, and get no safety number).
pub const MAX_KEEPERS_SHOWN: usize = 8;

/// Every room, the most recently active first.
pub fn room_list(node: &Node, unread: &HashMap<RoomId, u32>) -> Vec<RoomSummary> {
    let mut list: Vec<RoomSummary> = node
        .rooms()
        .map(|(id, r)| RoomSummary {
            id: *id,
            name: room_name(r.room()),
            ephemeral: r.ephemeral(),
            password: r.room().has_password(),
            unread: unread.get(id).copied().unwrap_or(0),
            last_activity_ms: r.last_activity_ms(),
            peers_online: node.online(*id),
            left: r.left(),
        })
        .collect();
    list.sort_by(|a, b| {
        b.last_activity_ms
            .cmp(&a.last_activity_ms)
            .then(a.name.cmp(&b.name))
    });
    list
}

/// The open room as shown, with its latest `shown` messages, from its view (kept up to
/// date by the caller); `base_url` is where invite links point. Only the messages shown are
/// turned into views, so a refresh costs what is shown, not the room's whole history.
pub fn room_state(
    node: &Node,
    id: RoomId,
    built: &ViewBuilder,
    shown: usize,
    base_url: &str,
    safety: &mut SafetyNumbers,
) -> Option<RoomState> {
    let r = node.room(&id)?;
    let me = node.me();
    let view = built.view();
    let name_of = |k: &PublicKey| node.name_of(Some(&id), k);
    // Delivery: how many connected peers hold each of our seqs.
    let holders: Vec<u64> = node
        .conns_in(id)
        .filter(|(_, c)| c.verified_key().is_some())
        .map(|(k, _)| r.sync().peer_holds(PeerId(k.0), &me))
        .collect();
    let delivery = |seq: u64| match (holders.iter().filter(|h| **h >= seq).count(), r.ephemeral()) {
        (0, false) => Delivery::Saved,
        (0, true) => Delivery::InMemory,
        (n, _) => Delivery::Delivered(n),
    };
    let served_by = |e: &EntryId| r.served_by(e).copied();
    let messages = message_views(built, shown, &me, &name_of, &served_by, delivery);
    // Peers: connected ones first, then (a bounded number) known from the history.
    let mut keys: Vec<(PublicKey, PeerPresence)> = Vec::new();
    let mut connecting = 0usize;
    for (_, c) in node.conns_in(id) {
        match &c.state {
            ConnState::Verified { key, .. } => {
                let p = if matches!(
                    c.link,
                    natter_core::node::Link::Disconnected | natter_core::node::Link::Failed
                ) {
                    PeerPresence::Connecting
                } else if r.presence(key) == Presence::Online {
                    PeerPresence::Online
                } else {
                    PeerPresence::Away
                };
                keys.push((*key, p));
            }
            _ => connecting += 1,
        }
    }
    let connected: BTreeSet<PublicKey> = keys.iter().map(|(k, _)| *k).collect();
    let offline = r
        .sync()
        .log()
        .authors()
        .filter(|a| **a != me && !connected.contains(*a));
    let (offline, more_peers) = crate::safety::shown(offline, r.verified());
    keys.extend(offline.into_iter().map(|k| (k, PeerPresence::Offline)));
    // The keepers listed are peers too (with a safety number), even before they wrote.
    let keepers: Vec<PublicKey> = view
        .keepers()
        .iter()
        .take(MAX_KEEPERS_SHOWN)
        .copied()
        .collect();
    let more_keepers = view.keepers().len() - keepers.len();
    for k in &keepers {
        if *k != me && !keys.iter().any(|(listed, _)| listed == k) {
            keys.push((*k, PeerPresence::Offline));
        }
    }
    let verified_names: Vec<(PublicKey, String)> =
        r.verified().iter().map(|k| (*k, name_of(k))).collect();
    let typing: BTreeSet<PublicKey> = r.typing().copied().collect();
    let mut peers: Vec<PeerView> = keys
        .into_iter()
        .map(|(key, presence)| {
            let name = name_of(&key);
            let verified = r.verified().contains(&key);
            let key_changed = !verified
                && verified_names
                    .iter()
                    .any(|(vk, vn)| *vk != key && *vn == name);
            PeerView {
                key: Some(key),
                safety_number: safety.of(&me, &key),
                name,
                presence,
                verified,
                key_changed,
                typing: typing.contains(&key),
                keeper: view.keepers().contains(&key),
            }
        })
        .collect();
    peers.extend((0..connecting).map(|_| PeerView {
        key: None,
        name: "Someone joining".into(),
        presence: PeerPresence::Connecting,
        safety_number: Vec::new(),
        verified: false,
        key_changed: false,
        typing: false,
        keeper: false,
    }));
    Some(RoomState {
        id,
        name: room_name(r.room()),
        invite_link: r.room().invite_link(base_url),
        ephemeral: r.ephemeral(),
        password: r.room().has_password(),
        messages,
        peers,
        missing: r.missing(),
        older_missing: {
            let log = r.sync().log();
            log.authors().any(|a| log.base_of(a) > 0)
        },
        left: r.left(),
        password_hint: r.lobby_verdict() == Some(Verdict::PasswordMayBeWrong),
        more_peers,
        total_messages: view.messages.len(),
        keepers: keepers
            .into_iter()
            .map(|key| KeeperView {
                name: name_of(&key),
                key,
            })
            .collect(),
        more_keepers,
        files_here: Vec::new(),
    })
}

/// The latest `shown` messages of `built` as shown: `name_of` names authors, `served_by`
/// says which keeper delivered an entry, `delivery` says what became of our entry with a
/// given seq. A message is shown as delivered via a keeper whenever one delivered it.
fn message_views(
    built: &ViewBuilder,
    shown: usize,
    me: &PublicKey,
    name_of: &dyn Fn(&PublicKey) -> String,
    served_by: &dyn Fn(&EntryId) -> Option<PublicKey>,
    delivery: impl Fn(u64) -> Delivery,
) -> Vec<MessageView> {
    let view = built.view();
    let first = view.messages.len().saturating_sub(shown);
    view.messages[first..]
        .iter()
        .map(|m| {
            let mine = m.author == *me;
            let delivery = if mine {
                delivery(m.seq)
            } else {
                Delivery::None
            };
            let reply_to = m.reply_to.map(|t| {
                let excerpt = built
                    .position(&t)
                    .and_then(|i| view.messages.get(i))
                    .map(|o| {
                        let text: String = o.text.chars().take(EXCERPT_CHARS).collect();
                        format!("{}: {}", name_of(&o.author), text)
                    })
                    .unwrap_or_else(|| "an earlier message".into());
                (t, excerpt)
            });
            MessageView {
                id: m.id,
                author: name_of(&m.author),
                mine,
                text: if m.deleted {
                    String::new()
                } else {
                    m.text.clone()
                },
                wall_ms: m.wall_ms,
                edited: m.edited,
                deleted: m.deleted,
                reply_to,
                reactions: m
                    .reactions
                    .iter()
                    .filter(|(_, who)| !who.is_empty())
                    .map(|(e, who)| (e.clone(), who.len(), who.contains(me)))
                    .collect(),
                delivery,
                keeper: view.keepers().contains(&m.author),
                file: m.file.as_ref().map(crate::files::FileView::of),
                via_keeper: served_by(&m.id).map(|k| name_of(&k)),
            }
        })
        .collect()
}

/// A stored room before its history has loaded: its newest `records` (a page from
/// storage, ours to trust), shown at once while the rest loads. Names are the ones that
/// page holds; peers and delivery come with the whole room.
pub fn preview_state(
    room: &natter_core::room::Room,
    records: &[natter_core::log::Record],
    me: &PublicKey,
    my_name: &str,
    left: bool,
    base_url: &str,
) -> RoomState {
    let built = ViewBuilder::of(records);
    let names = &built.view().names;
    let name_of = |k: &PublicKey| {
        if k == me {
            my_name.to_owned()
        } else {
            names.get(k).cloned().unwrap_or_else(|| k.short())
        }
    };
    let messages = message_views(&built, records.len(), me, &name_of, &|_| None, |_| {
        Delivery::Saved
    });
    RoomState {
        id: room.id(),
        name: room_name(room),
        invite_link: room.invite_link(base_url),
        ephemeral: false,
        password: room.has_password(),
        total_messages: messages.len(),
        messages,
        peers: Vec::new(),
        missing: 0,
        left,
        password_hint: false,
        more_peers: 0,
        keepers: Vec::new(),
        more_keepers: 0,
        files_here: Vec::new(),
        older_missing: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::Ctx;
    use natter_core::identity::Identity;
    use natter_core::log::{Body, Draft, Entry, EntryId, Record};
    use natter_core::node::{Input, NodeConfig, RoomSetup};
    use natter_core::room::{Room, RoomSecret};

    fn node() -> Node {
        Node::new(
            Identity::from_secret_bytes(&[1; 32]),
            "Me".into(),
            NodeConfig::default(),
            Box::new(rand_core::OsRng),
        )
    }

    fn room() -> Result<Room, String> {
        Room::from_parts(RoomSecret::from_bytes([9; 32]), Some("Tea"), None).ctx("room")
    }

    /// A profile entry (seq 1) of the identity made from `seed`.
    fn profile(room: &Room, seed: u8, name: &str) -> Result<Record, String> {
        let draft = Draft {
            room_id: room.id(),
            seq: 1,
            prev_hash: EntryId::ZERO,
            lamport: 1,
            wall_ms: 0,
            body: Body::Profile {
                display_name: name.into(),
            },
        };
        let entry = Entry::sign(&Identity::from_secret_bytes(&[seed; 32]), draft).ctx("sign")?;
        Ok(Record::from_entry(entry))
    }

    /// The room as shown, its view built from the node's log.
    fn shown(node: &Node, id: RoomId) -> Result<RoomState, String> {
        shown_latest(node, id, usize::MAX)
    }

    /// The room as shown with its latest `n` messages.
    fn shown_latest(node: &Node, id: RoomId, n: usize) -> Result<RoomState, String> {
        let built = node
            .room(&id)
            .map(|r| ViewBuilder::of(r.sync().log().in_display_order()))
            .unwrap_or_default();
        room_state(
            node,
            id,
            &built,
            n,
            "https://n.test/",
            &mut SafetyNumbers::default(),
        )
        .ok_or_else(|| "no room".to_owned())
    }

    /// Posts a text (replying to `reply_to`).
    fn post(
        node: &mut Node,
        id: RoomId,
        text: &str,
        reply_to: Option<EntryId>,
    ) -> Result<(), String> {
        let body = Body::Text {
            text: text.into(),
            reply_to,
        };
        node.handle(10, Input::Post { room: id, body }).ctx("post")
    }

    #[test]
    fn own_messages_say_where_they_are_and_replies_quote_what_they_answer() -> Result<(), String> {
        let mut n = node();
        let room = room()?;
        let id = room.id();
        n.handle(5, Input::AddRoom(Box::new(RoomSetup::new(room, false))))
            .ctx("add")?;
        let long = "x".repeat(200);
        post(&mut n, id, &long, None)?;
        let first = shown(&n, id)?;
        let target = first.messages[0].id;
        post(&mut n, id, "yes", Some(target))?;
        post(&mut n, id, "?", Some(EntryId([5; 32])))?;
        let s = shown(&n, id)?;
        assert_eq!(s.messages.len(), 3);
        assert!(s
            .messages
            .iter()
            .all(|m| m.mine && m.delivery == Delivery::Saved));
        let (to, excerpt) = s.messages[1].reply_to.clone().ok_or("no reply")?;
        assert_eq!(to, target);
        assert_eq!(excerpt, format!("Me: {}", "x".repeat(EXCERPT_CHARS)));
        assert_eq!(
            s.messages[2].reply_to.as_ref().map(|r| r.1.as_str()),
            Some("an earlier message")
        );
        assert!(s.invite_link.starts_with("https://n.test/"));
        // Only the latest are made into views; a reply still quotes what it answers.
        let latest = shown_latest(&n, id, 2)?;
        assert_eq!((latest.total_messages, latest.messages.len()), (3, 2));
        assert_eq!(latest.messages[0].reply_to, s.messages[1].reply_to);
        Ok(())
    }

    #[test]
    fn an_unverified_key_with_a_verified_name_is_flagged_and_ephemeral_rooms_say_so(
    ) -> Result<(), String> {
        let mut n = node();
        let room = room()?;
        let id = room.id();
        let bob = profile(&room, 2, "Bob")?;
        let impostor = profile(&room, 3, "Bob")?;
        let bob_key = bob.entry.author;
        let setup = RoomSetup {
            history: vec![bob, impostor.clone()],
            verified: [bob_key].into(),
            stored: true,
            ..RoomSetup::new(room, true)
        };
        n.handle(5, Input::AddRoom(Box::new(setup))).ctx("add")?;
        post(&mut n, id, "hi", None)?;
        let s = shown(&n, id)?;
        let by_key = |k: &PublicKey| s.peers.iter().find(|p| p.key == Some(*k));
        let real = by_key(&bob_key).ok_or("bob listed")?;
        let fake = by_key(&impostor.entry.author).ok_or("impostor listed")?;
        assert!(real.verified && !real.key_changed);
        assert!(!fake.verified && fake.key_changed);
        assert_eq!(fake.presence, PeerPresence::Offline);
        assert_eq!(s.messages[0].delivery, Delivery::InMemory);
        let list = room_list(&n, &[(id, 4)].into());
        assert_eq!(
            (list.len(), list[0].unread, list[0].ephemeral),
            (1, 4, true)
        );
        Ok(())
    }

    #[test]
    fn a_keeper_is_listed_with_a_badge_and_a_safety_number_until_it_is_stopped(
    ) -> Result<(), String> {
        let mut n = node();
        let room = room()?;
        let id = room.id();
        n.handle(5, Input::AddRoom(Box::new(RoomSetup::new(room, false))))
            .ctx("add")?;
        let key = Identity::from_secret_bytes(&[5; 32]).public();
        let keep = |keep| Input::Post {
            room: id,
            body: Body::Keeper { key, keep },
        };
        n.handle(10, keep(true)).ctx("keep")?;
        post(&mut n, id, "hi", None)?;
        let s = shown(&n, id)?;
        assert_eq!(
            s.keepers,
            vec![KeeperView {
                key,
                name: key.short()
            }]
        );
        assert_eq!(s.more_keepers, 0);
        let listed = s
            .peers
            .iter()
            .find(|p| p.key == Some(key))
            .ok_or("keeper listed")?;
        assert!(listed.keeper && !listed.verified);
        assert_eq!(listed.safety_number.len(), 12);
        assert_eq!(listed.presence, PeerPresence::Offline);
        // Our message is not the keeper's; the entry itself is no message.
        assert_eq!(s.messages.len(), 1);
        assert!(!s.messages[0].keeper);
        n.handle(20, keep(false)).ctx("stop")?;
        let s = shown(&n, id)?;
        assert!(s.keepers.is_empty());
        assert!(s.peers.iter().all(|p| p.key != Some(key)));
        Ok(())
    }

    #[test]
    fn only_so_many_keepers_are_listed() -> Result<(), String> {
        let mut n = node();
        let room = room()?;
        let id = room.id();
        n.handle(5, Input::AddRoom(Box::new(RoomSetup::new(room, false))))
            .ctx("add")?;
        for seed in 10..(10 + MAX_KEEPERS_SHOWN as u8 + 3) {
            let key = Identity::from_secret_bytes(&[seed; 32]).public();
            let body = Body::Keeper { key, keep: true };
            n.handle(10, Input::Post { room: id, body }).ctx("keep")?;
        }
        let s = shown(&n, id)?;
        assert_eq!((s.keepers.len(), s.more_keepers), (MAX_KEEPERS_SHOWN, 3));
        assert_eq!(
            s.peers.iter().filter(|p| p.keeper).count(),
            MAX_KEEPERS_SHOWN
        );
        Ok(())
    }
}

#[cfg(test)]
mod preview_tests {
    use super::*;
    use crate::test_support::Ctx;
    use natter_core::identity::Identity;
    use natter_core::log::{Body, Draft, Entry, EntryId, Record};
    use natter_core::room::{Room, RoomSecret};

    /// The chain of `texts` by the identity made from `seed`, a profile `name` first.
    fn chain(room: &Room, seed: u8, name: &str, texts: &[&str]) -> Result<Vec<Record>, String> {
        let who = Identity::from_secret_bytes(&[seed; 32]);
        let bodies = std::iter::once(Body::Profile {
            display_name: name.into(),
        })
        .chain(texts.iter().map(|t| Body::Text {
            text: (*t).into(),
            reply_to: None,
        }));
        let mut prev = EntryId::ZERO;
        let mut out = Vec::new();
        for (i, body) in bodies.enumerate() {
            let seq = i as u64 + 1;
            let draft = Draft {
                room_id: room.id(),
                seq,
                prev_hash: prev,
                lamport: seq * 2 + u64::from(seed),
                wall_ms: 1_000 * seq,
                body,
            };
            let record = Record::from_entry(Entry::sign(&who, draft).ctx("sign")?);
            prev = record.id;
            out.push(record);
        }
        Ok(out)
    }

    #[test]
    fn a_stored_rooms_newest_page_shows_at_once_with_the_names_it_holds() -> Result<(), String> {
        let room =
            Room::from_parts(RoomSecret::from_bytes([4; 32]), Some("Tea"), None).ctx("room")?;
        let me = Identity::from_secret_bytes(&[1; 32]).public();
        let mut records = chain(&room, 1, "Me", &["mine"])?;
        records.extend(chain(&room, 2, "Ann", &["hello", "again"])?);
        // A page that starts after Bob's profile: he is shown by his short key. Display
        // order is by Lamport time: 5, 6, 7 (Bob), 8.
        let bob = chain(&room, 3, "Bob", &["late"])?;
        records.push(bob[1].clone());
        let state = preview_state(&room, &records, &me, "Myself", false, "https://n.test/");
        assert_eq!(state.id, room.id());
        assert_eq!(state.name, "Tea");
        let shown: Vec<(String, String, bool)> = state
            .messages
            .iter()
            .map(|m| (m.author.clone(), m.text.clone(), m.mine))
            .collect();
        let bob_key = Identity::from_secret_bytes(&[3; 32]).public();
        assert_eq!(
            shown,
            vec![
                ("Myself".to_owned(), "mine".to_owned(), true),
                ("Ann".to_owned(), "hello".to_owned(), false),
                (bob_key.short(), "late".to_owned(), false),
                ("Ann".to_owned(), "again".to_owned(), false),
            ]
        );
        assert_eq!(state.messages[0].delivery, Delivery::Saved);
        assert_eq!(state.total_messages, 4);
        assert!(state.peers.is_empty());
        assert!(state.invite_link.starts_with("https://n.test/#/join/"));
        Ok(())
    }

    #[test]
    fn a_message_a_keeper_delivered_names_the_keeper_and_no_other_does() -> Result<(), String> {
        let room =
            Room::from_parts(RoomSecret::from_bytes([4; 32]), Some("Tea"), None).ctx("room")?;
        let me = Identity::from_secret_bytes(&[1; 32]).public();
        let mut records = chain(&room, 2, "Ann", &["served", "direct"])?;
        records.extend(chain(&room, 3, "Vault", &["its own"])?);
        let keeper = Identity::from_secret_bytes(&[3; 32]).public();
        let built = ViewBuilder::of(&records);
        let names = &built.view().names;
        let name_of = |k: &PublicKey| names.get(k).cloned().unwrap_or_else(|| k.short());
        // The keeper delivered Ann's first text and its own.
        let by_keeper = [records[1].id, records[4].id];
        let served_by = |e: &EntryId| by_keeper.contains(e).then_some(keeper);
        let shown: Vec<(String, Option<String>)> =
            message_views(&built, 3, &me, &name_of, &served_by, |_| Delivery::None)
                .into_iter()
                .map(|m| (m.text, m.via_keeper))
                .collect();
        // Display order is by Lamport time: 6 (Ann), 7 (Vault), 8 (Ann).
        let text = |t: &str| t.to_owned();
        assert_eq!(
            shown,
            vec![
                (text("served"), Some(text("Vault"))),
                (text("its own"), Some(text("Vault"))),
                (text("direct"), None),
            ]
        );
        Ok(())
    }
}
