//! The question an opened invite link asks: "Join room X?", with what the link says about the
//! room, and Join and Cancel.
//!
//! Any page can send the user's tab to an invite link (a link, a redirect, a script setting
//! `location`), so opening one must not act for the user: until they choose Join, the invite
//! is not stored, the signaling server is not told, and no profile is posted. Cancel goes
//! home and leaves nothing behind. Joining by a link the user pasted into the home view's
//! form is the user's own act and does not ask again.

use leptos::ev::SubmitEvent;
use leptos::html::H2;
use leptos::prelude::*;
use natter_core::room::{Invite, Room};

use crate::components::first_name::{send_first_name, FirstName};
use crate::components::join::InvitePassword;
use crate::components::{focus_when_shown, use_sender, use_state};
use crate::route::{self, Route};
use crate::state::{Command, RoomSummary};

/// What an invite link tells about its room, for the question.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoinQuestion {
    /// The room's name as the link gives it (chosen by whoever made the link).
    pub name: Option<String>,
    /// Joining needs the room password too.
    pub password: bool,
    /// The room is already on this device (only known for rooms without a password: with
    /// one, the room's id depends on the password).
    pub already_here: bool,
}

impl JoinQuestion {
    /// Reads the invite `link` (a full link or its fragment); `rooms` are the rooms on this
    /// device. The error is in words, for the user.
    pub fn read(link: &str, rooms: &[RoomSummary]) -> Result<JoinQuestion, String> {
        let invite = Invite::parse(link.trim())
            .map_err(|e| format!("This invite link cannot be used: {e}."))?;
        let already_here = !invite.password_required()
            && Room::from_invite(&invite, None)
                .map(|room| room.id())
                .is_ok_and(|id| rooms.iter().any(|r| r.id == id && !r.left));
        Ok(JoinQuestion {
            name: invite.name().map(str::to_owned),
            password: invite.password_required(),
            already_here,
        })
    }

    /// The question itself, the view's heading.
    pub fn title(&self) -> String {
        match &self.name {
            Some(name) => format!("Join room “{name}”?"),
            None => "Join this room?".to_owned(),
        }
    }

    /// What is known, one sentence each, `my_name` being the name the room's members will see.
    pub fn facts(&self, my_name: &str) -> Vec<String> {
        let mut facts = Vec::new();
        facts.push(match &self.name {
            Some(_) => "Its name comes from the link: whoever made the link chose it.".to_owned(),
            None => "The link gives no name for the room.".to_owned(),
        });
        facts.push(if self.password {
            "This room needs a password; the link alone does not open it.".to_owned()
        } else {
            "No password is needed.".to_owned()
        });
        if self.already_here {
            facts.push("You are already in this room on this device.".to_owned());
        }
        facts.push(format!(
            "The people in the room will see you as “{my_name}” and can read what you write there."
        ));
        facts
    }
}

