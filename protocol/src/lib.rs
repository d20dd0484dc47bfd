//! Wire types shared by the server, the widget and the console: the one place that knows the JSON shape.
//!
//! Everything here is plain data with serde derives. WebSocket frames are JSON text frames holding one
//! tagged enum value (`{"type": "…", …}`). REST bodies use the structs below.

pub mod binary;

use serde::{Deserialize, Serialize};

/// The largest chat message body, in bytes of UTF-8. Longer bodies are rejected with `message_too_large`.
pub const MAX_MESSAGE_BYTES: usize = 16 * 1024;

/// The largest WebSocket frame the server reads. A frame carries one message plus its envelope.
pub const MAX_FRAME_BYTES: usize = MAX_MESSAGE_BYTES + 4 * 1024;

/// The largest number of context variables a visitor may pass, and the largest size of one value.
pub const MAX_CONTEXT_VARIABLES: usize = 64;
pub const MAX_CONTEXT_VALUE_BYTES: usize = 1024;
/// The longest name or email address an offline message may carry.
pub const MAX_CONTACT_BYTES: usize = 254;

/// A conversation's state, as in the spec's section 4.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConversationState {
    Open,
    Active,
    WrapUp,
    Waiting,
    Closed,
}

impl ConversationState {
    pub const ALL: [ConversationState; 5] = [
        ConversationState::Open,
        ConversationState::Active,
        ConversationState::WrapUp,
        ConversationState::Waiting,
        ConversationState::Closed,
    ];

    /// The stable lowercase name used in storage and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            ConversationState::Open => "open",
            ConversationState::Active => "active",
            ConversationState::WrapUp => "wrap_up",
            ConversationState::Waiting => "waiting",
            ConversationState::Closed => "closed",
        }
    }

    pub fn parse(text: &str) -> Option<ConversationState> {
        ConversationState::ALL
            .into_iter()
            .find(|state| state.as_str() == text)
    }

    /// The name users see in the console and the docs.
    pub fn label(self) -> &'static str {
        match self {
            ConversationState::Open => "Open",
            ConversationState::Active => "Active",
            ConversationState::WrapUp => "Wrap-up",
            ConversationState::Waiting => "Waiting",
            ConversationState::Closed => "Closed",
        }
    }
}

/// How the customer talks to us: the synchronous website chat, or asynchronous persistent messaging.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    LiveChat,
    Persistent,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::LiveChat => "live_chat",
            Channel::Persistent => "persistent",
        }
    }

    pub fn parse(text: &str) -> Option<Channel> {
        [Channel::LiveChat, Channel::Persistent]
            .into_iter()
            .find(|channel| channel.as_str() == text)
    }
}

/// An agent's presence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Presence {
    Available,
    Busy,
    BusyDoNotDisturb,
    Away,
    Offline,
}

impl Presence {
    pub const ALL: [Presence; 5] = [
        Presence::Available,
        Presence::Busy,
        Presence::BusyDoNotDisturb,
        Presence::Away,
        Presence::Offline,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Presence::Available => "available",
            Presence::Busy => "busy",
            Presence::BusyDoNotDisturb => "busy_do_not_disturb",
            Presence::Away => "away",
            Presence::Offline => "offline",
        }
    }

    pub fn parse(text: &str) -> Option<Presence> {
        Presence::ALL
            .into_iter()
            .find(|presence| presence.as_str() == text)
    }

    pub fn label(self) -> &'static str {
        match self {
            Presence::Available => "Available",
            Presence::Busy => "Busy",
            Presence::BusyDoNotDisturb => "Busy – Do not disturb",
            Presence::Away => "Away",
            Presence::Offline => "Offline",
        }
    }
}

/// Who wrote a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Author {
    Visitor,
    Agent,
    System,
}

