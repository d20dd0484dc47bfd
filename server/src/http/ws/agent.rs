//! The agent's socket: presence, offers, messages, End and close. Authenticated by the session cookie.

use std::sync::Arc;

use axum::extract::State;
use axum::extract::ws::{WebSocket, WebSocketUpgrade};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use protocol::{AgentToServer, ErrorCode, ServerToAgent};

use super::{going_away, limited, pump, same_origin, send_json};
use crate::http::auth::agent_from_headers;
use crate::http::error::AppError;
use crate::runtime::{Runtime, RuntimeError};
use crate::store::Agent;

pub async fn upgrade(
    State(runtime): State<Arc<Runtime>>,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Result<Response, AppError> {
    if !same_origin(&runtime, &headers) {
        return Err(AppError::new(
            ErrorCode::OriginNotAllowed,
            "the console connects from its own origin only",
        ));
    }
    let agent = agent_from_headers(&runtime, &headers)
        .await?
        .ok_or_else(|| AppError::new(ErrorCode::Unauthenticated, "log in first"))?;
    Ok(limited(upgrade)
        .on_upgrade(move |socket| serve(runtime, agent, socket))
        .into_response())
}

async fn serve(runtime: Arc<Runtime>, agent: Agent, mut socket: WebSocket) {
    let _connection = runtime.connection_guard().await;
    if runtime.is_stopping() {
        going_away(&mut socket).await;
        return;
    }
    let supervising = agent.role >= protocol::Role::Supervisor;
    let (connection_id, mut outgoing) = runtime.hub.add_agent(&agent.username, supervising);
    runtime.agent_connected(&agent.username).await;
    if !welcome(&runtime, &agent, &mut socket).await {
        runtime.hub.remove_agent(&agent.username, connection_id);
        runtime.agent_disconnected(&agent.username).await;
        return;
    }
    let malformed = || {
        error_frame(RuntimeError::new(
            ErrorCode::MalformedFrame,
            "frames are JSON text",
        ))
    };
    pump(&runtime, &mut socket, &mut outgoing, malformed, |text| {
        let (runtime, agent) = (&runtime, &agent);
        async move { handle(runtime, agent, &text).await.into_iter().collect() }
    })
    .await;
    // A node that is stopping is not the agent leaving: the next start recovers their timers.
    runtime.hub.remove_agent(&agent.username, connection_id);
    if !runtime.is_stopping() {
        runtime.agent_disconnected(&agent.username).await;
    }
}

/// The agent's current state, then any offers waiting for them.
async fn welcome(runtime: &Runtime, agent: &Agent, socket: &mut WebSocket) -> bool {
    let frames = runtime.agent_welcome(agent).await;
    runtime.forget_shown_presence(&agent.username);
    for frame in &frames {
        if !send_json(socket, frame).await {
            return false;
        }
    }
    true
}

async fn handle(runtime: &Runtime, agent: &Agent, text: &str) -> Option<ServerToAgent> {
    let frame: AgentToServer = match serde_json::from_str(text) {
        Ok(frame) => frame,
        Err(error) => {
            return Some(error_frame(RuntimeError::new(
                ErrorCode::MalformedFrame,
                format!("malformed frame: {error}"),
            )));
        }
    };
    let result = match frame {
        AgentToServer::SetPresence { presence } => {
            runtime.set_presence(agent, presence).await.map(|()| None)
        }
        AgentToServer::AcceptOffer { conversation_id } => runtime
            .accept_offer(agent, &conversation_id)
            .await
            .map(|()| None),
        AgentToServer::RejectOffer { conversation_id } => runtime
            .reject_offer(agent, &conversation_id)
            .await
            .map(|()| None),
        AgentToServer::Send {
            conversation_id,
            client_message_id,
            body,
        } => runtime
            .agent_send(agent, &conversation_id, client_message_id.clone(), body)
            .await
            .map(|message| {
                Some(ServerToAgent::Ack {
                    conversation_id,
                    client_message_id,
                    seq: message.seq,
                })
            }),
        AgentToServer::End { conversation_id } => runtime
            .agent_end(agent, &conversation_id)
            .await
            .map(|_| None),
        AgentToServer::Close { conversation_id } => runtime
            .agent_close(agent, &conversation_id)
            .await
            .map(|_| None),
    };
    result.unwrap_or_else(|error| Some(error_frame(error)))
}

fn error_frame(error: RuntimeError) -> ServerToAgent {
    ServerToAgent::Error {
        code: error.code,
        message: error.message,
    }
}
