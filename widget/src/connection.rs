//! The chat module's connection: the controller owns the chat socket, sends the `start_chat` the first
//! module handed over, sends again what the server has not stored, and keeps the panel's signals up to
//! date from the server's frames, through the plain `conversation` types.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;

use leptos::prelude::*;
use protocol::typing::{self, TypingNotices};
use protocol::{Author, ConversationState, ErrorCode, ServerToVisitor, VisitorToServer};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::Closure;
use web_sys::{MessageEvent, WebSocket};

use crate::bridge::{Bridge, Layout};
use crate::browser::{self, CHAT_FLAG, LAUNCH_FLAG, START_FRAME, random_hex};
use crate::conversation::{Heading, Transcript, heading};
use crate::text;

/// The controller as components hold it: a `Copy` handle to a value that stays on this thread.
pub type Handle = StoredValue<Rc<Controller>, LocalStorage>;

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
    pub transcript: RwSignal<Transcript>,
    /// What the header says: the agent, or where the visitor stands.
    pub heading: RwSignal<Heading>,
    /// A problem or a wait to tell the visitor ("Reconnecting…"); empty when all is well.
    pub notice: RwSignal<String>,
    pub state: RwSignal<Option<ConversationState>>,
    pub offline: RwSignal<Offline>,
    /// Messages from the team the visitor has not seen: they arrived while the panel was minimised.
    pub unread: RwSignal<u32>,
    /// The panel is folded into its button.
    pub minimised: RwSignal<bool>,
    /// Who on the team is typing to the visitor.
    pub typing: RwSignal<Option<String>>,
}

impl Ui {
    pub fn new() -> Ui {
        Ui {
            transcript: RwSignal::new(Transcript::default()),
            heading: RwSignal::new(heading(None, None, None)),
            notice: RwSignal::new(String::new()),
            state: RwSignal::new(None),
            offline: RwSignal::new(Offline::NotInvited),
            unread: RwSignal::new(0),
            minimised: RwSignal::new(browser::session_get(MINIMISED).is_some()),
            typing: RwSignal::new(None),
        }
    }
}

/// Remembered for this tab while a chat is open, so the next page shows the panel as it was.
pub const MINIMISED: &str = "beckon.chat.minimised";
pub const DRAFT: &str = "beckon.chat.draft";
/// Where the visitor scrolled the transcript up to (pixels from its top), while they read back; absent
/// while they follow the newest message.
pub const SCROLL: &str = "beckon.chat.scroll";

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
    /// The visitor opened the panel themselves (accepting, or unfolding it): it may take the focus.
    /// A page's load showing a chat in progress never does.
    focus_allowed: Cell<bool>,
    /// When to tell the agent the visitor is typing, and when they stopped.
    typing_notices: RefCell<TypingNotices>,
    /// Counts the team's typing notices, so a notice's timeout clears only its own.
    typing_heard: Cell<u64>,
}

struct Socket {
    websocket: WebSocket,
    // Kept so the callbacks live exactly as long as the socket.
    _callbacks: Vec<Closure<dyn FnMut(wasm_bindgen::JsValue)>>,
}

impl Drop for Socket {
    /// The socket lets go of its callbacks before they are dropped: a `close` event that arrives after
    /// the visitor left would otherwise call a dropped closure and throw into the page.
    fn drop(&mut self) {
        self.websocket.set_onopen(None);
        self.websocket.set_onmessage(None);
        self.websocket.set_onclose(None);
    }
}

