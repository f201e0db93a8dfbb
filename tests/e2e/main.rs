//! Every end-to-end test, run in real headless Chromium against the real server, inside a
//! private network namespace. `./x test` builds the app first; run alone with
//! `cargo test -p natter-e2e` after `trunk build --release`.

mod foundation;

fn main() {
    natter_e2e::runner::run(vec![
        ("server_answers_healthz", |c| {
            Box::pin(foundation::server_answers_healthz(c))
        }),
        ("app_loads_without_console_errors_and_shows_home", |c| {
            Box::pin(foundation::app_loads_without_console_errors_and_shows_home(
                c,
            ))
        }),
    ])
}
