//! Helpers shared by the browser (wasm-bindgen) tests of several modules.

/// Turns a failed step into a test failure that says what was being done.
pub(crate) trait Ctx<T> {
    /// The error, prefixed with `what`.
    fn ctx(self, what: &str) -> Result<T, String>;
}

impl<T, E: std::fmt::Debug> Ctx<T> for Result<T, E> {
    fn ctx(self, what: &str) -> Result<T, String> {
        self.map_err(|e| format!("{what}: {e:?}"))
    }
}
