//! Storage: the `Store` trait every backend implements, and its record types.
//!
//! Every method that changes state does it in one transaction and returns only after that transaction is
//! durably committed, so whatever the caller acknowledges to a client is on disk.

pub mod bus;
pub mod postgres;
pub mod sql;
pub mod sqlite;

use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use protocol::{Author, ChatMessage, ContextVariables, ConversationState, Presence, Role};

use crate::domain::lifecycle::{Channel, Event, TransitionError};
use crate::domain::routing::{OverflowReason, Routing};

/// Where the store keeps its data: the `database` setting.
#[derive(Clone, PartialEq, Eq)]
pub enum DatabaseLocation {
    /// A SQLite file.
    Sqlite(PathBuf),
    /// A PostgreSQL server, reached by `connections` connections.
    Postgres { url: String, connections: usize },
}

/// How many connections a node opens to PostgreSQL unless `database_connections` says otherwise.
pub const DEFAULT_POSTGRES_CONNECTIONS: usize = 4;

impl DatabaseLocation {
    /// A `postgres://` or `postgresql://` URL names a PostgreSQL database; anything else is a SQLite
    /// file, relative paths resolved by `resolve`.
    pub fn parse(setting: &str, resolve: impl FnOnce(&str) -> PathBuf) -> DatabaseLocation {
        if setting.starts_with("postgres://") || setting.starts_with("postgresql://") {
            DatabaseLocation::Postgres {
                url: setting.to_owned(),
                connections: DEFAULT_POSTGRES_CONNECTIONS,
            }
        } else {
            DatabaseLocation::Sqlite(resolve(setting))
        }
    }
}

/// Paths as they are; URLs with their password replaced by `***`, so the location can be logged.
impl std::fmt::Display for DatabaseLocation {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DatabaseLocation::Sqlite(path) => write!(formatter, "{}", path.display()),
            DatabaseLocation::Postgres { url, .. } => formatter.write_str(&postgres::redacted(url)),
        }
    }
}

impl std::fmt::Debug for DatabaseLocation {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DatabaseLocation::Sqlite(path) => write!(formatter, "Sqlite({})", path.display()),
            DatabaseLocation::Postgres { connections, .. } => {
                write!(formatter, "Postgres({self}, {connections} connections)")
            }
        }
    }
}

/// Opens the store the location names, migrated and ready.
pub fn open(location: &DatabaseLocation, routing: Arc<Routing>) -> StoreResult<Arc<dyn Store>> {
    let store = match location {
        DatabaseLocation::Sqlite(path) => sqlite::open(path, routing)?,
        DatabaseLocation::Postgres { url, connections } => {
            postgres::open(url, *connections, routing)?
        }
    };
    Ok(Arc::new(store))
}

/// One lifecycle event in a conversation's history: the protocol's shape, which the store reads as is.
pub use protocol::HistoryEntry;

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
    /// An admin disabled the account: it cannot log in and gets no offers.
    pub disabled: bool,
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
    /// The owner in Active, Wrap-up and Waiting; the last owner once Closed; nobody while Open.
    pub agent_username: Option<String>,
    pub title: String,
    pub context: ContextVariables,
    /// What the visitor's page passed that did not fit the context's limits, and why.
    pub dropped_context: Vec<protocol::context::DroppedVariable>,
    /// Capacity units it uses while it holds the owner's capacity (from its workstream).
    pub units: u32,
    /// Whether it counts against the owner's capacity now: Active, and Wrap-up while blocked.
    pub holds_capacity: bool,
    /// How the customer feels, from their latest messages.
    pub sentiment: protocol::Sentiment,
    /// The pages of the visit before the chat, oldest first.
    pub journey: Vec<protocol::JourneyStep>,
    /// The language the customer writes in, a primary subtag (`fr`).
    pub language: String,
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
    pub dropped_context: Vec<protocol::context::DroppedVariable>,
    pub journey: Vec<protocol::JourneyStep>,
    /// The language the customer writes in, a primary subtag (`fr`): their messages are scored in it.
    pub language: String,
    /// The customer the site vouched for with a signed identity: the new conversation is linked to
    /// their contact (created with `contact_id` on their first chat) and titled with their name.
    pub identity: Option<Identity>,
    pub now_ms: i64,
}

/// A verified identity token's claims, as the customer record keeps them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The token's `sub`: the site's own id for the customer.
    pub subject: String,
    pub name: String,
    pub email: String,
    pub phone: String,
    /// The id a first chat's new contact gets.
    pub contact_id: String,
}

