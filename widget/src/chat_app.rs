//! The chat module's controller and root component: it owns the chat socket, sends the `start_chat` the
//! first module handed over, retries unacknowledged messages, and keeps the UI's signals up to date.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;

use leptos::prelude::*;
use protocol::{Author, ConversationState, ErrorCode, ServerToVisitor, VisitorToServer};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::Closure;
use web_sys::{MessageEvent, WebSocket};

use crate::bridge::{Bridge, Layout};
use crate::browser::{self, CHAT_FLAG, START_FRAME, random_hex};
use crate::chat::Chat;

/// The controller as components hold it: a `Copy` handle to a value that stays on this thread.
pub type Handle = StoredValue<Rc<Controller>, LocalStorage>;

/// One line of the chat transcript.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    pub client_message_id: String,
    pub seq: i64,
    pub author: Author,
    pub author_name: String,
    pub body: String,
    pub pending: bool,
}

/// Where the visitor stands with an offline message, after overflow ended their chat.
#[derive(Debug, Clone, PartialEq)]
pub enum Offline {
    /// No invitation to leave one.
    NotInvited,
    /// Overflow ended the chat and invites a message; `refusal` is why the last attempt was refused.
    Invited {
        prompt: String,
        refusal: Option<String>,
    },
    /// Sent, not yet stored.
    Sending { prompt: String },
    /// Stored: the team will answer at this address.
    Stored { email: String },
}

impl Offline {
    fn prompt(&self) -> String {
        match self {
            Offline::Invited { prompt, .. } | Offline::Sending { prompt } => prompt.clone(),
            Offline::NotInvited | Offline::Stored { .. } => String::new(),
        }
    }
}

/// The signals the components read.
#[derive(Clone, Copy)]
pub struct Ui {
    pub lines: RwSignal<Vec<Line>>,
    pub status: RwSignal<String>,
    pub state: RwSignal<Option<ConversationState>>,
    pub offline: RwSignal<Offline>,
}

pub struct Controller {
    pub ui: Ui,
    bridge: Bridge,
    site_id: String,
    visitor_id: String,
    socket: RefCell<Option<Socket>>,
    /// The `start_chat` to send once the socket opens; none when resuming a chat from an earlier page.
    start_frame: RefCell<Option<VisitorToServer>>,
    /// The messages received, so a resume asks for the first one missing rather than after the highest
    /// seen: live frames can arrive out of order.
    received: RefCell<protocol::ReceivedThrough>,
    reconnect_delay_ms: Cell<u64>,
    /// The visitor left the chat: no reconnecting.
    left: Cell<bool>,
    /// The visitor selected End while the socket was not open.
    end_requested: Cell<bool>,
    /// The offline message sent and not yet stored; it goes again, with the same id, after a reconnect.
    pending_offline: RefCell<Option<VisitorToServer>>,
    /// The `start_chat` sent and not yet answered with the conversation: a rate limit's refusal sends
    /// it again.
    unconfirmed_start: RefCell<Option<VisitorToServer>>,
    /// A retry after a rate limit is waiting.
    retry_scheduled: Cell<bool>,
    /// What the status said before a rate limit's notice replaced it.
    status_before_wait: RefCell<Option<String>>,
}

struct Socket {
    websocket: WebSocket,
    // Kept so the callbacks live exactly as long as the socket.
    _callbacks: Vec<Closure<dyn FnMut(wasm_bindgen::JsValue)>>,
}

#[component]
pub fn App() -> impl IntoView {
    let ui = Ui {
        lines: RwSignal::new(Vec::new()),
        status: RwSignal::new("Connecting you with an agent…".to_owned()),
        state: RwSignal::new(None),
        offline: RwSignal::new(Offline::NotInvited),
    };
    let controller: Handle = StoredValue::new_local(Controller::boot(ui));
    view! { <Chat controller=controller /> }
}

impl Controller {
    fn boot(ui: Ui) -> Rc<Controller> {
        let (site_id, parent) = browser::site_and_parent();
        // The first module hands over the rule and the context variables, in the binary form.
        let start_frame = browser::take_window_property(START_FRAME)
            .dyn_into::<js_sys::Uint8Array>()
            .ok()
            .and_then(|bytes| {
                protocol::binary::decode::<(
                    String,
                    protocol::ContextVariables,
                    Vec<protocol::context::DroppedVariable>,
                )>(&bytes.to_vec())
                .ok()
            })
            .map(|(rule_id, context, dropped)| VisitorToServer::StartChat {
                rule_id,
                context,
                dropped,
            });
        let controller = Rc::new(Controller {
            ui,
            bridge: Bridge::new(parent),
            site_id,
            visitor_id: browser::visitor_id(),
            socket: RefCell::new(None),
            start_frame: RefCell::new(start_frame),
            received: RefCell::new(protocol::ReceivedThrough::default()),
            reconnect_delay_ms: Cell::new(500),
            left: Cell::new(false),
            end_requested: Cell::new(false),
            pending_offline: RefCell::new(None),
            unconfirmed_start: RefCell::new(None),
            retry_scheduled: Cell::new(false),
            status_before_wait: RefCell::new(None),
        });
        controller.bridge.layout(Layout::Chat);
        controller.connect();
        controller
    }

