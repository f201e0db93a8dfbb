//! One direct connection to one remote peer: an `RTCPeerConnection` with two negotiated
//! DataChannels, driven by the browser's WebRTC stack through `web-sys`.
//!
//! # What
//!
//! [`PeerConn`] wraps the connection to one remote signaling session in one room. The
//! runtime creates it when the server introduces a peer, feeds it the peer's (already
//! unsealed) [`PeerSignal`]s, sends frames with [`PeerConn::send`], and receives
//! [`RtcEvent`]s tagged with the connection's key on one shared channel.
//!
//! # Why it looks like this
//!
//! - **Perfect negotiation** (the W3C pattern): both ends may start negotiating at any
//!   time (both create the channel, both restart ICE); on a collision the *polite* end
//!   rolls back and the *impolite* end ignores the other's offer. Roles come from comparing
//!   session ids, so both ends agree without talking.
//! - Every signal and every negotiation step runs in **one task per connection**, in
//!   order, so no two `setRemoteDescription` / `setLocalDescription` calls interleave.
//! - ICE candidates that arrive before the remote description are **buffered** and added
//!   once it is set.
//! - Two **negotiated**, reliable, ordered DataChannels: both ends create them, so no
//!   `ondatachannel` race. Id 0 carries the log's frames (natter-core's `wire`, at most
//!   64 KiB); id 1 carries files (`blobwire`, a 64 KiB chunk and its proof), so a file being
//!   sent never delays a message: SCTP interleaves the two streams. Both stay well under
//!   the message limit every current browser accepts (256 KiB).
//! - **Backpressure:** frames are queued in Rust while the channel's `bufferedAmount` is
//!   above [`HIGH_WATER`], and the queue drains on `bufferedamountlow`
//!   (threshold [`LOW_WATER`]), so a large catch-up never overruns the browser's buffer.
//!   Each channel has its own queue. When both of a channel's are empty again
//!   [`RtcEvent::Drained`] (or [`RtcEvent::FileDrained`]) tells the protocol it may serve more,
//!   which bounds what a peer's wants queue here; a connection whose Rust queue still
//!   passes [`MAX_QUEUED_BYTES`] (a peer that stopped reading) is closed.
//! - **Bounds on the peer:** a received message over natter-core's frame limit closes the
//!   connection before it is copied; at most [`MAX_REMOTE_CANDIDATES`] ICE candidates are
//!   taken per connection.
//! - **ICE restart** when the connection state becomes `failed` (by the impolite end).
//! - The **first offer** is always the impolite end's: the polite end waits for it rather
//!   than colliding (see `negotiate`).
//! - The JS event handlers are Rust closures **owned by the connection**; they hold only a
//!   weak reference back, and [`PeerConn::close`] (or drop) detaches and releases them.
//!
//! No JS call is unwrapped; failures become [`RtcEvent::Failed`] with words for the user.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::rc::{Rc, Weak};

use futures::channel::mpsc;
use futures::StreamExt;
use js_sys::{Function, Reflect, Uint8Array};
use natter_core::blobwire::chunk_span;
use natter_core::peer_signal::PeerSignal;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    MessageEvent, RtcConfiguration, RtcDataChannel, RtcDataChannelInit, RtcDataChannelState,
    RtcDataChannelType, RtcIceCandidateInit, RtcIceServer, RtcIceTransportPolicy,
    RtcPeerConnection, RtcPeerConnectionIceEvent, RtcPeerConnectionState, RtcSdpType,
    RtcSessionDescriptionInit, RtcSignalingState,
};

use crate::leafhash::{self, PendingLeaf};

/// Above this many bytes buffered in the DataChannel, frames wait in Rust.
pub const HIGH_WATER: u32 = 1024 * 1024;
/// Most ICE candidates taken from one peer per connection (an ICE restart included); more
/// are dropped. A host, a reflexive and a relay candidate per interface need far fewer.
pub const MAX_REMOTE_CANDIDATES: u32 = 64;
/// Most bytes that may wait in Rust for one connection. natter-core serves wanted history a
/// window at a time (after [`RtcEvent::Drained`]), so only a peer that stops reading while
/// live messages keep coming reaches it; that connection is then closed.
pub const MAX_QUEUED_BYTES: usize = 16 * 1024 * 1024;
/// The DataChannel's `bufferedAmountLowThreshold`: the queue drains when buffering falls
/// to this.
pub const LOW_WATER: u32 = 256 * 1024;