impl Author {
    pub fn as_str(self) -> &'static str {
        match self {
            Author::Visitor => "visitor",
            Author::Agent => "agent",
            Author::System => "system",
        }
    }

    pub fn parse(text: &str) -> Option<Author> {
        [Author::Visitor, Author::Agent, Author::System]
            .into_iter()
            .find(|author| author.as_str() == text)
    }
}

/// A context variable's value: what a page's context provider may return. The rules compare the same
/// values, so the type lives in the `rules` crate.
pub use rules::ContextValue;

/// Context variables, ordered by name so every reader sees them the same way.
pub type ContextVariables = rules::VecMap<String, ContextValue>;

/// One stored chat message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatMessage {
    /// Position in the conversation, from 1, without gaps.
    pub seq: i64,
    /// The id the sender generated; retries with the same id are stored once.
    pub client_message_id: String,
    pub author: Author,
    /// The agent's display name for agent messages; empty otherwise.
    pub author_name: String,
    pub body: String,
    /// Milliseconds since the Unix epoch, server time.
    pub sent_at_ms: i64,
}

/// What the console knows about a conversation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConversationView {
    pub conversation_id: String,
    pub state: ConversationState,
    pub site_id: String,
    pub queue_id: String,
    pub rule_id: String,
    /// "Visitor 3" for an unauthenticated chat.
    pub title: String,
    pub agent_username: Option<String>,
    pub channel: Channel,
    /// Capacity units it uses while it holds its owner's capacity.
    pub units: u32,
    pub holds_capacity: bool,
    pub context: ContextVariables,
    /// Empty in lists; the whole conversation when one conversation is asked for.
    pub messages: Vec<ChatMessage>,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
}

/// Frames a visitor's widget sends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum VisitorToServer {
    /// Accepting an invitation: create (or resume) the visitor's conversation.
    StartChat {
        rule_id: String,
        context: ContextVariables,
    },
    /// Resume after a reconnect: send everything after `after_seq`.
    Resume { after_seq: i64 },
    Send {
        client_message_id: String,
        body: String,
    },
    /// The visitor selects End.
    End,
    /// After overflow ended their chat with an invitation to do so, the visitor leaves a message for the
    /// team to answer later. Idempotent on `client_message_id`, like chat messages.
    LeaveOfflineMessage {
        client_message_id: String,
        /// How the visitor signs; may be empty.
        name: String,
        /// Where the team answers; required.
        email: String,
        body: String,
    },
}

/// Frames the server sends to a visitor's widget.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerToVisitor {
    Conversation {
        conversation_id: String,
        state: ConversationState,
        queue_position: Option<u32>,
        agent_name: Option<String>,
    },
    Message {
        message: ChatMessage,
    },
    /// The message with this client id is stored as `seq`.
    Ack {
        client_message_id: String,
        seq: i64,
    },
    Error {
        code: ErrorCode,
        message: String,
        client_message_id: Option<String>,
    },
    /// Overflow ended the visitor's chat and they may leave an offline message for it; `prompt` is the
    /// message overflow ended the chat with.
    OfflineMessageInvited {
        conversation_id: String,
        prompt: String,
    },
    /// The offline message with this client id is stored.
    OfflineMessageStored {
        client_message_id: String,
    },
}

/// Frames an agent's console sends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum AgentToServer {
    SetPresence {
        presence: Presence,
    },
    AcceptOffer {
        conversation_id: String,
    },
    RejectOffer {
        conversation_id: String,
    },
    Send {
        conversation_id: String,
        client_message_id: String,
        body: String,
    },
    /// The agent selects End: Active goes to Wrap-up.
    End {
        conversation_id: String,
    },
    /// The agent closes the session: Wrap-up goes to Closed.
    Close {
        conversation_id: String,
    },
}