/// The question for the invite in the address (`#/join/<payload>`).
#[component]
pub fn JoinQuestionView() -> impl IntoView {
    let state = use_state();
    let sender = use_sender();
    let link = route::current_href();
    let question = {
        let link = link.clone();
        Memo::new(move |_| state.rooms.with(|rooms| JoinQuestion::read(&link, rooms)))
    };
    let password = RwSignal::new(String::new());
    let my_name = RwSignal::new(String::new());
    let heading = NodeRef::<H2>::new();
    focus_when_shown(heading);
    let link = StoredValue::new(link);
    let join = move |ev: SubmitEvent| {
        ev.prevent_default();
        let needs_password = question.with_untracked(|q| q.as_ref().is_ok_and(|q| q.password));
        let pw = password.get_untracked();
        if needs_password && pw.is_empty() {
            return;
        }
        send_first_name(sender, state, my_name);
        sender.send(Command::JoinLink {
            link: link.get_value(),
            password: needs_password.then_some(pw),
        });
        password.set(String::new());
    };
    let cancel = move |_| {
        password.set(String::new());
        route::go(&Route::Home);
    };
    move || match question.get() {
        Err(words) => view! {
            <section class="card join-question" aria-labelledby="join-question-title">
                <h2 id="join-question-title" tabindex="-1" node_ref=heading>
                    "This invite link cannot be used"
                </h2>
                <p>{words}</p>
                <p><a href="#/">"Back to the start page"</a></p>
            </section>
        }
        .into_any(),
        Ok(q) => {
            let title = q.title();
            let needs_password = q.password;
            let facts = move || {
                q.facts(&state.my_name.get())
                    .into_iter()
                    .map(|f| view! { <li>{f}</li> })
                    .collect_view()
            };
            let field = needs_password.then(|| {
                view! { <InvitePassword id="join-question-password" value=password /> }
            });
            view! {
                <section class="card prompt join-question" aria-labelledby="join-question-title">
                    <h2 id="join-question-title" tabindex="-1" node_ref=heading>{title}</h2>
                    <p>
                        "You opened an invite link. Nothing is joined or kept on this device "
                        "until you choose Join."
                    </p>
                    <ul class="facts">{facts}</ul>
                    <form aria-label="Join this room" on:submit=join>
                        <FirstName id="join-question-name" value=my_name />
                        {field}
                        <div class="button-row">
                            <button type="submit">"Join"</button>
                            <button type="button" class="secondary" on:click=cancel>
                                "Cancel"
                            </button>
                        </div>
                    </form>
                </section>
            }
            .into_any()
        }
    }
}

#[cfg(test)]
mod tests {
    // `expect` here states what the test takes as given: a panic is the test failing.
    use super::*;
    use natter_core::room::{RoomId, RoomSecret};

    fn summary(id: RoomId, left: bool) -> RoomSummary {
        RoomSummary {
            id,
            name: "x".into(),
            ephemeral: false,
            password: false,
            unread: 0,
            last_activity_ms: 0,
            peers_online: 0,
            left,
        }
    }

    fn link(password: bool, name: Option<&str>) -> (String, RoomId) {
        let secret = RoomSecret::from_bytes([7; 32]);
        let invite = Invite::new(secret, password, name).expect("a valid invite");
        let id = Room::from_invite(&invite, None)
            .map(|r| r.id())
            .unwrap_or(RoomId([0; 32]));
        (invite.to_link("https://natter.example"), id)
    }

    #[test]
    fn the_question_names_the_room_and_says_what_the_link_holds() {
        let (l, _) = link(false, Some("Book club"));
        let q = JoinQuestion::read(&l, &[]).expect("readable");
        assert_eq!(q.title(), "Join room “Book club”?");
        assert!(!q.password && !q.already_here);
        let facts = q.facts("Ann").join(" ");
        assert!(facts.contains("No password is needed."), "{facts}");
        assert!(facts.contains("see you as “Ann”"), "{facts}");
        assert!(facts.contains("whoever made the link chose it"), "{facts}");
    }

    #[test]
    fn a_password_room_says_so_and_a_nameless_one_asks_plainly() {
        let (l, _) = link(true, None);
        let q = JoinQuestion::read(&l, &[]).expect("readable");
        assert_eq!(q.title(), "Join this room?");
        assert!(q.password);
        assert!(q
            .facts("Ann")
            .iter()
            .any(|f| f.contains("needs a password")));
    }

    #[test]
    fn a_room_already_here_is_recognised_unless_it_was_left() {
        let (l, id) = link(false, Some("Ours"));
        let here = JoinQuestion::read(&l, &[summary(id, false)]).expect("readable");
        assert!(here.already_here);
        assert!(here
            .facts("Ann")
            .iter()
            .any(|f| f.contains("already in this room")));
        let left = JoinQuestion::read(&l, &[summary(id, true)]).expect("readable");
        assert!(!left.already_here);
    }

    #[test]
    fn a_broken_link_is_explained_in_words() {
        let e =
            JoinQuestion::read("https://natter.example/#/join/%%%", &[]).expect_err("unreadable");
        assert!(e.starts_with("This invite link cannot be used"), "{e}");
    }
}
