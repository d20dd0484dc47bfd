//! WebSocket endpoints: one for visitors' widgets, one for agents' consoles. Frames are JSON text.

pub mod agent;
pub mod visitor;

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade, close_code};
use axum::http::{HeaderMap, header};
use serde::Serialize;

use crate::runtime::Runtime;

/// What tungstenite reads into, per connection. It allocates this buffer up front and zero-fills it on
/// the first read, so every open socket keeps all of it resident, idle or not: with axum's default of
/// 128 KiB an idle visitor cost about 140 KB (`cargo bench -p server --bench messages`). Frames are
/// small (a chat message in its envelope is a few hundred bytes) and a larger one, up to
/// `MAX_FRAME_BYTES`, grows the buffer for itself, so 2 KiB still takes several pipelined frames a read.
const READ_BUFFER_BYTES: usize = 2 * 1024;
/// Not an allocation: how many bytes of frames tungstenite gathers before writing them. Every send
/// here flushes, so it only matters for frames queued without a flush. Axum's default is 128 KiB.
const WRITE_BUFFER_BYTES: usize = 4 * 1024;
/// The most bytes that may wait to be written on one socket; past it a send fails instead of memory
/// growing. Each send waits for its flush, so about one frame waits here: frames queue in the hub.
const MAX_WRITE_BUFFER_BYTES: usize = protocol::MAX_FRAME_BYTES * 64;

/// Applies Beckon's buffer sizes and frame limits to an upgrade. A frame carries one message plus its
/// envelope, so one frame is also the largest message.
pub fn limited(upgrade: WebSocketUpgrade) -> WebSocketUpgrade {
    upgrade
        .read_buffer_size(READ_BUFFER_BYTES)
        .write_buffer_size(WRITE_BUFFER_BYTES)
        .max_write_buffer_size(MAX_WRITE_BUFFER_BYTES)
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

/// What a socket does with a frame the hub queued for its connection.
pub enum Forward {
    Send,
    /// The connection has shown it already.
    Skip,
    /// The last frame: it goes out, then the socket closes with this close frame.
    SendAndClose(CloseFrame),
}

/// Runs a socket until the client leaves, the hub drops it, or the node stops. Each text frame goes to
/// `handle`, whose replies go back in order; frames queued for this connection by the hub go out as they
/// come, as `forward` decides for each. A binary frame gets the `malformed` reply.
pub async fn pump<Out, Queued, Handle, Reply>(
    runtime: &Runtime,
    socket: &mut WebSocket,
    outgoing: &mut tokio::sync::mpsc::Receiver<Queued>,
    malformed: impl Fn() -> Out,
    mut forward: impl FnMut(&Queued) -> Forward,
    mut handle: Handle,
) where
    Out: Serialize,
    Queued: Serialize,
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
                    // Boxed, so the task of a connection waiting here holds a pointer rather than the
                    // largest handler's state (about 1.6 KB for a visitor's), and most are idle.
                    Some(Ok(Message::Text(text))) => Box::pin(handle(text.as_str().to_owned())).await,
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
                Some(frame) => {
                    let decision = forward(&frame);
                    if matches!(decision, Forward::Skip) {
                        continue;
                    }
                    if !send_json(socket, &frame).await {
                        return;
                    }
                    if let Forward::SendAndClose(close) = decision {
                        let _ = tokio::time::timeout(
                            std::time::Duration::from_secs(1),
                            socket.send(Message::Close(Some(close))),
                        )
                        .await;
                        return;
                    }
                }
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
