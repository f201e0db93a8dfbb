//! Join-code mailboxes over `/ws` (`code_open`, `code_claim`, `code_send`, `code_close`):
//! relay between owner and joiner, the refusals, tries, expiry by the server's clock,
//! disconnects, the limits, the handshake timeout and the mailbox numbers. Each test starts
//! its own server on 127.0.0.1 port 0.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashSet;
use std::time::Duration;

use common::{start, test_config, Client};
use serde_json::{json, Value};

/// Sends `code_open` and expects `code_opened`; returns (mailbox, expires_in_ms).
async fn open(c: &mut Client, ttl_ms: u64) -> (u32, u64) {
    c.send(json!({"v":1,"type":"code_open","ttl_ms":ttl_ms}))
        .await;
    let msg = c.recv().await;
    assert_eq!(msg["type"], "code_opened", "got {msg}");
    let mailbox = u32::try_from(msg["mailbox"].as_u64().unwrap()).unwrap();
    (mailbox, msg["expires_in_ms"].as_u64().unwrap())
}

async fn claim(c: &mut Client, mailbox: u32, blob: &str) {
    c.send(json!({"v":1,"type":"code_claim","mailbox":mailbox,"blob":blob}))
        .await;
}

async fn send(c: &mut Client, mailbox: u32, blob: &str) {
    c.send(json!({"v":1,"type":"code_send","mailbox":mailbox,"blob":blob}))
        .await;
}

async fn close(c: &mut Client, mailbox: u32) {
    c.send(json!({"v":1,"type":"code_close","mailbox":mailbox}))
        .await;
}

fn message(mailbox: u32, blob: &str) -> Value {
    json!({"v":1,"type":"code_message","mailbox":mailbox,"blob":blob})
}

fn closed(mailbox: u32, reason: &str) -> Value {
    json!({"v":1,"type":"code_closed","mailbox":mailbox,"reason":reason})
}

fn waiting(mailbox: u32, tries_left: u32) -> Value {
    json!({"v":1,"type":"code_waiting","mailbox":mailbox,"tries_left":tries_left})
}

/// A two-digit number other than `n`.
fn other_than(n: u32) -> u32 {
    if n == 10 {
        11
    } else {
        10
    }
}

