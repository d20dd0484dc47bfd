//! The agent's own password, changed in a dialog from the top bar. Their other sessions end; this one
//! stays.

use leptos::prelude::*;

/// The agent's own password, changed in a dialog from the top bar. The other sessions end; this one
/// stays.
#[component]
pub fn PasswordDialog(open: RwSignal<bool>) -> impl IntoView {
    let current = RwSignal::new(String::new());
    let new = RwSignal::new(String::new());
    let outcome = RwSignal::new(String::new());
    let submit = move || {
        let (current_password, new_password) = (current.get_untracked(), new.get_untracked());
        leptos::task::spawn_local(async move {
            match crate::api::change_password(current_password, new_password).await {
                Ok(()) => {
                    current.set(String::new());
                    new.set(String::new());
                    outcome
                        .set("Password changed. Your other sessions were signed out.".to_owned());
                }
                Err(message) => outcome.set(message),
            }
        });
    };
    view! {
        <Show when=move || open.get()>
            <div class="dialog" role="dialog" aria-modal="false" aria-labelledby="password-title">
                <form on:submit=move |event| { event.prevent_default(); submit(); }>
                    <h2 id="password-title">"Change your password"</h2>
                    <label>"Current password"
                        <input type="password" data-console="current-password" autocomplete="current-password"
                            prop:value=move || current.get()
                            on:input=move |event| current.set(event_target_value(&event)) />
                    </label>
                    <label>"New password (8 to 256 characters)"
                        <input type="password" data-console="new-password" autocomplete="new-password" minlength="8" maxlength="256"
                            prop:value=move || new.get()
                            on:input=move |event| new.set(event_target_value(&event)) />
                    </label>
                    <p class="outcome" role="status" data-console="password-outcome">{move || outcome.get()}</p>
                    <div class="actions">
                        <button type="button" class="secondary" on:click=move |_| { outcome.set(String::new()); open.set(false); }>"Close"</button>
                        <button type="submit" class="primary" data-console="change-password">"Change password"</button>
                    </div>
                </form>
            </div>
        </Show>
    }
}
