//! The focused session: its header with the state and the actions it allows, the Communication panel
//! (transcript and composer) and, beside it, the application area: Knowledge search (open when the
//! session starts), the Customer record and Additional details.

mod composer;
mod customer;
mod details;
mod knowledge;
mod transcript;

pub use customer::{
    ContactForm, ContactSearch, CustomerDraft, More, fields_of, or_none, set_field,
};

use leptos::prelude::*;
use protocol::{AgentToServer, ConversationState};

use crate::console::{Tab, use_console};
use crate::state::Access;

#[component]
pub fn SessionView(conversation_id: String) -> impl IntoView {
    let console = use_console()?;
    let session = console.session(&conversation_id)?;
    let state = move || session.view.with(|view| view.state);
    let tab = move || session.tab.get();
    let end_id = conversation_id.clone();
    let close_id = conversation_id.clone();
    let wait_id = conversation_id.clone();
    let resolve_id = conversation_id.clone();
    Some(view! {
        <article class="conversation" aria-labelledby="session-title">
            <header>
                <h2 id="session-title">{move || session.view.with(|view| view.title.clone())}</h2>
                // How the customer feels, from their latest messages; marked once it reaches the alert.
                <span class="sentiment" data-console="sentiment"
                    class:alerting=move || session.view.with(|view| view.sentiment) <= console.sentiment_alert.get()
                    title="The customer's sentiment, from their latest messages">
                    {move || session.view.with(|view| format!("Sentiment: {}", view.sentiment.label()))}
                </span>
                <span class="state" data-console="state">{move || state().label()}</span>
                // Resolving the customer's issue closes the session at once, and resolves its case.
                <Show when=move || state() == ConversationState::Active && session.access.get() == Access::Own>
                    {
                        let resolve_id = resolve_id.clone();
                        view! { <button class="primary" data-console="resolve"
                            title="Resolve the customer's issue (and the linked case) and close the session"
                            on:click=move |_| console.act(resolve_id.clone(), "resolve", false)>"Resolve and close"</button> }
                    }
                </Show>
                <Show when=move || state() == ConversationState::Active>
                    {
                        let end_id = end_id.clone();
                        view! { <button class="secondary" data-console="end" on:click=move |_| {
                            console.send(&AgentToServer::End { conversation_id: end_id.clone() });
                        }>"End"</button> }
                    }
                </Show>
                // A persistent chat is closed rather than ended while the customer may come back: it
                // waits (spec §2); End is for when they confirm the issue is solved.
                <Show when=move || state() == ConversationState::Active && session.view.with(|view| view.channel == protocol::Channel::Persistent)>
                    {
                        let wait_id = wait_id.clone();
                        view! { <button class="secondary" data-console="close-to-waiting" title="The conversation waits for the customer's reply" on:click=move |_| {
                            console.send(&AgentToServer::Close { conversation_id: wait_id.clone() });
                        }>"Close session"</button> }
                    }
                </Show>
                <Show when=move || state() == ConversationState::WrapUp>
                    {
                        let close_id = close_id.clone();
                        view! { <button class="primary" data-console="close" on:click=move |_| {
                            console.send(&AgentToServer::Close { conversation_id: close_id.clone() });
                        }>"Close session"</button> }
                    }
                </Show>
                <SupervisedActions session=session />
            </header>
            <p class="participants muted" data-console="participants">{move || session.view.with(participants_line)}</p>
            <div class="session-body">
                <section class="communication" aria-label="Communication">
                    <transcript::Transcript session=session />
                    <p class="typing" data-console="visitor-typing">
                        {move || session.visitor_typing.get().then(|| {
                            format!("{} is typing…", session.view.with(|view| view.title.clone()))
                        })}
                    </p>
                    <Show when=move || session.access.get().writes_notes() fallback=move || view! {
                        <p class="read-only" data-console="read-only">
                            {move || if session.access.get() == Access::Monitor {
                                "You are monitoring this conversation: you read it live. Join to write to the customer.".to_owned()
                            } else {
                                format!("This conversation is {}. You are reading its transcript; nothing you do here changes it.",
                                    state().label())
                            }}
                        </p>
                    }>
                        <composer::Composer session=session />
                    </Show>
                </section>
                <section class="applications" aria-label="Applications">
                    <div class="tabs" role="tablist" aria-label="Applications">
                        <button role="tab" data-console="tab-knowledge" id="tab-knowledge"
                            aria-selected=move || (tab() == Tab::Knowledge).to_string()
                            aria-controls="panel-knowledge"
                            class:selected=move || tab() == Tab::Knowledge
                            on:click=move |_| session.tab.set(Tab::Knowledge)>"Knowledge"</button>
                        <button role="tab" data-console="tab-customer" id="tab-customer"
                            aria-selected=move || (tab() == Tab::Customer).to_string()
                            aria-controls="panel-customer"
                            class:selected=move || tab() == Tab::Customer
                            on:click=move |_| session.tab.set(Tab::Customer)>"Customer"</button>
                        <button role="tab" data-console="tab-details" id="tab-details"
                            aria-selected=move || (tab() == Tab::Details).to_string()
                            aria-controls="panel-details"
                            class:selected=move || tab() == Tab::Details
                            on:click=move |_| session.tab.set(Tab::Details)>"Additional details"</button>
                    </div>
                    <Show when=move || tab() == Tab::Knowledge>
                        <div role="tabpanel" id="panel-knowledge" aria-labelledby="tab-knowledge" class="panel">
                            <knowledge::Knowledge session=session />
                        </div>
                    </Show>
                    <Show when=move || tab() == Tab::Customer>
                        <div role="tabpanel" id="panel-customer" aria-labelledby="tab-customer" class="panel">
                            <customer::Customer session=session />
                        </div>
                    </Show>
                    <Show when=move || tab() == Tab::Details>
                        <div role="tabpanel" id="panel-details" aria-labelledby="tab-details" class="panel">
                            <details::Details session=session />
                        </div>
                    </Show>
                </section>
            </div>
        </article>
    })
}

