//! What the sockets carry: the frames each side sends, and the conversation and message views in them.
//! Each frame is one JSON text frame holding a tagged value (`{"type": "…", …}`).

use serde::{Deserialize, Serialize};

use crate::context::DroppedVariable;
use crate::{
    Author, Channel, ContextVariables, ConversationState, ErrorCode, Presence, Role, Sentiment,
};

/// One stored chat message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
    /// An internal note: written by the owner, a consultant or a supervisor for one another. The
    /// customer never receives it; the store and the fan-out keep it from them.
    #[serde(default, skip_serializing_if = "is_false")]
    pub internal: bool,
}

/// The alert's default level: Slightly negative, as the seed product sets it.
pub fn default_sentiment_alert() -> Sentiment {
    Sentiment::SlightlyNegative
}

fn english() -> String {
    "en".to_owned()
}

fn is_false(value: &bool) -> bool {
    !*value
}

/// The supervisor actions a console may offer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SupervisionActions {
    /// Monitor, and Join and Leave.
    pub monitor: bool,
    pub assign: bool,
    pub transfer: bool,
    pub force_close: bool,
}

/// Someone in a conversation besides its owner.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ParticipantRole {
    /// The previous owner after a transfer: reads, receives messages live, writes internal notes.
    Consultant,
    /// A supervisor who joined: writes to the customer; the agent and the customer were told.
    Supervisor,
    /// A supervisor watching the transcript live, read-only.
    Monitor,
}

impl ParticipantRole {
    pub fn as_str(self) -> &'static str {
        match self {
            ParticipantRole::Consultant => "consultant",
            ParticipantRole::Supervisor => "supervisor",
            ParticipantRole::Monitor => "monitor",
        }
    }

    pub fn parse(text: &str) -> Option<ParticipantRole> {
        [
            ParticipantRole::Consultant,
            ParticipantRole::Supervisor,
            ParticipantRole::Monitor,
        ]
        .into_iter()
        .find(|role| role.as_str() == text)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Participant {
    pub username: String,
    pub role: ParticipantRole,
}

/// A conversation's newest message, previewed: the dashboard's Last message column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LastMessage {
    pub conversation_id: String,
    pub message: ChatMessage,
}

/// A page of the visitor's visit before the chat, as the widget recorded it: the journey the agent
/// reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct JourneyStep {
    pub path: String,
    /// When the visitor arrived on it, milliseconds since the Unix epoch, browser time.
    pub at_ms: i64,
    /// How long they stayed: until the next page, or on the last until the chat started, measured by
    /// the browser's own clock (so no clock skew between browser and server shows).
    #[serde(default)]
    pub seconds: u32,
}

/// How many of the visit's latest pages a chat carries.
pub const JOURNEY_STEPS: usize = 50;
/// The longest path kept, in characters; longer ones are cut.
pub const JOURNEY_PATH_CHARS: usize = 512;

/// The journey as the server keeps it: the latest `JOURNEY_STEPS` pages with a path, each path cut to
/// `JOURNEY_PATH_CHARS` characters. Whatever a page sent, it fits.
pub fn fit_journey(mut journey: Vec<JourneyStep>) -> Vec<JourneyStep> {
    journey.retain(|step| !step.path.is_empty());
    let skip = journey.len().saturating_sub(JOURNEY_STEPS);
    journey
        .into_iter()
        .skip(skip)
        .map(|mut step| {
            if let Some((cut, _)) = step.path.char_indices().nth(JOURNEY_PATH_CHARS) {
                step.path.truncate(cut);
            }
            step
        })
        .collect()
}

/// What Beckon itself says in a conversation. The server names each such message's
/// `client_message_id` with the note's prefix, so that the widget can say it in the visitor's
/// language; the stored body is the English the console shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SystemNote {
    Monitoring,
    SupervisorJoined,
    SupervisorLeft,
    ForceClosed,
}

impl SystemNote {
    const ALL: [SystemNote; 4] = [
        SystemNote::Monitoring,
        SystemNote::SupervisorJoined,
        SystemNote::SupervisorLeft,
        SystemNote::ForceClosed,
    ];

