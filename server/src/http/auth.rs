//! Console authentication: argon2 passwords, and an HttpOnly, SameSite=Strict session cookie whose token
//! the database stores only as a hash.

use std::sync::Arc;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use axum::Json;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use blake2::{Blake2b512, Digest};
use protocol::{ErrorCode, LoginRequest, Me};

use super::error::AppError;
use crate::runtime::{Runtime, hex};
use crate::store::Agent;

pub const SESSION_COOKIE: &str = "beckon_session";
const SESSION_DAYS: i64 = 7;

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
    Ok(runtime
        .store
        .session_agent(&token_hash(&token), runtime.now_ms())
        .await?)
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

pub fn token_hash(token: &str) -> String {
    hex(&Blake2b512::digest(token.as_bytes())[..32])
}

pub fn hash_password(password: &str) -> Result<String, String> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|error| error.to_string())?;
    let salt = SaltString::encode_b64(&salt).map_err(|error| error.to_string())?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|error| error.to_string())
}

fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|parsed| {
        Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    })
}

pub async fn login(
    State(runtime): State<Arc<Runtime>>,
    Json(request): Json<LoginRequest>,
) -> Result<Response, AppError> {
    let agent = runtime.store.agent(&request.username).await?;
    // Hashing runs off the async threads: argon2 is deliberately slow.
    let password = request.password;
    let verified = match agent {
        Some(agent) => {
            let hash = agent.password_hash.clone();
            let ok = tokio::task::spawn_blocking(move || verify_password(&password, &hash))
                .await
                .unwrap_or(false);
            ok.then_some(agent)
        }
        None => None,
    };
    let Some(agent) = verified else {
        return Err(AppError::new(
            ErrorCode::InvalidCredentials,
            "wrong username or password",
        ));
    };
    let token = crate::runtime::new_id() + &crate::runtime::new_id();
    let expires_at_ms = runtime.now_ms() + SESSION_DAYS * 24 * 3600 * 1000;
    runtime
        .store
        .create_session(&token_hash(&token), &agent.username, expires_at_ms)
        .await?;
    let secure = if runtime.public_origin.starts_with("https://") {
        "; Secure"
    } else {
        ""
    };
    let cookie = format!(
        "{SESSION_COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/; Max-Age={}{secure}",
        SESSION_DAYS * 24 * 3600
    );
    let mut response = Json(me_of(&agent)).into_response();
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
        runtime.store.delete_session(&token_hash(&token)).await?;
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
