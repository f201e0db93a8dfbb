//! Runs end-to-end tests one at a time with libtest's output format.
//!
//! Each test gets a [`Ctx`]: the shared chromedriver, the base URL of the running server, and
//! a way to launch browsers that the runner tracks. When a test fails or times out, every
//! browser it opened is photographed into `tests/artifacts/<test>-<user>.png`; all of them are
//! closed afterwards either way.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use thirtyfour::WebDriver;

use crate::browser::{Browser, Driver};
use crate::TestResult;

/// A test body.
pub type TestFn = fn(Ctx) -> Pin<Box<dyn Future<Output = TestResult> + Send>>;

/// Longest a single test may run.
pub const TEST_TIMEOUT: Duration = Duration::from_secs(180);

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

    /// Launches a browser for the user `name`, tracked for failure screenshots.
    pub async fn launch(&self, name: &str) -> TestResult<Browser> {
        let b = Browser::launch(&self.inner.driver, name).await?;
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
            }
            // Already closed by the test is fine.
            let _ = wd.quit().await;
        }
    }
}

/// Runs `tests` (name, body) and exits with libtest's conventions.
pub fn run(tests: Vec<(&'static str, TestFn)>) -> ! {
    let mut args = libtest_mimic::Arguments::from_args();
    // Browsers are heavy and share one chromedriver: one test at a time.
    args.test_threads = Some(1);

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
                    }),
                };
                rt.block_on(async {
                    let outcome = match tokio::time::timeout(TEST_TIMEOUT, body(ctx.clone())).await
                    {
                        Ok(r) => r,
                        Err(_) => Err(format!("timed out after {TEST_TIMEOUT:?}")),
                    };
                    ctx.finish(outcome.is_err()).await;
                    outcome.map_err(libtest_mimic::Failed::from)
                })
            })
        })
        .collect();
    let conclusion = libtest_mimic::run(&args, trials);
    drop(driver);
    conclusion.exit()
}