    /// Leaves the chat for good (after the visitor closes an ended chat): the page goes back to watching.
    pub fn leave_chat(&self) {
        self.left.set(true);
        browser::local_remove(CHAT_FLAG);
        if let Some(socket) = self.socket.take() {
            let _ = socket.websocket.close();
        }
        self.bridge.layout(Layout::Hidden);
        // A fresh first module watches the rest of the visit.
        if let Some(window) = web_sys::window() {
            let _ = window.location().reload();
        }
    }

    pub fn send_message(self: &Rc<Self>, body: String) {
        let client_message_id = random_hex(16);
        self.ui.lines.update(|lines| {
            lines.push(Line {
                client_message_id: client_message_id.clone(),
                seq: 0,
                author: Author::Visitor,
                author_name: String::new(),
                body: body.clone(),
                pending: true,
            });
        });
        self.send(&VisitorToServer::Send {
            client_message_id,
            body,
        });
    }

    /// Leaves the offline message the ended chat invites; it is stored once however often it is sent.
    pub fn leave_offline_message(self: &Rc<Self>, name: String, email: String, body: String) {
        let frame = VisitorToServer::LeaveOfflineMessage {
            client_message_id: random_hex(16),
            name,
            email,
            body,
        };
        let prompt = self.ui.offline.with_untracked(Offline::prompt);
        self.ui.offline.set(Offline::Sending { prompt });
        self.send(&frame);
        self.pending_offline.replace(Some(frame));
        if self.socket.borrow().is_none() {
            self.connect();
        }
    }

    pub fn end_chat(self: &Rc<Self>) {
        self.send(&VisitorToServer::End);
    }

    fn send(&self, frame: &VisitorToServer) {
        let socket = self.socket.borrow();
        let open = socket
            .as_ref()
            .filter(|socket| socket.websocket.ready_state() == WebSocket::OPEN);
        let sent = match (open, serde_json::to_string(frame)) {
            (Some(socket), Ok(text)) => socket.websocket.send_with_str(&text).is_ok(),
            _ => false,
        };
        // Unsent chat messages stay pending and go out again when the socket opens; an End waits too.
        if !sent && matches!(frame, VisitorToServer::End) {
            self.end_requested.set(true);
        }
    }

    fn connect(self: &Rc<Self>) {
        if self.socket.borrow().is_some() {
            if let Some(frame) = self.start_frame.take() {
                self.send(&frame);
                self.unconfirmed_start.replace(Some(frame));
            }
            return;
        }
        let Some(location) = web_sys::window().map(|window| window.location()) else {
            return;
        };
        let scheme = if location.protocol().ok().as_deref() == Some("https:") {
            "wss"
        } else {
            "ws"
        };
        let host = location.host().unwrap_or_default();
        let url = format!(
            "{scheme}://{host}/ws/visitor?site={}&visitor={}",
            self.site_id, self.visitor_id
        );
        let Ok(websocket) = WebSocket::new(&url) else {
            return;
        };
        let weak = Rc::downgrade(self);
        let on_open = Closure::<dyn FnMut(wasm_bindgen::JsValue)>::new({
            let weak = weak.clone();
            move |_| {
                if let Some(controller) = weak.upgrade() {
                    controller.on_open();
                }
            }
        });
        let on_message = Closure::<dyn FnMut(wasm_bindgen::JsValue)>::new({
            let weak = weak.clone();
            move |event: wasm_bindgen::JsValue| {
                let Some(controller) = weak.upgrade() else {
                    return;
                };
                let Some(text) = event
                    .dyn_ref::<MessageEvent>()
                    .and_then(|event| event.data().as_string())
                else {
                    return;
                };
                if let Ok(frame) = serde_json::from_str::<ServerToVisitor>(&text) {
                    controller.on_frame(frame);
                }
            }
        });
        let on_close = Closure::<dyn FnMut(wasm_bindgen::JsValue)>::new(move |_| {
            if let Some(controller) = weak.upgrade() {
                controller.on_close();
            }
        });
        websocket.set_onopen(Some(on_open.as_ref().unchecked_ref()));
        websocket.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        websocket.set_onclose(Some(on_close.as_ref().unchecked_ref()));
        self.socket.replace(Some(Socket {
            websocket,
            _callbacks: vec![on_open, on_message, on_close],
        }));
    }

