//! The client's address behind a trusted reverse proxy.
//!
//! Behind a reverse proxy (the usual way to add TLS) every TCP connection comes from the
//! proxy, so the per-address connection limit (`Limits::max_connections_per_ip`) would
//! count all clients as one and a single client could lock everyone out. With
//! `--trusted-proxy <IP or CIDR>` (repeatable, [`crate::Config::trusted_proxies`]) the
//! server reads the client's address from the `X-Forwarded-For` header, but only on
//! connections whose TCP peer is in that list: from any other peer the header is ignored,
//! so a client cannot choose the address it is counted under.
//!
//! # The rule
//!
//! `X-Forwarded-For` is a comma-separated list of addresses, each proxy appending the
//! address it received the request from; several header lines count as one list, in order.
//! The list is read from the right: addresses that are themselves trusted proxies are
//! skipped, and the first one that is not is the client. Everything left of it was written
//! by the client or by proxies the server does not trust, and is never looked at. An entry
//! may be a bare IPv4 or IPv6 address, `v4:port`, `[v6]` or `[v6]:port`.
//!
//! The server falls back to the TCP peer, the proxy itself, when the header is missing,
//! when an entry it reaches is not an address (`unknown`, an obfuscated name, garbage),
//! or when the bounds below are exceeded. Clients counted that way share the proxy's
//! per-address slots, as they would without this setting. When every address read is a
//! trusted proxy, the left-most of them is the client (a trusted machine connecting itself).
//!
//! Only `X-Forwarded-For` is read, not RFC 7239 `Forwarded`: a header the proxy does not
//! manage arrives as the client wrote it, so reading a second header would let a client
//! behind a proxy that sets only the other one pick its own address. Every common proxy
//! (nginx's `$proxy_add_x_forwarded_for`, Caddy, HAProxy's `option forwardfor`, Traefik)
//! appends to `X-Forwarded-For`.
//!
//! # Bounds
//!
//! - At most [`MAX_HOPS`] entries are examined, from the right: a chain of trusted proxies
//!   longer than that is not plausible, and a client cannot make the server parse a long
//!   list it prepended. More trusted entries than that: the TCP peer.
//! - An entry longer than [`MAX_ENTRY_BYTES`] is not an address: the TCP peer. Entries are
//!   split on raw bytes from the right, so the bytes left of the client's entry are never
//!   scanned, whatever their length (hyper caps the total size of the request head anyway).

use std::fmt;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::str::FromStr;

use axum::http::HeaderMap;

/// Entries of `X-Forwarded-For` examined at most, from the right.
pub const MAX_HOPS: usize = 16;
/// Longest entry read as an address (`[` + 39-character IPv6 + `]:65535` is 47 bytes).
pub const MAX_ENTRY_BYTES: usize = 64;

/// An IP address or a CIDR block, e.g. `10.0.0.1`, `10.0.0.0/8`, `fd00::/8`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpCidr {
    addr: IpAddr,
    prefix: u8,
}

impl IpCidr {
    /// The block of `prefix` leading bits of `addr` (host bits are ignored). `None` when the
    /// prefix is longer than the address.
    pub fn new(addr: IpAddr, prefix: u8) -> Option<Self> {
        let addr = canonical(addr);
        (prefix <= max_prefix(addr)).then_some(IpCidr { addr, prefix })
    }

    /// Whether `ip` is in this block. IPv4-mapped IPv6 addresses match as IPv4.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, canonical(ip)) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                same_prefix(u32::from(net).into(), u32::from(ip).into(), 32, self.prefix)
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                same_prefix(u128::from(net), u128::from(ip), 128, self.prefix)
            }
            _ => false,
        }
    }
}

/// Whether the top `prefix` of `width` bits of `a` and `b` agree.
fn same_prefix(a: u128, b: u128, width: u8, prefix: u8) -> bool {
    let shift = u32::from(width - prefix);
    shift >= 128 || (a >> shift) == (b >> shift)
}

fn max_prefix(ip: IpAddr) -> u8 {
    match ip {
        IpAddr::V4(_) => 32,
        IpAddr::V6(_) => 128,
    }
}

