//! The transcript: it opens at the newest message and follows new ones, unless the agent has scrolled
//! up; then a marker counts what arrived below and brings the agent down. Every message shows its time,
//! and visitor text is rendered as text.

use leptos::prelude::*;
use protocol::{Author, ChatMessage};

use crate::console::SessionSignals;

/// How near the bottom, in pixels, still counts as reading the newest message.
const NEAR_BOTTOM_PX: i32 = 32;

#[component]
pub fn Transcript(session: SessionSignals) -> impl IntoView {
    let list: NodeRef<leptos::html::Ol> = NodeRef::new();
    let following = RwSignal::new(true);
    let unseen = RwSignal::new(0usize);
    let count = Memo::new(move |_| session.view.with(|view| view.messages.len()));
    // Also runs a frame later, when the session may have closed meanwhile: every read is a `try_`.
    let to_bottom = move || {
        if let Some(list) = list.try_get_untracked().flatten() {
            list.set_scroll_top(list.scroll_height());
        }
        unseen.try_set(0);
        following.try_set(true);
    };
    // On opening, and whenever a message arrives: follow it, or count it for the marker.
    Effect::new(move |previous: Option<usize>| {
        let now = count.get();
        let arrived = now.saturating_sub(previous.unwrap_or(now));
        if previous.is_none() || following.get_untracked() {
            request_animation_frame(to_bottom);
        } else if arrived > 0 {
            unseen.update(|unseen| *unseen += arrived);
        }
        now
    });
    let on_scroll = move |_| {
        let Some(list) = list.get_untracked() else {
            return;
        };
        let near =
            list.scroll_height() - list.scroll_top() - list.client_height() <= NEAR_BOTTOM_PX;
        following.set(near);
        if near {
            unseen.set(0);
        }
    };
    view! {
        <div class="transcript-frame">
            <ol class="transcript" node_ref=list on:scroll=on_scroll aria-label="Messages" tabindex="0">
                <Show when=move || count.get() == 0>
                    <li class="empty">"No messages yet."</li>
                </Show>
                <For
                    each=move || session.view.with(|view| view.messages.clone())
                    key=|message| message.seq
                    children=move |message| view! { <Message message=message /> }
                />
                <For
                    each=move || session.pending.get()
                    key=|pending| pending.client_message_id.clone()
                    children=move |pending| view! {
                        <li class="message agent pending" class:note=pending.internal>
                            <span class="body">{pending.body}</span>
                            <span class="time">"Sending…"</span>
                        </li>
                    }
                />
            </ol>
            <Show when=move || { unseen.get() > 0 }>
                <button class="new-messages" data-console="new-messages" on:click=move |_| to_bottom()>
                    {move || match unseen.get() { 1 => "1 new message ↓".to_owned(), n => format!("{n} new messages ↓") }}
                </button>
            </Show>
        </div>
    }
}

#[component]
fn Message(message: ChatMessage) -> impl IntoView {
    let author = message.author.as_str();
    let name = match message.author {
        Author::Visitor => "Visitor".to_owned(),
        Author::Agent => message.author_name.clone(),
        Author::System => "Beckon".to_owned(),
    };
    let (time, full) = clock(message.sent_at_ms);
    // A note is for the team: marked in words, not only by its colour.
    let name = if message.internal {
        format!("{name} · Internal note")
    } else {
        name
    };
    view! {
        <li class=format!("message {author}") class:note=message.internal>
            <span class="author">{name}</span>
            <span class="body" data-console="message" data-author=author
                data-internal=message.internal.then_some("true")>{message.body}</span>
            <time class="time" datetime=full.clone() title=full>{time}</time>
        </li>
    }
}

/// The time of day a message was sent, in the agent's locale, and the full date for its tooltip.
pub(super) fn clock(sent_at_ms: i64) -> (String, String) {
    let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(sent_at_ms as f64));
    let options = js_sys::Object::new();
    let _ = js_sys::Reflect::set(&options, &"hour".into(), &"2-digit".into());
    let _ = js_sys::Reflect::set(&options, &"minute".into(), &"2-digit".into());
    let time = date
        .to_locale_time_string_with_options("default", &options)
        .as_string()
        .unwrap_or_default();
    let full = date.to_iso_string().as_string().unwrap_or_default();
    (time, full)
}
