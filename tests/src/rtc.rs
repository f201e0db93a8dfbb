//! What the page's WebRTC connections are really doing, from `getStats()`.
//!
//! The peer connection recorder of [`crate::scripts`] keeps every `RTCPeerConnection` the app
//! creates; [`connections`] asks each one for its state, its ICE transport policy and the
//! candidate pair ICE selected, so a test can check, say, that traffic really goes through
//! a TURN relay.

use serde::Deserialize;
use serde_json::Value;

use crate::browser::Browser;
use crate::{Context, TestResult};

const STATS: &str = r#"
const done = arguments[arguments.length - 1];
(async () => {
  const out = [];
  for (const pc of window.__natterPeerConnections || []) {
    const item = { state: pc.connectionState, policy: "", pairs: [] };
    try { item.policy = pc.getConfiguration().iceTransportPolicy || ""; } catch (_) {}
    if (pc.connectionState !== "closed") {
      const stats = await pc.getStats();
      const byId = new Map();
      stats.forEach((s) => byId.set(s.id, s));
      const selected = [];
      stats.forEach((s) => { if (s.type === "transport" && s.selectedCandidatePairId) selected.push(s.selectedCandidatePairId); });
      if (selected.length === 0) {
        stats.forEach((s) => { if (s.type === "candidate-pair" && s.nominated && s.state === "succeeded") selected.push(s.id); });
      }
      for (const id of selected) {
        const p = byId.get(id);
        if (!p) continue;
        const l = byId.get(p.localCandidateId) || {};
        const r = byId.get(p.remoteCandidateId) || {};
        item.pairs.push({
          nominated: !!p.nominated,
          state: p.state || "",
          local_type: l.candidateType || "",
          local_address: l.address || l.ip || "",
          local_protocol: l.protocol || "",
          relay_protocol: l.relayProtocol || "",
          remote_type: r.candidateType || "",
          remote_address: r.address || r.ip || "",
          bytes_sent: p.bytesSent || 0,
          bytes_received: p.bytesReceived || 0,
        });
      }
    }
    out.push(item);
  }
  return out;
})().then((v) => done({ ok: v }), (e) => done({ err: String(e) }));
"#;

/// One recorded peer connection.
#[derive(Debug, Clone, Deserialize)]
pub struct Connection {
    /// `connectionState`: "new", "connecting", "connected", "disconnected", "failed", "closed".
    pub state: String,
    /// `getConfiguration().iceTransportPolicy`: "all" or "relay".
    pub policy: String,
    /// The selected candidate pairs (normally one).
    pub pairs: Vec<Pair>,
}

/// A selected ICE candidate pair and its two candidates.
#[derive(Debug, Clone, Deserialize)]
pub struct Pair {
    /// Nominated by ICE.
    pub nominated: bool,
    /// The pair's state ("succeeded" when in use).
    pub state: String,
    /// Local `candidateType`: "host", "srflx", "prflx" or "relay".
    pub local_type: String,
    /// Local candidate address.
    pub local_address: String,
    /// Local candidate protocol ("udp", "tcp").
    pub local_protocol: String,
    /// For a relay candidate, the protocol to the TURN server.
    pub relay_protocol: String,
    /// Remote `candidateType`.
    pub remote_type: String,
    /// Remote candidate address.
    pub remote_address: String,
    /// Bytes sent over the pair.
    pub bytes_sent: u64,
    /// Bytes received over the pair.
    pub bytes_received: u64,
}

/// Every peer connection the page has created, with its selected candidate pair.
pub async fn connections(browser: &Browser) -> TestResult<Vec<Connection>> {
    let v: Value = browser.execute_async(STATS, vec![]).await?;
    serde_json::from_value(v).ctx("decoding the WebRTC statistics")
}

/// How many of the page's peer connections are connected right now.
pub async fn connected_count(browser: &Browser) -> TestResult<usize> {
    let v = browser
        .execute(
            "return (window.__natterPeerConnections || [])\
             .filter(pc => pc.connectionState === 'connected').length;",
            vec![],
        )
        .await?;
    v.as_u64()
        .map(|n| n as usize)
        .ok_or_else(|| format!("odd connection count {v}"))
}
