//! REST request and answer bodies, named by the routes that use them.

use serde::{Deserialize, Serialize};

use crate::{
    Channel, ContextVariables, ConversationState, ConversationView, InvitationEventKind, Presence,
    Role,
};

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
