//! A case's record session: its title (retitled here), its status (resolved or reopened here), its
//! contact (opened as a record of its own) and the conversations linked to it, each of which opens to
//! read (Shift+click: without leaving the case).

use leptos::prelude::*;
use protocol::{CaseRecord, CaseStatus};

use super::contact::{LinkedConversations, case_toggle};
use super::record::Record;
use crate::console::{Page, use_console};
use crate::session::or_none;

#[component]
pub fn CaseRecordView(case_id: String) -> impl IntoView {
    let console = use_console()?;
    // The title being rewritten, while the agent edits it.
    let retitling = RwSignal::new(None::<String>);
    let id = StoredValue::new(case_id);
    let record = Record::new(
        move || {
            let id = id.get_value();
            async move { crate::api::case_record(&id).await }
        },
        move |loaded: &CaseRecord| {
            console.renamed_record(&Page::Case(id.get_value()), &loaded.case.title)
        },
    );
    let (problem, busy) = (record.problem, record.busy);
    let save_title = move || {
        let Some(title) = retitling.get_untracked() else {
            return;
        };
        if let Err(message) = protocol::check_case_title(&title) {
            return record.refuse(message);
        }
        let id = id.get_value();
        record.change(
            async move { crate::api::rename_case(&id, &title).await },
            move || {
                retitling.try_set(None);
            },
        );
    };
    let set_status = move |status: CaseStatus| {
        let id = id.get_value();
        record.change(
            async move { crate::api::set_case_status(&id, status).await },
            || (),
        );
    };
    Some(view! {
        <article class="record-view" aria-labelledby="record-title" data-console="case-record">
            {move || match record.loaded.get() {
                None => view! { <p class="muted">"Loading…"</p> }.into_any(),
                Some(Err(message)) => view! { <p class="error" role="alert">{message}</p> }.into_any(),
                Some(Ok(loaded)) => {
                    let CaseRecord { case, contact, conversations } = loaded;
                    let status = case.status;
                    let (next, verb) = case_toggle(status);
                    let title = case.title.clone();
                    let contact_page = Page::Contact(contact.id.clone());
                    let contact_name = contact.name.clone();
                    view! {
                        <header>
                            <h2 id="record-title">{case.title.clone()}</h2>
                            <span class="record-pill" class:resolved=status == CaseStatus::Resolved
                                data-console="case-status">{status.label()}</span>
                            <span class="state">"Case"</span>
                        </header>
                        <Show when=move || problem.get().is_some()>
                            <p class="error record-problem" role="alert">{move || problem.get()}</p>
                        </Show>
                        <div class="record-columns">
                            <section aria-labelledby="record-details">
                                <h3 id="record-details" class="journey-title">"Details"</h3>
                                {move || match retitling.get() {
                                    Some(_) => view! {
                                        <form class="record-form" on:submit=move |event| {
                                            event.prevent_default();
                                            save_title();
                                        }>
                                            <label for="case-title-input">"Title"</label>
                                            <input id="case-title-input" data-console="case-title-input" maxlength="200" required
                                                prop:value=move || retitling.get().unwrap_or_default()
                                                on:input=move |event| retitling.set(Some(event_target_value(&event))) />
                                            <div class="inline">
                                                <button type="submit" data-console="case-title-save"
                                                    disabled=move || busy.get()>"Save title"</button>
                                                <button type="button" class="secondary" data-console="case-title-cancel"
                                                    on:click=move |_| retitling.set(None)>"Cancel"</button>
                                            </div>
                                        </form>
                                    }.into_any(),
                                    None => {
                                        let title = title.clone();
                                        view! {
                                            <dl class="details contact">
                                                <div class="detail"><dt>"Status"</dt><dd>{status.label()}</dd></div>
                                                <div class="detail"><dt>"Opened"</dt><dd>{crate::session::clock_text(case.created_at_ms)}</dd></div>
                                                <div class="detail"><dt>"Last changed"</dt><dd>{crate::session::clock_text(case.updated_at_ms)}</dd></div>
                                            </dl>
                                            <div class="record-actions">
                                                <button data-console="case-toggle" disabled=move || busy.get()
                                                    on:click=move |_| set_status(next)>{format!("{verb} case")}</button>
                                                <button class="secondary" data-console="case-retitle"
                                                    on:click=move |_| retitling.set(Some(title.clone()))>"Edit title"</button>
                                            </div>
                                        }.into_any()
                                    }
                                }}
                                <h3 class="context-title">"Contact"</h3>
                                <dl class="details contact" data-console="case-contact">
                                    <div class="detail"><dt>"Name"</dt><dd data-console="case-contact-name">{contact.name.clone()}</dd></div>
                                    <div class="detail"><dt>"Email"</dt><dd>{or_none(&contact.email)}</dd></div>
                                    <div class="detail"><dt>"Phone"</dt><dd>{or_none(&contact.phone)}</dd></div>
                                </dl>
                                <button class="secondary" data-console="case-contact-open"
                                    aria-label=format!("Open contact {contact_name}")
                                    title="Open the contact's record; Shift+click opens it without leaving this case"
                                    on:click=move |event| console.open_record(contact_page.clone(), &contact_name, event.shift_key())>"Open contact"</button>
                            </section>
                            <section aria-labelledby="record-conversations">
                                <h3 id="record-conversations" class="journey-title">"Conversations"</h3>
                                <LinkedConversations conversations=conversations />
                            </section>
                        </div>
                    }.into_any()
                }
            }}
        </article>
    })
}
