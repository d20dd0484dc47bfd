//! The workspace: the header with presence, the Sessions pane (Home pinned, one entry per conversation),
//! incoming notifications, and the focused session.

use leptos::prelude::*;
use protocol::{AgentToServer, Me, Presence};

use crate::account::{AgentsAdmin, PasswordDialog};
use crate::conversation::ConversationPanel;
use crate::offline::OfflineMessages;
use crate::socket::{Console, unread_badge};

#[component]
pub fn Workspace(me: RwSignal<Option<Me>>, signed_out: RwSignal<Option<String>>) -> impl IntoView {
    let console = Console::new();
    console.connect();
    // The session ended while the console was open: back to the login screen, saying why.
    Effect::new(move |_| {
        if let Some(reason) = console.signed_out.get() {
            signed_out.set(Some(reason));
            me.set(None);
        }
    });
    let password_open = RwSignal::new(false);
    let role = me
        .get_untracked()
        .map_or(protocol::Role::Agent, |me| me.role);
    let name = move || me.get().map(|me| me.display_name).unwrap_or_default();
    let logout = move |_| {
        leptos::task::spawn_local(async move {
            crate::api::logout().await;
            if let Some(window) = web_sys::window() {
                let _ = window.location().reload();
            }
        });
    };
    view! {
        <div class="workspace">
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
                <span class="connection">{move || if console.connected.get() { "" } else { "Reconnecting…" }}</span>
                <button class="secondary" data-console="open-password" on:click=move |_| password_open.update(|open| *open = !*open)>"Change password"</button>
                <button class="secondary" data-console="logout" on:click=logout>"Log out"</button>
            </header>
            <PasswordDialog open=password_open />
            <nav class="sessions" aria-label="Sessions">
                <button class="session home" class:focused=move || console.focused.get().is_none()
                    on:click=move |_| console.focus(None)>
                    <span class="icon">"⌂"</span><span class="title">"Home"</span>
                </button>
                <For
                    each={move || console.sessions.get().into_iter().map(|session| session.view.conversation_id).collect::<Vec<_>>()}
                    key=|id| id.clone()
                    children=move |id| view! { <SessionEntry console=console conversation_id=id /> }
                />
            </nav>
            <section class="offers" aria-live="assertive">
                <For
                    each=move || console.offers.get()
                    key=|offer| offer.conversation_id.clone()
                    children=move |offer| {
                        let accept_id = offer.conversation_id.clone();
                        let reject_id = offer.conversation_id.clone();
                        view! {
                            <article class="offer" data-console="offer">
                                <strong>{offer.title.clone()}</strong>
                                <span>" wants to chat · queue "{offer.queue_id.clone()}" · rule "{offer.rule_id.clone()}</span>
                                <button class="primary" data-console="accept-offer" on:click=move |_| {
                                    console.send(&AgentToServer::AcceptOffer { conversation_id: accept_id.clone() });
                                }>"Accept"</button>
                                <button class="secondary" data-console="reject-offer" on:click=move |_| {
                                    console.send(&AgentToServer::RejectOffer { conversation_id: reject_id.clone() });
                                }>"Reject"</button>
                            </article>
                        }
                    }
                />
            </section>
            <p class="notice" role="alert">{move || console.notice.get()}</p>
            <main class="focus">
                {move || match console.focused.get() {
                    None => view! { <Home console=console role=role /> }.into_any(),
                    Some(id) => view! { <ConversationPanel console=console conversation_id=id /> }.into_any(),
                }}
            </main>
        </div>
    }
}

#[component]
fn SessionEntry(console: Console, conversation_id: String) -> impl IntoView {
    let session = console.session(conversation_id.clone());
    let title = move || {
        session
            .get()
            .map(|session| session.view.title)
            .unwrap_or_default()
    };
    let icon = move || {
        title()
            .chars()
            .filter(|c| !c.is_whitespace())
            .take(2)
            .collect::<String>()
    };
    let unread = move || session.get().map_or(0, |session| session.unread);
    let focus_id = conversation_id.clone();
    let close_id = conversation_id.clone();
    let focused_id = conversation_id;
    view! {
        <div class="session" class:focused=move || console.focused.get().as_deref() == Some(focused_id.as_str())
            data-console="session">
            <button class="open" on:click=move |_| console.focus(Some(focus_id.clone()))
                title=move || {
                    let count = unread();
                    if count > 0 { format!("{}. {} new updates in your conversation.", title(), count) } else { title() }
                }>
                <span class="icon">{icon}
                    <Show when=move || { unread() > 0 }>
                        <span class="badge" data-console="unread">{move || unread_badge(unread())}</span>
                    </Show>
                </span>
                <span class="title">{title}</span>
            </button>
            <button class="close" aria-label="Close session" on:click=move |_| {
                let confirmed = web_sys::window()
                    .and_then(|window| window.confirm_with_message("Close this session?").ok())
                    .unwrap_or(false);
                if confirmed {
                    console.send(&AgentToServer::Close { conversation_id: close_id.clone() });
                }
            }>"×"</button>
        </div>
    }
}

#[component]
fn Home(console: Console, role: protocol::Role) -> impl IntoView {
    view! {
        <section class="home">
            <h2>"My work items"</h2>
            <Show when=move || console.sessions.with(Vec::is_empty)
                fallback=move || view! { <p>"Select a session on the left."</p> }>
                <p>"No conversations yet. Set your presence to Available to receive chats."</p>
            </Show>
            <OfflineMessages />
            <AgentsAdmin role=role />
        </section>
    }
}