#[derive(Debug, Clone)]
pub struct NewMessage {
    pub client_message_id: String,
    pub author: Author,
    pub author_name: String,
    pub body: String,
    pub now_ms: i64,
    /// An internal note: never sent or shown to the customer.
    pub internal: bool,
}

/// An offline message as the visitor sends it.
#[derive(Debug, Clone, PartialEq)]
pub struct NewOfflineMessage {
    pub client_message_id: String,
    pub name: String,
    pub email: String,
    pub body: String,
    pub now_ms: i64,
}

/// The outcome of storing a message.
#[derive(Debug, Clone, PartialEq)]
pub struct Appended {
    pub message: ChatMessage,
    /// The id was already stored with the same body: a retry, not a new message.
    pub duplicate: bool,
    /// Who receives it besides the owner and the customer, read in the same transaction: consultants,
    /// supervisors who joined, supervisors monitoring.
    pub audience: Vec<String>,
    /// The conversation's new sentiment level when this customer message changed it.
    pub sentiment_changed: Option<protocol::Sentiment>,
}

/// Which audit entries to read: each field narrows when set; `before` pages back from an id.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AuditFilter {
    pub actor: Option<String>,
    pub action: Option<String>,
    pub conversation_id: Option<String>,
    pub before: Option<i64>,
    pub limit: u32,
}

/// What a list shows of a conversation besides its row.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ListExtras {
    pub last_message: Option<ChatMessage>,
    pub participants: Vec<protocol::Participant>,
    /// When it entered its current state: its last lifecycle event.
    pub state_since_ms: Option<i64>,
    /// When it first became Active.
    pub handled_since_ms: Option<i64>,
}

/// What became of a visitor's message sent to their live conversation.
#[derive(Debug, Clone, PartialEq)]
pub enum VisitorAppend {
    Appended {
        conversation: Conversation,
        appended: Appended,
    },
    /// Their conversation is Waiting: it must come back to Open before the message is stored.
    Waiting(Conversation),
    /// They have no conversation that is not Closed.
    NoConversation,
}

/// A notification offering a conversation to an agent.
#[derive(Debug, Clone, PartialEq)]
pub struct Offer {
    pub conversation_id: String,
    pub agent_username: String,
    pub expires_at_ms: i64,
    /// `None` for routing's offer of an Open conversation; the requester for a transfer.
    pub transfer_from: Option<String>,
}

/// A conversation after a change, with who else must hear about it.
#[derive(Debug, Clone, PartialEq)]
pub struct Moved {
    pub conversation: Conversation,
    /// The owner before the change, when it had one.
    pub previous_owner: Option<String>,
    /// The state and queue before the change: who watched it in its Open stream hears it left.
    pub previous_state: ConversationState,
    pub previous_queue: String,
    /// An offer the change withdrew (a pick or an assignment of an offered conversation).
    pub withdrawn: Option<Offer>,
}

/// What routing did with one waiting conversation.
#[derive(Debug, Clone, PartialEq)]
pub enum Routed {
    Offered(Offer),
    /// Overflow moved it to another queue or ended it.
    Overflowed {
        moved: Box<Moved>,
        reason: OverflowReason,
    },
}

/// An Open conversation's place in its queue, for its visitor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuePosition {
    pub conversation_id: String,
    pub site_id: String,
    pub visitor_id: String,
    pub position: u32,
}

/// An agent with their load, for routing dashboards.
#[derive(Debug, Clone, PartialEq)]
pub struct AgentLoad {
    pub agent: Agent,
    /// Units in use: conversations holding capacity and pending offers.
    pub used: u32,
    /// When the agent entered their presence; 0 if unknown (not changed since before it was kept).
    pub presence_since_ms: i64,
}

/// Persisted timers that are not a conversation state's own (those come from `lifecycle::step`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectionTimer {
    /// Subject: the agent's username.
    AgentDisconnect,
    /// Subject: the conversation id.
    VisitorDisconnect,
}

/// Every persisted timer, as the `timers` table names its kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Timer {
    /// Subject: the conversation id.
    Inactivity,
    /// Subject: the conversation id.
    WrapUpRelease,
    /// Subject: the conversation id.
    VisitorDisconnect,
    /// Subject: the agent's username.
    AgentDisconnect,
}

impl Timer {
    const ALL: [Timer; 4] = [
        Timer::Inactivity,
        Timer::WrapUpRelease,
        Timer::VisitorDisconnect,
        Timer::AgentDisconnect,
    ];

