//! What supervisors do beyond an agent: transfer and assign conversations, force-close and monitor
//! them, each action enabled one by one in `[supervision]` (an admin may always).

use protocol::{AuditEntry, Author, ConversationState, ErrorCode, ParticipantRole, SystemNote};

use super::conversations::{SupervisorAction, forbidden, owner};
use super::{Runtime, RuntimeError, RuntimeResult};
use crate::domain::lifecycle::Event;
use crate::store::{Agent, AuditFilter, Conversation, Offer, Overrides};

impl Runtime {
    /// Moves a conversation to another queue: its owner, or a supervisor who may transfer (Active) or
    /// assign (Open).
    pub async fn transfer_to_queue(
        &self,
        agent: &Agent,
        conversation_id: &str,
        queue_id: &str,
    ) -> RuntimeResult<Conversation> {
        let result = async {
            let conversation = self.known_conversation(conversation_id).await?;
            let actor = if conversation.agent_username.as_deref() == Some(agent.username.as_str()) {
                owner(agent)
            } else {
                let action = if conversation.state == ConversationState::Open {
                    SupervisorAction::Assign
                } else {
                    SupervisorAction::Transfer
                };
                self.supervising(agent, action)?
            };
            let moved = self
                .store
                .move_to_queue(conversation_id, queue_id, actor, self.now_ms())
                .await?;
            self.publish(&moved).await;
            self.dispatch().await;
            Ok(moved.conversation)
        }
        .await;
        self.audited(
            agent,
            "transfer",
            conversation_id,
            format!("to queue {queue_id}"),
            result,
        )
        .await
    }

    /// Offers an Active or Waiting conversation to another agent of its queue. The owner, or a supervisor
    /// who may transfer, asks; the other agent accepts or rejects like any offer.
    pub async fn transfer_to_agent(
        &self,
        agent: &Agent,
        conversation_id: &str,
        username: &str,
    ) -> RuntimeResult<Offer> {
        let result = async {
            let conversation = self.known_conversation(conversation_id).await?;
            let actor = if conversation.agent_username.as_deref() == Some(agent.username.as_str()) {
                owner(agent)
            } else {
                self.supervising(agent, SupervisorAction::Transfer)?
            };
            let offer = self
                .store
                .offer_transfer(conversation_id, username, actor, self.now_ms())
                .await?;
            self.send_offer(&offer).await;
            self.refresh_presence(username).await;
            Ok(offer)
        }
        .await;
        self.audited(
            agent,
            "transfer",
            conversation_id,
            format!("to {username}"),
            result,
        )
        .await
    }

    /// A supervisor assigns an Open conversation nobody owns to an agent, possibly overriding the agent's
    /// presence and capacity. Returns the conversation and by how many units the agent exceeds capacity.
    pub async fn assign(
        &self,
        agent: &Agent,
        conversation_id: &str,
        username: &str,
        overrides: Overrides,
    ) -> RuntimeResult<(Conversation, u32)> {
        let result = async {
            self.supervising(agent, SupervisorAction::Assign)?;
            let (moved, over_by) = self
                .store
                .assign(
                    conversation_id,
                    username,
                    &agent.username,
                    overrides,
                    self.now_ms(),
                )
                .await?;
            if over_by > 0 {
                tracing::warn!(conversation = %conversation_id, agent = %username, supervisor = %agent.username, over_by, "capacity overridden");
            }
            self.publish(&moved).await;
            self.dispatch().await;
            Ok((moved.conversation, over_by))
        }
        .await;
        let mut detail = format!("to {username}");
        if overrides.presence {
            detail.push_str(", presence overridden");
        }
        if let Ok((_, over_by)) = &result
            && *over_by > 0
        {
            detail.push_str(&format!(", capacity exceeded by {over_by}"));
        }
        self.audited(agent, "assign", conversation_id, detail, result)
            .await
    }

