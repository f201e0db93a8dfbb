//! One WebRTC connection to a browser, driven by str0m: the keeper's counterpart of the web
//! app's `rtc.rs`.
//!
//! # What
//!
//! [`PeerRtc`] wraps one `str0m::Rtc` for one remote signaling session. It speaks the same
//! negotiation as the browser: two **negotiated** DataChannels, reliable and ordered (id 0
//! "natter" for the log's frames, id 1 "natter-files" for files' frames, so a file being
//! served never delays an entry), the impolite end offers first, the polite end answers.
//! Each channel has its own queue and backpressure: frames wait in our queue while str0m's
//! buffer for the channel is above its high mark, and [`RtcEvent::Drained`] (or
//! [`RtcEvent::FileDrained`]) tells the protocol when that buffer falls to its low mark. The keeper runs **ICE-lite**: it
//! listens on one UDP socket whose address it announces as its only (host) candidate and
//! answers the browser's checks, so it needs no candidate gathering, no mDNS resolution and
//! no TURN client of its own. A browser limited to relayed candidates reaches it through its
//! TURN server, which forwards to that address.
//!
//! The driver feeds datagrams the connection [`PeerRtc::accepts`], remote signals and
//! timeouts, and takes [`RtcEvent`]s and datagrams to send with [`PeerRtc::poll`].
//!
//! # Bounds on the peer
//!
//! | what | bound |
//! |---|---|
//! | a frame received | natter-core's [`natter_core::wire::MAX_FRAME_LEN`] on the log's channel, [`natter_core::blobwire::MAX_BLOB_FRAME_LEN`] on the files channel: larger closes the connection |
//! | remote candidates taken | [`MAX_REMOTE_CANDIDATES`] |
//! | bytes queued to send while a channel is full | [`MAX_QUEUED_BYTES`] per channel: a peer that stops reading is dropped |

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::Instant;

use natter_core::node::Link;
use natter_core::peer_signal::PeerSignal;
use str0m::change::{SdpAnswer, SdpOffer, SdpPendingOffer};
use str0m::channel::{ChannelConfig, ChannelId};
use str0m::net::{Protocol, Receive};
use str0m::{Candidate, Event, IceConnectionState, Input, Output, Rtc};

/// ICE candidates accepted from one peer.
pub const MAX_REMOTE_CANDIDATES: usize = 64;
/// Frames waiting for room in the channel, in bytes, before the peer is dropped.
pub const MAX_QUEUED_BYTES: usize = 8 * 1024 * 1024;
/// Above this the channel's own buffer counts as full and frames wait in our queue.
const HIGH_WATER: usize = 1024 * 1024;
/// The channel tells us when its buffer falls under this.
const LOW_WATER: usize = 256 * 1024;
/// The negotiated log channel's SCTP stream id, as the browser creates it.
const CHANNEL_STREAM: u16 = 0;
/// The negotiated files channel's SCTP stream id, as the browser creates it.
const FILES_STREAM: u16 = 1;

/// What a connection reports to the driver.
#[derive(Debug)]
pub enum RtcEvent {
    /// A signal for the peer (to be sealed and relayed).
    Signal(PeerSignal),
    /// The channel opened; the DTLS fingerprints from both descriptions.
    Open {
        /// Ours.
        local: String,
        /// The peer's.
        remote: String,
    },
    /// A frame from the peer.
    Frame(Vec<u8>),
    /// A frame from the peer on the files channel.
    FileFrame(Vec<u8>),
    /// The link changed.
    Link(Link),
    /// What we queued has left our buffers.
    Drained,
    /// The same for the files channel.
    FileDrained,
    /// The connection is over.
    Closed(String),
}

/// One datagram to send.
#[derive(Debug)]
pub struct Datagram {
    /// Where to.
    pub to: SocketAddr,
    /// What.
    pub bytes: Vec<u8>,
}

/// One DataChannel and the frames waiting for room in it.
#[derive(Debug, Default)]
struct Chan {
    id: Option<ChannelId>,
    queue: VecDeque<Vec<u8>>,
    /// Bytes in `queue`.
    queued: usize,
    open: bool,
    /// Something was sent since the last drained report.
    sent: bool,
}

