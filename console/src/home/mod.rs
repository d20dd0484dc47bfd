//! Home, always first in the Sessions pane: the work-item streams, the contacts, offline messages,
//! and for admins the accounts.

mod accounts;
mod contact;
mod contacts;
mod offline;
mod work_items;

pub use contact::ContactRecordView;

pub use work_items::waited;

use leptos::prelude::*;
use protocol::Presence;

use crate::console::use_console;

#[component]
pub fn Home(role: protocol::Role) -> impl IntoView {
    let console = use_console()?;
    let empty = move || {
        if console.presence.get() == Presence::Available {
            "No conversations yet. Chats offered to you appear at the top as they arrive."
        } else {
            "No conversations yet. Set your presence to Available to receive chats."
        }
    };
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
            <contacts::Contacts />
            <offline::OfflineMessages />
            <accounts::AgentsAdmin role=role />
        </section>
    })
}
