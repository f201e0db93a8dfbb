//! The home view: what Natter is, our name, our rooms, and the ways into a room.

use leptos::prelude::*;

use crate::components::code_join::CodeJoin;
use crate::components::join::{JoinForms, PasswordPrompt};
use crate::components::name_form::NameForm;
use crate::components::new_room::NewRoom;
use crate::components::rooms_list::RoomsList;

/// The home view.
#[component]
pub fn Home() -> impl IntoView {
    view! {
        <div class="home">
            <section class="intro" aria-labelledby="home-title">
                <h1 id="home-title">"Natter"</h1>
                <p class="tagline">
                    "Private group chat that runs in your browser. Messages go straight to the people "
                    "in the room; the server only introduces you and never sees what you say."
                </p>
            </section>
            <PasswordPrompt />
            <section class="card" aria-label="Your name">
                <NameForm label="Your display name" id="home-name" />
            </section>
            <RoomsList />
            <div class="home-forms">
                <NewRoom />
                <JoinForms />
                <CodeJoin />
            </div>
        </div>
    }
}