    /// The name stored in `timers.kind`.
    pub fn as_str(self) -> &'static str {
        match self {
            Timer::Inactivity => "inactivity",
            Timer::WrapUpRelease => "wrap_up_release",
            Timer::VisitorDisconnect => "visitor_disconnect",
            Timer::AgentDisconnect => "agent_disconnect",
        }
    }

    pub fn parse(name: &str) -> Option<Timer> {
        Timer::ALL.into_iter().find(|timer| timer.as_str() == name)
    }
}

impl From<crate::domain::lifecycle::TimerKind> for Timer {
    fn from(kind: crate::domain::lifecycle::TimerKind) -> Timer {
        match kind {
            crate::domain::lifecycle::TimerKind::Inactivity => Timer::Inactivity,
            crate::domain::lifecycle::TimerKind::WrapUpRelease => Timer::WrapUpRelease,
        }
    }
}

impl From<ConnectionTimer> for Timer {
    fn from(kind: ConnectionTimer) -> Timer {
        match kind {
            ConnectionTimer::AgentDisconnect => Timer::AgentDisconnect,
            ConnectionTimer::VisitorDisconnect => Timer::VisitorDisconnect,
        }
    }
}

/// Whose socket a connection is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnectionSubject {
    Agent { username: String },
    Visitor { site_id: String, visitor_id: String },
}

/// A timer that fired, and what it changed.
#[derive(Debug, Clone, PartialEq)]
pub struct Fired {
    pub kind: Timer,
    pub subject: String,
    pub moved: Vec<Moved>,
    /// Offers withdrawn from an agent who did not come back.
    pub withdrawn: Vec<Offer>,
    /// An agent whose capacity changed without a transition (a wrap-up's blocking ended).
    pub capacity_freed_for: Option<String>,
}

/// The three work-item streams of the agent dashboard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    /// Conversations the agent owns in Active, Wrap-up or Waiting.
    Mine,
    /// Open conversations in the agent's queues (every queue for supervisors).
    Open,
    /// Closed conversations the agent owned (every one for supervisors), newest first.
    Closed,
}

/// A supervisor's assignment of an Open conversation to an agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Overrides {
    /// Assign even though the agent's presence is not one the workstream allows.
    pub presence: bool,
    /// Assign even past the agent's capacity; the amount is recorded.
    pub capacity: bool,
}

/// Changes an admin makes to an agent; `None` keeps the current value.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AgentUpdate {
    pub display_name: Option<String>,
    pub role: Option<Role>,
    pub capacity: Option<u32>,
    pub queues: Option<Vec<String>>,
    pub disabled: Option<bool>,
}

/// Sessions of an agent ended. With none left (`last_session`), the agent left routing in the same
/// transaction: presence Offline, and these offers withdrawn for the next agent.
#[derive(Debug, Clone, PartialEq)]
pub struct SignedOut {
    pub username: String,
    pub last_session: bool,
    pub withdrawn: Vec<Offer>,
}

