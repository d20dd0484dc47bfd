//! The console and admin REST API: agents, presence, queues, conversations, the work-item streams, and
//! the lifecycle and supervisor actions. Each handler authenticates the caller, reads the request and
//! calls one runtime operation, which checks role and ownership; nothing here decides. `openapi`
//! documents each route here.

use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use protocol::{
    AgentPatch, AgentSummary, AssignAnswer, AssignRequest, AuditEntry, ConversationView, ErrorCode,
    HistoryEntry, NewAgentRequest, PasswordReset, PresenceRequest, QueueSummary, TransferOffered,
    TransferRequest,
};

use super::auth::{AdminCaller, AuthenticatedAgent};
use super::error::{AppError, body};
use super::error::{Conflict, Malformed, Missing, Refused, Unauthenticated};
use crate::runtime::Runtime;
use crate::store::{Overrides, Stream};

/// A work-item stream, as its path names it.
#[derive(Debug, Clone, Copy, utoipa::ToSchema)]
#[schema(rename_all = "snake_case")]
enum WorkStream {
    /// Conversations you own in Active, Wrap-up or Waiting.
    Mine,
    /// Open conversations of your queues (every queue for supervisors).
    Open,
    /// Closed conversations you may read.
    Closed,
}

impl WorkStream {
    fn parse(name: &str) -> Option<WorkStream> {
        match name {
            "mine" => Some(WorkStream::Mine),
            "open" => Some(WorkStream::Open),
            "closed" => Some(WorkStream::Closed),
            _ => None,
        }
    }

    fn stream(self) -> Stream {
        match self {
            WorkStream::Mine => Stream::Mine,
            WorkStream::Open => Stream::Open,
            WorkStream::Closed => Stream::Closed,
        }
    }
}

type Answer<T> = Result<Json<T>, AppError>;

/// Every agent with presence and load. Supervisors and admins.
#[utoipa::path(
    get,
    path = "/api/agents",
    tag = "supervisor",
    responses((status = 200, description = "Every agent.", body = [AgentSummary]), Unauthenticated, Refused),
    security(("session" = []))
)]
pub async fn agents(
    State(runtime): State<Arc<Runtime>>,
    AuthenticatedAgent(agent): AuthenticatedAgent,
) -> Answer<Vec<AgentSummary>> {
    Ok(Json(runtime.agent_summaries(&agent).await?))
}

/// One agent with presence and load: yourself, or anyone for supervisors and admins.
#[utoipa::path(
    get,
    path = "/api/agents/{username}",
    tag = "agent",
    params(("username" = String, Path, description = "The agent's username.")),
    responses((status = 200, description = "The agent.", body = AgentSummary), Unauthenticated, Refused, Missing),
    security(("session" = []))
)]
pub async fn agent(
    State(runtime): State<Arc<Runtime>>,
    AuthenticatedAgent(agent): AuthenticatedAgent,
    Path(username): Path<String>,
) -> Answer<AgentSummary> {
    Ok(Json(runtime.agent_summary(&agent, &username).await?))
}

/// Creates an agent. Admins.
#[utoipa::path(
    post,
    path = "/api/agents",
    tag = "admin",
    request_body = NewAgentRequest,
    responses((status = 201, description = "Created.", body = AgentSummary), Malformed, Unauthenticated, Refused, Missing, Conflict),
    security(("session" = []))
)]
pub async fn create_agent(
    State(runtime): State<Arc<Runtime>>,
    AdminCaller(admin): AdminCaller,
    request: Result<Json<NewAgentRequest>, JsonRejection>,
) -> Result<(StatusCode, Json<AgentSummary>), AppError> {
    let created = runtime.create_agent(&admin, body(request)?).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// Changes an agent's display name, role, capacity or queues, or disables or enables the account
/// (disabling ends every session of the agent; the last enabled admin cannot be disabled). Admins.
#[utoipa::path(
    patch,
    path = "/api/agents/{username}",
    tag = "admin",
    params(("username" = String, Path, description = "The agent's username.")),
    request_body = AgentPatch,
    responses((status = 200, description = "Changed.", body = AgentSummary), Malformed, Unauthenticated, Refused, Missing),
    security(("session" = []))
)]
pub async fn update_agent(
    State(runtime): State<Arc<Runtime>>,
    AdminCaller(admin): AdminCaller,
    Path(username): Path<String>,
    request: Result<Json<AgentPatch>, JsonRejection>,
) -> Answer<AgentSummary> {
    Ok(Json(
        runtime
            .update_agent(&admin, &username, body(request)?)
            .await?,
    ))
}

