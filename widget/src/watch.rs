//! The first module: watches the visit, evaluates the rules, shows the invitation, and on Accept hands
//! over to the chat module.
//!
//! It is written with plain DOM calls instead of Leptos because every visitor downloads it, chatting or
//! not; the invitation is two lines of text and two buttons. What it knows about the visit lives in a
//! `rules::Tracker`, the same one `beckon rules simulate` drives, and what must outlive the page (visits,
//! journey, invitation history) is kept in the iframe's local storage.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use protocol::{
    Availability, ContextValue, ContextVariables, InvitationEvent, InvitationEventKind, SiteConfig,
};
use rules::{Condition, Environment, RuleSet, Tracker, VisitorRecord};
use wasm_bindgen::prelude::Closure;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use crate::bridge::{Bridge, Layout};
use crate::browser::{self, CHAT_FLAG, LAUNCH_FLAG, START_FRAME, record_key};
use crate::look;
use crate::page::{self, ContextRequests, FromPage};

/// How long the page's context provider may take before the chat starts without its variables.
const CONTEXT_TIMEOUT_MS: i32 = 1500;
/// How often the widget asks the page for its context when rules look at it.
const CONTEXT_REFRESH_MS: i32 = 10_000;
/// How often the widget asks the server which queues have a free agent, when rules care.
const AVAILABILITY_REFRESH_MS: i32 = 30_000;
/// The visit history is written back at least this often (in ticks of one second).
const SAVE_EVERY_TICKS: u32 = 5;
/// Around the button: room for its shadow and focus ring inside the iframe.
const LAUNCHER_MARGIN: i32 = 12;

/// Loads the chat module (a second WebAssembly module, with the Leptos chat UI). The iframe page names
/// its content-hashed glue in `<html data-chat>`, and the glue starts itself.
fn load_chat() -> Option<()> {
    let document = web_sys::window()?.document()?;
    let root = document.document_element()?;
    // The panel's stylesheet first, so that it is in when the module mounts the panel.
    let sheet = document.create_element("link").ok()?;
    sheet.set_attribute("rel", "stylesheet").ok()?;
    sheet.set_attribute("data-beckon", "chat-css").ok()?;
    sheet
        .set_attribute("href", &root.get_attribute("data-chat-css")?)
        .ok()?;
    document.head()?.append_child(&sheet).ok()?;
    let source = root.get_attribute("data-chat")?;
    let script = document.create_element("script").ok()?;
    script.set_attribute("type", "module").ok()?;
    script.set_attribute("src", &source).ok()?;
    let failed = Closure::once_into_js(|| {
        web_sys::console::error_1(&"beckon: cannot load the chat".into());
    });
    script
        .add_event_listener_with_callback("error", failed.unchecked_ref())
        .ok()?;
    document.head()?.append_child(&script).ok()?;
    // The chat's words, in the visitor's language, come at the same time; the chat module takes them.
    let words = root.get_attribute("data-text")?;
    let fetched = web_sys::window()?.fetch_with_str(&words);
    browser::set_window_property(browser::WORDS, &fetched);
    Some(())
}

/// The loader waits for the page's `load` before it creates the iframe, and stamps the page view with
/// when it began; time on page counts from there. A stamp in the future, or older than the loader could
/// have waited, is not believed.
fn page_view_start(now: i64, started_ms: Option<f64>) -> i64 {
    const LONGEST_WAIT_MS: i64 = 5 * 60 * 1000;
    started_ms
        .map(|ms| ms as i64)
        .filter(|&started| started <= now && now - started <= LONGEST_WAIT_MS)
        .unwrap_or(now)
}

fn now_ms() -> i64 {
    browser::now_ms() as i64
}

/// The invitation on screen.
struct Shown {
    rule_id: String,
    element: web_sys::Element,
    timer: Option<i32>,
    _handlers: Vec<Closure<dyn FnMut()>>,
    _escape: Closure<dyn FnMut(JsValue)>,
}

/// The site's chat button: the server put it in the page, hidden.
struct Button {
    element: web_sys::Element,
    /// The queue its chats go to.
    queue: String,
    /// It shows only while an agent of `queue` can take a chat.
    only_when_available: bool,
    _click: Closure<dyn FnMut()>,
}

