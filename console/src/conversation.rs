//! The focused session: the Communication panel (messages and composer) and the Additional details tab
//! with the context variables. Visitor text is always rendered as text.

use leptos::prelude::*;
use protocol::{AgentToServer, Author, ConversationState};

use crate::socket::{Console, Tab};

#[component]
pub fn ConversationPanel(console: Console, conversation_id: String) -> impl IntoView {
    let session = console.session(conversation_id.clone());
    let state = move || session.get().map(|session| session.view.state);
    let tab = move || {
        session
            .get()
            .map_or(Tab::Conversation, |session| session.tab)
    };
    let set_tab = {
        let id = conversation_id.clone();
        move |tab: Tab| {
            console.sessions.update(|sessions| {
                if let Some(session) = sessions
                    .iter_mut()
                    .find(|session| session.view.conversation_id == id)
                {
                    session.tab = tab;
                }
            });
        }
    };
    let set_tab_details = set_tab.clone();
    let draft_id = conversation_id.clone();
    let send_id = StoredValue::new(conversation_id.clone());
    let end_id = conversation_id.clone();
    let close_id = conversation_id;
    let send = move || console.send_message(&send_id.get_value());
    view! {
        <article class="conversation">
            <header>
                <h2>{move || session.get().map(|session| session.view.title).unwrap_or_default()}</h2>
                <span class="state" data-console="state">{move || state().map(|state| state.label()).unwrap_or_default()}</span>
                <Show when=move || state() == Some(ConversationState::Active)>
                    {
                        let end_id = end_id.clone();
                        view! { <button class="secondary" data-console="end" on:click=move |_| {
                            console.send(&AgentToServer::End { conversation_id: end_id.clone() });
                        }>"End"</button> }
                    }
                </Show>
                <Show when=move || state() == Some(ConversationState::WrapUp)>
                    {
                        let close_id = close_id.clone();
                        view! { <button class="primary" data-console="close" on:click=move |_| {
                            console.send(&AgentToServer::Close { conversation_id: close_id.clone() });
                        }>"Close session"</button> }
                    }
                </Show>
            </header>
            <nav class="tabs" role="tablist">
                <button role="tab" data-console="tab-conversation" class:selected=move || tab() == Tab::Conversation
                    on:click=move |_| set_tab(Tab::Conversation)>"Conversation"</button>
                <button role="tab" data-console="tab-details" class:selected=move || tab() == Tab::Details
                    on:click=move |_| set_tab_details(Tab::Details)>"Additional details"</button>
            </nav>
            <Show when=move || tab() == Tab::Details>
                <dl class="details">
                    <For
                        each={move || session.get().map(|session| session.view.context.into_iter().collect::<Vec<_>>()).unwrap_or_default()}
                        key=|(name, value)| (name.clone(), value.display())
                        children=move |(name, value)| view! {
                            <div class="detail">
                                <dt>{name.clone()}</dt>
                                <dd data-console="context-var" data-name=name.clone()>{value.display()}</dd>
                            </div>
                        }
                    />
                </dl>
                <Show when=move || session.get().is_some_and(|session| !session.view.dropped_context.is_empty())>
                    <h3 class="dropped-title">"Not received from the page"</h3>
                    <ul class="dropped" data-console="dropped-context">
                        <For
                            each={move || session.get().map(|session| session.view.dropped_context).unwrap_or_default()}
                            key=|dropped| (dropped.name.clone(), dropped.reason.as_str())
                            children=move |dropped| view! {
                                <li data-console="dropped-var" data-name=dropped.name.clone()>
                                    <code>{dropped.name.clone()}</code>": "{dropped.reason.label()}
                                </li>
                            }
                        />
                    </ul>
                </Show>
            </Show>
            <Show when=move || tab() == Tab::Conversation>
                <ol class="transcript">
                    <For
                        each=move || session.get().map(|session| session.view.messages).unwrap_or_default()
                        key=|message| message.seq
                        children=move |message| {
                            let author = message.author.as_str();
                            let name = match message.author {
                                Author::Visitor => "Visitor".to_owned(),
                                Author::Agent => message.author_name.clone(),
                                Author::System => "Beckon".to_owned(),
                            };
                            view! {
                                <li class=format!("message {author}")>
                                    <span class="author">{name}</span>
                                    <span class="body" data-console="message" data-author=author>{message.body.clone()}</span>
                                </li>
                            }
                        }
                    />
                    <For
                        each=move || session.get().map(|session| session.pending).unwrap_or_default()
                        key=|(id, _)| id.clone()
                        children=move |(_, body)| view! { <li class="message agent pending"><span class="body">{body}</span></li> }
                    />
                </ol>
                <form class="composer" on:submit=move |event| { event.prevent_default(); send(); }>
                    <textarea data-console="composer" rows="3" aria-label="Message" maxlength="16000"
                        prop:value=move || session.get().map(|session| session.draft).unwrap_or_default()
                        on:input={
                            let draft_id = draft_id.clone();
                            move |event| {
                                let text = event_target_value(&event);
                                console.sessions.update(|sessions| {
                                    if let Some(session) = sessions.iter_mut().find(|session| session.view.conversation_id == draft_id) {
                                        session.draft = text;
                                    }
                                });
                            }
                        }
                        disabled=move || state() != Some(ConversationState::Active)
                    ></textarea>
                    <button class="primary" type="button" data-console="send" on:click=move |_| send()
                        disabled=move || state() != Some(ConversationState::Active)>"Send"</button>
                </form>
            </Show>
        </article>
    }
}
