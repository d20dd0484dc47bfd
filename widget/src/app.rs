//! The widget's controller and root component: it joins the page bridge, the rules, the invitation's
//! timer and the chat socket, and keeps the UI's signals up to date.

use std::cell::{Cell, RefCell};
use std::collections::BTreeSet;
use std::rc::Rc;
use std::time::Duration;

use leptos::prelude::*;
use protocol::{
    Author, ContextValue, ContextVariables, ConversationState, ServerToVisitor, SiteConfig,
    VisitorToServer,
};
use rules::RuleSet;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::Closure;
use wasm_bindgen_futures::JsFuture;
use web_sys::{CloseEvent, MessageEvent, WebSocket};

use crate::bridge::{Bridge, ContextRequests, FromPage, Layout};
use crate::chat::Chat;
use crate::invitation::InvitationCard;
use crate::visit::Visit;

/// The controller as components hold it: a `Copy` handle to a value that stays on this thread.
pub type Handle = StoredValue<Rc<Controller>, LocalStorage>;

/// What the iframe shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Idle,
    Invited,
    Chat,
}

#[derive(Debug, Clone, PartialEq)]
pub struct InvitationView {
    pub rule_id: String,
    pub text: String,
}

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

/// The signals the components read.
#[derive(Clone, Copy)]
pub struct Ui {
    pub mode: RwSignal<Mode>,
    pub invitation: RwSignal<Option<InvitationView>>,
    pub lines: RwSignal<Vec<Line>>,
    pub status: RwSignal<String>,
    pub state: RwSignal<Option<ConversationState>>,
}

pub struct Controller {
    pub ui: Ui,
    bridge: Bridge,
    site_id: String,
    visitor_id: String,
    rules: RefCell<Option<RuleSet>>,
    visit: RefCell<Option<Visit>>,
    shown: RefCell<BTreeSet<String>>,
    context_requests: Rc<RefCell<ContextRequests>>,
    invitation_timer: RefCell<Option<leptos::prelude::TimeoutHandle>>,
    socket: RefCell<Option<Socket>>,
    /// A StartChat to send once the socket opens.
    start_frame: RefCell<Option<VisitorToServer>>,
    last_seq: Cell<i64>,
    reconnect_delay_ms: Cell<u64>,
}

struct Socket {
    websocket: WebSocket,
    // Kept so the callbacks live exactly as long as the socket.
    _callbacks: Vec<Closure<dyn FnMut(JsValueEvent)>>,
}

type JsValueEvent = wasm_bindgen::JsValue;

const CHAT_FLAG: &str = "beckon.chat";
const VISITOR_KEY: &str = "beckon.visitor";

#[component]
pub fn App() -> impl IntoView {
    let ui = Ui {
        mode: RwSignal::new(Mode::Idle),
        invitation: RwSignal::new(None),
        lines: RwSignal::new(Vec::new()),
        status: RwSignal::new(String::new()),
        state: RwSignal::new(None),
    };
    let controller: Handle = StoredValue::new_local(Controller::boot(ui));
    view! {
        <Show when=move || ui.mode.get() == Mode::Invited>
            <InvitationCard controller=controller />
        </Show>
        <Show when=move || ui.mode.get() == Mode::Chat>
            <Chat controller=controller />
        </Show>
    }
}

impl Controller {
    fn boot(ui: Ui) -> Rc<Controller> {
        let location = web_sys::window().map(|window| window.location());
        let path = location
            .as_ref()
            .and_then(|location| location.pathname().ok())
            .unwrap_or_default();
        let search = location
            .as_ref()
            .and_then(|location| location.search().ok())
            .unwrap_or_default();
        let site_id = path.trim_start_matches("/widget/").to_owned();
        let parent_origin = web_sys::UrlSearchParams::new_with_str(&search)
            .ok()
            .and_then(|params| params.get("parent"))
            .unwrap_or_default();
        let controller = Rc::new_cyclic(|weak: &std::rc::Weak<Controller>| {
            let weak = weak.clone();
            let bridge = Bridge::connect(parent_origin, move |message| {
                if let Some(controller) = weak.upgrade() {
                    controller.on_page_message(message);
                }
            });
            Controller {
                ui,
                bridge,
                site_id,
                visitor_id: visitor_id(),
                rules: RefCell::new(None),
                visit: RefCell::new(None),
                shown: RefCell::new(BTreeSet::new()),
                context_requests: Rc::new(RefCell::new(ContextRequests::default())),
                invitation_timer: RefCell::new(None),
                socket: RefCell::new(None),
                start_frame: RefCell::new(None),
                last_seq: Cell::new(0),
                reconnect_delay_ms: Cell::new(500),
            }
        });
        controller.bridge.ready();
        let loading = Rc::clone(&controller);
        leptos::task::spawn_local(async move {
            match fetch_config(&loading.site_id).await {
                Some(config) => {
                    loading.rules.replace(Some(config.rules));
                    loading.tick();
                }
                None => {
                    web_sys::console::warn_1(&"beckon: cannot load the site configuration".into())
                }
            }
        });
        let ticking = Rc::clone(&controller);
        set_interval(move || ticking.tick(), Duration::from_secs(1));
        if local_get(CHAT_FLAG).is_some() {
            controller.enter_chat();
            controller.connect();
        }
        controller
    }

