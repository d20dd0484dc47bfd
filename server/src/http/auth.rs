//! Console authentication at the edge: the HttpOnly, SameSite=Strict session cookie, login and logout.
//! Passwords and session tokens are checked and stored by `runtime::accounts`.

use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use protocol::{ErrorCode, LoginRequest, Me};

use super::error::{AppError, body};
use crate::runtime::Runtime;
use crate::runtime::accounts::SESSION_DAYS;
use crate::store::Agent;

pub const SESSION_COOKIE: &str = "beckon_session";

/// The agent behind the request's session cookie; rejects with 401 otherwise.
#[derive(Debug, Clone)]
pub struct AuthenticatedAgent(pub Agent);

impl FromRequestParts<Arc<Runtime>> for AuthenticatedAgent {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        runtime: &Arc<Runtime>,
    ) -> Result<Self, Self::Rejection> {
        agent_from_headers(runtime, &parts.headers)
            .await?
            .map(AuthenticatedAgent)
            .ok_or_else(|| AppError::new(ErrorCode::Unauthenticated, "log in first"))
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

fn session_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value.to_owned())
}

pub async fn login(
    State(runtime): State<Arc<Runtime>>,
    request: Result<Json<LoginRequest>, JsonRejection>,
) -> Result<Response, AppError> {
    let request = body(request)?;
    let session = runtime.log_in(&request.username, request.password).await?;
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
    let mut response = Json(me_of(&session.agent)).into_response();
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    Ok(response)
}

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

pub async fn me(agent: AuthenticatedAgent) -> Json<Me> {
    Json(me_of(&agent.0))
}

fn me_of(agent: &Agent) -> Me {
    Me {
        username: agent.username.clone(),
        display_name: agent.display_name.clone(),
        role: agent.role,
    }
}
