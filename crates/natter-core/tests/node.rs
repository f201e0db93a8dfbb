//! One `Node` driven by hand: the local actions, the bounds on what a server names, and
//! the timers (whole networks of nodes are in `node_sim.rs`).

use natter_core::blob::{leaf_hash, Outboard, CHUNK_LEN};
use natter_core::blobwire::BlobFrame;
use natter_core::fetch::Availability;
use natter_core::hello::{Hello, HelloContext};
use natter_core::identity::Identity;
use natter_core::log::{Body, FileRef, Record};
use natter_core::node::files::SERVE_WINDOW;
use natter_core::node::{ConnId, Input, Node, NodeConfig, Output, RoomSetup};
use natter_core::peer_signal::PeerSignal;
use natter_core::room::{Room, RoomId, RoomSecret};
use natter_core::sim::SimRng;
use natter_core::sync::{PeerId, RoomSync, SyncConfig};
use natter_core::wire::Frame;

fn node() -> Node {
    Node::new(
        Identity::from_secret_bytes(&[1; 32]),
        "Ann".into(),
        NodeConfig::default(),
        Box::new(SimRng::new(1)),
    )
}

fn room(byte: u8) -> Room {
    Room::from_parts(RoomSecret::from_bytes([byte; 32]), None, None).expect("a room")
}

fn outputs(n: &mut Node) -> Vec<Output> {
    std::iter::from_fn(|| n.poll_output()).collect()
}

fn step(n: &mut Node, now: u64, input: Input) -> Vec<Output> {
    n.handle(now, input).expect("handled");
    outputs(n)
}

/// A node in room `r` (persistent unless `ephemeral`), joined as session "m".
fn joined(r: &Room, ephemeral: bool, peers: &[&str]) -> (Node, Vec<Output>) {
    let mut n = node();
    let mut out = step(
        &mut n,
        1,
        Input::AddRoom(Box::new(RoomSetup::new(r.clone(), ephemeral))),
    );
    out.extend(step(
        &mut n,
        2,
        Input::Joined {
            room: r.id().to_hex(),
            session: "m".into(),
            peers: peers.iter().map(|p| (*p).to_owned()).collect(),
        },
    ));
    (n, out)
}

fn opened(out: &[Output]) -> Vec<ConnId> {
    out.iter()
        .filter_map(|o| match o {
            Output::OpenConn { conn, .. } => Some(*conn),
            _ => None,
        })
        .collect()
}

#[test]
fn a_new_room_is_joined_saved_and_gets_our_profile_stored_before_anything_else() {
    let r = room(1);
    let (_, out) = joined(&r, false, &[]);
    assert!(matches!(&out[0], Output::JoinSignaling(id) if *id == r.id().to_hex()));
    assert!(out
        .iter()
        .any(|o| matches!(o, Output::SaveRoom(m) if m.room.id() == r.id())));
    let stored = out
        .iter()
        .find_map(|o| match o {
            Output::StoreOwn { records, .. } => Some(records),
            _ => None,
        })
        .expect("our profile is stored");
    assert!(
        matches!(&stored[0].entry.body, Body::Profile { display_name } if display_name == "Ann")
    );
}

#[test]
fn an_ephemeral_room_asks_for_no_storage_at_all() {
    let r = room(2);
    let (mut n, mut out) = joined(&r, true, &[]);
    let body = Body::Text {
        text: "hi".into(),
        reply_to: None,
    };
    out.extend(step(&mut n, 3, Input::Post { room: r.id(), body }));
    out.extend(step(&mut n, 4, Input::Leave(r.id())));
    assert!(out.iter().all(|o| !matches!(
        o,
        Output::StoreOwn { .. }
            | Output::Store { .. }
            | Output::SaveRoom(_)
            | Output::DeleteRoom(_)
    )));
    assert!(
        n.room(&r.id()).is_none(),
        "leaving an ephemeral room forgets it"
    );
}