/// Frames the server sends to an agent's console.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerToAgent {
    Welcome {
        username: String,
        display_name: String,
        role: Role,
        presence: Presence,
        conversations: Vec<ConversationView>,
    },
    /// `presence` is what the agent chose; `shown` is what others see, Busy while capacity is full when
    /// the automatic rule is on.
    Presence {
        presence: Presence,
        shown: Presence,
    },
    /// A notification to accept or reject: routing's (`transfer_from` empty) or a transfer's.
    Offer {
        conversation: ConversationView,
        expires_at_ms: i64,
        transfer_from: Option<String>,
    },
    OfferWithdrawn {
        conversation_id: String,
    },
    /// The agent a transfer was offered to answered it (or let it expire): sent to who asked for it.
    TransferAnswered {
        conversation_id: String,
        to_username: String,
        accepted: bool,
    },
    /// For supervisors: a conversation of the Ongoing conversations dashboard changed.
    Ongoing {
        conversation: ConversationView,
    },
    Conversation {
        conversation: ConversationView,
    },
    Message {
        conversation_id: String,
        message: ChatMessage,
    },
    Ack {
        conversation_id: String,
        client_message_id: String,
        seq: i64,
    },
    Error {
        code: ErrorCode,
        message: String,
    },
}

/// A console user's role. Each role includes the ones before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Agent,
    Supervisor,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Agent => "agent",
            Role::Supervisor => "supervisor",
            Role::Admin => "admin",
        }
    }

    pub fn parse(text: &str) -> Option<Role> {
        [Role::Agent, Role::Supervisor, Role::Admin]
            .into_iter()
            .find(|role| role.as_str() == text)
    }
}

/// `POST /api/console/login` body.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
}

/// `GET /api/console/me` and the login answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Me {
    pub username: String,
    pub display_name: String,
    pub role: Role,
}

/// `PUT /api/agents/{username}/presence`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PresenceRequest {
    pub presence: Presence,
}

/// An agent with their load: `GET /api/agents`, `GET /api/agents/{username}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentSummary {
    pub username: String,
    pub display_name: String,
    pub role: Role,
    /// The presence the agent chose.
    pub presence: Presence,
    /// What the dashboard shows: Busy while capacity is full, when the automatic rule is on.
    pub shown_presence: Presence,
    pub capacity: u32,
    pub used: u32,
    pub queues: Vec<String>,
}

/// `POST /api/agents` (admin).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewAgentRequest {
    pub username: String,
    pub display_name: String,
    pub password: String,
    pub role: Role,
    pub capacity: u32,
    pub queues: Vec<String>,
}

/// `PATCH /api/agents/{username}` (admin): absent fields keep their value.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentPatch {
    pub display_name: Option<String>,
    pub role: Option<Role>,
    pub capacity: Option<u32>,
    pub queues: Option<Vec<String>>,
}

/// A queue as the console sees it: `GET /api/queues`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueueSummary {
    pub id: String,
    pub name: String,
    pub workstream: String,
    pub channel: Channel,
    /// 1 is served first.
    pub priority: u32,
    pub assignment: String,
    /// Within operating hours now (always true without hours).
    pub open_now: bool,
    /// Open conversations waiting in it.
    pub waiting: u32,
    pub members: Vec<String>,
}

/// `POST /api/conversations/{id}/transfer`: exactly one of `queue_id` and `username`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransferRequest {
    pub queue_id: Option<String>,
    pub username: Option<String>,
}

/// `POST /api/conversations/{id}/assign` (supervisor): exactly one of `queue_id` and `username`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssignRequest {
    pub queue_id: Option<String>,
    pub username: Option<String>,
    /// Assign even though the agent's presence is not one the workstream routes to.
    #[serde(default)]
    pub override_presence: bool,
    /// Assign even past the agent's capacity.
    #[serde(default)]
    pub override_capacity: bool,
}

/// The answer to an assignment: the conversation, and by how many units the agent now exceeds their
/// capacity (0 without an override).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AssignAnswer {
    pub conversation: ConversationView,
    pub over_capacity_by: u32,
}

/// A transfer waiting for the other agent's answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TransferOffered {
    pub conversation_id: String,
    pub to_username: String,
    pub expires_at_ms: i64,
}