    fn on_open(self: &Rc<Self>) {
        self.reconnect_delay_ms.set(500);
        if let Some(frame) = self.start_frame.take() {
            self.unconfirmed_start.replace(Some(frame));
        } else if self.ui.offline.get_untracked() == Offline::NotInvited
            && self.unconfirmed_start.borrow().is_none()
        {
            self.send(&VisitorToServer::Resume {
                after_seq: self.received.borrow().resume_after(),
            });
        }
        self.send_unacknowledged();
    }

    /// Sends what the server has not confirmed: the chat's start, messages never acknowledged (with
    /// the same ids; the server stores each once), an End, and the offline message.
    fn send_unacknowledged(self: &Rc<Self>) {
        if let Some(frame) = self.unconfirmed_start.borrow().as_ref() {
            self.send(frame);
        }
        let unacknowledged: Vec<Line> = self
            .ui
            .lines
            .get_untracked()
            .into_iter()
            .filter(|line| line.pending)
            .collect();
        for line in unacknowledged {
            self.send(&VisitorToServer::Send {
                client_message_id: line.client_message_id,
                body: line.body,
            });
        }
        if self.end_requested.replace(false) {
            self.send(&VisitorToServer::End);
        }
        if let Some(frame) = self.pending_offline.borrow().as_ref() {
            self.send(frame);
        }
    }

    fn on_close(self: &Rc<Self>) {
        self.socket.replace(None);
        let ended = self.ui.state.get_untracked() == Some(ConversationState::Closed);
        if self.left.get() || (ended && self.pending_offline.borrow().is_none()) {
            return;
        }
        self.ui.status.set("Reconnecting…".to_owned());
        let delay = self.reconnect_delay_ms.get();
        self.reconnect_delay_ms.set((delay * 2).min(10_000));
        let reconnecting = Rc::clone(self);
        set_timeout(move || reconnecting.connect(), Duration::from_millis(delay));
    }

    /// A refusal, told in words for a visitor: the server's message is for developers and never shown.
    /// A rate limit's refusal is tried again by itself once the wait it names is over.
    fn on_error(
        self: &Rc<Self>,
        code: ErrorCode,
        client_message_id: Option<String>,
        retry_after_ms: Option<u64>,
    ) {
        if code == ErrorCode::NoConversation
            && self.ui.offline.get_untracked() != Offline::NotInvited
        {
            // Nothing to resume: the chat ended and only the offline message remains.
            return;
        }
        let offline_refused = self.pending_offline.borrow().as_ref().is_some_and(|frame| {
            matches!(frame, VisitorToServer::LeaveOfflineMessage { client_message_id: pending, .. }
                if Some(pending) == client_message_id.as_ref())
        });
        if offline_refused && code == ErrorCode::RateLimited {
            self.retry_later(retry_after_ms);
            return;
        }
        if offline_refused {
            self.pending_offline.replace(None);
            let prompt = self.ui.offline.with_untracked(Offline::prompt);
            self.ui.offline.set(Offline::Invited {
                prompt,
                refusal: Some(visitor_text(code, true).to_owned()),
            });
            return;
        }
        if code == ErrorCode::NoConversation && self.ui.state.get_untracked().is_none() {
            // The chat this browser remembered is gone.
            self.leave_chat();
            return;
        }
        if code == ErrorCode::RateLimited {
            // The message stays pending, or the start waits: both go again after the wait.
            if self.status_before_wait.borrow().is_none() {
                self.status_before_wait
                    .replace(Some(self.ui.status.get_untracked()));
            }
            self.ui.status.set(visitor_text(code, false).to_owned());
            self.retry_later(retry_after_ms);
            return;
        }
        if let Some(client_message_id) = client_message_id {
            // A refused message will never be accepted as it is: stop retrying it.
            self.ui
                .lines
                .update(|lines| lines.retain(|line| line.client_message_id != client_message_id));
        }
        self.ui.status.set(visitor_text(code, false).to_owned());
    }

    /// Sends again, after `retry_after_ms`, what a rate limit refused: the chat's start, the messages
    /// not yet acknowledged (with their ids, so none is stored twice) and the offline message.
    fn retry_later(self: &Rc<Self>, retry_after_ms: Option<u64>) {
        if self.retry_scheduled.replace(true) {
            return;
        }
        let delay = retry_after_ms.unwrap_or(1000).clamp(100, 60_000);
        let retrying = Rc::clone(self);
        set_timeout(
            move || {
                retrying.retry_scheduled.set(false);
                if let Some(status) = retrying.status_before_wait.take() {
                    retrying.ui.status.set(status);
                }
                retrying.send_unacknowledged();
            },
            Duration::from_millis(delay),
        );
    }