pub struct Watcher {
    bridge: Bridge,
    site_id: String,
    rules: RefCell<Option<RuleSet>>,
    tracker: RefCell<Tracker>,
    invitation: RefCell<Option<Shown>>,
    button: RefCell<Option<Button>>,
    context_requests: Rc<RefCell<ContextRequests>>,
    /// The chat module took over; the watcher stops inviting.
    chatting: Cell<bool>,
    /// Some rule looks at the page's context, so the widget keeps asking for it.
    wants_context: Cell<bool>,
    ticks: Cell<u32>,
}

impl Watcher {
    pub fn boot() {
        let (site_id, parent) = browser::site_and_parent();
        // Earlier versions kept the record as JSON: a JSON parser here would cost every visitor more
        // than one fresh start of the visit history costs the few who had one.
        browser::local_remove(&[OLD_RECORD_KEY, &site_id].concat());
        let record = browser::local_get(&record_key(&site_id))
            .and_then(|hex| browser::from_hex(&hex))
            .and_then(|bytes| protocol::binary::decode::<VisitorRecord>(&bytes).ok())
            .unwrap_or_default();
        let environment = Environment {
            device: browser::device(),
            ..Environment::default()
        };
        let watcher = Rc::new(Watcher {
            bridge: Bridge::new(parent),
            site_id,
            rules: RefCell::new(None),
            tracker: RefCell::new(Tracker::resume(record, environment)),
            invitation: RefCell::new(None),
            button: RefCell::new(None),
            context_requests: Rc::new(RefCell::new(ContextRequests::default())),
            chatting: Cell::new(false),
            wants_context: Cell::new(false),
            ticks: Cell::new(0),
        });
        watcher.find_button();
        let weak = Rc::downgrade(&watcher);
        page::listen(&watcher.bridge, move |message| {
            if let Some(watcher) = weak.upgrade() {
                watcher.on_page_message(message);
            }
        });
        watcher.bridge.ready();
        if browser::local_get(CHAT_FLAG).is_some() {
            // A chat is in progress from an earlier page: go straight back to it.
            watcher.start_chat_module();
            return;
        }
        let loading = Rc::clone(&watcher);
        wasm_bindgen_futures::spawn_local(async move {
            let url = ["/api/sites/", &loading.site_id, "/config"].concat();
            match fetch_binary::<SiteConfig>(&url).await {
                Some(config) => loading.configure(config),
                None => {
                    web_sys::console::warn_1(&"beckon: cannot load the site configuration".into())
                }
            }
        });
        // The ticking interval owns the watcher: it lives as long as the page.
        let ticking = Rc::clone(&watcher);
        browser::set_interval(move || ticking.tick(), 1000);
    }

    fn configure(self: &Rc<Self>, config: SiteConfig) {
        let uses = |predicate: fn(&Condition) -> bool| config.rules.uses(predicate);
        let wants_context =
            uses(|c| matches!(c, Condition::Context { .. } | Condition::Authenticated(_)));
        let wants_availability = uses(|c| matches!(c, Condition::AgentsAvailable(_)))
            || self
                .button
                .borrow()
                .as_ref()
                .is_some_and(|button| button.only_when_available);
        {
            let mut tracker = self.tracker.borrow_mut();
            tracker.env.zones = config.zones;
            tracker.env.location = config.location;
            tracker.env.available_queues = Some(config.available_queues.into_iter().collect());
        }
        self.rules.replace(Some(config.rules));
        self.wants_context.set(wants_context);
        // A DOM hook (docs/contracts.md): tests wait for it before moving page time.
        if let Some(body) = web_sys::window()
            .and_then(|window| window.document())
            .and_then(|document| document.body())
        {
            let _ = body.set_attribute("data-beckon-rules", "loaded");
        }
        if wants_context {
            self.refresh_context();
            let weak = Rc::downgrade(self);
            browser::set_interval(
                move || {
                    if let Some(watcher) = weak.upgrade() {
                        watcher.refresh_context();
                    }
                },
                CONTEXT_REFRESH_MS,
            );
        }
        if wants_availability {
            let weak = Rc::downgrade(self);
            browser::set_interval(
                move || {
                    if let Some(watcher) = weak.upgrade() {
                        watcher.refresh_availability();
                    }
                },
                AVAILABILITY_REFRESH_MS,
            );
        }
        // The visitor asked for a new chat as their last one ended.
        if browser::session_get(LAUNCH_FLAG).is_some() {
            browser::session_remove(LAUNCH_FLAG);
            if self.button.borrow().is_some() {
                self.start_chat(None);
                return;
            }
        }
        self.tick();
    }

