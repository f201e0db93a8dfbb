//! The keeper's side of the signaling server: a few WebSockets that join its rooms.
//!
//! # What
//!
//! A server admits only so many rooms per connection (natter-server's default is 8), so the
//! keeper spreads its rooms over as many sockets as it needs, [`Pool::rooms_per_socket`]
//! each. Every socket is a task that forwards the server's messages to the keeper's loop
//! as [`SigEvent`]s and sends what it is given.
//!
//! Sessions are per connection, and the node treats the server as one: when any socket is
//! lost the whole pool is dropped ([`SigEvent::Lost`]), and after a backoff every socket is
//! opened again and every room joined again, so each comes back with fresh sessions.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use natter_core::node::Input;
use natter_core::signal::{ClientMessage, ServerMessage};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

/// Longest text frame read from the server.
const MAX_MESSAGE_BYTES: usize = 256 * 1024;
/// How often a socket pings the server (its idle deadline is longer).
const PING_EVERY: Duration = Duration::from_secs(20);

/// What the server said, owned: the node's own inputs where it has one.
#[derive(Debug)]
pub enum SigEvent {
    /// `Joined`, `PeerJoined`, `PeerLeft` or `Blob` (for a room or the mailbox).
    Node(Input),
    /// The server refused something (words for the log).
    Error(String),
    /// A socket of generation `.0` closed: the pool is void.
    Lost(u64, String),
}

/// The sockets and the rooms joined on each.
#[derive(Debug)]
pub struct Pool {
    url: String,
    /// Rooms per socket.
    pub rooms_per_socket: usize,
    generation: u64,
    sockets: Vec<Socket>,
    rooms: BTreeMap<String, usize>,
    events: mpsc::UnboundedSender<SigEvent>,
}

#[derive(Debug)]
struct Socket {
    send: mpsc::UnboundedSender<String>,
    rooms: BTreeSet<String>,
}

impl Pool {
    /// A pool for the server's WebSocket at `url` (`ws://host:port/ws`); events go to
    /// `events`. No socket is opened before the first join.
    pub fn new(
        url: String,
        rooms_per_socket: usize,
        events: mpsc::UnboundedSender<SigEvent>,
    ) -> Pool {
        Pool {
            url,
            rooms_per_socket: rooms_per_socket.max(1),
            generation: 0,
            sockets: Vec::new(),
            rooms: BTreeMap::new(),
            events,
        }
    }

    /// The current generation (a [`SigEvent::Lost`] of an older one is stale).
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Joins `room` (remembered across reconnects).
    pub fn join(&mut self, room: &str) {
        if self.rooms.contains_key(room) {
            return;
        }
        let index = match self
            .sockets
            .iter()
            .position(|s| s.rooms.len() < self.rooms_per_socket)
        {
            Some(i) => i,
            None => {
                self.sockets
                    .push(open(self.url.clone(), self.generation, self.events.clone()));
                self.sockets.len() - 1
            }
        };
        self.sockets[index].rooms.insert(room.to_owned());
        self.rooms.insert(room.to_owned(), index);
        self.send(index, &ClientMessage::Join { room: room.into() });
    }

    /// Leaves `room`.
    pub fn leave(&mut self, room: &str) {
        if let Some(index) = self.rooms.remove(room) {
            self.sockets[index].rooms.remove(room);
            self.send(index, &ClientMessage::Leave { room: room.into() });
        }
    }

    /// Relays a sealed blob to session `to` in `room`.
    pub fn signal(&mut self, room: &str, to: &str, blob: &str) {
        if let Some(&index) = self.rooms.get(room) {
            self.send(
                index,
                &ClientMessage::Signal {
                    room: room.into(),
                    to: to.into(),
                    blob: blob.into(),
                },
            );
        }
    }

    fn send(&self, index: usize, msg: &ClientMessage<'_>) {
        let _ = self.sockets[index].send.send(msg.encode());
    }

    /// Drops every socket (their tasks end); the rooms are kept for [`Pool::reopen`].
    pub fn drop_all(&mut self) {
        self.generation += 1;
        self.sockets.clear();
    }

    /// Opens sockets again and joins every remembered room.
    pub fn reopen(&mut self) {
        let rooms: Vec<String> = std::mem::take(&mut self.rooms).into_keys().collect();
        for room in rooms {
            self.join(&room);
        }
    }

    /// Rooms joined.
    pub fn rooms(&self) -> usize {
        self.rooms.len()
    }
}

/// Starts one socket's task.
fn open(url: String, generation: u64, events: mpsc::UnboundedSender<SigEvent>) -> Socket {
    let (send, outgoing) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        let why = match run(&url, outgoing, &events).await {
            Ok(()) => "the server closed the connection".to_string(),
            Err(e) => e,
        };
        let _ = events.send(SigEvent::Lost(generation, why));
    });
    Socket {
        send,
        rooms: BTreeSet::new(),
    }
}

async fn run(
    url: &str,
    mut outgoing: mpsc::UnboundedReceiver<String>,
    events: &mpsc::UnboundedSender<SigEvent>,
) -> Result<(), String> {
    let config = tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default()
        .max_message_size(Some(MAX_MESSAGE_BYTES))
        .max_frame_size(Some(MAX_MESSAGE_BYTES));
    let (ws, _) = tokio_tungstenite::connect_async_with_config(url, Some(config), false)
        .await
        .map_err(|e| format!("connecting to {url}: {e}"))?;
    let (mut sink, mut stream) = ws.split();
    let mut ping = tokio::time::interval(PING_EVERY);
    ping.tick().await;
    loop {
        tokio::select! {
            out = outgoing.recv() => match out {
                Some(text) => sink.send(Message::text(text)).await.map_err(|e| e.to_string())?,
                // The pool dropped this socket.
                None => {
                    let _ = sink.close().await;
                    return Ok(());
                }
            },
            _ = ping.tick() => {
                sink.send(Message::text(ClientMessage::Ping.encode()))
                    .await
                    .map_err(|e| e.to_string())?;
            }
            msg = stream.next() => match msg {
                None => return Ok(()),
                Some(Err(e)) => return Err(e.to_string()),
                Some(Ok(Message::Text(text))) => {
                    if let Some(ev) = event(text.as_str()) {
                        if events.send(ev).is_err() {
                            return Ok(());
                        }
                    }
                }
                Some(Ok(Message::Close(_))) => return Ok(()),
                Some(Ok(_)) => {}
            }
        }
    }
}

/// The event a server message means, if any.
fn event(text: &str) -> Option<SigEvent> {
    let msg = ServerMessage::decode(text).ok()?;
    let input = match msg {
        ServerMessage::Joined {
            room,
            session,
            peers,
        } => Input::Joined {
            room: room.into_owned(),
            session: session.into_owned(),
            peers: peers.into_iter().map(|p| p.into_owned()).collect(),
        },
        ServerMessage::PeerJoined { room, session } => Input::PeerJoined {
            room: room.into_owned(),
            session: session.into_owned(),
        },
        ServerMessage::PeerLeft { room, session } => Input::PeerLeft {
            room: room.into_owned(),
            session: session.into_owned(),
        },
        ServerMessage::Signal { room, from, blob } => Input::Blob {
            room: room.into_owned(),
            from: from.into_owned(),
            blob: blob.into_owned(),
        },
        ServerMessage::Error { code, message, .. } => {
            return Some(SigEvent::Error(format!("{code:?}: {message}")))
        }
        _ => return None,
    };
    Some(SigEvent::Node(input))
}
