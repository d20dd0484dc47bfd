//! Incoming offers: routing's and transfers', each to accept or reject before its countdown ends, with
//! the queue's name and the invitation that brought the visitor.

use std::time::Duration;

use leptos::prelude::*;
use protocol::AgentToServer;

use crate::console::use_console;
use crate::state::time_left;

fn now_ms() -> i64 {
    js_sys::Date::now() as i64
}

#[component]
pub fn Offers() -> impl IntoView {
    let console = use_console()?;
    // One clock for every countdown, ticking while the workspace is shown.
    let now = RwSignal::new(now_ms());
    if let Ok(ticker) = set_interval_with_handle(move || now.set(now_ms()), Duration::from_secs(1))
    {
        on_cleanup(move || ticker.clear());
    }
    Some(view! {
        <section class="offers" aria-live="assertive" aria-label="Incoming chats">
            <For
                each=move || console.offers.get()
                key=|offer| offer.conversation.conversation_id.clone()
                children=move |offer| {
                    let accept_id = offer.conversation.conversation_id.clone();
                    let reject_id = accept_id.clone();
                    let what = match &offer.transfer_from {
                        Some(from) => format!("Transfer from {from} · {}", offer.queue_name),
                        None => format!("Wants to chat · {}", offer.queue_name),
                    };
                    let invitation = offer.rule_invitation.clone();
                    let expires_at_ms = offer.expires_at_ms;
                    view! {
                        <article class="offer" data-console="offer">
                            <div class="offer-text">
                                <strong>{offer.conversation.title.clone()}</strong>
                                <span data-console="offer-what">{what}</span>
                                <Show when={let invitation = invitation.clone(); move || !invitation.is_empty()}>
                                    <span class="muted" data-console="offer-invitation">{format!("“{invitation}”")}</span>
                                </Show>
                            </div>
                            <span class="countdown" data-console="offer-countdown" role="timer"
                                aria-label=move || format!("{} left to answer", time_left(expires_at_ms, now.get()))>
                                {move || time_left(expires_at_ms, now.get())}
                            </span>
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
    })
}
