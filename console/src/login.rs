//! The login form.

use leptos::prelude::*;
use protocol::Me;

#[component]
pub fn Login(me: RwSignal<Option<Me>>, signed_out: RwSignal<Option<String>>) -> impl IntoView {
    let username = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let error = RwSignal::new(String::new());
    let submit = move || {
        let (user, pass) = (username.get_untracked(), password.get_untracked());
        leptos::task::spawn_local(async move {
            match crate::api::login(user, pass).await {
                Ok(agent) => {
                    signed_out.set(None);
                    me.set(Some(agent));
                }
                Err(message) => error.set(message),
            }
        });
    };
    view! {
        <main class="login">
            <form on:submit=move |event| { event.prevent_default(); submit(); }>
                <h1>"Beckon console"</h1>
                <Show when=move || signed_out.get().is_some()>
                    <p class="signed-out" role="status" data-console="signed-out">{move || signed_out.get().unwrap_or_default()}</p>
                </Show>
                <label>"Username"
                    <input data-console="username" autocomplete="username" prop:value=move || username.get()
                        on:input=move |event| username.set(event_target_value(&event)) />
                </label>
                <label>"Password"
                    <input data-console="password" type="password" autocomplete="current-password" prop:value=move || password.get()
                        on:input=move |event| password.set(event_target_value(&event)) />
                </label>
                <p class="error" role="alert">{move || error.get()}</p>
                <button class="primary" type="submit" data-console="login">"Log in"</button>
            </form>
        </main>
    }
}