/// A moment as people read it in lists: the date and the time, in the browser's locale.
pub fn clock_text(at_ms: i64) -> String {
    let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(at_ms as f64));
    let options = js_sys::Object::new();
    let _ = js_sys::Reflect::set(&options, &"dateStyle".into(), &"medium".into());
    let _ = js_sys::Reflect::set(&options, &"timeStyle".into(), &"short".into());
    date.to_locale_string("default", &options)
        .as_string()
        .unwrap_or_default()
}

/// Who else is in the conversation, in a line: "Owner ann · consultant bob · monitored by lead".
fn participants_line(view: &protocol::ConversationView) -> String {
    let mut parts = Vec::new();
    if let Some(owner) = &view.agent_username {
        parts.push(format!("Owner {owner}"));
    }
    for participant in &view.participants {
        parts.push(match participant.role {
            protocol::ParticipantRole::Consultant => format!("consultant {}", participant.username),
            protocol::ParticipantRole::Supervisor => format!("{} joined", participant.username),
            protocol::ParticipantRole::Monitor => format!("monitored by {}", participant.username),
        });
    }
    parts.join(" · ")
}

/// Join, for a supervisor monitoring; Leave, for one who joined or a consultant.
#[component]
fn SupervisedActions(session: crate::console::SessionSignals) -> impl IntoView {
    let console = use_console()?;
    let access = move || session.access.get();
    let may_join = move || {
        access() == Access::Monitor
            && console
                .supervision
                .get()
                .is_some_and(|allowed| allowed.monitor)
            && session
                .view
                .with(|view| view.state == ConversationState::Active)
    };
    Some(view! {
        <Show when=may_join>
            <button class="primary" data-console="join" on:click=move |_| {
                console.supervise(session.id.get_value(), "join");
            }>"Join"</button>
        </Show>
        <Show when=move || matches!(access(), Access::Joined | Access::Consult | Access::Monitor)>
            <button class="secondary" data-console="leave" on:click=move |_| {
                console.leave(session.id.get_value(), access());
            }>{move || if access() == Access::Monitor { "Stop monitoring" } else { "Leave" }}</button>
        </Show>
    })
}
