//! The top bar: who is logged in, their presence (and what others see), the connection, the password
//! dialog and logout.

use leptos::prelude::*;
use protocol::{Me, Presence};

use super::password_dialog::PasswordDialog;
use crate::console::use_console;

#[component]
pub fn TopBar(me: RwSignal<Option<Me>>) -> impl IntoView {
    let console = use_console()?;
    let name = move || me.get().map(|me| me.display_name).unwrap_or_default();
    let password_open = RwSignal::new(false);
    let logout = move |_| {
        leptos::task::spawn_local(async move {
            crate::api::logout().await;
            if let Some(window) = web_sys::window() {
                let _ = window.location().reload();
            }
        });
    };
    Some(view! {
        <header class="topbar">
            <h1 class="brand">"Beckon"</h1>
            <span class="who">{name}</span>
            <label class="presence">"Presence "
                <select data-console="presence"
                    prop:value=move || console.presence.get().as_str()
                    on:change=move |event| {
                        if let Some(presence) = Presence::parse(&event_target_value(&event)) {
                            console.choose_presence(presence);
                        }
                    }>
                    {Presence::ALL.into_iter().map(|presence| view! {
                        <option value=presence.as_str()>{presence.label()}</option>
                    }).collect_view()}
                </select>
            </label>
            <span class="shown-presence" data-console="shown-presence">{move || {
                let shown = console.shown_presence.get();
                if shown == console.presence.get() {
                    String::new()
                } else {
                    format!("Shown as {}: capacity full", shown.label())
                }
            }}</span>
            <span class="connection" role="status">{move || if console.connected.get() { "" } else { "Reconnecting…" }}</span>
            <button class="secondary" data-console="desktop-alerts"
                aria-pressed=move || console.desktop_alerts.get().to_string()
                title="Notify me of new chats and messages while the console is in the background"
                on:click=move |_| console.toggle_desktop_alerts()>
                "Desktop alerts"
            </button>
            <button class="secondary" data-console="open-password" on:click=move |_| password_open.update(|open| *open = !*open)>"Change password"</button>
            <button class="secondary" data-console="logout" on:click=logout>"Log out"</button>
        </header>
        <PasswordDialog open=password_open />
    })
}