/// IPv4-mapped IPv6 addresses (`::ffff:a.b.c.d`, what a dual-stack socket reports for IPv4
/// peers) as the IPv4 address they carry.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// Why a `--trusted-proxy` value was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadCidr(String);

impl fmt::Display for BadCidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BadCidr {}

impl FromStr for IpCidr {
    type Err = BadCidr;

    fn from_str(text: &str) -> Result<Self, BadCidr> {
        let text = text.trim();
        let (addr, prefix) = match text.split_once('/') {
            Some((addr, prefix)) => (addr, Some(prefix)),
            None => (text, None),
        };
        let addr: IpAddr = addr.parse().map_err(|_| {
            BadCidr(format!(
                "{text:?} is not an IP address or CIDR block (e.g. 10.0.0.1, 10.0.0.0/8 or fd00::/8)"
            ))
        })?;
        let max = max_prefix(canonical(addr));
        let prefix = match prefix {
            None => max,
            Some(p) => p.parse::<u8>().ok().filter(|p| *p <= max).ok_or_else(|| {
                BadCidr(format!(
                    "{text:?} has a prefix length that is not a number from 0 to {max}"
                ))
            })?,
        };
        IpCidr::new(addr, prefix).ok_or_else(|| BadCidr(format!("{text:?} is not a CIDR block")))
    }
}

impl fmt::Display for IpCidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

/// The address a connection from `peer` is counted under: the client's address from
/// `X-Forwarded-For` when `peer` is a trusted proxy, otherwise `peer` (rule in the module doc).
pub fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted: &[IpCidr]) -> IpAddr {
    let is_trusted = |ip: IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(peer) {
        return peer;
    }
    let mut entries = headers
        .get_all("x-forwarded-for")
        .iter()
        .rev()
        .flat_map(|value| value.as_bytes().rsplit(|b| *b == b','))
        .map(<[u8]>::trim_ascii)
        .filter(|entry| !entry.is_empty());
    let mut last_trusted = None;
    for entry in entries.by_ref().take(MAX_HOPS) {
        let Some(ip) = parse_entry(entry) else {
            return peer;
        };
        if !is_trusted(ip) {
            return ip;
        }
        last_trusted = Some(ip);
    }
    match (last_trusted, entries.next()) {
        (Some(ip), None) => ip,
        _ => peer,
    }
}