/// Sets an agent's password. Every session of the agent ends at once. Admins.
#[utoipa::path(
    put,
    path = "/api/agents/{username}/password",
    tag = "admin",
    params(("username" = String, Path, description = "The agent's username.")),
    request_body = PasswordReset,
    responses((status = 204, description = "Set; every session of the agent ended."), Malformed, Unauthenticated, Refused, Missing),
    security(("session" = []))
)]
pub async fn reset_password(
    State(runtime): State<Arc<Runtime>>,
    AdminCaller(admin): AdminCaller,
    Path(username): Path<String>,
    request: Result<Json<PasswordReset>, JsonRejection>,
) -> Result<StatusCode, AppError> {
    runtime
        .reset_password(&admin, &username, body(request)?)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Lifts the login lock that failed attempts put on a username, on every node. Admins.
#[utoipa::path(
    delete,
    path = "/api/agents/{username}/login-lock",
    tag = "admin",
    params(("username" = String, Path, description = "The username whose login lock to lift.")),
    responses((status = 204, description = "Lifted: the next login attempt for it is counted afresh."), Unauthenticated, Refused),
    security(("session" = []))
)]
pub async fn clear_login_lock(
    State(runtime): State<Arc<Runtime>>,
    AdminCaller(admin): AdminCaller,
    Path(username): Path<String>,
) -> StatusCode {
    runtime.clear_login_lock(&admin, &username);
    StatusCode::NO_CONTENT
}

/// Sets an agent's presence: your own; admins may set anyone's.
#[utoipa::path(
    put,
    path = "/api/agents/{username}/presence",
    tag = "agent",
    params(("username" = String, Path, description = "The agent's username.")),
    request_body = PresenceRequest,
    responses((status = 200, description = "Set.", body = AgentSummary), Malformed, Unauthenticated, Refused, Missing),
    security(("session" = []))
)]
pub async fn set_presence(
    State(runtime): State<Arc<Runtime>>,
    AuthenticatedAgent(agent): AuthenticatedAgent,
    Path(username): Path<String>,
    request: Result<Json<PresenceRequest>, JsonRejection>,
) -> Answer<AgentSummary> {
    let target = runtime.presence_target(&agent, &username).await?;
    let request = body(request)?;
    Ok(Json(
        runtime
            .set_agent_presence(&target, request.presence)
            .await?,
    ))
}

/// Every queue, whether it is open now and how many wait in it. Any console user.
#[utoipa::path(
    get,
    path = "/api/queues",
    tag = "agent",
    responses((status = 200, description = "Every queue.", body = [QueueSummary]), Unauthenticated),
    security(("session" = []))
)]
pub async fn queues(
    State(runtime): State<Arc<Runtime>>,
    AuthenticatedAgent(_agent): AuthenticatedAgent,
) -> Answer<Vec<QueueSummary>> {
    Ok(Json(runtime.queue_summaries().await?))
}

/// The Ongoing conversations dashboard. Supervisors and admins.
#[utoipa::path(
    get,
    path = "/api/conversations",
    tag = "supervisor",
    responses((status = 200, description = "Every conversation that is not Closed.", body = [ConversationView]), Unauthenticated, Refused),
    security(("session" = []))
)]
pub async fn ongoing(
    State(runtime): State<Arc<Runtime>>,
    AuthenticatedAgent(agent): AuthenticatedAgent,
) -> Answer<Vec<ConversationView>> {
    Ok(Json(runtime.ongoing(&agent).await?))
}

