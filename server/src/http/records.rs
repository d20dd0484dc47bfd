//! The customer record's REST routes: contacts and cases, for the session's customer details. Each
//! handler reads the request and calls one runtime operation, which checks who may read or write.

use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use protocol::{
    Case, CaseEntry, CasePatch, CaseRecord, CaseStatus, Contact, ContactFields, ContactRecord,
    ConversationView, LinkContact, NewCase, NewContact,
};

use super::auth::AuthenticatedAgent;
use super::error::{AppError, Malformed, Missing, Refused, Unauthenticated, body};
use crate::runtime::Runtime;

type Answer<T> = Result<Json<T>, AppError>;

/// `GET /api/sites/{site}/contacts`'s search.
#[derive(Debug, Clone, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ContactQuery {
    /// Part of a name, email address or phone number, any case; empty lists the latest contacts.
    #[param(max_length = 254)]
    #[serde(default)]
    q: String,
}

/// The site's contacts you may read whose name, email or phone contains the query, most recently
/// changed first (at most 20): a supervisor reads every contact, an agent those linked to
/// conversations of their queues, their own, or those they take part in.
#[utoipa::path(
    get,
    path = "/api/sites/{site}/contacts",
    tag = "agent",
    params(("site" = String, Path, description = "The site's id."), ContactQuery),
    responses((status = 200, description = "The matching contacts.", body = Vec<Contact>), Malformed, Unauthenticated, Missing),
    security(("session" = []))
)]
pub async fn search_contacts(
    State(runtime): State<Arc<Runtime>>,
    AuthenticatedAgent(agent): AuthenticatedAgent,
    Path(site): Path<String>,
    query: Result<Query<ContactQuery>, QueryRejection>,
) -> Answer<Vec<Contact>> {
    let query = super::error::query(query)?;
    Ok(Json(
        runtime.search_contacts(&agent, &site, &query.q).await?,
    ))
}

/// `GET /api/sites/{site}/cases`'s search.
#[derive(Debug, Clone, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CaseQuery {
    /// Part of a case's title or of its contact's name, any case; empty lists the latest cases.
    #[param(max_length = 254)]
    #[serde(default)]
    q: String,
    /// Only the cases in this status; absent lists both.
    status: Option<CaseStatus>,
}

/// The site's cases you may read (those of the contacts you may read) whose title or contact's name
/// contains the query, most recently changed first (at most 20).
#[utoipa::path(
    get,
    path = "/api/sites/{site}/cases",
    tag = "agent",
    params(("site" = String, Path, description = "The site's id."), CaseQuery),
    responses((status = 200, description = "The matching cases, each with its contact's name.", body = Vec<CaseEntry>), Malformed, Unauthenticated, Missing),
    security(("session" = []))
)]
pub async fn search_cases(
    State(runtime): State<Arc<Runtime>>,
    AuthenticatedAgent(agent): AuthenticatedAgent,
    Path(site): Path<String>,
    query: Result<Query<CaseQuery>, QueryRejection>,
) -> Answer<Vec<CaseEntry>> {
    let query = super::error::query(query)?;
    Ok(Json(
        runtime
            .search_cases(&agent, &site, &query.q, query.status)
            .await?,
    ))
}

/// A case with its contact and the conversations linked to it, newest first.
#[utoipa::path(
    get,
    path = "/api/cases/{id}",
    tag = "agent",
    params(("id" = String, Path, description = "The case's id.")),
    responses((status = 200, description = "The case's record.", body = CaseRecord), Unauthenticated, Refused, Missing),
    security(("session" = []))
)]
pub async fn case(
    State(runtime): State<Arc<Runtime>>,
    AuthenticatedAgent(agent): AuthenticatedAgent,
    Path(case_id): Path<String>,
) -> Answer<CaseRecord> {
    Ok(Json(runtime.case_record(&agent, &case_id).await?))
}

/// Creates a contact from a session's customer details and links the conversation to it, which then
/// takes the contact's name as its title. The conversation's owner or a supervisor.
#[utoipa::path(
    post,
    path = "/api/contacts",
    tag = "agent",
    request_body = NewContact,
    responses((status = 200, description = "The conversation, linked to its new contact.", body = ConversationView), Malformed, Unauthenticated, Refused, Missing),
    security(("session" = []))
)]
pub async fn create_contact(
    State(runtime): State<Arc<Runtime>>,
    AuthenticatedAgent(agent): AuthenticatedAgent,
    request: Result<Json<NewContact>, JsonRejection>,
) -> Answer<ConversationView> {
    Ok(Json(runtime.create_contact(&agent, body(request)?).await?))
}

