//! A natter-keeper process inside the tests' network namespace.
//!
//! [`Keeper::start`] runs the real binary (built by `./x test` before the end-to-end tests:
//! `cargo build -p natter-keeper`) on a data directory the caller owns, so a test can
//! [`Keeper::kill`] it with SIGKILL and start it again on the same store. It listens for
//! WebRTC on the namespace's LAN address ([`crate::netns::LAN_ADDR`]). Its log is kept in
//! memory for failure messages and for waiting on what it did.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::{Context, TestResult};

/// A running keeper; killed (SIGKILL) when dropped.
#[derive(Debug)]
pub struct Keeper {
    child: Child,
    /// Its key, as members paste it.
    pub key: String,
    log: Arc<Mutex<String>>,
}

/// The keeper binary: `NATTER_KEEPER_BIN`, or `natter-keeper` in the target directory this
/// test binary was built in.
pub fn binary() -> TestResult<PathBuf> {
    if let Some(p) = std::env::var_os("NATTER_KEEPER_BIN") {
        return Ok(PathBuf::from(p));
    }
    let exe = std::env::current_exe().ctx("finding the test binary")?;
    // <target>/<profile>/deps/<test binary>
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .ok_or("the test binary is not in a target directory")?;
    let bin = profile_dir.join("natter-keeper");
    if !bin.is_file() {
        return Err(format!(
            "{} is missing: build it first (`cargo build -p natter-keeper`, or run `./x test`)",
            bin.display()
        ));
    }
    Ok(bin)
}

impl Keeper {
    /// Starts a keeper on `data` that meets browsers at the server `server_url`, and waits
    /// until it has loaded its store and joined its mailbox.
    pub async fn start(server_url: &str, data: &Path) -> TestResult<Keeper> {
        Self::start_with(server_url, data, &[]).await
    }

    /// [`Keeper::start`] with more command-line arguments.
    pub async fn start_with(server_url: &str, data: &Path, extra: &[&str]) -> TestResult<Keeper> {
        Self::spawn(server_url, data, extra, false).await
    }

    /// A modified keeper: it breaks the signature of every entry it serves (the debug
    /// build's `NATTER_KEEPER_TAMPER`).
    pub async fn start_tampering(server_url: &str, data: &Path) -> TestResult<Keeper> {
        Self::spawn(server_url, data, &[], true).await
    }

    async fn spawn(
        server_url: &str,
        data: &Path,
        extra: &[&str],
        tamper: bool,
    ) -> TestResult<Keeper> {
        let bin = binary()?;
        let out = Command::new(&bin)
            .arg("--data")
            .arg(data)
            .arg("--print-key")
            .output()
            .await
            .ctx("running natter-keeper --print-key")?;
        if !out.status.success() {
            return Err(format!(
                "natter-keeper --print-key failed: {}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        let key = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        let mut command = Command::new(&bin);
        if tamper {
            command.env("NATTER_KEEPER_TAMPER", "1");
        }
        let mut child = command
            .arg("--server")
            .arg(server_url)
            .arg("--data")
            .arg(data)
            .arg("--udp")
            .arg(format!("{}:0", crate::netns::LAN_ADDR))
            .args(extra)
            .env("RUST_LOG", "info,natter_keeper=debug,str0m=warn,is=warn")
            .env("NO_COLOR", "1")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .ctx("starting natter-keeper")?;
        let log = Arc::new(Mutex::new(String::new()));
        for pipe in [
            child
                .stdout
                .take()
                .map(|s| Box::new(s) as Box<dyn tokio::io::AsyncRead + Unpin + Send>),
            child
                .stderr
                .take()
                .map(|s| Box::new(s) as Box<dyn tokio::io::AsyncRead + Unpin + Send>),
        ]
        .into_iter()
        .flatten()
        {
            let log = log.clone();
            tokio::spawn(async move {
                let mut lines = BufReader::new(pipe).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    if let Ok(mut l) = log.lock() {
                        l.push_str(&line);
                        l.push('\n');
                    }
                }
            });
        }
        let keeper = Keeper { child, key, log };
        keeper
            .wait_for_log("loaded the store", Duration::from_secs(20))
            .await?;
        Ok(keeper)
    }

    /// Its resident memory (KiB) and CPU time so far (clock ticks, 1/100 s).
    pub fn usage(&self) -> (u64, u64) {
        let pid = self.child.id().map(|p| p.to_string()).unwrap_or_default();
        (
            natter_keeper::usage::rss_kib(&pid).unwrap_or(0),
            natter_keeper::usage::cpu_ticks(&pid).unwrap_or(0),
        )
    }

    /// Everything it logged so far.
    pub fn log(&self) -> String {
        self.log.lock().map(|l| l.clone()).unwrap_or_default()
    }

    /// Waits until its log contains `part`.
    pub async fn wait_for_log(&self, part: &str, timeout: Duration) -> TestResult {
        let log = self.log.clone();
        crate::wait::wait_until(&format!("the keeper to log {part:?}"), timeout, move || {
            let log = log.clone();
            async move {
                Ok(log
                    .lock()
                    .map(|l| l.contains(part))
                    .unwrap_or(false)
                    .then_some(()))
            }
        })
        .await
        .map_err(|e| format!("{e}\n--- keeper log ---\n{}", self.tail(60)))
    }

    /// The last `n` lines of its log.
    pub fn tail(&self, n: usize) -> String {
        let log = self.log();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(n)..].join("\n")
    }

    /// Kills it with SIGKILL (no chance to flush or say goodbye) and waits for it to end.
    pub async fn kill(mut self) -> TestResult {
        self.child.start_kill().ctx("killing natter-keeper")?;
        self.child
            .wait()
            .await
            .ctx("waiting for natter-keeper to end")?;
        Ok(())
    }
}
