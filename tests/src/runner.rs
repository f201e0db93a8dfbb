//! Runs end-to-end tests with libtest's output format, [`DEFAULT_THREADS`] at a time.
//!
//! A test spends most of its time waiting on browsers (one test keeps this 2-core machine
//! about half busy), so two run side by side. They share the chromedriver and the shared
//! server; anything else a test starts (its own server, a keeper, coturn) is its own or, for
//! coturn's fixed port, taken in turn. `--test-threads=1` runs them one at a time.
//!
//! Each test gets a [`Ctx`]: the shared chromedriver, the base URL of the running server, and
//! a way to launch browsers that the runner tracks. Every user of a test has a profile
//! directory that outlives one browser: [`Ctx::relaunch`] brings the user back with the same
//! storage ("close the browser and come back"), [`Ctx::launch`] gives a brand-new profile (a
//! new identity key). When a test fails or times out, every browser it opened is photographed
//! into `tests/artifacts/FAILED-<test>-<user>.png`; all of them are closed afterwards either
//! way, and the profiles are deleted.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use thirtyfour::WebDriver;

use crate::browser::{Browser, Driver};
use crate::{Context, TestResult};

/// A test body.
pub type TestFn = fn(Ctx) -> Pin<Box<dyn Future<Output = TestResult> + Send>>;

/// How many tests run at once unless `--test-threads` says otherwise.
pub const DEFAULT_THREADS: usize = 2;

/// Longest a single test may run.
pub const TEST_TIMEOUT: Duration = Duration::from_secs(240);

/// What a test can reach.
#[derive(Clone, Debug)]
pub struct Ctx {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    test: String,
    driver: Arc<Driver>,
    server: Arc<crate::server::TestServer>,
    opened: Mutex<Vec<(String, WebDriver)>>,
    /// The current profile directory of each user, by name.
    profiles: Mutex<HashMap<String, Arc<tempfile::TempDir>>>,
}

impl Ctx {
    /// The running server.
    pub fn server(&self) -> &crate::server::TestServer {
        &self.inner.server
    }

    /// The app's base URL, e.g. `http://127.0.0.1:41234`.
    pub fn base_url(&self) -> String {
        self.inner.server.base_url()
    }

    /// Launches a browser for the user `name` with a brand-new profile (empty storage, so a
    /// new identity key), which becomes `name`'s profile for later [`Ctx::relaunch`]es.
    /// Tracked for failure screenshots.
    pub async fn launch(&self, name: &str) -> TestResult<Browser> {
        let profile = Arc::new(tempfile::tempdir().ctx("creating a profile directory")?);
        if let Ok(mut profiles) = self.inner.profiles.lock() {
            profiles.insert(name.to_owned(), profile.clone());
        }
        self.open(name, profile).await
    }

    /// Launches a browser for the user `name` on the profile of their last launch, so they
    /// come back with the same identity, rooms and history. The previous browser of `name`
    /// must have been closed ([`Browser::quit`]): a profile is used by one browser at a time.
    pub async fn relaunch(&self, name: &str) -> TestResult<Browser> {
        let profile = self
            .inner
            .profiles
            .lock()
            .ok()
            .and_then(|p| p.get(name).cloned())
            .ok_or_else(|| format!("{name} was never launched, so there is no profile to reuse"))?;
        self.open(name, profile).await
    }

    async fn open(&self, name: &str, profile: Arc<tempfile::TempDir>) -> TestResult<Browser> {
        let b = Browser::launch(&self.inner.driver, name, profile).await?;
        if let Ok(mut opened) = self.inner.opened.lock() {
            opened.push((name.to_owned(), b.wd().clone()));
        }
        Ok(b)
    }

    /// The name of the running test, for artifact file names.
    pub fn test_name(&self) -> &str {
        &self.inner.test
    }

    async fn finish(&self, failed: bool) {
        let opened = match self.inner.opened.lock() {
            Ok(mut v) => std::mem::take(&mut *v),
            Err(_) => return,
        };
        for (user, wd) in opened {
            if failed {
                let dir = crate::artifacts_dir();
                let _ = std::fs::create_dir_all(&dir);
                let path = dir.join(format!("FAILED-{}-{user}.png", self.inner.test));
                match wd.screenshot(&path).await {
                    Ok(()) => eprintln!("saved {}", path.display()),
                    Err(e) => eprintln!("could not screenshot {user}: {e}"),
                }
                let logs = wd
                    .execute(
                        "return [].concat(window.__natterErrors || [], window.__natterWarnings || [], \
                         (window.__natterPeerConnections || []).map(pc => 'peer connection: ' + \
                         pc.connectionState + ' / ' + pc.signalingState + ' / ice ' + pc.iceConnectionState));",
                        vec![],
                    )
                    .await
                    .ok()
                    .and_then(|r| r.convert::<Vec<String>>().ok())
                    .unwrap_or_default();
                for line in logs {
                    eprintln!("  [{user}] {line}");
                }
            }
            // Already closed by the test is fine.
            let _ = wd.quit().await;
        }
        // Every browser is closed: the profile directories can go.
        if let Ok(mut profiles) = self.inner.profiles.lock() {
            profiles.clear();
        }
    }
}

/// Runs `tests` (name, body) and exits with libtest's conventions.
pub fn run(tests: Vec<(&'static str, TestFn)>) -> ! {
    let mut args = libtest_mimic::Arguments::from_args();
    args.test_threads = Some(args.test_threads.unwrap_or(DEFAULT_THREADS));
    // Listing needs no namespace, server or browser.
    if args.list {
        let trials = tests
            .into_iter()
            .map(|(name, _)| libtest_mimic::Trial::test(name, || Ok(())))
            .collect();
        libtest_mimic::run(&args, trials).exit();
    }

    let setup = (|| -> TestResult<_> {
        crate::netns::enter()?;
        let rt = Arc::new(
            tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .map_err(|e| format!("starting tokio: {e}"))?,
        );
        let (driver, server) = rt.block_on(async {
            let server = crate::server::TestServer::start().await?;
            let driver = Driver::start().await?;
            TestResult::Ok((driver, server))
        })?;
        Ok((rt, Arc::new(driver), Arc::new(server)))
    })();
    let (rt, driver, server) = match setup {
        Ok(s) => s,
        Err(e) => {
            eprintln!("end-to-end setup failed: {e}");
            std::process::exit(101);
        }
    };

    let trials = tests
        .into_iter()
        .map(|(name, body)| {
            let rt = rt.clone();
            let driver = driver.clone();
            let server = server.clone();
            libtest_mimic::Trial::test(name, move || {
                let ctx = Ctx {
                    inner: Arc::new(Inner {
                        test: name.to_owned(),
                        driver,
                        server,
                        opened: Mutex::new(Vec::new()),
                        profiles: Mutex::new(HashMap::new()),
                    }),
                };
                let started = std::time::Instant::now();
                rt.block_on(async {
                    let outcome = match tokio::time::timeout(TEST_TIMEOUT, body(ctx.clone())).await
                    {
                        Ok(r) => r,
                        Err(_) => Err(format!("timed out after {TEST_TIMEOUT:?}")),
                    };
                    ctx.finish(outcome.is_err()).await;
                    // Where the suite's time goes, for whoever keeps CI within its budget. A
                    // line of its own: with tests side by side, libtest prints outcomes later.
                    eprintln!("{name}: {:.1} s", started.elapsed().as_secs_f64());
                    outcome.map_err(libtest_mimic::Failed::from)
                })
            })
        })
        .collect();
    let conclusion = libtest_mimic::run(&args, trials);
    drop(driver);
    conclusion.exit()
}
