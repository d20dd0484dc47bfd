//! The steps every conversation operation shares (`visitors`, `agents`, `supervision`), and the routing
//! and timer work that follows. Each operation asks the store (which decides and records in one
//! transaction), then tells everyone concerned: the visitor, the old and new owner, an agent whose offer
//! was withdrawn, and the supervisors' dashboards.

use protocol::{
    Author, ChatMessage, ConversationState, ErrorCode, Presence, Role, ServerToAgent,
    ServerToVisitor,
};

use super::{Runtime, RuntimeError, RuntimeResult, validate_message};
use crate::domain::lifecycle::Event;
use crate::domain::routing;
use crate::store::{
    Actor, Agent, Appended, Conversation, Moved, NewMessage, Offer, Routed, Stream, Timer,
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

pub(super) fn forbidden(message: impl Into<String>) -> RuntimeError {
    RuntimeError::new(ErrorCode::Forbidden, message)
}

impl Runtime {
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
        let participant = self
            .store
            .participants(conversation_id)
            .await?
            .iter()
            .any(|participant| participant.username == agent.username);
        let closed_by_them = conversation.state == ConversationState::Closed
            && self
                .store
                .work_items(Stream::Closed, &agent.username, agent.role)
                .await?
                .iter()
                .any(|closed| closed.id == conversation_id);
        if owns || queued_for_them || offered || participant || closed_by_them {
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

    pub(super) async fn known_conversation(
        &self,
        conversation_id: &str,
    ) -> RuntimeResult<Conversation> {
        self.store
            .conversation(conversation_id)
            .await?
            .ok_or_else(|| {
                RuntimeError::new(ErrorCode::UnknownConversation, "no such conversation")
            })
    }

    // Shared steps.

    pub(super) async fn apply(
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

    pub(super) async fn append(
        &self,
        conversation: &Conversation,
        client_message_id: String,
        author: Author,
        author_name: String,
        body: String,
        internal: bool,
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
                    internal,
                },
            )
            .await?;
        Ok(self.deliver(conversation, appended).await)
    }

    /// Sends a stored message on (`fan_out`) and, when the customer's message changed how they feel,
    /// the conversation to everybody who sees it.
    pub(super) async fn deliver(
        &self,
        conversation: &Conversation,
        appended: Appended,
    ) -> ChatMessage {
        let sentiment_changed = appended.sentiment_changed.is_some();
        let message = self.fan_out(conversation, appended);
        if sentiment_changed {
            self.republish(&conversation.id).await;
        }
        message
    }

    /// Tells the owner, the participants and the dashboard how the conversation stands now: who is in
    /// it, how the customer feels.
    pub(super) async fn republish(&self, conversation_id: &str) {
        match self.known_conversation(conversation_id).await {
            Ok(conversation) => {
                let moved = crate::store::Moved {
                    previous_owner: None,
                    previous_state: conversation.state,
                    previous_queue: conversation.queue_id.clone(),
                    withdrawn: None,
                    conversation,
                };
                self.publish(&moved).await;
            }
            Err(error) => tracing::error!("cannot republish a conversation: {}", error.message),
        }
    }

    /// Sends a newly stored message to the visitor's sockets (never an internal note), the owner's
    /// consoles and the participants' (consultants, supervisors who joined or monitor); a retry of a
    /// stored one goes nowhere, since they have it.
    fn fan_out(&self, conversation: &Conversation, appended: Appended) -> ChatMessage {
        if appended.duplicate {
            return appended.message;
        }
        if !appended.message.internal {
            self.hub.to_visitor(
                &conversation.site_id,
                &conversation.visitor_id,
                &ServerToVisitor::Message {
                    message: appended.message.clone(),
                },
            );
        }
        let frame = ServerToAgent::Message {
            conversation_id: conversation.id.clone(),
            message: appended.message.clone(),
        };
        for username in conversation.agent_username.iter().chain(&appended.audience) {
            self.hub.to_agent(username, &frame);
        }
        if !appended.message.internal && appended.message.author != Author::System {
            self.activity
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .insert(conversation.id.clone(), appended.message.clone().preview());
        }
        appended.message
    }

    /// Tells the supervisors which conversations got a message since the last tick, with its preview.
    fn send_activity(&self) {
        let messages = std::mem::take(
            &mut *self
                .activity
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
        if messages.is_empty() {
            return;
        }
        self.hub.to_supervisors(&ServerToAgent::OngoingActivity {
            messages: messages
                .into_iter()
                .map(|(conversation_id, message)| protocol::LastMessage {
                    conversation_id,
                    message,
                })
                .collect(),
        });
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
        // Consultants and supervisors in the conversation follow its changes too.
        for participant in &view.participants {
            if conversation.agent_username.as_deref() != Some(participant.username.as_str())
                && moved.previous_owner.as_deref() != Some(participant.username.as_str())
            {
                self.hub.to_agent(
                    &participant.username,
                    &ServerToAgent::Conversation {
                        conversation: view.clone(),
                    },
                );
            }
        }
        if let Some(withdrawn) = &moved.withdrawn {
            self.offer_ended(withdrawn, false);
            self.refresh_presence(&withdrawn.agent_username).await;
        }
        if let Some(owner) = &conversation.agent_username {
            self.refresh_presence(owner).await;
        }
        // The dashboard's and work items' row: the list's extras (preview, times, participants).
        let summary = match self.store.list_extras(vec![conversation.id.clone()]).await {
            Ok(mut extras) => {
                super::console::listed_view(conversation, extras.pop().unwrap_or_default())
            }
            Err(error) => {
                tracing::error!("cannot read a conversation's list extras: {error}");
                protocol::ConversationView {
                    messages: Vec::new(),
                    ..view
                }
            }
        };
        self.to_queue_members(moved, &summary).await;
        self.hub.to_supervisors(&ServerToAgent::Ongoing {
            conversation: summary,
        });
    }

    /// The members of the conversation's queue see it in their Open work items: they hear when it
    /// arrives there and when it leaves (taken, moved, closed). Nobody else's conversations reach them.
    async fn to_queue_members(&self, moved: &Moved, summary: &protocol::ConversationView) {
        let conversation = &moved.conversation;
        let mut queues = Vec::new();
        if conversation.state == ConversationState::Open {
            queues.push(conversation.queue_id.as_str());
        }
        if moved.previous_state == ConversationState::Open
            && !queues.contains(&moved.previous_queue.as_str())
        {
            queues.push(moved.previous_queue.as_str());
        }
        for queue in queues {
            let members = match self.store.queue_members(queue).await {
                Ok(members) => members,
                Err(error) => {
                    tracing::error!("cannot read a queue's members: {error}");
                    continue;
                }
            };
            for member in members {
                self.hub.to_agent(
                    &member,
                    &ServerToAgent::WorkItem {
                        conversation: summary.clone(),
                    },
                );
            }
        }
    }

    /// A new conversation: the supervisors' dashboard and its queue's members hear of it.
    pub(super) async fn announce_new(&self, conversation: &Conversation) {
        let summary = super::view(conversation, Vec::new());
        let arrived = Moved {
            conversation: conversation.clone(),
            previous_owner: None,
            previous_state: conversation.state,
            previous_queue: conversation.queue_id.clone(),
            withdrawn: None,
        };
        self.to_queue_members(&arrived, &summary).await;
        self.hub.to_supervisors(&ServerToAgent::Ongoing {
            conversation: summary,
        });
    }

    /// An offer as the console shows it: with the queue's name and the invitation that brought the
    /// visitor, so the agent reads names rather than ids.
    pub(super) fn offer_frame(
        &self,
        view: protocol::ConversationView,
        offer: &Offer,
    ) -> ServerToAgent {
        let queue_name = self
            .settings
            .routing_model
            .queues
            .get(&view.queue_id)
            .map(|queue| queue.name.clone())
            .unwrap_or_else(|| view.queue_id.clone());
        let rule_invitation = self
            .rules
            .get(&view.site_id)
            .and_then(|rules| {
                rules
                    .rule_set
                    .rules
                    .iter()
                    .find(|rule| rule.id == view.rule_id)
                    .map(|rule| rule.invitation.default.clone())
            })
            .unwrap_or_default();
        ServerToAgent::Offer {
            conversation: view,
            expires_at_ms: offer.expires_at_ms,
            transfer_from: offer.transfer_from.clone(),
            queue_name,
            rule_invitation,
        }
    }

    pub(super) async fn send_offer(&self, offer: &Offer) {
        let Ok(Some(conversation)) = self.store.conversation(&offer.conversation_id).await else {
            return;
        };
        match self.conversation_view(&conversation).await {
            Ok(view) => self
                .hub
                .to_agent(&offer.agent_username, &self.offer_frame(view, offer)),
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
        // The supervisors' agents board follows presence and load: a frame when either changed, not
        // on every refresh (this runs for each offer and each move, and the frame crosses the bus).
        let status = (load.agent.presence, shown, load.used, load.agent.capacity);
        let board_changed = self
            .board
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .insert(username.to_owned(), status)
            != Some(status);
        if board_changed {
            self.hub.to_supervisors(&ServerToAgent::AgentStatus {
                agent: self.summary(load),
            });
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
                        && let Ok(messages) = self
                            .store
                            .visitor_messages_after(&moved.conversation.id, 0)
                            .await
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
    pub(super) async fn send_positions(&self) {
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
        self.send_activity();
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
                if let Some(requester) = &ended.transfer_from {
                    self.transfer_answered(
                        &ended.agent_username,
                        &ended.conversation_id,
                        requester,
                        "expired",
                    )
                    .await;
                }
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

    pub(super) fn lock_shown(
        &self,
    ) -> std::sync::MutexGuard<'_, std::collections::HashMap<String, Presence>> {
        self.shown_presence
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(super) fn lock_positions(
        &self,
    ) -> std::sync::MutexGuard<'_, std::collections::HashMap<String, u32>> {
        self.positions
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Counts a handled disconnect when dropped, whichever way the handler returned.
pub(super) struct Handled<'a>(pub(super) &'a tokio::sync::watch::Sender<u64>);

impl Drop for Handled<'_> {
    fn drop(&mut self) {
        self.0.send_modify(|count| *count += 1);
    }
}

pub(super) fn owner(agent: &Agent) -> Actor {
    Actor::Agent {
        username: agent.username.clone(),
    }
}
