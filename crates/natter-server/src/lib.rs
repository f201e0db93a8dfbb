//! Natter's signaling relay and static file server (placeholder; built in its own change).
