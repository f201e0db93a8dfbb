//! Signaling and WebRTC events into the node: the server's messages, each connection's
//! state and frames (entry signatures checked by WebCrypto first, see [`crate::sigcheck`]),
//! and the ICE servers a connection is opened with.

use leptos::prelude::Set;
use natter_core::node::{ConnId, Input, Link};

use super::{trace, warn, Runtime};
use crate::rtc::{RtcEvent, RtcOptions};
use crate::server::IceServer;
use crate::signaling::SignalEvent;
use crate::state::SignalingState;

impl Runtime {
    pub(super) async fn on_signal_event(&mut self, event: SignalEvent) {
        if !matches!(event, SignalEvent::Signal { .. }) {
            trace(&format!("signaling: {event:?}"));
        }
        let input = match event {
            SignalEvent::Connected => {
                self.ui.signaling.set(SignalingState::Connected);
                return;
            }
            SignalEvent::Disconnected {
                reason,
                retry_in_ms,
            } => {
                self.ui.signaling.set(if retry_in_ms == 0 {
                    SignalingState::Idle
                } else {
                    SignalingState::Reconnecting {
                        in_secs: retry_in_ms.div_ceil(1000),
                        reason,
                    }
                });
                Input::SignalingLost
            }
            SignalEvent::Joined {
                room,
                session,
                peers,
            } => Input::Joined {
                room,
                session,
                peers,
            },
            SignalEvent::PeerJoined { room, session } => Input::PeerJoined { room, session },
            SignalEvent::PeerLeft { room, session } => Input::PeerLeft { room, session },
            SignalEvent::Signal { room, from, blob } => Input::Blob { room, from, blob },
            // A blob for a peer that just left: expected, and nothing the user can act on.
            SignalEvent::Error {
                code: Some(natter_core::signal::ErrorCode::UnknownPeer),
                ..
            } => return,
            SignalEvent::Error { message, .. } => return self.notify(message),
        };
        self.handle(input).await;
    }

    pub(super) fn rtc_options(&self) -> RtcOptions {
        let mut ice_servers = self.server_ice.clone();
        let urls: Vec<String> = self
            .settings
            .ice_urls
            .iter()
            .map(|u| u.trim().to_owned())
            .filter(|u| !u.is_empty())
            .collect();
        if !urls.is_empty() {
            let opt = |s: &str| (!s.is_empty()).then(|| s.to_owned());
            ice_servers.push(IceServer {
                urls,
                username: opt(&self.settings.turn_username),
                credential: opt(&self.settings.turn_credential),
            });
        }
        RtcOptions {
            ice_servers,
            relay_only: self.settings.relay_only,
        }
    }

    pub(super) async fn on_rtc(&mut self, conn: ConnId, event: RtcEvent) {
        match &event {
            RtcEvent::Frame(_)
            | RtcEvent::FileFrame(..)
            | RtcEvent::Drained
            | RtcEvent::FileDrained
            | RtcEvent::Signal(_) => {}
            other => trace(&format!("conn {}: {other:?}", conn.0)),
        }
        let input = match event {
            RtcEvent::Signal(signal) => Input::LocalSignal { conn, signal },
            RtcEvent::Open {
                local_fingerprint,
                remote_fingerprint,
            } => Input::ChannelOpen {
                conn,
                local_fingerprint,
                remote_fingerprint,
            },
            RtcEvent::Frame(bytes) => {
                let verified = self
                    .node
                    .conn(conn)
                    .is_some_and(|c| c.verified_key().is_some());
                // Entry signatures are checked by the browser's own Ed25519 first (natively,
                // about twice as fast as in wasm; waiting for it also lets the entry writes
                // queued so far start); natter-core does the rest and anything left unchecked.
                if verified {
                    if let Some(pending) = self.verifier.start(&bytes).await {
                        let ids = pending.passed().await;
                        self.handle(Input::Checked {
                            conn,
                            ids: ids.into_iter().collect(),
                        })
                        .await;
                    }
                }
                Input::Frame { conn, bytes }
            }
            RtcEvent::State(link) => Input::Link {
                conn,
                link: Link::from_name(&link),
            },
            RtcEvent::Closed => {
                if let Some(pc) = self.pcs.remove(&conn) {
                    pc.close();
                }
                Input::Closed(conn)
            }
            RtcEvent::Failed(words) => return warn(&words),
            RtcEvent::Drained => Input::Drained(conn),
            RtcEvent::FileFrame(bytes, leaf) => {
                let leaf = match leaf {
                    Some(pending) => pending.finish().await,
                    None => None,
                };
                Input::FileFrame { conn, bytes, leaf }
            }
            RtcEvent::FileDrained => Input::FileDrained(conn),
        };
        self.handle(input).await;
    }
}
