//! What visitors, agents and supervisors do to conversations, and the routing and timer work that
//! follows. Each operation asks the store (which decides and records in one transaction), then tells
//! everyone concerned: the visitor, the old and new owner, an agent whose offer was withdrawn, and the
//! supervisors' dashboards.

use protocol::{
    Author, ChatMessage, ContextVariables, ConversationState, ErrorCode, Presence, Role,
    ServerToAgent, ServerToVisitor,
};

use super::{Runtime, RuntimeError, RuntimeResult, new_id, validate_message};
use crate::domain::lifecycle::Event;
use crate::domain::routing;
use crate::store::{
    Actor, Agent, Appended, ConnectionSubject, Conversation, Moved, NewConversation, NewMessage,
    Offer, Overrides, Routed, Stream, Timer, VisitorAppend,
};

/// The supervisor actions an admin enables one by one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SupervisorAction {
    Monitor,
    Assign,
    Transfer,
    ForceClose,
}

impl SupervisorAction {
    fn name(self) -> &'static str {
        match self {
            SupervisorAction::Monitor => "monitor",
            SupervisorAction::Assign => "assign",
            SupervisorAction::Transfer => "transfer",
            SupervisorAction::ForceClose => "force close",
        }
    }
}

fn forbidden(message: impl Into<String>) -> RuntimeError {
    RuntimeError::new(ErrorCode::Forbidden, message)
}

impl Runtime {
    // Visitors.

    /// The visitor accepted an invitation: create their conversation (or return the live one) and route it.
    pub async fn start_chat(
        &self,
        site_id: &str,
        visitor_id: &str,
        rule_id: &str,
        context: ContextVariables,
    ) -> RuntimeResult<Conversation> {
        let rules = self.rules.get(site_id).ok_or_else(|| {
            RuntimeError::new(ErrorCode::UnknownSite, format!("unknown site `{site_id}`"))
        })?;
        let rule = rules
            .rule_set
            .rules
            .iter()
            .find(|rule| rule.id == rule_id)
            .ok_or_else(|| {
                RuntimeError::new(ErrorCode::UnknownRule, format!("unknown rule `{rule_id}`"))
            })?;
        let (conversation, created) = self
            .store
            .start_conversation(NewConversation {
                id: new_id(),
                site_id: site_id.to_owned(),
                visitor_id: visitor_id.to_owned(),
                queue_id: rule.queue.clone(),
                rule_id: rule_id.to_owned(),
                context,
                now_ms: self.now_ms(),
            })
            .await?;
        if !created {
            return Ok(conversation);
        }
        tracing::info!(conversation = %conversation.id, queue = %conversation.queue_id, "conversation opened");
        self.to_supervisors(&conversation).await;
        self.dispatch().await;
        // Routing may already have moved it (overflow): answer with where it stands now.
        Ok(self
            .store
            .conversation(&conversation.id)
            .await?
            .unwrap_or(conversation))
    }

    /// A visitor's message. In a Waiting conversation it brings the conversation back to its queue first.
    pub async fn visitor_send(
        &self,
        site_id: &str,
        visitor_id: &str,
        client_message_id: String,
        body: String,
    ) -> RuntimeResult<ChatMessage> {
        validate_message(&client_message_id, &body)?;
        let message = NewMessage {
            client_message_id: client_message_id.clone(),
            author: Author::Visitor,
            author_name: String::new(),
            body: body.clone(),
            now_ms: self.now_ms(),
        };
        // The common case takes one transaction: find the live conversation and store the message.
        let waiting = match self
            .store
            .append_visitor_message(site_id, visitor_id, message)
            .await?
        {
            VisitorAppend::Appended {
                conversation,
                appended,
            } => return Ok(self.fan_out(&conversation, appended)),
            VisitorAppend::Waiting(conversation) => conversation,
            VisitorAppend::NoConversation => {
                return Err(RuntimeError::new(
                    ErrorCode::NoConversation,
                    "no conversation: accept an invitation first",
                ));
            }
        };
        // A Waiting conversation comes back (to Open, and to routing) before the message is stored.
        let actor = Actor::Visitor {
            site_id: site_id.to_owned(),
            visitor_id: visitor_id.to_owned(),
        };
        let moved = self
            .store
            .apply_event(&waiting.id, Event::CustomerReturned, actor, self.now_ms())
            .await?;
        let conversation = moved.conversation.clone();
        self.publish(&moved).await;
        self.dispatch().await;
        self.append(
            &conversation,
            client_message_id,
            Author::Visitor,
            String::new(),
            body,
        )
        .await
    }

