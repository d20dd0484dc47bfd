//! Home's work-item streams, live: My work items (with Reopen for a Waiting one), Open work items to
//! pick, and Closed work items. Shift+click opens the session without leaving Home.

use std::time::Duration;

use leptos::prelude::*;
use protocol::{Author, ConversationState, ConversationView};

use crate::console::use_console;

fn now_ms() -> i64 {
    js_sys::Date::now() as i64
}

/// "3 min", "2 h 5 min": how long ago `since_ms` was.
pub fn waited(since_ms: i64, now_ms: i64) -> String {
    let minutes = (now_ms - since_ms).max(0) / 60_000;
    match minutes {
        0 => "under a minute".to_owned(),
        1..=59 => format!("{minutes} min"),
        _ => format!("{} h {} min", minutes / 60, minutes % 60),
    }
}

#[component]
pub fn WorkItems() -> impl IntoView {
    let console = use_console()?;
    let now = RwSignal::new(now_ms());
    if let Ok(ticker) = set_interval_with_handle(move || now.set(now_ms()), Duration::from_secs(15))
    {
        on_cleanup(move || ticker.clear());
    }
    let mine = move || console.work.with(|work| work.mine.clone());
    let open = move || console.work.with(|work| work.open.clone());
    let closed = move || console.work.with(|work| work.closed.clone());
    Some(view! {
        <Stream title="My work items" hook="stream-mine" items=Signal::derive(mine) now=now
            empty="Nothing assigned to you right now." />
        <Stream title="Open work items" hook="stream-open" items=Signal::derive(open) now=now
            empty="No conversation is waiting in your queues." />
        <Stream title="Closed work items" hook="stream-closed" items=Signal::derive(closed) now=now
            empty="No closed conversations yet." />
    })
}

#[component]
fn Stream(
    title: &'static str,
    hook: &'static str,
    items: Signal<Vec<ConversationView>>,
    now: RwSignal<i64>,
    empty: &'static str,
) -> impl IntoView {
    let heading = format!("{hook}-title");
    let labelled_by = heading.clone();
    view! {
        <section class="stream" data-console=hook aria-labelledby=labelled_by>
            <h3 id=heading>{title}" "<span class="count">{move || items.with(Vec::len)}</span></h3>
            <Show when=move || items.with(Vec::is_empty) fallback=move || view! {
                <ul>
                    <For
                        each=move || items.get()
                        key=|item| (item.conversation_id.clone(), item.state.as_str(), item.updated_at_ms)
                        children=move |item| view! { <Item item=item now=now /> }
                    />
                </ul>
            }>
                <p class="muted">{empty}</p>
            </Show>
        </section>
    }
}

#[component]
fn Item(item: ConversationView, now: RwSignal<i64>) -> impl IntoView {
    let console = use_console()?;
    let id = item.conversation_id.clone();
    let since = if item.state == ConversationState::Open {
        item.created_at_ms
    } else {
        item.updated_at_ms
    };
    let waiting_label = if item.state == ConversationState::Open {
        "waiting"
    } else {
        "for"
    };
    let (label, verb) = match item.state {
        ConversationState::Open => ("Pick", "pick"),
        ConversationState::Waiting => ("Reopen", "reopen"),
        ConversationState::Active | ConversationState::WrapUp => ("Open", ""),
        ConversationState::Closed => ("Open", "read"),
    };
    let button = {
        let id = id.clone();
        let title = item.title.clone();
        view! {
            <button class="secondary" data-console=format!("item-{}", label.to_lowercase())
                aria-label=format!("{label} {title}")
                title="Shift+click opens it without leaving Home"
                on:click=move |event: leptos::ev::MouseEvent| {
                    let background = event.shift_key();
                    match verb {
                        "" if !background => console.focus(Some(id.clone())),
                        "" => {}
                        "read" => console.open_to_read(id.clone(), background),
                        _ => console.act(id.clone(), verb, background),
                    }
                }>{label}</button>
        }
    };
    let preview = item.last_message.as_ref().map(|message| {
        let who = match message.author {
            Author::Visitor => "Visitor: ".to_owned(),
            Author::Agent if !message.author_name.is_empty() => format!("{}: ", message.author_name),
            Author::Agent => "Agent: ".to_owned(),
            Author::System => String::new(),
        };
        let body = crate::state::one_line(&message.body);
        view! { <span class="preview" data-console="item-preview"><span class="who">{who}</span>{body}</span> }
    });
    Some(view! {
        <li class="work-item" data-console="work-item" data-id=id.clone()>
            <div class="what">
                <strong>{item.title.clone()}</strong>
                <span class="muted">{format!("{} · {}", item.queue_id, item.state.label())}</span>
                {preview}
            </div>
            <span class="when muted">{move || format!("{waiting_label} {}", waited(since, now.get()))}</span>
            {button}
        </li>
    })
}

#[cfg(test)]
mod tests {
    use super::waited;

    #[test]
    fn waiting_times_read_as_people_say_them() {
        assert_eq!(waited(0, 30_000), "under a minute");
        assert_eq!(waited(0, 3 * 60_000), "3 min");
        assert_eq!(waited(0, 125 * 60_000), "2 h 5 min");
        assert_eq!(waited(10_000, 0), "under a minute");
    }
}
