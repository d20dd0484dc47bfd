//! Home's Accounts section, for admins: disable or enable an account, set a new password, lift a login
//! lock. Every name is shown as text.

use leptos::prelude::*;
use protocol::{AgentSummary, Role};

/// Home's accounts section for admins: every agent with their state and the account actions.
#[component]
pub fn AgentsAdmin(role: Role) -> impl IntoView {
    let agents: RwSignal<Vec<AgentSummary>> = RwSignal::new(Vec::new());
    let outcome = RwSignal::new(String::new());
    let reload = move || {
        leptos::task::spawn_local(async move {
            match crate::api::agents().await {
                Ok(list) => agents.set(list),
                Err(message) => outcome.set(message),
            }
        });
    };
    if role == Role::Admin {
        reload();
    }
    view! {
        <Show when=move || role == Role::Admin>
            <section class="accounts" aria-labelledby="accounts-title">
                <h2 id="accounts-title">"Accounts"</h2>
                <p class="muted">"Disabling an account or setting its password signs that agent out everywhere at once."</p>
                <p class="outcome" role="status" data-console="accounts-outcome">{move || outcome.get()}</p>
                <div class="table-scroll">
                <table>
                    <thead><tr><th scope="col">"Agent"</th><th scope="col">"Role"</th><th scope="col">"Account"</th><th scope="col">"Actions"</th></tr></thead>
                    <tbody>
                        <For
                            each=move || agents.get()
                            key=|agent| (agent.username.clone(), agent.disabled, agent.role.as_str())
                            children=move |agent| view! { <AccountRow agent=agent outcome=outcome reload=reload /> }
                        />
                    </tbody>
                </table>
                </div>
            </section>
        </Show>
    }
}

#[component]
fn AccountRow(
    agent: AgentSummary,
    outcome: RwSignal<String>,
    reload: impl Fn() + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let username = agent.username.clone();
    let disabled = agent.disabled;
    let toggle = {
        let username = username.clone();
        move |_| {
            let username = username.clone();
            leptos::task::spawn_local(async move {
                match crate::api::set_disabled(&username, !disabled).await {
                    Ok(()) => outcome.set(if disabled {
                        format!("{username} is enabled.")
                    } else {
                        format!("{username} is disabled and was signed out everywhere.")
                    }),
                    Err(message) => outcome.set(message),
                }
                reload();
            });
        }
    };
    let reset = {
        let username = username.clone();
        move |_| {
            let prompt = format!("New password for {username} (8 to 256 characters):");
            let Some(password) = web_sys::window()
                .and_then(|window| window.prompt_with_message(&prompt).ok().flatten())
            else {
                return;
            };
            let username = username.clone();
            leptos::task::spawn_local(async move {
                match crate::api::reset_password(&username, password).await {
                    Ok(()) => outcome.set(format!(
                        "{username} has a new password and was signed out everywhere."
                    )),
                    Err(message) => outcome.set(message),
                }
            });
        }
    };
    let unlock = {
        let username = username.clone();
        move |_| {
            let username = username.clone();
            leptos::task::spawn_local(async move {
                match crate::api::clear_login_lock(&username).await {
                    Ok(()) => outcome.set(format!("{username} may try to log in again now.")),
                    Err(message) => outcome.set(message),
                }
            });
        }
    };
    view! {
        <tr data-console="account" data-username=username.clone() class:disabled=disabled>
            <td><strong>{agent.display_name.clone()}</strong>" "<span class="muted">{username.clone()}</span></td>
            <td>{role_label(agent.role)}</td>
            <td><span class="state-pill" class:off=disabled data-console="account-state">{if disabled { "Disabled" } else { "Enabled" }}</span></td>
            <td class="actions">
                <button class="secondary" data-console="toggle-account" on:click=toggle>
                    {if disabled { "Enable" } else { "Disable" }}
                </button>
                <button class="secondary" data-console="reset-password" on:click=reset>"Set password"</button>
                <button class="secondary" data-console="clear-lock" on:click=unlock>"Lift login lock"</button>
            </td>
        </tr>
    }
}

fn role_label(role: Role) -> &'static str {
    match role {
        Role::Agent => "Agent",
        Role::Supervisor => "Supervisor",
        Role::Admin => "Admin",
    }
}