#[test]
fn reacting_twice_with_one_emoji_takes_the_reaction_back() {
    let r = room(3);
    let (mut n, _) = joined(&r, false, &[]);
    let body = Body::Text {
        text: "tea?".into(),
        reply_to: None,
    };
    step(&mut n, 3, Input::Post { room: r.id(), body });
    let log = n.room(&r.id()).expect("room").sync().log();
    let target = log.entries_of(&n.me()).last().expect("posted").id;
    let react = |n: &mut Node| {
        step(
            n,
            4,
            Input::React {
                room: r.id(),
                target,
                emoji: "👍".into(),
            },
        )
    };
    react(&mut n);
    react(&mut n);
    let ours = n
        .room(&r.id())
        .expect("room")
        .sync()
        .log()
        .entries_of(&n.me())
        .cloned()
        .collect::<Vec<_>>();
    let reaction = ours[ours.len() - 2].id;
    assert!(matches!(
        ours[ours.len() - 2].entry.body,
        Body::Reaction { .. }
    ));
    assert!(matches!(ours[ours.len() - 1].entry.body, Body::Delete { target: t } if t == reaction));
    let view = n.room(&r.id()).expect("room").sync().view();
    assert!(view.messages[0]
        .reactions
        .iter()
        .all(|(_, who)| who.is_empty()));
}

#[test]
fn a_bad_name_is_refused_in_words_and_a_good_one_is_posted_in_every_room() {
    let (a, b) = (room(4), room(5));
    let (mut n, _) = joined(&a, false, &[]);
    step(
        &mut n,
        3,
        Input::AddRoom(Box::new(RoomSetup::new(b.clone(), false))),
    );
    let out = step(&mut n, 4, Input::SetName("x".repeat(500)));
    assert!(matches!(&out[..], [Output::Notice(t)] if t.starts_with("That name cannot be used")));
    let out = step(&mut n, 5, Input::SetName("  Ann   Lee ".into()));
    assert!(matches!(&out[0], Output::NameChanged(name) if name == "Ann Lee"));
    for r in [&a, &b] {
        assert_eq!(
            n.room(&r.id())
                .expect("room")
                .sync()
                .log()
                .display_name(&n.me()),
            Some("Ann Lee")
        );
    }
}

#[test]
fn a_server_naming_a_crowd_gets_a_bounded_number_of_connections() {
    let r = room(6);
    // Sessions on both sides of ours ("m") in the order politeness goes by.
    let peers: Vec<String> = (0..500)
        .map(|i| format!("{}{i:03}", if i % 2 == 0 { "a" } else { "p" }))
        .collect();
    let refs: Vec<&str> = peers.iter().map(String::as_str).collect();
    let (mut n, out) = joined(&r, false, &refs);
    assert_eq!(opened(&out).len(), NodeConfig::default().max_conns_per_room);
    // Politeness follows the session ids' order.
    assert!(out
        .iter()
        .any(|o| matches!(o, Output::OpenConn { polite: false, .. })));
    let more = step(
        &mut n,
        3,
        Input::PeerJoined {
            room: r.id().to_hex(),
            session: "zz".into(),
        },
    );
    assert!(opened(&more).is_empty());
}

#[test]
fn a_blob_that_does_not_open_is_dropped_and_one_that_does_reaches_its_connection() {
    let r = room(7);
    let (mut n, _) = joined(&r, false, &[]);
    let junk = step(
        &mut n,
        3,
        Input::Blob {
            room: r.id().to_hex(),
            from: "x".into(),
            blob: "AAAA".into(),
        },
    );
    assert!(opened(&junk).is_empty());
    let signal = PeerSignal::Sdp {
        kind: "offer".into(),
        sdp: "v=0".into(),
    };
    let blob = natter_core::seal::seal_to_text(
        r.signal_key(),
        &mut SimRng::new(2),
        &r.id(),
        "x",
        "m",
        &signal.encode(),
    )
    .expect("sealed");
    let out = step(
        &mut n,
        4,
        Input::Blob {
            room: r.id().to_hex(),
            from: "x".into(),
            blob,
        },
    );
    let conn = opened(&out)[0];
    assert!(out.iter().any(
        |o| matches!(o, Output::ApplySignal { conn: c, signal: s } if *c == conn && *s == signal)
    ));
    // What the connection has to say is sealed to that session.
    let out = step(
        &mut n,
        5,
        Input::LocalSignal {
            conn,
            signal: signal.clone(),
        },
    );
    let Some(Output::Signal { to, blob, .. }) = out.into_iter().next() else {
        panic!("no signal relayed");
    };
    assert_eq!(to, "x");
    let plain =
        natter_core::seal::open_text(r.signal_key(), &r.id(), "m", "x", &blob).expect("opens");
    assert_eq!(PeerSignal::decode(&plain), Some(signal));
}