/// How to set up a connection.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RtcOptions {
    /// ICE servers (none: host candidates only, enough on one network).
    pub ice_servers: Vec<crate::server::IceServer>,
    /// Only use TURN relay candidates.
    pub relay_only: bool,
}

/// Something that happened on a connection; tagged with the connection's key.
#[derive(Debug, Clone)]
pub enum RtcEvent {
    /// Send this to the remote peer through the signaling relay (the runtime seals it).
    Signal(PeerSignal),
    /// The DataChannel opened; the DTLS fingerprints are read from both descriptions.
    Open {
        /// Our certificate's fingerprint (`sha-256 AB:...`).
        local_fingerprint: String,
        /// The peer's certificate's fingerprint.
        remote_fingerprint: String,
    },
    /// A frame arrived.
    Frame(Vec<u8>),
    /// A frame arrived on the files channel; a chunk's leaf hash is under way.
    FileFrame(Vec<u8>, Option<PendingLeaf>),
    /// The connection's state changed (`new`, `connecting`, `connected`, ...).
    State(String),
    /// The channel or connection closed.
    Closed,
    /// Something failed; the words are for the user.
    Failed(String),
    /// What was sent has left the Rust queue and the channel buffers at most [`LOW_WATER`]:
    /// the protocol may hand this connection more (natter-core's `Input::Drained`).
    Drained,
    /// The same for the files channel (natter-core's `Input::FileDrained`).
    FileDrained,
}

enum Task {
    Negotiate,
    Remote(PeerSignal),
    /// The channel opened: report it with both fingerprints. Queued behind any description
    /// still being applied, because Chromium can open the channel before the promise of
    /// `setRemoteDescription` has resolved.
    Opened,
}

/// One DataChannel and what waits to be sent on it.
struct Chan {
    dc: RtcDataChannel,
    /// Whether this is the files channel (id 1).
    files: bool,
    queue: RefCell<VecDeque<Vec<u8>>>,
    /// Bytes in `queue`.
    queued: Cell<usize>,
    /// Whether something was sent since the last drained report.
    sent: Cell<bool>,
}

impl Chan {
    fn new(pc: &RtcPeerConnection, id: u16, label: &str, files: bool) -> Chan {
        let init = RtcDataChannelInit::new();
        init.set_negotiated(true);
        init.set_id(id);
        init.set_ordered(true);
        let dc = pc.create_data_channel_with_data_channel_dict(label, &init);
        dc.set_binary_type(RtcDataChannelType::Arraybuffer);
        dc.set_buffered_amount_low_threshold(LOW_WATER);
        Chan {
            dc,
            files,
            queue: RefCell::new(VecDeque::new()),
            queued: Cell::new(0),
            sent: Cell::new(false),
        }
    }

    /// The largest message a peer may send on it.
    fn max_message(&self) -> usize {
        if self.files {
            natter_core::blobwire::MAX_BLOB_FRAME_LEN
        } else {
            natter_core::wire::MAX_FRAME_LEN
        }
    }

    fn detach(&self) {
        self.dc.set_onopen(None);
        self.dc.set_onclose(None);
        self.dc.set_onmessage(None);
        self.dc.set_onbufferedamountlow(None);
        self.dc.close();
        self.queue.borrow_mut().clear();
        self.queued.set(0);
    }
}

struct Shared {
    key: u64,
    pc: RtcPeerConnection,
    log: Chan,
    files: Chan,
    polite: bool,
    making_offer: Cell<bool>,
    ignore_offer: Cell<bool>,
    pending_candidates: RefCell<Vec<RtcIceCandidateInit>>,
    /// Candidates the peer has sent (bounded by [`MAX_REMOTE_CANDIDATES`]).
    remote_candidates: Cell<u32>,
    events: mpsc::UnboundedSender<(u64, RtcEvent)>,
    closed: Cell<bool>,
}

impl Shared {
    fn emit(&self, event: RtcEvent) {
        let _ = self.events.unbounded_send((self.key, event));
    }

    fn chan(&self, files: bool) -> &Chan {
        if files {
            &self.files
        } else {
            &self.log
        }
    }