/// Offline messages: what visitors left after overflow ended their chat, for the console to show
/// as text.
#[utoipa::path(
    get,
    path = "/api/offline-messages",
    tag = "agent",
    responses((status = 200, description = "Newest first.", body = [protocol::OfflineMessage]), Unauthenticated),
    security(("session" = []))
)]
pub async fn offline_messages(
    State(runtime): State<Arc<Runtime>>,
    AuthenticatedAgent(agent): AuthenticatedAgent,
) -> Answer<Vec<protocol::OfflineMessage>> {
    Ok(Json(
        runtime
            .offline_messages(&agent.username, agent.role)
            .await?,
    ))
}

/// A work-item stream, `mine`, `open` or `closed`, as the caller may see it.
#[utoipa::path(
    get,
    path = "/api/work-items/{stream}",
    tag = "agent",
    params(("stream" = inline(WorkStream), Path, description = "Which stream.")),
    responses((status = 200, description = "The stream's conversations.", body = [ConversationView]), Unauthenticated, Missing),
    security(("session" = []))
)]
pub async fn work_items(
    State(runtime): State<Arc<Runtime>>,
    AuthenticatedAgent(agent): AuthenticatedAgent,
    Path(stream): Path<String>,
) -> Answer<Vec<ConversationView>> {
    let stream = WorkStream::parse(&stream).ok_or_else(|| {
        AppError::new(
            ErrorCode::NotFound,
            format!("no stream `{stream}`: use mine, open or closed"),
        )
    })?;
    Ok(Json(runtime.work_items(&agent, stream.stream()).await?))
}

/// The whole conversation, for whoever may read it.
#[utoipa::path(
    get,
    path = "/api/conversations/{id}",
    tag = "agent",
    params(("id" = String, Path, description = "The conversation's id.")),
    responses((status = 200, description = "The conversation with its messages.", body = ConversationView), Unauthenticated, Refused, Missing),
    security(("session" = []))
)]
pub async fn conversation(
    State(runtime): State<Arc<Runtime>>,
    AuthenticatedAgent(agent): AuthenticatedAgent,
    Path(conversation_id): Path<String>,
) -> Answer<ConversationView> {
    let conversation = runtime
        .readable_conversation(&agent, &conversation_id)
        .await?;
    Ok(Json(runtime.conversation_view(&conversation).await?))
}

/// A conversation's lifecycle events, for whoever may read it.
#[utoipa::path(
    get,
    path = "/api/conversations/{id}/history",
    tag = "agent",
    params(("id" = String, Path, description = "The conversation's id.")),
    responses((status = 200, description = "Oldest first.", body = [HistoryEntry]), Unauthenticated, Refused, Missing),
    security(("session" = []))
)]
pub async fn history(
    State(runtime): State<Arc<Runtime>>,
    AuthenticatedAgent(agent): AuthenticatedAgent,
    Path(conversation_id): Path<String>,
) -> Answer<Vec<HistoryEntry>> {
    Ok(Json(runtime.history(&agent, &conversation_id).await?))
}

/// A supervisor starts monitoring someone else's Active or Wrap-up conversation: they get it with its
/// messages, and its new messages live on their sockets until they stop.
#[utoipa::path(
    post,
    path = "/api/conversations/{id}/monitor",
    tag = "supervisor",
    params(("id" = String, Path, description = "The conversation's id.")),
    responses((status = 200, description = "The conversation with its messages.", body = ConversationView), Unauthenticated, Refused, Missing, Conflict),
    security(("session" = []))
)]
pub async fn monitor(
    State(runtime): State<Arc<Runtime>>,
    AuthenticatedAgent(agent): AuthenticatedAgent,
    Path(conversation_id): Path<String>,
) -> Answer<ConversationView> {
    let conversation = runtime.monitor(&agent, &conversation_id).await?;
    viewed(&runtime, conversation).await
}

