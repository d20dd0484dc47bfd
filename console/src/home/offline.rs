//! Offline messages: what visitors left after overflow ended their chat, for the team to answer by email.
//! Everything the visitor wrote is rendered as text.

use leptos::prelude::*;
use protocol::OfflineMessage;

#[component]
pub fn OfflineMessages() -> impl IntoView {
    let messages: RwSignal<Result<Vec<OfflineMessage>, String>> = RwSignal::new(Ok(Vec::new()));
    let load = move || {
        leptos::task::spawn_local(async move {
            messages.set(crate::api::offline_messages().await);
        });
    };
    load();
    view! {
        <section class="offline-messages" aria-label="Offline messages">
            <header>
                <h2>"Offline messages"</h2>
                <button class="secondary" data-console="refresh-offline" on:click=move |_| load()>"Refresh"</button>
            </header>
            {move || match messages.get() {
                Err(problem) => view! { <p class="error">{problem}</p> }.into_any(),
                Ok(list) if list.is_empty() => view! { <p class="muted">"No offline messages."</p> }.into_any(),
                Ok(list) => view! {
                    <ul>
                        {list.into_iter().map(|message| view! { <Entry message=message /> }).collect_view()}
                    </ul>
                }
                .into_any(),
            }}
        </section>
    }
}

#[component]
fn Entry(message: OfflineMessage) -> impl IntoView {
    let page = message
        .context
        .get("page_url")
        .map(|value| value.display())
        .unwrap_or_default();
    let when = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(message.left_at_ms as f64))
        .to_locale_string("en-GB", &wasm_bindgen::JsValue::UNDEFINED)
        .as_string()
        .unwrap_or_default();
    let from = if message.name.is_empty() {
        message.email.clone()
    } else {
        format!("{} <{}>", message.name, message.email)
    };
    view! {
        <li class="offline-message" data-console="offline-message">
            <p class="meta">
                <strong data-console="offline-from">{from}</strong>
                <span>{format!(" · queue {} · {when}", message.queue_id)}</span>
            </p>
            <p class="body" data-console="offline-body">{message.body}</p>
            <p class="page">{page}</p>
        </li>
    }
}
