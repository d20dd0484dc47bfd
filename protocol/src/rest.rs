//! REST request and answer bodies, named by the routes that use them.

use serde::{Deserialize, Serialize};

use crate::{
    Channel, ContextVariables, ConversationState, ConversationView, InvitationEventKind, Presence,
    Role,
};

/// `POST /api/console/login` body.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
}

/// `GET /api/console/me` and the login answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Me {
    pub username: String,
    pub display_name: String,
    pub role: Role,
    /// The sites this server serves, in the configuration's order: whose contacts and cases Home lists.
    pub sites: Vec<SiteName>,
}

/// A site by its id and the name the configuration gives it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SiteName {
    pub id: String,
    pub name: String,
}

/// `PUT /api/agents/{username}/presence`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PresenceRequest {
    pub presence: Presence,
}

/// An agent with their load: `GET /api/agents`, `GET /api/agents/{username}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AgentSummary {
    pub username: String,
    pub display_name: String,
    pub role: Role,
    /// The presence the agent chose.
    pub presence: Presence,
    /// What the dashboard shows: Busy while capacity is full, when the automatic rule is on.
    pub shown_presence: Presence,
    /// When the agent entered the presence they chose; `None` for accounts that have not changed it
    /// since before Beckon kept this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub presence_since_ms: Option<i64>,
    pub capacity: u32,
    pub used: u32,
    pub queues: Vec<String>,
    /// An admin disabled the account: no login, no offers.
    pub disabled: bool,
}

/// `POST /api/agents` (admin).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewAgentRequest {
    /// The account rules (server `domain::agents`): a test holds these bounds to them.
    #[cfg_attr(feature = "openapi", schema(pattern = "^[A-Za-z0-9._-]{1,64}$"))]
    pub username: String,
    pub display_name: String,
    #[cfg_attr(feature = "openapi", schema(min_length = 8, max_length = 256))]
    pub password: String,
    pub role: Role,
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 1000))]
    #[serde(deserialize_with = "whole::number")]
    pub capacity: u32,
    pub queues: Vec<String>,
}

/// `PATCH /api/agents/{username}` (admin): absent fields keep their value.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct AgentPatch {
    pub display_name: Option<String>,
    pub role: Option<Role>,
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 1000))]
    #[serde(default, deserialize_with = "whole::optional")]
    pub capacity: Option<u32>,
    pub queues: Option<Vec<String>>,
    /// Disabling ends every session of the agent at once; an admin cannot disable the last enabled
    /// admin.
    pub disabled: Option<bool>,
}

/// `POST /api/console/password`: an agent changes their own password. Their other sessions end.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    #[cfg_attr(feature = "openapi", schema(max_length = 256))]
    pub current_password: String,
    #[cfg_attr(feature = "openapi", schema(min_length = 8, max_length = 256))]
    pub new_password: String,
}

/// `PUT /api/agents/{username}/password` (admin): every session of the agent ends.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PasswordReset {
    #[cfg_attr(feature = "openapi", schema(min_length = 8, max_length = 256))]
    pub new_password: String,
}

/// One supervisor action as the audit log keeps it: `GET /api/audit`, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditEntry {
    /// Increases with every entry; `before` pages on it.
    pub id: i64,
    pub at_ms: i64,
    /// Who acted: a supervisor or admin, or an agent for a transfer they asked for or answered.
    pub actor: String,
    /// `monitor`, `stop_monitoring`, `join`, `leave`, `assign`, `transfer`, `transfer_answered`,
    /// `force_close`.
    pub action: String,
    pub conversation_id: String,
    /// What the action named: the agent or queue, the capacity exceeded, the transfer's answer.
    pub detail: String,
    /// `ok`, or the refusal's error code.
    pub outcome: String,
}

/// A queue as the console sees it: `GET /api/queues`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AssignAnswer {
    pub conversation: ConversationView,
    pub over_capacity_by: u32,
}

/// A transfer waiting for the other agent's answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TransferOffered {
    pub conversation_id: String,
    pub to_username: String,
    pub expires_at_ms: i64,
}

