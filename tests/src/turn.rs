//! A TURN server (coturn) inside the tests' network namespace.
//!
//! [`Coturn::start`] runs `/usr/bin/turnserver` on the namespace's LAN address
//! ([`crate::netns::LAN_ADDR`], UDP port 3478) with one static long-term user and relaying
//! allowed to the namespace's private addresses only, waits until it answers a STUN binding
//! request, and stops it (by its process id) when dropped. Tests that run side by side take
//! the port in turn: [`Coturn::start`] waits until no other coturn of this run is up. Its
//! log is kept in a temporary file so a failing test can show it.

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::{Context, TestResult};

const TURNSERVER: &str = "/usr/bin/turnserver";

/// The TURN server's UDP port.
pub const PORT: u16 = 3478;
/// The static TURN user name.
pub const USERNAME: &str = "natter";
/// The static TURN credential.
pub const CREDENTIAL: &str = "secret";
/// The TURN realm.
pub const REALM: &str = "natter.test";

/// A running coturn, stopped on drop.
#[derive(Debug)]
pub struct Coturn {
    child: Child,
    dir: tempfile::TempDir,
    /// This run's turn on [`PORT`], given back after the process has stopped.
    _turn: tokio::sync::MutexGuard<'static, ()>,
}

/// Whose turn it is on [`PORT`].
static PORT_IN_USE: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

impl Coturn {
    /// Starts coturn on [`crate::netns::LAN_ADDR`]:[`PORT`] and waits until it answers.
    pub async fn start() -> TestResult<Self> {
        if !std::path::Path::new(TURNSERVER).is_file() {
            return Err(format!(
                "{TURNSERVER} is missing: install coturn (apt-get install coturn, or run `./x test`)"
            ));
        }
        let turn = PORT_IN_USE.lock().await;
        let dir = tempfile::tempdir().ctx("creating a directory for coturn")?;
        let log = std::fs::File::create(dir.path().join("turnserver.log"))
            .ctx("creating coturn's log file")?;
        let log_err = log.try_clone().ctx("sharing coturn's log file")?;
        let ip = crate::netns::LAN_ADDR;
        let child = Command::new(TURNSERVER)
            .args([
                // No configuration file: every setting is on this command line.
                "-n",
                &format!("--listening-ip={ip}"),
                &format!("--listening-port={PORT}"),
                &format!("--relay-ip={ip}"),
                "--min-port=49152",
                "--max-port=49999",
                "--lt-cred-mech",
                &format!("--user={USERNAME}:{CREDENTIAL}"),
                &format!("--realm={REALM}"),
                "--no-tls",
                "--no-dtls",
                "--no-cli",
                "--no-tcp-relay",
                // Peers are the namespace's own private addresses, which recent coturn
                // versions refuse unless allowed.
                "--allowed-peer-ip=10.77.0.0-10.77.0.255",
                "--log-file=stdout",
                "--simple-log",
                &format!("--pidfile={}", dir.path().join("turnserver.pid").display()),
                // Its own (empty) user database instead of the system's.
                &format!("--userdb={}", dir.path().join("turndb").display()),
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::from(log))
            .stderr(Stdio::from(log_err))
            .spawn()
            .ctx("starting turnserver")?;
        let mut coturn = Coturn {
            child,
            dir,
            _turn: turn,
        };
        let server = SocketAddr::new(ip.parse().ctx("parsing the namespace address")?, PORT);
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Ok(Some(status)) = coturn.child.try_wait() {
                return Err(format!(
                    "turnserver exited at start ({status}); its log:\n{}",
                    coturn.log()
                ));
            }
            if stun_binding(server).await.is_ok() {
                return Ok(coturn);
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "turnserver did not answer a STUN binding request on {server} within 10 s; \
                     its log:\n{}",
                    coturn.log()
                ));
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// The ICE server URL for browsers.
    pub fn url(&self) -> String {
        format!("turn:{}:{PORT}?transport=udp", crate::netns::LAN_ADDR)
    }

    /// What coturn has logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("turnserver.log")).unwrap_or_default()
    }
}

impl Drop for Coturn {
    fn drop(&mut self) {
        // Ours, ended by its handle (its process id).
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Sends one STUN binding request to `server` and waits up to 500 ms for a success answer.
async fn stun_binding(server: SocketAddr) -> TestResult {
    let socket = tokio::net::UdpSocket::bind(SocketAddr::new(server.ip(), 0))
        .await
        .ctx("binding a UDP socket")?;
    // Binding request, no attributes, magic cookie, a fixed transaction id.
    let mut request = vec![0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42];
    request.extend_from_slice(b"natter-probe");
    socket
        .send_to(&request, server)
        .await
        .ctx("sending a STUN request")?;
    let mut buf = [0u8; 1500];
    let (n, _) = tokio::time::timeout(Duration::from_millis(500), socket.recv_from(&mut buf))
        .await
        .map_err(|_| "no STUN answer".to_owned())?
        .ctx("receiving a STUN answer")?;
    if n >= 20 && buf[0] == 0x01 && buf[1] == 0x01 && &buf[8..20] == b"natter-probe" {
        Ok(())
    } else {
        Err("unexpected STUN answer".into())
    }
}
