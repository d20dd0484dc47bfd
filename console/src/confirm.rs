//! A question asked in place before an action that cannot be undone: the action, or "Keep it". The
//! confirming button takes the focus when the question opens; Escape or "Keep it" closes it.

use leptos::prelude::*;

#[component]
pub fn Confirm(
    /// Open while true; both buttons and Escape set it back to false.
    open: RwSignal<bool>,
    /// "Close this session?"
    question: &'static str,
    /// What the action does, under the question.
    #[prop(into)]
    explanation: Signal<String>,
    /// The confirming button's label.
    action: &'static str,
    /// The box's and the confirming button's `data-console` hooks.
    hook: &'static str,
    confirm_hook: &'static str,
    /// The action destroys something: the button says so in the danger colour.
    #[prop(optional)]
    danger: bool,
    on_confirm: impl Fn() + 'static,
) -> impl IntoView {
    let confirm_button: NodeRef<leptos::html::Button> = NodeRef::new();
    Effect::new(move |_| {
        if let Some(button) = confirm_button.get() {
            let _ = button.focus();
        }
    });
    view! {
        <div class="confirm" role="alertdialog" aria-label=question data-console=hook
            on:keydown=move |event| if event.key() == "Escape" { event.stop_propagation(); open.set(false); }>
            <p><strong>{question}</strong><br />{move || explanation.get()}</p>
            <div class="choices">
                <button class="secondary" on:click=move |_| open.set(false)>"Keep it"</button>
                <button class="primary" class:danger=danger node_ref=confirm_button data-console=confirm_hook
                    on:click=move |_| { open.set(false); on_confirm(); }>{action}</button>
            </div>
        </div>
    }
}
