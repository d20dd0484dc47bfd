//! The Sessions pane: Home pinned first, then one entry per open session with its two-letter icon, a
//! colour of its own, the unread count, and an X that asks before it closes the session. Arrow keys
//! move between entries; Alt+1 to Alt+9 jump to a session, Alt+0 to Home.

use leptos::ev;
use leptos::prelude::*;
use protocol::{AgentToServer, Channel, ConversationState, ConversationView};
use wasm_bindgen::JsCast;

use crate::confirm::Confirm;
use crate::console::{Page, SessionSignals, use_console};
use crate::state::{Access, unread_badge};

#[component]
pub fn SessionList(role: protocol::Role) -> impl IntoView {
    let console = use_console()?;
    let jump = window_event_listener(ev::keydown, move |event| {
        if !event.alt_key() || event.ctrl_key() || event.meta_key() {
            return;
        }
        let Some(digit) = event.key().chars().next().and_then(|key| key.to_digit(10)) else {
            return;
        };
        event.prevent_default();
        if digit == 0 {
            console.show_page(Page::Home);
            return;
        }
        let target = console.sessions.with_untracked(|sessions| {
            sessions
                .get(digit as usize - 1)
                .map(|session| session.id.get_value())
        });
        if let Some(id) = target {
            console.focus(Some(id));
        }
    });
    on_cleanup(move || jump.remove());
    let showing = move |page: Page| console.focused.get().is_none() && console.page.get() == page;
    Some(view! {
        <nav class="sessions" aria-label="Sessions" on:keydown=move_between_entries>
            <button class="pane-toggle" data-console="pane-toggle"
                aria-expanded=move || (!console.collapsed.get()).to_string()
                aria-label=move || if console.collapsed.get() { "Expand the Sessions pane" } else { "Collapse the Sessions pane" }
                on:click=move |_| console.toggle_pane()>
                <span aria-hidden="true">"☰"</span>
            </button>
            <button class="session home" class:focused=move || showing(Page::Home)
                data-console="home" aria-keyshortcuts="Alt+0"
                aria-current=move || showing(Page::Home).then_some("page")
                on:click=move |_| console.show_page(Page::Home)>
                <span class="icon" aria-hidden="true">"⌂"</span><span class="title">"Home"</span>
            </button>
            // Supervisors and admins: the Ongoing conversations dashboard, pinned under Home.
            <Show when=move || console.supervision.get().is_some()>
                <button class="session home" class:focused=move || showing(Page::Ongoing)
                    data-console="open-ongoing"
                    aria-current=move || showing(Page::Ongoing).then_some("page")
                    on:click=move |_| console.show_page(Page::Ongoing)>
                    <span class="icon" aria-hidden="true">"◉"</span><span class="title">"Ongoing"</span>
                    <span class="sr-only">{move || format!(", {} conversations", console.ongoing.with(Vec::len))}</span>
                </button>
            </Show>
            // Admins: the audit log of supervisor actions.
            <Show when=move || role == protocol::Role::Admin>
                <button class="session home" class:focused=move || showing(Page::Audit)
                    data-console="open-audit"
                    aria-current=move || showing(Page::Audit).then_some("page")
                    on:click=move |_| console.show_page(Page::Audit)>
                    <span class="icon" aria-hidden="true">"☷"</span><span class="title">"Audit log"</span>
                </button>
            </Show>
            <For
                each={move || console.sessions.get().into_iter().enumerate().collect::<Vec<_>>()}
                key=|(index, session)| (*index, session.id.get_value())
                children=move |(index, session)| view! { <SessionEntry session=session index=index /> }
            />
            // Contacts' and cases' record sessions, opened from Home.
            <For
                each=move || console.records.get()
                key=|record| (record.page.clone(), record.name.clone(), record.colour)
                children=move |record| view! { <RecordEntry record=record /> }
            />
        </nav>
    })
}

/// Up and Down move the keyboard focus between the pane's entries.
fn move_between_entries(event: ev::KeyboardEvent) {
    let step: i32 = match event.key().as_str() {
        "ArrowDown" => 1,
        "ArrowUp" => -1,
        _ => return,
    };
    let Some(document) = web_sys::window().and_then(|window| window.document()) else {
        return;
    };
    let Ok(entries) =
        document.query_selector_all("nav.sessions .session.home, nav.sessions .session .open")
    else {
        return;
    };
    let entries: Vec<web_sys::HtmlElement> = (0..entries.length())
        .filter_map(|index| entries.item(index))
        .filter_map(|node| node.dyn_into::<web_sys::HtmlElement>().ok())
        .collect();
    let active = document.active_element();
    let current = entries
        .iter()
        .position(|entry| active.as_ref() == Some(entry.as_ref()));
    let next = match current {
        Some(index) => (index as i32 + step).clamp(0, entries.len() as i32 - 1) as usize,
        None => 0,
    };
    if let Some(entry) = entries.get(next) {
        event.prevent_default();
        let _ = entry.focus();
    }
}

/// The seed's session icon: the first two letters of the title ("Visitor 12" is "VI"). The colour of
/// the session (`hue`), its state and its last message tell sessions with the same letters apart.
pub fn initials(title: &str) -> String {
    title
        .chars()
        .filter(|c| !c.is_whitespace())
        .take(2)
        .collect::<String>()
        .to_uppercase()
}

/// The entry's second line: the state, then the last message.
fn summary(view: &ConversationView) -> String {
    let last = view
        .messages
        .last()
        .map(|message| crate::state::one_line(&message.body))
        .unwrap_or_default();
    if last.is_empty() {
        view.state.label().to_owned()
    } else {
        format!("{} · {last}", view.state.label())
    }
}