    fn on_page_message(self: &Rc<Self>, message: FromPage) {
        match message {
            FromPage::Page {
                url,
                path,
                language,
                visible,
            } => {
                self.visit.replace(Some(Visit::page_view(
                    url,
                    path,
                    language,
                    visible,
                    now_ms(),
                )));
                self.tick();
            }
            FromPage::Visibility { visible } => {
                if let Some(visit) = self.visit.borrow_mut().as_mut() {
                    visit.set_visible(visible, now_ms());
                }
            }
            FromPage::Context { id, vars } => {
                ContextRequests::answer(&self.context_requests, id, vars)
            }
        }
    }

    /// Evaluates the rules and shows an invitation when one fires.
    fn tick(self: &Rc<Self>) {
        if self.ui.mode.get_untracked() != Mode::Idle {
            return;
        }
        let rules = self.rules.borrow();
        let visit = self.visit.borrow();
        let (Some(rule_set), Some(visit)) = (rules.as_ref(), visit.as_ref()) else {
            return;
        };
        let state = visit.state(now_ms());
        let shown = self.shown.borrow();
        let unshown = RuleSet {
            rules: rule_set
                .rules
                .iter()
                .filter(|rule| !shown.contains(&rule.id))
                .cloned()
                .collect(),
        };
        let Some(rule) = rules::first_firing(&unshown, &state) else {
            return;
        };
        let view = InvitationView {
            rule_id: rule.id.clone(),
            text: rule.invitation.for_language(&visit.language).to_owned(),
        };
        let seconds = rule.invitation_seconds;
        drop(shown);
        self.shown.borrow_mut().insert(view.rule_id.clone());
        self.show_invitation(view, seconds);
    }

    fn show_invitation(self: &Rc<Self>, view: InvitationView, seconds: u32) {
        self.ui.invitation.set(Some(view));
        self.ui.mode.set(Mode::Invited);
        self.bridge.layout(Layout::Invitation);
        let expiring = Rc::clone(self);
        let handle = set_timeout_with_handle(
            move || {
                if expiring.ui.mode.get_untracked() == Mode::Invited {
                    expiring.dismiss_invitation();
                }
            },
            Duration::from_secs(u64::from(seconds)),
        );
        if let Some(previous) = self.invitation_timer.replace(handle.ok()) {
            previous.clear();
        }
    }

    pub fn dismiss_invitation(&self) {
        if let Some(timer) = self.invitation_timer.take() {
            timer.clear();
        }
        self.ui.invitation.set(None);
        self.ui.mode.set(Mode::Idle);
        self.bridge.layout(Layout::Hidden);
    }

    pub fn accept_invitation(self: &Rc<Self>) {
        let Some(invitation) = self.ui.invitation.get_untracked() else {
            return;
        };
        if let Some(timer) = self.invitation_timer.take() {
            timer.clear();
        }
        self.enter_chat();
        self.ui
            .status
            .set("Connecting you with an agent…".to_owned());
        let (page_url, time_on_page) = {
            let visit = self.visit.borrow();
            visit
                .as_ref()
                .map(|visit| {
                    (
                        visit.url.clone(),
                        (visit.visible_ms(now_ms()) / 1000.0).floor(),
                    )
                })
                .unwrap_or_default()
        };
        let starting = Rc::clone(self);
        let answered = Rc::new(Cell::new(false));
        let answered_by_page = Rc::clone(&answered);
        let rule_id = invitation.rule_id.clone();
        let start = move |mut context: ContextVariables| {
            // The page's own variables never override what Beckon measured itself.
            context.insert("page_url".to_owned(), ContextValue::Text(page_url));
            context.insert(
                "time_on_page".to_owned(),
                ContextValue::Number(time_on_page),
            );
            context.insert("rule_id".to_owned(), ContextValue::Text(rule_id.clone()));
            starting
                .start_frame
                .replace(Some(VisitorToServer::StartChat { rule_id, context }));
            starting.connect();
        };
        let start = Rc::new(RefCell::new(Some(start)));
        let from_page = Rc::clone(&start);
        ContextRequests::ask(&self.context_requests, &self.bridge, move |vars| {
            answered_by_page.set(true);
            if let Some(start) = from_page.borrow_mut().take() {
                start(vars);
            }
        });
        // A page whose provider never answers must not keep the visitor waiting.
        set_timeout(
            move || {
                if !answered.get()
                    && let Some(start) = start.borrow_mut().take()
                {
                    start(ContextVariables::new());
                }
            },
            Duration::from_millis(1500),
        );
    }

    fn enter_chat(&self) {
        self.ui.invitation.set(None);
        self.ui.mode.set(Mode::Chat);
        self.bridge.layout(Layout::Chat);
        local_set(CHAT_FLAG, "1");
    }

