//! The customer record in the session's application area: the contact the conversation is linked to
//! (from the site's signed identity, or linked by an agent), a form to make one or to find and link a
//! known one, and the case opened for it, which resolving the session resolves. Unsaved edits, the
//! form and a new case's title, are kept with the session (`CustomerDraft`): they survive switching
//! sessions and a reload. Everything the customer or the team wrote is shown as text.

use leptos::prelude::*;
use protocol::{CaseStatus, Contact, ContactFields, ConversationState};
use serde::{Deserialize, Serialize};

use crate::console::{SessionSignals, use_console};

/// What the agent is writing on the record and has not saved.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerDraft {
    /// The contact form: a new contact, or the linked one being edited.
    pub fields: ContactFields,
    /// Editing the linked contact (rather than showing it).
    pub editing: bool,
    /// A new case's title.
    pub case_title: String,
}

/// The form's fields as the contact has them.
pub fn fields_of(contact: &Contact) -> ContactFields {
    ContactFields {
        name: contact.name.clone(),
        email: contact.email.clone(),
        phone: contact.phone.clone(),
        notes: contact.notes.clone(),
    }
}

#[component]
pub fn Customer(session: SessionSignals) -> impl IntoView {
    let console = use_console()?;
    let contact = move || session.view.with(|view| view.contact.clone());
    let case = move || session.view.with(|view| view.case.clone());
    // The owner and supervisors change the record; a consultant or a reader only reads it.
    let writable = move || {
        session.access.get().writes_to_customer()
            && session
                .view
                .with(|view| view.state != ConversationState::Closed)
    };
    let problem = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let id = move || session.id.get_value();
    // Every write reads the conversation back, so the session shows what the server kept.
    let saved = move |result: Result<(), String>| {
        busy.set(false);
        match result {
            Ok(()) => {
                problem.set(None);
                console.reload_session(id());
            }
            Err(message) => problem.set(Some(message)),
        }
    };
    let save_contact = move || {
        let draft = session.customer.get_untracked();
        if let Err(message) = protocol::check_contact(&draft.fields) {
            problem.set(Some(message));
            return;
        }
        busy.set(true);
        let linked = session.view.with_untracked(|view| view.contact.clone());
        leptos::task::spawn_local(async move {
            let result = match linked {
                Some(contact) => crate::api::update_contact(&contact.id, &draft.fields)
                    .await
                    .map(drop),
                None => crate::api::create_contact(&id(), draft.fields)
                    .await
                    .map(drop),
            };
            if result.is_ok() {
                session.customer.update(|draft| {
                    draft.fields = ContactFields::default();
                    draft.editing = false;
                });
            }
            saved(result);
        });
    };
    let open_case = move || {
        let title = session.customer.get_untracked().case_title;
        if let Err(message) = protocol::check_case_title(&title) {
            problem.set(Some(message));
            return;
        }
        busy.set(true);
        leptos::task::spawn_local(async move {
            let result = crate::api::create_case(&id(), &title).await.map(drop);
            if result.is_ok() {
                session.customer.update(|draft| draft.case_title.clear());
            }
            saved(result);
        });
    };
    let resolve_case = move |case_id: String| {
        busy.set(true);
        leptos::task::spawn_local(async move {
            saved(
                crate::api::set_case_status(&case_id, CaseStatus::Resolved)
                    .await
                    .map(drop),
            );
        });
    };
    let edit = move |_| {
        if let Some(contact) = contact() {
            session.customer.update(|draft| {
                draft.fields = fields_of(&contact);
                draft.editing = true;
            });
        }
    };
    let cancel = move |_| {
        problem.set(None);
        session.customer.update(|draft| {
            draft.fields = ContactFields::default();
            draft.editing = false;
        });
    };
    let showing_form = move || contact().is_none() || session.customer.with(|draft| draft.editing);
    Some(view! {
        <Show when=move || problem.get().is_some()>
            <p class="error record-problem" role="alert" data-console="record-problem">{move || problem.get()}</p>
        </Show>
        <h3 class="journey-title">"Contact"</h3>
        {move || match contact() {
            Some(contact) if !session.customer.with(|draft| draft.editing) => view! {
                <dl class="details contact" data-console="contact">
                    <div class="detail">
                        <dt>"Name"</dt>
                        <dd data-console="contact-name">
                            {contact.name.clone()}
                            {contact.verified.then(|| view! {
                                " "<span class="record-pill" data-console="contact-verified"
                                    title="The site vouched for this customer with a signed identity">"Verified"</span>
                            })}
                        </dd>
                    </div>
                    <div class="detail"><dt>"Email"</dt><dd data-console="contact-email">{or_none(&contact.email)}</dd></div>
                    <div class="detail"><dt>"Phone"</dt><dd data-console="contact-phone">{or_none(&contact.phone)}</dd></div>
                    <div class="detail"><dt>"Notes"</dt><dd class="notes" data-console="contact-notes">{or_none(&contact.notes)}</dd></div>
                </dl>
                <Show when=writable>
                    <button class="secondary" data-console="contact-edit" on:click=edit>"Edit contact"</button>
                </Show>
            }.into_any(),
            _ => ().into_any(),
        }}
        <Show when=move || contact().is_none()>
            <p class="muted" data-console="contact-none">"This conversation is not linked to a contact yet."</p>
        </Show>
        <Show when=move || writable() && contact().is_none()>
            <ContactSearch key=session.id.get_value() label="Find a known contact" hooks="contact-find" pick="Link"
                site=Signal::derive(move || session.view.with(|view| view.site_id.clone())) latest=false
                on_pick=Callback::new(move |(contact, _): (Contact, bool)| {
                    busy.set(true);
                    leptos::task::spawn_local(async move {
                        saved(crate::api::link_contact(&id(), &contact.id).await.map(drop));
                    });
                }) />
        </Show>
        <Show when=move || writable() && showing_form()>
            <Show when=move || contact().is_none()>
                <p class="form-title" data-console="contact-new-title">"Or make a new contact"</p>
            </Show>
            <ContactForm key=session.id.get_value() busy=busy
                fields=Signal::derive(move || session.customer.with(|draft| draft.fields.clone()))
                write=Callback::new(move |(name, value): (&'static str, String)| {
                    session.customer.update(|draft| set_field(&mut draft.fields, name, value));
                })
                on_save=Callback::new(move |()| save_contact())
                editing=Signal::derive(move || contact().is_some()) />
            <Show when=move || contact().is_some()>
                <button class="secondary" type="button" data-console="contact-cancel" on:click=cancel>"Cancel"</button>
            </Show>
        </Show>
        <h3 class="context-title">"Case"</h3>
        {move || match case() {
            Some(case) => {
                let case_id = case.id.clone();
                let open = case.status == CaseStatus::Open;
                view! {
                    <p class="case" data-console="case">
                        <span class="case-title" data-console="case-title">{case.title.clone()}</span>" "
                        <span class="record-pill" class:resolved=!open data-console="case-status">{case.status.label()}</span>
                    </p>
                    <Show when=move || open && writable()>
                        {
                            let case_id = case_id.clone();
                            view! {
                                <button class="secondary" data-console="case-resolve" disabled=move || busy.get()
                                    on:click=move |_| resolve_case(case_id.clone())>"Resolve case"</button>
                            }
                        }
                    </Show>
                }.into_any()
            }
            None => view! {
                <p class="muted" data-console="case-none">{move || if contact().is_some() {
                    "No case is open for this conversation."
                } else {
                    "Link a contact to open a case for them."
                }}</p>
            }.into_any(),
        }}
        <Show when=move || writable() && contact().is_some() && case().is_none()>
            <form class="record-form case-form" on:submit=move |event| { event.prevent_default(); open_case(); }>
                <label for=move || format!("case-title-{}", id())>"New case"</label>
                <div class="inline">
                    <input type="text" data-console="case-title-input" maxlength="200" required
                        id=move || format!("case-title-{}", id())
                        placeholder="What the customer needs, in a few words"
                        prop:value=move || session.customer.with(|draft| draft.case_title.clone())
                        on:input=move |event| session.customer.update(|draft| draft.case_title = event_target_value(&event)) />
                    <button class="primary" type="submit" data-console="case-open" disabled=move || busy.get()>"Open case"</button>
                </div>
            </form>
        </Show>
    })
}

