//! The chat panel, a labelled dialog: a header with the agent's initials and name, the conversation's
//! state in words, Minimise and End (which asks first); the transcript, which opens at the newest
//! message and follows new ones unless the visitor has scrolled up, when a "New message" button appears
//! instead; times grouped by minute and author; a mark on the visitor's last message once the server
//! stored it; the composer. The draft and where the visitor scrolled up to survive pages. Folded, the panel is one button with the count
//! of unread messages. Every message is text: addresses become links, nothing is ever HTML.

use leptos::prelude::*;
use protocol::{Author, ConversationState, SystemNote};

use crate::connection::{DRAFT, Handle, Offline, SCROLL};
use crate::conversation::{
    Delivery, Heading, Line, Segment, Status, Title, initials, segments, starts_group,
};
use crate::look;
use crate::offline::OfflineMessage;
use crate::text::{self, Arg, say, say_with};

/// How close to the bottom (in pixels) still counts as reading the newest message.
const AT_BOTTOM_PX: i32 = 48;

#[component]
pub fn Panel(controller: Handle) -> impl IntoView {
    let ui = controller.with_value(|controller| controller.ui);
    view! {
        <Show when=move || ui.minimised.get() fallback=move || view! { <Open controller=controller /> }>
            <Folded controller=controller />
        </Show>
    }
}

/// The folded panel: one button that opens it again, with the unread count.
#[component]
fn Folded(controller: Handle) -> impl IntoView {
    let ui = controller.with_value(|controller| controller.ui);
    let button: NodeRef<leptos::html::Button> = NodeRef::new();
    // Focus comes back here when the visitor folds the panel from inside it.
    Effect::new(move |_| {
        if let Some(button) = button.get()
            && controller.with_value(|controller| controller.focus_allowed())
        {
            let _ = button.focus();
        }
    });
    let label = move || say_with("open-chat", &[("count", Arg::Number(ui.unread.get()))]);
    view! {
        <button class="folded" data-beckon="unfold" node_ref=button aria-label=label
            on:click=move |_| controller.with_value(|controller| controller.show(false))>
            <svg aria-hidden="true" viewBox="0 0 24 24" width="28" height="28">
                <path fill="currentColor" d="M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z" />
            </svg>
            <Show when=move || { ui.unread.get() > 0 }>
                <span class="unread" data-beckon="unread" aria-hidden="true">{move || ui.unread.get().min(99)}</span>
            </Show>
        </button>
    }
}

