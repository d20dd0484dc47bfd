//! The console's root: the login screen until the session cookie is valid, then the workspace.

use leptos::prelude::*;
use protocol::Me;

use crate::login::Login;
use crate::workspace::Workspace;

#[component]
pub fn App() -> impl IntoView {
    let me: RwSignal<Option<Me>> = RwSignal::new(None);
    // Why the last session ended, shown on the login screen.
    let signed_out: RwSignal<Option<String>> = RwSignal::new(None);
    let checked = RwSignal::new(false);
    leptos::task::spawn_local(async move {
        me.set(crate::api::me().await);
        checked.set(true);
    });
    view! {
        <Show when=move || checked.get()>
            <Show when=move || me.get().is_some() fallback=move || view! { <Login me=me signed_out=signed_out /> }>
                <Workspace me=me signed_out=signed_out />
            </Show>
        </Show>
    }
}