/// One connection (see the module doc).
pub struct PeerRtc {
    rtc: Rtc,
    local: SocketAddr,
    /// The log's channel.
    log: Chan,
    /// The files channel.
    files: Chan,
    pending: Option<SdpPendingOffer>,
    local_sdp: Option<String>,
    remote_sdp: Option<String>,
    candidates: usize,
    events: VecDeque<RtcEvent>,
    closed: bool,
}

impl std::fmt::Debug for PeerRtc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PeerRtc")
            .field("open", &self.log.open)
            .field("queued", &self.log.queued)
            .field("files_queued", &self.files.queued)
            .finish_non_exhaustive()
    }
}

fn channel_config() -> ChannelConfig {
    ChannelConfig {
        label: "natter".into(),
        ordered: true,
        negotiated: Some(CHANNEL_STREAM),
        ..ChannelConfig::default()
    }
}

fn files_config() -> ChannelConfig {
    ChannelConfig {
        label: "natter-files".into(),
        ordered: true,
        negotiated: Some(FILES_STREAM),
        ..ChannelConfig::default()
    }
}

impl PeerRtc {
    /// A connection whose only local candidate is `local` (the keeper's UDP socket as
    /// browsers reach it). The impolite end (`polite == false`) offers at once.
    pub fn new(local: SocketAddr, polite: bool, now: Instant) -> Result<PeerRtc, String> {
        let mut rtc = Rtc::builder().set_ice_lite(true).build(now);
        let candidate =
            Candidate::host(local, "udp").map_err(|e| format!("the local candidate: {e}"))?;
        rtc.add_local_candidate(candidate);
        let mut conn = PeerRtc {
            rtc,
            local,
            log: Chan::default(),
            files: Chan::default(),
            pending: None,
            local_sdp: None,
            remote_sdp: None,
            candidates: 0,
            events: VecDeque::new(),
            closed: false,
        };
        if !polite {
            let mut api = conn.rtc.sdp_api();
            let id = api.add_channel_with_config(channel_config());
            let files = api.add_channel_with_config(files_config());
            let (offer, pending) = api.apply().ok_or_else(|| "nothing to offer".to_string())?;
            conn.log.id = Some(id);
            conn.files.id = Some(files);
            conn.pending = Some(pending);
            let sdp = offer.to_sdp_string();
            conn.local_sdp = Some(sdp.clone());
            conn.events.push_back(RtcEvent::Signal(PeerSignal::Sdp {
                kind: "offer".into(),
                sdp,
            }));
        }
        Ok(conn)
    }

    /// Applies the peer's signal. A signal that does not apply closes the connection.
    pub fn signal(&mut self, signal: PeerSignal) {
        if self.closed {
            return;
        }
        let result = match signal {
            PeerSignal::Sdp { kind, sdp } => match kind.as_str() {
                "offer" => self.accept_offer(sdp),
                "answer" | "pranswer" => self.accept_answer(sdp),
                _ => Ok(()),
            },
            PeerSignal::Ice { candidate, .. } => {
                let line = candidate.trim();
                let line = line.strip_prefix("a=").unwrap_or(line);
                if line.is_empty() || self.candidates >= MAX_REMOTE_CANDIDATES {
                    Ok(())
                } else {
                    self.candidates += 1;
                    // A candidate we cannot parse (another protocol, an mDNS name) is skipped:
                    // ICE-lite learns the peer's address from its checks anyway.
                    if let Ok(c) = Candidate::from_sdp_string(line) {
                        self.rtc.add_remote_candidate(c);
                    }
                    Ok(())
                }
            }
        };
        if let Err(e) = result {
            self.close(e);
        }
    }

