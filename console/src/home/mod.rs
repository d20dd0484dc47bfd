//! Home, always first in the Sessions pane: the work-item streams, the contacts and cases, offline
//! messages, and for admins the accounts.

mod accounts;
mod case;
mod cases;
mod contact;
mod contacts;
mod offline;
mod record;
mod work_items;

pub use case::CaseRecordView;
pub use contact::ContactRecordView;

pub use work_items::waited;

use leptos::prelude::*;
use protocol::Presence;

use crate::console::use_console;

#[component]
pub fn Home(role: protocol::Role, sites: Vec<protocol::SiteName>) -> impl IntoView {
    let console = use_console()?;
    let empty = move || {
        if console.presence.get() == Presence::Available {
            "No conversations yet. Chats offered to you appear at the top as they arrive."
        } else {
            "No conversations yet. Set your presence to Available to receive chats."
        }
    };
    // Contacts and cases are per site: the site of the agent's first session, else the first one
    // configured; a server with several sites lets the agent choose.
    let first = console
        .sessions
        .with_untracked(|sessions| {
            sessions
                .first()
                .map(|session| session.view.with_untracked(|view| view.site_id.clone()))
        })
        .or_else(|| sites.first().map(|site| site.id.clone()))
        .unwrap_or_default();
    let chosen = RwSignal::new(first);
    let choice = (sites.len() > 1).then(|| {
        view! {
            <label class="site-choice">"Site "
                <select data-console="home-site" prop:value=move || chosen.get()
                    on:change=move |event| chosen.set(event_target_value(&event))>
                    {sites.iter().map(|site| view! { <option value=site.id.clone()>{site.name.clone()}</option> }).collect_view()}
                </select>
            </label>
        }
    });
    Some(view! {
        <section class="home-view" aria-labelledby="home-title">
            <h2 id="home-title">"Home"</h2>
            <Show when=move || console.sessions.with(Vec::is_empty)
                fallback=move || view! { <p>"Select a session on the left, or press Alt and its number."</p> }>
                <p data-console="home-empty">{empty}</p>
            </Show>
            <div class="streams">
                <work_items::WorkItems />
            </div>
            {choice}
            // Both lists start again when the site changes.
            {move || {
                let id = chosen.get();
                let site = Signal::derive(move || id.clone());
                view! {
                    <div class="records">
                        <contacts::Contacts site=site />
                        <cases::Cases site=site />
                    </div>
                }
            }}
            <offline::OfflineMessages />
            <accounts::AgentsAdmin role=role />
        </section>
    })
}
