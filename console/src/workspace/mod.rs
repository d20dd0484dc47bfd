//! The workspace: the top bar, the Sessions pane (Home pinned, one entry per session), incoming offers,
//! and the focused session or Home.

mod offers;
mod password_dialog;
mod session_list;
mod top_bar;

use leptos::prelude::*;
use protocol::Me;

use crate::console::Console;
use crate::home::Home;
use crate::session::SessionView;
use crate::supervisor::Ongoing;

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
    view! {
        <div class="workspace" class:collapsed=move || console.collapsed.get()>
            <top_bar::TopBar me=me />
            <session_list::SessionList />
            <offers::Offers />
            <p class="notice" role="alert">{move || console.notice.get()}</p>
            <main class="focus">
                {move || match console.focused.get() {
                    None if console.dashboard.get() => view! { <Ongoing /> }.into_any(),
                    None => view! { <Home role=role /> }.into_any(),
                    Some(id) => view! { <SessionView conversation_id=id /> }.into_any(),
                }}
            </main>
        </div>
    }
}