#[test]
fn a_peer_that_never_proves_itself_is_closed_at_its_deadline_and_retried_later() {
    let r = room(8);
    let (mut n, out) = joined(&r, false, &["p"]);
    let conn = opened(&out)[0];
    let fp = "sha-256 AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA";
    let out = step(
        &mut n,
        10,
        Input::ChannelOpen {
            conn,
            local_fingerprint: fp.into(),
            remote_fingerprint: fp.into(),
        },
    );
    assert!(
        out.iter().any(|o| matches!(o, Output::Send { .. })),
        "our hello"
    );
    let deadline = 10 + NodeConfig::default().hello_timeout_ms;
    assert!(step(&mut n, deadline - 1, Input::Tick)
        .iter()
        .all(|o| !matches!(o, Output::CloseConn(_))));
    let out = step(&mut n, deadline, Input::Tick);
    assert!(out
        .iter()
        .any(|o| matches!(o, Output::CloseConn(c) if *c == conn)));
    assert!(out
        .iter()
        .any(|o| matches!(o, Output::Notice(t) if t.contains("did not say who it is"))));
    // The session is still in the room: it is tried again after the first wait.
    let retry = deadline + NodeConfig::default().retry_ms;
    assert!(opened(&step(&mut n, retry - 1, Input::Tick)).is_empty());
    assert_eq!(opened(&step(&mut n, retry, Input::Tick)).len(), 1);
    // A connection still negotiating when the peer leaves the server cannot finish.
    let conn = n.conns_in(r.id()).next().expect("retried").0;
    let out = step(
        &mut n,
        retry + 1,
        Input::PeerLeft {
            room: r.id().to_hex(),
            session: "p".into(),
        },
    );
    assert!(out
        .iter()
        .any(|o| matches!(o, Output::CloseConn(c) if *c == conn)));
    // Nor is a session that left tried again.
    assert!(opened(&step(&mut n, retry + 100_000, Input::Tick)).is_empty());
}

#[test]
fn rooms_are_told_apart_by_id() {
    let (a, b) = (room(9), room(10));
    assert_ne!(a.id(), b.id());
    let (mut n, _) = joined(&a, false, &[]);
    assert!(n
        .handle(
            3,
            Input::Post {
                room: RoomId([0; 32]),
                body: Body::Text {
                    text: "x".into(),
                    reply_to: None
                }
            }
        )
        .is_err());
}

/// Opens `conn` (to session `session` of `peer`) and hands the node the peer's hello.
fn verify(n: &mut Node, r: &Room, conn: ConnId, session: &str, peer: &Identity, now: u64) {
    let (ours, theirs) = (
        "sha-256 AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA",
        "sha-256 BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB",
    );
    step(
        n,
        now,
        Input::ChannelOpen {
            conn,
            local_fingerprint: ours.into(),
            remote_fingerprint: theirs.into(),
        },
    );
    let ctx = HelloContext::new(r.id(), theirs, ours, session, "m").expect("a context");
    let hello = Hello::new(peer, "Peer", &ctx).expect("a hello");
    step(
        n,
        now,
        Input::Frame {
            conn,
            bytes: Frame::Hello(hello.to_bytes()).encode(),
        },
    );
    assert_eq!(
        n.conn(conn).and_then(|c| c.verified_key()),
        Some(&peer.public())
    );
}

/// A node in `r` whose server names sessions "k" and "p": the node and its connections to
/// them.
fn joined_with_keeper_and_member(r: &Room) -> (Node, ConnId, ConnId) {
    let (n, out) = joined(r, false, &["k", "p"]);
    let conns = opened(&out);
    let session = |c: ConnId| n.conn(c).map(|c| c.remote_session.clone());
    if session(conns[0]).as_deref() == Some("k") {
        (n, conns[0], conns[1])
    } else {
        (n, conns[1], conns[0])
    }
}