/// One lifecycle event of a conversation: `GET /api/conversations/{id}/history`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HistoryEntry {
    pub event: String,
    pub from: ConversationState,
    pub to: ConversationState,
    /// `visitor`, `system`, or the acting agent's username.
    pub actor: String,
    pub agent_username: Option<String>,
    pub at_ms: i64,
}

/// A message a visitor left after overflow ended their chat: `GET /api/offline-messages`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OfflineMessage {
    pub conversation_id: String,
    pub queue_id: String,
    pub site_id: String,
    pub name: String,
    pub email: String,
    pub body: String,
    /// The context variables the chat started with: page URL, time on page, the site's own.
    #[cfg_attr(feature = "openapi", schema(value_type = std::collections::BTreeMap<String, rules::ContextValue>))]
    pub context: ContextVariables,
    pub left_at_ms: i64,
}

/// `GET /api/sites/{site}/config`: what the widget needs to run on a site.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SiteConfig {
    pub site_id: String,
    pub name: String,
    pub rules: rules::RuleSet,
    /// UTC offsets of the zones the rules' time windows name, for the next days: the widget carries no
    /// time-zone database.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = std::collections::BTreeMap<String, rules::ZoneTable>))]
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Availability {
    pub queues: Vec<String>,
}

/// `POST /api/sites/{site}/invitation-events`. The id is the widget's; a retry with the same id is
/// counted once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct InvitationEvent {
    pub id: String,
    pub rule_id: String,
    pub kind: InvitationEventKind,
}

/// How one rule's invitations fared, for marketers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RuleStats {
    pub rule_id: String,
    pub shown: u64,
    pub accepted: u64,
    pub closed: u64,
    pub expired: u64,
}

/// Exactly one target: the schema says so with `oneOf`, which the struct's two options cannot. Both
/// bodies are written by hand for that reason; `extra` are the optional flags each variant may carry.
#[cfg(feature = "openapi")]
fn one_target(
    description: &str,
    extra: &[(&str, &str)],
) -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
    use utoipa::openapi::schema::{AdditionalProperties, ObjectBuilder, OneOfBuilder, Type};
    let target = |name: &str, about: &str| {
        let mut object = ObjectBuilder::new()
            .property(
                name,
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .description(Some(about)),
            )
            .required(name)
            .additional_properties(Some(AdditionalProperties::FreeForm(false)));
        for (flag, about) in extra {
            object = object.property(
                *flag,
                ObjectBuilder::new()
                    .schema_type(Type::Boolean)
                    .description(Some(*about)),
            );
        }
        object
    };
    OneOfBuilder::new()
        .item(target("queue_id", "To this queue: it becomes Open there."))
        .item(target("username", "To this agent."))
        .description(Some(description))
        .into()
}

#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for TransferRequest {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        one_target(
            "Exactly one of `queue_id` (200, Open there) and `username` (202, the agent must accept).",
            &[],
        )
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for TransferRequest {}

#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for AssignRequest {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        one_target(
            "Exactly one of `queue_id` and `username`; the overrides apply to an agent.",
            &[
                (
                    "override_presence",
                    "Assign even though the agent's presence is not one the workstream routes to.",
                ),
                (
                    "override_capacity",
                    "Assign even past the agent's capacity.",
                ),
            ],
        )
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for AssignRequest {}

/// Whole numbers as JSON Schema counts them: `266` and `266.0` alike (an `integer` is any number with
/// no fractional part), so a client that writes integers as floats is not refused for it.
mod whole {
    use serde::{Deserialize, Deserializer, de::Error};

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Number {
        Whole(u64),
        Float(f64),
    }

    fn to_u32<E: Error>(number: Number) -> Result<u32, E> {
        let whole = match number {
            Number::Whole(whole) => Some(whole),
            Number::Float(float)
                if float.fract() == 0.0 && (0.0..=u64::MAX as f64).contains(&float) =>
            {
                Some(float as u64)
            }
            Number::Float(_) => None,
        };
        whole
            .and_then(|whole| u32::try_from(whole).ok())
            .ok_or_else(|| E::custom("expected a whole number from 0 to 4294967295"))
    }

