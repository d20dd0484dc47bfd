//! Home's Contacts: the site's contacts this agent may see, the latest first, searched by part of a
//! name, email or phone. Open opens the contact's record session; Shift+click opens it without leaving
//! Home, as work items do.

use leptos::prelude::*;

use crate::console::{Page, use_console};
use crate::session::ContactSearch;

#[component]
pub fn Contacts(site: Signal<String>) -> impl IntoView {
    let console = use_console()?;
    Some(view! {
        <section class="contacts" aria-labelledby="contacts-title">
            <h3 id="contacts-title">"Contacts"</h3>
            <ContactSearch key="home".to_owned() label="Find a contact" hooks="home-contact" pick="Open"
                site=site latest=true
                on_pick=Callback::new(move |(contact, background): (protocol::Contact, bool)| {
                    console.open_record(Page::Contact(contact.id.clone()), &contact.name, background);
                }) />
        </section>
    })
}