    /// Asks the page for its context variables; the rules see them once the page answers.
    fn refresh_context(self: &Rc<Self>) {
        if !self.wants_context.get() || self.chatting.get() {
            return;
        }
        let weak = Rc::downgrade(self);
        ContextRequests::ask(
            &self.context_requests,
            &self.bridge,
            false,
            move |vars, _| {
                if let Some(watcher) = weak.upgrade() {
                    let mut tracker = watcher.tracker.borrow_mut();
                    tracker.env.context = vars;
                    tracker.env.context_known = true;
                    drop(tracker);
                    watcher.tick();
                }
            },
        );
    }

    fn refresh_availability(self: &Rc<Self>) {
        if self.chatting.get() {
            return;
        }
        let weak = Rc::downgrade(self);
        let url = ["/api/sites/", &self.site_id, "/availability"].concat();
        wasm_bindgen_futures::spawn_local(async move {
            let availability = fetch_binary::<Availability>(&url).await;
            if let (Some(watcher), Some(availability)) = (weak.upgrade(), availability) {
                watcher.tracker.borrow_mut().env.available_queues =
                    Some(availability.queues.into_iter().collect());
                watcher.tick();
            }
        });
    }

    fn on_page_message(self: &Rc<Self>, message: FromPage) {
        let now = now_ms();
        match message {
            FromPage::Page {
                url,
                title,
                referrer,
                language,
                visible,
                started_ms,
            } => {
                {
                    let mut tracker = self.tracker.borrow_mut();
                    tracker.env.language = language;
                    let started = page_view_start(now, started_ms);
                    tracker.page_view(started, &url, &title, &referrer, visible);
                }
                self.save();
                self.refresh_context();
                self.tick();
            }
            FromPage::Visibility { visible } => {
                self.tracker.borrow_mut().visibility(now, visible);
                self.save();
                self.tick();
            }
            FromPage::Track { name } => {
                self.tracker.borrow_mut().event(now, &name);
                self.save();
                self.refresh_context();
                self.tick();
            }
            FromPage::ExitIntent => {
                self.tracker.borrow_mut().exit_intent(now);
                self.tick();
            }
            FromPage::Context { id, vars, token } => {
                ContextRequests::answer(&self.context_requests, id, vars, token)
            }
        }
    }

    /// Writes what must outlive this page to local storage.
    fn save(&self) {
        let bytes = protocol::binary::encode(&self.tracker.borrow().visitor);
        browser::local_set(&record_key(&self.site_id), &browser::to_hex(&bytes));
    }

    /// Once a second and after every signal: evaluates the rules and shows an invitation when one fires.
    fn tick(self: &Rc<Self>) {
        let now = now_ms();
        let visible = {
            let mut tracker = self.tracker.borrow_mut();
            let visible = tracker.page.as_ref().is_some_and(rules::Page::is_visible);
            if visible {
                tracker.touch(now);
            }
            visible
        };
        let ticks = self.ticks.get().wrapping_add(1);
        self.ticks.set(ticks);
        if visible && ticks.is_multiple_of(SAVE_EVERY_TICKS) {
            self.save();
        }
        if self.chatting.get() || self.invitation.borrow().is_some() {
            return;
        }
        self.place_launcher();
        let fired = {
            let rules = self.rules.borrow();
            let tracker = self.tracker.borrow();
            let Some(rule_set) = rules.as_ref() else {
                return;
            };
            tracker.choose(rule_set, now).map(|rule| {
                (
                    rule.id.clone(),
                    // In the widget's language, which the server chose: the buttons' too.
                    rule.invitation.for_language(&look::language()).to_owned(),
                    rule.invitation_seconds,
                )
            })
        };
        if let Some((rule_id, text, seconds)) = fired {
            self.tracker.borrow_mut().invitation_shown(now, &rule_id);
            self.save();
            self.report(&rule_id, InvitationEventKind::Shown);
            self.show_invitation(rule_id, &text, seconds);
        }
    }

