//! A private network namespace for the whole test process.
//!
//! [`enter`] re-runs the current test binary under `unshare --net` (we are root on the test
//! machines), then, inside, brings up `lo` and a veth pair with private addresses and a default
//! route, because Chromium gathers no ICE candidates at all in a namespace with only `lo`.
//! Every browser, chromedriver and server started afterwards inherits the namespace, so
//! peer-to-peer traffic stays inside it. Nothing outside is reachable from in here, which is
//! the point.

use std::process::Command;

use crate::{Context, TestResult};

const MARKER: &str = "NATTER_E2E_IN_NETNS";

/// The address of the namespace's own "LAN" interface; ICE host candidates use it.
pub const LAN_ADDR: &str = "10.77.0.1";

/// Ensures this process runs in a private network namespace.
///
/// Outside one, this re-executes the current binary with the same arguments under
/// `unshare --net` and exits with its status (it does not return). Inside, it configures the
/// interfaces and returns.
pub fn enter() -> TestResult {
    if std::env::var_os(MARKER).is_none() {
        let exe = std::env::current_exe().ctx("finding the test binary")?;
        let status = Command::new("unshare")
            .arg("--net")
            .arg("--")
            .arg(exe)
            .args(std::env::args_os().skip(1))
            .env(MARKER, "1")
            .status()
            .ctx("running unshare --net (needs root and util-linux)")?;
        std::process::exit(status.code().unwrap_or(1));
    }
    // Never reconfigure a namespace we did not just create: a fresh one has only `lo`.
    let links = Command::new("ip")
        .args(["-o", "link"])
        .output()
        .ctx("running ip (iproute2)")?;
    let links = String::from_utf8_lossy(&links.stdout);
    if links.lines().any(|l| !l.contains(" lo:")) {
        return Err(format!(
            "{MARKER} is set but this is not a fresh network namespace; refusing to configure it"
        ));
    }
    for args in [
        &["link", "set", "lo", "up"][..],
        &["link", "add", "v0", "type", "veth", "peer", "name", "v1"],
        &["addr", "add", "10.77.0.1/24", "dev", "v0"],
        &["addr", "add", "10.77.0.2/24", "dev", "v1"],
        &["link", "set", "v0", "up"],
        &["link", "set", "v1", "up"],
        &["route", "add", "default", "via", "10.77.0.2", "dev", "v0"],
    ] {
        let out = Command::new("ip")
            .args(args)
            .output()
            .ctx("running ip (iproute2)")?;
        if !out.status.success() {
            return Err(format!(
                "ip {} failed: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
    }
    Ok(())
}
