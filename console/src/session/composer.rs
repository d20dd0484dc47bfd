//! The composer: the draft lives in the session's signals, so it survives switching sessions. Enter
//! sends, Shift+Enter starts a new line.

use leptos::prelude::*;
use protocol::ConversationState;

use crate::console::{SessionSignals, use_console};

#[component]
pub fn Composer(session: SessionSignals) -> impl IntoView {
    let console = use_console()?;
    let active = move || {
        session
            .view
            .with(|view| view.state == ConversationState::Active)
    };
    let send = move || console.send_message(&session.id.get_value());
    let placeholder = move || {
        if active() {
            "Write a reply. Enter sends, Shift+Enter starts a new line."
        } else {
            "This conversation takes no more messages."
        }
    };
    Some(view! {
        <form class="composer" on:submit=move |event| { event.prevent_default(); send(); }>
            <textarea data-console="composer" rows="3" aria-label="Reply" maxlength="16000"
                placeholder=placeholder
                prop:value=move || session.draft.get()
                on:input=move |event| session.draft.set(event_target_value(&event))
                on:keydown=move |event| {
                    if event.key() == "Enter" && !event.shift_key() && !event.is_composing() {
                        event.prevent_default();
                        send();
                    }
                }
                disabled=move || !active()
            ></textarea>
            <button class="primary" type="submit" data-console="send" disabled=move || !active()>"Send"</button>
        </form>
    })
}
