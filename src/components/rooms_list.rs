//! The rooms on this device, most recent first, each a link to its view.

use leptos::prelude::*;

use crate::components::use_state;
use crate::route::room_href;

/// "Your rooms": links with unread counts and a mark on rooms the user left.
#[component]
pub fn RoomsList() -> impl IntoView {
    let state = use_state();
    let empty = Memo::new(move |_| state.rooms.with(Vec::is_empty));
    let body = move || {
        if !state.ready.get() {
            return view! { <p class="muted">"Loading your rooms…"</p> }.into_any();
        }
        if empty.get() {
            return view! {
                <p class="muted">"No rooms yet. Create one or join with an invite link."</p>
            }
            .into_any();
        }
        view! {
            <ul class="room-list">
                <For
                    each=move || state.rooms.get()
                    key=|r| (r.id, r.name.clone(), r.unread, r.left, r.ephemeral, r.password)
                    children=move |r| {
                        let unread = (r.unread > 0)
                            .then(|| view! { <span class="badge">{format!("{} unread", r.unread)}</span> });
                        let left = r.left.then(|| view! { <span class="tag">"left"</span> });
                        let ephemeral = r.ephemeral.then(|| view! { <span class="tag">"ephemeral"</span> });
                        view! {
                            <li>
                                <a href=room_href(&r.id)>{r.name.clone()}</a>
                                {unread}
                                {left}
                                {ephemeral}
                            </li>
                        }
                    }
                />
            </ul>
        }
        .into_any()
    };
    view! {
        <section class="card" aria-labelledby="rooms-title">
            <h2 id="rooms-title">"Your rooms"</h2>
            {body}
        </section>
    }
}
