//! Errors as clients see them: a stable code to match on, and a message to show.

use serde::{Deserialize, Serialize};

/// The error body every 4xx/5xx REST answer carries, and the `Error` frames.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    pub code: ErrorCode,
    pub message: String,
}

named_enum! {
    /// Stable error codes. Clients match on these, never on messages.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum ErrorCode {
        BadRequest => "bad_request",
        NotFound => "not_found",
        MalformedFrame => "malformed_frame",
        MessageTooLarge => "message_too_large",
        EmptyMessage => "empty_message",
        Unauthenticated => "unauthenticated",
        Forbidden => "forbidden",
        OriginNotAllowed => "origin_not_allowed",
        UnknownSite => "unknown_site",
        UnknownConversation => "unknown_conversation",
        UnknownRule => "unknown_rule",
        UnknownArticle => "unknown_article",
        UnknownContact => "unknown_contact",
        UnknownCase => "unknown_case",
        NotYourConversation => "not_your_conversation",
        NotOfferedToYou => "not_offered_to_you",
        TransitionNotAllowed => "transition_not_allowed",
        NoConversation => "no_conversation",
        IdConflict => "id_conflict",
        InvalidCredentials => "invalid_credentials",
        UnknownAgent => "unknown_agent",
        UnknownQueue => "unknown_queue",
        /// The agent has no room for the conversation; a supervisor may override.
        OverCapacity => "over_capacity",
        /// A transfer of the conversation is already waiting for an answer.
        TransferPending => "transfer_pending",
        /// A routing rule refuses: not a member of the queue, a presence the workstream does not route to,
        /// the queue it is already in.
        NotAllowed => "not_allowed",
        /// Too many requests of this kind from this caller or address; try again after `Retry-After`.
        RateLimited => "rate_limited",
        /// The password is right, but an admin disabled the account.
        AccountDisabled => "account_disabled",
        /// The identity token the site passed was refused (forged, expired, for another audience); the
        /// chat goes on as anonymous.
        IdentityRefused => "identity_refused",
        Internal => "internal",
    }
}

impl ErrorCode {
    /// The HTTP status for this code: the one table that maps codes to statuses.
    pub fn http_status(self) -> u16 {
        match self {
            ErrorCode::BadRequest
            | ErrorCode::MalformedFrame
            | ErrorCode::EmptyMessage
            | ErrorCode::UnknownRule => 400,
            ErrorCode::Unauthenticated
            | ErrorCode::InvalidCredentials
            | ErrorCode::IdentityRefused => 401,
            ErrorCode::Forbidden
            | ErrorCode::OriginNotAllowed
            | ErrorCode::NotYourConversation
            | ErrorCode::NotOfferedToYou
            | ErrorCode::NotAllowed
            | ErrorCode::AccountDisabled => 403,
            ErrorCode::NotFound
            | ErrorCode::UnknownSite
            | ErrorCode::UnknownConversation
            | ErrorCode::NoConversation
            | ErrorCode::UnknownAgent
            | ErrorCode::UnknownQueue
            | ErrorCode::UnknownArticle
            | ErrorCode::UnknownContact
            | ErrorCode::UnknownCase => 404,
            ErrorCode::TransitionNotAllowed
            | ErrorCode::IdConflict
            | ErrorCode::OverCapacity
            | ErrorCode::TransferPending => 409,
            ErrorCode::MessageTooLarge => 413,
            ErrorCode::RateLimited => 429,
            ErrorCode::Internal => 500,
        }
    }
}
