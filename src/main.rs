//! Entry point of the Natter web app: install the panic hook and mount the root component.

fn main() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(natter::app::App);
}