/// The supervisor stops monitoring; one who joined stays joined.
#[utoipa::path(
    delete,
    path = "/api/conversations/{id}/monitor",
    tag = "supervisor",
    params(("id" = String, Path, description = "The conversation's id.")),
    responses((status = 200, description = "The conversation.", body = ConversationView), Unauthenticated, Refused, Missing),
    security(("session" = []))
)]
pub async fn stop_monitoring(
    State(runtime): State<Arc<Runtime>>,
    AuthenticatedAgent(agent): AuthenticatedAgent,
    Path(conversation_id): Path<String>,
) -> Answer<ConversationView> {
    let conversation = runtime.stop_monitoring(&agent, &conversation_id).await?;
    viewed(&runtime, conversation).await
}

/// A supervisor joins an Active conversation: they may write to the customer, and the agent and the
/// customer read that a supervisor joined.
#[utoipa::path(
    post,
    path = "/api/conversations/{id}/join",
    tag = "supervisor",
    params(("id" = String, Path, description = "The conversation's id.")),
    responses((status = 200, description = "The conversation with its messages.", body = ConversationView), Unauthenticated, Refused, Missing, Conflict),
    security(("session" = []))
)]
pub async fn join(
    State(runtime): State<Arc<Runtime>>,
    AuthenticatedAgent(agent): AuthenticatedAgent,
    Path(conversation_id): Path<String>,
) -> Answer<ConversationView> {
    let conversation = runtime.join(&agent, &conversation_id).await?;
    viewed(&runtime, conversation).await
}

/// A supervisor who joined, or a consultant, leaves the conversation; a supervisor's leaving is told to
/// the agent and the customer.
#[utoipa::path(
    post,
    path = "/api/conversations/{id}/leave",
    tag = "agent",
    params(("id" = String, Path, description = "The conversation's id.")),
    responses((status = 200, description = "The conversation.", body = ConversationView), Unauthenticated, Refused, Missing),
    security(("session" = []))
)]
pub async fn leave(
    State(runtime): State<Arc<Runtime>>,
    AuthenticatedAgent(agent): AuthenticatedAgent,
    Path(conversation_id): Path<String>,
) -> Answer<ConversationView> {
    let conversation = runtime.leave(&agent, &conversation_id).await?;
    viewed(&runtime, conversation).await
}

async fn viewed(
    runtime: &Runtime,
    conversation: crate::store::Conversation,
) -> Answer<ConversationView> {
    Ok(Json(runtime.conversation_view(&conversation).await?))
}

/// `GET /api/audit`'s filters and paging.
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Only this actor's entries.
    actor: Option<String>,
    /// Only this action (`monitor`, `join`, `assign`, …).
    action: Option<String>,
    /// Only this conversation's entries.
    conversation_id: Option<String>,
    /// Entries older than this id: the next page.
    before: Option<i64>,
    /// How many, 1 to 500; 100 by default.
    #[param(minimum = 1, maximum = 500)]
    limit: Option<u32>,
}

/// The supervisors' actions, newest first: who did what to which conversation, when, and the outcome.
/// Admins only.
#[utoipa::path(
    get,
    path = "/api/audit",
    tag = "admin",
    params(AuditQuery),
    responses((status = 200, description = "Newest first.", body = [AuditEntry]), Malformed, Unauthenticated, Refused),
    security(("session" = []))
)]
pub async fn audit(
    State(runtime): State<Arc<Runtime>>,
    AuthenticatedAgent(agent): AuthenticatedAgent,
    query: Result<Query<AuditQuery>, QueryRejection>,
) -> Answer<Vec<AuditEntry>> {
    let query = super::error::query(query)?;
    let limit = query.limit.unwrap_or(100);
    if !(1..=500).contains(&limit) {
        return Err(AppError::new(
            ErrorCode::BadRequest,
            format!("`limit` must be 1 to 500, not {limit}"),
        ));
    }
    let filter = crate::store::AuditFilter {
        actor: query.actor,
        action: query.action,
        conversation_id: query.conversation_id,
        before: query.before,
        limit,
    };
    Ok(Json(runtime.audit_log(&agent, filter).await?))
}

