//! Home's Contacts: the site's contacts this agent may see, the latest first, searched by part of a
//! name, email or phone. Open (or the row's name) opens the contact's record session; Shift+click opens
//! it without leaving Home, as work items do.

use leptos::prelude::*;
use protocol::Contact;

use crate::console::use_console;

/// The demo and most installations have one site; the console searches the first site it has seen a
/// conversation of, else `demo`.
fn site(console: crate::console::Console) -> String {
    let from_sessions = console.sessions.with_untracked(|sessions| {
        sessions
            .first()
            .map(|session| session.view.with_untracked(|view| view.site_id.clone()))
    });
    from_sessions.unwrap_or_else(|| "demo".to_owned())
}

#[component]
pub fn Contacts() -> impl IntoView {
    let console = use_console()?;
    let query = RwSignal::new(String::new());
    let found = RwSignal::new(None::<Result<Vec<Contact>, String>>);
    let asked = StoredValue::new(0u64);
    let search = move || {
        let text = query.get_untracked();
        let site = site(console);
        asked.update_value(|asked| *asked += 1);
        let this = asked.get_value();
        leptos::task::spawn_local(async move {
            let answer = crate::api::search_contacts(&site, &text).await;
            if asked.try_get_value() == Some(this) {
                found.try_set(Some(answer));
            }
        });
    };
    // The latest contacts, as soon as Home shows.
    search();
    Some(view! {
        <section class="contacts" aria-labelledby="contacts-title">
            <h3 id="contacts-title">"Contacts"</h3>
            <form class="record-form find-contact" role="search" on:submit=move |event| { event.prevent_default(); search(); }>
                <label for="home-contact-search" class="sr-only">"Find a contact"</label>
                <div class="inline">
                    <input type="search" id="home-contact-search" data-console="home-contact-search" maxlength="254"
                        placeholder="Name, email or phone"
                        prop:value=move || query.get()
                        on:input=move |event| query.set(event_target_value(&event)) />
                    <button class="secondary" type="submit" data-console="home-contact-go">"Find"</button>
                </div>
            </form>
            <div aria-live="polite">
                {move || match found.get() {
                    None => view! { <p class="muted">"Loading…"</p> }.into_any(),
                    Some(Err(message)) => view! { <p class="error" role="alert">{message}</p> }.into_any(),
                    Some(Ok(contacts)) if contacts.is_empty() => view! {
                        <p class="muted" data-console="home-contacts-empty">{
                            if query.get_untracked().trim().is_empty() {
                                "No contacts yet. Link a chat to a contact from its Customer tab.".to_owned()
                            } else {
                                format!("No contact you may see matches “{}”.", query.get_untracked().trim())
                            }
                        }</p>
                    }.into_any(),
                    Some(Ok(contacts)) => view! {
                        <ul class="found-contacts" data-console="home-contacts">
                            {contacts.into_iter().map(|contact| {
                                let reach = [contact.email.as_str(), contact.phone.as_str()]
                                    .into_iter()
                                    .filter(|part| !part.is_empty())
                                    .collect::<Vec<_>>()
                                    .join(" · ");
                                let name = contact.name.clone();
                                let contact_id = contact.id.clone();
                                view! {
                                    <li data-console="home-contact" data-id=contact_id>
                                        <span class="found-name">{contact.name.clone()}</span>
                                        <span class="muted found-reach">{reach}</span>
                                        <button class="secondary" data-console="home-contact-open"
                                            aria-label=format!("Open {name}")
                                            title="Open the contact; Shift+click opens it without leaving Home"
                                            on:click=move |event| console.open_contact(&contact, event.shift_key())>"Open"</button>
                                    </li>
                                }
                            }).collect_view()}
                        </ul>
                    }.into_any(),
                }}
            </div>
        </section>
    })
}
