//! What the console reads besides a single conversation: queues, the work-item streams, the Ongoing
//! dashboard, histories, rule statistics, and the frames an agent's socket starts with. Each read checks
//! the caller's role here.

use std::collections::{HashMap, HashSet};

use protocol::{
    ChatMessage, ConversationState, ConversationView, ErrorCode, HistoryEntry, InvitationEvent,
    QueueSummary, Role, RuleStats, ServerToAgent,
};

use super::accounts::require;
use super::{Runtime, RuntimeError, RuntimeResult, SupervisorAction, view};
use crate::store::{Agent, Conversation, Stream};

impl Runtime {
    /// Every queue, whether it is open now, how many wait in it and who serves it. Any console user.
    pub async fn queue_summaries(&self) -> RuntimeResult<Vec<QueueSummary>> {
        let now_ms = self.now_ms();
        let waiting_ids: HashSet<String> = self
            .store
            .queue_positions()
            .await?
            .into_iter()
            .map(|position| position.conversation_id)
            .collect();
        let mut waiting: HashMap<String, u32> = HashMap::new();
        for conversation in self.store.work_items(Stream::Open, "", Role::Admin).await? {
            if waiting_ids.contains(&conversation.id) {
                *waiting.entry(conversation.queue_id).or_default() += 1;
            }
        }
        let agents = self.store.agents().await?;
        let model = &self.settings.routing_model;
        Ok(model
            .queues
            .values()
            .map(|queue| {
                let workstream = model.workstream(&queue.id);
                QueueSummary {
                    id: queue.id.clone(),
                    name: queue.name.clone(),
                    workstream: workstream.id.clone(),
                    channel: workstream.channel,
                    priority: queue.priority,
                    assignment: queue.assignment.as_str().to_owned(),
                    open_now: queue
                        .hours
                        .as_ref()
                        .is_none_or(|hours| hours.is_open(now_ms)),
                    waiting: waiting.get(&queue.id).copied().unwrap_or(0),
                    members: agents
                        .iter()
                        .filter(|load| load.agent.queues.contains(&queue.id))
                        .map(|load| load.agent.username.clone())
                        .collect(),
                }
            })
            .collect())
    }

    /// Conversations as a list shows them: without their messages, with the newest one's preview and
    /// their participants.
    async fn listed(&self, conversations: &[Conversation]) -> RuntimeResult<Vec<ConversationView>> {
        let ids = conversations
            .iter()
            .map(|conversation| conversation.id.clone())
            .collect();
        let extras = self.store.list_extras(ids).await?;
        Ok(conversations
            .iter()
            .zip(extras)
            .map(|(conversation, extras)| listed_view(conversation, extras))
            .collect())
    }

    /// The Ongoing conversations dashboard. Supervisors and admins.
    pub async fn ongoing(&self, caller: &Agent) -> RuntimeResult<Vec<ConversationView>> {
        require(caller, Role::Supervisor)?;
        let conversations = self.store.ongoing_conversations().await?;
        self.listed(&conversations).await
    }

    /// A work-item stream as `caller` may see it.
    pub async fn work_items(
        &self,
        caller: &Agent,
        stream: Stream,
    ) -> RuntimeResult<Vec<ConversationView>> {
        let conversations = self
            .store
            .work_items(stream, &caller.username, caller.role)
            .await?;
        self.listed(&conversations).await
    }

    /// A conversation's lifecycle events, for whoever may read it.
    pub async fn history(
        &self,
        caller: &Agent,
        conversation_id: &str,
    ) -> RuntimeResult<Vec<HistoryEntry>> {
        self.readable_conversation(caller, conversation_id).await?;
        Ok(self.store.history(conversation_id).await?)
    }

