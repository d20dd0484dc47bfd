//! The OpenAPI 3.1 document of the REST API, served at `/api/openapi.json`.
//!
//! `ENDPOINTS` is the list of routes with who may call them; `server/tests/openapi.rs` checks that it
//! and the router agree in both directions, so the document cannot drift from the code.

use axum::Json;
use serde_json::{Map, Value, json};

/// Who may call a route. Finer checks (ownership, enabled supervisor actions) are in the description.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone: the widget's visitors and public files.
    Public,
    /// The widget, from Beckon's own origin.
    Widget,
    /// Any logged-in console user.
    Agent,
    Supervisor,
    Admin,
}

impl Access {
    fn describe(self) -> &'static str {
        match self {
            Access::Public => "public",
            Access::Widget => "the widget (Beckon's own origin)",
            Access::Agent => "any console user (agent, supervisor, admin)",
            Access::Supervisor => "supervisors and admins",
            Access::Admin => "admins",
        }
    }
}

/// One documented route.
#[derive(Debug, Clone, Copy)]
pub struct Endpoint {
    pub method: &'static str,
    /// In OpenAPI form, `{name}` for parameters, as axum writes them too.
    pub path: &'static str,
    pub access: Access,
    pub summary: &'static str,
    /// The request body's schema name in `components`, if any.
    pub request: Option<&'static str>,
    /// The success body's schema name (`[Name]` for a list), or `None` for no body.
    pub response: Option<&'static str>,
    pub success: u16,
}

const fn endpoint(
    method: &'static str,
    path: &'static str,
    access: Access,
    summary: &'static str,
    request: Option<&'static str>,
    response: Option<&'static str>,
    success: u16,
) -> Endpoint {
    Endpoint {
        method,
        path,
        access,
        summary,
        request,
        response,
        success,
    }
}

use Access::{Admin, Agent, Public, Supervisor, Widget};