#[test]
fn a_peer_the_room_names_a_keeper_is_of_low_priority_from_its_hello_and_as_the_room_changes() {
    let r = room(11);
    let (keeper, member) = (
        Identity::from_secret_bytes(&[20; 32]),
        Identity::from_secret_bytes(&[21; 32]),
    );
    let (mut n, to_keeper, to_member) = joined_with_keeper_and_member(&r);
    let post = |n: &mut Node, now, key, keep| {
        step(
            n,
            now,
            Input::Post {
                room: r.id(),
                body: Body::Keeper { key, keep },
            },
        );
    };
    post(&mut n, 3, keeper.public(), true);
    verify(&mut n, &r, to_keeper, "k", &keeper, 4);
    verify(&mut n, &r, to_member, "p", &member, 5);
    let low = |n: &Node, c: ConnId| {
        n.room(&r.id())
            .expect("room")
            .sync()
            .is_low_priority(PeerId(c.0))
    };
    assert!(low(&n, to_keeper), "named before its hello verified");
    assert!(!low(&n, to_member));
    // The room changes its mind: the keeper stops, the member keeps.
    post(&mut n, 6, keeper.public(), false);
    assert!(!low(&n, to_keeper));
    post(&mut n, 7, member.public(), true);
    assert!(low(&n, to_member));
    assert!(!low(&n, to_keeper));
}

#[test]
fn entries_a_keeper_delivered_are_recorded_as_served_by_it_and_no_others() {
    let r = room(12);
    let (keeper, member, writer) = (
        Identity::from_secret_bytes(&[30; 32]),
        Identity::from_secret_bytes(&[31; 32]),
        Identity::from_secret_bytes(&[32; 32]),
    );
    // The writer's chain: a text, then naming the keeper, then three texts.
    let mut w = RoomSync::new(r.id(), writer, SyncConfig::default());
    let bodies = [
        text("before"),
        Body::Keeper {
            key: keeper.public(),
            keep: true,
        },
        text("one"),
        text("two"),
        text("three"),
    ];
    for b in bodies {
        w.handle(1, natter_core::sync::Input::Post(b))
            .expect("a post");
    }
    let recs: Vec<Record> = w.log().entries_of(&w.me()).cloned().collect::<Vec<_>>();
    let (mut n, to_keeper, to_member) = joined_with_keeper_and_member(&r);
    verify(&mut n, &r, to_keeper, "k", &keeper, 3);
    verify(&mut n, &r, to_member, "p", &member, 3);
    let send = |n: &mut Node, conn, recs: &[Record]| {
        step(
            n,
            4,
            Input::Frame {
                conn,
                bytes: Frame::Entries(recs.to_vec()).encode(),
            },
        );
    };
    // Before the room names it a keeper, what it delivers is no keeper's.
    send(&mut n, to_keeper, &recs[..1]);
    // The frame that names it a keeper counts for the entries it carries.
    send(&mut n, to_keeper, &recs[1..4]);
    send(&mut n, to_member, &recs[4..]);
    step(
        &mut n,
        5,
        Input::Post {
            room: r.id(),
            body: text("ours"),
        },
    );
    let room = n.room(&r.id()).expect("room");
    let log = room.sync().log();
    assert_eq!(log.top_of(&w.me()), 5, "every entry accepted");
    let served: Vec<Option<_>> = recs
        .iter()
        .map(|e| room.served_by(&e.id).copied())
        .collect();
    let k = Some(keeper.public());
    assert_eq!(served, vec![None, k, k, k, None]);
    let ours = log.entries_of(&n.me()).last().expect("our post");
    assert_eq!(room.served_by(&ours.id), None);
}

fn text(t: &str) -> Body {
    Body::Text {
        text: t.into(),
        reply_to: None,
    }
}

/// A file of `chunks` chunks of known bytes, with its outboard.
fn a_file(chunks: usize) -> (Vec<u8>, Outboard) {
    let bytes: Vec<u8> = (0..chunks * CHUNK_LEN - 7)
        .map(|i| (i % 251) as u8)
        .collect();
    let ob = Outboard::of(&bytes).expect("an outboard");
    (bytes, ob)
}

