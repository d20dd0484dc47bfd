//! The visitor's socket: start a chat, send messages with client ids, resume after a reconnect, end.

use std::sync::Arc;

use axum::extract::ws::{WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use protocol::{ErrorCode, ServerToVisitor, VisitorToServer};
use serde::Deserialize;

use super::{going_away, limited, pump, same_origin, send_json};
use crate::http::ClientAddress;
use crate::http::error::AppError;
use crate::runtime::{OfflineMessageRequest, Runtime, RuntimeError};

#[derive(Deserialize)]
pub struct VisitorQuery {
    site: String,
    /// 32 hex digits the widget generated and keeps; it is the visitor's bearer secret.
    visitor: String,
}

pub async fn upgrade(
    State(runtime): State<Arc<Runtime>>,
    headers: HeaderMap,
    ClientAddress(address): ClientAddress,
    Query(query): Query<VisitorQuery>,
    upgrade: WebSocketUpgrade,
) -> Result<Response, AppError> {
    if !same_origin(&runtime, &headers) {
        return Err(AppError::new(
            ErrorCode::OriginNotAllowed,
            "the widget connects from its own origin only",
        ));
    }
    if !runtime.site_exists(&query.site) {
        return Err(AppError::new(
            ErrorCode::UnknownSite,
            format!("unknown site `{}`", query.site),
        ));
    }
    if query.visitor.len() != 32 || !query.visitor.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(AppError::new(
            ErrorCode::BadRequest,
            "`visitor` must be 32 hex digits",
        ));
    }
    Ok(limited(upgrade)
        .on_upgrade(move |socket| {
            let visitor = Visitor {
                site_id: query.site,
                visitor_id: query.visitor,
                address,
            };
            serve(runtime, visitor, socket)
        })
        .into_response())
}

/// Who is at the other end of a visitor's socket.
struct Visitor {
    site_id: String,
    visitor_id: String,
    /// The client address, behind trusted proxies; what the per-address limits count.
    address: Option<std::net::IpAddr>,
}

async fn serve(runtime: Arc<Runtime>, visitor: Visitor, mut socket: WebSocket) {
    let (site_id, visitor_id) = (visitor.site_id.clone(), visitor.visitor_id.clone());
    let _connection = runtime.connection_guard().await;
    if runtime.is_stopping() {
        going_away(&mut socket).await;
        return;
    }
    let (connection_id, mut outgoing) = runtime.hub.add_visitor(&site_id, &visitor_id);
    runtime.visitor_connected(&site_id, &visitor_id).await;
    let greeting = match runtime
        .visitor_live_conversation(&site_id, &visitor_id)
        .await
    {
        Ok(conversation) => Some(conversation_frame(&runtime, &conversation).await),
        // A chat overflow ended may still take an offline message, from any page of the visit.
        Err(_) => runtime
            .offline_message_invitation(&site_id, &visitor_id)
            .await
            .ok()
            .flatten(),
    };
    if let Some(frame) = greeting
        && !send_json(&mut socket, &frame).await
    {
        runtime
            .hub
            .remove_visitor(&site_id, &visitor_id, connection_id);
        if !runtime.is_stopping() {
            runtime.visitor_disconnected(&site_id, &visitor_id).await;
        }
        return;
    }
    let malformed = || {
        error_frame(
            RuntimeError::new(ErrorCode::MalformedFrame, "frames are JSON text"),
            None,
        )
    };
    pump(
        &runtime,
        &mut socket,
        &mut outgoing,
        malformed,
        |_| None,
        |text| {
            let (runtime, visitor) = (&runtime, &visitor);
            async move { handle(runtime, visitor, &text).await }
        },
    )
    .await;
    // A node that is stopping is not the visitor leaving: the next start recovers their timers.
    runtime
        .hub
        .remove_visitor(&site_id, &visitor_id, connection_id);
    if !runtime.is_stopping() {
        runtime.visitor_disconnected(&site_id, &visitor_id).await;
    }
}

