//! One end of a live chat as the multi-process tests drive it: which end it is, the frame it sends
//! for a message, what a frame it hears means, and the messages it has seen. Each test keeps its own
//! state machine (how it reconnects, retries and paces itself) on top of these.

use std::collections::BTreeMap;

use protocol::{
    AgentToServer, ChatMessage, ConversationState, ErrorCode, ServerToAgent, ServerToVisitor,
    VisitorToServer,
};

/// Which end of the chat: the visitor's widget, or the owning agent's console.
#[derive(Debug, Clone)]
pub enum Side {
    Visitor {
        visitor_id: String,
    },
    Agent {
        username: String,
        cookie: String,
        conversation_id: String,
    },
}

/// What a frame means to an end, whichever end it is.
#[derive(Debug)]
pub enum Heard {
    Message(ChatMessage),
    Ack {
        client_message_id: String,
        seq: i64,
    },
    /// A send the node refused for now (its store was away): the visitor's names the message, the
    /// console's answers the oldest send.
    Refused(Option<String>, String),
    /// The visitor's resume failed: what it brings is unknown.
    ResumeFailed,
    /// Expected, and nothing to act on: presence, the dashboard, the conversation staying Active.
    Other,
    /// Not what a live chat between two ends should bring.
    Unexpected(String),
}

impl Side {
    /// The text frame that sends one message from this end.
    pub fn send_text(&self, client_message_id: String, body: String) -> String {
        let text = match self {
            Side::Visitor { .. } => serde_json::to_string(&VisitorToServer::Send {
                client_message_id,
                body,
            }),
            Side::Agent {
                conversation_id, ..
            } => serde_json::to_string(&AgentToServer::Send {
                conversation_id: conversation_id.clone(),
                client_message_id,
                body,
            }),
        };
        text.expect("an encodable frame")
    }

    /// What a text frame the node sent to this end means.
    pub fn decode(&self, text: &str) -> Heard {
        match self {
            Side::Visitor { .. } => match serde_json::from_str::<ServerToVisitor>(text) {
                Ok(ServerToVisitor::Message { message }) => Heard::Message(message),
                Ok(ServerToVisitor::Ack {
                    client_message_id,
                    seq,
                }) => Heard::Ack {
                    client_message_id,
                    seq,
                },
                Ok(ServerToVisitor::Error {
                    code: ErrorCode::Internal,
                    client_message_id: Some(id),
                    message,
                }) => Heard::Refused(Some(id), message),
                Ok(ServerToVisitor::Error {
                    code: ErrorCode::Internal,
                    client_message_id: None,
                    ..
                }) => Heard::ResumeFailed,
                Ok(ServerToVisitor::Conversation {
                    state: ConversationState::Active,
                    ..
                }) => Heard::Other,
                other => Heard::Unexpected(format!("an unexpected frame {other:?}")),
            },
            Side::Agent { .. } => match serde_json::from_str::<ServerToAgent>(text) {
                Ok(ServerToAgent::Message { message, .. }) => Heard::Message(message),
                Ok(ServerToAgent::Ack {
                    client_message_id,
                    seq,
                    ..
                }) => Heard::Ack {
                    client_message_id,
                    seq,
                },
                Ok(ServerToAgent::Error {
                    code: ErrorCode::Internal,
                    message,
                }) => Heard::Refused(None, message),
                Ok(
                    ServerToAgent::Presence { .. }
                    | ServerToAgent::Ongoing { .. }
                    | ServerToAgent::Welcome { .. },
                ) => Heard::Other,
                Ok(ServerToAgent::Conversation { conversation })
                    if conversation.state == ConversationState::Active =>
                {
                    Heard::Other
                }
                other => Heard::Unexpected(format!("an unexpected frame {other:?}")),
            },
        }
    }
}

/// Records `message` among those seen, by seq; the same seq seen again with other content is the
/// problem returned.
pub fn learn(seen: &mut BTreeMap<i64, ChatMessage>, message: ChatMessage) -> Option<String> {
    match seen.get(&message.seq) {
        Some(known) if *known != message => Some(format!(
            "seq {} seen as {known:?}, then as {message:?}",
            message.seq
        )),
        Some(_) => None,
        None => {
            seen.insert(message.seq, message);
            None
        }
    }
}

/// Compares what an end has seen, and the seqs its messages were acknowledged as, with the stored
/// conversation (seq, client id, author, body): each difference is a problem, named for the end.
pub fn against_the_store(
    name: &str,
    seen: &BTreeMap<i64, ChatMessage>,
    acknowledged: &BTreeMap<String, i64>,
    stored: &[(i64, String, String, String)],
) -> Vec<String> {
    let mut problems = Vec::new();
    let seen: Vec<(i64, String, String, String)> = seen
        .values()
        .map(|message| {
            (
                message.seq,
                message.client_message_id.clone(),
                message.author.as_str().to_owned(),
                message.body.clone(),
            )
        })
        .collect();
    if seen != stored {
        problems.push(format!(
            "{name} has {} messages, {} are stored; first difference {:?}",
            seen.len(),
            stored.len(),
            seen.iter()
                .zip(stored)
                .find(|(seen, stored)| seen != stored)
        ));
    }
    for (client_message_id, seq) in acknowledged {
        let stored_as = stored.iter().find(|row| row.1 == *client_message_id);
        if stored_as.map(|row| row.0) != Some(*seq) {
            problems.push(format!(
                "{name}: `{client_message_id}` acknowledged as seq {seq}, stored as {stored_as:?}"
            ));
        }
    }
    problems
}
