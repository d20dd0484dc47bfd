//! What agents do with their work: presence, offers, messages, and the lifecycle actions on the
//! conversations they own.

use protocol::{
    Author, ChatMessage, ConversationState, ErrorCode, ParticipantRole, Presence, ServerToAgent,
    ServerToVisitor,
};

use super::conversations::{Handled, owner};
use super::{Runtime, RuntimeError, RuntimeResult};
use crate::domain::lifecycle::Event;
use crate::store::{Agent, ConnectionSubject, Conversation, Offer};

impl Runtime {
    /// An agent's console connected: their disconnect timer no longer applies.
    pub async fn agent_connected(&self, username: &str) {
        let subject = ConnectionSubject::Agent {
            username: username.to_owned(),
        };
        if let Err(error) = self.store.connection_opened(&self.node_id, subject).await {
            tracing::error!("cannot record an agent's console: {error}");
        }
    }

    /// An agent's console closed. With none left on any node, their Active conversations go back to the
    /// queue unless they come back within the grace period.
    pub async fn agent_disconnected(&self, username: &str) {
        let _handled = Handled(&self.disconnects_handled);
        let subject = ConnectionSubject::Agent {
            username: username.to_owned(),
        };
        let grace_ms = i64::from(self.settings.routing.agent_disconnect_grace_seconds) * 1000;
        if let Err(error) = self
            .store
            .connection_closed(&self.node_id, subject, self.now_ms(), grace_ms)
            .await
        {
            tracing::error!("cannot record an agent's closed console: {error}");
        }
    }

    pub async fn set_presence(&self, agent: &Agent, presence: Presence) -> RuntimeResult<()> {
        self.store
            .set_presence(&agent.username, presence, self.now_ms())
            .await?;
        self.lock_shown().remove(&agent.username);
        self.refresh_presence(&agent.username).await;
        self.dispatch().await;
        Ok(())
    }

    pub async fn accept_offer(&self, agent: &Agent, conversation_id: &str) -> RuntimeResult<()> {
        let offer = self
            .store
            .offers_for(&agent.username)
            .await?
            .into_iter()
            .find(|offer| offer.conversation_id == conversation_id);
        let moved = self
            .store
            .accept_offer(conversation_id, &agent.username, self.now_ms())
            .await?;
        tracing::info!(conversation = %conversation_id, agent = %agent.username, "offer accepted");
        if let Some(Offer {
            transfer_from: Some(requester),
            ..
        }) = offer
        {
            self.transfer_answered(&agent.username, conversation_id, &requester, "accepted")
                .await;
            self.hub.to_agent(
                &requester,
                &ServerToAgent::TransferAnswered {
                    conversation_id: conversation_id.to_owned(),
                    to_username: agent.username.clone(),
                    accepted: true,
                },
            );
        }
        self.publish(&moved).await;
        self.dispatch().await;
        Ok(())
    }

    pub async fn reject_offer(&self, agent: &Agent, conversation_id: &str) -> RuntimeResult<()> {
        let offer = self
            .store
            .decline_offer(conversation_id, &agent.username)
            .await?;
        self.offer_ended(&offer, false);
        if let Some(requester) = &offer.transfer_from {
            self.transfer_answered(&agent.username, conversation_id, requester, "rejected")
                .await;
        }
        self.refresh_presence(&agent.username).await;
        self.dispatch().await;
        Ok(())
    }

    /// How a transfer offer ended, in the audit log: `accepted`, `rejected`, or `expired` when nobody
    /// answered in time (the conversation stays with its owner). When a supervisor asked, the owner is
    /// told the answer too (who asked hears it from `offer_ended`).
    pub(super) async fn transfer_answered(
        &self,
        answered_by: &str,
        conversation_id: &str,
        requester: &str,
        answer: &str,
    ) {
        let entry = protocol::AuditEntry {
            id: 0,
            at_ms: self.now_ms(),
            actor: answered_by.to_owned(),
            action: "transfer_answered".to_owned(),
            conversation_id: conversation_id.to_owned(),
            detail: format!("{answer}; asked by {requester}"),
            outcome: "ok".to_owned(),
        };
        if let Err(error) = self.store.record_audit(entry).await {
            tracing::error!(conversation = %conversation_id, "cannot write the audit log: {error}");
        }
        if answer == "accepted" {
            return;
        }
        if let Ok(Some(conversation)) = self.store.conversation(conversation_id).await
            && let Some(owner) = conversation.agent_username
            && owner != requester
        {
            self.hub.to_agent(
                &owner,
                &ServerToAgent::TransferAnswered {
                    conversation_id: conversation_id.to_owned(),
                    to_username: answered_by.to_owned(),
                    accepted: false,
                },
            );
        }
    }

    /// Tells the agent an offer is gone and, for a transfer, tells who asked for it.
    pub(super) fn offer_ended(&self, offer: &Offer, accepted: bool) {
        self.hub.to_agent(
            &offer.agent_username,
            &ServerToAgent::OfferWithdrawn {
                conversation_id: offer.conversation_id.clone(),
            },
        );
        if let Some(requester) = &offer.transfer_from {
            self.hub.to_agent(
                requester,
                &ServerToAgent::TransferAnswered {
                    conversation_id: offer.conversation_id.clone(),
                    to_username: offer.agent_username.clone(),
                    accepted,
                },
            );
        }
    }

