//! Console authentication at the edge: the HttpOnly, SameSite=Strict session cookie, login and logout.
//! Passwords and session tokens are checked and stored by `runtime::accounts`.

use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use protocol::{ErrorCode, LoginRequest, Me, PasswordChange};

use super::ClientAddress;
use super::error::{AppError, body};
use super::error::{Limited, Malformed, Refused, Unauthenticated};
use crate::runtime::Runtime;
use crate::runtime::accounts::{Admin, SESSION_DAYS};
use crate::store::Agent;

pub const SESSION_COOKIE: &str = "beckon_session";

/// The agent whose session the console's routes run under: the `console_session` layer finds it once
/// and every console handler takes it from there. A handler outside the console's routes gets 401.
#[derive(Debug, Clone)]
pub struct AuthenticatedAgent(pub Agent);

impl<S: Send + Sync> FromRequestParts<S> for AuthenticatedAgent {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<AuthenticatedAgent>()
            .cloned()
            .ok_or_else(|| AppError::new(ErrorCode::Unauthenticated, "log in first"))
    }
}

/// The admin behind an admin route: the `admin_only` layer checked the session's agent and put it here.
#[derive(Debug, Clone)]
pub struct AdminCaller(pub Admin);

impl<S: Send + Sync> FromRequestParts<S> for AdminCaller {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<AdminCaller>()
            .cloned()
            .ok_or_else(|| AppError::new(ErrorCode::Forbidden, "only admins may do this"))
    }
}

/// The layer in front of every admin route, inside `console_session`: the session's agent must be an
/// admin (`Runtime::admin`, the one check), or the request is refused with 403 before its body is read.
pub async fn admin_only(
    State(runtime): State<Arc<Runtime>>,
    mut request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let Some(AuthenticatedAgent(agent)) = request.extensions().get::<AuthenticatedAgent>().cloned()
    else {
        return AppError::new(ErrorCode::Unauthenticated, "log in first").into_response();
    };
    match runtime.admin(&agent) {
        Ok(admin) => {
            request.extensions_mut().insert(AdminCaller(admin));
            next.run(request).await
        }
        Err(error) => AppError::from(error).into_response(),
    }
}

/// The layer in front of every console route: a request without a live session is refused with 401
/// before its handler runs; otherwise the session's agent goes with the request.
pub async fn console_session(
    State(runtime): State<Arc<Runtime>>,
    mut request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    match agent_from_headers(&runtime, request.headers()).await {
        Ok(Some(agent)) => {
            request.extensions_mut().insert(AuthenticatedAgent(agent));
            next.run(request).await
        }
        Ok(None) => AppError::new(ErrorCode::Unauthenticated, "log in first").into_response(),
        Err(error) => error.into_response(),
    }
}

pub async fn agent_from_headers(
    runtime: &Runtime,
    headers: &HeaderMap,
) -> Result<Option<Agent>, AppError> {
    let Some(token) = session_token(headers) else {
        return Ok(None);
    };
    Ok(runtime.session_agent(&token).await?)
}

/// The session token the request's cookie carries.
pub fn session_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value.to_owned())
}

#[utoipa::path(
    post,
    path = "/api/console/login",
    tag = "public",
    request_body = LoginRequest,
    responses((status = 200, description = "Logged in; the answer sets the HttpOnly session cookie.", body = Me), Malformed, (status = 401, description = "`invalid_credentials`: wrong username or password (the same answer, in the same time, for a username that does not exist).", body = protocol::ErrorBody), (status = 403, description = "`account_disabled` (the password is right, but an admin disabled the account) or `origin_not_allowed`.", body = protocol::ErrorBody), Limited)
)]
pub async fn login(
    State(runtime): State<Arc<Runtime>>,
    ClientAddress(address): ClientAddress,
    request: Result<Json<LoginRequest>, JsonRejection>,
) -> Result<Response, AppError> {
    let request = body(request)?;
    let session = runtime
        .log_in(&request.username, request.password, address)
        .await?;
    let secure = if runtime.public_origin.starts_with("https://") {
        "; Secure"
    } else {
        ""
    };
    let cookie = format!(
        "{SESSION_COOKIE}={}; HttpOnly; SameSite=Strict; Path=/; Max-Age={}{secure}",
        session.token,
        SESSION_DAYS * 24 * 3600
    );
    let mut response = Json(me_of(&runtime, &session.agent)).into_response();
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    Ok(response)
}

#[utoipa::path(
    post,
    path = "/api/console/logout",
    tag = "public",
    responses((status = 204, description = "Logged out; the answer clears the cookie."), Refused)
)]
pub async fn logout(
    State(runtime): State<Arc<Runtime>>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    if let Some(token) = session_token(&headers) {
        runtime.log_out(&token).await?;
    }
    let mut response = StatusCode::NO_CONTENT.into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static("beckon_session=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0"),
    );
    Ok(response)
}

/// Changes your own password, given the current one. Your other sessions end; this one stays.
#[utoipa::path(
    post,
    path = "/api/console/password",
    tag = "agent",
    request_body = PasswordChange,
    responses((status = 204, description = "Changed; every other session of yours ended."), Malformed, (status = 401, description = "`unauthenticated` (no session) or `invalid_credentials` (`current_password` is wrong).", body = protocol::ErrorBody), Refused),
    security(("session" = []))
)]
pub async fn change_password(
    State(runtime): State<Arc<Runtime>>,
    AuthenticatedAgent(agent): AuthenticatedAgent,
    headers: HeaderMap,
    request: Result<Json<PasswordChange>, JsonRejection>,
) -> Result<StatusCode, AppError> {
    let change = body(request)?;
    let token = session_token(&headers)
        .ok_or_else(|| AppError::new(ErrorCode::Unauthenticated, "log in first"))?;
    runtime.change_password(&agent, &token, change).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    get,
    path = "/api/console/me",
    tag = "agent",
    responses((status = 200, description = "The session's agent.", body = Me), Unauthenticated),
    security(("session" = []))
)]
pub async fn me(State(runtime): State<Arc<Runtime>>, agent: AuthenticatedAgent) -> Json<Me> {
    Json(me_of(&runtime, &agent.0))
}

fn me_of(runtime: &Runtime, agent: &Agent) -> Me {
    Me {
        username: agent.username.clone(),
        display_name: agent.display_name.clone(),
        role: agent.role,
        sites: runtime
            .sites()
            .map(|site| protocol::SiteName {
                id: site.id.clone(),
                name: site.name.clone(),
            })
            .collect(),
    }
}