    /// Sends a channel's queued frames while it has room.
    fn drain(&self, files: bool) {
        let c = self.chan(files);
        if c.dc.ready_state() != RtcDataChannelState::Open {
            return;
        }
        let mut queue = c.queue.borrow_mut();
        while c.dc.buffered_amount() < HIGH_WATER {
            let Some(frame) = queue.pop_front() else {
                break;
            };
            c.queued.set(c.queued.get().saturating_sub(frame.len()));
            c.sent.set(true);
            if let Err(e) = c.dc.send_with_u8_array(&frame) {
                drop(queue);
                self.emit(RtcEvent::Failed(format!(
                    "sending to a peer failed: {}",
                    describe(&e)
                )));
                return;
            }
        }
        let empty = queue.is_empty();
        drop(queue);
        if empty && c.sent.get() && c.dc.buffered_amount() <= LOW_WATER {
            c.sent.set(false);
            self.emit(if files {
                RtcEvent::FileDrained
            } else {
                RtcEvent::Drained
            });
        }
    }

    /// Queues a frame on a channel; it is sent as soon as the channel is open and has room.
    fn send(&self, files: bool, frame: Vec<u8>) -> Result<(), ()> {
        let c = self.chan(files);
        let queued = c.queued.get() + frame.len();
        if queued > MAX_QUEUED_BYTES {
            return Err(());
        }
        c.queued.set(queued);
        c.queue.borrow_mut().push_back(frame);
        self.drain(files);
        Ok(())
    }

    /// A message from the peer, measured before it is copied into wasm memory: a browser
    /// other than Chromium, or a modified client, can send messages far larger than any
    /// frame.
    fn received(&self, files: bool, ev: &MessageEvent) {
        let data = ev.data();
        // Text or blobs are not part of the protocol: an empty frame fails decoding, so the
        // runtime treats the sender like any other malformed one.
        let buf = data.dyn_ref::<js_sys::ArrayBuffer>();
        if buf.is_some_and(|b| b.byte_length() as usize > self.chan(files).max_message()) {
            self.emit(RtcEvent::Failed(
                "A peer sent a message over the size limit and was disconnected.".into(),
            ));
            self.emit(RtcEvent::Closed);
            return;
        }
        let frame = buf.map(|b| Uint8Array::new(b).to_vec()).unwrap_or_default();
        self.emit(if files {
            let leaf = buf
                .zip(chunk_span(&frame))
                .and_then(|(b, span)| leafhash::start(b, span));
            RtcEvent::FileFrame(frame, leaf)
        } else {
            RtcEvent::Frame(frame)
        });
    }
}

/// A channel's own handlers.
struct ChanHandlers {
    _on_open: Handler<JsValue>,
    _on_close: Handler<JsValue>,
    _on_message: Handler<MessageEvent>,
    _on_low: Handler<JsValue>,
}

impl ChanHandlers {
    /// Attaches the handlers of channel `files` of `shared`; `on_open` reports the opening.
    fn attach(shared: &Rc<Shared>, files: bool, on_open: Handler<JsValue>) -> ChanHandlers {
        let weak = Rc::downgrade(shared);
        let on_close = on(&weak, |s, _: JsValue| s.emit(RtcEvent::Closed));
        let on_message = on(&weak, move |s, ev: MessageEvent| s.received(files, &ev));
        let on_low = on(&weak, move |s, _: JsValue| s.drain(files));
        let dc = &shared.chan(files).dc;
        dc.set_onopen(Some(on_open.as_ref().unchecked_ref()));
        dc.set_onclose(Some(on_close.as_ref().unchecked_ref()));
        dc.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        dc.set_onbufferedamountlow(Some(on_low.as_ref().unchecked_ref()));
        ChanHandlers {
            _on_open: on_open,
            _on_close: on_close,
            _on_message: on_message,
            _on_low: on_low,
        }
    }
}

type Handler<T> = Closure<dyn FnMut(T)>;

/// A connection to one remote peer. See the [module documentation](self).
pub struct PeerConn {
    shared: Rc<Shared>,
    tasks: mpsc::UnboundedSender<Task>,
    _on_negotiation: Handler<JsValue>,
    _on_ice: Handler<RtcPeerConnectionIceEvent>,
    _on_state: Handler<JsValue>,
    _log: ChanHandlers,
    _files: ChanHandlers,
}

impl std::fmt::Debug for PeerConn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PeerConn")
            .field("key", &self.shared.key)
            .field("polite", &self.shared.polite)
            .finish_non_exhaustive()
    }
}

