//! The app's views, one component per file. Components read state and send intents; they
//! hold no protocol logic.

pub mod home;
pub mod status_bar;
