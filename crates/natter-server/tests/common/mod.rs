//! Helpers shared by the server's integration tests: an in-process server on
//! 127.0.0.1 port 0, a small WebSocket test client, and a minimal HTTP/1.1 client.
#![allow(dead_code, clippy::unwrap_used)]

use std::net::SocketAddr;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use natter_server::{Config, Server, ServerHandle};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode as WsCloseCode;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// How long a test waits for any one expected event.
pub const STEP: Duration = Duration::from_secs(5);

/// A config for tests: loopback, port 0, generous connection limits.
pub fn test_config() -> Config {
    let mut config = Config {
        addr: "127.0.0.1:0".parse().unwrap(),
        dist: std::env::temp_dir().join("natter-test-no-dist"),
        ..Config::default()
    };
    config.limits.max_connections_per_ip = 5000;
    config
}

/// Starts a server in this process.
pub async fn start(config: Config) -> ServerHandle {
    Server::start(config).await.unwrap()
}

/// One WebSocket test client.
pub struct Client {
    pub ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

impl Client {
    /// Connects to `/ws`.
    pub async fn connect(addr: SocketAddr) -> Client {
        let (ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/ws"))
            .await
            .unwrap();
        Client { ws }
    }

    /// Connects to `/ws` with extra request headers.
    pub async fn connect_with(addr: SocketAddr, headers: &[(&'static str, &str)]) -> Client {
        use tokio_tungstenite::tungstenite::client::IntoClientRequest;
        let mut req = format!("ws://{addr}/ws").into_client_request().unwrap();
        for (name, value) in headers {
            req.headers_mut().append(*name, value.parse().unwrap());
        }
        let (ws, _) = tokio_tungstenite::connect_async(req).await.unwrap();
        Client { ws }
    }

    /// Sends a text frame.
    pub async fn send_text(&mut self, text: impl Into<String>) {
        self.ws.send(Message::text(text.into())).await.unwrap();
    }

    /// Sends a JSON value as a text frame.
    pub async fn send(&mut self, value: Value) {
        self.send_text(value.to_string()).await;
    }

    /// Receives the next text message as JSON; panics on close or timeout.
    pub async fn recv(&mut self) -> Value {
        loop {
            let msg = tokio::time::timeout(STEP, self.ws.next())
                .await
                .expect("timed out waiting for a message");
            match msg {
                Some(Ok(Message::Text(text))) => return serde_json::from_str(&text).unwrap(),
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                other => panic!("expected a text message, got {other:?}"),
            }
        }
    }

    /// Receives until a message of `kind` arrives, returning it; others are skipped.
    pub async fn recv_type(&mut self, kind: &str) -> Value {
        loop {
            let msg = self.recv().await;
            if msg["type"] == kind {
                return msg;
            }
        }
    }

    /// Expects an error frame with `code`.
    pub async fn expect_error(&mut self, code: &str) -> Value {
        let msg = self.recv().await;
        assert_eq!(msg["type"], "error", "expected error {code}, got {msg}");
        assert_eq!(msg["code"], code, "got {msg}");
        msg
    }

    /// Reads until the server closes; returns the close code. Text frames before the close
    /// are collected into `seen`.
    pub async fn expect_close(&mut self) -> (u16, Vec<Value>) {
        let mut seen = Vec::new();
        loop {
            let msg = tokio::time::timeout(STEP, self.ws.next())
                .await
                .expect("timed out waiting for close");
            match msg {
                Some(Ok(Message::Text(text))) => seen.push(serde_json::from_str(&text).unwrap()),
                Some(Ok(Message::Close(frame))) => {
                    return (frame.map(|f| u16::from(f.code)).unwrap_or(1005), seen);
                }
                Some(Ok(_)) => continue,
                Some(Err(e)) => panic!("connection failed instead of closing: {e}; seen {seen:?}"),
                None => panic!("stream ended without a close frame; seen {seen:?}"),
            }
        }
    }

    /// Asserts that nothing but pings arrives for `wait`.
    pub async fn expect_silence(&mut self, wait: Duration) {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            match tokio::time::timeout_at(deadline, self.ws.next()).await {
                Err(_) => return,
                Ok(Some(Ok(Message::Ping(_) | Message::Pong(_)))) => continue,
                Ok(other) => panic!("expected silence, got {other:?}"),
            }
        }
    }

    /// Joins `room`; returns (session, peers).
    pub async fn join(&mut self, room: &str) -> (String, Vec<String>) {
        self.send(json!({"v":1,"type":"join","room":room})).await;
        let msg = self.recv_type("joined").await;
        assert_eq!(msg["room"], room);
        let session = msg["session"].as_str().unwrap().to_owned();
        let peers = msg["peers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p.as_str().unwrap().to_owned())
            .collect();
        (session, peers)
    }

    /// Sends a `signal`.
    pub async fn signal(&mut self, room: &str, to: &str, blob: &str) {
        self.send(json!({"v":1,"type":"signal","room":room,"to":to,"blob":blob}))
            .await;
    }

    /// Sends `blob` to `to` in `room` up to `max` times, until the server says `to` left
    /// (as a slow consumer); returns how many were sent and the `peer_left` message.
    pub async fn flood_until_left(
        &mut self,
        room: &str,
        to: &str,
        blob: &str,
        max: usize,
    ) -> (usize, Value) {
        let mut sent = 0;
        while sent < max {
            self.signal(room, to, blob).await;
            sent += 1;
            if let Ok(Some(Ok(Message::Text(text)))) =
                tokio::time::timeout(Duration::from_millis(1), self.ws.next()).await
            {
                let msg: Value = serde_json::from_str(&text).unwrap();
                if msg["type"] == "peer_left" {
                    return (sent, msg);
                }
            }
        }
        (sent, self.recv_type("peer_left").await)
    }

    /// Sends `ping` and expects `pong`: proves the connection still works.
    pub async fn assert_alive(&mut self) {
        self.send(json!({"v":1,"type":"ping"})).await;
        let msg = self.recv_type("pong").await;
        assert_eq!(msg["v"], 1);
    }
}

/// Converts a tungstenite close code to its number (kept here to avoid depending on its
/// conversions in every test).
pub fn code_of(code: WsCloseCode) -> u16 {
    u16::from(code)
}

/// A parsed HTTP response.
#[derive(Debug)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// The first header named `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// A minimal HTTP/1.1 GET over a fresh connection, with extra request headers.
pub async fn http_get(addr: SocketAddr, path: &str, headers: &[(&str, &str)]) -> HttpResponse {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let mut req = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (n, v) in headers {
        req.push_str(&format!("{n}: {v}\r\n"));
    }
    req.push_str("\r\n");
    stream.write_all(req.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    tokio::time::timeout(STEP, stream.read_to_end(&mut raw))
        .await
        .unwrap()
        .unwrap();
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let mut body = raw[split + 4..].to_vec();
    let chunked = headers
        .iter()
        .any(|(n, v)| n.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"));
    if chunked {
        body = dechunk(&body);
    }
    HttpResponse {
        status,
        headers,
        body,
    }
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let line_end = data.windows(2).position(|w| w == b"\r\n").unwrap();
        let size_text = String::from_utf8_lossy(&data[..line_end]).into_owned();
        let size = usize::from_str_radix(size_text.split(';').next().unwrap().trim(), 16).unwrap();
        data = &data[line_end + 2..];
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&data[..size]);
        data = &data[size + 2..];
    }
}