    /// A supervisor force-closes any ongoing conversation; the participants read that a supervisor ended
    /// it.
    pub async fn force_close(
        &self,
        agent: &Agent,
        conversation_id: &str,
    ) -> RuntimeResult<Conversation> {
        let result = async {
            let actor = self.supervising(agent, SupervisorAction::ForceClose)?;
            let conversation = self.known_conversation(conversation_id).await?;
            if conversation.state == ConversationState::Closed {
                return Err(RuntimeError::new(
                    ErrorCode::TransitionNotAllowed,
                    "the conversation is already Closed",
                ));
            }
            self.append(
                &conversation,
                format!("{}{conversation_id}", SystemNote::ForceClosed.prefix()),
                Author::System,
                String::new(),
                "A supervisor ended this conversation.".to_owned(),
                false,
            )
            .await?;
            self.apply(conversation_id, Event::ForceClosed, actor).await
        }
        .await;
        self.audited(agent, "force_close", conversation_id, String::new(), result)
            .await
    }

    /// A supervisor opens an Active or Wrap-up conversation someone else owns, read-only, and from then
    /// on receives its messages live until they stop. Announced to the agent and the customer only when
    /// `[supervision] announce_monitoring` is on.
    pub async fn monitor(
        &self,
        agent: &Agent,
        conversation_id: &str,
    ) -> RuntimeResult<Conversation> {
        let result = async {
            let conversation = self
                .someone_elses(
                    agent,
                    conversation_id,
                    &[ConversationState::Active, ConversationState::WrapUp],
                    "only Active and Wrap-up conversations can be monitored",
                    "a supervisor cannot monitor a conversation assigned to themselves",
                )
                .await?;
            let had = self
                .store
                .set_participant(
                    conversation_id,
                    &agent.username,
                    Some(ParticipantRole::Monitor),
                )
                .await?;
            if had.is_none() && self.settings.supervision.announce_monitoring {
                self.tell_participants(
                    &conversation,
                    &format!(
                        "{}{}-{}",
                        SystemNote::Monitoring.prefix(),
                        agent.username,
                        self.now_ms()
                    ),
                    "A supervisor is monitoring the conversation.",
                )
                .await?;
            }
            self.republish(conversation_id).await;
            Ok(conversation)
        }
        .await;
        self.audited(agent, "monitor", conversation_id, String::new(), result)
            .await
    }

    /// The supervisor stops monitoring: no more live messages. A supervisor who joined stays joined.
    pub async fn stop_monitoring(
        &self,
        agent: &Agent,
        conversation_id: &str,
    ) -> RuntimeResult<Conversation> {
        let result = async {
            self.supervising(agent, SupervisorAction::Monitor)?;
            let conversation = self.known_conversation(conversation_id).await?;
            let had = self
                .store
                .set_participant(conversation_id, &agent.username, None)
                .await?;
            if had.is_some_and(|role| role != ParticipantRole::Monitor) {
                // Not monitoring: put back what they were.
                self.store
                    .set_participant(conversation_id, &agent.username, had)
                    .await?;
            }
            self.republish(conversation_id).await;
            Ok(conversation)
        }
        .await;
        self.audited(
            agent,
            "stop_monitoring",
            conversation_id,
            String::new(),
            result,
        )
        .await
    }

    /// A supervisor joins an Active conversation they are monitoring or not: they may write to the
    /// customer, and the agent and the customer are told.
    pub async fn join(&self, agent: &Agent, conversation_id: &str) -> RuntimeResult<Conversation> {
        let result = async {
            let conversation = self
                .someone_elses(
                    agent,
                    conversation_id,
                    &[ConversationState::Active],
                    "only Active conversations can be joined",
                    "the conversation is already yours",
                )
                .await?;
            let had = self
                .store
                .set_participant(
                    conversation_id,
                    &agent.username,
                    Some(ParticipantRole::Supervisor),
                )
                .await?;
            if had != Some(ParticipantRole::Supervisor) {
                self.tell_participants(
                    &conversation,
                    &format!(
                        "{}{}-{}",
                        SystemNote::SupervisorJoined.prefix(),
                        agent.username,
                        self.now_ms()
                    ),
                    "A supervisor joined the conversation.",
                )
                .await?;
            }
            self.republish(conversation_id).await;
            Ok(conversation)
        }
        .await;
        self.audited(agent, "join", conversation_id, String::new(), result)
            .await
    }

