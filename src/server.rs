//! Talking to the Natter server over HTTP: its health and its client configuration.
//!
//! The server only introduces peers; the app keeps working when it is unreachable, so every
//! call here returns a `Result` whose error is meant to be shown to the user as words.

use serde::Deserialize;

/// Why the server could not be reached, in words for the user.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ServerError {
    /// The request did not complete (offline, server down, blocked).
    #[error("The Natter server is unreachable: {0}")]
    Unreachable(String),
    /// The server answered with an unexpected status or body.
    #[error("The Natter server answered unexpectedly: {0}")]
    BadAnswer(String),
}

/// Client configuration served at `/config`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct ClientConfig {
    /// ICE servers (STUN/TURN) configured by the operator; empty by default.
    #[serde(rename = "iceServers", default)]
    pub ice_servers: Vec<IceServer>,
    /// Origins allowed to embed the app and send it commands (see [`crate::embed`]).
    #[serde(rename = "embedOrigins", default)]
    pub embed_origins: Vec<String>,
    /// The keeper the operator runs beside the server, offered to keep rooms available
    /// (see [`crate::keeper`]); none when absent.
    #[serde(default)]
    pub keeper: Option<KeeperInfo>,
}

/// A keeper offered by the server: its key and name, as the server's configuration says
/// (the key is checked when it is used, like a key the user typed).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct KeeperInfo {
    /// Its Ed25519 key, as `natter_core::identity::PublicKey::to_text` writes it.
    pub key: String,
    /// Its display name.
    #[serde(default)]
    pub name: String,
}

/// One ICE server entry, in the shape `RTCPeerConnection` expects.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct IceServer {
    /// `stun:` or `turn:` URLs.
    pub urls: Vec<String>,
    /// TURN user name, if any.
    #[serde(default)]
    pub username: Option<String>,
    /// TURN credential, if any.
    #[serde(default)]
    pub credential: Option<String>,
}

/// Fetches `/config` from the server that served the app.
pub async fn fetch_config() -> Result<ClientConfig, ServerError> {
    let resp = gloo_net::http::Request::get("/config")
        .send()
        .await
        .map_err(|e| ServerError::Unreachable(e.to_string()))?;
    if !resp.ok() {
        return Err(ServerError::BadAnswer(format!("HTTP {}", resp.status())));
    }
    resp.json::<ClientConfig>()
        .await
        .map_err(|e| ServerError::BadAnswer(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_keeper_is_read_from_the_config_and_is_optional() -> Result<(), serde_json::Error> {
        let none: ClientConfig = serde_json::from_str(r#"{"iceServers":[]}"#)?;
        assert_eq!(none.keeper, None);
        let some: ClientConfig =
            serde_json::from_str(r#"{"keeper":{"key":"abc","name":"Keeper"},"extra":1}"#)?;
        assert_eq!(
            some.keeper,
            Some(KeeperInfo {
                key: "abc".into(),
                name: "Keeper".into()
            })
        );
        Ok(())
    }
}