/// A field's value, or a dash for none.
pub fn or_none(value: &str) -> String {
    if value.trim().is_empty() {
        "—".to_owned()
    } else {
        value.to_owned()
    }
}

/// The contact form: name (required), email, phone and notes. `fields` is what it shows, `write` gets
/// each edit (the field's name and its new value); `key` makes its elements' ids unique in the page.
#[component]
pub fn ContactForm(
    key: String,
    fields: Signal<ContactFields>,
    write: Callback<(&'static str, String)>,
    busy: RwSignal<bool>,
    on_save: Callback<()>,
    editing: Signal<bool>,
) -> impl IntoView {
    let id = move |field: &str| format!("contact-{field}-{key}");
    let value = move |name: &'static str| {
        move || {
            fields.with(|fields| match name {
                "name" => fields.name.clone(),
                "email" => fields.email.clone(),
                "phone" => fields.phone.clone(),
                _ => fields.notes.clone(),
            })
        }
    };
    let input = move |name: &'static str| {
        move |event: leptos::ev::Event| write.run((name, event_target_value(&event)))
    };
    view! {
        <form class="record-form" data-console="contact-form" on:submit=move |event| { event.prevent_default(); on_save.run(()); }>
            <label for=id("name")>"Name"</label>
            <input type="text" data-console="contact-name-input" maxlength="254" required autocomplete="off"
                id=id("name") prop:value=value("name") on:input=input("name") />
            <label for=id("email")>"Email"</label>
            <input type="email" data-console="contact-email-input" maxlength="254" autocomplete="off"
                id=id("email") prop:value=value("email") on:input=input("email") />
            <label for=id("phone")>"Phone"</label>
            <input type="tel" data-console="contact-phone-input" maxlength="254" autocomplete="off"
                id=id("phone") prop:value=value("phone") on:input=input("phone") />
            <label for=id("notes")>"Notes"</label>
            <textarea data-console="contact-notes-input" rows="3" maxlength="4000"
                id=id("notes") prop:value=value("notes") on:input=input("notes")></textarea>
            <button class="primary" type="submit" data-console="contact-save" disabled=move || busy.get()>
                {move || if editing.get() { "Save contact" } else { "Create contact" }}
            </button>
        </form>
    }
}

