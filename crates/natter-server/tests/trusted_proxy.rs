//! `--trusted-proxy`: behind a reverse proxy the per-address connection limit counts the
//! client address the proxy forwards, and only when the TCP peer is a trusted proxy; from
//! any other peer `X-Forwarded-For` is ignored. Every connection here comes from 127.0.0.1.
#![allow(clippy::unwrap_used)]

mod common;

use clap::Parser;
use common::{start, test_config, Client};
use natter_server::proxy::IpCidr;
use natter_server::{Args, Error};
use serde_json::json;

/// `max_connections_per_ip` in these tests.
const LIMIT: usize = 3;

/// Opens `LIMIT` connections forwarded for `client`, each shown to work.
async fn fill(addr: std::net::SocketAddr, client: &str) -> Vec<Client> {
    let mut open = Vec::new();
    for _ in 0..LIMIT {
        let mut c = Client::connect_with(addr, &[("x-forwarded-for", client)]).await;
        c.assert_alive().await;
        open.push(c);
    }
    open
}

/// Expects a connection forwarded for `client` to be refused with 4003.
async fn expect_refused(addr: std::net::SocketAddr, client: &str) {
    let mut c = Client::connect_with(addr, &[("x-forwarded-for", client)]).await;
    let (code, seen) = c.expect_close().await;
    assert_eq!(code, 4003, "{client}: seen {seen:?}");
    assert_eq!(
        seen.first().map(|m| m["code"].clone()),
        Some(json!("too_many_connections"))
    );
}

/// Expects a connection forwarded for `client` to be admitted.
async fn expect_admitted(addr: std::net::SocketAddr, client: &str) -> Client {
    let mut c = Client::connect_with(addr, &[("x-forwarded-for", client)]).await;
    c.assert_alive().await;
    c
}

#[test]
fn trusted_proxies_parse_as_addresses_or_cidr_blocks_and_bad_ones_are_refused_in_words() {
    let config = Args::parse_from([
        "natter-server",
        "--trusted-proxy",
        "127.0.0.1",
        "--trusted-proxy",
        "10.0.0.0/8,fd00::/8",
    ])
    .into_config()
    .unwrap();
    let shown: Vec<String> = config
        .trusted_proxies
        .iter()
        .map(IpCidr::to_string)
        .collect();
    assert_eq!(shown, ["127.0.0.1/32", "10.0.0.0/8", "fd00::/8"]);
    assert!(config.trusted_proxies[1].contains("10.20.30.40".parse().unwrap()));
    assert!(!config.trusted_proxies[1].contains("11.0.0.1".parse().unwrap()));
    let none = Args::parse_from(["natter-server"]).into_config().unwrap();
    assert!(
        none.trusted_proxies.is_empty(),
        "no proxy is trusted by default"
    );
    for bad in [
        "10.0.0.0/33",
        "proxy.example.org",
        "10.0.0.1/",
        "::1/129",
        "10.0.0/8",
    ] {
        match Args::parse_from(["natter-server", "--trusted-proxy", bad]).into_config() {
            Err(Error::InvalidConfig(msg)) => {
                assert!(msg.contains("--trusted-proxy"), "{msg}");
                assert!(msg.contains(bad), "the message names the value: {msg}");
            }
            other => panic!("{bad:?} gave {other:?}"),
        }
    }
}

#[tokio::test]
async fn behind_a_trusted_proxy_the_limit_counts_each_forwarded_client() {
    let mut config = test_config();
    config.limits.max_connections_per_ip = LIMIT;
    config.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
    let server = start(config).await;
    let addr = server.local_addr();

    let flood = fill(addr, "203.0.113.7").await;
    expect_refused(addr, "203.0.113.7").await;
    // An address the client prepended itself does not help: the proxy appended the real one.
    expect_refused(addr, "198.51.100.1, 203.0.113.7").await;
    // Everyone else behind the same proxy is still admitted.
    let mut other = expect_admitted(addr, "203.0.113.8").await;
    // IPv6 clients count per /64.
    let v6 = fill(addr, "2001:db8:1:2::1").await;
    expect_refused(addr, "[2001:db8:1:2::ffff]:4711").await;
    let _v6_other = expect_admitted(addr, "2001:db8:1:3::1").await;
    // Without the header the proxy's own address is counted, which nobody has used yet.
    let mut bare = Client::connect(addr).await;
    bare.assert_alive().await;
    other.assert_alive().await;
    drop((flood, v6));
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn forwarded_headers_from_an_untrusted_peer_are_ignored() {
    for trusted in [vec![], vec!["192.0.2.0/24".parse().unwrap()]] {
        let mut config = test_config();
        config.limits.max_connections_per_ip = LIMIT;
        config.trusted_proxies = trusted;
        let server = start(config).await;
        let addr = server.local_addr();
        // Each connection claims another address; they are all counted as 127.0.0.1.
        let mut open = Vec::new();
        for i in 0..LIMIT {
            open.push(expect_admitted(addr, &format!("203.0.113.{i}")).await);
        }
        expect_refused(addr, "203.0.113.99").await;
        drop(open);
        server.shutdown().await.unwrap();
    }
}