    /// Tells the server what happened to an invitation, so marketers can count it per rule.
    fn report(&self, rule_id: &str, kind: InvitationEventKind) {
        let event = InvitationEvent {
            id: browser::random_hex(16),
            rule_id: rule_id.to_owned(),
            kind,
        };
        let url = ["/api/sites/", &self.site_id, "/invitation-events"].concat();
        // An `InvitationEvent` in JSON, written by the browser's own JSON.
        let body = js_sys::Object::new();
        for (key, value) in [
            ("id", event.id.as_str()),
            ("rule_id", event.rule_id.as_str()),
            ("kind", event.kind.as_str()),
        ] {
            let _ = js_sys::Reflect::set(&body, &key.into(), &value.into());
        }
        if let Some(json) = js_sys::JSON::stringify(&body)
            .ok()
            .and_then(|json| json.as_string())
        {
            browser::post_json(&url, &json);
        }
    }

    fn show_invitation(self: &Rc<Self>, rule_id: String, text: &str, seconds: u32) {
        let Some(document) = web_sys::window().and_then(|window| window.document()) else {
            return;
        };
        let Some(body) = document.body() else {
            return;
        };
        let Some(section) = element(&document, "section", "invitation", "invitation") else {
            return;
        };
        // The invitation takes the corner; the button comes back when it closes.
        self.hide_button();
        // A region, not a dialog: it never takes the focus from the page. A live region reads it out.
        let _ = section.set_attribute("role", "region");
        let _ = section.set_attribute("aria-label", &look::word("data-invitation"));
        let message = element(&document, "p", "invitation-message", "invitation-message");
        let actions = element(&document, "div", "actions", "");
        let accept = element(&document, "button", "primary", "accept");
        let close = element(&document, "button", "secondary", "close");
        let (Some(message), Some(actions), Some(accept), Some(close)) =
            (message, actions, accept, close)
        else {
            return;
        };
        // Text, never HTML: the invitation is the marketer's words, shown as written.
        message.set_text_content(Some(text));
        accept.set_text_content(Some(&look::word("data-accept")));
        close.set_text_content(Some(&look::word("data-decline")));
        let _ = actions.append_child(&accept);
        let _ = actions.append_child(&close);
        let _ = section.append_child(&message);
        let _ = section.append_child(&actions);
        let _ = body.append_child(&section);

        let weak = Rc::downgrade(self);
        let on_accept = Closure::<dyn FnMut()>::new({
            let weak = weak.clone();
            move || {
                if let Some(watcher) = weak.upgrade() {
                    watcher.accept();
                }
            }
        });
        let on_close = Closure::<dyn FnMut()>::new({
            let weak = weak.clone();
            move || {
                if let Some(watcher) = weak.upgrade() {
                    watcher.dismiss(InvitationEventKind::Closed);
                }
            }
        });
        // Escape is "No thanks".
        let on_escape = Closure::<dyn FnMut(JsValue)>::new({
            let weak = weak.clone();
            move |event: JsValue| {
                let key = js_sys::Reflect::get(&event, &"key".into()).ok();
                if key.and_then(|key| key.as_string()).as_deref() == Some("Escape")
                    && let Some(watcher) = weak.upgrade()
                {
                    watcher.dismiss(InvitationEventKind::Closed);
                }
            }
        });
        let _ =
            section.add_event_listener_with_callback("keydown", on_escape.as_ref().unchecked_ref());
        let _ =
            accept.add_event_listener_with_callback("click", on_accept.as_ref().unchecked_ref());
        let _ = close.add_event_listener_with_callback("click", on_close.as_ref().unchecked_ref());
        let milliseconds = i32::try_from(u64::from(seconds) * 1000).unwrap_or(i32::MAX);
        let timer = browser::set_timeout(
            move || {
                if let Some(watcher) = weak.upgrade() {
                    watcher.dismiss(InvitationEventKind::Expired);
                }
            },
            milliseconds,
        );
        self.invitation.replace(Some(Shown {
            rule_id,
            element: section,
            timer,
            _handlers: vec![on_accept, on_close],
            _escape: on_escape,
        }));
        self.bridge.layout(Layout::Invitation);
        announce(&document, &body, text);
    }

