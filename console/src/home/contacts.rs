//! Home's Contacts: the site's contacts this agent may see, the latest first, searched by part of a
//! name, email or phone. Open opens the contact's record session; Shift+click opens it without leaving
//! Home, as work items do.

use leptos::prelude::*;

use crate::console::use_console;
use crate::session::ContactSearch;

#[component]
pub fn Contacts() -> impl IntoView {
    let console = use_console()?;
    // Most installations have one site: the one of the agent's sessions, else the demo's.
    let site = Signal::derive(move || {
        console.sessions.with(|sessions| {
            sessions
                .first()
                .map(|session| session.view.with(|view| view.site_id.clone()))
                .unwrap_or_else(|| "demo".to_owned())
        })
    });
    Some(view! {
        <section class="contacts" aria-labelledby="contacts-title">
            <h3 id="contacts-title">"Contacts"</h3>
            <ContactSearch key="home".to_owned() label="Find a contact" hooks="home-contact" pick="Open"
                site=site latest=true
                on_pick=Callback::new(move |(contact, background): (protocol::Contact, bool)| {
                    console.open_contact(&contact, background);
                }) />
        </section>
    })
}
