//! The agents board beside the dashboard: each agent's presence as others see it and how long they
//! have been in the one they chose, capacity used out of total, and their Active and Wrap-up
//! conversations, live from the `agent_status` frames.

use leptos::prelude::*;
use protocol::ConversationState;

use crate::console::use_console;
use crate::home::waited;

#[component]
pub fn AgentsBoard(now: RwSignal<i64>) -> impl IntoView {
    let console = use_console()?;
    let handling = move |username: &str| {
        console.ongoing.with(|rows| {
            rows.iter()
                .filter(|row| row.agent_username.as_deref() == Some(username))
                .filter(|row| {
                    matches!(
                        row.state,
                        ConversationState::Active | ConversationState::WrapUp
                    )
                })
                .count()
        })
    };
    Some(view! {
        <section class="agents-board" aria-labelledby="agents-board-title" data-console="agents-board">
            <h3 id="agents-board-title">"Agents"</h3>
            <Show when=move || !console.agents.with(Vec::is_empty)
                fallback=|| view! { <p class="muted">"No agents yet."</p> }>
                <ul>
                    <For each={move || console.agents.get().into_iter().filter(|agent| !agent.disabled).collect::<Vec<_>>()}
                        key=|agent| (agent.username.clone(), agent.shown_presence.as_str(), agent.used, agent.capacity, agent.presence_since_ms)
                        children=move |agent| {
                            let username = agent.username.clone();
                            let full = agent.capacity > 0 && agent.used >= agent.capacity;
                            let used = format!("{} of {} units", agent.used, agent.capacity);
                            let since = agent.presence_since_ms;
                            view! {
                                <li class="agent-status" data-console="agent-status" data-username=agent.username.clone()>
                                    <span class="name">{agent.display_name.clone()}</span>
                                    <span class=format!("presence {}", agent.shown_presence.as_str())>{agent.shown_presence.label()}</span>
                                    <span class="muted since" data-console="agent-since"
                                        title=format!("{} since this long", agent.presence.label())>
                                        {move || since.map(|since| format!("{} for {}", agent.presence.label(), waited(since, now.get()))).unwrap_or_default()}
                                    </span>
                                    <span class="load" class:full=full title=used.clone()>
                                        <meter min="0" max=agent.capacity.max(1) value=agent.used aria-label=format!("Capacity used by {}", agent.display_name)></meter>
                                        <span data-console="agent-load">{format!("{}/{}", agent.used, agent.capacity)}</span>
                                    </span>
                                    <span class="muted" data-console="agent-handling">{move || match handling(&username) {
                                        1 => "1 conversation".to_owned(),
                                        count => format!("{count} conversations"),
                                    }}</span>
                                </li>
                            }
                        } />
                </ul>
            </Show>
        </section>
    })
}
