//! Ongoing conversations: every conversation in Open, Active, Wrap-up and Waiting, live over the
//! socket, with filters by queue, state, agent and sentiment, sorting by each column, and the supervisor actions
//! this node allows (Monitor, Force close). Visitor text is shown as text.

use std::cmp::Ordering;
use std::time::Duration;

use leptos::prelude::*;
use protocol::{ConversationState, ConversationView, ParticipantRole, Sentiment};

use super::agents_board::AgentsBoard;
use super::move_dialog::MoveDialog;
use crate::confirm::Confirm;
use crate::console::use_console;
use crate::home::waited;

/// A sortable column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Column {
    Visitor,
    Queue,
    State,
    Sentiment,
    Owner,
    Waiting,
    Handling,
    LastMessage,
}

impl Column {
    fn compare(self, a: &ConversationView, b: &ConversationView) -> Ordering {
        match self {
            Column::Visitor => a.title.cmp(&b.title),
            Column::Queue => a.queue_id.cmp(&b.queue_id),
            Column::State => state_rank(a.state).cmp(&state_rank(b.state)),
            // The most negative first when ascending: who needs help soonest.
            Column::Sentiment => a.sentiment.cmp(&b.sentiment),
            Column::Owner => a.agent_username.cmp(&b.agent_username),
            // Longest waiting first when ascending: the oldest start.
            Column::Waiting => waiting_since(a).cmp(&waiting_since(b)),
            Column::Handling => a.handled_since_ms.cmp(&b.handled_since_ms),
            Column::LastMessage => last_at(a).cmp(&last_at(b)),
        }
    }
}

fn state_rank(state: ConversationState) -> u8 {
    match state {
        ConversationState::Open => 0,
        ConversationState::Active => 1,
        ConversationState::WrapUp => 2,
        ConversationState::Waiting => 3,
        ConversationState::Closed => 4,
    }
}

/// Since when the customer has waited: in Open, since it entered the state.
fn waiting_since(view: &ConversationView) -> Option<i64> {
    (view.state == ConversationState::Open)
        .then(|| view.state_since_ms.unwrap_or(view.created_at_ms))
}

fn last_at(view: &ConversationView) -> Option<i64> {
    view.last_message.as_ref().map(|message| message.sent_at_ms)
}

/// The rows a filter and a sort leave, in order.
fn shown(
    rows: &[ConversationView],
    queue: &str,
    state: &str,
    agent: &str,
    sentiment: &str,
    sort: (Column, bool),
) -> Vec<ConversationView> {
    let mut rows: Vec<ConversationView> = rows
        .iter()
        .filter(|row| queue.is_empty() || row.queue_id == queue)
        .filter(|row| state.is_empty() || row.state.as_str() == state)
        .filter(|row| sentiment.is_empty() || row.sentiment.as_str() == sentiment)
        .filter(|row| {
            agent.is_empty()
                || row.agent_username.as_deref() == Some(agent)
                || row
                    .participants
                    .iter()
                    .any(|participant| participant.username == agent)
        })
        .cloned()
        .collect();
    let (column, ascending) = sort;
    // Ties keep the oldest first, whichever way the column sorts.
    rows.sort_by(|a, b| {
        let order = column.compare(a, b);
        let order = if ascending { order } else { order.reverse() };
        order.then_with(|| a.created_at_ms.cmp(&b.created_at_ms))
    });
    rows
}

/// A duration as the dashboard's narrow columns show it: "<1m", "12m", "1h 5m".
pub(super) fn compact(since_ms: i64, now_ms: i64) -> String {
    let minutes = (now_ms - since_ms).max(0) / 60_000;
    match minutes {
        0 => "<1m".to_owned(),
        1..=59 => format!("{minutes}m"),
        _ => format!("{}h {}m", minutes / 60, minutes % 60),
    }
}

/// A time cell: the duration since `since`, with its full wording for screen readers and the tooltip;
/// a dash when there is none.
fn duration_cell(since: Option<i64>, now: RwSignal<i64>, ago: bool) -> impl IntoView {
    move || match since {
        Some(since) => {
            let long = waited(since, now.get());
            let long = if ago { format!("{long} ago") } else { long };
            let short = compact(since, now.get());
            let short = match (ago, short.as_str()) {
                (true, "<1m") => "just now".to_owned(),
                (true, _) => format!("{short} ago"),
                (false, _) => short,
            };
            view! { <span title=long.clone() aria-label=long>{short}</span> }.into_any()
        }
        None => view! { <span class="muted" aria-label="none">"—"</span> }.into_any(),
    }
}

