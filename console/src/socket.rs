//! The console's live state and its WebSocket: every frame from the server updates the signals here.

use std::time::Duration;

use leptos::prelude::*;
use protocol::{
    AgentToServer, ChatMessage, ConversationState, ConversationView, Presence, ServerToAgent,
};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::Closure;
use web_sys::{MessageEvent, WebSocket};

/// Which tab of a session is showing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tab {
    Conversation,
    Details,
}

/// One open session in the Sessions pane.
#[derive(Debug, Clone, PartialEq)]
pub struct Session {
    pub view: ConversationView,
    pub unread: u32,
    /// What the agent typed and has not sent; kept while they switch sessions.
    pub draft: String,
    /// Sent messages not yet acknowledged: (client id, body).
    pub pending: Vec<(String, String)>,
    pub tab: Tab,
}

/// The open socket and the callbacks that must live as long as it does.
type LiveSocket = (WebSocket, Vec<Closure<dyn FnMut(wasm_bindgen::JsValue)>>);

#[derive(Clone, Copy)]
pub struct Console {
    pub username: RwSignal<String>,
    pub presence: RwSignal<Presence>,
    /// What others see: Busy while capacity is full, when the automatic rule is on.
    pub shown_presence: RwSignal<Presence>,
    pub sessions: RwSignal<Vec<Session>>,
    pub offers: RwSignal<Vec<ConversationView>>,
    /// The focused session; `None` is Home.
    pub focused: RwSignal<Option<String>>,
    pub notice: RwSignal<String>,
    pub connected: RwSignal<bool>,
    /// The session ended (logout elsewhere, a password change or reset, the account disabled): the
    /// socket stays closed and the console goes back to the login screen with this reason.
    pub signed_out: RwSignal<Option<String>>,
    /// A rate limit's retry is waiting.
    retry_scheduled: StoredValue<bool, LocalStorage>,
    socket: StoredValue<Option<LiveSocket>, LocalStorage>,
    /// Frames the agent sent while the socket was not open yet; they go out, in order, when it opens.
    outbox: StoredValue<Vec<String>, LocalStorage>,
    /// A presence the agent chose that the server has not answered yet. A `Welcome` sent before the
    /// server read the choice must not put the old presence back on screen.
    requested_presence: StoredValue<Option<Presence>, LocalStorage>,
}

impl Console {
    pub fn new() -> Console {
        Console {
            username: RwSignal::new(String::new()),
            presence: RwSignal::new(Presence::Offline),
            shown_presence: RwSignal::new(Presence::Offline),
            sessions: RwSignal::new(Vec::new()),
            offers: RwSignal::new(Vec::new()),
            focused: RwSignal::new(None),
            notice: RwSignal::new(String::new()),
            connected: RwSignal::new(false),
            signed_out: RwSignal::new(None),
            retry_scheduled: StoredValue::new_local(false),
            socket: StoredValue::new_local(None),
            outbox: StoredValue::new_local(Vec::new()),
            requested_presence: StoredValue::new_local(None),
        }
    }

    pub fn connect(self) {
        let Some(location) = web_sys::window().map(|window| window.location()) else {
            return;
        };
        let scheme = if location.protocol().ok().as_deref() == Some("https:") {
            "wss"
        } else {
            "ws"
        };
        let url = format!(
            "{scheme}://{}/ws/agent",
            location.host().unwrap_or_default()
        );
        let Ok(websocket) = WebSocket::new(&url) else {
            return;
        };
        let on_open = Closure::<dyn FnMut(wasm_bindgen::JsValue)>::new(move |_| {
            self.connected.set(true);
            // What the agent did before the socket opened (a presence chosen at once, a message)
            // goes out now, in order.
            let waiting = self
                .outbox
                .try_update_value(std::mem::take)
                .unwrap_or_default();
            for text in waiting {
                self.send_text(text);
            }
        });
        let on_message = Closure::<dyn FnMut(wasm_bindgen::JsValue)>::new(
            move |event: wasm_bindgen::JsValue| {
                let Some(text) = event
                    .dyn_ref::<MessageEvent>()
                    .and_then(|event| event.data().as_string())
                else {
                    return;
                };
                match serde_json::from_str::<ServerToAgent>(&text) {
                    Ok(frame) => self.on_frame(frame),
                    Err(error) => web_sys::console::warn_1(
                        &format!("beckon: unreadable frame: {error}").into(),
                    ),
                }
            },
        );
        let on_close = Closure::<dyn FnMut(wasm_bindgen::JsValue)>::new(
            move |event: wasm_bindgen::JsValue| {
                self.connected.set(false);
                self.socket.set_value(None);
                let close = event.dyn_ref::<web_sys::CloseEvent>();
                if close.is_some_and(|close| close.code() == protocol::SIGNED_OUT_CLOSE_CODE) {
                    let reason = close.map(web_sys::CloseEvent::reason).unwrap_or_default();
                    self.sign_out(reason);
                    return;
                }
                if self.signed_out.get_untracked().is_none() {
                    set_timeout(move || self.connect(), Duration::from_secs(2));
                }
            },
        );
        websocket.set_onopen(Some(on_open.as_ref().unchecked_ref()));
        websocket.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        websocket.set_onclose(Some(on_close.as_ref().unchecked_ref()));
        self.socket
            .set_value(Some((websocket, vec![on_open, on_message, on_close])));
    }