fn file_frames(out: &[Output], to: ConnId) -> Vec<BlobFrame> {
    out.iter()
        .filter_map(|o| match o {
            Output::SendFileFrame { conn, bytes } if *conn == to => {
                Some(BlobFrame::decode(bytes).expect("a frame"))
            }
            _ => None,
        })
        .collect()
}

fn reads(out: &[Output]) -> Vec<u64> {
    out.iter()
        .filter_map(|o| match o {
            Output::ReadChunk { index, .. } => Some(*index),
            _ => None,
        })
        .collect()
}

fn post_file(n: &mut Node, r: &Room, ob: &Outboard, now: u64) {
    step(
        n,
        now,
        Input::Post {
            room: r.id(),
            body: Body::File(FileRef {
                root: ob.root(),
                size: ob.len(),
                mime: "image/jpeg".into(),
                name: "a.jpg".into(),
                thumb: None,
            }),
        },
    );
}

#[test]
fn a_file_stays_in_use_until_every_message_naming_it_is_deleted_by_its_author() {
    let (r, other) = (room(14), room(15));
    let (mut n, _) = joined(&r, false, &[]);
    step(
        &mut n,
        3,
        Input::AddRoom(Box::new(RoomSetup::new(other.clone(), false))),
    );
    let (_, ob) = a_file(2);
    let root = ob.root();
    assert!(!n.file_in_use(&root));
    post_file(&mut n, &r, &ob, 4);
    post_file(&mut n, &other, &ob, 5);
    assert_eq!(n.room_files(&r.id()), vec![root]);
    let posted = |n: &Node, room: &Room| {
        let log = n.room(&room.id()).expect("a room").sync().log();
        log.entries_of(&n.me())
            .rev()
            .find(|rec| matches!(rec.entry.body, Body::File(_)))
            .expect("the file's entry")
            .id
    };
    for (i, (room, in_use)) in [(&r, true), (&other, false)].into_iter().enumerate() {
        let target = posted(&n, room);
        step(
            &mut n,
            6 + i as u64,
            Input::Post {
                room: room.id(),
                body: Body::Delete { target },
            },
        );
        assert_eq!(
            n.file_in_use(&root),
            in_use,
            "after deleting it in room {i}"
        );
    }
    // The room's log still names it (a deleted entry stays, as a tombstone).
    assert_eq!(n.room_files(&r.id()), vec![root]);
}

