//! Storage: the `Store` trait every backend implements, and its record types.
//!
//! Every method that changes state does it in one transaction and returns only after that transaction is
//! durably committed, so whatever the caller acknowledges to a client is on disk.

pub mod sqlite;

use async_trait::async_trait;
use protocol::{Author, ChatMessage, ContextVariables, ConversationState, Presence, Role};

use crate::domain::lifecycle::{Channel, Event, TransitionError};

/// A console user.
#[derive(Debug, Clone, PartialEq)]
pub struct Agent {
    pub username: String,
    pub display_name: String,
    pub password_hash: String,
    pub role: Role,
    pub capacity: u32,
    pub presence: Presence,
    pub queues: Vec<String>,
}

/// A conversation as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Conversation {
    pub id: String,
    pub site_id: String,
    pub visitor_id: String,
    pub queue_id: String,
    pub rule_id: String,
    pub channel: Channel,
    pub state: ConversationState,
    pub agent_username: Option<String>,
    pub title: String,
    pub context: ContextVariables,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
}

#[derive(Debug, Clone)]
pub struct NewConversation {
    pub id: String,
    pub site_id: String,
    pub visitor_id: String,
    pub queue_id: String,
    pub rule_id: String,
    pub context: ContextVariables,
    pub now_ms: i64,
}

#[derive(Debug, Clone)]
pub struct NewMessage {
    pub client_message_id: String,
    pub author: Author,
    pub author_name: String,
    pub body: String,
    pub now_ms: i64,
}

/// The outcome of storing a message.
#[derive(Debug, Clone, PartialEq)]
pub struct Appended {
    pub message: ChatMessage,
    /// The id was already stored with the same body: a retry, not a new message.
    pub duplicate: bool,
}

/// A notification offering a conversation to an agent.
#[derive(Debug, Clone, PartialEq)]
pub struct Offer {
    pub conversation_id: String,
    pub agent_username: String,
    pub expires_at_ms: i64,
}

/// Who is acting on a conversation; checked against ownership inside the transaction.
#[derive(Debug, Clone, PartialEq)]
pub enum Actor {
    Visitor {
        site_id: String,
        visitor_id: String,
    },
    Agent {
        username: String,
    },
    /// Timers and the server itself.
    System,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("no such conversation")]
    UnknownConversation,
    #[error("no such agent `{0}`")]
    UnknownAgent(String),
    #[error("agent `{0}` already exists")]
    AgentExists(String),
    #[error("the conversation belongs to someone else")]
    NotYourConversation,
    #[error("the conversation is not offered to you")]
    NotOfferedToYou,
    #[error("message id `{0}` was already used for a different message")]
    IdConflict(String),
    #[error(transparent)]
    Transition(#[from] TransitionError),
    #[error("database error: {0}")]
    Database(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

#[async_trait]
pub trait Store: Send + Sync + std::fmt::Debug + 'static {
    /// Creates the agent; fails with `AgentExists` if the username is taken.
    async fn create_agent(&self, agent: Agent) -> StoreResult<()>;
    async fn agent(&self, username: &str) -> StoreResult<Option<Agent>>;
    async fn set_presence(&self, username: &str, presence: Presence) -> StoreResult<()>;

    async fn create_session(
        &self,
        token_hash: &str,
        username: &str,
        expires_at_ms: i64,
    ) -> StoreResult<()>;
    async fn session_agent(&self, token_hash: &str, now_ms: i64) -> StoreResult<Option<Agent>>;
    async fn delete_session(&self, token_hash: &str) -> StoreResult<()>;

    /// Creates the visitor's conversation in Open, or returns the one they already have in Open, Active or
    /// Waiting (`false`): a visitor has at most one live conversation, whatever the concurrency.
    async fn start_conversation(&self, new: NewConversation) -> StoreResult<(Conversation, bool)>;
    async fn conversation(&self, conversation_id: &str) -> StoreResult<Option<Conversation>>;
    /// The visitor's most recent conversation that is not Closed.
    async fn visitor_conversation(
        &self,
        site_id: &str,
        visitor_id: &str,
    ) -> StoreResult<Option<Conversation>>;
    async fn conversations(&self) -> StoreResult<Vec<Conversation>>;
    /// Conversations the agent owns that are not Closed.
    async fn agent_conversations(&self, username: &str) -> StoreResult<Vec<Conversation>>;

    /// Stores a message with the next sequence number. Idempotent on `client_message_id`.
    async fn append_message(
        &self,
        conversation_id: &str,
        message: NewMessage,
    ) -> StoreResult<Appended>;
    async fn messages_after(
        &self,
        conversation_id: &str,
        after_seq: i64,
    ) -> StoreResult<Vec<ChatMessage>>;

    /// Applies a lifecycle event after checking the actor may cause it; returns the updated conversation.
    async fn apply_event(
        &self,
        conversation_id: &str,
        event: Event,
        actor: Actor,
        now_ms: i64,
    ) -> StoreResult<Conversation>;

    /// Open conversations that are not offered to anyone, oldest first.
    async fn unoffered_open_conversations(&self) -> StoreResult<Vec<String>>;
    /// Picks an agent for an Open conversation and records the offer, or `None` when nobody can take it.
    async fn offer_next(
        &self,
        conversation_id: &str,
        now_ms: i64,
        expires_at_ms: i64,
    ) -> StoreResult<Option<Offer>>;
    /// The offered agent accepts: the conversation becomes Active with them as owner.
    async fn accept_offer(
        &self,
        conversation_id: &str,
        username: &str,
        now_ms: i64,
    ) -> StoreResult<Conversation>;
    /// The offered agent declines, or the offer expired: the agent is not asked again for it.
    async fn decline_offer(&self, conversation_id: &str, username: &str) -> StoreResult<()>;
    async fn expired_offers(&self, now_ms: i64) -> StoreResult<Vec<Offer>>;
    async fn offers_for(&self, username: &str) -> StoreResult<Vec<Offer>>;

    /// Queues with at least one Available agent who has free capacity.
    async fn available_queues(&self) -> StoreResult<std::collections::BTreeSet<String>>;

    /// Counts one invitation event; a retry with the same id counts once.
    async fn record_invitation_event(
        &self,
        site_id: &str,
        event: protocol::InvitationEvent,
        now_ms: i64,
    ) -> StoreResult<()>;
    /// Shown, accepted, closed and expired counts per rule of a site, by rule id.
    async fn invitation_stats(&self, site_id: &str) -> StoreResult<Vec<protocol::RuleStats>>;
}