    /// A supervisor who joined leaves, and the agent and the customer are told; a consultant leaves a
    /// conversation they were transferred out of. Either stops receiving it.
    pub async fn leave(&self, agent: &Agent, conversation_id: &str) -> RuntimeResult<Conversation> {
        let result = async {
            let conversation = self.known_conversation(conversation_id).await?;
            let had = self
                .store
                .set_participant(conversation_id, &agent.username, None)
                .await?;
            match had {
                Some(ParticipantRole::Supervisor)
                    if conversation.state != ConversationState::Closed =>
                {
                    self.tell_participants(
                        &conversation,
                        &format!(
                            "{}{}-{}",
                            SystemNote::SupervisorLeft.prefix(),
                            agent.username,
                            self.now_ms()
                        ),
                        "The supervisor left the conversation.",
                    )
                    .await?;
                }
                Some(_) => {}
                None => {
                    return Err(RuntimeError::new(
                        ErrorCode::NotYourConversation,
                        "you are not in this conversation",
                    ));
                }
            }
            self.republish(conversation_id).await;
            Ok(conversation)
        }
        .await;
        self.audited(agent, "leave", conversation_id, String::new(), result)
            .await
    }

    /// Writes an action and its outcome to the audit log, and hands the outcome back. The log failing to
    /// write does not undo the action: it is logged as an error instead.
    pub(super) async fn audited<T>(
        &self,
        agent: &Agent,
        action: &str,
        conversation_id: &str,
        detail: String,
        result: RuntimeResult<T>,
    ) -> RuntimeResult<T> {
        let outcome = match &result {
            Ok(_) => "ok".to_owned(),
            Err(error) => error.code.as_str().to_owned(),
        };
        let entry = AuditEntry {
            id: 0,
            at_ms: self.now_ms(),
            actor: agent.username.clone(),
            action: action.to_owned(),
            conversation_id: conversation_id.to_owned(),
            detail,
            outcome,
        };
        if let Err(error) = self.store.record_audit(entry).await {
            tracing::error!(action, conversation = %conversation_id, "cannot write the audit log: {error}");
        }
        result
    }

    /// The audit log, newest first. Admins only.
    pub async fn audit_log(
        &self,
        caller: &Agent,
        filter: AuditFilter,
    ) -> RuntimeResult<Vec<AuditEntry>> {
        super::accounts::require(caller, protocol::Role::Admin)?;
        Ok(self.store.audit(filter).await?)
    }

    /// The conversation a supervisor monitors or joins: the action is enabled, the conversation is in
    /// one of `states`, and someone else owns it. Refusals say `wrong_state` or `own`.
    async fn someone_elses(
        &self,
        agent: &Agent,
        conversation_id: &str,
        states: &[ConversationState],
        wrong_state: &str,
        own: &str,
    ) -> RuntimeResult<Conversation> {
        self.supervising(agent, SupervisorAction::Monitor)?;
        let conversation = self.known_conversation(conversation_id).await?;
        if !states.contains(&conversation.state) {
            return Err(RuntimeError::new(
                ErrorCode::TransitionNotAllowed,
                format!("{wrong_state}; this one is {}", conversation.state.label()),
            ));
        }
        if conversation.agent_username.as_deref() == Some(agent.username.as_str()) {
            return Err(forbidden(own));
        }
        Ok(conversation)
    }

    /// A line from the system that the customer, the owner and the participants read.
    async fn tell_participants(
        &self,
        conversation: &Conversation,
        client_message_id: &str,
        body: &str,
    ) -> RuntimeResult<()> {
        self.append(
            conversation,
            client_message_id.to_owned(),
            Author::System,
            String::new(),
            body.to_owned(),
            false,
        )
        .await?;
        Ok(())
    }
}
