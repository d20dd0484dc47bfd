//! Wire types shared by the server, the widget and the console: the one place that knows the JSON shape.
//!
//! Everything here is plain data with serde derives, re-exported at the crate's root:
//! - `enums`: the named vocabularies (states, presences, roles…), each declared once with `named_enum!`;
//! - `frames`: what the WebSocket frames carry, as JSON text frames holding one tagged value;
//! - `rest`: REST request and answer bodies;
//! - `records`: the customer record, contacts and cases, with the checks on what agents write;
//! - `errors`: error codes and the error body, with the one table of HTTP statuses;
//! - `resume`: what a client asks for when it resumes;
//! - `context`: fitting a visitor's context variables into the limits, in the widget and the server;
//! - `binary`: the compact encoding the widget's first module reads instead of JSON;
//! - `typing`: when clients send typing notices, and how long the other side shows one.

#[macro_use]
mod names;

pub mod binary;
pub mod context;
mod enums;
mod errors;
mod frames;
pub mod records;
mod rest;
mod resume;
pub mod typing;
pub mod words;

pub use enums::{
    Author, Channel, ConversationState, InvitationEventKind, Presence, Role, Sentiment,
};
pub use errors::{ErrorBody, ErrorCode};
pub use frames::{
    AgentToServer, ChatMessage, ConversationView, JOURNEY_PATH_CHARS, JOURNEY_STEPS, JourneyStep,
    LastMessage, PREVIEW_CHARS, Participant, ParticipantRole, SIGNED_OUT_CLOSE_CODE,
    SIGNED_OUT_REASON, ServerToAgent, ServerToVisitor, SupervisionActions, SystemNote,
    VisitorToServer, default_sentiment_alert, fit_journey,
};
pub use records::{
    Case, CaseEntry, CasePatch, CaseRecord, CaseStatus, Contact, ContactConversation,
    ContactFields, ContactRecord, LinkContact, NewCase, NewContact, check_case_title,
    check_contact,
};
pub use rest::{
    AgentPatch, AgentSummary, ArticleBlock, ArticleInline, AssignAnswer, AssignRequest, AuditEntry,
    Availability, BlockKind, HistoryEntry, InvitationEvent, KnowledgeArticle, KnowledgeHit,
    KnowledgeResults, LoginRequest, MAX_KNOWLEDGE_QUERY_CHARS, Me, NewAgentRequest, OfflineMessage,
    PasswordChange, PasswordReset, PresenceRequest, QueueSummary, RuleStats, SiteConfig, SiteName,
    SnippetPart, TransferOffered, TransferRequest,
};
pub use resume::ReceivedThrough;

/// The largest chat message body, in bytes of UTF-8. Longer bodies are rejected with `message_too_large`.
pub const MAX_MESSAGE_BYTES: usize = 16 * 1024;

/// The largest WebSocket frame the server reads. A frame carries one message plus its envelope.
pub const MAX_FRAME_BYTES: usize = MAX_MESSAGE_BYTES + 4 * 1024;

/// The largest number of context variables a visitor may pass, and the largest size of one value.
pub const MAX_CONTEXT_VARIABLES: usize = 64;
pub const MAX_CONTEXT_VALUE_BYTES: usize = 1024;
/// The longest name or email address an offline message may carry.
pub const MAX_CONTACT_BYTES: usize = 254;
/// The longest password, in characters: longer ones are refused before any hashing.
pub const MAX_PASSWORD_CHARS: usize = 256;

/// A context variable's value: what a page's context provider may return. The rules compare the same
/// values, so the type lives in the `rules` crate.
pub use rules::ContextValue;

/// Context variables, ordered by name so every reader sees them the same way.
pub type ContextVariables = rules::VecMap<String, ContextValue>;

#[cfg(test)]
mod tests {
    use serde::Serialize;

    use super::*;

    #[test]
    fn frames_use_snake_case_tags() {
        let frame = VisitorToServer::Send {
            client_message_id: "m1".into(),
            body: "hi".into(),
        };
        let text = serde_json::to_string(&frame).unwrap();
        assert_eq!(
            text,
            r#"{"type":"send","client_message_id":"m1","body":"hi"}"#
        );
        let back: VisitorToServer = serde_json::from_str(&text).unwrap();
        assert_eq!(back, frame);
    }

    /// Every variant's name parses back to it and is its JSON form; no two variants share a name.
    fn names_round_trip<T>(all: &[T], as_str: fn(T) -> &'static str, parse: fn(&str) -> Option<T>)
    where
        T: Copy + PartialEq + std::fmt::Debug + Serialize + serde::de::DeserializeOwned,
    {
        let mut names = std::collections::BTreeSet::new();
        for &value in all {
            let name = as_str(value);
            assert!(names.insert(name), "{name} names two variants");
            assert_eq!(parse(name), Some(value));
            let json = serde_json::to_string(&value).unwrap();
            assert_eq!(json, format!("\"{name}\""));
            assert_eq!(serde_json::from_str::<T>(&json).unwrap(), value);
        }
        assert_eq!(parse("no_such_name"), None);
        assert_eq!(parse(""), None);
    }

    #[test]
    fn every_named_enum_round_trips_through_its_names() {
        names_round_trip(
            &ConversationState::ALL,
            ConversationState::as_str,
            ConversationState::parse,
        );
        names_round_trip(&Channel::ALL, Channel::as_str, Channel::parse);
        names_round_trip(&Presence::ALL, Presence::as_str, Presence::parse);
        names_round_trip(&Author::ALL, Author::as_str, Author::parse);
        names_round_trip(&Role::ALL, Role::as_str, Role::parse);
        names_round_trip(
            &InvitationEventKind::ALL,
            InvitationEventKind::as_str,
            InvitationEventKind::parse,
        );
        names_round_trip(&ErrorCode::ALL, ErrorCode::as_str, ErrorCode::parse);
        names_round_trip(&CaseStatus::ALL, CaseStatus::as_str, CaseStatus::parse);
        names_round_trip(
            &context::DropReason::ALL,
            context::DropReason::as_str,
            context::DropReason::parse,
        );
        assert_eq!(ErrorCode::ALL.len(), 29);
        assert_eq!(ConversationState::WrapUp.label(), "Wrap-up");
        assert_eq!(Presence::BusyDoNotDisturb.label(), "Busy – Do not disturb");
        assert!(Role::Agent < Role::Supervisor && Role::Supervisor < Role::Admin);
    }

    #[test]
    fn context_values_keep_their_types() {
        let vars: ContextVariables =
            serde_json::from_str(r#"{"plan":"pro","cart_value":42,"vip":true}"#).unwrap();
        assert_eq!(vars.get("plan"), Some(&ContextValue::Text("pro".into())));
        assert_eq!(vars.get("cart_value"), Some(&ContextValue::Number(42.0)));
        assert_eq!(vars.get("vip"), Some(&ContextValue::Bool(true)));
        assert_eq!(
            vars.get("cart_value").map(ContextValue::display).as_deref(),
            Some("42")
        );
    }
}