    /// A supervisor moves an Open conversation to another queue; any other state is refused.
    pub async fn assign_to_queue(
        &self,
        caller: &Agent,
        conversation_id: &str,
        queue_id: &str,
    ) -> RuntimeResult<Conversation> {
        self.supervising(caller, SupervisorAction::Assign)?;
        let current = self.readable_conversation(caller, conversation_id).await?;
        if current.state != ConversationState::Open {
            return Err(RuntimeError::new(
                ErrorCode::TransitionNotAllowed,
                format!(
                    "only Open conversations can be assigned; this one is {}",
                    current.state.label()
                ),
            ));
        }
        self.transfer_to_queue(caller, conversation_id, queue_id)
            .await
    }

    /// How each rule's invitations fared on `site`.
    pub async fn rule_stats(&self, site_id: &str) -> RuntimeResult<Vec<RuleStats>> {
        Ok(self.store.invitation_stats(site_id).await?)
    }

    /// Counts what a widget reports of an invitation; a retry with the same id counts once.
    pub async fn record_invitation_event(
        &self,
        site_id: &str,
        event: InvitationEvent,
        address: Option<std::net::IpAddr>,
    ) -> RuntimeResult<()> {
        if let Some(address) = address {
            self.limits
                .invitation_events_per_address
                .check(&address)
                .map_err(|refused| {
                    super::RuntimeError::rate_limited("invitation events", refused)
                })?;
        }
        Ok(self
            .store
            .record_invitation_event(site_id, event, self.now_ms())
            .await?)
    }

    /// The messages of the visitor's conversation after `after_seq`, for a resume.
    pub async fn messages_after(
        &self,
        conversation: &Conversation,
        after_seq: i64,
    ) -> RuntimeResult<Vec<ChatMessage>> {
        Ok(self
            .store
            .visitor_messages_after(&conversation.id, after_seq)
            .await?)
    }

    /// The name a visitor sees for an agent; `None` if the agent cannot be read.
    pub async fn agent_display_name(&self, username: &str) -> Option<String> {
        self.store
            .agent(username)
            .await
            .ok()
            .flatten()
            .map(|agent| agent.display_name)
    }

    /// What an agent's socket sends first: the agent's state with their conversations, then every offer
    /// waiting for them. A conversation that cannot be read is left out rather than failing the socket.
    pub async fn agent_welcome(&self, agent: &Agent) -> Vec<ServerToAgent> {
        let fresh = self.fresh_agent(agent).await;
        let mut conversations = Vec::new();
        for conversation in self
            .store
            .agent_conversations(&agent.username)
            .await
            .unwrap_or_default()
        {
            if let Ok(view) = self.conversation_view(&conversation).await {
                conversations.push(view);
            }
        }
        let supervision = (fresh.role >= Role::Supervisor).then(|| {
            let allowed = self.settings.supervision;
            let admin = fresh.role == Role::Admin;
            protocol::SupervisionActions {
                monitor: admin || allowed.monitor,
                assign: admin || allowed.assign,
                transfer: admin || allowed.transfer,
                force_close: admin || allowed.force_close,
            }
        });
        let mut frames = vec![ServerToAgent::Welcome {
            username: fresh.username,
            display_name: fresh.display_name,
            role: fresh.role,
            supervision,
            sentiment_alert: self.settings.sentiment_alert,
            presence: fresh.presence,
            conversations,
        }];
        for offer in self
            .store
            .offers_for(&agent.username)
            .await
            .unwrap_or_default()
        {
            let Ok(Some(conversation)) = self.store.conversation(&offer.conversation_id).await
            else {
                continue;
            };
            let Ok(view) = self.conversation_view(&conversation).await else {
                continue;
            };
            frames.push(self.offer_frame(view, &offer));
        }
        frames
    }
}

/// A conversation as a list row: without messages, with its preview, participants and times.
pub(super) fn listed_view(
    conversation: &Conversation,
    extras: crate::store::ListExtras,
) -> ConversationView {
    ConversationView {
        last_message: extras.last_message.map(ChatMessage::preview),
        participants: extras.participants,
        state_since_ms: extras.state_since_ms,
        handled_since_ms: extras.handled_since_ms,
        ..view(conversation, Vec::new())
    }
}