/// What closing the session does to the conversation, said before it is done (spec §4).
pub fn closing_outcome(view: &ConversationView) -> String {
    match (view.state, view.channel) {
        (ConversationState::Active, Channel::LiveChat) => format!(
            "{} goes back to its queue ({}), for another agent to take.",
            view.title, view.queue_id
        ),
        (ConversationState::Active, Channel::Persistent) => format!(
            "{} waits for the customer (Waiting). It comes back when they reply.",
            view.title
        ),
        _ => format!("{} is closed.", view.title),
    }
}

#[component]
fn SessionEntry(session: SessionSignals, index: usize) -> impl IntoView {
    let console = use_console()?;
    let id = session.id.get_value();
    let title = move || session.view.with(|view| view.title.clone());
    let unread = move || session.unread.get();
    // The sentiment alert: an unfocused session whose customer feels at or below the configured
    // level (the seed product's exclamation mark and words).
    let alert_id = id.clone();
    let alert = move || {
        console.focused.get().as_deref() != Some(alert_id.as_str())
            && session.view.with(|view| view.sentiment) <= console.sentiment_alert.get()
    };
    let confirming = RwSignal::new(false);
    let focused_id = id.clone();
    let focus_id = id.clone();
    let close_id = id.clone();
    let shortcut = (index < 9).then(|| format!("Alt+{}", index + 1));
    // A class rather than a style attribute: the console's CSP allows no inline styles.
    let colour = format!("session hue-{}", session.colour);
    Some(view! {
        <div class=colour class:focused=move || console.focused.get().as_deref() == Some(focused_id.as_str())
            data-console="session" data-id=id.clone()>
            <button class="open" data-console="open-session" aria-keyshortcuts=shortcut
                on:click=move |_| console.focus(Some(focus_id.clone()))
                title={
                    let alert = alert.clone();
                    move || {
                        let count = unread();
                        if alert() {
                            format!("{}. Your conversation needs urgent attention.", title())
                        } else if count > 0 {
                            format!("{}. {} new updates in your conversation.", title(), count)
                        } else {
                            title()
                        }
                    }
                }>
                <span class="icon" aria-hidden="true">{move || initials(&title())}
                    <Show when=move || { unread() > 0 }>
                        <span class="badge" data-console="unread">{move || unread_badge(unread())}</span>
                    </Show>
                    <Show when=alert.clone()>
                        <span class="alert" data-console="sentiment-alert">"!"</span>
                    </Show>
                </span>
                <span class="text">
                    <span class="title">{title}
                        <span class="sr-only">{move || match unread() { 0 => String::new(), count => format!(", {count} unread") }}</span>
                        <Show when=alert.clone()>
                            <span class="sr-only">", needs urgent attention"</span>
                        </Show>
                    </span>
                    <span class="summary" data-console="session-summary">{move || session.view.with(summary)}</span>
                </span>
            </button>
            <button class="close" data-console="close-session"
                aria-label=move || format!("Close the session of {}", title())
                on:click=move |_| {
                    // Only the owner's X changes the conversation, so only it asks first; any other
                    // session closes at once (leaving, for a supervisor or a consultant).
                    match session.access.get_untracked() {
                        Access::Own => confirming.set(true),
                        access => console.leave(session.id.get_value(), access),
                    }
                }>"×"</button>
            <Show when=move || confirming.get()>
                {
                    let close_id = close_id.clone();
                    view! {
                        <Confirm open=confirming question="Close this session?"
                            explanation=Signal::derive(move || session.view.with(closing_outcome))
                            action="Close session" hook="confirm-close" confirm_hook="confirm-close-session"
                            on_confirm=move || console.send(&AgentToServer::Close { conversation_id: close_id.clone() }) />
                    }
                }
            </Show>
        </div>
    })
}

/// A contact's or case's record session in the pane: its initials in its colour, its name, what it is,
/// and an X that closes it at once (nothing is lost: the record is saved as it is edited).
#[component]
fn RecordEntry(record: crate::console::RecordSession) -> impl IntoView {
    let console = use_console()?;
    let (kind, id) = match &record.page {
        Page::Contact(id) => ("Contact", id.clone()),
        Page::Case(id) => ("Case", id.clone()),
        _ => return None,
    };
    let shown = record.page.clone();
    let focused = move || console.focused.get().is_none() && console.page.get() == shown;
    let (page, closed) = (record.page.clone(), record.page.clone());
    let name = record.name.clone();
    Some(view! {
        <div class=format!("session hue-{}", record.colour) class:focused=focused.clone()
            data-console="record-session" data-kind=kind.to_lowercase() data-id=id>
            <button class="open" data-console="open-record" aria-current={
                    let focused = focused.clone();
                    move || focused().then_some("page")
                }
                on:click=move |_| console.show_page(page.clone())>
                <span class="icon" aria-hidden="true">{initials(&record.name)}</span>
                <span class="text">
                    <span class="title">{record.name.clone()}</span>
                    <span class="summary">{kind}</span>
                </span>
            </button>
            <button class="close" data-console="close-record"
                aria-label=format!("Close the record of {name}")
                on:click=move |_| console.close_record(&closed)>"×"</button>
        </div>
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn initials_take_the_first_two_letters_of_the_title() {
        assert_eq!(initials("Visitor 12"), "VI");
        assert_eq!(initials("ann lee"), "AN");
        assert_eq!(initials("Zoë"), "ZO");
        assert_eq!(initials(""), "");
    }
}