/// `GET /api/sites/{site}/knowledge`'s search.
#[derive(Debug, Clone, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct KnowledgeQuery {
    /// Any text, at most 1000 characters: words (stemmed in each article's language), `"a phrase"`,
    /// `+must` and `-must-not`. What the query language cannot read is searched as words. Empty, it
    /// lists the first 50 articles by title.
    #[param(max_length = 1000)]
    q: String,
}

/// Searches the site's knowledge articles, best first (at most 10), each with its best passage; an
/// empty search lists them by title. Every signed-in agent may search.
#[utoipa::path(
    get,
    path = "/api/sites/{site}/knowledge",
    tag = "agent",
    params(("site" = String, Path, description = "The site's id."), KnowledgeQuery),
    responses((status = 200, description = "The matching articles; none for a site without a knowledge base.", body = protocol::KnowledgeResults), Malformed, Unauthenticated, Missing),
    security(("session" = []))
)]
pub async fn search_knowledge(
    State(runtime): State<Arc<Runtime>>,
    _agent: AuthenticatedAgent,
    Path(site): Path<String>,
    query: Result<Query<KnowledgeQuery>, QueryRejection>,
) -> Answer<protocol::KnowledgeResults> {
    let query = super::error::query(query)?;
    Ok(Json(runtime.search_knowledge(&site, &query.q)?))
}

/// One knowledge article, rendered to HTML with raw HTML shown as text, and its first paragraph to
/// quote.
#[utoipa::path(
    get,
    path = "/api/sites/{site}/knowledge/{slug}",
    tag = "agent",
    params(
        ("site" = String, Path, description = "The site's id."),
        ("slug" = String, Path, description = "The article's file name without `.md`."),
    ),
    responses((status = 200, description = "The article.", body = protocol::KnowledgeArticle), Unauthenticated, Missing),
    security(("session" = []))
)]
pub async fn knowledge_article(
    State(runtime): State<Arc<Runtime>>,
    _agent: AuthenticatedAgent,
    Path((site, slug)): Path<(String, String)>,
) -> Answer<protocol::KnowledgeArticle> {
    Ok(Json(runtime.knowledge_article(&site, &slug)?))
}

/// The offered agent accepts routing's or a transfer's offer.
#[utoipa::path(
    post,
    path = "/api/conversations/{id}/accept",
    tag = "agent",
    params(("id" = String, Path, description = "The conversation's id.")),
    responses((status = 200, description = "Accepted: Active, yours.", body = ConversationView), Unauthenticated, Refused, Missing),
    security(("session" = []))
)]
pub async fn accept(
    State(runtime): State<Arc<Runtime>>,
    AuthenticatedAgent(agent): AuthenticatedAgent,
    Path(conversation_id): Path<String>,
) -> Answer<ConversationView> {
    runtime.accept_offer(&agent, &conversation_id).await?;
    let conversation = runtime
        .readable_conversation(&agent, &conversation_id)
        .await?;
    viewed(&runtime, conversation).await
}

/// The offered agent declines; it goes to the next agent.
#[utoipa::path(
    post,
    path = "/api/conversations/{id}/reject",
    tag = "agent",
    params(("id" = String, Path, description = "The conversation's id.")),
    responses((status = 204, description = "Rejected."), Unauthenticated, Refused, Missing),
    security(("session" = []))
)]
pub async fn reject(
    State(runtime): State<Arc<Runtime>>,
    AuthenticatedAgent(agent): AuthenticatedAgent,
    Path(conversation_id): Path<String>,
) -> Result<StatusCode, AppError> {
    runtime.reject_offer(&agent, &conversation_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Takes an Open conversation from the Open work items.
#[utoipa::path(
    post,
    path = "/api/conversations/{id}/pick",
    tag = "agent",
    params(("id" = String, Path, description = "The conversation's id.")),
    responses((status = 200, description = "Picked: Active, yours.", body = ConversationView), Unauthenticated, Refused, Missing, Conflict),
    security(("session" = []))
)]
pub async fn pick(
    State(runtime): State<Arc<Runtime>>,
    AuthenticatedAgent(agent): AuthenticatedAgent,
    Path(conversation_id): Path<String>,
) -> Answer<ConversationView> {
    let conversation = runtime.pick(&agent, &conversation_id).await?;
    viewed(&runtime, conversation).await
}

