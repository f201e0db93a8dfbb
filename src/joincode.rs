//! The browser's driver of one join-code exchange ([`natter_core::joincode::Session`]).
//!
//! An exchange runs on a WebSocket of its own to the page's signaling server, opened when
//! it starts and closed when it ends: a code is not a room, it is not re-joined after a
//! reconnect (the server closes a mailbox whose owner went away), and the rooms' socket is
//! left alone. Server messages go into the session, its messages go out, and its status is
//! reported after each step. Cancelling closes the mailbox (or gives a joiner's try back)
//! before the socket closes.

use futures::channel::oneshot;
use futures::{FutureExt, StreamExt};
use natter_core::joincode::Session;
use natter_core::signal::ServerMessage;

use crate::signaling::{page_url, Connection, SocketEvent};

/// Runs `session` to its end, calling `report` after every change, until it is over or
/// `cancel` fires (or its sender is dropped). Returns the session as it ended.
pub async fn run(
    mut session: Session,
    report: impl Fn(&Session),
    cancel: oneshot::Receiver<()>,
) -> Session {
    let mut connection = match page_url()
        .map_err(|e| e.to_string())
        .and_then(|url| Connection::open(&url))
    {
        Ok(c) => c,
        Err(why) => {
            web_sys::console::warn_1(&format!("join code: {why}").into());
            session.disconnected();
            report(&session);
            return session;
        }
    };
    report(&session);
    let mut cancel = cancel.fuse();
    let mut open = false;
    loop {
        futures::select! {
            _ = cancel => {
                session.cancel();
                if open {
                    flush(&connection, &mut session);
                }
                report(&session);
                return session;
            }
            event = connection.events.next() => match event {
                Some(SocketEvent::Open) => {
                    open = true;
                    flush(&connection, &mut session);
                }
                Some(SocketEvent::Text(text)) => {
                    if let Ok(msg) = ServerMessage::decode(&text) {
                        session.handle(&msg, &mut rand_core::OsRng);
                        flush(&connection, &mut session);
                        report(&session);
                        if session.status().is_over() {
                            return session;
                        }
                    }
                }
                Some(SocketEvent::Other | SocketEvent::Error) => {}
                Some(SocketEvent::Closed { .. }) | None => {
                    session.disconnected();
                    report(&session);
                    return session;
                }
            },
        }
    }
}

/// Sends what the session has queued. A send that fails is seen as the socket's close.
fn flush(connection: &Connection, session: &mut Session) {
    while let Some(msg) = session.poll_message() {
        if connection.send(&msg).is_err() {
            return;
        }
    }
}
