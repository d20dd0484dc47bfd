//! Assign (an Open conversation nobody owns) and Transfer (an Active or Waiting one), as a dialog: to an
//! agent of the conversation's queue, with their presence and free capacity, or to another queue. An
//! assignment may override presence and capacity; the dialog says by how many units the agent will
//! exceed capacity before the supervisor confirms (spec §3).

use leptos::prelude::*;
use protocol::{ConversationView, QueueSummary};

use crate::console::use_console;

/// By how many units `units` more would take an agent past `capacity` when `used` are taken.
pub fn exceeds_by(capacity: u32, used: u32, units: u32) -> u32 {
    (used + units).saturating_sub(capacity)
}

#[component]
pub fn MoveDialog(
    row: ConversationView,
    /// `assign` or `transfer`.
    action: &'static str,
    open: RwSignal<bool>,
) -> impl IntoView {
    let console = use_console()?;
    let queues = RwSignal::new(Vec::<QueueSummary>::new());
    let problem = RwSignal::new(String::new());
    leptos::task::spawn_local(async move {
        match crate::api::queues().await {
            Ok(found) => {
                queues.try_set(found);
            }
            Err(message) => {
                problem.try_set(message);
            }
        }
    });
    let to_agent = RwSignal::new(true);
    let agent = RwSignal::new(String::new());
    let queue = RwSignal::new(String::new());
    let override_presence = RwSignal::new(false);
    let override_capacity = RwSignal::new(false);
    let assigning = action == "assign";
    let units = row.units;
    let current_queue = row.queue_id.clone();
    let owner = row.agent_username.clone();
    let members = {
        let current_queue = current_queue.clone();
        move || {
            let members: Vec<String> = queues.with(|queues| {
                queues
                    .iter()
                    .find(|queue| queue.id == current_queue)
                    .map(|queue| queue.members.clone())
                    .unwrap_or_default()
            });
            console.agents.with(|agents| {
                agents
                    .iter()
                    .filter(|agent| members.contains(&agent.username) && !agent.disabled)
                    .filter(|agent| owner.as_deref() != Some(agent.username.as_str()))
                    .cloned()
                    .collect::<Vec<_>>()
            })
        }
    };
    let other_queues = move || {
        queues.with(|queues| {
            queues
                .iter()
                .filter(|queue| queue.id != current_queue)
                .cloned()
                .collect::<Vec<_>>()
        })
    };
    let exceeding = move || {
        let chosen = agent.get();
        console.agents.with(|agents| {
            agents
                .iter()
                .find(|known| known.username == chosen)
                .map_or(0, |known| exceeds_by(known.capacity, known.used, units))
        })
    };
    let id = row.conversation_id.clone();
    let confirm = move |_| {
        let body = if to_agent.get_untracked() {
            let username = agent.get_untracked();
            if username.is_empty() {
                problem.set("Choose an agent.".to_owned());
                return;
            }
            if assigning {
                serde_json::json!({
                    "username": username,
                    "override_presence": override_presence.get_untracked(),
                    "override_capacity": override_capacity.get_untracked(),
                })
            } else {
                serde_json::json!({ "username": username })
            }
        } else {
            let queue_id = queue.get_untracked();
            if queue_id.is_empty() {
                problem.set("Choose a queue.".to_owned());
                return;
            }
            serde_json::json!({ "queue_id": queue_id })
        };
        let id = id.clone();
        leptos::task::spawn_local(async move {
            match crate::api::move_conversation(&id, action, body).await {
                Ok(_) => {
                    open.try_set(false);
                }
                Err(message) => {
                    problem.try_set(message);
                }
            }
        });
    };
    let title = format!(
        "{} {}",
        if assigning { "Assign" } else { "Transfer" },
        row.title
    );
    let labelled = format!("move-{}", row.conversation_id);
    let heading = labelled.clone();
    Some(view! {
        <div class="dialog move-dialog" role="dialog" aria-modal="false" aria-labelledby=labelled
            data-console="move-dialog"
            on:keydown=move |event| if event.key() == "Escape" { open.set(false); }>
            <h2 id=heading>{title}</h2>
            <fieldset class="choice">
                <legend class="sr-only">"Where to"</legend>
                <label><input type="radio" name="move-target" data-console="move-to-agent"
                    prop:checked=move || to_agent.get() on:change=move |_| to_agent.set(true) />"An agent of this queue"</label>
                <label><input type="radio" name="move-target" data-console="move-to-queue"
                    prop:checked=move || !to_agent.get() on:change=move |_| to_agent.set(false) />"Another queue"</label>
            </fieldset>
            <Show when=move || to_agent.get() fallback=move || view! {
                <label>"Queue"
                    <select data-console="move-queue" prop:value=move || queue.get()
                        on:change=move |event| queue.set(event_target_value(&event))>
                        <option value="">"Choose a queue"</option>
                        <For each=other_queues.clone() key=|queue| queue.id.clone()
                            children=|queue| view! { <option value=queue.id.clone()>{format!("{} ({} waiting)", queue.name, queue.waiting)}</option> } />
                    </select>
                </label>
            }>
                <label>"Agent"
                    <select data-console="move-agent" prop:value=move || agent.get()
                        on:change=move |event| agent.set(event_target_value(&event))>
                        <option value="">"Choose an agent"</option>
                        <For each=members.clone() key=|agent| (agent.username.clone(), agent.used, agent.shown_presence.as_str())
                            children=move |agent| {
                                let free = agent.capacity.saturating_sub(agent.used);
                                view! { <option value=agent.username.clone()>
                                    {format!("{} · {} · {free} of {} free", agent.display_name, agent.shown_presence.label(), agent.capacity)}
                                </option> }
                            } />
                    </select>
                </label>
                <Show when=move || assigning>
                    <label class="check"><input type="checkbox" data-console="override-presence"
                        on:change=move |event| override_presence.set(event_target_checked(&event)) />"Override presence"</label>
                    <label class="check"><input type="checkbox" data-console="override-capacity"
                        on:change=move |event| override_capacity.set(event_target_checked(&event)) />"Override capacity"</label>
                </Show>
                <p class="outcome" data-console="move-exceeds" role="status">{move || match exceeding() {
                    0 => String::new(),
                    over if assigning && override_capacity.get() => format!("Exceeds capacity by {over} unit{}.", if over == 1 { "" } else { "s" }),
                    over => format!("Not enough free capacity: this needs {over} more unit{}.{}", if over == 1 { "" } else { "s" },
                        if assigning { " Check Override capacity to assign anyway." } else { "" }),
                }}</p>
            </Show>
            <p class="error" role="alert" data-console="move-problem">{move || problem.get()}</p>
            <div class="actions">
                <button class="secondary" on:click=move |_| open.set(false)>"Cancel"</button>
                <button class="primary" data-console="move-confirm" on:click=confirm>
                    {if assigning { "Assign" } else { "Transfer" }}
                </button>
            </div>
        </div>
    })
}

#[cfg(test)]
mod tests {
    use super::exceeds_by;

    #[test]
    fn the_excess_counts_only_what_goes_past_capacity() {
        assert_eq!(exceeds_by(2, 0, 1), 0);
        assert_eq!(exceeds_by(2, 2, 1), 1);
        assert_eq!(exceeds_by(2, 3, 2), 3);
        assert_eq!(exceeds_by(0, 0, 1), 1);
    }
}