fn now_ms() -> i64 {
    js_sys::Date::now() as i64
}

#[component]
pub fn Ongoing() -> impl IntoView {
    let console = use_console()?;
    let now = RwSignal::new(now_ms());
    if let Ok(ticker) = set_interval_with_handle(move || now.set(now_ms()), Duration::from_secs(15))
    {
        on_cleanup(move || ticker.clear());
    }
    let queue = RwSignal::new(String::new());
    let state = RwSignal::new(String::new());
    let agent = RwSignal::new(String::new());
    let sentiment = RwSignal::new(String::new());
    let sort = RwSignal::new((Column::Waiting, true));
    let rows = Memo::new(move |_| {
        console.ongoing.with(|rows| {
            shown(
                rows,
                &queue.get(),
                &state.get(),
                &agent.get(),
                &sentiment.get(),
                sort.get(),
            )
        })
    });
    // The filters offer what the rows hold.
    let choices = move |pick: fn(&ConversationView) -> Vec<String>| {
        console.ongoing.with(|rows| {
            let mut values: Vec<String> = rows.iter().flat_map(pick).collect();
            values.sort();
            values.dedup();
            values
        })
    };
    let filtered = move || {
        !(queue.get().is_empty()
            && state.get().is_empty()
            && agent.get().is_empty()
            && sentiment.get().is_empty())
    };
    let header = move |label: &'static str, column: Column| {
        view! {
            <th scope="col" aria-sort=move || match sort.get() {
                (sorted, true) if sorted == column => "ascending",
                (sorted, false) if sorted == column => "descending",
                _ => "none",
            }>
                <button class="sort" data-console=format!("sort-{label}").to_lowercase().replace(' ', "-")
                    on:click=move |_| sort.update(|(sorted, ascending)| {
                        if *sorted == column { *ascending = !*ascending } else { *sorted = column; *ascending = true }
                    })>{label}</button>
            </th>
        }
    };
    Some(view! {
        <section class="dashboard" aria-labelledby="ongoing-title" data-console="ongoing">
            <h2 id="ongoing-title">"Ongoing conversations "<span class="count" data-console="ongoing-count">{move || rows.with(Vec::len)}</span></h2>
            <AgentsBoard now=now />
            <div class="filters" role="group" aria-label="Filters">
                <Filter label="Queue" hook="filter-queue" value=queue
                    options=Signal::derive(move || choices(|row| vec![row.queue_id.clone()])) />
                <Filter label="State" hook="filter-state" value=state
                    options=Signal::derive(move || {
                        ["open", "active", "wrap_up", "waiting"].map(str::to_owned).to_vec()
                    }) />
                <Filter label="Agent" hook="filter-agent" value=agent
                    options=Signal::derive(move || choices(|row| {
                        row.agent_username.iter().cloned()
                            .chain(row.participants.iter().map(|participant| participant.username.clone()))
                            .collect()
                    })) />
                <Filter label="Sentiment" hook="filter-sentiment" value=sentiment
                    options=Signal::derive(move || Sentiment::ALL.map(|level| level.as_str().to_owned()).to_vec()) />
                <Show when=filtered>
                    <button class="secondary" data-console="clear-filters" on:click=move |_| {
                        queue.set(String::new());
                        state.set(String::new());
                        agent.set(String::new());
                        sentiment.set(String::new());
                    }>"Clear filters"</button>
                </Show>
            </div>
            <div class="dashboard-body">
            <div class="dashboard-main">
            <Show when=move || !rows.with(Vec::is_empty) fallback=move || view! {
                <p class="muted" data-console="ongoing-empty">{move || if filtered() {
                    "No conversation matches these filters."
                } else {
                    "No conversation is ongoing. New chats appear here as visitors start them."
                }}</p>
            }>
                <div class="table-scroll">
                    <table class="ongoing">
                        <thead><tr>
                            {header("Visitor", Column::Visitor)}
                            {header("Queue", Column::Queue)}
                            {header("State", Column::State)}
                            {header("Sentiment", Column::Sentiment)}
                            {header("Owner", Column::Owner)}
                            <th scope="col">"Others"</th>
                            {header("Waiting", Column::Waiting)}
                            {header("Handling", Column::Handling)}
                            {header("Last message", Column::LastMessage)}
                            <th scope="col"><span class="sr-only">"Actions"</span></th>
                        </tr></thead>
                        <tbody>
                            <For each=move || rows.get()
                                key=|row| (row.conversation_id.clone(), row.state.as_str(), row.sentiment, row.updated_at_ms, row.participants.len())
                                children=move |row| view! { <Row row=row now=now /> } />
                        </tbody>
                    </table>
                </div>
            </Show>
            </div>
            </div>
        </section>
    })
}

