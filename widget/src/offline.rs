//! The offline message form: when overflow ended the chat with an invitation, the visitor leaves a
//! message and an address for the team to answer. Everything shown is text.

use leptos::prelude::*;

use crate::connection::{Handle, Offline};
use crate::text::{Arg, say, say_with};

#[component]
pub fn OfflineMessage(controller: Handle) -> impl IntoView {
    let ui = controller.with_value(|controller| controller.ui);
    let name = RwSignal::new(String::new());
    let email = RwSignal::new(String::new());
    let body = RwSignal::new(String::new());
    let submit = move || {
        if body.get_untracked().trim().is_empty() || email.get_untracked().trim().is_empty() {
            return;
        }
        controller.with_value(|controller| {
            controller.leave_offline_message(
                name.get_untracked(),
                email.get_untracked(),
                body.get_untracked(),
            )
        });
    };
    let sending = move || matches!(ui.offline.get(), Offline::Sending { .. });
    let form = move |prompt: String, refusal: Option<String>| {
        view! {
            <form class="offline" data-beckon="offline" on:submit=move |event| { event.prevent_default(); submit(); }>
                <p class="offline-prompt">{prompt}</p>
                <input data-beckon="offline-name" type="text" autocomplete="name" placeholder=say("offline-name") aria-label=say("offline-name.aria-label")
                    maxlength="254" prop:value=move || name.get() on:input=move |event| name.set(event_target_value(&event)) />
                <input data-beckon="offline-email" type="email" autocomplete="email" placeholder=say("offline-email") aria-label=say("offline-email") required
                    maxlength="254" prop:value=move || email.get() on:input=move |event| email.set(event_target_value(&event)) />
                <textarea data-beckon="offline-body" rows="3" placeholder=say("offline-message") aria-label=say("offline-message") required
                    maxlength="16000" prop:value=move || body.get() on:input=move |event| body.set(event_target_value(&event))></textarea>
                <p class="offline-refusal" data-beckon="offline-refusal" role="alert">{refusal.unwrap_or_default()}</p>
                <button class="primary" type="submit" data-beckon="offline-send" disabled=sending>{say("offline-send")}</button>
            </form>
        }
        .into_any()
    };
    move || match ui.offline.get() {
        Offline::NotInvited => ().into_any(),
        Offline::Stored { email } => view! {
            <p class="offline-stored" data-beckon="offline-stored" role="status">
                {say_with("offline-stored", &[("email", Arg::Text(&email))])}
            </p>
        }
        .into_any(),
        Offline::Invited { prompt, refusal } => form(prompt, refusal),
        Offline::Sending { prompt } => form(prompt, None),
    }
}