    fn accept_offer(&mut self, sdp: String) -> Result<(), String> {
        let offer =
            SdpOffer::from_sdp_string(&sdp).map_err(|e| format!("the peer's offer: {e}"))?;
        // An offer while ours is pending: we are polite only when the driver says so, and
        // the polite end never offers, so this is the peer restarting; ours is dropped.
        self.pending = None;
        let answer = self
            .rtc
            .sdp_api()
            .accept_offer(offer)
            .map_err(|e| format!("accepting the peer's offer: {e}"))?;
        if self.log.id.is_none() {
            self.log.id = Some(self.rtc.direct_api().create_data_channel(channel_config()));
        }
        if self.files.id.is_none() {
            self.files.id = Some(self.rtc.direct_api().create_data_channel(files_config()));
        }
        let text = answer.to_sdp_string();
        self.remote_sdp = Some(sdp);
        self.local_sdp = Some(text.clone());
        self.events.push_back(RtcEvent::Signal(PeerSignal::Sdp {
            kind: "answer".into(),
            sdp: text,
        }));
        Ok(())
    }

    fn accept_answer(&mut self, sdp: String) -> Result<(), String> {
        let Some(pending) = self.pending.take() else {
            return Ok(()); // an answer to nothing we asked: ignored
        };
        let answer =
            SdpAnswer::from_sdp_string(&sdp).map_err(|e| format!("the peer's answer: {e}"))?;
        self.rtc
            .sdp_api()
            .accept_answer(pending, answer)
            .map_err(|e| format!("accepting the peer's answer: {e}"))?;
        self.remote_sdp = Some(sdp);
        Ok(())
    }

    /// Whether a datagram from `from` belongs to this connection.
    pub fn accepts(&self, from: SocketAddr, bytes: &[u8]) -> bool {
        match Receive::new(Protocol::Udp, from, self.local, bytes) {
            Ok(r) => self.rtc.accepts(&Input::Receive(Instant::now(), r)),
            Err(_) => false,
        }
    }

    /// Hands the connection a datagram it accepts.
    pub fn receive(&mut self, now: Instant, from: SocketAddr, bytes: &[u8]) {
        if self.closed {
            return;
        }
        let Ok(r) = Receive::new(Protocol::Udp, from, self.local, bytes) else {
            return;
        };
        if let Err(e) = self.rtc.handle_input(Input::Receive(now, r)) {
            self.close(format!("the connection broke: {e}"));
        }
    }

    /// Queues a frame for the peer on the log's channel.
    pub fn send(&mut self, frame: Vec<u8>) {
        self.send_on(false, frame);
    }

    /// Queues a frame for the peer on the files channel.
    pub fn send_file(&mut self, frame: Vec<u8>) {
        self.send_on(true, frame);
    }

    fn chan(&mut self, files: bool) -> &mut Chan {
        if files {
            &mut self.files
        } else {
            &mut self.log
        }
    }

    fn send_on(&mut self, files: bool, frame: Vec<u8>) {
        if self.closed {
            return;
        }
        let c = self.chan(files);
        c.queued += frame.len();
        if c.queued > MAX_QUEUED_BYTES {
            self.close("the peer stopped reading".into());
            return;
        }
        c.queue.push_back(frame);
        self.flush(files);
    }

    /// Sends both channels' queued frames while they have room.
    fn flush_all(&mut self) {
        self.flush(false);
        self.flush(true);
    }

    /// Sends a channel's queued frames while it has room.
    fn flush(&mut self, files: bool) {
        let c = if files {
            &mut self.files
        } else {
            &mut self.log
        };
        let Some(id) = c.id.filter(|_| c.open) else {
            return;
        };
        let Some(mut ch) = self.rtc.channel(id) else {
            return;
        };
        let mut failed = None;
        while let Some(frame) = c.queue.front() {
            if ch.buffered_amount() > HIGH_WATER {
                return;
            }
            match ch.write(true, frame) {
                Ok(true) => {
                    c.sent = true;
                    c.queued -= frame.len();
                    c.queue.pop_front();
                }
                Ok(false) => return,
                Err(e) => {
                    failed = Some(format!("sending to the peer: {e}"));
                    break;
                }
            }
        }
        if let Some(why) = failed {
            self.close(why);
            return;
        }
        // Everything is handed to the channel: once its own buffer is low, the protocol
        // may serve the next window.
        if c.sent && ch.buffered_amount() <= LOW_WATER {
            c.sent = false;
            self.events.push_back(if files {
                RtcEvent::FileDrained
            } else {
                RtcEvent::Drained
            });
        }
    }