#[component]
fn Filter(
    label: &'static str,
    hook: &'static str,
    value: RwSignal<String>,
    options: Signal<Vec<String>>,
) -> impl IntoView {
    view! {
        <label class="filter">{label}
            <select data-console=hook prop:value=move || value.get()
                on:change=move |event| value.set(event_target_value(&event))>
                <option value="">"All"</option>
                <For each=move || options.get() key=|option| option.clone()
                    children=move |option| {
                        let shown = ConversationState::parse(&option)
                            .map(ConversationState::label)
                            .or_else(|| Sentiment::parse(&option).map(Sentiment::label))
                            .map_or_else(|| option.clone(), str::to_owned);
                        view! { <option value=option>{shown}</option> }
                    } />
            </select>
        </label>
    }
}

#[component]
fn Row(row: ConversationView, now: RwSignal<i64>) -> impl IntoView {
    let console = use_console()?;
    let id = row.conversation_id.clone();
    let confirming = RwSignal::new(false);
    let allowed = move || console.supervision.get().unwrap_or_default();
    let me = console.username.get_untracked();
    let monitorable = matches!(
        row.state,
        ConversationState::Active | ConversationState::WrapUp
    ) && row.agent_username.as_deref() != Some(me.as_str());
    let others = row
        .participants
        .iter()
        .map(|participant| match participant.role {
            ParticipantRole::Consultant => format!("{} (consultant)", participant.username),
            ParticipantRole::Supervisor => format!("{} (joined)", participant.username),
            ParticipantRole::Monitor => format!("{} (monitoring)", participant.username),
        })
        .collect::<Vec<_>>()
        .join(", ");
    let waiting = waiting_since(&row);
    let handled = row.handled_since_ms;
    // The newest message changes every second on a busy dashboard: read live, so the row (and a
    // dialog open in it) is not drawn again for it.
    let latest = {
        let id = id.clone();
        Memo::new(move |_| {
            console.ongoing.with(|rows| {
                rows.iter()
                    .find(|row| row.conversation_id == id)
                    .and_then(|row| row.last_message.clone())
            })
        })
    };
    let preview = move || {
        latest.with(|message| {
            message
                .as_ref()
                .map(|message| crate::state::one_line(&message.body))
                .unwrap_or_default()
        })
    };
    let assigning = RwSignal::new(false);
    let transferring = RwSignal::new(false);
    let assignable = row.state == ConversationState::Open;
    let transferable = matches!(
        row.state,
        ConversationState::Active | ConversationState::Waiting
    );
    let assign_title = row.title.clone();
    let transfer_title = row.title.clone();
    let assign_row = row.clone();
    let transfer_row = row.clone();
    let monitor_id = id.clone();
    let close_id = id.clone();
    let title = row.title.clone();
    Some(view! {
        <tr data-console="ongoing-row" data-id=id.clone() data-state=row.state.as_str()>
            <th scope="row"><span class="title">{row.title.clone()}</span>
                <span class="preview muted" title=preview>{preview}</span></th>
            <td><span class="queue">{row.queue_id.clone()}</span>
                <span class="channel muted">{row.channel.label()}</span></td>
            <td><span class=format!("state-tag {}", row.state.as_str())>{row.state.label()}</span></td>
            <td><span class=format!("sentiment-tag {}", row.sentiment.as_str()) data-console="ongoing-sentiment"
                class:alerting=row.sentiment <= console.sentiment_alert.get_untracked()>{row.sentiment.label()}</span></td>
            <td>{row.agent_username.clone().unwrap_or_else(|| "—".to_owned())}</td>
            <td class="others">{if others.is_empty() { "—".to_owned() } else { others }}</td>
            <td class="time">{duration_cell(waiting, now, false)}</td>
            <td class="time">{duration_cell(handled, now, false)}</td>
            <td class="time">{move || duration_cell(latest.with(|message| message.as_ref().map(|message| message.sent_at_ms)), now, true)}</td>
            <td class="actions">
                <Show when=move || monitorable && allowed().monitor>
                    {
                        let monitor_id = monitor_id.clone();
                        let title = title.clone();
                        view! {
                            <button class="secondary" data-console="monitor" aria-label=format!("Monitor {title}")
                                on:click=move |_| console.supervise(monitor_id.clone(), "monitor")>"Monitor"</button>
                        }
                    }
                </Show>
                <Show when=move || assignable && allowed().assign>
                    <button class="secondary" data-console="assign" aria-label=format!("Assign {}", assign_title)
                        on:click=move |_| assigning.set(true)>"Assign"</button>
                </Show>
                <Show when=move || transferable && allowed().transfer>
                    <button class="secondary" data-console="transfer" aria-label=format!("Transfer {}", transfer_title)
                        on:click=move |_| transferring.set(true)>"Transfer"</button>
                </Show>
                <Show when=move || allowed().force_close>
                    <button class="secondary danger" data-console="force-close"
                        aria-label=format!("Force close {}", row.title)
                        on:click=move |_| confirming.set(true)>"Force close"</button>
                </Show>
                <Show when=move || confirming.get()>
                    {
                        let close_id = close_id.clone();
                        view! {
                            <Confirm open=confirming question="Force close this conversation?"
                                explanation="It goes to Closed at once. The agent and the customer read that a supervisor ended it.".to_owned()
                                action="Force close" hook="confirm-force-close" confirm_hook="confirm-force-close-yes" danger=true
                                on_confirm=move || console.force_close(close_id.clone()) />
                        }
                    }
                </Show>
                <Show when=move || assigning.get()>
                    <MoveDialog row=assign_row.clone() action="assign" open=assigning />
                </Show>
                <Show when=move || transferring.get()>
                    <MoveDialog row=transfer_row.clone() action="transfer" open=transferring />
                </Show>
            </td>
        </tr>
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(
        id: &str,
        state: ConversationState,
        queue: &str,
        owner: Option<&str>,
        created: i64,
    ) -> ConversationView {
        ConversationView {
            conversation_id: id.to_owned(),
            state,
            site_id: "demo".to_owned(),
            queue_id: queue.to_owned(),
            rule_id: String::new(),
            title: format!("Visitor {id}"),
            agent_username: owner.map(str::to_owned),
            channel: protocol::Channel::LiveChat,
            units: 1,
            holds_capacity: false,
            context: Default::default(),
            dropped_context: Vec::new(),
            messages: Vec::new(),
            last_message: None,
            participants: Vec::new(),
            state_since_ms: Some(created),
            handled_since_ms: None,
            sentiment: Default::default(),
            journey: Vec::new(),
            sentiment_trend: Vec::new(),
            contact: None,
            case: None,
            language: "en".to_owned(),
            created_at_ms: created,
            updated_at_ms: created,
        }
    }

    #[test]
    fn filters_narrow_and_sorting_orders_each_way() {
        let mut rows = [
            row("1", ConversationState::Active, "sales", Some("ann"), 10),
            row("2", ConversationState::Open, "support", None, 20),
            row("3", ConversationState::Open, "sales", None, 5),
        ];
        rows[1].sentiment = Sentiment::Negative;
        rows[2].sentiment = Sentiment::VeryPositive;
        let ids = |rows: Vec<ConversationView>| {
            rows.into_iter()
                .map(|row| row.conversation_id)
                .collect::<Vec<_>>()
        };
        assert_eq!(
            ids(shown(&rows, "sales", "", "", "", (Column::Visitor, true))),
            ["1", "3"]
        );
        assert_eq!(
            ids(shown(&rows, "", "open", "", "", (Column::Waiting, true))),
            ["3", "2"],
            "longest waiting first"
        );
        assert_eq!(
            ids(shown(&rows, "", "", "ann", "", (Column::Visitor, true))),
            ["1"]
        );
        assert_eq!(
            ids(shown(&rows, "", "", "", "", (Column::State, false))),
            ["1", "3", "2"]
        );
        assert!(shown(&rows, "tiny", "", "", "", (Column::Visitor, true)).is_empty());
        assert_eq!(
            ids(shown(
                &rows,
                "",
                "",
                "",
                "negative",
                (Column::Visitor, true)
            )),
            ["2"]
        );
        assert_eq!(
            ids(shown(&rows, "", "", "", "", (Column::Sentiment, true))),
            ["2", "1", "3"],
            "the most negative first"
        );
    }
}
