//! Signaling over `/ws`: membership, relay, isolation between rooms, every limit, bad
//! input, and graceful shutdown. Each test starts its own server on 127.0.0.1 port 0.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::{start, test_config, Client};
use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;

#[tokio::test]
async fn two_clients_in_a_room_learn_of_each_other_and_relay_blobs() {
    let server = start(test_config()).await;
    let addr = server.local_addr();
    let mut a = Client::connect(addr).await;
    let mut b = Client::connect(addr).await;
    let (sa, peers) = a.join("room-1").await;
    assert!(peers.is_empty());
    let (sb, peers) = b.join("room-1").await;
    assert_eq!(peers, vec![sa.clone()]);
    assert_ne!(sa, sb);
    let note = a.recv().await;
    assert_eq!(
        note,
        json!({"v":1,"type":"peer_joined","room":"room-1","session":sb})
    );

    a.signal("room-1", &sb, "b2ZmZXI=").await;
    let got = b.recv().await;
    assert_eq!(
        got,
        json!({"v":1,"type":"signal","room":"room-1","from":sa,"blob":"b2ZmZXI="})
    );
    b.signal("room-1", &sa, "YW5zd2Vy").await;
    assert_eq!(a.recv().await["blob"], "YW5zd2Vy");
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn three_clients_relay_only_to_the_addressed_member() {
    let server = start(test_config()).await;
    let addr = server.local_addr();
    let mut a = Client::connect(addr).await;
    let mut b = Client::connect(addr).await;
    let mut c = Client::connect(addr).await;
    let (sa, _) = a.join("r").await;
    let (sb, _) = b.join("r").await;
    let (sc, peers) = c.join("r").await;
    let mut sorted = peers.clone();
    sorted.sort();
    let mut expected = vec![sa.clone(), sb.clone()];
    expected.sort();
    assert_eq!(sorted, expected);
    // a hears of b and c, b hears of c.
    assert_eq!(a.recv_type("peer_joined").await["session"], sb.as_str());
    assert_eq!(a.recv_type("peer_joined").await["session"], sc.as_str());
    assert_eq!(b.recv_type("peer_joined").await["session"], sc.as_str());

    a.signal("r", &sc, "to-c").await;
    let got = c.recv().await;
    assert_eq!(got["from"], sa.as_str());
    assert_eq!(got["blob"], "to-c");
    b.expect_silence(Duration::from_millis(200)).await;
    a.expect_silence(Duration::from_millis(50)).await;
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn leaving_or_disconnecting_tells_the_others_and_ends_relay() {
    let server = start(test_config()).await;
    let addr = server.local_addr();
    let mut a = Client::connect(addr).await;
    let mut b = Client::connect(addr).await;
    let mut c = Client::connect(addr).await;
    let (sa, _) = a.join("r").await;
    let (sb, _) = b.join("r").await;
    let (sc, _) = c.join("r").await;
    a.recv_type("peer_joined").await;
    a.recv_type("peer_joined").await;
    b.recv_type("peer_joined").await;

    b.send(json!({"v":1,"type":"leave","room":"r"})).await;
    assert_eq!(
        a.recv().await,
        json!({"v":1,"type":"peer_left","room":"r","session":sb})
    );
    assert_eq!(c.recv().await["session"], sb.as_str());
    // b is no longer reachable, and may no longer send into the room.
    a.signal("r", &sb, "x").await;
    a.expect_error("unknown_peer").await;
    b.signal("r", &sa, "x").await;
    b.expect_error("not_in_room").await;
    b.send(json!({"v":1,"type":"leave","room":"r"})).await;
    b.expect_error("not_in_room").await;

    c.ws.close(None).await.unwrap();
    assert_eq!(
        a.recv().await,
        json!({"v":1,"type":"peer_left","room":"r","session":sc})
    );
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn relay_never_crosses_rooms() {
    let server = start(test_config()).await;
    let addr = server.local_addr();
    let mut a = Client::connect(addr).await;
    let mut b = Client::connect(addr).await;
    let mut other = Client::connect(addr).await;
    a.join("room-a").await;
    b.join("room-a").await;
    let (s_other, _) = other.join("room-b").await;
    // a is in room-a only: naming room-b is refused, and so is naming room-a with a
    // session that lives in room-b.
    a.recv_type("peer_joined").await; // b's arrival
    a.signal("room-b", &s_other, "leak").await;
    a.expect_error("not_in_room").await;
    a.signal("room-a", &s_other, "leak").await;
    let err = a.expect_error("unknown_peer").await;
    assert_eq!(err["room"], "room-a");
    other.expect_silence(Duration::from_millis(200)).await;
    b.expect_silence(Duration::from_millis(50)).await;
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn one_connection_in_two_rooms_gets_unlinkable_sessions() {
    let server = start(test_config()).await;
    let addr = server.local_addr();
    let mut a = Client::connect(addr).await;
    let mut b = Client::connect(addr).await;
    let mut c = Client::connect(addr).await;
    let (sa1, _) = a.join("one").await;
    let (sa2, _) = a.join("two").await;
    assert_ne!(sa1, sa2);
    let (_, peers_b) = b.join("one").await;
    let (sc, peers_c) = c.join("two").await;
    assert_eq!(peers_b, vec![sa1.clone()]);
    assert_eq!(peers_c, vec![sa2.clone()]);
    // c addresses a through room two, and a sees it arrive as room two.
    a.recv_type("peer_joined").await;
    a.recv_type("peer_joined").await;
    c.signal("two", &sa2, "hi").await;
    let got = a.recv().await;
    assert_eq!(got["room"], "two");
    assert_eq!(got["from"], sc.as_str());
    // Using a's room-one session through room two is refused.
    c.signal("two", &sa1, "hi").await;
    c.expect_error("unknown_peer").await;
    a.send(json!({"v":1,"type":"join","room":"one"})).await;
    a.expect_error("already_joined").await;
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn malformed_input_gets_typed_errors_without_disturbing_anyone() {
    let server = start(test_config()).await;
    let addr = server.local_addr();
    let mut bad = Client::connect(addr).await;
    let mut a = Client::connect(addr).await;
    let mut b = Client::connect(addr).await;
    let mut elsewhere = Client::connect(addr).await;
    bad.join("r").await;
    let (sa, _) = a.join("r").await;
    let (sb, _) = b.join("r").await;
    elsewhere.join("other").await;
    bad.recv_type("peer_joined").await;
    bad.recv_type("peer_joined").await;
    a.recv_type("peer_joined").await;

    let cases = [
        ("{not json", "bad_json"),
        ("[1,2,3]", "bad_json"),
        ("{\"v\":1,\"type\":\"dance\"}", "unknown_type"),
        ("{\"type\":\"ping\"}", "unsupported_version"),
        ("{\"v\":2,\"type\":\"ping\"}", "unsupported_version"),
        (
            "{\"v\":1,\"type\":\"signal\",\"room\":\"r\"}",
            "bad_message",
        ),
        (
            "{\"v\":1,\"type\":\"join\",\"room\":\"\"}",
            "room_id_invalid",
        ),
        (
            "{\"v\":1,\"type\":\"join\",\"room\":\"has space\"}",
            "room_id_invalid",
        ),
        (
            "{\"v\":1,\"type\":\"join\",\"room\":\"\\u0001\"}",
            "room_id_invalid",
        ),
    ];
    for (text, code) in cases {
        bad.send_text(text).await;
        bad.expect_error(code).await;
    }
    let long = "x".repeat(65);
    bad.send(json!({"v":1,"type":"join","room":long})).await;
    let err = bad.expect_error("room_id_invalid").await;
    assert!(
        err.get("room").is_none(),
        "an invalid room id is not echoed"
    );
    bad.ws.send(Message::binary(vec![1u8, 2, 3])).await.unwrap();
    bad.expect_error("binary_not_supported").await;
    bad.assert_alive().await;

    a.signal("r", &sb, "still-works").await;
    assert_eq!(b.recv().await["blob"], "still-works");
    b.signal("r", &sa, "both-ways").await;
    assert_eq!(a.recv().await["blob"], "both-ways");
    elsewhere.assert_alive().await;
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn an_oversized_frame_is_refused_with_close_1009_and_others_carry_on() {
    let mut config = test_config();
    config.limits.max_frame_bytes = 4096;
    let server = start(config).await;
    let addr = server.local_addr();
    let mut big = Client::connect(addr).await;
    let mut a = Client::connect(addr).await;
    let mut b = Client::connect(addr).await;
    let (s_big, _) = big.join("r").await;
    let (sa, _) = a.join("r").await;
    let (sb, _) = b.join("r").await;
    big.signal("r", &sa, &"A".repeat(4000)).await; // just under the limit: relayed
    assert_eq!(a.recv_type("signal").await["from"], s_big.as_str());
    big.signal("r", &sa, &"A".repeat(5000)).await;
    let (code, seen) = big.expect_close().await;
    assert_eq!(code, 1009);
    assert!(
        seen.iter().any(|m| m["code"] == "frame_too_large"),
        "seen {seen:?}"
    );
    assert_eq!(a.recv_type("peer_left").await["session"], s_big.as_str());
    a.signal("r", &sb, "fine").await;
    assert_eq!(b.recv_type("signal").await["blob"], "fine");

    // Far beyond the limit the frame is not even read; the connection ends either way.
    let mut huge = Client::connect(addr).await;
    let (s_huge, _) = huge.join("r").await;
    assert_eq!(a.recv_type("peer_joined").await["session"], s_huge.as_str());
    let _ = huge.ws.send(Message::text("A".repeat(100_000))).await;
    let ended = tokio::time::timeout(common::STEP, async {
        loop {
            match huge.ws.next().await {
                Some(Ok(Message::Close(frame))) => return frame.map(|f| u16::from(f.code)),
                Some(Ok(_)) => continue,
                Some(Err(_)) | None => return None,
            }
        }
    })
    .await
    .unwrap();
    assert!(matches!(ended, Some(1009) | None), "closed with {ended:?}");
    assert_eq!(a.recv_type("peer_left").await["session"], s_huge.as_str());
    b.signal("r", &sa, "still fine").await;
    assert_eq!(a.recv_type("signal").await["blob"], "still fine");
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_flood_is_rate_limited_then_closed_with_4002_while_others_carry_on() {
    let mut config = test_config();
    config.limits.frames_per_sec = 5;
    config.limits.frame_burst = 5;
    config.limits.flood_tolerance = 20;
    let server = start(config).await;
    let addr = server.local_addr();
    let mut flooder = Client::connect(addr).await;
    let mut a = Client::connect(addr).await;
    let mut b = Client::connect(addr).await;
    let (sf, _) = flooder.join("r").await;
    let (sa, _) = a.join("r").await;
    let (sb, _) = b.join("r").await;
    // The join used one token; four more pings pass, the fifth is limited.
    for _ in 0..4 {
        flooder.send(json!({"v":1,"type":"ping"})).await;
    }
    for _ in 0..4 {
        flooder.recv_type("pong").await;
    }
    flooder.send(json!({"v":1,"type":"ping"})).await;
    let err = flooder.expect_error("rate_limited").await;
    assert!(err["retry_after_ms"].as_u64().unwrap() > 0);
    for _ in 0..40 {
        if flooder
            .ws
            .send(Message::text("{\"v\":1,\"type\":\"ping\"}"))
            .await
            .is_err()
        {
            break;
        }
    }
    let (code, seen) = flooder.expect_close().await;
    assert_eq!(code, 4002);
    assert!(
        seen.iter().all(|m| m["type"] != "pong"),
        "limited frames are dropped, seen {seen:?}"
    );
    assert_eq!(a.recv_type("peer_left").await["session"], sf.as_str());
    a.signal("r", &sb, "calm").await;
    assert_eq!(b.recv_type("signal").await["blob"], "calm");
    b.signal("r", &sa, "calm too").await;
    assert_eq!(a.recv_type("signal").await["blob"], "calm too");
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn room_size_rooms_per_connection_and_total_rooms_are_limited() {
    let mut config = test_config();
    config.limits.max_peers_per_room = 2;
    config.limits.max_rooms_per_connection = 2;
    config.limits.max_rooms = 3;
    let server = start(config).await;
    let addr = server.local_addr();
    let mut a = Client::connect(addr).await;
    let mut b = Client::connect(addr).await;
    let mut c = Client::connect(addr).await;
    a.join("full").await;
    b.join("full").await;
    c.send(json!({"v":1,"type":"join","room":"full"})).await;
    let err = c.expect_error("room_full").await;
    assert_eq!(err["room"], "full");

    a.join("a2").await;
    a.send(json!({"v":1,"type":"join","room":"a3"})).await;
    a.expect_error("too_many_rooms").await;

    c.join("c1").await; // the third room on the server
    c.send(json!({"v":1,"type":"join","room":"c2"})).await;
    c.expect_error("server_full").await;
    // A room vanishes with its last member, which frees a slot.
    c.send(json!({"v":1,"type":"leave","room":"c1"})).await;
    c.join("c2").await;
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn too_many_connections_from_one_address_are_closed_with_4003() {
    let mut config = test_config();
    config.limits.max_connections_per_ip = 2;
    let server = start(config).await;
    let addr = server.local_addr();
    let mut a = Client::connect(addr).await;
    let mut b = Client::connect(addr).await;
    let mut c = Client::connect(addr).await;
    let (code, seen) = c.expect_close().await;
    assert_eq!(code, 4003);
    assert_eq!(
        seen.first().map(|m| m["code"].clone()),
        Some(json!("too_many_connections"))
    );
    a.assert_alive().await;
    b.assert_alive().await;
    // A slot frees when a connection ends.
    drop(a);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut d = Client::connect(addr).await;
    d.assert_alive().await;
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_connection_that_never_joins_is_closed_with_4000() {
    let mut config = test_config();
    config.limits.handshake_timeout = Duration::from_millis(300);
    let server = start(config).await;
    let mut idle = Client::connect(server.local_addr()).await;
    idle.assert_alive().await; // a ping is not a join
    let (code, seen) = idle.expect_close().await;
    assert_eq!(code, 4000);
    assert_eq!(
        seen.last().map(|m| m["code"].clone()),
        Some(json!("handshake_timeout"))
    );
    let mut joined = Client::connect(server.local_addr()).await;
    joined.join("r").await;
    joined.expect_silence(Duration::from_millis(500)).await;
    joined.assert_alive().await;
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_silent_connection_is_closed_with_4001_but_one_answering_pings_stays() {
    let mut config = test_config();
    config.limits.idle_timeout = Duration::from_millis(600);
    config.limits.ping_interval = Duration::from_millis(150);
    let server = start(config).await;
    let addr = server.local_addr();
    let mut silent = Client::connect(addr).await;
    let mut lively = Client::connect(addr).await;
    silent.join("r").await;
    lively.join("r").await;
    // `lively` keeps reading, so tungstenite answers the server's pings for it; `silent`
    // reads nothing, so it never answers.
    let keep_reading = tokio::spawn(async move {
        let until = tokio::time::Instant::now() + Duration::from_millis(1500);
        let mut pings = 0;
        while let Ok(Some(Ok(msg))) = tokio::time::timeout_at(until, lively.ws.next()).await {
            if matches!(msg, Message::Ping(_)) {
                pings += 1;
            }
        }
        (lively, pings)
    });
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let (code, seen) = silent.expect_close().await;
    assert_eq!(code, 4001);
    assert!(
        seen.iter().any(|m| m["code"] == "idle_timeout"),
        "seen {seen:?}"
    );
    let (mut lively, pings) = keep_reading.await.unwrap();
    assert!(pings >= 3, "server pings arrive periodically, got {pings}");
    lively.assert_alive().await;
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_client_that_does_not_read_is_dropped_as_a_slow_consumer() {
    let mut config = test_config();
    config.limits.outbox_capacity = 4;
    config.limits.frames_per_sec = 10_000;
    config.limits.frame_burst = 10_000;
    config.limits.send_timeout = Duration::from_millis(500);
    let server = start(config).await;
    let addr = server.local_addr();
    let mut sender = Client::connect(addr).await;
    let mut sleeper = Client::connect(addr).await;
    sender.join("r").await;
    let (s_sleeper, _) = sleeper.join("r").await;
    sender.recv_type("peer_joined").await;
    let blob = "B".repeat(60 * 1024);
    // Enough to fill the loopback socket buffers and then the outbox.
    let (_, left) = sender.flood_until_left("r", &s_sleeper, &blob, 2000).await;
    assert_eq!(left["session"], s_sleeper.as_str());
    sender.assert_alive().await;
    drop(sleeper);
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn graceful_shutdown_sends_reconnect_then_closes_with_1012() {
    let server = start(test_config()).await;
    let addr = server.local_addr();
    let mut a = Client::connect(addr).await;
    let mut b = Client::connect(addr).await;
    a.join("r").await;
    b.join("s").await;
    let stop = tokio::spawn(server.shutdown());
    for client in [&mut a, &mut b] {
        let (code, seen) = client.expect_close().await;
        assert_eq!(code, 1012);
        let reconnect = seen.iter().find(|m| m["type"] == "reconnect").unwrap();
        let after = reconnect["after_ms"].as_u64().unwrap();
        assert!((1000..=2000).contains(&after), "after_ms {after}");
    }
    tokio::time::timeout(Duration::from_secs(5), stop)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(tokio_tungstenite::connect_async(format!("ws://{addr}/ws"))
        .await
        .is_err());
}

#[tokio::test]
async fn pages_from_other_origins_cannot_open_the_socket_unless_allowed() {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let mut config = test_config();
    config.allowed_origins = vec!["https://friend.example".into()];
    let server = start(config).await;
    let addr = server.local_addr();
    let request = |origin: &str| {
        let mut req = format!("ws://{addr}/ws").into_client_request().unwrap();
        req.headers_mut().insert("origin", origin.parse().unwrap());
        req
    };
    let refused = tokio_tungstenite::connect_async(request("https://evil.example")).await;
    assert!(matches!(
        refused,
        Err(tokio_tungstenite::tungstenite::Error::Http(ref res)) if res.status() == 403
    ));
    assert!(
        tokio_tungstenite::connect_async(request(&format!("http://{addr}")))
            .await
            .is_ok()
    );
    assert!(
        tokio_tungstenite::connect_async(request("https://friend.example"))
            .await
            .is_ok()
    );
    server.shutdown().await.unwrap();
}