/// The owner puts it back in its queue.
#[utoipa::path(
    post,
    path = "/api/conversations/{id}/release",
    tag = "agent",
    params(("id" = String, Path, description = "The conversation's id.")),
    responses((status = 200, description = "Back in its queue.", body = ConversationView), Unauthenticated, Refused, Missing, Conflict),
    security(("session" = []))
)]
pub async fn release(
    State(runtime): State<Arc<Runtime>>,
    AuthenticatedAgent(agent): AuthenticatedAgent,
    Path(conversation_id): Path<String>,
) -> Answer<ConversationView> {
    let conversation = runtime.release(&agent, &conversation_id).await?;
    viewed(&runtime, conversation).await
}

/// The owner selects End: Active to Wrap-up, Wrap-up to Closed.
#[utoipa::path(
    post,
    path = "/api/conversations/{id}/end",
    tag = "agent",
    params(("id" = String, Path, description = "The conversation's id.")),
    responses((status = 200, description = "Ended.", body = ConversationView), Unauthenticated, Refused, Missing, Conflict),
    security(("session" = []))
)]
pub async fn end(
    State(runtime): State<Arc<Runtime>>,
    AuthenticatedAgent(agent): AuthenticatedAgent,
    Path(conversation_id): Path<String>,
) -> Answer<ConversationView> {
    let conversation = runtime.agent_end(&agent, &conversation_id).await?;
    viewed(&runtime, conversation).await
}

/// The owner closes the session.
#[utoipa::path(
    post,
    path = "/api/conversations/{id}/close",
    tag = "agent",
    params(("id" = String, Path, description = "The conversation's id.")),
    responses((status = 200, description = "Closed.", body = ConversationView), Unauthenticated, Refused, Missing, Conflict),
    security(("session" = []))
)]
pub async fn close(
    State(runtime): State<Arc<Runtime>>,
    AuthenticatedAgent(agent): AuthenticatedAgent,
    Path(conversation_id): Path<String>,
) -> Answer<ConversationView> {
    let conversation = runtime.agent_close(&agent, &conversation_id).await?;
    viewed(&runtime, conversation).await
}

/// The owner reopens a Waiting conversation.
#[utoipa::path(
    post,
    path = "/api/conversations/{id}/reopen",
    tag = "agent",
    params(("id" = String, Path, description = "The conversation's id.")),
    responses((status = 200, description = "Reopened.", body = ConversationView), Unauthenticated, Refused, Missing, Conflict),
    security(("session" = []))
)]
pub async fn reopen(
    State(runtime): State<Arc<Runtime>>,
    AuthenticatedAgent(agent): AuthenticatedAgent,
    Path(conversation_id): Path<String>,
) -> Answer<ConversationView> {
    let conversation = runtime.reopen(&agent, &conversation_id).await?;
    viewed(&runtime, conversation).await
}

/// The owner marks the issue resolved and closes the session,
/// skipping wrap-up.
#[utoipa::path(
    post,
    path = "/api/conversations/{id}/resolve",
    tag = "agent",
    params(("id" = String, Path, description = "The conversation's id.")),
    responses((status = 200, description = "Resolved and Closed.", body = ConversationView), Unauthenticated, Refused, Missing, Conflict),
    security(("session" = []))
)]
pub async fn resolve(
    State(runtime): State<Arc<Runtime>>,
    AuthenticatedAgent(agent): AuthenticatedAgent,
    Path(conversation_id): Path<String>,
) -> Answer<ConversationView> {
    let conversation = runtime.resolve(&agent, &conversation_id).await?;
    viewed(&runtime, conversation).await
}