    pub fn number<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u32, D::Error> {
        to_u32(Number::deserialize(deserializer)?)
    }

    pub fn optional<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<u32>, D::Error> {
        Option::<Number>::deserialize(deserializer)?
            .map(to_u32)
            .transpose()
    }
}

/// The longest knowledge search, in characters: a longer one is refused with `bad_request`.
pub const MAX_KNOWLEDGE_QUERY_CHARS: usize = 1000;

/// `GET /api/sites/{site}/knowledge?q=`: the site's articles that match, best first; for an empty
/// search, the articles by title.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct KnowledgeResults {
    pub site_id: String,
    /// How many articles the site's knowledge base holds.
    pub articles: u32,
    pub hits: Vec<KnowledgeHit>,
}

/// One matching article: its title, where customers read it, and the passage that matched.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct KnowledgeHit {
    /// The file's name without `.md`: `GET /api/sites/{site}/knowledge/{slug}` reads the article.
    pub slug: String,
    pub title: String,
    /// The article's public address, from its front matter; `None` when it has none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The language it is written in (and stemmed by): `en`, `fr`…
    pub language: String,
    /// The best passage, as plain text in parts, the words that matched marked. Never HTML.
    pub snippet: Vec<SnippetPart>,
}

/// A piece of a snippet: text, and whether it is one of the words that matched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SnippetPart {
    pub text: String,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub highlighted: bool,
}

/// What a block of an article is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum BlockKind {
    /// `depth` is its level, 1 to 6.
    Heading,
    Paragraph,
    /// A bulleted list's item; `depth` counts the lists it is in, from 1.
    Bullet,
    /// A numbered list's item; `depth` as for bullets.
    Numbered,
    /// Preformatted text.
    Code,
    /// A paragraph of a quotation; `depth` counts the quotations it is in.
    Quote,
    /// A thematic break: no text.
    Rule,
}

/// One block of an article: a heading, a paragraph, a list item…
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ArticleBlock {
    pub kind: BlockKind,
    #[serde(default)]
    pub depth: u8,
    pub inlines: Vec<ArticleInline>,
}

/// A run of text with one style.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ArticleInline {
    pub text: String,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub strong: bool,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub emphasis: bool,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub strikethrough: bool,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub code: bool,
    /// A link's address: http, https or mailto only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub href: Option<String>,
}

/// `GET /api/sites/{site}/knowledge/{slug}`: an article to read and quote.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct KnowledgeArticle {
    pub slug: String,
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    pub language: String,
    /// The Markdown as blocks of styled text, never HTML: raw HTML in it is text, links go only to web
    /// and mail addresses, and images are their description.
    pub body: Vec<ArticleBlock>,
    /// The first paragraph as plain text, for quoting in a reply.
    pub excerpt: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capacities_written_as_floats_read_when_whole() {
        let patch: AgentPatch = serde_json::from_str(r#"{"capacity": 266.0}"#).unwrap();
        assert_eq!(patch.capacity, Some(266));
        let patch: AgentPatch = serde_json::from_str(r#"{"capacity": null}"#).unwrap();
        assert_eq!(patch.capacity, None);
        let patch: AgentPatch = serde_json::from_str("{}").unwrap();
        assert_eq!(patch.capacity, None);
        assert!(serde_json::from_str::<AgentPatch>(r#"{"capacity": 2.5}"#).is_err());
        assert!(serde_json::from_str::<AgentPatch>(r#"{"capacity": -1}"#).is_err());
        assert!(serde_json::from_str::<AgentPatch>(r#"{"capacity": 4294967296}"#).is_err());
        let new: NewAgentRequest = serde_json::from_str(
            r#"{"username":"a","display_name":"A","password":"p","role":"agent","capacity":3.0,"queues":[]}"#,
        )
        .unwrap();
        assert_eq!(new.capacity, 3);
    }
}