/// One `X-Forwarded-For` entry: `ip`, `v4:port`, `[v6]` or `[v6]:port`.
fn parse_entry(entry: &[u8]) -> Option<IpAddr> {
    if entry.len() > MAX_ENTRY_BYTES {
        return None;
    }
    let text = std::str::from_utf8(entry).ok()?;
    if let Ok(ip) = text.parse::<IpAddr>() {
        return Some(canonical(ip));
    }
    if let Ok(sock) = text.parse::<SocketAddr>() {
        return Some(canonical(sock.ip()));
    }
    let v6 = text.strip_prefix('[')?.strip_suffix(']')?;
    v6.parse::<Ipv6Addr>()
        .ok()
        .map(|ip| canonical(IpAddr::V6(ip)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn cidr(text: &str) -> IpCidr {
        text.parse().unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap_or_else(|_| panic!("{text}"))
    }

    fn forwarded(values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for v in values {
            headers.append(
                "x-forwarded-for",
                HeaderValue::from_str(v).unwrap_or_else(|_| panic!("{v}")),
            );
        }
        headers
    }

    #[test]
    fn cidr_blocks_parse_and_match() {
        let net = cidr("10.0.0.0/8");
        assert!(net.contains(ip("10.200.3.4")));
        assert!(!net.contains(ip("11.0.0.1")));
        assert!(net.contains(ip("::ffff:10.1.2.3")), "mapped IPv4 matches");
        assert!(cidr("127.0.0.1").contains(ip("127.0.0.1")));
        assert!(!cidr("127.0.0.1").contains(ip("127.0.0.2")));
        assert!(cidr("0.0.0.0/0").contains(ip("203.0.113.9")));
        assert!(!cidr("0.0.0.0/0").contains(ip("2001:db8::1")));
        assert!(cidr("fd00::/8").contains(ip("fd12:3456::1")));
        assert!(!cidr("fd00::/8").contains(ip("fe80::1")));
        assert!(cidr("::/0").contains(ip("2001:db8::1")));
        assert_eq!(cidr(" 192.0.2.77/24 ").to_string(), "192.0.2.77/24");
        for bad in [
            "",
            "10.0.0.0/33",
            "::1/129",
            "10.0.0.1/",
            "10.0.0/8",
            "example.org",
            "10.0.0.0/-1",
        ] {
            assert!(bad.parse::<IpCidr>().is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn the_right_most_untrusted_address_is_the_client() {
        let trusted = [cidr("127.0.0.1"), cidr("10.0.0.0/8")];
        let proxy = ip("127.0.0.1");
        let got = |values: &[&str]| client_ip(proxy, &forwarded(values), &trusted);
        assert_eq!(got(&["203.0.113.7"]), ip("203.0.113.7"));
        // The client prepended a forged address; the proxy appended the real one.
        assert_eq!(got(&["198.51.100.1, 203.0.113.7"]), ip("203.0.113.7"));
        // Two trusted hops are skipped.
        assert_eq!(got(&["203.0.113.7, 10.1.1.1, 10.2.2.2"]), ip("203.0.113.7"));
        // Several header lines are one list.
        assert_eq!(
            got(&["198.51.100.1", "203.0.113.7,10.1.1.1"]),
            ip("203.0.113.7")
        );
        assert_eq!(got(&["[2001:db8::5]:4711"]), ip("2001:db8::5"));
        assert_eq!(got(&["[2001:db8::5]"]), ip("2001:db8::5"));
        assert_eq!(got(&["2001:db8::5"]), ip("2001:db8::5"));
        assert_eq!(got(&["203.0.113.7:5000"]), ip("203.0.113.7"));
        assert_eq!(got(&["::ffff:203.0.113.7"]), ip("203.0.113.7"));
        // Garbage left of the client is never read.
        assert_eq!(got(&["nonsense, unknown, 203.0.113.7"]), ip("203.0.113.7"));
        // Only trusted hops: the left-most.
        assert_eq!(got(&["10.9.9.9, 10.1.1.1"]), ip("10.9.9.9"));
    }

    #[test]
    fn missing_or_malformed_headers_fall_back_to_the_proxy() {
        let trusted = [cidr("127.0.0.0/8"), cidr("10.0.0.0/8")];
        let proxy = ip("127.0.0.1");
        let got = |values: &[&str]| client_ip(proxy, &forwarded(values), &trusted);
        assert_eq!(got(&[]), proxy);
        assert_eq!(got(&[""]), proxy);
        assert_eq!(got(&[" , ,"]), proxy);
        assert_eq!(got(&["unknown"]), proxy);
        assert_eq!(got(&["203.0.113.7, _hidden"]), proxy);
        assert_eq!(got(&["203.0.113.7, 10.1.1.1 10.2.2.2"]), proxy);
        assert_eq!(got(&[&format!("{}1", "0".repeat(MAX_ENTRY_BYTES))]), proxy);
        // More trusted hops than are examined: the client cannot be found.
        let hops = vec!["10.0.0.1"; MAX_HOPS + 1].join(",");
        assert_eq!(got(&[&format!("203.0.113.7,{hops}")]), proxy);
        // Exactly MAX_HOPS entries, all trusted: the left-most of them.
        let hops = vec!["10.0.0.1"; MAX_HOPS].join(",");
        assert_eq!(got(&[&hops]), ip("10.0.0.1"));
    }

    #[test]
    fn headers_from_an_untrusted_peer_are_ignored() {
        let headers = forwarded(&["203.0.113.7"]);
        let peer = ip("198.51.100.9");
        assert_eq!(client_ip(peer, &headers, &[]), peer);
        assert_eq!(client_ip(peer, &headers, &[cidr("127.0.0.1")]), peer);
        // A dual-stack socket's mapped IPv4 peer matches an IPv4 entry.
        let mapped = ip("::ffff:127.0.0.1");
        assert_eq!(
            client_ip(mapped, &headers, &[cidr("127.0.0.1")]),
            ip("203.0.113.7")
        );
    }
}
