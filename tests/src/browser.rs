//! Chromium under chromedriver, one profile per simulated user.
//!
//! Elements are found the way a person finds them: by accessible role and name, as computed
//! by Chromium's accessibility tree (WebDriver's `computedrole` / `computedlabel`). Console
//! errors and uncaught exceptions are recorded from the first script of every page on, so a
//! test can assert that none happened.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use thirtyfour::common::command::{Command as WdCommand, ExtensionCommand};
use thirtyfour::prelude::*;

use crate::{Context, TestResult};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// How long a `find_*` waits for an element to appear.
pub const FIND_TIMEOUT: Duration = Duration::from_secs(15);

/// A running chromedriver, stopped on drop.
#[derive(Debug)]
pub struct Driver {
    child: Child,
    url: String,
}

impl Driver {
    /// Starts chromedriver on a free loopback port and waits until it answers.
    pub async fn start() -> TestResult<Self> {
        let port = free_port()?;
        let child = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .ctx("starting /usr/bin/chromedriver (apt-get install chromium-driver)")?;
        let driver = Driver {
            child,
            url: format!("http://127.0.0.1:{port}"),
        };
        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(resp) = crate::http::get(addr, "/status").await {
                if resp.status == 200 {
                    return Ok(driver);
                }
            }
            if Instant::now() > deadline {
                return Err("chromedriver did not answer within 20 s".into());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The WebDriver URL.
    pub fn url(&self) -> &str {
        &self.url
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        // The child is ours; ending it by its handle is the cleanup.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> TestResult<u16> {
    let l = TcpListener::bind("127.0.0.1:0").ctx("finding a free port")?;
    Ok(l.local_addr().ctx("reading the port")?.port())
}

/// Records console errors and uncaught exceptions into `window.__natterErrors` from the first
/// script of every document.
const ERROR_RECORDER: &str = r#"
(() => {
  window.__natterErrors = [];
  const push = (kind, args) => {
    try { window.__natterErrors.push(kind + ": " + Array.from(args).map(String).join(" ")); }
    catch (_) { window.__natterErrors.push(kind); }
  };
  const origError = console.error.bind(console);
  console.error = (...args) => { push("console.error", args); origError(...args); };
  window.addEventListener("error", (e) => push("uncaught", [e.message]));
  window.addEventListener("unhandledrejection", (e) => push("unhandled rejection", [e.reason]));
  document.addEventListener("securitypolicyviolation",
    (e) => push("CSP violation", [e.violatedDirective, e.blockedURI]));
})();
"#;

/// One simulated user: a Chromium with its own fresh profile.
#[derive(Debug)]
pub struct Browser {
    /// Who this is in the test ("alice", "bob"); used in screenshot names.
    pub name: String,
    driver: WebDriver,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// Launches a headless Chromium with a fresh profile.
    pub async fn launch(driver: &Driver, name: &str) -> TestResult<Self> {
        let profile = tempfile::tempdir().ctx("creating a profile directory")?;
        let mut caps = DesiredCapabilities::chrome();
        caps.set_binary(CHROMIUM)
            .ctx("setting the Chromium binary")?;
        for arg in [
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            "--disable-features=WebRtcHideLocalIpsWithMdns",
            "--window-size=1280,900",
        ] {
            caps.add_arg(arg).ctx("adding a Chromium flag")?;
        }
        caps.add_arg(&format!("--user-data-dir={}", profile.path().display()))
            .ctx("adding the profile flag")?;
        let wd = WebDriver::new(driver.url(), caps)
            .await
            .ctx("starting Chromium")?;
        wd.cdp()
            .send_raw(
                "Page.addScriptToEvaluateOnNewDocument",
                json!({ "source": ERROR_RECORDER }),
            )
            .await
            .ctx("installing the console error recorder")?;
        Ok(Browser {
            name: name.to_owned(),
            driver: wd,
            _profile: profile,
        })
    }

    /// The underlying WebDriver session.
    pub fn wd(&self) -> &WebDriver {
        &self.driver
    }

    /// Opens `url`.
    pub async fn goto(&self, url: &str) -> TestResult {
        self.driver
            .goto(url)
            .await
            .ctx(&format!("{} opening {url}", self.name))
    }

    /// Console errors and uncaught exceptions recorded since the page loaded.
    pub async fn console_errors(&self) -> TestResult<Vec<String>> {
        let ret = self
            .driver
            .execute(
                "return window.__natterErrors || ['error recorder missing'];",
                vec![],
            )
            .await
            .ctx("reading console errors")?;
        ret.convert::<Vec<String>>().ctx("decoding console errors")
    }

    /// Waits for the element with this ARIA `role` and accessible `name` and returns it.
    pub async fn find_by_role(&self, role: &str, name: &str) -> TestResult<WebElement> {
        let deadline = Instant::now() + FIND_TIMEOUT;
        loop {
            if let Some(el) = self.try_find_by_role(role, name).await? {
                return Ok(el);
            }
            if Instant::now() > deadline {
                let errors = self.console_errors().await.unwrap_or_default();
                return Err(format!(
                    "{}: no element with role {role:?} and name {name:?} within {FIND_TIMEOUT:?} \
                     (console errors: {errors:?})",
                    self.name
                ));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn try_find_by_role(&self, role: &str, name: &str) -> TestResult<Option<WebElement>> {
        let candidates = self
            .driver
            .find_all(By::Css(candidate_selector(role)))
            .await
            .ctx("listing candidate elements")?;
        for el in candidates {
            // Elements can go stale between listing and asking; skip those.
            let Ok(r) = computed(&el, "computedrole").await else {
                continue;
            };
            if r != role {
                continue;
            }
            let Ok(label) = computed(&el, "computedlabel").await else {
                continue;
            };
            if label.trim() == name {
                return Ok(Some(el));
            }
        }
        Ok(None)
    }

    /// Saves a PNG screenshot as `<artifacts>/<file>.png`.
    pub async fn screenshot(&self, file: &str) -> TestResult {
        let dir = crate::artifacts_dir();
        std::fs::create_dir_all(&dir).ctx("creating the artifacts directory")?;
        let path = dir.join(format!("{file}.png"));
        self.driver
            .screenshot(Path::new(&path))
            .await
            .ctx("taking a screenshot")
    }

    /// Closes the browser.
    pub async fn quit(self) -> TestResult {
        self.driver.quit().await.ctx("closing Chromium")
    }
}

/// CSS that matches every element that could carry `role`, explicitly or implicitly.
fn candidate_selector(role: &str) -> String {
    let implicit = match role {
        "button" => "button, input[type=button], input[type=submit], summary",
        "link" => "a[href]",
        "textbox" => "input:not([type]), input[type=text], input[type=url], input[type=password], input[type=email], textarea",
        "heading" => "h1, h2, h3, h4, h5, h6",
        "checkbox" => "input[type=checkbox]",
        "list" => "ul, ol",
        "listitem" => "li",
        "status" => "output",
        "navigation" => "nav",
        "main" => "main",
        "region" => "section[aria-label], section[aria-labelledby]",
        "dialog" => "dialog",
        _ => "",
    };
    if implicit.is_empty() {
        format!("[role={role}]")
    } else {
        format!("{implicit}, [role={role}]")
    }
}

/// WebDriver's `GET /element/{id}/computedrole|computedlabel`, which thirtyfour lacks.
#[derive(Debug)]
struct Computed {
    element: String,
    what: &'static str,
}

impl ExtensionCommand for Computed {
    fn parameters_json(&self) -> Option<Value> {
        None
    }
    fn method(&self) -> http::Method {
        http::Method::GET
    }
    fn endpoint(&self) -> Arc<str> {
        format!("/element/{}/{}", self.element, self.what).into()
    }
}

async fn computed(el: &WebElement, what: &'static str) -> TestResult<String> {
    let cmd = Computed {
        element: el.element_id().to_string(),
        what,
    };
    let resp = el
        .handle()
        .cmd(WdCommand::ExtensionCommand(Box::new(cmd)))
        .await
        .ctx(what)?;
    resp.value::<String>().ctx(what)
}