    /// The start of the `client_message_id` of a message carrying this note.
    pub fn prefix(self) -> &'static str {
        match self {
            SystemNote::Monitoring => "monitor-",
            SystemNote::SupervisorJoined => "join-",
            SystemNote::SupervisorLeft => "leave-",
            SystemNote::ForceClosed => "force-close-",
        }
    }

    /// The note a message carries, by its author and id, if it is one of Beckon's own.
    pub fn of(author: Author, client_message_id: &str) -> Option<SystemNote> {
        if author != Author::System {
            return None;
        }
        SystemNote::ALL
            .into_iter()
            .find(|note| client_message_id.starts_with(note.prefix()))
    }
}

/// How many characters of a message a list's preview shows.
pub const PREVIEW_CHARS: usize = 140;

impl ChatMessage {
    /// The message as a list previews it: its body cut to `PREVIEW_CHARS` characters, with an
    /// ellipsis when cut.
    pub fn preview(mut self) -> ChatMessage {
        if let Some((cut, _)) = self.body.char_indices().nth(PREVIEW_CHARS) {
            self.body.truncate(cut);
            self.body.push('…');
        }
        self
    }
}

/// What the console knows about a conversation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConversationView {
    pub conversation_id: String,
    pub state: ConversationState,
    pub site_id: String,
    pub queue_id: String,
    /// The rule whose invitation the visitor accepted; empty when they opened the chat button.
    pub rule_id: String,
    /// "Visitor 3" for an unauthenticated chat.
    pub title: String,
    pub agent_username: Option<String>,
    pub channel: Channel,
    /// Capacity units it uses while it holds its owner's capacity.
    pub units: u32,
    pub holds_capacity: bool,
    #[cfg_attr(feature = "openapi", schema(value_type = std::collections::BTreeMap<String, rules::ContextValue>))]
    pub context: ContextVariables,
    /// Context variables the visitor's page passed that were left out, and why.
    #[serde(default)]
    pub dropped_context: Vec<DroppedVariable>,
    /// Empty in lists; the whole conversation when one conversation is asked for.
    pub messages: Vec<ChatMessage>,
    /// In lists (work items, Ongoing conversations): the newest message the visitor or an agent wrote,
    /// its body cut to `PREVIEW_CHARS`. `None` in frames that only say the conversation moved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_message: Option<ChatMessage>,
    /// Who is in it besides the owner: consultants, supervisors who joined, supervisors monitoring.
    #[serde(default)]
    pub participants: Vec<Participant>,
    /// In lists, the dashboard's frames and the whole conversation: when it entered its current state,
    /// and when an agent first took it (the start of its handle time).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state_since_ms: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub handled_since_ms: Option<i64>,
    /// How the customer feels, from their latest messages (VADER, `server::domain::sentiment`).
    #[serde(default)]
    pub sentiment: Sentiment,
    /// Empty in lists; when one conversation is asked for, the pages of the visit before the chat.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub journey: Vec<JourneyStep>,
    /// Empty in lists; when one conversation is asked for (and when its level changes), the levels it
    /// went through as the customer wrote, oldest first, the latest 20.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sentiment_trend: Vec<Sentiment>,
    /// When one conversation is asked for: the contact it is linked to, and its case.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact: Option<crate::Contact>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub case: Option<crate::Case>,
    /// The language the customer writes in (the widget's, a primary subtag such as `fr`), which their
    /// messages are scored in.
    #[serde(default = "english")]
    pub language: String,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
}