    pub async fn visitor_end(
        &self,
        site_id: &str,
        visitor_id: &str,
    ) -> RuntimeResult<Conversation> {
        let conversation = self.visitor_live_conversation(site_id, visitor_id).await?;
        let actor = Actor::Visitor {
            site_id: site_id.to_owned(),
            visitor_id: visitor_id.to_owned(),
        };
        self.apply(&conversation.id, Event::CustomerEnded, actor)
            .await
    }

    pub async fn visitor_live_conversation(
        &self,
        site_id: &str,
        visitor_id: &str,
    ) -> RuntimeResult<Conversation> {
        self.store
            .visitor_conversation(site_id, visitor_id)
            .await?
            .ok_or_else(|| {
                RuntimeError::new(
                    ErrorCode::NoConversation,
                    "no conversation: accept an invitation first",
                )
            })
    }

    /// A visitor's socket opened: their disconnect timer no longer applies.
    pub async fn visitor_connected(&self, site_id: &str, visitor_id: &str) {
        let subject = ConnectionSubject::Visitor {
            site_id: site_id.to_owned(),
            visitor_id: visitor_id.to_owned(),
        };
        if let Err(error) = self.store.connection_opened(&self.node_id, subject).await {
            tracing::error!("cannot record a visitor's socket: {error}");
        }
    }

    /// A visitor's socket closed. With none left on any node, a live chat in Open or Active moves on
    /// unless they come back within the grace period.
    pub async fn visitor_disconnected(&self, site_id: &str, visitor_id: &str) {
        let _handled = Handled(&self.disconnects_handled);
        let subject = ConnectionSubject::Visitor {
            site_id: site_id.to_owned(),
            visitor_id: visitor_id.to_owned(),
        };
        let grace_ms = i64::from(self.settings.routing.visitor_disconnect_grace_seconds) * 1000;
        if let Err(error) = self
            .store
            .connection_closed(&self.node_id, subject, self.now_ms(), grace_ms)
            .await
        {
            tracing::error!("cannot record a visitor's closed socket: {error}");
        }
    }