/// A contact with its cases and conversations, newest first.
#[utoipa::path(
    get,
    path = "/api/contacts/{id}",
    tag = "agent",
    params(("id" = String, Path, description = "The contact's id.")),
    responses((status = 200, description = "The contact's record.", body = ContactRecord), Unauthenticated, Refused, Missing),
    security(("session" = []))
)]
pub async fn contact(
    State(runtime): State<Arc<Runtime>>,
    AuthenticatedAgent(agent): AuthenticatedAgent,
    Path(contact_id): Path<String>,
) -> Answer<ContactRecord> {
    Ok(Json(runtime.contact_record(&agent, &contact_id).await?))
}

/// Rewrites a contact's name, email, phone and notes. Its conversations that are not Closed take the
/// new name as their title.
#[utoipa::path(
    put,
    path = "/api/contacts/{id}",
    tag = "agent",
    params(("id" = String, Path, description = "The contact's id.")),
    request_body = ContactFields,
    responses((status = 200, description = "The contact.", body = Contact), Malformed, Unauthenticated, Refused, Missing),
    security(("session" = []))
)]
pub async fn update_contact(
    State(runtime): State<Arc<Runtime>>,
    AuthenticatedAgent(agent): AuthenticatedAgent,
    Path(contact_id): Path<String>,
    request: Result<Json<ContactFields>, JsonRejection>,
) -> Answer<Contact> {
    Ok(Json(
        runtime
            .update_contact(&agent, &contact_id, body(request)?)
            .await?,
    ))
}

/// Links the conversation to a contact of its site that you may read; a case of another contact comes
/// off it. The conversation's owner or a supervisor.
#[utoipa::path(
    put,
    path = "/api/conversations/{id}/contact",
    tag = "agent",
    params(("id" = String, Path, description = "The conversation's id.")),
    request_body = LinkContact,
    responses((status = 200, description = "The conversation, linked.", body = ConversationView), Malformed, Unauthenticated, Refused, Missing),
    security(("session" = []))
)]
pub async fn link_contact(
    State(runtime): State<Arc<Runtime>>,
    AuthenticatedAgent(agent): AuthenticatedAgent,
    Path(conversation_id): Path<String>,
    request: Result<Json<LinkContact>, JsonRejection>,
) -> Answer<ConversationView> {
    let LinkContact { contact_id } = body(request)?;
    Ok(Json(
        runtime
            .link_contact(&agent, &conversation_id, &contact_id)
            .await?,
    ))
}

/// Opens a case for the conversation's contact and links it to the conversation. Resolving the
/// conversation (`/resolve`) resolves the case with it.
#[utoipa::path(
    post,
    path = "/api/cases",
    tag = "agent",
    request_body = NewCase,
    responses((status = 200, description = "The conversation with its new case.", body = ConversationView), Malformed, Unauthenticated, Refused, Missing),
    security(("session" = []))
)]
pub async fn create_case(
    State(runtime): State<Arc<Runtime>>,
    AuthenticatedAgent(agent): AuthenticatedAgent,
    request: Result<Json<NewCase>, JsonRejection>,
) -> Answer<ConversationView> {
    Ok(Json(runtime.create_case(&agent, body(request)?).await?))
}

/// Renames a case, or resolves or reopens it.
#[utoipa::path(
    patch,
    path = "/api/cases/{id}",
    tag = "agent",
    params(("id" = String, Path, description = "The case's id.")),
    request_body = CasePatch,
    responses((status = 200, description = "The case.", body = Case), Malformed, Unauthenticated, Refused, Missing),
    security(("session" = []))
)]
pub async fn update_case(
    State(runtime): State<Arc<Runtime>>,
    AuthenticatedAgent(agent): AuthenticatedAgent,
    Path(case_id): Path<String>,
    request: Result<Json<CasePatch>, JsonRejection>,
) -> Answer<Case> {
    Ok(Json(
        runtime
            .update_case(&agent, &case_id, body(request)?)
            .await?,
    ))
}