#[test]
fn a_file_is_told_only_to_its_room_and_served_a_window_at_a_time_never_from_a_damaged_store() {
    let r = room(12);
    let peer = Identity::from_secret_bytes(&[22; 32]);
    let (mut n, out) = joined(&r, false, &["p"]);
    let conn = opened(&out)[0];
    verify(&mut n, &r, conn, "p", &peer, 3);
    let (bytes, ob) = a_file(SERVE_WINDOW + 4);
    let (root, len) = (ob.root(), ob.len());
    let (_, other) = a_file(2);
    step(
        &mut n,
        4,
        Input::Holding {
            root,
            len,
            has: Availability::All,
        },
    );
    step(
        &mut n,
        4,
        Input::Holding {
            root: other.root(),
            len: other.len(),
            has: Availability::All,
        },
    );
    post_file(&mut n, &r, &ob, 5);
    let frame = |f: BlobFrame| Input::FileFrame {
        conn,
        bytes: f.encode(),
        leaf: None,
    };
    // A file we hold that no entry of this room names: nothing is said of it.
    let ask = |root, len| BlobFrame::Have {
        root,
        len,
        ranges: Some(Vec::new()),
    };
    let out = step(&mut n, 6, frame(ask(other.root(), other.len())));
    assert!(file_frames(&out, conn).is_empty(), "{out:?}");
    let out = step(
        &mut n,
        6,
        frame(BlobFrame::Want {
            root: other.root(),
            index: 0,
        }),
    );
    assert!(file_frames(&out, conn).is_empty() && reads(&out).is_empty());
    // The room's file: asked, we tell what we hold, once.
    let out = step(&mut n, 7, frame(ask(root, len)));
    assert_eq!(
        file_frames(&out, conn),
        vec![BlobFrame::Have {
            root,
            len,
            ranges: None
        }]
    );
    assert!(file_frames(&step(&mut n, 7, frame(ask(root, len))), conn).is_empty());
    // Every chunk wanted at once: a window is read, the rest waits.
    let mut asked = Vec::new();
    for index in 0..(SERVE_WINDOW as u64 + 4) {
        asked.extend(reads(&step(
            &mut n,
            8,
            frame(BlobFrame::Want { root, index }),
        )));
    }
    assert_eq!(asked, (0..SERVE_WINDOW as u64).collect::<Vec<_>>());
    // A chunk the store lost, or holds damaged, is answered `Lack`, never sent.
    let chunk = |i: u64| {
        let start = i as usize * CHUNK_LEN;
        bytes[start..(start + CHUNK_LEN).min(bytes.len())].to_vec()
    };
    let read = |index, chunk| Input::ChunkRead {
        conn,
        root,
        index,
        chunk,
        leaf: None,
    };
    let mut damaged = chunk(0);
    damaged[9] ^= 1;
    let out = step(
        &mut n,
        9,
        read(0, Some((ob.proof(0).expect("proof"), damaged))),
    );
    assert_eq!(
        file_frames(&out, conn),
        vec![BlobFrame::Lack { root, index: 0 }]
    );
    assert_eq!(
        reads(&out),
        vec![SERVE_WINDOW as u64],
        "the freed slot reads the next"
    );
    let out = step(&mut n, 9, read(1, None));
    assert_eq!(
        file_frames(&out, conn),
        vec![BlobFrame::Lack { root, index: 1 }]
    );
    // A good one is sent as read; sent chunks hold the window until the channel drains.
    let out = step(
        &mut n,
        9,
        read(2, Some((ob.proof(2).expect("proof"), chunk(2)))),
    );
    assert_eq!(
        file_frames(&out, conn),
        vec![BlobFrame::Chunk {
            root,
            index: 2,
            proof: ob.proof(2).expect("proof"),
            bytes: chunk(2)
        }]
    );
    assert!(reads(&out).is_empty());
    let out = step(&mut n, 10, Input::FileDrained(conn));
    assert_eq!(
        reads(&out),
        vec![SERVE_WINDOW as u64 + 2, SERVE_WINDOW as u64 + 3]
    );
    // Chunks 0 (damaged) and 1 (lost) are no longer told as held.
    let stranger = Identity::from_secret_bytes(&[23; 32]);
    let out = step(
        &mut n,
        11,
        Input::PeerJoined {
            room: r.id().to_hex(),
            session: "q".into(),
        },
    );
    let q = opened(&out)[0];
    verify(&mut n, &r, q, "q", &stranger, 11);
    let out = step(
        &mut n,
        12,
        Input::FileFrame {
            conn: q,
            bytes: ask(root, len).encode(),
            leaf: None,
        },
    );
    match &file_frames(&out, q)[..] {
        [BlobFrame::Have {
            ranges: Some(ranges),
            ..
        }] => {
            assert_eq!(ranges, &vec![(2, SERVE_WINDOW as u32 + 4)])
        }
        other => panic!("expected a partial have, got {other:?}"),
    }
}

