//! A contact's record session: who they are (editable), their cases (resolved or reopened here), and
//! their conversations, each of which opens to read (Shift+click: without leaving the record).

use leptos::prelude::*;
use protocol::{CaseStatus, ContactConversation, ContactFields, ContactRecord};

use super::record::Record;
use crate::console::{Page, use_console};
use crate::session::{ContactForm, fields_of, or_none, set_field};

#[component]
pub fn ContactRecordView(contact_id: String) -> impl IntoView {
    let console = use_console()?;
    let editing = RwSignal::new(None::<ContactFields>);
    let id = StoredValue::new(contact_id);
    let record = Record::new(
        move || {
            let id = id.get_value();
            async move { crate::api::contact_record(&id).await }
        },
        move |loaded: &ContactRecord| {
            console.renamed_record(&Page::Contact(id.get_value()), &loaded.contact.name)
        },
    );
    let (problem, busy) = (record.problem, record.busy);
    let save = move || {
        let Some(fields) = editing.get_untracked() else {
            return;
        };
        if let Err(message) = protocol::check_contact(&fields) {
            return record.refuse(message);
        }
        let id = id.get_value();
        record.change(
            async move { crate::api::update_contact(&id, &fields).await },
            move || {
                editing.try_set(None);
            },
        );
    };
    let set_status = move |case_id: String, status: CaseStatus| {
        record.change(
            async move { crate::api::set_case_status(&case_id, status).await },
            || (),
        );
    };
    Some(view! {
        <article class="record-view" aria-labelledby="record-title" data-console="contact-record">
            {move || match record.loaded.get() {
                None => view! { <p class="muted">"Loading…"</p> }.into_any(),
                Some(Err(message)) => view! { <p class="error" role="alert">{message}</p> }.into_any(),
                Some(Ok(loaded)) => {
                    let contact = loaded.contact.clone();
                    view! {
                        <header>
                            <h2 id="record-title">{contact.name.clone()}</h2>
                            {contact.verified.then(|| view! {
                                <span class="record-pill" title="The site vouched for this customer with a signed identity">"Verified"</span>
                            })}
                            <span class="state">"Contact"</span>
                        </header>
                        <Show when=move || problem.get().is_some()>
                            <p class="error record-problem" role="alert">{move || problem.get()}</p>
                        </Show>
                        <div class="record-columns">
                            <section aria-labelledby="record-details">
                                <h3 id="record-details" class="journey-title">"Details"</h3>
                                {
                                    let contact = contact.clone();
                                    move || match editing.get() {
                                        Some(_) => view! {
                                            <ContactForm key=format!("record-{}", id.get_value()) busy=busy
                                                fields=Signal::derive(move || editing.get().unwrap_or_default())
                                                write=Callback::new(move |(name, value): (&'static str, String)| {
                                                    editing.update(|fields| if let Some(fields) = fields { set_field(fields, name, value) });
                                                })
                                                on_save=Callback::new(move |()| save())
                                                editing=Signal::derive(|| true) />
                                            <button class="secondary" data-console="contact-cancel" on:click=move |_| editing.set(None)>"Cancel"</button>
                                        }.into_any(),
                                        None => {
                                            let shown = contact.clone();
                                            view! {
                                                <dl class="details contact">
                                                    <div class="detail"><dt>"Email"</dt><dd data-console="contact-email">{or_none(&shown.email)}</dd></div>
                                                    <div class="detail"><dt>"Phone"</dt><dd data-console="contact-phone">{or_none(&shown.phone)}</dd></div>
                                                    <div class="detail"><dt>"Notes"</dt><dd class="notes" data-console="contact-notes">{or_none(&shown.notes)}</dd></div>
                                                </dl>
                                                <button class="secondary" data-console="contact-edit"
                                                    on:click=move |_| editing.set(Some(fields_of(&shown)))>"Edit contact"</button>
                                            }.into_any()
                                        }
                                    }
                                }
                            </section>
                            <section aria-labelledby="record-cases">
                                <h3 id="record-cases" class="journey-title">"Cases"</h3>
                                {if loaded.cases.is_empty() {
                                    view! { <p class="muted" data-console="record-no-cases">"No cases yet. Open one from a chat's Customer tab."</p> }.into_any()
                                } else {
                                    view! {
                                        <ul class="record-list" data-console="record-cases">
                                            {loaded.cases.iter().map(|case| {
                                                let (case_id, status) = (case.id.clone(), case.status);
                                                let (next, verb) = case_toggle(status);
                                                let (title, opened) = (case.title.clone(), Page::Case(case.id.clone()));
                                                view! {
                                                    <li data-console="record-case">
                                                        <span class="found-name">{case.title.clone()}</span>
                                                        <span class="record-pill" class:resolved=status == CaseStatus::Resolved>{status.label()}</span>
                                                        <span class="muted found-reach">{format!("Opened {}", crate::session::clock_text(case.created_at_ms))}</span>
                                                        <button class="secondary" data-console="record-case-toggle"
                                                            aria-label=format!("{verb} {}", case.title)
                                                            on:click=move |_| set_status(case_id.clone(), next)>{verb}</button>
                                                        <button class="secondary" data-console="record-case-open"
                                                            aria-label=format!("Open the case {title}")
                                                            title="Open the case's record; Shift+click opens it without leaving this one"
                                                            on:click=move |event| console.open_record(opened.clone(), &title, event.shift_key())>"Open"</button>
                                                    </li>
                                                }
                                            }).collect_view()}
                                        </ul>
                                    }.into_any()
                                }}
                                <h3 class="context-title">"Conversations"</h3>
                                <LinkedConversations conversations=loaded.conversations.clone() />
                            </section>
                        </div>
                    }.into_any()
                }
            }}
        </article>
    })
}

/// A record's conversations, newest first, each opened to read by Open (Shift+click: in the background).
#[component]
pub fn LinkedConversations(conversations: Vec<ContactConversation>) -> impl IntoView {
    let console = use_console()?;
    if conversations.is_empty() {
        return Some(view! { <p class="muted" data-console="record-no-conversations">"No conversations."</p> }.into_any());
    }
    Some(view! {
        <ul class="record-list" data-console="record-conversations">
            {conversations.into_iter().map(|conversation| {
                let conversation_id = conversation.id.clone();
                view! {
                    <li data-console="record-conversation" data-id=conversation.id.clone()>
                        <span class="found-name">{conversation.title.clone()}</span>
                        <span class="muted found-reach">{format!("{} · started {}", conversation.state.label(), crate::session::clock_text(conversation.created_at_ms))}</span>
                        <button class="secondary" data-console="record-conversation-open"
                            aria-label=format!("Open the conversation {}", conversation.title)
                            title="Read the conversation; Shift+click opens it without leaving this record"
                            on:click=move |event| console.open_to_read(conversation_id.clone(), event.shift_key())>"Open"</button>
                    </li>
                }
            }).collect_view()}
        </ul>
    }.into_any())
}

/// What a case's button does next: resolve an open case, reopen a resolved one.
pub fn case_toggle(status: CaseStatus) -> (CaseStatus, &'static str) {
    match status {
        CaseStatus::Open => (CaseStatus::Resolved, "Resolve"),
        CaseStatus::Resolved => (CaseStatus::Open, "Reopen"),
    }
}