    /// Leaves the chat UI for good (after the visitor closes an ended chat).
    pub fn leave_chat(&self) {
        local_remove(CHAT_FLAG);
        if let Some(socket) = self.socket.take() {
            let _ = socket.websocket.close();
        }
        self.ui.lines.set(Vec::new());
        self.ui.state.set(None);
        self.ui.mode.set(Mode::Idle);
        self.bridge.layout(Layout::Hidden);
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

    pub fn end_chat(self: &Rc<Self>) {
        self.send(&VisitorToServer::End);
    }

    fn send(&self, frame: &VisitorToServer) {
        let socket = self.socket.borrow();
        let Some(socket) = socket
            .as_ref()
            .filter(|socket| socket.websocket.ready_state() == WebSocket::OPEN)
        else {
            // Unsent messages stay pending and go out when the socket reopens.
            return;
        };
        if let Ok(text) = serde_json::to_string(frame) {
            let _ = socket.websocket.send_with_str(&text);
        }
    }

    fn connect(self: &Rc<Self>) {
        if self.socket.borrow().is_some() {
            if let Some(frame) = self.start_frame.take() {
                self.send(&frame);
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
        let on_open = Closure::<dyn FnMut(JsValueEvent)>::new({
            let weak = weak.clone();
            move |_| {
                if let Some(controller) = weak.upgrade() {
                    controller.on_open();
                }
            }
        });
        let on_message = Closure::<dyn FnMut(JsValueEvent)>::new({
            let weak = weak.clone();
            move |event: JsValueEvent| {
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
        let on_close = Closure::<dyn FnMut(JsValueEvent)>::new(move |event: JsValueEvent| {
            let _ = event.dyn_ref::<CloseEvent>();
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
            self.send(&frame);
        } else {
            self.send(&VisitorToServer::Resume {
                after_seq: self.last_seq.get(),
            });
        }
        // Messages never acknowledged go again with the same ids; the server stores each once.
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
    }

    fn on_close(self: &Rc<Self>) {
        self.socket.replace(None);
        if self.ui.mode.get_untracked() != Mode::Chat
            || self.ui.state.get_untracked() == Some(ConversationState::Closed)
        {
            return;
        }
        self.ui.status.set("Reconnecting…".to_owned());
        let delay = self.reconnect_delay_ms.get();
        self.reconnect_delay_ms.set((delay * 2).min(10_000));
        let reconnecting = Rc::clone(self);
        set_timeout(move || reconnecting.connect(), Duration::from_millis(delay));
    }

    fn on_frame(self: &Rc<Self>, frame: ServerToVisitor) {
        match frame {
            ServerToVisitor::Conversation {
                state,
                agent_name,
                queue_position,
                ..
            } => {
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
                self.last_seq.set(self.last_seq.get().max(message.seq));
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
                self.last_seq.set(self.last_seq.get().max(seq));
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
            ServerToVisitor::Error {
                code,
                message,
                client_message_id,
            } => {
                if code == protocol::ErrorCode::NoConversation
                    && self.ui.state.get_untracked().is_none()
                {
                    // The chat this browser remembered is gone.
                    self.leave_chat();
                    return;
                }
                if let Some(client_message_id) = client_message_id {
                    // A refused message will never be accepted as it is: stop retrying it.
                    self.ui.lines.update(|lines| {
                        lines.retain(|line| line.client_message_id != client_message_id)
                    });
                }
                self.ui.status.set(message);
            }
        }
    }
}

async fn fetch_config(site_id: &str) -> Option<SiteConfig> {
    let window = web_sys::window()?;
    let response = JsFuture::from(window.fetch_with_str(&format!("/api/sites/{site_id}/config")))
        .await
        .ok()?;
    let response: web_sys::Response = response.dyn_into().ok()?;
    if !response.ok() {
        return None;
    }
    let text = JsFuture::from(response.text().ok()?)
        .await
        .ok()?
        .as_string()?;
    serde_json::from_str(&text).ok()
}

fn now_ms() -> f64 {
    js_sys::Date::now()
}

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok().flatten()
}

fn local_get(key: &str) -> Option<String> {
    storage()?.get_item(key).ok().flatten()
}

fn local_set(key: &str, value: &str) {
    if let Some(storage) = storage() {
        let _ = storage.set_item(key, value);
    }
}

fn local_remove(key: &str) {
    if let Some(storage) = storage() {
        let _ = storage.remove_item(key);
    }
}

/// The visitor's id: 32 hex digits kept in the iframe's storage, or for this page only when storage is
/// blocked.
fn visitor_id() -> String {
    if let Some(id) = local_get(VISITOR_KEY)
        .filter(|id| id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit()))
    {
        return id;
    }
    let id = random_hex(16);
    local_set(VISITOR_KEY, &id);
    id
}

fn random_hex(bytes: usize) -> String {
    let mut buffer = vec![0u8; bytes];
    if let Some(crypto) = web_sys::window().and_then(|window| window.crypto().ok()) {
        let _ = crypto.get_random_values_with_u8_array(&mut buffer);
    }
    buffer.iter().map(|byte| format!("{byte:02x}")).collect()
}