    /// Runs str0m until it waits: datagrams to send go to `out`, events are queued. Returns
    /// when to call again.
    pub fn poll(&mut self, now: Instant, out: &mut Vec<Datagram>) -> Option<Instant> {
        if self.closed {
            return None;
        }
        if let Err(e) = self.rtc.handle_input(Input::Timeout(now)) {
            self.close(format!("the connection broke: {e}"));
            return None;
        }
        loop {
            match self.rtc.poll_output() {
                Ok(Output::Timeout(at)) => {
                    self.flush_all();
                    return Some(at);
                }
                Ok(Output::Transmit(t)) => out.push(Datagram {
                    to: t.destination,
                    bytes: t.contents.to_vec(),
                }),
                Ok(Output::Event(e)) => self.event(e),
                Err(e) => {
                    self.close(format!("the connection broke: {e}"));
                    return None;
                }
            }
            if self.closed {
                return None;
            }
        }
    }

    fn event(&mut self, e: Event) {
        match e {
            Event::IceConnectionStateChange(state) => {
                let link = match state {
                    IceConnectionState::Connected | IceConnectionState::Completed => {
                        Link::Connected
                    }
                    IceConnectionState::Disconnected => Link::Disconnected,
                    _ => Link::Connecting,
                };
                self.events.push_back(RtcEvent::Link(link));
            }
            Event::ChannelOpen(id, _) if Some(id) == self.files.id => {
                self.files.open = true;
                if let Some(mut ch) = self.rtc.channel(id) {
                    ch.set_buffered_amount_low_threshold(LOW_WATER);
                }
                self.flush(true);
            }
            Event::ChannelOpen(id, _) if Some(id) == self.log.id => {
                self.log.open = true;
                if let Some(mut ch) = self.rtc.channel(id) {
                    ch.set_buffered_amount_low_threshold(LOW_WATER);
                }
                let fingerprint = |sdp: &Option<String>| {
                    sdp.as_deref()
                        .and_then(natter_core::hello::dtls_fingerprint_from_sdp)
                        .unwrap_or_default()
                };
                self.events.push_back(RtcEvent::Open {
                    local: fingerprint(&self.local_sdp),
                    remote: fingerprint(&self.remote_sdp),
                });
                self.flush(false);
            }
            Event::ChannelData(d) if Some(d.id) == self.log.id => {
                if d.data.len() > natter_core::wire::MAX_FRAME_LEN {
                    self.close("the peer sent an oversized frame".into());
                } else {
                    self.events.push_back(RtcEvent::Frame(d.data));
                }
            }
            Event::ChannelData(d) if Some(d.id) == self.files.id => {
                if d.data.len() > natter_core::blobwire::MAX_BLOB_FRAME_LEN {
                    self.close("the peer sent an oversized file frame".into());
                } else {
                    self.events.push_back(RtcEvent::FileFrame(d.data));
                }
            }
            Event::ChannelBufferedAmountLow(id) if Some(id) == self.log.id => self.flush(false),
            Event::ChannelBufferedAmountLow(id) if Some(id) == self.files.id => self.flush(true),
            Event::ChannelClose(id) if Some(id) == self.log.id || Some(id) == self.files.id => {
                self.close("the peer closed a channel".into())
            }
            _ => {}
        }
    }

    /// The next event, if any.
    pub fn next_event(&mut self) -> Option<RtcEvent> {
        self.events.pop_front()
    }

    /// Whether the connection is over.
    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// Ends the connection and says why (once).
    pub fn close(&mut self, why: String) {
        if self.closed {
            return;
        }
        self.closed = true;
        self.rtc.disconnect();
        for c in [&mut self.log, &mut self.files] {
            c.queue.clear();
            c.queued = 0;
        }
        self.events.push_back(RtcEvent::Closed(why));
    }
}