    // Agents.

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
        self.store.set_presence(&agent.username, presence).await?;
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
        self.refresh_presence(&agent.username).await;
        self.dispatch().await;
        Ok(())
    }

    /// Tells the agent an offer is gone and, for a transfer, tells who asked for it.
    fn offer_ended(&self, offer: &Offer, accepted: bool) {
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

    pub async fn agent_send(
        &self,
        agent: &Agent,
        conversation_id: &str,
        client_message_id: String,
        body: String,
    ) -> RuntimeResult<ChatMessage> {
        let conversation = self.known_conversation(conversation_id).await?;
        if conversation.agent_username.as_deref() != Some(agent.username.as_str()) {
            return Err(RuntimeError::new(
                ErrorCode::NotYourConversation,
                "the conversation belongs to someone else",
            ));
        }
        if conversation.state != ConversationState::Active {
            return Err(RuntimeError::new(
                ErrorCode::TransitionNotAllowed,
                format!(
                    "messages can be sent only while Active; the conversation is {}",
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

    /// Moves a conversation to another queue: its owner, or a supervisor who may transfer (Active) or
    /// assign (Open).
    pub async fn transfer_to_queue(
        &self,
        agent: &Agent,
        conversation_id: &str,
        queue_id: &str,
    ) -> RuntimeResult<Conversation> {
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

    /// Offers an Active or Waiting conversation to another agent of its queue. The owner, or a supervisor
    /// who may transfer, asks; the other agent accepts or rejects like any offer.
    pub async fn transfer_to_agent(
        &self,
        agent: &Agent,
        conversation_id: &str,
        username: &str,
    ) -> RuntimeResult<Offer> {
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

    /// A supervisor assigns an Open conversation nobody owns to an agent, possibly overriding the agent's
    /// presence and capacity. Returns the conversation and by how many units the agent exceeds capacity.
    pub async fn assign(
        &self,
        agent: &Agent,
        conversation_id: &str,
        username: &str,
        overrides: Overrides,
    ) -> RuntimeResult<(Conversation, u32)> {
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

    /// A supervisor force-closes any ongoing conversation; the participants read that a supervisor ended
    /// it.
    pub async fn force_close(
        &self,
        agent: &Agent,
        conversation_id: &str,
    ) -> RuntimeResult<Conversation> {
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
            format!("force-close-{conversation_id}"),
            Author::System,
            String::new(),
            "A supervisor ended this conversation.".to_owned(),
        )
        .await?;
        self.apply(conversation_id, Event::ForceClosed, actor).await
    }

    /// A supervisor opens an Active or Wrap-up conversation someone else owns.
    pub async fn monitor(
        &self,
        agent: &Agent,
        conversation_id: &str,
    ) -> RuntimeResult<Conversation> {
        self.supervising(agent, SupervisorAction::Monitor)?;
        let conversation = self.known_conversation(conversation_id).await?;
        if !matches!(
            conversation.state,
            ConversationState::Active | ConversationState::WrapUp
        ) {
            return Err(RuntimeError::new(
                ErrorCode::TransitionNotAllowed,
                format!(
                    "only Active and Wrap-up conversations can be monitored; this one is {}",
                    conversation.state.label()
                ),
            ));
        }
        if conversation.agent_username.as_deref() == Some(agent.username.as_str()) {
            return Err(forbidden(
                "a supervisor cannot monitor a conversation assigned to themselves",
            ));
        }
        Ok(conversation)
    }

    /// Whether `agent` may read this conversation: its owner, a member of its queue while it is Open,
    /// a consultant, or a supervisor.
    pub async fn readable_conversation(
        &self,
        agent: &Agent,
        conversation_id: &str,
    ) -> RuntimeResult<Conversation> {
        let conversation = self.known_conversation(conversation_id).await?;
        let owns = conversation.agent_username.as_deref() == Some(agent.username.as_str());
        let queued_for_them = conversation.state == ConversationState::Open
            && agent.queues.contains(&conversation.queue_id);
        let offered = self
            .store
            .offers_for(&agent.username)
            .await?
            .iter()
            .any(|offer| offer.conversation_id == conversation_id);
        let closed_by_them = conversation.state == ConversationState::Closed
            && self
                .store
                .work_items(Stream::Closed, &agent.username, agent.role)
                .await?
                .iter()
                .any(|closed| closed.id == conversation_id);
        if owns || queued_for_them || offered || closed_by_them {
            Ok(conversation)
        } else if agent.role >= Role::Supervisor {
            // Reading someone else's conversation is monitoring it: the action must be enabled.
            self.supervising(agent, SupervisorAction::Monitor)?;
            Ok(conversation)
        } else {
            Err(RuntimeError::new(
                ErrorCode::NotYourConversation,
                "the conversation belongs to someone else",
            ))
        }
    }

    /// Checks `agent` is a supervisor (or admin) and the action is enabled.
    pub fn supervising(&self, agent: &Agent, action: SupervisorAction) -> RuntimeResult<Actor> {
        if agent.role < Role::Supervisor {
            return Err(forbidden(format!("only supervisors may {}", action.name())));
        }
        let supervision = &self.settings.supervision;
        let enabled = agent.role == Role::Admin
            || match action {
                SupervisorAction::Monitor => supervision.monitor,
                SupervisorAction::Assign => supervision.assign,
                SupervisorAction::Transfer => supervision.transfer,
                SupervisorAction::ForceClose => supervision.force_close,
            };
        if !enabled {
            return Err(forbidden(format!(
                "the {} action is not enabled for supervisors",
                action.name()
            )));
        }
        Ok(Actor::Supervisor {
            username: agent.username.clone(),
        })
    }

    async fn known_conversation(&self, conversation_id: &str) -> RuntimeResult<Conversation> {
        self.store
            .conversation(conversation_id)
            .await?
            .ok_or_else(|| {
                RuntimeError::new(ErrorCode::UnknownConversation, "no such conversation")
            })
    }

    // Shared steps.

    async fn apply(
        &self,
        conversation_id: &str,
        event: Event,
        actor: Actor,
    ) -> RuntimeResult<Conversation> {
        let moved = self
            .store
            .apply_event(conversation_id, event, actor, self.now_ms())
            .await?;
        tracing::info!(conversation = %conversation_id, state = moved.conversation.state.as_str(), ?event, "conversation moved");
        self.publish(&moved).await;
        self.dispatch().await;
        Ok(moved.conversation)
    }

    async fn append(
        &self,
        conversation: &Conversation,
        client_message_id: String,
        author: Author,
        author_name: String,
        body: String,
    ) -> RuntimeResult<ChatMessage> {
        validate_message(&client_message_id, &body)?;
        if conversation.state == ConversationState::Closed {
            return Err(RuntimeError::new(
                ErrorCode::TransitionNotAllowed,
                "the conversation is Closed",
            ));
        }
        let appended = self
            .store
            .append_message(
                &conversation.id,
                NewMessage {
                    client_message_id,
                    author,
                    author_name,
                    body,
                    now_ms: self.now_ms(),
                },
            )
            .await?;
        Ok(self.fan_out(conversation, appended))
    }

    /// Sends a newly stored message to the visitor's sockets and the owner's consoles; a retry of a
    /// stored one goes nowhere, since they have it.
    fn fan_out(&self, conversation: &Conversation, appended: Appended) -> ChatMessage {
        if !appended.duplicate {
            self.hub.to_visitor(
                &conversation.site_id,
                &conversation.visitor_id,
                &ServerToVisitor::Message {
                    message: appended.message.clone(),
                },
            );
            if let Some(owner) = &conversation.agent_username {
                self.hub.to_agent(
                    owner,
                    &ServerToAgent::Message {
                        conversation_id: conversation.id.clone(),
                        message: appended.message.clone(),
                    },
                );
            }
        }
        appended.message
    }

    /// Tells the visitor, the new and previous owners, an agent whose offer was withdrawn, and the
    /// supervisors about a change; refreshes the owners' presence.
    pub(super) async fn publish(&self, moved: &Moved) {
        let conversation = &moved.conversation;
        let agent_name = match &conversation.agent_username {
            Some(username) => self
                .store
                .agent(username)
                .await
                .ok()
                .flatten()
                .map(|agent| agent.display_name),
            None => None,
        };
        let queue_position = self.queue_position(conversation).await;
        self.hub.to_visitor(
            &conversation.site_id,
            &conversation.visitor_id,
            &ServerToVisitor::Conversation {
                conversation_id: conversation.id.clone(),
                state: conversation.state,
                queue_position,
                agent_name,
            },
        );
        let view = match self.conversation_view(conversation).await {
            Ok(view) => view,
            Err(error) => {
                tracing::error!("cannot load a conversation to publish it: {error}");
                return;
            }
        };
        if let Some(owner) = &conversation.agent_username {
            self.hub.to_agent(
                owner,
                &ServerToAgent::Conversation {
                    conversation: view.clone(),
                },
            );
        }
        if let Some(previous) = &moved.previous_owner
            && conversation.agent_username.as_deref() != Some(previous.as_str())
        {
            self.hub.to_agent(
                previous,
                &ServerToAgent::Conversation {
                    conversation: view.clone(),
                },
            );
            self.refresh_presence(previous).await;
        }
        if let Some(withdrawn) = &moved.withdrawn {
            self.offer_ended(withdrawn, false);
            self.refresh_presence(&withdrawn.agent_username).await;
        }
        if let Some(owner) = &conversation.agent_username {
            self.refresh_presence(owner).await;
        }
        let mut summary = view;
        summary.messages.clear();
        self.hub.to_supervisors(&ServerToAgent::Ongoing {
            conversation: summary,
        });
    }

    async fn to_supervisors(&self, conversation: &Conversation) {
        self.hub.to_supervisors(&ServerToAgent::Ongoing {
            conversation: super::view(conversation, Vec::new()),
        });
    }

    async fn send_offer(&self, offer: &Offer) {
        let Ok(Some(conversation)) = self.store.conversation(&offer.conversation_id).await else {
            return;
        };
        match self.conversation_view(&conversation).await {
            Ok(view) => self.hub.to_agent(
                &offer.agent_username,
                &ServerToAgent::Offer {
                    conversation: view,
                    expires_at_ms: offer.expires_at_ms,
                    transfer_from: offer.transfer_from.clone(),
                },
            ),
            Err(error) => tracing::error!("cannot load an offered conversation: {error}"),
        }
    }

    /// Sends an agent's presence to their consoles when what they show changed.
    pub async fn refresh_presence(&self, username: &str) {
        let Ok(Some(load)) = self.store.agent_load(username).await else {
            return;
        };
        let shown = routing::shown_presence(
            load.agent.presence,
            load.used,
            load.agent.capacity,
            self.settings.routing.auto_busy,
        );
        let changed = self.lock_shown().insert(username.to_owned(), shown) != Some(shown);
        if changed {
            self.hub.to_agent(
                username,
                &ServerToAgent::Presence {
                    presence: load.agent.presence,
                    shown,
                },
            );
        }
    }

    /// Routes every waiting conversation: offers go out, overflow moves or ends conversations, and
    /// visitors hear their new place in the queue.
    pub async fn dispatch(&self) {
        let routed = match self.store.route_waiting(self.now_ms()).await {
            Ok(routed) => routed,
            Err(error) => {
                tracing::error!("routing failed: {error}");
                return;
            }
        };
        let mut moved_by_overflow = false;
        for outcome in &routed {
            match outcome {
                Routed::Offered(offer) => {
                    tracing::info!(conversation = %offer.conversation_id, agent = %offer.agent_username, "offered");
                    self.send_offer(offer).await;
                    self.refresh_presence(&offer.agent_username).await;
                }
                Routed::Overflowed { moved, reason } => {
                    tracing::info!(conversation = %moved.conversation.id, reason = reason.as_str(), state = moved.conversation.state.as_str(), "overflow");
                    moved_by_overflow |= moved.conversation.state == ConversationState::Open;
                    if moved.conversation.state == ConversationState::Closed
                        && let Ok(messages) =
                            self.store.messages_after(&moved.conversation.id, 0).await
                        && let Some(last) = messages.last()
                    {
                        self.hub.to_visitor(
                            &moved.conversation.site_id,
                            &moved.conversation.visitor_id,
                            &ServerToVisitor::Message {
                                message: last.clone(),
                            },
                        );
                    }
                    if moved.conversation.state == ConversationState::Closed {
                        let (site_id, visitor_id) =
                            (&moved.conversation.site_id, &moved.conversation.visitor_id);
                        match self.offline_message_invitation(site_id, visitor_id).await {
                            Ok(Some(frame)) => self.hub.to_visitor(site_id, visitor_id, &frame),
                            Ok(None) => {}
                            Err(error) => tracing::error!(
                                "cannot invite an offline message: {}",
                                error.message
                            ),
                        }
                    }
                    self.publish(moved).await;
                }
            }
        }
        if moved_by_overflow {
            // A conversation that overflowed into another queue is routed there straight away.
            Box::pin(self.dispatch()).await;
        }
    }

    /// An Open conversation's place in its queue, remembered as what its visitor was told.
    pub async fn queue_position(&self, conversation: &Conversation) -> Option<u32> {
        if conversation.state != ConversationState::Open {
            self.lock_positions().remove(&conversation.id);
            return None;
        }
        let position = self
            .store
            .queue_positions()
            .await
            .ok()?
            .into_iter()
            .find(|position| position.conversation_id == conversation.id)?
            .position;
        self.lock_positions()
            .insert(conversation.id.clone(), position);
        Some(position)
    }

    /// Tells each waiting visitor their place in the queue when it changed. A conversation its visitor
    /// has not been told about yet is only remembered: the answer to their request tells them.
    async fn send_positions(&self) {
        let Ok(positions) = self.store.queue_positions().await else {
            return;
        };
        let mut sent = Vec::new();
        for position in positions {
            let previous = self
                .lock_positions()
                .insert(position.conversation_id.clone(), position.position);
            sent.push(position.conversation_id.clone());
            if previous.is_none_or(|previous| previous == position.position) {
                continue;
            }
            self.hub.to_visitor(
                &position.site_id,
                &position.visitor_id,
                &ServerToVisitor::Conversation {
                    conversation_id: position.conversation_id,
                    state: ConversationState::Open,
                    queue_position: Some(position.position),
                    agent_name: None,
                },
            );
        }
        self.lock_positions().retain(|id, _| sent.contains(id));
    }

    /// One turn of the background loop: expired offers go to the next agent, due timers fire, waiting
    /// conversations are routed. Tests call it after moving their clock.
    pub async fn tick(&self) {
        self.heartbeat_if_due().await;
        self.expire_offers().await;
        self.fire_timers().await;
        self.dispatch().await;
        // Positions go out once per tick, not on every change: with a long queue, each assignment moves
        // everyone behind it, and one update a second is what a waiting visitor needs.
        self.send_positions().await;
    }

    /// Offers nobody answered in time go to the next agent.
    pub async fn expire_offers(&self) {
        let expired = match self.store.expired_offers(self.now_ms()).await {
            Ok(expired) => expired,
            Err(error) => {
                tracing::error!("cannot list expired offers: {error}");
                return;
            }
        };
        for offer in expired {
            if let Ok(ended) = self
                .store
                .decline_offer(&offer.conversation_id, &offer.agent_username)
                .await
            {
                tracing::info!(conversation = %ended.conversation_id, agent = %ended.agent_username, "offer expired");
                self.offer_ended(&ended, false);
                self.refresh_presence(&ended.agent_username).await;
            }
        }
    }

    /// Fires every due timer (each exactly once: the store deletes it in the transaction that applies it)
    /// and tells everyone concerned.
    pub async fn fire_timers(&self) {
        loop {
            let fired = match self.store.fire_due_timers(self.now_ms()).await {
                Ok(fired) => fired,
                Err(error) => {
                    tracing::error!("timers failed: {error}");
                    return;
                }
            };
            if fired.is_empty() {
                return;
            }
            for timer in fired {
                tracing::info!(timer = timer.kind.as_str(), subject = %timer.subject, changed = timer.moved.len(), "timer fired");
                for moved in &timer.moved {
                    self.publish(moved).await;
                }
                for offer in &timer.withdrawn {
                    self.offer_ended(offer, false);
                }
                if timer.kind == Timer::AgentDisconnect {
                    self.lock_shown().remove(&timer.subject);
                    self.refresh_presence(&timer.subject).await;
                }
                if let Some(username) = &timer.capacity_freed_for {
                    self.refresh_presence(username).await;
                }
            }
        }
    }

    /// A console that just connected has heard nothing yet: the next refresh sends the presence.
    pub fn forget_shown_presence(&self, username: &str) {
        self.lock_shown().remove(username);
    }

    fn lock_shown(&self) -> std::sync::MutexGuard<'_, std::collections::HashMap<String, Presence>> {
        self.shown_presence
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn lock_positions(&self) -> std::sync::MutexGuard<'_, std::collections::HashMap<String, u32>> {
        self.positions
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Counts a handled disconnect when dropped, whichever way the handler returned.
struct Handled<'a>(&'a tokio::sync::watch::Sender<u64>);

impl Drop for Handled<'_> {
    fn drop(&mut self) {
        self.0.send_modify(|count| *count += 1);
    }
}

fn owner(agent: &Agent) -> Actor {
    Actor::Agent {
        username: agent.username.clone(),
    }
}