/// One lifecycle event of a conversation: `GET /api/conversations/{id}/history`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryEntry {
    pub event: String,
    pub from: ConversationState,
    pub to: ConversationState,
    pub actor: String,
    pub agent_username: Option<String>,
    pub at_ms: i64,
}

/// A message a visitor left after overflow ended their chat: `GET /api/offline-messages`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OfflineMessage {
    pub conversation_id: String,
    pub queue_id: String,
    pub site_id: String,
    pub name: String,
    pub email: String,
    pub body: String,
    /// The context variables the chat started with: page URL, time on page, the site's own.
    pub context: ContextVariables,
    pub left_at_ms: i64,
}

/// `GET /api/sites/{site}/config`: what the widget needs to run on a site.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SiteConfig {
    pub site_id: String,
    pub name: String,
    pub rules: rules::RuleSet,
    /// UTC offsets of the zones the rules' time windows name, for the next days: the widget carries no
    /// time-zone database.
    #[serde(default)]
    pub zones: rules::VecMap<String, rules::ZoneTable>,
    /// Where the visitor is, as the server resolved it from their address; `None` without a location
    /// database. The address itself never leaves the server.
    #[serde(default)]
    pub location: Option<rules::Location>,
    /// Queues with an agent free to chat now.
    #[serde(default)]
    pub available_queues: Vec<String>,
}

/// `GET /api/sites/{site}/availability`: the queues with an agent free to chat now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Availability {
    pub queues: Vec<String>,
}

/// What happened to an invitation, as the widget reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InvitationEventKind {
    Shown,
    Accepted,
    Closed,
    Expired,
}

impl InvitationEventKind {
    pub const ALL: [InvitationEventKind; 4] = [
        InvitationEventKind::Shown,
        InvitationEventKind::Accepted,
        InvitationEventKind::Closed,
        InvitationEventKind::Expired,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            InvitationEventKind::Shown => "shown",
            InvitationEventKind::Accepted => "accepted",
            InvitationEventKind::Closed => "closed",
            InvitationEventKind::Expired => "expired",
        }
    }

    pub fn parse(text: &str) -> Option<InvitationEventKind> {
        InvitationEventKind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == text)
    }
}

/// `POST /api/sites/{site}/invitation-events`. The id is the widget's; a retry with the same id is
/// counted once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InvitationEvent {
    pub id: String,
    pub rule_id: String,
    pub kind: InvitationEventKind,
}

/// How one rule's invitations fared, for marketers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleStats {
    pub rule_id: String,
    pub shown: u64,
    pub accepted: u64,
    pub closed: u64,
    pub expired: u64,
}

/// The error body every 4xx/5xx REST answer carries, and the `Error` frames.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ErrorBody {
    pub code: ErrorCode,
    pub message: String,
}

/// Stable error codes. Clients match on these, never on messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    BadRequest,
    NotFound,
    MalformedFrame,
    MessageTooLarge,
    EmptyMessage,
    Unauthenticated,
    Forbidden,
    OriginNotAllowed,
    UnknownSite,
    UnknownConversation,
    UnknownRule,
    NotYourConversation,
    NotOfferedToYou,
    TransitionNotAllowed,
    NoConversation,
    IdConflict,
    InvalidCredentials,
    UnknownAgent,
    UnknownQueue,
    /// The agent has no room for the conversation; a supervisor may override.
    OverCapacity,
    /// A transfer of the conversation is already waiting for an answer.
    TransferPending,
    /// A routing rule refuses: not a member of the queue, a presence the workstream does not route to,
    /// the queue it is already in.
    NotAllowed,
    Internal,
}

