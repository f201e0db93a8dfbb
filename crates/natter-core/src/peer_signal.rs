//! What one peer tells another through the signaling relay, inside a sealed blob.
//!
//! # What
//!
//! Two browsers set up their RTCPeerConnection by exchanging session descriptions and ICE
//! candidates. The signaling server relays them as opaque blobs ([`crate::signal`]), each
//! sealed under the room's signal key with both session ids as associated data
//! ([`crate::seal`]). [`PeerSignal`] is the plaintext inside: one UTF-8 JSON object with its
//! kind in `"t"`.
//!
//! # Format
//!
//! ```text
//! {"t":"sdp","kind":K,"sdp":S}
//! {"t":"ice","candidate":C,"mid":M,"index":I}
//! ```
//!
//! - `K`: `"offer"`, `"answer"`, `"pranswer"` or `"rollback"` (the `RTCSdpType`); any other
//!   string is refused.
//! - `S`: the SDP text, at most [`MAX_SDP_BYTES`].
//! - `C`: an `a=candidate` line without the `a=` (`""` marks the end of candidates), at most
//!   [`MAX_CANDIDATE_BYTES`].
//! - `M`: the candidate's media id or `null`, at most [`MAX_MID_BYTES`]; `I`: its m-line
//!   index (`0..=65535`) or `null`. Both may be left out.
//!
//! Unknown fields are ignored, so a later version may add some; an unknown `"t"`, a missing
//! or mistyped field, or a value over its bound makes [`PeerSignal::decode`] return `None`,
//! and the receiver drops the blob (the sender is a room member: a malformed signal costs
//! nothing but the connection attempt). Encoding writes the fields in the order shown,
//! `null` for absent optional ones.
//!
//! The bounds keep every message well under the seal's 64 KiB plaintext limit: Chromium's
//! offers for one DataChannel are a few kilobytes, and candidate lines under 200 bytes.

use serde::{Deserialize, Serialize};

/// Longest SDP text accepted, in bytes.
pub const MAX_SDP_BYTES: usize = 32 * 1024;
/// Longest candidate line accepted, in bytes.
pub const MAX_CANDIDATE_BYTES: usize = 1024;
/// Longest media id accepted, in bytes.
pub const MAX_MID_BYTES: usize = 64;

/// The `RTCSdpType`s a description may have.
pub const SDP_KINDS: [&str; 4] = ["offer", "answer", "pranswer", "rollback"];

/// One message of the connection set-up. See the [module documentation](self).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "t", rename_all = "lowercase")]
pub enum PeerSignal {
    /// A session description.
    Sdp {
        /// One of [`SDP_KINDS`].
        kind: String,
        /// The SDP text.
        sdp: String,
    },
    /// A trickled ICE candidate.
    Ice {
        /// The candidate line (`""`: no more candidates).
        candidate: String,
        /// Its media id.
        mid: Option<String>,
        /// Its m-line index.
        index: Option<u16>,
    },
}

/// The wire shape of every [`PeerSignal`]: the fields of both kinds in one object, decoded
/// in one flat pass (serde's internally tagged enums cost the browser's download far more
/// code).
#[derive(Deserialize)]
struct Raw {
    t: String,
    kind: Option<String>,
    sdp: Option<String>,
    candidate: Option<String>,
    mid: Option<String>,
    index: Option<u16>,
}