impl PeerConn {
    /// Opens a connection. `polite` decides who yields on an offer collision: the runtime
    /// passes `local_session < remote_session`, so exactly one end is polite.
    pub fn new(
        key: u64,
        options: &RtcOptions,
        polite: bool,
        events: mpsc::UnboundedSender<(u64, RtcEvent)>,
    ) -> Result<PeerConn, String> {
        let config = RtcConfiguration::new();
        let servers = js_sys::Array::new();
        for s in &options.ice_servers {
            let server = RtcIceServer::new();
            let urls = js_sys::Array::new();
            for u in &s.urls {
                urls.push(&JsValue::from_str(u));
            }
            server.set_urls(&urls);
            if let Some(u) = &s.username {
                server.set_username(u);
            }
            if let Some(c) = &s.credential {
                server.set_credential(c);
            }
            servers.push(&server);
        }
        config.set_ice_servers(&servers);
        if options.relay_only {
            config.set_ice_transport_policy(RtcIceTransportPolicy::Relay);
        }
        let pc = RtcPeerConnection::new_with_configuration(&config)
            .map_err(|e| format!("the browser refused a peer connection: {}", describe(&e)))?;
        let log = Chan::new(&pc, 0, "natter", false);
        let files = Chan::new(&pc, 1, "natter-files", true);

        let shared = Rc::new(Shared {
            key,
            pc,
            log,
            files,
            polite,
            making_offer: Cell::new(false),
            ignore_offer: Cell::new(false),
            pending_candidates: RefCell::new(Vec::new()),
            remote_candidates: Cell::new(0),
            events,
            closed: Cell::new(false),
        });
        let (tasks, task_rx) = mpsc::unbounded::<Task>();
        let weak = Rc::downgrade(&shared);

        let on_negotiation = {
            let tasks = tasks.clone();
            Closure::<dyn FnMut(JsValue)>::new(move |_: JsValue| {
                let _ = tasks.unbounded_send(Task::Negotiate);
            })
        };
        let on_ice = on(&weak, |s, ev: RtcPeerConnectionIceEvent| {
            if let Some(c) = ev.candidate() {
                s.emit(RtcEvent::Signal(PeerSignal::Ice {
                    candidate: c.candidate(),
                    mid: c.sdp_mid(),
                    index: c.sdp_m_line_index(),
                }));
            }
        });
        let on_state = on(&weak, |s, _: JsValue| {
            let state = s.pc.connection_state();
            s.emit(RtcEvent::State(format!("{state:?}").to_lowercase()));
            match state {
                // Ask for fresh candidates; negotiationneeded follows. Only the impolite end
                // restarts, so the two ends do not collide (see `negotiate`).
                RtcPeerConnectionState::Failed if !s.polite => {
                    if let Err(e) = call0(&s.pc, "restartIce") {
                        s.emit(RtcEvent::Failed(format!("ICE restart failed: {e}")));
                    }
                }
                RtcPeerConnectionState::Closed => s.emit(RtcEvent::Closed),
                _ => {}
            }
        });
        let on_open = {
            let tasks = tasks.clone();
            Closure::<dyn FnMut(JsValue)>::new(move |_: JsValue| {
                let _ = tasks.unbounded_send(Task::Opened);
            })
        };
        let log_handlers = ChanHandlers::attach(&shared, false, on_open);
        // The files channel opens with the log's; what waits for it goes out then.
        let files_handlers =
            ChanHandlers::attach(&shared, true, on(&weak, |s, _: JsValue| s.drain(true)));
        shared
            .pc
            .set_onnegotiationneeded(Some(on_negotiation.as_ref().unchecked_ref()));
        shared
            .pc
            .set_onicecandidate(Some(on_ice.as_ref().unchecked_ref()));
        shared
            .pc
            .set_onconnectionstatechange(Some(on_state.as_ref().unchecked_ref()));

        wasm_bindgen_futures::spawn_local(run_tasks(weak, task_rx));
        // The negotiated channel needs an SCTP transport: the impolite end offers now rather
        // than waiting for the event (the polite end waits for that offer, see `negotiate`).
        if !polite {
            let _ = tasks.unbounded_send(Task::Negotiate);
        }

        Ok(PeerConn {
            shared,
            tasks,
            _on_negotiation: on_negotiation,
            _on_ice: on_ice,
            _on_state: on_state,
            _log: log_handlers,
            _files: files_handlers,
        })
    }

