//! The composer: the draft lives in the session's signals, so it survives switching sessions. Enter
//! sends, Shift+Enter starts a new line. The owner and a supervisor who joined write to the customer or,
//! with "Internal note", to the team; a consultant writes notes only.

use leptos::prelude::*;
use protocol::ConversationState;

use crate::console::{SessionSignals, use_console};

#[component]
pub fn Composer(session: SessionSignals) -> impl IntoView {
    let console = use_console()?;
    let access = move || session.access.get();
    let note = RwSignal::new(false);
    // A consultant has notes only.
    let internal = move || note.get() || !access().writes_to_customer();
    let open = move || {
        session.view.with(|view| {
            if internal() {
                matches!(
                    view.state,
                    ConversationState::Active | ConversationState::WrapUp
                )
            } else {
                view.state == ConversationState::Active
            }
        })
    };
    let send = move || {
        console.send_message(&session.id.get_value(), internal());
        console.composing(session, false);
    };
    let placeholder = move || {
        if !open() {
            "This conversation takes no more messages."
        } else if internal() {
            "Write an internal note: the team reads it, the customer never does."
        } else {
            "Write a reply. Enter sends, Shift+Enter starts a new line."
        }
    };
    Some(view! {
        <form class="composer" class:note=internal on:submit=move |event| { event.prevent_default(); send(); }>
            <textarea data-console="composer" rows="3" maxlength="16000"
                aria-label=move || if internal() { "Internal note" } else { "Reply" }
                placeholder=placeholder
                prop:value=move || session.draft.get()
                on:input=move |event| {
                    let text = event_target_value(&event);
                    let typing = !internal() && !text.trim().is_empty();
                    session.draft.set(text);
                    console.composing(session, typing);
                }
                on:keydown=move |event| {
                    if event.key() == "Enter" && !event.shift_key() && !event.is_composing() {
                        event.prevent_default();
                        send();
                    }
                }
                disabled=move || !open()
            ></textarea>
            <div class="composer-actions">
                <Show when=move || access().writes_to_customer()>
                    <label class="note-toggle">
                        <input type="checkbox" data-console="note-toggle"
                            prop:checked=move || note.get()
                            on:change=move |event| note.set(event_target_checked(&event)) />
                        "Internal note"
                    </label>
                </Show>
                <button class="primary" type="submit" data-console="send" disabled=move || !open()>
                    {move || if internal() { "Add note" } else { "Send" }}
                </button>
            </div>
        </form>
    })
}