impl PeerSignal {
    /// The JSON text to seal.
    pub fn encode(&self) -> Vec<u8> {
        // Serializing these plain fields cannot fail.
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// Decodes an opened blob; `None` for anything that is not a valid message within its
    /// bounds.
    pub fn decode(json: &[u8]) -> Option<PeerSignal> {
        let raw: Raw = serde_json::from_slice(json).ok()?;
        let within = |s: &Option<String>, max: usize| s.as_ref().is_none_or(|s| s.len() <= max);
        match raw.t.as_str() {
            "sdp" => {
                let kind = raw.kind?;
                let sdp = raw.sdp?;
                (SDP_KINDS.contains(&kind.as_str()) && sdp.len() <= MAX_SDP_BYTES)
                    .then_some(PeerSignal::Sdp { kind, sdp })
            }
            "ice" => {
                let candidate = raw.candidate?;
                (candidate.len() <= MAX_CANDIDATE_BYTES && within(&raw.mid, MAX_MID_BYTES))
                    .then_some(PeerSignal::Ice {
                        candidate,
                        mid: raw.mid,
                        index: raw.index,
                    })
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_encode_to_fixed_text_and_back() {
        let cases = [
            (
                PeerSignal::Sdp {
                    kind: "offer".into(),
                    sdp: "v=0\r\n".into(),
                },
                r#"{"t":"sdp","kind":"offer","sdp":"v=0\r\n"}"#,
            ),
            (
                PeerSignal::Ice {
                    candidate: "candidate:1 1 udp 1 10.0.0.1 9 typ host".into(),
                    mid: Some("0".into()),
                    index: Some(0),
                },
                r#"{"t":"ice","candidate":"candidate:1 1 udp 1 10.0.0.1 9 typ host","mid":"0","index":0}"#,
            ),
            (
                PeerSignal::Ice {
                    candidate: String::new(),
                    mid: None,
                    index: None,
                },
                r#"{"t":"ice","candidate":"","mid":null,"index":null}"#,
            ),
        ];
        for (message, text) in cases {
            assert_eq!(
                String::from_utf8(message.encode()).ok().as_deref(),
                Some(text)
            );
            assert_eq!(PeerSignal::decode(text.as_bytes()), Some(message));
        }
    }

    #[test]
    fn optional_and_unknown_fields_may_be_left_out_or_added() {
        assert_eq!(
            PeerSignal::decode(br#"{"t":"ice","candidate":"c","extra":[1,2]}"#),
            Some(PeerSignal::Ice {
                candidate: "c".into(),
                mid: None,
                index: None
            })
        );
    }

    #[test]
    fn anything_else_a_peer_seals_is_refused() {
        let long_sdp = format!(
            r#"{{"t":"sdp","kind":"offer","sdp":"{}"}}"#,
            "a".repeat(MAX_SDP_BYTES + 1)
        );
        let long_candidate = format!(
            r#"{{"t":"ice","candidate":"{}"}}"#,
            "c".repeat(MAX_CANDIDATE_BYTES + 1)
        );
        let long_mid = format!(
            r#"{{"t":"ice","candidate":"c","mid":"{}"}}"#,
            "m".repeat(MAX_MID_BYTES + 1)
        );
        for text in [
            &b""[..],
            b"[]",
            b"{}",
            br#"{"t":"sdp","kind":"offer"}"#,
            br#"{"t":"sdp","sdp":"v=0"}"#,
            br#"{"t":"sdp","kind":"hug","sdp":"v=0"}"#,
            br#"{"t":"ice"}"#,
            br#"{"t":"ice","candidate":"c","index":70000}"#,
            br#"{"t":"ice","candidate":7}"#,
            br#"{"t":"hug","kind":"offer","sdp":"v=0"}"#,
            br#"{"t":1}"#,
            b"\xff\xfe",
            long_sdp.as_bytes(),
            long_candidate.as_bytes(),
            long_mid.as_bytes(),
        ] {
            assert_eq!(
                PeerSignal::decode(text),
                None,
                "{}",
                String::from_utf8_lossy(text)
            );
        }
    }

    #[test]
    fn the_largest_message_fits_a_seal() {
        let m = PeerSignal::Sdp {
            kind: "answer".into(),
            sdp: "a".repeat(MAX_SDP_BYTES),
        };
        assert!(m.encode().len() <= crate::seal::MAX_PLAINTEXT_LEN);
    }
}