    /// Hands the connection a message the remote peer sent through signaling.
    pub fn on_signal(&self, message: PeerSignal) {
        let _ = self.tasks.unbounded_send(Task::Remote(message));
    }

    /// Queues a frame of the log; it is sent as soon as the channel is open and has room.
    pub fn send(&self, frame: Vec<u8>) {
        self.send_on(false, frame);
    }

    /// Queues a frame on the files channel.
    pub fn send_file(&self, frame: Vec<u8>) {
        self.send_on(true, frame);
    }

    fn send_on(&self, files: bool, frame: Vec<u8>) {
        if self.shared.closed.get() {
            return;
        }
        if self.shared.send(files, frame).is_err() {
            self.shared.emit(RtcEvent::Failed(
                "A peer stopped reading what we sent and was disconnected.".into(),
            ));
            self.shared.emit(RtcEvent::Closed);
            self.close();
        }
    }

    /// Closes the channel and the connection and detaches every handler.
    pub fn close(&self) {
        if self.shared.closed.replace(true) {
            return;
        }
        self.tasks.close_channel();
        let pc = &self.shared.pc;
        pc.set_onnegotiationneeded(None);
        pc.set_onicecandidate(None);
        pc.set_onconnectionstatechange(None);
        self.shared.log.detach();
        self.shared.files.detach();
        pc.close();
    }
}

impl Drop for PeerConn {
    fn drop(&mut self) {
        self.close();
    }
}

/// A JS event handler that runs `f` while the connection is alive (it holds only a weak
/// reference, so the handler never keeps the connection alive).
fn on<T: wasm_bindgen::convert::FromWasmAbi + 'static>(
    weak: &Weak<Shared>,
    f: impl Fn(&Shared, T) + 'static,
) -> Handler<T> {
    let weak = weak.clone();
    Closure::<dyn FnMut(T)>::new(move |ev: T| {
        if let Some(s) = weak.upgrade() {
            f(&s, ev);
        }
    })
}

/// The connection's one task: negotiation steps and remote signals, strictly in order.
async fn run_tasks(shared: Weak<Shared>, mut tasks: mpsc::UnboundedReceiver<Task>) {
    while let Some(task) = tasks.next().await {
        let Some(s) = shared.upgrade() else { return };
        if s.closed.get() {
            return;
        }
        let result = match task {
            Task::Negotiate => negotiate(&s).await,
            Task::Remote(msg) => on_remote(&s, msg).await,
            Task::Opened => opened(&s),
        };
        if let Err(e) = result {
            if !s.closed.get() {
                s.emit(RtcEvent::Failed(e));
            }
        }
    }
}

fn opened(s: &Shared) -> Result<(), String> {
    let fingerprint = |d: Option<web_sys::RtcSessionDescription>| {
        d.and_then(|d| natter_core::hello::dtls_fingerprint_from_sdp(&d.sdp()))
    };
    match (
        fingerprint(s.pc.local_description()),
        fingerprint(s.pc.remote_description()),
    ) {
        (Some(local_fingerprint), Some(remote_fingerprint)) => {
            s.emit(RtcEvent::Open {
                local_fingerprint,
                remote_fingerprint,
            });
            s.drain(false);
            s.drain(true);
            Ok(())
        }
        _ => Err("the connection has no DTLS fingerprint to prove identities with".into()),
    }
}

async fn negotiate(s: &Shared) -> Result<(), String> {
    if s.polite && s.pc.remote_description().is_none() {
        // The first offer is the impolite end's. Both ends create the channel, so both
        // would offer at once; Chromium sometimes gathers no candidates for the answer a
        // polite end makes right after rolling its own offer back, and the connection
        // never starts. Later renegotiations may still collide and are settled as usual.
        return Ok(());
    }
    if s.pc.signaling_state() != RtcSignalingState::Stable {
        // Mid-negotiation: the browser fires negotiationneeded again once stable if still needed.
        return Ok(());
    }
    s.making_offer.set(true);
    let r = set_local_implicit(&s.pc).await;
    s.making_offer.set(false);
    r?;
    send_local_description(s);
    Ok(())
}

