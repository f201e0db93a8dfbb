//! The second, explicit confirmation a dangerous action asks for: a question with
//! "Yes, …" and "Cancel" buttons, shown while its `open` signal is set. The button that
//! opens it stays with the caller, so it can sit wherever the page lays out its buttons.

use leptos::prelude::*;

/// The confirmation box, shown while `open` is true. Either button closes it; the "Yes"
/// button then runs `on_confirm`.
#[component]
pub fn Confirmation(
    /// Whether the box is shown.
    open: RwSignal<bool>,
    /// The label of the button that goes ahead, e.g. "Yes, delete this room".
    confirm_label: &'static str,
    /// What going ahead does.
    #[prop(into)]
    on_confirm: Callback<()>,
    /// The question, shown as the box's paragraph.
    children: ChildrenFn,
) -> impl IntoView {
    let confirm = move |_| {
        open.set(false);
        on_confirm.run(());
    };
    move || {
        open.get().then(|| {
            view! {
                <div class="confirm">
                    <p>{children()}</p>
                    <div class="button-row">
                        <button type="button" class="danger" on:click=confirm>
                            {confirm_label}
                        </button>
                        <button type="button" class="secondary" on:click=move |_| open.set(false)>
                            "Cancel"
                        </button>
                    </div>
                </div>
            }
        })
    }
}
