//! Settings for comfort and privacy: the colour theme, the privacy screen and desktop
//! notifications. Each applies as soon as it is changed.
//!
//! Notifications ask the browser for permission when they are turned on (a user action, as
//! browsers require); a refusal is explained in words and the setting stays off.

use leptos::prelude::*;

use crate::components::{use_sender, use_state};
use crate::notify;
use crate::state::{Command, Settings, Theme};

/// The appearance and privacy section of the settings page.
#[component]
pub fn Appearance() -> impl IntoView {
    let state = use_state();
    let sender = use_sender();
    let problem = RwSignal::new(String::new());
    let save = move |change: &dyn Fn(&mut Settings)| {
        let mut s = state.settings.get_untracked();
        change(&mut s);
        sender.send(Command::SaveSettings(s));
    };
    let on_theme = move |ev| {
        let theme = Theme::from_key(&event_target_value(&ev));
        save(&|s| s.theme = theme);
    };
    let on_privacy = move |ev| {
        let on = event_target_checked(&ev);
        save(&|s| s.privacy_screen = on);
    };
    let on_notifications = move |ev| {
        let on = event_target_checked(&ev);
        problem.set(String::new());
        if !on {
            save(&|s| s.notifications = false);
            return;
        }
        leptos::task::spawn_local(async move {
            let answer = notify::request().await;
            match notify::refusal(answer) {
                None => save(&|s| s.notifications = true),
                Some(why) => {
                    problem.set(why.to_owned());
                    // Show the box unchecked again: the stored setting never changed.
                    state.settings.update(|_| {});
                }
            }
        });
    };
    view! {
        <section class="card" aria-labelledby="appearance-title">
            <h3 id="appearance-title">"Appearance and privacy"</h3>
            <label for="theme">"Theme"</label>
            <select id="theme" on:change=on_theme>
                {Theme::ALL
                    .into_iter()
                    .map(|t| {
                        view! {
                            <option
                                value=t.key()
                                selected=move || state.settings.with(|s| s.theme == t)
                            >
                                {t.label()}
                            </option>
                        }
                    })
                    .collect_view()}
            </select>
            <div class="check">
                <input
                    id="privacy-screen"
                    type="checkbox"
                    prop:checked=move || state.settings.with(|s| s.privacy_screen)
                    on:change=on_privacy
                />
                <label for="privacy-screen">"Privacy screen: hide messages when Natter is not on screen"</label>
            </div>
            <div class="check">
                <input
                    id="notifications"
                    type="checkbox"
                    aria-describedby="notifications-problem"
                    prop:checked=move || state.settings.with(|s| s.notifications)
                    on:change=on_notifications
                />
                <label for="notifications">"Notify me of new messages while Natter is hidden"</label>
            </div>
            <p id="notifications-problem" class="field-error" aria-live="polite">{move || problem.get()}</p>
        </section>
    }
}
