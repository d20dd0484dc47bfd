//! Incoming offers: routing's and transfers', each to accept or reject.

use leptos::prelude::*;
use protocol::AgentToServer;

use crate::console::use_console;

#[component]
pub fn Offers() -> impl IntoView {
    let console = use_console()?;
    Some(view! {
        <section class="offers" aria-live="assertive" aria-label="Incoming chats">
            <For
                each=move || console.offers.get()
                key=|offer| offer.conversation.conversation_id.clone()
                children=move |offer| {
                    let accept_id = offer.conversation.conversation_id.clone();
                    let reject_id = accept_id.clone();
                    let what = match &offer.transfer_from {
                        Some(from) => format!(" · transfer from {from}"),
                        None => format!(
                            " wants to chat · queue {} · rule {}",
                            offer.conversation.queue_id, offer.conversation.rule_id
                        ),
                    };
                    view! {
                        <article class="offer" data-console="offer">
                            <strong>{offer.conversation.title.clone()}</strong>
                            <span>{what}</span>
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
