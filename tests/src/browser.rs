//! Chromium under chromedriver, one profile per simulated user.
//!
//! Elements are found the way a person finds them: by accessible role and name, as computed
//! by Chromium's accessibility tree (WebDriver's `computedrole` / `computedlabel`). The
//! scripts of [`crate::scripts`] run first in every page: console errors and uncaught
//! exceptions are recorded so a test can assert that none happened, and every
//! `RTCPeerConnection` is recorded for `getStats()`.
//!
//! A profile directory belongs to a user, not to one launch: the runner keeps it, so a user
//! can close the browser and come back with the same storage (see `runner::Ctx::relaunch`).

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use thirtyfour::common::command::{Command as WdCommand, ExtensionCommand};
use thirtyfour::prelude::*;

use crate::{scripts, Context, TestResult};

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

/// How often the `wait_*` and `find_*` helpers look again.
pub const POLL: Duration = Duration::from_millis(150);

/// One simulated user: a Chromium with a profile directory of its own.
#[derive(Debug)]
pub struct Browser {
    /// Who this is in the test ("alice", "bob"); used in screenshot names.
    pub name: String,
    driver: WebDriver,
    profile: Arc<tempfile::TempDir>,
}

impl Browser {
    /// Launches a headless Chromium on the profile directory `profile` (fresh or used before).
    ///
    /// Chromium locks a profile while it runs and releases it shortly after it quits, so a
    /// relaunch right after a quit is retried for a few seconds.
    pub async fn launch(
        driver: &Driver,
        name: &str,
        profile: Arc<tempfile::TempDir>,
    ) -> TestResult<Self> {
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
        let deadline = Instant::now() + Duration::from_secs(10);
        let wd = loop {
            match WebDriver::new(driver.url(), caps.clone()).await {
                Ok(wd) => break wd,
                Err(_) if Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
                Err(e) => return Err(format!("starting Chromium for {name}: {e}")),
            }
        };
        for (what, source) in [
            ("the console error recorder", scripts::ERROR_RECORDER),
            ("the peer connection recorder", scripts::RTC_RECORDER),
            ("the notification recorder", scripts::NOTIFICATION_RECORDER),
        ] {
            wd.cdp()
                .send_raw(
                    "Page.addScriptToEvaluateOnNewDocument",
                    json!({ "source": source }),
                )
                .await
                .ctx(&format!("installing {what}"))?;
        }
        Ok(Browser {
            name: name.to_owned(),
            driver: wd,
            profile,
        })
    }

