//! The `natter-server` binary: announces its address, serves, and stops gracefully on
//! SIGTERM, sending `reconnect` and closing with 1012.
#![allow(clippy::unwrap_used)]

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

/// The server process, killed if the test ends before it has exited (a failed assertion
/// must not leave it running).
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        if matches!(self.0.try_wait(), Ok(None)) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

#[tokio::test]
async fn the_binary_announces_its_address_and_stops_gracefully_on_sigterm() {
    let child = Command::new(env!("CARGO_BIN_EXE_natter-server"))
        .args(["--port", "0", "--dist", "/nonexistent-natter-dist"])
        .env(
            "NATTER_ICE_SERVERS",
            r#"[{"urls":"turn:turn.example.invalid:3478"}]"#,
        )
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut server = Server(child);
    let mut line = String::new();
    BufReader::new(server.0.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .trim()
        .strip_prefix("Natter is running at ")
        .unwrap_or_else(|| panic!("banner was {line:?}"));
    assert!(
        url.starts_with("http://127.0.0.1:") && url.ends_with('/'),
        "{url}"
    );
    let addr = url
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .parse()
        .unwrap();

    let config = common::http_get(addr, "/config", &[]).await;
    assert_eq!(
        config.text(),
        r#"{"iceServers":[{"urls":"turn:turn.example.invalid:3478"}],"embedOrigins":[]}"#
    );
    let mut client = common::Client::connect(addr).await;
    client.join("r").await;

    let killed = Command::new("kill")
        .args(["-TERM", &server.0.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let (code, seen) = client.expect_close().await;
    assert_eq!(code, 1012);
    assert!(
        seen.iter().any(|m| m["type"] == "reconnect"),
        "seen {seen:?}"
    );
    let (server, status) = tokio::task::spawn_blocking(move || {
        let status = server.0.wait();
        (server, status)
    })
    .await
    .unwrap();
    let status = status.unwrap();
    drop(server);
    assert!(status.success(), "exit status {status}");
}