/// Writes one field of the contact form.
pub fn set_field(fields: &mut ContactFields, name: &str, value: String) {
    match name {
        "name" => fields.name = value,
        "email" => fields.email = value,
        "phone" => fields.phone = value,
        _ => fields.notes = value,
    }
}

/// Finding a site's contacts by part of a name, email or phone: a search box and the contacts this
/// agent may see, each with one action (`pick`, told whether Shift was held). `hooks` prefixes its
/// `data-console` names; `latest` lists the latest contacts before anything is searched.
#[component]
pub fn ContactSearch(
    key: String,
    label: &'static str,
    hooks: &'static str,
    pick: &'static str,
    site: Signal<String>,
    latest: bool,
    on_pick: Callback<(Contact, bool)>,
) -> impl IntoView {
    let query = RwSignal::new(String::new());
    let found = RwSignal::new(None::<Result<Vec<Contact>, String>>);
    let asked = StoredValue::new(0u64);
    let search = move || {
        let text = query.get_untracked();
        let site = site.get_untracked();
        asked.update_value(|asked| *asked += 1);
        let this = asked.get_value();
        found.set(None);
        leptos::task::spawn_local(async move {
            let answer = crate::api::search_contacts(&site, &text).await;
            if asked.try_get_value() == Some(this) {
                found.try_set(Some(answer));
            }
        });
    };
    let searched = RwSignal::new(latest);
    if latest {
        search();
    }
    let input_id = format!("contact-search-{key}");
    let hook = move |what: &str| format!("{hooks}-{what}");
    view! {
        <form class="record-form find-contact" role="search" aria-label=label on:submit=move |event| {
            event.prevent_default();
            searched.set(true);
            search();
        }>
            <label for=input_id.clone()>{label}</label>
            <div class="inline">
                <input type="search" data-console=hook("search") maxlength="254" id=input_id
                    placeholder="Name, email or phone"
                    prop:value=move || query.get()
                    on:input=move |event| query.set(event_target_value(&event)) />
                <button class="secondary" type="submit" data-console=hook("go")>"Find"</button>
            </div>
        </form>
        <div aria-live="polite">
            {move || match (searched.get(), found.get()) {
                (false, _) => ().into_any(),
                (true, None) => view! { <p class="muted">"Searching…"</p> }.into_any(),
                (true, Some(Err(message))) => view! { <p class="error" role="alert">{message}</p> }.into_any(),
                (true, Some(Ok(contacts))) if contacts.is_empty() => view! {
                    <p class="muted" data-console=hook("none")>{
                        let text = query.get_untracked();
                        if text.trim().is_empty() {
                            "No contacts yet. Link a chat to a contact from its Customer tab.".to_owned()
                        } else {
                            format!("No contact you may see matches “{}”.", text.trim())
                        }
                    }</p>
                }.into_any(),
                (true, Some(Ok(contacts))) => {
                    let count = contacts.len();
                    view! {
                    <ul class="found-contacts" data-console=hook("list")>
                        {contacts.into_iter().map(|contact| {
                            let reach = [contact.email.as_str(), contact.phone.as_str()]
                                .into_iter()
                                .filter(|part| !part.is_empty())
                                .collect::<Vec<_>>()
                                .join(" · ");
                            let (name, contact_id) = (contact.name.clone(), contact.id.clone());
                            view! {
                                <li data-console=hook("item") data-id=contact_id>
                                    <span class="found-name">{name.clone()}</span>
                                    <span class="muted found-reach">{reach}</span>
                                    <button class="secondary" data-console=hook("pick")
                                        aria-label=format!("{pick} {name}")
                                        on:click=move |event| on_pick.run((contact.clone(), event.shift_key()))>{pick}</button>
                                </li>
                            }
                        }).collect_view()}
                    </ul>
                    <More count=count />
                }.into_any()
                }
            }}
        </div>
    }
}

/// Under a search's results: when the server answered with as many as it gives, that there may be
/// more, and how to find them.
#[component]
pub fn More(count: usize) -> impl IntoView {
    (count >= protocol::records::RECORD_SEARCH_LIMIT).then(|| {
        view! {
            <p class="muted more-found" data-console="more-found">
                {format!("The {count} most recently changed. Search to find others.")}
            </p>
        }
    })
}