/// Every JSON route of the API. Static files and WebSocket upgrades are described in `docs/contracts.md`.
pub const ENDPOINTS: &[Endpoint] = &[
    endpoint(
        "get",
        "/api/openapi.json",
        Public,
        "This document.",
        None,
        None,
        200,
    ),
    endpoint(
        "get",
        "/api/sites/{site}/config",
        Widget,
        "What the widget needs: rules, zone offsets, the visitor's location, available queues. With `Accept: application/vnd.beckon.postcard`, the same value in postcard (protocol::binary).",
        None,
        Some("SiteConfig"),
        200,
    ),
    endpoint(
        "get",
        "/api/sites/{site}/availability",
        Widget,
        "Queues with an agent free to chat now. With `Accept: application/vnd.beckon.postcard`, in postcard.",
        None,
        Some("Availability"),
        200,
    ),
    endpoint(
        "post",
        "/api/sites/{site}/invitation-events",
        Widget,
        "Reports an invitation shown, accepted, closed or expired; idempotent on its id.",
        Some("InvitationEvent"),
        None,
        204,
    ),
    endpoint(
        "get",
        "/api/sites/{site}/rules/status",
        Agent,
        "Rule files' health and per-rule invitation counts.",
        None,
        Some("RulesStatus"),
        200,
    ),
    endpoint(
        "post",
        "/api/console/login",
        Public,
        "Logs in; sets the HttpOnly session cookie.",
        Some("LoginRequest"),
        Some("Me"),
        200,
    ),
    endpoint(
        "post",
        "/api/console/logout",
        Public,
        "Ends the session, if there is one.",
        None,
        None,
        204,
    ),
    endpoint(
        "get",
        "/api/console/me",
        Agent,
        "Who is logged in.",
        None,
        Some("Me"),
        200,
    ),
    endpoint(
        "get",
        "/api/agents",
        Supervisor,
        "Every agent with presence (chosen and shown) and load.",
        None,
        Some("[AgentSummary]"),
        200,
    ),
    endpoint(
        "post",
        "/api/agents",
        Admin,
        "Creates an agent.",
        Some("NewAgentRequest"),
        Some("AgentSummary"),
        201,
    ),
    endpoint(
        "get",
        "/api/agents/{username}",
        Agent,
        "One agent: yourself, or anyone for supervisors.",
        None,
        Some("AgentSummary"),
        200,
    ),
    endpoint(
        "patch",
        "/api/agents/{username}",
        Admin,
        "Changes an agent's name, role, capacity or queues.",
        Some("AgentPatch"),
        Some("AgentSummary"),
        200,
    ),
    endpoint(
        "put",
        "/api/agents/{username}/presence",
        Agent,
        "Sets your presence (admins: anyone's).",
        Some("PresenceRequest"),
        Some("AgentSummary"),
        200,
    ),
    endpoint(
        "get",
        "/api/queues",
        Agent,
        "Every queue: workstream, priority, assignment method, hours, waiting count, members.",
        None,
        Some("[QueueSummary]"),
        200,
    ),
    endpoint(
        "get",
        "/api/work-items/{stream}",
        Agent,
        "A work-item stream: `mine`, `open` (your queues; every queue for supervisors) or `closed`.",
        None,
        Some("[ConversationView]"),
        200,
    ),
    endpoint(
        "get",
        "/api/offline-messages",
        Agent,
        "Offline messages visitors left after overflow ended their chat: your queues' (every queue's for supervisors), newest first.",
        None,
        Some("[OfflineMessage]"),
        200,
    ),
    endpoint(
        "get",
        "/api/conversations",
        Supervisor,
        "Ongoing conversations: every conversation that is not Closed.",
        None,
        Some("[ConversationView]"),
        200,
    ),
    endpoint(
        "get",
        "/api/conversations/{id}",
        Agent,
        "One conversation with its messages: its owner, members of its queue while Open, the agent it is offered to, supervisors.",
        None,
        Some("ConversationView"),
        200,
    ),
    endpoint(
        "get",
        "/api/conversations/{id}/history",
        Agent,
        "Its lifecycle events, for whoever may read it.",
        None,
        Some("[HistoryEntry]"),
        200,
    ),
    endpoint(
        "get",
        "/api/conversations/{id}/monitor",
        Supervisor,
        "Monitor: someone else's Active or Wrap-up conversation (the monitor action must be enabled).",
        None,
        Some("ConversationView"),
        200,
    ),
    endpoint(
        "post",
        "/api/conversations/{id}/accept",
        Agent,
        "The offered agent accepts routing's or a transfer's notification.",
        None,
        Some("ConversationView"),
        200,
    ),
    endpoint(
        "post",
        "/api/conversations/{id}/reject",
        Agent,
        "The offered agent rejects; the conversation goes to the next agent.",
        None,
        None,
        204,
    ),
    endpoint(
        "post",
        "/api/conversations/{id}/pick",
        Agent,
        "Pick an Open conversation of one of your queues (supervisors: any queue); capacity is checked.",
        None,
        Some("ConversationView"),
        200,
    ),
    endpoint(
        "post",
        "/api/conversations/{id}/release",
        Agent,
        "The owner puts an Active conversation back in its queue.",
        None,
        Some("ConversationView"),
        200,
    ),
    endpoint(
        "post",
        "/api/conversations/{id}/end",
        Agent,
        "The owner selects End.",
        None,
        Some("ConversationView"),
        200,
    ),
    endpoint(
        "post",
        "/api/conversations/{id}/close",
        Agent,
        "The owner closes the session.",
        None,
        Some("ConversationView"),
        200,
    ),
    endpoint(
        "post",
        "/api/conversations/{id}/reopen",
        Agent,
        "The owner reopens a Waiting conversation.",
        None,
        Some("ConversationView"),
        200,
    ),
    endpoint(
        "post",
        "/api/conversations/{id}/resolve",
        Agent,
        "The owner resolves the issue and closes the session: Active to Closed, no wrap-up.",
        None,
        Some("ConversationView"),
        200,
    ),
    endpoint(
        "post",
        "/api/conversations/{id}/transfer",
        Agent,
        "To a queue (200, Open there) or to an agent of its queue (202, they must accept). The owner, or a supervisor with the transfer action.",
        Some("TransferRequest"),
        Some("ConversationView"),
        200,
    ),
    endpoint(
        "post",
        "/api/conversations/{id}/assign",
        Supervisor,
        "Assign an Open conversation to an agent (presence and capacity may be overridden; the excess is recorded) or to another queue.",
        Some("AssignRequest"),
        Some("AssignAnswer"),
        200,
    ),
    endpoint(
        "post",
        "/api/conversations/{id}/force-close",
        Supervisor,
        "Force close any ongoing conversation; participants are told a supervisor ended it.",
        None,
        Some("ConversationView"),
        200,
    ),
];

