//! The agent's socket: presence, offers, messages, End and close. Authenticated by the session cookie.

use std::sync::Arc;

use std::sync::atomic::{AtomicBool, Ordering};

use axum::extract::State;
use axum::extract::ws::{CloseFrame, WebSocket, WebSocketUpgrade};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use protocol::{AgentToServer, ErrorCode, ServerToAgent};

use super::{Forward, going_away, limited, pump, same_origin, send_json};
use crate::http::auth::session_token;
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
    let unauthenticated = || AppError::new(ErrorCode::Unauthenticated, "log in first");
    let token = session_token(&headers).ok_or_else(unauthenticated)?;
    let agent = runtime
        .session_agent(&token)
        .await?
        .ok_or_else(unauthenticated)?;
    let session = crate::runtime::accounts::token_hash(&token);
    Ok(limited(upgrade)
        .on_upgrade(move |socket| serve(runtime, agent, session, socket))
        .into_response())
}

async fn serve(runtime: Arc<Runtime>, agent: Agent, session: String, mut socket: WebSocket) {
    let _connection = runtime.connection_guard().await;
    if runtime.is_stopping() {
        going_away(&mut socket).await;
        return;
    }
    let supervising = agent.role >= protocol::Role::Supervisor;
    let registration = runtime
        .hub
        .add_agent(&agent.username, supervising, &session);
    let (connection_id, mut outgoing) = (registration.id, registration.outgoing);
    let signed_out = registration.signed_out;
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
    let forward = |frame: &ServerToAgent| match frame {
        ServerToAgent::SignedOut { .. } => Forward::SendAndClose(CloseFrame {
            code: protocol::SIGNED_OUT_CLOSE_CODE,
            reason: protocol::SIGNED_OUT_REASON.into(),
        }),
        _ => Forward::Send,
    };
    pump(
        &runtime,
        &mut socket,
        &mut outgoing,
        malformed,
        forward,
        |text| {
            let (runtime, agent, signed_out) = (&runtime, &agent, &signed_out);
            async move {
                handle(runtime, agent, signed_out, &text)
                    .await
                    .into_iter()
                    .collect()
            }
        },
    )
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

async fn handle(
    runtime: &Runtime,
    agent: &Agent,
    signed_out: &AtomicBool,
    text: &str,
) -> Option<ServerToAgent> {
    // The session ended: nothing more is done under it, even before the socket has closed.
    if signed_out.load(Ordering::SeqCst) {
        return Some(error_frame(RuntimeError::new(
            ErrorCode::Unauthenticated,
            protocol::SIGNED_OUT_REASON,
        )));
    }
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
            internal,
        } => runtime
            .agent_send(
                agent,
                &conversation_id,
                client_message_id.clone(),
                body,
                internal,
            )
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
        AgentToServer::Typing {
            conversation_id,
            typing,
        } => runtime
            .agent_typing(agent, &conversation_id, typing)
            .await
            .map(|()| None),
    };
    result.unwrap_or_else(|error| Some(error_frame(error)))
}

fn error_frame(error: RuntimeError) -> ServerToAgent {
    ServerToAgent::Error {
        code: error.code,
        message: error.message,
        retry_after_ms: error.retry_after_ms,
    }
}