    /// Closes the invitation: the visitor's Close, or its own timer (`Expired`), which starts no cooldown.
    fn dismiss(&self, kind: InvitationEventKind) {
        if let Some(shown) = self.take_invitation() {
            if kind == InvitationEventKind::Closed {
                self.tracker
                    .borrow_mut()
                    .invitation_closed(now_ms(), &shown.rule_id);
                self.save();
            }
            self.report(&shown.rule_id, kind);
            self.bridge.layout(Layout::Hidden);
            self.place_launcher();
        }
    }

    fn take_invitation(&self) -> Option<Shown> {
        let shown = self.invitation.borrow_mut().take()?;
        if let Some(timer) = shown.timer {
            browser::clear_timeout(timer);
        }
        shown.element.remove();
        Some(shown)
    }

    fn accept(self: &Rc<Self>) {
        let Some(shown) = self.take_invitation() else {
            return;
        };
        self.report(&shown.rule_id, InvitationEventKind::Accepted);
        self.start_chat(Some(shown.rule_id));
    }

    /// Takes charge of the chat button the server put in the page, if the site has one.
    fn find_button(self: &Rc<Self>) {
        let document = web_sys::window().and_then(|window| window.document());
        let (Some(element), Some(root)) = (
            document
                .as_ref()
                .and_then(|document| document.query_selector("[data-beckon=launcher]").ok())
                .flatten(),
            document.and_then(|document| document.document_element()),
        ) else {
            return;
        };
        let weak = Rc::downgrade(self);
        let click = Closure::<dyn FnMut()>::new(move || {
            if let Some(watcher) = weak.upgrade() {
                watcher.hide_button();
                watcher.start_chat(None);
            }
        });
        let _ = element.add_event_listener_with_callback("click", click.as_ref().unchecked_ref());
        self.button.replace(Some(Button {
            element,
            queue: root.get_attribute("data-launcher").unwrap_or_default(),
            only_when_available: root.get_attribute("data-launcher-show").as_deref()
                != Some("always"),
            _click: click,
        }));
    }

    /// Shows the chat button when the site has one, nothing else is in its corner, and (if the site
    /// asks) an agent of its queue can take a chat; hides it otherwise. The iframe is the button's
    /// size, never more.
    fn place_launcher(&self) {
        let button = self.button.borrow();
        let Some(button) = button.as_ref() else {
            return;
        };
        let wanted = !self.chatting.get()
            && self.invitation.borrow().is_none()
            && self.rules.borrow().is_some()
            && (!button.only_when_available
                || self
                    .tracker
                    .borrow()
                    .env
                    .available_queues
                    .as_ref()
                    .is_some_and(|queues| queues.contains(button.queue.as_str())));
        let shown = !button.element.has_attribute("hidden");
        if wanted == shown {
            return;
        }
        if !wanted {
            let _ = button.element.set_attribute("hidden", "");
            self.bridge.layout(Layout::Hidden);
            return;
        }
        let _ = button.element.remove_attribute("hidden");
        let width = button
            .element
            .dyn_ref::<web_sys::HtmlElement>()
            .map_or(160, web_sys::HtmlElement::offset_width);
        self.bridge
            .layout(Layout::Launcher(width + LAUNCHER_MARGIN));
    }

    fn hide_button(&self) {
        if let Some(button) = self.button.borrow().as_ref() {
            let _ = button.element.set_attribute("hidden", "");
        }
    }

