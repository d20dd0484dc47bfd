//! The workspace: the top bar, the Sessions pane (Home pinned, one entry per session), incoming offers,
//! and the focused session or Home.

mod offers;
mod password_dialog;
mod session_list;
mod top_bar;

use leptos::prelude::*;
use protocol::Me;

use crate::console::{Console, Page, use_console};
use crate::home::Home;
use crate::session::SessionView;
use crate::supervisor::{AuditLog, Ongoing};

#[component]
pub fn Workspace(me: RwSignal<Option<Me>>, signed_out: RwSignal<Option<String>>) -> impl IntoView {
    let console = Console::start();
    // The session ended while the console was open: back to the login screen, saying why.
    Effect::new(move |_| {
        if let Some(reason) = console.signed_out.get() {
            signed_out.set(Some(reason));
            me.set(None);
        }
    });
    let role = me
        .get_untracked()
        .map_or(protocol::Role::Agent, |me| me.role);
    let sites = me.get_untracked().map(|me| me.sites).unwrap_or_default();
    view! {
        <div class="workspace" class:collapsed=move || console.collapsed.get()>
            <top_bar::TopBar me=me />
            <session_list::SessionList role=role />
            <offers::Offers />
            <NoticeLine />
            <main class="focus">
                {move || match (console.focused.get(), console.page.get()) {
                    (Some(id), _) => view! { <SessionView conversation_id=id /> }.into_any(),
                    (None, Page::Ongoing) => view! { <Ongoing /> }.into_any(),
                    (None, Page::Contact(contact_id)) => view! { <crate::home::ContactRecordView contact_id=contact_id /> }.into_any(),
                    (None, Page::Case(case_id)) => view! { <crate::home::CaseRecordView case_id=case_id /> }.into_any(),
                    (None, Page::Audit) if role == protocol::Role::Admin => view! { <AuditLog /> }.into_any(),
                    (None, _) => view! { <Home role=role sites=sites.clone() /> }.into_any(),
                }}
            </main>
        </div>
    }
}

/// The line under the top bar: a failure as an alert, news as a status, each with a button to dismiss
/// it. The live regions stay in the page so screen readers announce what arrives in them.
#[component]
fn NoticeLine() -> impl IntoView {
    let console = use_console()?;
    let told = move |failure: bool| {
        console
            .notice
            .get()
            .filter(|told| told.failure == failure)
            .map(|told| told.text)
    };
    let line = move |failure: bool| {
        view! {
            <span class="text">{move || told(failure)}</span>
            <Show when=move || told(failure).is_some()>
                <button class="dismiss" data-console="dismiss-notice" aria-label="Dismiss"
                    on:click=move |_| console.notice.set(None)>"×"</button>
            </Show>
        }
    };
    Some(view! {
        <div class="notice-line">
            <p class="notice" role="alert" data-console="notice" class:shown=move || told(true).is_some()>{line(true)}</p>
            <p class="notice news" role="status" data-console="news" class:shown=move || told(false).is_some()>{line(false)}</p>
        </div>
    })
}