    /// A message from the console. The owner writes to the customer or a note; a supervisor who joined
    /// writes either too; a consultant writes notes only. Notes can be written in Wrap-up as well.
    /// The agent started or stopped writing to the customer: the visitor sees who. Only someone who may
    /// write to the customer is relayed; anybody else is refused. Over the typing limit, or outside
    /// Active, the notice is dropped.
    pub async fn agent_typing(
        &self,
        agent: &Agent,
        conversation_id: &str,
        typing: bool,
    ) -> RuntimeResult<()> {
        let conversation = self.known_conversation(conversation_id).await?;
        let owns = conversation.agent_username.as_deref() == Some(agent.username.as_str());
        let joined = !owns
            && self
                .store
                .participants(conversation_id)
                .await?
                .iter()
                .any(|participant| {
                    participant.username == agent.username
                        && participant.role == ParticipantRole::Supervisor
                });
        if !owns && !joined {
            return Err(RuntimeError::new(
                ErrorCode::NotYourConversation,
                "only who writes to the customer can say they are typing",
            ));
        }
        if conversation.state != ConversationState::Active
            || self.limits.typing.check(&agent.username).is_err()
        {
            return Ok(());
        }
        self.hub.to_visitor(
            &conversation.site_id,
            &conversation.visitor_id,
            &ServerToVisitor::Typing {
                typing,
                name: agent.display_name.clone(),
            },
        );
        Ok(())
    }

    pub async fn agent_send(
        &self,
        agent: &Agent,
        conversation_id: &str,
        client_message_id: String,
        body: String,
        internal: bool,
    ) -> RuntimeResult<ChatMessage> {
        self.limits
            .agent_messages
            .check(&agent.username)
            .map_err(|refused| RuntimeError::rate_limited("messages", refused))?;
        let conversation = self.known_conversation(conversation_id).await?;
        let owns = conversation.agent_username.as_deref() == Some(agent.username.as_str());
        // The owner writes without another read: the common case stays one query short.
        let role = if owns {
            None
        } else {
            self.store
                .participants(conversation_id)
                .await?
                .into_iter()
                .find(|participant| participant.username == agent.username)
                .map(|participant| participant.role)
        };
        let may_write = match role {
            _ if owns => true,
            Some(ParticipantRole::Supervisor) => true,
            Some(ParticipantRole::Consultant) => internal,
            Some(ParticipantRole::Monitor) | None => false,
        };
        if !may_write {
            let message = match role {
                Some(ParticipantRole::Consultant) => {
                    "a consultant writes internal notes only; the owner answers the customer"
                }
                Some(ParticipantRole::Monitor) => "join the conversation to write in it",
                _ => "the conversation belongs to someone else",
            };
            return Err(RuntimeError::new(ErrorCode::NotYourConversation, message));
        }
        let open_for = if internal {
            matches!(
                conversation.state,
                ConversationState::Active | ConversationState::WrapUp
            )
        } else {
            conversation.state == ConversationState::Active
        };
        if !open_for {
            return Err(RuntimeError::new(
                ErrorCode::TransitionNotAllowed,
                format!(
                    "{} can be sent only while {}; the conversation is {}",
                    if internal { "notes" } else { "messages" },
                    if internal {
                        "Active or in Wrap-up"
                    } else {
                        "Active"
                    },
                    conversation.state.label()
                ),
            ));
        }
        self.append(
            &conversation,
            client_message_id,
            Author::Agent,
            agent.display_name.clone(),
            body,
            internal,
        )
        .await
    }

    /// The agent selects End: Active goes to Wrap-up; in Wrap-up it closes.
    pub async fn agent_end(
        &self,
        agent: &Agent,
        conversation_id: &str,
    ) -> RuntimeResult<Conversation> {
        self.apply(conversation_id, Event::AgentEnded, owner(agent))
            .await
    }

    /// The agent closes the session: Wrap-up goes to Closed; an Active live chat goes back to its queue
    /// and an Active persistent chat to Waiting.
    pub async fn agent_close(
        &self,
        agent: &Agent,
        conversation_id: &str,
    ) -> RuntimeResult<Conversation> {
        self.apply(conversation_id, Event::AgentClosedSession, owner(agent))
            .await
    }

    /// The owner puts an Active conversation back in its queue.
    pub async fn release(
        &self,
        agent: &Agent,
        conversation_id: &str,
    ) -> RuntimeResult<Conversation> {
        self.apply(conversation_id, Event::ReleasedToQueue, owner(agent))
            .await
    }

    /// The owner reopens a Waiting conversation from My work items.
    pub async fn reopen(
        &self,
        agent: &Agent,
        conversation_id: &str,
    ) -> RuntimeResult<Conversation> {
        self.apply(conversation_id, Event::AgentReopened, owner(agent))
            .await
    }

    /// The owner resolves the customer's issue and closes the session at once: Active to Closed.
    pub async fn resolve(
        &self,
        agent: &Agent,
        conversation_id: &str,
    ) -> RuntimeResult<Conversation> {
        self.apply(conversation_id, Event::RecordResolved, owner(agent))
            .await
    }

    /// An agent picks an Open conversation from Open work items.
    pub async fn pick(&self, agent: &Agent, conversation_id: &str) -> RuntimeResult<Conversation> {
        let moved = self
            .store
            .pick(conversation_id, &agent.username, self.now_ms())
            .await?;
        tracing::info!(conversation = %conversation_id, agent = %agent.username, "picked");
        self.publish(&moved).await;
        self.dispatch().await;
        Ok(moved.conversation)
    }
}