    /// The agent chooses a presence: shown at once, and sent.
    pub fn choose_presence(self, presence: Presence) {
        self.requested_presence.set_value(Some(presence));
        self.presence.set(presence);
        self.send(&AgentToServer::SetPresence { presence });
    }

    /// Sends a frame now, or as soon as the socket opens: a presence change or an Accept made while the
    /// console is still connecting must not be lost.
    pub fn send(self, frame: &AgentToServer) {
        if let Ok(text) = serde_json::to_string(frame) {
            self.send_text(text);
        }
    }

    fn send_text(self, text: String) {
        let sent = self.socket.with_value(|socket| match socket {
            Some((websocket, _)) if websocket.ready_state() == WebSocket::OPEN => {
                websocket.send_with_str(&text).is_ok()
            }
            _ => false,
        });
        if !sent {
            self.outbox.update_value(|outbox| outbox.push(text));
        }
    }

    /// The session of one conversation, recomputed only when it changes.
    pub fn session(self, conversation_id: String) -> Memo<Option<Session>> {
        Memo::new(move |_| {
            self.sessions.with(|sessions| {
                sessions
                    .iter()
                    .find(|session| session.view.conversation_id == conversation_id)
                    .cloned()
            })
        })
    }

    pub fn focus(self, conversation_id: Option<String>) {
        if let Some(id) = &conversation_id {
            self.sessions.update(|sessions| {
                if let Some(session) = sessions
                    .iter_mut()
                    .find(|session| &session.view.conversation_id == id)
                {
                    session.unread = 0;
                }
            });
        }
        self.focused.set(conversation_id);
    }

    pub fn send_message(self, conversation_id: &str) {
        let mut outgoing = None;
        self.sessions.update(|sessions| {
            if let Some(session) = sessions
                .iter_mut()
                .find(|session| session.view.conversation_id == conversation_id)
            {
                let body = std::mem::take(&mut session.draft);
                if body.trim().is_empty() {
                    return;
                }
                let client_message_id = random_hex();
                session
                    .pending
                    .push((client_message_id.clone(), body.clone()));
                outgoing = Some(AgentToServer::Send {
                    conversation_id: conversation_id.to_owned(),
                    client_message_id,
                    body,
                });
            }
        });
        if let Some(frame) = outgoing {
            self.send(&frame);
        }
    }

    fn on_frame(self, frame: ServerToAgent) {
        match frame {
            ServerToAgent::Welcome {
                username,
                presence,
                conversations,
                ..
            } => {
                self.username.set(username);
                let presence = self.requested_presence.get_value().unwrap_or(presence);
                self.presence.set(presence);
                self.shown_presence.set(presence);
                self.sessions.update(|sessions| {
                    for view in conversations {
                        upsert(sessions, view);
                    }
                });
            }
            ServerToAgent::Presence { presence, shown } => {
                self.requested_presence.set_value(None);
                self.presence.set(presence);
                self.shown_presence.set(shown);
            }
            ServerToAgent::TransferAnswered {
                to_username,
                accepted,
                ..
            } => self.notice.set(if accepted {
                format!("{to_username} accepted the transfer.")
            } else {
                format!("{to_username} did not accept the transfer.")
            }),
            // The Ongoing conversations dashboard reads these; the agent workspace does not.
            ServerToAgent::Ongoing { .. } => {}
            ServerToAgent::Offer { conversation, .. } => self.offers.update(|offers| {
                offers.retain(|offer| offer.conversation_id != conversation.conversation_id);
                offers.push(conversation);
            }),
            ServerToAgent::OfferWithdrawn { conversation_id } => {
                self.offers.update(|offers| {
                    offers.retain(|offer| offer.conversation_id != conversation_id)
                });
            }
            ServerToAgent::Conversation { conversation } => {
                let id = conversation.conversation_id.clone();
                self.offers
                    .update(|offers| offers.retain(|offer| offer.conversation_id != id));
                let mine = conversation.state != ConversationState::Open
                    && conversation.state != ConversationState::Closed
                    && conversation.agent_username.as_deref()
                        == Some(self.username.get_untracked().as_str());
                let mut is_new = false;
                self.sessions.update(|sessions| {
                    if mine
                        || sessions
                            .iter()
                            .any(|session| session.view.conversation_id == id)
                    {
                        is_new = upsert(sessions, conversation.clone());
                    }
                    if !mine {
                        // Closed, or back in its queue: the session is over for this agent.
                        sessions.retain(|session| session.view.conversation_id != id);
                    }
                });
                if !mine && self.focused.get_untracked().as_deref() == Some(id.as_str()) {
                    self.focused.set(None);
                }
                if is_new && conversation.state == ConversationState::Active {
                    // Accepting a notification starts a session and loads its Active conversation.
                    self.focus(Some(id));
                }
            }
            ServerToAgent::Message {
                conversation_id,
                message,
            } => self.on_message(&conversation_id, message),
            ServerToAgent::Ack {
                conversation_id,
                client_message_id,
                ..
            } => self.sessions.update(|sessions| {
                if let Some(session) = sessions
                    .iter_mut()
                    .find(|session| session.view.conversation_id == conversation_id)
                {
                    session.pending.retain(|(id, _)| *id != client_message_id);
                }
            }),
            ServerToAgent::Error {
                code: protocol::ErrorCode::RateLimited,
                retry_after_ms,
                ..
            } => self.retry_later(retry_after_ms.unwrap_or(1000)),
            ServerToAgent::Error { message, .. } => {
                // A refused choice is not waiting any more: the next Welcome says what holds.
                self.requested_presence.set_value(None);
                self.notice.set(message);
            }
            ServerToAgent::SignedOut { reason } => self.sign_out(reason),
        }
    }