    /// Starts a chat: from the invitation of `rule_id`, or from the chat button (`None`). The chat
    /// module gets the page's context variables and what Beckon measured itself.
    fn start_chat(self: &Rc<Self>, rule_id: Option<String>) {
        self.chatting.set(true);
        self.bridge.layout(Layout::Chat);
        let (page_url, time_on_page) = {
            let mut tracker = self.tracker.borrow_mut();
            tracker.chatted();
            tracker
                .page
                .as_ref()
                .map(|page| (page.url.clone(), (page.visible_ms(now_ms()) / 1000) as f64))
                .unwrap_or_default()
        };
        self.save();
        let starting = Rc::clone(self);
        let start = Rc::new(RefCell::new(Some(
            move |mut context: ContextVariables, token: String| {
                // The page's own variables never override what Beckon measured itself.
                context.insert("page_url".to_owned(), ContextValue::Text(page_url));
                context.insert(
                    "time_on_page".to_owned(),
                    ContextValue::Number(time_on_page),
                );
                if let Some(rule_id) = &rule_id {
                    context.insert("rule_id".to_owned(), ContextValue::Text(rule_id.clone()));
                }
                // Within the limits, so no context ever costs the chat: a long URL is cut, the rest of
                // what does not fit is left out and listed for the agent.
                let fitted = protocol::context::fit(context);
                // The chat module sends it as `VisitorToServer::StartChat`; an empty rule is the button.
                let rule_id = rule_id.unwrap_or_default();
                let start =
                    protocol::binary::encode(&(rule_id, fitted.context, fitted.dropped, token));
                browser::set_window_property(
                    START_FRAME,
                    &js_sys::Uint8Array::from(start.as_slice()).into(),
                );
                starting.start_chat_module();
            },
        )));
        let from_page = Rc::clone(&start);
        ContextRequests::ask(
            &self.context_requests,
            &self.bridge,
            true,
            move |vars, token| {
                if let Some(start) = from_page.borrow_mut().take() {
                    start(vars, token);
                }
            },
        );
        // A page whose provider never answers must not keep the visitor waiting.
        browser::set_timeout(
            move || {
                if let Some(start) = start.borrow_mut().take() {
                    start(ContextVariables::new(), String::new());
                }
            },
            CONTEXT_TIMEOUT_MS,
        );
    }

    fn start_chat_module(&self) {
        self.chatting.set(true);
        browser::local_set(CHAT_FLAG, "1");
        self.bridge.layout(Layout::Chat);
        if load_chat().is_none() {
            web_sys::console::error_1(&"beckon: the page names no chat module".into());
        }
    }
}

/// Reads `text` out through a polite live region, made once and kept: a region must be in the page
/// before what it announces arrives, so the text goes in a moment after.
fn announce(document: &web_sys::Document, body: &web_sys::HtmlElement, text: &str) {
    let region = match document
        .query_selector("[data-beckon=announce]")
        .ok()
        .flatten()
    {
        Some(region) => region,
        None => {
            let Some(region) = element(document, "p", "sr-only", "announce") else {
                return;
            };
            let _ = region.set_attribute("aria-live", "polite");
            let _ = body.append_child(&region);
            region
        }
    };
    region.set_text_content(None);
    let text = text.to_owned();
    let _ = browser::set_timeout(move || region.set_text_content(Some(&text)), 100);
}

fn element(
    document: &web_sys::Document,
    tag: &str,
    class: &str,
    hook: &str,
) -> Option<web_sys::Element> {
    let element = document.create_element(tag).ok()?;
    element.set_class_name(class);
    if !hook.is_empty() {
        let _ = element.set_attribute("data-beckon", hook);
    }
    Some(element)
}

/// Where earlier versions kept the visit record, as JSON.
const OLD_RECORD_KEY: &str = "beckon.history.";

/// GETs `url` on the Beckon origin in the binary form (`protocol::binary`): a JSON parser for the rule
/// model would be most of this module.
async fn fetch_binary<T: serde::de::DeserializeOwned>(url: &str) -> Option<T> {
    let window = web_sys::window()?;
    let headers = web_sys::Headers::new().ok()?;
    headers.set("accept", protocol::binary::MEDIA_TYPE).ok()?;
    let init = web_sys::RequestInit::new();
    init.set_headers(&headers);
    let response = JsFuture::from(window.fetch_with_str_and_init(url, &init))
        .await
        .ok()?;
    let response: web_sys::Response = response.dyn_into().ok()?;
    if !response.ok() {
        return None;
    }
    let buffer = JsFuture::from(response.array_buffer().ok()?).await.ok()?;
    protocol::binary::decode(&js_sys::Uint8Array::new(&buffer).to_vec()).ok()
}

#[cfg(test)]
mod tests {
    use super::page_view_start;

    #[test]
    fn time_on_page_counts_from_the_loaders_stamp_when_it_is_believable() {
        let now = 1_700_000_000_000;
        assert_eq!(
            page_view_start(now, Some((now - 2_500) as f64)),
            now - 2_500
        );
        assert_eq!(page_view_start(now, None), now);
        assert_eq!(
            page_view_start(now, Some((now + 1) as f64)),
            now,
            "in the future"
        );
        assert_eq!(
            page_view_start(now, Some((now - 5 * 60 * 1000 - 1) as f64)),
            now,
            "older than the loader waits"
        );
    }
}