    /// This browser's profile directory.
    pub fn profile_dir(&self) -> &std::path::Path {
        self.profile.path()
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

    /// Reloads the page (same profile, same storage).
    pub async fn reload(&self) -> TestResult {
        self.driver
            .refresh()
            .await
            .ctx(&format!("{} reloading the page", self.name))
    }

    /// The address of the page shown now.
    pub async fn current_url(&self) -> TestResult<String> {
        let url = self
            .driver
            .current_url()
            .await
            .ctx(&format!("{} reading the address", self.name))?;
        Ok(url.to_string())
    }

    /// Runs `script` as the body of a function (`arguments` are `args`) and returns what it
    /// returns, as JSON.
    pub async fn execute(&self, script: &str, args: Vec<Value>) -> TestResult<Value> {
        let ret = self
            .driver
            .execute(script.to_owned(), args)
            .await
            .ctx(&format!("{} running a script", self.name))?;
        Ok(ret.json().clone())
    }

    /// Runs asynchronous `script`: its last argument is a callback to call with the result.
    ///
    /// By convention the scripts of this harness call back `{ok: value}` or `{err: "why"}`,
    /// and this returns the value or the error.
    pub async fn execute_async(&self, script: &str, args: Vec<Value>) -> TestResult<Value> {
        let ret = self
            .driver
            .execute_async(script.to_owned(), args)
            .await
            .ctx(&format!("{} running an asynchronous script", self.name))?;
        let value = ret.json().clone();
        if let Some(err) = value.get("err") {
            return Err(format!("{}: script failed: {err}", self.name));
        }
        match value.get("ok") {
            Some(ok) => Ok(ok.clone()),
            None => Ok(value),
        }
    }

    /// Minimises the window: the page becomes hidden (`visibilitychange`), as when the user
    /// switches to another app or tab. Scripts can still be run in it.
    pub async fn hide_page(&self) -> TestResult {
        self.driver
            .minimize_window()
            .await
            .ctx(&format!("{} minimising the window", self.name))
    }

    /// Restores the window after [`Browser::hide_page`]: the page is visible again.
    pub async fn show_page(&self) -> TestResult {
        self.driver
            .set_window_rect(0, 0, 1280, 900)
            .await
            .ctx(&format!("{} restoring the window", self.name))
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

    /// Fails when any console error, uncaught exception or CSP violation was recorded.
    pub async fn assert_no_console_errors(&self) -> TestResult {
        let errors = self.console_errors().await?;
        if errors.is_empty() {
            Ok(())
        } else {
            Err(format!("{}: console errors: {errors:?}", self.name))
        }
    }

    /// Waits for the element with this ARIA `role` and accessible `name` and returns it.
    pub async fn find_by_role(&self, role: &str, name: &str) -> TestResult<WebElement> {
        self.find_by_role_for(role, name, FIND_TIMEOUT).await
    }

    /// Like [`Browser::find_by_role`], waiting at most `timeout`.
    pub async fn find_by_role_for(
        &self,
        role: &str,
        name: &str,
        timeout: Duration,
    ) -> TestResult<WebElement> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(el) = self.try_find_by_role(role, name).await? {
                return Ok(el);
            }
            if Instant::now() > deadline {
                let errors = self.console_errors().await.unwrap_or_default();
                return Err(format!(
                    "{}: no element with role {role:?} and name {name:?} within {timeout:?} \
                     (console errors: {errors:?})",
                    self.name
                ));
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// The element with this `role` and `name` if there is one now (no waiting).
    pub async fn try_find_by_role(&self, role: &str, name: &str) -> TestResult<Option<WebElement>> {
        let candidates = self
            .driver
            .find_all(By::Css(candidate_selector(role)))
            .await
            .ctx("listing candidate elements")?;
        first_matching(candidates, Some(role), name).await
    }

    /// Waits for the element with this `role` and `name` inside `scope` (e.g. a region).
    pub async fn find_by_role_within(
        &self,
        scope: &WebElement,
        role: &str,
        name: &str,
    ) -> TestResult<WebElement> {
        let deadline = Instant::now() + FIND_TIMEOUT;
        loop {
            let candidates = scope
                .find_all(By::Css(candidate_selector(role)))
                .await
                .ctx("listing candidate elements")?;
            if let Some(el) = first_matching(candidates, Some(role), name).await? {
                return Ok(el);
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "{}: no element with role {role:?} and name {name:?} inside the given \
                     region within {FIND_TIMEOUT:?}",
                    self.name
                ));
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// The element with this `role` and `name` inside `scope` if there is one now (no
    /// waiting).
    pub async fn try_find_by_role_within(
        &self,
        scope: &WebElement,
        role: &str,
        name: &str,
    ) -> TestResult<Option<WebElement>> {
        let candidates = scope
            .find_all(By::Css(candidate_selector(role)))
            .await
            .ctx("listing candidate elements")?;
        first_matching(candidates, Some(role), name).await
    }

    /// Waits for the password input whose accessible name is `label`.
    ///
    /// Chromium gives `<input type=password>` the computed role `textbox`, so
    /// `find_by_role("textbox", label)` finds one too; this looks among password inputs only,
    /// so a test also checks that the field really hides what is typed.
    pub async fn find_password(&self, label: &str) -> TestResult<WebElement> {
        self.find_password_for(label, FIND_TIMEOUT).await
    }

    /// Like [`Browser::find_password`], waiting at most `timeout`.
    pub async fn find_password_for(
        &self,
        label: &str,
        timeout: Duration,
    ) -> TestResult<WebElement> {
        let deadline = Instant::now() + timeout;
        loop {
            let candidates = self
                .driver
                .find_all(By::Css("input[type=password]"))
                .await
                .ctx("listing password inputs")?;
            if let Some(el) = first_matching(candidates, None, label).await? {
                return Ok(el);
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "{}: no password input labelled {label:?} within {timeout:?}",
                    self.name
                ));
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Clicks the element with this `role` and `name`.
    pub async fn click(&self, role: &str, name: &str) -> TestResult {
        let el = self.find_by_role(role, name).await?;
        el.scroll_into_view().await.ctx("scrolling to it")?;
        el.click()
            .await
            .ctx(&format!("{} clicking the {role} {name:?}", self.name))
    }

    /// Replaces the text of the field with this `role` and `name` by `text`.
    pub async fn type_into(&self, role: &str, name: &str, text: &str) -> TestResult {
        let el = self.find_by_role(role, name).await?;
        self.replace_text(&el, text)
            .await
            .ctx(&format!("{} typing into the {role} {name:?}", self.name))
    }

    /// Replaces the text of the password input labelled `label` by `text`.
    pub async fn type_password(&self, label: &str, text: &str) -> TestResult {
        let el = self.find_password(label).await?;
        self.replace_text(&el, text).await.ctx(&format!(
            "{} typing into the password input {label:?}",
            self.name
        ))
    }

    async fn replace_text(&self, el: &WebElement, text: &str) -> Result<(), WebDriverError> {
        el.scroll_into_view().await?;
        el.clear().await?;
        if !text.is_empty() {
            el.send_keys(text).await?;
        }
        Ok(())
    }

    /// Ticks (`true`) or unticks the checkbox `name`.
    pub async fn set_checkbox(&self, name: &str, checked: bool) -> TestResult {
        let el = self.find_by_role("checkbox", name).await?;
        el.scroll_into_view().await.ctx("scrolling to it")?;
        let now = el.is_selected().await.ctx("reading the checkbox")?;
        if now != checked {
            el.click()
                .await
                .ctx(&format!("{} clicking the checkbox {name:?}", self.name))?;
        }
        Ok(())
    }

    /// The current value of a form field (its `value` property).
    pub async fn value_of(&self, el: &WebElement) -> TestResult<String> {
        Ok(el
            .prop("value")
            .await
            .ctx("reading a field's value")?
            .unwrap_or_default())
    }

    /// Waits until the text of the element with this `role` and `name` satisfies `accept`
    /// and returns that text.
    pub async fn wait_for_text(
        &self,
        role: &str,
        name: &str,
        accept: impl Fn(&str) -> bool,
        timeout: Duration,
    ) -> TestResult<String> {
        let deadline = Instant::now() + timeout;
        let mut last = None;
        loop {
            if let Some(el) = self.try_find_by_role(role, name).await? {
                // The element may be replaced between finding and reading: try again then.
                if let Ok(text) = el.text().await {
                    if accept(&text) {
                        return Ok(text);
                    }
                    last = Some(text);
                }
            }
            if Instant::now() > deadline {
                return Err(match last {
                    Some(text) => format!(
                        "{}: the {role} {name:?} still reads {text:?} after {timeout:?}",
                        self.name
                    ),
                    None => format!(
                        "{}: no {role} {name:?} appeared within {timeout:?}",
                        self.name
                    ),
                });
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// The texts of every `role=alert` element on the page now, in document order.
    pub async fn alerts(&self) -> TestResult<Vec<String>> {
        let v = self
            .execute(
                "return Array.from(document.querySelectorAll('[role=alert]'), e => e.innerText);",
                vec![],
            )
            .await?;
        serde_json::from_value(v).ctx("decoding the alerts")
    }

    /// Waits for a `role=alert` whose text satisfies `accept` and returns its text.
    pub async fn wait_for_alert(
        &self,
        what: &str,
        accept: impl Fn(&str) -> bool,
        timeout: Duration,
    ) -> TestResult<String> {
        let deadline = Instant::now() + timeout;
        loop {
            let alerts = self.alerts().await?;
            if let Some(hit) = alerts.iter().find(|a| accept(a)) {
                return Ok(hit.clone());
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "{}: no alert {what} within {timeout:?}; alerts shown: {alerts:?}",
                    self.name
                ));
            }
            tokio::time::sleep(POLL).await;
        }
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

    /// Closes the browser. Its profile directory stays for a later relaunch.
    pub async fn quit(self) -> TestResult {
        self.driver.quit().await.ctx("closing Chromium")
    }
}

/// The first of `candidates` whose computed role is `role` (any role when `None`) and whose
/// accessible name is `name`.
async fn first_matching(
    candidates: Vec<WebElement>,
    role: Option<&str>,
    name: &str,
) -> TestResult<Option<WebElement>> {
    for el in candidates {
        // Elements can go stale between listing and asking; skip those. The name is asked
        // first: it rules out most candidates with one round trip.
        let Ok(label) = computed(&el, "computedlabel").await else {
            continue;
        };
        if label.trim() != name {
            continue;
        }
        if let Some(role) = role {
            let Ok(r) = computed(&el, "computedrole").await else {
                continue;
            };
            if r != role {
                continue;
            }
        }
        return Ok(Some(el));
    }
    Ok(None)
}

/// CSS that matches every element that could carry `role`, explicitly or implicitly.
fn candidate_selector(role: &str) -> String {
    let implicit = match role {
        "button" => "button, input[type=button], input[type=submit], summary",
        "link" => "a[href]",
        "textbox" => "input:not([type]), input[type=text], input[type=url], input[type=password], input[type=email], textarea",
        "heading" => "h1, h2, h3, h4, h5, h6",
        "checkbox" => "input[type=checkbox]",
        "combobox" => "select:not([multiple])",
        "list" => "ul, ol",
        "listitem" => "li",
        "status" => "output",
        "navigation" => "nav",
        "main" => "main",
        "region" => "section[aria-label], section[aria-labelledby]",
        "dialog" => "dialog",
        "article" => "article",
        // Chromium reports an <img>'s computed role as "image" (ARIA 1.3).
        "image" => "img",
        "progressbar" => "progress",
        "form" => "form",
        _ => "",
    };
    if implicit.is_empty() {
        format!("[role={role}]")
    } else {
        format!("{implicit}, [role={role}]")
    }
}

/// The computed ARIA role and accessible name of `el`, as a screen reader would get them.
pub async fn role_and_name(el: &WebElement) -> TestResult<(String, String)> {
    let role = computed(el, "computedrole").await?;
    let name = computed(el, "computedlabel").await?;
    Ok((role, name.trim().to_owned()))
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