/// The document, built from `ENDPOINTS`.
pub fn document() -> Value {
    let mut paths = Map::new();
    for endpoint in ENDPOINTS {
        let mut operation = Map::new();
        operation.insert("summary".into(), json!(endpoint.summary));
        operation.insert(
            "description".into(),
            json!(format!("Who may call it: {}.", endpoint.access.describe())),
        );
        let parameters: Vec<Value> = endpoint
            .path
            .split('/')
            .filter_map(|segment| segment.strip_prefix('{')?.strip_suffix('}'))
            .map(|name| json!({ "name": name, "in": "path", "required": true, "schema": { "type": "string" } }))
            .collect();
        if !parameters.is_empty() {
            operation.insert("parameters".into(), Value::Array(parameters));
        }
        if let Some(request) = endpoint.request {
            operation.insert(
                "requestBody".into(),
                json!({ "required": true, "content": { "application/json": { "schema": schema_ref(request) } } }),
            );
        }
        if !matches!(endpoint.access, Access::Public | Access::Widget) {
            operation.insert("security".into(), json!([{ "session": [] }]));
        }
        let success = match endpoint.response {
            Some(response) => json!({
                "description": "Success.",
                "content": { "application/json": { "schema": schema_ref(response) } }
            }),
            None => json!({ "description": "Success." }),
        };
        operation.insert(
            "responses".into(),
            json!({
                endpoint.success.to_string(): success,
                "4XX": { "description": "Refused: the body's `code` says why.", "content": { "application/json": { "schema": schema_ref("ErrorBody") } } }
            }),
        );
        let item = paths
            .entry(endpoint.path.to_owned())
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(item) = item {
            item.insert(endpoint.method.to_owned(), Value::Object(operation));
        }
    }
    let schemas = schemas();
    json!({
        "openapi": "3.1.0",
        "info": { "title": "Beckon", "version": env!("CARGO_PKG_VERSION") },
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": { "session": { "type": "apiKey", "in": "cookie", "name": super::auth::SESSION_COOKIE } }
        }
    })
}

/// The schemas of every request and answer body, derived from the protocol's types (`ToSchema`, the
/// `openapi` feature of `protocol` and `rules`), with every type they contain.
#[derive(utoipa::OpenApi)]
#[openapi(components(schemas(
    protocol::SiteConfig,
    protocol::Availability,
    protocol::InvitationEvent,
    super::RulesStatus,
    protocol::LoginRequest,
    protocol::Me,
    protocol::AgentSummary,
    protocol::NewAgentRequest,
    protocol::AgentPatch,
    protocol::PresenceRequest,
    protocol::QueueSummary,
    protocol::ConversationView,
    protocol::OfflineMessage,
    protocol::HistoryEntry,
    protocol::TransferRequest,
    protocol::TransferOffered,
    protocol::AssignRequest,
    protocol::AssignAnswer,
    protocol::ErrorBody,
    // Written by hand (their JSON is not their Rust shape), so listed here rather than found.
    rules::Pattern,
    rules::ContextValue,
    // The condition tree refers to itself, so its parts are listed rather than collected through it.
    rules::Condition,
    rules::Count,
    rules::TimeWindow,
    rules::ContextTest,
    rules::Device,
)))]
struct Schemas;

fn schemas() -> Value {
    let components = <Schemas as utoipa::OpenApi>::openapi().components;
    components
        .and_then(|components| serde_json::to_value(components.schemas).ok())
        .unwrap_or_else(|| json!({}))
}

fn schema_ref(name: &str) -> Value {
    match name
        .strip_prefix('[')
        .and_then(|inner| inner.strip_suffix(']'))
    {
        Some(inner) => {
            json!({ "type": "array", "items": { "$ref": format!("#/components/schemas/{inner}") } })
        }
        None => json!({ "$ref": format!("#/components/schemas/{name}") }),
    }
}

pub async fn serve() -> Json<Value> {
    Json(document())
}