/// Transfers a conversation to a queue (it becomes Open there) or to an agent (who must
/// accept). The owner, or a supervisor with the transfer action.
#[utoipa::path(
    post,
    path = "/api/conversations/{id}/transfer",
    tag = "agent",
    params(("id" = String, Path, description = "The conversation's id.")),
    request_body = TransferRequest,
    responses((status = 200, description = "Moved to the queue: Open there.", body = ConversationView), (status = 202, description = "Offered to the agent, who must accept.", body = TransferOffered), Malformed, Unauthenticated, Refused, Missing, Conflict),
    security(("session" = []))
)]
pub async fn transfer(
    State(runtime): State<Arc<Runtime>>,
    AuthenticatedAgent(agent): AuthenticatedAgent,
    Path(conversation_id): Path<String>,
    request: Result<Json<TransferRequest>, JsonRejection>,
) -> Result<(StatusCode, Json<serde_json::Value>), AppError> {
    match body(request)? {
        TransferRequest {
            queue_id: Some(queue_id),
            username: None,
        } => {
            let conversation = runtime
                .transfer_to_queue(&agent, &conversation_id, &queue_id)
                .await?;
            let view = runtime.conversation_view(&conversation).await?;
            Ok((
                StatusCode::OK,
                Json(serde_json::to_value(view).unwrap_or_default()),
            ))
        }
        TransferRequest {
            queue_id: None,
            username: Some(username),
        } => {
            let offer = runtime
                .transfer_to_agent(&agent, &conversation_id, &username)
                .await?;
            let answer = TransferOffered {
                conversation_id: offer.conversation_id,
                to_username: offer.agent_username,
                expires_at_ms: offer.expires_at_ms,
            };
            Ok((
                StatusCode::ACCEPTED,
                Json(serde_json::to_value(answer).unwrap_or_default()),
            ))
        }
        _ => Err(AppError::new(
            ErrorCode::BadRequest,
            "give exactly one of `queue_id` and `username`",
        )),
    }
}

/// A supervisor assigns an Open conversation to an agent (with
/// optional presence and capacity overrides) or to another queue.
#[utoipa::path(
    post,
    path = "/api/conversations/{id}/assign",
    tag = "supervisor",
    params(("id" = String, Path, description = "The conversation's id.")),
    request_body = AssignRequest,
    responses((status = 200, description = "Assigned.", body = AssignAnswer), Malformed, Unauthenticated, Refused, Missing, Conflict),
    security(("session" = []))
)]
pub async fn assign(
    State(runtime): State<Arc<Runtime>>,
    AuthenticatedAgent(agent): AuthenticatedAgent,
    Path(conversation_id): Path<String>,
    request: Result<Json<AssignRequest>, JsonRejection>,
) -> Answer<AssignAnswer> {
    let request = body(request)?;
    let (conversation, over_capacity_by) = match (request.queue_id, request.username) {
        (None, Some(username)) => {
            runtime
                .assign(
                    &agent,
                    &conversation_id,
                    &username,
                    Overrides {
                        presence: request.override_presence,
                        capacity: request.override_capacity,
                    },
                )
                .await?
        }
        (Some(queue_id), None) => (
            runtime
                .assign_to_queue(&agent, &conversation_id, &queue_id)
                .await?,
            0,
        ),
        _ => {
            return Err(AppError::new(
                ErrorCode::BadRequest,
                "give exactly one of `queue_id` and `username`",
            ));
        }
    };
    Ok(Json(AssignAnswer {
        conversation: runtime.conversation_view(&conversation).await?,
        over_capacity_by,
    }))
}

/// A supervisor closes any ongoing conversation.
#[utoipa::path(
    post,
    path = "/api/conversations/{id}/force-close",
    tag = "supervisor",
    params(("id" = String, Path, description = "The conversation's id.")),
    responses((status = 200, description = "Closed by a supervisor.", body = ConversationView), Unauthenticated, Refused, Missing, Conflict),
    security(("session" = []))
)]
pub async fn force_close(
    State(runtime): State<Arc<Runtime>>,
    AuthenticatedAgent(agent): AuthenticatedAgent,
    Path(conversation_id): Path<String>,
) -> Answer<ConversationView> {
    let conversation = runtime.force_close(&agent, &conversation_id).await?;
    viewed(&runtime, conversation).await
}