impl ErrorCode {
    /// The HTTP status for this code: the one table that maps codes to statuses.
    pub fn http_status(self) -> u16 {
        match self {
            ErrorCode::BadRequest
            | ErrorCode::MalformedFrame
            | ErrorCode::EmptyMessage
            | ErrorCode::UnknownRule => 400,
            ErrorCode::Unauthenticated | ErrorCode::InvalidCredentials => 401,
            ErrorCode::Forbidden
            | ErrorCode::OriginNotAllowed
            | ErrorCode::NotYourConversation
            | ErrorCode::NotOfferedToYou
            | ErrorCode::NotAllowed => 403,
            ErrorCode::NotFound
            | ErrorCode::UnknownSite
            | ErrorCode::UnknownConversation
            | ErrorCode::NoConversation
            | ErrorCode::UnknownAgent
            | ErrorCode::UnknownQueue => 404,
            ErrorCode::TransitionNotAllowed
            | ErrorCode::IdConflict
            | ErrorCode::OverCapacity
            | ErrorCode::TransferPending => 409,
            ErrorCode::MessageTooLarge => 413,
            ErrorCode::Internal => 500,
        }
    }
}

/// What a client must ask for when it resumes: the highest sequence number up to which it has every
/// message. Live frames can arrive out of order (a sender's ack may beat another's earlier message), so
/// the highest number seen is not safe to resume from: a message below it may still be missing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReceivedThrough {
    through: i64,
    beyond: std::collections::BTreeSet<i64>,
}

impl ReceivedThrough {
    /// Every message up to `seq` is here (after a resume answered from `seq`, for instance).
    pub fn new(seq: i64) -> ReceivedThrough {
        ReceivedThrough {
            through: seq,
            beyond: std::collections::BTreeSet::new(),
        }
    }

    /// Notes that message `seq` arrived.
    pub fn received(&mut self, seq: i64) {
        if seq <= self.through {
            return;
        }
        self.beyond.insert(seq);
        while self.beyond.remove(&(self.through + 1)) {
            self.through += 1;
        }
    }

    /// The `after_seq` of the next `resume`.
    pub fn resume_after(&self) -> i64 {
        self.through
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_resume_starts_after_the_first_gap_not_after_the_highest_number_seen() {
        let mut received = super::ReceivedThrough::default();
        for seq in [1, 2, 4, 5] {
            received.received(seq);
        }
        assert_eq!(received.resume_after(), 2, "3 is missing");
        received.received(3);
        assert_eq!(received.resume_after(), 5);
        received.received(5);
        received.received(1);
        assert_eq!(received.resume_after(), 5, "repeats change nothing");
        let mut resumed = super::ReceivedThrough::new(7);
        resumed.received(9);
        resumed.received(8);
        assert_eq!(resumed.resume_after(), 9);
    }

    use super::*;

    #[test]
    fn frames_use_snake_case_tags() {
        let frame = VisitorToServer::Send {
            client_message_id: "m1".into(),
            body: "hi".into(),
        };
        let text = serde_json::to_string(&frame).unwrap();
        assert_eq!(
            text,
            r#"{"type":"send","client_message_id":"m1","body":"hi"}"#
        );
        let back: VisitorToServer = serde_json::from_str(&text).unwrap();
        assert_eq!(back, frame);
    }

    #[test]
    fn states_round_trip_through_their_names() {
        for state in ConversationState::ALL {
            assert_eq!(ConversationState::parse(state.as_str()), Some(state));
            let json = serde_json::to_string(&state).unwrap();
            assert_eq!(json, format!("\"{}\"", state.as_str()));
        }
        for presence in Presence::ALL {
            assert_eq!(Presence::parse(presence.as_str()), Some(presence));
        }
    }

    #[test]
    fn context_values_keep_their_types() {
        let vars: ContextVariables =
            serde_json::from_str(r#"{"plan":"pro","cart_value":42,"vip":true}"#).unwrap();
        assert_eq!(vars.get("plan"), Some(&ContextValue::Text("pro".into())));
        assert_eq!(vars.get("cart_value"), Some(&ContextValue::Number(42.0)));
        assert_eq!(vars.get("vip"), Some(&ContextValue::Bool(true)));
        assert_eq!(
            vars.get("cart_value").map(ContextValue::display).as_deref(),
            Some("42")
        );
    }
}
