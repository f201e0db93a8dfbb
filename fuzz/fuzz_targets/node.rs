//! A node fed whatever a signaling server and a peer choose (sealed signals, sessions
//! joining and leaving, channel openings with any fingerprints, frames on a connection that
//! has not proved itself, link states, time passing) never panics and keeps its bound on
//! connections. The input is a list of `op (1) || length (1) || payload`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use natter_core::identity::Identity;
use natter_core::node::{ConnId, Input, Link, Node, NodeConfig, RoomSetup};
use natter_core::room::{Room, RoomSecret};

#[path = "counter.rs"]
mod counter;
use counter::Counter;

fuzz_target!(|data: &[u8]| {
    let Ok(room) = Room::from_parts(RoomSecret::from_bytes([7; 32]), None, None) else {
        return;
    };
    let me = Identity::from_secret_bytes(&[1; 32]);
    let mut node = Node::new(me, "Fuzz".into(), NodeConfig::default(), Box::new(Counter(0)));
    let id = room.id();
    let hex = id.to_hex();
    let setup = RoomSetup::new(room, false);
    let _ = node.handle(1, Input::AddRoom(Box::new(setup)));
    let joined = Input::Joined {
        room: hex.clone(),
        session: "me".into(),
        peers: vec!["p".into()],
    };
    let _ = node.handle(2, joined);
    let mut now = 3;
    let mut rest = data;
    while let Some((&op, tail)) = rest.split_first() {
        let len = tail.first().map_or(0, |l| usize::from(*l));
        let body = tail.get(1..).unwrap_or(&[]);
        let (chunk, next) = body.split_at(len.min(body.len()));
        rest = next;
        now += u64::from(op >> 3) * 997;
        let text = String::from_utf8_lossy(chunk).into_owned();
        let conn = ConnId(u64::from(op & 1) + 1);
        let input = match op % 8 {
            0 => Input::Frame { conn, bytes: chunk.to_vec() },
            1 => Input::Blob { room: hex.clone(), from: "p".into(), blob: text },
            2 => Input::PeerJoined { room: hex.clone(), session: text },
            3 => Input::PeerLeft { room: hex.clone(), session: text },
            4 => Input::ChannelOpen {
                conn,
                local_fingerprint: text.clone(),
                remote_fingerprint: text,
            },
            5 => Input::Joined { room: text, session: "me".into(), peers: Vec::new() },
            6 => Input::Tick,
            _ => Input::Link { conn, link: Link::from_name(&text) },
        };
        let _ = node.handle(now, input);
        while node.poll_output().is_some() {}
    }
    assert!(node.conns_in(id).count() <= NodeConfig::default().max_conns_per_room);
    assert_eq!(node.online(id), 0, "nobody proved an identity");
});
