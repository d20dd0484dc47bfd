//! The one error type at the HTTP edge: a stable code, a message, and the status the code maps to.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use protocol::{ErrorBody, ErrorCode};
use serde::de::DeserializeOwned;
use utoipa::openapi::{Content, Ref, RefOr, ResponseBuilder};

use crate::runtime::RuntimeError;

#[derive(Debug)]
pub struct AppError {
    pub code: ErrorCode,
    pub message: String,
    /// With `rate_limited`: sent as `Retry-After`, in whole seconds.
    pub retry_after_ms: Option<u64>,
}

impl AppError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> AppError {
        AppError {
            code,
            message: message.into(),
            retry_after_ms: None,
        }
    }
}

impl From<RuntimeError> for AppError {
    fn from(error: RuntimeError) -> AppError {
        AppError {
            code: error.code,
            message: error.message,
            retry_after_ms: error.retry_after_ms,
        }
    }
}

impl From<crate::store::StoreError> for AppError {
    fn from(error: crate::store::StoreError) -> AppError {
        AppError::from(RuntimeError::from(error))
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.code.http_status())
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        // Clients never see internals of a 5xx; the details were logged where they happened.
        let message = if status.is_server_error() {
            "internal error".to_owned()
        } else {
            self.message
        };
        let mut response = (
            status,
            Json(ErrorBody {
                code: self.code,
                message,
            }),
        )
            .into_response();
        if let Some(retry_after_ms) = self.retry_after_ms {
            let seconds = retry_after_ms.div_ceil(1000).max(1);
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, seconds.into());
        }
        response
    }
}

/// A JSON body, or a `bad_request` naming what is wrong with it.
pub fn body<T: DeserializeOwned>(body: Result<Json<T>, JsonRejection>) -> Result<T, AppError> {
    body.map(|Json(value)| value).map_err(|rejection| {
        AppError::new(
            ErrorCode::BadRequest,
            format!("invalid body: {}", rejection.body_text()),
        )
    })
}

/// A query string, or a `bad_request` naming what is wrong with it.
pub fn query<T>(
    query: Result<axum::extract::Query<T>, axum::extract::rejection::QueryRejection>,
) -> Result<T, AppError> {
    query
        .map(|axum::extract::Query(value)| value)
        .map_err(|rejection| {
            AppError::new(
                ErrorCode::BadRequest,
                format!("the query: {}", rejection.body_text()),
            )
        })
}

// The refusals as the API document lists them: each handler's `responses(...)` names the ones it can
// answer, each with the error body.

/// A refusal's answer: the error body, whose `code` says why.
fn refusal(status: u16, description: &str) -> BTreeMap<String, RefOr<utoipa::openapi::Response>> {
    let response = ResponseBuilder::new()
        .description(description)
        .content(
            "application/json",
            Content::new(Some(Ref::from_schema_name("ErrorBody"))),
        )
        .build();
    BTreeMap::from([(status.to_string(), RefOr::T(response))])
}

/// One documented refusal status, named for the `responses(...)` of the handlers that can answer it.
macro_rules! refusals {
    ($($(#[$doc:meta])* $name:ident = $status:literal, $description:literal;)+) => {
        $(
            $(#[$doc])*
            pub struct $name;

            impl utoipa::IntoResponses for $name {
                fn responses() -> BTreeMap<String, RefOr<utoipa::openapi::Response>> {
                    refusal($status, $description)
                }
            }
        )+
    };
}

refusals! {
    Malformed = 400, "`bad_request`: the body or a parameter is not what the operation takes.";
    Unauthenticated = 401, "`unauthenticated`: no session; log in first.";
    /// 403 on a console write is also `origin_not_allowed`, for a browser on another origin.
    Refused = 403, "`forbidden`, `not_your_conversation`, `not_offered_to_you`, `not_allowed` or `origin_not_allowed`: the caller may not do this.";
    Missing = 404, "`unknown_conversation`, `unknown_agent`, `unknown_queue`, `unknown_site`, `unknown_article`, `unknown_contact`, `unknown_case` or `not_found`.";
    /// Sent with `Retry-After`, in seconds.
    Limited = 429, "`rate_limited`: too many of these requests from this caller or address; `Retry-After` says when to try again.";
    Conflict = 409, "`transition_not_allowed`, `over_capacity`, `transfer_pending` or `id_conflict`: the conversation's or account's state refuses it now.";
}