async fn on_remote(s: &Shared, msg: PeerSignal) -> Result<(), String> {
    match msg {
        PeerSignal::Sdp { kind, sdp } => {
            let sdp_type = match kind.as_str() {
                "offer" => RtcSdpType::Offer,
                "answer" => RtcSdpType::Answer,
                "pranswer" => RtcSdpType::Pranswer,
                "rollback" => RtcSdpType::Rollback,
                other => return Err(format!("a peer sent an unknown description type {other:?}")),
            };
            let is_offer = sdp_type == RtcSdpType::Offer;
            let collision = is_offer
                && (s.making_offer.get() || s.pc.signaling_state() != RtcSignalingState::Stable);
            s.ignore_offer.set(!s.polite && collision);
            if s.ignore_offer.get() {
                return Ok(());
            }
            let desc = RtcSessionDescriptionInit::new(sdp_type);
            desc.set_sdp(&sdp);
            // For a polite peer in a collision the browser rolls back implicitly.
            JsFuture::from(s.pc.set_remote_description(&desc))
                .await
                .map_err(|e| format!("a peer's connection offer was refused: {}", describe(&e)))?;
            if is_offer {
                set_local_implicit(&s.pc).await?;
                send_local_description(s);
            }
            // One stale candidate (e.g. for an offer that was rolled back) must not keep
            // the others out.
            let pending: Vec<_> = s.pending_candidates.borrow_mut().drain(..).collect();
            for c in pending {
                if let Err(e) = add_candidate(s, &c).await {
                    s.emit(RtcEvent::Failed(e));
                }
            }
            Ok(())
        }
        PeerSignal::Ice {
            candidate,
            mid,
            index,
        } => {
            // A peer could make us try any number of addresses: past the bound, candidates
            // are dropped (one connection needs a handful).
            let seen = s.remote_candidates.get();
            if seen >= MAX_REMOTE_CANDIDATES {
                return Ok(());
            }
            s.remote_candidates.set(seen + 1);
            let init = RtcIceCandidateInit::new(&candidate);
            init.set_sdp_mid(mid.as_deref());
            init.set_sdp_m_line_index(index);
            if s.pc.remote_description().is_none() {
                s.pending_candidates.borrow_mut().push(init);
                return Ok(());
            }
            add_candidate(s, &init).await
        }
    }
}

async fn add_candidate(s: &Shared, init: &RtcIceCandidateInit) -> Result<(), String> {
    match JsFuture::from(s.pc.add_ice_candidate_with_opt_rtc_ice_candidate_init(Some(init))).await {
        Ok(_) => Ok(()),
        // Candidates for an offer we ignored are expected to fail.
        Err(_) if s.ignore_offer.get() => Ok(()),
        Err(e) => Err(format!(
            "a network candidate from a peer was refused: {}",
            describe(&e)
        )),
    }
}

fn send_local_description(s: &Shared) {
    if let Some(d) = s.pc.local_description() {
        let kind = match d.type_() {
            RtcSdpType::Offer => "offer",
            RtcSdpType::Answer => "answer",
            RtcSdpType::Pranswer => "pranswer",
            _ => return,
        };
        s.emit(RtcEvent::Signal(PeerSignal::Sdp {
            kind: kind.into(),
            sdp: d.sdp(),
        }));
    }
}

/// `pc.setLocalDescription()` without arguments (the browser creates the right offer or
/// answer); web-sys only binds the form with a description.
async fn set_local_implicit(pc: &RtcPeerConnection) -> Result<(), String> {
    let promise = call0(pc, "setLocalDescription")?;
    JsFuture::from(js_sys::Promise::from(promise))
        .await
        .map(|_| ())
        .map_err(|e| format!("setting up the connection failed: {}", describe(&e)))
}

fn call0(target: &RtcPeerConnection, method: &str) -> Result<JsValue, String> {
    let f = Reflect::get(target, &JsValue::from_str(method))
        .map_err(|e| describe(&e))?
        .dyn_into::<Function>()
        .map_err(|_| format!("this browser lacks RTCPeerConnection.{method}"))?;
    f.call0(target).map_err(|e| describe(&e))
}

/// A JS error as words.
pub fn describe(e: &JsValue) -> String {
    if let Some(err) = e.dyn_ref::<js_sys::Error>() {
        return String::from(err.message());
    }
    e.as_string().unwrap_or_else(|| format!("{e:?}"))
}
