//! The invitation card: the rule's message with Accept and Close.

use leptos::prelude::*;

use crate::app::Handle;

#[component]
pub fn InvitationCard(controller: Handle) -> impl IntoView {
    let text = controller.with_value(|controller| controller.ui.invitation);
    view! {
        <section class="invitation" data-beckon="invitation" role="dialog" aria-label="Chat invitation">
            <p class="invitation-message" data-beckon="invitation-message">
                {move || text.get().map(|invitation| invitation.text).unwrap_or_default()}
            </p>
            <div class="actions">
                <button class="primary" data-beckon="accept" on:click=move |_| controller.with_value(|controller| controller.accept_invitation())>
                    "Chat now"
                </button>
                <button class="secondary" data-beckon="close" aria-label="Close" on:click=move |_| controller.with_value(|controller| controller.dismiss_invitation())>
                    "No thanks"
                </button>
            </div>
        </section>
    }
}