    fn on_frame(self: &Rc<Self>, frame: ServerToVisitor) {
        match frame {
            ServerToVisitor::Conversation {
                state,
                agent_name,
                queue_position,
                ..
            } => {
                self.unconfirmed_start.replace(None);
                self.ui.state.set(Some(state));
                let status = match state {
                    ConversationState::Open => match queue_position {
                        Some(position) => {
                            format!("Waiting for an agent… you are number {position} in the queue.")
                        }
                        None => "Waiting for an agent…".to_owned(),
                    },
                    ConversationState::Active => match agent_name {
                        Some(name) => format!("You are chatting with {name}."),
                        None => "You are chatting with an agent.".to_owned(),
                    },
                    ConversationState::Waiting => "We'll get back to you here.".to_owned(),
                    ConversationState::WrapUp | ConversationState::Closed => {
                        "This chat has ended.".to_owned()
                    }
                };
                self.ui.status.set(status);
            }
            ServerToVisitor::Message { message } => {
                self.received.borrow_mut().received(message.seq);
                self.ui.lines.update(|lines| {
                    let existing = lines.iter_mut().find(|line| {
                        line.client_message_id == message.client_message_id
                            && line.author == message.author
                    });
                    match existing {
                        Some(line) => {
                            line.seq = message.seq;
                            line.pending = false;
                        }
                        None => lines.push(Line {
                            client_message_id: message.client_message_id,
                            seq: message.seq,
                            author: message.author,
                            author_name: message.author_name,
                            body: message.body,
                            pending: false,
                        }),
                    }
                    lines.sort_by_key(|line| if line.pending { i64::MAX } else { line.seq });
                });
            }
            ServerToVisitor::Ack {
                client_message_id,
                seq,
            } => {
                self.received.borrow_mut().received(seq);
                self.ui.lines.update(|lines| {
                    if let Some(line) = lines.iter_mut().find(|line| {
                        line.client_message_id == client_message_id
                            && line.author == Author::Visitor
                    }) {
                        line.seq = seq;
                        line.pending = false;
                    }
                    lines.sort_by_key(|line| if line.pending { i64::MAX } else { line.seq });
                });
            }
            ServerToVisitor::OfflineMessageInvited { prompt, .. } => {
                self.ui.state.set(Some(ConversationState::Closed));
                self.ui.status.set("This chat has ended.".to_owned());
                if self.pending_offline.borrow().is_none() {
                    self.ui.offline.set(Offline::Invited {
                        prompt,
                        refusal: None,
                    });
                }
            }
            ServerToVisitor::OfflineMessageStored { client_message_id } => {
                let stored = self
                    .pending_offline
                    .borrow()
                    .as_ref()
                    .and_then(|frame| match frame {
                        VisitorToServer::LeaveOfflineMessage {
                            client_message_id: pending,
                            email,
                            ..
                        } if *pending == client_message_id => Some(email.trim().to_owned()),
                        _ => None,
                    });
                if let Some(email) = stored {
                    self.pending_offline.replace(None);
                    self.ui.offline.set(Offline::Stored { email });
                }
            }
            ServerToVisitor::Error {
                code,
                client_message_id,
                retry_after_ms,
                ..
            } => self.on_error(code, client_message_id, retry_after_ms),
        }
    }
}

/// What the visitor reads when the server refuses something: plain words, never the server's message,
/// which is written for developers. `offline` words it for the offline message form.
fn visitor_text(code: ErrorCode, offline: bool) -> &'static str {
    match code {
        ErrorCode::RateLimited if offline => {
            "You have sent several messages already. Please wait a moment before sending another."
        }
        ErrorCode::RateLimited => "You're sending messages quickly. We'll send yours in a moment.",
        ErrorCode::BadRequest if offline => {
            "Please check your name, your email address and your message."
        }
        ErrorCode::MessageTooLarge => {
            "That message is too long. Please shorten it and send it again."
        }
        ErrorCode::EmptyMessage => "Please write a message first.",
        ErrorCode::NoConversation
        | ErrorCode::UnknownConversation
        | ErrorCode::TransitionNotAllowed => "This chat has ended.",
        ErrorCode::IdConflict if offline => "You have already left a message for this chat.",
        _ => "Sorry, something went wrong on our side. Please try again in a moment.",
    }
}