/// An agent after an admin's change, and the sessions it ended (disabling).
#[derive(Debug, Clone, PartialEq)]
pub struct AgentUpdated {
    pub agent: Agent,
    pub signed_out: Option<SignedOut>,
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
    /// A supervisor or admin acting on someone else's conversation; the runtime checks the action is
    /// enabled.
    Supervisor {
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
    #[error("no such queue `{0}`")]
    UnknownQueue(String),
    #[error("{0}")]
    NotAllowed(String),
    #[error("agent `{username}` has {free} free units; the conversation needs {needed}")]
    OverCapacity {
        username: String,
        free: u32,
        needed: u32,
    },
    #[error("a transfer of this conversation is already waiting for an answer")]
    TransferPending,
    #[error("message id `{0}` was already used for a different message")]
    IdConflict(String),
    #[error(transparent)]
    Transition(#[from] TransitionError),
    /// No such contact or case: the record's kind.
    #[error("no such {0}")]
    UnknownRecord(&'static str),
    #[error("database error: {0}")]
    Database(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

#[async_trait]
pub trait Store: Send + Sync + std::fmt::Debug + 'static {
    /// Creates the agent; fails with `AgentExists` if the username is taken.
    async fn create_agent(&self, agent: Agent) -> StoreResult<()>;
    async fn agent(&self, username: &str) -> StoreResult<Option<Agent>>;
    /// Sets the presence the agent chose; when it changes, it is timed from `now_ms`.
    async fn set_presence(
        &self,
        username: &str,
        presence: Presence,
        now_ms: i64,
    ) -> StoreResult<()>;

    async fn create_session(
        &self,
        token_hash: &str,
        username: &str,
        expires_at_ms: i64,
    ) -> StoreResult<()>;
    /// The enabled agent whose unexpired session this is.
    async fn session_agent(&self, token_hash: &str, now_ms: i64) -> StoreResult<Option<Agent>>;
    /// Ends one session; `None` when there was none. See `SignedOut` for what follows the last one.
    async fn delete_session(&self, token_hash: &str, now_ms: i64)
    -> StoreResult<Option<SignedOut>>;
    /// Which of these sessions are unexpired and belong to an enabled agent.
    async fn live_sessions(
        &self,
        token_hashes: Vec<String>,
        now_ms: i64,
    ) -> StoreResult<std::collections::BTreeSet<String>>;
    /// Stores a new password hash and ends every session of the agent but `keep`.
    async fn set_password(
        &self,
        username: &str,
        password_hash: &str,
        keep: Option<&str>,
        now_ms: i64,
    ) -> StoreResult<SignedOut>;

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
    /// Every conversation, oldest first.
    async fn conversations(&self) -> StoreResult<Vec<Conversation>>;
    /// Every conversation that is not Closed, oldest first: the supervisors' Ongoing conversations.
    async fn ongoing_conversations(&self) -> StoreResult<Vec<Conversation>>;
    /// Conversations the agent owns or is in (consultant, joined, monitoring) that are not Closed.
    async fn agent_conversations(&self, username: &str) -> StoreResult<Vec<Conversation>>;
    /// One work-item stream as `username` sees it.
    async fn work_items(
        &self,
        stream: Stream,
        username: &str,
        role: Role,
    ) -> StoreResult<Vec<Conversation>>;
    /// The lifecycle events a conversation went through, oldest first: (event, from, to, actor, at).
    async fn history(&self, conversation_id: &str) -> StoreResult<Vec<HistoryEntry>>;

    /// Stores a message with the next sequence number, and pushes the conversation's inactivity timer
    /// back. Idempotent on `client_message_id`.
    async fn append_message(
        &self,
        conversation_id: &str,
        message: NewMessage,
    ) -> StoreResult<Appended>;
    /// Stores a visitor's message in their live conversation in one transaction, unless it is Waiting
    /// (which the caller brings back first) or there is none.
    async fn append_visitor_message(
        &self,
        site_id: &str,
        visitor_id: &str,
        message: NewMessage,
    ) -> StoreResult<VisitorAppend>;
    /// The scores of the customer's messages, oldest first.
    async fn customer_scores(&self, conversation_id: &str) -> StoreResult<Vec<f64>>;
    async fn messages_after(
        &self,
        conversation_id: &str,
        after_seq: i64,
    ) -> StoreResult<Vec<ChatMessage>>;
    /// What the customer may read after `after_seq`: the messages without internal notes.
    async fn visitor_messages_after(
        &self,
        conversation_id: &str,
        after_seq: i64,
    ) -> StoreResult<Vec<ChatMessage>>;
    /// Writes one supervisor action to the audit log.
    async fn record_audit(&self, entry: protocol::AuditEntry) -> StoreResult<()>;
    /// The audit log, newest first, as `filter` narrows it.
    async fn audit(&self, filter: AuditFilter) -> StoreResult<Vec<protocol::AuditEntry>>;
    /// Who is in a conversation besides its owner.
    async fn participants(&self, conversation_id: &str) -> StoreResult<Vec<protocol::Participant>>;
    /// Puts `username` in the conversation with `role`, or takes them out (`None`). A consultant stays a
    /// consultant when they also monitor. Answers the role they had.
    async fn set_participant(
        &self,
        conversation_id: &str,
        username: &str,
        role: Option<protocol::ParticipantRole>,
    ) -> StoreResult<Option<protocol::ParticipantRole>>;
    /// What a list shows of each conversation besides its row, in the order asked, read in one
    /// transaction: the newest message a person wrote (visitor or agent), and the participants.
    async fn list_extras(&self, conversation_ids: Vec<String>) -> StoreResult<Vec<ListExtras>>;

    /// Applies a lifecycle event after checking the actor may cause it.
    async fn apply_event(
        &self,
        conversation_id: &str,
        event: Event,
        actor: Actor,
        now_ms: i64,
    ) -> StoreResult<Moved>;
    /// An agent picks an Open conversation from Open work items: it must be in one of their queues (any
    /// queue for supervisors) and fit their capacity.
    async fn pick(&self, conversation_id: &str, username: &str, now_ms: i64) -> StoreResult<Moved>;
    /// Moves a conversation to another queue: an Active one by its owner or a supervisor (it becomes
    /// Open there), an Open one by a supervisor.
    async fn move_to_queue(
        &self,
        conversation_id: &str,
        queue_id: &str,
        actor: Actor,
        now_ms: i64,
    ) -> StoreResult<Moved>;
    /// A supervisor assigns an Open, unowned conversation to an agent. Returns by how many units the
    /// agent now exceeds their capacity (0 without an override), which is recorded.
    async fn assign(
        &self,
        conversation_id: &str,
        username: &str,
        supervisor: &str,
        overrides: Overrides,
        now_ms: i64,
    ) -> StoreResult<(Moved, u32)>;
    /// Offers an Active or Waiting conversation to another agent of its queue; the owner keeps it until
    /// they accept.
    async fn offer_transfer(
        &self,
        conversation_id: &str,
        to_username: &str,
        actor: Actor,
        now_ms: i64,
    ) -> StoreResult<Offer>;

    /// Offers every unoffered Open conversation, in queue priority order and then oldest first, to the
    /// agent its queue's assignment method picks, or hands it to overflow.
    async fn route_waiting(&self, now_ms: i64) -> StoreResult<Vec<Routed>>;
    /// The offered agent accepts: routing's offer makes it Active with them as owner; a transfer makes
    /// them the owner and the previous owner a consultant.
    async fn accept_offer(
        &self,
        conversation_id: &str,
        username: &str,
        now_ms: i64,
    ) -> StoreResult<Moved>;
    /// The offered agent declines, or the offer expired: routing will not ask them again for it.
    async fn decline_offer(&self, conversation_id: &str, username: &str) -> StoreResult<Offer>;
    async fn expired_offers(&self, now_ms: i64) -> StoreResult<Vec<Offer>>;
    async fn offers_for(&self, username: &str) -> StoreResult<Vec<Offer>>;
    /// The agents of a queue: who sees its Open conversations in their Open work items.
    async fn queue_members(&self, queue_id: &str) -> StoreResult<Vec<String>>;
    /// Where each Open conversation stands in its queue.
    async fn queue_positions(&self) -> StoreResult<Vec<QueuePosition>>;

    /// Counts a socket opened on `node_id` and cancels the subject's disconnect timer.
    async fn connection_opened(&self, node_id: &str, subject: ConnectionSubject)
    -> StoreResult<()>;
    /// Counts a socket closed on `node_id`. When the subject has none left on any node, its disconnect
    /// timer starts, due `grace_ms` after `now_ms` (a visitor's only for a live chat in Open or Active).
    /// True when the timer started.
    async fn connection_closed(
        &self,
        node_id: &str,
        subject: ConnectionSubject,
        now_ms: i64,
        grace_ms: i64,
    ) -> StoreResult<bool>;
    /// Records that `node_id` is alive at `now_ms`. Every node not seen since `stale_before_ms` is gone:
    /// its sockets count as closed now, so whoever has none left on another node starts their disconnect
    /// timer. False when the node was not known: new, or taken for dead by another node.
    async fn node_heartbeat(
        &self,
        node_id: &str,
        now_ms: i64,
        stale_before_ms: i64,
        agent_grace_ms: i64,
        visitor_grace_ms: i64,
    ) -> StoreResult<bool>;

    /// Sets (or moves) a connection timer.
    async fn schedule_timer(
        &self,
        timer: ConnectionTimer,
        subject: &str,
        due_at_ms: i64,
    ) -> StoreResult<()>;
    async fn cancel_timer(&self, timer: ConnectionTimer, subject: &str) -> StoreResult<()>;
    /// Fires every timer due at `now_ms`, each in the same transaction as its effect, so each fires once.
    async fn fire_due_timers(&self, now_ms: i64) -> StoreResult<Vec<Fired>>;
    /// After a start, for a store only this node uses: every agent still marked present and every
    /// live-chat visitor with a live conversation gets a disconnect timer, since their connections died
    /// with the previous process, whose recorded sockets are forgotten. Reconnecting cancels it.
    async fn recover_connections(
        &self,
        now_ms: i64,
        agent_grace_ms: i64,
        visitor_grace_ms: i64,
    ) -> StoreResult<()>;

    /// Every agent with their load.
    async fn agents(&self) -> StoreResult<Vec<AgentLoad>>;
    async fn agent_load(&self, username: &str) -> StoreResult<Option<AgentLoad>>;
    /// An admin's change; disabling ends every session, and no change may leave no enabled admin.
    async fn update_agent(
        &self,
        username: &str,
        update: AgentUpdate,
        now_ms: i64,
    ) -> StoreResult<AgentUpdated>;

    /// Queues with at least one Available agent who has free capacity.
    async fn available_queues(&self) -> StoreResult<std::collections::BTreeSet<String>>;

    /// The visitor's most recent conversation when overflow ended it at or after `since_ms` with an
    /// invitation to leave an offline message, and none is left yet.
    async fn offline_message_invitation(
        &self,
        site_id: &str,
        visitor_id: &str,
        since_ms: i64,
    ) -> StoreResult<Option<Conversation>>;
    /// Stores the offline message for the visitor's most recent conversation, which overflow must have
    /// ended with an invitation at or after `since_ms`. One per conversation: a retry with the same id and
    /// content answers the stored message, the same id with other content is `IdConflict`, and a second
    /// message is refused.
    async fn leave_offline_message(
        &self,
        site_id: &str,
        visitor_id: &str,
        message: NewOfflineMessage,
        since_ms: i64,
    ) -> StoreResult<protocol::OfflineMessage>;
    /// Offline messages left in the agent's queues (every queue for supervisors and admins), newest
    /// first.
    async fn offline_messages(
        &self,
        username: &str,
        role: Role,
    ) -> StoreResult<Vec<protocol::OfflineMessage>>;

    /// Counts one invitation event; a retry with the same id counts once.
    async fn record_invitation_event(
        &self,
        site_id: &str,
        event: protocol::InvitationEvent,
        now_ms: i64,
    ) -> StoreResult<()>;
    /// Shown, accepted, closed and expired counts per rule of a site, by rule id.
    async fn invitation_stats(&self, site_id: &str) -> StoreResult<Vec<protocol::RuleStats>>;

    // The customer record. Who may read or write what is the runtime's to check (`contact_visible`).

    /// Creates a contact from the conversation's details and links the conversation to it.
    async fn create_contact(
        &self,
        conversation_id: &str,
        contact_id: &str,
        fields: protocol::ContactFields,
        now_ms: i64,
    ) -> StoreResult<protocol::Contact>;
    /// Links the conversation to a contact of its site.
    async fn link_contact(
        &self,
        conversation_id: &str,
        contact_id: &str,
        now_ms: i64,
    ) -> StoreResult<protocol::Contact>;
    async fn update_contact(
        &self,
        contact_id: &str,
        fields: protocol::ContactFields,
        now_ms: i64,
    ) -> StoreResult<protocol::Contact>;
    /// Whether the agent may read the contact; `UnknownRecord` when there is none.
    async fn contact_visible(
        &self,
        contact_id: &str,
        username: &str,
        role: Role,
    ) -> StoreResult<bool>;
    async fn search_contacts(
        &self,
        site_id: &str,
        query: &str,
        username: &str,
        role: Role,
    ) -> StoreResult<Vec<protocol::Contact>>;
    async fn contact_record(&self, contact_id: &str) -> StoreResult<protocol::ContactRecord>;
    /// The site's cases of the contacts the agent may read, by title or contact name and status.
    async fn search_cases(
        &self,
        site_id: &str,
        query: &str,
        status: Option<protocol::CaseStatus>,
        username: &str,
        role: Role,
    ) -> StoreResult<Vec<protocol::CaseEntry>>;
    async fn case_record(&self, case_id: &str) -> StoreResult<protocol::CaseRecord>;
    /// Opens a case for the conversation's contact and links it to the conversation.
    async fn create_case(
        &self,
        conversation_id: &str,
        case_id: &str,
        title: &str,
        now_ms: i64,
    ) -> StoreResult<protocol::Case>;
    async fn update_case(
        &self,
        case_id: &str,
        patch: protocol::CasePatch,
        now_ms: i64,
    ) -> StoreResult<protocol::Case>;
    /// The contact a case belongs to.
    async fn case_contact(&self, case_id: &str) -> StoreResult<String>;
    /// The conversation's contact and case.
    async fn conversation_record(
        &self,
        conversation_id: &str,
    ) -> StoreResult<(Option<protocol::Contact>, Option<protocol::Case>)>;

    /// The bus to the other nodes sharing this store; none for a store only one node can open.
    fn bus(&self) -> Option<std::sync::Arc<dyn bus::EventBus>> {
        None
    }
}
