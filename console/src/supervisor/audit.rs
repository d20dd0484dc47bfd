//! The audit log, for admins: every supervisor action (who, what, which conversation, when, and the
//! outcome), newest first, filtered by who acted, the action and the conversation, a page at a time.
//! It is a record, not a live feed: it reads the server when it opens, when a filter changes and on
//! Refresh. Every field is shown as text.

use leptos::prelude::*;
use protocol::AuditEntry;

use crate::api::AuditFilter;

/// Entries read per page: the server's default.
const PAGE: u32 = 100;

/// The actions the log records, with what the filter calls them.
const ACTIONS: [(&str, &str); 8] = [
    ("monitor", "Monitor"),
    ("stop_monitoring", "Stop monitoring"),
    ("join", "Join"),
    ("leave", "Leave"),
    ("assign", "Assign"),
    ("transfer", "Transfer"),
    ("transfer_answered", "Transfer answered"),
    ("force_close", "Force close"),
];

fn action_label(action: &str) -> String {
    ACTIONS
        .iter()
        .find(|(name, _)| *name == action)
        .map_or_else(|| action.to_owned(), |(_, label)| (*label).to_owned())
}

/// The entry's time in the admin's locale, and in full for its tooltip.
fn when(at_ms: i64) -> (String, String) {
    let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(at_ms as f64));
    let shown = date
        .to_locale_string("default", &wasm_bindgen::JsValue::UNDEFINED)
        .as_string()
        .unwrap_or_default();
    let full = date.to_iso_string().as_string().unwrap_or_default();
    (shown, full)
}

#[component]
pub fn AuditLog() -> impl IntoView {
    let actor = RwSignal::new(String::new());
    let action = RwSignal::new(String::new());
    let conversation = RwSignal::new(String::new());
    let entries = RwSignal::new(Vec::<AuditEntry>::new());
    let more = RwSignal::new(false);
    let loading = RwSignal::new(false);
    let error = RwSignal::new(String::new());
    let filter = move |before: Option<i64>| AuditFilter {
        actor: actor.get_untracked().trim().to_owned(),
        action: action.get_untracked(),
        conversation_id: conversation.get_untracked().trim().to_owned(),
        before,
        limit: PAGE,
    };
    // `before`: the oldest entry shown, to read the page after it; `None` reads from the newest.
    let load = move |before: Option<i64>| {
        let filter = filter(before);
        loading.set(true);
        leptos::task::spawn_local(async move {
            let read = crate::api::audit(&filter).await;
            let _ = loading.try_set(false);
            match read {
                Ok(page) => {
                    let _ = more.try_set(page.len() as u32 == PAGE);
                    let _ = error.try_set(String::new());
                    if before.is_some() {
                        entries.try_update(|entries| entries.extend(page));
                    } else {
                        let _ = entries.try_set(page);
                    }
                }
                Err(message) => {
                    let _ = error.try_set(format!("The audit log could not be read: {message}."));
                }
            }
        });
    };
    load(None);
    let filtered = move || {
        !(actor.get().is_empty() && action.get().is_empty() && conversation.get().is_empty())
    };
    view! {
        <section class="dashboard audit" aria-labelledby="audit-title" data-console="audit">
            <h2 id="audit-title">"Audit log"</h2>
            <p class="muted intro">"Every supervisor action, newest first: who did what to which conversation, when, and how it ended."</p>
            <form class="filters" role="search" aria-label="Filter the audit log"
                on:submit=move |event| { event.prevent_default(); load(None); }>
                <label class="filter">"Who"
                    <input type="text" data-console="audit-actor" autocomplete="off" spellcheck="false"
                        placeholder="Username" maxlength="64"
                        prop:value=move || actor.get()
                        on:input=move |event| actor.set(event_target_value(&event)) />
                </label>
                <label class="filter">"Action"
                    <select data-console="audit-action" prop:value=move || action.get()
                        on:change=move |event| { action.set(event_target_value(&event)); load(None); }>
                        <option value="">"All"</option>
                        {ACTIONS.map(|(name, label)| view! { <option value=name>{label}</option> }).to_vec()}
                    </select>
                </label>
                <label class="filter">"Conversation"
                    <input type="text" data-console="audit-conversation" autocomplete="off" spellcheck="false"
                        placeholder="Conversation id" maxlength="64"
                        prop:value=move || conversation.get()
                        on:input=move |event| conversation.set(event_target_value(&event)) />
                </label>
                <button type="submit" class="secondary" data-console="audit-refresh">
                    {move || if filtered() { "Apply" } else { "Refresh" }}
                </button>
                <Show when=filtered>
                    <button type="button" class="secondary" data-console="audit-clear" on:click=move |_| {
                        actor.set(String::new());
                        action.set(String::new());
                        conversation.set(String::new());
                        load(None);
                    }>"Clear filters"</button>
                </Show>
            </form>
            <Show when=move || !error.with(String::is_empty)>
                <p class="error" role="alert" data-console="audit-error">{move || error.get()}</p>
            </Show>
            <Show when=move || !entries.with(Vec::is_empty) fallback=move || view! {
                <p class="muted" data-console="audit-empty">{move || if loading.get() {
                    "Reading the audit log…"
                } else if filtered() {
                    "No entry matches these filters."
                } else {
                    "No supervisor action yet. Monitoring, joining, assigning, transferring and force closing are recorded here."
                }}</p>
            }>
                // Focusable, so the keyboard can scroll it sideways in a narrow window: its rows hold
                // nothing else to focus.
                <div class="table-scroll" tabindex="0" role="region" aria-label="Audit log entries">
                    <table class="ongoing audit-table">
                        <caption class="sr-only">"Audit log entries, newest first"</caption>
                        <thead><tr>
                            <th scope="col">"When"</th>
                            <th scope="col">"Who"</th>
                            <th scope="col">"Action"</th>
                            <th scope="col">"Conversation"</th>
                            <th scope="col">"Detail"</th>
                            <th scope="col">"Outcome"</th>
                        </tr></thead>
                        <tbody>
                            <For each=move || entries.get() key=|entry| entry.id
                                children=move |entry| view! { <Entry entry=entry /> } />
                        </tbody>
                    </table>
                </div>
                <Show when=move || more.get()>
                    <button class="secondary older" data-console="audit-older" disabled=move || loading.get()
                        on:click=move |_| load(entries.with_untracked(|entries| entries.last().map(|entry| entry.id)))>
                        "Show older entries"</button>
                </Show>
            </Show>
        </section>
    }
}

#[component]
fn Entry(entry: AuditEntry) -> impl IntoView {
    let (shown, full) = when(entry.at_ms);
    let ok = entry.outcome == "ok";
    view! {
        <tr data-console="audit-entry" data-action=entry.action.clone()>
            <td class="time"><time datetime=full.clone() title=full>{shown}</time></td>
            <th scope="row">{entry.actor}</th>
            <td>{action_label(&entry.action)}</td>
            <td class="conversation-id" title=entry.conversation_id.clone()>{entry.conversation_id.clone()}</td>
            <td class="detail">{if entry.detail.is_empty() { "—".to_owned() } else { entry.detail }}</td>
            <td><span class="state-tag" class:active=ok class:refused=!ok data-console="audit-outcome">
                {if ok { "Done".to_owned() } else { entry.outcome.replace('_', " ") }}
            </span></td>
        </tr>
    }
}
