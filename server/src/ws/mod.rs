//! WebSocket endpoints: one for visitors' widgets, one for agents' consoles. Frames are JSON text.

pub mod agent;
pub mod visitor;

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade, close_code};
use axum::http::{HeaderMap, header};
use serde::Serialize;

use crate::runtime::Runtime;

/// Read buffer per connection. Axum's default is 128 KiB; chat frames are small, and idle visitors are
/// many, so a small buffer keeps memory per connection low.
const READ_BUFFER_BYTES: usize = 4 * 1024;
const WRITE_BUFFER_BYTES: usize = 4 * 1024;

/// Applies Beckon's frame limits to an upgrade.
pub fn limited(upgrade: WebSocketUpgrade) -> WebSocketUpgrade {
    upgrade
        .read_buffer_size(READ_BUFFER_BYTES)
        .write_buffer_size(WRITE_BUFFER_BYTES)
        .max_write_buffer_size(protocol::MAX_FRAME_BYTES * 64)
        .max_message_size(protocol::MAX_FRAME_BYTES)
        .max_frame_size(protocol::MAX_FRAME_BYTES)
}

/// Whether the upgrade comes from a page of this very origin. Browsers always send `Origin` on WebSocket
/// handshakes, so this stops other sites from opening sockets with a visitor's or agent's credentials.
pub fn same_origin(runtime: &Runtime, headers: &HeaderMap) -> bool {
    let Some(origin) = headers
        .get(header::ORIGIN)
        .and_then(|value| value.to_str().ok())
    else {
        return false;
    };
    if origin == runtime.public_origin {
        return true;
    }
    let host = headers
        .get(header::HOST)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default();
    !host.is_empty() && (origin == format!("http://{host}") || origin == format!("https://{host}"))
}

/// Runs a socket until the client leaves, the hub drops it, or the node stops. Each text frame goes to
/// `handle`, whose replies go back in order; frames queued for this connection by the hub go out as they
/// come. A binary frame gets the `malformed` reply.
pub async fn pump<Out, Handle, Reply>(
    runtime: &Runtime,
    socket: &mut WebSocket,
    outgoing: &mut tokio::sync::mpsc::Receiver<Out>,
    malformed: impl Fn() -> Out,
    mut handle: Handle,
) where
    Out: Serialize,
    Handle: FnMut(String) -> Reply,
    Reply: Future<Output = Vec<Out>>,
{
    loop {
        tokio::select! {
            () = runtime.stopping() => {
                going_away(socket).await;
                return;
            }
            incoming = socket.recv() => {
                let replies = match incoming {
                    Some(Ok(Message::Text(text))) => handle(text.as_str().to_owned()).await,
                    Some(Ok(Message::Binary(_))) => vec![malformed()],
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                    Some(Ok(Message::Close(_)) | Err(_)) | None => return,
                };
                for reply in replies {
                    if !send_json(socket, &reply).await {
                        return;
                    }
                }
            }
            frame = outgoing.recv() => match frame {
                Some(frame) => if !send_json(socket, &frame).await { return },
                // The hub dropped this connection for being too slow; the client will resume.
                None => return,
            },
        }
    }
}

/// Sends one frame; `false` when the socket is gone.
pub async fn send_json<T: Serialize>(socket: &mut WebSocket, frame: &T) -> bool {
    match serde_json::to_string(frame) {
        Ok(text) => socket.send(Message::Text(text.into())).await.is_ok(),
        Err(error) => {
            tracing::error!("cannot encode a frame: {error}");
            false
        }
    }
}

/// Tells the client the node is stopping, so it reconnects and resumes, here once restarted or elsewhere.
/// Bounded in time: a client that stopped reading must not hold up the node's stop.
pub async fn going_away(socket: &mut WebSocket) {
    let close = CloseFrame {
        code: close_code::AWAY,
        reason: "the server is stopping".into(),
    };
    let _ = tokio::time::timeout(
        std::time::Duration::from_secs(1),
        socket.send(Message::Close(Some(close))),
    )
    .await;
}
