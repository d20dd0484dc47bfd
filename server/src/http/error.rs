//! The one error type at the HTTP edge: a stable code, a message, and the status the code maps to.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use protocol::{ErrorBody, ErrorCode};
use serde::de::DeserializeOwned;

use crate::runtime::RuntimeError;

#[derive(Debug)]
pub struct AppError {
    pub code: ErrorCode,
    pub message: String,
}

impl AppError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> AppError {
        AppError {
            code,
            message: message.into(),
        }
    }
}

impl From<RuntimeError> for AppError {
    fn from(error: RuntimeError) -> AppError {
        AppError::new(error.code, error.message)
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
        (
            status,
            Json(ErrorBody {
                code: self.code,
                message,
            }),
        )
            .into_response()
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