impl Controller {
    pub fn boot(ui: Ui) -> Rc<Controller> {
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
                    String,
                )>(&bytes.to_vec())
                .ok()
            })
            .map(
                |(rule_id, context, dropped, token)| VisitorToServer::StartChat {
                    // Empty for a chat from the site's button.
                    rule_id: Some(rule_id).filter(|rule_id| !rule_id.is_empty()),
                    context,
                    dropped,
                    journey: browser::journey(&site_id),
                    // The site's signed identity, for the server to verify; none from an anonymous page.
                    identity_token: Some(token).filter(|token| !token.is_empty()),
                    // The language the server chose for this visitor and wrote on the page.
                    language: web_sys::window()
                        .and_then(|window| window.document())
                        .and_then(|document| document.document_element())
                        .and_then(|html| html.get_attribute("lang"))
                        .filter(|language| !language.is_empty()),
                },
            );
        let accepted_here = start_frame.is_some();
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
            focus_allowed: Cell::new(accepted_here),
            typing_notices: RefCell::new(TypingNotices::default()),
            typing_heard: Cell::new(0),
        });
        controller.lay_out(controller.ui.minimised.get_untracked());
        controller.connect();
        controller
    }

    /// Whether the panel may move the focus into itself.
    pub fn focus_allowed(&self) -> bool {
        self.focus_allowed.get()
    }

    /// The visitor folds the panel into its button (`true`) or opens it; remembered for the next page.
    pub fn show(&self, minimised: bool) {
        self.focus_allowed.set(true);
        self.lay_out(minimised);
    }

    fn lay_out(&self, minimised: bool) {
        self.ui.minimised.set(minimised);
        if minimised {
            browser::session_set(MINIMISED, "1");
            self.bridge.layout(Layout::Minimised);
        } else {
            browser::session_remove(MINIMISED);
            self.ui.unread.set(0);
            self.bridge.layout(Layout::Chat);
        }
    }

    /// After the chat ended, the visitor asks for a new one: the fresh first module opens it as the
    /// chat button would, with the page's context variables.
    pub fn start_new_chat(&self) {
        browser::session_set(LAUNCH_FLAG, "1");
        self.leave_chat();
    }

    /// Leaves the chat for good (after the visitor closes an ended chat): the page goes back to watching.
    pub fn leave_chat(&self) {
        self.left.set(true);
        browser::local_remove(CHAT_FLAG);
        browser::session_remove(MINIMISED);
        browser::session_remove(DRAFT);
        browser::session_remove(SCROLL);
        if let Some(socket) = self.socket.take() {
            let _ = socket.websocket.close();
        }
        self.bridge.layout(Layout::Hidden);
        // A fresh first module watches the rest of the visit.
        if let Some(window) = web_sys::window() {
            let _ = window.location().reload();
        }
    }

    /// The composer changed: tell the agent the visitor is typing (throttled), or stopped when it
    /// emptied or went quiet. Never what they type.
    pub fn composing(self: &Rc<Self>, empty: bool) {
        let now = js_sys::Date::now() as i64;
        if empty {
            if self.typing_notices.borrow_mut().stop() {
                self.send(&VisitorToServer::Typing { typing: false });
            }
            return;
        }
        if self.typing_notices.borrow_mut().input(now) {
            self.send(&VisitorToServer::Typing { typing: true });
        }
        let weak = Rc::downgrade(self);
        set_timeout(
            move || {
                if let Some(controller) = weak.upgrade()
                    && controller
                        .typing_notices
                        .borrow_mut()
                        .idle(js_sys::Date::now() as i64)
                {
                    controller.send(&VisitorToServer::Typing { typing: false });
                }
            },
            Duration::from_millis(typing::IDLE_MS.unsigned_abs()),
        );
    }

    pub fn send_message(self: &Rc<Self>, body: String) {
        let client_message_id = random_hex(16);
        self.ui.transcript.update(|transcript| {
            transcript.add_own(
                client_message_id.clone(),
                body.clone(),
                js_sys::Date::now() as i64,
            );
        });
        self.send(&VisitorToServer::Send {
            client_message_id,
            body,
        });
        if self.typing_notices.borrow_mut().stop() {
            self.send(&VisitorToServer::Typing { typing: false });
        }
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
        self.ui.notice.set(String::new());
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
        let unstored = self.ui.transcript.with_untracked(Transcript::unstored);
        for (client_message_id, body) in unstored {
            self.send(&VisitorToServer::Send {
                client_message_id,
                body,
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
        self.ui.notice.set(text::say("reconnecting"));
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
                refusal: Some(visitor_text(code, true)),
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
            self.ui.notice.set(visitor_text(code, false));
            self.retry_later(retry_after_ms);
            return;
        }
        if let Some(client_message_id) = client_message_id {
            // A refused message will never be accepted as it is: stop retrying it.
            self.ui
                .transcript
                .update(|transcript| transcript.refused(&client_message_id));
        }
        self.ui.notice.set(visitor_text(code, false));
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
                retrying.ui.notice.set(String::new());
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
                self.ui
                    .heading
                    .set(heading(Some(state), agent_name.as_deref(), queue_position));
            }
            ServerToVisitor::Typing { typing, name } => {
                let heard = self.typing_heard.get() + 1;
                self.typing_heard.set(heard);
                self.ui.typing.set(typing.then_some(name));
                // No news for a while: the stop was lost (a closed console); stop showing it.
                let weak = Rc::downgrade(self);
                set_timeout(
                    move || {
                        if let Some(controller) = weak.upgrade()
                            && controller.typing_heard.get() == heard
                        {
                            controller.ui.typing.set(None);
                        }
                    },
                    Duration::from_millis(typing::SHOWN_MS.unsigned_abs()),
                );
            }
            ServerToVisitor::Message { message } => {
                self.received.borrow_mut().received(message.seq);
                if message.author == Author::Agent {
                    self.ui.typing.set(None);
                }
                let theirs = self
                    .ui
                    .transcript
                    .try_update(|transcript| transcript.received(message))
                    .unwrap_or(false);
                if theirs && self.ui.minimised.get_untracked() {
                    self.ui.unread.update(|unread| *unread += 1);
                }
            }
            ServerToVisitor::Ack {
                client_message_id,
                seq,
            } => {
                self.received.borrow_mut().received(seq);
                self.ui
                    .transcript
                    .update(|transcript| transcript.acknowledged(&client_message_id, seq));
            }
            ServerToVisitor::OfflineMessageInvited { prompt, .. } => {
                self.ui.state.set(Some(ConversationState::Closed));
                self.ui
                    .heading
                    .set(heading(Some(ConversationState::Closed), None, None));
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
            // The site's problem, not the visitor's: the chat goes on as anonymous, and the site's
            // developer reads why in the console.
            ServerToVisitor::Error {
                code: ErrorCode::IdentityRefused,
                message,
                ..
            } => web_sys::console::warn_1(&format!("beckon: {message}").into()),
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
fn visitor_text(code: ErrorCode, offline: bool) -> String {
    match code {
        ErrorCode::RateLimited if offline => text::say("error-offline-rate-limited"),
        ErrorCode::RateLimited => text::say("error-rate-limited"),
        ErrorCode::BadRequest if offline => text::say("error-offline-bad-request"),
        ErrorCode::MessageTooLarge => text::say("error-too-long"),
        ErrorCode::EmptyMessage => text::say("error-empty"),
        ErrorCode::NoConversation
        | ErrorCode::UnknownConversation
        | ErrorCode::TransitionNotAllowed => text::say("error-ended"),
        ErrorCode::IdConflict if offline => text::say("error-offline-duplicate"),
        _ => text::say("error-other"),
    }
}
