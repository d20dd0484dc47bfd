//! The chat panel: the transcript, the composer, and End. Every message is rendered as text.

use leptos::prelude::*;
use protocol::{Author, ConversationState};

use crate::chat_app::{Handle, Offline};
use crate::offline::OfflineMessage;

#[component]
pub fn Chat(controller: Handle) -> impl IntoView {
    let ui = controller.with_value(|controller| controller.ui);
    let draft = RwSignal::new(String::new());
    let send = move || {
        let body = draft.get_untracked();
        if body.trim().is_empty() {
            return;
        }
        controller.with_value(|controller| controller.send_message(body));
        draft.set(String::new());
    };
    let ended = move || {
        matches!(
            ui.state.get(),
            Some(ConversationState::WrapUp | ConversationState::Closed)
        )
    };
    view! {
        <section class="chat" data-beckon="chat" aria-label="Chat">
            <header>
                <p class="status" data-beckon="status" role="status">{move || ui.status.get()}</p>
                <Show
                    when=ended
                    fallback=move || view! {
                        <button class="secondary" data-beckon="end" on:click=move |_| controller.with_value(|controller| controller.end_chat())>
                            "End chat"
                        </button>
                    }
                >
                    <button class="secondary" data-beckon="dismiss" on:click=move |_| controller.with_value(|controller| controller.leave_chat())>
                        "Close"
                    </button>
                </Show>
            </header>
            <ol class="transcript" aria-live="polite">
                <For
                    each=move || ui.lines.get()
                    key=|line| (line.client_message_id.clone(), line.seq, line.pending)
                    children=move |line| {
                        let author = match line.author {
                            Author::Visitor => "visitor",
                            Author::Agent => "agent",
                            Author::System => "system",
                        };
                        let class = if line.pending { format!("message {author} pending") } else { format!("message {author}") };
                        view! {
                            <li class=class>
                                <span class="author">{if line.author == Author::Agent { line.author_name.clone() } else { String::new() }}</span>
                                <span class="body" data-beckon="message" data-author=author>{line.body.clone()}</span>
                            </li>
                        }
                    }
                />
            </ol>
            <OfflineMessage controller=controller />
            <form class="composer" class:hidden=move || ui.offline.get() != Offline::NotInvited on:submit=move |event| { event.prevent_default(); send(); }>
                <textarea
                    data-beckon="composer"
                    rows="2"
                    placeholder="Type your message"
                    aria-label="Message"
                    maxlength="16000"
                    prop:value=move || draft.get()
                    on:input=move |event| draft.set(event_target_value(&event))
                    disabled=ended
                ></textarea>
                <button class="primary" type="button" data-beckon="send" disabled=ended on:click=move |_| send()>
                    "Send"
                </button>
            </form>
        </section>
    }
}