/// Frames a visitor's widget sends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum VisitorToServer {
    /// Accepting an invitation, or opening the site's chat button: create (or resume) the visitor's
    /// conversation.
    StartChat {
        /// The invitation's rule; `None` for the chat button, whose chat goes to the launcher's queue.
        #[serde(default)]
        rule_id: Option<String>,
        context: ContextVariables,
        /// What the widget left out of `context` to fit it (`context::fit`), for the agent to see.
        #[serde(default)]
        dropped: Vec<DroppedVariable>,
        /// The pages of this visit before the chat, oldest first.
        #[serde(default)]
        journey: Vec<JourneyStep>,
        /// The signed identity the site passed (`Beckon.setAuthenticationTokenProvider`): a JWT the
        /// server verifies with the site's key. A refused one is answered with `identity_refused`, and
        /// the chat goes on as anonymous.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        identity_token: Option<String>,
        /// The language the widget speaks to the visitor (`<html lang>` of its page), which the
        /// server scores the customer's messages in.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        language: Option<String>,
    },
    /// Resume after a reconnect: send everything after `after_seq`. A connection never sends a message
    /// twice: one stored while the replay is read comes once, live or in the replay.
    Resume { after_seq: i64 },
    Send {
        client_message_id: String,
        body: String,
    },
    /// The visitor selects End.
    End,
    /// The visitor started (`true`) or stopped typing. Never the text: only that they are. Sent at
    /// most every few seconds while they type; the server relays it to the conversation's agents and
    /// stores nothing.
    Typing { typing: bool },
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
    /// Someone on the team is typing to the visitor (`typing`), or stopped.
    Typing {
        typing: bool,
        /// Who: the agent's display name.
        name: String,
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
        /// With `rate_limited`: when the same frame may go again.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        retry_after_ms: Option<u64>,
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
        /// An internal note, which the customer never receives. Consultants may only write these.
        #[serde(default)]
        internal: bool,
    },
    /// The agent selects End: Active goes to Wrap-up.
    End {
        conversation_id: String,
    },
    /// The agent closes the session: Wrap-up goes to Closed.
    Close {
        conversation_id: String,
    },
    /// The agent started or stopped writing to the customer (never an internal note, never the text).
    /// Only someone who may write to the customer (the owner, a supervisor who joined) is relayed.
    Typing {
        conversation_id: String,
        typing: bool,
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
        /// For supervisors and admins: the supervisor actions this node allows them (an admin may do
        /// them all). The console shows no button for an action that is off.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        supervision: Option<SupervisionActions>,
        /// The sentiment at or below which a conversation raises the alert (`[sentiment] alert`).
        #[serde(default = "default_sentiment_alert")]
        sentiment_alert: Sentiment,
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
        /// The queue's display name, and the invitation of the rule that brought the visitor, as people
        /// read them (the conversation carries their ids).
        #[serde(default)]
        queue_name: String,
        #[serde(default)]
        rule_invitation: String,
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
    /// For supervisors: the newest message of each conversation that got one since the last such frame,
    /// previewed. Sent at most once a second, so the dashboard's Last message column stays live at a
    /// cost that grows with how busy the chats are, not with how many messages a second arrive.
    OngoingActivity {
        messages: Vec<LastMessage>,
    },
    /// For supervisors: an agent's presence or load changed (the dashboard's agents board).
    AgentStatus {
        agent: crate::AgentSummary,
    },
    /// A conversation of the agent's Open work items changed: one of their queues' Open conversations
    /// arrived, moved or was taken. (What they own comes as `conversation`; supervisors read every
    /// change from `ongoing`.) Without messages.
    WorkItem {
        conversation: ConversationView,
    },
    Conversation {
        conversation: ConversationView,
    },
    /// The visitor of one of the agent's conversations is typing, or stopped.
    VisitorTyping {
        conversation_id: String,
        typing: bool,
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
        /// With `rate_limited`: when the same frame may go again.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        retry_after_ms: Option<u64>,
    },
    /// The session this console runs under ended (logout, a password change or reset, the account
    /// disabled). The server closes the socket right after, with close code `SIGNED_OUT_CLOSE_CODE`.
    SignedOut {
        reason: String,
    },
}

/// The WebSocket close code of a console whose session ended.
pub const SIGNED_OUT_CLOSE_CODE: u16 = 4001;
/// The close reason that goes with it, which the console shows.
pub const SIGNED_OUT_REASON: &str = "You were signed out";