#[tokio::test]
async fn owner_and_joiner_exchange_blobs_until_the_owner_closes() {
    let server = start(test_config()).await;
    let addr = server.local_addr();
    let mut owner = Client::connect(addr).await;
    let mut joiner = Client::connect(addr).await;
    let (mb, expires) = open(&mut owner, 300_000).await;
    assert_eq!(
        expires, 300_000,
        "a ttl under the server's longest is granted"
    );

    claim(&mut joiner, mb, "cGFrZTE=").await;
    assert_eq!(owner.recv().await, message(mb, "cGFrZTE="));
    send(&mut owner, mb, "cGFrZTI=").await;
    assert_eq!(joiner.recv().await, message(mb, "cGFrZTI="));
    send(&mut joiner, mb, "cGFrZTM=").await;
    assert_eq!(owner.recv().await, message(mb, "cGFrZTM="));

    close(&mut owner, mb).await;
    assert_eq!(joiner.recv().await, closed(mb, "done"));
    // The owner asked for it and gets no echo, as for `leave`.
    owner.expect_silence(Duration::from_millis(200)).await;
    // The mailbox is gone for both.
    send(&mut joiner, mb, "bGF0ZQ==").await;
    joiner.expect_error("no_such_code").await;
    send(&mut owner, mb, "bGF0ZQ==").await;
    owner.expect_error("no_such_code").await;
    let mut late = Client::connect(addr).await;
    claim(&mut late, mb, "eA==").await;
    late.expect_error("no_such_code").await;
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn unknown_mailboxes_and_non_parties_get_no_such_code_and_reach_nobody() {
    let server = start(test_config()).await;
    let addr = server.local_addr();
    let mut owner = Client::connect(addr).await;
    let mut joiner = Client::connect(addr).await;
    let mut stranger = Client::connect(addr).await;
    let (mb, _) = open(&mut owner, 60_000).await;

    for unknown in [other_than(mb), 0, 5, 4_000_000_000] {
        claim(&mut stranger, unknown, "eA==").await;
        stranger.expect_error("no_such_code").await;
    }
    claim(&mut joiner, mb, "aGk=").await;
    assert_eq!(owner.recv().await, message(mb, "aGk="));

    // Neither owner nor joiner: sending and closing are refused and reach no one.
    send(&mut stranger, mb, "c3B5").await;
    stranger.expect_error("no_such_code").await;
    close(&mut stranger, mb).await;
    stranger.expect_error("no_such_code").await;
    send(&mut stranger, other_than(mb), "c3B5").await;
    stranger.expect_error("no_such_code").await;
    owner.expect_silence(Duration::from_millis(200)).await;
    joiner.expect_silence(Duration::from_millis(50)).await;

    // The owner cannot claim its own mailbox (which would spend a try).
    close(&mut joiner, mb).await;
    assert_eq!(owner.recv().await, waiting(mb, 2));
    claim(&mut owner, mb, "bWU=").await;
    owner.expect_error("no_such_code").await;
    // The mailbox still works for a real joiner, with the tries left unchanged.
    claim(&mut stranger, mb, "dHdv").await;
    assert_eq!(owner.recv().await, message(mb, "dHdv"));
    close(&mut stranger, mb).await;
    assert_eq!(owner.recv().await, waiting(mb, 1));
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_second_joiner_gets_code_busy_while_the_first_holds_the_mailbox() {
    let server = start(test_config()).await;
    let addr = server.local_addr();
    let mut owner = Client::connect(addr).await;
    let mut first = Client::connect(addr).await;
    let mut second = Client::connect(addr).await;
    let (mb, _) = open(&mut owner, 60_000).await;

    claim(&mut first, mb, "Zmlyc3Q=").await;
    assert_eq!(owner.recv().await, message(mb, "Zmlyc3Q="));
    claim(&mut second, mb, "c2Vjb25k").await;
    second.expect_error("code_busy").await;
    // Claiming again while holding it is busy too, and spends no try.
    claim(&mut first, mb, "YWdhaW4=").await;
    first.expect_error("code_busy").await;
    owner.expect_silence(Duration::from_millis(200)).await;
    // The busy claimer is no party: it cannot send.
    send(&mut second, mb, "eA==").await;
    second.expect_error("no_such_code").await;

    // Once the first gives up, the second may claim, and only one try was used.
    close(&mut first, mb).await;
    assert_eq!(owner.recv().await, waiting(mb, 2));
    claim(&mut second, mb, "c2Vjb25k").await;
    assert_eq!(owner.recv().await, message(mb, "c2Vjb25k"));
    send(&mut owner, mb, "b2s=").await;
    assert_eq!(second.recv().await, message(mb, "b2s="));
    first.expect_silence(Duration::from_millis(100)).await;
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn three_joiners_giving_up_burn_the_mailbox() {
    let server = start(test_config()).await;
    let addr = server.local_addr();
    let mut owner = Client::connect(addr).await;
    let (mb, _) = open(&mut owner, 60_000).await;

    // The first gives up with code_close.
    let mut j1 = Client::connect(addr).await;
    claim(&mut j1, mb, "MQ==").await;
    assert_eq!(owner.recv().await, message(mb, "MQ=="));
    close(&mut j1, mb).await;
    assert_eq!(owner.recv().await, waiting(mb, 2));
    // A joiner that gave up is no longer a party.
    send(&mut j1, mb, "eA==").await;
    j1.expect_error("no_such_code").await;

    // The second disconnects, which counts the same.
    let mut j2 = Client::connect(addr).await;
    claim(&mut j2, mb, "Mg==").await;
    assert_eq!(owner.recv().await, message(mb, "Mg=="));
    j2.ws.close(None).await.unwrap();
    assert_eq!(owner.recv().await, waiting(mb, 1));

    // The third uses the last try; giving it up burns the mailbox.
    let mut j3 = Client::connect(addr).await;
    claim(&mut j3, mb, "Mw==").await;
    assert_eq!(owner.recv().await, message(mb, "Mw=="));
    close(&mut j3, mb).await;
    assert_eq!(owner.recv().await, closed(mb, "burned"));
    j3.expect_silence(Duration::from_millis(100)).await;

    let mut j4 = Client::connect(addr).await;
    claim(&mut j4, mb, "NA==").await;
    j4.expect_error("no_such_code").await;
    send(&mut owner, mb, "eA==").await;
    owner.expect_error("no_such_code").await;
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn mailboxes_expire_by_the_servers_clock() {
    let mut config = test_config();
    config.limits.max_code_ttl = Duration::from_millis(300);
    let server = start(config).await;
    let addr = server.local_addr();
    let mut owner = Client::connect(addr).await;
    let mut joiner = Client::connect(addr).await;

    let opened_at = tokio::time::Instant::now();
    let (mb, expires) = open(&mut owner, 3_600_000).await;
    assert_eq!(expires, 300, "the ttl is cut to the server's longest");
    claim(&mut joiner, mb, "aGk=").await;
    assert_eq!(owner.recv().await, message(mb, "aGk="));

    assert_eq!(owner.recv().await, closed(mb, "expired"));
    assert_eq!(joiner.recv().await, closed(mb, "expired"));
    let lived = opened_at.elapsed();
    assert!(
        lived >= Duration::from_millis(250),
        "closed after {lived:?}, before its time"
    );
    let mut late = Client::connect(addr).await;
    claim(&mut late, mb, "eA==").await;
    late.expect_error("no_such_code").await;
    send(&mut joiner, mb, "eA==").await;
    joiner.expect_error("no_such_code").await;

    // A shorter ttl is granted as asked, and expires without a joiner too.
    let (mb2, expires) = open(&mut owner, 100).await;
    assert_eq!(expires, 100);
    assert_eq!(owner.recv().await, closed(mb2, "expired"));
    // Expired mailboxes no longer count against the connection's limit of four. (These
    // expire too, so their `code_closed` may come first.)
    for _ in 0..4 {
        owner
            .send(json!({"v":1,"type":"code_open","ttl_ms":60_000}))
            .await;
        owner.recv_type("code_opened").await;
    }
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn the_joiner_learns_when_the_owner_disconnects() {
    let server = start(test_config()).await;
    let addr = server.local_addr();
    let mut owner = Client::connect(addr).await;
    let mut joiner = Client::connect(addr).await;
    let (mb, _) = open(&mut owner, 60_000).await;
    let (unclaimed, _) = open(&mut owner, 60_000).await;
    claim(&mut joiner, mb, "aGk=").await;
    assert_eq!(owner.recv().await, message(mb, "aGk="));

    owner.ws.close(None).await.unwrap();
    assert_eq!(joiner.recv().await, closed(mb, "gone"));
    joiner.expect_silence(Duration::from_millis(100)).await;
    for n in [mb, unclaimed] {
        claim(&mut joiner, n, "eA==").await;
        joiner.expect_error("no_such_code").await;
    }
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn open_codes_are_limited_per_connection_per_address_and_in_total() {
    let mut config = test_config();
    config.limits.max_codes_per_ip = 6;
    let server = start(config).await;
    let addr = server.local_addr();

    // Per connection: four (the default), then too_many_codes; closing one frees a slot.
    let mut a = Client::connect(addr).await;
    let mut mine = Vec::new();
    for _ in 0..4 {
        mine.push(open(&mut a, 60_000).await.0);
    }
    a.send(json!({"v":1,"type":"code_open","ttl_ms":60_000}))
        .await;
    a.expect_error("too_many_codes").await;
    close(&mut a, mine[0]).await;
    open(&mut a, 60_000).await;

    // Per address: six from 127.0.0.1 over all its connections.
    let mut b = Client::connect(addr).await;
    open(&mut b, 60_000).await;
    open(&mut b, 60_000).await;
    b.send(json!({"v":1,"type":"code_open","ttl_ms":60_000}))
        .await;
    b.expect_error("too_many_codes").await;
    server.shutdown().await.unwrap();

    // In total: three here, whatever the addresses (forwarded by a trusted proxy).
    let mut config = test_config();
    config.limits.max_codes = 3;
    config.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
    let server = start(config).await;
    let addr = server.local_addr();
    let mut clients = Vec::new();
    for i in 0..3 {
        let xff = format!("192.0.2.{i}");
        let mut c = Client::connect_with(addr, &[("x-forwarded-for", &xff)]).await;
        open(&mut c, 60_000).await;
        clients.push(c);
    }
    let mut d = Client::connect_with(addr, &[("x-forwarded-for", "198.51.100.1")]).await;
    d.send(json!({"v":1,"type":"code_open","ttl_ms":60_000}))
        .await;
    d.expect_error("too_many_codes").await;
    // A closed connection's mailboxes free their places.
    clients.pop().unwrap().ws.close(None).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    open(&mut d, 60_000).await;
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn claims_are_limited_per_address_per_minute() {
    let mut config = test_config();
    config.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
    let server = start(config).await;
    let addr = server.local_addr();
    let mut owner = Client::connect_with(addr, &[("x-forwarded-for", "192.0.2.1")]).await;
    let (mb, _) = open(&mut owner, 60_000).await;

    // Ten claims a minute (the default) from one address, spread over two connections,
    // whether or not they name an open mailbox.
    let mut g1 = Client::connect_with(addr, &[("x-forwarded-for", "198.51.100.7")]).await;
    let mut g2 = Client::connect_with(addr, &[("x-forwarded-for", "198.51.100.7")]).await;
    for i in 0..10 {
        let g = if i % 2 == 0 { &mut g1 } else { &mut g2 };
        claim(g, other_than(mb), "eA==").await;
        g.expect_error("no_such_code").await;
    }
    // The eleventh is refused before the mailbox is looked at, even an open one.
    claim(&mut g1, mb, "Z3Vlc3M=").await;
    g1.expect_error("too_many_tries").await;
    claim(&mut g2, mb, "Z3Vlc3M=").await;
    g2.expect_error("too_many_tries").await;
    owner.expect_silence(Duration::from_millis(200)).await;

    // Another address claims as usual, and the refused claims spent none of the tries.
    let mut honest = Client::connect_with(addr, &[("x-forwarded-for", "203.0.113.5")]).await;
    claim(&mut honest, mb, "aGk=").await;
    assert_eq!(owner.recv().await, message(mb, "aGk="));
    close(&mut honest, mb).await;
    assert_eq!(owner.recv().await, waiting(mb, 2));
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_page_that_only_uses_a_code_is_not_closed_by_the_handshake_timeout() {
    let mut config = test_config();
    config.limits.handshake_timeout = Duration::from_millis(300);
    let server = start(config).await;
    let addr = server.local_addr();
    let mut idle = Client::connect(addr).await;
    let mut owner = Client::connect(addr).await;
    let mut joiner = Client::connect(addr).await;
    idle.assert_alive().await;
    let (mb, _) = open(&mut owner, 60_000).await;
    // Even a refused claim (a mistyped code) shows the page speaks the protocol.
    claim(&mut joiner, other_than(mb), "eA==").await;
    joiner.expect_error("no_such_code").await;

    // The one that did nothing is closed, the other two stay.
    let (code, _) = idle.expect_close().await;
    assert_eq!(code, 4000);
    owner.expect_silence(Duration::from_millis(500)).await;
    joiner.expect_silence(Duration::from_millis(50)).await;
    owner.assert_alive().await;
    claim(&mut joiner, mb, "aGk=").await;
    assert_eq!(owner.recv().await, message(mb, "aGk="));
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn mailbox_numbers_are_two_digits_while_few_are_open_then_grow() {
    let mut config = test_config();
    config.limits.max_codes_per_connection = 100;
    config.limits.max_codes_per_ip = 100;
    let server = start(config).await;
    let addr = server.local_addr();
    let mut owner = Client::connect(addr).await;
    let mut seen = HashSet::new();
    for _ in 0..45 {
        let (mb, _) = open(&mut owner, 60_000).await;
        assert!((10..=99).contains(&mb), "mailbox {mb} with few open");
        assert!(seen.insert(mb), "mailbox {mb} handed out twice");
    }
    let (mb, _) = open(&mut owner, 60_000).await;
    assert!((100..=999).contains(&mb), "mailbox {mb} with 45 open");
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn bad_code_requests_get_bad_message() {
    let server = start(test_config()).await;
    let addr = server.local_addr();
    let mut owner = Client::connect(addr).await;
    let mut joiner = Client::connect(addr).await;
    owner
        .send(json!({"v":1,"type":"code_open","ttl_ms":0}))
        .await;
    owner.expect_error("bad_message").await;
    let (mb, _) = open(&mut owner, 60_000).await;

    let longest = "A".repeat(2048);
    let too_long = "A".repeat(2049);
    claim(&mut joiner, mb, &too_long).await;
    joiner.expect_error("bad_message").await;
    owner.expect_silence(Duration::from_millis(100)).await;
    // Refused for its size, it spent no try: this claim gets the first one.
    claim(&mut joiner, mb, &longest).await;
    assert_eq!(owner.recv().await, message(mb, &longest));
    send(&mut owner, mb, &too_long).await;
    owner.expect_error("bad_message").await;
    send(&mut joiner, mb, &too_long).await;
    joiner.expect_error("bad_message").await;
    send(&mut owner, mb, &longest).await;
    assert_eq!(joiner.recv().await, message(mb, &longest));
    close(&mut joiner, mb).await;
    assert_eq!(owner.recv().await, waiting(mb, 2));
    for text in [
        r#"{"v":1,"type":"code_open"}"#,
        r#"{"v":1,"type":"code_claim","mailbox":-1,"blob":"eA=="}"#,
        r#"{"v":1,"type":"code_send","mailbox":12}"#,
    ] {
        owner.send_text(text).await;
        owner.expect_error("bad_message").await;
    }
    server.shutdown().await.unwrap();
}
