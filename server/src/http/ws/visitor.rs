//! The visitor's socket: start a chat, send messages with client ids, resume after a reconnect, end.

use std::collections::BTreeMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::{Arc, Mutex, PoisonError};

use axum::extract::ws::{WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use protocol::{ErrorCode, ServerToVisitor, VisitorToServer};
use serde::Deserialize;

use super::{Forward, going_away, limited, pump, same_origin, send_json};
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
    // A resume's replay and the live frames overlap around it: what one showed, the other skips.
    let shown = Mutex::new(Shown::default());
    let first_time = |frame: &ServerToVisitor| {
        shown
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .first_time(frame)
    };
    pump(
        &runtime,
        &mut socket,
        &mut outgoing,
        malformed,
        |frame| {
            if first_time(frame) {
                Forward::Send
            } else {
                Forward::Skip
            }
        },
        |text| {
            let (runtime, visitor, first_time) = (&runtime, &visitor, &first_time);
            async move {
                let mut replies = handle(runtime, visitor, &text).await;
                replies.retain(first_time);
                replies
            }
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

/// The messages one connection has shown lately, so that each goes out once: a message stored while a
/// resume reads the transcript reaches the connection both live and in the replay, in either order
/// (live frames from other nodes come through the bus, later). A message is known by its seq and a hash
/// of its client id, so one of another conversation with the same seq still goes out; only the newest
/// `SHOWN_REMEMBERED` are kept, since the overlap is the few messages stored around a resume.
#[derive(Debug, Default)]
struct Shown {
    recent: BTreeMap<i64, u64>,
}

const SHOWN_REMEMBERED: usize = 256;

impl Shown {
    /// Whether the frame goes out: anything but a message this connection has shown already.
    fn first_time(&mut self, frame: &ServerToVisitor) -> bool {
        let ServerToVisitor::Message { message } = frame else {
            return true;
        };
        let mut hasher = DefaultHasher::new();
        message.client_message_id.hash(&mut hasher);
        let id = hasher.finish();
        if self.recent.insert(message.seq, id) == Some(id) {
            return false;
        }
        if self.recent.len() > SHOWN_REMEMBERED {
            self.recent.pop_first();
        }
        true
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

#[cfg(test)]
mod tests {
    use protocol::{Author, ChatMessage};

    use super::*;

    fn message(seq: i64, client_message_id: &str) -> ServerToVisitor {
        ServerToVisitor::Message {
            message: ChatMessage {
                seq,
                client_message_id: client_message_id.to_owned(),
                author: Author::Visitor,
                author_name: String::new(),
                body: "Hello".to_owned(),
                sent_at_ms: 0,
                internal: false,
            },
        }
    }

    #[test]
    fn a_message_goes_out_once_whichever_way_it_comes_first() {
        let mut shown = Shown::default();
        assert!(shown.first_time(&message(1, "v-1")));
        assert!(shown.first_time(&message(3, "v-3")), "out of order");
        assert!(shown.first_time(&message(2, "v-2")));
        for seq in 1..=3 {
            assert!(!shown.first_time(&message(seq, &format!("v-{seq}"))));
        }
        let ack = ServerToVisitor::Ack {
            client_message_id: "v-1".to_owned(),
            seq: 1,
        };
        assert!(
            shown.first_time(&ack) && shown.first_time(&ack),
            "only messages are held back"
        );
    }

    #[test]
    fn another_conversation_s_message_with_a_seq_already_shown_goes_out() {
        let mut shown = Shown::default();
        assert!(shown.first_time(&message(1, "first chat")));
        assert!(shown.first_time(&message(1, "second chat")));
        assert!(!shown.first_time(&message(1, "second chat")));
    }

    #[test]
    fn only_the_newest_messages_are_remembered() {
        let mut shown = Shown::default();
        let total = i64::try_from(SHOWN_REMEMBERED).expect("small") + 10;
        for seq in 1..=total {
            assert!(shown.first_time(&message(seq, &seq.to_string())));
        }
        assert_eq!(shown.recent.len(), SHOWN_REMEMBERED);
        assert!(!shown.first_time(&message(total, &total.to_string())));
        assert!(
            shown.first_time(&message(1, "1")),
            "forgotten, so shown again"
        );
    }
}