#[component]
fn Open(controller: Handle) -> impl IntoView {
    let ui = controller.with_value(|controller| controller.ui);
    let draft = RwSignal::new(crate::browser::session_get(DRAFT).unwrap_or_default());
    let composer: NodeRef<leptos::html::Textarea> = NodeRef::new();
    let list: NodeRef<leptos::html::Div> = NodeRef::new();
    let confirming = RwSignal::new(false);
    let confirm_end: NodeRef<leptos::html::Button> = NodeRef::new();
    // Once the chat ends, the focus goes where the visitor goes next: a new chat, or Close.
    let dismiss: NodeRef<leptos::html::Button> = NodeRef::new();
    let new_chat: NodeRef<leptos::html::Button> = NodeRef::new();
    // Reading the newest message: new ones scroll into view. Scrolled up: a button says one arrived.
    let at_bottom = RwSignal::new(true);
    let new_below = RwSignal::new(false);
    // Where the panel last scrolled itself to. A scroll event is the visitor's only when it lands above
    // that: the events of the panel's own scrolls can arrive after the next message made it taller.
    let followed_to = StoredValue::new(0);
    // On a new page of the site, the transcript opens where the visitor had scrolled up to: `top:seq`,
    // restored once the resumed messages reach the newest they had then (they come oldest first, so
    // the distance from the top holds). Only messages after it count as new.
    let restore = StoredValue::new(crate::browser::session_get(SCROLL).and_then(|saved| {
        let (top, seq) = saved.split_once(':')?;
        Some((top.parse::<i32>().ok()?, seq.parse::<i64>().ok()?))
    }));
    let newest_seq = move || {
        ui.transcript.with_untracked(|transcript| {
            transcript
                .lines
                .iter()
                .map(|line| line.seq)
                .max()
                .unwrap_or(0)
        })
    };
    let ended = move || {
        matches!(
            ui.state.get(),
            Some(ConversationState::WrapUp | ConversationState::Closed)
        )
    };
    let send = move || {
        let body = draft.get_untracked();
        if body.trim().is_empty() {
            return;
        }
        controller.with_value(|controller| controller.send_message(body));
        draft.set(String::new());
        crate::browser::session_remove(DRAFT);
        at_bottom.set(true);
    };
    let scroll_to_bottom = move || {
        if let Some(list) = list.get_untracked() {
            list.set_scroll_top(list.scroll_height());
            followed_to.set_value(list.scroll_top());
        }
        new_below.set(false);
    };
    // After each change to the transcript, once it is drawn.
    Effect::new(move |previous: Option<usize>| {
        let count = ui.transcript.with(|transcript| transcript.lines.len());
        let grew = previous.is_some_and(|previous| count > previous);
        request_animation_frame(move || {
            if let Some((top, seq)) = restore.try_get_value().flatten() {
                // Until the resumed messages reach where the visitor was, neither follow nor mark.
                if newest_seq() >= seq
                    && let Some(list) = list.try_get_untracked().flatten()
                {
                    restore.set_value(None);
                    let _ = at_bottom.try_set(false);
                    list.set_scroll_top(top);
                }
                return;
            }
            if at_bottom.try_get_untracked().unwrap_or(false) {
                scroll_to_bottom();
            } else if grew {
                let _ = new_below.try_set(true);
            }
        });
        count
    });
    let on_scroll = move |_| {
        if let Some(list) = list.get_untracked() {
            let top = list.scroll_top();
            let bottom = list.scroll_height() - top - list.client_height() <= AT_BOTTOM_PX
                || (at_bottom.get_untracked() && top >= followed_to.get_value());
            at_bottom.set(bottom);
            if bottom {
                new_below.set(false);
                crate::browser::session_remove(SCROLL);
            } else {
                crate::browser::session_set(SCROLL, &format!("{top}:{}", newest_seq()));
            }
        }
    };
    // The composer takes the focus when the visitor opened the panel themselves, never on a page's load.
    Effect::new(move |_| {
        if let Some(composer) = composer.get()
            && controller.with_value(|controller| controller.focus_allowed())
        {
            let _ = composer.focus();
        }
    });
    Effect::new(move |_| {
        if confirming.get()
            && let Some(button) = confirm_end.get()
        {
            let _ = button.focus();
        }
    });
    Effect::new(move |_| {
        let target = new_chat.get().or_else(|| dismiss.get());
        if let Some(button) = target
            && ui.offline.get() == Offline::NotInvited
            && controller.with_value(|controller| controller.focus_allowed())
        {
            let _ = button.focus();
        }
    });
    let rows = Memo::new(move |_| {
        ui.transcript.with(|transcript| {
            let last_own = transcript
                .lines
                .iter()
                .rposition(|line| line.author == Author::Visitor);
            transcript
                .lines
                .iter()
                .enumerate()
                .map(|(index, line)| {
                    let previous = index
                        .checked_sub(1)
                        .and_then(|before| transcript.lines.get(before));
                    Row {
                        line: line.clone(),
                        first_of_group: starts_group(previous, line),
                        mark: (Some(index) == last_own).then_some(line.delivery),
                    }
                })
                .collect::<Vec<_>>()
        })
    });
    let fold = move || controller.with_value(|controller| controller.show(true));
    // With a chat button, an ended chat offers the next one right here.
    let can_start_new = look::has_launcher();
    view! {
        <section class="chat" role="dialog" aria-labelledby="chat-title" aria-describedby="chat-detail" data-beckon="chat"
            on:keydown=move |event| if event.key() == "Escape" && !confirming.get_untracked() { fold(); }>
            <header>
                <span class="avatar" aria-hidden="true" data-beckon="avatar">
                    // The agent's initials; until one is in the chat, the site's.
                    {move || ui.heading.with(|heading| initials(&heading.agent.clone().unwrap_or_else(look::title)))}
                </span>
                <div class="who">
                    <h1 id="chat-title" data-beckon="title">{move || ui.heading.with(title_words)}</h1>
                    <p id="chat-detail" class="status" data-beckon="status" role="status">
                        {move || ui.heading.with(status_words)}
                    </p>
                </div>
                <button class="icon" data-beckon="minimise" aria-label=say("minimise.aria-label") title=say("minimise") on:click=move |_| fold()>
                    <svg aria-hidden="true" viewBox="0 0 24 24" width="18" height="18"><path fill="currentColor" d="M5 11h14v2H5z" /></svg>
                </button>
                <Show when=ended fallback=move || view! {
                    <button class="secondary" data-beckon="end" on:click=move |_| confirming.set(true)>{say("end-chat")}</button>
                }>
                    <button class="secondary" data-beckon="dismiss" node_ref=dismiss on:click=move |_| controller.with_value(|controller| controller.leave_chat())>
                        {say("close")}
                    </button>
                </Show>
            </header>
            <p class="notice" data-beckon="notice" role="alert">{move || ui.notice.get()}</p>
            <div class="transcript-area">
            <Show when=move || confirming.get() && !ended()>
                    <div class="confirm" role="alertdialog" aria-labelledby="end-question" data-beckon="confirm-end"
                        on:keydown=move |event| if event.key() == "Escape" { event.stop_propagation(); confirming.set(false); }>
                        <p id="end-question">{say("end-question")}</p>
                        <div class="actions">
                            <button class="secondary" data-beckon="keep-chatting" on:click=move |_| confirming.set(false)>{say("keep-chatting")}</button>
                            <button class="primary" data-beckon="confirm-end-yes" node_ref=confirm_end on:click=move |_| {
                                confirming.set(false);
                                controller.with_value(|controller| controller.end_chat());
                            }>{say("end-chat")}</button>
                        </div>
                    </div>
                </Show>
                <div class="transcript" role="log" aria-live="polite" aria-label=say("messages") tabindex="0" node_ref=list on:scroll=on_scroll>
                    <ol class="lines">
                        <For each=move || rows.get()
                            key=|row| (row.line.client_message_id.clone(), row.line.seq, row.line.delivery, row.first_of_group, row.mark)
                            children=move |row| view! { <Message row=row /> } />
                    </ol>
                </div>
                <Show when=move || ui.typing.with(Option::is_some)>
                    <p class="typing" data-beckon="typing">
                        <span class="dots" aria-hidden="true"><i></i><i></i><i></i></span>
                        {move || ui.typing.get().map(|name| say_with("typing", &[("name", Arg::Text(&name))])).unwrap_or_default()}
                    </p>
                </Show>
                <Show when=move || new_below.get()>
                    <button class="new-below" data-beckon="new-message" on:click=move |_| { at_bottom.set(true); scroll_to_bottom(); }>
                        {say("new-message")}
                    </button>
                </Show>
            </div>
            <Show when=ended>
                <div class="ended" data-beckon="ended">
                    {if can_start_new {
                        view! {
                            <p>{say("thanks")}</p>
                            <Show when=move || ui.offline.get() == Offline::NotInvited>
                                <button class="primary" data-beckon="new-chat" node_ref=new_chat
                                    on:click=move |_| controller.with_value(|controller| controller.start_new_chat())>
                                    {say("start-new-chat")}
                                </button>
                            </Show>
                        }.into_any()
                    } else {
                        view! { <p>{say("ended-hint")}</p> }.into_any()
                    }}
                </div>
            </Show>
            <OfflineMessage controller=controller />
            <form class="composer" class:hidden=move || ui.offline.get() != Offline::NotInvited || ended()
                on:submit=move |event| { event.prevent_default(); send(); }>
                <textarea
                    data-beckon="composer"
                    dir="auto"
                    node_ref=composer
                    rows="2"
                    placeholder=say("composer")
                    aria-label=say("composer.aria-label")
                    maxlength="16000"
                    prop:value=move || draft.get()
                    on:input=move |event| {
                        let text = event_target_value(&event);
                        crate::browser::session_set(DRAFT, &text);
                        let empty = text.trim().is_empty();
                        draft.set(text);
                        controller.with_value(|controller| controller.composing(empty));
                    }
                    on:keydown=move |event| if event.key() == "Enter" && !event.shift_key() { event.prevent_default(); send(); }
                    disabled=ended
                ></textarea>
                <button class="primary" type="submit" data-beckon="send" disabled=ended>{say("send")}</button>
            </form>
        </section>
    }
}