async fn handle(runtime: &Runtime, visitor: &Visitor, text: &str) -> Vec<ServerToVisitor> {
    let (site_id, visitor_id) = (visitor.site_id.as_str(), visitor.visitor_id.as_str());
    let frame: VisitorToServer = match serde_json::from_str(text) {
        Ok(frame) => frame,
        Err(error) => {
            return vec![error_frame(
                RuntimeError::new(
                    ErrorCode::MalformedFrame,
                    format!("malformed frame: {error}"),
                ),
                None,
            )];
        }
    };
    match frame {
        VisitorToServer::StartChat {
            rule_id,
            context,
            dropped,
            journey,
            identity_token,
            language,
        } => {
            let start = crate::runtime::StartChat {
                site_id,
                visitor_id,
                address: visitor.address,
                rule_id: rule_id.as_deref(),
                context,
                dropped,
                journey,
                identity_token,
                language,
            };
            match runtime.start_chat(start).await {
                // A refused identity is said after the conversation, which goes on as anonymous.
                Ok(started) => {
                    std::iter::once(conversation_frame(runtime, &started.conversation).await)
                        .chain(
                            started
                                .identity_refused
                                .map(|refused| error_frame(refused, None)),
                        )
                        .collect()
                }
                Err(error) => vec![error_frame(error, None)],
            }
        }
        VisitorToServer::Resume { after_seq } => {
            let conversation = match runtime.visitor_live_conversation(site_id, visitor_id).await {
                Ok(conversation) => conversation,
                Err(error) => return vec![error_frame(error, None)],
            };
            match runtime.messages_after(&conversation, after_seq).await {
                Ok(messages) => messages
                    .into_iter()
                    .map(|message| ServerToVisitor::Message { message })
                    .collect(),
                Err(error) => vec![error_frame(error, None)],
            }
        }
        VisitorToServer::Send {
            client_message_id,
            body,
        } => {
            match runtime
                .visitor_send(site_id, visitor_id, client_message_id.clone(), body)
                .await
            {
                Ok(message) => vec![ServerToVisitor::Ack {
                    client_message_id,
                    seq: message.seq,
                }],
                Err(error) => vec![error_frame(error, Some(client_message_id))],
            }
        }
        VisitorToServer::LeaveOfflineMessage {
            client_message_id,
            name,
            email,
            body,
        } => {
            let request = OfflineMessageRequest {
                client_message_id: client_message_id.clone(),
                name,
                email,
                body,
            };
            match runtime
                .leave_offline_message(site_id, visitor_id, visitor.address, request)
                .await
            {
                Ok(_) => vec![ServerToVisitor::OfflineMessageStored { client_message_id }],
                Err(error) => vec![error_frame(error, Some(client_message_id))],
            }
        }
        VisitorToServer::Typing { typing } => {
            runtime.visitor_typing(site_id, visitor_id, typing).await;
            Vec::new()
        }
        VisitorToServer::End => match runtime.visitor_end(site_id, visitor_id).await {
            Ok(_) => Vec::new(),
            Err(error) => vec![error_frame(error, None)],
        },
    }
}

async fn conversation_frame(
    runtime: &Runtime,
    conversation: &crate::store::Conversation,
) -> ServerToVisitor {
    let agent_name = match &conversation.agent_username {
        Some(username) => runtime.agent_display_name(username).await,
        None => None,
    };
    ServerToVisitor::Conversation {
        conversation_id: conversation.id.clone(),
        state: conversation.state,
        queue_position: runtime.queue_position(conversation).await,
        agent_name,
    }
}

fn error_frame(error: RuntimeError, client_message_id: Option<String>) -> ServerToVisitor {
    ServerToVisitor::Error {
        code: error.code,
        message: error.message,
        client_message_id,
        retry_after_ms: error.retry_after_ms,
    }
}