#[test]
fn a_fetch_asks_every_peer_stores_verified_chunks_and_drops_a_peer_that_sends_a_bad_one() {
    let r = room(13);
    let (good, bad) = (
        Identity::from_secret_bytes(&[24; 32]),
        Identity::from_secret_bytes(&[25; 32]),
    );
    let (mut n, out) = joined(&r, false, &["g", "b"]);
    let conns = opened(&out);
    let session = |c: ConnId, n: &Node| n.conn(c).map(|c| c.remote_session.clone());
    let (to_good, to_bad) = if session(conns[0], &n).as_deref() == Some("g") {
        (conns[0], conns[1])
    } else {
        (conns[1], conns[0])
    };
    verify(&mut n, &r, to_good, "g", &good, 3);
    verify(&mut n, &r, to_bad, "b", &bad, 3);
    let (bytes, ob) = a_file(2);
    let (root, len) = (ob.root(), ob.len());
    // Named in the room (by us, on another device) but not held here.
    post_file(&mut n, &r, &ob, 4);
    let out = step(&mut n, 5, Input::Fetch { room: r.id(), root });
    let ask = BlobFrame::Have {
        root,
        len,
        ranges: Some(Vec::new()),
    };
    assert_eq!(file_frames(&out, to_good), vec![ask.clone()]);
    assert_eq!(file_frames(&out, to_bad), vec![ask]);
    // Only the bad peer says it has it: it is asked.
    let all = BlobFrame::Have {
        root,
        len,
        ranges: None,
    };
    let out = step(
        &mut n,
        6,
        Input::FileFrame {
            conn: to_bad,
            bytes: all.encode(),
            leaf: None,
        },
    );
    let wants = file_frames(&out, to_bad);
    assert!(
        matches!(
            wants[..],
            [
                BlobFrame::Want { index: 0, .. },
                BlobFrame::Want { index: 1, .. }
            ]
        ),
        "{wants:?}"
    );
    let mut wrong = bytes[..CHUNK_LEN].to_vec();
    wrong[0] ^= 1;
    let bad_chunk = BlobFrame::Chunk {
        root,
        index: 0,
        proof: ob.proof(0).expect("proof"),
        bytes: wrong,
    };
    let out = step(
        &mut n,
        7,
        Input::FileFrame {
            conn: to_bad,
            bytes: bad_chunk.encode(),
            leaf: None,
        },
    );
    assert!(
        out.iter()
            .any(|o| matches!(o, Output::CloseConn(c) if *c == to_bad)),
        "{out:?}"
    );
    assert!(!out.iter().any(|o| matches!(o, Output::StoreChunk { .. })));
    assert!(out
        .iter()
        .any(|o| matches!(o, Output::Notice(t) if t.contains("damaged piece of a file"))));
    assert!(n.room(&r.id()).expect("room").blocked().any(|s| s == "b"));
    // The good peer has it after all: both chunks come from it, verified, and are stored.
    let out = step(
        &mut n,
        8,
        Input::FileFrame {
            conn: to_good,
            bytes: all.encode(),
            leaf: None,
        },
    );
    let wants = file_frames(&out, to_good);
    assert_eq!(wants.len(), 2, "{wants:?}");
    let mut stored = Vec::new();
    for index in 0..2u64 {
        let start = index as usize * CHUNK_LEN;
        let chunk = BlobFrame::Chunk {
            root,
            index,
            proof: ob.proof(index).expect("proof"),
            bytes: bytes[start..(start + CHUNK_LEN).min(bytes.len())].to_vec(),
        };
        for o in step(
            &mut n,
            9,
            Input::FileFrame {
                conn: to_good,
                bytes: chunk.encode(),
                leaf: None,
            },
        ) {
            match o {
                Output::StoreChunk { index, bytes, .. } => stored.push((index, bytes)),
                Output::FileProgress { have, total, .. } => {
                    assert_eq!((have, total), (index + 1, 2))
                }
                _ => {}
            }
        }
    }
    let joined_bytes: Vec<u8> = stored.into_iter().flat_map(|(_, b)| b).collect();
    assert_eq!(joined_bytes, bytes);
    assert_eq!(n.file_progress(&root), Some((2, 2)));
    assert!(!n.fetching(&root));
}