/// A transcript line with what the panel shows around it.
#[derive(Debug, Clone, PartialEq)]
struct Row {
    line: Line,
    /// It starts a group: its author and time show above it.
    first_of_group: bool,
    /// The visitor's last message: how its delivery stands.
    mark: Option<Delivery>,
}

#[component]
fn Message(row: Row) -> impl IntoView {
    let Row {
        line,
        first_of_group,
        mark,
    } = row;
    let author = match line.author {
        Author::Visitor => "visitor",
        Author::Agent => "agent",
        Author::System => "system",
    };
    let sending = line.delivery == Delivery::Sending;
    let (time, full) = clock(line.sent_at_ms);
    let who = match line.author {
        Author::Visitor => say("you"),
        Author::Agent => line.author_name.clone(),
        Author::System => String::new(),
    };
    // Beckon's own notes in the visitor's language; anything else as written.
    let said = SystemNote::of(line.author, &line.client_message_id).map(|note| match note {
        SystemNote::Monitoring => say("note-monitoring"),
        SystemNote::SupervisorJoined => say("note-joined"),
        SystemNote::SupervisorLeft => say("note-left"),
        SystemNote::ForceClosed => say("note-force-closed"),
    });
    let body = segments(said.as_deref().unwrap_or(&line.body))
        .into_iter()
        .map(|segment| match segment {
            Segment::Text(text) => view! { <span>{text}</span> }.into_any(),
            Segment::Link(url) => {
                let shown = url.clone();
                view! { <a href=url target="_blank" rel="noopener noreferrer">{shown}</a> }
                    .into_any()
            }
        })
        .collect::<Vec<_>>();
    view! {
        <li class=format!("line {author}") class:grouped=!first_of_group>
            <Show when=move || first_of_group && line.author != Author::System>
                <p class="meta"><span class="who">{who.clone()}</span>" "<time datetime=full.clone()>{time.clone()}</time></p>
            </Show>
            <p class="message" dir="auto" class:pending=sending data-beckon="message" data-author=author>{body}</p>
            {mark.map(|delivery| view! {
                <p class="delivery" data-beckon="delivery">{match delivery {
                    Delivery::Sending => say("sending"),
                    Delivery::Stored => say("delivered"),
                }}</p>
            })}
        </li>
    }
}

