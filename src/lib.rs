//! The Natter web app (Leptos, client-side rendered).
pub mod app;