    /// The session ended: no reconnecting, back to the login screen with the reason.
    fn sign_out(self, reason: String) {
        let reason = if reason.is_empty() {
            protocol::SIGNED_OUT_REASON.to_owned()
        } else {
            reason
        };
        self.signed_out.set(Some(reason));
        if let Some((websocket, _)) = self.socket.try_update_value(Option::take).flatten() {
            let _ = websocket.close();
        }
    }

    /// A rate limit refused a message: every message not yet acknowledged goes again after the wait,
    /// with its id, so none is stored twice. The agent is told, and nothing is lost meanwhile.
    fn retry_later(self, retry_after_ms: u64) {
        if self.retry_scheduled.get_value() {
            return;
        }
        self.retry_scheduled.set_value(true);
        let seconds = retry_after_ms.div_ceil(1000).max(1);
        self.notice.set(format!(
            "You are sending messages faster than allowed. Yours go out again in {seconds} s."
        ));
        set_timeout(
            move || {
                self.retry_scheduled.set_value(false);
                self.notice.set(String::new());
                let frames: Vec<AgentToServer> = self.sessions.with_untracked(|sessions| {
                    sessions
                        .iter()
                        .flat_map(|session| {
                            session
                                .pending
                                .iter()
                                .map(|(id, body)| AgentToServer::Send {
                                    conversation_id: session.view.conversation_id.clone(),
                                    client_message_id: id.clone(),
                                    body: body.clone(),
                                })
                        })
                        .collect()
                });
                for frame in &frames {
                    self.send(frame);
                }
            },
            Duration::from_millis(retry_after_ms.clamp(100, 60_000)),
        );
    }

    fn on_message(self, conversation_id: &str, message: ChatMessage) {
        let focused = self.focused.get_untracked();
        self.sessions.update(|sessions| {
            let Some(session) = sessions
                .iter_mut()
                .find(|session| session.view.conversation_id == conversation_id)
            else {
                return;
            };
            if session
                .view
                .messages
                .iter()
                .any(|existing| existing.seq == message.seq)
            {
                return;
            }
            session
                .pending
                .retain(|(id, _)| *id != message.client_message_id);
            if focused.as_deref() != Some(conversation_id) {
                session.unread += 1;
            }
            session.view.messages.push(message);
            session.view.messages.sort_by_key(|message| message.seq);
        });
    }
}

/// Inserts or refreshes a session; returns whether it was new. Drafts and unread counts survive.
fn upsert(sessions: &mut Vec<Session>, view: ConversationView) -> bool {
    if let Some(session) = sessions
        .iter_mut()
        .find(|session| session.view.conversation_id == view.conversation_id)
    {
        session.view = view;
        return false;
    }
    sessions.push(Session {
        view,
        unread: 0,
        draft: String::new(),
        pending: Vec::new(),
        tab: Tab::Conversation,
    });
    true
}

fn random_hex() -> String {
    let mut buffer = [0u8; 16];
    if let Some(crypto) = web_sys::window().and_then(|window| window.crypto().ok()) {
        let _ = crypto.get_random_values_with_u8_array(&mut buffer);
    }
    buffer.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// What the unread badge shows: the count, or `9+` from ten on.
pub fn unread_badge(unread: u32) -> String {
    if unread >= 10 {
        "9+".to_owned()
    } else {
        unread.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::unread_badge;

    #[test]
    fn badge_caps_at_nine_plus() {
        assert_eq!(unread_badge(1), "1");
        assert_eq!(unread_badge(9), "9");
        assert_eq!(unread_badge(10), "9+");
        assert_eq!(unread_badge(250), "9+");
    }
}