/// The time of day a message was sent, in the visitor's locale, and in full for `datetime`.
fn clock(sent_at_ms: i64) -> (String, String) {
    let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(sent_at_ms as f64));
    let options = js_sys::Object::new();
    let _ = js_sys::Reflect::set(&options, &"hour".into(), &"2-digit".into());
    let _ = js_sys::Reflect::set(&options, &"minute".into(), &"2-digit".into());
    let time = date
        .to_locale_time_string_with_options(&text::language(), &options)
        .as_string()
        .unwrap_or_default();
    let full = date.to_iso_string().as_string().unwrap_or_default();
    (time, full)
}

/// The header's title in the visitor's language.
fn title_words(heading: &Heading) -> String {
    match &heading.title {
        Title::Site => look::title(),
        Title::Agent(name) => name.clone(),
        Title::Ended => say("ended-title"),
    }
}

/// The line under the title in the visitor's language.
fn status_words(heading: &Heading) -> String {
    match &heading.status {
        Status::Connecting => say("status-connecting"),
        Status::Waiting(None) => say("status-waiting"),
        Status::Waiting(Some(position)) => say_with(
            "status-waiting-position",
            &[("position", Arg::Number(*position))],
        ),
        Status::AgentHere(None) => say("status-agent-unnamed"),
        Status::AgentHere(Some(name)) => say_with("status-agent", &[("name", Arg::Text(name))]),
        Status::Offline => say("status-offline"),
        Status::Ended => say("status-ended"),
    }
}
