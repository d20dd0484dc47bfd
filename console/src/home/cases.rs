//! Home's Cases: the site's cases this agent may see (those of the contacts they may see), the open
//! ones unless the agent asks for resolved or all, the most recently changed first, found by part of a
//! title or contact name. Open opens the case's record session; Shift+click opens it without leaving
//! Home.

use leptos::prelude::*;
use protocol::{CaseEntry, CaseStatus};

use crate::console::{Page, use_console};

/// Which cases the list shows, as its choice names them.
const SHOWN: [(&str, &str); 3] = [("open", "Open"), ("resolved", "Resolved"), ("", "All")];

#[component]
pub fn Cases(site: Signal<String>) -> impl IntoView {
    let console = use_console()?;
    let query = RwSignal::new(String::new());
    let status = RwSignal::new("open".to_owned());
    let found = RwSignal::new(None::<Result<Vec<CaseEntry>, String>>);
    let asked = StoredValue::new(0u64);
    let search = move || {
        let (text, site) = (query.get_untracked(), site.get_untracked());
        let wanted = CaseStatus::parse(&status.get_untracked());
        asked.update_value(|asked| *asked += 1);
        let this = asked.get_value();
        found.set(None);
        leptos::task::spawn_local(async move {
            let answer = crate::api::search_cases(&site, &text, wanted).await;
            if asked.try_get_value() == Some(this) {
                found.try_set(Some(answer));
            }
        });
    };
    search();
    let empty = move || {
        let text = query.get_untracked();
        let which = match CaseStatus::parse(&status.get_untracked()) {
            Some(CaseStatus::Open) => "open case",
            Some(CaseStatus::Resolved) => "resolved case",
            None => "case",
        };
        if text.trim().is_empty() {
            format!("No {which} you may see yet. Cases are opened from a chat's Customer tab.")
        } else {
            format!("No {which} you may see matches “{}”.", text.trim())
        }
    };
    Some(view! {
        <section class="contacts cases" aria-labelledby="cases-title">
            <h3 id="cases-title">"Cases"</h3>
            <form class="record-form find-contact" role="search" aria-label="Find a case" on:submit=move |event| {
                event.prevent_default();
                search();
            }>
                <label for="case-search">"Find a case"</label>
                <div class="inline">
                    <input type="search" id="case-search" data-console="home-case-search" maxlength="254"
                        placeholder="Title or contact name"
                        prop:value=move || query.get()
                        on:input=move |event| query.set(event_target_value(&event)) />
                    <select data-console="home-case-status" aria-label="Which cases"
                        prop:value=move || status.get()
                        on:change=move |event| {
                            status.set(event_target_value(&event));
                            search();
                        }>
                        {SHOWN.iter().map(|(value, label)| view! { <option value=*value>{*label}</option> }).collect_view()}
                    </select>
                    <button class="secondary" type="submit" data-console="home-case-go">"Find"</button>
                </div>
            </form>
            <div aria-live="polite">
                {move || match found.get() {
                    None => view! { <p class="muted">"Searching…"</p> }.into_any(),
                    Some(Err(message)) => view! { <p class="error" role="alert">{message}</p> }.into_any(),
                    Some(Ok(cases)) if cases.is_empty() => view! {
                        <p class="muted" data-console="home-case-none">{empty()}</p>
                    }.into_any(),
                    Some(Ok(cases)) => {
                        let count = cases.len();
                        view! {
                        <ul class="found-contacts" data-console="home-case-list">
                            {cases.into_iter().map(|CaseEntry { case, contact_name }| {
                                let resolved = case.status == CaseStatus::Resolved;
                                let (title, page) = (case.title.clone(), Page::Case(case.id.clone()));
                                view! {
                                    <li data-console="home-case-item" data-id=case.id.clone()>
                                        <span class="case-text">
                                            <span>
                                                <span class="found-name">{case.title.clone()}</span>" "
                                                <span class="record-pill" class:resolved=resolved>{case.status.label()}</span>
                                            </span>
                                            <span class="muted found-reach">{format!("{contact_name} · changed {}", crate::session::clock_text(case.updated_at_ms))}</span>
                                        </span>
                                        <button class="secondary" data-console="home-case-pick"
                                            aria-label=format!("Open {title}")
                                            title="Open the case's record; Shift+click opens it without leaving Home"
                                            on:click=move |event| console.open_record(page.clone(), &title, event.shift_key())>"Open"</button>
                                    </li>
                                }
                            }).collect_view()}
                        </ul>
                        <crate::session::More count=count />
                    }.into_any()
                    }
                }}
            </div>
        </section>
    })
}