#[test]
fn a_leaf_hash_the_driver_computed_is_what_a_chunk_is_checked_by() {
    let r = room(14);
    let peer = Identity::from_secret_bytes(&[26; 32]);
    let (mut n, out) = joined(&r, false, &["p"]);
    let conn = opened(&out)[0];
    verify(&mut n, &r, conn, "p", &peer, 3);
    let (bytes, ob) = a_file(2);
    let (root, len) = (ob.root(), ob.len());
    post_file(&mut n, &r, &ob, 4);
    step(&mut n, 5, Input::Fetch { room: r.id(), root });
    let all = BlobFrame::Have {
        root,
        len,
        ranges: None,
    };
    let frame = |f: &BlobFrame, leaf| Input::FileFrame {
        conn,
        bytes: f.encode(),
        leaf,
    };
    assert_eq!(
        file_frames(&step(&mut n, 6, frame(&all, None)), conn).len(),
        2
    );
    let chunk = |index: u64| BlobFrame::Chunk {
        root,
        index,
        proof: ob.proof(index).expect("proof"),
        bytes: bytes[index as usize * CHUNK_LEN..]
            [..CHUNK_LEN.min(bytes.len() - index as usize * CHUNK_LEN)]
            .to_vec(),
    };
    // A chunk is judged by the hash the driver gives: the right one is stored, a wrong
    // one costs the peer its connection even with the right bytes.
    let out = step(
        &mut n,
        7,
        frame(&chunk(0), Some(leaf_hash(&bytes[..CHUNK_LEN]))),
    );
    assert!(out
        .iter()
        .any(|o| matches!(o, Output::StoreChunk { index: 0, .. })));
    let out = step(&mut n, 8, frame(&chunk(1), Some([0; 32])));
    assert!(!out.iter().any(|o| matches!(o, Output::StoreChunk { .. })));
    assert!(
        out.iter()
            .any(|o| matches!(o, Output::CloseConn(c) if *c == conn)),
        "{out:?}"
    );
}

/// `n` text entries of `who` in room `r`, chained from 1.
fn chain_of(who: &Identity, r: &Room, n: u64) -> Vec<Record> {
    let mut out: Vec<Record> = Vec::new();
    for seq in 1..=n {
        let prev = out.last().map_or(natter_core::log::EntryId::ZERO, |x| x.id);
        let e = natter_core::log::Entry::sign(
            who,
            natter_core::log::Draft {
                room_id: r.id(),
                seq,
                prev_hash: prev,
                lamport: seq,
                wall_ms: seq,
                body: text(&format!("m{seq}")),
            },
        )
        .expect("valid");
        out.push(Record::from_entry(e));
    }
    out
}

#[test]
fn a_room_kept_with_a_retention_drops_the_oldest_others_entries_and_loads_its_floors_back() {
    use natter_core::retention::Retention;
    let r = room(4);
    let bob = Identity::from_secret_bytes(&[9; 32]);
    let history = chain_of(&bob, &r, 5);
    let mut n = node();
    let out = step(
        &mut n,
        10,
        Input::AddRoom(Box::new(RoomSetup {
            history: history.clone(),
            stored: true,
            retention: Retention::Entries(3),
            ..RoomSetup::new(r.clone(), false)
        })),
    );
    // The driver is told, and asks the node to apply it.
    assert!(out
        .iter()
        .any(|o| matches!(o, Output::RetentionDue(id) if *id == r.id())));
    n.apply_retention(&r.id());
    let out = outputs(&mut n);
    // Our profile post is one of the newest three, and our chain is never cut: Bob keeps 2.
    let prunes: Vec<(u64, natter_core::log::EntryId)> = out
        .iter()
        .filter_map(|o| match o {
            Output::Prune {
                author,
                through,
                id,
                ..
            } if *author == bob.public() => Some((*through, *id)),
            _ => None,
        })
        .collect();
    assert_eq!(prunes, vec![(3, history[2].id)]);
    let log = n.room(&r.id()).expect("room").sync().log();
    assert_eq!(
        (log.count_of(&bob.public()), log.base_of(&bob.public())),
        (2, 3)
    );
    // Everything from now on: nothing more is dropped.
    let out = step(
        &mut n,
        11,
        Input::SetRetention {
            room: r.id(),
            retention: Retention::All,
        },
    );
    assert!(!out
        .iter()
        .any(|o| matches!(o, Output::Prune { .. } | Output::RetentionDue(_))));

    // A later start from what the store kept: the floor comes back with the entries.
    let mut again = node();
    step(
        &mut again,
        20,
        Input::AddRoom(Box::new(RoomSetup {
            history: history[3..].to_vec(),
            stored: true,
            retention: Retention::Entries(3),
            floors: vec![(bob.public(), 3, history[2].id)],
            ..RoomSetup::new(r.clone(), false)
        })),
    );
    let log = again.room(&r.id()).expect("room").sync().log();
    assert_eq!(log.floor_of(&bob.public()), Some((3, history[2].id)));
    assert_eq!(log.top_of(&bob.public()), 5);
}
